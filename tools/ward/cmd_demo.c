/*
 * ward demo: on the simulator, a smart plug from the factory to its second
 * firmware, as a timeline (issue 12), then a few extra chapters. Every step
 * states what must happen and checks that it did; the demo fails (exit 1)
 * if anything deviates, so it doubles as an end-to-end test; the steps and
 * their results are kept in docs/demo-transcript.md (CTest demo_transcript).
 *
 *   factory         ward factory init (boot key, OTA key, CA, the broker's
 *                   and update server's configuration); the build pipeline
 *                   signs v1, v2, v3 with the factory's boot key
 *   factory line    ward factory provision (keys made inside the HSM, OTP
 *                   burnt and locked, v1, secure boot, debug lock, the
 *                   certificate, the BLE label); ward factory eol
 *   first boot      secure boot active, v1 verified
 *   button press    BlueZ's emulator (btvirt, under ward's AF_ALG shim): the
 *                   owner's phone pairs by the label's OOB data, writes the
 *                   Wi-Fi credentials into the vault; a Just Works phone is
 *                   refused the relay (demo_ble.c)
 *   cloud           the factory's Mosquitto configuration; the plug connects
 *                   with its certificate and reports (demo_cloud.c)
 *   over the air    v2 published with the factory's OTA key, served by nginx
 *                   over HTTPS, fetched with a progress bar, trial boot,
 *                   confirm; a tampered update and a man in the middle
 *                   refused (demo_ota.c)
 *   ward attack     the same binary: every attack refused
 *   ward audit      the same binary: no item fails; audit.html
 *   extras          tampered, foreign-key, unsigned and older images refused
 *                   at the bootloader; a power cut during an install and the
 *                   automatic revert; the credential vault (demo_vault.c)
 *
 * Everything started (btvirt, Mosquitto, nginx) is stopped at the end of its
 * chapter, and dies with the demo if it is killed (demo_proc.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"
#include "demo_priv.h"
#include "ward/boot.h"
#include "ward/crypto.h"
#include "ward/sim.h"
#include "ward/util.h"
#include "ward_factory.h"
#include "ward_sign.h"

#define DEMO_MARKER ".ward-demo"

/* ---- the report ----------------------------------------------------------- */

void demo_init(demo_t *d, const char *dir, bool quiet)
{
    memset(d, 0, sizeof *d);
    d->dir = dir;
    d->quiet = quiet;
    d->broker_hold = -1;
}

void demo_chapter(demo_t *d, const char *title)
{
    if (d->nsteps < DEMO_MAX_STEPS) {
        d->chapter[d->nsteps] = title;
    }
    if (!d->quiet) {
        printf("\n== %s\n", title);
    }
}

bool demo_check(demo_t *d, bool ok, const char *what, const char *fmt, ...)
{
    char observed[256];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(observed, sizeof observed, fmt, ap);
    va_end(ap);
    if (d->nsteps < DEMO_MAX_STEPS) {
        demo_step_t *s = &d->steps[d->nsteps++];
        snprintf(s->what, sizeof s->what, "%s", what);
        snprintf(s->observed, sizeof s->observed, "%s", observed);
        s->ok = ok;
    }
    if (!ok) {
        d->failed++;
    }
    if (!d->quiet || !ok) {
        printf("  [%s] %s: %s\n", ok ? " ok " : "FAIL", what, observed);
    }
    return ok;
}

void demo_skip(demo_t *d, const char *what, const char *fmt, ...)
{
    char observed[256];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(observed, sizeof observed, fmt, ap);
    va_end(ap);
    if (d->nsteps < DEMO_MAX_STEPS) {
        demo_step_t *s = &d->steps[d->nsteps++];
        snprintf(s->what, sizeof s->what, "%s", what);
        snprintf(s->observed, sizeof s->observed, "%s", observed);
        s->ok = true;
        s->skipped = true;
    }
    d->skipped++;
    /* Shown even with --quiet: a chapter that did not run is news. */
    printf("  [SKIP] %s: %s\n", what, observed);
}

void demo_fix(demo_t *d, const char *fmt, ...)
{
    va_list ap;
    if (d->nsteps == 0u || d->nsteps > DEMO_MAX_STEPS) {
        return;
    }
    va_start(ap, fmt);
    (void)vsnprintf(d->steps[d->nsteps - 1u].fixed, sizeof d->steps[0].fixed, fmt, ap);
    va_end(ap);
}

void demo_note(demo_t *d, const char *fmt, ...)
{
    va_list ap;
    if (d->quiet) {
        return;
    }
    va_start(ap, fmt);
    printf("  ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static void md_escape(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|') {
            fputs("\\|", f);
        } else {
            fputc(*s, f);
        }
    }
}

