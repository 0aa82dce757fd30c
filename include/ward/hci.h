/*
 * ward hci: a small LE host over the standard Host Controller Interface,
 * H4 framing (a UART, a pty, a Unix socket, Linux's HCI user channel).
 *
 * An engine in the BearSSL shape: it never does I/O and never allocates.
 * The caller feeds the controller's bytes in (ward_hci_input) and drains
 * the bytes for the controller out (ward_hci_output), one H4 packet at a
 * time; ward_hci_poll does both over a ward_hci_transport_t port.
 *
 *   HCI     the LE subset: Reset, event masks, Read BD_ADDR, LE Read Buffer
 *           Size, advertising, scanning, LE Create Connection, Disconnect,
 *           LE Start Encryption, LTK Request (Negative) Reply, Encryption
 *           Change / Key Refresh, Read Encryption Key Size. One command
 *           outstanding at a time (Num_HCI_Command_Packets honoured); ACL
 *           flow control by Number of Completed Packets.
 *   L2CAP   LE fixed channels: ATT (0x0004) and SMP (0x0006) go to the
 *           l2cap callback, the LE signalling channel (0x0005) answers every
 *           request with Command Reject, any other CID is dropped. Outgoing
 *           PDUs are fragmented to the controller's ACL size; incoming ones
 *           reassembled into a bounded per-connection buffer.
 *
 * Link security comes only from the controller. A link counts as
 * encrypted once the controller reported Encryption Change (or Key
 * Refresh Complete) with success AND a Read Encryption Key Size that
 * followed it succeeded; a failed encryption leaves it unencrypted (there
 * is no fallback), and a key size that cannot be read disconnects it.
 * ATT and SMP PDUs that arrive between the Encryption Change and the key
 * size came over the encrypted link (a peer distributes its keys at once):
 * they are held and handed on, in order, right after the ENCRYPTION event. The
 * properties of the key in use (MITM-authenticated, LE Secure Connections,
 * from a bond) are those given with the LTK: by ward_hci_start_encryption
 * on the central, by the ltk_request callback on the peripheral.
 *
 * Callbacks run from inside ward_hci_input. They may call any function of
 * this API on the same engine except ward_hci_input/ward_hci_init.
 */
#ifndef WARD_HCI_H
#define WARD_HCI_H

#include "ward/port.h"
#include "ward/ble_addr.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration (override in WARD_CONFIG_USER_FILE) --------------------- */

/* Simultaneous LE connections. */
#ifndef WARD_CONFIG_BLE_MAX_CONN
#define WARD_CONFIG_BLE_MAX_CONN 2
#endif
/* Largest L2CAP payload (an ATT PDU at the largest ATT_MTU, or an SMP PDU)
 * sent or reassembled. 247 = an ATT_MTU of 247, a common LE choice. */
#ifndef WARD_CONFIG_BLE_L2CAP_MTU
#define WARD_CONFIG_BLE_L2CAP_MTU 247
#endif
/* Largest ACL data length accepted from the controller in one packet;
 * longer packets are skipped. 251 is the LE maximum. */
#ifndef WARD_CONFIG_BLE_ACL_RX_MAX
#define WARD_CONFIG_BLE_ACL_RX_MAX 251
#endif
/* Bytes queued for sending (L2CAP PDUs waiting for controller buffers). */
#ifndef WARD_CONFIG_BLE_ACL_TX_QUEUE
#define WARD_CONFIG_BLE_ACL_TX_QUEUE 1024
#endif
/* HCI commands queued (two are kept for the engine's own answers). */
#ifndef WARD_CONFIG_BLE_CMD_QUEUE
#define WARD_CONFIG_BLE_CMD_QUEUE 8
#endif

/* Bytes of L2CAP PDUs held while a link's key size is being read (they
 * arrived after the controller's Encryption Change and are handed on after
 * the ENCRYPTION event): a peer's SMP key distribution (IRK 17 + address 8
 * + signing key 17 bytes, 6 bytes of bookkeeping each) or its first ATT
 * request. What does not fit is dropped and counted. */
