/*
 * ward: Mbed TLS 3.6 configuration "cm-app" for Cortex-M application code:
 * what the credential vault and the board's software HSM need, through PSA.
 *
 *   vault records    AES-256-GCM (multipart AEAD)
 *   vault commits    HMAC-SHA-256
 *   HSM derivation   HKDF-SHA-256 from the device-unique key
 *   BLE pairing      AES-CMAC, AES-128 (ECB, one block), ECDH P-256 with
 *                    key import/export (src/ble: the SMP toolbox)
 *
 * No RNG: the vault never needs one (its nonces are counters, docs/vault.md)
 * and mps2-an386 has no TRNG. No heap in the vault's calls: static key slots,
 * and AES-GCM on the block-cipher layer (no cipher_context allocation).
 * PSA's key derivation does allocate (the HKDF info, the derived key's
 * bytes); only the board's software HSM derives, and it lends Mbed TLS a
 * small static pool for the length of that one call (and wipes it after),
 * as a real secure element has its own RAM. Outside it every allocation
 * fails, and is counted (port/cortex-m/src/hsm.c).
 * P-256 goes through the p256-m driver (as the bootloader's verify): no
 * bignum, no heap, no randomness for ECDH (no blinding to feed), and none
 * of Mbed TLS's own ECC code (the driver counts as an accelerator).
 */
#ifndef WARD_MBEDTLS_CM_APP_H
#define WARD_MBEDTLS_CM_APP_H

#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_PSA_CRYPTO_CONFIG
#define MBEDTLS_PSA_CRYPTO_CONFIG_FILE "crypto_config_cm_app.h"
#define MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG        /* the board supplies it (none here) */
#define MBEDTLS_PSA_ASSUME_EXCLUSIVE_BUFFERS   /* single caller, no input copies */
#define MBEDTLS_PSA_P256M_DRIVER_ENABLED       /* P-256 (BLE ECDH) by p256-m */
#define MBEDTLS_PSA_STATIC_KEY_SLOTS
#define MBEDTLS_PSA_KEY_SLOT_COUNT 6           /* vault AEAD + MAC, HSM secret + output;
                                                  a pairing's key pair + one transient */
#define MBEDTLS_PSA_STATIC_KEY_SLOT_BUFFER_SIZE 65 /* a P-256 public key (04 || X || Y) */
/* CMAC and ECB (BLE) bring in the cipher layer; keep AES-GCM on the block
 * cipher layer anyway (Mbed TLS would switch it to the cipher layer, which
 * allocates its context on every record: the vault never allocates). The
 * BLE calls do allocate (the CMAC and cipher contexts, about 0.6 KiB,
 * freed at once): a device that pairs lends Mbed TLS a heap for them
 * (bench/cortex-m-ble.sh measures its peak). */
#define MBEDTLS_BLOCK_CIPHER_C
#define MBEDTLS_AES_ROM_TABLES                 /* tables in flash, not 8 KiB of RAM */
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY                /* calloc/free set by the HSM port */
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS      /* and none from the C library */

#endif /* WARD_MBEDTLS_CM_APP_H */
