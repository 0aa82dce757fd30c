/*
 * ward_fleet: the fleet side of device identities (host library; the CLI's
 * `ward fleet` is a thin layer over it). docs/fleet.md.
 *
 *   ca        the factory CA (its certificate and key), device certificates
 *             issued from a CSR (P-256, CN = device id, <= 365 days, a new
 *             random serial, clientAuth), other certificates for tests and
 *             the broker, the CRL (DER built here; Mbed TLS has no CRL writer)
 *   fleet     a factory directory: the certificates issued so far, the
 *             revocations, the CRL file the broker reads and its reload
 *   serve     the rotation service: an MQTT client (ward's engine over
 *             ward_tls) subscribed to devices/+/csr with its own
 *             certificate, answering on devices/<id>/cert
 *
 * Host code: it allocates and uses files and POSIX. Call ward_crypto_init()
 * first.
 */
#ifndef WARD_TOOLS_FLEET_H
#define WARD_TOOLS_FLEET_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest validity of a device certificate, in days. */
#define WARD_FLEET_DAYS_MAX 365u
/* Bytes of a DER certificate this library writes, at most. */
#define WARD_FLEET_CERT_MAX 1024u

/* ---- the CA -------------------------------------------------------------------- */

typedef struct ward_fleet_ca {
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    bool loaded;
} ward_fleet_ca_t;

void ward_fleet_ca_init(ward_fleet_ca_t *ca);
void ward_fleet_ca_free(ward_fleet_ca_t *ca);
/* The CA's certificate and private key from PEM (or DER) files.
 * WARD_OK, WARD_ERR_IO, WARD_ERR_CORRUPT, WARD_ERR_INVALID_ARG (the key is
 * not the certificate's, or the certificate is not a CA). */
ward_err_t ward_fleet_ca_load(ward_fleet_ca_t *ca, const char *cert_path, const char *key_path);
/* A new self-signed P-256 CA valid `days` from now (tests, benchmarks and a
 * factory that has no CA yet); its PEM into cert_pem / key_pem if given
 * (NUL-terminated). */
ward_err_t ward_fleet_ca_generate(ward_fleet_ca_t *ca, const char *cn, uint32_t days,
                                  char *cert_pem, size_t cert_cap, char *key_pem, size_t key_cap);

/* What a certificate is for. */
typedef enum ward_fleet_profile {
    WARD_FLEET_DEVICE = 0, /* clientAuth, digitalSignature; CN = device id */
    WARD_FLEET_CLIENT = 1, /* clientAuth (the fleet service, test clients) */
    WARD_FLEET_SERVER = 2  /* serverAuth, subjectAltName DNS (the broker) */
} ward_fleet_profile_t;

typedef struct ward_fleet_cert_opts {
    ward_fleet_profile_t profile;
    int64_t not_before, not_after; /* seconds since 1970 */
    const char *dns;               /* SERVER: the host name */
    uint8_t serial[20];            /* serial_len 0: 16 random bytes */
    size_t serial_len;
} ward_fleet_cert_opts_t;

/* Certify subject_key (a public or private P-256 pk context) as CN=cn.
 * der: the certificate (WARD_FLEET_CERT_MAX bytes suffice), serial_out (may
 * be NULL, 20 bytes) and *serial_len its serial. No check of the validity
 * span here: ward_fleet_issue is the device path and bounds it.
 * WARD_OK, WARD_ERR_INVALID_ARG, WARD_ERR_BUF_TOO_SMALL, WARD_ERR_CRYPTO. */
ward_err_t ward_fleet_cert_make(ward_fleet_ca_t *ca, mbedtls_pk_context *subject_key,
                                const char *cn, const ward_fleet_cert_opts_t *o, uint8_t *der,
                                size_t cap, size_t *len, uint8_t *serial_out, size_t *serial_len);

/* Check a certificate request from device `id` (DER or PEM with its NUL):
 * well formed, signed by its own key (ECDSA with SHA-256), a P-256 key,
 * subject exactly CN=<id>, id a valid device id. *why (may be NULL) gets a
 * short reason. WARD_OK, WARD_ERR_CLOUD_CSR. */
ward_err_t ward_fleet_csr_check(const uint8_t *csr, size_t len, const char *id, const char **why);

/* Issue a device certificate for a CSR: ward_fleet_csr_check, then CN=<id>,
 * valid from now - 60 s (clock skew) for `days` (1..WARD_FLEET_DAYS_MAX),
 * a new random serial, clientAuth. WARD_OK, WARD_ERR_CLOUD_CSR,
 * WARD_ERR_INVALID_ARG, cert_make's errors. */
ward_err_t ward_fleet_issue(ward_fleet_ca_t *ca, const uint8_t *csr, size_t csr_len,
                            const char *id, int64_t now, uint32_t days, uint8_t *der, size_t cap,
                            size_t *len, const char **why);

/* One revoked certificate. */
typedef struct ward_fleet_revoked {
    uint8_t serial[20];
    size_t serial_len;
    int64_t when;
} ward_fleet_revoked_t;

/* A CRL (v2, ecdsa-with-SHA256, CRL number) signed by the CA, in PEM
 * ("X509 CRL"), NUL-terminated. WARD_OK, WARD_ERR_BUF_TOO_SMALL,
 * WARD_ERR_CRYPTO, WARD_ERR_INVALID_ARG. */
