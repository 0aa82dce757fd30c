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

/* The end of the sector of slot a that starts at off. */
static ward_err_t next_boundary(const ward_area_t *a, uint32_t *off)
{
    uint32_t start = 0, size = 0;
    ward_err_t err = ward_area_sector_at(a, *off, &start, &size);
    if (err == WARD_OK && start != *off) {
        err = WARD_ERR_BOOT_LAYOUT;
    }
    *off += size;
    return err;
}

ward_err_t ward_boot_unit_at(const ward_boot_layout_t *l, uint32_t from, uint32_t *size)
{
    uint32_t p = from, s = from;
    ward_err_t err = WARD_OK;
    if (l->primary.size != l->secondary.size) {
        return WARD_ERR_BOOT_LAYOUT;
    }
    /* Walk whichever slot is behind until both reach the same boundary. */
    do {
        err = p <= s ? next_boundary(&l->primary, &p) : next_boundary(&l->secondary, &s);
    } while (err == WARD_OK && p != s);
    *size = p - from;
    return err == WARD_OK ? WARD_OK : WARD_ERR_BOOT_LAYOUT;
}

ward_err_t ward_boot_copy(const ward_area_t *dst, uint32_t dst_off, const ward_area_t *src,
                          uint32_t src_off, uint32_t len, uint8_t *buf, size_t buf_len)
{
    uint32_t last = 0, ss = 0;
    ward_err_t err = ward_area_sector_at(dst, dst_off + len - 1u, &last, &ss);
    if (err == WARD_OK) {
        err = ward_area_erase(dst, dst_off, last + ss - dst_off);
    }
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

ward_err_t ward_boot_swap_phase(ward_boot_ctx_t *ctx, uint32_t k, uint32_t at, uint32_t size)
{
    const ward_boot_layout_t *l = ctx->cfg.layout;
    uint8_t *b = ctx->buf;

    switch (k % 3u) {
    case 0:
        return ward_boot_copy(&l->scratch, 0, &l->secondary, at, size, b, sizeof ctx->buf);
    case 1:
        return ward_boot_copy(&l->secondary, at, &l->primary, at, size, b, sizeof ctx->buf);
    default:
        return ward_boot_copy(&l->primary, at, &l->scratch, 0, size, b, sizeof ctx->buf);
    }
}
