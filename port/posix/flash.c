/* ward simulator: NOR flash in a file (or memory) with power cuts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ward/sim.h"

static bool pow2(uint32_t v)
{
    return v != 0u && (v & (v - 1u)) == 0u;
}

static uint32_t sectors(const ward_sim_flash_t *f)
{
    return f->nsectors;
}

uint32_t ward_sim_flash_sector_index(const ward_sim_flash_t *f, uint32_t off)
{
    const ward_flash_t *p = &f->port;
    if (off >= p->size) {
        return UINT32_MAX;
    }
    if (p->regions == NULL) {
        return off / p->sector_size;
    }
    uint32_t base = 0, idx = 0;
    for (uint32_t i = 0; i < p->nregions; i++) {
        const uint32_t span = p->regions[i].count * p->regions[i].size;
        if (off - base < span) {
            return idx + (off - base) / p->regions[i].size;
        }
        base += span;
        idx += p->regions[i].count;
    }
    return UINT32_MAX;
}

static void wear_path(char *out, size_t n, const char *path)
{
    snprintf(out, n, "%s.wear", path);
}

/* "<path>.wear": erase counts, program counts, bytes programmed; one
 * uint32 per sector each (sim.h). */
static void wear_save(const ward_sim_flash_t *f, const char *path)
{
    char wp[4096];
    wear_path(wp, sizeof wp, path);
    FILE *w = fopen(wp, "wb");
    if (w != NULL) {
        (void)fwrite(f->erase_counts, sizeof(uint32_t), sectors(f), w);
        (void)fwrite(f->prog_counts, sizeof(uint32_t), sectors(f), w);
        (void)fwrite(f->prog_bytes, sizeof(uint32_t), sectors(f), w);
        fclose(w);
    }
}

/* A file written before the program counters existed ends after the erase
 * counts: the rest stays zero. */
static void wear_load(ward_sim_flash_t *f, const char *path)
{
    char wp[4096];
    wear_path(wp, sizeof wp, path);
    FILE *w = fopen(wp, "rb");
    if (w != NULL) {
        const size_t n = sectors(f);
        if (fread(f->erase_counts, sizeof(uint32_t), n, w) == n &&
            fread(f->prog_counts, sizeof(uint32_t), n, w) == n) {
            (void)fread(f->prog_bytes, sizeof(uint32_t), n, w);
        }
        fclose(w);
    }
}

/* Per-sector program counters for a program of [off, off + len). */
static void count_prog(ward_sim_flash_t *f, uint32_t off, size_t len)
{
    uint32_t at = off;
    const uint32_t end = off + (uint32_t)len;
    while (at < end) {
        uint32_t start = 0, ss = 0;
        (void)ward_flash_sector_at(&f->port, at, &start, &ss); /* at < size: sim_prog checked */
        const uint32_t s = ward_sim_flash_sector_index(f, at);
        const uint32_t stop = start + ss < end ? start + ss : end;
        f->prog_counts[s]++;
        f->prog_bytes[s] += stop - at;
        at = stop;
    }
}

static ward_err_t sim_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    ward_sim_flash_t *f = ctx;
    if (f->power != NULL && f->power->dead) {
        return WARD_ERR_POWER_LOSS;
    }
    if (off > f->port.size || len > f->port.size - off) {
        f->stats.violations++;
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(buf, f->mem + off, len);
    f->stats.reads++;
    f->stats.bytes_read += len;
    return WARD_OK;
}

static bool unit_programmed(const ward_sim_flash_t *f, uint32_t unit)
{
    return (f->programmed[unit / 8u] >> (unit % 8u)) & 1u;
}

static uint8_t noise8(ward_sim_flash_t *f)
{
    uint32_t x = f->noise != 0u ? f->noise : 0x2545F491u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    f->noise = x;
    return (uint8_t)x;
}

static void spend(ward_sim_flash_t *f, uint32_t first_unit, uint32_t units)
{
    for (uint32_t u = first_unit; u < first_unit + units; u++) {
        f->programmed[u / 8u] |= (uint8_t)(1u << (u % 8u));
    }
}

