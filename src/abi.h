/*
 * abi: the Solidity contract ABI (https://docs.soliditylang.org/en/latest/abi-spec.html):
 * selectors, event topics, an encoder for calldata and a bounded decoder for
 * return data, revert data and log data.
 *
 * Pure codec: no logging, no global state.
 *
 * ENCODING builds the head/tail layout as the values are pushed, in order.
 * The arguments of a call form the top-level tuple; open a nested tuple
 * (struct), fixed-size array T[k] or dynamic array T[] with a begin call,
 * push its members, and close it with abi_enc_end().  Whether a tuple is
 * static (inlined in its parent's head) or dynamic (placed in the tail behind
 * an offset) follows from what was pushed into it, as the spec defines.
 *
 *	struct abi_enc e;
 *	struct buf calldata;
 *	uint8_t sel[4];
 *
 *	abi_selector("register(string,(string,uint256)[])", sel);
 *	abi_enc_init(&e, ABI_ENC_MAX);
 *	abi_enc_string(&e, name, strlen(name));
 *	abi_enc_array_begin(&e);
 *	for (i = 0; i < n; i++) {
 *		abi_enc_tuple_begin(&e);
 *		abi_enc_string(&e, v[i].s, strlen(v[i].s));
 *		abi_enc_uint64(&e, v[i].x);
 *		abi_enc_end(&e);
 *	}
 *	abi_enc_end(&e);
 *	buf_init(&calldata, ABI_ENC_MAX + 4);
 *	r = abi_enc_finish(&e, sel, &calldata);	// first error of any call above
 *	abi_enc_release(&e);
 *
 * Errors are sticky: every push returns its error and the encoder remembers
 * the first one, which abi_enc_finish() returns, so checking only the finish
 * is enough.
 *
 * DECODING is a cursor over one tuple's encoding.  The caller reads the head
 * slots in order with the abi_dec_* readers; a dynamic member (bytes, string,
 * T[], dynamic tuple) is reached through the offset in its head slot.
 * Decoding `(PeerRecord[] memory, uint256)` with PeerRecord = (string,
 * address, uint256):
 *
 *	struct abi_dec d, arr, rec;
 *	size_t count;
 *
 *	abi_dec_init(&d, ret, retlen);
 *	r = abi_dec_enter_array(&d, PEERS_MAX, &arr, &count);
 *	for (i = 0; r >= 0 && i < count; i++) {
 *		r = abi_dec_enter_tuple(&arr, &rec);	// dynamic struct: by offset
 *		if (r >= 0) r = abi_dec_string(&rec, ENDPOINT_MAX, &s, &slen);
 *		if (r >= 0) r = abi_dec_address(&rec, addr);
 *		if (r >= 0) r = abi_dec_uint64(&rec, &ts);
 *	}
 *	if (r >= 0) r = abi_dec_u256(&d, total);
 *
 * A static struct or static fixed array (all members static) is inline:
 * read its members one after the other from the same cursor, no enter.
 * Log data is the tuple of the non-indexed event parameters; each indexed
 * topic is one 32-byte slot: abi_dec_init(&t, topic, 32) and read it.
 *
 * Every offset and length is checked against the input without overflow.
 * Offsets must be multiples of 32 (canonical encoders only produce those):
 * others are -EBADMSG.  Byte strings must lie inside the input; their zero
 * padding is not required to be present.
 */
#ifndef DP_ABI_H
#define DP_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define ABI_SLOT		32
#define ABI_SELECTOR_LEN	4
/* Deepest nesting of tuples/arrays the encoder accepts (the top level is 1). */
#define ABI_DEPTH_MAX		16
/* A reasonable cap for calldata built by this project. */
#define ABI_ENC_MAX		(1024 * 1024)

/* The 4-byte selector of a canonical function signature, e.g. "transfer(address,uint256)". */
void abi_selector(const char *signature, uint8_t ret[4]);

/* The topic-0 hash of a canonical event signature, e.g. "Transfer(address,address,uint256)". */
void abi_topic(const char *signature, uint8_t ret[32]);

/* ---- encoder ---------------------------------------------------------- */

struct abi_enc_frame {
	struct buf head;
	struct buf tail;
	struct buf ptrs;	/* size_t positions in head holding tail offsets */
	size_t count;		/* members pushed */
	bool dynamic;		/* holds a dynamic member (or is a T[]) */
	bool is_array;		/* T[]: encoding is prefixed with count */
};

/* Treat the fields as private. */
struct abi_enc {
	struct abi_enc_frame frames[ABI_DEPTH_MAX];
	size_t depth;		/* open frames, >= 1 */
	size_t max;		/* cap on the encoding of any frame */
	int err;		/* first error, sticky */
};

/*
 * Start encoding a top-level tuple whose encoding may not exceed max bytes
 * (exceeding it is -E2BIG).  Allocates nothing yet.
 */
void abi_enc_init(struct abi_enc *e, size_t max);

/* Free everything the encoder holds.  Safe to call at any point. */
void abi_enc_release(struct abi_enc *e);

/*
 * Push one value into the innermost open tuple/array.  Each returns 0 or the
 * first error of this encoder: -E2BIG (cap), -ENOMEM, -EINVAL (bad argument,
 * e.g. abi_enc_bytesN with n outside 1..32).
 */
