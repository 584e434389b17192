/*
 * peerset: the watcher's pure state machine.  Event decoding from logs built
 * with the abi encoder, event sequences, the TTL boundary, validation and
 * mesh addressing, getPeers() pages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "abi.h"
#include "hex.h"
#include "peerset.h"

/* Topic-0 of each event, from Foundry `cast sig-event` 1.7 (an independent
 * Keccak implementation) over the signatures of the contract ABI in
 * contracts/out; Transfer's is the well-known ERC-20/721 topic. */
static const char *const topic_kat[PEERSET_EV_COUNT] = {
	"95c45e3edff988d6f75a4671a853f36122b06ef40a2467c0d3e14e94de7212e3",
	"147152f438cea2aac588063357f3f2af77e62845639c789a021dba476292fc71",
	"e6d4caaf4a0bccb797e54cf848bb5a474dae2075a50dc391b0813cd78d35537b",
	"26247d0cee756145d9e9d92f74afc19248671469bf2075e5f48548f3b3d56fde",
	"9e11308af052c74422da87a2e47f8296b26990cec53a0acffb568b0cbe9e6acc",
	"994e23a65a37b6bd0a581cfe971b82d02b61c9ce312a94e49025d510025bf69c",
	"ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
};

static const uint8_t contract[20] = { 0xc0, 0x17, 0x2a, 0xc7 };

static void
test_topics(void **state)
{
	const uint8_t (*t)[32] = peerset_event_topics();
	uint8_t want[32];

	(void)state;
	for (size_t i = 0; i < PEERSET_EV_COUNT; i++) {
		assert_int_equal(hex_decode_exact(topic_kat[i], 64, want, 32), 0);
		assert_memory_equal(t[i], want, 32);
	}
}

static void
slot_u64(uint8_t slot[32], uint64_t v)
{
	memset(slot, 0, 32);
	for (int i = 0; i < 8; i++)
		slot[31 - i] = (uint8_t)(v >> (8 * i));
}

/* A log of kind k for token with the given data (copied, caller frees). */
static void
mklog(struct jsonrpc_log *l, enum peerset_ev_kind k, uint64_t token, uint64_t block,
      uint64_t index, const uint8_t *data, size_t len)
{
	const uint8_t (*t)[32] = peerset_event_topics();

	memset(l, 0, sizeof(*l));
	memcpy(l->address, contract, 20);
	memcpy(l->topics[0], t[k], 32);
	l->n_topics = 4;
	if (k == PEERSET_EV_HEARTBEAT)
		l->n_topics = 3;
	if (k == PEERSET_EV_TTL)
		l->n_topics = 1;
	if (k == PEERSET_EV_TRANSFER) {
		slot_u64(l->topics[1], 0);	/* from: set by caller */
		slot_u64(l->topics[2], 0);
		slot_u64(l->topics[3], token);
	} else if (l->n_topics > 1) {
		slot_u64(l->topics[1], token);
		slot_u64(l->topics[2], 0x1234);		/* key address */
		memset(l->topics[3], 0, 32);
		l->topics[3][0] = 0x16;			/* instance id, left-aligned */
		l->topics[3][19] = (uint8_t)token;
	}
	l->block_number = block;
	l->log_index = index;
	if (len) {
		l->data = malloc(len);
		assert_non_null(l->data);
		memcpy(l->data, data, len);
		l->data_len = len;
	}
}

/* Data of PeerRegistered/PeerUpdated. */
static void
record_data(struct buf *out, unsigned net, uint8_t wgbyte, const char *ep, size_t eplen)
{
	struct abi_enc e;
	uint8_t wg[32] = { 0 };

	wg[0] = wgbyte;
	abi_enc_init(&e, 4096);
	abi_enc_uint64(&e, net);
	abi_enc_bytes32(&e, wg);
	abi_enc_string(&e, ep, eplen);
	buf_init(out, 8192);
	assert_int_equal(abi_enc_finish(&e, NULL, out), 0);
	abi_enc_release(&e);
}

static struct peerset_config tls_cfg = { .mode = PEER_NET_TLS };

