/*
 * Benchmark: one device-side LE Secure Connections pairing on the
 * Cortex-M4 (QEMU mps2-an386, bench/cortex-m-ble.sh), next to the ECDH
 * floor measured in the same program with the same Mbed TLS build.
 *
 * The device is ward's SMP responder (src/ble, the security core built
 * against the cm-app Mbed TLS: AES-CMAC, P-256 by p256-m); the phone is an
 * SMP initiator in the same RAM, and only the device's calls are timed:
 * ward_smp_init, every ward_smp_input, the drains of its PDUs and events,
 * the LTK request, the Encryption Change, the release. Both sides must end
 * with the same LTK, or the run fails.
 *
 *   calib, empty  as bench.h
 *   floor         a P-256 key pair from a 32-byte scalar (psa_import_key +
 *                 psa_export_public_key: d*G, as ward makes its key) and one
 *                 ECDH (psa_raw_key_agreement: the peer point validated, d*Q)
 *   jw            Just Works, the device's ephemeral key pair
 *   oob           OOB with the factory pairing key (ward_hsm_t pair_*: the
 *                 public key, r, the ECDH), the phone holding the label
 * Each device figure is a sum of intervals: "intervals NAME N" says how
 * many, so the script subtracts N empty reads.
 *
 * mps2-an386 has no TRNG: the rng here is a fixed-seed xorshift stream, for
 * counting only (the counts repeat exactly); a product takes its TRNG.
 * The CMAC and cipher contexts Mbed TLS allocates come from a static pool
 * whose peak is printed.
 */
#include <string.h>

#include "bench.h"
#include "mbedtls/platform.h"
#include "psa/crypto.h"
#include "ward/ble_bonds.h"
#include "ward/smp.h"
#include "ward/soft_hsm.h"
#include "ward/util.h"
#include "ward_cm.h"
#include "ward_cm_priv.h"

static void fail(const char *what, int32_t code)
{
    ward_cm_puts("FAIL ");
    ward_cm_puts(what);
    ward_cm_puts(": ");
    ward_cm_put_dec(code);
    ward_cm_puts("\n");
    ward_cm_exit(1);
}

/* ---- a heap for Mbed TLS's CMAC and cipher contexts ---------------------------------- */

#define POOL_SIZE 4096u
static uint8_t s_pool[POOL_SIZE] __attribute__((aligned(8)));
static uint32_t s_used, s_peak, s_allocs;
/* A first-fit pool of blocks with a 8-byte header (size, in use). */
static void *pool_calloc(size_t n, size_t size)
{
    if (size != 0u && n > (POOL_SIZE / size)) {
        return NULL;
    }
    const uint32_t want = (uint32_t)((n * size + 7u) & ~7u);
    uint32_t off = 0;
    while (off + 8u <= POOL_SIZE) {
        uint32_t *h = (uint32_t *)(void *)(s_pool + off);
        if (h[0] == 0u) { /* the never-used end */
            if (off + 8u + want > POOL_SIZE) {
                return NULL;
            }
            h[0] = want;
            h[1] = 1u;
            break;
        }
        if (h[1] == 0u && h[0] >= want) {
            h[1] = 1u;
            break;
        }
        off += 8u + h[0];
    }
    if (off + 8u > POOL_SIZE) {
        return NULL;
    }
    uint32_t *h = (uint32_t *)(void *)(s_pool + off);
    memset(h + 2, 0, h[0]);
    s_used += h[0] + 8u;
    s_allocs++;
    if (s_used > s_peak) {
        s_peak = s_used;
    }
    return h + 2;
}

static void pool_free(void *p)
{
    if (p == NULL) {
        return;
    }
    uint32_t *h = (uint32_t *)p - 2;
    ward_wipe(h + 2, h[0]);
    h[1] = 0u;
    s_used -= h[0] + 8u;
}

/* ---- rng: a fixed-seed stream (no TRNG on this board; counting only) ------------------ */

typedef struct {
    uint64_t s;
} xs_t;

static ward_err_t xs_fill(void *ctx, void *buf, size_t len)
{
    xs_t *x = ctx;
    uint8_t *o = buf;
    for (size_t i = 0; i < len; i++) {
        x->s ^= x->s >> 12;
        x->s ^= x->s << 25;
        x->s ^= x->s >> 27;
        o[i] = (uint8_t)((x->s * 0x2545F4914F6CDD1DULL) >> 56);
    }
    return WARD_OK;
}

static xs_t s_psa_rng = {0x243F6A8885A308D3ULL};

