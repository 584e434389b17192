/*
 * Test fixture (header-only) for the chain watcher's tests and benchmark:
 * a real anvil with the real DstackP2PMembership deployed by
 * contracts/script/deploy.sh, and peers registered with valid dstack key
 * chains.  The KMS root and app keys are this fixture's own test keys (the
 * contract trusts whichever root its owner sets), so any number of peer keys
 * can be proven without a guest agent:
 *   S1 = sign(kms_root, keccak256("dstack-kms-issued:" || appId || appPubCompressed))
 *   S2 = sign(app_key, keccak256("dstackp2pfs/v1/peer:" || hex(derivedPubCompressed)))
 * (the scheme of contracts/src/DstackMembershipNFT.sol and the dstack KMS).
 * Transactions go through txsend (real signing, real submission).
 */
#ifndef DP_TEST_REGISTRY_FIXTURE_H
#define DP_TEST_REGISTRY_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "ethkey.h"
#include "hex.h"
#include "keccak.h"
#include "rpc.h"
#include "txsend.h"
#include "anvil_fixture.h"

struct regchain {
	struct anvil a;
	struct rpc *rpc;
	struct txsend *owner;
	uint8_t contract[20];
	uint8_t kms_sk[32];
	uint8_t app_sk[32];
	uint8_t app_id[20];
};

static inline __attribute__((noreturn)) void
regchain_die(const char *what, int r)
{
	fprintf(stderr, "registry fixture: %s failed: %d (%s)\n", what, r, strerror(r < 0 ? -r : r));
	abort();
}

/* A deterministic test key: keccak256(label || be32(i)). */
static inline void
regchain_key(const char *label, uint32_t i, uint8_t sk[32])
{
	struct keccak256 k;
	uint8_t be[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };

	keccak256_init(&k);
	keccak256_update(&k, label, strlen(label));
	keccak256_update(&k, be, 4);
	keccak256_final(&k, sk);
}

/* Run "cast rpc METHOD ARGS..." against the chain; aborts on failure. */
static inline void
regchain_rpc(struct regchain *c, const char *method, const char *args)
{
	char cmd[1024];
	const char *src = getenv("DP_SOURCE_DIR");
	int n = snprintf(cmd, sizeof(cmd), "'%s/contracts/bin/cast' rpc --rpc-url %s %s %s >/dev/null",
			 src, c->a.url, method, args ? args : "");

	if (n < 0 || (size_t)n >= sizeof(cmd) || system(cmd) != 0)
		regchain_die(method, -EIO);
}

/* Same, returning the first line of stdout (the JSON result) in out. */
static inline void
regchain_rpc_out(struct regchain *c, const char *method, const char *args, char *out, size_t outsz)
{
	char cmd[1024];
	const char *src = getenv("DP_SOURCE_DIR");
	FILE *f;
	int n = snprintf(cmd, sizeof(cmd), "'%s/contracts/bin/cast' rpc --rpc-url %s %s %s",
			 src, c->a.url, method, args ? args : "");

	if (n < 0 || (size_t)n >= sizeof(cmd) || !(f = popen(cmd, "r")))
		regchain_die(method, -EIO);
	if (!fgets(out, (int)outsz, f))
		out[0] = '\0';
	if (pclose(f) != 0)
		regchain_die(method, -EIO);
	out[strcspn(out, "\r\n")] = '\0';
}

static inline struct txsend *
regchain_sender(struct regchain *c, const uint8_t sk[32])
{
	struct txsend_options o = { .chain_id = ANVIL_CHAIN_ID, .poll_ms = 5 };
	struct txsend *s;
	int r = txsend_new(c->rpc, sk, &o, &s);

	if (r < 0)
		regchain_die("txsend_new", r);
	return s;
}

/* Send calldata to the contract from s; returns txsend_send()'s result. */
static inline int
regchain_send(struct regchain *c, struct txsend *s, const struct buf *cd, const uint8_t *value)
{
	struct txsend_request q = { .to = c->contract, .data = cd->data, .data_len = cd->len,
				    .value = value };
	struct txsend_result res;
	int r = txsend_send(s, &q, &res);

	if (r < 0)
		fprintf(stderr, "registry fixture: transaction failed: %s\n", res.error);
	return r;
}

