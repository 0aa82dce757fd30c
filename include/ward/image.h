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
    uint32_t sec_cnt_off; /* value of the SEC_CNT TLV (4 B), when has_sec_cnt */
} ward_image_info_t;

/* Reads len bytes at off from wherever the image lives. Returns WARD_OK or
 * a negative code (WARD_ERR_IO when [off, off+len) is not readable). */
typedef ward_err_t (*ward_image_read_fn)(void *ctx, uint32_t off, void *buf, size_t len);

/* Reader over a flash area (ctx is a const ward_area_t *). Reading past the
 * end of the area returns WARD_ERR_IO; otherwise what ward_area_read says. */
ward_err_t ward_image_read_area(void *ctx, uint32_t off, void *buf, size_t len);

/* Reader over memory: ctx points at this. Reading outside [0, len) returns
 * WARD_ERR_IO and copies nothing. */
typedef struct ward_image_mem {
    const uint8_t *data;
    size_t len;
} ward_image_mem_t;
ward_err_t ward_image_read_mem(void *ctx, uint32_t off, void *buf, size_t len);

/*
 * Parse and bounds-check the header and both TLV areas of the image that
 * starts at offset 0 of the reader, which holds at most max_size bytes for
 * it (the slot minus what the layout reserves). No cryptography; reads the
 * header, the TLV headers and the SEC_CNT value only.
 * Checks, in this order (the first failure is returned):
 *   max_size < 32                                  -> WARD_ERR_IMG_TOO_LARGE
 *   magic != WARD_IMAGE_MAGIC                      -> WARD_ERR_IMG_MAGIC
 *   hdr_size < 32 or hdr_size > max_size           -> WARD_ERR_IMG_HEADER
 *   encrypted / RAM_LOAD / compressed flags        -> WARD_ERR_IMG_UNSUPPORTED
 *   hdr_size + img_size > max_size                 -> WARD_ERR_IMG_TOO_LARGE
 *   protected area (if prot_tlv_size != 0): larger than
 *     WARD_CONFIG_IMAGE_MAX_TLV or past max_size   -> WARD_ERR_IMG_TOO_LARGE;
 *     size < 4, info magic != 0x6908 or tlv_tot != prot_tlv_size
 *                                                  -> WARD_ERR_IMG_TLV
 *   unprotected info past max_size                 -> WARD_ERR_IMG_TOO_LARGE
 *   its magic != 0x6907 or tlv_tot < 4             -> WARD_ERR_IMG_TLV
 *   both areas > WARD_CONFIG_IMAGE_MAX_TLV, or the
 *     image end past max_size                      -> WARD_ERR_IMG_TOO_LARGE
 *   TLV entries, protected then unprotected: an entry that does not fit
 *     its area, SEC_CNT not 4 bytes or twice, a disallowed unprotected
 *     type or length, a duplicate                  -> WARD_ERR_IMG_TLV;
 *     SHA384/512, RSA, ED25519, SIG_PURE, ENC_*   -> WARD_ERR_IMG_UNSUPPORTED
 * Returns WARD_OK, one of the above, WARD_ERR_INVALID_ARG, or the reader's
 * error. On failure *info is zeroed. docs/image-format.md has the details.
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
 * Verify a parsed image (info from ward_image_parse on the same reader).
 * Checks, in this order:
 *   a SHA256 TLV is present                              else _IMG_UNSIGNED
 *   SHA-256 over [0, tlv_off) equals it (streamed in
 *     WARD_CONFIG_IMAGE_CHUNK-byte chunks)               else _IMG_HASH
 *   at least one ECDSA_SIG TLV                           else _IMG_UNSIGNED
 *   the key: a PUBKEY TLV hashing to trust->key_hash, or else trust->spki
 *     hashing to it; a KEYHASH TLV, if present, equal to it; the key a
 *     P-256 SPKI                                         else _IMG_KEY
 *   some ECDSA_SIG TLV verifies over the hash            else _IMG_SIG
 *   SEC_CNT (0 when absent) >= trust->min_sec_cnt        else _IMG_SEC_CNT
 * What the parser read from the hashed range (the header: entry offset,
 * sizes, flags, version; the protected TLV walk and the SEC_CNT value) is
 * read back from the very bytes hashed and compared: an info that does not
 * match them (a flash that changed between the parse and the hash) is
 * _IMG_HASH, so every value of *info a caller acts on after a success was
 * authenticated (docs/image-format.md section 5).
 * Returns WARD_FIH_SUCCESS only if every check passed (tracked by a step
 * sum and checked twice), else WARD_FIH_FAILURE. *reason (may be NULL) gets
 * WARD_OK or the first failed check; also WARD_ERR_IMG_TLV if the TLV area
 * changed since parsing, WARD_ERR_INVALID_ARG (NULL argument, inconsistent
 * info), or an I/O / crypto error.
 */
ward_fih_t ward_image_validate(const ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                               const ward_image_trust_t *trust, ward_err_t *reason);

/* SHA-256 over [0, tlv_off) of a parsed image. Returns WARD_OK,
 * WARD_ERR_INVALID_ARG, WARD_ERR_IMG_HASH (the bytes hashed do not hold the
 * header and SEC_CNT that info records, as ward_image_validate checks), or
 * the reader's / crypto error (out zeroed). */
ward_err_t ward_image_hash(const ward_image_info_t *info, ward_image_read_fn read, void *rctx,
                           uint8_t out[32]);

/*
 * Decode the 32-byte header into info (fields up to version; the offsets
 * are left zero). For tools that show a header ward_image_parse refused.
 * Returns WARD_OK or WARD_ERR_IMG_MAGIC (fields decoded either way).
 */
ward_err_t ward_image_header_decode(ward_image_info_t *info, const uint8_t hdr[32]);

/* Iterator over the TLV entries of a parsed image: the protected area
 * first, then the unprotected one. Every step is bounds-checked again, so
 * it is safe even if the image changed since parsing. */
typedef struct ward_image_tlv_iter {
    uint32_t off;      /* next TLV header */
    uint32_t prot_end; /* end of the protected entries */
    uint32_t tlv_off;  /* unprotected info header */
    uint32_t end;      /* end of the unprotected area */
} ward_image_tlv_iter_t;

typedef struct ward_image_tlv {
    uint16_t type;
    uint16_t len;
    uint32_t off; /* of the value */
    bool prot;    /* in the protected (hashed) area */
} ward_image_tlv_t;

/* Start iterating (info from ward_image_parse). WARD_ERR_INVALID_ARG if
 * info is inconsistent. */
ward_err_t ward_image_tlv_begin(ward_image_tlv_iter_t *it, const ward_image_info_t *info);

/* Next entry: WARD_OK with *tlv filled, WARD_ERR_NOT_FOUND after the last
 * one, WARD_ERR_IMG_TLV if an entry does not fit its area, or the
 * reader's error. */
ward_err_t ward_image_tlv_next(ward_image_tlv_iter_t *it, ward_image_read_fn read, void *rctx,
                               ward_image_tlv_t *tlv);

/* <0, 0, >0 as a is older than, equal to, newer than b (major, minor,
 * revision, then build). Both non-NULL. */
int ward_image_version_cmp(const ward_image_version_t *a, const ward_image_version_t *b);

#ifdef __cplusplus
}
#endif

#endif /* WARD_IMAGE_H */
