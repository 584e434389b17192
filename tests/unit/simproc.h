/*
 * simproc: start and stop the real tests/tools/dstack-sim from a cmocka test.
 * Header-only helper shared by the agent, identity and gateway tests.
 */
#ifndef DP_TEST_SIMPROC_H
#define DP_TEST_SIMPROC_H

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SIMPROC_ARGS_MAX 24

struct simproc {
	pid_t pid;
	char dir[64];
	char sock[128];
	char pidfile[128];
	char sysconfig[128];
};

/*
 * Start dstack-sim on a socket in a fresh temporary directory with extra
 * arguments (NULL-terminated, may be NULL), --sys-config-out and --pidfile
 * set; wait (5 s at most) for the pidfile.  Returns 0 or -1.
 */
static int
simproc_start(struct simproc *s, const char *const *extra)
{
	const char *bindir = getenv("DP_BINARY_DIR");
	const char *argv[SIMPROC_ARGS_MAX];
	char prog[512];
	size_t n = 0;
	int i;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/dpsim.XXXXXX");
	if (!bindir || !mkdtemp(s->dir))
		return -1;
	snprintf(prog, sizeof(prog), "%s/dstack-sim", bindir);
	snprintf(s->sock, sizeof(s->sock), "%s/dstack.sock", s->dir);
	snprintf(s->pidfile, sizeof(s->pidfile), "%s/sim.pid", s->dir);
	snprintf(s->sysconfig, sizeof(s->sysconfig), "%s/sys-config.json", s->dir);
	argv[n++] = prog;
	argv[n++] = "--socket";
	argv[n++] = s->sock;
	argv[n++] = "--pidfile";
	argv[n++] = s->pidfile;
	argv[n++] = "--sys-config-out";
	argv[n++] = s->sysconfig;
	while (extra && *extra && n < SIMPROC_ARGS_MAX - 1)
		argv[n++] = *extra++;
	argv[n] = NULL;
	if (posix_spawn(&s->pid, prog, NULL, NULL, (char *const *)(uintptr_t)argv, environ) != 0)
		return -1;
	for (i = 0; i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (access(s->pidfile, F_OK) == 0)
			return 0;
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* Stop the simulator (SIGTERM, wait) and remove its directory. */
static void
simproc_stop(struct simproc *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	unlink(s->sock);
	unlink(s->pidfile);
	unlink(s->sysconfig);
	if (s->dir[0])
		rmdir(s->dir);
}

#endif
