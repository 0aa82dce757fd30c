/*
 * Fuzz target: an H4 byte stream from a (hostile) controller into the whole
 * link side: HCI events, ACL reassembly, L2CAP signalling, the ATT server
 * with the plug's GATT table, the ATT client and the SMP hook, through
 * ward_ble_link over an in-memory transport.
 *
 * Input: [0] options (bit 0: the LTK callback has a key; bit 1: a bond
 * exists; bits 2-4: receive chunk size 1..8 x 7 bytes), then the stream.
 * The engine first gets a well-formed start-up (Reset .. LE Read Buffer
 * Size: 27-byte ACL buffers, 2 of them), so the stream reaches the ready
 * state.
 *
 * Oracles (abort): ACL credits above the controller's count; a link
 * reported encrypted without a key size in 7..16; an encrypted link whose
 * key flags were never handed out; an H4 packet sent that is not a whole,
 * well-formed command or ACL packet within the controller's ACL size; an
 * L2CAP PDU sent on a channel other than 4, 5, 6; an ATT PDU longer than
 * the connection's ATT_MTU.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/ble_link.h"
#include "ward/gatt_plug.h"
#include "ward/util.h"

typedef struct {
    const uint8_t *in;
    size_t len, pos, chunk;
    ward_ble_link_t *link;
    bool ltk, bond;
} fz_t;

static const uint8_t k_startup[] = {
    0x04, 0x0E, 0x04, 0x01, 0x03, 0x0C, 0x00,                                     /* Reset */
    0x04, 0x0E, 0x04, 0x01, 0x01, 0x0C, 0x00,                                     /* Event Mask */
    0x04, 0x0E, 0x04, 0x01, 0x01, 0x20, 0x00,                                     /* LE Event Mask */
    0x04, 0x0E, 0x0A, 0x01, 0x09, 0x10, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, /* BD_ADDR */
    0x04, 0x0E, 0x07, 0x01, 0x02, 0x20, 0x00, 0x1B, 0x00, 0x02,                   /* LE buffers */
};
static const uint8_t k_ltk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
#define FZ_FLAGS (WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED)

static void check_sent_acl(ward_ble_link_t *link, const uint8_t *p, size_t n)
{
    /* One ACL packet of ours: header, then at most the controller's size. */
    if (n < 5 || ward_load_le16(p + 3) != n - 5 || n - 5 > link->hci.acl_mtu ||
        (ward_load_le16(p + 1) >> 14) != 0) {
        abort();
    }
    /* A first fragment starts an L2CAP PDU on a fixed LE channel. */
    if ((ward_load_le16(p + 1) >> 12) == 0 && n >= 9) {
        const uint16_t cid = ward_load_le16(p + 7);
        const uint16_t l2len = ward_load_le16(p + 5);
        if (cid != 4 && cid != 5 && cid != 6) {
            abort();
        }
        if (cid == 4) {
            const ward_att_bearer_t *b = ward_ble_link_bearer(link, ward_load_le16(p + 1) & 0x0FFF);
            if (b != NULL && l2len > b->mtu) {
                abort();
            }
        }
    }
}

static ward_err_t fz_send(void *ctx, const uint8_t *buf, size_t len)
{
    const fz_t *f = ctx;
    if (len < 4) {
        abort();
    }
    if (buf[0] == 0x01) {
        if (buf[3] != len - 4) {
            abort();
        }
    } else if (buf[0] == 0x02) {
        check_sent_acl(f->link, buf, len);
    } else {
        abort();
    }
    return WARD_OK;
}

static ward_err_t fz_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t timeout_ms)
{
    fz_t *f = ctx;
    (void)timeout_ms;
    size_t k = f->len - f->pos < f->chunk ? f->len - f->pos : f->chunk;
    if (k > cap) {
        k = cap;
    }
    memcpy(buf, f->in + f->pos, k);
    f->pos += k;
    *got = k;
    return WARD_OK;
}

static ward_err_t fz_ltk(void *ctx, uint16_t conn, const ward_ble_addr_t *peer, uint16_t ediv,
                         const uint8_t rand[8], uint8_t ltk[16], uint8_t *key_flags)
{
    const fz_t *f = ctx;
    (void)conn;
    (void)peer;
    (void)ediv;
    (void)rand;
    if (!f->ltk) {
        return WARD_ERR_NOT_FOUND;
    }
    memcpy(ltk, k_ltk, 16);
    *key_flags = FZ_FLAGS;
    return WARD_OK;
}

