/* Unit tests: tools/board, the board-file reader of `ward sign --board`. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ward/boot.h"
#include "ward/port.h"
#include "ward_board.h"

/* A valid board (mps2-an386's numbers), edited per test. */
static const char k_base[] =
    "# a comment\n"
    "CPU=cortex-m4\nFPU=none\nFLOAT_ABI=soft\nIRQS=32\nVTOR_ALIGN=256\n"
    "FLASH_ADDR=0x00000000\nFLASH_SECTORS=256x4K\nFLASH_WRITE_SIZE=8\nPROTECT_END=0x20000\n"
    "BOOT_ADDR=0\nBOOT_SIZE=64K\nBOOT_RAM_ADDR=0x20000000\nBOOT_RAM_SIZE=64K\n"
    "KEY_ADDR=0x10000\nKEY_SIZE=4K\nOTP_ADDR=0x11000\nOTP_SIZE=4K\n"
    "PRIMARY_OFF=0x20000\nSECONDARY_OFF=0x80000\nSLOT_SIZE=0x60000\n"
    "SCRATCH_OFF=0xE0000\nSCRATCH_SIZE=4K\nSTATE_OFF=0xE1000\nSTATE_SIZE=8K\n"
    "HDR_SIZE=0x200\nRAM_ADDR=0x20000000\nRAM_SIZE=4M\nAPP_RAM_ADDR=0x20010000\nAPP_RAM_SIZE=64K\n"
    "CONSOLE=semihosting\nTIMER=cmsdk\nQEMU_MACHINE=mps2-an386\n";

/* k_base with the line starting "KEY=" replaced by `line` (or removed when
 * line is ""), or `line` appended when no line has that key. */
static ward_err_t parse_with(const char *key, const char *line, ward_board_t *b, char *why,
                             size_t why_size)
{
    static char text[4096];
    text[0] = '\0';
    const char *p = k_base;
    bool replaced = false;
    while (*p != '\0') {
        const char *e = strchr(p, '\n');
        const size_t n = (size_t)(e - p) + 1u;
        if (key != NULL && strncmp(p, key, strlen(key)) == 0 && p[strlen(key)] == '=') {
            strcat(text, line);
            if (line[0] != '\0') {
                strcat(text, "\n");
            }
            replaced = true;
        } else {
            strncat(text, p, n);
        }
        p = e + 1;
    }
    if (key != NULL && !replaced) {
        strcat(text, line);
        strcat(text, "\n");
    }
    return ward_board_parse(b, "test", text, strlen(text), why, why_size);
}

static void test_valid(void **state)
{
    (void)state;
    ward_board_t b;
    char why[256];
    assert_int_equal(parse_with(NULL, "", &b, why, sizeof why), WARD_OK);
    assert_string_equal(b.cpu, "cortex-m4");
    assert_int_equal(b.irqs, 32);
    assert_int_equal(b.slot_size, 0x60000);
    assert_int_equal(b.boot_size, 64u * 1024u);
    assert_int_equal(b.ram_size, 4u * 1024u * 1024u);
    /* The device defaults to the flash. */
    assert_int_equal(b.dev_addr, 0);
    assert_int_equal(b.dev_write_size, 8);
    assert_int_equal(ward_board_dev_size(&b), 0x100000);
    assert_int_equal(ward_board_uniform_sector(&b), 4096);
    assert_int_equal(ward_board_image_max(&b), 0x60000 - 4096);
    assert_int_equal(ward_board_primary_addr(&b), 0x20000);
    assert_false(b.has_vault);
}

static void expect_refused(const char *key, const char *line, ward_err_t want, const char *needle)
{
    ward_board_t b;
    char why[256];
    assert_int_equal(parse_with(key, line, &b, why, sizeof why), want);
    if (strstr(why, needle) == NULL) {
        fail_msg("why '%s' lacks '%s'", why, needle);
    }
}

