#include "agent.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#define AGENT_SOCK_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

struct agent {
	char sock[AGENT_SOCK_MAX + 1];		/* "" when base_url is used */
	char base_url[AGENTMSG_URL_MAX + 1];	/* "http://localhost" for a socket */
	CURL *curl;				/* kept for connection reuse */
};

static __thread char agent_err[AGENT_ERROR_MAX];

__attribute__((format(printf, 1, 2)))
static void
agent_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* A cut error line is still the right error line. */
	if (vsnprintf(agent_err, sizeof(agent_err), fmt, ap) < 0)
		agent_err[0] = '\0';
	va_end(ap);
}

const char *
agent_last_error(void)
{
	return agent_err;
}

/* True when a unix socket at path accepts a connection. */
static bool
socket_answers(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	bool ok;
	int fd;

	if (strlen(path) > AGENT_SOCK_MAX)
		return false;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

static bool
is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* Take an endpoint named by an option or the environment. */
static int
endpoint_set(struct agent *a, const char *ep, const char *from)
{
	size_t len = strlen(ep);

	if (is_url(ep)) {
		while (len > 0 && ep[len - 1] == '/')
			len--;
		if (len > AGENTMSG_URL_MAX - 16 || memchr(ep, ' ', len)) {
			agent_set_error("bad guest agent url '%s' (from %s)", ep, from);
			return -EINVAL;
		}
		memcpy(a->base_url, ep, len);
		a->base_url[len] = '\0';
		return 0;
	}
	if (len == 0 || len > AGENT_SOCK_MAX) {
		agent_set_error("bad guest agent socket path '%s' (from %s)", ep, from);
		return -EINVAL;
	}
	if (!socket_answers(ep)) {
		agent_set_error("no dstack guest agent at '%s' (from %s): %s",
				ep, from, strerror(errno));
		return -ENOENT;
	}
	memcpy(a->sock, ep, len + 1);
	memcpy(a->base_url, "http://localhost", sizeof("http://localhost"));
	return 0;
}

static int
endpoint_probe(struct agent *a)
{
	static const char *const paths[] = AGENT_SOCKET_PATHS;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (socket_answers(paths[i])) {
			memcpy(a->sock, paths[i], strlen(paths[i]) + 1);
			memcpy(a->base_url, "http://localhost", sizeof("http://localhost"));
			return 0;
		}
	}
	agent_set_error("no dstack guest agent at %s, %s, %s, %s (for development, "
			"start tests/tools/dstack-sim and set "
			AGENT_ENV_ENDPOINT "=/path/to/sock)",
			paths[0], paths[1], paths[2], paths[3]);
	return -ENOENT;
}

int
agent_open(const char *override, struct agent **ret)
{
	const char *env = getenv(AGENT_ENV_ENDPOINT);
	struct agent *a;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a) {
		agent_set_error("out of memory");
		return -ENOMEM;
	}
	if (override && *override)
		r = endpoint_set(a, override, "option");
	else if (env && *env)
		r = endpoint_set(a, env, AGENT_ENV_ENDPOINT);
	else
		r = endpoint_probe(a);
	if (r < 0) {
		free(a);
		return r;
	}
	*ret = a;
	return 0;
}

void
agent_free(struct agent *a)
{
	if (!a)
		return;
	if (a->curl)
		curl_easy_cleanup(a->curl);
	free(a);
}

const char *
agent_endpoint(const struct agent *a)
{
	return a->sock[0] ? a->sock : a->base_url;
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
		return 0;	/* a short count aborts the transfer */
	}
	return n;
}

static int
curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static int
curl_setup(struct agent *a, const char *url, const char *body, struct curl_slist *hdrs,
	   struct sink *sink)
{
	CURL *c;

	if (!a->curl) {
		a->curl = curl_easy_init();
		if (!a->curl)
			return -ENOMEM;
	}
	c = a->curl;
	curl_easy_reset(c);
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)AGENT_CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)AGENT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)AGENTMSG_MAX_REPLY) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink) != CURLE_OK)
		return -ENOMEM;
	if (a->sock[0] && curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, a->sock) != CURLE_OK)
		return -ENOMEM;
	return 0;
}

