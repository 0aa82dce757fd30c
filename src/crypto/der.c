/*
 * ward crypto: the two DER structures images carry. Strict parsers of
 * untrusted bytes; every length is checked before use.
 */
#include <string.h>

#include "ward/crypto.h"
#include "ward/util.h"

/* Parse one DER INTEGER holding a non-negative value of at most 32 bytes
 * into a 32-byte big-endian field. Returns bytes consumed, or 0 on error. */
static size_t der_int32(uint8_t out[32], const uint8_t *p, size_t len)
{
    if (len < 3u || p[0] != 0x02u) {
        return 0;
    }
    size_t n = p[1];
    if (n == 0u || n > 33u || n > len - 2u) {
        return 0;
    }
    const uint8_t *v = p + 2;
    if ((v[0] & 0x80u) != 0u) {
        return 0; /* negative */
    }
    if (n > 1u && v[0] == 0x00u && (v[1] & 0x80u) == 0u) {
        return 0; /* non-minimal encoding */
    }
    if (v[0] == 0x00u && n > 1u) {
        v++;
        n--;
    }
    if (n > 32u) {
        return 0;
    }
    memset(out, 0, 32u - n);
    memcpy(out + 32u - n, v, n);
    return (size_t)p[1] + 2u;
}

ward_err_t ward_ecdsa_der_to_raw(uint8_t raw[WARD_P256_SIG_LEN], const uint8_t *der, size_t der_len)
{
    if (raw == NULL || der == NULL || der_len < 8u || der[0] != 0x30u) {
        return WARD_ERR_CORRUPT;
    }
    size_t seq = der[1];
    if ((seq & 0x80u) != 0u || seq > der_len - 2u) {
        return WARD_ERR_CORRUPT; /* P-256 signatures never need long form */
    }
    const uint8_t *p = der + 2;
    size_t r_len = der_int32(raw, p, seq);
    if (r_len == 0u) {
        return WARD_ERR_CORRUPT;
    }
    size_t s_len = der_int32(raw + 32, p + r_len, seq - r_len);
    if (s_len == 0u || r_len + s_len != seq) {
        return WARD_ERR_CORRUPT;
    }
    /* Only zero padding may follow (imgtool --pad-sig). */
    for (size_t i = 2u + seq; i < der_len; i++) {
        if (der[i] != 0u) {
            return WARD_ERR_CORRUPT;
        }
    }
    return WARD_OK;
}

/* Append one INTEGER for a 32-byte big-endian value. */
static size_t der_put_int(uint8_t *out, const uint8_t v[32])
{
    size_t skip = 0;
    while (skip < 31u && v[skip] == 0u) {
        skip++;
    }
    size_t n = 32u - skip;
    size_t pad = (v[skip] & 0x80u) != 0u ? 1u : 0u;
    out[0] = 0x02u;
    out[1] = (uint8_t)(n + pad);
    if (pad != 0u) {
        out[2] = 0u;
    }
    memcpy(out + 2 + pad, v + skip, n);
    return 2u + pad + n;
}

ward_err_t ward_ecdsa_raw_to_der(uint8_t *der, size_t der_size, size_t *out_len,
                                 const uint8_t raw[WARD_P256_SIG_LEN])
{
    uint8_t tmp[72];
    if (der == NULL || out_len == NULL || raw == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    size_t n = der_put_int(tmp + 2, raw);
    n += der_put_int(tmp + 2 + n, raw + 32);
    tmp[0] = 0x30u;
    tmp[1] = (uint8_t)n;
    n += 2u;
    if (n > der_size) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    memcpy(der, tmp, n);
    *out_len = n;
    return WARD_OK;
}

/* SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused) } */
static const uint8_t k_spki_prefix[26] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};

ward_err_t ward_p256_spki_parse(uint8_t pub[WARD_P256_PUB_LEN], const uint8_t *spki, size_t spki_len)
{
    if (pub == NULL || spki == NULL || spki_len != WARD_P256_SPKI_LEN ||
        !ward_ct_equal(spki, k_spki_prefix, sizeof k_spki_prefix) ||
        spki[sizeof k_spki_prefix] != 0x04u) {
        return WARD_ERR_CORRUPT;
    }
    memcpy(pub, spki + sizeof k_spki_prefix, WARD_P256_PUB_LEN);
    return WARD_OK;
}

void ward_p256_spki_build(uint8_t spki[WARD_P256_SPKI_LEN], const uint8_t pub[WARD_P256_PUB_LEN])
{
    memcpy(spki, k_spki_prefix, sizeof k_spki_prefix);
    memcpy(spki + sizeof k_spki_prefix, pub, WARD_P256_PUB_LEN);
}