static void test_format_errors(void **state)
{
    (void)state;
    expect_refused("CPU", "", WARD_ERR_CORRUPT, "CPU is required");
    expect_refused("NOPE", "NOPE=1", WARD_ERR_CORRUPT, "unknown key NOPE");
    expect_refused("IRQS", "IRQS=32 # interrupts", WARD_ERR_CORRUPT, "not KEY=VALUE");
    expect_refused("IRQS", "IRQS=3x", WARD_ERR_CORRUPT, "not a number");
    expect_refused("SLOT_SIZE", "SLOT_SIZE=0x100000000", WARD_ERR_CORRUPT, "not a number");
    expect_refused("FLASH_SECTORS", "FLASH_SECTORS=256x3K", WARD_ERR_CORRUPT, "COUNTxSIZE");
    expect_refused("FLASH_SECTORS", "FLASH_SECTORS=256x4K,", WARD_ERR_CORRUPT, "COUNTxSIZE");
    expect_refused("QEMU", "HDR_SIZE=0x200", WARD_ERR_CORRUPT, "given twice");
    /* At most 8192 sectors in all (cmake/board.cmake walks each one). */
    expect_refused("FLASH_SECTORS", "FLASH_SECTORS=8193x4K", WARD_ERR_CORRUPT,
                   "at most 8192 sectors");
    expect_refused("FLASH_SECTORS", "FLASH_SECTORS=256x4K,8000x64", WARD_ERR_CORRUPT,
                   "at most 8192 sectors");
    expect_refused("FLASH_SECTORS", "FLASH_SECTORS=1048576x4K", WARD_ERR_CORRUPT,
                   "at most 8192 sectors");
}

static void test_rules(void **state)
{
    (void)state;
    /* 82 interrupts: 98 vectors, 392 bytes, need 512. */
    expect_refused("IRQS", "IRQS=82", WARD_ERR_INVALID_ARG, "needs a power of two >= 512");
    expect_refused("HDR_SIZE", "HDR_SIZE=0x180", WARD_ERR_INVALID_ARG, "multiple of VTOR_ALIGN");
    expect_refused("FLOAT_ABI", "FLOAT_ABI=hard", WARD_ERR_INVALID_ARG, "needs an FPU");
    expect_refused("SCRATCH_OFF", "SCRATCH_OFF=0xE0800", WARD_ERR_INVALID_ARG,
                   "not whole sectors");
    expect_refused("SECONDARY_OFF", "SECONDARY_OFF=0x70000", WARD_ERR_INVALID_ARG,
                   "PRIMARY and SECONDARY areas overlap");
    expect_refused("PRIMARY_OFF", "PRIMARY_OFF=0x10000", WARD_ERR_INVALID_ARG, "overlap");
    expect_refused("STATE_SIZE", "STATE_SIZE=4K", WARD_ERR_INVALID_ARG, "at least 2 sectors");
    expect_refused("SECONDARY_OFF", "SECONDARY_OFF=0xF0000", WARD_ERR_INVALID_ARG,
                   "SECONDARY area at 0xf0000, 0x60000 bytes, is not whole sectors inside");
    expect_refused("VAULT_SIZE", "VAULT_SIZE=16K", WARD_ERR_INVALID_ARG, "VAULT_OFF and HSM_ADDR");
    expect_refused("DEV_WRITE_SIZE", "DEV_WRITE_SIZE=64", WARD_ERR_INVALID_ARG, "write size");
}

/* A device with mixed sectors (the STM32F4's 4 x 16K, 1 x 64K, 7 x 128K):
 * areas on its boundaries, a scratch that takes a swap unit (the 64 KiB
 * sector does not take a 128 KiB unit), and an image may use all but the
 * slot's last unit, whatever its size. */
