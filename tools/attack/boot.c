/*
 * ward_attack: images at boot. Each hostile image is tried the two ways it
 * can reach a unit: staged with an install request (what an update agent,
 * or malware in the application, does) and written over the primary slot
 * (a rewritten flash chip). The bootloader's decision is the evidence.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack_priv.h"
#include "ward/crypto.h"
#include "ward/util.h"
#include "ward_sign.h"

/* How one image fared, staged and in the primary slot. */
typedef struct {
    bool installed, ran_staged; /* staged: swapped in, then ran */
    bool ran_primary;           /* written over the primary: ran */
    ward_err_t staged_why, primary_why, image_why;
    ward_image_version_t kept; /* what ran after the staged attempt */
    bool tried_primary;
} outcome_t;

/* Stage img in a fresh copy and reset; then, in another fresh copy,
 * write it over the primary slot and reset. */
static ward_err_t try_image(attack_ctx_t *a, const char *name, const uint8_t *img, size_t len,
                            bool primary, outcome_t *out)
{
    ward_boot_report_t rep;
    ward_err_t err;
    char sub[96];
    memset(out, 0, sizeof *out);
    snprintf(sub, sizeof sub, "%s-staged", name);
    err = attack_fresh_copy(a, sub);
    if (err != WARD_OK) {
        return err;
    }
    err = attack_stage(a->dir, img, len);
    if (err != WARD_OK) {
        /* Not even an image the agent can stage (it does not parse). */
        out->staged_why = err;
    } else {
        ward_fih_t go = attack_boot(a->dir, &rep, &err);
        out->installed = rep.event == WARD_BOOT_EV_INSTALLED;
        out->ran_staged = WARD_FIH_EQ(go) && out->installed && attack_primary_is(a->dir, img, len);
        out->staged_why = rep.event == WARD_BOOT_EV_REFUSED ? rep.update_reason : WARD_OK;
        out->kept = rep.version;
    }
    if (!primary) {
        return WARD_OK;
    }
    snprintf(sub, sizeof sub, "%s-primary", name);
    err = attack_fresh_copy(a, sub);
    if (err != WARD_OK) {
        return err;
    }
    out->tried_primary = true;
    err = attack_write_primary(a->dir, img, len);
    if (err != WARD_OK) {
        return err;
    }
    ward_fih_t go = attack_boot(a->dir, &rep, &err);
    out->ran_primary = WARD_FIH_EQ(go);
    out->primary_why = err;
    out->image_why = rep.image_reason;
    return WARD_OK;
}

/* "install refused: X, 1.0.0 kept; primary: refused to start (Y, image Z)" */
static void describe(attack_ctx_t *a, ward_attack_result_t *r, const outcome_t *o)
{
    (void)a;
    char staged[200], primary[200] = "";
    if (o->ran_staged) {
        snprintf(staged, sizeof staged, "staged: INSTALLED and running");
    } else if (o->installed) {
        snprintf(staged, sizeof staged, "staged: installed for a trial, then not run");
    } else {
        snprintf(staged, sizeof staged, "staged: install refused (%s), %s kept running",
                 ward_err_name(o->staged_why), attack_version(&o->kept));
    }
    if (o->tried_primary) {
        if (o->ran_primary) {
            snprintf(primary, sizeof primary, "; over the primary slot: RUNS");
        } else {
            snprintf(primary, sizeof primary,
                     "; over the primary slot: the bootloader refuses to start it (%s; image: %s)",
                     ward_err_name(o->primary_why), ward_err_name(o->image_why));
        }
    }
    attack_verdict(r, o->ran_staged || o->installed || o->ran_primary ? WARD_ATTACK_SUCCEEDED
                                                                      : WARD_ATTACK_REFUSED,
                   "%s%s", staged, primary);
    attack_evidence(r, "install: %s (exit %d in `ward device boot`)", ward_err_name(o->staged_why),
                    o->staged_why == WARD_OK ? 0 : 17);
    if (o->tried_primary) {
        attack_evidence(r, "primary: boot %s, image %s", ward_err_name(o->primary_why),
                        ward_err_name(o->image_why));
    }
}

/* The unit's running image and its firmware bytes (after the header). */
typedef struct {
    uint8_t *img;
    size_t len;
    ward_image_info_t info;
} running_t;

static bool running(attack_ctx_t *a, ward_attack_result_t *r, running_t *run)
{
    if (!a->boots) {
        /* The control: the unit's own image must start, else a refusal of
         * another image says nothing about the checks it was made for. */
        attack_verdict(r, WARD_ATTACK_SKIPPED,
                       "no control: the unit does not start its own image (%s): a refusal of "
                       "another image would say nothing about its checks",
                       ward_err_name(a->boot_why));
        return false;
    }
    const ward_err_t err = attack_read_primary(a->base, &run->img, &run->len, &run->info);
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "no image in the unit's primary slot (%s)",
                       ward_err_name(err));
        return false;
    }
    return true;
}

