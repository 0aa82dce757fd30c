/*
 * Fuzz target: src/image. Parses the input as an image (twice: with the
 * input as the whole slot, and with a 4 GiB slot so that reads can run past
 * the data), then, when it parses, validates it against a fixed trusted key
 * (with and without the SPKI), hashes it and walks its TLVs.
 * Must never crash, leak, or read outside the input (ASan checks the
 * reader's copies). The seed corpus (fuzz/corpus/image) holds images signed
 * by tests/vectors/keys/test-key-1.pem, whose SPKI is below.
 */
#include <stddef.h>
#include <stdint.h>

#include "ward/crypto.h"
#include "ward/image.h"
#include "ward/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* SPKI of tests/vectors/keys/test-key-1.pem (scalar SHA-256("ward test key 1")). */
static const uint8_t k_spki[WARD_P256_SPKI_LEN] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0xba, 0x50, 0x08, 0x87, 0x77,
    0x2a, 0x97, 0x2c, 0xa1, 0xaf, 0x73, 0x95, 0xa0, 0x93, 0x07, 0x6a, 0x99, 0x9a, 0x8d, 0xe4, 0xb1,
    0xcd, 0x0f, 0xe8, 0x56, 0x94, 0xb1, 0x65, 0x27, 0x54, 0xbf, 0x16, 0x06, 0x38, 0x4f, 0xe5, 0x8d,
    0xc0, 0xd3, 0x9c, 0x14, 0xd8, 0x2b, 0xe9, 0xda, 0x63, 0x14, 0x24, 0x97, 0x44, 0x15, 0xa4, 0x4c,
    0xde, 0xcd, 0xf0, 0xc9, 0xea, 0xa6, 0xe5, 0xc4, 0x50, 0x96, 0x74,
};
static const uint8_t k_key_hash[32] = {
    0xd3, 0x26, 0x20, 0x32, 0xd4, 0x9d, 0x14, 0xa6, 0xed, 0xe9, 0x93, 0x89, 0x16, 0x95, 0xc2, 0xf6,
    0xdb, 0x62, 0xa1, 0x04, 0xa3, 0xb0, 0x47, 0x36, 0x69, 0x13, 0x7a, 0xb8, 0x8f, 0xbb, 0x3c, 0x0b,
};

static void exercise(const ward_image_info_t *info, ward_image_mem_t *m)
{
    ward_image_trust_t trust = {k_key_hash, k_spki, sizeof k_spki, 0};
    ward_err_t reason = WARD_OK;
    ward_fih_t r = ward_image_validate(info, ward_image_read_mem, m, &trust, &reason);
    /* the hardened result and the reason must agree */
    if (WARD_FIH_EQ(r) != (reason == WARD_OK)) {
        __builtin_trap();
    }
    trust.spki = NULL;
    trust.spki_len = 0;
    trust.min_sec_cnt = 1;
    (void)ward_image_validate(info, ward_image_read_mem, m, &trust, &reason);

    uint8_t h[32];
    (void)ward_image_hash(info, ward_image_read_mem, m, h);
    ward_image_tlv_iter_t it;
    ward_image_tlv_t t;
    if (ward_image_tlv_begin(&it, info) == WARD_OK) {
        unsigned n = 0;
        while (ward_image_tlv_next(&it, ward_image_read_mem, m, &t) == WARD_OK) {
            /* every entry lies inside the image */
            if ((uint64_t)t.off + t.len > info->total_size || ++n > 65536u) {
                __builtin_trap();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        if (ward_crypto_init() != WARD_OK) {
            return 0;
        }
        ready = true;
    }
    ward_image_mem_t m = {data, size};
    ward_image_info_t info;
    const uint32_t max = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
    if (ward_image_parse(&info, ward_image_read_mem, &m, max) == WARD_OK) {
        if (info.total_size > size || info.tlv_off > info.total_size) {
            __builtin_trap(); /* parse accepted an image larger than its slot */
        }
        exercise(&info, &m);
    }
    if (ward_image_parse(&info, ward_image_read_mem, &m, UINT32_MAX) == WARD_OK) {
        exercise(&info, &m);
    }
    uint8_t hdr[WARD_IMAGE_HEADER_SIZE];
    if (size >= sizeof hdr) {
        for (size_t i = 0; i < sizeof hdr; i++) {
            hdr[i] = data[i];
        }
        (void)ward_image_header_decode(&info, hdr);
    }
    return 0;
}
