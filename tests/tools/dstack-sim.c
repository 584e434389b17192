/*
 * dstack-sim: a dstack guest-agent simulator for tests and the local cluster.
 *
 * Serves POST (or GET) /Info, /GetKey and /Version on a unix socket in the
 * agent's wire format (HTTP/1.1, JSON, lowercase hex without 0x, errors as
 * HTTP 400 {"error": "..."}), and optionally a fake dstack gateway
 * (GET /prpc/Info) on 127.0.0.1 plus a sys-config file pointing at it.
 *
 * Identity: the app key and KMS signature of the official dstack simulator
 * (facts from ../shared/fixtures/dstack-simulator), so the signature chains
 * it hands out verify against KMS root 0xa7f6043c29f9cc1d9d6acf554c53e0c6792aaeaf.
 * The instance id and app name are per process: several processes make a
 * cluster of simulated instances of one app.
 *
 * One thread per connection (at most SIM_CONN_MAX), keep-alive, every
 * request bounded (SIM_HEADER_MAX, SIM_BODY_MAX).  The pidfile is written
 * last, once every listener is up: wait for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "ethkey.h"
#include "hex.h"
#include "kms.h"

#define SIM_HEADER_MAX	(16 * 1024)
#define SIM_BODY_MAX	(64 * 1024)
#define SIM_REPLY_MAX	(256 * 1024)
#define SIM_CONN_MAX	64
#define SIM_IDLE_SECS	30
#define SIM_PATH_MAX	256	/* GetKey path */
#define SIM_VERSION	"0.5.4-dstack-sim"

/* ---- facts from ../shared/fixtures/dstack-simulator (official simulator) */
static const char FIX_APP_ID[] = "5bb4ff9a3837357f19dc176407a5709c62eb6c56";
static const char FIX_INSTANCE_ID[] = "1691ed1b47506cad7d08834668691d88246f5b1f";
static const char FIX_COMPOSE_HASH[] =
	"c143116fef3940e7f776bfc0919c256232ae5338a6e948c96b711e0b2383483a";
static const char FIX_OS_IMAGE_HASH[] =
	"e61be43dd1cc6a6f5edefd7c51b608983780839b0000ce60dd99737dcffe09b9";
static const char FIX_APP_KEY[] =	/* appkeys.json k256_key */
	"d6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d5d";
static const char FIX_KMS_SIG[] =	/* appkeys.json k256_signature (S1) */
	"9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e59"
	"4d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8efe330346dfc6c500";
static const char FIX_KMS_ROOT_PUB[] =
	"0321529e458424ab1f710a3a57ec4dad2fb195ddca572f7469242ba6c7563085b6";
static const char FIX_VM_CONFIG[] =	/* sys-config.json vm_config */
	"{\"os_image_hash\":\"64f0d1545cd510a8dfed7ad609d105b5d41f0cb2afcfdda8867ede00c88add7a\","
	"\"cpu_count\":1,\"memory_size\":2147483648}";
static const char FIX_KMS_URL[] = "https://kms.1022.dstack.org:12001";
static const char FIX_APP_COMPOSE[] =	/* app-compose.json */
	"{\"manifest_version\":2,\"name\":\"guest-agent\",\"runner\":\"docker-compose\","
	"\"docker_compose_file\":\"services:\\n  dstack-agent:\\n    image: ubuntu\\n    user: root\\n"
	"    network_mode: host\\n    volumes:\\n      - /:/host/\\n"
	"      - /var/run/tappd.sock:/var/run/tappd.sock\\n"
	"      - /var/run/dstack.sock:/var/run/dstack.sock\\n    entrypoint: |\\n"
	"      bash -c '\\n      apt-get update && apt-get install -y socat\\n"
	"      socat TCP-LISTEN:2000,fork UNIX-CONNECT:/var/run/tappd.sock &\\n"
	"      socat TCP-LISTEN:3000,fork UNIX-CONNECT:/var/run/dstack.sock &\\n"
	"      tail -f /dev/null\\n      '\\n  dstack-verifier:\\n"
	"    image: dstacktee/dstack-verifier:0.5.4\\n    ports:\\n      - \\\"8080:8080\\\"\\n"
	"    restart: unless-stopped\",\"gateway_enabled\":true,\"public_logs\":true,"
	"\"public_sysinfo\":true,\"public_tcbinfo\":true,\"key_provider_id\":\"\","
	"\"allowed_envs\":[],\"no_instance_id\":false,\"secure_time\":false,"
	"\"key_provider\":\"kms\",\"kms_enabled\":true,\"storage_fs\":\"ext4\","
	"\"pre_launch_script\":\"docker run --rm --privileged --pid=host --net=host -v /:/host \\\\\\n"
	"  -e SSH_GITHUB_USER=\\\"kvinwang\\\" \\\\\\n  kvin/dstack-openssh-installer:latest\"}";
