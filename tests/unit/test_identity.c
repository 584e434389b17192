#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "ethkey.h"
#include "hex.h"
#include "identity.h"
#include "kms.h"
#include "simproc.h"

/* Facts from ../shared/fixtures/dstack-simulator (README, appkeys.json). */
#define APP_ID	"5bb4ff9a3837357f19dc176407a5709c62eb6c56"
#define INST_ID	"1691ed1b47506cad7d08834668691d88246f5b1f"
#define APP_SK	"d6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d5d"
#define APP_PUB	"02818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2d096fc7c"
#define INST_B	"00000000000000000000000000000000000000b2"

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(hex_decode_exact(s, strlen(s), out, n), 0);
}

/*
 * The specified derivation, computed here independently of kms.c with
 * OpenSSL's EVP_PKEY HKDF interface: HKDF-SHA256(salt "RATLS", ikm app_sk,
 * info path).
 */
static void
expected_key(const char *path, uint8_t out[32])
{
	uint8_t app_sk[32];
	size_t len = 32;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);

	unhex(APP_SK, app_sk, 32);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_hkdf_salt(ctx, (const unsigned char *)"RATLS", 5), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_hkdf_key(ctx, app_sk, 32), 1);
	assert_int_equal(EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)path,
						     (int)strlen(path)), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, out, &len), 1);
	assert_int_equal(len, 32);
	EVP_PKEY_CTX_free(ctx);
}

static void
load(const char *inst, struct identity_proof *p, struct identity_wg *w)
{
	const char *args[] = { "--instance-id", inst, NULL };
	struct agent_info info;
	struct simproc sim;
	struct agent *a;

	assert_int_equal(simproc_start(&sim, args), 0);
	assert_int_equal(agent_open(sim.sock, &a), 0);
	assert_int_equal(agent_info(a, &info), 0);
	assert_int_equal(identity_load_proof(a, &info, &kms_simulator_root, 1, p), 0);
	assert_int_equal(identity_load_wg(a, &info, w), 0);
	agent_free(a);
	simproc_stop(&sim);
}

static void
test_paths(void **state)
{
	char path[IDENTITY_PATH_MAX];
	uint8_t id[20];

	(void)state;
	unhex("1691ED1B47506CAD7D08834668691D88246F5B1F", id, 20);
	assert_int_equal(identity_key_path(IDENTITY_ETH_PATH_PREFIX, id, path), 0);
	assert_string_equal(path, "dstackp2pfs/v1/eth/" INST_ID);
	assert_int_equal(identity_key_path(IDENTITY_WG_PATH_PREFIX, id, path), 0);
	assert_string_equal(path, "dstackp2pfs/v1/wireguard/" INST_ID);
	assert_string_equal(IDENTITY_ETH_PURPOSE, "dstackp2pfs/v1/peer");
	assert_string_equal(IDENTITY_WG_PURPOSE, "dstackp2pfs/v1/wireguard");
	assert_int_equal(identity_key_path("dstackp2pfs/v1/a-prefix-much-too-long-for-the-path-buffer/",
					   id, path), -ENOSPC);
}

static void
test_proof_from_simulator(void **state)
{
	uint8_t want[33], app33[33], addr[20], key[32];
	struct identity_proof p;
	struct identity_wg w;

	(void)state;
	load(INST_ID, &p, &w);
	unhex(INST_ID, want, 20);
	assert_memory_equal(p.instance_id, want, 20);
	unhex(APP_ID, want, 20);
	assert_memory_equal(p.app_id, want, 20);
	unhex(APP_PUB, want, 33);
	assert_int_equal(ethkey_pubkey_compress(p.app_pub, app33), 0);
	assert_memory_equal(app33, want, 33);
	assert_memory_equal(p.kms_root, kms_simulator_root, 20);
	/* derived key = HKDF-SHA256 as specified, and the address is its own */
	expected_key("dstackp2pfs/v1/eth/" INST_ID, key);
	assert_memory_equal(p.derived_sk, key, 32);
	assert_int_equal(ethkey_address(key, addr), 0);
	assert_memory_equal(p.derived_addr, addr, 20);
	/* WireGuard: HKDF of its own path, clamped */
	expected_key("dstackp2pfs/v1/wireguard/" INST_ID, key);
	key[0] &= 248;
	key[31] = (uint8_t)((key[31] & 127) | 64);
	assert_memory_equal(w.sk, key, 32);
	assert_memory_not_equal(w.sk, p.derived_sk, 32);
	identity_proof_release(&p);
	assert_int_equal(p.derived_sk[0] | p.derived_sk[31], 0);
	identity_wg_release(&w);
}

static void
test_per_instance_and_stable(void **state)
{
	struct identity_proof a1, a2, b;
	struct identity_wg wa1, wa2, wb;

	(void)state;
	load(INST_ID, &a1, &wa1);
	load(INST_ID, &a2, &wa2);	/* a restart: a fresh simulator process */
	load(INST_B, &b, &wb);
	assert_memory_equal(a1.derived_sk, a2.derived_sk, 32);
	assert_memory_equal(wa1.pub, wa2.pub, 32);
	assert_memory_not_equal(a1.derived_addr, b.derived_addr, 20);
	assert_memory_not_equal(wa1.pub, wb.pub, 32);
	assert_memory_equal(a1.app_pub, b.app_pub, 65);
	identity_proof_release(&a1);
	identity_proof_release(&a2);
	identity_proof_release(&b);
	identity_wg_release(&wa1);
	identity_wg_release(&wa2);
	identity_wg_release(&wb);
}

static void
test_untrusted_root(void **state)
{
	const uint8_t other[1][20] = { { 0xaa } };
	struct identity_proof p;
	struct agent_info info;
	struct simproc sim;
	struct agent *a;

	(void)state;
	assert_int_equal(simproc_start(&sim, NULL), 0);
	assert_int_equal(agent_open(sim.sock, &a), 0);
	assert_int_equal(agent_info(a, &info), 0);
	assert_int_equal(identity_load_proof(a, &info, other, 1, &p), -EACCES);
	/* an Info that names another app: S1 no longer binds */
	info.app_id[0] ^= 1;
	assert_int_equal(identity_load_proof(a, &info, &kms_simulator_root, 1, &p), -EACCES);
	agent_free(a);
	simproc_stop(&sim);
}

/* RFC 7748 section 6.1: Alice's X25519 key pair.  Base64 (RFC 4648) of the
 * public key computed with Python's base64 module. */
static void
test_wg_x25519(void **state)
{
	uint8_t sk[32], pub[32];
	struct identity_wg w;
	char b64[IDENTITY_WG_B64_LEN + 1];

	(void)state;
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", sk, 32);
	unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", pub, 32);
	assert_int_equal(identity_wg_from_bytes(sk, &w), 0);
	assert_memory_equal(w.pub, pub, 32);
	assert_int_equal(w.sk[0] & 7, 0);
	assert_int_equal(w.sk[31] & 0xc0, 0x40);
	identity_wg_base64(w.pub, b64);
	assert_string_equal(b64, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
	identity_wg_release(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_proof_from_simulator),
		cmocka_unit_test(test_per_instance_and_stable),
		cmocka_unit_test(test_untrusted_root),
		cmocka_unit_test(test_wg_x25519),
	};

	unsetenv("DSTACK_SIMULATOR_ENDPOINT");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