static void test_mixed_device(void **state)
{
    (void)state;
    static const char text[] =
        "CPU=cortex-m4\nFPU=fpv4-sp-d16\nFLOAT_ABI=hard\nIRQS=82\nVTOR_ALIGN=512\n"
        "FLASH_ADDR=0x08000000\nFLASH_SECTORS=4x16K,1x64K,7x128K\nFLASH_WRITE_SIZE=4\n"
        "PROTECT_END=32K\nBOOT_ADDR=0x08000000\nBOOT_SIZE=16K\nBOOT_RAM_ADDR=0x20000000\n"
        "BOOT_RAM_SIZE=8K\nKEY_ADDR=0x08004000\nKEY_SIZE=16K\nOTP_ADDR=0x1FFF7800\nOTP_SIZE=528\n"
        "PRIMARY_OFF=0x20000\nSECONDARY_OFF=0x60000\nSLOT_SIZE=256K\nSCRATCH_OFF=0x10000\n"
        "SCRATCH_SIZE=64K\nSTATE_OFF=0x8000\nSTATE_SIZE=32K\nHDR_SIZE=0x200\n"
        "RAM_ADDR=0x20000000\nRAM_SIZE=128K\nAPP_RAM_ADDR=0x20004000\nAPP_RAM_SIZE=16K\n"
        "CONSOLE=semihosting\nTIMER=none\nQEMU_MACHINE=netduinoplus2\n";
    ward_board_t b;
    char why[256];
    static char fixed[2048];
    assert_int_equal(ward_board_parse(&b, "f4", text, strlen(text), why, sizeof why),
                     WARD_ERR_INVALID_ARG);
    assert_non_null(strstr(why, "a swap unit of 131072 bytes does not fit the 65536-byte scratch"));
    static const char was[] = "SCRATCH_OFF=0x10000\nSCRATCH_SIZE=64K";
    const char *sc = strstr(text, was);
    assert_non_null(sc);
    snprintf(fixed, sizeof fixed, "%.*sSCRATCH_OFF=0xA0000\nSCRATCH_SIZE=128K%s", (int)(sc - text),
             text, sc + sizeof was - 1u);
    assert_int_equal(ward_board_parse(&b, "f4", fixed, strlen(fixed), why, sizeof why), WARD_OK);
    uint32_t largest = 0, last = 0;
    assert_int_equal(ward_board_units(&b, &largest, &last), 2);
    assert_int_equal(largest, 128u * 1024u);
    assert_int_equal(ward_board_dev_size(&b), 1024u * 1024u);
    assert_int_equal(ward_board_uniform_sector(&b), 0);
    assert_int_equal(ward_board_sector_at(&b, 0x3FFF), 16u * 1024u);
    assert_int_equal(ward_board_sector_at(&b, 0x10000), 64u * 1024u);
    assert_int_equal(ward_board_sector_at(&b, 0x20000), 128u * 1024u);
    assert_int_equal(ward_board_sector_at(&b, 0x100000), 0);
    assert_int_equal(ward_board_image_max(&b), 128u * 1024u);
    /* A slot that ends inside a 128 KiB sector is refused. */
    static char moved[2048];
    snprintf(moved, sizeof moved, "%s", fixed);
    char *p = strstr(moved, "SECONDARY_OFF=0x60000");
    assert_non_null(p);
    memcpy(p, "SECONDARY_OFF=0x70000", 21);
    assert_int_equal(ward_board_parse(&b, "f4", moved, strlen(moved), why, sizeof why),
                     WARD_ERR_INVALID_ARG);
    assert_non_null(strstr(why, "SECONDARY"));
}

/* The boot journal lives in the state area's first two sectors, each with
 * room for 16 to 65,535 records of max(16, write size) bytes
 * (ward_boot_layout_check, WARD_BOOT_RULE_STATE). A board whose journal
 * breaks that was accepted, and its bootloader refused every boot
 * (ward_boot_init: WARD_ERR_BOOT_LAYOUT): 128-byte pages (an STM32L0's)
 * hold 8 records; a 1 MiB sector 65,536. */
static void test_journal_sectors(void **state)
{
    (void)state;
    ward_board_t b;
    char why[320];
    /* 0xE1000: 225 x 4K; then 32 x 128 B (4 KiB); then 30 x 4K to 1 MiB. */
    static const char small[] = "FLASH_SECTORS=225x4K,32x128,30x4K";
    assert_int_equal(parse_with("FLASH_SECTORS", small, &b, why, sizeof why),
                     WARD_ERR_INVALID_ARG);
    if (strstr(why, "journal") == NULL || strstr(why, "8 records") == NULL) {
        fail_msg("why '%s'", why);
    }
    /* 512-byte pages hold 32 records of 16 bytes (write size 8): accepted,
     * and 16 of 32 bytes (write size 32) too, at the limit. */
    static const char ok512[] = "FLASH_SECTORS=225x4K,8x512,31x4K";
    assert_int_equal(parse_with("FLASH_SECTORS", ok512, &b, why, sizeof why), WARD_OK);
    /* A state area of two 1 MiB sectors: 65,536 records each. */
    static char big[4096];
    snprintf(big, sizeof big,
             "CPU=cortex-m4\nFPU=none\nFLOAT_ABI=soft\nIRQS=32\nVTOR_ALIGN=256\n"
             "FLASH_ADDR=0\nFLASH_SECTORS=32x4K,2x1M\nFLASH_WRITE_SIZE=8\nPROTECT_END=0x4000\n"
             "BOOT_ADDR=0\nBOOT_SIZE=12K\nBOOT_RAM_ADDR=0x20000000\nBOOT_RAM_SIZE=64K\n"
             "KEY_ADDR=0x3000\nKEY_SIZE=4K\nOTP_ADDR=0x20030000\nOTP_SIZE=4K\n"
             "PRIMARY_OFF=0x4000\nSECONDARY_OFF=0xC000\nSLOT_SIZE=32K\n"
             "SCRATCH_OFF=0x14000\nSCRATCH_SIZE=4K\nSTATE_OFF=0x20000\nSTATE_SIZE=2M\n"
             "HDR_SIZE=0x200\nRAM_ADDR=0x20000000\nRAM_SIZE=4M\nAPP_RAM_ADDR=0x20010000\n"
             "APP_RAM_SIZE=64K\nCONSOLE=semihosting\nTIMER=cmsdk\nQEMU_MACHINE=mps2-an386\n");
    assert_int_equal(ward_board_parse(&b, "big", big, strlen(big), why, sizeof why),
                     WARD_ERR_INVALID_ARG);
    if (strstr(why, "journal") == NULL || strstr(why, "65536 records") == NULL) {
        fail_msg("why '%s'", why);
    }
}

