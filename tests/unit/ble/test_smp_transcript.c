/*
 * One Numeric Comparison pairing kept as a vector:
 * tests/vectors/ble/nc-transcript.txt holds every PDU in hex, the number
 * both users saw and the LTK, made with fixed rng streams.
 *
 *   test_smp_transcript FILE            check FILE (CTest does this)
 *   test_smp_transcript --write FILE    regenerate it
 *
 * The check is twofold: the pairing run again with the same seeds gives
 * the file line for line; and the phone's PDUs from the file, replayed
 * into a fresh device engine, draw from it exactly the device's PDUs in the
 * file, byte for byte, the same six digits, and the same LTK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/ble/smp_pair.h"

static const char *g_path;

static void configure(bp_pair_t *p)
{
    bp_defaults(p, "nc-phone", "nc-dev");
    p->cfg_a.io_cap = WARD_SMP_IO_KEYBOARD_DISPLAY;
    p->cfg_b.io_cap = WARD_SMP_IO_DISPLAY_YESNO; /* a device with a display and a button */
}

static void header(FILE *f)
{
    fprintf(f, "# ward SMP: one LE Secure Connections Numeric Comparison pairing.\n"
               "# Made by tests/unit/ble/test_smp_transcript.c (--write) with fixed rng\n"
               "# streams (SHA-256 of the seed and a counter): phone seed \"nc-phone\",\n"
               "# KeyboardDisplay, MITM, bonding, identity d6:55:44:33:22:11 (random static);\n"
               "# device seed \"nc-dev\", DisplayYesNo, bonding, identity c1:cf:2d:70:13:a7\n"
               "# (public). Lines: I>R / R>I a PDU (opcode first, as on CID 6); R! / I! what\n"
               "# the device / phone showed; '-- encrypted' where the controller encrypted the\n"
               "# link with the new LTK; ltk: the key both sides hold (LSB first).\n");
}

static int write_file(const char *path)
{
    bp_pair_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return 1;
    }
    configure(p);
    if (bp_init(p) != 0 || bp_pair(p) != WARD_OK || !p->a.got_paired || !p->b.got_paired) {
        free(p);
        return 1;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        free(p);
        return 1;
    }
    header(f);
    for (size_t i = 0; i < p->nlog; i++) {
        fprintf(f, "%s\n", p->log[i]);
    }
    char ltk[40];
    bt_tohex(ltk, p->b.paired.keys.ltk, 16);
    fprintf(f, "ltk %s\n", ltk);
    fclose(f);
    bp_release(p);
    free(p);
    return 0;
}

/* Read the file's non-comment lines. */
static size_t read_lines(char lines[][256], size_t cap)
{
    FILE *f = fopen(g_path, "r");
    assert_non_null(f);
    size_t n = 0;
    char buf[256];
    while (fgets(buf, sizeof buf, f) != NULL && n < cap) {
        buf[strcspn(buf, "\n")] = '\0';
        if (buf[0] != '#' && buf[0] != '\0') {
            memcpy(lines[n++], buf, sizeof buf);
        }
    }
    fclose(f);
    return n;
}

static char g_lines[BP_MAX_LOG + 4][256];

static void test_regenerates_identically(void **state)
{
    (void)state;
    size_t n = read_lines(g_lines, BP_MAX_LOG + 4);
    bp_pair_t *p = calloc(1, sizeof *p);
    assert_non_null(p);
    configure(p);
    assert_int_equal(bp_init(p), 0);
    assert_int_equal(bp_pair(p), WARD_OK);
    assert_true(p->a.got_paired && p->b.got_paired);
    assert_int_equal(p->a.paired.keys.method, WARD_SMP_METHOD_NUMERIC);
    assert_int_equal(n, p->nlog + 1u);
    for (size_t i = 0; i < p->nlog; i++) {
        assert_string_equal(g_lines[i], p->log[i]);
    }
    char ltk[80];
    bt_tohex(ltk + 4, p->b.paired.keys.ltk, 16);
    memcpy(ltk, "ltk ", 4);
    assert_string_equal(g_lines[n - 1], ltk);
    bp_release(p);
    free(p);
}

static void test_replay_into_device(void **state)
{
    (void)state;
    size_t n = read_lines(g_lines, BP_MAX_LOG + 4);
    bp_pair_t *p = calloc(1, sizeof *p);
    assert_non_null(p);
    configure(p);
    assert_int_equal(bp_init(p), 0);
    ward_smp_t *dev = &p->b.smp;
    uint8_t pdu[80], out[80], want_ltk[16], ltk[16];
    size_t len = 0;
    int sent = 0, answered = 0, shown = 0;
    bool paired = false;
    for (size_t i = 0; i < n; i++) {
        const char *l = g_lines[i];
        if (strncmp(l, "I>R ", 4) == 0) {
            int k = bt_hex(pdu, sizeof pdu, l + 4);
            assert_true(k > 0);
            assert_int_equal(ward_smp_input(dev, pdu, (size_t)k, p->now), WARD_OK);
            sent++;
        } else if (strncmp(l, "R>I ", 4) == 0) {
            int k = bt_hex(pdu, sizeof pdu, l + 4);
            assert_int_equal(ward_smp_next_pdu(dev, out, sizeof out, &len), WARD_OK);
            assert_int_equal(len, (size_t)k);
            assert_memory_equal(out, pdu, len);
            answered++;
        } else if (strncmp(l, "R! numeric ", 11) == 0) {
            ward_smp_event_t ev;
            assert_true(ward_smp_next_event(dev, &ev));
            assert_int_equal(ev.type, WARD_SMP_EV_NUMERIC_COMPARE);
            assert_int_equal(ev.value, (uint32_t)strtoul(l + 11, NULL, 10));
            assert_int_equal(ward_smp_numeric_reply(dev, true, p->now), WARD_OK);
            shown++;
        } else if (strcmp(l, "-- encrypted") == 0) {
            static const uint8_t zero[8] = {0};
            assert_int_equal(ward_smp_ltk_request(dev, 0, zero, ltk), WARD_OK);
            assert_int_equal(ward_smp_encryption_changed(dev, true, 16, p->now), WARD_OK);
        } else if (strncmp(l, "ltk ", 4) == 0) {
            assert_int_equal(bt_hex(want_ltk, 16, l + 4), 16);
            assert_memory_equal(ltk, want_ltk, 16);
            ward_smp_event_t ev;
            while (ward_smp_next_event(dev, &ev)) {
                if (ev.type == WARD_SMP_EV_PAIRED) {
                    paired = true;
                    assert_memory_equal(ev.keys.ltk, want_ltk, 16);
                    assert_true(ev.keys.authenticated);
                }
            }
        }
    }
    assert_int_equal(ward_smp_next_pdu(dev, out, sizeof out, &len), WARD_ERR_NOT_FOUND);
    assert_true(paired);
    assert_int_equal(shown, 1);
    assert_true(sent >= 6 && answered >= 6);
    bp_release(p);
    free(p);
}

int main(int argc, char **argv)
{
    if (ward_crypto_init() != WARD_OK) {
        return 1;
    }
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        return write_file(argv[2]);
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s [--write] FILE\n", argv[0]);
        return 2;
    }
    g_path = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regenerates_identically),
        cmocka_unit_test(test_replay_into_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
