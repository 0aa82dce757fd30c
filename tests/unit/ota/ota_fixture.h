/*
 * Test fixtures for the OTA tests (unit, attacks, power-fail): keys, an
 * update repository in memory (built with tools/repo), an in-memory
 * ward_fetch_t that can misbehave (cut the connection, alter a byte,
 * append bytes, end early, lie about the size), a flash spy that checks
 * every program of the staging slot against the genuine image, and a
 * simulated device with boot keys, OTA key, vault and v1 running.
 * Header-only; include as "unit/ota/ota_fixture.h".
 */
#ifndef WARD_TESTS_OTA_FIXTURE_H
#define WARD_TESTS_OTA_FIXTURE_H

#include "unit/boot/boot_fixture.h"
#include "ward/ota.h"
#include "ward/vault.h"
#include "ward_repo.h"

#define OF_CLASS "plug-v1"
#define OF_T0 1800000000ull /* device time at the start of every test */

/* ---- keys ------------------------------------------------------------------------ */

typedef struct {
    bf_key_t boot, ota, other;
    ward_repo_signer_t ota_signer, boot_signer, other_signer;
} of_keys_t;

static inline void of_keys(of_keys_t *k)
{
    assert_int_equal(bf_key(1, &k->boot), 0);
    assert_int_equal(bf_key(2, &k->ota), 0);
    assert_int_equal(bf_key(3, &k->other), 0);
    assert_int_equal(ward_repo_signer_psa(&k->ota_signer, k->ota.id), WARD_OK);
    assert_int_equal(ward_repo_signer_psa(&k->boot_signer, k->boot.id), WARD_OK);
    assert_int_equal(ward_repo_signer_psa(&k->other_signer, k->other.id), WARD_OK);
}

/* ---- an update in memory ----------------------------------------------------------- */

typedef struct {
    ward_ota_manifest_t m;
    uint8_t cose[WARD_CONFIG_OTA_MANIFEST_MAX];
    size_t cose_len;
    uint8_t *wire;
    size_t wire_len;
    const uint8_t *image; /* the genuine image (not owned) */
    size_t image_len;
    char cose_path[64];
    char wire_path[200];
} of_update_t;

/* Describe img, chain it, sign the manifest (seq, issued, validity). */
static inline void of_update_ex(of_update_t *u, const bf_img_t *img, const ward_repo_signer_t *s,
                                const char *cls, uint64_t seq, uint64_t issued, uint64_t valid,
                                uint32_t block)
{
    memset(u, 0, sizeof *u);
    assert_int_equal(ward_repo_image_describe(&u->m, img->data, img->len, NULL), WARD_OK);
    u->m.format = WARD_OTA_MANIFEST_FORMAT;
    snprintf(u->m.device_class, sizeof u->m.device_class, "%s", cls);
    snprintf(u->m.uri, sizeof u->m.uri, "v%u-seq%llu.chain", img->ver.major,
             (unsigned long long)seq);
    u->m.issued_at = issued;
    u->m.expires = issued + valid;
    u->m.sequence = seq;
    u->m.block_size = block;
    assert_int_equal(ward_repo_chain_build(img->data, u->m.image_size, block, &u->wire,
                                           &u->wire_len, u->m.chain_head),
                     WARD_OK);
    assert_int_equal(ward_repo_manifest_build(s, &u->m, u->cose, sizeof u->cose, &u->cose_len),
                     WARD_OK);
    u->image = img->data;
    u->image_len = u->m.image_size;
    snprintf(u->cose_path, sizeof u->cose_path, "%s/manifest.cose", cls);
    snprintf(u->wire_path, sizeof u->wire_path, "%s/%s", cls, u->m.uri);
}

static inline void of_update(of_update_t *u, const bf_img_t *img, const ward_repo_signer_t *s,
                             uint64_t seq, uint32_t block)
{
    of_update_ex(u, img, s, OF_CLASS, seq, OF_T0 - 3600u, 30u * 86400u, block);
}

