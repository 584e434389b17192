#include "rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define JSONRPC_METHOD_NOT_FOUND	(-32601)

struct rpc {
	pthread_mutex_t lock;	/* serializes calls; guards every field below */
	CURL *curl;
	struct curl_slist *headers;
	char *urls[RPC_MAX_ENDPOINTS];
	size_t n_urls;
	size_t current;		/* endpoint that answered last */
	size_t max_response;
	struct rpc_stats stats;
	char last_error[RPC_ERROR_MAX];
	uint64_t next_id;	/* atomic: requests are built outside the lock */
};

static pthread_once_t rpc_once = PTHREAD_ONCE_INIT;
static CURLcode rpc_global_rc = CURLE_FAILED_INIT;

static void
global_init_once(void)
{
	rpc_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
rpc_global_init(void)
{
	pthread_once(&rpc_once, global_init_once);
	return rpc_global_rc == CURLE_OK ? 0 : -EIO;
}

/* The last-error text is a diagnostic: longer text is cut. */
static void
set_error(struct rpc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(struct rpc *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap) < 0)
		c->last_error[0] = '\0';
	va_end(ap);
}

static bool
url_ok(const char *u)
{
	size_t n = strnlen(u, RPC_MAX_URL + 1);

	if (n > RPC_MAX_URL)
		return false;
	return (n > 7 && strncmp(u, "http://", 7) == 0) || (n > 8 && strncmp(u, "https://", 8) == 0);
}

static int
setup_curl(struct rpc *c, const struct rpc_options *opt)
{
	long cto = opt && opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms
						       : RPC_DEFAULT_CONNECT_TIMEOUT_MS;
	long to = opt && opt->timeout_ms > 0 ? opt->timeout_ms : RPC_DEFAULT_TIMEOUT_MS;
	CURL *h = c->curl;
	struct curl_slist *l;

	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!c->headers)
		return -ENOMEM;
	/* no "Expect: 100-continue" wait before large bodies (raw deployments) */
	l = curl_slist_append(c->headers, "Expect:");
	if (!l)
		return -ENOMEM;
	c->headers = l;
	if (curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, cto) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, to) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK)
		return -EINVAL;
	return 0;
}

int
rpc_new(const char *const *urls, size_t n, const struct rpc_options *opt, struct rpc **ret_rpc)
{
	struct rpc *c;
	size_t i;
	int r;

	if (n == 0 || n > RPC_MAX_ENDPOINTS)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!urls[i] || !url_ok(urls[i]))
			return -EINVAL;
	if (opt && opt->max_response > RPC_MAX_RESPONSE)
		return -EINVAL;
	r = rpc_global_init();
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->next_id = 1;
	c->max_response = opt && opt->max_response ? opt->max_response : RPC_MAX_RESPONSE;
	for (i = 0; i < n; i++) {
		c->urls[i] = strdup(urls[i]);
		if (!c->urls[i])
			goto out_free;
		c->n_urls++;
	}
	c->curl = curl_easy_init();
	if (!c->curl)
		goto out_free;
	r = setup_curl(c, opt);
	if (r < 0) {
		rpc_free(c);
		return r;
	}
	*ret_rpc = c;
	return 0;
out_free:
	rpc_free(c);
	return -ENOMEM;
}

void
rpc_free(struct rpc *c)
{
	size_t i;

	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	for (i = 0; i < c->n_urls; i++)
		free(c->urls[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

size_t
rpc_current_endpoint(struct rpc *c)
{
	size_t i;

	pthread_mutex_lock(&c->lock);
	i = c->current;
	pthread_mutex_unlock(&c->lock);
	return i;
}

void
rpc_last_error(struct rpc *c, char *out, size_t outsz)
{
	if (outsz == 0)
		return;
	pthread_mutex_lock(&c->lock);
	snprintf(out, outsz, "%s", c->last_error);
	pthread_mutex_unlock(&c->lock);
}

void
rpc_get_stats(struct rpc *c, struct rpc_stats *ret)
{
	pthread_mutex_lock(&c->lock);
	*ret = c->stats;
	pthread_mutex_unlock(&c->lock);
}

/* ---- one HTTP exchange ---------------------------------------------------- */

struct sink {
	struct buf *body;
	bool too_big;
};

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	int r;

	r = buf_append(s->body, p, n);
	if (r < 0) {
		s->too_big = r == -E2BIG;
		return 0;	/* short count: curl aborts the transfer */
	}
	return n;
}

static int
curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:	return -EHOSTUNREACH;
	case CURLE_FILESIZE_EXCEEDED:		return -EMSGSIZE;
	case CURLE_OUT_OF_MEMORY:		return -ENOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:	return -EPROTONOSUPPORT;
	default:				return -EIO;
	}
}

