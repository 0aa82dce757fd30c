/*
 * ward boot swap: exchange the first nsectors sectors of the primary and
 * secondary slots through the scratch sector, one sector at a time, in
 * three phases per sector:
 *   3i+0  scratch        <- secondary[i]
 *   3i+1  secondary[i]   <- primary[i]
 *   3i+2  primary[i]     <- scratch
 * Each phase erases its target and copies its source; the source of phase
 * k is only overwritten by phase k+1, which starts after phase k's journal
 * record. So after a power cut, redoing the first unrecorded phase is
 * always correct (docs/boot.md).
 */
#include "boot_priv.h"
#include "ward/util.h"

ward_err_t ward_boot_copy_sector(const ward_area_t *dst, uint32_t dst_off, const ward_area_t *src,
                                 uint32_t src_off, uint8_t *buf, size_t buf_len)
{
    const uint32_t ss = dst->flash->sector_size;
    ward_err_t err = ward_area_erase(dst, dst_off, ss);
    for (uint32_t off = 0; off < ss && err == WARD_OK;) {
        const uint32_t n = ss - off < buf_len ? ss - off : (uint32_t)buf_len;
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
    const uint32_t ss = l->primary.flash->sector_size;
    const uint32_t at = (k / 3u) * ss;

    switch (k % 3u) {
    case 0:
        return ward_boot_copy_sector(&l->scratch, 0, &l->secondary, at, ctx->buf, sizeof ctx->buf);
    case 1:
        return ward_boot_copy_sector(&l->secondary, at, &l->primary, at, ctx->buf, sizeof ctx->buf);
    default:
        return ward_boot_copy_sector(&l->primary, at, &l->scratch, 0, ctx->buf, sizeof ctx->buf);
    }
}
