/*
 * watcher: the chain watcher thread (see watcher.h for the sync model).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keccak.h"
#include "log.h"
#include "registry.h"
#include "rpc.h"
#include "watcher.h"

struct watcher {
	struct watcher_config cfg;
	char urls[OPTIONS_RPC_MAX][OPTIONS_URL_MAX + 1];
	struct rpc *prov[OPTIONS_RPC_MAX];	/* one client per url */
	enum { PROV_UNKNOWN = 0, PROV_GOOD, PROV_BAD } prov_state[OPTIONS_RPC_MAX];
	size_t cur;			/* the provider in use (failover by poll) */
	struct rpc *rpc;		/* prov[cur] */
	uint64_t quorum_chain_id;	/* the chain providers must be on */
	struct watcher_sink sinks[WATCHER_SINKS_MAX];
	size_t nsinks;

	/* watcher thread only */
	struct peerset set;
	bool have_head;
	uint8_t head_hash[32];
	unsigned fails;			/* consecutive failed polls */
	struct snapshot_status last_status;	/* as last emitted */
	char last_status_err[WATCHER_ERROR_MAX + 1];
	char last_status_url[OPTIONS_URL_MAX + 1];
	bool status_emitted;

	pthread_t thread;
	bool started;

	/* w->lock guards everything below; only the watcher thread writes
	 * state and stats, so it reads them without the lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* kick, stop, low balance */
	bool stop;
	bool kick;
	bool want_resync;
	bool low_balance;
	struct snapshot *snap;		/* current, or NULL */
	struct watcher_state state;
	struct watcher_stats stats;
};

/* ---- small helpers ------------------------------------------------------ */

static uint64_t
target_of(const struct watcher *w, uint64_t head)
{
	return head > w->cfg.confirmations ? head - w->cfg.confirmations : 0;
}

