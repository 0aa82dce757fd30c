/* ward crypto: PSA Crypto wrappers (hashing and P-256 verification). */
#include "ward/crypto.h"

#include <string.h>

#include "ward/util.h"

#if defined(WARD_CRYPTO_P256M_DIRECT)
/* Mbed TLS's p256-m (3rdparty/p256-m), the code PSA's driver calls. */
#include "p256-m.h"
#endif

#if defined(WARD_CRYPTO_SHA256_DIRECT)
ward_err_t ward_crypto_init(void)
{
    return WARD_OK;
}

ward_err_t ward_sha256_start(ward_sha256_t *ctx)
{
    if (ctx == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    mbedtls_sha256_init(&ctx->c);
    return mbedtls_sha256_starts(&ctx->c, 0) == 0 ? WARD_OK : WARD_ERR_CRYPTO;
}

ward_err_t ward_sha256_update(ward_sha256_t *ctx, const void *data, size_t len)
{
    if (ctx == NULL || (data == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    return mbedtls_sha256_update(&ctx->c, (const uint8_t *)data, len) == 0 ? WARD_OK
                                                                          : WARD_ERR_CRYPTO;
}

ward_err_t ward_sha256_finish(ward_sha256_t *ctx, uint8_t out[WARD_SHA256_LEN])
{
    if (ctx == NULL || out == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    const int ret = mbedtls_sha256_finish(&ctx->c, out);
    mbedtls_sha256_free(&ctx->c);
    return ret == 0 ? WARD_OK : WARD_ERR_CRYPTO;
}

void ward_sha256_abort(ward_sha256_t *ctx)
{
    if (ctx != NULL) {
        mbedtls_sha256_free(&ctx->c);
    }
}
#else
ward_err_t ward_crypto_init(void)
{
    return psa_crypto_init() == PSA_SUCCESS ? WARD_OK : WARD_ERR_CRYPTO;
}

ward_err_t ward_sha256_start(ward_sha256_t *ctx)
{
    if (ctx == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ctx->op = psa_hash_operation_init();
    return psa_hash_setup(&ctx->op, PSA_ALG_SHA_256) == PSA_SUCCESS ? WARD_OK : WARD_ERR_CRYPTO;
}

ward_err_t ward_sha256_update(ward_sha256_t *ctx, const void *data, size_t len)
{
    if (ctx == NULL || (data == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    /* len 0 is fine: psa_hash_update returns at once (and never reads data). */
    return psa_hash_update(&ctx->op, (const uint8_t *)data, len) == PSA_SUCCESS ? WARD_OK
                                                                                : WARD_ERR_CRYPTO;
}

ward_err_t ward_sha256_finish(ward_sha256_t *ctx, uint8_t out[WARD_SHA256_LEN])
{
    size_t n = 0;
    if (ctx == NULL || out == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    psa_status_t st = psa_hash_finish(&ctx->op, out, WARD_SHA256_LEN, &n);
    if (st != PSA_SUCCESS || n != WARD_SHA256_LEN) {
        (void)psa_hash_abort(&ctx->op);
        return WARD_ERR_CRYPTO;
    }
    return WARD_OK;
}

void ward_sha256_abort(ward_sha256_t *ctx)
{
    if (ctx != NULL) {
        (void)psa_hash_abort(&ctx->op);
    }
}

#endif

ward_err_t ward_sha256(uint8_t out[WARD_SHA256_LEN], const void *data, size_t len)
{
    ward_sha256_t ctx;
    if (out == NULL || (data == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    /* The streaming calls, not psa_hash_compute: the boot path needs them
     * anyway, and a second entry point would only add code. */
    ward_err_t err = ward_sha256_start(&ctx);
    if (err == WARD_OK) {
        err = ward_sha256_update(&ctx, data, len);
    }
    if (err != WARD_OK) {
        ward_sha256_abort(&ctx);
        return err;
    }
    return ward_sha256_finish(&ctx, out);
}

#if defined(WARD_CRYPTO_P256M_DIRECT)
/*
 * The Cortex-M bootloader's build (WARD_CM_P256M_DIRECT): the one signature
 * check of a boot calls p256-m's verify itself, the function PSA's p256-m
 * driver calls after importing the key (p256_verify_hash_with_public_key in
 * Mbed TLS's p256-m_driver_entrypoints.c), with the same checks on the key:
 * the uncompressed-point prefix here, on-curve and range in p256-m. Without
 * PSA's key store and dispatch the bootloader is 1.1 KiB smaller
 * (docs/cortex-m.md, "Footprint"). Hashing still goes through PSA.
 */
ward_err_t ward_p256_verify(const uint8_t pub[WARD_P256_PUB_LEN],
                            const uint8_t hash[WARD_SHA256_LEN],
                            const uint8_t sig[WARD_P256_SIG_LEN])
{
    if (pub == NULL || hash == NULL || sig == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (pub[0] != 0x04u) {
        return WARD_ERR_AUTH; /* not an uncompressed point: as PSA's import */
    }
    const int ret = p256_ecdsa_verify(sig, pub + 1, hash, WARD_SHA256_LEN);
    if (ret == P256_SUCCESS) {
        return WARD_OK;
    }
    return ret == P256_INVALID_SIGNATURE || ret == P256_INVALID_PUBKEY ? WARD_ERR_AUTH
                                                                       : WARD_ERR_CRYPTO;
}
#else
ward_err_t ward_p256_verify(const uint8_t pub[WARD_P256_PUB_LEN],
                            const uint8_t hash[WARD_SHA256_LEN],
                            const uint8_t sig[WARD_P256_SIG_LEN])
{
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t key = PSA_KEY_ID_NULL;
    ward_err_t err = WARD_ERR_AUTH;

    if (pub == NULL || hash == NULL || sig == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    psa_set_key_type(&attr, PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&attr, 256);
    psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_VERIFY_HASH);
    psa_set_key_algorithm(&attr, PSA_ALG_ECDSA(PSA_ALG_SHA_256));

    psa_status_t st = psa_import_key(&attr, pub, WARD_P256_PUB_LEN, &key);
    if (st == PSA_ERROR_INVALID_ARGUMENT) {
        goto exit; /* not a point on the curve: treat as a failed verify */
    }
    if (st != PSA_SUCCESS) {
        err = WARD_ERR_CRYPTO;
        goto exit;
    }
    st = psa_verify_hash(key, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, WARD_SHA256_LEN, sig,
                         WARD_P256_SIG_LEN);
    if (st == PSA_SUCCESS) {
        err = WARD_OK;
    } else if (st == PSA_ERROR_INVALID_SIGNATURE || st == PSA_ERROR_INVALID_ARGUMENT) {
        err = WARD_ERR_AUTH;
    } else {
        err = WARD_ERR_CRYPTO;
    }
exit:
    /* attr was only set, never filled by psa_get_key_attributes: it holds
     * nothing that psa_reset_key_attributes would have to free. */
    if (key != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(key);
    }
    return err;
}
#endif
