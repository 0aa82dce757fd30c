/*
 * ward cloud: the device's cloud client (docs/cloud.md).
 *
 *   identity  the device certificate (CN = device id) and the identity key
 *             in the HSM, used as a PSA key id: never as bytes. Rotation:
 *             a next key made in the HSM, a CSR for it, the new certificate
 *             checked against the factory CA and switched to power-safely.
 *   client    the MQTT engine (ward/mqtt.h) over TLS 1.3 with that identity
 *             (ward/net.h) over the board's ward_net_t: connect with capped
 *             exponential back-off and full jitter, a persistent session
 *             (QoS 1 messages not yet acknowledged survive reconnects),
 *             topics under devices/<id>/, security events, rotation.
 *   events    security events (boot refused or reverted, update refused,
 *             vault integrity or rollback, TLS failures, BLE pairing
 *             failures and lockouts, identity rotation) queued in the
 *             context and published as small JSON documents.
 *
 * Portable: no allocation and no OS call in this code; the caller owns
 * every context and buffer. Mbed TLS allocates its TLS record buffers and
 * parsed certificates through its platform layer (docs/net.md).
 */
#ifndef WARD_CLOUD_H
#define WARD_CLOUD_H

#include "ward/mqtt.h"
#include "ward/net.h"
#include "ward/port.h"
#include "ward/vault.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration (define before including, or in the user config) ------ */

/* Bytes of a device certificate (DER). A ward certificate is about 450. */
#ifndef WARD_CONFIG_CLOUD_CERT_MAX
#define WARD_CONFIG_CLOUD_CERT_MAX 1024
#endif
/* Security events waiting to be published (repeats are counted, not queued). */
#ifndef WARD_CONFIG_CLOUD_EVENTS_MAX
#define WARD_CONFIG_CLOUD_EVENTS_MAX 8
#endif
/* Bytes of an event's detail text. */
#ifndef WARD_CONFIG_CLOUD_DETAIL_MAX
#define WARD_CONFIG_CLOUD_DETAIL_MAX 40
#endif
/* Sub-topics the application subscribes to besides the certificate topic. */
#ifndef WARD_CONFIG_CLOUD_SUBS_MAX
#define WARD_CONFIG_CLOUD_SUBS_MAX 3
#endif

#if WARD_CONFIG_CLOUD_CERT_MAX < 256 || WARD_CONFIG_CLOUD_CERT_MAX > 16384
#error "WARD_CONFIG_CLOUD_CERT_MAX must be in [256, 16384]"
#endif
#if WARD_CONFIG_CLOUD_EVENTS_MAX < 1 || WARD_CONFIG_CLOUD_EVENTS_MAX > 255
#error "WARD_CONFIG_CLOUD_EVENTS_MAX must be in [1, 255]"
#endif
#if WARD_CONFIG_CLOUD_DETAIL_MAX < 8 || WARD_CONFIG_CLOUD_DETAIL_MAX > 255
#error "WARD_CONFIG_CLOUD_DETAIL_MAX must be in [8, 255]"
#endif
#if WARD_CONFIG_CLOUD_SUBS_MAX < 0 || WARD_CONFIG_CLOUD_SUBS_MAX + 1 > WARD_CONFIG_MQTT_FILTERS_MAX
#error "WARD_CONFIG_CLOUD_SUBS_MAX + 1 must fit one SUBSCRIBE (WARD_CONFIG_MQTT_FILTERS_MAX)"
#endif

/* Bytes of the CSR ward_cloud_csr() makes, at most. */
#define WARD_CLOUD_CSR_MAX (224u + WARD_CONFIG_MQTT_DEVICE_ID_MAX)
/* Bytes of one event as JSON (ward_cloud_event_json), at most. */
#define WARD_CLOUD_EVENT_JSON_MAX (256u + 6u * WARD_CONFIG_CLOUD_DETAIL_MAX)
/* A device certificate's validity may not be longer than this. */
#define WARD_CLOUD_CERT_DAYS_MAX 366

