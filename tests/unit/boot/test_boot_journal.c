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

/* Journal sectors of different sizes (an STM32F4's 16 KiB sector 3 and
 * 64 KiB sector 4: 1024 and 4096 records of 16 bytes): each fills to its
 * own count before the journal compacts into the other, and a load finds
 * every record in either. */
static void test_mixed_sectors(void **state)
{
    (void)state;
    jf_t j;
    ward_sim_geometry_t g;
    ward_boot_state_t st, re;
    bf_geo_f4(&g, BF_F4_BOARD, 4, false);
    g.state = g.vault; /* 16 KiB + 64 KiB */
    g.vault = (ward_sim_span_t){0, 0};
    assert_int_equal(ward_sim_device_open_mem(&j.d, &g), WARD_OK);
    j.st = &j.d.layout.state;
    assert_int_equal(ward_boot_rec_slots(j.st, 0), 1024);
    assert_int_equal(ward_boot_rec_slots(j.st, 1), 4096);
    assert_int_equal(ward_boot_rec_slots(j.st, 2), 0);
    load(&j, &st);
    const uint32_t per[4] = {1024, 4096, 1024, 4096};
    uint32_t n = 0;
    for (uint32_t round = 0; round < 4u; round++) {
        assert_int_equal(st.sector, round == 0u ? 0u : (round - 1u) % 2u);
        /* Fill the current sector (or format the blank journal first). */
        app(&j, &st, WARD_BOOT_REC_REFUSE, 0, (uint32_t)(-20 - (int32_t)(n++ % 10u)));
        assert_int_equal(st.sector, round % 2u);
        while (st.next < per[round]) {
            app(&j, &st, WARD_BOOT_REC_REFUSE, 0, (uint32_t)(-20 - (int32_t)(n++ % 10u)));
        }
        assert_int_equal(st.next, ward_boot_rec_slots(j.st, st.sector));
        load(&j, &re);
        assert_same_state(&st, &re);
        assert_int_equal(re.sector, round % 2u);
        assert_int_equal(re.next, per[round]);
        assert_int_equal(re.skipped, 0); /* the next append compacts into the other */
    }
    assert_int_equal(j.d.flash.stats.violations, 0);
    assert_int_equal(j.d.flash.erase_counts[3], 2);
    assert_int_equal(j.d.flash.erase_counts[4], 2);
    ward_sim_device_close(&j.d);
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
    /* No CONFIRM while a TEST install is still swapping, nor before it. */
    ward_boot_state_t t = st;
    assert_true(ward_boot_state_apply(&t, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 1, MAXS));
    assert_false(ward_boot_state_apply(&t, WARD_BOOT_REC_CONFIRM, 0, 0, MAXS));
    assert_true(ward_boot_state_apply(&t, WARD_BOOT_REC_STEP, 0, 3, MAXS));
    assert_false(ward_boot_state_apply(&t, WARD_BOOT_REC_CONFIRM, 0, 0, MAXS));
    assert_int_equal(t.confirmed, 0);
    assert_true(ward_boot_state_apply(&t, WARD_BOOT_REC_DONE, 0, 9, MAXS));
    assert_true(ward_boot_state_apply(&t, WARD_BOOT_REC_CONFIRM, 0, 0, MAXS));
    assert_false(ward_boot_state_apply(&t, WARD_BOOT_REC_CONFIRM, 0, 0, MAXS)); /* once */
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

/* Record bytes (docs/boot-state.md section 2), known answers computed
 * with Python's zlib.crc32: 16 bytes as in the worked example; 32 bytes
 * with zeros up to the CRC, which covers them and sits in the last 4 bytes. */
static void test_record_bytes(void **state)
{
    (void)state;
    static const uint8_t begin16[16] = {0xb2, 0x01, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
                                        0x01, 0x00, 0x00, 0x00, 0xf2, 0xd5, 0xd5, 0x37};
    static const uint8_t header32[32] = {0xa1, 0x01, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
                                         0x01, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
                                         0, 0, 0, 0, 0, 0, 0, 0, 0xa9, 0x79, 0xb9, 0x98};
    static const uint8_t begin32[32] = {0xb2, 0x01, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
                                        0x01, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0, 0, 0, 0, 0, 0, 0, 0, 0xbc, 0x3b, 0xc8, 0x41};
    uint8_t r[WARD_BOOT_REC_MAX];
    assert_int_equal(WARD_BOOT_REC_MAX, 32);
    ward_boot_rec_encode(r, 16, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 1, 2, 1);
    assert_memory_equal(r, begin16, 16);
    ward_boot_rec_encode(r, 32, WARD_BOOT_REC_HEADER, WARD_BOOT_JOURNAL_VERSION, 0, 32, 1);
    assert_memory_equal(r, header32, 32);
    ward_boot_rec_encode(r, 32, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 1, 2, 1);
    assert_memory_equal(r, begin32, 32);

    /* The writer puts exactly these bytes on a 32-byte flash. */
    jf_t j;
    ward_boot_state_t st;
    jf_open(&j, 2048, 32, true);
    load(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 2);
    assert_memory_equal(jmem(&j, 0, 0), header32, 32);
    assert_memory_equal(jmem(&j, 0, 1), begin32, 32);

    /* A unit whose second half did not land (the first 16 bytes of each
     * record, the rest erased): neither the header nor the record counts. */
    uint8_t half[32];
    assert_int_equal(ward_area_erase(j.st, 2048, 2048), WARD_OK);
    memset(half, 0xFF, sizeof half);
    ward_boot_rec_encode(r, 32, WARD_BOOT_REC_HEADER, WARD_BOOT_JOURNAL_VERSION, 0, 32, 5);
    memcpy(half, r, 16);
    assert_int_equal(ward_area_prog(j.st, 2048, half, 32), WARD_OK);
    load(&j, &st);
    assert_int_equal(st.sector, 0);
    assert_int_equal(st.epoch, 1);
    memset(half, 0xFF, sizeof half);
    ward_boot_rec_encode(r, 32, WARD_BOOT_REC_STEP, 0, 2, 1, 1);
    memcpy(half, r, 16);
    assert_int_equal(ward_area_prog(j.st, 2 * 32, half, 32), WARD_OK);
    load(&j, &st);
    assert_int_equal(st.steps_done, 0);
    assert_int_equal(st.skipped, 1);
    /* Nor does a record whose zeros read otherwise, CRC fixed or not. */
    ward_boot_rec_encode(r, 32, WARD_BOOT_REC_STEP, 0, 3, 1, 1);
    r[20] = 0x01;
    ward_store_le32(r + 28, ward_crc32(0, r, 28));
    assert_int_equal(ward_area_prog(j.st, 3 * 32, r, 32), WARD_OK);
    load(&j, &st);
    assert_int_equal(st.steps_done, 0);
    assert_int_equal(st.skipped, 2);
    assert_int_equal(j.d.flash.stats.violations, 0);
    ward_sim_device_close(&j.d);
}

/* A record cut by a power loss is skipped when it shows (HALF, UNIT_NOISE)
 * and invisible when the cut spent its unit without programming it
 * (UNIT_BLANK). Either way the first append after the reset goes into a
 * freshly erased sector, never into the slot the cut may have spent. */
static void torn_record(uint32_t ss, uint32_t ws, bool once, ward_sim_torn_model_t model)
{
    jf_t j;
    ward_boot_state_t st, re;
    jf_open(&j, ss, ws, once);
    j.d.flash.torn_model = model;
    load(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 2);
    app(&j, &st, WARD_BOOT_REC_STEP, 0, 1); /* the same context: in place */
    assert_int_equal(st.next, 3);
    const uint32_t torn_slot = st.next;
    const uint32_t sector = st.sector, epoch = st.epoch;
    ward_sim_power_cut_after(&j.d.power, 1, true);
    assert_int_equal(ward_boot_journal_append(j.st, MAXS, &st, WARD_BOOT_REC_STEP, 0, 2),
                     WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&j.d.power);
    const bool visible = !ward_ct_all(jmem(&j, sector, torn_slot), 0xFF, ward_boot_rec_size(j.st));
    assert_true(visible == (model != WARD_SIM_TORN_UNIT_BLANK)); /* (plain NOR: a clean cut) */
    load(&j, &re);
    assert_int_equal(re.steps_done, 1);
    assert_int_equal(re.skipped, visible ? 1 : 0);
    assert_int_equal(re.next, visible ? torn_slot + 1u : torn_slot);
    /* After the reset: a compaction into the other sector. */
    app(&j, &re, WARD_BOOT_REC_STEP, 0, 2);
    assert_int_equal(re.sector, 1u - sector);
    assert_int_equal(re.epoch, epoch + 1u);
    assert_int_equal(re.next, 3); /* header, BEGIN, STEP */
    /* Then in place again, in that context. */
    app(&j, &re, WARD_BOOT_REC_STEP, 0, 3);
    assert_int_equal(re.next, 4);
    load(&j, &st);
    assert_int_equal(st.steps_done, 3);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.next, 4);
    /* A plain cut of the compaction's erase: the old sector stays current
     * and the next reset compacts again. */
    ward_sim_power_cut_after(&j.d.power, 1, false);
    assert_int_equal(ward_boot_journal_append(j.st, MAXS, &st, WARD_BOOT_REC_STEP, 0, 4),
                     WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&j.d.power);
    load(&j, &re);
    assert_int_equal(re.steps_done, 3);
    assert_int_equal(re.epoch, epoch + 1u);
    app(&j, &re, WARD_BOOT_REC_STEP, 0, 4);
    assert_int_equal(re.epoch, epoch + 2u);
    load(&j, &st);
    assert_int_equal(st.steps_done, 4);
    assert_int_equal(j.d.flash.stats.violations, 0);
    ward_sim_device_close(&j.d);
}

