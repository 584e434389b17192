/*
 * watcher: the chain watcher.  A thread that polls the registry contract
 * over JSON-RPC and publishes immutable peer snapshots and status to sinks
 * (the FUSE view, later the WireGuard applier).  Data flows one way: sinks
 * never call back into the chain.
 *
 * Sync model:
 *   - target block = head - confirmations; the watcher keeps (synced number,
 *     synced hash, chain time = timestamp of the synced block).
 *   - start-up and every re-sync: getPeers() pages, heartbeatTTL() with
 *     eth_call pinned at the target block, then the block is re-read to
 *     check that its hash did not change meanwhile.
 *   - each poll: one eth_getBlockByNumber("latest").  Same head hash as last
 *     poll: done (an idle poll is one call, whatever the number of peers).
 *     Otherwise the synced block's hash is checked (by the target's parent
 *     hash when the target is the next block), eth_getLogs fetches the
 *     contract's events in (synced, target] in ranges of at most
 *     WATCHER_LOG_RANGE blocks (halved when a node refuses a range), and
 *     the events are applied in (block, logIndex) order to a working copy
 *     that replaces the set only when the whole range applied.  A changed
 *     hash, a log with removed=true or a log of the target height with
 *     another block hash is a reorg: full re-sync.  More than
 *     WATCHER_RESYNC_GAP ranges behind, a re-sync replaces the log scan.
 *     Registrations take the timestamp of their block as lastHeartbeat (one
 *     eth_getBlockByNumber per block holding one, unless it is the target).
 *   - liveness is judged by chain time exactly as the contract's isLive():
 *     a peer that stops heartbeating drops out once the target block's
 *     timestamp passes lastHeartbeat + TTL, with no event.
 *   - a snapshot is published only when the rendered peer records change
 *     (not on a heartbeat-free poll, a re-sync or a restart that finds the
 *     same set), and never from a half-applied range.
 *   - RPC failure: the last good set stays published, status says stale=1
 *     and the error; polls back off exponentially up to backoff_max_ms and
 *     recover by themselves.  With several RPC URLs, a poll that fails on
 *     the provider in use is retried on the next one (each once per poll),
 *     and the one that answers stays in use.  Each provider's chain id is
 *     checked before it is used (when chain_id is given); one on another
 *     chain is marked bad for the watcher's lifetime and skipped.
 *   - peers whose record fails daemon-side validation (see peerset.h: wrong
 *     network type for the mode, bad endpoint, no WireGuard key, token
 *     beyond the mesh network) are never published; each is logged once.
 *
 * quorum N > 1 (issue #9): before a re-sync or a range
 * of events is applied, providers are asked in order until N of them report
 * the target block with the same hash and the same data (a Keccak digest of
 * the getPeers/heartbeatTTL replies, or of the sorted log set); fewer than N
 * is an error (nothing applied, status stale).  A provider on another chain
 * id than the configured one (or, without one, the first answer's) is marked
 * bad for the watcher's lifetime and logged.  Idle polls cost no extra.
 *
 * Threads and locks: one watcher thread does all chain I/O and calls the
 * sinks.  w->lock guards the current snapshot, the status fields and the
 * kick/stop/low-balance flags; it is never held while calling a sink or the
 * network.
 */
#ifndef DP_WATCHER_H
#define DP_WATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "peerset.h"
#include "snapshot.h"

#define WATCHER_SINKS_MAX	4
#define WATCHER_LOG_RANGE	2000	/* blocks per eth_getLogs at most */
#define WATCHER_PAGE		200	/* records per getPeers() call */
#define WATCHER_RESYNC_GAP	50	/* ranges behind: re-sync instead of logs */
#define WATCHER_BACKOFF_MAX_MS	60000	/* default cap of the retry interval */
#define WATCHER_ERROR_MAX	SNAPSHOT_NOTE_MAX	/* bytes of last_error */

/*
 * Where snapshots and status go.  Both callbacks run on the watcher thread
 * (or the caller of watcher_poll_once()), must not block for long and must
 * not call watcher_stop()/watcher_free().
 */
struct watcher_sink {
	/* A new live set.  The sink takes its own reference to keep snap. */
	void (*publish)(void *arg, struct snapshot *snap);
	/* A status field changed.  Strings are valid during the call only. */
	void (*status)(void *arg, const struct snapshot_status *st);
	void *arg;
};