/* POST req to endpoint idx; the reply body goes into body.  Lock held. */
static int
http_post(struct rpc *c, size_t idx, const struct buf *req, struct buf *body)
{
	struct sink s = { body, false };
	CURLcode rc;
	long status = 0;

	buf_reset(body);
	if (curl_easy_setopt(c->curl, CURLOPT_URL, c->urls[idx]) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, (const char *)req->data) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &s) != CURLE_OK)
		return -EINVAL;
	c->stats.requests++;
	c->stats.bytes_sent += req->len;
	rc = curl_easy_perform(c->curl);
	c->stats.bytes_received += body->len;
	if (rc != CURLE_OK) {
		if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
			set_error(c, "endpoint %zu: reply larger than %zu bytes", idx, c->max_response);
			return -EMSGSIZE;
		}
		set_error(c, "endpoint %zu: %s", idx, curl_easy_strerror(rc));
		return curl_errno(rc);
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		set_error(c, "endpoint %zu: http status %ld", idx, status);
		return -EPROTO;
	}
	return 0;
}

typedef int (*decode_fn)(const struct jsonrpc_reply *rep, void *arg);

/* Parse and decode one body.  -EREMOTEIO fills err (when not NULL). */
static int
handle_body(struct rpc *c, size_t idx, const struct buf *body, uint64_t id,
	    decode_fn decode, void *arg, struct jsonrpc_error *err)
{
	struct jsonrpc_reply *rep;
	struct jsonrpc_error e;
	int r;

	r = jsonrpc_reply_parse((const char *)body->data, body->len, id, &rep, &e);
	if (r == -EREMOTEIO) {
		set_error(c, "endpoint %zu: json-rpc error %lld: %s", idx, (long long)e.code, e.message);
		if (err)
			*err = e;
		else
			jsonrpc_error_release(&e);
		return r;
	}
	if (r == -EMSGSIZE) {
		set_error(c, "endpoint %zu: reply larger than %u bytes", idx, JSONRPC_MAX_BODY);
		return r;
	}
	if (r < 0) {
		set_error(c, "endpoint %zu: invalid json-rpc reply", idx);
		return r;
	}
	r = decode(rep, arg);
	jsonrpc_reply_free(rep);
	if (r < 0 && r != -ENOENT)
		set_error(c, "endpoint %zu: unexpected result (%s)", idx, strerror(-r));
	return r;
}

/* Send the request built in q (freed here) with failover; see rpc.h. */
static int
exec(struct rpc *c, struct jsonrpc_req *q, uint64_t id, decode_fn decode, void *arg,
     struct jsonrpc_error *err)
{
	struct buf req, body;
	size_t tries, idx;
	int r;

	buf_init(&req, JSONRPC_MAX_REQUEST);
	r = jsonrpc_req_finish(q, &req);
	if (r < 0)
		return r == -E2BIG ? -EINVAL : r;
	pthread_mutex_lock(&c->lock);
	buf_init(&body, c->max_response);
	c->stats.calls++;
	for (tries = 0; tries < c->n_urls; tries++) {
		idx = (c->current + tries) % c->n_urls;
		if (tries > 0)
			c->stats.failovers++;
		r = http_post(c, idx, &req, &body);
		if (r == 0)
			r = handle_body(c, idx, &body, id, decode, arg, err);
		if (r == 0 || r == -ENOENT || r == -EREMOTEIO) {
			c->current = idx;
			break;
		}
		if (r == -ENOMEM || r == -EINVAL)
			break;
	}
	pthread_mutex_unlock(&c->lock);
	buf_release(&body);
	buf_release(&req);
	return r;
}

static int
start(struct rpc *c, const char *method, struct jsonrpc_req **ret_q, uint64_t *ret_id)
{
	uint64_t id = __atomic_fetch_add(&c->next_id, 1, __ATOMIC_RELAXED);

	/* ids stay below 2^53 as JSON needs; wrapping there takes centuries */
	id &= (1ull << 53) - 1;
	*ret_id = id;
	return jsonrpc_req_new(method, id, ret_q);
}

/* ---- decoders ------------------------------------------------------------- */

static int
dec_quantity(const struct jsonrpc_reply *rep, void *arg)
{
	return jsonrpc_result_quantity(rep, arg);
}

static int
dec_u256(const struct jsonrpc_reply *rep, void *arg)
{
	return jsonrpc_result_quantity_u256(rep, arg);
}

static int
dec_hash(const struct jsonrpc_reply *rep, void *arg)
{
	return jsonrpc_result_hash(rep, arg);
}

static int
dec_data(const struct jsonrpc_reply *rep, void *arg)
{
	return jsonrpc_result_data(rep, arg);
}

static int
dec_block(const struct jsonrpc_reply *rep, void *arg)
{
	return jsonrpc_result_block(rep, arg);
}

