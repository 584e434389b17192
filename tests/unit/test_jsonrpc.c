#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "hex.h"
#include "jsonrpc.h"

/* Parse s as the reply to id 1; returns what jsonrpc_reply_parse returned. */
static int
parse(const char *s, struct jsonrpc_reply **rep, struct jsonrpc_error *err)
{
	return jsonrpc_reply_parse(s, strlen(s), 1, rep, err);
}

/* ---- requests ---- */

static void
test_request_quoting_and_nesting(void **state)
{
	struct jsonrpc_req *q;
	struct buf out;
	uint8_t addr[3] = { 0xab, 0x00, 0x01 };

	(void)state;
	buf_init(&out, JSONRPC_MAX_REQUEST);
	assert_int_equal(jsonrpc_req_new("eth_call", 7, &q), 0);
	assert_int_equal(jsonrpc_req_object_begin(q, NULL), 0);
	assert_int_equal(jsonrpc_req_data(q, "to", addr, 3), 0);
	assert_int_equal(jsonrpc_req_quantity(q, "gas", 21000), 0);
	assert_int_equal(jsonrpc_req_array_begin(q, "topics"), 0);
	assert_int_equal(jsonrpc_req_null(q, NULL), 0);
	assert_int_equal(jsonrpc_req_string(q, NULL, "a\"b\\c\n\x01"), 0);
	assert_int_equal(jsonrpc_req_end(q), 0);
	assert_int_equal(jsonrpc_req_end(q), 0);
	assert_int_equal(jsonrpc_req_string(q, NULL, "latest"), 0);
	assert_int_equal(jsonrpc_req_bool(q, NULL, false), 0);
	assert_int_equal(jsonrpc_req_int(q, NULL, -25), 0);
	assert_int_equal(jsonrpc_req_quantity(q, NULL, 0), 0);
	assert_int_equal(jsonrpc_req_finish(q, &out), 0);
	assert_string_equal((char *)out.data,
		"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"eth_call\",\"params\":"
		"[{\"to\":\"0xab0001\",\"gas\":\"0x5208\",\"topics\":[null,\"a\\\"b\\\\c\\n\\u0001\"]},"
		"\"latest\",false,-25,\"0x0\"]}");
	buf_release(&out);
}

static void
test_request_misuse_is_sticky(void **state)
{
	struct jsonrpc_req *q;
	struct buf out;
	int i;

	(void)state;
	buf_init(&out, JSONRPC_MAX_REQUEST);
	/* key inside an array */
	assert_int_equal(jsonrpc_req_new("m", 1, &q), 0);
	assert_int_equal(jsonrpc_req_string(q, "k", "v"), -EINVAL);
	assert_int_equal(jsonrpc_req_string(q, NULL, "v"), -EINVAL);	/* sticky */
	assert_int_equal(jsonrpc_req_finish(q, &out), -EINVAL);
	/* missing key inside an object */
	assert_int_equal(jsonrpc_req_new("m", 1, &q), 0);
	jsonrpc_req_object_begin(q, NULL);
	assert_int_equal(jsonrpc_req_bool(q, NULL, true), -EINVAL);
	assert_int_equal(jsonrpc_req_finish(q, &out), -EINVAL);
	/* unclosed object, and closing the params array */
	assert_int_equal(jsonrpc_req_new("m", 1, &q), 0);
	jsonrpc_req_object_begin(q, NULL);
	assert_int_equal(jsonrpc_req_finish(q, &out), -EINVAL);
	assert_int_equal(jsonrpc_req_new("m", 1, &q), 0);
	assert_int_equal(jsonrpc_req_end(q), -EINVAL);
	jsonrpc_req_free(q);
	/* too deep */
	assert_int_equal(jsonrpc_req_new("m", 1, &q), 0);
	for (i = 1; i < JSONRPC_REQ_MAX_DEPTH; i++)
		assert_int_equal(jsonrpc_req_array_begin(q, NULL), 0);
	assert_int_equal(jsonrpc_req_array_begin(q, NULL), -E2BIG);
	assert_int_equal(jsonrpc_req_finish(q, &out), -E2BIG);
	/* bad arguments */
	assert_int_equal(jsonrpc_req_new("", 1, &q), -EINVAL);
	assert_int_equal(jsonrpc_req_new("m", 1ull << 53, &q), -EINVAL);
	assert_int_equal(jsonrpc_req_new("m", 1, &q), 0);
	assert_int_equal(jsonrpc_req_int(q, NULL, (int64_t)1 << 53), -EINVAL);
	assert_int_equal(jsonrpc_req_finish(q, &out), -EINVAL);
	assert_int_equal(out.len, 0);
	buf_release(&out);
}