static inline void of_update_free(of_update_t *u)
{
    free(u->wire);
    u->wire = NULL;
}

/* Two manifests with the same fields (compared one by one: the struct
 * has padding). */
static inline bool of_manifest_equal(const ward_ota_manifest_t *a, const ward_ota_manifest_t *b)
{
    return a->format == b->format && strcmp(a->device_class, b->device_class) == 0 &&
           ward_image_version_cmp(&a->version, &b->version) == 0 && a->sec_cnt == b->sec_cnt &&
           a->image_size == b->image_size &&
           memcmp(a->image_digest, b->image_digest, 32) == 0 && strcmp(a->uri, b->uri) == 0 &&
           a->issued_at == b->issued_at && a->expires == b->expires &&
           a->sequence == b->sequence && a->block_size == b->block_size &&
           memcmp(a->chain_head, b->chain_head, 32) == 0 && memcmp(a->kid, b->kid, 32) == 0;
}

/* ---- an in-memory server (ward_fetch_t) --------------------------------------------- */

#define MS_FILES 4
#define MS_CUTS 16
#define MS_LOG 64

typedef struct {
    char path[200];
    const uint8_t *data;
    size_t len;
} ms_file_t;

typedef enum { MS_TOTAL_TRUE = 0, MS_TOTAL_UNKNOWN = 1 } ms_total_t;

typedef struct {
    ward_fetch_t fetch;
    ms_file_t files[MS_FILES];
    size_t nfiles;
    size_t chunk; /* bytes per sink call */
    /* Faults apply to fault_path (every file if empty). */
    char fault_path[200];
    uint64_t cuts[MS_CUTS]; /* cut the connection once the body reaches each offset */
    size_t ncuts;
    uint64_t cut_every;     /* if set: every connection dies after this many bytes */
    uint64_t sticky_cut;    /* if set: every connection dies when the body reaches it */
    int64_t alter_off;      /* flip bits of the byte at this offset; -1: none */
    uint8_t alter_xor;
    size_t extra;           /* bytes appended after the file */
    int64_t short_at;       /* the file ends here; -1: none */
    ms_total_t total_mode;
    bool ignore_max;        /* a broken fetcher: delivers past max */
    ward_err_t fail_with;   /* every get fails with this at once */
    uint64_t *clock;        /* if set: advanced by tick_s per sink call (a slow server) */
    uint64_t tick_s;
    /* What happened. */
    unsigned gets;
    uint64_t froms[MS_LOG];
    uint64_t body_bytes; /* bytes handed to sinks */
} mem_server_t;

