/*
 * wg: the backend-neutral WireGuard device model and the sync diff (wg.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hex.h"
#include "wg.h"

void
wg_device_init(struct wg_device *d)
{
	memset(d, 0, sizeof(*d));
}

void
wg_device_release(struct wg_device *d)
{
	explicit_bzero(d->private_key, sizeof(d->private_key));
	free(d->peers);
	memset(d, 0, sizeof(*d));
}

int
wg_device_add_peer(struct wg_device *d, const uint8_t pub[WG_KEY_LEN], struct wg_peer **ret_peer)
{
	struct wg_peer *p;

	if (d->npeers >= WG_PEERS_MAX)
		return -E2BIG;
	if (d->npeers == d->alloc) {
		size_t na = d->alloc ? d->alloc * 2 : 16;

		if (na > WG_PEERS_MAX)
			na = WG_PEERS_MAX;
		p = reallocarray(d->peers, na, sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->peers = p;
		d->alloc = na;
	}
	p = &d->peers[d->npeers++];
	memset(p, 0, sizeof(*p));
	memcpy(p->public_key, pub, WG_KEY_LEN);
	*ret_peer = p;
	return 0;
}

int
wg_peer_add_allowedip(struct wg_peer *p, const struct wg_allowedip *ip)
{
	if (!((ip->family == AF_INET && ip->cidr <= 32) ||
	      (ip->family == AF_INET6 && ip->cidr <= 128)))
		return -EINVAL;
	if (p->nallowed >= WG_ALLOWEDIPS_MAX) {
		p->flags |= WG_PEER_ALLOWEDIPS_OVERFLOW;
		return -E2BIG;
	}
	p->allowed[p->nallowed++] = *ip;
	return 0;
}

static int
peer_cmp(const void *a, const void *b)
{
	const struct wg_peer *pa = a, *pb = b;

	return memcmp(pa->public_key, pb->public_key, WG_KEY_LEN);
}

void
wg_device_sort(struct wg_device *d)
{
	if (d->npeers > 1)
		qsort(d->peers, d->npeers, sizeof(*d->peers), peer_cmp);
}

struct wg_peer *
wg_device_find(const struct wg_device *d, const uint8_t pub[WG_KEY_LEN])
{
	struct wg_peer key;

	if (d->npeers == 0)
		return NULL;
	memcpy(key.public_key, pub, WG_KEY_LEN);
	return bsearch(&key, d->peers, d->npeers, sizeof(*d->peers), peer_cmp);
}

bool
wg_endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == 0)
		return true;
	if (a->port != b->port)
		return false;
	if (a->family == AF_INET)
		return a->addr.v4.s_addr == b->addr.v4.s_addr;
	return memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6)) == 0;
}

static bool
allowedip_equal(const struct wg_allowedip *a, const struct wg_allowedip *b)
{
	if (a->family != b->family || a->cidr != b->cidr)
		return false;
	if (a->family == AF_INET)
		return a->addr.v4.s_addr == b->addr.v4.s_addr;
	return memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6)) == 0;
}

/* Same set of allowed IPs, whatever the order (sets are small: n^2 is fine). */
static bool
allowedips_equal(const struct wg_peer *a, const struct wg_peer *b)
{
	size_t i, j;

	if ((a->flags | b->flags) & WG_PEER_ALLOWEDIPS_OVERFLOW)
		return false;
	if (a->nallowed != b->nallowed)
		return false;
	for (i = 0; i < a->nallowed; i++) {
		for (j = 0; j < b->nallowed; j++)
			if (allowedip_equal(&a->allowed[i], &b->allowed[j]))
				break;
		if (j == b->nallowed)
			return false;
	}
	return true;
}

