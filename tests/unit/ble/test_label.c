/*
 * The OOB pairing label (tools/label): its bytes and text as
 * docs/ble-label.md gives them (the worked example there is rebuilt here
 * and must match the document), parsing as typed or scanned, the QR code,
 * and the whole story: the factory makes the pairing key in the HSM and
 * prints the label, the phone reads it and pairs with the button-only
 * device by OOB: authenticated keys; a label of another unit is refused.
 *
 *   test_label docs/ble-label.md
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/ble/smp_pair.h"
#include "ward/sim.h"
#include "ward_label.h"

static const char *g_doc;

/* The worked example of docs/ble-label.md: the spec's sample public key B
 * (Vol 3 Part H Appendix D) as the pairing key, r = 00 01 .. 0f (LSB
 * first), the device C1:CF:2D:70:13:A7 (public). */
static void example(ward_label_t *l)
{
    uint8_t x[32];
    assert_int_equal(bt_msb(x, 32, "1ea1f0f0 1faf1d96 09592284 f19e4c00 47b58afd 8615a69f "
                                   "559077b2 2faaa190"),
                     32);
    memset(l, 0, sizeof *l);
    l->addr = bp_device_addr;
    for (int i = 0; i < 16; i++) {
        l->oob.r[i] = (uint8_t)i;
    }
    assert_int_equal(ward_ble_f4(l->oob.c, x, x, l->oob.r, 0), WARD_OK);
}

/* The first line of the document that starts with `key`, after it. */
static bool doc_line(const char *key, char *out, size_t cap)
{
    FILE *f = fopen(g_doc, "r");
    assert_non_null(f);
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, strlen(key)) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, cap, "%s", line + strlen(key));
            found = true;
        }
    }
    fclose(f);
    return found;
}

static void test_worked_example_matches_doc(void **state)
{
    (void)state;
    ward_label_t l, back;
    char text[WARD_LABEL_TEXT_LEN + 1], doc[512];
    uint8_t bin[WARD_LABEL_BIN_LEN], want[WARD_LABEL_BIN_LEN];
    example(&l);
    ward_label_pack(bin, &l);
    ward_label_encode(text, &l);
    assert_int_equal(strlen(text), WARD_LABEL_TEXT_LEN);
    print_message("  label: %s\n", text);
    char hex[2 * WARD_LABEL_BIN_LEN + 1];
    bt_tohex(hex, bin, sizeof bin);
    print_message("  bytes: %s\n", hex);
    /* The document's "    bytes: ..." and "    label: ..." lines. */
    assert_true(doc_line("    bytes: ", doc, sizeof doc));
    assert_int_equal(bt_hex(want, sizeof want, doc), (int)sizeof want);
    assert_memory_equal(bin, want, sizeof bin);
    assert_true(doc_line("    label: ", doc, sizeof doc));
    assert_string_equal(doc, text);
    /* And C is the spec's f4 of the sample key: a value the doc shows. */
    assert_true(doc_line("    C:     ", doc, sizeof doc));
    uint8_t c[16];
    assert_int_equal(bt_hex(c, 16, doc), 16);
    assert_memory_equal(c, l.oob.c, 16);

    assert_int_equal(ward_label_parse(&back, text), WARD_OK);
    assert_memory_equal(&back, &l, sizeof l);
}