/* An image of the unit's own firmware with other version/counter, signed
 * by signer (NULL: unsigned). */
static ward_err_t rebuild(const running_t *run, ward_image_version_t v, uint32_t sec_cnt,
                          const ward_sign_signer_t *signer, uint32_t slot, uint8_t **out,
                          size_t *out_len)
{
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    o.version = v;
    o.header_size = run->info.hdr_size;
    o.pad_header = true;
    o.slot_size = slot;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o.sec_cnt = sec_cnt;
    return ward_sign_image_signer(&o, run->img + run->info.hdr_size, run->info.img_size, signer,
                                  out, out_len);
}

static uint32_t slot_size(const char *dir)
{
    ward_sim_device_t dev;
    uint32_t s = 0;
    if (ward_sim_device_open(&dev, dir) == WARD_OK) {
        s = dev.layout.primary.size;
        ward_sim_device_close(&dev);
    }
    return s;
}

static ward_image_version_t newer(ward_image_version_t v)
{
    v.major = (uint8_t)(v.major < 255u ? v.major + 1u : 255u);
    return v;
}

void attack_boot_tampered(attack_ctx_t *a, ward_attack_result_t *r)
{
    running_t run;
    if (!running(a, r, &run)) {
        return;
    }
    const size_t at = run.info.hdr_size + run.info.img_size / 2u;
    run.img[at] ^= 0x01u;
    attack_tried(r, "%s's image (%zu bytes, %s) with bit 0 of byte 0x%zx flipped",
                 a->device_id[0] ? a->device_id : "the unit", run.len,
                 attack_version(&run.info.version), at);
    outcome_t o;
    const ward_err_t err = try_image(a, "tampered", run.img, run.len, true, &o);
    free(run.img);
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "the private copy: %s", ward_err_name(err));
        return;
    }
    describe(a, r, &o);
}

void attack_boot_unsigned(attack_ctx_t *a, ward_attack_result_t *r)
{
    running_t run;
    if (!running(a, r, &run)) {
        return;
    }
    uint8_t *img = NULL;
    size_t len = 0;
    const ward_image_version_t v = newer(run.info.version);
    ward_err_t err = rebuild(&run, v, run.info.sec_cnt, NULL, slot_size(a->base), &img, &len);
    free(run.img);
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "building the unsigned image: %s", ward_err_name(err));
        return;
    }
    attack_tried(r, "the unit's firmware as version %s, security counter %u, no signature "
                    "(%zu bytes)", attack_version(&v), (unsigned)run.info.sec_cnt, len);
    outcome_t o;
    err = try_image(a, "unsigned", img, len, true, &o);
    free(img);
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "the private copy: %s", ward_err_name(err));
        return;
    }
    describe(a, r, &o);
}

void attack_boot_foreign_key(attack_ctx_t *a, ward_attack_result_t *r)
{
    running_t run;
    if (!running(a, r, &run)) {
        return;
    }
    psa_key_id_t key = 0;
    ward_sign_signer_t s;
    uint8_t *img = NULL;
    size_t len = 0;
    const ward_image_version_t v = newer(run.info.version);
    ward_err_t err = ward_sign_keygen(&key);
    if (err == WARD_OK) {
        err = ward_sign_signer_psa(&s, key);
    }
    if (err == WARD_OK) {
        err = rebuild(&run, v, run.info.sec_cnt, &s, slot_size(a->base), &img, &len);
    }
    uint8_t kh[32] = {0};
    if (err == WARD_OK) {
        err = ward_sha256(kh, s.spki, sizeof s.spki);
    }
    (void)psa_destroy_key(key);
    free(run.img);
    if (err != WARD_OK) {
        free(img);
        attack_verdict(r, WARD_ATTACK_ERROR, "signing with a new key: %s", ward_err_name(err));
        return;
    }
    attack_tried(r, "the unit's firmware as version %s signed with a fresh P-256 key (key hash "
                    "%02x%02x%02x%02x...)", attack_version(&v), kh[0], kh[1], kh[2], kh[3]);
    outcome_t o;
    err = try_image(a, "foreign-key", img, len, true, &o);
    free(img);
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "the private copy: %s", ward_err_name(err));
        return;
    }
    describe(a, r, &o);
}

/* The older image a swap left in the staging slot, if it is a valid,
 * older image (what an update leaves behind). */
static bool old_in_staging(attack_ctx_t *a, uint8_t **img, size_t *len, ward_image_info_t *info)
{
    ward_sim_device_t dev;
    bool ok = false;
    if (ward_sim_device_open(&dev, a->base) != WARD_OK) {
        return false;
    }
    ward_area_t s = dev.layout.secondary;
    if (ward_image_parse(info, ward_image_read_area, &s, ward_boot_image_max(&dev.layout)) ==
            WARD_OK &&
        ward_image_version_cmp(&info->version, &a->version) < 0) {
        *img = malloc(info->total_size);
        ok = *img != NULL && ward_area_read(&s, 0, *img, info->total_size) == WARD_OK;
        *len = info->total_size;
    }
    ward_sim_device_close(&dev);
    return ok;
}