/* Made up here (not a fixture): a device id for the simulated machine. */
static const char SIM_DEVICE_ID[] =
	"7a82191bd4dedb9d716e3aa422963cf1009f36e3068404a0322feca1ce517dc9";

struct sim {
	const char *sock_path;
	const char *pidfile;
	const char *sysconfig_out;
	char instance_id[41];
	const char *app_name;
	const char *gateway_domain;
	bool no_version;
	bool gw_enabled;
	struct sockaddr_in gw_addr;
	const char *base_domain;
	uint16_t external_port;
	uint8_t app_sk[32];
	uint8_t kms_sig[65];
	char *info_body;	/* rendered once at start-up */
	size_t info_len;
};

static struct sim sim;
static atomic_int sim_conns;	/* live connection threads */

struct reply {
	int status;
	struct buf body;
	bool close;
};

struct request {
	char method[8];
	char path[128];
	bool json;		/* Content-Type: application/json */
	bool keep_alive;
	bool expect_continue;
	size_t content_length;
	const char *body;
};

static int
reply_json(struct reply *rp, int status, const char *s)
{
	rp->status = status;
	buf_reset(&rp->body);
	return buf_puts(&rp->body, s);
}

/* HTTP 400 {"error": msg}, as the real agent answers bad input. */
static int
reply_error(struct reply *rp, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *s;
	int r;

	if (!o || !cJSON_AddStringToObject(o, "error", msg) || !(s = cJSON_PrintUnformatted(o))) {
		cJSON_Delete(o);
		return reply_json(rp, 500, "{\"error\":\"out of memory\"}");
	}
	cJSON_Delete(o);
	r = reply_json(rp, status, s);
	cJSON_free(s);
	return r;
}

/* ---- /Info */

static char *
render_app_compose(void)
{
	cJSON *c = cJSON_Parse(FIX_APP_COMPOSE);
	char *s = NULL;

	if (!c)
		return NULL;
	if (sim.app_name && !cJSON_ReplaceItemInObjectCaseSensitive(c, "name",
								   cJSON_CreateString(sim.app_name)))
		goto out_free;
	if (sim.gateway_domain &&
	    !cJSON_AddStringToObject(c, "default_gateway_domain", sim.gateway_domain))
		goto out_free;
	s = cJSON_PrintUnformatted(c);
out_free:
	cJSON_Delete(c);
	return s;
}

static char *
render_tcb_info(const char *compose)
{
	static const char zero48[] =
		"000000000000000000000000000000000000000000000000"
		"000000000000000000000000000000000000000000000000";
	static const char *const regs[] = { "mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3" };
	cJSON *t = cJSON_CreateObject();
	char *s = NULL;
	size_t i;

	if (!t)
		return NULL;
	for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (!cJSON_AddStringToObject(t, regs[i], zero48))
			goto out_free;
	if (!cJSON_AddStringToObject(t, "os_image_hash", FIX_OS_IMAGE_HASH) ||
	    !cJSON_AddStringToObject(t, "compose_hash", FIX_COMPOSE_HASH) ||
	    !cJSON_AddStringToObject(t, "device_id", SIM_DEVICE_ID) ||
	    !cJSON_AddStringToObject(t, "app_compose", compose) ||
	    !cJSON_AddArrayToObject(t, "event_log"))
		goto out_free;
	s = cJSON_PrintUnformatted(t);
out_free:
	cJSON_Delete(t);
	return s;
}

