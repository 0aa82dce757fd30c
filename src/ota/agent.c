/*
 * ward ota: the agent (docs/ota.md). check() fetches and verifies the
 * manifest and applies the policy; apply() streams the chained update into
 * the staging slot, each block authenticated before it is programmed,
 * verifies the staged image as the bootloader will, records the manifest
 * in the vault and requests a trial install; report() tells, once, that an
 * installed update was reverted.
 *
 * Invariants: nothing is erased or programmed before the manifest passed
 * every check; no byte reaches flash before its block passed the chain;
 * no block is programmed twice; never more bytes than the manifest says;
 * after a failed apply the staging slot holds nothing of the update (it is
 * erased again from its start), and the primary slot is never touched.
 */
#include <string.h>

#include "ota_priv.h"
#include "ward/crypto.h"
#include "ward/util.h"

/* ---- freshness state in the vault ("ota.state", docs/ota.md) ------------------------- */

#define STATE_NAME "ota.state"
#define STATE_LEN_V1 64u
#define STATE_LEN 80u
#define STATE_FORMAT_V1 1u
#define STATE_FORMAT 2u

enum { PENDING_NONE = 0, PENDING_STAGED = 1, PENDING_REQUESTED = 2 };

typedef struct {
    uint8_t pending;    /* PENDING_* */
    uint64_t sequence;  /* last accepted manifest */
    uint64_t issued_at; /* its issued-at */
    ward_image_version_t version; /* of the pending update */
    uint32_t sec_cnt;
    uint8_t digest[32];
    /* The boot journal when the update was recorded STAGED (format 2): where
     * its next record goes and the last refusal it held. A bootloader that
     * acted on the install request since has moved it. */
    bool journal_known;
    uint32_t journal_epoch;
    uint32_t journal_next;
    ward_err_t journal_refused;
} ota_state_t;

static ward_err_t state_load(ward_vault_t *v, ota_state_t *s)
{
    uint8_t b[STATE_LEN];
    size_t n = 0;
    memset(s, 0, sizeof *s);
    ward_err_t err = ward_vault_get(v, b, sizeof b, &n, STATE_NAME);
    if (err == WARD_ERR_NOT_FOUND) {
        return WARD_OK; /* no update accepted yet */
    }
    if (err == WARD_ERR_BUF_TOO_SMALL) {
        return WARD_ERR_CORRUPT;
    }
    if (err != WARD_OK) {
        return err;
    }
    const bool v1 = n == STATE_LEN_V1 && b[0] == STATE_FORMAT_V1;
    if ((!v1 && (n != STATE_LEN || b[0] != STATE_FORMAT)) || b[1] > PENDING_REQUESTED ||
        b[2] != 0u || b[3] != 0u) {
        ward_wipe(b, sizeof b);
        return WARD_ERR_CORRUPT;
    }
    s->pending = b[1];
    s->sequence = ward_load_le64(b + 4);
    s->issued_at = ward_load_le64(b + 12);
    s->version.major = b[20];
    s->version.minor = b[21];
    s->version.revision = ward_load_le16(b + 22);
    s->version.build = ward_load_le32(b + 24);
    s->sec_cnt = ward_load_le32(b + 28);
    memcpy(s->digest, b + 32, 32);
    if (!v1) {
        s->journal_known = true;
        s->journal_epoch = ward_load_le32(b + 64);
        s->journal_next = ward_load_le32(b + 68);
        s->journal_refused = (ward_err_t)ward_load_le32(b + 72);
    }
    return WARD_OK;
}

static ward_err_t state_store(ward_vault_t *v, const ota_state_t *s)
{
    uint8_t b[STATE_LEN];
    memset(b, 0, sizeof b);
    b[0] = STATE_FORMAT;
    b[1] = s->pending;
    ward_store_le64(b + 4, s->sequence);
    ward_store_le64(b + 12, s->issued_at);
    b[20] = s->version.major;
    b[21] = s->version.minor;
    ward_store_le16(b + 22, s->version.revision);
    ward_store_le32(b + 24, s->version.build);
    ward_store_le32(b + 28, s->sec_cnt);
    memcpy(b + 32, s->digest, 32);
    ward_store_le32(b + 64, s->journal_epoch);
    ward_store_le32(b + 68, s->journal_next);
    ward_store_le32(b + 72, (uint32_t)s->journal_refused);
    return ward_vault_put(v, STATE_NAME, b, sizeof b);
}

