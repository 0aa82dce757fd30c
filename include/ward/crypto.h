/*
 * ward crypto: thin wrappers over Mbed TLS 3.6 PSA Crypto.
 *
 * ward never implements a primitive; these functions adapt PSA to the
 * shapes the core needs (streaming SHA-256, P-256 verify with raw keys and
 * signatures) and parse the two small DER structures that images carry:
 * an ECDSA signature and a P-256 SubjectPublicKeyInfo.
 */
#ifndef WARD_CRYPTO_H
#define WARD_CRYPTO_H

#include <psa/crypto.h>
#if defined(WARD_CRYPTO_SHA256_DIRECT)
#include <mbedtls/sha256.h>
#endif

#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_SHA256_LEN 32u
#define WARD_P256_PUB_LEN 65u  /* 0x04 || X || Y */
#define WARD_P256_SIG_LEN 64u  /* r || s */
#define WARD_P256_SPKI_LEN 91u /* DER SubjectPublicKeyInfo, id-ecPublicKey/prime256v1 */

/* Initialise PSA Crypto. Idempotent. WARD_ERR_CRYPTO on failure. In a
 * build with WARD_CRYPTO_SHA256_DIRECT (the Cortex-M bootloader's, which
 * hashes with Mbed TLS's SHA-256 and verifies with p256-m directly and so
 * uses no PSA at all) there is nothing to initialise: WARD_OK. */
ward_err_t ward_crypto_init(void);

/* Streaming SHA-256; the caller owns the context. WARD_CRYPTO_SHA256_DIRECT
 * (defined for every user of the library, as the type depends on it):
 * Mbed TLS's SHA-256 context instead of a PSA operation. */
#if defined(WARD_CRYPTO_SHA256_DIRECT)
typedef struct ward_sha256 {
    mbedtls_sha256_context c;
} ward_sha256_t;
#else
typedef struct ward_sha256 {
    psa_hash_operation_t op;
} ward_sha256_t;
#endif

ward_err_t ward_sha256_start(ward_sha256_t *ctx);
ward_err_t ward_sha256_update(ward_sha256_t *ctx, const void *data, size_t len);
/* Writes the digest and releases the context (also on error). */
ward_err_t ward_sha256_finish(ward_sha256_t *ctx, uint8_t out[WARD_SHA256_LEN]);
/* Abort a started context without a digest. */
void ward_sha256_abort(ward_sha256_t *ctx);
/* One-shot. */
ward_err_t ward_sha256(uint8_t out[WARD_SHA256_LEN], const void *data, size_t len);

/* Verify an ECDSA-P256 signature (r||s) over a SHA-256 digest.
 * Returns WARD_OK, WARD_ERR_AUTH (bad signature or invalid key),
 * WARD_ERR_CRYPTO (backend failure). */
ward_err_t ward_p256_verify(const uint8_t pub[WARD_P256_PUB_LEN],
                            const uint8_t hash[WARD_SHA256_LEN],
                            const uint8_t sig[WARD_P256_SIG_LEN]);

/* Convert a DER ECDSA-Sig-Value (SEQUENCE { INTEGER r, INTEGER s }) to r||s.
 * Strict DER; trailing zero bytes after the SEQUENCE are accepted (imgtool
 * --pad-sig). Returns WARD_OK or WARD_ERR_CORRUPT. */
ward_err_t ward_ecdsa_der_to_raw(uint8_t raw[WARD_P256_SIG_LEN], const uint8_t *der, size_t der_len);

/* Convert r||s to DER. *out_len receives the length (at most 72). */
ward_err_t ward_ecdsa_raw_to_der(uint8_t *der, size_t der_size, size_t *out_len,
                                 const uint8_t raw[WARD_P256_SIG_LEN]);

/* Extract the public point from a P-256 SubjectPublicKeyInfo (exactly the
 * 91-byte uncompressed form imgtool and OpenSSL produce).
 * Returns WARD_OK or WARD_ERR_CORRUPT. */
ward_err_t ward_p256_spki_parse(uint8_t pub[WARD_P256_PUB_LEN], const uint8_t *spki, size_t spki_len);

/* Build the 91-byte SubjectPublicKeyInfo for a public point. */
void ward_p256_spki_build(uint8_t spki[WARD_P256_SPKI_LEN], const uint8_t pub[WARD_P256_PUB_LEN]);

#ifdef __cplusplus
}
#endif

#endif /* WARD_CRYPTO_H */