/* PSA's RNG hook (MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG). Nothing on the timed
 * paths asks for it (p256-m's ECDH has no blinding to feed). */
psa_status_t mbedtls_psa_external_get_random(mbedtls_psa_external_random_context_t *context,
                                             uint8_t *output, size_t output_size,
                                             size_t *output_length);
psa_status_t mbedtls_psa_external_get_random(mbedtls_psa_external_random_context_t *context,
                                             uint8_t *output, size_t output_size,
                                             size_t *output_length)
{
    (void)context;
    (void)xs_fill(&s_psa_rng, output, output_size);
    *output_length = output_size;
    return PSA_SUCCESS;
}

/* ---- the factory pairing key, as the board's HSM would hold it ---------------------- */

static uint8_t s_pair_priv[32];
static uint8_t s_pair_r[16];

static ward_err_t hsm_pair_public(void *ctx, uint8_t pub[65])
{
    (void)ctx;
    return ward_soft_hsm_pair_public(s_pair_priv, pub);
}

static ward_err_t hsm_pair_random(void *ctx, uint8_t r[16])
{
    (void)ctx;
    memcpy(r, s_pair_r, 16);
    return WARD_OK;
}

static ward_err_t hsm_pair_ecdh(void *ctx, const uint8_t peer[65], uint8_t dhkey[32])
{
    (void)ctx;
    return ward_soft_hsm_pair_ecdh(s_pair_priv, peer, dhkey);
}

static const ward_hsm_t k_hsm = {
    .pair_public = hsm_pair_public, .pair_random = hsm_pair_random, .pair_ecdh = hsm_pair_ecdh};

/* ---- one pairing ------------------------------------------------------------------- */

static ward_smp_t s_dev, s_phone;
static uint32_t s_ticks, s_intervals;

#define TIMED(call)                                                                             \
    do {                                                                                        \
        const uint32_t t0_ = ward_cm_timer_read();                                             \
        call;                                                                                   \
        const uint32_t t1_ = ward_cm_timer_read();                                             \
        s_ticks += t0_ - t1_;                                                                   \
        s_intervals++;                                                                          \
    } while (0)

/* Carry the PDUs queued on one side to the other. */
static void carry(ward_smp_t *from, ward_smp_t *to, bool time_from, bool time_to)
{
    uint8_t pdu[WARD_SMP_PDU_MAX];
    size_t n = 0;
    for (;;) {
        ward_err_t err = WARD_ERR_NOT_FOUND;
        if (time_from) {
            TIMED(err = ward_smp_next_pdu(from, pdu, sizeof pdu, &n));
        } else {
            err = ward_smp_next_pdu(from, pdu, sizeof pdu, &n);
        }
        if (err != WARD_OK) {
            return;
        }
        if (time_to) {
            TIMED(err = ward_smp_input(to, pdu, n, 0));
        } else {
            err = ward_smp_input(to, pdu, n, 0);
        }
        if (err != WARD_OK) {
            fail("an SMP PDU was refused", err);
        }
    }
}

/* Events of one side; the phone's START_ENCRYPTION becomes the device's
 * LTK request and both sides' Encryption Change. */
static bool drain_events(ward_smp_t *s, bool device, uint8_t ltk_out[16], bool *enc)
{
    ward_smp_event_t ev;
    bool paired = false;
    for (;;) {
        bool got = false;
        if (device) {
            TIMED(got = ward_smp_next_event(s, &ev));
        } else {
            got = ward_smp_next_event(s, &ev);
        }
        if (!got) {
            return paired;
        }
        if (ev.type == WARD_SMP_EV_FAILED) {
            fail(device ? "device pairing failed" : "phone pairing failed", ev.reason);
        }
        if (ev.type == WARD_SMP_EV_START_ENCRYPTION) {
            *enc = true;
        }
        if (ev.type == WARD_SMP_EV_PAIRED) {
            memcpy(ltk_out, ev.keys.ltk, 16);
            paired = true;
        }
        ward_wipe(&ev, sizeof ev);
    }
}

