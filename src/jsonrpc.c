#include "jsonrpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hex.h"

#define JSON_SAFE_INT	(1ull << 53)	/* doubles hold integers exactly below this */

/* ---- requests ------------------------------------------------------------ */

struct jsonrpc_req {
	cJSON *root;
	cJSON *stack[JSONRPC_REQ_MAX_DEPTH];	/* stack[0] is "params" */
	size_t depth;
	int err;				/* first error, sticky */
};

void
jsonrpc_req_free(struct jsonrpc_req *q)
{
	if (!q)
		return;
	cJSON_Delete(q->root);
	free(q);
}

int
jsonrpc_req_new(const char *method, uint64_t id, struct jsonrpc_req **ret_req)
{
	struct jsonrpc_req *q;
	cJSON *params;

	if (!method || !*method || id >= JSON_SAFE_INT)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->root = cJSON_CreateObject();
	if (!q->root ||
	    !cJSON_AddStringToObject(q->root, "jsonrpc", "2.0") ||
	    !cJSON_AddNumberToObject(q->root, "id", (double)id) ||
	    !cJSON_AddStringToObject(q->root, "method", method) ||
	    !(params = cJSON_AddArrayToObject(q->root, "params"))) {
		jsonrpc_req_free(q);
		return -ENOMEM;
	}
	q->stack[0] = params;
	q->depth = 1;
	*ret_req = q;
	return 0;
}

/* Attach item (owned from here on) to the innermost open container. */
static int
req_add(struct jsonrpc_req *q, const char *key, cJSON *item)
{
	cJSON *cur;

	if (q->err < 0)
		goto out_delete;
	if (!item) {
		q->err = -ENOMEM;
		return q->err;
	}
	cur = q->stack[q->depth - 1];
	if (cJSON_IsArray(cur) != (key == NULL)) {
		q->err = -EINVAL;
		goto out_delete;
	}
	if (key ? !cJSON_AddItemToObject(cur, key, item) : !cJSON_AddItemToArray(cur, item)) {
		q->err = -ENOMEM;
		goto out_delete;
	}
	return 0;
out_delete:
	cJSON_Delete(item);
	return q->err;
}

int
jsonrpc_req_string(struct jsonrpc_req *q, const char *key, const char *s)
{
	if (!s && q->err == 0)
		q->err = -EINVAL;
	return req_add(q, key, s ? cJSON_CreateString(s) : NULL);
}

int
jsonrpc_req_bool(struct jsonrpc_req *q, const char *key, bool v)
{
	return req_add(q, key, cJSON_CreateBool(v));
}

int
jsonrpc_req_int(struct jsonrpc_req *q, const char *key, int64_t v)
{
	if ((v >= 0 ? (uint64_t)v : -(uint64_t)v) >= JSON_SAFE_INT && q->err == 0)
		q->err = -EINVAL;
	return req_add(q, key, cJSON_CreateNumber((double)v));
}

int
jsonrpc_req_null(struct jsonrpc_req *q, const char *key)
{
	return req_add(q, key, cJSON_CreateNull());
}

int
jsonrpc_req_quantity(struct jsonrpc_req *q, const char *key, uint64_t v)
{
	char s[QUANTITY_U64_STRLEN];

	if (quantity_format_u64(v, s, sizeof(s)) < 0) {
		if (q->err == 0)
			q->err = -EINVAL;
		return q->err;
	}
	return req_add(q, key, cJSON_CreateString(s));
}

int
jsonrpc_req_quantity_u256(struct jsonrpc_req *q, const char *key, const uint8_t v_be[32])
{
	char s[QUANTITY_U256_STRLEN];

	if (quantity_format_u256(v_be, s, sizeof(s)) < 0) {
		if (q->err == 0)
			q->err = -EINVAL;
		return q->err;
	}
	return req_add(q, key, cJSON_CreateString(s));
}

int
jsonrpc_req_data(struct jsonrpc_req *q, const char *key, const uint8_t *p, size_t n)
{
	cJSON *item = NULL;
	size_t sz;
	char *s;

	if (n > JSONRPC_MAX_REQUEST / 2) {
		if (q->err == 0)
			q->err = -E2BIG;
		return q->err;
	}
	sz = 2 * n + 3;
	s = malloc(sz);
	if (s && hex_encode(p, n, true, s, sz) >= 0)
		item = cJSON_CreateString(s);
	free(s);
	return req_add(q, key, item);
}

