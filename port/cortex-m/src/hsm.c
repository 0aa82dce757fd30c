/*
 * HSM driver for mps2-an386: a software stand-in for a secure element
 * (ward_cm_hsm.h). The HUK is read from the HSM block only inside
 * derive_key and handed to PSA as a derivation secret for that one call.
 */
#include <mbedtls/platform.h>
#include <psa/crypto.h>
#include <string.h>

#include "ward/soft_hsm.h"
#include "ward/util.h"
#include "ward_cm_hsm.h"
#include "ward_cm_priv.h"

#define HSM_OFF_FLAGS 4u
#define HSM_OFF_HUK 8u
#define HSM_OFF_COUNTERS 40u

_Static_assert(HSM_OFF_COUNTERS + 4u * WARD_HSM_COUNTERS == WARD_CM_HSM_BLOCK_LEN,
               "HSM block layout");

/*
 * Mbed TLS's allocator. PSA's key derivation allocates (the HKDF info and
 * the derived key's bytes); nothing else ward calls does. So the pool is
 * open only while derive_key runs, is wiped when it ends (it held key
 * bytes), and every other request fails and is counted.
 */
#define POOL_SIZE 256u
static _Alignas(8) uint8_t s_pool[POOL_SIZE];
static uint32_t s_pool_used;
static bool s_pool_open;
static ward_cm_hsm_stats_t s_stats;

static void *pool_calloc(size_t n, size_t size)
{
    if (!s_pool_open) {
        s_stats.stray_allocs++;
        return NULL;
    }
    if (size != 0u && n > POOL_SIZE / size) {
        return NULL;
    }
    const uint32_t need = (uint32_t)ward_align_up((uint32_t)(n * size), 8u);
    if (need == 0u || need > POOL_SIZE - s_pool_used) {
        return NULL;
    }
    uint8_t *p = s_pool + s_pool_used;
    s_pool_used += need;
    if (s_pool_used > s_stats.pool_peak) {
        s_stats.pool_peak = s_pool_used;
    }
    memset(p, 0, need);
    return p;
}

static void pool_free(void *p)
{
    (void)p; /* released all at once when the derivation ends */
}

static uint8_t *block(uint32_t off)
{
    return ward_cm_addr(WARD_CM_HSM_ADDR + off);
}

static bool has_huk(void)
{
    return ward_load_le32(block(0)) == WARD_CM_HSM_MAGIC &&
           (ward_load_le32(block(HSM_OFF_FLAGS)) & 1u) != 0u;
}

static ward_err_t cm_huk_generate(void *ctx)
{
    (void)ctx;
    /* No TRNG on this board: the factory loads the HUK (mkblobs.py hsm). */
    return has_huk() ? WARD_ERR_EXISTS : WARD_ERR_UNSUPPORTED;
}

static ward_err_t cm_derive_key(void *ctx, ward_hsm_key_type_t type, const uint8_t *label,
                                size_t label_len, uint32_t *key_id)
{
    (void)ctx;
    if (key_id == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *key_id = 0;
    if (!has_huk()) {
        return WARD_ERR_STATE;
    }
    s_pool_used = 0;
    s_pool_open = true;
    ward_err_t err = ward_soft_hsm_derive(block(HSM_OFF_HUK), type, label, label_len, key_id);
    s_pool_open = false;
    ward_wipe(s_pool, sizeof s_pool);
    s_pool_used = 0;
    if (err == WARD_OK) {
        s_stats.derives++;
    }
    return err;
}

static ward_err_t cm_counter_read(void *ctx, uint32_t idx, uint32_t *value)
{
    (void)ctx;
    if (idx >= WARD_HSM_COUNTERS || value == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (ward_load_le32(block(0)) != WARD_CM_HSM_MAGIC) {
        return WARD_ERR_STATE;
    }
    *value = ward_load_le32(block(HSM_OFF_COUNTERS + 4u * idx));
    return WARD_OK;
}

static ward_err_t cm_counter_increment(void *ctx, uint32_t idx, uint32_t *value)
{
    uint32_t v = 0;
    ward_err_t err = cm_counter_read(ctx, idx, &v);
    if (err != WARD_OK) {
        return err;
    }
    if (v >= WARD_HSM_COUNTER_MAX) {
        return WARD_ERR_LIMIT;
    }
    v++;
    ward_store_le32(block(HSM_OFF_COUNTERS + 4u * idx), v);
    if (value != NULL) {
        *value = v;
    }
    return WARD_OK;
}

static ward_err_t cm_id_generate(void *ctx)
{
    (void)ctx;
    return WARD_ERR_UNSUPPORTED; /* needs a TRNG */
}

static ward_err_t cm_id_public(void *ctx, uint8_t pub[65])
{
    (void)ctx;
    (void)pub;
    return WARD_ERR_UNSUPPORTED;
}

static ward_err_t cm_id_sign_hash(void *ctx, const uint8_t hash[32], uint8_t sig[64])
{
    (void)ctx;
    (void)hash;
    (void)sig;
    return WARD_ERR_UNSUPPORTED;
}

static ward_err_t cm_id_key(void *ctx, uint32_t *key_id);
static ward_err_t cm_id_next_generate(void *ctx);
static ward_err_t cm_id_next_commit(void *ctx);

static const ward_hsm_t k_hsm = {
    .ctx = NULL,
    .huk_generate = cm_huk_generate,
    .derive_key = cm_derive_key,
    .counter_read = cm_counter_read,
    .counter_increment = cm_counter_increment,
    .id_generate = cm_id_generate,
    .id_public = cm_id_public,
    .id_sign_hash = cm_id_sign_hash,
    .id_key = cm_id_key,
    .id_next_generate = cm_id_next_generate,
    .id_next_key = cm_id_key,
    .id_next_commit = cm_id_next_commit,
};

const ward_hsm_t *ward_cm_hsm(void)
{
    s_stats.pool_size = POOL_SIZE;
    if (mbedtls_platform_set_calloc_free(pool_calloc, pool_free) != 0 ||
        psa_crypto_init() != PSA_SUCCESS) {
        return NULL;
    }
    return &k_hsm;
}

void ward_cm_hsm_stats(ward_cm_hsm_stats_t *st)
{
    *st = s_stats;
}

/* PSA's RNG hook (MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG): this board has none.
 * Nothing in the vault or the derivation asks for randomness. */
psa_status_t mbedtls_psa_external_get_random(mbedtls_psa_external_random_context_t *context,
                                             uint8_t *output, size_t output_size,
                                             size_t *output_length);
psa_status_t mbedtls_psa_external_get_random(mbedtls_psa_external_random_context_t *context,
                                             uint8_t *output, size_t output_size,
                                             size_t *output_length)
{
    (void)context;
    (void)output;
    (void)output_size;
    *output_length = 0;
    return PSA_ERROR_INSUFFICIENT_ENTROPY;
}

/* No identity key on this board (it needs a TRNG): no key ids, no rotation. */
static ward_err_t cm_id_key(void *ctx, uint32_t *key_id)
{
    (void)ctx;
    if (key_id != NULL) {
        *key_id = 0;
    }
    return WARD_ERR_UNSUPPORTED;
}

static ward_err_t cm_id_next_generate(void *ctx)
{
    (void)ctx;
    return WARD_ERR_UNSUPPORTED;
}

static ward_err_t cm_id_next_commit(void *ctx)
{
    (void)ctx;
    return WARD_ERR_UNSUPPORTED;
}