/* Decode and apply one registration of token at block time ts. */
static int
register_tls(struct peerset *ps, uint64_t token, const char *ep, uint64_t ts)
{
	struct jsonrpc_log l;
	struct peerset_event ev;
	struct buf d;
	int r;

	record_data(&d, PEER_NET_TLS, 0, ep, strlen(ep));
	mklog(&l, PEERSET_EV_REGISTERED, token, 10, 0, d.data, d.len);
	buf_release(&d);
	r = peerset_decode_log(&l, contract, &ev);
	free(l.data);
	if (r < 0)
		return r;
	return peerset_apply(ps, &ev, ts);
}

static int
simple_event(struct peerset *ps, enum peerset_ev_kind k, uint64_t token, uint64_t value)
{
	struct jsonrpc_log l;
	struct peerset_event ev;
	uint8_t data[32];
	int r;

	slot_u64(data, value);
	mklog(&l, k, token, 11, 1, data,
	      k == PEERSET_EV_HEARTBEAT || k == PEERSET_EV_TTL ? 32 : 0);
	if (k == PEERSET_EV_TRANSFER)
		slot_u64(l.topics[1], value);	/* from */
	r = peerset_decode_log(&l, contract, &ev);
	free(l.data);
	if (r < 0)
		return r;
	return peerset_apply(ps, &ev, 0);
}

static void
test_decode_registered(void **state)
{
	struct jsonrpc_log l;
	struct peerset_event ev;
	struct buf d;

	(void)state;
	record_data(&d, PEER_NET_WIREGUARD, 0xab, "10.0.0.5:51820", 14);
	mklog(&l, PEERSET_EV_REGISTERED, 7, 42, 3, d.data, d.len);
	assert_int_equal(peerset_decode_log(&l, contract, &ev), 0);
	assert_int_equal(ev.kind, PEERSET_EV_REGISTERED);
	assert_int_equal(ev.token_id, 7);
	assert_int_equal(ev.block_number, 42);
	assert_int_equal(ev.log_index, 3);
	assert_string_equal(ev.rec.endpoint, "10.0.0.5:51820");
	assert_int_equal(ev.rec.net, PEER_NET_WIREGUARD);
	assert_true(ev.rec.has_wg);
	assert_int_equal(ev.rec.wg_pubkey[0], 0xab);
	assert_int_equal(ev.rec.instance_id[0], 0x16);
	assert_int_equal(ev.rec.instance_id[19], 7);
	assert_int_equal(ev.rec.address[18], 0x12);
	assert_int_equal(ev.rec.address[19], 0x34);

	/* another contract's log is not ours */
	l.address[0] ^= 1;
	assert_int_equal(peerset_decode_log(&l, contract, &ev), -ENOENT);
	l.address[0] ^= 1;
	/* a topic missing */
	l.n_topics = 3;
	assert_int_equal(peerset_decode_log(&l, contract, &ev), -EBADMSG);
	l.n_topics = 4;
	/* a dirty address topic */
	l.topics[2][0] = 1;
	assert_int_equal(peerset_decode_log(&l, contract, &ev), -EBADMSG);
	l.topics[2][0] = 0;
	/* a token id past 64 bits */
	l.topics[1][0] = 1;
	assert_int_equal(peerset_decode_log(&l, contract, &ev), -ERANGE);
	l.topics[1][0] = 0;
	/* truncated data */
	l.data_len = 64;
	assert_int_equal(peerset_decode_log(&l, contract, &ev), -EBADMSG);
	free(l.data);
	buf_release(&d);

	/* an endpoint holding NUL, one too long, a bad network type */
	record_data(&d, PEER_NET_TLS, 0, "https://a\0b", 11);
	mklog(&l, PEERSET_EV_UPDATED, 1, 1, 0, d.data, d.len);
	assert_int_equal(peerset_decode_log(&l, contract, &ev), -EBADMSG);
	free(l.data);
	buf_release(&d);
	char big[ENDPOINT_MAX + 2];
	memset(big, 'a', sizeof(big));
	record_data(&d, PEER_NET_TLS, 0, big, sizeof(big));
	mklog(&l, PEERSET_EV_UPDATED, 1, 1, 0, d.data, d.len);
	assert_int_equal(peerset_decode_log(&l, contract, &ev), -EBADMSG);
	free(l.data);
	buf_release(&d);
	record_data(&d, 2, 0, "https://a", 9);
	mklog(&l, PEERSET_EV_UPDATED, 1, 1, 0, d.data, d.len);
	assert_int_equal(peerset_decode_log(&l, contract, &ev), -EBADMSG);
	free(l.data);
	buf_release(&d);
}

