/*
 * Test fixture (header-only, included by the cmocka tests that need a real
 * chain): start anvil on 127.0.0.1 on a free port, wait until it listens,
 * kill it at the end (also if the test process dies: PR_SET_PDEATHSIG).
 *
 * Also the dev accounts anvil derives from its default mnemonic (printed by
 * anvil at start and in the Foundry book) and a tiny hand-assembled test
 * contract.
 */
#ifndef DP_TEST_ANVIL_FIXTURE_H
#define DP_TEST_ANVIL_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* anvil dev accounts 0 and 1 (default mnemonic "test test ... junk") */
#define ANVIL_SK0 "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define ANVIL_ADDR0 "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
#define ANVIL_SK1 "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define ANVIL_ADDR1 "70997970c51812dc3a010c7d01b50e0d17dc79c8"
#define ANVIL_CHAIN_ID 31337

/*
 * Test contract, init code + runtime (hand-assembled):
 *   runtime (68 bytes):
 *     00 PUSH1 0 CALLDATALOAD PUSH1 0xf8 SHR      ; first calldata byte
 *     06 PUSH1 1 EQ PUSH1 0x1e JUMPI              ; == 1: go revert
 *     0c PUSH1 0x2a PUSH1 0 MSTORE                ; mem[0..32) = uint256(42)
 *     11 PUSH1 0 CALLDATALOAD PUSH1 0x20 PUSH1 0 LOG1  ; log(data 42, topic = calldata word)
 *     19 PUSH1 0x20 PUSH1 0 RETURN                ; return uint256(42)
 *     1e JUMPDEST                                 ; revert Error("nope"):
 *     1f PUSH4 0x08c379a0 PUSH1 0xe0 SHL PUSH1 0 MSTORE        ; selector
 *     2a PUSH1 0x20 PUSH1 4 MSTORE                ; offset
 *     2f PUSH1 4 PUSH1 0x24 MSTORE                ; length
 *     34 PUSH4 "nope" PUSH1 0xe0 SHL PUSH1 0x44 MSTORE
 *     3f PUSH1 0x64 PUSH1 0 REVERT
 *   init (12 bytes): PUSH1 0x44 PUSH1 0x0c PUSH1 0 CODECOPY PUSH1 0x44 PUSH1 0 RETURN
 * Calldata whose first byte is 1 reverts with "nope"; anything else logs
 * (topic0 = first calldata word, data = 42) and returns uint256(42).
 */
static const uint8_t test_contract_init[] = {
	0x60, 0x44, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x44, 0x60, 0x00, 0xf3,
	0x60, 0x00, 0x35, 0x60, 0xf8, 0x1c, 0x60, 0x01, 0x14, 0x60, 0x1e, 0x57,
	0x60, 0x2a, 0x60, 0x00, 0x52,
	0x60, 0x00, 0x35, 0x60, 0x20, 0x60, 0x00, 0xa1,
	0x60, 0x20, 0x60, 0x00, 0xf3,
	0x5b, 0x63, 0x08, 0xc3, 0x79, 0xa0, 0x60, 0xe0, 0x1b, 0x60, 0x00, 0x52,
	0x60, 0x20, 0x60, 0x04, 0x52,
	0x60, 0x04, 0x60, 0x24, 0x52,
	0x63, 0x6e, 0x6f, 0x70, 0x65, 0x60, 0xe0, 0x1b, 0x60, 0x44, 0x52,
	0x60, 0x64, 0x60, 0x00, 0xfd,
};

struct anvil {
	pid_t pid;
	uint16_t port;
	char url[64];
};

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
static uint16_t
anvil_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		fprintf(stderr, "anvil fixture: cannot find a free port: %s\n", strerror(errno));
		abort();
	}
	close(fd);
	return ntohs(sa.sin_port);
}

static int
anvil_listening(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/*
 * Start anvil with extra arguments (NULL-terminated list, may be NULL).
 * Aborts the test run with a clear message when anvil is missing or does not
 * come up: a missing chain is a failure, never a skip.
 */
static void
anvil_start(struct anvil *a, char *const *extra)
{
	const char *src = getenv("DP_SOURCE_DIR");
	char bin[4096], port[8];
	char *argv[32];
	size_t n = 0, i;
	int status, devnull, tries;

	if (!src) {
		fprintf(stderr, "anvil fixture: DP_SOURCE_DIR is not set (run through ctest)\n");
		abort();
	}
	if ((size_t)snprintf(bin, sizeof(bin), "%s/contracts/node_modules/.bin/anvil", src) >= sizeof(bin) ||
	    access(bin, X_OK) != 0) {
		fprintf(stderr, "anvil fixture: '%s' missing: run tests/setup.sh\n", bin);
		abort();
	}
	a->port = anvil_free_port();
	snprintf(port, sizeof(port), "%u", a->port);
	snprintf(a->url, sizeof(a->url), "http://127.0.0.1:%u", a->port);
	argv[n++] = bin;
	argv[n++] = "--host";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--port";
	argv[n++] = port;
	for (i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	a->pid = fork();
	if (a->pid < 0)
		abort();
	if (a->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execv(bin, argv);
		_exit(127);
	}
	for (tries = 0; tries < 300; tries++) {
		if (anvil_listening(a->port))
			return;
		if (waitpid(a->pid, &status, WNOHANG) == a->pid) {
			fprintf(stderr, "anvil fixture: anvil exited before listening\n");
			abort();
		}
		usleep(100 * 1000);
	}
	fprintf(stderr, "anvil fixture: anvil did not listen on %u within 30 s\n", a->port);
	kill(a->pid, SIGKILL);
	abort();
}

static void
anvil_stop(struct anvil *a)
{
	if (a->pid <= 0)
		return;
	kill(a->pid, SIGTERM);
	waitpid(a->pid, NULL, 0);
	a->pid = 0;
}

#endif
