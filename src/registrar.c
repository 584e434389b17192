/*
 * registrar: register, leave, heartbeats and the balance check (see
 * registrar.h for the contract with the rest of the daemon).
 *
 * Calls are encoded and decoded by registry.h; transactions go through
 * txsend.h (nonce, fees, gas, receipt), one at a time under op_lock.  Each
 * transaction is first simulated with eth_estimateGas so that a revert is
 * decoded into the errno and reason the writer of /p2p/register sees;
 * nothing is sent then.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "buf.h"
#include "ethkey.h"
#include "gateway.h"
#include "hex.h"
#include "identity.h"
#include "kms.h"
#include "log.h"
#include "registrar.h"
#include "registry.h"
#include "rpc.h"
#include "snapshot.h"
#include "txsend.h"

#define REG_CALL_MAX		(64 * 1024)	/* eth_call return data we accept */
#define REG_GAS_MAX		2000000		/* refuse estimates above this */
#define REG_RECEIPT_POLL_MS	200
#define REG_BALANCE_EVERY_MS	30000

/* What the contract's custom errors mean for a writer of /p2p/register. */
static const struct {
	const char *sig;
	int err;
	const char *why;
} reg_errors[] = {
	{ "NotMember(address)", EACCES, "the key holds no membership token" },
	{ "EnrollmentClosed()", EACCES, "no membership token and enrollment is closed" },
	{ "MemberCapReached(uint32)", EACCES, "enrollment is full" },
	{ "AppNotAllowed(bytes20)", EACCES, "the app id is not allowed by the contract" },
	{ "AlreadyMember(address)", EADDRINUSE, "the key already holds a token" },
	{ "BadKeyLength()", EPERM, "the proof's keys have the wrong length" },
	{ "BadSignature()", EPERM, "a signature of the proof is invalid" },
	{ "AppKeyMismatch(address,address)", EPERM, "the app signature is not by the KMS-issued app key" },
	{ "UntrustedKms(address)", EPERM, "the KMS root is not trusted by the contract" },
	{ "CallerNotDerivedKey(address,address)", EPERM, "the sender is not the derived key" },
	{ "ZeroInstanceId()", EINVAL, "the instance id is zero" },
	{ "BadEndpoint()", EINVAL, "the contract rejected the endpoint" },
	{ "BadWgKey()", EINVAL, "the contract rejected the WireGuard key" },
	{ "InstanceTaken(bytes20,uint256)", EADDRINUSE, "the instance id is registered by another token" },
	{ "KeyBoundToOtherInstance(bytes20)", EADDRINUSE, "the key is registered for another instance" },
	{ "WgKeyTaken(uint256)", EADDRINUSE, "the WireGuard key is registered by another token" },
	{ "NotRegistered(address)", ENOENT, "this instance is not registered" },
	{ "NonTransferable()", EPERM, "membership tokens cannot be transferred" },
	{ "BadTTL()", EINVAL, "the contract rejected the TTL" },
	{ "BadInstanceString()", EINVAL, "the contract rejected the instance id text" },
	{ "OwnableUnauthorizedAccount(address)", EACCES, "only the contract owner may do this" },
	{ "ERC721NonexistentToken(uint256)", ENOENT, "no such membership token" },
};

struct registrar {
	struct options o;
	struct fs *fs;
	struct registrar_hooks hooks;
	pthread_t thread;
	bool started;
	struct rpc *rpc;		/* used under op_lock only */
	struct txsend *tx;		/* under op_lock; made once the identity is known */

	pthread_mutex_t op_lock;	/* serializes chain operations */
	/* below: guarded by op_lock (written only with it held) */
	bool have_id;
	struct identity_proof proof;	/* SECRET inside: derived_sk */
	struct identity_wg wg;		/* SECRET inside: sk */
	bool has_wg;
	struct agent_info info;
	char endpoint[ENDPOINT_MAX + 1];
	bool chain_checked;		/* chain id verified */
	uint64_t chain_id;
	bool synced;			/* registration state read from the chain */
	uint64_t ttl;			/* contract heartbeatTTL, 0 unknown */
	uint64_t next_heartbeat_ms;	/* monotonic */
	uint64_t next_balance_ms;
	uint64_t next_identity_ms;

