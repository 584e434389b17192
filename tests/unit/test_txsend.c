/*
 * txsend against real anvil chains on 127.0.0.1: a London chain (EIP-1559),
 * a Berlin chain (no base fee: legacy fallback) and one that does not mine
 * (receipt deadline).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "anvil_fixture.h"
#include "ethkey.h"
#include "hex.h"
#include "rpc.h"
#include "tx.h"
#include "txsend.h"

static struct anvil chain;
static struct rpc *cli;
static uint8_t contract[20];
static int have_contract;

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(hex_decode_exact(s, strlen(s), out, n), 0);
}

static struct rpc *
client_for(const struct anvil *a)
{
	const char *url = a->url;
	struct rpc *c;

	assert_int_equal(rpc_new(&url, 1, NULL, &c), 0);
	return c;
}

static struct txsend *
sender(struct rpc *c, const char *sk_hex, const struct txsend_options *opt)
{
	uint8_t sk[32];
	struct txsend *s;

	unhex(sk_hex, sk, 32);
	assert_int_equal(txsend_new(c, sk, opt, &s), 0);
	explicit_bzero(sk, sizeof(sk));
	return s;
}

static int
setup(void **state)
{
	(void)state;
	anvil_start(&chain, NULL);
	cli = client_for(&chain);
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

static void
test_transfer_and_local_nonce(void **state)
{
	struct txsend_options opt = { .chain_id = ANVIL_CHAIN_ID, .poll_ms = 50 };
	struct txsend_request req = { 0 };
	struct txsend_result res;
	uint8_t to[20], me[20], want[20], value[32] = { 0 };
	struct rpc_stats before, after;
	struct txsend *s;
	uint64_t n0, n1;

	(void)state;
	s = sender(cli, ANVIL_SK1, &opt);
	txsend_address(s, me);
	unhex(ANVIL_ADDR1, want, 20);
	assert_memory_equal(me, want, 20);
	assert_int_equal(rpc_get_transaction_count(cli, me, RPC_AT_PENDING, &n0), 0);
	unhex(ANVIL_ADDR0, to, 20);
	value[31] = 1;
	req.to = to;
	req.value = value;
	assert_int_equal(txsend_send(s, &req, &res), 0);
	assert_true(res.submitted && res.mined && res.status);
	assert_string_equal(res.error, "");
	assert_int_equal(res.gas_used, 21000);
	assert_int_equal(res.nonce, n0);
	/* the second nonce is counted locally */
	rpc_get_stats(cli, &before);
	assert_int_equal(txsend_send(s, &req, &res), 0);
	rpc_get_stats(cli, &after);
	assert_int_equal(res.nonce, n0 + 1);
	assert_int_equal(rpc_get_transaction_count(cli, me, RPC_AT_PENDING, &n1), 0);
	assert_int_equal(n1, n0 + 2);
	assert_true(after.calls > before.calls);
	txsend_free(s);
}

static void
deploy(void)
{
	struct txsend_options opt = { .poll_ms = 50 };
	struct txsend_request req = { .data = test_contract_init, .data_len = sizeof(test_contract_init) };
	struct txsend_result res;
	struct txsend *s;

	if (have_contract)
		return;
	s = sender(cli, ANVIL_SK0, &opt);
	assert_int_equal(txsend_send(s, &req, &res), 0);
	assert_true(res.has_contract_address);
	memcpy(contract, res.contract_address, 20);
	have_contract = 1;
	txsend_free(s);
}

static void
test_contract_call_and_reverts(void **state)
{
	struct txsend_options opt = { .poll_ms = 50 };
	uint8_t ok_data[32] = { 0 }, bad_data[1] = { 1 };
	struct txsend_request req = { 0 };
	struct txsend_result res;
	struct txsend *s;
	int r;

	(void)state;
	deploy();
	s = sender(cli, ANVIL_SK0, &opt);
	req.to = contract;
	req.data = ok_data;
	req.data_len = sizeof(ok_data);
	assert_int_equal(txsend_send(s, &req, &res), 0);
	assert_true(res.gas_used > 21000);

	/* estimation reverts: never submitted, reason decoded */
	req.data = bad_data;
	req.data_len = 1;
	r = txsend_send(s, &req, &res);
	assert_int_equal(r, -EREMOTEIO);
	assert_false(res.submitted);
	assert_non_null(strstr(res.error, "reverted: nope"));

	/* fixed gas: mined with status 0, reason from the replay */
	req.gas = 100000;
	r = txsend_send(s, &req, &res);
	assert_int_equal(r, -ECANCELED);
	assert_true(res.submitted && res.mined);
	assert_false(res.status);
	assert_non_null(strstr(res.error, "reverted: nope"));

	/* the nonce was consumed by the failed transaction: the next one works */
	req.data = ok_data;
	req.data_len = sizeof(ok_data);
	req.gas = 0;
	assert_int_equal(txsend_send(s, &req, &res), 0);
	txsend_free(s);
}

