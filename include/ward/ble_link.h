/*
 * ward ble_link: the link side of ward's BLE host, wired together.
 *
 * One object holds the HCI engine, the ATT server bearers and ATT clients
 * of every connection, and routes between them:
 *   ATT PDUs (CID 0x0004)  requests and commands -> the ATT server (with the
 *                          link's actual security: ward_hci_conn_security
 *                          plus the bond_exists callback), its answer sent
 *                          back; responses and notifications -> the ATT
 *                          client, result to the att_result callback
 *   SMP PDUs (CID 0x0006)  -> the smp_rx callback (the SMP engine), which
 *                          answers with ward_ble_link_smp_send; without
 *                          one, a Pairing Request or Security Request gets
 *                          Pairing Failed 0x05 (Pairing Not Supported)
 *   LTK requests           -> the ltk_request callback (SMP during pairing,
 *                          the bond store afterwards)
 * Portable: it reaches the controller through a ward_hci_transport_t port.
 */
#ifndef WARD_BLE_LINK_H
#define WARD_BLE_LINK_H

#include "ward/att.h"
#include "ward/hci.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ward_ble_link_config {
    const ward_hci_transport_t *transport;
    ward_att_server_t *server; /* NULL: no GATT server (requests get 0x06) */
    void *ctx;                 /* passed to every callback below */
    /* HCI events (connections, encryption results, advertising reports). */
    void (*event)(void *ctx, const ward_hci_event_t *ev);
    /* What the ATT client received for a connection (a response to its
     * request, or a notification). */
    void (*att_result)(void *ctx, uint16_t conn, const ward_att_result_t *res);
    /* SMP PDUs of a connection. */
    void (*smp_rx)(void *ctx, uint16_t conn, const uint8_t *pdu, size_t len);
    /* As ward_hci_callbacks_t.ltk_request. NULL: Negative Reply. */
    ward_err_t (*ltk_request)(void *ctx, uint16_t conn, const ward_ble_addr_t *peer,
                              uint16_t ediv, const uint8_t rand[8], uint8_t ltk[16],
                              uint8_t *key_flags);
    /* Is there a bond (a stored LTK) for this peer? Decides 0x0F (re-encrypt)
     * versus 0x05 (pair first). NULL: no bonds. */
    bool (*bond_exists)(void *ctx, const ward_ble_addr_t *peer);
    /* Every H4 packet, for a capture. May be NULL. */
    void (*trace)(void *ctx, bool to_controller, const uint8_t *h4, size_t len);
} ward_ble_link_config_t;

typedef struct ward_ble_link_conn {
    bool used;
    uint16_t handle;
    ward_att_bearer_t bearer;
    ward_att_client_t client;
} ward_ble_link_conn_t;

/* What a blocking helper waits for (private). */
typedef struct ward_ble_link_wait {
    uint8_t kind;          /* 0 none, 1 an ATT response, 2 an encryption result */
    bool done;
    bool gone;             /* the connection dropped meanwhile */
    uint16_t conn;
    uint8_t status;        /* encryption: the event's status */
    ward_att_result_t *res;
    uint8_t *buf;
    size_t cap;
    bool truncated;
} ward_ble_link_wait_t;

typedef struct ward_ble_link {
    ward_hci_t hci;
    ward_ble_link_config_t cfg;
    ward_ble_link_conn_t conn[WARD_CONFIG_BLE_MAX_CONN];
    uint8_t pdu[WARD_CONFIG_BLE_L2CAP_MTU]; /* private: responses are built here */
    uint32_t att_dropped;                   /* ATT PDUs the client refused */
    ward_ble_link_wait_t wait;              /* private */
} ward_ble_link_t;

/* Set up (no I/O yet) and queue the controller's start-up sequence; poll
 * until ward_hci_ready(&link->hci). WARD_OK or WARD_ERR_INVALID_ARG. */
ward_err_t ward_ble_link_init(ward_ble_link_t *link, const ward_ble_link_config_t *cfg);

