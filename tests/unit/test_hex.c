#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hex.h"

static void
test_decode_exact(void **state)
{
	uint8_t out[4] = { 0xee, 0xee, 0xee, 0xee };

	(void)state;
	assert_int_equal(hex_decode_exact("0xDEADbeef", 10, out, 4), 0);
	assert_memory_equal(out, "\xde\xad\xbe\xef", 4);
	assert_int_equal(hex_decode_exact("0Xa9059CBB", 10, out, 4), 0);
	assert_memory_equal(out, "\xa9\x05\x9c\xbb", 4);
	assert_int_equal(hex_decode_exact("01020304", 8, out, 4), 0);
	assert_memory_equal(out, "\x01\x02\x03\x04", 4);
	/* failures leave out untouched */
	memset(out, 0xee, sizeof(out));
	assert_int_equal(hex_decode_exact("0x010203", 8, out, 4), -ERANGE);
	assert_int_equal(hex_decode_exact("0x0102030405", 12, out, 4), -ERANGE);
	assert_int_equal(hex_decode_exact("0x0102030", 9, out, 4), -EINVAL);
	assert_int_equal(hex_decode_exact("0x0102030g", 10, out, 4), -EINVAL);
	assert_int_equal(hex_decode_exact("0x 1020304", 10, out, 4), -EINVAL);
	assert_int_equal(hex_decode_exact("xx01020304", 10, out, 4), -EINVAL);
	assert_int_equal(hex_decode_exact("0x0102\0" "304", 10, out, 4), -EINVAL);
	assert_memory_equal(out, "\xee\xee\xee\xee", 4);
	/* the length bounds the read: the digits past slen are not looked at */
	assert_int_equal(hex_decode_exact("0x01020304zz", 10, out, 4), 0);
	/* zero bytes */
	assert_int_equal(hex_decode_exact("0x", 2, out, 0), 0);
	assert_int_equal(hex_decode_exact("", 0, out, 0), 0);
}

static void
test_decode_buf(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 3);
	assert_int_equal(hex_decode_buf("0x0102", 6, &b), 0);
	assert_int_equal(hex_decode_buf("ff", 2, &b), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "\x01\x02\xff", 3);
	assert_int_equal(hex_decode_buf("0x", 2, &b), 0);
	assert_int_equal(hex_decode_buf("00", 2, &b), -E2BIG);
	assert_int_equal(hex_decode_buf("0", 1, &b), -EINVAL);
	assert_int_equal(hex_decode_buf("0xq0", 4, &b), -EINVAL);
	assert_int_equal(b.len, 3);
	buf_release(&b);
}

