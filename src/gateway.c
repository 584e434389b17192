#include "gateway.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hex.h"

static __thread char gateway_err[GATEWAY_ERROR_MAX];

__attribute__((format(printf, 1, 2)))
static void
gateway_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(gateway_err, sizeof(gateway_err), fmt, ap) < 0)
		gateway_err[0] = '\0';
	va_end(ap);
}

const char *
gateway_last_error(void)
{
	return gateway_err;
}

int
gateway_build_url(const uint8_t instance_id[20], uint16_t app_port, bool tls_passthrough,
		  const char *base_domain, uint16_t external_port,
		  char *out, size_t outsz)
{
	char id[41], port[8] = "";
	int n;

	if (app_port == 0 || external_port == 0 ||
	    !agentmsg_domain_valid(base_domain, strlen(base_domain)))
		return -EINVAL;
	if (hex_encode(instance_id, 20, false, id, sizeof(id)) != 40)
		return -EINVAL;
	if (external_port != 443 &&
	    snprintf(port, sizeof(port), ":%u", (unsigned)external_port) < 0)
		return -EINVAL;
	n = snprintf(out, outsz, "https://%s-%u%s.%s%s", id, (unsigned)app_port,
		     tls_passthrough ? "s" : "", base_domain, port);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= outsz)
		return -ENOSPC;
	return n;
}

int
gateway_parse_hostport(const char *s, char ret_domain[AGENTMSG_DOMAIN_MAX + 1],
		       uint16_t *ret_port)
{
	const char *colon = strchr(s, ':');
	size_t dlen = colon ? (size_t)(colon - s) : strlen(s);
	uint64_t port = 443;

	if (!agentmsg_domain_valid(s, dlen))
		return -EINVAL;
	if (colon && num_parse_u64(colon + 1, false, 1, 65535, &port) < 0)
		return -EINVAL;
	memcpy(ret_domain, s, dlen);
	ret_domain[dlen] = '\0';
	*ret_port = (uint16_t)port;
	return 0;
}

struct sink {
	struct buf *b;
	bool overflow;
};

static size_t
sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (buf_append(s->b, p, n) < 0) {
		s->overflow = true;
		return 0;
	}
	return n;
}

/* GET <gw>/prpc/Info and parse it. */
static int
gateway_fetch_info(const char *gw, struct gateway_info *ret)
{
	char url[AGENTMSG_URL_MAX + 16];
	struct buf body;
	struct sink sink = { .b = &body };
	long status = 0;
	size_t len = strlen(gw);
	CURLcode c;
	CURL *curl;
	int r;

	while (len > 0 && gw[len - 1] == '/')
		len--;
	r = snprintf(url, sizeof(url), "%.*s/prpc/Info", (int)len, gw);
	if (r < 0 || (size_t)r >= sizeof(url))
		return -EINVAL;
	curl = curl_easy_init();
	if (!curl)
		return -ENOMEM;
	buf_init(&body, AGENTMSG_MAX_GATEWAY);
	if (curl_easy_setopt(curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)GATEWAY_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink) != CURLE_OK) {
		r = -ENOMEM;
		goto out_cleanup;
	}
	c = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (sink.overflow) {
		gateway_set_error("gateway '%s' info reply exceeds %d bytes", url, AGENTMSG_MAX_GATEWAY);
		r = -E2BIG;
	} else if (c != CURLE_OK) {
		gateway_set_error("gateway '%s' failed: %s", url, curl_easy_strerror(c));
		r = -EIO;
	} else if (status != 200) {
		gateway_set_error("gateway '%s' failed: HTTP %ld", url, status);
		r = -EIO;
	} else {
		r = agentmsg_parse_gateway_info((const char *)body.data, body.len, ret);
		if (r < 0)
			gateway_set_error("malformed reply from gateway '%s': %s", url, strerror(-r));
	}
out_cleanup:
	buf_release(&body);
	curl_easy_cleanup(curl);
	return r;
}