/* ---- certificates, as the device reads them ---------------------------------- */

/* What ward_cloud_cert_parse() found; pointers into the DER it was given. */
typedef struct ward_cloud_cert_info {
    const uint8_t *tbs;     /* the signed part (TBSCertificate), whole */
    size_t tbs_len;
    const uint8_t *serial;  /* INTEGER contents, 1..20 bytes */
    size_t serial_len;
    const uint8_t *issuer;  /* DER Name, whole (tag and length included) */
    size_t issuer_len;
    const uint8_t *subject; /* DER Name, whole */
    size_t subject_len;
    const uint8_t *cn;      /* the subject's one commonName value (NULL if none) */
    size_t cn_len;
    int64_t not_before, not_after; /* seconds since 1970, UTC */
    uint8_t pub[65];        /* the P-256 public key, 0x04 || X || Y */
    uint8_t sig[64];        /* ECDSA-with-SHA256 signature, r || s */
    bool is_ca;             /* basicConstraints cA */
    bool client_auth;       /* no extendedKeyUsage, or one with clientAuth */
    bool digital_signature; /* no keyUsage, or one with digitalSignature */
} ward_cloud_cert_info_t;

/* Parse an X.509 v3 certificate (DER, strict) with a P-256 key, signed with
 * ecdsa-with-SHA256. Nothing is verified here but the encoding.
 * WARD_OK, WARD_ERR_CORRUPT (malformed), WARD_ERR_UNSUPPORTED (another
 * version, key type, curve or signature algorithm), WARD_ERR_INVALID_ARG. */
ward_err_t ward_cloud_cert_parse(ward_cloud_cert_info_t *info, const uint8_t *der, size_t len);

/* Build a PKCS#10 certificate request (DER) with subject CN=<id> for the
 * P-256 key key_id (a PSA key id that may sign hashes), signed by it.
 * WARD_OK, WARD_ERR_BUF_TOO_SMALL (see WARD_CLOUD_CSR_MAX),
 * WARD_ERR_MQTT_TOPIC (not a device id), WARD_ERR_CRYPTO. */
ward_err_t ward_cloud_csr(uint8_t *out, size_t cap, size_t *len, const char *id, size_t id_len,
                          uint32_t key_id);

/* Why a certificate was refused (the detail of a rotation_refused event). */
typedef enum ward_cloud_cert_reason {
    WARD_CLOUD_CERT_OK = 0,
    WARD_CLOUD_CERT_MALFORMED = 1, /* does not parse, or another algorithm */
    WARD_CLOUD_CERT_ISSUER = 2,    /* issuer name is not the factory CA's */
    WARD_CLOUD_CERT_SIGNATURE = 3, /* not signed by the factory CA's key */
    WARD_CLOUD_CERT_NAME = 4,      /* CN is not the device id */
    WARD_CLOUD_CERT_KEY = 5,       /* not for the key the HSM holds */
    WARD_CLOUD_CERT_VALIDITY = 6,  /* over WARD_CLOUD_CERT_DAYS_MAX, or not valid now */
    WARD_CLOUD_CERT_SERIAL = 7,    /* the current certificate's serial number */
    WARD_CLOUD_CERT_USAGE = 8      /* a CA, or keyUsage / extKeyUsage exclude TLS clients */
} ward_cloud_cert_reason_t;

/* "signature", "key", ...; never NULL. */
const char *ward_cloud_cert_reason_name(ward_cloud_cert_reason_t reason);

/* ---- where the certificates are kept ----------------------------------------- */

enum {
    WARD_CLOUD_SLOT_CURRENT = 0, /* the certificate in use */
    WARD_CLOUD_SLOT_NEXT = 1     /* a new certificate during a rotation */
};

/* Storage for the device certificates: public data, but each store MUST be
 * atomic (a power cut leaves the old contents or the new ones). */
