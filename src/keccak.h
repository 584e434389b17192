/*
 * keccak: Keccak-256 as Ethereum uses it (the original Keccak padding with
 * domain byte 0x01, not FIPS 202 SHA3-256's 0x06).
 *
 * Pure: no logging, no allocation, no global state.
 */
#ifndef DP_KECCAK_H
#define DP_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define KECCAK256_LEN	32

/* Streaming state; treat the fields as private. */
struct keccak256 {
	uint64_t st[25];
	size_t pos;	/* bytes absorbed into the current block */
};

/* Start a new hash. */
void keccak256_init(struct keccak256 *k);

/* Absorb n bytes from p (p may be NULL when n is 0). */
void keccak256_update(struct keccak256 *k, const void *p, size_t n);

/*
 * Write the 32-byte digest to out and wipe the state (explicit_bzero).  The
 * state must be initialised again before reuse.
 */
void keccak256_final(struct keccak256 *k, uint8_t out[32]);

/* One-shot Keccak-256 of p[0..n) into out. */
void keccak256(const void *p, size_t n, uint8_t out[32]);

#endif
