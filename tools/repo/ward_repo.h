/*
 * ward_repo: host-only library for a static update repository
 * (docs/manifest.md, docs/ota.md): manifests (the CBOR payload with
 * libcbor's encoders, COSE_Sign1 ES256), the chained update, and
 * `ward repo publish` / `show` logic. The CLI (tools/ward/cmd_repo.c) only
 * parses options and prints.
 *
 * Host code: allocates and uses files. Call ward_crypto_init() first.
 */
#ifndef WARD_TOOLS_REPO_H
#define WARD_TOOLS_REPO_H

#include <psa/crypto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/ota.h"
#include "ward/ward.h"
#include "ward_sign.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_REPO_DEFAULT_BLOCK 4096u
#define WARD_REPO_DEFAULT_EXPIRES (30u * 86400u) /* seconds */
#define WARD_REPO_BOOT_KEY_FILE ".ward/boot-key.pub"
#define WARD_REPO_MANIFEST_FILE "manifest.cose"

/*
 * Who signs manifests: ES256 over a SHA-256 digest, raw r || s out. The
 * PEM/PSA signer is ward_repo_signer_psa; another key store (a PKCS#11
 * token) fills sign_hash, ctx and spki itself. kid = SHA-256(spki).
 */
typedef struct ward_repo_signer {
    ward_err_t (*sign_hash)(void *ctx, const uint8_t hash[32], uint8_t sig[64]);
    void *ctx;
    uint8_t spki[WARD_SIGN_SPKI_LEN]; /* the public key, DER SubjectPublicKeyInfo */
    psa_key_id_t psa_key;             /* ward_repo_signer_psa's key (ctx = the signer) */
} ward_repo_signer_t;

/* A signer over a PSA P-256 key pair allowed to sign hashes (as
 * ward_sign_key_load loads a PEM key: deterministic ECDSA, so the same
 * manifest always gets the same bytes). The key stays the caller's. */
ward_err_t ward_repo_signer_psa(ward_repo_signer_t *s, psa_key_id_t key);

/* The payload map of m (docs/manifest.md §3), deterministic: keys 1..12 in
 * order, shortest heads. m->kid is not part of it. WARD_OK,
 * WARD_ERR_BUF_TOO_SMALL, WARD_ERR_INVALID_ARG (a field out of range). */
ward_err_t ward_repo_payload_encode(const ward_ota_manifest_t *m, uint8_t *out, size_t cap,
                                    size_t *len);

/* The protected header {1: -7, 4: kid}. */
ward_err_t ward_repo_protected_encode(const uint8_t kid[32], uint8_t *out, size_t cap, size_t *len);

/* SHA-256 of Sig_structure ["Signature1", prot, h'', payload] (RFC 9052 §4.4). */
ward_err_t ward_repo_sig_structure_hash(const uint8_t *prot, size_t prot_len,
                                        const uint8_t *payload, size_t payload_len,
                                        uint8_t hash[32]);

/* A COSE_Sign1 around any payload bytes (tests sign malformed ones too):
 * #6.18([bstr(prot), {}, bstr(payload), bstr(sig)]), kid = SHA-256(spki). */
ward_err_t ward_repo_sign1(const ward_repo_signer_t *s, const uint8_t *payload, size_t payload_len,
                           uint8_t *out, size_t cap, size_t *len);

/* Encode m's payload and sign it; m->kid is set to the signer's. */
ward_err_t ward_repo_manifest_build(const ward_repo_signer_t *s, ward_ota_manifest_t *m,
                                   uint8_t *out, size_t cap, size_t *len);

/* The chained update of an image (docs/manifest.md §4): *wire gets a
 * malloc'd buffer of ward_ota_chain_wire_size() bytes (the caller frees
 * it), head the SHA-256 of block 0. block_size: a power of two in
 * [256, 65536]. */
ward_err_t ward_repo_chain_build(const uint8_t *image, size_t len, uint32_t block_size,
                                 uint8_t **wire, size_t *wire_len, uint8_t head[32]);

/* Check a served chained update against a manifest as a device would:
 * size, every block's hash, the image's SHA-256. WARD_OK,
 * WARD_ERR_OTA_SIZE, WARD_ERR_OTA_CHAIN (*bad_block = the first block
 * that fails, may be NULL), WARD_ERR_OTA_IMAGE (digest). */
