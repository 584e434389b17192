/*
 * watcher against a real anvil with the real registry contract: start-up
 * re-sync, idle polls (one call), heartbeats that leave `peers` unchanged,
 * expiry by chain time without an event, updates, revocation, a reorg
 * (evm_snapshot/evm_revert), confirmations, an RPC outage (SIGSTOP) with
 * stale status and recovery, failover, and the thread with kick.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "watcher.h"
#include "registry_fixture.h"

#define TTL	100

struct rec {
	pthread_mutex_t lock;
	unsigned publishes;
	unsigned statuses;
	struct snapshot *snap;
	struct snapshot_status st;
	char err[WATCHER_ERROR_MAX + 1];
	char url[128];
};

static void
rec_publish(void *arg, struct snapshot *snap)
{
	struct rec *r = arg;

	pthread_mutex_lock(&r->lock);
	snapshot_unref(r->snap);
	r->snap = snapshot_ref(snap);
	r->publishes++;
	pthread_mutex_unlock(&r->lock);
}

static void
rec_status(void *arg, const struct snapshot_status *st)
{
	struct rec *r = arg;

	pthread_mutex_lock(&r->lock);
	r->st = *st;
	snprintf(r->err, sizeof(r->err), "%s", st->last_error ? st->last_error : "");
	snprintf(r->url, sizeof(r->url), "%s", st->rpc_url ? st->rpc_url : "");
	r->statuses++;
	pthread_mutex_unlock(&r->lock);
}

static struct regchain chain;
static uint64_t opt_log_range;	/* for the next watcher made; 0: default */
static uint32_t opt_quorum;	/* same, quorum */
static struct regpeer peers[6];

static struct watcher *
mkwatcher_poll(const char *const *urls, size_t n, uint64_t conf, uint64_t poll_ms, struct rec *r)
{
	struct watcher_config cfg = {
		.rpc_urls = urls, .nrpc = n, .poll_ms = poll_ms, .confirmations = conf,
		.has_chain_id = true, .chain_id = ANVIL_CHAIN_ID, .rpc_timeout_ms = 1500,
		.set = { .mode = PEER_NET_TLS }, .log_range = opt_log_range,
		.quorum = opt_quorum,
	};
	struct watcher_sink sink = { rec_publish, rec_status, r };
	struct watcher *w;

	memcpy(cfg.contract, chain.contract, 20);
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	assert_int_equal(watcher_new(&cfg, &w), 0);
	assert_int_equal(watcher_add_sink(w, &sink), 0);
	return w;
}

static struct watcher *
mkwatcher(const char *const *urls, size_t n, uint64_t conf, struct rec *r)
{
	return mkwatcher_poll(urls, n, conf, 20, r);
}

static void
rec_release(struct rec *r)
{
	snapshot_unref(r->snap);
	r->snap = NULL;
	pthread_mutex_destroy(&r->lock);
}

static const char *
peers_text(struct rec *r)
{
	static char text[4096];
	size_t n = r->snap ? r->snap->peers_txt.len : 0;

	assert_true(n < sizeof(text));
	if (n)
		memcpy(text, r->snap->peers_txt.data, n);
	text[n] = '\0';
	return text;
}

static void
mine(unsigned n)
{
	char arg[32];

	snprintf(arg, sizeof(arg), "%u", n);
	regchain_rpc(&chain, "anvil_mine", arg);
}

static void
warp(unsigned secs)
{
	char arg[32];

	snprintf(arg, sizeof(arg), "%u", secs);
	regchain_rpc(&chain, "evm_increaseTime", arg);
}

static int
setup(void **state)
{
	(void)state;
	(void)test_contract_init;
	assert_int_equal(rpc_global_init(), 0);
	regchain_start(&chain, NULL, TTL, 100);
	for (uint32_t i = 0; i < 6; i++)
		regchain_peer(&chain, i, &peers[i]);
	assert_int_equal(regchain_register_tls(&chain, &peers[0], "https://peer1.example"), 0);
	assert_int_equal(regchain_register_tls(&chain, &peers[1], "https://peer2.example"), 0);
	assert_int_equal(regchain_register_tls(&chain, &peers[2], "https://peer3.example:8443/x"), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < 6; i++)
		regpeer_release(&peers[i]);
	regchain_stop(&chain);
	return 0;
}

