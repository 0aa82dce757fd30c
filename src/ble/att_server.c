/*
 * ward att server: the GATT database, the access policy and the ATT
 * requests a GATT client needs (MTU, discovery, reads, writes, prepared
 * writes), with exact PDU lengths. One request in, at most one PDU out.
 */
#include <string.h>

#include "ward/att.h"
#include "ward/util.h"

#define ATT_DEFAULT_MTU 23u

static const uint8_t k_base_uuid[16] = {0xFB, 0x34, 0x9B, 0x5F, 0x80, 0x00, 0x00, 0x80,
                                        0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

static void uuid_to_128(const ward_uuid_t *u, uint8_t out[16])
{
    if (u->len == 16) {
        memcpy(out, u->u, 16);
        return;
    }
    memcpy(out, k_base_uuid, 16);
    out[12] = u->u[0];
    out[13] = u->u[1];
}

bool ward_uuid_equal(const ward_uuid_t *a, const ward_uuid_t *b)
{
    if ((a->len != 2 && a->len != 16) || (b->len != 2 && b->len != 16)) {
        return false;
    }
    if (a->len == 2 && b->len == 2) {
        return a->u[0] == b->u[0] && a->u[1] == b->u[1];
    }
    uint8_t x[16], y[16];
    uuid_to_128(a, x);
    uuid_to_128(b, y);
    return memcmp(x, y, 16) == 0;
}

static bool is_uuid16(const ward_uuid_t *u, uint16_t v)
{
    return u->len == 2 && ward_load_le16(u->u) == v;
}

static bool is_service(const ward_gatt_attr_t *a)
{
    return is_uuid16(&a->type, WARD_GATT_UUID_PRIMARY) ||
           is_uuid16(&a->type, WARD_GATT_UUID_SECONDARY);
}

static const ward_gatt_attr_t *attr_at(const ward_att_server_t *srv, uint16_t handle)
{
    if (handle == 0 || handle > srv->db->count) {
        return NULL;
    }
    return &srv->db->attrs[handle - 1u];
}

/* ---- the database check ------------------------------------------------------ */

static bool access_ok(ward_gatt_access_t a)
{
    const uint8_t known = WARD_GATT_ALLOW | WARD_GATT_ENC | WARD_GATT_AUTHEN | WARD_GATT_SC |
                          WARD_GATT_BOND | WARD_GATT_AUTHOR;
    const uint8_t ks = WARD_GATT_ACCESS_KEY_SIZE(a);
    return (WARD_GATT_ACCESS_FLAGS(a) & ~known) == 0 && (ks == 0 || (ks >= 7 && ks <= 16));
}

ward_err_t ward_att_server_init(ward_att_server_t *srv, const ward_gatt_db_t *db,
                                ward_gatt_authorize_fn authorize, void *authorize_ctx)
{
    if (srv == NULL || db == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(srv, 0, sizeof *srv);
    if (db->attrs == NULL || db->count == 0 || db->count > 0xFFFEu || !is_service(&db->attrs[0])) {
        return WARD_ERR_BLE_GATT_DB;
    }
    unsigned ccc = 0;
    uint8_t props = 0; /* of the characteristic being described */
    for (uint16_t i = 0; i < db->count; i++) {
        const ward_gatt_attr_t *a = &db->attrs[i];
        if ((a->type.len != 2 && a->type.len != 16) || !access_ok(a->read) ||
            !access_ok(a->write) || a->max_len > WARD_GATT_VALUE_MAX ||
            a->value_len > WARD_GATT_VALUE_MAX || (a->value == NULL && a->value_len != 0)) {
            return WARD_ERR_BLE_GATT_DB;
        }
        const bool decl = is_service(a) || is_uuid16(&a->type, WARD_GATT_UUID_CHARACTERISTIC);
        /* Declarations: read by anyone, written by no one (Core Vol 3 Part
         * G 3.1, 3.3.1). Discovery serves them without asking the policy. */
        if (decl && (a->read != WARD_GATT_OPEN_ACCESS || a->write != WARD_GATT_NONE_ACCESS)) {
            return WARD_ERR_BLE_GATT_DB;
        }
        if (is_service(a)) {
            if (a->value == NULL || (a->value_len != 2 && a->value_len != 16)) {
                return WARD_ERR_BLE_GATT_DB;
            }
            props = 0;
        } else if (is_uuid16(&a->type, WARD_GATT_UUID_CHARACTERISTIC)) {
            if (i + 1u >= db->count) {
                return WARD_ERR_BLE_GATT_DB;
            }
            const ward_gatt_attr_t *v = &db->attrs[i + 1u];
            if (is_service(v) || is_uuid16(&v->type, WARD_GATT_UUID_CHARACTERISTIC) ||
                is_uuid16(&v->type, WARD_GATT_UUID_CCC)) {
                return WARD_ERR_BLE_GATT_DB;
            }
            props = a->props;
            i++; /* the value: checked here */
            if ((v->type.len != 2 && v->type.len != 16) || !access_ok(v->read) ||
                !access_ok(v->write) || v->max_len > WARD_GATT_VALUE_MAX ||
                v->value_len > WARD_GATT_VALUE_MAX || (v->value == NULL && v->value_len != 0) ||
                ((WARD_GATT_ACCESS_FLAGS(v->write) & WARD_GATT_ALLOW) != 0 && v->write_fn == NULL)) {
                return WARD_ERR_BLE_GATT_DB;
            }
        } else if (is_uuid16(&a->type, WARD_GATT_UUID_CCC)) {
            if ((props & WARD_GATT_PROP_NOTIFY) == 0 || ++ccc > WARD_CONFIG_GATT_MAX_CCC) {
                return WARD_ERR_BLE_GATT_DB;
            }
        } else if ((WARD_GATT_ACCESS_FLAGS(a->write) & WARD_GATT_ALLOW) != 0 && a->write_fn == NULL) {
            return WARD_ERR_BLE_GATT_DB; /* a writable descriptor without a handler */
        }
    }
    srv->db = db;
    srv->authorize = authorize;
    srv->authorize_ctx = authorize_ctx;
    return WARD_OK;
}

void ward_att_bearer_init(ward_att_bearer_t *b, uint16_t conn)
{
    ward_wipe(b, sizeof *b);
    b->conn = conn;
    b->mtu = ATT_DEFAULT_MTU;
}

/* Index of the CCC at handle among the database's CCCs. */
static unsigned ccc_index(const ward_att_server_t *srv, uint16_t handle)
{
    unsigned n = 0;
    for (uint16_t h = 1; h < handle; h++) {
        if (is_uuid16(&srv->db->attrs[h - 1u].type, WARD_GATT_UUID_CCC)) {
            n++;
        }
    }
    return n;
}

/* The declaration of the characteristic that handle belongs to (0: none). */
static uint16_t decl_of(const ward_att_server_t *srv, uint16_t handle)
{
    for (uint16_t h = handle; h >= 1; h--) {
        const ward_gatt_attr_t *a = &srv->db->attrs[h - 1u];
        if (is_uuid16(&a->type, WARD_GATT_UUID_CHARACTERISTIC)) {
            return h;
        }
        if (is_service(a)) {
            return 0;
        }
    }
    return 0;
}

/* ---- the access policy -------------------------------------------------- */

/* Steps 1-6: what the link's security allows (the hook is step 7). */
static uint8_t decide_security(ward_gatt_access_t need, const ward_ble_sec_t *sec, bool write)
{
    const uint8_t f = WARD_GATT_ACCESS_FLAGS(need);
    const uint8_t ks = WARD_GATT_ACCESS_KEY_SIZE(need);
    if ((f & WARD_GATT_ALLOW) == 0) {
        return write ? WARD_ATT_ERR_WRITE_NOT_PERMITTED : WARD_ATT_ERR_READ_NOT_PERMITTED;
    }
    const bool needs_sec =
        (f & (WARD_GATT_ENC | WARD_GATT_AUTHEN | WARD_GATT_SC | WARD_GATT_BOND)) != 0 || ks != 0;
    if (!needs_sec) {
        return 0;
    }
    if (!sec->encrypted) {
        /* A bonded peer holds a key and should re-encrypt; anyone else must
         * pair first. */
        return sec->bonded ? WARD_ATT_ERR_ENCRYPTION : WARD_ATT_ERR_AUTHENTICATION;
    }
    if ((f & WARD_GATT_AUTHEN) != 0 && (sec->key_flags & WARD_BLE_KEY_AUTHENTICATED) == 0) {
        return WARD_ATT_ERR_AUTHENTICATION;
    }
    if ((f & WARD_GATT_SC) != 0 && (sec->key_flags & WARD_BLE_KEY_SC) == 0) {
        return WARD_ATT_ERR_AUTHENTICATION;
    }
    if ((f & WARD_GATT_BOND) != 0 && (sec->key_flags & WARD_BLE_KEY_BONDED) == 0) {
        return WARD_ATT_ERR_AUTHENTICATION;
    }
    const uint8_t min = ks > 7 ? ks : 7;
    if (sec->key_size < min || sec->key_size > 16) {
        return WARD_ATT_ERR_KEY_SIZE;
    }
    return 0;
}

uint8_t ward_gatt_check_access(const ward_att_server_t *srv, uint16_t conn, uint16_t handle,
                               ward_gatt_access_t need, const ward_ble_sec_t *sec, bool write,
                               ward_fih_t *fih)
{
    volatile ward_fih_t res = WARD_FIH_FAILURE;
    *fih = WARD_FIH_FAILURE;
    const uint8_t e1 = decide_security(need, sec, write);
    if (e1 != 0) {
        return e1;
    }
    /* Taken twice: a skipped branch in one pass does not open the door. */
    const uint8_t e2 = decide_security(need, sec, write);
    if (e2 != 0) {
        return WARD_ATT_ERR_UNLIKELY;
    }
    if ((WARD_GATT_ACCESS_FLAGS(need) & WARD_GATT_AUTHOR) != 0) {
        if (srv == NULL || srv->authorize == NULL) {
            return WARD_ATT_ERR_AUTHORIZATION;
        }
        const uint8_t a = srv->authorize(srv->authorize_ctx, conn, handle, write);
        if (a != 0) {
            return a;
        }
    }
    res = WARD_FIH_SUCCESS;
    *fih = res;
    return 0;
}

/* 0 only if the policy allows the operation, checked through the hardened
 * result as well as the code. */
static uint8_t allowed(const ward_att_server_t *srv, const ward_att_bearer_t *b, uint16_t handle,
                       ward_gatt_access_t need, const ward_ble_sec_t *sec, bool write)
{
    ward_fih_t fih = WARD_FIH_FAILURE;
    const uint8_t e = ward_gatt_check_access(srv, b->conn, handle, need, sec, write, &fih);
    if (e != 0) {
        return e;
    }
    if (!WARD_FIH_EQ(fih)) {
        return WARD_ATT_ERR_UNLIKELY;
    }
    return 0;
}

/* ---- values --------------------------------------------------------------- */

/* The current value of attribute `handle` into srv->scratch. */
static uint8_t read_value(ward_att_server_t *srv, const ward_att_bearer_t *b, uint16_t handle,
                          size_t *len)
{
    const ward_gatt_attr_t *a = attr_at(srv, handle);
    uint8_t *out = srv->scratch;
    *len = 0;
    if (is_uuid16(&a->type, WARD_GATT_UUID_CHARACTERISTIC)) {
        const ward_gatt_attr_t *v = attr_at(srv, (uint16_t)(handle + 1u));
        out[0] = a->props;
        ward_store_le16(out + 1, (uint16_t)(handle + 1u));
        memcpy(out + 3, v->type.u, v->type.len);
        *len = 3u + v->type.len;
        return 0;
    }
    if (is_uuid16(&a->type, WARD_GATT_UUID_CCC)) {
        ward_store_le16(out, b->ccc[ccc_index(srv, handle)]);
        *len = 2;
        return 0;
    }
    if (a->read_fn != NULL) {
        size_t n = 0;
        const uint8_t e = a->read_fn(a->user, b->conn, out, sizeof srv->scratch, &n);
        if (e != 0) {
            return e;
        }
        if (n > sizeof srv->scratch) {
            return WARD_ATT_ERR_UNLIKELY;
        }
        *len = n;
        return 0;
    }
    if (a->value_len > 0) {
        memcpy(out, a->value, a->value_len);
    }
    *len = a->value_len;
    return 0;
}

static uint8_t write_ccc(const ward_att_server_t *srv, ward_att_bearer_t *b, uint16_t handle,
                         const uint8_t *val, size_t len)
{
    if (len != 2) {
        return WARD_ATT_ERR_INVALID_LENGTH;
    }
    const uint16_t v = ward_load_le16(val);
    if ((v & ~0x0003u) != 0) {
        return WARD_ATT_ERR_VALUE_NOT_ALLOWED;
    }
    if ((v & 0x0002u) != 0) {
        return WARD_ATT_ERR_CCC_IMPROPER; /* indications: not offered */
    }
    b->ccc[ccc_index(srv, handle)] = v;
    return 0;
}

static uint8_t write_value(const ward_att_server_t *srv, ward_att_bearer_t *b, uint16_t handle,
                           const uint8_t *val, size_t len)
{
    const ward_gatt_attr_t *a = attr_at(srv, handle);
    if (len > a->max_len) {
        return WARD_ATT_ERR_INVALID_LENGTH;
    }
    if (is_uuid16(&a->type, WARD_GATT_UUID_CCC)) {
        return write_ccc(srv, b, handle, val, len);
    }
    if (a->write_fn == NULL) {
        return WARD_ATT_ERR_WRITE_NOT_PERMITTED;
    }
    return a->write_fn(a->user, b->conn, val, len);
}

/* ---- responses -------------------------------------------------------------- */

static size_t err_rsp(uint8_t *rsp, uint8_t req, uint16_t handle, uint8_t code)
{
    rsp[0] = WARD_ATT_ERROR_RSP;
    rsp[1] = req;
    ward_store_le16(rsp + 2, handle);
    rsp[4] = code;
    return 5;
}

/* Decode a start/end handle pair; 0 if valid, else the error response. */
static bool range_ok(const uint8_t *p, uint16_t *start, uint16_t *end)
{
    *start = ward_load_le16(p);
    *end = ward_load_le16(p + 2);
    return *start != 0 && *start <= *end;
}

static bool read_uuid(const uint8_t *p, size_t n, ward_uuid_t *u)
{
    if (n != 2 && n != 16) {
        return false;
    }
    u->len = (uint8_t)n;
    memcpy(u->u, p, n);
    return true;
}

static uint16_t last_handle(const ward_att_server_t *srv, uint16_t end)
{
    return end < srv->db->count ? end : srv->db->count;
}

/* The last handle of the service starting at h. */
static uint16_t group_end(const ward_att_server_t *srv, uint16_t h)
{
    uint16_t e = h;
    while (e < srv->db->count && !is_service(&srv->db->attrs[e])) {
        e++;
    }
    return e;
}

static size_t find_info(const ward_att_server_t *srv, const ward_att_bearer_t *b,
                        const uint8_t *p, size_t n, uint8_t *rsp)
{
    uint16_t start, end;
    if (n != 4) {
        return err_rsp(rsp, WARD_ATT_FIND_INFO_REQ, 0, WARD_ATT_ERR_INVALID_PDU);
    }
    if (!range_ok(p, &start, &end)) {
        return err_rsp(rsp, WARD_ATT_FIND_INFO_REQ, start, WARD_ATT_ERR_INVALID_HANDLE);
    }
    size_t off = 2;
    uint8_t ulen = 0;
    for (uint32_t h = start; h <= last_handle(srv, end); h++) {
        const ward_gatt_attr_t *a = attr_at(srv, (uint16_t)h);
        if (ulen == 0) {
            ulen = a->type.len;
            rsp[1] = ulen == 2 ? 0x01u : 0x02u;
        } else if (a->type.len != ulen) {
            break;
        }
        if (off + 2u + ulen > b->mtu) {
            break;
        }
        ward_store_le16(rsp + off, (uint16_t)h);
        memcpy(rsp + off + 2, a->type.u, ulen);
        off += 2u + ulen;
    }
    if (ulen == 0) {
        return err_rsp(rsp, WARD_ATT_FIND_INFO_REQ, start, WARD_ATT_ERR_NOT_FOUND);
    }
    rsp[0] = WARD_ATT_FIND_INFO_RSP;
    return off;
}

static size_t find_by_type(ward_att_server_t *srv, const ward_att_bearer_t *b, const uint8_t *p,
                           size_t n, uint8_t *rsp)
{
    uint16_t start, end;
    if (n < 6) {
        return err_rsp(rsp, WARD_ATT_FIND_BY_TYPE_REQ, 0, WARD_ATT_ERR_INVALID_PDU);
    }
    if (!range_ok(p, &start, &end)) {
        return err_rsp(rsp, WARD_ATT_FIND_BY_TYPE_REQ, start, WARD_ATT_ERR_INVALID_HANDLE);
    }
    const ward_uuid_t type = WARD_UUID16(ward_load_le16(p + 4));
    const uint8_t *val = p + 6;
    const size_t vlen = n - 6;
    size_t off = 1;
    static const ward_ble_sec_t k_none = {false, 0, 0, false};
    for (uint32_t h = start; h <= last_handle(srv, end) && off + 4u <= b->mtu; h++) {
        const ward_gatt_attr_t *a = attr_at(srv, (uint16_t)h);
        if (!ward_uuid_equal(&a->type, &type)) {
            continue;
        }
        /* Only values anyone may read are compared: the request must not
         * become an oracle for protected ones. */
        if (decide_security(a->read, &k_none, false) != 0 ||
            (WARD_GATT_ACCESS_FLAGS(a->read) & WARD_GATT_AUTHOR) != 0) {
            continue;
        }
        size_t len = 0;
        if (read_value(srv, b, (uint16_t)h, &len) != 0 || len != vlen ||
            (vlen > 0 && memcmp(srv->scratch, val, vlen) != 0)) {
            continue;
        }
        ward_store_le16(rsp + off, (uint16_t)h);
        ward_store_le16(rsp + off + 2, is_service(a) ? group_end(srv, (uint16_t)h) : (uint16_t)h);
        off += 4;
    }
    if (off == 1) {
        return err_rsp(rsp, WARD_ATT_FIND_BY_TYPE_REQ, start, WARD_ATT_ERR_NOT_FOUND);
    }
    rsp[0] = WARD_ATT_FIND_BY_TYPE_RSP;
    return off;
}

static size_t read_by_type(ward_att_server_t *srv, const ward_att_bearer_t *b,
                           const ward_ble_sec_t *sec, const uint8_t *p, size_t n, uint8_t *rsp)
{
    uint16_t start, end;
    ward_uuid_t type;
    if ((n != 6 && n != 20) || !read_uuid(p + 4, n - 4, &type)) {
        return err_rsp(rsp, WARD_ATT_READ_BY_TYPE_REQ, 0, WARD_ATT_ERR_INVALID_PDU);
    }
    if (!range_ok(p, &start, &end)) {
        return err_rsp(rsp, WARD_ATT_READ_BY_TYPE_REQ, start, WARD_ATT_ERR_INVALID_HANDLE);
    }
    const size_t vmax = b->mtu - 4u < 253u ? b->mtu - 4u : 253u;
    size_t off = 2;
    size_t elen = 0;
    for (uint32_t h = start; h <= last_handle(srv, end); h++) {
        const ward_gatt_attr_t *a = attr_at(srv, (uint16_t)h);
        if (!ward_uuid_equal(&a->type, &type)) {
            continue;
        }
        uint8_t e = allowed(srv, b, (uint16_t)h, a->read, sec, false);
        size_t len = 0;
        if (e == 0) {
            e = read_value(srv, b, (uint16_t)h, &len);
        }
        if (e != 0) {
            if (elen == 0) {
                return err_rsp(rsp, WARD_ATT_READ_BY_TYPE_REQ, (uint16_t)h, e);
            }
            break; /* answer with what came before */
        }
        if (len > vmax) {
            len = vmax;
        }
        if (elen == 0) {
            elen = 2u + len;
        } else if (2u + len != elen) {
            break;
        }
        if (off + elen > b->mtu) {
            break;
        }
        ward_store_le16(rsp + off, (uint16_t)h);
        memcpy(rsp + off + 2, srv->scratch, len);
        off += elen;
    }
    if (elen == 0) {
        return err_rsp(rsp, WARD_ATT_READ_BY_TYPE_REQ, start, WARD_ATT_ERR_NOT_FOUND);
    }
    rsp[0] = WARD_ATT_READ_BY_TYPE_RSP;
    rsp[1] = (uint8_t)elen;
    return off;
}

static size_t read_group(const ward_att_server_t *srv, const ward_att_bearer_t *b,
                         const uint8_t *p, size_t n, uint8_t *rsp)
{
    uint16_t start, end;
    ward_uuid_t type;
    static const ward_uuid_t k_primary = WARD_UUID16(WARD_GATT_UUID_PRIMARY);
    static const ward_uuid_t k_secondary = WARD_UUID16(WARD_GATT_UUID_SECONDARY);
    if ((n != 6 && n != 20) || !read_uuid(p + 4, n - 4, &type)) {
        return err_rsp(rsp, WARD_ATT_READ_GROUP_REQ, 0, WARD_ATT_ERR_INVALID_PDU);
    }
    if (!range_ok(p, &start, &end)) {
        return err_rsp(rsp, WARD_ATT_READ_GROUP_REQ, start, WARD_ATT_ERR_INVALID_HANDLE);
    }
    if (!ward_uuid_equal(&type, &k_primary) && !ward_uuid_equal(&type, &k_secondary)) {
        return err_rsp(rsp, WARD_ATT_READ_GROUP_REQ, start, WARD_ATT_ERR_UNSUPPORTED_GROUP);
    }
    size_t off = 2;
    size_t elen = 0;
    for (uint32_t h = start; h <= last_handle(srv, end); h++) {
        const ward_gatt_attr_t *a = attr_at(srv, (uint16_t)h);
        if (!ward_uuid_equal(&a->type, &type)) {
            continue;
        }
        /* Service declarations are readable by anyone (checked at init). */
        const size_t len = a->value_len;
        if (elen == 0) {
            elen = 4u + len;
        } else if (4u + len != elen) {
            break;
        }
        if (off + elen > b->mtu) {
            break;
        }
        ward_store_le16(rsp + off, (uint16_t)h);
        ward_store_le16(rsp + off + 2, group_end(srv, (uint16_t)h));
        memcpy(rsp + off + 4, a->value, len);
        off += elen;
    }
    if (elen == 0) {
        return err_rsp(rsp, WARD_ATT_READ_GROUP_REQ, start, WARD_ATT_ERR_NOT_FOUND);
    }
    rsp[0] = WARD_ATT_READ_GROUP_RSP;
    rsp[1] = (uint8_t)elen;
    return off;
}

static size_t read_req(ward_att_server_t *srv, const ward_att_bearer_t *b,
                       const ward_ble_sec_t *sec, uint8_t op, const uint8_t *p, size_t n,
                       uint8_t *rsp)
{
    const bool blob = op == WARD_ATT_READ_BLOB_REQ;
    if (n != (blob ? 4u : 2u)) {
        return err_rsp(rsp, op, 0, WARD_ATT_ERR_INVALID_PDU);
    }
    const uint16_t handle = ward_load_le16(p);
    const uint16_t offset = blob ? ward_load_le16(p + 2) : 0;
    const ward_gatt_attr_t *a = attr_at(srv, handle);
    if (a == NULL) {
        return err_rsp(rsp, op, handle, WARD_ATT_ERR_INVALID_HANDLE);
    }
    uint8_t e = allowed(srv, b, handle, a->read, sec, false);
    size_t len = 0;
    if (e == 0) {
        e = read_value(srv, b, handle, &len);
    }
    if (e != 0) {
        return err_rsp(rsp, op, handle, e);
    }
    if (offset > len) {
        return err_rsp(rsp, op, handle, WARD_ATT_ERR_INVALID_OFFSET);
    }
    size_t k = len - offset;
    if (k > b->mtu - 1u) {
        k = b->mtu - 1u;
    }
    rsp[0] = blob ? WARD_ATT_READ_BLOB_RSP : WARD_ATT_READ_RSP;
    memcpy(rsp + 1, srv->scratch + offset, k);
    ward_wipe(srv->scratch, len);
    return 1u + k;
}

/* Write Request (answered) and Write Command (never answered). */
static size_t write_req(ward_att_server_t *srv, ward_att_bearer_t *b, const ward_ble_sec_t *sec,
                        uint8_t op, const uint8_t *p, size_t n, uint8_t *rsp)
{
    const bool cmd = op == WARD_ATT_WRITE_CMD;
    if (n < 2) {
        return cmd ? 0 : err_rsp(rsp, op, 0, WARD_ATT_ERR_INVALID_PDU);
    }
    const uint16_t handle = ward_load_le16(p);
    const ward_gatt_attr_t *a = attr_at(srv, handle);
    if (a == NULL) {
        return cmd ? 0 : err_rsp(rsp, op, handle, WARD_ATT_ERR_INVALID_HANDLE);
    }
    uint8_t e = allowed(srv, b, handle, a->write, sec, true);
    if (e == 0) {
        e = write_value(srv, b, handle, p + 2, n - 2);
    }
    if (cmd) {
        return 0; /* refused or done: a command gets no answer */
    }
    if (e != 0) {
        return err_rsp(rsp, op, handle, e);
    }
    rsp[0] = WARD_ATT_WRITE_RSP;
    return 1;
}

static void prep_clear(ward_att_bearer_t *b)
{
    ward_wipe(b->prep, sizeof b->prep);
    ward_wipe(b->prep_buf, sizeof b->prep_buf);
    b->prep_count = 0;
    b->prep_used = 0;
}

static size_t prep_write(const ward_att_server_t *srv, ward_att_bearer_t *b,
                         const ward_ble_sec_t *sec, const uint8_t *p, size_t n, uint8_t *rsp)
{
    if (n < 4) {
        return err_rsp(rsp, WARD_ATT_PREP_WRITE_REQ, 0, WARD_ATT_ERR_INVALID_PDU);
    }
    const uint16_t handle = ward_load_le16(p);
    const uint16_t offset = ward_load_le16(p + 2);
    const size_t vlen = n - 4;
    const ward_gatt_attr_t *a = attr_at(srv, handle);
    if (a == NULL) {
        return err_rsp(rsp, WARD_ATT_PREP_WRITE_REQ, handle, WARD_ATT_ERR_INVALID_HANDLE);
    }
    /* The policy decides now, not at execution: nothing of a refused write
     * is ever queued. */
    const uint8_t e = allowed(srv, b, handle, a->write, sec, true);
    if (e != 0) {
        return err_rsp(rsp, WARD_ATT_PREP_WRITE_REQ, handle, e);
    }
    if (offset > a->max_len) {
        return err_rsp(rsp, WARD_ATT_PREP_WRITE_REQ, handle, WARD_ATT_ERR_INVALID_OFFSET);
    }
    if ((size_t)offset + vlen > a->max_len) {
        return err_rsp(rsp, WARD_ATT_PREP_WRITE_REQ, handle, WARD_ATT_ERR_INVALID_LENGTH);
    }
    if (b->prep_count >= WARD_CONFIG_ATT_PREP_COUNT ||
        (size_t)b->prep_used + vlen > sizeof b->prep_buf) {
        return err_rsp(rsp, WARD_ATT_PREP_WRITE_REQ, handle, WARD_ATT_ERR_PREP_QUEUE_FULL);
    }
    ward_att_prep_t *q = &b->prep[b->prep_count++];
    q->handle = handle;
    q->offset = offset;
    q->len = (uint16_t)vlen;
    q->at = b->prep_used;
    memcpy(b->prep_buf + b->prep_used, p + 4, vlen);
    b->prep_used = (uint16_t)(b->prep_used + vlen);
    rsp[0] = WARD_ATT_PREP_WRITE_RSP;
    memcpy(rsp + 1, p, n);
    return 1u + n;
}

/* Assemble the queued pieces of `handle` into srv->scratch, in order and
 * contiguous from offset 0. 0 or the ATT error. */
static uint8_t prep_assemble(ward_att_server_t *srv, const ward_att_bearer_t *b, uint16_t handle,
                             size_t *len)
{
    const ward_gatt_attr_t *a = attr_at(srv, handle);
    size_t have = 0;
    for (uint8_t i = 0; i < b->prep_count; i++) {
        const ward_att_prep_t *q = &b->prep[i];
        if (q->handle != handle) {
            continue;
        }
        if (q->offset != have) {
            return WARD_ATT_ERR_INVALID_OFFSET;
        }
        if (have + q->len > a->max_len) {
            return WARD_ATT_ERR_INVALID_LENGTH;
        }
        memcpy(srv->scratch + have, b->prep_buf + q->at, q->len);
        have += q->len;
    }
    *len = have;
    return 0;
}

static bool seen_before(const ward_att_bearer_t *b, uint8_t i)
{
    for (uint8_t j = 0; j < i; j++) {
        if (b->prep[j].handle == b->prep[i].handle) {
            return true;
        }
    }
    return false;
}

static size_t exec_write(ward_att_server_t *srv, ward_att_bearer_t *b, const ward_ble_sec_t *sec,
                         const uint8_t *p, size_t n, uint8_t *rsp)
{
    if (n != 1 || p[0] > 1) {
        return err_rsp(rsp, WARD_ATT_EXEC_WRITE_REQ, 0, WARD_ATT_ERR_INVALID_PDU);
    }
    if (p[0] == 1) {
        /* Validate everything (security may have changed since the prepare)
         * before writing anything. */
        for (uint8_t i = 0; i < b->prep_count; i++) {
            if (seen_before(b, i)) {
                continue;
            }
            const uint16_t h = b->prep[i].handle;
            size_t len = 0;
            uint8_t e = allowed(srv, b, h, attr_at(srv, h)->write, sec, true);
            if (e == 0) {
                e = prep_assemble(srv, b, h, &len);
            }
            if (e != 0) {
                prep_clear(b);
                return err_rsp(rsp, WARD_ATT_EXEC_WRITE_REQ, h, e);
            }
        }
        for (uint8_t i = 0; i < b->prep_count; i++) {
            if (seen_before(b, i)) {
                continue;
            }
            const uint16_t h = b->prep[i].handle;
            size_t len = 0;
            uint8_t e = prep_assemble(srv, b, h, &len);
            if (e == 0) {
                e = write_value(srv, b, h, srv->scratch, len);
            }
            ward_wipe(srv->scratch, sizeof srv->scratch);
            if (e != 0) {
                prep_clear(b);
                return err_rsp(rsp, WARD_ATT_EXEC_WRITE_REQ, h, e);
            }
        }
    }
    prep_clear(b);
    rsp[0] = WARD_ATT_EXEC_WRITE_RSP;
    return 1;
}

static size_t mtu_req(ward_att_bearer_t *b, const uint8_t *p, size_t n, uint8_t *rsp)
{
    if (n != 2) {
        return err_rsp(rsp, WARD_ATT_MTU_REQ, 0, WARD_ATT_ERR_INVALID_PDU);
    }
    if (b->mtu_exchanged) {
        return err_rsp(rsp, WARD_ATT_MTU_REQ, 0, WARD_ATT_ERR_NOT_SUPPORTED); /* once only */
    }
    uint16_t client = ward_load_le16(p);
    if (client < ATT_DEFAULT_MTU) {
        client = ATT_DEFAULT_MTU;
    }
    b->mtu = client < WARD_CONFIG_ATT_MTU ? client : (uint16_t)WARD_CONFIG_ATT_MTU;
    b->mtu_exchanged = true;
    rsp[0] = WARD_ATT_MTU_RSP;
    ward_store_le16(rsp + 1, (uint16_t)WARD_CONFIG_ATT_MTU);
    return 3;
}

/* Opcodes a server only ever receives by mistake (responses, server PDUs). */
static bool is_server_pdu(uint8_t op)
{
    switch (op) {
    case WARD_ATT_ERROR_RSP:
    case WARD_ATT_MTU_RSP:
    case WARD_ATT_FIND_INFO_RSP:
    case WARD_ATT_FIND_BY_TYPE_RSP:
    case WARD_ATT_READ_BY_TYPE_RSP:
    case WARD_ATT_READ_RSP:
    case WARD_ATT_READ_BLOB_RSP:
    case 0x0Fu: /* Read Multiple Response */
    case WARD_ATT_READ_GROUP_RSP:
    case WARD_ATT_WRITE_RSP:
    case WARD_ATT_PREP_WRITE_RSP:
    case WARD_ATT_EXEC_WRITE_RSP:
    case WARD_ATT_NOTIFY:
    case WARD_ATT_INDICATE:
    case WARD_ATT_CONFIRM:
    case 0x21u: /* Read Multiple Variable Response */
    case 0x23u: /* Multiple Handle Value Notification */
        return true;
    default:
        return false;
    }
}

ward_err_t ward_att_server_input(ward_att_server_t *srv, ward_att_bearer_t *b,
                                 const ward_ble_sec_t *sec, const uint8_t *pdu, size_t len,
                                 uint8_t *rsp, size_t cap, size_t *rsp_len)
{
    if (rsp_len != NULL) {
        *rsp_len = 0;
    }
    if (srv == NULL || srv->db == NULL || b == NULL || sec == NULL || rsp == NULL ||
        rsp_len == NULL || (pdu == NULL && len > 0) || cap < b->mtu) {
        return WARD_ERR_INVALID_ARG;
    }
    if (len == 0 || is_server_pdu(pdu[0])) {
        return WARD_OK;
    }
    const uint8_t op = pdu[0];
    const bool command = (op & 0x40u) != 0;
    const uint8_t *p = pdu + 1;
    const size_t n = len - 1;
    if (len > b->mtu) {
        /* Longer than the ATT_MTU both sides agreed on. */
        *rsp_len = command ? 0 : err_rsp(rsp, op, 0, WARD_ATT_ERR_INVALID_PDU);
        return WARD_OK;
    }
    size_t r = 0;
    switch (op) {
    case WARD_ATT_MTU_REQ:
        r = mtu_req(b, p, n, rsp);
        break;
    case WARD_ATT_FIND_INFO_REQ:
        r = find_info(srv, b, p, n, rsp);
        break;
    case WARD_ATT_FIND_BY_TYPE_REQ:
        r = find_by_type(srv, b, p, n, rsp);
        break;
    case WARD_ATT_READ_BY_TYPE_REQ:
        r = read_by_type(srv, b, sec, p, n, rsp);
        break;
    case WARD_ATT_READ_REQ:
    case WARD_ATT_READ_BLOB_REQ:
        r = read_req(srv, b, sec, op, p, n, rsp);
        break;
    case WARD_ATT_READ_GROUP_REQ:
        r = read_group(srv, b, p, n, rsp);
        break;
    case WARD_ATT_WRITE_REQ:
    case WARD_ATT_WRITE_CMD:
        r = write_req(srv, b, sec, op, p, n, rsp);
        break;
    case WARD_ATT_PREP_WRITE_REQ:
        r = prep_write(srv, b, sec, p, n, rsp);
        break;
    case WARD_ATT_EXEC_WRITE_REQ:
        r = exec_write(srv, b, sec, p, n, rsp);
        break;
    default:
        /* Signed writes and unknown commands are dropped; unknown or
         * unsupported requests (Read Multiple among them) refused. */
        r = command ? 0 : err_rsp(rsp, op, 0, WARD_ATT_ERR_NOT_SUPPORTED);
        break;
    }
    ward_wipe(srv->scratch, sizeof srv->scratch);
    *rsp_len = r;
    return WARD_OK;
}

ward_err_t ward_att_server_notify(ward_att_server_t *srv, const ward_att_bearer_t *b,
                                  const ward_ble_sec_t *sec, uint16_t handle, const uint8_t *val,
                                  size_t val_len, uint8_t *out, size_t cap, size_t *len)
{
    if (srv == NULL || srv->db == NULL || b == NULL || sec == NULL || out == NULL ||
        len == NULL || (val == NULL && val_len > 0)) {
        return WARD_ERR_INVALID_ARG;
    }
    *len = 0;
    const ward_gatt_attr_t *a = attr_at(srv, handle);
    const uint16_t decl = a != NULL ? decl_of(srv, handle) : 0;
    if (decl == 0 || decl + 1u != handle ||
        (srv->db->attrs[decl - 1u].props & WARD_GATT_PROP_NOTIFY) == 0) {
        return WARD_ERR_NOT_FOUND;
    }
    uint16_t ccc = 0;
    for (uint16_t h = (uint16_t)(handle + 1u); h <= srv->db->count; h++) {
        const ward_gatt_attr_t *d = attr_at(srv, h);
        if (is_service(d) || is_uuid16(&d->type, WARD_GATT_UUID_CHARACTERISTIC)) {
            break;
        }
        if (is_uuid16(&d->type, WARD_GATT_UUID_CCC)) {
            ccc = h;
            break;
        }
    }
    if (ccc == 0 || (b->ccc[ccc_index(srv, ccc)] & 0x0001u) == 0) {
        return WARD_ERR_STATE;
    }
    if (allowed(srv, b, handle, a->read, sec, false) != 0) {
        return WARD_ERR_STATE; /* the link no longer meets the read policy */
    }
    size_t k = val_len < b->mtu - 3u ? val_len : b->mtu - 3u;
    if (cap < 3u + k) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    out[0] = WARD_ATT_NOTIFY;
    ward_store_le16(out + 1, handle);
    if (k > 0) {
        memcpy(out + 3, val, k);
    }
    *len = 3u + k;
    return WARD_OK;
}