static ward_err_t write_report(const demo_t *d, const char *path, const char *json_path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return WARD_ERR_IO;
    }
    fprintf(f, "# ward demo report\n\nward %s, simulated device in `%s/device`.\n", WARD_VERSION_STRING,
            d->dir);
    fprintf(f, "Every step states what must happen; `ok` means the device did exactly that.\n");
    for (size_t i = 0; i < d->nsteps; i++) {
        if (d->chapter[i] != NULL) {
            fprintf(f, "\n## %s\n\n| result | step | observed |\n|---|---|---|\n", d->chapter[i]);
        }
        fprintf(f, "| %s | ", d->steps[i].skipped ? "**skipped**" : d->steps[i].ok ? "ok" : "**FAIL**");
        md_escape(f, d->steps[i].what);
        fprintf(f, " | ");
        md_escape(f, d->steps[i].observed);
        fprintf(f, " |\n");
    }
    fprintf(f, "\n%zu steps, %u failed, %u skipped.\n", d->nsteps, d->failed, d->skipped);
    bool bad = ferror(f) != 0;
    bad |= fclose(f) != 0;

    FILE *j = fopen(json_path, "w");
    if (j == NULL) {
        return WARD_ERR_IO;
    }
    fprintf(j, "{\"ward\":\"%s\",\"steps\":[", WARD_VERSION_STRING);
    const char *chapter = "";
    for (size_t i = 0; i < d->nsteps; i++) {
        if (d->chapter[i] != NULL) {
            chapter = d->chapter[i];
        }
        fprintf(j, "%s{\"chapter\":", i ? "," : "");
        ward_cli_json_str(j, chapter);
        fprintf(j, ",\"step\":");
        ward_cli_json_str(j, d->steps[i].what);
        fprintf(j, ",\"observed\":");
        ward_cli_json_str(j, d->steps[i].observed);
        fprintf(j, ",\"fixed\":");
        ward_cli_json_str(j, d->steps[i].fixed);
        fprintf(j, ",\"ok\":%s,\"skipped\":%s}", d->steps[i].ok ? "true" : "false",
                d->steps[i].skipped ? "true" : "false");
    }
    fprintf(j, "],\"failed\":%u,\"skipped\":%u}\n", d->failed, d->skipped);
    bad |= ferror(j) != 0;
    bad |= fclose(j) != 0;
    return bad ? WARD_ERR_IO : WARD_OK;
}

/* ---- workspace ------------------------------------------------------------- */

void demo_path(const demo_t *d, char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", d->dir, name);
}

static ward_err_t prepare_dir(const char *dir)
{
    char marker[4096];
    snprintf(marker, sizeof marker, "%s/%s", dir, DEMO_MARKER);
    struct stat st;
    if (stat(dir, &st) == 0) {
        /* Only ever remove a directory an earlier demo made. */
        if (stat(marker, &st) != 0) {
            return WARD_ERR_EXISTS;
        }
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
        if (strchr(dir, '\'') != NULL || system(cmd) != 0) {
            return WARD_ERR_IO;
        }
    }
    if (mkdir(dir, 0700) != 0) {
        return WARD_ERR_IO;
    }
    FILE *m = fopen(marker, "w");
    if (m == NULL) {
        return WARD_ERR_IO;
    }
    fprintf(m, "made by ward demo; `ward demo` may delete this directory\n");
    return fclose(m) == 0 ? WARD_OK : WARD_ERR_IO;
}

ward_err_t demo_save(const demo_t *d, const char *name, const void *data, size_t len)
{
    char p[4096];
    demo_path(d, p, sizeof p, name);
    return ward_cli_write_file(p, data, len, 0644, false);
}

/* ---- simulated device helpers ---------------------------------------------- */

ward_err_t demo_dev_open(const demo_t *d, ward_sim_device_t *dev)
{
    char p[4096];
    demo_path(d, p, sizeof p, "device");
    return ward_sim_device_open(dev, p);
}

/* A simulated device with the boot core initialised on it. */
typedef struct boot_session {
    ward_sim_device_t dev;
    ward_boot_config_t cfg;
    ward_boot_ctx_t ctx;
} boot_session_t;

static ward_err_t session_open(const demo_t *d, boot_session_t *s)
{
    ward_err_t err = demo_dev_open(d, &s->dev);
    if (err != WARD_OK) {
        return err;
    }
    ward_sim_device_boot_config(&s->dev, &s->cfg);
    err = ward_boot_init(&s->ctx, &s->cfg);
    if (err != WARD_OK) {
        ward_sim_device_close(&s->dev);
    }
    return err;
}

