/*
 * A hostile flash at boot (issue #7): an SPI interposer or a flash emulator
 * on an external-flash part controls what every read returns, not only what
 * the chip holds. The flash port is wrapped in ward_sim_hostile_t; for each
 * scenario and each substitute flash, the reads R of an honest boot are
 * counted, then the boot is run again R times with read N lying (N = 1..R),
 * and R times with every read from N on lying.
 *
 * The rule checked: what the boot acts on (the image it runs: entry offset,
 * size, version, security counter, trial or not; the OTP counter it burns;
 * the image a later revert will accept) is what it authenticated. Either
 * the boot refuses, or the outcome is one that some consistent flash gives:
 *  - one read lies: the outcome must be that of the honest flash, of the
 *    flash with the attacked region (primary slot, staged image, install
 *    request, scratch) replaced by the substitute's bytes, or by garbage,
 *    or the image that ran before keeps running. A mix of the two (an entry
 *    offset from one image and a hash from another) is none of these.
 *  - every read from N on lies: whatever runs must be a whole image that
 *    verifies with the device key and is not below the floor, and the OTP
 *    counter only takes the counter of such an image.
 * The boot journal is not authenticated (docs/boot.md section 6: whoever
 * can write the flash can rewrite it); lies in its reads are swept against
 * the second rule only, with another device's flash as substitute.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boot_priv.h"
#include "unit/boot/boot_fixture.h"

#define SS 1024u
#define SLOT_SECTORS 6u
#define PAYLOAD 1800u
#define HDR 0x200u
#define ALT_HDR 0x100u
#define MAX_IMGS 24
#define MAX_SHOWN 12 /* violations printed per sweep */

static bf_key_t g_key, g_other;

/* ---- images ---------------------------------------------------------------- */

/* What a boot acting on this image reports. */
typedef struct {
    uint32_t hdr_size;
    uint32_t size;
    ward_image_version_t ver;
    uint32_t sec_cnt;
    uint32_t fp;      /* first 4 bytes of its SHA-256 */
    uint32_t tlv_off; /* end of the hashed bytes */
    bool valid;       /* verifies with the device key */
} tuple_t;

typedef struct {
    bf_img_t img;
    tuple_t t;
} img_t;

static void payload(uint8_t *p, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 7u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static void tuple_of(img_t *m, bool valid)
{
    ward_image_mem_t mem = {m->img.data, m->img.len};
    ward_image_info_t info;
    uint8_t h[32];
    /* A forged image parses (its fields were fixed up) but does not verify. */
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &mem, (uint32_t)m->img.len),
                     WARD_OK);
    assert_int_equal(ward_image_hash(&info, ward_image_read_mem, &mem, h), WARD_OK);
    m->t.hdr_size = info.hdr_size;
    m->t.size = info.total_size;
    m->t.ver = info.version;
    m->t.sec_cnt = info.sec_cnt;
    m->t.fp = ward_load_le32(h);
    m->t.tlv_off = info.tlv_off;
    m->t.valid = valid;
}

/* A protected custom TLV whose value happens to read as a SEC_CNT TLV
 * with counter 9 (a build id, a boot record: the signer's bytes). */
static const uint8_t k_custom_val[8] = {0x50, 0x00, 0x04, 0x00, 0x09, 0x00, 0x00, 0x00};
static const ward_sign_tlv_t k_custom = {k_custom_val, 0x00a0, sizeof k_custom_val};

/* Signed image: header hdr bytes, payload len bytes from seed; with the
 * custom TLV above when custom. */
static void mk_ex(img_t *m, const bf_key_t *k, uint8_t maj, uint8_t min, uint32_t sec,
                  uint32_t hdr, size_t len, uint32_t seed, bool custom)
{
    ward_sign_opts_t o;
    uint8_t *bin = malloc(len);
    assert_non_null(bin);
    ward_sign_opts_init(&o);
    o.version.major = maj;
    o.version.minor = min;
    o.header_size = hdr;
    o.pad_header = true;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o.sec_cnt = sec;
    if (custom) {
        o.custom_tlvs = &k_custom;
        o.custom_tlv_count = 1;
    }
    payload(bin, len, seed);
    memset(m, 0, sizeof *m);
    assert_int_equal(ward_sign_image(&o, bin, len, k->id, &m->img.data, &m->img.len), WARD_OK);
    free(bin);
    tuple_of(m, k == &g_key);
}