typedef struct ward_cloud_certs {
    void *ctx;
    /* WARD_OK, WARD_ERR_NOT_FOUND (empty), WARD_ERR_BUF_TOO_SMALL, others. */
    ward_err_t (*load)(void *ctx, uint32_t slot, uint8_t *buf, size_t cap, size_t *len);
    ward_err_t (*store)(void *ctx, uint32_t slot, const uint8_t *der, size_t len);
    /* WARD_OK also when the slot was empty. */
    ward_err_t (*erase)(void *ctx, uint32_t slot);
} ward_cloud_certs_t;

/* Certificates in a mounted vault (records "cloud/cert" and
 * "cloud/cert.next"); the vault must outlive s. */
void ward_cloud_certs_vault(ward_cloud_certs_t *s, ward_vault_t *v);
#define WARD_CLOUD_VAULT_CERT "cloud/cert"
#define WARD_CLOUD_VAULT_CERT_NEXT "cloud/cert.next"

/* ---- the identity ------------------------------------------------------------ */

/* The device's identity: its certificate and the HSM key it certifies.
 * Caller-owned; fields are read-only for the caller. */
typedef struct ward_cloud_identity {
    const ward_hsm_t *hsm;
    const ward_cloud_certs_t *certs;
    char id[WARD_CONFIG_MQTT_DEVICE_ID_MAX + 1]; /* the certificate's CN, NUL-terminated */
    size_t id_len;
    uint8_t cert[WARD_CONFIG_CLOUD_CERT_MAX];    /* DER */
    size_t cert_len;
    uint32_t key_id;                             /* the HSM's current key (the HSM owns it) */
    int64_t not_before, not_after;
    uint8_t serial[20];
    uint8_t serial_len;
    bool open;
} ward_cloud_identity_t;

/* Load the identity: the certificate whose key is the HSM's current
 * identity key. Finishes a rotation a power cut interrupted: a stored next
 * certificate for the HSM's next key is switched to (the HSM's commit, then
 * the certificate); one for the HSM's current key (the cut came after the
 * commit) becomes the current certificate; any other is erased. So after a
 * cut anywhere in a rotation the device has the old identity or the new
 * one, complete. WARD_OK, WARD_ERR_CLOUD_IDENTITY (no key, or no stored
 * certificate for it), the store's or the HSM's errors. */
ward_err_t ward_cloud_identity_open(ward_cloud_identity_t *ident, const ward_hsm_t *hsm,
                                    const ward_cloud_certs_t *certs);

/* Provisioning: store cert as the current certificate, after checking it is
 * for the HSM's current key, its CN a valid device id (and its issuer, if
 * issuer_ca is given: DER of the factory CA). Then open as above.
 * WARD_OK, WARD_ERR_CLOUD_CERT, WARD_ERR_CLOUD_IDENTITY, store errors. */
ward_err_t ward_cloud_identity_install(ward_cloud_identity_t *ident, const ward_hsm_t *hsm,
                                       const ward_cloud_certs_t *certs, const uint8_t *cert,
                                       size_t cert_len, const uint8_t *issuer_ca,
                                       size_t issuer_ca_len);

/* Rotation, step 1: a new next key in the HSM (the current one keeps
 * working) and a CSR for it in out (WARD_CLOUD_CSR_MAX bytes suffice).
 * WARD_OK, WARD_ERR_STATE (not open), the HSM's errors, ward_cloud_csr's. */
ward_err_t ward_cloud_identity_csr(ward_cloud_identity_t *ident, uint8_t *out, size_t cap,
                                   size_t *len);

