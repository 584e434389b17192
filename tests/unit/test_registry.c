/*
 * registry: the contract's C face against the contract itself.
 *
 * - Every selector, event signature, event topic layout, custom error and
 *   the PeerRecord field order are checked against the compiled ABI in
 *   contracts/out/DstackP2PMembership.sol/DstackP2PMembership.json, and so is
 *   every Solidity signature string literal in the .c files of src/, whoever
 *   wrote it.
 * - The vectors below came from a real anvil running this contract
 *   (contracts/tools/registry-vectors.sh): calldata as `cast calldata` 1.7.1
 *   encodes it, return data of `cast call`, and receipt logs.  Inputs are the
 *   official simulator's fixtures (shared/fixtures/dstack-simulator): app key,
 *   S1 and app id, with derived keys as contracts/README.md describes.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "abi.h"
#include "buf.h"
#include "hex.h"
#include "registry.h"

/* ---- vectors (contracts/tools/registry-vectors.sh) ------------------- */

static const char CALLDATA_TLS[] =
	"bddc93181691ed1b47506cad7d08834668691d88246f5b1f0000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000012000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000000005bb4ff9a3837357f19dc176407a5709c62eb6c560000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000001a000000000000000000000000000000000000000000000000000000000"
	"0000020000000000000000000000000000000000000000000000000000000000"
	"0000026000000000000000000000000000000000000000000000000000000000"
	"000002e000000000000000000000000000000000000000000000000000000000"
	"0000005168747470733a2f2f3136393165643162343735303663616437643038"
	"38333436363836393164383832343666356231662d38303830732e6473746163"
	"6b2d70726f64352e7068616c612e6e6574776f726b0000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000000405cdeb98cd1a555e2d9ff8385485847e04ca4950763a31cc09f390cc7"
	"7961a096f2573cd06f0c927138806e0f268f61f1bb04621eacd2c93a6e089d64"
	"ede15eb900000000000000000000000000000000000000000000000000000000"
	"00000040818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2"
	"d096fc7cdd5b7dee031ff263f2545e0041c93f6a96eea57b243ad1591e8d6334"
	"63d2eb0200000000000000000000000000000000000000000000000000000000"
	"00000041b763f7588c3602ee8cfc166a2aaa845415c1d6fa36172abfb1875417"
	"e98cd1451bfd35508600007daf62ce4338ada6279345745f9850ab3ba12c22a1"
	"4f8e822a00000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000000419e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab4"
	"0e1f2e594d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8efe3303"
	"46dfc6c500000000000000000000000000000000000000000000000000000000"
	"00000000";
static const char CALLDATA_WG[] =
	"bddc931822222222222222222222222222222222222222220000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000012000000000000000000000000000000000000000000000000000000000"
	"000000010b1a5e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091"
	"a2b3c4d55bb4ff9a3837357f19dc176407a5709c62eb6c560000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000016000000000000000000000000000000000000000000000000000000000"
	"000001c000000000000000000000000000000000000000000000000000000000"
	"0000022000000000000000000000000000000000000000000000000000000000"
	"000002a000000000000000000000000000000000000000000000000000000000"
	"0000000f5b666430303a3a325d3a353138323000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"00000040f74383689fb33d05e1d0dee646c1321b83237f47c79682409803e3fe"
	"48e3d4b48f1a80e822fb6d6ad8d19b6b5610cc846d6673e5e5f03014c1833696"
	"be678c7a00000000000000000000000000000000000000000000000000000000"
	"00000040818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2"
	"d096fc7cdd5b7dee031ff263f2545e0041c93f6a96eea57b243ad1591e8d6334"
	"63d2eb0200000000000000000000000000000000000000000000000000000000"
	"000000415753f35360a577bb00fd5d5a8dac208a52ca9392675daf60a6171686"
	"207e99b213ffbb06d54f55ab7d82d41de2599ed167c6869672536dc51206cc9f"
	"9820e28e01000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000000419e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab4"
	"0e1f2e594d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8efe3303"
	"46dfc6c500000000000000000000000000000000000000000000000000000000"
	"00000000";
static const char RET_GET_PEERS[] =
	"0000000000000000000000000000000000000000000000000000000000000040"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"0000000000000000000000000000000000000000000000000000000000000040"
	"00000000000000000000000000000000000000000000000000000000000001c0"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"00000000000000000000000054c1622bf7e10c9b51c2bc3efe5d9ec008ed1f8f"
	"1691ed1b47506cad7d08834668691d88246f5b1f000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000006553f10b"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000100"
	"0000000000000000000000000000000000000000000000000000000000000051"
	"68747470733a2f2f313639316564316234373530366361643764303838333436"
	"363836393164383832343666356231662d38303830732e64737461636b2d7072"
	"6f64352e7068616c612e6e6574776f726b000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"0000000000000000000000009178e7632a4a70f97065184f94caa3a5985ec873"
	"2222222222222222222222222222222222222222000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"000000000000000000000000000000000000000000000000000000006553f132"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"0b1a5e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5"
	"0000000000000000000000000000000000000000000000000000000000000100"
	"000000000000000000000000000000000000000000000000000000000000000f"
	"5b666430303a3a325d3a35313832300000000000000000000000000000000000";
static const char RET_GET_PEER_2[] =
	"0000000000000000000000000000000000000000000000000000000000000020"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"0000000000000000000000009178e7632a4a70f97065184f94caa3a5985ec873"
	"2222222222222222222222222222222222222222000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"000000000000000000000000000000000000000000000000000000006553f132"
	"0000000000000000000000000000000000000000000000000000000000000001"
	"0b1a5e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5"
	"0000000000000000000000000000000000000000000000000000000000000100"
	"000000000000000000000000000000000000000000000000000000000000000f"
	"5b666430303a3a325d3a35313832300000000000000000000000000000000000";
