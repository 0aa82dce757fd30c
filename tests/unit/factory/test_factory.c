/*
 * Unit tests: tools/factory with keys in files. A factory is made once per
 * run (ward_factory_init); every test provisions its own units and runs
 * the end-of-line test on them. SoftHSM2 tests are in test_pkcs11.c.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "ward/crypto.h"
#include "ward/image.h"
#include "ward/mqtt.h"
#include "ward/sim.h"
#include "ward/util.h"
#include "ward_factory.h"
#include "ward_keys.h"

static char g_dir[64];     /* the run's temporary directory */
static char g_factory[300]; /* the factory made by the group setup */
static char g_image[300];   /* an image signed with its boot key */
static int g_unit;

/* ---- helpers ---------------------------------------------------------------------------- */

static void path(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    assert_true(n > 0 && (size_t)n < cap);
}

static void new_unit(char *out, size_t cap)
{
    snprintf(out, cap, "%s/unit-%d", g_dir, ++g_unit);
}

static uint8_t *read_all(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1u);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static ward_err_t provision(const char *id, const char *out, uint32_t validity, bool skip_sb,
                            bool skip_dl, ward_factory_provision_result_t *r)
{
    ward_factory_provision_opts_t o;
    char why[512];
    memset(&o, 0, sizeof o);
    o.factory = g_factory;
    o.device_id = id;
    o.image = g_image;
    o.out = out;
    o.validity = validity;
    o.skip_secure_boot = skip_sb;
    o.skip_debug_lock = skip_dl;
    ward_err_t err = ward_factory_provision(&o, r, why, sizeof why);
    if (err != WARD_OK) {
        printf("provision %s: %s (%s)\n", id, why, ward_err_name(err));
    }
    return err;
}

/* The names of the failed checks, space-separated ("" when it passed). */
static void failed_checks(const ward_factory_eol_report_t *rep, char *out, size_t cap)
{
    out[0] = '\0';
    for (int i = 0; i < WARD_FACTORY_CHECK_COUNT; i++) {
        if (!rep->pass[i]) {
            size_t n = strlen(out);
            snprintf(out + n, cap - n, "%s%s", n > 0 ? " " : "",
                     ward_factory_check_name((ward_factory_check_t)i));
        }
    }
}

static void eol(const char *unit, const char *factory, int64_t now, ward_factory_eol_report_t *rep,
                char *failed, size_t cap)
{
    assert_int_equal(ward_factory_eol(unit, factory, now, rep), WARD_OK);
    failed_checks(rep, failed, cap);
    for (int i = 0; i < WARD_FACTORY_CHECK_COUNT; i++) {
        if (!rep->pass[i]) {
            printf("  %s: %s\n", ward_factory_check_name((ward_factory_check_t)i), rep->detail[i]);
        }
    }
}

/* ---- fixture -------------------------------------------------------------------------------- */

static int setup_group(void **state)
{
    (void)state;
    if (ward_crypto_init() != WARD_OK) {
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/ward-test-factory-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        return -1;
    }
    path(g_factory, sizeof g_factory, g_dir, "factory");
    ward_factory_init_opts_t o;
    ward_factory_init_result_t r;
    char why[512];
    memset(&o, 0, sizeof o);
    o.dir = g_factory;
    o.device_class = "plug";
    if (ward_factory_init(&o, &r, why, sizeof why) != WARD_OK) {
        printf("init: %s\n", why);
        return -1;
    }
    /* An application image signed with the factory's boot key. */
    char kp[400];
    ward_key_t *boot = NULL;
    path(kp, sizeof kp, g_factory, "keys/boot-key.pem");
    if (ward_key_open(kp, &boot, why, sizeof why) != WARD_OK) {
        return -1;
    }
    uint8_t bin[3000], *img = NULL;
    size_t img_len = 0;
    for (size_t i = 0; i < sizeof bin; i++) {
        bin[i] = (uint8_t)(i * 7u + 3u);
    }
    ward_sign_opts_t so;
    ward_sign_opts_init(&so);
    so.header_size = 0x200;
    so.pad_header = true;
    so.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    so.sec_cnt = 1;
    so.version.major = 1;
    ward_err_t err = ward_sign_image_signer(&so, bin, sizeof bin, ward_key_signer(boot), &img,
                                            &img_len);
    ward_key_close(boot);
    if (err != WARD_OK) {
        return -1;
    }
    path(g_image, sizeof g_image, g_dir, "app.img");
    FILE *f = fopen(g_image, "wb");
    if (f == NULL || fwrite(img, 1, img_len, f) != img_len) {
        return -1;
    }
    fclose(f);
    free(img);
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd);
}

/* ---- device ids ------------------------------------------------------------------------------- */

