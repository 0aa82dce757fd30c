/* Test support for the cloud tests: an ad-hoc CA and certificates of any
 * shape (test_pki.c). */
#ifndef WARD_TEST_PKI_H
#define WARD_TEST_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "ward/ward.h"

#define TEST_CERT_MAX 1024u

typedef struct test_ca {
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    bool loaded;
} test_ca_t;

typedef enum test_profile {
    TEST_DEVICE = 0, /* clientAuth, digitalSignature */
    TEST_CLIENT = 1,
    TEST_SERVER = 2  /* serverAuth, subjectAltName DNS */
} test_profile_t;

typedef struct test_cert_opts {
    test_profile_t profile;
    int64_t not_before, not_after;
    const char *dns;
    uint8_t serial[20]; /* serial_len 0: 16 random bytes */
    size_t serial_len;
} test_cert_opts_t;

void test_ca_init(test_ca_t *ca);
void test_ca_free(test_ca_t *ca);
/* A self-signed P-256 CA valid `days` from now. */
ward_err_t test_ca_generate(test_ca_t *ca, const char *cn, uint32_t days, char *cert_pem,
                            size_t cert_cap, char *key_pem, size_t key_cap);
/* Certify subject_key as CN=cn with any options. */
ward_err_t test_cert_make(test_ca_t *ca, mbedtls_pk_context *subject_key, const char *cn,
                          const test_cert_opts_t *o, uint8_t *der, size_t cap, size_t *len,
                          uint8_t *serial_out, size_t *serial_len);
ward_err_t test_pem(const uint8_t *der, size_t len, char *pem, size_t cap, size_t *out_len);

#endif
