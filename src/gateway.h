/*
 * gateway: discovery of this instance's public URL behind the dstack
 * gateway (TLS mode).  libcurl stays inside (one GET of <gateway>/prpc/Info).
 *
 * The gateway domain comes from the first of:
 *   1. an explicit option (opts->domain);
 *   2. $DSTACK_GATEWAY_DOMAIN;
 *   3. default_gateway_domain in the app-compose that /Info carries;
 *   4. gateway_urls in the host-shared sys-config, then GET
 *      <gateway_url>/prpc/Info for base_domain and external_port (each URL
 *      in turn until one answers).
 * 1-3 are "domain[:port]" (port defaults to 443).  Every domain is validated
 * (agentmsg_domain_valid) before a URL is built from it.
 * The URL is https://<instance_id>-<app_port>[s].<base_domain>[:<port>],
 * ":<port>" omitted when it is 443; "s" when the gateway passes TLS through
 * to the app.
 *
 * Errors: -errno, with a one-line description in a per-thread buffer read
 * by gateway_last_error(); the caller logs it.
 */
#ifndef DP_GATEWAY_H
#define DP_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agentmsg.h"

#define GATEWAY_ENV_DOMAIN	"DSTACK_GATEWAY_DOMAIN"
#define GATEWAY_SYS_CONFIG	"/dstack/.host-shared/.sys-config.json"
#define GATEWAY_URL_MAX		(8 + 40 + 6 + 2 + AGENTMSG_DOMAIN_MAX + 6 + 1)
#define GATEWAY_TIMEOUT_MS	10000
#define GATEWAY_ERROR_MAX	512

enum gateway_source {
	GATEWAY_FROM_OPTION,
	GATEWAY_FROM_ENV,
	GATEWAY_FROM_APP_COMPOSE,
	GATEWAY_FROM_SYS_CONFIG,
};

struct gateway_opts {
	const char *domain;		/* option; NULL or "" when not given */
	const char *sys_config_path;	/* NULL: GATEWAY_SYS_CONFIG */
	uint16_t app_port;		/* the app's port behind the gateway, 1..65535 */
	bool tls_passthrough;		/* the "s" suffix */
};

/*
 * Build the instance URL into out (outsz bytes).  Returns the length, or
 * -EINVAL (invalid base_domain, port 0), -ENOSPC.  Pure.
 */
int gateway_build_url(const uint8_t instance_id[20], uint16_t app_port, bool tls_passthrough,
		      const char *base_domain, uint16_t external_port,
		      char *out, size_t outsz);

/*
 * Split "domain[:port]" into ret_domain (AGENTMSG_DOMAIN_MAX + 1 bytes) and
 * *ret_port (443 when absent), validating both.  Returns 0, -EINVAL.  Pure.
 */
int gateway_parse_hostport(const char *s, char ret_domain[AGENTMSG_DOMAIN_MAX + 1],
			   uint16_t *ret_port);

/*
 * Discover this instance's URL (order above) into ret_url (GATEWAY_URL_MAX
 * bytes) and where it came from into *ret_source (may be NULL).  info is the
 * agent's /Info.  Returns 0, -EINVAL (a bad domain from any source, bad
 * app_port), -ENOENT (no source gave a gateway), -EBADMSG/-E2BIG (bad
 * sys-config or gateway reply), -EIO (no gateway answered), -ENOMEM.
 */
int gateway_discover(const struct gateway_opts *opts, const struct agent_info *info,
		     char ret_url[GATEWAY_URL_MAX], enum gateway_source *ret_source);

/* The description of the last failure in this thread ("" if none). */
const char *gateway_last_error(void);

#endif
