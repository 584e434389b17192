#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "ethkey.h"
#include "hex.h"

#define DEFAULT_POLL_MS		2000
#define DEFAULT_CONFIRMATIONS	2
#define DEFAULT_RPC_TIMEOUT_MS	10000
#define DEFAULT_APP_PORT	80
#define DEFAULT_LOW_BALANCE	10000000000000000ULL	/* 0.01 ether */
#define DEFAULT_WG_IFNAME	"dp2p0"
#define DEFAULT_WG_PORT		51820
#define DEFAULT_WG_KEEPALIVE	25
#define DEFAULT_MESH		"10.0.1.0"
#define DEFAULT_MESH_PREFIX	24
#define ITEM_MAX		(OPTIONS_RPC_MAX * (OPTIONS_URL_MAX + 1) + 16)

static int fail(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* true when s has no control byte, space or non-ASCII byte */
static bool
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int
copy_str(char *dst, size_t dstsz, const char *key, const char *v, char *err, size_t errsz)
{
	size_t n = strlen(v);

	if (n == 0)
		return fail(err, errsz, "option '%s' needs a value", key);
	if (n >= dstsz)
		return fail(err, errsz, "option '%s' is longer than %zu bytes", key, dstsz - 1);
	if (!printable(v))
		return fail(err, errsz, "option '%s' contains spaces, control or non-ASCII bytes", key);
	memcpy(dst, v, n + 1);
	return 0;
}

int
options_parse_duration(const char *s, uint64_t min_ms, uint64_t max_ms, uint64_t *ret_ms)
{
	char num[24];
	size_t n = strlen(s), digits = n;
	uint64_t mult = 1000, v;
	int r;

	if (n >= 2 && strcmp(s + n - 2, "ms") == 0) {
		mult = 1;
		digits = n - 2;
	} else if (n >= 1 && s[n - 1] == 's') {
		digits = n - 1;
	} else if (n >= 1 && s[n - 1] == 'm') {
		mult = 60000;
		digits = n - 1;
	}
	if (digits == 0 || digits >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, digits);
	num[digits] = '\0';
	r = num_parse_u64(num, false, 0, UINT64_MAX / 60000, &v);
	if (r < 0)
		return r;
	v *= mult;
	if (v < min_ms || v > max_ms)
		return -ERANGE;
	*ret_ms = v;
	return 0;
}

static int
set_duration(uint64_t *dst, const char *key, const char *v, uint64_t min_ms, uint64_t max_ms,
	     char *err, size_t errsz)
{
	int r = options_parse_duration(v, min_ms, max_ms, dst);

	if (r == -ERANGE)
		return fail(err, errsz, "option '%s=%s' is out of range (%llums..%llums)", key, v,
			    (unsigned long long)min_ms, (unsigned long long)max_ms);
	if (r < 0)
		return fail(err, errsz, "option '%s=%s' is not a duration (e.g. 2s, 500ms, 1m)",
			    key, v);
	return 0;
}

static int
set_number(uint64_t *dst, const char *key, const char *v, uint64_t min, uint64_t max,
	   char *err, size_t errsz)
{
	int r = num_parse_u64(v, false, min, max, dst);

	if (r == -ERANGE)
		return fail(err, errsz, "option '%s=%s' is out of range (%llu..%llu)", key, v,
			    (unsigned long long)min, (unsigned long long)max);
	if (r < 0)
		return fail(err, errsz, "option '%s=%s' is not a decimal number", key, v);
	return 0;
}

static int
opt_contract(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	if (ethkey_address_parse(v, strlen(v), o->contract) < 0)
		return fail(err, errsz, "option '%s': '%.64s' is not a contract address "
			    "(0x and 40 hex digits, EIP-55 checksum when mixed case)", k, v);
	o->has_contract = true;
	return 0;
}

static int
opt_mode(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	if (strcmp(v, "tls") == 0)
		o->mode = P2P_MODE_TLS;
	else if (strcmp(v, "wireguard") == 0)
		o->mode = P2P_MODE_WIREGUARD;
	else
		return fail(err, errsz, "option '%s=%.32s': mode is 'tls' or 'wireguard'", k, v);
	o->has_mode = true;
	return 0;
}

static bool
rpc_url_ok(const char *u, size_t n)
{
	if (n > 7 && strncmp(u, "http://", 7) == 0)
		return true;
	return n > 8 && strncmp(u, "https://", 8) == 0;
}

static int
opt_rpc(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	const char *p = v, *bar;
	size_t n, count = 0;
	char urls[OPTIONS_RPC_MAX][OPTIONS_URL_MAX + 1];

	for (;;) {
		bar = strchr(p, '|');
		n = bar ? (size_t)(bar - p) : strlen(p);
		if (count == OPTIONS_RPC_MAX)
			return fail(err, errsz, "option '%s': more than %d URLs", k, OPTIONS_RPC_MAX);
		if (n == 0 || n > OPTIONS_URL_MAX)
			return fail(err, errsz, "option '%s': URL %zu is empty or longer than %d bytes",
				    k, count + 1, OPTIONS_URL_MAX);
		memcpy(urls[count], p, n);
		urls[count][n] = '\0';
		if (!printable(urls[count]) || !rpc_url_ok(urls[count], n))
			return fail(err, errsz, "option '%s': URL %zu is not an http:// or https:// URL",
				    k, count + 1);
		count++;
		if (!bar)
			break;
		p = bar + 1;
	}
	memcpy(o->rpc, urls, sizeof(urls));
	o->nrpc = count;
	return 0;
}

static int
opt_chain_id(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	int r = set_number(&o->chain_id, k, v, 1, UINT64_MAX / 2, err, errsz);

	if (r == 0)
		o->has_chain_id = true;
	return r;
}

static int
opt_poll(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	return set_duration(&o->poll_ms, k, v, 100, 3600000, err, errsz);
}

static int
opt_confirmations(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	return set_number(&o->confirmations, k, v, 0, 1000, err, errsz);
}

static int
opt_heartbeat(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	return set_duration(&o->heartbeat_ms, k, v, 1000, 86400000, err, errsz);
}

static int
opt_rpc_timeout(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	return set_duration(&o->rpc_timeout_ms, k, v, 100, 300000, err, errsz);
}

static int
opt_quorum(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	uint64_t q;
	int r = set_number(&q, k, v, 1, OPTIONS_RPC_MAX, err, errsz);

	if (r == 0)
		o->quorum = (uint32_t)q;
	return r;
}

static int
opt_app_port(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	uint64_t p;
	int r = set_number(&p, k, v, 1, 65535, err, errsz);

	if (r == 0)
		o->app_port = (uint16_t)p;
	return r;
}

static int
opt_passthrough(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	(void)k; (void)v; (void)err; (void)errsz;
	o->passthrough = true;
	return 0;
}

static int
opt_fast_read(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	(void)k; (void)v; (void)err; (void)errsz;
	o->fast_read = true;
	return 0;
}

static int
opt_syslog(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	(void)k; (void)v; (void)err; (void)errsz;
	o->log_syslog = true;
	return 0;
}

static int
opt_agent(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	return copy_str(o->agent, sizeof(o->agent), k, v, err, errsz);
}

static int
opt_sysconfig(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	if (v[0] != '/')
		return fail(err, errsz, "option '%s' must be an absolute path", k);
	return copy_str(o->sysconfig, sizeof(o->sysconfig), k, v, err, errsz);
}

static int
opt_gateway(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	if (!endpoint_dnsname_ok(v, strlen(v)))
		return fail(err, errsz, "option '%s=%.64s' is not a DNS domain", k, v);
	return copy_str(o->gateway_domain, sizeof(o->gateway_domain), k, v, err, errsz);
}

static int
opt_endpoint(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	if (!endpoint_charset_ok(v, strlen(v)))
		return fail(err, errsz, "option '%s' must be 1..%d bytes of [A-Za-z0-9._:/[]-]",
			    k, ENDPOINT_MAX);
	return copy_str(o->endpoint, sizeof(o->endpoint), k, v, err, errsz);
}

static int
opt_register_gid(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	uint64_t g;
	int r = set_number(&g, k, v, 0, UINT32_MAX - 1, err, errsz);

	if (r == 0) {
		o->register_gid = (uint32_t)g;
		o->has_register_gid = true;
	}
	return r;
}

static int
opt_low_balance(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	return set_number(&o->low_balance_wei, k, v, 0, UINT64_MAX, err, errsz);
}

static int
opt_wg_if(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > OPTIONS_IFNAME_MAX || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return fail(err, errsz, "option '%s' must be 1..%d bytes", k, OPTIONS_IFNAME_MAX);
	for (i = 0; i < n; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return fail(err, errsz, "option '%s=%s': interface names use [A-Za-z0-9._-]",
				    k, v);
	}
	memcpy(o->wg_ifname, v, n + 1);
	return 0;
}

static int
opt_wg_port(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	uint64_t p;
	int r = set_number(&p, k, v, 1, 65535, err, errsz);

	if (r == 0)
		o->wg_port = (uint16_t)p;
	return r;
}

static int
opt_wg_keepalive(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	uint64_t p;
	int r = set_number(&p, k, v, 0, 65535, err, errsz);

	if (r == 0)
		o->wg_keepalive = (uint16_t)p;
	return r;
}

static int
opt_wg_backend(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	if (strcmp(v, "auto") == 0)
		o->wg_backend = WG_BACKEND_AUTO;
	else if (strcmp(v, "kernel") == 0)
		o->wg_backend = WG_BACKEND_KERNEL;
	else if (strcmp(v, "userspace") == 0)
		o->wg_backend = WG_BACKEND_USERSPACE;
	else
		return fail(err, errsz, "option '%s=%.32s': backend is auto, kernel or userspace",
			    k, v);
	return 0;
}

static int
opt_mesh(struct options *o, const char *k, const char *v, char *err, size_t errsz)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	uint64_t prefix;
	struct in_addr a;
	uint32_t mask;

	if (!slash || (size_t)(slash - v) >= sizeof(addr))
		return fail(err, errsz, "option '%s=%.32s' is not an IPv4 network a.b.c.d/N", k, v);
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1)
		return fail(err, errsz, "option '%s=%.32s' is not an IPv4 network a.b.c.d/N", k, v);
	if (num_parse_u64(slash + 1, false, 8, 30, &prefix) < 0)
		return fail(err, errsz, "option '%s=%.32s': prefix length must be 8..30", k, v);
	mask = htonl(0xffffffffU << (32 - prefix));
	if ((a.s_addr & ~mask) != 0)
		return fail(err, errsz, "option '%s=%.32s' has host bits set", k, v);
	o->mesh_net = a;
	o->mesh_prefix = (uint8_t)prefix;
	return 0;
}