static void
test_liveness_boundary(void **state)
{
	(void)state;
	/* mirrors isLive(): lastHeartbeat + ttl >= block.timestamp */
	assert_true(peerset_is_live(100, 60, 100));
	assert_true(peerset_is_live(100, 60, 160));
	assert_false(peerset_is_live(100, 60, 161));
	assert_true(peerset_is_live(100, 60, 50));	/* clock behind: live */
	assert_true(peerset_is_live(UINT64_MAX - 1, UINT64_MAX, UINT64_MAX));
	assert_false(peerset_is_live(0, 0, 1));
}

static size_t
live_tokens(const struct peerset *ps, uint64_t now, uint64_t *tok, size_t cap)
{
	struct peer out[16];
	size_t n;

	assert_int_equal(peerset_live(ps, now, out, 16, &n), 0);
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++)
		tok[i] = out[i].token_id;
	return n;
}

static void
test_sequence(void **state)
{
	struct peerset ps;
	uint64_t tok[8];

	(void)state;
	peerset_init(&ps, &tls_cfg);
	assert_int_equal(simple_event(&ps, PEERSET_EV_TTL, 0, 60), 1);
	assert_int_equal(ps.ttl, 60);
	assert_int_equal(register_tls(&ps, 3, "https://c.example", 1000), 1);
	assert_int_equal(register_tls(&ps, 1, "https://a.example", 1000), 1);
	assert_int_equal(register_tls(&ps, 2, "https://b.example", 1010), 1);
	/* ordered by token id, whatever the arrival order */
	assert_int_equal(live_tokens(&ps, 1050, tok, 8), 3);
	assert_int_equal(tok[0], 1);
	assert_int_equal(tok[1], 2);
	assert_int_equal(tok[2], 3);
	/* TTL boundary: 1 and 3 expire at 1061, 2 at 1071, with no event */
	assert_int_equal(live_tokens(&ps, 1060, tok, 8), 3);
	assert_int_equal(peerset_next_expiry(&ps, 1060), 1061);
	assert_int_equal(live_tokens(&ps, 1061, tok, 8), 1);
	assert_int_equal(tok[0], 2);
	/* a heartbeat brings 3 back; the same heartbeat again changes nothing */
	assert_int_equal(simple_event(&ps, PEERSET_EV_HEARTBEAT, 3, 1065), 1);
	assert_int_equal(simple_event(&ps, PEERSET_EV_HEARTBEAT, 3, 1065), 0);
	assert_int_equal(live_tokens(&ps, 1070, tok, 8), 2);
	assert_int_equal(tok[0], 2);
	assert_int_equal(tok[1], 3);
	/* heartbeat of an unknown token: nothing */
	assert_int_equal(simple_event(&ps, PEERSET_EV_HEARTBEAT, 9, 1065), 0);
	/* a longer TTL revives 1 (contract: TTL applies to past heartbeats) */
	assert_int_equal(simple_event(&ps, PEERSET_EV_TTL, 0, 100), 1);
	assert_int_equal(live_tokens(&ps, 1070, tok, 8), 3);
	/* deregistration, revocation, burn */
	assert_int_equal(simple_event(&ps, PEERSET_EV_DEREGISTERED, 2, 0), 1);
	assert_int_equal(simple_event(&ps, PEERSET_EV_DEREGISTERED, 2, 0), 0);
	assert_int_equal(simple_event(&ps, PEERSET_EV_REVOKED, 3, 0), 1);
	assert_int_equal(live_tokens(&ps, 1070, tok, 8), 1);
	assert_int_equal(tok[0], 1);
	/* a mint (from zero) changes nothing, a burn (to zero) drops */
	assert_int_equal(simple_event(&ps, PEERSET_EV_TRANSFER, 1, 0), 0);
	assert_int_equal(simple_event(&ps, PEERSET_EV_TRANSFER, 1, 0x1234), 1);
	assert_int_equal(live_tokens(&ps, 1070, tok, 8), 0);
	assert_null(peerset_find(&ps, 1));
	/* re-registration after leaving: a new heartbeat time */
	assert_int_equal(register_tls(&ps, 2, "https://b2.example", 2000), 1);
	assert_int_equal(live_tokens(&ps, 2100, tok, 8), 1);
	assert_string_equal(peerset_find(&ps, 2)->p.endpoint, "https://b2.example");
	assert_int_equal(peerset_next_expiry(&ps, 2200), UINT64_MAX);
	peerset_release(&ps);
}

