/*
 * ward_audit: the run (a private copy of the unit, the end-of-line test,
 * the device checks, the profile and fleet checks, the items' verdicts).
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit_priv.h"
#include "ward_hostio.h"
#include "ward/boot.h"
#include "ward/crypto.h"
#include "ward/image.h"
#include "ward/util.h"
#include "ward/vault.h"
#include "ward_label.h"
#include "ward_sign.h"

/* ---- names --------------------------------------------------------------------------- */

static const struct {
    const char *name, *source;
} k_checks[WARD_AUDIT_C_COUNT] = {
    [WARD_AUDIT_C_EOL_BOOT] = {"boot", "boot"},
    [WARD_AUDIT_C_EOL_IMAGE] = {"image", "flash"},
    [WARD_AUDIT_C_EOL_SECURE_BOOT] = {"secure_boot", "otp"},
    [WARD_AUDIT_C_EOL_DEBUG_LOCK] = {"debug_lock", "otp"},
    [WARD_AUDIT_C_EOL_BOOT_KEY_HASH] = {"boot_key_hash", "otp"},
    [WARD_AUDIT_C_EOL_OTA_KEY_HASH] = {"ota_key_hash", "otp"},
    [WARD_AUDIT_C_EOL_DEVICE_ID] = {"device_id", "otp"},
    [WARD_AUDIT_C_EOL_HUK] = {"huk", "hsm"},
    [WARD_AUDIT_C_EOL_IDENTITY_KEY] = {"identity_key", "hsm"},
    [WARD_AUDIT_C_EOL_KEYS_NOT_EXPORTED] = {"keys_not_exported", "files"},
    [WARD_AUDIT_C_EOL_CERT_CHAIN] = {"certificate_chain", "certificate"},
    [WARD_AUDIT_C_EOL_CERT_VALIDITY] = {"certificate_validity", "certificate"},
    [WARD_AUDIT_C_EOL_CERT_SUBJECT] = {"certificate_subject", "certificate"},
    [WARD_AUDIT_C_EOL_CERT_KEY] = {"certificate_key", "certificate"},
    [WARD_AUDIT_C_RECORD] = {"factory_record", "factory-record"},
    [WARD_AUDIT_C_ROLLBACK] = {"rollback", "otp"},
    [WARD_AUDIT_C_STAGING] = {"staging", "flash"},
    [WARD_AUDIT_C_OTA_KEY_DISTINCT] = {"ota_key_distinct", "otp"},
    [WARD_AUDIT_C_PINNED_CA] = {"pinned_ca", "certificate"},
    [WARD_AUDIT_C_LABEL] = {"label", "hsm"},
    [WARD_AUDIT_C_VAULT] = {"vault", "vault"},
    [WARD_AUDIT_C_SECRETS_HSM] = {"secrets_hsm", "flash"},
    [WARD_AUDIT_C_SECRETS_VAULT] = {"secrets_vault", "vault"},
    [WARD_AUDIT_C_SECRETS_PATTERNS] = {"secrets_patterns", "flash"},
    [WARD_AUDIT_C_PROFILE] = {"profile", "profile"},
    [WARD_AUDIT_C_P_DEBUG] = {"profile_debug", "profile"},
    [WARD_AUDIT_C_P_ACCOUNTS] = {"profile_accounts", "profile"},
    [WARD_AUDIT_C_P_SERVICES] = {"profile_services", "profile"},
    [WARD_AUDIT_C_P_FLOWS] = {"profile_flows", "profile"},
    [WARD_AUDIT_C_P_UPDATE_URL] = {"profile_update_url", "profile"},
    [WARD_AUDIT_C_P_BROKER] = {"profile_broker", "profile"},
    [WARD_AUDIT_C_P_BLE_PAIRING] = {"profile_ble_pairing", "profile"},
    [WARD_AUDIT_C_P_BLE_WINDOW] = {"profile_ble_window", "profile"},
    [WARD_AUDIT_C_P_GATT_AUTH] = {"profile_gatt_authenticated", "profile"},
    [WARD_AUDIT_C_P_GATT_ENC] = {"profile_gatt_encrypted", "profile"},
    [WARD_AUDIT_C_P_GATT_BOUNDS] = {"profile_gatt_bounds", "profile"},
    [WARD_AUDIT_C_P_CREDENTIALS] = {"profile_credentials", "profile"},
    [WARD_AUDIT_C_P_EVENTS] = {"profile_events", "profile"},
    [WARD_AUDIT_C_P_RESET] = {"profile_factory_reset", "profile"},
    [WARD_AUDIT_C_P_SENSORS] = {"profile_sensors", "profile"},
    [WARD_AUDIT_C_P_SUPPORT] = {"profile_support", "profile"},
    [WARD_AUDIT_C_F_KEYS_DISTINCT] = {"fleet_keys_distinct", "factory-keys"},
    [WARD_AUDIT_C_F_KEYS_OFFLINE] = {"fleet_keys_offline", "factory-keys"},
    [WARD_AUDIT_C_F_BROKER_LISTENERS] = {"fleet_broker_listeners", "broker-config"},
    [WARD_AUDIT_C_F_BROKER_AUTH] = {"fleet_broker_auth", "broker-config"},
    [WARD_AUDIT_C_F_BROKER_ACL] = {"fleet_broker_acl", "broker-acl"},
    [WARD_AUDIT_C_F_CRL] = {"fleet_crl", "crl"},
    [WARD_AUDIT_C_F_REPO] = {"fleet_repo_https", "web-config"},
    [WARD_AUDIT_C_F_MANIFESTS] = {"fleet_repo_manifests", "repo"},
    [WARD_AUDIT_C_F_CERT_VALIDITY] = {"fleet_cert_validity", "ca-records"},
    [WARD_AUDIT_C_F_IDENTITY_UNIQUE] = {"fleet_identity_unique", "units"},
    [WARD_AUDIT_C_F_PAIRING_UNIQUE] = {"fleet_pairing_unique", "units"},
    [WARD_AUDIT_C_F_MONITORING] = {"fleet_monitoring", "broker-acl"},
};

