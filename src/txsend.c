#include "txsend.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi.h"
#include "ethkey.h"
#include "tx.h"

struct txsend {
	struct rpc *rpc;		/* borrowed */
	uint8_t sk[32];			/* secret: wiped by txsend_free() */
	uint8_t addr[20];
	uint64_t want_chain_id;		/* 0: any */
	uint64_t chain_id;		/* valid when chain_checked */
	bool chain_checked;
	uint64_t nonce;			/* next nonce, valid when have_nonce */
	bool have_nonce;
	uint64_t poll_ms;
	bool legacy;
};

int
txsend_new(struct rpc *rpc, const uint8_t sk[32], const struct txsend_options *opt,
	   struct txsend **ret_sender)
{
	struct txsend *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = ethkey_address(sk, s->addr);
	if (r < 0) {
		free(s);
		return r;
	}
	memcpy(s->sk, sk, 32);
	s->rpc = rpc;
	s->want_chain_id = opt ? opt->chain_id : 0;
	s->poll_ms = opt && opt->poll_ms ? opt->poll_ms : TXSEND_DEFAULT_POLL_MS;
	s->legacy = opt && opt->legacy;
	*ret_sender = s;
	return 0;
}

void
txsend_free(struct txsend *s)
{
	if (!s)
		return;
	explicit_bzero(s->sk, sizeof(s->sk));
	free(s);
}

void
txsend_address(const struct txsend *s, uint8_t ret_addr[20])
{
	memcpy(ret_addr, s->addr, 20);
}

/* The result's error text is a diagnostic: longer text is cut. */
static void
set_error(struct txsend_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(struct txsend_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(res->error, sizeof(res->error), fmt, ap) < 0)
		res->error[0] = '\0';
	va_end(ap);
}

/* Record an rpc failure r in res with the client's last error text. */
static int
rpc_failed(struct txsend *s, struct txsend_result *res, const char *what, int r)
{
	char last[RPC_ERROR_MAX];

	rpc_last_error(s->rpc, last, sizeof(last));
	set_error(res, "%s failed: %s (%s)", what, strerror(-r), last);
	return r;
}

int
txsend_describe_error(const struct jsonrpc_error *err, char *out, size_t outsz)
{
	char reason[TXSEND_ERROR_MAX];
	int n = -1;

	if (err->has_data) {
		n = abi_decode_revert(err->data, err->data_len, reason, sizeof(reason));
		if (n == -ENODATA)
			n = snprintf(out, outsz, "reverted without a reason");
		else if (n >= 0)
			n = snprintf(out, outsz, "reverted: %s", reason);
	}
	if (n < 0)
		n = snprintf(out, outsz, "%s", err->message);
	if (n < 0)
		return 0;
	return (size_t)n >= outsz ? (int)(outsz ? outsz - 1 : 0) : n;
}

static void
describe_into(struct txsend_result *res, const char *what, struct jsonrpc_error *err)
{
	char text[TXSEND_ERROR_MAX];

	txsend_describe_error(err, text, sizeof(text));
	set_error(res, "%s: %s", what, text);
	jsonrpc_error_release(err);
}

static int
check_chain(struct txsend *s, struct txsend_result *res)
{
	uint64_t id;
	int r;

	if (s->chain_checked)
		return 0;
	r = rpc_chain_id(s->rpc, &id);
	if (r < 0)
		return rpc_failed(s, res, "eth_chainId", r);
	if (s->want_chain_id && id != s->want_chain_id) {
		set_error(res, "node is on chain %llu, expected %llu",
			  (unsigned long long)id, (unsigned long long)s->want_chain_id);
		return -EXDEV;
	}
	s->chain_id = id;
	s->chain_checked = true;
	return 0;
}

