/*
 * registry: the C face of the DstackP2PMembership contract (contracts/).
 *
 * Function selectors and event topics (from the canonical signatures below,
 * checked against the compiled ABI by tests/unit/test_registry.c), calldata
 * encoders for the calls the daemon makes, and bounded decoders of their
 * return data and of the contract's event logs into plain structs.
 *
 * Nothing read from the chain is trusted: strings are copied with caps and
 * refused unless every byte is in the endpoint safe set (endpoint.h), enums
 * are range-checked, fixed-size values must be exactly their size with clean
 * padding, and uint256 values that do not fit 64 bits are -ERANGE.
 *
 * Pure codec: no logging, no I/O, no global state.
 */
#ifndef DP_REGISTRY_H
#define DP_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define REGISTRY_ENDPOINT_MAX	253	/* bytes, the contract's ENDPOINT_MAX */
#define REGISTRY_PAGE_MAX	1000	/* records per getPeers() page, the contract's PAGE_MAX */
#define REGISTRY_PUBKEY_LEN	64	/* uncompressed x||y, no 0x04 */
#define REGISTRY_SIG_LEN	65	/* r||s||v */
#define REGISTRY_CALLDATA_MAX	4096	/* any calldata built here */

enum registry_net {
	REGISTRY_NET_TLS_GATEWAY = 0,
	REGISTRY_NET_WIREGUARD = 1,
};

/* The contract functions the daemon and tools call. */
enum registry_fn {
	REGISTRY_FN_REGISTER_PEER = 0,
	REGISTRY_FN_UPDATE_HEARTBEAT,
	REGISTRY_FN_DEREGISTER_PEER,
	REGISTRY_FN_ENROLL,
	REGISTRY_FN_GET_PEERS,
	REGISTRY_FN_GET_PEER,
	REGISTRY_FN_GET_PEER_ENDPOINTS,
	REGISTRY_FN_GET_LEADER,
	REGISTRY_FN_IS_LIVE,
	REGISTRY_FN_TOKEN_OF,
	REGISTRY_FN_TOKEN_OF_INSTANCE,
	REGISTRY_FN_TOKEN_OF_WG_KEY,
	REGISTRY_FN_MEMBERSHIP_VERSION,
	REGISTRY_FN_LAST_CHANGE_BLOCK,
	REGISTRY_FN_HEARTBEAT_TTL,
	REGISTRY_FN_LAST_TOKEN_ID,
	REGISTRY_FN_IS_KMS_ROOT,
	REGISTRY_FN_IS_ALLOWED_APP,
	REGISTRY_FN_OPEN_ENROLLMENT,
	REGISTRY_FN_COUNT,
};

/* The contract's events (contracts/README.md, "Event schema"). */
enum registry_ev {
	REGISTRY_EV_PEER_REGISTERED = 0,
	REGISTRY_EV_PEER_UPDATED,
	REGISTRY_EV_HEARTBEAT,
	REGISTRY_EV_PEER_DEREGISTERED,
	REGISTRY_EV_PEER_REVOKED,
	REGISTRY_EV_HEARTBEAT_TTL_SET,
	REGISTRY_EV_MEMBER_ENROLLED,
	REGISTRY_EV_TRANSFER,		/* ERC-721: mint (from 0) and revoke (to 0) */
	REGISTRY_EV_COUNT,
};

/* The canonical signature of fn, e.g. "getPeers(uint256,uint256)"; NULL if out of range. */
const char *registry_fn_signature(enum registry_fn fn);

/* The 4-byte selector of fn.  Returns 0, -EINVAL if fn is out of range. */
int registry_selector(enum registry_fn fn, uint8_t ret[4]);

/* The canonical signature of ev; NULL if out of range. */
const char *registry_event_signature(enum registry_ev ev);

/* The topic-0 hash of ev.  Returns 0, -EINVAL if ev is out of range. */
int registry_event_topic(enum registry_ev ev, uint8_t ret[32]);

/* Number of the contract's custom errors known here. */
size_t registry_error_count(void);

/* The signature of custom error i (< registry_error_count()), else NULL. */
const char *registry_error_signature(size_t i);

/*
 * Name the custom error in revert data: *ret_signature is its signature
 * (static storage).  Returns 0, -ENOENT for a selector not known here,
 * -EBADMSG for data shorter than a selector.
 */
int registry_error_lookup(const uint8_t *data, size_t len, const char **ret_signature);

/* ---- calldata ---------------------------------------------------------- */

/* The dstack GetKey signature chain, as registerPeer() and enroll() take it. */
struct registry_proof {
	uint8_t app_id[20];
	uint8_t derived_pubkey[REGISTRY_PUBKEY_LEN];
	uint8_t app_pubkey[REGISTRY_PUBKEY_LEN];
	uint8_t app_signature[REGISTRY_SIG_LEN];	/* S2 */
	uint8_t kms_signature[REGISTRY_SIG_LEN];	/* S1 */
};

struct registry_registration {
	uint8_t instance_id[20];
	const char *endpoint;		/* endpoint_len bytes, not owned */
	size_t endpoint_len;
	enum registry_net net;
	uint8_t wg_pubkey[32];		/* all zero in TLS mode */
	struct registry_proof proof;
};

/*
 * Append registerPeer(...) calldata to out.  Returns 0, -EINVAL (endpoint
 * empty, longer than REGISTRY_ENDPOINT_MAX or outside the safe set; bad net;
 * a WireGuard key in TLS mode or none in WireGuard mode), -E2BIG/-ENOMEM
 * from out (out unchanged on failure).
 */
int registry_encode_register_peer(const struct registry_registration *r, struct buf *out);

