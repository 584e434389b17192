/*
 * rpc-proxy: a fault-injecting JSON-RPC proxy for the end-to-end tests.
 *
 *   rpc-proxy --port PORT --upstream http://127.0.0.1:PORT --control FILE
 *             [--pidfile FILE]
 *
 * Listens on 127.0.0.1:PORT and forwards each HTTP POST to the upstream
 * node (plain http on loopback only), one request per connection
 * ("Connection: close").  The first line of the control file, re-read for
 * every request and every 100 ms, selects the fault:
 *
 *   none             forward unchanged (also: no file, empty file)
 *   refuse           stop listening (connections are refused)
 *   timeout          read the request, never answer
 *   drip MS          answer one byte every MS milliseconds
 *   truncate         announce the whole body, send half of it, close
 *   badjson          answer 200 with a body that is not JSON
 *   http500          answer 500 Internal Server Error
 *   giant            answer 200 with a body past the client's 8 MiB cap
 *   chainid N        rewrite eth_chainId replies to chain N
 *   disagree         rewrite the block hash of eth_getBlockByNumber replies
 *   nologs           answer every eth_getLogs with an empty list
 *
 * Test code: it trusts its upstream, but requests are still read with caps.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "hex.h"

#define PROXY_MAX_HEAD		16384		/* bytes of request headers */
#define PROXY_MAX_BODY		(1u << 20)	/* bytes of a request body */
#define PROXY_MAX_REPLY		(16u << 20)	/* bytes of an upstream reply */
#define PROXY_GIANT		((8u << 20) + (1u << 20))	/* past RPC_MAX_RESPONSE */
#define PROXY_CONTROL_MAX	256
#define PROXY_HOLD_MS		60000		/* a "timeout" holds at most this */

enum fault { F_NONE, F_REFUSE, F_TIMEOUT, F_DRIP, F_TRUNCATE, F_BADJSON, F_HTTP500, F_GIANT,
	     F_CHAINID, F_DISAGREE, F_NOLOGS };

struct fault_spec {
	enum fault kind;
	uint64_t arg;
};

static const struct {
	const char *name;
	enum fault kind;
	bool has_arg;
} fault_table[] = {
	{ "none", F_NONE, false },		{ "refuse", F_REFUSE, false },
	{ "timeout", F_TIMEOUT, false },	{ "drip", F_DRIP, true },
	{ "truncate", F_TRUNCATE, false },	{ "badjson", F_BADJSON, false },
	{ "http500", F_HTTP500, false },	{ "giant", F_GIANT, false },
	{ "chainid", F_CHAINID, true },		{ "disagree", F_DISAGREE, false },
	{ "nologs", F_NOLOGS, false },
};

static const char *control_path;
static struct sockaddr_in upstream;

static struct fault_spec
read_fault(void)
{
	struct fault_spec f = { F_NONE, 0 };
	char line[PROXY_CONTROL_MAX], *sp;
	FILE *fp = fopen(control_path, "re");

	if (!fp)
		return f;
	if (!fgets(line, sizeof(line), fp))
		line[0] = '\0';
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	sp = strchr(line, ' ');
	if (sp)
		*sp++ = '\0';
	for (size_t i = 0; i < sizeof(fault_table) / sizeof(fault_table[0]); i++) {
		if (strcmp(line, fault_table[i].name) != 0)
			continue;
		if (fault_table[i].has_arg && (!sp || num_parse_u64(sp, false, 0, UINT32_MAX, &f.arg) < 0)) {
			fprintf(stderr, "rpc-proxy: fault '%s' needs a number\n", line);
			return f;
		}
		f.kind = fault_table[i].kind;
		return f;
	}
	if (line[0])
		fprintf(stderr, "rpc-proxy: unknown fault '%s'\n", line);
	return f;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The value of header name in head (NUL-terminated), or NULL. */
static const char *
header_value(const char *head, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
			p += 3 + n;
			while (*p == ' ')
				p++;
			return p;
		}
	return NULL;
}

static int
content_length(const char *head, size_t max, size_t *ret)
{
	const char *v = header_value(head, "Content-Length");
	char num[24];
	size_t n;
	uint64_t len;

	if (!v)
		return -EBADMSG;
	n = strcspn(v, "\r\n");
	if (n == 0 || n >= sizeof(num))
		return -EBADMSG;
	memcpy(num, v, n);
	num[n] = '\0';
	if (num_parse_u64(num, false, 0, max, &len) < 0)
		return -EBADMSG;
	*ret = (size_t)len;
	return 0;
}

/* Read one HTTP message (headers + Content-Length body) from fd into b
 * (whose cap bounds it); *ret_body is the offset of the body. */
