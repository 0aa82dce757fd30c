/*
 * ward_factory: host-only library for the production line (docs/factory.md).
 *
 *   device ids      the one rule for a CN / MQTT user name / topic level
 *   CSR             PKCS#10 for a P-256 key held elsewhere (an HSM), signed
 *                   through a callback; portable (no malloc, no OS call)
 *   factory CA      a self-signed P-256 root whose key is a file or lives in
 *                   a PKCS#11 token (tools/keys); issues device, service and
 *                   server certificates from CSRs; signs CRLs
 *   factory dir     `ward factory init` (keys, CA, broker and web server
 *                   configuration), `provision` (one simulated unit), `eol`
 *                   (its end-of-line test)
 *
 * Certificates are built with Mbed TLS (x509write_crt for the TBS, its ASN.1
 * writers for the CSR and the CRL) and signed by a ward_key_t, so a CA key in
 * a token never leaves it. Every certificate, CSR and CRL made here is parsed
 * back by Mbed TLS and its signature verified before it is returned.
 *
 * Host code: allocates and uses files. Call ward_crypto_init() first.
 */
#ifndef WARD_TOOLS_FACTORY_H
#define WARD_TOOLS_FACTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/port.h"
#include "ward/ward.h"
#include "ward_keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- device ids ------------------------------------------------------------- */

#define WARD_FACTORY_ID_MAX 64u /* bytes; X.509 ub-common-name, the MQTT engine's bound */

/*
 * A device id as the factory assigns it: 1..64 characters of [A-Za-z0-9._-],
 * not starting with '.' or '-'. It is the certificate's CN, the broker's
 * user name and client id (use_identity_as_username /
 * use_username_as_clientid) and the topic level devices/<id>/, so it never
 * holds '/', '+', '#' (Mosquitto denies a pattern ACL to a user name with
 * '+' or '#'; '/' would open another device's subtree), a control
 * character, a space, ',' or '=' (DN syntax), and it is never "." or "..".
 * This is stricter than the MQTT engine's rule (ward_mqtt_device_id_check),
 * which it implies. WARD_OK or WARD_ERR_DEVICE_ID.
 */
ward_err_t ward_factory_device_id_check(const char *id);

/* ---- certificate profile ------------------------------------------------------ */

#define WARD_FACTORY_SERIAL_LEN 16u                   /* random, positive: 126 bits */
#define WARD_FACTORY_CERT_MAX_VALIDITY (365u * 86400u) /* seconds: one year */
#define WARD_FACTORY_CA_VALIDITY (20u * 365u * 86400u) /* the root's, seconds */
#define WARD_FACTORY_CERT_DER_MAX 2048u
#define WARD_FACTORY_CSR_DER_MAX 512u
#define WARD_FACTORY_PEM_MAX 3072u
#define WARD_FACTORY_FLEET_CN "fleet@ward" /* '@' is never in a device id */
/* The largest PUBLISH payload the factory's broker forwards (Mosquitto's
 * message_size_limit): MQTT 3.1.1 bounds nothing, and a subscriber whose
 * receive buffer a message does not fit loses its connection, then gets the
 * message again at every reconnect (QoS 1, persistent session). Every
 * device may publish into the fleet service's subscription (devices/<id>/csr),
 * so the broker bounds what reaches it. */
#define WARD_FACTORY_MESSAGE_MAX 4096u

typedef enum ward_factory_profile {
    /* A device: CN = device id (ward_factory_device_id_check), basic
     * constraints CA:false, key usage digitalSignature (critical), EKU
     * clientAuth, SKI, AKI. No SAN. */
    WARD_FACTORY_PROFILE_DEVICE = 1,
    /* A fleet-side MQTT client (the rotation service): as a device, but the
     * CN may hold '@' ([A-Za-z0-9._@-], so never a device id). */
    WARD_FACTORY_PROFILE_SERVICE = 2,
    /* A TLS server (broker, update repository): CN = the first DNS name,
     * SAN dNSName / iPAddress, key usage digitalSignature (critical), EKU
     * serverAuth. */
    WARD_FACTORY_PROFILE_SERVER = 3
} ward_factory_profile_t;

