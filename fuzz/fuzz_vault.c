/*
 * Fuzz target: mount a vault on arbitrary flash contents and read every
 * key; then write, delete and mount again.
 *
 * Input: [0] geometry (write size 1, 2, 4, 8, 16 or 32: [0] % 6; sector
 * count 2 + [0] / 6 % 3, of 1 KiB), [1..4] HSM counter value (LE), then the
 * raw vault area (missing bytes read as erased): up to 5 + 4096 bytes, so
 * run with -max_len=4101 (fuzz/fuzz_vault.options).
 * The HSM holds a fixed device-unique key, the one the corpus generator
 * (tests/unit/vault/gen_vault_corpus.c) used, so mutated genuine vaults
 * mount and their records are reached.
 *
 * Oracle: every value ever written with that key has the form
 *   name '#' f(0) f(1) ...   with f(i) = 0xA5 ^ i ^ name_len
 * so a value that get() returns but does not have this form is bytes that
 * were never authenticated: abort. Also abort on an error code outside the
 * documented set, and on any broken NOR flash rule.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/sim.h"
#include "ward/vault.h"

#define FZ_SECTOR 1024u

static const uint8_t k_huk[32] = {'w', 'a', 'r', 'd', '-', 'f', 'u', 'z', 'z', '-', 'v',
                                  'a', 'u', 'l', 't', '-', 'h', 'u', 'k', 0x00, 0x01, 0x02,
                                  0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};

static const char *const k_names[] = {"wifi.psk", "cloud/token", "ble/ltk:0", "k0", "k1",
                                      "k2",       "k3",          "fz",        "nope"};

static void oracle_value(uint8_t *out, size_t len, const char *name)
{
    const size_t nlen = strlen(name);
    for (size_t i = 0; i < len; i++) {
        out[i] = i < nlen ? (uint8_t)name[i]
                          : (i == nlen ? (uint8_t)'#' : (uint8_t)(0xA5u ^ i ^ nlen));
    }
}

static void check_value(const uint8_t *v, size_t len, const char *name)
{
    uint8_t want[WARD_VAULT_VALUE_MAX];
    if (len > sizeof want) {
        abort();
    }
    oracle_value(want, len, name);
    if (memcmp(v, want, len) != 0) {
        abort(); /* released bytes that were never written with this key */
    }
}

static void check_err(ward_err_t err, const ward_err_t *allowed, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (err == allowed[i]) {
            return;
        }
    }
    abort();
}

static const ward_err_t k_mount_errs[] = {
    WARD_OK,       WARD_ERR_VAULT_UNFORMATTED, WARD_ERR_VAULT_FOREIGN, WARD_ERR_ROLLBACK,
    WARD_ERR_AUTH, WARD_ERR_UNSUPPORTED,       WARD_ERR_CORRUPT,       WARD_ERR_VAULT_ERASED};
static const ward_err_t k_get_errs[] = {WARD_OK, WARD_ERR_NOT_FOUND, WARD_ERR_AUTH,
                                        WARD_ERR_BUF_TOO_SMALL};
static const ward_err_t k_write_errs[] = {WARD_OK,       WARD_ERR_NOT_FOUND, WARD_ERR_AUTH,
                                          WARD_ERR_NO_SPACE, WARD_ERR_LIMIT, WARD_ERR_CORRUPT};

