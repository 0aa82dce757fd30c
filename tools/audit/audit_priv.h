/* ward_audit internals shared by its files. */
#ifndef WARD_TOOLS_AUDIT_PRIV_H
#define WARD_TOOLS_AUDIT_PRIV_H

#include <limits.h>
#include <mbedtls/x509_crt.h>
#include <stdarg.h>

#include "ward/sim.h"
#include "ward_audit.h"
#include "ward_factory.h"
#include "ward_profile.h"

typedef struct audit_ctx {
    const ward_audit_opts_t *o;
    ward_audit_report_t *rep;
    int64_t now;
    char copy[PATH_MAX]; /* the private copy of DEVICE/ */
    /* the unit */
    ward_sim_device_t dev;
    bool dev_open;
    ward_factory_eol_report_t eol;
    bool otp_secure_boot, otp_debug_lock;
    uint8_t otp_boot_hash[32], otp_ota_hash[32];
    mbedtls_x509_crt cert; /* DEVICE/cert.pem */
    bool have_cert;
    uint8_t cert_sha[32];
    uint8_t id_pub[65]; /* the HSM's identity key */
    bool have_id_pub;
    uint8_t pair_pub[65]; /* the HSM's pairing key */
    bool have_pair_pub;
    /* the profile */
    ward_profile_t *prof;
    bool have_profile;
    char profile_why[200];
    /* the factory */
    bool have_factory;
    ward_factory_conf_t fconf;
    uint8_t f_boot_spki[91], f_ota_spki[91];
    bool have_f_keys;
} audit_ctx_t;

void audit_set(audit_ctx_t *a, ward_audit_check_t c, ward_audit_status_t s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Read a whole file (malloc'd, NUL-terminated beyond len). WARD_ERR_NOT_FOUND,
 * WARD_ERR_IO, WARD_ERR_NO_SPACE. */
ward_err_t audit_read_file(const char *path, uint8_t **data, size_t *len);

/* snprintf into a path buffer; false if it does not fit. */
bool audit_path(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Lowercase hex of p (2n + 1 bytes of out). */
void audit_hex(char *out, const uint8_t *p, size_t n);

/* The fleet checks (fleet.c); every F_* check is set. */
void audit_fleet(audit_ctx_t *a);

/* The profile checks (checks_profile.c); every P_* check is set. */
void audit_profile(audit_ctx_t *a);

#endif
