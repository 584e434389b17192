/*
 * dstackp2p client API: the peers parser (table), self lookup, register
 * errno, and the callback watch with real inotify on a temporary directory
 * that holds the mount's file names.  Against the real FUSE mount:
 * tests/e2e/test_sdk.sh (p2p-peers example, epoll watch).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dstackp2p.h"

static const struct {
	const char *in;
	int ret;
	size_t n;
	const char *v[3];
} parse_cases[] = {
	{ "", 0, 0, { NULL } },
	{ "a\n", 0, 1, { "a" } },
	{ "a", 0, 1, { "a" } },
	{ "https://a:1\n10.0.0.2\n", 0, 2, { "https://a:1", "10.0.0.2" } },
	{ "a\nb", 0, 2, { "a", "b" } },
	{ "\n", -EBADMSG, 0, { NULL } },
	{ "a\n\nb\n", -EBADMSG, 0, { NULL } },
	{ "a\n\n", -EBADMSG, 0, { NULL } },
};

static void
test_parse_table(void **state)
{
	struct dstackp2p_peers p;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		memset(&p, 0x5a, sizeof(p));
		assert_int_equal(dstackp2p_parse_peers(parse_cases[i].in,
		    strlen(parse_cases[i].in), &p), parse_cases[i].ret);
		if (parse_cases[i].ret < 0)
			continue;
		assert_int_equal(p.n, parse_cases[i].n);
		for (j = 0; j < p.n; j++)
			assert_string_equal(p.v[j], parse_cases[i].v[j]);
		dstackp2p_peers_release(&p);
	}
	assert_int_equal(dstackp2p_parse_peers("a\0b", 3, &p), -EBADMSG);
}

static void
test_parse_caps(void **state)
{
	struct dstackp2p_peers p;
	size_t n = DSTACKP2P_PEERS_MAX + 1;
	char *big = malloc(2 * n);

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < n; i++) {
		big[2 * i] = 'x';
		big[2 * i + 1] = '\n';
	}
	assert_int_equal(dstackp2p_parse_peers(big, 2 * n, &p), -E2BIG);
	assert_int_equal(dstackp2p_parse_peers(big, 2 * (n - 1), &p), 0);
	assert_int_equal(p.n, DSTACKP2P_PEERS_MAX);
	dstackp2p_peers_release(&p);
	free(big);
}

static char dir[64];

static void
put(const char *name, const char *text)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_dstackp2p.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_self_and_register(void **state)
{
	char v[64], small[4];

	(void)state;
	put("self", "address=0xabc\nmode=tls\ncontract=0x5FbD\n");
	assert_int_equal(dstackp2p_self_get(dir, "mode", v, sizeof(v)), 0);
	assert_string_equal(v, "tls");
	assert_int_equal(dstackp2p_self_get(dir, "contract", v, sizeof(v)), 0);
	assert_string_equal(v, "0x5FbD");
	assert_int_equal(dstackp2p_self_get(dir, "mod", v, sizeof(v)), -ENOENT);
	assert_int_equal(dstackp2p_self_get(dir, "address", small,
	    sizeof(small)), -ENOBUFS);
	/* no register file: the open's errno comes back */
	assert_int_equal(dstackp2p_register(dir), -ENOENT);
	put("register", "");
	assert_int_equal(dstackp2p_register(dir), 0);
	assert_int_equal(dstackp2p_leave(dir), 0);
	assert_int_equal(dstackp2p_read_peers("/nonexistent", &(struct dstackp2p_peers){ 0 }),
	    -ENOENT);
}

struct seen {
	char lists[8][64];
	int n;
};

static int
on_peers(const struct dstackp2p_peers *p, void *arg)
{
	struct seen *s = arg;
	size_t i, off = 0;

	for (i = 0; i < p->n; i++)
		off += (size_t)snprintf(s->lists[s->n] + off,
		    sizeof(s->lists[0]) - off, "%s,", p->v[i]);
	s->lists[s->n][off] = '\0';
	s->n++;
	return strcmp(s->lists[s->n - 1], "stop,") == 0 ? 1 : 0;
}

static void *
writer_main(void *arg)
{
	(void)arg;
	usleep(150000);
	put("peers", "b\nc\n");
	usleep(150000);
	put("leader", "b\n");		/* another file: no delivery */
	put("peers", "b\nc\n");		/* same list: no delivery */
	usleep(150000);
	put("peers", "");
	usleep(150000);
	put("peers", "stop\n");
	return NULL;
}

static void
test_watch_callback(void **state)
{
	struct seen s = { .n = 0 };
	pthread_t t;

	(void)state;
	put("peers", "a\n");
	assert_int_equal(pthread_create(&t, NULL, writer_main, NULL), 0);
	assert_int_equal(dstackp2p_watch(dir, on_peers, &s), 0);
	pthread_join(t, NULL);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.lists[0], "a,");
	assert_string_equal(s.lists[1], "b,c,");
	assert_string_equal(s.lists[2], "");
	assert_string_equal(s.lists[3], "stop,");
}

static int
stop_now(const struct dstackp2p_peers *p, void *arg)
{
	(void)p;
	(void)arg;
	return -EINTR;
}

static void
test_watch_errors(void **state)
{
	bool changed = true;
	int fd;

	(void)state;
	assert_int_equal(dstackp2p_watch(dir, stop_now, NULL), -ENOENT);
	put("peers", "");
	assert_int_equal(dstackp2p_watch(dir, stop_now, NULL), -EINTR);
	assert_int_equal(dstackp2p_watch_open("/nonexistent", &fd), -ENOENT);
	assert_int_equal(dstackp2p_watch_open(dir, &fd), 0);
	assert_int_equal(dstackp2p_watch_drain(fd, &changed), 0);
	assert_false(changed);
	put("leader", "x\n");
	assert_int_equal(dstackp2p_watch_drain(fd, &changed), 0);
	assert_false(changed);
	put("peers", "x\n");
	assert_int_equal(dstackp2p_watch_drain(fd, &changed), 0);
	assert_true(changed);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_caps),
		cmocka_unit_test_setup_teardown(test_self_and_register,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_watch_callback,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_watch_errors,
		    setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
