#include "agentmsg.h"

#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hex.h"

/*
 * Parse exactly one JSON value from p[0..n), n <= cap; trailing bytes other
 * than whitespace are an error.  A top-level object is required.
 */
static int
json_parse_object(const char *p, size_t n, size_t cap, cJSON **ret)
{
	const char *end = NULL;
	cJSON *j;
	size_t i;

	if (n > cap)
		return -E2BIG;
	if (n == 0)
		return -EBADMSG;
	j = cJSON_ParseWithLengthOpts(p, n, &end, false);
	if (!j)
		return -EBADMSG;
	for (i = (size_t)(end - p); i < n; i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n' && p[i] != '\0') {
			cJSON_Delete(j);
			return -EBADMSG;
		}
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}

/* The string member name of o, or NULL when absent or not a string. */
static const char *
json_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Required hex member of exactly outlen bytes. */
static int
json_hex(const cJSON *o, const char *name, uint8_t *out, size_t outlen)
{
	const char *s = json_str(o, name);

	if (!s)
		return -EBADMSG;
	return hex_decode_exact(s, strlen(s), out, outlen) < 0 ? -EBADMSG : 0;
}

/* Optional hex member: absent or "" leaves *has false. */
static int
json_hex_opt(const cJSON *o, const char *name, uint8_t *out, size_t outlen, bool *has)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	*has = false;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return -EBADMSG;
	if (v->valuestring[0] == '\0')
		return 0;
	if (hex_decode_exact(v->valuestring, strlen(v->valuestring), out, outlen) < 0)
		return -EBADMSG;
	*has = true;
	return 0;
}

/* Copy a string member into out[outsz]; too long is -E2BIG, absent -EBADMSG. */
static int
json_copy(const cJSON *o, const char *name, bool required, char *out, size_t outsz)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	size_t len;

	if (!v || cJSON_IsNull(v)) {
		if (required)
			return -EBADMSG;
		out[0] = '\0';
		return 0;
	}
	if (!cJSON_IsString(v))
		return -EBADMSG;
	len = strlen(v->valuestring);
	if (len >= outsz)
		return -E2BIG;
	memcpy(out, v->valuestring, len + 1);
	return 0;
}

/* Parse a JSON string member that itself holds a JSON object. */
static int
json_inner_object(const cJSON *o, const char *name, size_t cap, cJSON **ret)
{
	const char *s = json_str(o, name);

	if (!s)
		return -EBADMSG;
	return json_parse_object(s, strlen(s), cap, ret);
}

/* Split "name[:port]" and validate both halves. */
static bool
hostport_valid(const char *s)
{
	const char *colon = strchr(s, ':');
	char port[6];
	uint64_t v;
	size_t plen;

	if (!colon)
		return agentmsg_domain_valid(s, strlen(s));
	plen = strlen(colon + 1);
	if (plen == 0 || plen >= sizeof(port))
		return false;
	memcpy(port, colon + 1, plen + 1);
	if (num_parse_u64(port, false, 1, 65535, &v) < 0)
		return false;
	return agentmsg_domain_valid(s, (size_t)(colon - s));
}

/* tcb_info → app_compose → default_gateway_domain. */
static int
info_parse_tcb(const cJSON *root, struct agent_info *info)
{
	cJSON *tcb = NULL, *compose = NULL;
	const cJSON *v;
	const char *s;
	int r;

	info->default_gateway_domain[0] = '\0';
	/* Agents leave tcb_info empty when the app-compose hides it. */
	s = json_str(root, "tcb_info");
	if (s && s[0] == '\0')
		return 0;
	r = json_inner_object(root, "tcb_info", AGENTMSG_MAX_REPLY, &tcb);
	if (r < 0)
		return r;
	v = cJSON_GetObjectItemCaseSensitive(tcb, "app_compose");
	if (!v || cJSON_IsNull(v))
		goto out_free_tcb;
	r = json_inner_object(tcb, "app_compose", AGENTMSG_MAX_REPLY, &compose);
	if (r < 0)
		goto out_free_tcb;
	r = json_copy(compose, "default_gateway_domain", false,
		      info->default_gateway_domain, sizeof(info->default_gateway_domain));
	if (r == 0 && info->default_gateway_domain[0] &&
	    !hostport_valid(info->default_gateway_domain))
		r = -EBADMSG;
	cJSON_Delete(compose);
out_free_tcb:
	cJSON_Delete(tcb);
	return r;
}

