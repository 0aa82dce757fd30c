/*
 * ward ble_phone: the companion-app side of the plug, as a BLE central.
 * Blocking calls over ward's link (HCI, L2CAP, ATT client) with an SMP
 * initiator: find the device, connect, pair (Just Works, Numeric
 * Comparison, Passkey Entry, or OOB with the device's label), encrypt with
 * a stored bond's LTK, read and write characteristics.
 *
 * Portable (src/ble/phone.c): no allocation, no OS calls; the caller owns
 * the object and stores the bond the pairing gives (ward_ble_bond_store
 * into its own vault: `ward ble phone` keeps a simulated phone's vault).
 * Each call polls the link until what it waits for happened, the link
 * dropped, or its time ran out; cfg.idle runs between polls (a test runs
 * the device side there).
 */
#ifndef WARD_BLE_PHONE_H
#define WARD_BLE_PHONE_H

#include "ward/ble_link.h"
#include "ward/smp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ward_ble_phone_config {
    const ward_hci_transport_t *transport;
    const ward_rng_t *rng;
    const ward_clock_t *clock;
    /* The phone's identity: random static (LE Set Random Address, used to
     * scan and connect, so a device can advertise to it directly) or
     * WARD_BLE_ADDR_PUBLIC (the controller's own). */
    ward_ble_addr_t identity;
    /* Its IRK (16 bytes), distributed with the identity when pairing;
     * NULL: no identity distributed. */
    const uint8_t *irk;
    void *ctx; /* for the callbacks below */
    /* The user: type the passkey the device shows (false: cancel); see the
     * one to type on the device; compare six digits (true: they match).
     * NULL: cancel / ignore / "no". */
    bool (*passkey_request)(void *ctx, uint32_t *passkey);
    void (*passkey_display)(void *ctx, uint32_t passkey);
    bool (*numeric_compare)(void *ctx, uint32_t value);
    /* Runs between polls while a call waits (may be NULL). */
    void (*idle)(void *ctx);
    /* HCI events as they come (logs; may be NULL). */
    void (*event)(void *ctx, const ward_hci_event_t *ev);
    /* Every SMP PDU received, and every one about to be sent: smp_out may
     * rewrite it in place (up to WARD_SMP_PDU_MAX bytes, *len updated) or
     * drop it (false). Conformance tests play a hostile phone with it; an
     * app leaves both NULL. */
    void (*smp_in)(void *ctx, const uint8_t *pdu, size_t len);
    bool (*smp_out)(void *ctx, uint8_t *pdu, size_t *len);
    /* Every H4 packet (a capture; may be NULL). */
    void (*trace)(void *ctx, bool to_controller, const uint8_t *h4, size_t len);
} ward_ble_phone_config_t;

/* What a pairing asks for. */
typedef struct ward_ble_phone_pairing {
    uint8_t io_cap;             /* WARD_SMP_IO_* of the phone */
    bool bonding;               /* ask to bond */
    bool mitm;                  /* ask for MITM protection */
    bool require_mitm;          /* refuse Just Works (0x03) */
    const ward_smp_oob_t *oob;  /* the device's label (r, C), or NULL */
    uint32_t timeout_ms;        /* 0: 40 s (more than SMP's 30 s) */
} ward_ble_phone_pairing_t;

/* How a pairing ended. */
typedef struct ward_ble_phone_result {
    ward_smp_keys_t keys; /* on success: the LTK, the device's identity... wipe after use */
    uint8_t method;       /* ward_smp_method_t chosen */
    uint8_t reason;       /* on failure: the SMP reason (0: timeout or link lost) */
    bool remote;          /* the device sent Pairing Failed */
    bool timeout;         /* SMP's 30 s timeout */
    uint8_t enc_status;   /* the controller's Encryption Change status, 0xFF none */
} ward_ble_phone_result_t;

typedef struct ward_ble_phone {
    ward_ble_phone_config_t cfg;
    ward_ble_link_t link;
    /* state (read-only for callers) */
    bool ready, addr_set;
    bool connected;
    uint16_t conn;
    ward_ble_addr_t peer;
    uint8_t disc_reason;
    /* private */
    uint8_t conn_status;
    bool conn_event;
    bool scanning, seen;
    ward_ble_addr_t want;
    uint8_t seen_adv_type;
    bool cmd_done;
    uint16_t cmd_op;
    uint8_t cmd_status;
    bool enc_done;
    uint8_t enc_status;
    bool att_done;
    ward_att_result_t res;
    uint8_t res_buf[WARD_CONFIG_ATT_MTU];
    bool smp_on, smp_done;
    ward_smp_t smp;
    ward_ble_phone_result_t *result;
    ward_err_t smp_err;
    /* for scans (ward_ble_phone_scan) */
    void (*scan_cb)(void *ctx, const ward_hci_event_t *ev);
    void *scan_ctx;
} ward_ble_phone_t;