static int
sync_nonce(struct txsend *s, struct txsend_result *res)
{
	uint64_t n;
	int r;

	r = rpc_get_transaction_count(s->rpc, s->addr, RPC_AT_PENDING, &n);
	if (r < 0)
		return rpc_failed(s, res, "eth_getTransactionCount", r);
	s->nonce = n;
	s->have_nonce = true;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median 50th-percentile tip of recent blocks and the next base fee. */
static int
fee_history_fees(struct txsend *s, uint64_t *ret_base, uint64_t *ret_tip)
{
	static const unsigned pct[] = { 50 };
	struct jsonrpc_fee_history *h;
	uint64_t tips[JSONRPC_MAX_FEE_BLOCKS];
	size_t i;
	int r;

	h = malloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = rpc_fee_history(s->rpc, TXSEND_FEE_HISTORY_BLOCKS, pct, 1, h);
	if (r == 0 && h->n_blocks == 0)
		r = -ENODATA;
	if (r == 0) {
		*ret_base = h->base_fee[h->n_blocks];	/* the next block's */
		*ret_tip = 0;
		if (h->n_percentiles == 1) {
			for (i = 0; i < h->n_blocks; i++)
				tips[i] = h->reward[i][0];
			qsort(tips, h->n_blocks, sizeof(tips[0]), cmp_u64);
			*ret_tip = tips[h->n_blocks / 2];
		}
	}
	free(h);
	return r;
}

static int
eip1559_fees(struct txsend *s, const struct jsonrpc_block *latest, struct tx *t,
	     struct txsend_result *res)
{
	uint64_t base = latest->base_fee, tip = 0;
	int r;

	r = fee_history_fees(s, &base, &tip);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		base = latest->base_fee;	/* no eth_feeHistory: the latest block's */
	if (tip == 0 && rpc_max_priority_fee(s->rpc, &tip) < 0)
		tip = 0;
	if (tip == 0)
		tip = TXSEND_DEFAULT_TIP;
	if (base > (UINT64_MAX - tip) / TXSEND_BASE_FEE_MULT) {
		set_error(res, "base fee %llu out of range", (unsigned long long)base);
		return -ERANGE;
	}
	t->type = TX_EIP1559;
	t->max_priority_fee = tip;
	t->max_fee = base * TXSEND_BASE_FEE_MULT + tip;
	return 0;
}

static int
choose_fees(struct txsend *s, struct tx *t, struct txsend_result *res)
{
	struct jsonrpc_block b;
	uint64_t price;
	int r;

	if (!s->legacy) {
		r = rpc_get_block(s->rpc, RPC_AT_LATEST, &b);
		if (r < 0)
			return rpc_failed(s, res, "eth_getBlockByNumber", r);
		if (b.has_base_fee)
			return eip1559_fees(s, &b, t, res);
	}
	r = rpc_gas_price(s->rpc, &price);
	if (r < 0)
		return rpc_failed(s, res, "eth_gasPrice", r);
	if (price > UINT64_MAX / TXSEND_LEGACY_PRICE_PCT) {
		set_error(res, "gas price %llu out of range", (unsigned long long)price);
		return -ERANGE;
	}
	t->type = TX_LEGACY;
	t->gas_price = price * TXSEND_LEGACY_PRICE_PCT / 100;
	return 0;
}

static void
call_msg(const struct txsend *s, const struct txsend_request *req, uint64_t gas,
	 struct rpc_call_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->from = s->addr;
	m->to = req->to;
	m->value = req->value;
	m->data = req->data;
	m->data_len = req->data_len;
	m->gas = gas;
}

static int
estimate(struct txsend *s, const struct txsend_request *req, uint64_t *ret_gas,
	 struct txsend_result *res)
{
	struct rpc_call_msg m;
	struct jsonrpc_error err;
	uint64_t g;
	int r;

	call_msg(s, req, 0, &m);
	r = rpc_estimate_gas(s->rpc, &m, &g, &err);
	if (r == -EREMOTEIO) {
		describe_into(res, "gas estimation", &err);
		return r;
	}
	if (r < 0)
		return rpc_failed(s, res, "eth_estimateGas", r);
	if (g > UINT64_MAX / (100 + TXSEND_GAS_HEADROOM_PCT)) {
		set_error(res, "gas estimate %llu out of range", (unsigned long long)g);
		return -ERANGE;
	}
	*ret_gas = g * (100 + TXSEND_GAS_HEADROOM_PCT) / 100;
	return 0;
}

/* Sign t and hand it to the node.  1: the node said the nonce is too low. */
static int
submit_once(struct txsend *s, const struct tx *t, struct txsend_result *res)
{
	struct jsonrpc_error err;
	uint8_t h[32], node_h[32];
	struct buf raw;
	int r;

	buf_init(&raw, TX_MAX_RAW);
	r = tx_sign(t, s->sk, &raw, h);
	if (r < 0) {
		buf_release(&raw);
		set_error(res, "signing failed: %s", strerror(-r));
		return r;
	}
	r = rpc_send_raw_transaction(s->rpc, raw.data, raw.len, node_h, &err);
	buf_release(&raw);
	if (r == -EREMOTEIO) {
		if (strcasestr(err.message, "nonce too low")) {
			jsonrpc_error_release(&err);
			return 1;
		}
		/* our own earlier attempt got through after all */
		r = strcasestr(err.message, "already known") ? 0 : -EREMOTEIO;
		if (r < 0) {
			describe_into(res, "transaction rejected", &err);
			return r;
		}
		jsonrpc_error_release(&err);
		memcpy(node_h, h, 32);
	} else if (r < 0) {
		/* the node may or may not have it: ask for the nonce next time */
		s->have_nonce = false;
		return rpc_failed(s, res, "eth_sendRawTransaction", r);
	}
	if (memcmp(node_h, h, 32) != 0) {
		set_error(res, "node reported a different transaction hash");
		return -EBADMSG;
	}
	memcpy(res->tx_hash, h, 32);
	res->nonce = t->nonce;
	res->submitted = true;
	return 0;
}

static int
submit(struct txsend *s, struct tx *t, struct txsend_result *res)
{
	int r, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (!s->have_nonce && (r = sync_nonce(s, res)) < 0)
			return r;
		t->nonce = s->nonce;
		r = submit_once(s, t, res);
		if (r != 1) {
			if (r == 0)
				s->nonce++;
			return r;
		}
		s->have_nonce = false;	/* nonce too low: resync and retry */
	}
	set_error(res, "transaction rejected: nonce too low after resync");
	return -EREMOTEIO;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int
wait_receipt(struct txsend *s, uint64_t timeout_ms, struct txsend_result *res)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct jsonrpc_receipt rc;
	int r;

	for (;;) {
		r = rpc_get_receipt(s->rpc, res->tx_hash, &rc);
		if (r == 0)
			break;
		/* transport trouble while waiting is retried until the deadline */
		if (r == -ENOMEM)
			return r;
		if (now_ms() >= deadline) {
			/*
			 * The transaction may still be pending, or gone (a reorg
			 * dropped it): ask the node for the nonce next time
			 * rather than counting on from ours.
			 */
			s->have_nonce = false;
			set_error(res, "no receipt within %llu ms", (unsigned long long)timeout_ms);
			return -ETIMEDOUT;
		}
		sleep_ms(s->poll_ms);
	}
	res->mined = true;
	res->status = rc.status;
	res->block_number = rc.block_number;
	res->gas_used = rc.gas_used;
	res->has_contract_address = rc.has_contract_address;
	memcpy(res->contract_address, rc.contract_address, 20);
	jsonrpc_receipt_release(&rc);
	return 0;
}