static void test_parse_as_typed(void **state)
{
    (void)state;
    ward_label_t l, back;
    char text[WARD_LABEL_TEXT_LEN + 1], typed[200];
    example(&l);
    ward_label_encode(text, &l);
    /* Lower case, grouped with spaces and dashes. */
    size_t n = 0;
    for (size_t i = 0; text[i] != '\0'; i++) {
        typed[n++] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
        if (i > 6 && i % 4 == 2) {
            typed[n++] = i % 8 == 2 ? ' ' : '-';
        }
    }
    typed[n] = '\0';
    assert_int_equal(ward_label_parse(&back, typed), WARD_OK);
    assert_memory_equal(&back, &l, sizeof l);

    /* Every single-character typo is caught (CRC-32 over the payload; the
     * spare bits of the last character must be zero). */
    int caught = 0, tried = 0;
    for (size_t i = 6; i < WARD_LABEL_TEXT_LEN; i++) {
        char bad[WARD_LABEL_TEXT_LEN + 1];
        memcpy(bad, text, sizeof bad);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        tried++;
        caught += ward_label_parse(&back, bad) == WARD_ERR_BLE_LABEL;
    }
    assert_int_equal(caught, tried);
    /* Wrong prefix, short, long, a character outside base32. */
    assert_int_equal(ward_label_parse(&back, "WARD2:AAAA"), WARD_ERR_BLE_LABEL);
    char cut[WARD_LABEL_TEXT_LEN + 2];
    memcpy(cut, text, WARD_LABEL_TEXT_LEN - 1);
    cut[WARD_LABEL_TEXT_LEN - 1] = '\0';
    assert_int_equal(ward_label_parse(&back, cut), WARD_ERR_BLE_LABEL);
    memcpy(cut, text, WARD_LABEL_TEXT_LEN);
    cut[WARD_LABEL_TEXT_LEN] = 'A';
    cut[WARD_LABEL_TEXT_LEN + 1] = '\0';
    assert_int_equal(ward_label_parse(&back, cut), WARD_ERR_BLE_LABEL);
    memcpy(cut, text, WARD_LABEL_TEXT_LEN + 1);
    cut[10] = '1';
    assert_int_equal(ward_label_parse(&back, cut), WARD_ERR_BLE_LABEL);
    /* A well-formed label of an address that is not an identity (an RPA). */
    l.addr.type = WARD_BLE_ADDR_RANDOM;
    l.addr.a[5] = 0x41;
    ward_label_encode(text, &l);
    assert_int_equal(ward_label_parse(&back, text), WARD_ERR_BLE_LABEL);
}

static void test_qr(void **state)
{
    (void)state;
    ward_label_t l;
    char text[WARD_LABEL_TEXT_LEN + 1];
    example(&l);
    ward_label_encode(text, &l);
    static unsigned char m[177 * 177];
    int w = ward_label_qr_modules(text, m, sizeof m);
    /* 77 alphanumeric characters at level M fit version 4: 33 x 33 modules
     * (in byte mode they would need version 5, 37 x 37). */
    assert_int_equal(w, 33);
    /* The finder pattern's corner, as every QR code has. */
    assert_int_equal(m[0], 1);
    assert_int_equal(m[7], 0);

    char path[] = "/tmp/ward-label-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w+");
    assert_non_null(f);
    assert_int_equal(ward_label_qr_svg(f, text, true), WARD_OK);
    rewind(f);
    static char svg[200000];
    size_t n = fread(svg, 1, sizeof svg - 1, f);
    svg[n] = '\0';
    fclose(f);
    remove(path);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, text));
    /* One square per dark module. */
    int dark = 0, squares = 0;
    for (int i = 0; i < w * w; i++) {
        dark += m[i];
    }
    for (const char *s = svg; (s = strstr(s, "h1v1h-1z")) != NULL; s++) {
        squares++;
    }
    assert_int_equal(squares, dark);
}

/* The factory, the label and the phone: an authenticated bond with a
 * NoInputNoOutput device; a label of another unit does not pair. */
static void test_factory_to_bond(void **state)
{
    (void)state;
    ward_sim_hsm_t hsm, other;
    ward_label_t label, read;
    char text[WARD_LABEL_TEXT_LEN + 1];
    assert_int_equal(ward_sim_hsm_open(&hsm, NULL, NULL, true), WARD_OK);
    assert_int_equal(ward_sim_hsm_open(&other, NULL, NULL, true), WARD_OK);
    assert_int_equal(ward_label_from_hsm(&label, &hsm.port, &bp_device_addr), WARD_ERR_STATE);
    assert_int_equal(hsm.port.pair_generate(hsm.port.ctx), WARD_OK);
    assert_int_equal(other.port.pair_generate(other.port.ctx), WARD_OK);
    assert_int_equal(ward_label_from_hsm(&label, &hsm.port, &bp_device_addr), WARD_OK);
    ward_label_encode(text, &label);

    /* The phone scans it. */
    assert_int_equal(ward_label_parse(&read, text), WARD_OK);
    assert_memory_equal(&read.addr, &bp_device_addr, sizeof read.addr);
    bp_pair_t p;
    bp_defaults(&p, "phone", "plug");
    p.cfg_a.peer_oob = &read.oob;
    p.cfg_b.oob_hsm = &hsm.port; /* io_cap stays NoInputNoOutput */
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_true(p.a.got_paired && p.b.got_paired);
    assert_int_equal(p.b.paired.keys.method, WARD_SMP_METHOD_OOB);
    assert_true(p.b.paired.keys.authenticated);
    assert_true(p.a.paired.keys.authenticated);
    assert_memory_equal(p.a.paired.keys.ltk, p.b.paired.keys.ltk, 16);
    bp_release(&p);

    /* The label of another unit against this device: refused by the phone. */
    ward_label_t wrong;
    assert_int_equal(ward_label_from_hsm(&wrong, &other.port, &bp_device_addr), WARD_OK);
    bp_defaults(&p, "phone2", "plug2");
    p.cfg_a.peer_oob = &wrong.oob;
    p.cfg_b.oob_hsm = &hsm.port;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_false(p.a.got_paired || p.b.got_paired);
    assert_int_equal(p.a.failed.reason, WARD_SMP_ERR_CONFIRM_VALUE);
    bp_release(&p);
    ward_sim_hsm_close(&hsm);
    ward_sim_hsm_close(&other);
}

