/*
 * ward BLE: the Security Manager Protocol engine, LE Secure Connections
 * only, in both roles: responder (the device) and initiator (the phone).
 *
 * Bytes in, bytes out: the link layer hands every SMP PDU (the payload of
 * L2CAP CID 0x0006) to ward_smp_input() with the current time, then drains
 * the PDUs to send (ward_smp_next_pdu) and the events for the application
 * (ward_smp_next_event). No I/O, no allocation, no global state beyond PSA
 * Crypto's key store; one ward_smp_t per connection, owned by the caller.
 *
 *   ward_smp_t smp;
 *   ward_smp_init(&smp, &cfg, &link, now);         // on connection
 *   ... on an SMP PDU from L2CAP:
 *   ward_smp_input(&smp, pdu, len, now);
 *   while (ward_smp_next_pdu(&smp, out, sizeof out, &n) == WARD_OK) l2cap_send(6, out, n);
 *   while (ward_smp_next_event(&smp, &ev)) handle(&ev);  // show a number, store the bond...
 *   ward_smp_tick(&smp, now);                      // now and then: the 30 s timeout
 *   ward_smp_release(&smp);                        // on disconnection
 *
 * What it enforces (docs/ble.md has the why and the CVEs):
 *  - LE Secure Connections only: a Pairing Request/Response without the SC
 *    bit is refused with 0x03; a maximum key size below 16 with 0x06 (above
 *    16: 0x0A). No legacy pairing, no CTKD: LinkKey is never distributed
 *    and CT2 never set; EncKey and SignKey are masked out (SC has no use
 *    for them), so only IdKey (IRK + identity address) is exchanged.
 *  - Every PDU: unknown opcode 0x07; wrong length 0x0A; a command this
 *    role never receives 0x07; anything else unexpected in the current
 *    state 0x08 (Zephyr's rules). A received Pairing Failed is never
 *    answered.
 *  - Method from the spec's IO-capability table (Vol 3 Part H 2.3.5.1):
 *    OOB if either side has the other's OOB data, else Just Works if
 *    neither asks for MITM, else JW / Numeric Comparison / Passkey Entry.
 *  - The peer's public key: refused if it is ours reflected (same X,
 *    0x0B), the debug key (0x03), or not a valid P-256 point (0x0B).
 *  - Confirm values checked (0x04) in every one of Passkey Entry's 20
 *    rounds, the OOB commitment (0x04), the DHKey check (0x0B); a fresh
 *    random passkey per attempt, wiped with every other secret when the
 *    attempt ends; an all-zero LTK refused (0x08).
 *  - The 30 s SMP timeout (Vol 3 Part H 3.4): once it fires, no SMP PDU is
 *    sent or accepted on this link again (ward_smp_input returns
 *    WARD_ERR_SMP_TIMEOUT); pairing again needs a new connection.
 *  - Responder with a pairing window: a Pairing Request while the window
 *    is closed gets 0x05, during the back-off 0x09; failures are counted
 *    in the window, success (with bonding) closes it.
 *  - Keys are handed out only after the link is encrypted with the new LTK
 *    at key size 16 (ward_smp_encryption_changed); a failed encryption
 *    fails the pairing, nothing falls back to plaintext.
 */
#ifndef WARD_SMP_H
#define WARD_SMP_H

#include "ward/ble_addr.h"
#include "ward/ble_crypto.h"
#include "ward/ble_window.h"
#include "ward/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- protocol constants (Vol 3 Part H 3.3-3.6) ---------------------------- */

#define WARD_SMP_PAIRING_REQUEST 0x01u
#define WARD_SMP_PAIRING_RESPONSE 0x02u
#define WARD_SMP_PAIRING_CONFIRM 0x03u
#define WARD_SMP_PAIRING_RANDOM 0x04u
#define WARD_SMP_PAIRING_FAILED 0x05u
#define WARD_SMP_ENCRYPTION_INFO 0x06u
#define WARD_SMP_CENTRAL_IDENT 0x07u
#define WARD_SMP_IDENTITY_INFO 0x08u
#define WARD_SMP_IDENTITY_ADDR_INFO 0x09u
#define WARD_SMP_SIGNING_INFO 0x0Au
#define WARD_SMP_SECURITY_REQUEST 0x0Bu
#define WARD_SMP_PAIRING_PUBLIC_KEY 0x0Cu
#define WARD_SMP_PAIRING_DHKEY_CHECK 0x0Du
#define WARD_SMP_KEYPRESS 0x0Eu