/* Rotation, step 2: check cert (DER) for the next key, then switch:
 * store it as the next certificate, commit the HSM's next key, store it as
 * the current one, erase the next slot. The old key is gone afterwards.
 * Checks: issued by issuer_ca (DER; its subject is the issuer name and its
 * key verifies the signature), CN = the device id, the HSM's next key,
 * validity at most WARD_CLOUD_CERT_DAYS_MAX days and, when now >= 0
 * (seconds since 1970), valid now; another serial than the current one;
 * not a CA; keyUsage / extKeyUsage, if present, allow a TLS client.
 * WARD_OK; WARD_ERR_CLOUD_CERT with *reason (may be NULL) saying why, and
 * nothing changed; WARD_ERR_NOT_FOUND (no next key); WARD_ERR_STATE;
 * store and HSM errors (a cut in the middle: ward_cloud_identity_open
 * finishes the switch). */
ward_err_t ward_cloud_identity_accept(ward_cloud_identity_t *ident, const uint8_t *issuer_ca,
                                      size_t issuer_ca_len, int64_t now, const uint8_t *cert,
                                      size_t cert_len, ward_cloud_cert_reason_t *reason);

/* ---- security events --------------------------------------------------------- */

typedef enum ward_cloud_event_type {
    WARD_CLOUD_EV_BOOT_REFUSED = 1,      /* the bootloader refused an image (code: why) */
    WARD_CLOUD_EV_BOOT_REVERTED = 2,     /* a trial image was not confirmed: reverted */
    WARD_CLOUD_EV_UPDATE_REFUSED = 3,    /* the OTA agent refused an update (code: why) */
    WARD_CLOUD_EV_VAULT_INTEGRITY = 4,   /* the vault failed authentication / is corrupt */
    WARD_CLOUD_EV_VAULT_ROLLBACK = 5,    /* the vault is older than its counter */
    WARD_CLOUD_EV_TLS_FAILURE = 6,       /* a connection failed in TLS (code: how) */
    WARD_CLOUD_EV_BLE_PAIRING_FAILED = 7,
    WARD_CLOUD_EV_BLE_LOCKOUT = 8,
    WARD_CLOUD_EV_IDENTITY_ROTATED = 9,  /* the device switched to a new certificate */
    WARD_CLOUD_EV_ROTATION_REFUSED = 10, /* a certificate offered was refused (detail: why) */
    WARD_CLOUD_EV_TYPE_MAX = 10
} ward_cloud_event_type_t;

/* "boot_refused", ...; NULL for an unknown type. */
const char *ward_cloud_event_name(uint32_t type);

/* One queued event. Repeats of the newest one (same type, code, detail)
 * are counted in it. */
typedef struct ward_cloud_event {
    uint32_t type;
    ward_err_t code;
    uint32_t count;
    uint64_t uptime_ms; /* the clock port's time of the latest occurrence */
    int64_t time;       /* its wall-clock seconds, -1 when unknown */
    char detail[WARD_CONFIG_CLOUD_DETAIL_MAX + 1];
} ward_cloud_event_t;

/* The event as one JSON object (docs/cloud.md), NUL-terminated:
 *   {"v":1,"boot":"<8 hex>","seq":N,"type":"...","code":C,"err":"WARD_...",
 *    "count":K,"uptime_ms":U[,"time":T][,"detail":"..."][,"dropped":D]}
 * WARD_OK, WARD_ERR_INVALID_ARG (unknown type), WARD_ERR_BUF_TOO_SMALL. */
ward_err_t ward_cloud_event_json(char *out, size_t cap, size_t *len, const ward_cloud_event_t *ev,
                                 uint32_t boot, uint32_t seq, uint32_t dropped);

/* ---- the client ---------------------------------------------------------------- */

