/* ward ble_phone: the companion-app side, a central with an SMP initiator
 * (ward/ble_phone.h). */
#include <string.h>

#include "ward/ble_phone.h"
#include "ward/util.h"

#define OP_SET_RANDOM_ADDR 0x2005u
#define OP_SCAN_ENABLE 0x200Cu
#define OP_CREATE_CONN 0x200Du
#define OP_DISCONNECT 0x0406u

#define PAIR_TIMEOUT_MS 40000u

static uint64_t now(const ward_ble_phone_t *ph)
{
    return ph->cfg.clock->now_ms(ph->cfg.clock->ctx);
}

static bool addr_eq(const ward_ble_addr_t *a, const ward_ble_addr_t *b)
{
    return a->type == b->type && memcmp(a->a, b->a, 6) == 0;
}

/* ---- waiting ------------------------------------------------------------------ */

typedef bool (*cond_fn)(const ward_ble_phone_t *ph);

/* Poll until cond holds or timeout_ms passed (WARD_ERR_BLE_TIMEOUT). */
static ward_err_t wait_for(ward_ble_phone_t *ph, cond_fn cond, uint32_t timeout_ms)
{
    const uint64_t end = now(ph) + timeout_ms;
    for (;;) {
        if (cond(ph)) {
            return WARD_OK;
        }
        if (now(ph) >= end) {
            return WARD_ERR_BLE_TIMEOUT;
        }
        ward_err_t err = ward_ble_link_poll(&ph->link, ph->cfg.idle != NULL ? 0u : 1u);
        if (err != WARD_OK) {
            return err;
        }
        if (ph->cfg.idle != NULL) {
            ph->cfg.idle(ph->cfg.ctx);
        }
    }
}

static bool c_ready(const ward_ble_phone_t *ph)
{
    return ph->ready || ward_hci_failed(&ph->link.hci);
}
static bool c_cmd(const ward_ble_phone_t *ph)
{
    return ph->cmd_done;
}
static bool c_seen(const ward_ble_phone_t *ph)
{
    return ph->seen;
}
static bool c_conn_event(const ward_ble_phone_t *ph)
{
    return ph->conn_event;
}
static bool c_enc(const ward_ble_phone_t *ph)
{
    return ph->enc_done || !ph->connected;
}
static bool c_att(const ward_ble_phone_t *ph)
{
    return ph->att_done || !ph->connected;
}
static bool c_smp(const ward_ble_phone_t *ph)
{
    return ph->smp_done || !ph->connected;
}
static bool c_gone(const ward_ble_phone_t *ph)
{
    return !ph->connected;
}
static bool c_flushed(const ward_ble_phone_t *ph)
{
    return !ph->connected || ward_hci_conn_flushed(&ph->link.hci, ph->conn);
}
static bool c_never(const ward_ble_phone_t *ph)
{
    (void)ph;
    return false;
}

/* Queue one command and wait for its completion. */
static ward_err_t command(ward_ble_phone_t *ph, uint16_t opcode, ward_err_t queued,
                          uint32_t timeout_ms)
{
    if (queued != WARD_OK) {
        return queued;
    }
    ph->cmd_done = false;
    ph->cmd_op = opcode;
    ward_err_t err = wait_for(ph, c_cmd, timeout_ms);
    if (err == WARD_OK && ph->cmd_status != WARD_HCI_SUCCESS) {
        err = WARD_ERR_BLE_HCI;
    }
    return err;
}

/* ---- SMP ------------------------------------------------------------------------- */

static void smp_send_all(ward_ble_phone_t *ph)
{
    uint8_t out[WARD_SMP_PDU_MAX];
    size_t n = 0;
    while (ward_smp_next_pdu(&ph->smp, out, sizeof out, &n) == WARD_OK) {
        if (ph->cfg.smp_out != NULL && !ph->cfg.smp_out(ph->cfg.ctx, out, &n)) {
            continue;
        }
        if (n > 0u && n <= sizeof out) {
            (void)ward_ble_link_smp_send(&ph->link, ph->conn, out, n);
        }
    }
    ward_wipe(out, sizeof out);
}

static void smp_finish(ward_ble_phone_t *ph, ward_err_t err)
{
    ph->smp_done = true;
    ph->smp_err = err;
}

