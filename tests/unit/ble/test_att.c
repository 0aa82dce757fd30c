/* Unit tests: the ATT server and its access policy (src/ble/att_server.c),
 * the ATT client (src/ble/att_client.c), the sample plug service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ward/att.h"
#include "ward/gatt_plug.h"
#include "ward/util.h"

/* ---- a database with one characteristic per policy ------------------------- */

typedef struct {
    uint8_t value[WARD_GATT_VALUE_MAX];
    size_t len;
    unsigned writes;
    unsigned reads;
    uint8_t authz; /* what the authorization hook answers */
    unsigned authz_calls;
} tstore_t;

static tstore_t g_st;

static uint8_t t_read(void *user, uint16_t conn, uint8_t *out, size_t cap, size_t *len)
{
    tstore_t *s = user;
    (void)conn;
    assert_true(cap >= s->len);
    memcpy(out, s->value, s->len);
    *len = s->len;
    s->reads++;
    return 0;
}

static uint8_t t_write(void *user, uint16_t conn, const uint8_t *val, size_t len)
{
    tstore_t *s = user;
    (void)conn;
    memcpy(s->value, val, len);
    s->len = len;
    s->writes++;
    return 0;
}

static uint8_t t_authorize(void *ctx, uint16_t conn, uint16_t handle, bool write)
{
    tstore_t *s = ctx;
    (void)conn;
    (void)handle;
    (void)write;
    s->authz_calls++;
    return s->authz;
}

