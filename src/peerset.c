/*
 * peerset: the chain watcher's pure state machine (see peerset.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "peerset.h"
#include "registry.h"

/* The registry events followed, indexed by enum peerset_ev_kind. */
static const enum registry_ev kind_ev[PEERSET_EV_COUNT] = {
	[PEERSET_EV_REGISTERED] = REGISTRY_EV_PEER_REGISTERED,
	[PEERSET_EV_UPDATED] = REGISTRY_EV_PEER_UPDATED,
	[PEERSET_EV_HEARTBEAT] = REGISTRY_EV_HEARTBEAT,
	[PEERSET_EV_DEREGISTERED] = REGISTRY_EV_PEER_DEREGISTERED,
	[PEERSET_EV_REVOKED] = REGISTRY_EV_PEER_REVOKED,
	[PEERSET_EV_TTL] = REGISTRY_EV_HEARTBEAT_TTL_SET,
	[PEERSET_EV_TRANSFER] = REGISTRY_EV_TRANSFER,
};

static uint8_t topics[PEERSET_EV_COUNT][32];
static pthread_once_t topics_once = PTHREAD_ONCE_INIT;

static void
topics_init(void)
{
	for (size_t i = 0; i < PEERSET_EV_COUNT; i++)
		if (registry_event_topic(kind_ev[i], topics[i]) < 0)
			abort();	/* the table above is wrong */
}

const uint8_t (*peerset_event_topics(void))[32]
{
	pthread_once(&topics_once, topics_init);
	return (const uint8_t (*)[32])topics;
}

void
peerset_init(struct peerset *ps, const struct peerset_config *cfg)
{
	memset(ps, 0, sizeof(*ps));
	ps->cfg = *cfg;
}

void
peerset_release(struct peerset *ps)
{
	free(ps->v);
	ps->v = NULL;
	ps->n = ps->alloc = 0;
	ps->ttl = 0;
}

int
peerset_copy(struct peerset *dst, const struct peerset *src)
{
	struct peerset_entry *v = NULL;

	if (src->n > 0) {
		v = calloc(src->n, sizeof(*v));
		if (!v)
			return -ENOMEM;
		memcpy(v, src->v, src->n * sizeof(*v));
	}
	peerset_release(dst);
	dst->cfg = src->cfg;
	dst->ttl = src->ttl;
	dst->v = v;
	dst->n = dst->alloc = src->n;
	return 0;
}

void
peerset_move(struct peerset *dst, struct peerset *src)
{
	peerset_release(dst);
	*dst = *src;
	src->v = NULL;
	src->n = src->alloc = 0;
	src->ttl = 0;
}

bool
peerset_is_live(uint64_t last_heartbeat, uint64_t ttl, uint64_t now)
{
	/* lastHeartbeat + ttl >= now, computed without overflow */
	return now <= last_heartbeat || now - last_heartbeat <= ttl;
}

/* Index of token_id, or of where it would go (*found false). */
static size_t
search(const struct peerset *ps, uint64_t token_id, bool *found)
{
	size_t lo = 0, hi = ps->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ps->v[mid].p.token_id < token_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < ps->n && ps->v[lo].p.token_id == token_id;
	return lo;
}

