/*
 * Test fixtures for the image tests (unit and attacks): reproducible keys,
 * images signed by ward_sign, raw image builders for malformed cases.
 * Header-only; every function is static.
 */
#ifndef WARD_TESTS_IMG_FIXTURE_H
#define WARD_TESTS_IMG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/image.h"
#include "ward/util.h"
#include "ward_sign.h"

/* A reproducible P-256 key: scalar = SHA-256("ward test key <n>"). */
typedef struct {
    psa_key_id_t id;
    uint8_t spki[WARD_SIGN_SPKI_LEN];
    uint8_t hash[32];
} fx_key_t;

static inline int fx_key(unsigned n, fx_key_t *k)
{
    char label[32];
    uint8_t d[32];
    int len = snprintf(label, sizeof label, "ward test key %u", n);
    if (ward_sha256(d, label, (size_t)len) != WARD_OK ||
        ward_sign_key_import_raw(d, &k->id) != WARD_OK ||
        ward_sign_key_spki(k->id, k->spki) != WARD_OK ||
        ward_sha256(k->hash, k->spki, sizeof k->spki) != WARD_OK) {
        return -1;
    }
    return 0;
}

static inline void fx_key_free(fx_key_t *k)
{
    (void)psa_destroy_key(k->id);
    k->id = 0;
}

/* A firmware binary of n bytes: hdr zero bytes (room for the header) then
 * a counting pattern. Caller frees. */
static inline uint8_t *fx_bin(size_t n, size_t hdr)
{
    uint8_t *b = malloc(n > 0 ? n : 1);
    for (size_t i = 0; b != NULL && i < n; i++) {
        b[i] = i < hdr ? 0u : (uint8_t)(i * 7u + 3u);
    }
    return b;
}

/* Opts used by most tests: version 1.2.3+4, SEC_CNT 7, header 32, slot 64 KiB. */
static inline void fx_opts(ward_sign_opts_t *o)
{
    ward_sign_opts_init(o);
    o->version.major = 1;
    o->version.minor = 2;
    o->version.revision = 3;
    o->version.build = 4;
    o->sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o->sec_cnt = 7;
    o->slot_size = 0x10000;
}

/* Sign a payload of payload_len bytes (header space added by pad_header). */
static inline ward_err_t fx_sign(const ward_sign_opts_t *o, size_t payload_len, psa_key_id_t key,
                                 uint8_t **out, size_t *out_len)
{
    ward_sign_opts_t opts = *o;
    opts.pad_header = true;
    uint8_t *bin = fx_bin(payload_len, 0);
    ward_err_t err = ward_sign_image(&opts, bin, payload_len, key, out, out_len);
    free(bin);
    return err;
}

/* Append one TLV entry at p; returns its size. */
static inline size_t fx_tlv(uint8_t *p, uint16_t type, uint16_t len, const void *val)
{
    ward_store_le16(p, type);
    ward_store_le16(p + 2, len);
    if (len > 0) {
        if (val != NULL) {
            memcpy(p + 4, val, len);
        } else {
            memset(p + 4, 0xA5, len);
        }
    }
    return 4u + len;
}

/*
 * Build a raw image into out (cap bytes): header (hdr_size, flags, version
 * 1.0.0+0), hdr_size-32 zero bytes, img_size pattern bytes, a protected
 * area holding prot (entries only; none when prot_len == 0 and !force_prot),
 * an unprotected area holding unprot. Returns the length, 0 if cap is
 * too small. No hash or signature is computed: see fx_fix_hash.
 */
static inline size_t fx_raw(uint8_t *out, size_t cap, uint16_t hdr_size, uint32_t img_size,
                            uint32_t flags, const uint8_t *prot, size_t prot_len,
                            const uint8_t *unprot, size_t unprot_len)
{
    const size_t psz = prot_len > 0 ? prot_len + 4u : 0u;
    const size_t total = (size_t)hdr_size + img_size + psz + 4u + unprot_len;
    if (total > cap || hdr_size < 32) {
        return 0;
    }
    memset(out, 0, hdr_size);
    ward_store_le32(out, WARD_IMAGE_MAGIC);
    ward_store_le16(out + 8, hdr_size);
    ward_store_le16(out + 10, (uint16_t)psz);
    ward_store_le32(out + 12, img_size);
    ward_store_le32(out + 16, flags);
    out[20] = 1;
    size_t pos = hdr_size;
    for (uint32_t i = 0; i < img_size; i++) {
        out[pos++] = (uint8_t)(i * 13u + 1u);
    }
    if (psz > 0) {
        ward_store_le16(out + pos, WARD_IMAGE_TLV_PROT_INFO_MAGIC);
        ward_store_le16(out + pos + 2, (uint16_t)psz);
        memcpy(out + pos + 4, prot, prot_len);
        pos += psz;
    }
    ward_store_le16(out + pos, WARD_IMAGE_TLV_INFO_MAGIC);
    ward_store_le16(out + pos + 2, (uint16_t)(4u + unprot_len));
    if (unprot_len > 0) {
        memcpy(out + pos + 4, unprot, unprot_len);
    }
    return total;
}

/* Offset of the value of the first TLV of `type` in the unprotected (or
 * protected) area of a well-formed image, or 0. Also gives its length. */
static inline size_t fx_find(const uint8_t *img, size_t len, bool prot, uint16_t type,
                             uint16_t *tlv_len)
{
    const size_t hs = ward_load_le16(img + 8);
    const size_t psz = ward_load_le16(img + 10);
    const size_t poff = hs + ward_load_le32(img + 12);
    size_t off = prot ? poff : poff + psz;
    if (prot && psz == 0) {
        return 0;
    }
    if (off + 4 > len) {
        return 0;
    }
    const size_t end = off + ward_load_le16(img + off + 2);
    for (off += 4; off + 4 <= end && end <= len;) {
        const uint16_t t = ward_load_le16(img + off);
        const uint16_t l = ward_load_le16(img + off + 2);
        if (t == type) {
            if (tlv_len != NULL) {
                *tlv_len = l;
            }
            return off + 4;
        }
        off += 4u + l;
    }
    return 0;
}

/* Recompute the SHA256 TLV (if any) of a raw image after editing hashed bytes. */
static inline void fx_fix_hash(uint8_t *img, size_t len)
{
    const size_t tlv_off = ward_load_le16(img + 8) + (size_t)ward_load_le32(img + 12) +
                           ward_load_le16(img + 10);
    size_t h = fx_find(img, len, false, WARD_TLV_SHA256, NULL);
    if (h != 0 && tlv_off <= len) {
        (void)ward_sha256(img + h, img, tlv_off);
    }
}

/* Parse + validate from memory, max_size = len. Returns the first failure
 * (parse error or validate reason), WARD_OK on success. */
static inline ward_err_t fx_check(const uint8_t *img, size_t len, uint32_t max_size,
                                  const ward_image_trust_t *trust)
{
    ward_image_mem_t m = {img, len};
    ward_image_info_t info;
    ward_err_t err = ward_image_parse(&info, ward_image_read_mem, &m, max_size);
    if (err != WARD_OK) {
        return err;
    }
    ward_err_t reason = WARD_ERR_CRYPTO;
    ward_fih_t r = ward_image_validate(&info, ward_image_read_mem, &m, trust, &reason);
    /* success and reason must agree */
    if (WARD_FIH_EQ(r) != (reason == WARD_OK)) {
        return WARD_ERR_STATE;
    }
    return reason;
}

#endif /* WARD_TESTS_IMG_FIXTURE_H */
