/*
 * Unit tests of the device cloud client (src/cloud: cert.c, csr.c,
 * identity.c, events.c, client.c) and of what the fleet library issues for
 * it (tools/fleet): the X.509 reader against Mbed TLS-written certificates,
 * the CSR against Mbed TLS's parser and the fleet's checks, every refusal
 * of a rotation certificate, the rotation under a power cut at every
 * power-relevant operation (flash, HSM), the events' JSON, and the
 * client's back-off and TLS-failure events over a fake network.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_csr.h>

#include "ward/cloud.h"
#include "ward/crypto.h"
#include "ward/sim.h"
#include "ward/util.h"
#include "test_pki.h"
#include "ward_factory.h"
#include "ward_fleet.h"

static char g_dir[256];
static test_ca_t g_ca, g_other;
static ward_factory_ca_t *g_fca; /* the factory's library, over g_ca's certificate and key */
static uint8_t g_ca_der[1024], g_other_der[1024];
static size_t g_ca_len, g_other_len;

/* ---- helpers ------------------------------------------------------------------------ */

/* An in-memory certificate store (atomic by construction). */
typedef struct {
    uint8_t slot[2][1024];
    size_t len[2];
    bool has[2];
    unsigned stores, erases;
} mem_certs_t;

static ward_err_t mem_load(void *ctx, uint32_t s, uint8_t *buf, size_t cap, size_t *len)
{
    mem_certs_t *m = ctx;
    if (s > 1u) {
        return WARD_ERR_INVALID_ARG;
    }
    if (!m->has[s]) {
        return WARD_ERR_NOT_FOUND;
    }
    *len = m->len[s];
    if (m->len[s] > cap) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    memcpy(buf, m->slot[s], m->len[s]);
    return WARD_OK;
}

static ward_err_t mem_store(void *ctx, uint32_t s, const uint8_t *der, size_t len)
{
    mem_certs_t *m = ctx;
    if (s > 1u || len > sizeof m->slot[0]) {
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(m->slot[s], der, len);
    m->len[s] = len;
    m->has[s] = true;
    m->stores++;
    return WARD_OK;
}

static ward_err_t mem_erase(void *ctx, uint32_t s)
{
    mem_certs_t *m = ctx;
    m->has[s] = false;
    m->erases++;
    return WARD_OK;
}

static void mem_certs(ward_cloud_certs_t *c, mem_certs_t *m)
{
    memset(m, 0, sizeof *m);
    *c = (ward_cloud_certs_t){.ctx = m, .load = mem_load, .store = mem_store, .erase = mem_erase};
}

/* The public key of a PSA key id as an Mbed TLS pk context. */
static void pk_of(uint32_t key_id, mbedtls_pk_context *pk)
{
    mbedtls_pk_init(pk);
    assert_int_equal(mbedtls_pk_copy_public_from_psa((mbedtls_svc_key_id_t)key_id, pk), 0);
}

/* A device certificate from ca for the key key_id, CN cn, with options. */
static size_t make_cert(test_ca_t *ca, uint32_t key_id, const char *cn,
                        const test_cert_opts_t *o, uint8_t *der)
{
    mbedtls_pk_context pk;
    size_t len = 0;
    pk_of(key_id, &pk);
    assert_int_equal(test_cert_make(ca, &pk, cn, o, der, 1024, &len, NULL, NULL), WARD_OK);
    mbedtls_pk_free(&pk);
    return len;
}

static test_cert_opts_t device_opts(void)
{
    const int64_t now = (int64_t)time(NULL);
    return (test_cert_opts_t){.profile = TEST_DEVICE, .not_before = now - 60,
                                    .not_after = now + 365 * 86400 - 60};
}

static uint32_t psa_p256(void)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t k = PSA_KEY_ID_NULL;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_ANY_HASH));
    assert_int_equal(psa_generate_key(&a, &k), PSA_SUCCESS);
    return k;
}

static void key_pub(uint32_t id, uint8_t pub[65])
{
    size_t n = 0;
    assert_int_equal(psa_export_public_key((psa_key_id_t)id, pub, 65, &n), PSA_SUCCESS);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(ward_crypto_init(), WARD_OK);
    snprintf(g_dir, sizeof g_dir, "/tmp/ward-test-cloud-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    test_ca_init(&g_ca);
    test_ca_init(&g_other);
    static char cert_pem[4096], key_pem[4096];
    assert_int_equal(test_ca_generate(&g_ca, "ward test factory CA", 3650, cert_pem, sizeof cert_pem,
                                      key_pem, sizeof key_pem),
                     WARD_OK);
    char cp[300], kp[300], why[256] = "";
    snprintf(cp, sizeof cp, "%s/ca.pem", g_dir);
    snprintf(kp, sizeof kp, "%s/ca-key.pem", g_dir);
    FILE *f = fopen(cp, "w");
    assert_non_null(f);
    fputs(cert_pem, f);
    fclose(f);
    f = fopen(kp, "w");
    assert_non_null(f);
    fputs(key_pem, f);
    fclose(f);
    if (ward_factory_ca_load(cp, kp, &g_fca, why, sizeof why) != WARD_OK) {
        fail_msg("factory CA: %s", why);
    }
    /* Another CA with the very same name: only its key tells it apart. */
    assert_int_equal(test_ca_generate(&g_other, "ward test factory CA", 3650, NULL, 0, NULL, 0),
                     WARD_OK);
    memcpy(g_ca_der, g_ca.crt.raw.p, g_ca.crt.raw.len);
    g_ca_len = g_ca.crt.raw.len;
    memcpy(g_other_der, g_other.crt.raw.p, g_other.crt.raw.len);
    g_other_len = g_other.crt.raw.len;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_ca_free(&g_ca);
    test_ca_free(&g_other);
    ward_factory_ca_close(g_fca);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd);
}

