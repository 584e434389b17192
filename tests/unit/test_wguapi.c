/*
 * Tests for wguapi: the UAPI reply parser and request formatter, and the
 * socket I/O against a local unix-socket server that sends canned replies
 * (the real wireguard-go is driven by tests/e2e/test_wireguard_netns.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "wguapi.h"

#define SK "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define PK1 "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"
#define PK2 "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"
#define PSK "188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52"

/* A reply in the shape wireguard-go gives (keys in its order). */
static const char reply_ok[] =
	"private_key=" SK "\n"
	"listen_port=12912\n"
	"public_key=" PK1 "\n"
	"preshared_key=" PSK "\n"
	"protocol_version=1\n"
	"endpoint=[abcd:23::33%2]:51820\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=5\n"
	"tx_bytes=38333\n"
	"rx_bytes=2224\n"
	"persistent_keepalive_interval=0\n"
	"allowed_ip=192.168.4.4/32\n"
	"public_key=" PK2 "\n"
	"preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
	"endpoint=182.122.22.19:3233\n"
	"persistent_keepalive_interval=111\n"
	"allowed_ip=192.168.4.6/32\n"
	"allowed_ip=fd00::/64\n"
	"errno=0\n"
	"\n";

static void
test_parse_get(void **state)
{
	struct wg_device d;
	char s[WG_KEY_HEX_LEN + 1];

	(void)state;
	assert_int_equal(wguapi_parse_get(reply_ok, sizeof(reply_ok) - 1, &d), 0);
	assert_int_equal(d.flags, WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT);
	assert_int_equal(d.listen_port, 12912);
	assert_int_equal(d.npeers, 2);
	wg_key_to_hex(d.peers[0].public_key, s);
	assert_string_equal(s, PK1);
	assert_true(d.peers[0].flags & WG_PEER_HAS_PRESHARED_KEY);
	assert_int_equal(d.peers[0].endpoint.family, AF_INET6);
	assert_int_equal(d.peers[0].endpoint.port, 51820);
	assert_int_equal(d.peers[0].last_handshake_sec, 1700000000);
	assert_int_equal(d.peers[0].tx_bytes, 38333);
	assert_int_equal(d.peers[0].rx_bytes, 2224);
	assert_int_equal(d.peers[0].nallowed, 1);
	assert_int_equal(d.peers[0].allowed[0].cidr, 32);
	assert_int_equal(ntohl(d.peers[0].allowed[0].addr.v4.s_addr), 0xc0a80404);
	assert_false(d.peers[1].flags & WG_PEER_HAS_PRESHARED_KEY);
	assert_int_equal(d.peers[1].keepalive, 111);
	assert_int_equal(wg_endpoint_format(&d.peers[1].endpoint, s, sizeof(s)), 0);
	assert_string_equal(s, "182.122.22.19:3233");
	assert_int_equal(d.peers[1].nallowed, 2);
	assert_int_equal(d.peers[1].allowed[1].family, AF_INET6);
	assert_int_equal(d.peers[1].allowed[1].cidr, 64);
	wg_device_release(&d);

	/* the final empty line may be missing (a reader stops at it) */
	assert_int_equal(wguapi_parse_get(reply_ok, sizeof(reply_ok) - 2, &d), 0);
	wg_device_release(&d);
	/* an empty device */
	assert_int_equal(wguapi_parse_get("errno=0\n\n", 9, &d), 0);
	assert_int_equal(d.npeers, 0);
	assert_int_equal(d.flags, 0);
	wg_device_release(&d);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *in;
		int want;
	} v[] = {
		{ "", -EBADMSG },				/* no errno */
		{ "listen_port=1\n\n", -EBADMSG },
		{ "errno=0", -EBADMSG },			/* no newline */
		{ "errno=0\n\nx", -EBADMSG },			/* data after the end */
		{ "errno=0\nlisten_port=1\n\n", -EBADMSG },	/* after errno */
		{ "errno=2\n\n", -ENOENT },
		{ "errno=99999\n\n", -EBADMSG },
		{ "errno=-1\n\n", -EBADMSG },
		{ "listen_port=65536\nerrno=0\n\n", -EBADMSG },
		{ "listen_port=\nerrno=0\n\n", -EBADMSG },
		{ "listen_port=1 \nerrno=0\n\n", -EBADMSG },
		{ "=1\nerrno=0\n\n", -EBADMSG },
		{ "private_key=abc\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" PK1 "0\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" PK1 "\nendpoint=1.2.3.4\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" PK1 "\nendpoint=1.2.3.4:5\n\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" PK1 "\nallowed_ip=1.2.3.4/33\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" PK1 "\nallowed_ip=1.2.3.4\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" PK1 "\nallowed_ip=1.2.3.4/\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" PK1 "\nrx_bytes=18446744073709551616\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" PK1 "\npersistent_keepalive_interval=70000\nerrno=0\n\n", -EBADMSG },
	};
	struct wg_device d;
	char big[WGUAPI_LINE_MAX + 32];
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(&d, 0x5a, sizeof(d));
		assert_int_equal(wguapi_parse_get(v[i].in, strlen(v[i].in), &d), v[i].want);
		assert_int_equal(d.npeers, (size_t)0x5a5a5a5a5a5a5a5aULL);	/* untouched */
	}
	/* an embedded NUL */
	assert_int_equal(wguapi_parse_get("listen_port=1\0\nerrno=0\n\n", 24, &d), -EBADMSG);
	/* a line over the cap is -E2BIG, not truncated */
	n = snprintf(big, sizeof(big), "x=%0*d\nerrno=0\n\n", WGUAPI_LINE_MAX, 0);
	assert_int_equal(wguapi_parse_get(big, (size_t)n, &d), -E2BIG);
	/* set replies */
	assert_int_equal(wguapi_parse_set_reply("errno=0\n\n", 9), 0);
	assert_int_equal(wguapi_parse_set_reply("errno=22\n\n", 10), -EINVAL);
	assert_int_equal(wguapi_parse_set_reply("listen_port=1\nerrno=0\n\n", 23), -EBADMSG);
	assert_int_equal(wguapi_parse_set_reply("", 0), -EBADMSG);
}

