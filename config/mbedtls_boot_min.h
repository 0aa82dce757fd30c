/*
 * ward: Mbed TLS 3.6 configuration "boot-min" for the Cortex-M bootloader.
 *
 * Only what the bootloader needs: SHA-256 and ECDSA-P256 *verify*, through
 * PSA, with the p256-m driver (about 9 KB of code instead of 22 KB for the
 * classic bignum/ECP path) and static key slots (no heap at all).
 */
#ifndef WARD_MBEDTLS_BOOT_MIN_H
#define WARD_MBEDTLS_BOOT_MIN_H

#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_PSA_CRYPTO_CONFIG              /* PSA_WANT_* select the build */
#define MBEDTLS_PSA_CRYPTO_CONFIG_FILE "crypto_config_boot_min.h"
#define MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG        /* verify only: no entropy, no DRBG */
#define MBEDTLS_PSA_ASSUME_EXCLUSIVE_BUFFERS   /* single caller, no input copies */
#define MBEDTLS_PSA_P256M_DRIVER_ENABLED
#define MBEDTLS_PSA_STATIC_KEY_SLOTS           /* no calloc in the key store */
/* The rolled SHA-256 compression function: 1,392 bytes less flash, what
 * takes the bootloader under 12 KiB; hashing takes about 1.4x the
 * instructions (docs/cortex-m.md, "Figures", has both). */
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_PSA_KEY_SLOT_COUNT 1
#define MBEDTLS_PSA_STATIC_KEY_SLOT_BUFFER_SIZE 65   /* one P-256 public key */

#endif /* WARD_MBEDTLS_BOOT_MIN_H */
