/*
 * ward image: parse and verify MCUboot image format v1.
 *
 * Every byte read comes from a possibly hostile image: every offset is
 * checked before use, in 32 bits without overflow (a sum is formed only
 * after a subtraction showed it fits), every TLV walk stays inside its area
 * and advances by at least one TLV header. docs/image-format.md gives the
 * order of the checks, which decides the reported reason.
 */
#include "ward/image.h"

#include <stddef.h>
#include <string.h>

#include "image_priv.h"
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

/* [off, off + len) lies inside [lo, hi). No sum is formed, so nothing wraps. */
static bool span_ok(uint32_t off, uint32_t len, uint32_t lo, uint32_t hi)
{
    return off >= lo && off <= hi && len <= hi - off;
}

/* Readers must return WARD_OK or a negative code; anything else is I/O. */
static ward_err_t rd(ward_image_read_fn read, void *rctx, uint32_t off, void *buf, size_t len)
{
    ward_err_t err = read(rctx, off, buf, len);
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
    if (a == NULL || a->flash == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (off > a->size || len > (size_t)(a->size - off)) {
        return WARD_ERR_IO; /* past the slot: as if the flash ended there */
    }
    return ward_area_read(a, off, buf, len); /* also refuses a NULL buf */
}

/* The TLV walk shared by the parser, the signature check and the public
 * iterator: protected entries, then unprotected ones, every bound checked
 * at every step (the image may change between two walks). */
static ward_err_t tlv_next(ward_image_tlv_iter_t *it, ward_image_read_fn read, void *rctx,
                           ward_image_tlv_t *tlv)
{
    uint8_t b[WARD_IMAGE_TLV_HDR_SIZE];
    if (it->off == it->prot_end) {
        it->off = it->tlv_off + WARD_IMAGE_TLV_INFO_SIZE; /* skip the unprotected info */
    }
    const bool prot = it->off < it->prot_end;
    const uint32_t end = prot ? it->prot_end : it->end;
    if (it->off >= end) {
        return WARD_ERR_NOT_FOUND;
    }
    if (end - it->off < WARD_IMAGE_TLV_HDR_SIZE) {
        return WARD_ERR_IMG_TLV; /* a partial TLV header */
    }
    ward_err_t err = rd(read, rctx, it->off, b, sizeof b);
    if (err != WARD_OK) {
        return err;
    }
    const uint32_t val = it->off + WARD_IMAGE_TLV_HDR_SIZE;
    const uint16_t len = ward_load_le16(b + 2);
    if (len > end - val) {
        return WARD_ERR_IMG_TLV; /* value runs past the area */
    }
    tlv->type = ward_load_le16(b);
    tlv->len = len;
    tlv->off = val;
    tlv->prot = prot;
    it->off = val + len;
    return WARD_OK;
}

/* Position an iterator on a parsed (or checked) info. */
static void tlv_start(ward_image_tlv_iter_t *it, const ward_image_info_t *info)
{
    it->off = info->prot_tlv_off + (info->prot_tlv_size != 0u ? WARD_IMAGE_TLV_INFO_SIZE : 0u);
    it->prot_end = info->tlv_off;
    it->tlv_off = info->tlv_off;
    it->end = info->total_size;
}

/* Check one entry against the rules of docs/image-format.md section 3 and
 * record what the verifier needs. */
static ward_err_t take_tlv(ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                           const ward_image_tlv_t *t)
{
    const uint32_t type = t->type;
    const uint32_t len = t->len;
    bool *seen;
    uint32_t *where;

    if (t->prot) {
        /* Anything may be protected (it is hashed); SEC_CNT is read. */
        uint8_t b[4];
        if (type != WARD_TLV_SEC_CNT) {
            return WARD_OK;
        }
        if (len != 4u || info->has_sec_cnt) {
            return WARD_ERR_IMG_TLV;
        }
        ward_err_t err = rd(read, rctx, t->off, b, 4u);
        if (err == WARD_OK) {
            info->has_sec_cnt = true;
            info->sec_cnt = ward_load_le32(b);
            info->sec_cnt_off = t->off;
        }
        return err;
    }
    if (type == WARD_TLV_ECDSA_SIG) {
        info->sig_count++; /* at most 1024 / 5 of them: no overflow */
        return len - 1u < IMG_SIG_MAX ? WARD_OK : WARD_ERR_IMG_TLV; /* 1..80 */
    }
    if (type == WARD_TLV_PUBKEY) {
        const bool dup = info->pubkey_len != 0u;
        info->pubkey_len = (uint16_t)len;
        info->pubkey_off = t->off;
        return !dup && len - 1u < IMG_PUBKEY_MAX ? WARD_OK : WARD_ERR_IMG_TLV; /* 1..128 */
    }
    if (type == WARD_TLV_KEYHASH) {
        seen = &info->has_keyhash;
        where = &info->keyhash_off;
    } else if (type == WARD_TLV_SHA256) {
        seen = &info->has_hash;
        where = &info->hash_off;
    } else if (type == WARD_TLV_SHA384 || type == WARD_TLV_SHA512 ||
               type == WARD_TLV_RSA2048_PSS ||
               (type >= WARD_TLV_RSA3072_PSS && type <= WARD_TLV_SIG_PURE) ||
               (type >= WARD_TLV_ENC_RSA2048 && type <= WARD_TLV_ENC_X25519_SHA512)) {
        return WARD_ERR_IMG_UNSUPPORTED;
    } else {
        return WARD_ERR_IMG_TLV; /* not allowed unprotected */
    }
    /* KEYHASH and SHA256: one of each, 32 bytes. */
    const bool dup = *seen;
    *seen = true;
    *where = t->off;
    return !dup && len == WARD_SHA256_LEN ? WARD_OK : WARD_ERR_IMG_TLV;
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

/* A TLV info header at off: its magic must be `magic`; *tot = its tlv_tot. */
static ward_err_t rd_info(ward_image_read_fn read, void *rctx, uint32_t off, uint16_t magic,
                          uint32_t *tot)
{
    uint8_t b[WARD_IMAGE_TLV_INFO_SIZE];
    ward_err_t err = rd(read, rctx, off, b, sizeof b);
    if (err == WARD_OK) {
        *tot = ward_load_le16(b + 2);
        err = ward_load_le16(b) == magic ? WARD_OK : WARD_ERR_IMG_TLV;
    }
    return err;
}

static ward_err_t parse(ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                        uint32_t max_size)
{
    uint8_t h[WARD_IMAGE_HEADER_SIZE];
    uint32_t tot = 0;
    ward_err_t err;

    /* 1. The header itself must fit. */
    if (max_size < WARD_IMAGE_HEADER_SIZE) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    err = rd(read, rctx, 0, h, sizeof h);
    /* 2. Magic: is there an image at all? */
    if (err == WARD_OK) {
        err = ward_image_header_decode(info, h);
    }
    if (err != WARD_OK) {
        return err;
    }
    /* 3. Header size. */
    const uint32_t hs = info->hdr_size;
    if (hs < WARD_IMAGE_HEADER_SIZE || hs > max_size) {
        return WARD_ERR_IMG_HEADER;
    }
    /* 4. Features ward does not implement. */
    if ((info->flags & IMG_UNSUPPORTED_FLAGS) != 0u) {
        return WARD_ERR_IMG_UNSUPPORTED;
    }
    /* 5. Payload end: hdr_size + img_size <= max_size, tested without the sum. */
    if (info->img_size > max_size - hs) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    const uint32_t poff = hs + info->img_size;
    /* 6. Protected area, when the header announces one. */
    const uint32_t psz = info->prot_tlv_size;
    if (psz != 0u) {
        if (psz > WARD_CONFIG_IMAGE_MAX_TLV || psz > max_size - poff) {
            return WARD_ERR_IMG_TOO_LARGE;
        }
        if (psz < WARD_IMAGE_TLV_INFO_SIZE) {
            return WARD_ERR_IMG_TLV;
        }
        err = rd_info(read, rctx, poff, WARD_IMAGE_TLV_PROT_INFO_MAGIC, &tot);
        if (err == WARD_OK && tot != psz) {
            err = WARD_ERR_IMG_TLV;
        }
        if (err != WARD_OK) {
            return err;
        }
    }
    /* 7. Unprotected area. */
    const uint32_t toff = poff + psz; /* <= max_size */
    if (max_size - toff < WARD_IMAGE_TLV_INFO_SIZE) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    err = rd_info(read, rctx, toff, WARD_IMAGE_TLV_INFO_MAGIC, &tot);
    if (err == WARD_OK && tot < WARD_IMAGE_TLV_INFO_SIZE) {
        err = WARD_ERR_IMG_TLV;
    }
    if (err != WARD_OK) {
        return err;
    }
    if (psz + tot > WARD_CONFIG_IMAGE_MAX_TLV || tot > max_size - toff) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    info->prot_tlv_off = poff;
    info->tlv_off = toff;
    info->tlv_size = tot;
    info->total_size = toff + tot;

    /* 8. The entries: protected first, then unprotected. */
    ward_image_tlv_iter_t it;
    ward_image_tlv_t t;
    tlv_start(&it, info);
    while ((err = tlv_next(&it, read, rctx, &t)) == WARD_OK) {
        err = take_tlv(info, read, rctx, &t);
        if (err != WARD_OK) {
            return err;
        }
    }
    return err == WARD_ERR_NOT_FOUND ? WARD_OK : err;
}

ward_err_t ward_image_parse(ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                            uint32_t max_size)
{
    ward_image_info_t tmp;
    if (info == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(info, 0, sizeof *info);
    if (read == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    /* Parse into a copy: on failure nothing half-parsed reaches *info. */
    ward_err_t err = parse(&tmp, read, rctx, max_size);
    if (err == WARD_OK) {
        *info = tmp;
    }
    return err;
}

/* A parsed info that does not hold together is a caller bug (or memory
 * corruption); refuse it rather than read at its offsets. */
static bool info_consistent(const ward_image_info_t *info)
{
    const uint32_t poff = info->prot_tlv_off;
    const uint32_t toff = info->tlv_off;
    const uint32_t end = info->total_size;
    const uint32_t first = toff + WARD_IMAGE_TLV_INFO_SIZE; /* <= end, see below */
    return info->hdr_size >= WARD_IMAGE_HEADER_SIZE &&
           span_ok(info->hdr_size, info->img_size, 0, poff) &&
           poff - info->hdr_size == info->img_size &&
           span_ok(poff, info->prot_tlv_size, 0, toff) && toff - poff == info->prot_tlv_size &&
           span_ok(toff, info->tlv_size, 0, end) && end - toff == info->tlv_size &&
           info->tlv_size >= WARD_IMAGE_TLV_INFO_SIZE &&
           (!info->has_hash || span_ok(info->hash_off, WARD_SHA256_LEN, first, end)) &&
           (!info->has_keyhash || span_ok(info->keyhash_off, WARD_SHA256_LEN, first, end)) &&
           info->pubkey_len <= IMG_PUBKEY_MAX &&
           (info->pubkey_len == 0u || span_ok(info->pubkey_off, info->pubkey_len, first, end)) &&
           (!info->has_sec_cnt || span_ok(info->sec_cnt_off, 4u, poff, toff));
}

/* The header fields ward_image_header_decode fills come first in
 * ward_image_info_t, without padding: two decodes compare byte by byte. */
#define IMG_HDR_FIELDS offsetof(ward_image_info_t, prot_tlv_off)
_Static_assert(IMG_HDR_FIELDS == 24u, "header fields of ward_image_info_t are not packed");

/*
 * SHA-256 over [0, tlv_off) in chunks. The same pass reads back, from the
 * very bytes it hashes, everything the parser took from that range: the
 * header, the walk over the protected TLVs and the SEC_CNT value (a chunk
 * starts at each header and at the counter, so each arrives in one piece).
 * A flash that answered the parser differently (one that changes between
 * reads: docs/boot.md, "a hostile flash") gives WARD_ERR_IMG_HASH, so the
 * caller acts only on values that went through the hash.
 */
static ward_err_t hash_image(const ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                             uint8_t out[WARD_SHA256_LEN])
{
    uint8_t chunk[WARD_CONFIG_IMAGE_CHUNK];
    ward_image_info_t seen; /* the header, decoded again from the hashed bytes */
    ward_sha256_t sha;
    ward_err_t err = ward_sha256_start(&sha);
    const uint32_t len = info->tlv_off;
    uint32_t at = 0;           /* where the next header (or the counter) starts */
    uint32_t cnt = 0;          /* the SEC_CNT value's offset, as walked here (0: none) */
    uint32_t cnt_val = 0;
    bool same = true;

    for (uint32_t off = 0, n; off < len && err == WARD_OK; off += n) {
        /* A header is read on its own, so the next one starts a chunk too:
         * 32 bytes at 0 (tlv_off >= hdr_size >= 32), else 4. Other chunks
         * end on a multiple of the chunk size, so SHA-256 is fed whole
         * blocks (no staging copy per chunk). */
        n = off != at ? (uint32_t)sizeof chunk - off % (uint32_t)sizeof chunk
            : off == 0u ? WARD_IMAGE_HEADER_SIZE
                        : WARD_IMAGE_TLV_HDR_SIZE;
        if (n > len - off) {
            n = len - off;
        }
        if (at > off && at - off < n) {
            n = at - off;
        }
        err = rd(read, rctx, off, chunk, n);
        if (err == WARD_OK) {
            err = ward_sha256_update(&sha, chunk, n);
        }
        if (off != at || err != WARD_OK) {
            continue;
        }
        /* Type and length of a protected TLV (or the counter's value). A
         * header cut short by the end of the area keeps stale bytes here:
         * harmless, the walk then ends (at > len) and the counter compare
         * below decides. */
        const uint32_t w = ward_load_le32(chunk);
        at = off + WARD_IMAGE_TLV_HDR_SIZE;
        if (off == 0u) {
            (void)ward_image_header_decode(&seen, chunk);
            same = ward_ct_equal((const uint8_t *)&seen, (const uint8_t *)info, IMG_HDR_FIELDS);
            /* The walk starts past the protected info header (past len, so
             * never, when there is no protected area). */
            at = info->prot_tlv_off + WARD_IMAGE_TLV_INFO_SIZE;
        } else if (off == cnt) {
            cnt_val = w;
        } else if ((w & 0xFFFFu) == WARD_TLV_SEC_CNT && cnt == 0u) {
            /* The first SEC_CNT, as the parser takes it; one of another
             * length is never what the parser accepted. */
            cnt = w >> 16 == 4u ? at : UINT32_MAX;
        } else {
            at += w >> 16; /* past an entry of no interest */
        }
    }
    /* The counter: where the parser found it, the same value (both 0 when
     * there is none: the parser leaves sec_cnt_off 0 then). */
    same = same && cnt == info->sec_cnt_off && cnt_val == info->sec_cnt;
    if (err == WARD_OK && !same) {
        err = WARD_ERR_IMG_HASH;
    }
    if (err != WARD_OK) {
        ward_sha256_abort(&sha);
        return err;
    }
    return ward_sha256_finish(&sha, out);
}

ward_err_t ward_image_hash(const ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                           uint8_t out[32])
{
    if (out == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = WARD_ERR_INVALID_ARG;
    if (info != NULL && read != NULL && info_consistent(info)) {
        err = hash_image(info, read, rctx, out);
    }
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
    uint8_t buf[IMG_PUBKEY_MAX];
    const uint8_t *spki = trust->spki;
    size_t len = trust->spki_len;
    ward_err_t err = WARD_OK;

    if (info->pubkey_len > 0u) {
        spki = buf;
        len = info->pubkey_len;
        err = rd(read, rctx, info->pubkey_off, buf, len);
    } else if (spki == NULL) {
        return WARD_ERR_IMG_KEY;
    }
    if (err == WARD_OK) {
        err = ward_sha256(h, spki, len);
    }
    if (err != WARD_OK) {
        return err;
    }
    if (!ward_ct_equal(h, trust->key_hash, WARD_SHA256_LEN) ||
        ward_p256_spki_parse(pub, spki, len) != WARD_OK) {
        return WARD_ERR_IMG_KEY;
    }
    if (info->has_keyhash) {
        err = rd(read, rctx, info->keyhash_off, h, sizeof h);
        if (err == WARD_OK && !ward_ct_equal(h, trust->key_hash, WARD_SHA256_LEN)) {
            err = WARD_ERR_IMG_KEY;
        }
    }
    return err;
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
    tlv_start(it, info);
    return WARD_OK;
}

ward_err_t ward_image_tlv_next(ward_image_tlv_iter_t *it, ward_image_read_fn read, void *rctx,
                               ward_image_tlv_t *tlv)
{
    if (it == NULL || read == NULL || tlv == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    return tlv_next(it, read, rctx, tlv);
}

/* Try every unprotected ECDSA_SIG TLV; WARD_OK as soon as one verifies.
 * The walk re-checks every bound: flash may have changed since parsing. */
static ward_err_t check_signatures(const ward_image_info_t *info, ward_image_read_fn read,
                                   void *rctx, const uint8_t pub[WARD_P256_PUB_LEN],
                                   const uint8_t hash[WARD_SHA256_LEN])
{
    uint8_t b[IMG_SIG_MAX];
    uint8_t raw[WARD_P256_SIG_LEN];
    ward_err_t result = WARD_ERR_IMG_SIG;
    ward_image_tlv_iter_t it;
    ward_image_tlv_t t;
    ward_err_t err;

    tlv_start(&it, info);
    while ((err = tlv_next(&it, read, rctx, &t)) == WARD_OK) {
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
        }
    }
    return err == WARD_ERR_NOT_FOUND ? result : err;
}

/*
 * Fault hardening: every check below is made twice, from volatile copies,
 * once to fail and once to earn its step constant; the first failure
 * sticks (a later check can never clear it). So one skipped branch either
 * leaves an error in place or withholds a step, and the result fails.
 */
/* Fault-injection tests (tests/attacks/image/test_image_fault.c) compile
 * this file again with WARD_FI_TEST, and make ward_test_fi_skip(n) true for
 * one n: failing check n is then skipped, as a glitch would skip its branch. */
#if defined(WARD_FI_TEST)
int ward_test_fi_skip(int n);
#define WARD_FI_SKIP(n) ward_test_fi_skip(n)
#else
#define WARD_FI_SKIP(n) 0
#endif

#define IMG_FAIL(e)                                                                                \
    do {                                                                                           \
        if (err == WARD_OK) {                                                                      \
            err = (e);                                                                             \
        }                                                                                          \
        goto out;                                                                                  \
    } while (0)

ward_fih_t ward_image_validate_parsed(const ward_image_info_t *info, ward_image_read_fn read,
                                      void *rctx, const ward_image_trust_t *trust,
                                      ward_err_t *reason, uint32_t *fp)
{
    volatile uint32_t steps = 0;
    volatile ward_fih_t res = WARD_FIH_FAILURE;
    volatile ward_err_t err = WARD_OK;
    volatile ward_err_t e = WARD_OK;
    volatile bool ok = false;
    uint8_t hash[WARD_SHA256_LEN];
    uint8_t want[WARD_SHA256_LEN];
    uint8_t pub[WARD_P256_PUB_LEN];

    /* 1. A hash to check against. */
    ok = info->has_hash;
    if (!ok && !WARD_FI_SKIP(1)) {
        IMG_FAIL(WARD_ERR_IMG_UNSIGNED);
    }
    if (ok) {
        steps += STEP_HASH_TLV;
    }

    /* 2. The contents match it (constant time), and what the parser read
     * from them (header, SEC_CNT) is what was hashed. */
    e = hash_image(info, read, rctx, hash);
    if (e == WARD_OK) {
        *fp = ward_load_le32(hash);
        e = rd(read, rctx, info->hash_off, want, sizeof want);
    }
    if (e != WARD_OK && !WARD_FI_SKIP(2)) {
        IMG_FAIL(e);
    }
    ok = e == WARD_OK && ward_ct_equal(hash, want, sizeof hash);
    if (!ok && !WARD_FI_SKIP(3)) {
        IMG_FAIL(WARD_ERR_IMG_HASH);
    }
    if (ok && ward_ct_equal(hash, want, sizeof hash)) {
        steps += STEP_HASH;
    }

    /* 3. At least one signature. */
    ok = info->sig_count != 0u;
    if (!ok && !WARD_FI_SKIP(4)) {
        IMG_FAIL(WARD_ERR_IMG_UNSIGNED);
    }
    if (ok) {
        steps += STEP_SIG_TLV;
    }

    /* 4. The key is the trusted one. */
    e = select_key(info, read, rctx, trust, pub);
    if (e != WARD_OK && !WARD_FI_SKIP(5)) {
        IMG_FAIL(e);
    }
    if (e == WARD_OK) {
        steps += STEP_KEY;
    }

    /* 5. A signature over the hash verifies with it. */
    e = check_signatures(info, read, rctx, pub, hash);
    if (e != WARD_OK && !WARD_FI_SKIP(6)) {
        IMG_FAIL(e);
    }
    if (e == WARD_OK) {
        steps += STEP_SIG;
    }

    /* 6. Anti-rollback floor (an image without SEC_CNT counts as 0). */
    ok = (info->has_sec_cnt ? info->sec_cnt : 0u) >= trust->min_sec_cnt;
    if (!ok && !WARD_FI_SKIP(7)) {
        IMG_FAIL(WARD_ERR_IMG_SEC_CNT);
    }
    if (ok) {
        steps += STEP_SEC_CNT;
    }

out:
    if (err == WARD_OK && steps == STEPS_ALL) {
        res = WARD_FIH_SUCCESS;
    }
    /* Second, independent look at the same facts. */
    if (res == WARD_FIH_SUCCESS && (steps != STEPS_ALL || err != WARD_OK) && !WARD_FI_SKIP(8)) {
        res = WARD_FIH_FAILURE;
    }
    if (reason != NULL) {
        /* A failure with no error recorded means a check was skipped (a
         * fault): report it as a hash failure, never as WARD_OK. */
        *reason = res == WARD_FIH_SUCCESS ? WARD_OK : (err != WARD_OK ? err : WARD_ERR_IMG_HASH);
    }
    return res;
}

#undef IMG_FAIL

ward_fih_t ward_image_validate(const ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                               const ward_image_trust_t *trust, ward_err_t *reason)
{
    if (info == NULL || read == NULL || trust == NULL || trust->key_hash == NULL ||
        !info_consistent(info)) {
        if (reason != NULL) {
            *reason = WARD_ERR_INVALID_ARG;
        }
        return WARD_FIH_FAILURE;
    }
    uint32_t fp = 0;
    return ward_image_validate_parsed(info, read, rctx, trust, reason, &fp);
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