static void smp_drain(ward_ble_phone_t *ph)
{
    smp_send_all(ph);
    ward_smp_event_t ev;
    while (ward_smp_next_event(&ph->smp, &ev)) {
        ward_ble_phone_result_t *r = ph->result;
        uint32_t pk = 0;
        bool yes = false;
        switch (ev.type) {
        case WARD_SMP_EV_NUMERIC_COMPARE:
            yes = ph->cfg.numeric_compare != NULL &&
                  ph->cfg.numeric_compare(ph->cfg.ctx, ev.value);
            (void)ward_smp_numeric_reply(&ph->smp, yes, now(ph));
            smp_send_all(ph);
            break;
        case WARD_SMP_EV_PASSKEY_DISPLAY:
            if (ph->cfg.passkey_display != NULL) {
                ph->cfg.passkey_display(ph->cfg.ctx, ev.value);
            }
            break;
        case WARD_SMP_EV_PASSKEY_REQUEST:
            yes = ph->cfg.passkey_request != NULL && ph->cfg.passkey_request(ph->cfg.ctx, &pk);
            (void)ward_smp_passkey_reply(&ph->smp, yes, yes ? pk : 0u, now(ph));
            smp_send_all(ph);
            break;
        case WARD_SMP_EV_START_ENCRYPTION: {
            const uint8_t rand[8] = {0};
            const ward_smp_method_t m = ward_smp_method(&ph->smp);
            const uint8_t flags =
                (uint8_t)(WARD_BLE_KEY_SC | (m != WARD_SMP_METHOD_JUST_WORKS
                                                 ? WARD_BLE_KEY_AUTHENTICATED
                                                 : 0u));
            if (ward_hci_start_encryption(&ph->link.hci, ph->conn, rand, 0, ev.keys.ltk, flags) !=
                WARD_OK) {
                (void)ward_smp_abort(&ph->smp, WARD_SMP_ERR_UNSPECIFIED, now(ph));
                smp_send_all(ph);
            }
            break;
        }
        case WARD_SMP_EV_PAIRED:
            if (r != NULL) {
                r->keys = ev.keys;
                r->method = ev.keys.method;
            }
            smp_finish(ph, WARD_OK);
            break;
        case WARD_SMP_EV_FAILED:
            if (r != NULL) {
                r->reason = ev.reason;
                r->remote = ev.remote;
                r->timeout = ev.timeout;
                r->method = (uint8_t)ward_smp_method(&ph->smp);
            }
            smp_finish(ph, ev.timeout ? WARD_ERR_SMP_TIMEOUT : WARD_ERR_SMP_FAILED);
            break;
        default:
            break;
        }
        ward_wipe(&ev, sizeof ev);
    }
}

static void on_smp(void *ctx, uint16_t conn, const uint8_t *pdu, size_t len)
{
    ward_ble_phone_t *ph = ctx;
    if (ph->cfg.smp_in != NULL) {
        ph->cfg.smp_in(ph->cfg.ctx, pdu, len);
    }
    if (!ph->smp_on || conn != ph->conn) {
        return;
    }
    (void)ward_smp_input(&ph->smp, pdu, len, now(ph));
    smp_drain(ph);
}

/* ---- link events -------------------------------------------------------------------- */

