/*
 * Test fixtures for the boot tests (unit, power-fail, attacks): reproducible
 * keys, images signed by ward_sign, simulated devices, snapshots.
 * Header-only; every function is static inline. Include as
 * "unit/boot/boot_fixture.h".
 */
#ifndef WARD_TESTS_BOOT_FIXTURE_H
#define WARD_TESTS_BOOT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/boot.h"
#include "ward/crypto.h"
#include "ward/sim.h"
#include "ward/util.h"
#include "ward_sign.h"

/* A reproducible P-256 key: scalar = SHA-256("ward boot test key <n>"). */
typedef struct {
    psa_key_id_t id;
    uint8_t spki[WARD_SIGN_SPKI_LEN];
    uint8_t hash[32];
} bf_key_t;

static inline int bf_key(unsigned n, bf_key_t *k)
{
    char label[40];
    uint8_t d[32];
    int len = snprintf(label, sizeof label, "ward boot test key %u", n);
    if (ward_crypto_init() != WARD_OK || ward_sha256(d, label, (size_t)len) != WARD_OK ||
        ward_sign_key_import_raw(d, &k->id) != WARD_OK ||
        ward_sign_key_spki(k->id, k->spki) != WARD_OK ||
        ward_sha256(k->hash, k->spki, sizeof k->spki) != WARD_OK) {
        return -1;
    }
    return 0;
}

typedef struct {
    uint8_t *data;
    size_t len;
    ward_image_version_t ver;
    uint32_t sec_cnt;
} bf_img_t;

#define BF_NO_SEC_CNT UINT32_MAX

/* A signed image (key 0: unsigned) of version maj.min.rev, with a payload
 * of payload_len bytes derived from seed. Returns 0 on success. */
static inline int bf_image_ex(bf_img_t *img, uint8_t maj, uint8_t min, uint16_t rev,
                              uint32_t sec_cnt, size_t payload_len, uint32_t seed,
                              psa_key_id_t key, ward_sign_key_format_t fmt)
{
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    o.version.major = maj;
    o.version.minor = min;
    o.version.revision = rev;
    o.pad_header = true;
    o.key_format = fmt;
    if (sec_cnt != BF_NO_SEC_CNT) {
        o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
        o.sec_cnt = sec_cnt;
    }
    uint8_t *bin = malloc(payload_len);
    if (bin == NULL) {
        return -1;
    }
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < payload_len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bin[i] = (uint8_t)x;
    }
    memset(img, 0, sizeof *img);
    ward_err_t err = ward_sign_image(&o, bin, payload_len, key, &img->data, &img->len);
    free(bin);
    img->ver = o.version;
    img->sec_cnt = sec_cnt == BF_NO_SEC_CNT ? 0u : sec_cnt;
    return err == WARD_OK ? 0 : -1;
}

static inline int bf_image(bf_img_t *img, uint8_t maj, uint32_t sec_cnt, size_t payload_len,
                           uint32_t seed, psa_key_id_t key)
{
    return bf_image_ex(img, maj, 0, 0, sec_cnt, payload_len, seed, key, WARD_SIGN_KEY_HASH);
}

static inline void bf_image_free(bf_img_t *img)
{
    free(img->data);
    img->data = NULL;
}

static inline void bf_geo(ward_sim_geometry_t *g, uint32_t ss, uint32_t ws, uint32_t slot_sectors,
                          bool once)
{
    ward_sim_geometry_default(g);
    g->sector_size = ss;
    g->write_size = ws;
    g->slot_sectors = slot_sectors;
    g->vault_sectors = 1;
    g->program_once = once;
}

/* The STM32F405's flash: 4 x 16 KiB, 1 x 64 KiB, 7 x 128 KiB (sectors 0 to
 * 11), word writes (4 bytes), plain NOR unless once. The layouts:
 *   BF_F4_BOARD  netduinoplus2's board file: the boot state in sectors 1-2
 *                (16 KiB), the vault in 3-4 (16 + 64 KiB), primary 5-6,
 *                secondary 7-8 (2 x 128 KiB), scratch 9 (128 KiB)
 *   BF_F4_WIDE   the same with slots of three 128 KiB sectors (5-7, 8-10)
 *                and the scratch in 11: an image over 128 KiB swaps two units
 *   BF_F4_UNITS  primary over sectors 0-5 (4 x 16, 64, 128 KiB), secondary
 *                6-7 (2 x 128 KiB): the first swap unit is five primary
 *                sectors against one secondary sector; scratch 8, the boot
 *                state in 9-10 (128 KiB journal sectors), no vault */
