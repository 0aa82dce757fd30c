/*
 * ward_factory: X.509 with Mbed TLS. Certificates: x509write_crt writes the
 * TBSCertificate (signed there with a throw-away PSA key, since Mbed TLS
 * signs only with keys it holds), Mbed TLS's parser takes the TBS back out,
 * and the CA key (a file or a token) signs it; the certificate is then put
 * together with Mbed TLS's ASN.1 writers. CSRs and CRLs: the ASN.1 writers.
 * Every result is parsed back and its signature verified before it is
 * returned.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/base64.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_csr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "factory_priv.h"
#include "ward/crypto.h"
#include "ward/util.h"

#define OID_LEN(o) (sizeof(o) - 1u)

/* ---- names ---------------------------------------------------------------------------- */

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

ward_err_t ward_factory_device_id_check(const char *id)
{
    if (id == NULL) {
        return WARD_ERR_DEVICE_ID;
    }
    const size_t n = strnlen(id, WARD_FACTORY_ID_MAX + 1u);
    for (size_t i = 0; i < n; i++) {
        if (!id_char(id[i])) {
            return WARD_ERR_DEVICE_ID;
        }
    }
    if (n == 0u || n > WARD_FACTORY_ID_MAX || id[0] == '.' || id[0] == '-') {
        return WARD_ERR_DEVICE_ID;
    }
    return WARD_OK;
}

/* A service CN: the device alphabet and '@', which it must hold. */
static bool service_cn_ok(const char *cn)
{
    const size_t n = strnlen(cn, WARD_FACTORY_ID_MAX + 1u);
    bool at = false;
    for (size_t i = 0; i < n; i++) {
        at = at || cn[i] == '@';
        if (!id_char(cn[i]) && cn[i] != '@') {
            return false;
        }
    }
    return at && n > 0u && n <= WARD_FACTORY_ID_MAX && cn[0] != '.' && cn[0] != '-';
}

static bool dns_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0u || n > 253u || s[0] == '.' || s[0] == '-' || s[n - 1u] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* The CA's name: printable and free of DN syntax. */
static bool ca_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0u || n > 64u || s[0] == ' ') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!id_char(s[i]) && s[i] != ' ') {
            return false;
        }
    }
    return true;
}

/* ---- signing a TBS --------------------------------------------------------------------- */

/*
 * out = SEQUENCE { tbs, AlgorithmIdentifier ecdsa-with-SHA256 (no
 * parameters), BIT STRING { ECDSA-Sig-Value } }: the shape of a
 * Certificate, a CertificateList and a CertificationRequest.
 */