ward_err_t ward_fleet_crl(ward_fleet_ca_t *ca, const ward_fleet_revoked_t *list, size_t n,
                          int64_t this_update, int64_t next_update, uint32_t number, char *pem,
                          size_t cap, size_t *len);

/* ---- the factory directory ---------------------------------------------------------- */

/* Where things are; ward_fleet_paths_default fills them from a factory
 * directory (docs/fleet.md: ca.pem, ca.key, fleet.pem, fleet.key,
 * issued/, revoked.txt, broker/crl.pem, broker/mosquitto.pid). */
typedef struct ward_fleet_paths {
    char ca_cert[1024], ca_key[1024];
    char client_cert[1024], client_key[1024]; /* the fleet service's own identity */
    char issued[1024];                        /* a directory: <serial hex>.pem */
    char revoked[1024];                       /* "<serial hex> <unix time> <id>" lines */
    char crl[1024];
    char pid[1024];                           /* the broker's pid file */
} ward_fleet_paths_t;

void ward_fleet_paths_default(ward_fleet_paths_t *p, const char *factory_dir);

typedef struct ward_fleet {
    ward_fleet_paths_t paths;
    ward_fleet_ca_t ca;
} ward_fleet_t;

/* Load the CA (and make the issued/ directory if missing). */
ward_err_t ward_fleet_open(ward_fleet_t *f, const ward_fleet_paths_t *paths);
void ward_fleet_close(ward_fleet_t *f);

/* File a certificate this CA issued under issued/<serial hex>.pem. */
ward_err_t ward_fleet_record(ward_fleet_t *f, const uint8_t *der, size_t len);

/* One certificate of issued/. */
typedef struct ward_fleet_entry {
    char id[65];
    char serial[41]; /* hex */
    int64_t not_before, not_after;
    bool revoked;
} ward_fleet_entry_t;

/* Every certificate of issued/ (malloc'd array in *out, *n of them), in
 * order of notBefore. WARD_OK, WARD_ERR_IO. */
ward_err_t ward_fleet_list(ward_fleet_t *f, ward_fleet_entry_t **out, size_t *n);

/* Does device id hold a certificate of ours that is valid at `now` and
 * not revoked? (The service answers only such devices.) */
bool ward_fleet_known(ward_fleet_t *f, const char *id, int64_t now);

/* Revoke every certificate of device `id` (serial_hex NULL), or the one
 * with that serial (id NULL); *count: how many were newly revoked. Then
 * write the CRL (ward_fleet_crl_write). WARD_OK, WARD_ERR_NOT_FOUND
 * (nothing issued matches), WARD_ERR_IO. */
ward_err_t ward_fleet_revoke(ward_fleet_t *f, const char *id, const char *serial_hex, int64_t now,
                             size_t *count);

/* Write the CRL file from revoked.txt: valid from now for `days`
 * (default 30 when 0); the CRL number is the count of revocations + 1 plus
 * the number of days since 2020, so that it always grows. */
ward_err_t ward_fleet_crl_write(ward_fleet_t *f, int64_t now, uint32_t days);

/* SIGHUP to the broker whose pid is in paths.pid: Mosquitto then reads its
 * CRL again. WARD_OK, WARD_ERR_NOT_FOUND (no pid file), WARD_ERR_IO. */
ward_err_t ward_fleet_reload_broker(const ward_fleet_t *f);

/* ---- the rotation service -------------------------------------------------------------- */

typedef struct ward_fleet_serve_opts {
    const char *host;          /* the broker */
    uint16_t port;
    const char *server_ca;     /* PEM file pinning the broker's certificate (default: the CA's) */
    const char *client_id;     /* default "ward-fleet" */
    uint32_t days;             /* validity of what it issues; default 365 */
    uint32_t max_requests;     /* stop after this many CSRs handled (0: never) */
    uint32_t seconds;          /* stop after this long (0: never) */
    volatile sig_atomic_t *stop; /* set from a signal handler: stop (may be NULL) */
    FILE *log;                 /* one line per decision (may be NULL) */
} ward_fleet_serve_opts_t;

typedef struct ward_fleet_serve_stats {
    uint32_t requests, issued, refused, connects;
} ward_fleet_serve_stats_t;

/* Connect to the broker with the fleet service's certificate (persistent
 * session, client id client_id), subscribe to devices/+/csr (QoS 1) and for
 * every request: the topic's <id> must be a known device (ward_fleet_known:
 * the broker's ACL let only that device publish there), the CSR must pass
 * ward_fleet_csr_check for that id; then issue, file it and publish it on
 * devices/<id>/cert (QoS 1). Reconnects with back-off. Returns when asked
 * (stop, max_requests, seconds): WARD_OK, or WARD_ERR_INVALID_ARG / load
 * errors before it starts. */
ward_err_t ward_fleet_serve(ward_fleet_t *f, const ward_fleet_serve_opts_t *o,
                            ward_fleet_serve_stats_t *st);

/* ---- helpers ----------------------------------------------------------------------------- */

/* A PEM or DER file as DER (certificates). *der is malloc'd. */
ward_err_t ward_fleet_read_der(const char *path, uint8_t **der, size_t *len);
/* DER certificate to PEM (NUL-terminated). */
ward_err_t ward_fleet_pem(const uint8_t *der, size_t len, char *pem, size_t cap, size_t *out_len);
/* A P-256 private key (PEM/DER file) into PSA, usable only for ECDSA
 * signing: what ward_tls takes as a client key. */
ward_err_t ward_fleet_load_key_psa(const char *path, uint32_t *key_id);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_FLEET_H */
