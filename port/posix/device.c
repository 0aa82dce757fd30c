/*
 * ward simulator: a whole device in a directory.
 *   device.conf  geometry (text). Format 1, uniform sectors: the layout
 *                follows from it: primary | secondary | scratch (1 sector)
 *                | state (2) | vault. Format 2, mixed sectors: the sector
 *                map and where each area lies (ward device create --board)
 *   flash.bin    raw flash contents (flash.bin.wear: erase counts)
 *   otp.bin      OTP fields and locks
 *   hsm.bin      the HSM's secrets and counters
 *   bootkey.der  the boot public key built into the bootloader (optional)
 *   otakey.der   the OTA public key in read-only flash (optional); its
 *                class is device.conf's device_class line
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim_priv.h"

void ward_sim_geometry_default(ward_sim_geometry_t *g)
{
    memset(g, 0, sizeof *g);
    g->sector_size = 4096;
    g->write_size = 8;
    g->slot_sectors = 32;
    g->vault_sectors = 4;
    g->program_once = true;
}

static bool ws_ok(uint32_t ws)
{
    return ws >= 1u && ws <= 32u && (ws & (ws - 1u)) == 0u;
}

/* A mixed geometry's sector map: runs of power-of-two sectors of 256
 * bytes or more, under 2 GiB in all. The spans are checked against it when
 * the flash is open (layout_ok). */
static bool map_ok(const ward_sim_geometry_t *g)
{
    uint64_t size = 0;
    if (g->nregions > WARD_SIM_REGIONS_MAX) {
        return false;
    }
    for (uint32_t i = 0; i < g->nregions; i++) {
        const uint32_t sz = g->regions[i].size;
        if (g->regions[i].count == 0u || sz < 256u || (sz & (sz - 1u)) != 0u || sz < g->write_size) {
            return false;
        }
        size += (uint64_t)g->regions[i].count * sz;
    }
    return size <= 0x80000000u;
}

static bool geo_ok(const ward_sim_geometry_t *g)
{
    if (g->nregions > 0u) {
        return ws_ok(g->write_size) && map_ok(g);
    }
    return g->sector_size >= 256u && (g->sector_size & (g->sector_size - 1u)) == 0u &&
           ws_ok(g->write_size) && g->slot_sectors >= 2u && g->slot_sectors <= 4096u &&
           g->vault_sectors <= 1024u;
}

static uint32_t flash_size(const ward_sim_geometry_t *g)
{
    return (2u * g->slot_sectors + 1u + 2u + g->vault_sectors) * g->sector_size;
}

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void make_layout(ward_sim_device_t *d)
{
    const ward_sim_geometry_t *g = &d->geo;
    const ward_flash_t *f = &d->flash.port;
    if (g->nregions > 0u) {
        d->layout.primary = (ward_area_t){f, g->primary.off, g->primary.size};
        d->layout.secondary = (ward_area_t){f, g->secondary.off, g->secondary.size};
        d->layout.scratch = (ward_area_t){f, g->scratch.off, g->scratch.size};
        d->layout.state = (ward_area_t){f, g->state.off, g->state.size};
        d->vault = (ward_area_t){f, g->vault.off, g->vault.size};
        return;
    }
    uint32_t ss = g->sector_size, off = 0;
    d->layout.primary = (ward_area_t){f, off, g->slot_sectors * ss};
    off += g->slot_sectors * ss;
    d->layout.secondary = (ward_area_t){f, off, g->slot_sectors * ss};
    off += g->slot_sectors * ss;
    d->layout.scratch = (ward_area_t){f, off, ss};
    off += ss;
    d->layout.state = (ward_area_t){f, off, 2u * ss};
    off += 2u * ss;
    d->vault = (ward_area_t){f, off, g->vault_sectors * ss};
}

/* A mixed geometry's areas: whole sectors of the map, apart from each
 * other (the boot core checks the rest: ward_boot_layout_check). The
 * uniform fields then say what the map gives: the smallest sector, the
 * sectors of a slot and of the vault. */
static ward_err_t layout_ok(ward_sim_device_t *d)
{
    ward_sim_geometry_t *g = &d->geo;
    if (g->nregions == 0u) {
        return WARD_OK;
    }
    const ward_area_t *a[5] = {&d->layout.primary, &d->layout.secondary, &d->layout.scratch,
                               &d->layout.state, &d->vault};
    for (uint32_t i = 0; i < 5u; i++) {
        if (i == 4u && a[i]->size == 0u) {
            continue; /* no vault */
        }
        if (ward_area_check(a[i]) != WARD_OK) {
            return WARD_ERR_INVALID_ARG;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (a[i]->off < a[j]->off + a[j]->size && a[j]->off < a[i]->off + a[i]->size) {
                return WARD_ERR_INVALID_ARG;
            }
        }
    }
    g->sector_size = d->flash.port.sector_size;
    g->slot_sectors = ward_area_sectors(&d->layout.primary);
    g->vault_sectors = d->vault.size == 0u ? 0u : ward_area_sectors(&d->vault);
    return WARD_OK;
}

