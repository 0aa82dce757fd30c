/*
 * A BlueZ peer for ward's BLE tests: BlueZ's own host emulator (bthost, with
 * its SMP, emulator/smp.c) on one emulated controller (btdev), and an H4
 * Unix-socket server (emulator/server.c) that gives each client its own
 * btdev in the same process, so the two see each other over the air.
 *
 * Built at test time from Debian's bluez-source (build_bluez_peer.sh); no
 * BlueZ code is kept in ward. Runs under the AF_ALG shim (afalg_shim.so).
 *
 *   bluez_peer SOCKET
 *
 * Commands, one per line on stdin:
 *   adv                 advertise (connectable) with BlueZ's host
 *   connect AA:BB:.. [random]
 *                       LE-connect to an address (public unless "random",
 *                       as central), then run the ATT script below and
 *                       print "DONE"
 *   link AA:BB:.. [random]
 *                       LE-connect, nothing else
 *   io N  auth N  sc 0|1
 *                       BlueZ's SMP: IO capability, AuthReq bits, LE Secure
 *                       Connections (bthost_set_io_capability, _auth_req,
 *                       _sc_support)
 *   pair                pair as initiator on the connection (smp_pair)
 *   mute                stop answering ATT requests
 *   disconnect          drop the connection
 *   quit
 * Events on stdout, one per line:
 *   READY <bdaddr>  CONNECTED <handle>  ATT <hex of a PDU received>
 *   DONE  DISCONNECTED
 *   SMP-RX <hex>  SMP-TX <hex>   every SMP PDU BlueZ's host got / sent
 *   LTK <hex>       the key BlueZ's host gave its controller (LE Start
 *                   Encryption, or LTK Request Reply), LSB first
 *   ENCRYPT <status> <on>        Encryption Change from its controller
 * As a peripheral it answers ATT itself: MTU 23, Read -> "bluez", anything
 * else Request Not Supported.
 * Run it as a peripheral before running it as a central: BlueZ 5.66's
 * bthost sets conn_init when it initiates a connection and never clears
 * it, so it takes every later connection for one it initiated (its SMP
 * then swaps the initiator's and responder's addresses and waits for a
 * public key it should send).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/bluetooth.h"
#include "src/shared/mainloop.h"
#include "emulator/btdev.h"
#include "emulator/bthost.h"
#include "emulator/server.h"

static struct btdev *g_dev;
static struct bthost *g_host;
static int g_sv[2];
static uint16_t g_handle;
static bool g_central;
static bool g_script; /* run the ATT script on connection (connect, not link) */
static unsigned g_step;
static bool g_mute;

/* The central's ATT script: each answer sends the next request. */
static const struct {
    uint8_t pdu[8];
    uint8_t len;
} k_script[] = {
    {{0x02, 0xF7, 0x00}, 3},                               /* Exchange MTU 247 */
    {{0x10, 0x01, 0x00, 0xFF, 0xFF, 0x00, 0x28}, 7},       /* primary services */
    {{0x0A, 0x03, 0x00}, 3},                               /* Read handle 3 */
    {{0x0A, 0x06, 0x00}, 3},                               /* Read handle 6 */
    {{0x12, 0x09, 0x00, 0x01}, 4},                         /* Write handle 9 */
};

static void print_hex(const char *tag, const uint8_t *p, uint16_t len)
{
    printf("%s ", tag);
    for (uint16_t i = 0; i < len; i++) {
        printf("%02x", p[i]);
    }
    printf("\n");
}

static void send_step(void)
{
    if (g_step < sizeof k_script / sizeof k_script[0]) {
        bthost_send_cid(g_host, g_handle, 0x0004, k_script[g_step].pdu, k_script[g_step].len);
        g_step++;
    } else {
        printf("DONE\n");
    }
}

