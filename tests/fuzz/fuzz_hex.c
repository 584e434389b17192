/*
 * libFuzzer target: every hex, QUANTITY and integer parser over arbitrary
 * text, with round-trip checks (a parse that succeeds must format back to
 * the same text, up to letter case).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_quantities(const char *s, size_t n)
{
	char out[QUANTITY_U256_STRLEN];
	uint8_t u[32];
	uint64_t v;
	int r;

	if (quantity_parse_u64(s, n, &v) == 0) {
		r = quantity_format_u64(v, out, sizeof(out));
		if (r < 0 || (size_t)r != n || strncasecmp(out, s, n) != 0)
			abort();
	}
	if (quantity_parse_u256(s, n, u) == 0) {
		r = quantity_format_u256(u, out, sizeof(out));
		if (r < 0 || (size_t)r != n || strncasecmp(out, s, n) != 0)
			abort();
	}
}

static void
check_hex(const char *s, size_t n)
{
	uint8_t fixed[32], again[32];
	char *text;
	struct buf b;
	size_t k;
	int r;

	for (k = 0; k <= 32; k += 4)
		(void)hex_decode_exact(s, n, fixed, k);
	buf_init(&b, 4096);
	if (hex_decode_buf(s, n, &b) == 0 && b.len <= 32) {
		/* decode -> encode -> decode gives the same bytes */
		text = malloc(2 * b.len + 3);
		if (!text)
			abort();
		r = hex_encode(b.data, b.len, true, text, 2 * b.len + 3);
		if (r != (int)(2 * b.len + 2))
			abort();
		if (hex_decode_exact(text, (size_t)r, again, b.len) != 0 ||
		    (b.len && memcmp(again, b.data, b.len) != 0))
			abort();
		free(text);
	}
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *z;
	uint64_t v;

	check_quantities(s, size);
	check_hex(s, size);
	/* num_parse_u64 wants a C string */
	z = malloc(size + 1);
	if (!z)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	(void)num_parse_u64(z, true, 0, UINT64_MAX, &v);
	(void)num_parse_u64(z, false, 10, 1000, &v);
	free(z);
	return 0;
}
