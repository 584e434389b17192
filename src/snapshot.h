/*
 * snapshot: the immutable peer snapshot and the rendering of every /p2p file.
 *
 * The chain watcher fills an array of struct peer with the LIVE peers (it
 * decides liveness from heartbeats), calls snapshot_new(), and hands the
 * result to the views (fs_publish(), the WireGuard applier).  A snapshot is
 * immutable and reference counted: readers take a reference, use it, drop it.
 * It holds the peers sorted by token id and the pre-rendered bytes of
 * `peers`, `leader` and `peers.json`.
 *
 * The renderers for `self`, `status` and `register` are pure functions over
 * plain structs, so the daemon renders into a buf and calls fs_set_text().
 *
 * Data module: no logging, no global state, every output capped.
 */
#ifndef DP_SNAPSHOT_H
#define DP_SNAPSHOT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Most peers one snapshot holds (-E2BIG beyond). */
#define PEERS_MAX		1024
/* Longest endpoint (a DNS name is at most 253 characters), without NUL. */
#define ENDPOINT_MAX		253
/* Caps on the rendered files. */
#define SNAPSHOT_PEERS_MAX	(PEERS_MAX * (ENDPOINT_MAX + 1))
#define SNAPSHOT_LEADER_MAX	(ENDPOINT_MAX + 1)
#define SNAPSHOT_JSON_MAX	(PEERS_MAX * 2048)
/* Cap on the rendered self, status and register files. */
#define SNAPSHOT_TEXT_MAX	8192
/* Longest free-text field (rpc url, error text) in self/status/register. */
#define SNAPSHOT_NOTE_MAX	511

enum peer_net {
	PEER_NET_TLS = 0,	/* connection string: the endpoint URL */
	PEER_NET_WIREGUARD = 1,	/* connection string: the mesh IP */
};

/* WireGuard runtime figures for peers.json, filled by the WireGuard applier. */
struct peer_wg_stats {
	bool valid;			/* false: not rendered */
	uint64_t latest_handshake;	/* unix seconds, 0 = never */
	uint64_t handshake_age;		/* seconds since it, when it happened */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
};

/* One peer as recorded by the registry contract. */
struct peer {
	uint64_t token_id;
	uint8_t instance_id[20];
	uint8_t address[20];		/* the peer's key address */
	char endpoint[ENDPOINT_MAX + 1];	/* NUL-terminated, already validated */
	enum peer_net net;
	uint8_t wg_pubkey[32];
	bool has_wg;			/* wg_pubkey is set */
	uint64_t last_heartbeat;	/* chain seconds */
	struct in_addr mesh_ip;		/* WireGuard mode: network order */
	struct peer_wg_stats wg;
};

/* Read-only after snapshot_new(); never modify a published snapshot. */
struct snapshot {
	unsigned int refs;	/* atomic; use snapshot_ref()/snapshot_unref() */
	uint64_t generation;
	size_t npeers;
	struct peer *peers;	/* sorted by token_id, unique token ids */
	struct buf peers_txt;	/* the `peers` file */
	struct buf leader_txt;	/* the `leader` file (empty: no peer) */
	struct buf json_txt;	/* the `peers.json` file */
	/*
	 * peers.json without the volatile `wg` figures: the change key.  Views
	 * raise change events when this (the membership) changes, not when only
	 * the figures did (fs.h "Change events").
	 */
	struct buf json_key;
};

/*
 * Build a snapshot of n live peers (copied; the caller keeps its array),
 * sorted by token id, with every file rendered.  Returns 0 and a snapshot
 * holding one reference in *ret_snap, -EINVAL (duplicate token id, an
 * endpoint not NUL-terminated within ENDPOINT_MAX, an unknown net type),
 * -E2BIG (n > PEERS_MAX, a rendered file over its cap), -ENOMEM.
 */
int snapshot_new(const struct peer *peers, size_t n, uint64_t generation,
    struct snapshot **ret_snap);

