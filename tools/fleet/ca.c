/*
 * ward_fleet: the CA side. Certificates with Mbed TLS's writer; the CRL
 * written here field by field (RFC 5280 section 5), as Mbed TLS parses CRLs
 * but does not write them.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/x509_csr.h>
#include <psa/crypto.h>

#include "ward/crypto.h"
#include "ward/mqtt.h"
#include "ward/util.h"
#include "ward_fleet.h"

/* AlgorithmIdentifier ecdsa-with-SHA256 (RFC 5758: no parameters). */
static const uint8_t k_ecdsa_sha256[12] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86,
                                           0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};

void ward_fleet_ca_init(ward_fleet_ca_t *ca)
{
    mbedtls_x509_crt_init(&ca->crt);
    mbedtls_pk_init(&ca->key);
    ca->loaded = false;
}

void ward_fleet_ca_free(ward_fleet_ca_t *ca)
{
    mbedtls_x509_crt_free(&ca->crt);
    mbedtls_pk_free(&ca->key);
    ca->loaded = false;
}

/* A whole file, NUL-terminated (mbedtls parses PEM only with its NUL). */
static ward_err_t slurp(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return WARD_ERR_IO;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - 1u - n, f);
        if (n < cap - 1u) {
            break;
        }
        uint8_t *more = realloc(buf, cap * 2u);
        if (more == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = more;
        cap *= 2u;
    }
    const bool err = ferror(f) != 0;
    fclose(f);
    if (buf == NULL || err) {
        free(buf);
        return WARD_ERR_IO;
    }
    buf[n] = 0;
    *data = buf;
    /* PEM: count the NUL, as mbedtls wants it. */
    *len = (n > 0u && strstr((const char *)buf, "-----BEGIN") != NULL) ? n + 1u : n;
    return WARD_OK;
}

ward_err_t ward_fleet_read_der(const char *path, uint8_t **der, size_t *len)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    ward_err_t err = slurp(path, &buf, &n);
    if (err != WARD_OK) {
        return err;
    }
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    if (mbedtls_x509_crt_parse(&crt, buf, n) != 0 || (*der = malloc(crt.raw.len)) == NULL) {
        mbedtls_x509_crt_free(&crt);
        free(buf);
        return WARD_ERR_CORRUPT;
    }
    memcpy(*der, crt.raw.p, crt.raw.len);
    *len = crt.raw.len;
    mbedtls_x509_crt_free(&crt);
    free(buf);
    return WARD_OK;
}

ward_err_t ward_fleet_pem(const uint8_t *der, size_t len, char *pem, size_t cap, size_t *out_len)
{
    size_t olen = 0;
    if (mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", der,
                                 len, (unsigned char *)pem, cap, &olen) != 0) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    if (out_len != NULL) {
        *out_len = olen > 0u ? olen - 1u : 0u; /* olen counts the NUL */
    }
    return WARD_OK;
}

ward_err_t ward_fleet_load_key_psa(const char *path, uint32_t *key_id)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    mbedtls_pk_context pk;
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    mbedtls_svc_key_id_t key = MBEDTLS_SVC_KEY_ID_INIT;
    ward_err_t err = slurp(path, &buf, &n);
    if (err != WARD_OK) {
        return err;
    }
    mbedtls_pk_init(&pk);
    err = WARD_ERR_CORRUPT;
    if (mbedtls_pk_parse_key(&pk, buf, n, NULL, 0, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE) == 0 &&
        mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY && mbedtls_pk_get_bitlen(&pk) == 256 &&
        mbedtls_pk_get_psa_attributes(&pk, PSA_KEY_USAGE_SIGN_HASH, &a) == 0) {
        psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_ANY_HASH));
        err = mbedtls_pk_import_into_psa(&pk, &a, &key) == 0 ? WARD_OK : WARD_ERR_CRYPTO;
    }
    psa_reset_key_attributes(&a);
    mbedtls_pk_free(&pk);
    ward_wipe(buf, n);
    free(buf);
    *key_id = err == WARD_OK ? (uint32_t)key : 0u;
    return err;
}

/* Does the private key match the certificate's public key? */
static bool key_matches(mbedtls_x509_crt *crt, mbedtls_pk_context *key)
{
    uint8_t a[200], b[200];
    const int la = mbedtls_pk_write_pubkey_der(&crt->pk, a, sizeof a);
    const int lb = mbedtls_pk_write_pubkey_der(key, b, sizeof b);
    return la > 0 && la == lb && memcmp(a + sizeof a - la, b + sizeof b - lb, (size_t)la) == 0;
}