/* vm_config: absent, "" or a string holding a JSON object. */
static int
info_check_vm_config(const cJSON *root)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "vm_config");
	cJSON *vm;
	int r;

	if (!v || (cJSON_IsString(v) && v->valuestring[0] == '\0'))
		return 0;
	r = json_inner_object(root, "vm_config", AGENTMSG_MAX_REPLY, &vm);
	if (r == 0)
		cJSON_Delete(vm);
	return r;
}

static int
info_parse_fields(const cJSON *root, struct agent_info *info)
{
	const char *inst = json_str(root, "instance_id");
	int r;

	/* An app-compose with no_instance_id makes the agent report "". */
	if (inst && inst[0] == '\0')
		return -ENODATA;
	if ((r = json_hex(root, "app_id", info->app_id, sizeof(info->app_id))) < 0 ||
	    (r = json_hex(root, "instance_id", info->instance_id, sizeof(info->instance_id))) < 0 ||
	    (r = json_hex(root, "compose_hash", info->compose_hash, sizeof(info->compose_hash))) < 0 ||
	    (r = json_hex_opt(root, "os_image_hash", info->os_image_hash,
			      sizeof(info->os_image_hash), &info->has_os_image_hash)) < 0 ||
	    (r = json_hex_opt(root, "device_id", info->device_id,
			      sizeof(info->device_id), &info->has_device_id)) < 0 ||
	    (r = json_copy(root, "app_name", false, info->app_name, sizeof(info->app_name))) < 0 ||
	    (r = info_check_vm_config(root)) < 0)
		return r;
	return info_parse_tcb(root, info);
}

int
agentmsg_parse_info(const char *p, size_t n, struct agent_info *ret)
{
	struct agent_info info;
	cJSON *root;
	int r;

	r = json_parse_object(p, n, AGENTMSG_MAX_REPLY, &root);
	if (r < 0)
		return r;
	memset(&info, 0, sizeof(info));
	r = info_parse_fields(root, &info);
	cJSON_Delete(root);
	if (r < 0)
		return r;
	*ret = info;
	return 0;
}

/* Wipe a cJSON string member's bytes before the tree is freed. */
static void
json_wipe_str(cJSON *o, const char *name)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (cJSON_IsString(v))
		explicit_bzero(v->valuestring, strlen(v->valuestring));
}

static int
key_parse_fields(const cJSON *root, struct agent_key *k)
{
	const cJSON *chain, *e;
	size_t i = 0;

	if (json_hex(root, "key", k->key, sizeof(k->key)) < 0)
		return -EBADMSG;
	chain = cJSON_GetObjectItemCaseSensitive(root, "signature_chain");
	if (!cJSON_IsArray(chain) || cJSON_GetArraySize(chain) != AGENTMSG_CHAIN_LEN)
		return -EBADMSG;
	cJSON_ArrayForEach(e, chain) {
		if (!cJSON_IsString(e) ||
		    hex_decode_exact(e->valuestring, strlen(e->valuestring),
				     k->chain[i], AGENTMSG_SIG_LEN) < 0)
			return -EBADMSG;
		i++;
	}
	return 0;
}

int
agentmsg_parse_key(const char *p, size_t n, struct agent_key *ret)
{
	struct agent_key k;
	cJSON *root;
	int r;

	r = json_parse_object(p, n, AGENTMSG_MAX_REPLY, &root);
	if (r < 0)
		return r;
	r = key_parse_fields(root, &k);
	json_wipe_str(root, "key");
	cJSON_Delete(root);
	if (r == 0)
		*ret = k;
	explicit_bzero(&k, sizeof(k));
	return r;
}