static const uint8_t k_svc[2] = {0x0D, 0x18};
static const uint8_t k_svc2[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

#define RW(fl, ks) WARD_GATT_ACCESS(WARD_GATT_ALLOW | (fl), (ks))
#define CHR(u, r, w) \
    WARD_GATT_CHARACTERISTIC(WARD_UUID16(u), WARD_GATT_PROP_READ | WARD_GATT_PROP_WRITE, r, w, \
                             t_read, t_write, 64, &g_st)

enum {
    H_SVC = 1,
    H_OPEN = 3,    /* open both ways */
    H_ENC = 5,     /* encrypted, any key size >= 7 */
    H_AUTHEN = 7,  /* authenticated */
    H_SC = 9,      /* LE SC */
    H_BOND = 11,   /* bonded */
    H_KEY16 = 13,  /* encrypted, 16-byte key */
    H_AUTHOR = 15, /* authorization */
    H_NOACC = 17,  /* neither read nor write permitted */
    H_NOTIFY = 19, /* notify, read encrypted */
    H_CCC = 20,
    H_SVC2 = 21,
    H_LONG = 23,   /* open, 200 bytes */
    H_AUTHOR_ENC = 25,
    H_COUNT = 25
};

static const ward_gatt_attr_t k_attrs[] = {
    WARD_GATT_PRIMARY_SERVICE(k_svc, 2),
    CHR(0x2A01, WARD_GATT_OPEN_ACCESS, WARD_GATT_OPEN_ACCESS),
    CHR(0x2A02, RW(WARD_GATT_ENC, 0), RW(WARD_GATT_ENC, 0)),
    CHR(0x2A03, RW(WARD_GATT_AUTHEN, 0), RW(WARD_GATT_AUTHEN, 0)),
    CHR(0x2A04, RW(WARD_GATT_SC, 0), RW(WARD_GATT_SC, 0)),
    CHR(0x2A05, RW(WARD_GATT_BOND, 0), RW(WARD_GATT_BOND, 0)),
    CHR(0x2A06, RW(WARD_GATT_ENC, 16), RW(WARD_GATT_ENC, 16)),
    CHR(0x2A07, RW(WARD_GATT_AUTHOR, 0), RW(WARD_GATT_AUTHOR, 0)),
    CHR(0x2A08, WARD_GATT_NONE_ACCESS, WARD_GATT_NONE_ACCESS),
    WARD_GATT_CHARACTERISTIC(WARD_UUID16(0x2A09), WARD_GATT_PROP_READ | WARD_GATT_PROP_NOTIFY,
                             RW(WARD_GATT_ENC, 0), WARD_GATT_NONE_ACCESS, t_read, NULL, 0,
                             &g_st),
    WARD_GATT_CCC(RW(WARD_GATT_ENC, 0)),
    WARD_GATT_PRIMARY_SERVICE(k_svc2, 16),
    WARD_GATT_CHARACTERISTIC(WARD_UUID16(0x2A0A), WARD_GATT_PROP_READ | WARD_GATT_PROP_WRITE,
                             WARD_GATT_OPEN_ACCESS, WARD_GATT_OPEN_ACCESS, t_read, t_write, 200,
                             &g_st),
    CHR(0x2A0B, RW(WARD_GATT_AUTHOR | WARD_GATT_ENC, 0), RW(WARD_GATT_AUTHOR | WARD_GATT_ENC, 0)),
};
static const ward_gatt_db_t k_db = {k_attrs, sizeof k_attrs / sizeof k_attrs[0]};

/* Link security states. */
static const ward_ble_sec_t k_plain = {false, 0, 0, false};
static const ward_ble_sec_t k_plain_bonded = {false, 0, 0, true};
static const ward_ble_sec_t k_jw = {true, 16, 0, false}; /* Just Works, not bonded */
static const ward_ble_sec_t k_jw7 = {true, 7, 0, false};
static const ward_ble_sec_t k_full = {
    true, 16, WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED, true};
static const ward_ble_sec_t k_authen_legacy = {true, 16, WARD_BLE_KEY_AUTHENTICATED, true};

static ward_att_server_t g_srv;
static ward_att_bearer_t g_b;
static uint8_t g_rsp[WARD_CONFIG_ATT_MTU];

static int setup(void **state)
{
    (void)state;
    memset(&g_st, 0, sizeof g_st);
    g_st.len = 3;
    memcpy(g_st.value, "abc", 3);
    assert_int_equal(ward_att_server_init(&g_srv, &k_db, t_authorize, &g_st), WARD_OK);
    ward_att_bearer_init(&g_b, 0x2A);
    return 0;
}

/* Send a PDU, return the response length (0: none). */
static size_t att(const ward_ble_sec_t *sec, const uint8_t *pdu, size_t len)
{
    size_t n = 99;
    assert_int_equal(
        ward_att_server_input(&g_srv, &g_b, sec, pdu, len, g_rsp, sizeof g_rsp, &n), WARD_OK);
    return n;
}

static void expect_error(size_t n, uint8_t req, uint16_t handle, uint8_t code)
{
    assert_int_equal(n, 5);
    assert_int_equal(g_rsp[0], WARD_ATT_ERROR_RSP);
    assert_int_equal(g_rsp[1], req);
    assert_int_equal(ward_load_le16(g_rsp + 2), handle);
    assert_int_equal(g_rsp[4], code);
}

/* Read: 0 when allowed, else the error code. */
static uint8_t read_code(const ward_ble_sec_t *sec, uint16_t h)
{
    uint8_t r[3] = {WARD_ATT_READ_REQ, 0, 0};
    ward_store_le16(r + 1, h);
    size_t n = att(sec, r, 3);
    if (g_rsp[0] == WARD_ATT_READ_RSP) {
        return 0;
    }
    expect_error(n, WARD_ATT_READ_REQ, h, g_rsp[4]);
    return g_rsp[4];
}

static uint8_t write_code(const ward_ble_sec_t *sec, uint16_t h)
{
    uint8_t w[4] = {WARD_ATT_WRITE_REQ, 0, 0, 'x'};
    ward_store_le16(w + 1, h);
    size_t n = att(sec, w, 4);
    if (g_rsp[0] == WARD_ATT_WRITE_RSP) {
        assert_int_equal(n, 1);
        return 0;
    }
    expect_error(n, WARD_ATT_WRITE_REQ, h, g_rsp[4]);
    return g_rsp[4];
}

static void test_policy_table(void **state)
{
    (void)state;
    g_st.authz = WARD_ATT_ERR_AUTHORIZATION;
    const struct {
        const ward_ble_sec_t *sec;
        uint16_t h;
        uint8_t code;
    } rows[] = {
        /* Unencrypted, no bond: pair first (0x05). Bonded: re-encrypt (0x0F). */
        {&k_plain, H_OPEN, 0},
        {&k_plain, H_ENC, 0x05},
        {&k_plain, H_AUTHEN, 0x05},
        {&k_plain, H_KEY16, 0x05},
        {&k_plain_bonded, H_ENC, 0x0F},
        {&k_plain_bonded, H_AUTHEN, 0x0F},
        {&k_plain_bonded, H_BOND, 0x0F},
        {&k_plain_bonded, H_KEY16, 0x0F},
        /* Encrypted by Just Works: encrypted ones only. */
        {&k_jw, H_ENC, 0},
        {&k_jw, H_KEY16, 0},
        {&k_jw, H_AUTHEN, 0x05},
        {&k_jw, H_SC, 0x05},
        {&k_jw, H_BOND, 0x05},
        /* A 7-byte key: 0x0C where 16 is needed. */
        {&k_jw7, H_ENC, 0},
        {&k_jw7, H_KEY16, 0x0C},
        /* Authenticated legacy key: not SC, not a bond key. */
        {&k_authen_legacy, H_AUTHEN, 0},
        {&k_authen_legacy, H_SC, 0x05},
        {&k_authen_legacy, H_BOND, 0x05},
        {&k_full, H_AUTHEN, 0},
        {&k_full, H_SC, 0},
        {&k_full, H_BOND, 0},
        /* Not permitted at all comes first, whatever the link. */
        {&k_full, H_NOACC, 0xFF},
        {&k_plain, H_NOACC, 0xFF},
        /* Authorization last: the hook refuses. */
        {&k_full, H_AUTHOR, 0x08},
        {&k_plain, H_AUTHOR, 0x08},
        /* Security before authorization. */
        {&k_plain, H_AUTHOR_ENC, 0x05},
        {&k_jw, H_AUTHOR_ENC, 0x08},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const uint8_t want_r = rows[i].code == 0xFF ? 0x02 : rows[i].code;
        const uint8_t want_w = rows[i].code == 0xFF ? 0x03 : rows[i].code;
        print_message("row %zu: handle %u\n", i, rows[i].h);
        assert_int_equal(read_code(rows[i].sec, rows[i].h), want_r);
        assert_int_equal(write_code(rows[i].sec, rows[i].h), want_w);
    }
    /* The hook never ran for a link that failed security first. */
    g_st.authz_calls = 0;
    assert_int_equal(read_code(&k_plain, H_AUTHOR_ENC), 0x05);
    assert_int_equal(g_st.authz_calls, 0);
    /* The hook allows: through. */
    g_st.authz = 0;
    assert_int_equal(read_code(&k_plain, H_AUTHOR), 0);
    assert_int_equal(write_code(&k_jw, H_AUTHOR_ENC), 0);
    /* No hook at all: refused. */
    ward_att_server_t bare;
    assert_int_equal(ward_att_server_init(&bare, &k_db, NULL, NULL), WARD_OK);
    ward_fih_t fih = WARD_FIH_SUCCESS;
    assert_int_equal(ward_gatt_check_access(&bare, 0x2A, H_AUTHOR, k_attrs[H_AUTHOR - 1].read,
                                            &k_full, false, &fih),
                     0x08);
    assert_int_equal(fih, WARD_FIH_FAILURE);
    assert_int_equal(ward_gatt_check_access(&bare, 0x2A, H_ENC, k_attrs[H_ENC - 1].read,
                                            &k_jw, false, &fih),
                     0);
    assert_int_equal(fih, WARD_FIH_SUCCESS);
}

static void test_refused_writes_touch_nothing(void **state)
{
    (void)state;
    const ward_ble_sec_t *links[] = {&k_plain, &k_plain_bonded, &k_jw, &k_jw7};
    const uint16_t protected_handles[] = {H_AUTHEN, H_SC, H_BOND, H_KEY16, H_NOACC};
    for (size_t l = 0; l < 4; l++) {
        for (size_t k = 0; k < 5; k++) {
            const uint16_t h = protected_handles[k];
            if (links[l] == &k_jw && h == H_KEY16) {
                continue; /* allowed */
            }
            g_st.writes = 0;
            assert_int_not_equal(write_code(links[l], h), 0);
            /* A Write Command is dropped: no answer, no write. */
            uint8_t c[4] = {WARD_ATT_WRITE_CMD, 0, 0, 'y'};
            ward_store_le16(c + 1, h);
            assert_int_equal(att(links[l], c, 4), 0);
            assert_int_equal(g_st.writes, 0);
        }
    }
    /* The same Write Command on an open characteristic writes. */
    uint8_t c[5] = {WARD_ATT_WRITE_CMD, H_OPEN, 0, 'o', 'k'};
    assert_int_equal(att(&k_plain, c, 5), 0);
    assert_int_equal(g_st.writes, 1);
    assert_memory_equal(g_st.value, "ok", 2);
    /* Commands with bad lengths or handles are dropped silently too. */
    const uint8_t c2[2] = {WARD_ATT_WRITE_CMD, 1};
    assert_int_equal(att(&k_full, c2, 2), 0);
    const uint8_t c3[4] = {WARD_ATT_WRITE_CMD, 0x99, 0, 1};
    assert_int_equal(att(&k_full, c3, 4), 0);
    const uint8_t signed_cmd[16] = {WARD_ATT_SIGNED_WRITE_CMD, H_OPEN, 0};
    assert_int_equal(att(&k_full, signed_cmd, 16), 0);
    assert_int_equal(g_st.writes, 1);
}

static void test_prepared_writes(void **state)
{
    (void)state;
    /* Checked at prepare time: refused there, nothing queued. */
    uint8_t p[8] = {WARD_ATT_PREP_WRITE_REQ, H_AUTHEN, 0, 0, 0, 'a', 'b', 'c'};
    expect_error(att(&k_plain, p, 8), WARD_ATT_PREP_WRITE_REQ, H_AUTHEN, 0x05);
    expect_error(att(&k_plain_bonded, p, 8), WARD_ATT_PREP_WRITE_REQ, H_AUTHEN, 0x0F);
    expect_error(att(&k_jw, p, 8), WARD_ATT_PREP_WRITE_REQ, H_AUTHEN, 0x05);
    p[1] = H_NOACC;
    expect_error(att(&k_full, p, 8), WARD_ATT_PREP_WRITE_REQ, H_NOACC, 0x03);
    assert_int_equal(g_b.prep_count, 0);
    const uint8_t exec[2] = {WARD_ATT_EXEC_WRITE_REQ, 1};
    assert_int_equal(att(&k_full, exec, 2), 1);
    assert_int_equal(g_rsp[0], WARD_ATT_EXEC_WRITE_RSP);
    assert_int_equal(g_st.writes, 0);

    /* A long write: three pieces, written whole at execution. */
    uint8_t big[150];
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i * 7);
    }
    for (size_t off = 0; off < sizeof big; off += 18) {
        uint8_t q[23] = {WARD_ATT_PREP_WRITE_REQ, H_LONG, 0};
        const size_t k = sizeof big - off < 18 ? sizeof big - off : 18;
        ward_store_le16(q + 3, (uint16_t)off);
        memcpy(q + 5, big + off, k);
        size_t n = att(&k_plain, q, 5 + k);
        assert_int_equal(n, 5 + k);
        assert_int_equal(g_rsp[0], WARD_ATT_PREP_WRITE_RSP);
        assert_memory_equal(g_rsp + 1, q + 1, 4 + k); /* echoed */
    }
    assert_int_equal(g_st.writes, 0);
    assert_int_equal(att(&k_plain, exec, 2), 1);
    assert_int_equal(g_st.writes, 1);
    assert_int_equal(g_st.len, sizeof big);
    assert_memory_equal(g_st.value, big, sizeof big);

    /* A gap between pieces: Invalid Offset at execution, nothing written. */
    uint8_t q[8] = {WARD_ATT_PREP_WRITE_REQ, H_LONG, 0, 0, 0, 1, 2, 3};
    assert_int_equal(att(&k_plain, q, 8), 8);
    ward_store_le16(q + 3, 10);
    assert_int_equal(att(&k_plain, q, 8), 8);
    expect_error(att(&k_plain, exec, 2), WARD_ATT_EXEC_WRITE_REQ, H_LONG, 0x07);
    assert_int_equal(g_st.writes, 1);
    assert_int_equal(g_b.prep_count, 0);

    /* Past the value's end: Invalid Offset / Invalid Attribute Value Length. */
    ward_store_le16(q + 3, 201);
    expect_error(att(&k_plain, q, 8), WARD_ATT_PREP_WRITE_REQ, H_LONG, 0x07);
    ward_store_le16(q + 3, 199);
    expect_error(att(&k_plain, q, 8), WARD_ATT_PREP_WRITE_REQ, H_LONG, 0x0D);

    /* Queue full. */
    ward_store_le16(q + 3, 0);
    for (unsigned i = 0; i < WARD_CONFIG_ATT_PREP_COUNT; i++) {
        assert_int_equal(att(&k_plain, q, 8), 8);
    }
    expect_error(att(&k_plain, q, 8), WARD_ATT_PREP_WRITE_REQ, H_LONG, 0x09);
    /* Cancel empties it. */
    const uint8_t cancel[2] = {WARD_ATT_EXEC_WRITE_REQ, 0};
    assert_int_equal(att(&k_plain, cancel, 2), 1);
    assert_int_equal(g_b.prep_count, 0);
    assert_int_equal(g_st.writes, 1);
    /* Reserved flags: Invalid PDU. */
    const uint8_t bad[2] = {WARD_ATT_EXEC_WRITE_REQ, 2};
    expect_error(att(&k_plain, bad, 2), WARD_ATT_EXEC_WRITE_REQ, 0, 0x04);

    /* Security re-checked at execution: prepared while encrypted, executed
     * after encryption was lost. */
    uint8_t e[6] = {WARD_ATT_PREP_WRITE_REQ, H_ENC, 0, 0, 0, 'z'};
    assert_int_equal(att(&k_jw, e, 6), 6);
    expect_error(att(&k_plain, exec, 2), WARD_ATT_EXEC_WRITE_REQ, H_ENC, 0x05);
    assert_int_equal(g_st.writes, 1);
}

