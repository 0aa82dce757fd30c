/* Unit tests: the simulator port (flash NOR rules, power cuts, OTP, HSM, device). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ward/crypto.h"
#include "ward/sim.h"
#include "ward/util.h"

static char g_dir[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/ward-test-sim-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd);
}

static void test_flash_nor_rules(void **state)
{
    (void)state;
    ward_sim_power_t pw = {0};
    ward_sim_flash_t f;
    assert_int_equal(ward_sim_flash_open(&f, &pw, NULL, true, 4 * 1024, 1024, 4, false), WARD_OK);
    const ward_flash_t *p = &f.port;
    uint8_t buf[8];
    assert_int_equal(p->read(p->ctx, 0, buf, 8), WARD_OK);
    assert_true(ward_ct_all(buf, 0xFF, 8));
    /* Program clears bits. */
    const uint8_t a[4] = {0x0F, 0xF0, 0x00, 0xAA};
    assert_int_equal(p->prog(p->ctx, 0, a, 4), WARD_OK);
    assert_int_equal(p->read(p->ctx, 0, buf, 4), WARD_OK);
    assert_memory_equal(buf, a, 4);
    /* Clearing more bits of the same unit is allowed on plain NOR... */
    const uint8_t b[4] = {0x0E, 0xF0, 0x00, 0x0A};
    assert_int_equal(p->prog(p->ctx, 0, b, 4), WARD_OK);
    /* ...but setting a bit back to 1 is an error, and changes nothing. */
    const uint8_t c[4] = {0x0F, 0xF0, 0x00, 0x0A};
    assert_int_equal(p->prog(p->ctx, 0, c, 4), WARD_ERR_IO);
    assert_int_equal(p->read(p->ctx, 0, buf, 4), WARD_OK);
    assert_memory_equal(buf, b, 4);
    assert_int_equal(f.stats.violations, 1);
    /* Misaligned program or erase is refused. */
    assert_int_equal(p->prog(p->ctx, 2, a, 4), WARD_ERR_INVALID_ARG);
    assert_int_equal(p->prog(p->ctx, 4, a, 3), WARD_ERR_INVALID_ARG);
    assert_int_equal(p->erase(p->ctx, 512), WARD_ERR_INVALID_ARG);
    assert_int_equal(p->read(p->ctx, 4 * 1024 - 2, buf, 4), WARD_ERR_INVALID_ARG);
    assert_int_equal(f.stats.violations, 5);
    /* Erase restores 0xFF and counts. */
    assert_int_equal(p->erase(p->ctx, 0), WARD_OK);
    assert_int_equal(p->read(p->ctx, 0, buf, 4), WARD_OK);
    assert_true(ward_ct_all(buf, 0xFF, 4));
    assert_int_equal(f.erase_counts[0], 1);
    assert_int_equal(f.erase_counts[1], 0);
    ward_sim_flash_close(&f);
}

static void test_flash_program_once(void **state)
{
    (void)state;
    ward_sim_flash_t f;
    assert_int_equal(ward_sim_flash_open(&f, NULL, NULL, true, 2048, 1024, 8, true), WARD_OK);
    const ward_flash_t *p = &f.port;
    const uint8_t a[8] = {0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    const uint8_t z[8] = {0};
    assert_int_equal(p->prog(p->ctx, 8, a, 8), WARD_OK);
    /* ECC flash: a unit may not be programmed twice, even to clear bits. */
    assert_int_equal(p->prog(p->ctx, 8, z, 8), WARD_ERR_IO);
    assert_int_equal(p->erase(p->ctx, 0), WARD_OK);
    assert_int_equal(p->prog(p->ctx, 8, z, 8), WARD_OK);
    ward_sim_flash_close(&f);
}

static void test_flash_power_cut(void **state)
{
    (void)state;
    ward_sim_power_t pw = {0};
    ward_sim_flash_t f;
    assert_int_equal(ward_sim_flash_open(&f, &pw, NULL, true, 4096, 1024, 1, false), WARD_OK);
    const ward_flash_t *p = &f.port;
    uint8_t data[16], buf[16];
    memset(data, 0x00, sizeof data);

    /* Cut before the 2nd op: the 1st lands, the 2nd does not, all later fail. */
    ward_sim_power_cut_after(&pw, 2, false);
    assert_int_equal(p->prog(p->ctx, 0, data, 16), WARD_OK);
    assert_int_equal(p->prog(p->ctx, 16, data, 16), WARD_ERR_POWER_LOSS);
    assert_int_equal(p->erase(p->ctx, 1024), WARD_ERR_POWER_LOSS);
    assert_int_equal(p->read(p->ctx, 0, buf, 16), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->read(p->ctx, 16, buf, 16), WARD_OK);
    assert_true(ward_ct_all(buf, 0xFF, 16));
    assert_int_equal(pw.cuts, 1);

    /* Torn program: first half lands, then a half-programmed byte. */
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->prog(p->ctx, 32, data, 16), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->read(p->ctx, 32, buf, 16), WARD_OK);
    assert_true(ward_ct_all(buf, 0x00, 8));
    assert_true(buf[8] != 0x00 && buf[8] != 0xFF);
    assert_true(ward_ct_all(buf + 9, 0xFF, 7));

    /* Even a one-byte write can tear. */
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->prog(p->ctx, 64, data, 1), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->read(p->ctx, 64, buf, 1), WARD_OK);
    assert_true(buf[0] != 0x00 && buf[0] != 0xFF);

    /* Torn erase: only the first half of the sector is erased. */
    assert_int_equal(p->prog(p->ctx, 0, data, 16), WARD_OK);
    uint8_t zeros[1024];
    memset(zeros, 0, sizeof zeros);
    assert_int_equal(p->prog(p->ctx, 1024, zeros, 1024), WARD_OK);
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->erase(p->ctx, 1024), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    uint8_t sec[1024];
    assert_int_equal(p->read(p->ctx, 1024, sec, 1024), WARD_OK);
    assert_true(ward_ct_all(sec, 0xFF, 512));
    assert_true(ward_ct_all(sec + 512, 0x00, 512));
    ward_sim_flash_close(&f);
}