static void mk(img_t *m, const bf_key_t *k, uint8_t maj, uint8_t min, uint32_t sec, uint32_t hdr,
               size_t len, uint32_t seed)
{
    mk_ex(m, k, maj, min, sec, hdr, len, seed, false);
}

/* The same key, another build: a smaller header, so another entry point,
 * with the payload grown by as much, so every TLV sits where x has its own.
 * Version x.major.7, counter x's + 1. */
static void mk_alt(img_t *m, const img_t *x, uint32_t seed, bool custom)
{
    mk_ex(m, &g_key, x->t.ver.major, 7, x->t.sec_cnt + 1u, ALT_HDR, PAYLOAD + (HDR - ALT_HDR),
          seed, custom);
    assert_int_equal(m->t.tlv_off, x->t.tlv_off);
}

/* x (with the custom TLV) with its protected SEC_CNT header forged into
 * (0xa5, 8): a walk over it skips the real counter and the custom TLV's
 * header, and finds "counter 9" inside the custom value. */
static void mk_forged_prot(img_t *m, const img_t *x)
{
    memset(m, 0, sizeof *m);
    m->img.len = x->img.len;
    m->img.data = malloc(x->img.len);
    assert_non_null(m->img.data);
    memcpy(m->img.data, x->img.data, x->img.len);
    const uint32_t h = x->t.hdr_size + ward_load_le32(x->img.data + 12) + 4u; /* SEC_CNT TLV */
    assert_int_equal(ward_load_le16(m->img.data + h), WARD_TLV_SEC_CNT);
    ward_store_le16(m->img.data + h, 0x00a5);
    ward_store_le16(m->img.data + h + 2u, 8);
    tuple_of(m, false);
    assert_int_equal(m->t.sec_cnt, 9); /* what a parse of it finds */
}

/* x with a forged header: entry point 0x100 (img_size grown to match, so
 * the TLVs are found), version 9.9.9. Not re-signed: it cannot verify. */
static void mk_forged(img_t *m, const img_t *x)
{
    memset(m, 0, sizeof *m);
    m->img.len = x->img.len;
    m->img.data = malloc(x->img.len);
    assert_non_null(m->img.data);
    memcpy(m->img.data, x->img.data, x->img.len);
    uint8_t *h = m->img.data;
    ward_store_le16(h + 8, (uint16_t)ALT_HDR);
    ward_store_le32(h + 12, ward_load_le32(h + 12) + (HDR - ALT_HDR));
    h[20] = 9;
    h[21] = 9;
    ward_store_le16(h + 22, 9);
    tuple_of(m, false);
}

/* ---- the rig: a device whose flash lies ------------------------------------ */

typedef struct {
    ward_sim_device_t d;
    ward_sim_hostile_t h;
    ward_flash_t spy;          /* over h.port: notes which read was the lying one */
    ward_boot_layout_t lay;    /* d.layout on the spy */
    uint32_t lied_off;         /* flash offset of the read that lied (single mode) */
} rig_t;

static ward_err_t spy_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    rig_t *r = ctx;
    const uint64_t reads = r->h.reads;
    ward_err_t err = r->h.port.read(r->h.port.ctx, off, buf, len);
    if (r->h.reads != reads && r->h.reads == r->h.attack_read) {
        r->lied_off = off;
    }
    return err;
}

static ward_err_t spy_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    rig_t *r = ctx;
    return r->h.port.prog(r->h.port.ctx, off, buf, len);
}

static ward_err_t spy_erase(void *ctx, uint32_t off)
{
    rig_t *r = ctx;
    return r->h.port.erase(r->h.port.ctx, off);
}

static void rig_open(rig_t *r)
{
    ward_sim_geometry_t geo;
    memset(r, 0, sizeof *r);
    bf_geo(&geo, SS, 8, SLOT_SECTORS, true);
    assert_int_equal(ward_sim_device_open_mem(&r->d, &geo), WARD_OK);
}

/* Attack reads that overlap [lo, hi). */
static void rig_window(rig_t *r, uint32_t lo, uint32_t hi)
{
    ward_sim_hostile_init(&r->h, &r->d.flash.port, lo, hi);
    r->spy = r->h.port;
    r->spy.ctx = r;
    r->spy.read = spy_read;
    r->spy.prog = spy_prog;
    r->spy.erase = spy_erase;
    r->lay = r->d.layout;
    r->lay.primary.flash = &r->spy;
    r->lay.secondary.flash = &r->spy;
    r->lay.scratch.flash = &r->spy;
    r->lay.state.flash = &r->spy;
}

