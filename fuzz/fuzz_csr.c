/*
 * Fuzz target: what the fleet service (tools/fleet, `ward fleet serve`)
 * reads from any device before it issues anything: the request topic
 * (devices/<id>/csr) and the PKCS#10 request on it.
 *
 * Input: one byte n, then n % 64 bytes of topic, then the CSR's DER bytes.
 * The topic's id is checked against the CSR as the service does; also
 * against the fixed id "plug-0001", so that the CSR path is reached without
 * the fuzzer having to write a topic first.
 *
 * Oracles (abort): a status outside the documented set; a topic accepted
 * whose id is not exactly the bytes between "devices/" and "/csr" (an
 * embedded NUL would let devices/a\0x/csr pass as a's); a CSR accepted that
 * Mbed TLS does not parse, that is not P-256, whose signature does not
 * verify with its own key, or whose subject does not hold exactly one CN
 * whose bytes are exactly the id's (not a prefix up to a NUL, not one of two).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/private_access.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_csr.h>

#include "ward/crypto.h"
#include "ward_factory.h"
#include "ward_fleet.h"

#define CHECK(c)     \
    do {             \
        if (!(c)) {  \
            abort(); \
        }            \
    } while (0)

/* The subject names exactly one CN, and its bytes are id's, all of them (a
 * CN "plug-0001\0x" or a second CN must not pass as plug-0001's). */
static bool csr_cn_is(const mbedtls_x509_csr *req, const char *id)
{
    unsigned count = 0;
    bool same = false;
    const size_t n = strlen(id);
    for (const mbedtls_x509_name *a = &req->subject; a != NULL; a = a->next) {
        if (a->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &a->oid) == 0) {
            count++;
            same = a->val.len == n && memcmp(a->val.p, id, n) == 0;
        }
    }
    return count == 1u && same;
}

static void check_csr(const uint8_t *csr, size_t len, const char *id)
{
    const char *why = NULL;
    const ward_err_t err = ward_fleet_csr_check(csr, len, id, &why);
    CHECK(err == WARD_OK || err == WARD_ERR_CLOUD_CSR);
    CHECK(why != NULL);
    if (err != WARD_OK) {
        return;
    }
    mbedtls_x509_csr req;
    mbedtls_x509_csr_init(&req);
    CHECK(mbedtls_x509_csr_parse_der(&req, csr, len) == 0);
    CHECK(mbedtls_pk_get_type(&req.pk) == MBEDTLS_PK_ECKEY);
    CHECK(mbedtls_pk_get_bitlen(&req.pk) == 256u);
    uint8_t hash[32];
    CHECK(mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), req.cri.p, req.cri.len, hash) == 0);
    CHECK(mbedtls_pk_verify(&req.pk, MBEDTLS_MD_SHA256, hash, sizeof hash, req.MBEDTLS_PRIVATE(sig).p,
                            req.MBEDTLS_PRIVATE(sig).len) == 0);
    CHECK(csr_cn_is(&req, id));
    CHECK(ward_factory_device_id_check(id) == WARD_OK);
    mbedtls_x509_csr_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        CHECK(ward_crypto_init() == WARD_OK);
        init = true;
    }
    if (size < 1u) {
        return 0;
    }
    size_t tl = data[0] % 64u;
    if (tl > size - 1u) {
        tl = size - 1u;
    }
    const char *topic = (const char *)data + 1;
    const uint8_t *csr = data + 1 + tl;
    const size_t csr_len = size - 1u - tl;

    char id[WARD_FACTORY_ID_MAX + 1];
    if (ward_fleet_csr_topic(topic, tl, id)) {
        const size_t n = strlen(id);
        CHECK(tl >= 12u && n == tl - 12u);
        CHECK(memcmp(topic, "devices/", 8) == 0 && memcmp(topic + 8, id, n) == 0 &&
              memcmp(topic + 8 + n, "/csr", 4) == 0);
        check_csr(csr, csr_len, id);
    }
    check_csr(csr, csr_len, "plug-0001");
    return 0;
}