#ifndef WARD_CONFIG_BLE_HOLD_BYTES
#define WARD_CONFIG_BLE_HOLD_BYTES 192
#endif

#if WARD_CONFIG_BLE_MAX_CONN < 1 || WARD_CONFIG_BLE_MAX_CONN > 16
#error "WARD_CONFIG_BLE_MAX_CONN must be in [1, 16]"
#endif
#if WARD_CONFIG_BLE_L2CAP_MTU < 65 || WARD_CONFIG_BLE_L2CAP_MTU > 517
#error "WARD_CONFIG_BLE_L2CAP_MTU must be in [65, 517] (SMP needs 65, ATT allows 517)"
#endif
#if WARD_CONFIG_BLE_ACL_RX_MAX < 27 || WARD_CONFIG_BLE_ACL_RX_MAX > 1021
#error "WARD_CONFIG_BLE_ACL_RX_MAX must be in [27, 1021]"
#endif
#if WARD_CONFIG_BLE_ACL_TX_QUEUE < WARD_CONFIG_BLE_L2CAP_MTU + 8
#error "WARD_CONFIG_BLE_ACL_TX_QUEUE must hold at least one full L2CAP PDU"
#endif
#if WARD_CONFIG_BLE_HOLD_BYTES < 64 || WARD_CONFIG_BLE_HOLD_BYTES > 4096
#error "WARD_CONFIG_BLE_HOLD_BYTES must be in [64, 4096]"
#endif
#if WARD_CONFIG_BLE_CMD_QUEUE < 4 || WARD_CONFIG_BLE_CMD_QUEUE > 32
#error "WARD_CONFIG_BLE_CMD_QUEUE must be in [4, 32]"
#endif

/* ---- constants ------------------------------------------------------------- */

#define WARD_L2CAP_CID_ATT 0x0004u
#define WARD_L2CAP_CID_LE_SIGNAL 0x0005u
#define WARD_L2CAP_CID_SMP 0x0006u

#define WARD_HCI_ROLE_CENTRAL 0x00u
#define WARD_HCI_ROLE_PERIPHERAL 0x01u


/* HCI status / reason codes ward uses by name (Core Vol 1 Part F). */
#define WARD_HCI_SUCCESS 0x00u
#define WARD_HCI_ERR_UNKNOWN_COMMAND 0x01u
#define WARD_HCI_ERR_UNKNOWN_CONN 0x02u
#define WARD_HCI_ERR_AUTH_FAILURE 0x05u
#define WARD_HCI_ERR_PIN_OR_KEY_MISSING 0x06u
#define WARD_HCI_ERR_REMOTE_USER_TERM 0x13u
#define WARD_HCI_ERR_REMOTE_LOW_RESOURCES 0x14u
#define WARD_HCI_ERR_LOCAL_HOST_TERM 0x16u

/* Properties of an LTK, given with it and reported for the link using it. */
#define WARD_BLE_KEY_AUTHENTICATED 0x01u /* MITM-protected pairing */
#define WARD_BLE_KEY_SC 0x02u            /* LE Secure Connections */
#define WARD_BLE_KEY_BONDED 0x04u        /* the LTK of a stored bond */

/* ---- types ----------------------------------------------------------------- */

/* What a link's security actually is, as the controller reported it. */
typedef struct ward_ble_sec {
    bool encrypted;    /* Encryption Change success and key size read */
    uint8_t key_size;  /* 7..16 when encrypted, else 0 */
    uint8_t key_flags; /* WARD_BLE_KEY_* of the LTK in use; 0 unless encrypted */
    bool bonded;       /* a bond exists for the peer (filled by ward_ble_link) */
} ward_ble_sec_t;

typedef enum ward_hci_event_type {
    WARD_HCI_EVT_READY = 1,       /* init done: bd_addr, ACL size and count known */
    WARD_HCI_EVT_CMD_DONE,        /* a command of the caller completed (opcode, status) */
    WARD_HCI_EVT_ADV_REPORT,      /* an advertising report */
    WARD_HCI_EVT_CONNECTED,       /* LE Connection Complete (status 0 = up) */
    WARD_HCI_EVT_DISCONNECTED,    /* Disconnection Complete (reason) */
    WARD_HCI_EVT_ENCRYPTION,      /* encryption result: status 0 = encrypted, key size known */
    WARD_HCI_EVT_HW_ERROR         /* Hardware Error or Data Buffer Overflow (code) */
} ward_hci_event_type_t;

