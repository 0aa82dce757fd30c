/*
 * ward_fleet: the factory directory's records. Every certificate the CA
 * issued is filed as issued/<serial hex>.pem; revocations are lines of
 * revoked.txt ("<serial hex> <unix time> <device id>"); the CRL the broker
 * reads is made from them.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/oid.h>

#include "ward_fleet.h"

void ward_fleet_paths_default(ward_fleet_paths_t *p, const char *dir)
{
    memset(p, 0, sizeof *p);
    snprintf(p->ca_cert, sizeof p->ca_cert, "%s/ca.pem", dir);
    snprintf(p->ca_key, sizeof p->ca_key, "%s/ca.key", dir);
    snprintf(p->client_cert, sizeof p->client_cert, "%s/fleet.pem", dir);
    snprintf(p->client_key, sizeof p->client_key, "%s/fleet.key", dir);
    snprintf(p->issued, sizeof p->issued, "%s/issued", dir);
    snprintf(p->revoked, sizeof p->revoked, "%s/revoked.txt", dir);
    snprintf(p->crl, sizeof p->crl, "%s/broker/crl.pem", dir);
    snprintf(p->pid, sizeof p->pid, "%s/broker/mosquitto.pid", dir);
}

ward_err_t ward_fleet_open(ward_fleet_t *f, const ward_fleet_paths_t *paths)
{
    f->paths = *paths;
    ward_fleet_ca_init(&f->ca);
    if (mkdir(f->paths.issued, 0755) != 0 && errno != EEXIST) {
        return WARD_ERR_IO;
    }
    return ward_fleet_ca_load(&f->ca, f->paths.ca_cert, f->paths.ca_key);
}

void ward_fleet_close(ward_fleet_t *f)
{
    ward_fleet_ca_free(&f->ca);
}

static void hex(char *out, const uint8_t *p, size_t n)
{
    static const char k_hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2u * i] = k_hex[p[i] >> 4];
        out[2u * i + 1u] = k_hex[p[i] & 15u];
    }
    out[2u * n] = '\0';
}

static ward_err_t write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *o = fopen(tmp, "wb");
    if (o == NULL) {
        return WARD_ERR_IO;
    }
    const bool ok = fwrite(data, 1, len, o) == len && fflush(o) == 0 && fsync(fileno(o)) == 0;
    if (fclose(o) != 0 || !ok || chmod(tmp, mode) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return WARD_ERR_IO;
    }
    return WARD_OK;
}

ward_err_t ward_fleet_record(ward_fleet_t *f, const uint8_t *der, size_t len)
{
    mbedtls_x509_crt crt;
    char pem[2048], path[1200], serial[41];
    size_t n = 0;
    mbedtls_x509_crt_init(&crt);
    if (mbedtls_x509_crt_parse_der(&crt, der, len) != 0 || crt.serial.len > 20u) {
        mbedtls_x509_crt_free(&crt);
        return WARD_ERR_CORRUPT;
    }
    hex(serial, crt.serial.p, crt.serial.len);
    mbedtls_x509_crt_free(&crt);
    ward_err_t err = ward_fleet_pem(der, len, pem, sizeof pem, &n);
    if (err != WARD_OK) {
        return err;
    }
    snprintf(path, sizeof path, "%s/%s.pem", f->paths.issued, serial);
    return write_file(path, pem, n, 0644);
}

/* ---- revoked.txt ------------------------------------------------------------------------ */

typedef struct {
    char serial[41];
    int64_t when;
} rev_t;

static ward_err_t read_revoked(const ward_fleet_t *f, rev_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    FILE *in = fopen(f->paths.revoked, "r");
    if (in == NULL) {
        return errno == ENOENT ? WARD_OK : WARD_ERR_IO;
    }
    char line[256];
    size_t cap = 0;
    while (fgets(line, sizeof line, in) != NULL) {
        char serial[64];
        long long when = 0;
        if (sscanf(line, "%63s %lld", serial, &when) != 2 || strlen(serial) > 40u) {
            continue;
        }
        if (*n == cap) {
            cap = cap == 0u ? 16u : cap * 2u;
            rev_t *more = realloc(*out, cap * sizeof **out);
            if (more == NULL) {
                fclose(in);
                free(*out);
                *out = NULL;
                return WARD_ERR_NO_SPACE;
            }
            *out = more;
        }
        memcpy((*out)[*n].serial, serial, strlen(serial) + 1u); /* at most 40 + NUL, checked above */
        (*out)[*n].when = (int64_t)when;
        (*n)++;
    }
    fclose(in);
    return WARD_OK;
}

