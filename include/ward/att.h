/*
 * ward att: the Attribute Protocol on the LE fixed channel 0x0004.
 *
 *   GATT database  a const table of attributes (services, characteristic
 *                  declarations, values, CCC descriptors) built with the
 *                  WARD_GATT_* macros; handles are table positions.
 *   access policy  every attribute says what reading and writing need:
 *                  permitted at all, encrypted, authenticated (an LTK from
 *                  MITM-protected pairing), LE Secure Connections, bonded,
 *                  a minimum key size, and an authorization hook.
 *   ATT server     a request PDU in, a response PDU out, checked against
 *                  the link's actual security (ward_ble_sec_t, from the
 *                  controller) in the spec's order with its error codes.
 *   ATT client     the phone side: builds requests, checks and decodes the
 *                  responses (MTU, discovery, read, write, write command,
 *                  prepared writes, notifications).
 *
 * Both engines take bytes and give bytes: no I/O, no allocation. The
 * per-connection state (ward_att_bearer_t, ward_att_client_t) belongs to
 * the caller; ward_ble_link (ward/ble_link.h) wires them to HCI.
 *
 * Access decision, for a read or a write of attribute A on a link whose
 * security is S (Core Vol 3 Part C 10.3.1; Zephyr and NimBLE agree):
 *   1. A does not permit the operation             -> 0x02 / 0x03
 *   2. A needs any security and S is not encrypted -> 0x0F Insufficient
 *      Encryption if the peer is bonded (it should re-encrypt), else 0x05
 *      Insufficient Authentication (it must pair)
 *   3. A needs authenticated and the key is not    -> 0x05
 *   4. A needs LE SC and the key is not an SC key  -> 0x05
 *   5. A needs bonded and the key is not a bond's  -> 0x05
 *   6. key size below A's minimum                  -> 0x0C
 *   7. A needs authorization and the hook refuses  -> 0x08
 * A Write Command that fails any step is dropped without an answer;
 * Prepare Write is checked when it is queued (and again at execution).
 */
#ifndef WARD_ATT_H
#define WARD_ATT_H

#include "ward/hci.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration ---------------------------------------------------------- */

/* Our ATT_MTU (what we offer in an MTU exchange), 23..WARD_CONFIG_BLE_L2CAP_MTU. */
#ifndef WARD_CONFIG_ATT_MTU
#define WARD_CONFIG_ATT_MTU WARD_CONFIG_BLE_L2CAP_MTU
#endif
/* Bytes of queued Prepare Write values per connection (the longest long write). */
#ifndef WARD_CONFIG_ATT_PREP_BYTES
#define WARD_CONFIG_ATT_PREP_BYTES 512
#endif
/* Queued Prepare Write requests per connection. */
#ifndef WARD_CONFIG_ATT_PREP_COUNT
#define WARD_CONFIG_ATT_PREP_COUNT 16
#endif
/* CCC descriptors in a database. */
#ifndef WARD_CONFIG_GATT_MAX_CCC
#define WARD_CONFIG_GATT_MAX_CCC 4
#endif

#if WARD_CONFIG_ATT_MTU < 23 || WARD_CONFIG_ATT_MTU > WARD_CONFIG_BLE_L2CAP_MTU
#error "WARD_CONFIG_ATT_MTU must be in [23, WARD_CONFIG_BLE_L2CAP_MTU]"
#endif
#if WARD_CONFIG_ATT_PREP_BYTES < 23 || WARD_CONFIG_ATT_PREP_BYTES > 4096
#error "WARD_CONFIG_ATT_PREP_BYTES must be in [23, 4096]"
#endif
#if WARD_CONFIG_ATT_PREP_COUNT < 1 || WARD_CONFIG_ATT_PREP_COUNT > 64
#error "WARD_CONFIG_ATT_PREP_COUNT must be in [1, 64]"
#endif

/* The longest attribute value (Core Vol 3 Part F 3.2.9). */
#define WARD_GATT_VALUE_MAX 512u

/* ---- ATT opcodes and error codes ------------------------------------------- */

