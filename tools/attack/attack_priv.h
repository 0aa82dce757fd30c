/* ward_attack internals shared by its files. */
#ifndef WARD_TOOLS_ATTACK_PRIV_H
#define WARD_TOOLS_ATTACK_PRIV_H

#include <limits.h>
#include <stdarg.h>

#include "ward/boot.h"
#include "ward/image.h"
#include "ward/net.h"
#include "ward/ota.h"
#include "ward/sim.h"
#include "ward/vault.h"
#include "ward_attack.h"
#include "ward_factory.h"
#include "ward_keys.h"
#include "ward_profile.h"

/* The HSM counter the vault owns on simulated devices (as `ward vault`). */
#define ATTACK_VAULT_COUNTER 0u

typedef struct attack_ctx {
    const ward_attack_opts_t *o;
    char work[PATH_MAX]; /* the work folder */
    char base[PATH_MAX]; /* work/unit: the copy every attack starts from */
    char dir[PATH_MAX];  /* work/<id>: this attack's copy */
    bool keep;
    int64_t now;
    /* the unit (from the base copy) */
    char device_id[65];
    ward_image_version_t version; /* the running image */
    uint32_t sec_cnt;
    uint32_t otp_counter; /* after a boot of the base copy */
    bool boots;           /* that boot started the unit's own image (the boot attacks' control) */
    ward_err_t boot_why;  /* why not, then */
    ward_profile_t *prof; /* NULL when the unit has no valid profile */
    char prof_why[200];   /* why not, then */
    /* the factory */
    bool have_factory;
    ward_factory_conf_t fconf;
    char boot_spec[PATH_MAX], ota_spec[PATH_MAX]; /* key specs, files made absolute */
} attack_ctx_t;

typedef void (*attack_fn)(attack_ctx_t *a, ward_attack_result_t *r);

/* Results (printf-like). */
void attack_verdict(ward_attack_result_t *r, ward_attack_verdict_t v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void attack_tried(ward_attack_result_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append to the evidence ("; " between entries). */
void attack_evidence(ward_attack_result_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* snprintf into a path; false if it does not fit. */
bool attack_path(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A fresh copy of the base unit in a->dir (named after the attack; any
 * earlier one removed). WARD_OK or WARD_ERR_IO. */
ward_err_t attack_fresh_copy(attack_ctx_t *a, const char *name);
/* Copy a folder (regular files and folders) / remove one. */
ward_err_t attack_copy_dir(const char *from, const char *to);
void attack_remove_dir(const char *path);
/* Read a whole file (malloc'd, NUL after len). */
ward_err_t attack_read_file(const char *path, uint8_t **data, size_t *len);
ward_err_t attack_write_file(const char *path, const void *data, size_t len);

/* One reset of the simulated unit in dir: what the bootloader decides. */
ward_fih_t attack_boot(const char *dir, ward_boot_report_t *rep, ward_err_t *err);
/* Write an image into the staging slot and request an install (what an
 * update agent does); or over the primary slot (a rewritten flash chip). */
ward_err_t attack_stage(const char *dir, const uint8_t *img, size_t len);
ward_err_t attack_write_primary(const char *dir, const uint8_t *img, size_t len);
/* The image in the primary slot (malloc'd, its total size) and its info. */
ward_err_t attack_read_primary(const char *dir, uint8_t **img, size_t *len, ward_image_info_t *info);
/* Is the primary slot byte for byte this image? */
bool attack_primary_is(const char *dir, const uint8_t *img, size_t len);

/* "1.2.3+4" (a small rotating static buffer). */
const char *attack_version(const ward_image_version_t *v);

/* The fleet's boot / OTA signing key (NULL: no --fleet, or it does not
 * open: why says so). ward_key_close it. */
ward_key_t *attack_fleet_key(attack_ctx_t *a, bool ota, char *why, size_t why_len);

/* A net port that sends every connection to 127.0.0.1:port whatever host
 * was asked for (the attacker on the path diverts the traffic; TLS still
 * checks the name asked for). */
typedef struct attack_divert {
    ward_net_t port;
    ward_sim_net_t inner;
    uint16_t to_port;
    uint32_t connects;
    char asked[256]; /* the last host:port asked for */
} attack_divert_t;
void attack_divert_init(attack_divert_t *d, uint16_t to_port);
void attack_divert_close(attack_divert_t *d);

/* A free TCP port of 127.0.0.1 (0 if none). */
uint16_t attack_free_port(void);
/* Does something accept connections on 127.0.0.1:port? */
bool attack_listening(uint16_t port);
void attack_sleep_ms(unsigned ms);

/* The attacks, by file. */
void attack_boot_tampered(attack_ctx_t *a, ward_attack_result_t *r);
void attack_boot_unsigned(attack_ctx_t *a, ward_attack_result_t *r);
void attack_boot_foreign_key(attack_ctx_t *a, ward_attack_result_t *r);
void attack_boot_downgrade(attack_ctx_t *a, ward_attack_result_t *r);
void attack_ota_mitm(attack_ctx_t *a, ward_attack_result_t *r);
void attack_ota_tampered_manifest(attack_ctx_t *a, ward_attack_result_t *r);
void attack_ota_replayed_manifest(attack_ctx_t *a, ward_attack_result_t *r);
void attack_ota_boot_key_manifest(attack_ctx_t *a, ward_attack_result_t *r);
void attack_ble_unpaired_write(attack_ctx_t *a, ward_attack_result_t *r);
void attack_ble_just_works_write(attack_ctx_t *a, ward_attack_result_t *r);
void attack_ble_outside_window(attack_ctx_t *a, ward_attack_result_t *r);
void attack_ble_invalid_curve(attack_ctx_t *a, ward_attack_result_t *r);
void attack_cred_flash_dump(attack_ctx_t *a, ward_attack_result_t *r);
void attack_cred_cloned_flash(attack_ctx_t *a, ward_attack_result_t *r);
void attack_cred_vault_rollback(attack_ctx_t *a, ward_attack_result_t *r);
void attack_cloud_cloned_cert(attack_ctx_t *a, ward_attack_result_t *r);

/* Secrets of a unit (creds.c), for the dump and the clone. */
typedef struct attack_secret {
    char what[96];
    uint8_t v[64];
    size_t n;
} attack_secret_t;
#define ATTACK_MAX_SECRETS 80u
/* Every secret the unit in dir stores: its HSM's (HUK, identity, next
 * identity, pairing key, the label's r) and its vault records' values
 * (8 bytes or more; a bond's LTK and IRK). *n of them into s (wipe after). */
ward_err_t attack_unit_secrets(const char *dir, attack_secret_t *s, size_t cap, size_t *n,
                               char *why, size_t why_len);
/* What an attacker holding the chip of the unit in dir also gets: the
 * HSM's keys over an open debug port (OTP DEBUG_LOCK not set), else the
 * HUK or the identity key if the flash dump holds them. */
typedef struct attack_reach {
    bool debug_open;
    bool huk_found, id_found;
    long huk_off, id_off; /* in flash.bin; -1 when read over the debug port */
    uint8_t huk[32], id_priv[32];
    char how[160];
} attack_reach_t;
ward_err_t attack_reach(const char *dir, attack_reach_t *x);
/* Does the certificate in dir/cert.pem name the key of dir's HSM? */
ward_err_t attack_cert_key_check(const char *dir, bool *matches, char *detail, size_t cap);

/* Where buf holds s (raw, either byte order, or hex): its offset, or -1. */
long attack_find_secret(const uint8_t *buf, size_t len, const uint8_t *s, size_t n);

#endif