static int
req_open(struct jsonrpc_req *q, const char *key, cJSON *c)
{
	int r;

	if (q->err == 0 && q->depth == JSONRPC_REQ_MAX_DEPTH)
		q->err = -E2BIG;
	r = req_add(q, key, c);
	if (r < 0)
		return r;
	q->stack[q->depth++] = c;
	return 0;
}

int
jsonrpc_req_object_begin(struct jsonrpc_req *q, const char *key)
{
	return req_open(q, key, cJSON_CreateObject());
}

int
jsonrpc_req_array_begin(struct jsonrpc_req *q, const char *key)
{
	return req_open(q, key, cJSON_CreateArray());
}

int
jsonrpc_req_end(struct jsonrpc_req *q)
{
	if (q->err < 0)
		return q->err;
	if (q->depth <= 1) {
		q->err = -EINVAL;
		return q->err;
	}
	q->depth--;
	return 0;
}

int
jsonrpc_req_finish(struct jsonrpc_req *q, struct buf *out)
{
	char *s = NULL;
	size_t n;
	int r = q->err;

	if (r == 0 && q->depth != 1)
		r = -EINVAL;
	if (r == 0) {
		s = cJSON_PrintUnformatted(q->root);
		if (!s)
			r = -ENOMEM;
	}
	if (r == 0) {
		n = strlen(s);
		r = n > JSONRPC_MAX_REQUEST ? -E2BIG : buf_append(out, s, n);
	}
	cJSON_free(s);
	jsonrpc_req_free(q);
	return r;
}

/* ---- field readers --------------------------------------------------------- */

struct jsonrpc_reply {
	cJSON *root;
	const cJSON *result;	/* inside root */
};

