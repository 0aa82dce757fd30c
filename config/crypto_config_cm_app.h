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

#endif /* WARD_CRYPTO_CONFIG_CM_APP_H */