/* A flash with mixed sectors (2 x 1 KiB, 1 x 4 KiB, 1 x 8 KiB): erase only
 * at the map's sector starts, each sector erased whole whatever its size,
 * counters per sector, torn erases of a large sector under each model. */
static void test_flash_mixed(void **state)
{
    (void)state;
    static const ward_flash_region_t map[] = {{2, 1024}, {1, 4096}, {1, 8192}};
    ward_sim_power_t pw = {0};
    ward_sim_flash_t f;
    uint8_t zeros[8192], buf[8192];
    memset(zeros, 0, sizeof zeros);
    const ward_flash_region_t bad[] = {{2, 1024}, {1, 3000}};
    assert_int_equal(ward_sim_flash_open_map(&f, &pw, NULL, true, bad, 2, 8, true),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_sim_flash_open_map(&f, &pw, NULL, true, map, 3, 8, true), WARD_OK);
    const ward_flash_t *p = &f.port;
    assert_int_equal(p->size, 14336);
    assert_int_equal(p->sector_size, 1024); /* the smallest */
    assert_int_equal(p->nregions, 3);
    assert_int_equal(ward_flash_check(p), WARD_OK);
    assert_int_equal(f.nsectors, 4);
    assert_int_equal(ward_sim_flash_sector_index(&f, 1023), 0);
    assert_int_equal(ward_sim_flash_sector_index(&f, 2048 + 4095), 2);
    assert_int_equal(ward_sim_flash_sector_index(&f, 14335), 3);
    assert_int_equal(ward_sim_flash_sector_index(&f, 14336), UINT32_MAX);

    /* Erase: at a sector start only, the whole 4 KiB sector. */
    assert_int_equal(p->prog(p->ctx, 1024, zeros, 1024 + 4096), WARD_OK);
    assert_int_equal(f.prog_counts[1], 1);
    assert_int_equal(f.prog_counts[2], 1); /* one program over two sectors */
    assert_int_equal(f.prog_bytes[2], 4096);
    assert_int_equal(p->erase(p->ctx, 3072), WARD_ERR_INVALID_ARG);
    assert_int_equal(p->erase(p->ctx, 14336), WARD_ERR_INVALID_ARG);
    assert_int_equal(f.stats.violations, 2);
    assert_int_equal(p->erase(p->ctx, 2048), WARD_OK);
    assert_int_equal(p->read(p->ctx, 1024, buf, 1024 + 4096), WARD_OK);
    assert_true(ward_ct_all(buf, 0x00, 1024)); /* the 1 KiB sector before: untouched */
    assert_true(ward_ct_all(buf + 1024, 0xFF, 4096));
    assert_int_equal(f.erase_counts[2], 1);
    assert_int_equal(f.erase_counts[1], 0);

    /* A torn erase of the 8 KiB sector: HALF leaves its second half. */
    assert_int_equal(p->prog(p->ctx, 6144, zeros, 8192), WARD_OK);
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->erase(p->ctx, 6144), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->read(p->ctx, 6144, buf, 8192), WARD_OK);
    assert_true(ward_ct_all(buf, 0xFF, 4096));
    assert_true(ward_ct_all(buf + 4096, 0x00, 4096));
    assert_int_equal(p->prog(p->ctx, 6144 + 4096, zeros, 8), WARD_ERR_IO); /* still spent */
    assert_int_equal(f.erase_counts[3], 1);
    /* UNIT_NOISE: bits across the whole sector, every unit still spent. */
    f.torn_model = WARD_SIM_TORN_UNIT_NOISE;
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->erase(p->ctx, 6144), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->read(p->ctx, 6144, buf, 8192), WARD_OK);
    assert_false(ward_ct_all(buf + 4096, 0x00, 4096));
    assert_false(ward_ct_all(buf, 0xFF, 8192));
    assert_int_equal(p->prog(p->ctx, 6144 + 8184, zeros, 8), WARD_ERR_IO);
    assert_int_equal(p->erase(p->ctx, 6144), WARD_OK);
    assert_int_equal(p->prog(p->ctx, 6144 + 8184, zeros, 8), WARD_OK);
    assert_int_equal(f.erase_counts[3], 3);
    ward_sim_flash_close(&f);

    /* A file keeps its counters per sector of the map. */
    char path[300];
    snprintf(path, sizeof path, "%s/mixed.bin", g_dir);
    assert_int_equal(ward_sim_flash_open_map(&f, NULL, path, true, map, 3, 8, true), WARD_OK);
    assert_int_equal(f.port.erase(f.port.ctx, 6144), WARD_OK);
    assert_int_equal(f.port.erase(f.port.ctx, 1024), WARD_OK);
    ward_sim_flash_close(&f);
    assert_int_equal(ward_sim_flash_open_map(&f, NULL, path, false, map, 3, 8, true), WARD_OK);
    assert_int_equal(f.erase_counts[0], 0);
    assert_int_equal(f.erase_counts[1], 1);
    assert_int_equal(f.erase_counts[3], 1);
    ward_sim_flash_close(&f);
}

