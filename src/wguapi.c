/*
 * wguapi: the userspace WireGuard backend over the UAPI text protocol
 * (wguapi.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "wguapi.h"

int
wguapi_sock_path(const char *dir, const char *ifname, char *out, size_t outsz)
{
	size_t n = strnlen(ifname, IFNAMSIZ);
	int w;

	if (n == 0 || n >= IFNAMSIZ || strchr(ifname, '/') || strcmp(ifname, ".") == 0 ||
	    strcmp(ifname, "..") == 0)
		return -EINVAL;
	w = snprintf(out, outsz, "%s/%s.sock", dir ? dir : WGUAPI_DIR_DEFAULT, ifname);
	if (w < 0 || (size_t)w >= outsz)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- parsing ---- */

struct uapi_ctx {
	struct wg_device dev;
	struct wg_peer *peer;	/* the peer lines apply to; NULL: device */
	bool got_errno;
	int err;		/* the server's errno */
};

static int
parse_num(const char *v, uint64_t max, uint64_t *ret)
{
	return num_parse_u64(v, false, 0, max, ret) < 0 ? -EBADMSG : 0;
}

static int
parse_allowedip(const char *v, struct wg_allowedip *ret)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	struct wg_allowedip ip;
	uint64_t cidr;
	size_t n;

	memset(&ip, 0, sizeof(ip));
	if (!slash)
		return -EBADMSG;
	n = (size_t)(slash - v);
	if (n == 0 || n >= sizeof(addr))
		return -EBADMSG;
	memcpy(addr, v, n);
	addr[n] = '\0';
	ip.family = memchr(addr, ':', n) ? AF_INET6 : AF_INET;
	if (inet_pton(ip.family, addr, &ip.addr) != 1)
		return -EBADMSG;
	if (parse_num(slash + 1, ip.family == AF_INET ? 32 : 128, &cidr) < 0)
		return -EBADMSG;
	ip.cidr = (uint8_t)cidr;
	*ret = ip;
	return 0;
}

static int
device_key(struct uapi_ctx *c, const char *k, const char *v, size_t vlen)
{
	uint64_t n;

	if (strcmp(k, "private_key") == 0) {
		if (wg_key_from_hex(v, vlen, c->dev.private_key) < 0)
			return -EBADMSG;
		if (!wg_key_is_zero(c->dev.private_key))
			c->dev.flags |= WG_DEVICE_HAS_PRIVATE_KEY;
	} else if (strcmp(k, "listen_port") == 0) {
		if (parse_num(v, 65535, &n) < 0)
			return -EBADMSG;
		c->dev.listen_port = (uint16_t)n;
		c->dev.flags |= WG_DEVICE_HAS_LISTEN_PORT;
	} else if (strcmp(k, "fwmark") == 0) {
		if (parse_num(v, UINT32_MAX, &n) < 0)
			return -EBADMSG;
		c->dev.fwmark = (uint32_t)n;
	}
	/* other device keys are ignored, as newer servers may add some */
	return 0;
}

static int
peer_key(struct uapi_ctx *c, const char *k, const char *v, size_t vlen)
{
	struct wg_peer *p = c->peer;
	struct wg_allowedip ip;
	uint8_t psk[WG_KEY_LEN];
	uint64_t n;
	int r;

	if (strcmp(k, "endpoint") == 0) {
		if (wg_endpoint_parse(v, vlen, &p->endpoint) < 0)
			return -EBADMSG;
		p->flags |= WG_PEER_HAS_ENDPOINT;
	} else if (strcmp(k, "persistent_keepalive_interval") == 0) {
		if (parse_num(v, 65535, &n) < 0)
			return -EBADMSG;
		p->keepalive = (uint16_t)n;
	} else if (strcmp(k, "allowed_ip") == 0) {
		if (parse_allowedip(v, &ip) < 0)
			return -EBADMSG;
		r = wg_peer_add_allowedip(p, &ip);
		if (r < 0 && r != -E2BIG)
			return r;
	} else if (strcmp(k, "last_handshake_time_sec") == 0) {
		return parse_num(v, UINT64_MAX, &p->last_handshake_sec);
	} else if (strcmp(k, "rx_bytes") == 0) {
		return parse_num(v, UINT64_MAX, &p->rx_bytes);
	} else if (strcmp(k, "tx_bytes") == 0) {
		return parse_num(v, UINT64_MAX, &p->tx_bytes);
	} else if (strcmp(k, "preshared_key") == 0) {
		r = wg_key_from_hex(v, vlen, psk);
		if (r == 0 && !wg_key_is_zero(psk))
			p->flags |= WG_PEER_HAS_PRESHARED_KEY;
		explicit_bzero(psk, sizeof(psk));
		return r < 0 ? -EBADMSG : 0;
	}
	return 0;
}

