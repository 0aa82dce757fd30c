/*
 * The credential vault on the Cortex-M4 (QEMU mps2-an386): the portable
 * src/vault, built with arm-none-eabi-gcc against the cm-app Mbed TLS, on
 * this board's flash driver (4 KiB sectors, 8-byte program-once writes)
 * and its software HSM (ward_cm_hsm.h).
 *
 * A test (CTest mps2-an386.vault) and a benchmark (bench/cortex-m-vault.sh)
 * in one program. Every step prints "ok ..." or "FAIL ..." and the run
 * exits non-zero at the first failure:
 *   - format, put three credentials, read them back, and again after a
 *     remount;
 *   - no 8-byte run of any of them anywhere in the vault's flash;
 *   - one flipped bit in a record: that record is WARD_ERR_AUTH, the
 *     others still read;
 *   - an older flash image written back: WARD_ERR_ROLLBACK; the newer one
 *     written back mounts again;
 *   - 20 static credentials plus many updates of one 64-byte value:
 *     erase counts balanced, the static ones intact;
 *   - factory wipe: nothing left to read, no secret on flash;
 *   - Mbed TLS never allocated outside a key derivation.
 * Then "ticks ..." lines for the benchmark (a vault of 20 records: mount,
 * the first put after it, a put, a get and a delete of a 64-byte value)
 * and the stack's high-water mark.
 *
 * The HSM block must be loaded at WARD_CM_HSM_ADDR (mkblobs.py hsm).
 */
#include <string.h>

#include "../bench/bench.h"
#include "ward/util.h"
#include "ward/vault.h"
#include "ward_cm.h"
#include "ward_cm_hsm.h"
#include "ward_cm_priv.h"

#define AREA_SIZE WARD_CM_VAULT_SIZE
#define WEAR_UPDATES 3000u
#define STATIC_COUNT 17u /* + the three credentials = 20 static records */

/* Where an attacker keeps flash dumps: the upper half of the board's RAM
 * window (mps2-an386: SSRAM2/3 at 0x20200000), away from this program. */
#define DUMP_OLD_ADDR (WARD_BOARD_RAM_ADDR + WARD_BOARD_RAM_SIZE / 2u)
#define DUMP_NEW_ADDR (DUMP_OLD_ADDR + 0x10000u)
_Static_assert(WARD_CM_VAULT_SIZE <= 0x10000u &&
                   DUMP_NEW_ADDR + WARD_CM_VAULT_SIZE <= WARD_BOARD_RAM_ADDR + WARD_BOARD_RAM_SIZE,
               "the flash dumps must fit the RAM window");

static const char k_wifi[] = "correct horse battery staple";
static const char k_token[] = "tok_live_8f2a9c61d4e7b3058a1f";
static const uint8_t k_ltk[16] = {0x4c, 0x68, 0x38, 0x41, 0x39, 0xf5, 0x74, 0xd8,
                                  0x36, 0xbc, 0xf3, 0x4e, 0x9d, 0xfb, 0x01, 0xbf};

static ward_vault_t s_vault;
static ward_vault_config_t s_cfg;

static void fail(const char *what, int32_t code)
{
    ward_cm_puts("FAIL ");
    ward_cm_puts(what);
    ward_cm_puts(": ");
    ward_cm_put_dec(code);
    ward_cm_puts("\n");
    ward_cm_exit(1);
}

static void ok(const char *what)
{
    ward_cm_puts("ok   ");
    ward_cm_puts(what);
    ward_cm_puts("\n");
}

static void expect(ward_err_t got, ward_err_t want, const char *what)
{
    if (got != want) {
        fail(what, got);
    }
}

static uint8_t *area_mem(void)
{
    return ward_cm_addr(WARD_BOARD_VAULT_ADDR);
}

static void expect_value(const char *name, const void *want, size_t want_len)
{
    uint8_t buf[96];
    size_t n = 0;
    expect(ward_vault_get(&s_vault, buf, sizeof buf, &n, name), WARD_OK, name);
    if (n != want_len || memcmp(buf, want, n) != 0) {
        fail(name, (int32_t)n);
    }
    ward_wipe(buf, sizeof buf);
}

