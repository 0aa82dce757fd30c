/*
 * ward BLE: the SMP engine, LE Secure Connections only (ward/smp.h).
 *
 * Naming follows the spec (Vol 3 Part H 2.3.5.6): A is the initiator, B
 * the responder; PKa/PKb their public keys, Na/Nb their nonces, ra/rb the
 * r values f6 takes (passkey, OOB r, or 0), Ea/Eb their DHKey checks.
 * Every value is kept in wire order (LSB first), as the toolbox takes it.
 */
#include "ward/smp.h"

#include <string.h>

#include "ward/util.h"

enum {
    ST_IDLE = 0,
    ST_SECREQ_SENT, /* responder asked the central to pair/encrypt; timer runs */
    ST_WAIT_RSP,    /* initiator sent the Pairing Request */
    ST_WAIT_PUBKEY,
    ST_WAIT_CONFIRM,
    ST_WAIT_RANDOM,
    ST_WAIT_USER, /* initiator: the passkey before round 0, or the NC answer */
    ST_WAIT_CHECK,
    ST_WAIT_ENC,
    ST_KEYDIST,
    ST_PAIRED,
    ST_FAILED,
    ST_TIMEOUT
};

enum {
    F_USER_PENDING = 0x01, /* a question to the local user is open */
    F_USER_NC = 0x02,      /* ...and it is Numeric Comparison (else passkey) */
    F_HAVE_CONFIRM = 0x04, /* responder: Ca arrived before the passkey */
    F_HAVE_CHECK = 0x08,   /* responder: Ea arrived before the NC answer */
    F_ATTEMPT = 0x10,      /* an attempt the window counts is running */
    F_GOT_IRK = 0x20       /* key distribution: IRK received, address next */
};

/* pk_mode: who displays the passkey (local view). */
enum { PK_LOCAL_DISPLAYS = 1, PK_LOCAL_INPUTS = 2, PK_BOTH_INPUT = 3 };

/* The IO-capability table (Vol 3 Part H 2.3.5.1, Table 2.8), rows the
 * initiator's IOCap, columns the responder's. */
enum { M_JW = 0, M_NC = 1, M_INIT_DISPLAYS = 2, M_RESP_DISPLAYS = 3, M_BOTH_INPUT = 4 };
static const uint8_t k_method[5][5] = {
    /* DisplayOnly   */ {M_JW, M_JW, M_INIT_DISPLAYS, M_JW, M_INIT_DISPLAYS},
    /* DisplayYesNo  */ {M_JW, M_NC, M_INIT_DISPLAYS, M_JW, M_NC},
    /* KeyboardOnly  */ {M_RESP_DISPLAYS, M_RESP_DISPLAYS, M_BOTH_INPUT, M_JW, M_RESP_DISPLAYS},
    /* NoInputNoOut  */ {M_JW, M_JW, M_JW, M_JW, M_JW},
    /* KeyboardDisp  */ {M_RESP_DISPLAYS, M_NC, M_INIT_DISPLAYS, M_JW, M_NC},
};

/* Exact PDU lengths, opcode included (Vol 3 Part H 3.5-3.6). */
static const uint8_t k_len[15] = {0, 7, 7, 17, 17, 2, 17, 11, 17, 8, 17, 2, 65, 17, 2};

/* ---- small helpers --------------------------------------------------------- */

static bool is_init(const ward_smp_t *s)
{
    return s->cfg.role == WARD_SMP_INITIATOR;
}

static bool busy_state(uint8_t st)
{
    return st >= ST_SECREQ_SENT && st <= ST_KEYDIST;
}

static const uint8_t *pka(const ward_smp_t *s)
{
    return is_init(s) ? s->key.pub : s->peer_pub;
}

static const uint8_t *pkb(const ward_smp_t *s)
{
    return is_init(s) ? s->peer_pub : s->key.pub;
}

static void addr_a(const ward_smp_t *s, uint8_t out[7])
{
    ward_ble_addr_smp(out, is_init(s) ? &s->link.local : &s->link.peer);
}

static void addr_b(const ward_smp_t *s, uint8_t out[7])
{
    ward_ble_addr_smp(out, is_init(s) ? &s->link.peer : &s->link.local);
}

static ward_fih_t equal16(const uint8_t *a, const uint8_t *b)
{
    return ward_ct_equal(a, b, 16) ? WARD_FIH_SUCCESS : WARD_FIH_FAILURE;
}

static bool hsm_has_oob(const ward_hsm_t *h)
{
    return h != NULL && h->pair_public != NULL && h->pair_random != NULL && h->pair_ecdh != NULL;
}

static void push_event(ward_smp_t *s, const ward_smp_event_t *ev)
{
    if (s->ev_count == WARD_SMP_EVENT_QUEUE) {
        /* Not drained: the oldest goes (documented: drain after each call). */
        ward_wipe(&s->ev[s->ev_head], sizeof s->ev[0]);
        s->ev_head = (uint8_t)((s->ev_head + 1u) % WARD_SMP_EVENT_QUEUE);
        s->ev_count--;
    }
    uint8_t at = (uint8_t)((s->ev_head + s->ev_count) % WARD_SMP_EVENT_QUEUE);
    s->ev[at] = *ev;
    s->ev_count++;
}

static void event(ward_smp_t *s, ward_smp_event_type_t type, uint32_t value)
{
    ward_smp_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.value = value;
    push_event(s, &ev);
}

static void failed_event(ward_smp_t *s, uint8_t reason, bool remote, bool timeout)
{
    ward_smp_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = WARD_SMP_EV_FAILED;
    ev.reason = reason;
    ev.remote = remote;
    ev.timeout = timeout;
    push_event(s, &ev);
}

/* Queue a PDU; the SMP timer restarts whenever a PDU is queued (3.4). */
static ward_err_t send(ward_smp_t *s, const uint8_t *b, size_t len)
{
    if (s->out_count == WARD_SMP_OUT_QUEUE) {
        return WARD_ERR_NO_SPACE;
    }
    ward_smp_pdu_t *p = &s->out[(s->out_head + s->out_count) % WARD_SMP_OUT_QUEUE];
    memcpy(p->b, b, len);
    p->len = (uint8_t)len;
    s->out_count++;
    s->deadline_ms = s->now_ms + WARD_SMP_TIMEOUT_MS;
    return WARD_OK;
}

