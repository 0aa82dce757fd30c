/*
 * ward att client: the phone side. Builds one request at a time and checks
 * that what comes back answers it, with the exact layout its opcode has.
 */
#include <string.h>

#include "ward/att.h"
#include "ward/util.h"

#define ATT_DEFAULT_MTU 23u

void ward_att_client_init(ward_att_client_t *cl)
{
    memset(cl, 0, sizeof *cl);
    cl->mtu = ATT_DEFAULT_MTU;
}

static ward_err_t begin(ward_att_client_t *cl, size_t need, size_t cap, const uint8_t *out,
                        const size_t *len, bool request)
{
    if (cl == NULL || out == NULL || len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (request && cl->pending != 0) {
        return WARD_ERR_STATE;
    }
    if (need > cl->mtu) {
        return WARD_ERR_INVALID_ARG;
    }
    if (need > cap) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    return WARD_OK;
}

ward_err_t ward_att_client_mtu(ward_att_client_t *cl, uint16_t mtu, uint8_t *out, size_t cap,
                               size_t *len)
{
    ward_err_t err = begin(cl, 3, cap, out, len, true);
    if (err != WARD_OK) {
        return err;
    }
    if (mtu < ATT_DEFAULT_MTU || mtu > WARD_CONFIG_ATT_MTU) {
        return WARD_ERR_INVALID_ARG;
    }
    out[0] = WARD_ATT_MTU_REQ;
    ward_store_le16(out + 1, mtu);
    *len = 3;
    cl->our_mtu = mtu;
    cl->pending = WARD_ATT_MTU_REQ;
    return WARD_OK;
}

static ward_err_t range_req(ward_att_client_t *cl, uint8_t op, uint16_t start, uint16_t end,
                            const ward_uuid_t *type, uint8_t *out, size_t cap, size_t *len)
{
    const size_t tl = type != NULL ? type->len : 0u;
    ward_err_t err = begin(cl, 5u + tl, cap, out, len, true);
    if (err != WARD_OK) {
        return err;
    }
    if (start == 0 || start > end || (type != NULL && tl != 2 && tl != 16)) {
        return WARD_ERR_INVALID_ARG;
    }
    out[0] = op;
    ward_store_le16(out + 1, start);
    ward_store_le16(out + 3, end);
    if (tl > 0) {
        memcpy(out + 5, type->u, tl);
    }
    *len = 5u + tl;
    cl->pending = op;
    return WARD_OK;
}

ward_err_t ward_att_client_read_group(ward_att_client_t *cl, uint16_t start, uint16_t end,
                                      uint16_t group_uuid16, uint8_t *out, size_t cap,
                                      size_t *len)
{
    const ward_uuid_t t = WARD_UUID16(group_uuid16);
    return range_req(cl, WARD_ATT_READ_GROUP_REQ, start, end, &t, out, cap, len);
}

ward_err_t ward_att_client_read_type(ward_att_client_t *cl, uint16_t start, uint16_t end,
                                     const ward_uuid_t *type, uint8_t *out, size_t cap,
                                     size_t *len)
{
    if (type == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    return range_req(cl, WARD_ATT_READ_BY_TYPE_REQ, start, end, type, out, cap, len);
}

ward_err_t ward_att_client_find_info(ward_att_client_t *cl, uint16_t start, uint16_t end,
                                     uint8_t *out, size_t cap, size_t *len)
{
    return range_req(cl, WARD_ATT_FIND_INFO_REQ, start, end, NULL, out, cap, len);
}

ward_err_t ward_att_client_read(ward_att_client_t *cl, uint16_t handle, uint8_t *out, size_t cap,
                                size_t *len)
{
    ward_err_t err = begin(cl, 3, cap, out, len, true);
    if (err != WARD_OK) {
        return err;
    }
    out[0] = WARD_ATT_READ_REQ;
    ward_store_le16(out + 1, handle);
    *len = 3;
    cl->pending = WARD_ATT_READ_REQ;
    return WARD_OK;
}

ward_err_t ward_att_client_read_blob(ward_att_client_t *cl, uint16_t handle, uint16_t offset,
                                     uint8_t *out, size_t cap, size_t *len)
{
    ward_err_t err = begin(cl, 5, cap, out, len, true);
    if (err != WARD_OK) {
        return err;
    }
    out[0] = WARD_ATT_READ_BLOB_REQ;
    ward_store_le16(out + 1, handle);
    ward_store_le16(out + 3, offset);
    *len = 5;
    cl->pending = WARD_ATT_READ_BLOB_REQ;
    return WARD_OK;
}

static ward_err_t write_common(ward_att_client_t *cl, uint8_t op, uint16_t handle,
                               const uint8_t *val, size_t val_len, uint8_t *out, size_t cap,
                               size_t *len)
{
    const bool req = op == WARD_ATT_WRITE_REQ;
    if (val == NULL && val_len > 0) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = begin(cl, 3u + val_len, cap, out, len, req);
    if (err != WARD_OK) {
        return err;
    }
    out[0] = op;
    ward_store_le16(out + 1, handle);
    if (val_len > 0) {
        memcpy(out + 3, val, val_len);
    }
    *len = 3u + val_len;
    if (req) {
        cl->pending = op;
    }
    return WARD_OK;
}

ward_err_t ward_att_client_write(ward_att_client_t *cl, uint16_t handle, const uint8_t *val,
                                 size_t val_len, uint8_t *out, size_t cap, size_t *len)
{
    return write_common(cl, WARD_ATT_WRITE_REQ, handle, val, val_len, out, cap, len);
}

ward_err_t ward_att_client_write_cmd(ward_att_client_t *cl, uint16_t handle, const uint8_t *val,
                                     size_t val_len, uint8_t *out, size_t cap, size_t *len)
{
    return write_common(cl, WARD_ATT_WRITE_CMD, handle, val, val_len, out, cap, len);
}

ward_err_t ward_att_client_prepare(ward_att_client_t *cl, uint16_t handle, uint16_t offset,
                                   const uint8_t *val, size_t val_len, uint8_t *out, size_t cap,
                                   size_t *len)
{
    if (val == NULL && val_len > 0) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = begin(cl, 5u + val_len, cap, out, len, true);
    if (err != WARD_OK) {
        return err;
    }
    out[0] = WARD_ATT_PREP_WRITE_REQ;
    ward_store_le16(out + 1, handle);
    ward_store_le16(out + 3, offset);
    if (val_len > 0) {
        memcpy(out + 5, val, val_len);
    }
    *len = 5u + val_len;
    cl->pending = WARD_ATT_PREP_WRITE_REQ;
    return WARD_OK;
}

ward_err_t ward_att_client_execute(ward_att_client_t *cl, bool commit, uint8_t *out, size_t cap,
                                   size_t *len)
{
    ward_err_t err = begin(cl, 2, cap, out, len, true);
    if (err != WARD_OK) {
        return err;
    }
    out[0] = WARD_ATT_EXEC_WRITE_REQ;
    out[1] = commit ? 1u : 0u;
    *len = 2;
    cl->pending = WARD_ATT_EXEC_WRITE_REQ;
    return WARD_OK;
}

/* The response opcode of a request. */
static uint8_t rsp_of(uint8_t req)
{
    return (uint8_t)(req + 1u);
}

/* Check a list response: a length byte, then whole entries of that size. */
static bool list_ok(const uint8_t *p, size_t n, size_t min_elem, ward_att_result_t *res)
{
    if (n < 1 || p[0] < min_elem || n - 1 < p[0] || (n - 1) % p[0] != 0) {
        return false;
    }
    res->elem_len = p[0];
    res->data = p + 1;
    res->data_len = n - 1;
    return true;
}

ward_err_t ward_att_client_input(ward_att_client_t *cl, const uint8_t *pdu, size_t len,
                                 ward_att_result_t *res)
{
    if (cl == NULL || res == NULL || (pdu == NULL && len > 0)) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(res, 0, sizeof *res);
    if (len == 0 || len > cl->mtu) {
        return WARD_ERR_BLE_PDU;
    }
    const uint8_t op = pdu[0];
    const uint8_t *p = pdu + 1;
    const size_t n = len - 1;
    res->opcode = op;
    if (op == WARD_ATT_NOTIFY || op == WARD_ATT_INDICATE) {
        if (n < 2) {
            return WARD_ERR_BLE_PDU;
        }
        res->handle = ward_load_le16(p);
        res->data = p + 2;
        res->data_len = n - 2;
        return WARD_OK;
    }
    if (cl->pending == 0) {
        return WARD_ERR_BLE_PDU; /* nothing asked */
    }
    res->req = cl->pending;
    if (op == WARD_ATT_ERROR_RSP) {
        if (n != 4 || p[0] != cl->pending || p[3] == 0) {
            return WARD_ERR_BLE_PDU;
        }
        res->handle = ward_load_le16(p + 1);
        res->att_err = p[3];
        cl->pending = 0;
        return WARD_OK;
    }
    if (op != rsp_of(cl->pending)) {
        return WARD_ERR_BLE_PDU;
    }
    bool ok = false;
    switch (op) {
    case WARD_ATT_MTU_RSP:
        ok = n == 2;
        if (ok) {
            uint16_t srv = ward_load_le16(p);
            if (srv < ATT_DEFAULT_MTU) {
                srv = ATT_DEFAULT_MTU;
            }
            res->mtu = srv < cl->our_mtu ? srv : cl->our_mtu;
        }
        break;
    case WARD_ATT_READ_GROUP_RSP:
        ok = list_ok(p, n, 6, res) && (res->elem_len == 6 || res->elem_len == 20);
        break;
    case WARD_ATT_READ_BY_TYPE_RSP:
        ok = list_ok(p, n, 2, res);
        break;
    case WARD_ATT_FIND_INFO_RSP:
        if (n >= 1 && (p[0] == 1 || p[0] == 2)) {
            const size_t e = p[0] == 1 ? 4u : 18u;
            ok = n - 1 >= e && (n - 1) % e == 0;
            res->elem_len = (uint8_t)e;
            res->data = p + 1;
            res->data_len = n - 1;
        }
        break;
    case WARD_ATT_READ_RSP:
    case WARD_ATT_READ_BLOB_RSP:
        ok = true;
        res->data = p;
        res->data_len = n;
        break;
    case WARD_ATT_WRITE_RSP:
    case WARD_ATT_EXEC_WRITE_RSP:
        ok = n == 0;
        break;
    case WARD_ATT_PREP_WRITE_RSP:
        ok = n >= 4;
        res->handle = ok ? ward_load_le16(p) : 0;
        res->data = p;
        res->data_len = n;
        break;
    default:
        break;
    }
    if (!ok) {
        memset(res, 0, sizeof *res);
        return WARD_ERR_BLE_PDU;
    }
    if (op == WARD_ATT_MTU_RSP) {
        cl->mtu = res->mtu;
    }
    cl->pending = 0;
    return WARD_OK;
}

bool ward_att_result_next(const ward_att_result_t *res, size_t *it, uint16_t *handle,
                          uint16_t *end, const uint8_t **value, size_t *value_len)
{
    if (res == NULL || it == NULL || res->elem_len == 0 || *it + res->elem_len > res->data_len) {
        return false;
    }
    const uint8_t *e = res->data + *it;
    const bool group = res->opcode == WARD_ATT_READ_GROUP_RSP;
    const size_t head = group ? 4u : 2u;
    if (handle != NULL) {
        *handle = ward_load_le16(e);
    }
    if (end != NULL) {
        *end = group ? ward_load_le16(e + 2) : ward_load_le16(e);
    }
    if (value != NULL) {
        *value = e + head;
    }
    if (value_len != NULL) {
        *value_len = res->elem_len - head;
    }
    *it += res->elem_len;
    return true;
}
