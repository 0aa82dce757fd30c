/* ward: PSA_WANT_* set for the "boot-min" Mbed TLS build (see mbedtls_boot_min.h). */
#ifndef WARD_CRYPTO_CONFIG_BOOT_MIN_H
#define WARD_CRYPTO_CONFIG_BOOT_MIN_H

#define PSA_WANT_ALG_SHA_256                    1
#define PSA_WANT_ALG_ECDSA                      1
#define PSA_WANT_ECC_SECP_R1_256                1
#define PSA_WANT_KEY_TYPE_ECC_PUBLIC_KEY        1

#endif