static void
test_encode(void **state)
{
	const uint8_t in[] = { 0x00, 0xab, 0xCD, 0xff };
	char out[11];

	(void)state;
	assert_int_equal(hex_encode(in, 4, true, out, sizeof(out)), 10);
	assert_string_equal(out, "0x00abcdff");
	assert_int_equal(hex_encode(in, 4, false, out, sizeof(out)), 8);
	assert_string_equal(out, "00abcdff");
	memcpy(out, "untouched", 10);
	assert_int_equal(hex_encode(in, 4, true, out, 10), -ENOSPC);
	assert_string_equal(out, "untouched");
	assert_int_equal(hex_encode(in, 0, true, out, 3), 2);
	assert_string_equal(out, "0x");
	assert_int_equal(hex_encode(in, 0, false, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(hex_encode(in, 0, false, out, 0), -ENOSPC);
}

/* QUANTITY examples from the Ethereum JSON-RPC specification
 * (ethereum.org/en/developers/docs/apis/json-rpc/#hex-encoding):
 * 0x41 (65), 0x400 (1024), 0x0 (zero); wrong: 0x (no digits), 0x0400 (leading
 * zero), ff (no prefix). */
static void
test_quantity_u64(void **state)
{
	static const struct {
		const char *s;
		int r;
		uint64_t v;
	} vec[] = {
		{ "0x41", 0, 65 },
		{ "0x400", 0, 1024 },
		{ "0x0", 0, 0 },
		{ "0xffffffffffffffff", 0, UINT64_MAX },
		{ "0xFF", 0, 255 },
		{ "0x", -EINVAL, 0 },
		{ "0x0400", -EINVAL, 0 },
		{ "0x00", -EINVAL, 0 },
		{ "ff", -EINVAL, 0 },
		{ "0X41", -EINVAL, 0 },
		{ "0x4g", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "0x-1", -EINVAL, 0 },
		{ "0x10000000000000000", -ERANGE, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		uint64_t v = 12345;

		assert_int_equal(quantity_parse_u64(vec[i].s, strlen(vec[i].s), &v), vec[i].r);
		assert_int_equal(v, vec[i].r == 0 ? vec[i].v : 12345);
	}
}

static void
test_quantity_u256(void **state)
{
	const char *max = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
	uint8_t v[32], want[32];
	char out[QUANTITY_U256_STRLEN];

	(void)state;
	memset(want, 0, 32);
	want[30] = 0x04;
	assert_int_equal(quantity_parse_u256("0x400", 5, v), 0);
	assert_memory_equal(v, want, 32);
	assert_int_equal(quantity_format_u256(v, out, sizeof(out)), 5);
	assert_string_equal(out, "0x400");

	memset(want, 0xff, 32);
	assert_int_equal(quantity_parse_u256(max, strlen(max), v), 0);
	assert_memory_equal(v, want, 32);
	assert_int_equal(quantity_format_u256(v, out, sizeof(out)), 66);
	assert_string_equal(out, max);

	memset(want, 0, 32);
	assert_int_equal(quantity_parse_u256("0x0", 3, v), 0);
	assert_memory_equal(v, want, 32);
	assert_int_equal(quantity_format_u256(v, out, sizeof(out)), 3);
	assert_string_equal(out, "0x0");

	assert_int_equal(quantity_parse_u256("0x1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
					     67, v), -ERANGE);
	assert_int_equal(quantity_parse_u256("0x0400", 6, v), -EINVAL);
	assert_int_equal(quantity_parse_u256("0x", 2, v), -EINVAL);
	assert_int_equal(quantity_parse_u256("400", 3, v), -EINVAL);
}

static void
test_quantity_format_u64(void **state)
{
	char out[QUANTITY_U64_STRLEN];

	(void)state;
	assert_int_equal(quantity_format_u64(65, out, sizeof(out)), 4);
	assert_string_equal(out, "0x41");
	assert_int_equal(quantity_format_u64(1024, out, sizeof(out)), 5);
	assert_string_equal(out, "0x400");
	assert_int_equal(quantity_format_u64(0, out, sizeof(out)), 3);
	assert_string_equal(out, "0x0");
	assert_int_equal(quantity_format_u64(UINT64_MAX, out, sizeof(out)), 18);
	assert_string_equal(out, "0xffffffffffffffff");
	memcpy(out, "keep", 5);
	assert_int_equal(quantity_format_u64(1024, out, 5), -ENOSPC);
	assert_string_equal(out, "keep");
}

static void
test_num_parse(void **state)
{
	static const struct {
		const char *s;
		bool hex;
		uint64_t min, max;
		int r;
		uint64_t v;
	} vec[] = {
		{ "0", false, 0, UINT64_MAX, 0, 0 },
		{ "8545", false, 1, 65535, 0, 8545 },
		{ "007", false, 0, 10, 0, 7 },
		{ "18446744073709551615", false, 0, UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", false, 0, UINT64_MAX, -ERANGE, 0 },
		{ "99999999999999999999999", false, 0, UINT64_MAX, -ERANGE, 0 },
		{ "99999999999999999999999x", false, 0, UINT64_MAX, -EINVAL, 0 },
		{ "65536", false, 1, 65535, -ERANGE, 0 },
		{ "0", false, 1, 65535, -ERANGE, 0 },
		{ "", false, 0, 10, -EINVAL, 0 },
		{ "-1", false, 0, 10, -EINVAL, 0 },
		{ "+1", false, 0, 10, -EINVAL, 0 },
		{ " 1", false, 0, 10, -EINVAL, 0 },
		{ "1 ", false, 0, 10, -EINVAL, 0 },
		{ "0x10", false, 0, 100, -EINVAL, 0 },
		{ "0x10", true, 0, 100, 0, 16 },
		{ "0XfF", true, 0, 1000, 0, 255 },
		{ "10", true, 0, 100, 0, 10 },
		{ "0x", true, 0, 100, -EINVAL, 0 },
		{ "0xffffffffffffffff", true, 0, UINT64_MAX, 0, UINT64_MAX },
		{ "0x10000000000000000", true, 0, UINT64_MAX, -ERANGE, 0 },
		{ "0xg", true, 0, 100, -EINVAL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		uint64_t v = 4242;

		assert_int_equal(num_parse_u64(vec[i].s, vec[i].hex, vec[i].min, vec[i].max, &v),
				 vec[i].r);
		assert_int_equal(v, vec[i].r == 0 ? vec[i].v : 4242);
	}
}

/* Round trip through encode and decode for every byte value. */
static void
test_round_trip(void **state)
{
	uint8_t in[256], back[256];
	char text[2 + 512 + 1];
	size_t i;

	(void)state;
	for (i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	assert_int_equal(hex_encode(in, 256, true, text, sizeof(text)), 514);
	assert_int_equal(hex_decode_exact(text, 514, back, 256), 0);
	assert_memory_equal(in, back, 256);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_exact),
		cmocka_unit_test(test_decode_buf),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_quantity_u64),
		cmocka_unit_test(test_quantity_u256),
		cmocka_unit_test(test_quantity_format_u64),
		cmocka_unit_test(test_num_parse),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
