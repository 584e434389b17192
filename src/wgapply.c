/*
 * wgapply: the WireGuard applier (wgapply.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "endpoint.h"
#include "log.h"
#include "wgapply.h"
#include "wgnl.h"
#include "wguapi.h"

enum backend { BACKEND_KERNEL, BACKEND_USERSPACE };

struct wgapply {
	pthread_mutex_t lock;		/* guards everything below */
	struct wgapply_config cfg;	/* holds the private key */
	enum backend backend;
	struct wgnl *nl;
	struct wg_device wanted;	/* last wanted peers (no key) */
	bool has_wanted;
	struct wgapply_stats st;
};

static int
seterr(char *err, size_t errsz, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
seterr(char *err, size_t errsz, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* ---- backend I/O ---- */

static int
dev_get(struct wgapply *a, struct wg_device *ret)
{
	if (a->backend == BACKEND_KERNEL)
		return wgnl_get_device(a->nl, a->cfg.ifname, ret);
	return wguapi_get(a->cfg.uapi_dir, a->cfg.ifname, ret);
}

static int
dev_set(struct wgapply *a, const struct wg_device *ch)
{
	a->st.last_messages = 0;
	if (a->backend == BACKEND_KERNEL)
		return wgnl_set_device(a->nl, ch, &a->st.last_messages);
	return wguapi_set(a->cfg.uapi_dir, a->cfg.ifname, ch);
}

/* ---- userspace: start wireguard-go ---- */

static int
spawn_wireguard_go(const struct wgapply_config *cfg, pid_t *ret_pid)
{
	const char *bin = cfg->wireguard_go ? cfg->wireguard_go : "wireguard-go";
	char *argv[] = { (char *)(uintptr_t)bin, (char *)(uintptr_t)"-f",
			 (char *)(uintptr_t)cfg->ifname, NULL };
	int pfd[2], e = 0, fd;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		e = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return e;
	}
	if (pid == 0) {
		/* its own session: it outlives us and our signals */
		setsid();
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1", 1);
		execvp(bin, argv);
		e = errno;
		n = write(pfd[1], &e, sizeof(e));
		(void)n;
		_exit(127);
	}
	close(pfd[1]);
	/* exec succeeded when the pipe closes with nothing in it */
	n = read(pfd[0], &e, sizeof(e));
	close(pfd[0]);
	if (n == (ssize_t)sizeof(e)) {
		waitpid(pid, NULL, 0);
		return -e;
	}
	*ret_pid = pid;
	return 0;
}

static int
wait_socket(const struct wgapply_config *cfg, pid_t pid)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i, status;

	for (i = 0; i < WGAPPLY_START_MS / 20; i++) {
		if (wguapi_exists(cfg->uapi_dir, cfg->ifname))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -EIO;	/* it exited: name taken, no tun, ... */
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

static void
reap_later(pid_t pid)
{
	/* a zombie costs nothing; SIGCHLD may be ignored by the daemon */
	(void)waitpid(pid, NULL, WNOHANG);
}

/* ---- setup ---- */

/*
 * Attach to ifname if it is a WireGuard device of the chosen kind, or
 * create it.  *ret_created says whether we made it.
 */
static int
attach_or_create(struct wgapply *a, char *err, size_t errsz, bool *ret_created)
{
	const struct wgapply_config *c = &a->cfg;
	char kind[WGNL_KIND_MAX];
	pid_t pid = 0;
	int r;

	r = wgnl_link_kind(a->nl, c->ifname, kind);
	if (r < 0 && r != -ENODEV)
		return seterr(err, errsz, r, "cannot query interface '%s': %s", c->ifname, strerror(-r));
	if (r == 0) {
		if (strcmp(kind, "wireguard") == 0 && c->backend != WG_BACKEND_USERSPACE &&
		    wgnl_family(a->nl) == 0) {
			a->backend = BACKEND_KERNEL;
		} else if (strcmp(kind, "tun") == 0 && c->backend != WG_BACKEND_KERNEL &&
			   wguapi_exists(c->uapi_dir, c->ifname)) {
			a->backend = BACKEND_USERSPACE;
		} else {
			return seterr(err, errsz, -EEXIST,
				      "interface name '%s' is taken by a '%s' link that is not a %s WireGuard device",
				      c->ifname, kind[0] ? kind : "plain",
				      c->backend == WG_BACKEND_KERNEL ? "kernel" :
				      c->backend == WG_BACKEND_USERSPACE ? "userspace" : "usable");
		}
		*ret_created = false;
		return 0;
	}
	/* no such link: create it */
	if (c->backend != WG_BACKEND_USERSPACE) {
		r = wgnl_link_create(a->nl, c->ifname);
		if (r == 0 && wgnl_family(a->nl) == 0) {
			a->backend = BACKEND_KERNEL;
			*ret_created = true;
			return 0;
		}
		if (r == 0)
			(void)wgnl_link_delete(a->nl, c->ifname);
		if (r == -EPERM)
			return seterr(err, errsz, r, "cannot create interface '%s': no CAP_NET_ADMIN",
				      c->ifname);
		if (c->backend == WG_BACKEND_KERNEL)
			return seterr(err, errsz, r == 0 || r == -EOPNOTSUPP ? -ENOENT : r,
				      "kernel backend: cannot create WireGuard interface '%s': %s",
				      c->ifname, r == 0 || r == -EOPNOTSUPP ?
				      "the kernel has no WireGuard" : strerror(-r));
	}
	r = spawn_wireguard_go(c, &pid);
	if (r < 0)
		return seterr(err, errsz, r == -ENOENT ? -ENOENT : r,
			      "%scannot start '%s': %s",
			      c->backend == WG_BACKEND_AUTO ? "no kernel WireGuard and " : "",
			      c->wireguard_go ? c->wireguard_go : "wireguard-go", strerror(-r));
	r = wait_socket(c, pid);
	if (r < 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return seterr(err, errsz, r, "wireguard-go did not bring up '%s' (%s)", c->ifname,
			      r == -EIO ? "it exited" : "no socket in time");
	}
	reap_later(pid);
	a->backend = BACKEND_USERSPACE;
	*ret_created = true;
	return 0;
}

static int
configure(struct wgapply *a, char *err, size_t errsz)
{
	const struct wgapply_config *c = &a->cfg;
	struct wg_device want, have, ch;
	int r;

	/* key and port, through the same diff as the peers */
	r = dev_get(a, &have);
	if (r < 0)
		return seterr(err, errsz, r, "cannot read WireGuard device '%s': %s", c->ifname,
			      strerror(-r));
	wg_device_init(&want);
	memcpy(want.ifname, c->ifname, sizeof(want.ifname));
	want.flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
	memcpy(want.private_key, c->private_key, WG_KEY_LEN);
	want.listen_port = c->listen_port;
	/* keep the peers as they are: only the device fields matter here */
	want.peers = have.peers;
	want.npeers = have.npeers;
	r = wg_diff(&want, &have, &ch);
	want.peers = NULL;
	want.npeers = 0;
	wg_device_release(&want);
	wg_device_release(&have);
	if (r == 0 && !wg_changes_empty(&ch))
		r = dev_set(a, &ch);
	if (r == 0)
		wg_device_release(&ch);
	if (r < 0)
		return seterr(err, errsz, r, "cannot set key and port on '%s': %s", c->ifname,
			      strerror(-r));
	r = wgnl_link_up(a->nl, c->ifname);
	if (r == 0)
		r = wgnl_addr_add(a->nl, c->ifname, c->mesh_ip, c->mesh_prefix);
	if (r == 0)
		r = wgnl_route_add(a->nl, c->ifname, c->mesh_net, c->mesh_prefix);
	if (r < 0)
		return seterr(err, errsz, r, "cannot bring up '%s' with its mesh address: %s",
			      c->ifname, strerror(-r));
	return 0;
}

static bool
config_ok(const struct wgapply_config *c)
{
	uint32_t mask, ip, net;

	if (!c->ifname[0] || strnlen(c->ifname, IFNAMSIZ) >= IFNAMSIZ)
		return false;
	if (c->mesh_prefix < 8 || c->mesh_prefix > 30 || wg_key_is_zero(c->private_key))
		return false;
	mask = ~0U << (32 - c->mesh_prefix);
	ip = ntohl(c->mesh_ip.s_addr);
	net = ntohl(c->mesh_net.s_addr);
	return (net & ~mask) == 0 && (ip & mask) == net && ip != net && ip != (net | ~mask);
}

int
wgapply_config_from_options(const struct options *o, const uint8_t sk[WG_KEY_LEN],
			    const uint8_t pub[WG_KEY_LEN], uint64_t token_id,
			    struct wgapply_config *ret)
{
	struct wgapply_config c;
	uint64_t hosts;

	if (o->mode != P2P_MODE_WIREGUARD || o->mesh_prefix < 8 || o->mesh_prefix > 30)
		return -EINVAL;
	hosts = (UINT64_C(1) << (32 - o->mesh_prefix)) - 2;
	if (token_id == 0 || token_id > hosts)
		return -ERANGE;
	memset(&c, 0, sizeof(c));
	memcpy(c.ifname, o->wg_ifname, sizeof(c.ifname) - 1);
	c.backend = o->wg_backend;
	c.listen_port = o->wg_port;
	c.mesh_net = o->mesh_net;
	c.mesh_prefix = o->mesh_prefix;
	c.mesh_ip.s_addr = htonl(ntohl(o->mesh_net.s_addr) + (uint32_t)token_id);
	c.keepalive = o->wg_keepalive;
	memcpy(c.private_key, sk, WG_KEY_LEN);
	memcpy(c.public_key, pub, WG_KEY_LEN);
	*ret = c;
	explicit_bzero(&c, sizeof(c));
	return 0;
}

int
wgapply_new(const struct wgapply_config *cfg, struct wgapply **ret_a, char *err, size_t errsz)
{
	struct wgapply *a;
	bool created = false;
	int r;

	if (!config_ok(cfg))
		return seterr(err, errsz, -EINVAL, "bad WireGuard configuration for '%s'", cfg->ifname);
	a = calloc(1, sizeof(*a));
	if (!a)
		return seterr(err, errsz, -ENOMEM, "out of memory");
	pthread_mutex_init(&a->lock, NULL);
	a->cfg = *cfg;
	wg_device_init(&a->wanted);
	r = wgnl_open(&a->nl);
	if (r < 0) {
		seterr(err, errsz, r, "cannot open netlink: %s", strerror(-r));
		goto out_free;
	}
	r = attach_or_create(a, err, errsz, &created);
	if (r < 0)
		goto out_free;
	r = configure(a, err, errsz);
	if (r < 0)
		goto out_remove;
	*ret_a = a;
	return 0;

out_remove:
	/* nothing half-configured: remove what we created (wireguard-go exits
	 * when its interface goes away) */
	if (created)
		(void)wgnl_link_delete(a->nl, a->cfg.ifname);
out_free:
	wgapply_free(a);
	return r;
}

void
wgapply_free(struct wgapply *a)
{
	if (!a)
		return;
	wgnl_close(a->nl);
	wg_device_release(&a->wanted);
	explicit_bzero(a->cfg.private_key, sizeof(a->cfg.private_key));
	pthread_mutex_destroy(&a->lock);
	free(a);
}

const char *
wgapply_backend_name(const struct wgapply *a)
{
	return a->backend == BACKEND_KERNEL ? "kernel" : "userspace";
}

const char *
wgapply_ifname(const struct wgapply *a)
{
	return a->cfg.ifname;
}

/* ---- the wanted set ---- */

static int
resolve_endpoint(const char *s, struct wg_endpoint *ret)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICSERV };
	char host[ENDPOINT_MAX + 1], port[8];
	struct addrinfo *res = NULL;
	const char *colon;
	size_t n = strlen(s), hl;
	int r;

	if (!endpoint_hostport_ok(s, n, NULL))
		return -EINVAL;
	if (wg_endpoint_parse(s, n, ret) == 0)
		return 0;
	/* a DNS name: host:port with no brackets */
	colon = strrchr(s, ':');
	hl = (size_t)(colon - s);
	if (!colon || hl == 0 || hl >= sizeof(host) || strlen(colon + 1) >= sizeof(port))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0 || !res)
		return -EHOSTUNREACH;
	memset(ret, 0, sizeof(*ret));
	if (res->ai_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)res->ai_addr;

		ret->family = AF_INET;
		ret->port = ntohs(sin->sin_port);
		ret->addr.v4 = sin->sin_addr;
	} else if (res->ai_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)res->ai_addr;

		ret->family = AF_INET6;
		ret->port = ntohs(sin6->sin6_port);
		ret->addr.v6 = sin6->sin6_addr;
	} else {
		r = -EHOSTUNREACH;
	}
	freeaddrinfo(res);
	return r == 0 ? 0 : -EHOSTUNREACH;
}