/* ---- what the device is ----------------------------------------------------------------- */

static ward_err_t finish(ward_ota_t *o, ward_err_t err)
{
    o->reason = err;
    return err;
}

static void progress(const ward_ota_t *o, ward_ota_phase_t phase, uint64_t done, uint64_t total)
{
    if (o->cfg.progress != NULL) {
        o->cfg.progress(o->cfg.progress_ctx, phase, done, total);
    }
}

/* The OTA and boot key hashes from OTP. The OTA key must be provisioned and
 * differ from the boot key; the boot key is needed to check the staged
 * image as the bootloader will. */
static ward_err_t read_keys(const ward_ota_t *o, uint8_t ota_hash[32], uint8_t boot_hash[32])
{
    const ward_otp_t *otp = o->cfg.otp;
    ward_err_t err = otp->read(otp->ctx, WARD_OTP_OTA_KEY_HASH, ota_hash, 32);
    if (err == WARD_OK) {
        err = otp->read(otp->ctx, WARD_OTP_BOOT_KEY_HASH, boot_hash, 32);
    }
    if (err != WARD_OK) {
        return err;
    }
    if (ward_ct_all(ota_hash, 0u, 32) || ward_ct_equal(ota_hash, boot_hash, 32)) {
        return WARD_ERR_OTA_KEY;
    }
    if (ward_ct_all(boot_hash, 0u, 32)) {
        return WARD_ERR_BOOT_NO_KEY;
    }
    return WARD_OK;
}

static ward_err_t boot_view(const ward_ota_t *o, ward_boot_report_t *rep, uint32_t *floor)
{
    ward_err_t err = ward_boot_status(o->cfg.boot, rep);
    if (err != WARD_OK) {
        return err;
    }
    if (rep->resumed) {
        return WARD_ERR_STATE; /* a swap waits for the next boot */
    }
    /* max(OTP counter, the confirmed running image's counter): what the
     * next boot will hold any staged image to. */
    return ward_boot_floor(o->cfg.boot, floor);
}

/* Has the bootloader written its journal since the update was recorded
 * STAGED? It appends to it whenever it acts on an install request (an
 * install begins, or a refusal). A format-1 record does not know. */
static bool journal_moved(const ward_ota_t *o, const ota_state_t *st)
{
    const ward_boot_state_t *j = &o->cfg.boot->st;
    return st->journal_known && (j->epoch != st->journal_epoch || j->next != st->journal_next);
}

/* Did the bootloader install the STAGED update since it was recorded? A
 * power cut between the install request and the REQUESTED record leaves
 * STAGED behind a request that went out, so the record alone cannot say.
 * A journal that has not moved since, or moved only to record a refusal
 * (of that one request, a torn one), means the update never ran; anything
 * else counts as installed: never taken again (docs/ota.md §6). A format-1
 * record: not installed, as the first agent decided. */
static bool installed_since(const ward_ota_t *o, const ota_state_t *st)
{
    return st->pending == PENDING_STAGED && journal_moved(o, st) &&
           o->cfg.boot->st.refused == st->journal_refused;
}

/* An update accepted, staged and recorded whose install request never
 * reached the bootloader (a power cut): the same manifest may be taken
 * again. */
static bool resumable(const ward_ota_t *o, const ota_state_t *st, const ward_ota_manifest_t *m)
{
    return st->pending == PENDING_STAGED && st->sequence == m->sequence && st->sequence > 0u &&
           ward_ct_equal(st->digest, m->image_digest, 32) && !installed_since(o, st);
}