typedef struct ward_factory_cert_opts {
    ward_factory_profile_t profile;
    const char *cn;           /* device id / service name; the CSR's CN must be the same */
    const char *const *dns;   /* server: DNS names ([A-Za-z0-9.-]) */
    size_t dns_count;
    const char *const *ips;   /* server: IPv4 / IPv6 literals */
    size_t ip_count;
    int64_t not_before;       /* seconds since 1970, UTC; 0: now */
    uint32_t validity;        /* seconds; 0: WARD_FACTORY_CERT_MAX_VALIDITY; more is refused */
} ward_factory_cert_opts_t;

/* ---- CSR (PKCS#10) for a key held elsewhere ------------------------------------ */

/* ECDSA-P256 over a SHA-256 digest, raw r || s: ward_hsm_t.id_sign_hash,
 * ward_key_sign_hash, a secure element. */
typedef ward_err_t (*ward_factory_sign_fn)(void *ctx, const uint8_t hash[32], uint8_t sig[64]);

/*
 * A CSR { version 0, subject CN=cn (UTF8String), the P-256 key pub
 * (0x04 || X || Y), no attributes }, signed ecdsa-with-SHA256 through sign.
 * Written with Mbed TLS's ASN.1 writers, no allocation: device code can
 * use it as is. The signature is checked against pub (a signer that signs
 * with another key is WARD_ERR_CRYPTO). der gets *len bytes (at most
 * WARD_FACTORY_CSR_DER_MAX). WARD_ERR_BUF_TOO_SMALL, WARD_ERR_INVALID_ARG
 * (cn empty or longer than 64 bytes), the signer's error.
 */
ward_err_t ward_factory_csr_build(const char *cn, const uint8_t pub[65], ward_factory_sign_fn sign,
                                  void *sign_ctx, uint8_t *der, size_t cap, size_t *len);

/*
 * Parse a CSR and check it: well formed, a P-256 key, ecdsa-with-SHA256,
 * its signature verifies with its own key (proof of possession). cn
 * (64 + 1 bytes, may be NULL) gets its subject CN ("" if none); pub (may
 * be NULL) its key. WARD_OK or WARD_ERR_CERT.
 */
ward_err_t ward_factory_csr_check(const uint8_t *der, size_t len, char cn[WARD_FACTORY_ID_MAX + 1],
                                  uint8_t pub[65]);

/* ---- the factory CA ---------------------------------------------------------------- */

typedef struct ward_factory_ca ward_factory_ca_t;

/*
 * Make a self-signed root for key: subject CN=name ([A-Za-z0-9 ._-], 1..64),
 * random 16-byte serial, validity not_before (0: now) for `validity`
 * seconds (0: WARD_FACTORY_CA_VALIDITY), basic constraints CA:true
 * pathlen:0 (critical: it signs end-entity certificates only), key usage
 * keyCertSign | cRLSign (critical), SKI. No name constraints: Mbed TLS (the
 * devices' TLS) cannot process them, and RFC 5280 wants them critical.
 * der gets the certificate (WARD_FACTORY_CERT_DER_MAX is enough).
 */
ward_err_t ward_factory_ca_create(ward_key_t *key, const char *name, int64_t not_before,
                                  uint32_t validity, uint8_t *der, size_t cap, size_t *len);

/*
 * Open the CA of a factory directory (FACTORY/factory.conf names the key:
 * FACTORY/ca/ca-key.pem or a pkcs11: URI; FACTORY/ca/ca.pem the root).
 * The key must be the root's (WARD_ERR_CERT otherwise). A CA opened this
 * way keeps records in FACTORY/ca/: every certificate it issues
 * (issued/<serial hex>.pem, a serial is never reused), the revoked serials
 * (revoked.txt) and the CRL (crl.pem, crlnumber).
 * why (may be NULL) gets a one-line reason on failure.
 * WARD_ERR_NOT_FOUND (no factory there), WARD_ERR_CORRUPT, the key's errors.
 */
ward_err_t ward_factory_ca_open(const char *factory_dir, ward_factory_ca_t **ca, char *why,
                                size_t why_len);

/* A CA from a root certificate (PEM or DER file) and its key (a file or a
 * pkcs11: URI), without records. */
