#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ethkey.h"
#include "hex.h"
#include "kms.h"

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(hex_decode_exact(s, strlen(s), out, n), 0);
}

/* RFC 5869 appendix A, test cases 1 and 3 (HKDF-SHA256). */
static void
test_hkdf_rfc5869(void **state)
{
	uint8_t ikm[22], salt[13], info[10], okm[42], want[42];

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	unhex("000102030405060708090a0b0c", salt, sizeof(salt));
	unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof(info));
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	      "34007208d5b887185865", want, sizeof(want));
	assert_int_equal(kms_hkdf_sha256(salt, sizeof(salt), ikm, sizeof(ikm), info,
					 sizeof(info), okm, sizeof(okm)), 0);
	assert_memory_equal(okm, want, sizeof(want));

	unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	      "9d201395faa4b61a96c8", want, sizeof(want));
	assert_int_equal(kms_hkdf_sha256("", 0, ikm, sizeof(ikm), "", 0, okm, sizeof(okm)), 0);
	assert_memory_equal(okm, want, sizeof(want));

	assert_int_equal(kms_hkdf_sha256("", 0, ikm, sizeof(ikm), "", 0, okm, 0), -EINVAL);
}

/* Facts from ../shared/fixtures/dstack-simulator (README and appkeys.json). */
#define APP_ID	 "5bb4ff9a3837357f19dc176407a5709c62eb6c56"
#define APP_SK	 "d6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d5d"
#define APP_PUB	 "02818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2d096fc7c"
#define KMS_SIG	 "9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e59" \
		 "4d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8efe330346dfc6c500"
#define KMS_PUB	 "0321529e458424ab1f710a3a57ec4dad2fb195ddca572f7469242ba6c7563085b6"
#define KMS_ADDR "a7f6043c29f9cc1d9d6acf554c53e0c6792aaeaf"

struct fixture {
	uint8_t app_id[20], app_sk[32], app_pub33[33], s1[65], root[20];
};

static void
fixture_load(struct fixture *f)
{
	unhex(APP_ID, f->app_id, 20);
	unhex(APP_SK, f->app_sk, 32);
	unhex(APP_PUB, f->app_pub33, 33);
	unhex(KMS_SIG, f->s1, 65);
	unhex(KMS_ADDR, f->root, 20);
}

/* S1 of the fixture recovers to the published KMS root key and address. */
static void
test_fixture_s1(void **state)
{
	uint8_t pub33[33], hash[32], root65[65], root33[33], want33[33], addr[20];
	struct fixture f;

	(void)state;
	fixture_load(&f);
	assert_int_equal(ethkey_pubkey_compressed(f.app_sk, pub33), 0);
	assert_memory_equal(pub33, f.app_pub33, 33);
	kms_issued_message_hash(f.app_id, f.app_pub33, hash);
	assert_int_equal(ethkey_recover(hash, f.s1, root65), 0);
	assert_int_equal(ethkey_pubkey_compress(root65, root33), 0);
	unhex(KMS_PUB, want33, 33);
	assert_memory_equal(root33, want33, 33);
	ethkey_address_from_pubkey(root65, addr);
	assert_memory_equal(addr, f.root, 20);
	assert_memory_equal(kms_simulator_root, f.root, 20);
}

/* Build S2 for (path, purpose) with signer sk, as the agent does. */
static void
make_s2(const uint8_t sk[32], const uint8_t app_sk[32], const char *path, const char *purpose,
	uint8_t derived65[65], uint8_t s2[65])
{
	uint8_t dsk[32], d33[33], hash[32];

	assert_int_equal(kms_derive_key(app_sk, path, dsk), 0);
	assert_int_equal(ethkey_pubkey(dsk, derived65), 0);
	assert_int_equal(ethkey_pubkey_compressed(dsk, d33), 0);
	assert_int_equal(kms_app_message_hash(purpose, d33, hash), 0);
	assert_int_equal(ethkey_sign(sk, hash, s2), 0);
}

static void
test_chain_verify(void **state)
{
	static const char *const paths[] = { "", "a", "dstackp2pfs/v1/eth/00", "x/y/z" };
	uint8_t d65[65], s2[65], app65[65], root[20], want65[65];
	struct fixture f;
	size_t i;

	(void)state;
	fixture_load(&f);
	assert_int_equal(ethkey_pubkey(f.app_sk, want65), 0);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		make_s2(f.app_sk, f.app_sk, paths[i], "purpose", d65, s2);
		assert_int_equal(kms_chain_verify(f.app_id, d65, "purpose", s2, f.s1,
						  &kms_simulator_root, 1, app65, root), 0);
		assert_memory_equal(app65, want65, 65);
		assert_memory_equal(root, f.root, 20);
	}
}

static void
test_chain_rejects(void **state)
{
	uint8_t d65[65], s2[65], app65[65], root[20], other_sk[32], other_id[20], bad[65];
	const uint8_t untrusted[1][20] = { { 1 } };
	struct fixture f;

	(void)state;
	fixture_load(&f);
	memset(app65, 0x77, sizeof(app65));
	make_s2(f.app_sk, f.app_sk, "p", "purpose", d65, s2);
	/* another purpose: S2 recovers another key, S1 then another root */
	assert_int_equal(kms_chain_verify(f.app_id, d65, "other", s2, f.s1,
					  &kms_simulator_root, 1, app65, root), -EACCES);
	/* another app id */
	memcpy(other_id, f.app_id, 20);
	other_id[19] ^= 1;
	assert_int_equal(kms_chain_verify(other_id, d65, "purpose", s2, f.s1,
					  &kms_simulator_root, 1, app65, root), -EACCES);
	/* a self-made app key replaying the fixture's (app key, S1) pair */
	unhex("0101010101010101010101010101010101010101010101010101010101010101", other_sk, 32);
	make_s2(other_sk, f.app_sk, "p", "purpose", d65, s2);
	assert_int_equal(kms_chain_verify(f.app_id, d65, "purpose", s2, f.s1,
					  &kms_simulator_root, 1, app65, root), -EACCES);
	/* right chain, root not trusted / nothing trusted */
	make_s2(f.app_sk, f.app_sk, "p", "purpose", d65, s2);
	assert_int_equal(kms_chain_verify(f.app_id, d65, "purpose", s2, f.s1,
					  untrusted, 1, app65, root), -EACCES);
	assert_int_equal(kms_chain_verify(f.app_id, d65, "purpose", s2, f.s1,
					  NULL, 0, app65, root), -EACCES);
	/* signatures that recover nothing */
	memcpy(bad, s2, 65);
	bad[64] = 5;
	assert_int_equal(kms_chain_verify(f.app_id, d65, "purpose", bad, f.s1,
					  &kms_simulator_root, 1, app65, root), -EBADMSG);
	memset(bad, 0, 64);
	bad[64] = 0;
	assert_int_equal(kms_chain_verify(f.app_id, d65, "purpose", s2, bad,
					  &kms_simulator_root, 1, app65, root), -EBADMSG);
	/* not a public key */
	memset(bad, 0, 65);
	bad[0] = 4;
	assert_int_equal(kms_chain_recover(f.app_id, bad, "purpose", s2, f.s1, app65, root), -EINVAL);
	assert_int_equal(app65[0], 0x77);	/* outputs untouched on failure */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_fixture_s1),
		cmocka_unit_test(test_chain_verify),
		cmocka_unit_test(test_chain_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