static void att_hook(const void *data, uint16_t len, void *user)
{
    const uint8_t *p = data;
    (void)user;
    print_hex("ATT", p, len);
    if (len == 0) {
        return;
    }
    if (g_central) {
        if (g_script) {
            send_step();
        }
        return;
    }
    if (g_mute) {
        return;
    }
    uint8_t rsp[8];
    uint16_t n;
    if (p[0] == 0x02) {
        rsp[0] = 0x03;
        rsp[1] = 23;
        rsp[2] = 0;
        n = 3;
    } else if (p[0] == 0x0A) {
        memcpy(rsp, "\x0b" "bluez", 6);
        n = 6;
    } else {
        rsp[0] = 0x01;
        rsp[1] = p[0];
        rsp[2] = 0;
        rsp[3] = 0;
        rsp[4] = 0x06;
        n = 5;
    }
    bthost_send_cid(g_host, g_handle, 0x0004, rsp, n);
}

static void on_connect(uint16_t handle, void *user)
{
    (void)user;
    g_handle = handle;
    printf("CONNECTED %u\n", handle);
    bthost_add_cid_hook(g_host, handle, 0x0004, att_hook, NULL);
    if (g_central && g_script) {
        g_step = 0;
        send_step();
    }
}

static void on_ready(void)
{
    const uint8_t *a = btdev_get_bdaddr(g_dev);
    printf("READY %02X:%02X:%02X:%02X:%02X:%02X\n", a[5], a[4], a[3], a[2], a[1], a[0]);
}

/* What crosses between BlueZ's host and its controller, for the test to
 * see: SMP PDUs, the LTK handed to the controller, Encryption Change. */
static void sniff(const struct iovec *iov, int n, bool to_controller)
{
    uint8_t b[512];
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        if (len + iov[i].iov_len > sizeof b) {
            return;
        }
        memcpy(b + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    if (len >= 4 && b[0] == 0x01) { /* command: opcode, length, parameters */
        const uint16_t op = (uint16_t)(b[1] | b[2] << 8);
        if (op == 0x2019 && len >= 4 + 28) { /* LE Start Encryption: handle rand ediv ltk */
            print_hex("LTK", b + 4 + 12, 16);
        } else if (op == 0x201A && len >= 4 + 18) { /* LTK Request Reply: handle ltk */
            print_hex("LTK", b + 4 + 2, 16);
        }
    } else if (len >= 3 && b[0] == 0x04 && b[1] == 0x08 && len >= 7) { /* Encryption Change */
        printf("ENCRYPT %02x %u\n", b[3], b[6]);
    } else if (len >= 9 && b[0] == 0x02) { /* ACL: a start fragment on CID 6 */
        const uint16_t flags = (uint16_t)(b[2] >> 4);
        const uint16_t l2len = (uint16_t)(b[5] | b[6] << 8);
        const uint16_t cid = (uint16_t)(b[7] | b[8] << 8);
        if ((flags & 0x3) != 0x1 && cid == 0x0006 && 9u + l2len <= len) {
            print_hex(to_controller ? "SMP-TX" : "SMP-RX", b + 9, l2len);
        }
    }
}

/* btdev <-> bthost through a socket pair, as BlueZ's hciemu does. */
static void dev_send(const struct iovec *iov, int n, void *user)
{
    (void)user;
    sniff(iov, n, false);
    if (writev(g_sv[0], iov, n) < 0) {
        perror("writev");
    }
}

static void host_send(const struct iovec *iov, int n, void *user)
{
    (void)user;
    sniff(iov, n, true);
    if (writev(g_sv[1], iov, n) < 0) {
        perror("writev");
    }
}

static void dev_read(int fd, uint32_t events, void *user)
{
    uint8_t buf[4096];
    (void)user;
    if (events & (EPOLLERR | EPOLLHUP)) {
        mainloop_quit();
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
        btdev_receive_h4(g_dev, buf, (uint16_t)n);
    }
}

static void host_read(int fd, uint32_t events, void *user)
{
    uint8_t buf[4096];
    (void)user;
    if (events & (EPOLLERR | EPOLLHUP)) {
        mainloop_quit();
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
        bthost_receive_h4(g_host, buf, (uint16_t)n);
    }
}

/* "AA:BB:CC:DD:EE:FF [random]" -> address (LSB first) and BlueZ's type. */
static bool parse_addr(const char *s, uint8_t out[6], uint8_t *type)
{
    unsigned b[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[5], &b[4], &b[3], &b[2], &b[1], &b[0]) != 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        out[i] = (uint8_t)b[i];
    }
    *type = strstr(s, "random") != NULL ? BDADDR_LE_RANDOM : BDADDR_LE_PUBLIC;
    return true;
}