static void
set_error(struct watcher *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(struct watcher *w, const char *fmt, ...)
{
	char msg[WATCHER_ERROR_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	/* a status line: strip newlines that may come from a node */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	pthread_mutex_lock(&w->lock);
	if (strcmp(w->state.last_error, msg) != 0)
		log_warnx("chain watcher: %s", msg);
	memcpy(w->state.last_error, msg, sizeof(msg));
	pthread_mutex_unlock(&w->lock);
}

/* The rpc error text after a failed call, for status. */
static void
rpc_fail_on(struct watcher *w, struct rpc *c, const char *what, int r)
{
	char detail[RPC_ERROR_MAX];

	rpc_last_error(c, detail, sizeof(detail));
	set_error(w, "%s failed: %s%s%s", what, strerror(-r), detail[0] ? ": " : "", detail);
}

static void
rpc_fail(struct watcher *w, const char *what, int r)
{
	rpc_fail_on(w, w->rpc, what, r);
}

/* ---- RPC calls the watcher makes ----------------------------------------- */

static int
get_block(struct watcher *w, struct rpc_block_id at, struct jsonrpc_block *ret)
{
	int r = rpc_get_block(w->rpc, at, ret);

	if (r < 0)
		rpc_fail(w, "eth_getBlockByNumber", r);
	return r;
}

/* eth_call of calldata cd at block number, return data into out. */
static int
call_at(struct watcher *w, struct rpc *c, const struct buf *cd, uint64_t number, struct buf *out)
{
	struct jsonrpc_error err = { 0 };
	struct rpc_call_msg m = {
		.to = w->cfg.contract, .data = cd->data, .data_len = cd->len,
	};
	int r;

	buf_reset(out);
	r = rpc_eth_call(c, &m, RPC_AT_NUMBER(number), out, &err);
	if (r == -EREMOTEIO)
		set_error(w, "eth_call to the registry failed: %s", err.message);
	else if (r < 0)
		rpc_fail_on(w, c, "eth_call", r);
	jsonrpc_error_release(&err);
	return r;
}

/* Record provider i's chain id: good, or bad for good (logged once). */
static void
mark_provider(struct watcher *w, size_t i, uint64_t id)
{
	if (id == w->quorum_chain_id) {
		w->prov_state[i] = PROV_GOOD;
		return;
	}
	w->prov_state[i] = PROV_BAD;
	log_warnx("chain watcher: rpc '%s' is on chain %llu, not %llu: not used",
		  w->urls[i], (unsigned long long)id, (unsigned long long)w->quorum_chain_id);
}

/* The provider in use is on the expected chain (checked once per provider;
 * a wrong one is marked bad for good). */
static int
check_chain_id(struct watcher *w)
{
	uint64_t id;
	int r;

	if (!w->cfg.has_chain_id && w->cfg.quorum > 1 && w->quorum_chain_id == 0) {
		/* no expected chain: the first answer sets the providers' chain */
		r = rpc_chain_id(w->rpc, &id);
		if (r < 0) {
			rpc_fail(w, "eth_chainId", r);
			return r;
		}
		w->quorum_chain_id = id;
	}
	if (!w->cfg.has_chain_id && w->cfg.quorum <= 1)
		return 0;
	if (w->prov_state[w->cur] == PROV_UNKNOWN) {
		r = rpc_chain_id(w->rpc, &id);
		if (r < 0) {
			rpc_fail(w, "eth_chainId", r);
			return r;
		}
		mark_provider(w, w->cur, id);
	}
	if (w->prov_state[w->cur] == PROV_GOOD)
		return 0;
	set_error(w, "rpc '%s' is on another chain than %llu", w->urls[w->cur],
		  (unsigned long long)w->quorum_chain_id);
	return -EPROTO;
}

/* ---- full re-sync ------------------------------------------------------- */

static int
fetch_ttl(struct watcher *w, struct rpc *c, uint64_t number, struct buf *cd, struct buf *out,
	  uint64_t *ret)
{
	int r;

	buf_reset(cd);
	r = registry_encode_call(REGISTRY_FN_HEARTBEAT_TTL, cd);
	if (r >= 0)
		r = call_at(w, c, cd, number, out);
	if (r < 0)
		return r;
	r = registry_decode_u64(out->data, out->len, ret);
	if (r < 0)
		set_error(w, "heartbeatTTL() reply is malformed");
	return r;
}

static int
fetch_page(struct watcher *w, struct rpc *c, uint64_t number, uint64_t start, struct buf *cd,
	   struct buf *out, struct peerset *into, uint64_t *ret_next)
{
	int r;

	buf_reset(cd);
	r = registry_encode_get_peers(start, WATCHER_PAGE, cd);
	if (r >= 0)
		r = call_at(w, c, cd, number, out);
	if (r < 0)
		return r;
	r = peerset_add_page(into, out->data, out->len, ret_next);
	if (r < 0)
		set_error(w, "getPeers() page at token %llu is malformed: %s",
			  (unsigned long long)start, strerror(-r));
	else if (*ret_next != 0 && *ret_next <= start)
		r = -EBADMSG;	/* the scan must move forward */
	return r;
}

/* Read the registry at block number through client c into `into`, hashing
 * every reply into k (for the quorum comparison). */
static int
read_registry(struct watcher *w, struct rpc *c, uint64_t number, struct peerset *into,
	      struct keccak256 *k)
{
	struct buf cd, out;
	uint64_t start = 1, next = 0, ttl = 0;
	int r;

	buf_init(&cd, REGISTRY_CALLDATA_MAX);
	buf_init(&out, RPC_MAX_RESPONSE);
	r = fetch_ttl(w, c, number, &cd, &out, &ttl);
	if (r >= 0)
		keccak256_update(k, out.data, out.len);
	into->ttl = ttl;
	while (r >= 0) {
		r = fetch_page(w, c, number, start, &cd, &out, into, &next);
		if (r >= 0)
			keccak256_update(k, out.data, out.len);
		if (next == 0)
			break;
		start = next;
	}
	buf_release(&cd);
	buf_release(&out);
	return r;
}

static int quorum_confirm(struct watcher *w, const struct jsonrpc_block *tb, uint64_t from,
			  const uint8_t digest[32]);

/*
 * Read the whole registry at block tb (pinned), then check that tb is still
 * the canonical block at its height (and, with a quorum, that enough
 * providers read the same).  On success the new set replaces w->set.
 */
static int
resync(struct watcher *w, const struct jsonrpc_block *tb)
{
	struct peerset fresh;
	struct jsonrpc_block again;
	struct keccak256 k;
	uint8_t digest[32];
	int r;

	peerset_init(&fresh, &w->cfg.set);
	keccak256_init(&k);
	r = read_registry(w, w->rpc, tb->number, &fresh, &k);
	keccak256_final(&k, digest);
	if (r >= 0)
		r = get_block(w, RPC_AT_NUMBER(tb->number), &again);
	if (r >= 0 && memcmp(again.hash, tb->hash, 32) != 0) {
		set_error(w, "block %llu changed during re-sync",
			  (unsigned long long)tb->number);
		r = -EAGAIN;
	}
	if (r >= 0)
		r = quorum_confirm(w, tb, 0, digest);
	if (r >= 0) {
		peerset_move(&w->set, &fresh);
		pthread_mutex_lock(&w->lock);
		w->state.synced = true;
		w->state.synced_block = tb->number;
		memcpy(w->state.synced_hash, tb->hash, 32);
		w->state.chain_time = tb->timestamp;
		w->want_resync = false;
		w->stats.resyncs++;
		pthread_mutex_unlock(&w->lock);
		log_info("chain watcher: synced %zu peer records at block %llu",
			 w->set.n, (unsigned long long)tb->number);
	}
	peerset_release(&fresh);
	return r;
}

/* ---- incremental sync --------------------------------------------------- */

static int
log_cmp(const void *a, const void *b)
{
	const struct jsonrpc_log *x = a, *y = b;

	if (x->block_number != y->block_number)
		return x->block_number < y->block_number ? -1 : 1;
	if (x->log_index != y->log_index)
		return x->log_index < y->log_index ? -1 : 1;
	return 0;
}

/* The contract's followed events in [from, to], one eth_getLogs. */
static int
get_logs_range(struct watcher *w, struct rpc *c, uint64_t from, uint64_t to,
	       struct jsonrpc_logs *ret)
{
	const uint8_t (*topics)[32] = peerset_event_topics();
	struct rpc_filter f = { 0 };

	f.addresses = (const uint8_t (*)[20])w->cfg.contract;
	f.n_addresses = 1;
	f.topics[0] = topics;
	f.n_topic[0] = PEERSET_EV_COUNT;
	f.n_topics = 1;
	f.from = RPC_AT_NUMBER(from);
	f.to = RPC_AT_NUMBER(to);
	return rpc_get_logs(c, &f, ret);
}

/* Timestamps of the blocks registrations happened in: tb's own, or one
 * fetched block remembered per range. */
struct time_cache {
	uint64_t number;
	uint64_t ts;
};

static int
block_time(struct watcher *w, const struct jsonrpc_block *tb, uint64_t number,
	   struct time_cache *tc, uint64_t *ret)
{
	struct jsonrpc_block b;
	int r;

	if (number == tb->number) {
		*ret = tb->timestamp;
		return 0;
	}
	if (tc->number == number) {
		*ret = tc->ts;
		return 0;
	}
	r = get_block(w, RPC_AT_NUMBER(number), &b);
	if (r < 0)
		return r;
	tc->number = number;
	tc->ts = b.timestamp;
	*ret = b.timestamp;
	return 0;
}

/* Apply one reply's logs, sorted by (block, logIndex), to work. */
static int
apply_logs(struct watcher *w, const struct jsonrpc_block *tb, struct peerset *work,
	   struct jsonrpc_logs *logs, struct time_cache *tc)
{
	struct peerset_event ev;
	uint64_t ts;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < logs->n; i++) {
		const struct jsonrpc_log *l = &logs->v[i];

		/* a log dropped by a reorg, or from another fork than the target */
		if (l->removed || l->block_number > tb->number ||
		    (l->block_number == tb->number && memcmp(l->block_hash, tb->hash, 32) != 0))
			return -ESTALE;
		r = peerset_decode_log(l, w->cfg.contract, &ev);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0) {
			set_error(w, "malformed registry event in block %llu: %s",
				  (unsigned long long)l->block_number, strerror(-r));
			return r;
		}
		ts = 0;
		if (ev.kind == PEERSET_EV_REGISTERED || ev.kind == PEERSET_EV_UPDATED)
			r = block_time(w, tb, l->block_number, tc, &ts);
		if (r >= 0)
			r = peerset_apply(work, &ev, ts);
	}
	return r;
}