static ward_err_t policy_eval(const ward_ota_t *o, const ota_state_t *st,
                              const ward_boot_report_t *rep, uint32_t floor)
{
    ward_ota_policy_t p;
    memset(&p, 0, sizeof p);
    p.device_class = o->cfg.device_class;
    p.running = rep->version;
    p.floor = floor;
    p.now = o->cfg.now != NULL ? o->cfg.now(o->cfg.now_ctx) : 0u;
    p.last_sequence = resumable(o, st, &o->manifest) ? st->sequence - 1u : st->sequence;
    p.last_issued_at = st->issued_at;
    p.image_max = ward_boot_image_max(o->cfg.boot->cfg.layout);
    /* Hardened: the verdict is taken twice, and read back once more. */
    volatile ward_err_t r1 = ward_ota_policy_check(&o->manifest, &p);
    if (r1 != WARD_OK) {
        return r1;
    }
    volatile ward_err_t r2 = ward_ota_policy_check(&o->manifest, &p);
    if (r2 != WARD_OK) {
        return r2;
    }
    return r1 == WARD_OK ? WARD_OK : WARD_ERR_STATE;
}

static bool retryable(ward_err_t err)
{
    return err == WARD_ERR_NET || err == WARD_ERR_NET_TIMEOUT || err == WARD_ERR_TLS;
}

/* ---- init, check ------------------------------------------------------------------------ */

