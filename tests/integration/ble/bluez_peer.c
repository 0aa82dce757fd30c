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
 *   connect AA:BB:..    LE-connect to a public address (as central), then
 *                       run the ATT script below and print "DONE"
 *   mute                stop answering ATT requests
 *   disconnect          drop the connection
 *   quit
 * Events on stdout, one per line:
 *   READY <bdaddr>  CONNECTED <handle>  ATT <hex of a PDU received>
 *   DONE  DISCONNECTED
 * As a peripheral it answers ATT itself: MTU 23, Read -> "bluez", anything
 * else Request Not Supported.
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
        send_step();
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
    if (g_central) {
        g_step = 0;
        send_step();
    }
}

static void on_ready(void)
{
    const uint8_t *a = btdev_get_bdaddr(g_dev);
    printf("READY %02X:%02X:%02X:%02X:%02X:%02X\n", a[5], a[4], a[3], a[2], a[1], a[0]);
}

/* btdev <-> bthost through a socket pair, as BlueZ's hciemu does. */
static void dev_send(const struct iovec *iov, int n, void *user)
{
    (void)user;
    if (writev(g_sv[0], iov, n) < 0) {
        perror("writev");
    }
}

static void host_send(const struct iovec *iov, int n, void *user)
{
    (void)user;
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

static bool parse_addr(const char *s, uint8_t out[6])
{
    unsigned b[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[5], &b[4], &b[3], &b[2], &b[1], &b[0]) != 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        out[i] = (uint8_t)b[i];
    }
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
        uint8_t a[6];
        if (strcmp(line, "adv") == 0) {
            const uint8_t ad[3] = {2, 0x01, 0x06};
            g_central = false;
            bthost_set_adv_data(g_host, ad, 3);
            bthost_set_adv_enable(g_host, 1);
        } else if (strncmp(line, "connect ", 8) == 0 && parse_addr(line + 8, a)) {
            g_central = true;
            bthost_hci_connect(g_host, a, BDADDR_LE_PUBLIC);
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