struct watcher_config {
	const char *const *rpc_urls;	/* copied */
	size_t nrpc;			/* 1..OPTIONS_RPC_MAX */
	uint64_t rpc_timeout_ms;	/* 0: rpc's default */
	uint8_t contract[20];
	bool has_chain_id;
	uint64_t chain_id;		/* checked when has_chain_id */
	uint64_t poll_ms;		/* >= 1 */
	uint64_t confirmations;
	uint32_t quorum;		/* see above; 0 and 1: no check; <= nrpc */
	struct peerset_config set;	/* mode and mesh addressing */
	uint64_t backoff_max_ms;	/* 0: WATCHER_BACKOFF_MAX_MS */
	uint64_t log_range;		/* 0: WATCHER_LOG_RANGE */
};

/* Counters since watcher_new(), for tests and benchmarks. */
struct watcher_stats {
	uint64_t polls;			/* polls that succeeded */
	uint64_t idle_polls;		/* of which saw the same head */
	uint64_t errors;		/* polls that failed */
	uint64_t resyncs;		/* full re-syncs done (start-up included) */
	uint64_t reorgs;		/* reorgs detected */
	uint64_t logs;			/* events applied */
	uint64_t publishes;		/* snapshots handed to sinks */
	uint64_t rpc_calls;		/* the rpc client's counters */
	uint64_t rpc_bytes_sent;
	uint64_t rpc_bytes_received;
};

/* What status shows, plus the synced block's hash and chain time. */
struct watcher_state {
	uint64_t chain_head;
	uint64_t synced_block;		/* 0 before the first sync */
	uint8_t synced_hash[32];
	uint64_t chain_time;		/* timestamp of the synced block */
	uint64_t generation;		/* bumped by each publish, 0 before */
	bool stale;
	bool synced;			/* a sync has completed */
	char last_error[WATCHER_ERROR_MAX + 1];
};

struct watcher;

/*
 * Fill *ret from the daemon's options (URLs point into o: keep o alive while
 * the watcher is created).  Returns 0, -EINVAL (no contract or RPC URL).
 */
int watcher_config_from_options(const struct options *o, const char **urls_scratch,
				size_t scratch_n, struct watcher_config *ret);

/*
 * Create a watcher (no thread yet, no I/O).  Returns 0 and *ret_w, -EINVAL
 * (bad config, e.g. quorum > nrpc), -ENOMEM.
 */
int watcher_new(const struct watcher_config *cfg, struct watcher **ret_w);

/* Add a sink (copied).  Before watcher_start() only.  Returns 0, -E2BIG
 * (WATCHER_SINKS_MAX), -EBUSY (already started). */
int watcher_add_sink(struct watcher *w, const struct watcher_sink *sink);

/* Start the thread; the first poll (a full sync) begins at once.  Returns 0,
 * -EALREADY, or the -errno of pthread_create. */
int watcher_start(struct watcher *w);

/* Stop and join the thread (waits for an RPC call in flight, bounded by the
 * RPC timeout).  Safe when not started.  Thread-safe otherwise. */
void watcher_stop(struct watcher *w);

/* Stop if running and free everything.  NULL is fine. */
void watcher_free(struct watcher *w);

/* Poll now instead of at the next interval (e.g. after our own
 * registration).  Thread-safe, never blocks. */
void watcher_kick(struct watcher *w);

/* Full re-sync at the next poll, which happens now.  Thread-safe. */
void watcher_resync(struct watcher *w);

/* Set the low-balance flag shown in status (from the registrar); status is
 * re-emitted by the watcher thread if it changed.  Thread-safe. */
void watcher_set_low_balance(struct watcher *w, bool low);

/* The current snapshot with a reference the caller drops with
 * snapshot_unref(), or NULL before the first publish.  Thread-safe. */
struct snapshot *watcher_snapshot(struct watcher *w);

/* Copy the current state / counters.  Thread-safe. */
void watcher_get_state(struct watcher *w, struct watcher_state *ret);
void watcher_get_stats(struct watcher *w, struct watcher_stats *ret);

/*
 * Run one poll on the calling thread (tests and benchmarks; not while the
 * thread runs).  Returns 0, or the poll's -errno (the error is also in the
 * state and status, and the last good set stays published).
 */
int watcher_poll_once(struct watcher *w);

#endif
