/*
 * ward vault: geometry, flash access, entry framing and the crypto glue.
 *
 * Everything read from flash is hostile until checked: entry lengths come
 * from CRC-checked headers and are bounded by the sector, every loop is
 * bounded by a length known before it starts.
 */
#include <string.h>

#include "vault_priv.h"

static const uint8_t k_magic[4] = {'W', 'V', 'L', 'T'};
/* HKDF labels, one per purpose (docs/vault-format.md, "Keys"). */
static const char k_lbl_id[] = "ward/vault/v1/id";
static const char k_lbl_aead[] = "ward/vault/v1/aead";
static const char k_lbl_mac[] = "ward/vault/v1/mac";
static const char k_kcv[] = "kcv";

/* ---- geometry --------------------------------------------------------------- */

uint32_t vlt_pad(const ward_vault_t *v, uint32_t n)
{
    return ward_align_up(n, v->wsize);
}

uint32_t vlt_commit_size(const ward_vault_t *v)
{
    return vlt_pad(v, VLT_COMMIT_LEN);
}

uint32_t vlt_ckpt_size(const ward_vault_t *v, uint32_t count)
{
    return vlt_pad(v, VLT_CKPT_FIXED + VLT_CKPT_ENTRY * count);
}

uint32_t vlt_rec_size(const ward_vault_t *v, uint32_t nlen, uint32_t vlen)
{
    return vlt_pad(v, VLT_REC_OVERHEAD + nlen + vlen);
}

uint32_t vlt_sbase(const ward_vault_t *v, uint32_t s)
{
    uint32_t off = 0;
    (void)ward_area_sector(&v->cfg.area, s, &off, NULL); /* s < nsect: vlt_setup counted them */
    return off;
}

uint32_t vlt_ssize(const ward_vault_t *v, uint32_t s)
{
    uint32_t size = 0;
    (void)ward_area_sector(&v->cfg.area, s, NULL, &size);
    return size;
}

/* Padded record bytes a sector of `size` bytes may hold. */
static uint32_t limit_of(const ward_vault_t *v, uint32_t size)
{
    /* vlt_setup guarantees this does not underflow. */
    return size - VLT_SHDR - 2u * vlt_ckpt_size(v, WARD_VAULT_MAX_RECORDS) -
           4u * vlt_commit_size(v);
}

uint32_t vlt_rec_limit(const ward_vault_t *v)
{
    return limit_of(v, v->ssize);
}

uint32_t vlt_sect_limit(const ward_vault_t *v, uint32_t s)
{
    return limit_of(v, vlt_ssize(v, s));
}

uint32_t vlt_sector_of(const ward_vault_t *v, uint32_t off)
{
    if (v->cfg.area.flash->regions == NULL) {
        return off / v->ssize;
    }
    uint32_t start = 0, size = 0, s = 0;
    for (uint32_t at = 0; at <= off && s < v->nsect; at += size, s++) {
        if (ward_area_sector_at(&v->cfg.area, at, &start, &size) != WARD_OK) {
            break;
        }
    }
    return s - 1u;
}

