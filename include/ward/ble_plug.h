/*
 * ward ble_plug: the BLE side of a smart plug, wired together. The link
 * (HCI, L2CAP, ATT with the GATT access policy) and the security core
 * (SMP, the pairing window, bonds in the vault) meet here, with the sample
 * plug service acting for real: the relay, Wi-Fi credentials written into
 * the vault, a factory reset that wipes the vault with every bond.
 *
 * Portable (src/ble/plug.c): no allocation, no OS calls; the caller owns
 * the object and gives it ports (an H4 transport, the mounted vault, the
 * HSM with the factory pairing key, an rng, a clock). The host CLI
 * (`ward ble device`) and the Cortex-M bench run the same code.
 *
 *   ward_ble_plug_t plug;                      // large: static or global
 *   ward_ble_plug_init(&plug, &cfg);           // starts the controller
 *   for (;;) {
 *       ward_ble_plug_poll(&plug, 20);         // I/O, timers, advertising
 *       if (button_pressed()) ward_ble_plug_button(&plug);
 *   }
 *
 * The wiring (docs/ble.md "Wiring"):
 *   SMP PDUs (CID 6)      -> the connection's responder engine; its PDUs
 *                            back over L2CAP, its events to the app
 *   LTK Request           -> a pairing in progress (ward_smp_ltk_request),
 *                            else the bond store (ward_ble_bond_ltk_request:
 *                            EDIV 0 and Rand 0 only), else Negative Reply;
 *                            the key's flags from the bond (authenticated,
 *                            SC, bonded) or from the pairing (its method)
 *   Encryption Change     -> ward_smp_encryption_changed(ok, key size read)
 *   PAIRED (bonding)      -> ward_ble_bond_store (never weaker); on success
 *                            the link's key counts as a bond's at once
 *   bond_exists           -> a bond for the peer (0x0F re-encrypt vs 0x05)
 *   Disconnection         -> a pairing in progress counts as failed
 *   advertising           -> connectable and discoverable ("pairing") only
 *                            while the window is open; while it is closed,
 *                            directed advertising to each bonded peer in
 *                            turn, so only they can connect; no bonds and
 *                            a closed window: no advertising at all
 * The window opens on ward_ble_plug_button and closes on the first bond,
 * on its timeout or after its failure limit (ward/ble_window.h); failed
 * pairings get SMP Repeated Attempts (0x09) during the back-off.
 */
#ifndef WARD_BLE_PLUG_H
#define WARD_BLE_PLUG_H

#include "ward/ble_bonds.h"
#include "ward/ble_link.h"
#include "ward/ble_window.h"
#include "ward/gatt_plug.h"
#include "ward/smp.h"
#include "ward/vault.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bonded peers the plug advertises to (directed, in turn) while its
 * window is closed. Further bonds stay valid but get no directed
 * advertising of their own. */
#ifndef WARD_CONFIG_BLE_PLUG_MAX_BONDS
#define WARD_CONFIG_BLE_PLUG_MAX_BONDS 4
#endif
#if WARD_CONFIG_BLE_PLUG_MAX_BONDS < 1 || WARD_CONFIG_BLE_PLUG_MAX_BONDS > 32
#error "WARD_CONFIG_BLE_PLUG_MAX_BONDS must be in [1, 32]"
#endif

/* Vault records the plug writes besides the bonds. */
#define WARD_BLE_PLUG_REC_SSID "wifi.ssid"
#define WARD_BLE_PLUG_REC_PSK "wifi.psk"

/* The status value (handle 6): byte 0 relay (0 off, 1 on), byte 1 flags. */
#define WARD_BLE_PLUG_STATUS_WIFI 0x01u   /* Wi-Fi credentials are in the vault */
#define WARD_BLE_PLUG_STATUS_WINDOW 0x02u /* the pairing window is open */

/* How long each bonded peer gets directed advertising before the next. */
#define WARD_BLE_PLUG_DIRECTED_MS 3000u

typedef enum ward_ble_plug_adv {
    WARD_BLE_PLUG_ADV_OFF = 0,
    WARD_BLE_PLUG_ADV_PAIRING = 1,  /* ADV_IND, general discoverable: the window is open */
    WARD_BLE_PLUG_ADV_DIRECTED = 2, /* ADV_DIRECT_IND (low duty) to a bonded peer */
    WARD_BLE_PLUG_ADV_UNKNOWN = 3   /* private: the controller's state is unsure */
} ward_ble_plug_adv_t;

