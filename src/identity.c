#include "identity.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "ethkey.h"
#include "hex.h"
#include "kms.h"

int
identity_key_path(const char *prefix, const uint8_t instance_id[20],
		  char ret_path[IDENTITY_PATH_MAX])
{
	size_t plen = strlen(prefix);
	char hex[41];

	if (plen + 40 >= IDENTITY_PATH_MAX || hex_encode(instance_id, 20, false, hex, sizeof(hex)) != 40)
		return -ENOSPC;
	memcpy(ret_path, prefix, plen);
	memcpy(ret_path + plen, hex, 41);
	return 0;
}

int
identity_proof_from_key(const struct agent_info *info, const struct agent_key *key,
			const uint8_t (*roots)[20], size_t n,
			struct identity_proof *ret)
{
	struct identity_proof p;
	int r;

	memset(&p, 0, sizeof(p));
	memcpy(p.instance_id, info->instance_id, 20);
	memcpy(p.app_id, info->app_id, 20);
	memcpy(p.app_sig, key->chain[0], 65);
	memcpy(p.kms_sig, key->chain[1], 65);
	r = ethkey_pubkey(key->key, p.derived_pub);
	if (r < 0)
		goto out_wipe;
	ethkey_address_from_pubkey(p.derived_pub, p.derived_addr);
	r = kms_chain_verify(p.app_id, p.derived_pub, IDENTITY_ETH_PURPOSE,
			     p.app_sig, p.kms_sig, roots, n, p.app_pub, p.kms_root);
	if (r < 0)
		goto out_wipe;
	memcpy(p.derived_sk, key->key, 32);
	*ret = p;
out_wipe:
	explicit_bzero(&p, sizeof(p));
	return r;
}

int
identity_load_proof(struct agent *a, const struct agent_info *info,
		    const uint8_t (*roots)[20], size_t n,
		    struct identity_proof *ret)
{
	char path[IDENTITY_PATH_MAX];
	struct agent_key key;
	int r;

	r = identity_key_path(IDENTITY_ETH_PATH_PREFIX, info->instance_id, path);
	if (r < 0)
		return r;
	r = agent_get_key(a, path, IDENTITY_ETH_PURPOSE, &key);
	if (r < 0)
		return r;
	r = identity_proof_from_key(info, &key, roots, n, ret);
	agentmsg_key_wipe(&key);
	return r;
}

void
identity_proof_release(struct identity_proof *p)
{
	explicit_bzero(p, sizeof(*p));
}

int
identity_wg_from_bytes(const uint8_t key[32], struct identity_wg *ret)
{
	struct identity_wg w;
	EVP_PKEY *pk;
	size_t len = sizeof(w.pub);
	int r = -EIO;

	memcpy(w.sk, key, 32);
	w.sk[0] &= 248;		/* RFC 7748 clamping, as wg(8) genkey does */
	w.sk[31] &= 127;
	w.sk[31] |= 64;
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, w.sk, sizeof(w.sk));
	if (!pk)
		goto out_wipe;
	if (EVP_PKEY_get_raw_public_key(pk, w.pub, &len) == 1 && len == sizeof(w.pub)) {
		*ret = w;
		r = 0;
	}
	EVP_PKEY_free(pk);
out_wipe:
	explicit_bzero(&w, sizeof(w));
	return r;
}

int
identity_load_wg(struct agent *a, const struct agent_info *info, struct identity_wg *ret)
{
	char path[IDENTITY_PATH_MAX];
	struct agent_key key;
	int r;

	r = identity_key_path(IDENTITY_WG_PATH_PREFIX, info->instance_id, path);
	if (r < 0)
		return r;
	r = agent_get_key(a, path, IDENTITY_WG_PURPOSE, &key);
	if (r < 0)
		return r;
	r = identity_wg_from_bytes(key.key, ret);
	agentmsg_key_wipe(&key);
	return r;
}

void
identity_wg_release(struct identity_wg *w)
{
	explicit_bzero(w, sizeof(*w));
}

void
identity_wg_base64(const uint8_t key[32], char out[IDENTITY_WG_B64_LEN + 1])
{
	/* EVP_EncodeBlock writes 44 characters and a NUL for 32 bytes. */
	EVP_EncodeBlock((unsigned char *)out, key, 32);
}
