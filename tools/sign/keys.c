/*
 * ward_sign: P-256 signing keys (generate, import, load, write).
 * Parsing is Mbed TLS's (pk), keys live in PSA.
 */
#include <mbedtls/base64.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/util.h"
#include "ward_sign.h"

#define PKCS8_P256_DER_LEN 138u

/* PrivateKeyInfo { version 0, { id-ecPublicKey, prime256v1 },
 *   OCTET STRING { ECPrivateKey { 1, OCTET STRING d, [1] BIT STRING pub } } }
 * with the parameters omitted inside ECPrivateKey, as OpenSSL and Python
 * cryptography write it. */
static const uint8_t k_pkcs8_prefix[36] = {
    0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
    0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
};
static const uint8_t k_pkcs8_pub_prefix[5] = {0xa1, 0x44, 0x03, 0x42, 0x00};

static void set_pair_attributes(psa_key_attributes_t *attr)
{
    psa_set_key_type(attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(attr, 256);
    psa_set_key_usage_flags(attr, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_VERIFY_HASH |
                                      PSA_KEY_USAGE_EXPORT);
    psa_set_key_algorithm(attr, PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256));
}

ward_err_t ward_sign_keygen(psa_key_id_t *key)
{
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    if (key == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *key = PSA_KEY_ID_NULL;
    set_pair_attributes(&attr);
    psa_status_t st = psa_generate_key(&attr, key);
    psa_reset_key_attributes(&attr);
    return st == PSA_SUCCESS ? WARD_OK : WARD_ERR_CRYPTO;
}

ward_err_t ward_sign_key_import_raw(const uint8_t d[32], psa_key_id_t *key)
{
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    if (key == NULL || d == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *key = PSA_KEY_ID_NULL;
    set_pair_attributes(&attr);
    psa_status_t st = psa_import_key(&attr, d, 32, key);
    psa_reset_key_attributes(&attr);
    if (st == PSA_ERROR_INVALID_ARGUMENT) {
        return WARD_ERR_INVALID_ARG;
    }
    return st == PSA_SUCCESS ? WARD_OK : WARD_ERR_CRYPTO;
}

ward_err_t ward_sign_key_spki(psa_key_id_t key, uint8_t spki[WARD_SIGN_SPKI_LEN])
{
    uint8_t pub[WARD_P256_PUB_LEN];
    size_t n = 0;
    if (spki == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    psa_status_t st = psa_export_public_key(key, pub, sizeof pub, &n);
    if (st != PSA_SUCCESS || n != WARD_P256_PUB_LEN || pub[0] != 0x04u) {
        return st == PSA_ERROR_INVALID_HANDLE ? WARD_ERR_INVALID_ARG : WARD_ERR_CRYPTO;
    }
    ward_p256_spki_build(spki, pub);
    return WARD_OK;
}

static ward_err_t map_pk_error(int ret)
{
    /* Mbed TLS adds a low-level code (ASN.1, ...) to the PK one. */
    switch (-((-ret) & 0xff80)) {
    case MBEDTLS_ERR_PK_PASSWORD_REQUIRED:
    case MBEDTLS_ERR_PK_PASSWORD_MISMATCH:
    case MBEDTLS_ERR_PK_UNKNOWN_PK_ALG:
    case MBEDTLS_ERR_PK_UNKNOWN_NAMED_CURVE:
    case MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE:
        return WARD_ERR_UNSUPPORTED;
    default:
        return WARD_ERR_CORRUPT;
    }
}

ward_err_t ward_sign_key_parse(const uint8_t *data, size_t len, psa_key_id_t *key,
                               uint8_t spki[WARD_SIGN_SPKI_LEN], bool *is_private)
{
    mbedtls_pk_context pk;
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    uint8_t der[160];
    uint8_t pub[WARD_P256_PUB_LEN];
    uint8_t *buf = NULL;
    ward_err_t err = WARD_ERR_CORRUPT;
    bool priv = false;

    if (key != NULL) {
        *key = PSA_KEY_ID_NULL;
    }
    if (data == NULL || len == 0u || len > 1u << 20) {
        return WARD_ERR_CORRUPT;
    }
    /* PEM must reach Mbed TLS NUL-terminated, with the NUL counted. */
    buf = malloc(len + 1u);
    if (buf == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    memcpy(buf, data, len);
    buf[len] = 0;
    size_t n = len;
    if (memchr(data, 0, len) == NULL && strstr((const char *)buf, "-----BEGIN ") != NULL) {
        n = len + 1u;
    }

    mbedtls_pk_init(&pk);
    int ret = mbedtls_pk_parse_key(&pk, buf, n, NULL, 0, mbedtls_psa_get_random,
                                   MBEDTLS_PSA_RANDOM_STATE);
    if (ret == 0) {
        priv = true;
    } else if (ret == MBEDTLS_ERR_PK_PASSWORD_REQUIRED || ret == MBEDTLS_ERR_PK_PASSWORD_MISMATCH) {
        err = WARD_ERR_UNSUPPORTED; /* encrypted private key */
        goto exit;
    } else {
        const int priv_ret = ret;
        mbedtls_pk_free(&pk);
        mbedtls_pk_init(&pk);
        ret = mbedtls_pk_parse_public_key(&pk, buf, n);
        if (ret != 0) {
            /* Neither: say why the more specific attempt failed. */
            err = map_pk_error(priv_ret) == WARD_ERR_UNSUPPORTED ? WARD_ERR_UNSUPPORTED
                                                                 : map_pk_error(ret);
            goto exit;
        }
    }

    /* P-256 only: ask PK what PSA type it would make. */
    ret = mbedtls_pk_get_psa_attributes(&pk, priv ? PSA_KEY_USAGE_SIGN_HASH
                                                  : PSA_KEY_USAGE_VERIFY_HASH, &attr);
    if (ret != 0) {
        err = WARD_ERR_UNSUPPORTED;
        goto exit;
    }
    psa_key_type_t want = priv ? PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1)
                               : PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1);
    if (psa_get_key_type(&attr) != want || psa_get_key_bits(&attr) != 256u) {
        err = WARD_ERR_UNSUPPORTED;
        goto exit;
    }

    /* The SPKI, in the canonical uncompressed 91-byte form. */
    ret = mbedtls_pk_write_pubkey_der(&pk, der, sizeof der);
    if (ret != (int)WARD_SIGN_SPKI_LEN ||
        ward_p256_spki_parse(pub, der + sizeof der - WARD_SIGN_SPKI_LEN, WARD_SIGN_SPKI_LEN) !=
            WARD_OK) {
        err = WARD_ERR_UNSUPPORTED;
        goto exit;
    }

    if (priv && key != NULL) {
        psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_VERIFY_HASH |
                                           PSA_KEY_USAGE_EXPORT);
        psa_set_key_algorithm(&attr, PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256));
        ret = mbedtls_pk_import_into_psa(&pk, &attr, key);
        if (ret != 0) {
            *key = PSA_KEY_ID_NULL;
            err = WARD_ERR_CRYPTO;
            goto exit;
        }
    }
    if (spki != NULL) {
        ward_p256_spki_build(spki, pub);
    }
    if (is_private != NULL) {
        *is_private = priv;
    }
    err = WARD_OK;

exit:
    psa_reset_key_attributes(&attr);
    mbedtls_pk_free(&pk);
    ward_wipe(buf, len + 1u);
    free(buf);
    return err;
}