/* The other torn models (ward_sim_torn_model_t) on program-once flash. */
static void test_flash_torn_models(void **state)
{
    (void)state;
    ward_sim_power_t pw = {0};
    ward_sim_flash_t f;
    assert_int_equal(ward_sim_flash_open(&f, &pw, NULL, true, 4096, 1024, 8, true), WARD_OK);
    const ward_flash_t *p = &f.port;
    uint8_t data[32], buf[32];
    memset(data, 0x00, sizeof data);

    /* UNIT_BLANK: nothing visible, yet the first unit is spent. */
    f.torn_model = WARD_SIM_TORN_UNIT_BLANK;
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->prog(p->ctx, 0, data, 32), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->read(p->ctx, 0, buf, 32), WARD_OK);
    assert_true(ward_ct_all(buf, 0xFF, 32));
    assert_int_equal(p->prog(p->ctx, 0, data, 8), WARD_ERR_IO);  /* spent */
    assert_int_equal(p->prog(p->ctx, 8, data, 24), WARD_OK);     /* the rest is not */

    /* UNIT_NOISE: units before the middle land, the middle one is noise
     * and spent, the ones after are untouched. */
    f.torn_model = WARD_SIM_TORN_UNIT_NOISE;
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->prog(p->ctx, 1024, data, 32), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->read(p->ctx, 1024, buf, 32), WARD_OK);
    assert_true(ward_ct_all(buf, 0x00, 16));
    assert_false(ward_ct_all(buf + 16, 0x00, 8) || ward_ct_all(buf + 16, 0xFF, 8));
    assert_true(ward_ct_all(buf + 24, 0xFF, 8));
    assert_int_equal(p->prog(p->ctx, 1024 + 16, data, 8), WARD_ERR_IO);
    assert_int_equal(p->prog(p->ctx, 1024 + 24, data, 8), WARD_OK);

    /* UNIT_NOISE erase: scattered bits go to 1, nothing is reliably erased. */
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->erase(p->ctx, 1024), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    uint8_t sec[1024];
    assert_int_equal(p->read(p->ctx, 1024, sec, 1024), WARD_OK);
    assert_false(ward_ct_all(sec, 0xFF, 1024));
    assert_int_equal(p->prog(p->ctx, 1024, data, 8), WARD_ERR_IO); /* still spent */
    assert_int_equal(p->erase(p->ctx, 1024), WARD_OK);
    assert_int_equal(p->prog(p->ctx, 1024, data, 8), WARD_OK);
    ward_sim_flash_close(&f);
}

/* 32-byte write units (STM32H7 flash words), program once: the alignment
 * rule, and what each torn model leaves of one unit and of several. */
