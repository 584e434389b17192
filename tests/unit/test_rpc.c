/*
 * rpc against a real anvil on 127.0.0.1, plus tiny canned HTTP servers (a
 * forked child on a free loopback port) for failure modes anvil cannot show.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "abi.h"
#include "anvil_fixture.h"
#include "buf.h"
#include "ethkey.h"
#include "hex.h"
#include "rpc.h"
#include "tx.h"

static struct anvil chain;
static struct rpc *cli;
static uint8_t contract[20];	/* deployed by test_deploy_and_call */
static int have_contract;

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(hex_decode_exact(s, strlen(s), out, n), 0);
}

static int
setup(void **state)
{
	const char *url;

	(void)state;
	anvil_start(&chain, NULL);
	url = chain.url;
	if (rpc_new(&url, 1, NULL, &cli) < 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rpc_free(cli);
	anvil_stop(&chain);
	ethkey_global_free();
	return 0;
}

/* ---- canned HTTP server ---- */

struct canned {
	pid_t pid;
	char url[64];
};

/* Serve 'response' (raw HTTP, or silence when NULL) to every connection. */
static void
canned_start(struct canned *s, const char *response, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint16_t port = anvil_free_port();
	char req[8192];
	int lfd, fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)), 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u/", port);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			if (read(fd, req, sizeof(req)) > 0 && response) {
				size_t off = 0;
				ssize_t w;

				while (off < len && (w = write(fd, response + off, len - off)) > 0)
					off += (size_t)w;
			}
			if (!response) {
				sleep(30);	/* silence until the client times out */
			}
			close(fd);
		}
	}
	close(lfd);
}

static void
canned_stop(struct canned *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
}

/* ---- helpers ---- */

static void
wait_receipt(const uint8_t hash[32], struct jsonrpc_receipt *rc)
{
	int i, r;

	for (i = 0; i < 100; i++) {
		r = rpc_get_receipt(cli, hash, rc);
		if (r != -ENOENT) {
			assert_int_equal(r, 0);
			return;
		}
		usleep(100 * 1000);
	}
	fail_msg("no receipt after 10 s");
}

/* Sign t with sk, send it, check the node reports our hash, wait for it. */
static void
send_and_wait(struct tx *t, const char *sk_hex, struct jsonrpc_receipt *rc)
{
	uint8_t sk[32], h[32], node_h[32];
	struct jsonrpc_error err;
	struct buf raw;
	int r;

	unhex(sk_hex, sk, 32);
	buf_init(&raw, TX_MAX_RAW);
	assert_int_equal(tx_sign(t, sk, &raw, h), 0);
	explicit_bzero(sk, sizeof(sk));
	r = rpc_send_raw_transaction(cli, raw.data, raw.len, node_h, &err);
	if (r == -EREMOTEIO)
		fail_msg("node refused the transaction: %s", err.message);
	assert_int_equal(r, 0);
	assert_memory_equal(h, node_h, 32);
	buf_release(&raw);
	wait_receipt(h, rc);
	assert_memory_equal(rc->tx_hash, h, 32);
}

/* ---- tests ---- */

static void
test_chain_basics(void **state)
{
	struct jsonrpc_block b, b0;
	uint8_t addr[20], bal[32], want[32] = { 0 };
	uint64_t v;

	(void)state;
	assert_int_equal(rpc_chain_id(cli, &v), 0);
	assert_int_equal(v, ANVIL_CHAIN_ID);
	assert_int_equal(rpc_block_number(cli, &v), 0);
	assert_int_equal(rpc_get_block(cli, RPC_AT_LATEST, &b), 0);
	assert_int_equal(b.number, v);
	assert_true(b.has_base_fee);
	assert_int_equal(rpc_get_block(cli, RPC_AT_NUMBER(0), &b0), 0);
	assert_int_equal(b0.number, 0);
	assert_int_equal(rpc_get_block(cli, (struct rpc_block_id){ RPC_FINALIZED, 0 }, &b0), 0);
	assert_int_equal(rpc_get_block(cli, RPC_AT_NUMBER(1000000), &b0), -ENOENT);
	/* anvil funds each dev account with 10000 ether = 0x21e19e0c9bab2400000 wei */
	unhex(ANVIL_ADDR0, addr, 20);
	unhex("021e19e0c9bab2400000", want + 22, 10);
	assert_int_equal(rpc_get_balance(cli, addr, RPC_AT_NUMBER(0), bal), 0);
	assert_memory_equal(bal, want, 32);
	assert_int_equal(rpc_gas_price(cli, &v), 0);
	assert_true(v > 0);
	assert_int_equal(rpc_max_priority_fee(cli, &v), 0);
}