/* ---- envelope ---- */

static void
test_envelope(void **state)
{
	struct jsonrpc_reply *rep;
	struct jsonrpc_error err;
	uint64_t v;
	static const char *const bad[] = {
		"",
		"   ",
		"null",
		"[]",
		"{\"jsonrpc\":\"2.0\",\"id\":1}",					/* neither */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\",\"error\":{\"code\":1,\"message\":\"x\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0x1\"}",			/* wrong id */
		"{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":\"0x1\"}",		/* id as string */
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":\"0x1\"}",
		"{\"id\":1,\"result\":\"0x1\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"} x",		/* trailing garbage */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}{}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"",			/* truncated */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":0x1}",			/* not JSON */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"1\",\"message\":\"x\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1.5,\"message\":\"x\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"boom\"}",
	};
	static const char with_nul[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}\0";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rep = NULL;
		assert_int_equal(parse(bad[i], &rep, &err), -EBADMSG);
		assert_null(rep);
	}
	/* embedded NUL */
	assert_int_equal(jsonrpc_reply_parse(with_nul, sizeof(with_nul) - 1, 1, &rep, &err), -EBADMSG);
	/* whitespace around is fine */
	assert_int_equal(parse(" \n{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1f\"}\r\n", &rep, &err), 0);
	assert_int_equal(jsonrpc_result_quantity(rep, &v), 0);
	assert_int_equal(v, 31);
	jsonrpc_reply_free(rep);
}

static void
test_every_truncation_fails_cleanly(void **state)
{
	static const char body[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"number\":\"0x1b4\","
		"\"hash\":\"0xdc0818cf78f21a8e70579cb46a43643f78291264dda342ae31049421c82d21ae\","
		"\"parentHash\":\"0xe99e022112df268087ea7eafaf4790497fd21dbeeb6bd7a1721df161a6657a54\","
		"\"timestamp\":\"0x55ba467c\",\"baseFeePerGas\":\"0x7\"}}";
	struct jsonrpc_reply *rep;
	struct jsonrpc_error err;
	struct jsonrpc_block b;
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(body) - 1; n++)
		assert_int_equal(jsonrpc_reply_parse(body, n, 1, &rep, &err), -EBADMSG);
	assert_int_equal(jsonrpc_reply_parse(body, n, 1, &rep, &err), 0);
	assert_int_equal(jsonrpc_result_block(rep, &b), 0);
	assert_int_equal(b.number, 0x1b4);
	assert_int_equal(b.timestamp, 0x55ba467c);
	assert_true(b.has_base_fee);
	assert_int_equal(b.base_fee, 7);
	assert_int_equal(b.hash[0], 0xdc);
	assert_int_equal(b.parent_hash[31], 0x54);
	jsonrpc_reply_free(rep);
}

static void
test_oversized_body(void **state)
{
	struct jsonrpc_reply *rep;
	struct jsonrpc_error err;
	char *big;

	(void)state;
	big = malloc(JSONRPC_MAX_BODY + 1);
	assert_non_null(big);
	memset(big, ' ', JSONRPC_MAX_BODY + 1);
	assert_int_equal(jsonrpc_reply_parse(big, JSONRPC_MAX_BODY + 1, 1, &rep, &err), -EMSGSIZE);
	free(big);
}

/* ---- error objects ---- */

