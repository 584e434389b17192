#include "rlp.h"

#include <errno.h>
#include <string.h>

#define RLP_SHORT_MAX	55	/* longest payload with a one-byte header */
#define RLP_STRING	0x80
#define RLP_LIST	0xc0

/* Write the header for a payload of n bytes with base offset 0x80/0xc0; returns its length. */
static size_t
rlp_header(uint8_t base, size_t n, uint8_t hdr[1 + sizeof(size_t)])
{
	size_t lenlen = 0, i, v;

	if (n <= RLP_SHORT_MAX) {
		hdr[0] = (uint8_t)(base + n);
		return 1;
	}
	for (v = n; v; v >>= 8)
		lenlen++;
	hdr[0] = (uint8_t)(base + RLP_SHORT_MAX + lenlen);
	for (i = 0, v = n; i < lenlen; i++, v >>= 8)
		hdr[lenlen - i] = (uint8_t)v;
	return 1 + lenlen;
}

/* Append header and payload, or nothing. */
static int
rlp_put(struct buf *b, uint8_t base, const uint8_t *p, size_t n)
{
	uint8_t hdr[1 + sizeof(size_t)];
	size_t hlen = rlp_header(base, n, hdr);
	int r;

	if (n > SIZE_MAX - hlen)
		return -E2BIG;
	r = buf_reserve(b, hlen + n);
	if (r < 0)
		return r;
	/* cannot fail after the reservation */
	(void)buf_append(b, hdr, hlen);
	(void)buf_append(b, p, n);
	return 0;
}

int
rlp_put_bytes(struct buf *b, const uint8_t *p, size_t n)
{
	if (n == 1 && p[0] < RLP_STRING)
		return buf_putc(b, p[0]);
	return rlp_put(b, RLP_STRING, p, n);
}

int
rlp_put_uint(struct buf *b, uint64_t v)
{
	uint8_t be[8];
	size_t n = 0, i;

	for (i = 0; i < 8; i++)
		be[i] = (uint8_t)(v >> (56 - 8 * i));
	while (n < 8 && be[n] == 0)
		n++;
	return rlp_put_bytes(b, be + n, 8 - n);
}

int
rlp_put_uint256(struct buf *b, const uint8_t v_be[32])
{
	size_t n = 0;

	while (n < 32 && v_be[n] == 0)
		n++;
	return rlp_put_bytes(b, v_be + n, 32 - n);
}

int
rlp_put_list(struct buf *b, const uint8_t *payload, size_t n)
{
	return rlp_put(b, RLP_LIST, payload, n);
}

void
rlp_cursor_init(struct rlp_cursor *c, const uint8_t *p, size_t n)
{
	c->p = p;
	c->n = n;
	c->pos = 0;
}

/* Read a long-form length of lenlen bytes at p (lenlen bytes available). */
static int
rlp_long_len(const uint8_t *p, size_t lenlen, size_t *ret)
{
	size_t v = 0, i;

	if (lenlen > sizeof(size_t) || p[0] == 0)
		return -EBADMSG;
	for (i = 0; i < lenlen; i++)
		v = v << 8 | p[i];
	if (v <= RLP_SHORT_MAX)
		return -EBADMSG;
	*ret = v;
	return 0;
}

int
rlp_next(struct rlp_cursor *c, struct rlp_item *ret)
{
	const uint8_t *p = c->p + c->pos;
	size_t avail = c->n - c->pos, hlen = 1, len;
	uint8_t b;
	bool list;
	int r;

	if (avail == 0)
		return 0;
	b = p[0];
	if (b < RLP_STRING) {
		ret->list = false;
		ret->p = p;
		ret->n = 1;
		c->pos++;
		return 1;
	}
	list = b >= RLP_LIST;
	b -= list ? RLP_LIST : RLP_STRING;
	if (b <= RLP_SHORT_MAX) {
		len = b;
	} else {
		hlen += (size_t)(b - RLP_SHORT_MAX);
		if (hlen > avail)
			return -EBADMSG;
		r = rlp_long_len(p + 1, hlen - 1, &len);
		if (r < 0)
			return r;
	}
	if (len > avail - hlen)
		return -EBADMSG;
	if (!list && len == 1 && p[hlen] < RLP_STRING)
		return -EBADMSG;
	ret->list = list;
	ret->p = p + hlen;
	ret->n = len;
	c->pos += hlen + len;
	return 1;
}

int
rlp_decode_one(const uint8_t *p, size_t n, struct rlp_item *ret)
{
	struct rlp_cursor c;
	struct rlp_item it;
	int r;

	rlp_cursor_init(&c, p, n);
	r = rlp_next(&c, &it);
	if (r <= 0 || c.pos != n)
		return -EBADMSG;
	*ret = it;
	return 0;
}

/* Check a string item as a canonical integer of at most max bytes. */
static int
rlp_item_int(const struct rlp_item *it, size_t max)
{
	if (it->list || (it->n > 0 && it->p[0] == 0))
		return -EBADMSG;
	if (it->n > max)
		return -ERANGE;
	return 0;
}

int
rlp_item_uint64(const struct rlp_item *it, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;
	int r;

	r = rlp_item_int(it, 8);
	if (r < 0)
		return r;
	for (i = 0; i < it->n; i++)
		v = v << 8 | it->p[i];
	*ret = v;
	return 0;
}

int
rlp_item_uint256(const struct rlp_item *it, uint8_t ret_be[32])
{
	int r;

	r = rlp_item_int(it, 32);
	if (r < 0)
		return r;
	memset(ret_be, 0, 32 - it->n);
	if (it->n)
		memcpy(ret_be + 32 - it->n, it->p, it->n);
	return 0;
}
