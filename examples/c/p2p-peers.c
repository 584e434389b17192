/*
 * p2p-peers: example client of the dstackp2p API (src/dstackp2p.h).
 *
 *   p2p-peers [-m MOUNT] [-r | -l]    register (-r) or leave (-l), then
 *                                     print the peers, one per line
 *   p2p-peers [-m MOUNT] -w [-c N]    print the current list, then each new
 *                                     list, from an epoll loop on the watch
 *                                     fd; a list is preceded by "# N peers";
 *                                     stop after N lists with -c
 *
 * Exit status: 0 ok, 1 usage, 2 register/leave refused (errno in the
 * message), 3 the mount cannot be read or watched.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "dstackp2p.h"
#include "hex.h"

static void
print_list(const struct dstackp2p_peers *p, bool header)
{
	size_t i;

	if (header)
		printf("# %zu peers\n", p->n);
	for (i = 0; i < p->n; i++)
		printf("%s\n", p->v[i]);
	fflush(stdout);
}

/* The epoll way: the watch fd sits in the loop next to whatever else. */
static int
watch_loop(const char *mount, uint64_t count)
{
	struct epoll_event ev = { .events = EPOLLIN }, got;
	struct dstackp2p_peers last = { 0 }, now;
	uint64_t shown = 0;
	bool changed = true;
	int ep, wfd, r;

	r = dstackp2p_watch_open(mount, &wfd);
	if (r < 0)
		return r;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, wfd, &ev) < 0) {
		r = -errno;
		goto out_close;
	}
	for (;;) {
		if (changed) {
			r = dstackp2p_read_peers(mount, &now);
			if (r < 0)
				break;
			if (shown && dstackp2p_peers_equal(&now, &last)) {
				dstackp2p_peers_release(&now);
			} else {
				dstackp2p_peers_release(&last);
				last = now;
				print_list(&last, true);
				if (++shown == count)
					break;
			}
		}
		if (epoll_wait(ep, &got, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		r = dstackp2p_watch_drain(wfd, &changed);
		if (r < 0)
			break;
	}
	dstackp2p_peers_release(&last);
out_close:
	if (ep >= 0)
		close(ep);
	close(wfd);
	return r;
}

int
main(int argc, char **argv)
{
	const char *mount = DSTACKP2P_MOUNT_DEFAULT;
	struct dstackp2p_peers peers;
	uint64_t count = 0;
	int opt, r, op = 0;
	bool watch = false;

	while ((opt = getopt(argc, argv, "m:rlwc:")) != -1) {
		switch (opt) {
		case 'm': mount = optarg; break;
		case 'r': case 'l': op = opt; break;
		case 'w': watch = true; break;
		case 'c':
			if (num_parse_u64(optarg, false, 1, UINT64_MAX, &count) < 0)
				goto usage;
			break;
		default: goto usage;
		}
	}
	if (optind != argc || (watch && op))
		goto usage;
	if (op) {
		r = op == 'r' ? dstackp2p_register(mount) : dstackp2p_leave(mount);
		if (r < 0) {
			fprintf(stderr, "p2p-peers: %s refused: %s (%s)\n",
			    op == 'r' ? "register" : "leave", strerrorname_np(-r),
			    strerror(-r));
			return 2;
		}
	}
	if (watch)
		r = watch_loop(mount, count);
	else if ((r = dstackp2p_read_peers(mount, &peers)) == 0) {
		print_list(&peers, false);
		dstackp2p_peers_release(&peers);
	}
	if (r < 0) {
		fprintf(stderr, "p2p-peers: cannot read the peers under '%s': %s\n",
		    mount, strerror(-r));
		return 3;
	}
	return 0;
usage:
	fprintf(stderr, "usage: p2p-peers [-m MOUNT] [-r | -l] | [-m MOUNT] -w [-c N]\n");
	return 1;
}