static int
read_message(int fd, struct buf *b, size_t max_head, size_t *ret_body)
{
	char chunk[4096];
	size_t body = 0, len = 0;
	bool have_len = false;

	for (;;) {
		if (!have_len) {
			const char *e = b->len ? memmem(b->data, b->len, "\r\n\r\n", 4) : NULL;

			if (e) {
				body = (size_t)(e - (const char *)b->data) + 4;
				/* buf keeps data NUL-terminated past len */
				if (content_length((const char *)b->data, b->max, &len) < 0)
					return -EBADMSG;
				have_len = true;
			} else if (b->len > max_head) {
				return -E2BIG;
			}
		}
		if (have_len && b->len - body >= len) {
			b->len = body + len;
			*ret_body = body;
			return 0;
		}
		ssize_t r = recv(fd, chunk, sizeof(chunk), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		if (buf_append(b, chunk, (size_t)r) < 0)
			return -E2BIG;
	}
}

static int
upstream_call(const uint8_t *body, size_t n, struct buf *reply, size_t *ret_body)
{
	char head[256];
	int fd, r, hn;

	hn = snprintf(head, sizeof(head),
		      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		      "Content-Length: %zu\r\nConnection: close\r\n\r\n", n);
	if (hn < 0 || (size_t)hn >= sizeof(head))
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&upstream, sizeof(upstream)) < 0) {
		r = -errno;
		goto out_close;
	}
	r = write_all(fd, head, (size_t)hn);
	if (r >= 0)
		r = write_all(fd, body, n);
	if (r >= 0)
		r = read_message(fd, reply, PROXY_MAX_HEAD, ret_body);
out_close:
	close(fd);
	return r;
}

/* Replace the JSON string value after key (e.g. "\"result\":\"") in body
 * with repl; body is rebuilt in out. */
static int
splice_string(const struct buf *in, size_t body, const char *key, const char *repl,
	      struct buf *out)
{
	const char *s = (const char *)in->data + body, *end = (const char *)in->data + in->len;
	const char *k = memmem(s, (size_t)(end - s), key, strlen(key)), *q;

	if (!k)
		return -ENOENT;
	k += strlen(key);
	q = memchr(k, '"', (size_t)(end - k));
	if (!q)
		return -EBADMSG;
	if (buf_append(out, s, (size_t)(k - s)) < 0 || buf_append(out, repl, strlen(repl)) < 0 ||
	    buf_append(out, q, (size_t)(end - q)) < 0)
		return -E2BIG;
	return 0;
}

/* The reply body after the fault's rewrite (into out). */
static int
rewrite(const struct fault_spec *f, const char *req, const struct buf *in, size_t body,
	struct buf *out)
{
	char repl[80];
	int r;

	if (f->kind == F_CHAINID && strstr(req, "\"eth_chainId\"")) {
		r = snprintf(repl, sizeof(repl), "0x%llx", (unsigned long long)f->arg);
		if (r < 0 || (size_t)r >= sizeof(repl))
			return -EINVAL;
		return splice_string(in, body, "\"result\":\"", repl, out);
	}
	if (f->kind == F_DISAGREE && strstr(req, "\"eth_getBlockByNumber\"")) {
		const char *h = memmem(in->data + body, in->len - body, "\"hash\":\"0x", 10);

		if (h && (size_t)((const uint8_t *)h - in->data) + 10 + 64 <= in->len) {
			memcpy(repl, h + 10, 64);
			repl[64] = '\0';
			/* a different, still valid hash: flip the last digit */
			repl[63] = repl[63] == '0' ? '1' : '0';
			memmove(repl + 2, repl, 65);
			memcpy(repl, "0x", 2);
			return splice_string(in, body, "\"hash\":\"", repl, out);
		}
	}
	if (f->kind == F_NOLOGS && strstr(req, "\"eth_getLogs\"")) {
		const char *id = memmem(in->data + body, in->len - body, "\"id\":", 5);
		size_t n;

		if (id) {
			id += 5;
			n = strcspn(id, ",}");
			r = snprintf(repl, sizeof(repl), "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"result\":[]}",
				     (int)(n < 32 ? n : 32), id);
			if (r < 0 || (size_t)r >= sizeof(repl))
				return -EINVAL;
			return buf_append(out, repl, (size_t)r);
		}
	}
	return buf_append(out, in->data + body, in->len - body);
}

static int
send_reply(int fd, const struct fault_spec *f, int status, const uint8_t *body, size_t n)
{
	char head[256];
	int hn;

	hn = snprintf(head, sizeof(head),
		      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		      "Connection: close\r\n\r\n",
		      status, status == 200 ? "OK" : "Internal Server Error",
		      f->kind == F_GIANT ? (size_t)PROXY_GIANT + n : n);
	if (hn < 0 || (size_t)hn >= sizeof(head))
		return -EINVAL;
	if (f->kind == F_DRIP) {
		for (int i = 0; i < hn; i++) {
			if (write_all(fd, head + i, 1) < 0)
				return -EPIPE;
			sleep_ms(f->arg);
		}
		for (size_t i = 0; i < n; i++) {
			if (write_all(fd, body + i, 1) < 0)
				return -EPIPE;
			sleep_ms(f->arg);
		}
		return 0;
	}
	if (write_all(fd, head, (size_t)hn) < 0)
		return -EPIPE;
	if (f->kind == F_GIANT) {
		static const char spaces[65536] = { [0 ... 65535] = ' ' };

		for (size_t sent = 0; sent < PROXY_GIANT; sent += sizeof(spaces))
			if (write_all(fd, spaces, sizeof(spaces)) < 0)
				return -EPIPE;	/* the client gave up at its cap */
	}
	return write_all(fd, body, f->kind == F_TRUNCATE ? n / 2 : n);
}