static const char RET_GET_PEER_9[] =
	"0000000000000000000000000000000000000000000000000000000000000020"
	"0000000000000000000000000000000000000000000000000000000000000009"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000100"
	"0000000000000000000000000000000000000000000000000000000000000000";
static const char RET_ENDPOINTS[] =
	"0000000000000000000000000000000000000000000000000000000000000020"
	"0000000000000000000000000000000000000000000000000000000000000002"
	"0000000000000000000000000000000000000000000000000000000000000040"
	"00000000000000000000000000000000000000000000000000000000000000c0"
	"0000000000000000000000000000000000000000000000000000000000000051"
	"68747470733a2f2f313639316564316234373530366361643764303838333436"
	"363836393164383832343666356231662d38303830732e64737461636b2d7072"
	"6f64352e7068616c612e6e6574776f726b000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000f"
	"5b666430303a3a325d3a35313832300000000000000000000000000000000000";
static const char RET_LEADER[] =
	"0000000000000000000000000000000000000000000000000000000000000001";
static const char *const LOG_TRANSFER_1_TOPICS[] = {
	"ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
	"0000000000000000000000000000000000000000000000000000000000000000",
	"00000000000000000000000054c1622bf7e10c9b51c2bc3efe5d9ec008ed1f8f",
	"0000000000000000000000000000000000000000000000000000000000000001",
};
static const char LOG_TRANSFER_1_DATA[] = "";
static const char *const LOG_ENROLLED_1_TOPICS[] = {
	"f2c9ebc9d6173a565a2d3b22313b6d4fb1cca817ebd07bd1eac32c642934c351",
	"0000000000000000000000000000000000000000000000000000000000000001",
	"00000000000000000000000054c1622bf7e10c9b51c2bc3efe5d9ec008ed1f8f",
	"5bb4ff9a3837357f19dc176407a5709c62eb6c56000000000000000000000000",
};
static const char LOG_ENROLLED_1_DATA[] = "";
static const char *const LOG_REGISTERED_1_TOPICS[] = {
	"95c45e3edff988d6f75a4671a853f36122b06ef40a2467c0d3e14e94de7212e3",
	"0000000000000000000000000000000000000000000000000000000000000001",
	"00000000000000000000000054c1622bf7e10c9b51c2bc3efe5d9ec008ed1f8f",
	"1691ed1b47506cad7d08834668691d88246f5b1f000000000000000000000000",
};
static const char LOG_REGISTERED_1_DATA[] =
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000060"
	"0000000000000000000000000000000000000000000000000000000000000051"
	"68747470733a2f2f313639316564316234373530366361643764303838333436"
	"363836393164383832343666356231662d38303830732e64737461636b2d7072"
	"6f64352e7068616c612e6e6574776f726b000000000000000000000000000000";
static const char *const LOG_TRANSFER_2_TOPICS[] = {
	"ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0000000000000000000000009178e7632a4a70f97065184f94caa3a5985ec873",
	"0000000000000000000000000000000000000000000000000000000000000002",
};
static const char LOG_TRANSFER_2_DATA[] = "";
static const char *const LOG_ENROLLED_2_TOPICS[] = {
	"f2c9ebc9d6173a565a2d3b22313b6d4fb1cca817ebd07bd1eac32c642934c351",
	"0000000000000000000000000000000000000000000000000000000000000002",
	"0000000000000000000000009178e7632a4a70f97065184f94caa3a5985ec873",
	"5bb4ff9a3837357f19dc176407a5709c62eb6c56000000000000000000000000",
};
static const char LOG_ENROLLED_2_DATA[] = "";
static const char *const LOG_REGISTERED_2_TOPICS[] = {
	"95c45e3edff988d6f75a4671a853f36122b06ef40a2467c0d3e14e94de7212e3",
	"0000000000000000000000000000000000000000000000000000000000000002",
	"0000000000000000000000009178e7632a4a70f97065184f94caa3a5985ec873",
	"2222222222222222222222222222222222222222000000000000000000000000",
};
static const char LOG_REGISTERED_2_DATA[] =
	"0000000000000000000000000000000000000000000000000000000000000001"
	"0b1a5e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5"
	"0000000000000000000000000000000000000000000000000000000000000060"
	"000000000000000000000000000000000000000000000000000000000000000f"
	"5b666430303a3a325d3a35313832300000000000000000000000000000000000";
static const char *const LOG_HEARTBEAT_2_TOPICS[] = {
	"e6d4caaf4a0bccb797e54cf848bb5a474dae2075a50dc391b0813cd78d35537b",
	"0000000000000000000000000000000000000000000000000000000000000002",
	"0000000000000000000000009178e7632a4a70f97065184f94caa3a5985ec873",
};
static const char LOG_HEARTBEAT_2_DATA[] =
	"000000000000000000000000000000000000000000000000000000006553f132";

/* ---- helpers ----------------------------------------------------------- */

static struct buf unhex(const char *s)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	assert_int_equal(hex_decode_buf(s, strlen(s), &b), 0);
	return b;
}

static void unhex_exact(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(hex_decode_exact(s, strlen(s), out, n), 0);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b, 16 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	fclose(f);
	assert_int_equal(buf_putc(&b, 0), 0);
	return (char *)b.data;
}

static cJSON *artifact;

static int load_abi(void **state)
{
	const char *src = getenv("DP_SOURCE_DIR");
	char path[4096];
	char *text;
	int n;

	(void)state;
	if (!src) {
		fprintf(stderr, "test_registry: DP_SOURCE_DIR is not set\n");
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/contracts/out/DstackP2PMembership.sol/DstackP2PMembership.json", src);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	text = read_text(path);
	if (!text) {
		fprintf(stderr, "test_registry: cannot read '%s': run forge build in contracts/\n", path);
		return -1;
	}
	artifact = cJSON_Parse(text);
	free(text);
	if (!artifact) {
		fprintf(stderr, "test_registry: '%s' is not JSON: run forge build in contracts/\n", path);
		return -1;
	}
	return 0;
}

static int free_abi(void **state)
{
	(void)state;
	cJSON_Delete(artifact);
	return 0;
}

/* The canonical type of an ABI parameter (tuples expanded). */
static void canonical_type(const cJSON *param, struct buf *out)
{
	const char *type = cJSON_GetObjectItem(param, "type")->valuestring;
	const cJSON *c;
	bool first = true;

	if (strncmp(type, "tuple", 5) != 0) {
		assert_int_equal(buf_puts(out, type), 0);
		return;
	}
	assert_int_equal(buf_putc(out, '('), 0);
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(param, "components")) {
		if (!first)
			assert_int_equal(buf_putc(out, ','), 0);
		first = false;
		canonical_type(c, out);
	}
	assert_int_equal(buf_putc(out, ')'), 0);
	assert_int_equal(buf_puts(out, type + 5), 0);
}

