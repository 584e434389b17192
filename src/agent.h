/*
 * agent: client of the dstack guest agent (HTTP/1.1 over its unix socket,
 * or over http(s) for a simulator), with libcurl inside.
 *
 * Endpoint, in order: the override given to agent_open() (a daemon option),
 * then $DSTACK_SIMULATOR_ENDPOINT, then the first socket that accepts a
 * connection among the official SDKs' paths (AGENT_SOCKET_PATHS).  An
 * override is a socket path or an http:// / https:// URL.
 *
 * Errors: every function returns -errno and leaves a one-line, lowercase
 * description in a per-thread buffer read by agent_last_error(); the caller
 * logs it.  A struct agent is used by one thread at a time.
 * The process should call curl_global_init() before threads start.
 */
#ifndef DP_AGENT_H
#define DP_AGENT_H

#include "agentmsg.h"

#define AGENT_ENV_ENDPOINT	"DSTACK_SIMULATOR_ENDPOINT"
/* The official SDKs' probe order. */
#define AGENT_SOCKET_PATHS	{ "/var/run/dstack.sock", "/run/dstack.sock", \
				  "/var/run/dstack/dstack.sock", "/run/dstack/dstack.sock" }
#define AGENT_KEY_ALGORITHM	"secp256k1"
#define AGENT_CONNECT_TIMEOUT_MS 5000
#define AGENT_TIMEOUT_MS	30000
#define AGENT_ERROR_MAX		512	/* agent_last_error() text, bytes */

struct agent;

/*
 * Resolve the endpoint (see above; override may be NULL or "") and return a
 * new client in *ret, to be freed with agent_free().  Returns 0, -ENOENT
 * when no agent answers (the error text names every path tried and how to
 * point at a simulator), -EINVAL for a malformed override, -ENOMEM.
 */
int agent_open(const char *override, struct agent **ret);

/* Free a client (NULL is fine). */
void agent_free(struct agent *a);

/* The endpoint in use ("/var/run/dstack.sock" or "http://..."), owned by a. */
const char *agent_endpoint(const struct agent *a);

/*
 * POST /Info.  Returns 0, -ECONNREFUSED/-ETIMEDOUT/-EIO (transport),
 * -EREMOTEIO (the agent answered with an error; its text is in
 * agent_last_error()), -EPROTO (unexpected HTTP status), -E2BIG (reply past
 * AGENTMSG_MAX_REPLY), -EBADMSG (malformed reply), -ENOMEM.
 */
int agent_info(struct agent *a, struct agent_info *ret);

/*
 * POST /GetKey {path, purpose, algorithm AGENT_KEY_ALGORITHM}.  ret->key is
 * secret: wipe it with agentmsg_key_wipe().  Returns as agent_info(), and
 * -EINVAL for a path or purpose past its cap.
 */
int agent_get_key(struct agent *a, const char *path, const char *purpose,
		  struct agent_key *ret);

/*
 * POST /Version (feature detection).  Returns as agent_info(), and -ENOTSUP
 * when the agent predates /Version.
 */
int agent_version(struct agent *a, struct agent_version *ret);

/* The description of the last failure in this thread ("" if none). */
const char *agent_last_error(void);

#endif
