/*
 * wg: the backend-neutral WireGuard device model and the sync diff.
 *
 * Both backends (wguapi: userspace UAPI text protocol; wgnl: kernel generic
 * netlink) read a device into a struct wg_device and apply a struct
 * wg_device that describes changes.  The model follows wireguard-tools'
 * containers.h: a device with its key, listen port and peers; a peer with
 * its public key, endpoint, keepalive and allowed IPs, plus flags that say
 * which fields a change carries.
 *
 * wg_diff() is the sync of wireguard-tools' setconf, stricter: both sides
 * sorted by public key, the result holds only what differs (peers to add,
 * peers to update, peers to remove; the private key and listen port only
 * when they differ).  Unchanged peers never appear in it.
 *
 * Data module: no I/O, no logging.  The private key lives in a fixed array
 * and is wiped by wg_device_release().
 */
#ifndef DP_WG_H
#define DP_WG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define WG_KEY_LEN		32
#define WG_KEY_HEX_LEN		64
#define WG_PEERS_MAX		4096	/* peers one device may hold in our model */
#define WG_ALLOWEDIPS_MAX	16	/* allowed IPs kept per peer */

/* Device flags */
#define WG_DEVICE_HAS_PRIVATE_KEY	(1U << 0)
#define WG_DEVICE_HAS_LISTEN_PORT	(1U << 1)
#define WG_DEVICE_HAS_PUBLIC_KEY	(1U << 2)
#define WG_DEVICE_REPLACE_PEERS		(1U << 3)

/* Peer flags */
#define WG_PEER_REMOVE			(1U << 0)	/* change: remove this peer */
#define WG_PEER_HAS_ENDPOINT		(1U << 1)	/* endpoint is set / to set */
#define WG_PEER_HAS_KEEPALIVE		(1U << 2)	/* keepalive is to set */
#define WG_PEER_REPLACE_ALLOWEDIPS	(1U << 3)	/* allowed IPs replace the old */
#define WG_PEER_ALLOWEDIPS_OVERFLOW	(1U << 4)	/* read: more than WG_ALLOWEDIPS_MAX */
#define WG_PEER_HAS_PRESHARED_KEY	(1U << 5)	/* read: a non-zero PSK is set */
#define WG_PEER_ADDED			(1U << 6)	/* diff: not on the device yet */

/* An endpoint: AF_INET or AF_INET6 (family 0: none).  Address in network order. */
struct wg_endpoint {
	sa_family_t family;
	uint16_t port;			/* host order */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
};

struct wg_allowedip {
	sa_family_t family;		/* AF_INET or AF_INET6 */
	uint8_t cidr;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
};

struct wg_peer {
	uint32_t flags;
	uint8_t public_key[WG_KEY_LEN];
	struct wg_endpoint endpoint;
	uint16_t keepalive;		/* seconds, 0 = off */
	size_t nallowed;
	struct wg_allowedip allowed[WG_ALLOWEDIPS_MAX];
	/* read back only */
	uint64_t last_handshake_sec;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
};

struct wg_device {
	char ifname[IFNAMSIZ];
	uint32_t flags;
	uint8_t private_key[WG_KEY_LEN];	/* SECRET */
	uint8_t public_key[WG_KEY_LEN];
	uint16_t listen_port;
	uint32_t fwmark;
	struct wg_peer *peers;		/* owned */
	size_t npeers;
	size_t alloc;
};

/* Zero d (no allocation). */
void wg_device_init(struct wg_device *d);

/* Wipe the private key, free the peers, zero d. */
void wg_device_release(struct wg_device *d);

/*
 * Append a zeroed peer with public key pub; returns 0 and a pointer to it
 * in *ret_peer (valid until the next append), -E2BIG (WG_PEERS_MAX), -ENOMEM.
 */
int wg_device_add_peer(struct wg_device *d, const uint8_t pub[WG_KEY_LEN],
		       struct wg_peer **ret_peer);

/*
 * Append an allowed IP to p.  Returns 0; when p already holds
 * WG_ALLOWEDIPS_MAX it sets WG_PEER_ALLOWEDIPS_OVERFLOW and returns -E2BIG
 * (readers that want to go on can; the flag makes any diff replace them).
 * -EINVAL for a bad family or cidr.
 */
int wg_peer_add_allowedip(struct wg_peer *p, const struct wg_allowedip *ip);

/* Sort d's peers by public key (memcmp order). */
void wg_device_sort(struct wg_device *d);

/* Find a peer by public key in a sorted device; NULL if absent. */
struct wg_peer *wg_device_find(const struct wg_device *d, const uint8_t pub[WG_KEY_LEN]);

/* true when two endpoints are equal (family, port, address). */
bool wg_endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b);

/*
 * Compute the changes that turn actual into wanted.  Both devices are
 * sorted in place.  wanted must carry WG_DEVICE_HAS_PRIVATE_KEY and
 * WG_DEVICE_HAS_LISTEN_PORT when those should be enforced.  The result
 * (a fresh device in *ret_changes, same ifname as wanted) holds:
 *   - the private key when actual's differs (constant-time compare);
 *   - the listen port when it differs;
 *   - each wanted peer absent from actual, with all its fields;
 *   - each peer in both whose endpoint, keepalive or allowed IPs differ,
 *     with only the differing fields flagged;
 *   - each actual peer absent from wanted, flagged WG_PEER_REMOVE.
 * Returns 0, -EINVAL (duplicate public key in wanted), -E2BIG, -ENOMEM.
 * *ret_changes is written only on success; release it with
 * wg_device_release().
 */
int wg_diff(struct wg_device *wanted, struct wg_device *actual, struct wg_device *ret_changes);

/* true when changes carries nothing (no flags that set anything, no peers). */
bool wg_changes_empty(const struct wg_device *changes);

/* Key codecs (constant time in the key bytes, like wireguard-tools' encoding.c). */
void wg_key_to_hex(const uint8_t key[WG_KEY_LEN], char out[WG_KEY_HEX_LEN + 1]);
/* Returns 0, -EINVAL (not exactly 64 hex digits). */
int wg_key_from_hex(const char *s, size_t n, uint8_t ret_key[WG_KEY_LEN]);
/* true when the key is all zero. */
bool wg_key_is_zero(const uint8_t key[WG_KEY_LEN]);

/*
 * Format an endpoint as "a.b.c.d:port" or "[v6]:port" into out (outsz
 * bytes).  Returns 0, -EINVAL (no family), -ENOSPC.
 */
int wg_endpoint_format(const struct wg_endpoint *e, char *out, size_t outsz);

/*
 * Parse a numeric endpoint "a.b.c.d:port" or "[v6]:port" (port 1..65535).
 * Returns 0, -EINVAL.  No name resolution.
 */
int wg_endpoint_parse(const char *s, size_t n, struct wg_endpoint *ret);

#endif