/* true when p may go on the device; fills its allowed IP and endpoint. */
static bool
usable(const struct wgapply_config *c, const struct peer *p, struct wg_peer *w)
{
	uint32_t mask = ~0U << (32 - c->mesh_prefix);
	uint32_t ip = ntohl(p->mesh_ip.s_addr), net = ntohl(c->mesh_net.s_addr);
	struct wg_allowedip a = { .family = AF_INET, .cidr = 32 };

	if (!p->has_wg || wg_key_is_zero(p->wg_pubkey) ||
	    memcmp(p->wg_pubkey, c->public_key, WG_KEY_LEN) == 0)
		return false;
	if ((ip & mask) != net || ip == net || ip == (net | ~mask) ||
	    p->mesh_ip.s_addr == c->mesh_ip.s_addr)
		return false;
	if (!memchr(p->endpoint, '\0', sizeof(p->endpoint)))
		return false;
	memset(w, 0, sizeof(*w));
	memcpy(w->public_key, p->wg_pubkey, WG_KEY_LEN);
	if (resolve_endpoint(p->endpoint, &w->endpoint) == 0)
		w->flags |= WG_PEER_HAS_ENDPOINT;
	else if (!endpoint_hostport_ok(p->endpoint, strlen(p->endpoint), NULL))
		return false;	/* hostile; a name that does not resolve yet is kept */
	w->keepalive = c->keepalive;
	a.addr.v4 = p->mesh_ip;
	return wg_peer_add_allowedip(w, &a) == 0;
}

