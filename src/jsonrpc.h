/*
 * jsonrpc: JSON-RPC 2.0 requests and replies as Ethereum nodes speak them.
 *
 * Pure codec: cJSON stays inside, callers see plain structs.  No logging, no
 * global state, no I/O.  Every reply body is untrusted: it is size-capped,
 * parsed strictly (one JSON value, nothing but whitespace after it), and
 * every field is type-checked; anything unexpected is -EBADMSG, never a
 * crash or a truncation.
 *
 * Building a request (errors are sticky; jsonrpc_req_finish returns the
 * first one):
 *
 *	struct jsonrpc_req *q;
 *	r = jsonrpc_req_new("eth_getLogs", id, &q);
 *	jsonrpc_req_object_begin(q, NULL);
 *	jsonrpc_req_data(q, "address", addr, 20);
 *	jsonrpc_req_string(q, "fromBlock", "latest");
 *	jsonrpc_req_end(q);
 *	r = jsonrpc_req_finish(q, &body);	// frees q
 *
 * Reading a reply:
 *
 *	struct jsonrpc_reply *rep;
 *	struct jsonrpc_error err;
 *	r = jsonrpc_reply_parse(body, len, id, &rep, &err);
 *	// r == -EREMOTEIO: err holds the node's error object
 *	if (r == 0) r = jsonrpc_result_receipt(rep, &receipt);
 *	jsonrpc_reply_free(rep);
 */
#ifndef DP_JSONRPC_H
#define DP_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Caps. Exceeding one is an error, never a truncation. */
#define JSONRPC_MAX_BODY	(8u << 20)	/* bytes of one reply body */
#define JSONRPC_MAX_REQUEST	(2u << 20)	/* bytes of one request body */
#define JSONRPC_MAX_DATA	(1u << 20)	/* decoded bytes of one hex data field */
#define JSONRPC_MAX_LOGS	10000		/* logs in one eth_getLogs reply or receipt */
#define JSONRPC_MAX_TOPICS	4		/* topics of one log (EVM LOG0..LOG4) */
#define JSONRPC_MAX_MESSAGE	1024		/* bytes of an error message */
#define JSONRPC_MAX_FEE_BLOCKS	128		/* blocks in one eth_feeHistory reply */
#define JSONRPC_MAX_PERCENTILES	8		/* reward percentiles in eth_feeHistory */
#define JSONRPC_REQ_MAX_DEPTH	6		/* nested objects/arrays in a request */

/* ---- requests ------------------------------------------------------------ */

struct jsonrpc_req;	/* opaque */

/*
 * Start a request {"jsonrpc":"2.0","id":id,"method":method,"params":[...]};
 * values pushed next go into params.  id must be below 2^53 (JSON numbers
 * are doubles).  Returns 0, -EINVAL (empty method, id too large), -ENOMEM.
 */
int jsonrpc_req_new(const char *method, uint64_t id, struct jsonrpc_req **ret_req);

/*
 * Push a value into the innermost open array (key must be NULL) or object
 * (key required).  Each returns 0 or the first error so far: -EINVAL (key
 * given/missing, a NULL string), -E2BIG (too deep), -ENOMEM.
 */
int jsonrpc_req_string(struct jsonrpc_req *q, const char *key, const char *s);	/* escaped as needed */
int jsonrpc_req_bool(struct jsonrpc_req *q, const char *key, bool v);
int jsonrpc_req_int(struct jsonrpc_req *q, const char *key, int64_t v);	/* |v| < 2^53 */
int jsonrpc_req_null(struct jsonrpc_req *q, const char *key);
int jsonrpc_req_quantity(struct jsonrpc_req *q, const char *key, uint64_t v);	/* "0x1f" */
int jsonrpc_req_quantity_u256(struct jsonrpc_req *q, const char *key, const uint8_t v_be[32]);
int jsonrpc_req_data(struct jsonrpc_req *q, const char *key, const uint8_t *p, size_t n); /* "0x..." */
int jsonrpc_req_object_begin(struct jsonrpc_req *q, const char *key);
int jsonrpc_req_array_begin(struct jsonrpc_req *q, const char *key);
int jsonrpc_req_end(struct jsonrpc_req *q);	/* close the innermost object/array */

/*
 * Serialize into out (appended, NUL-terminated by buf) and free q.  Returns 0,
 * the first error of the builder, -EINVAL when an object/array is still
 * open, -E2BIG past JSONRPC_MAX_REQUEST or out's cap, -ENOMEM.  q is freed in
 * every case.
 */
int jsonrpc_req_finish(struct jsonrpc_req *q, struct buf *out);

/* Free an unfinished request.  NULL is fine. */
void jsonrpc_req_free(struct jsonrpc_req *q);

/* ---- replies ------------------------------------------------------------- */

struct jsonrpc_reply;	/* opaque: a parsed reply holding a result */

/* A JSON-RPC error object from the node. */
struct jsonrpc_error {
	int64_t code;
	char message[JSONRPC_MAX_MESSAGE + 1];	/* NUL-terminated, may be empty */
	bool has_data;				/* error.data was a hex string */
	uint8_t *data;				/* its bytes (malloc'd, may be NULL if empty) */
	size_t data_len;
};