/*
 * Start anvil (extra args as for anvil_start) and deploy the registry with
 * heartbeat TTL ttl, this fixture's KMS root and app trusted, enrollment
 * open for cap members.
 */
static inline void
regchain_start(struct regchain *c, char *const *extra, unsigned ttl, unsigned cap)
{
	const char *src = getenv("DP_SOURCE_DIR");
	uint8_t owner_sk[32], kms_addr[20], pub[65];
	char cmd[2048], line[256], root[43], app[41];
	FILE *f;
	int r;

	memset(c, 0, sizeof(*c));
	regchain_key("watcher-test-kms-root", 0, c->kms_sk);
	regchain_key("watcher-test-app-key", 0, c->app_sk);
	regchain_key("watcher-test-app-id", 0, pub);	/* 32 bytes; the app id is 20 */
	memcpy(c->app_id, pub, 20);
	if (ethkey_address(c->kms_sk, kms_addr) < 0)
		regchain_die("kms key", -EINVAL);
	ethkey_address_format(kms_addr, root);
	hex_encode(c->app_id, 20, false, app, sizeof(app));
	anvil_start(&c->a, extra);
	r = snprintf(cmd, sizeof(cmd),
		     "DEPLOYER_PRIVATE_KEY=0x%s '%s/contracts/script/deploy.sh' --rpc-url %s "
		     "--ttl %u --kms-root %s --app-id %s --open-enrollment %u 2>&1",
		     ANVIL_SK0, src, c->a.url, ttl, root, app, cap);
	if (r < 0 || (size_t)r >= sizeof(cmd) || !(f = popen(cmd, "r")))
		regchain_die("deploy", -EIO);
	line[0] = '\0';
	while (fgets(line, sizeof(line), f))
		;
	r = pclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (r != 0 || ethkey_address_parse(line, strlen(line), c->contract) < 0) {
		fprintf(stderr, "registry fixture: deploy.sh said '%s'\n", line);
		regchain_die("deploy", -EIO);
	}
	const char *urls[1] = { c->a.url };
	r = rpc_new(urls, 1, NULL, &c->rpc);
	if (r < 0)
		regchain_die("rpc_new", r);
	if (hex_decode_exact(ANVIL_SK0, 64, owner_sk, 32) < 0)
		regchain_die("owner key", -EINVAL);
	c->owner = regchain_sender(c, owner_sk);
}

static inline void
regchain_stop(struct regchain *c)
{
	txsend_free(c->owner);
	rpc_free(c->rpc);
	anvil_stop(&c->a);
}

/* Send 1 ether from the owner to addr with a plain transfer. */
static inline void
regchain_fund(struct regchain *c, const uint8_t addr[20])
{
	uint8_t value[32] = { 0 };
	struct txsend_request q = { .to = addr, .value = value, .gas = 21000 };
	struct txsend_result res;
	int r;

	value[24] = 0x0d;	/* 0x0de0b6b3a7640000 = 1e18 */
	value[25] = 0xe0; value[26] = 0xb6; value[27] = 0xb3;
	value[28] = 0xa7; value[29] = 0x64;
	r = txsend_send(c->owner, &q, &res);
	if (r < 0) {
		fprintf(stderr, "registry fixture: funding failed: %s\n", res.error);
		regchain_die("fund", r);
	}
}

/* 64-byte x||y of sk. */
static inline void
regchain_pub64(const uint8_t sk[32], uint8_t out[64])
{
	uint8_t pub[65];

	if (ethkey_pubkey(sk, pub) < 0)
		regchain_die("pubkey", -EINVAL);
	memcpy(out, pub + 1, 64);
}

