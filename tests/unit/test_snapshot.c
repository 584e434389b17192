/*
 * test_snapshot: the peer snapshot and the renderers of every /p2p file,
 * plus the register write parser (fs_register_parse()).
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

#include "fs.h"
#include "snapshot.h"

static struct peer
tls_peer(uint64_t token, const char *endpoint)
{
	struct peer p;

	memset(&p, 0, sizeof(p));
	p.token_id = token;
	p.net = PEER_NET_TLS;
	p.instance_id[0] = 0x16;
	p.instance_id[19] = (uint8_t)token;
	p.address[0] = 0xab;
	p.address[19] = (uint8_t)token;
	p.last_heartbeat = 1700000000 + token;
	strcpy(p.endpoint, endpoint);	/* test data of known length */
	return p;
}

static void
test_sorted_peers_and_leader(void **state)
{
	struct peer in[3] = {
		tls_peer(30, "https://c.example"),
		tls_peer(4, "https://a.example:8443"),
		tls_peer(12, "https://b.example"),
	};
	struct snapshot *s;

	(void)state;
	assert_int_equal(snapshot_new(in, 3, 9, &s), 0);
	assert_int_equal(s->generation, 9);
	assert_int_equal(s->npeers, 3);
	assert_int_equal(s->peers[0].token_id, 4);
	assert_int_equal(s->peers[2].token_id, 30);
	assert_string_equal((char *)s->peers_txt.data,
	    "https://a.example:8443\nhttps://b.example\nhttps://c.example\n");
	assert_string_equal((char *)s->leader_txt.data, "https://a.example:8443\n");
	/* the caller's array is copied, not sorted in place */
	assert_int_equal(in[0].token_id, 30);
	snapshot_unref(s);
}

static void
test_empty_snapshot(void **state)
{
	struct snapshot *s;

	(void)state;
	assert_int_equal(snapshot_new(NULL, 0, 1, &s), 0);
	assert_int_equal(s->peers_txt.len, 0);
	assert_int_equal(s->leader_txt.len, 0);
	assert_int_equal(s->json_txt.len, 3);
	assert_memory_equal(s->json_txt.data, "[]\n", 3);
	snapshot_unref(s);
}

static void
test_same_set_same_bytes(void **state)
{
	struct peer a[2] = { tls_peer(1, "https://x"), tls_peer(2, "https://y") };
	struct peer b[2] = { tls_peer(2, "https://y"), tls_peer(1, "https://x") };
	struct snapshot *s1, *s2;

	(void)state;
	assert_int_equal(snapshot_new(a, 2, 1, &s1), 0);
	assert_int_equal(snapshot_new(b, 2, 2, &s2), 0);
	assert_int_equal(s1->json_txt.len, s2->json_txt.len);
	assert_memory_equal(s1->json_txt.data, s2->json_txt.data, s1->json_txt.len);
	assert_memory_equal(s1->peers_txt.data, s2->peers_txt.data, s1->peers_txt.len);
	snapshot_unref(s1);
	snapshot_unref(s2);
}

static void
test_bad_input(void **state)
{
	struct peer dup[2] = { tls_peer(5, "https://x"), tls_peer(5, "https://y") };
	struct peer unterminated = tls_peer(1, "https://x");
	struct peer badnet = tls_peer(1, "https://x");
	struct snapshot *s = (struct snapshot *)0x1;

	(void)state;
	assert_int_equal(snapshot_new(dup, 2, 1, &s), -EINVAL);
	memset(unterminated.endpoint, 'a', sizeof(unterminated.endpoint));
	assert_int_equal(snapshot_new(&unterminated, 1, 1, &s), -EINVAL);
	badnet.net = (enum peer_net)7;
	assert_int_equal(snapshot_new(&badnet, 1, 1, &s), -EINVAL);
	assert_int_equal(snapshot_new(dup, PEERS_MAX + 1, 1, &s), -E2BIG);
	assert_ptr_equal(s, (struct snapshot *)0x1);	/* untouched on failure */
}