/* Turn a non-200 reply into an error code and text. */
static int
reply_error(const char *method, long status, const struct buf *reply)
{
	char msg[AGENTMSG_ERROR_MAX + 1];

	if (agentmsg_parse_error((const char *)reply->data, reply->len, msg, sizeof(msg)) == 0) {
		agent_set_error("guest agent '/%s' failed: HTTP %ld: %s", method, status, msg);
		if (status == 404 || strstr(msg, "ethod not found"))
			return -ENOTSUP;
		return -EREMOTEIO;
	}
	agent_set_error("guest agent '/%s' failed: HTTP %ld", method, status);
	return status == 404 ? -ENOTSUP : -EPROTO;
}

/*
 * POST body to /<method> and collect a 200 reply into reply (capped at
 * AGENTMSG_MAX_REPLY).
 */
static int
agent_call(struct agent *a, const char *method, const char *body, struct buf *reply)
{
	struct curl_slist *hdrs = NULL, *h;
	struct sink sink = { .b = reply };
	char url[AGENTMSG_URL_MAX + 32];
	long status = 0;
	CURLcode c;
	int r, n;

	n = snprintf(url, sizeof(url), "%s/%s", a->base_url, method);
	if (n < 0 || (size_t)n >= sizeof(url))
		return -EINVAL;
	h = curl_slist_append(hdrs, "Content-Type: application/json");
	if (!h)
		return -ENOMEM;
	hdrs = h;
	r = curl_setup(a, url, body, hdrs, &sink);
	if (r < 0) {
		agent_set_error("cannot set up a request to the guest agent");
		goto out_free_hdrs;
	}
	c = curl_easy_perform(a->curl);
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
	if (sink.overflow || c == CURLE_FILESIZE_EXCEEDED) {
		agent_set_error("guest agent '/%s' reply exceeds %d bytes", method,
				AGENTMSG_MAX_REPLY);
		r = -E2BIG;
	} else if (c != CURLE_OK) {
		agent_set_error("guest agent '/%s' at '%s' failed: %s", method,
				agent_endpoint(a), curl_easy_strerror(c));
		r = curl_errno(c);
	} else if (status != 200) {
		r = reply_error(method, status, reply);
	} else {
		r = 0;
	}
out_free_hdrs:
	curl_slist_free_all(hdrs);
	return r;
}

int
agent_info(struct agent *a, struct agent_info *ret)
{
	struct buf reply;
	int r;

	buf_init(&reply, AGENTMSG_MAX_REPLY);
	r = agent_call(a, "Info", "{}", &reply);
	if (r == 0) {
		r = agentmsg_parse_info((const char *)reply.data, reply.len, ret);
		if (r == -ENODATA)
			agent_set_error("guest agent reports no instance id (app-compose "
					"no_instance_id is set); dstackp2pfs needs one");
		else if (r < 0)
			agent_set_error("malformed guest agent '/Info' reply: %s", strerror(-r));
	}
	buf_release(&reply);
	return r;
}

int
agent_get_key(struct agent *a, const char *path, const char *purpose,
	      struct agent_key *ret)
{
	struct buf req, reply;
	int r;

	buf_init(&req, 2 * (AGENTMSG_KEY_PATH_MAX + AGENTMSG_KEY_PURPOSE_MAX) + 256);
	buf_init(&reply, AGENTMSG_MAX_REPLY);
	/* Room up front, so a key reply is never left behind by a realloc. */
	(void)buf_reserve(&reply, 4096);
	r = agentmsg_getkey_request(path, purpose, AGENT_KEY_ALGORITHM, &req);
	if (r < 0) {
		agent_set_error("bad GetKey request for path '%s'", path);
		goto out_release;
	}
	r = agent_call(a, "GetKey", (const char *)req.data, &reply);
	if (r == 0) {
		r = agentmsg_parse_key((const char *)reply.data, reply.len, ret);
		if (r < 0)
			agent_set_error("malformed guest agent '/GetKey' reply: %s", strerror(-r));
	}
out_release:
	if (reply.data)
		explicit_bzero(reply.data, reply.len);	/* it held the key */
	buf_release(&reply);
	buf_release(&req);
	return r;
}

int
agent_version(struct agent *a, struct agent_version *ret)
{
	struct buf reply;
	int r;

	buf_init(&reply, AGENTMSG_MAX_REPLY);
	r = agent_call(a, "Version", "{}", &reply);
	if (r == 0) {
		r = agentmsg_parse_version((const char *)reply.data, reply.len, ret);
		if (r < 0)
			agent_set_error("malformed guest agent '/Version' reply: %s", strerror(-r));
	}
	buf_release(&reply);
	return r;
}