static void test_torn_record(void **state)
{
    (void)state;
    static const ward_sim_torn_model_t models[] = {
        WARD_SIM_TORN_HALF, WARD_SIM_TORN_UNIT_BLANK, WARD_SIM_TORN_UNIT_NOISE};
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        torn_record(1024, 1, false, models[m]);
        torn_record(4096, 8, true, models[m]);
        torn_record(2048, 16, true, models[m]);
        torn_record(2048, 32, true, models[m]);
    }
}

/* 32-byte write units (STM32H7): a confirm cut by a power loss is not kept,
 * under every torn model and at every operation of it (the compaction's
 * erase, its summary records, its header), while the uncut one is. With
 * the data and CRC in the first 16 bytes of a 32-byte record, a HALF-torn
 * header used to be a valid one: the confirm that failed took effect. */
static void test_confirm_cut_w32(void **state)
{
    (void)state;
    static const ward_sim_torn_model_t models[] = {
        WARD_SIM_TORN_HALF, WARD_SIM_TORN_UNIT_BLANK, WARD_SIM_TORN_UNIT_NOISE};
    unsigned cuts = 0;
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        for (uint64_t n = 1;; n++) {
            jf_t j;
            ward_boot_state_t st, re;
            jf_open(&j, 2048, 32, true);
            j.d.flash.torn_model = models[m];
            load(&j, &st);
            app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 1);
            for (uint32_t k = 1; k <= 3u; k++) {
                app(&j, &st, WARD_BOOT_REC_STEP, 0, k);
            }
            app(&j, &st, WARD_BOOT_REC_DONE, 0, 7);
            load(&j, &st); /* a reset: the trial runs, the app confirms */
            ward_sim_power_cut_after(&j.d.power, n, true);
            const ward_err_t err =
                ward_boot_journal_append(j.st, MAXS, &st, WARD_BOOT_REC_CONFIRM, 0, 0);
            const bool cut = j.d.power.dead;
            ward_sim_power_on(&j.d.power);
            load(&j, &re);
            assert_int_equal(j.d.flash.stats.violations, 0);
            ward_sim_device_close(&j.d);
            if (!cut) {
                assert_int_equal(err, WARD_OK);
                assert_int_equal(re.confirmed, 1);
                break;
            }
            cuts++;
            assert_int_equal(err, WARD_ERR_POWER_LOSS);
            if (re.confirmed != 0u) {
                printf("w32 confirm, torn model %u, cut at op %llu: failed, yet confirmed\n",
                       (unsigned)models[m], (unsigned long long)n);
            }
            assert_int_equal(re.op, WARD_BOOT_OP_TEST);
            assert_int_equal(re.op_done, 1);
            assert_int_equal(re.confirmed, 0);
        }
    }
    printf("w32 confirm: %u cut points (erase, summary, header; 3 torn models)\n", cuts);
    assert_int_equal(cuts, 3u * 6u); /* erase, BEGIN, STEP, DONE, CONFIRM, header */
}