static void
test_sync_and_events(void **state)
{
	const char *urls[] = { chain.a.url };
	struct watcher_stats s0, s1;
	struct watcher_state ws;
	struct rec r;
	struct watcher *w = mkwatcher(urls, 1, 0, &r);
	struct snapshot *before;

	(void)state;
	/* start-up: full re-sync from getPeers at a pinned block */
	assert_int_equal(watcher_poll_once(w), 0);
	watcher_get_stats(w, &s0);
	assert_int_equal(s0.resyncs, 1);
	assert_int_equal(r.publishes, 1);
	assert_string_equal(peers_text(&r),
			    "https://peer1.example\nhttps://peer2.example\nhttps://peer3.example:8443/x\n");
	assert_int_equal(r.snap->peers[0].token_id, 1);
	assert_memory_equal(r.snap->peers[1].address, peers[1].addr, 20);
	assert_memory_equal(r.snap->peers[2].instance_id, peers[2].instance, 20);
	watcher_get_state(w, &ws);
	assert_true(ws.synced);
	assert_false(ws.stale);
	assert_int_equal(ws.generation, 1);
	assert_int_equal(r.st.generation, 1);
	assert_int_equal(r.st.synced_block, ws.chain_head);

	/* idle poll: one call, nothing published */
	assert_int_equal(watcher_poll_once(w), 0);
	watcher_get_stats(w, &s1);
	assert_int_equal(s1.rpc_calls - s0.rpc_calls, 1);
	assert_int_equal(s1.idle_polls, 1);
	assert_int_equal(r.publishes, 1);

	/* empty blocks: head, logs (target == head with no confirmations) */
	mine(1);
	s0 = s1;
	assert_int_equal(watcher_poll_once(w), 0);
	watcher_get_stats(w, &s1);
	assert_int_equal(s1.rpc_calls - s0.rpc_calls, 2);
	assert_int_equal(r.publishes, 1);

	/* a heartbeat updates the record's last_heartbeat, not the files */
	warp(30);
	before = snapshot_ref(r.snap);
	assert_int_equal(regchain_peer_call(&chain, &peers[1], "updateHeartbeat()"), 0);
	assert_int_equal(watcher_poll_once(w), 0);
	assert_int_equal(r.publishes, 2);
	assert_int_equal(r.snap->peers_txt.len, before->peers_txt.len);
	assert_memory_equal(r.snap->peers_txt.data, before->peers_txt.data, before->peers_txt.len);
	assert_true(r.snap->peers[1].last_heartbeat > before->peers[1].last_heartbeat);
	/* ... and no file the inotify contract covers changes with it */
	assert_int_equal(r.snap->json_txt.len, before->json_txt.len);
	assert_memory_equal(r.snap->json_txt.data, before->json_txt.data, before->json_txt.len);
	assert_int_equal(r.snap->leader_txt.len, before->leader_txt.len);
	snapshot_unref(before);

	/* expiry by chain time, no event: peers 1 and 3 pass the TTL */
	warp(TTL - 20);
	mine(1);
	assert_int_equal(watcher_poll_once(w), 0);
	assert_string_equal(peers_text(&r), "https://peer2.example\n");

	/* an update re-registers with a new endpoint and a fresh heartbeat */
	assert_int_equal(regchain_register_tls(&chain, &peers[0], "https://peer1b.example"), 0);
	assert_int_equal(watcher_poll_once(w), 0);
	assert_string_equal(peers_text(&r), "https://peer1b.example\nhttps://peer2.example\n");

	/* deregistration and revocation (token 2 = peers[1]) */
	assert_int_equal(regchain_peer_call(&chain, &peers[0], "deregisterPeer()"), 0);
	assert_int_equal(regchain_owner_call(&chain, "revoke(uint256)", 2), 0);
	assert_int_equal(watcher_poll_once(w), 0);
	assert_string_equal(peers_text(&r), "");

	/* a new peer, and a longer TTL that revives peer 3's old heartbeat */
	assert_int_equal(regchain_register_tls(&chain, &peers[3], "https://peer4.example"), 0);
	assert_int_equal(regchain_owner_call(&chain, "setHeartbeatTTL(uint64)", 100000), 0);
	assert_int_equal(watcher_poll_once(w), 0);
	assert_string_equal(peers_text(&r), "https://peer3.example:8443/x\nhttps://peer4.example\n");
	assert_int_equal(r.snap->peers[1].token_id, 4);

	/* a restart (new watcher) publishes the same bytes */
	struct rec r2;
	struct watcher *w2 = mkwatcher(urls, 1, 0, &r2);
	assert_int_equal(watcher_poll_once(w2), 0);
	assert_string_equal(peers_text(&r2), peers_text(&r));
	watcher_free(w2);
	rec_release(&r2);

	/* incremental state equals a fresh re-sync (start-up path) */
	watcher_resync(w);
	unsigned pubs = r.publishes;
	assert_int_equal(watcher_poll_once(w), 0);
	assert_int_equal(r.publishes, pubs);	/* same set: nothing published */
	assert_int_equal(regchain_owner_call(&chain, "setHeartbeatTTL(uint64)", TTL), 0);
	watcher_free(w);
	rec_release(&r);
}

