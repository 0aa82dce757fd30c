/* ward_keys internals shared by keys.c (files) and pkcs11.c (tokens). */
#ifndef WARD_TOOLS_KEYS_PRIV_H
#define WARD_TOOLS_KEYS_PRIV_H

#include <p11-kit/pkcs11.h>
#include <psa/crypto.h>

#include "ward/crypto.h"
#include "ward_keys.h"

#define WARD_KEYS_PIN_MAX 256u

struct ward_key {
    ward_sign_signer_t signer; /* signer.ctx = this key */
    ward_key_kind_t kind;
    uint8_t pub[WARD_P256_PUB_LEN];
    /* a file key */
    psa_key_id_t psa;
    /* a token key */
    CK_FUNCTION_LIST *module;   /* the module the token is in */
    CK_FUNCTION_LIST **modules; /* p11-kit's configured modules (released on close), or NULL */
    bool module_by_path;        /* module loaded by path (finalized and released on close) */
    bool session_open;
    bool always_auth;           /* CKA_ALWAYS_AUTHENTICATE: log in before each signature */
    CK_SESSION_HANDLE session;
    CK_OBJECT_HANDLE priv;
    char pin[WARD_KEYS_PIN_MAX];
    size_t pin_len;
    bool has_pin;
};

/* "fmt" into why (if any). */
void ward_keys_why(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Token keys (pkcs11.c). */
ward_err_t ward_keys_p11_open(ward_key_t *k, const char *uri, bool generate, char *why,
                              size_t why_len);
ward_err_t ward_keys_p11_sign(ward_key_t *k, const uint8_t hash[32], uint8_t sig[64]);
void ward_keys_p11_close(ward_key_t *k);

#endif
