/*
 * p2pfs-readbench: open+read+close of one file in a loop for a while; prints
 * "<ops/s> <us/op> <bytes>".  Used by tests/bench/bench_read.sh to compare
 * /p2p/peers with the same bytes on tmpfs.
 *
 *   p2pfs-readbench FILE MILLISECONDS
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static char buf[1 << 17];
	uint64_t ms, ops = 0;
	double t0, t1, deadline;
	ssize_t n, total = 0;
	int fd;

	log_init(1, 0);
	if (argc != 3 || num_parse_u64(argv[2], false, 1, 600000, &ms) < 0)
		fatalx("usage: p2pfs-readbench FILE MILLISECONDS");
	t0 = now();
	deadline = t0 + (double)ms / 1000.0;
	do {
		for (int i = 0; i < 256; i++) {
			fd = open(argv[1], O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				fatal("open '%s'", argv[1]);
			total = 0;
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				total += n;
			if (n < 0)
				fatal("read '%s'", argv[1]);
			close(fd);
			ops++;
		}
		t1 = now();
	} while (t1 < deadline);
	printf("%.0f %.2f %zd\n", (double)ops / (t1 - t0),
	    (t1 - t0) * 1e6 / (double)ops, total);
	return 0;
}