static void test_device_id_rules(void **state)
{
    (void)state;
    static const char *const good[] = {"a", "plug-0001", "A.b_c-9", "x-"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(ward_factory_device_id_check(good[i]), WARD_OK);
        /* a factory id is always a valid MQTT device id (topic level, client id) */
        assert_int_equal(ward_mqtt_device_id_check(good[i], strlen(good[i])), WARD_OK);
    }
    char max[WARD_FACTORY_ID_MAX + 2];
    memset(max, 'a', sizeof max);
    max[WARD_FACTORY_ID_MAX] = '\0';
    assert_int_equal(ward_factory_device_id_check(max), WARD_OK);
    max[WARD_FACTORY_ID_MAX] = 'a';
    max[WARD_FACTORY_ID_MAX + 1] = '\0';
    assert_int_equal(ward_factory_device_id_check(max), WARD_ERR_DEVICE_ID);
    static const char *const bad[] = {
        "",      "a/b",     "a+b",       "a#b",  "#",      "+",   "a\x01" "b", "a\nb", "a\x7f",
        "a b",   ".hidden", "..",        "-opt", "a,b",    "a=b", "fleet@ward", "caf\xc3\xa9",
        "a\tb",  "a\\b",    "a\"b",      "a%u",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ward_factory_device_id_check(bad[i]), WARD_ERR_DEVICE_ID);
    }
    assert_int_equal(ward_factory_device_id_check(NULL), WARD_ERR_DEVICE_ID);
}

/* ---- the line ----------------------------------------------------------------------------------- */

static void test_provision_eol_pass(void **state)
{
    (void)state;
    char unit[300], failed[512], p[400];
    ward_factory_provision_result_t r;
    ward_factory_eol_report_t rep;
    new_unit(unit, sizeof unit);
    assert_int_equal(provision("plug-0001", unit, 0, false, false, &r), WARD_OK);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_string_equal(failed, "");
    assert_true(rep.passed);
    assert_true(rep.anchor_factory);
    assert_string_equal(rep.device_id, "plug-0001");
    assert_int_equal(rep.serial_len, WARD_FACTORY_SERIAL_LEN);
    assert_memory_equal(rep.serial, r.serial, WARD_FACTORY_SERIAL_LEN);
    assert_int_equal(rep.not_after - rep.not_before, WARD_FACTORY_CERT_MAX_VALIDITY);
    /* Without the factory: against the unit's own ca.pem. */
    eol(unit, NULL, 0, &rep, failed, sizeof failed);
    assert_string_equal(failed, "");
    assert_false(rep.anchor_factory);
    /* What the station wrote. */
    static const char *const files[] = {"cert.pem", "ca.pem", "factory-record.json", "device-id",
                                        "otakey.der", "bootkey.der", "label.txt", "label.svg",
                                        "ble-address"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        path(p, sizeof p, unit, files[i]);
        assert_true(exists(p));
    }
    /* The certificate: CN, serial, profile, as Mbed TLS reads it. */
    uint8_t *der = NULL;
    size_t len = 0;
    path(p, sizeof p, unit, "cert.pem");
    assert_int_equal(ward_factory_cert_read(p, &der, &len), WARD_OK);
    mbedtls_x509_crt c;
    mbedtls_x509_crt_init(&c);
    assert_int_equal(mbedtls_x509_crt_parse_der(&c, der, len), 0);
    assert_int_equal(c.serial.len, WARD_FACTORY_SERIAL_LEN);
    assert_memory_equal(c.serial.p, r.serial, WARD_FACTORY_SERIAL_LEN);
    assert_true(c.serial.p[0] >= 0x40 && c.serial.p[0] <= 0x7f);
    assert_int_equal(mbedtls_x509_crt_get_ca_istrue(&c), 0);
    char dn[128];
    assert_true(mbedtls_x509_dn_gets(dn, sizeof dn, &c.subject) > 0);
    assert_string_equal(dn, "CN=plug-0001");
    mbedtls_x509_crt_free(&c);
    free(der);
    /* The record carries no secret: its hex strings are the public key,
     * hashes and the serial. */
    uint8_t *rec = read_all((path(p, sizeof p, unit, "factory-record.json"), p), &len);
    assert_non_null(strstr((char *)rec, "\"device_id\": \"plug-0001\""));
    assert_null(strstr((char *)rec, "PRIVATE"));
    free(rec);
    /* A provisioned unit is never provisioned over. */
    assert_int_equal(provision("plug-0001b", unit, 0, false, false, &r), WARD_ERR_EXISTS);
}

static void test_eol_secure_boot_off(void **state)
{
    (void)state;
    char unit[300], failed[512];
    ward_factory_provision_result_t r;
    ward_factory_eol_report_t rep;
    new_unit(unit, sizeof unit);
    assert_int_equal(provision("plug-sb", unit, 0, true, false, &r), WARD_OK);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_false(rep.passed);
    assert_string_equal(failed, "secure_boot");
}

static void test_eol_debug_unlocked(void **state)
{
    (void)state;
    char unit[300], failed[512];
    ward_factory_provision_result_t r;
    ward_factory_eol_report_t rep;
    new_unit(unit, sizeof unit);
    assert_int_equal(provision("plug-dl", unit, 0, false, true, &r), WARD_OK);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_false(rep.passed);
    assert_string_equal(failed, "debug_lock");
}

