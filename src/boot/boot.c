/*
 * ward boot: the decision taken at every reset (docs/boot.md).
 *
 *   1. OTP: secure boot, debug lock, boot key hash, rollback counter.
 *   2. Finish an operation the journal says was interrupted; else revert a
 *      trial that was never confirmed; else act on an install request.
 *   3. Check the primary image; a trial image that fails is reverted at once.
 *   4. Raise the OTP counter for a confirmed, verified image; then run it.
 */
#include <string.h>

#include "boot_priv.h"
#include "image_priv.h"
#include "ward/util.h"

/* Fault-injection tests (tests/attacks/boot/test_boot_fault.c) compile this
 * file again with WARD_FI_TEST, and make ward_test_fi_skip(n) true for one
 * evaluation of check n: its failing branch is then skipped, as a glitch
 * would skip it. Without WARD_FI_TEST the hooks are 0 and compile away. */
#if defined(WARD_FI_TEST)
int ward_test_fi_skip(int n);
#define BOOT_FI_SKIP(n) ward_test_fi_skip(n)
#else
#define BOOT_FI_SKIP(n) 0
#endif

/* What the checks said about the image in one slot. */
typedef struct slot_check {
    ward_image_info_t info;
    ward_fih_t verified; /* WARD_FIH_SUCCESS: every check passed with the OTP key */
    ward_err_t reason;   /* the first failed check, or WARD_OK */
    uint32_t fp;         /* first 4 bytes of its SHA256 TLV: which image it is */
    bool parsed;         /* structurally an image that fits the slot */
    bool bootable;       /* parsed and not flagged NON_BOOTABLE */
} slot_check_t;

typedef struct otp_view {
    uint8_t key_hash[32];
    uint32_t counter;
    bool secure;
    bool debug;
    bool have_key;
} otp_view_t;

/* Swap units an operation may move: all but the last (the trailer's). */
static uint32_t max_units(const ward_boot_ctx_t *ctx)
{
    return ctx->geo.units - 1u;
}

static bool overlap(const ward_area_t *a, const ward_area_t *b)
{
    return a->flash == b->flash && a->off < b->off + b->size && b->off < a->off + a->size;
}

static ward_err_t layout_rules(const ward_boot_layout_t *l, ward_boot_layout_rule_t *rule,
                               ward_boot_geo_t *g)
{
    const ward_area_t *a[4] = {&l->primary, &l->secondary, &l->scratch, &l->state};
    memset(g, 0, sizeof *g);
    *rule = WARD_BOOT_RULE_AREA;
    for (uint32_t i = 0; i < 4u; i++) {
        if (ward_area_check(a[i]) != WARD_OK) {
            return WARD_ERR_BOOT_LAYOUT;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (overlap(a[i], a[j])) {
                *rule = WARD_BOOT_RULE_OVERLAP;
                return WARD_ERR_BOOT_LAYOUT;
            }
        }
    }
    /* Unit for unit through the scratch: the slots of one size, at least
     * two units (one for an image, the last for the trailer). */
    uint32_t at = 0, u = 0, largest = 0;
    *rule = WARD_BOOT_RULE_SLOTS;
    for (; at < l->primary.size; at += u) {
        if (ward_boot_unit_at(l, at, &u) != WARD_OK) {
            return WARD_ERR_BOOT_LAYOUT;
        }
        g->image_max = at;
        largest = u > largest ? u : largest;
        g->units++;
    }
    if (g->units < 2u || g->units > 0x10000000u) {
        return WARD_ERR_BOOT_LAYOUT;
    }
    /* The scratch's sectors that the largest unit covers. */
    uint32_t s0 = 0, ss = 0;
    *rule = WARD_BOOT_RULE_SCRATCH;
    if (ward_area_sector_at(&l->scratch, largest - 1u, &s0, &ss) != WARD_OK) {
        return WARD_ERR_BOOT_LAYOUT;
    }
    g->scratch_erase = s0 + ss;
    /* The trailer fits the secondary's last sector. */
    const uint32_t ws = l->secondary.flash->write_size;
    const uint32_t ma = ws > 8u ? ws : 8u;
    (void)ward_area_sector_at(&l->secondary, l->secondary.size - 1u, &g->req_off, &g->req_size);
    *rule = WARD_BOOT_RULE_TRAILER;
    if (ward_align_up(16u, ma) + ma > g->req_size) {
        return WARD_ERR_BOOT_LAYOUT;
    }
    /* Two journal sectors, each with room for a summary and a log; the
     * slot number is 16 bits. */
    *rule = WARD_BOOT_RULE_STATE;
    for (uint32_t k = 0; k < 2u; k++) {
        const uint32_t slots = ward_boot_rec_slots(&l->state, k);
        if (slots < 16u || slots > 0xFFFFu) {
            return WARD_ERR_BOOT_LAYOUT;
        }
    }
    *rule = WARD_BOOT_RULE_OK;
    return WARD_OK;
}

