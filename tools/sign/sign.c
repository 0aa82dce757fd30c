/*
 * ward_sign: build MCUboot v1 images exactly as imgtool `sign` lays them
 * out (scripts/imgtool/image.py: load, create, check_trailer, pad_to).
 */
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/util.h"
#include "ward_sign.h"

#define BOOT_MAGIC_SIZE 16u
#define SEC_CNT_TLV_SIZE (WARD_IMAGE_TLV_HDR_SIZE + 4u)

/* imgtool's boot magic for max_align == 8; other alignments write the
 * alignment as u16 LE followed by the last 14 bytes below. */
static const uint8_t k_boot_magic8[BOOT_MAGIC_SIZE] = {
    0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
    0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80,
};
static const uint8_t k_boot_magic_tail[14] = {
    0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a,
};

void ward_sign_opts_init(ward_sign_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->header_size = WARD_IMAGE_HEADER_SIZE;
    opts->sec_cnt_mode = WARD_SIGN_SEC_CNT_NONE;
    opts->align = 1;
    opts->max_align = 0;
    opts->key_format = WARD_SIGN_KEY_HASH;
    opts->erased_val = 0xff;
    opts->max_sectors = WARD_SIGN_DEFAULT_MAX_SECTORS;
    opts->max_sec_cnt = UINT32_MAX;
}

bool ward_sign_sec_cnt_value(const ward_sign_opts_t *opts, uint32_t *value)
{
    *value = 0;
    if (opts->sec_cnt_mode == WARD_SIGN_SEC_CNT_AUTO) {
        *value = ((uint32_t)opts->version.major << 24) + ((uint32_t)opts->version.minor << 16) +
                 opts->version.revision;
    } else if (opts->sec_cnt_mode == WARD_SIGN_SEC_CNT_VALUE) {
        *value = opts->sec_cnt;
    }
    return opts->sec_cnt_mode != WARD_SIGN_SEC_CNT_NONE;
}

static bool is_pow2_le32(uint32_t v)
{
    return v != 0u && v <= 32u && (v & (v - 1u)) == 0u;
}

static uint32_t effective_max_align(const ward_sign_opts_t *o)
{
    if (o->max_align != 0u) {
        return o->max_align;
    }
    return o->align > WARD_SIGN_DEFAULT_MAX_ALIGN ? o->align : WARD_SIGN_DEFAULT_MAX_ALIGN;
}

uint32_t ward_sign_trailer_size(const ward_sign_opts_t *opts)
{
    const uint32_t ma = effective_max_align(opts);
    uint64_t t = (uint64_t)opts->max_sectors * 3u * opts->align; /* swap status */
    t += (uint64_t)ma * 4u;                  /* swap_size, swap_info, copy_done, image_ok */
    t += ward_align_up(BOOT_MAGIC_SIZE, ma); /* magic */
    return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/* The TLV types imgtool predefines (TLV_VALUES): refused as custom TLVs. */
static bool is_predefined_tlv(uint16_t t)
{
    static const uint16_t k[] = {0x01, 0x02, 0x10, 0x11, 0x12, 0x20, 0x22, 0x23, 0x24, 0x25,
                                 0x30, 0x31, 0x32, 0x33, 0x34, 0x40, 0x50, 0x60, 0x70, 0x71,
                                 0x72, 0x73, 0x74, 0x75};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (k[i] == t) {
            return true;
        }
    }
    return false;
}

