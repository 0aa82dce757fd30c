/* ward ble_plug: a smart plug's BLE side, the link and the security core
 * wired together (ward/ble_plug.h; the table in docs/ble.md "Wiring"). */
#include <string.h>

#include "ward/ble_plug.h"
#include "ward/util.h"

#define OP_SET_RANDOM_ADDR 0x2005u
#define OP_ADV_PARAMS 0x2006u
#define OP_ADV_DATA 0x2008u
#define OP_SCAN_RSP 0x2009u
#define OP_ADV_ENABLE 0x200Au

#define ADV_INTERVAL 0x00A0u /* 100 ms */
#define ADV_RETRY_MS 500u

/* The plug service UUID (6a0e0001-9b5c-4d1f-8f3a-77617264706c), LSB first,
 * as advertised in the scan response. */
static const uint8_t k_service_uuid[16] = {0x6c, 0x70, 0x64, 0x72, 0x61, 0x77, 0x3a, 0x8f,
                                           0x1f, 0x4d, 0x5c, 0x9b, 0x01, 0x00, 0x0e, 0x6a};

static uint64_t now(const ward_ble_plug_t *p)
{
    return p->cfg.clock->now_ms(p->cfg.clock->ctx);
}

static void emit(const ward_ble_plug_t *p, const ward_ble_plug_event_t *ev)
{
    if (p->cfg.event != NULL) {
        p->cfg.event(p->cfg.ctx, ev);
    }
}

static void ev_init(ward_ble_plug_event_t *ev, ward_ble_plug_event_type_t type, uint16_t conn)
{
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    ev->conn = conn;
}

static bool addr_eq(const ward_ble_addr_t *a, const ward_ble_addr_t *b)
{
    return a->type == b->type && memcmp(a->a, b->a, 6) == 0;
}

static ward_ble_plug_conn_t *conn_find(ward_ble_plug_t *p, uint16_t handle)
{
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        if (p->conn[i].used && p->conn[i].handle == handle) {
            return &p->conn[i];
        }
    }
    return NULL;
}

unsigned ward_ble_plug_connections(const ward_ble_plug_t *p)
{
    unsigned n = 0;
    for (size_t i = 0; p != NULL && i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        n += p->conn[i].used ? 1u : 0u;
    }
    return n;
}

/* ---- what the vault holds ------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* "ble.bond.TTAAAAAAAAAAAA" (ward_ble_bond_name) back to an address. */
static bool bond_name_addr(const char *name, ward_ble_addr_t *a)
{
    const size_t plen = sizeof WARD_BLE_BOND_PREFIX - 1u;
    if (strlen(name) != WARD_BLE_BOND_NAME_LEN || memcmp(name, WARD_BLE_BOND_PREFIX, plen) != 0) {
        return false;
    }
    uint8_t b[7];
    for (size_t i = 0; i < 7; i++) {
        const int h = hexval(name[plen + 2 * i]);
        const int l = hexval(name[plen + 2 * i + 1]);
        if (h < 0 || l < 0) {
            return false;
        }
        b[i] = (uint8_t)(h << 4 | l);
    }
    a->type = b[0];
    for (size_t i = 0; i < 6; i++) {
        a->a[i] = b[6 - i]; /* printed most significant octet first */
    }
    return a->type <= WARD_BLE_ADDR_RANDOM;
}

/* The bonded identities (for directed advertising) and the Wi-Fi flag,
 * from the record names alone: nothing is decrypted. */
static ward_err_t scan_vault(ward_ble_plug_t *p)
{
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char name[WARD_CONFIG_VAULT_NAME_MAX + 1];
    size_t vlen = 0;
    p->nbonds = 0;
    p->wifi = false;
    bool ssid = false, psk = false;
    for (;;) {
        ward_err_t err = ward_vault_next(p->cfg.vault, &it, name, &vlen);
        if (err == WARD_ERR_NOT_FOUND) {
            break;
        }
        if (err == WARD_ERR_AUTH) {
            continue; /* a damaged record: not a bond, not Wi-Fi */
        }
        if (err != WARD_OK) {
            return err;
        }
        ward_ble_addr_t a;
        if (bond_name_addr(name, &a)) {
            if (p->nbonds < WARD_CONFIG_BLE_PLUG_MAX_BONDS) {
                p->bonds[p->nbonds++] = a;
            }
        } else if (strcmp(name, WARD_BLE_PLUG_REC_SSID) == 0) {
            ssid = true;
        } else if (strcmp(name, WARD_BLE_PLUG_REC_PSK) == 0) {
            psk = true;
        }
    }
    p->wifi = ssid && psk; /* a cut between the two puts leaves the SSID alone */
    if (p->bond_next >= p->nbonds) {
        p->bond_next = 0;
    }
    return WARD_OK;
}