static ward_err_t sign_wrap(ward_factory_sign_fn sign, void *ctx, const uint8_t *tbs,
                            size_t tbs_len, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t hash[WARD_SHA256_LEN], raw[WARD_P256_SIG_LEN], der_sig[80];
    size_t der_len = 0;
    ward_err_t err = ward_sha256(hash, tbs, tbs_len);
    if (err == WARD_OK) {
        err = sign(ctx, hash, raw);
    }
    if (err == WARD_OK) {
        err = ward_ecdsa_raw_to_der(der_sig, sizeof der_sig, &der_len, raw);
    }
    if (err != WARD_OK) {
        return err;
    }
    unsigned char *p = out + cap;
    size_t n = 0;
    int r;
#define W(call)                                                                                  \
    do {                                                                                         \
        if ((r = (call)) < 0) {                                                                  \
            return r == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL ? WARD_ERR_BUF_TOO_SMALL : WARD_ERR_CRYPTO; \
        }                                                                                        \
        n += (size_t)r;                                                                          \
    } while (0)
    W(mbedtls_asn1_write_bitstring(&p, out, der_sig, der_len * 8u));
    W(mbedtls_asn1_write_algorithm_identifier_ext(&p, out, MBEDTLS_OID_ECDSA_SHA256,
                                                  OID_LEN(MBEDTLS_OID_ECDSA_SHA256), 0, 0));
    W(mbedtls_asn1_write_raw_buffer(&p, out, tbs, tbs_len));
    W(mbedtls_asn1_write_len(&p, out, n));
    W(mbedtls_asn1_write_tag(&p, out, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
#undef W
    memmove(out, p, n);
    *len = n;
    return WARD_OK;
}

static ward_err_t key_sign(void *ctx, const uint8_t hash[32], uint8_t sig[64])
{
    return ward_key_sign_hash(ctx, hash, sig);
}

/* ecdsa-with-SHA256 signature check of a parsed object's TBS. */
static bool sig_ok(mbedtls_pk_context *pk, const mbedtls_x509_buf *tbs, const mbedtls_x509_buf *sig,
                   mbedtls_md_type_t md, mbedtls_pk_type_t sig_pk)
{
    uint8_t hash[WARD_SHA256_LEN];
    if (md != MBEDTLS_MD_SHA256 || sig_pk != MBEDTLS_PK_ECDSA ||
        ward_sha256(hash, tbs->p, tbs->len) != WARD_OK) {
        return false;
    }
    return mbedtls_pk_verify(pk, MBEDTLS_MD_SHA256, hash, sizeof hash, sig->p, sig->len) == 0;
}

bool ward_factory_cert_signed_by(const mbedtls_x509_crt *crt, mbedtls_x509_crt *issuer)
{
    return sig_ok(&issuer->pk, &crt->tbs, &crt->MBEDTLS_PRIVATE(sig),
                  crt->MBEDTLS_PRIVATE(sig_md), crt->MBEDTLS_PRIVATE(sig_pk));
}

/* The 65-byte point of a P-256 pk, via its DER SPKI. */
static ward_err_t pk_pub(const mbedtls_pk_context *pk, uint8_t pub[65])
{
    uint8_t der[160];
    int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof der);
    if (n != (int)WARD_P256_SPKI_LEN ||
        ward_p256_spki_parse(pub, der + sizeof der - WARD_P256_SPKI_LEN, WARD_P256_SPKI_LEN) !=
            WARD_OK) {
        return WARD_ERR_CERT;
    }
    return WARD_OK;
}

ward_err_t ward_factory_cert_pub(const mbedtls_x509_crt *crt, uint8_t pub[65])
{
    return pk_pub(&crt->pk, pub);
}

static bool name_cn(const mbedtls_x509_name *name, char cn[WARD_FACTORY_ID_MAX + 1])
{
    bool found = false;
    cn[0] = '\0';
    for (const mbedtls_x509_name *n = name; n != NULL; n = n->next) {
        if (n->oid.p == NULL || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) != 0) {
            continue;
        }
        if (found || n->val.len == 0u || n->val.len > WARD_FACTORY_ID_MAX ||
            memchr(n->val.p, 0, n->val.len) != NULL) {
            cn[0] = '\0';
            return false; /* two CNs, or one that cannot be a name */
        }
        memcpy(cn, n->val.p, n->val.len);
        cn[n->val.len] = '\0';
        found = true;
    }
    return found;
}

bool ward_factory_cert_cn(const mbedtls_x509_crt *crt, char cn[WARD_FACTORY_ID_MAX + 1])
{
    return name_cn(&crt->subject, cn);
}

/* ---- CSR ------------------------------------------------------------------------------- */