static void read_everything(ward_vault_t *v)
{
    static uint8_t buf[WARD_VAULT_VALUE_MAX];
    size_t n = 0;
    for (size_t i = 0; i < sizeof k_names / sizeof k_names[0]; i++) {
        ward_err_t err = ward_vault_get(v, buf, sizeof buf, &n, k_names[i]);
        check_err(err, k_get_errs, sizeof k_get_errs / sizeof k_get_errs[0]);
        if (err == WARD_OK) {
            check_value(buf, n, k_names[i]);
        }
    }
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char name[WARD_VAULT_NAME_MAX + 1];
    size_t vlen = 0;
    for (uint32_t guard = 0; guard <= WARD_VAULT_MAX_RECORDS; guard++) {
        ward_err_t err = ward_vault_next(v, &it, name, &vlen);
        if (err == WARD_ERR_NOT_FOUND) {
            return;
        }
        if (err != WARD_OK) {
            if (err != WARD_ERR_AUTH) {
                abort();
            }
            continue;
        }
        err = ward_vault_get(v, buf, sizeof buf, &n, name);
        if (err != WARD_OK && err != WARD_ERR_AUTH) {
            abort(); /* listed, authenticated: it must be there */
        }
        if (err == WARD_OK) {
            if (n != vlen) {
                abort();
            }
            check_value(buf, n, name);
        }
    }
    abort(); /* more records listed than a vault can hold */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t k_ws[6] = {1, 2, 4, 8, 16, 32};
    ward_sim_flash_t flash;
    ward_sim_hsm_t hsm;
    ward_vault_t v;
    if (size < 5) {
        return 0;
    }
    const uint32_t ws = k_ws[data[0] % 6u];
    const uint32_t nsect = 2u + (data[0] / 6u) % 3u;
    const uint32_t area = nsect * FZ_SECTOR;
    uint32_t counter = (uint32_t)data[1] | ((uint32_t)data[2] << 8) | ((uint32_t)data[3] << 16) |
                       ((uint32_t)data[4] << 24);
    if (counter > WARD_HSM_COUNTER_MAX) {
        counter = WARD_HSM_COUNTER_MAX;
    }
    data += 5;
    size -= 5;
    if (ward_sim_flash_open(&flash, NULL, NULL, true, area, FZ_SECTOR, ws, ws >= 8u) != WARD_OK) {
        return 0; /* a write size this simulator does not offer (32 before it does) */
    }
    uint8_t *img = malloc(area);
    if (img == NULL || ward_sim_hsm_open(&hsm, NULL, NULL, true) != WARD_OK) {
        abort();
    }
    memset(img, 0xFF, area);
    memcpy(img, data, size < area ? size : area);
    (void)ward_sim_flash_load(&flash, img, area);
    free(img);
    memcpy(hsm.huk, k_huk, sizeof k_huk);
    hsm.has_huk = true;
    hsm.counters[0] = counter;

    ward_vault_config_t cfg = {{&flash.port, 0, area}, &hsm.port, 0, WARD_VAULT_AEAD_AES256_GCM};
    ward_err_t err = ward_vault_mount(&v, &cfg);
    check_err(err, k_mount_errs, sizeof k_mount_errs / sizeof k_mount_errs[0]);
    if (err == WARD_OK) {
        read_everything(&v);
        /* Writes on whatever this flash is: must keep the NOR rules and
         * leave a vault that mounts and still tells the truth. */
        uint8_t val[80];
        oracle_value(val, sizeof val, "fz");
        err = ward_vault_put(&v, "fz", val, 20u + (size % 60u));
        check_err(err, k_write_errs, sizeof k_write_errs / sizeof k_write_errs[0]);
        if (v.mounted) {
            err = ward_vault_delete(&v, k_names[size % 4u]);
            check_err(err, k_write_errs, sizeof k_write_errs / sizeof k_write_errs[0]);
        }
        if (v.mounted) {
            err = ward_vault_put(&v, "fz", val, sizeof val);
            check_err(err, k_write_errs, sizeof k_write_errs / sizeof k_write_errs[0]);
        }
        ward_vault_unmount(&v);
        err = ward_vault_mount(&v, &cfg);
        check_err(err, k_mount_errs, sizeof k_mount_errs / sizeof k_mount_errs[0]);
        if (err == WARD_OK) {
            read_everything(&v);
        }
    }
    ward_vault_unmount(&v);
    if (flash.stats.violations != 0u) {
        abort();
    }
    ward_sim_flash_close(&flash);
    ward_sim_hsm_close(&hsm);
    return 0;
}