/* ---- SMP ------------------------------------------------------------------- */

static void disconnect(ward_ble_plug_t *p, const ward_ble_plug_conn_t *c, uint8_t reason)
{
    (void)ward_hci_disconnect(&p->link.hci, c->handle, reason);
}

static void on_paired(ward_ble_plug_t *p, ward_ble_plug_conn_t *c, const ward_smp_keys_t *k)
{
    ward_ble_plug_event_t ev;
    ev_init(&ev, WARD_BLE_PLUG_EV_PAIRED, c->handle);
    ev.addr = k->peer_id;
    ev.method = k->method;
    ev.authenticated = k->authenticated;
    ev.bonded = k->bonded;
    ev.err = WARD_ERR_NOT_FOUND; /* no bond asked for: nothing stored */
    if (k->bonded) {
        ward_ble_bond_t b;
        ward_ble_bond_from_keys(&b, k);
        ev.err = ward_ble_bond_store(p->cfg.vault, &b);
        ward_wipe(&b, sizeof b);
        if (ev.err == WARD_OK) {
            /* This link's key is that bond's from now on (the controller
             * encrypted with it before the keys were distributed). */
            (void)ward_hci_conn_mark_bonded(&p->link.hci, c->handle);
            c->bonded = true;
            c->bond_auth = k->authenticated;
            c->key_bonded = true;
            c->key_bond = k->peer_id;
            (void)scan_vault(p);
        }
    }
    emit(p, &ev);
}

/* Send what the engine queued, hand its events on. */
static void smp_drain(ward_ble_plug_t *p, ward_ble_plug_conn_t *c)
{
    uint8_t out[WARD_SMP_PDU_MAX];
    size_t n = 0;
    while (ward_smp_next_pdu(&c->smp, out, sizeof out, &n) == WARD_OK) {
        if (ward_ble_link_smp_send(&p->link, c->handle, out, n) != WARD_OK) {
            /* The ACL queue is full or the link is gone: this pairing
             * cannot go on (its timer would end it anyway). */
            (void)ward_smp_abort(&c->smp, WARD_SMP_ERR_UNSPECIFIED, now(p));
        }
    }
    ward_wipe(out, sizeof out);
    ward_smp_event_t sev;
    while (ward_smp_next_event(&c->smp, &sev)) {
        ward_ble_plug_event_t ev;
        switch (sev.type) {
        case WARD_SMP_EV_PASSKEY_DISPLAY:
        case WARD_SMP_EV_NUMERIC_COMPARE:
        case WARD_SMP_EV_PASSKEY_REQUEST:
            ev_init(&ev,
                    sev.type == WARD_SMP_EV_PASSKEY_DISPLAY   ? WARD_BLE_PLUG_EV_PASSKEY_DISPLAY
                    : sev.type == WARD_SMP_EV_NUMERIC_COMPARE ? WARD_BLE_PLUG_EV_NUMERIC_COMPARE
                                                              : WARD_BLE_PLUG_EV_PASSKEY_REQUEST,
                    c->handle);
            ev.value = sev.value;
            emit(p, &ev);
            break;
        case WARD_SMP_EV_PAIRED:
            on_paired(p, c, &sev.keys);
            break;
        case WARD_SMP_EV_FAILED:
            ev_init(&ev, WARD_BLE_PLUG_EV_PAIRING_FAILED, c->handle);
            ev.reason = sev.reason;
            ev.remote = sev.remote;
            ev.timeout = sev.timeout;
            emit(p, &ev);
            if (sev.timeout) {
                /* No more SMP on this link (3.4): free the device. */
                disconnect(p, c, WARD_HCI_ERR_AUTH_FAILURE);
            }
            break;
        default:
            break; /* initiator events: never for a responder */
        }
        ward_wipe(&sev, sizeof sev);
    }
}

