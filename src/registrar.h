/*
 * registrar: this instance's membership in the peer registry.
 *
 * It learns who this instance is from the dstack guest agent (identity.h:
 * instance id, app id, the derived key and its KMS proof, the WireGuard key
 * in WireGuard mode, the endpoint from gateway.h or the endpoint option),
 * registers, leaves, sends heartbeats and watches the key's balance.  It
 * renders `self` and `register` into the view (fs_set_text()).
 *
 * Register is idempotent: when the contract already holds this instance with
 * the same endpoint, network type and WireGuard key, no transaction is sent.
 * A restarted daemon reads its state back from the chain and sends nothing
 * until the next heartbeat.
 *
 * Errors of registrar_request() (the errno a write into /p2p/register
 * returns; the reason is readable from `register`):
 *   EACCES       no membership token and enrollment closed or full, app not allowed
 *   EPERM        the proof was rejected (KMS root not trusted, bad signature)
 *   EINVAL       the endpoint or WireGuard key was rejected
 *   EADDRINUSE   the instance id, key or WireGuard key is held by another token
 *   ENOSPC       no funds for gas
 *   EHOSTUNREACH no RPC endpoint answered
 *   ETIMEDOUT    the transaction was not mined before the receipt deadline
 *   ENODEV       no guest agent (or it refused to derive the keys)
 *   EPROTO       the chain id is not the expected one
 *   EIO          anything else (a revert the daemon cannot name)
 *
 * Threads and locks: one registrar thread (heartbeats, balance, identity
 * retry).  registrar_request() runs on the caller's thread (the fs request
 * thread).  reg->op_lock serializes every chain operation (so nonces are
 * taken and used one transaction at a time); reg->lock guards the state that
 * status readers see (registrar_get_status()).  Never hold lock while
 * waiting for the chain.
 */
#ifndef DP_REGISTRAR_H
#define DP_REGISTRAR_H

#include <stdbool.h>
#include <stdint.h>

#include "fs.h"
#include "identity.h"
#include "options.h"
#include "snapshot.h"

/* How long a transaction may take from submission to its receipt. */
#define REGISTRAR_RECEIPT_TIMEOUT_MS	60000
/* Retry interval for identity, balance and chain state after a failure. */
#define REGISTRAR_RETRY_MS		5000
/* Heartbeat when the contract TTL is unknown and heartbeat= was not given. */
#define REGISTRAR_DEFAULT_HEARTBEAT_MS	60000
/* Longest reason text kept for `register`. */
#define REGISTRAR_REASON_MAX		SNAPSHOT_NOTE_MAX

enum registrar_op {
	REGISTRAR_REGISTER = 0,
	REGISTRAR_LEAVE = 1,
};

struct registrar;

/*
 * Calls out of the registrar (the daemon wires them to the watcher).  Both
 * run on registrar or request threads with no registrar lock held, and may
 * be NULL.
 */
struct registrar_hooks {
	/* The chain changed because of us (registered, left): resync soon. */
	void (*changed)(void *arg);
	/* The balance was read: low is true below options.low_balance_wei. */
	void (*balance)(void *arg, bool low);
	void *arg;
};

/* What the status file needs from the registrar. */
struct registrar_status {
	bool have_balance;		/* a balance was read */
	bool low_balance;		/* below options.low_balance_wei */
	uint8_t balance_be[32];		/* wei, big-endian */
	bool registered;
	uint64_t token_id;
	uint64_t heartbeats_sent;
	uint64_t registrations_sent;	/* registerPeer transactions sent by this process */
};

/*
 * Make a registrar for the validated options o (copied) that renders into
 * fs (borrowed; must outlive the registrar) and calls hooks (copied; may be
 * NULL).  Does no I/O.  Returns 0, -ENOMEM, -EINVAL.
 */
int registrar_new(const struct options *o, struct fs *fs, const struct registrar_hooks *hooks,
		  struct registrar **ret);

/*
 * Start the registrar thread: it loads the identity, reads the registration
 * state from the chain, then sends heartbeats while registered and checks
 * the balance.  Returns 0 or -errno of pthread_create.
 */
int registrar_start(struct registrar *reg);

/*
 * Register or leave, blocking until the chain confirms (or the receipt
 * deadline passes).  Updates `register` and `self` before it returns.
 * Returns 0 or one of the -errno values listed above.  Thread-safe.
 */
int registrar_request(struct registrar *reg, enum registrar_op op);

/* The fs.h reg_request callback: arg is a struct registrar. */
int registrar_fs_request(void *arg, enum fs_reg_op op);

/*
 * The errno (negative) for a contract custom error signature, e.g.
 * "InstanceTaken(bytes20,uint256)", and a short reason in *ret_why (static;
 * may be NULL).  -EIO for a signature not known.  Pure.
 */
int registrar_error_errno(const char *signature, const char **ret_why);

/* Copy the status figures.  Thread-safe. */
void registrar_get_status(struct registrar *reg, struct registrar_status *ret);

/*
 * WireGuard mode: this instance's key pair (a copy of the secret: the
 * caller wipes it with identity_wg_release()) and its token id, once the
 * identity is loaded and the instance registered.  Returns 0, -EAGAIN (not
 * yet, or a chain operation holds the registrar: ask again later; never
 * blocks), -EINVAL (not WireGuard mode).  Thread-safe.
 */
int registrar_wg_self(struct registrar *reg, struct identity_wg *ret_key, uint64_t *ret_token);

/* Stop and join the thread (a request in flight finishes first). */
void registrar_stop(struct registrar *reg);

/* Free (after registrar_stop()); wipes the keys.  NULL is fine. */
void registrar_free(struct registrar *reg);

#endif