static void pair_once(const char *name, bool oob)
{
    static xs_t dev_rng, phone_rng;
    dev_rng.s = 0x9E3779B97F4A7C15ULL;
    phone_rng.s = 0xD1B54A32D192ED03ULL;
    const ward_rng_t dr = {&dev_rng, xs_fill}, pr = {&phone_rng, xs_fill};
    const ward_ble_addr_t dev_id = {WARD_BLE_ADDR_RANDOM, {0x11, 0x22, 0x33, 0x44, 0x55, 0xD6}};
    const ward_ble_addr_t phone_id = {WARD_BLE_ADDR_RANDOM, {0x01, 0x02, 0x03, 0x04, 0x05, 0xC6}};
    static const uint8_t phone_irk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    /* The label: r and C = f4(PKx, PKx, r, 0) of the factory key. */
    ward_smp_oob_t label;
    if (oob) {
        uint8_t sec1[65], pub[64];
        if (ward_soft_hsm_pair_public(s_pair_priv, sec1) != WARD_OK) {
            fail("pairing key", 0);
        }
        ward_ble_pub_from_sec1(pub, sec1);
        memcpy(label.r, s_pair_r, 16);
        if (ward_ble_f4(label.c, pub, pub, label.r, 0) != WARD_OK) {
            fail("label", 0);
        }
    }
    const ward_smp_config_t dc = {.role = WARD_SMP_RESPONDER,
                                  .io_cap = WARD_SMP_IO_NONE,
                                  .bonding = true,
                                  .rng = &dr,
                                  .oob_hsm = oob ? &k_hsm : NULL};
    const ward_smp_config_t pc = {.role = WARD_SMP_INITIATOR,
                                  .io_cap = WARD_SMP_IO_KEYBOARD_DISPLAY,
                                  .bonding = true,
                                  .mitm = oob,
                                  .rng = &pr,
                                  .peer_oob = oob ? &label : NULL,
                                  .local_irk = phone_irk,
                                  .local_identity = &phone_id};
    const ward_smp_link_t dl = {.local = dev_id, .peer = phone_id};
    const ward_smp_link_t pl = {.local = phone_id, .peer = dev_id};
    s_ticks = 0;
    s_intervals = 0;
    s_peak = s_used;
    const uint32_t allocs0 = s_allocs;
    ward_err_t err = WARD_OK;
    TIMED(err = ward_smp_init(&s_dev, &dc, &dl, 0));
    if (err != WARD_OK || ward_smp_init(&s_phone, &pc, &pl, 0) != WARD_OK ||
        ward_smp_start(&s_phone, 0) != WARD_OK) {
        fail("init", err);
    }
    uint8_t ltk_dev[16] = {0}, ltk_phone[16] = {0};
    bool dev_done = false, phone_done = false;
    for (int round = 0; round < 64 && !(dev_done && phone_done); round++) {
        bool enc = false;
        carry(&s_phone, &s_dev, false, true);
        dev_done |= drain_events(&s_dev, true, ltk_dev, &enc);
        carry(&s_dev, &s_phone, true, false);
        phone_done |= drain_events(&s_phone, false, ltk_phone, &enc);
        if (enc) {
            /* The controllers: the device answers the LTK request, both
             * report the encryption (key size 16). */
            uint8_t ltk[16];
            const uint8_t rand[8] = {0};
            TIMED(err = ward_smp_ltk_request(&s_dev, 0, rand, ltk));
            if (err != WARD_OK) {
                fail("LTK request", err);
            }
            ward_wipe(ltk, sizeof ltk);
            TIMED(err = ward_smp_encryption_changed(&s_dev, true, 16, 0));
            if (err != WARD_OK || ward_smp_encryption_changed(&s_phone, true, 16, 0) != WARD_OK) {
                fail("encryption", err);
            }
            dev_done |= drain_events(&s_dev, true, ltk_dev, &enc);
            carry(&s_dev, &s_phone, true, false);
            phone_done |= drain_events(&s_phone, false, ltk_phone, &enc);
        }
    }
    TIMED(ward_smp_release(&s_dev));
    ward_smp_release(&s_phone);
    if (!dev_done || !phone_done || memcmp(ltk_dev, ltk_phone, 16) != 0 ||
        ward_ct_all(ltk_dev, 0, 16)) {
        fail("the two sides did not end with the same LTK", 0);
    }
    ward_cm_puts("ok ");
    ward_cm_puts(name);
    ward_cm_puts(": both sides hold the same LTK\n");
    ward_cm_bench_report(name, s_ticks, 0);
    ward_cm_puts("intervals ");
    ward_cm_puts(name);
    ward_cm_puts(" ");
    ward_cm_put_dec((int32_t)s_intervals);
    ward_cm_puts("\nheap ");
    ward_cm_puts(name);
    ward_cm_puts(" peak ");
    ward_cm_put_dec((int32_t)s_peak);
    ward_cm_puts(" bytes, ");
    ward_cm_put_dec((int32_t)(s_allocs - allocs0));
    ward_cm_puts(" allocations\n");
}