struct option_def {
	const char *key;
	bool value;		/* takes "=value" */
	int (*apply)(struct options *, const char *, const char *, char *, size_t);
};

static const struct option_def option_defs[] = {
	{ "contract",		true,	opt_contract },
	{ "mode",		true,	opt_mode },
	{ "rpc",		true,	opt_rpc },
	{ "chain_id",		true,	opt_chain_id },
	{ "poll",		true,	opt_poll },
	{ "confirmations",	true,	opt_confirmations },
	{ "heartbeat",		true,	opt_heartbeat },
	{ "rpc_timeout",	true,	opt_rpc_timeout },
	{ "quorum",		true,	opt_quorum },
	{ "app_port",		true,	opt_app_port },
	{ "passthrough",	false,	opt_passthrough },
	{ "agent",		true,	opt_agent },
	{ "sysconfig",		true,	opt_sysconfig },
	{ "gateway",		true,	opt_gateway },
	{ "endpoint",		true,	opt_endpoint },
	{ "register_gid",	true,	opt_register_gid },
	{ "low_balance",	true,	opt_low_balance },
	{ "fast_read",		false,	opt_fast_read },
	{ "syslog",		false,	opt_syslog },
	{ "wg_if",		true,	opt_wg_if },
	{ "wg_port",		true,	opt_wg_port },
	{ "wg_keepalive",	true,	opt_wg_keepalive },
	{ "wg_backend",		true,	opt_wg_backend },
	{ "mesh",		true,	opt_mesh },
};