static inline ward_err_t ms_get(void *ctx, const char *path, uint64_t from, uint64_t max,
                                uint64_t *total, ward_fetch_sink_fn sink, void *sink_ctx)
{
    mem_server_t *s = ctx;
    uint8_t buf[4096];
    if (s->gets < MS_LOG) {
        s->froms[s->gets] = from;
    }
    s->gets++;
    *total = UINT64_MAX;
    if (s->fail_with != WARD_OK) {
        return s->fail_with;
    }
    const ms_file_t *f = NULL;
    for (size_t i = 0; i < s->nfiles; i++) {
        if (strcmp(s->files[i].path, path) == 0) {
            f = &s->files[i];
        }
    }
    if (f == NULL) {
        return WARD_ERR_HTTP_STATUS; /* 404 */
    }
    const bool faulty = s->fault_path[0] == '\0' || strcmp(s->fault_path, path) == 0;
    uint64_t size = f->len + (faulty ? s->extra : 0u);
    if (faulty && s->short_at >= 0 && (uint64_t)s->short_at < size) {
        size = (uint64_t)s->short_at;
    }
    if (from > size) {
        return WARD_ERR_HTTP_STATUS; /* 416 */
    }
    if (s->total_mode == MS_TOTAL_TRUE) {
        *total = size;
        /* Content-Length is known: a body over max is refused up front. */
        if (!s->ignore_max && size - from > max) {
            return WARD_ERR_OTA_SIZE;
        }
    }
    const size_t chunk = s->chunk != 0u ? (s->chunk < sizeof buf ? s->chunk : sizeof buf) : 700u;
    uint64_t pos = from;
    uint64_t cut = UINT64_MAX;
    if (faulty) {
        for (size_t i = 0; i < s->ncuts; i++) {
            if (s->cuts[i] > from && s->cuts[i] < cut) {
                cut = s->cuts[i];
            }
        }
        if (s->cut_every != 0u && from + s->cut_every < cut) {
            cut = from + s->cut_every;
        }
        if (s->sticky_cut > from && s->sticky_cut < cut) {
            cut = s->sticky_cut;
        }
    }
    while (pos < size) {
        uint64_t n = size - pos < chunk ? size - pos : chunk;
        if (cut != UINT64_MAX && pos + n > cut) {
            n = cut - pos;
        }
        if (!s->ignore_max && pos - from + n > max) {
            n = max - (pos - from);
            if (n == 0u) {
                return WARD_ERR_OTA_SIZE; /* refused before the byte past max */
            }
        }
        for (uint64_t i = 0; i < n; i++) {
            const uint64_t at = pos + i;
            buf[i] = at < f->len ? f->data[at] : 0xA5u;
            if (faulty && s->alter_off >= 0 && at == (uint64_t)s->alter_off) {
                buf[i] ^= s->alter_xor;
            }
        }
        if (s->clock != NULL) {
            *s->clock += s->tick_s;
        }
        ward_err_t err = sink(sink_ctx, buf, (size_t)n);
        s->body_bytes += n;
        if (err != WARD_OK) {
            return err;
        }
        pos += n;
        if (pos == cut && pos < size) {
            /* the connection dies here; this cut is spent */
            for (size_t i = 0; i < s->ncuts; i++) {
                if (s->cuts[i] == cut) {
                    s->cuts[i] = 0;
                }
            }
            return WARD_ERR_NET;
        }
    }
    return WARD_OK;
}

static inline void ms_init(mem_server_t *s)
{
    memset(s, 0, sizeof *s);
    s->fetch.ctx = s;
    s->fetch.get = ms_get;
    s->alter_off = -1;
    s->short_at = -1;
}

static inline void ms_put(mem_server_t *s, const char *path, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        if (strcmp(s->files[i].path, path) == 0) {
            s->files[i].data = data;
            s->files[i].len = len;
            return;
        }
    }
    assert_true(s->nfiles < MS_FILES);
    snprintf(s->files[s->nfiles].path, sizeof s->files[0].path, "%s", path);
    s->files[s->nfiles].data = data;
    s->files[s->nfiles].len = len;
    s->nfiles++;
}

/* Serve an update: its manifest and its chained file. */
static inline void ms_serve(mem_server_t *s, const of_update_t *u)
{
    ms_put(s, u->cose_path, u->cose, u->cose_len);
    ms_put(s, u->wire_path, u->wire, u->wire_len);
}

/* Faults on the update file only. */
static inline void ms_fault_update(mem_server_t *s, const of_update_t *u)
{
    snprintf(s->fault_path, sizeof s->fault_path, "%s", u->wire_path);
}

/* ---- a flash spy ---------------------------------------------------------------------- */

#define SPY_BLOCKS 512

/* Sits between the core and the simulator's flash: counts programs per
 * block of the staging slot, and checks that every byte programmed into
 * the image part of the staging slot is the genuine image's (or the 0xFF
 * padding after its end). */
typedef struct {
    ward_flash_t port;
    ward_sim_flash_t *sim;
    uint32_t stage_off, stage_end; /* image part of the staging slot (flash offsets) */
    uint32_t block;                /* block size for the per-block counts */
    const uint8_t *expect;         /* genuine image, or NULL: no check */
    size_t expect_len;
    uint32_t progs_per_block[SPY_BLOCKS];
    uint64_t stage_progs, stage_erases;
    uint64_t bad_progs; /* programs of bytes that are not the genuine image's */
} flash_spy_t;

