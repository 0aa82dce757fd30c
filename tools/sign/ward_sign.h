/*
 * ward_sign: host-only signing library (keys and MCUboot v1 images).
 *
 * Builds images byte for byte as MCUboot's imgtool `sign` does for the
 * options below, except the ECDSA_SIG value: imgtool signs with a random
 * nonce, ward with deterministic ECDSA (RFC 6979, PSA_ALG_DETERMINISTIC_ECDSA
 * over SHA-256), so the same key, input and options always give the same
 * image. docs/image-format.md specifies the bytes.
 *
 * Host code: it allocates (the output image) and reads files. Keys are PSA
 * key ids; private key material stays inside PSA except when a key is
 * written to its PKCS#8 file. Call ward_crypto_init() (psa_crypto_init)
 * before anything here.
 */
#ifndef WARD_TOOLS_SIGN_H
#define WARD_TOOLS_SIGN_H

#include <psa/crypto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/image.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_SIGN_DEFAULT_MAX_SECTORS 128u /* imgtool DEFAULT_MAX_SECTORS */
#define WARD_SIGN_DEFAULT_MAX_ALIGN 8u     /* imgtool DEFAULT_MAX_ALIGN */
#define WARD_SIGN_SPKI_LEN 91u             /* DER SubjectPublicKeyInfo, P-256 */
#define WARD_SIGN_PKCS8_PEM_MAX 320u       /* PKCS#8 PEM of a P-256 key, with NUL */
#define WARD_SIGN_MAX_CUSTOM_TLVS 16u

/* Security counter (imgtool -s): none, a value, or auto =
 * (major << 24) + (minor << 16) + revision. */
typedef enum ward_sign_sec_cnt {
    WARD_SIGN_SEC_CNT_NONE = 0,
    WARD_SIGN_SEC_CNT_VALUE = 1,
    WARD_SIGN_SEC_CNT_AUTO = 2
} ward_sign_sec_cnt_t;

/* How the signer's key appears in the image (imgtool --public-key-format). */
typedef enum ward_sign_key_format {
    WARD_SIGN_KEY_HASH = 0, /* KEYHASH TLV: SHA-256 of the DER SPKI */
    WARD_SIGN_KEY_FULL = 1  /* PUBKEY TLV: the 91-byte DER SPKI */
} ward_sign_key_format_t;

/* A custom protected TLV (imgtool --custom-tlv): type in [0x00a0, 0xfffe],
 * not one of the predefined types. */
typedef struct ward_sign_tlv {
    const uint8_t *value;
    uint16_t type;
    uint16_t len;
} ward_sign_tlv_t;

/*
 * Who signs an image: ECDSA-P256 over a SHA-256 digest, raw r || s out (the
 * image gets it as a DER ECDSA_SIG TLV, the same for every signer). A PSA
 * key (a PEM file) is ward_sign_signer_psa; a key in a PKCS#11 token
 * (tools/keys) fills sign_hash and ctx itself. spki is the signer's public
 * key (DER SubjectPublicKeyInfo): the KEYHASH / PUBKEY TLV is made from it.
 */
typedef struct ward_sign_signer {
    ward_err_t (*sign_hash)(void *ctx, const uint8_t hash[32], uint8_t sig[64]);
    void *ctx;
    uint8_t spki[WARD_SIGN_SPKI_LEN];
    psa_key_id_t psa_key; /* ward_sign_signer_psa's key (ctx = the signer) */
} ward_sign_signer_t;

/* A signer over a PSA P-256 key pair allowed to sign hashes with
 * deterministic ECDSA (as ward_sign_keygen / ward_sign_key_load make them).
 * The key stays the caller's. WARD_ERR_INVALID_ARG if key is not a P-256
 * key pair. */
ward_err_t ward_sign_signer_psa(ward_sign_signer_t *s, psa_key_id_t key);

/* imgtool `sign` options. Start from ward_sign_opts_init(). */
typedef struct ward_sign_opts {
    ward_image_version_t version; /* -v */
    uint32_t header_size;         /* -H: [32, 65535] */
    bool pad_header;              /* --pad-header: prepend header_size erased_val bytes */
    uint32_t slot_size;           /* -S: image + trailer must fit; 0 = no check */
    ward_sign_sec_cnt_t sec_cnt_mode; /* -s */
    uint32_t sec_cnt;             /* value for WARD_SIGN_SEC_CNT_VALUE */
    uint32_t max_sec_cnt;         /* refuse a SEC_CNT above it (the device's OTP counter
                                     capacity); UINT32_MAX (default): any, as imgtool */
    bool pad;                     /* --pad: pad to slot_size and write the trailer magic */
    bool confirm;                 /* --confirm: pad, image_ok = 0x01 */
    bool test;                    /* --test: pad, image_ok left erased */
    uint32_t align;               /* --align: 1, 2, 4, 8, 16 or 32 */
    uint32_t max_align;           /* --max-align: 8, 16, 32; 0 = max(8, align) */
    ward_sign_key_format_t key_format; /* --public-key-format */
    uint8_t erased_val;           /* -R: 0xff or 0x00 */
    uint32_t load_addr;           /* -L: non-zero sets the RAM_LOAD flag */
    bool non_bootable;            /* --non-bootable: sets the NON_BOOTABLE flag */
    uint32_t max_sectors;         /* -M: status-area sectors in the trailer */
    const ward_sign_tlv_t *custom_tlvs; /* --custom-tlv, in this order */
    size_t custom_tlv_count;
} ward_sign_opts_t;

