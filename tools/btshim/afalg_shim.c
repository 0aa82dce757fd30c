/*
 * LD_PRELOAD shim for BlueZ's controller emulator (btvirt) and our BlueZ
 * peer on a kernel without AF_ALG (docs/ble.md, "Real peers on a machine without Bluetooth").
 *
 * 1. AF_ALG: BlueZ's src/shared/crypto.c opens two kernel-crypto sockets,
 *    skcipher "ecb(aes)" and hash "cmac(aes)", and uses them as
 *      socket(AF_ALG) -> bind(name) -> setsockopt(ALG_SET_KEY) -> accept()
 *      -> sendmsg/send/writev(data) -> read(result) -> close()
 *    Here each such socket is a /dev/null descriptor the shim tracks; the
 *    operations are done by Mbed TLS's AES and CMAC (never our own AES).
 * 2. Socket paths: btvirt's servers are hard-coded to /tmp/bt-server-*.
 *    With WARD_BT_SOCKDIR set, bind/unlink/connect on those paths go to
 *    $WARD_BT_SOCKDIR/bt-server-* instead, so tests run side by side.
 * Everything else passes through to the C library untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <mbedtls/aes.h>
#include <mbedtls/cipher.h>
#include <mbedtls/cmac.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef SOL_ALG
#define SOL_ALG 279
#endif
#define ALG_SET_KEY 1
#define ALG_SET_OP 3
#define ALG_OP_ENCRYPT 1

/* The kernel's struct sockaddr_alg (the shim reads type and name only). */
struct shim_sockaddr_alg {
    /* cppcheck-suppress unusedStructMember */
    uint16_t salg_family;
    uint8_t salg_type[14];
    /* cppcheck-suppress unusedStructMember */
    uint32_t salg_feat;
    /* cppcheck-suppress unusedStructMember */
    uint32_t salg_mask;
    uint8_t salg_name[64];
};

enum { ALG_NONE = 0, ALG_ECB_AES = 1, ALG_CMAC_AES = 2 };
enum { KIND_FREE = 0, KIND_TFM = 1, KIND_OP = 2 };

#define MAX_FD 1024
#define BUF_MAX 4096

typedef struct {
    int kind;
    int alg;
    uint8_t key[32];
    size_t key_len;
    uint8_t in[BUF_MAX]; /* hash input gathered until read */
    size_t in_len;
    uint8_t out[BUF_MAX];
    size_t out_len;
} alg_fd_t;

static alg_fd_t *g_fd[MAX_FD];

static int (*real_socket)(int, int, int);
static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_recv)(int, void *, size_t, int);
static int (*real_close)(int);
static int (*real_unlink)(const char *);

#define RESOLVE(name)                                                  \
    do {                                                               \
        if (real_##name == NULL) {                                     \
            *(void **)(&real_##name) = dlsym(RTLD_NEXT, #name);        \
        }                                                              \
    } while (0)

static alg_fd_t *lookup(int fd)
{
    return fd >= 0 && fd < MAX_FD ? g_fd[fd] : NULL;
}

static int new_fd(int kind, const alg_fd_t *from)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    if (fd >= MAX_FD) {
        RESOLVE(close);
        real_close(fd);
        errno = EMFILE;
        return -1;
    }
    alg_fd_t *a = calloc(1, sizeof *a);
    if (a == NULL) {
        RESOLVE(close);
        real_close(fd);
        errno = ENOMEM;
        return -1;
    }
    if (from != NULL) {
        a->alg = from->alg;
        memcpy(a->key, from->key, sizeof a->key);
        a->key_len = from->key_len;
    }
    a->kind = kind;
    g_fd[fd] = a;
    return fd;
}

/* Remap /tmp/bt-server-* into $WARD_BT_SOCKDIR; returns path or buf. */
static const char *remap(const char *path, char *buf, size_t cap)
{
    static const char prefix[] = "/tmp/bt-server-";
    const char *dir = getenv("WARD_BT_SOCKDIR");
    if (dir == NULL || path == NULL || strncmp(path, prefix, sizeof prefix - 1) != 0) {
        return path;
    }
    int n = snprintf(buf, cap, "%s/%s", dir, path + 5);
    return n > 0 && (size_t)n < cap ? buf : path;
}