static ward_err_t psa_sign_cb(void *ctx, const uint8_t hash[32], uint8_t sig[64])
{
    size_t n = 0;
    return psa_sign_hash(*(psa_key_id_t *)ctx, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, 32, sig, 64,
                         &n) == PSA_SUCCESS
               ? WARD_OK
               : WARD_ERR_CRYPTO;
}

/* A CSR for a fresh PSA key (not an HSM's). */
static void foreign_csr(const char *cn, psa_key_id_t *key, uint8_t *csr, size_t cap, size_t *len)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    uint8_t pub[65];
    size_t n = 0;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
    assert_int_equal(psa_generate_key(&a, key), PSA_SUCCESS);
    assert_int_equal(psa_export_public_key(*key, pub, sizeof pub, &n), PSA_SUCCESS);
    assert_int_equal(ward_factory_csr_build(cn, pub, psa_sign_cb, key, csr, cap, len), WARD_OK);
}

static void test_eol_cert_not_the_hsm_key(void **state)
{
    (void)state;
    char unit[300], failed[512], why[256], p[400], pem[WARD_FACTORY_PEM_MAX];
    ward_factory_provision_result_t r;
    ward_factory_eol_report_t rep;
    new_unit(unit, sizeof unit);
    assert_int_equal(provision("plug-key", unit, 0, false, false, &r), WARD_OK);
    /* A genuine factory certificate, same CN, for another key: the chain,
     * the subject and the validity are all right; only the key is not the
     * one in the HSM. */
    ward_factory_ca_t *ca = NULL;
    assert_int_equal(ward_factory_ca_open(g_factory, &ca, why, sizeof why), WARD_OK);
    psa_key_id_t k = 0;
    uint8_t csr[WARD_FACTORY_CSR_DER_MAX], der[WARD_FACTORY_CERT_DER_MAX];
    size_t csr_len = 0, der_len = 0, pem_len = 0;
    foreign_csr("plug-key", &k, csr, sizeof csr, &csr_len);
    ward_factory_cert_opts_t o = {.profile = WARD_FACTORY_PROFILE_DEVICE, .cn = "plug-key"};
    assert_int_equal(ward_factory_issue_cert(ca, csr, csr_len, &o, der, sizeof der, &der_len, NULL),
                     WARD_OK);
    ward_factory_ca_close(ca);
    (void)psa_destroy_key(k);
    assert_int_equal(ward_factory_pem("CERTIFICATE", der, der_len, pem, sizeof pem, &pem_len),
                     WARD_OK);
    path(p, sizeof p, unit, "cert.pem");
    write_all(p, pem, pem_len);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_false(rep.passed);
    assert_string_equal(failed, "certificate_key");
}

static void test_eol_other_failures(void **state)
{
    (void)state;
    char unit[300], other[300], failed[512], p[400], q[400];
    ward_factory_provision_result_t r;
    ward_factory_eol_report_t rep;
    new_unit(unit, sizeof unit);
    assert_int_equal(provision("plug-x", unit, 30u * 86400u, false, false, &r), WARD_OK);
    /* Expired: the day after its 30 days. */
    eol(unit, g_factory, r.not_after + 86400, &rep, failed, sizeof failed);
    assert_string_equal(failed, "certificate_validity");
    /* Another unit's certificate: its CN is not this unit's OTP id, its key
     * not this HSM's. */
    new_unit(other, sizeof other);
    assert_int_equal(provision("plug-y", other, 0, false, false, &r), WARD_OK);
    path(p, sizeof p, other, "cert.pem");
    path(q, sizeof q, unit, "cert.pem");
    size_t len = 0;
    uint8_t *c = read_all(p, &len);
    write_all(q, c, len);
    free(c);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_string_equal(failed, "device_id certificate_key");
    /* A tampered image: the boot refuses it. */
    ward_sim_device_t d;
    assert_int_equal(ward_sim_device_open(&d, other), WARD_OK);
    uint8_t *mem = ward_sim_flash_mem(&d.flash);
    mem[d.layout.primary.off + 0x300] ^= 0x01u;
    ward_sim_device_close(&d);
    eol(other, g_factory, 0, &rep, failed, sizeof failed);
    assert_string_equal(failed, "boot image");
    /* Another factory's keys: the key hashes and the chain fail. */
    char f2[300];
    path(f2, sizeof f2, g_dir, "factory-2");
    ward_factory_init_opts_t io;
    ward_factory_init_result_t ir;
    char why[512];
    memset(&io, 0, sizeof io);
    io.dir = f2;
    assert_int_equal(ward_factory_init(&io, &ir, why, sizeof why), WARD_OK);
    new_unit(unit, sizeof unit);
    assert_int_equal(provision("plug-z", unit, 0, false, false, &r), WARD_OK);
    eol(unit, f2, 0, &rep, failed, sizeof failed);
    assert_string_equal(failed, "boot_key_hash ota_key_hash certificate_chain");
    /* No device there. */
    path(p, sizeof p, g_dir, "nothing");
    assert_int_equal(ward_factory_eol(p, NULL, 0, &rep), WARD_ERR_NOT_FOUND);
}