/* imgtool's defaults: version 0.0.0+0, -H 32, no slot check, no security
 * counter (and no bound on it), align 1, max_align 8, KEYHASH, erased 0xff,
 * 128 sectors. */
void ward_sign_opts_init(ward_sign_opts_t *opts);

/* The SEC_CNT these options put in the image: false if none; else *value
 * (auto: (major << 24) + (minor << 16) + revision, as imgtool). */
bool ward_sign_sec_cnt_value(const ward_sign_opts_t *opts, uint32_t *value);

/* Trailer bytes imgtool reserves at the end of the slot for these options:
 * max_sectors*3*align + 4*max_align + align_up(16, max_align). */
uint32_t ward_sign_trailer_size(const ward_sign_opts_t *opts);

/*
 * Build an MCUboot v1 image from the firmware binary bin (bin_len bytes).
 * key: a P-256 key pair id allowed PSA_KEY_USAGE_SIGN_HASH with
 * PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256) (as ward_sign_keygen,
 * ward_sign_key_load and ward_sign_key_import_raw make them), or 0 for an
 * unsigned image (SHA256 TLV only, as imgtool without -k).
 * *out receives a malloc'd buffer of *out_len bytes; the caller frees it.
 * Returns WARD_OK; WARD_ERR_INVALID_ARG (bad options);
 * WARD_ERR_IMG_SEC_CNT_RANGE (the security counter exceeds max_sec_cnt: a
 * device whose OTP counter stops there would refuse to boot it); WARD_ERR_IMG_HEADER
 * (without pad_header the first header_size bytes of bin must be zero, and
 * bin must be at least that long); WARD_ERR_IMG_TOO_LARGE (image + trailer
 * exceed slot_size, or a field overflows); WARD_ERR_CRYPTO; WARD_ERR_NO_SPACE
 * (out of memory). Nothing is returned on error.
 */
ward_err_t ward_sign_image(const ward_sign_opts_t *opts, const uint8_t *bin, size_t bin_len,
                           psa_key_id_t key, uint8_t **out, size_t *out_len);

/* ward_sign_image with any signer (NULL: an unsigned image). The signature
 * is checked against signer->spki before it goes into the image
 * (WARD_ERR_CRYPTO if it does not verify: a token that signs with another
 * key than the public key it names). */
ward_err_t ward_sign_image_signer(const ward_sign_opts_t *opts, const uint8_t *bin,
                                  size_t bin_len, const ward_sign_signer_t *signer, uint8_t **out,
                                  size_t *out_len);

/* Generate a volatile P-256 key pair (usage SIGN_HASH | EXPORT, alg
 * deterministic ECDSA with SHA-256). The caller destroys it. */
ward_err_t ward_sign_keygen(psa_key_id_t *key);

/* Import a P-256 private scalar (32 bytes, big-endian) as a key pair like
 * ward_sign_keygen's: reproducible throw-away keys for tests.
 * WARD_ERR_INVALID_ARG if d is not a valid scalar. */
ward_err_t ward_sign_key_import_raw(const uint8_t d[32], psa_key_id_t *key);

/*
 * Load a key file: PEM or DER; a private key (PKCS#8 or SEC1, unencrypted)
 * or a public key (SubjectPublicKeyInfo). P-256 only.
 * key (may be NULL): receives the PSA id of a private key, usable with
 * ward_sign_image; receives 0 for a public key. The caller destroys it.
 * spki (may be NULL): the 91-byte DER SPKI of the public key.
 * is_private (may be NULL): whether the file held a private key.
 * Returns WARD_OK; WARD_ERR_IO (unreadable); WARD_ERR_CORRUPT (not a key);
 * WARD_ERR_UNSUPPORTED (another algorithm or curve, or encrypted);
 * WARD_ERR_CRYPTO.
 */
ward_err_t ward_sign_key_load(const char *path, psa_key_id_t *key,
                              uint8_t spki[WARD_SIGN_SPKI_LEN], bool *is_private);

/* Same as ward_sign_key_load from a buffer holding the file contents. */
ward_err_t ward_sign_key_parse(const uint8_t *data, size_t len, psa_key_id_t *key,
                               uint8_t spki[WARD_SIGN_SPKI_LEN], bool *is_private);

/* The 91-byte DER SPKI of a P-256 key (pair or public). */
ward_err_t ward_sign_key_spki(psa_key_id_t key, uint8_t spki[WARD_SIGN_SPKI_LEN]);

/*
 * Write an exportable P-256 key pair as an unencrypted PKCS#8 PEM
 * ("-----BEGIN PRIVATE KEY-----"), laid out as OpenSSL and Python
 * cryptography write it (imgtool keygen). pem gets a NUL-terminated string
 * of *pem_len characters (NUL excluded). The DER and scalar are wiped.
 * WARD_ERR_BUF_TOO_SMALL if pem_size < WARD_SIGN_PKCS8_PEM_MAX.
 */
ward_err_t ward_sign_key_write_pkcs8_pem(psa_key_id_t key, char *pem, size_t pem_size,
                                         size_t *pem_len);

/* The public key as a PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"). */
ward_err_t ward_sign_spki_to_pem(const uint8_t spki[WARD_SIGN_SPKI_LEN], char *pem,
                                 size_t pem_size, size_t *pem_len);

/* Parse an imgtool version string "maj[.min[.rev[+build]]]" (decimal,
 * no leading zeros). Returns false on junk or out-of-range parts. */
bool ward_sign_parse_version(const char *s, ward_image_version_t *v);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_SIGN_H */