#define WARD_ATT_ERROR_RSP 0x01u
#define WARD_ATT_MTU_REQ 0x02u
#define WARD_ATT_MTU_RSP 0x03u
#define WARD_ATT_FIND_INFO_REQ 0x04u
#define WARD_ATT_FIND_INFO_RSP 0x05u
#define WARD_ATT_FIND_BY_TYPE_REQ 0x06u
#define WARD_ATT_FIND_BY_TYPE_RSP 0x07u
#define WARD_ATT_READ_BY_TYPE_REQ 0x08u
#define WARD_ATT_READ_BY_TYPE_RSP 0x09u
#define WARD_ATT_READ_REQ 0x0Au
#define WARD_ATT_READ_RSP 0x0Bu
#define WARD_ATT_READ_BLOB_REQ 0x0Cu
#define WARD_ATT_READ_BLOB_RSP 0x0Du
#define WARD_ATT_READ_MULT_REQ 0x0Eu
#define WARD_ATT_READ_GROUP_REQ 0x10u
#define WARD_ATT_READ_GROUP_RSP 0x11u
#define WARD_ATT_WRITE_REQ 0x12u
#define WARD_ATT_WRITE_RSP 0x13u
#define WARD_ATT_PREP_WRITE_REQ 0x16u
#define WARD_ATT_PREP_WRITE_RSP 0x17u
#define WARD_ATT_EXEC_WRITE_REQ 0x18u
#define WARD_ATT_EXEC_WRITE_RSP 0x19u
#define WARD_ATT_NOTIFY 0x1Bu
#define WARD_ATT_INDICATE 0x1Du
#define WARD_ATT_CONFIRM 0x1Eu
#define WARD_ATT_WRITE_CMD 0x52u
#define WARD_ATT_SIGNED_WRITE_CMD 0xD2u

#define WARD_ATT_ERR_INVALID_HANDLE 0x01u
#define WARD_ATT_ERR_READ_NOT_PERMITTED 0x02u
#define WARD_ATT_ERR_WRITE_NOT_PERMITTED 0x03u
#define WARD_ATT_ERR_INVALID_PDU 0x04u
#define WARD_ATT_ERR_AUTHENTICATION 0x05u
#define WARD_ATT_ERR_NOT_SUPPORTED 0x06u
#define WARD_ATT_ERR_INVALID_OFFSET 0x07u
#define WARD_ATT_ERR_AUTHORIZATION 0x08u
#define WARD_ATT_ERR_PREP_QUEUE_FULL 0x09u
#define WARD_ATT_ERR_NOT_FOUND 0x0Au
#define WARD_ATT_ERR_NOT_LONG 0x0Bu
#define WARD_ATT_ERR_KEY_SIZE 0x0Cu
#define WARD_ATT_ERR_INVALID_LENGTH 0x0Du
#define WARD_ATT_ERR_UNLIKELY 0x0Eu
#define WARD_ATT_ERR_ENCRYPTION 0x0Fu
#define WARD_ATT_ERR_UNSUPPORTED_GROUP 0x10u
#define WARD_ATT_ERR_RESOURCES 0x11u
#define WARD_ATT_ERR_VALUE_NOT_ALLOWED 0x13u
#define WARD_ATT_ERR_CCC_IMPROPER 0xFDu

/* ---- UUIDs ----------------------------------------------------------------- */

/* A UUID: 2 bytes (a 16-bit SIG UUID) or 16 bytes, little-endian as on the wire. */
typedef struct ward_uuid {
    uint8_t len;
    uint8_t u[16];
} ward_uuid_t;

#define WARD_UUID16(v) {2, {(uint8_t)((v)&0xFFu), (uint8_t)(((v) >> 8) & 0xFFu)}}
/* A 128-bit UUID written most significant byte first, as people read it. */
#define WARD_UUID128(b15, b14, b13, b12, b11, b10, b9, b8, b7, b6, b5, b4, b3, b2, b1, b0) \
    {16, {b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15}}

#define WARD_GATT_UUID_PRIMARY 0x2800u
#define WARD_GATT_UUID_SECONDARY 0x2801u
#define WARD_GATT_UUID_CHARACTERISTIC 0x2803u
#define WARD_GATT_UUID_CCC 0x2902u

/* true iff a and b are the same UUID (a 16-bit one equals its 128-bit form
 * on the Bluetooth base UUID). */
bool ward_uuid_equal(const ward_uuid_t *a, const ward_uuid_t *b);

/* ---- access policy ------------------------------------------------------ */

