/*
 * rpc: Ethereum JSON-RPC over HTTP(S) with libcurl (CURL stays inside).
 *
 * A client holds a list of endpoint URLs.  A call goes to the endpoint that
 * answered last; on a transport error, an HTTP status other than 200, an
 * oversized or invalid reply, it fails over to the next one, and the one
 * that answers becomes the current endpoint.  A JSON-RPC error object is an
 * answer, not a failure: it is returned (-EREMOTEIO) without failing over.
 *
 * Each request has a connect and a total timeout; the reply body is capped
 * in the write callback (passing the cap aborts the transfer: -EMSGSIZE);
 * only http and https are allowed and redirects are not followed.
 *
 * Threads: a client may be shared; its lock (rpc->lock) serializes calls, so
 * one slow call delays the others on the same client.  For parallel calls,
 * make one client per thread: a client is one CURL easy handle and a copy of
 * the URL list.
 *
 * Returns used by every call below:
 *   0            success
 *   -EREMOTEIO   the node answered with a JSON-RPC error (see *err where a
 *                call takes one, and rpc_last_error())
 *   -ENOENT      the node answered null (no such block, receipt not yet)
 *   -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, -EPROTO (HTTP status), -EIO,
 *   -EMSGSIZE (reply past the cap), -EBADMSG (invalid reply): the failure of
 *                the last endpoint tried, when no endpoint answered
 *   -ENOMEM, -EINVAL (bad arguments)
 * ret_* outputs are written only on 0.
 */
#ifndef DP_RPC_H
#define DP_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "jsonrpc.h"

#define RPC_MAX_ENDPOINTS	8
#define RPC_MAX_URL		2048		/* bytes of one endpoint URL */
#define RPC_MAX_RESPONSE	JSONRPC_MAX_BODY	/* default reply body cap */
#define RPC_ERROR_MAX		256		/* bytes of the last-error text */
#define RPC_MAX_FILTER_ADDRESSES 16
#define RPC_DEFAULT_CONNECT_TIMEOUT_MS	3000
#define RPC_DEFAULT_TIMEOUT_MS		15000

struct rpc;	/* opaque */

struct rpc_options {
	long connect_timeout_ms;	/* 0: RPC_DEFAULT_CONNECT_TIMEOUT_MS */
	long timeout_ms;		/* whole request; 0: RPC_DEFAULT_TIMEOUT_MS */
	size_t max_response;		/* reply body cap; 0: RPC_MAX_RESPONSE; at most that */
};

/* Counters since rpc_new(); for measuring the cost of idle polling. */
struct rpc_stats {
	uint64_t calls;			/* typed calls made */
	uint64_t requests;		/* HTTP requests sent (failover adds) */
	uint64_t failovers;		/* times an endpoint failed and the next was tried */
	uint64_t bytes_sent;		/* request bodies */
	uint64_t bytes_received;	/* reply bodies */
};

/*
 * Call once before any thread starts (libcurl's global init).  rpc_new()
 * also does it, once.  Returns 0 or -EIO.
 */
int rpc_global_init(void);

/*
 * Make a client over n (1..RPC_MAX_ENDPOINTS) URLs, each "http://" or
 * "https://" and at most RPC_MAX_URL bytes; the URLs are copied.  opt may be
 * NULL for the defaults.  Returns 0, -EINVAL, -ENOMEM.
 */
int rpc_new(const char *const *urls, size_t n, const struct rpc_options *opt, struct rpc **ret_rpc);

/* Free the client.  NULL is fine. */
void rpc_free(struct rpc *c);

/* Index (into the URL list given to rpc_new) of the endpoint in use. */
size_t rpc_current_endpoint(struct rpc *c);

/* Copy the text of the last failure ("" if none) into out, NUL-terminated,
 * truncated to outsz - 1 bytes (it is a diagnostic). */
void rpc_last_error(struct rpc *c, char *out, size_t outsz);

/* Snapshot of the counters. */
void rpc_get_stats(struct rpc *c, struct rpc_stats *ret);