static void
test_max_peers_longest_endpoints(void **state)
{
	struct peer *p = calloc(PEERS_MAX, sizeof(*p));
	struct snapshot *s;
	size_t i;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < PEERS_MAX; i++) {
		p[i].token_id = i + 1;
		memset(p[i].endpoint, 'e', ENDPOINT_MAX);
		p[i].endpoint[ENDPOINT_MAX] = '\0';
		p[i].has_wg = true;
		p[i].wg.valid = true;
		p[i].wg.rx_bytes = UINT64_MAX;
		p[i].wg.tx_bytes = UINT64_MAX;
		p[i].wg.latest_handshake = UINT64_MAX;
		p[i].last_heartbeat = UINT64_MAX;
		p[i].token_id = UINT64_MAX - i;
	}
	assert_int_equal(snapshot_new(p, PEERS_MAX, 1, &s), 0);
	assert_int_equal(s->peers_txt.len, (size_t)PEERS_MAX * (ENDPOINT_MAX + 1));
	assert_true(s->json_txt.len <= SNAPSHOT_JSON_MAX);
	snapshot_unref(s);
	free(p);
}

static void
test_refcount(void **state)
{
	struct snapshot *s;

	(void)state;
	assert_int_equal(snapshot_new(NULL, 0, 1, &s), 0);
	assert_ptr_equal(snapshot_ref(s), s);
	assert_int_equal(s->refs, 2);
	snapshot_unref(s);
	assert_int_equal(s->refs, 1);
	snapshot_unref(s);	/* frees: ASan/valgrind would catch a leak */
	snapshot_unref(NULL);
}

/*
 * WireGuard: connection string is the mesh IP; the key is standard base64.
 * Known answer: base64 (RFC 4648 section 4) of the bytes 0x00..0x1f.
 */
static void
test_wireguard_peer_json(void **state)
{
	struct peer p = tls_peer(3, "");
	struct buf b;
	size_t i;

	(void)state;
	p.net = PEER_NET_WIREGUARD;
	inet_pton(AF_INET, "10.0.1.3", &p.mesh_ip);
	p.has_wg = true;
	for (i = 0; i < 32; i++)
		p.wg_pubkey[i] = (uint8_t)i;
	p.wg.valid = true;
	p.wg.latest_handshake = 1700000100;
	p.wg.handshake_age = 7;
	p.wg.rx_bytes = 10;
	p.wg.tx_bytes = 20;
	buf_init(&b, 4096);
	assert_int_equal(snapshot_render_connection(&p, &b), 0);
	assert_string_equal((char *)b.data, "10.0.1.3");
	buf_reset(&b);
	assert_int_equal(snapshot_render_json_peer(&p, &b), 0);
	assert_string_equal((char *)b.data,
	    "{\"token_id\":3,"
	    "\"instance_id\":\"1600000000000000000000000000000000000003\","
	    "\"address\":\"0xab00000000000000000000000000000000000003\","
	    "\"network\":\"wireguard\",\"endpoint\":\"\","
	    "\"mesh_ip\":\"10.0.1.3\","
	    "\"wg_public_key\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
	    "\"wg\":{\"latest_handshake\":1700000100,\"handshake_age\":7,"
	    "\"rx_bytes\":10,\"tx_bytes\":20}}");
	/* never a handshake: age null, whatever the field holds */
	p.wg.latest_handshake = 0;
	buf_reset(&b);
	assert_int_equal(snapshot_render_json_peer(&p, &b), 0);
	assert_non_null(strstr((char *)b.data,
	    "\"wg\":{\"latest_handshake\":0,\"handshake_age\":null,"
	    "\"rx_bytes\":10,\"tx_bytes\":20}}"));
	buf_release(&b);
}

static struct peer
wg_peer(uint64_t token)
{
	struct peer p = tls_peer(token, "127.0.0.1:51820");

	p.net = PEER_NET_WIREGUARD;
	p.mesh_ip.s_addr = htonl(0x0a000100u + (uint32_t)token);
	p.has_wg = true;
	memset(p.wg_pubkey, (int)token, sizeof(p.wg_pubkey));
	return p;
}

static bool
buf_eq(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->data, b->data, a->len) == 0);
}

/*
 * The change key: WireGuard figures change the served bytes, not the key;
 * a membership change (another peer, another key) changes the key.
 */
