/*
 * registrar: the errno a writer of /p2p/register gets for each of the
 * contract's custom errors (the table documented in dstackp2pfs(8)).  The
 * chain paths are exercised end to end by tests/e2e/test_cluster.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "registrar.h"
#include "registry.h"

/* The mapping the issue asks for, one line per cause. */
static const struct {
	const char *sig;
	int err;
} expected[] = {
	{ "NotMember(address)", EACCES },
	{ "EnrollmentClosed()", EACCES },
	{ "MemberCapReached(uint32)", EACCES },
	{ "AppNotAllowed(bytes20)", EACCES },
	{ "BadSignature()", EPERM },
	{ "AppKeyMismatch(address,address)", EPERM },
	{ "UntrustedKms(address)", EPERM },
	{ "CallerNotDerivedKey(address,address)", EPERM },
	{ "BadEndpoint()", EINVAL },
	{ "BadWgKey()", EINVAL },
	{ "InstanceTaken(bytes20,uint256)", EADDRINUSE },
	{ "KeyBoundToOtherInstance(bytes20)", EADDRINUSE },
	{ "WgKeyTaken(uint256)", EADDRINUSE },
	{ "NotRegistered(address)", ENOENT },
};

static void
test_mapping(void **state)
{
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		why = NULL;
		assert_int_equal(registrar_error_errno(expected[i].sig, &why), -expected[i].err);
		assert_non_null(why);
		assert_true(strlen(why) > 0);
	}
}

/* Every custom error the binding knows has a reason of its own (no EIO). */
static void
test_every_contract_error_named(void **state)
{
	const char *sig, *why;
	size_t i, n = registry_error_count();

	(void)state;
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		sig = registry_error_signature(i);
		assert_non_null(sig);
		why = NULL;
		if (registrar_error_errno(sig, &why) == -EIO || !why)
			fail_msg("contract error '%s' has no errno mapping", sig);
	}
}

static void
test_unknown(void **state)
{
	const char *why = "untouched";

	(void)state;
	assert_int_equal(registrar_error_errno("Nope()", &why), -EIO);
	assert_string_equal(why, "untouched");
	assert_int_equal(registrar_error_errno("", NULL), -EIO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping),
		cmocka_unit_test(test_every_contract_error_named),
		cmocka_unit_test(test_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
