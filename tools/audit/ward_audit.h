/*
 * ward_audit: `ward audit` (docs/audit.md). A device (its flash, OTP and HSM
 * files, its device profile, its certificate and factory record) and,
 * optionally, the factory's fleet configuration (broker, ACL, CRL, update
 * server, keys, issued certificates, the register of units) are checked
 * against every item of the seeds' checklists (secure boot, BLE, OTA,
 * credential storage; seed 004's hardening list) and the provisions of
 * ETSI EN 303 645 that apply to a device.
 *
 *   checks  atomic facts, each with its verdict and its evidence (the OTP
 *           bit, the vault record, the config line, the certificate field);
 *           the end-of-line test's 14 checks (tools/factory) are among them
 *   items   the checklist items; an item lists the checks it rests on, the
 *           attack it answers, ward's defence and the tests that show the
 *           defence works. One table (items.c) is the single source of the
 *           report, docs/audit.md's table and docs/threat-model.md §4.
 *
 * The audit works on a private copy of DEVICE/ (booting and mounting the
 * vault may write), removed afterwards: the device itself is only read.
 *
 * Host code: allocates, uses files. Call ward_crypto_init() first.
 */
#ifndef WARD_TOOLS_AUDIT_H
#define WARD_TOOLS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_AUDIT_FORMAT 1u

typedef enum ward_audit_status {
    WARD_AUDIT_UNCHECKED = 0, /* the evidence was not available (e.g. no --fleet) */
    WARD_AUDIT_PASS = 1,
    WARD_AUDIT_FAIL = 2,
    WARD_AUDIT_NA = 3         /* the item does not apply to a device (it says why) */
} ward_audit_status_t;

/* "pass", "fail", "not_applicable", "not_checked". */
const char *ward_audit_status_name(ward_audit_status_t s);

