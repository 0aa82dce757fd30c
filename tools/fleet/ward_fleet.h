/*
 * ward_fleet: the fleet side of device identities (host library; the CLI's
 * `ward fleet` is a thin layer over it). docs/fleet.md.
 *
 *   fleet     a factory directory (`ward factory init`): its CA, whose key is
 *             a file or lives in a PKCS#11 token, and whose records (issued
 *             certificates, revocations, the CRL) tools/factory keeps;
 *             revocation with the broker's reload
 *   serve     the rotation service: an MQTT client (ward's engine over
 *             ward_tls) with the fleet service's own certificate, subscribed
 *             to devices/+/csr, answering on devices/<id>/cert with
 *             certificates the factory CA issues (ward_factory_issue_cert)
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

#include "ward/ward.h"
#include "ward_factory.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest validity of a device certificate, in days (the factory's rule). */
#define WARD_FLEET_DAYS_MAX (WARD_FACTORY_CERT_MAX_VALIDITY / 86400u)

/* Where things are: ward_fleet_paths_default fills them from a factory
 * directory as `ward factory init` lays it out (docs/factory.md). */
typedef struct ward_fleet_paths {
    char factory[1024];     /* FACTORY/: its CA (ca/, factory.conf) and records */
    char client_cert[1100]; /* fleet/fleet.pem: the service's own identity (CN fleet@ward) */
    char client_key[1100];  /* fleet/fleet-key.pem */
    char server_ca[1100];   /* ca/ca.pem: pins the broker's certificate */
    char pid[1100];         /* broker/mosquitto.pid: the broker's pid file */
} ward_fleet_paths_t;

void ward_fleet_paths_default(ward_fleet_paths_t *p, const char *factory_dir);

typedef struct ward_fleet {
    ward_fleet_paths_t paths;
    ward_factory_ca_t *ca; /* with records */
} ward_fleet_t;

/* Open the factory's CA (ward_factory_ca_open). why: a one-line reason. */
ward_err_t ward_fleet_open(ward_fleet_t *f, const ward_fleet_paths_t *paths, char *why,
                           size_t why_len);
void ward_fleet_close(ward_fleet_t *f);

/* Check a certificate request from device `id` (DER): ward_factory_csr_check
 * (well formed, P-256, self-signature), its CN exactly `id`, `id` a device
 * id the factory accepts. *why (may be NULL): a short reason.
 * WARD_OK, WARD_ERR_CLOUD_CSR. */
ward_err_t ward_fleet_csr_check(const uint8_t *csr, size_t len, const char *id, const char **why);

/* Issue a device certificate for a CSR: ward_fleet_csr_check, then the
 * factory CA with the device profile (CN=<id>, a new random serial, valid
 * from now - 60 s for `days`, 1..WARD_FLEET_DAYS_MAX), recorded in
 * FACTORY/ca/issued/. WARD_OK, WARD_ERR_CLOUD_CSR, WARD_ERR_INVALID_ARG,
 * the factory's errors. */
ward_err_t ward_fleet_issue(ward_fleet_t *f, const uint8_t *csr, size_t csr_len, const char *id,
                            uint32_t days, uint8_t *der, size_t cap, size_t *len,
                            uint8_t serial[WARD_FACTORY_SERIAL_LEN], const char **why);

/* The device id of a request topic, devices/<id>/csr, into id; false if
 * the topic is not one. */
bool ward_fleet_csr_topic(const char *topic, size_t topic_len, char id[WARD_FACTORY_ID_MAX + 1]);

/* The rotation service's answer to one message on devices/+/csr (what
 * ward_fleet_serve does with each): the topic must be devices/<id>/csr
 * (else WARD_ERR_INVALID_ARG: not a request, ignored); <id> (copied to id)
 * a device id that holds a certificate of ours valid at `now` and not
 * revoked (ward_fleet_known: the broker keeps a revoked device's
 * connection open); then ward_fleet_issue for `days`. *why: a short reason.
 * WARD_OK, WARD_ERR_INVALID_ARG, WARD_ERR_CLOUD_CSR, ward_fleet_issue's. */