ward_err_t ward_fleet_ca_load(ward_fleet_ca_t *ca, const char *cert_path, const char *key_path)
{
    uint8_t *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0;
    ward_fleet_ca_free(ca);
    ward_fleet_ca_init(ca);
    ward_err_t err = slurp(cert_path, &cert, &cert_len);
    if (err == WARD_OK) {
        err = slurp(key_path, &key, &key_len);
    }
    if (err == WARD_OK &&
        (mbedtls_x509_crt_parse(&ca->crt, cert, cert_len) != 0 ||
         mbedtls_pk_parse_key(&ca->key, key, key_len, NULL, 0, mbedtls_psa_get_random,
                              MBEDTLS_PSA_RANDOM_STATE) != 0)) {
        err = WARD_ERR_CORRUPT;
    }
    if (err == WARD_OK && (!ca->crt.MBEDTLS_PRIVATE(ca_istrue) || !key_matches(&ca->crt, &ca->key))) {
        err = WARD_ERR_INVALID_ARG;
    }
    if (key != NULL) {
        ward_wipe(key, key_len);
    }
    free(cert);
    free(key);
    if (err != WARD_OK) {
        ward_fleet_ca_free(ca);
        ward_fleet_ca_init(ca);
        return err;
    }
    ca->loaded = true;
    return WARD_OK;
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

ward_err_t ward_fleet_cert_make(ward_fleet_ca_t *ca, mbedtls_pk_context *subject_key,
                                const char *cn, const ward_fleet_cert_opts_t *o, uint8_t *der,
                                size_t cap, size_t *len, uint8_t *serial_out, size_t *serial_len)
{
    uint8_t buf[WARD_FLEET_CERT_MAX + 512];
    char subject[160], issuer[512], nb[15], na[15];
    uint8_t serial[20];
    size_t sl = 0;
    if (ca == NULL || !ca->loaded || subject_key == NULL || cn == NULL || o == NULL || der == NULL ||
        len == NULL || strlen(cn) > 64u || strpbrk(cn, ",+=\"\\<>;") != NULL ||
        (o->profile == WARD_FLEET_SERVER && o->dns == NULL) || o->serial_len > 20u) {
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
    const bool server = o->profile == WARD_FLEET_SERVER;
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

ward_err_t ward_fleet_ca_generate(ward_fleet_ca_t *ca, const char *cn, uint32_t days,
                                  char *cert_pem, size_t cert_cap, char *key_pem, size_t key_cap)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t key = PSA_KEY_ID_NULL;
    char subject[160], nb[15], na[15];
    uint8_t buf[WARD_FLEET_CERT_MAX + 512], serial[16];
    ward_fleet_ca_free(ca);
    ward_fleet_ca_init(ca);
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
        ward_fleet_ca_free(ca);
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
        ward_fleet_ca_free(ca);
        return WARD_ERR_CRYPTO;
    }
    ca->loaded = true;
    if (cert_pem != NULL && ward_fleet_pem(buf + sizeof buf - (size_t)n, (size_t)n, cert_pem,
                                           cert_cap, NULL) != WARD_OK) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    if (key_pem != NULL && mbedtls_pk_write_key_pem(&ca->key, (unsigned char *)key_pem, key_cap) != 0) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    return WARD_OK;
}

/* ---- certificate requests ------------------------------------------------------------ */

static ward_err_t refuse(const char **why, const char *reason)
{
    if (why != NULL) {
        *why = reason;
    }
    return WARD_ERR_CLOUD_CSR;
}

ward_err_t ward_fleet_csr_check(const uint8_t *csr, size_t len, const char *id, const char **why)
{
    mbedtls_x509_csr req;
    uint8_t hash[32], spki[200], pub[65];
    if (why != NULL) {
        *why = "ok";
    }
    if (csr == NULL || id == NULL) {
        return refuse(why, "no request");
    }
    if (ward_mqtt_device_id_check(id, strlen(id)) != WARD_OK) {
        return refuse(why, "not a device id");
    }
    mbedtls_x509_csr_init(&req);
    ward_err_t err = WARD_OK;
    const char *reason = NULL;
    if (mbedtls_x509_csr_parse(&req, csr, len) != 0) {
        reason = "malformed";
    } else if (req.MBEDTLS_PRIVATE(sig_md) != MBEDTLS_MD_SHA256 ||
               req.MBEDTLS_PRIVATE(sig_pk) != MBEDTLS_PK_ECDSA) {
        reason = "not ECDSA with SHA-256";
    } else {
        const int sl = mbedtls_pk_write_pubkey_der(&req.pk, spki, sizeof spki);
        if (sl <= 0 || ward_p256_spki_parse(pub, spki + sizeof spki - sl, (size_t)sl) != WARD_OK) {
            reason = "not a P-256 key";
        } else if (ward_sha256(hash, req.cri.p, req.cri.len) != WARD_OK ||
                   mbedtls_pk_verify(&req.pk, MBEDTLS_MD_SHA256, hash, sizeof hash, req.MBEDTLS_PRIVATE(sig).p,
                                     req.MBEDTLS_PRIVATE(sig).len) != 0) {
            reason = "bad signature";
        } else if (req.subject.next != NULL || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &req.subject.oid) != 0 ||
                   req.subject.val.len != strlen(id) ||
                   memcmp(req.subject.val.p, id, req.subject.val.len) != 0) {
            reason = "subject is not CN=<device id>";
        }
    }
    mbedtls_x509_csr_free(&req);
    if (reason != NULL) {
        err = refuse(why, reason);
    }
    return err;
}

