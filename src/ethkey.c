#include "ethkey.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "hex.h"
#include "keccak.h"

/* The one context: written under ethkey_lock, read-only afterwards. */
static secp256k1_context *ethkey_ctx;
static pthread_mutex_t ethkey_lock = PTHREAD_MUTEX_INITIALIZER;

static int
fill_random(uint8_t *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = getrandom(p + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	return 0;
}

int
ethkey_global_init(void)
{
	secp256k1_context *ctx;
	uint8_t seed[32];
	int r = 0;

	pthread_mutex_lock(&ethkey_lock);
	if (ethkey_ctx)
		goto out_unlock;
	ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
	if (!ctx) {
		r = -ENOMEM;
		goto out_unlock;
	}
	r = fill_random(seed, sizeof(seed));
	if (r == 0 && !secp256k1_context_randomize(ctx, seed))
		r = -EIO;
	explicit_bzero(seed, sizeof(seed));
	if (r < 0) {
		secp256k1_context_destroy(ctx);
		goto out_unlock;
	}
	ethkey_ctx = ctx;
out_unlock:
	pthread_mutex_unlock(&ethkey_lock);
	return r;
}

void
ethkey_global_free(void)
{
	pthread_mutex_lock(&ethkey_lock);
	if (ethkey_ctx)
		secp256k1_context_destroy(ethkey_ctx);
	ethkey_ctx = NULL;
	pthread_mutex_unlock(&ethkey_lock);
}

/* The context, created on first use; NULL only when creation failed. */
static const secp256k1_context *
ctx_get(void)
{
	secp256k1_context *ctx;

	pthread_mutex_lock(&ethkey_lock);
	ctx = ethkey_ctx;
	pthread_mutex_unlock(&ethkey_lock);
	if (ctx)
		return ctx;
	if (ethkey_global_init() < 0)
		return NULL;
	pthread_mutex_lock(&ethkey_lock);
	ctx = ethkey_ctx;
	pthread_mutex_unlock(&ethkey_lock);
	return ctx;
}

static int
pubkey_of(const uint8_t sk[32], secp256k1_pubkey *ret_pk)
{
	const secp256k1_context *ctx = ctx_get();

	if (!ctx)
		return -ENOMEM;
	if (!secp256k1_ec_pubkey_create(ctx, ret_pk, sk))
		return -EINVAL;
	return 0;
}

static int
pubkey_serialize(const secp256k1_pubkey *pk, uint8_t *out, size_t want, unsigned int flags)
{
	const secp256k1_context *ctx = ctx_get();
	size_t n = want;

	if (!ctx)
		return -ENOMEM;
	if (!secp256k1_ec_pubkey_serialize(ctx, out, &n, pk, flags) || n != want)
		return -EINVAL;
	return 0;
}

int
ethkey_pubkey(const uint8_t sk[32], uint8_t ret_pub65[65])
{
	secp256k1_pubkey pk;
	int r;

	r = pubkey_of(sk, &pk);
	if (r < 0)
		return r;
	return pubkey_serialize(&pk, ret_pub65, 65, SECP256K1_EC_UNCOMPRESSED);
}

int
ethkey_pubkey_compressed(const uint8_t sk[32], uint8_t ret_pub33[33])
{
	secp256k1_pubkey pk;
	int r;

	r = pubkey_of(sk, &pk);
	if (r < 0)
		return r;
	return pubkey_serialize(&pk, ret_pub33, 33, SECP256K1_EC_COMPRESSED);
}

int
ethkey_pubkey_parse(const uint8_t *pub, size_t n, uint8_t ret_pub65[65])
{
	const secp256k1_context *ctx = ctx_get();
	secp256k1_pubkey pk;

	if (!ctx)
		return -ENOMEM;
	if (n != 33 && n != 65)
		return -EINVAL;
	/* libsecp256k1 also takes the hybrid 0x06/0x07 forms; Ethereum does not. */
	if (!(n == 33 && (pub[0] == 0x02 || pub[0] == 0x03)) && !(n == 65 && pub[0] == 0x04))
		return -EINVAL;
	if (!secp256k1_ec_pubkey_parse(ctx, &pk, pub, n))
		return -EINVAL;
	return pubkey_serialize(&pk, ret_pub65, 65, SECP256K1_EC_UNCOMPRESSED);
}

int
ethkey_pubkey_compress(const uint8_t pub65[65], uint8_t ret_pub33[33])
{
	const secp256k1_context *ctx = ctx_get();
	secp256k1_pubkey pk;

	if (!ctx)
		return -ENOMEM;
	if (pub65[0] != 0x04 || !secp256k1_ec_pubkey_parse(ctx, &pk, pub65, 65))
		return -EINVAL;
	return pubkey_serialize(&pk, ret_pub33, 33, SECP256K1_EC_COMPRESSED);
}

void
ethkey_address_from_pubkey(const uint8_t pub65[65], uint8_t ret_addr[20])
{
	uint8_t h[32];

	keccak256(pub65 + 1, 64, h);
	memcpy(ret_addr, h + 12, 20);
}

int
ethkey_address(const uint8_t sk[32], uint8_t ret_addr[20])
{
	uint8_t pub[65];
	int r;

	r = ethkey_pubkey(sk, pub);
	if (r < 0)
		return r;
	ethkey_address_from_pubkey(pub, ret_addr);
	return 0;
}

int
ethkey_sign(const uint8_t sk[32], const uint8_t hash[32], uint8_t ret_sig65[65])
{
	const secp256k1_context *ctx = ctx_get();
	secp256k1_ecdsa_recoverable_signature sig;
	uint8_t out[64];
	int recid;

	if (!ctx)
		return -ENOMEM;
	/* Default nonce function is RFC 6979; libsecp256k1 always emits low s. */
	if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, hash, sk, NULL, NULL))
		return -EINVAL;
	if (!secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, out, &recid, &sig))
		return -EINVAL;
	memcpy(ret_sig65, out, 64);
	ret_sig65[64] = (uint8_t)recid;
	return 0;
}

