/*
 * ward image: MCUboot image format v1 (header, payload, protected and
 * unprotected TLV areas, ECDSA-P256 over SHA-256), parsed and verified
 * without allocation, streaming from flash. docs/image-format.md specifies
 * every byte.
 *
 * Layout of a signed image at the start of a slot:
 *   [0, hdr_size)                      header (32 B) + padding
 *   [hdr_size, hdr_size+img_size)      payload
 *   [prot_tlv_off, +prot_tlv_size)     protected TLVs (info 0x6908), optional
 *   [tlv_off, +tlv_size)               unprotected TLVs (info 0x6907)
 * The SHA256 TLV covers [0, tlv_off); the signature signs that digest.
 */
#ifndef WARD_IMAGE_H
#define WARD_IMAGE_H

#include "ward/port.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_IMAGE_MAGIC 0x96f3b83du
#define WARD_IMAGE_HEADER_SIZE 32u
#define WARD_IMAGE_TLV_INFO_MAGIC 0x6907u
#define WARD_IMAGE_TLV_PROT_INFO_MAGIC 0x6908u
#define WARD_IMAGE_TLV_INFO_SIZE 4u
#define WARD_IMAGE_TLV_HDR_SIZE 4u

/* TLV types (MCUboot image.h) */
#define WARD_TLV_KEYHASH 0x01u
#define WARD_TLV_PUBKEY 0x02u
#define WARD_TLV_SHA256 0x10u
#define WARD_TLV_SHA384 0x11u
#define WARD_TLV_SHA512 0x12u
#define WARD_TLV_RSA2048_PSS 0x20u
#define WARD_TLV_ECDSA_SIG 0x22u
#define WARD_TLV_RSA3072_PSS 0x23u
#define WARD_TLV_ED25519 0x24u
#define WARD_TLV_SIG_PURE 0x25u
#define WARD_TLV_ENC_RSA2048 0x30u
#define WARD_TLV_ENC_KW 0x31u
#define WARD_TLV_ENC_EC256 0x32u
#define WARD_TLV_ENC_X25519 0x33u
#define WARD_TLV_ENC_X25519_SHA512 0x34u
#define WARD_TLV_DEPENDENCY 0x40u
#define WARD_TLV_SEC_CNT 0x50u
#define WARD_TLV_BOOT_RECORD 0x60u

/* Header flags (ih_flags) */
#define WARD_IMAGE_F_PIC 0x00000001u
#define WARD_IMAGE_F_ENCRYPTED_AES128 0x00000004u
#define WARD_IMAGE_F_ENCRYPTED_AES256 0x00000008u
#define WARD_IMAGE_F_NON_BOOTABLE 0x00000010u
#define WARD_IMAGE_F_RAM_LOAD 0x00000020u
#define WARD_IMAGE_F_ROM_FIXED 0x00000100u
#define WARD_IMAGE_F_COMPRESSED_LZMA1 0x00000200u
#define WARD_IMAGE_F_COMPRESSED_LZMA2 0x00000400u
#define WARD_IMAGE_F_COMPRESSED_ARM_THUMB 0x00000800u

typedef struct ward_image_version {
    uint8_t major;
    uint8_t minor;
    uint16_t revision;
    uint32_t build;
} ward_image_version_t;

/* What ward_image_parse found. Offsets are from the image start. */
typedef struct ward_image_info {
    uint32_t load_addr;
    uint16_t hdr_size;
    uint16_t prot_tlv_size; /* 0 when there is no protected area */
    uint32_t img_size;
    uint32_t flags;
    ward_image_version_t version;
    uint32_t prot_tlv_off; /* hdr_size + img_size */
    uint32_t tlv_off;      /* unprotected TLV info header; also the hashed length */
    uint32_t tlv_size;     /* unprotected tlv_tot, info header included */
    uint32_t total_size;   /* tlv_off + tlv_size */
    bool has_sec_cnt;
    uint32_t sec_cnt; /* 0 when absent */
    bool has_hash;
    uint32_t hash_off; /* value of the SHA256 TLV (32 B) */
    bool has_keyhash;
    uint32_t keyhash_off; /* value of the KEYHASH TLV (32 B) */
    uint16_t pubkey_len;  /* 0 when absent */
    uint32_t pubkey_off;  /* value of the PUBKEY TLV (DER SPKI) */
    uint16_t sig_count;   /* number of ECDSA_SIG TLVs */
} ward_image_info_t;

/* Reads len bytes at off from wherever the image lives. */
typedef ward_err_t (*ward_image_read_fn)(void *ctx, uint32_t off, void *buf, size_t len);

/* Reader over a flash area (ctx is a const ward_area_t *). */
ward_err_t ward_image_read_area(void *ctx, uint32_t off, void *buf, size_t len);

/* Reader over memory: ctx points at this. */
typedef struct ward_image_mem {
    const uint8_t *data;
    size_t len;
} ward_image_mem_t;
ward_err_t ward_image_read_mem(void *ctx, uint32_t off, void *buf, size_t len);

/*
 * Parse and bounds-check the header and both TLV areas of the image that
 * starts at offset 0 of the reader, which holds at most max_size bytes for
 * it (the slot minus what the layout reserves). No cryptography.
 * Returns WARD_OK, WARD_ERR_IMG_MAGIC, _HEADER, _TOO_LARGE, _TLV,
 * _UNSUPPORTED, or the reader's error.
 */
ward_err_t ward_image_parse(ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                            uint32_t max_size);

/* What the verifier trusts. */
typedef struct ward_image_trust {
    /* SHA-256 of the signer's DER SubjectPublicKeyInfo, from OTP. */
    const uint8_t *key_hash;
    /* The signer's SPKI as known to the verifier (compiled into the
     * bootloader, or given on the command line). May be NULL when images
     * carry the full key in a PUBKEY TLV. */
    const uint8_t *spki;
    size_t spki_len;
    /* Anti-rollback floor: the image's SEC_CNT must be >= this. */
    uint32_t min_sec_cnt;
} ward_image_trust_t;

/*
 * Verify a parsed image: SHA-256 over [0, tlv_off) equals the SHA256 TLV;
 * the key (PUBKEY TLV, or trust->spki matched by KEYHASH) hashes to
 * trust->key_hash; an ECDSA_SIG TLV verifies; SEC_CNT >= min_sec_cnt.
 * Returns WARD_FIH_SUCCESS only if every check passed, else a failure value
 * with *reason set to the first failed check: WARD_ERR_IMG_UNSIGNED,
 * _HASH, _KEY, _SIG, _SEC_CNT, _TLV, or an I/O / crypto error.
 */
ward_fih_t ward_image_validate(const ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                               const ward_image_trust_t *trust, ward_err_t *reason);

/* SHA-256 over [0, tlv_off) of a parsed image. */
ward_err_t ward_image_hash(const ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                           uint8_t out[32]);

/* <0, 0, >0 as a is older than, equal to, newer than b (major, minor,
 * revision, then build). */
int ward_image_version_cmp(const ward_image_version_t *a, const ward_image_version_t *b);

#ifdef __cplusplus
}
#endif

#endif /* WARD_IMAGE_H */
