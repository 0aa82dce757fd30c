/*
 * ward simulator: a whole device in a directory.
 *   device.conf  geometry (text); the layout follows from it:
 *                primary | secondary | scratch (1 sector) | state (2) | vault
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
    g->sector_size = 4096;
    g->write_size = 8;
    g->slot_sectors = 32;
    g->vault_sectors = 4;
    g->program_once = true;
}

static bool geo_ok(const ward_sim_geometry_t *g)
{
    return g->sector_size >= 256u && (g->sector_size & (g->sector_size - 1u)) == 0u &&
           g->write_size >= 1u && g->write_size <= 32u &&
           (g->write_size & (g->write_size - 1u)) == 0u && g->slot_sectors >= 2u &&
           g->slot_sectors <= 4096u && g->vault_sectors <= 1024u;
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

static ward_err_t write_conf(const char *path, const ward_sim_geometry_t *geo, const char *cls)
{
    char conf[512];
    int n = snprintf(conf, sizeof conf,
                     "# ward simulated device: geometry; the layout follows from it\n"
                     "format=1\nsector_size=%u\nwrite_size=%u\nslot_sectors=%u\n"
                     "vault_sectors=%u\nprogram_once=%u\n",
                     geo->sector_size, geo->write_size, geo->slot_sectors, geo->vault_sectors,
                     geo->program_once ? 1u : 0u);
    if (cls != NULL && cls[0] != '\0') {
        n += snprintf(conf + n, sizeof conf - (size_t)n,
                      "# the class of updates the OTA agent accepts\ndevice_class=%s\n", cls);
    }
    return ward_sim_file_write(path, conf, (size_t)n);
}

ward_err_t ward_sim_device_create(const char *dir, const ward_sim_geometry_t *geo)
{
    char p[4096];
    if (dir == NULL || geo == NULL || !geo_ok(geo)) {
        return WARD_ERR_INVALID_ARG;
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
    unsigned format = 0, v = 0, po = 2;
    memset(g, 0, sizeof *g);
    cls[0] = '\0';
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "format=%u", &v) == 1) {
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
    if (format != 1u || po > 1u || !geo_ok(g) || (cls[0] != '\0' && !class_ok(cls))) {
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
    err = ward_sim_flash_open(&d->flash, &d->power, dir != NULL ? p : NULL, true,
                              flash_size(&d->geo), d->geo.sector_size, d->geo.write_size,
                              d->geo.program_once);
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
    make_layout(d);
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
    const uint32_t ss = area->flash->sector_size;
    const uint32_t ws = area->flash->write_size;
    uint32_t span = ((uint32_t)len + ss - 1u) / ss * ss;
    ward_err_t err = ward_area_erase(area, 0, span);
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