#define WARD_GATT_ALLOW 0x01u   /* the operation is permitted at all */
#define WARD_GATT_ENC 0x02u     /* encrypted link */
#define WARD_GATT_AUTHEN 0x04u  /* key from MITM-protected pairing */
#define WARD_GATT_SC 0x08u      /* LE Secure Connections key */
#define WARD_GATT_BOND 0x10u    /* the key of a stored bond */
#define WARD_GATT_AUTHOR 0x20u  /* the authorization hook must agree */

/* What one operation (read or write) on an attribute needs: WARD_GATT_*
 * flags in the low byte, the minimum key size (0 = none, or 7..16) in the
 * high byte. AUTHEN, SC, BOND and a minimum key size imply ENC. One
 * integer, so the table macros nest in the caller's own macros. */
typedef uint16_t ward_gatt_access_t;
#define WARD_GATT_ACCESS(flags, min_key_size) \
    ((ward_gatt_access_t)(((flags)&0xFFu) | (((min_key_size)&0xFFu) << 8)))
#define WARD_GATT_ACCESS_FLAGS(a) ((uint8_t)((a)&0xFFu))
#define WARD_GATT_ACCESS_KEY_SIZE(a) ((uint8_t)((a) >> 8))

#define WARD_GATT_NONE_ACCESS WARD_GATT_ACCESS(0u, 0u)               /* not permitted */
#define WARD_GATT_OPEN_ACCESS WARD_GATT_ACCESS(WARD_GATT_ALLOW, 0u)  /* anyone */
#define WARD_GATT_ENC_ACCESS WARD_GATT_ACCESS(WARD_GATT_ALLOW | WARD_GATT_ENC, 16u)

/* Characteristic properties (the declaration's first byte). */
#define WARD_GATT_PROP_READ 0x02u
#define WARD_GATT_PROP_WRITE_NO_RSP 0x04u
#define WARD_GATT_PROP_WRITE 0x08u
#define WARD_GATT_PROP_NOTIFY 0x10u

/* ---- the database ----------------------------------------------------------- */

/* Read the whole current value into out (cap = WARD_GATT_VALUE_MAX).
 * Return 0 with *len set, or an ATT error code (0x80-0x9F application
 * errors, or e.g. WARD_ATT_ERR_UNLIKELY). */
typedef uint8_t (*ward_gatt_read_fn)(void *user, uint16_t conn, uint8_t *out, size_t cap,
                                     size_t *len);
/* Replace the value with val (complete: long writes are assembled first).
 * Return 0 or an ATT error code (e.g. WARD_ATT_ERR_VALUE_NOT_ALLOWED). */
typedef uint8_t (*ward_gatt_write_fn)(void *user, uint16_t conn, const uint8_t *val, size_t len);

typedef struct ward_gatt_attr {
    ward_uuid_t type;
    ward_gatt_access_t read;
    ward_gatt_access_t write;
    uint8_t props;          /* characteristic declarations: WARD_GATT_PROP_* */
    const uint8_t *value;   /* static value (service UUIDs); NULL when read_fn serves */
    uint16_t value_len;
    uint16_t max_len;       /* longest value a write may set */
    ward_gatt_read_fn read_fn;
    ward_gatt_write_fn write_fn;
    void *user;
} ward_gatt_attr_t;

/* Table building blocks. A service's UUID bytes must outlive the table. */
#define WARD_GATT_PRIMARY_SERVICE(uuid_bytes, uuid_len)                                      \
    {.type = WARD_UUID16(WARD_GATT_UUID_PRIMARY), .read = WARD_GATT_OPEN_ACCESS,            \
     .write = WARD_GATT_NONE_ACCESS, .value = (uuid_bytes), .value_len = (uuid_len)}
/* A characteristic: its declaration, then its value attribute. uuid is a
 * braced ward_uuid_t initializer (WARD_UUID16, WARD_UUID128). */
#define WARD_GATT_CHARACTERISTIC(uuid, properties, rd, wr, rfn, wfn, maxlen, usr)            \
    {.type = WARD_UUID16(WARD_GATT_UUID_CHARACTERISTIC), .read = WARD_GATT_OPEN_ACCESS,     \
     .write = WARD_GATT_NONE_ACCESS, .props = (properties)},                                \
    {.type = uuid, /* NOLINT(bugprone-macro-parentheses): an initializer list */             \
     .read = (rd), .write = (wr), .read_fn = (rfn), .write_fn = (wfn), .max_len = (maxlen), \
     .user = (usr)}