static bool fz_bond(void *ctx, const ward_ble_addr_t *peer)
{
    const fz_t *f = ctx;
    (void)peer;
    return f->bond;
}

static void fz_smp(void *ctx, uint16_t conn, const uint8_t *pdu, size_t len)
{
    fz_t *f = ctx;
    /* Echo what SMP got, as an engine answering would. */
    (void)ward_ble_link_smp_send(f->link, conn, pdu, len > 65 ? 65 : len);
}

static uint8_t fz_status(void *ctx, uint16_t conn, uint8_t *out, size_t cap, size_t *len)
{
    (void)ctx;
    (void)conn;
    (void)cap;
    out[0] = 1;
    *len = 1;
    return 0;
}

static uint8_t fz_relay(void *ctx, uint16_t conn, bool on)
{
    (void)ctx;
    (void)conn;
    (void)on;
    return 0;
}

static void check_invariants(ward_ble_link_t *link)
{
    const ward_hci_t *h = &link->hci;
    if (h->acl_credits > h->acl_pkts) {
        abort();
    }
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        const ward_hci_conn_t *c = &h->conn[i];
        if (!c->used) {
            continue;
        }
        ward_ble_sec_t sec;
        if (ward_hci_conn_security(h, c->handle, &sec) != WARD_OK) {
            abort();
        }
        if (sec.encrypted && (sec.key_size < 7 || sec.key_size > 16)) {
            abort();
        }
        /* Key properties come only with an LTK the engine handed out. */
        if (sec.encrypted && sec.key_flags != 0 && sec.key_flags != FZ_FLAGS) {
            abort();
        }
        if (c->in_flight > h->acl_pkts) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    static ward_ble_link_t link;
    static ward_gatt_plug_t plug;
    static ward_att_server_t srv;
    static uint8_t stream[sizeof k_startup + 65536];
    fz_t f;
    memset(&f, 0, sizeof f);
    f.ltk = (data[0] & 1) != 0;
    f.bond = (data[0] & 2) != 0;
    f.chunk = 7u * (1u + ((data[0] >> 2) & 7u));
    const size_t body = size - 1 < 65536 ? size - 1 : 65536;
    memcpy(stream, k_startup, sizeof k_startup);
    memcpy(stream + sizeof k_startup, data + 1, body);
    f.in = stream;
    f.len = sizeof k_startup + body;
    f.link = &link;

    const ward_gatt_plug_hooks_t hooks = {NULL, fz_status, fz_relay, NULL, NULL};
    if (ward_gatt_plug_init(&plug, "fuzz", &hooks, false) != WARD_OK ||
        ward_att_server_init(&srv, ward_gatt_plug_db(&plug), NULL, NULL) != WARD_OK) {
        abort();
    }
    const ward_hci_transport_t tr = {&f, fz_send, fz_recv};
    const ward_ble_link_config_t cfg = {.transport = &tr,
                                        .server = &srv,
                                        .ctx = &f,
                                        .smp_rx = fz_smp,
                                        .ltk_request = fz_ltk,
                                        .bond_exists = fz_bond};
    if (ward_ble_link_init(&link, &cfg) != WARD_OK) {
        abort();
    }
    /* Give the engine one poll per chunk, and some to drain at the end. */
    for (size_t rounds = 0; rounds < f.len / f.chunk + 16; rounds++) {
        ward_err_t err = ward_ble_link_poll(&link, 0);
        if (err == WARD_ERR_BLE_H4) {
            break; /* out of sync: the documented end of the stream */
        }
        if (err != WARD_OK) {
            abort();
        }
        check_invariants(&link);
        /* The phone side too: a client request now and then. */
        if (rounds % 8 == 7) {
            for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
                if (link.conn[i].used) {
                    uint8_t pdu[32];
                    size_t n = 0;
                    ward_att_client_t *cl = &link.conn[i].client;
                    if (ward_att_client_read(cl, 3, pdu, sizeof pdu, &n) == WARD_OK) {
                        (void)ward_ble_link_att_send(&link, link.conn[i].handle, pdu, n);
                    }
                }
            }
        }
    }
    return 0;
}