/* The bootloader jumps to primary + HDR_SIZE only if that is a multiple of
 * VTOR_ALIGN (entry_sane). HDR_SIZE was checked, the primary's address not:
 * an emulation at an unaligned EMU_ADDR (or a slot on small pages) was
 * accepted, `ward sign --board` signed for it, and every image was refused
 * with "bad vector table". */
static void test_primary_vtor_aligned(void **state)
{
    (void)state;
    ward_board_t b;
    char why[320];
    static const char emu[] = "EMU_ADDR=0x20400080\nEMU_WINDOW=8K\nEMU_TAIL=1K";
    assert_int_equal(parse_with("EMU_ADDR", emu, &b, why, sizeof why), WARD_ERR_INVALID_ARG);
    if (strstr(why, "0x20400280") == NULL || strstr(why, "VTOR_ALIGN") == NULL) {
        fail_msg("why '%s'", why);
    }
    static const char aligned[] = "EMU_ADDR=0x20400100\nEMU_WINDOW=8K\nEMU_TAIL=1K";
    assert_int_equal(parse_with("EMU_ADDR", aligned, &b, why, sizeof why), WARD_OK);
    assert_int_equal(ward_board_primary_addr(&b), 0x20400100);
}

/* The vault (VAULT_*) takes 2 to WARD_CONFIG_VAULT_MAX_SECTORS sectors
 * (ward_vault_format refuses others: WARD_ERR_INVALID_ARG); with an
 * emulation, sectors that RAM keeps whole (a vault writes the whole of
 * them; the emulation takes no program in the middle of a larger one).
 * Both were accepted, and the vault failed on the device. */
static void test_vault_area(void **state)
{
    (void)state;
    ward_board_t b;
    char why[320];
    static const char one[] = "VAULT_OFF=0xF0000\nVAULT_SIZE=4K\nHSM_ADDR=0x01000000";
    assert_int_equal(parse_with("VAULT_OFF", one, &b, why, sizeof why), WARD_ERR_INVALID_ARG);
    if (strstr(why, "VAULT") == NULL || strstr(why, "1 sector") == NULL) {
        fail_msg("why '%s'", why);
    }
    static const char many[] = "VAULT_OFF=0xE3000\nVAULT_SIZE=68K\nHSM_ADDR=0x01000000";
    assert_int_equal(parse_with("VAULT_OFF", many, &b, why, sizeof why), WARD_ERR_INVALID_ARG);
    if (strstr(why, "17 sectors") == NULL) {
        fail_msg("why '%s'", why);
    }
    static const char two[] = "VAULT_OFF=0xF0000\nVAULT_SIZE=8K\nHSM_ADDR=0x01000000";
    assert_int_equal(parse_with("VAULT_OFF", two, &b, why, sizeof why), WARD_OK);
    /* An emulation that keeps 2 KiB of each 4 KiB sector (and the vault's). */
    static const char emu[] = "VAULT_OFF=0xF0000\nVAULT_SIZE=8K\nHSM_ADDR=0x01000000\n"
                              "EMU_ADDR=0x20400000\nEMU_WINDOW=2K\nEMU_TAIL=1K";
    assert_int_equal(parse_with("VAULT_OFF", emu, &b, why, sizeof why), WARD_ERR_INVALID_ARG);
    if (strstr(why, "EMU_WINDOW") == NULL || strstr(why, "VAULT") == NULL) {
        fail_msg("why '%s'", why);
    }
}

