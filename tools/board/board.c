/*
 * ward_board: read and check the Cortex-M port's board files (ward_board.h).
 * The rules are cmake/board.cmake's, which the build applies to the same
 * files (the board_files test checks that both read every board alike).
 */
#define _POSIX_C_SOURCE 200809L
#include "ward_board.h"
#include "ward/vault.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The boards built into ward (boards_gen.c, generated from
 * the files in port/cortex-m/boards by tools/board/CMakeLists.txt). */
typedef struct {
    const char *name;
    const char *text;
} builtin_board_t;
extern const builtin_board_t ward_board_builtins[];
extern const size_t ward_board_builtin_n;

typedef enum { K_WORD, K_NUM, K_MAP } kind_t;

#define OPT_DEV_ADDR (1u << 0)
#define OPT_DEV_SECTORS (1u << 1)
#define OPT_DEV_WRITE_SIZE (1u << 2)
#define OPT_VAULT_OFF (1u << 3)
#define OPT_VAULT_SIZE (1u << 4)
#define OPT_HSM_ADDR (1u << 5)
#define OPT_EMU_ADDR (1u << 6)
#define OPT_EMU_WINDOW (1u << 7)
#define OPT_EMU_TAIL (1u << 8)

typedef struct {
    const char *key;
    size_t off;
    kind_t kind;
    uint32_t opt; /* 0: required, else its OPT_ bit */
} key_desc_t;

#define F(m) offsetof(ward_board_t, m)
/* In cmake/board.cmake's order (the env file's order): required, optional. */
static const key_desc_t k_keys[] = {
    {"CPU", F(cpu), K_WORD, 0},
    {"FPU", F(fpu), K_WORD, 0},
    {"FLOAT_ABI", F(float_abi), K_WORD, 0},
    {"IRQS", F(irqs), K_NUM, 0},
    {"VTOR_ALIGN", F(vtor_align), K_NUM, 0},
    {"FLASH_ADDR", F(flash_addr), K_NUM, 0},
    {"FLASH_SECTORS", F(flash_sectors), K_MAP, 0},
    {"FLASH_WRITE_SIZE", F(flash_write_size), K_NUM, 0},
    {"PROTECT_END", F(protect_end), K_NUM, 0},
    {"BOOT_ADDR", F(boot_addr), K_NUM, 0},
    {"BOOT_SIZE", F(boot_size), K_NUM, 0},
    {"BOOT_RAM_ADDR", F(boot_ram_addr), K_NUM, 0},
    {"BOOT_RAM_SIZE", F(boot_ram_size), K_NUM, 0},
    {"KEY_ADDR", F(key_addr), K_NUM, 0},
    {"KEY_SIZE", F(key_size), K_NUM, 0},
    {"OTP_ADDR", F(otp_addr), K_NUM, 0},
    {"OTP_SIZE", F(otp_size), K_NUM, 0},
    {"PRIMARY_OFF", F(primary_off), K_NUM, 0},
    {"SECONDARY_OFF", F(secondary_off), K_NUM, 0},
    {"SLOT_SIZE", F(slot_size), K_NUM, 0},
    {"SCRATCH_OFF", F(scratch_off), K_NUM, 0},
    {"SCRATCH_SIZE", F(scratch_size), K_NUM, 0},
    {"STATE_OFF", F(state_off), K_NUM, 0},
    {"STATE_SIZE", F(state_size), K_NUM, 0},
    {"HDR_SIZE", F(hdr_size), K_NUM, 0},
    {"RAM_ADDR", F(ram_addr), K_NUM, 0},
    {"RAM_SIZE", F(ram_size), K_NUM, 0},
    {"APP_RAM_ADDR", F(app_ram_addr), K_NUM, 0},
    {"APP_RAM_SIZE", F(app_ram_size), K_NUM, 0},
    {"CONSOLE", F(console), K_WORD, 0},
    {"TIMER", F(timer), K_WORD, 0},
    {"QEMU_MACHINE", F(qemu_machine), K_WORD, 0},
    {"DEV_ADDR", F(dev_addr), K_NUM, OPT_DEV_ADDR},
    {"DEV_SECTORS", F(dev_sectors), K_MAP, OPT_DEV_SECTORS},
    {"DEV_WRITE_SIZE", F(dev_write_size), K_NUM, OPT_DEV_WRITE_SIZE},
    {"VAULT_OFF", F(vault_off), K_NUM, OPT_VAULT_OFF},
    {"VAULT_SIZE", F(vault_size), K_NUM, OPT_VAULT_SIZE},
    {"HSM_ADDR", F(hsm_addr), K_NUM, OPT_HSM_ADDR},
    {"EMU_ADDR", F(emu_addr), K_NUM, OPT_EMU_ADDR},
    {"EMU_WINDOW", F(emu_window), K_NUM, OPT_EMU_WINDOW},
    {"EMU_TAIL", F(emu_tail), K_NUM, OPT_EMU_TAIL},
};
#undef F
#define KEY_COUNT (sizeof k_keys / sizeof k_keys[0])

