/* ward OTP helpers: field sizes, the thermometer rollback counter, flags. */
#include "ward/util.h"

#define ROLLBACK_BYTES (WARD_CONFIG_OTP_ROLLBACK_BITS / 8)

size_t ward_otp_field_size(ward_otp_field_t field)
{
    switch (field) {
    case WARD_OTP_BOOT_KEY_HASH:
    case WARD_OTP_OTA_KEY_HASH:
        return 32u;
    case WARD_OTP_SECURE_BOOT:
    case WARD_OTP_DEBUG_LOCK:
        return 4u;
    case WARD_OTP_ROLLBACK:
        return ROLLBACK_BYTES;
    case WARD_OTP_DEVICE_ID:
        return 16u;
    case WARD_OTP_FIELD_COUNT:
    default:
        return 0u;
    }
}

static uint32_t popcount8(uint8_t b)
{
    uint32_t n = 0;
    while (b != 0u) {
        n += b & 1u;
        b >>= 1;
    }
    return n;
}

ward_err_t ward_otp_rollback_get(const ward_otp_t *otp, uint32_t *value)
{
    uint8_t bits[ROLLBACK_BYTES];
    if (otp == NULL || value == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *value = 0;
    ward_err_t err = otp->read(otp->ctx, WARD_OTP_ROLLBACK, bits, sizeof bits);
    if (err != WARD_OK) {
        return err;
    }
    /* Count every set bit: a half-burnt thermometer still only counts up. */
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof bits; i++) {
        n += popcount8(bits[i]);
    }
    *value = n;
    return WARD_OK;
}

ward_err_t ward_otp_rollback_raise(const ward_otp_t *otp, uint32_t value)
{
    uint8_t bits[ROLLBACK_BYTES];
    uint32_t cur = 0;
    if (otp == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (value > WARD_CONFIG_OTP_ROLLBACK_BITS) {
        return WARD_ERR_LIMIT;
    }
    ward_err_t err = ward_otp_rollback_get(otp, &cur);
    if (err != WARD_OK || cur >= value) {
        return err;
    }
    err = otp->read(otp->ctx, WARD_OTP_ROLLBACK, bits, sizeof bits);
    if (err != WARD_OK) {
        return err;
    }
    /* Set clear bits, lowest first, until `value` bits are set. */
    uint32_t need = value - cur;
    for (uint32_t i = 0; i < WARD_CONFIG_OTP_ROLLBACK_BITS && need > 0u; i++) {
        uint8_t m = (uint8_t)(1u << (i % 8u));
        if ((bits[i / 8u] & m) == 0u) {
            bits[i / 8u] |= m;
            need--;
        }
    }
    err = otp->burn(otp->ctx, WARD_OTP_ROLLBACK, bits, sizeof bits);
    if (err != WARD_OK) {
        return err;
    }
    err = ward_otp_rollback_get(otp, &cur);
    if (err == WARD_OK && cur < value) {
        err = WARD_ERR_IO; /* the burn did not take */
    }
    return err;
}

ward_err_t ward_otp_flag_get(const ward_otp_t *otp, ward_otp_field_t field, bool *enabled)
{
    uint8_t v[4];
    if (otp == NULL || enabled == NULL || ward_otp_field_size(field) != sizeof v) {
        return WARD_ERR_INVALID_ARG;
    }
    *enabled = false;
    ward_err_t err = otp->read(otp->ctx, field, v, sizeof v);
    if (err == WARD_OK) {
        /* Any burnt bit counts: an attacker can set bits, never clear them. */
        *enabled = !ward_ct_all(v, 0u, sizeof v);
    }
    return err;
}

ward_err_t ward_otp_flag_set(const ward_otp_t *otp, ward_otp_field_t field)
{
    static const uint8_t ones[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    if (otp == NULL || ward_otp_field_size(field) != sizeof ones) {
        return WARD_ERR_INVALID_ARG;
    }
    return otp->burn(otp->ctx, field, ones, sizeof ones);
}
