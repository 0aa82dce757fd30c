/*
 * Fuzz target: the SMP engine in both roles, with arbitrary PDU sequences.
 *
 * Two ward engines talk: a = the initiator (phone), b = the responder
 * (device). The input is a script that, step by step, delivers each side's
 * PDUs as they are, mutated (a byte flipped, truncated, extended), dropped,
 * or replaced by arbitrary injected PDUs, moves time, answers for the users
 * (right or wrong), and plays the controller (encryption on or off, any key
 * size). After the script the pairing is driven honestly to its end, so
 * every state is reached from short inputs too.
 *
 * Input: [0] phone/device IO capabilities, MITM, OOB; [1] window, bonding,
 * identities, Security Request, existing authenticated bond; then steps
 * (op byte and its arguments, see step()).
 *
 * Oracles (abort on violation):
 *  - ward_smp_input returns only WARD_OK, WARD_ERR_SMP_FAILED,
 *    WARD_ERR_SMP_TIMEOUT or WARD_ERR_NO_SPACE;
 *  - every PDU an engine sends has the exact length of its opcode; a
 *    Pairing Failed reason is 0x01..0x0C; a Pairing Request/Response has
 *    SC set, CT2 clear, key size 16 and no key but IdKey; nothing leaves an
 *    engine after it reported the timeout;
 *  - if both sides report PAIRED they hold the same LTK, method and
 *    authentication; PAIRED is authenticated iff the method is not Just
 *    Works; a device that refused (window closed) never reports PAIRED;
 *    the LTK is never all zero;
 *  - no PSA key is left behind once both engines are released.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/ble_bonds.h"
#include "ward/crypto.h"
#include "ward/sim.h"
#include "ward/smp.h"
#include "ward/util.h"

static const uint8_t k_len[15] = {0, 7, 7, 17, 17, 2, 17, 11, 17, 8, 17, 2, 65, 17, 2};

/* A deterministic rng (xorshift64*): the fuzz input decides everything. */
typedef struct {
    ward_rng_t port;
    uint64_t s;
} fz_rng_t;

static ward_err_t fz_fill(void *ctx, void *buf, size_t len)
{
    fz_rng_t *r = ctx;
    uint8_t *o = buf;
    for (size_t i = 0; i < len; i++) {
        r->s ^= r->s >> 12;
        r->s ^= r->s << 25;
        r->s ^= r->s >> 27;
        o[i] = (uint8_t)((r->s * 0x2545F4914F6CDD1DULL) >> 56);
    }
    return WARD_OK;
}

typedef struct {
    ward_smp_t smp;
    bool timed_out;
    bool paired, failed, start_enc;
    ward_smp_keys_t keys;
    uint32_t shown;
    bool shows, wants_pk, wants_nc;
    uint8_t enc_ltk[16];
} fz_side_t;

typedef struct {
    fz_side_t a, b;
    uint64_t now;
    const uint8_t *d;
    size_t n;
    ward_ble_window_t window;
    bool window_open_at_start;
    bool both_typed;
} fz_t;

static uint8_t take(fz_t *f)
{
    if (f->n == 0) {
        return 0;
    }
    f->n--;
    return *f->d++;
}

static void check_input_err(ward_err_t e)
{
    if (e != WARD_OK && e != WARD_ERR_SMP_FAILED && e != WARD_ERR_SMP_TIMEOUT &&
        e != WARD_ERR_NO_SPACE) {
        abort();
    }
}

/* Every PDU an engine sends must be well formed. */
static void check_out(const fz_side_t *s, const uint8_t *p, size_t len)
{
    if (s->timed_out || len == 0 || p[0] == 0 || p[0] >= sizeof k_len || len != k_len[p[0]]) {
        abort();
    }
    switch (p[0]) {
    case WARD_SMP_PAIRING_FAILED:
        if (p[1] == 0 || p[1] > WARD_SMP_ERR_NUMERIC_COMPARISON) {
            abort();
        }
        break;
    case WARD_SMP_PAIRING_REQUEST:
    case WARD_SMP_PAIRING_RESPONSE:
        if ((p[3] & WARD_SMP_AUTH_SC) == 0 || (p[3] & WARD_SMP_AUTH_CT2) != 0 || p[4] != 16 ||
            (p[5] & ~WARD_SMP_DIST_ID) != 0 || (p[6] & ~WARD_SMP_DIST_ID) != 0 || p[1] > 4 ||
            p[2] > 1) {
            abort();
        }
        break;
    case WARD_SMP_SECURITY_REQUEST:
        if ((p[1] & WARD_SMP_AUTH_SC) == 0 || (p[1] & WARD_SMP_AUTH_CT2) != 0) {
            abort();
        }
        break;
    case WARD_SMP_ENCRYPTION_INFO:
    case WARD_SMP_CENTRAL_IDENT:
    case WARD_SMP_SIGNING_INFO:
        abort(); /* never in SC-only */
    default:
        break;
    }
}

