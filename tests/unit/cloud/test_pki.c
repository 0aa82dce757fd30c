/*
 * Test support: a CA made on the spot and certificates of any shape
 * (validity over a year, a chosen serial, a server profile, another CA with
 * the same name), written with Mbed TLS's writer: what the device's checks
 * must refuse, which the factory's library (rightly) never issues.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/psa_util.h>
#include <psa/crypto.h>

#include "test_pki.h"

ward_err_t test_pem(const uint8_t *der, size_t len, char *pem, size_t cap, size_t *out_len)
{
    size_t olen = 0;
    if (mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", der,
                                 len, (unsigned char *)pem, cap, &olen) != 0) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    if (out_len != NULL) {
        *out_len = olen > 0u ? olen - 1u : 0u;
    }
    return WARD_OK;
}

void test_ca_init(test_ca_t *ca)
{
    mbedtls_x509_crt_init(&ca->crt);
    mbedtls_pk_init(&ca->key);
    ca->loaded = false;
}

void test_ca_free(test_ca_t *ca)
{
    mbedtls_x509_crt_free(&ca->crt);
    mbedtls_pk_free(&ca->key);
    ca->loaded = false;
}


/* ---- time ------------------------------------------------------------------------ */

static void tm_of(int64_t t, struct tm *out)
{
    const time_t tt = (time_t)t;
    gmtime_r(&tt, out);
}

/* "YYYYMMDDhhmmss" for mbedtls_x509write_crt_set_validity. */
static void x509_time_str(int64_t t, char out[15])
{
    struct tm tm;
    tm_of(t, &tm);
    strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

static ward_err_t random_serial(uint8_t serial[16])
{
    if (psa_generate_random(serial, 16) != PSA_SUCCESS) {
        return WARD_ERR_CRYPTO;
    }
    /* Positive, 16 bytes exactly (RFC 5280: at most 20, positive). */
    serial[0] = (uint8_t)((serial[0] & 0x7Fu) | 0x40u);
    return WARD_OK;
}

/* ---- certificates ------------------------------------------------------------------ */

ward_err_t test_cert_make(test_ca_t *ca, mbedtls_pk_context *subject_key,
                                const char *cn, const test_cert_opts_t *o, uint8_t *der,
                                size_t cap, size_t *len, uint8_t *serial_out, size_t *serial_len)
{
    uint8_t buf[TEST_CERT_MAX + 512];
    char subject[160], issuer[512], nb[15], na[15];
    uint8_t serial[20];
    size_t sl = 0;
    if (ca == NULL || !ca->loaded || subject_key == NULL || cn == NULL || o == NULL || der == NULL ||
        len == NULL || strlen(cn) > 64u || strpbrk(cn, ",+=\"\\<>;") != NULL ||
        (o->profile == TEST_SERVER && o->dns == NULL) || o->serial_len > 20u) {
        return WARD_ERR_INVALID_ARG;
    }
    *len = 0;
    if (o->serial_len > 0u) {
        memcpy(serial, o->serial, o->serial_len);
        sl = o->serial_len;
    } else {
        ward_err_t err = random_serial(serial);
        if (err != WARD_OK) {
            return err;
        }
        sl = 16;
    }
    snprintf(subject, sizeof subject, "CN=%s", cn);
    if (mbedtls_x509_dn_gets(issuer, sizeof issuer, &ca->crt.subject) < 0) {
        return WARD_ERR_INVALID_ARG;
    }
    x509_time_str(o->not_before, nb);
    x509_time_str(o->not_after, na);

    mbedtls_x509write_cert w;
    mbedtls_x509write_crt_init(&w);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, subject_key);
    mbedtls_x509write_crt_set_issuer_key(&w, &ca->key);
    int ret = mbedtls_x509write_crt_set_serial_raw(&w, serial, sl);
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_validity(&w, nb, na);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_subject_name(&w, subject);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_issuer_name(&w, issuer);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_basic_constraints(&w, 0, -1);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_key_usage(&w, MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_subject_key_identifier(&w);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_authority_key_identifier(&w);
    }
    /* Mbed TLS's structures take non-const pointers: copies of the OID and name. */
    unsigned char oid[16];
    const bool server = o->profile == TEST_SERVER;
    const size_t oid_len = server ? MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)
                                  : MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH);
    memcpy(oid, server ? MBEDTLS_OID_SERVER_AUTH : MBEDTLS_OID_CLIENT_AUTH, oid_len);
    mbedtls_asn1_sequence eku = {.buf = {.tag = MBEDTLS_ASN1_OID, .len = oid_len, .p = oid},
                                 .next = NULL};
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_ext_key_usage(&w, &eku);
    }
    if (ret == 0 && server) {
        unsigned char dns[256];
        const size_t dl = strlen(o->dns);
        if (dl >= sizeof dns) {
            ret = MBEDTLS_ERR_X509_BAD_INPUT_DATA;
        } else {
            memcpy(dns, o->dns, dl);
            mbedtls_x509_san_list san = {
                .node = {.type = MBEDTLS_X509_SAN_DNS_NAME,
                         .san.unstructured_name = {.tag = MBEDTLS_ASN1_IA5_STRING, .len = dl, .p = dns}},
                .next = NULL};
            ret = mbedtls_x509write_crt_set_subject_alternative_name(&w, &san);
        }
    }
    int n = ret == 0 ? mbedtls_x509write_crt_der(&w, buf, sizeof buf, mbedtls_psa_get_random,
                                                  MBEDTLS_PSA_RANDOM_STATE)
                     : ret;
    mbedtls_x509write_crt_free(&w);
    if (n <= 0) {
        return ret != 0 ? WARD_ERR_INVALID_ARG : WARD_ERR_CRYPTO;
    }
    if ((size_t)n > cap) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    memcpy(der, buf + sizeof buf - (size_t)n, (size_t)n);
    *len = (size_t)n;
    if (serial_out != NULL) {
        memcpy(serial_out, serial, sl);
    }
    if (serial_len != NULL) {
        *serial_len = sl;
    }
    return WARD_OK;
}