/* Hash what identifies a log, for comparing providers' log sets. */
static void
hash_logs(struct keccak256 *k, const struct jsonrpc_logs *logs)
{
	for (size_t i = 0; i < logs->n; i++) {
		const struct jsonrpc_log *l = &logs->v[i];
		uint64_t v[4] = { l->block_number, l->log_index, l->n_topics, l->data_len };

		keccak256_update(k, v, sizeof(v));
		keccak256_update(k, l->block_hash, 32);
		keccak256_update(k, l->address, 20);
		keccak256_update(k, l->topics, 32 * l->n_topics);
		if (l->data_len)
			keccak256_update(k, l->data, l->data_len);
		keccak256_update(k, &l->removed, 1);
	}
}

/*
 * Walk the logs of [from, to] through client c in ranges of at most
 * log_range blocks (a range a node refuses or that passes a cap is halved),
 * each reply sorted by (block, logIndex), hashed into k and handed to fn
 * (may be NULL).  Returns 0, fn's error, or the rpc error.
 */
static int
walk_logs(struct watcher *w, struct rpc *c, uint64_t from, uint64_t to, struct keccak256 *k,
	  int (*fn)(void *arg, struct jsonrpc_logs *logs), void *arg)
{
	uint64_t span = w->cfg.log_range;
	int r;

	while (from <= to) {
		uint64_t end = to - from < span ? to : from + span - 1;
		struct jsonrpc_logs logs = { 0 };

		r = get_logs_range(w, c, from, end, &logs);
		if ((r == -EREMOTEIO || r == -EMSGSIZE || r == -E2BIG) && end > from) {
			span = (end - from + 1) / 2;
			continue;
		}
		if (r < 0) {
			rpc_fail_on(w, c, "eth_getLogs", r);
			return r;
		}
		if (logs.n > 1)
			qsort(logs.v, logs.n, sizeof(*logs.v), log_cmp);
		hash_logs(k, &logs);
		r = fn ? fn(arg, &logs) : 0;
		jsonrpc_logs_release(&logs);
		if (r < 0)
			return r;
		from = end + 1;
	}
	return 0;
}

