#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "ethkey.h"
#include "hex.h"
#include "keccak.h"
#include "tx.h"

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(hex_decode_exact(s, strlen(s), out, n), 0);
}

/* The EIP-155 example, https://eips.ethereum.org/EIPS/eip-155: signing hash,
 * signed bytes; the transaction hash is keccak256 of those bytes (as
 * `cast keccak` and `cast decode-tx` print it). */
static const char eip155_hash[] = "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53";
static const char eip155_raw[] =
	"f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7640000"
	"8025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f"
	"761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83";
static const char eip155_txhash[] = "33469b22e9f636356c4160a87eb19df52b7412e8eac32a4a55ffe88ea8350788";

static void
eip155_tx(struct tx *t)
{
	/* 1 ether = 0x0de0b6b3a7640000 wei */
	static const uint8_t one_ether[8] = { 0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x64, 0x00, 0x00 };

	memset(t, 0, sizeof(*t));
	t->type = TX_LEGACY;
	t->chain_id = 1;
	t->nonce = 9;
	t->gas_price = 20000000000ull;
	t->gas = 21000;
	memset(t->to, 0x35, 20);
	memcpy(t->value + 24, one_ether, 8);
}

static void
test_eip155_example(void **state)
{
	uint8_t sk[32], h[32], want[32], raw_want[110], txh[32];
	struct tx t;
	struct buf raw;

	(void)state;
	eip155_tx(&t);
	memset(sk, 0x46, 32);
	unhex(eip155_hash, want, 32);
	assert_int_equal(tx_signing_hash(&t, h), 0);
	assert_memory_equal(h, want, 32);

	unhex(eip155_raw, raw_want, sizeof(raw_want));
	buf_init(&raw, TX_MAX_RAW);
	assert_int_equal(tx_sign(&t, sk, &raw, txh), 0);
	assert_int_equal(raw.len, sizeof(raw_want));
	assert_memory_equal(raw.data, raw_want, sizeof(raw_want));
	unhex(eip155_txhash, want, 32);
	assert_memory_equal(txh, want, 32);
	buf_release(&raw);
}

static void
test_invalid(void **state)
{
	uint8_t sk[32], h[32], zero[32] = { 0 };
	struct tx t;
	struct buf raw, small;

	(void)state;
	memset(sk, 0x46, 32);
	eip155_tx(&t);
	t.chain_id = 0;
	assert_int_equal(tx_signing_hash(&t, h), -EINVAL);
	t.chain_id = UINT64_MAX / 2;
	assert_int_equal(tx_signing_hash(&t, h), -EINVAL);
	eip155_tx(&t);
	t.type = 1;
	assert_int_equal(tx_signing_hash(&t, h), -EINVAL);
	eip155_tx(&t);
	t.data_len = TX_MAX_DATA + 1;
	t.data = sk;
	assert_int_equal(tx_signing_hash(&t, h), -EINVAL);
	eip155_tx(&t);
	buf_init(&raw, TX_MAX_RAW);
	assert_int_equal(tx_sign(&t, zero, &raw, h), -EINVAL);
	assert_int_equal(raw.len, 0);
	buf_init(&small, 100);	/* the signed example is 110 bytes */
	assert_int_equal(tx_sign(&t, sk, &small, h), -E2BIG);
	assert_int_equal(small.len, 0);
	buf_release(&small);
	buf_release(&raw);
}

/* Run `cast decode-tx RAW` and return the decoded object (cast prints the
 * JSON object as one JSON string). */
static cJSON *
cast_decode(const uint8_t *raw, size_t n)
{
	const char *src = getenv("DP_SOURCE_DIR");
	char *hexs, cmd[4096 + 2 * 2048], out[16384];
	cJSON *outer, *inner;
	size_t got = 0, r;
	FILE *f;
	int len;

	assert_non_null(src);
	assert_true(n < 2048);
	hexs = malloc(2 * n + 3);
	assert_non_null(hexs);
	assert_true(hex_encode(raw, n, true, hexs, 2 * n + 3) > 0);
	len = snprintf(cmd, sizeof(cmd), "%s/contracts/node_modules/.bin/cast decode-tx %s", src, hexs);
	free(hexs);
	assert_true(len > 0 && (size_t)len < sizeof(cmd));
	f = popen(cmd, "r");
	if (!f)
		fail_msg("cannot run cast: run tests/setup.sh to install the foundry toolchain");
	while ((r = fread(out + got, 1, sizeof(out) - 1 - got, f)) > 0)
		got += r;
	if (pclose(f) != 0)
		fail_msg("'cast decode-tx' failed (is contracts/node_modules/.bin/cast installed?)");
	out[got] = '\0';
	outer = cJSON_Parse(out);
	assert_true(cJSON_IsString(outer));
	inner = cJSON_Parse(outer->valuestring);
	cJSON_Delete(outer);
	assert_true(cJSON_IsObject(inner));
	return inner;
}