/* A torn program under UNIT_BLANK or UNIT_NOISE (ward_sim_torn_model_t). */
static void torn_units(ward_sim_flash_t *f, uint32_t off, const uint8_t *src, size_t len)
{
    const uint32_t ws = f->port.write_size;
    const uint32_t units = (uint32_t)(len / ws);
    const uint32_t hit = f->torn_model == WARD_SIM_TORN_UNIT_BLANK ? 0u : units / 2u;
    for (size_t i = 0; i < (size_t)hit * ws; i++) {
        f->mem[off + i] &= src[i];
    }
    if (f->torn_model == WARD_SIM_TORN_UNIT_NOISE) {
        for (size_t i = (size_t)hit * ws; i < (size_t)(hit + 1u) * ws; i++) {
            f->mem[off + i] &= (uint8_t)(src[i] | noise8(f));
        }
    }
    if (f->program_once) {
        spend(f, off / ws, hit + 1u);
    }
}

static ward_err_t sim_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    ward_sim_flash_t *f = ctx;
    const uint8_t *src = buf;
    const uint32_t ws = f->port.write_size;

    if (f->power != NULL && f->power->dead) {
        return WARD_ERR_POWER_LOSS;
    }
    if (off > f->port.size || len > f->port.size - off || (off % ws) != 0u || (len % ws) != 0u) {
        f->stats.violations++;
        return WARD_ERR_INVALID_ARG;
    }
    /* NOR: a program can only clear bits; ECC flash: once per write unit. */
    for (size_t i = 0; i < len; i++) {
        if ((src[i] & (uint8_t)~f->mem[off + i]) != 0u) {
            f->stats.violations++;
            return WARD_ERR_IO;
        }
    }
    if (f->program_once) {
        for (uint32_t u = off / ws; u < (uint32_t)((off + len) / ws); u++) {
            if (unit_programmed(f, u)) {
                f->stats.violations++;
                return WARD_ERR_IO;
            }
        }
    }
    ward_sim_gate_t g = ward_sim_power_gate(f->power);
    if (g == WARD_SIM_DEAD || g == WARD_SIM_CUT) {
        return WARD_ERR_POWER_LOSS;
    }
    size_t n = len;
    if (g == WARD_SIM_TORN && f->torn_model != WARD_SIM_TORN_HALF) {
        torn_units(f, off, src, len);
        count_prog(f, off, len);
        f->stats.progs++;
        f->stats.bytes_programmed += len;
        return WARD_ERR_POWER_LOSS;
    }
    if (g == WARD_SIM_TORN) {
        /* The first half of the bytes lands; the byte after gets half of its
         * cleared bits (so even a 1-byte write can tear). */
        n = len / 2u;
        uint8_t clear = (uint8_t)~src[n] & f->mem[off + n];
        uint8_t half = 0, seen = 0;
        for (int b = 0; b < 8; b++) {
            if ((clear >> b) & 1u) {
                if ((seen++ % 2u) == 0u) {
                    half |= (uint8_t)(1u << b);
                }
            }
        }
        f->mem[off + n] &= (uint8_t)~half;
    }
    for (size_t i = 0; i < n; i++) {
        f->mem[off + i] &= src[i];
    }
    if (f->program_once) {
        /* A torn program still spends the units it touched. */
        uint32_t end = g == WARD_SIM_TORN ? off + (uint32_t)n + 1u : off + (uint32_t)len;
        spend(f, off / ws, (end + ws - 1u) / ws - off / ws);
    }
    count_prog(f, off, len);
    f->stats.progs++;
    f->stats.bytes_programmed += len;
    return g == WARD_SIM_TORN ? WARD_ERR_POWER_LOSS : WARD_OK;
}