static void test_exact_lengths(void **state)
{
    (void)state;
    const struct {
        uint8_t pdu[24];
        size_t len;
    } bad[] = {
        {{WARD_ATT_MTU_REQ, 23}, 2},
        {{WARD_ATT_MTU_REQ, 23, 0, 0}, 4},
        {{WARD_ATT_FIND_INFO_REQ, 1, 0, 0xFF}, 4},
        {{WARD_ATT_FIND_INFO_REQ, 1, 0, 0xFF, 0xFF, 0}, 6},
        {{WARD_ATT_FIND_BY_TYPE_REQ, 1, 0, 0xFF, 0xFF, 0}, 6},
        {{WARD_ATT_READ_BY_TYPE_REQ, 1, 0, 0xFF, 0xFF, 0x03, 0x28, 0}, 8},
        {{WARD_ATT_READ_BY_TYPE_REQ, 1, 0, 0xFF, 0xFF, 0x03}, 6},
        {{WARD_ATT_READ_REQ, H_OPEN}, 2},
        {{WARD_ATT_READ_REQ, H_OPEN, 0, 0}, 4},
        {{WARD_ATT_READ_BLOB_REQ, H_OPEN, 0, 0}, 4},
        {{WARD_ATT_READ_BLOB_REQ, H_OPEN, 0, 0, 0, 0}, 6},
        {{WARD_ATT_READ_GROUP_REQ, 1, 0, 0xFF, 0xFF, 0x00, 0x28, 0}, 8},
        {{WARD_ATT_WRITE_REQ, H_OPEN}, 2},
        {{WARD_ATT_PREP_WRITE_REQ, H_OPEN, 0, 0}, 4},
        {{WARD_ATT_EXEC_WRITE_REQ}, 1},
        {{WARD_ATT_EXEC_WRITE_REQ, 1, 0}, 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        print_message("case %zu\n", i);
        expect_error(att(&k_full, bad[i].pdu, bad[i].len), bad[i].pdu[0], 0, 0x04);
    }
    assert_int_equal(g_st.writes, 0);
    /* A PDU longer than the ATT_MTU: Invalid PDU (and a command dropped). */
    uint8_t w[30] = {WARD_ATT_WRITE_REQ, H_OPEN, 0};
    expect_error(att(&k_full, w, 24), WARD_ATT_WRITE_REQ, 0, 0x04);
    w[0] = WARD_ATT_WRITE_CMD;
    assert_int_equal(att(&k_full, w, 24), 0);
    assert_int_equal(g_st.writes, 0);
    /* Unknown requests: Request Not Supported; unknown commands dropped. */
    const uint8_t rm[5] = {WARD_ATT_READ_MULT_REQ, 3, 0, 5, 0};
    expect_error(att(&k_full, rm, 5), WARD_ATT_READ_MULT_REQ, 0, 0x06);
    const uint8_t unk[1] = {0x3F};
    expect_error(att(&k_full, unk, 1), 0x3F, 0, 0x06);
    const uint8_t unkc[1] = {0x7F};
    assert_int_equal(att(&k_full, unkc, 1), 0);
    /* Responses arriving at the server are ignored. */
    const uint8_t rsp[1] = {WARD_ATT_WRITE_RSP};
    assert_int_equal(att(&k_full, rsp, 1), 0);
}

static void test_mtu_and_reads(void **state)
{
    (void)state;
    const uint8_t m[3] = {WARD_ATT_MTU_REQ, 100, 0};
    assert_int_equal(att(&k_plain, m, 3), 3);
    assert_int_equal(g_rsp[0], WARD_ATT_MTU_RSP);
    assert_int_equal(ward_load_le16(g_rsp + 1), WARD_CONFIG_ATT_MTU);
    assert_int_equal(g_b.mtu, 100);
    /* Only once. */
    expect_error(att(&k_plain, m, 3), WARD_ATT_MTU_REQ, 0, 0x06);
    assert_int_equal(g_b.mtu, 100);
    /* A client MTU below 23 counts as 23. */
    ward_att_bearer_init(&g_b, 0x2A);
    const uint8_t m2[3] = {WARD_ATT_MTU_REQ, 5, 0};
    assert_int_equal(att(&k_plain, m2, 3), 3);
    assert_int_equal(g_b.mtu, 23);

    /* A value longer than MTU - 1: read then blob. */
    memset(g_st.value, 'v', 60);
    g_st.value[59] = 'E';
    g_st.len = 60;
    const uint8_t r[3] = {WARD_ATT_READ_REQ, H_OPEN, 0};
    assert_int_equal(att(&k_plain, r, 3), 23);
    uint8_t b[5] = {WARD_ATT_READ_BLOB_REQ, H_OPEN, 0, 44, 0};
    assert_int_equal(att(&k_plain, b, 5), 1 + 16);
    assert_int_equal(g_rsp[16], 'E');
    b[3] = 60;
    assert_int_equal(att(&k_plain, b, 5), 1);
    b[3] = 61;
    expect_error(att(&k_plain, b, 5), WARD_ATT_READ_BLOB_REQ, H_OPEN, 0x07);
    /* Blob on a protected value: the policy answers first. */
    b[1] = H_ENC;
    b[3] = 0;
    expect_error(att(&k_plain, b, 5), WARD_ATT_READ_BLOB_REQ, H_ENC, 0x05);
    /* Invalid handles. */
    const uint8_t r0[3] = {WARD_ATT_READ_REQ, 0, 0};
    expect_error(att(&k_plain, r0, 3), WARD_ATT_READ_REQ, 0, 0x01);
    const uint8_t rx[3] = {WARD_ATT_READ_REQ, H_COUNT + 1, 0};
    expect_error(att(&k_plain, rx, 3), WARD_ATT_READ_REQ, H_COUNT + 1, 0x01);
}

static void test_discovery(void **state)
{
    (void)state;
    /* Primary services: the 16-bit one first, then the 128-bit one alone. */
    const uint8_t g[7] = {WARD_ATT_READ_GROUP_REQ, 1, 0, 0xFF, 0xFF, 0x00, 0x28};
    size_t n = att(&k_plain, g, 7);
    assert_int_equal(n, 2 + 6);
    assert_int_equal(g_rsp[0], WARD_ATT_READ_GROUP_RSP);
    assert_int_equal(g_rsp[1], 6);
    assert_int_equal(ward_load_le16(g_rsp + 2), H_SVC);
    assert_int_equal(ward_load_le16(g_rsp + 4), H_SVC2 - 1);
    assert_memory_equal(g_rsp + 6, k_svc, 2);
    uint8_t g2[7] = {WARD_ATT_READ_GROUP_REQ, H_SVC2 - 1, 0, 0xFF, 0xFF, 0x00, 0x28};
    n = att(&k_plain, g2, 7);
    assert_int_equal(n, 2 + 20);
    assert_int_equal(ward_load_le16(g_rsp + 2), H_SVC2);
    assert_int_equal(ward_load_le16(g_rsp + 4), H_COUNT);
    g2[1] = H_COUNT;
    expect_error(att(&k_plain, g2, 7), WARD_ATT_READ_GROUP_REQ, H_COUNT, 0x0A);
    /* Grouping by a characteristic: Unsupported Group Type. */
    const uint8_t gc[7] = {WARD_ATT_READ_GROUP_REQ, 1, 0, 0xFF, 0xFF, 0x03, 0x28};
    expect_error(att(&k_plain, gc, 7), WARD_ATT_READ_GROUP_REQ, 1, 0x10);
    /* Bad ranges: Invalid Handle, with the start handle. */
    const uint8_t gz[7] = {WARD_ATT_READ_GROUP_REQ, 0, 0, 0xFF, 0xFF, 0x00, 0x28};
    expect_error(att(&k_plain, gz, 7), WARD_ATT_READ_GROUP_REQ, 0, 0x01);
    const uint8_t gr[7] = {WARD_ATT_READ_GROUP_REQ, 5, 0, 4, 0, 0x00, 0x28};
    expect_error(att(&k_plain, gr, 7), WARD_ATT_READ_GROUP_REQ, 5, 0x01);

    /* Characteristic declarations: open, whatever the values need. */
    const uint8_t t[7] = {WARD_ATT_READ_BY_TYPE_REQ, 1, 0, 0xFF, 0xFF, 0x03, 0x28};
    n = att(&k_plain, t, 7);
    assert_int_equal(g_rsp[0], WARD_ATT_READ_BY_TYPE_RSP);
    assert_int_equal(g_rsp[1], 7);
    assert_int_equal((n - 2) % 7, 0);
    assert_int_equal((n - 2) / 7, 3); /* 23 bytes hold three */
    assert_int_equal(ward_load_le16(g_rsp + 2), 2);
    assert_int_equal(g_rsp[4], WARD_GATT_PROP_READ | WARD_GATT_PROP_WRITE);
    assert_int_equal(ward_load_le16(g_rsp + 5), H_OPEN);
    assert_int_equal(ward_load_le16(g_rsp + 7), 0x2A01);

    /* Read By Type on a protected value: its error, with its handle. */
    const uint8_t tv[7] = {WARD_ATT_READ_BY_TYPE_REQ, 1, 0, 0xFF, 0xFF, 0x03, 0x2A};
    expect_error(att(&k_plain, tv, 7), WARD_ATT_READ_BY_TYPE_REQ, H_AUTHEN, 0x05);
    /* An open value read by type. */
    const uint8_t to[7] = {WARD_ATT_READ_BY_TYPE_REQ, 1, 0, 0xFF, 0xFF, 0x01, 0x2A};
    n = att(&k_plain, to, 7);
    assert_int_equal(n, 2 + 2 + 3);
    assert_memory_equal(g_rsp + 4, "abc", 3);

    /* Find Information: 16-bit types, stopping before the 128-bit run. */
    const uint8_t fi[5] = {WARD_ATT_FIND_INFO_REQ, H_NOTIFY, 0, H_CCC, 0};
    n = att(&k_plain, fi, 5);
    assert_int_equal(n, 2 + 2 * 4);
    assert_int_equal(g_rsp[1], 1);
    assert_int_equal(ward_load_le16(g_rsp + 6), H_CCC);
    assert_int_equal(ward_load_le16(g_rsp + 8), 0x2902);
    const uint8_t fx[5] = {WARD_ATT_FIND_INFO_REQ, H_COUNT + 1, 0, 0xFF, 0xFF};
    expect_error(att(&k_plain, fx, 5), WARD_ATT_FIND_INFO_REQ, H_COUNT + 1, 0x0A);

    /* Find By Type Value: the service by its UUID. */
    const uint8_t ft[9] = {WARD_ATT_FIND_BY_TYPE_REQ, 1, 0, 0xFF, 0xFF, 0x00, 0x28, 0x0D, 0x18};
    n = att(&k_plain, ft, 9);
    assert_int_equal(n, 5);
    assert_int_equal(ward_load_le16(g_rsp + 1), H_SVC);
    assert_int_equal(ward_load_le16(g_rsp + 3), H_SVC2 - 1);
    /* ... but never an oracle for a protected value. */
    memcpy(g_st.value, "abc", 3);
    g_st.len = 3;
    const uint8_t fp[10] = {WARD_ATT_FIND_BY_TYPE_REQ, 1, 0, 0xFF, 0xFF, 0x02, 0x2A, 'a', 'b', 'c'};
    expect_error(att(&k_full, fp, 10), WARD_ATT_FIND_BY_TYPE_REQ, 1, 0x0A);
    const uint8_t fo[10] = {WARD_ATT_FIND_BY_TYPE_REQ, 1, 0, 0xFF, 0xFF, 0x01, 0x2A, 'a', 'b', 'c'};
    n = att(&k_plain, fo, 10);
    assert_int_equal(n, 5);
    assert_int_equal(ward_load_le16(g_rsp + 1), H_OPEN);
}

static void test_notifications(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n = 0;
    const uint8_t v[2] = {1, 2};
    assert_int_equal(ward_att_server_notify(&g_srv, &g_b, &k_jw, H_NOTIFY, v, 2, out, 64, &n),
                     WARD_ERR_STATE);
    assert_int_equal(ward_att_server_notify(&g_srv, &g_b, &k_jw, H_OPEN, v, 2, out, 64, &n),
                     WARD_ERR_NOT_FOUND);
    /* Enabling needs an encrypted link. */
    uint8_t w[5] = {WARD_ATT_WRITE_REQ, H_CCC, 0, 1, 0};
    expect_error(att(&k_plain, w, 5), WARD_ATT_WRITE_REQ, H_CCC, 0x05);
    assert_int_equal(att(&k_jw, w, 5), 1);
    assert_int_equal(ward_att_server_notify(&g_srv, &g_b, &k_jw, H_NOTIFY, v, 2, out, 64, &n),
                     WARD_OK);
    const uint8_t want[5] = {WARD_ATT_NOTIFY, H_NOTIFY, 0, 1, 2};
    assert_int_equal(n, 5);
    assert_memory_equal(out, want, 5);
    /* The CCC reads back; the link's security gone: nothing notified. */
    const uint8_t r[3] = {WARD_ATT_READ_REQ, H_CCC, 0};
    assert_int_equal(att(&k_plain, r, 3), 3);
    assert_int_equal(ward_load_le16(g_rsp + 1), 1);
    assert_int_equal(ward_att_server_notify(&g_srv, &g_b, &k_plain, H_NOTIFY, v, 2, out, 64, &n),
                     WARD_ERR_STATE);
    /* Indications are not offered; reserved bits refused; length checked. */
    w[3] = 2;
    expect_error(att(&k_jw, w, 5), WARD_ATT_WRITE_REQ, H_CCC, 0xFD);
    w[3] = 4;
    expect_error(att(&k_jw, w, 5), WARD_ATT_WRITE_REQ, H_CCC, 0x13);
    expect_error(att(&k_jw, w, 4), WARD_ATT_WRITE_REQ, H_CCC, 0x0D);
}

static ward_err_t init_table(const ward_gatt_attr_t *attrs, uint16_t n)
{
    ward_att_server_t s;
    const ward_gatt_db_t d = {attrs, n};
    return ward_att_server_init(&s, &d, NULL, NULL);
}

static void test_db_checks(void **state)
{
    (void)state;
    ward_att_server_t s;
    const ward_gatt_attr_t no_service[] = {
        WARD_GATT_CHARACTERISTIC(WARD_UUID16(0x2A00), WARD_GATT_PROP_READ, WARD_GATT_OPEN_ACCESS,
                                 WARD_GATT_NONE_ACCESS, NULL, NULL, 0, NULL)};
    const ward_gatt_db_t d1 = {no_service, 2};
    assert_int_equal(ward_att_server_init(&s, &d1, NULL, NULL), WARD_ERR_BLE_GATT_DB);
    const ward_gatt_attr_t dangling[] = {
        WARD_GATT_PRIMARY_SERVICE(k_svc, 2),
        {.type = WARD_UUID16(WARD_GATT_UUID_CHARACTERISTIC), .read = WARD_GATT_OPEN_ACCESS}};
    const ward_gatt_db_t d2 = {dangling, 2};
    assert_int_equal(ward_att_server_init(&s, &d2, NULL, NULL), WARD_ERR_BLE_GATT_DB);
    const ward_gatt_attr_t ccc_no_notify[] = {
        WARD_GATT_PRIMARY_SERVICE(k_svc, 2),
        WARD_GATT_CHARACTERISTIC(WARD_UUID16(0x2A00), WARD_GATT_PROP_READ, WARD_GATT_OPEN_ACCESS,
                                 WARD_GATT_NONE_ACCESS, NULL, NULL, 0, NULL),
        WARD_GATT_CCC(WARD_GATT_OPEN_ACCESS)};
    const ward_gatt_db_t d3 = {ccc_no_notify, 4};
    assert_int_equal(ward_att_server_init(&s, &d3, NULL, NULL), WARD_ERR_BLE_GATT_DB);
    const ward_gatt_attr_t writable_no_fn[] = {
        WARD_GATT_PRIMARY_SERVICE(k_svc, 2),
        WARD_GATT_CHARACTERISTIC(WARD_UUID16(0x2A00), WARD_GATT_PROP_WRITE,
                                 WARD_GATT_NONE_ACCESS, WARD_GATT_OPEN_ACCESS, NULL, NULL, 4,
                                 NULL)};
    const ward_gatt_db_t d4 = {writable_no_fn, 3};
    assert_int_equal(ward_att_server_init(&s, &d4, NULL, NULL), WARD_ERR_BLE_GATT_DB);
    const ward_gatt_attr_t bad_keysize[] = {
        WARD_GATT_PRIMARY_SERVICE(k_svc, 2),
        WARD_GATT_CHARACTERISTIC(WARD_UUID16(0x2A00), WARD_GATT_PROP_READ, RW(WARD_GATT_ENC, 6),
                                 WARD_GATT_NONE_ACCESS, NULL, NULL, 0, NULL)};
    const ward_gatt_db_t d5 = {bad_keysize, 3};
    assert_int_equal(ward_att_server_init(&s, &d5, NULL, NULL), WARD_ERR_BLE_GATT_DB);
    const ward_gatt_db_t d6 = {k_attrs, 0};
    assert_int_equal(ward_att_server_init(&s, &d6, NULL, NULL), WARD_ERR_BLE_GATT_DB);
    /* Declarations are readable by anyone and written by no one (Core Vol 3
     * Part G 3.1, 3.3.1): discovery serves them without a policy check, so
     * a table that protects one (or lets it be written) is refused. */
    ward_gatt_attr_t decl[3] = {
        WARD_GATT_PRIMARY_SERVICE(k_svc, 2),
        WARD_GATT_CHARACTERISTIC(WARD_UUID16(0x2A00), WARD_GATT_PROP_READ, WARD_GATT_OPEN_ACCESS,
                                 WARD_GATT_NONE_ACCESS, t_read, NULL, 0, &g_st)};
    assert_int_equal(init_table(decl, 3), WARD_OK);
    decl[0].read = RW(WARD_GATT_ENC, 0);
    assert_int_equal(init_table(decl, 3), WARD_ERR_BLE_GATT_DB);
    decl[0].read = WARD_GATT_OPEN_ACCESS;
    decl[1].read = RW(WARD_GATT_AUTHOR, 0);
    assert_int_equal(init_table(decl, 3), WARD_ERR_BLE_GATT_DB);
    decl[1].read = WARD_GATT_OPEN_ACCESS;
    decl[1].write = WARD_GATT_OPEN_ACCESS;
    assert_int_equal(init_table(decl, 3), WARD_ERR_BLE_GATT_DB);
}

/* ---- the sample plug --------------------------------------------------------- */

typedef struct {
    int relay;
    char ssid[33], psk[64];
    unsigned resets;
} plug_dev_t;

static uint8_t p_status(void *ctx, uint16_t conn, uint8_t *out, size_t cap, size_t *len)
{
    const plug_dev_t *d = ctx;
    (void)conn;
    (void)cap;
    out[0] = (uint8_t)d->relay;
    out[1] = d->ssid[0] != 0;
    *len = 2;
    return 0;
}

static uint8_t p_relay(void *ctx, uint16_t conn, bool on)
{
    plug_dev_t *d = ctx;
    (void)conn;
    d->relay = on;
    return 0;
}

static uint8_t p_wifi(void *ctx, uint16_t conn, const uint8_t *ssid, size_t ssid_len,
                      const uint8_t *psk, size_t psk_len)
{
    plug_dev_t *d = ctx;
    (void)conn;
    memcpy(d->ssid, ssid, ssid_len);
    d->ssid[ssid_len] = 0;
    memcpy(d->psk, psk, psk_len);
    d->psk[psk_len] = 0;
    return 0;
}

static uint8_t p_reset(void *ctx, uint16_t conn)
{
    plug_dev_t *d = ctx;
    (void)conn;
    d->resets++;
    return 0;
}

static void test_plug_service(void **state)
{
    (void)state;
    static ward_gatt_plug_t plug;
    plug_dev_t dev;
    memset(&dev, 0, sizeof dev);
    const ward_gatt_plug_hooks_t hooks = {&dev, p_status, p_relay, p_wifi, p_reset};
    assert_int_equal(ward_gatt_plug_init(&plug, "ward plug", &hooks, false), WARD_OK);
    assert_int_equal(ward_att_server_init(&g_srv, ward_gatt_plug_db(&plug), NULL, NULL), WARD_OK);
    /* Name open; status encrypted; relay authenticated + SC + bond. */
    uint8_t r[3] = {WARD_ATT_READ_REQ, WARD_GATT_PLUG_H_NAME, 0};
    assert_int_equal(att(&k_plain, r, 3), 1 + 9);
    assert_memory_equal(g_rsp + 1, "ward plug", 9);
    assert_int_equal(read_code(&k_plain, WARD_GATT_PLUG_H_STATUS), 0x05);
    assert_int_equal(read_code(&k_plain_bonded, WARD_GATT_PLUG_H_STATUS), 0x0F);
    assert_int_equal(read_code(&k_jw, WARD_GATT_PLUG_H_STATUS), 0);
    assert_int_equal(read_code(&k_jw7, WARD_GATT_PLUG_H_STATUS), 0x0C);
    const uint16_t ctl[3] = {WARD_GATT_PLUG_H_RELAY, WARD_GATT_PLUG_H_WIFI,
                             WARD_GATT_PLUG_H_RESET};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(read_code(&k_full, ctl[i]), 0x02);
        uint8_t w[4] = {WARD_ATT_WRITE_REQ, (uint8_t)ctl[i], 0, 1};
        expect_error(att(&k_plain, w, 4), WARD_ATT_WRITE_REQ, ctl[i], 0x05);
        expect_error(att(&k_jw, w, 4), WARD_ATT_WRITE_REQ, ctl[i], 0x05);
        expect_error(att(&k_authen_legacy, w, 4), WARD_ATT_WRITE_REQ, ctl[i], 0x05);
    }
    assert_int_equal(dev.relay, 0);
    /* On a full link, values are checked before the hooks run. */
    uint8_t w[8] = {WARD_ATT_WRITE_REQ, WARD_GATT_PLUG_H_RELAY, 0, 1};
    assert_int_equal(att(&k_full, w, 4), 1);
    assert_int_equal(dev.relay, 1);
    w[3] = 2;
    expect_error(att(&k_full, w, 4), WARD_ATT_WRITE_REQ, WARD_GATT_PLUG_H_RELAY, 0x13);
    expect_error(att(&k_full, w, 5), WARD_ATT_WRITE_REQ, WARD_GATT_PLUG_H_RELAY, 0x0D);
    uint8_t wifi[3 + 2 + 4 + 1 + 8] = {WARD_ATT_WRITE_REQ, WARD_GATT_PLUG_H_WIFI, 0};
    memcpy(wifi + 3, "\x04home\x08password", 14);
    assert_int_equal(att(&k_full, wifi, 17), 1);
    assert_string_equal(dev.ssid, "home");
    assert_string_equal(dev.psk, "password");
    wifi[8] = 7; /* psk too short, and length off */
    expect_error(att(&k_full, wifi, 17), WARD_ATT_WRITE_REQ, WARD_GATT_PLUG_H_WIFI, 0x13);
    uint8_t rs[7] = {WARD_ATT_WRITE_REQ, WARD_GATT_PLUG_H_RESET, 0, 'W', 'I', 'P', 'E'};
    assert_int_equal(att(&k_full, rs, 7), 1);
    assert_int_equal(dev.resets, 1);
    rs[6] = 'X';
    expect_error(att(&k_full, rs, 7), WARD_ATT_WRITE_REQ, WARD_GATT_PLUG_H_RESET, 0x13);
    assert_int_equal(dev.resets, 1);
    /* Status reads the device. */
    assert_int_equal(att(&k_jw, r, 3), 1 + 9);
    r[1] = WARD_GATT_PLUG_H_STATUS;
    assert_int_equal(att(&k_jw, r, 3), 3);
    assert_int_equal(g_rsp[1], 1);
    assert_int_equal(g_rsp[2], 1);
    /* With authorization asked for, factory reset also needs the hook. */
    assert_int_equal(ward_gatt_plug_init(&plug, "ward plug", &hooks, true), WARD_OK);
    assert_int_equal(ward_att_server_init(&g_srv, ward_gatt_plug_db(&plug), NULL, NULL), WARD_OK);
    rs[6] = 'E';
    expect_error(att(&k_full, rs, 7), WARD_ATT_WRITE_REQ, WARD_GATT_PLUG_H_RESET, 0x08);
    assert_int_equal(dev.resets, 1);
}

