/*
 * Flash driver of the Cortex-M port. QEMU's boards have no flash controller
 * it can program: the flash device (the board file's DEV_*, by default its
 * flash) is RAM, and this driver enforces what a NOR controller would.
 *   - erase sets a sector (SECTOR_SIZE) to 0xFF;
 *   - program only clears bits, in write_size units, and, as on ECC flash
 *     such as the STM32L4's, only into a unit that is still erased: setting
 *     a bit or programming a unit twice fails with WARD_ERR_IO and writes
 *     nothing;
 *   - what lies below WARD_CM_PROTECT_END (mps2-an386: the bootloader, the
 *     key block and the OTP block) is write-protected, as option bytes
 *     would make it on a real part.
 * A real driver unlocks the controller, programs the unit, polls BSY and
 * maps the controller's error flags to WARD_ERR_IO (docs/porting.md).
 */
#include <string.h>

#include "ward_cm.h"
#include "ward_cm_priv.h"

static bool in_flash(uint32_t off, size_t len)
{
    return off <= WARD_CM_FLASH_SIZE && len <= (size_t)(WARD_CM_FLASH_SIZE - off);
}

static ward_err_t cm_flash_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx;
    if (!in_flash(off, len) || (buf == NULL && len > 0u)) {
        return WARD_ERR_IO;
    }
    memcpy(buf, ward_cm_addr(WARD_CM_FLASH_BASE + off), len);
    return WARD_OK;
}

static ward_err_t cm_flash_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    (void)ctx;
    if (!in_flash(off, len) || (buf == NULL && len > 0u) || (off % WARD_CM_WRITE_SIZE) != 0u ||
        (len % WARD_CM_WRITE_SIZE) != 0u) {
        return WARD_ERR_INVALID_ARG;
    }
#if WARD_CM_PROTECT_END > 0
    if (off < WARD_CM_PROTECT_END) {
        return WARD_ERR_IO;
    }
#endif
    uint8_t *dst = ward_cm_addr(WARD_CM_FLASH_BASE + off);
    const uint8_t *src = buf;
    /* Check the whole request first: a refused program changes nothing.
     * An erased unit (all 0xFF) accepts any value, so this also refuses
     * a 0 -> 1 bit. */
    for (size_t i = 0; i < len; i++) {
        if (dst[i] != 0xFFu) {
            return WARD_ERR_IO;
        }
    }
    for (size_t i = 0; i < len; i++) {
        dst[i] = src[i];
    }
    return WARD_OK;
}

static ward_err_t cm_flash_erase(void *ctx, uint32_t off)
{
    (void)ctx;
    if ((off % WARD_CM_SECTOR_SIZE) != 0u || !in_flash(off, WARD_CM_SECTOR_SIZE)) {
        return WARD_ERR_INVALID_ARG;
    }
#if WARD_CM_PROTECT_END > 0
    if (off < WARD_CM_PROTECT_END) {
        return WARD_ERR_IO;
    }
#endif
    memset(ward_cm_addr(WARD_CM_FLASH_BASE + off), 0xFF, WARD_CM_SECTOR_SIZE);
    return WARD_OK;
}

const ward_flash_t ward_cm_flash_dev = {
    .ctx = NULL,
    .read = cm_flash_read,
    .prog = cm_flash_prog,
    .erase = cm_flash_erase,
    .size = WARD_CM_FLASH_SIZE,
    .sector_size = WARD_CM_SECTOR_SIZE,
    .write_size = WARD_CM_WRITE_SIZE,
};

const ward_flash_t *ward_cm_flash(void)
{
    return &ward_cm_flash_dev;
}