/* The reviewer's case: a cut spends the slot after the last record and
 * leaves it reading erased, at every reset in a row. No append ever
 * programs such a slot (no NOR rule broken), and nothing is lost. */
static void test_blank_torn_every_reset(void **state)
{
    (void)state;
    jf_t j;
    ward_boot_state_t st;
    jf_open(&j, 4096, 8, true);
    j.d.flash.torn_model = WARD_SIM_TORN_UNIT_BLANK;
    load(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 3);
    for (uint32_t k = 1; k <= 9u; k++) {
        /* Each reset: the first program of the append is torn, then the
         * next reset appends for good. */
        for (uint64_t n = 1; n <= 3u; n++) {
            load(&j, &st);
            ward_sim_power_cut_after(&j.d.power, n, true);
            assert_int_equal(ward_boot_journal_append(j.st, MAXS, &st, WARD_BOOT_REC_STEP, 0, k),
                             WARD_ERR_POWER_LOSS);
            ward_sim_power_on(&j.d.power);
        }
        load(&j, &st);
        assert_int_equal(st.steps_done, k - 1u);
        app(&j, &st, WARD_BOOT_REC_STEP, 0, k);
    }
    load(&j, &st);
    assert_int_equal(st.steps_done, 9);
    assert_int_equal(j.d.flash.stats.violations, 0);
    ward_sim_device_close(&j.d);
}

