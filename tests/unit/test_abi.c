#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "abi.h"
#include "hex.h"

#define CAP	65536

/*
 * Calldata of the five examples in the "Examples" section of the Solidity ABI
 * specification (docs.soliditylang.org/en/latest/abi-spec.html#examples),
 * each checked against Foundry's `cast calldata` (cast 1.7).
 */
static const char spec_baz[] =	/* baz(uint32,bool) with (69, true) */
	"cdcd77c0"
	"0000000000000000000000000000000000000000000000000000000000000045"
	"0000000000000000000000000000000000000000000000000000000000000001";
static const char spec_bar[] =	/* bar(bytes3[2]) with ["abc", "def"] */
	"fce353f6"
	"6162630000000000000000000000000000000000000000000000000000000000"
	"6465660000000000000000000000000000000000000000000000000000000000";
static const char spec_sam[] =	/* sam(bytes,bool,uint256[]) with ("dave", true, [1,2,3]) */
	"a5643bf2"
	"0000000000000000000000000000000000000000000000000000000000000060"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"00000000000000000000000000000000000000000000000000000000000000a0"
	"0000000000000000000000000000000000000000000000000000000000000004"
	"6461766500000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000003"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"0000000000000000000000000000000000000000000000000000000000000003";
/* f(uint256,uint32[],bytes10,bytes) with (0x123, [0x456, 0x789], "1234567890", "Hello, world!") */
static const char spec_f[] =
	"8be65246"
	"0000000000000000000000000000000000000000000000000000000000000123"
	"0000000000000000000000000000000000000000000000000000000000000080"
	"3132333435363738393000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000e0"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"0000000000000000000000000000000000000000000000000000000000000456"
	"0000000000000000000000000000000000000000000000000000000000000789"
	"000000000000000000000000000000000000000000000000000000000000000d"
	"48656c6c6f2c20776f726c642100000000000000000000000000000000000000";
/* g(uint256[][],string[]) with ([[1, 2], [3]], ["one", "two", "three"]) */
static const char spec_g[] =
	"2289b18c"
	"0000000000000000000000000000000000000000000000000000000000000040"
	"0000000000000000000000000000000000000000000000000000000000000140"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"0000000000000000000000000000000000000000000000000000000000000040"
	"00000000000000000000000000000000000000000000000000000000000000a0"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"0000000000000000000000000000000000000000000000000000000000000003"
	"0000000000000000000000000000000000000000000000000000000000000003"
	"0000000000000000000000000000000000000000000000000000000000000060"
	"00000000000000000000000000000000000000000000000000000000000000a0"
	"00000000000000000000000000000000000000000000000000000000000000e0"
	"0000000000000000000000000000000000000000000000000000000000000003"
	"6f6e650000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000003"
	"74776f0000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000005"
	"7468726565000000000000000000000000000000000000000000000000000000";

/*
 * The shape of the registry getter's return, ((string,address,uint256)[],
 * uint256) with ([("node-a.example:443", 0x11..11, 5), ("bb", 0x22..22, 7)], 9),
 * from `cast abi-encode` (cast 1.7).
 */
static const char peers_ret[] =
	"0000000000000000000000000000000000000000000000000000000000000040"
	"0000000000000000000000000000000000000000000000000000000000000009"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"0000000000000000000000000000000000000000000000000000000000000040"
	"00000000000000000000000000000000000000000000000000000000000000e0"
	"0000000000000000000000000000000000000000000000000000000000000060"
	"0000000000000000000000001111111111111111111111111111111111111111"
	"0000000000000000000000000000000000000000000000000000000000000005"
	"0000000000000000000000000000000000000000000000000000000000000012"
	"6e6f64652d612e6578616d706c653a3434330000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000060"
	"0000000000000000000000002222222222222222222222222222222222222222"
	"0000000000000000000000000000000000000000000000000000000000000007"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"6262000000000000000000000000000000000000000000000000000000000000";

/*
 * (int256,(uint256,bool),string[2],bytes2) with (-5, (7, true), ["x", "yz"],
 * 0xabcd): a static tuple inline, a fixed array of a dynamic type behind an
 * offset, from `cast abi-encode` (cast 1.7).
 */