static int
build_wanted(struct wgapply *a, const struct peer *peers, size_t n, struct wg_device *ret)
{
	struct wg_device d;
	struct wg_peer w, *slot;
	size_t i, j;
	int r = 0;

	if (n > PEERS_MAX)
		return -E2BIG;
	wg_device_init(&d);
	memcpy(d.ifname, a->cfg.ifname, sizeof(d.ifname));
	for (i = 0; i < n && r == 0; i++) {
		if (!usable(&a->cfg, &peers[i], &w)) {
			a->st.skipped++;
			continue;
		}
		/* a key used by two tokens: the first (lowest token) keeps it */
		for (j = 0; j < d.npeers; j++)
			if (memcmp(d.peers[j].public_key, w.public_key, WG_KEY_LEN) == 0)
				break;
		if (j < d.npeers) {
			a->st.skipped++;
			continue;
		}
		r = wg_device_add_peer(&d, w.public_key, &slot);
		if (r == 0)
			*slot = w;
	}
	if (r < 0) {
		wg_device_release(&d);
		return r;
	}
	*ret = d;
	return 0;
}

static void
count(struct wgapply *a, const struct wg_device *ch)
{
	size_t i;

	a->st.last_added = a->st.last_updated = a->st.last_removed = 0;
	a->st.last_device = (ch->flags & (WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT)) ? 1 : 0;
	for (i = 0; i < ch->npeers; i++) {
		const struct wg_peer *p = &ch->peers[i];

		if (p->flags & WG_PEER_REMOVE)
			a->st.last_removed++;
		else if (p->flags & WG_PEER_ADDED)
			a->st.last_added++;
		else
			a->st.last_updated++;
	}
}

