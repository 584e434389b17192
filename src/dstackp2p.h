/*
 * dstackp2p: a small client API for applications that use the /p2p mount.
 *
 * Everything goes through the files of the mount (see dstackp2pfs(8)); this
 * module only wraps them: register/leave are one write(2) into `register`
 * whose errno is the outcome, the peer list is `peers` split into lines, and
 * a change of the list is an IN_CLOSE_WRITE on `peers` seen by an inotify
 * watch on the mount root.  It works on any directory holding those files.
 *
 * Watching, two ways:
 *   - dstackp2p_watch(): a blocking loop that calls back with each new list;
 *   - dstackp2p_watch_open() + dstackp2p_watch_drain(): an inotify fd to put
 *     in the caller's epoll/poll loop; when it is readable, drain it and, if
 *     it says the peers changed, read them again.
 * Not thread-safe per object; separate objects are independent.
 */
#ifndef DP_DSTACKP2P_H
#define DP_DSTACKP2P_H

#include <stdbool.h>
#include <stddef.h>

#define DSTACKP2P_MOUNT_DEFAULT	"/p2p"
/* Largest `peers` file accepted (exceeding it is -E2BIG, never truncated). */
#define DSTACKP2P_PEERS_FILE_MAX	(1024 * 1024)
/* Most peers in one list. */
#define DSTACKP2P_PEERS_MAX	4096
/* Largest `self` file accepted. */
#define DSTACKP2P_SELF_FILE_MAX	65536

/* A peer list: connection strings (URL or mesh IP), ordered as in `peers`. */
struct dstackp2p_peers {
	char **v;	/* n strings pointing into data; owned */
	size_t n;
	char *data;	/* owned; the file's bytes, newlines replaced by NULs */
	size_t len;	/* bytes of the file */
};

/*
 * Ask the daemon to register this instance (write "register" into
 * MOUNT/register).  Blocks until the daemon answers, which can take as long
 * as the chain takes.  mount NULL means DSTACKP2P_MOUNT_DEFAULT.  Returns 0,
 * or the write's -errno (table in dstackp2pfs(8) "REGISTER ERRORS", e.g.
 * -EACCES not allowed, -ENOSPC no gas funds, -EHOSTUNREACH no RPC).
 */
int dstackp2p_register(const char *mount);

/* Leave the cluster (write "leave").  Same returns as dstackp2p_register(). */
int dstackp2p_leave(const char *mount);

/*
 * Read MOUNT/peers into *ret_peers (release with dstackp2p_peers_release()).
 * Returns 0, -errno of open/read, -E2BIG (over DSTACKP2P_PEERS_FILE_MAX or
 * DSTACKP2P_PEERS_MAX), -EBADMSG (an empty line or a NUL byte), -ENOMEM.
 */
int dstackp2p_read_peers(const char *mount, struct dstackp2p_peers *ret_peers);

/*
 * Split the bytes of a `peers` file (one entry per "\n"-terminated line; a
 * last line without "\n" counts) into *ret_peers.  Pure.  Same returns as
 * dstackp2p_read_peers() other than the open/read ones.
 */
int dstackp2p_parse_peers(const char *data, size_t len,
    struct dstackp2p_peers *ret_peers);

/* Free a list and zero it.  NULL and zeroed lists are fine. */
void dstackp2p_peers_release(struct dstackp2p_peers *p);

/* True if both lists hold the same entries in the same order. */
bool dstackp2p_peers_equal(const struct dstackp2p_peers *a,
    const struct dstackp2p_peers *b);

/*
 * Copy the value of "KEY=" in MOUNT/self (e.g. "contract", "mode",
 * "address") into ret_val (size bytes, NUL-terminated).  Returns 0, -ENOENT
 * (no such key), -ENOBUFS (value does not fit), -E2BIG (self too large),
 * -errno of open/read.
 */
int dstackp2p_self_get(const char *mount, const char *key, char *ret_val,
    size_t size);

/*
 * An inotify fd (O_NONBLOCK, O_CLOEXEC) watching MOUNT for IN_CLOSE_WRITE:
 * it becomes readable when a file of the mount changes.  The caller owns it
 * (close(2) it).  Open it before reading the list so no change is lost.
 * Returns 0 and *ret_fd, or -errno.
 */
int dstackp2p_watch_open(const char *mount, int *ret_fd);

/*
 * Read every pending event of a watch fd without blocking.  *ret_changed is
 * true if `peers` was among them.  Returns 0, -ENODEV (the watch was removed:
 * IN_IGNORED or IN_UNMOUNT), or -errno of read.  Note: unmounting a FUSE
 * mount raises no inotify event on the kernels here (measured), so a caller
 * that must notice an unmount compares st_dev of the mount now and then, as
 * mount-helpers/p2p-watch does.
 */
int dstackp2p_watch_drain(int fd, bool *ret_changed);

/*
 * Called by dstackp2p_watch() with each new list (borrowed for the call).
 * Return 0 to go on, anything else to stop the watch.
 */
typedef int (*dstackp2p_peers_cb)(const struct dstackp2p_peers *peers,
    void *arg);

/*
 * Watch the peers: call cb with the current list first, then once with each
 * list that differs from the one delivered before (events that leave the
 * list unchanged are not delivered).  Blocks.  Returns 0 when cb returned a
 * positive value, cb's value when negative, or -errno (-ENODEV when the
 * mount went away; errors of reading the list).
 */
int dstackp2p_watch(const char *mount, dstackp2p_peers_cb cb, void *arg);

#endif