/* The canonical signature of an ABI entry, into out (NUL-terminated). */
static void entry_signature(const cJSON *entry, char *out, size_t outsz)
{
	struct buf b;
	const cJSON *p;
	bool first = true;

	buf_init(&b, 4096);
	assert_int_equal(buf_puts(&b, cJSON_GetObjectItem(entry, "name")->valuestring), 0);
	assert_int_equal(buf_putc(&b, '('), 0);
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(entry, "inputs")) {
		if (!first)
			assert_int_equal(buf_putc(&b, ','), 0);
		first = false;
		canonical_type(p, &b);
	}
	assert_int_equal(buf_putc(&b, ')'), 0);
	assert_true(b.len < outsz);
	memcpy(out, b.data, b.len + 1);
	buf_release(&b);
}

/* The ABI entry of kind ("function", "event", "error") with signature sig. */
static const cJSON *find_entry(const char *kind, const char *sig)
{
	const cJSON *e;
	char s[1024];

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(artifact, "abi")) {
		if (strcmp(cJSON_GetObjectItem(e, "type")->valuestring, kind) != 0)
			continue;
		entry_signature(e, s, sizeof(s));
		if (strcmp(s, sig) == 0)
			return e;
	}
	return NULL;
}

/* ---- against the compiled ABI ----------------------------------------- */

static void test_abi_selectors(void **state)
{
	const cJSON *ids = cJSON_GetObjectItem(artifact, "methodIdentifiers");
	unsigned int fn;

	(void)state;
	assert_non_null(ids);
	for (fn = 0; fn < REGISTRY_FN_COUNT; fn++) {
		const char *sig = registry_fn_signature(fn);
		const cJSON *id = cJSON_GetObjectItem(ids, sig);
		uint8_t want[4], got[4];

		if (!cJSON_IsString(id))
			fail_msg("'%s' is not a function of the compiled contract", sig);
		unhex_exact(id->valuestring, want, 4);
		assert_int_equal(registry_selector(fn, got), 0);
		assert_memory_equal(got, want, 4);
	}
	assert_null(registry_fn_signature(REGISTRY_FN_COUNT));
	assert_int_equal(registry_selector(REGISTRY_FN_COUNT, (uint8_t[4]){ 0 }), -EINVAL);
}

/* The indexed inputs of each event, as registry.c decodes topics 1..3. */
static const struct {
	enum registry_ev ev;
	const char *indexed;	/* comma-separated names */
	const char *data;	/* comma-separated names */
} event_layout[] = {
	{ REGISTRY_EV_PEER_REGISTERED, "tokenId,key,instanceId", "networkType,wgPublicKey,endpoint" },
	{ REGISTRY_EV_PEER_UPDATED, "tokenId,key,instanceId", "networkType,wgPublicKey,endpoint" },
	{ REGISTRY_EV_HEARTBEAT, "tokenId,key", "timestamp" },
	{ REGISTRY_EV_PEER_DEREGISTERED, "tokenId,key,instanceId", "" },
	{ REGISTRY_EV_PEER_REVOKED, "tokenId,key,instanceId", "" },
	{ REGISTRY_EV_HEARTBEAT_TTL_SET, "", "ttl" },
	{ REGISTRY_EV_MEMBER_ENROLLED, "tokenId,key,appId", "" },
	{ REGISTRY_EV_TRANSFER, "from,to,tokenId", "" },
};

static void test_abi_events(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(sizeof(event_layout) / sizeof(event_layout[0]), REGISTRY_EV_COUNT);
	for (i = 0; i < REGISTRY_EV_COUNT; i++) {
		const char *sig = registry_event_signature(event_layout[i].ev);
		const cJSON *e = find_entry("event", sig), *p;
		char idx[256] = "", dat[256] = "";

		if (!e)
			fail_msg("'%s' is not an event of the compiled contract", sig);
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(e, "inputs")) {
			char *dst = cJSON_IsTrue(cJSON_GetObjectItem(p, "indexed")) ? idx : dat;

			if (dst[0])
				strcat(dst, ",");
			strcat(dst, cJSON_GetObjectItem(p, "name")->valuestring);
		}
		assert_string_equal(idx, event_layout[i].indexed);
		assert_string_equal(dat, event_layout[i].data);
	}
	assert_null(registry_event_signature(REGISTRY_EV_COUNT));
}

static void test_abi_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < registry_error_count(); i++) {
		if (!find_entry("error", registry_error_signature(i)))
			fail_msg("'%s' is not an error of the compiled contract", registry_error_signature(i));
	}
	assert_null(registry_error_signature(registry_error_count()));
}

/* PeerRecord as the decoders read it. */
static const char *const record_fields[] = {
	"tokenId:uint256", "key:address", "instanceId:bytes20", "networkType:uint8",
	"lastHeartbeat:uint64", "live:bool", "wgPublicKey:bytes32", "endpoint:string",
};

