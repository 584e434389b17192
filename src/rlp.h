/*
 * rlp: Recursive Length Prefix encoding (Ethereum yellow paper, appendix B)
 * and a bounded, strict decoder.
 *
 * Encoding appends to a capped struct buf.  Encoders return 0, -E2BIG (the
 * buffer's cap would be passed), -ENOMEM; the buffer is unchanged on failure.
 *
 * Lists are built bottom-up: encode the items into a scratch buf, then wrap
 * that payload with rlp_put_list().
 *
 * Pure codec: no logging, no global state.
 */
#ifndef DP_RLP_H
#define DP_RLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Append the byte string p[0..n) (p may be NULL when n is 0). */
int rlp_put_bytes(struct buf *b, const uint8_t *p, size_t n);

/* Append v as a minimal big-endian byte string: 0 -> 0x80, 15 -> 0x0f. */
int rlp_put_uint(struct buf *b, uint64_t v);

/* Append a big-endian 256-bit value as a minimal byte string (leading zeros dropped). */
int rlp_put_uint256(struct buf *b, const uint8_t v_be[32]);

/* Append a list whose already-encoded items are payload[0..n). */
int rlp_put_list(struct buf *b, const uint8_t *payload, size_t n);

/*
 * Decoding.  An item points into the caller's input; nothing is copied or
 * allocated.  For a string, p/n is its content; for a list, p/n is its
 * payload (the concatenated encodings of its items: walk it with
 * rlp_cursor_init(&sub, item.p, item.n)).
 */
struct rlp_item {
	bool list;
	const uint8_t *p;
	size_t n;
};

/* A bounded cursor over a sequence of encoded items. */
struct rlp_cursor {
	const uint8_t *p;
	size_t n;
	size_t pos;
};

/* Start reading the items in p[0..n). */
void rlp_cursor_init(struct rlp_cursor *c, const uint8_t *p, size_t n);

/*
 * Read the next item.  Returns 1 and fills *ret, 0 at the end of the input,
 * -EBADMSG on a truncated or non-canonical encoding (a single byte < 0x80
 * wrapped as 0x81, a long form for fewer than 56 bytes, length bytes with a
 * leading zero).  The cursor does not move on error.
 */
int rlp_next(struct rlp_cursor *c, struct rlp_item *ret);

/*
 * Decode p[0..n) as exactly one item.  Returns 0, -EBADMSG (bad encoding or
 * trailing bytes).
 */
int rlp_decode_one(const uint8_t *p, size_t n, struct rlp_item *ret);

/*
 * Read a string item as a canonical unsigned integer (no leading zero bytes;
 * the empty string is 0).  Returns 0, -EBADMSG (a list, leading zero),
 * -ERANGE (more than 8 bytes).
 */
int rlp_item_uint64(const struct rlp_item *it, uint64_t *ret);

/* Same for up to 32 bytes, written big-endian into ret_be. */
int rlp_item_uint256(const struct rlp_item *it, uint8_t ret_be[32]);

#endif