/* One reset of the device: the boot core decides what runs. */
ward_fih_t demo_boot(const demo_t *d, ward_boot_report_t *rep, uint64_t cut_after, bool torn,
                     ward_err_t *err)
{
    boot_session_t s;
    ward_fih_t go = WARD_FIH_FAILURE;
    memset(rep, 0, sizeof *rep);
    *err = session_open(d, &s);
    if (*err != WARD_OK) {
        return go;
    }
    if (cut_after != 0u) {
        ward_sim_power_cut_after(&s.dev.power, cut_after, torn);
    }
    go = ward_boot_go(&s.ctx, rep);
    *err = rep->reason;
    if (s.dev.power.dead) {
        *err = WARD_ERR_POWER_LOSS;
        go = WARD_FIH_FAILURE;
    }
    ward_sim_device_close(&s.dev);
    return go;
}

/* What the running application does when its self-test passes. */
ward_err_t demo_confirm(const demo_t *d)
{
    boot_session_t s;
    ward_err_t err = session_open(d, &s);
    if (err == WARD_OK) {
        err = ward_boot_confirm(&s.ctx);
        ward_sim_device_close(&s.dev);
    }
    return err;
}

/* What the update agent does: write the image into the secondary slot and
 * request a trial install at the next reset. */
ward_err_t demo_stage(const demo_t *d, const uint8_t *img, size_t len)
{
    boot_session_t s;
    ward_err_t err = session_open(d, &s);
    if (err == WARD_OK) {
        err = ward_sim_area_write(&s.dev.layout.secondary, img, len);
        if (err == WARD_OK) {
            err = ward_boot_request_install(&s.ctx, false);
        }
        ward_sim_device_close(&s.dev);
    }
    return err;
}

const char *demo_version(const ward_image_version_t *v)
{
    static char buf[4][40];
    static unsigned next;
    char *b = buf[next++ % 4u];
    snprintf(b, sizeof buf[0], "%u.%u.%u+%u", v->major, v->minor, v->revision, v->build);
    return b;
}

/* ---- the story -------------------------------------------------------------- */

/* A pretend firmware: zeros for the image header, a banner, then bytes. */
static uint8_t *make_firmware(unsigned version, size_t *len)
{
    const size_t n = 0x200 + 9000u + 1000u * version;
    uint8_t *fw = calloc(1, n);
    if (fw == NULL) {
        return NULL;
    }
    int b = snprintf((char *)fw + 0x200, 64, "ward demo smart plug, firmware v%u", version);
    for (size_t i = 0x200u + (size_t)b + 1u; i < n; i++) {
        fw[i] = (uint8_t)((i * 31u + version * 7u) ^ (i >> 8));
    }
    *len = n;
    return fw;
}