/* A CONFIRM record in the journal while the TEST install is still active
 * (written by hand: the writer refuses it) is not applied: the install
 * finishes as a trial. */
static void test_confirm_while_active_ignored(void **state)
{
    (void)state;
    jf_t j;
    ward_boot_state_t st, re;
    jf_open(&j, 1024, 1, false);
    load(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 1);
    assert_int_equal(ward_boot_journal_append(j.st, MAXS, &st, WARD_BOOT_REC_CONFIRM, 0, 0),
                     WARD_ERR_STATE);
    uint8_t r[16];
    ward_boot_rec_encode(r, 16, WARD_BOOT_REC_CONFIRM, 0, (uint16_t)st.next, 0, st.epoch);
    assert_int_equal(ward_area_prog(j.st, st.sector * 1024u + st.next * 16u, r, 16), WARD_OK);
    st.next++;
    for (uint32_t k = 1; k <= 3u; k++) {
        app(&j, &st, WARD_BOOT_REC_STEP, 0, k);
    }
    app(&j, &st, WARD_BOOT_REC_DONE, 0, 5);
    load(&j, &re);
    assert_int_equal(re.skipped, 1);
    assert_int_equal(re.op_done, 1);
    assert_int_equal(re.confirmed, 0); /* a trial, to be confirmed by the app */
    ward_sim_device_close(&j.d);
}