/* ---- the client -------------------------------------------------------------- */

static void test_client(void **state)
{
    (void)state;
    ward_att_client_t cl;
    ward_att_result_t res;
    uint8_t out[64];
    size_t n = 0;
    ward_att_client_init(&cl);
    assert_int_equal(ward_att_client_mtu(&cl, 100, out, sizeof out, &n), WARD_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ward_att_client_read(&cl, 3, out, sizeof out, &n), WARD_ERR_STATE);
    /* Not the answer to our request, wrong length: refused, still pending. */
    const uint8_t wr[1] = {WARD_ATT_WRITE_RSP};
    assert_int_equal(ward_att_client_input(&cl, wr, 1, &res), WARD_ERR_BLE_PDU);
    const uint8_t m4[4] = {WARD_ATT_MTU_RSP, 50, 0, 0};
    assert_int_equal(ward_att_client_input(&cl, m4, 4, &res), WARD_ERR_BLE_PDU);
    const uint8_t m[3] = {WARD_ATT_MTU_RSP, 50, 0};
    assert_int_equal(ward_att_client_input(&cl, m, 3, &res), WARD_OK);
    assert_int_equal(res.mtu, 50);
    assert_int_equal(cl.mtu, 50);
    /* Nothing asked: a response is refused. */
    assert_int_equal(ward_att_client_input(&cl, m, 3, &res), WARD_ERR_BLE_PDU);

    /* A list response with a ragged length is refused. */
    assert_int_equal(ward_att_client_read_group(&cl, 1, 0xFFFF, 0x2800, out, sizeof out, &n),
                     WARD_OK);
    const uint8_t rag[9] = {WARD_ATT_READ_GROUP_RSP, 6, 1, 0, 5, 0, 0x00, 0x18, 0};
    assert_int_equal(ward_att_client_input(&cl, rag, 9, &res), WARD_ERR_BLE_PDU);
    const uint8_t grp[14] = {WARD_ATT_READ_GROUP_RSP, 6, 1, 0, 5, 0, 0x00, 0x18,
                             6, 0, 9, 0, 0x01, 0x18};
    assert_int_equal(ward_att_client_input(&cl, grp, 14, &res), WARD_OK);
    size_t it = 0;
    uint16_t h, e;
    const uint8_t *v;
    size_t vl;
    assert_true(ward_att_result_next(&res, &it, &h, &e, &v, &vl));
    assert_int_equal(h, 1);
    assert_int_equal(e, 5);
    assert_int_equal(vl, 2);
    assert_true(ward_att_result_next(&res, &it, &h, &e, &v, &vl));
    assert_int_equal(h, 6);
    assert_int_equal(e, 9);
    assert_false(ward_att_result_next(&res, &it, &h, &e, &v, &vl));

    /* An Error Response for another request is refused; ours is taken. */
    assert_int_equal(ward_att_client_write(&cl, 9, (const uint8_t *)"x", 1, out, sizeof out, &n),
                     WARD_OK);
    const uint8_t er_other[5] = {WARD_ATT_ERROR_RSP, WARD_ATT_READ_REQ, 9, 0, 5};
    assert_int_equal(ward_att_client_input(&cl, er_other, 5, &res), WARD_ERR_BLE_PDU);
    const uint8_t er[5] = {WARD_ATT_ERROR_RSP, WARD_ATT_WRITE_REQ, 9, 0, 5};
    assert_int_equal(ward_att_client_input(&cl, er, 5, &res), WARD_OK);
    assert_int_equal(res.att_err, 5);
    assert_int_equal(res.handle, 9);
    /* A value longer than the MTU allows is refused when building. */
    uint8_t big[60] = {0};
    assert_int_equal(ward_att_client_write(&cl, 9, big, 48, out, sizeof out, &n),
                     WARD_ERR_INVALID_ARG);
    /* Write Command: nothing pending. */
    assert_int_equal(ward_att_client_write_cmd(&cl, 9, big, 4, out, sizeof out, &n), WARD_OK);
    assert_int_equal(cl.pending, 0);
    /* Notifications come any time. */
    const uint8_t nt[4] = {WARD_ATT_NOTIFY, 6, 0, 0x42};
    assert_int_equal(ward_att_client_input(&cl, nt, 4, &res), WARD_OK);
    assert_int_equal(res.handle, 6);
    assert_int_equal(res.data_len, 1);
    /* Find Information with a bad format byte. */
    assert_int_equal(ward_att_client_find_info(&cl, 1, 5, out, sizeof out, &n), WARD_OK);
    const uint8_t fi[6] = {WARD_ATT_FIND_INFO_RSP, 3, 1, 0, 0, 0x28};
    assert_int_equal(ward_att_client_input(&cl, fi, 6, &res), WARD_ERR_BLE_PDU);
}