static socklen_t remap_un(const struct sockaddr *addr, socklen_t len, struct sockaddr_un *out)
{
    const struct sockaddr_un *u = (const struct sockaddr_un *)addr;
    const size_t off = offsetof(struct sockaddr_un, sun_path);
    char path[sizeof u->sun_path + 1];
    char buf[sizeof u->sun_path];
    size_t plen = len > off ? len - off : 0;
    if (plen > sizeof u->sun_path) {
        plen = sizeof u->sun_path;
    }
    memset(path, 0, sizeof path);
    memcpy(path, u->sun_path, plen);
    const char *p = remap(path, buf, sizeof buf);
    if (p == path) {
        return 0;
    }
    memset(out, 0, sizeof *out);
    out->sun_family = AF_UNIX;
    memcpy(out->sun_path, p, strlen(p));
    return (socklen_t)sizeof *out;
}

/* btvirt prints the pty path with printf: line-buffer stdout, so a test
 * reading its log sees it at once. Under a test (WARD_BT_SOCKDIR set) the
 * process also dies with the harness that started it, even a killed one. */
__attribute__((constructor)) static void shim_init(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (getenv("WARD_BT_SOCKDIR") != NULL) {
        (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
    }
}

int socket(int domain, int type, int protocol)
{
    RESOLVE(socket);
    if (domain == AF_ALG) {
        return new_fd(KIND_TFM, NULL);
    }
    return real_socket(domain, type, protocol);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    RESOLVE(bind);
    alg_fd_t *a = lookup(fd);
    if (a != NULL && a->kind == KIND_TFM) {
        const struct shim_sockaddr_alg *s = (const struct shim_sockaddr_alg *)addr;
        if (strcmp((const char *)s->salg_type, "skcipher") == 0 &&
            strcmp((const char *)s->salg_name, "ecb(aes)") == 0) {
            a->alg = ALG_ECB_AES;
            return 0;
        }
        if (strcmp((const char *)s->salg_type, "hash") == 0 &&
            strcmp((const char *)s->salg_name, "cmac(aes)") == 0) {
            a->alg = ALG_CMAC_AES;
            return 0;
        }
        errno = ENOENT;
        return -1;
    }
    if (addr != NULL && addr->sa_family == AF_UNIX) {
        struct sockaddr_un u;
        socklen_t n = remap_un(addr, len, &u);
        if (n > 0) {
            return real_bind(fd, (const struct sockaddr *)&u, n);
        }
    }
    return real_bind(fd, addr, len);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    RESOLVE(connect);
    if (addr != NULL && addr->sa_family == AF_UNIX) {
        struct sockaddr_un u;
        socklen_t n = remap_un(addr, len, &u);
        if (n > 0) {
            return real_connect(fd, (const struct sockaddr *)&u, n);
        }
    }
    return real_connect(fd, addr, len);
}

int unlink(const char *path)
{
    RESOLVE(unlink);
    char buf[108];
    return real_unlink(remap(path, buf, sizeof buf));
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    RESOLVE(setsockopt);
    alg_fd_t *a = lookup(fd);
    if (a != NULL) {
        if (level == SOL_ALG && name == ALG_SET_KEY && (len == 16 || len == 24 || len == 32)) {
            memcpy(a->key, val, len);
            a->key_len = len;
            return 0;
        }
        errno = EINVAL;
        return -1;
    }
    return real_setsockopt(fd, level, name, val, len);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    RESOLVE(accept);
    alg_fd_t *a = lookup(fd);
    if (a != NULL) {
        if (a->kind != KIND_TFM || a->alg == ALG_NONE || a->key_len == 0) {
            errno = EINVAL;
            return -1;
        }
        return new_fd(KIND_OP, a);
    }
    return real_accept(fd, addr, len);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    RESOLVE(accept4);
    if (lookup(fd) != NULL) {
        return accept(fd, addr, len);
    }
    return real_accept4(fd, addr, len, flags);
}

/* Data for an operation descriptor: gathered, then (ECB) encrypted. */
static bool op_append(alg_fd_t *a, const void *p, size_t len)
{
    if (a->in_len + len > sizeof a->in) {
        errno = EMSGSIZE;
        return false;
    }
    memcpy(a->in + a->in_len, p, len);
    a->in_len += len;
    return true;
}

static ssize_t op_finish(alg_fd_t *a, size_t total)
{
    if (a->alg == ALG_ECB_AES) {
        /* Encrypt what arrived, block by block. */
        if (a->in_len % 16 != 0) {
            errno = EINVAL;
            return -1;
        }
        mbedtls_aes_context ctx;
        mbedtls_aes_init(&ctx);
        int r = mbedtls_aes_setkey_enc(&ctx, a->key, (unsigned)(a->key_len * 8));
        for (size_t off = 0; r == 0 && off < a->in_len; off += 16) {
            r = mbedtls_aes_crypt_ecb(&ctx, MBEDTLS_AES_ENCRYPT, a->in + off, a->out + off);
        }
        mbedtls_aes_free(&ctx);
        if (r != 0) {
            errno = EIO;
            return -1;
        }
        a->out_len = a->in_len;
        a->in_len = 0;
    }
    return (ssize_t)total;
}

static ssize_t op_input(alg_fd_t *a, const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        total += iov[i].iov_len;
    }
    if (a->in_len + total > sizeof a->in) {
        errno = EMSGSIZE;
        return -1;
    }
    for (int i = 0; i < n; i++) {
        (void)op_append(a, iov[i].iov_base, iov[i].iov_len);
    }
    return op_finish(a, total);
}

