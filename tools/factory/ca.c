/*
 * ward_factory: the CA of a factory directory and its records
 * (FACTORY/ca/: ca.pem, issued/<serial>.pem, revoked.txt, crl.pem, crlnumber).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "factory_priv.h"
#include "ward/crypto.h"
#include "ward/util.h"

/* ---- factory.conf ---------------------------------------------------------------------- */

static void copy_value(char *dst, size_t cap, const char *v)
{
    size_t n = strcspn(v, "\r\n");
    if (n >= cap) {
        n = cap - 1u;
    }
    memcpy(dst, v, n);
    dst[n] = '\0';
}

ward_err_t ward_factory_conf_read(const char *dir, ward_factory_conf_t *c)
{
    char path[4096], line[1024];
    memset(c, 0, sizeof *c);
    if (dir == NULL || !ward_factory_path(path, sizeof path, "%s/factory.conf", dir)) {
        return WARD_ERR_INVALID_ARG;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO;
    }
    unsigned format = 0, port = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "format=%u", &format) == 1) {
            continue;
        }
        if (strncmp(line, "boot_key=", 9) == 0) {
            copy_value(c->boot_key, sizeof c->boot_key, line + 9);
        } else if (strncmp(line, "ota_key=", 8) == 0) {
            copy_value(c->ota_key, sizeof c->ota_key, line + 8);
        } else if (strncmp(line, "ca_key=", 7) == 0) {
            copy_value(c->ca_key, sizeof c->ca_key, line + 7);
        } else if (strncmp(line, "device_class=", 13) == 0) {
            copy_value(c->device_class, sizeof c->device_class, line + 13);
        } else if (strncmp(line, "broker_host=", 12) == 0) {
            copy_value(c->broker_host, sizeof c->broker_host, line + 12);
        } else if (sscanf(line, "broker_port=%u", &port) == 1) {
            c->broker_port = port <= 65535u ? (uint16_t)port : 0u;
        } else if (strncmp(line, "repo_host=", 10) == 0) {
            copy_value(c->repo_host, sizeof c->repo_host, line + 10);
        } else if (sscanf(line, "repo_port=%u", &port) == 1) {
            c->repo_port = port <= 65535u ? (uint16_t)port : 0u;
        }
    }
    fclose(f);
    if (format != 1u || c->boot_key[0] == '\0' || c->ota_key[0] == '\0' || c->ca_key[0] == '\0') {
        return WARD_ERR_CORRUPT;
    }
    return WARD_OK;
}

/* A key spec from factory.conf: a URI as is, a relative path under dir. */
static bool resolve_spec(char *out, size_t cap, const char *dir, const char *spec)
{
    if (ward_key_is_pkcs11(spec) || spec[0] == '/') {
        return ward_factory_path(out, cap, "%s", spec);
    }
    return ward_factory_path(out, cap, "%s/%s", dir, spec);
}

/* ---- open / load ---------------------------------------------------------------------------- */