/* What one boot did. */
typedef struct {
    bool ran;      /* ward_boot_go said the primary may run */
    bool verified; /* ... and that it verified */
    bool trial;
    uint32_t entry_off, size, sec_cnt;
    ward_image_version_t ver;
    uint32_t otp;       /* OTP counter afterwards */
    bool in_trial;      /* the journal afterwards: an unconfirmed trial ... */
    uint32_t backup_fp; /* ... that only reverts to this image */
    uint64_t reads;     /* reads of the window */
    uint64_t hits;      /* reads that returned other bytes */
} outcome_t;

static void journal_after(rig_t *r, outcome_t *o)
{
    ward_boot_state_t st;
    assert_int_equal(bf_state(&r->d, &st), 0); /* honest reads */
    o->in_trial = st.op == WARD_BOOT_OP_TEST && st.op_done != 0u && st.confirmed == 0u;
    o->backup_fp = o->in_trial ? st.backup_fp : 0u;
    o->otp = bf_counter(&r->d);
}

/* Reset the device to start (plus an optional patch of its flash), then
 * boot with read n lying (every read from n on with from; n = 0: honest). */
static void run(rig_t *r, const bf_snap_t *start, uint64_t n, bool from, const uint8_t *subst,
                uint32_t patch_off, uint32_t patch_len, const uint8_t *patch, outcome_t *o)
{
    ward_boot_config_t cfg;
    ward_boot_ctx_t ctx;
    ward_boot_report_t rep;
    memset(o, 0, sizeof *o);
    assert_int_equal(bf_snap_load(&r->d, start), 0);
    uint8_t *mem = ward_sim_flash_mem(&r->d.flash);
    if (patch_len > 0u) {
        if (patch != NULL) {
            memcpy(mem + patch_off, patch + patch_off, patch_len);
        } else {
            memset(mem + patch_off, 0, patch_len);
        }
    }
    r->lied_off = UINT32_MAX;
    ward_sim_hostile_arm(&r->h, n, from, subst, r->d.flash.port.size);
    ward_sim_device_boot_config(&r->d, &cfg);
    cfg.layout = &r->lay;
    if (ward_boot_init(&ctx, &cfg) == WARD_OK) {
        ward_fih_t go = ward_boot_go(&ctx, &rep);
        if (WARD_FIH_EQ(go)) {
            o->ran = true;
            o->verified = rep.verified;
            o->trial = rep.trial;
            o->entry_off = rep.entry_off;
            o->size = rep.image_size;
            o->sec_cnt = rep.sec_cnt;
            o->ver = rep.version;
        }
    }
    o->reads = r->h.reads;
    o->hits = r->h.hits;
    ward_sim_hostile_arm(&r->h, 0, false, NULL, 0);
    journal_after(r, o);
}

/* The image that ran before this boot, as a boot that keeps it reports. */
static void running_before(rig_t *r, const bf_snap_t *start, outcome_t *o)
{
    ward_boot_ctx_t ctx;
    ward_boot_report_t rep;
    memset(o, 0, sizeof *o);
    assert_int_equal(bf_snap_load(&r->d, start), 0);
    assert_int_equal(bf_init_ctx(&r->d, &ctx), WARD_OK);
    assert_int_equal(ward_boot_status(&ctx, &rep), WARD_OK);
    o->ran = rep.reason == WARD_OK;
    o->verified = rep.verified;
    o->trial = rep.trial;
    o->entry_off = rep.entry_off;
    o->size = rep.image_size;
    o->sec_cnt = rep.sec_cnt;
    o->ver = rep.version;
    journal_after(r, o);
}

static bool same_ver(const ward_image_version_t *a, const ward_image_version_t *b)
{
    return ward_image_version_cmp(a, b) == 0;
}

static bool same_run(const outcome_t *a, const outcome_t *b)
{
    return a->ran && b->ran && a->verified == b->verified && a->trial == b->trial &&
           a->entry_off == b->entry_off && a->size == b->size && a->sec_cnt == b->sec_cnt &&
           same_ver(&a->ver, &b->ver);
}

/* ---- scenarios ------------------------------------------------------------- */

