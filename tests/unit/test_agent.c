#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent.h"
#include "ethkey.h"
#include "hex.h"
#include "kms.h"
#include "simproc.h"

/* Facts from ../shared/fixtures/dstack-simulator/README.md. */
#define APP_ID	"5bb4ff9a3837357f19dc176407a5709c62eb6c56"
#define INST_ID	"1691ed1b47506cad7d08834668691d88246f5b1f"
#define APP_PUB	"02818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2d096fc7c"

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(hex_decode_exact(s, strlen(s), out, n), 0);
}

static void
test_info_version_key(void **state)
{
	static const char *const paths[] = { "a", "dstackp2pfs/v1/eth/00", "some/other/path" };
	uint8_t want[33], app65[65], app33[33], root[20], d65[65];
	struct agent_version v;
	struct agent_info info;
	struct agent_key k;
	struct simproc sim;
	struct agent *a;
	size_t i;

	(void)state;
	unsetenv(AGENT_ENV_ENDPOINT);
	assert_int_equal(simproc_start(&sim, NULL), 0);
	assert_int_equal(agent_open(sim.sock, &a), 0);
	assert_string_equal(agent_endpoint(a), sim.sock);
	assert_int_equal(agent_info(a, &info), 0);
	unhex(APP_ID, want, 20);
	assert_memory_equal(info.app_id, want, 20);
	unhex(INST_ID, want, 20);
	assert_memory_equal(info.instance_id, want, 20);
	assert_string_equal(info.app_name, "guest-agent");
	assert_string_equal(info.default_gateway_domain, "");
	assert_int_equal(agent_version(a, &v), 0);
	assert_string_equal(v.version, "0.5.4-dstack-sim");

	/* The chain from the simulator recovers to the fixture's app key and KMS root. */
	unhex(APP_PUB, want, 33);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(agent_get_key(a, paths[i], "test-purpose", &k), 0);
		assert_int_equal(ethkey_pubkey(k.key, d65), 0);
		assert_int_equal(kms_chain_verify(info.app_id, d65, "test-purpose", k.chain[0],
						  k.chain[1], &kms_simulator_root, 1, app65, root), 0);
		assert_int_equal(ethkey_pubkey_compress(app65, app33), 0);
		assert_memory_equal(app33, want, 33);
		assert_memory_equal(root, kms_simulator_root, 20);
		agentmsg_key_wipe(&k);
	}
	agent_free(a);
	simproc_stop(&sim);
}

static void
test_endpoint_resolution(void **state)
{
	const char *const nover[] = { "--no-version", "--app-name", "db", NULL };
	struct agent_version v;
	struct agent_info info;
	struct simproc sim;
	struct agent *a;
	struct stat st;
	size_t i;
	static const char *const probe[] = AGENT_SOCKET_PATHS;
	bool any_agent = false;

	(void)state;
	assert_int_equal(simproc_start(&sim, nover), 0);
	/* the environment names the simulator */
	setenv(AGENT_ENV_ENDPOINT, sim.sock, 1);
	assert_int_equal(agent_open(NULL, &a), 0);
	assert_int_equal(agent_info(a, &info), 0);
	assert_string_equal(info.app_name, "db");
	/* an older agent: no /Version */
	assert_int_equal(agent_version(a, &v), -ENOTSUP);
	agent_free(a);
	/* the option wins over the environment */
	setenv(AGENT_ENV_ENDPOINT, "/nonexistent/dstack.sock", 1);
	assert_int_equal(agent_open(sim.sock, &a), 0);
	agent_free(a);
	assert_int_equal(agent_open(NULL, &a), -ENOENT);
	assert_non_null(strstr(agent_last_error(), "/nonexistent/dstack.sock"));
	assert_non_null(strstr(agent_last_error(), AGENT_ENV_ENDPOINT));
	setenv(AGENT_ENV_ENDPOINT, "", 1);
	simproc_stop(&sim);

	/* an http endpoint: taken as given, then a transport error when dead */
	assert_int_equal(agent_open("http://127.0.0.1:1/", &a), 0);
	assert_string_equal(agent_endpoint(a), "http://127.0.0.1:1");
	assert_int_equal(agent_info(a, &info), -ECONNREFUSED);
	assert_non_null(strstr(agent_last_error(), "http://127.0.0.1:1"));
	agent_free(a);

	/* a simulator that went away */
	assert_int_equal(agent_open(sim.sock, &a), -ENOENT);
	assert_non_null(strstr(agent_last_error(), "no dstack guest agent at"));

	/* no agent at all (unless this machine runs one) */
	unsetenv(AGENT_ENV_ENDPOINT);
	for (i = 0; i < sizeof(probe) / sizeof(probe[0]); i++)
		any_agent |= stat(probe[i], &st) == 0;
	if (!any_agent) {
		assert_int_equal(agent_open(NULL, &a), -ENOENT);
		assert_string_equal(agent_last_error(),
			"no dstack guest agent at /var/run/dstack.sock, /run/dstack.sock, "
			"/var/run/dstack/dstack.sock, /run/dstack/dstack.sock (for development, "
			"start tests/tools/dstack-sim and set DSTACK_SIMULATOR_ENDPOINT=/path/to/sock)");
	}
}

