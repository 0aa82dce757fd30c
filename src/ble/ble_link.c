/* ward ble_link: HCI + ATT server + ATT client + the SMP hook, wired. */
#include <string.h>

#include "ward/ble_link.h"
#include "ward/util.h"

#define SMP_PAIRING_REQ 0x01u
#define SMP_PAIRING_FAILED 0x05u
#define SMP_SECURITY_REQ 0x0Bu
#define SMP_ERR_PAIRING_NOT_SUPPORTED 0x05u

static ward_ble_link_conn_t *lconn(ward_ble_link_t *link, uint16_t handle)
{
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        if (link->conn[i].used && link->conn[i].handle == handle) {
            return &link->conn[i];
        }
    }
    return NULL;
}

static void on_event(void *ctx, const ward_hci_event_t *ev)
{
    ward_ble_link_t *link = ctx;
    if (ev->type == WARD_HCI_EVT_CONNECTED && ev->status == WARD_HCI_SUCCESS) {
        for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
            ward_ble_link_conn_t *c = &link->conn[i];
            if (!c->used) {
                c->used = true;
                c->handle = ev->handle;
                ward_att_bearer_init(&c->bearer, ev->handle);
                ward_att_client_init(&c->client);
                break;
            }
        }
    } else if (ev->type == WARD_HCI_EVT_DISCONNECTED) {
        ward_ble_link_conn_t *c = lconn(link, ev->handle);
        if (c != NULL) {
            ward_wipe(c, sizeof *c);
        }
        if (link->wait.kind != 0 && link->wait.conn == ev->handle) {
            link->wait.gone = true;
            link->wait.done = true;
        }
    } else if (ev->type == WARD_HCI_EVT_ENCRYPTION && link->wait.kind == 2 &&
               link->wait.conn == ev->handle) {
        link->wait.status = ev->status;
        link->wait.done = true;
    }
    if (link->cfg.event != NULL) {
        link->cfg.event(link->cfg.ctx, ev);
    }
}

/* PDUs that a server sends and a client receives. */
static bool to_client(uint8_t op)
{
    switch (op) {
    case WARD_ATT_ERROR_RSP:
    case WARD_ATT_MTU_RSP:
    case WARD_ATT_FIND_INFO_RSP:
    case WARD_ATT_FIND_BY_TYPE_RSP:
    case WARD_ATT_READ_BY_TYPE_RSP:
    case WARD_ATT_READ_RSP:
    case WARD_ATT_READ_BLOB_RSP:
    case WARD_ATT_READ_GROUP_RSP:
    case WARD_ATT_WRITE_RSP:
    case WARD_ATT_PREP_WRITE_RSP:
    case WARD_ATT_EXEC_WRITE_RSP:
    case WARD_ATT_NOTIFY:
    case WARD_ATT_INDICATE:
        return true;
    default:
        return false;
    }
}

static void att_rx(ward_ble_link_t *link, ward_ble_link_conn_t *c, const uint8_t *pdu, size_t len)
{
    if (len == 0) {
        return;
    }
    if (to_client(pdu[0])) {
        ward_att_result_t res;
        if (ward_att_client_input(&c->client, pdu, len, &res) != WARD_OK) {
            link->att_dropped++;
            return;
        }
        if (pdu[0] == WARD_ATT_INDICATE) {
            const uint8_t confirm = WARD_ATT_CONFIRM;
            (void)ward_l2cap_send(&link->hci, c->handle, WARD_L2CAP_CID_ATT, &confirm, 1);
        }
        if (res.opcode == WARD_ATT_MTU_RSP) {
            /* One ATT_MTU per connection, whoever exchanged it. */
            c->bearer.mtu = c->client.mtu;
        }
        if (link->wait.kind == 1 && link->wait.conn == c->handle && res.req != 0) {
            ward_ble_link_wait_t *w = &link->wait;
            *w->res = res;
            const size_t k = res.data_len < w->cap ? res.data_len : w->cap;
            if (k > 0) {
                memcpy(w->buf, res.data, k);
            }
            w->res->data = w->buf;
            w->res->data_len = k;
            w->truncated = k < res.data_len;
            w->done = true;
        }
        if (link->cfg.att_result != NULL) {
            link->cfg.att_result(link->cfg.ctx, c->handle, &res);
        }
        return;
    }
    size_t rsp_len = 0;
    if (link->cfg.server == NULL) {
        if ((pdu[0] & 0x40u) == 0 && pdu[0] != WARD_ATT_CONFIRM) {
            link->pdu[0] = WARD_ATT_ERROR_RSP;
            link->pdu[1] = pdu[0];
            ward_store_le16(link->pdu + 2, 0);
            link->pdu[4] = WARD_ATT_ERR_NOT_SUPPORTED;
            rsp_len = 5;
        }
    } else {
        ward_ble_sec_t sec;
        (void)ward_ble_link_security(link, c->handle, &sec);
        if (ward_att_server_input(link->cfg.server, &c->bearer, &sec, pdu, len, link->pdu,
                                  sizeof link->pdu, &rsp_len) != WARD_OK) {
            rsp_len = 0;
        }
        if (pdu[0] == WARD_ATT_MTU_REQ && c->bearer.mtu_exchanged) {
            c->client.mtu = c->bearer.mtu;
        }
    }
    if (rsp_len > 0) {
        (void)ward_l2cap_send(&link->hci, c->handle, WARD_L2CAP_CID_ATT, link->pdu, rsp_len);
    }
    ward_wipe(link->pdu, sizeof link->pdu);
}

