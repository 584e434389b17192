/*
 * Keccak-256 written from the Keccak reference (keccak.team, "The Keccak
 * reference", version 3.0): Keccak-f[1600], rate 1088 bits (136 bytes),
 * capacity 512 bits, multi-rate padding 10*1 with the original domain byte
 * 0x01.
 */
#include "keccak.h"

#include <string.h>

#define KECCAK_RATE	136
#define KECCAK_ROUNDS	24

static const uint64_t keccak_rc[KECCAK_ROUNDS] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
	0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
	0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
	0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
	0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* Rotation offsets of the rho step, lane index x + 5 * y. */
static const unsigned keccak_rho[25] = {
	0, 1, 62, 28, 27,
	36, 44, 6, 55, 20,
	3, 10, 43, 25, 39,
	41, 45, 15, 21, 8,
	18, 2, 61, 56, 14,
};

static inline uint64_t
rotl64(uint64_t v, unsigned n)
{
	return (v << n) | (v >> ((64 - n) & 63));
}

static void
keccak_f1600(uint64_t a[25])
{
	uint64_t b[25], c[5], d;
	unsigned round, x, y;

	for (round = 0; round < KECCAK_ROUNDS; round++) {
		/* theta */
		for (x = 0; x < 5; x++)
			c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
		for (x = 0; x < 5; x++) {
			d = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
			for (y = 0; y < 25; y += 5)
				a[x + y] ^= d;
		}
		/* rho and pi: lane (x, y) moves to (y, 2x + 3y) */
		for (x = 0; x < 5; x++)
			for (y = 0; y < 5; y++)
				b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl64(a[x + 5 * y], keccak_rho[x + 5 * y]);
		/* chi */
		for (y = 0; y < 25; y += 5)
			for (x = 0; x < 5; x++)
				a[x + y] = b[x + y] ^ (~b[(x + 1) % 5 + y] & b[(x + 2) % 5 + y]);
		/* iota */
		a[0] ^= keccak_rc[round];
	}
}

void
keccak256_init(struct keccak256 *k)
{
	memset(k->st, 0, sizeof(k->st));
	k->pos = 0;
}

void
keccak256_update(struct keccak256 *k, const void *p, size_t n)
{
	const uint8_t *in = p;
	size_t i;

	for (i = 0; i < n; i++) {
		k->st[k->pos / 8] ^= (uint64_t)in[i] << (8 * (k->pos % 8));
		if (++k->pos == KECCAK_RATE) {
			keccak_f1600(k->st);
			k->pos = 0;
		}
	}
}

void
keccak256_final(struct keccak256 *k, uint8_t out[32])
{
	size_t i;

	k->st[k->pos / 8] ^= (uint64_t)0x01 << (8 * (k->pos % 8));
	k->st[(KECCAK_RATE - 1) / 8] ^= (uint64_t)0x80 << (8 * ((KECCAK_RATE - 1) % 8));
	keccak_f1600(k->st);
	for (i = 0; i < 32; i++)
		out[i] = (uint8_t)(k->st[i / 8] >> (8 * (i % 8)));
	explicit_bzero(k, sizeof(*k));
}

void
keccak256(const void *p, size_t n, uint8_t out[32])
{
	struct keccak256 k;

	keccak256_init(&k);
	keccak256_update(&k, p, n);
	keccak256_final(&k, out);
}
