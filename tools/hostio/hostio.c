/* ward_hostio: files and loopback ports for the host tools (ward_hostio.h). */
#define _XOPEN_SOURCE 700
#include "ward_hostio.h"

#include "ward/util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

ward_err_t ward_host_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1u);
    ward_err_t err = buf != NULL ? WARD_OK : WARD_ERR_NO_SPACE;
    while (err == WARD_OK) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) {
            break; /* the end, or an error (ferror below) */
        }
        if (cap > max) {
            err = WARD_ERR_NO_SPACE; /* read past max: too long */
            break;
        }
        uint8_t *nb = realloc(buf, 2u * cap + 1u);
        if (nb == NULL) {
            err = WARD_ERR_NO_SPACE;
            break;
        }
        buf = nb;
        cap *= 2u;
    }
    if (err == WARD_OK && ferror(f) != 0) {
        err = WARD_ERR_IO;
    }
    if (err == WARD_OK && n > max) {
        err = WARD_ERR_NO_SPACE;
    }
    fclose(f);
    if (err != WARD_OK) {
        free(buf);
        return err;
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return WARD_OK;
}

typedef struct {
    size_t max;
    bool (*skip)(void *ctx, const char *name);
    ward_host_file_fn fn;
    void *ctx;
    unsigned scanned;
    char *unreadable;
    size_t cap;
    bool stop;
} scan_t;

static void unreadable(scan_t *s, const char *rel)
{
    if (s->cap > 0u && s->unreadable[0] == '\0') {
        (void)snprintf(s->unreadable, s->cap, "%s", rel);
    }
}

static ward_err_t scan_dir(scan_t *s, const char *dir, const char *rel, unsigned depth)
{
    DIR *dp = opendir(dir);
    if (dp == NULL) {
        return WARD_ERR_IO;
    }
    const struct dirent *e;
    while (!s->stop && (e = readdir(dp)) != NULL) {
        char path[PATH_MAX], sub[PATH_MAX];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            (rel[0] == '\0' && s->skip != NULL && s->skip(s->ctx, e->d_name))) {
            continue;
        }
        const int np = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        const int nr = snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] != '\0' ? "/" : "", e->d_name);
        if (np < 0 || (size_t)np >= sizeof path || nr < 0 || (size_t)nr >= sizeof sub ||
            lstat(path, &st) != 0) {
            unreadable(s, e->d_name);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth == 0u || scan_dir(s, path, sub, depth - 1u) != WARD_OK) {
                unreadable(s, sub);
            }
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            continue; /* links, devices, sockets: not the unit's bytes */
        }
        uint8_t *data = NULL;
        size_t len = 0;
        if (ward_host_read_file(path, s->max, &data, &len) != WARD_OK) {
            unreadable(s, sub);
            continue;
        }
        s->scanned++;
        s->stop = !s->fn(s->ctx, sub, data, len);
        ward_wipe(data, len);
        free(data);
    }
    (void)closedir(dp);
    return WARD_OK;
}

ward_err_t ward_host_scan_files(const char *dir, unsigned depth, size_t max,
                                bool (*skip)(void *ctx, const char *name), ward_host_file_fn fn,
                                void *ctx, unsigned *scanned, char *unreadable_out, size_t cap)
{
    scan_t s = {max, skip, fn, ctx, 0, unreadable_out, cap, false};
    if (cap > 0u) {
        unreadable_out[0] = '\0';
    }
    const ward_err_t err = scan_dir(&s, dir, "", depth);
    *scanned = s.scanned;
    return err;
}

static ward_err_t copy_file(const char *from, const char *to, mode_t mode, bool writable)
{
    uint8_t *data = NULL;
    size_t len = 0;
    const ward_err_t err = ward_host_read_file(from, 64u << 20, &data, &len);
    if (err != WARD_OK) {
        return err;
    }
    const int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t off = 0;
    while (fd >= 0 && off < len) {
        const ssize_t w = write(fd, data + off, len - off);
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
    ward_wipe(data, len);
    free(data);
    if (fd < 0) {
        return WARD_ERR_IO;
    }
    const bool ok = off == len && fchmod(fd, (mode & 0777u) | (writable ? 0200u : 0u)) == 0;
    return close(fd) == 0 && ok ? WARD_OK : WARD_ERR_IO;
}

ward_err_t ward_host_copy_tree(const char *from, const char *to, unsigned depth, bool writable)
{
    DIR *dp = opendir(from);
    if (dp == NULL) {
        return errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO;
    }
    if (mkdir(to, 0700) != 0 && errno != EEXIST) {
        (void)closedir(dp);
        return WARD_ERR_IO;
    }
    ward_err_t err = WARD_OK;
    const struct dirent *e;
    while (err == WARD_OK && (e = readdir(dp)) != NULL) {
        char src[PATH_MAX], dst[PATH_MAX];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        const int ns = snprintf(src, sizeof src, "%s/%s", from, e->d_name);
        const int nd = snprintf(dst, sizeof dst, "%s/%s", to, e->d_name);
        if (ns < 0 || (size_t)ns >= sizeof src || nd < 0 || (size_t)nd >= sizeof dst ||
            lstat(src, &st) != 0) {
            err = WARD_ERR_IO;
        } else if (S_ISREG(st.st_mode)) {
            err = copy_file(src, dst, st.st_mode, writable);
        } else if (S_ISDIR(st.st_mode) && depth > 0u) {
            err = ward_host_copy_tree(src, dst, depth - 1u, writable);
        }
    }
    (void)closedir(dp);
    return err;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void ward_host_remove_tree(const char *path)
{
    if (path != NULL && path[0] != '\0') {
        (void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
}

static int loopback_socket(struct sockaddr_in *a, uint16_t port)
{
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

uint16_t ward_host_free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    const int fd = loopback_socket(&a, 0);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        (void)close(fd);
    }
    return port;
}

bool ward_host_listening(uint16_t port)
{
    struct sockaddr_in a;
    const int fd = loopback_socket(&a, port);
    const bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) {
        (void)close(fd);
    }
    return ok;
}