int
ethkey_recover(const uint8_t hash[32], const uint8_t sig65[65], uint8_t ret_pub65[65])
{
	const secp256k1_context *ctx = ctx_get();
	secp256k1_ecdsa_recoverable_signature sig;
	secp256k1_pubkey pk;
	int v = sig65[64];

	if (!ctx)
		return -ENOMEM;
	if (v == 27 || v == 28)
		v -= 27;
	if (v != 0 && v != 1)
		return -EBADMSG;
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, sig65, v))
		return -EBADMSG;
	if (!secp256k1_ecdsa_recover(ctx, &pk, &sig, hash))
		return -EBADMSG;
	if (pubkey_serialize(&pk, ret_pub65, 65, SECP256K1_EC_UNCOMPRESSED) < 0)
		return -EBADMSG;
	return 0;
}

/* EIP-55: uppercase hex letter i when nibble i of keccak256(lowercase hex) >= 8. */
static void
checksum_case(const char lower[40], char out[40])
{
	uint8_t h[32];
	unsigned nib;
	int i;

	keccak256(lower, 40, h);
	for (i = 0; i < 40; i++) {
		nib = (i & 1) ? (h[i / 2] & 0x0f) : (h[i / 2] >> 4);
		out[i] = lower[i];
		if (lower[i] >= 'a' && lower[i] <= 'f' && nib >= 8)
			out[i] = (char)(lower[i] - 'a' + 'A');
	}
}

void
ethkey_address_format(const uint8_t addr[20], char out[43])
{
	static const char digits[] = "0123456789abcdef";
	char lower[40];
	int i;

	for (i = 0; i < 20; i++) {
		lower[2 * i] = digits[addr[i] >> 4];
		lower[2 * i + 1] = digits[addr[i] & 0x0f];
	}
	out[0] = '0';
	out[1] = 'x';
	checksum_case(lower, out + 2);
	out[42] = '\0';
}

int
ethkey_address_parse(const char *s, size_t n, uint8_t ret_addr[20])
{
	char lower[40], want[40];
	bool has_upper = false, has_lower = false;
	uint8_t addr[20];
	size_t i;

	if (n != ETHKEY_ADDRESS_STRLEN || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -EINVAL;
	if (hex_decode_exact(s + 2, 40, addr, sizeof(addr)) < 0)
		return -EINVAL;
	for (i = 0; i < 40; i++) {
		char c = s[2 + i];

		if (c >= 'A' && c <= 'F') {
			has_upper = true;
			c = (char)(c - 'A' + 'a');
		} else if (c >= 'a' && c <= 'f') {
			has_lower = true;
		}
		lower[i] = c;
	}
	if (has_upper && has_lower) {
		checksum_case(lower, want);
		if (memcmp(want, s + 2, 40) != 0)
			return -EINVAL;
	}
	memcpy(ret_addr, addr, 20);
	return 0;
}