__attribute__((format(printf, 3, 4))) static void say(char *why, size_t why_size, const char *fmt, ...)
{
    if (why == NULL || why_size == 0u) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

/* 123, 0x7b, 16K, 1M; at most 32 bits. */
static bool parse_number(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    if (n >= 3u && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (i = 2; i < n; i++) {
            const char c = s[i];
            const int d = isdigit((unsigned char)c)            ? c - '0'
                          : (c >= 'a' && c <= 'f')             ? c - 'a' + 10
                          : (c >= 'A' && c <= 'F')             ? c - 'A' + 10
                                                               : -1;
            if (d < 0 || v > 0xFFFFFFFFu) {
                return false;
            }
            v = v * 16u + (uint64_t)d;
        }
    } else {
        for (; i < n && isdigit((unsigned char)s[i]); i++) {
            v = v * 10u + (uint64_t)(s[i] - '0');
            if (v > 0xFFFFFFFFu) {
                return false;
            }
        }
        if (i == 0u) {
            return false;
        }
        if (i + 1u == n && s[i] == 'K') {
            v *= 1024u;
            i++;
        } else if (i + 1u == n && s[i] == 'M') {
            v *= 1048576u;
            i++;
        }
        if (i != n) {
            return false;
        }
    }
    if (v > 0xFFFFFFFFu) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool is_pow2(uint32_t v)
{
    return v != 0u && (v & (v - 1u)) == 0u;
}

/* "4x16K,1x64K"; *many: more than WARD_BOARD_MAX_SECTORS sectors in all. */
static bool parse_map(const char *s, size_t n, ward_board_map_t *m, bool *many)
{
    uint64_t total = 0;
    m->runs = 0;
    *many = false;
    if (n >= sizeof m->text) {
        return false;
    }
    memcpy(m->text, s, n);
    m->text[n] = '\0';
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != ',') {
            j++;
        }
        const char *x = memchr(s + i, 'x', j - i);
        if (x == NULL || m->runs == WARD_BOARD_MAX_RUNS) {
            return false;
        }
        uint32_t count = 0, size = 0;
        const size_t xl = (size_t)(x - (s + i));
        for (size_t k = 0; k < xl; k++) {
            if (!isdigit((unsigned char)s[i + k]) || count > WARD_BOARD_MAX_SECTORS) {
                *many = isdigit((unsigned char)s[i + k]) != 0;
                return false;
            }
            count = count * 10u + (uint32_t)(s[i + k] - '0');
        }
        total += count;
        if (total > WARD_BOARD_MAX_SECTORS) {
            *many = true;
            return false;
        }
        if (xl == 0u || count == 0u || !parse_number(x + 1, (size_t)(s + j - (x + 1)), &size) ||
            !is_pow2(size)) {
            return false;
        }
        m->run[m->runs].count = count;
        m->run[m->runs].size = size;
        m->runs++;
        i = j + 1u;
        if (j + 1u == n) {
            return false; /* a trailing comma */
        }
    }
    return m->runs > 0u;
}

static uint64_t map_size(const ward_board_map_t *m)
{
    uint64_t t = 0;
    for (uint32_t i = 0; i < m->runs; i++) {
        t += (uint64_t)m->run[i].count * m->run[i].size;
    }
    return t;
}

uint32_t ward_board_dev_size(const ward_board_t *b)
{
    const uint64_t t = map_size(&b->dev_sectors);
    return t > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)t;
}

uint32_t ward_board_sector_at(const ward_board_t *b, uint32_t off)
{
    uint64_t start = 0;
    for (uint32_t i = 0; i < b->dev_sectors.runs; i++) {
        const uint64_t end = start + (uint64_t)b->dev_sectors.run[i].count * b->dev_sectors.run[i].size;
        if (off < end) {
            return b->dev_sectors.run[i].size;
        }
        start = end;
    }
    return 0;
}

uint32_t ward_board_uniform_sector(const ward_board_t *b)
{
    for (uint32_t i = 1; i < b->dev_sectors.runs; i++) {
        if (b->dev_sectors.run[i].size != b->dev_sectors.run[0].size) {
            return 0;
        }
    }
    return b->dev_sectors.runs > 0u ? b->dev_sectors.run[0].size : 0u;
}

/* Is off the start of a sector of the device, or its end? */
static bool on_boundary(const ward_board_t *b, uint64_t off)
{
    uint64_t start = 0;
    for (uint32_t i = 0; i < b->dev_sectors.runs; i++) {
        const uint64_t sz = b->dev_sectors.run[i].size;
        const uint64_t end = start + b->dev_sectors.run[i].count * sz;
        if (off >= start && off <= end) {
            return (off - start) % sz == 0u;
        }
        start = end;
    }
    return false;
}

