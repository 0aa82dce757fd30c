/* ward_factory internals shared by its files. */
#ifndef WARD_TOOLS_FACTORY_PRIV_H
#define WARD_TOOLS_FACTORY_PRIV_H

#include <mbedtls/x509_crt.h>
#include <stdarg.h>

#include "ward_factory.h"

struct ward_factory_ca {
    ward_key_t *key;
    mbedtls_x509_crt crt; /* the root, parsed */
    char *dir;            /* FACTORY/ when records are kept, else NULL */
    int lock_fd;          /* FACTORY/ca/lock while ward_factory_ca_lock holds it, else -1 */
    unsigned lock_depth;  /* nested ward_factory_ca_lock calls */
};

/* "fmt" into why (if any). */
void ward_factory_why(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Seconds since 1970 of an X.509 time; and now. */
int64_t ward_factory_x509_time(const mbedtls_x509_time *t);
int64_t ward_factory_now(void);

/* Random 16-byte serial: positive, first byte in [0x40, 0x7f]. */
ward_err_t ward_factory_serial(uint8_t serial[WARD_FACTORY_SERIAL_LEN]);

/* Files (fs.c). */
ward_err_t ward_factory_read_file(const char *path, uint8_t **data, size_t *len);
/* Write atomically (temporary file, fsync, rename) with mode; exclusive:
 * WARD_ERR_EXISTS if path exists (link(2), no race). */
ward_err_t ward_factory_write_file(const char *path, const void *data, size_t len,
                                   unsigned mode, bool exclusive);
ward_err_t ward_factory_mkdir(const char *path, unsigned mode);
/* snprintf into a path buffer; false if it does not fit. */
bool ward_factory_path(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ward_factory_hex(char *out, const uint8_t *p, size_t n); /* 2n + 1 bytes */

/* The names a server certificate for host carries (init.c): dns[2], ips[3]. */
void ward_factory_server_names(const char *host, const char **dns, size_t *ndns, const char **ips,
                               size_t *nips);

/* The subject CN of a parsed certificate into cn (65 bytes); false if none. */
bool ward_factory_cert_cn(const mbedtls_x509_crt *crt, char cn[WARD_FACTORY_ID_MAX + 1]);
/* The 65-byte public point of a parsed certificate's P-256 key. */
ward_err_t ward_factory_cert_pub(const mbedtls_x509_crt *crt, uint8_t pub[65]);
/* Whether crt's signature verifies with issuer's key (ecdsa-with-SHA256). */
bool ward_factory_cert_signed_by(const mbedtls_x509_crt *crt, mbedtls_x509_crt *issuer);

#endif