/* A Client Characteristic Configuration descriptor for the characteristic
 * above it; wr says what enabling notifications needs. */
#define WARD_GATT_CCC(wr)                                                                    \
    {.type = WARD_UUID16(WARD_GATT_UUID_CCC), .read = WARD_GATT_OPEN_ACCESS, .write = (wr), \
     .max_len = 2}

typedef struct ward_gatt_db {
    const ward_gatt_attr_t *attrs; /* attrs[i] has handle i + 1 */
    uint16_t count;
} ward_gatt_db_t;

/* ---- the server -------------------------------------------------------------- */

/* Authorization hook: 0 to allow, WARD_ATT_ERR_AUTHORIZATION (or another
 * ATT code) to refuse. */
typedef uint8_t (*ward_gatt_authorize_fn)(void *ctx, uint16_t conn, uint16_t handle, bool write);

typedef struct ward_att_server {
    const ward_gatt_db_t *db;
    ward_gatt_authorize_fn authorize; /* NULL: WARD_GATT_AUTHOR always refused */
    void *authorize_ctx;
    uint8_t scratch[WARD_GATT_VALUE_MAX]; /* private */
} ward_att_server_t;

typedef struct ward_att_prep {
    uint16_t handle, offset, len, at;
} ward_att_prep_t;

/* One connection's server-side ATT state. */
typedef struct ward_att_bearer {
    uint16_t conn;          /* the HCI connection handle */
    uint16_t mtu;           /* current ATT_MTU, 23 until exchanged */
    bool mtu_exchanged;
    uint8_t prep_count;
    uint16_t prep_used;
    ward_att_prep_t prep[WARD_CONFIG_ATT_PREP_COUNT];
    uint8_t prep_buf[WARD_CONFIG_ATT_PREP_BYTES];
    uint16_t ccc[WARD_CONFIG_GATT_MAX_CCC];
} ward_att_bearer_t;

/* Check the database table (services first, declarations followed by their
 * value, CCCs after a notifying value, UUID sizes, static values) and bind
 * it to the server. WARD_OK, WARD_ERR_BLE_GATT_DB, WARD_ERR_INVALID_ARG. */
ward_err_t ward_att_server_init(ward_att_server_t *srv, const ward_gatt_db_t *db,
                                ward_gatt_authorize_fn authorize, void *authorize_ctx);

/* A new connection: MTU 23, empty queues, notifications off. */
void ward_att_bearer_init(ward_att_bearer_t *b, uint16_t conn);

/* Handle one PDU from the client. *rsp_len = 0 when nothing is to be sent
 * (commands, confirmations, anything dropped). rsp must hold b->mtu bytes
 * (cap >= WARD_CONFIG_ATT_MTU is always enough). sec is the link's actual
 * security. WARD_OK, or WARD_ERR_INVALID_ARG (caller bug). */
ward_err_t ward_att_server_input(ward_att_server_t *srv, ward_att_bearer_t *b,
                                 const ward_ble_sec_t *sec, const uint8_t *pdu, size_t len,
                                 uint8_t *rsp, size_t cap, size_t *rsp_len);

/* The access decision alone: 0 if allowed, else the ATT error code. The
 * result is also returned hardened in *fih (WARD_FIH_SUCCESS only when
 * allowed). */
uint8_t ward_gatt_check_access(const ward_att_server_t *srv, uint16_t conn, uint16_t handle,
                               ward_gatt_access_t need, const ward_ble_sec_t *sec, bool write,
                               ward_fih_t *fih);

/* Build a Handle Value Notification of value handle `handle` when the
 * client enabled notifications on its CCC and the link still meets the
 * attribute's read policy; the value is cut to mtu - 3. WARD_OK (*len > 0),
 * WARD_ERR_STATE (not enabled, or security no longer enough),
 * WARD_ERR_NOT_FOUND (no notifying characteristic value there),
 * WARD_ERR_BUF_TOO_SMALL. */
