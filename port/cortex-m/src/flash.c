/*
 * Flash driver of the Cortex-M port. QEMU's boards have no flash controller
 * it can program: the flash device (the board file's DEV_*, by default its
 * flash, with its sector map) is RAM, and this driver enforces what a NOR
 * controller would.
 *   - erase sets a sector of the map (whatever its size) to 0xFF;
 *   - program only clears bits, in write_size units, and, as on ECC flash
 *     such as the STM32L4's, only into a unit that is still erased: setting
 *     a bit or programming a unit twice fails with WARD_ERR_IO and writes
 *     nothing;
 *   - what lies below WARD_CM_PROTECT_END (mps2-an386: the bootloader, the
 *     key block and the OTP block) is write-protected, as option bytes
 *     would make it on a real part.
 * The device is RAM from its base on (DEV_ADDR), or, on a board whose flash
 * QEMU keeps as ROM (netduinoplus2: EMU_*), the sectors the layout writes
 * are emulated in RAM, each kept whole or by its first and last bytes
 * (WARD_BOARD_EMU_SECTORS): a byte the emulation does not keep reads 0xFF
 * and takes no program other than 0xFF; a sector it does not emulate takes
 * no erase.
 * A real driver unlocks the controller, programs the unit, polls BSY and
 * maps the controller's error flags to WARD_ERR_IO (docs/porting.md).
 */
#include <string.h>

#include "ward_cm.h"
#include "ward_cm_priv.h"

static const ward_flash_region_t k_map[] = WARD_BOARD_DEV_REGIONS;

static bool in_flash(uint32_t off, size_t len)
{
    return off <= WARD_CM_FLASH_SIZE && len <= (size_t)(WARD_CM_FLASH_SIZE - off);
}

#if WARD_BOARD_HAS_EMU
/* The emulated sectors: where each starts in the device, where it is kept in RAM. */
typedef struct {
    uint32_t start, ram;
} emu_sector_t;

static const emu_sector_t k_emu[] = WARD_BOARD_EMU_SECTORS;

/* The RAM that keeps the sector starting at `start` (its first head bytes,
 * then its last WARD_BOARD_EMU_TAIL if it is larger than the window), or
 * NULL. */
static uint8_t *emu_sector(uint32_t start, uint32_t size, uint32_t *head)
{
    *head = size > WARD_BOARD_EMU_WINDOW ? WARD_BOARD_EMU_WINDOW - WARD_BOARD_EMU_TAIL : size;
    for (uint32_t i = 0; i < WARD_BOARD_EMU_COUNT; i++) {
        if (k_emu[i].start == start) {
            return ward_cm_addr(k_emu[i].ram);
        }
    }
    return NULL;
}

/* Where device byte off is kept in RAM, or NULL. */
static uint8_t *emu_byte(uint32_t off)
{
    uint32_t start = 0, size = 0, head = 0;
    if (ward_flash_sector_at(&ward_cm_flash_dev, off, &start, &size) != WARD_OK) {
        return NULL;
    }
    uint8_t *ram = emu_sector(start, size, &head);
    const uint32_t rel = off - start;
    if (ram == NULL || rel < head) {
        return ram == NULL ? NULL : ram + rel;
    }
    /* The sector's last bytes follow its first in RAM. */
    return rel >= size - WARD_BOARD_EMU_TAIL ? ram + head + rel - (size - WARD_BOARD_EMU_TAIL)
                                             : NULL;
}

const uint8_t *ward_cm_dev_ptr(uint32_t off)
{
    return emu_byte(off);
}
#else
static uint8_t *emu_byte(uint32_t off)
{
    return ward_cm_addr(WARD_CM_FLASH_BASE + off);
}

const uint8_t *ward_cm_dev_ptr(uint32_t off)
{
    return ward_cm_addr(WARD_CM_FLASH_BASE + off);
}
#endif

static ward_err_t cm_flash_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx;
    if (!in_flash(off, len) || (buf == NULL && len > 0u)) {
        return WARD_ERR_IO;
    }
#if WARD_BOARD_HAS_EMU
    uint8_t *out = buf;
    for (size_t i = 0; i < len; i++) {
        const uint8_t *p = emu_byte(off + (uint32_t)i);
        out[i] = p != NULL ? *p : 0xFFu;
    }
#else
    memcpy(buf, emu_byte(off), len);
#endif
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
    const uint8_t *src = buf;
    /* Check the whole request first: a refused program changes nothing.
     * An erased unit (all 0xFF) accepts any value, so this also refuses
     * a 0 -> 1 bit. */
#if WARD_BOARD_HAS_EMU
    /* A byte the emulation does not keep takes only 0xFF. */
    for (size_t i = 0; i < len; i++) {
        const uint8_t *p = emu_byte(off + (uint32_t)i);
        if (p != NULL ? *p != 0xFFu : src[i] != 0xFFu) {
            return WARD_ERR_IO;
        }
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t *p = emu_byte(off + (uint32_t)i);
        if (p != NULL) {
            *p = src[i];
        }
    }
#else
    uint8_t *dst = emu_byte(off);
    for (size_t i = 0; i < len; i++) {
        if (dst[i] != 0xFFu) {
            return WARD_ERR_IO;
        }
    }
    for (size_t i = 0; i < len; i++) {
        dst[i] = src[i];
    }
#endif
    return WARD_OK;
}

static ward_err_t cm_flash_erase(void *ctx, uint32_t off)
{
    uint32_t start = 0, size = 0;
    (void)ctx;
    if (ward_flash_sector_at(&ward_cm_flash_dev, off, &start, &size) != WARD_OK || start != off) {
        return WARD_ERR_INVALID_ARG;
    }
#if WARD_CM_PROTECT_END > 0
    if (off < WARD_CM_PROTECT_END) {
        return WARD_ERR_IO;
    }
#endif
#if WARD_BOARD_HAS_EMU
    uint32_t head = 0;
    uint8_t *ram = emu_sector(off, size, &head);
    if (ram == NULL) {
        return WARD_ERR_IO; /* a sector the emulation does not keep */
    }
    memset(ram, 0xFF, head + (size > head ? WARD_BOARD_EMU_TAIL : 0u));
    return WARD_OK;
#else
    memset(emu_byte(off), 0xFF, size);
    return WARD_OK;
#endif
}

const ward_flash_t ward_cm_flash_dev = {
    .ctx = NULL,
    .read = cm_flash_read,
    .prog = cm_flash_prog,
    .erase = cm_flash_erase,
    .size = WARD_CM_FLASH_SIZE,
    .sector_size = WARD_CM_SECTOR_SIZE,
    .write_size = WARD_CM_WRITE_SIZE,
    /* Uniform devices keep the one-size arithmetic (no map). */
    .regions = WARD_BOARD_DEV_NREGIONS > 1u ? k_map : NULL,
    .nregions = WARD_BOARD_DEV_NREGIONS > 1u ? WARD_BOARD_DEV_NREGIONS : 0u,
};

const ward_flash_t *ward_cm_flash(void)
{
    return &ward_cm_flash_dev;
}