static int
render_info(void)
{
	char *compose, *tcb = NULL, *s = NULL, kpi[160];
	cJSON *o = NULL;
	int n;

	compose = render_app_compose();
	if (compose)
		tcb = render_tcb_info(compose);
	n = snprintf(kpi, sizeof(kpi), "{\"name\":\"kms\",\"id\":\"%s\"}", FIX_KMS_ROOT_PUB);
	if (!tcb || n < 0 || (size_t)n >= sizeof(kpi) || !(o = cJSON_CreateObject()))
		goto out_free;
	if (!cJSON_AddStringToObject(o, "app_id", FIX_APP_ID) ||
	    !cJSON_AddStringToObject(o, "instance_id", sim.instance_id) ||
	    !cJSON_AddStringToObject(o, "app_cert", "") ||
	    !cJSON_AddStringToObject(o, "tcb_info", tcb) ||
	    !cJSON_AddStringToObject(o, "app_name", sim.app_name ? sim.app_name : "guest-agent") ||
	    !cJSON_AddStringToObject(o, "device_id", SIM_DEVICE_ID) ||
	    !cJSON_AddStringToObject(o, "mr_aggregated", "") ||
	    !cJSON_AddStringToObject(o, "os_image_hash", FIX_OS_IMAGE_HASH) ||
	    !cJSON_AddStringToObject(o, "key_provider_info", kpi) ||
	    !cJSON_AddStringToObject(o, "compose_hash", FIX_COMPOSE_HASH) ||
	    !cJSON_AddStringToObject(o, "vm_config", FIX_VM_CONFIG))
		goto out_free;
	s = cJSON_PrintUnformatted(o);
out_free:
	cJSON_Delete(o);
	cJSON_free(tcb);
	cJSON_free(compose);
	if (!s)
		return -ENOMEM;
	sim.info_body = s;
	sim.info_len = strlen(s);
	return 0;
}

static int
handle_info(const struct request *rq, struct reply *rp)
{
	(void)rq;
	rp->status = 200;
	return buf_append(&rp->body, sim.info_body, sim.info_len);
}

/* ---- /GetKey */

/* Derive the key for path and sign it for purpose, as the agent does. */
static int
getkey_compute(const char *path, const char *purpose, uint8_t sk[32], uint8_t s2[65])
{
	uint8_t pub33[33], hash[32];

	if (kms_derive_key(sim.app_sk, path, sk) < 0 ||
	    ethkey_pubkey_compressed(sk, pub33) < 0 ||
	    kms_app_message_hash(purpose, pub33, hash) < 0 ||
	    ethkey_sign(sim.app_sk, hash, s2) < 0) {
		explicit_bzero(sk, 32);
		return -EINVAL;
	}
	return 0;
}

static int
getkey_render(const uint8_t sk[32], const uint8_t s2[65], struct reply *rp)
{
	char key[65], sig2[131], sig1[131];
	int r;

	if (hex_encode(sk, 32, false, key, sizeof(key)) < 0 ||
	    hex_encode(s2, 65, false, sig2, sizeof(sig2)) < 0 ||
	    hex_encode(sim.kms_sig, 65, false, sig1, sizeof(sig1)) < 0)
		return -EINVAL;
	rp->status = 200;
	r = buf_printf(&rp->body, "{\"key\":\"%s\",\"signature_chain\":[\"%s\",\"%s\"]}",
		       key, sig2, sig1);
	explicit_bzero(key, sizeof(key));
	return r;
}

static int
handle_getkey(const struct request *rq, struct reply *rp)
{
	const cJSON *path, *purpose, *alg;
	uint8_t sk[32], s2[65];
	cJSON *o;
	int r;

	if (!rq->json)
		return reply_error(rp, 400, "GetKey needs Content-Type: application/json");
	o = cJSON_ParseWithLength(rq->body, rq->content_length);
	if (!o || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return reply_error(rp, 400, "failed to decode request: invalid JSON");
	}
	path = cJSON_GetObjectItemCaseSensitive(o, "path");
	purpose = cJSON_GetObjectItemCaseSensitive(o, "purpose");
	alg = cJSON_GetObjectItemCaseSensitive(o, "algorithm");
	if ((path && !cJSON_IsString(path)) || (purpose && !cJSON_IsString(purpose)) ||
	    (alg && !cJSON_IsString(alg)))
		r = reply_error(rp, 400, "failed to decode request: fields must be strings");
	else if (alg && alg->valuestring[0] && strcmp(alg->valuestring, "secp256k1") != 0)
		r = reply_error(rp, 400, "unsupported algorithm");
	else if ((path && strlen(path->valuestring) > SIM_PATH_MAX) ||
		 (purpose && strlen(purpose->valuestring) > KMS_PURPOSE_MAX))
		r = reply_error(rp, 400, "path or purpose too long");
	else if (getkey_compute(path ? path->valuestring : "",
				purpose ? purpose->valuestring : "", sk, s2) < 0)
		r = reply_error(rp, 500, "failed to derive key");
	else {
		r = getkey_render(sk, s2, rp);
		explicit_bzero(sk, sizeof(sk));
	}
	cJSON_Delete(o);
	return r;
}