typedef struct ward_hci_event {
    ward_hci_event_type_t type;
    uint16_t handle;  /* connection: CONNECTED, DISCONNECTED, ENCRYPTION */
    uint8_t status;   /* HCI status (0 success); ENCRYPTION: 0, the controller's
                         status, or 0xFF when the key size could not be read */
    uint8_t reason;   /* DISCONNECTED: the reason; HW_ERROR: the code */
    uint8_t role;     /* CONNECTED: WARD_HCI_ROLE_* */
    uint8_t key_size; /* ENCRYPTION */
    uint16_t opcode;  /* CMD_DONE */
    ward_ble_addr_t addr; /* CONNECTED: peer; ADV_REPORT: advertiser; READY: ours */
    uint8_t adv_type;     /* ADV_REPORT: 0 ADV_IND .. 4 SCAN_RSP */
    int8_t rssi;          /* ADV_REPORT */
    const uint8_t *data;  /* ADV_REPORT: AD bytes (valid during the callback) */
    size_t data_len;
} ward_hci_event_t;

typedef struct ward_hci_callbacks {
    void *ctx;
    /* Events; may be NULL. */
    void (*event)(void *ctx, const ward_hci_event_t *ev);
    /* A complete L2CAP PDU on ATT (0x0004) or SMP (0x0006); payload only,
     * without the basic header. pdu is valid during the call. May be NULL. */
    void (*l2cap)(void *ctx, uint16_t handle, uint16_t cid, const uint8_t *pdu, size_t len);
    /* Peripheral: the controller asks for the LTK of (ediv, rand) on handle.
     * Return WARD_OK with ltk and its WARD_BLE_KEY_* flags set to encrypt,
     * anything else to answer with a Negative Reply. The bond store
     * answers only for a bonded peer whose EDIV/Rand match (LE SC: both 0);
     * SMP answers during pairing. An all-zero LTK is never sent (Negative
     * Reply instead). NULL: always a Negative Reply. */
    ward_err_t (*ltk_request)(void *ctx, uint16_t handle, const ward_ble_addr_t *peer,
                              uint16_t ediv, const uint8_t rand[8], uint8_t ltk[16],
                              uint8_t *key_flags);
    /* Every complete H4 packet sent (to_controller true) or received, for a
     * capture (btsnoop). Sees key bytes in LTK replies. May be NULL. */
    void (*trace)(void *ctx, bool to_controller, const uint8_t *h4, size_t len);
} ward_hci_callbacks_t;

/* Advertising types (LE Set Advertising Parameters). */
#define WARD_HCI_ADV_IND 0x00u            /* connectable, scannable, undirected */
#define WARD_HCI_ADV_DIRECT_IND_HIGH 0x01u /* connectable directed, high duty cycle */
#define WARD_HCI_ADV_SCAN_IND 0x02u       /* scannable undirected */
#define WARD_HCI_ADV_NONCONN_IND 0x03u    /* non-connectable undirected */
#define WARD_HCI_ADV_DIRECT_IND_LOW 0x04u /* connectable directed, low duty cycle */

/* Advertising parameters (LE Set Advertising Parameters). */
typedef struct ward_hci_adv_params {
    uint16_t interval_min; /* units of 0.625 ms, 0x0020..0x4000 */
    uint16_t interval_max;
    uint8_t type;          /* WARD_HCI_ADV_*: 0 ADV_IND (connectable), 1/4 directed,
                              2 ADV_SCAN_IND, 3 ADV_NONCONN_IND */
    uint8_t own_addr_type; /* WARD_BLE_ADDR_PUBLIC, or WARD_BLE_ADDR_RANDOM after
                              ward_hci_use_random_address */
    uint8_t channel_map;   /* 0x07: all three */
    uint8_t filter_policy; /* 0: anyone may scan and connect */
    /* Directed advertising (types 1 and 4): the only peer that may connect
     * (an identity address: public or random static). Ignored otherwise. */
    ward_ble_addr_t direct;
} ward_hci_adv_params_t;

