/*
 * ward image: parse and verify MCUboot image format v1.
 *
 * Every byte read comes from a possibly hostile image: every offset is
 * computed in 64 bits or checked before use, every TLV walk stays inside
 * its area and advances by at least one TLV header. docs/image-format.md
 * gives the order of the checks, which decides the reported reason.
 */
#include "ward/image.h"

#include <string.h>

#include "ward/crypto.h"
#include "ward/util.h"

#define IMG_UNSUPPORTED_FLAGS                                                             \
    (WARD_IMAGE_F_ENCRYPTED_AES128 | WARD_IMAGE_F_ENCRYPTED_AES256 | WARD_IMAGE_F_RAM_LOAD | \
     WARD_IMAGE_F_COMPRESSED_LZMA1 | WARD_IMAGE_F_COMPRESSED_LZMA2 |                       \
     WARD_IMAGE_F_COMPRESSED_ARM_THUMB)

/* Largest values the parser accepts for variable-length unprotected TLVs. */
#define IMG_PUBKEY_MAX 128u
#define IMG_SIG_MAX 80u

/* Hardened validation: each check that passes adds its own constant; the
 * sum must be exact at the end, read twice. */
#define STEP_HASH_TLV 0x0001u
#define STEP_HASH 0x0010u
#define STEP_SIG_TLV 0x0100u
#define STEP_KEY 0x1000u
#define STEP_SIG 0x10000u
#define STEP_SEC_CNT 0x100000u
#define STEPS_ALL                                                                      \
    (STEP_HASH_TLV + STEP_HASH + STEP_SIG_TLV + STEP_KEY + STEP_SIG + STEP_SEC_CNT)

/* Readers must return WARD_OK or a negative code; anything else is I/O. */
static ward_err_t rd(ward_image_read_fn read, void *rctx, uint64_t off, void *buf, size_t len)
{
    if (off > UINT32_MAX) {
        return WARD_ERR_IO;
    }
    ward_err_t err = read(rctx, (uint32_t)off, buf, len);
    return err > 0 ? WARD_ERR_IO : err;
}