/* Sectors in [off, off + size): the area starts and ends on boundaries. */
static uint32_t sectors_in(const ward_board_t *b, uint32_t off, uint32_t size)
{
    uint32_t n = 0;
    uint64_t o = off;
    while (o < (uint64_t)off + size) {
        const uint32_t s = ward_board_sector_at(b, (uint32_t)o);
        if (s == 0u) {
            return 0;
        }
        o += s;
        n++;
    }
    return n;
}

uint32_t ward_board_units(const ward_board_t *b, uint32_t *largest, uint32_t *last)
{
    uint64_t p = 0, s = 0, from = 0;
    uint32_t n = 0;
    *largest = 0;
    *last = 0;
    while (p < b->slot_size) {
        /* Walk whichever slot is behind until both meet on a boundary. */
        do {
            const uint64_t at = p <= s ? b->primary_off + p : b->secondary_off + s;
            const uint32_t sz = at <= 0xFFFFFFFFu ? ward_board_sector_at(b, (uint32_t)at) : 0u;
            if (sz == 0u) {
                return 0;
            }
            if (p <= s) {
                p += sz;
            } else {
                s += sz;
            }
        } while (p != s);
        if (p > b->slot_size) {
            return 0;
        }
        *largest = (uint32_t)(p - from) > *largest ? (uint32_t)(p - from) : *largest;
        *last = (uint32_t)from;
        from = p;
        n++;
    }
    return n;
}

/* Is the sector at off part of one of the layout's areas (what an emulation
 * keeps)? */
static bool in_layout(const ward_board_t *b, uint64_t off)
{
    const uint64_t a[5][2] = {{b->primary_off, b->slot_size}, {b->secondary_off, b->slot_size},
                              {b->scratch_off, b->scratch_size}, {b->state_off, b->state_size},
                              {b->vault_off, b->has_vault ? b->vault_size : 0u}};
    for (size_t i = 0; i < 5u; i++) {
        if (off >= a[i][0] && off < a[i][0] + a[i][1]) {
            return true;
        }
    }
    return false;
}

/* RAM an emulation gives a sector of sz bytes. */
static uint32_t emu_keep(const ward_board_t *b, uint32_t sz)
{
    return sz > b->emu_window ? b->emu_window : sz;
}

uint32_t ward_board_area_addr(const ward_board_t *b, uint32_t off)
{
    if (!b->has_emu) {
        return b->dev_addr + off;
    }
    uint64_t at = 0, ram = b->emu_addr;
    while (at < off) {
        const uint32_t sz = ward_board_sector_at(b, (uint32_t)at);
        if (sz == 0u) {
            return 0;
        }
        ram += in_layout(b, at) ? emu_keep(b, sz) : 0u;
        at += sz;
    }
    return at == off && in_layout(b, at) && ram <= 0xFFFFFFFFu ? (uint32_t)ram : 0u;
}

/* Bytes of the emulation's RAM in all. */
static uint64_t emu_size(const ward_board_t *b)
{
    uint64_t at = 0, n = 0;
    const uint64_t dev = map_size(&b->dev_sectors);
    while (at < dev) {
        const uint32_t sz = ward_board_sector_at(b, (uint32_t)at);
        if (sz == 0u) {
            break;
        }
        n += in_layout(b, at) ? emu_keep(b, sz) : 0u;
        at += sz;
    }
    return n;
}

/* With an emulation, the bytes of the area at off that RAM keeps in one
 * run from its start: whole sectors kept, then the first part of the first
 * one that is not. Without one, size. */
static uint32_t emu_span(const ward_board_t *b, uint32_t off, uint32_t size)
{
    if (!b->has_emu) {
        return size;
    }
    uint64_t span = 0, at = off;
    while (at < (uint64_t)off + size) {
        const uint32_t sz = ward_board_sector_at(b, (uint32_t)at);
        if (sz == 0u || sz > b->emu_window) {
            span += sz == 0u ? 0u : b->emu_window - b->emu_tail;
            break;
        }
        span += sz;
        at += sz;
    }
    return (uint32_t)span;
}

uint32_t ward_board_primary_span(const ward_board_t *b)
{
    return emu_span(b, b->primary_off, b->slot_size);
}

uint32_t ward_board_image_max(const ward_board_t *b)
{
    uint32_t largest = 0, last = 0;
    if (b->slot_size == 0u || ward_board_units(b, &largest, &last) < 2u) {
        return 0;
    }
    /* With an emulation, also what the secondary (where an image is
     * staged) and the scratch (which carries it through a swap) keep. */
    const uint32_t span[3] = {ward_board_primary_span(b),
                              emu_span(b, b->secondary_off, b->slot_size),
                              emu_span(b, b->scratch_off, b->scratch_size)};
    for (size_t i = 0; i < 3u && b->has_emu; i++) {
        last = span[i] < last ? span[i] : last;
    }
    return last;
}