ward_err_t ward_factory_ca_load(const char *cert_path, const char *key_spec,
                                ward_factory_ca_t **ca, char *why, size_t why_len);

void ward_factory_ca_close(ward_factory_ca_t *ca);

/*
 * With records: take the records' lock (flock(2) on FACTORY/ca/lock), so
 * that what is read from them and what is written back after it happen as
 * one step among processes: every function here that writes the records
 * holds it while it works (issue_cert, revoke, crl_refresh); a caller
 * that decides from the records (whether a device holds a valid
 * certificate) and then writes (issues, revokes) holds it across both.
 * Blocks until it is free. Recursive within one ca (each lock needs its
 * unlock). Without records: WARD_OK, nothing to lock. WARD_OK, WARD_ERR_IO.
 */
ward_err_t ward_factory_ca_lock(ward_factory_ca_t *ca);
void ward_factory_ca_unlock(ward_factory_ca_t *ca);

/* The root certificate (DER), owned by ca. */
const uint8_t *ward_factory_ca_cert(const ward_factory_ca_t *ca, size_t *len);

/*
 * Certify the key of a CSR (ward_factory_csr_check: its signature must
 * verify) for the profile in o. The CSR's CN must equal o->cn; the subject
 * is CN=o->cn and nothing else of the CSR (no extension it asks for) goes
 * into the certificate. A random 16-byte serial (PSA's CSPRNG, top bit
 * clear) is drawn; with records it is drawn again until unused, and the
 * certificate is recorded before it is returned.
 * der: the certificate (*der_len bytes); serial (may be NULL): its serial.
 * Returns WARD_OK; WARD_ERR_DEVICE_ID (a device CN the factory refuses);
 * WARD_ERR_INVALID_ARG (a bad service CN, DNS name or IP, no name for a
 * server); WARD_ERR_CERT_VALIDITY (validity over one year); WARD_ERR_CERT
 * (a bad CSR, or CN mismatch); WARD_ERR_BUF_TOO_SMALL; WARD_ERR_IO
 * (records); the CA key's errors (WARD_ERR_PKCS11...).
 */
ward_err_t ward_factory_issue_cert(ward_factory_ca_t *ca, const uint8_t *csr, size_t csr_len,
                                   const ward_factory_cert_opts_t *o, uint8_t *der, size_t cap,
                                   size_t *der_len, uint8_t serial[WARD_FACTORY_SERIAL_LEN]);

/* ---- revocation -------------------------------------------------------------------- */

typedef struct ward_factory_revoked {
    uint8_t serial[20]; /* big-endian, positive, as in the certificate */
    size_t serial_len;  /* 1..20 */
    int64_t revoked_at; /* seconds since 1970, UTC */
} ward_factory_revoked_t;

/*
 * A CRL (RFC 5280 v2) signed by the CA: issuer = the root's subject,
 * thisUpdate = this_update (0: now), nextUpdate = this_update +
 * next_update_in seconds (0: 30 days; a CRL past its nextUpdate makes
 * OpenSSL, hence Mosquitto, refuse every client: refresh it before),
 * the revoked serials with their dates, extensions AKI and cRLNumber =
 * crl_number (1..INT32_MAX, must grow with each CRL). count 0 gives an
 * empty CRL. der gets *len bytes.
 * WARD_ERR_INVALID_ARG, WARD_ERR_BUF_TOO_SMALL, the CA key's errors.
 */
ward_err_t ward_factory_crl(ward_factory_ca_t *ca, const ward_factory_revoked_t *revoked,
                            size_t count, uint32_t crl_number, int64_t this_update,
                            uint32_t next_update_in, uint8_t *der, size_t cap, size_t *len);

/*
 * With records (ward_factory_ca_open): add serial to FACTORY/ca/revoked.txt
 * (revoking twice is WARD_OK) and rewrite FACTORY/ca/crl.pem with the next
 * cRLNumber, atomically. WARD_ERR_NOT_FOUND if the CA never issued that
 * serial; WARD_ERR_STATE without records. Reload the broker after it
 * (Mosquitto reads crlfile again on SIGHUP).
 */
ward_err_t ward_factory_revoke(ward_factory_ca_t *ca, const uint8_t *serial, size_t serial_len,
                               int64_t revoked_at);