/* Red team: the CA a unit pins (DEVICE/ca.pem) decides which broker and
 * update server it trusts and which CA may rotate its identity. A station
 * that wrote a rogue CA there (or a unit tampered with before the test)
 * must fail the end-of-line test against its factory, in certificate_chain,
 * even though cert.pem itself is the factory's. */
static void test_eol_pinned_ca(void **state)
{
    (void)state;
    char unit[300], rogue[300], p[400], q[400], failed[512], why[512];
    ward_factory_provision_result_t r;
    ward_factory_eol_report_t rep;
    path(rogue, sizeof rogue, g_dir, "factory-rogue");
    ward_factory_init_opts_t io;
    ward_factory_init_result_t ir;
    memset(&io, 0, sizeof io);
    io.dir = rogue;
    io.name = "ward factory CA"; /* the very same name */
    assert_int_equal(ward_factory_init(&io, &ir, why, sizeof why), WARD_OK);
    new_unit(unit, sizeof unit);
    assert_int_equal(provision("plug-pin", unit, 0, false, false, &r), WARD_OK);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_true(rep.passed);
    path(p, sizeof p, rogue, "ca/ca.pem");
    path(q, sizeof q, unit, "ca.pem");
    size_t len = 0;
    uint8_t *c = read_all(p, &len);
    write_all(q, c, len);
    free(c);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_false(rep.passed);
    assert_string_equal(failed, "certificate_chain");
    /* No ca.pem at all: the unit could not check its broker. */
    assert_int_equal(unlink(q), 0);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_string_equal(failed, "certificate_chain");
}

/* Red team: a unit whose certificate the factory has revoked (a unit set
 * aside, a certificate believed leaked) would be refused by the broker for
 * good: against its factory, the end-of-line test fails it, in
 * certificate_chain (the factory's CRL, as the broker reads it). */
