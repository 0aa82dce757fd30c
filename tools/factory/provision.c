/*
 * ward_factory: `ward factory provision` (docs/factory.md): one simulated
 * unit made as a production station would make it.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "factory_priv.h"
#include "ward/ble_addr.h"
#include "ward/boot.h"
#include "ward/crypto.h"
#include "ward/image.h"
#include "ward/sim.h"
#include "ward/util.h"
#include "ward_label.h"
#include "ward_profile.h"

#define CLASS_MAX 32u

static bool class_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0u || n > CLASS_MAX || s[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return false;
        }
    }
    return true;
}

static ward_err_t burn_locked(const ward_otp_t *otp, ward_otp_field_t f, const uint8_t *v,
                              size_t n)
{
    ward_err_t err = otp->burn(otp->ctx, f, v, n);
    return err == WARD_OK ? otp->lock(otp->ctx, f) : err;
}

static ward_err_t write_pem_file(const char *dir, const char *name, const char *label,
                                 const uint8_t *der, size_t len)
{
    char path[PATH_MAX], pem[WARD_FACTORY_PEM_MAX];
    size_t pem_len = 0;
    ward_err_t err = ward_factory_pem(label, der, len, pem, sizeof pem, &pem_len);
    if (err != WARD_OK || !ward_factory_path(path, sizeof path, "%s/%s", dir, name)) {
        return err != WARD_OK ? err : WARD_ERR_INVALID_ARG;
    }
    return ward_factory_write_file(path, pem, pem_len, 0644, true);
}

/* A random static identity address (top bits 11, the rest neither all
 * zeros nor all ones). */
static ward_err_t random_static_addr(ward_ble_addr_t *a)
{
    a->type = WARD_BLE_ADDR_RANDOM;
    for (int i = 0; i < 16; i++) {
        if (psa_generate_random(a->a, sizeof a->a) != PSA_SUCCESS) {
            return WARD_ERR_CRYPTO;
        }
        a->a[5] |= 0xC0u;
        if (ward_ble_addr_is_identity(a)) {
            return WARD_OK;
        }
    }
    return WARD_ERR_CRYPTO;
}

/*
 * The BLE label step: the HSM makes the pairing key and r (per device;
 * there is no shared or default secret), the label carries r and the
 * commitment C with the unit's identity address: DEVICE/label.txt (the
 * text printed on the unit), label.svg (its QR code), ble-address.
 */
static ward_err_t label_step(const char *dir, const ward_hsm_t *hsm, char addr_text[18],
                             bool *done)
{
    ward_label_t l;
    ward_ble_addr_t addr;
    char text[WARD_LABEL_TEXT_LEN + 1], path[PATH_MAX], line[64];
    *done = false;
    addr_text[0] = '\0';
    if (hsm->pair_generate == NULL || hsm->pair_public == NULL || hsm->pair_random == NULL) {
        return WARD_OK; /* an HSM without a pairing key: the unit has no OOB label */
    }
    ward_err_t err = random_static_addr(&addr);
    if (err == WARD_OK) {
        err = hsm->pair_generate(hsm->ctx);
    }
    if (err == WARD_OK) {
        err = ward_label_from_hsm(&l, hsm, &addr);
    }
    if (err != WARD_OK) {
        return err;
    }
    ward_label_encode(text, &l);
    snprintf(addr_text, 18, "%02X:%02X:%02X:%02X:%02X:%02X", addr.a[5], addr.a[4], addr.a[3],
             addr.a[2], addr.a[1], addr.a[0]);
    int n = snprintf(line, sizeof line, "%s random\n", addr_text);
    char lt[WARD_LABEL_TEXT_LEN + 2];
    snprintf(lt, sizeof lt, "%s\n", text);
    if (!ward_factory_path(path, sizeof path, "%s/label.txt", dir) ||
        (err = ward_factory_write_file(path, lt, strlen(lt), 0600, true)) != WARD_OK) {
        return err != WARD_OK ? err : WARD_ERR_INVALID_ARG;
    }
    if (!ward_factory_path(path, sizeof path, "%s/ble-address", dir) ||
        (err = ward_factory_write_file(path, line, (size_t)n, 0644, true)) != WARD_OK) {
        return err != WARD_OK ? err : WARD_ERR_INVALID_ARG;
    }
    if (!ward_factory_path(path, sizeof path, "%s/label.svg", dir)) {
        return WARD_ERR_INVALID_ARG;
    }
    FILE *f = fopen(path, "wx");
    if (f == NULL) {
        return WARD_ERR_IO;
    }
    err = ward_label_qr_svg(f, text, true);
    if (fclose(f) != 0 && err == WARD_OK) {
        err = WARD_ERR_IO;
    }
    *done = err == WARD_OK;
    return err;
}