void
options_init(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->poll_ms = DEFAULT_POLL_MS;
	o->confirmations = DEFAULT_CONFIRMATIONS;
	o->rpc_timeout_ms = DEFAULT_RPC_TIMEOUT_MS;
	o->quorum = 1;
	o->app_port = DEFAULT_APP_PORT;
	o->low_balance_wei = DEFAULT_LOW_BALANCE;
	memcpy(o->wg_ifname, DEFAULT_WG_IFNAME, sizeof(DEFAULT_WG_IFNAME));
	o->wg_port = DEFAULT_WG_PORT;
	o->wg_keepalive = DEFAULT_WG_KEEPALIVE;
	inet_pton(AF_INET, DEFAULT_MESH, &o->mesh_net);
	o->mesh_prefix = DEFAULT_MESH_PREFIX;
}

int
options_apply(struct options *o, const char *item, char *err, size_t errsz)
{
	const char *eq = strchr(item, '=');
	size_t klen = eq ? (size_t)(eq - item) : strlen(item);
	size_t i;
	char key[32];

	for (i = 0; i < sizeof(option_defs) / sizeof(option_defs[0]); i++) {
		const struct option_def *d = &option_defs[i];

		if (strlen(d->key) != klen || strncmp(d->key, item, klen) != 0)
			continue;
		memcpy(key, d->key, klen + 1);
		if (d->value && !eq)
			return fail(err, errsz, "option '%s' needs a value ('%s=...')", key, key);
		if (!d->value && eq)
			return fail(err, errsz, "option '%s' takes no value", key);
		return d->apply(o, key, eq ? eq + 1 : "", err, errsz);
	}
	return 1;
}