/* Append enroll(appId, derived, appPub, S2, S1) calldata.  Returns 0, -E2BIG, -ENOMEM. */
int registry_encode_enroll(const struct registry_proof *p, struct buf *out);

/* Append getPeers(start, limit) calldata.  Returns 0, -E2BIG, -ENOMEM. */
int registry_encode_get_peers(uint64_t start, uint64_t limit, struct buf *out);

/*
 * Append calldata of a call without arguments (updateHeartbeat,
 * deregisterPeer, getPeerEndpoints, getLeader, membershipVersion,
 * lastChangeBlock, heartbeatTTL, lastTokenId, openEnrollment).  Returns 0,
 * -EINVAL if fn takes arguments, -E2BIG, -ENOMEM.
 */
int registry_encode_call(enum registry_fn fn, struct buf *out);

/* Calldata of a call taking one uint256 (getPeer, isLive).  Same returns. */
int registry_encode_call_u64(enum registry_fn fn, uint64_t arg, struct buf *out);

/* Calldata of a call taking one address (tokenOf, isKmsRoot).  Same returns. */
int registry_encode_call_address(enum registry_fn fn, const uint8_t addr[20], struct buf *out);

/*
 * Calldata of a call taking one bytesN value: bytes20 for tokenOfInstance
 * and isAllowedApp, bytes32 for tokenOfWgKey (n must match).  Same returns.
 */
int registry_encode_call_fixed(enum registry_fn fn, const uint8_t *v, size_t n, struct buf *out);

/* ---- return data ------------------------------------------------------- */

/* A peer record (getPeers(), getPeer()). */
struct registry_peer {
	uint64_t token_id;
	uint8_t key[20];		/* zero: no such token */
	uint8_t instance_id[20];	/* zero: not registered */
	enum registry_net net;
	uint64_t last_heartbeat;	/* chain seconds */
	bool live;			/* at the block of the call */
	uint8_t wg_pubkey[32];
	char endpoint[REGISTRY_ENDPOINT_MAX + 1];	/* NUL-terminated; "" iff not registered */
	size_t endpoint_len;
};

/* One endpoint of getPeerEndpoints(). */
struct registry_endpoint {
	char s[REGISTRY_ENDPOINT_MAX + 1];	/* NUL-terminated, safe set only */
	size_t len;
};

/*
 * Decode a single uint (uint8..uint256) return value.  Returns 0, -EBADMSG
 * (short), -ERANGE (does not fit 64 bits).
 */
int registry_decode_u64(const uint8_t *data, size_t len, uint64_t *ret);

/* Decode a single bool return value.  Returns 0, -EBADMSG. */
int registry_decode_bool(const uint8_t *data, size_t len, bool *ret);

/*
 * Decode getPeer()'s record.  Returns 0, -EBADMSG (malformed; bad network
 * type; endpoint empty for a registered record, non-empty for an
 * unregistered one, or with a byte outside the safe set; a WireGuard key in
 * TLS mode or none in WireGuard mode), -E2BIG (endpoint past
 * REGISTRY_ENDPOINT_MAX), -ERANGE (a number past 64 bits).
 */
int registry_decode_peer(const uint8_t *data, size_t len, struct registry_peer *ret);

/*
 * Decode a getPeers() page into out[0..cap): *ret_n records, every one of
 * them registered, and *ret_next (0: done).  Returns 0, the errors of
 * registry_decode_peer(), -E2BIG when the page holds more than cap or
 * REGISTRY_PAGE_MAX records.  out may be partly written on failure.
 */
int registry_decode_peers_page(const uint8_t *data, size_t len, struct registry_peer *out,
			       size_t cap, size_t *ret_n, uint64_t *ret_next);

/*
 * Decode getPeerEndpoints() into out[0..cap).  Returns 0 and *ret_n,
 * -EBADMSG (malformed, empty or unsafe endpoint), -E2BIG (more than cap,
 * or an endpoint past REGISTRY_ENDPOINT_MAX).  out may be partly written on
 * failure.
 */
int registry_decode_endpoints(const uint8_t *data, size_t len, struct registry_endpoint *out,
			      size_t cap, size_t *ret_n);

/* ---- event logs -------------------------------------------------------- */

/* One decoded event; which fields are set depends on kind (zero otherwise). */
struct registry_event {
	enum registry_ev kind;
	uint64_t token_id;		/* all but HEARTBEAT_TTL_SET */
	uint8_t key[20];		/* REGISTERED..REVOKED, MEMBER_ENROLLED */
	uint8_t instance_id[20];	/* REGISTERED, UPDATED, DEREGISTERED, REVOKED */
	enum registry_net net;		/* REGISTERED, UPDATED */
	uint8_t wg_pubkey[32];		/* REGISTERED, UPDATED */
	char endpoint[REGISTRY_ENDPOINT_MAX + 1];	/* REGISTERED, UPDATED */
	size_t endpoint_len;
	uint64_t timestamp;		/* HEARTBEAT */
	uint64_t ttl;			/* HEARTBEAT_TTL_SET */
	uint8_t app_id[20];		/* MEMBER_ENROLLED */
	uint8_t from[20];		/* TRANSFER */
	uint8_t to[20];			/* TRANSFER */
};

/*
 * Decode one log of the contract: topics[0..ntopics) and data[0..len).
 * Returns 0, -ENOENT (no topics, or a topic 0 that is none of
 * enum registry_ev), -EBADMSG (wrong topic count, dirty topic padding,
 * malformed data, the record rules of registry_decode_peer()), -E2BIG
 * (endpoint past the cap), -ERANGE (a number past 64 bits).  The caller
 * checks the log's address.
 */
int registry_decode_event(const uint8_t (*topics)[32], size_t ntopics, const uint8_t *data,
			  size_t len, struct registry_event *ret);

#endif
