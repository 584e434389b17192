/*
 * Tests for wgnl: SET_DEVICE rendering (split across messages as
 * wireguard-tools does) read back by the bounded parser, joining of a peer
 * continued in the next message, malformed input, and rtnetlink link-kind
 * queries against the running kernel.  The WireGuard calls against a real
 * kernel run in QEMU (tests/qemu/).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <cmocka.h>

#include "wgnl.h"

static void
fill(struct wg_device *d, size_t n, bool with_key)
{
	struct wg_allowedip ip = { .family = AF_INET, .cidr = 32 };
	struct wg_peer *p;
	uint8_t pub[32];
	size_t i;

	wg_device_init(d);
	memcpy(d->ifname, "wgk0", 5);
	if (with_key) {
		d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS;
		memset(d->private_key, 0x42, 32);
		d->listen_port = 51820;
	}
	for (i = 0; i < n; i++) {
		memset(pub, 0, sizeof(pub));
		pub[0] = (uint8_t)(i >> 8);
		pub[1] = (uint8_t)i;
		pub[31] = 1;
		assert_int_equal(wg_device_add_peer(d, pub, &p), 0);
		p->flags = WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_KEEPALIVE | WG_PEER_REPLACE_ALLOWEDIPS;
		p->endpoint.family = AF_INET;
		p->endpoint.port = (uint16_t)(10000 + i);
		p->endpoint.addr.v4.s_addr = htonl(0x0a090000u + (uint32_t)i);
		p->keepalive = 25;
		ip.addr.v4.s_addr = htonl(0x0a000000u + (uint32_t)i + 1);
		assert_int_equal(wg_peer_add_allowedip(p, &ip), 0);
	}
}

static void
test_split_and_parse_back(void **state)
{
	struct wg_device ch, back;
	struct buf out;
	unsigned int n;
	size_t off = 0, i;
	bool done = false;

	(void)state;
	fill(&ch, 1000, true);
	buf_init(&out, 2000 * WGNL_MSG_MAX);
	assert_int_equal(wgnl_build_set(&ch, 0x20, 7, &out, &n), 0);
	/* ~90 bytes per peer: a 4 KiB message holds a few dozen */
	assert_true(n > 10 && n < 60);
	wg_device_init(&back);
	for (i = 0; i < n; i++) {
		const struct nlmsghdr *h = (const void *)(out.data + off);

		assert_true(h->nlmsg_len <= WGNL_MSG_MAX);
		assert_int_equal(h->nlmsg_type, 0x20);
		assert_int_equal(h->nlmsg_seq, 7 + i);
		assert_int_equal(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
		off += NLMSG_ALIGN(h->nlmsg_len);
		if (i == 0) {
			/* the device attributes travel in the first message only */
			assert_int_equal(wgnl_parse_device(h, h->nlmsg_len, &back, &done), 0);
			assert_int_equal(back.flags, WG_DEVICE_HAS_PRIVATE_KEY |
					 WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS);
			back.flags = 0;
		}
	}
	assert_int_equal(off, out.len);
	wg_device_release(&back);
	/* all messages at once */
	wg_device_init(&back);
	assert_int_equal(wgnl_parse_device(out.data, out.len, &back, &done), 0);
	assert_false(done);
	assert_string_equal(back.ifname, "wgk0");
	assert_int_equal(back.listen_port, 51820);
	assert_int_equal(back.npeers, 1000);
	for (i = 0; i < 1000; i++) {
		assert_memory_equal(back.peers[i].public_key, ch.peers[i].public_key, 32);
		assert_true(wg_endpoint_equal(&back.peers[i].endpoint, &ch.peers[i].endpoint));
		assert_int_equal(back.peers[i].keepalive, 25);
		assert_int_equal(back.peers[i].nallowed, 1);
		assert_int_equal(back.peers[i].allowed[0].addr.v4.s_addr,
				 ch.peers[i].allowed[0].addr.v4.s_addr);
		assert_true(back.peers[i].flags & WG_PEER_REPLACE_ALLOWEDIPS);
	}
	wg_device_release(&back);
	buf_release(&out);

	/* a lone removal: one small message */
	ch.npeers = 1;
	ch.flags = 0;
	ch.peers[0].flags = WG_PEER_REMOVE;
	buf_init(&out, WGNL_MSG_MAX);
	assert_int_equal(wgnl_build_set(&ch, 0x20, 1, &out, &n), 0);
	assert_int_equal(n, 1);
	wg_device_init(&back);
	assert_int_equal(wgnl_parse_device(out.data, out.len, &back, &done), 0);
	assert_int_equal(back.npeers, 1);
	assert_int_equal(back.peers[0].flags, WG_PEER_REMOVE);
	assert_int_equal(back.peers[0].nallowed, 0);
	wg_device_release(&back);
	buf_release(&out);
	wg_device_release(&ch);
}