/* State of one advance: the working copy and what was applied. */
struct advance_ctx {
	struct watcher *w;
	const struct jsonrpc_block *tb;
	struct peerset work;
	bool copied;		/* work holds a copy of w->set */
	uint64_t nlogs;
	struct time_cache tc;
};

static int
apply_chunk(void *arg, struct jsonrpc_logs *logs)
{
	struct advance_ctx *a = arg;
	int r = 0;

	if (logs->n == 0)
		return 0;
	if (!a->copied) {
		r = peerset_copy(&a->work, &a->w->set);
		a->copied = r >= 0;
	}
	if (r >= 0)
		r = apply_logs(a->w, a->tb, &a->work, logs, &a->tc);
	a->nlogs += logs->n;
	return r;
}

static void
note_reorg(struct watcher *w, uint64_t number)
{
	log_info("chain watcher: reorg at or below block %llu, re-syncing",
		 (unsigned long long)number);
	pthread_mutex_lock(&w->lock);
	w->stats.reorgs++;
	w->want_resync = true;
	pthread_mutex_unlock(&w->lock);
}

/*
 * Advance from the synced block to target tb.  Returns 0, -ESTALE after a
 * reorg (want_resync set), or -errno.  Far behind (WATCHER_RESYNC_GAP
 * ranges), a re-sync at tb is cheaper than the logs.
 */
static int
advance(struct watcher *w, const struct jsonrpc_block *tb)
{
	struct advance_ctx a = { .w = w, .tb = tb, .tc = { UINT64_MAX, 0 } };
	struct jsonrpc_block sb;
	uint64_t synced = w->state.synced_block;
	struct keccak256 k;
	uint8_t digest[32];
	const uint8_t *cur;
	int r;

	if (tb->number - synced > WATCHER_RESYNC_GAP * w->cfg.log_range)
		return resync(w, tb);
	if (tb->number == synced + 1) {
		cur = tb->parent_hash;
	} else {
		r = get_block(w, RPC_AT_NUMBER(synced), &sb);
		if (r < 0)
			return r;
		cur = sb.hash;
	}
	if (memcmp(cur, w->state.synced_hash, 32) != 0) {
		note_reorg(w, synced);
		return -ESTALE;
	}
	peerset_init(&a.work, &w->cfg.set);
	keccak256_init(&k);
	r = walk_logs(w, w->rpc, synced + 1, tb->number, &k, apply_chunk, &a);
	keccak256_final(&k, digest);
	if (r == -ESTALE)
		note_reorg(w, tb->number);
	if (r >= 0)
		r = quorum_confirm(w, tb, synced + 1, digest);
	if (r >= 0) {
		/* the whole range applied: only now does the set change */
		if (a.copied)
			peerset_move(&w->set, &a.work);
		pthread_mutex_lock(&w->lock);
		w->stats.logs += a.nlogs;
		w->state.synced_block = tb->number;
		memcpy(w->state.synced_hash, tb->hash, 32);
		w->state.chain_time = tb->timestamp;
		pthread_mutex_unlock(&w->lock);
	}
	peerset_release(&a.work);
	return r;
}