ward_err_t ward_repo_update_check(const ward_ota_manifest_t *m, const uint8_t *wire, size_t len,
                                  uint32_t *bad_block);

/* Fill m's version, security counter, size and digest from an MCUboot
 * image: its first total_size bytes (header + payload + TLVs; padding or a
 * trailer after them is not part of an update). The image must parse (its WARD_ERR_IMG_* otherwise), its SEC_CNT
 * fit the OTP counter (WARD_ERR_IMG_SEC_CNT_RANGE), and, when boot_spki is
 * given, verify with that boot key (the WARD_ERR_IMG_* reason). */
ward_err_t ward_repo_image_describe(ward_ota_manifest_t *m, const uint8_t *image, size_t len,
                                   const uint8_t boot_spki[WARD_SIGN_SPKI_LEN]);

/* ---- publish ---------------------------------------------------------------- */

typedef struct ward_repo_publish_opts {
    const char *repo;                 /* the repository folder (created if missing) */
    const char *device_class;         /* [A-Za-z0-9._-]{1,32}, not starting with '.' */
    const ward_repo_signer_t *signer; /* the OTA key */
    /* The boot public key. On the first publish it is required and recorded
     * as REPO/.ward/boot-key.pub; afterwards the recorded one is used, and
     * a different one given here is refused (WARD_ERR_EXISTS). */
    const uint8_t *boot_spki;
    const uint8_t *image; /* the signed MCUboot image */
    size_t image_len;
    uint64_t issued_at;  /* seconds since 1970; 0: now */
    uint64_t expires_in; /* seconds after issued_at; 0: 30 days */
    uint64_t sequence;   /* 0: the previous manifest's + 1 (1 for the first) */
    uint32_t block_size; /* 0: 4096 */
} ward_repo_publish_opts_t;

typedef struct ward_repo_publish_result {
    ward_ota_manifest_t manifest;
    uint64_t previous_sequence; /* of the manifest replaced; 0: none */
    bool boot_key_recorded;     /* this publish wrote REPO/.ward/boot-key.pub */
    size_t manifest_len;
    uint64_t wire_size;
    char manifest_path[4096];
    char update_path[4096];
} ward_repo_publish_result_t;

/*
 * Publish an image: REPO/<class>/<uri> (the chained update), then
 * REPO/<class>/manifest.cose, each written to a temporary file, synced and
 * renamed over the old one, so a reader (or a crash) sees the old manifest
 * or the new one, and the new one only once its update is complete.
 * Refuses, writing nothing:
 *   an image that does not parse or verify with the boot key   WARD_ERR_IMG_*
 *   a SEC_CNT beyond the OTP counter                           WARD_ERR_IMG_SEC_CNT_RANGE
 *   an OTA key equal to the boot key                           WARD_ERR_OTA_KEY
 *   an OTA key other than the one the current manifest names   WARD_ERR_OTA_KEY
 *   no boot key known (first publish without one)              WARD_ERR_NOT_FOUND
 *   a boot key other than the recorded one                     WARD_ERR_EXISTS
 *   a sequence not above the current manifest's                WARD_ERR_OTA_REPLAY
 *   a version older / a counter lower than the current one's   WARD_ERR_OTA_VERSION / _SEC_CNT
 *   an unreadable current manifest                             WARD_ERR_OTA_MANIFEST
 *   a bad class, block size or expiry                          WARD_ERR_INVALID_ARG
 * Also WARD_ERR_IO, WARD_ERR_CRYPTO, WARD_ERR_NO_SPACE.
 */
ward_err_t ward_repo_publish(const ward_repo_publish_opts_t *opts, ward_repo_publish_result_t *res);

/* Parse an expiry: a number with an optional unit s, m, h, d or w
 * ("30d"). Returns false on junk, zero or overflow. */
bool ward_repo_parse_duration(const char *s, uint64_t *seconds);

/* Read a whole file (malloc'd). WARD_ERR_NOT_FOUND if it does not exist. */
ward_err_t ward_repo_read_file(const char *path, uint8_t **data, size_t *len);

/* Write a file atomically: a temporary file in the same folder, fsync,
 * rename, fsync of the folder. */
ward_err_t ward_repo_write_file(const char *path, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_REPO_H */
