/*
 * wgnl: kernel WireGuard over generic netlink, and rtnetlink plumbing
 * (wgnl.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/wireguard.h>

#include "wgnl.h"

struct wgnl {
	struct mnl_socket *rtnl;
	struct mnl_socket *genl;
	uint16_t family;	/* 0: not looked up yet */
	uint32_t seq;
};

/* A receive buffer aligned for struct nlmsghdr. */
struct rxbuf {
	uint8_t b[WGNL_RECV_MAX] __attribute__((aligned(8)));
};

static struct mnl_socket *
open_bus(int bus, int *ret_err)
{
	struct mnl_socket *s = mnl_socket_open2(bus, SOCK_CLOEXEC);
	struct timeval tv = { .tv_sec = WGNL_TIMEOUT_MS / 1000,
			      .tv_usec = (WGNL_TIMEOUT_MS % 1000) * 1000 };

	if (!s) {
		*ret_err = -errno;
		return NULL;
	}
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		*ret_err = -errno;
		mnl_socket_close(s);
		return NULL;
	}
	return s;
}

int
wgnl_open(struct wgnl **ret)
{
	struct wgnl *nl = calloc(1, sizeof(*nl));
	int r = 0;

	if (!nl)
		return -ENOMEM;
	nl->rtnl = open_bus(NETLINK_ROUTE, &r);
	if (nl->rtnl)
		nl->genl = open_bus(NETLINK_GENERIC, &r);
	if (!nl->genl) {
		wgnl_close(nl);
		return r;
	}
	nl->seq = (uint32_t)time(NULL);
	*ret = nl;
	return 0;
}

void
wgnl_close(struct wgnl *nl)
{
	if (!nl)
		return;
	if (nl->rtnl)
		mnl_socket_close(nl->rtnl);
	if (nl->genl)
		mnl_socket_close(nl->genl);
	free(nl);
}

static int
recv_some(struct mnl_socket *s, struct rxbuf *rx)
{
	ssize_t n = mnl_socket_recvfrom(s, rx->b, sizeof(rx->b));

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	return (int)n;
}

/* Send one request and wait for its ack (or error). */
static int
talk_ack(struct mnl_socket *s, struct nlmsghdr *nlh)
{
	struct rxbuf *rx;
	int n, r;

	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	rx = malloc(sizeof(*rx));
	if (!rx)
		return -ENOMEM;
	do {
		n = recv_some(s, rx);
		if (n < 0) {
			r = n;
			break;
		}
		r = mnl_cb_run(rx->b, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(s), NULL, NULL);
		if (r < 0)
			r = -errno;
	} while (r == MNL_CB_OK);
	free(rx);
	return r < 0 ? r : 0;
}

/* ---- generic netlink family ---- */

static int
family_attr_cb(const struct nlattr *a, void *data)
{
	uint16_t *id = data;

	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_get_payload_len(a) == sizeof(uint16_t))
		*id = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int
family_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return MNL_CB_ERROR;
	return mnl_attr_parse(nlh, GENL_HDRLEN, family_attr_cb, data);
}