static void on_event(void *ctx, const ward_hci_event_t *ev)
{
    ward_ble_phone_t *ph = ctx;
    switch (ev->type) {
    case WARD_HCI_EVT_READY:
        ph->ready = true;
        break;
    case WARD_HCI_EVT_CMD_DONE:
        if (ev->opcode == OP_CREATE_CONN && ev->status != WARD_HCI_SUCCESS) {
            ph->conn_event = true; /* refused: no Connection Complete follows */
            ph->conn_status = ev->status;
        }
        if (ev->opcode == ph->cmd_op) {
            ph->cmd_done = true;
            ph->cmd_status = ev->status;
        }
        break;
    case WARD_HCI_EVT_ADV_REPORT:
        if (ph->scan_cb != NULL) {
            ph->scan_cb(ph->scan_ctx, ev);
        }
        /* Connectable: ADV_IND, or ADV_DIRECT_IND (the controller reports
         * directed advertising only when it is aimed at us). */
        if (ph->scanning && (ev->adv_type == 0u || ev->adv_type == 1u) &&
            addr_eq(&ev->addr, &ph->want)) {
            ph->seen = true;
            ph->seen_adv_type = ev->adv_type;
        }
        break;
    case WARD_HCI_EVT_CONNECTED:
        ph->conn_event = true;
        ph->conn_status = ev->status;
        if (ev->status == WARD_HCI_SUCCESS) {
            ph->connected = true;
            ph->conn = ev->handle;
            ph->peer = ev->addr;
        }
        break;
    case WARD_HCI_EVT_DISCONNECTED:
        if (ph->connected && ev->handle == ph->conn) {
            ph->connected = false;
            ph->disc_reason = ev->reason;
            if (ph->smp_on && !ph->smp_done) {
                smp_finish(ph, WARD_ERR_BLE_NO_CONN);
            }
        }
        break;
    case WARD_HCI_EVT_ENCRYPTION:
        if (ev->handle == ph->conn) {
            ph->enc_done = true;
            ph->enc_status = ev->status;
            if (ph->result != NULL) {
                ph->result->enc_status = ev->status;
            }
            if (ph->smp_on) {
                (void)ward_smp_encryption_changed(&ph->smp, ev->status == WARD_HCI_SUCCESS,
                                                  ev->key_size, now(ph));
                smp_drain(ph);
            }
        }
        break;
    default:
        break;
    }
    if (ph->cfg.event != NULL) {
        ph->cfg.event(ph->cfg.ctx, ev);
    }
}

static void on_att(void *ctx, uint16_t conn, const ward_att_result_t *res)
{
    ward_ble_phone_t *ph = ctx;
    if (conn != ph->conn || res->req == 0u) {
        return; /* notifications: not waited for */
    }
    ph->res = *res;
    size_t n = 0;
    if (res->data != NULL) {
        n = res->data_len;
        if (n > sizeof ph->res_buf) {
            n = sizeof ph->res_buf;
        }
        memcpy(ph->res_buf, res->data, n);
    }
    ph->res.data = ph->res_buf;
    ph->res.data_len = n;
    ph->att_done = true;
}

static void on_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    const ward_ble_phone_t *o = ctx;
    if (o->cfg.trace != NULL) {
        o->cfg.trace(o->cfg.ctx, to_controller, h4, len);
    }
}

/* ---- API -------------------------------------------------------------------------- */

ward_err_t ward_ble_phone_init(ward_ble_phone_t *ph, const ward_ble_phone_config_t *cfg,
                               uint32_t timeout_ms)
{
    if (ph == NULL || cfg == NULL || cfg->transport == NULL || cfg->rng == NULL ||
        cfg->clock == NULL ||
        (cfg->identity.type != WARD_BLE_ADDR_PUBLIC &&
         !(cfg->identity.type == WARD_BLE_ADDR_RANDOM && ward_ble_addr_is_identity(&cfg->identity)))) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(ph, 0, sizeof *ph);
    ph->cfg = *cfg;
    const ward_ble_link_config_t lc = {.transport = cfg->transport,
                                       .server = NULL,
                                       .ctx = ph,
                                       .event = on_event,
                                       .att_result = on_att,
                                       .smp_rx = on_smp,
                                       .trace = on_trace};
    ward_err_t err = ward_ble_link_init(&ph->link, &lc);
    if (err == WARD_OK) {
        err = wait_for(ph, c_ready, timeout_ms);
    }
    if (err == WARD_OK && !ph->ready) {
        err = WARD_ERR_BLE_HCI;
    }
    if (err != WARD_OK) {
        return err;
    }
    if (cfg->identity.type == WARD_BLE_ADDR_RANDOM) {
        err = command(ph, OP_SET_RANDOM_ADDR,
                      ward_hci_use_random_address(&ph->link.hci, cfg->identity.a), timeout_ms);
    } else {
        ward_hci_bd_addr(&ph->link.hci, &ph->cfg.identity);
    }
    ph->addr_set = err == WARD_OK;
    return err;
}

static ward_err_t scan_on(ward_ble_phone_t *ph, uint32_t timeout_ms)
{
    ward_err_t err = command(ph, 0x200Bu, ward_hci_scan_params(&ph->link.hci, true, 0x60, 0x30),
                             timeout_ms);
    if (err == WARD_OK) {
        err = command(ph, OP_SCAN_ENABLE, ward_hci_scan_enable(&ph->link.hci, true, false),
                      timeout_ms);
    }
    return err;
}