/* The checks, in report order. Their names are in docs/audit.md. */
typedef enum ward_audit_check {
    /* the end-of-line test (ward_factory_eol), same order as ward_factory_check_t */
    WARD_AUDIT_C_EOL_BOOT = 0,
    WARD_AUDIT_C_EOL_IMAGE,
    WARD_AUDIT_C_EOL_SECURE_BOOT,
    WARD_AUDIT_C_EOL_DEBUG_LOCK,
    WARD_AUDIT_C_EOL_BOOT_KEY_HASH,
    WARD_AUDIT_C_EOL_OTA_KEY_HASH,
    WARD_AUDIT_C_EOL_DEVICE_ID,
    WARD_AUDIT_C_EOL_HUK,
    WARD_AUDIT_C_EOL_IDENTITY_KEY,
    WARD_AUDIT_C_EOL_KEYS_NOT_EXPORTED,
    WARD_AUDIT_C_EOL_CERT_CHAIN,
    WARD_AUDIT_C_EOL_CERT_VALIDITY,
    WARD_AUDIT_C_EOL_CERT_SUBJECT,
    WARD_AUDIT_C_EOL_CERT_KEY,
    /* the device */
    WARD_AUDIT_C_RECORD,          /* factory-record.json agrees with the unit */
    WARD_AUDIT_C_ROLLBACK,        /* the image's security counter, the OTP counter */
    WARD_AUDIT_C_STAGING,         /* primary and staging slots, scratch, journal */
    WARD_AUDIT_C_OTA_KEY_DISTINCT, /* the unit's OTA key is not its boot key */
    WARD_AUDIT_C_PINNED_CA,       /* ca.pem: the CA the unit pins (= the factory's) */
    WARD_AUDIT_C_LABEL,           /* label.txt is this unit's pairing key and address */
    WARD_AUDIT_C_VAULT,           /* the vault mounts with this unit's HSM key */
    WARD_AUDIT_C_SECRETS_HSM,     /* no HSM secret in flash.bin or any exported file */
    WARD_AUDIT_C_SECRETS_VAULT,   /* no vault record's plaintext in flash or files */
    WARD_AUDIT_C_SECRETS_PATTERNS, /* no credential-shaped text in flash */
    /* the device profile */
    WARD_AUDIT_C_PROFILE,         /* present and valid */
    WARD_AUDIT_C_P_DEBUG,         /* console off, log level, port locked = OTP */
    WARD_AUDIT_C_P_ACCOUNTS,      /* no default password */
    WARD_AUDIT_C_P_SERVICES,      /* TLS on every connection, nothing plain listening */
    WARD_AUDIT_C_P_FLOWS,         /* flows an IoT segment allows: out on 443/8883 only */
    WARD_AUDIT_C_P_UPDATE_URL,    /* https */
    WARD_AUDIT_C_P_BROKER,        /* mqtts, client certificate (= the factory's broker) */
    WARD_AUDIT_C_P_BLE_PAIRING,   /* LE SC only, no legacy, 16-byte keys, bonding */
    WARD_AUDIT_C_P_BLE_WINDOW,    /* button, bounded time, failure limit */
    WARD_AUDIT_C_P_GATT_AUTH,     /* control writes need an authenticated encrypted link */
    WARD_AUDIT_C_P_GATT_ENC,      /* no write on an unencrypted link */
    WARD_AUDIT_C_P_GATT_BOUNDS,   /* every writable value has a bounded length */
    WARD_AUDIT_C_P_CREDENTIALS,   /* Wi-Fi in the vault, cloud by certificate, keys in the HSM */
    WARD_AUDIT_C_P_EVENTS,        /* security events reported */
    WARD_AUDIT_C_P_RESET,         /* a factory reset, authenticated */
    WARD_AUDIT_C_P_SENSORS,       /* sensors listed */
    WARD_AUDIT_C_P_SUPPORT,       /* a disclosure policy / support period named */
    /* the fleet (--fleet FACTORY) */
    WARD_AUDIT_C_F_KEYS_DISTINCT, /* OTA key != boot key */
    WARD_AUDIT_C_F_KEYS_OFFLINE,  /* signing keys in a token, or files 0600 */
    WARD_AUDIT_C_F_BROKER_LISTENERS, /* TLS on every listener, no 1883, no port line */
    WARD_AUDIT_C_F_BROKER_AUTH,   /* client certificates required, no anonymous, CN = user */
    WARD_AUDIT_C_F_BROKER_ACL,    /* each device in devices/<id>/ only */
    WARD_AUDIT_C_F_CRL,           /* CRL configured, signed by the CA, current; unit not revoked */
    WARD_AUDIT_C_F_REPO,          /* the update server: TLS only, the profile's host */
    WARD_AUDIT_C_F_MANIFESTS,     /* every published manifest verifies with the OTA key */
    WARD_AUDIT_C_F_CERT_VALIDITY, /* every issued certificate valid <= 365 days */
    WARD_AUDIT_C_F_IDENTITY_UNIQUE, /* no identity key or certificate on two units; the
                                       unit's certificate in the CA's records */
    WARD_AUDIT_C_F_PAIRING_UNIQUE, /* no BLE pairing key on two units */
    WARD_AUDIT_C_F_MONITORING,    /* the fleet service reads every device's events */
    WARD_AUDIT_C_COUNT
} ward_audit_check_t;

/* The check's name ("secure_boot", "profile_ble_pairing", "fleet_crl"). */
const char *ward_audit_check_name(ward_audit_check_t c);
/* Where its evidence comes from ("otp", "hsm", "flash", "profile", ...). */
const char *ward_audit_check_source(ward_audit_check_t c);

#define WARD_AUDIT_DETAIL_MAX 320u

typedef struct ward_audit_check_result {
    ward_audit_status_t status;
    char detail[WARD_AUDIT_DETAIL_MAX]; /* the evidence, for a person */
} ward_audit_check_result_t;

/* A test in ward that shows a defence works. */
typedef struct ward_audit_test {
    const char *name;    /* "test_boot_attacks: test_secure_boot_off" */
    const char *command; /* "ctest --preset host -R '^test_boot_attacks$'" */
} ward_audit_test_t;

#define WARD_AUDIT_ITEM_CHECKS 10u
#define WARD_AUDIT_ITEM_TESTS 4u

typedef struct ward_audit_item {
    const char *id;      /* "sb.provisioning", "etsi.5.7" */
    const char *pillar;  /* "secure_boot", "ble", "ota", "credentials", "hardening", "etsi" */
    const char *source;  /* "seed 000", "seed 004", "EN 303 645 5.7" */
    const char *title;   /* the checklist's words */
    const char *attack;  /* what an attacker does if it is missing */
    const char *defence; /* what ward does */
    const char *na_reason; /* non-NULL: not applicable to a device, and why */
    ward_audit_check_t checks[WARD_AUDIT_ITEM_CHECKS];
    size_t n_checks;
    ward_audit_test_t tests[WARD_AUDIT_ITEM_TESTS];
    size_t n_tests;
} ward_audit_item_t;

