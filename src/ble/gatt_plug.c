/* ward gatt_plug: the sample smart-plug service table and value checks. */
#include <string.h>

#include "ward/gatt_plug.h"

static const uint8_t k_gap_uuid[2] = {0x00, 0x18};
/* 6a0e0001-9b5c-4d1f-8f3a-77617264706c ("wardpl"), little-endian. */
#define PLUG_UUID(n)                                                                        \
    WARD_UUID128(0x6a, 0x0e, 0x00, (n), 0x9b, 0x5c, 0x4d, 0x1f, 0x8f, 0x3a, 0x77, 0x61,    \
                 0x72, 0x64, 0x70, 0x6c)
static const ward_uuid_t k_plug_service = PLUG_UUID(0x01);

#define CONTROL                                                                             \
    WARD_GATT_ACCESS(WARD_GATT_ALLOW | WARD_GATT_ENC | WARD_GATT_AUTHEN | WARD_GATT_SC |        \
                         WARD_GATT_BOND,                                                    \
                     16u)

static uint8_t rd_status(void *user, uint16_t conn, uint8_t *out, size_t cap, size_t *len)
{
    const ward_gatt_plug_t *plug = user;
    if (plug->hooks.status == NULL) {
        return WARD_ATT_ERR_UNLIKELY;
    }
    return plug->hooks.status(plug->hooks.ctx, conn, out, cap, len);
}

static uint8_t wr_relay(void *user, uint16_t conn, const uint8_t *val, size_t len)
{
    const ward_gatt_plug_t *plug = user;
    if (len != 1) {
        return WARD_ATT_ERR_INVALID_LENGTH;
    }
    if (val[0] > 1) {
        return WARD_ATT_ERR_VALUE_NOT_ALLOWED;
    }
    if (plug->hooks.relay == NULL) {
        return WARD_ATT_ERR_UNLIKELY;
    }
    return plug->hooks.relay(plug->hooks.ctx, conn, val[0] == 1);
}

static uint8_t wr_wifi(void *user, uint16_t conn, const uint8_t *val, size_t len)
{
    const ward_gatt_plug_t *plug = user;
    if (len < 1 || val[0] < 1 || val[0] > 32 || len < 2u + val[0]) {
        return WARD_ATT_ERR_VALUE_NOT_ALLOWED;
    }
    const size_t ssid_len = val[0];
    const size_t psk_len = val[1 + ssid_len];
    if (psk_len < 8 || psk_len > 63 || len != 2u + ssid_len + psk_len) {
        return WARD_ATT_ERR_VALUE_NOT_ALLOWED;
    }
    if (plug->hooks.wifi == NULL) {
        return WARD_ATT_ERR_UNLIKELY;
    }
    return plug->hooks.wifi(plug->hooks.ctx, conn, val + 1, ssid_len, val + 2 + ssid_len,
                            psk_len);
}

static uint8_t wr_reset(void *user, uint16_t conn, const uint8_t *val, size_t len)
{
    const ward_gatt_plug_t *plug = user;
    if (len != 4) {
        return WARD_ATT_ERR_INVALID_LENGTH;
    }
    if (memcmp(val, "WIPE", 4) != 0) {
        return WARD_ATT_ERR_VALUE_NOT_ALLOWED;
    }
    if (plug->hooks.factory_reset == NULL) {
        return WARD_ATT_ERR_UNLIKELY;
    }
    return plug->hooks.factory_reset(plug->hooks.ctx, conn);
}

ward_err_t ward_gatt_plug_init(ward_gatt_plug_t *plug, const char *name,
                               const ward_gatt_plug_hooks_t *hooks,
                               bool reset_needs_authorization)
{
    if (plug == NULL || name == NULL || hooks == NULL || strlen(name) >= sizeof plug->name) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(plug, 0, sizeof *plug);
    plug->hooks = *hooks;
    memcpy(plug->name, name, strlen(name));
    const ward_gatt_attr_t t[WARD_GATT_PLUG_ATTRS] = {
        WARD_GATT_PRIMARY_SERVICE(k_gap_uuid, 2),
        WARD_GATT_CHARACTERISTIC(WARD_UUID16(0x2A00), WARD_GATT_PROP_READ,
                                 WARD_GATT_OPEN_ACCESS, WARD_GATT_NONE_ACCESS, NULL, NULL, 0,
                                 NULL),
        WARD_GATT_PRIMARY_SERVICE(k_plug_service.u, 16),
        WARD_GATT_CHARACTERISTIC(PLUG_UUID(0x02), WARD_GATT_PROP_READ | WARD_GATT_PROP_NOTIFY,
                                 WARD_GATT_ENC_ACCESS, WARD_GATT_NONE_ACCESS, rd_status, NULL,
                                 0, plug),
        WARD_GATT_CCC(WARD_GATT_ENC_ACCESS),
        WARD_GATT_CHARACTERISTIC(PLUG_UUID(0x03), WARD_GATT_PROP_WRITE, WARD_GATT_NONE_ACCESS,
                                 CONTROL, NULL, wr_relay, 1, plug),
        WARD_GATT_CHARACTERISTIC(PLUG_UUID(0x04), WARD_GATT_PROP_WRITE, WARD_GATT_NONE_ACCESS,
                                 CONTROL, NULL, wr_wifi, WARD_GATT_PLUG_WIFI_MAX, plug),
        WARD_GATT_CHARACTERISTIC(PLUG_UUID(0x05), WARD_GATT_PROP_WRITE, WARD_GATT_NONE_ACCESS,
                                 CONTROL, NULL, wr_reset, 4, plug),
    };
    memcpy(plug->attrs, t, sizeof t);
    /* The name is a static value of the plug object itself. */
    plug->attrs[WARD_GATT_PLUG_H_NAME - 1u].value = (const uint8_t *)plug->name;
    plug->attrs[WARD_GATT_PLUG_H_NAME - 1u].value_len = (uint16_t)strlen(name);
    if (reset_needs_authorization) {
        plug->attrs[WARD_GATT_PLUG_H_RESET - 1u].write |= WARD_GATT_AUTHOR;
    }
    plug->db.attrs = plug->attrs;
    plug->db.count = WARD_GATT_PLUG_ATTRS;
    return WARD_OK;
}

const ward_gatt_db_t *ward_gatt_plug_db(const ward_gatt_plug_t *plug)
{
    return &plug->db;
}