static ward_err_t scan_off(ward_ble_phone_t *ph)
{
    return command(ph, OP_SCAN_ENABLE, ward_hci_scan_enable(&ph->link.hci, false, false), 3000);
}

ward_err_t ward_ble_phone_scan(ward_ble_phone_t *ph, uint32_t timeout_ms,
                               void (*cb)(void *ctx, const ward_hci_event_t *ev), void *ctx)
{
    if (ph == NULL || cb == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = scan_on(ph, 3000);
    if (err != WARD_OK) {
        return err;
    }
    ph->scan_cb = cb;
    ph->scan_ctx = ctx;
    err = wait_for(ph, c_never, timeout_ms);
    ph->scan_cb = NULL;
    ph->scan_ctx = NULL;
    const ward_err_t off = scan_off(ph);
    return err == WARD_ERR_BLE_TIMEOUT ? off : err;
}

ward_err_t ward_ble_phone_connect(ward_ble_phone_t *ph, const ward_ble_addr_t *dev,
                                  uint32_t timeout_ms)
{
    if (ph == NULL || dev == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (ph->connected) {
        return WARD_ERR_STATE;
    }
    ph->want = *dev;
    ph->seen = false;
    ph->scanning = true;
    ward_err_t err = scan_on(ph, 3000);
    if (err == WARD_OK) {
        err = wait_for(ph, c_seen, timeout_ms);
    }
    ph->scanning = false;
    const ward_err_t off = scan_off(ph);
    if (err == WARD_OK) {
        err = off;
    }
    if (err != WARD_OK) {
        return err;
    }
    ph->conn_event = false;
    ph->conn_status = 0;
    err = ward_hci_connect(&ph->link.hci, dev, NULL);
    if (err == WARD_OK) {
        err = wait_for(ph, c_conn_event, timeout_ms);
    }
    if (err == WARD_OK && !ph->connected) {
        err = WARD_ERR_BLE_HCI;
    }
    return err;
}

ward_err_t ward_ble_phone_mtu(ward_ble_phone_t *ph, uint32_t timeout_ms)
{
    if (ph == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_att_client_t *cl = ward_ble_link_client(&ph->link, ph->conn);
    if (!ph->connected || cl == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    uint8_t pdu[8];
    size_t n = 0;
    ward_err_t err = ward_att_client_mtu(cl, WARD_CONFIG_ATT_MTU, pdu, sizeof pdu, &n);
    if (err != WARD_OK) {
        return err;
    }
    ph->att_done = false;
    err = ward_ble_link_att_send(&ph->link, ph->conn, pdu, n);
    if (err == WARD_OK) {
        err = wait_for(ph, c_att, timeout_ms);
    }
    if (err == WARD_OK && !ph->connected) {
        err = WARD_ERR_BLE_NO_CONN;
    }
    if (err == WARD_OK && ph->res.att_err != 0u) {
        err = WARD_ERR_BLE_ATT;
    }
    return err;
}

ward_err_t ward_ble_phone_pair(ward_ble_phone_t *ph, const ward_ble_phone_pairing_t *o,
                               ward_ble_phone_result_t *r)
{
    if (ph == NULL || o == NULL || r == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(r, 0, sizeof *r);
    r->enc_status = 0xFF;
    if (!ph->connected) {
        return WARD_ERR_BLE_NO_CONN;
    }
    const ward_smp_config_t sc = {
        .role = WARD_SMP_INITIATOR,
        .io_cap = o->io_cap,
        .bonding = o->bonding,
        .mitm = o->mitm,
        .require_mitm = o->require_mitm,
        .rng = ph->cfg.rng,
        .peer_oob = o->oob,
        .local_irk = ph->cfg.irk,
        .local_identity = ph->cfg.irk != NULL ? &ph->cfg.identity : NULL,
    };
    const ward_smp_link_t sl = {.local = ph->cfg.identity, .peer = ph->peer};
    ward_err_t err = ward_smp_init(&ph->smp, &sc, &sl, now(ph));
    if (err != WARD_OK) {
        return err;
    }
    ph->result = r;
    ph->smp_on = true;
    ph->smp_done = false;
    ph->smp_err = WARD_OK;
    err = ward_smp_start(&ph->smp, now(ph));
    if (err == WARD_OK) {
        smp_drain(ph);
        const uint64_t end = now(ph) + (o->timeout_ms != 0u ? o->timeout_ms : PAIR_TIMEOUT_MS);
        /* Slices of 200 ms, to run the 30 s SMP timer in between. */
        while (err == WARD_OK && !c_smp(ph)) {
            const uint64_t t = now(ph);
            if (t >= end) {
                err = WARD_ERR_BLE_TIMEOUT;
                break;
            }
            const uint32_t slice = end - t > 200u ? 200u : (uint32_t)(end - t);
            err = wait_for(ph, c_smp, slice);
            if (err == WARD_ERR_BLE_TIMEOUT) {
                err = WARD_OK;
                (void)ward_smp_tick(&ph->smp, now(ph));
                smp_drain(ph);
            }
        }
    }
    if (err == WARD_OK) {
        err = ph->smp_done ? ph->smp_err : WARD_ERR_BLE_NO_CONN;
    }
    if (err == WARD_OK) {
        /* Our keys end the pairing on our side: see them leave, so a
         * disconnection right after cannot cut them off. */
        (void)wait_for(ph, c_flushed, 3000);
    }
    ph->smp_on = false;
    ph->result = NULL;
    ward_smp_release(&ph->smp);
    if (err != WARD_OK) {
        ward_wipe(&r->keys, sizeof r->keys);
    }
    return err;
}

ward_err_t ward_ble_phone_encrypt(ward_ble_phone_t *ph, const uint8_t ltk[16], uint8_t key_flags,
                                  uint32_t timeout_ms, uint8_t *hci_status)
{
    if (ph == NULL || ltk == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (hci_status != NULL) {
        *hci_status = 0xFF;
    }
    if (!ph->connected) {
        return WARD_ERR_BLE_NO_CONN;
    }
    const uint8_t rand[8] = {0};
    ph->enc_done = false;
    ward_err_t err = ward_hci_start_encryption(&ph->link.hci, ph->conn, rand, 0, ltk, key_flags);
    if (err == WARD_OK) {
        err = wait_for(ph, c_enc, timeout_ms);
    }
    if (err != WARD_OK) {
        return err;
    }
    if (!ph->enc_done) {
        return WARD_ERR_BLE_NO_CONN;
    }
    if (hci_status != NULL) {
        *hci_status = ph->enc_status;
    }
    ward_ble_sec_t sec;
    err = ward_ble_phone_security(ph, &sec);
    if (err != WARD_OK) {
        return err;
    }
    return ph->enc_status == WARD_HCI_SUCCESS && sec.encrypted ? WARD_OK : WARD_ERR_BLE_ENCRYPTION;
}

/* Send the request the client just built and wait for its answer. */
static ward_err_t att_round(ward_ble_phone_t *ph, const uint8_t *pdu, size_t n, uint8_t *att_err,
                            uint32_t timeout_ms)
{
    ph->att_done = false;
    ward_err_t err = ward_ble_link_att_send(&ph->link, ph->conn, pdu, n);
    if (err == WARD_OK) {
        err = wait_for(ph, c_att, timeout_ms);
    }
    if (err == WARD_OK && !ph->att_done) {
        err = WARD_ERR_BLE_NO_CONN;
    }
    if (err == WARD_OK && ph->res.att_err != 0u) {
        if (att_err != NULL) {
            *att_err = ph->res.att_err;
        }
        err = WARD_ERR_BLE_ATT;
    }
    if (err != WARD_OK) {
        /* Nothing will answer it now: let the client ask again. */
        ward_att_client_t *cl = ward_ble_link_client(&ph->link, ph->conn);
        if (cl != NULL) {
            cl->pending = 0;
        }
    }
    return err;
}

ward_err_t ward_ble_phone_read(ward_ble_phone_t *ph, uint16_t handle, uint8_t *out, size_t cap,
                               size_t *len, uint8_t *att_err, uint32_t timeout_ms)
{
    if (ph == NULL || out == NULL || len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *len = 0;
    if (att_err != NULL) {
        *att_err = 0;
    }
    ward_att_client_t *cl = ward_ble_link_client(&ph->link, ph->conn);
    if (!ph->connected || cl == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    uint8_t pdu[8];
    size_t n = 0;
    ward_err_t err = ward_att_client_read(cl, handle, pdu, sizeof pdu, &n);
    if (err == WARD_OK) {
        err = att_round(ph, pdu, n, att_err, timeout_ms);
    }
    if (err != WARD_OK) {
        return err;
    }
    if (ph->res.data_len > cap) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    memcpy(out, ph->res.data, ph->res.data_len);
    *len = ph->res.data_len;
    return WARD_OK;
}

ward_err_t ward_ble_phone_write(ward_ble_phone_t *ph, uint16_t handle, const uint8_t *val,
                                size_t len, uint8_t *att_err, uint32_t timeout_ms)
{
    if (ph == NULL || (val == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (att_err != NULL) {
        *att_err = 0;
    }
    ward_att_client_t *cl = ward_ble_link_client(&ph->link, ph->conn);
    if (!ph->connected || cl == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    uint8_t pdu[WARD_CONFIG_ATT_MTU];
    size_t n = 0;
    ward_err_t err;
    if (len + 3u <= cl->mtu) {
        err = ward_att_client_write(cl, handle, val, len, pdu, sizeof pdu, &n);
        if (err == WARD_OK) {
            err = att_round(ph, pdu, n, att_err, timeout_ms);
        }
        ward_wipe(pdu, sizeof pdu);
        return err;
    }
    /* A long value: queued piece by piece, then written at once. */
    const size_t piece = (size_t)cl->mtu - 5u;
    err = WARD_OK;
    for (size_t off = 0; off < len && err == WARD_OK; off += piece) {
        const size_t k = len - off < piece ? len - off : piece;
        err = ward_att_client_prepare(cl, handle, (uint16_t)off, val + off, k, pdu, sizeof pdu, &n);
        if (err == WARD_OK) {
            err = att_round(ph, pdu, n, att_err, timeout_ms);
        }
    }
    const bool commit = err == WARD_OK;
    if (ph->connected) {
        uint8_t x[2];
        const ward_err_t e2 = ward_att_client_execute(cl, commit, x, sizeof x, &n);
        const ward_err_t e3 = e2 == WARD_OK ? att_round(ph, x, n, commit ? att_err : NULL, timeout_ms)
                                            : e2;
        if (commit) {
            err = e3;
        }
    }
    ward_wipe(pdu, sizeof pdu);
    return err;
}

ward_err_t ward_ble_phone_smp_send(ward_ble_phone_t *ph, const uint8_t *pdu, size_t len)
{
    if (ph == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (!ph->connected) {
        return WARD_ERR_BLE_NO_CONN;
    }
    return ward_ble_link_smp_send(&ph->link, ph->conn, pdu, len);
}

ward_err_t ward_ble_phone_wait(ward_ble_phone_t *ph, uint32_t ms)
{
    if (ph == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    const ward_err_t err = wait_for(ph, c_never, ms);
    return err == WARD_ERR_BLE_TIMEOUT ? WARD_OK : err;
}

ward_err_t ward_ble_phone_disconnect(ward_ble_phone_t *ph, uint32_t timeout_ms)
{
    if (ph == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (!ph->connected) {
        return WARD_OK;
    }
    /* What is still queued for the link goes first. */
    (void)wait_for(ph, c_flushed, timeout_ms);
    ward_err_t err =
        ward_hci_disconnect(&ph->link.hci, ph->conn, WARD_HCI_ERR_REMOTE_USER_TERM);
    if (err == WARD_OK) {
        err = wait_for(ph, c_gone, timeout_ms);
    }
    return err;
}

ward_err_t ward_ble_phone_security(const ward_ble_phone_t *ph, ward_ble_sec_t *sec)
{
    if (ph == NULL || sec == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    return ward_ble_link_security(&ph->link, ph->conn, sec);
}

void ward_ble_phone_release(ward_ble_phone_t *ph)
{
    if (ph != NULL) {
        ward_smp_release(&ph->smp);
        ward_wipe(ph, sizeof *ph);
    }
}
