/*
 * ward cloud: the PKCS#10 certificate request (RFC 2986) of the identity
 * key, written byte by byte (docs/cloud.md shows one):
 *
 *   SEQUENCE {                                   CertificationRequest
 *     SEQUENCE {                                 CertificationRequestInfo
 *       INTEGER 0                                version
 *       SEQUENCE { SET { SEQUENCE {              subject
 *         OID 2.5.4.3, UTF8String <device id> } } }
 *       SEQUENCE { SEQUENCE { OID ecPublicKey, OID prime256v1 },
 *                  BIT STRING 00 04 X Y }        subjectPKInfo (91 bytes)
 *       [0] { }                                  attributes: none
 *     }
 *     SEQUENCE { OID ecdsa-with-SHA256 }         signatureAlgorithm
 *     BIT STRING 00 || Ecdsa-Sig-Value           signature
 *   }
 *
 * The key signs inside its PSA driver (the HSM): only its key id is used.
 */
#include <string.h>

#include "cloud_priv.h"
#include "ward/crypto.h"
#include "ward/util.h"

ward_err_t ward_cloud_verify(const uint8_t pub[65], const uint8_t *data, size_t len,
                             const uint8_t sig[64])
{
    uint8_t hash[WARD_SHA256_LEN];
    ward_err_t err = ward_sha256(hash, data, len);
    if (err == WARD_OK) {
        err = ward_p256_verify(pub, hash, sig);
    }
    return err;
}

/* The CertificationRequestInfo into out (at most 128 + id_len bytes). */
static size_t cri(uint8_t *out, const char *id, size_t id_len, const uint8_t pub[65])
{
    static const uint8_t k_cn[] = {0x06, 0x03, 0x55, 0x04, 0x03};
    const size_t atv = sizeof k_cn + ward_der_header(NULL, 0x0C, id_len) + id_len;
    const size_t set = ward_der_header(NULL, 0x30, atv) + atv;
    const size_t name = ward_der_header(NULL, 0x31, set) + set;
    const size_t body = 3u + ward_der_header(NULL, 0x30, name) + name + WARD_P256_SPKI_LEN + 2u;
    size_t n = ward_der_header(out, 0x30, body);
    static const uint8_t k_version[] = {0x02, 0x01, 0x00};
    memcpy(out + n, k_version, sizeof k_version);
    n += sizeof k_version;
    n += ward_der_header(out + n, 0x30, name);
    n += ward_der_header(out + n, 0x31, set);
    n += ward_der_header(out + n, 0x30, atv);
    memcpy(out + n, k_cn, sizeof k_cn);
    n += sizeof k_cn;
    n += ward_der_header(out + n, 0x0C, id_len);
    memcpy(out + n, id, id_len);
    n += id_len;
    ward_p256_spki_build(out + n, pub);
    n += WARD_P256_SPKI_LEN;
    out[n++] = 0xA0;
    out[n++] = 0x00;
    return n;
}

ward_err_t ward_cloud_csr(uint8_t *out, size_t cap, size_t *len, const char *id, size_t id_len,
                          uint32_t key_id)
{
    uint8_t info[WARD_CLOUD_CSR_MAX];
    uint8_t pub[WARD_P256_PUB_LEN], hash[WARD_SHA256_LEN], raw[WARD_P256_SIG_LEN], der[72];
    size_t n = 0, der_len = 0;
    if (len != NULL) {
        *len = 0;
    }
    if (out == NULL || len == NULL || id == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_mqtt_device_id_check(id, id_len);
    if (err != WARD_OK) {
        return err;
    }
    if (psa_export_public_key((psa_key_id_t)key_id, pub, sizeof pub, &n) != PSA_SUCCESS ||
        n != sizeof pub) {
        return WARD_ERR_CRYPTO;
    }
    const size_t info_len = cri(info, id, id_len, pub);
    err = ward_sha256(hash, info, info_len);
    if (err != WARD_OK) {
        return err;
    }
    if (psa_sign_hash((psa_key_id_t)key_id, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, sizeof hash, raw,
                      sizeof raw, &n) != PSA_SUCCESS ||
        n != sizeof raw) {
        return WARD_ERR_CRYPTO;
    }
    err = ward_ecdsa_raw_to_der(der, sizeof der, &der_len, raw);
    if (err != WARD_OK) {
        return err;
    }
    const size_t bits = 1u + der_len;
    const size_t body = info_len + sizeof ward_der_ecdsa_sha256 + ward_der_header(NULL, 0x03, bits) +
                        bits;
    const size_t total = ward_der_header(NULL, 0x30, body) + body;
    if (total > cap) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    n = ward_der_header(out, 0x30, body);
    memcpy(out + n, info, info_len);
    n += info_len;
    memcpy(out + n, ward_der_ecdsa_sha256, sizeof ward_der_ecdsa_sha256);
    n += sizeof ward_der_ecdsa_sha256;
    n += ward_der_header(out + n, 0x03, bits);
    out[n++] = 0x00;
    memcpy(out + n, der, der_len);
    n += der_len;
    *len = n;
    return WARD_OK;
}