static int
dec_receipt(const struct jsonrpc_reply *rep, void *arg)
{
	return jsonrpc_result_receipt(rep, arg);
}

static int
dec_logs(const struct jsonrpc_reply *rep, void *arg)
{
	return jsonrpc_result_logs(rep, arg);
}

static int
dec_fee_history(const struct jsonrpc_reply *rep, void *arg)
{
	return jsonrpc_result_fee_history(rep, arg);
}

/* ---- typed calls -------------------------------------------------------------- */

static int
push_block_id(struct jsonrpc_req *q, const char *key, struct rpc_block_id at)
{
	static const char *const tags[] = {
		[RPC_LATEST] = "latest",
		[RPC_SAFE] = "safe",
		[RPC_FINALIZED] = "finalized",
		[RPC_PENDING] = "pending",
		[RPC_EARLIEST] = "earliest",
	};

	if (at.tag == RPC_NUMBER)
		return jsonrpc_req_quantity(q, key, at.number);
	if ((size_t)at.tag >= sizeof(tags) / sizeof(tags[0]) || !tags[at.tag])
		return jsonrpc_req_string(q, key, NULL);	/* makes the request -EINVAL */
	return jsonrpc_req_string(q, key, tags[at.tag]);
}

/* A call with no params and a quantity result. */
static int
simple_quantity(struct rpc *c, const char *method, uint64_t *ret, struct jsonrpc_error *err)
{
	struct jsonrpc_req *q;
	uint64_t id, v;
	int r;

	r = start(c, method, &q, &id);
	if (r < 0)
		return r;
	r = exec(c, q, id, dec_quantity, &v, err);
	if (r == 0)
		*ret = v;
	return r;
}

int
rpc_chain_id(struct rpc *c, uint64_t *ret)
{
	return simple_quantity(c, "eth_chainId", ret, NULL);
}

int
rpc_block_number(struct rpc *c, uint64_t *ret)
{
	return simple_quantity(c, "eth_blockNumber", ret, NULL);
}

int
rpc_gas_price(struct rpc *c, uint64_t *ret)
{
	return simple_quantity(c, "eth_gasPrice", ret, NULL);
}

int
rpc_max_priority_fee(struct rpc *c, uint64_t *ret)
{
	struct jsonrpc_error e;
	int r;

	r = simple_quantity(c, "eth_maxPriorityFeePerGas", ret, &e);
	if (r == -EREMOTEIO) {
		if (e.code == JSONRPC_METHOD_NOT_FOUND)
			r = -EOPNOTSUPP;
		jsonrpc_error_release(&e);
	}
	return r;
}

int
rpc_get_block(struct rpc *c, struct rpc_block_id at, struct jsonrpc_block *ret)
{
	struct jsonrpc_req *q;
	uint64_t id;
	int r;

	r = start(c, "eth_getBlockByNumber", &q, &id);
	if (r < 0)
		return r;
	push_block_id(q, NULL, at);
	jsonrpc_req_bool(q, NULL, false);
	return exec(c, q, id, dec_block, ret, NULL);
}

int
rpc_get_balance(struct rpc *c, const uint8_t addr[20], struct rpc_block_id at, uint8_t ret_be[32])
{
	struct jsonrpc_req *q;
	uint64_t id;
	int r;

	r = start(c, "eth_getBalance", &q, &id);
	if (r < 0)
		return r;
	jsonrpc_req_data(q, NULL, addr, 20);
	push_block_id(q, NULL, at);
	return exec(c, q, id, dec_u256, ret_be, NULL);
}

int
rpc_get_transaction_count(struct rpc *c, const uint8_t addr[20], struct rpc_block_id at,
			  uint64_t *ret)
{
	struct jsonrpc_req *q;
	uint64_t id, v;
	int r;

	r = start(c, "eth_getTransactionCount", &q, &id);
	if (r < 0)
		return r;
	jsonrpc_req_data(q, NULL, addr, 20);
	push_block_id(q, NULL, at);
	r = exec(c, q, id, dec_quantity, &v, NULL);
	if (r == 0)
		*ret = v;
	return r;
}

int
rpc_fee_history(struct rpc *c, uint64_t n_blocks, const unsigned *pct, size_t n_pct,
		struct jsonrpc_fee_history *ret)
{
	struct jsonrpc_req *q;
	uint64_t id;
	size_t i;
	int r;

	if (n_blocks == 0 || n_blocks > JSONRPC_MAX_FEE_BLOCKS || n_pct > JSONRPC_MAX_PERCENTILES)
		return -EINVAL;
	for (i = 0; i < n_pct; i++)
		if (pct[i] > 100 || (i > 0 && pct[i] < pct[i - 1]))
			return -EINVAL;
	r = start(c, "eth_feeHistory", &q, &id);
	if (r < 0)
		return r;
	jsonrpc_req_quantity(q, NULL, n_blocks);
	jsonrpc_req_string(q, NULL, "latest");
	jsonrpc_req_array_begin(q, NULL);
	for (i = 0; i < n_pct; i++)
		jsonrpc_req_int(q, NULL, pct[i]);
	jsonrpc_req_end(q);
	return exec(c, q, id, dec_fee_history, ret, NULL);
}