uint32_t ward_board_primary_addr(const ward_board_t *b)
{
    return ward_board_area_addr(b, b->primary_off);
}

static const key_desc_t *find_key(const char *k, size_t n)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (strlen(k_keys[i].key) == n && memcmp(k_keys[i].key, k, n) == 0) {
            return &k_keys[i];
        }
    }
    return NULL;
}

typedef struct {
    const char *name;
    uint32_t off, size;
} area_t;

static ward_err_t check(ward_board_t *b, char *why, size_t why_size)
{
    if (strcmp(b->float_abi, "soft") != 0 && strcmp(b->float_abi, "softfp") != 0 &&
        strcmp(b->float_abi, "hard") != 0) {
        say(why, why_size, "FLOAT_ABI is soft, softfp or hard");
        return WARD_ERR_INVALID_ARG;
    }
    if (strcmp(b->fpu, "none") == 0 && strcmp(b->float_abi, "soft") != 0) {
        say(why, why_size, "FLOAT_ABI=%s needs an FPU", b->float_abi);
        return WARD_ERR_INVALID_ARG;
    }
    if (b->irqs > 496u) {
        say(why, why_size, "IRQS is at most 496 (ARMv7-M)");
        return WARD_ERR_INVALID_ARG;
    }
    const uint32_t vt_bytes = (16u + b->irqs) * 4u;
    uint32_t need = 128;
    while (need < vt_bytes) {
        need *= 2u;
    }
    if (!is_pow2(b->vtor_align) || b->vtor_align < need) {
        say(why, why_size,
            "VTOR_ALIGN %lu: a table of 16 + %lu vectors (%lu bytes) needs a power of two >= %lu",
            (unsigned long)b->vtor_align, (unsigned long)b->irqs, (unsigned long)vt_bytes,
            (unsigned long)need);
        return WARD_ERR_INVALID_ARG;
    }
    if (b->hdr_size < 32u || b->hdr_size % b->vtor_align != 0u) {
        say(why, why_size,
            "HDR_SIZE %lu must be >= 32 and a multiple of VTOR_ALIGN %lu: the app's vector table "
            "follows the header",
            (unsigned long)b->hdr_size, (unsigned long)b->vtor_align);
        return WARD_ERR_INVALID_ARG;
    }
    if (strcmp(b->console, "semihosting") != 0) {
        say(why, why_size, "CONSOLE=%s: the port has the semihosting console only", b->console);
        return WARD_ERR_INVALID_ARG;
    }
    if (strcmp(b->timer, "cmsdk") != 0 && strcmp(b->timer, "none") != 0) {
        say(why, why_size, "TIMER is cmsdk or none");
        return WARD_ERR_INVALID_ARG;
    }
    const uint32_t ws[2] = {b->flash_write_size, b->dev_write_size};
    for (unsigned i = 0; i < 2u; i++) {
        if (!is_pow2(ws[i]) || ws[i] > 32u) {
            say(why, why_size, "a write size is 1, 2, 4, 8, 16 or 32 (%lu)", (unsigned long)ws[i]);
            return WARD_ERR_INVALID_ARG;
        }
    }
    const uint64_t dev = map_size(&b->dev_sectors);
    if (dev > 0xFFFFFFFFu || map_size(&b->flash_sectors) > 0xFFFFFFFFu) {
        say(why, why_size, "a sector map exceeds 4 GiB");
        return WARD_ERR_INVALID_ARG;
    }
    area_t areas[6] = {
        {"PRIMARY", b->primary_off, b->slot_size},   {"SECONDARY", b->secondary_off, b->slot_size},
        {"SCRATCH", b->scratch_off, b->scratch_size}, {"STATE", b->state_off, b->state_size},
    };
    size_t n = 4;
    b->has_vault = (b->set & OPT_VAULT_SIZE) != 0u && b->vault_size != 0u;
    if (b->has_vault) {
        if ((b->set & (OPT_VAULT_OFF | OPT_HSM_ADDR)) != (OPT_VAULT_OFF | OPT_HSM_ADDR)) {
            say(why, why_size, "a vault area (VAULT_SIZE) needs VAULT_OFF and HSM_ADDR");
            return WARD_ERR_INVALID_ARG;
        }
        areas[n++] = (area_t){"VAULT", b->vault_off, b->vault_size};
    }
    if (b->protect_end > 0u) {
        areas[n++] = (area_t){"PROTECTED", 0, b->protect_end};
    }
    for (size_t i = 0; i < n; i++) {
        const uint64_t end = (uint64_t)areas[i].off + areas[i].size;
        if (areas[i].size == 0u || end > dev || !on_boundary(b, areas[i].off) ||
            !on_boundary(b, end)) {
            say(why, why_size,
                "the %s area at 0x%lx, 0x%lx bytes, is not whole sectors inside the 0x%llx-byte "
                "flash device",
                areas[i].name, (unsigned long)areas[i].off, (unsigned long)areas[i].size,
                (unsigned long long)dev);
            return WARD_ERR_INVALID_ARG;
        }
        for (size_t j = 0; j < n; j++) {
            const uint64_t jend = (uint64_t)areas[j].off + areas[j].size;
            if (i != j && areas[i].off < jend && areas[j].off < end) {
                say(why, why_size, "the %s and %s areas overlap", areas[i].name, areas[j].name);
                return WARD_ERR_INVALID_ARG;
            }
        }
    }
    /* ward_flash_check: no sector smaller than a write unit. */
    for (uint32_t i = 0; i < b->dev_sectors.runs; i++) {
        if (b->dev_sectors.run[i].size < b->dev_write_size) {
            say(why, why_size, "a %lu-byte sector is smaller than the %lu-byte write size",
                (unsigned long)b->dev_sectors.run[i].size, (unsigned long)b->dev_write_size);
            return WARD_ERR_INVALID_ARG;
        }
    }
    /* The bootloader, its key block and the OTP block, where they lie on
     * the device, are apart from the areas the bootloader erases. */
    const struct {
        const char *name;
        uint64_t addr, size;
    } code[3] = {{"bootloader (BOOT_ADDR, BOOT_SIZE)", b->boot_addr, b->boot_size},
                 {"key block (KEY_ADDR, KEY_SIZE)", b->key_addr, b->key_size},
                 {"OTP block (OTP_ADDR, OTP_SIZE)", b->otp_addr, b->otp_size}};
    for (size_t c = 0; c < 3u; c++) {
        if (code[c].addr < b->dev_addr || code[c].addr >= (uint64_t)b->dev_addr + dev) {
            continue; /* not on the device */
        }
        const uint64_t off = code[c].addr - b->dev_addr, cend = off + code[c].size;
        for (size_t i = 0; i < n; i++) {
            const uint64_t end = (uint64_t)areas[i].off + areas[i].size;
            if (strcmp(areas[i].name, "PROTECTED") != 0 && off < end && areas[i].off < cend) {
                say(why, why_size,
                    "the %s area overlaps the %s at device offset 0x%llx: the bootloader "
                    "would erase it",
                    areas[i].name, code[c].name, (unsigned long long)off);
                return WARD_ERR_INVALID_ARG;
            }
        }
    }
    uint32_t largest = 0, last = 0;
    const uint32_t units = ward_board_units(b, &largest, &last);
    if (units < 2u || sectors_in(b, b->state_off, b->state_size) < 2u) {
        say(why, why_size,
            "the slots need at least 2 swap units (where both have a sector boundary; %lu "
            "here) and the boot state at least 2 sectors",
            (unsigned long)units);
        return WARD_ERR_INVALID_ARG;
    }
    if (largest > b->scratch_size) {
        say(why, why_size,
            "a swap unit of %lu bytes does not fit the %lu-byte scratch (docs/boot.md, \"Layout\")",
            (unsigned long)largest, (unsigned long)b->scratch_size);
        return WARD_ERR_INVALID_ARG;
    }
    /* The bootloader's other layout rules (ward_boot_layout_check): the
     * journal in the state area's first two sectors, each with room for 16
     * to 65,535 records of max(16, write size) bytes (WARD_BOOT_RULE_STATE);
     * the install request in the secondary's last sector
     * (WARD_BOOT_RULE_TRAILER). */
    const uint32_t rec = b->dev_write_size > 16u ? b->dev_write_size : 16u;
    const uint32_t j0 = ward_board_sector_at(b, b->state_off);
    const uint32_t j1 = ward_board_sector_at(b, b->state_off + j0);
    if (j0 / rec < 16u || j1 / rec < 16u || j0 / rec > 0xFFFFu || j1 / rec > 0xFFFFu) {
        say(why, why_size,
            "the boot journal's two sectors (the STATE area's first two, %lu and %lu bytes) hold "
            "%lu and %lu records of %lu bytes; each must hold 16 to 65535 (docs/boot.md, "
            "\"Layout\"; the bootloader would refuse the layout: ward explain -43)",
            (unsigned long)j0, (unsigned long)j1, (unsigned long)(j0 / rec),
            (unsigned long)(j1 / rec), (unsigned long)rec);
        return WARD_ERR_INVALID_ARG;
    }
    const uint32_t ma = b->dev_write_size > 8u ? b->dev_write_size : 8u;
    const uint32_t tail = ward_board_sector_at(b, b->secondary_off + b->slot_size - 1u);
    if (tail < ((16u + ma - 1u) / ma) * ma + ma) {
        say(why, why_size,
            "the secondary's last sector (%lu bytes) cannot hold the install request (the "
            "bootloader would refuse the layout: ward explain -43)",
            (unsigned long)tail);
        return WARD_ERR_INVALID_ARG;
    }
    /* The vault's sectors: 2 to WARD_CONFIG_VAULT_MAX_SECTORS (ward_vault_format). */
    const uint32_t vs = b->has_vault ? sectors_in(b, b->vault_off, b->vault_size) : 2u;
    if (vs < 2u || vs > WARD_CONFIG_VAULT_MAX_SECTORS) {
        say(why, why_size,
            "the VAULT area is %lu sector%s; the vault takes 2 to %u (the device would refuse "
            "to format it)",
            (unsigned long)vs, vs == 1u ? "" : "s", (unsigned)WARD_CONFIG_VAULT_MAX_SECTORS);
        return WARD_ERR_INVALID_ARG;
    }
    const uint32_t emu_keys = b->set & (OPT_EMU_ADDR | OPT_EMU_WINDOW | OPT_EMU_TAIL);
    b->has_emu = emu_keys != 0u;
    if (b->has_emu) {
        if (emu_keys != (OPT_EMU_ADDR | OPT_EMU_WINDOW | OPT_EMU_TAIL)) {
            say(why, why_size, "EMU_ADDR, EMU_WINDOW and EMU_TAIL go together");
            return WARD_ERR_INVALID_ARG;
        }
        if (b->emu_tail < 64u || b->emu_window <= b->emu_tail ||
            b->emu_tail % b->dev_write_size != 0u || b->emu_window % b->dev_write_size != 0u) {
            say(why, why_size,
                "EMU_TAIL is at least 64 bytes (the install request), EMU_WINDOW larger, both "
                "multiples of the write size");
            return WARD_ERR_INVALID_ARG;
        }
        /* The vault writes the whole of its sectors: RAM keeps them whole. */
        for (uint64_t at = b->vault_off; b->has_vault && at < (uint64_t)b->vault_off + b->vault_size;
             at += ward_board_sector_at(b, (uint32_t)at)) {
            if (ward_board_sector_at(b, (uint32_t)at) > b->emu_window) {
                say(why, why_size,
                    "the VAULT area's %lu-byte sector at 0x%lx is larger than EMU_WINDOW %lu: "
                    "the emulation keeps only its first and last bytes, and the vault writes "
                    "all of it",
                    (unsigned long)ward_board_sector_at(b, (uint32_t)at), (unsigned long)at,
                    (unsigned long)b->emu_window);
                return WARD_ERR_INVALID_ARG;
            }
        }
        const uint64_t end = b->emu_addr + emu_size(b);
        const struct {
            const char *name;
            uint64_t addr, size;
        } ram[3] = {{"BOOT_RAM", b->boot_ram_addr, b->boot_ram_size},
                    {"APP_RAM", b->app_ram_addr, b->app_ram_size},
                    {"OTP", b->otp_addr, b->otp_size}};
        for (size_t i = 0; i < 3u; i++) {
            if (ram[i].addr < end && b->emu_addr < ram[i].addr + ram[i].size) {
                say(why, why_size, "the emulated device (EMU_ADDR, %llu bytes) overlaps %s",
                    (unsigned long long)(end - b->emu_addr), ram[i].name);
                return WARD_ERR_INVALID_ARG;
            }
        }
    }
    /* The bootloader jumps to primary + HDR_SIZE only if VTOR can point
     * there (entry_sane): the primary's address (in RAM with an emulation)
     * is on VTOR_ALIGN too. */
    const uint32_t vt = ward_board_primary_addr(b) + b->hdr_size;
    if (vt % b->vtor_align != 0u) {
        say(why, why_size,
            "the app's vector table would be at 0x%lx (the primary slot's address 0x%lx + "
            "HDR_SIZE), not a multiple of VTOR_ALIGN %lu: the bootloader would refuse every "
            "image (\"bad vector table\"); put the primary slot%s on a %lu-byte boundary",
            (unsigned long)vt, (unsigned long)ward_board_primary_addr(b),
            (unsigned long)b->vtor_align, b->has_emu ? " (EMU_ADDR)" : "",
            (unsigned long)b->vtor_align);
        return WARD_ERR_INVALID_ARG;
    }
    if ((uint64_t)b->hdr_size + vt_bytes > ward_board_image_max(b)) {
        say(why, why_size, "HDR_SIZE leaves no room for an app in a slot");
        return WARD_ERR_INVALID_ARG;
    }
    return WARD_OK;
}

