#include "hex.h"

#include <errno.h>
#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

/* Value of one hex digit, or -1. */
static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
has_0x(const char *s, size_t slen)
{
	return slen >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/* Check that s[0..slen) is an even number of hex digits. */
static int
hex_check(const char *s, size_t slen)
{
	size_t i;

	if (slen % 2)
		return -EINVAL;
	for (i = 0; i < slen; i++)
		if (hex_val(s[i]) < 0)
			return -EINVAL;
	return 0;
}

/* Decode checked digits; out has room for slen / 2 bytes. */
static void
hex_unchecked(const char *s, size_t slen, uint8_t *out)
{
	size_t i;

	for (i = 0; i < slen / 2; i++)
		out[i] = (uint8_t)(hex_val(s[2 * i]) << 4 | hex_val(s[2 * i + 1]));
}

int
hex_decode_exact(const char *s, size_t slen, uint8_t *out, size_t outlen)
{
	int r;

	if (has_0x(s, slen)) {
		s += 2;
		slen -= 2;
	}
	r = hex_check(s, slen);
	if (r < 0)
		return r;
	if (slen / 2 != outlen)
		return -ERANGE;
	hex_unchecked(s, slen, out);
	return 0;
}

int
hex_decode_buf(const char *s, size_t slen, struct buf *out)
{
	int r;

	if (has_0x(s, slen)) {
		s += 2;
		slen -= 2;
	}
	r = hex_check(s, slen);
	if (r < 0)
		return r;
	if (slen == 0)
		return 0;
	r = buf_reserve(out, slen / 2);
	if (r < 0)
		return r;
	hex_unchecked(s, slen, out->data + out->len);
	out->len += slen / 2;
	out->data[out->len] = '\0';
	return 0;
}

int
hex_encode(const uint8_t *p, size_t n, bool prefix, char *out, size_t outsz)
{
	size_t need, i, o = 0;

	if (n > (SIZE_MAX - 3) / 2)
		return -ENOSPC;
	need = 2 * n + (prefix ? 2 : 0);
	if (need > INT32_MAX || outsz < need + 1)
		return -ENOSPC;
	if (prefix) {
		out[o++] = '0';
		out[o++] = 'x';
	}
	for (i = 0; i < n; i++) {
		out[o++] = hex_digits[p[i] >> 4];
		out[o++] = hex_digits[p[i] & 0xf];
	}
	out[o] = '\0';
	return (int)o;
}

/*
 * Validate a QUANTITY and return its digits: "0x", then "0" alone or digits
 * without a leading zero.
 */
static int
quantity_digits(const char *s, size_t slen, const char **ret_d, size_t *ret_n)
{
	size_t i;

	if (slen < 3 || s[0] != '0' || s[1] != 'x')
		return -EINVAL;
	s += 2;
	slen -= 2;
	if (s[0] == '0' && slen > 1)
		return -EINVAL;
	for (i = 0; i < slen; i++)
		if (hex_val(s[i]) < 0)
			return -EINVAL;
	*ret_d = s;
	*ret_n = slen;
	return 0;
}

int
quantity_parse_u64(const char *s, size_t slen, uint64_t *ret)
{
	const char *d;
	size_t n, i;
	uint64_t v = 0;
	int r;

	r = quantity_digits(s, slen, &d, &n);
	if (r < 0)
		return r;
	if (n > 16)
		return -ERANGE;
	for (i = 0; i < n; i++)
		v = v << 4 | (uint64_t)hex_val(d[i]);
	*ret = v;
	return 0;
}

int
quantity_parse_u256(const char *s, size_t slen, uint8_t ret_be[32])
{
	uint8_t v[32] = { 0 };
	const char *d;
	size_t n, i;
	int r;

	r = quantity_digits(s, slen, &d, &n);
	if (r < 0)
		return r;
	if (n > 64)
		return -ERANGE;
	/* digit i counted from the right lands in nibble i of the value */
	for (i = 0; i < n; i++) {
		uint8_t nib = (uint8_t)hex_val(d[n - 1 - i]);

		v[31 - i / 2] |= (uint8_t)(i % 2 ? nib << 4 : nib);
	}
	memcpy(ret_be, v, 32);
	return 0;
}

/* Format the big-endian bytes p[0..n) as a minimal QUANTITY. */
static int
quantity_format_be(const uint8_t *p, size_t n, char *out, size_t outsz)
{
	char tmp[QUANTITY_U256_STRLEN];
	size_t i, o = 2;
	bool started = false;

	tmp[0] = '0';
	tmp[1] = 'x';
	for (i = 0; i < 2 * n; i++) {
		uint8_t nib = i % 2 ? p[i / 2] & 0xf : p[i / 2] >> 4;

		if (!nib && !started)
			continue;
		started = true;
		tmp[o++] = hex_digits[nib];
	}
	if (!started)
		tmp[o++] = '0';
	if (outsz < o + 1)
		return -ENOSPC;
	memcpy(out, tmp, o);
	out[o] = '\0';
	return (int)o;
}

int
quantity_format_u64(uint64_t v, char *out, size_t outsz)
{
	uint8_t be[8];
	int i;

	for (i = 7; i >= 0; i--) {
		be[i] = (uint8_t)v;
		v >>= 8;
	}
	return quantity_format_be(be, sizeof(be), out, outsz);
}

int
quantity_format_u256(const uint8_t v_be[32], char *out, size_t outsz)
{
	return quantity_format_be(v_be, 32, out, outsz);
}

/* Value of one digit in base 10 or 16, or -1. */
static int
digit_val(char c, unsigned base)
{
	if (base == 16)
		return hex_val(c);
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

int
num_parse_u64(const char *s, bool allow_hex, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i, n;
	unsigned base = 10;
	bool overflow = false;

	if (!s)
		return -EINVAL;
	n = strlen(s);
	if (allow_hex && has_0x(s, n)) {
		s += 2;
		n -= 2;
		base = 16;
	}
	if (n == 0)
		return -EINVAL;
	/* scan everything first so that a bad character wins over overflow */
	for (i = 0; i < n; i++) {
		int d = digit_val(s[i], base);

		if (d < 0)
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			overflow = true;
		else
			v = v * base + (uint64_t)d;
	}
	if (overflow || v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}
