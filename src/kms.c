#include "kms.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "ethkey.h"
#include "hex.h"
#include "keccak.h"

/* Fact from the dstack simulator fixtures (README there): the KMS root. */
const uint8_t kms_simulator_root[20] = {
	0xa7, 0xf6, 0x04, 0x3c, 0x29, 0xf9, 0xcc, 0x1d, 0x9d, 0x6a,
	0xcf, 0x55, 0x4c, 0x53, 0xe0, 0xc6, 0x79, 0x2a, 0xae, 0xaf,
};

int
kms_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
		const void *info, size_t infolen, uint8_t *out, size_t outlen)
{
	uint8_t tmp[255 * 32];
	OSSL_PARAM params[5], *p = params;
	EVP_KDF_CTX *ctx;
	EVP_KDF *kdf;
	int r = -EIO;

	if (outlen == 0 || outlen > sizeof(tmp))
		return -EINVAL;
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (!kdf)
		return -EIO;
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!ctx)
		return -EIO;
	/* OSSL_PARAM takes non-const pointers; OpenSSL only reads them here. */
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, ikmlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt, saltlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info, infolen);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, tmp, outlen, params) == 1) {
		memcpy(out, tmp, outlen);
		r = 0;
	}
	EVP_KDF_CTX_free(ctx);
	explicit_bzero(tmp, outlen);
	return r;
}

int
kms_derive_key(const uint8_t parent_sk[32], const char *path, uint8_t ret_sk[32])
{
	return kms_hkdf_sha256(KMS_HKDF_SALT, strlen(KMS_HKDF_SALT), parent_sk, 32,
			       path, strlen(path), ret_sk, 32);
}

int
kms_app_message_hash(const char *purpose, const uint8_t derived_pub33[33],
		     uint8_t ret_hash[32])
{
	char hex[2 * 33 + 1];
	struct keccak256 k;
	size_t plen = strlen(purpose);

	if (plen > KMS_PURPOSE_MAX)
		return -EINVAL;
	if (hex_encode(derived_pub33, 33, false, hex, sizeof(hex)) != 2 * 33)
		return -EINVAL;
	keccak256_init(&k);
	keccak256_update(&k, purpose, plen);
	keccak256_update(&k, ":", 1);
	keccak256_update(&k, hex, 2 * 33);
	keccak256_final(&k, ret_hash);
	return 0;
}

void
kms_issued_message_hash(const uint8_t app_id[20], const uint8_t app_pub33[33],
			uint8_t ret_hash[32])
{
	struct keccak256 k;

	keccak256_init(&k);
	keccak256_update(&k, KMS_ISSUED_PREFIX, strlen(KMS_ISSUED_PREFIX));
	keccak256_update(&k, app_id, 20);
	keccak256_update(&k, app_pub33, 33);
	keccak256_final(&k, ret_hash);
}

int
kms_chain_recover(const uint8_t app_id[20], const uint8_t derived_pub65[65],
		  const char *purpose, const uint8_t s2[65], const uint8_t s1[65],
		  uint8_t ret_app_pub65[65], uint8_t ret_root_addr[20])
{
	uint8_t derived33[33], app33[33], app65[65], root65[65], hash[32];
	int r;

	r = ethkey_pubkey_compress(derived_pub65, derived33);
	if (r < 0)
		return -EINVAL;
	r = kms_app_message_hash(purpose, derived33, hash);
	if (r < 0)
		return r;
	if (ethkey_recover(hash, s2, app65) < 0)
		return -EBADMSG;
	/*
	 * The KMS message is rebuilt from the key S2 recovered to, so S1 only
	 * verifies when the KMS issued exactly that app key for this app_id:
	 * a replayed (app key, S1) pair cannot vouch for a self-made key.
	 */
	if (ethkey_pubkey_compress(app65, app33) < 0)
		return -EBADMSG;
	kms_issued_message_hash(app_id, app33, hash);
	if (ethkey_recover(hash, s1, root65) < 0)
		return -EBADMSG;
	memcpy(ret_app_pub65, app65, 65);
	ethkey_address_from_pubkey(root65, ret_root_addr);
	return 0;
}

bool
kms_root_trusted(const uint8_t addr[20], const uint8_t (*roots)[20], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (memcmp(addr, roots[i], 20) == 0)
			return true;
	return false;
}

int
kms_chain_verify(const uint8_t app_id[20], const uint8_t derived_pub65[65],
		 const char *purpose, const uint8_t s2[65], const uint8_t s1[65],
		 const uint8_t (*roots)[20], size_t n,
		 uint8_t ret_app_pub65[65], uint8_t ret_root_addr[20])
{
	uint8_t app65[65], root[20];
	int r;

	r = kms_chain_recover(app_id, derived_pub65, purpose, s2, s1, app65, root);
	if (r < 0)
		return r;
	if (!kms_root_trusted(root, roots, n))
		return -EACCES;
	memcpy(ret_app_pub65, app65, 65);
	memcpy(ret_root_addr, root, 20);
	return 0;
}