static ward_err_t sign_fw(psa_key_id_t key, unsigned version, uint32_t sec_cnt, uint32_t slot_size,
                          uint8_t **img, size_t *img_len)
{
    ward_sign_opts_t o;
    size_t fw_len = 0;
    ward_sign_opts_init(&o);
    o.version = (ward_image_version_t){(uint8_t)version, 0, 0, 0};
    o.header_size = 0x200;
    o.slot_size = slot_size;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o.sec_cnt = sec_cnt;
    uint8_t *fw = make_firmware(version, &fw_len);
    if (fw == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    ward_err_t err = ward_sign_image(&o, fw, fw_len, key, img, img_len);
    free(fw);
    return err;
}

typedef struct story {
    psa_key_id_t boot_key; /* the factory's (keys/boot-key.pem) */
    psa_key_id_t ota_key;  /* the factory's (keys/ota-key.pem) */
    psa_key_id_t rogue_key;
    uint8_t boot_spki[91];
    uint8_t *img[4]; /* v1, v2, v3 signed; [0] unused */
    size_t img_len[4];
    uint32_t slot_size;
} story_t;

/* The factory, made offline: boot key, OTA key, CA, the broker's and the
 * update server's configuration (ward factory init, tools/factory). */
static bool factory_init(demo_t *d, story_t *s)
{
    char fdir[4096], why[512] = "";
    ward_factory_init_result_t r;
    demo_chapter(d, "Factory: keys and CA made offline; the build pipeline signs v1, v2, v3");
    demo_path(d, fdir, sizeof fdir, "factory");
    /* 8883, the port the IoT segment allows out (deploy/nftables) and the
     * audit checks the profile for (on another port the audit fails). Demos
     * take turns on it: the lock is held until this demo's Mosquitto has
     * stopped, so a demo running at the same time waits (a few seconds);
     * after a minute, or when another program listens on it, another port,
     * said so in the step. */
    bool waited = false;
    unsigned port = 8883;
    d->broker_hold = demo_port_lock(8883, 60, &waited);
    if (waited) {
        demo_note(d, "port 8883 was in use by another ward demo: waited for it");
    }
    if (d->broker_hold < 0 || !demo_port_free(8883)) {
        if (d->broker_hold >= 0) {
            (void)close(d->broker_hold);
            d->broker_hold = -1;
        }
        port = demo_free_port();
    }
    const ward_factory_init_opts_t o = {
        .dir = fdir,
        .name = "ward demo factory CA",
        .device_class = DEMO_CLASS,
        .broker_host = "localhost",
        .broker_port = (uint16_t)port,
        /* Mosquitto started as root drops to "mosquitto", which cannot read DIR. */
        .broker_user = geteuid() == 0 ? "root" : NULL,
    };
    ward_err_t err = port != 0u ? ward_factory_init(&o, &r, why, sizeof why) : WARD_ERR_IO;
    if (!demo_check(d, err == WARD_OK,
                    "ward factory init: boot key, OTA key (another key), factory CA, broker and "
                    "update server configuration",
                    "factory/: keys/*.pem mode 0600, ca/ca.pem, broker/mosquitto.conf on port %u%s: "
                    "%s%s%s",
                    port, port == 8883u ? "" : " (8883 in use)", ward_err_name(err),
                    why[0] != '\0' ? ": " : "", why)) {
        return false;
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/keys/boot-key.pem", fdir);
    err = ward_sign_key_load(p, &s->boot_key, s->boot_spki, NULL);
    if (err == WARD_OK) {
        snprintf(p, sizeof p, "%s/keys/ota-key.pem", fdir);
        err = ward_sign_key_load(p, &s->ota_key, NULL, NULL);
    }
    if (err == WARD_OK) {
        err = ward_sign_keygen(&s->rogue_key);
    }
    s->slot_size = 32u * 4096u;
    static const uint32_t sec[4] = {0, 1, 2, 2};
    for (unsigned v = 1; v <= 3 && err == WARD_OK; v++) {
        err = sign_fw(s->boot_key, v, sec[v], s->slot_size, &s->img[v], &s->img_len[v]);
        if (err == WARD_OK) {
            char name[32];
            snprintf(name, sizeof name, "app-v%u.img", v);
            err = demo_save(d, name, s->img[v], s->img_len[v]);
        }
    }
    return demo_check(d, err == WARD_OK,
                      "the build pipeline signs firmware v1, v2, v3 with the factory's boot key "
                      "(MCUboot v1 images, ECDSA-P256)",
                      "app-v1.img %zu B (counter 1), app-v2.img %zu B (counter 2), app-v3.img %zu B "
                      "(counter 2): %s",
                      s->img_len[1], s->img_len[2], s->img_len[3], ward_err_name(err));
}

/* One unit through the station and the end-of-line test (ward factory
 * provision, ward factory eol). */
static bool factory_line(demo_t *d)
{
    char fdir[4096], dev[4096], img[4096], why[512] = "";
    ward_factory_provision_result_t r;
    demo_chapter(d, "Factory: provisioning and the end-of-line test");
    demo_path(d, fdir, sizeof fdir, "factory");
    demo_path(d, dev, sizeof dev, "device");
    demo_path(d, img, sizeof img, "app-v1.img");
    memset(&r, 0, sizeof r);
    const ward_factory_provision_opts_t o = {.factory = fdir, .device_id = DEMO_DEVICE_ID,
                                             .image = img, .out = dev};
    ward_err_t err = ward_factory_provision(&o, &r, why, sizeof why);
    char serial[2 * WARD_FACTORY_SERIAL_LEN + 1] = "";
    for (size_t i = 0; i < WARD_FACTORY_SERIAL_LEN; i++) {
        snprintf(serial + 2 * i, 3, "%02x", r.serial[i]);
    }
    if (!demo_check(d, err == WARD_OK && r.label_done,
                    "ward factory provision: keys made inside the HSM, key hashes burnt into OTP "
                    "and locked, v1 flashed, secure boot on, debug locked, certificate, label",
                    "device/ (id %s): certificate serial %.16s... from the factory CA, label.txt: "
                    "%s%s%s",
                    DEMO_DEVICE_ID, serial, ward_err_name(err), why[0] != '\0' ? ": " : "", why)) {
        return false;
    }
    ward_sim_device_t sd;
    err = demo_dev_open(d, &sd);
    if (err == WARD_OK) {
        const ward_otp_t *otp = &sd.otp.port;
        uint8_t other[32];
        memset(other, 0xFF, sizeof other);
        err = otp->burn(otp->ctx, WARD_OTP_BOOT_KEY_HASH, other, sizeof other);
        ward_sim_device_close(&sd);
    }
    demo_check(d, err == WARD_ERR_LOCKED, "another boot key cannot be burnt over the factory's",
               "%s", ward_err_name(err));
    ward_factory_eol_report_t *rep = calloc(1, sizeof *rep);
    err = rep == NULL ? WARD_ERR_NO_SPACE : ward_factory_eol(dev, fdir, 0, rep);
    unsigned pass = 0;
    char failed[256] = "";
    for (int c = 0; err == WARD_OK && c < WARD_FACTORY_CHECK_COUNT; c++) {
        if (rep->pass[c]) {
            pass++;
        } else {
            const size_t n = strlen(failed);
            snprintf(failed + n, sizeof failed - n, " %s", ward_factory_check_name((ward_factory_check_t)c));
        }
    }
    const bool ok = demo_check(d, err == WARD_OK && rep->passed,
                               "ward factory eol: the unit boots, secure boot and debug lock on, "
                               "keys in the HSM, certificate chains to the factory CA",
                               "%u of %d checks pass%s%s (%s)", pass, (int)WARD_FACTORY_CHECK_COUNT,
                               failed[0] != '\0' ? "; failed:" : "", failed, ward_err_name(err));
    free(rep);
    return ok;
}

/* The plug's first boot at home: the bootloader decides what runs. */
static bool first_boot(demo_t *d)
{
    ward_boot_report_t rep;
    ward_err_t err;
    demo_chapter(d, "First boot with secure boot active");
    ward_fih_t go = demo_boot(d, &rep, 0, false, &err);
    return demo_check(d, WARD_FIH_EQ(go) && rep.secure_boot && rep.verified && rep.debug_locked &&
                             rep.version.major == 1,
                      "the bootloader verifies v1 against the key hash in OTP and starts it",
                      "secure boot %s, debug %s, running %s, %s",
                      rep.secure_boot ? "on" : "OFF", rep.debug_locked ? "locked" : "OPEN",
                      demo_version(&rep.version), rep.verified ? "verified" : "NOT verified");
}

static bool field_update(demo_t *d, story_t *s)
{
    ward_boot_report_t rep;
    ward_err_t err;
    demo_chapter(d, "Field update: staging, trial boot, confirm");
    err = demo_stage(d, s->img[2], s->img_len[2]);
    demo_check(d, err == WARD_OK, "v2 written to the staging slot, install requested", "%s",
               ward_err_name(err));
    ward_fih_t go = demo_boot(d, &rep, 0, false, &err);
    demo_check(d, WARD_FIH_EQ(go) && rep.event == WARD_BOOT_EV_INSTALLED && rep.trial &&
                      rep.version.major == 2,
               "reset: v2 verified, swapped in, trial boot", "running %s, %s, OTP counter %u",
               demo_version(&rep.version), rep.trial ? "trial" : "not a trial", rep.otp_counter);
    demo_check(d, rep.otp_counter == 1, "the OTP counter is not raised during a trial",
               "OTP counter %u", rep.otp_counter);
    err = demo_confirm(d);
    demo_check(d, err == WARD_OK, "the app's self-test passes: v2 confirms itself", "%s",
               ward_err_name(err));
    go = demo_boot(d, &rep, 0, false, &err);
    return demo_check(d, WARD_FIH_EQ(go) && !rep.trial && rep.version.major == 2 &&
                             rep.otp_counter == 2,
                      "reset: v2 stays; its security counter is burnt into OTP",
                      "running %s, OTP counter %u", demo_version(&rep.version), rep.otp_counter);
}

/* Stage a hostile image and check the device refuses it for `want`. */
static void attack(demo_t *d, const char *what, const uint8_t *img, size_t len, ward_err_t want)
{
    ward_boot_report_t rep;
    ward_err_t err = demo_stage(d, img, len);
    if (err != WARD_OK) {
        /* Refused before it could even be staged (not parseable). */
        demo_check(d, err == want, what, "refused at staging: %s", ward_err_name(err));
        return;
    }
    ward_fih_t go = demo_boot(d, &rep, 0, false, &err);
    demo_check(d, WARD_FIH_EQ(go) && rep.event == WARD_BOOT_EV_REFUSED && rep.update_reason == want &&
                      rep.version.major == 2 && rep.verified,
               what, "refused: %s; still running %s", ward_err_name(rep.update_reason),
               demo_version(&rep.version));
}

static bool attacks(demo_t *d, story_t *s)
{
    demo_chapter(d, "Extra: hostile images refused at the bootloader");
    uint8_t *t = malloc(s->img_len[3]);
    uint8_t *rogue = NULL, *unsigned_img = NULL;
    size_t rogue_len = 0, unsigned_len = 0;
    if (t == NULL) {
        return demo_check(d, false, "memory", "out of memory");
    }
    memcpy(t, s->img[3], s->img_len[3]);
    t[0x200 + 4000] ^= 0x01; /* one bit of the payload */
    attack(d, "tampered v3 (one payload bit flipped)", t, s->img_len[3], WARD_ERR_IMG_HASH);
    free(t);

    if (sign_fw(s->rogue_key, 9, 9, s->slot_size, &rogue, &rogue_len) == WARD_OK) {
        attack(d, "v9 signed with an attacker's key", rogue, rogue_len, WARD_ERR_IMG_KEY);
    }
    if (sign_fw(0, 9, 9, s->slot_size, &unsigned_img, &unsigned_len) == WARD_OK) {
        attack(d, "unsigned v9", unsigned_img, unsigned_len, WARD_ERR_IMG_UNSIGNED);
    }
    attack(d, "genuine but older v1 (security counter 1 < OTP 2)", s->img[1], s->img_len[1],
           WARD_ERR_IMG_SEC_CNT);
    free(rogue);
    free(unsigned_img);
    return d->failed == 0;
}

static bool power_cut(demo_t *d, story_t *s)
{
    ward_boot_report_t rep;
    ward_err_t err;
    demo_chapter(d, "Extra: a power cut during an install, then the automatic revert");
    err = demo_stage(d, s->img[3], s->img_len[3]);
    demo_check(d, err == WARD_OK, "v3 staged", "%s", ward_err_name(err));
    /* Cut in the middle of the swap, leaving that flash write half done. */
    ward_fih_t go = demo_boot(d, &rep, 60, true, &err);
    demo_check(d, !WARD_FIH_EQ(go) && err == WARD_ERR_POWER_LOSS,
               "power dies at the 60th flash operation of the install (a torn write)", "%s",
               ward_err_name(err));
    go = demo_boot(d, &rep, 0, false, &err);
    demo_check(d, WARD_FIH_EQ(go) && rep.resumed && rep.trial && rep.version.major == 3 && rep.verified,
               "power back: the journal resumes the swap, v3 trial-boots",
               "running %s%s%s", demo_version(&rep.version), rep.resumed ? ", resumed" : "",
               rep.trial ? ", trial" : "");
    demo_note(d, "v3's self-test fails: it never confirms.");
    go = demo_boot(d, &rep, 0, false, &err);
    demo_check(d, WARD_FIH_EQ(go) && rep.event == WARD_BOOT_EV_REVERTED && rep.version.major == 2 &&
                      !rep.trial && rep.verified,
               "reset without confirm: automatic revert to v2", "running %s, event %s",
               demo_version(&rep.version), rep.event == WARD_BOOT_EV_REVERTED ? "reverted" : "other");
    /* The revert restored v2 exactly: its bytes match the signed file. */
    ward_sim_device_t dev;
    bool same = false;
    if (demo_dev_open(d, &dev) == WARD_OK) {
        same = memcmp(ward_sim_flash_mem(&dev.flash) + dev.layout.primary.off, s->img[2],
                      s->img_len[2]) == 0;
        demo_check(d, dev.flash.stats.violations == 0, "flash rules never broken",
                   "%llu violations", (unsigned long long)dev.flash.stats.violations);
        ward_sim_device_close(&dev);
    }
    return demo_check(d, same, "primary slot holds v2 byte for byte", same ? "identical" : "DIFFERENT");
}

/* ---- ward attack, ward audit: the same binary, as a user would run them ---- */

/* A ward command's JSON output (DIR/name), parsed; NULL if none. */
static cJSON *read_json(const demo_t *d, const char *name)
{
    char p[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    demo_path(d, p, sizeof p, name);
    if (ward_cli_read_file(p, &data, &len) != WARD_OK) {
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)data, len);
    free(data);
    return j;
}

/* The first line a command wrote on stderr (DIR/name), for a failure. */
static void first_line(const demo_t *d, const char *name, char *out, size_t n)
{
    char p[4096], line[512];
    demo_path(d, p, sizeof p, name);
    out[0] = '\0';
    FILE *f = fopen(p, "r");
    while (f != NULL && out[0] == '\0' && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        snprintf(out, n, "%s", line);
    }
    if (f != NULL) {
        fclose(f);
    }
}

/* `ward attack DEVICE/ --fleet FACTORY/ --json`: every attack it knows
 * against the unit and its factory; exit 0 when each one was refused. */
static bool attack_step(demo_t *d)
{
    char dev[4096], fdir[4096], out[4096], err_path[4096];
    demo_chapter(d, "ward attack: the plug under attack");
    demo_path(d, dev, sizeof dev, "device");
    demo_path(d, fdir, sizeof fdir, "factory");
    demo_path(d, out, sizeof out, "attack.json");
    demo_path(d, err_path, sizeof err_path, "attack.err");
    char a0[] = "ward", a1[] = "attack", a3[] = "--fleet", a5[] = "--json";
    char *const argv[] = {a0, a1, dev, a3, fdir, a5, NULL};
    const int rc = demo_run_ward(argv, out, err_path, 60);
    cJSON *j = read_json(d, "attack.json");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "attacks");
    if (!cJSON_IsArray(list)) {
        list = NULL;
    }
    const cJSON *passed = cJSON_GetObjectItemCaseSensitive(j, "passed");
    unsigned n = 0, refused = 0;
    char open[200] = "";
    const cJSON *a;
    cJSON_ArrayForEach(a, list) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "verdict");
        n++;
        if (cJSON_IsString(v) && strcmp(v->valuestring, "refused") == 0) {
            refused++;
        } else {
            const size_t l = strlen(open);
            snprintf(open + l, sizeof open - l, " %s", cJSON_IsString(id) ? id->valuestring : "?");
        }
    }
    const bool ok = rc == 0 && cJSON_IsTrue(passed) && n > 0u && refused == n;
    if (j != NULL) {
        demo_check(d, ok, "ward attack: every attack on the plug and its factory is refused",
                   "ward attack: %u attacks, %s%s (exit %d); attack.json", n,
                   refused == n ? "all refused" : "NOT refused:", refused == n ? "" : open, rc);
        /* An attack dropped from the run would still pass the check. */
        demo_fix(d, "%u attacks, %u refused", n, refused);
    } else {
        char why[600] = "";
        first_line(d, "attack.err", why, sizeof why);
        demo_check(d, false, "ward attack: every attack on the plug and its factory is refused",
                   "no report from ward attack (exit %d): %s", rc,
                   why[0] != '\0' ? why : rc < 0 ? "killed: it did not finish in time" : "no output");
    }
    cJSON_Delete(j);
    return ok;
}