ward_err_t ward_boot_layout_check(const ward_boot_layout_t *layout, ward_boot_layout_rule_t *rule)
{
    ward_boot_layout_rule_t r = WARD_BOOT_RULE_AREA;
    ward_boot_geo_t g;
    ward_err_t err = WARD_ERR_INVALID_ARG;
    if (layout != NULL) {
        err = layout_rules(layout, &r, &g);
    }
    if (rule != NULL) {
        *rule = r;
    }
    return err;
}

uint32_t ward_boot_image_max(const ward_boot_layout_t *layout)
{
    ward_boot_layout_rule_t r;
    ward_boot_geo_t g;
    if (layout == NULL || layout_rules(layout, &r, &g) != WARD_OK) {
        return 0;
    }
    return g.image_max;
}

uint32_t ward_boot_units(const ward_boot_layout_t *layout)
{
    ward_boot_layout_rule_t r;
    ward_boot_geo_t g;
    if (layout == NULL || layout_rules(layout, &r, &g) != WARD_OK) {
        return 0;
    }
    return g.units;
}

ward_err_t ward_boot_init(ward_boot_ctx_t *ctx, const ward_boot_config_t *cfg)
{
    if (ctx == NULL || cfg == NULL || cfg->layout == NULL || cfg->otp == NULL ||
        (cfg->spki == NULL && cfg->spki_len != 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(ctx, 0, sizeof *ctx);
    ctx->cfg = *cfg;
    ward_boot_layout_rule_t rule;
    ward_err_t err = layout_rules(cfg->layout, &rule, &ctx->geo);
    if (err == WARD_OK) {
        err = ward_boot_journal_load(&cfg->layout->state, max_units(ctx), &ctx->st);
    }
    if (err == WARD_OK) {
        ctx->st.ready = 1;
    }
    return err;
}

static ward_err_t append(ward_boot_ctx_t *ctx, uint8_t type, uint8_t arg8, uint32_t arg32)
{
    return ward_boot_journal_append(&ctx->cfg.layout->state, max_units(ctx), &ctx->st, type,
                                    arg8, arg32);
}

static bool op_active(const ward_boot_state_t *st)
{
    return st->op != WARD_BOOT_OP_NONE && st->op_done == 0u;
}

static bool in_trial(const ward_boot_state_t *st)
{
    return st->op == WARD_BOOT_OP_TEST && st->op_done != 0u && st->confirmed == 0u;
}

/* A glitch that skips one read of the flag must not turn secure boot off. */
static bool secure_on(const otp_view_t *o)
{
    volatile const bool *p = &o->secure;
    return *p;
}

static ward_err_t read_otp(const ward_otp_t *otp, otp_view_t *o)
{
    bool s1 = false, s2 = false;
    memset(o, 0, sizeof *o);
    ward_err_t err = ward_otp_flag_get(otp, WARD_OTP_SECURE_BOOT, &s1);
    if (err == WARD_OK) {
        err = ward_otp_flag_get(otp, WARD_OTP_DEBUG_LOCK, &o->debug);
    }
    if (err == WARD_OK) {
        err = otp->read(otp->ctx, WARD_OTP_BOOT_KEY_HASH, o->key_hash, sizeof o->key_hash);
    }
    if (err == WARD_OK) {
        err = ward_otp_rollback_get(otp, &o->counter);
    }
    if (err == WARD_OK) {
        err = ward_otp_flag_get(otp, WARD_OTP_SECURE_BOOT, &s2);
    }
    /* Secure boot is off only if both reads say so. */
    o->secure = s1 || s2 || err != WARD_OK;
    o->have_key = !ward_ct_all(o->key_hash, 0u, sizeof o->key_hash);
    return err;
}

/* Parse and, when OTP holds a key, verify the image in a slot, with the
 * OTP counter as floor (o->counter: raised by raise_floor before an install
 * is checked). With o NULL, parse only: the fingerprint is all the caller
 * wants. Every field of c->info the boot acts on, and c->fp once verified,
 * come from the bytes that went through the hash (src/image). */
static ward_err_t check_slot(ward_boot_ctx_t *ctx, const ward_area_t *slot, const otp_view_t *o,
                             slot_check_t *c)
{
    ward_area_t a = *slot; /* the reader's context is not const */

    memset(c, 0, sizeof *c);
    c->verified = WARD_FIH_FAILURE;
    /* ward_boot_image_max, as init found it. */
    c->reason = ward_image_parse(&c->info, ward_image_read_area, &a, ctx->geo.image_max);
    if (c->reason != WARD_OK) {
        /* No image is not an error of the flash; anything else from the
         * reader (power, bus) is. */
        return c->reason == WARD_ERR_IO || c->reason == WARD_ERR_POWER_LOSS ? c->reason : WARD_OK;
    }
    c->parsed = true;
    if (c->info.has_hash) {
        uint8_t fp[4];
        ward_err_t err = ward_area_read(&a, c->info.hash_off, fp, sizeof fp);
        if (err != WARD_OK) {
            return err;
        }
        c->fp = ward_load_le32(fp);
    }
    if (o == NULL) {
        return WARD_OK;
    }
    if ((c->info.flags & WARD_IMAGE_F_NON_BOOTABLE) != 0u) {
        c->reason = WARD_ERR_IMG_UNSUPPORTED;
        return WARD_OK;
    }
    c->bootable = true;
    if (!o->have_key) {
        c->reason = WARD_ERR_BOOT_NO_KEY; /* nothing to verify against */
        return WARD_OK;
    }
    const ward_image_trust_t trust = {
        .key_hash = o->key_hash,
        .spki = ctx->cfg.spki,
        .spki_len = ctx->cfg.spki_len,
        .min_sec_cnt = o->counter,
    };
    ward_err_t why = WARD_ERR_IMG_SIG;
    uint32_t fp = 0;
    const ward_fih_t v =
        ward_image_validate_parsed(&c->info, ward_image_read_area, &a, &trust, &why, &fp);
    if (!WARD_FIH_EQ(v)) {
        c->reason = why == WARD_OK ? WARD_ERR_IMG_SIG : why;
        return why == WARD_ERR_IO || why == WARD_ERR_POWER_LOSS ? why : WARD_OK;
    }
    /* A counter OTP cannot hold could never be made to stick (and an image
     * with one, installed for good, would never verify again: looked at
     * twice, volatile, so one glitch cannot install it). */
    volatile const uint32_t *sc = &c->info.sec_cnt;
    if (*sc > WARD_CONFIG_OTP_ROLLBACK_BITS && !BOOT_FI_SKIP(10)) {
        c->reason = WARD_ERR_IMG_SEC_CNT_RANGE;
        return WARD_OK;
    }
    c->reason = WARD_OK;
    c->verified = (*sc <= WARD_CONFIG_OTP_ROLLBACK_BITS || BOOT_FI_SKIP(12)) ? v : WARD_FIH_FAILURE;
    c->fp = fp; /* the hash that verified, not a second read of its TLV */
    return WARD_OK;
}

/* May this slot's image run (or be installed)? With secure boot on, only
 * if it verified; with secure boot off, any bootable image. */
static ward_fih_t slot_ok(const slot_check_t *c, const otp_view_t *o)
{
    if (secure_on(o) && !BOOT_FI_SKIP(8)) {
        return c->verified;
    }
    if (secure_on(o) && !BOOT_FI_SKIP(9)) {
        return WARD_FIH_FAILURE; /* the first test was skipped */
    }
    return c->bootable ? WARD_FIH_SUCCESS : WARD_FIH_FAILURE;
}

/* Erase the secondary's last sector, whatever its size: the request. */
static ward_err_t erase_request(ward_boot_ctx_t *ctx)
{
    return ward_area_erase(&ctx->cfg.layout->secondary, ctx->geo.req_off, ctx->geo.req_size);
}

/* Carry the active operation to its end, from the first phase the journal
 * does not record as done. old: the image the primary held before an
 * install, as checked before it (NULL when resuming after a power cut). */
static ward_err_t run_op(ward_boot_ctx_t *ctx, const slot_check_t *old)
{
    ward_boot_state_t *st = &ctx->st;
    ward_err_t err = WARD_OK;

    if (st->steps_done == 0u) {
        /* The request is consumed before anything moves, so it is never
         * acted on twice. Redone after a cut: harmless. */
        err = erase_request(ctx);
    }
    const uint32_t total = 3u * st->nsectors;
    for (uint32_t k = st->steps_done; k < total && err == WARD_OK; k++) {
        err = ward_boot_swap_phase(ctx, k);
        if (err == WARD_OK) {
            err = append(ctx, WARD_BOOT_REC_STEP, 0, k + 1u);
        }
    }
    if (err != WARD_OK) {
        return err;
    }
    /* Remember which image the secondary now keeps, so that a revert puts
     * back exactly that one. */
    uint32_t fp = 0;
    if (old != NULL) {
        fp = old->fp; /* from the hash that verified it, if it did */
    } else if (st->op != WARD_BOOT_OP_REVERT) {
        slot_check_t b;
        /* Parse only: the fingerprint needs no signature. */
        err = check_slot(ctx, &ctx->cfg.layout->secondary, NULL, &b);
        if (err == WARD_ERR_IO) {
            /* Unreadable now: no fingerprint, so a revert will not match
             * and the installed image stays (it is checked at every boot). */
            b.fp = 0;
            err = WARD_OK;
        }
        if (err != WARD_OK) {
            return err;
        }
        fp = b.fp;
    }
    return append(ctx, WARD_BOOT_REC_DONE, 0, fp);
}

static ward_err_t start_op(ward_boot_ctx_t *ctx, uint8_t op, uint32_t n, const slot_check_t *old)
{
    ward_err_t err = append(ctx, WARD_BOOT_REC_BEGIN, op, n);
    return err == WARD_OK ? run_op(ctx, old) : err;
}

/* Anti-rollback: a confirmed image that verified lifts OTP to its counter
 * (never a trial: a revert may follow). o->counter follows OTP (the raise
 * reads the burnt bits back). A burn is for ever, and before an install
 * nothing else stands between a forged header and the fuses: the verdict
 * and, independently, the reason must both say so, so one skipped branch
 * burns nothing. */
static ward_err_t raise_floor(ward_boot_ctx_t *ctx, otp_view_t *o, const slot_check_t *c)
{
    ward_err_t err = WARD_OK;
    if (ctx->st.confirmed != 0u && (WARD_FIH_EQ(c->verified) || BOOT_FI_SKIP(1)) &&
        c->info.sec_cnt > o->counter && (c->reason == WARD_OK || BOOT_FI_SKIP(11))) {
        err = ward_otp_rollback_raise(ctx->cfg.otp, c->info.sec_cnt);
        if (err == WARD_OK) {
            o->counter = c->info.sec_cnt;
        }
    }
    return err;
}

/* Undo an unconfirmed trial, if the secondary still holds the image the
 * install moved there; otherwise keep the trial image (it is checked like
 * any other) and say why. */
static ward_err_t try_revert(ward_boot_ctx_t *ctx, const otp_view_t *o, ward_boot_report_t *rep,
                             bool *reverted)
{
    slot_check_t b;
    *reverted = false;
    ward_err_t err = check_slot(ctx, &ctx->cfg.layout->secondary, o, &b);
    if (err == WARD_ERR_IO) {
        rep->update_reason = err; /* the old image is unreadable: keep the trial */
        return WARD_OK;
    }
    if (err != WARD_OK) {
        return err;
    }
    ward_err_t why = b.reason != WARD_OK ? b.reason : WARD_ERR_IMG_SIG;
    if (WARD_FIH_EQ(slot_ok(&b, o))) {
        why = WARD_ERR_NOT_FOUND; /* a valid image, but not the previous one */
        if ((b.fp == ctx->st.backup_fp || BOOT_FI_SKIP(5)) && WARD_FIH_EQ(slot_ok(&b, o))) {
            rep->event = WARD_BOOT_EV_REVERTED;
            *reverted = true;
            return start_op(ctx, WARD_BOOT_OP_REVERT, ctx->st.nsectors, NULL);
        }
    }
    rep->update_reason = why;
    return WARD_OK;
}

static ward_err_t refuse(ward_boot_ctx_t *ctx, ward_boot_report_t *rep, ward_err_t reason)
{
    rep->event = WARD_BOOT_EV_REFUSED;
    rep->update_reason = reason;
    ward_err_t err = append(ctx, WARD_BOOT_REC_REFUSE, 0, (uint32_t)reason);
    /* Clear the request; the staged bytes stay for inspection. */
    return err == WARD_OK ? erase_request(ctx) : err;
}

/* An install request in the secondary: check the staged image, then
 * install it or refuse it. */
static ward_err_t handle_request(ward_boot_ctx_t *ctx, otp_view_t *o, ward_boot_report_t *rep)
{
    const ward_boot_layout_t *l = ctx->cfg.layout;
    slot_check_t s, p;
    int req = WARD_BOOT_REQ_NONE;

    /* The secondary is only a candidate: no error reading it may stop the
     * primary from booting. An unreadable request (a program torn by a
     * power cut reads back as an ECC error on such flash) or staged image
     * is refused, which erases the request sector and so clears it. */
    ward_err_t err = ward_boot_trailer_read(&l->secondary, &req);
    if (err == WARD_ERR_CORRUPT || err == WARD_ERR_IO) {
        return refuse(ctx, rep, err);
    }
    if (err != WARD_OK || req == WARD_BOOT_REQ_NONE) {
        return err;
    }
    /* The running image first. It is confirmed (no trial, no swap under
     * way): if it verifies, its counter is the floor, and it goes into OTP
     * now, before anything moves, not at the next reset (issue #7: an
     * image with a lower counter was installed in that window). */
    err = check_slot(ctx, &l->primary, o, &p);
    if (err == WARD_OK) {
        err = raise_floor(ctx, o, &p);
    }
    if (err != WARD_OK) {
        return err;
    }
    err = check_slot(ctx, &l->secondary, o, &s);
    if (err == WARD_ERR_IO) {
        return refuse(ctx, rep, err);
    }
    if (err != WARD_OK) {
        return err;
    }
    if (!WARD_FIH_EQ(slot_ok(&s, o)) && !BOOT_FI_SKIP(2)) {
        return refuse(ctx, rep, s.reason != WARD_OK ? s.reason : WARD_ERR_IMG_SIG);
    }
#if WARD_CONFIG_BOOT_DOWNGRADE_PREVENTION
    /* Only an image that may run sets the floor: a forged header with a
     * high version must not block updates. */
    if (WARD_FIH_EQ(slot_ok(&p, o)) && ward_image_version_cmp(&s.info.version, &p.info.version) < 0 &&
        !BOOT_FI_SKIP(3)) {
        return refuse(ctx, rep, WARD_ERR_IMG_DOWNGRADE);
    }
#endif
    /* Swap the units either image occupies, so both survive whole. Both
     * parsed within image_max, which is where the last unit starts. */
    const uint32_t size = p.parsed && p.info.total_size > s.info.total_size ? p.info.total_size
                                                                            : s.info.total_size;
    uint32_t at = 0, u = 0;
    const uint32_t n = ward_boot_unit_walk(l, max_units(ctx) - 1u, size, &at, &u) + 1u;
    if (!WARD_FIH_EQ(slot_ok(&s, o)) && !BOOT_FI_SKIP(4)) {
        return refuse(ctx, rep, WARD_ERR_IMG_SIG); /* second look before moving anything */
    }
    rep->event = WARD_BOOT_EV_INSTALLED;
    return start_op(ctx, req == WARD_BOOT_REQ_PERM ? WARD_BOOT_OP_PERM : WARD_BOOT_OP_TEST, n, &p);
}

static void report_image(const ward_boot_ctx_t *ctx, const slot_check_t *c,
                         ward_boot_report_t *rep)
{
    rep->image_reason = c->reason;
    rep->verified = WARD_FIH_EQ(c->verified);
    if (c->parsed) {
        rep->entry_off = ctx->cfg.layout->primary.off + c->info.hdr_size;
        rep->image_size = c->info.total_size;
        rep->version = c->info.version;
        rep->sec_cnt = c->info.sec_cnt;
    }
}

ward_fih_t ward_boot_go(ward_boot_ctx_t *ctx, ward_boot_report_t *rep)
{
    otp_view_t o;
    slot_check_t c;
    bool reverted = false;
    volatile ward_fih_t res = WARD_FIH_FAILURE;

    if (rep == NULL) {
        return WARD_FIH_FAILURE;
    }
    memset(rep, 0, sizeof *rep);
    rep->reason = WARD_ERR_BOOT_NO_IMAGE;
    rep->image_reason = WARD_ERR_BOOT_NO_IMAGE;
    if (ctx == NULL || ctx->st.ready == 0u) {
        rep->reason = WARD_ERR_INVALID_ARG;
        return WARD_FIH_FAILURE;
    }
    ward_err_t err = read_otp(ctx->cfg.otp, &o);
    rep->secure_boot = o.secure;
    rep->debug_locked = o.debug;
    if (err == WARD_OK && o.secure && !o.have_key) {
        err = WARD_ERR_BOOT_NO_KEY;
    }

    /* Settle the slots: finish, revert or install. */
    if (err == WARD_OK && op_active(&ctx->st)) {
        rep->resumed = true;
        rep->event = ctx->st.op == WARD_BOOT_OP_REVERT ? WARD_BOOT_EV_REVERTED
                                                       : WARD_BOOT_EV_INSTALLED;
        err = run_op(ctx, NULL);
    } else if (err == WARD_OK && in_trial(&ctx->st)) {
        err = try_revert(ctx, &o, rep, &reverted); /* the reset after the trial */
    } else if (err == WARD_OK) {
        err = handle_request(ctx, &o, rep);
    }

    /* The image that is to run. */
    if (err == WARD_OK) {
        err = check_slot(ctx, &ctx->cfg.layout->primary, &o, &c);
    }
    if (err == WARD_OK && !WARD_FIH_EQ(slot_ok(&c, &o)) && in_trial(&ctx->st)) {
        err = try_revert(ctx, &o, rep, &reverted); /* a trial image that fails: at once */
        if (err == WARD_OK && reverted) {
            err = check_slot(ctx, &ctx->cfg.layout->primary, &o, &c);
        }
    }
    rep->otp_counter = o.counter; /* raised before an install, if it was */
    if (err != WARD_OK) {
        rep->reason = err;
        return WARD_FIH_FAILURE;
    }
    report_image(ctx, &c, rep);
    rep->trial = in_trial(&ctx->st);
    res = slot_ok(&c, &o);
    if (!WARD_FIH_EQ(res) && !BOOT_FI_SKIP(6)) {
        rep->reason = WARD_ERR_BOOT_NO_IMAGE;
        return WARD_FIH_FAILURE;
    }

    /* Anti-rollback: only a confirmed, verified image moves the floor, and
     * only now, when no revert can follow. */
    err = raise_floor(ctx, &o, &c);
    rep->otp_counter = o.counter;
    if (err != WARD_OK) {
        rep->reason = err;
        return WARD_FIH_FAILURE;
    }
    if (!WARD_FIH_EQ(res) && !BOOT_FI_SKIP(7)) {
        return WARD_FIH_FAILURE;
    }
    rep->reason = WARD_OK;
    return res;
}

ward_err_t ward_boot_confirm(ward_boot_ctx_t *ctx)
{
    if (ctx == NULL || ctx->st.ready == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    if (op_active(&ctx->st)) {
        return WARD_ERR_STATE; /* only the bootloader finishes a swap */
    }
    if (!in_trial(&ctx->st)) {
        return WARD_OK;
    }
    return append(ctx, WARD_BOOT_REC_CONFIRM, 0, 0);
}

ward_err_t ward_boot_request_install(ward_boot_ctx_t *ctx, bool permanent)
{
    ward_image_info_t info;
    if (ctx == NULL || ctx->st.ready == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    /* During a trial the secondary holds the only copy of the previous
     * image: confirm first. */
    if (op_active(&ctx->st) || in_trial(&ctx->st)) {
        return WARD_ERR_STATE;
    }
    ward_area_t a = ctx->cfg.layout->secondary;
    ward_err_t err = ward_image_parse(&info, ward_image_read_area, &a, ctx->geo.image_max);
    if (err != WARD_OK) {
        return err;
    }
    return ward_boot_trailer_write(&a, permanent, ctx->buf, sizeof ctx->buf);
}

ward_err_t ward_boot_request_pending(ward_boot_ctx_t *ctx, bool *pending, bool *permanent)
{
    int req = WARD_BOOT_REQ_NONE;
    if (ctx == NULL || pending == NULL || permanent == NULL || ctx->st.ready == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_boot_trailer_read(&ctx->cfg.layout->secondary, &req);
    *pending = req != WARD_BOOT_REQ_NONE;
    *permanent = req == WARD_BOOT_REQ_PERM;
    return err;
}

ward_err_t ward_boot_status(ward_boot_ctx_t *ctx, ward_boot_report_t *rep)
{
    otp_view_t o;
    slot_check_t c;
    if (ctx == NULL || rep == NULL || ctx->st.ready == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(rep, 0, sizeof *rep);
    ward_err_t err = read_otp(ctx->cfg.otp, &o);
    if (err == WARD_OK) {
        err = check_slot(ctx, &ctx->cfg.layout->primary, &o, &c);
    }
    if (err != WARD_OK) {
        return err;
    }
    rep->secure_boot = o.secure;
    rep->debug_locked = o.debug;
    rep->otp_counter = o.counter;
    report_image(ctx, &c, rep);
    rep->trial = in_trial(&ctx->st);
    rep->resumed = op_active(&ctx->st); /* an interrupted swap awaits the next boot */
    rep->update_reason = ctx->st.refused;
    rep->event = WARD_BOOT_EV_NONE;
    if (o.secure && !o.have_key) {
        rep->reason = WARD_ERR_BOOT_NO_KEY;
    } else {
        rep->reason = WARD_FIH_EQ(slot_ok(&c, &o)) ? WARD_OK : WARD_ERR_BOOT_NO_IMAGE;
    }
    return WARD_OK;
}

ward_err_t ward_boot_floor(ward_boot_ctx_t *ctx, uint32_t *floor)
{
    otp_view_t o;
    slot_check_t c;
    if (floor == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *floor = UINT32_MAX; /* on any failure: nothing is above it */
    if (ctx == NULL || ctx->st.ready == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = read_otp(ctx->cfg.otp, &o);
    /* Only a confirmed image counts (not a trial, not one a swap is
     * moving), and only if it verifies now with the OTP counter as floor. */
    if (err == WARD_OK && !op_active(&ctx->st) && !in_trial(&ctx->st) && ctx->st.confirmed != 0u) {
        err = check_slot(ctx, &ctx->cfg.layout->primary, &o, &c);
        if (err == WARD_OK && WARD_FIH_EQ(c.verified) && c.info.sec_cnt > o.counter) {
            o.counter = c.info.sec_cnt;
        }
    }
    if (err == WARD_OK) {
        *floor = o.counter;
    }
    return err;
}
