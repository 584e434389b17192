#include "endpoint.h"

#include <arpa/inet.h>
#include <string.h>

static bool
safe_byte(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c == '-' || c == '.' || c == '/' || c == ':' || c == '[' ||
	    c == ']' || c == '_';
}

bool
endpoint_charset_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > ENDPOINT_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!safe_byte((unsigned char)s[i]))
			return false;
	return true;
}

bool
endpoint_dnsname_ok(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}

/* host is a DNS name, a dotted IPv4 address or a bracketed IPv6 address */
static bool
host_ok(const char *s, size_t n)
{
	char tmp[64];
	struct in6_addr a6;

	if (n >= 2 && s[0] == '[') {
		if (s[n - 1] != ']' || n - 2 >= sizeof(tmp) || n - 2 == 0)
			return false;
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		return inet_pton(AF_INET6, tmp, &a6) == 1;
	}
	return endpoint_dnsname_ok(s, n);
}

/* a decimal port 1..65535 without sign or leading zero */
static bool
port_ok(const char *s, size_t n, uint16_t *ret_port)
{
	uint32_t v = 0;
	size_t i;

	if (n == 0 || n > 5 || s[0] == '0')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	if (ret_port)
		*ret_port = (uint16_t)v;
	return true;
}

bool
endpoint_hostport_ok(const char *s, size_t n, uint16_t *ret_port)
{
	size_t colon;

	if (!endpoint_charset_ok(s, n))
		return false;
	for (colon = n; colon > 0 && s[colon - 1] != ':'; colon--)
		;
	if (colon < 2)
		return false;
	colon--;
	if (!host_ok(s, colon))
		return false;
	return port_ok(s + colon + 1, n - colon - 1, ret_port);
}

bool
endpoint_tls_ok(const char *s, size_t n)
{
	static const char scheme[] = "https://";
	const size_t sl = sizeof(scheme) - 1;
	size_t i, hostend, colon;

	if (!endpoint_charset_ok(s, n) || n <= sl || memcmp(s, scheme, sl) != 0)
		return false;
	s += sl;
	n -= sl;
	for (hostend = 0; hostend < n && s[hostend] != '/'; hostend++)
		;
	/* authority is host or host:port; a bracketed IPv6 host has colons */
	colon = hostend;
	for (i = hostend; i > 0; i--) {
		if (s[i - 1] == ']')
			break;
		if (s[i - 1] == ':') {
			colon = i - 1;
			break;
		}
	}
	if (colon != hostend && !port_ok(s + colon + 1, hostend - colon - 1, NULL))
		return false;
	return host_ok(s, colon);
}