/* Erased slots between records are read past: a slot that would not
 * program is left behind, and the records after it count. */
static void test_gap_then_records(void **state)
{
    (void)state;
    jf_t j;
    ward_boot_state_t st, re;
    jf_open(&j, 1024, 1, false);
    load(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 2);
    st.next += 2u; /* two slots left erased */
    app(&j, &st, WARD_BOOT_REC_STEP, 0, 1);
    app(&j, &st, WARD_BOOT_REC_STEP, 0, 2);
    assert_true(ward_ct_all(jmem(&j, st.sector, 2), 0xFF, 16));
    load(&j, &re);
    assert_same_state(&st, &re);
    assert_int_equal(re.steps_done, 2);
    assert_int_equal(re.next, st.next);
    assert_int_equal(re.skipped, 0);
    ward_sim_device_close(&j.d);
}

/* A program that fails for a reason other than power (a worn unit, a
 * controller error) while a compaction writes its summary: the header is
 * not written, so the old sector stays current with the old state. */
static ward_err_t (*g_real_prog)(void *, uint32_t, const void *, size_t);
static uint32_t g_fail_lo, g_fail_hi;

static ward_err_t failing_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    if (off < g_fail_hi && g_fail_lo < off + len) {
        return WARD_ERR_IO;
    }
    return g_real_prog(ctx, off, buf, len);
}

static void test_summary_write_fails(void **state)
{
    (void)state;
    jf_t j;
    ward_boot_state_t st, re;
    jf_open(&j, 4096, 8, true);
    load(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 3);
    app(&j, &st, WARD_BOOT_REC_STEP, 0, 1);
    const uint32_t cur = st.sector;

    /* After a reset the next append compacts into the other sector; its
     * first summary record (slot 1) will not program. */
    load(&j, &st);
    const uint32_t rs = ward_boot_rec_size(j.st);
    g_real_prog = j.d.flash.port.prog;
    g_fail_lo = j.st->off + (1u - cur) * 4096u + rs;
    g_fail_hi = g_fail_lo + rs;
    j.d.flash.port.prog = failing_prog;
    assert_int_equal(ward_boot_journal_append(j.st, MAXS, &st, WARD_BOOT_REC_STEP, 0, 2),
                     WARD_ERR_IO);
    j.d.flash.port.prog = g_real_prog;
    assert_true(ward_ct_all(jmem(&j, 1u - cur, 0), 0xFF, rs)); /* no header */

    load(&j, &re);
    assert_int_equal(re.sector, cur);
    assert_int_equal(re.op, WARD_BOOT_OP_TEST);
    assert_int_equal(re.steps_done, 1);
    ward_sim_device_close(&j.d);
}

/* A slot the writer believes erased refuses the program (WARD_ERR_IO, a
 * spent or worn unit): the record goes into a fresh sector instead. */