ward_err_t vlt_setup(ward_vault_t *v, const ward_vault_config_t *cfg)
{
    if (v == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(v, 0, sizeof *v);
    v->head = VLT_NONE;
    v->ckpt_sector = VLT_NONE;
    if (cfg == NULL || cfg->hsm == NULL || cfg->hsm->derive_key == NULL ||
        cfg->hsm->counter_read == NULL || cfg->hsm->counter_increment == NULL ||
        cfg->counter >= WARD_HSM_COUNTERS) {
        return WARD_ERR_INVALID_ARG;
    }
    if (cfg->aead != 0 && cfg->aead != WARD_VAULT_AEAD_AES256_GCM &&
        cfg->aead != WARD_VAULT_AEAD_CHACHA20_POLY1305) {
        return WARD_ERR_INVALID_ARG;
    }
    if (ward_area_check(&cfg->area) != WARD_OK) {
        return WARD_ERR_INVALID_ARG;
    }
    /* The area's sectors may differ in size (a sector map): ss is its
     * smallest, which bounds records (vlt_rec_limit). */
    const uint32_t n = ward_area_sectors(&cfg->area);
    uint32_t ss = UINT32_MAX, largest = 0;
    for (uint32_t s = 0; s < n && n <= WARD_VAULT_MAX_SECTORS; s++) {
        uint32_t size = 0;
        (void)ward_area_sector(&cfg->area, s, NULL, &size);
        ss = size < ss ? size : ss;
        largest = size > largest ? size : largest;
    }
    /* Sizes stay far below 2^32 in every sum below. */
    if (n < 2u || n > WARD_VAULT_MAX_SECTORS || largest > (1u << 24)) {
        return WARD_ERR_INVALID_ARG;
    }
    v->cfg = *cfg;
    v->ssize = ss;
    v->wsize = cfg->area.flash->write_size;
    v->nsect = n;
    /* A sector must hold its header, two full checkpoints, four commits
     * and a record with the longest name and a 16-byte value. */
    uint32_t need = VLT_SHDR + 2u * vlt_ckpt_size(v, WARD_VAULT_MAX_RECORDS) +
                    4u * vlt_commit_size(v) +
                    vlt_rec_size(v, (uint32_t)WARD_VAULT_NAME_MAX, 16u);
    if (ss < need) {
        return WARD_ERR_INVALID_ARG;
    }
    return WARD_OK;
}

/* ---- flash ------------------------------------------------------------------ */

ward_err_t vlt_read(const ward_vault_t *v, uint32_t off, void *buf, size_t len)
{
    return ward_area_read(&v->cfg.area, off, buf, len);
}

ward_err_t vlt_prog(const ward_vault_t *v, uint32_t off, const void *buf, size_t len)
{
    return ward_area_prog(&v->cfg.area, off, buf, len);
}

ward_err_t vlt_erase(ward_vault_t *v, uint32_t s)
{
    ward_vault_sector_t *sc = &v->sect[s];
    /* Whatever happens, the sector no longer holds anything we use. */
    sc->state = VLT_FREE;
    sc->blank = 0;
    sc->wp = 0;
    sc->placed = 0;
    sc->unsure = 1;
    ward_err_t err = ward_area_erase(&v->cfg.area, vlt_sbase(v, s), vlt_ssize(v, s));
    if (err == WARD_OK) {
        sc->erases++;
        sc->blank = 1;
        sc->unsure = 0; /* erased by us: every unit can be programmed */
    }
    return err;
}

ward_err_t vlt_is_blank(const ward_vault_t *v, uint32_t off, uint32_t end, bool *blank)
{
    uint8_t buf[VLT_CHUNK];
    *blank = true;
    while (off < end) {
        const uint32_t left = end - off;
        const uint32_t n = left < VLT_CHUNK ? left : VLT_CHUNK;
        ward_err_t err = vlt_read(v, off, buf, n);
        if (err != WARD_OK) {
            return err;
        }
        if (!ward_ct_all(buf, 0xFF, n)) {
            *blank = false;
            return WARD_OK;
        }
        off += n;
    }
    return WARD_OK;
}

/* A program landed at off: whatever a torn program of an earlier power
 * cycle spent in that sector lies before it (docs/vault-format.md, "Spent
 * units"), so the units after it can be programmed. */
static void landed(ward_vault_t *v, uint32_t off)
{
    v->sect[vlt_sector_of(v, off)].unsure = 0;
}

static bool crc_at(const uint8_t *h, size_t n)
{
    return ward_load_le32(h + n) == ward_crc32(0, h, n);
}

/* Feed bytes [pos, pos+n) of a record, held in buf, to a CRC of its first
 * body bytes, and collect the four stored CRC bytes after them in want. */
static uint32_t crc_feed(uint32_t crc, uint8_t want[4], const uint8_t *buf, uint32_t pos,
                         uint32_t n, uint32_t body)
{
    uint32_t i = 0;
    if (pos < body) {
        i = body - pos < n ? body - pos : n;
        crc = ward_crc32(crc, buf, i);
    }
    for (; i < n && pos + i < body + 4u; i++) {
        want[pos + i - body] = buf[i];
    }
    return crc;
}

/* The part of the record's bytes [a, b) inside the chunk [pos, pos + n):
 * *at (offset in the chunk), *k bytes. */
static bool slice(uint32_t a, uint32_t b, uint32_t pos, uint32_t n, uint32_t *at, uint32_t *k)
{
    const uint32_t lo = a > pos ? a : pos, hi = b < pos + n ? b : pos + n;
    *at = lo - pos;
    *k = hi > lo ? hi - lo : 0u;
    return hi > lo;
}

/* Feed the chunk [pos, pos + n) of record r (held in buf) to the AEAD
 * check of its copy: the name as associated data, the ciphertext; the tag
 * bytes go to tag. The plaintext is dropped. */
static ward_err_t copy_auth(psa_aead_operation_t *op, const ward_vault_rec_t *r, const uint8_t *buf,
                            uint32_t pos, uint32_t n, uint8_t tag[VLT_TAG])
{
    uint8_t pt[VLT_CHUNK + VLT_TAG];
    const uint32_t ct0 = VLT_REC_NAME + r->nlen, tag0 = ct0 + r->vlen;
    uint32_t at = 0, k = 0;
    size_t olen = 0;
    ward_err_t err = WARD_OK;
    if (slice(VLT_REC_NAME, ct0, pos, n, &at, &k) &&
        psa_aead_update_ad(op, buf + at, k) != PSA_SUCCESS) {
        err = WARD_ERR_CRYPTO;
    }
    if (err == WARD_OK && slice(ct0, tag0, pos, n, &at, &k) &&
        psa_aead_update(op, buf + at, k, pt, sizeof pt, &olen) != PSA_SUCCESS) {
        err = WARD_ERR_CRYPTO;
    }
    if (slice(tag0, tag0 + VLT_TAG, pos, n, &at, &k)) {
        memcpy(tag + (pos + at - tag0), buf + at, k);
    }
    ward_wipe(pt, sizeof pt);
    return err;
}

ward_err_t vlt_copy_rec(ward_vault_t *v, uint32_t dst, const ward_vault_rec_t *r)
{
    uint8_t buf[VLT_CHUNK], want[4] = {0}, tag[VLT_TAG], pt[VLT_CHUNK + VLT_TAG];
    psa_aead_operation_t op = psa_aead_operation_init();
    const uint32_t rec_len = VLT_REC_OVERHEAD + r->nlen + r->vlen;
    const uint32_t len = vlt_pad(v, rec_len), body = rec_len - 4u;
    uint32_t crc = 0, pos = 0;
    size_t olen = 0;
    ward_err_t err = WARD_OK;
    while (pos < len && err == WARD_OK) {
        uint32_t n = len - pos < VLT_CHUNK ? len - pos : VLT_CHUNK;
        err = vlt_read(v, r->off + pos, buf, n);
        if (err != WARD_OK) {
            break;
        }
        /* The copy's length comes from the mount's reading of the record:
         * the bytes about to be programmed must agree with it. */
        if (pos == 0u && (buf[0] != VLT_T_RECORD || !crc_at(buf, 8) || buf[1] != r->nlen ||
                          ward_load_le16(buf + 2) != r->vlen || ward_load_le32(buf + 4) != r->seq)) {
            err = WARD_ERR_CORRUPT;
            break;
        }
        /* An intact record's copy is authenticated over the bytes
         * programmed, as they go (the first chunk holds the header and the
         * nonce): a flash that answers this read with other bytes and a
         * fixed CRC cannot have a forgery replace the record it erases. */
        if (pos == 0u && r->good != 0u &&
            (psa_aead_decrypt_setup(&op, v->aead_key, vlt_aead_alg(v)) != PSA_SUCCESS ||
             psa_aead_set_lengths(&op, WARD_VAULT_ID_LEN + 8u + r->nlen, r->vlen) != PSA_SUCCESS ||
             psa_aead_set_nonce(&op, buf + VLT_REC_HDR, VLT_NONCE) != PSA_SUCCESS ||
             psa_aead_update_ad(&op, v->vault_id, WARD_VAULT_ID_LEN) != PSA_SUCCESS ||
             psa_aead_update_ad(&op, buf, 8) != PSA_SUCCESS)) {
            err = WARD_ERR_CRYPTO;
            break;
        }
        if (r->good != 0u) {
            err = copy_auth(&op, r, buf, pos, n, tag);
        }
        if (err == WARD_OK) {
            err = vlt_prog(v, dst + pos, buf, n);
        }
        if (err != WARD_OK) {
            break;
        }
        landed(v, dst + pos);
        /* The CRC of exactly the bytes programmed: a flash that answers
         * this read differently from the mount's cannot slip a changed
         * record into the copy that replaces the original. */
        crc = crc_feed(crc, want, buf, pos, n, body);
        pos += n;
    }
    if (err == WARD_OK && r->good != 0u) {
        const psa_status_t st = psa_aead_verify(&op, pt, sizeof pt, &olen, tag, VLT_TAG);
        err = st == PSA_ERROR_INVALID_SIGNATURE || ward_load_le32(want) != crc ? WARD_ERR_CORRUPT
              : st != PSA_SUCCESS                                          ? WARD_ERR_CRYPTO
                                                                            : WARD_OK;
    }
    (void)psa_aead_abort(&op);
    ward_wipe(pt, sizeof pt);
    return err;
}

/* ---- entries ------------------------------------------------------------------ */

bool vlt_parse(const ward_vault_t *v, const uint8_t *h, size_t avail, uint32_t room,
               vlt_entry_t *e)
{
    (void)v;
    uint32_t len;
    if (avail < VLT_REC_HDR) {
        return false;
    }
    switch (h[0]) {
    case VLT_T_RECORD: {
        uint32_t nlen = h[1];
        uint32_t vlen = ward_load_le16(h + 2);
        if (!crc_at(h, 8) || nlen == 0u || nlen > WARD_VAULT_NAME_MAX ||
            vlen > WARD_VAULT_VALUE_MAX || ward_load_le32(h + 4) == 0u) {
            return false;
        }
        len = VLT_REC_OVERHEAD + nlen + vlen;
        break;
    }
    case VLT_T_COMMIT:
        if (avail < VLT_COMMIT_BODY || h[1] < VLT_OP_PUT || h[1] > VLT_OP_SESSION || h[2] != 0u ||
            h[3] != 0u || !crc_at(h, 20)) {
            return false;
        }
        len = VLT_COMMIT_LEN;
        break;
    case VLT_T_CKPT:
        if (avail < VLT_CKPT_HDR || h[1] > WARD_VAULT_MAX_RECORDS || h[2] != 0u || h[3] != 0u ||
            !crc_at(h, 12)) {
            return false;
        }
        len = VLT_CKPT_FIXED + VLT_CKPT_ENTRY * (uint32_t)h[1];
        break;
    default:
        return false;
    }
    if (len > room) {
        return false;
    }
    e->type = h[0];
    e->len = len;
    memset(e->h, 0xFF, sizeof e->h);
    memcpy(e->h, h, avail < VLT_PEEK ? avail : VLT_PEEK);
    return true;
}

ward_err_t vlt_rec_head(const ward_vault_t *v, uint32_t off, vlt_rec_head_t *rh, bool *ok)
{
    vlt_entry_t e;
    const uint32_t s = vlt_sector_of(v, off);
    const uint32_t room = vlt_sbase(v, s) + vlt_ssize(v, s) - off;
    const uint32_t avail = room < VLT_REC_NAME ? room : VLT_REC_NAME;
    *ok = false;
    rh->off = off;
    memset(rh->h, 0xFF, sizeof rh->h);
    ward_err_t err = vlt_read(v, off, rh->h, avail);
    if (err != WARD_OK || !vlt_parse(v, rh->h, avail, room, &e) || e.type != VLT_T_RECORD) {
        return err;
    }
    /* vlt_parse bounded the name and the whole record by the sector. */
    err = vlt_read(v, off + VLT_REC_NAME, rh->name, rh->h[1]);
    *ok = err == WARD_OK;
    return err;
}

/* CRC of a record's head as read. */
static uint32_t head_crc(const vlt_rec_head_t *rh)
{
    return ward_crc32(ward_crc32(0, rh->h, VLT_REC_NAME), rh->name, rh->h[1]);
}

ward_err_t vlt_rec_crc_ok(const ward_vault_t *v, const vlt_rec_head_t *rh, bool *ok)
{
    uint8_t buf[VLT_CHUNK], want[4] = {0};
    const uint32_t vlen = ward_load_le16(rh->h + 2);
    const uint32_t start = rh->off + VLT_REC_NAME + rh->h[1];
    const uint32_t body = vlen + VLT_TAG; /* after the name, before the CRC */
    uint32_t crc = head_crc(rh), pos = 0;
    *ok = false;
    while (pos < body + 4u) {
        uint32_t n = body + 4u - pos < VLT_CHUNK ? body + 4u - pos : VLT_CHUNK;
        ward_err_t err = vlt_read(v, start + pos, buf, n);
        if (err != WARD_OK) {
            return err;
        }
        crc = crc_feed(crc, want, buf, pos, n, body);
        pos += n;
    }
    *ok = ward_load_le32(want) == crc;
    return WARD_OK;
}

void vlt_w_init(vlt_writer_t *w, ward_vault_t *v, uint32_t off, psa_mac_operation_t *mac)
{
    w->v = v;
    w->off = off;
    w->n = 0;
    w->total = 0;
    w->crc = 0;
    w->mac = mac;
}

ward_err_t vlt_w_put(vlt_writer_t *w, const void *p, size_t n)
{
    const uint8_t *b = p;
    if (n == 0u) {
        return WARD_OK;
    }
    w->crc = ward_crc32(w->crc, b, n);
    if (w->mac != NULL && psa_mac_update(w->mac, b, n) != PSA_SUCCESS) {
        return WARD_ERR_CRYPTO;
    }
    while (n > 0u) {
        size_t k = VLT_CHUNK - w->n;
        if (k > n) {
            k = n;
        }
        memcpy(w->buf + w->n, b, k);
        w->n += (uint32_t)k;
        w->total += (uint32_t)k;
        b += k;
        n -= k;
        if (w->n == VLT_CHUNK) {
            ward_err_t err = vlt_prog(w->v, w->off, w->buf, VLT_CHUNK);
            if (err != WARD_OK) {
                return err;
            }
            landed(w->v, w->off);
            w->off += VLT_CHUNK;
            w->n = 0;
        }
    }
    return WARD_OK;
}

ward_err_t vlt_w_end(vlt_writer_t *w)
{
    if (w->n == 0u) {
        return WARD_OK;
    }
    uint32_t len = vlt_pad(w->v, w->n);
    memset(w->buf + w->n, 0xFF, len - w->n);
    ward_err_t err = vlt_prog(w->v, w->off, w->buf, len);
    if (err == WARD_OK) {
        landed(w->v, w->off);
    }
    w->off += len;
    w->n = 0;
    return err;
}

/* ---- sector header -------------------------------------------------------------- */

bool vlt_shdr_decode(const uint8_t buf[VLT_SHDR], vlt_shdr_t *h)
{
    memset(h, 0, sizeof *h);
    if (memcmp(buf, k_magic, 4) != 0) {
        return false;
    }
    if (buf[4] < VLT_FORMAT) {
        /* An older format's 48-byte header: known, to be refused as such. */
        if (!crc_at(buf, VLT_SHDR_V2 - 4u)) {
            return false;
        }
        h->format = buf[4];
        h->erases = ward_load_le32(buf + 16);
        return true;
    }
    if (!crc_at(buf, VLT_SHDR_CRC)) {
        return false;
    }
    h->format = buf[4];
    h->alg = buf[5];
    h->wsize = buf[6];
    h->nsect = buf[7];
    h->ssize = ward_load_le32(buf + 8);
    h->epoch = ward_load_le32(buf + 12);
    h->erases = ward_load_le32(buf + 16);
    memcpy(h->id, buf + 20, WARD_VAULT_ID_LEN);
    memcpy(h->kcv, buf + VLT_SHDR_KCV, VLT_KCV);
    memcpy(h->mac, buf + VLT_SHDR_MAC, VLT_MAC);
    return true;
}

void vlt_shdr_encode(uint8_t buf[VLT_SHDR], const vlt_shdr_t *h)
{
    memcpy(buf, k_magic, 4);
    buf[4] = h->format;
    buf[5] = h->alg;
    buf[6] = h->wsize;
    buf[7] = h->nsect;
    ward_store_le32(buf + 8, h->ssize);
    ward_store_le32(buf + 12, h->epoch);
    ward_store_le32(buf + 16, h->erases);
    memcpy(buf + 20, h->id, WARD_VAULT_ID_LEN);
    memcpy(buf + VLT_SHDR_KCV, h->kcv, VLT_KCV);
    memcpy(buf + VLT_SHDR_MAC, h->mac, VLT_MAC);
    ward_store_le32(buf + VLT_SHDR_CRC, ward_crc32(0, buf, VLT_SHDR_CRC));
}

/* ---- crypto --------------------------------------------------------------------- */

/* label = text || 0x00 || extra: the separator keeps labels unambiguous. */
static ward_err_t derive(const ward_vault_t *v, ward_hsm_key_type_t type, const char *text,
                         const uint8_t *extra, size_t extra_len, uint32_t *key)
{
    uint8_t label[64];
    size_t n = strlen(text);
    if (n + 1u + extra_len > sizeof label) {
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(label, text, n);
    label[n++] = 0;
    if (extra_len > 0u) {
        memcpy(label + n, extra, extra_len);
        n += extra_len;
    }
    const ward_hsm_t *hsm = v->cfg.hsm;
    *key = 0;
    ward_err_t err = hsm->derive_key(hsm->ctx, type, label, n, key);
    return err > 0 ? WARD_ERR_CRYPTO : err;
}

void vlt_keys_destroy(ward_vault_t *v)
{
    if (v->aead_key != 0u) {
        (void)psa_destroy_key(v->aead_key);
        v->aead_key = 0;
    }
    if (v->mac_key != 0u) {
        (void)psa_destroy_key(v->mac_key);
        v->mac_key = 0;
    }
}

ward_err_t vlt_keys(ward_vault_t *v)
{
    uint8_t extra[1 + WARD_VAULT_ID_LEN];
    vlt_keys_destroy(v);
    extra[0] = v->alg;
    memcpy(extra + 1, v->vault_id, WARD_VAULT_ID_LEN);
    ward_hsm_key_type_t t = v->alg == WARD_VAULT_AEAD_CHACHA20_POLY1305
                                ? WARD_HSM_KEY_CHACHA20_POLY1305
                                : WARD_HSM_KEY_AES256_GCM;
    ward_err_t err = derive(v, t, k_lbl_aead, extra, sizeof extra, &v->aead_key);
    if (err == WARD_OK) {
        err = derive(v, WARD_HSM_KEY_HMAC_SHA256, k_lbl_mac, v->vault_id, WARD_VAULT_ID_LEN,
                     &v->mac_key);
    }
    if (err != WARD_OK) {
        vlt_keys_destroy(v);
    }
    return err;
}

ward_err_t vlt_new_id(const ward_vault_t *v, uint32_t version, uint8_t id[WARD_VAULT_ID_LEN])
{
    uint32_t key = 0;
    uint8_t in[8], mac[PSA_HASH_LENGTH(PSA_ALG_SHA_256)];
    size_t n = 0;
    ward_err_t err = derive(v, WARD_HSM_KEY_HMAC_SHA256, k_lbl_id, NULL, 0, &key);
    if (err != WARD_OK) {
        return err;
    }
    /* Unique per device (the HUK) and per format (the counter only rises). */
    ward_store_le32(in, v->cfg.counter);
    ward_store_le32(in + 4, version);
    if (psa_mac_compute(key, PSA_ALG_HMAC(PSA_ALG_SHA_256), in, sizeof in, mac, sizeof mac, &n) !=
            PSA_SUCCESS ||
        n != sizeof mac) {
        err = WARD_ERR_CRYPTO;
    } else {
        memcpy(id, mac, WARD_VAULT_ID_LEN);
    }
    (void)psa_destroy_key(key);
    ward_wipe(mac, sizeof mac);
    return err;
}

ward_err_t vlt_mac_start(const ward_vault_t *v, psa_mac_operation_t *op)
{
    *op = psa_mac_operation_init();
    if (psa_mac_sign_setup(op, v->mac_key, PSA_ALG_HMAC(PSA_ALG_SHA_256)) != PSA_SUCCESS ||
        psa_mac_update(op, v->vault_id, WARD_VAULT_ID_LEN) != PSA_SUCCESS) {
        (void)psa_mac_abort(op);
        return WARD_ERR_CRYPTO;
    }
    return WARD_OK;
}

ward_err_t vlt_mac_finish(psa_mac_operation_t *op, uint8_t mac[VLT_MAC])
{
    uint8_t full[PSA_HASH_LENGTH(PSA_ALG_SHA_256)];
    size_t n = 0;
    ward_err_t err = WARD_ERR_CRYPTO;
    if (psa_mac_sign_finish(op, full, sizeof full, &n) == PSA_SUCCESS && n == sizeof full) {
        memcpy(mac, full, VLT_MAC);
        err = WARD_OK;
    }
    (void)psa_mac_abort(op);
    ward_wipe(full, sizeof full);
    return err;
}

ward_err_t vlt_kcv(const ward_vault_t *v, uint8_t alg, uint8_t kcv[VLT_KCV])
{
    psa_mac_operation_t op;
    uint8_t in[1 + sizeof k_kcv - 1u + 8u];
    uint8_t mac[VLT_MAC];
    in[0] = VLT_T_KCV;
    memcpy(in + 1, k_kcv, sizeof k_kcv - 1u);
    /* Header bytes 4..11: format, AEAD, write size, sectors, sector size
     * (the area's smallest: each header holds its own sector's size, which
     * the mount checks against the map, and all headers hold this KCV).
     * The AEAD byte is bound here (it also selects K_aead's derivation), so
     * a changed one is seen at mount, before any record is read or written. */
    uint8_t *g = in + sizeof k_kcv;
    g[0] = VLT_FORMAT;
    g[1] = alg;
    g[2] = (uint8_t)v->wsize;
    g[3] = (uint8_t)v->nsect;
    ward_store_le32(g + 4, v->ssize);
    ward_err_t err = vlt_mac_start(v, &op);
    if (err != WARD_OK) {
        return err;
    }
    if (psa_mac_update(&op, in, sizeof in) != PSA_SUCCESS) {
        (void)psa_mac_abort(&op);
        return WARD_ERR_CRYPTO;
    }
    err = vlt_mac_finish(&op, mac);
    memcpy(kcv, mac, VLT_KCV);
    return err;
}

ward_err_t vlt_shdr_mac(const ward_vault_t *v, const uint8_t buf[VLT_SHDR], uint8_t mac[VLT_MAC])
{
    psa_mac_operation_t op;
    const uint8_t dom = VLT_T_HDR;
    ward_err_t err = vlt_mac_start(v, &op);
    if (err != WARD_OK) {
        return err;
    }
    if (psa_mac_update(&op, &dom, 1) != PSA_SUCCESS ||
        psa_mac_update(&op, buf, VLT_SHDR_MAC) != PSA_SUCCESS) {
        (void)psa_mac_abort(&op);
        return WARD_ERR_CRYPTO;
    }
    return vlt_mac_finish(&op, mac);
}

ward_err_t vlt_entry_mac_ok(const ward_vault_t *v, const vlt_entry_t *e, bool *ok)
{
    psa_mac_operation_t op;
    uint8_t want[VLT_MAC];
    const uint32_t body = e->len - VLT_MAC;
    *ok = false;
    if (e->full == NULL) {
        return WARD_ERR_STATE; /* only what was read into RAM is authenticated */
    }
    ward_err_t err = vlt_mac_start(v, &op);
    if (err != WARD_OK) {
        return err;
    }
    if (psa_mac_update(&op, e->full, body) != PSA_SUCCESS) {
        (void)psa_mac_abort(&op);
        return WARD_ERR_CRYPTO;
    }
    err = vlt_mac_finish(&op, want);
    if (err == WARD_OK) {
        *ok = ward_ct_equal(e->full + body, want, VLT_MAC);
    }
    return err;
}

psa_algorithm_t vlt_aead_alg(const ward_vault_t *v)
{
    return v->alg == WARD_VAULT_AEAD_CHACHA20_POLY1305 ? PSA_ALG_CHACHA20_POLY1305 : PSA_ALG_GCM;
}

/*
 * One decryption pass over a record's ciphertext: held in ram (vlen bytes),
 * or, if ram is NULL, read from flash once as it goes, then its tag and
 * stored CRC into tail (*crc continued over the ciphertext and the tag).
 * With in_place the plaintext replaces ram's ciphertext, else it is
 * dropped (wiped). WARD_OK if the tag verified, WARD_ERR_AUTH if not.
 */
static ward_err_t aead_pass(const ward_vault_t *v, const vlt_rec_head_t *rh, uint8_t *ram,
                            bool in_place, uint8_t tail[VLT_TAG + 4u], uint32_t *crc)
{
    psa_aead_operation_t op = psa_aead_operation_init();
    uint8_t ct[VLT_CHUNK], pt[VLT_CHUNK + VLT_TAG];
    const uint32_t nlen = rh->h[1];
    const uint32_t vlen = ward_load_le16(rh->h + 2);
    const uint32_t at = rh->off + VLT_REC_NAME + nlen;
    uint32_t pos = 0, opos = 0;
    size_t olen = 0;
    ward_err_t err = WARD_ERR_CRYPTO;
    psa_status_t st;

    if (psa_aead_decrypt_setup(&op, v->aead_key, vlt_aead_alg(v)) != PSA_SUCCESS ||
        psa_aead_set_lengths(&op, WARD_VAULT_ID_LEN + 8u + nlen, vlen) != PSA_SUCCESS ||
        psa_aead_set_nonce(&op, rh->h + VLT_REC_HDR, VLT_NONCE) != PSA_SUCCESS ||
        psa_aead_update_ad(&op, v->vault_id, WARD_VAULT_ID_LEN) != PSA_SUCCESS ||
        psa_aead_update_ad(&op, rh->h, 8) != PSA_SUCCESS ||
        psa_aead_update_ad(&op, rh->name, nlen) != PSA_SUCCESS) {
        goto exit;
    }
    while (pos < vlen) {
        const uint32_t n = vlen - pos < VLT_CHUNK ? vlen - pos : VLT_CHUNK;
        if (ram != NULL) {
            memcpy(ct, ram + pos, n);
        } else {
            err = vlt_read(v, at + pos, ct, n);
            if (err != WARD_OK) {
                goto exit;
            }
            *crc = ward_crc32(*crc, ct, n);
            err = WARD_ERR_CRYPTO;
        }
        if (psa_aead_update(&op, ct, n, pt, sizeof pt, &olen) != PSA_SUCCESS ||
            olen > vlen - opos) {
            goto exit;
        }
        /* In place: these bytes of ram were consumed (copied to ct) already. */
        if (in_place) {
            memcpy(ram + opos, pt, olen);
        }
        opos += (uint32_t)olen;
        pos += n;
    }
    if (ram == NULL) {
        err = vlt_read(v, at + vlen, tail, VLT_TAG + 4u);
        if (err != WARD_OK) {
            goto exit;
        }
        *crc = ward_crc32(*crc, tail, VLT_TAG);
    }
    st = psa_aead_verify(&op, pt, sizeof pt, &olen, tail, VLT_TAG);
    if (st == PSA_ERROR_INVALID_SIGNATURE) {
        err = WARD_ERR_AUTH;
        goto exit;
    }
    if (st != PSA_SUCCESS || olen != vlen - opos) {
        err = WARD_ERR_CRYPTO;
        goto exit;
    }
    if (in_place) {
        memcpy(ram + opos, pt, olen);
    }
    err = WARD_OK;
exit:
    (void)psa_aead_abort(&op);
    ward_wipe(pt, sizeof pt);
    return err;
}

ward_err_t vlt_rec_open(const ward_vault_t *v, const vlt_rec_head_t *rh, uint8_t *out)
{
    uint8_t tail[VLT_TAG + 4u];
    const uint32_t vlen = ward_load_le16(rh->h + 2);
    uint32_t crc = head_crc(rh);
    ward_err_t err;

    if (out == NULL) {
        /* Authenticate only: nothing decrypted leaves this function. */
        err = aead_pass(v, rh, NULL, false, tail, &crc);
        return err == WARD_OK && crc != ward_load_le32(tail + VLT_TAG) ? WARD_ERR_AUTH : err;
    }
    /* Read once: the ciphertext into out, then the tag and the CRC. Until
     * the tag has verified over exactly these bytes, out holds ciphertext
     * only; then it is decrypted in place (a second pass, which verifies
     * again). PSA's one-shot decrypt would write plaintext into out before
     * its tag check, as the multi-part one does chunk by chunk. */
    err = vlt_read(v, rh->off + VLT_REC_NAME + rh->h[1], out, vlen);
    if (err == WARD_OK) {
        err = vlt_read(v, rh->off + VLT_REC_NAME + rh->h[1] + vlen, tail, sizeof tail);
    }
    if (err == WARD_OK) {
        crc = ward_crc32(ward_crc32(crc, out, vlen), tail, VLT_TAG);
        err = crc == ward_load_le32(tail + VLT_TAG) ? WARD_OK : WARD_ERR_AUTH;
    }
    if (err == WARD_OK) {
        err = aead_pass(v, rh, out, false, tail, &crc);
    }
    if (err == WARD_OK) {
        err = aead_pass(v, rh, out, true, tail, &crc);
    }
    if (err != WARD_OK) {
        /* Nothing of the value is left in the caller's buffer. */
        ward_wipe(out, vlen);
    }
    return err;
}