static void
test_nonce_resync(void **state)
{
	struct txsend_options opt = { .poll_ms = 50 };
	struct txsend_request req = { 0 };
	struct txsend_result res;
	uint8_t to[20], me[20], sk[32], h[32], node_h[32];
	struct jsonrpc_error err;
	struct txsend *s;
	struct buf raw;
	struct tx t;

	(void)state;
	s = sender(cli, ANVIL_SK1, &opt);
	txsend_address(s, me);
	unhex(ANVIL_ADDR0, to, 20);
	req.to = to;
	assert_int_equal(txsend_send(s, &req, &res), 0);

	/* someone else uses the next nonce of the same key behind its back */
	memset(&t, 0, sizeof(t));
	t.type = TX_LEGACY;
	t.chain_id = ANVIL_CHAIN_ID;
	t.nonce = res.nonce + 1;
	assert_int_equal(rpc_gas_price(cli, &t.gas_price), 0);
	t.gas_price *= 2;
	t.gas = 21000;
	memcpy(t.to, to, 20);
	unhex(ANVIL_SK1, sk, 32);
	buf_init(&raw, TX_MAX_RAW);
	assert_int_equal(tx_sign(&t, sk, &raw, h), 0);
	explicit_bzero(sk, sizeof(sk));
	assert_int_equal(rpc_send_raw_transaction(cli, raw.data, raw.len, node_h, &err), 0);
	buf_release(&raw);

	/* txsend's local nonce is now stale: "nonce too low", resync, success */
	assert_int_equal(txsend_send(s, &req, &res), 0);
	assert_int_equal(res.nonce, t.nonce + 1);
	txsend_free(s);
}

static void
test_wrong_chain(void **state)
{
	struct txsend_options opt = { .chain_id = 1 };
	struct txsend_request req = { 0 };
	struct txsend_result res;
	uint8_t to[20] = { 1 };
	struct txsend *s;

	(void)state;
	s = sender(cli, ANVIL_SK1, &opt);
	req.to = to;
	assert_int_equal(txsend_send(s, &req, &res), -EXDEV);
	assert_non_null(strstr(res.error, "31337"));
	assert_false(res.submitted);
	txsend_free(s);
}

static void
test_bad_key(void **state)
{
	uint8_t zero[32] = { 0 };
	struct txsend *s;

	(void)state;
	assert_int_equal(txsend_new(cli, zero, NULL, &s), -EINVAL);
}

static void
test_legacy_on_chain_without_base_fee(void **state)
{
	static char *const berlin[] = { "--hardfork", "berlin", NULL };
	struct txsend_options opt = { .poll_ms = 50 };
	struct txsend_request req = { 0 };
	struct txsend_result res;
	struct jsonrpc_block b;
	uint8_t to[20];
	struct anvil old;
	struct rpc *c;
	struct txsend *s;

	(void)state;
	anvil_start(&old, berlin);
	c = client_for(&old);
	assert_int_equal(rpc_get_block(c, RPC_AT_LATEST, &b), 0);
	assert_false(b.has_base_fee);
	s = sender(c, ANVIL_SK0, &opt);
	unhex(ANVIL_ADDR1, to, 20);
	req.to = to;
	assert_int_equal(txsend_send(s, &req, &res), 0);
	assert_true(res.status);
	txsend_free(s);
	/* and forced legacy on a London chain */
	opt.legacy = true;
	s = sender(cli, ANVIL_SK0, &opt);
	assert_int_equal(txsend_send(s, &req, &res), 0);
	txsend_free(s);
	rpc_free(c);
	anvil_stop(&old);
}

static void
test_receipt_deadline(void **state)
{
	static char *const nomine[] = { "--no-mining", NULL };
	struct txsend_options opt = { .poll_ms = 100 };
	struct txsend_request req = { .timeout_ms = 800 };
	struct txsend_result res;
	uint8_t to[20];
	struct anvil still;
	struct rpc *c;
	struct txsend *s;

	(void)state;
	anvil_start(&still, nomine);
	c = client_for(&still);
	s = sender(c, ANVIL_SK0, &opt);
	unhex(ANVIL_ADDR1, to, 20);
	req.to = to;
	assert_int_equal(txsend_send(s, &req, &res), -ETIMEDOUT);
	assert_true(res.submitted);
	assert_false(res.mined);
	assert_non_null(strstr(res.error, "no receipt"));

	/*
	 * A reorg can drop a transaction we sent: drop it by hand, turn
	 * mining on, and the next transaction must reuse its nonce (asked
	 * from the node) instead of leaving a gap no block will ever fill.
	 */
	{
		char hash[67], cmd[512];
		int n;

		hex_encode(res.tx_hash, 32, true, hash, sizeof(hash));
		n = snprintf(cmd, sizeof(cmd),
		    "'%s/contracts/bin/cast' rpc --rpc-url %s anvil_dropTransaction %s >/dev/null && "
		    "'%s/contracts/bin/cast' rpc --rpc-url %s evm_setAutomine true >/dev/null",
		    getenv("DP_SOURCE_DIR"), still.url, hash, getenv("DP_SOURCE_DIR"), still.url);
		assert_true(n > 0 && (size_t)n < sizeof(cmd));
		assert_int_equal(system(cmd), 0);
	}
	req.timeout_ms = 10000;
	assert_int_equal(txsend_send(s, &req, &res), 0);
	assert_true(res.mined);
	assert_int_equal(res.nonce, 0);
	txsend_free(s);
	rpc_free(c);
	anvil_stop(&still);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_key),
		cmocka_unit_test(test_transfer_and_local_nonce),
		cmocka_unit_test(test_contract_call_and_reverts),
		cmocka_unit_test(test_nonce_resync),
		cmocka_unit_test(test_wrong_chain),
		cmocka_unit_test(test_legacy_on_chain_without_base_fee),
		cmocka_unit_test(test_receipt_deadline),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