const char *ward_audit_check_name(ward_audit_check_t c)
{
    return (unsigned)c < WARD_AUDIT_C_COUNT ? k_checks[c].name : "unknown";
}

const char *ward_audit_check_source(ward_audit_check_t c)
{
    return (unsigned)c < WARD_AUDIT_C_COUNT ? k_checks[c].source : "unknown";
}

const char *ward_audit_status_name(ward_audit_status_t s)
{
    switch (s) {
    case WARD_AUDIT_PASS:
        return "pass";
    case WARD_AUDIT_FAIL:
        return "fail";
    case WARD_AUDIT_NA:
        return "not_applicable";
    default:
        return "not_checked";
    }
}

/* ---- helpers --------------------------------------------------------------------------- */

void audit_set(audit_ctx_t *a, ward_audit_check_t c, ward_audit_status_t s, const char *fmt, ...)
{
    ward_audit_check_result_t *r = &a->rep->checks[c];
    va_list ap;
    r->status = s;
    va_start(ap, fmt);
    (void)vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

bool audit_path(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

void audit_hex(char *out, const uint8_t *p, size_t n)
{
    static const char k[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2u * i] = k[p[i] >> 4];
        out[2u * i + 1u] = k[p[i] & 15u];
    }
    out[2u * n] = '\0';
}

ward_err_t audit_read_file(const char *path, uint8_t **data, size_t *len)
{
    return ward_host_read_file(path, 64u << 20, data, len); /* a unit's files are bounded */
}

/* ---- the private copy ------------------------------------------------------------------- */

static void remove_copy(audit_ctx_t *a)
{
    if (a->copy[0] != '\0') {
        ward_host_remove_tree(a->copy);
        a->copy[0] = '\0';
    }
}

static ward_err_t make_copy(audit_ctx_t *a)
{
    struct stat st;
    char marker[PATH_MAX];
    if (!audit_path(marker, sizeof marker, "%s/device.conf", a->o->device) ||
        stat(marker, &st) != 0) {
        return WARD_ERR_NOT_FOUND;
    }
    const char *tmp = getenv("TMPDIR");
    if (!audit_path(a->copy, sizeof a->copy, "%s/ward-audit-XXXXXX",
                    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp") ||
        mkdtemp(a->copy) == NULL) {
        a->copy[0] = '\0';
        return WARD_ERR_IO;
    }
    /* The modes as they are: the checks read them (otakey.der read-only). */
    ward_err_t err = ward_host_copy_tree(a->o->device, a->copy, 4u, false);
    if (err != WARD_OK) {
        remove_copy(a);
    }
    return err;
}

/* ---- the device ---------------------------------------------------------------------------- */

static const ward_audit_check_t k_eol_map[WARD_FACTORY_CHECK_COUNT] = {
    WARD_AUDIT_C_EOL_BOOT,          WARD_AUDIT_C_EOL_IMAGE,
    WARD_AUDIT_C_EOL_SECURE_BOOT,   WARD_AUDIT_C_EOL_DEBUG_LOCK,
    WARD_AUDIT_C_EOL_BOOT_KEY_HASH, WARD_AUDIT_C_EOL_OTA_KEY_HASH,
    WARD_AUDIT_C_EOL_DEVICE_ID,     WARD_AUDIT_C_EOL_HUK,
    WARD_AUDIT_C_EOL_IDENTITY_KEY,  WARD_AUDIT_C_EOL_KEYS_NOT_EXPORTED,
    WARD_AUDIT_C_EOL_CERT_CHAIN,    WARD_AUDIT_C_EOL_CERT_VALIDITY,
    WARD_AUDIT_C_EOL_CERT_SUBJECT,  WARD_AUDIT_C_EOL_CERT_KEY,
};

/* The end-of-line test's words, with where each fact was read. */
static void eol_checks(audit_ctx_t *a)
{
    static const char *const k_where[WARD_FACTORY_CHECK_COUNT] = {
        "boot of the primary slot", "primary slot image", "OTP SECURE_BOOT",
        "OTP DEBUG_LOCK", "OTP BOOT_KEY_HASH", "OTP OTA_KEY_HASH",
        "OTP DEVICE_ID", "HSM HUK", "HSM identity key",
        "files of the unit", "cert.pem issuer", "cert.pem notBefore/notAfter",
        "cert.pem subject, extensions", "cert.pem key vs HSM",
    };
    for (int i = 0; i < WARD_FACTORY_CHECK_COUNT; i++) {
        audit_set(a, k_eol_map[i], a->eol.pass[i] ? WARD_AUDIT_PASS : WARD_AUDIT_FAIL, "%s: %s",
                  k_where[i], a->eol.detail[i]);
    }
}

static const cJSON *jget(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static bool hex_is(const cJSON *v, const uint8_t *want, size_t n)
{
    char h[129];
    if (!cJSON_IsString(v) || n > 64u) {
        return false;
    }
    audit_hex(h, want, n);
    return strcmp(v->valuestring, h) == 0;
}

static void check_record(audit_ctx_t *a)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    if (!audit_path(path, sizeof path, "%s/factory-record.json", a->copy) ||
        audit_read_file(path, &data, &len) != WARD_OK) {
        audit_set(a, WARD_AUDIT_C_RECORD, WARD_AUDIT_FAIL,
                  "no factory-record.json: no record that the unit passed the line");
        return;
    }
    cJSON *r = cJSON_ParseWithLength((const char *)data, len);
    free(data);
    const cJSON *sb = jget(r, "secure_boot");
    const cJSON *id = jget(r, "device_id");
    if (r == NULL || !cJSON_IsNumber(jget(r, "format")) || !cJSON_IsString(id)) {
        audit_set(a, WARD_AUDIT_C_RECORD, WARD_AUDIT_FAIL, "factory-record.json is malformed");
    } else if (!cJSON_IsTrue(sb)) {
        audit_set(a, WARD_AUDIT_C_RECORD, WARD_AUDIT_FAIL,
                  "factory-record.json: \"secure_boot\": false (the station did not enable it)");
    } else if (!hex_is(jget(r, "boot_key_hash"), a->otp_boot_hash, 32) ||
               !hex_is(jget(r, "ota_key_hash"), a->otp_ota_hash, 32)) {
        audit_set(a, WARD_AUDIT_C_RECORD, WARD_AUDIT_FAIL,
                  "factory-record.json: the key hashes it records are not the OTP's");
    } else if (a->eol.device_id[0] != '\0' && strcmp(id->valuestring, a->eol.device_id) != 0) {
        audit_set(a, WARD_AUDIT_C_RECORD, WARD_AUDIT_FAIL,
                  "factory-record.json is for %s, the certificate for %s", id->valuestring,
                  a->eol.device_id);
    } else {
        audit_set(a, WARD_AUDIT_C_RECORD, WARD_AUDIT_PASS,
                  "factory-record.json: %s, \"secure_boot\": true, key hashes = OTP",
                  id->valuestring);
    }
    cJSON_Delete(r);
}

static void check_rollback(audit_ctx_t *a)
{
    ward_sim_device_t *d = &a->dev;
    ward_boot_config_t cfg;
    ward_boot_ctx_t ctx;
    ward_boot_report_t br;
    memset(&br, 0, sizeof br);
    ward_sim_device_boot_config(d, &cfg);
    ward_image_info_t info;
    const uint32_t max = ward_boot_image_max(&d->layout);
    ward_err_t perr = ward_image_parse(&info, ward_image_read_area, &d->layout.primary, max);
    if (ward_boot_init(&ctx, &cfg) != WARD_OK) {
        audit_set(a, WARD_AUDIT_C_ROLLBACK, WARD_AUDIT_FAIL, "the boot does not start");
        return;
    }
    (void)ward_boot_go(&ctx, &br);
    uint32_t otp = 0;
    (void)ward_otp_rollback_get(&d->otp.port, &otp);
    if (perr != WARD_OK) {
        audit_set(a, WARD_AUDIT_C_ROLLBACK, WARD_AUDIT_FAIL, "no image in the primary slot (%s)",
                  ward_err_name(perr));
    } else if (!info.has_sec_cnt) {
        audit_set(a, WARD_AUDIT_C_ROLLBACK, WARD_AUDIT_FAIL,
                  "the image has no SEC_CNT TLV: the OTP counter never rises, an older signed "
                  "image written to the primary slot would run (sign with -s)");
    } else if (!WARD_CONFIG_BOOT_DOWNGRADE_PREVENTION) {
        audit_set(a, WARD_AUDIT_C_ROLLBACK, WARD_AUDIT_FAIL,
                  "built without WARD_CONFIG_BOOT_DOWNGRADE_PREVENTION");
    } else if (info.sec_cnt < otp) {
        audit_set(a, WARD_AUDIT_C_ROLLBACK, WARD_AUDIT_FAIL,
                  "image SEC_CNT %u below the OTP counter %u: it does not boot",
                  (unsigned)info.sec_cnt, (unsigned)otp);
    } else {
        audit_set(a, WARD_AUDIT_C_ROLLBACK, WARD_AUDIT_PASS,
                  "image %u.%u.%u SEC_CNT %u; OTP ROLLBACK counter %u of %u bits (raised at "
                  "confirm); older versions refused at install (downgrade prevention on)",
                  info.version.major, info.version.minor, info.version.revision,
                  (unsigned)info.sec_cnt, (unsigned)otp, (unsigned)WARD_CONFIG_OTP_ROLLBACK_BITS);
    }
}

static void check_staging(audit_ctx_t *a)
{
    const ward_boot_layout_t *l = &a->dev.layout;
    const uint32_t ss = a->dev.geo.sector_size;
    if (l->secondary.size < l->primary.size) {
        audit_set(a, WARD_AUDIT_C_STAGING, WARD_AUDIT_FAIL,
                  "the staging slot (%u bytes) is smaller than the primary (%u)",
                  (unsigned)l->secondary.size, (unsigned)l->primary.size);
    } else if (l->scratch.size < ss || l->state.size < 2u * ss) {
        audit_set(a, WARD_AUDIT_C_STAGING, WARD_AUDIT_FAIL,
                  "no scratch sector or no 2-sector journal: swaps are not power-safe");
    } else {
        audit_set(a, WARD_AUDIT_C_STAGING, WARD_AUDIT_PASS,
                  "flash layout (device.conf): primary 0x%x+%u KiB, staging 0x%x+%u KiB, "
                  "scratch %u KiB, journal %u sectors; the running image is replaced only by a "
                  "verified swap with trial boot and revert",
                  (unsigned)l->primary.off, (unsigned)(l->primary.size / 1024u),
                  (unsigned)l->secondary.off, (unsigned)(l->secondary.size / 1024u),
                  (unsigned)(l->scratch.size / 1024u), (unsigned)(l->state.size / ss));
    }
}

static void check_ota_distinct(audit_ctx_t *a)
{
    const ward_sim_device_t *d = &a->dev;
    if (ward_ct_all(a->otp_ota_hash, 0, 32)) {
        audit_set(a, WARD_AUDIT_C_OTA_KEY_DISTINCT, WARD_AUDIT_FAIL,
                  "OTP OTA_KEY_HASH is blank: no OTA key, updates cannot be authenticated");
    } else if (ward_ct_equal(a->otp_ota_hash, a->otp_boot_hash, 32)) {
        audit_set(a, WARD_AUDIT_C_OTA_KEY_DISTINCT, WARD_AUDIT_FAIL,
                  "OTP OTA_KEY_HASH = BOOT_KEY_HASH: the OTA key is the boot key (one leak "
                  "breaks both)");
    } else if (d->has_ota_spki && d->has_boot_spki &&
               memcmp(d->ota_spki, d->boot_spki, sizeof d->ota_spki) == 0) {
        audit_set(a, WARD_AUDIT_C_OTA_KEY_DISTINCT, WARD_AUDIT_FAIL,
                  "otakey.der is the bootloader's key (bootkey.der)");
    } else {
        char hb[17], ho[17];
        audit_hex(hb, a->otp_boot_hash, 8);
        audit_hex(ho, a->otp_ota_hash, 8);
        audit_set(a, WARD_AUDIT_C_OTA_KEY_DISTINCT, WARD_AUDIT_PASS,
                  "OTP BOOT_KEY_HASH %s... != OTA_KEY_HASH %s...; otakey.der in read-only flash",
                  hb, ho);
    }
}

static void check_pinned_ca(audit_ctx_t *a)
{
    char path[PATH_MAX];
    uint8_t *dev = NULL, *fac = NULL;
    size_t dl = 0, fl = 0;
    if (!audit_path(path, sizeof path, "%s/ca.pem", a->copy) ||
        ward_factory_cert_read(path, &dev, &dl) != WARD_OK) {
        audit_set(a, WARD_AUDIT_C_PINNED_CA, WARD_AUDIT_FAIL,
                  "no ca.pem: the unit pins no CA for the broker and the update server");
        return;
    }
    mbedtls_x509_crt c;
    mbedtls_x509_crt_init(&c);
    const bool parsed = mbedtls_x509_crt_parse_der(&c, dev, dl) == 0;
    const bool is_ca = parsed && mbedtls_x509_crt_get_ca_istrue(&c) == 1;
    mbedtls_x509_crt_free(&c);
    if (!is_ca) {
        audit_set(a, WARD_AUDIT_C_PINNED_CA, WARD_AUDIT_FAIL, "ca.pem is not a CA certificate");
    } else if (a->have_factory) {
        if (!audit_path(path, sizeof path, "%s/ca/ca.pem", a->o->factory) ||
            ward_factory_cert_read(path, &fac, &fl) != WARD_OK) {
            audit_set(a, WARD_AUDIT_C_PINNED_CA, WARD_AUDIT_FAIL, "the factory has no ca/ca.pem");
        } else if (fl != dl || memcmp(fac, dev, dl) != 0) {
            audit_set(a, WARD_AUDIT_C_PINNED_CA, WARD_AUDIT_FAIL,
                      "ca.pem is not the factory's CA: the unit trusts another root");
        } else {
            audit_set(a, WARD_AUDIT_C_PINNED_CA, WARD_AUDIT_PASS,
                      "ca.pem = FACTORY/ca/ca.pem: the broker and the update server are "
                      "checked against the factory CA (TLS 1.3, host name checked)");
        }
    } else {
        audit_set(a, WARD_AUDIT_C_PINNED_CA, WARD_AUDIT_PASS,
                  "ca.pem: a CA certificate the unit pins (not compared to a factory: no --fleet)");
    }
    free(dev);
    free(fac);
}

static void check_label(audit_ctx_t *a)
{
    char path[PATH_MAX];
    uint8_t *text = NULL;
    size_t len = 0;
    const ward_hsm_t *hsm = &a->dev.hsm.port;
    if (!audit_path(path, sizeof path, "%s/label.txt", a->copy) ||
        audit_read_file(path, &text, &len) != WARD_OK) {
        if (!a->have_pair_pub && a->have_profile && !a->prof->ble_enabled) {
            audit_set(a, WARD_AUDIT_C_LABEL, WARD_AUDIT_PASS,
                      "no BLE in the image (profile ble.enabled: false): no pairing secret");
        } else if (!a->have_pair_pub) {
            audit_set(a, WARD_AUDIT_C_LABEL, WARD_AUDIT_FAIL,
                      "no label.txt and no pairing key in the HSM: the unit can only pair Just "
                      "Works (no per-unit pairing secret)");
        } else {
            audit_set(a, WARD_AUDIT_C_LABEL, WARD_AUDIT_FAIL,
                      "no label.txt: the unit's pairing secret is not printed for its owner");
        }
        return;
    }
    ward_label_t l, mine;
    text[strcspn((char *)text, "\r\n")] = '\0';
    ward_err_t err = ward_label_parse(&l, (const char *)text);
    free(text);
    if (err != WARD_OK) {
        audit_set(a, WARD_AUDIT_C_LABEL, WARD_AUDIT_FAIL, "label.txt does not parse (%s)",
                  ward_err_name(err));
        return;
    }
    err = ward_label_from_hsm(&mine, hsm, &l.addr);
    uint8_t p1[WARD_LABEL_BIN_LEN], p2[WARD_LABEL_BIN_LEN];
    ward_label_pack(p1, &l);
    if (err == WARD_OK) {
        ward_label_pack(p2, &mine);
    }
    if (err != WARD_OK) {
        audit_set(a, WARD_AUDIT_C_LABEL, WARD_AUDIT_FAIL,
                  "label.txt names a pairing key the HSM does not hold (%s)", ward_err_name(err));
    } else if (!ward_ct_equal(p1, p2, sizeof p1)) {
        audit_set(a, WARD_AUDIT_C_LABEL, WARD_AUDIT_FAIL,
                  "label.txt is not this unit's: its r and commitment are not the HSM's pairing "
                  "key (a copied label)");
    } else {
        audit_set(a, WARD_AUDIT_C_LABEL, WARD_AUDIT_PASS,
                  "label.txt: r and C = f4(PKx, PKx, r, 0) of the pairing key inside this unit's "
                  "HSM (LE SC OOB; no default secret)");
    }
    ward_wipe(p1, sizeof p1);
    ward_wipe(p2, sizeof p2);
    ward_wipe(&l, sizeof l);
    ward_wipe(&mine, sizeof mine);
}

/* ---- secrets ------------------------------------------------------------------------------- */

typedef struct secret {
    const char *what;
    uint8_t v[64];
    size_t n;
} secret_t;

/* buf holds s raw (either byte order) or as hex (either case)? */
static bool holds(const uint8_t *buf, size_t len, const uint8_t *s, size_t n)
{
    uint8_t rev[64];
    char lo[129], up[129];
    if (n == 0u || n > 64u || len < n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        rev[i] = s[n - 1u - i];
    }
    audit_hex(lo, s, n);
    for (size_t i = 0; i <= 2u * n; i++) {
        up[i] = (char)(lo[i] >= 'a' && lo[i] <= 'f' ? lo[i] - 32 : lo[i]);
    }
    bool found = false;
    for (size_t i = 0; !found && i + n <= len; i++) {
        found = (buf[i] == s[0] && memcmp(buf + i, s, n) == 0) ||
                (n >= 16u && buf[i] == rev[0] && memcmp(buf + i, rev, n) == 0);
    }
    for (size_t i = 0; !found && i + 2u * n <= len; i++) {
        found = memcmp(buf + i, lo, 2u * n) == 0 || memcmp(buf + i, up, 2u * n) == 0;
    }
    ward_wipe(rev, sizeof rev);
    ward_wipe(lo, sizeof lo);
    ward_wipe(up, sizeof up);
    return found;
}

typedef struct {
    const secret_t *s;
    size_t count;
    bool skip_label;
    char *out;
    size_t cap;
} scan_ctx_t;

/* The secure element's own storage, and only it (as the end-of-line test:
 * tools/factory/eol.c); any other file is the unit's. The label holds r on
 * purpose (skip_label). */
static bool not_the_units(void *ctx, const char *name)
{
    const scan_ctx_t *c = ctx;
    return strcmp(name, "hsm.bin") == 0 || strcmp(name, "hsm.bin.pair") == 0 ||
           (c->skip_label && strncmp(name, "label.", 6) == 0);
}

static bool scan_one(void *ctx, const char *rel, const uint8_t *data, size_t len)
{
    const scan_ctx_t *c = ctx;
    for (size_t i = 0; i < c->count; i++) {
        if (holds(data, len, c->s[i].v, c->s[i].n)) {
            snprintf(c->out, c->cap, "%.100s holds %.60s", rel, c->s[i].what);
            return false;
        }
    }
    return true;
}

/* Look for each secret in every regular file of the copy, its subfolders
 * too, but the HSM's own storage; out gets the first hit. Returns the
 * number of files scanned. */
static unsigned scan_files(audit_ctx_t *a, const secret_t *s, size_t count, bool skip_label,
                           char *out, size_t cap)
{
    scan_ctx_t c = {s, count, skip_label, out, cap};
    char bad[256];
    unsigned scanned = 0;
    out[0] = '\0';
    if (ward_host_scan_files(a->copy, 4u, 64u << 20, not_the_units, scan_one, &c, &scanned, bad,
                             sizeof bad) != WARD_OK) {
        snprintf(out, cap, "cannot list the unit's files");
    }
    return scanned;
}

static void check_secrets_hsm(audit_ctx_t *a)
{
    const ward_sim_hsm_t *h = &a->dev.hsm;
    secret_t s[5];
    size_t n = 0;
    memset(s, 0, sizeof s);
    if (h->has_huk) {
        s[n] = (secret_t){"the HUK", {0}, 32};
        memcpy(s[n++].v, h->huk, 32);
    }
    if (h->has_id) {
        s[n] = (secret_t){"the identity private key", {0}, 32};
        memcpy(s[n++].v, h->id_priv, 32);
    }
    if (h->has_next) {
        s[n] = (secret_t){"the next identity private key", {0}, 32};
        memcpy(s[n++].v, h->next_priv, 32);
    }
    if (h->has_pair) {
        s[n] = (secret_t){"the BLE pairing private key", {0}, 32};
        memcpy(s[n++].v, h->pair_priv, 32);
    }
    char hit[200], hit_r[200];
    unsigned files = scan_files(a, s, n, false, hit, sizeof hit);
    /* r is on the label on purpose; anywhere else it is a leak. */
    secret_t r = {"the label's pairing value r", {0}, 16};
    if (h->has_pair) {
        memcpy(r.v, h->pair_r, 16);
    }
    (void)scan_files(a, &r, h->has_pair ? 1u : 0u, true, hit_r, sizeof hit_r);
    ward_wipe(s, sizeof s);
    ward_wipe(&r, sizeof r);
    if (hit[0] != '\0' || hit_r[0] != '\0') {
        audit_set(a, WARD_AUDIT_C_SECRETS_HSM, WARD_AUDIT_FAIL, "%s in the clear",
                  hit[0] != '\0' ? hit : hit_r);
    } else {
        audit_set(a, WARD_AUDIT_C_SECRETS_HSM, WARD_AUDIT_PASS,
                  "%zu HSM secrets (HUK, identity%s key%s) and the label's r looked for, raw in "
                  "both byte orders and as hex: in none of %u files (flash.bin, otp.bin, "
                  "certificates, records; hsm.bin is the secure element's own storage)",
                  n, h->has_next ? ", next identity" : "", h->has_pair ? ", pairing" : "",
                  files);
    }
}

static void check_vault(audit_ctx_t *a)
{
    ward_sim_device_t *d = &a->dev;
    ward_vault_t *v = malloc(sizeof *v);
    ward_vault_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.area = d->vault;
    cfg.hsm = &d->hsm.port;
    cfg.counter = 0;
    cfg.aead = WARD_VAULT_AEAD_AES256_GCM;
    if (v == NULL) {
        audit_set(a, WARD_AUDIT_C_VAULT, WARD_AUDIT_FAIL, "out of memory");
        audit_set(a, WARD_AUDIT_C_SECRETS_VAULT, WARD_AUDIT_FAIL, "out of memory");
        return;
    }
    ward_err_t err = d->hsm.has_huk ? ward_vault_mount(v, &cfg) : WARD_ERR_STATE;
    if (err == WARD_ERR_VAULT_UNFORMATTED) {
        audit_set(a, WARD_AUDIT_C_VAULT, WARD_AUDIT_PASS,
                  "no vault yet (nothing stored; the HSM counter is at 0): the first credential "
                  "creates it under a key the HSM derives from its HUK");
        audit_set(a, WARD_AUDIT_C_SECRETS_VAULT, WARD_AUDIT_PASS,
                  "no vault records to look for");
        free(v);
        return;
    }
    if (err != WARD_OK) {
        audit_set(a, WARD_AUDIT_C_VAULT, WARD_AUDIT_FAIL,
                  "the vault does not mount with this unit's HSM key: %s (%s)", ward_err_str(err),
                  ward_err_name(err));
        audit_set(a, WARD_AUDIT_C_SECRETS_VAULT, WARD_AUDIT_UNCHECKED,
                  "the vault's records cannot be read");
        free(v);
        return;
    }
    /* Every record's plaintext (8 bytes or more; bonds also their LTK and
     * IRK) must appear nowhere in the clear. Certificates are public. */
    secret_t *s = calloc(3u * WARD_CONFIG_VAULT_MAX_RECORDS, sizeof *s);
    char(*names)[WARD_CONFIG_VAULT_NAME_MAX + 1] =
        calloc(WARD_CONFIG_VAULT_MAX_RECORDS, sizeof *names);
    char list[200] = "";
    size_t n = 0, records = 0, looked = 0;
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char name[WARD_CONFIG_VAULT_NAME_MAX + 1];
    size_t vlen = 0;
    uint8_t *val = malloc(WARD_CONFIG_VAULT_VALUE_MAX);
    ward_vault_stats_t st;
    const bool stats = ward_vault_stats(v, &st) == WARD_OK;
    while (s != NULL && val != NULL && names != NULL && records < WARD_CONFIG_VAULT_MAX_RECORDS) {
        ward_err_t e = ward_vault_next(v, &it, name, &vlen);
        if (e == WARD_ERR_NOT_FOUND) {
            break;
        }
        if (e != WARD_OK) {
            continue;
        }
        snprintf(names[records], sizeof names[records], "%s", name);
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", l > 0u ? ", " : "", name);
        records++;
        size_t got = 0;
        if (strncmp(name, "cloud/cert", 10) == 0 ||
            ward_vault_get(v, val, WARD_CONFIG_VAULT_VALUE_MAX, &got, name) != WARD_OK) {
            continue;
        }
        if (got >= 8u) {
            s[n].what = names[records - 1u];
            s[n].n = got < 64u ? got : 64u;
            memcpy(s[n].v, val, s[n].n);
            n++;
            looked++;
        }
        if (strncmp(name, "ble.bond.", 9) == 0 && got == 43u) {
            s[n].what = names[records - 1u];
            s[n].n = 16;
            memcpy(s[n].v, val + 11, 16);
            n++;
            if (!ward_ct_all(val + 27, 0, 16)) {
                s[n].what = names[records - 1u];
                s[n].n = 16;
                memcpy(s[n].v, val + 27, 16);
                n++;
            }
        }
        ward_wipe(val, got);
    }
    ward_vault_unmount(v);
    free(v);
    free(val);
    if (s == NULL || names == NULL) {
        free(s);
        free(names);
        audit_set(a, WARD_AUDIT_C_VAULT, WARD_AUDIT_FAIL, "out of memory");
        audit_set(a, WARD_AUDIT_C_SECRETS_VAULT, WARD_AUDIT_FAIL, "out of memory");
        return;
    }
    audit_set(a, WARD_AUDIT_C_VAULT, WARD_AUDIT_PASS,
              "mounted with this unit's HSM-derived key (AEAD %s, version %u): %zu record%s%s%s",
              stats && st.aead == WARD_VAULT_AEAD_CHACHA20_POLY1305 ? "ChaCha20-Poly1305"
                                                                   : "AES-256-GCM",
              stats ? (unsigned)st.version : 0u, records, records == 1u ? "" : "s",
              records > 0u ? ": " : "", list);
    char hit[200];
    unsigned files = scan_files(a, s, n, false, hit, sizeof hit);
    for (size_t i = 0; i < n; i++) {
        ward_wipe(s[i].v, sizeof s[i].v);
    }
    free(s);
    free(names);
    if (hit[0] != '\0') {
        audit_set(a, WARD_AUDIT_C_SECRETS_VAULT, WARD_AUDIT_FAIL,
                  "%s: a vault record's value in the clear", hit);
    } else {
        audit_set(a, WARD_AUDIT_C_SECRETS_VAULT, WARD_AUDIT_PASS,
                  "the plaintext of %zu vault record%s (and bonds' LTK/IRK) in none of %u files",
                  looked, looked == 1u ? "" : "s", files);
    }
}

/* Credential-shaped text at p: a keyword, an optional quote, '=' or ':',
 * an optional quote, then 6 or more printable characters. *end: where the
 * match ends. */
static bool cred_at(const uint8_t *p, size_t left, const char **kw, size_t *end)
{
    static const char *const k_kw[] = {"password", "passwd", "passphrase", "wifi_key", "wpa_key",
                                       "psk", "pwd", "secret", "token", "api_key", "apikey",
                                       "private_key", NULL};
    for (size_t k = 0; k_kw[k] != NULL; k++) {
        size_t n = strlen(k_kw[k]), i = 0;
        if (left < n + 7u) {
            continue;
        }
        for (i = 0; i < n; i++) {
            char c = (char)p[i];
            c = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            if (c != k_kw[k][i]) {
                break;
            }
        }
        if (i != n) {
            continue;
        }
        if (i < left && (p[i] == '"' || p[i] == '\'')) {
            i++;
        }
        while (i < left && p[i] == ' ') {
            i++;
        }
        if (i >= left || (p[i] != '=' && p[i] != ':')) {
            continue;
        }
        i++;
        while (i < left && (p[i] == ' ' || p[i] == '"' || p[i] == '\'')) {
            i++;
        }
        size_t v = 0;
        while (i + v < left && p[i + v] > 0x20 && p[i + v] < 0x7f && p[i + v] != '"') {
            v++;
        }
        if (v >= 6u) {
            *kw = k_kw[k];
            *end = i + v;
            return true;
        }
    }
    return false;
}

static uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Is [at, end) a vault record's name (a record header at p, its CRC
 * checking, the name at p + 24) running into the record's ciphertext? */
static bool record_name(const uint8_t *mem, size_t lo, size_t hi, size_t at, size_t end)
{
    for (size_t back = 24u; back <= 24u + 31u && back <= at - lo; back++) {
        const size_t p = at - back;
        const size_t n = mem[p + 1u];
        if (p + 12u > hi || mem[p] != 'R' || n == 0u || p + 24u + n > hi ||
            at >= p + 24u + n || end <= p + 24u + n ||
            ward_crc32(0, mem + p, 8) != le32_at(mem + p + 8u)) {
            continue;
        }
        return true;
    }
    return false;
}

long ward_audit_find_plaintext(const uint8_t *mem, size_t size, size_t from, uint32_t vault_off,
                               uint32_t vault_size, const char **what, bool *in_vault)
{
    static const char k_pem[] = "PRIVATE KEY-----";
    const size_t vlo = vault_off, vhi = (size_t)vault_off + vault_size;
    for (size_t i = from; i < size; i++) {
        const bool vault = i >= vlo && i < vhi;
        const bool at_word = i == 0u || !((mem[i - 1u] >= 'a' && mem[i - 1u] <= 'z') ||
                                          (mem[i - 1u] >= 'A' && mem[i - 1u] <= 'Z'));
        const char *kw = NULL;
        size_t end = 0;
        if (at_word && cred_at(mem + i, size - i, &kw, &end) &&
            !(vault && record_name(mem, vlo, vhi < size ? vhi : size, i, i + end))) {
            *what = kw;
            *in_vault = vault;
            return (long)i;
        }
        if (size - i >= sizeof k_pem - 1u && mem[i] == 'P' &&
            memcmp(mem + i, k_pem, sizeof k_pem - 1u) == 0) {
            *what = "PEM private key";
            *in_vault = vault;
            return (long)i;
        }
    }
    return -1;
}

static void check_patterns(audit_ctx_t *a)
{
    ward_sim_device_t *d = &a->dev;
    const uint8_t *mem = ward_sim_flash_mem(&d->flash);
    const uint32_t size = d->flash.port.size;
    const char *what = NULL;
    bool in_vault = false;
    const long at = ward_audit_find_plaintext(mem, size, 0, d->vault.off, d->vault.size, &what,
                                              &in_vault);
    if (at >= 0) {
        const uint32_t i = (uint32_t)at;
        const char *region =
            in_vault ? "the vault area, in no record: not encrypted"
            : i >= d->layout.primary.off && i < d->layout.primary.off + d->layout.primary.size
                ? "primary slot"
            : i >= d->layout.secondary.off && i < d->layout.secondary.off + d->layout.secondary.size
                ? "staging slot"
                : "outside the slots";
        if (strcmp(what, "PEM private key") == 0) {
            audit_set(a, WARD_AUDIT_C_SECRETS_PATTERNS, WARD_AUDIT_FAIL,
                      "flash.bin offset 0x%x (%s): a PEM private key in plain text", (unsigned)i,
                      region);
        } else {
            audit_set(a, WARD_AUDIT_C_SECRETS_PATTERNS, WARD_AUDIT_FAIL,
                      "flash.bin offset 0x%x (%s): \"%s=...\" in plain text%s", (unsigned)i,
                      region, what, in_vault ? " in the vault area" : ", outside the vault");
        }
        return;
    }
    audit_set(a, WARD_AUDIT_C_SECRETS_PATTERNS, WARD_AUDIT_PASS,
              "all %u KiB of flash scanned, the vault area (0x%x..0x%x) too (its record names "
              "are plain text): no password=, psk=, token=, secret=, api_key= ... assignment, "
              "no PEM private key",
              (unsigned)(size / 1024u), (unsigned)d->vault.off,
              (unsigned)(d->vault.off + d->vault.size));
}

/* ---- items ----------------------------------------------------------------------------------- */

static void verdicts(ward_audit_report_t *rep)
{
    const size_t count = ward_audit_item_count();
    rep->n_items = count < WARD_AUDIT_MAX_ITEMS ? count : WARD_AUDIT_MAX_ITEMS;
    rep->n_pass = rep->n_fail = rep->n_na = rep->n_unchecked = 0;
    for (size_t i = 0; i < rep->n_items; i++) {
        const ward_audit_item_t *it = ward_audit_item(i);
        ward_audit_status_t s = WARD_AUDIT_UNCHECKED;
        if (it->na_reason != NULL) {
            s = WARD_AUDIT_NA;
        } else {
            bool fail = false, pass = false;
            for (size_t c = 0; c < it->n_checks; c++) {
                const ward_audit_status_t cs = rep->checks[it->checks[c]].status;
                fail = fail || cs == WARD_AUDIT_FAIL;
                pass = pass || cs == WARD_AUDIT_PASS;
            }
            s = fail ? WARD_AUDIT_FAIL : pass ? WARD_AUDIT_PASS : WARD_AUDIT_UNCHECKED;
        }
        rep->items[i] = s;
        rep->n_pass += s == WARD_AUDIT_PASS;
        rep->n_fail += s == WARD_AUDIT_FAIL;
        rep->n_na += s == WARD_AUDIT_NA;
        rep->n_unchecked += s == WARD_AUDIT_UNCHECKED;
    }
    rep->passed = rep->n_fail == 0u;
}

/* ---- the run ---------------------------------------------------------------------------------- */

static ward_err_t open_factory(audit_ctx_t *a)
{
    char b[PATH_MAX], o[PATH_MAX];
    ward_err_t err = ward_factory_conf_read(a->o->factory, &a->fconf);
    if (err != WARD_OK) {
        return err;
    }
    a->have_factory = true;
    if (audit_path(b, sizeof b, "%s/keys/boot-key.pub", a->o->factory) &&
        audit_path(o, sizeof o, "%s/keys/ota-key.pub", a->o->factory) &&
        ward_sign_key_load(b, NULL, a->f_boot_spki, NULL) == WARD_OK &&
        ward_sign_key_load(o, NULL, a->f_ota_spki, NULL) == WARD_OK) {
        a->have_f_keys = true;
    }
    return WARD_OK;
}

static void read_unit(audit_ctx_t *a)
{
    const ward_otp_t *otp = &a->dev.otp.port;
    const ward_hsm_t *hsm = &a->dev.hsm.port;
    char path[PATH_MAX];
    (void)ward_otp_flag_get(otp, WARD_OTP_SECURE_BOOT, &a->otp_secure_boot);
    (void)ward_otp_flag_get(otp, WARD_OTP_DEBUG_LOCK, &a->otp_debug_lock);
    (void)otp->read(otp->ctx, WARD_OTP_BOOT_KEY_HASH, a->otp_boot_hash, 32);
    (void)otp->read(otp->ctx, WARD_OTP_OTA_KEY_HASH, a->otp_ota_hash, 32);
    a->have_id_pub = hsm->id_public(hsm->ctx, a->id_pub) == WARD_OK;
    a->have_pair_pub = hsm->pair_public != NULL && hsm->pair_public(hsm->ctx, a->pair_pub) == WARD_OK;
    mbedtls_x509_crt_init(&a->cert);
    uint8_t *der = NULL;
    size_t len = 0;
    if (audit_path(path, sizeof path, "%s/cert.pem", a->copy) &&
        ward_factory_cert_read(path, &der, &len) == WARD_OK) {
        a->have_cert = mbedtls_x509_crt_parse_der(&a->cert, der, len) == 0;
        (void)ward_sha256(a->cert_sha, der, len);
        free(der);
    }
    a->prof = calloc(1, sizeof *a->prof);
    if (a->prof != NULL && audit_path(path, sizeof path, "%s/%s", a->copy, WARD_PROFILE_FILE)) {
        a->have_profile =
            ward_profile_load(path, a->prof, a->profile_why, sizeof a->profile_why) == WARD_OK;
    }
}

ward_err_t ward_audit_run(const ward_audit_opts_t *o, ward_audit_report_t *rep)
{
    if (o == NULL || rep == NULL || o->device == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    audit_ctx_t *a = calloc(1, sizeof *a);
    if (a == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    memset(rep, 0, sizeof *rep);
    a->o = o;
    a->rep = rep;
    a->now = o->now != 0 ? o->now : (int64_t)time(NULL);
    rep->time = a->now;
    snprintf(rep->device, sizeof rep->device, "%s", o->device);
    snprintf(rep->factory, sizeof rep->factory, "%s", o->factory != NULL ? o->factory : "");
    for (int c = 0; c < WARD_AUDIT_C_COUNT; c++) {
        audit_set(a, (ward_audit_check_t)c, WARD_AUDIT_UNCHECKED, "not run");
    }
    ward_err_t err = o->factory != NULL ? open_factory(a) : WARD_OK;
    if (err == WARD_OK) {
        err = make_copy(a);
    }
    if (err == WARD_OK) {
        err = ward_factory_eol(a->copy, a->have_f_keys ? o->factory : NULL, a->now, &a->eol);
    }
    if (err == WARD_OK) {
        err = ward_sim_device_open(&a->dev, a->copy);
        a->dev_open = err == WARD_OK;
    }
    if (err == WARD_OK) {
        snprintf(rep->device_id, sizeof rep->device_id, "%s", a->eol.device_id);
        read_unit(a);
        eol_checks(a);
        check_record(a);
        check_rollback(a);
        check_staging(a);
        check_ota_distinct(a);
        check_pinned_ca(a);
        check_label(a);
        check_secrets_hsm(a);
        check_vault(a);
        check_patterns(a);
        audit_profile(a);
        audit_fleet(a);
        verdicts(rep);
    }
    if (a->dev_open) {
        ward_sim_device_close(&a->dev);
    }
    mbedtls_x509_crt_free(&a->cert);
    free(a->prof);
    remove_copy(a);
    ward_wipe(a, sizeof *a);
    free(a);
    return err;
}