/* With records: rewrite FACTORY/ca/crl.pem from revoked.txt with the next
 * cRLNumber and nextUpdate after next_update_in seconds (0: 30 days). */
ward_err_t ward_factory_crl_refresh(ward_factory_ca_t *ca, uint32_t next_update_in);

/*
 * With records: the certificates issued for a CN, newest first by
 * notBefore. Calls fn for each (its DER, serial, notBefore / notAfter as
 * seconds since 1970, whether revoked); a non-WARD_OK return stops and is
 * returned. WARD_ERR_STATE without records.
 */
typedef ward_err_t (*ward_factory_cert_fn)(void *ctx, const uint8_t *der, size_t len,
                                           const uint8_t *serial, size_t serial_len,
                                           int64_t not_before, int64_t not_after, bool revoked);
ward_err_t ward_factory_issued_for(ward_factory_ca_t *ca, const char *cn, ward_factory_cert_fn fn,
                                   void *ctx);

/* ---- PEM and certificate helpers ----------------------------------------------------- */

/* DER to PEM with the label ("CERTIFICATE", "X509 CRL", "CERTIFICATE
 * REQUEST"); pem gets a NUL-terminated string of *pem_len characters. */
ward_err_t ward_factory_pem(const char *label, const uint8_t *der, size_t len, char *pem,
                            size_t cap, size_t *pem_len);

/* Seconds since 1970 as "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with the NUL). */
void ward_factory_iso8601(int64_t t, char out[21]);

/* The first certificate of a PEM or DER file as DER (malloc'd; free it).
 * WARD_ERR_NOT_FOUND, WARD_ERR_IO, WARD_ERR_CERT. */
ward_err_t ward_factory_cert_read(const char *path, uint8_t **der, size_t *len);

/* ---- the factory directory ------------------------------------------------------------ */

typedef struct ward_factory_init_opts {
    const char *dir;           /* FACTORY/: must not hold a factory (WARD_ERR_EXISTS) */
    const char *pkcs11;        /* NULL: keys in files (0600); else a pkcs11: URI prefix
                                  (token=..., module-path=, pin-source=): boot, OTA and CA
                                  keys are made inside that token */
    const char *name;          /* the CA's CN; NULL: "ward factory CA" */
    const char *device_class;  /* default class of the units; NULL: "device" */
    const char *broker_host;   /* the broker's DNS name; NULL: "localhost" */
    const char *repo_host;     /* the update server's DNS name; NULL: broker_host */
    uint16_t broker_port;      /* 0: 8883 */
    uint16_t repo_port;        /* 0: 443 */
    const char *broker_user;   /* Mosquitto's `user` line (NULL: none: root drops to
                                  "mosquitto", which must read FACTORY/) */
    const char *boot_key;      /* NULL: make one; else an existing key to use (file or URI) */
    const char *ota_key;       /* NULL: make one; else an existing key */
} ward_factory_init_opts_t;

typedef struct ward_factory_init_result {
    uint8_t boot_key_hash[32];
    uint8_t ota_key_hash[32];
    uint8_t ca_serial[WARD_FACTORY_SERIAL_LEN];
    char boot_key[512]; /* the specs recorded in factory.conf */
    char ota_key[512];
    char ca_key[512];
} ward_factory_init_result_t;

/*
 * Make a factory (docs/factory.md, "init"): boot key, OTA key (refused if
 * equal: WARD_ERR_OTA_KEY), the CA, an empty CRL, the broker's
 * configuration (broker/mosquitto.conf, acl, server certificate and key),
 * the fleet service's identity (fleet/), the update server's (web/nginx.conf,
 * server certificate and key), repo/. Private keys in files have mode 0600.
 * On failure the half-made directory is left for inspection and refused by
 * a second init (WARD_ERR_EXISTS): remove it by hand.
 */
ward_err_t ward_factory_init(const ward_factory_init_opts_t *o, ward_factory_init_result_t *r,
                             char *why, size_t why_len);

