/*
 * Helpers shared by the vault tests (unit, powerfail, attacks) and the
 * bench: a simulated device made only of a vault-sized flash and an HSM,
 * with snapshots of both for power-cut and rollback experiments.
 */
#ifndef WARD_TESTS_VAULT_TEST_H
#define WARD_TESTS_VAULT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/sim.h"
#include "ward/util.h"
#include "ward/vault.h"

typedef struct {
    ward_sim_power_t power;
    ward_sim_flash_t flash;
    ward_sim_hsm_t hsm;
    ward_vault_config_t cfg;
} tv_dev_t;

/* Everything a power cut or an attacker can change, to put it back. */
typedef struct {
    uint8_t *mem;
    uint8_t *programmed;
    uint32_t *erases;
    uint32_t counters[WARD_HSM_COUNTERS];
    uint64_t increments;
} tv_snap_t;

/* A vault of `sectors` x `ssize` bytes with write size ws. huk: 32 bytes
 * to give the HSM a known device-unique key, NULL for a random one. */
static inline int tv_open(tv_dev_t *d, uint32_t sectors, uint32_t ssize, uint32_t ws,
                          bool program_once, const uint8_t *huk)
{
    memset(d, 0, sizeof *d);
    if (ward_sim_flash_open(&d->flash, &d->power, NULL, true, sectors * ssize, ssize, ws,
                            program_once) != WARD_OK ||
        ward_sim_hsm_open(&d->hsm, &d->power, NULL, true) != WARD_OK) {
        return -1;
    }
    if (huk != NULL) {
        memcpy(d->hsm.huk, huk, 32);
        d->hsm.has_huk = true;
    } else if (d->hsm.port.huk_generate(d->hsm.port.ctx) != WARD_OK) {
        return -1;
    }
    d->cfg.area = (ward_area_t){&d->flash.port, 0, sectors * ssize};
    d->cfg.hsm = &d->hsm.port;
    d->cfg.counter = 0;
    d->cfg.aead = WARD_VAULT_AEAD_AES256_GCM;
    return 0;
}

/* The same over a sector map (mixed sector sizes): the vault's area is the
 * whole flash. */
static inline int tv_open_map(tv_dev_t *d, const ward_flash_region_t *map, uint32_t nregions,
                              uint32_t ws, bool program_once, const uint8_t *huk)
{
    memset(d, 0, sizeof *d);
    if (ward_sim_flash_open_map(&d->flash, &d->power, NULL, true, map, nregions, ws,
                                program_once) != WARD_OK ||
        ward_sim_hsm_open(&d->hsm, &d->power, NULL, true) != WARD_OK) {
        return -1;
    }
    if (huk != NULL) {
        memcpy(d->hsm.huk, huk, 32);
        d->hsm.has_huk = true;
    } else if (d->hsm.port.huk_generate(d->hsm.port.ctx) != WARD_OK) {
        return -1;
    }
    d->cfg.area = (ward_area_t){&d->flash.port, 0, d->flash.port.size};
    d->cfg.hsm = &d->hsm.port;
    d->cfg.counter = 0;
    d->cfg.aead = WARD_VAULT_AEAD_AES256_GCM;
    return 0;
}

static inline void tv_close(tv_dev_t *d)
{
    ward_sim_flash_close(&d->flash);
    ward_sim_hsm_close(&d->hsm);
}

/* Erases so far (read through a call: the vault reaches the flash through
 * its config, which static analysers cannot follow). */
static inline uint64_t tv_erases(const tv_dev_t *d)
{
    return d->flash.stats.erases;
}

/* Programs the flash refused (NOR or program-once rules), read the same way. */
static inline uint64_t tv_violations(const tv_dev_t *d)
{
    return d->flash.stats.violations;
}

static inline uint32_t tv_units(const tv_dev_t *d)
{
    return d->flash.port.size / d->flash.port.write_size;
}

static inline void tv_snap(const tv_dev_t *d, tv_snap_t *s)
{
    const uint32_t size = d->flash.port.size;
    const uint32_t nsect = d->flash.nsectors;
    s->mem = malloc(size);
    s->programmed = malloc((tv_units(d) + 7u) / 8u);
    s->erases = malloc(nsect * sizeof(uint32_t));
    if (s->mem == NULL || s->programmed == NULL || s->erases == NULL) {
        abort();
    }
    memcpy(s->mem, d->flash.mem, size);
    memcpy(s->programmed, d->flash.programmed, (tv_units(d) + 7u) / 8u);
    memcpy(s->erases, d->flash.erase_counts, nsect * sizeof(uint32_t));
    memcpy(s->counters, d->hsm.counters, sizeof s->counters);
    s->increments = d->hsm.increments;
}

/* Put flash and HSM back as they were (a different history of the same
 * device, not an attack: the HSM goes back too). */
static inline void tv_restore(tv_dev_t *d, const tv_snap_t *s)
{
    const uint32_t size = d->flash.port.size;
    const uint32_t nsect = d->flash.nsectors;
    memcpy(d->flash.mem, s->mem, size);
    memcpy(d->flash.programmed, s->programmed, (tv_units(d) + 7u) / 8u);
    memcpy(d->flash.erase_counts, s->erases, nsect * sizeof(uint32_t));
    memcpy(d->hsm.counters, s->counters, sizeof s->counters);
    d->hsm.increments = s->increments;
    ward_sim_power_on(&d->power);
}

static inline void tv_snap_free(tv_snap_t *s)
{
    free(s->mem);
    free(s->programmed);
    free(s->erases);
    memset(s, 0, sizeof *s);
}

/* ---- raw layout (docs/vault-format.md, format 3), for tests that edit flash */

#define TV_SHDR 64u /* sector header; the first entry starts here */

/* sec starts with a sector header whose CRC checks. */
static inline bool tv_shdr_ok(const uint8_t *sec)
{
    return memcmp(sec, "WVLT", 4) == 0 && ward_load_le32(sec + 60) == ward_crc32(0, sec, 60);
}

/* Recompute the CRC of an edited sector header (its MAC stays wrong). */
static inline void tv_shdr_fix_crc(uint8_t *sec)
{
    ward_store_le32(sec + 60, ward_crc32(0, sec, 60));
}

/* Deterministic test value for (name, generation): printable, len bytes. */
static inline void tv_value(uint8_t *out, size_t len, const char *name, uint32_t gen)
{
    uint32_t x = ward_crc32(gen * 2654435761u, name, strlen(name));
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        out[i] = (uint8_t)('a' + (x >> 16) % 26u);
    }
}

#endif /* WARD_TESTS_VAULT_TEST_H */
