/*
 * ward_repo: manifests and chained updates (docs/manifest.md), built with
 * libcbor's encoders (cbor_encode_*) into caller buffers.
 */
#include <cbor/encoding.h>
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/util.h"
#include "ward_repo.h"

/* ---- signer ------------------------------------------------------------------- */

static ward_err_t psa_sign(void *ctx, const uint8_t hash[32], uint8_t sig[64])
{
    const ward_repo_signer_t *s = ctx;
    size_t n = 0;
    psa_status_t st = psa_sign_hash(s->psa_key, PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256), hash,
                                    32, sig, 64, &n);
    return st == PSA_SUCCESS && n == 64u ? WARD_OK : WARD_ERR_CRYPTO;
}

ward_err_t ward_repo_signer_psa(ward_repo_signer_t *s, psa_key_id_t key)
{
    if (s == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(s, 0, sizeof *s);
    ward_err_t err = ward_sign_key_spki(key, s->spki);
    if (err != WARD_OK) {
        return err;
    }
    s->psa_key = key;
    s->ctx = s;
    s->sign_hash = psa_sign;
    return WARD_OK;
}

/* ---- an encoder over a caller buffer ----------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t cap, n;
    bool full;
} enc_t;

/* Account for what a cbor_encode_* call wrote (0: it did not fit). */
static void put(enc_t *e, size_t k)
{
    if (k == 0u) {
        e->full = true;
    }
    e->n += k;
}

static uint8_t *at(enc_t *e)
{
    return e->p + e->n;
}

static size_t room(const enc_t *e)
{
    return e->full ? 0u : e->cap - e->n;
}

static void put_bytes(enc_t *e, const void *d, size_t len)
{
    if (len == 0u) {
        return;
    }
    if (e->full || len > room(e)) {
        e->full = true;
        return;
    }
    memcpy(at(e), d, len);
    e->n += len;
}

static void put_uint(enc_t *e, uint64_t v)
{
    if (!e->full) {
        put(e, cbor_encode_uint(v, at(e), room(e)));
    }
}

static void put_bstr(enc_t *e, const uint8_t *d, size_t len)
{
    if (!e->full) {
        put(e, cbor_encode_bytestring_start(len, at(e), room(e)));
    }
    put_bytes(e, d, len);
}

static void put_tstr(enc_t *e, const char *s)
{
    const size_t len = strlen(s);
    if (!e->full) {
        put(e, cbor_encode_string_start(len, at(e), room(e)));
    }
    put_bytes(e, s, len);
}

static void put_map(enc_t *e, size_t n)
{
    if (!e->full) {
        put(e, cbor_encode_map_start(n, at(e), room(e)));
    }
}

static void put_array(enc_t *e, size_t n)
{
    if (!e->full) {
        put(e, cbor_encode_array_start(n, at(e), room(e)));
    }
}

static ward_err_t enc_done(const enc_t *e, size_t *len)
{
    *len = e->full ? 0u : e->n;
    return e->full ? WARD_ERR_BUF_TOO_SMALL : WARD_OK;
}

static bool name_ok(const char *s, size_t max)
{
    const size_t len = s == NULL ? 0u : strlen(s);
    if (len == 0u || len > max || s[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        const char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

ward_err_t ward_repo_payload_encode(const ward_ota_manifest_t *m, uint8_t *out, size_t cap,
                                    size_t *len)
{
    if (m == NULL || out == NULL || len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *len = 0;
    const uint32_t b = m->block_size;
    if (m->format != WARD_OTA_MANIFEST_FORMAT ||
        !name_ok(m->device_class, WARD_CONFIG_OTA_CLASS_MAX) ||
        !name_ok(m->uri, WARD_CONFIG_OTA_URI_MAX) ||
        m->sec_cnt > WARD_CONFIG_OTP_ROLLBACK_BITS || m->image_size == 0u ||
        m->expires <= m->issued_at || m->sequence == 0u || b < 256u || b > 65536u ||
        (b & (b - 1u)) != 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    enc_t e = {out, cap, 0, false};
    put_map(&e, 12);
    put_uint(&e, 1);
    put_uint(&e, m->format);
    put_uint(&e, 2);
    put_tstr(&e, m->device_class);
    put_uint(&e, 3);
    put_array(&e, 4);
    put_uint(&e, m->version.major);
    put_uint(&e, m->version.minor);
    put_uint(&e, m->version.revision);
    put_uint(&e, m->version.build);
    put_uint(&e, 4);
    put_uint(&e, m->sec_cnt);
    put_uint(&e, 5);
    put_uint(&e, m->image_size);
    put_uint(&e, 6);
    put_bstr(&e, m->image_digest, 32);
    put_uint(&e, 7);
    put_tstr(&e, m->uri);
    put_uint(&e, 8);
    put_uint(&e, m->issued_at);
    put_uint(&e, 9);
    put_uint(&e, m->expires);
    put_uint(&e, 10);
    put_uint(&e, m->sequence);
    put_uint(&e, 11);
    put_uint(&e, m->block_size);
    put_uint(&e, 12);
    put_bstr(&e, m->chain_head, 32);
    return enc_done(&e, len);
}

ward_err_t ward_repo_protected_encode(const uint8_t kid[32], uint8_t *out, size_t cap, size_t *len)
{
    if (kid == NULL || out == NULL || len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    enc_t e = {out, cap, 0, false};
    put_map(&e, 2);
    put_uint(&e, 1);
    if (!e.full) {
        put(&e, cbor_encode_negint(6, at(&e), room(&e))); /* -7: ES256 */
    }
    put_uint(&e, 4);
    put_bstr(&e, kid, 32);
    return enc_done(&e, len);
}

ward_err_t ward_repo_sig_structure_hash(const uint8_t *prot, size_t prot_len,
                                        const uint8_t *payload, size_t payload_len,
                                        uint8_t hash[32])
{
    if ((prot == NULL && prot_len > 0u) || (payload == NULL && payload_len > 0u) || hash == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    const size_t cap = prot_len + payload_len + 64u;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    enc_t e = {buf, cap, 0, false};
    put_array(&e, 4);
    put_tstr(&e, "Signature1");
    put_bstr(&e, prot, prot_len);
    put_bstr(&e, NULL, 0); /* external_aad */
    put_bstr(&e, payload, payload_len);
    size_t n = 0;
    ward_err_t err = enc_done(&e, &n);
    if (err == WARD_OK) {
        err = ward_sha256(hash, buf, n);
    }
    free(buf);
    return err;
}

ward_err_t ward_repo_sign1(const ward_repo_signer_t *s, const uint8_t *payload, size_t payload_len,
                           uint8_t *out, size_t cap, size_t *len)
{
    uint8_t kid[32], prot[64], hash[32], sig[64];
    size_t prot_len = 0;
    if (s == NULL || s->sign_hash == NULL || out == NULL || len == NULL ||
        (payload == NULL && payload_len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    *len = 0;
    ward_err_t err = ward_sha256(kid, s->spki, sizeof s->spki);
    if (err == WARD_OK) {
        err = ward_repo_protected_encode(kid, prot, sizeof prot, &prot_len);
    }
    if (err == WARD_OK) {
        err = ward_repo_sig_structure_hash(prot, prot_len, payload, payload_len, hash);
    }
    if (err == WARD_OK) {
        err = s->sign_hash(s->ctx, hash, sig);
    }
    if (err != WARD_OK) {
        return err;
    }
    enc_t e = {out, cap, 0, false};
    if (!e.full) {
        put(&e, cbor_encode_tag(18, at(&e), room(&e))); /* COSE_Sign1 */
    }
    put_array(&e, 4);
    put_bstr(&e, prot, prot_len);
    put_map(&e, 0);
    put_bstr(&e, payload, payload_len);
    put_bstr(&e, sig, sizeof sig);
    return enc_done(&e, len);
}

ward_err_t ward_repo_manifest_build(const ward_repo_signer_t *s, ward_ota_manifest_t *m,
                                   uint8_t *out, size_t cap, size_t *len)
{
    uint8_t payload[WARD_CONFIG_OTA_MANIFEST_MAX];
    size_t plen = 0;
    if (s == NULL || m == NULL || len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *len = 0;
    ward_err_t err = ward_repo_payload_encode(m, payload, sizeof payload, &plen);
    if (err == WARD_OK) {
        err = ward_sha256(m->kid, s->spki, sizeof s->spki);
    }
    if (err == WARD_OK) {
        err = ward_repo_sign1(s, payload, plen, out, cap, len);
    }
    return err;
}

/* ---- the chain -------------------------------------------------------------------------- */

ward_err_t ward_repo_chain_build(const uint8_t *image, size_t len, uint32_t block_size,
                                 uint8_t **wire, size_t *wire_len, uint8_t head[32])
{
    if (wire == NULL || wire_len == NULL || head == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *wire = NULL;
    *wire_len = 0;
    if (image == NULL || len == 0u || len > UINT32_MAX || block_size < 256u ||
        block_size > 65536u || (block_size & (block_size - 1u)) != 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    const uint64_t size = ward_ota_chain_wire_size((uint32_t)len, block_size);
    uint8_t *w = malloc((size_t)size);
    if (w == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    const size_t n = len / block_size + (len % block_size != 0u ? 1u : 0u);
    const size_t stride = (size_t)block_size + 32u;
    uint8_t h[32] = {0};
    ward_err_t err = WARD_OK;
    /* From the last block backwards: each block ends with the next one's hash. */
    for (size_t i = n; i-- > 0u && err == WARD_OK;) {
        const size_t dlen = i + 1u < n ? block_size : len - i * block_size;
        uint8_t *blk = w + i * stride;
        memcpy(blk, image + i * block_size, dlen);
        size_t wlen = dlen;
        if (i + 1u < n) {
            memcpy(blk + dlen, h, 32);
            wlen += 32u;
        }
        err = ward_sha256(h, blk, wlen);
    }
    if (err != WARD_OK) {
        free(w);
        return err;
    }
    memcpy(head, h, 32);
    *wire = w;
    *wire_len = (size_t)size;
    return WARD_OK;
}

ward_err_t ward_repo_update_check(const ward_ota_manifest_t *m, const uint8_t *wire, size_t len,
                                  uint32_t *bad_block)
{
    ward_ota_chain_t c;
    ward_sha256_t img;
    uint8_t digest[32];
    if (bad_block != NULL) {
        *bad_block = UINT32_MAX;
    }
    if (m == NULL || (wire == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ota_chain_init(&c, m);
    if (c.nblocks == 0u || len != ward_ota_chain_wire_size(m->image_size, m->block_size)) {
        return WARD_ERR_OTA_SIZE;
    }
    ward_err_t err = ward_sha256_start(&img);
    size_t off = 0;
    while (err == WARD_OK && c.next < c.nblocks) {
        const uint32_t i = c.next;
        const uint32_t wl = ward_ota_chain_wire_len(&c, i);
        size_t dlen = 0;
        err = ward_ota_chain_next(&c, wire + off, wl, &dlen);
        if (err == WARD_ERR_OTA_CHAIN && bad_block != NULL) {
            *bad_block = i;
        }
        if (err == WARD_OK) {
            err = ward_sha256_update(&img, wire + off, dlen);
        }
        off += wl;
    }
    if (err != WARD_OK) {
        ward_sha256_abort(&img);
        return err;
    }
    err = ward_sha256_finish(&img, digest);
    if (err == WARD_OK && memcmp(digest, m->image_digest, 32) != 0) {
        err = WARD_ERR_OTA_IMAGE;
    }
    return err;
}

ward_err_t ward_repo_image_describe(ward_ota_manifest_t *m, const uint8_t *image, size_t len,
                                   const uint8_t boot_spki[WARD_SIGN_SPKI_LEN])
{
    ward_image_info_t info;
    if (m == NULL || image == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (len > UINT32_MAX) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    ward_image_mem_t mem = {image, len};
    ward_err_t err = ward_image_parse(&info, ward_image_read_mem, &mem, (uint32_t)len);
    if (err != WARD_OK) {
        return err;
    }
    /* The image is [0, total_size): padding or a trailer after it (imgtool
     * --pad) is not part of an update. */
    if (info.sec_cnt > WARD_CONFIG_OTP_ROLLBACK_BITS) {
        return WARD_ERR_IMG_SEC_CNT_RANGE;
    }
    if (boot_spki != NULL) {
        uint8_t kh[32];
        err = ward_sha256(kh, boot_spki, WARD_SIGN_SPKI_LEN);
        if (err != WARD_OK) {
            return err;
        }
        const ward_image_trust_t trust = {kh, boot_spki, WARD_SIGN_SPKI_LEN, 0};
        ward_err_t why = WARD_ERR_IMG_SIG;
        if (!WARD_FIH_EQ(ward_image_validate(&info, ward_image_read_mem, &mem, &trust, &why))) {
            return why == WARD_OK ? WARD_ERR_IMG_SIG : why;
        }
    }
    err = ward_sha256(m->image_digest, image, info.total_size);
    if (err != WARD_OK) {
        return err;
    }
    m->version = info.version;
    m->sec_cnt = info.sec_cnt;
    m->image_size = info.total_size;
    return WARD_OK;
}