/* Which block a query reads. */
enum rpc_tag {
	RPC_NUMBER = 0,		/* the block numbered .number */
	RPC_LATEST,
	RPC_SAFE,
	RPC_FINALIZED,
	RPC_PENDING,
	RPC_EARLIEST,
};
struct rpc_block_id {
	enum rpc_tag tag;
	uint64_t number;	/* for RPC_NUMBER */
};
#define RPC_AT_NUMBER(n)	((struct rpc_block_id){ RPC_NUMBER, (n) })
#define RPC_AT_LATEST		((struct rpc_block_id){ RPC_LATEST, 0 })
#define RPC_AT_PENDING		((struct rpc_block_id){ RPC_PENDING, 0 })

/* A message for eth_call / eth_estimateGas.  NULL/0 fields are omitted. */
struct rpc_call_msg {
	const uint8_t *from;	/* 20 bytes or NULL */
	const uint8_t *to;	/* 20 bytes, or NULL for contract creation */
	const uint8_t *value;	/* 32 bytes big-endian, or NULL */
	const uint8_t *data;
	size_t data_len;
	uint64_t gas;		/* 0: let the node choose */
};

/* An eth_getLogs filter.  Topic position i matches any of topics[i][0..n_topic[i]);
 * n_topic[i] == 0 is a wildcard (null).  Positions past n_topics are wildcards. */
struct rpc_filter {
	const uint8_t (*addresses)[20];
	size_t n_addresses;		/* 0: any address; at most RPC_MAX_FILTER_ADDRESSES */
	const uint8_t (*topics[JSONRPC_MAX_TOPICS])[32];
	size_t n_topic[JSONRPC_MAX_TOPICS];
	size_t n_topics;		/* at most JSONRPC_MAX_TOPICS */
	struct rpc_block_id from;
	struct rpc_block_id to;
};

int rpc_chain_id(struct rpc *c, uint64_t *ret);
int rpc_block_number(struct rpc *c, uint64_t *ret);
int rpc_gas_price(struct rpc *c, uint64_t *ret);

/* eth_maxPriorityFeePerGas; -EOPNOTSUPP when the node lacks the method. */
int rpc_max_priority_fee(struct rpc *c, uint64_t *ret);

/* eth_getBlockByNumber(at, false).  -ENOENT: no such block. */
int rpc_get_block(struct rpc *c, struct rpc_block_id at, struct jsonrpc_block *ret);

int rpc_get_balance(struct rpc *c, const uint8_t addr[20], struct rpc_block_id at,
		    uint8_t ret_be[32]);

/* eth_getTransactionCount: the next nonce at 'at' (use RPC_AT_PENDING). */
int rpc_get_transaction_count(struct rpc *c, const uint8_t addr[20], struct rpc_block_id at,
			      uint64_t *ret);

/*
 * eth_feeHistory over the n_blocks (1..JSONRPC_MAX_FEE_BLOCKS) blocks up to
 * latest, with reward percentiles pct[0..n_pct) (at most
 * JSONRPC_MAX_PERCENTILES, 0..100 ascending).
 */
int rpc_fee_history(struct rpc *c, uint64_t n_blocks, const unsigned *pct, size_t n_pct,
		    struct jsonrpc_fee_history *ret);

/* The calls below take err (may be NULL): filled on -EREMOTEIO with the
 * node's error object (revert data in err->data); release it with
 * jsonrpc_error_release(). */

int rpc_estimate_gas(struct rpc *c, const struct rpc_call_msg *m, uint64_t *ret,
		     struct jsonrpc_error *err);

/* eth_call at 'at': the return data is appended to out (capped by out). */
int rpc_eth_call(struct rpc *c, const struct rpc_call_msg *m, struct rpc_block_id at,
		 struct buf *out, struct jsonrpc_error *err);

/* eth_sendRawTransaction: ret_hash is the hash the node reports. */
int rpc_send_raw_transaction(struct rpc *c, const uint8_t *raw, size_t n, uint8_t ret_hash[32],
			     struct jsonrpc_error *err);

/* eth_getTransactionReceipt.  -ENOENT: not mined (yet).  Release *ret with
 * jsonrpc_receipt_release(). */
int rpc_get_receipt(struct rpc *c, const uint8_t hash[32], struct jsonrpc_receipt *ret);

/* eth_getLogs.  Release *ret with jsonrpc_logs_release(). */
int rpc_get_logs(struct rpc *c, const struct rpc_filter *f, struct jsonrpc_logs *ret);

#endif
