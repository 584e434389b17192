/*
 * registry: calldata, return data and event logs of DstackP2PMembership.
 * The signature strings here are the contract's ABI; test_registry.c checks
 * them against contracts/out/.
 */
#include "registry.h"

#include <errno.h>
#include <string.h>

#include "abi.h"
#include "endpoint.h"

_Static_assert(REGISTRY_ENDPOINT_MAX == ENDPOINT_MAX, "endpoint caps differ");

enum arg_kind {
	ARG_NONE,
	ARG_U256,
	ARG_ADDRESS,
	ARG_BYTES20,
	ARG_BYTES32,
	ARG_OWN,	/* has its own encoder */
};

static const struct {
	const char *sig;
	enum arg_kind arg;
} fns[REGISTRY_FN_COUNT] = {
	[REGISTRY_FN_REGISTER_PEER] = {
		"registerPeer(bytes20,string,uint8,bytes32,bytes20,bytes,bytes,bytes,bytes)", ARG_OWN },
	[REGISTRY_FN_UPDATE_HEARTBEAT] = { "updateHeartbeat()", ARG_NONE },
	[REGISTRY_FN_DEREGISTER_PEER] = { "deregisterPeer()", ARG_NONE },
	[REGISTRY_FN_ENROLL] = { "enroll(bytes20,bytes,bytes,bytes,bytes)", ARG_OWN },
	[REGISTRY_FN_GET_PEERS] = { "getPeers(uint256,uint256)", ARG_OWN },
	[REGISTRY_FN_GET_PEER] = { "getPeer(uint256)", ARG_U256 },
	[REGISTRY_FN_GET_PEER_ENDPOINTS] = { "getPeerEndpoints()", ARG_NONE },
	[REGISTRY_FN_GET_LEADER] = { "getLeader()", ARG_NONE },
	[REGISTRY_FN_IS_LIVE] = { "isLive(uint256)", ARG_U256 },
	[REGISTRY_FN_TOKEN_OF] = { "tokenOf(address)", ARG_ADDRESS },
	[REGISTRY_FN_TOKEN_OF_INSTANCE] = { "tokenOfInstance(bytes20)", ARG_BYTES20 },
	[REGISTRY_FN_TOKEN_OF_WG_KEY] = { "tokenOfWgKey(bytes32)", ARG_BYTES32 },
	[REGISTRY_FN_MEMBERSHIP_VERSION] = { "membershipVersion()", ARG_NONE },
	[REGISTRY_FN_LAST_CHANGE_BLOCK] = { "lastChangeBlock()", ARG_NONE },
	[REGISTRY_FN_HEARTBEAT_TTL] = { "heartbeatTTL()", ARG_NONE },
	[REGISTRY_FN_LAST_TOKEN_ID] = { "lastTokenId()", ARG_NONE },
	[REGISTRY_FN_IS_KMS_ROOT] = { "isKmsRoot(address)", ARG_ADDRESS },
	[REGISTRY_FN_IS_ALLOWED_APP] = { "isAllowedApp(bytes20)", ARG_BYTES20 },
	[REGISTRY_FN_OPEN_ENROLLMENT] = { "openEnrollment()", ARG_NONE },
};

/* Topic layout of each event: what topics 1..3 hold. */
enum topic_kind {
	T_NONE,
	T_TOKEN,
	T_KEY,
	T_INSTANCE,
	T_APP,
	T_FROM,
	T_TO,
};

