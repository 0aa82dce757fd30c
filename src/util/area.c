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
    /* Uniform flash is one run of size / sector_size sectors. */
    const ward_flash_region_t one = {f->sector_size != 0u ? f->size / f->sector_size : 0u,
                                     f->sector_size};
    const ward_flash_region_t *r = f->regions != NULL ? f->regions : &one;
    const uint32_t n = f->regions != NULL ? f->nregions : 1u;
    uint32_t base = 0;
    for (uint32_t i = 0; i < n; i++, r++) {
        /* Bounded by the flash: a map that does not add up ends here. */
        if (r->size == 0u || r->count > (f->size - base) / r->size) {
            break;
        }
        if (off - base < r->count * r->size) {
            if (start != NULL) {
                *start = base + (off - base) / r->size * r->size;
            }
            if (size != NULL) {
                *size = r->size;
            }
            return WARD_OK;
        }
        base += r->count * r->size;
    }
    return WARD_ERR_INVALID_ARG;
}

/* Is flash offset off where a sector starts, or where the last one ends?
 * (The sector before it ends there.) */
static bool boundary(const ward_flash_t *f, uint32_t off)
{
    uint32_t start = 0, size = 0;
    return off == 0u ||
           (ward_flash_sector_at(f, off - 1u, &start, &size) == WARD_OK && start + size == off);
}

ward_err_t ward_area_check(const ward_area_t *a)
{
    if (a == NULL || a->flash == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    const ward_flash_t *f = a->flash;
    /* The map itself is the port's to get right (ward_flash_check); an
     * area must lie on sectors it describes. */
    if (f->write_size == 0u || f->write_size > WARD_CONFIG_MAX_WRITE_SIZE ||
        !pow2(f->write_size) || !pow2(f->sector_size) || f->write_size > f->sector_size ||
        a->size == 0u || a->off > f->size || a->size > f->size - a->off ||
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
    ward_err_t err = ward_area_sector_at(a, 0, NULL, &ss);
    for (uint32_t i = 0; i < idx && err == WARD_OK; i++) {
        at += ss;
        err = ward_area_sector_at(a, at, NULL, &ss);
    }
    if (err == WARD_OK && off != NULL) {
        *off = at;
    }
    if (err == WARD_OK && size != NULL) {
        *size = ss;
    }
    return err;
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