static void
test_reorg(void **state)
{
	const char *urls[] = { chain.a.url };
	struct watcher_stats st;
	char snap_id[128];
	struct rec r;
	struct watcher *w = mkwatcher(urls, 1, 0, &r);

	(void)state;
	warp(1);
	mine(1);
	assert_int_equal(watcher_poll_once(w), 0);
	const char *base = "https://peer4.example\n";
	assert_string_equal(peers_text(&r), base);

	regchain_rpc_out(&chain, "evm_snapshot", NULL, snap_id, sizeof(snap_id));
	assert_int_equal(regchain_register_tls(&chain, &peers[4], "https://peer5.example"), 0);
	assert_int_equal(watcher_poll_once(w), 0);
	assert_string_equal(peers_text(&r), "https://peer4.example\nhttps://peer5.example\n");

	/* the registration's block is replaced by other blocks */
	regchain_rpc(&chain, "evm_revert", snap_id);
	mine(3);
	assert_int_equal(watcher_poll_once(w), 0);
	watcher_get_stats(w, &st);
	assert_true(st.reorgs >= 1);
	assert_int_equal(st.resyncs, 2);
	assert_string_equal(peers_text(&r), base);

	/* shorter chain after the revert: detected as well */
	regchain_rpc_out(&chain, "evm_snapshot", NULL, snap_id, sizeof(snap_id));
	mine(5);
	assert_int_equal(watcher_poll_once(w), 0);
	regchain_rpc(&chain, "evm_revert", snap_id);
	mine(1);
	assert_int_equal(watcher_poll_once(w), 0);
	watcher_get_stats(w, &st);
	assert_int_equal(st.resyncs, 3);
	assert_string_equal(peers_text(&r), base);
	watcher_free(w);
	rec_release(&r);
}

static void
test_confirmations(void **state)
{
	const char *urls[] = { chain.a.url };
	struct rec r;
	struct watcher *w = mkwatcher(urls, 1, 3, &r);
	struct watcher_state ws;

	(void)state;
	mine(3);
	assert_int_equal(watcher_poll_once(w), 0);
	watcher_get_state(w, &ws);
	assert_int_equal(ws.synced_block + 3, ws.chain_head);
	assert_string_equal(peers_text(&r), "https://peer4.example\n");
	assert_int_equal(regchain_register_tls(&chain, &peers[5], "https://peer6.example"), 0);
	mine(2);
	assert_int_equal(watcher_poll_once(w), 0);
	assert_string_equal(peers_text(&r), "https://peer4.example\n");	/* 2 deep: not yet */
	mine(1);
	assert_int_equal(watcher_poll_once(w), 0);
	assert_string_equal(peers_text(&r), "https://peer4.example\nhttps://peer6.example\n");
	watcher_free(w);
	rec_release(&r);
}

/* The process that serves: the npm launcher runs the native anvil as its
 * child, and stopping the launcher would not stop the chain. */
static pid_t
native_pid(pid_t pid)
{
	char path[300], line[64];
	struct dirent *de;
	long child = 0;
	DIR *d;
	FILE *f;

	/* any thread of the launcher may have spawned it */
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && child == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(line, sizeof(line), f))
			for (char *p = line; *p >= '0' && *p <= '9'; p++)
				child = child * 10 + (*p - '0');
		fclose(f);
	}
	if (d)
		closedir(d);
	return child > 0 ? (pid_t)child : pid;
}

/* SIGSTOP takes effect thread by thread: wait until every thread of pid is
 * stopped ('T' in /proc/PID/task/TID/stat), at most 5 s. */
static void
wait_stopped(pid_t pid)
{
	char path[300], buf[512];
	struct dirent *de;

	for (int tries = 0; tries < 500; tries++) {
		bool all = true;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
		d = opendir(path);
		while (d && (de = readdir(d))) {
			FILE *f;
			char *p;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, de->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
			fclose(f);
			if (!p || p[1] != ' ' || (p[2] != 'T' && p[2] != 't'))
				all = false;
		}
		if (d)
			closedir(d);
		if (all)
			return;
		usleep(10000);
	}
	fail_msg("anvil %d did not stop", (int)pid);
}