static void test_eol_revoked(void **state)
{
    (void)state;
    char unit[300], failed[512], why[256];
    ward_factory_provision_result_t r;
    ward_factory_eol_report_t rep;
    new_unit(unit, sizeof unit);
    assert_int_equal(provision("plug-revoked", unit, 0, false, false, &r), WARD_OK);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_true(rep.passed);
    ward_factory_ca_t *ca = NULL;
    assert_int_equal(ward_factory_ca_open(g_factory, &ca, why, sizeof why), WARD_OK);
    assert_int_equal(ward_factory_revoke(ca, r.serial, sizeof r.serial, 0), WARD_OK);
    ward_factory_ca_close(ca);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_false(rep.passed);
    assert_string_equal(failed, "certificate_chain");
    assert_non_null(strstr(rep.detail[WARD_FACTORY_CHECK_CERT_CHAIN], "revoked"));
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_provision_refusals(void **state)
{
    (void)state;
    char unit[300], p[400], q[400];
    ward_factory_provision_result_t r;
    static const char *const bad[] = {"a/b", "dev+1", "dev#", "a\x01", "", "with space"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        new_unit(unit, sizeof unit);
        assert_int_equal(provision(bad[i], unit, 0, false, false, &r), WARD_ERR_DEVICE_ID);
        assert_false(exists(unit)); /* refused before anything is made */
    }
    new_unit(unit, sizeof unit);
    assert_int_equal(provision("plug-long", unit, WARD_FACTORY_CERT_MAX_VALIDITY + 1u, false, false,
                               &r),
                     WARD_ERR_CERT_VALIDITY);
    assert_int_equal(provision("plug-long", unit, 366u * 86400u, false, false, &r),
                     WARD_ERR_CERT_VALIDITY);
    assert_false(exists(unit));
    /* One year exactly is fine. */
    assert_int_equal(provision("plug-year", unit, 365u * 86400u, false, false, &r), WARD_OK);

    /* An OTA key equal to the boot key: init refuses it... */
    char f3[300];
    path(f3, sizeof f3, g_dir, "factory-same");
    path(p, sizeof p, g_factory, "keys/boot-key.pem");
    ward_factory_init_opts_t io;
    ward_factory_init_result_t ir;
    char why[512];
    memset(&io, 0, sizeof io);
    io.dir = f3;
    io.boot_key = p;
    io.ota_key = p;
    assert_int_equal(ward_factory_init(&io, &ir, why, sizeof why), WARD_ERR_OTA_KEY);
    /* ...and so does provisioning, should a factory's keys be the same. */
    char f4[300];
    path(f4, sizeof f4, g_dir, "factory-4");
    memset(&io, 0, sizeof io);
    io.dir = f4;
    assert_int_equal(ward_factory_init(&io, &ir, why, sizeof why), WARD_OK);
    path(p, sizeof p, f4, "keys/boot-key.pub");
    path(q, sizeof q, f4, "keys/ota-key.pub");
    size_t len = 0;
    uint8_t *pub = read_all(p, &len);
    assert_int_equal(chmod(q, 0644), 0);
    write_all(q, pub, len);
    free(pub);
    ward_factory_provision_opts_t o;
    memset(&o, 0, sizeof o);
    o.factory = f4;
    o.device_id = "plug-ota";
    o.image = g_image;
    new_unit(unit, sizeof unit);
    o.out = unit;
    assert_int_equal(ward_factory_provision(&o, &r, why, sizeof why), WARD_ERR_OTA_KEY);
    assert_false(exists(unit));
    /* init never overwrites a factory */
    memset(&io, 0, sizeof io);
    io.dir = g_factory;
    assert_int_equal(ward_factory_init(&io, &ir, why, sizeof why), WARD_ERR_EXISTS);
}

static void test_provision_image_refused(void **state)
{
    (void)state;
    char unit[300], f5[300], why[512];
    ward_factory_provision_result_t r;
    ward_factory_init_opts_t io;
    ward_factory_init_result_t ir;
    path(f5, sizeof f5, g_dir, "factory-5");
    memset(&io, 0, sizeof io);
    io.dir = f5;
    assert_int_equal(ward_factory_init(&io, &ir, why, sizeof why), WARD_OK);
    ward_factory_provision_opts_t o;
    memset(&o, 0, sizeof o);
    o.factory = f5;
    o.device_id = "plug-img";
    o.image = g_image; /* signed with another factory's boot key */
    new_unit(unit, sizeof unit);
    o.out = unit;
    assert_int_equal(ward_factory_provision(&o, &r, why, sizeof why), WARD_ERR_IMG_KEY);
    assert_false(exists(unit));
}

static void test_issue_refusals(void **state)
{
    (void)state;
    char why[256];
    ward_factory_ca_t *ca = NULL;
    assert_int_equal(ward_factory_ca_open(g_factory, &ca, why, sizeof why), WARD_OK);
    psa_key_id_t k = 0;
    uint8_t csr[WARD_FACTORY_CSR_DER_MAX], der[WARD_FACTORY_CERT_DER_MAX];
    size_t csr_len = 0, der_len = 0;
    foreign_csr("dev-9", &k, csr, sizeof csr, &csr_len);
    ward_factory_cert_opts_t o = {.profile = WARD_FACTORY_PROFILE_DEVICE, .cn = "dev-9"};
    /* over one year */
    o.validity = WARD_FACTORY_CERT_MAX_VALIDITY + 1u;
    assert_int_equal(ward_factory_issue_cert(ca, csr, csr_len, &o, der, sizeof der, &der_len, NULL),
                     WARD_ERR_CERT_VALIDITY);
    o.validity = 0;
    /* the CSR asks for another name */
    o.cn = "dev-10";
    assert_int_equal(ward_factory_issue_cert(ca, csr, csr_len, &o, der, sizeof der, &der_len, NULL),
                     WARD_ERR_CERT);
    o.cn = "dev/9";
    assert_int_equal(ward_factory_issue_cert(ca, csr, csr_len, &o, der, sizeof der, &der_len, NULL),
                     WARD_ERR_DEVICE_ID);
    /* a CSR whose signature does not verify: no proof of possession */
    o.cn = "dev-9";
    csr[csr_len - 5] ^= 0x01u;
    assert_int_equal(ward_factory_issue_cert(ca, csr, csr_len, &o, der, sizeof der, &der_len, NULL),
                     WARD_ERR_CERT);
    csr[csr_len - 5] ^= 0x01u;
    /* a service certificate needs '@' in its CN: never a device's name */
    o.profile = WARD_FACTORY_PROFILE_SERVICE;
    assert_int_equal(ward_factory_issue_cert(ca, csr, csr_len, &o, der, sizeof der, &der_len, NULL),
                     WARD_ERR_INVALID_ARG);
    o.profile = WARD_FACTORY_PROFILE_DEVICE;
    assert_int_equal(ward_factory_issue_cert(ca, csr, csr_len, &o, der, sizeof der, &der_len, NULL),
                     WARD_OK);
    assert_int_equal(der_len > 0u, true);
    (void)psa_destroy_key(k);
    ward_factory_ca_close(ca);
}

/* ---- secrets ----------------------------------------------------------------------------- */

static bool file_holds(const char *p, const uint8_t *needle, size_t n)
{
    size_t len = 0;
    uint8_t *d = read_all(p, &len);
    bool found = false;
    for (size_t i = 0; !found && i + n <= len; i++) {
        found = memcmp(d + i, needle, n) == 0;
    }
    free(d);
    return found;
}

static bool buf_holds(const uint8_t *d, size_t len, const uint8_t *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(d + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

static void test_no_secret_leaves_the_hsm(void **state)
{
    (void)state;
    char unit[300], p[400], failed[512];
    ward_factory_provision_result_t r;
    ward_factory_eol_report_t rep;
    new_unit(unit, sizeof unit);
    assert_int_equal(provision("plug-secret", unit, 0, false, false, &r), WARD_OK);
    /* The simulated secure element's storage, read directly: a test's
     * privilege, to know what to look for. */
    ward_sim_device_t d;
    assert_int_equal(ward_sim_device_open(&d, unit), WARD_OK);
    const ward_hsm_t *h = &d.hsm.port;
    uint8_t pub[65], sig[64], hash[32] = {1, 2, 3}, r16[16], dh[32], big[256];
    assert_int_equal(h->pair_public(h->ctx, pub), WARD_OK); /* loads the pairing key */
    assert_true(d.hsm.has_huk && d.hsm.has_id && d.hsm.has_pair);
    uint8_t huk[32], idk[32], pairk[32];
    memcpy(huk, d.hsm.huk, 32);
    memcpy(idk, d.hsm.id_priv, 32);
    memcpy(pairk, d.hsm.pair_priv, 32);
    assert_false(ward_ct_all(huk, 0, 32) || ward_ct_all(idk, 0, 32));
    /* Every HSM call: nothing it returns holds a secret. */
    memset(big, 0, sizeof big);
    assert_int_equal(h->id_public(h->ctx, pub), WARD_OK);
    memcpy(big, pub, 65);
    assert_int_equal(h->id_sign_hash(h->ctx, hash, sig), WARD_OK);
    memcpy(big + 65, sig, 64);
    assert_int_equal(h->pair_random(h->ctx, r16), WARD_OK);
    memcpy(big + 129, r16, 16);
    assert_int_equal(h->pair_ecdh(h->ctx, r.identity_pub, dh), WARD_OK);
    memcpy(big + 145, dh, 32);
    uint32_t cnt = 0;
    assert_int_equal(h->counter_read(h->ctx, 0, &cnt), WARD_OK);
    memcpy(big + 177, &cnt, sizeof cnt);
    for (int i = 0; i < 3; i++) {
        const uint8_t *s = i == 0 ? huk : i == 1 ? idk : pairk;
        assert_false(buf_holds(big, sizeof big, s, 32));
        assert_false(buf_holds(big, sizeof big, s, 8)); /* not even a part */
    }
    /* Keys derived from the HUK are not exportable. */
    static const ward_hsm_key_type_t types[] = {WARD_HSM_KEY_AES256_GCM,
                                                WARD_HSM_KEY_CHACHA20_POLY1305,
                                                WARD_HSM_KEY_HMAC_SHA256};
    for (size_t i = 0; i < 3; i++) {
        uint32_t id = 0;
        size_t n = 0;
        uint8_t out[64];
        assert_int_equal(h->derive_key(h->ctx, types[i], (const uint8_t *)"x", 1, &id), WARD_OK);
        assert_int_not_equal(psa_export_key(id, out, sizeof out, &n), PSA_SUCCESS);
        (void)psa_destroy_key(id);
    }
    /* Generating again is refused: nothing is replaced or re-exposed. */
    assert_int_equal(h->huk_generate(h->ctx), WARD_ERR_EXISTS);
    assert_int_equal(h->id_generate(h->ctx), WARD_ERR_EXISTS);
    ward_sim_device_close(&d);

    /* No file of the unit but the secure element's own holds them. */
    DIR *dir = opendir(unit);
    assert_non_null(dir);
    const struct dirent *e;
    int scanned = 0;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "hsm.bin") == 0 ||
            strcmp(e->d_name, "hsm.bin.pair") == 0) {
            continue;
        }
        path(p, sizeof p, unit, e->d_name);
        for (int i = 0; i < 3; i++) {
            const uint8_t *s = i == 0 ? huk : i == 1 ? idk : pairk;
            assert_false(file_holds(p, s, 32));
        }
        scanned++;
    }
    closedir(dir);
    assert_true(scanned >= 10); /* flash.bin, otp.bin, cert.pem, the record, the label... */
    /* The HSM's storage does hold them: the scan looks in the right place. */
    path(p, sizeof p, unit, "hsm.bin");
    assert_true(file_holds(p, huk, 32));
    assert_true(file_holds(p, idk, 32));

    /* The end-of-line check finds a key written where it must never be. */
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_string_equal(failed, "");
    path(p, sizeof p, unit, "debug-dump.bin");
    uint8_t dump[100];
    memset(dump, 0x5a, sizeof dump);
    memcpy(dump + 40, idk, 32);
    write_all(p, dump, sizeof dump);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_string_equal(failed, "keys_not_exported");
    /* ...also as hex text, and the HUK in flash. */
    char hex[65];
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02X", huk[i]);
    }
    write_all(p, hex, 64);
    eol(unit, g_factory, 0, &rep, failed, sizeof failed);
    assert_string_equal(failed, "keys_not_exported");
    assert_non_null(strstr(rep.detail[WARD_FACTORY_CHECK_KEYS_NOT_EXPORTED], "HUK"));
    unlink(p);
    ward_wipe(huk, 32);
    ward_wipe(idk, 32);
    ward_wipe(pairk, 32);
}