static void
test_continued_peer_joined(void **state)
{
	struct wg_device ch, back;
	struct wg_allowedip ip = { .family = AF_INET6, .cidr = 128 };
	struct buf out;
	unsigned int n;
	bool done = false;
	size_t i;

	(void)state;
	/* the same peer twice in a row, as a kernel dump that split its IPs */
	fill(&ch, 2, false);
	memcpy(ch.peers[1].public_key, ch.peers[0].public_key, 32);
	for (i = 0; i < 3; i++) {
		ip.addr.v6.s6_addr[15] = (uint8_t)i;
		assert_int_equal(wg_peer_add_allowedip(&ch.peers[1], &ip), 0);
	}
	buf_init(&out, 4 * WGNL_MSG_MAX);
	assert_int_equal(wgnl_build_set(&ch, 0x20, 1, &out, &n), 0);
	wg_device_init(&back);
	assert_int_equal(wgnl_parse_device(out.data, out.len, &back, &done), 0);
	assert_int_equal(back.npeers, 1);
	assert_int_equal(back.peers[0].nallowed, 5);
	assert_int_equal(back.peers[0].allowed[4].family, AF_INET6);
	wg_device_release(&back);
	buf_release(&out);
	wg_device_release(&ch);
}

static void
test_malformed(void **state)
{
	struct wg_device ch, back;
	struct buf out;
	unsigned int n;
	bool done = false;
	uint8_t *m;
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
	} err = { .h = { .nlmsg_len = sizeof(err), .nlmsg_type = NLMSG_ERROR },
		  .e = { .error = -ENODEV } };
	struct nlmsghdr donemsg = { .nlmsg_len = NLMSG_HDRLEN + 4, .nlmsg_type = NLMSG_DONE };
	uint8_t dbuf[NLMSG_HDRLEN + 4] __attribute__((aligned(4))) = { 0 };

	(void)state;
	fill(&ch, 3, true);
	buf_init(&out, 4 * WGNL_MSG_MAX);
	assert_int_equal(wgnl_build_set(&ch, 0x20, 1, &out, &n), 0);
	assert_int_equal(n, 1);
	m = out.data;
	/* truncated: the header claims more than there is */
	wg_device_init(&back);
	assert_int_equal(wgnl_parse_device(m, out.len - 4, &back, &done), -EBADMSG);
	wg_device_release(&back);
	/* the first peer's public key one byte short: find its attribute
	 * (len 36, type WGPEER_A_PUBLIC_KEY) and shrink it */
	for (size_t i = 0; i + 4 < out.len; i += 4) {
		uint16_t len, type;

		memcpy(&len, m + i, 2);
		memcpy(&type, m + i + 2, 2);
		if (len == 36 && type == 1 && i > 64) {
			len = 35;
			memcpy(m + i, &len, 2);
			break;
		}
	}
	wg_device_init(&back);
	assert_int_equal(wgnl_parse_device(m, out.len, &back, &done), -EBADMSG);
	wg_device_release(&back);
	/* an error message carries the kernel's errno */
	wg_device_init(&back);
	assert_int_equal(wgnl_parse_device(&err, sizeof(err), &back, &done), -ENODEV);
	err.e.error = 5;	/* positive: nonsense */
	assert_int_equal(wgnl_parse_device(&err, sizeof(err), &back, &done), -EBADMSG);
	err.h.nlmsg_len = NLMSG_HDRLEN + 2;	/* too short for nlmsgerr */
	assert_int_equal(wgnl_parse_device(&err, sizeof(err), &back, &done), -EBADMSG);
	memcpy(dbuf, &donemsg, sizeof(donemsg));
	assert_false(done);
	assert_int_equal(wgnl_parse_device(dbuf, sizeof(dbuf), &back, &done), 0);
	assert_true(done);
	wg_device_release(&back);
	buf_release(&out);
	/* bad changes are refused before rendering */
	ch.peers[1].allowed[0].family = 99;
	buf_init(&out, 4 * WGNL_MSG_MAX);
	assert_int_equal(wgnl_build_set(&ch, 0x20, 1, &out, &n), -EINVAL);
	ch.ifname[0] = '\0';
	assert_int_equal(wgnl_build_set(&ch, 0x20, 1, &out, &n), -EINVAL);
	buf_release(&out);
	wg_device_release(&ch);
}

static void
test_rtnl_link_kind(void **state)
{
	struct wgnl *nl;
	char kind[WGNL_KIND_MAX];

	(void)state;
	assert_int_equal(wgnl_open(&nl), 0);
	assert_int_equal(wgnl_link_kind(nl, "lo", kind), 0);
	assert_string_equal(kind, "");
	assert_int_equal(wgnl_link_kind(nl, "nosuchlink0", kind), -ENODEV);
	assert_int_equal(wgnl_link_kind(nl, "", kind), -EINVAL);
	assert_int_equal(wgnl_link_up(nl, "nosuchlink0"), -ENODEV);
	wgnl_close(nl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_and_parse_back),
		cmocka_unit_test(test_continued_peer_joined),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_rtnl_link_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
