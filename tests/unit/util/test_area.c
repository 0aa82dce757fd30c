/*
 * Unit tests: flash geometry and areas (src/util/area.c) on uniform flash
 * and on a sector map (mixed sector sizes), over a small RAM flash that
 * records every erase and counts one outside a sector start of its map as
 * a violation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ward/port.h"

/* 2 x 1 KiB, 1 x 4 KiB, 2 x 8 KiB: 22 KiB, like the start of an STM32F4
 * map scaled down. */
static const ward_flash_region_t k_map[] = {{2, 1024}, {1, 4096}, {2, 8192}};
#define MAP_SIZE (2u * 1024u + 4096u + 2u * 8192u)
static const uint32_t k_starts[] = {0, 1024, 2048, 6144, 14336};

typedef struct {
    uint8_t mem[MAP_SIZE];
    uint32_t erased[32]; /* offsets erased, in order */
    uint32_t nerased;
    uint32_t violations;
    bool mixed;
} ram_t;

static bool is_start(const ram_t *r, uint32_t off)
{
    if (!r->mixed) {
        return off % 1024u == 0u;
    }
    for (size_t i = 0; i < sizeof k_starts / sizeof k_starts[0]; i++) {
        if (k_starts[i] == off) {
            return true;
        }
    }
    return false;
}

static uint32_t size_at(uint32_t start)
{
    return start < 2048u ? 1024u : start < 6144u ? 4096u : 8192u;
}

static ward_err_t ram_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    ram_t *r = ctx;
    memcpy(buf, r->mem + off, len);
    return WARD_OK;
}

static ward_err_t ram_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    ram_t *r = ctx;
    const uint8_t *b = buf;
    for (size_t i = 0; i < len; i++) {
        r->mem[off + i] &= b[i];
    }
    return WARD_OK;
}

static ward_err_t ram_erase(void *ctx, uint32_t off)
{
    ram_t *r = ctx;
    if (!is_start(r, off)) {
        r->violations++;
        return WARD_ERR_INVALID_ARG;
    }
    memset(r->mem + off, 0xFF, r->mixed ? size_at(off) : 1024u);
    if (r->nerased < 32u) {
        r->erased[r->nerased++] = off;
    }
    return WARD_OK;
}

static void ram_init(ram_t *r, ward_flash_t *f, bool mixed)
{
    memset(r, 0, sizeof *r);
    memset(r->mem, 0x00, sizeof r->mem);
    r->mixed = mixed;
    *f = (ward_flash_t){
        .ctx = r, .read = ram_read, .prog = ram_prog, .erase = ram_erase,
        .size = MAP_SIZE, .sector_size = 1024, .write_size = 8,
    };
    if (mixed) {
        f->regions = k_map;
        f->nregions = 3;
    }
}

/* An area must start and end on the map's sector boundaries, not only on
 * multiples of its smallest sector. */
static void test_mixed_area_check(void **state)
{
    (void)state;
    ram_t r;
    ward_flash_t f;
    ram_init(&r, &f, true);
    const struct {
        uint32_t off, size;
        ward_err_t want;
    } t[] = {
        {0, 2048, WARD_OK},             /* the two 1 KiB sectors */
        {2048, 4096, WARD_OK},          /* the 4 KiB one */
        {1024, 1024 + 4096, WARD_OK},   /* 1 KiB + 4 KiB */
        {6144, 16384, WARD_OK},         /* the two 8 KiB ones, to the end */
        {0, MAP_SIZE, WARD_OK},         /* everything */
        {3072, 1024, WARD_ERR_INVALID_ARG},  /* inside the 4 KiB sector */
        {2048, 2048, WARD_ERR_INVALID_ARG},  /* half of it */
        {6144, 9216, WARD_ERR_INVALID_ARG},  /* ends inside an 8 KiB sector */
        {7168, 8192, WARD_ERR_INVALID_ARG},  /* starts inside one */
        {14336, 16384, WARD_ERR_INVALID_ARG}, /* beyond the end */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const ward_area_t a = {&f, t[i].off, t[i].size};
        if (ward_area_check(&a) != t[i].want) {
            print_message("area [0x%x, +0x%x): %d, expected %d\n", (unsigned)t[i].off,
                          (unsigned)t[i].size, (int)ward_area_check(&a), (int)t[i].want);
        }
        assert_int_equal(ward_area_check(&a), t[i].want);
    }
}