/* Connection parameters for LE Create Connection; NULL takes the defaults
 * (scan 60 ms / 30 ms, interval 30-50 ms, latency 0, timeout 4 s). */
typedef struct ward_hci_conn_params {
    uint16_t scan_interval, scan_window;   /* 0.625 ms */
    uint16_t interval_min, interval_max;   /* 1.25 ms */
    uint16_t latency;
    uint16_t supervision_timeout;          /* 10 ms */
} ward_hci_conn_params_t;

/* ---- the engine's state (the caller owns it; fields are private) --------- */

typedef struct ward_hci_conn {
    bool used;
    uint8_t role;
    uint16_t handle;
    ward_ble_addr_t peer;
    uint8_t enc_state;     /* private: see hci.c */
    uint8_t key_size;
    uint8_t key_flags;
    uint8_t pending_flags; /* of the LTK handed to the controller */
    uint16_t in_flight;    /* ACL packets the controller has not completed */
    uint32_t rx_len;       /* reassembly: bytes received of the PDU */
    uint32_t rx_total;     /* 4 + L2CAP length once known, else 0 */
    bool rx_active;
    bool rx_discard;       /* SDU too long: skipping its fragments */
    uint8_t rx[4 + WARD_CONFIG_BLE_L2CAP_MTU];
} ward_hci_conn_t;

typedef struct ward_hci_cmd_slot {
    uint16_t opcode;
    uint8_t len;
    uint8_t owner; /* private: engine or caller */
    uint8_t param[32];
} ward_hci_cmd_slot_t;

/* H4 receive buffer, type byte included: the larger of an event (1 + 2 +
 * 255) and an ACL packet (1 + 4 + data). */
#define WARD_HCI_RX_PKT_MAX \
    (5 + WARD_CONFIG_BLE_ACL_RX_MAX > 258 ? 5 + WARD_CONFIG_BLE_ACL_RX_MAX : 258)

typedef struct ward_hci {
    ward_hci_callbacks_t cb;
    uint8_t state;             /* private */
    uint8_t init_step;
    bool sync_lost;
    /* commands */
    ward_hci_cmd_slot_t cmdq[WARD_CONFIG_BLE_CMD_QUEUE];
    uint8_t cmd_head, cmd_count;
    uint8_t cmd_credits;       /* Num_HCI_Command_Packets, at most 1 used */
    bool cmd_pending;          /* a command is outstanding */
    uint16_t cmd_pending_opcode;
    uint8_t cmd_pending_owner;
    uint16_t cmd_pending_handle;
    /* ACL */
    uint16_t acl_mtu;          /* controller's LE ACL data length */
    uint16_t acl_pkts;         /* controller's LE ACL buffers */
    uint16_t acl_credits;
    uint8_t acl_q[WARD_CONFIG_BLE_ACL_TX_QUEUE];
    size_t acl_q_len;          /* records [handle 2][len 2][L2CAP PDU], oldest first */
    size_t acl_tx_off;         /* bytes of the head record's PDU already sent */
    ward_hci_conn_t conn[WARD_CONFIG_BLE_MAX_CONN];
    /* PDUs held while a key size is read: records [handle 2][cid 2][len 2][PDU] */
    uint8_t hold[WARD_CONFIG_BLE_HOLD_BYTES];
    size_t hold_len;
    ward_ble_addr_t bd_addr;
    /* The own address type scanning and connecting use: public, or random
     * once ward_hci_use_random_address queued LE Set Random Address. */
    uint8_t own_addr_type;
    uint8_t random_addr[6];
    /* H4 receive parser */
    uint8_t rx_pkt[WARD_HCI_RX_PKT_MAX];
    size_t rx_have, rx_need;
    size_t rx_skip;            /* bytes of an over-long packet still to skip */
    uint32_t dropped;          /* malformed packets / PDUs dropped (diagnostics) */
} ward_hci_t;