static void on_smp(void *ctx, uint16_t handle, const uint8_t *pdu, size_t len)
{
    ward_ble_plug_t *p = ctx;
    ward_ble_plug_conn_t *c = conn_find(p, handle);
    if (c == NULL) {
        return;
    }
    const ward_err_t err = ward_smp_input(&c->smp, pdu, len, now(p));
    if (err == WARD_OK && len >= 1 && pdu[0] == WARD_SMP_PAIRING_REQUEST) {
        ward_ble_plug_event_t ev;
        ev_init(&ev, WARD_BLE_PLUG_EV_PAIRING, handle);
        ev.addr = c->peer;
        ev.method = (uint8_t)ward_smp_method(&c->smp);
        emit(p, &ev);
    }
    smp_drain(p, c);
}

/* The controller asks for the LTK: a pairing in progress first, then a
 * bond (EDIV 0 and Rand 0 only), else a Negative Reply. */
static ward_err_t on_ltk(void *ctx, uint16_t handle, const ward_ble_addr_t *peer, uint16_t ediv,
                         const uint8_t rand[8], uint8_t ltk[16], uint8_t *key_flags)
{
    ward_ble_plug_t *p = ctx;
    ward_ble_plug_conn_t *c = conn_find(p, handle);
    if (c == NULL) {
        return WARD_ERR_NOT_FOUND;
    }
    c->key_bonded = false;
    if (ward_smp_ltk_request(&c->smp, ediv, rand, ltk) == WARD_OK) {
        const ward_smp_method_t m = ward_smp_method(&c->smp);
        *key_flags = (uint8_t)(WARD_BLE_KEY_SC |
                               (m != WARD_SMP_METHOD_JUST_WORKS && m != WARD_SMP_METHOD_NONE
                                    ? WARD_BLE_KEY_AUTHENTICATED
                                    : 0u));
        return WARD_OK;
    }
    ward_ble_bond_t b;
    ward_err_t err = ward_ble_bond_ltk_request(p->cfg.vault, peer, ediv, rand, ltk, &b);
    if (err == WARD_OK) {
        *key_flags = (uint8_t)(WARD_BLE_KEY_BONDED | (b.sc ? WARD_BLE_KEY_SC : 0u) |
                               (b.authenticated ? WARD_BLE_KEY_AUTHENTICATED : 0u));
        c->key_bonded = true;
        c->key_bond = b.id;
    }
    ward_wipe(&b, sizeof b);
    return err == WARD_OK ? WARD_OK : WARD_ERR_NOT_FOUND;
}

static bool on_bond_exists(void *ctx, const ward_ble_addr_t *peer)
{
    ward_ble_plug_t *p = ctx;
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        if (p->conn[i].used && addr_eq(&p->conn[i].peer, peer)) {
            return p->conn[i].bonded;
        }
    }
    ward_ble_bond_t b;
    const bool found = ward_ble_bond_find(p->cfg.vault, peer, &b) == WARD_OK;
    ward_wipe(&b, sizeof b);
    return found;
}

/* ---- HCI events ------------------------------------------------------------- */