ward_err_t ward_fleet_issue(ward_fleet_ca_t *ca, const uint8_t *csr, size_t csr_len,
                            const char *id, int64_t now, uint32_t days, uint8_t *der, size_t cap,
                            size_t *len, const char **why)
{
    if (days == 0u || days > WARD_FLEET_DAYS_MAX) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_fleet_csr_check(csr, csr_len, id, why);
    if (err != WARD_OK) {
        return err;
    }
    mbedtls_x509_csr req;
    mbedtls_x509_csr_init(&req);
    if (mbedtls_x509_csr_parse(&req, csr, csr_len) != 0) {
        mbedtls_x509_csr_free(&req);
        return refuse(why, "malformed");
    }
    ward_fleet_cert_opts_t o = {.profile = WARD_FLEET_DEVICE,
                                .not_before = now - 60,
                                .not_after = now + (int64_t)days * 86400 - 60};
    err = ward_fleet_cert_make(ca, &req.pk, id, &o, der, cap, len, NULL, NULL);
    mbedtls_x509_csr_free(&req);
    return err;
}

/* ---- CRL ------------------------------------------------------------------------------- */

/* UTCTime until 2049, GeneralizedTime after (RFC 5280 5.1.2.4). */
static int write_time(unsigned char **p, unsigned char *start, int64_t t)
{
    struct tm tm;
    char s[16];
    tm_of(t, &tm);
    const bool utc = tm.tm_year + 1900 < 2050;
    strftime(s, sizeof s, "%Y%m%d%H%M%SZ", &tm);
    const char *v = utc ? s + 2 : s; /* UTCTime: two digits of the year */
    const size_t n = strlen(v);
    if (*p - start < (ptrdiff_t)n) {
        return MBEDTLS_ERR_ASN1_BUF_TOO_SMALL;
    }
    *p -= n;
    memcpy(*p, v, n);
    int len = (int)n, r;
    if ((r = mbedtls_asn1_write_len(p, start, n)) < 0) {
        return r;
    }
    len += r;
    if ((r = mbedtls_asn1_write_tag(p, start, utc ? MBEDTLS_ASN1_UTC_TIME
                                                   : MBEDTLS_ASN1_GENERALIZED_TIME)) < 0) {
        return r;
    }
    return len + r;
}

/* A SEQUENCE (or other constructed tag) around the `len` bytes just written. */
static int wrap(unsigned char **p, unsigned char *start, size_t len, unsigned char tag)
{
    int r1 = mbedtls_asn1_write_len(p, start, len);
    if (r1 < 0) {
        return r1;
    }
    int r2 = mbedtls_asn1_write_tag(p, start, tag);
    if (r2 < 0) {
        return r2;
    }
    return (int)len + r1 + r2;
}

#define CHK(x)          \
    do {                \
        r = (x);        \
        if (r < 0) {    \
            goto done;  \
        }               \
    } while (0)

