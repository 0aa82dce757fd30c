/*
 * Fuzz target: the OTA manifest decoder (src/ota). The input is taken
 *   1. as a whole manifest: ward_ota_manifest_verify with the test OTA key
 *      (tests/vectors/keys/test-ota-key-1.pem) and ward_ota_manifest_decode;
 *      whatever verify accepts, decode accepts with the same fields;
 *   2. as a payload inside a fixed COSE_Sign1 shell (so the payload decoder
 *      is reached without a valid signature): whatever decodes must obey
 *      every rule of docs/manifest.md §3 and be the only encoding of its
 *      fields (tools/repo re-encodes it to the same bytes).
 * Must never crash, leak or read outside the input. The seed corpus
 * (fuzz/corpus/manifest) holds manifests written by `ward repo publish`.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/ota.h"
#include "ward/util.h"
#include "ward_repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* SPKI of tests/vectors/keys/test-ota-key-1.pem (scalar SHA-256("ward test ota key 1")). */
static const uint8_t k_spki[WARD_P256_SPKI_LEN] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0xc8, 0x93, 0xa1, 0x42, 0x93,
    0x8c, 0xbf, 0x67, 0xf8, 0x9b, 0x77, 0x20, 0x5d, 0x60, 0x11, 0x45, 0xd8, 0xbb, 0x18, 0xcc, 0x0f,
    0xdb, 0xcc, 0x47, 0x5f, 0x3b, 0x11, 0x66, 0x9b, 0x92, 0x20, 0xc4, 0xdb, 0x67, 0xff, 0x58, 0x20,
    0x42, 0xe5, 0x57, 0xf6, 0x7b, 0x5f, 0x3b, 0xf9, 0xcb, 0x88, 0x1f, 0xde, 0x61, 0x9e, 0x90, 0x5b,
    0x69, 0x9c, 0x97, 0xa2, 0x48, 0x77, 0xfc, 0xf7, 0xa9, 0x29, 0xda,
};

static bool name_ok(const char *s, size_t max)
{
    const size_t n = strlen(s);
    if (n == 0u || n > max || s[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* Field by field (the struct has padding). */
static bool same(const ward_ota_manifest_t *a, const ward_ota_manifest_t *b)
{
    return a->format == b->format && strcmp(a->device_class, b->device_class) == 0 &&
           ward_image_version_cmp(&a->version, &b->version) == 0 && a->sec_cnt == b->sec_cnt &&
           a->image_size == b->image_size &&
           memcmp(a->image_digest, b->image_digest, 32) == 0 && strcmp(a->uri, b->uri) == 0 &&
           a->issued_at == b->issued_at && a->expires == b->expires &&
           a->sequence == b->sequence && a->block_size == b->block_size &&
           memcmp(a->chain_head, b->chain_head, 32) == 0 && memcmp(a->kid, b->kid, 32) == 0;
}

/* Every rule of docs/manifest.md §3 holds for a decoded manifest. */
static void check_rules(const ward_ota_manifest_t *m)
{
    const uint32_t b = m->block_size;
    if (m->format != 1u || !name_ok(m->device_class, WARD_CONFIG_OTA_CLASS_MAX) ||
        !name_ok(m->uri, WARD_CONFIG_OTA_URI_MAX) || m->sec_cnt > WARD_CONFIG_OTP_ROLLBACK_BITS ||
        m->image_size == 0u || m->expires <= m->issued_at || m->sequence == 0u || b < 256u ||
        b > 65536u || (b & (b - 1u)) != 0u) {
        __builtin_trap();
    }
    /* The chain over the image size is well formed. */
    ward_ota_chain_t c;
    ward_ota_chain_init(&c, m);
    const uint64_t ws = ward_ota_chain_wire_size(m->image_size, b);
    if (c.nblocks == 0u || ws < m->image_size ||
        ward_ota_chain_wire_off(&c, c.nblocks - 1u) + ward_ota_chain_wire_len(&c, c.nblocks - 1u) !=
            ws) {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    static uint8_t hash[32];
    if (!ready) {
        if (ward_crypto_init() != WARD_OK || ward_sha256(hash, k_spki, sizeof k_spki) != WARD_OK) {
            return 0;
        }
        ready = true;
    }
    ward_ota_manifest_t v, d;
    const ward_err_t ve = ward_ota_manifest_verify(&v, data, size, k_spki, sizeof k_spki, hash);
    const ward_err_t de = ward_ota_manifest_decode(&d, data, size);
    if (ve != WARD_OK && ve != WARD_ERR_OTA_MANIFEST && ve != WARD_ERR_OTA_KEY &&
        ve != WARD_ERR_OTA_SIG) {
        __builtin_trap();
    }
    if (ve == WARD_OK && (de != WARD_OK || !same(&v, &d))) {
        __builtin_trap();
    }
    if (de == WARD_OK) {
        check_rules(&d);
    }

    /* The input as the payload of a fixed shell. */
    static uint8_t shell[WARD_CONFIG_OTA_MANIFEST_MAX];
    static const uint8_t head[] = {0xd2, 0x84, 0x58, 0x26, 0xa2, 0x01, 0x26, 0x04, 0x58, 0x20};
    size_t n = 0;
    memcpy(shell, head, sizeof head);
    n += sizeof head;
    memcpy(shell + n, hash, 32);
    n += 32;
    shell[n++] = 0xa0;
    if (size < 24u) {
        shell[n++] = (uint8_t)(0x40u + size);
    } else if (size < 256u) {
        shell[n++] = 0x58;
        shell[n++] = (uint8_t)size;
    } else {
        shell[n++] = 0x59;
        shell[n++] = (uint8_t)(size >> 8);
        shell[n++] = (uint8_t)size;
    }
    if (size > sizeof shell - n - 66u) {
        return 0;
    }
    memcpy(shell + n, data, size);
    n += size;
    shell[n++] = 0x58;
    shell[n++] = 0x40;
    memset(shell + n, 0, 64);
    n += 64;
    if (ward_ota_manifest_decode(&d, shell, n) == WARD_OK) {
        check_rules(&d);
        /* Deterministic encoding: the fields have exactly one encoding. */
        uint8_t again[WARD_CONFIG_OTA_MANIFEST_MAX];
        size_t len = 0;
        if (ward_repo_payload_encode(&d, again, sizeof again, &len) != WARD_OK || len != size ||
            memcmp(again, data, size) != 0) {
            __builtin_trap();
        }
    }
    return 0;
}