static void
test_outage_and_failover(void **state)
{
	char dead[64];
	const char *urls[] = { dead, chain.a.url };
	struct watcher_state ws;
	struct snapshot *before;
	struct rec r;
	struct watcher *w;

	(void)state;
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%u", anvil_free_port());
	w = mkwatcher(urls, 2, 0, &r);
	/* the first endpoint refuses: failover to anvil */
	assert_int_equal(watcher_poll_once(w), 0);
	assert_string_equal(r.url, chain.a.url);
	assert_int_equal(r.st.stale, 0);
	before = snapshot_ref(r.snap);

	/* outage: anvil frozen; the last good set stays, marked stale.  The
	 * results are taken before SIGCONT so a failed check cannot leave anvil
	 * stopped. */
	pid_t real = native_pid(chain.a.pid);
	assert_int_equal(kill(real, SIGSTOP), 0);
	wait_stopped(real);
	int rc = watcher_poll_once(w);
	watcher_get_state(w, &ws);
	kill(real, SIGCONT);
	assert_true(rc < 0);
	assert_true(ws.stale);
	assert_true(ws.last_error[0] != '\0');
	assert_int_equal(r.st.stale, 1);
	assert_true(r.err[0] != '\0');
	assert_ptr_equal(r.snap, before);

	/* recovery: not stale, error cleared, same set (nothing published) */
	unsigned pubs = r.publishes;
	for (int i = 0; i < 10 && rc < 0; i++)	/* as the thread's retries do */
		rc = watcher_poll_once(w);
	assert_int_equal(rc, 0);
	assert_int_equal(r.st.stale, 0);
	assert_string_equal(r.err, "");
	assert_int_equal(r.publishes, pubs);
	snapshot_unref(before);
	watcher_free(w);
	rec_release(&r);
}

static void
test_thread_kick(void **state)
{
	const char *urls[] = { chain.a.url };
	struct rec r;
	/* a long interval: only the kick picks the change up soon */
	struct watcher *w = mkwatcher_poll(urls, 1, 0, 60000, &r);
	unsigned pubs = 0;

	(void)state;
	assert_int_equal(watcher_start(w), 0);
	assert_int_equal(watcher_add_sink(w, &(struct watcher_sink){ 0 }), -EBUSY);
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&r.lock);
		pubs = r.publishes;
		pthread_mutex_unlock(&r.lock);
		if (pubs)
			break;
		usleep(10000);
	}
	assert_int_equal(pubs, 1);
	assert_int_equal(regchain_peer_call(&chain, &peers[5], "deregisterPeer()"), 0);
	watcher_kick(w);
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&r.lock);
		pubs = r.publishes;
		pthread_mutex_unlock(&r.lock);
		if (pubs == 2)
			break;
		usleep(10000);
	}
	assert_int_equal(pubs, 2);
	struct snapshot *s = watcher_snapshot(w);
	assert_non_null(s);
	assert_int_equal(s->npeers, 1);
	snapshot_unref(s);
	/* low balance reaches status through the thread */
	watcher_set_low_balance(w, true);
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&r.lock);
		bool low = r.st.low_balance;
		pthread_mutex_unlock(&r.lock);
		if (low)
			break;
		usleep(10000);
	}
	assert_true(r.st.low_balance);
	watcher_stop(w);
	watcher_free(w);
	rec_release(&r);
}

/* One block per eth_getLogs: the incremental set equals a fresh re-sync. */
static void
test_small_ranges(void **state)
{
	const char *urls[] = { chain.a.url };
	struct watcher_stats a, b;
	struct rec r, r2;
	struct watcher *w, *w2;

	(void)state;
	opt_log_range = 1;
	w = mkwatcher(urls, 1, 0, &r);
	opt_log_range = 0;
	assert_int_equal(watcher_poll_once(w), 0);
	watcher_get_stats(w, &a);
	assert_int_equal(regchain_register_tls(&chain, &peers[0], "https://peer1c.example"), 0);
	mine(2);
	assert_int_equal(regchain_peer_call(&chain, &peers[2], "updateHeartbeat()"), 0);
	mine(2);
	assert_int_equal(watcher_poll_once(w), 0);
	watcher_get_stats(w, &b);
	assert_true(b.rpc_calls - a.rpc_calls >= 6);	/* one getLogs per block */
	assert_int_equal(b.logs - a.logs, 2);
	assert_int_equal(b.resyncs, a.resyncs);
	assert_string_equal(peers_text(&r),
			    "https://peer1c.example\nhttps://peer3.example:8443/x\nhttps://peer4.example\n");
	w2 = mkwatcher(urls, 1, 0, &r2);
	assert_int_equal(watcher_poll_once(w2), 0);
	assert_int_equal(r2.snap->json_txt.len, r.snap->json_txt.len);
	assert_memory_equal(r2.snap->json_txt.data, r.snap->json_txt.data, r.snap->json_txt.len);
	watcher_free(w2);
	rec_release(&r2);
	watcher_free(w);
	rec_release(&r);
}