int abi_enc_uint64(struct abi_enc *e, uint64_t v);		/* uintN, N <= 256 */
int abi_enc_int64(struct abi_enc *e, int64_t v);		/* intN, sign-extended */
int abi_enc_u256(struct abi_enc *e, const uint8_t v_be[32]);	/* uint256/int256, big-endian */
int abi_enc_address(struct abi_enc *e, const uint8_t addr[20]);
int abi_enc_bool(struct abi_enc *e, bool v);
int abi_enc_bytes32(struct abi_enc *e, const uint8_t v[32]);
int abi_enc_bytesN(struct abi_enc *e, const uint8_t *p, size_t n);	/* bytes1..bytes32, left-aligned */
int abi_enc_bytes(struct abi_enc *e, const uint8_t *p, size_t n);	/* dynamic bytes */
int abi_enc_string(struct abi_enc *e, const char *s, size_t n);	/* dynamic string, n bytes of s */

/*
 * Open a nested tuple (struct), a fixed-size array T[k] (encoded exactly as
 * a tuple of k members), or a dynamic array T[].  Close with abi_enc_end().
 * -E2BIG past ABI_DEPTH_MAX.
 */
int abi_enc_tuple_begin(struct abi_enc *e);
int abi_enc_fixed_array_begin(struct abi_enc *e);
int abi_enc_array_begin(struct abi_enc *e);

/* Close the innermost open tuple/array.  -EINVAL if none is open. */
int abi_enc_end(struct abi_enc *e);

/*
 * Append the 4-byte selector (when selector is not NULL) and the encoding of
 * the top-level tuple to out.  Returns 0 or the encoder's first error;
 * -EINVAL if a nested tuple/array is still open; -E2BIG/-ENOMEM from out
 * (out unchanged on failure).  The encoder must be released afterwards;
 * a second finish returns -EALREADY.
 */
int abi_enc_finish(struct abi_enc *e, const uint8_t *selector, struct buf *out);

/* ---- decoder ---------------------------------------------------------- */

/* A cursor over one tuple; plain value, copy freely.  Fields are private. */
struct abi_dec {
	const uint8_t *base;	/* start of this tuple: offsets are relative to it */
	size_t size;		/* bytes from base to the end of the whole input */
	size_t pos;		/* next head slot, relative to base */
};

/*
 * Start reading the top-level tuple in p[0..n) (return data, log data, or
 * calldata after its selector).  The input must outlive the cursor and
 * everything read through it.
 */
void abi_dec_init(struct abi_dec *d, const uint8_t *p, size_t n);

/*
 * Readers of one head slot.  Each returns 0 and advances one slot, or fails
 * without moving: -EBADMSG (truncated, dirty address/bool, bad offset),
 * -ERANGE (the value does not fit the C type).  ret_* written only on 0.
 */
int abi_dec_uint64(struct abi_dec *d, uint64_t *ret);		/* -ERANGE above 2^64-1 */
int abi_dec_int64(struct abi_dec *d, int64_t *ret);		/* int256 in int64 range */
int abi_dec_u256(struct abi_dec *d, uint8_t ret_be[32]);	/* any 32 bytes */
int abi_dec_address(struct abi_dec *d, uint8_t ret[20]);	/* -EBADMSG if upper 12 bytes not 0 */
int abi_dec_bool(struct abi_dec *d, bool *ret);			/* -EBADMSG unless 0 or 1 */
int abi_dec_bytes32(struct abi_dec *d, uint8_t ret[32]);
/* bytesN (1..32): the first n bytes; -EBADMSG if the rest of the slot is not zero, -EINVAL for bad n. */
int abi_dec_bytesN(struct abi_dec *d, size_t n, uint8_t *ret);

/*
 * Dynamic bytes/string through the offset in the next head slot: *ret_p
 * points into the input, *ret_n is its length.  -E2BIG when longer than
 * max_len.  abi_dec_string() does not NUL-terminate nor check UTF-8.
 */
int abi_dec_bytes(struct abi_dec *d, size_t max_len, const uint8_t **ret_p, size_t *ret_n);
int abi_dec_string(struct abi_dec *d, size_t max_len, const char **ret_s, size_t *ret_n);

/*
 * Copy a dynamic string into out (outsz bytes, NUL-terminated).  Returns its
 * length, -ENOSPC if it does not fit, -EBADMSG if it holds a NUL byte.
 */
int abi_dec_string_copy(struct abi_dec *d, char *out, size_t outsz);

/*
 * Follow the offset in the next head slot to a dynamic tuple (a struct with
 * a dynamic member, or a T[k] of dynamic T) and return a cursor over it.
 */
int abi_dec_enter_tuple(struct abi_dec *d, struct abi_dec *ret_sub);

/*
 * Follow the offset in the next head slot to a dynamic array T[]: returns
 * a cursor over its elements (read them like tuple members: static ones
 * inline, dynamic ones through abi_dec_enter_* / abi_dec_bytes...) and the
 * element count.  -E2BIG when the count passes max_count; -EBADMSG when the
 * input is too short to hold count head slots.
 */
int abi_dec_enter_array(struct abi_dec *d, size_t max_count, struct abi_dec *ret_sub,
			size_t *ret_count);

/* Skip n head slots.  -EBADMSG if the input ends first. */
int abi_dec_skip(struct abi_dec *d, size_t n);

/* Bytes of this tuple's input not yet consumed by head reads. */
size_t abi_dec_remaining(const struct abi_dec *d);

/*
 * Describe revert data (the "data" of a failed eth_call/transaction) as text
 * in out (outsz bytes, NUL-terminated):
 *   Error(string)  0x08c379a0 -> the message, bytes outside printable ASCII as '?'
 *   Panic(uint256) 0x4e487b71 -> "panic 0x11 (arithmetic overflow)"
 *   other selector           -> "custom error 0x<selector>"
 * Returns the text length, -ENODATA for empty data (a bare revert), -EBADMSG
 * for anything else that is not one of the above, -ENOSPC if out is too small.
 */
int abi_decode_revert(const uint8_t *data, size_t len, char *out, size_t outsz);

#endif
