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

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(hex_decode_exact(s, strlen(s), out, n), 0);
}

/* Secret key -> address.  Sources: the EIP-155 example key (sender shown by
 * every EIP-155 decoder), anvil/hardhat dev account 0, and sk = 1 (address of
 * the generator point, widely listed). */
static const struct {
	const char *sk;
	const char *addr;
} key_vectors[] = {
	{ "4646464646464646464646464646464646464646464646464646464646464646",
	  "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F" },
	{ "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
	  "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" },
	{ "0000000000000000000000000000000000000000000000000000000000000001",
	  "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf" },
};

static void
test_address_of_key(void **state)
{
	uint8_t sk[32], addr[20], want[20];
	char s[43];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(key_vectors) / sizeof(key_vectors[0]); i++) {
		unhex(key_vectors[i].sk, sk, 32);
		unhex(key_vectors[i].addr, want, 20);
		assert_int_equal(ethkey_address(sk, addr), 0);
		assert_memory_equal(addr, want, 20);
		ethkey_address_format(addr, s);
		assert_string_equal(s, key_vectors[i].addr);
	}
}

static void
test_pubkey_generator(void **state)
{
	/* sk = 1: the public key is the secp256k1 generator G (SEC 2, 2.4.1). */
	static const char g65[] =
		"0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
		"483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8";
	static const char g33[] =
		"0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
	uint8_t sk[32] = { 0 }, pub[65], want65[65], c[33], want33[33], back[65];

	(void)state;
	sk[31] = 1;
	unhex(g65, want65, 65);
	unhex(g33, want33, 33);
	assert_int_equal(ethkey_pubkey(sk, pub), 0);
	assert_memory_equal(pub, want65, 65);
	assert_int_equal(ethkey_pubkey_compressed(sk, c), 0);
	assert_memory_equal(c, want33, 33);
	assert_int_equal(ethkey_pubkey_compress(pub, c), 0);
	assert_memory_equal(c, want33, 33);
	assert_int_equal(ethkey_pubkey_parse(want33, 33, back), 0);
	assert_memory_equal(back, want65, 65);
	assert_int_equal(ethkey_pubkey_parse(want65, 65, back), 0);
	assert_memory_equal(back, want65, 65);
	/* wrong sizes, prefixes, off-curve points */
	assert_int_equal(ethkey_pubkey_parse(want65, 64, back), -EINVAL);
	c[0] = 0x04;
	assert_int_equal(ethkey_pubkey_parse(c, 33, back), -EINVAL);
	want65[64] ^= 1;
	assert_int_equal(ethkey_pubkey_parse(want65, 65, back), -EINVAL);
	assert_int_equal(ethkey_pubkey_compress(want65, c), -EINVAL);
}

static void
test_bad_secret_keys(void **state)
{
	/* zero and the group order n itself are not valid keys (SEC 2). */
	uint8_t zero[32] = { 0 }, n[32], out[65];

	(void)state;
	unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", n, 32);
	assert_int_equal(ethkey_pubkey(zero, out), -EINVAL);
	assert_int_equal(ethkey_pubkey(n, out), -EINVAL);
	assert_int_equal(ethkey_address(n, out), -EINVAL);
	assert_int_equal(ethkey_sign(zero, n, out), -EINVAL);
}

/* EIP-155 example: signing hash, key 0x46..46, expected r, s and v = 37
 * (recovery id 0 on chain 1). https://eips.ethereum.org/EIPS/eip-155 */
static void
test_sign_eip155_vector(void **state)
{
	uint8_t sk[32], h[32], sig[65], want[64], pub[65], addr[20], exp_addr[20];

	(void)state;
	memset(sk, 0x46, 32);
	unhex("daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53", h, 32);
	unhex("28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276"
	      "67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83", want, 64);
	assert_int_equal(ethkey_sign(sk, h, sig), 0);
	assert_memory_equal(sig, want, 64);
	assert_int_equal(sig[64], 0);
	assert_int_equal(ethkey_recover(h, sig, pub), 0);
	ethkey_address_from_pubkey(pub, addr);
	unhex("9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F", exp_addr, 20);
	assert_memory_equal(addr, exp_addr, 20);
	sig[64] = 27;
	assert_int_equal(ethkey_recover(h, sig, pub), 0);
	ethkey_address_from_pubkey(pub, addr);
	assert_memory_equal(addr, exp_addr, 20);
	/* the other parity recovers a different key */
	sig[64] = 28;
	if (ethkey_recover(h, sig, pub) == 0) {
		ethkey_address_from_pubkey(pub, addr);
		assert_memory_not_equal(addr, exp_addr, 20);
	}
	sig[64] = 2;
	assert_int_equal(ethkey_recover(h, sig, pub), -EBADMSG);
	sig[64] = 0;
	memset(sig, 0, 32);	/* r = 0 */
	assert_int_equal(ethkey_recover(h, sig, pub), -EBADMSG);
}