/* Append the change (if any) that turns peer have (NULL: absent) into want. */
static int
diff_peer(const struct wg_peer *want, const struct wg_peer *have, struct wg_device *out)
{
	struct wg_peer *c;
	uint32_t fl = 0;
	int r;

	if (!have) {
		fl = WG_PEER_ADDED | WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_KEEPALIVE |
		    WG_PEER_REPLACE_ALLOWEDIPS;
	} else {
		if (!wg_endpoint_equal(&want->endpoint, &have->endpoint))
			fl |= WG_PEER_HAS_ENDPOINT;
		if (want->keepalive != have->keepalive)
			fl |= WG_PEER_HAS_KEEPALIVE;
		if (!allowedips_equal(want, have))
			fl |= WG_PEER_REPLACE_ALLOWEDIPS;
	}
	/* Without an endpoint to set there is nothing to send for it. */
	if (want->endpoint.family == 0)
		fl &= ~WG_PEER_HAS_ENDPOINT;
	if (have && fl == 0)
		return 0;
	r = wg_device_add_peer(out, want->public_key, &c);
	if (r < 0)
		return r;
	c->flags = fl;
	if (fl & WG_PEER_HAS_ENDPOINT)
		c->endpoint = want->endpoint;
	if (fl & WG_PEER_HAS_KEEPALIVE)
		c->keepalive = want->keepalive;
	if (fl & WG_PEER_REPLACE_ALLOWEDIPS) {
		c->nallowed = want->nallowed;
		memcpy(c->allowed, want->allowed, sizeof(c->allowed));
	}
	return 0;
}

static int
diff_remove(const struct wg_peer *have, struct wg_device *out)
{
	struct wg_peer *c;
	int r;

	r = wg_device_add_peer(out, have->public_key, &c);
	if (r < 0)
		return r;
	c->flags = WG_PEER_REMOVE;
	return 0;
}

static void
diff_device(const struct wg_device *want, const struct wg_device *have, struct wg_device *out)
{
	if ((want->flags & WG_DEVICE_HAS_PRIVATE_KEY) &&
	    (!(have->flags & WG_DEVICE_HAS_PRIVATE_KEY) ||
	     CRYPTO_memcmp(want->private_key, have->private_key, WG_KEY_LEN) != 0)) {
		memcpy(out->private_key, want->private_key, WG_KEY_LEN);
		out->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
	}
	if ((want->flags & WG_DEVICE_HAS_LISTEN_PORT) &&
	    (!(have->flags & WG_DEVICE_HAS_LISTEN_PORT) || want->listen_port != have->listen_port)) {
		out->listen_port = want->listen_port;
		out->flags |= WG_DEVICE_HAS_LISTEN_PORT;
	}
}

int
wg_diff(struct wg_device *wanted, struct wg_device *actual, struct wg_device *ret_changes)
{
	struct wg_device out;
	size_t i = 0, j = 0;
	int r = 0, c;

	wg_device_sort(wanted);
	wg_device_sort(actual);
	for (i = 1; i < wanted->npeers; i++)
		if (peer_cmp(&wanted->peers[i - 1], &wanted->peers[i]) == 0)
			return -EINVAL;
	wg_device_init(&out);
	memcpy(out.ifname, wanted->ifname, sizeof(out.ifname));
	diff_device(wanted, actual, &out);
	/* Merge walk over both sorted peer lists. */
	i = 0;
	while (r == 0 && (i < wanted->npeers || j < actual->npeers)) {
		if (i == wanted->npeers)
			c = 1;
		else if (j == actual->npeers)
			c = -1;
		else
			c = peer_cmp(&wanted->peers[i], &actual->peers[j]);
		if (c < 0)
			r = diff_peer(&wanted->peers[i++], NULL, &out);
		else if (c > 0)
			r = diff_remove(&actual->peers[j++], &out);
		else
			r = diff_peer(&wanted->peers[i++], &actual->peers[j++], &out);
	}
	if (r < 0) {
		wg_device_release(&out);
		return r;
	}
	*ret_changes = out;
	return 0;
}

bool
wg_changes_empty(const struct wg_device *changes)
{
	return changes->npeers == 0 &&
	    !(changes->flags & (WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT |
				WG_DEVICE_REPLACE_PEERS));
}

/*
 * Constant-time nibble codecs: no table lookups or branches on key bytes.
 * Digit d (0..15) maps to '0'+d, or 'a'+d-10 when d > 9.
 */
static char
nibble_to_hex(unsigned int d)
{
	unsigned int over9 = (9U - d) >> 8;	/* 0xff..ff when d > 9, else 0 */

	return (char)('0' + d + (over9 & ('a' - '0' - 10)));
}

