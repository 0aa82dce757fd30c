/*
 * ward hci: H4 framing, HCI commands with one outstanding at a time, the
 * events of the LE subset, connection state and link security.
 * L2CAP (ACL fragmentation, reassembly, fixed channels) is in l2cap.c.
 */
#include <string.h>

#include "hci_priv.h"
#include "ward/util.h"

/* Opcodes (OGF << 10 | OCF). */
#define OP_DISCONNECT 0x0406u
#define OP_SET_EVENT_MASK 0x0C01u
#define OP_RESET 0x0C03u
#define OP_READ_BUFFER_SIZE 0x1005u
#define OP_READ_BD_ADDR 0x1009u
#define OP_READ_ENC_KEY_SIZE 0x1408u
#define OP_LE_SET_EVENT_MASK 0x2001u
#define OP_LE_READ_BUFFER_SIZE 0x2002u
#define OP_LE_SET_RANDOM_ADDR 0x2005u
#define OP_LE_SET_ADV_PARAMS 0x2006u
#define OP_LE_SET_ADV_DATA 0x2008u
#define OP_LE_SET_SCAN_RSP_DATA 0x2009u
#define OP_LE_SET_ADV_ENABLE 0x200Au
#define OP_LE_SET_SCAN_PARAMS 0x200Bu
#define OP_LE_SET_SCAN_ENABLE 0x200Cu
#define OP_LE_CREATE_CONN 0x200Du
#define OP_LE_START_ENC 0x2019u
#define OP_LE_LTK_REPLY 0x201Au
#define OP_LE_LTK_NEG_REPLY 0x201Bu

/* Events. */
#define EV_DISCONN_COMPLETE 0x05u
#define EV_ENCRYPT_CHANGE 0x08u
#define EV_CMD_COMPLETE 0x0Eu
#define EV_CMD_STATUS 0x0Fu
#define EV_HW_ERROR 0x10u
#define EV_NUM_COMPLETED 0x13u
#define EV_BUFFER_OVERFLOW 0x1Au
#define EV_KEY_REFRESH 0x30u
#define EV_LE_META 0x3Eu
#define LE_CONN_COMPLETE 0x01u
#define LE_ADV_REPORT 0x02u
#define LE_CONN_UPDATE 0x03u
#define LE_LTK_REQUEST 0x05u

/* Engine states. */
enum { ST_IDLE = 0, ST_INIT = 1, ST_READY = 2, ST_FAILED = 3 };

/* The start-up sequence, in order. */
enum {
    INIT_RESET = 0,
    INIT_EVENT_MASK,
    INIT_LE_EVENT_MASK,
    INIT_BD_ADDR,
    INIT_LE_BUFFER,
    INIT_BUFFER, /* only when LE Read Buffer Size says "shared" */
    INIT_DONE
};

/* Disconnection Complete (4), Encryption Change (7), Hardware Error (15),
 * Data Buffer Overflow (25), Encryption Key Refresh Complete (47), LE Meta
 * (61). */
static const uint8_t k_event_mask[8] = {0x90, 0x80, 0x00, 0x02, 0x00, 0x80, 0x00, 0x20};
/* LE Connection Complete (0), Advertising Report (1), Connection Update
 * Complete (2), Long Term Key Request (4). */
static const uint8_t k_le_event_mask[8] = {0x17, 0, 0, 0, 0, 0, 0, 0};

static void emit(ward_hci_t *hci, const ward_hci_event_t *ev)
{
    if (hci->cb.event != NULL) {
        hci->cb.event(hci->cb.ctx, ev);
    }
}

static void emit_simple(ward_hci_t *hci, ward_hci_event_type_t type, uint16_t handle,
                        uint8_t status)
{
    ward_hci_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.handle = handle;
    ev.status = status;
    emit(hci, &ev);
}

ward_hci_conn_t *ward_hci_conn_find(ward_hci_t *hci, uint16_t handle)
{
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        if (hci->conn[i].used && hci->conn[i].handle == handle) {
            return &hci->conn[i];
        }
    }
    return NULL;
}

static const ward_hci_conn_t *conn_find_const(const ward_hci_t *hci, uint16_t handle)
{
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        if (hci->conn[i].used && hci->conn[i].handle == handle) {
            return &hci->conn[i];
        }
    }
    return NULL;
}

/* ---- command queue ------------------------------------------------------- */

ward_err_t ward_hci_cmd_queue(ward_hci_t *hci, uint16_t opcode, const uint8_t *param,
                              size_t len, uint8_t owner)
{
    if (len > sizeof hci->cmdq[0].param) {
        return WARD_ERR_INVALID_ARG;
    }
    const size_t limit = owner == OWNER_USER ? WARD_CONFIG_BLE_CMD_QUEUE - CMD_RESERVED
                                             : WARD_CONFIG_BLE_CMD_QUEUE;
    if (hci->cmd_count >= limit) {
        return WARD_ERR_BLE_BUSY;
    }
    ward_hci_cmd_slot_t *s =
        &hci->cmdq[(hci->cmd_head + hci->cmd_count) % WARD_CONFIG_BLE_CMD_QUEUE];
    s->opcode = opcode;
    s->len = (uint8_t)len;
    s->owner = owner;
    if (len > 0) {
        memcpy(s->param, param, len);
    }
    hci->cmd_count++;
    return WARD_OK;
}

