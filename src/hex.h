/*
 * hex: hexadecimal codec, JSON-RPC quantities, and the project's one checked
 * integer parser.
 *
 * Pure codec: no logging, no global state.  Inputs are (pointer, length)
 * pairs and are never read past their length; outputs are written only on
 * success.
 */
#ifndef DP_HEX_H
#define DP_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Longest QUANTITY text for a 256-bit value: "0x" + 64 digits + NUL. */
#define QUANTITY_U256_STRLEN	(2 + 64 + 1)
/* Longest QUANTITY text for a 64-bit value: "0x" + 16 digits + NUL. */
#define QUANTITY_U64_STRLEN	(2 + 16 + 1)

/*
 * Decode exactly outlen bytes from s[0..slen).  An optional "0x"/"0X" prefix
 * is skipped; digits may be upper or lower case.  Returns 0, -EINVAL (bad
 * character or odd number of digits), -ERANGE (digits do not make exactly
 * outlen bytes).  out is untouched on failure.
 */
int hex_decode_exact(const char *s, size_t slen, uint8_t *out, size_t outlen);

/*
 * Decode any number of hex digits (optional "0x"), appending the bytes to
 * out.  Returns 0, -EINVAL (bad character, odd length), -E2BIG (the cap of
 * out would be passed), -ENOMEM.  out is unchanged on failure.
 */
int hex_decode_buf(const char *s, size_t slen, struct buf *out);

/*
 * Encode n bytes as lowercase hex into out (outsz bytes), with a "0x" prefix
 * when prefix is true, NUL-terminated.  Returns the length written without
 * the NUL, or -ENOSPC if outsz is too small (out is then untouched).
 */
int hex_encode(const uint8_t *p, size_t n, bool prefix, char *out, size_t outsz);

/*
 * Parse a JSON-RPC QUANTITY: "0x" followed by the minimal hex digits of the
 * value ("0x0", "0x41").  "0x", "0x0400", missing prefix and bad characters
 * are -EINVAL; a value over 64 bits is -ERANGE.  *ret written only on 0.
 */
int quantity_parse_u64(const char *s, size_t slen, uint64_t *ret);

/* Same for a 256-bit value, written big-endian into ret_be on success. */
int quantity_parse_u256(const char *s, size_t slen, uint8_t ret_be[32]);

/*
 * Format v as a QUANTITY ("0x0", "0x41"), NUL-terminated.  Returns the length
 * without the NUL, or -ENOSPC (out untouched).  QUANTITY_U64_STRLEN always
 * suffices.
 */
int quantity_format_u64(uint64_t v, char *out, size_t outsz);

/* Same for a big-endian 256-bit value; QUANTITY_U256_STRLEN always suffices. */
int quantity_format_u256(const uint8_t v_be[32], char *out, size_t outsz);

/*
 * The one checked integer parser.  s is a NUL-terminated string holding
 * only decimal digits (leading zeros allowed), or, when allow_hex, "0x"/"0X"
 * followed by 1..16 hex digits.  No sign, no spaces, the whole string.
 * Returns 0, -EINVAL (empty, bad character), -ERANGE (overflow or outside
 * [min, max]).  *ret written only on 0.
 */
int num_parse_u64(const char *s, bool allow_hex, uint64_t min, uint64_t max, uint64_t *ret);

#endif
