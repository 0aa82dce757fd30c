/*
 * ward l2cap: LE fixed channels over ACL. Outgoing PDUs wait in one queue
 * and leave in fragments of the controller's ACL size, one per free
 * controller buffer; incoming fragments are reassembled per connection
 * into a bounded buffer. ATT and SMP go to the l2cap callback; the LE
 * signalling channel answers requests with Command Reject (or a rejected
 * Connection Parameter Update on a central); other channels are dropped.
 */
#include <string.h>

#include "hci_priv.h"
#include "ward/util.h"

/* Packet_Boundary flags (handle bits 12-13). */
#define PB_FIRST_NONFLUSH 0x0u
#define PB_CONT 0x1u
#define PB_FIRST_FLUSH 0x2u

/* LE signalling codes. */
#define SIG_CMD_REJECT 0x01u
#define SIG_DISCONN_RSP 0x07u
#define SIG_CONN_PARAM_REQ 0x12u
#define SIG_CONN_PARAM_RSP 0x13u
#define SIG_LE_CREDIT_CONN_RSP 0x15u
#define SIG_FLOW_CREDIT_IND 0x16u
#define SIG_CREDIT_CONN_RSP 0x18u
#define SIG_RECONF_RSP 0x1Au

#define REC_HDR 4u /* queue record: handle (2), PDU length (2) */

static void queue_pdu_raw(ward_hci_t *hci, uint16_t handle, uint16_t cid, const uint8_t *pdu,
                          size_t len);

/* ---- signalling --------------------------------------------------------- */

static void le_signal(ward_hci_t *hci, ward_hci_conn_t *c, const uint8_t *p, size_t n)
{
    if (n < 4 || ward_load_le16(p + 2) != n - 4 || p[1] == 0) {
        hci->dropped++;
        return; /* malformed, or identifier 0 (never valid): ignore */
    }
    const uint8_t code = p[0];
    uint8_t rsp[6];
    switch (code) {
    case SIG_CMD_REJECT:
    case SIG_DISCONN_RSP:
    case SIG_CONN_PARAM_RSP:
    case SIG_LE_CREDIT_CONN_RSP:
    case SIG_FLOW_CREDIT_IND:
    case SIG_CREDIT_CONN_RSP:
    case SIG_RECONF_RSP:
        return; /* responses and indications: nothing to answer */
    case SIG_CONN_PARAM_REQ:
        if (c->role == WARD_HCI_ROLE_CENTRAL && n == 12) {
            rsp[0] = SIG_CONN_PARAM_RSP;
            rsp[1] = p[1];
            ward_store_le16(rsp + 2, 2);
            ward_store_le16(rsp + 4, 0x0001); /* rejected: we keep ours */
            queue_pdu_raw(hci, c->handle, WARD_L2CAP_CID_LE_SIGNAL, rsp, 6);
            return;
        }
        break;
    default:
        break;
    }
    rsp[0] = SIG_CMD_REJECT;
    rsp[1] = p[1];
    ward_store_le16(rsp + 2, 2);
    ward_store_le16(rsp + 4, 0x0000); /* command not understood */
    queue_pdu_raw(hci, c->handle, WARD_L2CAP_CID_LE_SIGNAL, rsp, 6);
}

#define HOLD_HDR 6u

/* A PDU that came after the controller's Encryption Change, while the key
 * size is read: kept until the ENCRYPTION event (ward_l2cap_release_held). */
static void hold_pdu(ward_hci_t *hci, uint16_t handle, uint16_t cid, const uint8_t *pdu, size_t n)
{
    if (hci->hold_len + HOLD_HDR + n > sizeof hci->hold) {
        hci->dropped++;
        return;
    }
    uint8_t *r = hci->hold + hci->hold_len;
    ward_store_le16(r, handle);
    ward_store_le16(r + 2, cid);
    ward_store_le16(r + 4, (uint16_t)n);
    memcpy(r + HOLD_HDR, pdu, n);
    hci->hold_len += HOLD_HDR + n;
}