typedef struct {
    img_t A, B, Bd, O, old, altA, altB, altBd, altO, fgA, fgB, fgBd, fgO;
    img_t C, altC, fgC; /* with the custom protected TLV */
    img_t fa, fb, fc; /* the other device's */
    uint8_t *foreign; /* the other device's whole flash */
    img_t *all[MAX_IMGS];
    int nall;
} lib_t;

static lib_t g;

static void lib_add(img_t *m)
{
    assert_true(g.nall < MAX_IMGS);
    g.all[g.nall++] = m;
}

typedef struct {
    const char *name;
    img_t *prim, *sec; /* the images in the slots (sec NULL: none) */
    bf_snap_t start;
} scen_t;

/* A provisioned device running A (1.0.0, counter 3), confirmed; OTP 3. */
static void base(rig_t *r)
{
    ward_boot_report_t rep;
    assert_int_equal(bf_provision(&r->d, &g_key, true, true), 0);
    assert_int_equal(bf_write(&r->d.layout.primary, g.A.img.data, g.A.img.len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&r->d, &rep)));
    assert_int_equal(bf_counter(&r->d), 3);
}

static void trial_of_B(rig_t *r)
{
    ward_boot_report_t rep;
    base(r);
    assert_int_equal(bf_stage(&r->d, &g.B.img, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&r->d, &rep)));
    assert_true(rep.trial);
}

enum {
    SC_BOOT,
    SC_CUSTOM,
    SC_INSTALL,
    SC_DOWNGRADE,
    SC_REVERT,
    SC_REVERT_OTHER,
    SC_CONFIRMED,
    SC_COUNT
};

static void scen_build(rig_t *r, int which, scen_t *s)
{
    memset(s, 0, sizeof *s);
    switch (which) {
    case SC_BOOT:
        s->name = "plain boot of a verified image";
        base(r);
        s->prim = &g.A;
        break;
    case SC_CUSTOM:
        s->name = "plain boot, image with a custom protected TLV";
        base(r);
        assert_int_equal(bf_write(&r->d.layout.primary, g.C.img.data, g.C.img.len), 0);
        s->prim = &g.C;
        break;
    case SC_INSTALL:
        s->name = "install of a staged update (trial)";
        base(r);
        assert_int_equal(bf_stage(&r->d, &g.B.img, false), WARD_OK);
        s->prim = &g.A;
        s->sec = &g.B;
        break;
    case SC_DOWNGRADE:
        s->name = "staged older version (refused as a downgrade), for good";
        base(r);
        assert_int_equal(bf_stage(&r->d, &g.Bd.img, true), WARD_OK);
        s->prim = &g.A;
        s->sec = &g.Bd;
        break;
    case SC_REVERT:
        s->name = "trial revert";
        trial_of_B(r);
        s->prim = &g.B;
        s->sec = &g.A;
        break;
    case SC_REVERT_OTHER:
        s->name = "trial whose backup was replaced (no revert)";
        trial_of_B(r);
        assert_int_equal(bf_write(&r->d.layout.secondary, g.O.img.data, g.O.img.len), 0);
        s->prim = &g.B;
        s->sec = &g.O;
        break;
    default:
        s->name = "boot after confirm (burns the counter)";
        trial_of_B(r);
        assert_int_equal(bf_confirm(&r->d), WARD_OK);
        s->prim = &g.B;
        s->sec = &g.A;
        break;
    }
    assert_int_equal(bf_snap_save(&r->d, &s->start), 0);
}

enum { SUB_OLD, SUB_ALT, SUB_FORGED, SUB_FOREIGN, SUB_COUNT };
static const char *const k_sub[SUB_COUNT] = {
    "older signed image, lower counter", "same key, other entry point",
    "forged header or protected TLV", "another device's flash"};

static const img_t *sub_for(int sub, const img_t *x)
{
    if (sub == SUB_OLD) {
        /* Older and below: B -> A (the genuine backup, for the revert
         * cases), O -> A, anything else -> 0.5.0 with counter 1. */
        return x == &g.B || x == &g.O ? &g.A : &g.old;
    }
    if (sub == SUB_ALT) {
        return x == &g.A    ? &g.altA
               : x == &g.B  ? &g.altB
               : x == &g.Bd ? &g.altBd
               : x == &g.C  ? &g.altC
                            : &g.altO;
    }
    return x == &g.A    ? &g.fgA
           : x == &g.B  ? &g.fgB
           : x == &g.Bd ? &g.fgBd
           : x == &g.C  ? &g.fgC
                        : &g.fgO;
}