/*
 * Find why a mined transaction failed by running it again with eth_call.
 * It runs on the state before its block (the parent's), which is the state
 * the transaction saw unless earlier transactions in the same block changed
 * what it depends on.
 */
static void
replay_reason(struct txsend *s, const struct txsend_request *req, uint64_t gas,
	      struct txsend_result *res)
{
	struct rpc_block_id at = RPC_AT_NUMBER(res->block_number ? res->block_number - 1 : 0);
	struct jsonrpc_error err;
	struct rpc_call_msg m;
	struct buf out;
	int r;

	call_msg(s, req, gas, &m);
	buf_init(&out, JSONRPC_MAX_DATA);
	r = rpc_eth_call(s->rpc, &m, at, &out, &err);
	buf_release(&out);
	if (r == -EREMOTEIO)
		describe_into(res, "transaction failed", &err);
	else if (r == 0)
		set_error(res, "transaction failed (its replay succeeds: state-dependent or out of gas)");
	else
		set_error(res, "transaction failed (replay: %s)", strerror(-r));
}

int
txsend_send(struct txsend *s, const struct txsend_request *req, struct txsend_result *res)
{
	struct tx t;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&t, 0, sizeof(t));
	if (req->data_len > TX_MAX_DATA || (req->data_len && !req->data)) {
		set_error(res, "calldata too large");
		return -EINVAL;
	}
	r = check_chain(s, res);
	if (r < 0)
		return r;
	t.chain_id = s->chain_id;
	t.gas = req->gas;
	if (t.gas == 0 && (r = estimate(s, req, &t.gas, res)) < 0)
		return r;
	r = choose_fees(s, &t, res);
	if (r < 0)
		return r;
	t.create = req->to == NULL;
	if (req->to)
		memcpy(t.to, req->to, 20);
	if (req->value)
		memcpy(t.value, req->value, 32);
	t.data = req->data;
	t.data_len = req->data_len;
	r = submit(s, &t, res);
	if (r < 0)
		return r;
	r = wait_receipt(s, req->timeout_ms ? req->timeout_ms : TXSEND_DEFAULT_TIMEOUT_MS, res);
	if (r < 0)
		return r;
	if (!res->status) {
		replay_reason(s, req, t.gas, res);
		return -ECANCELED;
	}
	return 0;
}