static void check_record(const cJSON *tuple)
{
	const cJSON *c;
	size_t i = 0;
	char f[128];

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(tuple, "components")) {
		assert_true(i < sizeof(record_fields) / sizeof(record_fields[0]));
		snprintf(f, sizeof(f), "%s:%s", cJSON_GetObjectItem(c, "name")->valuestring,
			 cJSON_GetObjectItem(c, "type")->valuestring);
		assert_string_equal(f, record_fields[i]);
		i++;
	}
	assert_int_equal(i, sizeof(record_fields) / sizeof(record_fields[0]));
}

static void test_abi_return_layouts(void **state)
{
	const cJSON *f, *outs;

	(void)state;
	f = find_entry("function", "getPeers(uint256,uint256)");
	assert_non_null(f);
	outs = cJSON_GetObjectItem(f, "outputs");
	assert_int_equal(cJSON_GetArraySize(outs), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(outs, 0), "type")->valuestring, "tuple[]");
	check_record(cJSON_GetArrayItem(outs, 0));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(outs, 1), "type")->valuestring, "uint256");

	f = find_entry("function", "getPeer(uint256)");
	assert_non_null(f);
	outs = cJSON_GetObjectItem(f, "outputs");
	assert_int_equal(cJSON_GetArraySize(outs), 1);
	check_record(cJSON_GetArrayItem(outs, 0));

	f = find_entry("function", "getPeerEndpoints()");
	assert_non_null(f);
	outs = cJSON_GetObjectItem(f, "outputs");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(outs, 0), "type")->valuestring, "string[]");
}

/* ---- every Solidity signature literal in the sources ------------------ */

static bool is_ident(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* An elementary Solidity type or tuple, with array suffixes: s[0..n). */
static bool is_type(const char *s, size_t n)
{
	static const char *const base[] = { "uint", "int", "address", "bool", "bytes", "string" };
	size_t i, k;

	while (n > 0 && s[n - 1] == ']') {	/* strip [] or [k] */
		k = n - 1;
		while (k > 0 && s[k - 1] >= '0' && s[k - 1] <= '9')
			k--;
		if (k == 0 || s[k - 1] != '[')
			return false;
		n = k - 1;
	}
	if (n >= 2 && s[0] == '(' && s[n - 1] == ')')
		return true;	/* tuple: checked by the ABI lookup */
	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		size_t bl = strlen(base[i]);

		if (n < bl || memcmp(s, base[i], bl) != 0)
			continue;
		for (k = bl; k < n; k++)
			if (s[k] < '0' || s[k] > '9')
				break;
		if (k == n)
			return true;
	}
	return false;
}

