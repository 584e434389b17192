#include "abi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "keccak.h"

void
abi_selector(const char *signature, uint8_t ret[4])
{
	uint8_t h[32];

	keccak256(signature, strlen(signature), h);
	memcpy(ret, h, 4);
}

void
abi_topic(const char *signature, uint8_t ret[32])
{
	keccak256(signature, strlen(signature), ret);
}

/* ---- encoder ---------------------------------------------------------- */

static void
put_be64(uint8_t slot[32], uint64_t v)
{
	int i;

	memset(slot, 0, 32);
	for (i = 31; i >= 24; i--) {
		slot[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
frame_init(struct abi_enc_frame *f, size_t max, bool is_array)
{
	buf_init(&f->head, max);
	buf_init(&f->tail, max);
	buf_init(&f->ptrs, max);
	f->count = 0;
	f->dynamic = is_array;
	f->is_array = is_array;
}

static void
frame_release(struct abi_enc_frame *f)
{
	buf_release(&f->head);
	buf_release(&f->tail);
	buf_release(&f->ptrs);
}

void
abi_enc_init(struct abi_enc *e, size_t max)
{
	size_t i;

	for (i = 0; i < ABI_DEPTH_MAX; i++)
		frame_init(&e->frames[i], max, false);
	e->depth = 1;
	e->max = max;
	e->err = 0;
}

void
abi_enc_release(struct abi_enc *e)
{
	size_t i;

	for (i = 0; i < ABI_DEPTH_MAX; i++)
		frame_release(&e->frames[i]);
	e->depth = 1;
}

static struct abi_enc_frame *
enc_top(struct abi_enc *e)
{
	return &e->frames[e->depth - 1];
}

/* Remember the first error; the encoder refuses everything after it. */
static int
enc_fail(struct abi_enc *e, int r)
{
	if (!e->err)
		e->err = r;
	return e->err;
}

static int
enc_slot(struct abi_enc *e, const uint8_t slot[32])
{
	struct abi_enc_frame *f = enc_top(e);
	int r;

	if (e->err)
		return e->err;
	r = buf_append(&f->head, slot, 32);
	if (r < 0)
		return enc_fail(e, r);
	f->count++;
	return 0;
}

/*
 * Start a dynamic member of the innermost frame: a head slot that, until the
 * frame is closed, holds the member's offset inside the tail.  The caller
 * then appends the member's encoding to the tail.
 */
static int
enc_dyn_begin(struct abi_enc *e)
{
	struct abi_enc_frame *f = enc_top(e);
	uint8_t slot[32];
	size_t pos = f->head.len;
	int r;

	if (e->err)
		return e->err;
	put_be64(slot, f->tail.len);
	r = buf_append(&f->head, slot, 32);
	if (r >= 0)
		r = buf_append(&f->ptrs, &pos, sizeof(pos));
	if (r < 0)
		return enc_fail(e, r);
	f->dynamic = true;
	f->count++;
	return 0;
}

/* Append p[0..n) to the innermost tail, zero-padded to a slot boundary when pad. */
static int
enc_tail(struct abi_enc *e, const void *p, size_t n, bool pad)
{
	static const uint8_t zero[32];
	struct buf *t = &enc_top(e)->tail;
	int r;

	r = buf_append(t, p, n);
	if (r >= 0 && pad && n % 32)
		r = buf_append(t, zero, 32 - n % 32);
	if (r < 0)
		return enc_fail(e, r);
	return 0;
}

int
abi_enc_uint64(struct abi_enc *e, uint64_t v)
{
	uint8_t slot[32];

	put_be64(slot, v);
	return enc_slot(e, slot);
}

int
abi_enc_int64(struct abi_enc *e, int64_t v)
{
	uint8_t slot[32];

	put_be64(slot, (uint64_t)v);
	if (v < 0)
		memset(slot, 0xff, 24);
	return enc_slot(e, slot);
}

int
abi_enc_u256(struct abi_enc *e, const uint8_t v_be[32])
{
	return enc_slot(e, v_be);
}

int
abi_enc_address(struct abi_enc *e, const uint8_t addr[20])
{
	uint8_t slot[32] = { 0 };

	memcpy(slot + 12, addr, 20);
	return enc_slot(e, slot);
}

int
abi_enc_bool(struct abi_enc *e, bool v)
{
	return abi_enc_uint64(e, v ? 1 : 0);
}

int
abi_enc_bytes32(struct abi_enc *e, const uint8_t v[32])
{
	return enc_slot(e, v);
}

int
abi_enc_bytesN(struct abi_enc *e, const uint8_t *p, size_t n)
{
	uint8_t slot[32] = { 0 };

	if (n < 1 || n > 32)
		return enc_fail(e, -EINVAL);
	memcpy(slot, p, n);
	return enc_slot(e, slot);
}

int
abi_enc_bytes(struct abi_enc *e, const uint8_t *p, size_t n)
{
	uint8_t len[32];
	int r;

	r = enc_dyn_begin(e);
	if (r < 0)
		return r;
	put_be64(len, n);
	r = enc_tail(e, len, 32, false);
	if (r < 0)
		return r;
	return enc_tail(e, p, n, true);
}

int
abi_enc_string(struct abi_enc *e, const char *s, size_t n)
{
	return abi_enc_bytes(e, (const uint8_t *)s, n);
}

static int
enc_begin(struct abi_enc *e, bool is_array)
{
	if (e->err)
		return e->err;
	if (e->depth >= ABI_DEPTH_MAX)
		return enc_fail(e, -E2BIG);
	e->depth++;
	frame_release(enc_top(e));
	frame_init(enc_top(e), e->max, is_array);
	return 0;
}

int
abi_enc_tuple_begin(struct abi_enc *e)
{
	return enc_begin(e, false);
}

int
abi_enc_fixed_array_begin(struct abi_enc *e)
{
	return enc_begin(e, false);
}

int
abi_enc_array_begin(struct abi_enc *e)
{
	return enc_begin(e, true);
}

/*
 * Turn the tail-relative offsets in f's head into offsets from the start of
 * the frame's encoding (head then tail), and check the total against the cap.
 */
static int
frame_resolve(struct abi_enc_frame *f, size_t max)
{
	size_t i, pos, total;
	uint8_t *slot;

	total = f->head.len + f->tail.len + (f->is_array ? 32 : 0);
	if (f->head.len > max || total > max || total < f->head.len)
		return -E2BIG;
	for (i = 0; i < f->ptrs.len / sizeof(size_t); i++) {
		memcpy(&pos, f->ptrs.data + i * sizeof(size_t), sizeof(pos));
		slot = f->head.data + pos;
		put_be64(slot, get_be64(slot + 24) + f->head.len);
	}
	return 0;
}

int
abi_enc_end(struct abi_enc *e)
{
	struct abi_enc_frame *child;
	uint8_t count[32];
	int r;

	if (e->err)
		return e->err;
	if (e->depth <= 1)
		return enc_fail(e, -EINVAL);
	child = enc_top(e);
	r = frame_resolve(child, e->max);
	if (r < 0)
		return enc_fail(e, r);
	e->depth--;
	if (!child->dynamic) {
		/* a static tuple lives in its parent's head; it has no tail */
		struct abi_enc_frame *f = enc_top(e);

		r = buf_append(&f->head, child->head.data, child->head.len);
		if (r < 0)
			return enc_fail(e, r);
		f->count++;
		return 0;
	}
	r = enc_dyn_begin(e);
	if (r < 0)
		return r;
	if (child->is_array) {
		put_be64(count, child->count);
		r = enc_tail(e, count, 32, false);
		if (r < 0)
			return r;
	}
	r = enc_tail(e, child->head.data, child->head.len, false);
	if (r < 0)
		return r;
	return enc_tail(e, child->tail.data, child->tail.len, false);
}

int
abi_enc_finish(struct abi_enc *e, const uint8_t *selector, struct buf *out)
{
	struct abi_enc_frame *f = &e->frames[0];
	size_t n, sel = selector ? ABI_SELECTOR_LEN : 0;
	int r;

	if (e->err)
		return e->err;
	if (e->depth != 1)
		return enc_fail(e, -EINVAL);
	r = frame_resolve(f, e->max);
	if (r < 0)
		return enc_fail(e, r);
	n = f->head.len + f->tail.len;
	if (n > SIZE_MAX - sel)
		return enc_fail(e, -E2BIG);
	r = buf_reserve(out, sel + n);
	if (r < 0)
		return enc_fail(e, r);
	/* cannot fail after the reservation */
	(void)buf_append(out, selector, sel);
	(void)buf_append(out, f->head.data, f->head.len);
	(void)buf_append(out, f->tail.data, f->tail.len);
	/* the offsets are resolved now: a second finish would add them again */
	e->err = -EALREADY;
	return 0;
}

/* ---- decoder ---------------------------------------------------------- */

void
abi_dec_init(struct abi_dec *d, const uint8_t *p, size_t n)
{
	d->base = p;
	d->size = n;
	d->pos = 0;
}

size_t
abi_dec_remaining(const struct abi_dec *d)
{
	return d->size - d->pos;
}

/* The next head slot, without moving. */
static int
dec_peek(const struct abi_dec *d, const uint8_t **ret)
{
	if (d->size - d->pos < ABI_SLOT)
		return -EBADMSG;
	*ret = d->base + d->pos;
	return 0;
}

static bool
all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* A length or offset slot: a uint256 that must fit in 64 bits and in size_t. */
static int
slot_size(const uint8_t *slot, size_t *ret)
{
	uint64_t v;

	if (!all_bytes(slot, 24, 0))
		return -EBADMSG;
	v = get_be64(slot + 24);
	if (v > SIZE_MAX)
		return -EBADMSG;
	*ret = (size_t)v;
	return 0;
}

/*
 * Follow the offset in the next head slot: a cursor positioned at the
 * target, which must hold at least one slot.  Does not move d.
 */
static int
dec_follow(const struct abi_dec *d, struct abi_dec *ret)
{
	const uint8_t *slot;
	size_t off;
	int r;

	r = dec_peek(d, &slot);
	if (r < 0)
		return r;
	r = slot_size(slot, &off);
	if (r < 0)
		return r;
	if (off % ABI_SLOT || off > d->size || d->size - off < ABI_SLOT)
		return -EBADMSG;
	abi_dec_init(ret, d->base + off, d->size - off);
	return 0;
}

int
abi_dec_uint64(struct abi_dec *d, uint64_t *ret)
{
	const uint8_t *s;
	int r;

	r = dec_peek(d, &s);
	if (r < 0)
		return r;
	if (!all_bytes(s, 24, 0))
		return -ERANGE;
	*ret = get_be64(s + 24);
	d->pos += ABI_SLOT;
	return 0;
}

int
abi_dec_int64(struct abi_dec *d, int64_t *ret)
{
	const uint8_t *s;
	uint8_t ext;
	int r;

	r = dec_peek(d, &s);
	if (r < 0)
		return r;
	ext = s[24] & 0x80 ? 0xff : 0x00;
	if (!all_bytes(s, 24, ext))
		return -ERANGE;
	*ret = (int64_t)get_be64(s + 24);
	d->pos += ABI_SLOT;
	return 0;
}

int
abi_dec_u256(struct abi_dec *d, uint8_t ret_be[32])
{
	return abi_dec_bytes32(d, ret_be);
}

int
abi_dec_bytes32(struct abi_dec *d, uint8_t ret[32])
{
	const uint8_t *s;
	int r;

	r = dec_peek(d, &s);
	if (r < 0)
		return r;
	memcpy(ret, s, 32);
	d->pos += ABI_SLOT;
	return 0;
}

int
abi_dec_address(struct abi_dec *d, uint8_t ret[20])
{
	const uint8_t *s;
	int r;

	r = dec_peek(d, &s);
	if (r < 0)
		return r;
	if (!all_bytes(s, 12, 0))
		return -EBADMSG;
	memcpy(ret, s + 12, 20);
	d->pos += ABI_SLOT;
	return 0;
}

int
abi_dec_bool(struct abi_dec *d, bool *ret)
{
	const uint8_t *s;
	int r;

	r = dec_peek(d, &s);
	if (r < 0)
		return r;
	if (!all_bytes(s, 31, 0) || s[31] > 1)
		return -EBADMSG;
	*ret = s[31] == 1;
	d->pos += ABI_SLOT;
	return 0;
}

int
abi_dec_bytesN(struct abi_dec *d, size_t n, uint8_t *ret)
{
	const uint8_t *s;
	int r;

	if (n < 1 || n > 32)
		return -EINVAL;
	r = dec_peek(d, &s);
	if (r < 0)
		return r;
	if (!all_bytes(s + n, 32 - n, 0))
		return -EBADMSG;
	memcpy(ret, s, n);
	d->pos += ABI_SLOT;
	return 0;
}

int
abi_dec_bytes(struct abi_dec *d, size_t max_len, const uint8_t **ret_p, size_t *ret_n)
{
	struct abi_dec sub;
	size_t len;
	int r;

	r = dec_follow(d, &sub);
	if (r < 0)
		return r;
	r = slot_size(sub.base, &len);
	if (r < 0)
		return r;
	if (len > sub.size - ABI_SLOT)
		return -EBADMSG;
	if (len > max_len)
		return -E2BIG;
	*ret_p = sub.base + ABI_SLOT;
	*ret_n = len;
	d->pos += ABI_SLOT;
	return 0;
}

int
abi_dec_string(struct abi_dec *d, size_t max_len, const char **ret_s, size_t *ret_n)
{
	const uint8_t *p;
	size_t n;
	int r;

	r = abi_dec_bytes(d, max_len, &p, &n);
	if (r < 0)
		return r;
	*ret_s = (const char *)p;
	*ret_n = n;
	return 0;
}

int
abi_dec_string_copy(struct abi_dec *d, char *out, size_t outsz)
{
	struct abi_dec probe = *d;
	const char *s;
	size_t n;
	int r;

	if (outsz == 0)
		return -ENOSPC;
	r = abi_dec_string(&probe, outsz - 1, &s, &n);
	if (r == -E2BIG)
		return -ENOSPC;
	if (r < 0)
		return r;
	if (n > INT32_MAX)
		return -ENOSPC;
	if (memchr(s, '\0', n))
		return -EBADMSG;
	memcpy(out, s, n);
	out[n] = '\0';
	*d = probe;
	return (int)n;
}

int
abi_dec_enter_tuple(struct abi_dec *d, struct abi_dec *ret_sub)
{
	struct abi_dec sub;
	int r;

	r = dec_follow(d, &sub);
	if (r < 0)
		return r;
	*ret_sub = sub;
	d->pos += ABI_SLOT;
	return 0;
}

int
abi_dec_enter_array(struct abi_dec *d, size_t max_count, struct abi_dec *ret_sub,
		    size_t *ret_count)
{
	struct abi_dec sub;
	size_t count;
	int r;

	r = dec_follow(d, &sub);
	if (r < 0)
		return r;
	r = slot_size(sub.base, &count);
	if (r < 0)
		return r;
	/* every element takes at least one head slot */
	if (count > (sub.size - ABI_SLOT) / ABI_SLOT)
		return -EBADMSG;
	if (count > max_count)
		return -E2BIG;
	abi_dec_init(ret_sub, sub.base + ABI_SLOT, sub.size - ABI_SLOT);
	*ret_count = count;
	d->pos += ABI_SLOT;
	return 0;
}

int
abi_dec_skip(struct abi_dec *d, size_t n)
{
	if (n > (d->size - d->pos) / ABI_SLOT)
		return -EBADMSG;
	d->pos += n * ABI_SLOT;
	return 0;
}

/* ---- revert data ------------------------------------------------------ */

#define ABI_ERROR_SELECTOR	0x08c379a0u	/* Error(string) */
#define ABI_PANIC_SELECTOR	0x4e487b71u	/* Panic(uint256) */

/* Panic codes, from the Solidity documentation ("Panic via assert and Error via require"). */
static const struct {
	uint8_t code;
	const char *what;
} panic_codes[] = {
	{ 0x00, "generic compiler panic" },
	{ 0x01, "assertion failed" },
	{ 0x11, "arithmetic overflow" },
	{ 0x12, "division by zero" },
	{ 0x21, "invalid enum value" },
	{ 0x22, "invalid storage byte array" },
	{ 0x31, "pop on empty array" },
	{ 0x32, "array index out of bounds" },
	{ 0x41, "out of memory" },
	{ 0x51, "call to zero function" },
};

/* Copy the n-byte text t into out, NUL-terminated: its length or -ENOSPC. */
static int
put_text(const char *t, int n, char *out, size_t outsz)
{
	if (n < 0 || (size_t)n >= outsz)
		return -ENOSPC;
	memcpy(out, t, (size_t)n + 1);
	return n;
}

static int
revert_error(struct abi_dec *d, char *out, size_t outsz)
{
	const char *s;
	size_t n, i;
	int r;

	if (outsz == 0)
		return -ENOSPC;
	r = abi_dec_string(d, outsz - 1, &s, &n);
	if (r == -E2BIG || (r >= 0 && n > INT32_MAX))
		return -ENOSPC;
	if (r < 0)
		return r;
	for (i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[n] = '\0';
	return (int)n;
}

static int
revert_panic(struct abi_dec *d, char *out, size_t outsz)
{
	char code[QUANTITY_U256_STRLEN], text[128];
	const char *what = NULL;
	uint8_t v[32];
	size_t i;
	int r;

	r = abi_dec_u256(d, v);
	if (r < 0)
		return r;
	r = quantity_format_u256(v, code, sizeof(code));
	if (r < 0)
		return r;
	for (i = 0; all_bytes(v, 31, 0) && i < sizeof(panic_codes) / sizeof(panic_codes[0]); i++)
		if (panic_codes[i].code == v[31])
			what = panic_codes[i].what;
	if (what)
		r = snprintf(text, sizeof(text), "panic %s (%s)", code, what);
	else
		r = snprintf(text, sizeof(text), "panic %s", code);
	if (r < 0 || (size_t)r >= sizeof(text))
		return -ENOSPC;
	return put_text(text, r, out, outsz);
}

int
abi_decode_revert(const uint8_t *data, size_t len, char *out, size_t outsz)
{
	char sel_hex[2 * ABI_SELECTOR_LEN + 1], text[64];
	struct abi_dec d;
	uint32_t sel;
	int r;

	if (len == 0)
		return -ENODATA;
	if (len < ABI_SELECTOR_LEN)
		return -EBADMSG;
	sel = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
	abi_dec_init(&d, data + ABI_SELECTOR_LEN, len - ABI_SELECTOR_LEN);
	if (sel == ABI_ERROR_SELECTOR)
		return revert_error(&d, out, outsz);
	if (sel == ABI_PANIC_SELECTOR)
		return revert_panic(&d, out, outsz);
	r = hex_encode(data, ABI_SELECTOR_LEN, false, sel_hex, sizeof(sel_hex));
	if (r < 0)
		return r;
	r = snprintf(text, sizeof(text), "custom error 0x%s", sel_hex);
	if (r < 0 || (size_t)r >= sizeof(text))
		return -ENOSPC;
	return put_text(text, r, out, outsz);
}