ward_err_t ward_fleet_crl(ward_fleet_ca_t *ca, const ward_fleet_revoked_t *list, size_t n,
                          int64_t this_update, int64_t next_update, uint32_t number, char *pem,
                          size_t cap, size_t *len)
{
    if (ca == NULL || !ca->loaded || (list == NULL && n > 0u) || pem == NULL || len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    const size_t size = 256u + ca->crt.subject_raw.len + 48u * n;
    unsigned char *buf = calloc(1, size + 200u);
    if (buf == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    unsigned char *start = buf, *p = buf + size;
    ward_err_t err = WARD_ERR_BUF_TOO_SMALL;
    int r = 0;
    size_t tbs_len = 0;
    /* crlExtensions [0] { SEQUENCE { Extension cRLNumber } } */
    {
        size_t l = 0;
        unsigned char num[5] = {0, 0, 0, 0, 0};
        ward_store_be32(num + 1, number);
        num[0] = 0;
        size_t skip = 0;
        while (skip < 4u && num[skip] == 0u && num[skip + 1u] < 0x80u) {
            skip++;
        }
        CHK(mbedtls_asn1_write_raw_buffer(&p, start, num + skip, 5u - skip));
        l += (size_t)r;
        CHK(wrap(&p, start, l, MBEDTLS_ASN1_INTEGER));
        l = (size_t)r;
        CHK(wrap(&p, start, l, MBEDTLS_ASN1_OCTET_STRING));
        l = (size_t)r;
        CHK(mbedtls_asn1_write_oid(&p, start, MBEDTLS_OID_CRL_NUMBER,
                                   MBEDTLS_OID_SIZE(MBEDTLS_OID_CRL_NUMBER)));
        l += (size_t)r;
        CHK(wrap(&p, start, l, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
        l = (size_t)r;
        CHK(wrap(&p, start, l, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
        l = (size_t)r;
        CHK(wrap(&p, start, l, MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED));
        tbs_len += (size_t)r;
    }
    /* revokedCertificates (absent when empty, RFC 5280 5.1.2.6) */
    if (n > 0u) {
        size_t all = 0;
        for (size_t i = n; i-- > 0u;) {
            size_t l = 0;
            CHK(write_time(&p, start, list[i].when));
            l += (size_t)r;
            CHK(mbedtls_asn1_write_raw_buffer(&p, start, list[i].serial, list[i].serial_len));
            l += (size_t)r;
            CHK(wrap(&p, start, list[i].serial_len, MBEDTLS_ASN1_INTEGER));
            l += (size_t)r - list[i].serial_len;
            CHK(wrap(&p, start, l, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
            all += (size_t)r;
        }
        CHK(wrap(&p, start, all, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
        tbs_len += (size_t)r;
    }
    CHK(write_time(&p, start, next_update));
    tbs_len += (size_t)r;
    CHK(write_time(&p, start, this_update));
    tbs_len += (size_t)r;
    CHK(mbedtls_asn1_write_raw_buffer(&p, start, ca->crt.subject_raw.p, ca->crt.subject_raw.len));
    tbs_len += (size_t)r;
    CHK(mbedtls_asn1_write_raw_buffer(&p, start, k_ecdsa_sha256, 12));
    tbs_len += (size_t)r;
    CHK(mbedtls_asn1_write_int(&p, start, 1)); /* v2 */
    tbs_len += (size_t)r;
    CHK(wrap(&p, start, tbs_len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    tbs_len = (size_t)r;
    {
        /* Sign the TBSCertList, then put it in front of the signature. */
        uint8_t hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
        size_t sig_len = 0;
        const unsigned char *tbs = p;
        err = WARD_ERR_CRYPTO;
        if (ward_sha256(hash, tbs, tbs_len) != WARD_OK ||
            mbedtls_pk_sign(&ca->key, MBEDTLS_MD_SHA256, hash,
                            sizeof hash, sig, sizeof sig, &sig_len, mbedtls_psa_get_random,
                            MBEDTLS_PSA_RANDOM_STATE) != 0) {
            goto done;
        }
        err = WARD_ERR_BUF_TOO_SMALL;
        unsigned char *out = calloc(1, tbs_len + sig_len + 64u);
        if (out == NULL) {
            err = WARD_ERR_NO_SPACE;
            goto done;
        }
        unsigned char *q = out + tbs_len + sig_len + 64u;
        size_t total = 0;
        r = mbedtls_asn1_write_bitstring(&q, out, sig, sig_len * 8u);
        if (r >= 0) {
            total += (size_t)r;
            r = mbedtls_asn1_write_raw_buffer(&q, out, k_ecdsa_sha256, 12);
        }
        if (r >= 0) {
            total += (size_t)r;
            r = mbedtls_asn1_write_raw_buffer(&q, out, tbs, tbs_len);
        }
        if (r >= 0) {
            total += (size_t)r;
            r = wrap(&q, out, total, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
        }
        size_t olen = 0;
        if (r >= 0 && mbedtls_pem_write_buffer("-----BEGIN X509 CRL-----\n", "-----END X509 CRL-----\n",
                                               q, (size_t)r, (unsigned char *)pem, cap, &olen) == 0) {
            *len = olen > 0u ? olen - 1u : 0u;
            err = WARD_OK;
        }
        free(out);
    }
done:
    free(buf);
    return err;
}