/* Pairing Failed reasons. */
#define WARD_SMP_ERR_PASSKEY_ENTRY 0x01u
#define WARD_SMP_ERR_OOB_NOT_AVAILABLE 0x02u
#define WARD_SMP_ERR_AUTH_REQUIREMENTS 0x03u
#define WARD_SMP_ERR_CONFIRM_VALUE 0x04u
#define WARD_SMP_ERR_PAIRING_NOT_SUPPORTED 0x05u
#define WARD_SMP_ERR_ENC_KEY_SIZE 0x06u
#define WARD_SMP_ERR_COMMAND_NOT_SUPPORTED 0x07u
#define WARD_SMP_ERR_UNSPECIFIED 0x08u
#define WARD_SMP_ERR_REPEATED_ATTEMPTS 0x09u
#define WARD_SMP_ERR_INVALID_PARAMS 0x0Au
#define WARD_SMP_ERR_DHKEY_CHECK 0x0Bu
#define WARD_SMP_ERR_NUMERIC_COMPARISON 0x0Cu

/* AuthReq bits; key distribution bits. */
#define WARD_SMP_AUTH_BONDING 0x01u
#define WARD_SMP_AUTH_MITM 0x04u
#define WARD_SMP_AUTH_SC 0x08u
#define WARD_SMP_AUTH_KEYPRESS 0x10u
#define WARD_SMP_AUTH_CT2 0x20u
#define WARD_SMP_DIST_ENC 0x01u
#define WARD_SMP_DIST_ID 0x02u
#define WARD_SMP_DIST_SIGN 0x04u
#define WARD_SMP_DIST_LINK 0x08u

/* IO capabilities. */
#define WARD_SMP_IO_DISPLAY_ONLY 0u
#define WARD_SMP_IO_DISPLAY_YESNO 1u
#define WARD_SMP_IO_KEYBOARD_ONLY 2u
#define WARD_SMP_IO_NONE 3u
#define WARD_SMP_IO_KEYBOARD_DISPLAY 4u

#define WARD_SMP_PDU_MAX 65u         /* Pairing Public Key */
#define WARD_SMP_TIMEOUT_MS 30000u   /* Vol 3 Part H 3.4 */
#define WARD_SMP_PASSKEY_MAX 999999u
#define WARD_SMP_OUT_QUEUE 4u
#define WARD_SMP_EVENT_QUEUE 4u

typedef enum ward_smp_role {
    WARD_SMP_INITIATOR = 0, /* central: the phone */
    WARD_SMP_RESPONDER = 1  /* peripheral: the device */
} ward_smp_role_t;

typedef enum ward_smp_method {
    WARD_SMP_METHOD_NONE = 0,
    WARD_SMP_METHOD_JUST_WORKS = 1, /* unauthenticated keys */
    WARD_SMP_METHOD_NUMERIC = 2,    /* Numeric Comparison */
    WARD_SMP_METHOD_PASSKEY = 3,    /* Passkey Entry (who displays: the events say) */
    WARD_SMP_METHOD_OOB = 4         /* LE SC Out of Band */
} ward_smp_method_t;

/* OOB data of the *peer*, as carried by a label, NFC or the LE SC OOB AD
 * types: its random r and its commitment C = f4(PKx, PKx, r, 0), LSB first. */
typedef struct ward_smp_oob {
    uint8_t r[16];
    uint8_t c[16];
} ward_smp_oob_t;

typedef struct ward_smp_config {
    ward_smp_role_t role;
    uint8_t io_cap;    /* WARD_SMP_IO_* */
    bool bonding;      /* ask to bond (AuthReq Bonding) */
    bool mitm;         /* ask for MITM protection (AuthReq MITM) */
    bool require_mitm; /* refuse a pairing that would be Just Works (0x03) */
    const ward_rng_t *rng; /* nonces, key pairs, passkeys */
    /* Local OOB data in an HSM (the factory's pairing key and r; the label
     * carries r and C): used when the peer says it has our OOB data. NULL,
     * or an HSM without pair_* members: no local OOB data. */
    const ward_hsm_t *oob_hsm;
    /* OOB data received from the peer (the phone read the label), or NULL. */
    const ward_smp_oob_t *peer_oob;
    /* Our identity to distribute (IdKey): IRK (16 B, LSB first) and
     * identity address; both NULL: none distributed. */
    const uint8_t *local_irk;
    const ward_ble_addr_t *local_identity;
    /* Responder: the device's pairing window (NULL: always pairable, no
     * back-off; for tests and for initiators). */
    ward_ble_window_t *window;
} ward_smp_config_t;

/* The connection, as the link layer knows it. */
typedef struct ward_smp_link {
    ward_ble_addr_t local; /* our address on this connection (A or B in f5/f6) */
    ward_ble_addr_t peer;  /* the peer's (may be a resolvable private address) */
    /* The peer already has an authenticated bond here (the link layer
     * looked it up with ward_ble_bond_find): a pairing that would give
     * unauthenticated keys is refused (0x03) instead of replacing it. */
    bool peer_bond_authenticated;
} ward_smp_link_t;