static void
test_signed_transfer_mined_from_sender(void **state)
{
	struct jsonrpc_receipt rc;
	struct jsonrpc_block b;
	uint8_t from[20];
	uint64_t nonce, after;
	struct tx t;

	(void)state;
	unhex(ANVIL_ADDR1, from, 20);
	assert_int_equal(rpc_get_transaction_count(cli, from, RPC_AT_PENDING, &nonce), 0);
	assert_int_equal(rpc_get_block(cli, RPC_AT_LATEST, &b), 0);
	memset(&t, 0, sizeof(t));
	t.type = TX_EIP1559;
	t.chain_id = ANVIL_CHAIN_ID;
	t.nonce = nonce;
	t.max_priority_fee = 1000000000;
	t.max_fee = 2 * b.base_fee + t.max_priority_fee;
	t.gas = 21000;
	unhex(ANVIL_ADDR0, t.to, 20);
	t.value[31] = 7;
	send_and_wait(&t, ANVIL_SK1, &rc);
	assert_true(rc.status);
	assert_memory_equal(rc.from, from, 20);
	assert_int_equal(rc.gas_used, 21000);
	jsonrpc_receipt_release(&rc);
	assert_int_equal(rpc_get_transaction_count(cli, from, RPC_AT_PENDING, &after), 0);
	assert_int_equal(after, nonce + 1);

	/* and a legacy EIP-155 one */
	memset(&t, 0, sizeof(t));
	t.type = TX_LEGACY;
	t.chain_id = ANVIL_CHAIN_ID;
	t.nonce = after;
	assert_int_equal(rpc_gas_price(cli, &t.gas_price), 0);
	t.gas = 21000;
	unhex(ANVIL_ADDR0, t.to, 20);
	send_and_wait(&t, ANVIL_SK1, &rc);
	assert_true(rc.status);
	assert_memory_equal(rc.from, from, 20);
	jsonrpc_receipt_release(&rc);
}

static void
deploy(void)
{
	struct jsonrpc_receipt rc;
	uint8_t from[20];
	uint64_t gas_price;
	struct tx t;

	if (have_contract)
		return;
	unhex(ANVIL_ADDR0, from, 20);
	memset(&t, 0, sizeof(t));
	t.type = TX_LEGACY;
	t.chain_id = ANVIL_CHAIN_ID;
	assert_int_equal(rpc_get_transaction_count(cli, from, RPC_AT_PENDING, &t.nonce), 0);
	assert_int_equal(rpc_gas_price(cli, &gas_price), 0);
	t.gas_price = gas_price;
	t.gas = 200000;
	t.create = true;
	t.data = test_contract_init;
	t.data_len = sizeof(test_contract_init);
	send_and_wait(&t, ANVIL_SK0, &rc);
	assert_true(rc.status);
	assert_true(rc.has_contract_address);
	memcpy(contract, rc.contract_address, 20);
	have_contract = 1;
	jsonrpc_receipt_release(&rc);
}