/* Red team: one device id, one unit. A second unit provisioned with an id
 * that already holds a valid certificate would share its CN, hence its
 * broker user name, client id and devices/<id>/ topics (each could read
 * and write the other's, and ask rotation for the other's certificates).
 * Refused before anything is made; once the first unit's certificates are
 * revoked the id may go to a replacement. */
static void test_provision_id_reuse(void **state)
{
    (void)state;
    char a[300], b[300], why[256];
    ward_factory_provision_result_t ra, rb;
    new_unit(a, sizeof a);
    new_unit(b, sizeof b);
    assert_int_equal(provision("plug-dup", a, 0, false, false, &ra), WARD_OK);
    assert_int_equal(provision("plug-dup", b, 0, false, false, &rb), WARD_ERR_EXISTS);
    assert_false(exists(b)); /* refused before anything is made */
    /* Revoked: a replacement unit may take the id. */
    ward_factory_ca_t *ca = NULL;
    assert_int_equal(ward_factory_ca_open(g_factory, &ca, why, sizeof why), WARD_OK);
    assert_int_equal(ward_factory_revoke(ca, ra.serial, sizeof ra.serial, 0), WARD_OK);
    ward_factory_ca_close(ca);
    assert_int_equal(provision("plug-dup", b, 0, false, false, &rb), WARD_OK);
}

