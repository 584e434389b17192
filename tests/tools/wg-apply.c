/*
 * wg-apply: drive the WireGuard applier (wgapply) with peer sets from a
 * file, for the end-to-end, QEMU and benchmark scripts.
 *
 *   wg-apply pub SEEDHEX
 *	print the public key (hex, then base64) of the key pair made from 32 seed bytes
 *	(clamped as identity_wg_from_bytes() does)
 *   wg-apply apply -i IFNAME -s SEEDHEX -m 10.0.1.0/24 -t TOKEN -f PEERS
 *		[-b auto|kernel|userspace] [-p PORT] [-k KEEPALIVE] [-u UAPIDIR]
 *		[-l INTERVAL_MS -n COUNT] [-S]
 *	set up IFNAME (token TOKEN's mesh address) and apply the peers in
 *	PEERS, one "TOKEN PUBHEX ENDPOINT" per line; with -l, re-read and
 *	re-apply every INTERVAL_MS, COUNT times (0: until SIGTERM).  Prints
 *	one line per apply: "apply backend=.. added=N updated=N removed=N
 *	device=N messages=N usec=N"; -S adds "peer TOKEN handshake=.. rx=.. tx=..".
 *   wg-apply time CMD [ARG...]
 *	run CMD and print "time usec=N rc=N" (busybox has no sub-second timer)
 *   wg-apply dump -i IFNAME [-b kernel|userspace] [-u UAPIDIR]
 *	print the device read back: "device peers=N port=N" and one
 *	"peer PUBHEX endpoint=.. allowed=.. keepalive=.." line per peer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hex.h"
#include "identity.h"
#include "wgapply.h"
#include "wgnl.h"
#include "wguapi.h"

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: wg-apply pub SEEDHEX | apply -i IF -s SEED -m NET/P -t TOKEN -f FILE "
		"[-b B] [-p PORT] [-k KA] [-u DIR] [-l MS -n N] [-S] | dump -i IF [-b B] [-u DIR]\n");
	return 2;
}

static int
keys_from_seed(const char *hex, struct identity_wg *ret)
{
	uint8_t seed[32];
	int r;

	if (hex_decode_exact(hex, strlen(hex), seed, sizeof(seed)) < 0)
		return -EINVAL;
	r = identity_wg_from_bytes(seed, ret);
	explicit_bzero(seed, sizeof(seed));
	return r;
}

static int
parse_net(const char *s, struct in_addr *net, uint8_t *prefix)
{
	char a[32];
	const char *slash = strchr(s, '/');
	uint64_t p;

	if (!slash || (size_t)(slash - s) >= sizeof(a))
		return -EINVAL;
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	if (inet_pton(AF_INET, a, net) != 1 || num_parse_u64(slash + 1, false, 8, 30, &p) < 0)
		return -EINVAL;
	*prefix = (uint8_t)p;
	return 0;
}

static struct in_addr
host_of(struct in_addr net, uint64_t token)
{
	struct in_addr a = { htonl(ntohl(net.s_addr) + (uint32_t)token) };

	return a;
}

/* Read "TOKEN PUBHEX ENDPOINT" lines into peers (at most PEERS_MAX). */
static int
read_peers(const char *path, struct in_addr net, struct peer *peers, size_t *ret_n)
{
	char line[512], tok[32], pub[80], ep[ENDPOINT_MAX + 1];
	FILE *f = fopen(path, "re");
	size_t n = 0;
	uint64_t t;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *a = strtok_r(line, " \t\n", &save);
		char *b = a ? strtok_r(NULL, " \t\n", &save) : NULL;
		char *c = b ? strtok_r(NULL, " \t\n", &save) : NULL;

		if (!a || !b || !c)
			continue;
		if (n == PEERS_MAX || snprintf(tok, sizeof(tok), "%s", a) >= (int)sizeof(tok) ||
		    snprintf(pub, sizeof(pub), "%s", b) >= (int)sizeof(pub) ||
		    snprintf(ep, sizeof(ep), "%s", c) >= (int)sizeof(ep) ||
		    num_parse_u64(tok, false, 1, UINT32_MAX, &t) < 0) {
			fclose(f);
			return -EINVAL;
		}
		memset(&peers[n], 0, sizeof(peers[n]));
		peers[n].token_id = t;
		peers[n].net = PEER_NET_WIREGUARD;
		/* a key of the wrong length is kept as no key (has_wg false) */
		peers[n].has_wg = wg_key_from_hex(pub, strlen(pub), peers[n].wg_pubkey) == 0;
		memcpy(peers[n].endpoint, ep, strlen(ep) + 1);
		peers[n].mesh_ip = host_of(net, t);
		n++;
	}
	fclose(f);
	*ret_n = n;
	return 0;
}