/* The bootloader, its key block and the OTP block, where they lie on the
 * flash device, are no area's: the bootloader erases and writes its areas.
 * Without PROTECT_END covering them, a boot state at 0 (on the bootloader's
 * own first sector) was accepted, and the first journal write erased the
 * bootloader. */
static void test_boot_code_apart(void **state)
{
    (void)state;
    ward_board_t b;
    char why[320];
    static char text[4096];
    snprintf(text, sizeof text, "%s", k_base);
    /* k_base: PROTECT_END=0x20000, the state at 0xE1000. */
    char *p = strstr(text, "PROTECT_END=0x20000");
    assert_non_null(p);
    memcpy(p, "PROTECT_END=0x00000", 19);
    assert_int_equal(ward_board_parse(&b, "t", text, strlen(text), why, sizeof why), WARD_OK);
    p = strstr(text, "STATE_OFF=0xE1000");
    assert_non_null(p);
    memcpy(p, "STATE_OFF=0x00000", 17);
    assert_int_equal(ward_board_parse(&b, "t", text, strlen(text), why, sizeof why),
                     WARD_ERR_INVALID_ARG);
    if (strstr(why, "STATE") == NULL || strstr(why, "bootloader") == NULL) {
        fail_msg("why '%s'", why);
    }
    /* The key block (0x10000, 4 KiB) under the scratch. */
    snprintf(text, sizeof text, "%s", k_base);
    p = strstr(text, "PROTECT_END=0x20000");
    memcpy(p, "PROTECT_END=0x00000", 19);
    p = strstr(text, "SCRATCH_OFF=0xE0000");
    assert_non_null(p);
    memcpy(p, "SCRATCH_OFF=0x10000", 19);
    assert_int_equal(ward_board_parse(&b, "t", text, strlen(text), why, sizeof why),
                     WARD_ERR_INVALID_ARG);
    if (strstr(why, "SCRATCH") == NULL || strstr(why, "key block") == NULL) {
        fail_msg("why '%s'", why);
    }
}

/* With an emulation (EMU_*) an image must be kept whole by the secondary
 * (where it is staged) and the scratch (which carries it through a swap),
 * not only by the primary: the image limit was the primary's run in RAM
 * alone. Here the primary's 16 KiB sectors are kept whole (64 KiB run in
 * place), the secondary's 32 KiB ones by their first 23 and last 1 KiB:
 * an image of up to 32 KiB was signed, and the device could neither stage
 * nor swap its bytes past 23 KiB. */
static void test_emu_image_max(void **state)
{
    (void)state;
    static const char text[] =
        "CPU=cortex-m4\nFPU=fpv4-sp-d16\nFLOAT_ABI=hard\nIRQS=82\nVTOR_ALIGN=512\n"
        "FLASH_ADDR=0x08000000\nFLASH_SECTORS=7x16K,2x32K,1x64K\nFLASH_WRITE_SIZE=4\n"
        "PROTECT_END=0x4000\nBOOT_ADDR=0x08000000\nBOOT_SIZE=14K\nBOOT_RAM_ADDR=0x20000000\n"
        "BOOT_RAM_SIZE=8K\nKEY_ADDR=0x08003800\nKEY_SIZE=2K\nOTP_ADDR=0x20002000\nOTP_SIZE=1K\n"
        "STATE_OFF=0x4000\nSTATE_SIZE=32K\nPRIMARY_OFF=0xC000\nSECONDARY_OFF=0x1C000\n"
        "SLOT_SIZE=64K\nSCRATCH_OFF=0x2C000\nSCRATCH_SIZE=64K\nHDR_SIZE=0x200\n"
        "EMU_ADDR=0x20008000\nEMU_WINDOW=24K\nEMU_TAIL=1K\n"
        "RAM_ADDR=0x20000000\nRAM_SIZE=128K\nAPP_RAM_ADDR=0x20004000\nAPP_RAM_SIZE=16K\n"
        "CONSOLE=semihosting\nTIMER=none\nQEMU_MACHINE=netduinoplus2\n";
    ward_board_t b;
    char why[320];
    assert_int_equal(ward_board_parse(&b, "emu", text, strlen(text), why, sizeof why), WARD_OK);
    uint32_t largest = 0, last = 0;
    assert_int_equal(ward_board_units(&b, &largest, &last), 2);
    assert_int_equal(last, 32u * 1024u);
    assert_int_equal(ward_board_primary_span(&b), 64u * 1024u);
    /* What the secondary (and the scratch) keep in one run: 23 KiB. */
    assert_int_equal(ward_board_image_max(&b), 23u * 1024u);
}