static const struct {
	const char *sig;
	enum topic_kind topics[3];
	size_t ntopics;		/* including topic 0 */
} evs[REGISTRY_EV_COUNT] = {
	[REGISTRY_EV_PEER_REGISTERED] = { "PeerRegistered(uint256,address,bytes20,uint8,bytes32,string)",
					  { T_TOKEN, T_KEY, T_INSTANCE }, 4 },
	[REGISTRY_EV_PEER_UPDATED] = { "PeerUpdated(uint256,address,bytes20,uint8,bytes32,string)",
				       { T_TOKEN, T_KEY, T_INSTANCE }, 4 },
	[REGISTRY_EV_HEARTBEAT] = { "Heartbeat(uint256,address,uint64)", { T_TOKEN, T_KEY, T_NONE }, 3 },
	[REGISTRY_EV_PEER_DEREGISTERED] = { "PeerDeregistered(uint256,address,bytes20)",
					    { T_TOKEN, T_KEY, T_INSTANCE }, 4 },
	[REGISTRY_EV_PEER_REVOKED] = { "PeerRevoked(uint256,address,bytes20)",
				       { T_TOKEN, T_KEY, T_INSTANCE }, 4 },
	[REGISTRY_EV_HEARTBEAT_TTL_SET] = { "HeartbeatTTLSet(uint64)", { T_NONE, T_NONE, T_NONE }, 1 },
	[REGISTRY_EV_MEMBER_ENROLLED] = { "MemberEnrolled(uint256,address,bytes20)",
					  { T_TOKEN, T_KEY, T_APP }, 4 },
	[REGISTRY_EV_TRANSFER] = { "Transfer(address,address,uint256)", { T_FROM, T_TO, T_TOKEN }, 4 },
};

static const char *const errors[] = {
	"NonTransferable()",
	"AlreadyMember(address)",
	"NotMember(address)",
	"EnrollmentClosed()",
	"MemberCapReached(uint32)",
	"BadKeyLength()",
	"BadSignature()",
	"AppNotAllowed(bytes20)",
	"AppKeyMismatch(address,address)",
	"UntrustedKms(address)",
	"CallerNotDerivedKey(address,address)",
	"NotRegistered(address)",
	"ZeroInstanceId()",
	"InstanceTaken(bytes20,uint256)",
	"KeyBoundToOtherInstance(bytes20)",
	"BadEndpoint()",
	"BadWgKey()",
	"WgKeyTaken(uint256)",
	"BadTTL()",
	"BadInstanceString()",
	"OwnableUnauthorizedAccount(address)",
	"ERC721NonexistentToken(uint256)",
};

const char *registry_fn_signature(enum registry_fn fn)
{
	if ((unsigned int)fn >= REGISTRY_FN_COUNT)
		return NULL;
	return fns[fn].sig;
}

int registry_selector(enum registry_fn fn, uint8_t ret[4])
{
	if ((unsigned int)fn >= REGISTRY_FN_COUNT)
		return -EINVAL;
	abi_selector(fns[fn].sig, ret);
	return 0;
}

const char *registry_event_signature(enum registry_ev ev)
{
	if ((unsigned int)ev >= REGISTRY_EV_COUNT)
		return NULL;
	return evs[ev].sig;
}

int registry_event_topic(enum registry_ev ev, uint8_t ret[32])
{
	if ((unsigned int)ev >= REGISTRY_EV_COUNT)
		return -EINVAL;
	abi_topic(evs[ev].sig, ret);
	return 0;
}

size_t registry_error_count(void)
{
	return sizeof(errors) / sizeof(errors[0]);
}

const char *registry_error_signature(size_t i)
{
	return i < registry_error_count() ? errors[i] : NULL;
}

