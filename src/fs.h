/*
 * fs: the /p2p FUSE view (libfuse 3 lowlevel; fuse types stay in fs.c).
 *
 * Files: register (rw, root only by default), peers, leader, peers.json,
 * self, status (read-only).  Any other name is ENOENT; creating fails.
 *
 * Content: every file is an immutable, reference-counted blob swapped under
 * fs.lock; each READ request is answered from one blob.
 * `peers`, `leader` and `peers.json` come from a struct snapshot
 * (fs_publish()); `self`, `status` and `register` are text the daemon renders
 * with snapshot_render_*() and hands over with fs_set_text().
 *
 * Change events: after fs_run() has started, each publish that changes the
 * bytes of peers, leader or peers.json raises, for each changed file, exactly
 * one IN_MODIFY then IN_CLOSE_WRITE (also seen by watchers of the mount
 * root): a notifier thread (not a FUSE worker) writes one byte through the
 * mount with O_DIRECT, and the write handler discards that thread's write.
 * A publish that changes nothing raises nothing; publishes before fs_run()
 * set the baseline silently.  self/status/register changes only invalidate
 * the kernel cache.  peers.json is compared by its change key (struct
 * snapshot json_key: the membership, without the WireGuard `wg` figures):
 * a publish that changes only those figures serves the new bytes and
 * invalidates the kernel cache but raises no event.
 *
 * Speed versus strictness (FS_MODE_*): see README "The /p2p view".
 *   FS_MODE_FAST: open() answers ENOSYS once, after which the kernel never
 *     sends open again and keeps the page cache (open+read+close near tmpfs
 *     speed).  Non-root writers of read-only files are refused at open() by
 *     the kernel (default_permissions, mode 0444); root's O_TRUNC open is
 *     refused (its SETATTR fails); a root O_WRONLY open without O_TRUNC
 *     succeeds and its write() fails with EACCES (no IN_MODIFY, but its
 *     close raises IN_CLOSE_WRITE).
 *     Known limit: a read racing a publish within microseconds can pair the
 *     kernel's old cached size with new pages (measured: ~3 in 100000 reads
 *     while publishing every millisecond); the next read is whole again.
 *   FS_MODE_STRICT: the open handler answers: writers of read-only files are
 *     refused at open() with EACCES; each open pins the version current at
 *     open() and is served direct_io, so no read ever mixes versions.  Every
 *     open and read costs a round trip to the daemon (~4% of tmpfs).
 *
 * Register: a write of "", "register", "1" or "leave" (optional trailing
 * "\n") is parsed by fs_register_parse(); anything else is EINVAL with nothing
 * changed.  An accepted write is queued to the fs request thread, which calls
 * cfg.reg_request() (it may block for as long as the chain takes) and then
 * answers the write: the writer's write() returns once that call returns,
 * with its -errno as the error.  FUSE worker threads are never blocked.
 */
#ifndef DP_FS_H
#define DP_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapshot.h"

/* Longest accepted write into /p2p/register. */
#define FS_REGISTER_WRITE_MAX	4096
/* Most register writes waiting for the request thread (-EAGAIN beyond). */
#define FS_REG_QUEUE_MAX	64

enum fs_mode {
	FS_MODE_FAST = 0,
	FS_MODE_STRICT = 1,
};

enum fs_reg_op {
	FS_REG_REGISTER = 0,	/* "", "register", "1" */
	FS_REG_LEAVE = 1,	/* "leave" */
};

/* The text files the daemon sets with fs_set_text(). */
enum fs_text {
	FS_TEXT_SELF = 0,
	FS_TEXT_STATUS,
	FS_TEXT_REGISTER,
};

struct fs_config {
	const char *mountpoint;	/* copied */
	enum fs_mode mode;
	bool allow_other;	/* let other users see the mount */
	bool register_any_user;	/* register mode 0666 instead of 0644 */
	bool has_register_gid;	/* register mode 0664, group register_gid */
	uint32_t register_gid;
	bool debug;		/* libfuse request tracing */
	/*
	 * Called on the fs request thread for each accepted register write, in
	 * arrival order, one at a time.  May block.  Returns 0 (the write
	 * succeeds) or -errno (the write fails with it).  It should update the
	 * register text (fs_set_text()) before returning so a read after the
	 * write shows the outcome.  NULL: writes fail with EOPNOTSUPP.
	 */
	int (*reg_request)(void *arg, enum fs_reg_op op);
	void *reg_arg;
};

struct fs;

/*
 * Parse a write into /p2p/register: exactly "", "register", "1" or "leave",
 * each optionally followed by one "\n".  Pure, bounded by len.  Returns 0 and
 * *ret_op, or -EINVAL (anything else, including len > FS_REGISTER_WRITE_MAX).
 */
int fs_register_parse(const uint8_t *data, size_t len, enum fs_reg_op *ret_op);

/*
 * Create the view and mount it at cfg->mountpoint (an existing empty
 * directory).  Nothing is served until fs_run().  All files start empty
 * except register ("state=unregistered\n").  Returns 0 and *ret_fs, -EINVAL,
 * -ENOMEM, -EIO (mount failed; logged).
 */
int fs_new(const struct fs_config *cfg, struct fs **ret_fs);

/*
 * Serve requests with a multithreaded FUSE loop until fs_stop() or an
 * outside unmount.  Blocks; call it from one thread.  Returns 0 or -errno.
 */
int fs_run(struct fs *fs);

/*
 * Make fs_run() return soon.  Thread-safe; not for signal handlers (use a
 * sigwait or signalfd thread).  Register writes still queued fail ESHUTDOWN.
 */
void fs_stop(struct fs *fs);

/* Unmount and free.  Call after fs_run() returned (or was never called). */
void fs_free(struct fs *fs);

/*
 * Publish a snapshot: fs takes its own reference (the caller keeps its).
 * Files whose bytes changed get new content, their cache is invalidated, and
 * change events are queued for the notifier thread (peers.json: only when
 * its change key changed).  A snapshot older (by generation) than the last
 * one published is ignored; the same generation again is a republish (e.g.
 * with fresh WireGuard figures).  Returns 0, -ENOMEM.
 * Thread-safe (also from cfg.reg_request); never waits for FUSE, only takes
 * fs.lock briefly.
 */
int fs_publish(struct fs *fs, struct snapshot *snap);

/*
 * Replace the text of self, status or register (copied).  Same bytes as now:
 * nothing happens.  Returns 0, -EINVAL, -E2BIG (len > SNAPSHOT_TEXT_MAX),
 * -ENOMEM.  Thread-safe.
 */
int fs_set_text(struct fs *fs, enum fs_text which, const void *data, size_t len);

/*
 * Wait until every change queued so far has been delivered (events written,
 * caches invalidated).  For tests and orderly shutdown.  Returns 0.
 */
int fs_flush(struct fs *fs);

#endif
