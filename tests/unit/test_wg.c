/* Tests for wg: key codecs, endpoint codecs and the sync diff. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wg.h"

/*
 * RFC 7748 section 6.1: Alice's private key and Bob's public key, as hex;
 * used here only as known 32-byte strings for the codec.
 */
static const char alice_sk_hex[] =
	"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const uint8_t alice_sk[32] = {
	0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72,
	0x51, 0xb2, 0x66, 0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a,
	0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a,
};

static void
test_key_hex(void **state)
{
	char hex[WG_KEY_HEX_LEN + 1];
	uint8_t k[32], zero[32] = { 0 };
	char bad[WG_KEY_HEX_LEN + 1];

	(void)state;
	wg_key_to_hex(alice_sk, hex);
	assert_string_equal(hex, alice_sk_hex);
	assert_int_equal(wg_key_from_hex(alice_sk_hex, 64, k), 0);
	assert_memory_equal(k, alice_sk, 32);
	/* upper case accepted */
	assert_int_equal(wg_key_from_hex("77076D0A7318A57D3C16C17251B26645DF4C2F87EBC0992AB177FBA51DB92C2A", 64, k), 0);
	assert_memory_equal(k, alice_sk, 32);
	/* wrong length, bad characters: -EINVAL, output untouched */
	memset(k, 0, sizeof(k));
	assert_int_equal(wg_key_from_hex(alice_sk_hex, 63, k), -EINVAL);
	assert_int_equal(wg_key_from_hex(alice_sk_hex, 62, k), -EINVAL);
	memcpy(bad, alice_sk_hex, sizeof(bad));
	for (const char *c = "g:/@`G\n \x80"; *c; c++) {
		bad[17] = *c;
		assert_int_equal(wg_key_from_hex(bad, 64, k), -EINVAL);
	}
	assert_memory_equal(k, zero, 32);
	assert_true(wg_key_is_zero(zero));
	assert_false(wg_key_is_zero(alice_sk));
}