	pthread_mutex_t lock;		/* guards the fields below and stop */
	pthread_cond_t cond;
	bool stop;
	struct snapshot_reg reg;
	char reason[REGISTRAR_REASON_MAX + 1];	/* reg.reason points here */
	struct registrar_status st;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *
state_name(enum snapshot_reg_state s)
{
	static const char *const names[] = {
		[SNAPSHOT_REG_UNREGISTERED] = "unregistered",
		[SNAPSHOT_REG_PENDING] = "pending",
		[SNAPSHOT_REG_REGISTERED] = "registered",
		[SNAPSHOT_REG_LEAVING] = "leaving",
		[SNAPSHOT_REG_FAILED] = "failed",
	};

	return (unsigned int)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

/* ---- rendering ---------------------------------------------------------- */

/* Render self and register from the current state.  Caller holds op_lock. */
static void
render(struct registrar *reg)
{
	struct snapshot_self s;
	struct snapshot_reg r;
	struct buf out;
	int e;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&reg->lock);
	r = reg->reg;
	r.reason = reg->reason;
	pthread_mutex_unlock(&reg->lock);

	buf_init(&out, SNAPSHOT_TEXT_MAX);
	e = snapshot_render_register(&r, &out);
	if (e == 0)
		e = fs_set_text(reg->fs, FS_TEXT_REGISTER, out.data, out.len);
	if (e < 0)
		log_warnx("registrar: cannot render 'register': %s", strerror(-e));
	buf_reset(&out);

	if (reg->have_id) {
		memcpy(s.instance_id, reg->proof.instance_id, 20);
		memcpy(s.app_id, reg->proof.app_id, 20);
		memcpy(s.address, reg->proof.derived_addr, 20);
		memcpy(s.endpoint, reg->endpoint, sizeof(s.endpoint));
	}
	s.has_token = r.state == SNAPSHOT_REG_REGISTERED;
	s.token_id = r.token_id;
	s.mode = reg->o.mode == P2P_MODE_WIREGUARD ? PEER_NET_WIREGUARD : PEER_NET_TLS;
	if (reg->has_wg) {
		s.has_wg = true;
		memcpy(s.wg_pubkey, reg->wg.pub, 32);
	}
	if (reg->o.mode == P2P_MODE_WIREGUARD && s.has_token && r.token_id > 0 &&
	    r.token_id < (1ULL << (32 - reg->o.mesh_prefix)) - 1) {
		s.has_mesh_ip = true;
		s.mesh_ip.s_addr = htonl(ntohl(reg->o.mesh_net.s_addr) + (uint32_t)r.token_id);
	}
	memcpy(s.contract, reg->o.contract, 20);
	s.chain_id = reg->chain_checked ? reg->chain_id : reg->o.chain_id;
	s.registration = reg->have_id ? state_name(r.state) : "no identity (guest agent unavailable)";
	e = snapshot_render_self(&s, &out);
	if (e == 0)
		e = fs_set_text(reg->fs, FS_TEXT_SELF, out.data, out.len);
	if (e < 0)
		log_warnx("registrar: cannot render 'self': %s", strerror(-e));
	buf_release(&out);
}

static void
set_state(struct registrar *reg, enum snapshot_reg_state state)
{
	pthread_mutex_lock(&reg->lock);
	reg->reg.state = state;
	if (state != SNAPSHOT_REG_FAILED) {
		reg->reg.error = 0;
		reg->reason[0] = '\0';
	}
	reg->st.registered = state == SNAPSHOT_REG_REGISTERED;
	pthread_mutex_unlock(&reg->lock);
}

static void
set_registered(struct registrar *reg, uint64_t token, const uint8_t tx[32], uint64_t block)
{
	pthread_mutex_lock(&reg->lock);
	reg->reg.state = SNAPSHOT_REG_REGISTERED;
	reg->reg.token_id = token;
	if (tx)
		memcpy(reg->reg.tx_hash, tx, 32);
	else
		memset(reg->reg.tx_hash, 0, 32);
	reg->reg.block = block;
	reg->reg.error = 0;
	reg->reason[0] = '\0';
	reg->st.registered = true;
	reg->st.token_id = token;
	pthread_mutex_unlock(&reg->lock);
}

/* Record a failure (positive errno e) with its reason; returns -e. */
static int
set_failed(struct registrar *reg, int e, const char *why)
{
	pthread_mutex_lock(&reg->lock);
	reg->reg.state = SNAPSHOT_REG_FAILED;
	reg->reg.error = e;
	if (snprintf(reg->reason, sizeof(reg->reason), "%s", why) < 0)
		reg->reason[0] = '\0';
	pthread_mutex_unlock(&reg->lock);
	return -e;
}

/* ---- identity ----------------------------------------------------------- */

static int
load_endpoint(struct registrar *reg, char *why, size_t whysz)
{
	struct gateway_opts g = {
		.domain = reg->o.gateway_domain,
		.sys_config_path = reg->o.sysconfig[0] ? reg->o.sysconfig : NULL,
		.app_port = reg->o.app_port,
		.tls_passthrough = reg->o.passthrough,
	};
	char url[GATEWAY_URL_MAX];
	int r;

	if (reg->o.endpoint[0]) {
		memcpy(reg->endpoint, reg->o.endpoint, sizeof(reg->endpoint));
		return 0;
	}
	if (reg->o.mode == P2P_MODE_WIREGUARD) {
		snprintf(why, whysz, "mode=wireguard needs the option 'endpoint=HOST:PORT'");
		return -EINVAL;
	}
	r = gateway_discover(&g, &reg->info, url, NULL);
	if (r < 0) {
		snprintf(why, whysz, "cannot discover the gateway URL: %s", gateway_last_error());
		return r;
	}
	if (strlen(url) > ENDPOINT_MAX || !endpoint_tls_ok(url, strlen(url))) {
		snprintf(why, whysz, "the discovered gateway URL '%.120s' is not a valid endpoint", url);
		return -EINVAL;
	}
	memcpy(reg->endpoint, url, strlen(url) + 1);
	return 0;
}

/*
 * Ask the agent for the keys.  The KMS root's trust is the contract's
 * decision (isKmsRoot), so the proof is built trusting the root the chain
 * recovers to, and register checks that root with the contract.
 */
static int
load_proof(struct registrar *reg, struct agent *a, char *why, size_t whysz)
{
	char path[IDENTITY_PATH_MAX];
	struct agent_key key;
	uint8_t app_pub[65], root[1][20];
	int r;

	identity_key_path(IDENTITY_ETH_PATH_PREFIX, reg->info.instance_id, path);
	r = agent_get_key(a, path, IDENTITY_ETH_PURPOSE, &key);
	if (r < 0) {
		snprintf(why, whysz, "guest agent GetKey failed: %s", agent_last_error());
		return r;
	}
	r = ethkey_pubkey(key.key, reg->proof.derived_pub);
	if (r == 0)
		r = kms_chain_recover(reg->info.app_id, reg->proof.derived_pub, IDENTITY_ETH_PURPOSE,
		    key.chain[0], key.chain[1], app_pub, root[0]);
	if (r == 0)
		r = identity_proof_from_key(&reg->info, &key, (const uint8_t (*)[20])root, 1,
		    &reg->proof);
	agentmsg_key_wipe(&key);
	if (r < 0)
		snprintf(why, whysz, "the guest agent's key chain does not verify (%s)", strerror(-r));
	return r;
}

/* Load everything the registration needs from the TEE.  op_lock held. */
static int
load_identity(struct registrar *reg, char *why, size_t whysz)
{
	struct agent *a = NULL;
	int r;

	r = agent_open(reg->o.agent, &a);
	if (r < 0) {
		snprintf(why, whysz, "no guest agent: %s", agent_last_error());
		return -ENODEV;
	}
	r = agent_info(a, &reg->info);
	if (r < 0) {
		snprintf(why, whysz, "guest agent Info failed: %s", agent_last_error());
		r = -ENODEV;
		goto out_free;
	}
	r = load_proof(reg, a, why, whysz);
	if (r < 0) {
		r = -ENODEV;
		goto out_free;
	}
	if (reg->o.mode == P2P_MODE_WIREGUARD) {
		r = identity_load_wg(a, &reg->info, &reg->wg);
		if (r < 0) {
			snprintf(why, whysz, "cannot derive the WireGuard key: %s", agent_last_error());
			identity_proof_release(&reg->proof);
			r = -ENODEV;
			goto out_free;
		}
		reg->has_wg = true;
	}
	r = load_endpoint(reg, why, whysz);
	if (r < 0) {
		identity_proof_release(&reg->proof);
		identity_wg_release(&reg->wg);
		reg->has_wg = false;
		r = r == -EINVAL ? -EINVAL : -ENODEV;
		goto out_free;
	}
	reg->have_id = true;
	log_info("registrar: instance %02x%02x%02x%02x..., endpoint '%s'",
	    reg->proof.instance_id[0], reg->proof.instance_id[1], reg->proof.instance_id[2],
	    reg->proof.instance_id[3], reg->endpoint);
out_free:
	agent_free(a);
	return r;
}

/* ---- contract calls ----------------------------------------------------- */

/* A transport failure as the writer sees it. */
static int
rpc_errno(int r)
{
	switch (r) {
	case -ECONNREFUSED:
	case -ETIMEDOUT:
	case -EHOSTUNREACH:
	case -EPROTO:
	case -EIO:
	case -EMSGSIZE:
	case -EBADMSG:
		return -EHOSTUNREACH;
	default:
		return r;
	}
}

static int
call_view(struct registrar *reg, const uint8_t *data, size_t n, struct buf *out)
{
	struct rpc_call_msg m = { .to = reg->o.contract, .data = data, .data_len = n };

	return rpc_eth_call(reg->rpc, &m, RPC_AT_LATEST, out, NULL);
}

/* eth_call of calldata built by registry.h; the return data goes to ret. */
static int
call_data(struct registrar *reg, int built, struct buf *data, struct buf *ret)
{
	int r = built;

	buf_init(ret, REG_CALL_MAX);
	if (r == 0)
		r = call_view(reg, data->data, data->len, ret);
	buf_release(data);
	return r;
}

static int
call_u64(struct registrar *reg, enum registry_fn fn, const uint8_t *addr, uint64_t *ret)
{
	struct buf data, out;
	uint64_t v;
	int r;

	buf_init(&data, REGISTRY_CALLDATA_MAX);
	r = call_data(reg, addr ? registry_encode_call_address(fn, addr, &data) :
	    registry_encode_call(fn, &data), &data, &out);
	if (r == 0)
		r = registry_decode_u64(out.data, out.len, &v);
	buf_release(&out);
	if (r == 0)
		*ret = v;
	return r;
}

static int
call_bool(struct registrar *reg, enum registry_fn fn, const uint8_t addr[20], bool *ret)
{
	struct buf data, out;
	bool v;
	int r;

	buf_init(&data, REGISTRY_CALLDATA_MAX);
	r = call_data(reg, registry_encode_call_address(fn, addr, &data), &data, &out);
	if (r == 0)
		r = registry_decode_bool(out.data, out.len, &v);
	buf_release(&out);
	if (r == 0)
		*ret = v;
	return r;
}

static int
call_get_peer(struct registrar *reg, uint64_t token, struct registry_peer *ret)
{
	struct buf data, out;
	int r;

	buf_init(&data, REGISTRY_CALLDATA_MAX);
	r = call_data(reg, registry_encode_call_u64(REGISTRY_FN_GET_PEER, token, &data), &data, &out);
	if (r == 0)
		r = registry_decode_peer(out.data, out.len, ret);
	buf_release(&out);
	return r;
}

static void
slot_u64(uint64_t v, uint8_t slot[32])
{
	int i;

	memset(slot, 0, 32);
	for (i = 0; i < 8; i++)
		slot[31 - i] = (uint8_t)(v >> (8 * i));
}

/* Find the transaction that last registered token (for `register`). */
static void
find_registration_tx(struct registrar *reg, uint64_t token, uint8_t ret_tx[32], uint64_t *ret_block)
{
	uint8_t topics0[2][32], topic1[1][32];
	struct rpc_filter f;
	struct jsonrpc_logs logs = { 0 };

	registry_event_topic(REGISTRY_EV_PEER_REGISTERED, topics0[0]);
	registry_event_topic(REGISTRY_EV_PEER_UPDATED, topics0[1]);
	slot_u64(token, topic1[0]);
	memset(&f, 0, sizeof(f));
	f.addresses = (const uint8_t (*)[20])reg->o.contract;
	f.n_addresses = 1;
	f.topics[0] = (const uint8_t (*)[32])topics0;
	f.n_topic[0] = 2;
	f.topics[1] = (const uint8_t (*)[32])topic1;
	f.n_topic[1] = 1;
	f.n_topics = 2;
	f.from = (struct rpc_block_id){ RPC_EARLIEST, 0 };
	f.to = RPC_AT_LATEST;
	if (rpc_get_logs(reg->rpc, &f, &logs) == 0 && logs.n > 0) {
		memcpy(ret_tx, logs.v[logs.n - 1].tx_hash, 32);
		*ret_block = logs.v[logs.n - 1].block_number;
	}
	jsonrpc_logs_release(&logs);
}

/* Check the chain id once per connection.  op_lock held. */
static int
check_chain(struct registrar *reg, char *why, size_t whysz)
{
	uint64_t id;
	int r;

	if (reg->chain_checked)
		return 0;
	r = rpc_chain_id(reg->rpc, &id);
	if (r < 0) {
		rpc_last_error(reg->rpc, why, whysz);
		return rpc_errno(r);
	}
	if (reg->o.has_chain_id && id != reg->o.chain_id) {
		snprintf(why, whysz, "the RPC serves chain %llu, expected chain_id=%llu",
		    (unsigned long long)id, (unsigned long long)reg->o.chain_id);
		return -EPROTO;
	}
	reg->chain_id = id;
	reg->chain_checked = true;
	if (call_u64(reg, REGISTRY_FN_HEARTBEAT_TTL, NULL, &reg->ttl) < 0)
		reg->ttl = 0;
	return 0;
}

/*
 * Read this instance's registration from the chain.  Returns 1 registered
 * (with the same data when *ret_same), 0 not registered, -errno.
 */
static int
read_chain_state(struct registrar *reg, uint64_t *ret_token, bool *ret_same)
{
	struct registry_peer rec;
	uint64_t token;
	int r;

	r = call_u64(reg, REGISTRY_FN_TOKEN_OF, reg->proof.derived_addr, &token);
	if (r < 0)
		return rpc_errno(r);
	if (token == 0)
		return 0;
	r = call_get_peer(reg, token, &rec);
	if (r < 0)
		return rpc_errno(r);
	if (memcmp(rec.key, reg->proof.derived_addr, 20) != 0 ||
	    memcmp(rec.instance_id, reg->proof.instance_id, 20) != 0)
		return 0;	/* token held, no peer record */
	*ret_token = token;
	*ret_same = strcmp(rec.endpoint, reg->endpoint) == 0 &&
	    rec.net == (reg->o.mode == P2P_MODE_WIREGUARD ? REGISTRY_NET_WIREGUARD :
	    REGISTRY_NET_TLS_GATEWAY) &&
	    memcmp(rec.wg_pubkey, reg->has_wg ? reg->wg.pub : (const uint8_t[32]){ 0 }, 32) == 0;
	return 1;
}

/*
 * Wait until no transaction from this instance is pending (the node's
 * pending nonce equals its latest): a daemon killed after sending its
 * registration leaves it in the pool, and the state read before it is mined
 * would send a second one.  Returns 0 (none was pending), 1 (one was, now
 * mined), -ETIMEDOUT, -errno of the RPC.
 */
static int
wait_no_pending(struct registrar *reg, char *why, size_t whysz)
{
	uint64_t latest, pending, waited = 0;
	bool stop;
	int r;

	for (;;) {
		r = rpc_get_transaction_count(reg->rpc, reg->proof.derived_addr, RPC_AT_LATEST, &latest);
		if (r == 0)
			r = rpc_get_transaction_count(reg->rpc, reg->proof.derived_addr, RPC_AT_PENDING,
			    &pending);
		if (r < 0)
			return rpc_errno(r);
		if (pending <= latest)
			return waited > 0;
		pthread_mutex_lock(&reg->lock);
		stop = reg->stop;
		pthread_mutex_unlock(&reg->lock);
		if (waited >= REGISTRAR_RECEIPT_TIMEOUT_MS || stop)
			break;
		nanosleep(&(struct timespec){ 0, 250 * 1000000L }, NULL);
		waited += 250;
	}
	snprintf(why, whysz, "a transaction from this instance is still pending");
	return -ETIMEDOUT;
}

/* ---- transactions ------------------------------------------------------- */

int
registrar_error_errno(const char *signature, const char **ret_why)
{
	size_t i;

	for (i = 0; i < sizeof(reg_errors) / sizeof(reg_errors[0]); i++) {
		if (strcmp(reg_errors[i].sig, signature) == 0) {
			if (ret_why)
				*ret_why = reg_errors[i].why;
			return -reg_errors[i].err;
		}
	}
	return -EIO;
}

static bool
insufficient_funds(const char *msg)
{
	return strcasestr(msg, "insufficient funds") != NULL;
}

/* Name a refusal of the node: errno and reason.  Returns the negative errno. */
static int
revert_errno(const struct jsonrpc_error *je, char *why, size_t whysz)
{
	const char *sig, *text = NULL;
	char desc[TXSEND_ERROR_MAX];
	int r;

	if (je->has_data && registry_error_lookup(je->data, je->data_len, &sig) == 0) {
		r = registrar_error_errno(sig, &text);
		snprintf(why, whysz, "%s (%s)", text ? text : "the contract refused", sig);
		return r;
	}
	if (insufficient_funds(je->message)) {
		snprintf(why, whysz, "no funds for gas: %.200s", je->message);
		return -ENOSPC;
	}
	txsend_describe_error(je, desc, sizeof(desc));
	snprintf(why, whysz, "the node refused the transaction: %.200s", desc);
	return -EIO;
}

static bool
balance_below(const uint8_t bal[32], uint64_t need)
{
	uint64_t low = 0;
	int i;

	for (i = 0; i < 24; i++)
		if (bal[i])
			return false;
	for (i = 24; i < 32; i++)
		low = (low << 8) | bal[i];
	return low < need;
}

/* Map txsend_send()'s result onto the registrar's errors. */
static int
txsend_errno(int r, const struct txsend_result *res, char *why, size_t whysz)
{
	switch (r) {
	case 0:
		return 0;
	case -ECANCELED:
		snprintf(why, whysz, "the transaction reverted in block %llu: %.200s",
		    (unsigned long long)res->block_number, res->error);
		return -EIO;
	case -EREMOTEIO:
		if (insufficient_funds(res->error)) {
			snprintf(why, whysz, "no funds for gas: %.200s", res->error);
			return -ENOSPC;
		}
		snprintf(why, whysz, "the node refused the transaction: %.200s", res->error);
		return -EIO;
	case -ETIMEDOUT:
		snprintf(why, whysz, "no receipt before the deadline");
		return -ETIMEDOUT;
	case -EXDEV:
		snprintf(why, whysz, "the RPC serves another chain: %.200s", res->error);
		return -EPROTO;
	default:
		snprintf(why, whysz, "%.200s", res->error[0] ? res->error : strerror(-r));
		return rpc_errno(r);
	}
}

/*
 * Simulate, then send calldata to the contract from the derived key and wait
 * for its receipt.  Returns 0 with *res, or -errno with a reason in why.
 */
static int
send_tx(struct registrar *reg, const struct buf *data, uint64_t timeout_ms,
	struct txsend_result *res, char *why, size_t whysz)
{
	struct rpc_call_msg m = { .from = reg->proof.derived_addr, .to = reg->o.contract,
	    .data = data->data, .data_len = data->len };
	struct txsend_options to = { .chain_id = reg->chain_id, .poll_ms = REG_RECEIPT_POLL_MS };
	struct txsend_request req = { .to = reg->o.contract, .data = data->data,
	    .data_len = data->len, .timeout_ms = timeout_ms };
	struct jsonrpc_error je = { 0 };
	uint64_t gas;
	int r;