static bool cmd_output(ward_hci_t *hci, uint8_t *out, size_t *len)
{
    if (hci->cmd_count == 0 || hci->cmd_pending || hci->cmd_credits == 0) {
        return false;
    }
    ward_hci_cmd_slot_t *s = &hci->cmdq[hci->cmd_head];
    out[0] = H4_CMD;
    ward_store_le16(out + 1, s->opcode);
    out[3] = s->len;
    memcpy(out + 4, s->param, s->len);
    *len = 4u + s->len;
    hci->cmd_pending = true;
    hci->cmd_pending_opcode = s->opcode;
    hci->cmd_pending_owner = s->owner;
    /* Commands about a connection start with its handle. */
    hci->cmd_pending_handle = s->len >= 2 ? ward_load_le16(s->param) : 0xFFFFu;
    hci->cmd_credits = 0; /* one outstanding command, whatever ncmd said */
    ward_wipe(s, sizeof *s); /* may hold an LTK */
    hci->cmd_head = (uint8_t)((hci->cmd_head + 1u) % WARD_CONFIG_BLE_CMD_QUEUE);
    hci->cmd_count--;
    return true;
}

/* ---- lifecycle ------------------------------------------------------------ */

ward_err_t ward_hci_init(ward_hci_t *hci, const ward_hci_callbacks_t *cb)
{
    if (hci == NULL || cb == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_wipe(hci, sizeof *hci);
    hci->cb = *cb;
    hci->state = ST_IDLE;
    hci->cmd_credits = 1; /* a controller accepts one command after power-up */
    return WARD_OK;
}

static void reset_links(ward_hci_t *hci)
{
    ward_wipe(hci->hold, sizeof hci->hold);
    hci->hold_len = 0;
    for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN; i++) {
        ward_wipe(&hci->conn[i], sizeof hci->conn[i]);
    }
    ward_wipe(hci->acl_q, sizeof hci->acl_q);
    hci->acl_q_len = 0;
    hci->acl_tx_off = 0;
    hci->acl_credits = 0;
}