static void
reject_cb(void *arg, const struct peerset_entry *e)
{
	uint64_t *seen = arg;

	seen[e->p.token_id]++;
}

static void
test_validation(void **state)
{
	struct peerset ps;
	uint64_t tok[8], seen[8] = { 0 };

	(void)state;
	peerset_init(&ps, &tls_cfg);
	ps.ttl = 100;
	assert_int_equal(register_tls(&ps, 1, "https://ok.example", 10), 1);
	assert_int_equal(register_tls(&ps, 2, "http://plain.example", 10), 1);
	assert_int_equal(register_tls(&ps, 3, "https://-bad-.example", 10), 1);
	/* a byte outside the safe set never gets past the decoder */
	assert_int_equal(register_tls(&ps, 4, "https://a b", 10), -EBADMSG);
	assert_null(peerset_find(&ps, 4));
	assert_int_equal(live_tokens(&ps, 20, tok, 8), 1);
	assert_int_equal(tok[0], 1);
	assert_int_equal(peerset_find(&ps, 2)->reject, PEERSET_BAD_ENDPOINT);
	/* each rejection reported once, again after the record changes */
	peerset_report_rejects(&ps, reject_cb, seen);
	peerset_report_rejects(&ps, reject_cb, seen);
	assert_int_equal(seen[1], 0);
	assert_int_equal(seen[2], 1);
	assert_int_equal(seen[3], 1);
	assert_int_equal(register_tls(&ps, 2, "http://still-bad", 11), 1);
	peerset_report_rejects(&ps, reject_cb, seen);
	assert_int_equal(seen[2], 2);
	peerset_release(&ps);
}

/* WireGuard mode: token n is host n of the mesh network. */
static void
test_mesh(void **state)
{
	struct peerset_config cfg = { .mode = PEER_NET_WIREGUARD, .mesh_prefix = 24 };
	struct peerset ps;
	struct peerset_event ev;
	struct jsonrpc_log l;
	struct peer out[4];
	struct buf d;
	size_t n;
	char ip[INET_ADDRSTRLEN];

	(void)state;
	assert_int_equal(inet_pton(AF_INET, "10.0.1.0", &cfg.mesh_net), 1);
	peerset_init(&ps, &cfg);
	ps.ttl = 100;
	uint64_t tokens[] = { 5, 254, 255 };
	for (size_t i = 0; i < 3; i++) {
		record_data(&d, PEER_NET_WIREGUARD, 1, "peer.example:51820", 18);
		mklog(&l, PEERSET_EV_REGISTERED, tokens[i], 1, 0, d.data, d.len);
		assert_int_equal(peerset_decode_log(&l, contract, &ev), 0);
		assert_int_equal(peerset_apply(&ps, &ev, 10), 1);
		free(l.data);
		buf_release(&d);
	}
	/* no key: refused by the decoder; checked again here (a record that
	 * reaches the set some other way) */
	record_data(&d, PEER_NET_WIREGUARD, 0, "peer.example:51820", 18);
	mklog(&l, PEERSET_EV_REGISTERED, 6, 1, 0, d.data, d.len);
	assert_int_equal(peerset_decode_log(&l, contract, &ev), -EBADMSG);
	free(l.data);
	buf_release(&d);
	memset(&ev, 0, sizeof(ev));
	ev.kind = PEERSET_EV_REGISTERED;
	ev.token_id = 6;
	ev.rec.net = PEER_NET_WIREGUARD;
	memcpy(ev.rec.endpoint, "peer.example:51820", 19);
	assert_int_equal(peerset_apply(&ps, &ev, 10), 1);
	/* a TLS record in WireGuard mode */
	record_data(&d, PEER_NET_TLS, 0, "https://x.example", 17);
	mklog(&l, PEERSET_EV_REGISTERED, 7, 1, 0, d.data, d.len);
	assert_int_equal(peerset_decode_log(&l, contract, &ev), 0);
	assert_int_equal(peerset_apply(&ps, &ev, 10), 1);
	free(l.data);
	buf_release(&d);

	assert_int_equal(peerset_live(&ps, 20, out, 4, &n), 0);
	assert_int_equal(n, 2);
	inet_ntop(AF_INET, &out[0].mesh_ip, ip, sizeof(ip));
	assert_string_equal(ip, "10.0.1.5");
	inet_ntop(AF_INET, &out[1].mesh_ip, ip, sizeof(ip));
	assert_string_equal(ip, "10.0.1.254");
	assert_int_equal(peerset_find(&ps, 255)->reject, PEERSET_NO_MESH_IP);
	assert_int_equal(peerset_find(&ps, 6)->reject, PEERSET_BAD_WG_KEY);
	assert_int_equal(peerset_find(&ps, 7)->reject, PEERSET_WRONG_MODE);
	/* the output cap is an error, not a truncation */
	assert_int_equal(peerset_live(&ps, 20, out, 1, &n), -E2BIG);
	peerset_release(&ps);
}

