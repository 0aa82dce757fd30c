/*
 * ward simulator: a hostile flash (docs/threat-model.md, "external flash").
 *
 * Wraps another flash port and answers one chosen read with attacker bytes:
 * an SPI interposer or a flash emulator on an external-flash part controls
 * what each read returns, not only what the chip holds. Programs and erases
 * pass through untouched. Counting the reads of a clean run and then
 * attacking each one in turn (ward_sim_hostile_arm) tests every
 * check-then-use pair of the code above it.
 */
#include <string.h>

#include "ward/sim.h"

static bool overlaps(const ward_sim_hostile_t *h, uint32_t off, size_t len)
{
    return off < h->hi && h->lo < off + len;
}

static ward_err_t hostile_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    ward_sim_hostile_t *h = ctx;
    ward_err_t err = h->inner->read(h->inner->ctx, off, buf, len);
    if (err != WARD_OK || !overlaps(h, off, len)) {
        return err;
    }
    h->reads++;
    const bool hit = h->attack_read != 0u &&
                     (h->reads == h->attack_read || (h->from_then_on && h->reads > h->attack_read));
    if (!hit || h->subst == NULL) {
        return WARD_OK;
    }
    /* Only the bytes inside [lo, hi) that the substitute covers change. */
    const uint32_t a = off > h->lo ? off : h->lo;
    const uint32_t b = (uint32_t)(off + len) < h->hi ? (uint32_t)(off + len) : h->hi;
    if (a < b && b <= h->subst_len) {
        memcpy((uint8_t *)buf + (a - off), h->subst + a, b - a);
        h->hits++;
    }
    return WARD_OK;
}

static ward_err_t hostile_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    ward_sim_hostile_t *h = ctx;
    return h->inner->prog(h->inner->ctx, off, buf, len);
}

static ward_err_t hostile_erase(void *ctx, uint32_t off)
{
    ward_sim_hostile_t *h = ctx;
    return h->inner->erase(h->inner->ctx, off);
}

void ward_sim_hostile_init(ward_sim_hostile_t *h, const ward_flash_t *inner, uint32_t lo,
                           uint32_t hi)
{
    memset(h, 0, sizeof *h);
    h->inner = inner;
    h->lo = lo;
    h->hi = hi > lo ? hi : inner->size;
    h->port = *inner;
    h->port.ctx = h;
    h->port.read = hostile_read;
    h->port.prog = hostile_prog;
    h->port.erase = hostile_erase;
}

void ward_sim_hostile_arm(ward_sim_hostile_t *h, uint64_t n, bool from_then_on,
                          const uint8_t *subst, uint32_t subst_len)
{
    h->reads = 0;
    h->hits = 0;
    h->attack_read = n;
    h->from_then_on = from_then_on;
    h->subst = subst;
    h->subst_len = subst_len;
}