ward_err_t ward_ota_init(ward_ota_t *o, const ward_ota_config_t *cfg)
{
    if (o == NULL || cfg == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(o, 0, sizeof *o);
    if (cfg->boot == NULL || cfg->boot->st.ready == 0u || cfg->boot->cfg.layout == NULL ||
        cfg->otp == NULL || cfg->otp->read == NULL || cfg->ota_spki == NULL ||
        cfg->ota_spki_len == 0u || cfg->device_class == NULL || cfg->vault == NULL ||
        cfg->fetch == NULL || cfg->fetch->get == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    size_t cl = 0;
    while (cl <= (size_t)WARD_CONFIG_OTA_CLASS_MAX && cfg->device_class[cl] != '\0') {
        cl++;
    }
    if (!ota_name_ok(cfg->device_class, cl, WARD_CONFIG_OTA_CLASS_MAX)) {
        return WARD_ERR_INVALID_ARG;
    }
    o->cfg = *cfg;
    if (o->cfg.max_retries == 0u) {
        o->cfg.max_retries = 5u;
    }
    if (o->cfg.max_seconds == 0u) {
        o->cfg.max_seconds = 3600u;
    }
    o->ready = 1u;
    return WARD_OK;
}

static ward_err_t manifest_sink(void *ctx, const uint8_t *data, size_t len)
{
    ward_ota_t *o = ctx;
    if (len > sizeof o->cose - o->cose_len) {
        return WARD_ERR_OTA_MANIFEST;
    }
    memcpy(o->cose + o->cose_len, data, len);
    o->cose_len += (uint32_t)len;
    return WARD_OK;
}

static ward_err_t fetch_manifest(ward_ota_t *o)
{
    char path[WARD_CONFIG_OTA_CLASS_MAX + sizeof "/manifest.cose"];
    const size_t cl = strlen(o->cfg.device_class);
    memcpy(path, o->cfg.device_class, cl);
    memcpy(path + cl, "/manifest.cose", sizeof "/manifest.cose");
    const ward_fetch_t *f = o->cfg.fetch;
    for (uint32_t attempt = 0;; attempt++) {
        o->cose_len = 0;
        o->total = UINT64_MAX;
        ward_err_t err = f->get(f->ctx, path, 0, sizeof o->cose, &o->total, manifest_sink, o);
        if (err == WARD_ERR_OTA_SIZE) {
            return WARD_ERR_OTA_MANIFEST; /* larger than any manifest */
        }
        if (err == WARD_OK || !retryable(err) || attempt >= o->cfg.max_retries) {
            return err;
        }
    }
}

ward_err_t ward_ota_check(ward_ota_t *o)
{
    uint8_t ota_hash[32], boot_hash[32];
    ward_boot_report_t rep;
    ota_state_t st;
    uint32_t floor = 0;

    if (o == NULL || o->ready == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    o->have_manifest = 0;
    memset(&o->manifest, 0, sizeof o->manifest);
    ward_err_t err = read_keys(o, ota_hash, boot_hash);
    if (err == WARD_OK) {
        err = boot_view(o, &rep, &floor);
    }
    if (err == WARD_OK) {
        err = fetch_manifest(o);
    }
    if (err != WARD_OK) {
        return finish(o, err);
    }
    progress(o, WARD_OTA_PHASE_MANIFEST, o->cose_len, o->cose_len);
    err = ward_ota_manifest_verify(&o->manifest, o->cose, o->cose_len, o->cfg.ota_spki,
                                   o->cfg.ota_spki_len, ota_hash);
    if (err == WARD_OK) {
        err = state_load(o->cfg.vault, &st);
    }
    if (err == WARD_OK) {
        err = policy_eval(o, &st, &rep, floor);
    }
    if (err != WARD_OK) {
        return finish(o, err);
    }
    o->have_manifest = 1u;
    return finish(o, WARD_OK);
}

/* ---- apply: the download ----------------------------------------------------------------- */

static const ward_area_t *staging(const ward_ota_t *o)
{
    return &o->cfg.boot->cfg.layout->secondary;
}

/* Erase what this apply touched of the staging slot, from its start (so
 * the image header goes first). Errors are not reported: the refusal that
 * led here is what the caller learns; a half-erased slot holds no image
 * that could verify. */
static void scrub(ward_ota_t *o)
{
    const ward_area_t *s = staging(o);
    uint32_t ss = 0;
    for (uint32_t off = 0; off < o->erased_to; off += ss) {
        /* Each sector with its own size (a sector map may mix them). */
        if (ward_area_sector_at(s, off, NULL, &ss) != WARD_OK ||
            ward_area_erase(s, off, ss) != WARD_OK) {
            break;
        }
        o->stats.erases++;
    }
    o->erased_to = 0;
}

/* A block passed the chain (or not): program its data. */
static ward_err_t land_block(ward_ota_t *o)
{
    size_t data_len = 0;
    ward_err_t err = ward_ota_chain_next(&o->chain, o->block, o->fill, &data_len);
    if (err != WARD_OK) {
        return err; /* nothing of it reaches flash */
    }
    const ward_area_t *s = staging(o);
    const uint32_t ws = s->flash->write_size;
    const uint32_t off = (o->chain.next - 1u) * o->chain.block_size;
    /* The last block may end inside a write unit: pad it as erased flash
     * reads. Every other block is a multiple of the write size. */
    const uint32_t plen = ward_align_up((uint32_t)data_len, ws);
    memset(o->block + data_len, 0xFF, plen - data_len);
    /* Each sector is erased just before its first block lands. */
    while (o->erased_to < off + plen) {
        const uint32_t at = o->erased_to;
        uint32_t ss = 0;
        err = ward_area_sector_at(s, at, NULL, &ss); /* its own size, on a sector map too */
        if (err != WARD_OK) {
            return err;
        }
        o->erased_to += ss; /* counted as touched even if the erase fails */
        err = ward_area_erase(s, at, ss);
        if (err != WARD_OK) {
            return err;
        }
        o->stats.erases++;
    }
    err = ward_area_prog(s, off, o->block, plen);
    o->fill = 0;
    if (err != WARD_OK) {
        return err;
    }
    o->stats.blocks++;
    o->stats.flash_bytes += plen;
    progress(o, WARD_OTA_PHASE_DOWNLOAD, (uint64_t)off + data_len, o->manifest.image_size);
    return WARD_OK;
}

/* A server may drip the update under every per-receive timeout: the whole
 * download has a deadline by the device clock. */
static bool past_deadline(const ward_ota_t *o)
{
    return o->deadline != 0u && o->cfg.now(o->cfg.now_ctx) > o->deadline;
}

static ward_err_t update_sink(void *ctx, const uint8_t *data, size_t len)
{
    ward_ota_t *o = ctx;
    if (past_deadline(o)) {
        return WARD_ERR_NET_TIMEOUT;
    }
    /* The server said how large the file is: it must be the chain's size. */
    if (o->total != UINT64_MAX && o->total != o->wire_size) {
        return WARD_ERR_OTA_SIZE;
    }
    while (len > 0u) {
        if (o->chain.next >= o->chain.nblocks) {
            return WARD_ERR_OTA_SIZE; /* a byte beyond the last block */
        }
        const uint32_t need = ward_ota_chain_wire_len(&o->chain, o->chain.next) - o->fill;
        const uint32_t take = len < need ? (uint32_t)len : need;
        memcpy(o->block + o->fill, data, take);
        o->fill += take;
        o->stats.wire_bytes += take;
        data += take;
        len -= take;
        if (take == need) {
            ward_err_t err = land_block(o);
            if (err != WARD_OK) {
                return err;
            }
        }
    }
    return WARD_OK;
}

static ward_err_t download(ward_ota_t *o)
{
    char path[WARD_CONFIG_OTA_CLASS_MAX + 1 + WARD_CONFIG_OTA_URI_MAX + 1];
    const size_t cl = strlen(o->cfg.device_class);
    const size_t ul = strlen(o->manifest.uri);
    memcpy(path, o->cfg.device_class, cl);
    path[cl] = '/';
    memcpy(path + cl + 1, o->manifest.uri, ul + 1u);

    const ward_fetch_t *f = o->cfg.fetch;
    uint32_t idle = 0; /* reconnects in a row that brought no new block */
    while (o->chain.next < o->chain.nblocks) {
        const uint32_t before = o->chain.next;
        const uint64_t from = ward_ota_chain_wire_off(&o->chain, before);
        o->fill = 0; /* a partial block is dropped and fetched again */
        o->total = UINT64_MAX;
        o->stats.connections++;
        ward_err_t err = f->get(f->ctx, path, from, o->wire_size - from, &o->total, update_sink, o);
        if (err == WARD_OK) {
            if ((o->total != UINT64_MAX && o->total != o->wire_size) ||
                o->chain.next < o->chain.nblocks) {
                return WARD_ERR_OTA_SIZE; /* a short file */
            }
            break;
        }
        if (!retryable(err) || past_deadline(o)) {
            return past_deadline(o) ? WARD_ERR_NET_TIMEOUT : err;
        }
        idle = o->chain.next == before ? idle + 1u : 0u;
        if (idle > o->cfg.max_retries) {
            return err;
        }
    }
    return WARD_OK;
}

/* ---- apply: the staged image ------------------------------------------------------------ */

/* The staged image as the bootloader will check it, and as the manifest
 * describes it. */
static ward_err_t verify_staged(ward_ota_t *o, const uint8_t boot_hash[32], uint32_t floor)
{
    ward_image_info_t info;
    ward_area_t a = *staging(o);
    const ward_ota_manifest_t *m = &o->manifest;
    uint8_t digest[32];
    ward_sha256_t h;

    ward_err_t err = ward_image_parse(&info, ward_image_read_area, &a,
                                      ward_boot_image_max(o->cfg.boot->cfg.layout));
    if (err == WARD_ERR_IO || err == WARD_ERR_POWER_LOSS) {
        return err;
    }
    if (err != WARD_OK || info.total_size != m->image_size ||
        ward_image_version_cmp(&info.version, &m->version) != 0 || info.sec_cnt != m->sec_cnt ||
        (info.flags & WARD_IMAGE_F_NON_BOOTABLE) != 0u) {
        return WARD_ERR_OTA_IMAGE;
    }
    /* SHA-256 of the bytes now in flash, read back. */
    err = ward_sha256_start(&h);
    for (uint32_t off = 0; err == WARD_OK && off < m->image_size;) {
        uint32_t n = m->image_size - off;
        n = n < (uint32_t)sizeof o->block ? n : (uint32_t)sizeof o->block;
        err = ward_area_read(&a, off, o->block, n);
        if (err == WARD_OK) {
            err = ward_sha256_update(&h, o->block, n);
        }
        off += n;
    }
    if (err != WARD_OK) {
        ward_sha256_abort(&h);
        return err;
    }
    err = ward_sha256_finish(&h, digest);
    if (err != WARD_OK) {
        return err;
    }
    if (!ward_ct_equal(digest, m->image_digest, sizeof digest)) {
        return WARD_ERR_OTA_IMAGE;
    }
    const ward_image_trust_t trust = {
        .key_hash = boot_hash,
        .spki = o->cfg.boot->cfg.spki,
        .spki_len = o->cfg.boot->cfg.spki_len,
        .min_sec_cnt = floor,
    };
    ward_err_t why = WARD_ERR_IMG_SIG;
    volatile ward_fih_t v = ward_image_validate(&info, ward_image_read_area, &a, &trust, &why);
    if (!WARD_FIH_EQ(v)) {
        return why == WARD_ERR_IO || why == WARD_ERR_POWER_LOSS ? why : WARD_ERR_OTA_IMAGE;
    }
    /* Second look at both verdicts. */
    if (!ward_ct_equal(m->image_digest, digest, sizeof digest) || !WARD_FIH_EQ(v)) {
        return WARD_ERR_OTA_IMAGE;
    }
    return WARD_OK;
}

/* An install request left in the staging slot (by the app, or torn) would
 * point at what is about to be written: consume it first. */
static ward_err_t clear_request(ward_ota_t *o)
{
    bool pending = false, permanent = false;
    ward_err_t err = ward_boot_request_pending(o->cfg.boot, &pending, &permanent);
    if (err != WARD_OK && err != WARD_ERR_CORRUPT) {
        return err;
    }
    if (err == WARD_OK && !pending) {
        return WARD_OK;
    }
    const ward_area_t *s = staging(o);
    uint32_t last = 0, ss = 0; /* the last sector, whatever its size */
    err = ward_area_sector_at(s, s->size - 1u, &last, &ss);
    if (err == WARD_OK) {
        err = ward_area_erase(s, last, ss);
    }
    if (err == WARD_OK) {
        o->stats.erases++;
    }
    return err;
}

ward_err_t ward_ota_apply(ward_ota_t *o)
{
    uint8_t ota_hash[32], boot_hash[32];
    ward_boot_report_t rep;
    ota_state_t st;
    uint32_t floor = 0;

    if (o == NULL || o->ready == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    if (o->have_manifest == 0u) {
        return finish(o, WARD_ERR_STATE); /* check() first */
    }
    o->have_manifest = 0; /* one apply per check */
    memset(&o->stats, 0, sizeof o->stats);
    o->erased_to = 0;
    o->fill = 0;

    /* The device may have changed since check(): look again, still
     * without writing anything. During a trial the staging slot holds the
     * only copy of the previous image. */
    ward_err_t err = read_keys(o, ota_hash, boot_hash);
    if (err == WARD_OK) {
        err = boot_view(o, &rep, &floor);
    }
    if (err == WARD_OK && rep.trial) {
        err = WARD_ERR_STATE;
    }
    if (err == WARD_OK) {
        err = state_load(o->cfg.vault, &st);
    }
    if (err == WARD_OK) {
        err = policy_eval(o, &st, &rep, floor);
    }
    if (err != WARD_OK) {
        return finish(o, err);
    }

    /* From here on the staging slot is written. */
    const uint64_t t0 = o->cfg.now != NULL ? o->cfg.now(o->cfg.now_ctx) : 0u;
    o->deadline = t0 != 0u && o->cfg.max_seconds != UINT32_MAX ? t0 + o->cfg.max_seconds : 0u;
    ward_ota_chain_init(&o->chain, &o->manifest);
    o->wire_size = ward_ota_chain_wire_size(o->manifest.image_size, o->manifest.block_size);
    err = clear_request(o);
    if (err == WARD_OK) {
        err = download(o);
    }
    if (err == WARD_OK) {
        progress(o, WARD_OTA_PHASE_VERIFY, 0, o->manifest.image_size);
        err = verify_staged(o, boot_hash, floor);
    }
    if (err == WARD_OK) {
        /* Recorded before the request: a request never goes out for a
         * manifest the device has not remembered accepting. */
        st.pending = PENDING_STAGED;
        st.sequence = o->manifest.sequence;
        st.issued_at = o->manifest.issued_at;
        st.version = o->manifest.version;
        st.sec_cnt = o->manifest.sec_cnt;
        memcpy(st.digest, o->manifest.image_digest, sizeof st.digest);
        st.journal_known = true;
        st.journal_epoch = o->cfg.boot->st.epoch;
        st.journal_next = o->cfg.boot->st.next;
        st.journal_refused = o->cfg.boot->st.refused;
        err = state_store(o->cfg.vault, &st);
    }
    if (err == WARD_OK) {
        err = ward_boot_request_install(o->cfg.boot, false);
    }
    if (err != WARD_OK) {
        scrub(o);
        return finish(o, err);
    }
    /* The install is requested; this only tells report() so. */
    st.pending = PENDING_REQUESTED;
    err = state_store(o->cfg.vault, &st);
    if (err != WARD_OK) {
        return finish(o, err);
    }
    progress(o, WARD_OTA_PHASE_DONE, o->manifest.image_size, o->manifest.image_size);
    return finish(o, WARD_OK);
}

/* ---- report ----------------------------------------------------------------------------- */

ward_err_t ward_ota_report(ward_ota_t *o, const ward_boot_report_t *boot, bool *failed,
                           ward_image_version_t *failed_version)
{
    ota_state_t st;
    if (failed != NULL) {
        *failed = false;
    }
    if (failed_version != NULL) {
        memset(failed_version, 0, sizeof *failed_version);
    }
    if (o == NULL || o->ready == 0u || boot == NULL || failed == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = state_load(o->cfg.vault, &st);
    if (err != WARD_OK || st.pending == PENDING_NONE) {
        return err;
    }
    const bool running = boot->reason == WARD_OK &&
                         ward_image_version_cmp(&boot->version, &st.version) == 0;
    if (running && boot->trial) {
        return WARD_OK; /* on trial: the app's self-test decides */
    }
    bool reverted = false;
    if (!running && st.pending == PENDING_STAGED) {
        reverted = boot->event == WARD_BOOT_EV_REVERTED || installed_since(o, &st);
        if (!reverted) {
            return WARD_OK; /* staged, never installed: the next check resumes it */
        }
    } else if (!running) {
        /* Requested: a failure if the bootloader acted on the request
         * (installed and reverted it, or refused it). A journal that has
         * not moved since says it never saw the request: it still waits
         * for a reset, or a later apply consumed it (a newer update
         * superseded this one, which is then forgotten, not failed). */
        reverted = !st.journal_known || journal_moved(o, &st) ||
                   boot->event == WARD_BOOT_EV_REVERTED;
        if (!reverted) {
            bool req = false, permanent = false;
            err = ward_boot_request_pending(o->cfg.boot, &req, &permanent);
            if (err == WARD_ERR_CORRUPT || (err == WARD_OK && req)) {
                return WARD_OK; /* the next boot decides */
            }
            if (err != WARD_OK) {
                return err;
            }
        }
    }
    const ward_image_version_t v = st.version;
    st.pending = PENDING_NONE;
    memset(&st.version, 0, sizeof st.version);
    st.sec_cnt = 0;
    memset(st.digest, 0, sizeof st.digest);
    st.journal_epoch = 0;
    st.journal_next = 0;
    st.journal_refused = WARD_OK;
    err = state_store(o->cfg.vault, &st);
    if (err == WARD_OK && reverted) {
        *failed = true; /* once: the record that said so is gone */
        if (failed_version != NULL) {
            *failed_version = v;
        }
    }
    return err;
}