static void on_l2cap(void *ctx, uint16_t handle, uint16_t cid, const uint8_t *pdu, size_t len)
{
    ward_ble_link_t *link = ctx;
    ward_ble_link_conn_t *c = lconn(link, handle);
    if (c == NULL) {
        return;
    }
    if (cid == WARD_L2CAP_CID_ATT) {
        att_rx(link, c, pdu, len);
    } else if (cid == WARD_L2CAP_CID_SMP) {
        if (link->cfg.smp_rx != NULL) {
            link->cfg.smp_rx(link->cfg.ctx, handle, pdu, len);
        } else if (len >= 1 && (pdu[0] == SMP_PAIRING_REQ || pdu[0] == SMP_SECURITY_REQ)) {
            const uint8_t fail[2] = {SMP_PAIRING_FAILED, SMP_ERR_PAIRING_NOT_SUPPORTED};
            (void)ward_l2cap_send(&link->hci, handle, WARD_L2CAP_CID_SMP, fail, 2);
        }
    }
}

static ward_err_t on_ltk(void *ctx, uint16_t handle, const ward_ble_addr_t *peer, uint16_t ediv,
                         const uint8_t rand[8], uint8_t ltk[16], uint8_t *key_flags)
{
    const ward_ble_link_t *link = ctx;
    if (link->cfg.ltk_request == NULL) {
        return WARD_ERR_NOT_FOUND;
    }
    return link->cfg.ltk_request(link->cfg.ctx, handle, peer, ediv, rand, ltk, key_flags);
}

static void on_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    const ward_ble_link_t *link = ctx;
    if (link->cfg.trace != NULL) {
        link->cfg.trace(link->cfg.ctx, to_controller, h4, len);
    }
}