ward_err_t ward_hci_start(ward_hci_t *hci)
{
    if (hci == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_wipe(hci->cmdq, sizeof hci->cmdq);
    hci->cmd_head = 0;
    hci->cmd_count = 0;
    reset_links(hci);
    hci->own_addr_type = WARD_BLE_ADDR_PUBLIC; /* Reset forgets the random address */
    memset(hci->random_addr, 0, sizeof hci->random_addr);
    hci->state = ST_INIT;
    hci->init_step = INIT_RESET;
    return ward_hci_cmd_queue(hci, OP_RESET, NULL, 0, OWNER_ENGINE);
}

bool ward_hci_ready(const ward_hci_t *hci)
{
    return hci != NULL && hci->state == ST_READY;
}

bool ward_hci_failed(const ward_hci_t *hci)
{
    return hci != NULL && hci->state == ST_FAILED;
}

bool ward_hci_idle(const ward_hci_t *hci)
{
    return hci->cmd_count == 0 && !hci->cmd_pending && hci->acl_q_len == 0;
}

void ward_hci_bd_addr(const ward_hci_t *hci, ward_ble_addr_t *addr)
{
    *addr = hci->bd_addr;
}

/* Queue the next start-up command after `done` succeeded. */
static void init_next(ward_hci_t *hci)
{
    ward_err_t err = WARD_OK;
    switch (hci->init_step) {
    case INIT_EVENT_MASK:
        err = ward_hci_cmd_queue(hci, OP_SET_EVENT_MASK, k_event_mask, 8, OWNER_ENGINE);
        break;
    case INIT_LE_EVENT_MASK:
        err = ward_hci_cmd_queue(hci, OP_LE_SET_EVENT_MASK, k_le_event_mask, 8, OWNER_ENGINE);
        break;
    case INIT_BD_ADDR:
        err = ward_hci_cmd_queue(hci, OP_READ_BD_ADDR, NULL, 0, OWNER_ENGINE);
        break;
    case INIT_LE_BUFFER:
        err = ward_hci_cmd_queue(hci, OP_LE_READ_BUFFER_SIZE, NULL, 0, OWNER_ENGINE);
        break;
    case INIT_BUFFER:
        err = ward_hci_cmd_queue(hci, OP_READ_BUFFER_SIZE, NULL, 0, OWNER_ENGINE);
        break;
    default: {
        hci->state = ST_READY;
        hci->acl_credits = hci->acl_pkts;
        ward_hci_event_t ev;
        memset(&ev, 0, sizeof ev);
        ev.type = WARD_HCI_EVT_READY;
        ev.addr = hci->bd_addr;
        emit(hci, &ev);
        return;
    }
    }
    if (err != WARD_OK) {
        hci->state = ST_FAILED;
    }
}

static void init_fail(ward_hci_t *hci, uint16_t opcode, uint8_t status)
{
    hci->state = ST_FAILED;
    ward_hci_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = WARD_HCI_EVT_CMD_DONE;
    ev.opcode = opcode;
    ev.status = status != 0 ? status : 0xFFu;
    emit(hci, &ev);
}

/* A start-up command completed: r = return parameters (status first). */
static void init_complete(ward_hci_t *hci, uint16_t opcode, const uint8_t *r, size_t n)
{
    static const uint16_t k_ops[] = {OP_RESET,          OP_SET_EVENT_MASK,
                                     OP_LE_SET_EVENT_MASK, OP_READ_BD_ADDR,
                                     OP_LE_READ_BUFFER_SIZE, OP_READ_BUFFER_SIZE};
    static const uint8_t k_len[] = {1, 1, 1, 7, 4, 8};
    const uint8_t step = hci->init_step;
    if (step >= INIT_DONE || opcode != k_ops[step]) {
        return; /* not ours */
    }
    if (n != k_len[step] || r[0] != WARD_HCI_SUCCESS) {
        init_fail(hci, opcode, n > 0 ? r[0] : 0xFFu);
        return;
    }
    uint8_t next = (uint8_t)(step + 1u);
    switch (step) {
    case INIT_RESET:
        reset_links(hci);
        break;
    case INIT_BD_ADDR:
        hci->bd_addr.type = WARD_BLE_ADDR_PUBLIC;
        memcpy(hci->bd_addr.a, r + 1, 6);
        break;
    case INIT_LE_BUFFER:
        hci->acl_mtu = ward_load_le16(r + 1);
        hci->acl_pkts = r[3];
        if (hci->acl_mtu != 0 || hci->acl_pkts != 0) {
            next = INIT_DONE; /* dedicated LE buffers */
            if (hci->acl_mtu < 27 || hci->acl_pkts == 0) {
                init_fail(hci, opcode, 0xFFu);
                return;
            }
        }
        break;
    case INIT_BUFFER:
        hci->acl_mtu = ward_load_le16(r + 1);
        hci->acl_pkts = ward_load_le16(r + 4);
        if (hci->acl_mtu < 27 || hci->acl_pkts == 0) {
            init_fail(hci, opcode, 0xFFu);
            return;
        }
        break;
    default:
        break;
    }
    hci->init_step = next;
    init_next(hci);
}

/* ---- encryption --------------------------------------------------------- */

static void enc_fail(ward_hci_t *hci, ward_hci_conn_t *c, uint8_t status)
{
    c->enc_state = ENC_OFF;
    c->key_size = 0;
    c->key_flags = 0;
    c->pending_flags = 0;
    emit_simple(hci, WARD_HCI_EVT_ENCRYPTION, c->handle, status != 0 ? status : 0xFFu);
    /* What arrived meanwhile goes on, to a link that is not encrypted. */
    ward_l2cap_release_held(hci, c->handle, true);
}

/* The controller says the link is encrypted (again): read the key size
 * before anyone may rely on it. */
static void enc_on(ward_hci_t *hci, ward_hci_conn_t *c)
{
    c->enc_state = ENC_KEYSIZE;
    c->key_size = 0;
    uint8_t p[2];
    ward_store_le16(p, c->handle);
    if (ward_hci_cmd_queue(hci, OP_READ_ENC_KEY_SIZE, p, 2, OWNER_ENGINE) != WARD_OK) {
        enc_fail(hci, c, 0xFFu);
    }
}

static void disconnect_engine(ward_hci_t *hci, uint16_t handle, uint8_t reason)
{
    uint8_t p[3];
    ward_store_le16(p, handle);
    p[2] = reason;
    (void)ward_hci_cmd_queue(hci, OP_DISCONNECT, p, 3, OWNER_ENGINE);
}

static void key_size_result(ward_hci_t *hci, uint16_t handle, uint8_t status, uint8_t size)
{
    ward_hci_conn_t *c = ward_hci_conn_find(hci, handle);
    if (c == NULL || c->enc_state != ENC_KEYSIZE) {
        return;
    }
    if (status != WARD_HCI_SUCCESS || size < 7 || size > 16) {
        /* Encrypted with a key of unknown strength: not usable, and not to
         * be left up half-trusted. */
        enc_fail(hci, c, 0xFFu);
        disconnect_engine(hci, c->handle, WARD_HCI_ERR_AUTH_FAILURE);
        return;
    }
    c->enc_state = ENC_ON;
    c->key_size = size;
    c->key_flags = c->pending_flags;
    ward_hci_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = WARD_HCI_EVT_ENCRYPTION;
    ev.handle = c->handle;
    ev.status = WARD_HCI_SUCCESS;
    ev.key_size = size;
    emit(hci, &ev);
    /* The PDUs that came right after the Encryption Change (a peer's key
     * distribution, its first request): now on an encrypted link. */
    ward_l2cap_release_held(hci, c->handle, true);
}

static void ev_encrypt_change(ward_hci_t *hci, const uint8_t *p, size_t n)
{
    if (n != 4) {
        hci->dropped++;
        return;
    }
    ward_hci_conn_t *c = ward_hci_conn_find(hci, ward_load_le16(p + 1) & 0x0FFFu);
    if (c == NULL) {
        return;
    }
    /* LE knows one mode: 0x01 (AES-CCM). Anything else is not encryption. */
    if (p[0] == WARD_HCI_SUCCESS && p[3] == 0x01u) {
        if (c->enc_state != ENC_PENDING) {
            c->pending_flags = 0; /* encrypted with a key we never gave */
        }
        enc_on(hci, c);
    } else {
        enc_fail(hci, c, p[0] != WARD_HCI_SUCCESS ? p[0] : 0xFFu);
    }
}

static void ev_key_refresh(ward_hci_t *hci, const uint8_t *p, size_t n)
{
    if (n != 3) {
        hci->dropped++;
        return;
    }
    ward_hci_conn_t *c = ward_hci_conn_find(hci, ward_load_le16(p + 1) & 0x0FFFu);
    if (c == NULL) {
        return;
    }
    if (p[0] == WARD_HCI_SUCCESS) {
        if (c->enc_state != ENC_PENDING) {
            c->pending_flags = 0;
        }
        enc_on(hci, c);
    } else {
        enc_fail(hci, c, p[0]);
    }
}

static void le_ltk_request(ward_hci_t *hci, const uint8_t *p, size_t n)
{
    if (n != 12) {
        hci->dropped++;
        return;
    }
    const uint16_t handle = ward_load_le16(p) & 0x0FFFu;
    ward_hci_conn_t *c = ward_hci_conn_find(hci, handle);
    if (c == NULL || c->role != WARD_HCI_ROLE_PERIPHERAL) {
        return;
    }
    uint8_t param[18];
    uint8_t flags = 0;
    ward_err_t err = WARD_ERR_NOT_FOUND;
    ward_store_le16(param, handle);
    if (hci->cb.ltk_request != NULL) {
        err = hci->cb.ltk_request(hci->cb.ctx, handle, &c->peer, ward_load_le16(p + 10), p + 2,
                                  param + 2, &flags);
    }
    /* The link stops counting as encrypted until the controller confirms
     * the (new) key. */
    c->enc_state = ENC_PENDING;
    c->key_size = 0;
    c->key_flags = 0;
    if (err == WARD_OK && !ward_ct_all(param + 2, 0, 16)) {
        c->pending_flags = flags;
        if (ward_hci_cmd_queue(hci, OP_LE_LTK_REPLY, param, 18, OWNER_ENGINE) != WARD_OK) {
            enc_fail(hci, c, 0xFFu);
        }
    } else {
        c->pending_flags = 0;
        (void)ward_hci_cmd_queue(hci, OP_LE_LTK_NEG_REPLY, param, 2, OWNER_ENGINE);
        c->enc_state = ENC_OFF;
    }
    ward_wipe(param, sizeof param);
}

/* ---- connections ------------------------------------------------------- */

/* A connection is over: what is queued or held for it dropped, its state
 * (its security with it) wiped, then DISCONNECTED. */
static void conn_end(ward_hci_t *hci, ward_hci_conn_t *c, uint8_t reason)
{
    const uint16_t handle = c->handle;
    ward_l2cap_conn_drop(hci, c);
    ward_wipe(c, sizeof *c);
    ward_hci_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = WARD_HCI_EVT_DISCONNECTED;
    ev.handle = handle;
    ev.reason = reason;
    emit(hci, &ev);
}

static void le_conn_complete(ward_hci_t *hci, const uint8_t *p, size_t n)
{
    if (n != 18) {
        hci->dropped++;
        return;
    }
    ward_hci_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = WARD_HCI_EVT_CONNECTED;
    ev.status = p[0];
    ev.handle = ward_load_le16(p + 1) & 0x0FFFu;
    ev.role = p[3];
    ev.addr.type = p[4];
    memcpy(ev.addr.a, p + 5, 6);
    if (ev.status == WARD_HCI_SUCCESS) {
        if (ev.role > WARD_HCI_ROLE_PERIPHERAL || ev.handle > 0x0EFFu) {
            hci->dropped++;
            return;
        }
        ward_hci_conn_t *old = ward_hci_conn_find(hci, ev.handle);
        if (old != NULL) {
            /* A controller gives a handle only to a new link, and only once
             * it is free: the old link is gone and its Disconnection
             * Complete never came (the controller restarted, or lost it).
             * The new peer must not inherit its encryption and key flags. */
            conn_end(hci, old, WARD_HCI_ERR_UNKNOWN_CONN);
        }
        ward_hci_conn_t *c = NULL;
        for (size_t i = 0; i < WARD_CONFIG_BLE_MAX_CONN && c == NULL; i++) {
            if (!hci->conn[i].used) {
                c = &hci->conn[i];
            }
        }
        if (c == NULL) {
            disconnect_engine(hci, ev.handle, WARD_HCI_ERR_REMOTE_LOW_RESOURCES);
            return;
        }
        ward_wipe(c, sizeof *c);
        c->used = true;
        c->handle = ev.handle;
        c->role = ev.role;
        c->peer = ev.addr;
    }
    emit(hci, &ev);
}

static void ev_disconn_complete(ward_hci_t *hci, const uint8_t *p, size_t n)
{
    if (n != 4) {
        hci->dropped++;
        return;
    }
    const uint16_t handle = ward_load_le16(p + 1) & 0x0FFFu;
    ward_hci_conn_t *c = ward_hci_conn_find(hci, handle);
    if (p[0] != WARD_HCI_SUCCESS || c == NULL) {
        return;
    }
    conn_end(hci, c, p[3]);
}

static void le_adv_report(ward_hci_t *hci, const uint8_t *p, size_t n)
{
    /* Validate every report before handing any out. */
    if (n < 1 || p[0] == 0 || p[0] > 25) {
        hci->dropped++;
        return;
    }
    size_t off = 1;
    for (uint8_t i = 0; i < p[0]; i++) {
        if (n - off < 9 || p[off + 8] > 31 || n - off - 9 < (size_t)p[off + 8] + 1u) {
            hci->dropped++;
            return;
        }
        off += 9u + p[off + 8] + 1u;
    }
    if (off != n) {
        hci->dropped++;
        return;
    }
    off = 1;
    for (uint8_t i = 0; i < p[0]; i++) {
        ward_hci_event_t ev;
        memset(&ev, 0, sizeof ev);
        ev.type = WARD_HCI_EVT_ADV_REPORT;
        ev.adv_type = p[off];
        ev.addr.type = p[off + 1];
        memcpy(ev.addr.a, p + off + 2, 6);
        ev.data_len = p[off + 8];
        ev.data = p + off + 9;
        ev.rssi = (int8_t)p[off + 9 + ev.data_len];
        off += 9u + ev.data_len + 1u;
        emit(hci, &ev);
    }
}

static void ev_le_meta(ward_hci_t *hci, const uint8_t *p, size_t n)
{
    if (n < 1) {
        hci->dropped++;
        return;
    }
    switch (p[0]) {
    case LE_CONN_COMPLETE:
        le_conn_complete(hci, p + 1, n - 1);
        break;
    case LE_ADV_REPORT:
        le_adv_report(hci, p + 1, n - 1);
        break;
    case LE_LTK_REQUEST:
        le_ltk_request(hci, p + 1, n - 1);
        break;
    case LE_CONN_UPDATE:
        if (n != 10) {
            hci->dropped++;
        }
        break;
    default:
        break; /* masked out; ignored */
    }
}

static void ev_num_completed(ward_hci_t *hci, const uint8_t *p, size_t n)
{
    if (n < 1 || n != 1u + 4u * p[0]) {
        hci->dropped++;
        return;
    }
    for (uint8_t i = 0; i < p[0]; i++) {
        ward_hci_conn_t *c = ward_hci_conn_find(hci, ward_load_le16(p + 1 + 4 * i) & 0x0FFFu);
        uint16_t count = ward_load_le16(p + 3 + 4 * i);
        if (c == NULL) {
            continue;
        }
        if (count > c->in_flight) {
            count = c->in_flight; /* never more credits than we spent */
        }
        c->in_flight = (uint16_t)(c->in_flight - count);
        hci->acl_credits = (uint16_t)(hci->acl_credits + count);
        if (hci->acl_credits > hci->acl_pkts) {
            hci->acl_credits = hci->acl_pkts;
        }
    }
}

/* ---- command results ------------------------------------------------------ */

/* The outstanding command finished: CC (r = return parameters) or CS (r =
 * the status byte only, cs = true). */
static void cmd_finished(ward_hci_t *hci, uint16_t opcode, const uint8_t *r, size_t n, bool cs)
{
    const uint8_t owner = hci->cmd_pending_owner;
    const uint16_t handle = hci->cmd_pending_handle;
    hci->cmd_pending = false;
    const uint8_t status = n > 0 ? r[0] : 0xFFu;

    if (hci->state == ST_INIT) {
        if (cs && status == WARD_HCI_SUCCESS) {
            init_fail(hci, opcode, 0xFFu); /* these must complete, not pend */
        } else {
            init_complete(hci, opcode, r, n);
        }
        return;
    }
    switch (opcode) {
    case OP_READ_ENC_KEY_SIZE:
        if (!cs && n == 4) {
            key_size_result(hci, ward_load_le16(r + 1) & 0x0FFFu, r[0], r[3]);
        } else {
            key_size_result(hci, handle, status != 0 ? status : 0xFFu, 0);
        }
        return;
    case OP_LE_LTK_REPLY:
        if (status != WARD_HCI_SUCCESS) {
            ward_hci_conn_t *c = ward_hci_conn_find(hci, handle);
            if (c != NULL && c->enc_state == ENC_PENDING) {
                enc_fail(hci, c, status);
            }
        }
        return;
    case OP_LE_START_ENC:
        if (status != WARD_HCI_SUCCESS) {
            ward_hci_conn_t *c = ward_hci_conn_find(hci, handle);
            if (c != NULL && c->enc_state == ENC_PENDING) {
                enc_fail(hci, c, status);
            }
        }
        return;
    default:
        break;
    }
    if (owner == OWNER_USER) {
        ward_hci_event_t ev;
        memset(&ev, 0, sizeof ev);
        ev.type = WARD_HCI_EVT_CMD_DONE;
        ev.opcode = opcode;
        ev.status = status;
        ev.handle = handle;
        emit(hci, &ev);
    }
}

static void ev_cmd_complete(ward_hci_t *hci, const uint8_t *p, size_t n)
{
    if (n < 3) {
        hci->dropped++;
        return;
    }
    hci->cmd_credits = p[0];
    const uint16_t opcode = ward_load_le16(p + 1);
    if (opcode == 0 || !hci->cmd_pending || opcode != hci->cmd_pending_opcode) {
        return; /* a credit update, or not the command we are waiting for */
    }
    cmd_finished(hci, opcode, p + 3, n - 3, false);
}

static void ev_cmd_status(ward_hci_t *hci, const uint8_t *p, size_t n)
{
    if (n != 4) {
        hci->dropped++;
        return;
    }
    hci->cmd_credits = p[1];
    const uint16_t opcode = ward_load_le16(p + 2);
    if (opcode == 0 || !hci->cmd_pending || opcode != hci->cmd_pending_opcode) {
        return;
    }
    cmd_finished(hci, opcode, p, 1, true);
}

static void handle_event(ward_hci_t *hci, const uint8_t *pkt, size_t len)
{
    const uint8_t code = pkt[1];
    const uint8_t *p = pkt + 3;
    const size_t n = len - 3;
    switch (code) {
    case EV_CMD_COMPLETE:
        ev_cmd_complete(hci, p, n);
        break;
    case EV_CMD_STATUS:
        ev_cmd_status(hci, p, n);
        break;
    case EV_DISCONN_COMPLETE:
        ev_disconn_complete(hci, p, n);
        break;
    case EV_ENCRYPT_CHANGE:
        ev_encrypt_change(hci, p, n);
        break;
    case EV_KEY_REFRESH:
        ev_key_refresh(hci, p, n);
        break;
    case EV_NUM_COMPLETED:
        ev_num_completed(hci, p, n);
        break;
    case EV_LE_META:
        ev_le_meta(hci, p, n);
        break;
    case EV_HW_ERROR:
    case EV_BUFFER_OVERFLOW:
        if (n == 1) {
            ward_hci_event_t ev;
            memset(&ev, 0, sizeof ev);
            ev.type = WARD_HCI_EVT_HW_ERROR;
            ev.reason = p[0];
            emit(hci, &ev);
        } else {
            hci->dropped++;
        }
        break;
    default:
        break; /* not enabled in the masks; ignored */
    }
}

/* ---- H4 in and out -------------------------------------------------------- */

static void packet_done(ward_hci_t *hci)
{
    const size_t len = hci->rx_have;
    hci->rx_have = 0;
    hci->rx_need = 0;
    if (hci->cb.trace != NULL) {
        hci->cb.trace(hci->cb.ctx, false, hci->rx_pkt, len);
    }
    if (hci->rx_pkt[0] == H4_EVT) {
        handle_event(hci, hci->rx_pkt, len);
    } else if (hci->state == ST_READY) {
        ward_l2cap_acl_in(hci, hci->rx_pkt, len);
    }
}

ward_err_t ward_hci_input(ward_hci_t *hci, const uint8_t *data, size_t len)
{
    if (hci == NULL || (data == NULL && len > 0)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (hci->sync_lost) {
        return WARD_ERR_BLE_H4;
    }
    size_t i = 0;
    while (i < len) {
        if (hci->rx_skip > 0) {
            size_t k = len - i < hci->rx_skip ? len - i : hci->rx_skip;
            hci->rx_skip -= k;
            i += k;
            continue;
        }
        if (hci->rx_have == 0) {
            const uint8_t type = data[i];
            switch (type) {
            case H4_EVT:
                hci->rx_need = 3; /* type, code, length */
                break;
            case H4_ACL:
            case H4_ISO:
                hci->rx_need = 5; /* type, handle, length (2) */
                break;
            case H4_SCO:
                hci->rx_need = 4; /* type, handle, length (1) */
                break;
            default:
                hci->sync_lost = true;
                return WARD_ERR_BLE_H4;
            }
        }
        /* Copy up to the end of the header or of the packet. */
        size_t want = hci->rx_need - hci->rx_have;
        size_t k = len - i < want ? len - i : want;
        memcpy(hci->rx_pkt + hci->rx_have, data + i, k);
        hci->rx_have += k;
        i += k;
        if (hci->rx_have < hci->rx_need) {
            break;
        }
        const uint8_t type = hci->rx_pkt[0];
        size_t hdr = type == H4_EVT ? 3u : type == H4_SCO ? 4u : 5u;
        if (hci->rx_have == hdr) {
            size_t body;
            if (type == H4_EVT) {
                body = hci->rx_pkt[2];
            } else if (type == H4_SCO) {
                body = hci->rx_pkt[3];
            } else if (type == H4_ISO) {
                body = ward_load_le16(hci->rx_pkt + 3) & 0x3FFFu;
            } else {
                body = ward_load_le16(hci->rx_pkt + 3);
            }
            if (type == H4_SCO || type == H4_ISO || (type == H4_ACL && body > WARD_CONFIG_BLE_ACL_RX_MAX)) {
                /* Not for an LE host, or too long for our buffer: skip it. */
                if (type == H4_ACL) {
                    hci->dropped++;
                }
                hci->rx_skip = body;
                hci->rx_have = 0;
                hci->rx_need = 0;
                continue;
            }
            hci->rx_need = hdr + body;
            if (body > 0) {
                continue;
            }
        }
        packet_done(hci);
    }
    return WARD_OK;
}

ward_err_t ward_hci_output(ward_hci_t *hci, uint8_t *out, size_t cap, size_t *len)
{
    if (hci == NULL || out == NULL || len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *len = 0;
    if (cap < 4u + 255u) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    if (hci->sync_lost) {
        return WARD_OK;
    }
    bool got = cmd_output(hci, out, len);
    if (!got && hci->state == ST_READY) {
        got = ward_l2cap_acl_out(hci, out, cap, len);
    }
    if (got && hci->cb.trace != NULL) {
        hci->cb.trace(hci->cb.ctx, true, out, *len);
    }
    return WARD_OK;
}

ward_err_t ward_hci_poll(ward_hci_t *hci, const ward_hci_transport_t *t, uint32_t timeout_ms)
{
    if (hci == NULL || t == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    uint8_t buf[5 + (WARD_CONFIG_BLE_ACL_RX_MAX > 255 ? WARD_CONFIG_BLE_ACL_RX_MAX : 255)];
    ward_err_t err = WARD_OK;
    for (;;) {
        size_t n = 0;
        err = ward_hci_output(hci, buf, sizeof buf, &n);
        if (err != WARD_OK || n == 0) {
            break;
        }
        err = t->send(t->ctx, buf, n);
        if (err != WARD_OK) {
            break;
        }
    }
    ward_wipe(buf, sizeof buf);
    if (err != WARD_OK) {
        return err;
    }
    size_t got = 0;
    err = t->recv(t->ctx, buf, sizeof buf, &got, timeout_ms);
    if (err == WARD_OK && got > 0) {
        err = ward_hci_input(hci, buf, got);
    }
    ward_wipe(buf, sizeof buf);
    return err;
}

/* ---- commands of the caller ------------------------------------------------ */

static ward_err_t user_cmd(ward_hci_t *hci, uint16_t opcode, const uint8_t *p, size_t n)
{
    if (hci == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (hci->state != ST_READY) {
        return WARD_ERR_STATE;
    }
    return ward_hci_cmd_queue(hci, opcode, p, n, OWNER_USER);
}

ward_err_t ward_hci_adv_params(ward_hci_t *hci, const ward_hci_adv_params_t *a)
{
    if (a == NULL || a->interval_min < 0x20 || a->interval_max > 0x4000 ||
        a->interval_min > a->interval_max || a->type > 4 || a->own_addr_type > 3 ||
        (a->channel_map & 0x07u) == 0 || a->channel_map > 7 || a->filter_policy > 3) {
        return WARD_ERR_INVALID_ARG;
    }
    const bool directed =
        a->type == WARD_HCI_ADV_DIRECT_IND_HIGH || a->type == WARD_HCI_ADV_DIRECT_IND_LOW;
    if (directed && a->direct.type > WARD_BLE_ADDR_RANDOM) {
        return WARD_ERR_INVALID_ARG;
    }
    uint8_t p[15];
    ward_store_le16(p, a->interval_min);
    ward_store_le16(p + 2, a->interval_max);
    p[4] = a->type;
    p[5] = a->own_addr_type;
    /* Peer address: only for directed advertising. */
    p[6] = directed ? a->direct.type : 0u;
    if (directed) {
        memcpy(p + 7, a->direct.a, 6);
    } else {
        memset(p + 7, 0, 6);
    }
    p[13] = a->channel_map;
    p[14] = a->filter_policy;
    return user_cmd(hci, OP_LE_SET_ADV_PARAMS, p, sizeof p);
}

static ward_err_t data_cmd(ward_hci_t *hci, uint16_t opcode, const uint8_t *data, size_t len)
{
    if (len > 31 || (data == NULL && len > 0)) {
        return WARD_ERR_INVALID_ARG;
    }
    uint8_t p[32];
    memset(p, 0, sizeof p);
    p[0] = (uint8_t)len;
    if (len > 0) {
        memcpy(p + 1, data, len);
    }
    return user_cmd(hci, opcode, p, sizeof p);
}

ward_err_t ward_hci_adv_data(ward_hci_t *hci, const uint8_t *data, size_t len)
{
    return data_cmd(hci, OP_LE_SET_ADV_DATA, data, len);
}

ward_err_t ward_hci_scan_rsp_data(ward_hci_t *hci, const uint8_t *data, size_t len)
{
    return data_cmd(hci, OP_LE_SET_SCAN_RSP_DATA, data, len);
}

ward_err_t ward_hci_adv_enable(ward_hci_t *hci, bool enable)
{
    const uint8_t p[1] = {enable ? 1u : 0u};
    return user_cmd(hci, OP_LE_SET_ADV_ENABLE, p, 1);
}

ward_err_t ward_hci_use_random_address(ward_hci_t *hci, const uint8_t addr[6])
{
    if (hci == NULL || addr == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    /* The 46 bits below the sub-type may be neither all 0 nor all 1. */
    uint8_t lo = 0x00, hi = 0xFF;
    for (size_t i = 0; i < 6; i++) {
        const uint8_t b = i == 5 ? (uint8_t)(addr[i] & 0x3Fu) : addr[i];
        lo |= b;
        hi &= i == 5 ? (uint8_t)(b | 0xC0u) : b;
    }
    if (lo == 0 || hi == 0xFF) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = user_cmd(hci, OP_LE_SET_RANDOM_ADDR, addr, 6);
    if (err == WARD_OK) {
        hci->own_addr_type = WARD_BLE_ADDR_RANDOM;
        memcpy(hci->random_addr, addr, 6);
    }
    return err;
}

ward_err_t ward_hci_scan_params(ward_hci_t *hci, bool active, uint16_t interval, uint16_t window)
{
    if (hci == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (interval < 4 || interval > 0x4000 || window < 4 || window > interval) {
        return WARD_ERR_INVALID_ARG;
    }
    uint8_t p[7];
    p[0] = active ? 1u : 0u;
    ward_store_le16(p + 1, interval);
    ward_store_le16(p + 3, window);
    p[5] = hci->own_addr_type;
    p[6] = 0; /* accept all advertisers */
    return user_cmd(hci, OP_LE_SET_SCAN_PARAMS, p, sizeof p);
}

ward_err_t ward_hci_scan_enable(ward_hci_t *hci, bool enable, bool filter_duplicates)
{
    const uint8_t p[2] = {enable ? 1u : 0u, filter_duplicates ? 1u : 0u};
    return user_cmd(hci, OP_LE_SET_SCAN_ENABLE, p, 2);
}

ward_err_t ward_hci_connect(ward_hci_t *hci, const ward_ble_addr_t *peer,
                            const ward_hci_conn_params_t *cp)
{
    static const ward_hci_conn_params_t k_default = {
        .scan_interval = 0x0060, .scan_window = 0x0030, .interval_min = 0x0018,
        .interval_max = 0x0028, .latency = 0, .supervision_timeout = 0x0190};
    if (hci == NULL || peer == NULL || peer->type > 3) {
        return WARD_ERR_INVALID_ARG;
    }
    if (cp == NULL) {
        cp = &k_default;
    }
    if (cp->scan_window > cp->scan_interval || cp->scan_interval < 4 ||
        cp->interval_min < 6 || cp->interval_min > cp->interval_max ||
        cp->interval_max > 0x0C80 || cp->latency > 0x01F3 ||
        cp->supervision_timeout < 0x0A || cp->supervision_timeout > 0x0C80) {
        return WARD_ERR_INVALID_ARG;
    }
    uint8_t p[25];
    ward_store_le16(p, cp->scan_interval);
    ward_store_le16(p + 2, cp->scan_window);
    p[4] = 0; /* no filter accept list: the given peer */
    p[5] = peer->type;
    memcpy(p + 6, peer->a, 6);
    p[12] = hci->own_addr_type;
    ward_store_le16(p + 13, cp->interval_min);
    ward_store_le16(p + 15, cp->interval_max);
    ward_store_le16(p + 17, cp->latency);
    ward_store_le16(p + 19, cp->supervision_timeout);
    ward_store_le16(p + 21, 0); /* CE length min/max */
    ward_store_le16(p + 23, 0);
    return user_cmd(hci, OP_LE_CREATE_CONN, p, sizeof p);
}

ward_err_t ward_hci_disconnect(ward_hci_t *hci, uint16_t handle, uint8_t reason)
{
    if (hci == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (ward_hci_conn_find(hci, handle) == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    uint8_t p[3];
    ward_store_le16(p, handle);
    p[2] = reason;
    return user_cmd(hci, OP_DISCONNECT, p, 3);
}

ward_err_t ward_hci_start_encryption(ward_hci_t *hci, uint16_t handle, const uint8_t rand[8],
                                     uint16_t ediv, const uint8_t ltk[16], uint8_t key_flags)
{
    if (hci == NULL || rand == NULL || ltk == NULL || ward_ct_all(ltk, 0, 16)) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_hci_conn_t *c = ward_hci_conn_find(hci, handle);
    if (c == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    if (c->role != WARD_HCI_ROLE_CENTRAL) {
        return WARD_ERR_STATE;
    }
    uint8_t p[28];
    ward_store_le16(p, handle);
    memcpy(p + 2, rand, 8);
    ward_store_le16(p + 10, ediv);
    memcpy(p + 12, ltk, 16);
    ward_err_t err = user_cmd(hci, OP_LE_START_ENC, p, sizeof p);
    ward_wipe(p, sizeof p);
    if (err == WARD_OK) {
        c->enc_state = ENC_PENDING;
        c->key_size = 0;
        c->key_flags = 0;
        c->pending_flags = key_flags;
    }
    return err;
}

/* ---- connection queries ------------------------------------------------- */

ward_err_t ward_hci_conn_security(const ward_hci_t *hci, uint16_t handle, ward_ble_sec_t *sec)
{
    if (hci == NULL || sec == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(sec, 0, sizeof *sec);
    const ward_hci_conn_t *c = conn_find_const(hci, handle);
    if (c == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    if (c->enc_state == ENC_ON && c->key_size >= 7 && c->key_size <= 16) {
        sec->encrypted = true;
        sec->key_size = c->key_size;
        sec->key_flags = c->key_flags;
    }
    return WARD_OK;
}

ward_err_t ward_hci_conn_mark_bonded(ward_hci_t *hci, uint16_t handle)
{
    if (hci == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_hci_conn_t *c = ward_hci_conn_find(hci, handle);
    if (c == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    if (c->enc_state != ENC_ON || c->key_flags == 0u) {
        return WARD_ERR_STATE;
    }
    c->key_flags |= WARD_BLE_KEY_BONDED;
    return WARD_OK;
}

ward_err_t ward_hci_conn_clear_bonded(ward_hci_t *hci, uint16_t handle)
{
    if (hci == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_hci_conn_t *c = ward_hci_conn_find(hci, handle);
    if (c == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    c->key_flags &= (uint8_t)~WARD_BLE_KEY_BONDED;
    c->pending_flags &= (uint8_t)~WARD_BLE_KEY_BONDED;
    return WARD_OK;
}

ward_err_t ward_hci_conn_info(const ward_hci_t *hci, uint16_t handle, uint8_t *role,
                              ward_ble_addr_t *peer)
{
    if (hci == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    const ward_hci_conn_t *c = conn_find_const(hci, handle);
    if (c == NULL) {
        return WARD_ERR_BLE_NO_CONN;
    }
    if (role != NULL) {
        *role = c->role;
    }
    if (peer != NULL) {
        *peer = c->peer;
    }
    return WARD_OK;
}