static ward_err_t send16(ward_smp_t *s, uint8_t code, const uint8_t v[16])
{
    uint8_t b[17];
    b[0] = code;
    memcpy(b + 1, v, 16);
    ward_err_t err = send(s, b, sizeof b);
    ward_wipe(b, sizeof b);
    return err;
}

static ward_err_t random16(ward_smp_t *s, uint8_t out[16])
{
    return s->cfg.rng->fill(s->cfg.rng->ctx, out, 16);
}

/* A uniform passkey in 0..999999 (rejection sampling: no modulo bias). */
static ward_err_t random_passkey(ward_smp_t *s, uint32_t *pk)
{
    for (int i = 0; i < 64; i++) {
        uint8_t b[4];
        ward_err_t err = s->cfg.rng->fill(s->cfg.rng->ctx, b, sizeof b);
        if (err != WARD_OK) {
            return err;
        }
        uint32_t v = ward_load_le32(b);
        ward_wipe(b, sizeof b);
        if (v < 4294000000u) { /* 4294 * 10^6, the largest multiple below 2^32 */
            *pk = v % 1000000u;
            return WARD_OK;
        }
    }
    return WARD_ERR_CRYPTO;
}

/* Every secret of the attempt, and the key pair. */
static void wipe_secrets(ward_smp_t *s)
{
    ward_ble_p256_free(&s->key);
    s->key_hsm = false;
    ward_wipe(s->peer_pub, sizeof s->peer_pub);
    ward_wipe(s->dhkey, sizeof s->dhkey);
    ward_wipe(s->na, sizeof s->na);
    ward_wipe(s->nb, sizeof s->nb);
    ward_wipe(s->peer_confirm, sizeof s->peer_confirm);
    ward_wipe(s->peer_check, sizeof s->peer_check);
    ward_wipe(s->ra, sizeof s->ra);
    ward_wipe(s->rb, sizeof s->rb);
    ward_wipe(s->mackey, sizeof s->mackey);
    ward_wipe(s->ltk, sizeof s->ltk);
    ward_wipe(&s->keys, sizeof s->keys);
    ward_wipe(&s->passkey, sizeof s->passkey);
    s->check_ok = WARD_FIH_FAILURE;
    s->round = 0;
    s->pk_mode = 0;
    s->dist_send = 0;
    s->dist_recv = 0;
}

/* End the attempt: Pairing Failed (unless the peer sent it), an event, the
 * secrets wiped, the window told. */
static ward_err_t fail_ex(ward_smp_t *s, uint8_t reason, bool remote)
{
    const bool attempt = (s->flags & F_ATTEMPT) != 0u;
    if (!remote) {
        const uint8_t b[2] = {WARD_SMP_PAIRING_FAILED, reason};
        (void)send(s, b, sizeof b); /* a full queue loses it; the state still ends */
    }
    failed_event(s, reason, remote, false);
    wipe_secrets(s);
    s->flags = 0;
    s->state = ST_FAILED;
    if (attempt && s->cfg.window != NULL) {
        ward_ble_window_pairing_failed(s->cfg.window, s->now_ms);
    }
    return WARD_ERR_SMP_FAILED;
}

static ward_err_t fail(ward_smp_t *s, uint8_t reason)
{
    return fail_ex(s, reason, false);
}

/* A PDU refused: inside a pairing it ends it; outside, a Pairing Failed
 * answers it and nothing changes (a stray PDU must not undo a pairing
 * that completed on this link). */
static ward_err_t refuse(ward_smp_t *s, uint8_t reason)
{
    if (busy_state(s->state)) {
        return fail(s, reason);
    }
    const uint8_t b[2] = {WARD_SMP_PAIRING_FAILED, reason};
    (void)send(s, b, sizeof b);
    return WARD_ERR_SMP_FAILED;
}

/* A Pairing Request refused before it started: answered, and reported to
 * the application (a red LED), but not counted as a failed attempt. */
static ward_err_t refuse_request(ward_smp_t *s, uint8_t reason)
{
    failed_event(s, reason, false, false);
    const uint8_t b[2] = {WARD_SMP_PAIRING_FAILED, reason};
    (void)send(s, b, sizeof b);
    if (s->state == ST_SECREQ_SENT) {
        s->state = ST_IDLE;
    }
    return WARD_ERR_SMP_FAILED;
}

/* The 30 s timer (3.4): once it fires the link is done with SMP. */
static bool timed_out(ward_smp_t *s)
{
    if (s->state == ST_TIMEOUT) {
        return true;
    }
    if (!busy_state(s->state) || s->now_ms < s->deadline_ms) {
        return false;
    }
    const bool attempt = (s->flags & F_ATTEMPT) != 0u;
    /* Nothing more goes out on this link, not even what was queued before
     * the timer fired and the link layer has not taken yet. */
    ward_wipe(s->out, sizeof s->out);
    s->out_head = 0;
    s->out_count = 0;
    failed_event(s, 0, false, true);
    wipe_secrets(s);
    s->flags = 0;
    s->state = ST_TIMEOUT;
    if (attempt && s->cfg.window != NULL) {
        ward_ble_window_pairing_failed(s->cfg.window, s->now_ms);
    }
    return true;
}

/* ---- method selection and the key pair -------------------------------------- */

static uint8_t auth_req(const ward_smp_t *s)
{
    /* Never CT2 (no cross-transport keys), never Keypress. */
    return (uint8_t)((s->cfg.bonding ? WARD_SMP_AUTH_BONDING : 0u) |
                     (s->cfg.mitm ? WARD_SMP_AUTH_MITM : 0u) | WARD_SMP_AUTH_SC);
}