/* ---- certificates ---------------------------------------------------------------------- */

static void test_cert_parse(void **state)
{
    (void)state;
    const uint32_t k = psa_p256();
    uint8_t der[1024], pub[65];
    test_cert_opts_t o = device_opts();
    o.serial_len = 3;
    o.serial[0] = 0x01;
    o.serial[1] = 0x02;
    o.serial[2] = 0x03;
    const size_t len = make_cert(&g_ca, k, "plug-0001", &o, der);
    ward_cloud_cert_info_t info;
    assert_int_equal(ward_cloud_cert_parse(&info, der, len), WARD_OK);
    assert_int_equal(info.cn_len, 9);
    assert_memory_equal(info.cn, "plug-0001", 9);
    assert_int_equal(info.serial_len, 3);
    assert_memory_equal(info.serial, o.serial, 3);
    assert_true(info.not_before == o.not_before && info.not_after == o.not_after);
    key_pub(k, pub);
    assert_memory_equal(info.pub, pub, 65);
    assert_false(info.is_ca);
    assert_true(info.client_auth && info.digital_signature);
    /* Its issuer is the CA's subject, its signature the CA's, as Mbed TLS
     * sees them too. */
    ward_cloud_cert_info_t ca;
    assert_int_equal(ward_cloud_cert_parse(&ca, g_ca_der, g_ca_len), WARD_OK);
    assert_true(ca.is_ca);
    assert_int_equal(info.issuer_len, ca.subject_len);
    assert_memory_equal(info.issuer, ca.subject, ca.subject_len);
    uint8_t hash[32];
    assert_int_equal(ward_sha256(hash, info.tbs, info.tbs_len), WARD_OK);
    assert_int_equal(ward_p256_verify(ca.pub, hash, info.sig), WARD_OK);
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    assert_int_equal(mbedtls_x509_crt_parse_der(&crt, der, len), 0);
    uint32_t flags = 0;
    assert_int_equal(mbedtls_x509_crt_verify(&crt, &g_ca.crt, NULL, NULL, &flags, NULL, NULL), 0);
    assert_int_equal(crt.tbs.len, info.tbs_len);
    mbedtls_x509_crt_free(&crt);

    /* Server profile: serverAuth only, so not for a TLS client. */
    o.profile = TEST_SERVER;
    o.dns = "localhost";
    size_t n = make_cert(&g_ca, k, "broker", &o, der);
    assert_int_equal(ward_cloud_cert_parse(&info, der, n), WARD_OK);
    assert_false(info.client_auth);

    /* Dates on both sides of UTCTime's 2049 / GeneralizedTime's 2050. */
    o = device_opts();
    o.not_before = 2524607999; /* 2049-12-31T23:59:59Z: UTCTime */
    o.not_after = 2524608000;  /* 2050-01-01T00:00:00Z: GeneralizedTime */
    n = make_cert(&g_ca, k, "plug-0001", &o, der);
    assert_int_equal(ward_cloud_cert_parse(&info, der, n), WARD_OK);
    assert_true(info.not_before == 2524607999 && info.not_after == 2524608000);
    (void)psa_destroy_key(k);
}

/* Every prefix is refused, and every single-byte change is refused or still
 * parses into a structure (under ASan: no read out of bounds). */
static void test_cert_malformed(void **state)
{
    (void)state;
    const uint32_t k = psa_p256();
    uint8_t der[1024], bad[1024];
    test_cert_opts_t o = device_opts();
    const size_t len = make_cert(&g_ca, k, "plug-0002", &o, der);
    ward_cloud_cert_info_t info;
    for (size_t n = 0; n < len; n++) {
        assert_int_not_equal(ward_cloud_cert_parse(&info, der, n), WARD_OK);
    }
    /* Trailing bytes. */
    memcpy(bad, der, len);
    bad[len] = 0;
    assert_int_equal(ward_cloud_cert_parse(&info, bad, len + 1), WARD_ERR_CORRUPT);
    unsigned refused = 0, parsed = 0;
    for (size_t i = 0; i < len; i++) {
        for (int b = 0; b < 8; b += 3) {
            memcpy(bad, der, len);
            bad[i] ^= (uint8_t)(1u << b);
            const ward_err_t err = ward_cloud_cert_parse(&info, bad, len);
            assert_true(err == WARD_OK || err == WARD_ERR_CORRUPT || err == WARD_ERR_UNSUPPORTED);
            if (err == WARD_OK) {
                parsed++;
                assert_true(info.tbs >= bad && info.tbs + info.tbs_len <= bad + len);
                assert_true(info.cn == NULL || (info.cn >= bad && info.cn + info.cn_len <= bad + len));
            } else {
                refused++;
            }
        }
    }
    printf("cert flips: %u refused, %u still parse (changed values: signature and checks catch them)\n",
           refused, parsed);
    /* A non-minimal length (0x81 0x05 for 5) is refused. */
    const uint8_t nonmin[] = {0x30, 0x81, 0x05, 0x02, 0x01, 0x00, 0x05, 0x00};
    assert_int_equal(ward_cloud_cert_parse(&info, nonmin, sizeof nonmin), WARD_ERR_CORRUPT);
    (void)psa_destroy_key(k);
}

/* ---- CSR ------------------------------------------------------------------------------------ */