/* The catalogue (items.c), in report order. */
size_t ward_audit_item_count(void);
const ward_audit_item_t *ward_audit_item(size_t i);
/* A pillar's title ("Secure boot"). */
const char *ward_audit_pillar_title(const char *pillar);

typedef struct ward_audit_opts {
    const char *device;  /* DEVICE/ */
    const char *factory; /* FACTORY/, or NULL: the fleet checks are not checked */
    int64_t now;         /* 0: the clock */
} ward_audit_opts_t;

#define WARD_AUDIT_MAX_ITEMS 48u

typedef struct ward_audit_report {
    char device[1024];
    char factory[1024]; /* "" without --fleet */
    char device_id[65];
    int64_t time;
    ward_audit_check_result_t checks[WARD_AUDIT_C_COUNT];
    ward_audit_status_t items[WARD_AUDIT_MAX_ITEMS];
    size_t n_items;
    size_t n_pass, n_fail, n_na, n_unchecked;
    bool passed; /* no item failed */
} ward_audit_report_t;

/*
 * Audit a device. WARD_OK when the report could be made (rep->passed is the
 * verdict); WARD_ERR_NOT_FOUND (no device, or no factory at o->factory),
 * WARD_ERR_IO (no private copy could be made), WARD_ERR_CORRUPT (a factory
 * whose keys do not read). rep may be large: allocate it.
 */
ward_err_t ward_audit_run(const ward_audit_opts_t *o, ward_audit_report_t *rep);

/* The report as JSON (docs/audit.md: the schema), as plain text, as one
 * stand-alone HTML page. WARD_OK or WARD_ERR_IO / WARD_ERR_NO_SPACE. */
ward_err_t ward_audit_json(const ward_audit_report_t *rep, FILE *f);
ward_err_t ward_audit_text(const ward_audit_report_t *rep, FILE *f);
ward_err_t ward_audit_html(const ward_audit_report_t *rep, FILE *f);

/* The page the HTML report is, for sibling reports in the same style
 * (`ward attack`): one stylesheet (verdict banner, dl.meta, article.item
 * cards with .badge, classes pass / fail / not_applicable / not_checked),
 * no script, no external asset. head writes everything up to the opening
 * <p class="verdict ..."> of the banner (the caller writes the verdict's
 * text, closes it, its metadata, </header> and <main>...); foot closes
 * </main> and the page with a footer naming the command and a note.
 * escape writes s as HTML text (also fit for an attribute value). */
void ward_audit_html_head(FILE *f, const char *tool, const char *subject, bool passed);

/* The JSON report's head, shared with `ward attack`: a new cJSON object
 * with format, generator, device, device_id, fleet (null without one),
 * time (ISO 8601, UTC) and result ("pass"/"fail"); NULL without memory. */
struct cJSON;
struct cJSON *ward_audit_json_head(unsigned format, const char *device, const char *device_id,
                                   const char *factory, int64_t time, bool passed);
/* Print a report's JSON to f (a newline after it) and free root.
 * WARD_OK, WARD_ERR_NO_SPACE, WARD_ERR_IO. */
ward_err_t ward_audit_json_write(struct cJSON *root, FILE *f);
ward_err_t ward_audit_html_foot(FILE *f, const char *tool, const char *note);
void ward_audit_html_escape(FILE *f, const char *s);

/*
 * Credential-shaped plain text in a flash image (what an attacker greps a
 * dump for): a keyword (password, passwd, passphrase, wifi_key, wpa_key,
 * psk, pwd, secret, token, api_key, apikey, private_key) at a word start,
 * '=' or ':', then 6 printable characters; or a PEM private key. The whole
 * image is searched, the vault area [vault_off, vault_off + vault_size)
 * too: a vault keeps only its records' names in plain text, so the one
 * match left out there is a record's name running into its ciphertext (a
 * record header whose CRC checks, docs/vault-format.md). The offset of
 * the first match from `from`, or -1; *what: the keyword or "PEM private
 * key"; *in_vault: the match is in the vault area.
 */
long ward_audit_find_plaintext(const uint8_t *mem, size_t size, size_t from, uint32_t vault_off,
                               uint32_t vault_size, const char **what, bool *in_vault);

/* The catalogue as Markdown: the item table of docs/audit.md (threat_model
 * false) or docs/threat-model.md §4 (true: item, attack, defence, test). */
ward_err_t ward_audit_catalogue_markdown(FILE *f, bool threat_model);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_AUDIT_H */