/* Method from preq/prsp; sets s->method and s->pk_mode. */
static void select_method(ward_smp_t *s)
{
    const uint8_t *q = s->preq;
    const uint8_t *p = s->prsp;
    s->pk_mode = 0;
    if (q[2] != 0u || p[2] != 0u) {
        s->method = WARD_SMP_METHOD_OOB;
        return;
    }
    if ((q[3] & WARD_SMP_AUTH_MITM) == 0u && (p[3] & WARD_SMP_AUTH_MITM) == 0u) {
        s->method = WARD_SMP_METHOD_JUST_WORKS;
        return;
    }
    switch (k_method[q[1]][p[1]]) {
    case M_NC:
        s->method = WARD_SMP_METHOD_NUMERIC;
        break;
    case M_INIT_DISPLAYS:
        s->method = WARD_SMP_METHOD_PASSKEY;
        s->pk_mode = is_init(s) ? PK_LOCAL_DISPLAYS : PK_LOCAL_INPUTS;
        break;
    case M_RESP_DISPLAYS:
        s->method = WARD_SMP_METHOD_PASSKEY;
        s->pk_mode = is_init(s) ? PK_LOCAL_INPUTS : PK_LOCAL_DISPLAYS;
        break;
    case M_BOTH_INPUT:
        s->method = WARD_SMP_METHOD_PASSKEY;
        s->pk_mode = PK_BOTH_INPUT;
        break;
    default:
        s->method = WARD_SMP_METHOD_JUST_WORKS;
        break;
    }
}

/* Does the peer hold our OOB data (its OOB flag)? */
static bool peer_has_our_oob(const ward_smp_t *s)
{
    return (is_init(s) ? s->prsp[2] : s->preq[2]) != 0u;
}

/* Checks common to Pairing Request and Response parameters; 0 if fine. */
static uint8_t check_params(const uint8_t *p)
{
    if (p[1] > WARD_SMP_IO_KEYBOARD_DISPLAY || p[2] > 1u) {
        return WARD_SMP_ERR_INVALID_PARAMS;
    }
    if (p[4] > 16u) {
        return WARD_SMP_ERR_INVALID_PARAMS;
    }
    if (p[4] < 16u) {
        return WARD_SMP_ERR_ENC_KEY_SIZE; /* KNOB: only full-size keys */
    }
    if ((p[3] & WARD_SMP_AUTH_SC) == 0u) {
        return WARD_SMP_ERR_AUTH_REQUIREMENTS; /* legacy pairing: SC-only mode */
    }
    return 0;
}

/* After the method is known: the key pair and the OOB r values. 0 if fine,
 * else a reason. */
static uint8_t prepare_keys(ward_smp_t *s)
{
    const ward_hsm_t *h = s->cfg.oob_hsm;
    uint8_t local_r[16] = {0};
    bool use_hsm = s->method == WARD_SMP_METHOD_OOB && peer_has_our_oob(s);
    if (use_hsm) {
        uint8_t sec1[65];
        if (!hsm_has_oob(h) || h->pair_public(h->ctx, sec1) != WARD_OK ||
            h->pair_random(h->ctx, local_r) != WARD_OK) {
            ward_wipe(local_r, sizeof local_r);
            return WARD_SMP_ERR_OOB_NOT_AVAILABLE;
        }
        ward_ble_pub_from_sec1(s->key.pub, sec1);
        s->key.key_id = 0;
        s->key_hsm = true;
    } else if (ward_ble_p256_generate(&s->key, s->cfg.rng) != WARD_OK) {
        return WARD_SMP_ERR_UNSPECIFIED;
    }
    if (s->method == WARD_SMP_METHOD_OOB) {
        /* ra is A's r, rb is B's; each is known to both sides only if the
         * side that did not make it received it (its OOB flag), else 0. */
        const bool b_has_a = s->prsp[2] != 0u;
        const bool a_has_b = s->preq[2] != 0u;
        if (b_has_a) {
            memcpy(s->ra, is_init(s) ? local_r : s->cfg.peer_oob->r, 16);
        }
        if (a_has_b) {
            memcpy(s->rb, is_init(s) ? s->cfg.peer_oob->r : local_r, 16);
        }
    }
    ward_wipe(local_r, sizeof local_r);
    return 0;
}

/* Start an attempt's bookkeeping. */
static void begin_attempt(ward_smp_t *s)
{
    wipe_secrets(s);
    s->flags = F_ATTEMPT;
    s->method = WARD_SMP_METHOD_NONE;
}

/* ---- stage 1 ---------------------------------------------------------------- */

static ward_err_t set_passkey_r(ward_smp_t *s)
{
    memset(s->ra, 0, 16);
    ward_store_le32(s->ra, s->passkey);
    memcpy(s->rb, s->ra, 16);
    return WARD_OK;
}

static uint8_t passkey_bit(const ward_smp_t *s)
{
    return (uint8_t)(0x80u | ((s->passkey >> s->round) & 1u));
}

/* Our confirm of this Passkey Entry round, with a fresh nonce. */
static ward_err_t send_round_confirm(ward_smp_t *s)
{
    uint8_t c[16];
    ward_err_t err;
    if (is_init(s)) {
        err = random16(s, s->na);
        if (err == WARD_OK) {
            err = ward_ble_f4(c, pka(s), pkb(s), s->na, passkey_bit(s));
        }
    } else {
        err = random16(s, s->nb);
        if (err == WARD_OK) {
            err = ward_ble_f4(c, pkb(s), pka(s), s->nb, passkey_bit(s));
        }
    }
    if (err == WARD_OK) {
        err = send16(s, WARD_SMP_PAIRING_CONFIRM, c);
    }
    return err;
}

/* The passkey is known: ask the user or show it, per pk_mode. */
static ward_err_t passkey_begin(ward_smp_t *s)
{
    s->round = 0;
    if (s->pk_mode == PK_LOCAL_DISPLAYS) {
        ward_err_t err = random_passkey(s, &s->passkey);
        if (err != WARD_OK) {
            return err;
        }
        set_passkey_r(s);
        event(s, WARD_SMP_EV_PASSKEY_DISPLAY, s->passkey);
        return WARD_OK;
    }
    s->flags = (uint8_t)((s->flags | F_USER_PENDING) & ~F_USER_NC);
    event(s, WARD_SMP_EV_PASSKEY_REQUEST, 0);
    return WARD_OK;
}

/* f5: MacKey and LTK. 0 or a reason. */
static uint8_t derive_keys(ward_smp_t *s)
{
    uint8_t a[7], b[7];
    addr_a(s, a);
    addr_b(s, b);
    if (ward_ble_f5(s->mackey, s->ltk, s->dhkey, s->na, s->nb, a, b) != WARD_OK) {
        return WARD_SMP_ERR_UNSPECIFIED;
    }
    if (ward_ct_all(s->ltk, 0, 16)) {
        return WARD_SMP_ERR_UNSPECIFIED; /* SweynTooth's zero LTK: never */
    }
    return 0;
}