/* Bring the device to a->wanted.  Called with a->lock held. */
static int
reconcile_locked(struct wgapply *a)
{
	struct wg_device want, have, ch;
	int r;

	r = dev_get(a, &have);
	if (r < 0)
		return r;
	/* the wanted device: our key and port plus the wanted peers (shared) */
	want = a->wanted;
	want.flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
	memcpy(want.private_key, a->cfg.private_key, WG_KEY_LEN);
	want.listen_port = a->cfg.listen_port;
	r = wg_diff(&want, &have, &ch);
	explicit_bzero(want.private_key, sizeof(want.private_key));
	a->wanted.peers = want.peers;	/* sorted in place */
	wg_device_release(&have);
	if (r < 0)
		return r;
	count(a, &ch);
	if (!wg_changes_empty(&ch))
		r = dev_set(a, &ch);
	else
		a->st.noops++;
	if (r == 0) {
		a->st.applies++;
		a->st.peers_added += a->st.last_added;
		a->st.peers_updated += a->st.last_updated;
		a->st.peers_removed += a->st.last_removed;
	}
	wg_device_release(&ch);
	return r;
}

int
wgapply_set_peers(struct wgapply *a, const struct peer *peers, size_t n)
{
	struct wg_device d;
	int r;

	pthread_mutex_lock(&a->lock);
	r = build_wanted(a, peers, n, &d);
	if (r == 0) {
		wg_device_release(&a->wanted);
		a->wanted = d;
		a->has_wanted = true;
		r = reconcile_locked(a);
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

int
wgapply_snapshot(struct wgapply *a, const struct snapshot *snap)
{
	return wgapply_set_peers(a, snap->peers, snap->npeers);
}

int
wgapply_reconcile(struct wgapply *a)
{
	int r = 0;

	pthread_mutex_lock(&a->lock);
	if (a->has_wanted)
		r = reconcile_locked(a);
	pthread_mutex_unlock(&a->lock);
	return r;
}

int
wgapply_fill_stats(struct wgapply *a, struct peer *peers, size_t n)
{
	struct wg_device have;
	struct wg_peer *w;
	struct timespec now;
	size_t i;
	int r;

	pthread_mutex_lock(&a->lock);
	r = dev_get(a, &have);
	pthread_mutex_unlock(&a->lock);
	if (r < 0)
		return r;
	clock_gettime(CLOCK_REALTIME, &now);
	explicit_bzero(have.private_key, sizeof(have.private_key));
	wg_device_sort(&have);
	for (i = 0; i < n; i++) {
		w = peers[i].has_wg ? wg_device_find(&have, peers[i].wg_pubkey) : NULL;
		memset(&peers[i].wg, 0, sizeof(peers[i].wg));
		if (!w)
			continue;
		peers[i].wg.valid = true;
		peers[i].wg.latest_handshake = w->last_handshake_sec;
		/* a clock set back reads as age 0, never negative */
		if (w->last_handshake_sec && (uint64_t)now.tv_sec > w->last_handshake_sec)
			peers[i].wg.handshake_age = (uint64_t)now.tv_sec - w->last_handshake_sec;
		peers[i].wg.rx_bytes = w->rx_bytes;
		peers[i].wg.tx_bytes = w->tx_bytes;
	}
	wg_device_release(&have);
	return 0;
}

void
wgapply_get_stats(struct wgapply *a, struct wgapply_stats *ret)
{
	pthread_mutex_lock(&a->lock);
	*ret = a->st;
	pthread_mutex_unlock(&a->lock);
}

/* ---- the runner ---- */

struct wgapply_runner {
	struct options o;
	int (*self)(void *arg, struct identity_wg *ret_key, uint64_t *ret_token);
	void *arg;
	void (*view)(void *arg, struct snapshot *snap);
	void (*backend_changed)(void *arg);
	uint64_t reconcile_ms;
	const char *uapi_dir;
	pthread_t thread;
	pthread_mutex_t lock;		/* guards pending, stop, backend */
	pthread_cond_t cond;
	struct snapshot *pending;	/* newest snapshot not applied yet */
	uint64_t newest_gen;		/* generation of the newest one handed over */
	bool stop;
	char backend[16];
	/* runner thread only */
	struct wgapply *a;
	struct snapshot *last;		/* the newest set */
	uint64_t last_seq, applied_seq;	/* counts snapshots: newest, handed to the applier */
	char last_err[WGAPPLY_ERR_MAX];
};

/* Log an error once until it changes (retries every interval would flood). */
static void
runner_error(struct wgapply_runner *r, const char *msg)
{
	if (strcmp(msg, r->last_err) == 0)
		return;
	snprintf(r->last_err, sizeof(r->last_err), "%s", msg);
	log_warnx("wireguard: %s", msg);
}

static void
runner_setup(struct wgapply_runner *r)
{
	struct identity_wg key;
	struct wgapply_config cfg;
	char err[WGAPPLY_ERR_MAX];
	uint64_t token = 0;
	int e;

	e = r->self(r->arg, &key, &token);
	if (e < 0) {
		if (e != -EAGAIN)
			runner_error(r, "cannot get this instance's WireGuard key");
		return;
	}
	e = wgapply_config_from_options(&r->o, key.sk, key.pub, token, &cfg);
	identity_wg_release(&key);
	if (e < 0) {
		snprintf(err, sizeof(err), "token %llu has no address in the mesh network",
			 (unsigned long long)token);
		runner_error(r, err);
		return;
	}
	cfg.uapi_dir = r->uapi_dir;
	e = wgapply_new(&cfg, &r->a, err, sizeof(err));
	explicit_bzero(&cfg, sizeof(cfg));
	if (e < 0) {
		runner_error(r, err);
		return;
	}
	r->last_err[0] = '\0';
	log_info("wireguard: interface '%s' up (%s backend)", wgapply_ifname(r->a),
		 wgapply_backend_name(r->a));
	pthread_mutex_lock(&r->lock);
	snprintf(r->backend, sizeof(r->backend), "%s", wgapply_backend_name(r->a));
	pthread_mutex_unlock(&r->lock);
	if (r->backend_changed)
		r->backend_changed(r->arg);
}

/* Hand the view a copy of the newest set with the device's figures. */
static void
runner_view(struct wgapply_runner *r)
{
	const struct snapshot *last = r->last;
	struct snapshot *snap;
	struct peer *peers;
	int e;

	if (!r->view)
		return;
	peers = calloc(last->npeers ? last->npeers : 1, sizeof(*peers));
	if (!peers)
		return;
	if (last->npeers)
		memcpy(peers, last->peers, last->npeers * sizeof(*peers));
	e = wgapply_fill_stats(r->a, peers, last->npeers);
	if (e == 0)
		e = snapshot_new(peers, last->npeers, last->generation, &snap);
	free(peers);
	if (e < 0) {
		log_debug("wireguard: no peer figures: %s", strerror(-e));
		return;
	}
	r->view(r->arg, snap);
	snapshot_unref(snap);
}

static void
runner_step(struct wgapply_runner *r, struct snapshot *snap)
{
	char err[WGAPPLY_ERR_MAX];
	int e;

	if (snap) {
		snapshot_unref(r->last);
		r->last = snap;
		r->last_seq++;
	}
	if (!r->a)
		runner_setup(r);
	if (!r->a || !r->last)
		return;
	if (r->applied_seq != r->last_seq) {
		e = wgapply_snapshot(r->a, r->last);
		r->applied_seq = r->last_seq;	/* kept as the wanted set even on failure */
	} else {
		e = wgapply_reconcile(r->a);
	}
	if (e < 0) {
		snprintf(err, sizeof(err), "cannot configure '%s': %s", wgapply_ifname(r->a),
			 strerror(-e));
		runner_error(r, err);
		if (e == -ENODEV || e == -ENOENT || e == -ECONNREFUSED) {
			/* the interface went away (deleted by hand, wireguard-go
			 * killed): set it up again next round */
			wgapply_free(r->a);
			r->a = NULL;
			r->applied_seq = r->last_seq - 1;
			pthread_mutex_lock(&r->lock);
			snprintf(r->backend, sizeof(r->backend), "none");
			pthread_mutex_unlock(&r->lock);
			if (r->backend_changed)
				r->backend_changed(r->arg);
		}
	} else {
		r->last_err[0] = '\0';
		runner_view(r);
	}
}

static void *
runner_main(void *arg)
{
	struct wgapply_runner *r = arg;
	struct snapshot *snap;
	struct timespec ts;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		snap = r->pending;
		r->pending = NULL;
		pthread_mutex_unlock(&r->lock);
		runner_step(r, snap);
		pthread_mutex_lock(&r->lock);
		if (r->stop || r->pending)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(r->reconcile_ms / 1000);
		ts.tv_nsec += (long)(r->reconcile_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&r->cond, &r->lock, &ts);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int
wgapply_runner_start(const struct wgapply_runner_config *c, struct wgapply_runner **ret)
{
	struct wgapply_runner *r;
	int e;

	if (c->o->mode != P2P_MODE_WIREGUARD || !c->self)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->o = *c->o;
	r->self = c->self;
	r->arg = c->arg;
	r->view = c->view;
	r->backend_changed = c->backend_changed;
	r->reconcile_ms = c->reconcile_ms ? c->reconcile_ms : WGAPPLY_RECONCILE_MS;
	r->uapi_dir = c->uapi_dir;
	snprintf(r->backend, sizeof(r->backend), "none");
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	e = -pthread_create(&r->thread, NULL, runner_main, r);
	if (e < 0) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return e;
	}
	*ret = r;
	return 0;
}

void
wgapply_runner_publish(struct wgapply_runner *r, struct snapshot *snap)
{
	pthread_mutex_lock(&r->lock);
	/* callers may race (the watcher thread, the daemon at start): keep the newest */
	if ((r->pending && r->pending->generation > snap->generation) ||
	    snap->generation < r->newest_gen) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	r->newest_gen = snap->generation;
	snapshot_unref(r->pending);
	r->pending = snapshot_ref(snap);
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void
wgapply_runner_backend(struct wgapply_runner *r, char backend[16])
{
	pthread_mutex_lock(&r->lock);
	memcpy(backend, r->backend, 16);
	pthread_mutex_unlock(&r->lock);
}

void
wgapply_runner_free(struct wgapply_runner *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	snapshot_unref(r->pending);
	snapshot_unref(r->last);
	wgapply_free(r->a);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
