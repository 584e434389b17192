/*
 * libFuzzer target: JSON-RPC reply bodies through the envelope parser and
 * every typed decoder.  The reply id is 1.
 */
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
decode_all(const struct jsonrpc_reply *rep)
{
	static struct jsonrpc_fee_history fh;	/* too big for a fuzzer frame */
	struct jsonrpc_receipt rc;
	struct jsonrpc_logs logs;
	struct jsonrpc_block b;
	uint8_t u[32], h[32];
	struct buf out;
	uint64_t q;

	(void)jsonrpc_result_is_null(rep);
	(void)jsonrpc_result_quantity(rep, &q);
	(void)jsonrpc_result_quantity_u256(rep, u);
	(void)jsonrpc_result_hash(rep, h);
	buf_init(&out, JSONRPC_MAX_DATA);
	(void)jsonrpc_result_data(rep, &out);
	buf_release(&out);
	(void)jsonrpc_result_block(rep, &b);
	if (jsonrpc_result_logs(rep, &logs) == 0)
		jsonrpc_logs_release(&logs);
	if (jsonrpc_result_receipt(rep, &rc) == 0)
		jsonrpc_receipt_release(&rc);
	(void)jsonrpc_result_fee_history(rep, &fh);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonrpc_reply *rep;
	struct jsonrpc_error err;
	int r;

	r = jsonrpc_reply_parse((const char *)data, size, 1, &rep, &err);
	if (r == -EREMOTEIO)
		jsonrpc_error_release(&err);
	if (r != 0)
		return 0;
	decode_all(rep);
	jsonrpc_reply_free(rep);
	return 0;
}