ward_err_t ward_image_read_mem(void *ctx, uint32_t off, void *buf, size_t len)
{
    const ward_image_mem_t *m = (const ward_image_mem_t *)ctx;
    if (m == NULL || (buf == NULL && len > 0u) || (m->data == NULL && m->len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (off > m->len || len > m->len - off) {
        return WARD_ERR_IO;
    }
    if (len > 0u) {
        memcpy(buf, m->data + off, len);
    }
    return WARD_OK;
}

ward_err_t ward_image_read_area(void *ctx, uint32_t off, void *buf, size_t len)
{
    const ward_area_t *a = (const ward_area_t *)ctx;
    if (a == NULL || a->flash == NULL || (buf == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (off > a->size || len > (size_t)(a->size - off)) {
        return WARD_ERR_IO; /* past the slot: as if the flash ended there */
    }
    return ward_area_read(a, off, buf, len);
}

/* Walk one TLV area [off, end) (entries only, the info header excluded). */
static ward_err_t walk_area(ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                            uint32_t off, uint32_t end, bool prot)
{
    uint8_t b[WARD_IMAGE_TLV_HDR_SIZE];
    while (off < end) {
        if (end - off < WARD_IMAGE_TLV_HDR_SIZE) {
            return WARD_ERR_IMG_TLV; /* a partial TLV header */
        }
        ward_err_t err = rd(read, rctx, off, b, sizeof b);
        if (err != WARD_OK) {
            return err;
        }
        const uint16_t type = ward_load_le16(b);
        const uint16_t len = ward_load_le16(b + 2);
        off += WARD_IMAGE_TLV_HDR_SIZE;
        if (len > end - off) {
            return WARD_ERR_IMG_TLV; /* value runs past the area */
        }
        if (prot) {
            /* Anything may be protected (it is hashed); SEC_CNT is read. */
            if (type == WARD_TLV_SEC_CNT) {
                if (len != 4u || info->has_sec_cnt) {
                    return WARD_ERR_IMG_TLV;
                }
                err = rd(read, rctx, off, b, 4u);
                if (err != WARD_OK) {
                    return err;
                }
                info->has_sec_cnt = true;
                info->sec_cnt = ward_load_le32(b);
                info->sec_cnt_off = off;
            }
        } else {
            switch (type) {
            case WARD_TLV_KEYHASH:
                if (len != WARD_SHA256_LEN || info->has_keyhash) {
                    return WARD_ERR_IMG_TLV;
                }
                info->has_keyhash = true;
                info->keyhash_off = off;
                break;
            case WARD_TLV_PUBKEY:
                if (len == 0u || len > IMG_PUBKEY_MAX || info->pubkey_len != 0u) {
                    return WARD_ERR_IMG_TLV;
                }
                info->pubkey_len = len;
                info->pubkey_off = off;
                break;
            case WARD_TLV_SHA256:
                if (len != WARD_SHA256_LEN || info->has_hash) {
                    return WARD_ERR_IMG_TLV;
                }
                info->has_hash = true;
                info->hash_off = off;
                break;
            case WARD_TLV_ECDSA_SIG:
                if (len == 0u || len > IMG_SIG_MAX) {
                    return WARD_ERR_IMG_TLV;
                }
                info->sig_count++;
                break;
            case WARD_TLV_SHA384:
            case WARD_TLV_SHA512:
            case WARD_TLV_RSA2048_PSS:
            case WARD_TLV_RSA3072_PSS:
            case WARD_TLV_ED25519:
            case WARD_TLV_SIG_PURE:
            case WARD_TLV_ENC_RSA2048:
            case WARD_TLV_ENC_KW:
            case WARD_TLV_ENC_EC256:
            case WARD_TLV_ENC_X25519:
            case WARD_TLV_ENC_X25519_SHA512:
                return WARD_ERR_IMG_UNSUPPORTED;
            default:
                return WARD_ERR_IMG_TLV; /* not allowed unprotected */
            }
        }
        off += len;
    }
    return WARD_OK;
}

ward_err_t ward_image_header_decode(ward_image_info_t *info, const uint8_t hdr[32])
{
    if (info == NULL || hdr == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(info, 0, sizeof *info);
    info->load_addr = ward_load_le32(hdr + 4);
    info->hdr_size = ward_load_le16(hdr + 8);
    info->prot_tlv_size = ward_load_le16(hdr + 10);
    info->img_size = ward_load_le32(hdr + 12);
    info->flags = ward_load_le32(hdr + 16);
    info->version.major = hdr[20];
    info->version.minor = hdr[21];
    info->version.revision = ward_load_le16(hdr + 22);
    info->version.build = ward_load_le32(hdr + 24);
    return ward_load_le32(hdr) == WARD_IMAGE_MAGIC ? WARD_OK : WARD_ERR_IMG_MAGIC;
}

static ward_err_t parse(ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                        uint32_t max_size)
{
    uint8_t h[WARD_IMAGE_HEADER_SIZE];
    uint8_t ti[WARD_IMAGE_TLV_INFO_SIZE];
    ward_err_t err;

    /* 1. The header itself must fit. */
    if (max_size < WARD_IMAGE_HEADER_SIZE) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    err = rd(read, rctx, 0, h, sizeof h);
    if (err != WARD_OK) {
        return err;
    }
    /* 2. Magic: is there an image at all? */
    err = ward_image_header_decode(info, h);
    if (err != WARD_OK) {
        return err;
    }

    /* 3. Header size. */
    if (info->hdr_size < WARD_IMAGE_HEADER_SIZE || info->hdr_size > max_size) {
        return WARD_ERR_IMG_HEADER;
    }
    /* 4. Features ward does not implement. */
    if ((info->flags & IMG_UNSUPPORTED_FLAGS) != 0u) {
        return WARD_ERR_IMG_UNSUPPORTED;
    }
    /* 5. Payload end (64-bit: hdr_size + img_size may exceed 32 bits). */
    const uint64_t poff = (uint64_t)info->hdr_size + info->img_size;
    if (poff > max_size) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    /* 6. Protected area, when the header announces one. */
    const uint32_t psz = info->prot_tlv_size;
    if (psz != 0u) {
        if (psz > WARD_CONFIG_IMAGE_MAX_TLV || poff + psz > max_size) {
            return WARD_ERR_IMG_TOO_LARGE;
        }
        if (psz < WARD_IMAGE_TLV_INFO_SIZE) {
            return WARD_ERR_IMG_TLV;
        }
        err = rd(read, rctx, poff, ti, sizeof ti);
        if (err != WARD_OK) {
            return err;
        }
        if (ward_load_le16(ti) != WARD_IMAGE_TLV_PROT_INFO_MAGIC || ward_load_le16(ti + 2) != psz) {
            return WARD_ERR_IMG_TLV;
        }
    }
    /* 7. Unprotected area. */
    const uint64_t toff = poff + psz;
    if (toff + WARD_IMAGE_TLV_INFO_SIZE > max_size) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    err = rd(read, rctx, toff, ti, sizeof ti);
    if (err != WARD_OK) {
        return err;
    }
    const uint32_t tot = ward_load_le16(ti + 2);
    if (ward_load_le16(ti) != WARD_IMAGE_TLV_INFO_MAGIC || tot < WARD_IMAGE_TLV_INFO_SIZE) {
        return WARD_ERR_IMG_TLV;
    }
    if (psz + tot > WARD_CONFIG_IMAGE_MAX_TLV || toff + tot > max_size) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    /* Everything now lies below max_size <= UINT32_MAX. */
    info->prot_tlv_off = (uint32_t)poff;
    info->tlv_off = (uint32_t)toff;
    info->tlv_size = tot;
    info->total_size = (uint32_t)(toff + tot);

    /* 8. The entries: protected first, then unprotected. */
    err = walk_area(info, read, rctx, (uint32_t)poff + WARD_IMAGE_TLV_INFO_SIZE,
                    (uint32_t)poff + psz, true);
    if (err != WARD_OK) {
        return err;
    }
    return walk_area(info, read, rctx, info->tlv_off + WARD_IMAGE_TLV_INFO_SIZE, info->total_size,
                     false);
}

ward_err_t ward_image_parse(ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                            uint32_t max_size)
{
    if (info == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(info, 0, sizeof *info);
    if (read == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = parse(info, read, rctx, max_size);
    if (err != WARD_OK) {
        memset(info, 0, sizeof *info);
    }
    return err;
}

/* A parsed info that does not hold together is a caller bug (or memory
 * corruption); refuse it rather than read at its offsets. */
static bool info_consistent(const ward_image_info_t *info)
{
    const uint64_t end = (uint64_t)info->tlv_off + info->tlv_size;
    const uint64_t poff = (uint64_t)info->hdr_size + info->img_size;
    if (info->hdr_size < WARD_IMAGE_HEADER_SIZE || poff != info->prot_tlv_off ||
        poff + info->prot_tlv_size != info->tlv_off || end != info->total_size ||
        info->tlv_size < WARD_IMAGE_TLV_INFO_SIZE) {
        return false;
    }
    const uint64_t first = (uint64_t)info->tlv_off + WARD_IMAGE_TLV_INFO_SIZE;
    if (info->has_hash && (info->hash_off < first || info->hash_off + 32ull > end)) {
        return false;
    }
    if (info->has_keyhash && (info->keyhash_off < first || info->keyhash_off + 32ull > end)) {
        return false;
    }
    if (info->pubkey_len > IMG_PUBKEY_MAX ||
        (info->pubkey_len > 0u &&
         (info->pubkey_off < first || (uint64_t)info->pubkey_off + info->pubkey_len > end))) {
        return false;
    }
    if (info->has_sec_cnt &&
        (info->sec_cnt_off < info->prot_tlv_off || info->sec_cnt_off + 4ull > info->tlv_off)) {
        return false;
    }
    return true;
}

/* SHA-256 over [0, tlv_off) in chunks; when sec_cnt is given, also returns
 * the SEC_CNT value exactly as it went through the hash. */
static ward_err_t hash_image(const ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                             uint8_t out[WARD_SHA256_LEN], uint32_t *sec_cnt)
{
    uint8_t chunk[WARD_CONFIG_IMAGE_CHUNK];
    uint8_t cnt[4] = {0, 0, 0, 0};
    ward_sha256_t sha;
    ward_err_t err = ward_sha256_start(&sha);
    if (err != WARD_OK) {
        return err;
    }
    const uint32_t len = info->tlv_off;
    const uint32_t c0 = info->sec_cnt_off;
    for (uint32_t off = 0; off < len;) {
        const uint32_t n = len - off < sizeof chunk ? len - off : (uint32_t)sizeof chunk;
        err = rd(read, rctx, off, chunk, n);
        if (err == WARD_OK) {
            err = ward_sha256_update(&sha, chunk, n);
        }
        if (err != WARD_OK) {
            ward_sha256_abort(&sha);
            return err;
        }
        if (sec_cnt != NULL && info->has_sec_cnt) {
            for (uint32_t i = 0; i < 4u; i++) {
                const uint64_t at = (uint64_t)c0 + i;
                if (at >= off && at < (uint64_t)off + n) {
                    cnt[i] = chunk[at - off];
                }
            }
        }
        off += n;
    }
    if (sec_cnt != NULL) {
        *sec_cnt = ward_load_le32(cnt);
    }
    return ward_sha256_finish(&sha, out);
}

ward_err_t ward_image_hash(const ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                           uint8_t out[32])
{
    if (out == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (info == NULL || read == NULL || !info_consistent(info)) {
        memset(out, 0, 32);
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = hash_image(info, read, rctx, out, NULL);
    if (err != WARD_OK) {
        memset(out, 0, 32);
    }
    return err;
}

/* Find the key to verify with: the PUBKEY TLV or the trusted SPKI, either
 * way hashing to trust->key_hash; a KEYHASH TLV must name the same key. */
static ward_err_t select_key(const ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                             const ward_image_trust_t *trust, uint8_t pub[WARD_P256_PUB_LEN])
{
    uint8_t h[WARD_SHA256_LEN];
    ward_err_t err;

    if (info->pubkey_len > 0u) {
        uint8_t spki[IMG_PUBKEY_MAX];
        err = rd(read, rctx, info->pubkey_off, spki, info->pubkey_len);
        if (err == WARD_OK) {
            err = ward_sha256(h, spki, info->pubkey_len);
        }
        if (err != WARD_OK) {
            return err;
        }
        if (!ward_ct_equal(h, trust->key_hash, WARD_SHA256_LEN)) {
            return WARD_ERR_IMG_KEY;
        }
        if (ward_p256_spki_parse(pub, spki, info->pubkey_len) != WARD_OK) {
            return WARD_ERR_IMG_KEY;
        }
    } else {
        if (trust->spki == NULL) {
            return WARD_ERR_IMG_KEY;
        }
        err = ward_sha256(h, trust->spki, trust->spki_len);
        if (err != WARD_OK) {
            return err;
        }
        if (!ward_ct_equal(h, trust->key_hash, WARD_SHA256_LEN)) {
            return WARD_ERR_IMG_KEY;
        }
        if (ward_p256_spki_parse(pub, trust->spki, trust->spki_len) != WARD_OK) {
            return WARD_ERR_IMG_KEY;
        }
    }
    if (info->has_keyhash) {
        err = rd(read, rctx, info->keyhash_off, h, sizeof h);
        if (err != WARD_OK) {
            return err;
        }
        if (!ward_ct_equal(h, trust->key_hash, WARD_SHA256_LEN)) {
            return WARD_ERR_IMG_KEY;
        }
    }
    return WARD_OK;
}

ward_err_t ward_image_tlv_begin(ward_image_tlv_iter_t *it, const ward_image_info_t *info)
{
    if (it == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(it, 0, sizeof *it);
    if (info == NULL || !info_consistent(info)) {
        return WARD_ERR_INVALID_ARG;
    }
    it->off = info->prot_tlv_off + (info->prot_tlv_size != 0u ? WARD_IMAGE_TLV_INFO_SIZE : 0u);
    it->prot_end = info->tlv_off;
    it->tlv_off = info->tlv_off;
    it->end = info->total_size;
    return WARD_OK;
}

ward_err_t ward_image_tlv_next(ward_image_tlv_iter_t *it, ward_image_read_fn read, void *rctx,
                               ward_image_tlv_t *tlv)
{
    uint8_t b[WARD_IMAGE_TLV_HDR_SIZE];
    if (it == NULL || read == NULL || tlv == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (it->off == it->prot_end) {
        it->off = it->tlv_off + WARD_IMAGE_TLV_INFO_SIZE; /* skip the unprotected info */
    }
    const bool prot = it->off < it->prot_end;
    const uint32_t end = prot ? it->prot_end : it->end;
    if (it->off >= end) {
        return WARD_ERR_NOT_FOUND;
    }
    if (end - it->off < WARD_IMAGE_TLV_HDR_SIZE) {
        return WARD_ERR_IMG_TLV;
    }
    ward_err_t err = rd(read, rctx, it->off, b, sizeof b);
    if (err != WARD_OK) {
        return err;
    }
    const uint32_t val = it->off + WARD_IMAGE_TLV_HDR_SIZE;
    const uint16_t len = ward_load_le16(b + 2);
    if (len > end - val) {
        return WARD_ERR_IMG_TLV;
    }
    tlv->type = ward_load_le16(b);
    tlv->len = len;
    tlv->off = val;
    tlv->prot = prot;
    it->off = val + len;
    return WARD_OK;
}

/* Try every unprotected ECDSA_SIG TLV; WARD_OK as soon as one verifies.
 * The iterator re-checks every bound: flash may have changed since parsing. */
static ward_err_t check_signatures(const ward_image_info_t *info, ward_image_read_fn read,
                                   void *rctx, const uint8_t pub[WARD_P256_PUB_LEN],
                                   const uint8_t hash[WARD_SHA256_LEN])
{
    uint8_t b[IMG_SIG_MAX];
    uint8_t raw[WARD_P256_SIG_LEN];
    ward_err_t result = WARD_ERR_IMG_SIG;
    ward_image_tlv_iter_t it;
    ward_image_tlv_t t;

    ward_err_t err = ward_image_tlv_begin(&it, info);
    while (err == WARD_OK && (err = ward_image_tlv_next(&it, read, rctx, &t)) == WARD_OK) {
        if (t.prot || t.type != WARD_TLV_ECDSA_SIG) {
            continue;
        }
        if (t.len == 0u || t.len > IMG_SIG_MAX) {
            return WARD_ERR_IMG_TLV;
        }
        err = rd(read, rctx, t.off, b, t.len);
        if (err != WARD_OK) {
            return err;
        }
        if (ward_ecdsa_der_to_raw(raw, b, t.len) == WARD_OK) {
            err = ward_p256_verify(pub, hash, raw);
            if (err == WARD_OK) {
                return WARD_OK;
            }
            if (err == WARD_ERR_CRYPTO) {
                result = WARD_ERR_CRYPTO;
            }
            err = WARD_OK;
        }
    }
    return err == WARD_ERR_NOT_FOUND ? result : err;
}

ward_fih_t ward_image_validate(const ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                               const ward_image_trust_t *trust, ward_err_t *reason)
{
    volatile uint32_t steps = 0;
    volatile ward_fih_t res = WARD_FIH_FAILURE;
    uint8_t hash[WARD_SHA256_LEN];
    uint8_t want[WARD_SHA256_LEN];
    uint8_t pub[WARD_P256_PUB_LEN];
    uint32_t hashed_cnt = 0;
    ward_err_t err = WARD_ERR_INVALID_ARG;

    if (info == NULL || read == NULL || trust == NULL || trust->key_hash == NULL ||
        !info_consistent(info)) {
        goto out;
    }

    /* 1. A hash to check against. */
    if (!info->has_hash) {
        err = WARD_ERR_IMG_UNSIGNED;
        goto out;
    }
    steps += STEP_HASH_TLV;

    /* 2. The contents match it (compared twice, constant time). */
    err = hash_image(info, read, rctx, hash, &hashed_cnt);
    if (err == WARD_OK) {
        err = rd(read, rctx, info->hash_off, want, sizeof want);
    }
    if (err != WARD_OK) {
        goto out;
    }
    if (!ward_ct_equal(hash, want, sizeof hash)) {
        err = WARD_ERR_IMG_HASH;
        goto out;
    }
    /* The counter checked below must be the one that was hashed. */
    if (info->has_sec_cnt && hashed_cnt != info->sec_cnt) {
        err = WARD_ERR_IMG_HASH;
        goto out;
    }
    if (ward_ct_equal(hash, want, sizeof hash)) {
        steps += STEP_HASH;
    }

    /* 3. At least one signature. */
    if (info->sig_count == 0u) {
        err = WARD_ERR_IMG_UNSIGNED;
        goto out;
    }
    steps += STEP_SIG_TLV;

    /* 4. The key is the trusted one. */
    err = select_key(info, read, rctx, trust, pub);
    if (err != WARD_OK) {
        goto out;
    }
    steps += STEP_KEY;

    /* 5. A signature over the hash verifies with it. */
    err = check_signatures(info, read, rctx, pub, hash);
    if (err != WARD_OK) {
        goto out;
    }
    steps += STEP_SIG;

    /* 6. Anti-rollback floor. */
    const uint32_t cnt = info->has_sec_cnt ? info->sec_cnt : 0u;
    if (cnt < trust->min_sec_cnt) {
        err = WARD_ERR_IMG_SEC_CNT;
        goto out;
    }
    steps += STEP_SEC_CNT;
    err = WARD_OK;

out:
    if (err == WARD_OK && steps == STEPS_ALL) {
        res = WARD_FIH_SUCCESS;
    }
    /* Second, independent look at the same facts. */
    if (res == WARD_FIH_SUCCESS && (steps != STEPS_ALL || err != WARD_OK)) {
        res = WARD_FIH_FAILURE;
    }
    if (res != WARD_FIH_SUCCESS && err == WARD_OK) {
        /* A check was skipped (a fault): fail, and never report WARD_OK. */
        err = WARD_ERR_IMG_HASH;
    }
    if (reason != NULL) {
        *reason = res == WARD_FIH_SUCCESS ? WARD_OK : err;
    }
    return res;
}

int ward_image_version_cmp(const ward_image_version_t *a, const ward_image_version_t *b)
{
    if (a->major != b->major) {
        return a->major < b->major ? -1 : 1;
    }
    if (a->minor != b->minor) {
        return a->minor < b->minor ? -1 : 1;
    }
    if (a->revision != b->revision) {
        return a->revision < b->revision ? -1 : 1;
    }
    if (a->build != b->build) {
        return a->build < b->build ? -1 : 1;
    }
    return 0;
}