static void expect_credentials(const char *step)
{
    expect_value("wifi.psk", k_wifi, sizeof k_wifi - 1u);
    expect_value("cloud/token", k_token, sizeof k_token - 1u);
    expect_value("ble/ltk:0", k_ltk, sizeof k_ltk);
    ok(step);
}

/* Does any 8-byte window of secret occur anywhere in the vault's flash? */
static bool leaks(const uint8_t *secret, size_t len)
{
    const uint8_t *mem = area_mem();
    for (size_t s = 0; s + 8u <= len; s++) {
        for (size_t i = 0; i + 8u <= AREA_SIZE; i++) {
            if (memcmp(mem + i, secret + s, 8) == 0) {
                return true;
            }
        }
    }
    return false;
}

static void expect_no_secret_on_flash(const char *step)
{
    if (leaks((const uint8_t *)k_wifi, sizeof k_wifi - 1u) ||
        leaks((const uint8_t *)k_token, sizeof k_token - 1u) || leaks(k_ltk, sizeof k_ltk)) {
        fail(step, 0);
    }
    ok(step);
}

/* Offset in the area of the last copy of name's record (names are stored
 * in clear; docs/vault-format.md "Entries"), 0 if none. */
static uint32_t find_record(const char *name)
{
    const uint8_t *mem = area_mem();
    const size_t n = strlen(name);
    uint32_t found = 0;
    for (uint32_t i = 24; i + n <= AREA_SIZE; i++) {
        if (mem[i - 24u] == 'R' && mem[i - 23u] == n && memcmp(mem + i, name, n) == 0) {
            found = i - 24u;
        }
    }
    return found;
}

static void remount(const char *what)
{
    ward_vault_unmount(&s_vault);
    expect(ward_vault_mount(&s_vault, &s_cfg), WARD_OK, what);
}

static void static_name(char name[16], uint32_t i)
{
    memcpy(name, "static/", 7);
    name[7] = (char)('0' + i / 10u);
    name[8] = (char)('0' + i % 10u);
    name[9] = '\0';
}

static void static_value(uint8_t v[32], uint32_t i)
{
    for (uint32_t j = 0; j < 32u; j++) {
        v[j] = (uint8_t)(i * 31u + j * 7u + 1u);
    }
}

static void put_credentials(void)
{
    expect(ward_vault_put(&s_vault, "wifi.psk", (const uint8_t *)k_wifi, sizeof k_wifi - 1u),
           WARD_OK, "put wifi.psk");
    expect(ward_vault_put(&s_vault, "cloud/token", (const uint8_t *)k_token,
                          sizeof k_token - 1u),
           WARD_OK, "put cloud/token");
    expect(ward_vault_put(&s_vault, "ble/ltk:0", k_ltk, sizeof k_ltk), WARD_OK, "put ble/ltk:0");
}

static void put_statics(void)
{
    char name[16];
    uint8_t v[32];
    for (uint32_t i = 0; i < STATIC_COUNT; i++) {
        static_name(name, i);
        static_value(v, i);
        expect(ward_vault_put(&s_vault, name, v, sizeof v), WARD_OK, "put static");
    }
}

static void test_basics(void)
{
    /* A blank area is not a vault. */
    expect(ward_area_erase(&s_cfg.area, 0, AREA_SIZE), WARD_OK, "erase");
    expect(ward_vault_mount(&s_vault, &s_cfg), WARD_ERR_VAULT_UNFORMATTED, "mount blank");
    ok("blank area: WARD_ERR_VAULT_UNFORMATTED");

    expect(ward_vault_format(&s_vault, &s_cfg), WARD_OK, "format");
    put_credentials();
    expect_credentials("format, put 3 credentials, get them back");
    remount("remount");
    expect_credentials("remount: the same 3 values");
    expect_no_secret_on_flash("flash holds no 8-byte run of any credential");
}