typedef enum ward_ble_plug_event_type {
    WARD_BLE_PLUG_EV_READY = 1,       /* controller started; addr = our address */
    WARD_BLE_PLUG_EV_WINDOW,          /* open, or closed with why (ward_ble_window_closed_t) */
    WARD_BLE_PLUG_EV_ADVERTISING,     /* adv (mode); addr = the peer when directed */
    WARD_BLE_PLUG_EV_CONNECTED,       /* conn, addr = peer, bonded */
    WARD_BLE_PLUG_EV_DISCONNECTED,    /* conn, reason */
    WARD_BLE_PLUG_EV_ENCRYPTION,      /* conn, status (0: encrypted), key_size, key_flags */
    WARD_BLE_PLUG_EV_PAIRING,         /* conn: a Pairing Request was accepted (method) */
    WARD_BLE_PLUG_EV_PASSKEY_DISPLAY, /* conn, value: show it */
    WARD_BLE_PLUG_EV_NUMERIC_COMPARE, /* conn, value: ward_ble_plug_numeric_reply */
    WARD_BLE_PLUG_EV_PASSKEY_REQUEST, /* conn: ward_ble_plug_passkey_reply */
    WARD_BLE_PLUG_EV_PAIRING_FAILED,  /* conn, reason (SMP), remote, timeout */
    WARD_BLE_PLUG_EV_PAIRED,          /* conn, method, authenticated, bonded; addr = peer
                                         identity; err = the bond store's answer */
    WARD_BLE_PLUG_EV_RELAY,           /* conn, on */
    WARD_BLE_PLUG_EV_WIFI,            /* conn, ssid; err = the vault's answer */
    WARD_BLE_PLUG_EV_FACTORY_RESET    /* conn; err = the vault wipe's answer */
} ward_ble_plug_event_type_t;

typedef struct ward_ble_plug_event {
    ward_ble_plug_event_type_t type;
    uint16_t conn;
    ward_ble_addr_t addr;
    uint8_t status;    /* ENCRYPTION: HCI status (0xFF: key size unknown) */
    uint8_t reason;    /* DISCONNECTED: HCI reason; PAIRING_FAILED: SMP reason */
    uint8_t key_size;  /* ENCRYPTION */
    uint8_t key_flags; /* ENCRYPTION: WARD_BLE_KEY_* */
    uint8_t method;    /* PAIRING, PAIRED: ward_smp_method_t */
    uint8_t adv;       /* ADVERTISING: ward_ble_plug_adv_t */
    uint8_t why;       /* WINDOW: ward_ble_window_closed_t */
    bool open;         /* WINDOW */
    bool bonded;       /* CONNECTED: a bond exists; PAIRED: bonding asked by both */
    bool authenticated; /* PAIRED */
    bool remote;       /* PAIRING_FAILED: the peer sent Pairing Failed */
    bool timeout;      /* PAIRING_FAILED: the 30 s SMP timeout */
    bool on;           /* RELAY */
    uint32_t value;    /* PASSKEY_DISPLAY, NUMERIC_COMPARE; WINDOW: ms left when open */
    ward_err_t err;    /* PAIRED, WIFI, FACTORY_RESET */
    char ssid[33];     /* WIFI (never the PSK) */
} ward_ble_plug_event_t;

typedef struct ward_ble_plug_config {
    const ward_hci_transport_t *transport;
    ward_vault_t *vault;   /* mounted; bonds, Wi-Fi credentials */
    const ward_hsm_t *hsm; /* its pair_* members: OOB with the label; NULL: no OOB */
    const ward_rng_t *rng;
    const ward_clock_t *clock;
    /* The identity address the plug advertises with: random static (set
     * with LE Set Random Address; the factory draws one, DEVICE/ble-address)
     * or WARD_BLE_ADDR_PUBLIC (the controller's own). */
    ward_ble_addr_t identity;
    uint8_t io_cap;       /* WARD_SMP_IO_NONE for a plug with a button and an LED */
    bool require_mitm;    /* refuse Just Works pairings outright (0x03) */
    ward_ble_window_config_t window; /* zero: defaults (3 min, 5 failures) */
    const char *name;     /* GAP Device Name and advertised name, < 32 bytes */
    void *ctx;            /* for the callbacks below */
    /* What happened (may be NULL). Runs inside ward_ble_plug_poll. */
    void (*event)(void *ctx, const ward_ble_plug_event_t *ev);
    /* Every H4 packet, for a capture (may be NULL; sees LTK replies). */
    void (*trace)(void *ctx, bool to_controller, const uint8_t *h4, size_t len);
} ward_ble_plug_config_t;