static void stdin_read(int fd, uint32_t events, void *user)
{
    static char line[256];
    static size_t have;
    (void)user;
    ssize_t n = read(fd, line + have, sizeof line - 1 - have);
    if (n <= 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
        mainloop_quit();
        return;
    }
    have += (size_t)n;
    line[have] = 0;
    char *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
        *nl = 0;
        uint8_t a[6], t = 0;
        unsigned v = 0;
        if (strcmp(line, "adv") == 0) {
            const uint8_t ad[3] = {2, 0x01, 0x06};
            g_central = false;
            bthost_set_adv_data(g_host, ad, 3);
            bthost_set_adv_enable(g_host, 1);
        } else if (strncmp(line, "connect ", 8) == 0 && parse_addr(line + 8, a, &t)) {
            g_central = true;
            g_script = true;
            bthost_hci_connect(g_host, a, t);
        } else if (strncmp(line, "link ", 5) == 0 && parse_addr(line + 5, a, &t)) {
            g_central = true;
            g_script = false;
            bthost_hci_connect(g_host, a, t);
        } else if (sscanf(line, "io %u", &v) == 1) {
            bthost_set_io_capability(g_host, (uint8_t)v);
        } else if (sscanf(line, "auth %u", &v) == 1) {
            bthost_set_auth_req(g_host, (uint8_t)v);
        } else if (sscanf(line, "sc %u", &v) == 1) {
            bthost_set_sc_support(g_host, v != 0);
        } else if (strcmp(line, "pair") == 0) {
            bthost_request_auth(g_host, g_handle);
        } else if (strcmp(line, "mute") == 0) {
            g_mute = true;
        } else if (strcmp(line, "disconnect") == 0) {
            bthost_hci_disconnect(g_host, g_handle, 0x13);
            printf("DISCONNECTED\n");
        } else if (strcmp(line, "quit") == 0) {
            mainloop_quit();
        }
        size_t used = (size_t)(nl - line) + 1;
        memmove(line, nl + 1, have - used + 1);
        have -= used;
    }
}

static void debug_cb(const char *str, void *user)
{
    printf("%s%s\n", (const char *)user, str);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    mainloop_init();
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, g_sv) < 0) {
        perror("socketpair");
        return 1;
    }
    g_dev = btdev_create(BTDEV_TYPE_BREDRLE, 0x23);
    g_host = bthost_create();
    if (g_dev == NULL || g_host == NULL) {
        fprintf(stderr, "cannot create the emulated controller (AF_ALG shim missing?)\n");
        return 1;
    }
    btdev_set_send_handler(g_dev, dev_send, NULL);
    bthost_set_send_handler(g_host, host_send, NULL);
    if (getenv("WARD_BLUEZ_DEBUG") != NULL) { /* BlueZ's own debug lines */
        bthost_set_debug(g_host, debug_cb, "bthost: ", NULL);
    }
    mainloop_add_fd(g_sv[0], EPOLLIN, dev_read, NULL, NULL);
    mainloop_add_fd(g_sv[1], EPOLLIN, host_read, NULL, NULL);
    mainloop_add_fd(0, EPOLLIN, stdin_read, NULL, NULL);
    bthost_set_connect_cb(g_host, on_connect, NULL);
    bthost_notify_ready(g_host, on_ready);
    /* SMP (CID 6) stays with BlueZ's smp.c inside bthost: no hook on it. */
    if (server_open_unix(SERVER_TYPE_BREDRLE, argv[1]) == NULL) {
        return 1;
    }
    bthost_start(g_host);
    return mainloop_run() == 0 ? 0 : 1;
}