static void
test_call_returns_value(void **state)
{
	uint8_t data[1] = { 0 };
	struct rpc_call_msg m = { .to = contract, .data = data, .data_len = 1 };
	struct jsonrpc_error err;
	struct abi_dec d;
	struct buf out;
	uint64_t v, gas;

	(void)state;
	deploy();
	buf_init(&out, 4096);
	assert_int_equal(rpc_eth_call(cli, &m, RPC_AT_LATEST, &out, &err), 0);
	assert_int_equal(out.len, 32);
	abi_dec_init(&d, out.data, out.len);
	assert_int_equal(abi_dec_uint64(&d, &v), 0);
	assert_int_equal(v, 42);
	buf_release(&out);
	assert_int_equal(rpc_estimate_gas(cli, &m, &gas, &err), 0);
	assert_true(gas > 21000 && gas < 100000);
}

static void
test_revert_reason_surfaces(void **state)
{
	uint8_t data[1] = { 1 };
	struct rpc_call_msg m = { .to = contract, .data = data, .data_len = 1 };
	struct jsonrpc_error err;
	char reason[128], last[RPC_ERROR_MAX];
	struct buf out;
	uint64_t gas;

	(void)state;
	deploy();
	buf_init(&out, 4096);
	memset(&err, 0, sizeof(err));
	assert_int_equal(rpc_eth_call(cli, &m, RPC_AT_LATEST, &out, &err), -EREMOTEIO);
	assert_int_equal(out.len, 0);
	assert_true(err.has_data);
	assert_int_equal(abi_decode_revert(err.data, err.data_len, reason, sizeof(reason)), 4);
	assert_string_equal(reason, "nope");
	assert_non_null(strstr(err.message, "revert"));
	jsonrpc_error_release(&err);
	rpc_last_error(cli, last, sizeof(last));
	assert_non_null(strstr(last, "json-rpc error"));

	assert_int_equal(rpc_estimate_gas(cli, &m, &gas, &err), -EREMOTEIO);
	assert_true(err.has_data);
	assert_int_equal(abi_decode_revert(err.data, err.data_len, reason, sizeof(reason)), 4);
	assert_string_equal(reason, "nope");
	jsonrpc_error_release(&err);
	buf_release(&out);
}

static void
test_logs(void **state)
{
	uint8_t topic[32], from[20];
	const uint8_t (*tp)[32] = (const uint8_t (*)[32])topic;
	const uint8_t (*ap)[20] = (const uint8_t (*)[20])contract;
	struct jsonrpc_receipt rc;
	struct jsonrpc_logs logs = { 0 };
	struct rpc_filter f;
	struct tx t;

	(void)state;
	deploy();
	memset(topic, 0, 32);
	topic[1] = 0xab;	/* first byte 0: the logging path */
	topic[31] = 0x01;
	unhex(ANVIL_ADDR0, from, 20);
	memset(&t, 0, sizeof(t));
	t.type = TX_LEGACY;
	t.chain_id = ANVIL_CHAIN_ID;
	assert_int_equal(rpc_get_transaction_count(cli, from, RPC_AT_PENDING, &t.nonce), 0);
	assert_int_equal(rpc_gas_price(cli, &t.gas_price), 0);
	t.gas = 100000;
	memcpy(t.to, contract, 20);
	t.data = topic;
	t.data_len = 32;
	send_and_wait(&t, ANVIL_SK0, &rc);
	assert_true(rc.status);
	assert_int_equal(rc.logs.n, 1);

	memset(&f, 0, sizeof(f));
	f.addresses = ap;
	f.n_addresses = 1;
	f.topics[0] = tp;
	f.n_topic[0] = 1;
	f.n_topics = 1;
	f.from = RPC_AT_NUMBER(0);
	f.to = RPC_AT_LATEST;
	assert_int_equal(rpc_get_logs(cli, &f, &logs), 0);
	assert_int_equal(logs.n, 1);
	assert_memory_equal(logs.v[0].address, contract, 20);
	assert_int_equal(logs.v[0].n_topics, 1);
	assert_memory_equal(logs.v[0].topics[0], topic, 32);
	assert_int_equal(logs.v[0].data_len, 32);
	assert_int_equal(logs.v[0].data[31], 42);
	assert_int_equal(logs.v[0].block_number, rc.block_number);
	assert_memory_equal(logs.v[0].tx_hash, rc.tx_hash, 32);
	jsonrpc_logs_release(&logs);
	jsonrpc_receipt_release(&rc);

	/* a topic nobody logged: nothing */
	topic[31] = 0x02;
	assert_int_equal(rpc_get_logs(cli, &f, &logs), 0);
	assert_int_equal(logs.n, 0);
	jsonrpc_logs_release(&logs);
}