static void test_unprogrammable_slot(void **state)
{
    (void)state;
    jf_t j;
    ward_boot_state_t st, re;
    jf_open(&j, 4096, 8, true);
    load(&j, &st);
    app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 2);
    app(&j, &st, WARD_BOOT_REC_STEP, 0, 1);
    /* Spend the first unit of the next slot without a visible trace. */
    const uint32_t unit = (j.st->off + st.sector * 4096u + st.next * 16u) / 8u;
    j.d.flash.programmed[unit / 8u] |= (uint8_t)(1u << (unit % 8u));
    const uint32_t sector = st.sector;
    app(&j, &st, WARD_BOOT_REC_STEP, 0, 2);
    assert_int_equal(j.d.flash.stats.violations, 1); /* the one refused program */
    assert_int_equal(st.sector, 1u - sector);
    assert_int_equal(st.steps_done, 2);
    load(&j, &re);
    assert_same_state(&st, &re);
    assert_int_equal(re.sector, 1u - sector);
    ward_sim_device_close(&j.d);
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
    ward_boot_rec_encode(r, rs, WARD_BOOT_REC_STEP, 0, (uint16_t)st.next, 1, st.epoch + 1u);
    assert_int_equal(ward_area_prog(j.st, st.next * rs, r, 16), WARD_OK);
    /* Right epoch, wrong slot (a record copied from elsewhere). */
    ward_boot_rec_encode(r, rs, WARD_BOOT_REC_STEP, 0, (uint16_t)(st.next + 5u), 1, st.epoch);
    assert_int_equal(ward_area_prog(j.st, (st.next + 1u) * rs, r, 16), WARD_OK);
    /* Bad CRC. */
    ward_boot_rec_encode(r, rs, WARD_BOOT_REC_STEP, 0, (uint16_t)(st.next + 2u), 1, st.epoch);
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
    const uint32_t slots = ward_boot_rec_slots(j->st, st->sector);
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
    const uint32_t slots = ward_boot_rec_slots(j.st, st.sector);
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

/* A cut at any operation of a compaction leaves the old or the new state:
 * plainly and under every torn model, with byte writes and with 32-byte
 * program-once units. */
static unsigned compaction_cuts(uint32_t ss, uint32_t ws, bool once)
{
    /* plain, then torn: HALF, UNIT_BLANK (program once only), UNIT_NOISE */
    static const struct {
        bool torn;
        ward_sim_torn_model_t model;
    } modes[] = {{false, WARD_SIM_TORN_HALF},
                 {true, WARD_SIM_TORN_HALF},
                 {true, WARD_SIM_TORN_UNIT_BLANK},
                 {true, WARD_SIM_TORN_UNIT_NOISE}};
    unsigned points = 0;
    for (size_t t = 0; t < sizeof modes / sizeof modes[0]; t++) {
        if (!once && modes[t].model == WARD_SIM_TORN_UNIT_BLANK) {
            continue;
        }
        for (uint64_t n = 1;; n++) {
            jf_t j;
            ward_boot_state_t st, re;
            jf_open(&j, ss, ws, once);
            j.d.flash.torn_model = modes[t].model;
            load(&j, &st);
            app(&j, &st, WARD_BOOT_REC_BEGIN, WARD_BOOT_OP_TEST, 1);
            app(&j, &st, WARD_BOOT_REC_STEP, 0, 1);
            app(&j, &st, WARD_BOOT_REC_STEP, 0, 2);
            app(&j, &st, WARD_BOOT_REC_STEP, 0, 3);
            app(&j, &st, WARD_BOOT_REC_DONE, 0, 9);
            fill_sector(&j, &st);
            const ward_boot_state_t old = st;
            const uint64_t ops0 = j.d.power.ops;
            ward_sim_power_cut_after(&j.d.power, n, modes[t].torn);
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
            assert_int_equal(err, WARD_ERR_POWER_LOSS);
            /* A compaction cut anywhere, even in its header, is not done. */
            assert_int_equal(re.epoch, old.epoch);
            assert_int_equal(re.sector, old.sector);
            assert_same_state(&old, &re);
            /* And the journal still works from there. */
            err = ward_boot_journal_append(j.st, MAXS, &re, WARD_BOOT_REC_CONFIRM, 0, 0);
            assert_true(err == WARD_OK || (err == WARD_ERR_STATE && re.confirmed == 1));
            load(&j, &st);
            assert_int_equal(st.confirmed, 1);
            assert_int_equal(j.d.flash.stats.violations, 0);
            ward_sim_device_close(&j.d);
        }
    }
    return points;
}

static void test_compaction_cuts(void **state)
{
    (void)state;
    const unsigned w1 = compaction_cuts(1024, 1, false);
    const unsigned w32 = compaction_cuts(2048, 32, true);
    printf("journal compaction: %u cut points on 1-byte writes (plain, HALF, UNIT_NOISE), "
           "%u on 32-byte program-once units (plain and the three torn models)\n",
           w1, w32);
    /* erase + 5 summary records + header, per mode */
    assert_int_equal(w1, 3u * 7u);
    assert_int_equal(w32, 4u * 7u);
}

