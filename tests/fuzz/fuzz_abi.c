/*
 * libFuzzer target: the ABI decoder and revert decoder over arbitrary bytes.
 *
 * Input: byte 0 = number of ops (mod 32), then that many op bytes, then the
 * ABI data.  The ops drive a small stack of cursors, as a caller decoding a
 * nested return value would: read slots of every kind, follow offsets into
 * tuples and arrays, leave them.  Every byte handed back is touched so that
 * ASan sees any read outside the input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ABI_STACK	8

static volatile uint8_t sink;

static void
touch(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sink ^= p[i];
}

static void
run_op(struct abi_dec *st, size_t *depth, uint8_t op)
{
	struct abi_dec *d = &st[*depth - 1];
	uint8_t b32[32], addr[20];
	const uint8_t *p;
	char text[64];
	size_t n;
	uint64_t v;
	int64_t iv;
	bool flag;

	switch (op % 12) {
	case 0: (void)abi_dec_uint64(d, &v); break;
	case 1: (void)abi_dec_int64(d, &iv); break;
	case 2: (void)abi_dec_address(d, addr); break;
	case 3: (void)abi_dec_bool(d, &flag); break;
	case 4:
		if (abi_dec_bytes(d, SIZE_MAX, &p, &n) == 0)
			touch(p, n);
		break;
	case 5: (void)abi_dec_string_copy(d, text, sizeof(text)); break;
	case 6:
		if (*depth < FUZZ_ABI_STACK && abi_dec_enter_tuple(d, &st[*depth]) == 0)
			(*depth)++;
		break;
	case 7:
		if (*depth < FUZZ_ABI_STACK && abi_dec_enter_array(d, 1000, &st[*depth], &n) == 0)
			(*depth)++;
		break;
	case 8:
		if (*depth > 1)
			(*depth)--;
		break;
	case 9: (void)abi_dec_bytes32(d, b32); break;
	case 10: (void)abi_dec_bytesN(d, (size_t)(op >> 4) * 2 + 1, b32); break;
	default: (void)abi_dec_skip(d, op >> 4); break;
	}
}

static void
revert_with(uint32_t sel, const uint8_t *p, size_t n)
{
	char out[128];
	uint8_t *buf;
	int r;

	buf = malloc(n + 4);
	if (!buf)
		return;
	buf[0] = (uint8_t)(sel >> 24);
	buf[1] = (uint8_t)(sel >> 16);
	buf[2] = (uint8_t)(sel >> 8);
	buf[3] = (uint8_t)sel;
	memcpy(buf + 4, p, n);
	r = abi_decode_revert(buf, n + 4, out, sizeof(out));
	if (r >= 0 && (size_t)r != strlen(out))
		abort();
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct abi_dec st[FUZZ_ABI_STACK];
	size_t nops, depth = 1, i;
	const uint8_t *ops;
	char out[128];
	int r;

	r = abi_decode_revert(data, size, out, sizeof(out));
	if (r >= 0 && (size_t)r != strlen(out))
		abort();
	if (size == 0)
		return 0;
	nops = data[0] % 32;
	if (nops > size - 1)
		nops = size - 1;
	ops = data + 1;
	abi_dec_init(&st[0], ops + nops, size - 1 - nops);
	for (i = 0; i < nops; i++)
		run_op(st, &depth, ops[i]);
	/* the payload behind each known revert selector */
	revert_with(0x08c379a0, ops + nops, size - 1 - nops);
	revert_with(0x4e487b71, ops + nops, size - 1 - nops);
	return 0;
}
