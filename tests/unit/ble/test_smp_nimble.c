/*
 * ward's SMP engine against pairings recorded by an independent
 * implementation: NimBLE's SMP (tests/vectors/ble/nimble-sc.txt, extracted
 * from apache/mynewt-nimble's ble_sm_sc_test.c by nimble_sc_extract.py).
 *
 * Each case is one LE Secure Connections pairing, with the private key and
 * nonces NimBLE used on its side. ward plays that side: its rng is scripted
 * to give the same private key and nonces, the other side's PDUs are fed in
 * from the record, and ward must answer with exactly the bytes NimBLE sent
 * (public key, every confirm and random of every Passkey Entry round,
 * the DHKey check), show the same number in Numeric Comparison, and derive
 * the same LTK. So f4/f5/f6/g2 are applied with the spec's argument order
 * and byte order, not merely consistently between two ward instances.
 *
 *   test_smp_nimble tests/vectors/ble/nimble-sc.txt
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/ble/ble_test.h"
#include "ward/smp.h"

static const char *g_path;

typedef struct {
    char name[96];
    bool initiator; /* ward plays the initiator */
    char alg[4];
    uint8_t init_addr[6], resp_addr[6];
    uint8_t pair_req[7], pair_rsp[7];
    uint8_t priv[32];
    uint8_t pk_req[64], pk_rsp[64];
    uint8_t confirm_req[20][16], confirm_rsp[20][16], random_req[20][16], random_rsp[20][16];
    int rounds;
    uint8_t dhkey_req[16], dhkey_rsp[16], ltk[16];
    char action[8];
    uint32_t passkey, numcmp;
    bool expect_fail;
} nb_case_t;

static int hexline(uint8_t *out, size_t n, const char *s)
{
    return bt_hex(out, n, s) == (int)n ? 0 : -1;
}

/* Read the next case; 1 if one was read, 0 at the end, -1 on a bad line. */
static int next_case(FILE *f, nb_case_t *c)
{
    char line[1024];
    memset(c, 0, sizeof *c);
    bool in = false;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') {
            continue;
        }
        char key[32];
        int idx = 0, off = 0;
        if (sscanf(line, "%31s %n", key, &off) != 1) {
            return -1;
        }
        const char *v = line + off;
        int r = 0;
        if (strcmp(key, "case") == 0) {
            snprintf(c->name, sizeof c->name, "%s", v);
            in = true;
        } else if (strcmp(key, "role") == 0) {
            c->initiator = strcmp(v, "initiator") == 0;
        } else if (strcmp(key, "alg") == 0) {
            snprintf(c->alg, sizeof c->alg, "%s", v);
        } else if (strcmp(key, "init_addr") == 0) {
            r = hexline(c->init_addr, 6, v);
        } else if (strcmp(key, "resp_addr") == 0) {
            r = hexline(c->resp_addr, 6, v);
        } else if (strcmp(key, "pair_req") == 0) {
            r = hexline(c->pair_req, 7, v);
        } else if (strcmp(key, "pair_rsp") == 0) {
            r = hexline(c->pair_rsp, 7, v);
        } else if (strcmp(key, "priv") == 0) {
            r = hexline(c->priv, 32, v);
        } else if (strcmp(key, "pk_req") == 0) {
            r = hexline(c->pk_req, 64, v);
        } else if (strcmp(key, "pk_rsp") == 0) {
            r = hexline(c->pk_rsp, 64, v);
        } else if (strncmp(key, "confirm_", 8) == 0 || strncmp(key, "random_", 7) == 0) {
            int o2 = 0;
            if (sscanf(v, "%d %n", &idx, &o2) != 1 || idx < 0 || idx >= 20) {
                return -1;
            }
            uint8_t(*dst)[16] = strcmp(key, "confirm_req") == 0   ? c->confirm_req
                                : strcmp(key, "confirm_rsp") == 0 ? c->confirm_rsp
                                : strcmp(key, "random_req") == 0  ? c->random_req
                                                                  : c->random_rsp;
            r = hexline(dst[idx], 16, v + o2);
            if (idx + 1 > c->rounds) {
                c->rounds = idx + 1;
            }
        } else if (strcmp(key, "dhkey_req") == 0) {
            r = hexline(c->dhkey_req, 16, v);
        } else if (strcmp(key, "dhkey_rsp") == 0) {
            r = hexline(c->dhkey_rsp, 16, v);
        } else if (strcmp(key, "ltk") == 0) {
            r = hexline(c->ltk, 16, v);
        } else if (strcmp(key, "passkey") == 0) {
            unsigned pk = 0;
            if (sscanf(v, "%7s %u", c->action, &pk) != 2) {
                return -1;
            }
            c->passkey = pk;
        } else if (strcmp(key, "numcmp") == 0) {
            c->numcmp = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(key, "expect") == 0) {
            c->expect_fail = strcmp(v, "fail") == 0;
        } else if (strcmp(key, "end") == 0) {
            return in ? 1 : -1;
        } else {
            return -1;
        }
        if (r != 0) {
            return -1;
        }
    }
    return 0;
}

