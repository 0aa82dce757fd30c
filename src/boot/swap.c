/*
 * ward boot swap: exchange the first n swap units of the primary and
 * secondary slots through the scratch area, one unit at a time, in three
 * phases per unit:
 *   3i+0  scratch        <- secondary[i]
 *   3i+1  secondary[i]   <- primary[i]
 *   3i+2  primary[i]     <- scratch
 * A swap unit ends where both slots have a sector boundary: one sector on
 * uniform flash and whenever both slots have the same sector sizes; on
 * mixed sectors it may hold several sectors of one slot against one of the
 * other (MCUboot's rule for swap-scratch). Each phase erases the sectors of
 * its target that the unit covers and copies its source; the source of
 * phase k is only overwritten by phase k+1, which starts after phase k's
 * journal record. So after a power cut, redoing the first unrecorded phase
 * is always correct (docs/boot.md).
 */
#include "boot_priv.h"
#include "ward/util.h"

ward_err_t ward_boot_unit_at(const ward_boot_layout_t *l, uint32_t from, uint32_t *size)
{
    uint32_t p = from, s = from, z = 0;
    if (l->primary.size != l->secondary.size) {
        return WARD_ERR_BOOT_LAYOUT;
    }
    /* Walk whichever slot is behind, a sector at a time, until both reach
     * the same boundary (the end of the slots at the latest). */
    do {
        const bool primary = p <= s;
        if (ward_area_sector_at(primary ? &l->primary : &l->secondary, primary ? p : s, NULL,
                                &z) != WARD_OK) {
            return WARD_ERR_BOOT_LAYOUT;
        }
        if (primary) {
            p += z;
        } else {
            s += z;
        }
    } while (p != s);
    *size = p - from;
    return WARD_OK;
}

uint32_t ward_boot_unit_walk(const ward_boot_layout_t *l, uint32_t idx, uint32_t bytes,
                             uint32_t *at, uint32_t *size)
{
    uint32_t i = 0;
    *at = 0;
    while (ward_boot_unit_at(l, *at, size) == WARD_OK && i < idx && *at + *size < bytes) {
        *at += *size;
        i++;
    }
    return i;
}

ward_err_t ward_boot_copy(const ward_area_t *dst, uint32_t dst_off, uint32_t erase_len,
                          const ward_area_t *src, uint32_t src_off, uint32_t len, uint8_t *buf,
                          size_t buf_len)
{
    ward_err_t err = ward_area_erase(dst, dst_off, erase_len);
    for (uint32_t off = 0; off < len && err == WARD_OK;) {
        const uint32_t n = len - off < buf_len ? len - off : (uint32_t)buf_len;
        err = ward_area_read(src, src_off + off, buf, n);
        /* Erased bytes are already 0xFF: programming them only wears ECC units. */
        if (err == WARD_OK && !ward_ct_all(buf, 0xFFu, n)) {
            err = ward_area_prog(dst, dst_off + off, buf, n);
        }
        off += n;
    }
    return err;
}

ward_err_t ward_boot_swap_phase(ward_boot_ctx_t *ctx, uint32_t k)
{
    const ward_boot_layout_t *l = ctx->cfg.layout;
    uint8_t *b = ctx->buf;
    const uint32_t se = ctx->geo.scratch_erase;
    uint32_t at = 0, size = 0;
    (void)ward_boot_unit_walk(l, k / 3u, UINT32_MAX, &at, &size); /* init checked them */

    /* A unit's ends are sector boundaries of both slots: its sectors are
     * erased exactly; the scratch's that the largest unit covers. */
    switch (k % 3u) {
    case 0:
        return ward_boot_copy(&l->scratch, 0, se, &l->secondary, at, size, b, sizeof ctx->buf);
    case 1:
        return ward_boot_copy(&l->secondary, at, size, &l->primary, at, size, b, sizeof ctx->buf);
    default:
        return ward_boot_copy(&l->primary, at, size, &l->scratch, 0, size, b, sizeof ctx->buf);
    }
}