typedef enum { BF_F4_BOARD = 0, BF_F4_WIDE = 1, BF_F4_UNITS = 2 } bf_f4_t;

static inline void bf_geo_f4(ward_sim_geometry_t *g, bf_f4_t which, uint32_t ws, bool once)
{
    ward_sim_geometry_default(g);
    g->write_size = ws;
    g->program_once = once;
    g->nregions = 3;
    g->regions[0] = (ward_flash_region_t){4, 0x4000};
    g->regions[1] = (ward_flash_region_t){1, 0x10000};
    g->regions[2] = (ward_flash_region_t){7, 0x20000};
    switch (which) {
    case BF_F4_BOARD:
        g->state = (ward_sim_span_t){0x4000, 0x8000};
        g->vault = (ward_sim_span_t){0xC000, 0x14000};
        g->primary = (ward_sim_span_t){0x20000, 0x40000};
        g->secondary = (ward_sim_span_t){0x60000, 0x40000};
        g->scratch = (ward_sim_span_t){0xA0000, 0x20000};
        break;
    case BF_F4_WIDE:
        g->state = (ward_sim_span_t){0x4000, 0x8000};
        g->vault = (ward_sim_span_t){0xC000, 0x14000};
        g->primary = (ward_sim_span_t){0x20000, 0x60000};
        g->secondary = (ward_sim_span_t){0x80000, 0x60000};
        g->scratch = (ward_sim_span_t){0xE0000, 0x20000};
        break;
    default:
        g->primary = (ward_sim_span_t){0x0, 0x40000};
        g->secondary = (ward_sim_span_t){0x40000, 0x40000};
        g->scratch = (ward_sim_span_t){0x80000, 0x20000};
        g->state = (ward_sim_span_t){0xA0000, 0x40000};
        break;
    }
}

/* Burn the key hash (and the secure boot flag); optionally build the key
 * into the bootloader. */
static inline int bf_provision(ward_sim_device_t *d, const bf_key_t *k, bool secure, bool builtin)
{
    const ward_otp_t *otp = &d->otp.port;
    if (k != NULL && otp->burn(otp->ctx, WARD_OTP_BOOT_KEY_HASH, k->hash, 32) != WARD_OK) {
        return -1;
    }
    if (secure && ward_otp_flag_set(otp, WARD_OTP_SECURE_BOOT) != WARD_OK) {
        return -1;
    }
    if (k != NULL && builtin && ward_sim_device_set_boot_key(d, k->spki) != WARD_OK) {
        return -1;
    }
    return 0;
}

/* Factory programming: erase the whole area, program the bytes. */
static inline int bf_write(const ward_area_t *a, const uint8_t *data, size_t len)
{
    const uint32_t ws = a->flash->write_size;
    const size_t n = (len + ws - 1u) / ws * ws;
    uint8_t *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL || ward_area_erase(a, 0, a->size) != WARD_OK) {
        free(buf);
        return -1;
    }
    memset(buf, 0xFF, n);
    memcpy(buf, data, len);
    ward_err_t err = ward_area_prog(a, 0, buf, n);
    free(buf);
    return err == WARD_OK ? 0 : -1;
}

static inline ward_err_t bf_init_ctx(ward_sim_device_t *d, ward_boot_ctx_t *ctx)
{
    ward_boot_config_t cfg;
    ward_sim_device_boot_config(d, &cfg);
    return ward_boot_init(ctx, &cfg);
}

/* One reset: a fresh context, init, go. */
static inline ward_fih_t bf_boot(ward_sim_device_t *d, ward_boot_report_t *rep)
{
    ward_boot_ctx_t ctx;
    ward_err_t err = bf_init_ctx(d, &ctx);
    if (err != WARD_OK) {
        memset(rep, 0, sizeof *rep);
        rep->reason = err;
        return WARD_FIH_FAILURE;
    }
    return ward_boot_go(&ctx, rep);
}

