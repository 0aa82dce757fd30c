/*
 * ward boot journal: fixed-size records in two flash sectors (the state
 * area's first two; each holds as many records as its own size allows).
 *
 * Each record is one write unit (at least 16 bytes) written with one
 * program call; it carries its sector's epoch, its own slot number and, in
 * its last 4 bytes, a CRC-32 of all the bytes before them, so a torn or
 * stale record is recognised and skipped: only a unit that landed whole
 * checks out, whatever the write size. A sector is valid when its slot 0 holds a valid
 * header; the valid sector with the highest epoch is current. The state is
 * written as a short summary into the other sector, header last, so a power
 * cut at any point leaves one valid journal: when the current sector is
 * full, and at the first append after a reset. A program cut by a power
 * loss can leave its slot reading erased yet unprogrammable (ECC flash), so
 * records are only ever appended to a sector this context erased; erased
 * slots are skipped when reading.
 * docs/boot-state.md has the bytes, docs/boot.md the argument.
 */
#include <string.h>

#include "boot_priv.h"
#include "ward/util.h"

uint32_t ward_boot_rec_size(const ward_area_t *state)
{
    const uint32_t ws = state->flash->write_size;
    return ws > WARD_BOOT_REC_MIN ? ws : WARD_BOOT_REC_MIN;
}

/* Journal sector `sector` (0 or 1: the state area's first two sectors):
 * where it starts in the area; *size its size (0 if there is no such
 * sector). */
static uint32_t jsector(const ward_area_t *state, uint32_t sector, uint32_t *size)
{
    uint32_t first = 0;
    *size = 0;
    (void)ward_area_sector_at(state, 0, NULL, &first);
    const uint32_t off = sector == 0u ? 0u : first;
    (void)ward_area_sector_at(state, off, NULL, size);
    return off;
}

uint32_t ward_boot_rec_slots(const ward_area_t *state, uint32_t sector)
{
    uint32_t size = 0;
    (void)jsector(state, sector > 1u ? 2u : sector, &size);
    return sector > 1u ? 0u : size / ward_boot_rec_size(state);
}

static uint32_t sector_off(const ward_area_t *state, uint32_t sector)
{
    uint32_t size = 0;
    return jsector(state, sector, &size);
}