/* ---- /Version and the gateway */

static int
handle_version(const struct request *rq, struct reply *rp)
{
	(void)rq;
	if (sim.no_version)
		return reply_error(rp, 404, "method not found");
	return reply_json(rp, 200, "{\"version\":\"" SIM_VERSION "\",\"rev\":\"sim\"}");
}

static int
handle_gateway_info(const struct request *rq, struct reply *rp)
{
	(void)rq;
	rp->status = 200;
	return buf_printf(&rp->body,
			  "{\"base_domain\":\"%s\",\"external_port\":%u,"
			  "\"app_address_ns_prefix\":\"_dstack-app-address\"}",
			  sim.base_domain, (unsigned)sim.external_port);
}

struct route {
	const char *path;
	int (*fn)(const struct request *, struct reply *);
};

static const struct route agent_routes[] = {
	{ "/Info", handle_info },
	{ "/prpc/Info", handle_info },
	{ "/GetKey", handle_getkey },
	{ "/prpc/GetKey", handle_getkey },
	{ "/Version", handle_version },
	{ "/prpc/Version", handle_version },
	{ NULL, NULL },
};

static const struct route gateway_routes[] = {
	{ "/prpc/Info", handle_gateway_info },
	{ NULL, NULL },
};

static int
dispatch(const struct route *routes, const struct request *rq, struct reply *rp)
{
	char path[sizeof(rq->path)];
	const struct route *rt;
	char *q;

	memcpy(path, rq->path, sizeof(path));
	q = strchr(path, '?');
	if (q)
		*q = '\0';
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "POST") != 0)
		return reply_error(rp, 405, "method not allowed");
	for (rt = routes; rt->path; rt++)
		if (strcmp(rt->path, path) == 0)
			return rt->fn(rq, rp);
	return reply_error(rp, 404, "method not found");
}

/* ---- HTTP/1.1 */

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 431: return "Request Header Fields Too Large";
	default: return "Internal Server Error";
	}
}

static int
send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
send_reply(int fd, const struct reply *rp)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
		     rp->status, status_text(rp->status), rp->body.len,
		     rp->close ? "close" : "keep-alive");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	if (send_all(fd, head, (size_t)n) < 0)
		return -EIO;
	return rp->body.len ? send_all(fd, rp->body.data, rp->body.len) : 0;
}

/* Copy a header value (trimmed) into out; false when too long. */
static bool
header_value(const char *v, const char *end, char *out, size_t outsz)
{
	size_t len;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - v);
	if (len >= outsz)
		return false;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

/* One header line [p, end): returns a message for a 400 or NULL. */
static const char *
parse_header(const char *p, const char *end, struct request *rq)
{
	const char *colon = memchr(p, ':', (size_t)(end - p));
	char val[128];
	uint64_t cl;
	size_t nlen;

	if (!colon || colon == p)
		return "malformed header line";
	nlen = (size_t)(colon - p);
	if (!header_value(colon + 1, end, val, sizeof(val)))
		return NULL;	/* long values of headers we ignore are fine */
	if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
		if (num_parse_u64(val, false, 0, UINT64_MAX, &cl) < 0)
			return "bad Content-Length";
		rq->content_length = cl > SIM_BODY_MAX ? SIZE_MAX : (size_t)cl;
	} else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
		return "chunked request bodies are not supported";
	} else if (nlen == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
		rq->json = strncasecmp(val, "application/json", 16) == 0;
	} else if (nlen == 10 && strncasecmp(p, "Connection", 10) == 0) {
		if (strcasecmp(val, "close") == 0)
			rq->keep_alive = false;
		else if (strcasecmp(val, "keep-alive") == 0)
			rq->keep_alive = true;
	} else if (nlen == 6 && strncasecmp(p, "Expect", 6) == 0) {
		rq->expect_continue = strcasecmp(val, "100-continue") == 0;
	}
	return NULL;
}