static ssize_t op_input1(alg_fd_t *a, const void *buf, size_t len)
{
    return op_append(a, buf, len) ? op_finish(a, len) : -1;
}

static ssize_t op_output(alg_fd_t *a, void *buf, size_t len)
{
    if (a->alg == ALG_CMAC_AES) {
        const mbedtls_cipher_info_t *ci = mbedtls_cipher_info_from_type(
            a->key_len == 16 ? MBEDTLS_CIPHER_AES_128_ECB
                             : a->key_len == 24 ? MBEDTLS_CIPHER_AES_192_ECB
                                                : MBEDTLS_CIPHER_AES_256_ECB);
        if (ci == NULL ||
            mbedtls_cipher_cmac(ci, a->key, a->key_len * 8, a->in, a->in_len, a->out) != 0) {
            errno = EIO;
            return -1;
        }
        a->out_len = 16;
        a->in_len = 0;
    }
    size_t k = len < a->out_len ? len : a->out_len;
    memcpy(buf, a->out, k);
    a->out_len = 0;
    return (ssize_t)k;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    RESOLVE(sendmsg);
    alg_fd_t *a = lookup(fd);
    if (a != NULL && a->kind == KIND_OP) {
        /* The only operation BlueZ asks for is encryption. */
        struct msghdr m = *msg;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level == SOL_ALG && c->cmsg_type == ALG_SET_OP) {
                uint32_t op;
                memcpy(&op, CMSG_DATA(c), sizeof op);
                if (op != ALG_OP_ENCRYPT) {
                    errno = EINVAL;
                    return -1;
                }
            }
        }
        return op_input(a, msg->msg_iov, (int)msg->msg_iovlen);
    }
    return real_sendmsg(fd, msg, flags);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    RESOLVE(send);
    alg_fd_t *a = lookup(fd);
    if (a != NULL && a->kind == KIND_OP) {
        return op_input1(a, buf, len);
    }
    return real_send(fd, buf, len, flags);
}

ssize_t write(int fd, const void *buf, size_t len)
{
    RESOLVE(write);
    alg_fd_t *a = lookup(fd);
    if (a != NULL && a->kind == KIND_OP) {
        return op_input1(a, buf, len);
    }
    return real_write(fd, buf, len);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    RESOLVE(writev);
    alg_fd_t *a = lookup(fd);
    if (a != NULL && a->kind == KIND_OP) {
        return op_input(a, iov, n);
    }
    return real_writev(fd, iov, n);
}

ssize_t read(int fd, void *buf, size_t len)
{
    RESOLVE(read);
    alg_fd_t *a = lookup(fd);
    if (a != NULL && a->kind == KIND_OP) {
        return op_output(a, buf, len);
    }
    return real_read(fd, buf, len);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    RESOLVE(recv);
    alg_fd_t *a = lookup(fd);
    if (a != NULL && a->kind == KIND_OP) {
        return op_output(a, buf, len);
    }
    return real_recv(fd, buf, len, flags);
}

int close(int fd)
{
    RESOLVE(close);
    alg_fd_t *a = lookup(fd);
    if (a != NULL) {
        memset(a, 0, sizeof *a); /* keys */
        free(a);
        g_fd[fd] = NULL;
    }
    return real_close(fd);
}