static void
test_fee_history(void **state)
{
	static const unsigned pct[] = { 10, 50 };
	struct jsonrpc_fee_history *h;

	(void)state;
	h = malloc(sizeof(*h));
	assert_non_null(h);
	assert_int_equal(rpc_fee_history(cli, 2, pct, 2, h), 0);
	assert_true(h->n_blocks >= 1 && h->n_blocks <= 2);
	assert_true(h->base_fee[0] > 0);
	assert_int_equal(h->n_percentiles, 2);
	assert_int_equal(rpc_fee_history(cli, 0, pct, 2, h), -EINVAL);
	free(h);
}

static void
test_json_rpc_error_object(void **state)
{
	static const uint8_t junk[] = { 0x02, 0xc0 };
	struct jsonrpc_error err;
	uint8_t h[32];

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(rpc_send_raw_transaction(cli, junk, sizeof(junk), h, &err), -EREMOTEIO);
	assert_true(err.code != 0);
	assert_true(strlen(err.message) > 0);
	jsonrpc_error_release(&err);
	assert_int_equal(rpc_current_endpoint(cli), 0);
}

static void
test_failover_from_dead_endpoint(void **state)
{
	char dead[64], last[RPC_ERROR_MAX];
	const char *urls[2];
	struct rpc_stats st;
	struct rpc *c;
	uint64_t v;

	(void)state;
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%u", anvil_free_port());
	urls[0] = dead;
	urls[1] = chain.url;
	assert_int_equal(rpc_new(urls, 2, NULL, &c), 0);
	assert_int_equal(rpc_current_endpoint(c), 0);
	assert_int_equal(rpc_chain_id(c, &v), 0);
	assert_int_equal(v, ANVIL_CHAIN_ID);
	assert_int_equal(rpc_current_endpoint(c), 1);
	rpc_last_error(c, last, sizeof(last));
	assert_non_null(strstr(last, "endpoint 0"));
	rpc_get_stats(c, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.requests, 2);
	assert_int_equal(st.failovers, 1);
	/* the good endpoint is remembered: no more failovers */
	assert_int_equal(rpc_block_number(c, &v), 0);
	rpc_get_stats(c, &st);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.failovers, 1);
	assert_true(st.bytes_received > 0 && st.bytes_sent > 0);
	rpc_free(c);

	/* nothing alive */
	urls[1] = dead;
	assert_int_equal(rpc_new(urls, 2, NULL, &c), 0);
	assert_int_equal(rpc_chain_id(c, &v), -ECONNREFUSED);
	rpc_free(c);
}