	r = rpc_estimate_gas(reg->rpc, &m, &gas, &je);
	if (r == -EREMOTEIO) {
		r = revert_errno(&je, why, whysz);
		jsonrpc_error_release(&je);
		return r;
	}
	if (r < 0) {
		rpc_last_error(reg->rpc, why, whysz);
		return rpc_errno(r);
	}
	if (gas > REG_GAS_MAX) {
		snprintf(why, whysz, "gas estimate %llu is above %d", (unsigned long long)gas, REG_GAS_MAX);
		return -EIO;
	}
	if (!reg->tx) {
		r = txsend_new(reg->rpc, reg->proof.derived_sk, &to, &reg->tx);
		if (r < 0) {
			snprintf(why, whysz, "cannot make the transaction sender: %s", strerror(-r));
			return r;
		}
	}
	r = txsend_send(reg->tx, &req, res);
	if (r < 0 && r != -ECANCELED) {
		/*
		 * The sender counts nonces locally; after a timeout or an outage
		 * the transaction may be lost (a node restarted without it), so
		 * the next one starts again from the node's pending count.
		 */
		txsend_free(reg->tx);
		reg->tx = NULL;
	}
	return txsend_errno(r, res, why, whysz);
}

static int
encode_register(struct registrar *reg, struct buf *out)
{
	struct registry_registration rr;

	memset(&rr, 0, sizeof(rr));
	memcpy(rr.instance_id, reg->proof.instance_id, 20);
	rr.endpoint = reg->endpoint;
	rr.endpoint_len = strlen(reg->endpoint);
	rr.net = reg->o.mode == P2P_MODE_WIREGUARD ? REGISTRY_NET_WIREGUARD : REGISTRY_NET_TLS_GATEWAY;
	if (reg->has_wg)
		memcpy(rr.wg_pubkey, reg->wg.pub, 32);
	memcpy(rr.proof.app_id, reg->proof.app_id, 20);
	memcpy(rr.proof.derived_pubkey, reg->proof.derived_pub + 1, REGISTRY_PUBKEY_LEN);
	memcpy(rr.proof.app_pubkey, reg->proof.app_pub + 1, REGISTRY_PUBKEY_LEN);
	memcpy(rr.proof.app_signature, reg->proof.app_sig, REGISTRY_SIG_LEN);
	memcpy(rr.proof.kms_signature, reg->proof.kms_sig, REGISTRY_SIG_LEN);
	return registry_encode_register_peer(&rr, out);
}

/* ---- operations (op_lock held) ------------------------------------------ */

/* heartbeat= or a third of the contract's TTL (well inside it). */
static uint64_t
heartbeat_interval(const struct registrar *reg)
{
	if (reg->o.heartbeat_ms)
		return reg->o.heartbeat_ms;
	if (reg->ttl)
		return reg->ttl * 1000 / 3 > 1000 ? reg->ttl * 1000 / 3 : 1000;
	return REGISTRAR_DEFAULT_HEARTBEAT_MS;
}

/* Identity and chain ready, registration state read.  op_lock held. */
static int
prepare(struct registrar *reg, char *why, size_t whysz)
{
	uint64_t token = 0, block = 0;
	uint8_t tx[32] = { 0 };
	bool same = false;
	int r;

	if (!reg->have_id) {
		r = load_identity(reg, why, whysz);
		render(reg);
		if (r < 0)
			return r;
	}
	r = check_chain(reg, why, whysz);
	if (r < 0)
		return r;
	if (reg->synced)
		return 0;
	r = read_chain_state(reg, &token, &same);
	if (r < 0) {
		rpc_last_error(reg->rpc, why, whysz);
		return r;
	}
	if (r == 1) {
		find_registration_tx(reg, token, tx, &block);
		set_registered(reg, token, tx, block);
		reg->next_heartbeat_ms = now_ms();	/* refresh liveness promptly */
		log_info("registrar: registered on chain as token %llu%s", (unsigned long long)token,
		    same ? "" : " (with other data; a register write updates it)");
	} else {
		/* a failure stays readable until the next request */
		pthread_mutex_lock(&reg->lock);
		if (reg->reg.state != SNAPSHOT_REG_FAILED)
			reg->reg.state = SNAPSHOT_REG_UNREGISTERED;
		reg->st.registered = false;
		pthread_mutex_unlock(&reg->lock);
	}
	reg->synced = true;
	render(reg);
	return 0;
}

static int
do_register(struct registrar *reg, char *why, size_t whysz)
{
	struct txsend_result res;
	uint64_t token = 0;
	bool same = false, trusted = false;
	struct buf data;
	int r;

	reg->synced = false;	/* re-read: the write asks for the truth */
	r = prepare(reg, why, whysz);
	if (r < 0)
		return r;
	r = wait_no_pending(reg, why, whysz);
	if (r == 1) {	/* the state read before it was mined is stale */
		reg->synced = false;
		r = prepare(reg, why, whysz);
	}
	if (r < 0)
		return r;
	r = read_chain_state(reg, &token, &same);
	if (r < 0)
		return r;
	if (r == 1 && same) {
		log_info("registrar: already registered as token %llu, nothing sent",
		    (unsigned long long)token);
		return 0;
	}
	r = call_bool(reg, REGISTRY_FN_IS_KMS_ROOT, reg->proof.kms_root, &trusted);
	if (r < 0)
		return rpc_errno(r);
	if (!trusted) {
		char root[43];

		ethkey_address_format(reg->proof.kms_root, root);
		snprintf(why, whysz, "the contract does not trust KMS root %s", root);
		return -EPERM;
	}
	set_state(reg, SNAPSHOT_REG_PENDING);
	render(reg);
	buf_init(&data, REGISTRY_CALLDATA_MAX);
	r = encode_register(reg, &data);
	if (r < 0)
		snprintf(why, whysz, "cannot encode the registration: %s", strerror(-r));
	if (r == 0) {
		pthread_mutex_lock(&reg->lock);
		reg->st.registrations_sent++;
		pthread_mutex_unlock(&reg->lock);
		r = send_tx(reg, &data, REGISTRAR_RECEIPT_TIMEOUT_MS, &res, why, whysz);
	}
	buf_release(&data);
	if (r < 0)
		return r;
	if (call_u64(reg, REGISTRY_FN_TOKEN_OF, reg->proof.derived_addr, &token) < 0)
		token = 0;
	set_registered(reg, token, res.tx_hash, res.block_number);
	log_info("registrar: registered as token %llu in block %llu", (unsigned long long)token,
	    (unsigned long long)res.block_number);
	reg->next_heartbeat_ms = now_ms() + heartbeat_interval(reg);
	return 0;
}

static int
do_leave(struct registrar *reg, char *why, size_t whysz)
{
	struct txsend_result res;
	uint64_t token = 0;
	bool same;
	struct buf data;
	int r;

	reg->synced = false;
	r = prepare(reg, why, whysz);
	if (r < 0)
		return r;
	r = read_chain_state(reg, &token, &same);
	if (r < 0)
		return r;
	if (r == 0) {
		set_state(reg, SNAPSHOT_REG_UNREGISTERED);
		return 0;
	}
	set_state(reg, SNAPSHOT_REG_LEAVING);
	render(reg);
	buf_init(&data, REGISTRY_CALLDATA_MAX);
	r = registry_encode_call(REGISTRY_FN_DEREGISTER_PEER, &data);
	if (r == 0)
		r = send_tx(reg, &data, REGISTRAR_RECEIPT_TIMEOUT_MS, &res, why, whysz);
	buf_release(&data);
	if (r < 0)
		return r;
	log_info("registrar: left the cluster in block %llu", (unsigned long long)res.block_number);
	set_state(reg, SNAPSHOT_REG_UNREGISTERED);
	return 0;
}

static uint64_t
heartbeat_timeout(const struct registrar *reg)
{
	uint64_t t = heartbeat_interval(reg);

	if (t < REGISTRAR_RETRY_MS)
		return REGISTRAR_RETRY_MS;
	return t < REGISTRAR_RECEIPT_TIMEOUT_MS ? t : REGISTRAR_RECEIPT_TIMEOUT_MS;
}

static void
do_heartbeat(struct registrar *reg)
{
	char why[REGISTRAR_REASON_MAX + 1] = "";
	struct txsend_result res;
	struct buf data;
	int r;

	buf_init(&data, REGISTRY_CALLDATA_MAX);
	r = registry_encode_call(REGISTRY_FN_UPDATE_HEARTBEAT, &data);
	/* a heartbeat stuck longer than its interval is late anyway: retry */
	if (r == 0)
		r = send_tx(reg, &data, heartbeat_timeout(reg), &res, why, sizeof(why));
	buf_release(&data);
	if (r == 0) {
		log_debug("registrar: heartbeat in block %llu", (unsigned long long)res.block_number);
		pthread_mutex_lock(&reg->lock);
		reg->st.heartbeats_sent++;
		pthread_mutex_unlock(&reg->lock);
		reg->next_heartbeat_ms = now_ms() + heartbeat_interval(reg);
		return;
	}
	if (r == -ENOENT) {
		/* deregistered or revoked behind our back */
		log_warnx("registrar: heartbeat refused, no longer registered");
		set_state(reg, SNAPSHOT_REG_UNREGISTERED);
		render(reg);
		return;
	}
	log_warnx("registrar: heartbeat failed: %s", why);
	if (r == -EHOSTUNREACH)
		reg->chain_checked = false;
	/* retry well inside the TTL: sooner than the next regular heartbeat */
	reg->next_heartbeat_ms = now_ms() + (heartbeat_interval(reg) / 2 < REGISTRAR_RETRY_MS ?
	    heartbeat_interval(reg) / 2 : REGISTRAR_RETRY_MS);
}

static void
check_balance(struct registrar *reg)
{
	uint64_t ttl;
	uint8_t bal[32];
	bool low;
	int r;

	r = rpc_get_balance(reg->rpc, reg->proof.derived_addr, RPC_AT_LATEST, bal);
	if (r < 0) {
		reg->next_balance_ms = now_ms() + REGISTRAR_RETRY_MS;
		return;
	}
	low = balance_below(bal, reg->o.low_balance_wei);
	pthread_mutex_lock(&reg->lock);
	if (low && !reg->st.low_balance)
		log_warnx("registrar: low balance: the key has less than %llu wei for gas",
		    (unsigned long long)reg->o.low_balance_wei);
	reg->st.have_balance = true;
	reg->st.low_balance = low;
	memcpy(reg->st.balance_be, bal, 32);
	pthread_mutex_unlock(&reg->lock);
	reg->next_balance_ms = now_ms() + REG_BALANCE_EVERY_MS;
	/* the owner may change the TTL: keep the heartbeat well inside it */
	if (call_u64(reg, REGISTRY_FN_HEARTBEAT_TTL, NULL, &ttl) == 0 && ttl != reg->ttl) {
		reg->ttl = ttl;
		if (reg->next_heartbeat_ms > now_ms() + heartbeat_interval(reg))
			reg->next_heartbeat_ms = now_ms() + heartbeat_interval(reg);
	}
	if (reg->hooks.balance)
		reg->hooks.balance(reg->hooks.arg, low);
}

/* One round of background work.  Returns the ms until the next. */
static uint64_t
tick(struct registrar *reg)
{
	char why[REGISTRAR_REASON_MAX + 1] = "";
	uint64_t now, next;
	bool registered;
	int r;

	pthread_mutex_lock(&reg->op_lock);
	now = now_ms();
	if (!reg->have_id && now < reg->next_identity_ms) {
		pthread_mutex_unlock(&reg->op_lock);
		return reg->next_identity_ms - now;
	}
	r = prepare(reg, why, sizeof(why));
	if (r < 0) {
		if (!reg->have_id)
			reg->next_identity_ms = now + REGISTRAR_RETRY_MS;
		log_warnx("registrar: %s", why[0] ? why : strerror(-r));
		pthread_mutex_unlock(&reg->op_lock);
		return REGISTRAR_RETRY_MS;
	}
	if (now_ms() >= reg->next_balance_ms)
		check_balance(reg);
	pthread_mutex_lock(&reg->lock);
	registered = reg->reg.state == SNAPSHOT_REG_REGISTERED;
	pthread_mutex_unlock(&reg->lock);
	if (registered && now_ms() >= reg->next_heartbeat_ms)
		do_heartbeat(reg);
	now = now_ms();
	next = reg->next_balance_ms;
	if (registered && reg->next_heartbeat_ms < next)
		next = reg->next_heartbeat_ms;
	pthread_mutex_unlock(&reg->op_lock);
	return next > now ? next - now : 0;
}

static void *
registrar_main(void *arg)
{
	struct registrar *reg = arg;
	struct timespec ts;
	uint64_t wait;

	pthread_mutex_lock(&reg->lock);
	while (!reg->stop) {
		pthread_mutex_unlock(&reg->lock);
		wait = tick(reg);
		if (wait > REGISTRAR_RETRY_MS)
			wait = REGISTRAR_RETRY_MS;	/* re-check registration state changes */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(wait / 1000);
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&reg->lock);
		if (!reg->stop)
			pthread_cond_timedwait(&reg->cond, &reg->lock, &ts);
	}
	pthread_mutex_unlock(&reg->lock);
	return NULL;
}