const struct peerset_entry *
peerset_find(const struct peerset *ps, uint64_t token_id)
{
	bool found;
	size_t i = search(ps, token_id, &found);

	return found ? &ps->v[i] : NULL;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Validate p for the daemon's mode and set its mesh address. */
static enum peerset_reject
check(const struct peerset_config *cfg, struct peer *p)
{
	size_t len = strnlen(p->endpoint, sizeof(p->endpoint));

	p->mesh_ip.s_addr = 0;
	if (p->net != cfg->mode)
		return PEERSET_WRONG_MODE;
	if (!endpoint_charset_ok(p->endpoint, len))
		return PEERSET_BAD_ENDPOINT;
	if (p->net == PEER_NET_TLS)
		return endpoint_tls_ok(p->endpoint, len) ? PEERSET_OK : PEERSET_BAD_ENDPOINT;
	if (!endpoint_hostport_ok(p->endpoint, len, NULL))
		return PEERSET_BAD_ENDPOINT;
	if (!p->has_wg || all_zero(p->wg_pubkey, sizeof(p->wg_pubkey)))
		return PEERSET_BAD_WG_KEY;
	/* token n is host n; neither the network nor the broadcast address */
	if (cfg->mesh_prefix < 1 || cfg->mesh_prefix > 30)
		return PEERSET_NO_MESH_IP;
	uint64_t hosts = (UINT64_C(1) << (32 - cfg->mesh_prefix)) - 2;
	if (p->token_id < 1 || p->token_id > hosts)
		return PEERSET_NO_MESH_IP;
	p->mesh_ip.s_addr = htonl(ntohl(cfg->mesh_net.s_addr) + (uint32_t)p->token_id);
	return PEERSET_OK;
}

/* Insert or replace the record of p->token_id. */
static int
upsert(struct peerset *ps, const struct peer *p)
{
	bool found;
	size_t i = search(ps, p->token_id, &found);
	struct peerset_entry e = { .p = *p };

	memset(&e.p.wg, 0, sizeof(e.p.wg));
	e.reject = check(&ps->cfg, &e.p);
	if (found) {
		ps->v[i] = e;
		return 0;
	}
	if (ps->n >= PEERS_MAX)
		return -E2BIG;
	if (ps->n == ps->alloc) {
		size_t na = ps->alloc ? ps->alloc * 2 : 16;
		struct peerset_entry *nv;

		if (na > PEERS_MAX)
			na = PEERS_MAX;
		nv = realloc(ps->v, na * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		ps->v = nv;
		ps->alloc = na;
	}
	memmove(&ps->v[i + 1], &ps->v[i], (ps->n - i) * sizeof(*ps->v));
	ps->v[i] = e;
	ps->n++;
	return 0;
}

static bool
drop(struct peerset *ps, uint64_t token_id)
{
	bool found;
	size_t i = search(ps, token_id, &found);

	if (!found)
		return false;
	memmove(&ps->v[i], &ps->v[i + 1], (ps->n - i - 1) * sizeof(*ps->v));
	ps->n--;
	return true;
}

int
peerset_apply(struct peerset *ps, const struct peerset_event *ev, uint64_t block_time)
{
	static const uint8_t zero[20];
	struct peer p;
	bool found;
	size_t i;
	int r;

	switch (ev->kind) {
	case PEERSET_EV_REGISTERED:
	case PEERSET_EV_UPDATED:
		p = ev->rec;
		p.token_id = ev->token_id;
		p.last_heartbeat = block_time;
		r = upsert(ps, &p);
		return r < 0 ? r : 1;
	case PEERSET_EV_HEARTBEAT:
		i = search(ps, ev->token_id, &found);
		if (!found || ps->v[i].p.last_heartbeat == ev->timestamp)
			return 0;
		ps->v[i].p.last_heartbeat = ev->timestamp;
		return 1;
	case PEERSET_EV_DEREGISTERED:
	case PEERSET_EV_REVOKED:
		return drop(ps, ev->token_id) ? 1 : 0;
	case PEERSET_EV_TTL:
		if (ps->ttl == ev->ttl)
			return 0;
		ps->ttl = ev->ttl;
		return 1;
	case PEERSET_EV_TRANSFER:
		/* Tokens move only by mint and burn; a burn (or any move, which
		 * the contract forbids) leaves the new holder unregistered. */
		if (memcmp(ev->from, zero, 20) == 0)
			return 0;
		return drop(ps, ev->token_id) ? 1 : 0;
	default:
		return -EINVAL;
	}
}

static enum peer_net
net_of(enum registry_net n)
{
	return n == REGISTRY_NET_WIREGUARD ? PEER_NET_WIREGUARD : PEER_NET_TLS;
}

/* The record fields of a registration event or page record. */
static void
fill_peer(struct peer *p, uint64_t token_id, const uint8_t key[20], const uint8_t instance[20],
	  enum registry_net net, const uint8_t wg[32], const char *endpoint, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->token_id = token_id;
	memcpy(p->address, key, 20);
	memcpy(p->instance_id, instance, 20);
	p->net = net_of(net);
	memcpy(p->wg_pubkey, wg, 32);
	p->has_wg = !all_zero(wg, 32);
	memcpy(p->endpoint, endpoint, len);	/* len <= ENDPOINT_MAX, checked by registry */
	p->endpoint[len] = '\0';
}

int
peerset_decode_log(const struct jsonrpc_log *log, const uint8_t contract[20],
		   struct peerset_event *ret)
{
	struct registry_event re;
	struct peerset_event ev;
	size_t k;
	int r;

	if (memcmp(log->address, contract, 20) != 0)
		return -ENOENT;
	r = registry_decode_event((const uint8_t (*)[32])log->topics, log->n_topics, log->data,
				  log->data_len, &re);
	if (r == -E2BIG)
		return -EBADMSG;
	if (r < 0)
		return r;
	for (k = 0; k < PEERSET_EV_COUNT; k++)
		if (kind_ev[k] == re.kind)
			break;
	if (k == PEERSET_EV_COUNT)
		return -ENOENT;
	memset(&ev, 0, sizeof(ev));
	ev.kind = (enum peerset_ev_kind)k;
	ev.block_number = log->block_number;
	ev.log_index = log->log_index;
	ev.token_id = re.token_id;
	ev.timestamp = re.timestamp;
	ev.ttl = re.ttl;
	memcpy(ev.from, re.from, 20);
	memcpy(ev.to, re.to, 20);
	if (ev.kind == PEERSET_EV_REGISTERED || ev.kind == PEERSET_EV_UPDATED) {
		if (re.endpoint_len > ENDPOINT_MAX)
			return -EBADMSG;
		fill_peer(&ev.rec, re.token_id, re.key, re.instance_id, re.net, re.wg_pubkey,
			  re.endpoint, re.endpoint_len);
	}
	*ret = ev;
	return 0;
}

int
peerset_add_page(struct peerset *ps, const uint8_t *data, size_t len, uint64_t *ret_next)
{
	struct registry_peer *recs;
	uint64_t next;
	struct peer p;
	size_t n;
	int r;

	/* a record takes at least 9 slots of input plus its offset */
	size_t cap = len / (10 * 32) + 1;

	if (cap > PEERSET_PAGE_MAX)
		cap = PEERSET_PAGE_MAX;
	recs = calloc(cap, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	r = registry_decode_peers_page(data, len, recs, cap, &n, &next);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct registry_peer *q = &recs[i];

		if (q->token_id == 0 || q->endpoint_len > ENDPOINT_MAX ||
		    peerset_find(ps, q->token_id))
			r = -EBADMSG;	/* pages never repeat a token */
		if (r < 0)
			break;
		fill_peer(&p, q->token_id, q->key, q->instance_id, q->net, q->wg_pubkey,
			  q->endpoint, q->endpoint_len);
		p.last_heartbeat = q->last_heartbeat;	/* live judged here by chain time */
		r = upsert(ps, &p);
	}
	free(recs);
	if (r < 0)
		return r;
	*ret_next = next;
	return 0;
}

int
peerset_live(const struct peerset *ps, uint64_t now, struct peer *out, size_t cap,
	     size_t *ret_n)
{
	size_t n = 0;

	for (size_t i = 0; i < ps->n; i++) {
		const struct peerset_entry *e = &ps->v[i];

		if (e->reject != PEERSET_OK ||
		    !peerset_is_live(e->p.last_heartbeat, ps->ttl, now))
			continue;
		if (n >= cap)
			return -E2BIG;
		out[n++] = e->p;
	}
	*ret_n = n;
	return 0;
}

uint64_t
peerset_next_expiry(const struct peerset *ps, uint64_t now)
{
	uint64_t best = UINT64_MAX;

	for (size_t i = 0; i < ps->n; i++) {
		const struct peerset_entry *e = &ps->v[i];
		uint64_t hb = e->p.last_heartbeat, end;

		if (e->reject != PEERSET_OK || !peerset_is_live(hb, ps->ttl, now))
			continue;
		/* first second at which it is no longer live: hb + ttl + 1 */
		if (hb > UINT64_MAX - ps->ttl - 1)
			continue;
		end = hb + ps->ttl + 1;
		if (end < best)
			best = end;
	}
	return best;
}

bool
peerset_peer_equal(const struct peer *a, const struct peer *b)
{
	return a->token_id == b->token_id &&
	    memcmp(a->instance_id, b->instance_id, 20) == 0 &&
	    memcmp(a->address, b->address, 20) == 0 &&
	    strncmp(a->endpoint, b->endpoint, sizeof(a->endpoint)) == 0 &&
	    a->net == b->net && a->has_wg == b->has_wg &&
	    memcmp(a->wg_pubkey, b->wg_pubkey, 32) == 0 &&
	    a->last_heartbeat == b->last_heartbeat &&
	    a->mesh_ip.s_addr == b->mesh_ip.s_addr;
}

void
peerset_report_rejects(struct peerset *ps,
		       void (*fn)(void *arg, const struct peerset_entry *e), void *arg)
{
	for (size_t i = 0; i < ps->n; i++) {
		struct peerset_entry *e = &ps->v[i];

		if (e->reject == PEERSET_OK || e->reported)
			continue;
		e->reported = true;
		fn(arg, e);
	}
}

const char *
peerset_reject_name(enum peerset_reject r)
{
	static const char *const names[] = {
		[PEERSET_OK] = "ok",
		[PEERSET_WRONG_MODE] = "network type is not this daemon's mode",
		[PEERSET_BAD_ENDPOINT] = "bad endpoint",
		[PEERSET_BAD_WG_KEY] = "no wireguard key",
		[PEERSET_NO_MESH_IP] = "token beyond the mesh network",
	};

	if ((size_t)r >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[r];
}
