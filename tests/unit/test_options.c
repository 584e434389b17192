#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "options.h"

#define CONTRACT "0x5FbDB2315678afecb367f032d93F642f64180aa3"

static void
test_minimal_set_and_defaults(void **state)
{
	struct options o;
	char err[OPTIONS_ERR_MAX], rest[256];

	(void)state;
	options_init(&o);
	assert_int_equal(options_apply_list(&o, "contract=" CONTRACT ",mode=tls,"
	    "rpc=http://127.0.0.1:8545|https://rpc.example.org/v1,allow_other,ro",
	    rest, sizeof(rest), err, sizeof(err)), 0);
	assert_string_equal(rest, "allow_other,ro");
	assert_int_equal(options_finish(&o, err, sizeof(err)), 0);
	assert_int_equal(o.nrpc, 2);
	assert_string_equal(o.rpc[1], "https://rpc.example.org/v1");
	assert_int_equal(o.contract[0], 0x5f);
	assert_int_equal(o.contract[19], 0xa3);
	assert_int_equal(o.mode, P2P_MODE_TLS);
	assert_int_equal(o.poll_ms, 2000);
	assert_int_equal(o.confirmations, 2);
	assert_int_equal(o.app_port, 80);
	assert_int_equal(o.mesh_prefix, 24);
	assert_int_equal(ntohl(o.mesh_net.s_addr), 0x0a000100);
	assert_string_equal(o.wg_ifname, "dp2p0");
}

static void
test_values(void **state)
{
	struct options o;
	char err[OPTIONS_ERR_MAX];

	(void)state;
	options_init(&o);
	assert_int_equal(options_apply(&o, "poll=500ms", err, sizeof(err)), 0);
	assert_int_equal(o.poll_ms, 500);
	assert_int_equal(options_apply(&o, "poll=3", err, sizeof(err)), 0);
	assert_int_equal(o.poll_ms, 3000);
	assert_int_equal(options_apply(&o, "heartbeat=1m", err, sizeof(err)), 0);
	assert_int_equal(o.heartbeat_ms, 60000);
	assert_int_equal(options_apply(&o, "chain_id=31337", err, sizeof(err)), 0);
	assert_true(o.has_chain_id);
	assert_int_equal(o.chain_id, 31337);
	assert_int_equal(options_apply(&o, "passthrough", err, sizeof(err)), 0);
	assert_true(o.passthrough);
	assert_int_equal(options_apply(&o, "mesh=10.8.0.0/16", err, sizeof(err)), 0);
	assert_int_equal(o.mesh_prefix, 16);
	assert_int_equal(options_apply(&o, "wg_backend=userspace", err, sizeof(err)), 0);
	assert_int_equal(o.wg_backend, WG_BACKEND_USERSPACE);
	assert_int_equal(options_apply(&o, "register_gid=1000", err, sizeof(err)), 0);
	assert_int_equal(o.register_gid, 1000);
	assert_int_equal(options_apply(&o, "fsname=whatever", err, sizeof(err)), 1);
}

/* each hostile or malformed value is refused, with a message naming the option */
static const struct {
	const char *item;
	const char *in_message;
} bad_items[] = {
	{ "contract=0x5fbdb2315678afecb367f032d93f642f64180aa", "contract" },	/* 39 digits */
	{ "contract=0x5FbDB2315678afecb367f032d93F642f64180aA3", "contract" },	/* bad EIP-55 */
	{ "contract=", "contract" },
	{ "contract", "contract" },
	{ "mode=udp", "mode" },
	{ "rpc=ftp://x", "rpc" },
	{ "rpc=http://a||http://b", "rpc" },
	{ "rpc=http://a b", "rpc" },
	{ "rpc=http://1|http://2|http://3|http://4|http://5|http://6|http://7|http://8|http://9", "rpc" },
	{ "chain_id=0", "chain_id" },
	{ "chain_id=-1", "chain_id" },
	{ "chain_id=12abc", "chain_id" },
	{ "chain_id=99999999999999999999999", "chain_id" },
	{ "poll=0", "poll" },
	{ "poll=10h", "poll" },
	{ "poll=ms", "poll" },
	{ "poll=99999999999999999999m", "poll" },
	{ "confirmations=1001", "confirmations" },
	{ "app_port=0", "app_port" },
	{ "app_port=65536", "app_port" },
	{ "passthrough=1", "passthrough" },
	{ "gateway=exa mple.com", "gateway" },
	{ "gateway=-bad.example", "gateway" },
	{ "gateway=a..b", "gateway" },
	{ "endpoint=https://x;rm -rf", "endpoint" },
	{ "endpoint=https://x\ny", "endpoint" },
	{ "sysconfig=relative/path", "sysconfig" },
	{ "agent=/tmp/a\tb", "agent" },
	{ "wg_if=this-name-is-too-long", "wg_if" },
	{ "wg_if=a/b", "wg_if" },
	{ "wg_port=70000", "wg_port" },
	{ "wg_backend=bpf", "wg_backend" },
	{ "mesh=10.0.1.1/24", "mesh" },
	{ "mesh=10.0.1.0/31", "mesh" },
	{ "mesh=10.0.1.0", "mesh" },
	{ "mesh=300.0.1.0/24", "mesh" },
	{ "quorum=0", "quorum" },
};

