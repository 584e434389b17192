/*
 * libFuzzer target: dstackp2p_parse_peers() over arbitrary bytes.  An
 * accepted list must join back ("\n" after each entry, the last one's
 * optional) to exactly the input, hold no empty entry and no newline.
 */
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dstackp2p.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* not assert(): RelWithDebInfo defines NDEBUG */
#define CHECK(x)	do { if (!(x)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dstackp2p_peers p;
	size_t i, pos = 0, len;

	if (dstackp2p_parse_peers((const char *)data, size, &p) < 0)
		return 0;
	CHECK(p.len == size);
	for (i = 0; i < p.n; i++) {
		len = strlen(p.v[i]);
		CHECK(len > 0 && !memchr(p.v[i], '\n', len));
		CHECK(len <= size - pos && memcmp(data + pos, p.v[i], len) == 0);
		pos += len;
		if (pos < size) {
			CHECK(data[pos] == '\n');
			pos++;
		}
	}
	CHECK(pos == size);
	CHECK(dstackp2p_peers_equal(&p, &p));
	dstackp2p_peers_release(&p);
	return 0;
}