static void test_units_differ(void **state)
{
    (void)state;
    char a[300], b[300], p[400];
    ward_factory_provision_result_t ra, rb;
    new_unit(a, sizeof a);
    new_unit(b, sizeof b);
    assert_int_equal(provision("twin-a", a, 0, false, false, &ra), WARD_OK);
    assert_int_equal(provision("twin-b", b, 0, false, false, &rb), WARD_OK);
    assert_memory_not_equal(ra.serial, rb.serial, WARD_FACTORY_SERIAL_LEN);
    assert_memory_not_equal(ra.identity_pub, rb.identity_pub, 65);
    ward_sim_device_t da, db;
    assert_int_equal(ward_sim_device_open(&da, a), WARD_OK);
    assert_int_equal(ward_sim_device_open(&db, b), WARD_OK);
    assert_memory_not_equal(da.hsm.huk, db.hsm.huk, 32);
    assert_memory_not_equal(da.hsm.id_priv, db.hsm.id_priv, 32);
    uint8_t pa[65], pb[65], ra16[16], rb16[16];
    assert_int_equal(da.hsm.port.pair_public(da.hsm.port.ctx, pa), WARD_OK);
    assert_int_equal(db.hsm.port.pair_public(db.hsm.port.ctx, pb), WARD_OK);
    assert_memory_not_equal(pa, pb, 65);
    assert_int_equal(da.hsm.port.pair_random(da.hsm.port.ctx, ra16), WARD_OK);
    assert_int_equal(db.hsm.port.pair_random(db.hsm.port.ctx, rb16), WARD_OK);
    assert_memory_not_equal(ra16, rb16, 16); /* no shared label secret */
    ward_sim_device_close(&da);
    ward_sim_device_close(&db);
    /* and so do their labels */
    size_t la = 0, lb = 0;
    path(p, sizeof p, a, "label.txt");
    uint8_t *ta = read_all(p, &la);
    path(p, sizeof p, b, "label.txt");
    uint8_t *tb = read_all(p, &lb);
    assert_int_equal(la, lb);
    assert_memory_not_equal(ta, tb, la);
    free(ta);
    free(tb);
    /* The CA recorded both, under their serials. */
    char hex[33];
    for (int i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", ra.serial[i]);
    }
    snprintf(p, sizeof p, "%s/ca/issued/%s.pem", g_factory, hex);
    assert_true(exists(p));
}

/* ---- revocation ------------------------------------------------------------------------------- */

typedef struct {
    int n;
    bool revoked[4];
    uint8_t serial[4][16];
} seen_t;

static ward_err_t collect(void *ctx, const uint8_t *der, size_t len, const uint8_t *serial,
                          size_t serial_len, int64_t nb, int64_t na, bool revoked)
{
    seen_t *s = ctx;
    (void)der;
    (void)len;
    assert_true(na > nb);
    assert_int_equal(serial_len, 16);
    if (s->n < 4) {
        s->revoked[s->n] = revoked;
        memcpy(s->serial[s->n], serial, 16);
    }
    s->n++;
    return WARD_OK;
}

static void crl_entries(const char *factory, int *count, int *number)
{
    char p[400];
    size_t len = 0;
    snprintf(p, sizeof p, "%s/ca/crl.pem", factory);
    uint8_t *pem = read_all(p, &len);
    mbedtls_x509_crl crl;
    mbedtls_x509_crl_init(&crl);
    assert_int_equal(mbedtls_x509_crl_parse(&crl, pem, len + 1u), 0);
    *count = 0;
    for (const mbedtls_x509_crl_entry *e = &crl.entry; e != NULL && e->raw.len > 0; e = e->next) {
        (*count)++;
    }
    free(pem);
    mbedtls_x509_crl_free(&crl);
    snprintf(p, sizeof p, "%s/ca/crlnumber", factory);
    uint8_t *num = read_all(p, &len);
    *number = atoi((char *)num);
    free(num);
}

