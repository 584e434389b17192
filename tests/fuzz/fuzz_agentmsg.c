/*
 * libFuzzer target for the guest-agent and gateway reply parsers.  The first
 * input byte picks the parser, the rest is the reply body.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agentmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[AGENTMSG_ERROR_MAX + 1];
	struct agent_sysconfig sc;
	struct agent_version v;
	struct gateway_info gi;
	struct agent_info info;
	struct agent_key k;
	const char *p;
	size_t n;

	if (size < 1)
		return 0;
	p = (const char *)data + 1;
	n = size - 1;
	switch (data[0] % 7) {
	case 0:
		if (agentmsg_parse_info(p, n, &info) == 0 && info.default_gateway_domain[0])
			(void)strlen(info.default_gateway_domain);
		break;
	case 1:
		if (agentmsg_parse_key(p, n, &k) == 0)
			agentmsg_key_wipe(&k);
		break;
	case 2:
		(void)agentmsg_parse_version(p, n, &v);
		break;
	case 3:
		if (agentmsg_parse_error(p, n, msg, sizeof(msg)) == 0 && strlen(msg) > AGENTMSG_ERROR_MAX)
			__builtin_trap();
		break;
	case 4:
		(void)agentmsg_parse_sysconfig(p, n, &sc);
		break;
	case 5:
		if (agentmsg_parse_gateway_info(p, n, &gi) == 0 &&
		    !agentmsg_domain_valid(gi.base_domain, strlen(gi.base_domain)))
			__builtin_trap();
		break;
	default:
		(void)agentmsg_domain_valid(p, n);
		break;
	}
	return 0;
}