ward_err_t test_ca_generate(test_ca_t *ca, const char *cn, uint32_t days,
                                  char *cert_pem, size_t cert_cap, char *key_pem, size_t key_cap)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t key = PSA_KEY_ID_NULL;
    char subject[160], nb[15], na[15];
    uint8_t buf[TEST_CERT_MAX + 512], serial[16];
    test_ca_free(ca);
    test_ca_init(ca);
    if (cn == NULL || days == 0u || strlen(cn) > 64u || strpbrk(cn, ",+=\"\\<>;") != NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_EXPORT | PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_ANY_HASH));
    ward_err_t err = WARD_ERR_CRYPTO;
    if (psa_generate_key(&a, &key) == PSA_SUCCESS && mbedtls_pk_copy_from_psa(key, &ca->key) == 0) {
        err = random_serial(serial);
    }
    if (key != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(key);
    }
    psa_reset_key_attributes(&a);
    if (err != WARD_OK) {
        test_ca_free(ca);
        return err;
    }
    const int64_t now = (int64_t)time(NULL);
    snprintf(subject, sizeof subject, "CN=%s", cn);
    x509_time_str(now - 60, nb);
    x509_time_str(now + (int64_t)days * 86400, na);
    mbedtls_x509write_cert w;
    mbedtls_x509write_crt_init(&w);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, &ca->key);
    mbedtls_x509write_crt_set_issuer_key(&w, &ca->key);
    int ret = mbedtls_x509write_crt_set_serial_raw(&w, serial, sizeof serial);
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_validity(&w, nb, na);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_subject_name(&w, subject);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_issuer_name(&w, subject);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_basic_constraints(&w, 1, 0);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_key_usage(&w, MBEDTLS_X509_KU_KEY_CERT_SIGN |
                                                          MBEDTLS_X509_KU_CRL_SIGN);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_subject_key_identifier(&w);
    }
    const int n = ret == 0 ? mbedtls_x509write_crt_der(&w, buf, sizeof buf, mbedtls_psa_get_random,
                                                        MBEDTLS_PSA_RANDOM_STATE)
                           : ret;
    mbedtls_x509write_crt_free(&w);
    if (n <= 0 || mbedtls_x509_crt_parse_der(&ca->crt, buf + sizeof buf - (size_t)n, (size_t)n) != 0) {
        test_ca_free(ca);
        return WARD_ERR_CRYPTO;
    }
    ca->loaded = true;
    if (cert_pem != NULL && test_pem(buf + sizeof buf - (size_t)n, (size_t)n, cert_pem,
                                           cert_cap, NULL) != WARD_OK) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    if (key_pem != NULL && mbedtls_pk_write_key_pem(&ca->key, (unsigned char *)key_pem, key_cap) != 0) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    return WARD_OK;
}

