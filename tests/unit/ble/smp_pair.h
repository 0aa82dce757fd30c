/*
 * An in-memory pairing: a ward initiator (the phone) and a ward responder
 * (the device), PDUs handed straight from one engine to the other, user
 * interaction and the controller's encryption simulated. Shared by the
 * unit tests (every method), the attack tests (a hook that rewrites PDUs
 * in flight) and the transcript vector.
 */
#ifndef WARD_TESTS_SMP_PAIR_H
#define WARD_TESTS_SMP_PAIR_H

#include "unit/ble/ble_test.h"
#include "ward/smp.h"

#define BP_MAX_LOG 96

typedef struct {
    ward_smp_t smp;
    bool got_paired, got_failed, start_enc;
    ward_smp_event_t paired, failed;
    bool shows_passkey, shows_numeric, wants_passkey, asked_numeric;
    uint32_t shown;
    uint32_t numeric;
    uint8_t enc_ltk[16];
    uint32_t events;
    uint32_t sec_requests;
} bp_side_t;

typedef struct bp_pair bp_pair_t;
/* Rewrite a PDU in flight (from_initiator: direction). Return false to drop it. */
typedef bool (*bp_hook_t)(bp_pair_t *p, bool from_initiator, uint8_t *pdu, size_t *len);

struct bp_pair {
    bp_side_t a, b; /* a: initiator (phone), b: responder (device) */
    bt_rng_t rng_a, rng_b;
    ward_smp_config_t cfg_a, cfg_b;
    ward_smp_link_t link_a, link_b;
    uint64_t now;
    /* Behaviour of the simulated users and controller. */
    bool nc_yes_a, nc_yes_b;
    bool passkey_wrong_a; /* the phone's user types a wrong passkey */
    bool both_input; /* KeyboardOnly on both sides: both users type one passkey */
    uint32_t both_input_passkey;
    bool enc_fail;      /* the controller's encryption fails */
    uint8_t enc_key_size;
    bp_hook_t hook;
    void *hook_ctx;
    /* Transcript. */
    size_t nlog;
    char log[BP_MAX_LOG][224];
    ward_err_t last_a, last_b; /* last ward_smp_input result on each side */
};

/* Identities used by every test. */
static const ward_ble_addr_t bp_phone_addr = {WARD_BLE_ADDR_RANDOM,
                                              {0x11, 0x22, 0x33, 0x44, 0x55, 0xd6}};
static const ward_ble_addr_t bp_device_addr = {WARD_BLE_ADDR_PUBLIC,
                                               {0xa7, 0x13, 0x70, 0x2d, 0xcf, 0xc1}};
static const uint8_t bp_phone_irk[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                         0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe};
static const uint8_t bp_device_irk[16] = {0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
                                          0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf};

/* Defaults: phone KeyboardDisplay asking MITM and bonding; device NoIO,
 * bonding; both distribute their identity. Adjust cfg_a/cfg_b, then bp_init. */
static inline void bp_defaults(bp_pair_t *p, const char *seed_a, const char *seed_b)
{
    memset(p, 0, sizeof *p);
    bt_rng_init(&p->rng_a, seed_a);
    bt_rng_init(&p->rng_b, seed_b);
    p->cfg_a.role = WARD_SMP_INITIATOR;
    p->cfg_a.io_cap = WARD_SMP_IO_KEYBOARD_DISPLAY;
    p->cfg_a.bonding = true;
    p->cfg_a.mitm = true;
    p->cfg_a.rng = &p->rng_a.port;
    p->cfg_a.local_irk = bp_phone_irk;
    p->cfg_a.local_identity = &bp_phone_addr;
    p->cfg_b.role = WARD_SMP_RESPONDER;
    p->cfg_b.io_cap = WARD_SMP_IO_NONE;
    p->cfg_b.bonding = true;
    p->cfg_b.rng = &p->rng_b.port;
    p->cfg_b.local_irk = bp_device_irk;
    p->cfg_b.local_identity = &bp_device_addr;
    p->link_a.local = bp_phone_addr;
    p->link_a.peer = bp_device_addr;
    p->link_b.local = bp_device_addr;
    p->link_b.peer = bp_phone_addr;
    p->nc_yes_a = p->nc_yes_b = true;
    p->both_input_passkey = 314159;
    p->enc_key_size = 16;
    p->now = 1000;
}

static inline int bp_init(bp_pair_t *p)
{
    if (ward_smp_init(&p->a.smp, &p->cfg_a, &p->link_a, p->now) != WARD_OK ||
        ward_smp_init(&p->b.smp, &p->cfg_b, &p->link_b, p->now) != WARD_OK) {
        return -1;
    }
    return 0;
}

static inline void bp_release(bp_pair_t *p)
{
    ward_smp_release(&p->a.smp);
    ward_smp_release(&p->b.smp);
}

static inline void bp_logf(bp_pair_t *p, const char *tag, const uint8_t *b, size_t n)
{
    if (p->nlog < BP_MAX_LOG) {
        char *l = p->log[p->nlog++];
        size_t off = (size_t)snprintf(l, sizeof p->log[0], "%s", tag);
        for (size_t i = 0; i < n && off + 4 < sizeof p->log[0]; i++) {
            off += (size_t)snprintf(l + off, sizeof p->log[0] - off, " %02x", b[i]);
        }
    }
}