/* What the running app does. */
static inline ward_err_t bf_confirm(ward_sim_device_t *d)
{
    ward_boot_ctx_t ctx;
    ward_err_t err = bf_init_ctx(d, &ctx);
    return err == WARD_OK ? ward_boot_confirm(&ctx) : err;
}

/* Write an image into the secondary and request its install. */
static inline ward_err_t bf_stage(ward_sim_device_t *d, const bf_img_t *img, bool permanent)
{
    ward_boot_ctx_t ctx;
    if (bf_write(&d->layout.secondary, img->data, img->len) != 0) {
        return WARD_ERR_IO;
    }
    ward_err_t err = bf_init_ctx(d, &ctx);
    return err == WARD_OK ? ward_boot_request_install(&ctx, permanent) : err;
}

static inline int bf_state(ward_sim_device_t *d, ward_boot_state_t *st)
{
    ward_boot_ctx_t ctx;
    memset(st, 0, sizeof *st);
    if (bf_init_ctx(d, &ctx) != WARD_OK) {
        return -1;
    }
    *st = ctx.st;
    return 0;
}

/* Does the area start with exactly these bytes? */
static inline bool bf_holds(ward_sim_device_t *d, const ward_area_t *a, const bf_img_t *img)
{
    return memcmp(ward_sim_flash_mem(&d->flash) + a->off, img->data, img->len) == 0;
}

static inline uint32_t bf_counter(ward_sim_device_t *d)
{
    uint32_t v = UINT32_MAX;
    (void)ward_otp_rollback_get(&d->otp.port, &v);
    return v;
}

/* Flash and OTP contents, to replay a case from the same starting point.
 * The flash's program-once bitmap is kept too: a unit a torn program spent
 * may read erased (WARD_SIM_TORN_UNIT_BLANK), so it cannot be rebuilt from
 * the contents. */
typedef struct {
    uint8_t *flash;
    size_t flash_len;
    uint8_t *programmed; /* one bit per write unit, as ward_sim_flash_t */
    size_t programmed_len;
    uint8_t otp[sizeof(((ward_sim_otp_t *)0)->data)];
    bool locked[WARD_OTP_FIELD_COUNT];
} bf_snap_t;

static inline size_t bf_programmed_len(const ward_sim_device_t *d)
{
    return (d->flash.port.size / d->flash.port.write_size + 7u) / 8u;
}

static inline int bf_snap_save(ward_sim_device_t *d, bf_snap_t *s)
{
    s->flash_len = d->flash.port.size;
    s->programmed_len = bf_programmed_len(d);
    s->flash = malloc(s->flash_len);
    s->programmed = malloc(s->programmed_len);
    if (s->flash == NULL || s->programmed == NULL) {
        free(s->flash);
        free(s->programmed);
        s->flash = NULL;
        s->programmed = NULL;
        return -1;
    }
    memcpy(s->flash, ward_sim_flash_mem(&d->flash), s->flash_len);
    memcpy(s->programmed, d->flash.programmed, s->programmed_len);
    memcpy(s->otp, d->otp.data, sizeof s->otp);
    memcpy(s->locked, d->otp.locked, sizeof s->locked);
    return 0;
}

/* Back to the snapshot exactly: contents, program-once bitmap, OTP. */
static inline int bf_snap_load(ward_sim_device_t *d, const bf_snap_t *s)
{
    ward_sim_power_on(&d->power);
    memcpy(d->otp.data, s->otp, sizeof s->otp);
    memcpy(d->otp.locked, s->locked, sizeof s->locked);
    if (s->flash_len != d->flash.port.size || s->programmed_len != bf_programmed_len(d)) {
        return -1;
    }
    memcpy(ward_sim_flash_mem(&d->flash), s->flash, s->flash_len);
    memcpy(d->flash.programmed, s->programmed, s->programmed_len);
    return 0;
}

static inline void bf_snap_free(bf_snap_t *s)
{
    free(s->flash);
    free(s->programmed);
    s->flash = NULL;
    s->programmed = NULL;
}

#endif /* WARD_TESTS_BOOT_FIXTURE_H */