static void
test_error_object(void **state)
{
	/* anvil's reply to eth_call of a function that does revert("nope") */
	static const char body[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":3,\"message\":\"execution reverted: nope\","
		"\"data\":\"0x08c379a000000000000000000000000000000000000000000000000000000000000000200"
		"0000000000000000000000000000000000000000000000000000000000000046e6f706500000000000000"
		"000000000000000000000000000000000000000000\"}}";
	struct jsonrpc_reply *rep = NULL;
	struct jsonrpc_error err;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(parse(body, &rep, &err), -EREMOTEIO);
	assert_null(rep);
	assert_int_equal(err.code, 3);
	assert_string_equal(err.message, "execution reverted: nope");
	assert_true(err.has_data);
	assert_int_equal(err.data_len, 4 + 3 * 32);
	assert_int_equal(err.data[0], 0x08);
	assert_memory_equal(err.data + 4 + 64, "nope", 4);
	jsonrpc_error_release(&err);
	assert_null(err.data);

	/* negative code, non-hex data ignored */
	assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,"
			       "\"message\":\"nonce too low\",\"data\":{\"x\":1}}}", &rep, &err), -EREMOTEIO);
	assert_int_equal(err.code, -32000);
	assert_string_equal(err.message, "nonce too low");
	assert_false(err.has_data);
	jsonrpc_error_release(&err);

	/* malformed hex data is left out; the error itself still surfaces */
	assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":3,"
			       "\"message\":\"m\",\"data\":\"0xzz\"}}", &rep, &err), -EREMOTEIO);
	assert_false(err.has_data);
	jsonrpc_error_release(&err);
}

static void
test_error_message_cap(void **state)
{
	struct jsonrpc_reply *rep;
	struct jsonrpc_error err;
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(buf_puts(&b, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"message\":\""), 0);
	for (int i = 0; i < JSONRPC_MAX_MESSAGE; i++)
		assert_int_equal(buf_putc(&b, 'm'), 0);
	assert_int_equal(buf_puts(&b, "\"}}"), 0);
	assert_int_equal(jsonrpc_reply_parse((char *)b.data, b.len, 1, &rep, &err), -EREMOTEIO);
	assert_int_equal(strlen(err.message), JSONRPC_MAX_MESSAGE);
	jsonrpc_error_release(&err);
	b.len -= 3;
	assert_int_equal(buf_puts(&b, "m\"}}"), 0);
	assert_int_equal(jsonrpc_reply_parse((char *)b.data, b.len, 1, &rep, &err), -EBADMSG);
	buf_release(&b);
}

/* ---- typed results ---- */

/* Wrap a result in an envelope for id 1. */
static int
parse_result(const char *result, struct jsonrpc_reply **rep)
{
	struct jsonrpc_error err;
	char body[8192];
	int n;

	n = snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":%s}", result);
	assert_true(n > 0 && (size_t)n < sizeof(body));
	return jsonrpc_reply_parse(body, (size_t)n, 1, rep, &err);
}

static void
test_quantity_types(void **state)
{
	static const struct {
		const char *json;
		int ret;
		uint64_t v;
	} cases[] = {
		{ "\"0x0\"", 0, 0 },
		{ "\"0xffffffffffffffff\"", 0, UINT64_MAX },
		{ "\"0x10000000000000000\"", -ERANGE, 0 },
		{ "\"0x01\"", -EBADMSG, 0 },		/* leading zero */
		{ "\"0x\"", -EBADMSG, 0 },
		{ "\"12\"", -EBADMSG, 0 },
		{ "12", -EBADMSG, 0 },			/* number, not string */
		{ "null", -EBADMSG, 0 },
		{ "[\"0x1\"]", -EBADMSG, 0 },
		{ "\"0x1g\"", -EBADMSG, 0 },
	};
	struct jsonrpc_reply *rep;
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_result(cases[i].json, &rep), 0);
		v = 12345;
		assert_int_equal(jsonrpc_result_quantity(rep, &v), cases[i].ret);
		assert_int_equal(v, cases[i].ret == 0 ? cases[i].v : 12345);
		jsonrpc_reply_free(rep);
	}
}