static const cJSON *
member(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* The string value of it (which must be a string) and its length. */
static int
str_of(const cJSON *it, const char **ret_s, size_t *ret_n)
{
	if (!cJSON_IsString(it) || !it->valuestring)
		return -EBADMSG;
	*ret_s = it->valuestring;
	*ret_n = strlen(it->valuestring);
	return 0;
}

static int
quantity_of(const cJSON *it, uint64_t *ret)
{
	const char *s;
	size_t n;
	int r;

	r = str_of(it, &s, &n);
	if (r < 0)
		return r;
	r = quantity_parse_u64(s, n, ret);
	return r == -ERANGE ? r : (r < 0 ? -EBADMSG : 0);
}

static int
quantity_u256_of(const cJSON *it, uint8_t ret_be[32])
{
	const char *s;
	size_t n;
	int r;

	r = str_of(it, &s, &n);
	if (r < 0)
		return r;
	r = quantity_parse_u256(s, n, ret_be);
	return r == -ERANGE ? r : (r < 0 ? -EBADMSG : 0);
}

static bool
has_0x(const char *s, size_t n)
{
	return n >= 2 && s[0] == '0' && s[1] == 'x';
}

/* DATA of exactly outlen bytes: "0x" + 2*outlen hex digits. */
static int
fixed_of(const cJSON *it, uint8_t *out, size_t outlen)
{
	const char *s;
	size_t n;

	if (str_of(it, &s, &n) < 0 || !has_0x(s, n))
		return -EBADMSG;
	return hex_decode_exact(s, n, out, outlen) < 0 ? -EBADMSG : 0;
}

/* DATA of any length up to cap: a malloc'd copy (NULL when empty). */
static int
data_of(const cJSON *it, size_t cap, uint8_t **ret_p, size_t *ret_n)
{
	struct buf b;
	const char *s;
	size_t n;
	int r;

	if (str_of(it, &s, &n) < 0 || !has_0x(s, n))
		return -EBADMSG;
	if ((n - 2) / 2 > cap)
		return -E2BIG;
	buf_init(&b, cap);
	r = hex_decode_buf(s, n, &b);
	if (r < 0) {
		buf_release(&b);
		return r == -EINVAL ? -EBADMSG : r;
	}
	buf_steal(&b, ret_p, ret_n);
	return 0;
}

static int
field_quantity(const cJSON *obj, const char *key, uint64_t *ret)
{
	return quantity_of(member(obj, key), ret);
}

static int
field_fixed(const cJSON *obj, const char *key, uint8_t *out, size_t outlen)
{
	return fixed_of(member(obj, key), out, outlen);
}

/* ---- replies ------------------------------------------------------------- */

void
jsonrpc_error_release(struct jsonrpc_error *e)
{
	free(e->data);
	e->data = NULL;
	e->data_len = 0;
	e->has_data = false;
}

static int
parse_error_object(const cJSON *eo, struct jsonrpc_error *err)
{
	const cJSON *code = member(eo, "code"), *data = member(eo, "data");
	const char *msg;
	uint8_t *dp = NULL;
	size_t mlen, dlen = 0;
	bool has_data = false;
	double c;
	int r;

	if (!cJSON_IsObject(eo) || !cJSON_IsNumber(code))
		return -EBADMSG;
	c = code->valuedouble;
	if (!(c > -(double)JSON_SAFE_INT && c < (double)JSON_SAFE_INT) || c != (double)(int64_t)c)
		return -EBADMSG;
	if (str_of(member(eo, "message"), &msg, &mlen) < 0)
		return -EBADMSG;
	if (mlen > JSONRPC_MAX_MESSAGE)
		return -EBADMSG;
	/* Only hex data is kept: it is what revert decoding needs.  Nodes put
	 * other things there too (text, objects); those are ignored. */
	if (cJSON_IsString(data) && data->valuestring && has_0x(data->valuestring, strlen(data->valuestring))) {
		r = data_of(data, JSONRPC_MAX_DATA, &dp, &dlen);
		if (r == -E2BIG || r == -ENOMEM)
			return r == -E2BIG ? -EBADMSG : r;
		has_data = r == 0;
	}
	err->code = (int64_t)c;
	memcpy(err->message, msg, mlen + 1);
	err->has_data = has_data;
	err->data = dp;
	err->data_len = dlen;
	return -EREMOTEIO;
}

/* Only whitespace may follow the JSON value. */
static bool
only_space(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	return true;
}

static int
check_envelope(const cJSON *root, uint64_t id)
{
	const cJSON *v = member(root, "jsonrpc"), *idv = member(root, "id");

	if (!cJSON_IsObject(root))
		return -EBADMSG;
	if (!cJSON_IsString(v) || !v->valuestring || strcmp(v->valuestring, "2.0") != 0)
		return -EBADMSG;
	if (!cJSON_IsNumber(idv) || idv->valuedouble != (double)id)
		return -EBADMSG;
	return 0;
}

int
jsonrpc_reply_parse(const char *body, size_t len, uint64_t id,
		    struct jsonrpc_reply **ret_reply, struct jsonrpc_error *err)
{
	struct jsonrpc_reply *rep;
	const cJSON *result, *eo;
	const char *end = NULL;
	char *copy;
	cJSON *root;
	int r;

	if (len > JSONRPC_MAX_BODY)
		return -EMSGSIZE;
	if (len == 0 || memchr(body, '\0', len))
		return -EBADMSG;
	/* A private NUL-terminated copy: the parser never reads past it. */
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, body, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, false);
	r = !root || !end || !only_space(end, copy + len) ? -EBADMSG : 0;
	free(copy);
	if (r == 0)
		r = check_envelope(root, id);
	if (r < 0)
		goto out_delete;
	result = member(root, "result");
	eo = member(root, "error");
	if (!result == !eo) {
		r = -EBADMSG;
		goto out_delete;
	}
	if (eo) {
		r = parse_error_object(eo, err);
		goto out_delete;
	}
	rep = malloc(sizeof(*rep));
	if (!rep) {
		r = -ENOMEM;
		goto out_delete;
	}
	rep->root = root;
	rep->result = result;
	*ret_reply = rep;
	return 0;
out_delete:
	cJSON_Delete(root);
	return r;
}

void
jsonrpc_reply_free(struct jsonrpc_reply *rep)
{
	if (!rep)
		return;
	cJSON_Delete(rep->root);
	free(rep);
}

bool
jsonrpc_result_is_null(const struct jsonrpc_reply *rep)
{
	return cJSON_IsNull(rep->result);
}

int
jsonrpc_result_quantity(const struct jsonrpc_reply *rep, uint64_t *ret)
{
	return quantity_of(rep->result, ret);
}