ward_err_t ward_fleet_answer(ward_fleet_t *f, const char *topic, size_t topic_len,
                             const uint8_t *csr, size_t csr_len, uint32_t days, int64_t now,
                             char id[WARD_FACTORY_ID_MAX + 1], uint8_t *der, size_t cap,
                             size_t *len, uint8_t serial[WARD_FACTORY_SERIAL_LEN],
                             const char **why);

/* One certificate the CA issued for a device. */
typedef struct ward_fleet_entry {
    char serial[41]; /* hex */
    int64_t not_before, not_after;
    bool revoked;
} ward_fleet_entry_t;

/* The certificates issued for device id, newest first (malloc'd array in
 * *out, *n of them). WARD_OK, the factory's errors. */
ward_err_t ward_fleet_list(ward_fleet_t *f, const char *id, ward_fleet_entry_t **out, size_t *n);

/* Does device id hold a certificate of ours that is valid at `now` and not
 * revoked? (The service answers only such devices.) */
bool ward_fleet_known(ward_fleet_t *f, const char *id, int64_t now);

/* Revoke every certificate of device `id` (serial_hex NULL), or the one with
 * that serial (id NULL); the factory rewrites its CRL (FACTORY/ca/crl.pem).
 * *count: how many were newly revoked. WARD_OK, WARD_ERR_NOT_FOUND (nothing
 * issued matches), WARD_ERR_INVALID_ARG, the factory's errors. */
ward_err_t ward_fleet_revoke(ward_fleet_t *f, const char *id, const char *serial_hex, int64_t now,
                             size_t *count);

/* SIGHUP to the broker whose pid is in paths.pid: Mosquitto then reads its
 * CRL again. Only a running process named mosquitto (/proc/<pid>/comm) is
 * signalled. WARD_OK, WARD_ERR_NOT_FOUND (no pid file, or no Mosquitto with
 * that pid: a stale file), WARD_ERR_CORRUPT, WARD_ERR_IO. */
ward_err_t ward_fleet_reload_broker(const ward_fleet_t *f);

/* ---- the rotation service -------------------------------------------------------------- */

typedef struct ward_fleet_serve_opts {
    const char *host;          /* the broker */
    uint16_t port;
    uint32_t days;             /* validity of what it issues; default 365 */
    uint32_t max_requests;     /* stop after this many CSRs handled (0: never) */
    uint32_t seconds;          /* stop after this long (0: never) */
    volatile sig_atomic_t *stop; /* set from a signal handler: stop (may be NULL) */
    FILE *log;                 /* one line per decision (may be NULL) */
} ward_fleet_serve_opts_t;

typedef struct ward_fleet_serve_stats {
    uint32_t requests, issued, refused, connects;
} ward_fleet_serve_stats_t;

/* Connect to the broker with the fleet service's certificate (a persistent
 * session: requests published while it is away wait for it; docs/fleet.md
 * says when Mosquitto does not keep them), subscribe to devices/+/csr (QoS 1) and for
 * every request: the topic's <id> must be a known device (ward_fleet_known;
 * the broker's ACL let only that device publish there), the CSR must pass
 * ward_fleet_csr_check for that id; then issue (ward_fleet_issue) and
 * publish the certificate on devices/<id>/cert (QoS 1). Writes the CRL again
 * (and reloads the broker) when it is more than a day old. Reconnects with
 * back-off. Returns when asked (stop, max_requests, seconds): WARD_OK, or
 * WARD_ERR_INVALID_ARG / load errors before it starts. */
ward_err_t ward_fleet_serve(ward_fleet_t *f, const ward_fleet_serve_opts_t *o,
                            ward_fleet_serve_stats_t *st);

/* ---- helpers ----------------------------------------------------------------------------- */

/* A P-256 private key (PEM/DER file) into PSA, usable only for ECDSA
 * signing: what ward_tls takes as a client key. */
ward_err_t ward_fleet_load_key_psa(const char *path, uint32_t *key_id);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_FLEET_H */
