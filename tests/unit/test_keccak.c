#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hex.h"
#include "keccak.h"

/*
 * Known answers.  "" and "abc" are the widely published Keccak-256 values
 * (e.g. the Ethereum yellow paper's empty-string hash KEC("") used for empty
 * code), both also confirmed with cast below.  The patterned inputs of 135, 136, 137 and 272 bytes (around and at
 * the 136-byte rate) and 1000 x 'a' were hashed with Foundry's
 * `cast keccak 0x<hex>` (cast 1.7, an independent implementation) and the
 * results recorded here.
 */
static const struct {
	size_t len;	/* pattern: byte i = i * 7 + 3 */
	const char *digest;
} pattern_vec[] = {
	{ 135, "00ef96af9cf4b24c7f269d922294444a197d0a33638c2e56634c57e892103a8f" },
	{ 136, "742061bcad767ed4c4f5883b1dcb1aad11afdcc140dc469d953759b127b9f9ed" },
	{ 137, "e3371f61e770abf254c34239c3b0099ad90594507415bc81dd0a10b9692bbf2a" },
	{ 272, "ac141fd7b0a0ffcd2e967254d508da3ec616596493c36fa304425647d90e6de5" },
};

static void
check_digest(const uint8_t got[32], const char *want_hex)
{
	uint8_t want[32];

	assert_int_equal(hex_decode_exact(want_hex, strlen(want_hex), want, 32), 0);
	assert_memory_equal(got, want, 32);
}

static void
fill_pattern(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 3);
}

static void
test_short_known_answers(void **state)
{
	uint8_t d[32];

	(void)state;
	keccak256("", 0, d);
	check_digest(d, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	keccak256(NULL, 0, d);
	check_digest(d, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	keccak256("abc", 3, d);
	check_digest(d, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
	/* selector / topic hashes (cast keccak; also the ABI spec's examples) */
	keccak256("transfer(address,uint256)", 25, d);
	check_digest(d, "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b");
	keccak256("Transfer(address,address,uint256)", 33, d);
	check_digest(d, "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
}

static void
test_block_boundaries(void **state)
{
	uint8_t in[272], d[32];
	size_t i;

	(void)state;
	fill_pattern(in, sizeof(in));
	for (i = 0; i < sizeof(pattern_vec) / sizeof(pattern_vec[0]); i++) {
		keccak256(in, pattern_vec[i].len, d);
		check_digest(d, pattern_vec[i].digest);
	}
}

static void
test_thousand_a(void **state)
{
	uint8_t in[1000], d[32];

	(void)state;
	memset(in, 'a', sizeof(in));
	keccak256(in, sizeof(in), d);
	check_digest(d, "b6a4ac1f51884d71f30fa397a5e155de3099e11fc0edef5d08b646e621e19de9");
}

/* Every split of the 272-byte input into updates gives the one-shot digest. */
static void
test_multi_update(void **state)
{
	uint8_t in[272], one[32], d[32];
	struct keccak256 k;
	size_t a, b;

	(void)state;
	fill_pattern(in, sizeof(in));
	keccak256(in, sizeof(in), one);
	check_digest(one, pattern_vec[3].digest);
	for (a = 0; a <= sizeof(in); a += 17) {
		for (b = a; b <= sizeof(in); b += 29) {
			keccak256_init(&k);
			keccak256_update(&k, in, a);
			keccak256_update(&k, in + a, 0);
			keccak256_update(&k, in + a, b - a);
			keccak256_update(&k, in + b, sizeof(in) - b);
			keccak256_final(&k, d);
			assert_memory_equal(d, one, 32);
		}
	}
	/* byte at a time */
	keccak256_init(&k);
	for (a = 0; a < sizeof(in); a++)
		keccak256_update(&k, in + a, 1);
	keccak256_final(&k, d);
	assert_memory_equal(d, one, 32);
}

static void
test_final_wipes_state(void **state)
{
	static const struct keccak256 zero;
	struct keccak256 k;
	uint8_t d[32];

	(void)state;
	keccak256_init(&k);
	keccak256_update(&k, "secret", 6);
	keccak256_final(&k, d);
	assert_memory_equal(&k, &zero, sizeof(k));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_known_answers),
		cmocka_unit_test(test_block_boundaries),
		cmocka_unit_test(test_thousand_a),
		cmocka_unit_test(test_multi_update),
		cmocka_unit_test(test_final_wipes_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