/* quorum=2: providers must agree; another chain (hashes) or another chain
 * id does not count. */
static void
test_quorum(void **state)
{
	char *const other_id[] = { "--chain-id", "999", NULL };
	struct anvil b, c;
	struct watcher_stats st;
	struct watcher_state ws;
	struct rec r;
	struct watcher *w;

	(void)state;
	anvil_start(&b, NULL);		/* same chain id, other blocks */
	anvil_start(&c, other_id);
	opt_quorum = 2;
	{
		const char *urls[] = { chain.a.url, c.url, chain.a.url };

		w = mkwatcher(urls, 3, 0, &r);
		assert_int_equal(watcher_poll_once(w), 0);
		assert_string_equal(peers_text(&r),
				    "https://peer1c.example\nhttps://peer3.example:8443/x\nhttps://peer4.example\n");
		/* a change is applied after both copies of A agree */
		assert_int_equal(regchain_peer_call(&chain, &peers[0], "deregisterPeer()"), 0);
		assert_int_equal(watcher_poll_once(w), 0);
		assert_string_equal(peers_text(&r),
				    "https://peer3.example:8443/x\nhttps://peer4.example\n");
		watcher_free(w);
		rec_release(&r);
	}
	{
		const char *urls[] = { chain.a.url, b.url };

		w = mkwatcher(urls, 2, 0, &r);
		assert_int_equal(watcher_poll_once(w), -ENOLINK);
		watcher_get_state(w, &ws);
		assert_true(ws.stale);
		assert_false(ws.synced);
		assert_non_null(strstr(ws.last_error, "quorum not reached: 1 of 2"));
		assert_int_equal(r.publishes, 0);
		watcher_free(w);
		rec_release(&r);
	}
	{
		const char *urls[] = { chain.a.url, c.url };

		w = mkwatcher(urls, 2, 0, &r);
		assert_int_equal(watcher_poll_once(w), -ENOLINK);
		watcher_get_stats(w, &st);
		assert_int_equal(st.resyncs, 0);
		watcher_free(w);
		rec_release(&r);
	}
	opt_quorum = 0;
	{
		/* no quorum: a provider on another chain is skipped, not followed */
		const char *urls[] = { c.url, chain.a.url };

		w = mkwatcher(urls, 2, 0, &r);
		assert_int_equal(watcher_poll_once(w), 0);
		assert_string_equal(r.url, chain.a.url);
		assert_string_equal(peers_text(&r),
				    "https://peer3.example:8443/x\nhttps://peer4.example\n");
		watcher_free(w);
		rec_release(&r);
	}
	anvil_stop(&b);
	anvil_stop(&c);
}

/* An unreachable chain: the thread backs off (50, 100, 200, ... ms) instead
 * of polling every 50 ms, and the status says stale with the error. */
static void
test_backoff(void **state)
{
	char dead[64];
	const char *urls[] = { dead };
	struct watcher_stats st;
	struct rec r;
	struct watcher *w;

	(void)state;
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%u", anvil_free_port());
	w = mkwatcher_poll(urls, 1, 0, 50, &r);
	assert_int_equal(watcher_start(w), 0);
	usleep(1600 * 1000);
	watcher_stop(w);
	watcher_get_stats(w, &st);
	/* 0, 50, 150, 350, 750, 1550 ms: 6 polls; without backoff about 32 */
	assert_true(st.errors >= 4 && st.errors <= 8);
	assert_int_equal(st.polls, 0);
	assert_int_equal(r.st.stale, 1);
	assert_non_null(strstr(r.err, "refused"));
	assert_int_equal(r.publishes, 0);
	watcher_free(w);
	rec_release(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_and_events),
		cmocka_unit_test(test_reorg),
		cmocka_unit_test(test_confirmations),
		cmocka_unit_test(test_outage_and_failover),
		cmocka_unit_test(test_thread_kick),
		cmocka_unit_test(test_small_ranges),
		cmocka_unit_test(test_quorum),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