static void
test_endpoint_codec(void **state)
{
	struct wg_endpoint e, f;
	char s[64];

	(void)state;
	assert_int_equal(wg_endpoint_parse("10.0.2.3:51820", 14, &e), 0);
	assert_int_equal(e.family, AF_INET);
	assert_int_equal(e.port, 51820);
	assert_int_equal(ntohl(e.addr.v4.s_addr), 0x0a000203);
	assert_int_equal(wg_endpoint_format(&e, s, sizeof(s)), 0);
	assert_string_equal(s, "10.0.2.3:51820");
	assert_int_equal(wg_endpoint_parse("[fd00::1]:7", 11, &f), 0);
	assert_int_equal(f.family, AF_INET6);
	assert_int_equal(wg_endpoint_format(&f, s, sizeof(s)), 0);
	assert_string_equal(s, "[fd00::1]:7");
	assert_false(wg_endpoint_equal(&e, &f));
	assert_true(wg_endpoint_equal(&e, &e));
	assert_int_equal(wg_endpoint_format(&e, s, 8), -ENOSPC);
	static const char *const bad[] = {
		"10.0.2.3", "10.0.2.3:0", "10.0.2.3:65536", "10.0.2.3:", ":1",
		"host.example:1", "10.0.2.3:1\n", "fd00::1:7", "[10.0.2.3]:5",
		"10.0.2.3:+1", "10.0.2.3:1x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(wg_endpoint_parse(bad[i], strlen(bad[i]), &e), -EINVAL);
}

/* A peer with key byte b, endpoint 10.9.0.b:port, allowed 10.0.1.b/32. */
static struct wg_peer *
add(struct wg_device *d, uint8_t b, uint16_t port, uint16_t ka)
{
	uint8_t pub[32];
	struct wg_peer *p;
	struct wg_allowedip ip = { .family = AF_INET, .cidr = 32 };

	memset(pub, b, sizeof(pub));
	assert_int_equal(wg_device_add_peer(d, pub, &p), 0);
	p->flags = WG_PEER_HAS_ENDPOINT;
	p->endpoint.family = AF_INET;
	p->endpoint.port = port;
	p->endpoint.addr.v4.s_addr = htonl(0x0a090000u | b);
	p->keepalive = ka;
	ip.addr.v4.s_addr = htonl(0x0a000100u | b);
	assert_int_equal(wg_peer_add_allowedip(p, &ip), 0);
	return p;
}

static void
test_diff_only_changes(void **state)
{
	struct wg_device want, have, ch;
	struct wg_allowedip extra = { .family = AF_INET, .cidr = 24 };
	uint8_t k[32];

	(void)state;
	wg_device_init(&want);
	wg_device_init(&have);
	memcpy(want.ifname, "wgt0", 5);
	want.flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
	memcpy(want.private_key, alice_sk, 32);
	want.listen_port = 51820;
	have.flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
	memcpy(have.private_key, alice_sk, 32);
	have.listen_port = 51820;
	/* wanted, in an unsorted order: 5 (unchanged), 3 (new), 7 (endpoint moved),
	 * 9 (allowed IPs widened by hand), 4 (keepalive changed) */
	add(&want, 5, 100, 25);
	add(&want, 3, 100, 25);
	add(&want, 7, 101, 25);
	add(&want, 9, 100, 25);
	add(&want, 4, 100, 25);
	add(&have, 9, 100, 25);
	assert_int_equal(wg_peer_add_allowedip(&have.peers[0], &extra), 0);
	add(&have, 8, 100, 25);		/* gone */
	add(&have, 7, 100, 25);
	add(&have, 5, 100, 25);
	add(&have, 4, 100, 0);

	assert_int_equal(wg_diff(&want, &have, &ch), 0);
	assert_string_equal(ch.ifname, "wgt0");
	assert_int_equal(ch.flags, 0);		/* same key, same port */
	assert_int_equal(ch.npeers, 5);		/* 5 is not there */
	memset(k, 3, 32);
	assert_memory_equal(ch.peers[0].public_key, k, 32);
	assert_int_equal(ch.peers[0].flags, WG_PEER_ADDED |
			 WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_KEEPALIVE | WG_PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(ch.peers[0].nallowed, 1);
	assert_int_equal(ch.peers[0].keepalive, 25);
	memset(k, 4, 32);
	assert_memory_equal(ch.peers[1].public_key, k, 32);
	assert_int_equal(ch.peers[1].flags, WG_PEER_HAS_KEEPALIVE);
	memset(k, 7, 32);
	assert_memory_equal(ch.peers[2].public_key, k, 32);
	assert_int_equal(ch.peers[2].flags, WG_PEER_HAS_ENDPOINT);
	assert_int_equal(ch.peers[2].endpoint.port, 101);
	memset(k, 8, 32);
	assert_memory_equal(ch.peers[3].public_key, k, 32);
	assert_int_equal(ch.peers[3].flags, WG_PEER_REMOVE);
	memset(k, 9, 32);
	assert_memory_equal(ch.peers[4].public_key, k, 32);
	assert_int_equal(ch.peers[4].flags, WG_PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(ch.peers[4].nallowed, 1);
	assert_int_equal(ch.peers[4].allowed[0].cidr, 32);
	assert_false(wg_changes_empty(&ch));
	wg_device_release(&ch);

	/* A device already in the wanted state gives an empty change. */
	assert_int_equal(wg_diff(&want, &want, &ch), 0);
	assert_true(wg_changes_empty(&ch));
	wg_device_release(&ch);

	/* Another private key and port: both sent, the peers not. */
	{
		struct wg_device have2;

		wg_device_init(&have2);
		have2.flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
		memcpy(have2.private_key, alice_sk, 32);
		have2.private_key[31] ^= 0x80;
		have2.listen_port = 1;
		for (size_t i = 0; i < want.npeers; i++)
			*add(&have2, 0, 0, 0) = want.peers[i];
		assert_int_equal(wg_diff(&want, &have2, &ch), 0);
		assert_int_equal(ch.npeers, 0);
		assert_int_equal(ch.flags, WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT);
		assert_memory_equal(ch.private_key, alice_sk, 32);
		assert_int_equal(ch.listen_port, 51820);
		wg_device_release(&ch);
		wg_device_release(&have2);
	}

	/* A duplicate public key in the wanted set is refused. */
	add(&want, 5, 1, 1);
	memset(&ch, 0x5a, sizeof(ch));
	assert_int_equal(wg_diff(&want, &have, &ch), -EINVAL);
	assert_int_equal(ch.npeers, (size_t)0x5a5a5a5a5a5a5a5aULL);	/* untouched */
	wg_device_release(&want);
	wg_device_release(&have);
}

static void
test_caps(void **state)
{
	struct wg_device d;
	struct wg_peer *p = NULL;
	struct wg_allowedip ip = { .family = AF_INET, .cidr = 32 };
	uint8_t pub[32] = { 1 };
	size_t i;

	(void)state;
	wg_device_init(&d);
	for (i = 0; i < WG_PEERS_MAX; i++)
		assert_int_equal(wg_device_add_peer(&d, pub, &p), 0);
	assert_int_equal(wg_device_add_peer(&d, pub, &p), -E2BIG);
	for (i = 0; i < WG_ALLOWEDIPS_MAX; i++)
		assert_int_equal(wg_peer_add_allowedip(p, &ip), 0);
	assert_int_equal(wg_peer_add_allowedip(p, &ip), -E2BIG);
	assert_true(p->flags & WG_PEER_ALLOWEDIPS_OVERFLOW);
	ip.cidr = 33;
	assert_int_equal(wg_peer_add_allowedip(p, &ip), -EINVAL);
	ip.family = AF_UNIX;
	ip.cidr = 1;
	assert_int_equal(wg_peer_add_allowedip(p, &ip), -EINVAL);
	wg_device_release(&d);
	assert_null(d.peers);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_hex),
		cmocka_unit_test(test_endpoint_codec),
		cmocka_unit_test(test_diff_only_changes),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
