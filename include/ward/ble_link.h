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

typedef struct ward_ble_link {
    ward_hci_t hci;
    ward_ble_link_config_t cfg;
    ward_ble_link_conn_t conn[WARD_CONFIG_BLE_MAX_CONN];
    uint8_t pdu[WARD_CONFIG_BLE_L2CAP_MTU]; /* private: responses are built here */
    uint32_t att_dropped;                   /* ATT PDUs the client refused */
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

#ifdef __cplusplus
}
#endif

#endif /* WARD_BLE_LINK_H */