/* Parse the request line and headers in head[0..n) (ends in CRLF CRLF). */
static const char *
parse_head(const char *head, size_t n, struct request *rq)
{
	const char *end = head + n, *eol, *sp1, *sp2, *err;

	memset(rq, 0, sizeof(*rq));
	eol = memmem(head, n, "\r\n", 2);
	sp1 = memchr(head, ' ', (size_t)(eol - head));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp2 || (size_t)(sp1 - head) >= sizeof(rq->method) ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof(rq->path) || sp2 == sp1 + 1 || sp1[1] != '/')
		return "malformed request line";
	if ((size_t)(eol - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return "unsupported HTTP version";
	memcpy(rq->method, head, (size_t)(sp1 - head));
	memcpy(rq->path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	rq->keep_alive = sp2[8] == '1';		/* HTTP/1.1 defaults to keep-alive */
	for (head = eol + 2; head < end - 2; head = eol + 2) {
		eol = memmem(head, (size_t)(end - head), "\r\n", 2);
		err = parse_header(head, eol, rq);
		if (err)
			return err;
	}
	return NULL;
}

struct conn {
	int fd;
	const struct route *routes;
	char in[SIM_HEADER_MAX + SIM_BODY_MAX];
	size_t len;
};

/* Read until at least want bytes are buffered.  -1 on EOF, error or idle. */
static int
conn_fill(struct conn *c, size_t want)
{
	ssize_t n;

	while (c->len < want) {
		n = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
	return 0;
}

/* Serve one request; returns false when the connection is done. */
static bool
conn_serve_one(struct conn *c, struct reply *rp)
{
	struct request rq;
	const char *err, *hend;
	size_t hlen;

	while (!(hend = memmem(c->in, c->len, "\r\n\r\n", 4)) && c->len < SIM_HEADER_MAX)
		if (conn_fill(c, c->len + 1) < 0)
			return false;
	if (!hend || (size_t)(hend - c->in) + 4 > SIM_HEADER_MAX) {
		rp->close = true;
		reply_error(rp, 431, "request header too large");
		(void)send_reply(c->fd, rp);
		return false;
	}
	hlen = (size_t)(hend - c->in) + 4;
	err = parse_head(c->in, hlen, &rq);
	if (!err && rq.content_length > SIM_BODY_MAX)
		err = "request body too large";
	if (err) {
		rp->close = true;
		reply_error(rp, 400, err);
		(void)send_reply(c->fd, rp);
		return false;
	}
	if (rq.expect_continue && c->len < hlen + rq.content_length &&
	    send_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
		return false;
	if (conn_fill(c, hlen + rq.content_length) < 0)
		return false;
	rq.body = c->in + hlen;
	rp->close = !rq.keep_alive;
	if (dispatch(c->routes, &rq, rp) < 0)
		reply_error(rp, 500, "reply too large");
	if (send_reply(c->fd, rp) < 0 || rp->close)
		return false;
	c->len -= hlen + rq.content_length;
	memmove(c->in, c->in + hlen + rq.content_length, c->len);
	return true;
}

static void *
conn_thread(void *arg)
{
	struct conn *c = arg;
	struct reply rp;

	buf_init(&rp.body, SIM_REPLY_MAX);
	do {
		buf_reset(&rp.body);
		rp.status = 500;
		rp.close = false;
	} while (conn_serve_one(c, &rp));
	if (rp.body.data)
		explicit_bzero(rp.body.data, rp.body.alloc);	/* may hold a key */
	buf_release(&rp.body);
	close(c->fd);
	free(c);
	atomic_fetch_sub(&sim_conns, 1);
	return NULL;
}

static void
accept_one(int lfd, const struct route *routes)
{
	struct timeval tv = { .tv_sec = SIM_IDLE_SECS };
	pthread_attr_t attr;
	struct conn *c;
	pthread_t t;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (atomic_fetch_add(&sim_conns, 1) >= SIM_CONN_MAX || !(c = malloc(sizeof(*c)))) {
		atomic_fetch_sub(&sim_conns, 1);
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->fd = fd;
	c->routes = routes;
	c->len = 0;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_thread, c) != 0) {
		close(fd);
		free(c);
		atomic_fetch_sub(&sim_conns, 1);
	}
	pthread_attr_destroy(&attr);
}

/* ---- start-up */

static int
listen_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "dstack-sim: socket path '%s' too long\n", path);
		return -1;
	}
	/* Replace a stale socket, never any other kind of file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "dstack-sim: '%s' exists and is not a socket\n", path);
			return -1;
		}
		unlink(path);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "dstack-sim: cannot listen on '%s': %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
listen_tcp(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)addr, &len) < 0) {
		fprintf(stderr, "dstack-sim: cannot listen for the gateway: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Write content to path atomically (temporary file, then rename). */
static int
write_file_atomic(const char *path, const char *content)
{
	char tmp[4096];
	size_t len = strlen(content);
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, content, len) != (ssize_t)len || close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
write_sysconfig(void)
{
	char url[64];
	cJSON *o, *urls, *kms;
	char *s;
	int r = -1;

	if (sim.gw_enabled)
		snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)ntohs(sim.gw_addr.sin_port));
	else
		snprintf(url, sizeof(url), "https://tproxy.1022.dstack.org:12002");
	o = cJSON_CreateObject();
	if (!o || !(kms = cJSON_AddArrayToObject(o, "kms_urls")) ||
	    !cJSON_AddItemToArray(kms, cJSON_CreateString(FIX_KMS_URL)) ||
	    !(urls = cJSON_AddArrayToObject(o, "gateway_urls")) ||
	    !cJSON_AddItemToArray(urls, cJSON_CreateString(url)) ||
	    !cJSON_AddStringToObject(o, "pccs_url", "") ||
	    !cJSON_AddStringToObject(o, "docker_registry", "") ||
	    !cJSON_AddStringToObject(o, "host_api_url", "vsock://2:12000/api") ||
	    !cJSON_AddStringToObject(o, "vm_config", FIX_VM_CONFIG) ||
	    !(s = cJSON_Print(o)))
		goto out_free;
	r = write_file_atomic(sim.sysconfig_out, s);
	cJSON_free(s);