/* The client and the server agree on a whole discovery. */
static void test_client_against_server(void **state)
{
    (void)state;
    ward_att_client_t cl;
    ward_att_result_t res;
    uint8_t out[64];
    size_t n = 0;
    ward_att_client_init(&cl);
    uint16_t start = 1;
    unsigned services = 0;
    for (;;) {
        assert_int_equal(ward_att_client_read_group(&cl, start, 0xFFFF, 0x2800, out, 23, &n),
                         WARD_OK);
        size_t r = att(&k_plain, out, n);
        assert_int_equal(ward_att_client_input(&cl, g_rsp, r, &res), WARD_OK);
        if (res.att_err != 0) {
            assert_int_equal(res.att_err, WARD_ATT_ERR_NOT_FOUND);
            break;
        }
        size_t it = 0;
        uint16_t h, e;
        while (ward_att_result_next(&res, &it, &h, &e, NULL, NULL)) {
            services++;
            start = (uint16_t)(e + 1);
        }
    }
    assert_int_equal(services, 2);
    /* Read and write through the client's PDUs. */
    assert_int_equal(ward_att_client_write(&cl, H_OPEN, (const uint8_t *)"hey", 3, out, 23, &n),
                     WARD_OK);
    size_t r = att(&k_plain, out, n);
    assert_int_equal(ward_att_client_input(&cl, g_rsp, r, &res), WARD_OK);
    assert_int_equal(res.att_err, 0);
    assert_int_equal(ward_att_client_read(&cl, H_OPEN, out, 23, &n), WARD_OK);
    r = att(&k_plain, out, n);
    assert_int_equal(ward_att_client_input(&cl, g_rsp, r, &res), WARD_OK);
    assert_int_equal(res.data_len, 3);
    assert_memory_equal(res.data, "hey", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_policy_table, setup),
        cmocka_unit_test_setup(test_refused_writes_touch_nothing, setup),
        cmocka_unit_test_setup(test_prepared_writes, setup),
        cmocka_unit_test_setup(test_exact_lengths, setup),
        cmocka_unit_test_setup(test_mtu_and_reads, setup),
        cmocka_unit_test_setup(test_discovery, setup),
        cmocka_unit_test_setup(test_notifications, setup),
        cmocka_unit_test_setup(test_db_checks, setup),
        cmocka_unit_test_setup(test_plug_service, setup),
        cmocka_unit_test_setup(test_client, setup),
        cmocka_unit_test_setup(test_client_against_server, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