static int
append_rest(char *rest, size_t restsz, size_t *used, const char *item)
{
	size_t n = strlen(item), need = n + (*used ? 1 : 0);

	if (need >= restsz - *used)
		return -E2BIG;
	if (*used)
		rest[(*used)++] = ',';
	memcpy(rest + *used, item, n + 1);
	*used += n;
	return 0;
}

int
options_apply_list(struct options *o, const char *list, char *rest, size_t restsz,
		   char *err, size_t errsz)
{
	char local[ITEM_MAX];
	size_t n = 0, used = 0;
	const char *p;
	int r;

	if (rest && restsz)
		rest[0] = '\0';
	for (p = list;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == ',' || *p == '\0') {
			local[n] = '\0';
			if (n > 0) {
				r = options_apply(o, local, err, errsz);
				if (r < 0)
					return r;
				if (r == 1) {
					if (!rest)
						return fail(err, errsz, "unknown option '%.64s'", local);
					if (append_rest(rest, restsz, &used, local) < 0)
						return -E2BIG;
				}
			}
			n = 0;
			if (*p == '\0')
				break;
			continue;
		}
		if (n + 1 >= sizeof(local))
			return fail(err, errsz, "an option is longer than %zu bytes", sizeof(local) - 1);
		local[n++] = *p;
	}
	return 0;
}

/* dstack's own gateway WireGuard uses 10.0.0.0/24 inside the CVM */
static bool
mesh_overlaps_dstack(const struct options *o)
{
	uint32_t net = ntohl(o->mesh_net.s_addr), dstack = 0x0a000000U;
	uint32_t mask = 0xffffffffU << (32 - o->mesh_prefix);
	uint32_t common = o->mesh_prefix < 24 ? mask : 0xffffff00U;

	return (net & common) == (dstack & common);
}