static int
parse_line(struct uapi_ctx *c, const char *line, size_t n)
{
	char k[WGUAPI_LINE_MAX + 1], v[WGUAPI_LINE_MAX + 1];
	const char *eq = memchr(line, '=', n);
	uint8_t pub[WG_KEY_LEN];
	size_t kl, vl;
	uint64_t e;
	int r;

	if (c->got_errno || !eq || eq == line || memchr(line, '\0', n))
		return -EBADMSG;
	kl = (size_t)(eq - line);
	vl = n - kl - 1;
	memcpy(k, line, kl);
	k[kl] = '\0';
	memcpy(v, eq + 1, vl);
	v[vl] = '\0';
	if (strcmp(k, "errno") == 0) {
		if (num_parse_u64(v, false, 0, 4095, &e) < 0)
			return -EBADMSG;
		c->got_errno = true;
		c->err = (int)e;
		return 0;
	}
	if (strcmp(k, "public_key") == 0) {
		if (wg_key_from_hex(v, vl, pub) < 0)
			return -EBADMSG;
		return wg_device_add_peer(&c->dev, pub, &c->peer);
	}
	r = c->peer ? peer_key(c, k, v, vl) : device_key(c, k, v, vl);
	explicit_bzero(v, sizeof(v));
	return r;
}

int
wguapi_parse_get(const char *reply, size_t len, struct wg_device *ret)
{
	struct uapi_ctx c;
	size_t pos = 0, n;
	const char *nl;
	int r = 0;

	memset(&c, 0, sizeof(c));
	wg_device_init(&c.dev);
	while (pos < len) {
		nl = memchr(reply + pos, '\n', len - pos);
		if (!nl) {
			r = -EBADMSG;
			break;
		}
		n = (size_t)(nl - (reply + pos));
		if (n == 0) {
			/* the final empty line: nothing may follow it */
			r = pos + 1 == len ? 0 : -EBADMSG;
			break;
		}
		if (n > WGUAPI_LINE_MAX) {
			r = -E2BIG;
			break;
		}
		r = parse_line(&c, reply + pos, n);
		if (r < 0)
			break;
		pos += n + 1;
	}
	if (r == 0 && !c.got_errno)
		r = -EBADMSG;
	if (r == 0 && c.err != 0)
		r = -c.err;
	if (r < 0) {
		wg_device_release(&c.dev);
		return r;
	}
	*ret = c.dev;
	return 0;
}

int
wguapi_parse_set_reply(const char *reply, size_t len)
{
	struct wg_device d;
	int r;

	/* A set reply is a get reply with no device lines. */
	if (len < 6 || memcmp(reply, "errno=", 6) != 0)
		return -EBADMSG;
	r = wguapi_parse_get(reply, len, &d);
	if (r == 0)
		wg_device_release(&d);
	return r;
}

/* ---- formatting ---- */

static int
put_key(struct buf *out, const char *name, const uint8_t key[WG_KEY_LEN])
{
	char hex[WG_KEY_HEX_LEN + 1];
	int r;

	wg_key_to_hex(key, hex);
	r = buf_printf(out, "%s=%s\n", name, hex);
	explicit_bzero(hex, sizeof(hex));
	return r;
}

static int
put_peer(struct buf *out, const struct wg_peer *p)
{
	char s[INET6_ADDRSTRLEN + 16];
	size_t i;
	int r;

	r = put_key(out, "public_key", p->public_key);
	if (r == 0 && (p->flags & WG_PEER_REMOVE))
		return buf_puts(out, "remove=true\n");
	if (r == 0 && (p->flags & WG_PEER_HAS_ENDPOINT)) {
		r = wg_endpoint_format(&p->endpoint, s, sizeof(s));
		if (r == 0)
			r = buf_printf(out, "endpoint=%s\n", s);
	}
	if (r == 0 && (p->flags & WG_PEER_HAS_KEEPALIVE))
		r = buf_printf(out, "persistent_keepalive_interval=%u\n", (unsigned int)p->keepalive);
	if (r == 0 && (p->flags & WG_PEER_REPLACE_ALLOWEDIPS))
		r = buf_puts(out, "replace_allowed_ips=true\n");
	for (i = 0; r == 0 && i < p->nallowed; i++) {
		const struct wg_allowedip *a = &p->allowed[i];

		if ((a->family != AF_INET && a->family != AF_INET6) ||
		    !inet_ntop(a->family, &a->addr, s, sizeof(s)))
			return -EINVAL;
		r = buf_printf(out, "allowed_ip=%s/%u\n", s, (unsigned int)a->cidr);
	}
	return r;
}

int
wguapi_format_set(const struct wg_device *ch, struct buf *out)
{
	size_t i;
	int r;

	r = buf_puts(out, "set=1\n");
	if (r == 0 && (ch->flags & WG_DEVICE_HAS_PRIVATE_KEY))
		r = put_key(out, "private_key", ch->private_key);
	if (r == 0 && (ch->flags & WG_DEVICE_HAS_LISTEN_PORT))
		r = buf_printf(out, "listen_port=%u\n", (unsigned int)ch->listen_port);
	if (r == 0 && (ch->flags & WG_DEVICE_REPLACE_PEERS))
		r = buf_puts(out, "replace_peers=true\n");
	for (i = 0; r == 0 && i < ch->npeers; i++)
		r = put_peer(out, &ch->peers[i]);
	if (r == 0)
		r = buf_putc(out, '\n');
	return r;
}

