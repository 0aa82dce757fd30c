/*
 * Fuzz target: arbitrary ATT PDU sequences against the GATT server (the
 * plug's table plus a test service with every policy), under a link
 * security that changes between PDUs; the same PDUs also go to an ATT
 * client with a request outstanding.
 *
 * Input: records of [security][length][PDU bytes]. security: bit 0
 * encrypted, bits 1-2 key flags (authenticated, SC), bit 3 the key is a
 * bond's, bit 4 a bond exists, bits 5-7 key size 7 + 3 * n (capped at 16).
 *
 * Oracles (abort): a value handler runs on a link the attribute's policy
 * refuses (checked by a reference implementation of the decision here); a
 * response longer than the ATT_MTU; a response that is neither nothing,
 * an Error Response naming the request, nor the request's own response
 * opcode; an Error Response with code 0; an MTU outside 23..ours.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/att.h"
#include "ward/gatt_plug.h"
#include "ward/util.h"

static ward_ble_sec_t g_sec;
static ward_gatt_attr_t g_attrs[WARD_GATT_PLUG_ATTRS + 8];
static ward_att_server_t g_srv;
static uint8_t g_authz;

/* The policy, written again from the spec's order, independently. */
static bool ref_allows(ward_gatt_access_t a, const ward_ble_sec_t *s)
{
    const uint8_t f = WARD_GATT_ACCESS_FLAGS(a);
    const uint8_t ks = WARD_GATT_ACCESS_KEY_SIZE(a);
    if (!(f & WARD_GATT_ALLOW)) {
        return false;
    }
    if ((f & (WARD_GATT_ENC | WARD_GATT_AUTHEN | WARD_GATT_SC | WARD_GATT_BOND)) || ks) {
        if (!s->encrypted || s->key_size < (ks > 7 ? ks : 7)) {
            return false;
        }
        if ((f & WARD_GATT_AUTHEN) && !(s->key_flags & WARD_BLE_KEY_AUTHENTICATED)) {
            return false;
        }
        if ((f & WARD_GATT_SC) && !(s->key_flags & WARD_BLE_KEY_SC)) {
            return false;
        }
        if ((f & WARD_GATT_BOND) && !(s->key_flags & WARD_BLE_KEY_BONDED)) {
            return false;
        }
    }
    if ((f & WARD_GATT_AUTHOR) && g_authz != 0) {
        return false;
    }
    return true;
}

/* The attribute a handler serves is found by its user pointer. */
static uint8_t h_read(void *user, uint16_t conn, uint8_t *out, size_t cap, size_t *len)
{
    const ward_gatt_attr_t *a = user;
    (void)conn;
    if (!ref_allows(a->read, &g_sec)) {
        abort(); /* a protected value was read on a link that may not */
    }
    const size_t n = cap < 300 ? cap : 300;
    memset(out, 0x5A, n);
    *len = n;
    return 0;
}

static uint8_t h_write(void *user, uint16_t conn, const uint8_t *val, size_t len)
{
    const ward_gatt_attr_t *a = user;
    (void)conn;
    (void)val;
    if (!ref_allows(a->write, &g_sec) || len > a->max_len) {
        abort();
    }
    return len == 3 ? 0x80 : 0; /* an application error now and then */
}

static uint8_t h_authorize(void *ctx, uint16_t conn, uint16_t handle, bool write)
{
    (void)ctx;
    (void)conn;
    (void)handle;
    (void)write;
    return g_authz;
}

/* The plug's hooks only reach the device: they check the policy too. */
static uint8_t p_status(void *ctx, uint16_t conn, uint8_t *out, size_t cap, size_t *len)
{
    (void)ctx;
    (void)conn;
    (void)cap;
    if (!ref_allows(g_attrs[WARD_GATT_PLUG_H_STATUS - 1].read, &g_sec)) {
        abort();
    }
    out[0] = 0;
    *len = 1;
    return 0;
}

static uint8_t p_relay(void *ctx, uint16_t conn, bool on)
{
    (void)ctx;
    (void)conn;
    (void)on;
    if (!ref_allows(g_attrs[WARD_GATT_PLUG_H_RELAY - 1].write, &g_sec)) {
        abort();
    }
    return 0;
}

static uint8_t p_wifi(void *ctx, uint16_t conn, const uint8_t *ssid, size_t sl, const uint8_t *psk,
                      size_t pl)
{
    (void)ctx;
    (void)conn;
    (void)ssid;
    (void)sl;
    (void)psk;
    (void)pl;
    if (!ref_allows(g_attrs[WARD_GATT_PLUG_H_WIFI - 1].write, &g_sec)) {
        abort();
    }
    return 0;
}

static uint8_t p_reset(void *ctx, uint16_t conn)
{
    (void)ctx;
    (void)conn;
    if (!ref_allows(g_attrs[WARD_GATT_PLUG_H_RESET - 1].write, &g_sec)) {
        abort();
    }
    return 0;
}

static const uint8_t k_svc[2] = {0xF0, 0xFF};