static void on_connected(ward_ble_plug_t *p, const ward_hci_event_t *e)
{
    /* The controller stops advertising when a connection is made. */
    if (p->adv_cmds == 0u) {
        p->adv_cur = WARD_BLE_PLUG_ADV_OFF;
    } else {
        p->adv_failed = true; /* commands in flight: settle, then look again */
    }
    if (e->role != WARD_HCI_ROLE_PERIPHERAL) {
        (void)ward_hci_disconnect(&p->link.hci, e->handle, WARD_HCI_ERR_REMOTE_USER_TERM);
        return;
    }
    ward_ble_plug_conn_t *c = NULL;
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN && c == NULL; i++) {
        if (!p->conn[i].used) {
            c = &p->conn[i];
        }
    }
    if (c == NULL) {
        (void)ward_hci_disconnect(&p->link.hci, e->handle, WARD_HCI_ERR_REMOTE_LOW_RESOURCES);
        return;
    }
    memset(c, 0, sizeof *c);
    c->used = true;
    c->handle = e->handle;
    c->peer = e->addr;
    ward_ble_bond_t b;
    if (ward_ble_bond_find(p->cfg.vault, &e->addr, &b) == WARD_OK) {
        c->bonded = true;
        c->bond_auth = b.authenticated;
    }
    ward_wipe(&b, sizeof b);
    const ward_smp_config_t sc = {
        .role = WARD_SMP_RESPONDER,
        .io_cap = p->cfg.io_cap,
        .bonding = true,
        .mitm = p->cfg.io_cap != WARD_SMP_IO_NONE,
        .require_mitm = p->cfg.require_mitm,
        .rng = p->cfg.rng,
        .oob_hsm = p->cfg.hsm,
        .window = &p->window,
    };
    const ward_smp_link_t sl = {
        .local = p->cfg.identity, .peer = e->addr, .peer_bond_authenticated = c->bond_auth};
    if (ward_smp_init(&c->smp, &sc, &sl, now(p)) != WARD_OK) {
        c->used = false;
        (void)ward_hci_disconnect(&p->link.hci, e->handle, WARD_HCI_ERR_REMOTE_LOW_RESOURCES);
        return;
    }
    ward_ble_plug_event_t ev;
    ev_init(&ev, WARD_BLE_PLUG_EV_CONNECTED, e->handle);
    ev.addr = e->addr;
    ev.bonded = c->bonded;
    emit(p, &ev);
}

static void on_disconnected(ward_ble_plug_t *p, const ward_hci_event_t *e)
{
    ward_ble_plug_conn_t *c = conn_find(p, e->handle);
    if (c == NULL) {
        return;
    }
    if (ward_smp_busy(&c->smp)) {
        /* A pairing cut short counts as a failed one (the window's count
         * and back-off): dropping the link is no way around them. */
        (void)ward_smp_abort(&c->smp, WARD_SMP_ERR_UNSPECIFIED, now(p));
        uint8_t out[WARD_SMP_PDU_MAX];
        size_t n = 0;
        while (ward_smp_next_pdu(&c->smp, out, sizeof out, &n) == WARD_OK) {
        }
        smp_drain(p, c);
    }
    ward_smp_release(&c->smp);
    memset(c, 0, sizeof *c);
    if (p->reset_pending && p->reset_conn == e->handle) {
        p->reset_pending = false;
    }
    ward_ble_plug_event_t ev;
    ev_init(&ev, WARD_BLE_PLUG_EV_DISCONNECTED, e->handle);
    ev.reason = e->reason;
    emit(p, &ev);
}

static void on_encryption(ward_ble_plug_t *p, const ward_hci_event_t *e)
{
    ward_ble_plug_conn_t *c = conn_find(p, e->handle);
    if (c == NULL) {
        return;
    }
    (void)ward_smp_encryption_changed(&c->smp, e->status == WARD_HCI_SUCCESS, e->key_size,
                                      now(p));
    smp_drain(p, c);
    ward_ble_plug_event_t ev;
    ev_init(&ev, WARD_BLE_PLUG_EV_ENCRYPTION, e->handle);
    ev.status = e->status;
    ev.key_size = e->key_size;
    ward_ble_sec_t sec;
    if (ward_ble_link_security(&p->link, e->handle, &sec) == WARD_OK) {
        ev.key_flags = sec.key_flags;
    }
    emit(p, &ev);
}

static void on_cmd_done(ward_ble_plug_t *p, const ward_hci_event_t *e)
{
    switch (e->opcode) {
    case OP_SET_RANDOM_ADDR:
        if (e->status == WARD_HCI_SUCCESS) {
            p->addr_set = true;
            ward_ble_plug_event_t ev;
            ev_init(&ev, WARD_BLE_PLUG_EV_READY, 0);
            ev.addr = p->cfg.identity;
            emit(p, &ev);
        }
        break;
    case OP_ADV_PARAMS:
    case OP_ADV_DATA:
    case OP_SCAN_RSP:
    case OP_ADV_ENABLE:
        if (p->adv_cmds > 0u) {
            p->adv_cmds--;
        }
        /* Commands complete in order. A disable refused because
         * advertising had already stopped (a connection) is fine; any other
         * refusal makes the controller's state unsure. */
        if (e->opcode == OP_ADV_ENABLE && p->adv_disabling) {
            p->adv_disabling = false;
            if (e->status == 0x0Cu) {
                break;
            }
        }
        if (e->status != WARD_HCI_SUCCESS) {
            p->adv_failed = true;
        }
        break;
    default:
        break;
    }
}