/* ---- quorum (issue #9) -------------------------------------------------- */

/* Provider i is usable: its chain id was checked (a wrong one marks it bad
 * for good). */
static bool
provider_ok(struct watcher *w, size_t i)
{
	uint64_t id;

	if (w->prov_state[i] == PROV_UNKNOWN && rpc_chain_id(w->prov[i], &id) == 0)
		mark_provider(w, i, id);
	return w->prov_state[i] == PROV_GOOD;
}

/* Does provider i see block tb and the same registry (from == 0) or log
 * set of [from, tb]? */
static bool
provider_agrees(struct watcher *w, size_t i, const struct jsonrpc_block *tb, uint64_t from,
		const uint8_t digest[32])
{
	struct jsonrpc_block b;
	struct peerset scratch;
	struct keccak256 k;
	uint8_t d[32];
	int r;

	if (!provider_ok(w, i) || rpc_get_block(w->prov[i], RPC_AT_NUMBER(tb->number), &b) < 0 ||
	    memcmp(b.hash, tb->hash, 32) != 0)
		return false;
	keccak256_init(&k);
	if (from == 0) {
		peerset_init(&scratch, &w->cfg.set);
		r = read_registry(w, w->prov[i], tb->number, &scratch, &k);
		peerset_release(&scratch);
	} else {
		r = walk_logs(w, w->prov[i], from, tb->number, &k, NULL, NULL);
	}
	keccak256_final(&k, d);
	return r >= 0 && memcmp(d, digest, 32) == 0;
}

/*
 * With quorum N > 1: at least N providers must report block tb with the
 * same hash and the same registry reads (from == 0) or logs of [from, tb]
 * (digest: what the primary read).  Returns 0 or -ENOLINK.
 */
static int
quorum_confirm(struct watcher *w, const struct jsonrpc_block *tb, uint64_t from,
	       const uint8_t digest[32])
{
	size_t agree = 0;

	if (w->cfg.quorum <= 1)
		return 0;
	for (size_t i = 0; i < w->cfg.nrpc && agree < w->cfg.quorum; i++)
		if (provider_agrees(w, i, tb, from, digest))
			agree++;
	if (agree >= w->cfg.quorum)
		return 0;
	set_error(w, "quorum not reached: %zu of %u rpc providers agree on block %llu",
		  agree, w->cfg.quorum, (unsigned long long)tb->number);
	return -ENOLINK;
}

/* ---- publishing --------------------------------------------------------- */

static bool
same_peers(const struct snapshot *s, const struct peer *v, size_t n)
{
	if (!s || s->npeers != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!peerset_peer_equal(&s->peers[i], &v[i]))
			return false;
	return true;
}

static void
log_reject(void *arg, const struct peerset_entry *e)
{
	(void)arg;
	log_warnx("chain watcher: peer token %llu not published: %s ('%.*s')",
		  (unsigned long long)e->p.token_id, peerset_reject_name(e->reject),
		  (int)strnlen(e->p.endpoint, ENDPOINT_MAX), e->p.endpoint);
}

/* Publish the live set at chain time if it differs from the current one. */
static int
publish_if_changed(struct watcher *w)
{
	struct peer *live;
	struct snapshot *snap = NULL, *old;
	uint64_t gen;
	size_t n;
	int r;

	peerset_report_rejects(&w->set, log_reject, w);
	live = calloc(w->set.n ? w->set.n : 1, sizeof(*live));
	if (!live)
		return -ENOMEM;
	r = peerset_live(&w->set, w->state.chain_time, live, w->set.n, &n);
	if (r < 0)
		goto out_free;
	pthread_mutex_lock(&w->lock);
	bool same = same_peers(w->snap, live, n);
	gen = w->state.generation + 1;
	pthread_mutex_unlock(&w->lock);
	if (same)
		goto out_free;
	r = snapshot_new(live, n, gen, &snap);
	if (r < 0) {
		set_error(w, "building the peer snapshot failed: %s", strerror(-r));
		goto out_free;
	}
	pthread_mutex_lock(&w->lock);
	old = w->snap;
	w->snap = snap;
	w->state.generation = gen;
	w->stats.publishes++;
	pthread_mutex_unlock(&w->lock);
	snapshot_unref(old);
	log_info("chain watcher: %zu live peers at block %llu (generation %llu)", n,
		 (unsigned long long)w->state.synced_block, (unsigned long long)gen);
	for (size_t i = 0; i < w->nsinks; i++)
		if (w->sinks[i].publish)
			w->sinks[i].publish(w->sinks[i].arg, snap);
out_free:
	free(live);
	return r;
}