static void json_hex(FILE *f, const char *key, const uint8_t *p, size_t n, bool comma)
{
    fprintf(f, "  \"%s\": \"", key);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%02x", p[i]);
    }
    fprintf(f, "\"%s\n", comma ? "," : "");
}

static ward_err_t write_record(const ward_factory_provision_opts_t *o, const char *cls,
                               const ward_factory_provision_result_t *r, const uint8_t boot_hash[32],
                               const uint8_t ota_hash[32], const uint8_t otp_id[16],
                               const ward_image_info_t *img, const uint8_t cert_hash[32],
                               const char *ble_addr, const uint8_t *pair_pub, int64_t now)
{
    char path[PATH_MAX], nb[21], na[21], at[21];
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    ward_factory_iso8601(r->not_before, nb);
    ward_factory_iso8601(r->not_after, na);
    ward_factory_iso8601(now, at);
    /* Only public facts: no key, no label secret. */
    fprintf(f, "{\n  \"format\": 1,\n  \"device_id\": \"%s\",\n  \"device_class\": \"%s\",\n",
            o->device_id, cls);
    fprintf(f, "  \"provisioned_at\": \"%s\",\n", at);
    json_hex(f, "serial", r->serial, sizeof r->serial, true);
    fprintf(f, "  \"not_before\": \"%s\",\n  \"not_after\": \"%s\",\n", nb, na);
    fprintf(f, "  \"validity_seconds\": %lld,\n", (long long)(r->not_after - r->not_before));
    json_hex(f, "certificate_sha256", cert_hash, 32, true);
    json_hex(f, "identity_public_key", r->identity_pub, sizeof r->identity_pub, true);
    json_hex(f, "boot_key_hash", boot_hash, 32, true);
    json_hex(f, "ota_key_hash", ota_hash, 32, true);
    json_hex(f, "otp_device_id", otp_id, 16, true);
    fprintf(f, "  \"secure_boot\": %s,\n  \"debug_lock\": %s,\n",
            o->skip_secure_boot ? "false" : "true", o->skip_debug_lock ? "false" : "true");
    fprintf(f, "  \"image_version\": \"%u.%u.%u+%lu\",\n", img->version.major, img->version.minor,
            img->version.revision, (unsigned long)img->version.build);
    if (pair_pub != NULL) {
        json_hex(f, "pairing_public_key", pair_pub, 65, true);
    } else {
        fprintf(f, "  \"pairing_public_key\": null,\n");
    }
    fprintf(f, "  \"ble_address\": %s%s%s,\n  \"label\": %s\n}\n", ble_addr[0] ? "\"" : "",
            ble_addr[0] ? ble_addr : "null", ble_addr[0] ? "\"" : "",
            r->label_done ? "\"label.txt\"" : "null");
    if (fclose(f) != 0 || buf == NULL) {
        free(buf);
        return WARD_ERR_NO_SPACE;
    }
    ward_err_t err = ward_factory_path(path, sizeof path, "%s/factory-record.json", o->out)
                         ? ward_factory_write_file(path, buf, len, 0644, true)
                         : WARD_ERR_INVALID_ARG;
    /* The factory's register of its units (FACTORY/units/<serial>.json):
     * the same public facts, kept where the line is, so that an audit can
     * tell two units that share an identity or a pairing key. */
    char serial[2u * WARD_FACTORY_SERIAL_LEN + 1u];
    ward_factory_hex(serial, r->serial, sizeof r->serial);
    if (err == WARD_OK && !ward_factory_path(path, sizeof path, "%s/units", o->factory)) {
        err = WARD_ERR_INVALID_ARG;
    }
    if (err == WARD_OK) {
        err = ward_factory_mkdir(path, 0755);
        err = err == WARD_ERR_EXISTS ? WARD_OK : err;
    }
    if (err == WARD_OK) {
        err = ward_factory_path(path, sizeof path, "%s/units/%s.json", o->factory, serial)
                  ? ward_factory_write_file(path, buf, len, 0644, true)
                  : WARD_ERR_INVALID_ARG;
    }
    free(buf);
    return err;
}

