/* ward_hostio: files and loopback ports for the host tools (ward_hostio.h). */
#define _POSIX_C_SOURCE 200809L
#include "ward_hostio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