/* Encode a getPeers() return: (PeerRecord[], uint256 next). */
static void
page(struct buf *out, const uint64_t *tok, size_t n, uint64_t next, const char *ep)
{
	struct abi_enc e;
	uint8_t inst[20] = { 0x16 }, key[20] = { 0xee }, wg[32] = { 0 };

	abi_enc_init(&e, 1 << 20);
	abi_enc_array_begin(&e);
	for (size_t i = 0; i < n; i++) {
		abi_enc_tuple_begin(&e);
		abi_enc_uint64(&e, tok[i]);
		abi_enc_address(&e, key);
		abi_enc_bytesN(&e, inst, 20);
		abi_enc_uint64(&e, PEER_NET_TLS);
		abi_enc_uint64(&e, 500 + tok[i]);
		abi_enc_bool(&e, true);
		abi_enc_bytes32(&e, wg);
		abi_enc_string(&e, ep, strlen(ep));
		abi_enc_end(&e);
	}
	abi_enc_end(&e);
	abi_enc_uint64(&e, next);
	buf_init(out, 1 << 20);
	assert_int_equal(abi_enc_finish(&e, NULL, out), 0);
	abi_enc_release(&e);
}

static void
test_page(void **state)
{
	struct peerset ps;
	struct buf b;
	uint64_t next, tok[8];
	uint64_t p1[] = { 1, 4 }, p2[] = { 7 }, dup[] = { 4 };

	(void)state;
	peerset_init(&ps, &tls_cfg);
	ps.ttl = 30;
	page(&b, p1, 2, 5, "https://p.example");
	assert_int_equal(peerset_add_page(&ps, b.data, b.len, &next), 0);
	assert_int_equal(next, 5);
	buf_release(&b);
	page(&b, p2, 1, 0, "https://q.example");
	assert_int_equal(peerset_add_page(&ps, b.data, b.len, &next), 0);
	assert_int_equal(next, 0);
	/* truncated: every length checked */
	assert_int_equal(peerset_add_page(&ps, b.data, b.len - 40, &next), -EBADMSG);
	buf_release(&b);
	assert_int_equal(ps.n, 3);
	assert_int_equal(peerset_find(&ps, 4)->p.last_heartbeat, 504);
	/* live judged by chain time from lastHeartbeat, not the page's flag */
	assert_int_equal(live_tokens(&ps, 534, tok, 8), 2);
	assert_int_equal(tok[0], 4);
	assert_int_equal(tok[1], 7);
	/* a page repeating a token is malformed */
	page(&b, dup, 1, 0, "https://p.example");
	assert_int_equal(peerset_add_page(&ps, b.data, b.len, &next), -EBADMSG);
	buf_release(&b);
	peerset_release(&ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topics),
		cmocka_unit_test(test_decode_registered),
		cmocka_unit_test(test_liveness_boundary),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_mesh),
		cmocka_unit_test(test_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