void ward_l2cap_release_held(ward_hci_t *hci, uint16_t handle, bool deliver)
{
    uint8_t pdu[WARD_CONFIG_BLE_L2CAP_MTU];
    size_t off = 0;
    while (off < hci->hold_len) {
        const uint8_t *r = hci->hold + off;
        const uint16_t cid = ward_load_le16(r + 2);
        const size_t n = ward_load_le16(r + 4);
        const size_t rec = HOLD_HDR + n;
        if (ward_load_le16(r) != handle) {
            off += rec;
            continue;
        }
        /* Take it out first: the callback may hold nothing new (the link
         * is settled) but may send, and must see a consistent engine. */
        memcpy(pdu, r + HOLD_HDR, n);
        memmove(hci->hold + off, hci->hold + off + rec, hci->hold_len - off - rec);
        hci->hold_len -= rec;
        ward_wipe(hci->hold + hci->hold_len, rec);
        if (deliver && hci->cb.l2cap != NULL) {
            hci->cb.l2cap(hci->cb.ctx, handle, cid, pdu, n);
        }
        ward_wipe(pdu, n);
    }
}

static void sdu_done(ward_hci_t *hci, ward_hci_conn_t *c)
{
    const uint16_t cid = ward_load_le16(c->rx + 2);
    const size_t n = (size_t)c->rx_total - 4u;
    c->rx_active = false;
    switch (cid) {
    case WARD_L2CAP_CID_ATT:
    case WARD_L2CAP_CID_SMP:
        if (c->enc_state == ENC_KEYSIZE) {
            hold_pdu(hci, c->handle, cid, c->rx + 4, n);
        } else if (hci->cb.l2cap != NULL) {
            hci->cb.l2cap(hci->cb.ctx, c->handle, cid, c->rx + 4, n);
        }
        break;
    case WARD_L2CAP_CID_LE_SIGNAL:
        le_signal(hci, c, c->rx + 4, n);
        break;
    default:
        hci->dropped++; /* no such fixed channel here */
        break;
    }
    /* Callbacks cannot free c (a disconnect is only queued here). */
    ward_wipe(c->rx, c->rx_len);
    c->rx_len = 0;
    c->rx_total = 0;
}

void ward_l2cap_acl_in(ward_hci_t *hci, const uint8_t *pkt, size_t len)
{
    const uint16_t hf = ward_load_le16(pkt + 1);
    const uint16_t handle = hf & 0x0FFFu;
    const uint8_t pb = (uint8_t)((hf >> 12) & 0x3u);
    const uint8_t bc = (uint8_t)(hf >> 14);
    const uint8_t *d = pkt + 5;
    const size_t n = len - 5;
    ward_hci_conn_t *c = ward_hci_conn_find(hci, handle);
    if (c == NULL || bc != 0 || n == 0) {
        hci->dropped++;
        return;
    }
    if (pb == PB_FIRST_FLUSH || pb == PB_FIRST_NONFLUSH) {
        if (c->rx_active) {
            hci->dropped++; /* the previous PDU never completed */
        }
        c->rx_active = true;
        c->rx_discard = false;
        c->rx_len = 0;
        c->rx_total = 0;
    } else if (pb != PB_CONT || !c->rx_active) {
        hci->dropped++; /* a continuation of nothing, or a reserved PB value */
        return;
    }
    size_t i = 0;
    while (i < n) {
        if (c->rx_total == 0) {
            /* The basic header may itself be split between fragments. */
            while (i < n && c->rx_len < 4) {
                c->rx[c->rx_len++] = d[i++];
            }
            if (c->rx_len < 4) {
                return;
            }
            c->rx_total = 4u + (uint32_t)ward_load_le16(c->rx);
            if (c->rx_total > sizeof c->rx) {
                c->rx_discard = true; /* too long for us: skip it whole */
            }
            continue;
        }
        size_t k = n - i;
        if (c->rx_len + k > c->rx_total) {
            /* More bytes than the header announced: the PDU is malformed. */
            hci->dropped++;
            ward_wipe(c->rx, sizeof c->rx);
            c->rx_active = false;
            c->rx_len = 0;
            c->rx_total = 0;
            return;
        }
        if (!c->rx_discard) {
            memcpy(c->rx + c->rx_len, d + i, k);
        }
        c->rx_len += (uint32_t)k;
        i += k;
    }
    if (c->rx_total != 0 && c->rx_len == c->rx_total) {
        if (c->rx_discard) {
            hci->dropped++;
            c->rx_active = false;
            c->rx_discard = false;
            c->rx_len = 0;
            c->rx_total = 0;
            return;
        }
        sdu_done(hci, c);
    }
}

/* ---- sending ----------------------------------------------------------------- */

