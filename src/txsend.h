/*
 * txsend: send transactions from one key and wait for them.
 *
 * For each transaction: check the chain id (once), take the nonce (the
 * node's pending count the first time, then counted locally; resynced after
 * "nonce too low" or an uncertain submit), choose fees (EIP-1559 from
 * eth_feeHistory and the next base fee; legacy eth_gasPrice when the chain
 * has no base fee), estimate gas with headroom, sign, submit, and poll for
 * the receipt until a deadline.  Revert reasons are decoded: from the
 * JSON-RPC error data of eth_estimateGas, and for a transaction mined with
 * status 0 by replaying it with eth_call.
 *
 * The secret key is copied into a fixed array inside the sender and wiped
 * by txsend_free().  A sender is not thread-safe: one thread uses it at a
 * time (the rpc client under it may be shared).  No logging: the result
 * carries the error text for the caller to log.
 */
#ifndef DP_TXSEND_H
#define DP_TXSEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

#define TXSEND_ERROR_MAX		256	/* bytes of the result's error text */
#define TXSEND_GAS_HEADROOM_PCT		25	/* gas limit = estimate * 1.25 */
#define TXSEND_BASE_FEE_MULT		2	/* max fee = next base fee * 2 + tip */
#define TXSEND_LEGACY_PRICE_PCT		110	/* legacy gas price = eth_gasPrice * 1.1 */
#define TXSEND_DEFAULT_TIP		1000000000ull	/* 1 gwei, when the node suggests none */
#define TXSEND_FEE_HISTORY_BLOCKS	5
#define TXSEND_DEFAULT_POLL_MS		500
#define TXSEND_DEFAULT_TIMEOUT_MS	120000

struct txsend;	/* opaque */

struct txsend_options {
	uint64_t chain_id;		/* expected chain; 0: take the node's */
	uint64_t poll_ms;		/* receipt polling interval; 0: default */
	bool legacy;			/* always send legacy (type 0) transactions */
};

struct txsend_request {
	const uint8_t *to;		/* 20 bytes; NULL creates a contract */
	const uint8_t *value;		/* 32 bytes big-endian wei; NULL for 0 */
	const uint8_t *data;		/* calldata or init code (borrowed) */
	size_t data_len;
	uint64_t gas;			/* gas limit; 0: estimate with headroom */
	uint64_t timeout_ms;		/* receipt deadline; 0: TXSEND_DEFAULT_TIMEOUT_MS */
};

struct txsend_result {
	bool submitted;			/* the node took it; tx_hash is valid */
	uint8_t tx_hash[32];
	bool mined;			/* a receipt was seen; fields below valid */
	bool status;			/* receipt status: true = success */
	uint64_t block_number;
	uint64_t gas_used;
	bool has_contract_address;
	uint8_t contract_address[20];
	uint64_t nonce;			/* the nonce used (when submitted) */
	char error[TXSEND_ERROR_MAX];	/* "" on success, else what went wrong
					 * (a decoded revert reason when there is one) */
};

/*
 * Make a sender for secret key sk over rpc (borrowed: must outlive the
 * sender).  sk is copied; the caller should wipe its own copy.  Returns 0,
 * -EINVAL (bad key), -ENOMEM.  No network traffic.
 */
int txsend_new(struct rpc *rpc, const uint8_t sk[32], const struct txsend_options *opt,
	       struct txsend **ret_sender);

/* Wipe the key and free.  NULL is fine. */
void txsend_free(struct txsend *s);

/* The sender's address. */
void txsend_address(const struct txsend *s, uint8_t ret_addr[20]);

/*
 * Send one transaction and wait for its receipt.  *res is always filled
 * (unlike ret_ outputs) so that the caller can log what happened:
 *   0           mined with status 1
 *   -ECANCELED  mined with status 0; res->error holds the revert reason
 *   -EREMOTEIO  refused before mining (gas estimation reverted, or the node
 *               rejected the transaction); res->error says why
 *   -ETIMEDOUT  submitted (res->tx_hash) but no receipt before the deadline
 *   -EXDEV      the node is on another chain than opt->chain_id
 *   -EINVAL, -ENOMEM, and the rpc errors (rpc.h) when the node could not be
 *               reached
 */
int txsend_send(struct txsend *s, const struct txsend_request *req, struct txsend_result *res);

/*
 * Describe a JSON-RPC error that may carry revert data into out (outsz
 * bytes): "reverted: <reason>" / "reverted: custom error 0x..." when the
 * data decodes, else the node's message.  Returns the text length (the text
 * is cut to fit: it is a diagnostic).
 */
int txsend_describe_error(const struct jsonrpc_error *err, char *out, size_t outsz);

#endif
