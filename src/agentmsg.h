/*
 * agentmsg: strict, bounded parsing of the replies of the dstack guest agent
 * (/Info, /GetKey, /Version, {"error": ...}), of the host-shared sys-config
 * file and of the dstack gateway's /prpc/Info, and encoding of the requests.
 *
 * Pure codec: no logging, no I/O, no global state.  cJSON stays inside.
 * Every input is a (pointer, length) pair no longer than its named cap;
 * byte fields must be hex of exactly their size; JSON carried inside JSON
 * strings (tcb_info, vm_config, app_compose) is parsed as JSON too.  Outputs
 * are written only on success.  Returns are 0, -EBADMSG (malformed, wrong
 * type, wrong length, missing field), -E2BIG (past a cap), -ENOMEM.
 */
#ifndef DP_AGENTMSG_H
#define DP_AGENTMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define AGENTMSG_MAX_REPLY	(1024 * 1024)	/* any agent reply body */
#define AGENTMSG_MAX_SYSCONFIG	(64 * 1024)	/* the sys-config file */
#define AGENTMSG_MAX_GATEWAY	(64 * 1024)	/* gateway /prpc/Info body */
#define AGENTMSG_APP_NAME_MAX	128		/* app_name, bytes */
#define AGENTMSG_DOMAIN_MAX	253		/* a DNS name, bytes */
#define AGENTMSG_HOSTPORT_MAX	(AGENTMSG_DOMAIN_MAX + 6)	/* name[:port] */
#define AGENTMSG_VERSION_MAX	64		/* version / rev strings */
#define AGENTMSG_ERROR_MAX	256		/* error text we keep */
#define AGENTMSG_URL_MAX	512		/* a gateway URL */
#define AGENTMSG_GATEWAY_URLS_MAX 8		/* gateway_urls entries */
#define AGENTMSG_KEY_PATH_MAX	256		/* GetKey path, bytes */
#define AGENTMSG_KEY_PURPOSE_MAX 128		/* GetKey purpose, bytes */
#define AGENTMSG_CHAIN_LEN	2		/* [S2 (app key), S1 (KMS)] */
#define AGENTMSG_SIG_LEN	65		/* r || s || v */

/* What /Info tells about this instance (the parts the daemon uses). */
struct agent_info {
	uint8_t app_id[20];
	uint8_t instance_id[20];
	uint8_t compose_hash[32];
	uint8_t os_image_hash[32];
	bool has_os_image_hash;
	uint8_t device_id[32];
	bool has_device_id;
	char app_name[AGENTMSG_APP_NAME_MAX + 1];
	/* tcb_info.app_compose.default_gateway_domain; "" when absent */
	char default_gateway_domain[AGENTMSG_HOSTPORT_MAX + 1];
};

/* A /GetKey reply.  key is secret: wipe with agentmsg_key_wipe(). */
struct agent_key {
	uint8_t key[32];
	uint8_t chain[AGENTMSG_CHAIN_LEN][AGENTMSG_SIG_LEN];	/* S2, S1 */
};

/* A /Version reply. */
struct agent_version {
	char version[AGENTMSG_VERSION_MAX + 1];
	char rev[AGENTMSG_VERSION_MAX + 1];
};

/* The parts of /dstack/.host-shared/.sys-config.json the daemon uses. */
struct agent_sysconfig {
	size_t n_gateway_urls;
	char gateway_urls[AGENTMSG_GATEWAY_URLS_MAX][AGENTMSG_URL_MAX + 1];
};

/* A gateway's /prpc/Info reply. */
struct gateway_info {
	char base_domain[AGENTMSG_DOMAIN_MAX + 1];
	uint16_t external_port;		/* 1..65535 */
};

/*
 * Parse an /Info reply.  app_id, instance_id and compose_hash are required
 * (exactly 20, 20, 32 bytes of hex); os_image_hash and device_id may be
 * absent or empty, else exactly 32 bytes; tcb_info must be "" (hidden) or a
 * JSON string holding a JSON object whose optional app_compose is a string
 * holding a JSON object; vm_config, when present and not "", a string
 * holding a JSON object.  Returns -ENODATA when instance_id is "" (an app
 * deployed with no_instance_id), besides the errors above.
 */
int agentmsg_parse_info(const char *p, size_t n, struct agent_info *ret);

/*
 * Parse a /GetKey reply: "key" 32 bytes of hex, "signature_chain" exactly
 * two strings of 65 bytes of hex each.  Temporaries holding the key are
 * wiped.
 */
int agentmsg_parse_key(const char *p, size_t n, struct agent_key *ret);

/* Parse a /Version reply: "version" required, "rev" optional strings. */
int agentmsg_parse_version(const char *p, size_t n, struct agent_version *ret);

/*
 * Parse an error reply {"error": "..."} (the agent's HTTP 400 body) and
 * copy the message, made printable (control bytes become '?') and cut to
 * AGENTMSG_ERROR_MAX bytes, into ret_msg (retsz bytes, NUL-terminated).
 * This one truncates on purpose: it is text for a log line.
 * Returns 0, -EBADMSG when the body is not such an object, -EINVAL when
 * retsz is 0.
 */
int agentmsg_parse_error(const char *p, size_t n, char *ret_msg, size_t retsz);

/*
 * Parse a sys-config file: "gateway_urls", when present, an array of at
 * most AGENTMSG_GATEWAY_URLS_MAX http(s) URL strings (each at most
 * AGENTMSG_URL_MAX bytes, no control bytes or spaces).
 */
int agentmsg_parse_sysconfig(const char *p, size_t n, struct agent_sysconfig *ret);

/*
 * Parse a gateway /prpc/Info reply: "base_domain" a valid DNS name (see
 * agentmsg_domain_valid), "external_port" an integer 1..65535.
 */
int agentmsg_parse_gateway_info(const char *p, size_t n, struct gateway_info *ret);

/*
 * Append the JSON body of a GetKey request to out:
 * {"path": path, "purpose": purpose, "algorithm": algorithm}.  path and
 * purpose are NUL-terminated UTF-8 within their caps; algorithm may be NULL
 * (omitted).  Returns 0, -EINVAL (past a cap), -E2BIG, -ENOMEM.
 */
int agentmsg_getkey_request(const char *path, const char *purpose,
			    const char *algorithm, struct buf *out);

/*
 * True when s[0..n) is a DNS name we build URLs from: 1..253 bytes of dot-
 * separated labels of 1..63 bytes of [A-Za-z0-9-], no label starting or
 * ending with '-'.
 */
bool agentmsg_domain_valid(const char *s, size_t n);

/* Wipe a key reply (explicit_bzero). */
void agentmsg_key_wipe(struct agent_key *k);

#endif
