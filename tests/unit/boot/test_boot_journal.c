/* Unit tests: the boot journal (records, torn writes, compaction, epochs)
 * and the MCUboot trailer that requests an install. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boot_priv.h"
#include "unit/boot/boot_fixture.h"

#define MAXS 30u /* max sectors accepted in BEGIN */

typedef struct {
    ward_sim_device_t d;
    const ward_area_t *st;
} jf_t;

static void jf_open(jf_t *j, uint32_t ss, uint32_t ws, bool once)
{
    ward_sim_geometry_t g;
    bf_geo(&g, ss, ws, 4, once);
    assert_int_equal(ward_sim_device_open_mem(&j->d, &g), WARD_OK);
    j->st = &j->d.layout.state;
}

static uint8_t *jmem(jf_t *j, uint32_t sector, uint32_t slot)
{
    return ward_sim_flash_mem(&j->d.flash) + j->st->off + sector * j->d.geo.sector_size +
           slot * ward_boot_rec_size(j->st);
}

static void load(jf_t *j, ward_boot_state_t *st)
{
    memset(st, 0, sizeof *st);
    assert_int_equal(ward_boot_journal_load(j->st, MAXS, st), WARD_OK);
}

static void app(jf_t *j, ward_boot_state_t *st, uint8_t type, uint8_t a8, uint32_t a32)
{
    assert_int_equal(ward_boot_journal_append(j->st, MAXS, st, type, a8, a32), WARD_OK);
}

static void assert_same_state(const ward_boot_state_t *a, const ward_boot_state_t *b)
{
    assert_int_equal(a->op, b->op);
    assert_int_equal(a->op_done, b->op_done);
    assert_int_equal(a->confirmed, b->confirmed);
    assert_int_equal(a->nsectors, b->nsectors);
    assert_int_equal(a->steps_done, b->steps_done);
    assert_int_equal(a->backup_fp, b->backup_fp);
    assert_int_equal(a->refused, b->refused);
}

static void test_blank_and_format(void **state)
{
    (void)state;
    jf_t j;
    ward_boot_state_t st, re;
    jf_open(&j, 1024, 1, false);
    load(&j, &st);
    assert_int_equal(st.epoch, 0);
    assert_int_equal(st.op, WARD_BOOT_OP_NONE);
    assert_int_equal(st.confirmed, 1);
    assert_int_equal(st.refused, WARD_OK);
    /* The first append formats sector 0: summary, then the header. */
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 2);
    assert_int_equal(st.epoch, 1);
    assert_int_equal(st.sector, 0);
    assert_int_equal(st.next, 2);
    assert_int_equal(jmem(&j, 0, 0)[0], WARD_BOOT_REC_HEADER);
    assert_int_equal(jmem(&j, 0, 1)[0], WARD_BOOT_REC_BEGIN);
    load(&j, &re);
    assert_same_state(&st, &re);
    assert_int_equal(re.next, 2);
    assert_int_equal(re.op_done, 0);
    ward_sim_device_close(&j.d);
}

static void test_log_replay(void **state)
{
    (void)state;
    jf_t j;
    ward_boot_state_t st, re;
    jf_open(&j, 4096, 8, true);
    load(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 3);
    for (uint32_t k = 1; k <= 9; k++) {
        app(&j, &st, WARD_BOOT_REC_STEP, 0, k);
    }
    app(&j, &st, WARD_BOOT_REC_DONE, 0, 0xABCD1234u);
    load(&j, &re);
    assert_same_state(&st, &re);
    assert_int_equal(re.op_done, 1);
    assert_int_equal(re.confirmed, 0); /* a trial */
    assert_int_equal(re.backup_fp, 0xABCD1234u);
    app(&j, &st, WARD_BOOT_REC_CONFIRM, 0, 0);
    load(&j, &re);
    assert_int_equal(re.confirmed, 1);
    assert_int_equal(re.next, 13);
    assert_int_equal(re.skipped, 0);
    assert_int_equal(j.d.flash.stats.violations, 0);
    ward_sim_device_close(&j.d);
}