typedef struct ward_cloud_config {
    const ward_net_t *net;
    const ward_hsm_t *hsm;
    const ward_rng_t *rng;     /* back-off jitter, the boot id of events */
    const ward_clock_t *clock; /* monotonic milliseconds */
    const ward_cloud_certs_t *certs;
    const char *host;          /* the broker; its certificate must name it */
    uint16_t port;             /* 8883 */
    const uint8_t *ca;         /* pinned CA of the broker: PEM (len with its NUL) or DER */
    size_t ca_len;
    const uint8_t *issuer_ca;  /* DER of the factory CA: new device certificates */
    size_t issuer_ca_len;      /* must chain to it (NULL: ca, which must then be DER) */
    /* Wall-clock seconds since 1970 for certificate validity and rotation
     * time, negative when unknown; NULL: never known (validity then is not
     * checked and rotation happens only when asked for). */
    int64_t (*now)(void *now_ctx);
    void *now_ctx;
    uint16_t keep_alive_s;     /* 0: 60 */
    uint32_t timeout_ms;       /* TLS handshake and I/O, CONNACK; 0: 10,000 */
    uint32_t backoff_base_ms;  /* 0: 1,000 */
    uint32_t backoff_cap_ms;   /* 0: 300,000 */
    uint32_t rotate_before_s;  /* rotate this long before notAfter; 0: 30 days */
    uint32_t rotate_wait_ms;   /* wait this long for the certificate; 0: 60,000 */
    uint32_t rotate_retry_ms;  /* then try again after this; 0: 3,600,000 */
    /* Sub-topics under devices/<id>/ to subscribe to (QoS 1), e.g. "cmd/#",
     * and where their messages go (subtopic without "devices/<id>/"; the
     * pointers are valid during the call). */
    const char *subscribe[WARD_CONFIG_CLOUD_SUBS_MAX];
    size_t n_subscribe;
    void (*on_message)(void *ctx, const char *subtopic, size_t subtopic_len,
                       const uint8_t *payload, size_t len);
    void *on_message_ctx;
} ward_cloud_config_t;

enum {
    WARD_CLOUD_OFFLINE = 0,    /* no connection; the next attempt is scheduled */
    WARD_CLOUD_CONNECTING = 1, /* TLS up, CONNECT sent, waiting for CONNACK */
    WARD_CLOUD_ONLINE = 2      /* CONNACK accepted */
};

enum {
    WARD_CLOUD_ROT_IDLE = 0,
    WARD_CLOUD_ROT_WANTED = 1,  /* a CSR goes out at the next chance */
    WARD_CLOUD_ROT_WAITING = 2  /* CSR published; waiting for the certificate */
};

typedef struct ward_cloud_status {
    int state;                  /* WARD_CLOUD_OFFLINE / _CONNECTING / _ONLINE */
    int rotation;               /* WARD_CLOUD_ROT_* */
    uint32_t attempt;           /* consecutive failed connection attempts */
    uint32_t next_attempt_ms;   /* offline: time until the next attempt */
    uint32_t connects;          /* CONNACKs accepted */
    uint32_t failures;          /* attempts or connections that failed */
    uint32_t tls_failures;      /* of which in TLS (reported as events) */
    uint32_t rotations;         /* certificates switched to */
    uint32_t events_queued, events_sent, events_dropped;
    size_t inflight;            /* QoS 1 publishes not yet acknowledged */
    bool session_present;       /* of the last CONNACK */
    ward_err_t last_err;        /* why the last attempt or connection ended */
} ward_cloud_status_t;

/* The client. Caller-owned; its fields are private. */
typedef struct ward_cloud {
    const ward_cloud_config_t *cfg;
    ward_cloud_identity_t ident;
    ward_mqtt_t mqtt;
    ward_tls_t tls;
    ward_tls_config_t tls_cfg;
    ward_net_t shim;              /* cfg->net with this client's receive budget */
    ward_err_t shim_err;          /* what the last receive said */
    uint32_t io_budget_ms;
    int state, rot;
    uint32_t attempt;
    uint64_t next_at, rot_deadline, rot_retry_at;
    uint32_t boot, seq;
    uint8_t ev_head, ev_n;
    ward_cloud_event_t ev[WARD_CONFIG_CLOUD_EVENTS_MAX];
    ward_cloud_status_t st;
    uint32_t dropped_reported;    /* events_dropped as of the last event published */
    bool reconnect_now;           /* switch to a new identity */
    bool need_sub;                /* SUBSCRIBE still to be sent on this connection */
    bool rot_keyed;               /* the HSM's next key for this rotation exists */
} ward_cloud_t;

