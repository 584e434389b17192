/*
 * dstackp2pfs: mount the dstack peer registry at MOUNTPOINT.
 *
 *   dstackp2pfs [SOURCE] MOUNTPOINT [-f] [-d] [-s] [-o OPTIONS] | --help | --version
 *
 * SOURCE is accepted (and ignored) because mount.fuse3 passes it.  This file
 * only parses and validates; daemon.c does the work.  Exit codes: 0, 1 for a
 * usage or configuration error (the message names the bad option), 2 when
 * setup fails at run time.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "daemon.h"
#include "options.h"

#define MAIN_REST_MAX	1024	/* FUSE options left after ours */
#define MAIN_OPTS_MAX	8192	/* all -o lists, joined */

enum { EXIT_USAGE = 1, EXIT_SETUP = 2 };

static void
usage(FILE *f)
{
	fprintf(f,
"usage: dstackp2pfs [SOURCE] MOUNTPOINT [-f] [-d] [-s] -o contract=0x...,mode=tls,rpc=URL[,...]\n"
"       dstackp2pfs --help | --version\n"
"\n"
"Mounts this dstack instance's view of its cluster's peer registry: read\n"
"MOUNTPOINT/peers, write MOUNTPOINT/register to join.  See dstackp2pfs(8).\n"
"\n"
"general options:\n"
"    -f                     stay in the foreground (log to stderr)\n"
"    -d, -o debug           foreground, debug log and FUSE request tracing\n"
"    -s                     accepted for compatibility (the daemon is always multithreaded)\n"
"    -h, --help             this help\n"
"    -V, --version          print the version\n"
"\n");
	options_usage(f);
	fprintf(f,
"\n"
"FUSE options accepted (-o):\n"
"    allow_other            let every user see the mount (needs user_allow_other\n"
"                           in /etc/fuse.conf when not root)\n"
"    fsname=NAME, subtype=NAME, default_permissions, rw, nosuid, nodev, noexec,\n"
"    noatime, relatime, atime, suid, dev, exec   accepted; the mount is always\n"
"                           nosuid,nodev with default_permissions\n");
}

/* FUSE/mount options we accept but whose effect is fixed (see usage()). */
static bool
fuse_opt_ignored(const char *item)
{
	static const char *const plain[] = { "default_permissions", "rw", "nosuid", "nodev",
	    "noexec", "noatime", "relatime", "atime", "suid", "dev", "exec", "auto_unmount" };
	static const char *const keyed[] = { "fsname=", "subtype=" };
	size_t i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (strcmp(item, plain[i]) == 0)
			return true;
	for (i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++)
		if (strncmp(item, keyed[i], strlen(keyed[i])) == 0)
			return true;
	return false;
}

/* The FUSE options left over by options_apply_list(), one at a time. */
static int
apply_fuse_rest(struct daemon_config *c, char *rest)
{
	char *save = NULL, *item;

	for (item = strtok_r(rest, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (strcmp(item, "allow_other") == 0) {
			c->allow_other = true;
		} else if (strcmp(item, "debug") == 0) {
			c->debug = true;
			c->foreground = true;
		} else if (!fuse_opt_ignored(item)) {
			fprintf(stderr, "dstackp2pfs: unknown option '%.64s' (see --help)\n", item);
			return -EINVAL;
		}
	}
	return 0;
}

static int
join_opts(char *all, size_t allsz, size_t *used, const char *list)
{
	size_t n = strlen(list), need = n + (*used ? 1 : 0);

	if (need >= allsz - *used) {
		fprintf(stderr, "dstackp2pfs: -o options longer than %zu bytes\n", allsz - 1);
		return -E2BIG;
	}
	if (*used)
		all[(*used)++] = ',';
	memcpy(all + *used, list, n + 1);
	*used += n;
	return 0;
}

/*
 * Parse argv into c.  Returns 0, 1 when --help/--version was answered, or
 * -EINVAL after printing what is wrong.
 */
static int
parse_args(int argc, char **argv, struct daemon_config *c, char *all, size_t allsz)
{
	const char *pos[2];
	size_t npos = 0, used = 0;
	int i;

	all[0] = '\0';
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 1;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("dstackp2pfs %s\n", DP_VERSION);
			return 1;
		} else if (strcmp(a, "-f") == 0) {
			c->foreground = true;
		} else if (strcmp(a, "-d") == 0) {
			c->debug = c->foreground = true;
		} else if (strcmp(a, "-s") == 0) {
			continue;
		} else if (strcmp(a, "-o") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "dstackp2pfs: '-o' needs an option list\n");
				return -EINVAL;
			}
			if (join_opts(all, allsz, &used, argv[++i]) < 0)
				return -EINVAL;
		} else if (strncmp(a, "-o", 2) == 0) {
			if (join_opts(all, allsz, &used, a + 2) < 0)
				return -EINVAL;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "dstackp2pfs: unknown flag '%.64s' (see --help)\n", a);
			return -EINVAL;
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			fprintf(stderr, "dstackp2pfs: unexpected argument '%.256s'\n", a);
			return -EINVAL;
		}
	}
	if (npos == 0) {
		usage(stderr);
		return -EINVAL;
	}
	c->mountpoint = pos[npos - 1];	/* [SOURCE] MOUNTPOINT */
	return 0;
}

static int
check_mountpoint(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		fprintf(stderr, "dstackp2pfs: mount point '%.256s': %s\n", dir, strerror(errno));
		return -EINVAL;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "dstackp2pfs: mount point '%.256s' is not a directory\n", dir);
		return -EINVAL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static char all[MAIN_OPTS_MAX];
	char rest[MAIN_REST_MAX], err[OPTIONS_ERR_MAX];
	struct daemon_config c;
	int r;

	/* the derived keys live in this process: no core dumps, and no
	 * ptrace or /proc/PID/{mem,environ} access by other users */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 }) < 0) {
		fprintf(stderr, "dstackp2pfs: disabling core dumps failed: %s\n", strerror(errno));
		return EXIT_SETUP;
	}
	memset(&c, 0, sizeof(c));
	options_init(&c.opts);
	r = parse_args(argc, argv, &c, all, sizeof(all));
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	err[0] = '\0';
	r = options_apply_list(&c.opts, all, rest, sizeof(rest), err, sizeof(err));
	if (r == -E2BIG && !err[0])
		snprintf(err, sizeof(err), "the options not known to dstackp2pfs are too long");
	if (r == 0)
		r = options_finish(&c.opts, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "dstackp2pfs: %s\n", err);
		return EXIT_USAGE;
	}
	if (apply_fuse_rest(&c, rest) < 0 || check_mountpoint(c.mountpoint) < 0)
		return EXIT_USAGE;
	if (c.opts.log_syslog)
		c.use_syslog = true;
	return daemon_run(&c) < 0 ? EXIT_SETUP : EXIT_SUCCESS;
}
