/*
 * ward_profile: the device profile (docs/device-profile.md), a small JSON
 * file a firmware build produces that states what its image enables: BLE
 * (pairing, the GATT table with each attribute's access policy), the debug
 * console and port, the log level, login accounts, what it listens on and
 * connects to (the broker, the update repository), where credentials live,
 * the security events it reports, its sensors.
 *
 *   build   the profile of ward's sample smart plug as this build compiles
 *           it: the GATT section walks the table src/ble/gatt_plug.c makes
 *           (ward_gatt_plug_init), the pairing section states what
 *           src/ble/smp.c enforces, the events section lists
 *           ward_cloud_event_name(); the rest comes from the options (a
 *           product's build sets them from its own configuration).
 *   parse   read any profile (Debian's libcjson) into ward_profile_t, with
 *           every required field checked: the audit acts on this struct.
 *
 * Host code: allocates (cJSON), uses files. ward_profile_t is plain data.
 */
#ifndef WARD_TOOLS_PROFILE_H
#define WARD_TOOLS_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_PROFILE_FORMAT 1u
#define WARD_PROFILE_FILE "device-profile.json" /* in a device directory */
#define WARD_PROFILE_MAX_BYTES (256u * 1024u)
#define WARD_PROFILE_MAX_ACCOUNTS 8u
#define WARD_PROFILE_MAX_SERVICES 8u
#define WARD_PROFILE_MAX_GATT 32u
#define WARD_PROFILE_MAX_SENSORS 8u
#define WARD_PROFILE_MAX_EVENTS 32u
#define WARD_PROFILE_STR 64u
#define WARD_PROFILE_URL 256u

/* What one operation (read or write) on a GATT attribute needs. */
typedef struct ward_profile_access {
    bool allowed;        /* permitted at all; the rest is meaningful only then */
    bool encrypted;
    bool authenticated;  /* a key from MITM-protected pairing */
    bool sc;             /* an LE Secure Connections key */
    bool bonded;         /* the key of a stored bond */
    bool authorization;  /* the application's hook must agree as well */
    uint8_t min_key_size; /* 0 (none) or 7..16 */
} ward_profile_access_t;

/* A characteristic value or a descriptor (service and characteristic
 * declarations are always open to read and closed to writes). */
typedef struct ward_profile_gatt {
    uint16_t handle;
    char uuid[37];                   /* "2a00", or the 36-character form */
    char name[WARD_PROFILE_STR];     /* "Relay" */
    char function[WARD_PROFILE_STR]; /* "relay", "wifi-provisioning", "factory-reset",
                                        "status", "device-name", "notify-config", "unknown" */
    bool descriptor;                 /* a CCC descriptor, not a characteristic value */
    bool prop_read, prop_write, prop_write_no_rsp, prop_notify;
    ward_profile_access_t read, write;
    uint16_t max_len; /* longest value a write may set */
} ward_profile_gatt_t;

/* Something the image listens on or connects to. */
typedef struct ward_profile_service {
    char service[WARD_PROFILE_STR]; /* "mqtt", "update", "telnet", ... */
    char url[WARD_PROFILE_URL];     /* connect: the URL; listen: "" */
    char scheme[16];                /* from the URL ("mqtts"), or the listen's "proto" */
    char host[WARD_PROFILE_URL];
    uint16_t port;                  /* the URL's or the scheme's default; listen: its port */
    char tls[8];                    /* "1.3", "1.2", or "" for none */
    char auth[WARD_PROFILE_STR];    /* "client-certificate", "password", "none", ... */
} ward_profile_service_t;

typedef struct ward_profile_account {
    char name[WARD_PROFILE_STR];
    char service[WARD_PROFILE_STR];
    char password[16]; /* "default" (the same on every unit), "per-device", "user-set" */
} ward_profile_account_t;

/* Pairing methods (bit set). */
#define WARD_PROFILE_PAIR_JUST_WORKS 0x01u
#define WARD_PROFILE_PAIR_NUMERIC 0x02u
#define WARD_PROFILE_PAIR_PASSKEY 0x04u
#define WARD_PROFILE_PAIR_OOB 0x08u
#define WARD_PROFILE_PAIR_LEGACY 0x10u /* any legacy (pre-4.2) method */