static ward_err_t sim_erase(void *ctx, uint32_t off)
{
    ward_sim_flash_t *f = ctx;
    uint32_t start = 0, ss = 0;
    if (f->power != NULL && f->power->dead) {
        return WARD_ERR_POWER_LOSS;
    }
    /* Only at the start of a sector of the geometry, whatever its size. */
    if (ward_flash_sector_at(&f->port, off, &start, &ss) != WARD_OK || start != off) {
        f->stats.violations++;
        return WARD_ERR_INVALID_ARG;
    }
    ward_sim_gate_t g = ward_sim_power_gate(f->power);
    if (g == WARD_SIM_DEAD || g == WARD_SIM_CUT) {
        return WARD_ERR_POWER_LOSS;
    }
    /* A torn erase resets only the first half of the sector (HALF, and
     * UNIT_BLANK, which is about programs), or scattered bits (UNIT_NOISE). */
    uint32_t n = g == WARD_SIM_TORN ? ss / 2u : ss;
    if (g == WARD_SIM_TORN && f->torn_model == WARD_SIM_TORN_UNIT_NOISE) {
        for (uint32_t i = 0; i < ss; i++) {
            const uint8_t a = noise8(f);
            f->mem[off + i] |= (uint8_t)(a & noise8(f)); /* about a quarter of the bits */
        }
        n = 0; /* no unit is reliably erased: all stay spent */
    }
    memset(f->mem + off, 0xFF, n);
    const uint32_t ws = f->port.write_size;
    for (uint32_t u = off / ws; u < (off + n) / ws; u++) {
        f->programmed[u / 8u] &= (uint8_t)~(1u << (u % 8u));
    }
    f->erase_counts[ward_sim_flash_sector_index(f, off)]++;
    f->stats.erases++;
    return g == WARD_SIM_TORN ? WARD_ERR_POWER_LOSS : WARD_OK;
}

static ward_err_t flash_open(ward_sim_flash_t *f, ward_sim_power_t *power, const char *path,
                             bool create, uint32_t size, uint32_t nsectors, uint32_t write_size,
                             bool program_once);

ward_err_t ward_sim_flash_open(ward_sim_flash_t *f, ward_sim_power_t *power, const char *path,
                               bool create, uint32_t size, uint32_t sector_size,
                               uint32_t write_size, bool program_once)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (!pow2(sector_size) || !pow2(write_size) || write_size > 32u || write_size > sector_size ||
        size == 0u || (size % sector_size) != 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    f->port = (ward_flash_t){
        .ctx = f, .read = sim_read, .prog = sim_prog, .erase = sim_erase,
        .size = size, .sector_size = sector_size, .write_size = write_size,
    };
    return flash_open(f, power, path, create, size, size / sector_size, write_size, program_once);
}

ward_err_t ward_sim_flash_open_map(ward_sim_flash_t *f, ward_sim_power_t *power, const char *path,
                                   bool create, const ward_flash_region_t *regions,
                                   uint32_t nregions, uint32_t write_size, bool program_once)
{
    uint64_t size = 0, n = 0;
    uint32_t least = UINT32_MAX;
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (regions == NULL || nregions == 0u || nregions > WARD_SIM_REGIONS_MAX ||
        !pow2(write_size) || write_size > 32u) {
        return WARD_ERR_INVALID_ARG;
    }
    for (uint32_t i = 0; i < nregions; i++) {
        /* 256 bytes or more: always more than a write unit (at most 32). */
        if (regions[i].count == 0u || !pow2(regions[i].size) || regions[i].size < 256u) {
            return WARD_ERR_INVALID_ARG;
        }
        size += (uint64_t)regions[i].count * regions[i].size;
        n += regions[i].count;
        least = regions[i].size < least ? regions[i].size : least;
        f->regions[i] = regions[i];
    }
    if (size > 0x80000000u) {
        return WARD_ERR_INVALID_ARG;
    }
    f->port = (ward_flash_t){
        .ctx = f, .read = sim_read, .prog = sim_prog, .erase = sim_erase,
        .size = (uint32_t)size, .sector_size = least, .write_size = write_size,
        .regions = f->regions, .nregions = nregions,
    };
    return flash_open(f, power, path, create, (uint32_t)size, (uint32_t)n, write_size,
                      program_once);
}