/* The whole flash as the substitute has it. */
static uint8_t *sub_flash(rig_t *r, const scen_t *s, int sub)
{
    const size_t n = r->d.flash.port.size;
    uint8_t *f = malloc(n);
    assert_non_null(f);
    if (sub == SUB_FOREIGN) {
        memcpy(f, g.foreign, n);
        return f;
    }
    memcpy(f, s->start.flash, n);
    const img_t *p = sub_for(sub, s->prim);
    memcpy(f + r->d.layout.primary.off, p->img.data, p->img.len);
    if (s->sec != NULL) {
        const img_t *q = sub_for(sub, s->sec);
        memcpy(f + r->d.layout.secondary.off, q->img.data, q->img.len);
    }
    return f;
}

/* ---- oracles --------------------------------------------------------------- */

/* Every read from N on lies: only whole images that verify count, and
 * none below the OTP counter (the counter of a confirmed image that OTP
 * does not hold yet is only as good as that image's evidence: a flash that
 * shows another image has none; docs/boot.md section 8). */
static bool auth_ok(const rig_t *r, const outcome_t *o, const outcome_t *pre, bool check_fp)
{
    bool run_ok = !o->ran, otp_ok = o->otp == pre->otp;
    /* A revert is bound to a whole image's fingerprint (one that cannot
     * verify is harmless: nothing will ever match it), never to a value
     * pieced together from two images. */
    bool fp_ok = !check_fp || !o->in_trial || o->backup_fp == pre->backup_fp || o->backup_fp == 0u;
    for (int i = 0; i < g.nall; i++) {
        const tuple_t *t = &g.all[i]->t;
        fp_ok = fp_ok || o->backup_fp == t->fp;
        if (!t->valid || t->sec_cnt < pre->otp) {
            continue;
        }
        run_ok = run_ok || (o->verified && o->entry_off == r->d.layout.primary.off + t->hdr_size &&
                            o->size == t->size && o->sec_cnt == t->sec_cnt &&
                            same_ver(&o->ver, &t->ver));
        otp_ok = otp_ok || o->otp == t->sec_cnt;
    }
    return run_ok && otp_ok && fp_ok;
}

/* One read lies: the outcome of some consistent flash, or a refusal. */
static bool single_ok(const outcome_t *o, const outcome_t *w[], int nw)
{
    bool run_ok = !o->ran, otp_ok = false, fp_ok = !o->in_trial;
    for (int i = 0; i < nw; i++) {
        run_ok = run_ok || same_run(o, w[i]);
        otp_ok = otp_ok || o->otp == w[i]->otp;
        fp_ok = fp_ok || (w[i]->in_trial && o->backup_fp == w[i]->backup_fp);
    }
    return run_ok && otp_ok && fp_ok && (!o->ran || o->verified);
}

static void show(const char *what, uint64_t n, uint32_t off, const outcome_t *o,
                 const outcome_t *h)
{
    print_message("    ACCEPTED %s N=%llu (flash offset 0x%x): ran %d verified %d trial %d "
                  "entry 0x%x size %u v%u.%u.%u sec_cnt %u otp %u revert-to %08x | honest: "
                  "entry 0x%x v%u.%u.%u sec_cnt %u otp %u\n",
                  what, (unsigned long long)n, off, o->ran, o->verified, o->trial, o->entry_off,
                  o->size, o->ver.major, o->ver.minor, o->ver.revision, o->sec_cnt, o->otp,
                  o->in_trial ? o->backup_fp : 0u, h->entry_off, h->ver.major, h->ver.minor,
                  h->ver.revision, h->sec_cnt, h->otp);
}

typedef struct {
    uint64_t reads, runs, lies, accepted;
} tally_t;

/* The regions a lying read can fall in, and the consistent worlds each
 * allows: that region garbage, or as the substitute has it. */
enum { RG_PRIMARY, RG_STAGED, RG_REQUEST, RG_SCRATCH, RG_COUNT };

static int region_of(const rig_t *r, uint32_t off, uint32_t *lo, uint32_t *len)
{
    const ward_boot_layout_t *l = &r->d.layout;
    const uint32_t req = l->secondary.off + l->secondary.size - SS;
    if (off < l->secondary.off) {
        *lo = l->primary.off;
        *len = l->primary.size - SS;
        return RG_PRIMARY;
    }
    if (off < req) {
        *lo = l->secondary.off;
        *len = req - l->secondary.off;
        return RG_STAGED;
    }
    if (off < l->scratch.off) {
        *lo = req;
        *len = SS;
        return RG_REQUEST;
    }
    *lo = l->scratch.off;
    *len = l->scratch.size;
    return RG_SCRATCH;
}