void attack_boot_downgrade(attack_ctx_t *a, ward_attack_result_t *r)
{
    running_t run;
    if (!running(a, r, &run)) {
        return;
    }
    char why[600];
    ward_key_t *key = attack_fleet_key(a, false, why, sizeof why);
    uint8_t *same_cnt = NULL, *lower_cnt = NULL;
    size_t same_len = 0, lower_len = 0;
    ward_image_version_t older = run.info.version;
    ward_err_t err = WARD_OK;
    const char *source = "";
    bool can_lower = a->otp_counter > 0u;
    if (key != NULL) {
        /* An older version: a smaller build number, else a smaller revision... */
        if (older.build > 0u) {
            older.build--;
        } else if (older.revision > 0u) {
            older.revision--;
        } else if (older.minor > 0u) {
            older.minor--;
        } else if (older.major > 0u) {
            older.major--;
        } else {
            ward_key_close(key);
            free(run.img);
            attack_verdict(r, WARD_ATTACK_SKIPPED,
                           "the unit runs version 0.0.0+0: nothing is older");
            return;
        }
        const uint32_t slot = slot_size(a->base);
        err = rebuild(&run, older, run.info.sec_cnt, ward_key_signer(key), slot, &same_cnt,
                      &same_len);
        if (err == WARD_OK && can_lower) {
            err = rebuild(&run, older, a->otp_counter - 1u, ward_key_signer(key), slot,
                          &lower_cnt, &lower_len);
        }
        ward_key_close(key);
        source = "signed with the fleet's boot key";
    } else {
        ward_image_info_t oi;
        if (!old_in_staging(a, &lower_cnt, &lower_len, &oi)) {
            free(run.img);
            attack_verdict(r, WARD_ATTACK_SKIPPED,
                           "no genuine older image: %s, and the staging slot holds no older "
                           "image (run it after an update, or give --fleet)", why);
            return;
        }
        older = oi.version;
        source = "the previous firmware the swap left in the staging slot";
        if (oi.sec_cnt >= a->otp_counter) {
            /* Same counter: only the version check stands in the way. */
            same_cnt = lower_cnt;
            same_len = lower_len;
            lower_cnt = NULL;
            lower_len = 0;
            can_lower = false;
        }
    }
    free(run.img);
    if (err != WARD_OK) {
        free(same_cnt);
        free(lower_cnt);
        attack_verdict(r, WARD_ATTACK_ERROR, "signing the older images: %s", ward_err_name(err));
        return;
    }
    attack_tried(r, "the unit runs %s (security counter %u, OTP counter %u); older %s %s%s",
                 attack_version(&a->version), (unsigned)a->sec_cnt, (unsigned)a->otp_counter,
                 attack_version(&older), source,
                 lower_cnt != NULL ? ", once with a lower security counter" : "");
    bool any = false, ok = true;
    char obs[WARD_ATTACK_TEXT_MAX] = "";
    outcome_t o;
    if (same_cnt != NULL) {
        err = try_image(a, "older-same-counter", same_cnt, same_len, false, &o);
        ok = ok && err == WARD_OK;
        any = any || o.installed || o.ran_staged;
        snprintf(obs, sizeof obs, "older version, same counter, staged: %s",
                 o.installed ? "INSTALLED" : ward_err_name(o.staged_why));
        attack_evidence(r, "same counter staged: %s", ward_err_name(o.staged_why));
    }
    if (lower_cnt != NULL) {
        err = try_image(a, "older-lower-counter", lower_cnt, lower_len, true, &o);
        ok = ok && err == WARD_OK;
        any = any || o.installed || o.ran_staged || o.ran_primary;
        const size_t l = strlen(obs);
        snprintf(obs + l, sizeof obs - l,
                 "%slower counter, staged: %s; over the primary slot: %s%s%s",
                 l > 0u ? "; " : "", o.installed ? "INSTALLED" : ward_err_name(o.staged_why),
                 o.ran_primary ? "RUNS" : "refused to start (",
                 o.ran_primary ? "" : ward_err_name(o.image_why), o.ran_primary ? "" : ")");
        attack_evidence(r, "lower counter staged: %s; primary: boot %s, image %s",
                        ward_err_name(o.staged_why), ward_err_name(o.primary_why),
                        ward_err_name(o.image_why));
    } else if (!can_lower) {
        const size_t l = strlen(obs);
        snprintf(obs + l, sizeof obs - l, "%sno lower counter to try (OTP counter %u)",
                 l > 0u ? "; " : "", (unsigned)a->otp_counter);
    }
    free(same_cnt);
    free(lower_cnt);
    if (!ok) {
        attack_verdict(r, WARD_ATTACK_ERROR, "the private copy could not be made");
        return;
    }
    attack_verdict(r, any ? WARD_ATTACK_SUCCEEDED : WARD_ATTACK_REFUSED, "%s", obs);
}
