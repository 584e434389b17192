#include "tx.h"

#include <errno.h>
#include <string.h>

#include "ethkey.h"
#include "keccak.h"
#include "rlp.h"

/* Largest chain id whose EIP-155 v (chain_id * 2 + 36) fits 64 bits. */
#define TX_MAX_CHAIN_ID	((UINT64_MAX - 36) / 2)

static int
check(const struct tx *t)
{
	if (t->type != TX_LEGACY && t->type != TX_EIP1559)
		return -EINVAL;
	if (t->chain_id == 0 || t->chain_id > TX_MAX_CHAIN_ID)
		return -EINVAL;
	if (t->data_len > TX_MAX_DATA || (t->data_len && !t->data))
		return -EINVAL;
	return 0;
}

/* Append the fields both forms share up to and including data. */
static int
put_fields(struct buf *b, const struct tx *t)
{
	int r = 0;

	if (t->type == TX_EIP1559) {
		if ((r = rlp_put_uint(b, t->chain_id)) < 0 ||
		    (r = rlp_put_uint(b, t->nonce)) < 0 ||
		    (r = rlp_put_uint(b, t->max_priority_fee)) < 0 ||
		    (r = rlp_put_uint(b, t->max_fee)) < 0)
			return r;
	} else {
		if ((r = rlp_put_uint(b, t->nonce)) < 0 ||
		    (r = rlp_put_uint(b, t->gas_price)) < 0)
			return r;
	}
	if ((r = rlp_put_uint(b, t->gas)) < 0 ||
	    (r = rlp_put_bytes(b, t->create ? NULL : t->to, t->create ? 0 : 20)) < 0 ||
	    (r = rlp_put_uint256(b, t->value)) < 0 ||
	    (r = rlp_put_bytes(b, t->data, t->data_len)) < 0)
		return r;
	if (t->type == TX_EIP1559)
		r = rlp_put_list(b, NULL, 0);	/* access list: empty */
	return r;
}

/* Wrap the items in a list, with the type byte in front for typed txs. */
static int
envelope(const struct tx *t, const struct buf *items, struct buf *out)
{
	int r;

	if (t->type == TX_EIP1559 && (r = buf_putc(out, TX_EIP1559)) < 0)
		return r;
	return rlp_put_list(out, items->data, items->len);
}

int
tx_signing_hash(const struct tx *t, uint8_t ret_hash[32])
{
	struct buf items, enc;
	int r;

	r = check(t);
	if (r < 0)
		return r;
	buf_init(&items, TX_MAX_RAW);
	buf_init(&enc, TX_MAX_RAW);
	r = put_fields(&items, t);
	if (r == 0 && t->type == TX_LEGACY) {
		/* EIP-155: chain id, 0, 0 */
		if ((r = rlp_put_uint(&items, t->chain_id)) == 0 &&
		    (r = rlp_put_uint(&items, 0)) == 0)
			r = rlp_put_uint(&items, 0);
	}
	if (r == 0)
		r = envelope(t, &items, &enc);
	if (r == 0)
		keccak256(enc.data, enc.len, ret_hash);
	buf_release(&items);
	buf_release(&enc);
	return r == -E2BIG ? -EINVAL : r;
}

int
tx_sign(const struct tx *t, const uint8_t sk[32], struct buf *raw, uint8_t ret_hash[32])
{
	uint8_t h[32], sig[65];
	struct buf items, enc;
	uint64_t v;
	int r;

	r = tx_signing_hash(t, h);
	if (r < 0)
		return r;
	r = ethkey_sign(sk, h, sig);
	if (r < 0)
		return r;
	v = t->type == TX_LEGACY ? t->chain_id * 2 + 35 + sig[64] : sig[64];
	buf_init(&items, TX_MAX_RAW);
	buf_init(&enc, TX_MAX_RAW);
	if ((r = put_fields(&items, t)) == 0 &&
	    (r = rlp_put_uint(&items, v)) == 0 &&
	    (r = rlp_put_uint256(&items, sig)) == 0 &&
	    (r = rlp_put_uint256(&items, sig + 32)) == 0 &&
	    (r = envelope(t, &items, &enc)) == 0)
		r = buf_append(raw, enc.data, enc.len);
	if (r == 0)
		keccak256(enc.data, enc.len, ret_hash);
	buf_release(&items);
	buf_release(&enc);
	return r;
}
