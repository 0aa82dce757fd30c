/*
 * Fuzz target: what the bootloader reads from flash besides images, under
 * the hostile-flash model (docs/threat-model.md): the boot journal
 * (docs/boot-state.md), the install request in the secondary's last sector
 * and the scratch, all written by whoever holds the flash.
 *
 * A simulated device (1 KiB sectors, 8-byte writes, 8-sector slots) with
 * secure boot on holds v1 in the primary and v2 staged in the secondary,
 * both signed by the burnt key. Input: one byte of flags, then bytes that
 * replace the journal (flag 1), the secondary's last sector (flag 2) and the
 * scratch (flag 4), in that order, each as far as the input goes. Then up to
 * three resets (with a confirm after the first when flag 8).
 *
 * Oracles (abort): a boot that decides to run must leave in the primary
 * exactly v1 or v2 and report it verified (no other bytes were ever signed);
 * a verified report of another version; an OTP counter above 2 (no image
 * carries more) or going down; any flash operation breaking the flash's
 * rules (programming bits that are not erased).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit/boot/boot_fixture.h"

#define CHECK(c)     \
    do {             \
        if (!(c)) {  \
            abort(); \
        }            \
    } while (0)

static ward_sim_device_t g_dev;
static bf_snap_t g_snap;
static bf_img_t g_v1, g_v2;

static void setup(void)
{
    bf_key_t key;
    ward_sim_geometry_t geo;
    CHECK(bf_key(1, &key) == 0);
    CHECK(bf_image(&g_v1, 1, 1, 2000, 1, key.id) == 0);
    CHECK(bf_image(&g_v2, 2, 2, 2000, 2, key.id) == 0);
    bf_geo(&geo, 1024, 8, 8, false);
    CHECK(ward_sim_device_open_mem(&g_dev, &geo) == WARD_OK);
    CHECK(bf_provision(&g_dev, &key, true, true) == 0);
    CHECK(bf_write(&g_dev.layout.primary, g_v1.data, g_v1.len) == 0);
    ward_boot_report_t rep;
    CHECK(ward_fih_eq(bf_boot(&g_dev, &rep)));
    CHECK(bf_stage(&g_dev, &g_v2, false) == WARD_OK);
    CHECK(bf_snap_save(&g_dev, &g_snap) == 0);
}

/* FUZZ_BOOTSTATE_SEEDS=DIR: write seeds holding the device's real journal,
 * request and scratch (how fuzz/corpus/bootstate was made). */
static void write_seeds(const char *dir)
{
    const ward_boot_layout_t *l = &g_dev.layout;
    const uint8_t *mem = ward_sim_flash_mem(&g_dev.flash);
    const uint32_t last = g_dev.flash.port.sector_size;
    static const uint8_t k_flags[] = {1, 2, 3, 7, 9, 11};
    for (size_t i = 0; i < sizeof k_flags; i++) {
        char path[512];
        (void)snprintf(path, sizeof path, "%s/seed-%u", dir, (unsigned)k_flags[i]);
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        (void)fputc(k_flags[i], f);
        if (k_flags[i] & 1u) {
            (void)fwrite(mem + l->state.off, 1, l->state.size, f);
        }
        if (k_flags[i] & 2u) {
            (void)fwrite(mem + l->secondary.off + l->secondary.size - last, 1, last, f);
        }
        if (k_flags[i] & 4u) {
            (void)fwrite(mem + l->scratch.off, 1, l->scratch.size, f);
        }
        CHECK(fclose(f) == 0);
    }
}

/* Replace an area's bytes with the next input bytes, as far as they go. */
static void overwrite(const ward_area_t *a, const uint8_t **p, size_t *left, uint32_t off, uint32_t len)
{
    const size_t n = *left < len ? *left : len;
    memcpy(ward_sim_flash_mem(&g_dev.flash) + a->off + off, *p, n);
    *p += n;
    *left -= n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        setup();
        init = true;
        const char *seeds = getenv("FUZZ_BOOTSTATE_SEEDS");
        if (seeds != NULL) {
            write_seeds(seeds);
        }
    }
    if (size < 1u) {
        return 0;
    }
    CHECK(bf_snap_load(&g_dev, &g_snap) == 0);
    g_dev.flash.stats.violations = 0;
    const uint8_t flags = data[0];
    const uint8_t *p = data + 1;
    size_t left = size - 1u;
    const ward_boot_layout_t *l = &g_dev.layout;
    if (flags & 1u) {
        overwrite(&l->state, &p, &left, 0, l->state.size);
    }
    if (flags & 2u) {
        const uint32_t last = g_dev.flash.port.sector_size;
        overwrite(&l->secondary, &p, &left, l->secondary.size - last, last);
    }
    if (flags & 4u) {
        overwrite(&l->scratch, &p, &left, 0, l->scratch.size);
    }

    uint32_t counter = bf_counter(&g_dev);
    CHECK(counter <= 2u);
    for (int reset = 0; reset < 3; reset++) {
        ward_boot_report_t rep;
        memset(&rep, 0, sizeof rep);
        const ward_fih_t go = bf_boot(&g_dev, &rep);
        if (ward_fih_eq(go)) {
            const bool one = bf_holds(&g_dev, &l->primary, &g_v1);
            const bool two = bf_holds(&g_dev, &l->primary, &g_v2);
            CHECK(one || two);
            CHECK(rep.verified && rep.reason == WARD_OK);
            CHECK(rep.version.major == (one ? 1u : 2u));
        } else {
            CHECK(rep.reason != WARD_OK);
        }
        const uint32_t now = bf_counter(&g_dev);
        CHECK(now >= counter && now <= 2u);
        counter = now;
        CHECK(g_dev.flash.stats.violations == 0u);
        if (reset == 0 && (flags & 8u) && ward_fih_eq(go)) {
            (void)bf_confirm(&g_dev);
        }
    }
    return 0;
}