static const char mixed[] =
	"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffb"
	"0000000000000000000000000000000000000000000000000000000000000007"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"00000000000000000000000000000000000000000000000000000000000000a0"
	"abcd000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000040"
	"0000000000000000000000000000000000000000000000000000000000000080"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"7800000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"797a000000000000000000000000000000000000000000000000000000000000";

/* Decode a hex vector into a heap block of exactly its size (ASan sees overreads). */
static uint8_t *
unhex(const char *h, size_t *ret_n)
{
	size_t n = strlen(h) / 2;
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	assert_int_equal(hex_decode_exact(h, 2 * n, p, n), 0);
	*ret_n = n;
	return p;
}

/* Finish e (with selector sel, may be NULL) and compare against hex vector want. */
static void
finish_and_check(struct abi_enc *e, const uint8_t *sel, const char *want)
{
	struct buf out;
	uint8_t *w;
	size_t n;

	buf_init(&out, CAP);
	assert_int_equal(abi_enc_finish(e, sel, &out), 0);
	w = unhex(want, &n);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, w, n);
	free(w);
	buf_release(&out);
	abi_enc_release(e);
}

static void
test_selectors_and_topics(void **state)
{
	uint8_t sel[4], topic[32], want[32];
	const char *t = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

	(void)state;
	abi_selector("transfer(address,uint256)", sel);
	assert_memory_equal(sel, "\xa9\x05\x9c\xbb", 4);
	abi_selector("baz(uint32,bool)", sel);
	assert_memory_equal(sel, "\xcd\xcd\x77\xc0", 4);
	abi_selector("g(uint256[][],string[])", sel);
	assert_memory_equal(sel, "\x22\x89\xb1\x8c", 4);
	abi_selector("Error(string)", sel);
	assert_memory_equal(sel, "\x08\xc3\x79\xa0", 4);
	abi_selector("Panic(uint256)", sel);
	assert_memory_equal(sel, "\x4e\x48\x7b\x71", 4);
	abi_topic("Transfer(address,address,uint256)", topic);
	assert_int_equal(hex_decode_exact(t, 64, want, 32), 0);
	assert_memory_equal(topic, want, 32);
}

static void
test_spec_baz_bar(void **state)
{
	struct abi_enc e;
	struct abi_dec d;
	uint8_t sel[4], b3[3], *in;
	uint64_t v;
	bool flag;
	size_t n;

	(void)state;
	abi_selector("baz(uint32,bool)", sel);
	abi_enc_init(&e, CAP);
	abi_enc_uint64(&e, 69);
	abi_enc_bool(&e, true);
	finish_and_check(&e, sel, spec_baz);

	in = unhex(spec_baz, &n);
	abi_dec_init(&d, in + 4, n - 4);
	assert_int_equal(abi_dec_uint64(&d, &v), 0);
	assert_int_equal(v, 69);
	assert_int_equal(abi_dec_bool(&d, &flag), 0);
	assert_true(flag);
	assert_int_equal(abi_dec_remaining(&d), 0);
	assert_int_equal(abi_dec_bool(&d, &flag), -EBADMSG);
	free(in);

	abi_selector("bar(bytes3[2])", sel);
	abi_enc_init(&e, CAP);
	abi_enc_fixed_array_begin(&e);
	abi_enc_bytesN(&e, (const uint8_t *)"abc", 3);
	abi_enc_bytesN(&e, (const uint8_t *)"def", 3);
	abi_enc_end(&e);
	finish_and_check(&e, sel, spec_bar);

	in = unhex(spec_bar, &n);
	abi_dec_init(&d, in + 4, n - 4);
	assert_int_equal(abi_dec_bytesN(&d, 3, b3), 0);	/* a static T[k] is inline */
	assert_memory_equal(b3, "abc", 3);
	assert_int_equal(abi_dec_bytesN(&d, 3, b3), 0);
	assert_memory_equal(b3, "def", 3);
	assert_int_equal(abi_dec_remaining(&d), 0);
	/* "abc" + zeros is not a bytes2 */
	abi_dec_init(&d, in + 4, n - 4);
	assert_int_equal(abi_dec_bytesN(&d, 2, b3), -EBADMSG);
	assert_int_equal(abi_dec_bytesN(&d, 0, b3), -EINVAL);
	assert_int_equal(abi_dec_bytesN(&d, 33, b3), -EINVAL);
	free(in);
}