/* ---- a misbehaving agent: a real unix-socket server with canned replies */

struct canned {
	int lfd;
	char path[108];
	const char *head;	/* status line and headers, without the blank line */
	const char *body;
	size_t body_len;	/* sent as Content-Length unless head has one */
	bool stop;
	pthread_t thread;
};

static void
canned_drain_request(int fd)
{
	char buf[8192];
	size_t len = 0;
	ssize_t n;

	/* The client's requests here are small: read the head and the body. */
	while (len < sizeof(buf) - 1) {
		const char *h;

		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		buf[len] = '\0';
		h = strstr(buf, "\r\n\r\n");
		if (h) {
			const char *cl = strcasestr(buf, "Content-Length:");
			size_t want = (size_t)(h - buf) + 4;

			if (cl) {
				uint64_t v = 0;
				char num[16];
				size_t k = 0;

				for (cl += 15; *cl == ' '; cl++)
					;
				while (k < sizeof(num) - 1 && cl[k] >= '0' && cl[k] <= '9') {
					num[k] = cl[k];
					k++;
				}
				num[k] = '\0';
				assert_int_equal(num_parse_u64(num, false, 0, 4096, &v), 0);
				want += (size_t)v;
			}
			if (len >= want)
				return;
		}
	}
}

static void *
canned_thread(void *arg)
{
	struct canned *c = arg;
	char head[512];
	int fd, n;

	for (;;) {
		fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0 || c->stop) {
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		canned_drain_request(fd);
		n = snprintf(head, sizeof(head), "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			     c->head, c->body_len);
		if (n > 0 && send(fd, head, (size_t)n, MSG_NOSIGNAL) == n)
			(void)!send(fd, c->body, c->body_len, MSG_NOSIGNAL);
		close(fd);
	}
}

static void
canned_start(struct canned *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/dpcanned.XXXXXX";

	memset(c, 0, sizeof(*c));
	assert_non_null(mkdtemp(dir));
	snprintf(c->path, sizeof(c->path), "%s/agent.sock", dir);
	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->lfd >= 0);
	assert_int_equal(bind(c->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(c->lfd, 8), 0);
	assert_int_equal(pthread_create(&c->thread, NULL, canned_thread, c), 0);
}

static void
canned_stop(struct canned *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *slash;
	int fd;

	c->stop = true;
	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	(void)!connect(fd, (struct sockaddr *)&sun, sizeof(sun));	/* wake accept() */
	pthread_join(c->thread, NULL);
	close(fd);
	close(c->lfd);
	unlink(c->path);
	slash = strrchr(c->path, '/');
	*slash = '\0';
	rmdir(c->path);
}

static void
canned_set(struct canned *c, const char *head, const char *body, size_t len)
{
	c->head = head;
	c->body = body;
	c->body_len = len;
}

#define SIG65 "9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e59" \
	      "4d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8efe330346dfc6c500"

static void
test_error_replies(void **state)
{
	static const char ok200[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json";
	static const char err400[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json";
	const char *s;
	struct agent_version v;
	struct agent_info info;
	struct agent_key k;
	struct canned c;
	struct agent *a;
	char *big;

	(void)state;
	canned_start(&c);
	assert_int_equal(agent_open(c.path, &a), 0);

	/* HTTP 400 with an error body: surfaced */
	s = "{\"error\":\"key path not allowed\"}";
	canned_set(&c, err400, s, strlen(s));
	assert_int_equal(agent_get_key(a, "p", "q", &k), -EREMOTEIO);
	assert_non_null(strstr(agent_last_error(), "key path not allowed"));
	assert_non_null(strstr(agent_last_error(), "/GetKey"));

	/* HTTP 500 with something else */
	s = "<html>oops</html>";
	canned_set(&c, "HTTP/1.1 500 Internal Server Error", s, strlen(s));
	assert_int_equal(agent_info(a, &info), -EPROTO);
	assert_non_null(strstr(agent_last_error(), "HTTP 500"));

	/* malformed JSON */
	s = "{\"key\": \"ab\",";
	canned_set(&c, ok200, s, strlen(s));
	assert_int_equal(agent_get_key(a, "p", "q", &k), -EBADMSG);
	assert_non_null(strstr(agent_last_error(), "malformed"));

	/* hex of the wrong length */
	s = "{\"key\":\"d6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d\","
	    "\"signature_chain\":[\"" SIG65 "\",\"" SIG65 "\"]}";
	canned_set(&c, ok200, s, strlen(s));
	assert_int_equal(agent_get_key(a, "p", "q", &k), -EBADMSG);

	/* tcb_info that is not JSON */
	s = "{\"app_id\":\"" APP_ID "\",\"instance_id\":\"" INST_ID "\","
	    "\"compose_hash\":\"c143116fef3940e7f776bfc0919c256232ae5338a6e948c96b711e0b2383483a\","
	    "\"tcb_info\":\"{not json\"}";
	canned_set(&c, ok200, s, strlen(s));
	assert_int_equal(agent_info(a, &info), -EBADMSG);

	/* an app deployed without an instance id */
	s = "{\"app_id\":\"" APP_ID "\",\"instance_id\":\"\","
	    "\"compose_hash\":\"c143116fef3940e7f776bfc0919c256232ae5338a6e948c96b711e0b2383483a\","
	    "\"tcb_info\":\"\"}";
	canned_set(&c, ok200, s, strlen(s));
	assert_int_equal(agent_info(a, &info), -ENODATA);
	assert_non_null(strstr(agent_last_error(), "no instance id"));

	/* /Version answered 404: an older agent */
	s = "Not Found";
	canned_set(&c, "HTTP/1.1 404 Not Found", s, strlen(s));
	assert_int_equal(agent_version(a, &v), -ENOTSUP);

	/* an oversized reply is refused, not truncated */
	big = malloc(AGENTMSG_MAX_REPLY + 4096);
	assert_non_null(big);
	memset(big, ' ', AGENTMSG_MAX_REPLY + 4096);
	big[0] = '{';
	canned_set(&c, ok200, big, AGENTMSG_MAX_REPLY + 4096);
	assert_int_equal(agent_info(a, &info), -E2BIG);
	assert_non_null(strstr(agent_last_error(), "exceeds"));

	agent_free(a);
	canned_stop(&c);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_version_key),
		cmocka_unit_test(test_endpoint_resolution),
		cmocka_unit_test(test_error_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