static void input(fz_t *f, fz_side_t *dst, const uint8_t *p, size_t len)
{
    ward_err_t e = ward_smp_input(&dst->smp, p, len, f->now);
    check_input_err(e);
    if (e == WARD_ERR_SMP_TIMEOUT) {
        dst->timed_out = true;
    }
}

static void events(fz_t *f, fz_side_t *s)
{
    ward_smp_event_t ev;
    (void)f;
    while (ward_smp_next_event(&s->smp, &ev)) {
        switch (ev.type) {
        case WARD_SMP_EV_PAIRED:
            if (s->paired || ward_ct_all(ev.keys.ltk, 0, 16) ||
                ev.keys.authenticated != (ev.keys.method != WARD_SMP_METHOD_JUST_WORKS) ||
                !ev.keys.sc || ev.keys.key_size != 16) {
                abort();
            }
            s->paired = true;
            s->keys = ev.keys;
            break;
        case WARD_SMP_EV_FAILED:
            s->failed = true;
            if (ev.timeout) {
                s->timed_out = true;
            }
            break;
        case WARD_SMP_EV_START_ENCRYPTION:
            s->start_enc = true;
            memcpy(s->enc_ltk, ev.keys.ltk, 16);
            break;
        case WARD_SMP_EV_PASSKEY_DISPLAY:
            s->shows = true;
            s->shown = ev.value;
            break;
        case WARD_SMP_EV_PASSKEY_REQUEST:
            s->wants_pk = true;
            break;
        case WARD_SMP_EV_NUMERIC_COMPARE:
            s->wants_nc = true;
            if (ev.value > 999999u) {
                abort();
            }
            break;
        default:
            break;
        }
        ward_wipe(&ev, sizeof ev);
    }
}

/* Move src's queued PDUs to dst. mode 0: as they are; 1: the first one
 * mutated by the input; 2: the first one dropped. */
static void move(fz_t *f, fz_side_t *src, fz_side_t *dst, int mode)
{
    uint8_t p[96];
    size_t len = 0;
    bool first = true;
    while (ward_smp_next_pdu(&src->smp, p, 80, &len) == WARD_OK) {
        check_out(src, p, len);
        if (first && mode == 2) {
            first = false;
            continue;
        }
        if (first && mode == 1) {
            uint8_t how = take(f);
            uint8_t at = take(f);
            uint8_t val = take(f);
            switch (how % 4u) {
            case 0:
                p[at % len] ^= (uint8_t)(val | 1u);
                break;
            case 1:
                len = at % len; /* truncated (maybe to nothing) */
                break;
            case 2:
                if (len < sizeof p) {
                    p[len++] = val; /* one byte too many */
                }
                break;
            default:
                p[0] = val; /* another opcode, same body */
                break;
            }
        }
        first = false;
        input(f, dst, p, len);
    }
}

static void inject(fz_t *f, fz_side_t *dst)
{
    uint8_t p[80];
    size_t len = take(f) % (sizeof p + 1u);
    for (size_t i = 0; i < len; i++) {
        p[i] = take(f);
    }
    input(f, dst, p, len);
}