/* Hand the status to the sinks when a field changed. */
static void
emit_status(struct watcher *w)
{
	struct snapshot_status st;
	char err[WATCHER_ERROR_MAX + 1];
	const char *url;

	pthread_mutex_lock(&w->lock);
	st.chain_head = w->state.chain_head;
	st.synced_block = w->state.synced_block;
	st.generation = w->state.generation;
	st.stale = w->state.stale;
	st.low_balance = w->low_balance;
	memcpy(err, w->state.last_error, sizeof(err));
	pthread_mutex_unlock(&w->lock);
	url = w->urls[w->cur];
	st.rpc_url = url;
	st.last_error = err;
	if (w->status_emitted && st.chain_head == w->last_status.chain_head &&
	    st.synced_block == w->last_status.synced_block &&
	    st.generation == w->last_status.generation &&
	    st.stale == w->last_status.stale &&
	    st.low_balance == w->last_status.low_balance &&
	    strcmp(err, w->last_status_err) == 0 && strcmp(url, w->last_status_url) == 0)
		return;
	w->last_status = st;
	memcpy(w->last_status_err, err, sizeof(err));
	snprintf(w->last_status_url, sizeof(w->last_status_url), "%s", url);
	w->status_emitted = true;
	for (size_t i = 0; i < w->nsinks; i++)
		if (w->sinks[i].status)
			w->sinks[i].status(w->sinks[i].arg, &st);
}

/* ---- one poll ----------------------------------------------------------- */

/* The target block: head itself when confirmations is 0. */
static int
target_block(struct watcher *w, const struct jsonrpc_block *head, struct jsonrpc_block *ret)
{
	uint64_t t = target_of(w, head->number);

	if (t == head->number) {
		*ret = *head;
		return 0;
	}
	return get_block(w, RPC_AT_NUMBER(t), ret);
}

static int
full_resync(struct watcher *w, const struct jsonrpc_block *head)
{
	struct jsonrpc_block tb;
	int r = target_block(w, head, &tb);

	return r < 0 ? r : resync(w, &tb);
}

/* The head did not pass the synced block: check the synced block is still
 * canonical (a same-height or shortening reorg). */
static int
recheck_synced(struct watcher *w)
{
	struct jsonrpc_block sb;
	int r = rpc_get_block(w->rpc, RPC_AT_NUMBER(w->state.synced_block), &sb);

	if (r == -ENOENT || (r == 0 && memcmp(sb.hash, w->state.synced_hash, 32) != 0)) {
		note_reorg(w, w->state.synced_block);
		return -ESTALE;
	}
	if (r < 0)
		rpc_fail(w, "eth_getBlockByNumber", r);
	return r;
}

static int
poll_step(struct watcher *w, bool *ret_idle)
{
	struct jsonrpc_block head, tb;
	bool resync_now;
	int r;

	*ret_idle = false;
	r = check_chain_id(w);
	if (r >= 0)
		r = get_block(w, RPC_AT_LATEST, &head);
	if (r < 0)
		return r;
	pthread_mutex_lock(&w->lock);
	w->state.chain_head = head.number;
	resync_now = w->want_resync || !w->state.synced;
	pthread_mutex_unlock(&w->lock);

	if (!resync_now && w->have_head && memcmp(head.hash, w->head_hash, 32) == 0) {
		*ret_idle = true;
		return 0;
	}
	w->have_head = false;
	if (!resync_now) {
		if (target_of(w, head.number) > w->state.synced_block) {
			r = target_block(w, &head, &tb);
			if (r >= 0)
				r = advance(w, &tb);
		} else {
			r = recheck_synced(w);
		}
		if (r == -ESTALE)
			resync_now = true;
		else if (r < 0)
			return r;
	}
	if (resync_now) {
		r = full_resync(w, &head);
		if (r < 0)
			return r;
	}
	r = publish_if_changed(w);
	if (r < 0)
		return r;
	memcpy(w->head_hash, head.hash, 32);
	w->have_head = true;
	return 0;
}

