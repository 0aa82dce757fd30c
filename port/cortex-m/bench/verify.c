/*
 * Benchmark: instructions to verify the image in the primary slot with
 * ward, next to the crypto floor measured in the same program with the
 * same Mbed TLS build (docs/cortex-m.md, bench/cortex-m-verify.sh).
 *
 * Run under QEMU with -icount shift=8 (bench.h says how ticks become
 * instructions); the script checks the calibration and prints the ratio.
 *
 *   calib   a loop of 200000 minus one of 100000 iterations = 200000 instructions
 *   empty   two back-to-back timer reads (subtracted from every figure)
 *   floor   psa_hash_compute over [0, tlv_off) of the image + psa_import_key
 *           + psa_verify_hash + psa_destroy_key: crypto and nothing else
 *   validate  ward_image_parse + ward_image_validate (flash reads, checks)
 *   boot    ward_boot_init + ward_boot_go: the bootloader's whole decision
 */
#include <string.h>

#include "ward/boot.h"
#include "ward/crypto.h"
#include "ward/image.h"
#include "ward/util.h"
#include "bench.h"
#include "ward_cm.h"
#include "ward_cm_priv.h"

/* What the boot core lets an image use: the slot minus its trailer sector. */
#define IMAGE_MAX WARD_BOARD_IMAGE_MAX

static void fail(const char *what, int32_t code)
{
    ward_cm_puts("bench: ");
    ward_cm_puts(what);
    ward_cm_puts(" failed: ");
    ward_cm_put_dec(code);
    ward_cm_puts("\n");
    ward_cm_exit(1);
}

/* The first ECDSA_SIG TLV of the unprotected area, as r||s. */
static void find_sig(const ward_image_info_t *info, const uint8_t *img, uint8_t raw[64])
{
    uint32_t off = info->tlv_off + WARD_IMAGE_TLV_INFO_SIZE;
    while (off + WARD_IMAGE_TLV_HDR_SIZE <= info->total_size) {
        const uint16_t type = ward_load_le16(img + off);
        const uint16_t len = ward_load_le16(img + off + 2u);
        off += WARD_IMAGE_TLV_HDR_SIZE;
        if (type == WARD_TLV_ECDSA_SIG && ward_ecdsa_der_to_raw(raw, img + off, len) == WARD_OK) {
            return;
        }
        off += len;
    }
    fail("finding the signature", 0);
}