ward_err_t ward_factory_csr_build(const char *cn, const uint8_t pub[65], ward_factory_sign_fn sign,
                                  void *sign_ctx, uint8_t *der, size_t cap, size_t *len)
{
    uint8_t cri[400], spki[WARD_P256_SPKI_LEN], pub_chk[65];
    if (len != NULL) {
        *len = 0;
    }
    if (cn == NULL || pub == NULL || sign == NULL || der == NULL || len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    const size_t cn_len = strlen(cn);
    if (cn_len == 0u || cn_len > WARD_FACTORY_ID_MAX || pub[0] != 0x04u) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_p256_spki_build(spki, pub);
    /* CertificationRequestInfo ::= SEQUENCE { version INTEGER 0, subject Name,
     *   subjectPKInfo, attributes [0] IMPLICIT SET OF Attribute (empty) } */
    unsigned char *p = cri + sizeof cri;
    size_t n = 0, rdn = 0;
    int r;
#define W(acc, call)                                                                             \
    do {                                                                                         \
        if ((r = (call)) < 0) {                                                                  \
            return WARD_ERR_BUF_TOO_SMALL;                                                       \
        }                                                                                        \
        (acc) += (size_t)r;                                                                      \
    } while (0)
    W(n, mbedtls_asn1_write_len(&p, cri, 0));
    W(n, mbedtls_asn1_write_tag(&p, cri, MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED));
    W(n, mbedtls_asn1_write_raw_buffer(&p, cri, spki, sizeof spki));
    /* Name ::= SEQUENCE { SET { SEQUENCE { id-at-commonName, UTF8String } } } */
    W(rdn, mbedtls_asn1_write_utf8_string(&p, cri, cn, cn_len));
    W(rdn, mbedtls_asn1_write_oid(&p, cri, MBEDTLS_OID_AT_CN, OID_LEN(MBEDTLS_OID_AT_CN)));
    W(rdn, mbedtls_asn1_write_len(&p, cri, rdn));
    W(rdn, mbedtls_asn1_write_tag(&p, cri, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    W(rdn, mbedtls_asn1_write_len(&p, cri, rdn));
    W(rdn, mbedtls_asn1_write_tag(&p, cri, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET));
    W(rdn, mbedtls_asn1_write_len(&p, cri, rdn));
    W(rdn, mbedtls_asn1_write_tag(&p, cri, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    n += rdn;
    W(n, mbedtls_asn1_write_int(&p, cri, 0));
    W(n, mbedtls_asn1_write_len(&p, cri, n));
    W(n, mbedtls_asn1_write_tag(&p, cri, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
#undef W
    ward_err_t err = sign_wrap(sign, sign_ctx, p, n, der, cap, len);
    if (err != WARD_OK) {
        *len = 0;
        return err;
    }
    /* Back through Mbed TLS's parser: the signature must verify with pub. */
    char cn_chk[WARD_FACTORY_ID_MAX + 1];
    err = ward_factory_csr_check(der, *len, cn_chk, pub_chk);
    if (err != WARD_OK || strcmp(cn_chk, cn) != 0 || memcmp(pub_chk, pub, 65) != 0) {
        *len = 0;
        return WARD_ERR_CRYPTO;
    }
    return WARD_OK;
}

ward_err_t ward_factory_csr_check(const uint8_t *der, size_t len, char cn[WARD_FACTORY_ID_MAX + 1],
                                  uint8_t pub[65])
{
    mbedtls_x509_csr csr;
    uint8_t pt[65];
    if (der == NULL || len == 0u || len > 4096u) {
        return WARD_ERR_CERT;
    }
    mbedtls_x509_csr_init(&csr);
    ward_err_t err = WARD_ERR_CERT;
    if (mbedtls_x509_csr_parse_der(&csr, der, len) == 0 && csr.raw.len == len &&
        pk_pub(&csr.pk, pt) == WARD_OK &&
        sig_ok(&csr.pk, &csr.cri, &csr.MBEDTLS_PRIVATE(sig), csr.MBEDTLS_PRIVATE(sig_md),
               csr.MBEDTLS_PRIVATE(sig_pk))) {
        char name[WARD_FACTORY_ID_MAX + 1];
        if (!name_cn(&csr.subject, name)) {
            name[0] = '\0';
        }
        if (cn != NULL) {
            memcpy(cn, name, sizeof name);
        }
        if (pub != NULL) {
            memcpy(pub, pt, sizeof pt);
        }
        err = WARD_OK;
    }
    mbedtls_x509_csr_free(&csr);
    return err;
}

/* ---- certificates ---------------------------------------------------------------------- */

static bool fmt_time(char out[16], int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t < 0 || gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999) {
        return false;
    }
    char tmp[96];
    int n = snprintf(tmp, sizeof tmp, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n != 14) {
        return false;
    }
    memcpy(out, tmp, 15);
    return true;
}

typedef struct cert_spec {
    ward_factory_profile_t profile; /* 0: the root */
    const char *subject;            /* "CN=..." */
    const uint8_t *serial;
    int64_t not_before, not_after;
    mbedtls_x509_san_list *san;
} cert_spec_t;

/*
 * Build a certificate for subject_pk, issued by issuer (NULL: self-signed
 * with key, which is then the subject's key), signed with key.
 */
static ward_err_t build_cert(ward_key_t *key, mbedtls_x509_crt *issuer,
                             mbedtls_pk_context *subject_pk, const cert_spec_t *s, uint8_t *out,
                             size_t cap, size_t *out_len)
{
    mbedtls_x509write_cert w;
    mbedtls_pk_context placeholder;
    mbedtls_x509_crt back;
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t tmp = PSA_KEY_ID_NULL;
    char nb[16], na[16], issuer_name[256];
    uint8_t aki[64], *tbs_der = NULL;
    ward_err_t err = WARD_ERR_CRYPTO;
    const size_t tbs_cap = WARD_FACTORY_CERT_DER_MAX;

    mbedtls_x509write_crt_init(&w);
    mbedtls_pk_init(&placeholder);
    mbedtls_x509_crt_init(&back);
    *out_len = 0;
    if (!fmt_time(nb, s->not_before) || !fmt_time(na, s->not_after)) {
        err = WARD_ERR_CERT_VALIDITY;
        goto exit;
    }
    /* The throw-away signer x509write_crt needs: its signature is dropped. */
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
    tbs_der = malloc(tbs_cap);
    if (tbs_der == NULL || psa_generate_key(&a, &tmp) != PSA_SUCCESS ||
        mbedtls_pk_setup_opaque(&placeholder, tmp) != 0) {
        goto exit;
    }
    if (issuer != NULL) {
        if (mbedtls_x509_dn_gets(issuer_name, sizeof issuer_name, &issuer->subject) < 0 ||
            issuer->subject_key_id.len == 0u || issuer->subject_key_id.len > 32u) {
            err = WARD_ERR_CERT;
            goto exit;
        }
    } else {
        snprintf(issuer_name, sizeof issuer_name, "%s", s->subject);
    }
    const bool ca = s->profile == 0;
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, subject_pk);
    mbedtls_x509write_crt_set_issuer_key(&w, &placeholder);
    int r = mbedtls_x509write_crt_set_subject_name(&w, s->subject);
    r = r != 0 ? r : mbedtls_x509write_crt_set_issuer_name(&w, issuer_name);
    unsigned char serial[WARD_FACTORY_SERIAL_LEN];
    memcpy(serial, s->serial, sizeof serial);
    r = r != 0 ? r : mbedtls_x509write_crt_set_serial_raw(&w, serial, sizeof serial);
    r = r != 0 ? r : mbedtls_x509write_crt_set_validity(&w, nb, na);
    r = r != 0 ? r : mbedtls_x509write_crt_set_basic_constraints(&w, ca ? 1 : 0, ca ? 0 : -1);
    r = r != 0 ? r
               : mbedtls_x509write_crt_set_key_usage(
                     &w, ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                            : MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    r = r != 0 ? r : mbedtls_x509write_crt_set_subject_key_identifier(&w);
    if (r == 0 && !ca) {
        mbedtls_asn1_sequence eku;
        memset(&eku, 0, sizeof eku);
        eku.buf.tag = MBEDTLS_ASN1_OID;
        static unsigned char k_server[] = MBEDTLS_OID_SERVER_AUTH;
        static unsigned char k_client[] = MBEDTLS_OID_CLIENT_AUTH;
        const bool server = s->profile == WARD_FACTORY_PROFILE_SERVER;
        eku.buf.p = server ? k_server : k_client;
        eku.buf.len = (server ? sizeof k_server : sizeof k_client) - 1u;
        r = mbedtls_x509write_crt_set_ext_key_usage(&w, &eku);
    }
    if (r == 0 && issuer != NULL) {
        /* AuthorityKeyIdentifier ::= SEQUENCE { [0] the issuer's SKI } */
        unsigned char *p = aki + sizeof aki;
        size_t n = 0;
        int q = mbedtls_asn1_write_raw_buffer(&p, aki, issuer->subject_key_id.p,
                                              issuer->subject_key_id.len);
        n += q > 0 ? (size_t)q : 0u;
        q = q < 0 ? q : mbedtls_asn1_write_len(&p, aki, n);
        n += q > 0 ? (size_t)q : 0u;
        q = q < 0 ? q : mbedtls_asn1_write_tag(&p, aki, MBEDTLS_ASN1_CONTEXT_SPECIFIC);
        n += q > 0 ? (size_t)q : 0u;
        q = q < 0 ? q : mbedtls_asn1_write_len(&p, aki, n);
        n += q > 0 ? (size_t)q : 0u;
        q = q < 0 ? q
                  : mbedtls_asn1_write_tag(&p, aki, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
        n += q > 0 ? (size_t)q : 0u;
        r = q < 0 ? q
                  : mbedtls_x509write_crt_set_extension(
                        &w, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
                        OID_LEN(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), 0, p, n);
    }
    if (r == 0 && s->san != NULL) {
        r = mbedtls_x509write_crt_set_subject_alternative_name(&w, s->san);
    }
    if (r != 0) {
        err = WARD_ERR_CERT;
        goto exit;
    }
    r = mbedtls_x509write_crt_der(&w, tbs_der, tbs_cap, mbedtls_psa_get_random,
                                  MBEDTLS_PSA_RANDOM_STATE);
    if (r <= 0) {
        err = r == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL ? WARD_ERR_BUF_TOO_SMALL : WARD_ERR_CERT;
        goto exit;
    }
    /* x509write_crt writes at the end of the buffer. Mbed TLS's parser
     * finds the TBS; the CA key signs it. */
    if (mbedtls_x509_crt_parse_der(&back, tbs_der + tbs_cap - (size_t)r, (size_t)r) != 0) {
        err = WARD_ERR_CERT;
        goto exit;
    }
    err = sign_wrap(key_sign, key, back.tbs.p, back.tbs.len, out, cap, out_len);
    mbedtls_x509_crt_free(&back);
    mbedtls_x509_crt_init(&back);
    if (err != WARD_OK) {
        goto exit;
    }
    /* Parse the result; its signature must verify with the issuer's key. */
    if (mbedtls_x509_crt_parse_der(&back, out, *out_len) != 0 ||
        (issuer != NULL ? !ward_factory_cert_signed_by(&back, issuer)
                        : !ward_factory_cert_signed_by(&back, &back))) {
        err = WARD_ERR_CRYPTO;
        *out_len = 0;
        goto exit;
    }
    err = WARD_OK;
exit:
    mbedtls_x509_crt_free(&back);
    mbedtls_x509write_crt_free(&w);
    mbedtls_pk_free(&placeholder);
    if (tmp != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(tmp);
    }
    psa_reset_key_attributes(&a);
    free(tbs_der);
    return err;
}

ward_err_t ward_factory_ca_create(ward_key_t *key, const char *name, int64_t not_before,
                                  uint32_t validity, uint8_t *der, size_t cap, size_t *len)
{
    mbedtls_pk_context pk;
    uint8_t serial[WARD_FACTORY_SERIAL_LEN];
    char subject[96];
    if (len != NULL) {
        *len = 0;
    }
    if (key == NULL || der == NULL || len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (name == NULL) {
        name = "ward factory CA";
    }
    if (!ca_name_ok(name)) {
        return WARD_ERR_INVALID_ARG;
    }
    snprintf(subject, sizeof subject, "CN=%s", name);
    const int64_t nb = not_before != 0 ? not_before : ward_factory_now();
    ward_err_t err = ward_factory_serial(serial);
    if (err != WARD_OK) {
        return err;
    }
    cert_spec_t s = {
        .profile = 0,
        .subject = subject,
        .serial = serial,
        .not_before = nb,
        .not_after = nb + (validity != 0u ? validity : WARD_FACTORY_CA_VALIDITY),
        .san = NULL,
    };
    mbedtls_pk_init(&pk);
    if (mbedtls_pk_parse_public_key(&pk, ward_key_spki(key), WARD_SIGN_SPKI_LEN) != 0) {
        mbedtls_pk_free(&pk);
        return WARD_ERR_CRYPTO;
    }
    err = build_cert(key, NULL, &pk, &s, der, cap, len);
    mbedtls_pk_free(&pk);
    return err;
}

/* The SAN list of a server certificate (nodes and IP bytes in arrays the
 * caller owns). */
#define SAN_MAX 8u
typedef struct san_store {
    mbedtls_x509_san_list node[SAN_MAX];
    uint8_t ip[SAN_MAX][16];
    char dns[SAN_MAX][254];
} san_store_t;

static ward_err_t make_san(const ward_factory_cert_opts_t *o, san_store_t *st,
                           mbedtls_x509_san_list **head)
{
    size_t k = 0;
    *head = NULL;
    if (o->dns_count + o->ip_count == 0u || o->dns_count + o->ip_count > SAN_MAX ||
        (o->dns_count > 0u && o->dns == NULL) || (o->ip_count > 0u && o->ips == NULL)) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < o->dns_count; i++, k++) {
        if (o->dns[i] == NULL || !dns_ok(o->dns[i])) {
            return WARD_ERR_INVALID_ARG;
        }
        st->node[k].node.type = MBEDTLS_X509_SAN_DNS_NAME;
        const size_t n = strlen(o->dns[i]); /* < 254: dns_ok */
        memcpy(st->dns[k], o->dns[i], n + 1u);
        st->node[k].node.san.unstructured_name.p = (unsigned char *)st->dns[k];
        st->node[k].node.san.unstructured_name.len = n;
    }
    for (size_t i = 0; i < o->ip_count; i++, k++) {
        size_t n = 0;
        if (o->ips[i] != NULL && inet_pton(AF_INET, o->ips[i], st->ip[k]) == 1) {
            n = 4;
        } else if (o->ips[i] != NULL && inet_pton(AF_INET6, o->ips[i], st->ip[k]) == 1) {
            n = 16;
        } else {
            return WARD_ERR_INVALID_ARG;
        }
        st->node[k].node.type = MBEDTLS_X509_SAN_IP_ADDRESS;
        st->node[k].node.san.unstructured_name.p = st->ip[k];
        st->node[k].node.san.unstructured_name.len = n;
    }
    for (size_t i = 0; i + 1u < k; i++) {
        st->node[i].next = &st->node[i + 1u];
    }
    *head = &st->node[0];
    return WARD_OK;
}

ward_err_t ward_factory_issue_cert(ward_factory_ca_t *ca, const uint8_t *csr, size_t csr_len,
                                   const ward_factory_cert_opts_t *o, uint8_t *der, size_t cap,
                                   size_t *der_len, uint8_t serial[WARD_FACTORY_SERIAL_LEN])
{
    mbedtls_x509_csr req;
    san_store_t san;
    mbedtls_x509_san_list *san_list = NULL;
    uint8_t sn[WARD_FACTORY_SERIAL_LEN];
    char cn[WARD_FACTORY_ID_MAX + 1], subject[96];
    if (der_len != NULL) {
        *der_len = 0;
    }
    if (ca == NULL || csr == NULL || o == NULL || der == NULL || der_len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    /* The profile's name rules first. */
    switch (o->profile) {
    case WARD_FACTORY_PROFILE_DEVICE: {
        ward_err_t e = ward_factory_device_id_check(o->cn);
        if (e != WARD_OK) {
            return e;
        }
        break;
    }
    case WARD_FACTORY_PROFILE_SERVICE:
        if (o->cn == NULL || !service_cn_ok(o->cn)) {
            return WARD_ERR_INVALID_ARG;
        }
        break;
    case WARD_FACTORY_PROFILE_SERVER: {
        ward_err_t e = make_san(o, &san, &san_list);
        if (e != WARD_OK) {
            return e;
        }
        break;
    }
    default:
        return WARD_ERR_INVALID_ARG;
    }
    const uint32_t validity = o->validity != 0u ? o->validity : WARD_FACTORY_CERT_MAX_VALIDITY;
    if (validity > WARD_FACTORY_CERT_MAX_VALIDITY) {
        return WARD_ERR_CERT_VALIDITY;
    }
    /* The CSR: well formed, self-signed (the requester holds its key). */
    ward_err_t err = ward_factory_csr_check(csr, csr_len, cn, NULL);
    if (err != WARD_OK) {
        return err;
    }
    const char *want = o->cn;
    if (o->profile == WARD_FACTORY_PROFILE_SERVER && want == NULL) {
        want = o->dns_count > 0u ? o->dns[0] : o->ips[0];
    }
    if (want == NULL || strlen(want) > WARD_FACTORY_ID_MAX || strcmp(cn, want) != 0) {
        return WARD_ERR_CERT; /* the CSR asks for another name */
    }
    snprintf(subject, sizeof subject, "CN=%s", want);
    const int64_t nb = o->not_before != 0 ? o->not_before : ward_factory_now();
    mbedtls_x509_csr_init(&req);
    if (mbedtls_x509_csr_parse_der(&req, csr, csr_len) != 0) {
        mbedtls_x509_csr_free(&req);
        return WARD_ERR_CERT;
    }
    char path[4096];
    /* The records' lock from choosing an unused serial to recording it. */
    err = ward_factory_ca_lock(ca);
    const bool locked = err == WARD_OK;
    for (int attempt = 0; err == WARD_OK; attempt++) {
        err = ward_factory_serial(sn);
        if (err != WARD_OK || ca->dir == NULL) {
            break;
        }
        char hex[2 * WARD_FACTORY_SERIAL_LEN + 1];
        ward_factory_hex(hex, sn, sizeof sn);
        if (!ward_factory_path(path, sizeof path, "%s/ca/issued/%s.pem", ca->dir, hex)) {
            err = WARD_ERR_INVALID_ARG;
            break;
        }
        if (access(path, F_OK) != 0 || attempt >= 8) {
            err = access(path, F_OK) != 0 ? WARD_OK : WARD_ERR_CRYPTO;
            break; /* unused (a repeat of 126 random bits means a broken RNG) */
        }
    }
    if (err == WARD_OK) {
        cert_spec_t s = {
            .profile = o->profile,
            .subject = subject,
            .serial = sn,
            .not_before = nb,
            .not_after = nb + validity,
            .san = san_list,
        };
        err = build_cert(ca->key, &ca->crt, &req.pk, &s, der, cap, der_len);
    }
    mbedtls_x509_csr_free(&req);
    if (err == WARD_OK && ca->dir != NULL) {
        /* Recorded before it is handed out; a serial already on file is
         * never overwritten (link(2)). */
        char pem[WARD_FACTORY_PEM_MAX];
        size_t pem_len = 0;
        err = ward_factory_pem("CERTIFICATE", der, *der_len, pem, sizeof pem, &pem_len);
        if (err == WARD_OK) {
            err = ward_factory_write_file(path, pem, pem_len, 0644, true);
        }
        if (err != WARD_OK) {
            *der_len = 0;
        }
    }
    if (locked) {
        ward_factory_ca_unlock(ca);
    }
    if (err == WARD_OK && serial != NULL) {
        memcpy(serial, sn, sizeof sn);
    }
    return err;
}

/* ---- CRL ------------------------------------------------------------------------------- */

/* UTCTime before 2050, GeneralizedTime from then on (RFC 5280 5.1.2.4). */
static int write_time(unsigned char **p, const unsigned char *start, int64_t t)
{
    struct tm tm;
    char s[96];
    time_t tt = (time_t)t;
    if (t < 0 || gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999) {
        return MBEDTLS_ERR_ASN1_INVALID_DATA;
    }
    const int y = tm.tm_year + 1900;
    if (y < 2050) {
        snprintf(s, sizeof s, "%02d%02d%02d%02d%02d%02dZ", y % 100, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        return mbedtls_asn1_write_tagged_string(p, start, MBEDTLS_ASN1_UTC_TIME, s, 13);
    }
    snprintf(s, sizeof s, "%04d%02d%02d%02d%02d%02dZ", y, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    return mbedtls_asn1_write_tagged_string(p, start, MBEDTLS_ASN1_GENERALIZED_TIME, s, 15);
}

/* A positive INTEGER from big-endian bytes (a serial). */
static int write_uint_bytes(unsigned char **p, const unsigned char *start, const uint8_t *v,
                            size_t n)
{
    while (n > 1u && v[0] == 0u) {
        v++;
        n--;
    }
    int len = 0, r;
    if ((r = mbedtls_asn1_write_raw_buffer(p, start, v, n)) < 0) {
        return r;
    }
    len += r;
    if ((v[0] & 0x80u) != 0u) {
        if (*p - start < 1) {
            return MBEDTLS_ERR_ASN1_BUF_TOO_SMALL;
        }
        *--(*p) = 0x00;
        len += 1;
    }
    if ((r = mbedtls_asn1_write_len(p, start, (size_t)len)) < 0) {
        return r;
    }
    len += r;
    if ((r = mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_INTEGER)) < 0) {
        return r;
    }
    return len + r;
}

ward_err_t ward_factory_crl(ward_factory_ca_t *ca, const ward_factory_revoked_t *revoked,
                            size_t count, uint32_t crl_number, int64_t this_update,
                            uint32_t next_update_in, uint8_t *der, size_t cap, size_t *len)
{
    if (len != NULL) {
        *len = 0;
    }
    if (ca == NULL || der == NULL || len == NULL || (revoked == NULL && count > 0u) ||
        count > 1000000u || crl_number == 0u || crl_number > (uint32_t)INT32_MAX ||
        ca->crt.subject_key_id.len == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    const int64_t tu = this_update != 0 ? this_update : ward_factory_now();
    const int64_t nu = tu + (next_update_in != 0u ? next_update_in : 30u * 86400u);
    const size_t tbs_cap = 512u + 64u * count;
    uint8_t *tbs = malloc(tbs_cap);
    if (tbs == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    unsigned char *p = tbs + tbs_cap;
    size_t n = 0, ext = 0, one = 0, list = 0;
    int r = 0;
    ward_err_t err = WARD_ERR_INVALID_ARG;
#define W(acc, call)                                                                             \
    do {                                                                                         \
        if ((r = (call)) < 0) {                                                                  \
            goto exit;                                                                           \
        }                                                                                        \
        (acc) += (size_t)r;                                                                      \
    } while (0)
    /* crlExtensions [0] EXPLICIT SEQUENCE { cRLNumber, AKI } (written backwards) */
    {
        size_t v = 0; /* OCTET STRING { INTEGER crl_number } */
        W(v, mbedtls_asn1_write_int(&p, tbs, (int)crl_number));
        W(v, mbedtls_asn1_write_len(&p, tbs, v));
        W(v, mbedtls_asn1_write_tag(&p, tbs, MBEDTLS_ASN1_OCTET_STRING));
        one = v;
    }
    W(one, mbedtls_asn1_write_oid(&p, tbs, MBEDTLS_OID_CRL_NUMBER, OID_LEN(MBEDTLS_OID_CRL_NUMBER)));
    W(one, mbedtls_asn1_write_len(&p, tbs, one));
    W(one, mbedtls_asn1_write_tag(&p, tbs, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    ext += one;
    {
        size_t v = 0;
        W(v, mbedtls_asn1_write_raw_buffer(&p, tbs, ca->crt.subject_key_id.p,
                                           ca->crt.subject_key_id.len));
        W(v, mbedtls_asn1_write_len(&p, tbs, v));
        W(v, mbedtls_asn1_write_tag(&p, tbs, MBEDTLS_ASN1_CONTEXT_SPECIFIC));
        W(v, mbedtls_asn1_write_len(&p, tbs, v));
        W(v, mbedtls_asn1_write_tag(&p, tbs, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
        W(v, mbedtls_asn1_write_len(&p, tbs, v));
        W(v, mbedtls_asn1_write_tag(&p, tbs, MBEDTLS_ASN1_OCTET_STRING));
        one = v;
    }
    W(one, mbedtls_asn1_write_oid(&p, tbs, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
                                  OID_LEN(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER)));
    W(one, mbedtls_asn1_write_len(&p, tbs, one));
    W(one, mbedtls_asn1_write_tag(&p, tbs, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    ext += one;
    W(ext, mbedtls_asn1_write_len(&p, tbs, ext));
    W(ext, mbedtls_asn1_write_tag(&p, tbs, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    W(ext, mbedtls_asn1_write_len(&p, tbs, ext));
    W(ext, mbedtls_asn1_write_tag(&p, tbs, MBEDTLS_ASN1_CONTEXT_SPECIFIC |
                                               MBEDTLS_ASN1_CONSTRUCTED));
    n += ext;
    /* revokedCertificates: absent when empty (RFC 5280 5.1.2.6) */
    for (size_t i = count; i-- > 0u;) {
        const ward_factory_revoked_t *rv = &revoked[i];
        if (rv->serial_len == 0u || rv->serial_len > sizeof rv->serial) {
            r = -1;
            goto exit;
        }
        size_t e = 0;
        W(e, write_time(&p, tbs, rv->revoked_at));
        W(e, write_uint_bytes(&p, tbs, rv->serial, rv->serial_len));
        W(e, mbedtls_asn1_write_len(&p, tbs, e));
        W(e, mbedtls_asn1_write_tag(&p, tbs, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
        list += e;
    }
    if (count > 0u) {
        W(list, mbedtls_asn1_write_len(&p, tbs, list));
        W(list, mbedtls_asn1_write_tag(&p, tbs, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
        n += list;
    }
    W(n, write_time(&p, tbs, nu));
    W(n, write_time(&p, tbs, tu));
    /* issuer: the root's subject, byte for byte */
    W(n, mbedtls_asn1_write_raw_buffer(&p, tbs, ca->crt.subject_raw.p, ca->crt.subject_raw.len));
    W(n, mbedtls_asn1_write_algorithm_identifier_ext(&p, tbs, MBEDTLS_OID_ECDSA_SHA256,
                                                     OID_LEN(MBEDTLS_OID_ECDSA_SHA256), 0, 0));
    W(n, mbedtls_asn1_write_int(&p, tbs, 1)); /* v2 */
    W(n, mbedtls_asn1_write_len(&p, tbs, n));
    W(n, mbedtls_asn1_write_tag(&p, tbs, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
#undef W
    err = sign_wrap(key_sign, ca->key, p, n, der, cap, len);
    if (err == WARD_OK) {
        /* Back through Mbed TLS's CRL parser; the signature must verify. */
        mbedtls_x509_crl crl;
        mbedtls_x509_crl_init(&crl);
        if (mbedtls_x509_crl_parse_der(&crl, der, *len) != 0 ||
            !sig_ok(&ca->crt.pk, &crl.tbs, &crl.MBEDTLS_PRIVATE(sig), crl.MBEDTLS_PRIVATE(sig_md),
                    crl.MBEDTLS_PRIVATE(sig_pk))) {
            err = WARD_ERR_CRYPTO;
            *len = 0;
        }
        mbedtls_x509_crl_free(&crl);
    }
exit:
    if (r < 0) {
        err = r == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL ? WARD_ERR_BUF_TOO_SMALL : WARD_ERR_INVALID_ARG;
    }
    free(tbs);
    return err;
}

/* ---- PEM ------------------------------------------------------------------------------- */

ward_err_t ward_factory_pem(const char *label, const uint8_t *der, size_t len, char *pem,
                            size_t cap, size_t *pem_len)
{
    char head[64], foot[64];
    size_t olen = 0;
    if (label == NULL || der == NULL || pem == NULL || pem_len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *pem_len = 0;
    snprintf(head, sizeof head, "-----BEGIN %s-----\n", label);
    snprintf(foot, sizeof foot, "-----END %s-----\n", label);
    int r = mbedtls_pem_write_buffer(head, foot, der, len, (unsigned char *)pem, cap, &olen);
    if (r == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    if (r != 0) {
        return WARD_ERR_CRYPTO;
    }
    *pem_len = strlen(pem);
    return WARD_OK;
}

ward_err_t ward_factory_cert_read(const char *path, uint8_t **der, size_t *len)
{
    uint8_t *data = NULL;
    size_t n = 0;
    *der = NULL;
    *len = 0;
    ward_err_t err = ward_factory_read_file(path, &data, &n);
    if (err != WARD_OK) {
        return err;
    }
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    /* PEM wants the NUL counted (ward_factory_read_file put one there). */
    const bool pem = strstr((const char *)data, "-----BEGIN CERTIFICATE-----") != NULL;
    err = WARD_ERR_CERT;
    if (mbedtls_x509_crt_parse(&crt, data, pem ? n + 1u : n) == 0) {
        *der = malloc(crt.raw.len);
        if (*der == NULL) {
            err = WARD_ERR_NO_SPACE;
        } else {
            memcpy(*der, crt.raw.p, crt.raw.len);
            *len = crt.raw.len;
            err = WARD_OK;
        }
    }
    mbedtls_x509_crt_free(&crt);
    free(data);
    return err;
}
