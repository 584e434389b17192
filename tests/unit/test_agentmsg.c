#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agentmsg.h"
#include "hex.h"

/*
 * An /Info reply in the shape the official dstack simulator gives, with the
 * identity values from ../shared/fixtures/dstack-simulator/README.md.
 * %s slots: app_id, instance_id, tcb_info (a JSON string literal body).
 */
#define INFO_FMT \
	"{\"app_id\":\"%s\",\"instance_id\":\"%s\",\"app_cert\":\"\"," \
	"\"tcb_info\":\"%s\",\"app_name\":\"guest-agent\"," \
	"\"device_id\":\"7a82191bd4dedb9d716e3aa422963cf1009f36e3068404a0322feca1ce517dc9\"," \
	"\"os_image_hash\":\"e61be43dd1cc6a6f5edefd7c51b608983780839b0000ce60dd99737dcffe09b9\"," \
	"\"compose_hash\":\"c143116fef3940e7f776bfc0919c256232ae5338a6e948c96b711e0b2383483a\"," \
	"\"vm_config\":\"{\\\"cpu_count\\\":1}\"}"
#define APP_ID	"5bb4ff9a3837357f19dc176407a5709c62eb6c56"
#define INST_ID	"1691ed1b47506cad7d08834668691d88246f5b1f"
#define TCB_PLAIN "{\\\"mrtd\\\":\\\"00\\\",\\\"app_compose\\\":\\\"{\\\\\\\"name\\\\\\\":\\\\\\\"x\\\\\\\"}\\\"}"
#define TCB_GW "{\\\"app_compose\\\":\\\"{\\\\\\\"default_gateway_domain\\\\\\\":\\\\\\\"gw.example.com:8443\\\\\\\"}\\\"}"

static int
info_parse(const char *app_id, const char *inst, const char *tcb, struct agent_info *ret)
{
	char body[4096];
	int n = snprintf(body, sizeof(body), INFO_FMT, app_id, inst, tcb);

	assert_true(n > 0 && (size_t)n < sizeof(body));
	return agentmsg_parse_info(body, (size_t)n, ret);
}

static void
test_info_ok(void **state)
{
	struct agent_info info;
	uint8_t want[20];

	(void)state;
	assert_int_equal(info_parse(APP_ID, INST_ID, TCB_PLAIN, &info), 0);
	assert_int_equal(hex_decode_exact(APP_ID, 40, want, 20), 0);
	assert_memory_equal(info.app_id, want, 20);
	assert_int_equal(hex_decode_exact(INST_ID, 40, want, 20), 0);
	assert_memory_equal(info.instance_id, want, 20);
	assert_int_equal(info.compose_hash[0], 0xc1);
	assert_true(info.has_os_image_hash);
	assert_int_equal(info.os_image_hash[31], 0xb9);
	assert_string_equal(info.app_name, "guest-agent");
	assert_string_equal(info.default_gateway_domain, "");

	assert_int_equal(info_parse("0x" APP_ID, INST_ID, TCB_GW, &info), 0);
	assert_string_equal(info.default_gateway_domain, "gw.example.com:8443");
	/* tcb_info hidden by the app-compose (public_tcbinfo false) */
	assert_int_equal(info_parse(APP_ID, INST_ID, "", &info), 0);
	assert_string_equal(info.default_gateway_domain, "");
}