static ward_err_t flash_open(ward_sim_flash_t *f, ward_sim_power_t *power, const char *path,
                             bool create, uint32_t size, uint32_t nsectors, uint32_t write_size,
                             bool program_once)
{
    f->power = power;
    f->program_once = program_once;
    f->nsectors = nsectors;
    uint32_t units = size / write_size;
    f->erase_counts = calloc(nsectors, sizeof(uint32_t));
    f->prog_counts = calloc(nsectors, sizeof(uint32_t));
    f->prog_bytes = calloc(nsectors, sizeof(uint32_t));
    f->programmed = calloc((units + 7u) / 8u, 1);
    if (f->erase_counts == NULL || f->prog_counts == NULL || f->prog_bytes == NULL ||
        f->programmed == NULL) {
        ward_sim_flash_close(f);
        return WARD_ERR_IO;
    }
    if (path == NULL) {
        f->mem = malloc(size);
        if (f->mem == NULL) {
            ward_sim_flash_close(f);
            return WARD_ERR_IO;
        }
        memset(f->mem, 0xFF, size);
        return WARD_OK;
    }
    int fd = open(path, O_RDWR | (create ? O_CREAT : 0), 0600);
    if (fd < 0) {
        ward_sim_flash_close(f);
        return errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO;
    }
    f->fd = fd;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ward_sim_flash_close(f);
        return WARD_ERR_IO;
    }
    bool fresh = st.st_size == 0;
    if (fresh) {
        if (!create || ftruncate(fd, size) != 0) {
            ward_sim_flash_close(f);
            return WARD_ERR_IO;
        }
    } else if ((uint64_t)st.st_size != size) {
        ward_sim_flash_close(f);
        return WARD_ERR_INVALID_ARG; /* geometry does not match the file */
    }
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        ward_sim_flash_close(f);
        return WARD_ERR_IO;
    }
    f->mem = m;
    f->map_len = size;
    if (fresh) {
        memset(f->mem, 0xFF, size);
    }
    /* Units already programmed in the file count as programmed. */
    for (uint32_t u = 0; u < units; u++) {
        bool erased = true;
        for (uint32_t i = 0; i < write_size; i++) {
            erased = erased && f->mem[u * write_size + i] == 0xFFu;
        }
        if (!erased) {
            f->programmed[u / 8u] |= (uint8_t)(1u << (u % 8u));
        }
    }
    wear_load(f, path);
    f->path = strdup(path);
    return f->path != NULL ? WARD_OK : WARD_ERR_IO;
}

void ward_sim_flash_close(ward_sim_flash_t *f)
{
    if (f == NULL) {
        return;
    }
    if (f->fd >= 0) {
        if (f->mem != NULL) {
            (void)msync(f->mem, f->map_len, MS_SYNC);
            if (f->path != NULL && f->erase_counts != NULL && f->prog_counts != NULL &&
                f->prog_bytes != NULL) {
                wear_save(f, f->path);
            }
            munmap(f->mem, f->map_len);
        }
        close(f->fd);
    } else {
        free(f->mem);
    }
    free(f->erase_counts);
    free(f->prog_counts);
    free(f->prog_bytes);
    free(f->programmed);
    free(f->path);
    f->path = NULL;
    f->mem = NULL;
    f->erase_counts = NULL;
    f->prog_counts = NULL;
    f->prog_bytes = NULL;
    f->programmed = NULL;
    f->fd = -1;
}

uint8_t *ward_sim_flash_mem(ward_sim_flash_t *f)
{
    return f->mem;
}

ward_err_t ward_sim_flash_load(ward_sim_flash_t *f, const uint8_t *data, size_t len)
{
    if (len != f->port.size) {
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(f->mem, data, len);
    const uint32_t ws = f->port.write_size;
    for (uint32_t u = 0; u < f->port.size / ws; u++) {
        bool erased = true;
        for (uint32_t i = 0; i < ws; i++) {
            erased = erased && f->mem[u * ws + i] == 0xFFu;
        }
        if (erased) {
            f->programmed[u / 8u] &= (uint8_t)~(1u << (u % 8u));
        } else {
            f->programmed[u / 8u] |= (uint8_t)(1u << (u % 8u));
        }
    }
    return WARD_OK;
}