/* Hand-made headers: the highest valid epoch wins. */
static void put_header(jf_t *j, uint32_t sector, uint32_t epoch, bool good_crc)
{
    uint8_t r[16];
    const uint32_t rs = ward_boot_rec_size(j->st);
    ward_boot_rec_encode(r, rs, WARD_BOOT_REC_HEADER, WARD_BOOT_JOURNAL_VERSION, 0, rs, epoch);
    if (!good_crc) {
        r[rs - 4u] ^= 0x80;
    }
    const uint32_t ss = j->d.geo.sector_size;
    assert_int_equal(ward_area_erase(j->st, sector * ss, ss), WARD_OK);
    assert_int_equal(ward_area_prog(j->st, sector * ss, r, rs), WARD_OK);
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
    ward_boot_rec_encode(r, 16, WARD_BOOT_REC_HEADER, WARD_BOOT_JOURNAL_VERSION, 0, 32, 12);
    assert_int_equal(ward_area_erase(j.st, 0, 1024), WARD_OK);
    assert_int_equal(ward_area_prog(j.st, 0, r, 16), WARD_OK);
    load(&j, &st);
    assert_int_equal(st.epoch, 7);
    /* The first append after a load compacts into the other sector, over
     * whatever is there. */
    app(&j, &st, WARD_BOOT_REC_REFUSE, 0, (uint32_t)WARD_ERR_IMG_SIG);
    assert_int_equal(st.sector, 0);
    assert_int_equal(st.epoch, 8);
    assert_int_equal(st.next, 2);
    /* The next appends of this context go on in place. */
    app(&j, &st, WARD_BOOT_REC_REFUSE, 0, (uint32_t)WARD_ERR_IMG_KEY);
    assert_int_equal(st.sector, 0);
    assert_int_equal(st.next, 3);
    load(&j, &st);
    assert_int_equal(st.epoch, 8);
    assert_int_equal(st.refused, WARD_ERR_IMG_KEY);
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
    trailer_vs_sign(2048, 32, true, false); /* max_align 32: image_ok at end - 64 */
    trailer_vs_sign(2048, 32, true, true);
}

/* The app asks for an install twice without staging again (TEST then PERM,
 * PERM then TEST): the request sector is erased first, so program-once
 * flash sees no unit programmed twice and the second request is the one. */
static void request_twice(uint32_t ss, uint32_t ws, bool once)
{
    ward_sim_device_t d;
    ward_sim_geometry_t g;
    bf_key_t k;
    bf_img_t img;
    ward_boot_ctx_t ctx;
    int req = -1;
    bf_geo(&g, ss, ws, 4, once);
    assert_int_equal(ward_sim_device_open_mem(&d, &g), WARD_OK);
    assert_int_equal(bf_key(1, &k), 0);
    assert_int_equal(bf_image(&img, 1, 1, 600, 3, k.id), 0);
    assert_int_equal(bf_write(&d.layout.secondary, img.data, img.len), 0);
    assert_int_equal(bf_init_ctx(&d, &ctx), WARD_OK);
    static const bool seq[] = {false, true, true, false, false};
    for (size_t i = 0; i < sizeof seq; i++) {
        assert_int_equal(ward_boot_request_install(&ctx, seq[i]), WARD_OK);
        assert_int_equal(ward_boot_trailer_read(&d.layout.secondary, &req), WARD_OK);
        assert_int_equal(req, seq[i] ? WARD_BOOT_REQ_PERM : WARD_BOOT_REQ_TEST);
    }
    assert_int_equal(d.flash.stats.violations, 0);
    assert_true(bf_holds(&d, &d.layout.secondary, &img));
    bf_image_free(&img);
    (void)psa_destroy_key(k.id);
    ward_sim_device_close(&d);
}