/* `ward audit DEVICE/ --fleet FACTORY/ --html audit.html --json`. */
static bool audit_step(demo_t *d)
{
    char dev[4096], fdir[4096], html[4096], out[4096], err_path[4096];
    demo_chapter(d, "ward audit writes its report");
    demo_path(d, dev, sizeof dev, "device");
    demo_path(d, fdir, sizeof fdir, "factory");
    demo_path(d, html, sizeof html, "audit.html");
    demo_path(d, out, sizeof out, "audit.json");
    demo_path(d, err_path, sizeof err_path, "audit.err");
    char a0[] = "ward", a1[] = "audit", a3[] = "--fleet", a5[] = "--html", a7[] = "--json";
    char *const argv[] = {a0, a1, dev, a3, fdir, a5, html, a7, NULL};
    const int rc = demo_run_ward(argv, out, err_path, 30);
    cJSON *j = read_json(d, "audit.json");
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(j, "summary");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
    const double items = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "items"));
    const double pass = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "pass"));
    const double fail = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "fail"));
    const double na = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "not_applicable"));
    const double nc = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "not_checked"));
    char failed[200] = "";
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "failed")) {
        const size_t l = strlen(failed);
        snprintf(failed + l, sizeof failed - l, " %s", cJSON_IsString(f) ? f->valuestring : "?");
    }
    struct stat st;
    const bool have_html = stat(html, &st) == 0 && st.st_size > 0;
    const bool ok = rc == 0 && cJSON_IsString(res) && strcmp(res->valuestring, "pass") == 0 &&
                    fail == 0.0 && pass > 0.0 && have_html;
    if (j == NULL) {
        char why[600] = "";
        first_line(d, "audit.err", why, sizeof why);
        demo_check(d, false, "ward audit: no item fails for the plug and its factory",
                   "no report from ward audit (exit %d): %s", rc,
                   why[0] != '\0' ? why : rc < 0 ? "killed: it did not finish in time" : "no output");
    } else {
        demo_check(d, ok, "ward audit: no item fails for the plug and its factory",
                   "%.0f items: %.0f pass, %.0f fail%s%s, %.0f not applicable, %.0f not checked "
                   "(exit %d); report audit.html%s, audit.json",
                   items, pass, fail, failed[0] != '\0' ? ":" : "", failed, na, nc, rc,
                   have_html ? "" : " MISSING");
        /* Items that stopped being checked (or applying) would still pass it. */
        demo_fix(d, "%.0f items: %.0f pass, %.0f fail, %.0f not applicable, %.0f not checked", items,
                 pass, fail, na, nc);
    }
    cJSON_Delete(j);
    return ok;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ward demo [--dir DIR] [--quiet]\n\n"
               "On the simulator, a smart plug from the factory to its second firmware, in DIR\n"
               "(default ./ward-demo), as a timeline:\n"
               "  1. ward factory init, the build pipeline signs v1, v2, v3 (DIR/factory)\n"
               "  2. ward factory provision and the end-of-line test (DIR/device)\n"
               "  3. first boot with secure boot active\n"
               "  4. button press: the phone pairs by the label's OOB data and writes the Wi-Fi\n"
               "     credentials into the vault (BlueZ's btvirt, started in DIR/btvirt)\n"
               "  5. the plug connects to the factory's Mosquitto with its certificate and\n"
               "     reports (started from DIR/factory/broker/mosquitto.conf)\n"
               "  6. v2 published and applied over HTTPS (nginx, started in DIR/nginx) with a\n"
               "     progress bar, trial boot, confirm; a tampered update and a man in the\n"
               "     middle refused\n"
               "  7. ward attack DIR/device --fleet DIR/factory: every attack refused\n"
               "  8. ward audit: no item fails; DIR/audit.html\n"
               "then attacks on the boot path, a power cut and the automatic revert, the vault.\n"
               "Every server it starts is stopped before it exits, also on failure.\n"
               "Writes DIR/report.md and DIR/report.json (scripts/demo-transcript turns the\n"
               "latter into docs/demo-transcript.md). Only ever deletes a DIR it made.\n"
               "  --quiet   only failures, skips, the download progress and the summary\n"
               "Exit 0 when every step did what it must, 1 otherwise.\n");
}