static void test_csr(void **state)
{
    (void)state;
    const uint32_t k = psa_p256();
    uint8_t csr[WARD_CLOUD_CSR_MAX], pub[65];
    size_t len = 0;
    assert_int_equal(ward_cloud_csr(csr, sizeof csr, &len, "plug-0003", 9, k), WARD_OK);
    /* Its shape, byte for byte where it is fixed (docs/cloud.md). */
    assert_int_equal(csr[0], 0x30);
    const uint8_t cri_head[] = {0x02, 0x01, 0x00, 0x30, 0x14, 0x31, 0x12, 0x30, 0x10, 0x06,
                                0x03, 0x55, 0x04, 0x03, 0x0C, 0x09, 'p', 'l', 'u', 'g',
                                '-', '0', '0', '0', '3'};
    assert_memory_equal(csr + 2 + 3, cri_head, sizeof cri_head);
    key_pub(k, pub);
    assert_memory_equal(csr + 2 + 3 + sizeof cri_head + 26, pub, 65);
    /* Mbed TLS parses it; the fleet checks it for this id and no other. */
    mbedtls_x509_csr req;
    mbedtls_x509_csr_init(&req);
    assert_int_equal(mbedtls_x509_csr_parse_der(&req, csr, len), 0);
    mbedtls_x509_csr_free(&req);
    const char *why = NULL;
    assert_int_equal(ward_fleet_csr_check(csr, len, "plug-0003", &why), WARD_OK);
    assert_int_equal(ward_fleet_csr_check(csr, len, "plug-0004", &why), WARD_ERR_CLOUD_CSR);
    assert_string_equal(why, "subject is not CN=<device id>");
    /* A changed byte of the signed part: the signature fails. */
    csr[len - 80] ^= 1; /* inside the public key */
    assert_int_equal(ward_fleet_csr_check(csr, len, "plug-0003", &why), WARD_ERR_CLOUD_CSR);
    csr[len - 80] ^= 1;
    csr[20] ^= 1; /* inside the name */
    assert_int_equal(ward_fleet_csr_check(csr, len, "plug-0003", &why), WARD_ERR_CLOUD_CSR);
    csr[20] ^= 1;
    assert_int_equal(ward_fleet_csr_check(csr, len, "plug-0003", &why), WARD_OK);
    /* The factory's library issues for it (its own CSR check passes), and
     * the device reads what it issues: CN, key, a year. */
    uint8_t der[WARD_FACTORY_CERT_DER_MAX];
    size_t dl = 0;
    const ward_factory_cert_opts_t fo = {.profile = WARD_FACTORY_PROFILE_DEVICE, .cn = "plug-0003"};
    assert_int_equal(ward_factory_issue_cert(g_fca, csr, len, &fo, der, sizeof der, &dl, NULL), WARD_OK);
    ward_cloud_cert_info_t info;
    assert_int_equal(ward_cloud_cert_parse(&info, der, dl), WARD_OK);
    assert_memory_equal(info.pub, pub, 65);
    assert_int_equal(info.cn_len, 9);
    assert_memory_equal(info.cn, "plug-0003", 9);
    assert_true(info.not_after - info.not_before == 365 * 86400);
    assert_true(info.client_auth && info.digital_signature && !info.is_ca);
    const ward_factory_cert_opts_t other = {.profile = WARD_FACTORY_PROFILE_DEVICE, .cn = "plug-0009"};
    assert_int_not_equal(ward_factory_issue_cert(g_fca, csr, len, &other, der, sizeof der, &dl, NULL),
                         WARD_OK);
    /* Bad ids and small buffers. */
    assert_int_equal(ward_cloud_csr(csr, sizeof csr, &len, "a/b", 3, k), WARD_ERR_MQTT_TOPIC);
    assert_int_equal(ward_cloud_csr(csr, sizeof csr, &len, "a+", 2, k), WARD_ERR_MQTT_TOPIC);
    assert_int_equal(ward_cloud_csr(csr, 100, &len, "plug-0003", 9, k), WARD_ERR_BUF_TOO_SMALL);
    char id64[65];
    memset(id64, 'x', 64);
    assert_int_equal(ward_cloud_csr(csr, sizeof csr, &len, id64, 64, k), WARD_OK);
    assert_true(len <= WARD_CLOUD_CSR_MAX);
    assert_int_equal(ward_fleet_csr_check(csr, len, "plug-0003", &why), WARD_ERR_CLOUD_CSR);
    (void)psa_destroy_key(k);
}

/* ---- identity and rotation ------------------------------------------------------------------- */

typedef struct {
    ward_sim_hsm_t hsm;
    mem_certs_t mem;
    ward_cloud_certs_t certs;
    ward_cloud_identity_t ident;
    uint8_t cert[1024];
    size_t cert_len;
} unitdev_t;

static void dev_provision(unitdev_t *d, const char *id)
{
    memset(d, 0, sizeof *d);
    assert_int_equal(ward_sim_hsm_open(&d->hsm, NULL, NULL, true), WARD_OK);
    mem_certs(&d->certs, &d->mem);
    const ward_hsm_t *h = &d->hsm.port;
    assert_int_equal(ward_cloud_identity_open(&d->ident, h, &d->certs), WARD_ERR_CLOUD_IDENTITY);
    assert_int_equal(h->id_generate(h->ctx), WARD_OK);
    assert_int_equal(ward_cloud_identity_open(&d->ident, h, &d->certs), WARD_ERR_CLOUD_IDENTITY);
    uint32_t k = 0;
    assert_int_equal(h->id_key(h->ctx, &k), WARD_OK);
    test_cert_opts_t o = device_opts();
    /* A certificate for another key is refused. */
    const uint32_t other = psa_p256();
    d->cert_len = make_cert(&g_ca, other, id, &o, d->cert);
    assert_int_equal(ward_cloud_identity_install(&d->ident, h, &d->certs, d->cert, d->cert_len,
                                                 g_ca_der, g_ca_len),
                     WARD_ERR_CLOUD_CERT);
    (void)psa_destroy_key(other);
    /* One of another CA too. */
    d->cert_len = make_cert(&g_other, k, id, &o, d->cert);
    assert_int_equal(ward_cloud_identity_install(&d->ident, h, &d->certs, d->cert, d->cert_len,
                                                 g_ca_der, g_ca_len),
                     WARD_ERR_CLOUD_CERT);
    assert_false(d->mem.has[0]);
    d->cert_len = make_cert(&g_ca, k, id, &o, d->cert);
    assert_int_equal(ward_cloud_identity_install(&d->ident, h, &d->certs, d->cert, d->cert_len,
                                                 g_ca_der, g_ca_len),
                     WARD_OK);
    assert_string_equal(d->ident.id, id);
    assert_int_equal(d->ident.key_id, k);
}