static void
test_json_change_key(void **state)
{
	struct peer p[2] = { wg_peer(1), wg_peer(2) };
	struct snapshot *plain, *stats, *stats2, *other;

	(void)state;
	assert_int_equal(snapshot_new(p, 2, 1, &plain), 0);
	/* no figures: the key is the file */
	assert_true(buf_eq(&plain->json_txt, &plain->json_key));
	p[1].wg.valid = true;
	p[1].wg.latest_handshake = 1700000000;
	p[1].wg.handshake_age = 3;
	p[1].wg.rx_bytes = 148;
	p[1].wg.tx_bytes = 92;
	assert_int_equal(snapshot_new(p, 2, 1, &stats), 0);
	p[1].wg.handshake_age = 8;
	p[1].wg.rx_bytes = 4000;
	assert_int_equal(snapshot_new(p, 2, 1, &stats2), 0);
	assert_false(buf_eq(&plain->json_txt, &stats->json_txt));
	assert_false(buf_eq(&stats->json_txt, &stats2->json_txt));
	assert_non_null(strstr((const char *)stats->json_txt.data,
	    "\"wg\":{\"latest_handshake\":1700000000,\"handshake_age\":3,"
	    "\"rx_bytes\":148,\"tx_bytes\":92}"));
	assert_null(strstr((const char *)stats->json_key.data, "\"wg\":"));
	assert_true(buf_eq(&plain->json_key, &stats->json_key));
	assert_true(buf_eq(&stats->json_key, &stats2->json_key));
	/* another key for peer 2: a membership change */
	p[1].wg_pubkey[0] ^= 1;
	assert_int_equal(snapshot_new(p, 2, 2, &other), 0);
	assert_false(buf_eq(&stats->json_key, &other->json_key));
	snapshot_unref(other);
	/* one peer fewer */
	assert_int_equal(snapshot_new(p, 1, 3, &other), 0);
	assert_false(buf_eq(&stats->json_key, &other->json_key));
	snapshot_unref(other);
	snapshot_unref(stats2);
	snapshot_unref(stats);
	snapshot_unref(plain);
}

static void
test_json_escaping(void **state)
{
	struct peer p = tls_peer(1, "a\"b\\c\x01\x7f");
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(snapshot_render_json_peer(&p, &b), 0);
	assert_non_null(strstr((char *)b.data,
	    "\"endpoint\":\"a\\\"b\\\\c\\u0001\\u007f\""));
	buf_release(&b);
}

static void
test_render_caps(void **state)
{
	struct peer p = tls_peer(1, "https://a.example");
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(snapshot_render_json_peer(&p, &b), -E2BIG);
	buf_release(&b);
}

static void
test_self(void **state)
{
	struct snapshot_self s;
	struct buf b;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.instance_id[0] = 0x16;
	s.app_id[19] = 0x56;
	s.address[0] = 0xff;
	s.has_token = true;
	s.token_id = 7;
	strcpy(s.endpoint, "https://me.example");
	s.mode = PEER_NET_WIREGUARD;
	s.has_mesh_ip = true;
	inet_pton(AF_INET, "10.0.1.7", &s.mesh_ip);
	s.has_wg = true;
	s.contract[19] = 1;
	s.chain_id = 31337;
	s.registration = "registered";
	buf_init(&b, SNAPSHOT_TEXT_MAX);
	assert_int_equal(snapshot_render_self(&s, &b), 0);
	assert_string_equal((char *)b.data,
	    "instance_id=1600000000000000000000000000000000000000\n"
	    "app_id=0000000000000000000000000000000000000056\n"
	    "address=0xff00000000000000000000000000000000000000\n"
	    "token_id=7\n"
	    "endpoint=https://me.example\n"
	    "mode=wireguard\n"
	    "mesh_ip=10.0.1.7\n"
	    "wg_public_key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	    "contract=0x0000000000000000000000000000000000000001\n"
	    "chain_id=31337\n"
	    "registration=registered\n");
	assert_null(strstr((char *)b.data, "private"));
	buf_reset(&b);
	s.registration = "bad\nline";
	assert_int_equal(snapshot_render_self(&s, &b), -EINVAL);
	buf_release(&b);
}