int
wgnl_family(struct wgnl *nl)
{
	uint8_t msg[256] __attribute__((aligned(8))) = { 0 };
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	struct rxbuf *rx;
	uint16_t id = 0;
	int n, r;

	if (nl->family)
		return 0;
	nlh = mnl_nlmsg_put_header(msg);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	if (mnl_socket_sendto(nl->genl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	rx = malloc(sizeof(*rx));
	if (!rx)
		return -ENOMEM;
	do {
		n = recv_some(nl->genl, rx);
		if (n < 0) {
			r = n;
			break;
		}
		r = mnl_cb_run(rx->b, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(nl->genl),
			       family_msg_cb, &id);
		if (r < 0)
			r = -errno;
	} while (r == MNL_CB_OK);
	free(rx);
	if (r < 0)
		return r;
	if (id == 0)
		return -ENOENT;
	nl->family = id;
	return 0;
}

/* ---- rtnetlink ---- */

static int
ifindex_of(const char *ifname, int *ret)
{
	unsigned int i;

	if (strnlen(ifname, IFNAMSIZ) >= IFNAMSIZ || !*ifname)
		return -EINVAL;
	i = if_nametoindex(ifname);
	if (i == 0)
		return errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
	*ret = (int)i;
	return 0;
}

static struct nlmsghdr *
rt_start(uint8_t *msg, struct wgnl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msg);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

int
wgnl_link_create(struct wgnl *nl, const char *ifname)
{
	uint8_t msg[512] __attribute__((aligned(8))) = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *li;
	int r;

	if (strnlen(ifname, IFNAMSIZ) >= IFNAMSIZ || !*ifname)
		return -EINVAL;
	nlh = rt_start(msg, nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, WG_GENL_NAME);
	mnl_attr_nest_end(nlh, li);
	r = talk_ack(nl->rtnl, nlh);
	/* "Unknown device type" when the module is missing */
	return r;
}

static int
link_simple(struct wgnl *nl, const char *ifname, uint16_t type, bool up)
{
	uint8_t msg[256] __attribute__((aligned(8))) = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int idx, r;

	r = ifindex_of(ifname, &idx);
	if (r < 0)
		return r;
	nlh = rt_start(msg, nl, type, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = idx;
	if (up) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = IFF_UP;
	}
	return talk_ack(nl->rtnl, nlh);
}

int
wgnl_link_delete(struct wgnl *nl, const char *ifname)
{
	return link_simple(nl, ifname, RTM_DELLINK, false);
}

int
wgnl_link_up(struct wgnl *nl, const char *ifname)
{
	return link_simple(nl, ifname, RTM_NEWLINK, true);
}

struct kind_ctx {
	char kind[WGNL_KIND_MAX];
	bool found;
};

static int
linkinfo_cb(const struct nlattr *a, void *data)
{
	struct kind_ctx *k = data;
	size_t n = mnl_attr_get_payload_len(a);
	const char *s = mnl_attr_get_payload(a);

	if (mnl_attr_get_type(a) != IFLA_INFO_KIND)
		return MNL_CB_OK;
	if (n == 0 || n > WGNL_KIND_MAX || !memchr(s, '\0', n))
		return MNL_CB_ERROR;
	memcpy(k->kind, s, strlen(s) + 1);
	return MNL_CB_OK;
}

static int
link_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_LINKINFO)
		return mnl_attr_parse_nested(a, linkinfo_cb, data);
	return MNL_CB_OK;
}

static int
link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct kind_ctx *k = data;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct ifinfomsg))
		return MNL_CB_ERROR;
	k->found = true;
	return mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_cb, data);
}

int
wgnl_link_kind(struct wgnl *nl, const char *ifname, char kind[WGNL_KIND_MAX])
{
	uint8_t msg[256] __attribute__((aligned(8))) = { 0 };
	struct kind_ctx k;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct rxbuf *rx;
	int n, r;

	if (strnlen(ifname, IFNAMSIZ) >= IFNAMSIZ || !*ifname)
		return -EINVAL;
	memset(&k, 0, sizeof(k));
	nlh = rt_start(msg, nl, RTM_GETLINK, 0);
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	if (mnl_socket_sendto(nl->rtnl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	rx = malloc(sizeof(*rx));
	if (!rx)
		return -ENOMEM;
	do {
		n = recv_some(nl->rtnl, rx);
		if (n < 0) {
			r = n;
			break;
		}
		r = mnl_cb_run(rx->b, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(nl->rtnl),
			       link_msg_cb, &k);
		if (r < 0)
			r = errno == ENODEV ? -ENODEV : -(errno ? errno : EBADMSG);
	} while (r == MNL_CB_OK && !k.found);
	free(rx);
	if (r < 0)
		return r;
	if (!k.found)
		return -ENODEV;
	memcpy(kind, k.kind, WGNL_KIND_MAX);
	return 0;
}

int
wgnl_addr_add(struct wgnl *nl, const char *ifname, struct in_addr addr, uint8_t prefix)
{
	uint8_t msg[256] __attribute__((aligned(8))) = { 0 };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int idx, r;

	if (prefix > 32)
		return -EINVAL;
	r = ifindex_of(ifname, &idx);
	if (r < 0)
		return r;
	nlh = rt_start(msg, nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)idx;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(addr), &addr);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(addr), &addr);
	return talk_ack(nl->rtnl, nlh);
}

