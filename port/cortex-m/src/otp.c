/*
 * OTP driver of the Cortex-M port. The boards have no OTP QEMU can burn: a
 * block of RAM at WARD_CM_OTP_ADDR (the board file's OTP_ADDR) stands in
 * for it, and this driver keeps its rules: bits only go from 0 to 1, and a
 * field whose lock bit is set cannot be burnt. Where the block lies inside
 * the flash device (mps2-an386), the flash driver write-protects it. On a
 * real part the fuses or the OTP controller enforce this in hardware
 * (docs/cortex-m.md).
 */
#include <string.h>

#include "ward/util.h"
#include "ward_cm.h"
#include "ward_cm_priv.h"

/* Offset of each field in the block (ward_otp_field_t order). */
static const uint16_t k_field_off[WARD_OTP_FIELD_COUNT] = {0x000, 0x020, 0x040,
                                                           0x044, 0x048, 0x088};

_Static_assert(0x048 + WARD_CONFIG_OTP_ROLLBACK_BITS / 8 <= 0x088,
               "ROLLBACK overlaps DEVICE_ID in the OTP block");
_Static_assert(0x088 + 16 <= WARD_CM_OTP_LOCK_OFF, "DEVICE_ID overlaps the lock word");
_Static_assert(WARD_CM_OTP_LOCK_OFF + 4u <= WARD_BOARD_OTP_SIZE, "the board's OTP_SIZE is too small");

static uint8_t *otp_ptr(uint32_t off)
{
    return ward_cm_addr(WARD_CM_OTP_ADDR + off);
}

static bool field_ok(ward_otp_field_t field, size_t len)
{
    return (unsigned)field < (unsigned)WARD_OTP_FIELD_COUNT && len == ward_otp_field_size(field);
}

static bool locked(ward_otp_field_t field)
{
    return (ward_load_le32(otp_ptr(WARD_CM_OTP_LOCK_OFF)) & (1u << (unsigned)field)) != 0u;
}

static ward_err_t cm_otp_read(void *ctx, ward_otp_field_t field, void *buf, size_t len)
{
    (void)ctx;
    if (!field_ok(field, len) || buf == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(buf, otp_ptr(k_field_off[field]), len);
    return WARD_OK;
}

static ward_err_t cm_otp_burn(void *ctx, ward_otp_field_t field, const void *bits, size_t len)
{
    (void)ctx;
    if (!field_ok(field, len) || bits == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (locked(field)) {
        return WARD_ERR_LOCKED;
    }
    uint8_t *p = otp_ptr(k_field_off[field]);
    const uint8_t *b = bits;
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)(p[i] | b[i]); /* OR: a burnt bit never clears */
    }
    /* Read back, as a fuse controller's verify step would. */
    for (size_t i = 0; i < len; i++) {
        if ((uint8_t)(p[i] & b[i]) != b[i]) {
            return WARD_ERR_IO;
        }
    }
    return WARD_OK;
}

static ward_err_t cm_otp_lock(void *ctx, ward_otp_field_t field)
{
    (void)ctx;
    if ((unsigned)field >= (unsigned)WARD_OTP_FIELD_COUNT) {
        return WARD_ERR_INVALID_ARG;
    }
    uint8_t *w = otp_ptr(WARD_CM_OTP_LOCK_OFF);
    ward_store_le32(w, ward_load_le32(w) | (1u << (unsigned)field));
    return WARD_OK;
}

static ward_err_t cm_otp_is_locked(void *ctx, ward_otp_field_t field, bool *is_locked)
{
    (void)ctx;
    if ((unsigned)field >= (unsigned)WARD_OTP_FIELD_COUNT || is_locked == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *is_locked = locked(field);
    return WARD_OK;
}

static const ward_otp_t k_otp = {
    .ctx = NULL,
    .read = cm_otp_read,
    .burn = cm_otp_burn,
    .lock = cm_otp_lock,
    .is_locked = cm_otp_is_locked,
};

const ward_otp_t *ward_cm_otp(void)
{
    return &k_otp;
}

/* The view the boot configuration hands to the boot core and the app: they
 * read and burn, never lock (locking is a factory step, mkblobs.py --lock),
 * so the lock code stays out of the bootloader. */
static ward_err_t cm_otp_no_lock(void *ctx, ward_otp_field_t field)
{
    (void)ctx;
    (void)field;
    return WARD_ERR_UNSUPPORTED;
}

static ward_err_t cm_otp_no_is_locked(void *ctx, ward_otp_field_t field, bool *is_locked)
{
    (void)ctx;
    (void)field;
    (void)is_locked;
    return WARD_ERR_UNSUPPORTED;
}

static const ward_otp_t k_otp_boot = {
    .ctx = NULL,
    .read = cm_otp_read,
    .burn = cm_otp_burn,
    .lock = cm_otp_no_lock,
    .is_locked = cm_otp_no_is_locked,
};

const ward_otp_t *ward_cm_otp_boot(void)
{
    return &k_otp_boot;
}