static void on_event(void *ctx, const ward_hci_event_t *e)
{
    ward_ble_plug_t *p = ctx;
    switch (e->type) {
    case WARD_HCI_EVT_READY:
        p->ready = true;
        if (p->cfg.identity.type == WARD_BLE_ADDR_RANDOM) {
            if (ward_hci_use_random_address(&p->link.hci, p->cfg.identity.a) != WARD_OK) {
                p->ready = false;
            }
        } else {
            p->cfg.identity = e->addr; /* the controller's public address */
            p->addr_set = true;
            ward_ble_plug_event_t ev;
            ev_init(&ev, WARD_BLE_PLUG_EV_READY, 0);
            ev.addr = p->cfg.identity;
            emit(p, &ev);
        }
        break;
    case WARD_HCI_EVT_CMD_DONE:
        on_cmd_done(p, e);
        break;
    case WARD_HCI_EVT_CONNECTED:
        if (e->status == WARD_HCI_SUCCESS) {
            on_connected(p, e);
        }
        break;
    case WARD_HCI_EVT_DISCONNECTED:
        on_disconnected(p, e);
        break;
    case WARD_HCI_EVT_ENCRYPTION:
        on_encryption(p, e);
        break;
    default:
        break;
    }
}

/* ---- the plug's service ---------------------------------------------------- */

static uint8_t hook_status(void *ctx, uint16_t conn, uint8_t *out, size_t cap, size_t *len)
{
    ward_ble_plug_t *p = ctx;
    (void)conn;
    if (cap < 2) {
        return WARD_ATT_ERR_UNLIKELY;
    }
    out[0] = p->relay ? 1u : 0u;
    out[1] = (uint8_t)((p->wifi ? WARD_BLE_PLUG_STATUS_WIFI : 0u) |
                       (p->window_open ? WARD_BLE_PLUG_STATUS_WINDOW : 0u));
    *len = 2;
    return 0;
}

static void status_changed(ward_ble_plug_t *p)
{
    /* Notified from poll: the ATT server is building its answer in the
     * link's buffer while a hook runs. */
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        p->conn[i].notify_pending = p->conn[i].used ? 1u : 0u;
    }
}

static uint8_t hook_relay(void *ctx, uint16_t conn, bool on)
{
    ward_ble_plug_t *p = ctx;
    p->relay = on;
    status_changed(p);
    ward_ble_plug_event_t ev;
    ev_init(&ev, WARD_BLE_PLUG_EV_RELAY, conn);
    ev.on = on;
    emit(p, &ev);
    return 0;
}

static uint8_t att_code(ward_err_t err)
{
    return err == WARD_ERR_NO_SPACE ? WARD_ATT_ERR_RESOURCES : WARD_ATT_ERR_UNLIKELY;
}

static uint8_t hook_wifi(void *ctx, uint16_t conn, const uint8_t *ssid, size_t ssid_len,
                         const uint8_t *psk, size_t psk_len)
{
    ward_ble_plug_t *p = ctx;
    ward_err_t err = ward_vault_put(p->cfg.vault, WARD_BLE_PLUG_REC_SSID, ssid, ssid_len);
    if (err == WARD_OK) {
        err = ward_vault_put(p->cfg.vault, WARD_BLE_PLUG_REC_PSK, psk, psk_len);
    }
    if (err == WARD_OK) {
        p->wifi = true;
        status_changed(p);
    }
    ward_ble_plug_event_t ev;
    ev_init(&ev, WARD_BLE_PLUG_EV_WIFI, conn);
    memcpy(ev.ssid, ssid, ssid_len < 32u ? ssid_len : 32u);
    ev.err = err;
    emit(p, &ev);
    return err == WARD_OK ? 0u : att_code(err);
}

/* The bond a link's key came from is gone: the link keeps its encryption
 * but no longer counts as bonded (control needs the peer to pair again). */
static void revoke(ward_ble_plug_t *p, ward_ble_plug_conn_t *c)
{
    (void)ward_hci_conn_clear_bonded(&p->link.hci, c->handle);
    c->bonded = false;
    c->bond_auth = false;
    c->key_bonded = false;
}