static void
test_info_strict(void **state)
{
	struct agent_info info;
	const char *bad_tcb[] = {
		"not json",
		"{\\\"app_compose\\\":\\\"not json\\\"}",
		"{\\\"app_compose\\\":7}",
		"[1,2]",
		"{\\\"app_compose\\\":\\\"{\\\\\\\"default_gateway_domain\\\\\\\":\\\\\\\"bad domain\\\\\\\"}\\\"}",
		"{\\\"app_compose\\\":\\\"{\\\\\\\"default_gateway_domain\\\\\\\":\\\\\\\"-x.com\\\\\\\"}\\\"}",
		"{\\\"app_compose\\\":\\\"{\\\\\\\"default_gateway_domain\\\\\\\":\\\\\\\"x.com:0\\\\\\\"}\\\"}",
	};
	size_t i;

	(void)state;
	memset(&info, 0x5a, sizeof(info));
	/* hex of the wrong length, bad digits, missing */
	assert_int_equal(info_parse(APP_ID "00", INST_ID, TCB_PLAIN, &info), -EBADMSG);
	assert_int_equal(info_parse("5bb4ff9a3837357f19dc176407a5709c62eb6c5", INST_ID, TCB_PLAIN, &info), -EBADMSG);
	assert_int_equal(info_parse(APP_ID, "1691ed1b47506cad7d08834668691d88246f5b1g", TCB_PLAIN, &info), -EBADMSG);
	assert_int_equal(info_parse(APP_ID, "", TCB_PLAIN, &info), -ENODATA);
	for (i = 0; i < sizeof(bad_tcb) / sizeof(bad_tcb[0]); i++)
		assert_int_equal(info_parse(APP_ID, INST_ID, bad_tcb[i], &info), -EBADMSG);
	/* nothing was written on failure */
	assert_int_equal(info.app_id[0], 0x5a);

	assert_int_equal(agentmsg_parse_info("{", 1, &info), -EBADMSG);
	assert_int_equal(agentmsg_parse_info("", 0, &info), -EBADMSG);
	assert_int_equal(agentmsg_parse_info("[]", 2, &info), -EBADMSG);
	assert_int_equal(agentmsg_parse_info("{\"app_id\":1}", 12, &info), -EBADMSG);
}

static void
test_info_caps(void **state)
{
	struct agent_info info;
	char *big, name[300];
	size_t n = AGENTMSG_MAX_REPLY + 1;
	char body[4096];
	int len;

	(void)state;
	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	assert_int_equal(agentmsg_parse_info(big, n, &info), -E2BIG);
	free(big);

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	len = snprintf(body, sizeof(body),
		       "{\"app_id\":\"%s\",\"instance_id\":\"%s\",\"compose_hash\":\"%064d\","
		       "\"tcb_info\":\"{}\",\"app_name\":\"%s\"}", APP_ID, INST_ID, 0, name);
	assert_int_equal(agentmsg_parse_info(body, (size_t)len, &info), -E2BIG);
	/* trailing bytes after the object */
	len = snprintf(body, sizeof(body),
		       "{\"app_id\":\"%s\",\"instance_id\":\"%s\",\"compose_hash\":\"%064d\","
		       "\"tcb_info\":\"{}\"} x", APP_ID, INST_ID, 0);
	assert_int_equal(agentmsg_parse_info(body, (size_t)len, &info), -EBADMSG);
	assert_int_equal(agentmsg_parse_info(body, (size_t)len - 2, &info), 0);
	assert_false(info.has_os_image_hash);
}

#define SIG65 "9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e59" \
	      "4d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8efe330346dfc6c500"
#define KEY32 "d6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d5d"