/* ---- socket I/O ---- */

static int
uapi_connect(const char *dir, const char *ifname)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, r;

	r = wguapi_sock_path(dir, ifname, sun.sun_path, sizeof(sun.sun_path));
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

bool
wguapi_exists(const char *dir, const char *ifname)
{
	int fd = uapi_connect(dir, ifname);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int
wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do {
		r = poll(&p, 1, WGUAPI_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;
	int r;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN) {
			r = wait_fd(fd, POLLOUT);
			if (r < 0)
				return r;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * A reply buffer that wipes what it leaves behind when it grows: a get
 * reply starts with the private key.
 */
struct secbuf {
	uint8_t *p;
	size_t len;
	size_t alloc;
	size_t max;
};

static void
secbuf_release(struct secbuf *b)
{
	if (b->p)
		explicit_bzero(b->p, b->alloc);
	free(b->p);
	b->p = NULL;
	b->len = b->alloc = 0;
}

static int
secbuf_append(struct secbuf *b, const uint8_t *d, size_t n)
{
	uint8_t *np;
	size_t na;

	if (n > b->max - b->len)
		return -E2BIG;
	if (n > b->alloc - b->len) {
		na = b->alloc ? b->alloc : 16384;
		while (na - b->len < n)
			na *= 2;
		if (na > b->max)
			na = b->max;
		np = malloc(na);
		if (!np)
			return -ENOMEM;
		if (b->len)
			memcpy(np, b->p, b->len);
		if (b->p)
			explicit_bzero(b->p, b->alloc);
		free(b->p);
		b->p = np;
		b->alloc = na;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

/* Read until the reply's empty line; cap b->max. */
static int
read_reply(int fd, struct secbuf *in)
{
	uint8_t chunk[16384];
	size_t from;
	ssize_t n;
	int r;

	for (;;) {
		r = wait_fd(fd, POLLIN);
		if (r < 0)
			break;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			/* closed before the end of the reply, or an error */
			r = n < 0 ? -errno : -EBADMSG;
			break;
		}
		from = in->len ? in->len - 1 : 0;
		r = secbuf_append(in, chunk, (size_t)n);
		if (r < 0)
			break;
		if ((in->len >= 2 && memmem(in->p + from, in->len - from, "\n\n", 2)) ||
		    (in->len == 1 && in->p[0] == '\n'))
			break;
	}
	explicit_bzero(chunk, sizeof(chunk));
	return r;
}

static int
transact(const char *dir, const char *ifname, const uint8_t *req, size_t reqlen,
	 struct secbuf *reply)
{
	int fd, r;

	fd = uapi_connect(dir, ifname);
	if (fd < 0)
		return fd;
	r = write_all(fd, req, reqlen);
	if (r == 0)
		r = read_reply(fd, reply);
	close(fd);
	return r;
}

int
wguapi_get(const char *dir, const char *ifname, struct wg_device *ret)
{
	static const char req[] = "get=1\n\n";
	struct secbuf reply = { .max = WGUAPI_REPLY_MAX };
	struct wg_device d;
	int r;

	r = transact(dir, ifname, (const uint8_t *)req, sizeof(req) - 1, &reply);
	if (r == 0)
		r = wguapi_parse_get((const char *)reply.p, reply.len, &d);
	secbuf_release(&reply);
	if (r < 0)
		return r;
	snprintf(d.ifname, sizeof(d.ifname), "%s", ifname);
	*ret = d;
	return 0;
}

/* Upper bound of the request's size, so that its buffer never moves. */
static size_t
request_size(const struct wg_device *ch)
{
	size_t i, n = 256;

	for (i = 0; i < ch->npeers; i++)
		n += 256 + ch->peers[i].nallowed * 64;
	return n;
}

int
wguapi_set(const char *dir, const char *ifname, const struct wg_device *changes)
{
	struct secbuf reply = { .max = WGUAPI_LINE_MAX + 2 };
	struct buf req;
	size_t want = request_size(changes);
	int r;

	if (want > WGUAPI_REQUEST_MAX)
		return -E2BIG;
	buf_init(&req, want);
	r = buf_reserve(&req, want);
	if (r == 0)
		r = wguapi_format_set(changes, &req);
	if (r == 0)
		r = transact(dir, ifname, req.data, req.len, &reply);
	if (r == 0)
		r = wguapi_parse_set_reply((const char *)reply.p, reply.len);
	if (req.data)
		explicit_bzero(req.data, req.alloc);
	buf_release(&req);
	secbuf_release(&reply);
	return r;
}