/* ---- lifecycle ------------------------------------------------------------- */

/* Reset the engine to "not started" with these callbacks (copied).
 * WARD_OK or WARD_ERR_INVALID_ARG. */
ward_err_t ward_hci_init(ward_hci_t *hci, const ward_hci_callbacks_t *cb);

/* Queue the start-up sequence: Reset, Set Event Mask, LE Set Event Mask,
 * Read BD_ADDR, LE Read Buffer Size (Read Buffer Size when the controller
 * shares its BR/EDR buffers). WARD_HCI_EVT_READY follows; a refused step
 * gives WARD_HCI_EVT_CMD_DONE with its opcode and status and leaves the
 * engine unusable (ward_hci_ready false). */
ward_err_t ward_hci_start(ward_hci_t *hci);

/* true once the start-up sequence completed. */
bool ward_hci_ready(const ward_hci_t *hci);

/* true when the controller refused a start-up command (or reported buffers
 * ward cannot use): the engine stays unusable until ward_hci_start. */
bool ward_hci_failed(const ward_hci_t *hci);

/* ---- bytes in, bytes out ----------------------------------------------------- */

/* Feed bytes received from the controller (any split). Complete packets
 * are handled and callbacks run. Malformed packets are dropped and counted.
 * WARD_OK, WARD_ERR_BLE_H4 when a packet type byte is unknown (the stream
 * cannot be resynchronised: reset the transport and call ward_hci_init). */
ward_err_t ward_hci_input(ward_hci_t *hci, const uint8_t *data, size_t len);

/* Take the next H4 packet for the controller, if flow control allows one:
 * a queued command when none is outstanding and the controller has a
 * command credit, else an ACL fragment when it has a free ACL buffer.
 * *len = 0 when there is nothing to send now. WARD_OK, or
 * WARD_ERR_BUF_TOO_SMALL when cap < 4 + 255 (nothing taken). The packet
 * may hold a key (LTK replies): the caller wipes out after sending it. */
ward_err_t ward_hci_output(ward_hci_t *hci, uint8_t *out, size_t cap, size_t *len);

/* Send what flow control allows over the transport, then receive once,
 * waiting at most timeout_ms, and feed what arrived. WARD_OK, the
 * transport's WARD_ERR_IO, or what ward_hci_input returns. */
ward_err_t ward_hci_poll(ward_hci_t *hci, const ward_hci_transport_t *t, uint32_t timeout_ms);

/* ---- commands (queued; the result comes as WARD_HCI_EVT_CMD_DONE) -----------
 * Each returns WARD_OK when queued, WARD_ERR_STATE before READY,
 * WARD_ERR_INVALID_ARG for out-of-range parameters, WARD_ERR_BLE_BUSY when
 * the command queue is full. */

ward_err_t ward_hci_adv_params(ward_hci_t *hci, const ward_hci_adv_params_t *p);
/* Advertising data / scan response data: at most 31 bytes. */
ward_err_t ward_hci_adv_data(ward_hci_t *hci, const uint8_t *data, size_t len);
ward_err_t ward_hci_scan_rsp_data(ward_hci_t *hci, const uint8_t *data, size_t len);
ward_err_t ward_hci_adv_enable(ward_hci_t *hci, bool enable);
/* Use a random device address (LE Set Random Address): a random static
 * identity (top two bits 11) or a private address, LSB first. From then
 * on scanning and LE Create Connection use it (own address type random);
 * advertising uses it when ward_hci_adv_params says own_addr_type 1.
 * ward_hci_start goes back to the public address. Controllers refuse it
 * (CMD_DONE with 0x0C) while advertising, scanning or connecting: call it
 * before. WARD_ERR_INVALID_ARG for all-zero or all-one address bits. */