/* Ea = f6(MacKey, Na, Nb, rb, IOcapA, A, B); Eb = f6(MacKey, Nb, Na, ra, IOcapB, B, A). */
static ward_err_t check_value(ward_smp_t *s, bool of_a, uint8_t out[16])
{
    uint8_t a[7], b[7];
    addr_a(s, a);
    addr_b(s, b);
    if (of_a) {
        return ward_ble_f6(out, s->mackey, s->na, s->nb, s->rb, s->preq + 1, a, b);
    }
    return ward_ble_f6(out, s->mackey, s->nb, s->na, s->ra, s->prsp + 1, b, a);
}

/* Initiator, stage 2: send Ea. */
static ward_err_t initiator_send_check(ward_smp_t *s)
{
    uint8_t e[16];
    uint8_t r = derive_keys(s);
    if (r != 0u) {
        return fail(s, r);
    }
    ward_err_t err = check_value(s, true, e);
    if (err == WARD_OK) {
        err = send16(s, WARD_SMP_PAIRING_DHKEY_CHECK, e);
    }
    if (err != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    s->state = ST_WAIT_CHECK;
    return WARD_OK;
}

/* Responder, stage 2: Ea (in peer_check) against ours; then send Eb. */
static ward_err_t responder_check(ward_smp_t *s)
{
    uint8_t e[16];
    uint8_t r = derive_keys(s);
    if (r != 0u) {
        return fail(s, r);
    }
    if (check_value(s, true, e) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    ward_fih_t ok = equal16(e, s->peer_check);
    if (!WARD_FIH_EQ(ok)) {
        return fail(s, WARD_SMP_ERR_DHKEY_CHECK);
    }
    if (!ward_ct_equal(e, s->peer_check, 16)) { /* twice: a glitch must not pass */
        return fail(s, WARD_SMP_ERR_DHKEY_CHECK);
    }
    if (check_value(s, false, e) != WARD_OK || send16(s, WARD_SMP_PAIRING_DHKEY_CHECK, e) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    s->check_ok = ok;
    s->flags &= (uint8_t)~F_HAVE_CHECK;
    s->state = ST_WAIT_ENC;
    return WARD_OK;
}

/* Numeric Comparison's six digits. */
static ward_err_t show_numeric(ward_smp_t *s)
{
    uint32_t v = 0;
    if (ward_ble_g2(&v, pka(s), pkb(s), s->na, s->nb) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    s->flags |= F_USER_PENDING | F_USER_NC;
    event(s, WARD_SMP_EV_NUMERIC_COMPARE, v % 1000000u);
    return WARD_OK;
}

/* ---- PDU handlers ------------------------------------------------------------ */

static ward_err_t on_pairing_request(ward_smp_t *s, const uint8_t *p)
{
    if (s->state != ST_IDLE && s->state != ST_SECREQ_SENT && s->state != ST_FAILED) {
        return refuse(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    if (s->cfg.window != NULL) {
        ward_err_t w = ward_ble_window_may_pair(s->cfg.window, s->now_ms);
        if (w == WARD_ERR_BLE_BACKOFF) {
            return refuse_request(s, WARD_SMP_ERR_REPEATED_ATTEMPTS);
        }
        if (w != WARD_OK) {
            return refuse_request(s, WARD_SMP_ERR_PAIRING_NOT_SUPPORTED);
        }
    }
    uint8_t r = check_params(p);
    if (r != 0u) {
        return refuse_request(s, r);
    }
    begin_attempt(s);
    memcpy(s->preq, p, 7);
    s->prsp[0] = WARD_SMP_PAIRING_RESPONSE;
    s->prsp[1] = s->cfg.io_cap;
    s->prsp[2] = s->cfg.peer_oob != NULL ? 1u : 0u;
    s->prsp[3] = auth_req(s);
    s->prsp[4] = 16;
    /* SC: only IdKey; never LinkKey (BLURtooth), EncKey, SignKey. */
    s->prsp[5] = (uint8_t)(p[5] & WARD_SMP_DIST_ID);
    s->prsp[6] = (uint8_t)(p[6] & (s->cfg.local_irk != NULL ? WARD_SMP_DIST_ID : 0u));
    select_method(s);
    if (s->method == WARD_SMP_METHOD_JUST_WORKS &&
        (s->cfg.require_mitm || s->link.peer_bond_authenticated)) {
        s->flags = 0; /* a policy refusal, not a failed attempt */
        return refuse_request(s, WARD_SMP_ERR_AUTH_REQUIREMENTS);
    }
    if (s->method == WARD_SMP_METHOD_OOB && peer_has_our_oob(s) && !hsm_has_oob(s->cfg.oob_hsm)) {
        s->flags = 0;
        return refuse_request(s, WARD_SMP_ERR_OOB_NOT_AVAILABLE);
    }
    r = prepare_keys(s);
    if (r != 0u) {
        return fail(s, r);
    }
    if (send(s, s->prsp, 7) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    s->state = ST_WAIT_PUBKEY;
    return WARD_OK;
}

static ward_err_t on_pairing_response(ward_smp_t *s, const uint8_t *p)
{
    if (s->state != ST_WAIT_RSP) {
        return refuse(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    uint8_t r = check_params(p);
    if (r != 0u) {
        return fail(s, r);
    }
    /* The responder may only narrow what we asked to distribute. */
    if ((p[5] & (uint8_t)~s->preq[5]) != 0u || (p[6] & (uint8_t)~s->preq[6]) != 0u) {
        return fail(s, WARD_SMP_ERR_INVALID_PARAMS);
    }
    memcpy(s->prsp, p, 7);
    select_method(s);
    if (s->method == WARD_SMP_METHOD_JUST_WORKS && s->cfg.require_mitm) {
        return fail(s, WARD_SMP_ERR_AUTH_REQUIREMENTS);
    }
    if (s->method == WARD_SMP_METHOD_OOB && peer_has_our_oob(s) && !hsm_has_oob(s->cfg.oob_hsm)) {
        return fail(s, WARD_SMP_ERR_OOB_NOT_AVAILABLE);
    }
    r = prepare_keys(s);
    if (r != 0u) {
        return fail(s, r);
    }
    uint8_t b[65];
    b[0] = WARD_SMP_PAIRING_PUBLIC_KEY;
    memcpy(b + 1, s->key.pub, 64);
    if (send(s, b, sizeof b) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    s->state = ST_WAIT_PUBKEY;
    return WARD_OK;
}

/* OOB: the peer's commitment C = f4(PKx, PKx, r, 0) from its OOB data. */
static ward_err_t check_oob_commitment(ward_smp_t *s)
{
    uint8_t c[16];
    const uint8_t *pk = s->peer_pub;
    if (ward_ble_f4(c, pk, pk, is_init(s) ? s->rb : s->ra, 0) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    if (!WARD_FIH_EQ(equal16(c, s->cfg.peer_oob->c)) || !ward_ct_equal(c, s->cfg.peer_oob->c, 16)) {
        return fail(s, WARD_SMP_ERR_CONFIRM_VALUE);
    }
    return WARD_OK;
}

static ward_err_t on_public_key(ward_smp_t *s, const uint8_t *p)
{
    if (s->state != ST_WAIT_PUBKEY) {
        return refuse(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    const uint8_t *peer = p + 1;
    if (ward_ct_equal(peer, s->key.pub, 32)) {
        return fail(s, WARD_SMP_ERR_DHKEY_CHECK); /* reflected (CVE-2020-26558) */
    }
    if (ward_ble_pub_is_debug(peer)) {
        return fail(s, WARD_SMP_ERR_AUTH_REQUIREMENTS); /* the debug key protects nothing */
    }
    ward_err_t err;
    if (s->key_hsm) {
        uint8_t sec1[65];
        uint8_t x[32];
        ward_ble_pub_to_sec1(sec1, peer);
        err = s->cfg.oob_hsm->pair_ecdh(s->cfg.oob_hsm->ctx, sec1, x);
        ward_ble_swap(s->dhkey, x, 32);
        ward_wipe(x, sizeof x);
    } else {
        err = ward_ble_p256_dhkey(s->dhkey, &s->key, peer);
    }
    if (err == WARD_ERR_BLE_PEER_KEY) {
        return fail(s, WARD_SMP_ERR_DHKEY_CHECK); /* not on the curve (CVE-2018-5383) */
    }
    if (err != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    memcpy(s->peer_pub, peer, 64);

    if (!is_init(s)) {
        uint8_t b[65];
        b[0] = WARD_SMP_PAIRING_PUBLIC_KEY;
        memcpy(b + 1, s->key.pub, 64);
        if (send(s, b, sizeof b) != WARD_OK) {
            return fail(s, WARD_SMP_ERR_UNSPECIFIED);
        }
    }
    switch (s->method) {
    case WARD_SMP_METHOD_OOB:
        if (s->cfg.peer_oob != NULL) {
            err = check_oob_commitment(s);
            if (err != WARD_OK) {
                return err;
            }
        }
        if (is_init(s)) {
            if (random16(s, s->na) != WARD_OK || send16(s, WARD_SMP_PAIRING_RANDOM, s->na) != WARD_OK) {
                return fail(s, WARD_SMP_ERR_UNSPECIFIED);
            }
        }
        s->state = ST_WAIT_RANDOM;
        return WARD_OK;
    case WARD_SMP_METHOD_PASSKEY:
        if (passkey_begin(s) != WARD_OK) {
            return fail(s, WARD_SMP_ERR_UNSPECIFIED);
        }
        if (!is_init(s)) {
            s->state = ST_WAIT_CONFIRM; /* Ca1 may come before our user answers */
            return WARD_OK;
        }
        if ((s->flags & F_USER_PENDING) != 0u) {
            s->state = ST_WAIT_USER;
            return WARD_OK;
        }
        if (send_round_confirm(s) != WARD_OK) {
            return fail(s, WARD_SMP_ERR_UNSPECIFIED);
        }
        s->state = ST_WAIT_CONFIRM;
        return WARD_OK;
    default: /* Just Works, Numeric Comparison */
        if (is_init(s)) {
            s->state = ST_WAIT_CONFIRM;
            return WARD_OK;
        }
        {
            uint8_t c[16];
            if (random16(s, s->nb) != WARD_OK || ward_ble_f4(c, pkb(s), pka(s), s->nb, 0) != WARD_OK ||
                send16(s, WARD_SMP_PAIRING_CONFIRM, c) != WARD_OK) {
                return fail(s, WARD_SMP_ERR_UNSPECIFIED);
            }
        }
        s->state = ST_WAIT_RANDOM;
        return WARD_OK;
    }
}

static ward_err_t on_confirm(ward_smp_t *s, const uint8_t *p)
{
    if (s->state != ST_WAIT_CONFIRM ||
        (!is_init(s) && s->method != WARD_SMP_METHOD_PASSKEY) ||
        (s->flags & F_HAVE_CONFIRM) != 0u) {
        return refuse(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    memcpy(s->peer_confirm, p + 1, 16);
    if (is_init(s)) {
        if (s->method != WARD_SMP_METHOD_PASSKEY && random16(s, s->na) != WARD_OK) {
            return fail(s, WARD_SMP_ERR_UNSPECIFIED);
        }
        if (send16(s, WARD_SMP_PAIRING_RANDOM, s->na) != WARD_OK) {
            return fail(s, WARD_SMP_ERR_UNSPECIFIED);
        }
        s->state = ST_WAIT_RANDOM;
        return WARD_OK;
    }
    if ((s->flags & F_USER_PENDING) != 0u) {
        s->flags |= F_HAVE_CONFIRM; /* answered once the user typed the passkey */
        return WARD_OK;
    }
    if (send_round_confirm(s) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    s->state = ST_WAIT_RANDOM;
    return WARD_OK;
}

/* The peer's confirm against its nonce: Cb = f4(PKb, PKa, Nb, z) at A,
 * Ca = f4(PKa, PKb, Na, z) at B. */
static bool peer_confirm_ok(ward_smp_t *s, uint8_t z)
{
    uint8_t c[16];
    ward_err_t err = is_init(s) ? ward_ble_f4(c, pkb(s), pka(s), s->nb, z)
                                : ward_ble_f4(c, pka(s), pkb(s), s->na, z);
    return err == WARD_OK && WARD_FIH_EQ(equal16(c, s->peer_confirm)) &&
           ward_ct_equal(c, s->peer_confirm, 16);
}

static ward_err_t on_random(ward_smp_t *s, const uint8_t *p)
{
    if (s->state != ST_WAIT_RANDOM) {
        return refuse(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    memcpy(is_init(s) ? s->nb : s->na, p + 1, 16);
    const bool pk = s->method == WARD_SMP_METHOD_PASSKEY;

    if (is_init(s)) {
        if (s->method != WARD_SMP_METHOD_OOB && !peer_confirm_ok(s, pk ? passkey_bit(s) : 0u)) {
            return fail(s, WARD_SMP_ERR_CONFIRM_VALUE);
        }
        if (pk && ++s->round < 20u) {
            if (send_round_confirm(s) != WARD_OK) {
                return fail(s, WARD_SMP_ERR_UNSPECIFIED);
            }
            s->state = ST_WAIT_CONFIRM;
            return WARD_OK;
        }
        if (s->method == WARD_SMP_METHOD_NUMERIC) {
            s->state = ST_WAIT_USER;
            return show_numeric(s);
        }
        return initiator_send_check(s);
    }

    if (pk && !peer_confirm_ok(s, passkey_bit(s))) {
        return fail(s, WARD_SMP_ERR_CONFIRM_VALUE);
    }
    if (s->method == WARD_SMP_METHOD_OOB && random16(s, s->nb) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    if (send16(s, WARD_SMP_PAIRING_RANDOM, s->nb) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    if (pk && ++s->round < 20u) {
        s->state = ST_WAIT_CONFIRM;
        return WARD_OK;
    }
    s->state = ST_WAIT_CHECK;
    if (s->method == WARD_SMP_METHOD_NUMERIC) {
        return show_numeric(s);
    }
    return WARD_OK;
}

static ward_err_t on_dhkey_check(ward_smp_t *s, const uint8_t *p)
{
    if (s->state != ST_WAIT_CHECK || (s->flags & F_HAVE_CHECK) != 0u) {
        return refuse(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    memcpy(s->peer_check, p + 1, 16);
    if (!is_init(s)) {
        if ((s->flags & F_USER_PENDING) != 0u) {
            s->flags |= F_HAVE_CHECK; /* checked once our user said yes */
            return WARD_OK;
        }
        return responder_check(s);
    }
    uint8_t e[16];
    if (check_value(s, false, e) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    ward_fih_t ok = equal16(e, s->peer_check);
    if (!WARD_FIH_EQ(ok) || !ward_ct_equal(e, s->peer_check, 16)) {
        return fail(s, WARD_SMP_ERR_DHKEY_CHECK);
    }
    s->check_ok = ok;
    s->state = ST_WAIT_ENC;
    ward_smp_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = WARD_SMP_EV_START_ENCRYPTION;
    memcpy(ev.keys.ltk, s->ltk, 16);
    ev.keys.key_size = 16;
    push_event(s, &ev);
    ward_wipe(&ev, sizeof ev);
    return WARD_OK;
}

/* Pairing done: report the keys, tell the window, forget the secrets. */
static ward_err_t complete(ward_smp_t *s)
{
    if (!WARD_FIH_EQ(s->check_ok)) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    ward_smp_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = WARD_SMP_EV_PAIRED;
    ev.keys = s->keys;
    memcpy(ev.keys.ltk, s->ltk, 16);
    ev.keys.authenticated = s->method != WARD_SMP_METHOD_JUST_WORKS;
    ev.keys.sc = true;
    ev.keys.key_size = 16;
    ev.keys.method = s->method;
    ev.keys.bonded = (s->preq[3] & s->prsp[3] & WARD_SMP_AUTH_BONDING) != 0u;
    if ((s->flags & F_GOT_IRK) == 0u) {
        ev.keys.peer_id = s->link.peer;
        ward_wipe(ev.keys.peer_irk, 16);
        ev.keys.has_peer_irk = false;
    }
    const bool bonded = ev.keys.bonded;
    push_event(s, &ev);
    ward_wipe(&ev, sizeof ev);
    wipe_secrets(s);
    s->flags = 0;
    s->state = ST_PAIRED;
    if (s->cfg.window != NULL) {
        ward_ble_window_paired(s->cfg.window, s->now_ms, bonded);
    }
    return WARD_OK;
}

/* Our keys: Identity Information then Identity Address Information. */
static ward_err_t send_keys(ward_smp_t *s)
{
    if ((s->dist_send & WARD_SMP_DIST_ID) != 0u) {
        uint8_t b[8];
        if (send16(s, WARD_SMP_IDENTITY_INFO, s->cfg.local_irk) != WARD_OK) {
            return WARD_ERR_NO_SPACE;
        }
        b[0] = WARD_SMP_IDENTITY_ADDR_INFO;
        b[1] = s->cfg.local_identity->type;
        memcpy(b + 2, s->cfg.local_identity->a, 6);
        if (send(s, b, sizeof b) != WARD_OK) {
            return WARD_ERR_NO_SPACE;
        }
    }
    s->dist_send = 0;
    return WARD_OK;
}

static ward_err_t on_key(ward_smp_t *s, const uint8_t *p)
{
    if (s->state != ST_KEYDIST || (s->dist_recv & WARD_SMP_DIST_ID) == 0u) {
        return refuse(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    if (p[0] == WARD_SMP_IDENTITY_INFO) {
        if ((s->flags & F_GOT_IRK) != 0u) {
            return fail(s, WARD_SMP_ERR_UNSPECIFIED);
        }
        memcpy(s->keys.peer_irk, p + 1, 16);
        /* An all-zero IRK (BlueZ's test peer sends one) resolves nothing. */
        s->keys.has_peer_irk = !ward_ct_all(p + 1, 0, 16);
        s->flags |= F_GOT_IRK;
        return WARD_OK;
    }
    /* Identity Address Information: only after the IRK, only a real identity. */
    if ((s->flags & F_GOT_IRK) == 0u) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    ward_ble_addr_t id;
    id.type = p[1];
    memcpy(id.a, p + 2, 6);
    if (!ward_ble_addr_is_identity(&id)) {
        return fail(s, WARD_SMP_ERR_INVALID_PARAMS);
    }
    s->keys.peer_id = id;
    s->dist_recv &= (uint8_t)~WARD_SMP_DIST_ID;
    if (s->dist_recv != 0u) {
        return WARD_OK;
    }
    if (is_init(s) && send_keys(s) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    return complete(s);
}

static ward_err_t on_security_request(ward_smp_t *s, const uint8_t *p)
{
    if (!is_init(s)) {
        return refuse(s, WARD_SMP_ERR_COMMAND_NOT_SUPPORTED);
    }
    if (busy_state(s->state)) {
        return WARD_OK; /* pairing already under way: ignored (3.6.7) */
    }
    ward_smp_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = WARD_SMP_EV_SECURITY_REQUEST;
    ev.auth_req = p[1];
    push_event(s, &ev);
    return WARD_OK;
}

/* ---- API ------------------------------------------------------------------------ */

ward_err_t ward_smp_init(ward_smp_t *s, const ward_smp_config_t *cfg, const ward_smp_link_t *link,
                         uint64_t now_ms)
{
    if (s == NULL || cfg == NULL || link == NULL || cfg->rng == NULL || cfg->rng->fill == NULL ||
        cfg->io_cap > WARD_SMP_IO_KEYBOARD_DISPLAY ||
        (cfg->role != WARD_SMP_INITIATOR && cfg->role != WARD_SMP_RESPONDER) ||
        ((cfg->local_irk == NULL) != (cfg->local_identity == NULL)) ||
        (cfg->local_identity != NULL && !ward_ble_addr_is_identity(cfg->local_identity))) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->link = *link;
    s->state = ST_IDLE;
    s->check_ok = WARD_FIH_FAILURE;
    s->now_ms = now_ms;
    return WARD_OK;
}

ward_err_t ward_smp_start(ward_smp_t *s, uint64_t now_ms)
{
    if (s == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    s->now_ms = now_ms;
    if (timed_out(s)) {
        return WARD_ERR_SMP_TIMEOUT;
    }
    if (s->state != ST_IDLE && s->state != ST_FAILED) {
        return WARD_ERR_STATE;
    }
    if (!is_init(s)) {
        const uint8_t b[2] = {WARD_SMP_SECURITY_REQUEST, auth_req(s)};
        ward_err_t err = send(s, b, sizeof b);
        if (err == WARD_OK) {
            s->state = ST_SECREQ_SENT;
        }
        return err;
    }
    if (s->out_count == WARD_SMP_OUT_QUEUE) {
        return WARD_ERR_NO_SPACE;
    }
    begin_attempt(s);
    s->preq[0] = WARD_SMP_PAIRING_REQUEST;
    s->preq[1] = s->cfg.io_cap;
    s->preq[2] = s->cfg.peer_oob != NULL ? 1u : 0u;
    s->preq[3] = auth_req(s);
    s->preq[4] = 16;
    s->preq[5] = s->cfg.local_irk != NULL ? WARD_SMP_DIST_ID : 0u;
    s->preq[6] = WARD_SMP_DIST_ID;
    (void)send(s, s->preq, 7);
    s->state = ST_WAIT_RSP;
    return WARD_OK;
}

ward_err_t ward_smp_input(ward_smp_t *s, const uint8_t *pdu, size_t len, uint64_t now_ms)
{
    if (s == NULL || (pdu == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    s->now_ms = now_ms;
    if (timed_out(s)) {
        return WARD_ERR_SMP_TIMEOUT; /* dropped, never answered */
    }
    if (len == 0u) {
        return WARD_OK; /* shorter than the header: dropped (as Zephyr) */
    }
    if (s->out_count == WARD_SMP_OUT_QUEUE) {
        if (busy_state(s->state)) {
            (void)fail(s, WARD_SMP_ERR_UNSPECIFIED);
        }
        return WARD_ERR_NO_SPACE;
    }
    const uint8_t code = pdu[0];
    if (code == 0u || code >= sizeof k_len) {
        return refuse(s, WARD_SMP_ERR_COMMAND_NOT_SUPPORTED);
    }
    if (len != k_len[code]) {
        return refuse(s, WARD_SMP_ERR_INVALID_PARAMS);
    }
    switch (code) {
    case WARD_SMP_PAIRING_REQUEST:
        return is_init(s) ? refuse(s, WARD_SMP_ERR_COMMAND_NOT_SUPPORTED)
                          : on_pairing_request(s, pdu);
    case WARD_SMP_PAIRING_RESPONSE:
        return is_init(s) ? on_pairing_response(s, pdu)
                          : refuse(s, WARD_SMP_ERR_COMMAND_NOT_SUPPORTED);
    case WARD_SMP_PAIRING_CONFIRM:
        return on_confirm(s, pdu);
    case WARD_SMP_PAIRING_RANDOM:
        return on_random(s, pdu);
    case WARD_SMP_PAIRING_FAILED:
        if (busy_state(s->state)) {
            return fail_ex(s, pdu[1], true); /* also: our Security Request declined */
        }
        return WARD_OK; /* nothing to fail; never answered */
    case WARD_SMP_SECURITY_REQUEST:
        return on_security_request(s, pdu);
    case WARD_SMP_PAIRING_PUBLIC_KEY:
        return on_public_key(s, pdu);
    case WARD_SMP_PAIRING_DHKEY_CHECK:
        return on_dhkey_check(s, pdu);
    case WARD_SMP_IDENTITY_INFO:
    case WARD_SMP_IDENTITY_ADDR_INFO:
        return on_key(s, pdu);
    case WARD_SMP_KEYPRESS:
        /* We never ask for keypress notifications; tolerated while the
         * peer's user types a passkey, unexpected anywhere else. */
        if (s->method == WARD_SMP_METHOD_PASSKEY &&
            (s->state == ST_WAIT_CONFIRM || s->state == ST_WAIT_RANDOM || s->state == ST_WAIT_USER)) {
            return WARD_OK;
        }
        return refuse(s, WARD_SMP_ERR_UNSPECIFIED);
    default:
        /* Encryption Information, Central Identification, Signing
         * Information: legacy or never negotiated here. */
        return refuse(s, WARD_SMP_ERR_UNSPECIFIED);
    }
}

ward_err_t ward_smp_tick(ward_smp_t *s, uint64_t now_ms)
{
    if (s == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    s->now_ms = now_ms;
    return timed_out(s) ? WARD_ERR_SMP_TIMEOUT : WARD_OK;
}

ward_err_t ward_smp_numeric_reply(ward_smp_t *s, bool match, uint64_t now_ms)
{
    if (s == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    s->now_ms = now_ms;
    if (timed_out(s)) {
        return WARD_ERR_SMP_TIMEOUT;
    }
    if ((s->flags & (F_USER_PENDING | F_USER_NC)) != (F_USER_PENDING | F_USER_NC)) {
        return WARD_ERR_STATE;
    }
    if (!match) {
        return fail(s, WARD_SMP_ERR_NUMERIC_COMPARISON);
    }
    s->flags &= (uint8_t)~(F_USER_PENDING | F_USER_NC);
    if (is_init(s)) {
        return initiator_send_check(s);
    }
    if ((s->flags & F_HAVE_CHECK) != 0u) {
        return responder_check(s);
    }
    return WARD_OK;
}

ward_err_t ward_smp_passkey_reply(ward_smp_t *s, bool ok, uint32_t passkey, uint64_t now_ms)
{
    if (s == NULL || (ok && passkey > WARD_SMP_PASSKEY_MAX)) {
        return WARD_ERR_INVALID_ARG;
    }
    s->now_ms = now_ms;
    if (timed_out(s)) {
        return WARD_ERR_SMP_TIMEOUT;
    }
    if ((s->flags & (F_USER_PENDING | F_USER_NC)) != F_USER_PENDING) {
        return WARD_ERR_STATE;
    }
    if (!ok) {
        return fail(s, WARD_SMP_ERR_PASSKEY_ENTRY);
    }
    s->flags &= (uint8_t)~F_USER_PENDING;
    s->passkey = passkey;
    set_passkey_r(s);
    s->round = 0;
    if (is_init(s)) {
        if (send_round_confirm(s) != WARD_OK) {
            return fail(s, WARD_SMP_ERR_UNSPECIFIED);
        }
        s->state = ST_WAIT_CONFIRM;
        return WARD_OK;
    }
    if ((s->flags & F_HAVE_CONFIRM) != 0u) {
        s->flags &= (uint8_t)~F_HAVE_CONFIRM;
        if (send_round_confirm(s) != WARD_OK) {
            return fail(s, WARD_SMP_ERR_UNSPECIFIED);
        }
        s->state = ST_WAIT_RANDOM;
    }
    return WARD_OK;
}

ward_err_t ward_smp_ltk_request(ward_smp_t *s, uint16_t ediv, const uint8_t rand[8],
                                uint8_t ltk[16])
{
    if (s == NULL || rand == NULL || ltk == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (is_init(s) || s->state != ST_WAIT_ENC || ediv != 0u || !ward_ct_all(rand, 0, 8) ||
        !WARD_FIH_EQ(s->check_ok)) {
        return WARD_ERR_NOT_FOUND;
    }
    memcpy(ltk, s->ltk, 16);
    return WARD_OK;
}

ward_err_t ward_smp_encryption_changed(ward_smp_t *s, bool ok, uint8_t key_size, uint64_t now_ms)
{
    if (s == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    s->now_ms = now_ms;
    if (timed_out(s)) {
        return WARD_ERR_SMP_TIMEOUT;
    }
    if (s->state == ST_SECREQ_SENT) {
        if (ok) {
            s->state = ST_IDLE; /* the central encrypted with its bond */
        }
        return WARD_OK;
    }
    if (s->state != ST_WAIT_ENC) {
        return WARD_OK;
    }
    if (!ok) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED); /* no plaintext fallback */
    }
    if (key_size != 16u) {
        return fail(s, WARD_SMP_ERR_ENC_KEY_SIZE);
    }
    if (!WARD_FIH_EQ(s->check_ok)) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    s->state = ST_KEYDIST;
    /* The Pairing Response fixed what each side distributes: byte 5 the
     * initiator's keys, byte 6 the responder's. */
    const uint8_t init_keys = (uint8_t)(s->prsp[5] & WARD_SMP_DIST_ID);
    const uint8_t resp_keys = (uint8_t)(s->prsp[6] & WARD_SMP_DIST_ID);
    s->dist_send = is_init(s) ? init_keys : resp_keys;
    s->dist_recv = is_init(s) ? resp_keys : init_keys;
    if (!is_init(s) && send_keys(s) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED); /* the responder sends first */
    }
    if (s->dist_recv != 0u) {
        return WARD_OK;
    }
    if (is_init(s) && send_keys(s) != WARD_OK) {
        return fail(s, WARD_SMP_ERR_UNSPECIFIED);
    }
    return complete(s);
}

ward_err_t ward_smp_abort(ward_smp_t *s, uint8_t reason, uint64_t now_ms)
{
    if (s == NULL || reason == 0u || reason > WARD_SMP_ERR_NUMERIC_COMPARISON) {
        return WARD_ERR_INVALID_ARG;
    }
    s->now_ms = now_ms;
    if (timed_out(s) || !busy_state(s->state)) {
        return WARD_ERR_STATE;
    }
    (void)fail(s, reason);
    return WARD_OK;
}

ward_err_t ward_smp_next_pdu(ward_smp_t *s, uint8_t *out, size_t cap, size_t *len)
{
    if (s == NULL || out == NULL || len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *len = 0;
    if (s->out_count == 0u) {
        return WARD_ERR_NOT_FOUND;
    }
    ward_smp_pdu_t *p = &s->out[s->out_head];
    *len = p->len;
    if (cap < p->len) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    memcpy(out, p->b, p->len);
    ward_wipe(p, sizeof *p);
    s->out_head = (uint8_t)((s->out_head + 1u) % WARD_SMP_OUT_QUEUE);
    s->out_count--;
    return WARD_OK;
}

bool ward_smp_next_event(ward_smp_t *s, ward_smp_event_t *ev)
{
    if (s == NULL || ev == NULL || s->ev_count == 0u) {
        return false;
    }
    *ev = s->ev[s->ev_head];
    ward_wipe(&s->ev[s->ev_head], sizeof s->ev[0]);
    s->ev_head = (uint8_t)((s->ev_head + 1u) % WARD_SMP_EVENT_QUEUE);
    s->ev_count--;
    return true;
}

bool ward_smp_busy(const ward_smp_t *s)
{
    return s != NULL && busy_state(s->state) && s->state != ST_SECREQ_SENT;
}

ward_smp_method_t ward_smp_method(const ward_smp_t *s)
{
    return s != NULL ? (ward_smp_method_t)s->method : WARD_SMP_METHOD_NONE;
}

void ward_smp_release(ward_smp_t *s)
{
    if (s == NULL) {
        return;
    }
    wipe_secrets(s);
    ward_wipe(s, sizeof *s);
}