int registry_error_lookup(const uint8_t *data, size_t len, const char **ret_signature)
{
	uint8_t sel[4];
	size_t i;

	if (len < 4)
		return -EBADMSG;
	for (i = 0; i < registry_error_count(); i++) {
		abi_selector(errors[i], sel);
		if (memcmp(sel, data, 4) == 0) {
			*ret_signature = errors[i];
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- calldata ---------------------------------------------------------- */

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n--)
		acc |= *p++;
	return acc == 0;
}

/* The contract's rule for the (network type, WireGuard key) pair. */
static bool net_key_ok(enum registry_net net, const uint8_t wg[32])
{
	if (net == REGISTRY_NET_TLS_GATEWAY)
		return all_zero(wg, 32);
	if (net == REGISTRY_NET_WIREGUARD)
		return !all_zero(wg, 32);
	return false;
}

static void push_proof_tail(struct abi_enc *e, const struct registry_proof *p)
{
	abi_enc_bytes(e, p->derived_pubkey, sizeof(p->derived_pubkey));
	abi_enc_bytes(e, p->app_pubkey, sizeof(p->app_pubkey));
	abi_enc_bytes(e, p->app_signature, sizeof(p->app_signature));
	abi_enc_bytes(e, p->kms_signature, sizeof(p->kms_signature));
}

/* Finish e into out under the calldata cap; out is unchanged on failure. */
static int finish(struct abi_enc *e, enum registry_fn fn, struct buf *out)
{
	uint8_t sel[4];
	struct buf tmp;
	int r;

	abi_selector(fns[fn].sig, sel);
	buf_init(&tmp, REGISTRY_CALLDATA_MAX);
	r = abi_enc_finish(e, sel, &tmp);
	if (r >= 0)
		r = buf_append(out, tmp.data, tmp.len);
	buf_release(&tmp);
	abi_enc_release(e);
	return r;
}

int registry_encode_register_peer(const struct registry_registration *r, struct buf *out)
{
	struct abi_enc e;

	if (!r->endpoint || !endpoint_charset_ok(r->endpoint, r->endpoint_len) ||
	    !net_key_ok(r->net, r->wg_pubkey))
		return -EINVAL;
	abi_enc_init(&e, REGISTRY_CALLDATA_MAX);
	abi_enc_bytesN(&e, r->instance_id, 20);
	abi_enc_string(&e, r->endpoint, r->endpoint_len);
	abi_enc_uint64(&e, (uint64_t)r->net);
	abi_enc_bytes32(&e, r->wg_pubkey);
	abi_enc_bytesN(&e, r->proof.app_id, 20);
	push_proof_tail(&e, &r->proof);
	return finish(&e, REGISTRY_FN_REGISTER_PEER, out);
}

int registry_encode_enroll(const struct registry_proof *p, struct buf *out)
{
	struct abi_enc e;

	abi_enc_init(&e, REGISTRY_CALLDATA_MAX);
	abi_enc_bytesN(&e, p->app_id, 20);
	push_proof_tail(&e, p);
	return finish(&e, REGISTRY_FN_ENROLL, out);
}

int registry_encode_get_peers(uint64_t start, uint64_t limit, struct buf *out)
{
	struct abi_enc e;

	abi_enc_init(&e, REGISTRY_CALLDATA_MAX);
	abi_enc_uint64(&e, start);
	abi_enc_uint64(&e, limit);
	return finish(&e, REGISTRY_FN_GET_PEERS, out);
}

static bool takes(enum registry_fn fn, enum arg_kind arg)
{
	return (unsigned int)fn < REGISTRY_FN_COUNT && fns[fn].arg == arg;
}

int registry_encode_call(enum registry_fn fn, struct buf *out)
{
	struct abi_enc e;

	if (!takes(fn, ARG_NONE))
		return -EINVAL;
	abi_enc_init(&e, REGISTRY_CALLDATA_MAX);
	return finish(&e, fn, out);
}

int registry_encode_call_u64(enum registry_fn fn, uint64_t arg, struct buf *out)
{
	struct abi_enc e;

	if (!takes(fn, ARG_U256))
		return -EINVAL;
	abi_enc_init(&e, REGISTRY_CALLDATA_MAX);
	abi_enc_uint64(&e, arg);
	return finish(&e, fn, out);
}

int registry_encode_call_address(enum registry_fn fn, const uint8_t addr[20], struct buf *out)
{
	struct abi_enc e;

	if (!takes(fn, ARG_ADDRESS))
		return -EINVAL;
	abi_enc_init(&e, REGISTRY_CALLDATA_MAX);
	abi_enc_address(&e, addr);
	return finish(&e, fn, out);
}

int registry_encode_call_fixed(enum registry_fn fn, const uint8_t *v, size_t n, struct buf *out)
{
	struct abi_enc e;

	if (!((n == 20 && takes(fn, ARG_BYTES20)) || (n == 32 && takes(fn, ARG_BYTES32))))
		return -EINVAL;
	abi_enc_init(&e, REGISTRY_CALLDATA_MAX);
	abi_enc_bytesN(&e, v, n);
	return finish(&e, fn, out);
}

/* ---- decoding ---------------------------------------------------------- */

static int dec_net(struct abi_dec *d, enum registry_net *ret)
{
	uint64_t v;
	int r;

	r = abi_dec_uint64(d, &v);
	if (r < 0)
		return r == -ERANGE ? -EBADMSG : r;
	if (v > REGISTRY_NET_WIREGUARD)
		return -EBADMSG;
	*ret = (enum registry_net)v;
	return 0;
}

/*
 * Read a string into out (cap REGISTRY_ENDPOINT_MAX).  An empty string is
 * accepted only when allow_empty; anything else must be in the safe set.
 */
static int dec_endpoint(struct abi_dec *d, bool allow_empty, char out[REGISTRY_ENDPOINT_MAX + 1],
			size_t *ret_len)
{
	const char *s;
	size_t n;
	int r;

	r = abi_dec_string(d, REGISTRY_ENDPOINT_MAX, &s, &n);
	if (r < 0)
		return r;
	if (n == 0 ? !allow_empty : !endpoint_charset_ok(s, n))
		return -EBADMSG;
	memcpy(out, s, n);
	out[n] = '\0';
	*ret_len = n;
	return 0;
}

int registry_decode_u64(const uint8_t *data, size_t len, uint64_t *ret)
{
	struct abi_dec d;

	abi_dec_init(&d, data, len);
	return abi_dec_uint64(&d, ret);
}

int registry_decode_bool(const uint8_t *data, size_t len, bool *ret)
{
	struct abi_dec d;

	abi_dec_init(&d, data, len);
	return abi_dec_bool(&d, ret);
}

/* One PeerRecord tuple; registered: the record must be a registered peer. */
static int dec_record(struct abi_dec *rec, bool must_be_registered, struct registry_peer *p)
{
	bool registered;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = abi_dec_uint64(rec, &p->token_id)) < 0 ||
	    (r = abi_dec_address(rec, p->key)) < 0 ||
	    (r = abi_dec_bytesN(rec, 20, p->instance_id)) < 0 ||
	    (r = dec_net(rec, &p->net)) < 0 ||
	    (r = abi_dec_uint64(rec, &p->last_heartbeat)) < 0 ||
	    (r = abi_dec_bool(rec, &p->live)) < 0 ||
	    (r = abi_dec_bytes32(rec, p->wg_pubkey)) < 0)
		return r;
	registered = !all_zero(p->instance_id, 20);
	if (must_be_registered && !registered)
		return -EBADMSG;
	if (registered && (all_zero(p->key, 20) || !net_key_ok(p->net, p->wg_pubkey)))
		return -EBADMSG;
	r = dec_endpoint(rec, !registered, p->endpoint, &p->endpoint_len);
	if (r < 0)
		return r;
	if (!registered && (p->endpoint_len != 0 || p->live))
		return -EBADMSG;
	return 0;
}