static uint8_t hook_reset(void *ctx, uint16_t conn)
{
    ward_ble_plug_t *p = ctx;
    const ward_err_t err = ward_vault_wipe(p->cfg.vault);
    p->relay = false;
    ward_ble_window_close(&p->window);
    if (err == WARD_OK) {
        p->wifi = false;
        p->nbonds = 0;
        p->bond_next = 0;
        for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
            if (p->conn[i].used) {
                revoke(p, &p->conn[i]); /* every bond is gone: no link keeps one's rights */
            }
        }
    }
    /* The link that asked goes once its Write Response is out. */
    p->reset_pending = true;
    p->reset_conn = conn;
    ward_ble_plug_event_t ev;
    ev_init(&ev, WARD_BLE_PLUG_EV_FACTORY_RESET, conn);
    ev.err = err;
    emit(p, &ev);
    return err == WARD_OK ? 0u : att_code(err);
}

/* ---- advertising ----------------------------------------------------------- */

static ward_err_t adv_cmd(ward_ble_plug_t *p, ward_err_t err)
{
    if (err == WARD_OK) {
        p->adv_cmds++;
    }
    return err;
}

static void emit_adv(const ward_ble_plug_t *p)
{
    ward_ble_plug_event_t ev;
    ev_init(&ev, WARD_BLE_PLUG_EV_ADVERTISING, 0);
    ev.adv = p->adv_cur;
    if (p->adv_cur == WARD_BLE_PLUG_ADV_DIRECTED) {
        ev.addr = p->adv_peer;
    }
    emit(p, &ev);
}

/* Advertise as the window and the bonds say: connectable for pairing only
 * while the window is open; directed to bonded peers while it is closed. */
static void adv_update(ward_ble_plug_t *p, uint64_t t)
{
    if (!p->ready || !p->addr_set || p->adv_cmds > 0u) {
        return;
    }
    if (p->adv_failed) {
        p->adv_failed = false;
        p->adv_cur = WARD_BLE_PLUG_ADV_UNKNOWN;
        p->adv_retry_ms = t + ADV_RETRY_MS;
    }
    if (t < p->adv_retry_ms) {
        return;
    }
    uint8_t want = WARD_BLE_PLUG_ADV_OFF;
    ward_ble_addr_t peer;
    memset(&peer, 0, sizeof peer);
    if (ward_ble_plug_connections(p) == 0u) {
        if (p->window_open) {
            want = WARD_BLE_PLUG_ADV_PAIRING;
        } else if (p->nbonds > 0u) {
            want = WARD_BLE_PLUG_ADV_DIRECTED;
            if (p->adv_cur == WARD_BLE_PLUG_ADV_DIRECTED && t >= p->adv_rotate_ms) {
                p->bond_next = (uint8_t)((p->bond_next + 1u) % p->nbonds);
            }
            if (p->bond_next >= p->nbonds) {
                p->bond_next = 0;
            }
            peer = p->bonds[p->bond_next];
        }
    }
    if (want == p->adv_cur &&
        (want != WARD_BLE_PLUG_ADV_DIRECTED || addr_eq(&peer, &p->adv_peer))) {
        if (want == WARD_BLE_PLUG_ADV_DIRECTED && t >= p->adv_rotate_ms) {
            p->adv_rotate_ms = t + WARD_BLE_PLUG_DIRECTED_MS; /* one bond: stay */
        }
        return;
    }
    ward_hci_t *hci = &p->link.hci;
    ward_err_t err = WARD_OK;
    if (p->adv_cur != WARD_BLE_PLUG_ADV_OFF) {
        err = adv_cmd(p, ward_hci_adv_enable(hci, false));
        p->adv_disabling = err == WARD_OK;
    }
    if (err == WARD_OK && want != WARD_BLE_PLUG_ADV_OFF) {
        const ward_hci_adv_params_t ap = {
            .interval_min = ADV_INTERVAL,
            .interval_max = ADV_INTERVAL,
            .type = want == WARD_BLE_PLUG_ADV_PAIRING ? WARD_HCI_ADV_IND
                                                      : WARD_HCI_ADV_DIRECT_IND_LOW,
            .own_addr_type = p->cfg.identity.type,
            .channel_map = 7,
            .filter_policy = 0,
            .direct = peer,
        };
        err = adv_cmd(p, ward_hci_adv_params(hci, &ap));
        if (err == WARD_OK && want == WARD_BLE_PLUG_ADV_PAIRING) {
            /* Flags: LE General Discoverable, no BR/EDR; the name. The
             * service UUID goes in the scan response. */
            uint8_t ad[31];
            const size_t nl = strlen(p->gatt.name) > 26u ? 26u : strlen(p->gatt.name);
            ad[0] = 2;
            ad[1] = 0x01;
            ad[2] = 0x06;
            ad[3] = (uint8_t)(nl + 1u);
            ad[4] = 0x09;
            memcpy(ad + 5, p->gatt.name, nl);
            err = adv_cmd(p, ward_hci_adv_data(hci, ad, 5u + nl));
            uint8_t sr[18];
            sr[0] = 17;
            sr[1] = 0x07;
            memcpy(sr + 2, k_service_uuid, 16);
            if (err == WARD_OK) {
                err = adv_cmd(p, ward_hci_scan_rsp_data(hci, sr, sizeof sr));
            }
        }
        if (err == WARD_OK) {
            err = adv_cmd(p, ward_hci_adv_enable(hci, true));
        }
    }
    if (err != WARD_OK) {
        p->adv_failed = true; /* the queue was full: try again a little later */
        return;
    }
    p->adv_cur = want;
    p->adv_peer = peer;
    p->adv_rotate_ms = t + WARD_BLE_PLUG_DIRECTED_MS;
    emit_adv(p);
}

