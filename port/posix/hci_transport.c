/* ward posix: the H4 transport over a Unix socket or a tty/pty, and the
 * btsnoop capture writer. */
#define _DEFAULT_SOURCE /* B230400 and up */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ward/ble_posix.h"
#include "ward/util.h"

static ward_err_t fd_send(void *ctx, const uint8_t *buf, size_t len)
{
    const ward_posix_hci_t *t = ctx;
    while (len > 0) {
        ssize_t w = write(t->fd, buf, len);
        if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (w <= 0) {
            return WARD_ERR_IO;
        }
        buf += w;
        len -= (size_t)w;
    }
    return WARD_OK;
}

static ward_err_t fd_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t timeout_ms)
{
    const ward_posix_hci_t *t = ctx;
    *got = 0;
    struct pollfd p = {.fd = t->fd, .events = POLLIN};
    int r;
    do {
        r = poll(&p, 1, timeout_ms > (uint32_t)INT32_MAX ? -1 : (int)timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return WARD_ERR_IO;
    }
    if (r == 0) {
        return WARD_OK;
    }
    ssize_t n;
    do {
        n = read(t->fd, buf, cap);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) {
        return WARD_OK;
    }
    if (n <= 0) {
        return WARD_ERR_IO; /* closed (0) or broken */
    }
    *got = (size_t)n;
    return WARD_OK;
}

static void bind_port(ward_posix_hci_t *t)
{
    t->port.ctx = t;
    t->port.send = fd_send;
    t->port.recv = fd_recv;
}

ward_err_t ward_posix_hci_open_unix(ward_posix_hci_t *t, const char *path)
{
    if (t == NULL || path == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    t->fd = -1;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) {
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(a.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return WARD_ERR_IO;
    }
    if (connect(fd, (const struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return WARD_ERR_IO;
    }
    t->fd = fd;
    bind_port(t);
    return WARD_OK;
}

static int baud_flag(unsigned baud, speed_t *s)
{
    static const struct {
        unsigned b;
        speed_t s;
    } k[] = {{9600, B9600},     {19200, B19200},   {38400, B38400},    {57600, B57600},
             {115200, B115200}, {230400, B230400}, {460800, B460800}, {921600, B921600},
             {1000000, B1000000}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (k[i].b == baud) {
            *s = k[i].s;
            return 0;
        }
    }
    return -1;
}

ward_err_t ward_posix_hci_open_tty(ward_posix_hci_t *t, const char *path, unsigned baud)
{
    if (t == NULL || path == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    t->fd = -1;
    speed_t speed = 0;
    if (baud != 0 && baud_flag(baud, &speed) != 0) {
        return WARD_ERR_INVALID_ARG;
    }
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        return WARD_ERR_IO;
    }
    struct termios tio;
    if (tcgetattr(fd, &tio) != 0) {
        close(fd);
        return WARD_ERR_IO;
    }
    /* Raw: no line discipline, no echo, no translation, 8N1. */
    tio.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON |
                               IXOFF | IXANY);
    tio.c_oflag &= ~(tcflag_t)OPOST;
    tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB);
    tio.c_cflag |= CS8 | CLOCAL | CREAD;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (baud != 0 && (cfsetispeed(&tio, speed) != 0 || cfsetospeed(&tio, speed) != 0)) {
        close(fd);
        return WARD_ERR_IO;
    }
    if (tcsetattr(fd, TCSANOW, &tio) != 0) {
        close(fd);
        return WARD_ERR_IO;
    }
    t->fd = fd;
    bind_port(t);
    return WARD_OK;
}

void ward_posix_hci_close(ward_posix_hci_t *t)
{
    if (t != NULL && t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
}

/* ---- btsnoop ------------------------------------------------------------- */

/* Microseconds from 0000-01-01 to 1970-01-01, as btsnoop counts. */
#define BTSNOOP_EPOCH_DELTA 0x00dcddb30f2f8000ull

static void put_be64(uint8_t *p, uint64_t v)
{
    ward_store_be32(p, (uint32_t)(v >> 32));
    ward_store_be32(p + 4, (uint32_t)v);
}

ward_err_t ward_btsnoop_open(ward_btsnoop_t *s, const char *path)
{
    if (s == NULL || path == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    s->records = 0;
    s->f = fopen(path, "wb");
    if (s->f == NULL) {
        return WARD_ERR_IO;
    }
    uint8_t h[16] = {'b', 't', 's', 'n', 'o', 'o', 'p', 0};
    ward_store_be32(h + 8, 1);     /* version */
    ward_store_be32(h + 12, 1002); /* datalink: HCI UART (H4) */
    if (fwrite(h, 1, sizeof h, s->f) != sizeof h) {
        fclose(s->f);
        s->f = NULL;
        return WARD_ERR_IO;
    }
    return WARD_OK;
}

ward_err_t ward_btsnoop_write(ward_btsnoop_t *s, bool to_controller, const uint8_t *h4,
                              size_t len)
{
    if (s == NULL || s->f == NULL || h4 == NULL || len == 0 || len > UINT32_MAX) {
        return WARD_ERR_INVALID_ARG;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    const uint64_t us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    /* Flags: bit 0 received (controller to host), bit 1 command or event. */
    const uint32_t flags = (to_controller ? 0u : 1u) | ((h4[0] == 0x01 || h4[0] == 0x04) ? 2u : 0u);
    uint8_t r[24];
    ward_store_be32(r, (uint32_t)len);
    ward_store_be32(r + 4, (uint32_t)len);
    ward_store_be32(r + 8, flags);
    ward_store_be32(r + 12, 0); /* cumulative drops */
    put_be64(r + 16, us + BTSNOOP_EPOCH_DELTA);
    /* Flushed record by record: the capture of a process that is killed
     * (a simulated power cut) ends on a whole packet. */
    if (fwrite(r, 1, sizeof r, s->f) != sizeof r || fwrite(h4, 1, len, s->f) != len ||
        fflush(s->f) != 0) {
        return WARD_ERR_IO;
    }
    s->records++;
    return WARD_OK;
}

void ward_btsnoop_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    (void)ward_btsnoop_write(ctx, to_controller, h4, len);
}

ward_err_t ward_btsnoop_close(ward_btsnoop_t *s)
{
    if (s == NULL || s->f == NULL) {
        return WARD_OK;
    }
    const int r = fclose(s->f);
    s->f = NULL;
    return r == 0 ? WARD_OK : WARD_ERR_IO;
}
