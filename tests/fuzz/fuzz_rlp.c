/*
 * libFuzzer target: the RLP decoder over arbitrary bytes.  Every item the
 * strict decoder accepts must re-encode to exactly the bytes it came from.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RLP_DEPTH	64

static void
walk(const uint8_t *p, size_t n, unsigned depth)
{
	struct rlp_cursor c;
	struct rlp_item it;
	uint8_t u[32];
	uint64_t v;
	struct buf b;
	size_t start;

	if (depth > FUZZ_RLP_DEPTH)
		return;
	rlp_cursor_init(&c, p, n);
	for (;;) {
		start = c.pos;
		if (rlp_next(&c, &it) <= 0)
			return;
		buf_init(&b, n + 16);
		if (it.list) {
			if (rlp_put_list(&b, it.p, it.n) != 0)
				abort();
			walk(it.p, it.n, depth + 1);
		} else {
			if (rlp_put_bytes(&b, it.p, it.n) != 0)
				abort();
			(void)rlp_item_uint64(&it, &v);
			(void)rlp_item_uint256(&it, u);
		}
		if (b.len != c.pos - start || memcmp(b.data, p + start, b.len) != 0)
			abort();
		buf_release(&b);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rlp_item it;

	(void)rlp_decode_one(data, size, &it);
	walk(data, size, 0);
	return 0;
}