static inline ward_err_t spy_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    flash_spy_t *s = ctx;
    return s->sim->port.read(s->sim->port.ctx, off, buf, len);
}

static inline ward_err_t spy_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    flash_spy_t *s = ctx;
    if (off >= s->stage_off && off < s->stage_end) {
        const uint32_t rel = off - s->stage_off;
        s->stage_progs++;
        if (s->block != 0u && rel / s->block < SPY_BLOCKS) {
            s->progs_per_block[rel / s->block]++;
        }
        if (s->expect != NULL) {
            const uint8_t *p = buf;
            for (size_t i = 0; i < len; i++) {
                const size_t at = rel + i;
                const uint8_t want = at < s->expect_len ? s->expect[at] : 0xFFu;
                if (p[i] != want) {
                    s->bad_progs++;
                    break;
                }
            }
        }
    }
    return s->sim->port.prog(s->sim->port.ctx, off, buf, len);
}

static inline ward_err_t spy_erase(void *ctx, uint32_t off)
{
    flash_spy_t *s = ctx;
    if (off >= s->stage_off && off < s->stage_end) {
        s->stage_erases++;
    }
    return s->sim->port.erase(s->sim->port.ctx, off);
}

/* ---- the device --------------------------------------------------------------------- */

typedef struct {
    ward_sim_device_t d;
    of_keys_t keys;
    flash_spy_t spy;
    ward_boot_layout_t layout; /* d.layout, through the spy */
    ward_boot_ctx_t boot;
    ward_vault_t vault;
    ward_vault_config_t vcfg;
    bool vault_mounted;
    mem_server_t srv;
    ward_ota_t ota;
    uint64_t now;
    bf_img_t v1, v2;
} of_dev_t;

static inline uint64_t of_now(void *ctx)
{
    return ((const of_dev_t *)ctx)->now;
}

static inline void of_geo(ward_sim_geometry_t *g, uint32_t ss, uint32_t ws, uint32_t slot_sectors,
                          bool once)
{
    bf_geo(g, ss, ws, slot_sectors, once);
    g->vault_sectors = 3;
}

/* The boot context and the vault as the running app has them after a
 * reset, and an agent over them. */
static inline void of_app_start(of_dev_t *e)
{
    ward_boot_config_t cfg;
    ward_sim_device_boot_config(&e->d, &cfg);
    cfg.layout = &e->layout;
    assert_int_equal(ward_boot_init(&e->boot, &cfg), WARD_OK);
    if (e->vault_mounted) {
        ward_vault_unmount(&e->vault);
    }
    ward_err_t err = ward_vault_mount(&e->vault, &e->vcfg);
    if (err == WARD_ERR_VAULT_UNFORMATTED) {
        err = ward_vault_format(&e->vault, &e->vcfg);
    }
    assert_int_equal(err, WARD_OK);
    e->vault_mounted = true;
    const ward_ota_config_t oc = {
        .boot = &e->boot,
        .otp = &e->d.otp.port,
        .ota_spki = e->keys.ota.spki,
        .ota_spki_len = sizeof e->keys.ota.spki,
        .device_class = OF_CLASS,
        .vault = &e->vault,
        .fetch = &e->srv.fetch,
        .now = of_now,
        .now_ctx = e,
        .max_retries = 3,
    };
    assert_int_equal(ward_ota_init(&e->ota, &oc), WARD_OK);
}

/* A device on the given geometry: boot key in OTP (secure boot, built-in
 * key), the OTA key hash in OTP, a HUK, v1 (SEC_CNT 1) running confirmed;
 * v2 (SEC_CNT 2) made for the update. */
