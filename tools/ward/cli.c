/* ward CLI: shared helpers (exit codes, files, parsing, output). */
#define _POSIX_C_SOURCE 200809L
#include "ward_hostio.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ward_keys.h"

int ward_cli_exit_code(ward_err_t err)
{
    switch (err) {
    case WARD_OK:
        return WARD_EXIT_OK;
    case WARD_ERR_INVALID_ARG:
    case WARD_ERR_VAULT_NAME: /* a record name is part of the command line */
        return WARD_EXIT_USAGE;
    case WARD_ERR_IO:
    case WARD_ERR_POWER_LOSS:
        return WARD_EXIT_IO;
    case WARD_ERR_IMG_MAGIC:
    case WARD_ERR_IMG_HEADER:
    case WARD_ERR_IMG_TLV:
    case WARD_ERR_CORRUPT:
        return WARD_EXIT_MALFORMED;
    case WARD_ERR_IMG_SIG:
        return WARD_EXIT_BAD_SIG;
    case WARD_ERR_IMG_HASH:
        return WARD_EXIT_BAD_HASH;
    case WARD_ERR_IMG_KEY:
        return WARD_EXIT_WRONG_KEY;
    case WARD_ERR_IMG_TOO_LARGE:
        return WARD_EXIT_TOO_LARGE;
    case WARD_ERR_IMG_UNSIGNED:
        return WARD_EXIT_UNSIGNED;
    case WARD_ERR_IMG_SEC_CNT:
    case WARD_ERR_IMG_SEC_CNT_RANGE:
    case WARD_ERR_IMG_DOWNGRADE:
    case WARD_ERR_ROLLBACK:
    case WARD_ERR_VAULT_ERASED:
        return WARD_EXIT_ROLLBACK;
    case WARD_ERR_IMG_UNSUPPORTED:
    case WARD_ERR_UNSUPPORTED:
        return WARD_EXIT_UNSUPPORTED;
    case WARD_ERR_EXISTS:
        return WARD_EXIT_EXISTS;
    case WARD_ERR_AUTH:
    case WARD_ERR_VAULT_FOREIGN:
        return WARD_EXIT_INTEGRITY;
    case WARD_ERR_NOT_FOUND:
    case WARD_ERR_VAULT_UNFORMATTED:
        return WARD_EXIT_NOT_FOUND;
    case WARD_ERR_STATE:
    case WARD_ERR_LOCKED:
    case WARD_ERR_LIMIT:
        return WARD_EXIT_STATE;
    case WARD_ERR_NO_SPACE:
        return WARD_EXIT_NO_SPACE;
    case WARD_ERR_BOOT_NO_IMAGE:
    case WARD_ERR_BOOT_NO_KEY:
        return WARD_EXIT_REFUSED;
    default:
        /* OTA, network and later modules: one exit code per reason. */
        if (err <= WARD_ERR_OTA_MANIFEST && err > -256 + 60) {
            return -err - 60;
        }
        return WARD_EXIT_FAIL;
    }
}

int ward_cli_fail(const char *cmd, const char *what, ward_err_t err)
{
    fprintf(stderr, "ward %s: %s: %s (%s)\n", cmd, what, ward_err_str(err), ward_err_name(err));
    return ward_cli_exit_code(err);
}

ward_err_t ward_cli_read_file(const char *path, uint8_t **data, size_t *len)
{
    /* Any size the machine can hold; a missing file is an I/O error here
     * (the commands' exit codes for an unreadable input). */
    const ward_err_t err = ward_host_read_file(path, SIZE_MAX / 4u, data, len);
    return err == WARD_ERR_NOT_FOUND ? WARD_ERR_IO : err;
}

ward_err_t ward_cli_write_file(const char *path, const void *data, size_t len, unsigned mode,
                               bool exclusive)
{
    struct stat st;
    if (exclusive && lstat(path, &st) == 0) {
        return WARD_ERR_EXISTS;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (tmp == NULL) {
        return WARD_ERR_IO;
    }
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return WARD_ERR_IO;
    }
    ward_err_t err = WARD_OK;
    if (fchmod(fd, (mode_t)mode) != 0) {
        err = WARD_ERR_IO;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (err == WARD_OK && left > 0) {
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
    close(fd);
    if (err == WARD_OK) {
        if (exclusive) {
            /* link() fails if the target appeared meanwhile: no overwrite race. */
            if (link(tmp, path) != 0) {
                err = errno == EEXIST ? WARD_ERR_EXISTS : WARD_ERR_IO;
            }
            unlink(tmp);
        } else if (rename(tmp, path) != 0) {
            err = WARD_ERR_IO;
            unlink(tmp);
        }
    } else {
        unlink(tmp);
    }
    free(tmp);
    return err;
}

bool ward_cli_parse_u32(const char *s, uint32_t *out)
{
    if (s == NULL || *s == '\0' || *s == '-' || *s == '+') {
        return false;
    }
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        base = 8;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        s += 2;
    }
    if (*s == '\0') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, base);
    if (errno != 0 || end == NULL || *end != '\0' || v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

int ward_cli_hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

void ward_cli_print_hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%02x", p[i]);
    }
}

void ward_cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

int ward_cli_key_open(const char *cmd, const char *spec, struct ward_key **key)
{
    char why[WARD_KEYS_WHY_MAX];
    ward_err_t err = ward_key_open(spec, key, why, sizeof why);
    if (err == WARD_OK) {
        return WARD_EXIT_OK;
    }
    return ward_cli_fail(cmd, why[0] != '\0' ? why : spec, err);
}

bool ward_cli_ends_with_boot_magic(const uint8_t *d, size_t len)
{
    static const uint8_t magic8[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                       0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
    static const uint8_t tail[14] = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                     0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};
    if (d == NULL || len < sizeof magic8) {
        return false;
    }
    const uint8_t *m = d + len - sizeof magic8;
    if (memcmp(m, magic8, sizeof magic8) == 0) {
        return true;
    }
    const unsigned align = (unsigned)m[0] | ((unsigned)m[1] << 8);
    return memcmp(m + 2, tail, sizeof tail) == 0 && (align == 8u || align == 16u || align == 32u);
}
