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

uint32_t vlt_rec_limit(const ward_vault_t *v)
{
    /* vlt_setup guarantees this does not underflow. */
    return v->ssize - VLT_SHDR - 2u * vlt_ckpt_size(v, WARD_VAULT_MAX_RECORDS) -
           4u * vlt_commit_size(v);
}

uint32_t vlt_sector_of(const ward_vault_t *v, uint32_t off)
{
    return off / v->ssize;
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
    const uint32_t ss = cfg->area.flash->sector_size;
    const uint32_t n = cfg->area.size / ss;
    /* Sizes stay far below 2^32 in every sum below. */
    if (n < 2u || n > WARD_VAULT_MAX_SECTORS || ss > (1u << 24)) {
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
    ward_err_t err = ward_area_erase(&v->cfg.area, s * v->ssize, v->ssize);
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
    v->sect[off / v->ssize].unsure = 0;
}

ward_err_t vlt_copy(ward_vault_t *v, uint32_t dst, uint32_t src, uint32_t len)
{
    uint8_t buf[VLT_CHUNK];
    while (len > 0u) {
        uint32_t n = len < VLT_CHUNK ? len : VLT_CHUNK;
        ward_err_t err = vlt_read(v, src, buf, n);
        if (err == WARD_OK) {
            err = vlt_prog(v, dst, buf, n);
        }
        if (err != WARD_OK) {
            return err;
        }
        landed(v, dst);
        src += n;
        dst += n;
        len -= n;
    }
    return WARD_OK;
}

/* ---- entries ------------------------------------------------------------------ */

static bool crc_at(const uint8_t *h, size_t n)
{
    return ward_load_le32(h + n) == ward_crc32(0, h, n);
}

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

ward_err_t vlt_rec_crc_ok(const ward_vault_t *v, const vlt_entry_t *e, bool *ok)
{
    uint8_t buf[VLT_CHUNK];
    uint32_t crc = 0, pos = 0, body = e->len - 4u;
    *ok = false;
    while (pos < body) {
        uint32_t n = body - pos < VLT_CHUNK ? body - pos : VLT_CHUNK;
        ward_err_t err = vlt_read(v, e->off + pos, buf, n);
        if (err != WARD_OK) {
            return err;
        }
        crc = ward_crc32(crc, buf, n);
        pos += n;
    }
    ward_err_t err = vlt_read(v, e->off + body, buf, 4);
    if (err == WARD_OK) {
        *ok = ward_load_le32(buf) == crc;
    }
    return err;
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
    if (memcmp(buf, k_magic, 4) != 0 || !crc_at(buf, VLT_SHDR - 4u)) {
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
    memcpy(h->kcv, buf + 36, VLT_KCV);
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
    memcpy(buf + 36, h->kcv, VLT_KCV);
    ward_store_le32(buf + 44, ward_crc32(0, buf, VLT_SHDR - 4u));
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

ward_err_t vlt_kcv(const ward_vault_t *v, uint8_t kcv[VLT_KCV])
{
    psa_mac_operation_t op;
    uint8_t in[1 + sizeof k_kcv - 1u];
    uint8_t mac[VLT_MAC];
    in[0] = VLT_T_KCV;
    memcpy(in + 1, k_kcv, sizeof k_kcv - 1u);
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

ward_err_t vlt_entry_mac_ok(const ward_vault_t *v, const vlt_entry_t *e, bool *ok)
{
    psa_mac_operation_t op;
    uint8_t buf[VLT_CHUNK], want[VLT_MAC];
    uint32_t pos = 0, body = e->len - VLT_MAC;
    *ok = false;
    ward_err_t err = vlt_mac_start(v, &op);
    while (err == WARD_OK && pos < body) {
        uint32_t n = body - pos < VLT_CHUNK ? body - pos : VLT_CHUNK;
        err = vlt_read(v, e->off + pos, buf, n);
        if (err == WARD_OK && psa_mac_update(&op, buf, n) != PSA_SUCCESS) {
            err = WARD_ERR_CRYPTO;
        }
        pos += n;
    }
    if (err != WARD_OK) {
        (void)psa_mac_abort(&op);
        return err;
    }
    err = vlt_mac_finish(&op, want);
    if (err == WARD_OK) {
        err = vlt_read(v, e->off + body, buf, VLT_MAC);
    }
    if (err == WARD_OK) {
        *ok = ward_ct_equal(buf, want, VLT_MAC);
    }
    return err;
}

psa_algorithm_t vlt_aead_alg(const ward_vault_t *v)
{
    return v->alg == WARD_VAULT_AEAD_CHACHA20_POLY1305 ? PSA_ALG_CHACHA20_POLY1305 : PSA_ALG_GCM;
}

ward_err_t vlt_rec_open(const ward_vault_t *v, const vlt_entry_t *e, uint8_t *out)
{
    psa_aead_operation_t op = psa_aead_operation_init();
    uint8_t name[WARD_CONFIG_VAULT_NAME_MAX];
    uint8_t ct[VLT_CHUNK], pt[VLT_CHUNK + VLT_TAG], tag[VLT_TAG];
    const uint32_t nlen = e->h[1];
    const uint32_t vlen = ward_load_le16(e->h + 2);
    uint32_t pos = 0, opos = 0;
    size_t olen = 0;
    ward_err_t err = WARD_ERR_CRYPTO;
    psa_status_t st;

    err = vlt_read(v, e->off + VLT_REC_NAME, name, nlen);
    if (err != WARD_OK) {
        return err;
    }
    err = WARD_ERR_CRYPTO;
    if (psa_aead_decrypt_setup(&op, v->aead_key, vlt_aead_alg(v)) != PSA_SUCCESS ||
        psa_aead_set_lengths(&op, WARD_VAULT_ID_LEN + 8u + nlen, vlen) != PSA_SUCCESS ||
        psa_aead_set_nonce(&op, e->h + VLT_REC_HDR, VLT_NONCE) != PSA_SUCCESS ||
        psa_aead_update_ad(&op, v->vault_id, WARD_VAULT_ID_LEN) != PSA_SUCCESS ||
        psa_aead_update_ad(&op, e->h, 8) != PSA_SUCCESS ||
        psa_aead_update_ad(&op, name, nlen) != PSA_SUCCESS) {
        goto exit;
    }
    while (pos < vlen) {
        uint32_t n = vlen - pos < VLT_CHUNK ? vlen - pos : VLT_CHUNK;
        err = vlt_read(v, e->off + VLT_REC_NAME + nlen + pos, ct, n);
        if (err != WARD_OK) {
            goto exit;
        }
        err = WARD_ERR_CRYPTO;
        if (psa_aead_update(&op, ct, n, pt, sizeof pt, &olen) != PSA_SUCCESS || olen > vlen - opos) {
            goto exit;
        }
        if (out != NULL) {
            memcpy(out + opos, pt, olen);
        }
        opos += (uint32_t)olen;
        pos += n;
    }
    err = vlt_read(v, e->off + VLT_REC_NAME + nlen + vlen, tag, VLT_TAG);
    if (err != WARD_OK) {
        goto exit;
    }
    st = psa_aead_verify(&op, pt, sizeof pt, &olen, tag, VLT_TAG);
    if (st == PSA_ERROR_INVALID_SIGNATURE) {
        err = WARD_ERR_AUTH;
        goto exit;
    }
    if (st != PSA_SUCCESS || olen != vlen - opos) {
        err = WARD_ERR_CRYPTO;
        goto exit;
    }
    if (out != NULL) {
        memcpy(out + opos, pt, olen);
    }
    err = WARD_OK;
exit:
    (void)psa_aead_abort(&op);
    ward_wipe(pt, sizeof pt);
    if (err != WARD_OK && out != NULL) {
        /* Nothing unauthenticated is left in the caller's buffer. */
        ward_wipe(out, vlen);
    }
    return err;
}
