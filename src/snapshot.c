#include "snapshot.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

static bool
str_bounded(const char *s, size_t cap, size_t *ret_len)
{
	const char *nul = memchr(s, '\0', cap + 1);

	if (!nul)
		return false;
	*ret_len = (size_t)(nul - s);
	return true;
}

/* A text field may not break the key=value line format. */
static bool
note_ok(const char *s)
{
	size_t i;

	if (!s)
		return true;
	for (i = 0; s[i]; i++)
		if (i >= SNAPSHOT_NOTE_MAX || s[i] == '\n' || s[i] == '\r')
			return false;
	return true;
}

static int
put_hex(struct buf *out, const uint8_t *p, size_t n, bool prefix)
{
	char tmp[2 + 2 * 32 + 1];
	int r;

	r = hex_encode(p, n, prefix, tmp, sizeof(tmp));
	if (r < 0)
		return r;
	return buf_append(out, tmp, (size_t)r);
}

/* Standard base64 (RFC 4648 section 4) with padding, as `wg` prints keys. */
static int
put_base64(struct buf *out, const uint8_t *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];
	size_t i;
	int r;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		r = buf_append(out, q, 4);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
put_json_string(struct buf *out, const char *s)
{
	static const char hexd[] = "0123456789abcdef";
	int r = buf_putc(out, '"');

	for (; r == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			r = buf_append(out, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hexd[c >> 4],
			    hexd[c & 15] };

			r = buf_append(out, e, 6);
		} else {
			r = buf_putc(out, c);
		}
	}
	return r ? r : buf_putc(out, '"');
}

static int
put_ip(struct buf *out, struct in_addr ip)
{
	char tmp[INET_ADDRSTRLEN];

	if (!inet_ntop(AF_INET, &ip, tmp, sizeof(tmp)))
		return -EINVAL;
	return buf_puts(out, tmp);
}

int
snapshot_render_connection(const struct peer *p, struct buf *out)
{
	size_t len;

	switch (p->net) {
	case PEER_NET_TLS:
		if (!str_bounded(p->endpoint, ENDPOINT_MAX, &len))
			return -EINVAL;
		return buf_append(out, p->endpoint, len);
	case PEER_NET_WIREGUARD:
		return put_ip(out, p->mesh_ip);
	}
	return -EINVAL;
}

static int
json_peer_wg(const struct peer *p, bool stats, struct buf *out)
{
	int r = 0;

	if (p->net == PEER_NET_WIREGUARD) {
		r = buf_puts(out, ",\"mesh_ip\":\"");
		if (!r)
			r = put_ip(out, p->mesh_ip);
		if (!r)
			r = buf_putc(out, '"');
	}
	if (!r && p->has_wg) {
		r = buf_puts(out, ",\"wg_public_key\":\"");
		if (!r)
			r = put_base64(out, p->wg_pubkey, sizeof(p->wg_pubkey));
		if (!r)
			r = buf_putc(out, '"');
	}
	if (!r && stats && p->wg.valid) {
		r = buf_printf(out, ",\"wg\":{\"latest_handshake\":%llu,"
		    "\"handshake_age\":", (unsigned long long)p->wg.latest_handshake);
		if (!r)
			r = p->wg.latest_handshake ? buf_printf(out, "%llu",
			    (unsigned long long)p->wg.handshake_age) :
			    buf_puts(out, "null");
		if (!r)
			r = buf_printf(out, ",\"rx_bytes\":%llu,\"tx_bytes\":%llu}",
			    (unsigned long long)p->wg.rx_bytes,
			    (unsigned long long)p->wg.tx_bytes);
	}
	return r;
}