ward_err_t ward_hci_use_random_address(ward_hci_t *hci, const uint8_t addr[6]);
/* Scanning (the phone side): active or passive, interval/window in 0.625 ms. */
ward_err_t ward_hci_scan_params(ward_hci_t *hci, bool active, uint16_t interval, uint16_t window);
ward_err_t ward_hci_scan_enable(ward_hci_t *hci, bool enable, bool filter_duplicates);
/* Connect to an advertiser as central. WARD_HCI_EVT_CONNECTED follows. */
ward_err_t ward_hci_connect(ward_hci_t *hci, const ward_ble_addr_t *peer,
                            const ward_hci_conn_params_t *p);
/* Disconnect (reason e.g. WARD_HCI_ERR_REMOTE_USER_TERM).
 * WARD_ERR_BLE_NO_CONN for an unknown handle. */
ward_err_t ward_hci_disconnect(ward_hci_t *hci, uint16_t handle, uint8_t reason);
/* Central: encrypt the link with ltk (its WARD_BLE_KEY_* flags given, as
 * the bond or SMP knows them). WARD_ERR_STATE on a peripheral link,
 * WARD_ERR_INVALID_ARG for an all-zero LTK. WARD_HCI_EVT_ENCRYPTION
 * follows. The key is wiped from the engine once sent. */
ward_err_t ward_hci_start_encryption(ward_hci_t *hci, uint16_t handle, const uint8_t rand[8],
                                     uint16_t ediv, const uint8_t ltk[16], uint8_t key_flags);

/* ---- connections ------------------------------------------------------------- */

/* The link's security as the controller reported it (bonded left false).
 * WARD_ERR_BLE_NO_CONN for an unknown handle (sec then all zero). */
ward_err_t ward_hci_conn_security(const ward_hci_t *hci, uint16_t handle, ward_ble_sec_t *sec);

/* The key in use on an encrypted link has just been stored as a bond (the
 * pairing that made it completed and the bond store took it): from now on
 * the link's key flags include WARD_BLE_KEY_BONDED, as they would after a
 * reconnection with that bond. WARD_ERR_BLE_NO_CONN; WARD_ERR_STATE when
 * the link is not encrypted with a key the engine handed out (flags 0). */
ward_err_t ward_hci_conn_mark_bonded(ward_hci_t *hci, uint16_t handle);

/* The bond whose key the link uses was removed (the peer must pair again):
 * WARD_BLE_KEY_BONDED leaves the link's key flags at once, so nothing that
 * needs a bond passes on it any more. WARD_OK (also when it had none),
 * WARD_ERR_BLE_NO_CONN. */
ward_err_t ward_hci_conn_clear_bonded(ward_hci_t *hci, uint16_t handle);

/* Role and peer address of a connection. WARD_ERR_BLE_NO_CONN if unknown. */
ward_err_t ward_hci_conn_info(const ward_hci_t *hci, uint16_t handle, uint8_t *role,
                              ward_ble_addr_t *peer);

/* This controller's public address (valid after READY). */
void ward_hci_bd_addr(const ward_hci_t *hci, ward_ble_addr_t *addr);

/* ---- L2CAP ----------------------------------------------------------------- */

/* Queue one L2CAP PDU (payload only; the basic header is added) on a fixed
 * channel of a connection. It is fragmented to the controller's ACL size
 * and sent as buffers free up. WARD_OK, WARD_ERR_BLE_NO_CONN,
 * WARD_ERR_INVALID_ARG (len > WARD_CONFIG_BLE_L2CAP_MTU), WARD_ERR_BLE_BUSY
 * (queue full: poll, then retry). */
ward_err_t ward_l2cap_send(ward_hci_t *hci, uint16_t handle, uint16_t cid, const uint8_t *pdu,
                           size_t len);

/* true when nothing is queued or outstanding (commands and ACL data). */
bool ward_hci_idle(const ward_hci_t *hci);

/* true when everything sent on a link has left: nothing of it is queued and
 * the controller completed every packet (Number of Completed Packets), or
 * the link is gone. Wait for it before a Disconnect that must not cut off
 * the last PDUs (SMP key distribution, a Write Response). */
bool ward_hci_conn_flushed(const ward_hci_t *hci, uint16_t handle);

#ifdef __cplusplus
}
#endif

#endif /* WARD_HCI_H */