static void test_apply_rules(void **state)
{
    (void)state;
    ward_boot_state_t st;
    ward_boot_state_blank(&st);
    /* Nothing to step, finish or confirm without an operation. */
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_STEP, 0, 1, MAXS));
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_DONE, 0, 0, MAXS));
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_CONFIRM, 0, 0, MAXS));
    /* BEGIN bounds: op and sector count. */
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_BEGIN, 0, 1, MAXS));
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_BEGIN, 4, 1, MAXS));
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 0, MAXS));
    assert_false(
        ward_boot_state_apply(&st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, MAXS + 1u, MAXS));
    assert_false(ward_boot_state_apply(&st, 0x00, 0, 0, MAXS));
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_HEADER, 1, 16, MAXS));
    assert_true(ward_boot_state_apply(&st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_PERM, 2, MAXS));
    /* No second BEGIN, no REFUSE while active; steps only go up, to 3n. */
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 2, MAXS));
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_REFUSE, 0, (uint32_t)-28, MAXS));
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_STEP, 0, 7, MAXS));
    assert_true(ward_boot_state_apply(&st, WARD_BOOT_REC_STEP, 0, 4, MAXS));
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_STEP, 0, 4, MAXS));
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_DONE, 0, 0, MAXS)); /* 4 of 6 */
    assert_true(ward_boot_state_apply(&st, WARD_BOOT_REC_STEP, 0, 6, MAXS));
    assert_true(ward_boot_state_apply(&st, WARD_BOOT_REC_DONE, 0, 5, MAXS));
    assert_int_equal(st.confirmed, 1); /* PERM is final */
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_CONFIRM, 0, 0, MAXS));
    /* REFUSE carries a negative code only. */
    assert_false(ward_boot_state_apply(&st, WARD_BOOT_REC_REFUSE, 0, 5, MAXS));
    assert_true(ward_boot_state_apply(&st, WARD_BOOT_REC_REFUSE, 0, (uint32_t)-29, MAXS));
    assert_int_equal(st.refused, -29);
    /* A revert is final too and keeps no backup fingerprint. */
    assert_true(ward_boot_state_apply(&st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_REVERT, 1, MAXS));
    assert_int_equal(st.confirmed, 0);
    assert_true(ward_boot_state_apply(&st, WARD_BOOT_REC_STEP, 0, 3, MAXS));
    assert_true(ward_boot_state_apply(&st, WARD_BOOT_REC_DONE, 0, 77, MAXS));
    assert_int_equal(st.confirmed, 1);
    assert_int_equal(st.backup_fp, 0);
}

/* A record cut half way is skipped; the next one goes after it. */
static void torn_record(uint32_t ss, uint32_t ws, bool once)
{
    jf_t j;
    ward_boot_state_t st, re;
    jf_open(&j, ss, ws, once);
    load(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 2);
    app(&j, &st, WARD_BOOT_REC_STEP, 0, 1);
    const uint32_t torn_slot = st.next;
    ward_sim_power_cut_after(&j.d.power, 1, true);
    assert_int_equal(ward_boot_journal_append(j.st, MAXS, &st, WARD_BOOT_REC_STEP, 0, 2),
                     WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&j.d.power);
    assert_false(ward_ct_all(jmem(&j, 0, torn_slot), 0xFF, 16)); /* half written */
    load(&j, &re);
    assert_int_equal(re.steps_done, 1);
    assert_int_equal(re.skipped, 1);
    assert_int_equal(re.next, torn_slot + 1u);
    app(&j, &re, WARD_BOOT_REC_STEP, 0, 2);
    load(&j, &st);
    assert_int_equal(st.steps_done, 2);
    assert_int_equal(st.skipped, 1);
    /* A plain cut leaves the slot erased: it is used again. */
    const uint32_t slot = st.next;
    ward_sim_power_cut_after(&j.d.power, 1, false);
    assert_int_equal(ward_boot_journal_append(j.st, MAXS, &st, WARD_BOOT_REC_STEP, 0, 3),
                     WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&j.d.power);
    load(&j, &re);
    assert_int_equal(re.next, slot);
    assert_int_equal(re.steps_done, 2);
    app(&j, &re, WARD_BOOT_REC_STEP, 0, 3);
    assert_int_equal(j.d.flash.stats.violations, 0);
    ward_sim_device_close(&j.d);
}