/* Set up the client over the caller's MQTT buffers (as ward_mqtt_init; tx
 * and store must hold a CSR publish: WARD_MQTT_PUBLISH_MAX(topic,
 * WARD_CLOUD_CSR_MAX) and an event's) and open the identity
 * (ward_cloud_identity_open). No I/O; the first poll connects. cfg and the
 * buffers must outlive c. WARD_OK, WARD_ERR_INVALID_ARG, identity errors. */
ward_err_t ward_cloud_init(ward_cloud_t *c, const ward_cloud_config_t *cfg, uint8_t *tx,
                           size_t tx_cap, uint8_t *rx, size_t rx_cap, uint8_t *store,
                           size_t store_cap);

/* Do what is due and wait up to wait_ms for the broker. Offline: connects
 * when the back-off delay has passed (the handshake may take up to
 * timeout_ms), else returns at once (ward_cloud_status: next_attempt_ms).
 * Connected: writes what is queued (publishes, events, the CSR), keeps the
 * connection alive, reads and handles what the broker sent (at most
 * wait_ms waiting for it; 0: only what is there). A failed attempt or a
 * lost connection closes the transport and schedules the next attempt;
 * its error is returned (the client carries on at the next poll): WARD_OK,
 * WARD_ERR_NET*, WARD_ERR_TLS*, WARD_ERR_MQTT_*, WARD_ERR_CLOUD_*. */
ward_err_t ward_cloud_poll(ward_cloud_t *c, uint32_t wait_ms);

/* Publish on devices/<id>/<sub> (QoS 0 only while online; QoS 1 is kept
 * until acknowledged, across reconnects). qos may carry WARD_CLOUD_RETAIN:
 * the broker keeps the message as the topic's last value and hands it to
 * later subscribers. As ward_mqtt_publish, plus WARD_ERR_MQTT_TOPIC for a
 * bad sub-topic. */
#define WARD_CLOUD_RETAIN 0x80u
ward_err_t ward_cloud_publish(ward_cloud_t *c, const char *sub, const uint8_t *payload,
                              size_t len, uint8_t qos, uint16_t *packet_id);

/* Queue a security event; published (QoS 1 on devices/<id>/events) when
 * online. detail may be NULL; it is cut to WARD_CONFIG_CLOUD_DETAIL_MAX
 * bytes. A full queue drops the oldest event (counted, and reported as
 * "dropped" in the next one published). WARD_OK, WARD_ERR_INVALID_ARG. */
ward_err_t ward_cloud_event(ward_cloud_t *c, uint32_t type, ward_err_t code, const char *detail);

/* A sink other modules report events into without depending on this one
 * (BLE pairing failures and lockouts): report(ctx, type, code, detail). */
typedef struct ward_cloud_sink {
    void *ctx;
    ward_err_t (*report)(void *ctx, uint32_t type, ward_err_t code, const char *detail);
} ward_cloud_sink_t;
void ward_cloud_sink(ward_cloud_t *c, ward_cloud_sink_t *sink);

/* Rotate the identity now (also done by itself rotate_before_s before the
 * certificate expires, when the time is known). WARD_OK, WARD_ERR_STATE
 * (a rotation is under way). */
ward_err_t ward_cloud_rotate(ward_cloud_t *c);

/* Send DISCONNECT and close the connection (queued QoS 1 publishes stay for
 * the next connection). WARD_OK or the write's error. */
ward_err_t ward_cloud_disconnect(ward_cloud_t *c);

/* Close the connection without DISCONNECT and release the TLS session. */
void ward_cloud_close(ward_cloud_t *c);

void ward_cloud_status(const ward_cloud_t *c, ward_cloud_status_t *st);

#ifdef __cplusplus
}
#endif

#endif /* WARD_CLOUD_H */