ward_err_t ward_sign_key_load(const char *path, psa_key_id_t *key,
                              uint8_t spki[WARD_SIGN_SPKI_LEN], bool *is_private)
{
    if (key != NULL) {
        *key = PSA_KEY_ID_NULL;
    }
    if (path == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return WARD_ERR_IO;
    }
    /* Key files are small; anything above 64 KiB is not a key. */
    uint8_t *data = malloc(65536);
    if (data == NULL) {
        fclose(f);
        return WARD_ERR_NO_SPACE;
    }
    size_t len = fread(data, 1, 65536, f);
    bool bad = ferror(f) != 0;
    bool big = !bad && len == 65536 && fgetc(f) != EOF;
    fclose(f);
    ward_err_t err = bad ? WARD_ERR_IO : big ? WARD_ERR_CORRUPT
                                             : ward_sign_key_parse(data, len, key, spki, is_private);
    ward_wipe(data, 65536);
    free(data);
    return err;
}

ward_err_t ward_sign_key_write_pkcs8_pem(psa_key_id_t key, char *pem, size_t pem_size,
                                         size_t *pem_len)
{
    uint8_t der[PKCS8_P256_DER_LEN];
    uint8_t pub[WARD_P256_PUB_LEN];
    size_t n = 0;
    size_t olen = 0;
    ward_err_t err = WARD_ERR_CRYPTO;

    if (pem == NULL || pem_len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *pem_len = 0;
    if (pem_size < WARD_SIGN_PKCS8_PEM_MAX) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    memcpy(der, k_pkcs8_prefix, sizeof k_pkcs8_prefix);
    if (psa_export_key(key, der + sizeof k_pkcs8_prefix, 32, &n) != PSA_SUCCESS || n != 32u) {
        goto exit;
    }
    if (psa_export_public_key(key, pub, sizeof pub, &n) != PSA_SUCCESS ||
        n != WARD_P256_PUB_LEN) {
        goto exit;
    }
    memcpy(der + 68, k_pkcs8_pub_prefix, sizeof k_pkcs8_pub_prefix);
    memcpy(der + 73, pub, sizeof pub);
    if (mbedtls_pem_write_buffer("-----BEGIN PRIVATE KEY-----\n", "-----END PRIVATE KEY-----\n",
                                 der, sizeof der, (unsigned char *)pem, pem_size, &olen) != 0 ||
        olen == 0u) {
        goto exit;
    }
    *pem_len = strlen(pem);
    err = WARD_OK;
exit:
    ward_wipe(der, sizeof der);
    return err;
}

ward_err_t ward_sign_spki_to_pem(const uint8_t spki[WARD_SIGN_SPKI_LEN], char *pem,
                                 size_t pem_size, size_t *pem_len)
{
    size_t olen = 0;
    if (spki == NULL || pem == NULL || pem_len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *pem_len = 0;
    int ret = mbedtls_pem_write_buffer("-----BEGIN PUBLIC KEY-----\n", "-----END PUBLIC KEY-----\n",
                                       spki, WARD_SIGN_SPKI_LEN, (unsigned char *)pem, pem_size,
                                       &olen);
    if (ret == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    if (ret != 0) {
        return WARD_ERR_CRYPTO;
    }
    *pem_len = strlen(pem);
    return WARD_OK;
}
