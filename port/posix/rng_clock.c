/* ward simulator: random numbers and time. */
#include <psa/crypto.h>
#include <string.h>
#include <time.h>

#include "ward/sim.h"
#include "ward/util.h"

static ward_err_t rng_fill(void *ctx, void *buf, size_t len)
{
    ward_sim_rng_t *r = ctx;
    uint8_t *out = buf;
    if (buf == NULL && len > 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    if (!r->deterministic) {
        return psa_generate_random(out, len) == PSA_SUCCESS ? WARD_OK : WARD_ERR_CRYPTO;
    }
    /* Reproducible stream for tests: SHA-256(seed || counter) blocks. */
    while (len > 0u) {
        uint8_t in[40], block[32];
        size_t n = 0;
        memcpy(in, r->seed, 32);
        ward_store_le64(in + 32, r->counter++);
        if (psa_hash_compute(PSA_ALG_SHA_256, in, sizeof in, block, sizeof block, &n) !=
            PSA_SUCCESS) {
            return WARD_ERR_CRYPTO;
        }
        size_t take = len < sizeof block ? len : sizeof block;
        memcpy(out, block, take);
        out += take;
        len -= take;
    }
    return WARD_OK;
}

void ward_sim_rng_init(ward_sim_rng_t *r, const uint8_t *seed, size_t seed_len)
{
    memset(r, 0, sizeof *r);
    r->port = (ward_rng_t){.ctx = r, .fill = rng_fill};
    (void)psa_crypto_init();
    if (seed != NULL) {
        size_t n = 0;
        r->deterministic = true;
        (void)psa_hash_compute(PSA_ALG_SHA_256, seed, seed_len, r->seed, sizeof r->seed, &n);
    }
}

static uint64_t clock_now(void *ctx)
{
    ward_sim_clock_t *c = ctx;
    if (c->virtual_time) {
        return c->now;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ward_sim_clock_init(ward_sim_clock_t *c, bool virtual_time)
{
    memset(c, 0, sizeof *c);
    c->port = (ward_clock_t){.ctx = c, .now_ms = clock_now};
    c->virtual_time = virtual_time;
}

void ward_sim_clock_advance(ward_sim_clock_t *c, uint64_t ms)
{
    c->now += ms;
}