static bool class_ok(const char *c)
{
    size_t n = 0;
    if (c == NULL || c[0] == '\0' || c[0] == '.') {
        return false;
    }
    for (; c[n] != '\0'; n++) {
        const char ch = c[n];
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok || n >= WARD_SIM_CLASS_MAX) {
            return false;
        }
    }
    return true;
}

static int put_map(char *out, size_t n, const ward_sim_geometry_t *g)
{
    int k = snprintf(out, n, "sector_map=");
    for (uint32_t i = 0; i < g->nregions && k > 0 && (size_t)k < n; i++) {
        k += snprintf(out + k, n - (size_t)k, "%s%ux%u", i > 0u ? "," : "", g->regions[i].count,
                      g->regions[i].size);
    }
    if (k > 0 && (size_t)k < n) {
        k += snprintf(out + k, n - (size_t)k, "\n");
    }
    return k;
}

static ward_err_t write_conf(const char *path, const ward_sim_geometry_t *geo, const char *cls)
{
    char conf[1024];
    int n;
    if (geo->nregions == 0u) {
        n = snprintf(conf, sizeof conf,
                     "# ward simulated device: geometry; the layout follows from it\n"
                     "format=1\nsector_size=%u\nwrite_size=%u\nslot_sectors=%u\n"
                     "vault_sectors=%u\nprogram_once=%u\n",
                     geo->sector_size, geo->write_size, geo->slot_sectors, geo->vault_sectors,
                     geo->program_once ? 1u : 0u);
    } else {
        /* Mixed sectors: the sector map (COUNTxBYTES runs) and every area. */
        n = snprintf(conf, sizeof conf,
                     "# ward simulated device: a sector map and where each area lies\n"
                     "format=2\n");
        n += put_map(conf + n, sizeof conf - (size_t)n, geo);
        const ward_sim_span_t *sp[5] = {&geo->primary, &geo->secondary, &geo->scratch,
                                        &geo->state, &geo->vault};
        static const char *const names[5] = {"primary", "secondary", "scratch", "state", "vault"};
        n += snprintf(conf + n, sizeof conf - (size_t)n, "write_size=%u\nprogram_once=%u\n",
                      geo->write_size, geo->program_once ? 1u : 0u);
        for (int i = 0; i < 5; i++) {
            n += snprintf(conf + n, sizeof conf - (size_t)n, "%s=0x%x,0x%x\n", names[i],
                          sp[i]->off, sp[i]->size);
        }
    }
    if (cls != NULL && cls[0] != '\0') {
        n += snprintf(conf + n, sizeof conf - (size_t)n,
                      "# the class of updates the OTA agent accepts\ndevice_class=%s\n", cls);
    }
    if (n < 0 || (size_t)n >= sizeof conf) {
        return WARD_ERR_INVALID_ARG;
    }
    return ward_sim_file_write(path, conf, (size_t)n);
}

