/*
 * identity: the keys this daemon derives from the dstack guest agent and the
 * registration proof the peer registry contract checks.
 *
 * Key scheme, version 1.  These strings are part of the cluster's identity:
 * changing any of them re-keys every instance, so a change is a new version
 * ("dstackp2pfs/v2/..."), never an edit.  The contract side uses the same.
 *
 *   Ethereum key:  GetKey(path    = "dstackp2pfs/v1/eth/" <instance_id, 40 lowercase hex>,
 *                         purpose = "dstackp2pfs/v1/peer", algorithm "secp256k1")
 *   WireGuard key: GetKey(path    = "dstackp2pfs/v1/wireguard/" <instance_id>,
 *                         purpose = "dstackp2pfs/v1/wireguard")
 *                  the 32 key bytes clamped (RFC 7748) as an X25519 private key.
 *
 * The agent's keys depend on the app and the path only, so the instance id
 * in the path makes them per instance and stable across restarts.
 * Secrets (the derived keys) live in fixed arrays inside the structs below
 * and are wiped by identity_proof_release() / identity_wg_release().  They
 * are never written to files, logs or the mount.
 */
#ifndef DP_IDENTITY_H
#define DP_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"

#define IDENTITY_SCHEME		"dstackp2pfs/v1"
#define IDENTITY_ETH_PATH_PREFIX IDENTITY_SCHEME "/eth/"
#define IDENTITY_ETH_PURPOSE	IDENTITY_SCHEME "/peer"
#define IDENTITY_WG_PATH_PREFIX	IDENTITY_SCHEME "/wireguard/"
#define IDENTITY_WG_PURPOSE	IDENTITY_SCHEME "/wireguard"
#define IDENTITY_PATH_MAX	96	/* room for any path above + NUL */
#define IDENTITY_WG_B64_LEN	44	/* base64 of 32 bytes, without NUL */

/* The registration proof (everything the contract checks) and the key. */
struct identity_proof {
	uint8_t instance_id[20];
	uint8_t app_id[20];
	uint8_t derived_pub[65];	/* 0x04 || x || y; the contract takes x || y */
	uint8_t app_pub[65];		/* recovered from S2, bound to app_id by S1 */
	uint8_t app_sig[65];		/* S2: app key over purpose ":" hex(derived_pub33) */
	uint8_t kms_sig[65];		/* S1: KMS root over app_id || app_pub33 */
	uint8_t derived_addr[20];	/* the instance's Ethereum address */
	uint8_t kms_root[20];		/* the KMS signer S1 recovered to */
	uint8_t derived_sk[32];		/* SECRET: signs this instance's transactions */
};

/* The WireGuard key pair. */
struct identity_wg {
	uint8_t sk[32];			/* SECRET: clamped X25519 private key */
	uint8_t pub[32];
};

/*
 * Write path prefix + 40 lowercase hex digits of instance_id and a NUL to
 * ret_path (IDENTITY_PATH_MAX bytes).  Returns 0, -ENOSPC (prefix too long;
 * ret_path untouched).
 */
int identity_key_path(const char *prefix, const uint8_t instance_id[20],
		       char ret_path[IDENTITY_PATH_MAX]);

/*
 * Build and check a proof from an Info reply and the GetKey reply for
 * IDENTITY_ETH_PURPOSE: derive the public key and address from key->key,
 * verify the chain (kms_chain_verify) against roots[0..n).  Pure.
 * Returns 0, -EINVAL (the key is not a valid secp256k1 key), -EBADMSG (a
 * signature recovers nothing), -EACCES (KMS root not trusted).  On success
 * ret holds a copy of the secret key: release it with identity_proof_release().
 */
int identity_proof_from_key(const struct agent_info *info, const struct agent_key *key,
			    const uint8_t (*roots)[20], size_t n,
			    struct identity_proof *ret);

/*
 * Ask the agent for this instance's Ethereum key (path from info's instance
 * id) and build its proof as identity_proof_from_key().  Returns those
 * errors and agent_get_key()'s; agent_last_error() describes agent errors.
 */
int identity_load_proof(struct agent *a, const struct agent_info *info,
			const uint8_t (*roots)[20], size_t n,
			struct identity_proof *ret);

/* Wipe a proof (explicit_bzero of the whole struct). */
void identity_proof_release(struct identity_proof *p);

/*
 * Clamp 32 key bytes into an X25519 private key and compute its public key
 * (OpenSSL).  Returns 0, -EIO.  Temporaries wiped.
 */
int identity_wg_from_bytes(const uint8_t key[32], struct identity_wg *ret);

/* Ask the agent for the WireGuard key of info's instance. Returns as above. */
int identity_load_wg(struct agent *a, const struct agent_info *info, struct identity_wg *ret);

/* Wipe a WireGuard key pair. */
void identity_wg_release(struct identity_wg *w);

/* Base64 of a 32-byte WireGuard key plus NUL into out (45 bytes). */
void identity_wg_base64(const uint8_t key[32], char out[IDENTITY_WG_B64_LEN + 1]);

#endif