static void test_flash_w32(void **state)
{
    (void)state;
    ward_sim_power_t pw = {0};
    ward_sim_flash_t f;
    assert_int_equal(ward_sim_flash_open(&f, &pw, NULL, true, 4096, 1024, 64, true),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_sim_flash_open(&f, &pw, NULL, true, 4096, 16, 32, true),
                     WARD_ERR_INVALID_ARG); /* a unit larger than a sector */
    assert_int_equal(ward_sim_flash_open(&f, &pw, NULL, true, 4096, 1024, 32, true), WARD_OK);
    const ward_flash_t *p = &f.port;
    assert_int_equal(p->write_size, 32);
    uint8_t data[96], buf[96];
    memset(data, 0x00, sizeof data);

    /* Whole 32-byte units only: a 16-byte program or offset is refused. */
    assert_int_equal(p->prog(p->ctx, 0, data, 16), WARD_ERR_INVALID_ARG);
    assert_int_equal(p->prog(p->ctx, 16, data, 32), WARD_ERR_INVALID_ARG);
    assert_int_equal(f.stats.violations, 2);
    assert_int_equal(p->prog(p->ctx, 32, data, 32), WARD_OK);
    /* Program once per unit, even to clear bits already clear. */
    assert_int_equal(p->prog(p->ctx, 32, data, 32), WARD_ERR_IO);
    assert_int_equal(f.stats.violations, 3);

    /* HALF: the first 16 bytes of a unit land, byte 16 gets half its bits,
     * the rest stays erased; the unit is spent. */
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->prog(p->ctx, 64, data, 32), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->read(p->ctx, 64, buf, 32), WARD_OK);
    assert_true(ward_ct_all(buf, 0x00, 16));
    assert_true(buf[16] != 0x00 && buf[16] != 0xFF);
    assert_true(ward_ct_all(buf + 17, 0xFF, 15));
    assert_int_equal(p->prog(p->ctx, 64, data, 32), WARD_ERR_IO);
    assert_int_equal(p->prog(p->ctx, 96, data, 32), WARD_OK);

    /* UNIT_BLANK: a one-unit program leaves nothing visible, yet it is spent. */
    f.torn_model = WARD_SIM_TORN_UNIT_BLANK;
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->prog(p->ctx, 128, data, 32), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->read(p->ctx, 128, buf, 32), WARD_OK);
    assert_true(ward_ct_all(buf, 0xFF, 32));
    assert_int_equal(p->prog(p->ctx, 128, data, 32), WARD_ERR_IO);
    assert_int_equal(p->prog(p->ctx, 160, data, 32), WARD_OK);

    /* UNIT_NOISE over three units: the first lands, the middle is noise
     * and spent, the third untouched and still programmable. */
    f.torn_model = WARD_SIM_TORN_UNIT_NOISE;
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->prog(p->ctx, 1024, data, 96), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->read(p->ctx, 1024, buf, 96), WARD_OK);
    assert_true(ward_ct_all(buf, 0x00, 32));
    assert_false(ward_ct_all(buf + 32, 0x00, 32) || ward_ct_all(buf + 32, 0xFF, 32));
    assert_true(ward_ct_all(buf + 64, 0xFF, 32));
    assert_int_equal(p->prog(p->ctx, 1024 + 32, data, 32), WARD_ERR_IO);
    assert_int_equal(p->prog(p->ctx, 1024 + 64, data, 32), WARD_OK);

    /* A torn erase under UNIT_NOISE frees no programmed unit; a whole
     * erase frees them all. */
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->erase(p->ctx, 1024), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->prog(p->ctx, 1024, data, 32), WARD_ERR_IO);
    assert_int_equal(p->prog(p->ctx, 1024 + 64, data, 32), WARD_ERR_IO);
    assert_int_equal(p->erase(p->ctx, 1024), WARD_OK);
    for (uint32_t off = 1024; off < 2048; off += 32) {
        assert_int_equal(p->prog(p->ctx, off, data, 32), WARD_OK);
    }

    /* Loading raw contents: a unit with any byte programmed counts as
     * programmed, also when only its last byte is. */
    uint8_t img[4096];
    memset(img, 0xFF, sizeof img);
    img[2048 + 31] = 0x7F;
    assert_int_equal(ward_sim_flash_load(&f, img, sizeof img), WARD_OK);
    assert_int_equal(p->prog(p->ctx, 2048, data, 32), WARD_ERR_IO);
    assert_int_equal(p->prog(p->ctx, 2048 + 32, data, 32), WARD_OK);
    ward_sim_flash_close(&f);
}

static void test_flash_file_persistence(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/flash.bin", g_dir);
    ward_sim_flash_t f;
    assert_int_equal(ward_sim_flash_open(&f, NULL, path, false, 4096, 1024, 4, true),
                     WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_sim_flash_open(&f, NULL, path, true, 4096, 1024, 4, true), WARD_OK);
    const uint8_t a[4] = {1, 2, 3, 4};
    assert_int_equal(f.port.erase(f.port.ctx, 2048), WARD_OK);
    assert_int_equal(f.port.prog(f.port.ctx, 2048, a, 4), WARD_OK);
    ward_sim_flash_close(&f);
    /* Geometry must match the file. */
    assert_int_equal(ward_sim_flash_open(&f, NULL, path, false, 8192, 1024, 4, true),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_sim_flash_open(&f, NULL, path, false, 4096, 1024, 4, true), WARD_OK);
    uint8_t buf[4];
    assert_int_equal(f.port.read(f.port.ctx, 2048, buf, 4), WARD_OK);
    assert_memory_equal(buf, a, 4);
    assert_int_equal(f.erase_counts[2], 1);
    /* The per-sector program counters came back from the .wear file. */
    assert_int_equal(f.prog_counts[2], 1);
    assert_int_equal(f.prog_bytes[2], 4);
    assert_int_equal(f.prog_counts[1] + f.prog_counts[3], 0);
    /* Units programmed before reopening still count as programmed. */
    assert_int_equal(f.port.prog(f.port.ctx, 2048, a, 4), WARD_ERR_IO);
    /* A refused program counts nothing; one across a sector edge counts in both. */
    assert_int_equal(f.prog_counts[2], 1);
    uint8_t two[8];
    memset(two, 0x5A, sizeof two);
    assert_int_equal(f.port.prog(f.port.ctx, 1020, two, 8), WARD_OK);
    assert_int_equal(f.prog_counts[0], 1);
    assert_int_equal(f.prog_bytes[0], 4);
    assert_int_equal(f.prog_counts[1], 1);
    assert_int_equal(f.prog_bytes[1], 4);
    ward_sim_flash_close(&f);
    /* A .wear file from before the program counters (erase counts only). */
    char wp[320];
    snprintf(wp, sizeof wp, "%s.wear", path);
    FILE *w = fopen(wp, "r+b");
    assert_non_null(w);
    assert_int_equal(ftruncate(fileno(w), 4 * sizeof(uint32_t)), 0);
    fclose(w);
    assert_int_equal(ward_sim_flash_open(&f, NULL, path, false, 4096, 1024, 4, true), WARD_OK);
    assert_int_equal(f.erase_counts[2], 1);
    assert_int_equal(f.prog_counts[0] + f.prog_counts[1] + f.prog_counts[2], 0);
    ward_sim_flash_close(&f);
}