static void
test_u256_data_hash(void **state)
{
	struct jsonrpc_reply *rep;
	uint8_t u[32], h[32];
	struct buf b;

	(void)state;
	assert_int_equal(parse_result("\"0x21e19e0c9bab2400000\"", &rep), 0);	/* 10000 ether */
	assert_int_equal(jsonrpc_result_quantity_u256(rep, u), 0);
	assert_int_equal(u[31], 0);
	assert_int_equal(u[22], 0x02);
	assert_int_equal(u[23], 0x1e);
	jsonrpc_reply_free(rep);

	buf_init(&b, 4);
	assert_int_equal(parse_result("\"0x0102\"", &rep), 0);
	assert_int_equal(jsonrpc_result_data(rep, &b), 0);
	assert_int_equal(b.len, 2);
	assert_int_equal(jsonrpc_result_data(rep, &b), 0);
	assert_int_equal(jsonrpc_result_data(rep, &b), -E2BIG);		/* out's cap */
	assert_int_equal(b.len, 4);
	assert_int_equal(jsonrpc_result_hash(rep, h), -EBADMSG);		/* not 32 bytes */
	jsonrpc_reply_free(rep);
	buf_reset(&b);
	assert_int_equal(parse_result("\"0x\"", &rep), 0);
	assert_int_equal(jsonrpc_result_data(rep, &b), 0);
	assert_int_equal(b.len, 0);
	jsonrpc_reply_free(rep);
	assert_int_equal(parse_result("\"0x012\"", &rep), 0);		/* odd */
	assert_int_equal(jsonrpc_result_data(rep, &b), -EBADMSG);
	jsonrpc_reply_free(rep);
	assert_int_equal(parse_result("\"0102\"", &rep), 0);		/* no prefix */
	assert_int_equal(jsonrpc_result_data(rep, &b), -EBADMSG);
	jsonrpc_reply_free(rep);
	buf_release(&b);
}

#define H32A "\"0x1111111111111111111111111111111111111111111111111111111111111111\""
#define H32B "\"0x2222222222222222222222222222222222222222222222222222222222222222\""
#define ADDR "\"0x5fbdb2315678afecb367f032d93f642f64180aa3\""
#define LOG(topics, data) \
	"{\"address\":" ADDR ",\"topics\":" topics ",\"data\":" data "," \
	"\"blockNumber\":\"0x5\",\"blockHash\":" H32A ",\"logIndex\":\"0x0\"," \
	"\"transactionHash\":" H32B ",\"transactionIndex\":\"0x0\",\"removed\":false}"

static void
test_logs(void **state)
{
	struct jsonrpc_reply *rep;
	struct jsonrpc_logs logs = { 0 };
	static const char *const bad[] = {
		"[" LOG("[" H32A "," H32A "," H32A "," H32A "," H32A "]", "\"0x\"") "]",	/* 5 topics */
		"[" LOG("[\"0x11\"]", "\"0x\"") "]",						/* short topic */
		"[" LOG("[]", "\"0x1\"") "]",							/* odd data */
		"[" LOG("[]", "null") "]",
		"[" LOG("null", "\"0x\"") "]",
		"[{\"address\":" ADDR "}]",							/* fields missing */
		"{}",
		"[1]",
	};
	size_t i;

	(void)state;
	assert_int_equal(parse_result("[" LOG("[" H32A "," H32B "]", "\"0xdeadbeef\"") ","
				      LOG("[]", "\"0x\"") "]", &rep), 0);
	assert_int_equal(jsonrpc_result_logs(rep, &logs), 0);
	assert_int_equal(logs.n, 2);
	assert_int_equal(logs.v[0].n_topics, 2);
	assert_int_equal(logs.v[0].topics[1][0], 0x22);
	assert_int_equal(logs.v[0].data_len, 4);
	assert_int_equal(logs.v[0].data[3], 0xef);
	assert_int_equal(logs.v[0].block_number, 5);
	assert_int_equal(logs.v[0].address[0], 0x5f);
	assert_int_equal(logs.v[0].tx_hash[0], 0x22);
	assert_false(logs.v[0].removed);
	assert_int_equal(logs.v[1].n_topics, 0);
	assert_int_equal(logs.v[1].data_len, 0);
	jsonrpc_logs_release(&logs);
	assert_int_equal(logs.n, 0);
	jsonrpc_reply_free(rep);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_result(bad[i], &rep), 0);
		assert_int_equal(jsonrpc_result_logs(rep, &logs), -EBADMSG);
		assert_null(logs.v);
		jsonrpc_reply_free(rep);
	}
}

