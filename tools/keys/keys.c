/*
 * ward_keys: one signing-key handle over a file (PSA) or a PKCS#11 token.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "keys_priv.h"
#include "ward/util.h"

void ward_keys_why(char *why, size_t why_len, const char *fmt, ...)
{
    if (why == NULL || why_len == 0u) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

bool ward_key_is_pkcs11(const char *spec)
{
    return spec != NULL && strncasecmp(spec, "pkcs11:", 7) == 0;
}

static ward_err_t key_sign(void *ctx, const uint8_t hash[32], uint8_t sig[64])
{
    return ward_key_sign_hash(ctx, hash, sig);
}

/* The public point and the signer once the key is open. */
static ward_err_t finish_open(ward_key_t *k)
{
    ward_p256_spki_build(k->signer.spki, k->pub);
    k->signer.ctx = k;
    k->signer.sign_hash = key_sign;
    k->signer.psa_key = k->psa;
    return WARD_OK;
}

static ward_err_t file_open(ward_key_t *k, const char *path, char *why, size_t why_len)
{
    bool priv = false;
    uint8_t spki[WARD_SIGN_SPKI_LEN];
    ward_err_t err = ward_sign_key_load(path, &k->psa, spki, &priv);
    if (err != WARD_OK) {
        ward_keys_why(why, why_len, "%s: %s", path,
                      err == WARD_ERR_IO            ? "cannot read the key file"
                      : err == WARD_ERR_UNSUPPORTED ? "not an unencrypted ECDSA P-256 key"
                                                    : "not a PEM or DER key");
        return err;
    }
    if (!priv) {
        ward_keys_why(why, why_len, "%s is a public key; signing needs the private key", path);
        return WARD_ERR_INVALID_ARG;
    }
    k->kind = WARD_KEY_FILE;
    if (ward_p256_spki_parse(k->pub, spki, sizeof spki) != WARD_OK) {
        return WARD_ERR_CRYPTO;
    }
    return WARD_OK;
}

/* Write a new file with mode 0600, never over an existing one. */
static ward_err_t write_new_0600(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return errno == EEXIST ? WARD_ERR_EXISTS : WARD_ERR_IO;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += (size_t)n;
    }
    bool ok = done == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        (void)unlink(path);
        return WARD_ERR_IO;
    }
    return WARD_OK;
}

static ward_err_t file_generate(ward_key_t *k, const char *path, char *why, size_t why_len)
{
    char pem[WARD_SIGN_PKCS8_PEM_MAX];
    size_t pem_len = 0;
    psa_key_id_t key = PSA_KEY_ID_NULL;
    ward_err_t err = ward_sign_keygen(&key);
    if (err == WARD_OK) {
        err = ward_sign_key_write_pkcs8_pem(key, pem, sizeof pem, &pem_len);
    }
    (void)psa_destroy_key(key);
    if (err == WARD_OK) {
        err = write_new_0600(path, pem, pem_len);
        if (err != WARD_OK) {
            ward_keys_why(why, why_len, "%s: %s", path,
                          err == WARD_ERR_EXISTS ? "refusing to overwrite an existing file"
                                                 : "cannot write the key file");
        }
    } else {
        ward_keys_why(why, why_len, "generating the key");
    }
    ward_wipe(pem, sizeof pem);
    return err == WARD_OK ? file_open(k, path, why, why_len) : err;
}

static ward_err_t open_or_generate(const char *spec, ward_key_t **key, bool generate, char *why,
                                   size_t why_len)
{
    if (why != NULL && why_len > 0u) {
        why[0] = '\0';
    }
    if (key == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *key = NULL;
    if (spec == NULL || spec[0] == '\0') {
        ward_keys_why(why, why_len, "no key given");
        return WARD_ERR_INVALID_ARG;
    }
    ward_key_t *k = calloc(1, sizeof *k);
    if (k == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    ward_err_t err;
    if (ward_key_is_pkcs11(spec)) {
        k->kind = WARD_KEY_PKCS11;
        err = ward_keys_p11_open(k, spec, generate, why, why_len);
    } else {
        err = generate ? file_generate(k, spec, why, why_len) : file_open(k, spec, why, why_len);
    }
    if (err == WARD_OK) {
        err = finish_open(k);
    }
    if (err != WARD_OK) {
        ward_key_close(k);
        return err;
    }
    *key = k;
    return WARD_OK;
}

ward_err_t ward_key_open(const char *spec, ward_key_t **key, char *why, size_t why_len)
{
    return open_or_generate(spec, key, false, why, why_len);
}

ward_err_t ward_key_generate(const char *spec, ward_key_t **key, char *why, size_t why_len)
{
    return open_or_generate(spec, key, true, why, why_len);
}

ward_key_kind_t ward_key_kind(const ward_key_t *key)
{
    return key->kind;
}

const uint8_t *ward_key_spki(const ward_key_t *key)
{
    return key->signer.spki;
}

const ward_sign_signer_t *ward_key_signer(ward_key_t *key)
{
    return &key->signer;
}

ward_err_t ward_key_sign_hash(ward_key_t *key, const uint8_t hash[32], uint8_t sig[64])
{
    if (key == NULL || hash == NULL || sig == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err;
    if (key->kind == WARD_KEY_PKCS11) {
        err = ward_keys_p11_sign(key, hash, sig);
    } else {
        size_t n = 0;
        psa_status_t st = psa_sign_hash(key->psa, PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256),
                                        hash, WARD_SHA256_LEN, sig, WARD_P256_SIG_LEN, &n);
        err = st == PSA_SUCCESS && n == WARD_P256_SIG_LEN ? WARD_OK : WARD_ERR_CRYPTO;
    }
    if (err == WARD_OK && ward_p256_verify(key->pub, hash, sig) != WARD_OK) {
        err = WARD_ERR_CRYPTO; /* signed with another key than the one named */
    }
    if (err != WARD_OK) {
        memset(sig, 0, WARD_P256_SIG_LEN);
    }
    return err;
}

void ward_key_close(ward_key_t *key)
{
    if (key == NULL) {
        return;
    }
    if (key->psa != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(key->psa);
    }
    if (key->kind == WARD_KEY_PKCS11) {
        ward_keys_p11_close(key);
    }
    ward_wipe(key, sizeof *key);
    free(key);
}