static void test_torn_record(void **state)
{
    (void)state;
    torn_record(1024, 1, false);
    torn_record(4096, 8, true);
    torn_record(2048, 16, true);
}

/* Records that check out but belong elsewhere (another slot, another epoch)
 * are stale, not state. */
static void test_stale_records(void **state)
{
    (void)state;
    jf_t j;
    ward_boot_state_t st, re;
    jf_open(&j, 1024, 1, false);
    load(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 2);
    const uint32_t rs = ward_boot_rec_size(j.st);
    uint8_t r[16];
    /* Right slot, wrong epoch. */
    ward_boot_rec_encode(r, WARD_BOOT_REC_STEP, 0, (uint16_t)st.next, 1, st.epoch + 1u);
    assert_int_equal(ward_area_prog(j.st, st.next * rs, r, 16), WARD_OK);
    /* Right epoch, wrong slot (a record copied from elsewhere). */
    ward_boot_rec_encode(r, WARD_BOOT_REC_STEP, 0, (uint16_t)(st.next + 5u), 1, st.epoch);
    assert_int_equal(ward_area_prog(j.st, (st.next + 1u) * rs, r, 16), WARD_OK);
    /* Bad CRC. */
    ward_boot_rec_encode(r, WARD_BOOT_REC_STEP, 0, (uint16_t)(st.next + 2u), 1, st.epoch);
    r[4] ^= 0x01;
    assert_int_equal(ward_area_prog(j.st, (st.next + 2u) * rs, r, 16), WARD_OK);
    load(&j, &re);
    assert_int_equal(re.steps_done, 0);
    assert_int_equal(re.skipped, 3);
    assert_int_equal(re.next, st.next + 3u);
    ward_sim_device_close(&j.d);
}

static void fill_sector(jf_t *j, ward_boot_state_t *st)
{
    const uint32_t slots = ward_boot_rec_slots(j->st);
    uint32_t guard = 0;
    while (st->next < slots && guard++ < slots) {
        app(j, st, WARD_BOOT_REC_REFUSE, 0, (uint32_t)(-20 - (int32_t)(st->next % 10u)));
    }
    assert_int_equal(st->next, slots);
}

static void test_compaction(void **state)
{
    (void)state;
    jf_t j;
    ward_boot_state_t st, re;
    jf_open(&j, 1024, 1, false);
    load(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 3);
    app(&j, &st, WARD_BOOT_REC_STEP, 0, 1);
    for (uint32_t k = 2; k <= 9u; k++) {
        app(&j, &st, WARD_BOOT_REC_STEP, 0, k);
    }
    app(&j, &st, WARD_BOOT_REC_DONE, 0, 42);
    fill_sector(&j, &st);
    const ward_boot_state_t before = st;
    assert_int_equal(st.sector, 0);
    /* Full: the confirm goes into sector 1 with the summary. */
    app(&j, &st, WARD_BOOT_REC_CONFIRM, 0, 0);
    assert_int_equal(st.sector, 1);
    assert_int_equal(st.epoch, before.epoch + 1u);
    /* header, REFUSE, BEGIN, STEP, DONE, CONFIRM */
    assert_int_equal(st.next, 6);
    load(&j, &re);
    assert_same_state(&st, &re);
    assert_int_equal(re.sector, 1);
    assert_int_equal(re.confirmed, 1);
    assert_int_equal(re.refused, before.refused);
    assert_int_equal(re.backup_fp, 42);
    /* Fill sector 1 too: the next compaction goes back to sector 0. */
    fill_sector(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_PERM, 1);
    assert_int_equal(st.sector, 0);
    assert_int_equal(st.epoch, before.epoch + 2u);
    load(&j, &re);
    assert_same_state(&st, &re);
    assert_int_equal(re.op, WARD_BOOT_OP_PERM);
    assert_int_equal(re.op_done, 0);
    ward_sim_device_close(&j.d);
}