static void
test_logs_cap(void **state)
{
	struct jsonrpc_reply *rep;
	struct jsonrpc_error err;
	struct jsonrpc_logs logs = { 0 };
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, JSONRPC_MAX_BODY);
	assert_int_equal(buf_puts(&b, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":["), 0);
	for (i = 0; i <= JSONRPC_MAX_LOGS; i++)
		assert_int_equal(buf_puts(&b, i ? ",{}" : "{}"), 0);
	assert_int_equal(buf_puts(&b, "]}"), 0);
	assert_int_equal(jsonrpc_reply_parse((char *)b.data, b.len, 1, &rep, &err), 0);
	assert_int_equal(jsonrpc_result_logs(rep, &logs), -E2BIG);
	jsonrpc_reply_free(rep);
	buf_release(&b);
}

static void
test_receipt(void **state)
{
	struct jsonrpc_reply *rep;
	struct jsonrpc_receipt rc;

	(void)state;
	assert_int_equal(parse_result("{\"transactionHash\":" H32B ",\"from\":" ADDR ",\"status\":\"0x1\","
				      "\"blockNumber\":\"0x5\",\"blockHash\":" H32A ",\"gasUsed\":\"0x5208\","
				      "\"effectiveGasPrice\":\"0x3b9aca07\",\"contractAddress\":" ADDR ","
				      "\"logs\":[" LOG("[]", "\"0x01\"") "]}", &rep), 0);
	assert_int_equal(jsonrpc_result_receipt(rep, &rc), 0);
	assert_true(rc.status);
	assert_int_equal(rc.from[0], 0x5f);
	assert_int_equal(rc.block_number, 5);
	assert_int_equal(rc.gas_used, 21000);
	assert_int_equal(rc.effective_gas_price, 1000000007);
	assert_true(rc.has_contract_address);
	assert_int_equal(rc.contract_address[19], 0xa3);
	assert_int_equal(rc.logs.n, 1);
	assert_int_equal(rc.logs.v[0].data[0], 1);
	jsonrpc_receipt_release(&rc);
	jsonrpc_reply_free(rep);

	assert_int_equal(parse_result("{\"transactionHash\":" H32B ",\"from\":" ADDR ",\"status\":\"0x0\","
				      "\"blockNumber\":\"0x5\",\"blockHash\":" H32A ",\"gasUsed\":\"0x5208\","
				      "\"contractAddress\":null,\"logs\":[]}", &rep), 0);
	assert_int_equal(jsonrpc_result_receipt(rep, &rc), 0);
	assert_false(rc.status);
	assert_false(rc.has_contract_address);
	jsonrpc_receipt_release(&rc);
	jsonrpc_reply_free(rep);

	/* status 2, missing logs, pending (null) */
	assert_int_equal(parse_result("{\"transactionHash\":" H32B ",\"from\":" ADDR ",\"status\":\"0x2\","
				      "\"blockNumber\":\"0x5\",\"blockHash\":" H32A ",\"gasUsed\":\"0x5208\","
				      "\"logs\":[]}", &rep), 0);
	assert_int_equal(jsonrpc_result_receipt(rep, &rc), -EBADMSG);
	jsonrpc_reply_free(rep);
	assert_int_equal(parse_result("{\"transactionHash\":" H32B ",\"from\":" ADDR ",\"status\":\"0x1\","
				      "\"blockNumber\":\"0x5\",\"blockHash\":" H32A ",\"gasUsed\":\"0x5208\"}", &rep), 0);
	assert_int_equal(jsonrpc_result_receipt(rep, &rc), -EBADMSG);
	jsonrpc_reply_free(rep);
	assert_int_equal(parse_result("null", &rep), 0);
	assert_true(jsonrpc_result_is_null(rep));
	assert_int_equal(jsonrpc_result_receipt(rep, &rc), -ENOENT);
	jsonrpc_reply_free(rep);
}