/* Per connection (private). */
typedef struct ward_ble_plug_conn {
    bool used;
    uint16_t handle;
    ward_ble_addr_t peer;
    bool bonded;       /* a bond exists for peer (cached from the vault) */
    bool bond_auth;    /* ...and it is authenticated */
    bool key_bonded;   /* the link was handed (or paired into) the key of the bond of */
    ward_ble_addr_t key_bond; /* ...this identity: forgetting it withdraws BONDED */
    uint8_t notify_pending;
    ward_smp_t smp;
} ward_ble_plug_conn_t;

typedef struct ward_ble_plug {
    ward_ble_plug_config_t cfg;
    ward_ble_link_t link;
    ward_gatt_plug_t gatt;
    ward_att_server_t server;
    ward_ble_window_t window;
    ward_ble_plug_conn_t conn[WARD_CONFIG_BLE_MAX_CONN];
    /* private */
    bool ready, addr_set, window_open;
    bool relay, wifi;
    uint16_t reset_conn; /* factory reset done over this connection: drop it */
    bool reset_pending;
    ward_ble_addr_t bonds[WARD_CONFIG_BLE_PLUG_MAX_BONDS];
    uint8_t nbonds, bond_next;
    uint8_t adv_cur, adv_cmds;
    bool adv_disabling; /* the oldest advertising command in flight is a disable */
    bool adv_failed;
    ward_ble_addr_t adv_peer;
    uint64_t adv_retry_ms, adv_rotate_ms;
} ward_ble_plug_t;

/*
 * Set up and start the controller (Reset ...). The object must not move
 * afterwards (the engines keep pointers into it). Reads the bonds and the
 * Wi-Fi flag from the vault. WARD_OK; WARD_ERR_INVALID_ARG (a missing
 * port, an identity that is not public or random static, io_cap > 4, a
 * name too long); the window's, the vault's and the link's errors.
 */
ward_err_t ward_ble_plug_init(ward_ble_plug_t *p, const ward_ble_plug_config_t *cfg);

/*
 * One round: send and receive (waiting at most timeout_ms), then the
 * timers (SMP timeouts, the window), advertising, notifications. WARD_OK;
 * the transport's WARD_ERR_IO; WARD_ERR_BLE_H4; WARD_ERR_BLE_HCI when the
 * controller refused to start.
 */
ward_err_t ward_ble_plug_poll(ward_ble_plug_t *p, uint32_t timeout_ms);

/* The button: open the pairing window (again from now if open). */
ward_err_t ward_ble_plug_button(ward_ble_plug_t *p);

/* Close the window now (a long press, the app). */
void ward_ble_plug_close_window(ward_ble_plug_t *p);

/* The local user's answers (devices with a display or keys). As
 * ward_smp_numeric_reply / ward_smp_passkey_reply; WARD_ERR_BLE_NO_CONN. */
ward_err_t ward_ble_plug_numeric_reply(ward_ble_plug_t *p, uint16_t conn, bool match);
ward_err_t ward_ble_plug_passkey_reply(ward_ble_plug_t *p, uint16_t conn, bool ok,
                                       uint32_t passkey);

/* Remove one bond (the peer must pair again): from the vault and from the
 * advertising list; a link up with that bond's key loses WARD_BLE_KEY_BONDED
 * at once (ward_hci_conn_clear_bonded), so control is refused on it (0x05).
 * As ward_ble_bond_remove. */
ward_err_t ward_ble_plug_forget(ward_ble_plug_t *p, const ward_ble_addr_t *id);

/* The relay's state; the pairing window's state. */
bool ward_ble_plug_relay(const ward_ble_plug_t *p);
void ward_ble_plug_window(ward_ble_plug_t *p, ward_ble_window_state_t *st);

/* Connections up. */
unsigned ward_ble_plug_connections(const ward_ble_plug_t *p);

/* Wipe what the engines hold (keys of pairings in progress). */
void ward_ble_plug_release(ward_ble_plug_t *p);

#ifdef __cplusplus
}
#endif

#endif /* WARD_BLE_PLUG_H */