/* Every summary replays to the state it was made from. */
static void test_summary_roundtrip(void **state)
{
    (void)state;
    jf_t j;
    ward_boot_state_t st, re;
    jf_open(&j, 1024, 1, false);
    load(&j, &st);
    /* An active operation with an old refusal: REFUSE must come first. */
    app(&j, &st, WARD_BOOT_REC_REFUSE, 0, (uint32_t)WARD_ERR_IMG_DOWNGRADE);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_REVERT, 4);
    app(&j, &st, WARD_BOOT_REC_STEP, 0, 1);
    app(&j, &st, WARD_BOOT_REC_STEP, 0, 2);
    const uint32_t slots = ward_boot_rec_slots(j.st);
    for (uint32_t k = 3; st.next < slots && k <= 10u; k++) {
        app(&j, &st, WARD_BOOT_REC_STEP, 0, k);
    }
    /* Force a compaction at this point by marking the sector full. */
    st.next = slots;
    app(&j, &st, WARD_BOOT_REC_STEP, 0, st.steps_done + 1u);
    load(&j, &re);
    assert_same_state(&st, &re);
    assert_int_equal(re.refused, WARD_ERR_IMG_DOWNGRADE);
    assert_int_equal(re.op, WARD_BOOT_OP_REVERT);
    assert_int_equal(re.op_done, 0);
    assert_int_equal(re.next, 4); /* header, REFUSE, BEGIN, STEP */
    ward_sim_device_close(&j.d);
}

/* A cut at any operation of a compaction leaves the old or the new state. */
static void test_compaction_cuts(void **state)
{
    (void)state;
    static const bool torn[2] = {false, true};
    unsigned points = 0;
    for (int t = 0; t < 2; t++) {
        for (uint64_t n = 1;; n++) {
            jf_t j;
            ward_boot_state_t st, re;
            jf_open(&j, 1024, 1, false);
            load(&j, &st);
            app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 1);
            app(&j, &st, WARD_BOOT_REC_STEP, 0, 1);
            app(&j, &st, WARD_BOOT_REC_STEP, 0, 2);
            app(&j, &st, WARD_BOOT_REC_STEP, 0, 3);
            app(&j, &st, WARD_BOOT_REC_DONE, 0, 9);
            fill_sector(&j, &st);
            const ward_boot_state_t old = st;
            const uint64_t ops0 = j.d.power.ops;
            ward_sim_power_cut_after(&j.d.power, n, torn[t]);
            ward_err_t err = ward_boot_journal_append(j.st, MAXS, &st, WARD_BOOT_REC_CONFIRM, 0, 0);
            const bool cut = j.d.power.dead;
            ward_sim_power_on(&j.d.power);
            load(&j, &re);
            if (!cut) {
                assert_int_equal(err, WARD_OK);
                assert_int_equal(re.confirmed, 1);
                assert_int_equal(j.d.power.ops - ops0, n - 1u); /* all ops ran */
                ward_sim_device_close(&j.d);
                break;
            }
            points++;
            assert_int_not_equal(re.epoch, 0);
            if (re.epoch == old.epoch) {
                assert_int_equal(re.sector, old.sector);
                assert_same_state(&old, &re);
            } else {
                assert_int_equal(re.epoch, old.epoch + 1u);
                assert_int_equal(re.confirmed, 1);
            }
            /* And the journal still works from there. */
            err = ward_boot_journal_append(j.st, MAXS, &re, WARD_BOOT_REC_CONFIRM, 0, 0);
            assert_true(err == WARD_OK || (err == WARD_ERR_STATE && re.confirmed == 1));
            load(&j, &st);
            assert_int_equal(st.confirmed, 1);
            assert_int_equal(j.d.flash.stats.violations, 0);
            ward_sim_device_close(&j.d);
        }
    }
    printf("journal compaction: %u cut points (plain + torn)\n", points);
    assert_true(points >= 2u * 7u); /* erase + 5 records + header, twice */
}

