#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent.h"
#include "gateway.h"
#include "hex.h"
#include "simproc.h"

#define INST_ID	"1691ed1b47506cad7d08834668691d88246f5b1f"

static void
test_build_url(void **state)
{
	static const struct {
		uint16_t app_port;
		bool pass;
		const char *domain;
		uint16_t ext;
		const char *want;
	} cases[] = {
		{ 8080, false, "p2p.dstack.test", 443, "https://" INST_ID "-8080.p2p.dstack.test" },
		{ 5432, true, "dstack-pha-prod7.phala.network", 443,
		  "https://" INST_ID "-5432s.dstack-pha-prod7.phala.network" },
		{ 80, false, "gw.example.com", 12004, "https://" INST_ID "-80.gw.example.com:12004" },
		{ 6379, true, "a", 1, "https://" INST_ID "-6379s.a:1" },
	};
	char url[GATEWAY_URL_MAX], tiny[16];
	uint8_t id[20];
	size_t i;

	(void)state;
	assert_int_equal(hex_decode_exact(INST_ID, 40, id, 20), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(gateway_build_url(id, cases[i].app_port, cases[i].pass,
						   cases[i].domain, cases[i].ext, url, sizeof(url)),
				 (int)strlen(cases[i].want));
		assert_string_equal(url, cases[i].want);
	}
	assert_int_equal(gateway_build_url(id, 80, false, "evil.com/x", 443, url, sizeof(url)), -EINVAL);
	assert_int_equal(gateway_build_url(id, 80, false, "a@b.com", 443, url, sizeof(url)), -EINVAL);
	assert_int_equal(gateway_build_url(id, 0, false, "a.com", 443, url, sizeof(url)), -EINVAL);
	assert_int_equal(gateway_build_url(id, 80, false, "a.com", 443, tiny, sizeof(tiny)), -ENOSPC);
}

static void
test_hostport(void **state)
{
	char d[AGENTMSG_DOMAIN_MAX + 1];
	uint16_t port = 1;

	(void)state;
	assert_int_equal(gateway_parse_hostport("a.b.c", d, &port), 0);
	assert_string_equal(d, "a.b.c");
	assert_int_equal(port, 443);
	assert_int_equal(gateway_parse_hostport("a.b:8443", d, &port), 0);
	assert_string_equal(d, "a.b");
	assert_int_equal(port, 8443);
	assert_int_equal(gateway_parse_hostport("a.b:0", d, &port), -EINVAL);
	assert_int_equal(gateway_parse_hostport("a.b:65536", d, &port), -EINVAL);
	assert_int_equal(gateway_parse_hostport("a.b:", d, &port), -EINVAL);
	assert_int_equal(gateway_parse_hostport("a.b:+1", d, &port), -EINVAL);
	assert_int_equal(gateway_parse_hostport(":443", d, &port), -EINVAL);
	assert_int_equal(gateway_parse_hostport("https://a.b", d, &port), -EINVAL);
	assert_int_equal(port, 8443);
}

/* Info from a simulator started with extra arguments. */
static void
sim_info(struct simproc *sim, const char *const *args, struct agent_info *info)
{
	struct agent *a;

	assert_int_equal(simproc_start(sim, args), 0);
	assert_int_equal(agent_open(sim->sock, &a), 0);
	assert_int_equal(agent_info(a, info), 0);
	agent_free(a);
}

static void
test_discovery_order(void **state)
{
	const char *const args[] = { "--gateway-domain", "compose.example.com", NULL };
	struct gateway_opts o = { .app_port = 8080, .sys_config_path = "/nonexistent/sc.json" };
	char url[GATEWAY_URL_MAX];
	enum gateway_source src;
	struct agent_info info;
	struct simproc sim;

	(void)state;
	sim_info(&sim, args, &info);
	simproc_stop(&sim);
	assert_string_equal(info.default_gateway_domain, "compose.example.com");

	/* 1. the option beats everything */
	setenv(GATEWAY_ENV_DOMAIN, "env.example.com", 1);
	o.domain = "opt.example.com:9443";
	assert_int_equal(gateway_discover(&o, &info, url, &src), 0);
	assert_int_equal(src, GATEWAY_FROM_OPTION);
	assert_string_equal(url, "https://" INST_ID "-8080.opt.example.com:9443");
	/* 2. then the environment */
	o.domain = NULL;
	assert_int_equal(gateway_discover(&o, &info, url, &src), 0);
	assert_int_equal(src, GATEWAY_FROM_ENV);
	assert_string_equal(url, "https://" INST_ID "-8080.env.example.com");
	/* 3. then app-compose */
	unsetenv(GATEWAY_ENV_DOMAIN);
	o.tls_passthrough = true;
	assert_int_equal(gateway_discover(&o, &info, url, &src), 0);
	assert_int_equal(src, GATEWAY_FROM_APP_COMPOSE);
	assert_string_equal(url, "https://" INST_ID "-8080s.compose.example.com");
	/* a bad domain from outside is refused, not used */
	setenv(GATEWAY_ENV_DOMAIN, "evil.com/phish?x=", 1);
	assert_int_equal(gateway_discover(&o, &info, url, &src), -EINVAL);
	assert_non_null(strstr(gateway_last_error(), GATEWAY_ENV_DOMAIN));
	unsetenv(GATEWAY_ENV_DOMAIN);
	/* nothing at all */
	info.default_gateway_domain[0] = '\0';
	assert_int_equal(gateway_discover(&o, &info, url, &src), -ENOENT);
	assert_non_null(strstr(gateway_last_error(), "/nonexistent/sc.json"));
}

static void
test_discovery_sysconfig(void **state)
{
	const char *const args[] = { "--gateway-listen", "127.0.0.1:0", "--base-domain",
				     "gw.dstack.test", "--external-port", "12004", NULL };
	struct gateway_opts o = { .app_port = 80 };
	char url[GATEWAY_URL_MAX], bad[] = "/tmp/dpsc.XXXXXX";
	enum gateway_source src;
	struct agent_info info;
	struct simproc sim;
	int fd;

	(void)state;
	unsetenv(GATEWAY_ENV_DOMAIN);
	sim_info(&sim, args, &info);
	o.sys_config_path = sim.sysconfig;
	assert_int_equal(gateway_discover(&o, &info, url, &src), 0);
	assert_int_equal(src, GATEWAY_FROM_SYS_CONFIG);
	assert_string_equal(url, "https://" INST_ID "-80.gw.dstack.test:12004");
	simproc_stop(&sim);

	/* the sys-config names a gateway that does not answer */
	sim_info(&sim, args, &info);
	fd = mkstemp(bad);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"gateway_urls\":[\"http://127.0.0.1:1\"]}", 39), 39);
	close(fd);
	o.sys_config_path = bad;
	assert_int_equal(gateway_discover(&o, &info, url, &src), -EIO);
	assert_non_null(strstr(gateway_last_error(), "127.0.0.1:1/prpc/Info"));
	/* a malformed sys-config */
	fd = open(bad, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_int_equal(write(fd, "{\"gateway_urls\":", 16), 16);
	close(fd);
	assert_int_equal(gateway_discover(&o, &info, url, &src), -EBADMSG);
	unlink(bad);
	simproc_stop(&sim);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_url),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_discovery_order),
		cmocka_unit_test(test_discovery_sysconfig),
	};

	unsetenv(AGENT_ENV_ENDPOINT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