static void test_revocation(void **state)
{
    (void)state;
    char unit[300], unit1[300], why[256];
    ward_factory_provision_result_t r1, r2;
    new_unit(unit1, sizeof unit1);
    assert_int_equal(provision("plug-rev", unit1, 0, false, false, &r1), WARD_OK);
    new_unit(unit, sizeof unit);
    assert_int_equal(provision("plug-rev2", unit, 0, false, false, &r2), WARD_OK);
    ward_factory_ca_t *ca = NULL;
    assert_int_equal(ward_factory_ca_open(g_factory, &ca, why, sizeof why), WARD_OK);
    int count = 0, n0 = 0, n1 = 0;
    crl_entries(g_factory, &count, &n0);
    const int before = count;
    assert_int_equal(ward_factory_revoke(ca, r1.serial, sizeof r1.serial, 0), WARD_OK);
    crl_entries(g_factory, &count, &n1);
    assert_int_equal(count, before + 1);
    assert_int_equal(n1, n0 + 1);
    /* twice: nothing changes */
    assert_int_equal(ward_factory_revoke(ca, r1.serial, sizeof r1.serial, 0), WARD_OK);
    crl_entries(g_factory, &count, &n1);
    assert_int_equal(count, before + 1);
    /* a serial the CA never issued */
    uint8_t junk[16] = {0x41};
    assert_int_equal(ward_factory_revoke(ca, junk, sizeof junk, 0), WARD_ERR_NOT_FOUND);
    seen_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(ward_factory_issued_for(ca, "plug-rev", collect, &s), WARD_OK);
    assert_int_equal(s.n, 1);
    assert_true(s.revoked[0]);
    assert_memory_equal(s.serial[0], r1.serial, 16);
    memset(&s, 0, sizeof s);
    assert_int_equal(ward_factory_issued_for(ca, "plug-rev2", collect, &s), WARD_OK);
    assert_int_equal(s.n, 1);
    assert_false(s.revoked[0]);
    /* the CRL names exactly the revoked serial */
    char p[400];
    size_t len = 0;
    snprintf(p, sizeof p, "%s/ca/crl.pem", g_factory);
    uint8_t *pem = read_all(p, &len);
    mbedtls_x509_crl crl;
    mbedtls_x509_crl_init(&crl);
    assert_int_equal(mbedtls_x509_crl_parse(&crl, pem, len + 1u), 0);
    bool found1 = false, found2 = false;
    for (const mbedtls_x509_crl_entry *e = &crl.entry; e != NULL && e->raw.len > 0; e = e->next) {
        found1 = found1 || (e->serial.len == 16 && memcmp(e->serial.p, r1.serial, 16) == 0);
        found2 = found2 || (e->serial.len == 16 && memcmp(e->serial.p, r2.serial, 16) == 0);
    }
    assert_true(found1);
    assert_false(found2);
    /* Mbed TLS's own chain check with this CRL refuses the revoked unit
     * and only it. */
    for (int i = 0; i < 2; i++) {
        uint8_t *der = NULL;
        size_t dlen = 0, calen = 0;
        snprintf(p, sizeof p, "%s/cert.pem", i == 0 ? unit1 : unit);
        assert_int_equal(ward_factory_cert_read(p, &der, &dlen), WARD_OK);
        mbedtls_x509_crt leaf, root;
        mbedtls_x509_crt_init(&leaf);
        mbedtls_x509_crt_init(&root);
        const uint8_t *rd = ward_factory_ca_cert(ca, &calen);
        assert_int_equal(mbedtls_x509_crt_parse_der(&leaf, der, dlen), 0);
        assert_int_equal(mbedtls_x509_crt_parse_der(&root, rd, calen), 0);
        uint32_t flags = 0;
        (void)mbedtls_x509_crt_verify(&leaf, &root, &crl, NULL, &flags, NULL, NULL);
        assert_int_equal(flags, i == 0 ? MBEDTLS_X509_BADCERT_REVOKED : 0u);
        mbedtls_x509_crt_free(&leaf);
        mbedtls_x509_crt_free(&root);
        free(der);
    }
    mbedtls_x509_crl_free(&crl);
    free(pem);
    ward_factory_ca_close(ca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_id_rules),
        cmocka_unit_test(test_provision_eol_pass),
        cmocka_unit_test(test_eol_secure_boot_off),
        cmocka_unit_test(test_eol_debug_unlocked),
        cmocka_unit_test(test_eol_cert_not_the_hsm_key),
        cmocka_unit_test(test_eol_other_failures),
        cmocka_unit_test(test_provision_refusals),
        cmocka_unit_test(test_provision_image_refused),
        cmocka_unit_test(test_issue_refusals),
        cmocka_unit_test(test_no_secret_leaves_the_hsm),
        cmocka_unit_test(test_units_differ),
        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_provision_id_reuse),
        cmocka_unit_test(test_eol_pinned_ca),
        cmocka_unit_test(test_eol_revoked),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
