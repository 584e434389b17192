/*
 * p2pfs-view: mount the /p2p view (src/fs.c) with content fed by a test.
 *
 *   p2pfs-view [-s] [-a] [-d] MOUNTPOINT CONTROL-FIFO ACK-FILE
 *     -s strict mode (FS_MODE_STRICT), -a allow_other, -d libfuse debug
 *
 * Commands, one per line on CONTROL-FIFO; after each one a line
 * "<n> ok <command>" or "<n> err <errno> <command>" is appended to ACK-FILE
 * (n counts commands from 1), once its effects are delivered:
 *   publish FILE   peers from FILE, one per line: "TOKEN ENDPOINT" (TLS) or
 *                  "TOKEN wg MESH-IP"; an empty file publishes no peer
 *   status TEXT    status becomes "TEXT\n"
 *   self FILE      self becomes the bytes of FILE (at most SNAPSHOT_TEXT_MAX)
 *   reg ERRNO MS   later register writes: the callback sleeps MS ms, then
 *                  returns -ERRNO (0: success)
 *   quit           unmount and exit
 * The register callback appends "reg register" or "reg leave" to ACK-FILE
 * when it starts and "reg done <errno>" when it returns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "hex.h"
#include "log.h"
#include "snapshot.h"

static struct fs *view;
static const char *ack_path;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t reg_errno, reg_delay_ms;	/* reg_lock */
static uint64_t generation;