/* Free error data and reset.  Safe on a zeroed or released struct. */
void jsonrpc_error_release(struct jsonrpc_error *e);

/*
 * Parse one reply body of len bytes (need not be NUL-terminated).  Checks
 * "jsonrpc":"2.0", that "id" equals id, and that exactly one of "result" and
 * "error" is present.
 *   0           *ret_reply holds the result; free with jsonrpc_reply_free()
 *   -EREMOTEIO  the node answered with an error object, filled into *err
 *               (release it with jsonrpc_error_release)
 *   -EMSGSIZE   len > JSONRPC_MAX_BODY
 *   -EBADMSG    malformed, truncated, wrong id, wrongly typed, or a field
 *               past its cap
 *   -ENOMEM
 * err is written only on -EREMOTEIO, *ret_reply only on 0.
 */
int jsonrpc_reply_parse(const char *body, size_t len, uint64_t id,
			struct jsonrpc_reply **ret_reply, struct jsonrpc_error *err);

/* Free a reply.  NULL is fine. */
void jsonrpc_reply_free(struct jsonrpc_reply *rep);

/* True if the result is JSON null (no such block, receipt not yet there). */
bool jsonrpc_result_is_null(const struct jsonrpc_reply *rep);

/*
 * Typed decoders of the result.  Each returns 0 and fills its output, or
 * -ENOENT when the result is null (where the method may return null),
 * -EBADMSG when it has the wrong shape or a field is malformed, -ERANGE for a
 * quantity that does not fit, -E2BIG past a cap, -ENOMEM.
 */

/* A QUANTITY result ("0x1a") as 64 bits. */
int jsonrpc_result_quantity(const struct jsonrpc_reply *rep, uint64_t *ret);

/* A QUANTITY result as a big-endian 256-bit value (balances). */
int jsonrpc_result_quantity_u256(const struct jsonrpc_reply *rep, uint8_t ret_be[32]);

/* A DATA result ("0x..."): its bytes appended to out (cap: the smaller of
 * out's cap and JSONRPC_MAX_DATA). out unchanged on failure. */
int jsonrpc_result_data(const struct jsonrpc_reply *rep, struct buf *out);

/* A 32-byte DATA result (a transaction hash). */
int jsonrpc_result_hash(const struct jsonrpc_reply *rep, uint8_t ret[32]);

/* eth_getBlockByNumber/ByHash (transactions as hashes or objects: ignored). */
struct jsonrpc_block {
	uint64_t number;
	uint8_t hash[32];
	uint8_t parent_hash[32];
	uint64_t timestamp;
	bool has_base_fee;	/* London and later */
	uint64_t base_fee;	/* wei per gas */
};
int jsonrpc_result_block(const struct jsonrpc_reply *rep, struct jsonrpc_block *ret);

/* One log of eth_getLogs or of a receipt. */
struct jsonrpc_log {
	uint8_t address[20];
	uint8_t topics[JSONRPC_MAX_TOPICS][32];
	size_t n_topics;
	uint8_t *data;		/* malloc'd, NULL when empty */
	size_t data_len;
	uint64_t block_number;
	uint8_t block_hash[32];
	uint64_t log_index;
	uint8_t tx_hash[32];
	bool removed;		/* dropped by a reorg (filters); false when absent */
};

/* An owned array of logs. */
struct jsonrpc_logs {
	struct jsonrpc_log *v;
	size_t n;
};

/* Free all logs and reset to empty.  Safe on a zeroed struct. */
void jsonrpc_logs_release(struct jsonrpc_logs *logs);

/* eth_getLogs: an array of at most JSONRPC_MAX_LOGS logs; -ENOENT never. */
int jsonrpc_result_logs(const struct jsonrpc_reply *rep, struct jsonrpc_logs *ret);

/* eth_getTransactionReceipt (-ENOENT: not mined yet). */
struct jsonrpc_receipt {
	uint8_t tx_hash[32];
	uint8_t from[20];		/* the sender */
	bool status;			/* true = success (post-Byzantium "status") */
	uint64_t block_number;
	uint8_t block_hash[32];
	uint64_t gas_used;
	uint64_t effective_gas_price;	/* 0 when the node omits it */
	bool has_contract_address;
	uint8_t contract_address[20];
	struct jsonrpc_logs logs;	/* owned; release with jsonrpc_receipt_release */
};
int jsonrpc_result_receipt(const struct jsonrpc_reply *rep, struct jsonrpc_receipt *ret);

/* Free the receipt's logs.  Safe on a zeroed struct. */
void jsonrpc_receipt_release(struct jsonrpc_receipt *r);

/* eth_feeHistory. base_fee has n_blocks + 1 entries (the next block's too). */
struct jsonrpc_fee_history {
	uint64_t oldest_block;
	size_t n_blocks;
	uint64_t base_fee[JSONRPC_MAX_FEE_BLOCKS + 1];
	size_t n_percentiles;	/* columns of reward; 0 when no reward field */
	uint64_t reward[JSONRPC_MAX_FEE_BLOCKS][JSONRPC_MAX_PERCENTILES];
};
/* The struct is about 9 KiB. */
int jsonrpc_result_fee_history(const struct jsonrpc_reply *rep, struct jsonrpc_fee_history *ret);

#endif