/* A CSR from the identity, and the certificate for its key. */
static size_t rotation_cert(unitdev_t *d, uint8_t *der, test_ca_t *ca, const char *cn,
                            const test_cert_opts_t *o)
{
    uint8_t csr[WARD_CLOUD_CSR_MAX];
    size_t n = 0;
    assert_int_equal(ward_cloud_identity_csr(&d->ident, csr, sizeof csr, &n), WARD_OK);
    assert_int_equal(ward_fleet_csr_check(csr, n, d->ident.id, NULL), WARD_OK);
    uint32_t next = 0;
    assert_int_equal(d->hsm.port.id_next_key(d->hsm.port.ctx, &next), WARD_OK);
    return make_cert(ca, next, cn, o, der);
}

static void test_rotation_checks(void **state)
{
    (void)state;
    unitdev_t d;
    dev_provision(&d, "plug-0100");
    const ward_hsm_t *h = &d.hsm.port;
    uint8_t der[1024], old_pub[65], pub[65];
    assert_int_equal(h->id_public(h->ctx, old_pub), WARD_OK);
    const int64_t now = (int64_t)time(NULL);
    ward_cloud_cert_reason_t why;
    size_t n;
    /* No next key yet. */
    assert_int_equal(ward_cloud_identity_accept(&d.ident, g_ca_der, g_ca_len, now, d.cert, d.cert_len, &why),
                     WARD_ERR_NOT_FOUND);

    struct {
        const char *what;
        ward_cloud_cert_reason_t reason;
    } cases[] = {
        {"another CA's certificate (same CA name)", WARD_CLOUD_CERT_SIGNATURE},
        {"another CN", WARD_CLOUD_CERT_NAME},
        {"the current key, not the next one", WARD_CLOUD_CERT_KEY},
        {"valid 400 days", WARD_CLOUD_CERT_VALIDITY},
        {"not valid yet", WARD_CLOUD_CERT_VALIDITY},
        {"expired", WARD_CLOUD_CERT_VALIDITY},
        {"the current certificate's serial", WARD_CLOUD_CERT_SERIAL},
        {"serverAuth only", WARD_CLOUD_CERT_USAGE},
        {"malformed", WARD_CLOUD_CERT_MALFORMED},
        {"issuer name of another CA", WARD_CLOUD_CERT_ISSUER},
    };
    test_ca_t named;
    test_ca_init(&named);
    assert_int_equal(test_ca_generate(&named, "some other CA", 30, NULL, 0, NULL, 0), WARD_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_cert_opts_t o = device_opts();
        test_ca_t *ca = &g_ca;
        const char *cn = "plug-0100";
        switch (i) {
        case 0: ca = &g_other; break;
        case 1: cn = "plug-0101"; break;
        case 3: o.not_after = o.not_before + 400 * 86400; break;
        case 4: o.not_before = now + 3600; break;
        case 5: o.not_before = now - 90 * 86400; o.not_after = now - 86400; break;
        case 6: memcpy(o.serial, d.ident.serial, d.ident.serial_len); o.serial_len = d.ident.serial_len; break;
        case 7: o.profile = TEST_SERVER; o.dns = "x"; break;
        case 9: ca = &named; break;
        default: break;
        }
        n = rotation_cert(&d, der, ca, cn, &o);
        if (i == 2) {
            uint32_t cur = 0;
            assert_int_equal(h->id_key(h->ctx, &cur), WARD_OK);
            n = make_cert(&g_ca, cur, cn, &o, der);
        }
        if (i == 8) {
            n -= 1;
        }
        const unsigned stores = d.mem.stores;
        assert_int_equal(ward_cloud_identity_accept(&d.ident, g_ca_der, g_ca_len, now, der, n, &why),
                         WARD_ERR_CLOUD_CERT);
        if (why != cases[i].reason) {
            fail_msg("%s: refused for %s, expected %s", cases[i].what, ward_cloud_cert_reason_name(why),
                     ward_cloud_cert_reason_name(cases[i].reason));
        }
        /* Nothing changed: no store, the old key current, a next key kept. */
        assert_int_equal(d.mem.stores, stores);
        assert_int_equal(h->id_public(h->ctx, pub), WARD_OK);
        assert_memory_equal(pub, old_pub, 65);
        assert_memory_equal(d.mem.slot[0], d.cert, d.cert_len);
        printf("refused: %-42s -> %s\n", cases[i].what, ward_cloud_cert_reason_name(why));
    }
    test_ca_free(&named);
    /* The device does not know the time: validity span still checked, "now" not. */
    test_cert_opts_t o = device_opts();
    o.not_before = now - 90 * 86400;
    o.not_after = now - 86400;
    n = rotation_cert(&d, der, &g_ca, "plug-0100", &o);
    /* The right one: switched. */
    o = device_opts();
    n = rotation_cert(&d, der, &g_ca, "plug-0100", &o);
    uint32_t next = 0, cur = 0;
    uint8_t next_pub[65];
    assert_int_equal(h->id_next_key(h->ctx, &next), WARD_OK);
    key_pub(next, next_pub);
    assert_int_equal(ward_cloud_identity_accept(&d.ident, g_ca_der, g_ca_len, now, der, n, &why), WARD_OK);
    assert_int_equal(why, WARD_CLOUD_CERT_OK);
    assert_int_equal(h->id_public(h->ctx, pub), WARD_OK);
    assert_memory_equal(pub, next_pub, 65);
    assert_int_equal(h->id_key(h->ctx, &cur), WARD_OK);
    assert_int_equal(d.ident.key_id, cur);
    assert_int_equal(d.ident.cert_len, n);
    assert_memory_equal(d.ident.cert, der, n);
    assert_memory_equal(d.mem.slot[0], der, n);
    assert_false(d.mem.has[1]);
    assert_int_equal(h->id_next_key(h->ctx, &next), WARD_ERR_NOT_FOUND);
    /* Reopened: the same. */
    ward_cloud_identity_t again;
    assert_int_equal(ward_cloud_identity_open(&again, h, &d.certs), WARD_OK);
    assert_memory_equal(again.cert, der, n);
    ward_sim_hsm_close(&d.hsm);
}

