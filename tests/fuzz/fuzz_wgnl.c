/*
 * libFuzzer target: the WireGuard generic netlink parser
 * (wgnl_parse_device()) over arbitrary bytes taken as netlink messages.
 * A parsed device is rendered back as SET messages, which must work and
 * parse again to the same number of peers.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wgnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_device d, again;
	struct buf out;
	unsigned int n;
	bool done = false;
	uint32_t *aligned;
	size_t i;

	/* netlink buffers are aligned: so is the copy the parser reads */
	aligned = malloc(size + 4);
	if (!aligned)
		return 0;
	memcpy(aligned, data, size);
	wg_device_init(&d);
	if (wgnl_parse_device(aligned, size, &d, &done) < 0 || d.npeers == 0) {
		wg_device_release(&d);
		free(aligned);
		return 0;
	}
	for (i = 0; i < d.npeers; i++)
		if (d.peers[i].nallowed > WG_ALLOWEDIPS_MAX)
			abort();
	memcpy(d.ifname, "wgfuzz0", 8);
	buf_init(&out, (d.npeers + 1) * (size_t)WGNL_MSG_MAX);
	if (wgnl_build_set(&d, 0x20, 1, &out, &n) == 0) {
		wg_device_init(&again);
		done = false;
		if (wgnl_parse_device(out.data, out.len, &again, &done) < 0)
			abort();
		/* consecutive equal keys join, so never more peers than before */
		if (again.npeers == 0 || again.npeers > d.npeers)
			abort();
		wg_device_release(&again);
	}
	buf_release(&out);
	wg_device_release(&d);
	free(aligned);
	return 0;
}