static void
test_too_many_peers_and_allowedips(void **state)
{
	struct buf b;
	struct wg_device d;
	size_t i;

	(void)state;
	buf_init(&b, WGUAPI_REPLY_MAX);
	assert_int_equal(buf_puts(&b, "public_key=" PK1 "\n"), 0);
	for (i = 0; i < WG_ALLOWEDIPS_MAX + 1; i++)
		assert_int_equal(buf_printf(&b, "allowed_ip=10.1.0.%zu/32\n", i), 0);
	assert_int_equal(buf_puts(&b, "errno=0\n\n"), 0);
	assert_int_equal(wguapi_parse_get((char *)b.data, b.len, &d), 0);
	assert_int_equal(d.peers[0].nallowed, WG_ALLOWEDIPS_MAX);
	assert_true(d.peers[0].flags & WG_PEER_ALLOWEDIPS_OVERFLOW);
	wg_device_release(&d);
	buf_reset(&b);
	for (i = 0; i < WG_PEERS_MAX + 1; i++)
		assert_int_equal(buf_printf(&b, "public_key=%064zx\n", i), 0);
	assert_int_equal(buf_puts(&b, "errno=0\n\n"), 0);
	assert_int_equal(wguapi_parse_get((char *)b.data, b.len, &d), -E2BIG);
	buf_release(&b);
}

static void
test_format_set(void **state)
{
	struct wg_device ch;
	struct wg_peer *p;
	struct wg_allowedip ip = { .family = AF_INET, .cidr = 32 };
	uint8_t k[32];
	struct buf b;

	(void)state;
	wg_device_init(&ch);
	ch.flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
	assert_int_equal(wg_key_from_hex(SK, 64, ch.private_key), 0);
	ch.listen_port = 51820;
	assert_int_equal(wg_key_from_hex(PK1, 64, k), 0);
	assert_int_equal(wg_device_add_peer(&ch, k, &p), 0);
	p->flags = WG_PEER_HAS_ENDPOINT | WG_PEER_HAS_KEEPALIVE | WG_PEER_REPLACE_ALLOWEDIPS;
	assert_int_equal(wg_endpoint_parse("10.9.0.2:51820", 14, &p->endpoint), 0);
	p->keepalive = 25;
	ip.addr.v4.s_addr = htonl(0x0a000102);
	assert_int_equal(wg_peer_add_allowedip(p, &ip), 0);
	assert_int_equal(wg_key_from_hex(PK2, 64, k), 0);
	assert_int_equal(wg_device_add_peer(&ch, k, &p), 0);
	p->flags = WG_PEER_REMOVE;
	buf_init(&b, 4096);
	assert_int_equal(wguapi_format_set(&ch, &b), 0);
	assert_string_equal((char *)b.data,
		"set=1\n"
		"private_key=" SK "\n"
		"listen_port=51820\n"
		"public_key=" PK1 "\n"
		"endpoint=10.9.0.2:51820\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.0.1.2/32\n"
		"public_key=" PK2 "\n"
		"remove=true\n"
		"\n");
	buf_release(&b);
	/* cap is an error */
	buf_init(&b, 32);
	assert_int_equal(wguapi_format_set(&ch, &b), -E2BIG);
	buf_release(&b);
	wg_device_release(&ch);
}