static void test_request_twice(void **state)
{
    (void)state;
    request_twice(1024, 1, false);
    request_twice(4096, 8, true);
    request_twice(2048, 16, true);
    request_twice(2048, 32, true);
}

/* The fixture's snapshots restore the program-once bitmap exactly: a unit
 * a torn program spent but left reading erased stays spent. */
static void test_snapshot_keeps_spent_units(void **state)
{
    (void)state;
    jf_t j;
    bf_snap_t snap;
    uint8_t r[16];
    memset(r, 0x5A, sizeof r);
    jf_open(&j, 4096, 8, true);
    j.d.flash.torn_model = WARD_SIM_TORN_UNIT_BLANK;
    ward_sim_power_cut_after(&j.d.power, 1, true);
    assert_int_equal(ward_area_prog(j.st, 0, r, 16), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&j.d.power);
    assert_true(ward_ct_all(jmem(&j, 0, 0), 0xFF, 16));
    assert_int_equal(bf_snap_save(&j.d, &snap), 0);
    assert_int_equal(ward_area_erase(j.st, 0, 4096), WARD_OK); /* unspends it */
    assert_int_equal(bf_snap_load(&j.d, &snap), 0);
    assert_int_equal(ward_area_prog(j.st, 0, r, 16), WARD_ERR_IO); /* still spent */
    assert_int_equal(j.d.flash.stats.violations, 1);
    assert_int_equal(ward_area_prog(j.st, 8, r, 8), WARD_OK); /* its neighbour is not */
    bf_snap_free(&snap);
    ward_sim_device_close(&j.d);
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
    /* max_align 16: image_ok at end - 32. */
    memset(end - 64, 0xFF, 48);
    end[-16] = 16;
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_TEST);
    end[-32] = 0x01;
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_PERM);
    /* Alignments imgtool cannot write (--max-align is 8, 16 or 32; the
     * generic magic form with 8 is read as 8): not a request. */
    static const uint8_t bad[] = {0, 1, 2, 4, 12, 24, 64, 128};
    for (size_t i = 0; i < sizeof bad; i++) {
        end[-16] = bad[i];
        end[-15] = 0;
        assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
        assert_int_equal(req, WARD_BOOT_REQ_NONE);
    }
    end[-16] = 8; /* the other spelling of max_align 8: image_ok at end - 24 */
    memset(end - 32, 0xFF, 16);
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_TEST);
    end[-24] = 0x01;
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_PERM);
    /* A high byte: 4 + 256 is not 4, nor anything else. */
    end[-16] = 16;
    end[-15] = 1;
    assert_int_equal(ward_boot_trailer_read(s, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_NONE);
    ward_sim_device_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blank_and_format),
        cmocka_unit_test(test_mixed_sectors),
        cmocka_unit_test(test_log_replay),
        cmocka_unit_test(test_apply_rules),
        cmocka_unit_test(test_record_bytes),
        cmocka_unit_test(test_torn_record),
        cmocka_unit_test(test_confirm_cut_w32),
        cmocka_unit_test(test_blank_torn_every_reset),
        cmocka_unit_test(test_gap_then_records),
        cmocka_unit_test(test_confirm_while_active_ignored),
        cmocka_unit_test(test_unprogrammable_slot),
        cmocka_unit_test(test_summary_write_fails),
        cmocka_unit_test(test_stale_records),
        cmocka_unit_test(test_compaction),
        cmocka_unit_test(test_summary_roundtrip),
        cmocka_unit_test(test_compaction_cuts),
        cmocka_unit_test(test_epoch_choice),
        cmocka_unit_test(test_trailer_matches_imgtool),
        cmocka_unit_test(test_request_twice),
        cmocka_unit_test(test_snapshot_keeps_spent_units),
        cmocka_unit_test(test_trailer_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