int registry_decode_peer(const uint8_t *data, size_t len, struct registry_peer *ret)
{
	struct abi_dec d, rec;
	struct registry_peer p;
	int r;

	abi_dec_init(&d, data, len);
	r = abi_dec_enter_tuple(&d, &rec);
	if (r < 0)
		return r;
	r = dec_record(&rec, false, &p);
	if (r < 0)
		return r;
	*ret = p;
	return 0;
}

int registry_decode_peers_page(const uint8_t *data, size_t len, struct registry_peer *out,
			       size_t cap, size_t *ret_n, uint64_t *ret_next)
{
	struct abi_dec d, arr, rec;
	size_t count, i;
	uint64_t next;
	int r;

	abi_dec_init(&d, data, len);
	r = abi_dec_enter_array(&d, REGISTRY_PAGE_MAX, &arr, &count);
	if (r < 0)
		return r;
	if (count > cap)
		return -E2BIG;
	for (i = 0; i < count; i++) {
		r = abi_dec_enter_tuple(&arr, &rec);
		if (r < 0)
			return r;
		r = dec_record(&rec, true, &out[i]);
		if (r < 0)
			return r;
		/* the contract lists token ids in increasing order */
		if (i > 0 && out[i].token_id <= out[i - 1].token_id)
			return -EBADMSG;
	}
	r = abi_dec_uint64(&d, &next);
	if (r < 0)
		return r;
	if (next != 0 && count > 0 && next <= out[count - 1].token_id)
		return -EBADMSG;
	*ret_n = count;
	*ret_next = next;
	return 0;
}