static void test_otp(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/otp.bin", g_dir);
    ward_sim_power_t pw = {0};
    ward_sim_otp_t o;
    assert_int_equal(ward_sim_otp_open(&o, &pw, path, true), WARD_OK);
    uint8_t h[32], r[32];
    memset(h, 0xA5, sizeof h);
    assert_int_equal(o.port.burn(o.port.ctx, WARD_OTP_BOOT_KEY_HASH, h, 32), WARD_OK);
    /* Burning zeros changes nothing: bits never go back. */
    memset(r, 0, sizeof r);
    assert_int_equal(o.port.burn(o.port.ctx, WARD_OTP_BOOT_KEY_HASH, r, 32), WARD_OK);
    assert_int_equal(o.port.read(o.port.ctx, WARD_OTP_BOOT_KEY_HASH, r, 32), WARD_OK);
    assert_memory_equal(r, h, 32);
    assert_int_equal(o.port.lock(o.port.ctx, WARD_OTP_BOOT_KEY_HASH), WARD_OK);
    memset(h, 0xFF, sizeof h);
    assert_int_equal(o.port.burn(o.port.ctx, WARD_OTP_BOOT_KEY_HASH, h, 32), WARD_ERR_LOCKED);
    assert_int_equal(o.port.read(o.port.ctx, WARD_OTP_BOOT_KEY_HASH, h, 31), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_otp_rollback_raise(&o.port, 5), WARD_OK);
    ward_sim_otp_close(&o);
    /* Persisted, locks included. */
    assert_int_equal(ward_sim_otp_open(&o, &pw, path, false), WARD_OK);
    assert_int_equal(o.port.read(o.port.ctx, WARD_OTP_BOOT_KEY_HASH, r, 32), WARD_OK);
    memset(h, 0xA5, sizeof h);
    assert_memory_equal(r, h, 32);
    bool locked = false;
    assert_int_equal(o.port.is_locked(o.port.ctx, WARD_OTP_BOOT_KEY_HASH, &locked), WARD_OK);
    assert_true(locked);
    uint32_t v = 0;
    assert_int_equal(ward_otp_rollback_get(&o.port, &v), WARD_OK);
    assert_int_equal(v, 5);
    /* A burn cut by power loss does not happen. */
    ward_sim_power_cut_after(&pw, 1, false);
    assert_int_equal(ward_otp_rollback_raise(&o.port, 9), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(ward_otp_rollback_get(&o.port, &v), WARD_OK);
    assert_int_equal(v, 5);
    ward_sim_otp_close(&o);
}

static void test_hsm(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/hsm.bin", g_dir);
    ward_sim_power_t pw = {0};
    ward_sim_hsm_t h;
    assert_int_equal(ward_sim_hsm_open(&h, &pw, path, true), WARD_OK);
    const ward_hsm_t *p = &h.port;
    uint32_t k1 = 0, k2 = 0, k3 = 0;
    const uint8_t l1[] = "vault-record", l2[] = "vault-table";
    assert_int_equal(p->derive_key(p->ctx, WARD_HSM_KEY_AES256_GCM, l1, sizeof l1, &k1), WARD_ERR_STATE);
    assert_int_equal(p->huk_generate(p->ctx), WARD_OK);
    assert_int_equal(p->huk_generate(p->ctx), WARD_ERR_EXISTS);
    assert_int_equal(p->derive_key(p->ctx, WARD_HSM_KEY_AES256_GCM, l1, sizeof l1, &k1), WARD_OK);
    ward_sim_hsm_close(&h);

    /* After a "reboot" the same label derives the same key; another label does not. */
    assert_int_equal(ward_sim_hsm_open(&h, &pw, path, false), WARD_OK);
    assert_int_equal(p->derive_key(p->ctx, WARD_HSM_KEY_AES256_GCM, l1, sizeof l1, &k2), WARD_OK);
    assert_int_equal(p->derive_key(p->ctx, WARD_HSM_KEY_AES256_GCM, l2, sizeof l2, &k3), WARD_OK);
    uint8_t nonce[12] = {1}, pt[16] = "credential 16 b", ct[32], out[16];
    size_t n = 0, m = 0;
    assert_int_equal(psa_aead_encrypt(k1, PSA_ALG_GCM, nonce, 12, NULL, 0, pt, 16, ct, sizeof ct, &n), PSA_SUCCESS);
    assert_int_equal(psa_aead_decrypt(k2, PSA_ALG_GCM, nonce, 12, NULL, 0, ct, n, out, sizeof out, &m), PSA_SUCCESS);
    assert_memory_equal(out, pt, 16);
    assert_int_equal(psa_aead_decrypt(k3, PSA_ALG_GCM, nonce, 12, NULL, 0, ct, n, out, sizeof out, &m),
                     PSA_ERROR_INVALID_SIGNATURE);
    /* Derived keys cannot be exported. */
    uint8_t kb[32];
    assert_int_not_equal(psa_export_key(k2, kb, sizeof kb, &m), PSA_SUCCESS);
    psa_destroy_key(k1);
    psa_destroy_key(k2);
    psa_destroy_key(k3);

    /* Counters: persist, never go back; a cut increment may still count. */
    uint32_t v = 0;
    assert_int_equal(p->counter_increment(p->ctx, 0, &v), WARD_OK);
    assert_int_equal(v, 1);
    ward_sim_power_cut_after(&pw, 1, false);
    assert_int_equal(p->counter_increment(p->ctx, 0, &v), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->counter_read(p->ctx, 0, &v), WARD_OK);
    assert_int_equal(v, 1);
    ward_sim_power_cut_after(&pw, 1, true);
    assert_int_equal(p->counter_increment(p->ctx, 0, &v), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&pw);
    assert_int_equal(p->counter_read(p->ctx, 0, &v), WARD_OK);
    assert_int_equal(v, 2);
    assert_int_equal(p->counter_read(p->ctx, 1, &v), WARD_OK);
    assert_int_equal(v, 0);
    assert_int_equal(p->counter_read(p->ctx, WARD_HSM_COUNTERS, &v), WARD_ERR_INVALID_ARG);
    h.counters[1] = WARD_HSM_COUNTER_MAX;
    assert_int_equal(p->counter_increment(p->ctx, 1, &v), WARD_ERR_LIMIT);

    /* Identity key: signatures verify with the exported public key. */
    uint8_t pub[65], hash[32], sig[64];
    assert_int_equal(p->id_public(p->ctx, pub), WARD_ERR_STATE);
    assert_int_equal(p->id_generate(p->ctx), WARD_OK);
    assert_int_equal(p->id_generate(p->ctx), WARD_ERR_EXISTS);
    assert_int_equal(p->id_public(p->ctx, pub), WARD_OK);
    assert_int_equal(ward_sha256(hash, "hello", 5), WARD_OK);
    assert_int_equal(p->id_sign_hash(p->ctx, hash, sig), WARD_OK);
    assert_int_equal(ward_p256_verify(pub, hash, sig), WARD_OK);
    ward_sim_hsm_close(&h);
}

static void test_device(void **state)
{
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/dev", g_dir);
    ward_sim_geometry_t g;
    ward_sim_geometry_default(&g);
    g.slot_sectors = 8;
    assert_int_equal(ward_sim_device_create(dir, &g), WARD_OK);
    assert_int_equal(ward_sim_device_create(dir, &g), WARD_ERR_EXISTS);
    ward_sim_device_t d;
    assert_int_equal(ward_sim_device_open(&d, dir), WARD_OK);
    assert_int_equal(d.geo.slot_sectors, 8);
    assert_int_equal(ward_area_check(&d.layout.primary), WARD_OK);
    assert_int_equal(ward_area_check(&d.layout.secondary), WARD_OK);
    assert_int_equal(ward_area_check(&d.layout.scratch), WARD_OK);
    assert_int_equal(ward_area_check(&d.layout.state), WARD_OK);
    assert_int_equal(ward_area_check(&d.vault), WARD_OK);
    assert_int_equal(d.layout.secondary.off, d.layout.primary.off + d.layout.primary.size);
    assert_int_equal(d.vault.off + d.vault.size, d.flash.port.size);
    assert_false(d.has_boot_spki);
    uint8_t spki[91];
    memset(spki, 7, sizeof spki);
    assert_int_equal(ward_sim_device_set_boot_key(&d, spki), WARD_OK);
    ward_sim_device_close(&d);
    assert_int_equal(ward_sim_device_open(&d, dir), WARD_OK);
    assert_true(d.has_boot_spki);
    assert_memory_equal(d.boot_spki, spki, 91);
    /* The OTA key (read-only file) and the device class (device.conf). */
    assert_false(d.has_ota_spki);
    assert_string_equal(d.device_class, "");
    uint8_t ota[91];
    memset(ota, 9, sizeof ota);
    assert_int_equal(ward_sim_device_set_ota(&d, ota, ".hidden"), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_sim_device_set_ota(&d, ota, "plug/v1"), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_sim_device_set_ota(&d, ota, "plug-v1"), WARD_OK);
    ward_sim_device_close(&d);
    assert_int_equal(ward_sim_device_open(&d, dir), WARD_OK);
    assert_true(d.has_ota_spki);
    assert_memory_equal(d.ota_spki, ota, 91);
    assert_string_equal(d.device_class, "plug-v1");
    assert_int_equal(d.geo.slot_sectors, 8);
    char okp[320];
    struct stat st;
    snprintf(okp, sizeof okp, "%s/otakey.der", dir);
    assert_int_equal(stat(okp, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0444);
    ward_boot_config_t cfg;
    ward_sim_device_boot_config(&d, &cfg);
    assert_ptr_equal(cfg.otp, &d.otp.port);
    assert_int_equal(cfg.spki_len, 91);
    ward_sim_device_close(&d);
    char missing[320];
    snprintf(missing, sizeof missing, "%s/none", g_dir);
    assert_int_equal(ward_sim_device_open(&d, missing), WARD_ERR_NOT_FOUND);
}

/* A device on a sector map (the STM32F405's: 4 x 16 KiB, 1 x 64 KiB,
 * 7 x 128 KiB) with its areas placed by hand: created, device.conf (format
 * 2) read back, areas on the map's boundaries; areas that are not are
 * refused before anything is written. */
static void test_device_mixed(void **state)
{
    (void)state;
    char dir[300], conf[320], text[1024];
    snprintf(dir, sizeof dir, "%s/mixed", g_dir);
    ward_sim_geometry_t g;
    ward_sim_geometry_default(&g);
    g.write_size = 4;
    g.program_once = false;
    g.nregions = 3;
    g.regions[0] = (ward_flash_region_t){4, 16384};
    g.regions[1] = (ward_flash_region_t){1, 65536};
    g.regions[2] = (ward_flash_region_t){7, 131072};
    g.state = (ward_sim_span_t){0x4000, 0x8000};
    g.vault = (ward_sim_span_t){0xC000, 0x14000};
    g.primary = (ward_sim_span_t){0x20000, 0x40000};
    g.secondary = (ward_sim_span_t){0x60000, 0x40000};
    g.scratch = (ward_sim_span_t){0xA0000, 0x10000}; /* half a 128 KiB sector */
    assert_int_equal(ward_sim_device_create(dir, &g), WARD_ERR_INVALID_ARG);
    g.scratch = (ward_sim_span_t){0x10000, 0x20000}; /* over the vault */
    assert_int_equal(ward_sim_device_create(dir, &g), WARD_ERR_INVALID_ARG);
    snprintf(conf, sizeof conf, "%s/device.conf", dir);
    struct stat st;
    assert_int_not_equal(stat(conf, &st), 0); /* nothing written */
    g.scratch = (ward_sim_span_t){0xA0000, 0x20000};
    assert_int_equal(ward_sim_device_create(dir, &g), WARD_OK);
    FILE *f = fopen(conf, "r");
    assert_non_null(f);
    const size_t n = fread(text, 1, sizeof text - 1u, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "format=2\n"));
    assert_non_null(strstr(text, "sector_map=4x16384,1x65536,7x131072\n"));
    assert_non_null(strstr(text, "primary=0x20000,0x40000\n"));

    ward_sim_device_t d;
    assert_int_equal(ward_sim_device_open(&d, dir), WARD_OK);
    assert_int_equal(d.flash.port.size, 0x100000);
    assert_int_equal(d.flash.port.nregions, 3);
    assert_int_equal(d.flash.nsectors, 12);
    assert_int_equal(d.geo.sector_size, 16384); /* the smallest */
    assert_int_equal(d.geo.slot_sectors, 2);
    assert_int_equal(d.geo.vault_sectors, 2);
    assert_int_equal(d.layout.primary.off, 0x20000);
    assert_int_equal(d.layout.state.size, 0x8000);
    assert_int_equal(d.vault.off, 0xC000);
    assert_int_equal(ward_area_sectors(&d.vault), 2);
    uint32_t off = 0, size = 0;
    assert_int_equal(ward_area_sector(&d.vault, 1, &off, &size), WARD_OK);
    assert_int_equal(off, 0x4000);
    assert_int_equal(size, 0x10000);
    /* Factory programming erases the sectors it touches, whatever their size. */
    uint8_t img[300];
    memset(img, 0x5A, sizeof img);
    assert_int_equal(ward_sim_area_write(&d.layout.primary, img, sizeof img), WARD_OK);
    assert_int_equal(d.flash.erase_counts[5], 1);
    assert_int_equal(d.flash.erase_counts[6], 0);
    ward_sim_device_close(&d);
    assert_int_equal(ward_sim_device_open(&d, dir), WARD_OK);
    assert_int_equal(d.flash.erase_counts[5], 1);
    assert_int_equal(ward_sim_device_set_ota(&d, img, "plug-v1"), WARD_OK);
    ward_sim_device_close(&d);
    assert_int_equal(ward_sim_device_open(&d, dir), WARD_OK); /* rewritten conf */
    assert_string_equal(d.device_class, "plug-v1");
    assert_int_equal(d.flash.port.nregions, 3);
    assert_int_equal(d.layout.scratch.off, 0xA0000);
    ward_sim_device_close(&d);
}

/* A device with 32-byte writes: created, its device.conf read back, the
 * file's programmed units found again after a reopen; 64 is refused. */
static void test_device_w32(void **state)
{
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/dev32", g_dir);
    ward_sim_geometry_t g;
    ward_sim_geometry_default(&g);
    g.sector_size = 2048;
    g.slot_sectors = 4;
    g.write_size = 64;
    assert_int_equal(ward_sim_device_create(dir, &g), WARD_ERR_INVALID_ARG);
    g.write_size = 32;
    assert_int_equal(ward_sim_device_create(dir, &g), WARD_OK);
    ward_sim_device_t d;
    assert_int_equal(ward_sim_device_open(&d, dir), WARD_OK);
    assert_int_equal(d.geo.write_size, 32);
    assert_int_equal(d.flash.port.write_size, 32);
    assert_true(d.geo.program_once);
    assert_int_equal(ward_area_check(&d.layout.state), WARD_OK);
    uint8_t data[40];
    memset(data, 0x5A, sizeof data);
    /* 40 bytes: padded to two units. */
    assert_int_equal(ward_sim_area_write(&d.layout.secondary, data, sizeof data), WARD_OK);
    assert_int_equal(d.flash.stats.violations, 0);
    ward_sim_device_close(&d);
    assert_int_equal(ward_sim_device_open(&d, dir), WARD_OK);
    const uint8_t z[32] = {0};
    assert_int_equal(ward_area_prog(&d.layout.secondary, 32, z, 32), WARD_ERR_IO);
    assert_int_equal(ward_area_prog(&d.layout.secondary, 64, z, 32), WARD_OK);
    ward_sim_device_close(&d);
}

static void test_area_write(void **state)
{
    (void)state;
    ward_sim_geometry_t g;
    ward_sim_geometry_default(&g);
    g.sector_size = 1024;
    g.write_size = 8;
    g.slot_sectors = 4;
    ward_sim_device_t d;
    assert_int_equal(ward_sim_device_open_mem(&d, &g), WARD_OK);
    uint8_t data[1500], back[2048];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7u);
    }
    /* Twice: the second write must erase what the first programmed. */
    assert_int_equal(ward_sim_area_write(&d.layout.secondary, data, sizeof data), WARD_OK);
    data[0] ^= 0xFF;
    assert_int_equal(ward_sim_area_write(&d.layout.secondary, data, sizeof data), WARD_OK);
    assert_int_equal(ward_area_read(&d.layout.secondary, 0, back, sizeof back), WARD_OK);
    assert_memory_equal(back, data, sizeof data);
    /* Padding up to the write unit, the rest of the sector stays erased. */
    assert_true(ward_ct_all(back + sizeof data, 0xFF, sizeof back - sizeof data));
    assert_int_equal(d.flash.stats.violations, 0);
    assert_int_equal(d.flash.erase_counts[(d.layout.secondary.off / 1024u)], 2);
    uint8_t big[4 * 1024 + 1];
    memset(big, 0, sizeof big);
    assert_int_equal(ward_sim_area_write(&d.layout.secondary, big, sizeof big), WARD_ERR_IMG_TOO_LARGE);
    ward_sim_device_close(&d);
}