/* Sweep the image area (both slots and the scratch) of one scenario with
 * one substitute. */
static void sweep_images(rig_t *r, const scen_t *s, int sub, tally_t *t)
{
    outcome_t hon, pre, o, worlds[RG_COUNT][2];
    bool have[RG_COUNT] = {false};
    uint8_t *subst = sub_flash(r, s, sub);
    uint64_t shown = 0, acc = 0;
    const ward_boot_layout_t *l = &r->d.layout;
    rig_window(r, l->primary.off, l->scratch.off + l->scratch.size);

    running_before(r, &s->start, &pre);
    run(r, &s->start, 0, false, subst, 0, 0, NULL, &hon);
    assert_true(hon.ran);
    assert_true(hon.verified);
    const uint64_t reads = hon.reads;
    assert_true(reads > 0u);
    for (uint64_t n = 1; n <= reads; n++) {
        /* One read lies. */
        run(r, &s->start, n, false, subst, 0, 0, NULL, &o);
        t->runs++;
        t->lies += o.hits;
        uint32_t lo, len;
        const uint32_t off = r->lied_off;
        const int rg = off == UINT32_MAX ? RG_SCRATCH : region_of(r, off, &lo, &len);
        if (off != UINT32_MAX && !have[rg]) {
            run(r, &s->start, 0, false, subst, lo, len, NULL, &worlds[rg][0]);
            run(r, &s->start, 0, false, subst, lo, len, subst, &worlds[rg][1]);
            have[rg] = true;
        }
        const outcome_t *w[4] = {&hon, &pre, NULL, NULL};
        int nw = 2;
        if (off != UINT32_MAX) {
            w[nw++] = &worlds[rg][0];
            w[nw++] = &worlds[rg][1];
        }
        if (!single_ok(&o, w, nw)) {
            acc++;
            if (shown++ < MAX_SHOWN) {
                show("one lying read", n, off, &o, &hon);
            }
        }
        /* Every read from N on lies. */
        run(r, &s->start, n, true, subst, 0, 0, NULL, &o);
        t->runs++;
        t->lies += o.hits;
        if (!auth_ok(r, &o, &pre, true)) {
            acc++;
            if (shown++ < MAX_SHOWN) {
                show("reads lying from", n, r->lied_off, &o, &hon);
            }
        }
    }
    t->reads += reads;
    t->accepted += acc;
    print_message("[ HOSTILE  ] %-52s %-34s image reads %3llu: %3llu runs, %llu accepted\n",
                  s->name, k_sub[sub], (unsigned long long)reads,
                  (unsigned long long)(2u * reads), (unsigned long long)acc);
    free(subst);
}

/* Sweep the journal's reads with another device's journal. */
static void sweep_journal(rig_t *r, const scen_t *s, tally_t *t)
{
    outcome_t hon, pre, o;
    uint64_t acc = 0, shown = 0;
    const ward_area_t *st = &r->d.layout.state;
    rig_window(r, st->off, st->off + st->size);
    running_before(r, &s->start, &pre);
    run(r, &s->start, 0, false, g.foreign, 0, 0, NULL, &hon);
    const uint64_t reads = hon.reads;
    assert_true(reads > 0u);
    for (uint64_t n = 1; n <= reads; n++) {
        for (int from = 0; from < 2; from++) {
            run(r, &s->start, n, from != 0, g.foreign, 0, 0, NULL, &o);
            t->runs++;
            t->lies += o.hits;
            if (!auth_ok(r, &o, &pre, false) || (o.ran && !o.verified)) {
                acc++;
                if (shown++ < MAX_SHOWN) {
                    show(from ? "journal reads lying from" : "one lying journal read", n,
                         r->lied_off, &o, &hon);
                }
            }
        }
    }
    t->reads += reads;
    t->accepted += acc;
    print_message("[ HOSTILE  ] %-52s %-34s journal reads %3llu: %3llu runs, %llu accepted\n",
                  s->name, k_sub[SUB_FOREIGN], (unsigned long long)reads,
                  (unsigned long long)(2u * reads), (unsigned long long)acc);
}