int
wgnl_route_add(struct wgnl *nl, const char *ifname, struct in_addr net, uint8_t prefix)
{
	uint8_t msg[256] __attribute__((aligned(8))) = { 0 };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int idx, r;

	if (prefix > 32)
		return -EINVAL;
	r = ifindex_of(ifname, &idx);
	if (r < 0)
		return r;
	nlh = rt_start(msg, nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, sizeof(net), &net);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)idx);
	r = talk_ack(nl->rtnl, nlh);
	/* the address's prefix route is usually there already: that is the route */
	return r == -EEXIST ? 0 : r;
}

/* ---- WireGuard device parsing ---- */

struct parse_ctx {
	struct wg_device *dev;
	struct wg_peer peer;		/* the peer being read */
	struct wg_allowedip ip;
	unsigned int ip_seen;		/* bits: family, v4 addr, cidr, v6 addr */
	bool peer_has_key;
	int err;
};

static int
fail(struct parse_ctx *c, int err)
{
	c->err = err;
	return MNL_CB_ERROR;
}

static bool
exact(const struct nlattr *a, size_t n)
{
	return mnl_attr_get_payload_len(a) == n;
}

static int
allowedip_attr_cb(const struct nlattr *a, void *data)
{
	struct parse_ctx *c = data;
	size_t n = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case WGALLOWEDIP_A_FAMILY:
		if (!exact(a, 2))
			return fail(c, -EBADMSG);
		c->ip.family = mnl_attr_get_u16(a);
		c->ip_seen |= 1;
		break;
	case WGALLOWEDIP_A_IPADDR:
		if (n != 4 && n != 16)
			return fail(c, -EBADMSG);
		memcpy(&c->ip.addr, mnl_attr_get_payload(a), n);
		c->ip_seen |= n == 4 ? 2 : 8;
		break;
	case WGALLOWEDIP_A_CIDR_MASK:
		if (!exact(a, 1))
			return fail(c, -EBADMSG);
		c->ip.cidr = mnl_attr_get_u8(a);
		c->ip_seen |= 4;
		break;
	}
	return MNL_CB_OK;
}

static int
allowedips_cb(const struct nlattr *a, void *data)
{
	struct parse_ctx *c = data;
	unsigned int want;
	int r;

	memset(&c->ip, 0, sizeof(c->ip));
	c->ip_seen = 0;
	if (mnl_attr_parse_nested(a, allowedip_attr_cb, c) < 0)
		return c->err ? MNL_CB_ERROR : fail(c, -EBADMSG);
	want = c->ip.family == AF_INET ? 7 : c->ip.family == AF_INET6 ? 13 : 0;
	if (c->ip_seen != want)
		return fail(c, -EBADMSG);
	r = wg_peer_add_allowedip(&c->peer, &c->ip);
	if (r < 0 && r != -E2BIG)
		return fail(c, -EBADMSG);
	return MNL_CB_OK;
}

static int
peer_endpoint(struct parse_ctx *c, const struct nlattr *a)
{
	const void *p = mnl_attr_get_payload(a);
	size_t n = mnl_attr_get_payload_len(a);
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	if (n == sizeof(sin)) {
		memcpy(&sin, p, n);
		if (sin.sin_family != AF_INET)
			return -EBADMSG;
		c->peer.endpoint.family = AF_INET;
		c->peer.endpoint.port = ntohs(sin.sin_port);
		c->peer.endpoint.addr.v4 = sin.sin_addr;
	} else if (n == sizeof(sin6)) {
		memcpy(&sin6, p, n);
		if (sin6.sin6_family != AF_INET6)
			return -EBADMSG;
		c->peer.endpoint.family = AF_INET6;
		c->peer.endpoint.port = ntohs(sin6.sin6_port);
		c->peer.endpoint.addr.v6 = sin6.sin6_addr;
	} else {
		return -EBADMSG;
	}
	c->peer.flags |= WG_PEER_HAS_ENDPOINT;
	return 0;
}