/* Every board the reader accepts is one the bootloader's core accepts
 * (ward_flash_check, ward_boot_layout_check), with the same image limit:
 * 20,000 boards on random sector maps (sizes 8 B to 2 MiB, mixed), write
 * sizes and areas. The reader accepted layouts whose journal the core
 * refuses (WARD_BOOT_RULE_STATE) before it checked the journal. */
static uint32_t g_lcg = 12345u;
static uint32_t rnd(uint32_t n)
{
    g_lcg = g_lcg * 1103515245u + 12345u;
    return (g_lcg >> 8) % n;
}

static void test_agrees_with_boot_core(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {8,    16,    32,     64,     128,     256,      512,
                                     1024, 4096,  16384,  65536,  131072,  1u << 20, 2u << 20};
    uint32_t accepted = 0;
    for (uint32_t it = 0; it < 20000u; it++) {
        ward_flash_region_t reg[3];
        const uint32_t nr = 1u + rnd(3);
        char map[128] = "";
        uint32_t bounds[40], nb = 0;
        uint64_t at = 0;
        bounds[nb++] = 0;
        for (uint32_t i = 0; i < nr; i++) {
            reg[i].size = sizes[rnd(sizeof sizes / sizeof sizes[0])];
            reg[i].count = 1u + rnd(8);
            const size_t l = strlen(map);
            snprintf(map + l, sizeof map - l, "%s%ux%u", i > 0u ? "," : "", (unsigned)reg[i].count,
                     (unsigned)reg[i].size);
            for (uint32_t k = 0; k < reg[i].count; k++) {
                at += reg[i].size;
                bounds[nb++] = (uint32_t)at;
            }
        }
        /* primary, secondary (of the primary's size), scratch, state: runs
         * of whole sectors, in that order, apart. */
        uint32_t o[4], z[4], idx = 1u + rnd(2), n = 1u + rnd(4);
        if (idx + n >= nb) {
            continue;
        }
        o[0] = bounds[idx];
        z[0] = bounds[idx + n] - bounds[idx];
        idx += n;
        bool found = false;
        for (uint32_t j = idx + rnd(2); j < nb && !found; j++) {
            for (uint32_t k = j + 1u; k < nb && !found; k++) {
                if (bounds[k] - bounds[j] == z[0]) {
                    o[1] = bounds[j];
                    idx = k;
                    found = true;
                }
            }
        }
        n = 1u + rnd(2);
        if (!found || idx + n >= nb) {
            continue;
        }
        z[1] = z[0];
        o[2] = bounds[idx];
        z[2] = bounds[idx + n] - bounds[idx];
        idx += n;
        n = 1u + rnd(3);
        if (idx + n >= nb) {
            continue;
        }
        o[3] = bounds[idx];
        z[3] = bounds[idx + n] - bounds[idx];
        const uint32_t ws = 1u << rnd(6);
        static char text[2048];
        snprintf(text, sizeof text,
                 "CPU=cortex-m4\nFPU=none\nFLOAT_ABI=soft\nIRQS=16\nVTOR_ALIGN=128\n"
                 "FLASH_ADDR=0x08000000\nFLASH_SECTORS=%s\nFLASH_WRITE_SIZE=%u\nPROTECT_END=0\n"
                 "BOOT_ADDR=0x00000000\nBOOT_SIZE=16K\nBOOT_RAM_ADDR=0x20000000\nBOOT_RAM_SIZE=8K\n"
                 "KEY_ADDR=0x00004000\nKEY_SIZE=2K\nOTP_ADDR=0x20002000\nOTP_SIZE=1K\n"
                 "PRIMARY_OFF=0x%x\nSECONDARY_OFF=0x%x\nSLOT_SIZE=0x%x\nSCRATCH_OFF=0x%x\n"
                 "SCRATCH_SIZE=0x%x\nSTATE_OFF=0x%x\nSTATE_SIZE=0x%x\nHDR_SIZE=0x80\n"
                 "RAM_ADDR=0x20000000\nRAM_SIZE=128K\nAPP_RAM_ADDR=0x20004000\nAPP_RAM_SIZE=16K\n"
                 "CONSOLE=semihosting\nTIMER=none\nQEMU_MACHINE=x\n",
                 map, (unsigned)ws, (unsigned)o[0], (unsigned)o[1], (unsigned)z[0], (unsigned)o[2],
                 (unsigned)z[2], (unsigned)o[3], (unsigned)z[3]);
        ward_board_t b;
        char why[320];
        if (ward_board_parse(&b, "rnd", text, strlen(text), why, sizeof why) != WARD_OK) {
            continue;
        }
        accepted++;
        const ward_flash_t f = {.size = (uint32_t)at, .sector_size = 0, .write_size = ws,
                                .regions = reg, .nregions = nr};
        ward_flash_t g = f;
        g.sector_size = UINT32_MAX;
        for (uint32_t i = 0; i < nr; i++) {
            g.sector_size = reg[i].size < g.sector_size ? reg[i].size : g.sector_size;
        }
        const ward_boot_layout_t l = {.primary = {&g, o[0], z[0]}, .secondary = {&g, o[1], z[1]},
                                      .scratch = {&g, o[2], z[2]}, .state = {&g, o[3], z[3]}};
        ward_boot_layout_rule_t rule = WARD_BOOT_RULE_OK;
        if (ward_flash_check(&g) != WARD_OK ||
            ward_boot_layout_check(&l, &rule) != WARD_OK) {
            fail_msg("board %u accepted, the core refuses it (rule %d):\n%s", (unsigned)it,
                     (int)rule, text);
        }
        assert_int_equal(ward_board_image_max(&b), ward_boot_image_max(&l));
    }
    printf("board reader vs boot core: %u of 20000 random boards accepted, all by the core\n",
           (unsigned)accepted);
    assert_true(accepted > 200u);
}