/* Expect exactly one PDU: code then the 16/64 bytes given. */
static void expect_pdu(ward_smp_t *s, uint8_t code, const uint8_t *v, size_t n, const char *what)
{
    uint8_t out[80];
    size_t len = 0;
    if (ward_smp_next_pdu(s, out, sizeof out, &len) != WARD_OK) {
        fail_msg("%s: no PDU", what);
    }
    if (len != n + 1u || out[0] != code || memcmp(out + 1, v, n) != 0) {
        char got[200], want[200];
        bt_tohex(got, out, len < 80 ? len : 80);
        bt_tohex(want, v, n);
        fail_msg("%s: got %s, want %02x%s", what, got, code, want);
    }
}

static void feed(ward_smp_t *s, uint8_t code, const uint8_t *v, size_t n, uint64_t now)
{
    uint8_t b[80];
    b[0] = code;
    memcpy(b + 1, v, n);
    assert_int_equal(ward_smp_input(s, b, n + 1u, now), WARD_OK);
}

static void expect_event(ward_smp_t *s, ward_smp_event_type_t type, ward_smp_event_t *ev)
{
    assert_true(ward_smp_next_event(s, ev));
    assert_int_equal(ev->type, type);
}

static void run_case(const nb_case_t *c)
{
    bt_rng_t rng;
    uint8_t priv_be[32];
    bt_rng_init(&rng, "nimble");
    /* NimBLE keeps the scalar least significant octet first; PSA takes it
     * big-endian. */
    ward_ble_swap(priv_be, c->priv, 32);
    bt_rng_push(&rng, priv_be, 32);
    const bool pk = strcmp(c->alg, "pk") == 0;
    const bool nc = strcmp(c->alg, "nc") == 0;
    const bool we_show = strcmp(c->action, "disp") == 0;
    if (pk && we_show) {
        static uint8_t passkey_bytes[4]; /* static: the rng script points at it */
        ward_store_le32(passkey_bytes, c->passkey); /* the passkey our rng draws */
        bt_rng_push(&rng, passkey_bytes, 4);
    }
    /* Our nonces: the side we play drew them. */
    const uint8_t(*ours)[16] = c->initiator ? c->random_req : c->random_rsp;
    for (int i = 0; i < c->rounds; i++) {
        bt_rng_push(&rng, ours[i], 16);
    }
    const uint8_t *mine = c->initiator ? c->pair_req : c->pair_rsp;
    ward_smp_config_t cfg = {0};
    cfg.role = c->initiator ? WARD_SMP_INITIATOR : WARD_SMP_RESPONDER;
    cfg.io_cap = mine[1];
    cfg.bonding = (mine[3] & WARD_SMP_AUTH_BONDING) != 0u;
    cfg.mitm = (mine[3] & WARD_SMP_AUTH_MITM) != 0u;
    cfg.rng = &rng.port;
    ward_smp_link_t link = {0};
    link.local.type = link.peer.type = WARD_BLE_ADDR_PUBLIC;
    memcpy(link.local.a, c->initiator ? c->init_addr : c->resp_addr, 6);
    memcpy(link.peer.a, c->initiator ? c->resp_addr : c->init_addr, 6);
    ward_smp_t s;
    ward_smp_event_t ev;
    uint8_t out[80];
    size_t len = 0;
    uint64_t now = 100;
    assert_int_equal(ward_smp_init(&s, &cfg, &link, now), WARD_OK);

    /* Pairing Request / Response: our IOCap, OOB, AuthReq, key size are
     * NimBLE's (they enter f6); key distribution may differ (ward offers
     * only IdKey), so the peer's PDU is narrowed to what we asked. */
    if (c->initiator) {
        assert_int_equal(ward_smp_start(&s, now), WARD_OK);
        assert_int_equal(ward_smp_next_pdu(&s, out, sizeof out, &len), WARD_OK);
        assert_int_equal(len, 7);
        assert_memory_equal(out, c->pair_req, 5);
        uint8_t rsp[7];
        memcpy(rsp, c->pair_rsp, 7);
        rsp[5] &= out[5];
        rsp[6] &= out[6];
        assert_int_equal(ward_smp_input(&s, rsp, 7, now), WARD_OK);
        expect_pdu(&s, WARD_SMP_PAIRING_PUBLIC_KEY, c->pk_req, 64, "public key");
        uint8_t b[65];
        b[0] = WARD_SMP_PAIRING_PUBLIC_KEY;
        memcpy(b + 1, c->pk_rsp, 64);
        ward_err_t e = ward_smp_input(&s, b, 65, now);
        if (c->expect_fail) {
            /* NimBLE's peer answered with our own key: refused. */
            assert_int_equal(e, WARD_ERR_SMP_FAILED);
            assert_int_equal(ward_smp_next_pdu(&s, out, sizeof out, &len), WARD_OK);
            assert_int_equal(len, 2);
            assert_int_equal(out[0], WARD_SMP_PAIRING_FAILED);
            assert_int_equal(out[1], WARD_SMP_ERR_DHKEY_CHECK);
            ward_smp_release(&s);
            return;
        }
        assert_int_equal(e, WARD_OK);
    } else {
        assert_int_equal(ward_smp_input(&s, c->pair_req, 7, now), WARD_OK);
        assert_int_equal(ward_smp_next_pdu(&s, out, sizeof out, &len), WARD_OK);
        assert_int_equal(len, 7);
        assert_memory_equal(out, c->pair_rsp, 5);
        feed(&s, WARD_SMP_PAIRING_PUBLIC_KEY, c->pk_req, 64, now);
        expect_pdu(&s, WARD_SMP_PAIRING_PUBLIC_KEY, c->pk_rsp, 64, "public key");
    }

    if (pk) {
        if (we_show) {
            expect_event(&s, WARD_SMP_EV_PASSKEY_DISPLAY, &ev);
            assert_int_equal(ev.value, c->passkey);
        } else {
            expect_event(&s, WARD_SMP_EV_PASSKEY_REQUEST, &ev);
            assert_int_equal(ward_smp_passkey_reply(&s, true, c->passkey, now), WARD_OK);
        }
        for (int i = 0; i < 20; i++) {
            char what[32];
            snprintf(what, sizeof what, "round %d", i);
            if (c->initiator) {
                expect_pdu(&s, WARD_SMP_PAIRING_CONFIRM, c->confirm_req[i], 16, what);
                feed(&s, WARD_SMP_PAIRING_CONFIRM, c->confirm_rsp[i], 16, now);
                expect_pdu(&s, WARD_SMP_PAIRING_RANDOM, c->random_req[i], 16, what);
                feed(&s, WARD_SMP_PAIRING_RANDOM, c->random_rsp[i], 16, now);
            } else {
                feed(&s, WARD_SMP_PAIRING_CONFIRM, c->confirm_req[i], 16, now);
                expect_pdu(&s, WARD_SMP_PAIRING_CONFIRM, c->confirm_rsp[i], 16, what);
                feed(&s, WARD_SMP_PAIRING_RANDOM, c->random_req[i], 16, now);
                expect_pdu(&s, WARD_SMP_PAIRING_RANDOM, c->random_rsp[i], 16, what);
            }
        }
    } else if (c->initiator) {
        feed(&s, WARD_SMP_PAIRING_CONFIRM, c->confirm_rsp[0], 16, now);
        expect_pdu(&s, WARD_SMP_PAIRING_RANDOM, c->random_req[0], 16, "random");
        feed(&s, WARD_SMP_PAIRING_RANDOM, c->random_rsp[0], 16, now);
    } else {
        expect_pdu(&s, WARD_SMP_PAIRING_CONFIRM, c->confirm_rsp[0], 16, "confirm");
        feed(&s, WARD_SMP_PAIRING_RANDOM, c->random_req[0], 16, now);
        expect_pdu(&s, WARD_SMP_PAIRING_RANDOM, c->random_rsp[0], 16, "random");
    }
    if (nc) {
        expect_event(&s, WARD_SMP_EV_NUMERIC_COMPARE, &ev);
        assert_int_equal(ev.value, c->numcmp);
        assert_int_equal(ward_smp_numeric_reply(&s, true, now), WARD_OK);
    }

    if (c->initiator) {
        expect_pdu(&s, WARD_SMP_PAIRING_DHKEY_CHECK, c->dhkey_req, 16, "dhkey check");
        feed(&s, WARD_SMP_PAIRING_DHKEY_CHECK, c->dhkey_rsp, 16, now);
        expect_event(&s, WARD_SMP_EV_START_ENCRYPTION, &ev);
        assert_memory_equal(ev.keys.ltk, c->ltk, 16);
    } else {
        feed(&s, WARD_SMP_PAIRING_DHKEY_CHECK, c->dhkey_req, 16, now);
        expect_pdu(&s, WARD_SMP_PAIRING_DHKEY_CHECK, c->dhkey_rsp, 16, "dhkey check");
        static const uint8_t zero[8] = {0};
        uint8_t ltk[16];
        assert_int_equal(ward_smp_ltk_request(&s, 0, zero, ltk), WARD_OK);
        assert_memory_equal(ltk, c->ltk, 16);
    }
    /* Every scripted value was drawn, none from the fallback stream. */
    assert_int_equal(rng.next, rng.nscript);
    assert_int_equal(rng.fills, rng.nscript);
    ward_smp_release(&s);
}

static void test_nimble_vectors(void **state)
{
    (void)state;
    FILE *f = fopen(g_path, "r");
    assert_non_null(f);
    nb_case_t c;
    int n = 0, r;
    int roles[2] = {0, 0};
    while ((r = next_case(f, &c)) == 1) {
        print_message("  %s (ward as %s)\n", c.name, c.initiator ? "initiator" : "responder");
        run_case(&c);
        roles[c.initiator ? 1 : 0]++;
        n++;
    }
    fclose(f);
    assert_int_equal(r, 0);
    assert_int_equal(n, 9);
    assert_true(roles[0] >= 4 && roles[1] >= 4);
}

int main(int argc, char **argv)
{
    if (argc != 2 || ward_crypto_init() != WARD_OK) {
        fprintf(stderr, "usage: %s nimble-sc.txt\n", argv[0]);
        return 2;
    }
    g_path = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nimble_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