static ward_err_t ca_new(const char *cert_path, const char *key_spec, const char *dir,
                         ward_factory_ca_t **out, char *why, size_t why_len)
{
    uint8_t *der = NULL, pub[65], kpub[65];
    size_t len = 0;
    char kwhy[WARD_KEYS_WHY_MAX];
    *out = NULL;
    ward_factory_ca_t *ca = calloc(1, sizeof *ca);
    if (ca == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    mbedtls_x509_crt_init(&ca->crt);
    ca->lock_fd = -1;
    ward_err_t err = ward_factory_cert_read(cert_path, &der, &len);
    if (err != WARD_OK) {
        ward_factory_why(why, why_len, "%s: %s", cert_path,
                         err == WARD_ERR_NOT_FOUND ? "no CA certificate" : "not a certificate");
        goto fail;
    }
    if (mbedtls_x509_crt_parse_der(&ca->crt, der, len) != 0 ||
        mbedtls_x509_crt_get_ca_istrue(&ca->crt) != 1 ||
        ward_factory_cert_pub(&ca->crt, pub) != WARD_OK || ca->crt.subject_key_id.len == 0u) {
        ward_factory_why(why, why_len, "%s: not a P-256 CA certificate with a key identifier",
                         cert_path);
        err = WARD_ERR_CERT;
        goto fail;
    }
    err = ward_key_open(key_spec, &ca->key, kwhy, sizeof kwhy);
    if (err != WARD_OK) {
        ward_factory_why(why, why_len, "the CA key: %s", kwhy);
        goto fail;
    }
    if (ward_p256_spki_parse(kpub, ward_key_spki(ca->key), WARD_P256_SPKI_LEN) != WARD_OK ||
        memcmp(kpub, pub, sizeof pub) != 0) {
        ward_factory_why(why, why_len, "the CA key is not the key of %s", cert_path);
        err = WARD_ERR_CERT;
        goto fail;
    }
    if (dir != NULL) {
        ca->dir = strdup(dir);
        if (ca->dir == NULL) {
            err = WARD_ERR_NO_SPACE;
            goto fail;
        }
    }
    free(der);
    *out = ca;
    return WARD_OK;
fail:
    free(der);
    ward_factory_ca_close(ca);
    return err;
}

ward_err_t ward_factory_ca_open(const char *factory_dir, ward_factory_ca_t **ca, char *why,
                                size_t why_len)
{
    ward_factory_conf_t conf;
    char cert[4096], key[4096];
    if (ca == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *ca = NULL;
    ward_err_t err = ward_factory_conf_read(factory_dir, &conf);
    if (err != WARD_OK) {
        ward_factory_why(why, why_len, "%s: %s", factory_dir != NULL ? factory_dir : "(null)",
                         err == WARD_ERR_NOT_FOUND ? "no factory here (ward factory init)"
                                                   : "factory.conf unreadable");
        return err;
    }
    if (!ward_factory_path(cert, sizeof cert, "%s/ca/ca.pem", factory_dir) ||
        !resolve_spec(key, sizeof key, factory_dir, conf.ca_key)) {
        return WARD_ERR_INVALID_ARG;
    }
    return ca_new(cert, key, factory_dir, ca, why, why_len);
}

ward_err_t ward_factory_ca_load(const char *cert_path, const char *key_spec,
                                ward_factory_ca_t **ca, char *why, size_t why_len)
{
    if (ca == NULL || cert_path == NULL || key_spec == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    return ca_new(cert_path, key_spec, NULL, ca, why, why_len);
}

void ward_factory_ca_close(ward_factory_ca_t *ca)
{
    if (ca == NULL) {
        return;
    }
    if (ca->lock_fd >= 0) {
        (void)close(ca->lock_fd); /* releases the lock */
    }
    ward_key_close(ca->key);
    mbedtls_x509_crt_free(&ca->crt);
    free(ca->dir);
    free(ca);
}

ward_err_t ward_factory_ca_lock(ward_factory_ca_t *ca)
{
    char path[4096];
    if (ca == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (ca->dir == NULL) {
        return WARD_OK;
    }
    if (ca->lock_depth > 0u) {
        ca->lock_depth++;
        return WARD_OK;
    }
    if (!ward_factory_path(path, sizeof path, "%s/ca/lock", ca->dir)) {
        return WARD_ERR_INVALID_ARG;
    }
    /* Opened for each outermost lock: a descriptor shared with a forked
     * process would share its lock too. */
    const int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return WARD_ERR_IO;
    }
    int r;
    while ((r = flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (r != 0) {
        (void)close(fd);
        return WARD_ERR_IO;
    }
    ca->lock_fd = fd;
    ca->lock_depth = 1;
    return WARD_OK;
}

void ward_factory_ca_unlock(ward_factory_ca_t *ca)
{
    if (ca == NULL || ca->lock_depth == 0u) {
        return;
    }
    if (--ca->lock_depth == 0u) {
        (void)close(ca->lock_fd); /* releases the lock */
        ca->lock_fd = -1;
    }
}

const uint8_t *ward_factory_ca_cert(const ward_factory_ca_t *ca, size_t *len)
{
    *len = ca->crt.raw.len;
    return ca->crt.raw.p;
}

/* ---- revocation records ------------------------------------------------------------------------- */

static bool hex_to_bytes(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = strlen(hex);
    if (n == 0u || n % 2u != 0u || n / 2u > cap) {
        return false;
    }
    for (size_t i = 0; i < n / 2u; i++) {
        int v = 0;
        for (int j = 0; j < 2; j++) {
            const char c = hex[2u * i + (size_t)j];
            const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) {
                return false;
            }
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
    *len = n / 2u;
    return true;
}

/* revoked.txt: one "<serial hex> <seconds since 1970>" per line. */
static ward_err_t read_revoked(const ward_factory_ca_t *ca, ward_factory_revoked_t **list,
                               size_t *count)
{
    char path[4096], line[128], hex[64];
    long long when = 0;
    *list = NULL;
    *count = 0;
    if (!ward_factory_path(path, sizeof path, "%s/ca/revoked.txt", ca->dir)) {
        return WARD_ERR_INVALID_ARG;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return errno == ENOENT ? WARD_OK : WARD_ERR_IO;
    }
    size_t cap = 0;
    ward_err_t err = WARD_OK;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        if (*count == cap) {
            cap = cap == 0u ? 16u : cap * 2u;
            ward_factory_revoked_t *nl = realloc(*list, cap * sizeof **list);
            if (nl == NULL) {
                err = WARD_ERR_NO_SPACE;
                break;
            }
            *list = nl;
        }
        ward_factory_revoked_t *r = &(*list)[*count];
        if (sscanf(line, "%63s %lld", hex, &when) != 2 ||
            !hex_to_bytes(hex, r->serial, sizeof r->serial, &r->serial_len) || when < 0) {
            err = WARD_ERR_CORRUPT;
            break;
        }
        r->revoked_at = (int64_t)when;
        (*count)++;
    }
    fclose(f);
    if (err != WARD_OK) {
        free(*list);
        *list = NULL;
        *count = 0;
    }
    return err;
}

static ward_err_t crl_refresh_locked(ward_factory_ca_t *ca, uint32_t next_update_in);

ward_err_t ward_factory_crl_refresh(ward_factory_ca_t *ca, uint32_t next_update_in)
{
    if (ca == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_factory_ca_lock(ca);
    if (err == WARD_OK) {
        err = crl_refresh_locked(ca, next_update_in);
        ward_factory_ca_unlock(ca);
    }
    return err;
}

/* crlnumber, revoked.txt and crl.pem: read and rewritten under the lock. */
static ward_err_t crl_refresh_locked(ward_factory_ca_t *ca, uint32_t next_update_in)
{
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    if (ca == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (ca->dir == NULL) {
        return WARD_ERR_STATE;
    }
    unsigned long long number = 0;
    if (!ward_factory_path(path, sizeof path, "%s/ca/crlnumber", ca->dir)) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_factory_read_file(path, &data, &len);
    if (err == WARD_OK) {
        if (sscanf((const char *)data, "%llu", &number) != 1) {
            err = WARD_ERR_CORRUPT;
        }
        free(data);
    } else if (err == WARD_ERR_NOT_FOUND) {
        err = WARD_OK;
    }
    if (err != WARD_OK) {
        return err;
    }
    if (number >= (unsigned long long)INT32_MAX) {
        return WARD_ERR_LIMIT;
    }
    ward_factory_revoked_t *list = NULL;
    size_t count = 0;
    err = read_revoked(ca, &list, &count);
    if (err != WARD_OK) {
        return err;
    }
    const size_t cap = 1024u + 64u * count;
    uint8_t *der = malloc(cap);
    char *pem = malloc(cap * 2u);
    size_t der_len = 0, pem_len = 0;
    if (der == NULL || pem == NULL) {
        err = WARD_ERR_NO_SPACE;
    }
    if (err == WARD_OK) {
        err = ward_factory_crl(ca, list, count, (uint32_t)number + 1u, 0, next_update_in, der, cap,
                               &der_len);
    }
    if (err == WARD_OK) {
        err = ward_factory_pem("X509 CRL", der, der_len, pem, cap * 2u, &pem_len);
    }
    /* The number first: a crash between the two writes skips a number,
     * never reuses one. */
    if (err == WARD_OK) {
        char num[32];
        int n = snprintf(num, sizeof num, "%llu\n", number + 1u);
        err = ward_factory_write_file(path, num, (size_t)n, 0644, false);
    }
    if (err == WARD_OK) {
        err = ward_factory_path(path, sizeof path, "%s/ca/crl.pem", ca->dir)
                  ? ward_factory_write_file(path, pem, pem_len, 0644, false)
                  : WARD_ERR_INVALID_ARG;
    }
    free(der);
    free(pem);
    free(list);
    return err;
}

static ward_err_t revoke_locked(ward_factory_ca_t *ca, const uint8_t *serial, size_t serial_len,
                                int64_t revoked_at);

ward_err_t ward_factory_revoke(ward_factory_ca_t *ca, const uint8_t *serial, size_t serial_len,
                               int64_t revoked_at)
{
    if (ca == NULL || serial == NULL || serial_len == 0u || serial_len > 20u) {
        return WARD_ERR_INVALID_ARG;
    }
    if (ca->dir == NULL) {
        return WARD_ERR_STATE;
    }
    ward_err_t err = ward_factory_ca_lock(ca);
    if (err == WARD_OK) {
        err = revoke_locked(ca, serial, serial_len, revoked_at);
        ward_factory_ca_unlock(ca);
    }
    return err;
}

/* Append to revoked.txt and write the CRL from it, under the lock. */
static ward_err_t revoke_locked(ward_factory_ca_t *ca, const uint8_t *serial, size_t serial_len,
                                int64_t revoked_at)
{
    char path[4096], hex[2 * 20 + 1];
    ward_factory_hex(hex, serial, serial_len);
    if (!ward_factory_path(path, sizeof path, "%s/ca/issued/%s.pem", ca->dir, hex)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (access(path, F_OK) != 0) {
        return WARD_ERR_NOT_FOUND;
    }
    ward_factory_revoked_t *list = NULL;
    size_t count = 0;
    ward_err_t err = read_revoked(ca, &list, &count);
    if (err != WARD_OK) {
        return err;
    }
    bool known = false;
    for (size_t i = 0; i < count; i++) {
        known = known || (list[i].serial_len == serial_len &&
                          memcmp(list[i].serial, serial, serial_len) == 0);
    }
    free(list);
    if (known) {
        return WARD_OK;
    }
    if (!ward_factory_path(path, sizeof path, "%s/ca/revoked.txt", ca->dir)) {
        return WARD_ERR_INVALID_ARG;
    }
    FILE *f = fopen(path, "a");
    if (f == NULL) {
        return WARD_ERR_IO;
    }
    const int64_t when = revoked_at != 0 ? revoked_at : ward_factory_now();
    bool ok = fprintf(f, "%s %lld\n", hex, (long long)when) > 0;
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        return WARD_ERR_IO;
    }
    return crl_refresh_locked(ca, 0);
}

/* ---- lookups -------------------------------------------------------------------------------- */

typedef struct found {
    uint8_t *der;
    size_t len;
    int64_t not_before;
} found_t;

static int by_not_before_desc(const void *a, const void *b)
{
    const found_t *x = a, *y = b;
    return x->not_before < y->not_before ? 1 : x->not_before > y->not_before ? -1 : 0;
}

ward_err_t ward_factory_issued_for(ward_factory_ca_t *ca, const char *cn, ward_factory_cert_fn fn,
                                   void *ctx)
{
    char path[4096], name[WARD_FACTORY_ID_MAX + 1];
    if (ca == NULL || cn == NULL || fn == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (ca->dir == NULL) {
        return WARD_ERR_STATE;
    }
    if (!ward_factory_path(path, sizeof path, "%s/ca/issued", ca->dir)) {
        return WARD_ERR_INVALID_ARG;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        return WARD_ERR_IO;
    }
    found_t *all = NULL;
    size_t n = 0, cap = 0;
    ward_err_t err = WARD_OK;
    const struct dirent *e;
    while (err == WARD_OK && (e = readdir(d)) != NULL) {
        const size_t nl = strlen(e->d_name);
        if (nl < 5u || strcmp(e->d_name + nl - 4u, ".pem") != 0) {
            continue;
        }
        char file[4096];
        uint8_t *der = NULL;
        size_t len = 0;
        if (!ward_factory_path(file, sizeof file, "%s/%s", path, e->d_name) ||
            ward_factory_cert_read(file, &der, &len) != WARD_OK) {
            continue;
        }
        mbedtls_x509_crt c;
        mbedtls_x509_crt_init(&c);
        const bool match = mbedtls_x509_crt_parse_der(&c, der, len) == 0 &&
                           ward_factory_cert_cn(&c, name) && strcmp(name, cn) == 0;
        const int64_t nb = match ? ward_factory_x509_time(&c.valid_from) : 0;
        mbedtls_x509_crt_free(&c);
        if (!match) {
            free(der);
            continue;
        }
        if (n == cap) {
            cap = cap == 0u ? 8u : cap * 2u;
            found_t *na = realloc(all, cap * sizeof *all);
            if (na == NULL) {
                free(der);
                err = WARD_ERR_NO_SPACE;
                break;
            }
            all = na;
        }
        all[n++] = (found_t){der, len, nb};
    }
    closedir(d);
    ward_factory_revoked_t *rev = NULL;
    size_t nrev = 0;
    if (err == WARD_OK) {
        err = read_revoked(ca, &rev, &nrev);
    }
    if (err == WARD_OK && n > 1u) {
        qsort(all, n, sizeof *all, by_not_before_desc);
    }
    for (size_t i = 0; err == WARD_OK && i < n; i++) {
        mbedtls_x509_crt c;
        mbedtls_x509_crt_init(&c);
        if (mbedtls_x509_crt_parse_der(&c, all[i].der, all[i].len) == 0) {
            bool revoked = false;
            for (size_t j = 0; j < nrev; j++) {
                revoked = revoked || (rev[j].serial_len == c.serial.len &&
                                      memcmp(rev[j].serial, c.serial.p, c.serial.len) == 0);
            }
            err = fn(ctx, all[i].der, all[i].len, c.serial.p, c.serial.len,
                     ward_factory_x509_time(&c.valid_from), ward_factory_x509_time(&c.valid_to),
                     revoked);
        }
        mbedtls_x509_crt_free(&c);
    }
    for (size_t i = 0; i < n; i++) {
        free(all[i].der);
    }
    free(all);
    free(rev);
    return err;
}