/* The factory configuration (FACTORY/factory.conf). */
typedef struct ward_factory_conf {
    char boot_key[512], ota_key[512], ca_key[512]; /* key specs (files or URIs) */
    char device_class[33];
    char broker_host[254];
    uint16_t broker_port;
    char repo_host[254]; /* the update server ("" in a factory.conf without it) */
    uint16_t repo_port;
} ward_factory_conf_t;

ward_err_t ward_factory_conf_read(const char *dir, ward_factory_conf_t *c);

typedef struct ward_factory_provision_opts {
    const char *factory;      /* FACTORY/ */
    const char *device_id;    /* ward_factory_device_id_check */
    const char *image;        /* a signed MCUboot image (verified with the boot key first) */
    const char *out;          /* DEVICE/: a new simulated device */
    const char *device_class; /* NULL: the factory's */
    uint32_t validity;        /* certificate, seconds; 0: one year; more is refused */
    const char *profile;      /* the firmware build's device profile (a file, checked
                                 with ward_profile_load); NULL: the sample plug's, with
                                 the factory's broker and update server URLs */
    int64_t now;              /* 0: the clock; tests set it */
    /* Station steps, for tests of the end-of-line check: a line always
     * burns both (the CLI offers no way not to). */
    bool skip_secure_boot;
    bool skip_debug_lock;
} ward_factory_provision_opts_t;

typedef struct ward_factory_provision_result {
    uint8_t serial[WARD_FACTORY_SERIAL_LEN];
    uint8_t identity_pub[65];
    int64_t not_before, not_after;
    bool label_done; /* the BLE label step ran (false until the BLE work provides it) */
} ward_factory_provision_result_t;

/*
 * Provision one simulated unit as a station would (docs/factory.md,
 * "provision"): check the id, the validity and the image; create DEVICE/;
 * HUK and identity key generated inside the HSM; a CSR signed by the HSM,
 * certified by the factory CA; boot, OTA and device-id hashes burnt into OTP
 * and locked; the boot key built into the bootloader; the OTA key and
 * class stored; the image flashed; secure boot on and debug locked (last,
 * so a station fault leaves a unit that can still be debugged); the BLE
 * label step (a no-op until the BLE work provides it); DEVICE/cert.pem,
 * ca.pem, device-profile.json (docs/device-profile.md) and
 * factory-record.json, whose copy goes to FACTORY/units/<serial hex>.json
 * (the factory's register of its units: the audit looks for identities
 * and pairing keys that two units share).
 * Refusals before anything is made: WARD_ERR_DEVICE_ID,
 * WARD_ERR_CERT_VALIDITY, WARD_ERR_OTA_KEY (OTA key = boot key),
 * WARD_ERR_EXISTS (DEVICE/ holds a device, or the CA's records hold a
 * certificate for device_id that is neither revoked nor expired: one id, one
 * unit), the image's WARD_ERR_IMG_*, WARD_ERR_PROFILE (o->profile is not a
 * valid profile).
 */
ward_err_t ward_factory_provision(const ward_factory_provision_opts_t *o,
                                  ward_factory_provision_result_t *r, char *why, size_t why_len);

/* ---- end of line --------------------------------------------------------------------- */

typedef enum ward_factory_check {
    WARD_FACTORY_CHECK_BOOT = 0,          /* the unit boots (ward_boot_go) */
    WARD_FACTORY_CHECK_IMAGE,             /* the running image verified (hash, key, signature) */
    WARD_FACTORY_CHECK_SECURE_BOOT,       /* OTP secure-boot bit, as the boot saw it */
    WARD_FACTORY_CHECK_DEBUG_LOCK,        /* OTP debug-lock bit */
    WARD_FACTORY_CHECK_BOOT_KEY_HASH,     /* burnt, locked, the factory's boot key */
    WARD_FACTORY_CHECK_OTA_KEY_HASH,      /* burnt, locked, the factory's OTA key, = stored key */
    WARD_FACTORY_CHECK_DEVICE_ID,         /* OTP device id = SHA-256(id)[0..16], locked */
    WARD_FACTORY_CHECK_HUK,               /* present; derived keys not exportable */
    WARD_FACTORY_CHECK_IDENTITY_KEY,      /* present (a public key) */
    WARD_FACTORY_CHECK_KEYS_NOT_EXPORTED, /* no device file but the HSM's holds HUK or key */
    WARD_FACTORY_CHECK_CERT_CHAIN,        /* cert.pem verifies to the factory CA */
    WARD_FACTORY_CHECK_CERT_VALIDITY,     /* valid now, validity <= one year */
    WARD_FACTORY_CHECK_CERT_SUBJECT,      /* CN = the device id, device profile */
    WARD_FACTORY_CHECK_CERT_KEY,          /* key = the HSM's; an HSM signature verifies */
    WARD_FACTORY_CHECK_COUNT
} ward_factory_check_t;

