/*
 * wgapply: the WireGuard applier, a view of the peer snapshots.
 *
 * wgapply_new() picks the backend (kernel generic netlink when the kernel
 * has WireGuard, else userspace wireguard-go over UAPI; an option forces
 * one), creates the interface or attaches to an existing WireGuard one,
 * sets the private key and listen port, brings the link up and puts the
 * mesh address and route on it.  An interface name held by anything that is
 * not a WireGuard device is an error; when setup fails after creating the
 * interface, the interface is removed again (nothing half-configured).
 *
 * wgapply_set_peers() turns a peer set into the wanted device: every peer
 * with a WireGuard key (not this instance's own) gets allowed IPs exactly
 * its mesh /32, its endpoint and the persistent keepalive.  Hostile records
 * never reach the device: a zero key, a mesh address outside the mesh
 * network or equal to ours, an endpoint that fails endpoint.h, a key used
 * twice (the first token keeps it) are skipped.  The device is read back,
 * diffed (wg_diff()) and only the difference is sent: unchanged peers are
 * never touched.  wgapply_reconcile() repeats that with the last wanted set,
 * which puts back a peer changed by hand.  The interface is never torn down.
 *
 * Thread-safe: a->lock guards everything (the watcher thread applies
 * snapshots, a timer reconciles, status readers ask for stats).
 */
#ifndef DP_WGAPPLY_H
#define DP_WGAPPLY_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "options.h"
#include "snapshot.h"
#include "wg.h"

#define WGAPPLY_ERR_MAX		256
#define WGAPPLY_START_MS	5000	/* wait for wireguard-go's socket */

struct wgapply_config {
	char ifname[IFNAMSIZ];
	enum wg_backend_choice backend;
	uint16_t listen_port;
	struct in_addr mesh_ip;		/* ours, network order */
	struct in_addr mesh_net;	/* network order */
	uint8_t mesh_prefix;		/* 8..30 */
	uint16_t keepalive;		/* seconds, 0 = off */
	uint8_t private_key[WG_KEY_LEN];	/* SECRET: copied, the caller wipes its copy */
	uint8_t public_key[WG_KEY_LEN];		/* ours: such a peer is skipped */
	const char *uapi_dir;		/* NULL: WGUAPI_DIR_DEFAULT */
	const char *wireguard_go;	/* NULL: "wireguard-go" from PATH */
};

/* What the last apply did, and totals. */
struct wgapply_stats {
	uint64_t applies;		/* set_peers + reconcile calls that succeeded */
	uint64_t noops;			/* of which found nothing to change */
	uint64_t peers_added;		/* totals */
	uint64_t peers_updated;
	uint64_t peers_removed;
	uint64_t skipped;		/* records refused (hostile or unusable) */
	unsigned int last_added, last_updated, last_removed, last_device;
	unsigned int last_messages;	/* netlink messages of the last set (kernel) */
};

struct wgapply;

/*
 * Fill *ret from the daemon's options, this instance's WireGuard key pair
 * (copied: wipe ret with explicit_bzero() after wgapply_new()) and its
 * token id (mesh address: host token_id of the mesh network, as the
 * registry's addressing rule says).  Returns 0, -EINVAL (not WireGuard
 * mode), -ERANGE (the token has no host address in the mesh network).
 */
int wgapply_config_from_options(const struct options *o, const uint8_t sk[WG_KEY_LEN],
				const uint8_t pub[WG_KEY_LEN], uint64_t token_id,
				struct wgapply_config *ret);

/*
 * Set up the interface as above.  Returns 0 and *ret_a, or -errno with a
 * lowercase message in err (errsz bytes): -EEXIST (name taken by another
 * kind of link), -ENOENT (no backend: no kernel WireGuard and no
 * wireguard-go), -EPERM (no CAP_NET_ADMIN), -EINVAL (bad config), others
 * from the backends.
 */
int wgapply_new(const struct wgapply_config *cfg, struct wgapply **ret_a, char *err, size_t errsz);

/* Free the applier (wipes the key).  The interface stays.  NULL is fine. */
void wgapply_free(struct wgapply *a);

/* "kernel" or "userspace". */
const char *wgapply_backend_name(const struct wgapply *a);

/* The interface name. */
const char *wgapply_ifname(const struct wgapply *a);

/*
 * Make the device hold exactly these peers (n <= PEERS_MAX; the array is
 * not kept).  Returns 0, -errno from the backend (the wanted set is kept
 * for the next reconcile either way), -E2BIG, -ENOMEM.
 */
int wgapply_set_peers(struct wgapply *a, const struct peer *peers, size_t n);

/* Apply a snapshot's peers (wgapply_set_peers()). */
int wgapply_snapshot(struct wgapply *a, const struct snapshot *snap);

/* Re-apply the last wanted set.  Returns as wgapply_set_peers(). */
int wgapply_reconcile(struct wgapply *a);

/*
 * Fill peers[i].wg (latest handshake, its age against the wall clock now,
 * rx, tx) from the device for every peer with a key on it; others get
 * valid = false.  Returns 0 or -errno
 * (peers untouched).
 */
int wgapply_fill_stats(struct wgapply *a, struct peer *peers, size_t n);

/* Copy the counters. */
void wgapply_get_stats(struct wgapply *a, struct wgapply_stats *ret);

/*
 * The runner: the daemon's WireGuard view.  A thread that waits until this
 * instance has its WireGuard key and token (the self callback answers
 * -EAGAIN until then), sets the device up with wgapply_new() (a failure is
 * logged once per distinct message and retried every interval), applies
 * each snapshot handed to wgapply_runner_publish(), and reconciles every
 * reconcile_ms so that a peer changed by hand is put back.  After each apply
 * or reconcile that succeeded it hands the view hook a copy of the newest
 * snapshot (same generation) with every peer's figures filled in
 * (wgapply_fill_stats()): data flows one way, device -> view.
 */
#define WGAPPLY_RECONCILE_MS	5000

struct wgapply_runner_config {
	const struct options *o;	/* copied */
	/* This instance's key pair (copied into ret_key, which the runner
	 * wipes) and token id; -EAGAIN while not known yet. */
	int (*self)(void *arg, struct identity_wg *ret_key, uint64_t *ret_token);
	void *arg;
	/* Runner thread, may be NULL: the snapshot with figures (the callee
	 * takes its own reference to keep it), and "the backend name changed"
	 * (device set up, or gone). */
	void (*view)(void *arg, struct snapshot *snap);
	void (*backend_changed)(void *arg);
	uint64_t reconcile_ms;		/* 0: WGAPPLY_RECONCILE_MS */
	const char *uapi_dir;		/* NULL: default (tests) */
};

struct wgapply_runner;

/* Start the runner thread.  Returns 0, -EINVAL (not WireGuard mode),
 * -ENOMEM, -errno of pthread_create. */
int wgapply_runner_start(const struct wgapply_runner_config *c, struct wgapply_runner **ret);

/* Hand over a new snapshot (a reference is taken); one older (by
 * generation) than the newest handed over is ignored.  Never blocks on the
 * device.  Thread-safe. */
void wgapply_runner_publish(struct wgapply_runner *r, struct snapshot *snap);

/*
 * Copy the backend name ("kernel", "userspace", or "none" before the
 * device is up) into backend (16 bytes).  Thread-safe.
 */
void wgapply_runner_backend(struct wgapply_runner *r, char backend[16]);

/* Stop the thread and free; the interface stays.  NULL is fine. */
void wgapply_runner_free(struct wgapply_runner *r);

#endif