static void on_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    const ward_ble_plug_t *o = ctx;
    if (o->cfg.trace != NULL) {
        o->cfg.trace(o->cfg.ctx, to_controller, h4, len);
    }
}

/* ---- API ------------------------------------------------------------------------ */

ward_err_t ward_ble_plug_init(ward_ble_plug_t *p, const ward_ble_plug_config_t *cfg)
{
    if (p == NULL || cfg == NULL || cfg->transport == NULL || cfg->vault == NULL ||
        cfg->rng == NULL || cfg->clock == NULL || cfg->name == NULL ||
        cfg->io_cap > WARD_SMP_IO_KEYBOARD_DISPLAY ||
        (cfg->identity.type != WARD_BLE_ADDR_PUBLIC &&
         !(cfg->identity.type == WARD_BLE_ADDR_RANDOM && ward_ble_addr_is_identity(&cfg->identity)))) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    ward_err_t err = ward_ble_window_init(&p->window, &cfg->window);
    const ward_gatt_plug_hooks_t hooks = {p, hook_status, hook_relay, hook_wifi, hook_reset};
    if (err == WARD_OK) {
        err = ward_gatt_plug_init(&p->gatt, cfg->name, &hooks, false);
    }
    if (err == WARD_OK) {
        err = ward_att_server_init(&p->server, ward_gatt_plug_db(&p->gatt), NULL, NULL);
    }
    if (err == WARD_OK) {
        err = scan_vault(p);
    }
    if (err == WARD_OK) {
        const ward_ble_link_config_t lc = {.transport = cfg->transport,
                                           .server = &p->server,
                                           .ctx = p,
                                           .event = on_event,
                                           .smp_rx = on_smp,
                                           .ltk_request = on_ltk,
                                           .bond_exists = on_bond_exists,
                                           .trace = on_trace};
        err = ward_ble_link_init(&p->link, &lc);
    }
    p->adv_cur = WARD_BLE_PLUG_ADV_OFF;
    return err;
}

static void window_update(ward_ble_plug_t *p, uint64_t t)
{
    const bool open = WARD_FIH_EQ(ward_ble_window_is_open(&p->window, t));
    if (open == p->window_open) {
        return;
    }
    p->window_open = open;
    ward_ble_window_state_t st;
    ward_ble_window_state(&p->window, t, &st);
    ward_ble_plug_event_t ev;
    ev_init(&ev, WARD_BLE_PLUG_EV_WINDOW, 0);
    ev.open = open;
    ev.why = (uint8_t)st.why;
    ev.value = st.remaining_ms;
    emit(p, &ev);
}