int main(void)
{
    const uint8_t *img = ward_cm_addr(WARD_BOARD_PRIMARY_ADDR);
    /* A modifiable copy: the image reader takes a void * context. */
    ward_area_t primary = ward_cm_layout()->primary;
    ward_boot_config_t cfg;
    ward_image_info_t info;
    ward_image_trust_t trust;
    uint8_t key_hash[32];
    uint8_t pub[WARD_P256_PUB_LEN];
    uint8_t sig[WARD_P256_SIG_LEN];
    uint8_t hash[32];
    size_t hlen = 0;
    uint32_t t0;
    uint32_t t1;

    ward_cm_puts("bench: verify\n");
    ward_cm_boot_config(&cfg);
    if (cfg.spki == NULL || ward_p256_spki_parse(pub, cfg.spki, cfg.spki_len) != WARD_OK) {
        fail("reading the key block", 0);
    }
    if (cfg.otp->read(cfg.otp->ctx, WARD_OTP_BOOT_KEY_HASH, key_hash, sizeof key_hash) != WARD_OK) {
        fail("reading OTP", 0);
    }
    /* The floor goes through PSA; the boot core's SHA-256 and signature
     * check do not (WARD_CRYPTO_SHA256_DIRECT, WARD_CRYPTO_P256M_DIRECT). */
    ward_err_t err = psa_crypto_init() == PSA_SUCCESS ? WARD_OK : WARD_ERR_CRYPTO;
    if (err != WARD_OK) {
        fail("psa_crypto_init", err);
    }
    err = ward_image_parse(&info, ward_image_read_area, &primary,
                           IMAGE_MAX);
    if (err != WARD_OK) {
        fail("ward_image_parse", err);
    }
    find_sig(&info, img, sig);
    ward_cm_puts("hashed bytes ");
    ward_cm_put_dec((int32_t)info.tlv_off);
    ward_cm_puts("\n");

    ward_cm_bench_start();

    /* The floor, in one piece, then its two parts. */
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t key = PSA_KEY_ID_NULL;
    psa_set_key_type(&attr, PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&attr, 256);
    psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_VERIFY_HASH);
    psa_set_key_algorithm(&attr, PSA_ALG_ECDSA(PSA_ALG_SHA_256));

    t0 = ward_cm_timer_read();
    psa_status_t st = psa_hash_compute(PSA_ALG_SHA_256, img, info.tlv_off, hash, sizeof hash, &hlen);
    psa_status_t st2 = psa_import_key(&attr, pub, sizeof pub, &key);
    psa_status_t st3 = psa_verify_hash(key, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, sizeof hash, sig,
                                       sizeof sig);
    psa_status_t st4 = psa_destroy_key(key);
    t1 = ward_cm_timer_read();
    if (st != PSA_SUCCESS || st2 != PSA_SUCCESS || st3 != PSA_SUCCESS || st4 != PSA_SUCCESS) {
        fail("floor", st != PSA_SUCCESS ? st : st2 != PSA_SUCCESS ? st2 : st3 != PSA_SUCCESS ? st3 : st4);
    }
    ward_cm_bench_report("floor", t0, t1);

    t0 = ward_cm_timer_read();
    st = psa_hash_compute(PSA_ALG_SHA_256, img, info.tlv_off, hash, sizeof hash, &hlen);
    t1 = ward_cm_timer_read();
    ward_cm_bench_report("floor_hash", t0, t1);

    t0 = ward_cm_timer_read();
    st2 = psa_import_key(&attr, pub, sizeof pub, &key);
    st3 = psa_verify_hash(key, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, sizeof hash, sig, sizeof sig);
    st4 = psa_destroy_key(key);
    t1 = ward_cm_timer_read();
    if (st != PSA_SUCCESS || st2 != PSA_SUCCESS || st3 != PSA_SUCCESS || st4 != PSA_SUCCESS) {
        fail("floor parts", -1);
    }
    ward_cm_bench_report("floor_verify", t0, t1);

    /* ward's image check, as the boot core calls it. */
    trust.key_hash = key_hash;
    trust.spki = cfg.spki;
    trust.spki_len = cfg.spki_len;
    trust.min_sec_cnt = 0;
    ward_err_t reason = WARD_ERR_IMG_HASH;
    t0 = ward_cm_timer_read();
    err = ward_image_parse(&info, ward_image_read_area, &primary,
                           IMAGE_MAX);
    ward_fih_t ok = ward_image_validate(&info, ward_image_read_area,
                                        &primary, &trust, &reason);
    t1 = ward_cm_timer_read();
    if (err != WARD_OK || !WARD_FIH_EQ(ok)) {
        fail("ward_image_validate", err != WARD_OK ? err : reason);
    }
    ward_cm_bench_report("validate", t0, t1);

    static ward_boot_ctx_t ctx;
    ward_boot_report_t rep;
    t0 = ward_cm_timer_read();
    err = ward_boot_init(&ctx, &cfg);
    ok = err == WARD_OK ? ward_boot_go(&ctx, &rep) : WARD_FIH_FAILURE;
    t1 = ward_cm_timer_read();
    if (!WARD_FIH_EQ(ok)) {
        fail("ward_boot_go", err != WARD_OK ? err : rep.reason);
    }
    ward_cm_bench_report("boot", t0, t1);
    ward_cm_puts("bench: done\n");
    return 0;
}