/* One round: send what flow control allows, receive once (waiting at most
 * timeout_ms), handle it. WARD_OK, WARD_ERR_IO (transport),
 * WARD_ERR_BLE_H4. */
ward_err_t ward_ble_link_poll(ward_ble_link_t *link, uint32_t timeout_ms);

/* The link's actual security, bond presence included. */
ward_err_t ward_ble_link_security(const ward_ble_link_t *link, uint16_t conn,
                                  ward_ble_sec_t *sec);

/* Send one SMP PDU on a connection. As ward_l2cap_send. */
ward_err_t ward_ble_link_smp_send(ward_ble_link_t *link, uint16_t conn, const uint8_t *pdu,
                                  size_t len);

/* Send a raw ATT PDU (tests, and requests the client helpers do not build). */
ward_err_t ward_ble_link_att_send(ward_ble_link_t *link, uint16_t conn, const uint8_t *pdu,
                                  size_t len);

/* The ATT client of a connection (NULL if unknown): build a request with
 * the ward_att_client_* functions into a buffer, then ward_ble_link_att_send. */
ward_att_client_t *ward_ble_link_client(ward_ble_link_t *link, uint16_t conn);

/* The ATT server bearer of a connection (NULL if unknown). */
ward_att_bearer_t *ward_ble_link_bearer(ward_ble_link_t *link, uint16_t conn);

/* Notify value handle `handle` of the GATT server to a connection, if its
 * client enabled it and the link meets the read policy. As
 * ward_att_server_notify, plus ward_l2cap_send's errors. */
ward_err_t ward_ble_link_notify(ward_ble_link_t *link, uint16_t conn, uint16_t handle,
                                const uint8_t *val, size_t len);

/* ---- blocking helpers (a phone-side tool, tests) ----------------------------
 * Each polls the link (1 ms receive timeouts) until what it waits for
 * happens or timeout_ms has passed on clock. Callbacks keep running
 * meanwhile. Not for use from inside a callback. */

/* Until the controller's start-up is done. WARD_OK, WARD_ERR_BLE_HCI (the
 * controller refused a start-up command), WARD_ERR_BLE_TIMEOUT, or a
 * poll error. */
ward_err_t ward_ble_link_wait_ready(ward_ble_link_t *link, const ward_clock_t *clock,
                                    uint32_t timeout_ms);

/* Send an ATT request built with the connection's client (so it is the
 * outstanding one) and wait for its answer: *res, its data copied into buf
 * (res->data points there). WARD_OK; WARD_ERR_BLE_ATT when the server
 * answered with an Error Response (res->att_err, res->handle say which);
 * WARD_ERR_BLE_TIMEOUT; WARD_ERR_BLE_NO_CONN (unknown, or dropped while
 * waiting); WARD_ERR_BUF_TOO_SMALL (the data did not fit: cut to cap);
 * WARD_ERR_STATE (no request outstanding on that client). */
ward_err_t ward_ble_link_request(ward_ble_link_t *link, const ward_clock_t *clock, uint16_t conn,
                                 const uint8_t *req, size_t len, uint32_t timeout_ms,
                                 ward_att_result_t *res, uint8_t *buf, size_t cap);

/* Central: encrypt with an LTK (ward_hci_start_encryption) and wait for the
 * controller's verdict. WARD_OK once the link is encrypted and its key
 * size read; WARD_ERR_BLE_ENCRYPTION when it failed (*hci_status, if not
 * NULL, gets the controller's status: 0x05 wrong key, 0x06 no key at the
 * peer, 0xFF key size unknown) and the link is not encrypted;
 * WARD_ERR_BLE_TIMEOUT; WARD_ERR_BLE_NO_CONN; or ward_hci_start_encryption's
 * refusals. */
ward_err_t ward_ble_link_encrypt(ward_ble_link_t *link, const ward_clock_t *clock, uint16_t conn,
                                 const uint8_t rand[8], uint16_t ediv, const uint8_t ltk[16],
                                 uint8_t key_flags, uint32_t timeout_ms, uint8_t *hci_status);

#ifdef __cplusplus
}
#endif

#endif /* WARD_BLE_LINK_H */