/* Take one more reference; returns s.  Thread-safe. */
struct snapshot *snapshot_ref(struct snapshot *s);

/* Drop a reference; the last one frees s.  NULL is allowed.  Thread-safe. */
void snapshot_unref(struct snapshot *s);

/*
 * Append peer p's connection string (endpoint in TLS mode, dotted mesh IP in
 * WireGuard mode) without newline.  Returns 0, -EINVAL, -E2BIG, -ENOMEM.
 */
int snapshot_render_connection(const struct peer *p, struct buf *out);

/*
 * Append the JSON record of one peer (an object, keys in a fixed order:
 * token_id, instance_id, address, network, endpoint, and
 * when they apply mesh_ip, wg_public_key (base64), wg {latest_handshake
 * (unix seconds, 0 = never), handshake_age (seconds, null = never),
 * rx_bytes, tx_bytes}).  Returns 0, -EINVAL, -E2BIG, -ENOMEM.
 */
int snapshot_render_json_peer(const struct peer *p, struct buf *out);

/* What `self` shows: this instance.  Never holds a private key. */
struct snapshot_self {
	uint8_t instance_id[20];
	uint8_t app_id[20];
	uint8_t address[20];
	bool has_token;
	uint64_t token_id;
	char endpoint[ENDPOINT_MAX + 1];
	enum peer_net mode;
	bool has_mesh_ip;
	struct in_addr mesh_ip;
	bool has_wg;
	uint8_t wg_pubkey[32];
	uint8_t contract[20];
	uint64_t chain_id;
	const char *registration;	/* e.g. "registered"; NULL: "unknown" */
};

/*
 * Render `self` as key=value lines: instance_id, app_id, address, token_id
 * (when registered), endpoint, mode, mesh_ip and wg_public_key (when they
 * apply), contract, chain_id, registration.  Returns 0, -EINVAL (a string
 * field not NUL-terminated or holding a newline), -E2BIG, -ENOMEM.
 */
int snapshot_render_self(const struct snapshot_self *s, struct buf *out);

/* What `status` shows: the health of the chain view. */
struct snapshot_status {
	uint64_t chain_head;
	uint64_t synced_block;
	const char *rpc_url;		/* in use; NULL or "" when none */
	const char *last_error;		/* NULL or "" when none */
	uint64_t generation;
	bool stale;
	bool low_balance;
};

/*
 * Render `status` as key=value lines: chain_head, synced_block, rpc,
 * last_error, generation, stale (0/1), low_balance (0/1).  Returns 0,
 * -EINVAL (a string with a newline or over SNAPSHOT_NOTE_MAX), -E2BIG, -ENOMEM.
 */
int snapshot_render_status(const struct snapshot_status *s, struct buf *out);

enum snapshot_reg_state {
	SNAPSHOT_REG_UNREGISTERED = 0,
	SNAPSHOT_REG_PENDING,
	SNAPSHOT_REG_REGISTERED,
	SNAPSHOT_REG_LEAVING,
	SNAPSHOT_REG_FAILED,
};

/* What reading `register` shows. */
struct snapshot_reg {
	enum snapshot_reg_state state;
	uint64_t token_id;		/* REGISTERED */
	uint8_t tx_hash[32];		/* REGISTERED */
	uint64_t block;			/* REGISTERED */
	int error;			/* FAILED: the positive errno returned */
	const char *reason;		/* FAILED: why, NULL or "" when unknown */
};

/*
 * Render `register`: "state=<unregistered|pending|registered|leaving|failed>"
 * then, registered: token_id, tx (0x hash), block; failed: errno (number),
 * error (its name, e.g. EHOSTUNREACH when known), reason.  Returns 0,
 * -EINVAL (bad state, a reason with a newline or too long), -E2BIG, -ENOMEM.
 */
int snapshot_render_register(const struct snapshot_reg *r, struct buf *out);

#endif
