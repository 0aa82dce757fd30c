/* ward_factory: files, paths, times, small helpers. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <psa/crypto.h>

#include "factory_priv.h"
#include "ward_hostio.h"

void ward_factory_why(char *why, size_t why_len, const char *fmt, ...)
{
    if (why == NULL || why_len == 0u) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

bool ward_factory_path(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

void ward_factory_hex(char *out, const uint8_t *p, size_t n)
{
    static const char k_hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = k_hex[p[i] >> 4];
        out[2 * i + 1] = k_hex[p[i] & 15u];
    }
    out[2 * n] = '\0';
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2u;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153u * (m > 2u ? m - 3u : m + 9u) + 2u) / 5u + d - 1u;
    const unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t ward_factory_x509_time(const mbedtls_x509_time *t)
{
    return days_from_civil(t->year, (unsigned)t->mon, (unsigned)t->day) * 86400 +
           (int64_t)t->hour * 3600 + (int64_t)t->min * 60 + t->sec;
}

int64_t ward_factory_now(void)
{
    return (int64_t)time(NULL);
}

void ward_factory_iso8601(int64_t t, char out[21])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL) {
        snprintf(out, 21, "invalid");
        return;
    }
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    const size_t n = strnlen(tmp, 20);
    memcpy(out, tmp, n);
    out[n] = '\0';
}

ward_err_t ward_factory_serial(uint8_t serial[WARD_FACTORY_SERIAL_LEN])
{
    if (psa_generate_random(serial, WARD_FACTORY_SERIAL_LEN) != PSA_SUCCESS) {
        return WARD_ERR_CRYPTO;
    }
    /* Positive (top bit clear) and exactly 16 bytes in DER (no leading
     * zero byte to drop): 126 random bits. */
    serial[0] = (uint8_t)((serial[0] & 0x3fu) | 0x40u);
    return WARD_OK;
}

ward_err_t ward_factory_read_file(const char *path, uint8_t **data, size_t *len)
{
    return ward_host_read_file(path, 64u << 20, data, len); /* nothing the factory reads is this big */
}

ward_err_t ward_factory_write_file(const char *path, const void *data, size_t len,
                                   unsigned mode, bool exclusive)
{
    char tmp[4096];
    if (!ward_factory_path(tmp, sizeof tmp, "%s.tmpXXXXXX", path)) {
        return WARD_ERR_INVALID_ARG;
    }
    struct stat st;
    if (exclusive && lstat(path, &st) == 0) {
        return WARD_ERR_EXISTS;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        return WARD_ERR_IO;
    }
    ward_err_t err = fchmod(fd, (mode_t)mode) == 0 ? WARD_OK : WARD_ERR_IO;
    const uint8_t *p = data;
    size_t left = len;
    while (err == WARD_OK && left > 0u) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            err = WARD_ERR_IO;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (err == WARD_OK && fsync(fd) != 0) {
        err = WARD_ERR_IO;
    }
    if (close(fd) != 0) {
        err = WARD_ERR_IO;
    }
    if (err == WARD_OK) {
        if (exclusive) {
            if (link(tmp, path) != 0) {
                err = errno == EEXIST ? WARD_ERR_EXISTS : WARD_ERR_IO;
            }
            (void)unlink(tmp);
        } else if (rename(tmp, path) != 0) {
            err = WARD_ERR_IO;
            (void)unlink(tmp);
        }
    } else {
        (void)unlink(tmp);
    }
    return err;
}

ward_err_t ward_factory_mkdir(const char *path, unsigned mode)
{
    if (mkdir(path, (mode_t)mode) == 0) {
        return WARD_OK;
    }
    return errno == EEXIST ? WARD_ERR_EXISTS : WARD_ERR_IO;
}
