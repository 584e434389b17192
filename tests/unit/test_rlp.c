#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hex.h"
#include "rlp.h"

#define CAP	4096

/* Compare b's content with the hex string want. */
static void
check_hex(const struct buf *b, const char *want)
{
	struct buf w;

	buf_init(&w, CAP);
	assert_int_equal(hex_decode_buf(want, strlen(want), &w), 0);
	assert_int_equal(b->len, w.len);
	if (w.len)
		assert_memory_equal(b->data, w.data, w.len);
	buf_release(&w);
}

/*
 * Examples from the RLP page of the Ethereum documentation
 * (ethereum.org/en/developers/docs/data-structures-and-encoding/rlp/#examples).
 */
static void
test_spec_strings_and_ints(void **state)
{
	static const char lorem[] = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
	struct buf b;

	(void)state;
	buf_init(&b, CAP);
	assert_int_equal(rlp_put_bytes(&b, (const uint8_t *)"dog", 3), 0);
	check_hex(&b, "83646f67");
	buf_reset(&b);
	assert_int_equal(rlp_put_bytes(&b, NULL, 0), 0);
	check_hex(&b, "80");
	buf_reset(&b);
	assert_int_equal(rlp_put_uint(&b, 0), 0);
	check_hex(&b, "80");
	buf_reset(&b);
	assert_int_equal(rlp_put_bytes(&b, (const uint8_t *)"\x00", 1), 0);
	check_hex(&b, "00");
	buf_reset(&b);
	assert_int_equal(rlp_put_bytes(&b, (const uint8_t *)"\x0f", 1), 0);
	check_hex(&b, "0f");
	buf_reset(&b);
	assert_int_equal(rlp_put_uint(&b, 15), 0);
	check_hex(&b, "0f");
	buf_reset(&b);
	assert_int_equal(rlp_put_uint(&b, 1024), 0);
	check_hex(&b, "820400");
	buf_reset(&b);
	assert_int_equal(rlp_put_bytes(&b, (const uint8_t *)"\x04\x00", 2), 0);
	check_hex(&b, "820400");
	buf_reset(&b);
	assert_int_equal(strlen(lorem), 56);
	assert_int_equal(rlp_put_bytes(&b, (const uint8_t *)lorem, 56), 0);
	assert_int_equal(b.len, 58);
	assert_memory_equal(b.data, "\xb8\x38", 2);
	assert_memory_equal(b.data + 2, lorem, 56);
	buf_release(&b);
}

static void
test_spec_lists(void **state)
{
	struct buf b, items, l1, l2;

	(void)state;
	buf_init(&b, CAP);
	buf_init(&items, CAP);
	/* [ "cat", "dog" ] */
	assert_int_equal(rlp_put_bytes(&items, (const uint8_t *)"cat", 3), 0);
	assert_int_equal(rlp_put_bytes(&items, (const uint8_t *)"dog", 3), 0);
	assert_int_equal(rlp_put_list(&b, items.data, items.len), 0);
	check_hex(&b, "c88363617483646f67");
	buf_reset(&b);
	/* [] */
	assert_int_equal(rlp_put_list(&b, NULL, 0), 0);
	check_hex(&b, "c0");
	buf_reset(&b);

	/* the set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ] */
	buf_init(&l1, CAP);
	buf_init(&l2, CAP);
	assert_int_equal(rlp_put_list(&l1, NULL, 0), 0);		/* [] */
	assert_int_equal(rlp_put_list(&l2, l1.data, l1.len), 0);	/* [[]] */
	buf_reset(&items);
	assert_int_equal(buf_append(&items, l1.data, l1.len), 0);
	assert_int_equal(buf_append(&items, l2.data, l2.len), 0);	/* [], [[]] */
	buf_reset(&b);
	assert_int_equal(rlp_put_list(&b, items.data, items.len), 0);	/* [ [], [[]] ] */
	assert_int_equal(buf_append(&items, b.data, b.len), 0);
	buf_reset(&b);
	assert_int_equal(rlp_put_list(&b, items.data, items.len), 0);
	check_hex(&b, "c7c0c1c0c3c0c1c0");
	buf_release(&l1);
	buf_release(&l2);
	buf_release(&items);
	buf_release(&b);
}

static void
test_uint256_and_long_list(void **state)
{
	uint8_t v[32] = { 0 }, back[32];
	uint8_t payload[300];
	struct rlp_item it;
	struct buf b;

	(void)state;
	buf_init(&b, CAP);
	assert_int_equal(rlp_put_uint256(&b, v), 0);
	check_hex(&b, "80");
	buf_reset(&b);
	v[30] = 0x04;
	assert_int_equal(rlp_put_uint256(&b, v), 0);
	check_hex(&b, "820400");
	assert_int_equal(rlp_decode_one(b.data, b.len, &it), 0);
	assert_int_equal(rlp_item_uint256(&it, back), 0);
	assert_memory_equal(back, v, 32);
	buf_reset(&b);
	memset(v, 0xff, 32);
	assert_int_equal(rlp_put_uint256(&b, v), 0);
	assert_int_equal(b.len, 33);
	assert_int_equal(b.data[0], 0xa0);
	buf_reset(&b);
	/* a list with a 300-byte payload takes a two-byte length: f9 01 2c */
	memset(payload, 0x01, sizeof(payload));
	assert_int_equal(rlp_put_list(&b, payload, sizeof(payload)), 0);
	assert_int_equal(b.len, 303);
	assert_memory_equal(b.data, "\xf9\x01\x2c", 3);
	assert_int_equal(rlp_decode_one(b.data, b.len, &it), 0);
	assert_true(it.list);
	assert_int_equal(it.n, 300);
	assert_ptr_equal(it.p, b.data + 3);
	buf_release(&b);
}