/* Move every queued PDU from one side to the other. Returns how many. */
static inline int bp_move(bp_pair_t *p, bool from_a)
{
    bp_side_t *src = from_a ? &p->a : &p->b;
    bp_side_t *dst = from_a ? &p->b : &p->a;
    uint8_t buf[80];
    size_t n = 0;
    int moved = 0;
    while (ward_smp_next_pdu(&src->smp, buf, sizeof buf, &n) == WARD_OK) {
        moved++;
        if (p->hook != NULL && !p->hook(p, from_a, buf, &n)) {
            bp_logf(p, from_a ? "I>R(dropped)" : "R>I(dropped)", buf, n);
            continue;
        }
        bp_logf(p, from_a ? "I>R" : "R>I", buf, n);
        ward_err_t e = ward_smp_input(&dst->smp, buf, n, p->now);
        if (from_a) {
            p->last_b = e;
        } else {
            p->last_a = e;
        }
    }
    return moved;
}

static inline int bp_events(bp_pair_t *p, bp_side_t *s, bool is_a)
{
    ward_smp_event_t ev;
    int n = 0;
    while (ward_smp_next_event(&s->smp, &ev)) {
        n++;
        s->events++;
        char tag[64];
        switch (ev.type) {
        case WARD_SMP_EV_NUMERIC_COMPARE:
            s->asked_numeric = true;
            s->numeric = ev.value;
            snprintf(tag, sizeof tag, "%c! numeric %06u", is_a ? 'I' : 'R', (unsigned)ev.value);
            bp_logf(p, tag, NULL, 0);
            ward_smp_numeric_reply(&s->smp, is_a ? p->nc_yes_a : p->nc_yes_b, p->now);
            break;
        case WARD_SMP_EV_PASSKEY_DISPLAY:
            s->shows_passkey = true;
            s->shown = ev.value;
            snprintf(tag, sizeof tag, "%c! passkey %06u", is_a ? 'I' : 'R', (unsigned)ev.value);
            bp_logf(p, tag, NULL, 0);
            break;
        case WARD_SMP_EV_PASSKEY_REQUEST:
            s->wants_passkey = true;
            break;
        case WARD_SMP_EV_START_ENCRYPTION:
            s->start_enc = true;
            memcpy(s->enc_ltk, ev.keys.ltk, 16);
            break;
        case WARD_SMP_EV_PAIRED:
            s->got_paired = true;
            s->paired = ev;
            break;
        case WARD_SMP_EV_FAILED:
            s->got_failed = true;
            s->failed = ev;
            break;
        case WARD_SMP_EV_SECURITY_REQUEST:
            s->sec_requests++;
            break;
        default:
            break;
        }
    }
    return n;
}

/* Answer passkey requests once the other side shows its passkey. */
static inline int bp_answer(bp_pair_t *p)
{
    int n = 0;
    bp_side_t *sides[2] = {&p->a, &p->b};
    for (int i = 0; i < 2; i++) {
        bp_side_t *s = sides[i];
        bp_side_t *o = sides[1 - i];
        if (!s->wants_passkey) {
            continue;
        }
        uint32_t pk;
        if (o->shows_passkey) {
            pk = o->shown;
        } else if (p->both_input) {
            pk = p->both_input_passkey; /* both type the same chosen passkey */
        } else {
            continue;
        }
        if (i == 0 && p->passkey_wrong_a) {
            pk = (pk + 1u) % 1000000u;
        }
        s->wants_passkey = false;
        ward_smp_passkey_reply(&s->smp, true, pk, p->now);
        n++;
    }
    return n;
}

/* The controller: the initiator starts encryption with its LTK, the
 * responder's host answers the LTK request; btvirt-like, the link is
 * encrypted iff both LTKs are equal. */
static inline void bp_encrypt(bp_pair_t *p)
{
    static const uint8_t zero[8] = {0};
    uint8_t ltk_b[16];
    p->a.start_enc = false;
    bool ok = ward_smp_ltk_request(&p->b.smp, 0, zero, ltk_b) == WARD_OK &&
              memcmp(ltk_b, p->a.enc_ltk, 16) == 0 && !p->enc_fail;
    bp_logf(p, ok ? "-- encrypted" : "-- encryption failed", NULL, 0);
    ward_smp_encryption_changed(&p->b.smp, ok, p->enc_key_size, p->now);
    ward_smp_encryption_changed(&p->a.smp, ok, p->enc_key_size, p->now);
}

/* Run until nothing moves. */
static inline void bp_run(bp_pair_t *p)
{
    for (int guard = 0; guard < 400; guard++) {
        int n = bp_move(p, true);
        n += bp_events(p, &p->b, false);
        n += bp_move(p, false);
        n += bp_events(p, &p->a, true);
        n += bp_answer(p);
        if (p->a.start_enc) {
            bp_encrypt(p);
            n++;
        }
        if (n == 0) {
            return;
        }
    }
}

/* Start (the phone sends its Pairing Request) and run to the end. */
static inline ward_err_t bp_pair(bp_pair_t *p)
{
    ward_err_t err = ward_smp_start(&p->a.smp, p->now);
    if (err == WARD_OK) {
        bp_run(p);
    }
    return err;
}

#endif