static void
push_call_msg(struct jsonrpc_req *q, const struct rpc_call_msg *m)
{
	jsonrpc_req_object_begin(q, NULL);
	if (m->from)
		jsonrpc_req_data(q, "from", m->from, 20);
	if (m->to)
		jsonrpc_req_data(q, "to", m->to, 20);
	if (m->value)
		jsonrpc_req_quantity_u256(q, "value", m->value);
	if (m->gas)
		jsonrpc_req_quantity(q, "gas", m->gas);
	jsonrpc_req_data(q, "data", m->data, m->data_len);
	jsonrpc_req_end(q);
}

int
rpc_estimate_gas(struct rpc *c, const struct rpc_call_msg *m, uint64_t *ret,
		 struct jsonrpc_error *err)
{
	struct jsonrpc_req *q;
	uint64_t id, v;
	int r;

	r = start(c, "eth_estimateGas", &q, &id);
	if (r < 0)
		return r;
	push_call_msg(q, m);
	r = exec(c, q, id, dec_quantity, &v, err);
	if (r == 0)
		*ret = v;
	return r;
}

int
rpc_eth_call(struct rpc *c, const struct rpc_call_msg *m, struct rpc_block_id at,
	     struct buf *out, struct jsonrpc_error *err)
{
	struct jsonrpc_req *q;
	uint64_t id;
	int r;

	r = start(c, "eth_call", &q, &id);
	if (r < 0)
		return r;
	push_call_msg(q, m);
	push_block_id(q, NULL, at);
	return exec(c, q, id, dec_data, out, err);
}

int
rpc_send_raw_transaction(struct rpc *c, const uint8_t *raw, size_t n, uint8_t ret_hash[32],
			 struct jsonrpc_error *err)
{
	struct jsonrpc_req *q;
	uint64_t id;
	int r;

	r = start(c, "eth_sendRawTransaction", &q, &id);
	if (r < 0)
		return r;
	jsonrpc_req_data(q, NULL, raw, n);
	return exec(c, q, id, dec_hash, ret_hash, err);
}

int
rpc_get_receipt(struct rpc *c, const uint8_t hash[32], struct jsonrpc_receipt *ret)
{
	struct jsonrpc_req *q;
	uint64_t id;
	int r;

	r = start(c, "eth_getTransactionReceipt", &q, &id);
	if (r < 0)
		return r;
	jsonrpc_req_data(q, NULL, hash, 32);
	return exec(c, q, id, dec_receipt, ret, NULL);
}

static void
push_filter(struct jsonrpc_req *q, const struct rpc_filter *f)
{
	size_t i, j;

	jsonrpc_req_object_begin(q, NULL);
	if (f->n_addresses == 1) {
		jsonrpc_req_data(q, "address", f->addresses[0], 20);
	} else if (f->n_addresses > 1) {
		jsonrpc_req_array_begin(q, "address");
		for (i = 0; i < f->n_addresses; i++)
			jsonrpc_req_data(q, NULL, f->addresses[i], 20);
		jsonrpc_req_end(q);
	}
	if (f->n_topics > 0) {
		jsonrpc_req_array_begin(q, "topics");
		for (i = 0; i < f->n_topics; i++) {
			if (f->n_topic[i] == 0) {
				jsonrpc_req_null(q, NULL);
				continue;
			}
			jsonrpc_req_array_begin(q, NULL);
			for (j = 0; j < f->n_topic[i]; j++)
				jsonrpc_req_data(q, NULL, f->topics[i][j], 32);
			jsonrpc_req_end(q);
		}
		jsonrpc_req_end(q);
	}
	push_block_id(q, "fromBlock", f->from);
	push_block_id(q, "toBlock", f->to);
	jsonrpc_req_end(q);
}

int
rpc_get_logs(struct rpc *c, const struct rpc_filter *f, struct jsonrpc_logs *ret)
{
	struct jsonrpc_req *q;
	uint64_t id;
	size_t i;
	int r;

	if (f->n_addresses > RPC_MAX_FILTER_ADDRESSES || f->n_topics > JSONRPC_MAX_TOPICS)
		return -EINVAL;
	for (i = 0; i < f->n_topics; i++)
		if (f->n_topic[i] > 0 && !f->topics[i])
			return -EINVAL;
	r = start(c, "eth_getLogs", &q, &id);
	if (r < 0)
		return r;
	push_filter(q, f);
	return exec(c, q, id, dec_logs, ret, NULL);
}