static void
test_key(void **state)
{
	static const char *const bad[] = {
		"{\"key\":\"" KEY32 "\",\"signature_chain\":[\"" SIG65 "\"]}",
		"{\"key\":\"" KEY32 "\",\"signature_chain\":[\"" SIG65 "\",\"" SIG65 "\",\"" SIG65 "\"]}",
		"{\"key\":\"" KEY32 "\",\"signature_chain\":[\"" SIG65 "\",\"" SIG65 "00\"]}",
		"{\"key\":\"" KEY32 "\",\"signature_chain\":[\"" SIG65 "\",\"9e\"]}",
		"{\"key\":\"" KEY32 "00\",\"signature_chain\":[\"" SIG65 "\",\"" SIG65 "\"]}",
		"{\"key\":\"d6\",\"signature_chain\":[\"" SIG65 "\",\"" SIG65 "\"]}",
		"{\"key\":\"" KEY32 "\",\"signature_chain\":\"" SIG65 "\"}",
		"{\"key\":\"" KEY32 "\",\"signature_chain\":[\"" SIG65 "\",5]}",
		"{\"signature_chain\":[\"" SIG65 "\",\"" SIG65 "\"]}",
		"{\"key\":\"" KEY32 "\",\"signature_chain\":[\"" SIG65 "\",\"" SIG65 "\"]",
	};
	const char *ok = "{\"key\":\"0x" KEY32 "\",\"signature_chain\":[\"" SIG65 "\",\"" SIG65 "\"]}";
	struct agent_key k;
	size_t i;

	(void)state;
	assert_int_equal(agentmsg_parse_key(ok, strlen(ok), &k), 0);
	assert_int_equal(k.key[0], 0xd6);
	assert_int_equal(k.key[31], 0x5d);
	assert_int_equal(k.chain[1][0], 0x9e);
	assert_int_equal(k.chain[1][64], 0x00);
	agentmsg_key_wipe(&k);
	assert_int_equal(k.key[0], 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(agentmsg_parse_key(bad[i], strlen(bad[i]), &k), -EBADMSG);
}

static void
test_version_and_error(void **state)
{
	struct agent_version v;
	char msg[AGENTMSG_ERROR_MAX + 1], tiny[4];
	const char *s;

	(void)state;
	s = "{\"version\":\"0.5.4\",\"rev\":\"abc\"}";
	assert_int_equal(agentmsg_parse_version(s, strlen(s), &v), 0);
	assert_string_equal(v.version, "0.5.4");
	assert_string_equal(v.rev, "abc");
	s = "{\"version\":\"0.5.4\"}";
	assert_int_equal(agentmsg_parse_version(s, strlen(s), &v), 0);
	assert_string_equal(v.rev, "");
	s = "{\"rev\":\"abc\"}";
	assert_int_equal(agentmsg_parse_version(s, strlen(s), &v), -EBADMSG);

	s = "{\"error\":\"unsupported algorithm\"}";
	assert_int_equal(agentmsg_parse_error(s, strlen(s), msg, sizeof(msg)), 0);
	assert_string_equal(msg, "unsupported algorithm");
	s = "{\"error\":\"line\\nbreak\\u001b\"}";
	assert_int_equal(agentmsg_parse_error(s, strlen(s), msg, sizeof(msg)), 0);
	assert_string_equal(msg, "line?break?");
	assert_int_equal(agentmsg_parse_error(s, strlen(s), tiny, sizeof(tiny)), 0);
	assert_string_equal(tiny, "lin");
	s = "{\"detail\":\"x\"}";
	assert_int_equal(agentmsg_parse_error(s, strlen(s), msg, sizeof(msg)), -EBADMSG);
	s = "<html>";
	assert_int_equal(agentmsg_parse_error(s, strlen(s), msg, sizeof(msg)), -EBADMSG);
}

/* ../shared/fixtures/dstack-simulator/sys-config.json, the official simulator's. */
static const char fixture_sysconfig[] =
	"{\n    \"kms_urls\": [\n        \"https://kms.1022.dstack.org:12001\"\n    ],\n"
	"    \"gateway_urls\": [\n        \"https://tproxy.1022.dstack.org:12002\"\n    ],\n"
	"    \"pccs_url\": \"\",\n    \"docker_registry\": \"\",\n"
	"    \"host_api_url\": \"vsock://2:12000/api\",\n"
	"    \"vm_config\": \"{\\\"os_image_hash\\\":\\\"64f0d1545cd510a8dfed7ad609d105b5d41f0cb2afcfdda8867ede00c88add7a\\\",\\\"cpu_count\\\":1,\\\"memory_size\\\":2147483648}\"\n}\n";

static void
test_sysconfig(void **state)
{
	static const char *const bad[] = {
		"{\"gateway_urls\":\"https://a\"}",
		"{\"gateway_urls\":[\"ftp://a\"]}",
		"{\"gateway_urls\":[\"https://a b\"]}",
		"{\"gateway_urls\":[1]}",
	};
	const char *many = "{\"gateway_urls\":[\"http://a\",\"http://a\",\"http://a\",\"http://a\","
			   "\"http://a\",\"http://a\",\"http://a\",\"http://a\",\"http://a\"]}";
	struct agent_sysconfig sc;
	size_t i;

	(void)state;
	assert_int_equal(agentmsg_parse_sysconfig(fixture_sysconfig, strlen(fixture_sysconfig), &sc), 0);
	assert_int_equal(sc.n_gateway_urls, 1);
	assert_string_equal(sc.gateway_urls[0], "https://tproxy.1022.dstack.org:12002");
	assert_int_equal(agentmsg_parse_sysconfig("{}", 2, &sc), 0);
	assert_int_equal(sc.n_gateway_urls, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(agentmsg_parse_sysconfig(bad[i], strlen(bad[i]), &sc), -EBADMSG);
	assert_int_equal(agentmsg_parse_sysconfig(many, strlen(many), &sc), -E2BIG);
}

static void
test_gateway_info(void **state)
{
	static const char *const bad[] = {
		"{\"base_domain\":\"a.com\",\"external_port\":0}",
		"{\"base_domain\":\"a.com\",\"external_port\":65536}",
		"{\"base_domain\":\"a.com\",\"external_port\":1.5}",
		"{\"base_domain\":\"a.com\",\"external_port\":\"443\"}",
		"{\"base_domain\":\"a.com\"}",
		"{\"base_domain\":\"a..com\",\"external_port\":443}",
		"{\"base_domain\":\"a.com/x\",\"external_port\":443}",
		"{\"external_port\":443}",
	};
	const char *ok = "{\"base_domain\":\"dstack-pha-prod7.phala.network\",\"external_port\":443,"
			 "\"app_address_ns_prefix\":\"_dstack-app-address\"}";
	struct gateway_info gi;
	size_t i;

	(void)state;
	assert_int_equal(agentmsg_parse_gateway_info(ok, strlen(ok), &gi), 0);
	assert_string_equal(gi.base_domain, "dstack-pha-prod7.phala.network");
	assert_int_equal(gi.external_port, 443);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(agentmsg_parse_gateway_info(bad[i], strlen(bad[i]), &gi), -EBADMSG);
}

static void
test_domain_valid(void **state)
{
	static const struct { const char *s; bool ok; } cases[] = {
		{ "example.com", true }, { "a", true }, { "x-1.dstack.test", true },
		{ "", false }, { ".", false }, { "a.", false }, { ".a", false },
		{ "a..b", false }, { "-a.b", false }, { "a-.b", false }, { "a_b.c", false },
		{ "a b", false }, { "a.b:443", false }, { "\xc3\xa9.com", false },
		{ "a123456789012345678901234567890123456789012345678901234567890123.com", false },
		{ "a12345678901234567890123456789012345678901234567890123456789012.com", true },
	};
	char longname[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(agentmsg_domain_valid(cases[i].s, strlen(cases[i].s)), cases[i].ok);
	/* 254 bytes of valid labels is one past the cap */
	memset(longname, 'a', 254);
	for (i = 50; i < 254; i += 51)
		longname[i] = '.';
	assert_false(agentmsg_domain_valid(longname, 254));
	assert_true(agentmsg_domain_valid(longname, 253));
}

static void
test_getkey_request(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(agentmsg_getkey_request("a\"b", "p", "secp256k1", &b), 0);
	assert_string_equal((char *)b.data,
			    "{\"path\":\"a\\\"b\",\"purpose\":\"p\",\"algorithm\":\"secp256k1\"}");
	buf_reset(&b);
	{
		char path[AGENTMSG_KEY_PATH_MAX + 2];

		memset(path, 'p', sizeof(path) - 1);
		path[sizeof(path) - 1] = '\0';
		assert_int_equal(agentmsg_getkey_request(path, "p", NULL, &b), -EINVAL);
	}
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_ok),
		cmocka_unit_test(test_info_strict),
		cmocka_unit_test(test_info_caps),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_version_and_error),
		cmocka_unit_test(test_sysconfig),
		cmocka_unit_test(test_gateway_info),
		cmocka_unit_test(test_domain_valid),
		cmocka_unit_test(test_getkey_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
