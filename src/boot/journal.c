/*
 * ward boot journal: fixed-size records in two flash sectors.
 *
 * Each record is written with one program call and carries its sector's
 * epoch, its own slot number and a CRC-32, so a torn or stale record is
 * recognised and skipped. A sector is valid when its slot 0 holds a valid
 * header; the valid sector with the highest epoch is current. When it is
 * full, the state is written as a short summary into the other sector,
 * header last, so a power cut at any point leaves one valid journal.
 * docs/boot-state.md has the bytes, docs/boot.md the argument.
 */
#include <string.h>

#include "boot_priv.h"
#include "ward/util.h"

/* A summary is at most BEGIN, STEP, DONE, CONFIRM, REFUSE after the header. */
#define SUMMARY_MAX 5u

uint32_t ward_boot_rec_size(const ward_area_t *state)
{
    const uint32_t ws = state->flash->write_size;
    return ws > WARD_BOOT_REC_MIN ? ws : WARD_BOOT_REC_MIN;
}

uint32_t ward_boot_rec_slots(const ward_area_t *state)
{
    return state->flash->sector_size / ward_boot_rec_size(state);
}

void ward_boot_rec_encode(uint8_t out[WARD_BOOT_REC_MIN], uint8_t type, uint8_t arg8,
                          uint16_t slot, uint32_t arg32, uint32_t epoch)
{
    out[0] = type;
    out[1] = arg8;
    ward_store_le16(out + 2, slot);
    ward_store_le32(out + 4, arg32);
    ward_store_le32(out + 8, epoch);
    ward_store_le32(out + 12, ward_crc32(0, out, 12));
}

void ward_boot_state_blank(ward_boot_state_t *st)
{
    memset(st, 0, sizeof *st);
    st->op = WARD_BOOT_OP_NONE;
    st->op_done = 1;
    st->confirmed = 1; /* whatever the factory put in the primary */
    st->refused = WARD_OK;
}

bool ward_boot_state_apply(ward_boot_state_t *st, uint8_t type, uint8_t arg8, uint32_t arg32,
                           uint32_t max_sectors)
{
    const bool active = st->op != WARD_BOOT_OP_NONE && st->op_done == 0u;
    switch (type) {
    case WARD_BOOT_REC_BEGIN:
        if (active || arg8 < WARD_BOOT_OP_TEST || arg8 > WARD_BOOT_OP_REVERT || arg32 == 0u ||
            arg32 > max_sectors) {
            return false;
        }
        st->op = arg8;
        st->op_done = 0;
        st->confirmed = 0;
        st->nsectors = arg32;
        st->steps_done = 0;
        st->backup_fp = 0;
        return true;
    case WARD_BOOT_REC_STEP:
        /* Summaries jump ahead; the log itself counts up by one. */
        if (!active || arg32 <= st->steps_done || arg32 > 3u * st->nsectors) {
            return false;
        }
        st->steps_done = arg32;
        return true;
    case WARD_BOOT_REC_DONE:
        if (!active || st->steps_done != 3u * st->nsectors) {
            return false;
        }
        st->op_done = 1;
        /* A trial must be confirmed by the app; the others are final. */
        st->confirmed = st->op == WARD_BOOT_OP_TEST ? 0u : 1u;
        st->backup_fp = st->op == WARD_BOOT_OP_REVERT ? 0u : arg32;
        return true;
    case WARD_BOOT_REC_CONFIRM:
        if (st->op != WARD_BOOT_OP_TEST || st->op_done == 0u || st->confirmed != 0u) {
            return false;
        }
        st->confirmed = 1;
        return true;
    case WARD_BOOT_REC_REFUSE:
        if (active || (int32_t)arg32 >= 0) {
            return false;
        }
        st->refused = (ward_err_t)arg32;
        return true;
    default:
        return false;
    }
}

/* A sector's header: its epoch, or 0 when the sector is not valid. */
static ward_err_t read_header(const ward_area_t *state, uint32_t sector, uint32_t *epoch)
{
    uint8_t r[WARD_BOOT_REC_MIN];
    const uint32_t ss = state->flash->sector_size;
    *epoch = 0;
    ward_err_t err = ward_area_read(state, sector * ss, r, sizeof r);
    if (err == WARD_ERR_IO) {
        return WARD_OK; /* unreadable (ECC): not a valid sector */
    }
    if (err != WARD_OK) {
        return err;
    }
    if (r[0] != WARD_BOOT_REC_HEADER || r[1] != WARD_BOOT_JOURNAL_VERSION ||
        ward_load_le16(r + 2) != 0u || ward_load_le32(r + 4) != ward_boot_rec_size(state) ||
        ward_load_le32(r + 12) != ward_crc32(0, r, 12)) {
        return WARD_OK;
    }
    const uint32_t e = ward_load_le32(r + 8);
    /* UINT32_MAX is never written: compaction refuses to wrap. */
    *epoch = e == UINT32_MAX ? 0u : e;
    return WARD_OK;
}

