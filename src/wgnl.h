/*
 * wgnl: the kernel WireGuard backend and the interface plumbing, over
 * netlink with libmnl.
 *
 *   - generic netlink family "wireguard": WG_CMD_GET_DEVICE (a dump; the
 *     kernel may split one peer's allowed IPs over two messages, which the
 *     parser joins) and WG_CMD_SET_DEVICE, sent as wireguard-tools sends it:
 *     device attributes in the first message, peers nested, a new message
 *     (ifname + peers only) whenever the next peer does not fit in
 *     WGNL_MSG_MAX bytes, each message acknowledged before the next.
 *   - rtnetlink for both backends: link create (kind "wireguard") / delete /
 *     up, the link's kind, the mesh address and the mesh route.
 *
 * Netlink replies are untrusted: every message and attribute is walked with
 * bounds checks and every fixed-size attribute must be exactly its size
 * (wgnl_parse_device(), a fuzz target).  libmnl types stay in wgnl.c.
 * This module never logs.
 */
#ifndef DP_WGNL_H
#define DP_WGNL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "wg.h"

#define WGNL_MSG_MAX		4096	/* bytes per SET_DEVICE message (MNL_SOCKET_BUFFER_SIZE) */
#define WGNL_RECV_MAX		32768	/* receive buffer per recv */
#define WGNL_TIMEOUT_MS		5000	/* per receive */
#define WGNL_KIND_MAX		32	/* link kind, with NUL */

struct wgnl;

/*
 * Open the rtnetlink and generic netlink sockets.  Returns 0 and *ret,
 * -errno from socket/bind.  The WireGuard family is looked up lazily.
 */
int wgnl_open(struct wgnl **ret);

/* Close the sockets.  NULL is fine. */
void wgnl_close(struct wgnl *nl);

/*
 * Look up the "wireguard" generic netlink family (the kernel may load the
 * module for it).  Returns 0, -ENOENT (no kernel WireGuard), -errno.
 */
int wgnl_family(struct wgnl *nl);

/*
 * The kind of link ifname ("wireguard", "tun", "veth", "" for none) into
 * kind (WGNL_KIND_MAX bytes).  Returns 0, -ENODEV (no such link), -errno.
 */
int wgnl_link_kind(struct wgnl *nl, const char *ifname, char kind[WGNL_KIND_MAX]);

/*
 * Create a WireGuard link (RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL).
 * Returns 0, -EEXIST (the name is taken), -EOPNOTSUPP (no kernel
 * WireGuard), -EPERM (no CAP_NET_ADMIN), -errno.
 */
int wgnl_link_create(struct wgnl *nl, const char *ifname);

/* Delete link ifname.  Returns 0, -ENODEV, -errno. */
int wgnl_link_delete(struct wgnl *nl, const char *ifname);

/* Set link ifname up.  Returns 0, -ENODEV, -errno. */
int wgnl_link_up(struct wgnl *nl, const char *ifname);

/*
 * Put addr/prefix on ifname (NLM_F_REPLACE: idempotent).  addr in network
 * order.  Returns 0, -ENODEV, -errno.
 */
int wgnl_addr_add(struct wgnl *nl, const char *ifname, struct in_addr addr, uint8_t prefix);

/*
 * Route net/prefix through ifname (scope link, main table, NLM_F_REPLACE:
 * idempotent).  Returns 0, -ENODEV, -errno.
 */
int wgnl_route_add(struct wgnl *nl, const char *ifname, struct in_addr net, uint8_t prefix);

/*
 * Read ifname's WireGuard device.  Returns 0 and *ret (release with
 * wg_device_release()), -ENOENT (no kernel WireGuard), -ENODEV (no such
 * WireGuard device), -EBADMSG, -E2BIG, -ENOMEM, -ETIMEDOUT, -errno.
 */
int wgnl_get_device(struct wgnl *nl, const char *ifname, struct wg_device *ret);

/*
 * Apply changes (changes->ifname names the device).  The number of
 * messages sent goes to *ret_messages when not NULL.  Returns 0, the
 * kernel's -errno, or as wgnl_get_device().
 */
int wgnl_set_device(struct wgnl *nl, const struct wg_device *changes, unsigned int *ret_messages);

/*
 * Pure: render the SET_DEVICE messages for changes, back to back, into out
 * (each at most WGNL_MSG_MAX bytes, aligned).  family is the generic
 * netlink family id, seq the first sequence number.  Returns 0 and the
 * count in *ret_n, -EINVAL (bad ifname or address family), -E2BIG, -ENOMEM.
 */
int wgnl_build_set(const struct wg_device *changes, uint16_t family, uint32_t seq,
		   struct buf *out, unsigned int *ret_n);

/*
 * Pure: parse len bytes of netlink messages (a GET_DEVICE dump, or SET
 * messages as wgnl_build_set() renders them) into dev, which accumulates
 * across calls (start with wg_device_init(); a peer continued in a new
 * message is joined to the last one).  NLMSG_DONE sets *ret_done.  buf must
 * be 4-byte aligned.  Returns 0, -EBADMSG (truncated message or attribute,
 * wrong attribute size, bad family), -E2BIG (WG_PEERS_MAX), -ENOMEM, or the
 * -errno of an NLMSG_ERROR message.
 */
int wgnl_parse_device(const void *buf, size_t len, struct wg_device *dev, bool *ret_done);

#endif
