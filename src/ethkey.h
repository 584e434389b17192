/*
 * ethkey: secp256k1 keys, Ethereum addresses and recoverable signatures.
 *
 * libsecp256k1 stays inside this module.  One process-wide context is made
 * by ethkey_global_init() and randomized from getrandom(); after that every
 * function here may be called from any thread (the context is only read).
 * Functions that need the context create it on first use if
 * ethkey_global_init() was not called; ethkey_global_free() must not race
 * with other calls.
 *
 * Secret keys are 32-byte big-endian scalars passed in caller-owned arrays;
 * this module copies nothing of them and wipes its own temporaries.
 * Crypto module: no logging.
 */
#ifndef DP_ETHKEY_H
#define DP_ETHKEY_H

#include <stddef.h>
#include <stdint.h>

#define ETHKEY_ADDRESS_STRLEN 42	/* "0x" + 40 hex digits, without NUL */

/*
 * Create the one secp256k1 context and randomize it with 32 bytes from
 * getrandom().  Returns 0 (also when already done), -ENOMEM, or the -errno of
 * getrandom().
 */
int ethkey_global_init(void);

/* Destroy the context.  Safe to call when not initialised. */
void ethkey_global_free(void);

/* Uncompressed public key 0x04||x||y of sk.  Returns 0, -EINVAL for a key
 * that is zero or not below the group order. */
int ethkey_pubkey(const uint8_t sk[32], uint8_t ret_pub65[65]);

/* Compressed public key (0x02/0x03||x) of sk.  Returns 0, -EINVAL. */
int ethkey_pubkey_compressed(const uint8_t sk[32], uint8_t ret_pub33[33]);

/* Parse a 33-byte compressed or 65-byte uncompressed public key and return
 * it uncompressed.  Returns 0, -EINVAL when n is neither size or the point is
 * not on the curve. */
int ethkey_pubkey_parse(const uint8_t *pub, size_t n, uint8_t ret_pub65[65]);

/* Compress an uncompressed public key.  Returns 0, -EINVAL. */
int ethkey_pubkey_compress(const uint8_t pub65[65], uint8_t ret_pub33[33]);

/* Address = last 20 bytes of keccak256(x||y).  pub65 is not validated. */
void ethkey_address_from_pubkey(const uint8_t pub65[65], uint8_t ret_addr[20]);

/* Address of secret key sk.  Returns 0, -EINVAL. */
int ethkey_address(const uint8_t sk[32], uint8_t ret_addr[20]);

/*
 * Sign a 32-byte hash: r||s||v with v in {0,1} (the recovery id), s in the
 * lower half of the order, nonce by RFC 6979.  Returns 0, -EINVAL for a bad
 * key.
 */
int ethkey_sign(const uint8_t sk[32], const uint8_t hash[32], uint8_t ret_sig65[65]);

/*
 * Recover the signer's uncompressed public key from r||s||v; v may be 0, 1,
 * 27 or 28.  Returns 0, -EBADMSG for a bad v, r or s or a signature that
 * recovers no key.
 */
int ethkey_recover(const uint8_t hash[32], const uint8_t sig65[65], uint8_t ret_pub65[65]);

/* Write the EIP-55 checksummed "0x..." form of addr and a NUL into out. */
void ethkey_address_format(const uint8_t addr[20], char out[43]);

/*
 * Parse "0x" + 40 hex digits (exactly n bytes, s need not be NUL-terminated).
 * All-lowercase and all-uppercase digits are accepted as they are; mixed case
 * must carry a valid EIP-55 checksum.  Returns 0, -EINVAL.
 */
int ethkey_address_parse(const char *s, size_t n, uint8_t ret_addr[20]);

#endif