ward_err_t ward_board_parse(ward_board_t *b, const char *name, const char *text, size_t len,
                            char *why, size_t why_size)
{
    uint64_t seen = 0;
    say(why, why_size, "%s", "");
    if (b == NULL || name == NULL || (text == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(b, 0, sizeof *b);
    if (strlen(name) > WARD_BOARD_WORD_MAX) {
        say(why, why_size, "the board's name is longer than %u bytes", WARD_BOARD_WORD_MAX);
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(b->name, name, strlen(name) + 1u);
    size_t i = 0;
    unsigned line_no = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && text[e] != '\n') {
            e++;
        }
        line_no++;
        size_t s = i;
        size_t t = e;
        i = e + 1u;
        while (s < t && isspace((unsigned char)text[s])) {
            s++;
        }
        while (t > s && isspace((unsigned char)text[t - 1u])) {
            t--;
        }
        if (s == t || text[s] == '#') {
            continue;
        }
        const char *eq = memchr(text + s, '=', t - s);
        const size_t kl = eq != NULL ? (size_t)(eq - (text + s)) : 0u;
        const key_desc_t *k = eq != NULL ? find_key(text + s, kl) : NULL;
        const char *v = eq != NULL ? eq + 1 : NULL;
        const size_t vl = eq != NULL ? (size_t)(text + t - v) : 0u;
        bool word = vl > 0u;
        for (size_t c = 0; c < vl; c++) {
            word = word && !isspace((unsigned char)v[c]) && v[c] != '#';
        }
        if (eq == NULL || kl == 0u || !word) {
            say(why, why_size, "line %u is not KEY=VALUE (one word, no spaces)", line_no);
            return WARD_ERR_CORRUPT;
        }
        if (k == NULL) {
            say(why, why_size, "line %u: unknown key %.*s", line_no, (int)kl, text + s);
            return WARD_ERR_CORRUPT;
        }
        const uint64_t bit = 1ull << (size_t)(k - k_keys);
        if ((seen & bit) != 0u) {
            say(why, why_size, "%s given twice", k->key);
            return WARD_ERR_CORRUPT;
        }
        seen |= bit;
        b->set |= k->opt;
        void *field = (uint8_t *)b + k->off;
        bool ok = true;
        if (k->kind == K_WORD) {
            ok = vl <= WARD_BOARD_WORD_MAX;
            if (ok) {
                (void)snprintf((char *)field, WARD_BOARD_WORD_MAX + 1u, "%.*s", (int)vl, v);
            }
        } else if (k->kind == K_NUM) {
            ok = parse_number(v, vl, (uint32_t *)field);
        } else {
            bool many = false;
            ok = parse_map(v, vl, (ward_board_map_t *)field, &many);
            if (many) {
                say(why, why_size,
                    "%s: a board file describes at most %u sectors (is a count mistyped?)",
                    k->key, WARD_BOARD_MAX_SECTORS);
                return WARD_ERR_CORRUPT;
            }
        }
        if (!ok) {
            say(why, why_size, "%s=%.*s: %s", k->key, (int)vl, v,
                k->kind == K_WORD  ? "longer than 32 bytes"
                : k->kind == K_NUM ? "not a number (123, 0x7b, 16K, 1M) of 32 bits"
                                   : "not COUNTxSIZE runs of power-of-two sectors (4x16K,1x64K)");
            return WARD_ERR_CORRUPT;
        }
    }
    for (size_t k = 0; k < KEY_COUNT; k++) {
        if (k_keys[k].opt == 0u && (seen & (1ull << k)) == 0u) {
            say(why, why_size, "%s is required (docs/porting.md, \"The board file\")",
                k_keys[k].key);
            return WARD_ERR_CORRUPT;
        }
    }
    if ((b->set & OPT_DEV_ADDR) == 0u) {
        b->dev_addr = b->flash_addr;
    }
    if ((b->set & OPT_DEV_SECTORS) == 0u) {
        b->dev_sectors = b->flash_sectors;
    }
    if ((b->set & OPT_DEV_WRITE_SIZE) == 0u) {
        b->dev_write_size = b->flash_write_size;
    }
    return check(b, why, why_size);
}

size_t ward_board_builtin_count(void)
{
    return ward_board_builtin_n;
}

const char *ward_board_builtin_name(size_t i)
{
    return i < ward_board_builtin_n ? ward_board_builtins[i].name : NULL;
}

static bool is_path(const char *s)
{
    const size_t n = strlen(s);
    return strchr(s, '/') != NULL || (n > 6u && strcmp(s + n - 6u, ".board") == 0);
}

ward_err_t ward_board_load(ward_board_t *b, const char *name_or_path, char *why, size_t why_size)
{
    if (b == NULL || name_or_path == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (!is_path(name_or_path)) {
        for (size_t i = 0; i < ward_board_builtin_n; i++) {
            if (strcmp(ward_board_builtins[i].name, name_or_path) == 0) {
                return ward_board_parse(b, name_or_path, ward_board_builtins[i].text,
                                        strlen(ward_board_builtins[i].text), why, why_size);
            }
        }
        char known[256] = "";
        for (size_t i = 0; i < ward_board_builtin_n; i++) {
            const size_t k = strlen(known);
            (void)snprintf(known + k, sizeof known - k, "%s%s", i == 0u ? "" : ", ",
                           ward_board_builtins[i].name);
        }
        say(why, why_size, "no board '%s' (ward knows %s; or give a path to a board file)",
            name_or_path, known);
        return WARD_ERR_NOT_FOUND;
    }
    FILE *f = fopen(name_or_path, "rb");
    if (f == NULL) {
        say(why, why_size, "%s: %s", name_or_path, strerror(errno));
        return WARD_ERR_IO;
    }
    static char buf[WARD_BOARD_FILE_MAX + 1];
    const size_t n = fread(buf, 1, sizeof buf, f);
    const bool err = ferror(f) != 0;
    fclose(f);
    if (err || n > WARD_BOARD_FILE_MAX) {
        say(why, why_size, "%s: %s", name_or_path, err ? "read error" : "larger than 16 KiB");
        return WARD_ERR_IO;
    }
    /* The board's name: the file's base name without ".board". */
    const char *base = strrchr(name_or_path, '/');
    base = base != NULL ? base + 1 : name_or_path;
    char name[WARD_BOARD_WORD_MAX + 1];
    size_t bl = strlen(base);
    if (bl > 6u && strcmp(base + bl - 6u, ".board") == 0) {
        bl -= 6u;
    }
    if (bl == 0u || bl > WARD_BOARD_WORD_MAX) {
        say(why, why_size, "%s: the file's name makes no board name", name_or_path);
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(name, base, bl);
    name[bl] = '\0';
    return ward_board_parse(b, name, buf, n, why, why_size);
}

/* ---- env output (cmake/board.cmake's ward_board_write_env) ------------------- */

static bool hex_key(const char *k)
{
    static const char *const k_suffix[] = {"_ADDR", "_SIZE", "_OFF", "_MAX", "_BYTES", "_END",
                                           "_ALIGN"};
    const size_t n = strlen(k);
    for (size_t i = 0; i < sizeof k_suffix / sizeof k_suffix[0]; i++) {
        const size_t s = strlen(k_suffix[i]);
        if (n > s && strcmp(k + n - s, k_suffix[i]) == 0) {
            return true;
        }
    }
    return false;
}

static void print_num(FILE *f, const char *k, uint64_t v)
{
    if (hex_key(k)) {
        fprintf(f, "%s=0x%llx\n", k, (unsigned long long)v);
    } else {
        fprintf(f, "%s=%llu\n", k, (unsigned long long)v);
    }
}

void ward_board_print_env(FILE *f, const ward_board_t *b)
{
    fprintf(f, "NAME=%s\nCPU_FLAGS=-mcpu=%s -mthumb", b->name, b->cpu);
    if (strcmp(b->fpu, "none") != 0) {
        fprintf(f, " -mfpu=%s", b->fpu);
    }
    fprintf(f, " -mfloat-abi=%s\n", b->float_abi);
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const key_desc_t *k = &k_keys[i];
        const bool dev_default = k->opt == OPT_DEV_ADDR || k->opt == OPT_DEV_SECTORS ||
                                 k->opt == OPT_DEV_WRITE_SIZE;
        if (k->opt != 0u && !dev_default && (b->set & k->opt) == 0u) {
            continue;
        }
        const void *field = (const uint8_t *)b + k->off;
        if (k->kind == K_WORD) {
            fprintf(f, "%s=%s\n", k->key, (const char *)field);
        } else if (k->kind == K_NUM) {
            print_num(f, k->key, *(const uint32_t *)field);
        } else {
            fprintf(f, "%s=%s\n", k->key, ((const ward_board_map_t *)field)->text);
        }
    }
    fprintf(f, "CPU_TAG=%s", b->cpu);
    if (strcmp(b->fpu, "none") != 0) {
        fprintf(f, "-%s", b->fpu);
    }
    if (strcmp(b->float_abi, "soft") != 0) {
        fprintf(f, "-%s", b->float_abi);
    }
    fprintf(f, "\n");
    print_num(f, "DEV_SIZE", ward_board_dev_size(b));
    if (ward_board_uniform_sector(b) != 0u) {
        print_num(f, "SECTOR_SIZE", ward_board_uniform_sector(b));
    }
    print_num(f, "IMAGE_MAX", ward_board_image_max(b));
    print_num(f, "VT_BYTES", (16u + b->irqs) * 4u);
    print_num(f, "PRIMARY_ADDR", ward_board_area_addr(b, b->primary_off));
    print_num(f, "SECONDARY_ADDR", ward_board_area_addr(b, b->secondary_off));
    print_num(f, "SCRATCH_ADDR", ward_board_area_addr(b, b->scratch_off));
    print_num(f, "STATE_ADDR", ward_board_area_addr(b, b->state_off));
    if ((b->set & OPT_VAULT_OFF) != 0u) {
        /* As the build: the vault's RAM only when it is emulated. */
        const uint32_t va = ward_board_area_addr(b, b->vault_off);
        print_num(f, "VAULT_ADDR", b->has_emu && va != 0u ? va : b->dev_addr + b->vault_off);
    }
}