void
wg_key_to_hex(const uint8_t key[WG_KEY_LEN], char out[WG_KEY_HEX_LEN + 1])
{
	size_t i;

	for (i = 0; i < WG_KEY_LEN; i++) {
		out[2 * i] = nibble_to_hex(key[i] >> 4);
		out[2 * i + 1] = nibble_to_hex(key[i] & 0xf);
	}
	out[WG_KEY_HEX_LEN] = '\0';
}

/* Returns the digit value 0..15, or a value with bit 8 set when c is not hex. */
static unsigned int
hex_to_nibble(unsigned char c)
{
	unsigned int v = c;
	/* masks are all-ones when v is in range */
	unsigned int num = ((('0' - 1U) - v) & (v - ('9' + 1U))) >> 8;
	unsigned int lo = ((('a' - 1U) - v) & (v - ('f' + 1U))) >> 8;
	unsigned int hi = ((('A' - 1U) - v) & (v - ('F' + 1U))) >> 8;
	unsigned int val = (num & (v - '0')) | (lo & (v - 'a' + 10)) | (hi & (v - 'A' + 10));

	return (val & 0xf) | ((~(num | lo | hi)) & 0x100);
}

int
wg_key_from_hex(const char *s, size_t n, uint8_t ret_key[WG_KEY_LEN])
{
	uint8_t k[WG_KEY_LEN];
	unsigned int bad = 0, a, b;
	size_t i;

	if (n != WG_KEY_HEX_LEN)
		return -EINVAL;
	for (i = 0; i < WG_KEY_LEN; i++) {
		a = hex_to_nibble((unsigned char)s[2 * i]);
		b = hex_to_nibble((unsigned char)s[2 * i + 1]);
		bad |= (a | b) & 0x100;
		k[i] = (uint8_t)(((a & 0xf) << 4) | (b & 0xf));
	}
	if (bad) {
		explicit_bzero(k, sizeof(k));
		return -EINVAL;
	}
	memcpy(ret_key, k, WG_KEY_LEN);
	explicit_bzero(k, sizeof(k));
	return 0;
}

bool
wg_key_is_zero(const uint8_t key[WG_KEY_LEN])
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < WG_KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}

int
wg_endpoint_format(const struct wg_endpoint *e, char *out, size_t outsz)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (e->family != AF_INET && e->family != AF_INET6)
		return -EINVAL;
	if (!inet_ntop(e->family, &e->addr, a, sizeof(a)))
		return -EINVAL;
	if (e->family == AF_INET)
		n = snprintf(out, outsz, "%s:%u", a, (unsigned int)e->port);
	else
		n = snprintf(out, outsz, "[%s]:%u", a, (unsigned int)e->port);
	if (n < 0 || (size_t)n >= outsz)
		return -ENOSPC;
	return 0;
}

int
wg_endpoint_parse(const char *s, size_t n, struct wg_endpoint *ret)
{
	char host[INET6_ADDRSTRLEN + 1], port[6];
	struct wg_endpoint e;
	const char *colon, *hs;
	size_t hl, pl;
	uint64_t v;

	memset(&e, 0, sizeof(e));
	if (n == 0 || memchr(s, '\0', n))
		return -EINVAL;
	colon = memrchr(s, ':', n);
	if (!colon)
		return -EINVAL;
	hs = s;
	hl = (size_t)(colon - s);
	pl = n - hl - 1;
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		e.family = AF_INET6;
		hs++;
		hl -= 2;
	} else {
		e.family = AF_INET;
	}
	if (hl == 0 || hl >= sizeof(host) || pl == 0 || pl >= sizeof(port))
		return -EINVAL;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	/* a v6 scope ("%eth0") is dropped: the model holds no scope */
	if (e.family == AF_INET6 && strchr(host, '%'))
		*strchr(host, '%') = '\0';
	memcpy(port, colon + 1, pl);
	port[pl] = '\0';
	if (num_parse_u64(port, false, 1, 65535, &v) < 0)
		return -EINVAL;
	if (inet_pton(e.family, host, &e.addr) != 1)
		return -EINVAL;
	e.port = (uint16_t)v;
	*ret = e;
	return 0;
}