/* One peer's record; stats false leaves out the volatile `wg` figures. */
static int
json_peer(const struct peer *p, bool stats, struct buf *out)
{
	size_t len;
	int r;

	if (!str_bounded(p->endpoint, ENDPOINT_MAX, &len))
		return -EINVAL;
	if (p->net != PEER_NET_TLS && p->net != PEER_NET_WIREGUARD)
		return -EINVAL;
	r = buf_printf(out, "{\"token_id\":%llu,\"instance_id\":\"",
	    (unsigned long long)p->token_id);
	if (!r)
		r = put_hex(out, p->instance_id, sizeof(p->instance_id), false);
	if (!r)
		r = buf_puts(out, "\",\"address\":\"");
	if (!r)
		r = put_hex(out, p->address, sizeof(p->address), true);
	if (!r)
		r = buf_printf(out, "\",\"network\":\"%s\",\"endpoint\":",
		    p->net == PEER_NET_TLS ? "tls" : "wireguard");
	if (!r)
		r = put_json_string(out, p->endpoint);
	/*
	 * No last_heartbeat here: heartbeats must not change the file, since
	 * every change of peers.json raises an inotify event (the file lists
	 * live peers only, which is what the heartbeat decides).
	 */
	if (!r)
		r = json_peer_wg(p, stats, out);
	return r ? r : buf_putc(out, '}');
}

int
snapshot_render_json_peer(const struct peer *p, struct buf *out)
{
	return json_peer(p, true, out);
}

static int
render_json(const struct snapshot *s, bool stats, struct buf *out)
{
	size_t i;
	int r;

	r = buf_putc(out, '[');
	for (i = 0; !r && i < s->npeers; i++) {
		r = buf_puts(out, i ? ",\n" : "\n");
		if (!r)
			r = json_peer(&s->peers[i], stats, out);
	}
	if (!r)
		r = buf_puts(out, s->npeers ? "\n]\n" : "]\n");
	return r;
}

static int
cmp_token(const void *a, const void *b)
{
	const struct peer *x = a, *y = b;

	return x->token_id < y->token_id ? -1 : x->token_id > y->token_id;
}

static int
render_files(struct snapshot *s)
{
	size_t i;
	int r = 0;

	for (i = 0; !r && i < s->npeers; i++) {
		r = snapshot_render_connection(&s->peers[i], &s->peers_txt);
		if (!r)
			r = buf_putc(&s->peers_txt, '\n');
	}
	if (!r && s->npeers > 0) {
		r = snapshot_render_connection(&s->peers[0], &s->leader_txt);
		if (!r)
			r = buf_putc(&s->leader_txt, '\n');
	}
	if (!r)
		r = render_json(s, true, &s->json_txt);
	if (!r)
		r = render_json(s, false, &s->json_key);
	return r;
}

static void
snapshot_free(struct snapshot *s)
{
	buf_release(&s->peers_txt);
	buf_release(&s->leader_txt);
	buf_release(&s->json_txt);
	buf_release(&s->json_key);
	free(s->peers);
	free(s);
}

int
snapshot_new(const struct peer *peers, size_t n, uint64_t generation,
    struct snapshot **ret_snap)
{
	struct snapshot *s;
	size_t i, len;
	int r;

	if (n > PEERS_MAX)
		return -E2BIG;
	for (i = 0; i < n; i++)
		if (!str_bounded(peers[i].endpoint, ENDPOINT_MAX, &len))
			return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->refs = 1;
	s->generation = generation;
	buf_init(&s->peers_txt, SNAPSHOT_PEERS_MAX);
	buf_init(&s->leader_txt, SNAPSHOT_LEADER_MAX);
	buf_init(&s->json_txt, SNAPSHOT_JSON_MAX);
	buf_init(&s->json_key, SNAPSHOT_JSON_MAX);
	if (n > 0) {
		s->peers = malloc(n * sizeof(*peers));
		if (!s->peers) {
			r = -ENOMEM;
			goto out_free;
		}
		memcpy(s->peers, peers, n * sizeof(*peers));
		qsort(s->peers, n, sizeof(*peers), cmp_token);
	}
	s->npeers = n;
	for (i = 1; i < n; i++)
		if (s->peers[i].token_id == s->peers[i - 1].token_id) {
			r = -EINVAL;
			goto out_free;
		}
	r = render_files(s);
	if (r < 0)
		goto out_free;
	*ret_snap = s;
	return 0;
out_free:
	snapshot_free(s);
	return r;
}

