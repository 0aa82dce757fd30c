/* ward simulator: ward_net_t over POSIX sockets. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ward/sim.h"

#define NET_DEFAULT_TIMEOUT_MS 10000u

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Milliseconds left until deadline, for poll(). */
static int left_ms(uint64_t deadline)
{
    const uint64_t now = mono_ms();
    if (now >= deadline) {
        return 0;
    }
    const uint64_t d = deadline - now;
    return d > 0x7FFFFFFFu ? 0x7FFFFFFF : (int)d;
}

/* Wait for events on fd until deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        const int r = poll(&p, 1, left_ms(deadline));
        if (r > 0) {
            return 1;
        }
        if (r == 0) {
            return 0;
        }
        if (errno != EINTR) {
            return -1;
        }
    }
}

/* The pool slot a handle names, or NULL for anything else (a stale or
 * foreign handle). */
static struct ward_sim_net_conn *conn_of(ward_sim_net_t *n, const void *conn)
{
    for (size_t i = 0; i < WARD_SIM_NET_CONNS; i++) {
        if (conn == (const void *)&n->conns[i]) {
            return n->conns[i].fd >= 0 ? &n->conns[i] : NULL;
        }
    }
    return NULL;
}

/* One address: non-blocking connect bounded by the deadline. Returns the fd,
 * or -1 with *timed_out set when time ran out. */
static int connect_one(const struct addrinfo *ai, uint64_t deadline, bool *timed_out)
{
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        return -1;
    }
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        close(fd);
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        const int w = wait_fd(fd, POLLOUT, deadline);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (w == 0) {
            *timed_out = true;
        }
        if (w != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
            close(fd);
            return -1;
        }
    }
    const int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static ward_err_t net_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms,
                              void **conn)
{
    ward_sim_net_t *n = ctx;
    if (conn == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *conn = NULL;
    if (host == NULL || port == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    n->stats.connects++;
    if (n->fail_connects > 0u) {
        n->fail_connects--;
        return WARD_ERR_NET;
    }
    struct ward_sim_net_conn *slot = NULL;
    for (size_t i = 0; i < WARD_SIM_NET_CONNS; i++) {
        if (n->conns[i].fd < 0) {
            slot = &n->conns[i];
            break;
        }
    }
    if (slot == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    const uint64_t deadline =
        mono_ms() + (timeout_ms != 0u ? timeout_ms : NET_DEFAULT_TIMEOUT_MS);
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, service, &hints, &res) != 0 || res == NULL) {
        return WARD_ERR_NET;
    }
    bool timed_out = false;
    int fd = -1;
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, deadline, &timed_out);
        if (left_ms(deadline) == 0) {
            break;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        if (timed_out) {
            n->stats.timeouts++;
            return WARD_ERR_NET_TIMEOUT;
        }
        return WARD_ERR_NET;
    }
    slot->fd = fd;
    slot->received = 0;
    n->stats.connected++;
    *conn = slot;
    return WARD_OK;
}

static ward_err_t net_send(void *ctx, void *conn, const uint8_t *buf, size_t len, size_t *sent)
{
    ward_sim_net_t *n = ctx;
    struct ward_sim_net_conn *c = conn_of(n, conn);
    if (sent != NULL) {
        *sent = 0;
    }
    if (c == NULL || sent == NULL || buf == NULL || len == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    if (n->send_max != 0u && len > n->send_max) {
        len = n->send_max;
    }
    const uint64_t deadline =
        mono_ms() + (n->send_timeout_ms != 0u ? n->send_timeout_ms : NET_DEFAULT_TIMEOUT_MS);
    for (;;) {
        const ssize_t r = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (r > 0) {
            *sent = (size_t)r;
            n->stats.bytes_sent += (uint64_t)r;
            return WARD_OK;
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const int w = wait_fd(c->fd, POLLOUT, deadline);
            if (w == 1) {
                continue;
            }
            if (w == 0) {
                n->stats.timeouts++;
                return WARD_ERR_NET_TIMEOUT;
            }
        }
        return WARD_ERR_NET;
    }
}

static ward_err_t net_recv(void *ctx, void *conn, uint8_t *buf, size_t cap, size_t *got,
                           uint32_t timeout_ms)
{
    ward_sim_net_t *n = ctx;
    struct ward_sim_net_conn *c = conn_of(n, conn);
    if (got != NULL) {
        *got = 0;
    }
    if (c == NULL || got == NULL || buf == NULL || cap == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    if (n->recv_max != 0u && cap > n->recv_max) {
        cap = n->recv_max;
    }
    if (n->cut_after != 0u) {
        if (c->received >= n->cut_after) {
            return WARD_ERR_NET;
        }
        if (cap > n->cut_after - c->received) {
            cap = (size_t)(n->cut_after - c->received);
        }
    }
    const uint64_t deadline =
        mono_ms() + (timeout_ms != 0u ? timeout_ms : NET_DEFAULT_TIMEOUT_MS);
    for (;;) {
        const ssize_t r = recv(c->fd, buf, cap, 0);
        if (r >= 0) {
            *got = (size_t)r;
            c->received += (uint64_t)r;
            n->stats.bytes_received += (uint64_t)r;
            return WARD_OK;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            const int w = wait_fd(c->fd, POLLIN, deadline);
            if (w == 1) {
                continue;
            }
            if (w == 0) {
                n->stats.timeouts++;
                return WARD_ERR_NET_TIMEOUT;
            }
        }
        return WARD_ERR_NET;
    }
}

static void net_close(void *ctx, void *conn)
{
    ward_sim_net_t *n = ctx;
    struct ward_sim_net_conn *c = conn_of(n, conn);
    if (c == NULL) {
        return;
    }
    close(c->fd);
    c->fd = -1;
    c->received = 0;
    n->stats.closes++;
}

void ward_sim_net_init(ward_sim_net_t *n)
{
    memset(n, 0, sizeof *n);
    for (size_t i = 0; i < WARD_SIM_NET_CONNS; i++) {
        n->conns[i].fd = -1;
    }
    n->port = (ward_net_t){
        .ctx = n, .connect = net_connect, .send = net_send, .recv = net_recv, .close = net_close};
}

void ward_sim_net_close_all(ward_sim_net_t *n)
{
    for (size_t i = 0; i < WARD_SIM_NET_CONNS; i++) {
        if (n->conns[i].fd >= 0) {
            net_close(n, &n->conns[i]);
        }
    }
}

uint32_t ward_sim_net_open_count(const ward_sim_net_t *n)
{
    uint32_t k = 0;
    for (size_t i = 0; i < WARD_SIM_NET_CONNS; i++) {
        k += n->conns[i].fd >= 0 ? 1u : 0u;
    }
    return k;
}