typedef enum ward_smp_event_type {
    WARD_SMP_EV_NONE = 0,
    /* Initiator: the peer sent a Security Request (auth_req). Encrypt with
     * the bond's LTK if there is one, or call ward_smp_start(). */
    WARD_SMP_EV_SECURITY_REQUEST = 1,
    /* Show value (6 digits) and call ward_smp_numeric_reply(). */
    WARD_SMP_EV_NUMERIC_COMPARE = 2,
    /* Show value (the passkey, 6 digits) to the user. */
    WARD_SMP_EV_PASSKEY_DISPLAY = 3,
    /* Ask the user for the passkey, then ward_smp_passkey_reply(). */
    WARD_SMP_EV_PASSKEY_REQUEST = 4,
    /* Initiator: start encryption (HCI LE Start Encryption) with keys.ltk,
     * EDIV 0, Rand 0; then report the outcome with ward_smp_encryption_changed(). */
    WARD_SMP_EV_START_ENCRYPTION = 5,
    /* Pairing complete: keys and flags; store a bond if keys.bonded. */
    WARD_SMP_EV_PAIRED = 6,
    /* Pairing refused or failed: reason (SMP code, 0 for the timeout),
     * remote (the peer sent Pairing Failed), timeout. */
    WARD_SMP_EV_FAILED = 7
} ward_smp_event_type_t;

typedef struct ward_smp_keys {
    uint8_t ltk[16];             /* LSB first, as HCI takes it */
    ward_ble_addr_t peer_id;     /* identity address if distributed, else the connection's */
    uint8_t peer_irk[16];        /* LSB first */
    bool has_peer_irk;           /* false also for an all-zero IRK */
    bool authenticated;          /* MITM-protected: NC, Passkey Entry, OOB */
    bool sc;                     /* LE Secure Connections (always) */
    bool bonded;                 /* both sides asked to bond */
    uint8_t key_size;            /* 16 */
    uint8_t method;              /* ward_smp_method_t */
} ward_smp_keys_t;

typedef struct ward_smp_event {
    ward_smp_event_type_t type;
    uint32_t value;   /* NUMERIC_COMPARE, PASSKEY_DISPLAY */
    uint8_t reason;   /* FAILED */
    bool remote;      /* FAILED */
    bool timeout;     /* FAILED */
    uint8_t auth_req; /* SECURITY_REQUEST */
    ward_smp_keys_t keys; /* PAIRED; START_ENCRYPTION (ltk only). Wipe after use. */
} ward_smp_event_t;

/* Internal: one queued PDU. */
typedef struct ward_smp_pdu_ {
    uint8_t len;
    uint8_t b[WARD_SMP_PDU_MAX];
} ward_smp_pdu_t;

/* The per-connection context. Its fields are private. */
typedef struct ward_smp {
    ward_smp_config_t cfg;
    ward_smp_link_t link;
    uint8_t state;
    uint8_t method;
    uint8_t pk_mode; /* who displays / enters the passkey */
    uint8_t round;   /* Passkey Entry round 0..19 */
    uint8_t flags;
    uint8_t dist_send, dist_recv; /* key distribution still to send / receive */
    uint8_t preq[7], prsp[7];
    ward_ble_p256_t key; /* ephemeral pair (key.key_id 0 when the HSM's is used) */
    bool key_hsm;
    uint8_t peer_pub[WARD_BLE_PUB_LEN];
    uint8_t dhkey[WARD_BLE_DHKEY_LEN];
    uint8_t na[16], nb[16];     /* initiator's and responder's nonce (this round) */
    uint8_t peer_confirm[16];   /* the peer's confirm of this round */
    uint8_t peer_check[16];     /* a DHKey check that arrived before the user answered */
    uint8_t ra[16], rb[16];     /* f6's r values (passkey, OOB r or 0) */
    uint8_t mackey[16], ltk[16];
    uint32_t passkey;
    uint32_t check_ok;    /* ward_fih_t: the DHKey check passed */
    uint64_t now_ms;      /* time of the call being handled */
    uint64_t deadline_ms; /* the SMP timer */
    ward_smp_keys_t keys; /* being collected in key distribution */
    ward_smp_pdu_t out[WARD_SMP_OUT_QUEUE];
    uint8_t out_head, out_count;
    ward_smp_event_t ev[WARD_SMP_EVENT_QUEUE];
    uint8_t ev_head, ev_count;
} ward_smp_t;

/* ---- API -------------------------------------------------------------------- */

/*
 * Set up the engine for a new connection (idle: nothing sent).
 * cfg and link are copied; the pointers inside cfg (rng, oob_hsm,
 * peer_oob, local_irk, local_identity, window) must outlive s.
 * Returns WARD_OK or WARD_ERR_INVALID_ARG (no rng, io_cap > 4, only one of
 * local_irk / local_identity, an identity that is not one).
 */