static int
peer_attr_cb(const struct nlattr *a, void *data)
{
	struct parse_ctx *c = data;
	struct wg_peer *p = &c->peer;
	int64_t ts[2];
	uint32_t fl;

	switch (mnl_attr_get_type(a)) {
	case WGPEER_A_PUBLIC_KEY:
		if (!exact(a, WG_KEY_LEN))
			return fail(c, -EBADMSG);
		memcpy(p->public_key, mnl_attr_get_payload(a), WG_KEY_LEN);
		c->peer_has_key = true;
		break;
	case WGPEER_A_PRESHARED_KEY:
		if (!exact(a, WG_KEY_LEN))
			return fail(c, -EBADMSG);
		if (!wg_key_is_zero(mnl_attr_get_payload(a)))
			p->flags |= WG_PEER_HAS_PRESHARED_KEY;
		break;
	case WGPEER_A_FLAGS:
		if (!exact(a, 4))
			return fail(c, -EBADMSG);
		fl = mnl_attr_get_u32(a);
		if (fl & WGPEER_F_REMOVE_ME)
			p->flags |= WG_PEER_REMOVE;
		if (fl & WGPEER_F_REPLACE_ALLOWEDIPS)
			p->flags |= WG_PEER_REPLACE_ALLOWEDIPS;
		break;
	case WGPEER_A_ENDPOINT:
		if (peer_endpoint(c, a) < 0)
			return fail(c, -EBADMSG);
		break;
	case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
		if (!exact(a, 2))
			return fail(c, -EBADMSG);
		p->keepalive = mnl_attr_get_u16(a);
		p->flags |= WG_PEER_HAS_KEEPALIVE;
		break;
	case WGPEER_A_LAST_HANDSHAKE_TIME:
		if (!exact(a, sizeof(ts)))
			return fail(c, -EBADMSG);
		memcpy(ts, mnl_attr_get_payload(a), sizeof(ts));
		p->last_handshake_sec = ts[0] > 0 ? (uint64_t)ts[0] : 0;
		break;
	case WGPEER_A_RX_BYTES:
	case WGPEER_A_TX_BYTES:
		if (!exact(a, 8))
			return fail(c, -EBADMSG);
		if (mnl_attr_get_type(a) == WGPEER_A_RX_BYTES)
			p->rx_bytes = mnl_attr_get_u64(a);
		else
			p->tx_bytes = mnl_attr_get_u64(a);
		break;
	case WGPEER_A_ALLOWEDIPS:
		if (mnl_attr_parse_nested(a, allowedips_cb, c) < 0)
			return c->err ? MNL_CB_ERROR : fail(c, -EBADMSG);
		break;
	}
	return MNL_CB_OK;
}

/* Store the peer just read, joining it to the last one when it continues it. */
static int
peer_store(struct parse_ctx *c)
{
	struct wg_device *d = c->dev;
	struct wg_peer *last = d->npeers ? &d->peers[d->npeers - 1] : NULL, *p;
	size_t i;
	int r;

	if (last && memcmp(last->public_key, c->peer.public_key, WG_KEY_LEN) == 0) {
		for (i = 0; i < c->peer.nallowed; i++)
			(void)wg_peer_add_allowedip(last, &c->peer.allowed[i]);
		last->flags |= c->peer.flags;
		return 0;
	}
	r = wg_device_add_peer(d, c->peer.public_key, &p);
	if (r < 0)
		return r;
	*p = c->peer;
	return 0;
}

static int
peers_cb(const struct nlattr *a, void *data)
{
	struct parse_ctx *c = data;
	int r;

	memset(&c->peer, 0, sizeof(c->peer));
	c->peer_has_key = false;
	if (mnl_attr_parse_nested(a, peer_attr_cb, c) < 0)
		return c->err ? MNL_CB_ERROR : fail(c, -EBADMSG);
	if (!c->peer_has_key)
		return fail(c, -EBADMSG);	/* a peer without its key */
	r = peer_store(c);
	return r < 0 ? fail(c, r) : MNL_CB_OK;
}