/* Checks that need nothing made: id, validity, keys, class, image. */
typedef struct prov {
    ward_factory_conf_t conf;
    const char *cls;
    uint8_t boot_spki[WARD_P256_SPKI_LEN], ota_spki[WARD_P256_SPKI_LEN];
    uint8_t boot_hash[32], ota_hash[32];
    uint8_t *image;
    size_t image_len;
    ward_image_info_t info;
    uint32_t validity;
} prov_t;

static ward_err_t precheck(const ward_factory_provision_opts_t *o, prov_t *p, char *why,
                           size_t why_len)
{
    char path[PATH_MAX];
    ward_err_t err = ward_factory_device_id_check(o->device_id);
    if (err != WARD_OK) {
        ward_factory_why(why, why_len,
                         "device id: 1-%u characters of A-Z a-z 0-9 . _ -, not starting with . "
                         "or - (never / + # or a control character)",
                         WARD_FACTORY_ID_MAX);
        return err;
    }
    p->validity = o->validity != 0u ? o->validity : WARD_FACTORY_CERT_MAX_VALIDITY;
    if (p->validity > WARD_FACTORY_CERT_MAX_VALIDITY) {
        ward_factory_why(why, why_len, "a device certificate is valid for at most 365 days");
        return WARD_ERR_CERT_VALIDITY;
    }
    err = ward_factory_conf_read(o->factory, &p->conf);
    if (err != WARD_OK) {
        ward_factory_why(why, why_len, "%s: %s", o->factory,
                         err == WARD_ERR_NOT_FOUND ? "no factory here (ward factory init)"
                                                   : "factory.conf unreadable");
        return err;
    }
    p->cls = o->device_class != NULL ? o->device_class : p->conf.device_class;
    if (!class_ok(p->cls)) {
        ward_factory_why(why, why_len, "device class: 1-32 of A-Z a-z 0-9 . _ -");
        return WARD_ERR_INVALID_ARG;
    }
    if (o->profile != NULL) {
        ward_profile_t *prof = malloc(sizeof *prof);
        char pwhy[200];
        err = prof == NULL ? WARD_ERR_NO_SPACE
                           : ward_profile_load(o->profile, prof, pwhy, sizeof pwhy);
        free(prof);
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "%s: not a device profile: %s", o->profile, pwhy);
            return err == WARD_ERR_NOT_FOUND ? WARD_ERR_IO : err;
        }
    }
    /* The line needs the public keys only: the boot and OTA private keys
     * stay offline. */
    for (int i = 0; i < 2; i++) {
        if (!ward_factory_path(path, sizeof path, "%s/keys/%s", o->factory,
                               i == 0 ? "boot-key.pub" : "ota-key.pub")) {
            return WARD_ERR_INVALID_ARG;
        }
        err = ward_sign_key_load(path, NULL, i == 0 ? p->boot_spki : p->ota_spki, NULL);
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "%s: not a P-256 public key", path);
            return err;
        }
    }
    if (memcmp(p->boot_spki, p->ota_spki, sizeof p->boot_spki) == 0) {
        ward_factory_why(why, why_len, "the factory's OTA key is its boot key: they must differ");
        return WARD_ERR_OTA_KEY;
    }
    (void)ward_sha256(p->boot_hash, p->boot_spki, sizeof p->boot_spki);
    (void)ward_sha256(p->ota_hash, p->ota_spki, sizeof p->ota_spki);

    /* The image: it must verify with the boot key, and fit the slot. */
    err = ward_factory_read_file(o->image, &p->image, &p->image_len);
    if (err != WARD_OK) {
        ward_factory_why(why, why_len, "%s: cannot read the image", o->image);
        return err == WARD_ERR_NOT_FOUND ? WARD_ERR_IO : err;
    }
    ward_sim_device_t mem;
    ward_sim_geometry_t g;
    ward_sim_geometry_default(&g);
    err = ward_sim_device_open_mem(&mem, &g);
    const uint32_t max = err == WARD_OK ? ward_boot_image_max(&mem.layout) : 0u;
    ward_sim_device_close(&mem);
    ward_image_mem_t m = {p->image, p->image_len};
    ward_err_t reason = WARD_OK;
    if (err == WARD_OK && p->image_len > max) {
        err = WARD_ERR_IMG_TOO_LARGE;
    }
    if (err == WARD_OK) {
        err = ward_image_parse(&p->info, ward_image_read_mem, &m, (uint32_t)p->image_len);
    }
    if (err == WARD_OK) {
        ward_image_trust_t t = {p->boot_hash, p->boot_spki, sizeof p->boot_spki, 0};
        const ward_fih_t v = ward_image_validate(&p->info, ward_image_read_mem, &m, &t, &reason);
        if (!WARD_FIH_EQ(v)) {
            err = reason != WARD_OK ? reason : WARD_ERR_IMG_SIG;
        }
    }
    if (err != WARD_OK) {
        ward_factory_why(why, why_len, "%s: the image does not verify with the factory's boot key "
                                       "or does not fit the slot (%s)",
                         o->image, ward_err_name(err));
    }
    return err;
}

