/*
 * ward_factory: the end-of-line test of a simulated unit (docs/factory.md).
 * Every check runs; none stops the others, so a failing unit's report names
 * everything that is wrong with it.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <limits.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "factory_priv.h"
#include "ward_hostio.h"
#include "ward/boot.h"
#include "ward/crypto.h"
#include "ward/sim.h"
#include "ward/util.h"

static const char *const k_names[WARD_FACTORY_CHECK_COUNT] = {
    "boot",          "image",           "secure_boot",       "debug_lock",
    "boot_key_hash", "ota_key_hash",    "device_id",         "huk",
    "identity_key",  "keys_not_exported", "certificate_chain", "certificate_validity",
    "certificate_subject", "certificate_key",
};

const char *ward_factory_check_name(ward_factory_check_t c)
{
    return (unsigned)c < WARD_FACTORY_CHECK_COUNT ? k_names[c] : "unknown";
}

static void set(ward_factory_eol_report_t *rep, ward_factory_check_t c, bool pass,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set(ward_factory_eol_report_t *rep, ward_factory_check_t c, bool pass,
                const char *fmt, ...)
{
    va_list ap;
    rep->pass[c] = pass;
    va_start(ap, fmt);
    (void)vsnprintf(rep->detail[c], sizeof rep->detail[c], fmt, ap);
    va_end(ap);
}

/* A P-256 public key file (PEM/DER SPKI) or a raw 91-byte DER SPKI. */
static bool read_spki(const char *path, uint8_t spki[WARD_P256_SPKI_LEN])
{
    return ward_sign_key_load(path, NULL, spki, NULL) == WARD_OK;
}

/* OTP key-hash field: burnt (not all zero), locked, and the expected
 * hash when one is known. */
static void check_key_hash(ward_factory_eol_report_t *rep, ward_factory_check_t c,
                           const ward_otp_t *otp, ward_otp_field_t f, const uint8_t *want,
                           const char *want_from, const uint8_t *stored, const char *stored_name)
{
    uint8_t v[32];
    bool locked = false;
    if (otp->read(otp->ctx, f, v, sizeof v) != WARD_OK ||
        otp->is_locked(otp->ctx, f, &locked) != WARD_OK) {
        set(rep, c, false, "OTP unreadable");
        return;
    }
    if (ward_ct_all(v, 0u, sizeof v)) {
        set(rep, c, false, "not burnt");
        return;
    }
    if (!locked) {
        set(rep, c, false, "burnt but not write-locked");
        return;
    }
    if (want != NULL && !ward_ct_equal(v, want, sizeof v)) {
        set(rep, c, false, "not the hash of %s", want_from);
        return;
    }
    if (stored_name != NULL) {
        if (stored == NULL) {
            set(rep, c, false, "no %s on the unit", stored_name);
            return;
        }
        uint8_t h[32];
        (void)ward_sha256(h, stored, WARD_P256_SPKI_LEN);
        if (!ward_ct_equal(v, h, sizeof v)) {
            set(rep, c, false, "%s does not match the OTP hash", stored_name);
            return;
        }
    }
    set(rep, c, true, "burnt, locked%s%s", want != NULL ? ", = " : "",
        want != NULL ? want_from : "");
}