static ward_err_t check_opts(const ward_sign_opts_t *o)
{
    if (o->header_size < WARD_IMAGE_HEADER_SIZE || o->header_size > 0xffffu) {
        return WARD_ERR_INVALID_ARG;
    }
    if (!is_pow2_le32(o->align)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (o->max_align != 0u && o->max_align != 8u && o->max_align != 16u && o->max_align != 32u) {
        return WARD_ERR_INVALID_ARG;
    }
    if (o->erased_val != 0x00u && o->erased_val != 0xffu) {
        return WARD_ERR_INVALID_ARG;
    }
    if (o->sec_cnt_mode != WARD_SIGN_SEC_CNT_NONE && o->sec_cnt_mode != WARD_SIGN_SEC_CNT_VALUE &&
        o->sec_cnt_mode != WARD_SIGN_SEC_CNT_AUTO) {
        return WARD_ERR_INVALID_ARG;
    }
    if (o->key_format != WARD_SIGN_KEY_HASH && o->key_format != WARD_SIGN_KEY_FULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if ((o->pad || o->confirm || o->test) && o->slot_size == 0u) {
        return WARD_ERR_INVALID_ARG; /* nothing to pad to */
    }
    if (o->custom_tlv_count > WARD_SIGN_MAX_CUSTOM_TLVS ||
        (o->custom_tlv_count > 0u && o->custom_tlvs == NULL)) {
        return WARD_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < o->custom_tlv_count; i++) {
        const ward_sign_tlv_t *t = &o->custom_tlvs[i];
        if (t->type < 0x00a0u || t->type > 0xfffeu || is_predefined_tlv(t->type) ||
            (t->value == NULL && t->len > 0u)) {
            return WARD_ERR_INVALID_ARG;
        }
        for (size_t j = 0; j < i; j++) {
            if (o->custom_tlvs[j].type == t->type) {
                return WARD_ERR_INVALID_ARG; /* imgtool: "already exists" */
            }
        }
    }
    return WARD_OK;
}

static uint8_t *put_tlv_hdr(uint8_t *p, uint16_t type, uint16_t len)
{
    ward_store_le16(p, type);
    ward_store_le16(p + 2, len);
    return p + WARD_IMAGE_TLV_HDR_SIZE;
}

/* Public key of a signing key as a DER SPKI; also checks it is a P-256
 * key pair. */
static ward_err_t signing_key_spki(psa_key_id_t key, uint8_t spki[WARD_SIGN_SPKI_LEN])
{
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    if (psa_get_key_attributes(key, &attr) != PSA_SUCCESS) {
        return WARD_ERR_INVALID_ARG;
    }
    bool ok = psa_get_key_type(&attr) == PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1) &&
              psa_get_key_bits(&attr) == 256u;
    psa_reset_key_attributes(&attr);
    if (!ok) {
        return WARD_ERR_INVALID_ARG;
    }
    return ward_sign_key_spki(key, spki);
}

static ward_err_t psa_signer_sign(void *ctx, const uint8_t hash[32], uint8_t sig[64])
{
    const ward_sign_signer_t *s = ctx;
    size_t n = 0;
    psa_status_t st = psa_sign_hash(s->psa_key, PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256), hash,
                                    WARD_SHA256_LEN, sig, WARD_P256_SIG_LEN, &n);
    if (st == PSA_ERROR_NOT_PERMITTED) {
        return WARD_ERR_INVALID_ARG; /* a key not allowed to sign hashes */
    }
    return st == PSA_SUCCESS && n == WARD_P256_SIG_LEN ? WARD_OK : WARD_ERR_CRYPTO;
}

