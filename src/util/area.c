/* ward flash areas: bounds- and alignment-checked access to a flash region. */
#include "ward/port.h"

static bool range_ok(const ward_area_t *a, uint32_t off, size_t len)
{
    return a != NULL && a->flash != NULL && off <= a->size && len <= (size_t)(a->size - off);
}

static bool pow2(uint32_t v)
{
    return v != 0u && (v & (v - 1u)) == 0u;
}

ward_err_t ward_flash_check(const ward_flash_t *f)
{
    if (f == NULL || f->write_size == 0u || f->write_size > WARD_CONFIG_MAX_WRITE_SIZE ||
        !pow2(f->write_size) || !pow2(f->sector_size) || f->write_size > f->sector_size) {
        return WARD_ERR_INVALID_ARG;
    }
    if (f->regions == NULL) {
        return WARD_OK;
    }
    /* A map: runs of whole power-of-two sectors that add up to the flash,
     * the smallest of them sector_size. */
    uint32_t end = 0, least = UINT32_MAX;
    if (f->nregions == 0u || f->nregions > 255u) {
        return WARD_ERR_INVALID_ARG;
    }
    for (uint32_t i = 0; i < f->nregions; i++) {
        const ward_flash_region_t *r = &f->regions[i];
        if (r->count == 0u || !pow2(r->size) || r->size < f->write_size ||
            r->count > (f->size - end) / r->size) {
            return WARD_ERR_INVALID_ARG;
        }
        end += r->count * r->size;
        least = r->size < least ? r->size : least;
    }
    return end == f->size && least == f->sector_size ? WARD_OK : WARD_ERR_INVALID_ARG;
}

ward_err_t ward_flash_sector_at(const ward_flash_t *f, uint32_t off, uint32_t *start,
                                uint32_t *size)
{
    uint32_t base = 0, ss = f->sector_size;
    if (off >= f->size) {
        return WARD_ERR_INVALID_ARG;
    }
    if (f->regions != NULL) {
        uint32_t i = 0;
        for (;; i++) {
            const ward_flash_region_t *r = &f->regions[i];
            /* Bounded by the flash: a map that does not add up ends here. */
            if (i >= f->nregions || r->size == 0u || r->count > (f->size - base) / r->size) {
                return WARD_ERR_INVALID_ARG;
            }
            if (off - base < r->count * r->size) {
                ss = r->size;
                break;
            }
            base += r->count * r->size;
        }
    }
    if (start != NULL) {
        *start = base + ((off - base) & ~(ss - 1u));
    }
    if (size != NULL) {
        *size = ss;
    }
    return WARD_OK;
}

/* Is flash offset off the start of a sector, or the flash's end? */
static bool boundary(const ward_flash_t *f, uint32_t off)
{
    uint32_t start = 0;
    if (f->regions == NULL) {
        return (off & (f->sector_size - 1u)) == 0u; /* the callers keep off <= size */
    }
    return off == f->size || (ward_flash_sector_at(f, off, &start, NULL) == WARD_OK && start == off);
}

ward_err_t ward_area_check(const ward_area_t *a)
{
    if (a == NULL || ward_flash_check(a->flash) != WARD_OK) {
        return WARD_ERR_INVALID_ARG;
    }
    const ward_flash_t *f = a->flash;
    if (a->size == 0u || a->off > f->size || a->size > f->size - a->off ||
        !boundary(f, a->off) || !boundary(f, a->off + a->size)) {
        return WARD_ERR_INVALID_ARG;
    }
    return WARD_OK;
}

ward_err_t ward_area_sector_at(const ward_area_t *a, uint32_t off, uint32_t *start,
                               uint32_t *size)
{
    uint32_t s = 0;
    if (a == NULL || a->flash == NULL || off >= a->size) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_flash_sector_at(a->flash, a->off + off, &s, size);
    if (err == WARD_OK && s < a->off) {
        err = WARD_ERR_INVALID_ARG; /* an area that does not start on a sector */
    }
    if (err == WARD_OK && start != NULL) {
        *start = s - a->off;
    }
    return err;
}

ward_err_t ward_area_sector(const ward_area_t *a, uint32_t idx, uint32_t *off, uint32_t *size)
{
    uint32_t at = 0, ss = 0;
    if (a != NULL && a->flash != NULL && a->flash->regions == NULL) {
        /* Uniform: no walk. */
        ss = a->flash->sector_size;
        if (ss == 0u || idx >= a->size / ss) {
            return WARD_ERR_INVALID_ARG;
        }
        at = idx * ss;
        if (off != NULL) {
            *off = at;
        }
        if (size != NULL) {
            *size = ss;
        }
        return WARD_OK;
    }
    for (uint32_t i = 0;; i++) {
        ward_err_t err = ward_area_sector_at(a, at, NULL, &ss);
        if (err != WARD_OK) {
            return err;
        }
        if (i == idx) {
            break;
        }
        at += ss;
    }
    if (off != NULL) {
        *off = at;
    }
    if (size != NULL) {
        *size = ss;
    }
    return WARD_OK;
}

uint32_t ward_area_sectors(const ward_area_t *a)
{
    uint32_t n = 0, ss = 0;
    if (ward_area_check(a) != WARD_OK) {
        return 0;
    }
    for (uint32_t at = 0; at < a->size; at += ss) {
        if (ward_area_sector_at(a, at, NULL, &ss) != WARD_OK) {
            return 0;
        }
        n++;
    }
    return n;
}

ward_err_t ward_area_read(const ward_area_t *a, uint32_t off, void *buf, size_t len)
{
    if (!range_ok(a, off, len) || (buf == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (len == 0u) {
        return WARD_OK;
    }
    return a->flash->read(a->flash->ctx, a->off + off, buf, len);
}

ward_err_t ward_area_prog(const ward_area_t *a, uint32_t off, const void *buf, size_t len)
{
    if (!range_ok(a, off, len) || (buf == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    const uint32_t ws = a->flash->write_size;
    if (((a->off + off) % ws) != 0u || (len % ws) != 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    if (len == 0u) {
        return WARD_OK;
    }
    return a->flash->prog(a->flash->ctx, a->off + off, buf, len);
}

ward_err_t ward_area_erase(const ward_area_t *a, uint32_t off, uint32_t len)
{
    if (!range_ok(a, off, len)) {
        return WARD_ERR_INVALID_ARG;
    }
    const ward_flash_t *f = a->flash;
    const uint32_t end = a->off + off + len;
    /* Both ends on boundaries before anything is erased. */
    if (!boundary(f, a->off + off) || !boundary(f, end)) {
        return WARD_ERR_INVALID_ARG;
    }
    uint32_t ss = 0;
    for (uint32_t at = a->off + off; at < end; at += ss) {
        ward_err_t err = ward_flash_sector_at(f, at, NULL, &ss);
        if (err == WARD_OK) {
            err = f->erase(f->ctx, at);
        }
        if (err != WARD_OK) {
            return err;
        }
    }
    return WARD_OK;
}