int
jsonrpc_result_quantity_u256(const struct jsonrpc_reply *rep, uint8_t ret_be[32])
{
	return quantity_u256_of(rep->result, ret_be);
}

int
jsonrpc_result_data(const struct jsonrpc_reply *rep, struct buf *out)
{
	uint8_t *p;
	size_t n;
	int r;

	r = data_of(rep->result, JSONRPC_MAX_DATA, &p, &n);
	if (r < 0)
		return r;
	r = buf_append(out, p, n);
	free(p);
	return r;
}

int
jsonrpc_result_hash(const struct jsonrpc_reply *rep, uint8_t ret[32])
{
	return fixed_of(rep->result, ret, 32);
}

int
jsonrpc_result_block(const struct jsonrpc_reply *rep, struct jsonrpc_block *ret)
{
	const cJSON *o = rep->result, *bf;
	struct jsonrpc_block b;
	int r;

	if (cJSON_IsNull(o))
		return -ENOENT;
	if (!cJSON_IsObject(o))
		return -EBADMSG;
	memset(&b, 0, sizeof(b));
	if ((r = field_quantity(o, "number", &b.number)) < 0 ||
	    (r = field_fixed(o, "hash", b.hash, 32)) < 0 ||
	    (r = field_fixed(o, "parentHash", b.parent_hash, 32)) < 0 ||
	    (r = field_quantity(o, "timestamp", &b.timestamp)) < 0)
		return r;
	bf = member(o, "baseFeePerGas");
	if (bf && !cJSON_IsNull(bf)) {
		r = quantity_of(bf, &b.base_fee);
		if (r < 0)
			return r;
		b.has_base_fee = true;
	}
	*ret = b;
	return 0;
}

void
jsonrpc_logs_release(struct jsonrpc_logs *logs)
{
	size_t i;

	for (i = 0; i < logs->n; i++)
		free(logs->v[i].data);
	free(logs->v);
	logs->v = NULL;
	logs->n = 0;
}

static int
parse_topics(const cJSON *arr, struct jsonrpc_log *l)
{
	const cJSON *t;
	size_t n = 0;

	if (!cJSON_IsArray(arr))
		return -EBADMSG;
	cJSON_ArrayForEach(t, arr) {
		if (n == JSONRPC_MAX_TOPICS)
			return -EBADMSG;
		if (fixed_of(t, l->topics[n], 32) < 0)
			return -EBADMSG;
		n++;
	}
	l->n_topics = n;
	return 0;
}

/* Fill l from o; on failure l->data is already freed. */
static int
parse_log(const cJSON *o, struct jsonrpc_log *l)
{
	const cJSON *rm;
	int r;

	memset(l, 0, sizeof(*l));
	if (!cJSON_IsObject(o))
		return -EBADMSG;
	if ((r = field_fixed(o, "address", l->address, 20)) < 0 ||
	    (r = parse_topics(member(o, "topics"), l)) < 0 ||
	    (r = field_quantity(o, "blockNumber", &l->block_number)) < 0 ||
	    (r = field_fixed(o, "blockHash", l->block_hash, 32)) < 0 ||
	    (r = field_quantity(o, "logIndex", &l->log_index)) < 0 ||
	    (r = field_fixed(o, "transactionHash", l->tx_hash, 32)) < 0)
		return r;
	rm = member(o, "removed");
	if (rm) {
		if (!cJSON_IsBool(rm))
			return -EBADMSG;
		l->removed = cJSON_IsTrue(rm);
	}
	return data_of(member(o, "data"), JSONRPC_MAX_DATA, &l->data, &l->data_len);
}

static int
parse_logs(const cJSON *arr, struct jsonrpc_logs *ret)
{
	struct jsonrpc_logs logs = { NULL, 0 };
	const cJSON *o;
	int count, r;

	if (!cJSON_IsArray(arr))
		return -EBADMSG;
	count = cJSON_GetArraySize(arr);
	if (count < 0 || (size_t)count > JSONRPC_MAX_LOGS)
		return -E2BIG;
	if (count > 0) {
		logs.v = calloc((size_t)count, sizeof(*logs.v));
		if (!logs.v)
			return -ENOMEM;
	}
	cJSON_ArrayForEach(o, arr) {
		r = parse_log(o, &logs.v[logs.n]);
		if (r < 0) {
			jsonrpc_logs_release(&logs);
			return r;
		}
		logs.n++;
	}
	*ret = logs;
	return 0;
}

