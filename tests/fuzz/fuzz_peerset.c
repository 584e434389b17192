/*
 * libFuzzer target: the watcher's decoders of untrusted chain data.  The
 * first byte picks the input: bit 7 the mode (TLS when set), bits 5-6 how
 * many topics fewer than 4 the log has, bits 0-4 the kind:
 *   0: a getPeers() return (records, next) into a set, then liveness
 *   1..7: an event log of kind (k - 1): the rest is topics 1..3 (96
 *         bytes) then the data; decoded and applied to an empty set
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "peerset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct peer live[PEERS_MAX];

static void
check_live(const struct peerset *ps)
{
	size_t n;

	if (peerset_live(ps, 1000, live, PEERS_MAX, &n) == 0)
		for (size_t i = 1; i < n; i++)
			if (live[i - 1].token_id >= live[i].token_id)
				__builtin_trap();	/* must be sorted, unique */
	(void)peerset_next_expiry(ps, 1000);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t contract[20] = { 1 };
	struct peerset_config cfg = { .mode = PEER_NET_WIREGUARD, .mesh_prefix = 24 };
	struct jsonrpc_log l;
	struct peerset_event ev;
	struct peerset ps;
	uint64_t next;

	if (size < 1)
		return 0;
	cfg.mode = data[0] & 0x80 ? PEER_NET_TLS : PEER_NET_WIREGUARD;
	peerset_init(&ps, &cfg);
	ps.ttl = 500;
	if ((data[0] & 0x1f) == 0) {
		(void)peerset_add_page(&ps, data + 1, size - 1, &next);
		check_live(&ps);
	} else if ((data[0] & 0x1f) <= PEERSET_EV_COUNT && size >= 1 + 96) {
		memset(&l, 0, sizeof(l));
		memcpy(l.address, contract, 20);
		memcpy(l.topics[0], peerset_event_topics()[(data[0] & 0x1f) - 1], 32);
		for (size_t t = 0; t < 3; t++)
			memcpy(l.topics[1 + t], data + 1 + 32 * t, 32);
		l.n_topics = 4 - (size_t)((data[0] >> 5) & 3);
		l.data = (uint8_t *)(uintptr_t)(data + 97);
		l.data_len = size - 97;
		if (peerset_decode_log(&l, contract, &ev) == 0) {
			(void)peerset_apply(&ps, &ev, 900);
			check_live(&ps);
		}
	}
	peerset_release(&ps);
	return 0;
}