out_free:
	cJSON_Delete(o);
	return r;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: dstack-sim --socket PATH [options]\n"
		"A dstack guest-agent simulator: /Info, /GetKey, /Version on a unix socket.\n"
		"  --socket PATH              unix socket to serve (required)\n"
		"  --instance-id HEX40        instance id (default %s)\n"
		"  --app-name NAME            app name (default guest-agent)\n"
		"  --gateway-domain D[:PORT]  put default_gateway_domain into app-compose\n"
		"  --no-version               behave as an older agent: /Version is 404\n"
		"  --gateway-listen 127.0.0.1:PORT  serve a fake gateway GET /prpc/Info (PORT 0: any)\n"
		"  --base-domain D            the fake gateway's base_domain (default p2p.dstack.test)\n"
		"  --external-port N          the fake gateway's external_port (default 443)\n"
		"  --sys-config-out PATH      write a sys-config whose gateway_urls point at the fake gateway\n"
		"  --pidfile PATH             write the pid once every listener is up\n"
		"  --help\n", FIX_INSTANCE_ID);
}

static int
parse_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	uint64_t port;

	if (!colon || (size_t)(colon - s) >= sizeof(host) ||
	    num_parse_u64(colon + 1, false, 0, 65535, &port) < 0)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	sim.gw_addr.sin_family = AF_INET;
	sim.gw_addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sim.gw_addr.sin_addr) != 1)
		return -1;
	sim.gw_enabled = true;
	return 0;
}