/* Hand-made headers: the highest valid epoch wins. */
static void put_header(jf_t *j, uint32_t sector, uint32_t epoch, bool good_crc)
{
    uint8_t r[16];
    ward_boot_rec_encode(r, WARD_BOOT_REC_HEADER, WARD_BOOT_JOURNAL_VERSION, 0,
                         ward_boot_rec_size(j->st), epoch);
    if (!good_crc) {
        r[12] ^= 0x80;
    }
    const uint32_t ss = j->d.geo.sector_size;
    assert_int_equal(ward_area_erase(j->st, sector * ss, ss), WARD_OK);
    assert_int_equal(ward_area_prog(j->st, sector * ss, r, 16), WARD_OK);
}

static void test_epoch_choice(void **state)
{
    (void)state;
    jf_t j;
    ward_boot_state_t st;
    jf_open(&j, 1024, 1, false);
    put_header(&j, 0, 5, true);
    put_header(&j, 1, 7, true);
    load(&j, &st);
    assert_int_equal(st.sector, 1);
    assert_int_equal(st.epoch, 7);
    put_header(&j, 0, 9, true);
    load(&j, &st);
    assert_int_equal(st.sector, 0);
    assert_int_equal(st.epoch, 9);
    put_header(&j, 0, 11, false); /* torn header: not valid */
    load(&j, &st);
    assert_int_equal(st.sector, 1);
    assert_int_equal(st.epoch, 7);
    put_header(&j, 0, UINT32_MAX, true); /* never written: ignored */
    load(&j, &st);
    assert_int_equal(st.sector, 1);
    /* Wrong record size for this flash: not ours. */
    uint8_t r[16];
    ward_boot_rec_encode(r, WARD_BOOT_REC_HEADER, WARD_BOOT_JOURNAL_VERSION, 0, 32, 12);
    assert_int_equal(ward_area_erase(j.st, 0, 1024), WARD_OK);
    assert_int_equal(ward_area_prog(j.st, 0, r, 16), WARD_OK);
    load(&j, &st);
    assert_int_equal(st.epoch, 7);
    /* Append goes on in the chosen sector; compaction targets the other. */
    app(&j, &st, WARD_BOOT_REC_REFUSE, 0, (uint32_t)WARD_ERR_IMG_SIG);
    assert_int_equal(st.sector, 1);
    assert_int_equal(st.next, 2);
    ward_sim_device_close(&j.d);
}

/* ---- trailer ------------------------------------------------------------ */

