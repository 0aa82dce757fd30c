/*
 * ward gatt_plug: the sample smart-plug GATT service.
 *
 *   handle  attribute                          read            write
 *   1       GAP service (0x1800)
 *   2, 3    Device Name (0x2A00)               open            -
 *   4       plug service 6a0e0001-9b5c-4d1f-8f3a-77617264706c
 *   5, 6    Status       ...0002 (read, notify) encrypted, 16  -
 *   7       its CCC                            open            encrypted, 16
 *   8, 9    Relay        ...0003 (write)       -               authenticated SC bond, 16
 *   10, 11  Wi-Fi        ...0004 (write)       -               authenticated SC bond, 16
 *   12, 13  Factory reset ...0005 (write)      -               authenticated SC bond, 16
 *                                                              (+ authorization if asked)
 *
 * Values (checked here before a hook runs; a bad one gets 0x13 Value Not
 * Allowed, a wrong length 0x0D):
 *   Status   what the status hook writes (docs/ble.md: relay, flags)
 *   Relay    1 byte: 0x00 off, 0x01 on
 *   Wi-Fi    ssid_len (1..32), ssid, psk_len (8..63), psk: exactly that long
 *   Reset    the 4 bytes "WIPE"
 * None of them advertises Write Without Response: a Write Command to them is
 * dropped by the policy anyway when the link is not good enough.
 *
 * The hooks act on the device (the relay, the vault); the plug owns no
 * state but the table, built into caller-owned memory.
 */
#ifndef WARD_GATT_PLUG_H
#define WARD_GATT_PLUG_H

#include "ward/att.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_GATT_PLUG_H_NAME 3u
#define WARD_GATT_PLUG_H_STATUS 6u
#define WARD_GATT_PLUG_H_STATUS_CCC 7u
#define WARD_GATT_PLUG_H_RELAY 9u
#define WARD_GATT_PLUG_H_WIFI 11u
#define WARD_GATT_PLUG_H_RESET 13u
#define WARD_GATT_PLUG_ATTRS 13u

#define WARD_GATT_PLUG_WIFI_MAX (1u + 32u + 1u + 63u)

typedef struct ward_gatt_plug_hooks {
    void *ctx;
    /* Status value into out (cap bytes); 0 or an ATT error code. */
    uint8_t (*status)(void *ctx, uint16_t conn, uint8_t *out, size_t cap, size_t *len);
    /* Switch the relay. 0 or an ATT error code. */
    uint8_t (*relay)(void *ctx, uint16_t conn, bool on);
    /* Store Wi-Fi credentials (the vault). 0 or an ATT error code. */
    uint8_t (*wifi)(void *ctx, uint16_t conn, const uint8_t *ssid, size_t ssid_len,
                    const uint8_t *psk, size_t psk_len);
    /* Wipe the device (bonds, credentials). 0 or an ATT error code. */
    uint8_t (*factory_reset)(void *ctx, uint16_t conn);
} ward_gatt_plug_hooks_t;

typedef struct ward_gatt_plug {
    ward_gatt_plug_hooks_t hooks;
    char name[32];
    ward_gatt_attr_t attrs[WARD_GATT_PLUG_ATTRS];
    ward_gatt_db_t db;
} ward_gatt_plug_t;

/* Build the table. name: the GAP Device Name (at most 31 bytes, copied).
 * reset_needs_authorization adds WARD_GATT_AUTHOR to the factory reset
 * (the server's authorization hook then decides, e.g. a button held).
 * Missing hooks answer 0x0E Unlikely Error. WARD_OK or WARD_ERR_INVALID_ARG. */
ward_err_t ward_gatt_plug_init(ward_gatt_plug_t *plug, const char *name,
                               const ward_gatt_plug_hooks_t *hooks,
                               bool reset_needs_authorization);

/* The database to give ward_att_server_init. */
const ward_gatt_db_t *ward_gatt_plug_db(const ward_gatt_plug_t *plug);

#ifdef __cplusplus
}
#endif

#endif /* WARD_GATT_PLUG_H */
