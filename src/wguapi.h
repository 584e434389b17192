/*
 * wguapi: the userspace WireGuard backend, the cross-platform UAPI text
 * protocol that wireguard-go serves on <dir>/<ifname>.sock (dir is
 * /var/run/wireguard unless a test says otherwise).
 *
 * A request is "get=1\n\n" or "set=1\n" followed by key=value lines and an
 * empty line; every reply ends with "errno=N\n\n".  Replies are untrusted:
 * they are read up to WGUAPI_REPLY_MAX bytes through a bounded parser
 * (wguapi_parse_get(), a fuzz target) that checks every key and number.
 *
 * The formatter and parser are pure; wguapi_get()/wguapi_set() do the
 * socket I/O with a deadline.  This module never logs: callers log.
 * The private key crosses the socket in hex (that is the protocol); the
 * request buffer holding it is wiped after the write.
 */
#ifndef DP_WGUAPI_H
#define DP_WGUAPI_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "wg.h"

#define WGUAPI_DIR_DEFAULT	"/var/run/wireguard"
#define WGUAPI_LINE_MAX		256	/* longest line of a reply, without newline */
#define WGUAPI_REPLY_MAX	(WG_PEERS_MAX * 1024 + 4096)
#define WGUAPI_REQUEST_MAX	(WG_PEERS_MAX * 1024 + 4096)
#define WGUAPI_TIMEOUT_MS	5000	/* per socket wait */
#define WGUAPI_PATH_MAX		108	/* sun_path */

/*
 * Write "<dir>/<ifname>.sock" into out (outsz bytes).  dir NULL means
 * WGUAPI_DIR_DEFAULT.  Returns 0, -EINVAL (bad interface name), -ENAMETOOLONG.
 */
int wguapi_sock_path(const char *dir, const char *ifname, char *out, size_t outsz);

/* true when something accepts connections on ifname's UAPI socket. */
bool wguapi_exists(const char *dir, const char *ifname);

/*
 * Parse a reply to "get=1" (len bytes, not NUL-terminated, the final empty
 * line included or not) into *ret (fresh; release with wg_device_release()).
 * Returns 0, -EBADMSG (malformed line, bad key or number, no errno line,
 * data after it), -E2BIG (a line over WGUAPI_LINE_MAX, more than
 * WG_PEERS_MAX peers), -ENOMEM, or the negative errno the server reported.
 * A peer with more than WG_ALLOWEDIPS_MAX allowed IPs is kept with
 * WG_PEER_ALLOWEDIPS_OVERFLOW set.  *ret written only on success.
 */
int wguapi_parse_get(const char *reply, size_t len, struct wg_device *ret);

/*
 * Parse a reply to "set=1": exactly "errno=N\n" (plus the empty line).
 * Returns 0, -N when the server reported errno N, -EBADMSG.
 */
int wguapi_parse_set_reply(const char *reply, size_t len);

/*
 * Append a complete "set=1" request for changes to out (empty line
 * included).  Returns 0, -EINVAL (a peer with an unknown address family),
 * -E2BIG, -ENOMEM.  The caller wipes out when it holds a private key.
 */
int wguapi_format_set(const struct wg_device *changes, struct buf *out);

/*
 * Read ifname's device.  Returns 0 and *ret (release with
 * wg_device_release()), -ENOENT (no socket), -ECONNREFUSED, -ETIMEDOUT,
 * or the parser's errors.
 */
int wguapi_get(const char *dir, const char *ifname, struct wg_device *ret);

/* Apply changes to ifname's device.  Returns 0 or as wguapi_get(). */
int wguapi_set(const char *dir, const char *ifname, const struct wg_device *changes);

#endif
