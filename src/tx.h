/*
 * tx: Ethereum transactions: legacy with EIP-155 replay protection and
 * EIP-1559 (type 2, empty access list).  Builds the signing hash, signs with
 * ethkey, and produces the raw bytes eth_sendRawTransaction takes plus the
 * transaction hash.
 *
 * Pure codec: no logging, no global state besides ethkey's context.
 */
#ifndef DP_TX_H
#define DP_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define TX_MAX_DATA	(256u << 10)		/* calldata / init code bytes */
#define TX_MAX_RAW	(TX_MAX_DATA + 1024)	/* a signed transaction, encoded */

enum tx_type {
	TX_LEGACY = 0,		/* EIP-155: v = chain_id * 2 + 35 + parity */
	TX_EIP1559 = 2,		/* 0x02 || rlp([...]) */
};

struct tx {
	enum tx_type type;
	uint64_t chain_id;
	uint64_t nonce;
	uint64_t gas_price;		/* legacy only: wei per gas */
	uint64_t max_priority_fee;	/* EIP-1559 only: wei per gas */
	uint64_t max_fee;		/* EIP-1559 only: wei per gas */
	uint64_t gas;			/* gas limit */
	bool create;			/* contract creation: no recipient, to ignored */
	uint8_t to[20];
	uint8_t value[32];		/* wei, big-endian */
	const uint8_t *data;		/* borrowed; NULL when data_len is 0 */
	size_t data_len;
};

/*
 * The hash the sender signs.  Returns 0, -EINVAL (unknown type, chain id 0
 * or too large for v, data past TX_MAX_DATA), -ENOMEM.
 */
int tx_signing_hash(const struct tx *t, uint8_t ret_hash[32]);

/*
 * Sign t with the 32-byte secret key sk and append the raw signed
 * transaction to raw (its cap must allow it; TX_MAX_RAW always does).
 * ret_hash gets the transaction hash (keccak256 of the raw bytes).  Returns
 * 0, -EINVAL (as above, or a bad key), -E2BIG (raw's cap), -ENOMEM; raw is
 * unchanged on failure.
 */
int tx_sign(const struct tx *t, const uint8_t sk[32], struct buf *raw, uint8_t ret_hash[32]);

#endif