/* The check's name in reports ("secure_boot"). */
const char *ward_factory_check_name(ward_factory_check_t c);

typedef struct ward_factory_eol_report {
    bool pass[WARD_FACTORY_CHECK_COUNT];
    char detail[WARD_FACTORY_CHECK_COUNT][160];
    bool passed;               /* every check passed */
    bool anchor_factory;       /* the chain was checked against FACTORY's CA (else the unit's ca.pem) */
    char device_id[WARD_FACTORY_ID_MAX + 1];
    uint8_t serial[20];
    size_t serial_len;
    int64_t not_before, not_after;
} ward_factory_eol_report_t;

/*
 * The end-of-line test of a simulated unit (docs/factory.md, "eol"): boots
 * it and runs every check (none stops the others). factory (may be NULL):
 * the key hashes and the CA are taken from it; else from what the unit
 * carries (its ca.pem; the key checks then only check presence and locks).
 * now: 0 = the clock. Returns WARD_OK when the report could be made (then
 * rep->passed says the verdict), else why not (WARD_ERR_NOT_FOUND: no
 * device, ...).
 */
ward_err_t ward_factory_eol(const char *device, const char *factory, int64_t now,
                            ward_factory_eol_report_t *rep);

/* ---- renewing the factory's own TLS identities -------------------------------------- */

typedef enum ward_factory_identity {
    WARD_FACTORY_ID_BROKER = 1, /* broker/server.pem, broker/server-key.pem: serverAuth, broker_host */
    WARD_FACTORY_ID_WEB = 2,    /* web/server.pem, web/server-key.pem: serverAuth, repo_host */
    WARD_FACTORY_ID_FLEET = 3   /* fleet/fleet.pem, fleet/fleet-key.pem: clientAuth, fleet@ward */
} ward_factory_identity_t;

/* "broker", "web", "fleet" -> the identity; 0 for anything else. */
ward_factory_identity_t ward_factory_identity_parse(const char *name);

typedef struct ward_factory_renew_result {
    char cert_path[1100];
    char old_serial[2u * WARD_FACTORY_SERIAL_LEN + 1u]; /* hex */
    char new_serial[2u * WARD_FACTORY_SERIAL_LEN + 1u];
    int64_t old_not_after, not_before, not_after;
} ward_factory_renew_result_t;

/*
 * A new certificate for one of the factory's online identities (made by
 * init, valid at most a year), for the same key and the same names as
 * init gives (factory.conf's hosts, the same profile), valid `days`
 * (1..365) from now, from the factory's CA (a file or a token) and
 * recorded by it. The certificate file is replaced in one rename(2): a
 * crash leaves the old certificate or the new one, never a torn file;
 * the key is not touched. new_key: a new key too (KEY.new, 0600, made
 * before anything is replaced), renamed over the old key, then the
 * certificate (CERT.new) over the old one; a renewal cut between the two
 * renames is finished by the next call, which finds CERT.new holding the
 * key's public key. The old certificate must be this CA's and hold
 * the key's public key: else nothing is written (WARD_ERR_CERT, why says
 * which), so that a key and a certificate that do not belong together are
 * never made to look renewed. The servers read their certificate at start
 * (or reload): the caller says how to make them read it.
 * WARD_OK; WARD_ERR_INVALID_ARG (identity, days); WARD_ERR_NOT_FOUND (no
 * factory, no key or certificate file); WARD_ERR_CERT; the CA's and the
 * key's errors; WARD_ERR_IO.
 */
ward_err_t ward_factory_renew(const char *factory_dir, ward_factory_identity_t id, uint32_t days,
                              bool new_key, ward_factory_renew_result_t *r, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_FACTORY_H */
