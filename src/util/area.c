/* ward flash areas: bounds- and alignment-checked access to a flash region. */
#include "ward/port.h"

static bool range_ok(const ward_area_t *a, uint32_t off, size_t len)
{
    return a != NULL && a->flash != NULL && off <= a->size && len <= (size_t)(a->size - off);
}

ward_err_t ward_area_check(const ward_area_t *a)
{
    if (a == NULL || a->flash == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    const ward_flash_t *f = a->flash;
    if (f->sector_size == 0u || (f->sector_size & (f->sector_size - 1u)) != 0u ||
        f->write_size == 0u || f->write_size > WARD_CONFIG_MAX_WRITE_SIZE ||
        (f->write_size & (f->write_size - 1u)) != 0u || f->write_size > f->sector_size) {
        return WARD_ERR_INVALID_ARG;
    }
    if (a->size == 0u || (a->off % f->sector_size) != 0u || (a->size % f->sector_size) != 0u ||
        a->off > f->size || a->size > f->size - a->off) {
        return WARD_ERR_INVALID_ARG;
    }
    return WARD_OK;
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
    const uint32_t ss = a->flash->sector_size;
    if (((a->off + off) % ss) != 0u || (len % ss) != 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    for (uint32_t s = 0; s < len; s += ss) {
        ward_err_t err = a->flash->erase(a->flash->ctx, a->off + off + s);
        if (err != WARD_OK) {
            return err;
        }
    }
    return WARD_OK;
}