/* Source 4: sys-config gateway_urls, each in turn. */
static int
gateway_from_sysconfig(const char *path, struct gateway_info *ret)
{
	struct agent_sysconfig sc;
	struct buf file;
	size_t i;
	int r;

	buf_init(&file, AGENTMSG_MAX_SYSCONFIG);
	r = buf_read_file(&file, path);
	if (r == 0)
		r = agentmsg_parse_sysconfig((const char *)file.data, file.len, &sc);
	buf_release(&file);
	if (r == -ENOENT) {
		gateway_set_error("no gateway domain: no option, no " GATEWAY_ENV_DOMAIN
				  ", no default_gateway_domain in app-compose, no sys-config at '%s'",
				  path);
		return -ENOENT;
	}
	if (r < 0) {
		gateway_set_error("cannot use sys-config '%s': %s", path, strerror(-r));
		return r;
	}
	if (sc.n_gateway_urls == 0) {
		gateway_set_error("no gateway domain: sys-config '%s' lists no gateway_urls", path);
		return -ENOENT;
	}
	for (i = 0; i < sc.n_gateway_urls; i++) {
		r = gateway_fetch_info(sc.gateway_urls[i], ret);
		if (r == 0 || r == -ENOMEM)
			return r;
	}
	return r;
}

/* Sources 1-3 in order: the first that names a domain, or NULL. */
static const char *
gateway_named(const struct gateway_opts *opts, const struct agent_info *info,
	      enum gateway_source *src)
{
	const char *env = getenv(GATEWAY_ENV_DOMAIN);

	if (opts->domain && *opts->domain) {
		*src = GATEWAY_FROM_OPTION;
		return opts->domain;
	}
	if (env && *env) {
		*src = GATEWAY_FROM_ENV;
		return env;
	}
	if (info->default_gateway_domain[0]) {
		*src = GATEWAY_FROM_APP_COMPOSE;
		return info->default_gateway_domain;
	}
	return NULL;
}

static int
gateway_pick(const struct gateway_opts *opts, const struct agent_info *info,
	     char domain[AGENTMSG_DOMAIN_MAX + 1], uint16_t *port, enum gateway_source *src)
{
	static const char *const names[] = {
		[GATEWAY_FROM_OPTION] = "option",
		[GATEWAY_FROM_ENV] = GATEWAY_ENV_DOMAIN,
		[GATEWAY_FROM_APP_COMPOSE] = "app-compose default_gateway_domain",
	};
	struct gateway_info gi;
	const char *s;
	int r;

	s = gateway_named(opts, info, src);
	if (s) {
		if (gateway_parse_hostport(s, domain, port) < 0) {
			gateway_set_error("bad gateway domain '%.*s' (from %s)", AGENTMSG_HOSTPORT_MAX,
					  s, names[*src]);
			return -EINVAL;
		}
		return 0;
	}
	*src = GATEWAY_FROM_SYS_CONFIG;
	r = gateway_from_sysconfig(opts->sys_config_path ? opts->sys_config_path
				   : GATEWAY_SYS_CONFIG, &gi);
	if (r < 0)
		return r;
	memcpy(domain, gi.base_domain, sizeof(gi.base_domain));
	*port = gi.external_port;
	return 0;
}

int
gateway_discover(const struct gateway_opts *opts, const struct agent_info *info,
		 char ret_url[GATEWAY_URL_MAX], enum gateway_source *ret_source)
{
	char domain[AGENTMSG_DOMAIN_MAX + 1], url[GATEWAY_URL_MAX];
	enum gateway_source src;
	uint16_t port;
	int r;

	if (opts->app_port == 0) {
		gateway_set_error("no app port for the gateway url");
		return -EINVAL;
	}
	r = gateway_pick(opts, info, domain, &port, &src);
	if (r < 0)
		return r;
	r = gateway_build_url(info->instance_id, opts->app_port, opts->tls_passthrough,
			      domain, port, url, sizeof(url));
	if (r < 0) {
		gateway_set_error("cannot build a gateway url for '%s'", domain);
		return r;
	}
	memcpy(ret_url, url, (size_t)r + 1);
	if (ret_source)
		*ret_source = src;
	return 0;
}