/* Next provider not known to be on another chain, after cur; cur if none. */
static size_t
next_provider(const struct watcher *w)
{
	for (size_t k = 1; k < w->cfg.nrpc; k++) {
		size_t i = (w->cur + k) % w->cfg.nrpc;

		if (w->prov_state[i] != PROV_BAD)
			return i;
	}
	return w->cur;
}

/*
 * One poll; when the provider in use fails (unreachable, an error reply, a
 * wrong chain id), the poll is retried on the next provider, each at most
 * once, and the one that answers stays in use.  Partial work of a failed
 * attempt was never committed, so a retry starts clean.
 */
static int
poll_failover(struct watcher *w, bool *idle)
{
	int r = poll_step(w, idle);

	for (size_t tries = 1; r < 0 && tries < w->cfg.nrpc; tries++) {
		size_t next = next_provider(w);

		if (r == -ENOMEM || r == -ENOLINK || next == w->cur)
			break;
		log_info("chain watcher: rpc '%s' failed, trying '%s'", w->urls[w->cur],
			 w->urls[next]);
		w->cur = next;
		w->rpc = w->prov[next];
		r = poll_step(w, idle);
	}
	return r;
}

int
watcher_poll_once(struct watcher *w)
{
	struct rpc_stats rs;
	bool idle = false;
	int r = poll_failover(w, &idle);

	memset(&rs, 0, sizeof(rs));
	for (size_t i = 0; i < w->cfg.nrpc; i++) {
		struct rpc_stats ps;

		if (!w->prov[i])
			continue;
		rpc_get_stats(w->prov[i], &ps);
		rs.calls += ps.calls;
		rs.bytes_sent += ps.bytes_sent;
		rs.bytes_received += ps.bytes_received;
	}
	pthread_mutex_lock(&w->lock);
	if (r >= 0) {
		w->stats.polls++;
		w->stats.idle_polls += idle;
		w->state.stale = false;
		w->state.last_error[0] = '\0';
	} else {
		w->stats.errors++;
		w->state.stale = true;
		if (!w->state.last_error[0])
			snprintf(w->state.last_error, sizeof(w->state.last_error),
				 "poll failed: %s", strerror(-r));
	}
	w->stats.rpc_calls = rs.calls;
	w->stats.rpc_bytes_sent = rs.bytes_sent;
	w->stats.rpc_bytes_received = rs.bytes_received;
	pthread_mutex_unlock(&w->lock);
	if (r >= 0 && w->fails > 0)
		log_info("chain watcher: chain reachable again");
	w->fails = r >= 0 ? 0 : w->fails + 1;
	emit_status(w);
	return r;
}

/* ---- thread and API ----------------------------------------------------- */

static uint64_t
next_wait_ms(const struct watcher *w)
{
	uint64_t ms = w->cfg.poll_ms;

	for (unsigned i = 0; i < w->fails && ms < w->cfg.backoff_max_ms; i++)
		ms *= 2;
	return ms < w->cfg.backoff_max_ms || w->fails == 0 ? ms : w->cfg.backoff_max_ms;
}