ward_err_t ward_att_server_notify(ward_att_server_t *srv, const ward_att_bearer_t *b,
                                  const ward_ble_sec_t *sec, uint16_t handle, const uint8_t *val,
                                  size_t val_len, uint8_t *out, size_t cap, size_t *len);

/* ---- the client -------------------------------------------------------------- */

typedef struct ward_att_client {
    uint16_t mtu;      /* 23 until exchanged */
    uint8_t pending;   /* opcode of the outstanding request, 0 when none */
    uint16_t our_mtu;  /* what we asked for */
} ward_att_client_t;

/* What a response (or a notification) said. */
typedef struct ward_att_result {
    uint8_t req;        /* the request it answers (0 for a notification) */
    uint8_t opcode;     /* the PDU's opcode */
    uint8_t att_err;    /* 0, or the Error Response's code */
    uint16_t handle;    /* Error Response: its handle; notification: value handle */
    uint16_t mtu;       /* MTU exchange: the negotiated ATT_MTU */
    uint8_t elem_len;   /* list responses: bytes per entry */
    const uint8_t *data; /* the parameters after the opcode (format byte skipped) */
    size_t data_len;
} ward_att_result_t;

void ward_att_client_init(ward_att_client_t *cl);

/* Request builders: write the PDU into out (cap >= cl->mtu), *len set, and
 * remember the request. WARD_OK; WARD_ERR_STATE when a request is still
 * outstanding (ATT allows one); WARD_ERR_INVALID_ARG (a value too long for
 * the MTU, handles out of order); WARD_ERR_BUF_TOO_SMALL. */
ward_err_t ward_att_client_mtu(ward_att_client_t *cl, uint16_t mtu, uint8_t *out, size_t cap,
                               size_t *len);
ward_err_t ward_att_client_read_group(ward_att_client_t *cl, uint16_t start, uint16_t end,
                                      uint16_t group_uuid16, uint8_t *out, size_t cap,
                                      size_t *len);
ward_err_t ward_att_client_read_type(ward_att_client_t *cl, uint16_t start, uint16_t end,
                                     const ward_uuid_t *type, uint8_t *out, size_t cap,
                                     size_t *len);
ward_err_t ward_att_client_find_info(ward_att_client_t *cl, uint16_t start, uint16_t end,
                                     uint8_t *out, size_t cap, size_t *len);
ward_err_t ward_att_client_read(ward_att_client_t *cl, uint16_t handle, uint8_t *out, size_t cap,
                                size_t *len);
ward_err_t ward_att_client_read_blob(ward_att_client_t *cl, uint16_t handle, uint16_t offset,
                                     uint8_t *out, size_t cap, size_t *len);
ward_err_t ward_att_client_write(ward_att_client_t *cl, uint16_t handle, const uint8_t *val,
                                 size_t val_len, uint8_t *out, size_t cap, size_t *len);
/* Write Command: no response, so nothing is remembered. */
ward_err_t ward_att_client_write_cmd(ward_att_client_t *cl, uint16_t handle, const uint8_t *val,
                                     size_t val_len, uint8_t *out, size_t cap, size_t *len);
ward_err_t ward_att_client_prepare(ward_att_client_t *cl, uint16_t handle, uint16_t offset,
                                   const uint8_t *val, size_t val_len, uint8_t *out, size_t cap,
                                   size_t *len);
ward_err_t ward_att_client_execute(ward_att_client_t *cl, bool commit, uint8_t *out, size_t cap,
                                   size_t *len);

/* A PDU from the server. Checks it answers the outstanding request (or is a
 * notification) and has the exact length and layout its opcode demands;
 * fills *res. WARD_OK (res->att_err tells an Error Response apart),
 * WARD_ERR_BLE_PDU (malformed or unexpected: dropped, the request stays
 * outstanding). */
ward_err_t ward_att_client_input(ward_att_client_t *cl, const uint8_t *pdu, size_t len,
                                 ward_att_result_t *res);

/* Iterate over a list response: Read By Group Type (handle, end, value =
 * service UUID), Read By Type (handle, value), Find Information (handle,
 * value = UUID). *it starts at 0. true while an entry is returned. */
bool ward_att_result_next(const ward_att_result_t *res, size_t *it, uint16_t *handle,
                          uint16_t *end, const uint8_t **value, size_t *value_len);

#ifdef __cplusplus
}
#endif

#endif /* WARD_ATT_H */