static void
test_failover_on_5xx_timeout_and_garbage(void **state)
{
	static const char r503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	static const char rjunk[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
	struct rpc_options opt = { .connect_timeout_ms = 1000, .timeout_ms = 700 };
	struct canned s503, sjunk, ssilent;
	char last[RPC_ERROR_MAX];
	const char *urls[4];
	struct rpc_stats st;
	struct rpc *c;
	uint64_t v;

	(void)state;
	canned_start(&s503, r503, sizeof(r503) - 1);
	canned_start(&sjunk, rjunk, sizeof(rjunk) - 1);
	canned_start(&ssilent, NULL, 0);
	urls[0] = s503.url;
	urls[1] = sjunk.url;
	urls[2] = ssilent.url;
	urls[3] = chain.url;

	/* each alone: the right error */
	assert_int_equal(rpc_new(urls, 1, &opt, &c), 0);
	assert_int_equal(rpc_chain_id(c, &v), -EPROTO);
	rpc_last_error(c, last, sizeof(last));
	assert_non_null(strstr(last, "503"));
	rpc_free(c);
	assert_int_equal(rpc_new(urls + 1, 1, &opt, &c), 0);
	assert_int_equal(rpc_chain_id(c, &v), -EBADMSG);
	rpc_free(c);
	assert_int_equal(rpc_new(urls + 2, 1, &opt, &c), 0);
	assert_int_equal(rpc_chain_id(c, &v), -ETIMEDOUT);
	rpc_free(c);

	/* all four: lands on anvil */
	assert_int_equal(rpc_new(urls, 4, &opt, &c), 0);
	assert_int_equal(rpc_chain_id(c, &v), 0);
	assert_int_equal(v, ANVIL_CHAIN_ID);
	assert_int_equal(rpc_current_endpoint(c), 3);
	rpc_get_stats(c, &st);
	assert_int_equal(st.failovers, 3);
	rpc_free(c);
	canned_stop(&s503);
	canned_stop(&sjunk);
	canned_stop(&ssilent);
}

static void
test_response_cap(void **state)
{
	struct rpc_options opt = { .max_response = 100 };
	/* 200 with a body longer than its Content-Length would allow: no
	 * Content-Length at all, so only the write callback can stop it */
	static const char big_head[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
	char big[sizeof(big_head) + 4096];
	struct jsonrpc_block b;
	const char *url = chain.url;
	struct canned s;
	struct rpc *c;
	uint64_t v;

	(void)state;
	assert_int_equal(rpc_new(&url, 1, &opt, &c), 0);
	assert_int_equal(rpc_chain_id(c, &v), 0);			/* ~40 bytes: fits */
	assert_int_equal(rpc_get_block(c, RPC_AT_LATEST, &b), -EMSGSIZE);	/* ~1 KiB: does not */
	rpc_free(c);

	memcpy(big, big_head, sizeof(big_head) - 1);
	memset(big + sizeof(big_head) - 1, ' ', 4096);
	canned_start(&s, big, sizeof(big_head) - 1 + 4096);
	url = s.url;
	assert_int_equal(rpc_new(&url, 1, &opt, &c), 0);
	assert_int_equal(rpc_chain_id(c, &v), -EMSGSIZE);
	rpc_free(c);
	canned_stop(&s);
}

static void
test_new_rejects_bad_urls(void **state)
{
	const char *bad[] = { "ftp://127.0.0.1/", "file:///etc/passwd", "127.0.0.1:8545", "http://" };
	const char *many[RPC_MAX_ENDPOINTS + 1];
	struct rpc_options opt = { .max_response = RPC_MAX_RESPONSE + 1 };
	const char *url = chain.url;
	struct rpc *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rpc_new(&bad[i], 1, NULL, &c), -EINVAL);
	for (i = 0; i <= RPC_MAX_ENDPOINTS; i++)
		many[i] = chain.url;
	assert_int_equal(rpc_new(many, RPC_MAX_ENDPOINTS + 1, NULL, &c), -EINVAL);
	assert_int_equal(rpc_new(many, 0, NULL, &c), -EINVAL);
	assert_int_equal(rpc_new(&url, 1, &opt, &c), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_rejects_bad_urls),
		cmocka_unit_test(test_chain_basics),
		cmocka_unit_test(test_signed_transfer_mined_from_sender),
		cmocka_unit_test(test_call_returns_value),
		cmocka_unit_test(test_revert_reason_surfaces),
		cmocka_unit_test(test_logs),
		cmocka_unit_test(test_fee_history),
		cmocka_unit_test(test_json_rpc_error_object),
		cmocka_unit_test(test_failover_from_dead_endpoint),
		cmocka_unit_test(test_failover_on_5xx_timeout_and_garbage),
		cmocka_unit_test(test_response_cap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