static int
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "instance-id", required_argument, NULL, 'i' },
		{ "app-name", required_argument, NULL, 'n' },
		{ "gateway-domain", required_argument, NULL, 'g' },
		{ "no-version", no_argument, NULL, 'V' },
		{ "gateway-listen", required_argument, NULL, 'l' },
		{ "base-domain", required_argument, NULL, 'b' },
		{ "external-port", required_argument, NULL, 'p' },
		{ "sys-config-out", required_argument, NULL, 'c' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t id[20];
	uint64_t v;
	int c;

	memcpy(sim.instance_id, FIX_INSTANCE_ID, sizeof(sim.instance_id));
	sim.base_domain = "p2p.dstack.test";
	sim.external_port = 443;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': sim.sock_path = optarg; break;
		case 'n': sim.app_name = optarg; break;
		case 'g': sim.gateway_domain = optarg; break;
		case 'V': sim.no_version = true; break;
		case 'b': sim.base_domain = optarg; break;
		case 'c': sim.sysconfig_out = optarg; break;
		case 'P': sim.pidfile = optarg; break;
		case 'h': usage(stdout); exit(0);
		case 'i':
			if (hex_decode_exact(optarg, strlen(optarg), id, sizeof(id)) < 0 ||
			    hex_encode(id, sizeof(id), false, sim.instance_id, sizeof(sim.instance_id)) < 0) {
				fprintf(stderr, "dstack-sim: bad --instance-id '%s'\n", optarg);
				return -1;
			}
			break;
		case 'l':
			if (parse_listen(optarg) < 0) {
				fprintf(stderr, "dstack-sim: bad --gateway-listen '%s'\n", optarg);
				return -1;
			}
			break;
		case 'p':
			if (num_parse_u64(optarg, false, 1, 65535, &v) < 0) {
				fprintf(stderr, "dstack-sim: bad --external-port '%s'\n", optarg);
				return -1;
			}
			sim.external_port = (uint16_t)v;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!sim.sock_path || optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static int
load_keys(void)
{
	if (hex_decode_exact(FIX_APP_KEY, strlen(FIX_APP_KEY), sim.app_sk, 32) < 0 ||
	    hex_decode_exact(FIX_KMS_SIG, strlen(FIX_KMS_SIG), sim.kms_sig, 65) < 0 ||
	    ethkey_global_init() < 0)
		return -1;
	return 0;
}

/* Remove the files this process made (made[0..2]: socket, sys-config, pidfile). */
static void
cleanup_files(const bool made[3])
{
	if (made[0])
		unlink(sim.sock_path);
	if (made[1])
		unlink(sim.sysconfig_out);
	if (made[2])
		unlink(sim.pidfile);
}

/* Accept on the listeners until SIGINT or SIGTERM. */
static void
serve(int ufd, int gfd, int sfd)
{
	struct pollfd p[3] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = ufd, .events = POLLIN },
		{ .fd = gfd, .events = POLLIN },
	};

	for (;;) {
		if (poll(p, gfd >= 0 ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents)
			return;
		if (p[1].revents & POLLIN)
			accept_one(ufd, agent_routes);
		if (gfd >= 0 && (p[2].revents & POLLIN))
			accept_one(gfd, gateway_routes);
	}
}

int
main(int argc, char **argv)
{
	int ufd, gfd = -1, sfd, rc = 1;
	bool made[3] = { false, false, false };
	char pid[32];
	sigset_t set;

	if (parse_args(argc, argv) < 0)
		return 2;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* inherited by every thread */
	sigdelset(&set, SIGPIPE);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0 || load_keys() < 0 || render_info() < 0) {
		fprintf(stderr, "dstack-sim: start-up failed\n");
		return 1;
	}
	ufd = listen_unix(sim.sock_path);
	if (ufd < 0)
		return 1;
	made[0] = true;
	if (sim.gw_enabled && (gfd = listen_tcp(&sim.gw_addr)) < 0)
		goto out_cleanup;
	if (sim.sysconfig_out && write_sysconfig() < 0) {
		fprintf(stderr, "dstack-sim: cannot write '%s'\n", sim.sysconfig_out);
		goto out_cleanup;
	}
	made[1] = sim.sysconfig_out != NULL;
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (sim.pidfile && write_file_atomic(sim.pidfile, pid) < 0) {
		fprintf(stderr, "dstack-sim: cannot write '%s'\n", sim.pidfile);
		goto out_cleanup;
	}
	made[2] = sim.pidfile != NULL;
	fprintf(stderr, "dstack-sim: instance %s on '%s'", sim.instance_id, sim.sock_path);
	if (gfd >= 0)
		fprintf(stderr, ", gateway on 127.0.0.1:%u", (unsigned)ntohs(sim.gw_addr.sin_port));
	fprintf(stderr, "\n");
	serve(ufd, gfd, sfd);
	rc = 0;
out_cleanup:
	cleanup_files(made);
	explicit_bzero(sim.app_sk, sizeof(sim.app_sk));
	return rc;
}