static void
test_spec_sam(void **state)
{
	struct abi_enc e;
	struct abi_dec d, arr;
	uint8_t sel[4], *in;
	const uint8_t *p;
	size_t n, count, i;
	uint64_t v;
	bool flag;

	(void)state;
	abi_selector("sam(bytes,bool,uint256[])", sel);
	abi_enc_init(&e, CAP);
	abi_enc_bytes(&e, (const uint8_t *)"dave", 4);
	abi_enc_bool(&e, true);
	abi_enc_array_begin(&e);
	for (i = 1; i <= 3; i++)
		abi_enc_uint64(&e, i);
	abi_enc_end(&e);
	finish_and_check(&e, sel, spec_sam);

	in = unhex(spec_sam, &n);
	assert_memory_equal(in, sel, 4);
	abi_dec_init(&d, in + 4, n - 4);
	assert_int_equal(abi_dec_bytes(&d, 3, &p, &n), -E2BIG);
	assert_int_equal(abi_dec_bytes(&d, 100, &p, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(p, "dave", 4);
	assert_int_equal(abi_dec_bool(&d, &flag), 0);
	assert_true(flag);
	assert_int_equal(abi_dec_enter_array(&d, 2, &arr, &count), -E2BIG);
	assert_int_equal(abi_dec_enter_array(&d, 10, &arr, &count), 0);
	assert_int_equal(count, 3);
	for (i = 1; i <= 3; i++) {
		assert_int_equal(abi_dec_uint64(&arr, &v), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(abi_dec_remaining(&d), 32 * 6);
	free(in);
}

static void
test_spec_f(void **state)
{
	struct abi_enc e;
	struct abi_dec d, arr;
	uint8_t sel[4], u[32] = { 0 }, b10[10], *in;
	const char *s;
	size_t n, count;
	uint64_t v;

	(void)state;
	abi_selector("f(uint256,uint32[],bytes10,bytes)", sel);
	u[30] = 0x01;
	u[31] = 0x23;
	abi_enc_init(&e, CAP);
	abi_enc_u256(&e, u);
	abi_enc_array_begin(&e);
	abi_enc_uint64(&e, 0x456);
	abi_enc_uint64(&e, 0x789);
	abi_enc_end(&e);
	abi_enc_bytesN(&e, (const uint8_t *)"1234567890", 10);
	abi_enc_string(&e, "Hello, world!", 13);
	finish_and_check(&e, sel, spec_f);

	in = unhex(spec_f, &n);
	abi_dec_init(&d, in + 4, n - 4);
	assert_int_equal(abi_dec_uint64(&d, &v), 0);
	assert_int_equal(v, 0x123);
	assert_int_equal(abi_dec_enter_array(&d, 16, &arr, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(abi_dec_uint64(&arr, &v), 0);
	assert_int_equal(v, 0x456);
	assert_int_equal(abi_dec_uint64(&arr, &v), 0);
	assert_int_equal(v, 0x789);
	assert_int_equal(abi_dec_bytesN(&d, 10, b10), 0);
	assert_memory_equal(b10, "1234567890", 10);
	assert_int_equal(abi_dec_string(&d, 64, &s, &n), 0);
	assert_int_equal(n, 13);
	assert_memory_equal(s, "Hello, world!", 13);
	free(in);
}

static void
test_spec_g(void **state)
{
	static const char *words[] = { "one", "two", "three" };
	struct abi_enc e;
	struct abi_dec d, outer, inner, strs;
	uint8_t sel[4], *in;
	char word[8];
	size_t n, count, i;
	uint64_t v;

	(void)state;
	abi_selector("g(uint256[][],string[])", sel);
	abi_enc_init(&e, CAP);
	abi_enc_array_begin(&e);
	abi_enc_array_begin(&e);
	abi_enc_uint64(&e, 1);
	abi_enc_uint64(&e, 2);
	abi_enc_end(&e);
	abi_enc_array_begin(&e);
	abi_enc_uint64(&e, 3);
	abi_enc_end(&e);
	abi_enc_end(&e);
	abi_enc_array_begin(&e);
	for (i = 0; i < 3; i++)
		abi_enc_string(&e, words[i], strlen(words[i]));
	abi_enc_end(&e);
	finish_and_check(&e, sel, spec_g);

	in = unhex(spec_g, &n);
	abi_dec_init(&d, in + 4, n - 4);
	assert_int_equal(abi_dec_enter_array(&d, 8, &outer, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(abi_dec_enter_array(&outer, 8, &inner, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(abi_dec_uint64(&inner, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(abi_dec_uint64(&inner, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(abi_dec_enter_array(&outer, 8, &inner, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(abi_dec_uint64(&inner, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(abi_dec_enter_array(&d, 8, &strs, &count), 0);
	assert_int_equal(count, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(abi_dec_string_copy(&strs, word, sizeof(word)),
				 (int)strlen(words[i]));
		assert_string_equal(word, words[i]);
	}
	free(in);
}

/* The registry getter's shape: a dynamic array of dynamic structs, then a uint256. */
static void
test_struct_array(void **state)
{
	static const struct {
		const char *endpoint;
		uint8_t fill;
		uint64_t ts;
	} rec[] = { { "node-a.example:443", 0x11, 5 }, { "bb", 0x22, 7 } };
	struct abi_enc e;
	struct abi_dec d, arr, t;
	uint8_t addr[20], *in;
	char ep[64];
	size_t n, count, i;
	uint64_t v;

	(void)state;
	abi_enc_init(&e, CAP);
	abi_enc_array_begin(&e);
	for (i = 0; i < 2; i++) {
		memset(addr, rec[i].fill, 20);
		abi_enc_tuple_begin(&e);
		abi_enc_string(&e, rec[i].endpoint, strlen(rec[i].endpoint));
		abi_enc_address(&e, addr);
		abi_enc_uint64(&e, rec[i].ts);
		abi_enc_end(&e);
	}
	abi_enc_end(&e);
	abi_enc_uint64(&e, 9);
	finish_and_check(&e, NULL, peers_ret);

	in = unhex(peers_ret, &n);
	abi_dec_init(&d, in, n);
	assert_int_equal(abi_dec_enter_array(&d, 16, &arr, &count), 0);
	assert_int_equal(count, 2);
	for (i = 0; i < count; i++) {
		uint8_t want[20];

		memset(want, rec[i].fill, 20);
		assert_int_equal(abi_dec_enter_tuple(&arr, &t), 0);
		assert_int_equal(abi_dec_string_copy(&t, ep, sizeof(ep)), (int)strlen(rec[i].endpoint));
		assert_string_equal(ep, rec[i].endpoint);
		assert_int_equal(abi_dec_address(&t, addr), 0);
		assert_memory_equal(addr, want, 20);
		assert_int_equal(abi_dec_uint64(&t, &v), 0);
		assert_int_equal(v, rec[i].ts);
	}
	assert_int_equal(abi_dec_uint64(&d, &v), 0);
	assert_int_equal(v, 9);
	/* a string that does not fit the copy buffer: -ENOSPC, cursor unmoved */
	abi_dec_init(&d, in, n);
	assert_int_equal(abi_dec_enter_array(&d, 16, &arr, &count), 0);
	assert_int_equal(abi_dec_enter_tuple(&arr, &t), 0);
	assert_int_equal(abi_dec_string_copy(&t, ep, 18), -ENOSPC);
	assert_int_equal(abi_dec_string_copy(&t, ep, 19), 18);
	free(in);
}

static void
test_mixed_static_tuple_and_fixed_array(void **state)
{
	struct abi_enc e;
	struct abi_dec d, fa;
	uint8_t *in, b2[2];
	const char *s;
	size_t n;
	int64_t iv;
	uint64_t v;
	bool flag;

	(void)state;
	abi_enc_init(&e, CAP);
	abi_enc_int64(&e, -5);
	abi_enc_tuple_begin(&e);
	abi_enc_uint64(&e, 7);
	abi_enc_bool(&e, true);
	abi_enc_end(&e);
	abi_enc_fixed_array_begin(&e);
	abi_enc_string(&e, "x", 1);
	abi_enc_string(&e, "yz", 2);
	abi_enc_end(&e);
	abi_enc_bytesN(&e, (const uint8_t *)"\xab\xcd", 2);
	finish_and_check(&e, NULL, mixed);

	in = unhex(mixed, &n);
	abi_dec_init(&d, in, n);
	assert_int_equal(abi_dec_uint64(&d, &v), -ERANGE);	/* -5 is no uint64 */
	assert_int_equal(abi_dec_int64(&d, &iv), 0);
	assert_int_equal(iv, -5);
	assert_int_equal(abi_dec_uint64(&d, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(abi_dec_bool(&d, &flag), 0);
	assert_true(flag);
	assert_int_equal(abi_dec_enter_tuple(&d, &fa), 0);
	assert_int_equal(abi_dec_string(&fa, 8, &s, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(s, "x", 1);
	assert_int_equal(abi_dec_string(&fa, 8, &s, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(s, "yz", 2);
	assert_int_equal(abi_dec_bytesN(&d, 2, b2), 0);
	assert_memory_equal(b2, "\xab\xcd", 2);
	free(in);
}

static void
test_empty_array_and_int64_edges(void **state)
{
	struct abi_enc e;
	struct abi_dec d, arr;
	struct buf out;
	size_t count = 99;
	int64_t iv;

	(void)state;
	abi_enc_init(&e, CAP);
	abi_enc_array_begin(&e);
	abi_enc_end(&e);
	finish_and_check(&e, NULL,	/* cast abi-encode "f(uint256[])" "[]" */
			 "0000000000000000000000000000000000000000000000000000000000000020"
			 "0000000000000000000000000000000000000000000000000000000000000000");

	buf_init(&out, CAP);
	abi_enc_init(&e, CAP);
	abi_enc_int64(&e, INT64_MIN);
	abi_enc_int64(&e, INT64_MAX);
	abi_enc_int64(&e, -1);
	assert_int_equal(abi_enc_finish(&e, NULL, &out), 0);
	abi_enc_release(&e);
	abi_dec_init(&d, out.data, out.len);
	assert_int_equal(abi_dec_int64(&d, &iv), 0);
	assert_true(iv == INT64_MIN);
	assert_int_equal(abi_dec_int64(&d, &iv), 0);
	assert_true(iv == INT64_MAX);
	assert_int_equal(abi_dec_int64(&d, &iv), 0);
	assert_int_equal(iv, -1);
	/* 2^63 as int256 does not fit int64 */
	out.data[24] = 0x80;
	memset(out.data, 0, 24);
	abi_dec_init(&d, out.data, out.len);
	assert_int_equal(abi_dec_int64(&d, &iv), -ERANGE);
	buf_release(&out);

	{
		uint8_t empty[64] = { 0 };

		empty[31] = 0x20;
		abi_dec_init(&d, empty, sizeof(empty));
		assert_int_equal(abi_dec_enter_array(&d, 0, &arr, &count), 0);
		assert_int_equal(count, 0);
	}
}

static void
test_encoder_errors(void **state)
{
	uint8_t big[100] = { 0 };
	struct abi_enc e;
	struct buf out;
	int i;

	(void)state;
	buf_init(&out, CAP);
	/* the cap: 3 slots do not fit in 64 bytes, and the error sticks */
	abi_enc_init(&e, 64);
	assert_int_equal(abi_enc_uint64(&e, 1), 0);
	assert_int_equal(abi_enc_uint64(&e, 2), 0);
	assert_int_equal(abi_enc_uint64(&e, 3), -E2BIG);
	assert_int_equal(abi_enc_bool(&e, true), -E2BIG);
	assert_int_equal(abi_enc_finish(&e, NULL, &out), -E2BIG);
	abi_enc_release(&e);
	/* head and tail each under the cap, together over it */
	abi_enc_init(&e, 128);
	assert_int_equal(abi_enc_bytes(&e, big, 65), 0);
	assert_int_equal(abi_enc_finish(&e, NULL, &out), -E2BIG);
	abi_enc_release(&e);
	/* bad bytesN */
	abi_enc_init(&e, CAP);
	assert_int_equal(abi_enc_bytesN(&e, big, 33), -EINVAL);
	assert_int_equal(abi_enc_finish(&e, NULL, &out), -EINVAL);
	abi_enc_release(&e);
	/* end without begin; finish with a frame open */
	abi_enc_init(&e, CAP);
	assert_int_equal(abi_enc_end(&e), -EINVAL);
	abi_enc_release(&e);
	abi_enc_init(&e, CAP);
	assert_int_equal(abi_enc_tuple_begin(&e), 0);
	assert_int_equal(abi_enc_finish(&e, NULL, &out), -EINVAL);
	abi_enc_release(&e);
	/* depth */
	abi_enc_init(&e, CAP);
	for (i = 1; i < ABI_DEPTH_MAX; i++)
		assert_int_equal(abi_enc_array_begin(&e), 0);
	assert_int_equal(abi_enc_array_begin(&e), -E2BIG);
	abi_enc_release(&e);
	/* out's cap: out unchanged */
	abi_enc_init(&e, CAP);
	abi_enc_uint64(&e, 1);
	{
		struct buf small;

		buf_init(&small, 35);
		assert_int_equal(abi_enc_finish(&e, (const uint8_t *)"abcd", &small), -E2BIG);
		assert_int_equal(small.len, 0);
		buf_release(&small);
	}
	abi_enc_release(&e);
	assert_int_equal(out.len, 0);
	buf_release(&out);
}

/*
 * Every proper prefix of a vector is an error (except one that only loses
 * the final zero padding), never a crash or an overread.
 */
static void
test_truncated_inputs(void **state)
{
	static const char *vec[] = { spec_sam, spec_g };
	struct abi_dec d, a, b;
	const uint8_t *p;
	size_t i, len, n, count;
	uint64_t v;
	uint8_t *full;

	(void)state;
	/* sam */
	full = unhex(vec[0], &n);
	for (len = 4; len < n; len++) {
		uint8_t *cut = malloc(len);
		bool flag;
		int r;

		memcpy(cut, full, len);
		abi_dec_init(&d, cut + 4, len - 4);
		r = abi_dec_bytes(&d, 100, &p, &i);
		if (r >= 0)
			r = abi_dec_bool(&d, &flag);
		if (r >= 0)
			r = abi_dec_enter_array(&d, 100, &a, &count);
		for (i = 0; r >= 0 && i < count; i++)
			r = abi_dec_uint64(&a, &v);
		assert_int_equal(r, -EBADMSG);
		free(cut);
	}
	free(full);
	/* g */
	full = unhex(vec[1], &n);
	for (len = 4; len < n; len++) {
		uint8_t *cut = malloc(len);
		size_t c2, j;
		int r;

		memcpy(cut, full, len);
		abi_dec_init(&d, cut + 4, len - 4);
		r = abi_dec_enter_array(&d, 100, &a, &count);
		for (i = 0; r >= 0 && i < count; i++) {
			r = abi_dec_enter_array(&a, 100, &b, &c2);
			for (j = 0; r >= 0 && j < c2; j++)
				r = abi_dec_uint64(&b, &v);
		}
		if (r >= 0)
			r = abi_dec_enter_array(&d, 100, &a, &count);
		for (i = 0; r >= 0 && i < count; i++)
			r = abi_dec_bytes(&a, 100, &p, &c2);
		/* the zero padding after the last string ("three") is not required */
		assert_int_equal(r, len >= n - 27 ? 0 : -EBADMSG);
		free(cut);
	}
	free(full);
}

/* Offsets and lengths pointing outside the input, huge, or unaligned. */
static void
test_bad_offsets_and_lengths(void **state)
{
	uint8_t in[96];
	struct abi_dec d, sub;
	const uint8_t *p;
	size_t n = 77, count = 77;
	uint8_t addr[20];
	uint64_t v;
	bool flag;

	(void)state;
	/* offset = 2^255 */
	memset(in, 0, sizeof(in));
	in[0] = 0x80;
	abi_dec_init(&d, in, sizeof(in));
	assert_int_equal(abi_dec_bytes(&d, SIZE_MAX, &p, &n), -EBADMSG);
	assert_int_equal(abi_dec_enter_tuple(&d, &sub), -EBADMSG);
	assert_int_equal(abi_dec_enter_array(&d, SIZE_MAX, &sub, &count), -EBADMSG);
	/* offset = 2^64 - 32 (fits 64 bits, not the input) */
	memset(in, 0, 32);
	memset(in + 24, 0xff, 7);
	in[31] = 0xe0;
	abi_dec_init(&d, in, sizeof(in));
	assert_int_equal(abi_dec_bytes(&d, SIZE_MAX, &p, &n), -EBADMSG);
	/* offset 96 = the end: no room for the length slot */
	memset(in, 0, 32);
	in[31] = 96;
	abi_dec_init(&d, in, sizeof(in));
	assert_int_equal(abi_dec_bytes(&d, SIZE_MAX, &p, &n), -EBADMSG);
	/* offset not a multiple of 32 */
	in[31] = 33;
	abi_dec_init(&d, in, sizeof(in));
	assert_int_equal(abi_dec_bytes(&d, SIZE_MAX, &p, &n), -EBADMSG);
	assert_int_equal(abi_dec_enter_tuple(&d, &sub), -EBADMSG);
	/* length = 2^255, then length = 33 with 32 bytes left, then 32: fine */
	in[31] = 32;
	memset(in + 32, 0, 64);
	in[32] = 0x80;
	abi_dec_init(&d, in, sizeof(in));
	assert_int_equal(abi_dec_bytes(&d, SIZE_MAX, &p, &n), -EBADMSG);
	assert_int_equal(abi_dec_enter_array(&d, SIZE_MAX, &sub, &count), -EBADMSG);
	in[32] = 0;
	in[63] = 33;
	assert_int_equal(abi_dec_bytes(&d, SIZE_MAX, &p, &n), -EBADMSG);
	assert_int_equal(abi_dec_enter_array(&d, SIZE_MAX, &sub, &count), -EBADMSG);
	in[63] = 32;
	assert_int_equal(abi_dec_bytes(&d, 31, &p, &n), -E2BIG);
	assert_int_equal(n, 77);
	assert_int_equal(abi_dec_enter_array(&d, SIZE_MAX, &sub, &count), -EBADMSG);
	assert_int_equal(count, 77);
	assert_int_equal(abi_dec_bytes(&d, 32, &p, &n), 0);
	assert_int_equal(n, 32);
	assert_ptr_equal(p, in + 64);
	/* an array count of 1 fits in the last slot */
	in[63] = 1;
	abi_dec_init(&d, in, sizeof(in));
	assert_int_equal(abi_dec_enter_array(&d, SIZE_MAX, &sub, &count), 0);
	assert_int_equal(count, 1);
	/* dirty values */
	memset(in, 0, 32);
	in[0] = 1;
	abi_dec_init(&d, in, 32);
	assert_int_equal(abi_dec_address(&d, addr), -EBADMSG);
	assert_int_equal(abi_dec_uint64(&d, &v), -ERANGE);
	assert_int_equal(abi_dec_bool(&d, &flag), -EBADMSG);
	in[0] = 0;
	in[31] = 2;
	assert_int_equal(abi_dec_bool(&d, &flag), -EBADMSG);
	in[11] = 1;
	assert_int_equal(abi_dec_address(&d, addr), -EBADMSG);
	in[11] = 0;
	assert_int_equal(abi_dec_address(&d, addr), 0);
	assert_int_equal(abi_dec_remaining(&d), 0);
	/* skip */
	abi_dec_init(&d, in, sizeof(in));
	assert_int_equal(abi_dec_skip(&d, 4), -EBADMSG);
	assert_int_equal(abi_dec_skip(&d, SIZE_MAX), -EBADMSG);
	assert_int_equal(abi_dec_skip(&d, 3), 0);
	assert_int_equal(abi_dec_remaining(&d), 0);
	/* input not a multiple of 32: the short tail is not a slot */
	abi_dec_init(&d, in, 31);
	assert_int_equal(abi_dec_uint64(&d, &v), -EBADMSG);
}

/* Revert data: Error(string) and Panic(uint256) vectors from `cast calldata` (cast 1.7). */
static void
test_revert(void **state)
{
	static const char err[] =
		"08c379a0"
		"0000000000000000000000000000000000000000000000000000000000000020"
		"000000000000000000000000000000000000000000000000000000000000001a"
		"4e6f7420656e6f7567682045746865722070726f76696465642e000000000000";
	static const char panic[] =
		"4e487b71"
		"0000000000000000000000000000000000000000000000000000000000000011";
	uint8_t *in, sel[4], custom[4 + 32] = { 0 };
	char out[64];
	size_t n;

	(void)state;
	in = unhex(err, &n);
	assert_int_equal(abi_decode_revert(in, n, out, sizeof(out)), 26);
	assert_string_equal(out, "Not enough Ether provided.");
	assert_int_equal(abi_decode_revert(in, n, out, 26), -ENOSPC);
	assert_int_equal(abi_decode_revert(in, n - 7, out, sizeof(out)), -EBADMSG);
	in[67] = 25;		/* shorter length */
	in[68 + 3] = '\n';	/* inside the message: shown as '?' */
	assert_int_equal(abi_decode_revert(in, n, out, sizeof(out)), 25);
	assert_string_equal(out, "Not?enough Ether provided");
	free(in);

	in = unhex(panic, &n);
	assert_int_equal(abi_decode_revert(in, n, out, sizeof(out)), 32);
	assert_string_equal(out, "panic 0x11 (arithmetic overflow)");
	in[n - 1] = 0x99;
	assert_int_equal(abi_decode_revert(in, n, out, sizeof(out)), 10);
	assert_string_equal(out, "panic 0x99");
	assert_int_equal(abi_decode_revert(in, n - 1, out, sizeof(out)), -EBADMSG);
	free(in);

	abi_selector("NotMember(address)", sel);	/* cast sig: 0x16d6142c */
	memcpy(custom, sel, 4);
	assert_int_equal(abi_decode_revert(custom, sizeof(custom), out, sizeof(out)), 23);
	assert_string_equal(out, "custom error 0x16d6142c");
	assert_int_equal(abi_decode_revert(custom, 4, out, sizeof(out)), 23);
	assert_int_equal(abi_decode_revert(custom, 4, out, 23), -ENOSPC);
	assert_int_equal(abi_decode_revert(custom, 0, out, sizeof(out)), -ENODATA);
	assert_int_equal(abi_decode_revert(custom, 3, out, sizeof(out)), -EBADMSG);
	/* Error(string) with nothing after the selector */
	assert_int_equal(abi_decode_revert((const uint8_t *)"\x08\xc3\x79\xa0", 4, out, sizeof(out)),
			 -EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selectors_and_topics),
		cmocka_unit_test(test_spec_baz_bar),
		cmocka_unit_test(test_spec_sam),
		cmocka_unit_test(test_spec_f),
		cmocka_unit_test(test_spec_g),
		cmocka_unit_test(test_struct_array),
		cmocka_unit_test(test_mixed_static_tuple_and_fixed_array),
		cmocka_unit_test(test_empty_array_and_int64_edges),
		cmocka_unit_test(test_encoder_errors),
		cmocka_unit_test(test_truncated_inputs),
		cmocka_unit_test(test_bad_offsets_and_lengths),
		cmocka_unit_test(test_revert),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
