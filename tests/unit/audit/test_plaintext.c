/*
 * Unit tests: the plain-text credential scan the audit's secrets_patterns
 * check and the attack's flash dump share (ward_audit_find_plaintext,
 * tools/audit/audit.c). The vault area is scanned like the rest of the
 * flash; the one match left out there is a vault record's plain-text name
 * running into its ciphertext (a record header whose CRC checks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ward/util.h"
#include "ward_audit.h"

#define SIZE 4096u
#define VAULT_OFF 2048u
#define VAULT_SIZE 2048u

static uint8_t g_mem[SIZE];

static void erased(void)
{
    memset(g_mem, 0xFF, sizeof g_mem);
}

static long find(size_t from, const char **what, bool *in_vault)
{
    return ward_audit_find_plaintext(g_mem, sizeof g_mem, from, VAULT_OFF, VAULT_SIZE, what,
                                     in_vault);
}

/* A vault record at off: 'R', name length, value length, seq, CRC-32 of
 * bytes 0..7, a nonce, the name, then `cipher` as its ciphertext. */
static void record(size_t off, const char *name, const char *cipher, bool good_crc)
{
    uint8_t *p = g_mem + off;
    const size_t n = strlen(name), v = strlen(cipher);
    p[0] = 'R';
    p[1] = (uint8_t)n;
    p[2] = (uint8_t)v;
    p[3] = 0;
    p[4] = 7;
    p[5] = p[6] = p[7] = 0;
    uint32_t crc = ward_crc32(0, p, 8) ^ (good_crc ? 0u : 1u);
    for (int i = 0; i < 4; i++) {
        p[8 + i] = (uint8_t)(crc >> (8 * i));
    }
    memset(p + 12, 0x11, 12);
    memcpy(p + 24, name, n);
    memcpy(p + 24 + n, cipher, v);
}

static void test_plain_text_everywhere(void **state)
{
    (void)state;
    const char *what = NULL;
    bool in_vault = true;
    erased();
    assert_int_equal(find(0, &what, &in_vault), -1);
    /* outside the vault */
    memcpy(g_mem + 100, "wifi_psk=correct-horse", 22);
    assert_int_equal(find(0, &what, &in_vault), 105);
    assert_string_equal(what, "psk");
    assert_false(in_vault);
    /* in the vault area, in no record: found too */
    erased();
    memcpy(g_mem + VAULT_OFF + 300, "Password: hunter22", 18);
    assert_int_equal(find(0, &what, &in_vault), VAULT_OFF + 300);
    assert_string_equal(what, "password");
    assert_true(in_vault);
    /* a PEM private key */
    erased();
    memcpy(g_mem + VAULT_OFF - 8, "-----BEGIN EC PRIVATE KEY-----", 30);
    assert_int_equal(find(0, &what, &in_vault), VAULT_OFF - 8 + 14);
    assert_string_equal(what, "PEM private key");
    /* the scan goes on from `from` */
    erased();
    memcpy(g_mem + 10, "token=abcdefgh", 14);
    memcpy(g_mem + 3000, "secret=abcdefgh", 15);
    assert_int_equal(find(0, &what, &in_vault), 10);
    assert_int_equal(find(11, &what, &in_vault), 3000);
}

static void test_record_names(void **state)
{
    (void)state;
    const char *what = NULL;
    bool in_vault = false;
    /* a record named wifi.psk whose ciphertext happens to start "=" and 6
     * printable bytes: its name is plain text by design, not a leak */
    erased();
    record(VAULT_OFF + 64, "wifi.psk", "=K7#q9Zx", true);
    assert_int_equal(find(0, &what, &in_vault), -1);
    /* the same bytes where no record header checks: reported */
    erased();
    record(VAULT_OFF + 64, "wifi.psk", "=K7#q9Zx", false);
    assert_int_equal(find(0, &what, &in_vault), VAULT_OFF + 64 + 24 + 5);
    assert_true(in_vault);
    /* outside the vault area a record is no excuse */
    erased();
    record(64, "wifi.psk", "=K7#q9Zx", true);
    assert_int_equal(find(0, &what, &in_vault), 64 + 24 + 5);
    /* a name that is itself an assignment is plain text: reported */
    erased();
    record(VAULT_OFF + 64, "api_key=abcdef12", "\x01\x02\x03", true);
    assert_int_equal(find(0, &what, &in_vault), VAULT_OFF + 64 + 24);
    assert_string_equal(what, "api_key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_everywhere),
        cmocka_unit_test(test_record_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