ward_err_t ward_sim_device_create(const char *dir, const ward_sim_geometry_t *geo)
{
    char p[4096];
    if (dir == NULL || geo == NULL || !geo_ok(geo)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (geo->nregions > 0u) {
        /* The areas against the map, before anything is written. */
        ward_sim_device_t t;
        ward_err_t err = ward_sim_device_open_mem(&t, geo);
        if (err != WARD_OK) {
            return err;
        }
        ward_sim_device_close(&t);
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return WARD_ERR_IO;
    }
    path_in(p, sizeof p, dir, "device.conf");
    struct stat st;
    if (stat(p, &st) == 0) {
        return WARD_ERR_EXISTS;
    }
    ward_err_t err = write_conf(p, geo, NULL);
    if (err != WARD_OK) {
        return err;
    }
    ward_sim_device_t d;
    err = ward_sim_device_open(&d, dir);
    if (err == WARD_OK) {
        ward_sim_device_close(&d);
    }
    return err;
}

static ward_err_t read_conf(const char *dir, ward_sim_geometry_t *g,
                            char cls[WARD_SIM_CLASS_MAX + 1])
{
    char p[4096], line[256];
    path_in(p, sizeof p, dir, "device.conf");
    FILE *f = fopen(p, "r");
    if (f == NULL) {
        return errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO;
    }
    unsigned format = 0, v = 0, po = 2, a = 0, b = 0;
    bool bad_map = false;
    memset(g, 0, sizeof *g);
    cls[0] = '\0';
    static const char *const names[5] = {"primary=", "secondary=", "scratch=", "state=", "vault="};
    ward_sim_span_t *sp[5] = {&g->primary, &g->secondary, &g->scratch, &g->state, &g->vault};
    while (fgets(line, sizeof line, f) != NULL) {
        bool span = false;
        for (int i = 0; i < 5; i++) {
            const size_t k = strlen(names[i]);
            if (strncmp(line, names[i], k) == 0) {
                span = true;
                if (sscanf(line + k, "%x,%x", &a, &b) == 2) {
                    sp[i]->off = a;
                    sp[i]->size = b;
                }
            }
        }
        if (span) {
            continue;
        }
        if (strncmp(line, "sector_map=", 11) == 0) {
            /* COUNTxBYTES runs, comma-separated */
            const char *c = line + 11;
            unsigned cnt = 0, sz = 0;
            int used = 0;
            while (sscanf(c, "%ux%u%n", &cnt, &sz, &used) == 2) {
                if (g->nregions >= WARD_SIM_REGIONS_MAX) {
                    bad_map = true;
                    break;
                }
                g->regions[g->nregions++] = (ward_flash_region_t){cnt, sz};
                c += used;
                if (*c != ',') {
                    break;
                }
                c++;
            }
            bad_map = bad_map || g->nregions == 0u;
        } else if (sscanf(line, "format=%u", &v) == 1) {
            format = v;
        } else if (sscanf(line, "sector_size=%u", &v) == 1) {
            g->sector_size = v;
        } else if (sscanf(line, "write_size=%u", &v) == 1) {
            g->write_size = v;
        } else if (sscanf(line, "slot_sectors=%u", &v) == 1) {
            g->slot_sectors = v;
        } else if (sscanf(line, "vault_sectors=%u", &v) == 1) {
            g->vault_sectors = v;
        } else if (sscanf(line, "program_once=%u", &v) == 1) {
            po = v;
        } else if (strncmp(line, "device_class=", 13) == 0) {
            const size_t n = strcspn(line + 13, "\r\n");
            if (n > WARD_SIM_CLASS_MAX) {
                fclose(f);
                return WARD_ERR_CORRUPT;
            }
            memcpy(cls, line + 13, n);
            cls[n] = '\0';
        }
    }
    fclose(f);
    g->program_once = po == 1u;
    /* format 1: uniform sectors; 2: a sector map and the areas. */
    if ((format != 1u && format != 2u) || (format == 2u) != (g->nregions > 0u) || bad_map ||
        po > 1u || !geo_ok(g) || (cls[0] != '\0' && !class_ok(cls))) {
        return WARD_ERR_CORRUPT;
    }
    return WARD_OK;
}

static ward_err_t open_parts(ward_sim_device_t *d, const char *dir)
{
    char p[4096];
    ward_err_t err;
    memset(&d->power, 0, sizeof d->power);
    if (dir != NULL) {
        path_in(p, sizeof p, dir, "flash.bin");
    }
    if (d->geo.nregions > 0u) {
        err = ward_sim_flash_open_map(&d->flash, &d->power, dir != NULL ? p : NULL, true,
                                      d->geo.regions, d->geo.nregions, d->geo.write_size,
                                      d->geo.program_once);
    } else {
        err = ward_sim_flash_open(&d->flash, &d->power, dir != NULL ? p : NULL, true,
                                  flash_size(&d->geo), d->geo.sector_size, d->geo.write_size,
                                  d->geo.program_once);
    }
    if (err != WARD_OK) {
        return err;
    }
    make_layout(d);
    err = layout_ok(d);
    if (err != WARD_OK) {
        return err;
    }
    if (dir != NULL) {
        path_in(p, sizeof p, dir, "otp.bin");
    }
    err = ward_sim_otp_open(&d->otp, &d->power, dir != NULL ? p : NULL, true);
    if (err != WARD_OK) {
        return err;
    }
    if (dir != NULL) {
        path_in(p, sizeof p, dir, "hsm.bin");
    }
    err = ward_sim_hsm_open(&d->hsm, &d->power, dir != NULL ? p : NULL, true);
    if (err != WARD_OK) {
        return err;
    }
    ward_sim_rng_init(&d->rng, NULL, 0);
    ward_sim_clock_init(&d->clock, false);
    if (dir != NULL) {
        path_in(p, sizeof p, dir, "bootkey.der");
        err = ward_sim_file_read(p, d->boot_spki, sizeof d->boot_spki);
        if (err == WARD_OK) {
            d->has_boot_spki = true;
        } else if (err != WARD_ERR_NOT_FOUND) {
            return err;
        }
        path_in(p, sizeof p, dir, "otakey.der");
        err = ward_sim_file_read(p, d->ota_spki, sizeof d->ota_spki);
        if (err == WARD_OK) {
            d->has_ota_spki = true;
        } else if (err != WARD_ERR_NOT_FOUND) {
            return err;
        }
    }
    return WARD_OK;
}

ward_err_t ward_sim_device_open(ward_sim_device_t *d, const char *dir)
{
    memset(d, 0, sizeof *d);
    d->flash.fd = -1;
    if (dir == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = read_conf(dir, &d->geo, d->device_class);
    if (err != WARD_OK) {
        return err;
    }
    d->dir = strdup(dir);
    if (d->dir == NULL) {
        return WARD_ERR_IO;
    }
    err = open_parts(d, dir);
    if (err != WARD_OK) {
        ward_sim_device_close(d);
    }
    return err;
}

ward_err_t ward_sim_device_open_mem(ward_sim_device_t *d, const ward_sim_geometry_t *geo)
{
    memset(d, 0, sizeof *d);
    d->flash.fd = -1;
    if (geo == NULL || !geo_ok(geo)) {
        return WARD_ERR_INVALID_ARG;
    }
    d->geo = *geo;
    ward_err_t err = open_parts(d, NULL);
    if (err != WARD_OK) {
        ward_sim_device_close(d);
    }
    return err;
}

void ward_sim_device_close(ward_sim_device_t *d)
{
    if (d == NULL) {
        return;
    }
    ward_sim_flash_close(&d->flash);
    ward_sim_otp_close(&d->otp);
    ward_sim_hsm_close(&d->hsm);
    free(d->dir);
    d->dir = NULL;
}

ward_err_t ward_sim_device_set_boot_key(ward_sim_device_t *d, const uint8_t spki[91])
{
    char p[4096];
    memcpy(d->boot_spki, spki, sizeof d->boot_spki);
    d->has_boot_spki = true;
    if (d->dir == NULL) {
        return WARD_OK;
    }
    path_in(p, sizeof p, d->dir, "bootkey.der");
    return ward_sim_file_write(p, spki, 91);
}

ward_err_t ward_sim_device_set_ota(ward_sim_device_t *d, const uint8_t spki[91],
                                   const char *device_class)
{
    char p[4096];
    if (d == NULL || spki == NULL || !class_ok(device_class)) {
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(d->ota_spki, spki, sizeof d->ota_spki);
    d->has_ota_spki = true;
    snprintf(d->device_class, sizeof d->device_class, "%s", device_class);
    if (d->dir == NULL) {
        return WARD_OK;
    }
    path_in(p, sizeof p, d->dir, "otakey.der");
    (void)chmod(p, 0600); /* a re-provisioned simulator replaces its own file */
    ward_err_t err = ward_sim_file_write(p, spki, 91);
    if (err == WARD_OK && chmod(p, 0444) != 0) {
        err = WARD_ERR_IO;
    }
    if (err == WARD_OK) {
        path_in(p, sizeof p, d->dir, "device.conf");
        err = write_conf(p, &d->geo, d->device_class);
    }
    return err;
}

void ward_sim_device_boot_config(ward_sim_device_t *d, ward_boot_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->layout = &d->layout;
    cfg->otp = &d->otp.port;
    if (d->has_boot_spki) {
        cfg->spki = d->boot_spki;
        cfg->spki_len = sizeof d->boot_spki;
    }
}

ward_err_t ward_sim_area_write(const ward_area_t *area, const uint8_t *data, size_t len)
{
    uint8_t chunk[256];
    if (area == NULL || area->flash == NULL || (data == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (len > area->size) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    const uint32_t ws = area->flash->write_size;
    /* The sectors that [0, len) touches, whatever their sizes. */
    uint32_t start = 0, ss = 0;
    ward_err_t err = WARD_OK;
    if (len > 0u) {
        err = ward_area_sector_at(area, (uint32_t)len - 1u, &start, &ss);
    }
    if (err == WARD_OK && len > 0u) {
        err = ward_area_erase(area, 0, start + ss);
    }
    /* Whole write units per program call; sizeof chunk is a multiple of 32. */
    for (uint32_t off = 0; err == WARD_OK && off < len; off += sizeof chunk) {
        size_t n = len - off < sizeof chunk ? len - off : sizeof chunk;
        size_t padded = (n + ws - 1u) / ws * ws;
        memset(chunk, 0xFF, sizeof chunk);
        memcpy(chunk, data + off, n);
        err = ward_area_prog(area, off, chunk, padded);
    }
    return err;
}