/* A certificate of the id that still grants it access: not revoked, not
 * expired (ward_factory_issued_for's callback; ctx: now, then the verdict). */
typedef struct in_use {
    int64_t now;
    bool found;
    char serial[41];
} in_use_t;

static ward_err_t id_in_use(void *ctx, const uint8_t *der, size_t len, const uint8_t *serial,
                            size_t serial_len, int64_t not_before, int64_t not_after, bool revoked)
{
    in_use_t *u = ctx;
    (void)der;
    (void)len;
    (void)not_before;
    if (!revoked && not_after >= u->now && !u->found) {
        u->found = true;
        ward_factory_hex(u->serial, serial, serial_len <= 20u ? serial_len : 20u);
    }
    return WARD_OK;
}

/* DEVICE/device-profile.json: the firmware build's profile (o->profile),
 * or the sample plug's as this build compiles it, pointed at the factory's
 * broker and update server. */
static ward_err_t write_profile(const ward_factory_provision_opts_t *o, const prov_t *p,
                                char *why, size_t why_len)
{
    char path[PATH_MAX], broker[300], update[300];
    char *json = NULL;
    ward_err_t err;
    if (o->profile != NULL) {
        uint8_t *data = NULL;
        size_t len = 0;
        err = ward_factory_read_file(o->profile, &data, &len);
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "%s: cannot read the device profile", o->profile);
            return err == WARD_ERR_NOT_FOUND ? WARD_ERR_IO : err;
        }
        err = ward_factory_path(path, sizeof path, "%s/%s", o->out, WARD_PROFILE_FILE)
                  ? ward_factory_write_file(path, data, len, 0644, true)
                  : WARD_ERR_INVALID_ARG;
        free(data);
        return err;
    }
    ward_profile_build_opts_t po;
    memset(&po, 0, sizeof po);
    const ward_factory_conf_t *c = &p->conf;
    snprintf(broker, sizeof broker, "mqtts://%s:%u",
             c->broker_host[0] != '\0' ? c->broker_host : "localhost",
             c->broker_port != 0u ? (unsigned)c->broker_port : 8883u);
    snprintf(update, sizeof update, "https://%s:%u/",
             c->repo_host[0] != '\0' ? c->repo_host
                                     : (c->broker_host[0] != '\0' ? c->broker_host : "localhost"),
             c->repo_port != 0u ? (unsigned)c->repo_port : 443u);
    po.broker_url = broker;
    po.update_url = update;
    po.device_class = p->cls;
    err = ward_profile_build(&po, &json);
    if (err != WARD_OK) {
        ward_factory_why(why, why_len, "the device profile: %s", ward_err_str(err));
        return err;
    }
    err = ward_factory_path(path, sizeof path, "%s/%s", o->out, WARD_PROFILE_FILE)
              ? ward_factory_write_file(path, json, strlen(json), 0644, true)
              : WARD_ERR_INVALID_ARG;
    free(json);
    return err;
}

