/*
 * Fuzz target: the device's X.509 reader (src/cloud/cert.c), which parses
 * what arrives on devices/<id>/cert before anything is verified.
 *
 * Input: the DER bytes of a certificate.
 *
 * Oracles (abort): a status outside the documented set; on WARD_OK, any
 * pointer of the result outside the input or a field out of its range (serial
 * 1..20 bytes, TBS and names inside the certificate); and, where Mbed TLS's
 * own parser accepts the same bytes, any disagreement with it: the TBS
 * length, the serial, the commonName, the public key, the validity dates,
 * the issuer and subject names. ward refusing what Mbed TLS accepts is
 * allowed (ward takes a strict subset: v3, P-256, ecdsa-with-SHA256).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "ward/cloud.h"
#include "ward/crypto.h"

#define CHECK(c)     \
    do {             \
        if (!(c)) {  \
            abort(); \
        }            \
    } while (0)

static bool inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    return p != NULL && p >= data && n <= size && (size_t)(p - data) <= size - n;
}

/* Days from civil, as cert.c, for comparing dates. */
static int64_t secs(const mbedtls_x509_time *t)
{
    int64_t y = t->year;
    const int m = t->mon;
    y -= m <= 2 ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + t->day - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (era * 146097 + doe - 719468) * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        CHECK(ward_crypto_init() == WARD_OK);
        init = true;
    }
    ward_cloud_cert_info_t info;
    const ward_err_t err = ward_cloud_cert_parse(&info, data, size);
    CHECK(err == WARD_OK || err == WARD_ERR_CORRUPT || err == WARD_ERR_UNSUPPORTED);
    if (err != WARD_OK) {
        return 0;
    }
    CHECK(inside(info.tbs, info.tbs_len, data, size));
    CHECK(inside(info.serial, info.serial_len, data, size) && info.serial_len >= 1u &&
          info.serial_len <= 20u);
    CHECK(inside(info.issuer, info.issuer_len, info.tbs, info.tbs_len));
    CHECK(inside(info.subject, info.subject_len, info.tbs, info.tbs_len));
    CHECK(info.cn == NULL || inside(info.cn, info.cn_len, info.subject, info.subject_len));
    CHECK(info.pub[0] == 0x04);

    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    if (mbedtls_x509_crt_parse_der_nocopy(&crt, data, size) == 0) {
        CHECK(crt.tbs.len == info.tbs_len && crt.tbs.p == info.tbs);
        CHECK(crt.serial.len == info.serial_len &&
              memcmp(crt.serial.p, info.serial, info.serial_len) == 0);
        CHECK(crt.issuer_raw.len == info.issuer_len && crt.issuer_raw.p == info.issuer);
        CHECK(crt.subject_raw.len == info.subject_len && crt.subject_raw.p == info.subject);
        CHECK(secs(&crt.valid_from) == info.not_before && secs(&crt.valid_to) == info.not_after);
        const mbedtls_x509_name *cn = NULL;
        for (const mbedtls_x509_name *a = &crt.subject; a != NULL; a = a->next) {
            if (a->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &a->oid) == 0) {
                cn = a;
            }
        }
        CHECK((cn == NULL) == (info.cn == NULL));
        CHECK(cn == NULL || (cn->val.len == info.cn_len && cn->val.p == info.cn));
        uint8_t spki[200], pub[65];
        const int n = mbedtls_pk_write_pubkey_der(&crt.pk, spki, sizeof spki);
        CHECK(n > 0 && ward_p256_spki_parse(pub, spki + sizeof spki - n, (size_t)n) == WARD_OK);
        CHECK(memcmp(pub, info.pub, 65) == 0);
        CHECK(crt.MBEDTLS_PRIVATE(ca_istrue) == (info.is_ca ? 1 : 0));
    }
    mbedtls_x509_crt_free(&crt);
    return 0;
}