static void test_boot_hostile_flash(void **state)
{
    (void)state;
    tally_t t = {0, 0, 0, 0};
    for (int which = 0; which < SC_COUNT; which++) {
        rig_t *r = malloc(sizeof *r);
        scen_t s;
        assert_non_null(r);
        rig_open(r);
        scen_build(r, which, &s);
        for (int sub = 0; sub < SUB_COUNT; sub++) {
            sweep_images(r, &s, sub, &t);
        }
        sweep_journal(r, &s, &t);
        bf_snap_free(&s.start);
        ward_sim_device_close(&r->d);
        free(r);
    }
    print_message("[ HOSTILE  ] %llu reads attacked, %llu boots, %llu lying reads returned other "
                  "bytes, %llu accepted\n",
                  (unsigned long long)t.reads, (unsigned long long)t.runs,
                  (unsigned long long)t.lies, (unsigned long long)t.accepted);
    assert_true(t.runs > 0u);
    assert_true(t.lies > 0u);
    assert_int_equal(t.accepted, 0);
}

/* ---- the floor API under a lying flash --------------------------------------- */

/* ward_boot_floor (what the OTA agent checks manifests against) on a
 * device whose confirmed image B (counter 5) is not burnt yet (OTP 3):
 * every read of its one verification lies in turn, and every read from
 * then on, with each substitute and with B's counter forged to 400 (hash
 * not fixed). The floor must be OTP's 3, or the counter of a whole image
 * that verifies (a flash can show another genuine image), or UINT32_MAX
 * with an error: never a value from bytes that did not verify. */
static ward_err_t floor_run(rig_t *r, const bf_snap_t *start, uint64_t n, bool from,
                            const uint8_t *subst, uint32_t *fl, uint64_t *reads)
{
    ward_boot_config_t cfg;
    ward_boot_ctx_t ctx;
    assert_int_equal(bf_snap_load(&r->d, start), 0);
    ward_sim_device_boot_config(&r->d, &cfg);
    cfg.layout = &r->lay;
    assert_int_equal(ward_boot_init(&ctx, &cfg), WARD_OK);
    ward_sim_hostile_arm(&r->h, n, from, subst, r->d.flash.port.size);
    *fl = 0;
    const ward_err_t err = ward_boot_floor(&ctx, fl);
    *reads = r->h.reads;
    ward_sim_hostile_arm(&r->h, 0, false, NULL, 0);
    return err;
}

static void test_floor_hostile(void **state)
{
    (void)state;
    uint64_t attacked = 0, runs = 0, accepted = 0;
    rig_t *r = malloc(sizeof *r);
    scen_t s;
    assert_non_null(r);
    rig_open(r);
    scen_build(r, SC_CONFIRMED, &s);
    const ward_boot_layout_t *l = &r->d.layout;
    rig_window(r, l->primary.off, l->scratch.off + l->scratch.size);
    for (int sub = 0; sub <= SUB_COUNT; sub++) {
        uint8_t *subst;
        if (sub < SUB_COUNT) {
            subst = sub_flash(r, &s, sub);
        } else {
            /* B with its counter forged to 400 */
            ward_image_mem_t m = {g.B.img.data, g.B.img.len};
            ward_image_info_t info;
            assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)m.len),
                             WARD_OK);
            subst = malloc(r->d.flash.port.size);
            assert_non_null(subst);
            memcpy(subst, s.start.flash, r->d.flash.port.size);
            ward_store_le32(subst + l->primary.off + info.sec_cnt_off, 400);
        }
        uint32_t fl = 0;
        uint64_t reads = 0;
        assert_int_equal(floor_run(r, &s.start, 0, false, subst, &fl, &reads), WARD_OK);
        assert_int_equal(fl, 5);
        assert_true(reads > 0u);
        uint64_t acc = 0;
        for (uint64_t n = 1; n <= reads; n++) {
            for (int from = 0; from < 2; from++) {
                uint64_t rd = 0;
                const ward_err_t err = floor_run(r, &s.start, n, from != 0, subst, &fl, &rd);
                bool ok = err != WARD_OK ? fl == UINT32_MAX : fl == 3u;
                for (int i = 0; i < g.nall && err == WARD_OK; i++) {
                    ok = ok || (g.all[i]->t.valid && g.all[i]->t.sec_cnt >= 3u &&
                                fl == g.all[i]->t.sec_cnt);
                }
                runs++;
                if (!ok) {
                    acc++;
                    print_message("    ACCEPTED floor %u (err %d), read %llu lying%s\n", fl,
                                  (int)err, (unsigned long long)n, from ? " from then on" : "");
                }
            }
        }
        print_message("[ HOSTILE  ] ward_boot_floor, %-34s reads %3llu: %3llu runs, %llu accepted\n",
                      sub < SUB_COUNT ? k_sub[sub] : "its counter forged to 400",
                      (unsigned long long)reads, (unsigned long long)(2u * reads),
                      (unsigned long long)acc);
        attacked += reads;
        accepted += acc;
        free(subst);
    }
    bf_snap_free(&s.start);
    ward_sim_device_close(&r->d);
    free(r);
    print_message("[ HOSTILE  ] ward_boot_floor: %llu reads attacked, %llu runs, %llu accepted\n",
                  (unsigned long long)attacked, (unsigned long long)runs,
                  (unsigned long long)accepted);
    assert_int_equal(accepted, 0);
}