static void
ack(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
ack(const char *fmt, ...)
{
	va_list ap;
	FILE *f = fopen(ack_path, "ae");

	if (!f)
		fatal("open '%s'", ack_path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	if (fclose(f) != 0)
		fatal("write '%s'", ack_path);
}

static void
set_register(const struct snapshot_reg *g)
{
	struct buf b;

	buf_init(&b, SNAPSHOT_TEXT_MAX);
	if (snapshot_render_register(g, &b) < 0 ||
	    fs_set_text(view, FS_TEXT_REGISTER, b.data, b.len) < 0)
		fatalx("cannot set the register text");
	buf_release(&b);
}

static int
reg_request(void *arg, enum fs_reg_op op)
{
	struct snapshot_reg g = { .state = SNAPSHOT_REG_PENDING };
	struct timespec ts;
	uint64_t e, ms;

	(void)arg;
	pthread_mutex_lock(&reg_lock);
	e = reg_errno;
	ms = reg_delay_ms;
	pthread_mutex_unlock(&reg_lock);
	ack("reg %s", op == FS_REG_LEAVE ? "leave" : "register");
	if (op == FS_REG_LEAVE)
		g.state = SNAPSHOT_REG_LEAVING;
	set_register(&g);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	memset(&g, 0, sizeof(g));
	if (e) {
		g.state = SNAPSHOT_REG_FAILED;
		g.error = (int)e;
		g.reason = "refused by the test harness";
	} else if (op == FS_REG_REGISTER) {
		g.state = SNAPSHOT_REG_REGISTERED;
		g.token_id = 1;
		memset(g.tx_hash, 0xab, sizeof(g.tx_hash));
		g.block = 42;
	}
	set_register(&g);
	ack("reg done %d", (int)e);
	return -(int)e;
}

static int
parse_peer_line(char *line, struct peer *p)
{
	char *save = NULL, *tok, *ep, *ip;
	size_t len;
	int r;

	memset(p, 0, sizeof(*p));
	tok = strtok_r(line, " \t", &save);
	ep = strtok_r(NULL, " \t", &save);
	if (!tok || !ep)
		return -EINVAL;
	r = num_parse_u64(tok, false, 0, UINT64_MAX, &p->token_id);
	if (r < 0)
		return r;
	p->instance_id[19] = (uint8_t)p->token_id;
	p->address[19] = (uint8_t)p->token_id;
	p->last_heartbeat = 1000;
	if (strcmp(ep, "wg") == 0) {
		ip = strtok_r(NULL, " \t", &save);
		if (!ip || inet_pton(AF_INET, ip, &p->mesh_ip) != 1)
			return -EINVAL;
		p->net = PEER_NET_WIREGUARD;
		p->has_wg = true;
		memset(p->wg_pubkey, (int)p->token_id, sizeof(p->wg_pubkey));
		return 0;
	}
	len = strlen(ep);
	if (len > ENDPOINT_MAX)
		return -E2BIG;
	memcpy(p->endpoint, ep, len + 1);
	p->net = PEER_NET_TLS;
	return 0;
}

static int
cmd_publish(char *path)
{
	static struct peer peers[PEERS_MAX];
	struct snapshot *s;
	char line[512];
	size_t n = 0;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (r == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		if (n == PEERS_MAX)
			r = -E2BIG;
		else
			r = parse_peer_line(line, &peers[n++]);
	}
	fclose(f);
	if (r < 0)
		return r;
	r = snapshot_new(peers, n, ++generation, &s);
	if (r < 0)
		return r;
	r = fs_publish(view, s);
	snapshot_unref(s);
	return r < 0 ? r : fs_flush(view);
}

static int
cmd_self(const char *path)
{
	char text[SNAPSHOT_TEXT_MAX + 1];
	size_t n;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(text, 1, sizeof(text), f);
	r = ferror(f) ? -EIO : 0;
	fclose(f);
	if (r < 0)
		return r;
	if (n > SNAPSHOT_TEXT_MAX)
		return -E2BIG;
	r = fs_set_text(view, FS_TEXT_SELF, text, n);
	return r < 0 ? r : fs_flush(view);
}

static int
cmd_reg(char *args)
{
	char *save = NULL, *e = strtok_r(args, " ", &save);
	char *ms = strtok_r(NULL, " ", &save);
	uint64_t ev, msv;

	if (!e || !ms || num_parse_u64(e, false, 0, 4095, &ev) < 0 ||
	    num_parse_u64(ms, false, 0, 600000, &msv) < 0)
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	reg_errno = ev;
	reg_delay_ms = msv;
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

static int
run_command(char *line, bool *quit)
{
	char text[SNAPSHOT_TEXT_MAX];
	int n, r;

	if (strncmp(line, "publish ", 8) == 0)
		return cmd_publish(line + 8);
	if (strncmp(line, "reg ", 4) == 0)
		return cmd_reg(line + 4);
	if (strncmp(line, "self ", 5) == 0)
		return cmd_self(line + 5);
	if (strncmp(line, "status ", 7) == 0) {
		n = snprintf(text, sizeof(text), "%s\n", line + 7);
		if (n < 0 || (size_t)n >= sizeof(text))
			return -E2BIG;
		r = fs_set_text(view, FS_TEXT_STATUS, text, (size_t)n);
		return r < 0 ? r : fs_flush(view);
	}
	if (strcmp(line, "quit") == 0) {
		*quit = true;
		return 0;
	}
	return -EINVAL;
}

static void *
control_main(void *arg)
{
	const char *fifo = arg;
	char line[4096];
	unsigned int count = 0;
	bool quit = false;
	FILE *f;
	int fd, r;

	/* O_RDWR: the FIFO never reports EOF when a test's writer closes. */
	fd = open(fifo, O_RDWR | O_CLOEXEC);
	if (fd < 0 || !(f = fdopen(fd, "r")))
		fatal("open '%s'", fifo);
	while (!quit && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		r = run_command(line, &quit);
		count++;
		if (r < 0)
			ack("%u err %d %s", count, -r, line);
		else
			ack("%u ok %s", count, line);
	}
	fclose(f);
	fs_stop(view);
	return NULL;
}

static void *
signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig;

	if (sigwait(set, &sig) == 0)
		fs_stop(view);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct fs_config cfg = { .mode = FS_MODE_FAST, .reg_request = reg_request };
	static sigset_t set;
	pthread_t ctl, sigt;
	uint64_t gid;
	int opt, r;

	log_init(1, 0);
	while ((opt = getopt(argc, argv, "sadg:")) != -1) {
		switch (opt) {
		case 'g':
			if (num_parse_u64(optarg, false, 0, UINT32_MAX - 1, &gid) < 0)
				fatalx("bad gid '%s'", optarg);
			cfg.has_register_gid = true;
			cfg.register_gid = (uint32_t)gid;
			break;
		case 's': cfg.mode = FS_MODE_STRICT; break;
		case 'a': cfg.allow_other = true; break;
		case 'd': cfg.debug = true; break;
		default: fatalx("usage: p2pfs-view [-s] [-a] [-d] [-g GID] MNT FIFO ACK");
		}
	}
	if (argc - optind != 3)
		fatalx("usage: p2pfs-view [-s] [-a] [-d] [-g GID] MNT FIFO ACK");
	cfg.mountpoint = argv[optind];
	ack_path = argv[optind + 2];
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	r = fs_new(&cfg, &view);
	if (r < 0)
		fatalx("cannot mount the view at '%s': %s", cfg.mountpoint,
		    strerror(-r));
	if (pthread_create(&ctl, NULL, control_main, argv[optind + 1]) != 0 ||
	    pthread_create(&sigt, NULL, signal_main, &set) != 0)
		fatalx("cannot start threads");
	pthread_detach(ctl);
	pthread_detach(sigt);
	ack("0 ok mounted");
	r = fs_run(view);
	fs_free(view);
	if (r < 0)
		log_warnx("fuse loop: %s", strerror(-r));
	return r < 0;
}
