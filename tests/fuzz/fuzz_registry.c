/*
 * libFuzzer target: the registry decoders (return data and event logs) over
 * arbitrary bytes, checking what they promise on success: endpoints capped,
 * NUL-terminated and in the safe set, enums in range, page records in token
 * order.
 *
 * Input: byte 0 picks the decoder.  For event logs, byte 1 = topic count
 * (mod 5) and byte 2 = which known event's topic 0 to put first (>= the
 * event count: keep the input's own), then the topics (32 bytes each) and
 * the log data.  Otherwise the rest is the return data.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PAGE_CAP	64

static void check_endpoint(const char *s, size_t len, bool may_be_empty)
{
	if (len > REGISTRY_ENDPOINT_MAX || s[len] != '\0' || strlen(s) != len)
		abort();
	if (len == 0 ? !may_be_empty : !endpoint_charset_ok(s, len))
		abort();
}

static void check_peer(const struct registry_peer *p, bool registered)
{
	if (p->net != REGISTRY_NET_TLS_GATEWAY && p->net != REGISTRY_NET_WIREGUARD)
		abort();
	check_endpoint(p->endpoint, p->endpoint_len, !registered);
}

static void fuzz_event(const uint8_t *data, size_t size)
{
	uint8_t topics[4][32];
	struct registry_event ev;
	size_t nt, i;

	if (size < 3)
		return;
	nt = data[1] % 5;
	if (size - 3 < nt * 32)
		return;
	memcpy(topics, data + 3, nt * 32);
	if (nt > 0 && data[2] < REGISTRY_EV_COUNT)
		registry_event_topic((enum registry_ev)data[2], topics[0]);
	i = 3 + nt * 32;
	if (registry_decode_event((const uint8_t (*)[32])topics, nt, data + i, size - i, &ev) == 0) {
		if ((unsigned int)ev.kind >= REGISTRY_EV_COUNT)
			abort();
		if (ev.kind == REGISTRY_EV_PEER_REGISTERED || ev.kind == REGISTRY_EV_PEER_UPDATED)
			check_endpoint(ev.endpoint, ev.endpoint_len, false);
	}
}

static void fuzz_page(const uint8_t *data, size_t size)
{
	static struct registry_peer recs[FUZZ_PAGE_CAP];
	uint64_t next;
	size_t n, i;

	if (registry_decode_peers_page(data, size, recs, FUZZ_PAGE_CAP, &n, &next) != 0)
		return;
	if (n > FUZZ_PAGE_CAP)
		abort();
	for (i = 0; i < n; i++) {
		check_peer(&recs[i], true);
		if (i > 0 && recs[i].token_id <= recs[i - 1].token_id)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct registry_endpoint eps[FUZZ_PAGE_CAP];
	struct registry_peer p;
	const char *sig;
	uint64_t v;
	size_t n, i;
	bool b;

	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		fuzz_page(data + 1, size - 1);
		break;
	case 1:
		if (registry_decode_peer(data + 1, size - 1, &p) == 0)
			check_peer(&p, p.endpoint_len > 0);
		break;
	case 2:
		if (registry_decode_endpoints(data + 1, size - 1, eps, FUZZ_PAGE_CAP, &n) == 0)
			for (i = 0; i < n; i++)
				check_endpoint(eps[i].s, eps[i].len, false);
		break;
	case 3:
		fuzz_event(data, size);
		break;
	case 4:
		(void)registry_decode_u64(data + 1, size - 1, &v);
		(void)registry_decode_bool(data + 1, size - 1, &b);
		break;
	default:
		if (registry_error_lookup(data + 1, size - 1, &sig) == 0 && !sig)
			abort();
		break;
	}
	return 0;
}
