/*
 * ward ota: the block chain (docs/manifest.md §4). Block i is served as
 * data_i || SHA-256(wire_(i+1)) (the last one without a hash); the signed
 * manifest holds SHA-256(wire_0). One expected hash authenticates the next
 * block, whose tail gives the hash after it.
 */
#include <string.h>

#include "ota_priv.h"
#include "ward/crypto.h"
#include "ward/util.h"

static uint32_t nblocks(uint32_t image_size, uint32_t block_size)
{
    if (block_size == 0u) {
        return 0;
    }
    return image_size / block_size + (image_size % block_size != 0u ? 1u : 0u);
}

uint64_t ward_ota_chain_wire_size(uint32_t image_size, uint32_t block_size)
{
    const uint32_t n = nblocks(image_size, block_size);
    return n == 0u ? 0u : (uint64_t)image_size + (uint64_t)WARD_SHA256_LEN * (n - 1u);
}

uint32_t ward_ota_chain_wire_len(const ward_ota_chain_t *c, uint32_t i)
{
    if (c == NULL || i >= c->nblocks) {
        return 0;
    }
    if (i + 1u < c->nblocks) {
        return c->block_size + WARD_SHA256_LEN;
    }
    return c->image_size - i * c->block_size;
}

uint64_t ward_ota_chain_wire_off(const ward_ota_chain_t *c, uint32_t i)
{
    return c == NULL ? 0u : (uint64_t)i * ((uint64_t)c->block_size + WARD_SHA256_LEN);
}

void ward_ota_chain_init(ward_ota_chain_t *c, const ward_ota_manifest_t *m)
{
    if (c == NULL) {
        return;
    }
    memset(c, 0, sizeof *c);
    if (m == NULL) {
        return;
    }
    memcpy(c->expect, m->chain_head, sizeof c->expect);
    c->block_size = m->block_size;
    c->image_size = m->image_size;
    c->nblocks = nblocks(m->image_size, m->block_size);
    c->next = 0;
}

ward_err_t ward_ota_chain_next(ward_ota_chain_t *c, const uint8_t *wire, size_t len,
                               size_t *data_len)
{
    uint8_t h[WARD_SHA256_LEN];
    if (c == NULL || wire == NULL || data_len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *data_len = 0;
    if (c->next >= c->nblocks || len != ward_ota_chain_wire_len(c, c->next)) {
        return WARD_ERR_OTA_SIZE;
    }
    ward_err_t err = ward_sha256(h, wire, len);
    if (err != WARD_OK) {
        return err;
    }
    /* Compared twice: a skipped comparison must not let a block through. */
    if (!ward_ct_equal(h, c->expect, sizeof h)) {
        return WARD_ERR_OTA_CHAIN;
    }
    if (!ward_ct_equal(c->expect, h, sizeof h)) {
        return WARD_ERR_OTA_CHAIN;
    }
    const bool last = c->next + 1u == c->nblocks;
    *data_len = last ? len : len - WARD_SHA256_LEN;
    if (!last) {
        memcpy(c->expect, wire + len - WARD_SHA256_LEN, WARD_SHA256_LEN);
    } else {
        memset(c->expect, 0, sizeof c->expect);
    }
    c->next++;
    return WARD_OK;
}