static bool is_revoked(const rev_t *r, size_t n, const char *serial)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].serial, serial) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- issued/ ------------------------------------------------------------------------------ */

static int64_t x509_time(const mbedtls_x509_time *t)
{
    struct tm tm = {.tm_year = t->year - 1900, .tm_mon = t->mon - 1, .tm_mday = t->day,
                    .tm_hour = t->hour, .tm_min = t->min, .tm_sec = t->sec};
    /* timegm is not POSIX: days from civil, as in src/net/tls.c inverted. */
    int64_t y = tm.tm_year + 1900;
    const int m = tm.tm_mon + 1;
    y -= m <= 2 ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + tm.tm_mday - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (era * 146097 + doe - 719468) * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

static int by_not_before(const void *a, const void *b)
{
    const ward_fleet_entry_t *x = a, *y = b;
    return x->not_before < y->not_before ? -1 : x->not_before > y->not_before ? 1 : 0;
}

ward_err_t ward_fleet_list(ward_fleet_t *f, ward_fleet_entry_t **out, size_t *n)
{
    rev_t *rev = NULL;
    size_t n_rev = 0, cap = 0;
    *out = NULL;
    *n = 0;
    ward_err_t err = read_revoked(f, &rev, &n_rev);
    if (err != WARD_OK) {
        return err;
    }
    DIR *d = opendir(f->paths.issued);
    if (d == NULL) {
        free(rev);
        return errno == ENOENT ? WARD_OK : WARD_ERR_IO;
    }
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const size_t nl = strlen(e->d_name);
        if (nl < 5u || strcmp(e->d_name + nl - 4u, ".pem") != 0) {
            continue;
        }
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", f->paths.issued, e->d_name);
        mbedtls_x509_crt crt;
        mbedtls_x509_crt_init(&crt);
        if (mbedtls_x509_crt_parse_file(&crt, path) != 0 || crt.serial.len > 20u) {
            mbedtls_x509_crt_free(&crt);
            continue;
        }
        if (*n == cap) {
            cap = cap == 0u ? 16u : cap * 2u;
            ward_fleet_entry_t *more = realloc(*out, cap * sizeof **out);
            if (more == NULL) {
                mbedtls_x509_crt_free(&crt);
                err = WARD_ERR_NO_SPACE;
                break;
            }
            *out = more;
        }
        ward_fleet_entry_t *x = &(*out)[*n];
        memset(x, 0, sizeof *x);
        for (const mbedtls_x509_name *a = &crt.subject; a != NULL; a = a->next) {
            if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &a->oid) == 0 && a->val.len < sizeof x->id) {
                memcpy(x->id, a->val.p, a->val.len);
            }
        }
        hex(x->serial, crt.serial.p, crt.serial.len);
        x->not_before = x509_time(&crt.valid_from);
        x->not_after = x509_time(&crt.valid_to);
        x->revoked = is_revoked(rev, n_rev, x->serial);
        (*n)++;
        mbedtls_x509_crt_free(&crt);
    }
    closedir(d);
    free(rev);
    if (err != WARD_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
        return err;
    }
    if (*n > 1u) {
        qsort(*out, *n, sizeof **out, by_not_before);
    }
    return WARD_OK;
}

bool ward_fleet_known(ward_fleet_t *f, const char *id, int64_t now)
{
    ward_fleet_entry_t *all = NULL;
    size_t n = 0;
    bool known = false;
    if (ward_fleet_list(f, &all, &n) != WARD_OK) {
        return false;
    }
    for (size_t i = 0; i < n && !known; i++) {
        known = strcmp(all[i].id, id) == 0 && !all[i].revoked && now >= all[i].not_before &&
                now <= all[i].not_after;
    }
    free(all);
    return known;
}