/* The states a cut can leave, set up by hand (an in-memory store has no
 * power domain): open() completes each. */
static void test_identity_recovery(void **state)
{
    (void)state;
    for (int step = 2; step <= 4; step++) {
        unitdev_t d;
        dev_provision(&d, "plug-0200");
        const ward_hsm_t *h = &d.hsm.port;
        uint8_t der[1024], next_pub[65], pub[65];
        test_cert_opts_t o = device_opts();
        const size_t n = rotation_cert(&d, der, &g_ca, "plug-0200", &o);
        uint32_t next = 0;
        assert_int_equal(h->id_next_key(h->ctx, &next), WARD_OK);
        key_pub(next, next_pub);
        /* step 2 done: NEXT stored; 3: HSM committed; 4: CURRENT stored. */
        mem_store(&d.mem, WARD_CLOUD_SLOT_NEXT, der, n);
        if (step >= 3) {
            assert_int_equal(h->id_next_commit(h->ctx), WARD_OK);
        }
        if (step >= 4) {
            mem_store(&d.mem, WARD_CLOUD_SLOT_CURRENT, der, n);
        }
        assert_int_equal(ward_cloud_identity_open(&d.ident, h, &d.certs), WARD_OK);
        assert_int_equal(h->id_public(h->ctx, pub), WARD_OK);
        assert_memory_equal(pub, next_pub, 65);
        assert_memory_equal(d.ident.cert, der, n);
        assert_memory_equal(d.mem.slot[0], der, n);
        assert_false(d.mem.has[1]);
        ward_sim_hsm_close(&d.hsm);
    }
    /* A stale NEXT certificate for no key of the HSM is dropped. */
    unitdev_t d;
    dev_provision(&d, "plug-0201");
    const uint32_t k = psa_p256();
    uint8_t der[1024];
    test_cert_opts_t o = device_opts();
    const size_t n = make_cert(&g_ca, k, "plug-0201", &o, der);
    mem_store(&d.mem, WARD_CLOUD_SLOT_NEXT, der, n);
    assert_int_equal(ward_cloud_identity_open(&d.ident, &d.hsm.port, &d.certs), WARD_OK);
    assert_memory_equal(d.ident.cert, d.cert, d.cert_len);
    assert_false(d.mem.has[1]);
    /* A CURRENT certificate for another key: no identity. */
    mem_store(&d.mem, WARD_CLOUD_SLOT_CURRENT, der, n);
    assert_int_equal(ward_cloud_identity_open(&d.ident, &d.hsm.port, &d.certs), WARD_ERR_CLOUD_IDENTITY);
    (void)psa_destroy_key(k);
    ward_sim_hsm_close(&d.hsm);
}

/* ---- rotation under power cuts --------------------------------------------------------------- */

static void cp_dir(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%.300s' && cp -a '%.300s' '%.300s'", to, from, to);
    assert_int_equal(system(cmd), 0);
}

typedef struct {
    ward_sim_device_t dev;
    ward_vault_t v;
    ward_vault_config_t vc;
    ward_cloud_certs_t certs;
    ward_cloud_identity_t ident;
} unit_t;

static ward_err_t unit_open(unit_t *u, const char *dir)
{
    memset(u, 0, sizeof *u);
    ward_err_t err = ward_sim_device_open(&u->dev, dir);
    if (err != WARD_OK) {
        return err;
    }
    u->vc = (ward_vault_config_t){.area = u->dev.vault, .hsm = &u->dev.hsm.port, .counter = 0};
    err = ward_vault_mount(&u->v, &u->vc);
    if (err == WARD_OK) {
        ward_cloud_certs_vault(&u->certs, &u->v);
    }
    return err;
}

static void unit_close(unit_t *u)
{
    ward_vault_unmount(&u->v);
    ward_sim_device_close(&u->dev);
}

/* The identity works: the certificate's key is the HSM's current key, and
 * the key id signs. */
static void identity_works(const ward_cloud_identity_t *id, const ward_hsm_t *h)
{
    ward_cloud_cert_info_t info;
    uint8_t pub[65], hash[32] = {1}, sig[64];
    size_t n = 0;
    assert_int_equal(ward_cloud_cert_parse(&info, id->cert, id->cert_len), WARD_OK);
    assert_int_equal(h->id_public(h->ctx, pub), WARD_OK);
    assert_memory_equal(info.pub, pub, 65);
    assert_int_equal(psa_sign_hash((psa_key_id_t)id->key_id, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, 32,
                                   sig, sizeof sig, &n),
                     PSA_SUCCESS);
    assert_int_equal(ward_p256_verify(pub, hash, sig), WARD_OK);
}