/* registerPeer(...) calldata for peer key sk with a valid key chain. */
static inline void
regchain_register_calldata(struct regchain *c, const uint8_t sk[32], const uint8_t instance[20],
			   const char *endpoint, unsigned net, const uint8_t wg[32], struct buf *cd)
{
	static const char purpose[] = "dstackp2pfs/v1/peer:";
	uint8_t dpub[64], apub[64], dcomp[33], acomp[33], h[32], s1[65], s2[65], sel[4];
	char dhex[67];
	struct keccak256 k;
	struct abi_enc e;
	int r;

	regchain_pub64(sk, dpub);
	regchain_pub64(c->app_sk, apub);
	if (ethkey_pubkey_compressed(sk, dcomp) < 0 || ethkey_pubkey_compressed(c->app_sk, acomp) < 0)
		regchain_die("compress", -EINVAL);
	hex_encode(dcomp, 33, false, dhex, sizeof(dhex));
	keccak256_init(&k);
	keccak256_update(&k, purpose, strlen(purpose));
	keccak256_update(&k, dhex, 66);
	keccak256_final(&k, h);
	if (ethkey_sign(c->app_sk, h, s2) < 0)
		regchain_die("sign s2", -EINVAL);
	keccak256_init(&k);
	keccak256_update(&k, "dstack-kms-issued:", 18);
	keccak256_update(&k, c->app_id, 20);
	keccak256_update(&k, acomp, 33);
	keccak256_final(&k, h);
	if (ethkey_sign(c->kms_sk, h, s1) < 0)
		regchain_die("sign s1", -EINVAL);

	abi_selector("registerPeer(bytes20,string,uint8,bytes32,bytes20,bytes,bytes,bytes,bytes)", sel);
	abi_enc_init(&e, ABI_ENC_MAX);
	abi_enc_bytesN(&e, instance, 20);
	abi_enc_string(&e, endpoint, strlen(endpoint));
	abi_enc_uint64(&e, net);
	abi_enc_bytes32(&e, wg);
	abi_enc_bytesN(&e, c->app_id, 20);
	abi_enc_bytes(&e, dpub, 64);
	abi_enc_bytes(&e, apub, 64);
	abi_enc_bytes(&e, s2, 65);
	abi_enc_bytes(&e, s1, 65);
	buf_init(cd, ABI_ENC_MAX + 4);
	r = abi_enc_finish(&e, sel, cd);
	abi_enc_release(&e);
	if (r < 0)
		regchain_die("encode registerPeer", r);
}

/* A test peer: its key and sender. */
struct regpeer {
	uint8_t sk[32];
	uint8_t addr[20];
	uint8_t instance[20];
	struct txsend *s;
};

/* Make peer i (fund it); no registration yet. */
static inline void
regchain_peer(struct regchain *c, uint32_t i, struct regpeer *p)
{
	uint8_t h[32];

	regchain_key("watcher-test-peer", i, p->sk);
	regchain_key("watcher-test-instance", i, h);
	memcpy(p->instance, h, 20);
	if (ethkey_address(p->sk, p->addr) < 0)
		regchain_die("peer key", -EINVAL);
	regchain_fund(c, p->addr);
	p->s = regchain_sender(c, p->sk);
}

/* Register (or update) p with a TLS endpoint. */
static inline int
regchain_register_tls(struct regchain *c, struct regpeer *p, const char *endpoint)
{
	static const uint8_t zero[32];
	struct buf cd;
	int r;

	regchain_register_calldata(c, p->sk, p->instance, endpoint, 0, zero, &cd);
	r = regchain_send(c, p->s, &cd, NULL);
	buf_release(&cd);
	return r;
}

/* Call a no-argument function from p ("updateHeartbeat()", "deregisterPeer()"). */
static inline int
regchain_peer_call(struct regchain *c, struct regpeer *p, const char *sig)
{
	struct buf cd;
	uint8_t sel[4];
	int r;

	abi_selector(sig, sel);
	buf_init(&cd, 4);
	buf_append(&cd, sel, 4);
	r = regchain_send(c, p->s, &cd, NULL);
	buf_release(&cd);
	return r;
}

/* Call an owner function taking one uint ("revoke(uint256)", "setHeartbeatTTL(uint64)"). */
static inline int
regchain_owner_call(struct regchain *c, const char *sig, uint64_t arg)
{
	struct abi_enc e;
	struct buf cd;
	uint8_t sel[4];
	int r;

	abi_selector(sig, sel);
	abi_enc_init(&e, 64);
	abi_enc_uint64(&e, arg);
	buf_init(&cd, 64);
	r = abi_enc_finish(&e, sel, &cd);
	abi_enc_release(&e);
	if (r >= 0)
		r = regchain_send(c, c->owner, &cd, NULL);
	buf_release(&cd);
	return r;
}

static inline void
regpeer_release(struct regpeer *p)
{
	txsend_free(p->s);
	p->s = NULL;
	explicit_bzero(p->sk, sizeof(p->sk));
}

#endif