int ward_cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = "ward-demo";
    bool quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            usage(stdout);
            return WARD_EXIT_OK;
        default:
            usage(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return WARD_EXIT_USAGE;
    }
    ward_err_t err = prepare_dir(dir);
    if (err == WARD_ERR_EXISTS) {
        fprintf(stderr, "ward demo: %s exists and was not made by ward demo; choose another --dir\n", dir);
        return WARD_EXIT_EXISTS;
    }
    if (err != WARD_OK) {
        return ward_cli_fail("demo", dir, err);
    }

    demo_t *d = calloc(1, sizeof *d);
    story_t s;
    memset(&s, 0, sizeof s);
    if (d == NULL) {
        return WARD_EXIT_FAIL;
    }
    demo_init(d, dir, quiet);
    if (!quiet) {
        printf("ward demo: a simulated smart plug, from the factory to its second firmware (in %s/)\n", dir);
    }
    /* The timeline of issue 12, then the extra chapters. */
    bool ok = factory_init(d, &s) && factory_line(d) && first_boot(d);
    if (ok) {
        (void)demo_ble_story(d);
        (void)demo_cloud_story(d);
        const demo_ota_in_t in = {.boot_key = s.boot_key, .boot_spki = s.boot_spki,
                                  .ota_key = s.ota_key,
                                  .v2 = s.img[2], .v2_len = s.img_len[2],
                                  .v3 = s.img[3], .v3_len = s.img_len[3]};
        bool served = false;
        ok = demo_ota_story(d, &in, &served);
        if (!served) {
            /* No server: v2 the way an agent would write it, so the story goes on
             * (the failed step above already fails the demo). */
            ok = field_update(d, &s);
        }
    }
    if (ok) {
        (void)attack_step(d);
        (void)audit_step(d);
        (void)attacks(d, &s);
        (void)power_cut(d, &s);
        (void)demo_vault_story(d);
    }
    if (d->broker_hold >= 0) { /* the cloud chapter did not run */
        (void)close(d->broker_hold);
        d->broker_hold = -1;
    }
    for (int v = 1; v <= 3; v++) {
        free(s.img[v]);
    }
    (void)psa_destroy_key(s.boot_key);
    (void)psa_destroy_key(s.ota_key);
    (void)psa_destroy_key(s.rogue_key);

    char md[4096], js[4096];
    demo_path(d, md, sizeof md, "report.md");
    demo_path(d, js, sizeof js, "report.json");
    err = write_report(d, md, js);
    unsigned failed = d->failed;
    unsigned skipped = d->skipped;
    size_t n = d->nsteps;
    free(d);
    if (err != WARD_OK) {
        return ward_cli_fail("demo", "writing the report", err);
    }
    char html[4096];
    struct stat st;
    snprintf(html, sizeof html, "%s/audit.html", dir);
    const bool audited = stat(html, &st) == 0;
    printf("\nward demo: %zu steps, %u failed%s; report: %s%s%s\n", n, failed,
           skipped != 0 ? ", a chapter SKIPPED (see above)" : "", md,
           audited ? "; the audit: " : "", audited ? html : "");
    return failed == 0 && ok ? WARD_EXIT_OK : WARD_EXIT_FAIL;
}