/* One rotation on u: CSR, issue (the fleet's library), accept. */
static ward_err_t rotate(unit_t *u, uint8_t *der, size_t *n)
{
    uint8_t csr[WARD_CLOUD_CSR_MAX];
    size_t cl = 0;
    const char *why = NULL;
    ward_err_t err = ward_cloud_identity_csr(&u->ident, csr, sizeof csr, &cl);
    if (err != WARD_OK) {
        return err;
    }
    /* The factory's CA issues, as `ward fleet serve` has it do. */
    assert_int_equal(ward_fleet_csr_check(csr, cl, u->ident.id, &why), WARD_OK);
    const ward_factory_cert_opts_t o = {.profile = WARD_FACTORY_PROFILE_DEVICE, .cn = u->ident.id};
    assert_int_equal(ward_factory_issue_cert(g_fca, csr, cl, &o, der, WARD_FACTORY_CERT_DER_MAX, n, NULL),
                     WARD_OK);
    return ward_cloud_identity_accept(&u->ident, g_ca_der, g_ca_len, (int64_t)time(NULL), der, *n, NULL);
}

static void test_rotation_power_sweep(void **state)
{
    (void)state;
    char tmpl[300], work[300];
    snprintf(tmpl, sizeof tmpl, "%s/template", g_dir);
    snprintf(work, sizeof work, "%s/work", g_dir);
    ward_sim_geometry_t g;
    ward_sim_geometry_default(&g);
    g.slot_sectors = 2;
    assert_int_equal(ward_sim_device_create(tmpl, &g), WARD_OK);
    uint8_t old_cert[1024];
    size_t old_len = 0;
    {
        /* Provisioning: HUK, identity key, vault, certificate. */
        ward_sim_device_t dev;
        assert_int_equal(ward_sim_device_open(&dev, tmpl), WARD_OK);
        const ward_hsm_t *h = &dev.hsm.port;
        assert_int_equal(h->huk_generate(h->ctx), WARD_OK);
        assert_int_equal(h->id_generate(h->ctx), WARD_OK);
        ward_vault_t v;
        const ward_vault_config_t vc = {.area = dev.vault, .hsm = h, .counter = 0};
        assert_int_equal(ward_vault_format(&v, &vc), WARD_OK);
        ward_cloud_certs_t certs;
        ward_cloud_certs_vault(&certs, &v);
        uint32_t k = 0;
        assert_int_equal(h->id_key(h->ctx, &k), WARD_OK);
        test_cert_opts_t o = device_opts();
        old_len = make_cert(&g_ca, k, "plug-0300", &o, old_cert);
        ward_cloud_identity_t id;
        assert_int_equal(ward_cloud_identity_install(&id, h, &certs, old_cert, old_len, g_ca_der, g_ca_len),
                         WARD_OK);
        ward_vault_unmount(&v);
        ward_sim_device_close(&dev);
    }
    unsigned swept = 0, old_after = 0, new_after = 0;
    uint64_t ops_total = 0;
    for (int torn = 0; torn < 2; torn++) {
        for (uint64_t cut = 1;; cut++) {
            cp_dir(tmpl, work);
            unit_t u;
            assert_int_equal(unit_open(&u, work), WARD_OK);
            assert_int_equal(ward_cloud_identity_open(&u.ident, &u.dev.hsm.port, &u.certs), WARD_OK);
            const uint64_t ops0 = u.dev.power.ops;
            ward_sim_power_cut_after(&u.dev.power, cut, torn != 0);
            uint8_t new_cert[WARD_FACTORY_CERT_DER_MAX];
            size_t new_len = 0;
            const ward_err_t err = rotate(&u, new_cert, &new_len);
            const bool cut_hit = u.dev.power.dead;
            if (!cut_hit) {
                /* Past the last power-relevant operation: the sweep is done. */
                assert_int_equal(err, WARD_OK);
                ops_total = u.dev.power.ops - ops0;
                unit_close(&u);
                break;
            }
            assert_int_not_equal(err, WARD_OK);
            swept++;
            /* Reboot: power back, everything opened again from its files. */
            ward_sim_power_on(&u.dev.power);
            unit_close(&u);
            assert_int_equal(unit_open(&u, work), WARD_OK);
            const ward_hsm_t *h = &u.dev.hsm.port;
            assert_int_equal(ward_cloud_identity_open(&u.ident, h, &u.certs), WARD_OK);
            identity_works(&u.ident, h);
            if (u.ident.cert_len == old_len && memcmp(u.ident.cert, old_cert, old_len) == 0) {
                old_after++;
            } else {
                assert_int_equal(u.ident.cert_len, new_len);
                assert_memory_equal(u.ident.cert, new_cert, new_len);
                new_after++;
            }
            /* And a rotation after it completes. */
            uint8_t again[WARD_FACTORY_CERT_DER_MAX];
            size_t again_len = 0;
            assert_int_equal(rotate(&u, again, &again_len), WARD_OK);
            identity_works(&u.ident, h);
            assert_memory_equal(u.ident.cert, again, again_len);
            unit_close(&u);
            assert_int_equal(unit_open(&u, work), WARD_OK);
            assert_int_equal(ward_cloud_identity_open(&u.ident, &u.dev.hsm.port, &u.certs), WARD_OK);
            assert_memory_equal(u.ident.cert, again, again_len);
            unit_close(&u);
        }
    }
    printf("rotation power sweep: %llu power-relevant operations per rotation, %u cuts (plain and torn):"
           " %u left the old identity, %u the new one, none without one\n",
           (unsigned long long)ops_total, swept, old_after, new_after);
    assert_true(swept >= 2u * (unsigned)ops_total);
    assert_true(old_after > 0u && new_after > 0u);
}

/* ---- events --------------------------------------------------------------------------------- */