static int
device_attr_cb(const struct nlattr *a, void *data)
{
	struct parse_ctx *c = data;
	struct wg_device *d = c->dev;
	size_t n = mnl_attr_get_payload_len(a);
	const char *s;

	switch (mnl_attr_get_type(a)) {
	case WGDEVICE_A_IFINDEX:
	case WGDEVICE_A_FWMARK:
	case WGDEVICE_A_FLAGS:
		if (!exact(a, 4))
			return fail(c, -EBADMSG);
		if (mnl_attr_get_type(a) == WGDEVICE_A_FWMARK)
			d->fwmark = mnl_attr_get_u32(a);
		if (mnl_attr_get_type(a) == WGDEVICE_A_FLAGS &&
		    (mnl_attr_get_u32(a) & WGDEVICE_F_REPLACE_PEERS))
			d->flags |= WG_DEVICE_REPLACE_PEERS;
		break;
	case WGDEVICE_A_IFNAME:
		s = mnl_attr_get_payload(a);
		if (n == 0 || n > IFNAMSIZ || !memchr(s, '\0', n))
			return fail(c, -EBADMSG);
		memcpy(d->ifname, s, strlen(s) + 1);
		break;
	case WGDEVICE_A_PRIVATE_KEY:
		if (!exact(a, WG_KEY_LEN))
			return fail(c, -EBADMSG);
		memcpy(d->private_key, mnl_attr_get_payload(a), WG_KEY_LEN);
		if (!wg_key_is_zero(d->private_key))
			d->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
		break;
	case WGDEVICE_A_PUBLIC_KEY:
		if (!exact(a, WG_KEY_LEN))
			return fail(c, -EBADMSG);
		memcpy(d->public_key, mnl_attr_get_payload(a), WG_KEY_LEN);
		if (!wg_key_is_zero(d->public_key))
			d->flags |= WG_DEVICE_HAS_PUBLIC_KEY;
		break;
	case WGDEVICE_A_LISTEN_PORT:
		if (!exact(a, 2))
			return fail(c, -EBADMSG);
		d->listen_port = mnl_attr_get_u16(a);
		d->flags |= WG_DEVICE_HAS_LISTEN_PORT;
		break;
	case WGDEVICE_A_PEERS:
		if (mnl_attr_parse_nested(a, peers_cb, c) < 0)
			return c->err ? MNL_CB_ERROR : fail(c, -EBADMSG);
		break;
	}
	return MNL_CB_OK;
}

static int
parse_one(const struct nlmsghdr *nlh, struct parse_ctx *c, bool *done)
{
	const struct nlmsgerr *e;

	switch (nlh->nlmsg_type) {
	case NLMSG_NOOP:
		return 0;
	case NLMSG_DONE:
		*done = true;
		return 0;
	case NLMSG_ERROR:
		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
			return -EBADMSG;
		e = mnl_nlmsg_get_payload(nlh);
		if (e->error > 0 || e->error < -4095)
			return -EBADMSG;
		if (e->error == 0)
			*done = true;	/* an ack */
		return e->error;
	}
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -EBADMSG;
	c->err = 0;
	if (mnl_attr_parse(nlh, GENL_HDRLEN, device_attr_cb, c) < 0)
		return c->err ? c->err : -EBADMSG;
	return 0;
}

int
wgnl_parse_device(const void *buf, size_t len, struct wg_device *dev, bool *ret_done)
{
	const uint8_t *pos = buf;
	const struct nlmsghdr *nlh;
	struct parse_ctx c;
	size_t rest = len, step;
	bool done = false;
	int r = 0;

	memset(&c, 0, sizeof(c));
	c.dev = dev;
	/* our own walk: libmnl's mnl_nlmsg_ok() takes a length >= 2^31 as negative */
	while (r == 0 && !done && rest > 0) {
		nlh = (const struct nlmsghdr *)pos;
		if (rest < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > rest) {
			r = -EBADMSG;
			break;
		}
		r = parse_one(nlh, &c, &done);
		step = NLMSG_ALIGN((size_t)nlh->nlmsg_len);
		if (step >= rest)
			break;
		pos += step;
		rest -= step;
	}
	explicit_bzero(&c.peer, sizeof(c.peer));
	if (r < 0)
		return r;
	if (done)
		*ret_done = true;
	return 0;
}

/* ---- SET_DEVICE ---- */