static void test_builtin_and_path(void **state)
{
    (void)state;
    ward_board_t b;
    char why[256];
    /* Every board of the tree is built in and valid. */
    assert_true(ward_board_builtin_count() >= 3u);
    for (size_t i = 0; i < ward_board_builtin_count(); i++) {
        assert_int_equal(ward_board_load(&b, ward_board_builtin_name(i), why, sizeof why), WARD_OK);
    }
    assert_int_equal(ward_board_load(&b, "netduinoplus2", why, sizeof why), WARD_OK);
    assert_int_equal(b.irqs, 82);
    /* The part's own flash and mixed sectors, emulated in SRAM: an image
     * runs from the primary's RAM, 23 KiB of its first 128 KiB sector. */
    assert_int_equal(b.dev_addr, 0x08000000);
    assert_int_equal(ward_board_uniform_sector(&b), 0);
    assert_true(b.has_emu);
    assert_int_equal(ward_board_primary_addr(&b), 0x20010000);
    assert_int_equal(ward_board_area_addr(&b, b.secondary_off), 0x2001C000);
    assert_int_equal(ward_board_area_addr(&b, b.state_off), 0x20008000);
    assert_int_equal(ward_board_image_max(&b), 0x5C00);
    assert_int_equal(ward_board_load(&b, "no-such-board", why, sizeof why), WARD_ERR_NOT_FOUND);
    assert_non_null(strstr(why, "mps2-an386"));
    assert_int_equal(ward_board_load(&b, "/nonexistent/x.board", why, sizeof why), WARD_ERR_IO);
    /* By path: the name is the file's base name. */
    char path[] = "/tmp/ward-test-board-XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(k_base, f);
    fclose(f);
    assert_int_equal(ward_board_load(&b, path, why, sizeof why), WARD_OK);
    assert_string_equal(b.name, strrchr(path, '/') + 1);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_format_errors),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_mixed_device),
        cmocka_unit_test(test_builtin_and_path),
        cmocka_unit_test(test_journal_sectors),
        cmocka_unit_test(test_primary_vtor_aligned),
        cmocka_unit_test(test_vault_area),
        cmocka_unit_test(test_boot_code_apart),
        cmocka_unit_test(test_emu_image_max),
        cmocka_unit_test(test_agrees_with_boot_core),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