/* ---- setup ----------------------------------------------------------------- */

/* The other device: key 2, running FB (8.0.0, counter 10) after a confirmed
 * trial over FA, with FC staged and requested. */
static void foreign_build(void)
{
    rig_t *r = malloc(sizeof *r);
    ward_boot_report_t rep;
    assert_non_null(r);
    rig_open(r);
    mk(&g.fa, &g_other, 7, 0, 9, HDR, PAYLOAD, 101);
    mk(&g.fb, &g_other, 8, 0, 10, HDR, PAYLOAD, 102);
    mk(&g.fc, &g_other, 9, 0, 11, HDR, PAYLOAD, 103);
    assert_int_equal(bf_provision(&r->d, &g_other, true, true), 0);
    assert_int_equal(bf_write(&r->d.layout.primary, g.fa.img.data, g.fa.img.len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&r->d, &rep)));
    assert_int_equal(bf_stage(&r->d, &g.fb.img, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&r->d, &rep)));
    assert_int_equal(bf_confirm(&r->d), WARD_OK);
    assert_int_equal(bf_stage(&r->d, &g.fc.img, false), WARD_OK);
    g.foreign = malloc(r->d.flash.port.size);
    assert_non_null(g.foreign);
    memcpy(g.foreign, ward_sim_flash_mem(&r->d.flash), r->d.flash.port.size);
    ward_sim_device_close(&r->d);
    free(r);
}

static int setup(void **state)
{
    (void)state;
    if (bf_key(1, &g_key) != 0 || bf_key(2, &g_other) != 0) {
        return -1;
    }
    mk(&g.A, &g_key, 1, 0, 3, HDR, PAYLOAD, 1);
    mk(&g.B, &g_key, 2, 0, 5, HDR, PAYLOAD, 2);
    mk(&g.Bd, &g_key, 0, 9, 3, HDR, PAYLOAD, 3);
    mk(&g.O, &g_key, 1, 5, 4, HDR, PAYLOAD, 4);
    mk(&g.old, &g_key, 0, 5, 1, HDR, PAYLOAD, 5);
    mk_ex(&g.C, &g_key, 1, 2, 3, HDR, PAYLOAD, 6, true);
    mk_alt(&g.altA, &g.A, 11, false);
    mk_alt(&g.altB, &g.B, 12, false);
    mk_alt(&g.altBd, &g.Bd, 13, false);
    mk_alt(&g.altO, &g.O, 14, false);
    mk_alt(&g.altC, &g.C, 15, true);
    mk_forged_prot(&g.fgC, &g.C);
    mk_forged(&g.fgA, &g.A);
    mk_forged(&g.fgB, &g.B);
    mk_forged(&g.fgBd, &g.Bd);
    mk_forged(&g.fgO, &g.O);
    img_t *mine[] = {&g.A,   &g.B,    &g.Bd,   &g.O,   &g.old,  &g.altA, &g.altB, &g.altBd,
                     &g.altO, &g.fgA, &g.fgB, &g.fgBd, &g.fgO, &g.C,    &g.altC, &g.fgC};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
        lib_add(mine[i]);
    }
    foreign_build();
    lib_add(&g.fa);
    lib_add(&g.fb);
    lib_add(&g.fc);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < g.nall; i++) {
        bf_image_free(&g.all[i]->img);
    }
    free(g.foreign);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boot_hostile_flash),
        cmocka_unit_test(test_floor_hostile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