/* Start the controller and set the identity address. The object must not
 * move afterwards. WARD_OK, WARD_ERR_INVALID_ARG, WARD_ERR_BLE_HCI (the
 * controller refused start-up or the address), WARD_ERR_BLE_TIMEOUT,
 * transport errors. */
ward_err_t ward_ble_phone_init(ward_ble_phone_t *ph, const ward_ble_phone_config_t *cfg,
                               uint32_t timeout_ms);

/* Scan for timeout_ms, calling cb for every advertising report. */
ward_err_t ward_ble_phone_scan(ward_ble_phone_t *ph, uint32_t timeout_ms,
                               void (*cb)(void *ctx, const ward_hci_event_t *ev), void *ctx);

/* Scan until dev advertises connectable (undirected, or directed at us),
 * then connect. WARD_OK; WARD_ERR_BLE_TIMEOUT (not seen: its window is
 * closed and it has no bond with us, or it is away); WARD_ERR_BLE_HCI
 * (the controller refused, or the connection failed: status in
 * ph->conn_status); transport errors. */
ward_err_t ward_ble_phone_connect(ward_ble_phone_t *ph, const ward_ble_addr_t *dev,
                                  uint32_t timeout_ms);

/* Exchange the ATT MTU (ours: WARD_CONFIG_ATT_MTU). */
ward_err_t ward_ble_phone_mtu(ward_ble_phone_t *ph, uint32_t timeout_ms);

/*
 * Pair as initiator. The phone encrypts with the new LTK when the DHKey
 * checks passed (LE Start Encryption), and the keys are distributed over
 * the encrypted link. WARD_OK with r->keys; WARD_ERR_SMP_FAILED (r->reason,
 * r->remote); WARD_ERR_SMP_TIMEOUT; WARD_ERR_BLE_NO_CONN (the link
 * dropped); WARD_ERR_BLE_TIMEOUT (o->timeout_ms passed).
 */
ward_err_t ward_ble_phone_pair(ward_ble_phone_t *ph, const ward_ble_phone_pairing_t *o,
                               ward_ble_phone_result_t *r);

/* Encrypt with a bond's LTK (EDIV 0, Rand 0) and wait for the verdict.
 * WARD_OK (encrypted, key size read); WARD_ERR_BLE_ENCRYPTION with
 * *hci_status (0x05 wrong key, 0x06 the device has none); timeouts. */
ward_err_t ward_ble_phone_encrypt(ward_ble_phone_t *ph, const uint8_t ltk[16], uint8_t key_flags,
                                  uint32_t timeout_ms, uint8_t *hci_status);

/* Read a value (one Read Request). WARD_OK (*len); WARD_ERR_BLE_ATT with
 * *att_err; WARD_ERR_BUF_TOO_SMALL; timeouts, WARD_ERR_BLE_NO_CONN. */
ward_err_t ward_ble_phone_read(ward_ble_phone_t *ph, uint16_t handle, uint8_t *out, size_t cap,
                               size_t *len, uint8_t *att_err, uint32_t timeout_ms);

/* Write a value: a Write Request, or Prepare/Execute Write when it does not
 * fit one PDU. WARD_OK; WARD_ERR_BLE_ATT with *att_err; as read. */
ward_err_t ward_ble_phone_write(ward_ble_phone_t *ph, uint16_t handle, const uint8_t *val,
                                size_t len, uint8_t *att_err, uint32_t timeout_ms);

/* Send one raw SMP PDU (tests: a malformed one). As ward_l2cap_send. */
ward_err_t ward_ble_phone_smp_send(ward_ble_phone_t *ph, const uint8_t *pdu, size_t len);

/* Poll for ms milliseconds (let the peer answer). */
ward_err_t ward_ble_phone_wait(ward_ble_phone_t *ph, uint32_t ms);

/* Disconnect and wait for the Disconnection Complete. */
ward_err_t ward_ble_phone_disconnect(ward_ble_phone_t *ph, uint32_t timeout_ms);

/* The link's security, as the controller reported it. */
ward_err_t ward_ble_phone_security(const ward_ble_phone_t *ph, ward_ble_sec_t *sec);

/* Wipe the SMP engine's secrets. */
void ward_ble_phone_release(ward_ble_phone_t *ph);

#ifdef __cplusplus
}
#endif

#endif /* WARD_BLE_PHONE_H */