/* Whether buf holds needle as raw bytes or as hex (either case). */
static bool holds_secret(const uint8_t *buf, size_t len, const uint8_t *needle, size_t n)
{
    char lo[65], up[65];
    if (n > 32u || len < n) {
        return false;
    }
    ward_factory_hex(lo, needle, n);
    for (size_t i = 0; i < 2u * n; i++) {
        up[i] = (char)(lo[i] >= 'a' ? lo[i] - 32 : lo[i]);
    }
    up[2u * n] = '\0';
    for (size_t i = 0; i + n <= len; i++) {
        if (buf[i] == needle[0] && memcmp(buf + i, needle, n) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i + 2u * n <= len; i++) {
        if (memcmp(buf + i, lo, 2u * n) == 0 || memcmp(buf + i, up, 2u * n) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * The HSM port has no call that returns private material (ward_hsm_t:
 * derive_key gives PSA ids of non-exportable keys, id_* and pair_* give
 * public keys and signatures). What the simulator can check beyond that
 * contract: no file of the unit holds the HUK, the identity private key or
 * the pairing private key, except the HSM's own storage (hsm.bin and
 * hsm.bin.pair, the secure element; a real unit has no such file to read).
 */
typedef struct {
    const ward_sim_hsm_t *h;
    char leak[512];
} files_t;

static bool hsm_storage(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "hsm.bin") == 0 || strcmp(name, "hsm.bin.pair") == 0;
}

static bool file_leaks(void *ctx, const char *rel, const uint8_t *data, size_t len)
{
    files_t *c = ctx;
    const ward_sim_hsm_t *h = c->h;
    const char *what = NULL;
    if (h->has_huk && holds_secret(data, len, h->huk, sizeof h->huk)) {
        what = "the HUK";
    } else if (h->has_id && holds_secret(data, len, h->id_priv, sizeof h->id_priv)) {
        what = "the identity private key";
    } else if (h->has_pair && holds_secret(data, len, h->pair_priv, sizeof h->pair_priv)) {
        what = "the pairing private key";
    }
    if (what != NULL) {
        snprintf(c->leak, sizeof c->leak, "%s holds %s", rel, what);
    }
    return what == NULL;
}

static void check_files(ward_factory_eol_report_t *rep, const char *dir, const ward_sim_hsm_t *h)
{
    files_t c = {h, ""};
    char bad[256];
    unsigned scanned = 0;
    /* Subfolders too (a backup/ beside the unit's files is the unit's). */
    const ward_err_t err =
        ward_host_scan_files(dir, 4u, 64u << 20, hsm_storage, file_leaks, &c, &scanned, bad, sizeof bad);
    if (err != WARD_OK) {
        set(rep, WARD_FACTORY_CHECK_KEYS_NOT_EXPORTED, false, "cannot list %s", dir);
    } else if (c.leak[0] != '\0') {
        set(rep, WARD_FACTORY_CHECK_KEYS_NOT_EXPORTED, false, "%s", c.leak);
    } else if (bad[0] != '\0') {
        set(rep, WARD_FACTORY_CHECK_KEYS_NOT_EXPORTED, false, "cannot read %s", bad);
    } else {
        set(rep, WARD_FACTORY_CHECK_KEYS_NOT_EXPORTED, true,
            "the HSM port has no export call; %u files scanned for the HUK and private keys "
            "(hsm.bin, the secure element's storage, excluded)",
            scanned);
    }
}

static void check_huk(ward_factory_eol_report_t *rep, const ward_hsm_t *hsm)
{
    static const uint8_t k_label[] = "ward-eol-check";
    uint32_t id = 0;
    uint8_t out[64];
    size_t n = 0;
    ward_err_t err = hsm->derive_key(hsm->ctx, WARD_HSM_KEY_HMAC_SHA256, k_label,
                                     sizeof k_label - 1u, &id);
    if (err != WARD_OK) {
        set(rep, WARD_FACTORY_CHECK_HUK, false, "no HUK (derive_key: %s)", ward_err_name(err));
        return;
    }
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    const bool attrs = psa_get_key_attributes(id, &a) == PSA_SUCCESS;
    const bool exportable = !attrs || (psa_get_key_usage_flags(&a) & PSA_KEY_USAGE_EXPORT) != 0u;
    const bool exported = psa_export_key(id, out, sizeof out, &n) == PSA_SUCCESS;
    psa_reset_key_attributes(&a);
    (void)psa_destroy_key(id);
    ward_wipe(out, sizeof out);
    if (exportable || exported) {
        set(rep, WARD_FACTORY_CHECK_HUK, false, "a key derived from the HUK can be exported");
        return;
    }
    set(rep, WARD_FACTORY_CHECK_HUK, true, "present; derived keys not exportable");
}

typedef struct cert_state {
    mbedtls_x509_crt cert, anchor;
    bool have_cert, have_anchor;
    /* With the factory as the anchor: the unit's ca.pem (the CA it pins for
     * the broker, the update server and rotation) is there and is it. */
    bool have_pinned, pinned_is_anchor;
    /* With the factory: its CRL (ca/crl.pem, what the broker reads). */
    mbedtls_x509_crl crl;
    bool have_crl;
} cert_state_t;

static void check_cert(ward_factory_eol_report_t *rep, cert_state_t *cs, const ward_hsm_t *hsm,
                       const ward_otp_t *otp, int64_t now)
{
    char cn[WARD_FACTORY_ID_MAX + 1] = "";
    /* chain */
    if (!cs->have_cert) {
        set(rep, WARD_FACTORY_CHECK_CERT_CHAIN, false, "no cert.pem");
    } else if (!cs->have_anchor) {
        set(rep, WARD_FACTORY_CHECK_CERT_CHAIN, false, "no CA certificate to check against");
    } else {
        uint32_t flags = 0;
        (void)mbedtls_x509_crt_verify(&cs->cert, &cs->anchor, cs->have_crl ? &cs->crl : NULL,
                                      NULL, &flags, NULL, NULL);
        /* validity is judged below against `now`; the CRL's own dates are
         * the factory's business, not the unit's */
        flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE |
                             MBEDTLS_X509_BADCRL_EXPIRED | MBEDTLS_X509_BADCRL_FUTURE);
        const bool ok = flags == 0u && ward_factory_cert_signed_by(&cs->cert, &cs->anchor);
        if ((flags & MBEDTLS_X509_BADCERT_REVOKED) != 0u) {
            set(rep, WARD_FACTORY_CHECK_CERT_CHAIN, false,
                "revoked: the factory's CRL (ca/crl.pem) lists it");
        } else if (!ok) {
            set(rep, WARD_FACTORY_CHECK_CERT_CHAIN, false, "not issued by the %s CA (flags 0x%lx)",
                rep->anchor_factory ? "factory's" : "unit's", (unsigned long)flags);
        } else if (rep->anchor_factory && !cs->have_pinned) {
            set(rep, WARD_FACTORY_CHECK_CERT_CHAIN, false,
                "signed by the factory's CA, but the unit has no ca.pem to pin it");
        } else if (rep->anchor_factory && !cs->pinned_is_anchor) {
            set(rep, WARD_FACTORY_CHECK_CERT_CHAIN, false,
                "signed by the factory's CA, but the unit's ca.pem pins another CA");
        } else {
            set(rep, WARD_FACTORY_CHECK_CERT_CHAIN, true, "signed by the %s CA%s",
                rep->anchor_factory ? "factory's" : "unit's",
                rep->anchor_factory ? ", which the unit pins (ca.pem)" : "");
        }
    }
    if (!cs->have_cert) {
        set(rep, WARD_FACTORY_CHECK_CERT_VALIDITY, false, "no certificate");
        set(rep, WARD_FACTORY_CHECK_CERT_SUBJECT, false, "no certificate");
        set(rep, WARD_FACTORY_CHECK_CERT_KEY, false, "no certificate");
        return;
    }
    /* validity */
    rep->not_before = ward_factory_x509_time(&cs->cert.valid_from);
    rep->not_after = ward_factory_x509_time(&cs->cert.valid_to);
    rep->serial_len = cs->cert.serial.len <= sizeof rep->serial ? cs->cert.serial.len : 0u;
    memcpy(rep->serial, cs->cert.serial.p, rep->serial_len);
    const int64_t span = rep->not_after - rep->not_before;
    if (now < rep->not_before) {
        set(rep, WARD_FACTORY_CHECK_CERT_VALIDITY, false, "not valid yet");
    } else if (now > rep->not_after) {
        set(rep, WARD_FACTORY_CHECK_CERT_VALIDITY, false, "expired");
    } else if (span > (int64_t)WARD_FACTORY_CERT_MAX_VALIDITY) {
        set(rep, WARD_FACTORY_CHECK_CERT_VALIDITY, false, "valid for %lld days, over 365",
            (long long)(span / 86400));
    } else {
        set(rep, WARD_FACTORY_CHECK_CERT_VALIDITY, true, "valid now, for %lld days",
            (long long)(span / 86400));
    }
    /* subject and profile */
    uint8_t id_hash[32], otp_id[16];
    bool locked = false;
    const bool have_cn = ward_factory_cert_cn(&cs->cert, cn);
    if (have_cn) {
        snprintf(rep->device_id, sizeof rep->device_id, "%s", cn);
    }
    if (!have_cn || ward_factory_device_id_check(cn) != WARD_OK) {
        set(rep, WARD_FACTORY_CHECK_CERT_SUBJECT, false, "the CN is not a device id");
    } else if (mbedtls_x509_crt_get_ca_istrue(&cs->cert) != 0 ||
               mbedtls_x509_crt_check_key_usage(&cs->cert, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) !=
                   0 ||
               mbedtls_x509_crt_check_extended_key_usage(&cs->cert, MBEDTLS_OID_CLIENT_AUTH,
                                                         MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) !=
                   0) {
        set(rep, WARD_FACTORY_CHECK_CERT_SUBJECT, false,
            "not a device certificate (CA:false, digitalSignature, clientAuth)");
    } else {
        set(rep, WARD_FACTORY_CHECK_CERT_SUBJECT, true, "CN %s, device profile", cn);
    }
    /* the OTP device id is the hash of the CN */
    if (otp->read(otp->ctx, WARD_OTP_DEVICE_ID, otp_id, sizeof otp_id) != WARD_OK ||
        otp->is_locked(otp->ctx, WARD_OTP_DEVICE_ID, &locked) != WARD_OK) {
        set(rep, WARD_FACTORY_CHECK_DEVICE_ID, false, "OTP unreadable");
    } else if (ward_ct_all(otp_id, 0u, sizeof otp_id) || !locked) {
        set(rep, WARD_FACTORY_CHECK_DEVICE_ID, false, "not burnt and locked");
    } else if (!have_cn || ward_sha256(id_hash, cn, strlen(cn)) != WARD_OK ||
               !ward_ct_equal(id_hash, otp_id, sizeof otp_id)) {
        set(rep, WARD_FACTORY_CHECK_DEVICE_ID, false, "OTP device id is not the certificate's CN");
    } else {
        set(rep, WARD_FACTORY_CHECK_DEVICE_ID, true, "OTP = SHA-256(\"%s\")[0..16], locked", cn);
    }
    /* the key: the HSM's, and the HSM proves it holds it */
    uint8_t cpub[65], hpub[65], challenge[32], hash[32], sig[64], der[80];
    size_t der_len = 0;
    if (ward_factory_cert_pub(&cs->cert, cpub) != WARD_OK) {
        set(rep, WARD_FACTORY_CHECK_CERT_KEY, false, "not a P-256 key");
    } else if (hsm->id_public(hsm->ctx, hpub) != WARD_OK) {
        set(rep, WARD_FACTORY_CHECK_CERT_KEY, false, "the HSM has no identity key");
    } else if (!ward_ct_equal(cpub, hpub, sizeof cpub)) {
        set(rep, WARD_FACTORY_CHECK_CERT_KEY, false,
            "the certificate's key is not the HSM's identity key");
    } else if (psa_generate_random(challenge, sizeof challenge) != PSA_SUCCESS ||
               ward_sha256(hash, challenge, sizeof challenge) != WARD_OK ||
               hsm->id_sign_hash(hsm->ctx, hash, sig) != WARD_OK ||
               ward_ecdsa_raw_to_der(der, sizeof der, &der_len, sig) != WARD_OK ||
               mbedtls_pk_verify(&cs->cert.pk, MBEDTLS_MD_SHA256, hash, sizeof hash, der,
                                 der_len) != 0) {
        set(rep, WARD_FACTORY_CHECK_CERT_KEY, false,
            "the HSM's signature of a challenge does not verify with the certificate");
    } else {
        set(rep, WARD_FACTORY_CHECK_CERT_KEY, true,
            "= the HSM's identity key; a fresh challenge signed by the HSM verifies");
    }
}

ward_err_t ward_factory_eol(const char *device, const char *factory, int64_t now,
                            ward_factory_eol_report_t *rep)
{
    ward_sim_device_t d;
    cert_state_t cs;
    char path[PATH_MAX];
    uint8_t hb[32], ho[32];
    uint8_t ota_spki[WARD_P256_SPKI_LEN];
    if (device == NULL || rep == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(rep, 0, sizeof *rep);
    if (now == 0) {
        now = ward_factory_now();
    }
    bool have_fkeys = false;
    if (factory != NULL) {
        ward_factory_conf_t conf;
        char b[PATH_MAX], o[PATH_MAX];
        uint8_t fboot[WARD_P256_SPKI_LEN], fota[WARD_P256_SPKI_LEN];
        ward_err_t err = ward_factory_conf_read(factory, &conf);
        if (err != WARD_OK) {
            return err;
        }
        if (!ward_factory_path(b, sizeof b, "%s/keys/boot-key.pub", factory) ||
            !ward_factory_path(o, sizeof o, "%s/keys/ota-key.pub", factory) || !read_spki(b, fboot) ||
            !read_spki(o, fota)) {
            return WARD_ERR_CORRUPT;
        }
        (void)ward_sha256(hb, fboot, sizeof fboot);
        (void)ward_sha256(ho, fota, sizeof fota);
        have_fkeys = true;
    }
    ward_err_t err = ward_sim_device_open(&d, device);
    if (err != WARD_OK) {
        return err;
    }
    const ward_otp_t *otp = &d.otp.port;
    const ward_hsm_t *hsm = &d.hsm.port;

    /* Boot it, as the unit will at every reset. */
    ward_boot_config_t cfg;
    ward_boot_ctx_t ctx;
    ward_boot_report_t br;
    memset(&br, 0, sizeof br);
    ward_sim_device_boot_config(&d, &cfg);
    err = ward_boot_init(&ctx, &cfg);
    bool booted = false;
    if (err == WARD_OK) {
        const ward_fih_t go = ward_boot_go(&ctx, &br);
        booted = WARD_FIH_EQ(go) && br.reason == WARD_OK;
    }
    if (booted) {
        set(rep, WARD_FACTORY_CHECK_BOOT, true, "boots version %u.%u.%u+%lu", br.version.major,
            br.version.minor, br.version.revision, (unsigned long)br.version.build);
    } else {
        set(rep, WARD_FACTORY_CHECK_BOOT, false, "refuses to start: %s",
            ward_err_name(err != WARD_OK ? err : br.reason));
    }
    if (err == WARD_OK && br.verified && br.image_reason == WARD_OK) {
        set(rep, WARD_FACTORY_CHECK_IMAGE, true, "hash, key and signature verified");
    } else {
        set(rep, WARD_FACTORY_CHECK_IMAGE, false, "not verified: %s",
            ward_err_name(br.image_reason != WARD_OK ? br.image_reason : WARD_ERR_IMG_UNSIGNED));
    }
    bool sb = false, dl = false;
    const bool sb_read = ward_otp_flag_get(otp, WARD_OTP_SECURE_BOOT, &sb) == WARD_OK;
    const bool dl_read = ward_otp_flag_get(otp, WARD_OTP_DEBUG_LOCK, &dl) == WARD_OK;
    set(rep, WARD_FACTORY_CHECK_SECURE_BOOT, sb_read && sb && br.secure_boot,
        sb_read && sb && br.secure_boot ? "enforced (OTP)" : "OFF: unsigned images would run");
    set(rep, WARD_FACTORY_CHECK_DEBUG_LOCK, dl_read && dl && br.debug_locked,
        dl_read && dl && br.debug_locked ? "locked (OTP)" : "OPEN: the debug port is enabled");

    /* Key hashes: the factory's keys, the unit's stored keys. */
    check_key_hash(rep, WARD_FACTORY_CHECK_BOOT_KEY_HASH, otp, WARD_OTP_BOOT_KEY_HASH,
                   have_fkeys ? hb : NULL, "the factory's boot key",
                   d.has_boot_spki ? d.boot_spki : NULL, "bootloader key (bootkey.der)");
    const bool have_ota = ward_factory_path(path, sizeof path, "%s/otakey.der", device) &&
                          read_spki(path, ota_spki);
    check_key_hash(rep, WARD_FACTORY_CHECK_OTA_KEY_HASH, otp, WARD_OTP_OTA_KEY_HASH,
                   have_fkeys ? ho : NULL, "the factory's OTA key", have_ota ? ota_spki : NULL,
                   "OTA key (otakey.der)");

    /* The HSM: HUK and identity key inside, nothing of them outside. */
    check_huk(rep, hsm);
    uint8_t pub[65];
    if (hsm->id_public(hsm->ctx, pub) == WARD_OK && pub[0] == 0x04u) {
        set(rep, WARD_FACTORY_CHECK_IDENTITY_KEY, true, "present (P-256, inside the HSM)");
    } else {
        set(rep, WARD_FACTORY_CHECK_IDENTITY_KEY, false, "no identity key in the HSM");
    }
    if (hsm->pair_public != NULL) {
        (void)hsm->pair_public(hsm->ctx, pub); /* loads the pairing key, if any, to look for it */
    }
    check_files(rep, device, &d.hsm);

    /* The certificate. */
    memset(&cs, 0, sizeof cs);
    mbedtls_x509_crt_init(&cs.cert);
    mbedtls_x509_crt_init(&cs.anchor);
    mbedtls_x509_crl_init(&cs.crl);
    if (factory != NULL && ward_factory_path(path, sizeof path, "%s/ca/crl.pem", factory)) {
        uint8_t *crl = NULL;
        size_t crl_len = 0;
        if (ward_factory_read_file(path, &crl, &crl_len) == WARD_OK) {
            /* PEM wants its NUL counted (read_file put one there) */
            cs.have_crl = mbedtls_x509_crl_parse(&cs.crl, crl, crl_len + 1u) == 0;
            free(crl);
        }
    }
    uint8_t *der = NULL;
    size_t len = 0;
    if (ward_factory_path(path, sizeof path, "%s/cert.pem", device) &&
        ward_factory_cert_read(path, &der, &len) == WARD_OK) {
        cs.have_cert = mbedtls_x509_crt_parse_der(&cs.cert, der, len) == 0;
        free(der);
        der = NULL;
    }
    rep->anchor_factory = factory != NULL;
    if (ward_factory_path(path, sizeof path, factory != NULL ? "%s/ca/ca.pem" : "%s/ca.pem",
                          factory != NULL ? factory : device) &&
        ward_factory_cert_read(path, &der, &len) == WARD_OK) {
        cs.have_anchor = mbedtls_x509_crt_parse_der(&cs.anchor, der, len) == 0;
        free(der);
        der = NULL;
    }
    if (factory != NULL && cs.have_anchor &&
        ward_factory_path(path, sizeof path, "%s/ca.pem", device) &&
        ward_factory_cert_read(path, &der, &len) == WARD_OK) {
        cs.have_pinned = true;
        cs.pinned_is_anchor = len == cs.anchor.raw.len && memcmp(der, cs.anchor.raw.p, len) == 0;
        free(der);
        der = NULL;
    }
    check_cert(rep, &cs, hsm, otp, now);
    mbedtls_x509_crt_free(&cs.cert);
    mbedtls_x509_crt_free(&cs.anchor);
    mbedtls_x509_crl_free(&cs.crl);
    ward_sim_device_close(&d);

    rep->passed = true;
    for (int i = 0; i < WARD_FACTORY_CHECK_COUNT; i++) {
        rep->passed = rep->passed && rep->pass[i];
    }
    return WARD_OK;
}
