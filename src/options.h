/*
 * options: the daemon's mount options (-o key=value,...), validated.
 *
 * options_apply() takes one "key" or "key=value" item as FUSE's option parser
 * hands it over; items that are not ours are left for FUSE.  options_finish()
 * checks what needs the whole set and fills in defaults.  Every error comes
 * with a message that names the option and says what is wrong with it.
 * Pure: no I/O, no logging.
 */
#ifndef DP_OPTIONS_H
#define DP_OPTIONS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "endpoint.h"

#define OPTIONS_RPC_MAX		8	/* rpc=URL|URL|... */
#define OPTIONS_URL_MAX		512	/* one RPC URL, without NUL */
#define OPTIONS_PATH_MAX	256	/* agent socket, sys-config path */
#define OPTIONS_IFNAME_MAX	15	/* IFNAMSIZ - 1 */
#define OPTIONS_ERR_MAX		256	/* room for an error message */

enum p2p_mode {
	P2P_MODE_TLS,
	P2P_MODE_WIREGUARD,
};

enum wg_backend_choice {
	WG_BACKEND_AUTO,
	WG_BACKEND_KERNEL,
	WG_BACKEND_USERSPACE,
};

struct options {
	uint8_t contract[20];
	bool has_contract;
	enum p2p_mode mode;
	bool has_mode;
	char rpc[OPTIONS_RPC_MAX][OPTIONS_URL_MAX + 1];
	size_t nrpc;
	uint64_t chain_id;		/* expected chain id, when has_chain_id */
	bool has_chain_id;
	uint64_t poll_ms;		/* chain poll interval */
	uint64_t confirmations;		/* blocks behind the head that count as final */
	uint64_t heartbeat_ms;		/* 0: a third of the contract's TTL */
	uint64_t rpc_timeout_ms;
	uint32_t quorum;		/* RPC providers that must agree (1: no check) */
	uint16_t app_port;		/* TLS mode: the app's port behind the gateway */
	bool passthrough;		/* TLS mode: the gateway passes TLS through ("s") */
	char agent[OPTIONS_PATH_MAX + 1];	/* guest-agent socket or URL; "" = probe */
	char sysconfig[OPTIONS_PATH_MAX + 1];	/* host-shared sys-config path; "" = default */
	char gateway_domain[254];		/* explicit gateway base domain; "" = discover */
	char endpoint[ENDPOINT_MAX + 1];	/* explicit own endpoint; "" = discover */
	bool has_register_gid;
	uint32_t register_gid;		/* this group may write register too */
	uint64_t low_balance_wei;	/* warn in status below this balance */
	bool fast_read;			/* page-cache reads, no open(): fast, can tear (README) */
	bool log_syslog;		/* log to syslog even in the foreground */
	/* WireGuard mode */
	char wg_ifname[OPTIONS_IFNAME_MAX + 1];
	uint16_t wg_port;		/* listen port */
	enum wg_backend_choice wg_backend;
	struct in_addr mesh_net;	/* network address, host order cleared */
	uint8_t mesh_prefix;		/* 8..30 */
	uint16_t wg_keepalive;		/* seconds */
};

/* Fill o with defaults: nothing set that has no sane default. */
void options_init(struct options *o);

/*
 * Apply one item ("key" or "key=value").  Returns 1 when the key is not one
 * of ours (leave it to FUSE), 0 when applied, -EINVAL with a message in err
 * (errsz bytes, at least OPTIONS_ERR_MAX recommended) when the value is bad.
 */
int options_apply(struct options *o, const char *item, char *err, size_t errsz);

/*
 * Apply a comma-separated list as mount(8) passes it ("a=b,c"); a backslash
 * escapes the next character.  Items that are not ours are appended, comma
 * separated, to rest (restsz bytes; NULL to reject them with -EINVAL).
 * Returns 0, -EINVAL (message in err), -E2BIG (an item or rest too long).
 */
int options_apply_list(struct options *o, const char *list, char *rest, size_t restsz,
		       char *err, size_t errsz);

/*
 * Check the set as a whole: contract, mode and rpc are required; mode-specific
 * options only in their mode.  Returns 0 or -EINVAL with a message in err.
 */
int options_finish(struct options *o, char *err, size_t errsz);

/* Print the option list for --help. */
void options_usage(FILE *f);

/* Parse a duration "N", "Ns", "Nms", "Nm" (plain N is seconds) into ms. */
int options_parse_duration(const char *s, uint64_t min_ms, uint64_t max_ms, uint64_t *ret_ms);

#endif