static void
test_block_variants(void **state)
{
	struct jsonrpc_reply *rep;
	struct jsonrpc_block b;

	(void)state;
	/* pre-London: no baseFeePerGas */
	assert_int_equal(parse_result("{\"number\":\"0x0\",\"hash\":" H32A ",\"parentHash\":" H32B ","
				      "\"timestamp\":\"0x0\",\"transactions\":[]}", &rep), 0);
	assert_int_equal(jsonrpc_result_block(rep, &b), 0);
	assert_false(b.has_base_fee);
	jsonrpc_reply_free(rep);
	/* hash of wrong length; number as JSON number */
	assert_int_equal(parse_result("{\"number\":\"0x0\",\"hash\":\"0x11\",\"parentHash\":" H32B ","
				      "\"timestamp\":\"0x0\"}", &rep), 0);
	assert_int_equal(jsonrpc_result_block(rep, &b), -EBADMSG);
	jsonrpc_reply_free(rep);
	assert_int_equal(parse_result("{\"number\":0,\"hash\":" H32A ",\"parentHash\":" H32B ","
				      "\"timestamp\":\"0x0\"}", &rep), 0);
	assert_int_equal(jsonrpc_result_block(rep, &b), -EBADMSG);
	jsonrpc_reply_free(rep);
	assert_int_equal(parse_result("null", &rep), 0);
	assert_int_equal(jsonrpc_result_block(rep, &b), -ENOENT);
	jsonrpc_reply_free(rep);
	assert_int_equal(parse_result("\"0x1\"", &rep), 0);
	assert_int_equal(jsonrpc_result_block(rep, &b), -EBADMSG);
	jsonrpc_reply_free(rep);
}

static void
test_fee_history(void **state)
{
	struct jsonrpc_reply *rep;
	struct jsonrpc_fee_history *h;

	(void)state;
	h = malloc(sizeof(*h));
	assert_non_null(h);
	assert_int_equal(parse_result("{\"oldestBlock\":\"0x10\",\"baseFeePerGas\":[\"0x7\",\"0x8\",\"0x9\"],"
				      "\"gasUsedRatio\":[0.5,0.1],\"reward\":[[\"0x1\",\"0x2\"],[\"0x3\",\"0x4\"]]}",
				      &rep), 0);
	assert_int_equal(jsonrpc_result_fee_history(rep, h), 0);
	assert_int_equal(h->oldest_block, 16);
	assert_int_equal(h->n_blocks, 2);
	assert_int_equal(h->base_fee[2], 9);
	assert_int_equal(h->n_percentiles, 2);
	assert_int_equal(h->reward[1][0], 3);
	jsonrpc_reply_free(rep);
	/* ragged reward rows, reward rows != blocks, no base fees */
	assert_int_equal(parse_result("{\"oldestBlock\":\"0x10\",\"baseFeePerGas\":[\"0x7\",\"0x8\",\"0x9\"],"
				      "\"reward\":[[\"0x1\",\"0x2\"],[\"0x3\"]]}", &rep), 0);
	assert_int_equal(jsonrpc_result_fee_history(rep, h), -EBADMSG);
	jsonrpc_reply_free(rep);
	assert_int_equal(parse_result("{\"oldestBlock\":\"0x10\",\"baseFeePerGas\":[\"0x7\",\"0x8\"],"
				      "\"reward\":[[\"0x1\"],[\"0x3\"]]}", &rep), 0);
	assert_int_equal(jsonrpc_result_fee_history(rep, h), -EBADMSG);
	jsonrpc_reply_free(rep);
	assert_int_equal(parse_result("{\"oldestBlock\":\"0x10\",\"baseFeePerGas\":[]}", &rep), 0);
	assert_int_equal(jsonrpc_result_fee_history(rep, h), -EBADMSG);
	jsonrpc_reply_free(rep);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_quoting_and_nesting),
		cmocka_unit_test(test_request_misuse_is_sticky),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_every_truncation_fails_cleanly),
		cmocka_unit_test(test_oversized_body),
		cmocka_unit_test(test_error_object),
		cmocka_unit_test(test_error_message_cap),
		cmocka_unit_test(test_quantity_types),
		cmocka_unit_test(test_u256_data_hash),
		cmocka_unit_test(test_logs),
		cmocka_unit_test(test_logs_cap),
		cmocka_unit_test(test_receipt),
		cmocka_unit_test(test_block_variants),
		cmocka_unit_test(test_fee_history),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