/* ---- public ------------------------------------------------------------- */

int
registrar_new(const struct options *o, struct fs *fs, const struct registrar_hooks *hooks,
	      struct registrar **ret)
{
	const char *urls[OPTIONS_RPC_MAX];
	struct rpc_options ro = { 0 };
	pthread_condattr_t ca;
	struct registrar *reg;
	size_t i;
	int r;

	if (!o || !fs || o->nrpc == 0 || o->nrpc > OPTIONS_RPC_MAX)
		return -EINVAL;
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	reg->o = *o;
	reg->fs = fs;
	if (hooks)
		reg->hooks = *hooks;
	for (i = 0; i < o->nrpc; i++)
		urls[i] = reg->o.rpc[i];
	ro.timeout_ms = (long)o->rpc_timeout_ms;
	r = rpc_new(urls, o->nrpc, &ro, &reg->rpc);
	if (r < 0) {
		free(reg);
		return r;
	}
	pthread_mutex_init(&reg->op_lock, NULL);
	pthread_mutex_init(&reg->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&reg->cond, &ca);
	pthread_condattr_destroy(&ca);
	reg->reg.state = SNAPSHOT_REG_UNREGISTERED;
	*ret = reg;
	return 0;
}

int
registrar_start(struct registrar *reg)
{
	int r;

	pthread_mutex_lock(&reg->op_lock);
	render(reg);
	pthread_mutex_unlock(&reg->op_lock);
	r = pthread_create(&reg->thread, NULL, registrar_main, reg);
	if (r != 0)
		return -r;
	reg->started = true;
	return 0;
}