static void test_event_json(void **state)
{
    (void)state;
    char out[WARD_CLOUD_EVENT_JSON_MAX];
    size_t n = 0;
    ward_cloud_event_t e = {.type = WARD_CLOUD_EV_UPDATE_REFUSED, .code = WARD_ERR_OTA_SIG,
                            .count = 2, .uptime_ms = 123456, .time = 1767225600};
    snprintf(e.detail, sizeof e.detail, "manifest \"v2\"\n");
    assert_int_equal(ward_cloud_event_json(out, sizeof out, &n, &e, 0x0badcafeu, 7, 0), WARD_OK);
    assert_string_equal(out,
                        "{\"v\":1,\"boot\":\"0badcafe\",\"seq\":7,\"type\":\"update_refused\","
                        "\"code\":-82,\"err\":\"WARD_ERR_OTA_SIG\",\"count\":2,\"uptime_ms\":123456,"
                        "\"time\":1767225600,\"detail\":\"manifest \\\"v2\\\"\\u000a\"}");
    assert_int_equal(n, strlen(out));
    /* No time, no detail, dropped events, a bad UTF-8 byte made U+FFFD. */
    ward_cloud_event_t t = {.type = WARD_CLOUD_EV_TLS_FAILURE, .code = WARD_ERR_TLS_CERT, .count = 1,
                            .uptime_ms = 5, .time = -1};
    assert_int_equal(ward_cloud_event_json(out, sizeof out, &n, &t, 1, 0, 3), WARD_OK);
    assert_string_equal(out, "{\"v\":1,\"boot\":\"00000001\",\"seq\":0,\"type\":\"tls_failure\","
                             "\"code\":-103,\"err\":\"WARD_ERR_TLS_CERT\",\"count\":1,"
                             "\"uptime_ms\":5,\"dropped\":3}");
    snprintf(t.detail, sizeof t.detail, "a\xC3\xA9\xFF");
    assert_int_equal(ward_cloud_event_json(out, sizeof out, &n, &t, 1, 0, 0), WARD_OK);
    assert_non_null(strstr(out, "\"detail\":\"a\xC3\xA9\xEF\xBF\xBD\"}"));
    /* Every type has a name; the buffer bound holds; too small is refused. */
    for (uint32_t i = 1; i <= WARD_CLOUD_EV_TYPE_MAX; i++) {
        assert_non_null(ward_cloud_event_name(i));
    }
    assert_null(ward_cloud_event_name(0));
    assert_null(ward_cloud_event_name(WARD_CLOUD_EV_TYPE_MAX + 1));
    ward_cloud_event_t big = {.type = WARD_CLOUD_EV_ROTATION_REFUSED, .code = INT32_MIN,
                              .count = UINT32_MAX, .uptime_ms = UINT64_MAX, .time = INT64_MAX};
    memset(big.detail, 0x01, WARD_CONFIG_CLOUD_DETAIL_MAX);
    assert_int_equal(ward_cloud_event_json(out, sizeof out, &n, &big, UINT32_MAX, UINT32_MAX, UINT32_MAX),
                     WARD_OK);
    assert_true(n < sizeof out);
    assert_int_equal(ward_cloud_event_json(out, n, &n, &big, UINT32_MAX, UINT32_MAX, UINT32_MAX),
                     WARD_ERR_BUF_TOO_SMALL); /* no room for the NUL */
    e.type = 99;
    assert_int_equal(ward_cloud_event_json(out, sizeof out, &n, &e, 0, 0, 0), WARD_ERR_INVALID_ARG);
}

/* ---- the client over a fake network ---------------------------------------------------------- */

typedef struct {
    unsigned connects;
    uint64_t at[64];
    const ward_sim_clock_t *clock;
    bool accept;          /* connect succeeds, then the "server" sends junk */
    const char *junk;
    size_t junk_off;
    int conn;
} fake_net_t;

static ward_err_t fk_connect(void *ctx, const char *host, uint16_t port, uint32_t t, void **conn)
{
    fake_net_t *f = ctx;
    (void)host;
    (void)port;
    (void)t;
    if (f->connects < 64u) {
        f->at[f->connects] = f->clock->now;
    }
    f->connects++;
    if (!f->accept) {
        return WARD_ERR_NET;
    }
    f->junk_off = 0;
    *conn = &f->conn;
    return WARD_OK;
}
static ward_err_t fk_send(void *ctx, void *conn, const uint8_t *b, size_t n, size_t *sent)
{
    (void)ctx;
    (void)conn;
    (void)b;
    *sent = n;
    return WARD_OK;
}
static ward_err_t fk_recv(void *ctx, void *conn, uint8_t *b, size_t cap, size_t *got, uint32_t t)
{
    fake_net_t *f = ctx;
    (void)conn;
    (void)t;
    const size_t left = strlen(f->junk) - f->junk_off;
    *got = left < cap ? left : cap;
    memcpy(b, f->junk + f->junk_off, *got);
    f->junk_off += *got;
    return WARD_OK;
}
static void fk_close(void *ctx, void *conn)
{
    (void)ctx;
    (void)conn;
}

typedef struct {
    unitdev_t d;
    fake_net_t fk;
    ward_net_t net;
    ward_sim_rng_t rng;
    ward_sim_clock_t clock;
    ward_cloud_config_t cfg;
    ward_cloud_t c;
    uint8_t tx[2048], rx[2048], store[4096];
} fake_client_t;

static void fake_client(fake_client_t *f, const char *id)
{
    memset(f, 0, sizeof *f);
    dev_provision(&f->d, id);
    ward_sim_clock_init(&f->clock, true);
    f->clock.now = 1000;
    ward_sim_rng_init(&f->rng, (const uint8_t *)"seed", 4);
    f->fk.clock = &f->clock;
    f->net = (ward_net_t){.ctx = &f->fk, .connect = fk_connect, .send = fk_send, .recv = fk_recv,
                          .close = fk_close};
    f->cfg = (ward_cloud_config_t){.net = &f->net, .hsm = &f->d.hsm.port, .rng = &f->rng.port,
                                   .clock = &f->clock.port, .certs = &f->d.certs, .host = "broker",
                                   .port = 8883, .ca = g_ca_der, .ca_len = g_ca_len,
                                   .backoff_base_ms = 100, .backoff_cap_ms = 5000};
    assert_int_equal(ward_cloud_init(&f->c, &f->cfg, f->tx, sizeof f->tx, f->rx, sizeof f->rx,
                                     f->store, sizeof f->store),
                     WARD_OK);
}