static void
test_cap_is_an_error(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 3);
	assert_int_equal(rlp_put_bytes(&b, (const uint8_t *)"dog", 3), -E2BIG);
	assert_int_equal(b.len, 0);
	assert_int_equal(rlp_put_uint(&b, 1024), 0);
	assert_int_equal(rlp_put_uint(&b, 1), -E2BIG);
	assert_int_equal(b.len, 3);
	buf_release(&b);
}

/* Decode ["cat", ["dog", 1024], ""] and walk it. */
static void
test_decode_walk(void **state)
{
	uint8_t in[32];
	struct rlp_cursor c, sub;
	struct rlp_item top, it;
	uint64_t v;

	(void)state;
	assert_int_equal(hex_decode_exact("cd83636174c783646f6782040080", 28, in, 14), 0);
	assert_int_equal(rlp_decode_one(in, 14, &top), 0);
	assert_true(top.list);
	rlp_cursor_init(&c, top.p, top.n);
	assert_int_equal(rlp_next(&c, &it), 1);
	assert_false(it.list);
	assert_int_equal(it.n, 3);
	assert_memory_equal(it.p, "cat", 3);
	assert_int_equal(rlp_next(&c, &it), 1);
	assert_true(it.list);
	rlp_cursor_init(&sub, it.p, it.n);
	assert_int_equal(rlp_next(&sub, &it), 1);
	assert_memory_equal(it.p, "dog", 3);
	assert_int_equal(rlp_next(&sub, &it), 1);
	assert_int_equal(rlp_item_uint64(&it, &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(rlp_next(&sub, &it), 0);
	assert_int_equal(rlp_next(&c, &it), 1);
	assert_int_equal(it.n, 0);
	assert_int_equal(rlp_item_uint64(&it, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(rlp_next(&c, &it), 0);
}

/* Truncated and non-canonical encodings are -EBADMSG; nothing is read past the end. */
static void
test_decode_rejects(void **state)
{
	static const char *bad[] = {
		"",			/* nothing */
		"83646f",		/* string cut short */
		"8100",			/* single byte < 0x80 wrapped */
		"817f",
		"b80100",		/* long form for a 1-byte string */
		"b837" "00",		/* long form for 55 bytes, and truncated */
		"b90000",		/* length with a leading zero */
		"b9",			/* length bytes missing */
		"bf",			/* 8 length bytes missing */
		"bfffffffffffffffff",	/* 2^64-1 bytes */
		"c883636174",		/* list payload cut short */
		"f80100",		/* long list form for 1 byte */
		"ffffffffffffffffff00",	/* huge list */
		"8080",			/* trailing bytes */
	};
	uint8_t in[64];
	struct rlp_item it = { .list = true, .p = NULL, .n = 77 };
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *copy;

		n = strlen(bad[i]) / 2;
		assert_int_equal(hex_decode_exact(bad[i], 2 * n, in, n), 0);
		/* an exact-size heap copy so that ASan catches reads past the end */
		copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, in, n);
		assert_int_equal(rlp_decode_one(copy, n, &it), -EBADMSG);
		free(copy);
	}
	assert_true(it.list);
	assert_int_equal(it.n, 77);
}

static void
test_item_int_rejects(void **state)
{
	uint8_t v[40], out[32];
	struct rlp_item it = { .list = false, .p = v, .n = 2 };
	uint64_t x = 9;

	(void)state;
	memset(v, 0x01, sizeof(v));
	v[0] = 0;
	assert_int_equal(rlp_item_uint64(&it, &x), -EBADMSG);	/* leading zero */
	v[0] = 1;
	it.n = 9;
	assert_int_equal(rlp_item_uint64(&it, &x), -ERANGE);
	it.n = 33;
	assert_int_equal(rlp_item_uint256(&it, out), -ERANGE);
	it.n = 1;
	it.list = true;
	assert_int_equal(rlp_item_uint64(&it, &x), -EBADMSG);
	assert_int_equal(x, 9);
	it.list = false;
	it.n = 8;
	memset(v, 0xff, 8);
	assert_int_equal(rlp_item_uint64(&it, &x), 0);
	assert_true(x == UINT64_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_strings_and_ints),
		cmocka_unit_test(test_spec_lists),
		cmocka_unit_test(test_uint256_and_long_list),
		cmocka_unit_test(test_cap_is_an_error),
		cmocka_unit_test(test_decode_walk),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_item_int_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
