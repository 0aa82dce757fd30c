/*
 * ward simulator: OTP fields in a file. Bits only go from 0 to 1; a locked
 * field refuses burns. File: "WARDOTP1", the fields in ward_otp_field_t
 * order at their ward_otp_field_size(), then one lock byte per field.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_priv.h"
#include "ward/util.h"

static const uint8_t k_magic[8] = {'W', 'A', 'R', 'D', 'O', 'T', 'P', '1'};

static size_t field_off(ward_otp_field_t field)
{
    size_t off = 0;
    for (int i = 0; i < (int)field; i++) {
        off += ward_otp_field_size((ward_otp_field_t)i);
    }
    return off;
}

static size_t data_len(void)
{
    return field_off(WARD_OTP_FIELD_COUNT);
}

static ward_err_t save(const ward_sim_otp_t *o)
{
    uint8_t buf[8 + 256 + WARD_OTP_FIELD_COUNT];
    if (o->path == NULL) {
        return WARD_OK;
    }
    size_t n = data_len();
    memcpy(buf, k_magic, 8);
    memcpy(buf + 8, o->data, n);
    for (int i = 0; i < WARD_OTP_FIELD_COUNT; i++) {
        buf[8 + n + (size_t)i] = o->locked[i] ? 1u : 0u;
    }
    return ward_sim_file_write(o->path, buf, 8 + n + WARD_OTP_FIELD_COUNT);
}

static bool field_ok(ward_otp_field_t field, size_t len)
{
    return (int)field >= 0 && field < WARD_OTP_FIELD_COUNT && len == ward_otp_field_size(field);
}

static ward_err_t otp_read(void *ctx, ward_otp_field_t field, void *buf, size_t len)
{
    ward_sim_otp_t *o = ctx;
    if (o->power != NULL && o->power->dead) {
        return WARD_ERR_POWER_LOSS;
    }
    if (!field_ok(field, len) || buf == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(buf, o->data + field_off(field), len);
    return WARD_OK;
}

static ward_err_t otp_burn(void *ctx, ward_otp_field_t field, const void *bits, size_t len)
{
    ward_sim_otp_t *o = ctx;
    if (o->power != NULL && o->power->dead) {
        return WARD_ERR_POWER_LOSS;
    }
    if (!field_ok(field, len) || bits == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (o->locked[field]) {
        return WARD_ERR_LOCKED;
    }
    ward_sim_gate_t g = ward_sim_power_gate(o->power);
    if (g == WARD_SIM_DEAD || g == WARD_SIM_CUT) {
        return WARD_ERR_POWER_LOSS;
    }
    /* A torn burn sets only the bits of the first half of the field. */
    size_t n = g == WARD_SIM_TORN ? len / 2u : len;
    uint8_t *dst = o->data + field_off(field);
    const uint8_t *src = bits;
    for (size_t i = 0; i < n; i++) {
        dst[i] |= src[i];
    }
    o->burns++;
    ward_err_t err = save(o);
    return g == WARD_SIM_TORN ? WARD_ERR_POWER_LOSS : err;
}

static ward_err_t otp_lock(void *ctx, ward_otp_field_t field)
{
    ward_sim_otp_t *o = ctx;
    if (o->power != NULL && o->power->dead) {
        return WARD_ERR_POWER_LOSS;
    }
    if ((int)field < 0 || field >= WARD_OTP_FIELD_COUNT) {
        return WARD_ERR_INVALID_ARG;
    }
    if (o->locked[field]) {
        return WARD_OK;
    }
    ward_sim_gate_t g = ward_sim_power_gate(o->power);
    if (g == WARD_SIM_DEAD || g == WARD_SIM_CUT) {
        return WARD_ERR_POWER_LOSS;
    }
    o->locked[field] = true;
    ward_err_t err = save(o);
    return g == WARD_SIM_TORN ? WARD_ERR_POWER_LOSS : err;
}

static ward_err_t otp_is_locked(void *ctx, ward_otp_field_t field, bool *locked)
{
    ward_sim_otp_t *o = ctx;
    if ((int)field < 0 || field >= WARD_OTP_FIELD_COUNT || locked == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *locked = o->locked[field];
    return WARD_OK;
}

ward_err_t ward_sim_otp_open(ward_sim_otp_t *o, ward_sim_power_t *power, const char *path,
                             bool create)
{
    uint8_t buf[8 + 256 + WARD_OTP_FIELD_COUNT];
    memset(o, 0, sizeof *o);
    o->port = (ward_otp_t){.ctx = o, .read = otp_read, .burn = otp_burn, .lock = otp_lock,
                           .is_locked = otp_is_locked};
    o->power = power;
    if (path == NULL) {
        return WARD_OK;
    }
    o->path = strdup(path);
    if (o->path == NULL) {
        return WARD_ERR_IO;
    }
    size_t n = data_len();
    ward_err_t err = ward_sim_file_read(path, buf, 8 + n + WARD_OTP_FIELD_COUNT);
    if (err == WARD_ERR_NOT_FOUND && create) {
        return save(o);
    }
    if (err != WARD_OK) {
        ward_sim_otp_close(o);
        return err;
    }
    if (memcmp(buf, k_magic, 8) != 0) {
        ward_sim_otp_close(o);
        return WARD_ERR_CORRUPT;
    }
    memcpy(o->data, buf + 8, n);
    for (int i = 0; i < WARD_OTP_FIELD_COUNT; i++) {
        o->locked[i] = buf[8 + n + (size_t)i] != 0u;
    }
    return WARD_OK;
}

void ward_sim_otp_close(ward_sim_otp_t *o)
{
    if (o != NULL) {
        free(o->path);
        o->path = NULL;
    }
}
