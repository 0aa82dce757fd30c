/*
 * ward boot: the install request, MCUboot's image trailer at the end of the
 * secondary slot, as imgtool `sign --pad [--confirm]` writes it: the magic
 * in the last 16 bytes and image_ok one max_align unit before the magic's
 * aligned block (imgtool image.py: _trailer_size, pad_to).
 */
#include <string.h>

#include "boot_priv.h"
#include "ward/util.h"

/* BOOT_MAX_ALIGN == 8 */
static const uint8_t k_magic8[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                     0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
/* Any other max_align: u16 max_align (LE), then these 14 bytes. */
static const uint8_t k_magic_tail[14] = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                         0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};

#define IMAGE_OK_SET 0x01u
#define FLAG_UNSET 0xFFu

ward_err_t ward_boot_trailer_read(const ward_area_t *slot, int *req)
{
    uint8_t m[16];
    uint8_t ok = 0;
    uint32_t align = 0;

    *req = WARD_BOOT_REQ_NONE;
    if (slot->size < 128u) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_area_read(slot, slot->size - 16u, m, sizeof m);
    if (err != WARD_OK) {
        return err;
    }
    if (ward_ct_equal(m, k_magic8, sizeof m)) {
        align = 8;
    } else if (ward_ct_equal(m + 2, k_magic_tail, sizeof k_magic_tail)) {
        align = ward_load_le16(m);
        if (align != 8u && align != 16u && align != 32u) {
            return WARD_OK; /* imgtool's --max-align is 8, 16 or 32 */
        }
    } else {
        return WARD_OK; /* no request */
    }
    err = ward_area_read(slot, slot->size - ward_align_up(16u, align) - align, &ok, 1);
    if (err != WARD_OK) {
        return err;
    }
    if (ok == IMAGE_OK_SET) {
        *req = WARD_BOOT_REQ_PERM;
    } else if (ok == FLAG_UNSET) {
        *req = WARD_BOOT_REQ_TEST;
    } else {
        return WARD_ERR_CORRUPT; /* MCUboot: BOOT_FLAG_BAD, no swap */
    }
    return WARD_OK;
}

ward_err_t ward_boot_trailer_write(const ward_area_t *slot, bool permanent, uint8_t *buf,
                                   size_t buf_len)
{
    const uint32_t ws = slot->flash->write_size;
    const uint32_t ma = ws > 8u ? ws : 8u;
    const uint32_t mlen = ward_align_up(16u, ma);
    uint32_t last = 0, ss = 0;

    /* The slot's last sector, whatever its size; never its only one. */
    if (buf == NULL || slot->size == 0u ||
        ward_area_sector_at(slot, slot->size - 1u, &last, &ss) != WARD_OK) {
        return WARD_ERR_INVALID_ARG;
    }
    if (buf_len < mlen || ma > 32u || mlen + ma > ss || last == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    /* Start from an erased sector: a torn earlier attempt may have spent
     * write units that ECC flash will not program twice. */
    ward_err_t err = ward_area_erase(slot, last, ss);
    if (err == WARD_OK && permanent) {
        memset(buf, 0xFF, ma);
        buf[0] = IMAGE_OK_SET;
        err = ward_area_prog(slot, slot->size - mlen - ma, buf, ma);
    }
    if (err != WARD_OK) {
        return err;
    }
    /* Magic last: a request exists only once everything before it is written. */
    memset(buf, 0xFF, mlen);
    if (ma == 8u) {
        memcpy(buf + mlen - 16u, k_magic8, sizeof k_magic8);
    } else {
        ward_store_le16(buf + mlen - 16u, (uint16_t)ma);
        memcpy(buf + mlen - 14u, k_magic_tail, sizeof k_magic_tail);
    }
    return ward_area_prog(slot, slot->size - mlen, buf, mlen);
}