ward_err_t ward_smp_init(ward_smp_t *s, const ward_smp_config_t *cfg, const ward_smp_link_t *link,
                         uint64_t now_ms);

/*
 * Start security. Initiator: send a Pairing Request. Responder: send a
 * Security Request (asks the central to pair, or to encrypt with the bond
 * it has: the window is not consulted here but on the Pairing Request).
 * WARD_OK; WARD_ERR_STATE (a pairing is in progress or done on this link);
 * WARD_ERR_SMP_TIMEOUT (this link timed out); WARD_ERR_NO_SPACE (queue
 * not drained); an rng or crypto error.
 */
ward_err_t ward_smp_start(ward_smp_t *s, uint64_t now_ms);

/*
 * One SMP PDU from the peer (opcode and payload, len >= 1; an empty PDU is
 * dropped). Returns WARD_OK (accepted; drain PDUs and events);
 * WARD_ERR_SMP_FAILED (the PDU was refused or ended the pairing: a
 * FAILED event says why, and a Pairing Failed is queued unless the peer
 * sent one); WARD_ERR_SMP_TIMEOUT (timed out: dropped, nothing sent);
 * WARD_ERR_NO_SPACE (the output queue was not drained: pairing failed);
 * WARD_ERR_INVALID_ARG.
 */
ward_err_t ward_smp_input(ward_smp_t *s, const uint8_t *pdu, size_t len, uint64_t now_ms);

/* Check the 30 s timeout. WARD_OK, or WARD_ERR_SMP_TIMEOUT once it fired
 * (a FAILED event with timeout set is queued the first time). */
ward_err_t ward_smp_tick(ward_smp_t *s, uint64_t now_ms);

/* The user's answer to NUMERIC_COMPARE (match: the numbers are equal).
 * A "no" fails with 0x0C. WARD_OK, WARD_ERR_STATE (not asked),
 * WARD_ERR_SMP_FAILED, WARD_ERR_SMP_TIMEOUT. */
ward_err_t ward_smp_numeric_reply(ward_smp_t *s, bool match, uint64_t now_ms);

/* The user's answer to PASSKEY_REQUEST: ok false (cancelled) fails with
 * 0x01. WARD_ERR_INVALID_ARG for passkey > 999999; else as above. */
ward_err_t ward_smp_passkey_reply(ward_smp_t *s, bool ok, uint32_t passkey, uint64_t now_ms);

/*
 * Responder: the controller's LE Long Term Key Request during this
 * pairing. WARD_OK with the new LTK (EDIV and Rand must be 0, as in SC)
 * once the DHKey checks passed; WARD_ERR_NOT_FOUND otherwise (the link
 * layer then asks the bonds, ward_ble_bond_ltk_request, or replies
 * negatively).
 */
ward_err_t ward_smp_ltk_request(ward_smp_t *s, uint16_t ediv, const uint8_t rand[8],
                                uint8_t ltk[16]);

/*
 * The controller's Encryption Change (and Read Encryption Key Size): ok
 * true when encryption is on. While a pairing waits for it: encryption
 * with key_size 16 starts the key distribution (and may complete the
 * pairing); anything else fails it (0x08 or 0x06). Outside a pairing it
 * changes nothing (WARD_OK).
 */
ward_err_t ward_smp_encryption_changed(ward_smp_t *s, bool ok, uint8_t key_size, uint64_t now_ms);

/* Give up (the application, a disconnection): a pairing in progress fails
 * with reason (Pairing Failed sent). WARD_OK; WARD_ERR_STATE (none);
 * WARD_ERR_INVALID_ARG (reason not 0x01..0x0C). */
ward_err_t ward_smp_abort(ward_smp_t *s, uint8_t reason, uint64_t now_ms);

/* Next PDU to send on CID 6. WARD_OK; WARD_ERR_NOT_FOUND (none);
 * WARD_ERR_BUF_TOO_SMALL (cap < its length; it stays queued, *len = length). */
ward_err_t ward_smp_next_pdu(ward_smp_t *s, uint8_t *out, size_t cap, size_t *len);

/* Next event, or false. The queued copy is wiped. */
bool ward_smp_next_event(ward_smp_t *s, ward_smp_event_t *ev);

/* Pairing in progress (not idle, failed, done or timed out)? */
bool ward_smp_busy(const ward_smp_t *s);

/* The method chosen for the pairing in progress or just done. */
ward_smp_method_t ward_smp_method(const ward_smp_t *s);

/* Wipe every secret and destroy the key pair. The context can be
 * initialised again. */
void ward_smp_release(ward_smp_t *s);

#ifdef __cplusplus
}
#endif

#endif /* WARD_SMP_H */