/* Erase goes sector by sector with each sector's own size, and refuses a
 * range that does not end on a boundary before it erases anything. */
static void test_mixed_area_erase(void **state)
{
    (void)state;
    ram_t r;
    ward_flash_t f;
    ram_init(&r, &f, true);
    const ward_area_t a = {&f, 1024, MAP_SIZE - 1024u};
    assert_int_equal(ward_area_check(&a), WARD_OK);
    assert_int_equal(ward_area_erase(&a, 0, 1024u + 4096u + 8192u), WARD_OK);
    assert_int_equal(r.violations, 0);
    assert_int_equal(r.nerased, 3);
    assert_int_equal(r.erased[0], 1024);
    assert_int_equal(r.erased[1], 2048);
    assert_int_equal(r.erased[2], 6144);
    for (uint32_t i = 0; i < MAP_SIZE; i++) {
        assert_int_equal(r.mem[i], i >= 1024u && i < 14336u ? 0xFF : 0x00);
    }
    /* Ends inside the 4 KiB sector, starts inside it, or leaves the area:
     * refused, nothing erased. */
    r.nerased = 0;
    assert_int_equal(ward_area_erase(&a, 0, 2048), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_area_erase(&a, 2048, 4096), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_area_erase(&a, 1024, 4096 + 4096), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_area_erase(&a, 4096, 9216), WARD_ERR_INVALID_ARG);
    assert_int_equal(r.nerased, 0);
    assert_int_equal(r.violations, 0);
}

/* Where each sector is, by offset and by index. */
static void test_mixed_sector_lookup(void **state)
{
    (void)state;
    ram_t r;
    ward_flash_t f;
    uint32_t start = 0, size = 0;
    ram_init(&r, &f, true);
    assert_int_equal(ward_flash_check(&f), WARD_OK);
    for (uint32_t off = 0; off < MAP_SIZE; off += 512u) {
        assert_int_equal(ward_flash_sector_at(&f, off, &start, &size), WARD_OK);
        assert_true(start <= off && off < start + size);
        assert_int_equal(size, size_at(start));
        assert_true(is_start(&r, start));
    }
    assert_int_equal(ward_flash_sector_at(&f, MAP_SIZE - 1u, &start, &size), WARD_OK);
    assert_int_equal(start, 14336);
    assert_int_equal(size, 8192);
    assert_int_equal(ward_flash_sector_at(&f, MAP_SIZE, &start, &size), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_flash_sector_at(&f, 0, NULL, NULL), WARD_OK);

    /* The area [1 KiB, end): sectors 1 KiB, 4 KiB, 8 KiB, 8 KiB. */
    const ward_area_t a = {&f, 1024, MAP_SIZE - 1024u};
    const uint32_t offs[] = {0, 1024, 5120, 13312}, sizes[] = {1024, 4096, 8192, 8192};
    assert_int_equal(ward_area_sectors(&a), 4);
    for (uint32_t i = 0; i < 4u; i++) {
        assert_int_equal(ward_area_sector(&a, i, &start, &size), WARD_OK);
        assert_int_equal(start, offs[i]);
        assert_int_equal(size, sizes[i]);
        assert_int_equal(ward_area_sector_at(&a, offs[i] + sizes[i] - 1u, &start, &size),
                         WARD_OK);
        assert_int_equal(start, offs[i]);
        assert_int_equal(size, sizes[i]);
    }
    assert_int_equal(ward_area_sector(&a, 4, &start, &size), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_area_sector_at(&a, a.size, &start, &size), WARD_ERR_INVALID_ARG);
    const ward_area_t bad = {&f, 3072, 1024};
    assert_int_equal(ward_area_sectors(&bad), 0);
}

