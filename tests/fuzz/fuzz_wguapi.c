/*
 * libFuzzer target: the UAPI reply parsers (wguapi_parse_get(),
 * wguapi_parse_set_reply()) over arbitrary bytes.  A parsed device must
 * hold sane values, and formatting its peers as a set request must work.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "wguapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_device d;
	struct buf b;
	size_t i;

	(void)wguapi_parse_set_reply((const char *)data, size);
	if (wguapi_parse_get((const char *)data, size, &d) < 0)
		return 0;
	if (d.npeers > WG_PEERS_MAX)
		abort();
	for (i = 0; i < d.npeers; i++) {
		if (d.peers[i].nallowed > WG_ALLOWEDIPS_MAX)
			abort();
		d.peers[i].flags |= WG_PEER_REPLACE_ALLOWEDIPS;
	}
	buf_init(&b, WGUAPI_REQUEST_MAX);
	if (wguapi_format_set(&d, &b) < 0)
		abort();
	buf_release(&b);
	wg_device_release(&d);
	return 0;
}