typedef struct ward_profile {
    unsigned format;
    char generator[WARD_PROFILE_STR];
    char fw_name[WARD_PROFILE_STR], fw_version[WARD_PROFILE_STR], device_class[WARD_PROFILE_STR];
    /* debug */
    bool debug_console;
    char debug_port[16]; /* "locked" (the OTP debug lock is burnt) or "open" */
    char log_level[16];  /* "none", "error", "warning", "info", "debug", "verbose" */
    /* accounts */
    size_t n_accounts;
    ward_profile_account_t accounts[WARD_PROFILE_MAX_ACCOUNTS];
    /* network */
    size_t n_listen, n_connect;
    ward_profile_service_t listen[WARD_PROFILE_MAX_SERVICES];
    ward_profile_service_t connect[WARD_PROFILE_MAX_SERVICES];
    /* BLE */
    bool ble_enabled;
    bool sc_only, legacy, bonding, require_mitm;
    unsigned methods;             /* WARD_PROFILE_PAIR_* */
    char io_capability[WARD_PROFILE_STR];
    uint8_t min_key_size;
    char window_trigger[WARD_PROFILE_STR]; /* "button", "always", "app", "none" */
    uint32_t window_seconds;      /* 0: no limit */
    uint32_t window_max_failures; /* 0: no limit */
    size_t n_gatt;
    ward_profile_gatt_t gatt[WARD_PROFILE_MAX_GATT];
    /* credentials */
    char cred_wifi[WARD_PROFILE_STR];  /* "vault", "plain", "none" */
    char cred_cloud[WARD_PROFILE_STR]; /* "certificate", "token-vault", "token-plain", "password" */
    char cred_keys[WARD_PROFILE_STR];  /* "hsm", "flash" */
    /* security events */
    char events_topic[WARD_PROFILE_URL];
    size_t n_events;
    char events[WARD_PROFILE_MAX_EVENTS][WARD_PROFILE_STR];
    /* sensors */
    bool sensors_listed; /* the array is present (it may be empty) */
    size_t n_sensors;
    char sensors[WARD_PROFILE_MAX_SENSORS][WARD_PROFILE_STR];
    /* support */
    char disclosure_url[WARD_PROFILE_URL]; /* "" when null */
    char support_until[32];                /* "" when null */
} ward_profile_t;

/* What a build states besides what it compiles. */
typedef struct ward_profile_build_opts {
    const char *name;          /* firmware name; NULL: "ward-plug" */
    const char *version;       /* NULL: ward's version */
    const char *device_class;  /* NULL: "plug" */
    const char *broker_url;    /* NULL: "mqtts://localhost:8883" */
    const char *update_url;    /* NULL: "https://localhost/" */
    bool debug_console;        /* a console the build leaves in (default off) */
    const char *log_level;     /* NULL: "warning" */
    bool no_ble;               /* BLE compiled out */
    bool require_mitm;         /* refuse Just Works pairings (the plug's require_mitm) */
    uint32_t window_seconds;   /* 0: the pairing window's default (180) */
    uint32_t window_max_failures; /* 0: its default (5) */
    const char *disclosure_url; /* the maker's vulnerability disclosure policy, or NULL */
    const char *support_until;  /* the support period's end (YYYY-MM-DD), or NULL */
} ward_profile_build_opts_t;

/*
 * The sample plug's profile as this build compiles it (docs/device-profile.md)
 * as a NUL-terminated JSON text in *json (malloc'd; free it), two-space
 * indented, one trailing newline. WARD_OK; WARD_ERR_INVALID_ARG (a URL that
 * is not scheme://host[:port][/path], a log level or class not allowed);
 * WARD_ERR_NO_SPACE.
 */
ward_err_t ward_profile_build(const ward_profile_build_opts_t *o, char **json);

/*
 * Parse and check a profile (len bytes of JSON, need not be NUL-terminated).
 * WARD_OK; WARD_ERR_PROFILE with a one-line reason in why (not JSON, format
 * other than 1, a required field missing or of the wrong type, a value out
 * of its set or range, more entries than the bounds above).
 */
ward_err_t ward_profile_parse(const char *json, size_t len, ward_profile_t *p, char *why,
                              size_t why_len);

/* Read and parse a file. WARD_ERR_NOT_FOUND, WARD_ERR_IO, WARD_ERR_PROFILE. */
ward_err_t ward_profile_load(const char *path, ward_profile_t *p, char *why, size_t why_len);

/* The connect entry for service ("mqtt", "update"), or NULL. */
const ward_profile_service_t *ward_profile_connect(const ward_profile_t *p, const char *service);

/* Split scheme://host[:port][/path] (no user info); default ports for the
 * schemes mqtt 1883, mqtts 8883, http 80, https 443, coap 5683, coaps 5684.
 * true on success. */
bool ward_profile_url_split(const char *url, char *scheme, size_t scheme_cap, char *host,
                            size_t host_cap, uint16_t *port);

/* "authenticated, SC, bonded, 16-byte key" / "open" / "not permitted". */
void ward_profile_access_str(const ward_profile_access_t *a, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_PROFILE_H */