static void test_client_backoff(void **state)
{
    (void)state;
    static fake_client_t f;
    fake_client(&f, "plug-0400");
    ward_cloud_status_t st;
    /* The first poll connects at once; then each failure waits longer, at
     * most min(cap, base * 2^attempt), never longer than the cap. */
    uint64_t max_gap[12] = {0};
    for (int run = 0; run < 40; run++) {
        /* A new client each run: attempt 0 again. */
        ward_cloud_close(&f.c);
        assert_int_equal(ward_cloud_init(&f.c, &f.cfg, f.tx, sizeof f.tx, f.rx, sizeof f.rx, f.store,
                                         sizeof f.store),
                         WARD_OK);
        f.fk.connects = 0;
        for (int i = 0; i < 12; i++) {
            assert_int_equal(ward_cloud_poll(&f.c, 0), WARD_ERR_NET);
            ward_cloud_status(&f.c, &st);
            assert_int_equal(st.state, WARD_CLOUD_OFFLINE);
            assert_int_equal(st.last_err, WARD_ERR_NET);
            /* Not before its time: a poll now does nothing. */
            const unsigned before = f.fk.connects;
            if (st.next_attempt_ms > 0u) {
                assert_int_equal(ward_cloud_poll(&f.c, 0), WARD_OK);
                assert_int_equal(f.fk.connects, before);
            }
            const uint64_t bound = 100ull << (i < 20 ? i : 20);
            assert_true(st.next_attempt_ms <= (bound < 5000 ? bound : 5000));
            if (st.next_attempt_ms > max_gap[i]) {
                max_gap[i] = st.next_attempt_ms;
            }
            f.clock.now += st.next_attempt_ms;
        }
        assert_int_equal(f.fk.connects, 12);
    }
    /* Full jitter spreads over the whole window: over 40 runs the largest
     * delay of each attempt comes close to its bound. */
    for (int i = 0; i < 12; i++) {
        const uint64_t bound = 100ull << i < 5000 ? 100ull << i : 5000;
        assert_true(max_gap[i] >= bound * 3 / 4);
    }
    ward_cloud_status(&f.c, &st);
    assert_int_equal(st.tls_failures, 0);
    assert_int_equal(st.events_queued, 0); /* a refused TCP connection is no security event */
    ward_cloud_close(&f.c);
    ward_sim_hsm_close(&f.d.hsm);
}

static void test_client_tls_events(void **state)
{
    (void)state;
    static fake_client_t f;
    fake_client(&f, "plug-0401");
    f.fk.accept = true;
    f.fk.junk = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    ward_cloud_status_t st;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ward_cloud_poll(&f.c, 0), WARD_ERR_TLS);
        ward_cloud_status(&f.c, &st);
        f.clock.now += st.next_attempt_ms;
    }
    ward_cloud_status(&f.c, &st);
    assert_int_equal(st.tls_failures, 3);
    /* One event, counted three times (the same failure again and again). */
    assert_int_equal(st.events_queued, 1);
    assert_int_equal(f.c.ev_n, 1);
    const ward_cloud_event_t *e = &f.c.ev[f.c.ev_head];
    assert_int_equal(e->type, WARD_CLOUD_EV_TLS_FAILURE);
    assert_int_equal(e->code, WARD_ERR_TLS);
    assert_int_equal(e->count, 3);
    assert_string_equal(e->detail, "handshake");
    /* A full queue drops the oldest and says so. */
    for (int i = 0; i < WARD_CONFIG_CLOUD_EVENTS_MAX + 2; i++) {
        char d[16];
        snprintf(d, sizeof d, "n%d", i);
        assert_int_equal(ward_cloud_event(&f.c, WARD_CLOUD_EV_BOOT_REFUSED, WARD_ERR_IMG_SIG, d), WARD_OK);
    }
    ward_cloud_status(&f.c, &st);
    assert_int_equal(f.c.ev_n, WARD_CONFIG_CLOUD_EVENTS_MAX);
    assert_int_equal(st.events_dropped, 3);
    assert_string_equal(f.c.ev[f.c.ev_head].detail, "n2");
    assert_int_equal(ward_cloud_event(&f.c, 0, WARD_OK, NULL), WARD_ERR_INVALID_ARG);
    /* The sink (BLE's hook) queues the same way. */
    ward_cloud_sink_t sink;
    ward_cloud_sink(&f.c, &sink);
    assert_int_equal(sink.report(sink.ctx, WARD_CLOUD_EV_BLE_LOCKOUT, WARD_ERR_LIMIT, "5 failures"), WARD_OK);
    assert_int_equal(f.c.ev[(f.c.ev_head + f.c.ev_n - 1) % WARD_CONFIG_CLOUD_EVENTS_MAX].type,
                     WARD_CLOUD_EV_BLE_LOCKOUT);
    ward_cloud_close(&f.c);
    ward_sim_hsm_close(&f.d.hsm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cert_parse),        cmocka_unit_test(test_cert_malformed),
        cmocka_unit_test(test_csr),               cmocka_unit_test(test_rotation_checks),
        cmocka_unit_test(test_identity_recovery), cmocka_unit_test(test_rotation_power_sweep),
        cmocka_unit_test(test_event_json),        cmocka_unit_test(test_client_backoff),
        cmocka_unit_test(test_client_tls_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