ward_err_t ward_boot_journal_load(const ward_area_t *state, uint32_t max_sectors,
                                  ward_boot_state_t *st)
{
    uint8_t r[WARD_BOOT_REC_MIN];
    uint32_t e0 = 0, e1 = 0;
    const uint8_t ready = st->ready;

    ward_boot_state_blank(st);
    st->ready = ready;
    ward_err_t err = read_header(state, 0, &e0);
    if (err == WARD_OK) {
        err = read_header(state, 1, &e1);
    }
    if (err != WARD_OK) {
        return err;
    }
    if (e0 == 0u && e1 == 0u) {
        return WARD_OK; /* blank journal: the first append formats it */
    }
    st->sector = e1 > e0 ? 1u : 0u;
    st->epoch = e1 > e0 ? e1 : e0;

    const uint32_t rs = ward_boot_rec_size(state);
    const uint32_t slots = ward_boot_rec_slots(state);
    const uint32_t base = st->sector * state->flash->sector_size;
    st->next = slots;
    for (uint32_t k = 1; k < slots; k++) {
        err = ward_area_read(state, base + k * rs, r, sizeof r);
        if (err == WARD_ERR_IO) {
            st->skipped++; /* an unreadable (torn, ECC) record */
            continue;
        }
        if (err != WARD_OK) {
            return err;
        }
        if (ward_ct_all(r, 0xFFu, sizeof r)) {
            st->next = k; /* records are appended in order: the end */
            break;
        }
        if (ward_load_le32(r + 12) != ward_crc32(0, r, 12) || ward_load_le16(r + 2) != k ||
            ward_load_le32(r + 8) != st->epoch ||
            !ward_boot_state_apply(st, r[0], r[1], ward_load_le32(r + 4), max_sectors)) {
            st->skipped++;
        }
    }
    return WARD_OK;
}

static ward_err_t write_rec(const ward_area_t *state, uint32_t sector, uint32_t slot,
                            uint8_t type, uint8_t arg8, uint32_t arg32, uint32_t epoch)
{
    /* The whole record (up to the largest write unit) in one program. */
    uint8_t r[WARD_CONFIG_MAX_WRITE_SIZE > WARD_BOOT_REC_MIN ? WARD_CONFIG_MAX_WRITE_SIZE
                                                             : WARD_BOOT_REC_MIN];
    const uint32_t rs = ward_boot_rec_size(state);
    memset(r, 0xFF, sizeof r);
    ward_boot_rec_encode(r, type, arg8, (uint16_t)slot, arg32, epoch);
    return ward_area_prog(state, sector * state->flash->sector_size + slot * rs, r, rs);
}

typedef struct summary {
    uint32_t n;
    uint8_t type[SUMMARY_MAX];
    uint8_t arg8[SUMMARY_MAX];
    uint32_t arg32[SUMMARY_MAX];
} summary_t;

static void sum_add(summary_t *s, uint8_t type, uint8_t arg8, uint32_t arg32)
{
    if (s->n < SUMMARY_MAX) {
        s->type[s->n] = type;
        s->arg8[s->n] = arg8;
        s->arg32[s->n] = arg32;
        s->n++;
    }
}

/* Write the state `to` as a summary into the other sector; header last. */
static ward_err_t compact(const ward_area_t *state, ward_boot_state_t *st,
                          const ward_boot_state_t *to)
{
    summary_t sum;
    sum.n = 0;

    if (st->epoch >= UINT32_MAX - 1u) {
        return WARD_ERR_BOOT_STATE; /* 4e9 compactions: the flash is long dead */
    }
    /* Replaying these records on a blank state gives `to` again (REFUSE
     * first: it is not accepted while an operation is active). */
    if (to->refused != WARD_OK) {
        sum_add(&sum, WARD_BOOT_REC_REFUSE, 0, (uint32_t)to->refused);
    }
    if (to->op != WARD_BOOT_OP_NONE) {
        sum_add(&sum, WARD_BOOT_REC_BEGIN, to->op, to->nsectors);
        if (to->steps_done > 0u) {
            sum_add(&sum, WARD_BOOT_REC_STEP, 0, to->steps_done);
        }
        if (to->op_done != 0u) {
            sum_add(&sum, WARD_BOOT_REC_DONE, 0, to->backup_fp);
            if (to->op == WARD_BOOT_OP_TEST && to->confirmed != 0u) {
                sum_add(&sum, WARD_BOOT_REC_CONFIRM, 0, 0);
            }
        }
    }
    const uint32_t target = st->epoch == 0u ? 0u : 1u - st->sector;
    const uint32_t epoch = st->epoch + 1u;
    const uint32_t ss = state->flash->sector_size;
    ward_err_t err = ward_area_erase(state, target * ss, ss);
    for (uint32_t i = 0; i < sum.n && err == WARD_OK; i++) {
        err = write_rec(state, target, 1u + i, sum.type[i], sum.arg8[i], sum.arg32[i], epoch);
    }
    if (err == WARD_OK) {
        /* The header makes the sector current: only now is the old one stale. */
        err = write_rec(state, target, 0, WARD_BOOT_REC_HEADER, WARD_BOOT_JOURNAL_VERSION,
                        ward_boot_rec_size(state), epoch);
    }
    if (err != WARD_OK) {
        return err;
    }
    const uint8_t ready = st->ready;
    *st = *to;
    st->ready = ready;
    st->sector = (uint8_t)target;
    st->epoch = epoch;
    st->next = 1u + sum.n;
    st->skipped = 0;
    return WARD_OK;
}

ward_err_t ward_boot_journal_append(const ward_area_t *state, uint32_t max_sectors,
                                    ward_boot_state_t *st, uint8_t type, uint8_t arg8,
                                    uint32_t arg32)
{
    ward_boot_state_t to = *st;
    if (!ward_boot_state_apply(&to, type, arg8, arg32, max_sectors)) {
        return WARD_ERR_STATE;
    }
    if (st->epoch == 0u || st->next >= ward_boot_rec_slots(state)) {
        return compact(state, st, &to);
    }
    ward_err_t err = write_rec(state, st->sector, st->next, type, arg8, arg32, st->epoch);
    if (err != WARD_OK) {
        st->next++; /* the slot may be half written: never reuse it */
        return err;
    }
    to.next = st->next + 1u;
    *st = to;
    return WARD_OK;
}
