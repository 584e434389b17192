/*
 * endpoint: validation of peer endpoints, the strings that end up in
 * /p2p/peers, peers.json and the WireGuard device.
 *
 * The rules are the contract's (contracts/README.md), checked again here
 * because the daemon trusts nothing it reads from the chain:
 *   - 1..ENDPOINT_MAX bytes, each in [A-Za-z0-9._:/[]-] plus '_': no
 *     whitespace, control bytes, NUL, quotes, shell metacharacters or
 *     non-ASCII (so no look-alike characters);
 *   - TLS mode: "https://" followed by a host[:port][/path] whose host is a
 *     DNS name or an IPv4 or bracketed IPv6 literal;
 *   - WireGuard mode: host:port with a decimal port 1..65535 (no leading
 *     zero), host a DNS name, an IPv4 literal or a bracketed IPv6 literal.
 * Pure functions, no allocation.
 */
#ifndef DP_ENDPOINT_H
#define DP_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENDPOINT_MAX 253	/* bytes, without NUL */

/* true when every byte of s[0..n) is in the safe set and 1 <= n <= ENDPOINT_MAX */
bool endpoint_charset_ok(const char *s, size_t n);

/* true when s[0..n) is an acceptable TLS-mode endpoint (https URL) */
bool endpoint_tls_ok(const char *s, size_t n);

/*
 * true when s[0..n) is an acceptable WireGuard endpoint "host:port".
 * On success, when ret_port is not NULL, the port is stored there.
 */
bool endpoint_hostport_ok(const char *s, size_t n, uint16_t *ret_port);

/* true when s[0..n) is a DNS name: labels of 1..63 [A-Za-z0-9-] (not starting
 * or ending with '-') separated by single dots, 1..253 bytes in all. */
bool endpoint_dnsname_ok(const char *s, size_t n);

#endif
