/*
 * Writes the seed corpus of fuzz/fuzz_vault.c: genuine vaults made with the
 * fuzz target's device-unique key and value pattern, in several geometries
 * and histories (fresh, a few records, garbage-collected, deletes, wiped,
 * counter raise pending, ChaCha20-Poly1305).
 *
 *   gen_vault_corpus DIR
 * File format: [geometry byte][HSM counter LE32][vault area, trailing 0xFF
 * dropped] -- see fuzz/fuzz_vault.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/sim.h"
#include "ward/util.h"
#include "ward/vault.h"

#define FZ_SECTOR 1024u

static const uint8_t k_huk[32] = {'w', 'a', 'r', 'd', '-', 'f', 'u', 'z', 'z', '-', 'v',
                                  'a', 'u', 'l', 't', '-', 'h', 'u', 'k', 0x00, 0x01, 0x02,
                                  0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};

/* Same as fuzz/fuzz_vault.c's oracle. */
static void oracle_value(uint8_t *out, size_t len, const char *name)
{
    const size_t nlen = strlen(name);
    for (size_t i = 0; i < len; i++) {
        out[i] = i < nlen ? (uint8_t)name[i]
                          : (i == nlen ? (uint8_t)'#' : (uint8_t)(0xA5u ^ i ^ nlen));
    }
}

static int put(ward_vault_t *v, const char *name, size_t len)
{
    uint8_t val[200];
    oracle_value(val, len, name);
    /* With 32-byte writes 1 KiB sectors take values of 52 bytes at most:
     * a value refused as too long is left out of the seed. */
    ward_err_t err = ward_vault_put(v, name, val, len);
    return err == WARD_OK || err == WARD_ERR_LIMIT ? 0 : -1;
}

static int make(const char *dir, uint8_t geo, int history)
{
    static const uint32_t k_ws[6] = {1, 2, 4, 8, 16, 32};
    const uint32_t ws = k_ws[geo % 6u];
    const uint32_t nsect = 2u + (geo / 6u) % 3u;
    const uint32_t area = nsect * FZ_SECTOR;
    ward_sim_flash_t flash;
    ward_sim_hsm_t hsm;
    ward_vault_t v;
    if (ward_sim_flash_open(&flash, NULL, NULL, true, area, FZ_SECTOR, ws, ws >= 8u) != WARD_OK) {
        fprintf(stderr, "gen_vault_corpus: no write size %u in this simulator, skipped\n", ws);
        return 0;
    }
    if (ward_sim_hsm_open(&hsm, NULL, NULL, true) != WARD_OK) {
        return -1;
    }
    memcpy(hsm.huk, k_huk, sizeof k_huk);
    hsm.has_huk = true;
    hsm.counters[0] = (uint32_t)(geo * 10u);
    ward_vault_config_t cfg = {{&flash.port, 0, area}, &hsm.port, 0,
                               history == 6 ? WARD_VAULT_AEAD_CHACHA20_POLY1305
                                            : WARD_VAULT_AEAD_AES256_GCM};
    int rc = ward_vault_format(&v, &cfg) == WARD_OK ? 0 : -1;
    uint32_t behind = 0;
    switch (history) {
    case 0: /* fresh */
        break;
    case 1: /* a few records */
    case 6:
        rc |= put(&v, "wifi.psk", 24) | put(&v, "cloud/token", 90) | put(&v, "ble/ltk:0", 16);
        break;
    case 2: /* garbage collected several times */
        for (int i = 0; i < 40 && rc == 0; i++) {
            char name[8];
            snprintf(name, sizeof name, "k%d", i % 3);
            uint8_t val[40];
            oracle_value(val, 4u + (size_t)(i * 7) % 20u, name);
            /* 1 KiB sectors hold little: a full vault is a fine seed too. */
            ward_err_t err = ward_vault_put(&v, name, val, 4u + (size_t)(i * 7) % 20u);
            rc |= err == WARD_OK || err == WARD_ERR_NO_SPACE ? 0 : -1;
        }
        break;
    case 3: /* deletes */
        rc |= put(&v, "k0", 20) | put(&v, "k1", 30) | put(&v, "k2", 5);
        rc |= ward_vault_delete(&v, "k1") == WARD_OK ? 0 : -1;
        rc |= put(&v, "k0", 21);
        break;
    case 4: /* wiped, then used */
        rc |= put(&v, "k0", 20) | put(&v, "k1", 30);
        rc |= ward_vault_wipe(&v) == WARD_OK ? 0 : -1;
        rc |= put(&v, "k3", 12);
        break;
    case 5: /* the counter raise after the last put was lost */
        rc |= put(&v, "wifi.psk", 24) | put(&v, "k2", 40);
        behind = 1;
        break;
    default:
        break;
    }
    ward_vault_unmount(&v);
    if (rc != 0) {
        return -1;
    }
    uint32_t len = area;
    while (len > 0 && flash.mem[len - 1] == 0xFF) {
        len--;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/seed-g%02u-h%d", dir, geo, history);
    FILE *f = fopen(path, "wb");
    uint8_t head[5];
    head[0] = geo;
    ward_store_le32(head + 1, hsm.counters[0] - behind);
    if (f == NULL || fwrite(head, 1, 5, f) != 5 || fwrite(flash.mem, 1, len, f) != len) {
        return -1;
    }
    fclose(f);
    ward_sim_flash_close(&flash);
    ward_sim_hsm_close(&hsm);
    return 0;
}

int main(int argc, char **argv)
{
    /* write sizes 1, 2, 8 and 4 on 3 sectors; 16 and 32 on 4 sectors */
    static const uint8_t k_geos[] = {6, 7, 9, 16, 8, 17};
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    for (size_t g = 0; g < sizeof k_geos; g++) {
        for (int h = 0; h < 7; h++) {
            if (make(argv[1], k_geos[g], h) != 0) {
                fprintf(stderr, "gen_vault_corpus: geometry %u history %d failed\n", k_geos[g], h);
                return 1;
            }
        }
    }
    return 0;
}