/* The hostile flash lies on exactly the armed read, inside its window only. */
static void test_flash_hostile(void **state)
{
    (void)state;
    ward_sim_power_t pw = {0};
    ward_sim_flash_t f;
    ward_sim_hostile_t h;
    uint8_t other[4096], buf[16];
    assert_int_equal(ward_sim_flash_open(&f, &pw, NULL, true, 4096, 1024, 4, false), WARD_OK);
    memset(other, 0xA5, sizeof other);
    ward_sim_hostile_init(&h, &f.port, 1024, 2048);
    assert_int_equal(h.port.size, 4096);
    assert_int_equal(h.port.write_size, 4);

    /* Honest: counts only reads touching [1024, 2048). */
    ward_sim_hostile_arm(&h, 0, false, other, sizeof other);
    assert_int_equal(h.port.read(h.port.ctx, 0, buf, 16), WARD_OK);
    assert_int_equal(h.port.read(h.port.ctx, 1020, buf, 16), WARD_OK);
    assert_int_equal(h.reads, 1);
    assert_int_equal(h.hits, 0);

    /* Lie on the 2nd read of the window: only the bytes inside it change. */
    ward_sim_hostile_arm(&h, 2, false, other, sizeof other);
    assert_int_equal(h.port.read(h.port.ctx, 1020, buf, 16), WARD_OK);
    assert_int_equal(buf[0], 0xFF);
    assert_int_equal(h.port.read(h.port.ctx, 1020, buf, 16), WARD_OK);
    assert_int_equal(buf[3], 0xFF);
    assert_int_equal(buf[4], 0xA5);
    assert_int_equal(buf[15], 0xA5);
    assert_int_equal(h.port.read(h.port.ctx, 1020, buf, 16), WARD_OK);
    assert_int_equal(buf[15], 0xFF);
    assert_int_equal(h.hits, 1);

    /* From then on: every later read lies too. */
    ward_sim_hostile_arm(&h, 1, true, other, sizeof other);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h.port.read(h.port.ctx, 2040, buf, 16), WARD_OK);
        assert_int_equal(buf[7], 0xA5);
        assert_int_equal(buf[8], 0xFF);
    }
    assert_int_equal(h.hits, 3);

    /* Programs and erases reach the flash underneath. */
    const uint8_t z[4] = {0};
    assert_int_equal(h.port.prog(h.port.ctx, 0, z, 4), WARD_OK);
    assert_int_equal(ward_sim_flash_mem(&f)[0], 0);
    assert_int_equal(h.port.erase(h.port.ctx, 0), WARD_OK);
    assert_int_equal(ward_sim_flash_mem(&f)[0], 0xFF);
    ward_sim_flash_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flash_nor_rules),     cmocka_unit_test(test_flash_program_once),
        cmocka_unit_test(test_flash_power_cut),     cmocka_unit_test(test_flash_torn_models),
        cmocka_unit_test(test_flash_mixed),
        cmocka_unit_test(test_flash_hostile),       cmocka_unit_test(test_flash_w32),
        cmocka_unit_test(test_device_w32),
        cmocka_unit_test(test_device_mixed),
        cmocka_unit_test(test_flash_file_persistence),
        cmocka_unit_test(test_otp),                 cmocka_unit_test(test_hsm),
        cmocka_unit_test(test_device),              cmocka_unit_test(test_area_write),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
