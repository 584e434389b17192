/*
 * kms: the dstack KMS key derivation and signature chain, in C.
 *
 * What the KMS and the guest agent compute (see the dstack simulator notes
 * in ../shared/fixtures/dstack-simulator/README.md):
 *   app_sk     = HKDF-SHA256(salt "RATLS", ikm kms_root_sk, info app_id || "app-key")
 *   S1         = sign(kms_root_sk, keccak256("dstack-kms-issued:" || app_id(20) ||
 *                                            app_pub_compressed(33)))
 *   derived_sk = HKDF-SHA256(salt "RATLS", ikm app_sk, info path)
 *   S2         = sign(app_sk, keccak256(purpose || ":" ||
 *                                       lowercase_hex(derived_pub_compressed(33))))
 * and a GetKey reply carries signature_chain = [S2, S1].
 *
 * Crypto module: no logging, no global state beyond ethkey's context.
 * Outputs are written only on success.
 */
#ifndef DP_KMS_H
#define DP_KMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KMS_HKDF_SALT		"RATLS"
#define KMS_ISSUED_PREFIX	"dstack-kms-issued:"
#define KMS_PURPOSE_MAX		128	/* purpose string, bytes */
#define KMS_ROOTS_MAX		16	/* trusted roots in one list */

/*
 * The KMS root of the official dstack simulator (and of tests/tools/
 * dstack-sim): address 0xa7f6043c29f9cc1d9d6acf554c53e0c6792aaeaf.  Only for
 * development and tests; a production daemon must be given its KMS root.
 */
extern const uint8_t kms_simulator_root[20];

/*
 * HKDF-SHA256 (RFC 5869) through OpenSSL: out[0..outlen) from the given
 * salt, ikm and info.  Returns 0, -EINVAL (outlen 0 or above 255*32),
 * -EIO (OpenSSL failed).  out is untouched on failure; temporaries wiped.
 */
int kms_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
		    const void *info, size_t infolen, uint8_t *out, size_t outlen);

/*
 * The agent's derivation: HKDF-SHA256(salt "RATLS", ikm parent_sk,
 * info path) into ret_sk.  Returns as kms_hkdf_sha256().
 */
int kms_derive_key(const uint8_t parent_sk[32], const char *path, uint8_t ret_sk[32]);

/*
 * The hash S2 signs: keccak256(purpose ":" lowercase_hex(pub33)).
 * Returns 0, -EINVAL (purpose longer than KMS_PURPOSE_MAX).
 */
int kms_app_message_hash(const char *purpose, const uint8_t derived_pub33[33],
			 uint8_t ret_hash[32]);

/* The hash S1 signs: keccak256("dstack-kms-issued:" app_id app_pub33). */
void kms_issued_message_hash(const uint8_t app_id[20], const uint8_t app_pub33[33],
			     uint8_t ret_hash[32]);

/*
 * Verify a signature chain without a trust decision: recover the app key
 * from S2 over (purpose, derived_pub65), rebuild the KMS message from
 * app_id and that recovered key (which binds S1 to it), and recover the KMS
 * signer from S1.  Writes the app key (uncompressed) and the KMS signer's
 * address.  Returns 0, -EINVAL (bad derived key or purpose), -EBADMSG
 * (a signature recovers nothing).
 */
int kms_chain_recover(const uint8_t app_id[20], const uint8_t derived_pub65[65],
		      const char *purpose, const uint8_t s2[65], const uint8_t s1[65],
		      uint8_t ret_app_pub65[65], uint8_t ret_root_addr[20]);

/* True when addr is one of roots[0..n). */
bool kms_root_trusted(const uint8_t addr[20], const uint8_t (*roots)[20], size_t n);

/*
 * kms_chain_recover() and then the trust decision: -EACCES when the
 * recovered KMS signer is not in roots[0..n) (n may be 0: nothing is
 * trusted).  Outputs written only on 0.
 */
int kms_chain_verify(const uint8_t app_id[20], const uint8_t derived_pub65[65],
		     const char *purpose, const uint8_t s2[65], const uint8_t s1[65],
		     const uint8_t (*roots)[20], size_t n,
		     uint8_t ret_app_pub65[65], uint8_t ret_root_addr[20]);

#endif
