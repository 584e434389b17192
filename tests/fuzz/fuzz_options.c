/* libFuzzer target: mount option lists and endpoint validation */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct options o;
	char err[OPTIONS_ERR_MAX], rest[128];
	char *s;
	uint16_t port;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	options_init(&o);
	if (options_apply_list(&o, s, rest, sizeof(rest), err, sizeof(err)) == 0)
		(void)options_finish(&o, err, sizeof(err));
	(void)endpoint_tls_ok((const char *)data, size);
	(void)endpoint_hostport_ok((const char *)data, size, &port);
	(void)endpoint_dnsname_ok((const char *)data, size);
	free(s);
	return 0;
}
