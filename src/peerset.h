/*
 * peerset: the chain watcher's pure state machine.
 *
 * A peerset mirrors the registry contract's peer records (registered peers,
 * live or not) and its heartbeat TTL.  It is fed either a full page set from
 * getPeers() (re-sync at a pinned block) or the contract's events in (block,
 * logIndex) order (incremental sync), and answers which peers are live at a
 * given chain time, exactly as the contract's isLive() does:
 *	registered && token held && lastHeartbeat + heartbeatTTL >= chain time
 *
 * Every record is re-validated here because the daemon trusts nothing it
 * reads from the chain: a record whose network type is not the daemon's
 * mode, whose endpoint fails endpoint.h, whose WireGuard key is zero, or
 * whose token has no host address in the mesh network (WireGuard mode) is
 * kept (so later events apply) but never reported live.
 *
 * Data module: no logging, no I/O, no global state, not thread-safe (the
 * watcher thread owns its peersets).  Every count is capped by PEERS_MAX.
 */
#ifndef DP_PEERSET_H
#define DP_PEERSET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonrpc.h"
#include "snapshot.h"

/* Most records one getPeers() page may hold (the contract's PAGE_MAX). */
#define PEERSET_PAGE_MAX	1000

/* Why a registered record is never reported live. */
enum peerset_reject {
	PEERSET_OK = 0,
	PEERSET_WRONG_MODE,	/* network type is not the daemon's mode */
	PEERSET_BAD_ENDPOINT,	/* endpoint fails the daemon's rules */
	PEERSET_BAD_WG_KEY,	/* WireGuard mode without a key */
	PEERSET_NO_MESH_IP,	/* token id beyond the mesh network's hosts */
};

struct peerset_config {
	enum peer_net mode;		/* the daemon's mode */
	struct in_addr mesh_net;	/* WireGuard mode: network order */
	uint8_t mesh_prefix;		/* WireGuard mode: 8..30 */
};

/* One registered record.  Fields are read-only outside peerset.c. */
struct peerset_entry {
	struct peer p;			/* mesh_ip set in WireGuard mode */
	enum peerset_reject reject;
	bool reported;			/* reject already handed to a caller */
};

struct peerset {
	struct peerset_config cfg;
	uint64_t ttl;			/* heartbeatTTL, seconds */
	struct peerset_entry *v;	/* sorted by token id, unique */
	size_t n;
	size_t alloc;
};

/* The contract events the watcher follows. */
enum peerset_ev_kind {
	PEERSET_EV_REGISTERED = 0,	/* PeerRegistered */
	PEERSET_EV_UPDATED,		/* PeerUpdated */
	PEERSET_EV_HEARTBEAT,		/* Heartbeat */
	PEERSET_EV_DEREGISTERED,	/* PeerDeregistered */
	PEERSET_EV_REVOKED,		/* PeerRevoked */
	PEERSET_EV_TTL,			/* HeartbeatTTLSet */
	PEERSET_EV_TRANSFER,		/* ERC-721 Transfer (mint, burn) */
	PEERSET_EV_COUNT,
};

/* One decoded event.  Which fields are set depends on kind. */
struct peerset_event {
	enum peerset_ev_kind kind;
	uint64_t block_number;
	uint64_t log_index;
	uint64_t token_id;		/* all but TTL */
	struct peer rec;		/* REGISTERED/UPDATED; last_heartbeat 0 */
	uint64_t timestamp;		/* HEARTBEAT */
	uint64_t ttl;			/* TTL */
	uint8_t from[20];		/* TRANSFER */
	uint8_t to[20];			/* TRANSFER */
};

/* Start an empty set with TTL 0 (nothing is live until a TTL is set). */
void peerset_init(struct peerset *ps, const struct peerset_config *cfg);

/* Free the records and reset to empty (keeps cfg). */
void peerset_release(struct peerset *ps);

/*
 * Make dst an exact copy of src (dst is released first).  Returns 0 or
 * -ENOMEM (dst unchanged).
 */
int peerset_copy(struct peerset *dst, const struct peerset *src);

/* Replace src's content into dst and leave src empty (no allocation). */
void peerset_move(struct peerset *dst, struct peerset *src);

/*
 * The topic-0 hashes of the events followed, indexed by enum
 * peerset_ev_kind (for an eth_getLogs topic filter).  Computed once; the
 * array is static and read-only.
 */
const uint8_t (*peerset_event_topics(void))[32];

/*
 * Decode one log of the registry contract (with registry.h's decoder, which
 * refuses any record the contract could not have stored).  Returns 0 and
 * *ret, -ENOENT (an event this module does not follow, or a log of another
 * address), -EBADMSG (wrong topic count, malformed data, an endpoint too
 * long or with a byte outside the safe set, a WireGuard key that does not
 * fit the network type), -ERANGE (a token id or timestamp past 64 bits).
 */
int peerset_decode_log(const struct jsonrpc_log *log, const uint8_t contract[20],
		       struct peerset_event *ret);

/*
 * Apply one event.  block_time is the timestamp of the event's block (the
 * contract stores it as lastHeartbeat on registration).  Returns 1 when the
 * set changed, 0 when the event changed nothing (heartbeat of an unknown
 * token, mint), -E2BIG (more than PEERS_MAX records), -ENOMEM.
 */
int peerset_apply(struct peerset *ps, const struct peerset_event *ev, uint64_t block_time);

/*
 * Decode the return data of getPeers(start, limit) (registry.h's decoder,
 * same rules as above) and add every record to ps.  *ret_next is the token id to continue from (0: done).  Returns 0,
 * -EBADMSG, -ERANGE, -E2BIG (page past PEERSET_PAGE_MAX, set past
 * PEERS_MAX), -ENOMEM.  On failure ps may hold part of the page: callers
 * throw a partial re-sync away.
 */
int peerset_add_page(struct peerset *ps, const uint8_t *data, size_t len, uint64_t *ret_next);

/* The record of token_id, or NULL. */
const struct peerset_entry *peerset_find(const struct peerset *ps, uint64_t token_id);

/* The contract's liveness rule at chain time now (overflow-safe). */
bool peerset_is_live(uint64_t last_heartbeat, uint64_t ttl, uint64_t now);

/*
 * Fill out[0..cap) with the live, valid peers at chain time now, sorted by
 * token id.  Returns 0 and *ret_n, -E2BIG if cap is too small.
 */
int peerset_live(const struct peerset *ps, uint64_t now, struct peer *out, size_t cap,
		 size_t *ret_n);

/*
 * The earliest chain time after now at which a live record stops being
 * live, UINT64_MAX when none will.  Lets the watcher skip recomputing.
 */
uint64_t peerset_next_expiry(const struct peerset *ps, uint64_t now);

/* True when two peers would render the same (every published field). */
bool peerset_peer_equal(const struct peer *a, const struct peer *b);

/*
 * Call fn once for each rejected record not yet reported, then mark it
 * reported (a record's reject is reported again after it changes).  For
 * logging a rejection once.
 */
void peerset_report_rejects(struct peerset *ps,
			    void (*fn)(void *arg, const struct peerset_entry *e), void *arg);

/* A short lowercase name of a reject reason ("bad endpoint"). */
const char *peerset_reject_name(enum peerset_reject r);

#endif