/* The controller: the phone's LE Start Encryption meets the device's LTK. */
static void encrypt(fz_t *f, bool honest, uint8_t arg)
{
    static const uint8_t zero[8] = {0};
    uint8_t ltk[16];
    if (!f->a.start_enc) {
        if (!honest) { /* an Encryption Change out of the blue */
            (void)ward_smp_encryption_changed(&f->b.smp, (arg & 1u) != 0u, arg >> 3, f->now);
            (void)ward_smp_encryption_changed(&f->a.smp, (arg & 2u) != 0u, arg >> 3, f->now);
        }
        return;
    }
    f->a.start_enc = false;
    bool same = ward_smp_ltk_request(&f->b.smp, 0, zero, ltk) == WARD_OK &&
                memcmp(ltk, f->a.enc_ltk, 16) == 0;
    bool ok = honest ? same : (same && (arg & 1u) != 0u);
    uint8_t size = honest ? 16u : (uint8_t)(arg >> 3);
    (void)ward_smp_encryption_changed(&f->b.smp, ok, size, f->now);
    (void)ward_smp_encryption_changed(&f->a.smp, ok, size, f->now);
}

static void users(fz_t *f, bool honest, uint8_t arg)
{
    fz_side_t *sides[2] = {&f->a, &f->b};
    for (int i = 0; i < 2; i++) {
        fz_side_t *s = sides[i];
        fz_side_t *o = sides[1 - i];
        if (s->wants_nc) {
            s->wants_nc = false;
            (void)ward_smp_numeric_reply(&s->smp, honest || (arg & 1u) != 0u, f->now);
        }
        if (s->wants_pk && (o->shows || !honest || o->wants_pk || f->both_typed)) {
            uint32_t pk = o->shows ? o->shown : 123456u;
            /* Neither shows one: both users type the same (KeyboardOnly twice). */
            f->both_typed = f->both_typed || (!o->shows && o->wants_pk);
            if (!honest) {
                pk = (arg & 2u) ? pk : (pk ^ arg) % 1000000u;
            }
            s->wants_pk = false;
            (void)ward_smp_passkey_reply(&s->smp, honest || (arg & 4u) == 0u, pk, f->now);
        }
    }
}

static void step(fz_t *f)
{
    const uint8_t op = take(f);
    switch (op % 13u) {
    case 0:
        move(f, &f->a, &f->b, 0);
        break;
    case 1:
        move(f, &f->b, &f->a, 0);
        break;
    case 2:
        move(f, &f->a, &f->b, 1);
        break;
    case 3:
        move(f, &f->b, &f->a, 1);
        break;
    case 4:
        inject(f, &f->b);
        break;
    case 5:
        inject(f, &f->a);
        break;
    case 6:
        move(f, &f->a, &f->b, 2);
        break;
    case 7:
        move(f, &f->b, &f->a, 2);
        break;
    case 8:
        f->now += (uint64_t)take(f) * 250u;
        (void)ward_smp_tick(&f->a.smp, f->now);
        (void)ward_smp_tick(&f->b.smp, f->now);
        break;
    case 9:
        users(f, false, take(f));
        break;
    case 10:
        encrypt(f, false, take(f));
        break;
    case 11: {
        const uint8_t w = take(f);
        if (w & 1u) {
            (void)ward_smp_start((w & 2u) ? &f->a.smp : &f->b.smp, f->now);
        } else {
            (void)ward_smp_abort((w & 2u) ? &f->a.smp : &f->b.smp, w >> 2, f->now);
        }
        break;
    }
    default:
        users(f, true, 0);
        encrypt(f, true, 0);
        break;
    }
    events(f, &f->a);
    events(f, &f->b);
}