/* ---- the ECDH floor ------------------------------------------------------------------ */

static void floor_run(void)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&a, PSA_ALG_ECDH);
    static xs_t rng = {0x0123456789ABCDEFULL};
    uint8_t d[32], peer_d[32], peer_pub[65], pub[65], x[32];
    size_t n = 0;
    psa_key_id_t id = PSA_KEY_ID_NULL, peer = PSA_KEY_ID_NULL;
    /* The peer's public key, made beforehand (not timed). */
    (void)xs_fill(&rng, peer_d, sizeof peer_d);
    (void)xs_fill(&rng, d, sizeof d);
    if (psa_import_key(&a, peer_d, 32, &peer) != PSA_SUCCESS ||
        psa_export_public_key(peer, peer_pub, sizeof peer_pub, &n) != PSA_SUCCESS) {
        fail("floor: the peer key", 0);
    }
    (void)psa_destroy_key(peer);
    psa_status_t s1, s2, s3, s4;
    uint32_t t0 = ward_cm_timer_read();
    s1 = psa_import_key(&a, d, sizeof d, &id);
    s2 = psa_export_public_key(id, pub, sizeof pub, &n);
    s3 = psa_raw_key_agreement(PSA_ALG_ECDH, id, peer_pub, sizeof peer_pub, x, sizeof x, &n);
    s4 = psa_destroy_key(id);
    uint32_t t1 = ward_cm_timer_read();
    if (s1 != PSA_SUCCESS || s2 != PSA_SUCCESS || s3 != PSA_SUCCESS || s4 != PSA_SUCCESS) {
        fail("floor", s1 != PSA_SUCCESS ? s1 : s2 != PSA_SUCCESS ? s2 : s3 != PSA_SUCCESS ? s3 : s4);
    }
    ward_cm_bench_report("floor", t0, t1);
    /* Its two halves. */
    t0 = ward_cm_timer_read();
    s1 = psa_import_key(&a, d, sizeof d, &id);
    s2 = psa_export_public_key(id, pub, sizeof pub, &n);
    t1 = ward_cm_timer_read();
    ward_cm_bench_report("floor_keygen", t0, t1);
    t0 = ward_cm_timer_read();
    s3 = psa_raw_key_agreement(PSA_ALG_ECDH, id, peer_pub, sizeof peer_pub, x, sizeof x, &n);
    t1 = ward_cm_timer_read();
    ward_cm_bench_report("floor_ecdh", t0, t1);
    (void)psa_destroy_key(id);
    if (s1 != PSA_SUCCESS || s2 != PSA_SUCCESS || s3 != PSA_SUCCESS) {
        fail("floor halves", -1);
    }
    ward_wipe(d, sizeof d);
    ward_wipe(x, sizeof x);
}

int main(void)
{
    ward_cm_puts("bench: ble pairing\n");
    if (mbedtls_platform_set_calloc_free(pool_calloc, pool_free) != 0 ||
        psa_crypto_init() != PSA_SUCCESS) {
        fail("psa_crypto_init", 0);
    }
    /* The factory's pairing key (the HSM's pair_generate on a real unit). */
    static xs_t factory = {0x5851F42D4C957F2DULL};
    ward_err_t err = WARD_ERR_CRYPTO;
    for (int i = 0; i < 8 && err != WARD_OK; i++) {
        uint8_t pub[65];
        (void)xs_fill(&factory, s_pair_priv, sizeof s_pair_priv);
        err = ward_soft_hsm_pair_public(s_pair_priv, pub);
    }
    (void)xs_fill(&factory, s_pair_r, sizeof s_pair_r);
    if (err != WARD_OK) {
        fail("the factory pairing key", err);
    }
    ward_cm_bench_start();
    floor_run();
    pair_once("jw", false);
    pair_once("oob", true);
    ward_cm_puts("context ward_smp_t ");
    ward_cm_put_dec((int32_t)sizeof(ward_smp_t));
    ward_cm_puts(" bytes\nstack peak ");
    ward_cm_put_dec((int32_t)ward_cm_stack_peak());
    ward_cm_puts(" of ");
    ward_cm_put_dec((int32_t)ward_cm_stack_size());
    ward_cm_puts(" bytes\nheap pool ");
    ward_cm_put_dec((int32_t)POOL_SIZE);
    ward_cm_puts(" bytes\nbench: done\n");
    return 0;
}