struct snapshot *
snapshot_ref(struct snapshot *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void
snapshot_unref(struct snapshot *s)
{
	if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		snapshot_free(s);
}

static int
put_kv_hex(struct buf *out, const char *key, const uint8_t *p, size_t n,
    bool prefix)
{
	int r = buf_printf(out, "%s=", key);

	if (!r)
		r = put_hex(out, p, n, prefix);
	return r ? r : buf_putc(out, '\n');
}

static int
self_optional(const struct snapshot_self *s, struct buf *out)
{
	int r = 0;

	if (s->has_mesh_ip) {
		r = buf_puts(out, "mesh_ip=");
		if (!r)
			r = put_ip(out, s->mesh_ip);
		if (!r)
			r = buf_putc(out, '\n');
	}
	if (!r && s->has_wg) {
		r = buf_puts(out, "wg_public_key=");
		if (!r)
			r = put_base64(out, s->wg_pubkey, sizeof(s->wg_pubkey));
		if (!r)
			r = buf_putc(out, '\n');
	}
	return r;
}

int
snapshot_render_self(const struct snapshot_self *s, struct buf *out)
{
	size_t len;
	int r;

	if (!str_bounded(s->endpoint, ENDPOINT_MAX, &len) ||
	    memchr(s->endpoint, '\n', len) || !note_ok(s->registration))
		return -EINVAL;
	if (s->mode != PEER_NET_TLS && s->mode != PEER_NET_WIREGUARD)
		return -EINVAL;
	r = put_kv_hex(out, "instance_id", s->instance_id, 20, false);
	if (!r)
		r = put_kv_hex(out, "app_id", s->app_id, 20, false);
	if (!r)
		r = put_kv_hex(out, "address", s->address, 20, true);
	if (!r && s->has_token)
		r = buf_printf(out, "token_id=%llu\n",
		    (unsigned long long)s->token_id);
	if (!r)
		r = buf_printf(out, "endpoint=%s\nmode=%s\n", s->endpoint,
		    s->mode == PEER_NET_TLS ? "tls" : "wireguard");
	if (!r)
		r = self_optional(s, out);
	if (!r)
		r = put_kv_hex(out, "contract", s->contract, 20, true);
	if (!r)
		r = buf_printf(out, "chain_id=%llu\nregistration=%s\n",
		    (unsigned long long)s->chain_id,
		    s->registration && *s->registration ? s->registration :
		    "unknown");
	return r;
}

int
snapshot_render_status(const struct snapshot_status *s, struct buf *out)
{
	if (!note_ok(s->rpc_url) || !note_ok(s->last_error))
		return -EINVAL;
	return buf_printf(out, "chain_head=%llu\nsynced_block=%llu\nrpc=%s\n"
	    "last_error=%s\ngeneration=%llu\nstale=%d\nlow_balance=%d\n",
	    (unsigned long long)s->chain_head,
	    (unsigned long long)s->synced_block,
	    s->rpc_url ? s->rpc_url : "", s->last_error ? s->last_error : "",
	    (unsigned long long)s->generation, s->stale ? 1 : 0,
	    s->low_balance ? 1 : 0);
}

static const char *const reg_state_names[] = {
	[SNAPSHOT_REG_UNREGISTERED] = "unregistered",
	[SNAPSHOT_REG_PENDING] = "pending",
	[SNAPSHOT_REG_REGISTERED] = "registered",
	[SNAPSHOT_REG_LEAVING] = "leaving",
	[SNAPSHOT_REG_FAILED] = "failed",
};

int
snapshot_render_register(const struct snapshot_reg *g, struct buf *out)
{
	const char *name;
	int r;

	if ((unsigned int)g->state >= sizeof(reg_state_names) /
	    sizeof(reg_state_names[0]) || !note_ok(g->reason))
		return -EINVAL;
	r = buf_printf(out, "state=%s\n", reg_state_names[g->state]);
	if (!r && g->state == SNAPSHOT_REG_REGISTERED) {
		r = buf_printf(out, "token_id=%llu\n",
		    (unsigned long long)g->token_id);
		if (!r)
			r = put_kv_hex(out, "tx", g->tx_hash, 32, true);
		if (!r)
			r = buf_printf(out, "block=%llu\n",
			    (unsigned long long)g->block);
	}
	if (!r && g->state == SNAPSHOT_REG_FAILED) {
		name = g->error > 0 ? strerrorname_np(g->error) : NULL;
		r = buf_printf(out, "errno=%d\nerror=%s\nreason=%s\n",
		    g->error, name ? name : "", g->reason ? g->reason : "");
	}
	return r;
}