static bool
put_allowedips(struct nlmsghdr *nlh, const struct wg_peer *p)
{
	struct nlattr *all, *one;
	size_t i;

	all = mnl_attr_nest_start_check(nlh, WGNL_MSG_MAX, WGPEER_A_ALLOWEDIPS);
	if (!all)
		return false;
	for (i = 0; i < p->nallowed; i++) {
		const struct wg_allowedip *a = &p->allowed[i];

		one = mnl_attr_nest_start_check(nlh, WGNL_MSG_MAX, 0);
		if (!one || !mnl_attr_put_u16_check(nlh, WGNL_MSG_MAX, WGALLOWEDIP_A_FAMILY, a->family) ||
		    !mnl_attr_put_check(nlh, WGNL_MSG_MAX, WGALLOWEDIP_A_IPADDR,
					a->family == AF_INET ? 4 : 16, &a->addr) ||
		    !mnl_attr_put_u8_check(nlh, WGNL_MSG_MAX, WGALLOWEDIP_A_CIDR_MASK, a->cidr))
			return false;
		mnl_attr_nest_end(nlh, one);
	}
	mnl_attr_nest_end(nlh, all);
	return true;
}

static bool
put_endpoint(struct nlmsghdr *nlh, const struct wg_endpoint *e)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	if (e->family == AF_INET) {
		sin.sin_port = htons(e->port);
		sin.sin_addr = e->addr.v4;
		return mnl_attr_put_check(nlh, WGNL_MSG_MAX, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
	}
	sin6.sin6_port = htons(e->port);
	sin6.sin6_addr = e->addr.v6;
	return mnl_attr_put_check(nlh, WGNL_MSG_MAX, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
}

/* Add one peer; false when it does not fit (the caller cancels the nest). */
static bool
put_peer(struct nlmsghdr *nlh, const struct wg_peer *p)
{
	uint32_t fl = 0;

	if (!mnl_attr_put_check(nlh, WGNL_MSG_MAX, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key))
		return false;
	if (p->flags & WG_PEER_REMOVE)
		fl |= WGPEER_F_REMOVE_ME;
	if (p->flags & WG_PEER_REPLACE_ALLOWEDIPS)
		fl |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (!mnl_attr_put_u32_check(nlh, WGNL_MSG_MAX, WGPEER_A_FLAGS, fl))
		return false;
	if (p->flags & WG_PEER_REMOVE)
		return true;
	if ((p->flags & WG_PEER_HAS_ENDPOINT) && !put_endpoint(nlh, &p->endpoint))
		return false;
	if ((p->flags & WG_PEER_HAS_KEEPALIVE) &&
	    !mnl_attr_put_u16_check(nlh, WGNL_MSG_MAX, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
				    p->keepalive))
		return false;
	if (p->nallowed && !put_allowedips(nlh, p))
		return false;
	return true;
}

static int
check_changes(const struct wg_device *ch)
{
	size_t i, j;

	if (!ch->ifname[0] || strnlen(ch->ifname, IFNAMSIZ) >= IFNAMSIZ)
		return -EINVAL;
	for (i = 0; i < ch->npeers; i++) {
		const struct wg_peer *p = &ch->peers[i];

		if ((p->flags & WG_PEER_HAS_ENDPOINT) && p->endpoint.family != AF_INET &&
		    p->endpoint.family != AF_INET6)
			return -EINVAL;
		for (j = 0; j < p->nallowed; j++)
			if (p->allowed[j].family != AF_INET && p->allowed[j].family != AF_INET6)
				return -EINVAL;
	}
	return 0;
}

/* Start one SET message; the first carries the device attributes. */
static struct nlmsghdr *
set_start(uint8_t *msg, const struct wg_device *ch, uint16_t family, uint32_t seq, bool first)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	memset(msg, 0, WGNL_MSG_MAX);	/* attribute padding goes out too */
	nlh = mnl_nlmsg_put_header(msg);
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_SET_DEVICE;
	g->version = WG_GENL_VERSION;
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ch->ifname);
	if (!first)
		return nlh;
	mnl_attr_put_u32(nlh, WGDEVICE_A_FLAGS,
			 ch->flags & WG_DEVICE_REPLACE_PEERS ? WGDEVICE_F_REPLACE_PEERS : 0);
	if (ch->flags & WG_DEVICE_HAS_PRIVATE_KEY)
		mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, ch->private_key);
	if (ch->flags & WG_DEVICE_HAS_LISTEN_PORT)
		mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, ch->listen_port);
	return nlh;
}