static void build_db(ward_gatt_plug_t *plug, ward_gatt_db_t *db)
{
    const ward_gatt_plug_hooks_t hooks = {NULL, p_status, p_relay, p_wifi, p_reset};
    if (ward_gatt_plug_init(plug, "fuzz plug", &hooks, true) != WARD_OK) {
        abort();
    }
    memcpy(g_attrs, plug->attrs, sizeof plug->attrs);
    ward_gatt_attr_t *t = g_attrs + WARD_GATT_PLUG_ATTRS;
#define RW(fl, ks) WARD_GATT_ACCESS(WARD_GATT_ALLOW | (fl), (ks))
    const ward_gatt_attr_t extra[8] = {
        WARD_GATT_PRIMARY_SERVICE(k_svc, 2),
        WARD_GATT_CHARACTERISTIC(WARD_UUID16(0xFFF1), 0x0A, WARD_GATT_OPEN_ACCESS,
                                 WARD_GATT_OPEN_ACCESS, h_read, h_write, 512, NULL),
        WARD_GATT_CHARACTERISTIC(WARD_UUID16(0xFFF2), 0x0A, RW(WARD_GATT_ENC, 7),
                                 RW(WARD_GATT_AUTHEN | WARD_GATT_AUTHOR, 16), h_read, h_write, 40,
                                 NULL),
        WARD_GATT_CHARACTERISTIC(WARD_UUID16(0xFFF3), 0x1A, RW(WARD_GATT_SC | WARD_GATT_BOND, 12),
                                 RW(WARD_GATT_BOND, 0), h_read, h_write, 100, NULL),
        WARD_GATT_CCC(RW(WARD_GATT_ENC, 0)),
    };
#undef RW
    memcpy(t, extra, sizeof extra);
    /* Each test handler gets its own attribute as user pointer. */
    for (size_t i = 0; i < 8; i++) {
        if (t[i].read_fn == h_read) {
            t[i].user = &t[i];
        }
    }
    db->attrs = g_attrs;
    db->count = (uint16_t)(sizeof g_attrs / sizeof g_attrs[0]);
}

static void check_rsp(const ward_att_bearer_t *b, const uint8_t *req, const uint8_t *rsp, size_t n)
{
    if (n == 0) {
        return;
    }
    if (n > b->mtu) {
        abort();
    }
    if (rsp[0] == WARD_ATT_ERROR_RSP) {
        if (n != 5 || rsp[1] != req[0] || rsp[4] == 0) {
            abort();
        }
        return;
    }
    if (rsp[0] != (uint8_t)(req[0] + 1u) || (req[0] & 0x40u) != 0) {
        abort();
    }
    if (rsp[0] == WARD_ATT_MTU_RSP && (b->mtu < 23 || b->mtu > WARD_CONFIG_ATT_MTU)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ward_gatt_plug_t plug;
    static ward_gatt_db_t db;
    static ward_att_bearer_t b;
    static ward_att_client_t cl;
    static uint8_t rsp[WARD_CONFIG_ATT_MTU];
    build_db(&plug, &db);
    if (ward_att_server_init(&g_srv, &db, h_authorize, NULL) != WARD_OK) {
        abort();
    }
    ward_att_bearer_init(&b, 0x40);
    ward_att_client_init(&cl);
    size_t i = 0;
    unsigned n_pdu = 0;
    while (i + 2 <= size) {
        const uint8_t s = data[i];
        size_t len = data[i + 1];
        i += 2;
        if (len > size - i) {
            len = size - i;
        }
        const uint8_t *pdu = data + i;
        i += len;
        memset(&g_sec, 0, sizeof g_sec);
        g_sec.encrypted = (s & 1) != 0;
        if (g_sec.encrypted) {
            const unsigned ks = 7u + 3u * (s >> 5);
            g_sec.key_size = (uint8_t)(ks > 16 ? 16 : ks);
            g_sec.key_flags = (uint8_t)(((s >> 1) & 3) | ((s & 8) ? WARD_BLE_KEY_BONDED : 0));
        }
        g_sec.bonded = (s & 0x10) != 0;
        g_authz = (n_pdu++ % 3 == 0) ? 0 : WARD_ATT_ERR_AUTHORIZATION;
        size_t n = 0;
        if (ward_att_server_input(&g_srv, &b, &g_sec, pdu, len, rsp, sizeof rsp, &n) != WARD_OK) {
            abort();
        }
        if (len > 0) {
            check_rsp(&b, pdu, rsp, n);
        }
        /* The client side: something is always outstanding. */
        if (cl.pending == 0) {
            uint8_t req[8];
            size_t rn = 0;
            static const uint8_t k_ops[4] = {WARD_ATT_READ_REQ, WARD_ATT_MTU_REQ,
                                             WARD_ATT_READ_GROUP_REQ, WARD_ATT_FIND_INFO_REQ};
            switch (k_ops[n_pdu % 4]) {
            case WARD_ATT_MTU_REQ:
                (void)ward_att_client_mtu(&cl, 100, req, sizeof req, &rn);
                break;
            case WARD_ATT_READ_GROUP_REQ:
                (void)ward_att_client_read_group(&cl, 1, 0xFFFF, 0x2800, req, sizeof req, &rn);
                break;
            case WARD_ATT_FIND_INFO_REQ:
                (void)ward_att_client_find_info(&cl, 1, 0xFFFF, req, sizeof req, &rn);
                break;
            default:
                (void)ward_att_client_read(&cl, 3, req, sizeof req, &rn);
                break;
            }
        }
        ward_att_result_t res;
        if (ward_att_client_input(&cl, pdu, len, &res) == WARD_OK) {
            size_t it = 0;
            uint16_t h, e;
            const uint8_t *v;
            size_t vl;
            while (ward_att_result_next(&res, &it, &h, &e, &v, &vl)) {
                if (v + vl > res.data + res.data_len) {
                    abort();
                }
            }
            if (cl.mtu < 23 || cl.mtu > WARD_CONFIG_ATT_MTU) {
                abort();
            }
        }
    }
    return 0;
}
