/*
 * ward: Mbed TLS 3.6 configuration "cm-app" for Cortex-M application code:
 * what the credential vault and the board's software HSM need, through PSA.
 *
 *   vault records    AES-256-GCM (multipart AEAD)
 *   vault commits    HMAC-SHA-256
 *   HSM derivation   HKDF-SHA-256 from the device-unique key
 *
 * No RNG: the vault never needs one (its nonces are counters, docs/vault.md)
 * and mps2-an386 has no TRNG. No heap in the vault's calls: static key slots,
 * and AES-GCM on the block-cipher layer (no cipher_context allocation).
 * PSA's key derivation does allocate (the HKDF info, the derived key's
 * bytes); only the board's software HSM derives, and it lends Mbed TLS a
 * small static pool for the length of that one call (and wipes it after),
 * as a real secure element has its own RAM. Outside it every allocation
 * fails, and is counted (port/cortex-m/src/hsm.c).
 */
#ifndef WARD_MBEDTLS_CM_APP_H
#define WARD_MBEDTLS_CM_APP_H

#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_PSA_CRYPTO_CONFIG
#define MBEDTLS_PSA_CRYPTO_CONFIG_FILE "crypto_config_cm_app.h"
#define MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG        /* the board supplies it (none here) */
#define MBEDTLS_PSA_ASSUME_EXCLUSIVE_BUFFERS   /* single caller, no input copies */
#define MBEDTLS_PSA_STATIC_KEY_SLOTS
#define MBEDTLS_PSA_KEY_SLOT_COUNT 4           /* vault AEAD + MAC, HSM secret + output */
#define MBEDTLS_PSA_STATIC_KEY_SLOT_BUFFER_SIZE 32
#define MBEDTLS_AES_ROM_TABLES                 /* tables in flash, not 8 KiB of RAM */
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY                /* calloc/free set by the HSM port */
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS      /* and none from the C library */

#endif /* WARD_MBEDTLS_CM_APP_H */
