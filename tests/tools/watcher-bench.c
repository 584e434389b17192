/*
 * watcher-bench: numbers for the chain watcher (issue #6 benchmarks), on a
 * real anvil with the real registry contract and N registered peers:
 *   - cold sync: wall time of the first poll (getPeers pages at a pinned
 *     block) and the process's resident memory before and after;
 *   - idle polling cost: RPC calls and bytes per poll when nothing happened,
 *     when one empty block was mined (confirmations 0 and 2).
 * Prints numbers, not pass/fail.  Run by tests/bench/bench_idle_poll.sh.
 *
 *   watcher-bench N		(DP_SOURCE_DIR must point at the source tree)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "watcher.h"
#include "../unit/registry_fixture.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM"). */
static long
status_kib(const char *field)
{
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = 0;
			for (char *p = line + n + 1; *p; p++)
				if (*p >= '0' && *p <= '9')
					v = v * 10 + (*p - '0');
			break;
		}
	}
	if (f)
		fclose(f);
	return v;
}

static struct watcher *
mk(struct regchain *c, uint64_t conf)
{
	const char *urls[] = { c->a.url };
	struct watcher_config cfg = {
		.rpc_urls = urls, .nrpc = 1, .poll_ms = 1000, .confirmations = conf,
		.has_chain_id = true, .chain_id = ANVIL_CHAIN_ID,
		.set = { .mode = PEER_NET_TLS },
	};
	struct watcher *w;

	memcpy(cfg.contract, c->contract, 20);
	if (watcher_new(&cfg, &w) < 0)
		regchain_die("watcher_new", -EINVAL);
	return w;
}

/* Calls and bytes of `polls` polls, each after `mine` empty blocks. */
static void
measure(struct regchain *c, struct watcher *w, const char *what, unsigned mine, unsigned polls)
{
	struct watcher_stats a, b;
	char arg[16];

	watcher_get_stats(w, &a);
	for (unsigned i = 0; i < polls; i++) {
		if (mine) {
			snprintf(arg, sizeof(arg), "%u", mine);
			regchain_rpc(c, "anvil_mine", arg);
		}
		if (watcher_poll_once(w) < 0)
			regchain_die("poll", -EIO);
	}
	watcher_get_stats(w, &b);
	printf("  %-34s %6.2f calls/poll  %8.0f bytes sent/poll  %8.0f bytes received/poll\n",
	       what, (double)(b.rpc_calls - a.rpc_calls) / polls,
	       (double)(b.rpc_bytes_sent - a.rpc_bytes_sent) / polls,
	       (double)(b.rpc_bytes_received - a.rpc_bytes_received) / polls);
}

int
main(int argc, char **argv)
{
	char *const anvil_args[] = { "--gas-limit", "1000000000", NULL };
	struct regchain c;
	struct regpeer p;
	struct watcher *w;
	struct watcher_stats st;
	struct snapshot *s;
	char ep[64];
	unsigned n;
	long rss0, rss1, hwm;
	double t0, t1;

	(void)test_contract_init;
	uint64_t nn;

	if (argc != 2 || num_parse_u64(argv[1], false, 1, PEERS_MAX, &nn) < 0) {
		fprintf(stderr, "usage: watcher-bench N (1..%d)\n", PEERS_MAX);
		return 2;
	}
	n = (unsigned)nn;
	log_init(1, 0);	/* watcher lines to stderr */
	rpc_global_init();
	regchain_start(&c, anvil_args, 3600, n + 1);
	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		regchain_peer(&c, i, &p);
		snprintf(ep, sizeof(ep), "https://peer-%u.bench.example:443", i + 1);
		if (regchain_register_tls(&c, &p, ep) < 0)
			regchain_die("register", -EIO);
		regpeer_release(&p);
	}
	t1 = now_s();
	printf("watcher benchmark, %u peers (anvil, automine)\n", n);
	printf("  setup: %u peers funded and registered in %.1f s\n", n, t1 - t0);

	rss0 = status_kib("VmRSS");
	w = mk(&c, 0);
	t0 = now_s();
	if (watcher_poll_once(w) < 0)
		regchain_die("cold sync", -EIO);
	t1 = now_s();
	rss1 = status_kib("VmRSS");
	hwm = status_kib("VmHWM");
	s = watcher_snapshot(w);
	watcher_get_stats(w, &st);
	printf("  cold sync: %zu live peers in %.3f s, %llu calls, %llu bytes received\n",
	       s ? s->npeers : 0, t1 - t0, (unsigned long long)st.rpc_calls,
	       (unsigned long long)st.rpc_bytes_received);
	printf("  resident memory: %ld KiB before, %ld KiB after cold sync (+%ld KiB), peak %ld KiB\n",
	       rss0, rss1, rss1 - rss0, hwm);
	snapshot_unref(s);

	measure(&c, w, "idle poll (no new block):", 0, 20);
	measure(&c, w, "poll after 1 empty block:", 1, 20);
	watcher_free(w);
	w = mk(&c, 2);
	if (watcher_poll_once(w) < 0)
		regchain_die("sync", -EIO);
	measure(&c, w, "same, confirmations=2:", 1, 20);
	watcher_free(w);
	regchain_stop(&c);
	return 0;
}