/* ---- revocation and the CRL ------------------------------------------------------------------ */

/* Serials in hex, either case. */
static bool same_hex(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        const char x = (char)(*a >= 'A' && *a <= 'F' ? *a - 'A' + 'a' : *a);
        const char y = (char)(*b >= 'A' && *b <= 'F' ? *b - 'A' + 'a' : *b);
        if (x != y) {
            return false;
        }
    }
    return *a == *b;
}

static bool hex_to_bytes(const char *s, uint8_t *out, size_t *len)
{
    const size_t n = strlen(s);
    if (n == 0u || n % 2u != 0u || n > 40u) {
        return false;
    }
    for (size_t i = 0; i < n; i += 2u) {
        unsigned v = 0;
        if (sscanf(s + i, "%2x", &v) != 1) {
            return false;
        }
        out[i / 2u] = (uint8_t)v;
    }
    *len = n / 2u;
    return true;
}

ward_err_t ward_fleet_crl_write(ward_fleet_t *f, int64_t now, uint32_t days)
{
    rev_t *rev = NULL;
    size_t n = 0;
    ward_err_t err = read_revoked(f, &rev, &n);
    if (err != WARD_OK) {
        return err;
    }
    ward_fleet_revoked_t *list = calloc(n + 1u, sizeof *list);
    char *pem = malloc(4096u + 128u * n);
    size_t k = 0, len = 0;
    if (list == NULL || pem == NULL) {
        err = WARD_ERR_NO_SPACE;
    }
    for (size_t i = 0; err == WARD_OK && i < n; i++) {
        if (hex_to_bytes(rev[i].serial, list[k].serial, &list[k].serial_len)) {
            list[k].when = rev[i].when;
            k++;
        }
    }
    /* Seconds since 2020: a CRL number that grows with every new CRL. */
    const uint32_t number = now > 1577836800 ? (uint32_t)(now - 1577836800) : 1u;
    if (err == WARD_OK) {
        err = ward_fleet_crl(&f->ca, list, k, now - 60, now + (int64_t)(days != 0u ? days : 30u) * 86400,
                             number, pem, 4096u + 128u * n, &len);
    }
    if (err == WARD_OK) {
        err = write_file(f->paths.crl, pem, len, 0644);
    }
    free(pem);
    free(list);
    free(rev);
    return err;
}

ward_err_t ward_fleet_revoke(ward_fleet_t *f, const char *id, const char *serial_hex, int64_t now,
                             size_t *count)
{
    ward_fleet_entry_t *all = NULL;
    size_t n = 0, matched = 0, added = 0;
    *count = 0;
    if ((id == NULL) == (serial_hex == NULL)) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_fleet_list(f, &all, &n);
    if (err != WARD_OK) {
        return err;
    }
    FILE *o = fopen(f->paths.revoked, "a");
    if (o == NULL) {
        free(all);
        return WARD_ERR_IO;
    }
    for (size_t i = 0; i < n; i++) {
        const bool match = id != NULL ? strcmp(all[i].id, id) == 0
                                      : same_hex(all[i].serial, serial_hex);
        if (!match) {
            continue;
        }
        matched++;
        if (!all[i].revoked) {
            fprintf(o, "%s %lld %s\n", all[i].serial, (long long)now, all[i].id);
            added++;
        }
    }
    const bool ok = fflush(o) == 0 && fsync(fileno(o)) == 0;
    if (fclose(o) != 0 || !ok) {
        free(all);
        return WARD_ERR_IO;
    }
    free(all);
    if (matched == 0u) {
        return WARD_ERR_NOT_FOUND;
    }
    *count = added;
    return ward_fleet_crl_write(f, now, 0);
}

ward_err_t ward_fleet_reload_broker(const ward_fleet_t *f)
{
    FILE *in = fopen(f->paths.pid, "r");
    if (in == NULL) {
        return WARD_ERR_NOT_FOUND;
    }
    long pid = 0;
    const int got = fscanf(in, "%ld", &pid);
    fclose(in);
    if (got != 1 || pid <= 1) {
        return WARD_ERR_CORRUPT;
    }
    return kill((pid_t)pid, SIGHUP) == 0 ? WARD_OK : WARD_ERR_IO;
}
