/*
 * ward ota internals shared by the files of src/ota (and the fuzz target).
 */
#ifndef WARD_OTA_PRIV_H
#define WARD_OTA_PRIV_H

#include "ward/ota.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- a pull decoder over libcbor's streaming decoder ------------------------------
 * One data item head at a time (cbor_stream_decode with callbacks that only
 * record what they saw): no allocation, no recursion. Only the five major
 * types a manifest uses are accepted (unsigned and negative integers, byte
 * and text strings of definite length, definite arrays and maps, tags);
 * floats, simple values and indefinite lengths are refused, and so is any
 * head that is not the shortest encoding of its value (RFC 8949 §4.2.1). */

typedef enum {
    OTA_CBOR_UINT = 0,
    OTA_CBOR_NEGINT = 1, /* value -1 - val */
    OTA_CBOR_BSTR = 2,
    OTA_CBOR_TSTR = 3,
    OTA_CBOR_ARRAY = 4,
    OTA_CBOR_MAP = 5,
    OTA_CBOR_TAG = 6
} ota_cbor_major_t;

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t off; /* next head */
} ota_cbor_t;

typedef struct {
    uint8_t major;       /* ota_cbor_major_t */
    uint64_t val;        /* integer, tag number, element count or string length */
    const uint8_t *data; /* a string's bytes (inside the input), else NULL */
} ota_cbor_item_t;

void ota_cbor_init(ota_cbor_t *c, const uint8_t *buf, size_t len);
/* Next item head (a string with its bytes). WARD_OK or WARD_ERR_OTA_MANIFEST
 * (end of input, malformed, non-shortest, indefinite, another type). */
ward_err_t ota_cbor_next(ota_cbor_t *c, ota_cbor_item_t *it);
/* Next item, which must be of this major type. */
ward_err_t ota_cbor_expect(ota_cbor_t *c, ota_cbor_major_t major, ota_cbor_item_t *it);
/* Whether every byte was consumed. */
bool ota_cbor_done(const ota_cbor_t *c);

/* ---- manifest pieces ----------------------------------------------------------------- */

/* The parts of a COSE_Sign1 manifest, pointing into the input. */
typedef struct {
    const uint8_t *prot; /* protected header bytes (the bstr's contents) */
    size_t prot_len;
    const uint8_t *payload;
    size_t payload_len;
    const uint8_t *sig; /* 64 bytes */
    const uint8_t *kid; /* 32 bytes, inside prot */
} ota_cose_t;

/* Split and check the COSE_Sign1 structure and its protected header
 * (docs/manifest.md §2). WARD_OK or WARD_ERR_OTA_MANIFEST. */
ward_err_t ota_cose_split(ota_cose_t *c, const uint8_t *cose, size_t len);

/* Decode the payload map with every rule of docs/manifest.md §3 into m
 * (kid untouched). WARD_OK or WARD_ERR_OTA_MANIFEST. */
ward_err_t ota_payload_decode(ward_ota_manifest_t *m, const uint8_t *p, size_t len);

/* SHA-256 of Sig_structure = ["Signature1", protected, h'', payload]. */
ward_err_t ota_sig_structure_hash(const ota_cose_t *c, uint8_t hash[32]);

/* [A-Za-z0-9._-]{1,max}, not starting with '.': a device class or a uri. */
bool ota_name_ok(const char *s, size_t len, size_t max);

#ifdef __cplusplus
}
#endif

#endif /* WARD_OTA_PRIV_H */