static void
deadline_in(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
run(void *arg)
{
	struct watcher *w = arg;
	struct timespec until;
	bool stop;

	for (;;) {
		(void)watcher_poll_once(w);
		deadline_in(&until, next_wait_ms(w));
		pthread_mutex_lock(&w->lock);
		while (!w->stop && !w->kick &&
		       pthread_cond_timedwait(&w->cond, &w->lock, &until) != ETIMEDOUT) {
			if (w->low_balance != w->last_status.low_balance) {
				pthread_mutex_unlock(&w->lock);
				emit_status(w);
				pthread_mutex_lock(&w->lock);
			}
		}
		w->kick = false;
		stop = w->stop;
		pthread_mutex_unlock(&w->lock);
		if (stop)
			break;
	}
	return NULL;
}

int
watcher_config_from_options(const struct options *o, const char **urls_scratch,
			    size_t scratch_n, struct watcher_config *ret)
{
	struct watcher_config c = { 0 };

	if (!o->has_contract || o->nrpc == 0 || scratch_n < o->nrpc)
		return -EINVAL;
	for (size_t i = 0; i < o->nrpc; i++)
		urls_scratch[i] = o->rpc[i];
	c.rpc_urls = urls_scratch;
	c.nrpc = o->nrpc;
	c.rpc_timeout_ms = o->rpc_timeout_ms;
	memcpy(c.contract, o->contract, 20);
	c.has_chain_id = o->has_chain_id;
	c.chain_id = o->chain_id;
	c.poll_ms = o->poll_ms;
	c.confirmations = o->confirmations;
	c.quorum = o->quorum;
	c.set.mode = o->mode == P2P_MODE_WIREGUARD ? PEER_NET_WIREGUARD : PEER_NET_TLS;
	c.set.mesh_net = o->mesh_net;
	c.set.mesh_prefix = o->mesh_prefix;
	*ret = c;
	return 0;
}

static void
free_clients(struct watcher *w)
{
	w->rpc = NULL;
	for (size_t i = 0; i < OPTIONS_RPC_MAX; i++) {
		rpc_free(w->prov[i]);
		w->prov[i] = NULL;
	}
}

int
watcher_new(const struct watcher_config *cfg, struct watcher **ret_w)
{
	const char *urls[OPTIONS_RPC_MAX];
	struct rpc_options ro = { 0 };
	pthread_condattr_t ca;
	struct watcher *w;
	int r;

	if (cfg->nrpc == 0 || cfg->nrpc > OPTIONS_RPC_MAX || cfg->poll_ms == 0 ||
	    cfg->quorum > cfg->nrpc)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cfg = *cfg;
	if (!w->cfg.backoff_max_ms)
		w->cfg.backoff_max_ms = WATCHER_BACKOFF_MAX_MS;
	if (!w->cfg.log_range)
		w->cfg.log_range = WATCHER_LOG_RANGE;
	for (size_t i = 0; i < cfg->nrpc; i++) {
		r = snprintf(w->urls[i], sizeof(w->urls[i]), "%s", cfg->rpc_urls[i]);
		if (r < 0 || (size_t)r >= sizeof(w->urls[i])) {
			free(w);
			return -EINVAL;
		}
		urls[i] = w->urls[i];
	}
	w->cfg.rpc_urls = NULL;
	ro.timeout_ms = (long)cfg->rpc_timeout_ms;
	r = 0;
	for (size_t i = 0; r >= 0 && i < cfg->nrpc; i++)
		r = rpc_new(&urls[i], 1, &ro, &w->prov[i]);
	if (r < 0) {
		free_clients(w);
		free(w);
		return r;
	}
	w->quorum_chain_id = cfg->has_chain_id ? cfg->chain_id : 0;
	w->rpc = w->prov[0];
	peerset_init(&w->set, &cfg->set);
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	*ret_w = w;
	return 0;
}

int
watcher_add_sink(struct watcher *w, const struct watcher_sink *sink)
{
	if (w->started)
		return -EBUSY;
	if (w->nsinks >= WATCHER_SINKS_MAX)
		return -E2BIG;
	w->sinks[w->nsinks++] = *sink;
	return 0;
}

int
watcher_start(struct watcher *w)
{
	int r;

	if (w->started)
		return -EALREADY;
	w->stop = false;
	r = pthread_create(&w->thread, NULL, run, w);
	if (r != 0)
		return -r;
	w->started = true;
	return 0;
}

void
watcher_stop(struct watcher *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void
watcher_free(struct watcher *w)
{
	if (!w)
		return;
	watcher_stop(w);
	snapshot_unref(w->snap);
	peerset_release(&w->set);
	free_clients(w);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void
watcher_kick(struct watcher *w)
{
	pthread_mutex_lock(&w->lock);
	w->kick = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void
watcher_resync(struct watcher *w)
{
	pthread_mutex_lock(&w->lock);
	w->want_resync = true;
	w->kick = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void
watcher_set_low_balance(struct watcher *w, bool low)
{
	pthread_mutex_lock(&w->lock);
	w->low_balance = low;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

struct snapshot *
watcher_snapshot(struct watcher *w)
{
	struct snapshot *s;

	pthread_mutex_lock(&w->lock);
	s = w->snap ? snapshot_ref(w->snap) : NULL;
	pthread_mutex_unlock(&w->lock);
	return s;
}

void
watcher_get_state(struct watcher *w, struct watcher_state *ret)
{
	pthread_mutex_lock(&w->lock);
	*ret = w->state;
	pthread_mutex_unlock(&w->lock);
}

void
watcher_get_stats(struct watcher *w, struct watcher_stats *ret)
{
	pthread_mutex_lock(&w->lock);
	*ret = w->stats;
	pthread_mutex_unlock(&w->lock);
}