ward_err_t ward_sign_signer_psa(ward_sign_signer_t *s, psa_key_id_t key)
{
    if (s == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(s, 0, sizeof *s);
    ward_err_t err = signing_key_spki(key, s->spki);
    if (err != WARD_OK) {
        return err;
    }
    s->psa_key = key;
    s->ctx = s;
    s->sign_hash = psa_signer_sign;
    return WARD_OK;
}

ward_err_t ward_sign_image(const ward_sign_opts_t *opts, const uint8_t *bin, size_t bin_len,
                           psa_key_id_t key, uint8_t **out, size_t *out_len)
{
    ward_sign_signer_t s;
    if (out == NULL || out_len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *out = NULL;
    *out_len = 0;
    if (key == 0) {
        return ward_sign_image_signer(opts, bin, bin_len, NULL, out, out_len);
    }
    ward_err_t err = ward_sign_signer_psa(&s, key);
    if (err != WARD_OK) {
        return err;
    }
    return ward_sign_image_signer(opts, bin, bin_len, &s, out, out_len);
}

ward_err_t ward_sign_image_signer(const ward_sign_opts_t *opts, const uint8_t *bin,
                                  size_t bin_len, const ward_sign_signer_t *signer, uint8_t **out,
                                  size_t *out_len)
{
    uint8_t spki[WARD_SIGN_SPKI_LEN];
    uint8_t pub[WARD_P256_PUB_LEN];
    const bool key = signer != NULL;
    uint8_t digest[WARD_SHA256_LEN];
    uint8_t keyhash[WARD_SHA256_LEN];
    uint8_t raw_sig[WARD_P256_SIG_LEN];
    uint8_t der_sig[80];
    size_t der_len = 0;
    uint8_t *img = NULL;
    ward_err_t err;

    if (out == NULL || out_len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *out = NULL;
    *out_len = 0;
    if (opts == NULL || (bin == NULL && bin_len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    err = check_opts(opts);
    if (err != WARD_OK) {
        return err;
    }
    const bool pad = opts->pad || opts->confirm || opts->test;
    const uint32_t hs = opts->header_size;
    const uint8_t ev = opts->erased_val;

    /* imgtool load(): with --pad-header the header space is prepended (erased
     * value); without it the binary must already start with hs zero bytes. */
    uint64_t payload_len = (uint64_t)bin_len + (opts->pad_header ? hs : 0u);
    if (!opts->pad_header) {
        if (bin_len < hs) {
            return WARD_ERR_IMG_HEADER;
        }
        for (uint32_t i = 0; i < hs; i++) {
            if (bin[i] != 0u) {
                return WARD_ERR_IMG_HEADER;
            }
        }
    }
    const uint64_t img_size = payload_len - hs;
    if (img_size > UINT32_MAX) {
        return WARD_ERR_IMG_TOO_LARGE;
    }

    /* Protected area: SEC_CNT, then custom TLVs (imgtool create() order). */
    uint32_t sec_cnt = 0;
    const bool has_sec_cnt = ward_sign_sec_cnt_value(opts, &sec_cnt);
    if (has_sec_cnt && sec_cnt > opts->max_sec_cnt) {
        return WARD_ERR_IMG_SEC_CNT_RANGE;
    }
    uint32_t prot_size = has_sec_cnt ? SEC_CNT_TLV_SIZE : 0u;
    for (size_t i = 0; i < opts->custom_tlv_count; i++) {
        prot_size += WARD_IMAGE_TLV_HDR_SIZE + opts->custom_tlvs[i].len;
    }
    if (prot_size != 0u) {
        prot_size += WARD_IMAGE_TLV_INFO_SIZE;
    }
    if (prot_size > 0xffffu) {
        return WARD_ERR_IMG_TOO_LARGE;
    }

    /* Unprotected area: SHA256, then KEYHASH or PUBKEY, then ECDSA_SIG. */
    if (key) {
        if (signer->sign_hash == NULL ||
            ward_p256_spki_parse(pub, signer->spki, WARD_SIGN_SPKI_LEN) != WARD_OK) {
            return WARD_ERR_INVALID_ARG;
        }
        memcpy(spki, signer->spki, sizeof spki);
    }
    uint32_t unprot_size = WARD_IMAGE_TLV_INFO_SIZE + WARD_IMAGE_TLV_HDR_SIZE + WARD_SHA256_LEN;
    if (key) {
        unprot_size += WARD_IMAGE_TLV_HDR_SIZE +
                       (opts->key_format == WARD_SIGN_KEY_FULL ? WARD_SIGN_SPKI_LEN
                                                               : WARD_SHA256_LEN);
        /* The DER length is only known after signing; reserve the maximum. */
    }

    const uint64_t hashed_len = payload_len + prot_size;
    const uint32_t tsize = ward_sign_trailer_size(opts);
    /* Worst-case total (72-byte DER signature) for the size checks below. */
    uint64_t total_max = hashed_len + unprot_size +
                         (key ? WARD_IMAGE_TLV_HDR_SIZE + 72u : 0u);
    if (total_max > UINT32_MAX || hashed_len > UINT32_MAX) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    uint64_t alloc = pad ? (total_max > opts->slot_size ? total_max : opts->slot_size) : total_max;
    if (alloc > SIZE_MAX) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    img = malloc((size_t)alloc);
    if (img == NULL) {
        return WARD_ERR_NO_SPACE;
    }

    /* Header space and payload. */
    size_t pos = 0;
    if (opts->pad_header) {
        memset(img, ev, hs);
        pos = hs;
    }
    if (bin_len > 0u) {
        memcpy(img + pos, bin, bin_len);
    }
    pos += bin_len;

    /* Header over the first 32 bytes (the rest of the header space stays). */
    ward_store_le32(img + 0, WARD_IMAGE_MAGIC);
    ward_store_le32(img + 4, opts->load_addr);
    ward_store_le16(img + 8, (uint16_t)hs);
    ward_store_le16(img + 10, (uint16_t)prot_size);
    ward_store_le32(img + 12, (uint32_t)img_size);
    ward_store_le32(img + 16, (opts->load_addr != 0u ? WARD_IMAGE_F_RAM_LOAD : 0u) |
                                  (opts->non_bootable ? WARD_IMAGE_F_NON_BOOTABLE : 0u));
    img[20] = opts->version.major;
    img[21] = opts->version.minor;
    ward_store_le16(img + 22, opts->version.revision);
    ward_store_le32(img + 24, opts->version.build);
    ward_store_le32(img + 28, 0u);

    if (prot_size != 0u) {
        ward_store_le16(img + pos, WARD_IMAGE_TLV_PROT_INFO_MAGIC);
        ward_store_le16(img + pos + 2, (uint16_t)prot_size);
        pos += WARD_IMAGE_TLV_INFO_SIZE;
        if (has_sec_cnt) {
            uint8_t *p = put_tlv_hdr(img + pos, WARD_TLV_SEC_CNT, 4u);
            ward_store_le32(p, sec_cnt);
            pos += SEC_CNT_TLV_SIZE;
        }
        for (size_t i = 0; i < opts->custom_tlv_count; i++) {
            const ward_sign_tlv_t *t = &opts->custom_tlvs[i];
            uint8_t *p = put_tlv_hdr(img + pos, t->type, t->len);
            if (t->len > 0u) {
                memcpy(p, t->value, t->len);
            }
            pos += WARD_IMAGE_TLV_HDR_SIZE + t->len;
        }
    }

    /* The hash covers header, payload and protected TLVs. */
    err = ward_sha256(digest, img, pos);
    if (err != WARD_OK) {
        goto fail;
    }
    if (key) {
        err = signer->sign_hash(signer->ctx, digest, raw_sig);
        if (err != WARD_OK) {
            goto fail;
        }
        /* A token may sign with another key than the one it names: an
         * image that no device would boot is refused here. */
        if (ward_p256_verify(pub, digest, raw_sig) != WARD_OK) {
            err = WARD_ERR_CRYPTO;
            goto fail;
        }
        err = ward_ecdsa_raw_to_der(der_sig, sizeof der_sig, &der_len, raw_sig);
        if (err != WARD_OK) {
            goto fail;
        }
        unprot_size += WARD_IMAGE_TLV_HDR_SIZE + (uint32_t)der_len;
    }

    const size_t tlv_off = pos;
    ward_store_le16(img + pos, WARD_IMAGE_TLV_INFO_MAGIC);
    ward_store_le16(img + pos + 2, (uint16_t)unprot_size);
    pos += WARD_IMAGE_TLV_INFO_SIZE;
    memcpy(put_tlv_hdr(img + pos, WARD_TLV_SHA256, WARD_SHA256_LEN), digest, WARD_SHA256_LEN);
    pos += WARD_IMAGE_TLV_HDR_SIZE + WARD_SHA256_LEN;
    if (key) {
        if (opts->key_format == WARD_SIGN_KEY_FULL) {
            memcpy(put_tlv_hdr(img + pos, WARD_TLV_PUBKEY, WARD_SIGN_SPKI_LEN), spki,
                   WARD_SIGN_SPKI_LEN);
            pos += WARD_IMAGE_TLV_HDR_SIZE + WARD_SIGN_SPKI_LEN;
        } else {
            err = ward_sha256(keyhash, spki, sizeof spki);
            if (err != WARD_OK) {
                goto fail;
            }
            memcpy(put_tlv_hdr(img + pos, WARD_TLV_KEYHASH, WARD_SHA256_LEN), keyhash,
                   WARD_SHA256_LEN);
            pos += WARD_IMAGE_TLV_HDR_SIZE + WARD_SHA256_LEN;
        }
        memcpy(put_tlv_hdr(img + pos, WARD_TLV_ECDSA_SIG, (uint16_t)der_len), der_sig, der_len);
        pos += WARD_IMAGE_TLV_HDR_SIZE + der_len;
    }
    if (pos != tlv_off + unprot_size) {
        err = WARD_ERR_CRYPTO; /* internal inconsistency; never expected */
        goto fail;
    }

    /* imgtool check_trailer(): image + trailer must fit the slot. */
    if (opts->slot_size > 0u && (uint64_t)pos + tsize > opts->slot_size) {
        err = WARD_ERR_IMG_TOO_LARGE;
        goto fail;
    }

    if (pad) {
        /* imgtool pad_to(): erased bytes up to the slot end, the boot magic
         * in its last 16 bytes, image_ok (0x01 with --confirm) one
         * max_align unit before the aligned magic. */
        const uint32_t ma = effective_max_align(opts);
        const size_t slot = opts->slot_size;
        memset(img + pos, ev, slot - pos);
        uint8_t *magic = img + slot - BOOT_MAGIC_SIZE;
        if (ma == WARD_SIGN_DEFAULT_MAX_ALIGN) {
            memcpy(magic, k_boot_magic8, BOOT_MAGIC_SIZE);
        } else {
            ward_store_le16(magic, (uint16_t)ma);
            memcpy(magic + 2, k_boot_magic_tail, sizeof k_boot_magic_tail);
        }
        if (opts->confirm) {
            img[slot - ward_align_up(BOOT_MAGIC_SIZE, ma) - ma] = 0x01u;
        }
        pos = slot;
    }

    *out = img;
    *out_len = pos;
    return WARD_OK;

fail:
    free(img);
    return err;
}

bool ward_sign_parse_version(const char *s, ward_image_version_t *v)
{
    static const char seps[4] = {'.', '.', '+', '\0'};
    static const uint64_t maxes[4] = {0xffu, 0xffu, 0xffffu, 0xffffffffu};
    uint64_t parts[4] = {0, 0, 0, 0};

    if (s == NULL || v == NULL || *s == '\0') {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        const char *start = s;
        uint64_t n = 0;
        while (*s >= '0' && *s <= '9') {
            n = n * 10u + (uint64_t)(*s - '0');
            if (n > maxes[i]) {
                return false;
            }
            s++;
        }
        if (s == start || (*start == '0' && s - start > 1)) {
            return false; /* empty part or leading zero (imgtool's regex) */
        }
        parts[i] = n;
        if (*s == '\0') {
            break;
        }
        if (*s != seps[i]) {
            return false;
        }
        s++;
        if (*s == '\0') {
            return false;
        }
    }
    v->major = (uint8_t)parts[0];
    v->minor = (uint8_t)parts[1];
    v->revision = (uint16_t)parts[2];
    v->build = (uint32_t)parts[3];
    return true;
}
