/*
 * ward ota: the manifest (docs/manifest.md): a COSE_Sign1 with ES256 over a
 * CBOR payload of twelve fields. Decoded strictly with libcbor's streaming
 * decoder (src/ota/cbor.c), never with the allocating cbor_load; the
 * Sig_structure is encoded with libcbor's encoders and hashed as it is
 * built; the signature is checked with PSA (src/crypto).
 *
 * Order of the checks: the COSE structure and its protected header, then
 * the kid against the OTA key hash from OTP (no signature work for a
 * manifest that is not for this device's key), then the OTA key itself
 * against that hash, then the signature, and only then the payload, so the
 * payload decoder only ever sees signed bytes.
 */
#include <cbor/encoding.h>
#include <string.h>

#include "ota_priv.h"
#include "ward/crypto.h"
#include "ward/util.h"

#define COSE_SIGN1_TAG 18u
#define COSE_HDR_ALG 1u
#define COSE_HDR_KID 4u
#define COSE_ALG_ES256_NEG 6u /* -7 is encoded as negint 6 */

bool ota_name_ok(const char *s, size_t len, size_t max)
{
    if (s == NULL || len == 0u || len > max || s[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        const char ch = s[i];
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool ward_ota_class_ok(const char *device_class)
{
    size_t n = 0;
    while (device_class != NULL && n <= (size_t)WARD_CONFIG_OTA_CLASS_MAX &&
           device_class[n] != '\0') {
        n++;
    }
    return ota_name_ok(device_class, n, WARD_CONFIG_OTA_CLASS_MAX);
}

ward_err_t ota_cose_split(ota_cose_t *c, const uint8_t *cose, size_t len)
{
    ota_cbor_t d, h;
    ota_cbor_item_t it;
    ward_err_t err;

    memset(c, 0, sizeof *c);
    if (cose == NULL || len == 0u || len > (size_t)WARD_CONFIG_OTA_MANIFEST_MAX) {
        return WARD_ERR_OTA_MANIFEST;
    }
    ota_cbor_init(&d, cose, len);
    /* #6.18([protected, unprotected, payload, signature]) */
    err = ota_cbor_expect(&d, OTA_CBOR_TAG, &it);
    if (err != WARD_OK || it.val != COSE_SIGN1_TAG) {
        return WARD_ERR_OTA_MANIFEST;
    }
    err = ota_cbor_expect(&d, OTA_CBOR_ARRAY, &it);
    if (err != WARD_OK || it.val != 4u) {
        return WARD_ERR_OTA_MANIFEST;
    }
    err = ota_cbor_expect(&d, OTA_CBOR_BSTR, &it);
    if (err != WARD_OK) {
        return err;
    }
    c->prot = it.data;
    c->prot_len = (size_t)it.val;
    err = ota_cbor_expect(&d, OTA_CBOR_MAP, &it);
    if (err != WARD_OK || it.val != 0u) {
        return WARD_ERR_OTA_MANIFEST; /* the unprotected map is empty */
    }
    err = ota_cbor_expect(&d, OTA_CBOR_BSTR, &it);
    if (err != WARD_OK) {
        return err;
    }
    c->payload = it.data;
    c->payload_len = (size_t)it.val;
    err = ota_cbor_expect(&d, OTA_CBOR_BSTR, &it);
    if (err != WARD_OK || it.val != WARD_P256_SIG_LEN) {
        return WARD_ERR_OTA_MANIFEST;
    }
    c->sig = it.data;
    if (!ota_cbor_done(&d)) {
        return WARD_ERR_OTA_MANIFEST; /* trailing bytes */
    }

    /* protected: {1: -7, 4: bstr(32)}, exactly, in this order */
    ota_cbor_init(&h, c->prot, c->prot_len);
    err = ota_cbor_expect(&h, OTA_CBOR_MAP, &it);
    if (err != WARD_OK || it.val != 2u) {
        return WARD_ERR_OTA_MANIFEST;
    }
    err = ota_cbor_expect(&h, OTA_CBOR_UINT, &it);
    if (err != WARD_OK || it.val != COSE_HDR_ALG) {
        return WARD_ERR_OTA_MANIFEST;
    }
    err = ota_cbor_expect(&h, OTA_CBOR_NEGINT, &it);
    if (err != WARD_OK || it.val != COSE_ALG_ES256_NEG) {
        return WARD_ERR_OTA_MANIFEST;
    }
    err = ota_cbor_expect(&h, OTA_CBOR_UINT, &it);
    if (err != WARD_OK || it.val != COSE_HDR_KID) {
        return WARD_ERR_OTA_MANIFEST;
    }
    err = ota_cbor_expect(&h, OTA_CBOR_BSTR, &it);
    if (err != WARD_OK || it.val != WARD_SHA256_LEN || !ota_cbor_done(&h)) {
        return WARD_ERR_OTA_MANIFEST;
    }
    c->kid = it.data;
    return WARD_OK;
}

/* An unsigned integer no larger than max. */
static ward_err_t get_uint(ota_cbor_t *d, uint64_t max, uint64_t *v)
{
    ota_cbor_item_t it;
    ward_err_t err = ota_cbor_expect(d, OTA_CBOR_UINT, &it);
    if (err != WARD_OK || it.val > max) {
        return WARD_ERR_OTA_MANIFEST;
    }
    *v = it.val;
    return WARD_OK;
}

static ward_err_t get_hash(ota_cbor_t *d, uint8_t out[32])
{
    ota_cbor_item_t it;
    ward_err_t err = ota_cbor_expect(d, OTA_CBOR_BSTR, &it);
    if (err != WARD_OK || it.val != 32u) {
        return WARD_ERR_OTA_MANIFEST;
    }
    memcpy(out, it.data, 32);
    return WARD_OK;
}

/* A text string of [A-Za-z0-9._-]{1,max}, not starting with '.'. */
static ward_err_t get_name(ota_cbor_t *d, char *out, size_t max)
{
    ota_cbor_item_t it;
    ward_err_t err = ota_cbor_expect(d, OTA_CBOR_TSTR, &it);
    if (err != WARD_OK || !ota_name_ok((const char *)it.data, (size_t)it.val, max)) {
        return WARD_ERR_OTA_MANIFEST;
    }
    memcpy(out, it.data, (size_t)it.val);
    out[it.val] = '\0';
    return WARD_OK;
}

static ward_err_t get_version(ota_cbor_t *d, ward_image_version_t *v)
{
    ota_cbor_item_t it;
    uint64_t x[4];
    static const uint64_t max[4] = {0xffu, 0xffu, 0xffffu, 0xffffffffu};
    ward_err_t err = ota_cbor_expect(d, OTA_CBOR_ARRAY, &it);
    if (err != WARD_OK || it.val != 4u) {
        return WARD_ERR_OTA_MANIFEST;
    }
    for (size_t i = 0; i < 4u; i++) {
        err = get_uint(d, max[i], &x[i]);
        if (err != WARD_OK) {
            return err;
        }
    }
    v->major = (uint8_t)x[0];
    v->minor = (uint8_t)x[1];
    v->revision = (uint16_t)x[2];
    v->build = (uint32_t)x[3];
    return WARD_OK;
}

enum {
    KEY_FORMAT = 1,
    KEY_CLASS,
    KEY_VERSION,
    KEY_SEC_CNT,
    KEY_IMAGE_SIZE,
    KEY_DIGEST,
    KEY_URI,
    KEY_ISSUED_AT,
    KEY_EXPIRES,
    KEY_SEQUENCE,
    KEY_BLOCK_SIZE,
    KEY_CHAIN_HEAD,
    KEY_COUNT = KEY_CHAIN_HEAD
};

static ward_err_t get_field(ota_cbor_t *d, unsigned key, ward_ota_manifest_t *m)
{
    uint64_t v = 0;
    ward_err_t err;
    switch (key) {
    case KEY_FORMAT:
        err = get_uint(d, WARD_OTA_MANIFEST_FORMAT, &v);
        m->format = (uint32_t)v;
        return err == WARD_OK && v != WARD_OTA_MANIFEST_FORMAT ? WARD_ERR_OTA_MANIFEST : err;
    case KEY_CLASS:
        return get_name(d, m->device_class, WARD_CONFIG_OTA_CLASS_MAX);
    case KEY_VERSION:
        return get_version(d, &m->version);
    case KEY_SEC_CNT:
        err = get_uint(d, WARD_CONFIG_OTP_ROLLBACK_BITS, &v);
        m->sec_cnt = (uint32_t)v;
        return err;
    case KEY_IMAGE_SIZE:
        err = get_uint(d, UINT32_MAX, &v);
        m->image_size = (uint32_t)v;
        return err == WARD_OK && v == 0u ? WARD_ERR_OTA_MANIFEST : err;
    case KEY_DIGEST:
        return get_hash(d, m->image_digest);
    case KEY_URI:
        return get_name(d, m->uri, WARD_CONFIG_OTA_URI_MAX);
    case KEY_ISSUED_AT:
        return get_uint(d, UINT64_MAX, &m->issued_at);
    case KEY_EXPIRES:
        err = get_uint(d, UINT64_MAX, &m->expires);
        return err == WARD_OK && m->expires <= m->issued_at ? WARD_ERR_OTA_MANIFEST : err;
    case KEY_SEQUENCE:
        err = get_uint(d, UINT64_MAX, &m->sequence);
        return err == WARD_OK && m->sequence == 0u ? WARD_ERR_OTA_MANIFEST : err;
    case KEY_BLOCK_SIZE:
        err = get_uint(d, 65536u, &v);
        m->block_size = (uint32_t)v;
        if (err == WARD_OK && (v < 256u || (v & (v - 1u)) != 0u)) {
            return WARD_ERR_OTA_MANIFEST;
        }
        return err;
    case KEY_CHAIN_HEAD:
        return get_hash(d, m->chain_head);
    default:
        return WARD_ERR_OTA_MANIFEST;
    }
}

ward_err_t ota_payload_decode(ward_ota_manifest_t *m, const uint8_t *p, size_t len)
{
    ota_cbor_t d;
    ota_cbor_item_t it;
    ota_cbor_init(&d, p, len);
    /* Every key required, no other: a map of exactly KEY_COUNT entries. */
    ward_err_t err = ota_cbor_expect(&d, OTA_CBOR_MAP, &it);
    if (err != WARD_OK || it.val != KEY_COUNT) {
        return WARD_ERR_OTA_MANIFEST;
    }
    /* Keys 1..12, each once, ascending: the deterministic order leaves
     * exactly one place for each, so any other key, a duplicate or a swap
     * shows up as a key that is not the expected one. */
    for (unsigned key = 1; key <= KEY_COUNT; key++) {
        err = ota_cbor_expect(&d, OTA_CBOR_UINT, &it);
        if (err != WARD_OK || it.val != key) {
            return WARD_ERR_OTA_MANIFEST;
        }
        err = get_field(&d, key, m);
        if (err != WARD_OK) {
            return WARD_ERR_OTA_MANIFEST;
        }
    }
    return ota_cbor_done(&d) ? WARD_OK : WARD_ERR_OTA_MANIFEST;
}

ward_err_t ota_sig_structure_hash(const ota_cose_t *c, uint8_t hash[32])
{
    /* Sig_structure = ["Signature1", protected, external_aad = h'', payload]
     * (RFC 9052 §4.4). The heads are encoded with libcbor; the two strings
     * are hashed where they lie, so no copy of the manifest is needed. */
    static const char k_context[] = "Signature1";
    uint8_t hd[16];
    size_t n = 0, k;
    ward_sha256_t h;

    k = cbor_encode_array_start(4, hd, sizeof hd);
    n += k;
    k = k == 0u ? 0u : cbor_encode_string_start(sizeof k_context - 1u, hd + n, sizeof hd - n);
    n += k;
    if (k == 0u) {
        return WARD_ERR_CRYPTO;
    }
    ward_err_t err = ward_sha256_start(&h);
    if (err != WARD_OK) {
        return err;
    }
    err = ward_sha256_update(&h, hd, n);
    if (err == WARD_OK) {
        err = ward_sha256_update(&h, k_context, sizeof k_context - 1u);
    }
    if (err == WARD_OK) {
        n = cbor_encode_bytestring_start(c->prot_len, hd, sizeof hd);
        err = n == 0u ? WARD_ERR_CRYPTO : ward_sha256_update(&h, hd, n);
    }
    if (err == WARD_OK) {
        err = ward_sha256_update(&h, c->prot, c->prot_len);
    }
    if (err == WARD_OK) {
        n = cbor_encode_bytestring_start(0, hd, sizeof hd); /* external_aad */
        k = n == 0u ? 0u : cbor_encode_bytestring_start(c->payload_len, hd + n, sizeof hd - n);
        err = k == 0u ? WARD_ERR_CRYPTO : ward_sha256_update(&h, hd, n + k);
    }
    if (err == WARD_OK) {
        err = ward_sha256_update(&h, c->payload, c->payload_len);
    }
    if (err != WARD_OK) {
        ward_sha256_abort(&h);
        return err;
    }
    return ward_sha256_finish(&h, hash);
}

ward_err_t ward_ota_manifest_decode(ward_ota_manifest_t *m, const uint8_t *cose, size_t len)
{
    ota_cose_t c;
    ward_ota_manifest_t tmp;
    if (m == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(m, 0, sizeof *m);
    memset(&tmp, 0, sizeof tmp);
    ward_err_t err = ota_cose_split(&c, cose, len);
    if (err == WARD_OK) {
        err = ota_payload_decode(&tmp, c.payload, c.payload_len);
    }
    if (err != WARD_OK) {
        return err;
    }
    memcpy(tmp.kid, c.kid, sizeof tmp.kid);
    *m = tmp;
    return WARD_OK;
}

ward_err_t ward_ota_manifest_verify(ward_ota_manifest_t *m, const uint8_t *cose, size_t len,
                                    const uint8_t *ota_spki, size_t ota_spki_len,
                                    const uint8_t ota_key_hash[32])
{
    ota_cose_t c;
    ward_ota_manifest_t tmp;
    uint8_t h[WARD_SHA256_LEN];
    uint8_t pub[WARD_P256_PUB_LEN];
    volatile ward_err_t sig = WARD_ERR_OTA_SIG;

    if (m == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(m, 0, sizeof *m);
    if (cose == NULL || ota_key_hash == NULL || (ota_spki == NULL && ota_spki_len != 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ota_cose_split(&c, cose, len);
    if (err != WARD_OK) {
        return err;
    }
    /* The key, before any signature work: none provisioned, or a manifest
     * for another key (the boot key's, a stranger's). */
    if (ward_ct_all(ota_key_hash, 0u, WARD_SHA256_LEN) ||
        !ward_ct_equal(c.kid, ota_key_hash, WARD_SHA256_LEN)) {
        return WARD_ERR_OTA_KEY;
    }
    /* The key we hold must be the one OTP names. */
    if (ota_spki == NULL) {
        return WARD_ERR_OTA_KEY;
    }
    err = ward_sha256(h, ota_spki, ota_spki_len);
    if (err != WARD_OK) {
        return err;
    }
    if (!ward_ct_equal(h, ota_key_hash, WARD_SHA256_LEN) ||
        ward_p256_spki_parse(pub, ota_spki, ota_spki_len) != WARD_OK) {
        return WARD_ERR_OTA_KEY;
    }
    err = ota_sig_structure_hash(&c, h);
    if (err != WARD_OK) {
        return err;
    }
    sig = ward_p256_verify(pub, h, c.sig);
    if (sig == WARD_ERR_AUTH) {
        return WARD_ERR_OTA_SIG;
    }
    if (sig != WARD_OK) {
        return WARD_ERR_CRYPTO;
    }
    memset(&tmp, 0, sizeof tmp);
    err = ota_payload_decode(&tmp, c.payload, c.payload_len);
    if (err != WARD_OK) {
        return err;
    }
    /* Second look at the verdict before anything is handed out. */
    if (sig != WARD_OK) {
        return WARD_ERR_OTA_SIG;
    }
    memcpy(tmp.kid, c.kid, sizeof tmp.kid);
    *m = tmp;
    return WARD_OK;
}