ward_err_t ward_ble_link_init(ward_ble_link_t *link, const ward_ble_link_config_t *cfg)
{
    if (link == NULL || cfg == NULL || cfg->transport == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(link, 0, sizeof *link);
    link->cfg = *cfg;
    const ward_hci_callbacks_t cb = {.ctx = link,
                                     .event = on_event,
                                     .l2cap = on_l2cap,
                                     .ltk_request = on_ltk,
                                     .trace = on_trace};
    ward_err_t err = ward_hci_init(&link->hci, &cb);
    if (err == WARD_OK) {
        err = ward_hci_start(&link->hci);
    }
    return err;
}

ward_err_t ward_ble_link_poll(ward_ble_link_t *link, uint32_t timeout_ms)
{
    if (link == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    return ward_hci_poll(&link->hci, link->cfg.transport, timeout_ms);
}

ward_err_t ward_ble_link_security(const ward_ble_link_t *link, uint16_t conn,
                                  ward_ble_sec_t *sec)
{
    if (link == NULL || sec == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_hci_conn_security(&link->hci, conn, sec);
    if (err != WARD_OK) {
        return err;
    }
    ward_ble_addr_t peer;
    if (link->cfg.bond_exists != NULL &&
        ward_hci_conn_info(&link->hci, conn, NULL, &peer) == WARD_OK) {
        sec->bonded = link->cfg.bond_exists(link->cfg.ctx, &peer);
    }
    return WARD_OK;
}

ward_err_t ward_ble_link_smp_send(ward_ble_link_t *link, uint16_t conn, const uint8_t *pdu,
                                  size_t len)
{
    if (link == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    return ward_l2cap_send(&link->hci, conn, WARD_L2CAP_CID_SMP, pdu, len);
}

ward_err_t ward_ble_link_att_send(ward_ble_link_t *link, uint16_t conn, const uint8_t *pdu,
                                  size_t len)
{
    if (link == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    return ward_l2cap_send(&link->hci, conn, WARD_L2CAP_CID_ATT, pdu, len);
}

ward_att_client_t *ward_ble_link_client(ward_ble_link_t *link, uint16_t conn)
{
    ward_ble_link_conn_t *c = link != NULL ? lconn(link, conn) : NULL;
    return c != NULL ? &c->client : NULL;
}

ward_att_bearer_t *ward_ble_link_bearer(ward_ble_link_t *link, uint16_t conn)
{
    ward_ble_link_conn_t *c = link != NULL ? lconn(link, conn) : NULL;
    return c != NULL ? &c->bearer : NULL;
}

ward_err_t ward_ble_link_notify(ward_ble_link_t *link, uint16_t conn, uint16_t handle,
                                const uint8_t *val, size_t len)
{
    if (link == NULL || link->cfg.server == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ble_link_conn_t *c = lconn(link, conn);
    if (c == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    ward_ble_sec_t sec;
    (void)ward_ble_link_security(link, conn, &sec);
    size_t n = 0;
    ward_err_t err = ward_att_server_notify(link->cfg.server, &c->bearer, &sec, handle, val, len,
                                            link->pdu, sizeof link->pdu, &n);
    if (err == WARD_OK) {
        err = ward_l2cap_send(&link->hci, conn, WARD_L2CAP_CID_ATT, link->pdu, n);
    }
    return err;
}

/* ---- blocking helpers ---------------------------------------------------- */

/* Poll until wait.done (or the engine ready, when waiting for it). */
static ward_err_t wait_for(ward_ble_link_t *link, const ward_clock_t *clock, uint32_t timeout_ms,
                           bool for_ready)
{
    const uint64_t end = clock->now_ms(clock->ctx) + timeout_ms;
    for (;;) {
        if (for_ready && ward_hci_ready(&link->hci)) {
            return WARD_OK;
        }
        if (!for_ready && link->wait.done) {
            return WARD_OK;
        }
        if (for_ready && ward_hci_failed(&link->hci)) {
            return WARD_ERR_BLE_HCI;
        }
        if (clock->now_ms(clock->ctx) >= end) {
            return WARD_ERR_BLE_TIMEOUT;
        }
        ward_err_t err = ward_ble_link_poll(link, 1);
        if (err != WARD_OK) {
            return err;
        }
    }
}

ward_err_t ward_ble_link_wait_ready(ward_ble_link_t *link, const ward_clock_t *clock,
                                    uint32_t timeout_ms)
{
    if (link == NULL || clock == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    return wait_for(link, clock, timeout_ms, true);
}

ward_err_t ward_ble_link_request(ward_ble_link_t *link, const ward_clock_t *clock, uint16_t conn,
                                 const uint8_t *req, size_t len, uint32_t timeout_ms,
                                 ward_att_result_t *res, uint8_t *buf, size_t cap)
{
    if (link == NULL || clock == NULL || req == NULL || len == 0 || res == NULL ||
        (buf == NULL && cap > 0)) {
        return WARD_ERR_INVALID_ARG;
    }
    const ward_att_client_t *cl = ward_ble_link_client(link, conn);
    if (cl == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    if (cl->pending == 0 || cl->pending != req[0]) {
        return WARD_ERR_STATE;
    }
    memset(res, 0, sizeof *res);
    memset(&link->wait, 0, sizeof link->wait);
    link->wait.kind = 1;
    link->wait.conn = conn;
    link->wait.res = res;
    link->wait.buf = buf;
    link->wait.cap = cap;
    ward_err_t err = ward_ble_link_att_send(link, conn, req, len);
    if (err == WARD_OK) {
        err = wait_for(link, clock, timeout_ms, false);
    }
    const ward_ble_link_wait_t w = link->wait;
    memset(&link->wait, 0, sizeof link->wait);
    if (err != WARD_OK) {
        return err;
    }
    if (w.gone) {
        return WARD_ERR_BLE_NO_CONN;
    }
    if (res->att_err != 0) {
        return WARD_ERR_BLE_ATT;
    }
    return w.truncated ? WARD_ERR_BUF_TOO_SMALL : WARD_OK;
}

ward_err_t ward_ble_link_encrypt(ward_ble_link_t *link, const ward_clock_t *clock, uint16_t conn,
                                 const uint8_t rand[8], uint16_t ediv, const uint8_t ltk[16],
                                 uint8_t key_flags, uint32_t timeout_ms, uint8_t *hci_status)
{
    if (link == NULL || clock == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (hci_status != NULL) {
        *hci_status = 0xFF;
    }
    memset(&link->wait, 0, sizeof link->wait);
    link->wait.kind = 2;
    link->wait.conn = conn;
    ward_err_t err = ward_hci_start_encryption(&link->hci, conn, rand, ediv, ltk, key_flags);
    if (err == WARD_OK) {
        err = wait_for(link, clock, timeout_ms, false);
    }
    const ward_ble_link_wait_t w = link->wait;
    memset(&link->wait, 0, sizeof link->wait);
    if (err != WARD_OK) {
        return err;
    }
    if (w.gone) {
        return WARD_ERR_BLE_NO_CONN;
    }
    if (hci_status != NULL) {
        *hci_status = w.status;
    }
    /* The verdict is the link's state, not only the event's word. */
    ward_ble_sec_t sec;
    err = ward_hci_conn_security(&link->hci, conn, &sec);
    if (err != WARD_OK) {
        return err;
    }
    return w.status == WARD_HCI_SUCCESS && sec.encrypted ? WARD_OK : WARD_ERR_BLE_ENCRYPTION;
}