static void test_tamper(void)
{
    const uint32_t rec = find_record("cloud/token");
    if (rec == 0u) {
        fail("finding the cloud/token record", 0);
    }
    /* The first ciphertext byte: offset 24 + name length. */
    uint8_t *p = area_mem() + rec + 24u + (sizeof "cloud/token" - 1u);
    *p ^= 0x10u;
    uint8_t buf[64];
    size_t n = 0;
    expect(ward_vault_get(&s_vault, buf, sizeof buf, &n, "cloud/token"), WARD_ERR_AUTH,
           "tampered get");
    expect_value("wifi.psk", k_wifi, sizeof k_wifi - 1u);
    expect_value("ble/ltk:0", k_ltk, sizeof k_ltk);
    *p ^= 0x10u;
    expect_credentials("one flipped bit: that record WARD_ERR_AUTH, the others read");
}

static void test_rollback(void)
{
    static const char k_new[] = "a new password after a reset";
    memcpy(ward_cm_addr(DUMP_OLD_ADDR), area_mem(), AREA_SIZE);
    expect(ward_vault_put(&s_vault, "wifi.psk", (const uint8_t *)k_new, sizeof k_new - 1u),
           WARD_OK, "put new wifi.psk");
    memcpy(ward_cm_addr(DUMP_NEW_ADDR), area_mem(), AREA_SIZE);
    ward_vault_unmount(&s_vault);

    memcpy(area_mem(), ward_cm_addr(DUMP_OLD_ADDR), AREA_SIZE);
    expect(ward_vault_mount(&s_vault, &s_cfg), WARD_ERR_ROLLBACK, "mount old image");
    ok("older flash image written back: WARD_ERR_ROLLBACK");

    memcpy(area_mem(), ward_cm_addr(DUMP_NEW_ADDR), AREA_SIZE);
    expect(ward_vault_mount(&s_vault, &s_cfg), WARD_OK, "mount new image");
    expect_value("wifi.psk", k_new, sizeof k_new - 1u);
    expect(ward_vault_put(&s_vault, "wifi.psk", (const uint8_t *)k_wifi, sizeof k_wifi - 1u),
           WARD_OK, "put wifi.psk back");
    ok("newer image mounts, its value reads");
}

static void test_wear(void)
{
    char name[16];
    uint8_t v[64];
    put_statics();
    for (uint32_t u = 0; u < WEAR_UPDATES; u++) {
        for (uint32_t j = 0; j < sizeof v; j++) {
            v[j] = (uint8_t)(u + j);
        }
        expect(ward_vault_put(&s_vault, "state/fresh", v, sizeof v), WARD_OK, "update");
    }
    remount("remount after updates");
    for (uint32_t i = 0; i < STATIC_COUNT; i++) {
        uint8_t want[32];
        static_name(name, i);
        static_value(want, i);
        expect_value(name, want, sizeof want);
    }
    expect_credentials("static credentials intact after the updates");

    ward_vault_stats_t st;
    expect(ward_vault_stats(&s_vault, &st), WARD_OK, "stats");
    ward_cm_puts("     ");
    ward_cm_put_dec((int32_t)WEAR_UPDATES);
    ward_cm_puts(" updates of 64 B, 20 static: erase counts");
    for (uint32_t s = 0; s < st.sectors; s++) {
        ward_cm_puts(" ");
        ward_cm_put_dec((int32_t)st.erase_counts[s]);
    }
    ward_cm_puts("\n");
    /* max/min <= 1.5, in integers */
    if (st.erase_min == 0u || 2u * st.erase_max > 3u * st.erase_min) {
        fail("wear levelling: max/min erase count above 1.5", (int32_t)st.erase_max);
    }
    ok("wear levelled (max/min <= 1.5)");
}

static void test_wipe(void)
{
    uint8_t buf[64];
    size_t n = 0;
    expect(ward_vault_wipe(&s_vault), WARD_OK, "wipe");
    expect(ward_vault_get(&s_vault, buf, sizeof buf, &n, "wifi.psk"), WARD_ERR_NOT_FOUND,
           "get after wipe");
    remount("remount after wipe");
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char name[WARD_CONFIG_VAULT_NAME_MAX + 1];
    expect(ward_vault_next(&s_vault, &it, name, &n), WARD_ERR_NOT_FOUND, "list after wipe");
    ok("factory wipe: no record left");
    expect_no_secret_on_flash("flash holds no 8-byte run of any credential after the wipe");
}

