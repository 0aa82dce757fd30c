/* ward: PSA_WANT_* set for the "cm-app" Mbed TLS build (see mbedtls_cm_app.h). */
#ifndef WARD_CRYPTO_CONFIG_CM_APP_H
#define WARD_CRYPTO_CONFIG_CM_APP_H

#define PSA_WANT_ALG_SHA_256                    1
#define PSA_WANT_ALG_HMAC                       1
#define PSA_WANT_ALG_HKDF                       1
#define PSA_WANT_ALG_GCM                        1
#define PSA_WANT_KEY_TYPE_AES                   1
#define PSA_WANT_KEY_TYPE_HMAC                  1
#define PSA_WANT_KEY_TYPE_DERIVE                1

/* BLE LE Secure Connections (src/ble: the SMP toolbox and its key pair):
 * AES-CMAC (f4, f5, f6, g2), AES-128 one block (ah), ECDH on P-256 by the
 * p256-m driver (see mbedtls_cm_app.h). The key pair is imported from the
 * caller's rng (ward_ble_p256_generate): no PSA key generation. */
#define PSA_WANT_ALG_CMAC                       1
#define PSA_WANT_ALG_ECB_NO_PADDING             1
#define PSA_WANT_ALG_ECDH                       1
#define PSA_WANT_ECC_SECP_R1_256                1
#define PSA_WANT_KEY_TYPE_ECC_PUBLIC_KEY        1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_BASIC    1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_IMPORT   1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_EXPORT   1

#endif /* WARD_CRYPTO_CONFIG_CM_APP_H */