static void
test_sign_is_low_s_and_roundtrips(void **state)
{
	/* half the group order: s must be at most this (EIP-2) */
	uint8_t half[32], sk[32], h[32], sig[65], pub[65], mine[65];
	int i;

	(void)state;
	unhex("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0", half, 32);
	for (i = 0; i < 64; i++) {
		memset(sk, 0x11 + i, 32);
		memset(h, i, 32);
		assert_int_equal(ethkey_sign(sk, h, sig), 0);
		assert_true(memcmp(sig + 32, half, 32) <= 0);
		assert_true(sig[64] <= 1);
		assert_int_equal(ethkey_recover(h, sig, pub), 0);
		assert_int_equal(ethkey_pubkey(sk, mine), 0);
		assert_memory_equal(pub, mine, 65);
	}
}

/* EIP-55 examples, https://eips.ethereum.org/EIPS/eip-55 */
static const char *const eip55[] = {
	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
	"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
	"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	"0x52908400098527886E0F7030069857D2E4169EE7",
	"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
	"0xde709f2102306220921060314715629080e2fb77",
	"0x27b1fdb04752bbc536007a920d24acb045561c26",
};

static void
test_eip55(void **state)
{
	uint8_t addr[20];
	char s[43], bad[43];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(eip55) / sizeof(eip55[0]); i++) {
		assert_int_equal(ethkey_address_parse(eip55[i], 42, addr), 0);
		ethkey_address_format(addr, s);
		assert_string_equal(s, eip55[i]);
	}
	/* all lower / all upper accepted without checksum */
	assert_int_equal(ethkey_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", 42, addr), 0);
	assert_int_equal(ethkey_address_parse("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", 42, addr), 0);
	/* one flipped case breaks the checksum */
	memcpy(bad, eip55[0], 43);
	bad[3] = 'A';
	assert_int_equal(ethkey_address_parse(bad, 42, addr), -EINVAL);
	/* lengths, prefix, characters */
	assert_int_equal(ethkey_address_parse(eip55[0], 41, addr), -EINVAL);
	assert_int_equal(ethkey_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae", 41, addr), -EINVAL);
	assert_int_equal(ethkey_address_parse("005aaeb6053f3e94c9b9a09f33669435e7ef1beaed", 42, addr), -EINVAL);
	assert_int_equal(ethkey_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", 42, addr), -EINVAL);
	assert_int_equal(ethkey_address_parse("0x0x5aeb6053f3e94c9b9a09f33669435e7ef1beae", 42, addr), -EINVAL);
}

static void
test_global_init_idempotent(void **state)
{
	uint8_t sk[32], a[20];

	(void)state;
	assert_int_equal(ethkey_global_init(), 0);
	assert_int_equal(ethkey_global_init(), 0);
	ethkey_global_free();
	ethkey_global_free();
	/* used without init: created on demand */
	memset(sk, 0x46, 32);
	assert_int_equal(ethkey_address(sk, a), 0);
	assert_int_equal(ethkey_global_init(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_global_init_idempotent),
		cmocka_unit_test(test_address_of_key),
		cmocka_unit_test(test_pubkey_generator),
		cmocka_unit_test(test_bad_secret_keys),
		cmocka_unit_test(test_sign_eip155_vector),
		cmocka_unit_test(test_sign_is_low_s_and_roundtrips),
		cmocka_unit_test(test_eip55),
	};
	int r;

	r = cmocka_run_group_tests(tests, NULL, NULL);
	ethkey_global_free();
	return r;
}