/* ---- I/O against a canned server ---- */

struct canned {
	int lfd;
	const char *reply;	/* NULL: close without replying */
	size_t len;
	char got[512];		/* first bytes of the request */
};

static void *
serve_one(void *arg)
{
	struct canned *c = arg;
	int fd = accept(c->lfd, NULL, NULL);
	ssize_t n;
	size_t off = 0, sent = 0;

	if (fd < 0)
		return NULL;
	/* read until the request's empty line */
	while (off + 1 < sizeof(c->got)) {
		n = read(fd, c->got + off, sizeof(c->got) - 1 - off);
		if (n <= 0)
			break;
		off += (size_t)n;
		c->got[off] = '\0';
		if (strstr(c->got, "\n\n"))
			break;
	}
	while (c->reply && sent < c->len) {
		n = send(fd, c->reply + sent, c->len - sent, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	close(fd);
	return NULL;
}

static char sockdir[64];

static int
start(struct canned *c, pthread_t *t)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->lfd >= 0);
	assert_int_equal(wguapi_sock_path(sockdir, "wgtest0", sun.sun_path, sizeof(sun.sun_path)), 0);
	unlink(sun.sun_path);
	assert_int_equal(bind(c->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(c->lfd, 4), 0);
	return pthread_create(t, NULL, serve_one, c);
}

static void
stop(struct canned *c, pthread_t t)
{
	pthread_join(t, NULL);
	close(c->lfd);
}

static void
test_io(void **state)
{
	struct canned c;
	struct wg_device d, ch;
	pthread_t t;
	char *huge;
	size_t hlen = WGUAPI_REPLY_MAX + 100;

	(void)state;
	assert_non_null(mkdtemp(strcpy(sockdir, "/tmp/wguapi-test.XXXXXX")));
	/* nobody there */
	assert_int_equal(wguapi_get(sockdir, "wgtest0", &d), -ENOENT);
	assert_false(wguapi_exists(sockdir, "wgtest0"));
	assert_int_equal(wguapi_get(sockdir, "../x", &d), -EINVAL);

	memset(&c, 0, sizeof(c));
	c.reply = reply_ok;
	c.len = sizeof(reply_ok) - 1;
	assert_int_equal(start(&c, &t), 0);
	assert_int_equal(wguapi_get(sockdir, "wgtest0", &d), 0);
	stop(&c, t);
	assert_string_equal(c.got, "get=1\n\n");
	assert_string_equal(d.ifname, "wgtest0");
	assert_int_equal(d.npeers, 2);
	wg_device_release(&d);

	/* set: the request goes out, errno=22 comes back as -EINVAL */
	wg_device_init(&ch);
	ch.flags = WG_DEVICE_HAS_LISTEN_PORT;
	ch.listen_port = 7;
	c.reply = "errno=22\n\n";
	c.len = 10;
	assert_int_equal(start(&c, &t), 0);
	assert_int_equal(wguapi_set(sockdir, "wgtest0", &ch), -EINVAL);
	stop(&c, t);
	assert_string_equal(c.got, "set=1\nlisten_port=7\n\n");

	/* closed before the end of the reply */
	c.reply = "errno=0\n";
	c.len = 8;
	assert_int_equal(start(&c, &t), 0);
	assert_int_equal(wguapi_set(sockdir, "wgtest0", &ch), -EBADMSG);
	stop(&c, t);

	/* a reply past the cap is -E2BIG */
	huge = malloc(hlen);
	assert_non_null(huge);
	memset(huge, 'a', hlen);
	c.reply = huge;
	c.len = hlen;
	assert_int_equal(start(&c, &t), 0);
	assert_int_equal(wguapi_get(sockdir, "wgtest0", &d), -E2BIG);
	stop(&c, t);
	free(huge);
	wg_device_release(&ch);
	{
		char p[WGUAPI_PATH_MAX];

		assert_int_equal(wguapi_sock_path(sockdir, "wgtest0", p, sizeof(p)), 0);
		unlink(p);
	}
	rmdir(sockdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_get),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_too_many_peers_and_allowedips),
		cmocka_unit_test(test_format_set),
		cmocka_unit_test(test_io),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