static inline void of_dev_open(of_dev_t *e, const ward_sim_geometry_t *g, size_t p1, size_t p2)
{
    ward_boot_report_t rep;
    memset(e, 0, sizeof *e);
    of_keys(&e->keys);
    assert_int_equal(ward_sim_device_open_mem(&e->d, g), WARD_OK);
    assert_int_equal(bf_provision(&e->d, &e->keys.boot, true, true), 0);
    const ward_otp_t *otp = &e->d.otp.port;
    assert_int_equal(otp->burn(otp->ctx, WARD_OTP_OTA_KEY_HASH, e->keys.ota.hash, 32), WARD_OK);
    assert_int_equal(e->d.hsm.port.huk_generate(e->d.hsm.port.ctx), WARD_OK);
    assert_int_equal(bf_image(&e->v1, 1, 1, p1, 11, e->keys.boot.id), 0);
    assert_int_equal(bf_image(&e->v2, 2, 2, p2, 22, e->keys.boot.id), 0);
    assert_int_equal(bf_write(&e->d.layout.primary, e->v1.data, e->v1.len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&e->d, &rep)));
    assert_int_equal(rep.version.major, 1);

    e->spy.sim = &e->d.flash;
    e->spy.port = e->d.flash.port;
    e->spy.port.ctx = &e->spy;
    e->spy.port.read = spy_read;
    e->spy.port.prog = spy_prog;
    e->spy.port.erase = spy_erase;
    e->spy.stage_off = e->d.layout.secondary.off;
    e->spy.stage_end = e->d.layout.secondary.off + ward_boot_image_max(&e->d.layout);
    e->layout = e->d.layout;
    e->layout.primary.flash = &e->spy.port;
    e->layout.secondary.flash = &e->spy.port;
    e->layout.scratch.flash = &e->spy.port;
    e->layout.state.flash = &e->spy.port;
    e->vcfg.area = e->d.vault;
    e->vcfg.area.flash = &e->spy.port;
    e->vcfg.hsm = &e->d.hsm.port;
    e->vcfg.counter = 0;
    e->now = OF_T0;
    ms_init(&e->srv);
    of_app_start(e);
}

/* 1 KiB sectors, 8-byte program-once units, 24 KiB slots; v1 ~9 KB, v2 ~14 KB. */
static inline void of_dev_default(of_dev_t *e)
{
    ward_sim_geometry_t g;
    of_geo(&g, 1024, 8, 24, true);
    of_dev_open(e, &g, 9000, 14000);
}

/* Watch the staging programs against this update's image, per block. */
static inline void of_spy_expect(of_dev_t *e, const of_update_t *u)
{
    memset(e->spy.progs_per_block, 0, sizeof e->spy.progs_per_block);
    e->spy.block = u->m.block_size;
    e->spy.expect = u->image;
    e->spy.expect_len = u->image_len;
    e->spy.stage_progs = 0;
    e->spy.stage_erases = 0;
    e->spy.bad_progs = 0;
}

static inline void of_dev_close(of_dev_t *e)
{
    if (e->vault_mounted) {
        ward_vault_unmount(&e->vault);
    }
    bf_image_free(&e->v1);
    bf_image_free(&e->v2);
    ward_sim_device_close(&e->d);
    psa_destroy_key(e->keys.boot.id);
    psa_destroy_key(e->keys.ota.id);
    psa_destroy_key(e->keys.other.id);
}

/* A reset: the bootloader runs (through the spy), then the app starts. */
static inline ward_fih_t of_reset(of_dev_t *e, ward_boot_report_t *rep)
{
    ward_boot_ctx_t ctx;
    ward_boot_config_t cfg;
    ward_sim_device_boot_config(&e->d, &cfg);
    cfg.layout = &e->layout;
    assert_int_equal(ward_boot_init(&ctx, &cfg), WARD_OK);
    ward_fih_t go = ward_boot_go(&ctx, rep);
    of_app_start(e);
    return go;
}

/* Is [off, off+len) of an area all 0xFF? */
static inline bool of_erased(of_dev_t *e, const ward_area_t *a, uint32_t off, uint32_t len)
{
    const uint8_t *p = ward_sim_flash_mem(&e->d.flash) + a->off + off;
    for (uint32_t i = 0; i < len; i++) {
        if (p[i] != 0xFFu) {
            return false;
        }
    }
    return true;
}

#endif /* WARD_TESTS_OTA_FIXTURE_H */
