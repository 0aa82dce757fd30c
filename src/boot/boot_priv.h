/*
 * ward boot internals shared by the src/boot sources and the boot unit tests:
 * the journal (journal.c), the MCUboot trailer (trailer.c) and the swap
 * engine (swap.c). docs/boot-state.md specifies every byte.
 */
#ifndef WARD_BOOT_PRIV_H
#define WARD_BOOT_PRIV_H

#include "ward/boot.h"

/* ---- journal ------------------------------------------------------------- */

#define WARD_BOOT_JOURNAL_VERSION 1u
#define WARD_BOOT_REC_MIN 16u /* bytes of a record that carry data */
/* Largest record: one write unit of the largest flash supported. */
#define WARD_BOOT_REC_MAX \
    (WARD_CONFIG_MAX_WRITE_SIZE > WARD_BOOT_REC_MIN ? WARD_CONFIG_MAX_WRITE_SIZE : WARD_BOOT_REC_MIN)

/* Record types. None is 0x00 or 0xFF, so erased or zeroed flash is never
 * taken for a record. */
#define WARD_BOOT_REC_HEADER 0xA1u /* arg8 = format version, arg32 = record size */
#define WARD_BOOT_REC_BEGIN 0xB2u  /* arg8 = op, arg32 = swap units */
#define WARD_BOOT_REC_STEP 0xC3u   /* arg32 = swap phases completed */
#define WARD_BOOT_REC_DONE 0xD4u   /* arg32 = fingerprint of the image kept in secondary */
#define WARD_BOOT_REC_CONFIRM 0xE5u
#define WARD_BOOT_REC_REFUSE 0x96u /* arg32 = reason (ward_err_t) */

/* Bytes per record on this flash: max(16, write_size). */
uint32_t ward_boot_rec_size(const ward_area_t *state);

/* Records journal sector `sector` (0 or 1: the state area's first two
 * sectors, which may differ in size) holds, the header included; 0 if the
 * area has no such sector. */
uint32_t ward_boot_rec_slots(const ward_area_t *state, uint32_t sector);

/* Encode a whole record of rec_size bytes (ward_boot_rec_size: 16 to
 * WARD_BOOT_REC_MAX): the fields, zeros up to the CRC, and the CRC-32 of
 * everything before it in the last 4 bytes, so that only a record whose
 * whole write unit landed checks out. */
void ward_boot_rec_encode(uint8_t *out, uint32_t rec_size, uint8_t type, uint8_t arg8,
                          uint16_t slot, uint32_t arg32, uint32_t epoch);

/* Apply one record to a state. false (state unchanged) if the record makes
 * no sense there (it is then ignored). max_sectors bounds BEGIN. */
bool ward_boot_state_apply(ward_boot_state_t *st, uint8_t type, uint8_t arg8, uint32_t arg32,
                           uint32_t max_sectors);

/* The state of a blank journal: nothing done, the primary confirmed. */
void ward_boot_state_blank(ward_boot_state_t *st);

/* Read both journal sectors and rebuild the state from the current one
 * (every slot: blank ones are passed over). Never writes. WARD_OK (also
 * for a blank journal), or a read error. */
ward_err_t ward_boot_journal_load(const ward_area_t *state, uint32_t max_sectors,
                                  ward_boot_state_t *st);

/* Append one record. Compacts into the other sector (erase, summary,
 * header) at the first append after a load, when the current sector is
 * full or there is none yet, and when a slot will not program; otherwise
 * appends in place, in the sector this st erased. st follows what is on
 * flash. WARD_ERR_STATE if the record does not apply to st; else what
 * flash says. */
ward_err_t ward_boot_journal_append(const ward_area_t *state, uint32_t max_sectors,
                                    ward_boot_state_t *st, uint8_t type, uint8_t arg8,
                                    uint32_t arg32);

/* ---- trailer (install request) ------------------------------------------- */

#define WARD_BOOT_REQ_NONE 0
#define WARD_BOOT_REQ_TEST 1
#define WARD_BOOT_REQ_PERM 2

/* The install request at the end of a slot: WARD_BOOT_REQ_*, or
 * WARD_ERR_CORRUPT for a magic with an image_ok that is neither 0x01 nor
 * erased, or a read error. */
ward_err_t ward_boot_trailer_read(const ward_area_t *slot, int *req);

/* Erase the slot's last sector (whatever its size) and write the request as imgtool --pad
 * (--confirm when permanent) does, max_align = max(8, write_size). buf
 * holds at least 64 bytes. */
ward_err_t ward_boot_trailer_write(const ward_area_t *slot, bool permanent, uint8_t *buf,
                                   size_t buf_len);

/* ---- swap ---------------------------------------------------------------- */

/* The swap unit that starts at slot offset `from` (0, or the end of a
 * unit): *size bytes up to the next offset where both slots have a sector
 * boundary. WARD_ERR_BOOT_LAYOUT if there is none (slots of different
 * sizes, or `from` not a boundary of both). */
ward_err_t ward_boot_unit_at(const ward_boot_layout_t *l, uint32_t from, uint32_t *size);

/* Erase [dst_off, dst_off + erase_len) of dst (sector boundaries), then
 * copy len bytes (<= erase_len) src -> dst through buf, skipping chunks
 * that are all 0xFF. */
ward_err_t ward_boot_copy(const ward_area_t *dst, uint32_t dst_off, uint32_t erase_len,
                          const ward_area_t *src, uint32_t src_off, uint32_t len, uint8_t *buf,
                          size_t buf_len);

/* Walk the swap units from the start of the slots, to unit idx or to the
 * first unit that ends at or past `bytes`, whichever comes first: returns
 * its index, *at its start, *size its size. */
uint32_t ward_boot_unit_walk(const ward_boot_layout_t *l, uint32_t idx, uint32_t bytes,
                             uint32_t *at, uint32_t *size);

/* Run phase k % 3 of swap unit k / 3 (0 <= k < 3 * nsectors) of the active
 * operation. */
ward_err_t ward_boot_swap_phase(ward_boot_ctx_t *ctx, uint32_t k);

#endif /* WARD_BOOT_PRIV_H */