int
options_finish(struct options *o, char *err, size_t errsz)
{
	uint16_t port;

	if (!o->has_contract)
		return fail(err, errsz, "missing option 'contract=0x...': the peer registry's address");
	if (!o->has_mode)
		return fail(err, errsz, "missing option 'mode=tls' or 'mode=wireguard'");
	if (o->nrpc == 0)
		return fail(err, errsz, "missing option 'rpc=URL[|URL...]': the chain's JSON-RPC endpoint(s)");
	if (o->quorum > o->nrpc)
		return fail(err, errsz, "option 'quorum=%u' needs at least %u rpc URLs, %zu given",
			    o->quorum, o->quorum, o->nrpc);
	if (o->endpoint[0]) {
		if (o->mode == P2P_MODE_TLS && !endpoint_tls_ok(o->endpoint, strlen(o->endpoint)))
			return fail(err, errsz, "option 'endpoint=%s': TLS mode needs an https:// URL",
				    o->endpoint);
		if (o->mode == P2P_MODE_WIREGUARD &&
		    !endpoint_hostport_ok(o->endpoint, strlen(o->endpoint), &port))
			return fail(err, errsz, "option 'endpoint=%s': WireGuard mode needs host:port",
				    o->endpoint);
	}
	if (o->mode == P2P_MODE_WIREGUARD && mesh_overlaps_dstack(o))
		return fail(err, errsz, "option 'mesh': the network overlaps dstack's gateway "
			    "tunnel 10.0.0.0/24");
	if (o->mode == P2P_MODE_WIREGUARD && (o->passthrough || o->gateway_domain[0]))
		return fail(err, errsz, "options 'passthrough' and 'gateway' apply to mode=tls only");
	return 0;
}

void
options_usage(FILE *f)
{
	fprintf(f,
"dstackp2pfs options (-o key=value,...):\n"
"    contract=0xADDR        peer registry contract (required)\n"
"    mode=tls|wireguard     what peers are: gateway URLs or mesh IPs (required)\n"
"    rpc=URL[|URL...]       JSON-RPC endpoints, tried in order (required, max %d)\n"
"    chain_id=N             refuse a chain with another id\n"
"    poll=DURATION          chain poll interval (default %ds; 500ms, 2s, 1m)\n"
"    confirmations=N        blocks behind the head taken as final (default %d)\n"
"    heartbeat=DURATION     heartbeat interval (default: a third of the contract TTL)\n"
"    rpc_timeout=DURATION   per-request timeout (default %ds)\n"
"    quorum=N               RPC endpoints that must agree before a change (default 1)\n"
"    endpoint=STR           this instance's endpoint instead of discovering it\n"
"    app_port=N             tls: the app's port behind the gateway (default %d)\n"
"    passthrough            tls: the gateway passes TLS through to the app\n"
"    gateway=DOMAIN         tls: gateway base domain instead of discovering it\n"
"    agent=PATH|URL         dstack guest agent socket (default: probe the usual paths)\n"
"    sysconfig=PATH         host-shared sys-config (default /dstack/.host-shared/.sys-config.json)\n"
"    register_gid=GID       members of GID may write /p2p/register (default: root only)\n"
"    low_balance=WEI        warn in status below this balance (default %llu)\n"
"    fast_read              page-cache reads without open() (much faster; a read\n"
"                           racing a change can be torn, see the README)\n"
"    syslog                 log to syslog in the foreground too\n"
"    wg_if=NAME             wireguard: interface name (default %s)\n"
"    wg_port=N              wireguard: listen port (default %d)\n"
"    wg_keepalive=SEC       wireguard: persistent keepalive (default %d)\n"
"    wg_backend=auto|kernel|userspace  wireguard: how to reach the device\n"
"    mesh=A.B.C.D/N         wireguard: mesh network (default %s/%d)\n",
		OPTIONS_RPC_MAX, DEFAULT_POLL_MS / 1000, DEFAULT_CONFIRMATIONS,
		DEFAULT_RPC_TIMEOUT_MS / 1000, DEFAULT_APP_PORT,
		(unsigned long long)DEFAULT_LOW_BALANCE, DEFAULT_WG_IFNAME, DEFAULT_WG_PORT,
		DEFAULT_WG_KEEPALIVE, DEFAULT_MESH, DEFAULT_MESH_PREFIX);
}