static void bench(void)
{
    static const uint8_t v64[64] = {1, 2, 3};
    uint8_t out[64];
    size_t n = 0;
    uint32_t t0;
    uint32_t t1;
    ward_err_t e1;
    ward_err_t e2;

    /* A vault in use: the three credentials and 17 more, 20 records. */
    put_credentials();
    put_statics();
    ward_vault_unmount(&s_vault);
    ward_cm_bench_start();
    t0 = ward_cm_timer_read();
    e1 = ward_vault_mount(&s_vault, &s_cfg);
    t1 = ward_cm_timer_read();
    expect(e1, WARD_OK, "bench mount");
    ward_cm_bench_report("mount", t0, t1);

    /* The first change after a mount also writes the session commit. */
    t0 = ward_cm_timer_read();
    e1 = ward_vault_put(&s_vault, "bench/first", v64, sizeof v64);
    t1 = ward_cm_timer_read();
    expect(e1, WARD_OK, "bench first put");
    ward_cm_bench_report("put_first", t0, t1);

    t0 = ward_cm_timer_read();
    e1 = ward_vault_put(&s_vault, "bench/v64", v64, sizeof v64);
    t1 = ward_cm_timer_read();
    expect(e1, WARD_OK, "bench put");
    ward_cm_bench_report("put64", t0, t1);

    t0 = ward_cm_timer_read();
    e2 = ward_vault_get(&s_vault, out, sizeof out, &n, "bench/v64");
    t1 = ward_cm_timer_read();
    expect(e2, WARD_OK, "bench get");
    ward_cm_bench_report("get64", t0, t1);

    t0 = ward_cm_timer_read();
    e1 = ward_vault_delete(&s_vault, "bench/v64");
    t1 = ward_cm_timer_read();
    expect(e1, WARD_OK, "bench delete");
    ward_cm_bench_report("delete", t0, t1);
}

int main(void)
{
    ward_cm_puts("ward vault on Cortex-M4\n");
    const ward_hsm_t *hsm = ward_cm_hsm();
    if (hsm == NULL) {
        fail("psa_crypto_init", 0);
    }
    expect(hsm->huk_generate(hsm->ctx), WARD_ERR_EXISTS, "HSM block with a HUK (mkblobs.py hsm)");
    s_cfg.area = (ward_area_t){ward_cm_flash(), WARD_CM_VAULT_OFF, AREA_SIZE};
    s_cfg.hsm = hsm;
    s_cfg.counter = 0;
    s_cfg.aead = WARD_VAULT_AEAD_AES256_GCM;

    test_basics();
    test_tamper();
    test_rollback();
    test_wear();
    test_wipe();

    ward_cm_hsm_stats_t hs;
    ward_cm_hsm_stats(&hs);
    if (hs.stray_allocs != 0u) {
        fail("Mbed TLS allocated outside a key derivation", (int32_t)hs.stray_allocs);
    }
    ok("no allocation outside the HSM's key derivations");

    bench();
    ward_cm_hsm_stats(&hs);
    ward_cm_puts("hsm derives ");
    ward_cm_put_dec((int32_t)hs.derives);
    ward_cm_puts(", pool peak ");
    ward_cm_put_dec((int32_t)hs.pool_peak);
    ward_cm_puts(" of ");
    ward_cm_put_dec((int32_t)hs.pool_size);
    ward_cm_puts(" bytes, stray allocations ");
    ward_cm_put_dec((int32_t)hs.stray_allocs);
    ward_cm_puts("\nvault context ");
    ward_cm_put_dec((int32_t)WARD_VAULT_CTX_SIZE);
    ward_cm_puts(" bytes\nstack peak ");
    ward_cm_put_dec((int32_t)ward_cm_stack_peak());
    ward_cm_puts(" of ");
    ward_cm_put_dec((int32_t)ward_cm_stack_size());
    ward_cm_puts(" bytes\nward vault on Cortex-M4: all passed\n");
    return 0;
}
