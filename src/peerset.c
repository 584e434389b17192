/*
 * peerset: the chain watcher's pure state machine (see peerset.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "endpoint.h"
#include "peerset.h"

/* Canonical event signatures, indexed by enum peerset_ev_kind.  The enum
 * NetworkType is uint8 in the ABI. */
static const char *const event_sigs[PEERSET_EV_COUNT] = {
	[PEERSET_EV_REGISTERED] = "PeerRegistered(uint256,address,bytes20,uint8,bytes32,string)",
	[PEERSET_EV_UPDATED] = "PeerUpdated(uint256,address,bytes20,uint8,bytes32,string)",
	[PEERSET_EV_HEARTBEAT] = "Heartbeat(uint256,address,uint64)",
	[PEERSET_EV_DEREGISTERED] = "PeerDeregistered(uint256,address,bytes20)",
	[PEERSET_EV_REVOKED] = "PeerRevoked(uint256,address,bytes20)",
	[PEERSET_EV_TTL] = "HeartbeatTTLSet(uint64)",
	[PEERSET_EV_TRANSFER] = "Transfer(address,address,uint256)",
};

/* Topics each event carries (topic 0 included). */
static const size_t event_ntopics[PEERSET_EV_COUNT] = {
	[PEERSET_EV_REGISTERED] = 4, [PEERSET_EV_UPDATED] = 4,
	[PEERSET_EV_HEARTBEAT] = 3, [PEERSET_EV_DEREGISTERED] = 4,
	[PEERSET_EV_REVOKED] = 4, [PEERSET_EV_TTL] = 1,
	[PEERSET_EV_TRANSFER] = 4,
};

static uint8_t topics[PEERSET_EV_COUNT][32];
static pthread_once_t topics_once = PTHREAD_ONCE_INIT;