int
agentmsg_parse_version(const char *p, size_t n, struct agent_version *ret)
{
	struct agent_version v;
	cJSON *root;
	int r;

	r = json_parse_object(p, n, AGENTMSG_MAX_REPLY, &root);
	if (r < 0)
		return r;
	r = json_copy(root, "version", true, v.version, sizeof(v.version));
	if (r == 0)
		r = json_copy(root, "rev", false, v.rev, sizeof(v.rev));
	cJSON_Delete(root);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

int
agentmsg_parse_error(const char *p, size_t n, char *ret_msg, size_t retsz)
{
	const char *s;
	cJSON *root;
	size_t i, len;
	int r;

	if (retsz == 0)
		return -EINVAL;
	r = json_parse_object(p, n, AGENTMSG_MAX_REPLY, &root);
	if (r < 0)
		return -EBADMSG;
	s = json_str(root, "error");
	if (!s) {
		cJSON_Delete(root);
		return -EBADMSG;
	}
	len = strlen(s);
	if (len > AGENTMSG_ERROR_MAX)
		len = AGENTMSG_ERROR_MAX;
	if (len > retsz - 1)
		len = retsz - 1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		ret_msg[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	ret_msg[len] = '\0';
	cJSON_Delete(root);
	return 0;
}

/* An http(s) URL without spaces or control bytes, within the cap. */
static bool
url_valid(const char *s)
{
	size_t i, len = strlen(s);

	if (len > AGENTMSG_URL_MAX)
		return false;
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

static int
sysconfig_parse_fields(const cJSON *root, struct agent_sysconfig *sc)
{
	const cJSON *urls, *e;

	sc->n_gateway_urls = 0;
	urls = cJSON_GetObjectItemCaseSensitive(root, "gateway_urls");
	if (!urls || cJSON_IsNull(urls))
		return 0;
	if (!cJSON_IsArray(urls))
		return -EBADMSG;
	if (cJSON_GetArraySize(urls) > AGENTMSG_GATEWAY_URLS_MAX)
		return -E2BIG;
	cJSON_ArrayForEach(e, urls) {
		if (!cJSON_IsString(e) || !url_valid(e->valuestring))
			return -EBADMSG;
		memcpy(sc->gateway_urls[sc->n_gateway_urls], e->valuestring,
		       strlen(e->valuestring) + 1);
		sc->n_gateway_urls++;
	}
	return 0;
}

int
agentmsg_parse_sysconfig(const char *p, size_t n, struct agent_sysconfig *ret)
{
	struct agent_sysconfig sc;
	cJSON *root;
	int r;

	r = json_parse_object(p, n, AGENTMSG_MAX_SYSCONFIG, &root);
	if (r < 0)
		return r;
	r = sysconfig_parse_fields(root, &sc);
	cJSON_Delete(root);
	if (r < 0)
		return r;
	*ret = sc;
	return 0;
}

int
agentmsg_parse_gateway_info(const char *p, size_t n, struct gateway_info *ret)
{
	struct gateway_info gi;
	const cJSON *port;
	cJSON *root;
	double d;
	int r;

	r = json_parse_object(p, n, AGENTMSG_MAX_GATEWAY, &root);
	if (r < 0)
		return r;
	r = json_copy(root, "base_domain", true, gi.base_domain, sizeof(gi.base_domain));
	if (r == 0 && !agentmsg_domain_valid(gi.base_domain, strlen(gi.base_domain)))
		r = -EBADMSG;
	port = cJSON_GetObjectItemCaseSensitive(root, "external_port");
	if (r == 0 && !cJSON_IsNumber(port))
		r = -EBADMSG;
	if (r == 0) {
		d = port->valuedouble;
		if (!(d >= 1 && d <= 65535) || d != (double)(uint16_t)d)
			r = -EBADMSG;
		else
			gi.external_port = (uint16_t)d;
	}
	cJSON_Delete(root);
	if (r < 0)
		return r;
	*ret = gi;
	return 0;
}

int
agentmsg_getkey_request(const char *path, const char *purpose,
			const char *algorithm, struct buf *out)
{
	cJSON *o;
	char *s;
	int r;

	if (strlen(path) > AGENTMSG_KEY_PATH_MAX ||
	    strlen(purpose) > AGENTMSG_KEY_PURPOSE_MAX ||
	    (algorithm && strlen(algorithm) > AGENTMSG_KEY_PURPOSE_MAX))
		return -EINVAL;
	o = cJSON_CreateObject();
	if (!o)
		return -ENOMEM;
	if (!cJSON_AddStringToObject(o, "path", path) ||
	    !cJSON_AddStringToObject(o, "purpose", purpose) ||
	    (algorithm && !cJSON_AddStringToObject(o, "algorithm", algorithm))) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return -ENOMEM;
	r = buf_puts(out, s);
	cJSON_free(s);
	return r;
}

static bool
label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

bool
agentmsg_domain_valid(const char *s, size_t n)
{
	size_t i, start = 0;

	if (n == 0 || n > AGENTMSG_DOMAIN_MAX)
		return false;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			size_t len = i - start;

			if (len == 0 || len > 63 || s[start] == '-' || s[i - 1] == '-')
				return false;
			start = i + 1;
			continue;
		}
		if (!label_char(s[i]))
			return false;
	}
	return true;
}

void
agentmsg_key_wipe(struct agent_key *k)
{
	explicit_bzero(k, sizeof(*k));
}