/* s[0..n) looks like "name(type,type...)". */
static bool looks_like_signature(const char *s, size_t n)
{
	size_t i = 0, start, depth = 0;

	if (n < 3 || !is_ident(s[0], true) || s[n - 1] != ')')
		return false;
	while (i < n && is_ident(s[i], false))
		i++;
	if (i == n || s[i] != '(')
		return false;
	start = ++i;
	if (start == n - 1)
		return true;	/* no parameters */
	for (; i < n; i++) {
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && depth > 0)
			depth--;
		else if ((s[i] == ',' && depth == 0) || i == n - 1) {
			if (!is_type(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

static void check_literals(const char *file, const char *text, size_t *ret_found)
{
	const char *p = text, *q;
	char sig[512];

	while ((p = strchr(p, '"')) != NULL) {
		q = strchr(p + 1, '"');
		if (!q)
			break;
		if (looks_like_signature(p + 1, (size_t)(q - p - 1)) && (size_t)(q - p - 1) < sizeof(sig)) {
			memcpy(sig, p + 1, (size_t)(q - p - 1));
			sig[q - p - 1] = '\0';
			if (!find_entry("function", sig) && !find_entry("event", sig) &&
			    !find_entry("error", sig))
				fail_msg("%s: \"%s\" is in no function, event or error of the compiled contract",
					 file, sig);
			(*ret_found)++;
		}
		p = q + 1;
	}
}

static void test_source_signatures(void **state)
{
	const char *src = getenv("DP_SOURCE_DIR");
	char dir[4096], path[4400];
	struct dirent *de;
	size_t found = 0;
	DIR *d;

	(void)state;
	assert_non_null(src);
	snprintf(dir, sizeof(dir), "%s/src", src);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char *text;

		if (n < 3 || strcmp(de->d_name + n - 2, ".c") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		text = read_text(path);
		assert_non_null(text);
		check_literals(de->d_name, text, &found);
		free(text);
	}
	closedir(d);
	/* at least registry.c's own table was seen */
	assert_true(found >= REGISTRY_FN_COUNT + REGISTRY_EV_COUNT);
}

static void test_signature_scanner(void **state)
{
	(void)state;
	assert_true(looks_like_signature("getPeers(uint256,uint256)", 25));
	assert_true(looks_like_signature("f()", 3));
	assert_true(looks_like_signature("g((string,uint256)[],bytes32[2])", 32));
	assert_false(looks_like_signature("missing '%s'", 12));
	assert_false(looks_like_signature("sha256(data)", 12));
	assert_false(looks_like_signature("(0x and 40 hex digits)", 22));
}

/* ---- calldata ---------------------------------------------------------- */

static const char APP_ID[] = "5bb4ff9a3837357f19dc176407a5709c62eb6c56";
static const char APP_PUB[] =
	"818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2d096fc7c"
	"dd5b7dee031ff263f2545e0041c93f6a96eea57b243ad1591e8d633463d2eb02";
static const char KMS_SIG[] =
	"9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e59"
	"4d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8efe330346dfc6c500";
static const char TLS_ENDPOINT[] =
	"https://1691ed1b47506cad7d08834668691d88246f5b1f-8080s.dstack-prod5.phala.network";

static void fill_proof(struct registry_proof *p, const char *derived, const char *s2)
{
	unhex_exact(APP_ID, p->app_id, 20);
	unhex_exact(derived, p->derived_pubkey, 64);
	unhex_exact(APP_PUB, p->app_pubkey, 64);
	unhex_exact(s2, p->app_signature, 65);
	unhex_exact(KMS_SIG, p->kms_signature, 65);
}

static void tls_registration(struct registry_registration *r)
{
	memset(r, 0, sizeof(*r));
	unhex_exact("1691ed1b47506cad7d08834668691d88246f5b1f", r->instance_id, 20);
	r->endpoint = TLS_ENDPOINT;
	r->endpoint_len = strlen(TLS_ENDPOINT);
	r->net = REGISTRY_NET_TLS_GATEWAY;
	fill_proof(&r->proof,
		   "5cdeb98cd1a555e2d9ff8385485847e04ca4950763a31cc09f390cc77961a096"
		   "f2573cd06f0c927138806e0f268f61f1bb04621eacd2c93a6e089d64ede15eb9",
		   "b763f7588c3602ee8cfc166a2aaa845415c1d6fa36172abfb1875417e98cd145"
		   "1bfd35508600007daf62ce4338ada6279345745f9850ab3ba12c22a14f8e822a00");
}

static void expect_calldata(int (*enc)(struct buf *), const char *want_hex)
{
	struct buf want = unhex(want_hex), got;

	buf_init(&got, REGISTRY_CALLDATA_MAX);
	assert_int_equal(enc(&got), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	buf_release(&got);
	buf_release(&want);
}

static int enc_tls(struct buf *out)
{
	struct registry_registration r;

	tls_registration(&r);
	return registry_encode_register_peer(&r, out);
}

static int enc_wg(struct buf *out)
{
	struct registry_registration r;
	static const char ep[] = "[fd00::2]:51820";

	memset(&r, 0, sizeof(r));
	unhex_exact("2222222222222222222222222222222222222222", r.instance_id, 20);
	r.endpoint = ep;
	r.endpoint_len = strlen(ep);
	r.net = REGISTRY_NET_WIREGUARD;
	unhex_exact("0b1a5e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5", r.wg_pubkey, 32);
	fill_proof(&r.proof,
		   "f74383689fb33d05e1d0dee646c1321b83237f47c79682409803e3fe48e3d4b4"
		   "8f1a80e822fb6d6ad8d19b6b5610cc846d6673e5e5f03014c1833696be678c7a",
		   "5753f35360a577bb00fd5d5a8dac208a52ca9392675daf60a6171686207e99b2"
		   "13ffbb06d54f55ab7d82d41de2599ed167c6869672536dc51206cc9f9820e28e01");
	return registry_encode_register_peer(&r, out);
}

static int enc_get_peers(struct buf *out)
{
	return registry_encode_get_peers(1, 1000, out);
}

static int enc_get_peer(struct buf *out)
{
	return registry_encode_call_u64(REGISTRY_FN_GET_PEER, 2, out);
}

static int enc_token_of(struct buf *out)
{
	uint8_t a[20];

	unhex_exact("54C1622bf7e10c9B51C2bc3eFE5d9EC008eD1f8F", a, 20);
	return registry_encode_call_address(REGISTRY_FN_TOKEN_OF, a, out);
}

static int enc_token_of_instance(struct buf *out)
{
	uint8_t v[20];

	unhex_exact("1691ed1b47506cad7d08834668691d88246f5b1f", v, 20);
	return registry_encode_call_fixed(REGISTRY_FN_TOKEN_OF_INSTANCE, v, 20, out);
}

static int enc_token_of_wg(struct buf *out)
{
	uint8_t v[32];

	unhex_exact("0b1a5e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5", v, 32);
	return registry_encode_call_fixed(REGISTRY_FN_TOKEN_OF_WG_KEY, v, 32, out);
}

static int enc_heartbeat(struct buf *out)
{
	return registry_encode_call(REGISTRY_FN_UPDATE_HEARTBEAT, out);
}

static void test_encode_vectors(void **state)
{
	(void)state;
	expect_calldata(enc_tls, CALLDATA_TLS);
	expect_calldata(enc_wg, CALLDATA_WG);
	/* the rest as `cast calldata` 1.7.1 encodes them */
	expect_calldata(enc_get_peers,
			"776b0f04"
			"0000000000000000000000000000000000000000000000000000000000000001"
			"00000000000000000000000000000000000000000000000000000000000003e8");
	expect_calldata(enc_get_peer,
			"67ebb6b20000000000000000000000000000000000000000000000000000000000000002");
	expect_calldata(enc_token_of,
			"42ec38e200000000000000000000000054c1622bf7e10c9b51c2bc3efe5d9ec008ed1f8f");
	expect_calldata(enc_token_of_instance,
			"d23420781691ed1b47506cad7d08834668691d88246f5b1f000000000000000000000000");
	expect_calldata(enc_token_of_wg,
			"d142c0830b1a5e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5");
	expect_calldata(enc_heartbeat, "66e61567");
}

static void test_encode_refusals(void **state)
{
	struct registry_registration r;
	struct buf out;
	char ep[REGISTRY_ENDPOINT_MAX + 2];
	static const char *const bad[] = { "", "https://a b", "https://a;b", "https://a\"b",
					   "https://a$b", "https://a\nb", "https://\xc3\xa9" };
	size_t i;
	uint8_t a[20] = { 0 };

	(void)state;
	buf_init(&out, REGISTRY_CALLDATA_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tls_registration(&r);
		r.endpoint = bad[i];
		r.endpoint_len = strlen(bad[i]);
		assert_int_equal(registry_encode_register_peer(&r, &out), -EINVAL);
	}
	tls_registration(&r);
	memset(ep, 'a', sizeof(ep));
	r.endpoint = ep;
	r.endpoint_len = REGISTRY_ENDPOINT_MAX + 1;
	assert_int_equal(registry_encode_register_peer(&r, &out), -EINVAL);
	r.endpoint_len = REGISTRY_ENDPOINT_MAX;
	assert_int_equal(registry_encode_register_peer(&r, &out), 0);	/* the cap itself is fine */
	buf_reset(&out);

	tls_registration(&r);
	r.wg_pubkey[5] = 1;	/* a WireGuard key in TLS mode */
	assert_int_equal(registry_encode_register_peer(&r, &out), -EINVAL);
	tls_registration(&r);
	r.net = REGISTRY_NET_WIREGUARD;	/* WireGuard without a key */
	assert_int_equal(registry_encode_register_peer(&r, &out), -EINVAL);
	r.net = (enum registry_net)7;
	assert_int_equal(registry_encode_register_peer(&r, &out), -EINVAL);
	assert_int_equal(out.len, 0);

	/* argument kinds must match the function */
	assert_int_equal(registry_encode_call(REGISTRY_FN_GET_PEER, &out), -EINVAL);
	assert_int_equal(registry_encode_call_u64(REGISTRY_FN_TOKEN_OF, 1, &out), -EINVAL);
	assert_int_equal(registry_encode_call_address(REGISTRY_FN_GET_LEADER, a, &out), -EINVAL);
	assert_int_equal(registry_encode_call_fixed(REGISTRY_FN_TOKEN_OF_WG_KEY, a, 20, &out), -EINVAL);
	assert_int_equal(registry_encode_call_fixed(REGISTRY_FN_TOKEN_OF_INSTANCE, a, 32, &out), -EINVAL);
	assert_int_equal(registry_encode_call(REGISTRY_FN_COUNT, &out), -EINVAL);
	assert_int_equal(out.len, 0);

	/* a full output buffer: -E2BIG, unchanged */
	buf_release(&out);
	buf_init(&out, 100);
	tls_registration(&r);
	assert_int_equal(registry_encode_register_peer(&r, &out), -E2BIG);
	assert_int_equal(out.len, 0);
	buf_release(&out);
}

/* ---- return data ------------------------------------------------------- */

static void test_decode_peers_page(void **state)
{
	struct buf d = unhex(RET_GET_PEERS);
	struct registry_peer recs[4];
	uint8_t want[32];
	size_t n;
	uint64_t next = 99;

	(void)state;
	assert_int_equal(registry_decode_peers_page(d.data, d.len, recs, 4, &n, &next), 0);
	assert_int_equal(n, 2);
	assert_int_equal(next, 0);

	assert_int_equal(recs[0].token_id, 1);
	unhex_exact("54c1622bf7e10c9b51c2bc3efe5d9ec008ed1f8f", want, 20);
	assert_memory_equal(recs[0].key, want, 20);
	unhex_exact("1691ed1b47506cad7d08834668691d88246f5b1f", want, 20);
	assert_memory_equal(recs[0].instance_id, want, 20);
	assert_int_equal(recs[0].net, REGISTRY_NET_TLS_GATEWAY);
	assert_int_equal(recs[0].last_heartbeat, 0x6553f10b);
	assert_true(recs[0].live);
	assert_string_equal(recs[0].endpoint, TLS_ENDPOINT);
	assert_int_equal(recs[0].endpoint_len, strlen(TLS_ENDPOINT));

	assert_int_equal(recs[1].token_id, 2);
	assert_int_equal(recs[1].net, REGISTRY_NET_WIREGUARD);
	assert_int_equal(recs[1].last_heartbeat, 0x6553f132);	/* the heartbeat's time */
	unhex_exact("0b1a5e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5", want, 32);
	assert_memory_equal(recs[1].wg_pubkey, want, 32);
	assert_string_equal(recs[1].endpoint, "[fd00::2]:51820");

	/* more records than the caller's array: -E2BIG */
	assert_int_equal(registry_decode_peers_page(d.data, d.len, recs, 1, &n, &next), -E2BIG);
	buf_release(&d);
}

static void test_decode_peer(void **state)
{
	struct buf d = unhex(RET_GET_PEER_2), none = unhex(RET_GET_PEER_9);
	struct registry_peer p;
	uint8_t zero[20] = { 0 };

	(void)state;
	assert_int_equal(registry_decode_peer(d.data, d.len, &p), 0);
	assert_int_equal(p.token_id, 2);
	assert_string_equal(p.endpoint, "[fd00::2]:51820");
	assert_int_equal(p.net, REGISTRY_NET_WIREGUARD);

	assert_int_equal(registry_decode_peer(none.data, none.len, &p), 0);
	assert_int_equal(p.token_id, 9);
	assert_memory_equal(p.key, zero, 20);
	assert_memory_equal(p.instance_id, zero, 20);
	assert_int_equal(p.endpoint_len, 0);
	assert_string_equal(p.endpoint, "");
	buf_release(&d);
	buf_release(&none);
}

static void test_decode_simple(void **state)
{
	struct buf d = unhex(RET_ENDPOINTS), l = unhex(RET_LEADER);
	struct registry_endpoint eps[2];
	size_t n;
	uint64_t v;
	bool b;
	uint8_t big[32] = { 0 }, two[32] = { 0 };

	(void)state;
	assert_int_equal(registry_decode_endpoints(d.data, d.len, eps, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(eps[0].s, TLS_ENDPOINT);
	assert_string_equal(eps[1].s, "[fd00::2]:51820");
	assert_int_equal(eps[1].len, 15);
	assert_int_equal(registry_decode_endpoints(d.data, d.len, eps, 1, &n), -E2BIG);

	assert_int_equal(registry_decode_u64(l.data, l.len, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(registry_decode_bool(l.data, l.len, &b), 0);
	assert_true(b);
	assert_int_equal(registry_decode_u64(l.data, 31, &v), -EBADMSG);
	big[7] = 1;
	assert_int_equal(registry_decode_u64(big, 32, &v), -ERANGE);
	two[31] = 2;
	assert_int_equal(registry_decode_bool(two, 32, &b), -EBADMSG);
	buf_release(&d);
	buf_release(&l);
}

/* Offsets (bytes) inside RET_GET_PEERS of record 0's fields. */
enum {
	REC0 = 0x20 + 0x40 + 0x40,	/* array at 0x40: count, 2 offsets, first tuple */
	REC0_TOKEN = REC0,
	REC0_KEY = REC0 + 0x20,
	REC0_NET = REC0 + 0x60,
	REC0_WG = REC0 + 0xc0,
	REC0_EP_LEN = REC0 + 0x100,
	REC0_EP = REC0 + 0x120,
};

static int decode_mutated(size_t off, uint8_t value)
{
	struct buf d = unhex(RET_GET_PEERS);
	struct registry_peer recs[4];
	size_t n;
	uint64_t next;
	int r;

	assert_true(off < d.len);
	d.data[off] = value;
	r = registry_decode_peers_page(d.data, d.len, recs, 4, &n, &next);
	buf_release(&d);
	return r;
}

static void test_decode_untrusted(void **state)
{
	static const uint8_t unsafe[] = { ' ', ';', '"', '\'', '$', '`', '|', '&', '\n', 0, 0x7f, 0xc3, '@', ',' };
	struct buf d = unhex(RET_GET_PEERS);
	struct registry_peer recs[4];
	size_t i, n;
	uint64_t next;

	(void)state;
	/* sanity: the offsets point where the test thinks */
	assert_int_equal(d.data[REC0_TOKEN + 31], 1);
	assert_int_equal(d.data[REC0_EP_LEN + 31], strlen(TLS_ENDPOINT));
	assert_int_equal(d.data[REC0_EP], 'h');
	assert_int_equal(decode_mutated(REC0_EP, 'h'), 0);

	for (i = 0; i < sizeof(unsafe); i++)
		assert_int_equal(decode_mutated(REC0_EP + 10, unsafe[i]), -EBADMSG);
	assert_int_equal(decode_mutated(REC0_NET + 31, 2), -EBADMSG);	/* network type */
	assert_int_equal(decode_mutated(REC0_WG + 3, 9), -EBADMSG);	/* wg key in TLS mode */
	assert_int_equal(decode_mutated(REC0_KEY + 2, 1), -EBADMSG);	/* dirty address */
	assert_int_equal(decode_mutated(REC0_TOKEN + 3, 1), -ERANGE);	/* token id past 64 bits */
	assert_int_equal(decode_mutated(REC0_TOKEN + 31, 2), -EBADMSG);	/* token ids out of order */
	assert_int_equal(decode_mutated(REC0_EP_LEN + 30, 1), -E2BIG);	/* endpoint past the cap */
	assert_int_equal(decode_mutated(REC0_EP_LEN + 31, 0), -EBADMSG);	/* empty endpoint */
	assert_int_equal(decode_mutated(0x40 + 31, 0xff), -EBADMSG);	/* count past the data */
	assert_int_equal(decode_mutated(31, 0x41), -EBADMSG);	/* misaligned offset */

	/* every truncation fails cleanly, up to the last string's zero padding
	 * (17 bytes after the 15 of "[fd00::2]:51820"), which abi.h does not
	 * require */
	for (i = 0; i < d.len - 17; i++)
		assert_true(registry_decode_peers_page(d.data, i, recs, 4, &n, &next) < 0);
	assert_int_equal(registry_decode_peers_page(d.data, d.len - 17, recs, 4, &n, &next), 0);
	buf_release(&d);
}

/* ---- event logs -------------------------------------------------------- */

static int decode_log(const char *const *topics_hex, size_t nt, const char *data_hex,
		      struct registry_event *ev)
{
	uint8_t topics[4][32];
	struct buf d = unhex(data_hex);
	size_t i;
	int r;

	assert_true(nt <= 4);
	for (i = 0; i < nt; i++)
		unhex_exact(topics_hex[i], topics[i], 32);
	r = registry_decode_event((const uint8_t (*)[32])topics, nt, d.data, d.len, ev);
	buf_release(&d);
	return r;
}

#define NT(a) (sizeof(a) / sizeof(a[0]))

static void test_decode_events(void **state)
{
	struct registry_event ev;
	uint8_t want[32], zero[20] = { 0 };
	uint8_t topic[32];

	(void)state;
	assert_int_equal(decode_log(LOG_TRANSFER_1_TOPICS, NT(LOG_TRANSFER_1_TOPICS), LOG_TRANSFER_1_DATA, &ev), 0);
	assert_int_equal(ev.kind, REGISTRY_EV_TRANSFER);
	assert_int_equal(ev.token_id, 1);
	assert_memory_equal(ev.from, zero, 20);
	unhex_exact("54c1622bf7e10c9b51c2bc3efe5d9ec008ed1f8f", want, 20);
	assert_memory_equal(ev.to, want, 20);

	assert_int_equal(decode_log(LOG_ENROLLED_1_TOPICS, NT(LOG_ENROLLED_1_TOPICS), LOG_ENROLLED_1_DATA, &ev), 0);
	assert_int_equal(ev.kind, REGISTRY_EV_MEMBER_ENROLLED);
	unhex_exact(APP_ID, want, 20);
	assert_memory_equal(ev.app_id, want, 20);

	assert_int_equal(decode_log(LOG_TRANSFER_2_TOPICS, NT(LOG_TRANSFER_2_TOPICS), LOG_TRANSFER_2_DATA, &ev), 0);
	assert_int_equal(ev.token_id, 2);
	assert_int_equal(decode_log(LOG_ENROLLED_2_TOPICS, NT(LOG_ENROLLED_2_TOPICS), LOG_ENROLLED_2_DATA, &ev), 0);
	assert_int_equal(ev.token_id, 2);
	unhex_exact("9178e7632a4a70f97065184f94caa3a5985ec873", want, 20);
	assert_memory_equal(ev.key, want, 20);

	assert_int_equal(decode_log(LOG_REGISTERED_1_TOPICS, NT(LOG_REGISTERED_1_TOPICS), LOG_REGISTERED_1_DATA, &ev), 0);
	assert_int_equal(ev.kind, REGISTRY_EV_PEER_REGISTERED);
	assert_int_equal(ev.token_id, 1);
	unhex_exact("1691ed1b47506cad7d08834668691d88246f5b1f", want, 20);
	assert_memory_equal(ev.instance_id, want, 20);
	assert_int_equal(ev.net, REGISTRY_NET_TLS_GATEWAY);
	assert_string_equal(ev.endpoint, TLS_ENDPOINT);

	assert_int_equal(decode_log(LOG_REGISTERED_2_TOPICS, NT(LOG_REGISTERED_2_TOPICS), LOG_REGISTERED_2_DATA, &ev), 0);
	assert_int_equal(ev.net, REGISTRY_NET_WIREGUARD);
	assert_int_equal(ev.token_id, 2);
	assert_string_equal(ev.endpoint, "[fd00::2]:51820");

	assert_int_equal(decode_log(LOG_HEARTBEAT_2_TOPICS, NT(LOG_HEARTBEAT_2_TOPICS), LOG_HEARTBEAT_2_DATA, &ev), 0);
	assert_int_equal(ev.kind, REGISTRY_EV_HEARTBEAT);
	assert_int_equal(ev.token_id, 2);
	assert_int_equal(ev.timestamp, 0x6553f132);

	/* topic 0 of the real logs is what registry_event_topic() computes */
	unhex_exact(LOG_REGISTERED_1_TOPICS[0], want, 32);
	assert_int_equal(registry_event_topic(REGISTRY_EV_PEER_REGISTERED, topic), 0);
	assert_memory_equal(topic, want, 32);
	unhex_exact(LOG_HEARTBEAT_2_TOPICS[0], want, 32);
	assert_int_equal(registry_event_topic(REGISTRY_EV_HEARTBEAT, topic), 0);
	assert_memory_equal(topic, want, 32);
	assert_int_equal(registry_event_topic(REGISTRY_EV_COUNT, topic), -EINVAL);
}

static void test_decode_events_untrusted(void **state)
{
	const char *t[4];
	char dirty[65], unsafe_data[sizeof(LOG_REGISTERED_1_DATA)];
	struct registry_event ev;
	char *p;

	(void)state;
	/* wrong topic counts */
	assert_int_equal(decode_log(LOG_REGISTERED_1_TOPICS, 3, LOG_REGISTERED_1_DATA, &ev), -EBADMSG);
	assert_int_equal(decode_log(LOG_HEARTBEAT_2_TOPICS, 2, LOG_HEARTBEAT_2_DATA, &ev), -EBADMSG);
	assert_int_equal(decode_log(LOG_REGISTERED_1_TOPICS, 0, LOG_REGISTERED_1_DATA, &ev), -ENOENT);
	/* an event not of this contract */
	t[0] = "0000000000000000000000000000000000000000000000000000000000000001";
	assert_int_equal(decode_log(t, 1, "", &ev), -ENOENT);
	/* dirty padding of an indexed address and of an indexed bytes20 */
	memcpy(t, LOG_REGISTERED_1_TOPICS, sizeof(t));
	memcpy(dirty, LOG_REGISTERED_1_TOPICS[2], 65);
	dirty[0] = '1';
	t[2] = dirty;
	assert_int_equal(decode_log(t, 4, LOG_REGISTERED_1_DATA, &ev), -EBADMSG);
	memcpy(t, LOG_REGISTERED_1_TOPICS, sizeof(t));
	memcpy(dirty, LOG_REGISTERED_1_TOPICS[3], 65);
	dirty[63] = '1';
	t[3] = dirty;
	assert_int_equal(decode_log(t, 4, LOG_REGISTERED_1_DATA, &ev), -EBADMSG);
	/* an unsafe byte in the endpoint: 'h' (68) of "https" becomes ';' (3b) */
	memcpy(unsafe_data, LOG_REGISTERED_1_DATA, sizeof(unsafe_data));
	p = strstr(unsafe_data, "68747470733a2f2f");
	assert_non_null(p);
	p[0] = '3';
	p[1] = 'b';
	assert_int_equal(decode_log(LOG_REGISTERED_1_TOPICS, 4, unsafe_data, &ev), -EBADMSG);
	/* truncated data */
	assert_int_equal(decode_log(LOG_REGISTERED_1_TOPICS, 4, "00", &ev), -EBADMSG);
	assert_int_equal(decode_log(LOG_HEARTBEAT_2_TOPICS, 3, "", &ev), -EBADMSG);
}

/* ---- errors ------------------------------------------------------------ */

static void test_error_lookup(void **state)
{
	/* revert data of the replay refused by the chain (tests/e2e/test_contracts_deploy.sh) */
	struct buf d = unhex("b5f0db8c"
			     "000000000000000000000000b3857cf3f36d0c45930d1ba0db8040f9d1a0674f"
			     "000000000000000000000000d508660da170d8b162779698a64e6707d5aa217a");
	const char *sig = NULL;

	(void)state;
	assert_int_equal(registry_error_lookup(d.data, d.len, &sig), 0);
	assert_string_equal(sig, "AppKeyMismatch(address,address)");
	assert_int_equal(registry_error_lookup(d.data, 3, &sig), -EBADMSG);
	d.data[0] ^= 1;
	assert_int_equal(registry_error_lookup(d.data, d.len, &sig), -ENOENT);
	buf_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abi_selectors),
		cmocka_unit_test(test_abi_events),
		cmocka_unit_test(test_abi_errors),
		cmocka_unit_test(test_abi_return_layouts),
		cmocka_unit_test(test_signature_scanner),
		cmocka_unit_test(test_source_signatures),
		cmocka_unit_test(test_encode_vectors),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_decode_peers_page),
		cmocka_unit_test(test_decode_peer),
		cmocka_unit_test(test_decode_simple),
		cmocka_unit_test(test_decode_untrusted),
		cmocka_unit_test(test_decode_events),
		cmocka_unit_test(test_decode_events_untrusted),
		cmocka_unit_test(test_error_lookup),
	};

	return cmocka_run_group_tests(tests, load_abi, free_abi);
}