static void
topics_init(void)
{
	for (size_t i = 0; i < PEERSET_EV_COUNT; i++)
		abi_topic(event_sigs[i], topics[i]);
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

/* A uint256 topic or slot as a 64-bit token id. */
static int
dec_u64(const uint8_t *slot, uint64_t *ret)
{
	struct abi_dec d;

	abi_dec_init(&d, slot, 32);
	return abi_dec_uint64(&d, ret);
}

static int
dec_net(struct abi_dec *d, enum peer_net *ret)
{
	uint64_t v;
	int r = abi_dec_uint64(d, &v);

	if (r < 0)
		return r;
	if (v > PEER_NET_WIREGUARD)
		return -EBADMSG;
	*ret = (enum peer_net)v;
	return 0;
}

/* Endpoint string into p->endpoint; rejects NUL and over-long strings. */
static int
dec_endpoint(struct abi_dec *d, struct peer *p)
{
	const char *s;
	size_t n;
	int r = abi_dec_string(d, ENDPOINT_MAX, &s, &n);

	if (r == -E2BIG)
		return -EBADMSG;
	if (r < 0)
		return r;
	if (memchr(s, '\0', n))
		return -EBADMSG;
	memcpy(p->endpoint, s, n);
	p->endpoint[n] = '\0';
	return 0;
}

/* Data (uint8 networkType, bytes32 wgPublicKey, string endpoint). */
static int
dec_record_data(const struct jsonrpc_log *log, struct peer *p)
{
	struct abi_dec d;
	int r;

	abi_dec_init(&d, log->data, log->data_len);
	r = dec_net(&d, &p->net);
	if (r >= 0)
		r = abi_dec_bytes32(&d, p->wg_pubkey);
	if (r >= 0)
		r = dec_endpoint(&d, p);
	if (r < 0)
		return r;
	p->has_wg = !all_zero(p->wg_pubkey, 32);
	return 0;
}

static int
dec_topic_address(const uint8_t topic[32], uint8_t ret[20])
{
	struct abi_dec d;

	abi_dec_init(&d, topic, 32);
	return abi_dec_address(&d, ret);
}

static int
decode_body(const struct jsonrpc_log *log, struct peerset_event *ev)
{
	struct abi_dec d;
	int r = 0;

	switch (ev->kind) {
	case PEERSET_EV_REGISTERED:
	case PEERSET_EV_UPDATED:
		r = dec_u64(log->topics[1], &ev->token_id);
		if (r >= 0)
			r = dec_topic_address(log->topics[2], ev->rec.address);
		if (r >= 0) {
			abi_dec_init(&d, log->topics[3], 32);
			r = abi_dec_bytesN(&d, 20, ev->rec.instance_id);
		}
		if (r >= 0)
			r = dec_record_data(log, &ev->rec);
		ev->rec.token_id = ev->token_id;
		return r;
	case PEERSET_EV_HEARTBEAT:
		r = dec_u64(log->topics[1], &ev->token_id);
		abi_dec_init(&d, log->data, log->data_len);
		if (r >= 0)
			r = abi_dec_uint64(&d, &ev->timestamp);
		return r;
	case PEERSET_EV_DEREGISTERED:
	case PEERSET_EV_REVOKED:
		return dec_u64(log->topics[1], &ev->token_id);
	case PEERSET_EV_TTL:
		abi_dec_init(&d, log->data, log->data_len);
		return abi_dec_uint64(&d, &ev->ttl);
	case PEERSET_EV_TRANSFER:
		r = dec_topic_address(log->topics[1], ev->from);
		if (r >= 0)
			r = dec_topic_address(log->topics[2], ev->to);
		if (r >= 0)
			r = dec_u64(log->topics[3], &ev->token_id);
		return r;
	default:
		return -ENOENT;
	}
}

int
peerset_decode_log(const struct jsonrpc_log *log, const uint8_t contract[20],
		   struct peerset_event *ret)
{
	const uint8_t (*t)[32] = peerset_event_topics();
	struct peerset_event ev;
	size_t k;
	int r;

	if (memcmp(log->address, contract, 20) != 0 || log->n_topics == 0)
		return -ENOENT;
	for (k = 0; k < PEERSET_EV_COUNT; k++)
		if (memcmp(log->topics[0], t[k], 32) == 0)
			break;
	if (k == PEERSET_EV_COUNT)
		return -ENOENT;
	if (log->n_topics != event_ntopics[k])
		return -EBADMSG;
	memset(&ev, 0, sizeof(ev));
	ev.kind = (enum peerset_ev_kind)k;
	ev.block_number = log->block_number;
	ev.log_index = log->log_index;
	r = decode_body(log, &ev);
	if (r < 0)
		return r;
	*ret = ev;
	return 0;
}

/* One PeerRecord: (uint256 tokenId, address key, bytes20 instanceId,
 * uint8 networkType, uint64 lastHeartbeat, bool live, bytes32 wgPublicKey,
 * string endpoint). */
static int
dec_page_record(struct abi_dec *rec, struct peer *p)
{
	bool live;
	int r;

	memset(p, 0, sizeof(*p));
	r = abi_dec_uint64(rec, &p->token_id);
	if (r >= 0)
		r = abi_dec_address(rec, p->address);
	if (r >= 0)
		r = abi_dec_bytesN(rec, 20, p->instance_id);
	if (r >= 0)
		r = dec_net(rec, &p->net);
	if (r >= 0)
		r = abi_dec_uint64(rec, &p->last_heartbeat);
	if (r >= 0)
		r = abi_dec_bool(rec, &live);	/* judged here by chain time */
	if (r >= 0)
		r = abi_dec_bytes32(rec, p->wg_pubkey);
	if (r >= 0)
		r = dec_endpoint(rec, p);
	if (r < 0)
		return r;
	p->has_wg = !all_zero(p->wg_pubkey, 32);
	return 0;
}

int
peerset_add_page(struct peerset *ps, const uint8_t *data, size_t len, uint64_t *ret_next)
{
	struct abi_dec d, arr, rec;
	size_t count;
	uint64_t next;
	struct peer p;
	int r;

	abi_dec_init(&d, data, len);
	r = abi_dec_enter_array(&d, PEERSET_PAGE_MAX, &arr, &count);
	if (r < 0)
		return r;
	r = abi_dec_uint64(&d, &next);
	if (r < 0)
		return r;
	for (size_t i = 0; i < count; i++) {
		r = abi_dec_enter_tuple(&arr, &rec);
		if (r >= 0)
			r = dec_page_record(&rec, &p);
		if (r >= 0 && p.token_id == 0)
			r = -EBADMSG;
		if (r >= 0 && peerset_find(ps, p.token_id))
			r = -EBADMSG;	/* pages never repeat a token */
		if (r >= 0)
			r = upsert(ps, &p);
		if (r < 0)
			return r;
	}
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