static ward_sim_hsm_t g_hsm;
static bool g_hsm_ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_t f;
    fz_rng_t ra, rb;
    ward_smp_oob_t oob;
    if (size < 2) {
        return 0;
    }
    if (!g_hsm_ready) {
        if (ward_crypto_init() != WARD_OK || ward_sim_hsm_open(&g_hsm, NULL, NULL, true) != WARD_OK) {
            abort();
        }
        /* A fixed pairing key (any scalar below n) and r: runs repeat exactly. */
        for (int i = 0; i < 32; i++) {
            g_hsm.pair_priv[i] = (uint8_t)(0x11 + i);
        }
        memset(g_hsm.pair_r, 0x5a, 16);
        g_hsm.has_pair = g_hsm.pair_loaded = true;
        g_hsm_ready = true;
    }
    memset(&f, 0, sizeof f);
    f.d = data + 2;
    f.n = size - 2;
    f.now = 1000;
    const uint8_t c0 = data[0], c1 = data[1];

    /* Also: the bond record decoder on the first bytes. */
    ward_ble_bond_t bond;
    (void)ward_ble_bond_decode(&bond, data, size < WARD_BLE_BOND_RECORD_LEN ? size
                                                                            : WARD_BLE_BOND_RECORD_LEN);

    ra.port = (ward_rng_t){&ra, fz_fill};
    ra.s = 0x9E3779B97F4A7C15ULL ^ c0;
    rb.port = (ward_rng_t){&rb, fz_fill};
    rb.s = 0xD1B54A32D192ED03ULL ^ c1;
    static const ward_ble_addr_t phone = {1, {0x11, 0x22, 0x33, 0x44, 0x55, 0xd6}};
    static const ward_ble_addr_t dev = {0, {0xa7, 0x13, 0x70, 0x2d, 0xcf, 0xc1}};
    static const uint8_t irk_a[16] = {1, 2, 3};
    static const uint8_t irk_b[16] = {4, 5, 6};

    ward_smp_config_t ca = {0}, cb = {0};
    ca.role = WARD_SMP_INITIATOR;
    ca.io_cap = (uint8_t)((c0 & 7u) % 5u);
    ca.mitm = (c0 & 0x40u) != 0u;
    ca.bonding = (c1 & 0x04u) != 0u;
    ca.rng = &ra.port;
    cb.role = WARD_SMP_RESPONDER;
    cb.io_cap = (uint8_t)(((c0 >> 3) & 7u) % 5u);
    cb.bonding = (c1 & 0x08u) != 0u;
    cb.require_mitm = (c1 & 0x02u) != 0u;
    cb.rng = &rb.port;
    if (c0 & 0x80u) {
        uint8_t sec1[65], pub[64];
        if (g_hsm.port.pair_public(g_hsm.port.ctx, sec1) != WARD_OK) {
            abort();
        }
        ward_ble_pub_from_sec1(pub, sec1);
        memcpy(oob.r, g_hsm.pair_r, 16);
        if (ward_ble_f4(oob.c, pub, pub, oob.r, 0) != WARD_OK) {
            abort();
        }
        ca.peer_oob = &oob;
        cb.oob_hsm = &g_hsm.port;
    }
    if (c1 & 0x10u) {
        cb.local_irk = irk_b;
        cb.local_identity = &dev;
    }
    if (c1 & 0x20u) {
        ca.local_irk = irk_a;
        ca.local_identity = &phone;
    }
    (void)ward_ble_window_init(&f.window, NULL);
    if (c1 & 0x01u) {
        (void)ward_ble_window_open(&f.window, f.now);
        f.window_open_at_start = true;
    }
    cb.window = &f.window;
    ward_smp_link_t la = {phone, dev, false};
    ward_smp_link_t lb = {dev, phone, (c1 & 0x80u) != 0u};
    if (ward_smp_init(&f.a.smp, &ca, &la, f.now) != WARD_OK ||
        ward_smp_init(&f.b.smp, &cb, &lb, f.now) != WARD_OK) {
        abort();
    }
    if (c1 & 0x40u) {
        (void)ward_smp_start(&f.b.smp, f.now);
    }
    (void)ward_smp_start(&f.a.smp, f.now);

    for (int i = 0; f.n > 0 && i < 200; i++) {
        step(&f);
    }
    /* Then honestly to the end. */
    for (int i = 0; i < 60; i++) {
        move(&f, &f.a, &f.b, 0);
        events(&f, &f.b);
        move(&f, &f.b, &f.a, 0);
        events(&f, &f.a);
        users(&f, true, 0);
        encrypt(&f, true, 0);
        events(&f, &f.a);
        events(&f, &f.b);
    }
    if (f.a.paired && f.b.paired &&
        (memcmp(f.a.keys.ltk, f.b.keys.ltk, 16) != 0 || f.a.keys.method != f.b.keys.method ||
         f.a.keys.authenticated != f.b.keys.authenticated)) {
        abort();
    }
    if (f.b.paired && !f.window_open_at_start) {
        abort(); /* paired through a closed window */
    }
    ward_smp_release(&f.a.smp);
    ward_smp_release(&f.b.smp);
    /* Every PSA key the engines made is gone again. */
    mbedtls_psa_stats_t st;
    mbedtls_psa_get_stats(&st);
    if (st.MBEDTLS_PRIVATE(volatile_slots) != 0u) {
        abort();
    }
    return 0;
}