static enum wg_backend_choice
backend_of(const char *s)
{
	if (!s || strcmp(s, "auto") == 0)
		return WG_BACKEND_AUTO;
	return strcmp(s, "kernel") == 0 ? WG_BACKEND_KERNEL : WG_BACKEND_USERSPACE;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int
apply_once(struct wgapply *a, const char *file, struct in_addr net, bool stats)
{
	static struct peer peers[PEERS_MAX];
	struct wgapply_stats st;
	uint64_t t0;
	size_t n, i;
	int r;

	r = read_peers(file, net, peers, &n);
	if (r < 0) {
		fprintf(stderr, "wg-apply: cannot read '%s': %s\n", file, strerror(-r));
		return r;
	}
	t0 = now_us();
	r = wgapply_set_peers(a, peers, n);
	if (r < 0) {
		fprintf(stderr, "wg-apply: apply failed: %s\n", strerror(-r));
		return r;
	}
	wgapply_get_stats(a, &st);
	printf("apply backend=%s added=%u updated=%u removed=%u device=%u messages=%u skipped=%llu usec=%llu\n",
	       wgapply_backend_name(a), st.last_added, st.last_updated, st.last_removed,
	       st.last_device, st.last_messages, (unsigned long long)st.skipped,
	       (unsigned long long)(now_us() - t0));
	if (stats && wgapply_fill_stats(a, peers, n) == 0)
		for (i = 0; i < n; i++)
			if (peers[i].wg.valid)
				printf("peer %llu handshake=%llu rx=%llu tx=%llu\n",
				       (unsigned long long)peers[i].token_id,
				       (unsigned long long)peers[i].wg.latest_handshake,
				       (unsigned long long)peers[i].wg.rx_bytes,
				       (unsigned long long)peers[i].wg.tx_bytes);
	fflush(stdout);
	return 0;
}

static int
cmd_apply(int argc, char **argv)
{
	struct wgapply_config cfg;
	struct identity_wg key;
	struct wgapply *a;
	char err[WGAPPLY_ERR_MAX];
	const char *seed = NULL, *file = NULL, *mesh = "10.0.1.0/24";
	uint64_t token = 0, v, interval = 0, count = 1, i;
	bool stats = false;
	int c, r;

	memset(&cfg, 0, sizeof(cfg));
	cfg.listen_port = 51820;
	cfg.keepalive = 25;
	while ((c = getopt(argc, argv, "i:s:m:t:f:b:p:k:u:l:n:S")) != -1) {
		switch (c) {
		case 'i': snprintf(cfg.ifname, sizeof(cfg.ifname), "%s", optarg); break;
		case 's': seed = optarg; break;
		case 'm': mesh = optarg; break;
		case 't': if (num_parse_u64(optarg, false, 1, UINT32_MAX, &token) < 0) return usage(); break;
		case 'f': file = optarg; break;
		case 'b': cfg.backend = backend_of(optarg); break;
		case 'p': if (num_parse_u64(optarg, false, 0, 65535, &v) < 0) return usage();
			cfg.listen_port = (uint16_t)v; break;
		case 'k': if (num_parse_u64(optarg, false, 0, 65535, &v) < 0) return usage();
			cfg.keepalive = (uint16_t)v; break;
		case 'u': cfg.uapi_dir = optarg; break;
		case 'l': if (num_parse_u64(optarg, false, 1, 3600000, &interval) < 0) return usage(); break;
		case 'n': if (num_parse_u64(optarg, false, 0, UINT32_MAX, &count) < 0) return usage(); break;
		case 'S': stats = true; break;
		default: return usage();
		}
	}
	if (!seed || !file || !token || !cfg.ifname[0] ||
	    parse_net(mesh, &cfg.mesh_net, &cfg.mesh_prefix) < 0)
		return usage();
	if (keys_from_seed(seed, &key) < 0)
		return usage();
	memcpy(cfg.private_key, key.sk, 32);
	memcpy(cfg.public_key, key.pub, 32);
	identity_wg_release(&key);
	cfg.mesh_ip = host_of(cfg.mesh_net, token);
	r = wgapply_new(&cfg, &a, err, sizeof(err));
	explicit_bzero(cfg.private_key, sizeof(cfg.private_key));
	if (r < 0) {
		fprintf(stderr, "wg-apply: %s\n", err);
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	for (i = 0; !stop && (count == 0 || i < count); i++) {
		if (i > 0)
			usleep((useconds_t)(interval * 1000));
		if (stop)
			break;
		r = apply_once(a, file, cfg.mesh_net, stats);
		if (r < 0 && !interval)
			break;
	}
	wgapply_free(a);
	return r < 0 ? 1 : 0;
}

static int
cmd_dump(int argc, char **argv)
{
	char ifname[IFNAMSIZ] = "", hex[WG_KEY_HEX_LEN + 1], ep[80];
	const char *dir = NULL;
	bool kernel = false;
	struct wg_device d;
	struct wgnl *nl = NULL;
	size_t i, j;
	int c, r;

	while ((c = getopt(argc, argv, "i:b:u:")) != -1) {
		switch (c) {
		case 'i': snprintf(ifname, sizeof(ifname), "%s", optarg); break;
		case 'b': kernel = strcmp(optarg, "kernel") == 0; break;
		case 'u': dir = optarg; break;
		default: return usage();
		}
	}
	if (!ifname[0])
		return usage();
	if (kernel) {
		r = wgnl_open(&nl);
		if (r == 0)
			r = wgnl_get_device(nl, ifname, &d);
		wgnl_close(nl);
	} else {
		r = wguapi_get(dir, ifname, &d);
	}
	if (r < 0) {
		fprintf(stderr, "wg-apply: cannot read '%s': %s\n", ifname, strerror(-r));
		return 1;
	}
	printf("device peers=%zu port=%u\n", d.npeers, (unsigned int)d.listen_port);
	for (i = 0; i < d.npeers; i++) {
		wg_key_to_hex(d.peers[i].public_key, hex);
		if (wg_endpoint_format(&d.peers[i].endpoint, ep, sizeof(ep)) < 0)
			snprintf(ep, sizeof(ep), "none");
		printf("peer %s endpoint=%s keepalive=%u allowed=", hex, ep,
		       (unsigned int)d.peers[i].keepalive);
		for (j = 0; j < d.peers[i].nallowed; j++) {
			char a[INET6_ADDRSTRLEN];

			inet_ntop(d.peers[i].allowed[j].family, &d.peers[i].allowed[j].addr, a, sizeof(a));
			printf("%s%s/%u", j ? "," : "", a, (unsigned int)d.peers[i].allowed[j].cidr);
		}
		printf("\n");
	}
	wg_device_release(&d);
	return 0;
}

static int
cmd_time(char **argv)
{
	uint64_t t0 = now_us();
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	printf("time usec=%llu rc=%d\n", (unsigned long long)(now_us() - t0),
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int
main(int argc, char **argv)
{
	struct identity_wg key;
	char hex[WG_KEY_HEX_LEN + 1], b64[IDENTITY_WG_B64_LEN + 1];

	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "pub") == 0 && argc == 3) {
		if (keys_from_seed(argv[2], &key) < 0)
			return usage();
		wg_key_to_hex(key.pub, hex);
		identity_wg_base64(key.pub, b64);
		identity_wg_release(&key);
		printf("%s %s\n", hex, b64);
		return 0;
	}
	if (strcmp(argv[1], "apply") == 0)
		return cmd_apply(argc - 1, argv + 1);
	if (strcmp(argv[1], "time") == 0 && argc > 2)
		return cmd_time(argv + 2);
	if (strcmp(argv[1], "dump") == 0)
		return cmd_dump(argc - 1, argv + 1);
	return usage();
}