/* Maps that do not describe the flash are refused. */
static void test_bad_maps(void **state)
{
    (void)state;
    ram_t r;
    ward_flash_t f;
    ram_init(&r, &f, true);
    const ward_flash_region_t short_map[] = {{2, 1024}, {1, 4096}, {1, 8192}};
    const ward_flash_region_t odd[] = {{2, 1024}, {1, 3072}, {2, 8192}, {1, 1024}};
    const ward_flash_region_t empty[] = {{0, 1024}, {2, 1024}, {1, 4096}, {2, 8192}};
    const ward_flash_region_t small[] = {{2, 1024}, {1, 4096}, {2, 8192}};
    const ward_area_t all = {&f, 0, MAP_SIZE};

    f.regions = short_map; /* adds up to 14 KiB */
    assert_int_equal(ward_flash_check(&f), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_area_check(&all), WARD_ERR_INVALID_ARG);
    f.regions = odd; /* 3 KiB is no power of two */
    f.nregions = 4;
    assert_int_equal(ward_flash_check(&f), WARD_ERR_INVALID_ARG);
    f.regions = empty; /* a run of no sectors */
    assert_int_equal(ward_flash_check(&f), WARD_ERR_INVALID_ARG);
    f.regions = small;
    f.nregions = 3;
    f.sector_size = 4096; /* not the smallest sector */
    assert_int_equal(ward_flash_check(&f), WARD_ERR_INVALID_ARG);
    f.sector_size = 1024;
    f.write_size = 2048; /* larger than a sector */
    assert_int_equal(ward_flash_check(&f), WARD_ERR_INVALID_ARG);
    f.write_size = 8;
    f.nregions = 0; /* a map without runs */
    assert_int_equal(ward_flash_check(&f), WARD_ERR_INVALID_ARG);
    f.nregions = 3;
    assert_int_equal(ward_flash_check(&f), WARD_OK);
}

/* Uniform flash: as before, every multiple of the sector size. */
static void test_uniform(void **state)
{
    (void)state;
    ram_t r;
    ward_flash_t f;
    uint32_t start = 0, size = 0;
    ram_init(&r, &f, false);
    f.size = 16384; /* 16 x 1 KiB */
    const ward_area_t a = {&f, 3072, 4096};
    assert_int_equal(ward_flash_check(&f), WARD_OK);
    assert_int_equal(ward_area_check(&a), WARD_OK);
    assert_int_equal(ward_area_sectors(&a), 4);
    assert_int_equal(ward_area_sector(&a, 3, &start, &size), WARD_OK);
    assert_int_equal(start, 3072);
    assert_int_equal(size, 1024);
    assert_int_equal(ward_area_sector_at(&a, 2047, &start, &size), WARD_OK);
    assert_int_equal(start, 1024);
    assert_int_equal(ward_flash_sector_at(&f, 5000, &start, &size), WARD_OK);
    assert_int_equal(start, 4096);
    assert_int_equal(size, 1024);
    assert_int_equal(ward_area_erase(&a, 1024, 2048), WARD_OK);
    assert_int_equal(r.nerased, 2);
    assert_int_equal(r.erased[0], 4096);
    assert_int_equal(r.erased[1], 5120);
    assert_int_equal(ward_area_erase(&a, 512, 1024), WARD_ERR_INVALID_ARG);
    const ward_area_t odd = {&f, 512, 1024};
    assert_int_equal(ward_area_check(&odd), WARD_ERR_INVALID_ARG);
    f.sector_size = 3000;
    assert_int_equal(ward_flash_check(&f), WARD_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_area_check),
        cmocka_unit_test(test_mixed_area_erase),
        cmocka_unit_test(test_mixed_sector_lookup),
        cmocka_unit_test(test_bad_maps),
        cmocka_unit_test(test_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