int
jsonrpc_result_logs(const struct jsonrpc_reply *rep, struct jsonrpc_logs *ret)
{
	return parse_logs(rep->result, ret);
}

void
jsonrpc_receipt_release(struct jsonrpc_receipt *r)
{
	jsonrpc_logs_release(&r->logs);
}

int
jsonrpc_result_receipt(const struct jsonrpc_reply *rep, struct jsonrpc_receipt *ret)
{
	const cJSON *o = rep->result, *ca, *egp;
	struct jsonrpc_receipt rc;
	uint64_t status;
	int r;

	if (cJSON_IsNull(o))
		return -ENOENT;
	if (!cJSON_IsObject(o))
		return -EBADMSG;
	memset(&rc, 0, sizeof(rc));
	if ((r = field_fixed(o, "transactionHash", rc.tx_hash, 32)) < 0 ||
	    (r = field_fixed(o, "from", rc.from, 20)) < 0 ||
	    (r = field_quantity(o, "status", &status)) < 0 ||
	    (r = field_quantity(o, "blockNumber", &rc.block_number)) < 0 ||
	    (r = field_fixed(o, "blockHash", rc.block_hash, 32)) < 0 ||
	    (r = field_quantity(o, "gasUsed", &rc.gas_used)) < 0)
		return r;
	if (status > 1)
		return -EBADMSG;
	rc.status = status == 1;
	egp = member(o, "effectiveGasPrice");
	if (egp && (r = quantity_of(egp, &rc.effective_gas_price)) < 0)
		return r;
	ca = member(o, "contractAddress");
	if (ca && !cJSON_IsNull(ca)) {
		if ((r = fixed_of(ca, rc.contract_address, 20)) < 0)
			return r;
		rc.has_contract_address = true;
	}
	r = parse_logs(member(o, "logs"), &rc.logs);
	if (r < 0)
		return r;
	*ret = rc;
	return 0;
}

/* Read an array of at most cap quantities into out. */
static int
quantity_array(const cJSON *arr, uint64_t *out, size_t cap, size_t *ret_n)
{
	const cJSON *it;
	size_t n = 0;
	int r;

	if (!cJSON_IsArray(arr))
		return -EBADMSG;
	cJSON_ArrayForEach(it, arr) {
		if (n == cap)
			return -E2BIG;
		r = quantity_of(it, &out[n]);
		if (r < 0)
			return r;
		n++;
	}
	*ret_n = n;
	return 0;
}

static int
fee_rewards(const cJSON *arr, struct jsonrpc_fee_history *h)
{
	const cJSON *row;
	size_t i = 0, n;
	int r;

	if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) != h->n_blocks)
		return -EBADMSG;
	cJSON_ArrayForEach(row, arr) {
		r = quantity_array(row, h->reward[i], JSONRPC_MAX_PERCENTILES, &n);
		if (r < 0)
			return r;
		if (i > 0 && n != h->n_percentiles)
			return -EBADMSG;
		h->n_percentiles = n;
		i++;
	}
	return 0;
}

int
jsonrpc_result_fee_history(const struct jsonrpc_reply *rep, struct jsonrpc_fee_history *ret)
{
	const cJSON *o = rep->result, *rw;
	struct jsonrpc_fee_history *h;
	size_t n;
	int r;

	if (cJSON_IsNull(o))
		return -ENOENT;
	if (!cJSON_IsObject(o))
		return -EBADMSG;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = field_quantity(o, "oldestBlock", &h->oldest_block);
	if (r == 0)
		r = quantity_array(member(o, "baseFeePerGas"), h->base_fee,
				   JSONRPC_MAX_FEE_BLOCKS + 1, &n);
	if (r == 0 && n == 0)
		r = -EBADMSG;
	if (r == 0) {
		h->n_blocks = n - 1;
		rw = member(o, "reward");
		if (rw && !cJSON_IsNull(rw))
			r = fee_rewards(rw, h);
	}
	if (r == 0)
		*ret = *h;
	free(h);
	return r;
}