int
registrar_request(struct registrar *reg, enum registrar_op op)
{
	char why[REGISTRAR_REASON_MAX + 1] = "";
	int r;

	pthread_mutex_lock(&reg->op_lock);
	log_info("registrar: %s requested", op == REGISTRAR_LEAVE ? "leave" : "register");
	r = op == REGISTRAR_LEAVE ? do_leave(reg, why, sizeof(why)) :
	    do_register(reg, why, sizeof(why));
	if (r < 0) {
		if (!why[0])
			snprintf(why, sizeof(why), "%s", strerror(-r));
		if (r == -EHOSTUNREACH)
			reg->chain_checked = false;
		set_failed(reg, -r, why);
		/* the chain may still hold us: re-read in the background */
		reg->synced = false;
		log_warnx("registrar: %s failed: %s", op == REGISTRAR_LEAVE ? "leave" : "register", why);
	}
	render(reg);
	if (r == 0)
		reg->next_balance_ms = 0;	/* gas was spent */
	pthread_mutex_unlock(&reg->op_lock);
	if (reg->hooks.changed)
		reg->hooks.changed(reg->hooks.arg);
	pthread_mutex_lock(&reg->lock);
	pthread_cond_signal(&reg->cond);	/* heartbeat schedule may have changed */
	pthread_mutex_unlock(&reg->lock);
	return r;
}