int registry_decode_endpoints(const uint8_t *data, size_t len, struct registry_endpoint *out,
			      size_t cap, size_t *ret_n)
{
	struct abi_dec d, arr;
	size_t count, i;
	int r;

	abi_dec_init(&d, data, len);
	r = abi_dec_enter_array(&d, cap, &arr, &count);
	if (r < 0)
		return r;
	for (i = 0; i < count; i++) {
		r = dec_endpoint(&arr, false, out[i].s, &out[i].len);
		if (r < 0)
			return r;
	}
	*ret_n = count;
	return 0;
}

/* ---- events ------------------------------------------------------------ */

static int dec_topic(const uint8_t topic[32], enum topic_kind kind, struct registry_event *ev)
{
	struct abi_dec t;

	abi_dec_init(&t, topic, 32);
	switch (kind) {
	case T_TOKEN:
		return abi_dec_uint64(&t, &ev->token_id);
	case T_KEY:
		return abi_dec_address(&t, ev->key);
	case T_INSTANCE:
		return abi_dec_bytesN(&t, 20, ev->instance_id);
	case T_APP:
		return abi_dec_bytesN(&t, 20, ev->app_id);
	case T_FROM:
		return abi_dec_address(&t, ev->from);
	case T_TO:
		return abi_dec_address(&t, ev->to);
	case T_NONE:
		break;
	}
	return 0;
}

/* The non-indexed part (log data) of ev->kind. */
static int dec_data(struct abi_dec *d, struct registry_event *ev)
{
	int r;

	switch (ev->kind) {
	case REGISTRY_EV_PEER_REGISTERED:
	case REGISTRY_EV_PEER_UPDATED:
		if ((r = dec_net(d, &ev->net)) < 0 ||
		    (r = abi_dec_bytes32(d, ev->wg_pubkey)) < 0 ||
		    (r = dec_endpoint(d, false, ev->endpoint, &ev->endpoint_len)) < 0)
			return r;
		if (!net_key_ok(ev->net, ev->wg_pubkey) || all_zero(ev->instance_id, 20))
			return -EBADMSG;
		return 0;
	case REGISTRY_EV_HEARTBEAT:
		return abi_dec_uint64(d, &ev->timestamp);
	case REGISTRY_EV_HEARTBEAT_TTL_SET:
		return abi_dec_uint64(d, &ev->ttl);
	case REGISTRY_EV_PEER_DEREGISTERED:
		return all_zero(ev->instance_id, 20) ? -EBADMSG : 0;
	default:
		return 0;
	}
}

int registry_decode_event(const uint8_t (*topics)[32], size_t ntopics, const uint8_t *data,
			  size_t len, struct registry_event *ret)
{
	struct registry_event ev;
	struct abi_dec d;
	uint8_t t0[32];
	size_t k, i;
	int r;

	if (ntopics == 0)
		return -ENOENT;
	for (k = 0; k < REGISTRY_EV_COUNT; k++) {
		abi_topic(evs[k].sig, t0);
		if (memcmp(t0, topics[0], 32) == 0)
			break;
	}
	if (k == REGISTRY_EV_COUNT)
		return -ENOENT;
	if (ntopics != evs[k].ntopics)
		return -EBADMSG;
	memset(&ev, 0, sizeof(ev));
	ev.kind = (enum registry_ev)k;
	for (i = 1; i < ntopics; i++) {
		r = dec_topic(topics[i], evs[k].topics[i - 1], &ev);
		if (r < 0)
			return r;
	}
	abi_dec_init(&d, data, len);
	r = dec_data(&d, &ev);
	if (r < 0)
		return r;
	*ret = ev;
	return 0;
}