ward_err_t ward_ble_plug_poll(ward_ble_plug_t *p, uint32_t timeout_ms)
{
    if (p == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_ble_link_poll(&p->link, timeout_ms);
    if (err != WARD_OK) {
        return err;
    }
    if (ward_hci_failed(&p->link.hci)) {
        return WARD_ERR_BLE_HCI;
    }
    const uint64_t t = now(p);
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        ward_ble_plug_conn_t *c = &p->conn[i];
        if (!c->used) {
            continue;
        }
        if (ward_smp_busy(&c->smp)) {
            (void)ward_smp_tick(&c->smp, t);
            smp_drain(p, c);
        }
        if (c->used && c->notify_pending != 0u) {
            uint8_t st[2];
            size_t n = 0;
            (void)hook_status(p, c->handle, st, sizeof st, &n);
            if (ward_ble_link_notify(&p->link, c->handle, WARD_GATT_PLUG_H_STATUS, st, n) !=
                WARD_ERR_BLE_BUSY) {
                c->notify_pending = 0;
            }
        }
    }
    if (p->reset_pending && ward_hci_conn_flushed(&p->link.hci, p->reset_conn)) {
        const ward_ble_plug_conn_t *c = conn_find(p, p->reset_conn);
        p->reset_pending = false;
        if (c != NULL) {
            disconnect(p, c, WARD_HCI_ERR_REMOTE_USER_TERM);
        }
    }
    window_update(p, t);
    adv_update(p, t);
    return WARD_OK;
}

ward_err_t ward_ble_plug_button(ward_ble_plug_t *p)
{
    if (p == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    const uint64_t t = now(p);
    ward_err_t err = ward_ble_window_open(&p->window, t);
    if (err == WARD_OK) {
        /* A press while open restarts the time: say so too. */
        p->window_open = false;
        window_update(p, t);
    }
    return err;
}

void ward_ble_plug_close_window(ward_ble_plug_t *p)
{
    if (p != NULL) {
        ward_ble_window_close(&p->window);
        window_update(p, now(p));
    }
}

ward_err_t ward_ble_plug_numeric_reply(ward_ble_plug_t *p, uint16_t conn, bool match)
{
    ward_ble_plug_conn_t *c = p != NULL ? conn_find(p, conn) : NULL;
    if (c == NULL) {
        return p == NULL ? WARD_ERR_INVALID_ARG : WARD_ERR_BLE_NO_CONN;
    }
    const ward_err_t err = ward_smp_numeric_reply(&c->smp, match, now(p));
    smp_drain(p, c);
    return err;
}

ward_err_t ward_ble_plug_passkey_reply(ward_ble_plug_t *p, uint16_t conn, bool ok,
                                       uint32_t passkey)
{
    ward_ble_plug_conn_t *c = p != NULL ? conn_find(p, conn) : NULL;
    if (c == NULL) {
        return p == NULL ? WARD_ERR_INVALID_ARG : WARD_ERR_BLE_NO_CONN;
    }
    const ward_err_t err = ward_smp_passkey_reply(&c->smp, ok, passkey, now(p));
    smp_drain(p, c);
    return err;
}

ward_err_t ward_ble_plug_forget(ward_ble_plug_t *p, const ward_ble_addr_t *id)
{
    if (p == NULL || id == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_ble_bond_remove(p->cfg.vault, id);
    if (err == WARD_OK) {
        for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
            ward_ble_plug_conn_t *c = &p->conn[i];
            /* The link of that peer, and any link using that bond's key
             * (a peer on a resolvable private address, or one that paired
             * under another connection address). */
            if (c->used && (addr_eq(&c->peer, id) || (c->key_bonded && addr_eq(&c->key_bond, id)))) {
                revoke(p, c);
            }
        }
        err = scan_vault(p);
        adv_update(p, now(p)); /* no more advertising to it */
    }
    return err;
}

bool ward_ble_plug_relay(const ward_ble_plug_t *p)
{
    return p != NULL && p->relay;
}

void ward_ble_plug_window(ward_ble_plug_t *p, ward_ble_window_state_t *st)
{
    if (p != NULL && st != NULL) {
        ward_ble_window_state(&p->window, now(p), st);
    }
}

void ward_ble_plug_release(ward_ble_plug_t *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        ward_smp_release(&p->conn[i].smp);
    }
    ward_wipe(p, sizeof *p);
}
