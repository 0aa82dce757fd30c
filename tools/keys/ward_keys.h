/*
 * ward_keys: host-only signing keys, kept in a file or in a PKCS#11 token.
 *
 * A key is named by a spec: a path to a PEM or DER file (as ward_sign_key_load
 * reads it), or an RFC 7512 PKCS#11 URI ("pkcs11:token=factory;object=boot-key").
 * Both sign the same way (ECDSA-P256 over a SHA-256 digest, raw r || s out),
 * so every tool that signs (ward sign, ward repo publish, the factory CA)
 * takes either. A file key signs with deterministic ECDSA (RFC 6979); a token
 * signs with its own nonce (CKM_ECDSA), so the bytes differ but the format
 * (and every check) is the same.
 *
 * PKCS#11: the URI is parsed by p11-kit (p11_kit_uri_parse); the module is
 *   1. the URI's module-path= (a path to the vendor's .so), else
 *   2. the environment variable WARD_PKCS11_MODULE (a path), else
 *   3. every module p11-kit is configured with (pkcs11.conf(5): files in
 *      /usr/share/p11-kit/modules/ and ~/.config/pkcs11/modules/), narrowed by
 *      the URI's module-name= and library-* attributes.
 * The URI must select exactly one token (token=, serial=, slot-id=...):
 * ward never tries a PIN on a token the URI does not single out. The PIN is
 * the URI's pin-value= (discouraged: it ends up in shell history), else the
 * file named by pin-source= (a path or a file: URI; one trailing newline is
 * dropped), else the environment variable WARD_PKCS11_PIN; a token with a
 * protected authentication path (a PIN pad) is logged in without one.
 * The key is the private key object the URI names by object= (CKA_LABEL)
 * and/or id= (CKA_ID); its public key is the public key object with the same
 * CKA_ID (or the same label when it has no id), or the private key's
 * CKA_PUBLIC_KEY_INFO.
 *
 * Every signature is checked against the public key before it is returned,
 * so a token that signs with another key than it names is caught at once.
 *
 * Host code: allocates, reads files, loads shared objects. Call
 * ward_crypto_init() first.
 */
#ifndef WARD_TOOLS_KEYS_H
#define WARD_TOOLS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/ward.h"
#include "ward_sign.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_KEYS_ENV_MODULE "WARD_PKCS11_MODULE"
#define WARD_KEYS_ENV_PIN "WARD_PKCS11_PIN"
#define WARD_KEYS_WHY_MAX 256u /* size for the why buffers below */

typedef enum ward_key_kind {
    WARD_KEY_FILE = 1,  /* a PEM/DER file, loaded into PSA */
    WARD_KEY_PKCS11 = 2 /* an object in a PKCS#11 token: the key never leaves it */
} ward_key_kind_t;

typedef struct ward_key ward_key_t;

/* Whether spec is a PKCS#11 URI (starts with "pkcs11:", any case). */
bool ward_key_is_pkcs11(const char *spec);

/*
 * Open a private signing key. *key receives a handle (ward_key_close).
 * why (may be NULL, why_len bytes, WARD_KEYS_WHY_MAX is enough) receives a
 * one-line reason on failure: the file's problem, or the PKCS#11 function
 * and its CKR_* text.
 * Returns WARD_OK;
 *   a file:   WARD_ERR_IO, WARD_ERR_CORRUPT, WARD_ERR_UNSUPPORTED (as
 *             ward_sign_key_load), WARD_ERR_INVALID_ARG (a public key);
 *   a token:  WARD_ERR_INVALID_ARG (a URI p11-kit refuses, one with an
 *             attribute it does not know, or one naming no object=/id=),
 *             WARD_ERR_NOT_FOUND (no such token or key),
 *             WARD_ERR_PKCS11_AMBIGUOUS, WARD_ERR_PKCS11_PIN,
 *             WARD_ERR_UNSUPPORTED (not an EC P-256 key), WARD_ERR_PKCS11.
 */
ward_err_t ward_key_open(const char *spec, ward_key_t **key, char *why, size_t why_len);

/*
 * Make a new P-256 key pair where spec says:
 *   a file:  an unencrypted PKCS#8 PEM written with mode 0600, never over an
 *            existing file (WARD_ERR_EXISTS);
 *   a token: generated inside the token (C_GenerateKeyPair,
 *            CKM_EC_KEY_PAIR_GEN) as token objects labelled object=, with
 *            the URI's id= or 16 random bytes as CKA_ID; the private key
 *            CKA_SENSITIVE = true, CKA_EXTRACTABLE = false, CKA_PRIVATE =
 *            true, CKA_SIGN only. Refused (WARD_ERR_EXISTS) when an object
 *            with that label or id is already there. A token that does not
 *            keep the attributes asked for gets its new pair destroyed
 *            (WARD_ERR_PKCS11).
 * The key is returned open as ward_key_open would. Errors as ward_key_open.
 */
ward_err_t ward_key_generate(const char *spec, ward_key_t **key, char *why, size_t why_len);

ward_key_kind_t ward_key_kind(const ward_key_t *key);

/* The public key, a 91-byte DER SubjectPublicKeyInfo (owned by key). */
const uint8_t *ward_key_spki(const ward_key_t *key);

/* ECDSA-P256 over a SHA-256 digest; raw r || s. Checked against the
 * public key before it is returned (WARD_ERR_CRYPTO if it does not verify).
 * WARD_ERR_PKCS11 / WARD_ERR_PKCS11_PIN from a token. */
ward_err_t ward_key_sign_hash(ward_key_t *key, const uint8_t hash[32], uint8_t sig[64]);

/* A signer for ward_sign_image_signer (its spki and sign_hash), valid
 * while key is open. */
const ward_sign_signer_t *ward_key_signer(ward_key_t *key);

/*
 * What the token says of the private key (PKCS#11 keys only;
 * WARD_ERR_INVALID_ARG for a file key): CKA_SENSITIVE, CKA_EXTRACTABLE,
 * CKA_TOKEN (outputs may be NULL).
 */
ward_err_t ward_key_pkcs11_flags(ward_key_t *key, bool *sensitive, bool *extractable,
                                 bool *on_token);

/* Close and free (NULL is fine): the PSA key is destroyed, the token
 * session closed, the module finalized, the PIN copy wiped. */
void ward_key_close(ward_key_t *key);

/*
 * The URI of an object in the token a URI prefix names: prefix's
 * attributes with object=label (replacing any object= it has), formatted
 * by p11-kit (p11_kit_uri_format). pin-value= is dropped (a PIN is never
 * written into a file); pin-source=, module-name= and module-path= stay.
 * WARD_ERR_INVALID_ARG (a prefix p11-kit refuses), WARD_ERR_BUF_TOO_SMALL.
 */
ward_err_t ward_key_pkcs11_object_uri(const char *prefix, const char *label, char *out,
                                      size_t cap);

/*
 * A key URI as it may be written down or printed: uri without its
 * pin-value= (the rest as p11-kit formats it). WARD_ERR_INVALID_ARG (not a
 * URI p11-kit takes), WARD_ERR_BUF_TOO_SMALL.
 */
ward_err_t ward_key_pkcs11_uri_without_pin(const char *uri, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_KEYS_H */