/* Hold a connection without answering until the client goes away, the fault
 * changes or PROXY_HOLD_MS passes. */
static void
hold(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (int i = 0; i < PROXY_HOLD_MS / 100; i++) {
		char c;

		if (poll(&p, 1, 100) > 0 && recv(fd, &c, 1, MSG_DONTWAIT) <= 0)
			return;
		if (read_fault().kind != F_TIMEOUT)
			return;
	}
}

static void *
serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct buf req, reply, out;
	size_t rbody = 0, ubody = 0;
	struct fault_spec f;
	int status = 200;

	buf_init(&req, PROXY_MAX_HEAD + PROXY_MAX_BODY);
	buf_init(&reply, PROXY_MAX_REPLY);
	buf_init(&out, PROXY_MAX_REPLY);
	if (read_message(fd, &req, PROXY_MAX_HEAD, &rbody) < 0)
		goto out_close;
	f = read_fault();
	if (f.kind == F_TIMEOUT) {
		hold(fd);
		goto out_close;
	}
	if (upstream_call(req.data + rbody, req.len - rbody, &reply, &ubody) < 0)
		goto out_close;
	if (f.kind == F_HTTP500) {
		status = 500;
		(void)buf_append(&out, "upstream broken\n", 16);
	} else if (f.kind == F_BADJSON) {
		(void)buf_append(&out, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":", 33);
	} else if (rewrite(&f, (const char *)req.data + rbody, &reply, ubody, &out) < 0) {
		buf_reset(&out);
		(void)buf_append(&out, reply.data + ubody, reply.len - ubody);
	}
	(void)send_reply(fd, &f, status, out.data, out.len);
out_close:
	close(fd);
	buf_release(&req);
	buf_release(&reply);
	buf_release(&out);
	return NULL;
}

static int
listen_on(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int
parse_upstream(const char *url)
{
	static const char pfx[] = "http://127.0.0.1:";
	uint64_t port;

	if (strncmp(url, pfx, sizeof(pfx) - 1) != 0 ||
	    num_parse_u64(url + sizeof(pfx) - 1, false, 1, 65535, &port) < 0)
		return -EINVAL;
	upstream.sin_family = AF_INET;
	upstream.sin_port = htons((uint16_t)port);
	upstream.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

static void
accept_one(int lfd)
{
	pthread_attr_t attr;
	pthread_t t;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, serve, (void *)(intptr_t)fd) != 0)
		close(fd);
	pthread_attr_destroy(&attr);
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "control", required_argument, NULL, 'c' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pidfile = NULL;
	uint64_t port = 0;
	int c, lfd = -1;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		if (c == 'p' && num_parse_u64(optarg, false, 1, 65535, &port) == 0)
			continue;
		if (c == 'u' && parse_upstream(optarg) == 0)
			continue;
		if (c == 'c') {
			control_path = optarg;
			continue;
		}
		if (c == 'P') {
			pidfile = optarg;
			continue;
		}
		fprintf(stderr, "usage: rpc-proxy --port PORT --upstream http://127.0.0.1:PORT "
				"--control FILE [--pidfile FILE]\n");
		return 2;
	}
	if (!port || !control_path || !upstream.sin_port) {
		fprintf(stderr, "rpc-proxy: --port, --upstream and --control are required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (bool announced = false;;) {
		struct pollfd p;

		if (read_fault().kind == F_REFUSE) {
			if (lfd >= 0)
				close(lfd);
			lfd = -1;
			sleep_ms(100);
			continue;
		}
		if (lfd < 0) {
			lfd = listen_on((uint16_t)port);
			if (lfd < 0) {
				fprintf(stderr, "rpc-proxy: listen on port %llu failed: %s\n",
					(unsigned long long)port, strerror(-lfd));
				return 1;
			}
		}
		if (!announced && pidfile) {
			FILE *fp = fopen(pidfile, "we");

			if (!fp || fprintf(fp, "%d\n", (int)getpid()) < 0 || fclose(fp) != 0)
				return 1;
			announced = true;
		}
		p = (struct pollfd){ .fd = lfd, .events = POLLIN };
		if (poll(&p, 1, 100) > 0)
			accept_one(lfd);
	}
}