static void
expect_field(const cJSON *o, const char *key, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v))
		fail_msg("cast decode-tx: no string field '%s'", key);
	if (strcmp(v->valuestring, want) != 0)
		fail_msg("cast decode-tx: '%s' is '%s', want '%s'", key, v->valuestring, want);
}

static void
test_eip1559_decoded_by_cast(void **state)
{
	static const uint8_t data[] = { 0xde, 0xad, 0xbe, 0xef };
	uint8_t sk[32], txh[32];
	char hs[67];
	struct tx t;
	struct buf raw;
	cJSON *o;

	(void)state;
	/* anvil dev account 0 */
	unhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", sk, 32);
	memset(&t, 0, sizeof(t));
	t.type = TX_EIP1559;
	t.chain_id = 31337;
	t.nonce = 7;
	t.max_priority_fee = 1500000000;
	t.max_fee = 30000000000ull;
	t.gas = 100000;
	unhex("70997970c51812dc3a010c7d01b50e0d17dc79c8", t.to, 20);
	t.value[30] = 0x30;
	t.value[31] = 0x39;	/* 12345 wei */
	t.data = data;
	t.data_len = sizeof(data);
	buf_init(&raw, TX_MAX_RAW);
	assert_int_equal(tx_sign(&t, sk, &raw, txh), 0);
	assert_int_equal(raw.data[0], 0x02);
	o = cast_decode(raw.data, raw.len);
	expect_field(o, "type", "0x2");
	expect_field(o, "chainId", "0x7a69");
	expect_field(o, "nonce", "0x7");
	expect_field(o, "maxPriorityFeePerGas", "0x59682f00");
	expect_field(o, "maxFeePerGas", "0x6fc23ac00");
	expect_field(o, "gas", "0x186a0");
	expect_field(o, "to", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
	expect_field(o, "value", "0x3039");
	expect_field(o, "input", "0xdeadbeef");
	expect_field(o, "signer", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
	assert_int_equal(hex_encode(txh, 32, true, hs, sizeof(hs)), 66);
	expect_field(o, "hash", hs);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "accessList")), 0);
	cJSON_Delete(o);
	buf_release(&raw);
}

static void
test_legacy_create_decoded_by_cast(void **state)
{
	/* init code: PUSH1 0 PUSH1 0 RETURN (deploys empty code) */
	static const uint8_t init[] = { 0x60, 0x00, 0x60, 0x00, 0xf3 };
	uint8_t sk[32], txh[32];
	const cJSON *to;
	struct tx t;
	struct buf raw;
	cJSON *o;

	(void)state;
	unhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", sk, 32);	/* anvil account 1 */
	memset(&t, 0, sizeof(t));
	t.type = TX_LEGACY;
	t.chain_id = 31337;
	t.nonce = 0;
	t.gas_price = 1;
	t.gas = 60000;
	t.create = true;
	t.data = init;
	t.data_len = sizeof(init);
	buf_init(&raw, TX_MAX_RAW);
	assert_int_equal(tx_sign(&t, sk, &raw, txh), 0);
	o = cast_decode(raw.data, raw.len);
	expect_field(o, "type", "0x0");
	expect_field(o, "nonce", "0x0");
	expect_field(o, "gasPrice", "0x1");
	expect_field(o, "input", "0x60006000f3");
	expect_field(o, "signer", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
	to = cJSON_GetObjectItemCaseSensitive(o, "to");
	assert_true(to == NULL || cJSON_IsNull(to));
	cJSON_Delete(o);
	buf_release(&raw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eip155_example),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_eip1559_decoded_by_cast),
		cmocka_unit_test(test_legacy_create_decoded_by_cast),
	};
	int r;

	r = cmocka_run_group_tests(tests, NULL, NULL);
	ethkey_global_free();
	return r;
}