int
registrar_fs_request(void *arg, enum fs_reg_op op)
{
	return registrar_request(arg, op == FS_REG_LEAVE ? REGISTRAR_LEAVE : REGISTRAR_REGISTER);
}

void
registrar_get_status(struct registrar *reg, struct registrar_status *ret)
{
	pthread_mutex_lock(&reg->lock);
	*ret = reg->st;
	pthread_mutex_unlock(&reg->lock);
}

int
registrar_wg_self(struct registrar *reg, struct identity_wg *ret_key, uint64_t *ret_token)
{
	struct registrar_status st;
	struct identity_wg w;
	bool have;

	if (reg->o.mode != P2P_MODE_WIREGUARD)
		return -EINVAL;
	/* the key is guarded by op_lock, which a chain operation may hold for long */
	if (pthread_mutex_trylock(&reg->op_lock) != 0)
		return -EAGAIN;
	have = reg->have_id && reg->has_wg;
	if (have)
		w = reg->wg;
	pthread_mutex_unlock(&reg->op_lock);
	if (!have)
		return -EAGAIN;
	registrar_get_status(reg, &st);
	if (!st.registered || st.token_id == 0) {
		identity_wg_release(&w);
		return -EAGAIN;
	}
	*ret_key = w;
	*ret_token = st.token_id;
	identity_wg_release(&w);
	return 0;
}

void
registrar_stop(struct registrar *reg)
{
	if (!reg || !reg->started)
		return;
	pthread_mutex_lock(&reg->lock);
	reg->stop = true;
	pthread_cond_signal(&reg->cond);
	pthread_mutex_unlock(&reg->lock);
	pthread_join(reg->thread, NULL);
	reg->started = false;
}

void
registrar_free(struct registrar *reg)
{
	if (!reg)
		return;
	registrar_stop(reg);
	identity_proof_release(&reg->proof);
	identity_wg_release(&reg->wg);
	txsend_free(reg->tx);
	rpc_free(reg->rpc);
	pthread_cond_destroy(&reg->cond);
	pthread_mutex_destroy(&reg->lock);
	pthread_mutex_destroy(&reg->op_lock);
	free(reg);
}