static void
test_bad_values(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_items) / sizeof(bad_items[0]); i++) {
		struct options o;
		char err[OPTIONS_ERR_MAX] = "";

		options_init(&o);
		print_message("%s\n", bad_items[i].item);
		assert_int_equal(options_apply(&o, bad_items[i].item, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, bad_items[i].in_message));
	}
}

static void
test_finish_checks_the_whole_set(void **state)
{
	struct options o;
	char err[OPTIONS_ERR_MAX];

	(void)state;
	options_init(&o);
	assert_int_equal(options_finish(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "contract"));
	assert_int_equal(options_apply_list(&o, "contract=" CONTRACT ",mode=wireguard",
	    NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(options_finish(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rpc"));
	assert_int_equal(options_apply_list(&o, "rpc=http://127.0.0.1:1,quorum=2", NULL, 0,
	    err, sizeof(err)), 0);
	assert_int_equal(options_finish(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "quorum"));
	assert_int_equal(options_apply(&o, "quorum=1", err, sizeof(err)), 0);
	assert_int_equal(options_apply(&o, "endpoint=https://a.example", err, sizeof(err)), 0);
	assert_int_equal(options_finish(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "host:port"));
	assert_int_equal(options_apply(&o, "endpoint=192.0.2.7:51820", err, sizeof(err)), 0);
	assert_int_equal(options_finish(&o, err, sizeof(err)), 0);
	assert_int_equal(options_apply(&o, "mesh=10.0.0.0/16", err, sizeof(err)), 0);
	assert_int_equal(options_finish(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "10.0.0.0/24"));
	assert_int_equal(options_apply(&o, "mesh=10.0.0.0/24", err, sizeof(err)), 0);
	assert_int_equal(options_finish(&o, err, sizeof(err)), -EINVAL);
	assert_int_equal(options_apply(&o, "mesh=10.0.1.0/24", err, sizeof(err)), 0);
	assert_int_equal(options_apply(&o, "passthrough", err, sizeof(err)), 0);
	assert_int_equal(options_finish(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tls"));
}

static void
test_list_escapes_and_unknowns(void **state)
{
	struct options o;
	char err[OPTIONS_ERR_MAX], rest[8];

	(void)state;
	options_init(&o);
	/* a backslash keeps a comma inside an item: the URL then fails as a URL */
	assert_int_equal(options_apply_list(&o, "rpc=http://a\\,b", NULL, 0, err, sizeof(err)), 0);
	assert_string_equal(o.rpc[0], "http://a,b");
	assert_int_equal(options_apply_list(&o, "bogus=1", NULL, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bogus"));
	assert_int_equal(options_apply_list(&o, "aaaa,bbbb", rest, sizeof(rest), err,
	    sizeof(err)), -E2BIG);
}

static void
test_endpoints(void **state)
{
	static const char *tls_good[] = {
		"https://1691ed1b47506cad7d08834668691d88246f5b1f-8080.dstack.example.org",
		"https://a-443s.x.io:12002", "https://[::1]:8443/p", "https://h",
	};
	static const char *tls_bad[] = {
		"http://a.b", "https://", "https://a b", "https://a.b\n", "https://-a.b",
		"https://a.b:0", "https://a.b:99999", "https://a.b:", "https://[zz]",
		"https://a.b/$(id)", "https://a.b\"",
	};
	static const char *wg_good[] = { "192.0.2.1:51820", "node-1.example:1", "[2001:db8::1]:65535" };
	static const char *wg_bad[] = {
		"192.0.2.1", "192.0.2.1:0", "192.0.2.1:051820", "192.0.2.1:65536", ":51820",
		"a b:1", "[2001:db8::1:1", "2001:db8::1:51820", "a/b:1", "host:12a",
	};
	size_t i;
	uint16_t port = 0;

	(void)state;
	for (i = 0; i < sizeof(tls_good) / sizeof(*tls_good); i++)
		assert_true(endpoint_tls_ok(tls_good[i], strlen(tls_good[i])));
	for (i = 0; i < sizeof(tls_bad) / sizeof(*tls_bad); i++) {
		print_message("%s\n", tls_bad[i]);
		assert_false(endpoint_tls_ok(tls_bad[i], strlen(tls_bad[i])));
	}
	for (i = 0; i < sizeof(wg_good) / sizeof(*wg_good); i++)
		assert_true(endpoint_hostport_ok(wg_good[i], strlen(wg_good[i]), &port));
	assert_int_equal(port, 65535);
	for (i = 0; i < sizeof(wg_bad) / sizeof(*wg_bad); i++) {
		print_message("%s\n", wg_bad[i]);
		assert_false(endpoint_hostport_ok(wg_bad[i], strlen(wg_bad[i]), NULL));
	}
	/* NUL inside, overlong, and a non-ASCII look-alike (Cyrillic 'а') */
	assert_false(endpoint_charset_ok("https://a\0b", 11));
	assert_false(endpoint_charset_ok("https://\xd0\xb0.example", 17));
	{
		char big[ENDPOINT_MAX + 2];

		memset(big, 'a', sizeof(big));
		assert_true(endpoint_charset_ok(big, ENDPOINT_MAX));
		assert_false(endpoint_charset_ok(big, ENDPOINT_MAX + 1));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_set_and_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_finish_checks_the_whole_set),
		cmocka_unit_test(test_list_escapes_and_unknowns),
		cmocka_unit_test(test_endpoints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