void ward_boot_rec_encode(uint8_t *out, uint32_t rec_size, uint8_t type, uint8_t arg8,
                          uint16_t slot, uint32_t arg32, uint32_t epoch)
{
    out[0] = type;
    out[1] = arg8;
    ward_store_le16(out + 2, slot);
    ward_store_le32(out + 4, arg32);
    ward_store_le32(out + 8, epoch);
    /* Zeros, not 0xFF: a unit whose second half did not land reads 0xFF
     * there, which no record ever holds. */
    memset(out + 12, 0x00, rec_size - WARD_BOOT_REC_MIN);
    ward_store_le32(out + rec_size - 4u, ward_crc32(0, out, rec_size - 4u));
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

/* Read record `slot` of journal sector `sector`: the whole record,
 * ward_boot_rec_size bytes. */
static ward_err_t rec_read(const ward_area_t *state, uint32_t sector, uint32_t slot,
                           uint8_t r[WARD_BOOT_REC_MAX])
{
    const uint32_t rs = ward_boot_rec_size(state);
    if (rs > WARD_BOOT_REC_MAX) {
        return WARD_ERR_INVALID_ARG; /* ward_area_check refuses such a flash */
    }
    return ward_area_read(state, sector_off(state, sector) + slot * rs, r, rs);
}

/* The record was written whole (its zeros, the CRC at its end) where it
 * claims to belong (slot). */
static bool rec_intact(const uint8_t r[WARD_BOOT_REC_MAX], uint32_t rs, uint32_t slot)
{
    return ward_ct_all(r + 12, 0x00u, rs - WARD_BOOT_REC_MIN) &&
           ward_load_le32(r + rs - 4u) == ward_crc32(0, r, rs - 4u) &&
           ward_load_le16(r + 2) == slot;
}

/* A sector's header: its epoch, or 0 when the sector is not valid. */
static ward_err_t read_header(const ward_area_t *state, uint32_t sector, uint32_t *epoch)
{
    uint8_t r[WARD_BOOT_REC_MAX];
    *epoch = 0;
    ward_err_t err = rec_read(state, sector, 0, r);
    if (err == WARD_ERR_IO) {
        return WARD_OK; /* unreadable (ECC): not a valid sector */
    }
    /* UINT32_MAX is never written: compaction refuses to wrap. */
    if (err == WARD_OK && rec_intact(r, ward_boot_rec_size(state), 0) && r[0] == WARD_BOOT_REC_HEADER &&
        r[1] == WARD_BOOT_JOURNAL_VERSION && ward_load_le32(r + 4) == ward_boot_rec_size(state) &&
        ward_load_le32(r + 8) != UINT32_MAX) {
        *epoch = ward_load_le32(r + 8);
    }
    return err;
}

ward_err_t ward_boot_journal_load(const ward_area_t *state, uint32_t max_sectors,
                                  ward_boot_state_t *st)
{
    uint8_t r[WARD_BOOT_REC_MAX];
    uint32_t e0 = 0, e1 = 0;
    const uint8_t ready = st->ready;

    ward_boot_state_blank(st);
    st->ready = ready;
    ward_err_t err = read_header(state, 0, &e0);
    if (err == WARD_OK) {
        err = read_header(state, 1, &e1);
    }
    if (err != WARD_OK || (e0 == 0u && e1 == 0u)) {
        return err; /* a blank journal: the first append formats it */
    }
    st->sector = e1 > e0 ? 1u : 0u;
    st->epoch = e1 > e0 ? e1 : e0;

    /* The whole sector: an erased-looking slot may be one a cut spent
     * (the writer then went on after it). */
    const uint32_t slots = ward_boot_rec_slots(state, st->sector);
    const uint32_t rs = ward_boot_rec_size(state);
    st->next = 1;
    for (uint32_t k = 1; k < slots; k++) {
        err = rec_read(state, st->sector, k, r);
        if (err == WARD_OK && ward_ct_all(r, 0xFFu, rs)) {
            continue;
        }
        if (err != WARD_OK && err != WARD_ERR_IO) {
            return err;
        }
        st->next = k + 1u;
        /* Unreadable (torn, ECC), torn, stale or out of place: skipped. */
        if (err != WARD_OK || !rec_intact(r, rs, k) || ward_load_le32(r + 8) != st->epoch ||
            !ward_boot_state_apply(st, r[0], r[1], ward_load_le32(r + 4), max_sectors)) {
            st->skipped++;
        }
    }
    return WARD_OK;
}

static ward_err_t write_rec(const ward_area_t *state, uint32_t sector, uint32_t slot,
                            uint8_t type, uint8_t arg8, uint32_t arg32, uint32_t epoch)
{
    /* The whole record, one write unit, in one program. */
    uint8_t r[WARD_BOOT_REC_MAX];
    const uint32_t rs = ward_boot_rec_size(state);
    if (rs > WARD_BOOT_REC_MAX) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_boot_rec_encode(r, rs, type, arg8, (uint16_t)slot, arg32, epoch);
    return ward_area_prog(state, sector_off(state, sector) + slot * rs, r, rs);
}

/* Where a summary is being written: records go to slots 1, 2, ... */
typedef struct summary {
    const ward_area_t *state;
    uint32_t sector;
    uint32_t epoch;
    uint32_t n; /* records written so far */
    ward_err_t err;
} summary_t;

static void sum_put(summary_t *s, bool want, uint8_t type, uint8_t arg8, uint32_t arg32)
{
    if (want && s->err == WARD_OK) {
        s->n++;
        s->err = write_rec(s->state, s->sector, s->n, type, arg8, arg32, s->epoch);
    }
}

/* Write the state `to` (a copy of *st with one record applied) as a summary
 * into the other sector, erased first; header last. Then st is `to`, in the
 * sector this context owns. */
static ward_err_t compact(const ward_area_t *state, ward_boot_state_t *st,
                          const ward_boot_state_t *to)
{
    if (st->epoch >= UINT32_MAX - 1u) {
        return WARD_ERR_BOOT_STATE; /* 4e9 compactions: the flash is long dead */
    }
    summary_t s;
    s.state = state;
    s.sector = st->epoch == 0u ? 0u : 1u - st->sector;
    s.epoch = st->epoch + 1u;
    s.n = 0;
    uint32_t size = 0;
    const uint32_t off = jsector(state, s.sector, &size);
    s.err = ward_area_erase(state, off, size);
    /* Replaying these records on a blank state gives `to` again (REFUSE
     * first: it is not accepted while an operation is active). */
    const bool op = to->op != WARD_BOOT_OP_NONE;
    sum_put(&s, to->refused != WARD_OK, WARD_BOOT_REC_REFUSE, 0, (uint32_t)to->refused);
    sum_put(&s, op, WARD_BOOT_REC_BEGIN, to->op, to->nsectors);
    sum_put(&s, op && to->steps_done > 0u, WARD_BOOT_REC_STEP, 0, to->steps_done);
    sum_put(&s, op && to->op_done != 0u, WARD_BOOT_REC_DONE, 0, to->backup_fp);
    sum_put(&s, op && to->op_done != 0u && to->op == WARD_BOOT_OP_TEST && to->confirmed != 0u,
            WARD_BOOT_REC_CONFIRM, 0, 0);
    if (s.err == WARD_OK) {
        /* The header makes the sector current: only now is the old one stale. */
        s.err = write_rec(state, s.sector, 0, WARD_BOOT_REC_HEADER, WARD_BOOT_JOURNAL_VERSION,
                          ward_boot_rec_size(state), s.epoch);
    }
    if (s.err != WARD_OK) {
        return s.err;
    }
    *st = *to; /* a copy of *st with the record applied: ready is kept */
    st->sector = (uint8_t)s.sector;
    st->epoch = s.epoch;
    st->next = 1u + s.n;
    st->skipped = 0;
    st->owned = 1;
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
    /* A fresh sector (compaction) after a reset, when the slots past the
     * last record may have been spent by a torn program that left nothing
     * visible; when the sector is full; and once more when a slot would not
     * program. */
    ward_err_t err = WARD_ERR_IO;
    if (st->owned != 0u && st->next < ward_boot_rec_slots(state, st->sector)) {
        err = write_rec(state, st->sector, st->next, type, arg8, arg32, st->epoch);
        if (err == WARD_OK) {
            to.next = st->next + 1u;
            *st = to;
            return WARD_OK;
        }
        st->next++; /* the slot may be half written: never reuse it */
    }
    return err == WARD_ERR_IO ? compact(state, st, &to) : err;
}