static void trailer_vs_sign(uint32_t ss, uint32_t ws, bool once, bool permanent)
{
    ward_sim_device_t d;
    ward_sim_geometry_t g;
    bf_key_t k;
    bf_img_t img;
    bf_geo(&g, ss, ws, 4, once);
    assert_int_equal(ward_sim_device_open_mem(&d, &g), WARD_OK);
    assert_int_equal(bf_key(1, &k), 0);
    assert_int_equal(bf_image(&img, 1, 1, 600, 3, k.id), 0);

    /* ward_sign --pad (--confirm) --align ws: imgtool's padded image. */
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    o.version.major = 1;
    o.pad_header = true;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o.sec_cnt = 1;
    o.slot_size = d.layout.secondary.size;
    o.pad = true;
    o.confirm = permanent;
    o.align = ws;
    o.max_align = 0; /* imgtool: max(8, align) */
    o.max_sectors = 8;
    uint8_t *bin = malloc(600);
    assert_non_null(bin);
    uint32_t x = 3u * 2654435761u + 1u;
    for (size_t i = 0; i < 600; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bin[i] = (uint8_t)x;
    }
    uint8_t *padded = NULL;
    size_t plen = 0;
    assert_int_equal(ward_sign_image(&o, bin, 600, k.id, &padded, &plen), WARD_OK);
    assert_int_equal(plen, d.layout.secondary.size);

    /* The request our bootloader API writes... */
    ward_boot_ctx_t ctx;
    assert_int_equal(bf_write(&d.layout.secondary, img.data, img.len), 0);
    assert_int_equal(bf_init_ctx(&d, &ctx), WARD_OK);
    assert_int_equal(ward_boot_request_install(&ctx, permanent), WARD_OK);
    /* ...is byte for byte imgtool's trailer sector. */
    const uint8_t *mem = ward_sim_flash_mem(&d.flash) + d.layout.secondary.off;
    assert_memory_equal(mem + plen - ss, padded + plen - ss, ss);
    int req = -1;
    assert_int_equal(ward_boot_trailer_read(&d.layout.secondary, &req), WARD_OK);
    assert_int_equal(req, permanent ? WARD_BOOT_REQ_PERM : WARD_BOOT_REQ_TEST);

    /* And a padded image written as is reads as the same request. */
    assert_int_equal(bf_write(&d.layout.secondary, padded, plen), 0);
    assert_int_equal(ward_boot_trailer_read(&d.layout.secondary, &req), WARD_OK);
    assert_int_equal(req, permanent ? WARD_BOOT_REQ_PERM : WARD_BOOT_REQ_TEST);
    assert_int_equal(d.flash.stats.violations, 0);
    free(bin);
    free(padded);
    bf_image_free(&img);
    (void)psa_destroy_key(k.id);
    ward_sim_device_close(&d);
}

static void test_trailer_matches_imgtool(void **state)
{
    (void)state;
    trailer_vs_sign(1024, 1, false, false);
    trailer_vs_sign(1024, 1, false, true);
    trailer_vs_sign(4096, 8, true, false);
    trailer_vs_sign(4096, 8, true, true);
    trailer_vs_sign(2048, 16, true, false); /* max_align 16: the other magic */
    trailer_vs_sign(2048, 16, true, true);
}

static void test_trailer_parse(void **state)
{
    (void)state;
    ward_sim_device_t d;
    ward_sim_geometry_t g;
    bf_geo(&g, 1024, 1, 4, false);
    assert_int_equal(ward_sim_device_open_mem(&d, &g), WARD_OK);
    const ward_area_t *s = &d.layout.secondary;
    uint8_t *end = ward_sim_flash_mem(&d.flash) + s->off + s->size;
    int req = -1;
    /* Erased: no request. */
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_NONE);
    /* max_align 8 magic, image_ok at end - 24. */
    static const uint8_t m8[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                   0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
    memcpy(end - 16, m8, 16);
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_TEST);
    end[-24] = 0x01;
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_PERM);
    end[-24] = 0x00; /* neither set nor erased: MCUboot's BOOT_FLAG_BAD */
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_ERR_CORRUPT);
    end[-24] = 0xFF;
    /* One bit off in the magic: no request. */
    end[-5] ^= 0x10;
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_NONE);
    /* max_align 32: u16 32, the 14-byte magic; image_ok at end - 64. */
    static const uint8_t tail[14] = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                     0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};
    memset(end - 64, 0xFF, 64);
    end[-16] = 32;
    end[-15] = 0;
    memcpy(end - 14, tail, 14);
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_TEST);
    end[-64] = 0x01;
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_PERM);
    /* An alignment imgtool cannot write: not a request. */
    end[-16] = 12;
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_NONE);
    ward_sim_device_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blank_and_format),
        cmocka_unit_test(test_log_replay),
        cmocka_unit_test(test_apply_rules),
        cmocka_unit_test(test_torn_record),
        cmocka_unit_test(test_stale_records),
        cmocka_unit_test(test_compaction),
        cmocka_unit_test(test_summary_roundtrip),
        cmocka_unit_test(test_compaction_cuts),
        cmocka_unit_test(test_epoch_choice),
        cmocka_unit_test(test_trailer_matches_imgtool),
        cmocka_unit_test(test_trailer_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