ward_err_t ward_factory_provision(const ward_factory_provision_opts_t *o,
                                  ward_factory_provision_result_t *r, char *why, size_t why_len)
{
    prov_t p;
    ward_factory_ca_t *ca = NULL;
    ward_sim_device_t d;
    bool dev_open = false;
    uint8_t csr[WARD_FACTORY_CSR_DER_MAX], cert[WARD_FACTORY_CERT_DER_MAX], otp_id[32];
    size_t csr_len = 0, cert_len = 0, ca_len = 0;
    char ble_addr[18] = "";
    uint8_t pair_pub[65];
    bool have_pair = false;

    if (why != NULL && why_len > 0u) {
        why[0] = '\0';
    }
    if (o == NULL || r == NULL || o->factory == NULL || o->image == NULL || o->out == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(r, 0, sizeof *r);
    memset(&p, 0, sizeof p);
    const int64_t now = o->now != 0 ? o->now : ward_factory_now();
    ward_err_t err = precheck(o, &p, why, why_len);
    if (err == WARD_OK) {
        err = ward_factory_ca_open(o->factory, &ca, why, why_len);
    }
    /* One id, one unit: its CN is the broker user name, client id and topic
     * level, so a second unit with it would share all of the first's. The
     * records stay locked from this check to the certificate's record (two
     * stations given the same id at once). */
    bool locked = false;
    if (err == WARD_OK) {
        err = ward_factory_ca_lock(ca);
        locked = err == WARD_OK;
    }
    if (err == WARD_OK) {
        in_use_t u = {.now = now, .found = false, .serial = ""};
        err = ward_factory_issued_for(ca, o->device_id, id_in_use, &u);
        if (err == WARD_OK && u.found) {
            ward_factory_why(why, why_len,
                             "device id %s already names a unit (certificate %s, valid, not "
                             "revoked): revoke it first (ward fleet revoke) or use another id",
                             o->device_id, u.serial);
            err = WARD_ERR_EXISTS;
        }
    }
    if (err == WARD_OK) {
        ward_sim_geometry_t g;
        ward_sim_geometry_default(&g);
        err = ward_sim_device_create(o->out, &g);
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "%s: %s", o->out,
                             err == WARD_ERR_EXISTS ? "a device already lives here"
                                                    : "cannot create the device");
        }
    }
    if (err == WARD_OK) {
        err = ward_sim_device_open(&d, o->out);
        dev_open = err == WARD_OK;
    }
    const ward_hsm_t *hsm = dev_open ? &d.hsm.port : NULL;
    const ward_otp_t *otp = dev_open ? &d.otp.port : NULL;

    /* Keys made inside the HSM; only the public key comes out. */
    if (err == WARD_OK) {
        err = hsm->huk_generate(hsm->ctx);
    }
    if (err == WARD_OK) {
        err = hsm->id_generate(hsm->ctx);
    }
    if (err == WARD_OK) {
        err = hsm->id_public(hsm->ctx, r->identity_pub);
    }
    if (err != WARD_OK && dev_open) {
        ward_factory_why(why, why_len, "the HSM: %s", ward_err_str(err));
    }
    /* The CSR, signed inside the HSM; certified by the factory CA. */
    if (err == WARD_OK) {
        err = ward_factory_csr_build(o->device_id, r->identity_pub, hsm->id_sign_hash, hsm->ctx,
                                     csr, sizeof csr, &csr_len);
    }
    if (err == WARD_OK) {
        ward_factory_cert_opts_t co;
        memset(&co, 0, sizeof co);
        co.profile = WARD_FACTORY_PROFILE_DEVICE;
        co.cn = o->device_id;
        co.not_before = now;
        co.validity = p.validity;
        err = ward_factory_issue_cert(ca, csr, csr_len, &co, cert, sizeof cert, &cert_len,
                                      r->serial);
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "the certificate: %s", ward_err_str(err));
        }
        r->not_before = now;
        r->not_after = now + p.validity;
    }
    if (locked) {
        ward_factory_ca_unlock(ca);
    }
    /* OTP: key hashes and the device id's hash, each locked. */
    if (err == WARD_OK) {
        (void)ward_sha256(otp_id, o->device_id, strlen(o->device_id));
        err = burn_locked(otp, WARD_OTP_BOOT_KEY_HASH, p.boot_hash, 32);
        err = err == WARD_OK ? burn_locked(otp, WARD_OTP_OTA_KEY_HASH, p.ota_hash, 32) : err;
        err = err == WARD_OK ? burn_locked(otp, WARD_OTP_DEVICE_ID, otp_id, 16) : err;
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "burning OTP: %s", ward_err_str(err));
        }
    }
    if (err == WARD_OK) {
        err = ward_sim_device_set_boot_key(&d, p.boot_spki);
    }
    if (err == WARD_OK) {
        err = ward_sim_device_set_ota(&d, p.ota_spki, p.cls);
    }
    if (err == WARD_OK) {
        err = ward_sim_area_write(&d.layout.primary, p.image, p.image_len);
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "flashing the image: %s", ward_err_str(err));
        }
    }
    /* Last: secure boot and the debug lock (a unit that failed a station
     * before this can still be examined). */
    if (err == WARD_OK && !o->skip_secure_boot) {
        err = ward_otp_flag_set(otp, WARD_OTP_SECURE_BOOT);
    }
    if (err == WARD_OK && !o->skip_debug_lock) {
        err = ward_otp_flag_set(otp, WARD_OTP_DEBUG_LOCK);
    }
    if (err == WARD_OK) {
        err = label_step(o->out, hsm, ble_addr, &r->label_done);
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "the BLE label: %s", ward_err_str(err));
        }
    }
    if (err == WARD_OK && r->label_done) {
        err = hsm->pair_public(hsm->ctx, pair_pub);
        have_pair = err == WARD_OK;
    }
    if (dev_open) {
        ward_sim_device_close(&d);
    }
    /* What leaves the station: the certificate, the CA, the record. */
    if (err == WARD_OK) {
        err = write_pem_file(o->out, "cert.pem", "CERTIFICATE", cert, cert_len);
    }
    if (err == WARD_OK) {
        const uint8_t *root = ward_factory_ca_cert(ca, &ca_len);
        err = write_pem_file(o->out, "ca.pem", "CERTIFICATE", root, ca_len);
    }
    if (err == WARD_OK) {
        char path[PATH_MAX], line[WARD_FACTORY_ID_MAX + 2];
        int n = snprintf(line, sizeof line, "%s\n", o->device_id);
        err = ward_factory_path(path, sizeof path, "%s/device-id", o->out)
                  ? ward_factory_write_file(path, line, (size_t)n, 0644, true)
                  : WARD_ERR_INVALID_ARG;
    }
    if (err == WARD_OK) {
        err = write_profile(o, &p, why, why_len);
    }
    if (err == WARD_OK) {
        uint8_t cert_hash[32];
        (void)ward_sha256(cert_hash, cert, cert_len);
        err = write_record(o, p.cls, r, p.boot_hash, p.ota_hash, otp_id, &p.info, cert_hash,
                           ble_addr, have_pair ? pair_pub : NULL, now);
    }
    ward_factory_ca_close(ca);
    free(p.image);
    return err;
}
