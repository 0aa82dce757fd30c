/* ward cloud internals shared by the src/cloud files. */
#ifndef WARD_CLOUD_PRIV_H
#define WARD_CLOUD_PRIV_H

#include "ward/cloud.h"

/* A strict DER reader: a cursor over [p, p + len). */
typedef struct ward_der {
    const uint8_t *p;
    size_t len;
} ward_der_t;

/* Take the next element of cur if its tag is `tag`: its contents in *val,
 * the whole element (header included) at *whole / *whole_len (either may
 * be NULL). Definite, shortest-form lengths of at most 3 bytes only.
 * false (cur unchanged) on another tag or a malformed element. */
bool ward_der_get(ward_der_t *cur, uint8_t tag, ward_der_t *val, const uint8_t **whole,
                  size_t *whole_len);

/* Append a DER header (tag, length of contents) at out; returns its size
 * (2..4 bytes), 0 if len needs more than 3 length bytes. out may be NULL to
 * only count. */
size_t ward_der_header(uint8_t *out, uint8_t tag, size_t len);

/* The fixed AlgorithmIdentifier of ecdsa-with-SHA256 (no parameters). */
extern const uint8_t ward_der_ecdsa_sha256[12];

/* SHA-256 of data and an ECDSA signature check with pub (P-256), r||s. */
ward_err_t ward_cloud_verify(const uint8_t pub[65], const uint8_t *data, size_t len,
                             const uint8_t sig[64]);

/* strlen bounded by max (C11 has no strnlen). */
static inline size_t ward_cloud_strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0') {
        n++;
    }
    return n;
}

/* The CSR of the HSM's next key; a new next key first when `generate`. */
ward_err_t ward_cloud_identity_csr_(ward_cloud_identity_t *ident, bool generate, uint8_t *out,
                                    size_t cap, size_t *len);

#endif