/* The simulator's HSM keeps the pairing key across a power cycle (its own
 * file beside hsm.bin), and the private key is never in what the port
 * returns: pair_public gives the point, pair_ecdh validates. */
static void test_hsm_pairing_key_persists(void **state)
{
    (void)state;
    char dir[] = "/tmp/ward-hsm-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], cmd[96];
    snprintf(path, sizeof path, "%s/hsm.bin", dir);
    ward_sim_hsm_t h;
    uint8_t pub1[65], pub2[65], r1[16], r2[16];
    assert_int_equal(ward_sim_hsm_open(&h, NULL, path, true), WARD_OK);
    assert_int_equal(h.port.pair_public(h.port.ctx, pub1), WARD_ERR_STATE);
    assert_int_equal(h.port.pair_generate(h.port.ctx), WARD_OK);
    assert_int_equal(h.port.pair_public(h.port.ctx, pub1), WARD_OK);
    assert_int_equal(h.port.pair_random(h.port.ctx, r1), WARD_OK);
    ward_sim_hsm_close(&h);
    assert_int_equal(ward_sim_hsm_open(&h, NULL, path, false), WARD_OK);
    assert_int_equal(h.port.pair_generate(h.port.ctx), WARD_ERR_EXISTS);
    assert_int_equal(h.port.pair_public(h.port.ctx, pub2), WARD_OK);
    assert_int_equal(h.port.pair_random(h.port.ctx, r2), WARD_OK);
    assert_memory_equal(pub1, pub2, 65);
    assert_memory_equal(r1, r2, 16);
    /* ECDH inside: a peer's key agrees; invalid and reflected keys are refused. */
    bt_rng_t rng;
    bt_rng_init(&rng, "peer");
    ward_ble_p256_t peer;
    uint8_t sec1[65], dh_hsm[32], dh_peer[32], own_wire[64];
    assert_int_equal(ward_ble_p256_generate(&peer, &rng.port), WARD_OK);
    ward_ble_pub_to_sec1(sec1, peer.pub);
    assert_int_equal(h.port.pair_ecdh(h.port.ctx, sec1, dh_hsm), WARD_OK);
    ward_ble_pub_from_sec1(own_wire, pub1);
    assert_int_equal(ward_ble_p256_dhkey(dh_peer, &peer, own_wire), WARD_OK);
    ward_ble_swap(dh_peer, dh_peer, 32);
    assert_memory_equal(dh_hsm, dh_peer, 32);
    sec1[64] ^= 1;
    assert_int_equal(h.port.pair_ecdh(h.port.ctx, sec1, dh_hsm), WARD_ERR_BLE_PEER_KEY);
    assert_true(ward_ct_all(dh_hsm, 0, 32));
    assert_int_equal(h.port.pair_ecdh(h.port.ctx, pub1, dh_hsm), WARD_ERR_BLE_PEER_KEY);
    ward_ble_p256_free(&peer);
    ward_sim_hsm_close(&h);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    if (argc != 2 || ward_crypto_init() != WARD_OK) {
        fprintf(stderr, "usage: %s docs/ble-label.md\n", argv[0]);
        return 2;
    }
    g_doc = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example_matches_doc),
        cmocka_unit_test(test_parse_as_typed),
        cmocka_unit_test(test_qr),
        cmocka_unit_test(test_factory_to_bond),
        cmocka_unit_test(test_hsm_pairing_key_persists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
