/*
 * Tests for wgapply's setup paths that need no WireGuard device: the
 * configuration from options (mesh addressing), a bad configuration, and a
 * missing userspace backend (a clear error and no interface left behind).
 * The applier against real devices: tests/e2e/test_wireguard_netns.sh
 * (wireguard-go) and tests/qemu/ (kernel).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "wgapply.h"

static const uint8_t sk[32] = { 0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 0x7f };
static const uint8_t pub[32] = { 9 };

static void
test_config_from_options(void **state)
{
	struct options o;
	struct wgapply_config c;
	char err[OPTIONS_ERR_MAX];

	(void)state;
	options_init(&o);
	assert_int_equal(options_apply(&o, "mode=wireguard", err, sizeof(err)), 0);
	assert_int_equal(options_apply(&o, "wg_if=wgmesh7", err, sizeof(err)), 0);
	assert_int_equal(wgapply_config_from_options(&o, sk, pub, 5, &c), 0);
	assert_string_equal(c.ifname, "wgmesh7");
	assert_int_equal(c.mesh_prefix, o.mesh_prefix);
	assert_int_equal(ntohl(c.mesh_ip.s_addr), ntohl(o.mesh_net.s_addr) + 5);
	assert_memory_equal(c.private_key, sk, 32);
	assert_memory_equal(c.public_key, pub, 32);
	assert_int_equal(c.listen_port, o.wg_port);
	assert_int_equal(c.keepalive, o.wg_keepalive);
	/* default mesh 10.0.1.0/24 (contracts/README.md): token n is 10.0.1.n, 1..254 */
	if (o.mesh_prefix == 24) {
		assert_int_equal(ntohl(c.mesh_ip.s_addr), 0x0a000105);
		assert_int_equal(wgapply_config_from_options(&o, sk, pub, 254, &c), 0);
		assert_int_equal(wgapply_config_from_options(&o, sk, pub, 255, &c), -ERANGE);
	}
	assert_int_equal(wgapply_config_from_options(&o, sk, pub, 0, &c), -ERANGE);
	o.mode = P2P_MODE_TLS;
	assert_int_equal(wgapply_config_from_options(&o, sk, pub, 5, &c), -EINVAL);
	explicit_bzero(&c, sizeof(c));
}

static void
base(struct wgapply_config *c, const char *ifname)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->ifname, sizeof(c->ifname), "%s", ifname);
	c->listen_port = 51820;
	c->mesh_net.s_addr = htonl(0x0a000100);
	c->mesh_prefix = 24;
	c->mesh_ip.s_addr = htonl(0x0a000105);
	memcpy(c->private_key, sk, 32);
	memcpy(c->public_key, pub, 32);
}

static void
test_bad_config(void **state)
{
	struct wgapply_config c;
	struct wgapply *a = NULL;
	char err[WGAPPLY_ERR_MAX] = "";

	(void)state;
	base(&c, "wgt0");
	c.mesh_ip.s_addr = htonl(0x0a000200);	/* outside the mesh */
	assert_int_equal(wgapply_new(&c, &a, err, sizeof(err)), -EINVAL);
	assert_null(a);
	assert_non_null(strstr(err, "bad WireGuard configuration"));
	base(&c, "wgt0");
	c.mesh_ip.s_addr = htonl(0x0a000100);	/* the network address */
	assert_int_equal(wgapply_new(&c, &a, err, sizeof(err)), -EINVAL);
	base(&c, "wgt0");
	memset(c.private_key, 0, 32);
	assert_int_equal(wgapply_new(&c, &a, err, sizeof(err)), -EINVAL);
	base(&c, "");
	assert_int_equal(wgapply_new(&c, &a, err, sizeof(err)), -EINVAL);
}

static void
test_missing_userspace_backend(void **state)
{
	struct wgapply_config c;
	struct wgapply *a = NULL;
	char err[WGAPPLY_ERR_MAX] = "", ifname[IFNAMSIZ], dir[] = "/tmp/wgapply-test.XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(ifname, sizeof(ifname), "wgt%d", (int)getpid() % 100000);
	base(&c, ifname);
	c.backend = WG_BACKEND_USERSPACE;
	c.uapi_dir = dir;
	c.wireguard_go = "/nonexistent/wireguard-go";
	assert_int_equal(wgapply_new(&c, &a, err, sizeof(err)), -ENOENT);
	assert_null(a);
	assert_non_null(strstr(err, "cannot start '/nonexistent/wireguard-go'"));
	assert_int_equal(if_nametoindex(ifname), 0);	/* nothing left behind */
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_from_options),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_missing_userspace_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