static void queue_pdu_raw(ward_hci_t *hci, uint16_t handle, uint16_t cid, const uint8_t *pdu,
                          size_t len)
{
    if (hci->acl_q_len + REC_HDR + 4u + len > sizeof hci->acl_q) {
        hci->dropped++;
        return;
    }
    uint8_t *r = hci->acl_q + hci->acl_q_len;
    ward_store_le16(r, handle);
    ward_store_le16(r + 2, (uint16_t)(4u + len));
    ward_store_le16(r + 4, (uint16_t)len);
    ward_store_le16(r + 6, cid);
    if (len > 0) {
        memcpy(r + 8, pdu, len);
    }
    hci->acl_q_len += REC_HDR + 4u + len;
}

ward_err_t ward_l2cap_send(ward_hci_t *hci, uint16_t handle, uint16_t cid, const uint8_t *pdu,
                           size_t len)
{
    if (hci == NULL || (pdu == NULL && len > 0) || len > WARD_CONFIG_BLE_L2CAP_MTU) {
        return WARD_ERR_INVALID_ARG;
    }
    if (ward_hci_conn_find(hci, handle) == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    if (hci->acl_q_len + REC_HDR + 4u + len > sizeof hci->acl_q) {
        return WARD_ERR_BLE_BUSY;
    }
    queue_pdu_raw(hci, handle, cid, pdu, len);
    return WARD_OK;
}

/* Remove the head record. */
static void pop_head(ward_hci_t *hci)
{
    const size_t rec = REC_HDR + ward_load_le16(hci->acl_q + 2);
    memmove(hci->acl_q, hci->acl_q + rec, hci->acl_q_len - rec);
    hci->acl_q_len -= rec;
    ward_wipe(hci->acl_q + hci->acl_q_len, rec);
    hci->acl_tx_off = 0;
}

bool ward_l2cap_acl_out(ward_hci_t *hci, uint8_t *out, size_t cap, size_t *len)
{
    if (hci->acl_q_len == 0 || hci->acl_credits == 0) {
        return false;
    }
    const uint16_t handle = ward_load_le16(hci->acl_q);
    const size_t total = ward_load_le16(hci->acl_q + 2);
    ward_hci_conn_t *c = ward_hci_conn_find(hci, handle);
    if (c == NULL) {
        pop_head(hci); /* the link went away meanwhile */
        return false;
    }
    size_t n = total - hci->acl_tx_off;
    if (n > hci->acl_mtu) {
        n = hci->acl_mtu;
    }
    if (n + 5u > cap) {
        n = cap - 5u;
    }
    const uint16_t pb = hci->acl_tx_off == 0 ? PB_FIRST_NONFLUSH : PB_CONT;
    out[0] = H4_ACL;
    ward_store_le16(out + 1, (uint16_t)(handle | (pb << 12)));
    ward_store_le16(out + 3, (uint16_t)n);
    memcpy(out + 5, hci->acl_q + REC_HDR + hci->acl_tx_off, n);
    *len = 5u + n;
    hci->acl_tx_off += n;
    hci->acl_credits--;
    c->in_flight++;
    if (hci->acl_tx_off == total) {
        pop_head(hci);
    }
    return true;
}

void ward_l2cap_conn_drop(ward_hci_t *hci, ward_hci_conn_t *c)
{
    /* The controller flushed what it held for this link: its buffers are
     * free again. */
    hci->acl_credits = (uint16_t)(hci->acl_credits + c->in_flight);
    if (hci->acl_credits > hci->acl_pkts) {
        hci->acl_credits = hci->acl_pkts;
    }
    c->in_flight = 0;
    ward_l2cap_release_held(hci, c->handle, false);
    /* Drop what is still queued for it (a partly sent head included). */
    size_t off = 0;
    while (off < hci->acl_q_len) {
        const size_t rec = REC_HDR + ward_load_le16(hci->acl_q + off + 2);
        if (ward_load_le16(hci->acl_q + off) == c->handle) {
            if (off == 0) {
                hci->acl_tx_off = 0;
            }
            memmove(hci->acl_q + off, hci->acl_q + off + rec, hci->acl_q_len - off - rec);
            hci->acl_q_len -= rec;
            ward_wipe(hci->acl_q + hci->acl_q_len, rec);
        } else {
            off += rec;
        }
    }
}

bool ward_hci_conn_flushed(const ward_hci_t *hci, uint16_t handle)
{
    if (hci == NULL) {
        return true;
    }
    for (size_t off = 0; off < hci->acl_q_len;) {
        if (ward_load_le16(hci->acl_q + off) == handle) {
            return false;
        }
        off += REC_HDR + ward_load_le16(hci->acl_q + off + 2);
    }
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        if (hci->conn[i].used && hci->conn[i].handle == handle) {
            return hci->conn[i].in_flight == 0u;
        }
    }
    return true;
}
