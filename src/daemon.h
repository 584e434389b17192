/*
 * daemon: the dstackp2pfs process once its options are valid: mount the
 * view, detach, start the threads, serve until unmounted or signalled.
 *
 * Threads (see README "Threads and locks"):
 *   main      fs_run(): the multithreaded FUSE session loop (up to 16 workers)
 *   notifier  fs: writes the change events through the mount
 *   fs-reg    fs: takes register writes in order, calls the registrar
 *   watcher   polls the chain, publishes snapshots and status into fs
 *   registrar heartbeats, balance checks, identity retries
 *   signals   sigwait(SIGINT, SIGTERM, SIGHUP): orderly stop
 */
#ifndef DP_DAEMON_H
#define DP_DAEMON_H

#include <stdbool.h>

#include "options.h"

struct daemon_config {
	struct options opts;		/* validated (options_finish() passed) */
	const char *mountpoint;		/* an existing directory */
	bool foreground;		/* -f: do not detach, log to stderr */
	bool debug;			/* -d: debug log, FUSE request tracing */
	bool allow_other;		/* -o allow_other */
	bool use_syslog;		/* log to syslog even in the foreground */
};

/*
 * Run the daemon until the file system is unmounted or SIGINT/SIGTERM/SIGHUP
 * arrives.  Without foreground, the calling process exits 0 once the mount
 * is up and a detached child carries on.  Returns 0 after an orderly stop,
 * -errno when setup failed (logged).
 */
int daemon_run(const struct daemon_config *c);

#endif