int
wgnl_build_set(const struct wg_device *ch, uint16_t family, uint32_t seq, struct buf *out,
	       unsigned int *ret_n)
{
	uint8_t msg[WGNL_MSG_MAX] __attribute__((aligned(8)));
	struct nlattr *peers, *one;
	struct nlmsghdr *nlh;
	unsigned int n = 0;
	size_t i = 0, before;
	int r;

	r = check_changes(ch);
	if (r < 0)
		return r;
	do {
		nlh = set_start(msg, ch, family, seq + n, n == 0);
		if (i < ch->npeers) {
			peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
			before = i;
			while (i < ch->npeers) {
				one = mnl_attr_nest_start_check(nlh, WGNL_MSG_MAX, 0);
				if (!one)
					break;
				if (!put_peer(nlh, &ch->peers[i])) {
					mnl_attr_nest_cancel(nlh, one);
					break;
				}
				mnl_attr_nest_end(nlh, one);
				i++;
			}
			if (i == before) {
				r = -E2BIG;	/* one peer larger than a message */
				break;
			}
			mnl_attr_nest_end(nlh, peers);
		}
		r = buf_append(out, msg, NLMSG_ALIGN(nlh->nlmsg_len));
		n++;
	} while (r == 0 && i < ch->npeers);
	explicit_bzero(msg, sizeof(msg));
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

int
wgnl_set_device(struct wgnl *nl, const struct wg_device *ch, unsigned int *ret_messages)
{
	struct buf out;
	const struct nlmsghdr *nlh;
	unsigned int n = 0, i;
	size_t off = 0;
	int r;

	r = wgnl_family(nl);
	if (r < 0)
		return r;
	buf_init(&out, (ch->npeers + 1) * (size_t)WGNL_MSG_MAX);
	/* reserve once so that the buffer holding the key never moves */
	r = buf_reserve(&out, (ch->npeers + 1) * (size_t)WGNL_MSG_MAX);
	if (r == 0)
		r = wgnl_build_set(ch, nl->family, nl->seq + 1, &out, &n);
	for (i = 0; r == 0 && i < n; i++) {
		nlh = (const struct nlmsghdr *)(out.data + off);
		r = talk_ack(nl->genl, (struct nlmsghdr *)(uintptr_t)nlh);
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	nl->seq += n;
	if (out.data)
		explicit_bzero(out.data, out.alloc);
	buf_release(&out);
	if (r < 0)
		return r;
	if (ret_messages)
		*ret_messages = n;
	return 0;
}

int
wgnl_get_device(struct wgnl *nl, const char *ifname, struct wg_device *ret)
{
	uint8_t msg[256] __attribute__((aligned(8))) = { 0 };
	struct wg_device d;
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	struct rxbuf *rx;
	bool done = false;
	int n, r;

	if (!*ifname || strnlen(ifname, IFNAMSIZ) >= IFNAMSIZ)
		return -EINVAL;
	r = wgnl_family(nl);
	if (r < 0)
		return r;
	nlh = mnl_nlmsg_put_header(msg);
	nlh->nlmsg_type = nl->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_GET_DEVICE;
	g->version = WG_GENL_VERSION;
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	if (mnl_socket_sendto(nl->genl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	rx = malloc(sizeof(*rx));
	if (!rx)
		return -ENOMEM;
	wg_device_init(&d);
	while (!done) {
		n = recv_some(nl->genl, rx);
		if (n < 0) {
			r = n;
			break;
		}
		r = wgnl_parse_device(rx->b, (size_t)n, &d, &done);
		if (r < 0)
			break;
	}
	explicit_bzero(rx, sizeof(*rx));
	free(rx);
	if (r < 0) {
		wg_device_release(&d);
		return r;
	}
	snprintf(d.ifname, sizeof(d.ifname), "%s", ifname);
	*ret = d;
	return 0;
}