static void
test_status(void **state)
{
	struct snapshot_status st = {
		.chain_head = 120, .synced_block = 118,
		.rpc_url = "http://127.0.0.1:8545", .last_error = NULL,
		.generation = 5, .stale = true, .low_balance = false,
	};
	struct buf b;

	(void)state;
	buf_init(&b, SNAPSHOT_TEXT_MAX);
	assert_int_equal(snapshot_render_status(&st, &b), 0);
	assert_string_equal((char *)b.data,
	    "chain_head=120\nsynced_block=118\nrpc=http://127.0.0.1:8545\n"
	    "last_error=\ngeneration=5\nstale=1\nlow_balance=0\n");
	st.last_error = "x\r";
	assert_int_equal(snapshot_render_status(&st, &b), -EINVAL);
	buf_release(&b);
}

static void
test_register_text(void **state)
{
	struct snapshot_reg r = { .state = SNAPSHOT_REG_REGISTERED, .token_id = 2,
	    .block = 77 };
	struct buf b;

	(void)state;
	r.tx_hash[31] = 0x0f;
	buf_init(&b, SNAPSHOT_TEXT_MAX);
	assert_int_equal(snapshot_render_register(&r, &b), 0);
	assert_string_equal((char *)b.data, "state=registered\ntoken_id=2\n"
	    "tx=0x000000000000000000000000000000000000000000000000000000000000000f\n"
	    "block=77\n");
	buf_reset(&b);
	memset(&r, 0, sizeof(r));
	r.state = SNAPSHOT_REG_FAILED;
	r.error = EHOSTUNREACH;
	r.reason = "rpc down";
	assert_int_equal(snapshot_render_register(&r, &b), 0);
	assert_non_null(strstr((char *)b.data, "state=failed\n"));
	assert_non_null(strstr((char *)b.data, "error=EHOSTUNREACH\nreason=rpc down\n"));
	buf_reset(&b);
	r.state = (enum snapshot_reg_state)99;
	assert_int_equal(snapshot_render_register(&r, &b), -EINVAL);
	buf_release(&b);
}

static void
test_register_parse(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		int ret;
		enum fs_reg_op op;
	} v[] = {
		{ "", 0, 0, FS_REG_REGISTER },
		{ "\n", 1, 0, FS_REG_REGISTER },
		{ "register", 8, 0, FS_REG_REGISTER },
		{ "register\n", 9, 0, FS_REG_REGISTER },
		{ "1", 1, 0, FS_REG_REGISTER },
		{ "1\n", 2, 0, FS_REG_REGISTER },
		{ "leave", 5, 0, FS_REG_LEAVE },
		{ "leave\n", 6, 0, FS_REG_LEAVE },
		{ "leave\n\n", 7, -EINVAL, 0 },
		{ "register\r\n", 10, -EINVAL, 0 },
		{ "Register", 8, -EINVAL, 0 },
		{ "1 ", 2, -EINVAL, 0 },
		{ " 1", 2, -EINVAL, 0 },
		{ "0", 1, -EINVAL, 0 },
		{ "registe", 7, -EINVAL, 0 },
		{ "register\0", 9, -EINVAL, 0 },
		{ "leaveX", 6, -EINVAL, 0 },
	};
	enum fs_reg_op op;
	uint8_t big[FS_REGISTER_WRITE_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		op = (enum fs_reg_op)42;
		assert_int_equal(fs_register_parse((const uint8_t *)v[i].in,
		    v[i].len, &op), v[i].ret);
		if (v[i].ret == 0)
			assert_int_equal(op, v[i].op);
		else
			assert_int_equal(op, 42);	/* untouched */
	}
	memset(big, '\n', sizeof(big));
	assert_int_equal(fs_register_parse(big, sizeof(big), &op), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_peers_and_leader),
		cmocka_unit_test(test_empty_snapshot),
		cmocka_unit_test(test_same_set_same_bytes),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_max_peers_longest_endpoints),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_wireguard_peer_json),
		cmocka_unit_test(test_json_change_key),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_render_caps),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_register_text),
		cmocka_unit_test(test_register_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
