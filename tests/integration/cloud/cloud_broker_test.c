/*
 * The cloud identity end to end against a real broker: Debian's Mosquitto
 * 2.0 started here with the configuration `ward factory init` wrote (TLS
 * 1.3 only on a free port standing for 8883, require_certificate,
 * use_identity_as_username, use_username_as_clientid, the factory's CRL,
 * "pattern readwrite devices/%u/#" + the fleet service's rights), an
 * independent client (Debian's python3-paho-mqtt, observer.py), the ward
 * CLI and the device client (src/cloud) in this process over units `ward
 * factory provision` made, whose identity key lives in their HSM
 * (fleet-setup.sh). Everything started here is killed on every exit
 * (atexit, signals, PR_SET_PDEATHSIG).
 *
 *   cloud_broker_test SRC_DIR WARD [N]   N: messages of the broker-kill stream (200)
 *
 * Scenarios (WARD_CLOUD_ONLY=<name> runs one, after the setup):
 *   listeners  the configuration has one listener, TLS with client
 *              certificates; the broker listens on that port and no other;
 *              a connection to the port standing for 1883 is refused
 *   isolation  devices publish with mutual TLS: an independent client
 *              (the fleet service's identity) gets their events live and
 *              none of their telemetry; an independent client with a
 *              device's identity gets that device's retained telemetry and
 *              nothing of the other's (also not what the other device
 *              publishes live meanwhile); another device's subscription to
 *              them and its publish into them deliver nothing
 *   refused    no certificate, an expired one, one from another CA, a
 *              revoked one (accepted just before `ward fleet revoke`)
 *   kill       the broker SIGKILLed and restarted in the middle of a QoS 1
 *              stream: the device reconnects with back-off and a persistent
 *              subscriber gets every message at least once
 *   tlsevents  TLS failures (a broker with another CA's certificate) are
 *              published as security events after the next connection;
 *              and a TLS read after a receive timeout reports a closed
 *              connection as closed (src/net/tls.c)
 *   rotation   `ward fleet serve` + `ward cloud rotate`: a new key in the
 *              HSM, CSR, certificate, switch; the old certificate works
 *              until `ward fleet revoke --serial`, then the broker refuses
 *              it while the new one connects; the service refuses a device
 *              whose certificates were revoked
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ward/cloud.h"
#include "ward/crypto.h"
#include "ward/sim.h"
#include "ward/sim_cloud.h"
#include "ward/util.h"

#include <mbedtls/x509_crt.h>

/* ---- processes and cleanup ------------------------------------------------------------ */

static char g_dir[64], g_src[512], g_ward[512];
static char g_conf[160], g_factory[128];
static uint16_t g_port, g_plain, g_rogue;
static pid_t g_broker = -1, g_rogue_pid = -1, g_fleet = -1;
static pid_t g_obs[6] = {-1, -1, -1, -1, -1, -1};
static unsigned g_n = 200;

static void stop(pid_t *pid, int sig)
{
    if (*pid > 0) {
        kill(*pid, sig);
        waitpid(*pid, NULL, 0);
        *pid = -1;
    }
}

static void dump_file(const char *name, int last)
{
    char path[256], line[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    fprintf(stderr, "---- %s (last lines)\n", name);
    long n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        n++;
    }
    rewind(f);
    for (long i = 0; fgets(line, sizeof line, f) != NULL; i++) {
        if (i >= n - last) {
            fputs(line, stderr);
        }
    }
    fclose(f);
}

static void cleanup(void)
{
    for (size_t i = 0; i < sizeof g_obs / sizeof g_obs[0]; i++) {
        stop(&g_obs[i], SIGKILL);
    }
    stop(&g_fleet, SIGKILL);
    stop(&g_rogue_pid, SIGKILL);
    stop(&g_broker, SIGKILL);
    if (g_dir[0] != '\0' && getenv("WARD_CLOUD_KEEP") == NULL) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", g_dir);
        }
        g_dir[0] = '\0';
    }
}

static void on_signal(int sig)
{
    cleanup();
    _exit(128 + sig);
}

static void fail_dump(void)
{
    dump_file("broker.log", 40);
    dump_file("fleet.log", 20);
}

#define CHECK(c)                                                                      \
    do {                                                                              \
        if (!(c)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);     \
            fail_dump();                                                              \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

#define CHECK_OK(e)                                                                   \
    do {                                                                              \
        const ward_err_t e_ = (e);                                                    \
        if (e_ != WARD_OK) {                                                          \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #e, ward_err_name(e_)); \
            fail_dump();                                                              \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Run argv with stdout+stderr appended to g_dir/out; it dies with us. */
static pid_t spawn(const char *const *argv, const char *out)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, out);
    const pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        const int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
            _exit(127);
        }
        char *v[32];
        size_t i = 0;
        for (; i < 31 && argv[i] != NULL; i++) {
            v[i] = strdup(argv[i]);
        }
        v[i] = NULL;
        execvp(v[0], v);
        _exit(127);
    }
    return pid;
}

/* Run a command line to completion: its exit status; its output in out. */
static int sh(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    size_t n = 0;
    char tmp[512];
    while (fgets(tmp, sizeof tmp, p) != NULL) {
        const size_t l = strlen(tmp);
        if (out != NULL && n + l < cap) {
            memcpy(out + n, tmp, l);
            n += l;
        }
    }
    if (out != NULL && cap > 0u) {
        out[n < cap ? n : cap - 1u] = '\0';
    }
    const int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static uint16_t free_port(void)
{
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    close(s);
    return ntohs(a.sin_port);
}

static bool tcp_open(uint16_t port)
{
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    const bool ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    if (s >= 0) {
        close(s);
    }
    return ok;
}

static bool file_has(const char *name, const char *needle)
{
    char path[256], line[2048];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f != NULL && !found && fgets(line, sizeof line, f) != NULL) {
        found = strstr(line, needle) != NULL;
    }
    if (f != NULL) {
        fclose(f);
    }
    return found;
}

static bool wait_file_has(const char *name, const char *needle, uint32_t ms)
{
    const uint64_t end = mono_ms() + ms;
    while (!file_has(name, needle)) {
        if (mono_ms() >= end) {
            return false;
        }
        sleep_ms(50);
    }
    return true;
}

/* ---- the broker ----------------------------------------------------------------------------- */

static void broker_start(void)
{
    const char *const argv[] = {"mosquitto", "-c", g_conf, NULL};
    g_broker = spawn(argv, "broker.log");
    for (int i = 0; i < 100; i++) {
        if (tcp_open(g_port)) {
            return;
        }
        sleep_ms(50);
    }
    CHECK(!"mosquitto did not start listening");
}

/* The factory's configuration as it is; WARD_CLOUD_DEBUG logs every packet. */
static void conf_debug(void)
{
    if (getenv("WARD_CLOUD_DEBUG") != NULL) {
        FILE *out = fopen(g_conf, "a");
        CHECK(out != NULL);
        fprintf(out, "log_type all\n");
        fclose(out);
    }
}

/* ---- a device: src/cloud in this process over a simulated device -------------------------- */

typedef struct {
    ward_sim_device_t dev;
    ward_sim_certs_t files;
    ward_cloud_certs_t certs;
    ward_sim_net_t net;
    ward_cloud_config_t cfg;
    ward_cloud_t c;
    uint8_t tx[4096], rx[4096], store[32768];
    uint8_t ca[4096], issuer[2048];
    size_t ca_len, issuer_len;
    bool open;
} device_t;

static int64_t wall_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static void dev_open(device_t *d, const char *name, uint16_t port)
{
    char dir[256], ca[300];
    memset(d, 0, sizeof *d);
    snprintf(dir, sizeof dir, "%s/devices/%s", g_dir, name);
    CHECK_OK(ward_sim_device_open(&d->dev, dir));
    /* What `ward factory provision` wrote: cert.pem, and ca.pem to pin. */
    CHECK_OK(ward_sim_certs(&d->certs, &d->files, dir));
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    FILE *f = fopen(ca, "rb");
    CHECK(f != NULL);
    d->ca_len = fread(d->ca, 1, sizeof d->ca - 1u, f);
    fclose(f);
    d->ca[d->ca_len++] = 0; /* PEM with its NUL, as ward_tls takes it */
    /* The factory CA as DER, for the rotation check. */
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    CHECK(mbedtls_x509_crt_parse(&crt, d->ca, d->ca_len) == 0 && crt.raw.len <= sizeof d->issuer);
    memcpy(d->issuer, crt.raw.p, crt.raw.len);
    d->issuer_len = crt.raw.len;
    mbedtls_x509_crt_free(&crt);
    ward_sim_net_init(&d->net);
    d->cfg = (ward_cloud_config_t){
        .net = &d->net.port, .hsm = &d->dev.hsm.port, .rng = &d->dev.rng.port,
        .clock = &d->dev.clock.port, .certs = &d->certs, .host = "localhost", .port = port,
        .ca = d->ca, .ca_len = d->ca_len, .issuer_ca = d->issuer, .issuer_ca_len = d->issuer_len,
        .now = wall_now, .timeout_ms = 3000,
        .backoff_base_ms = 100, .backoff_cap_ms = 1600, .rotate_wait_ms = 4000};
    CHECK_OK(ward_cloud_init(&d->c, &d->cfg, d->tx, sizeof d->tx, d->rx, sizeof d->rx, d->store,
                             sizeof d->store));
    d->open = true;
}

static void dev_close(device_t *d)
{
    if (d->open) {
        (void)ward_cloud_disconnect(&d->c);
        ward_cloud_close(&d->c);
        ward_sim_net_close_all(&d->net);
        ward_sim_device_close(&d->dev);
        d->open = false;
    }
}

/* A broker restart a scenario scheduled, done between polls. */
static bool g_restart_pending;
static uint64_t g_restart_at;

typedef bool (*cond_fn)(device_t *d, const ward_cloud_status_t *st, unsigned arg);

/* Poll until cond (WARD_OK) or the budget runs out (WARD_ERR_NET_TIMEOUT).
 * Failed attempts are the client's business: it retries with back-off. */
static ward_err_t dev_run(device_t *d, uint32_t budget_ms, cond_fn cond, unsigned arg,
                          unsigned *errors)
{
    const uint64_t end = mono_ms() + budget_ms;
    ward_cloud_status_t st;
    for (;;) {
        if (g_restart_pending && mono_ms() >= g_restart_at) {
            broker_start();
            g_restart_pending = false;
        }
        const ward_err_t err = ward_cloud_poll(&d->c, 20);
        if (err != WARD_OK && errors != NULL) {
            (*errors)++;
        }
        ward_cloud_status(&d->c, &st);
        if (cond(d, &st, arg)) {
            return WARD_OK;
        }
        if (mono_ms() >= end) {
            return WARD_ERR_NET_TIMEOUT;
        }
        if (st.state == WARD_CLOUD_OFFLINE && st.next_attempt_ms > 0u) {
            sleep_ms(st.next_attempt_ms < 50u ? st.next_attempt_ms : 50u);
        }
    }
}

static bool is_idle(device_t *d, const ward_cloud_status_t *st, unsigned arg)
{
    (void)d;
    (void)arg;
    return st->state == WARD_CLOUD_ONLINE && st->inflight == 0u &&
           st->events_sent + st->events_dropped >= st->events_queued;
}

static bool inflight_below(device_t *d, const ward_cloud_status_t *st, unsigned arg)
{
    (void)d;
    return st->inflight < arg;
}

/* ---- the independent client (observer.py) ---------------------------------------------------- */

/* A client identity's files: "fleet" is the fleet service's (the factory's
 * fleet/), others are fleet-setup.sh's clients/. */
static void identity_files(const char *who, char *crt, size_t cc, char *key, size_t kc)
{
    if (strcmp(who, "fleet") == 0) {
        snprintf(crt, cc, "%s/fleet/fleet.pem", g_factory);
        snprintf(key, kc, "%s/fleet/fleet-key.pem", g_factory);
    } else {
        snprintf(crt, cc, "%s/clients/%s.pem", g_dir, who);
        snprintf(key, kc, "%s/clients/%s.key", g_dir, who);
    }
}

/* observer.py observe: subscribed (READY in out) when it returns. With the
 * factory's use_username_as_clientid the broker makes the client id the
 * certificate's CN, whatever id says. */
static pid_t observe(const char *cert, const char *id, bool persistent, const char *out,
                     const char *const *filters)
{
    char port[8], ca[256], crt[256], key[256], outp[256];
    snprintf(port, sizeof port, "%u", g_port);
    snprintf(ca, sizeof ca, "%s/ca/ca.pem", g_factory);
    identity_files(cert, crt, sizeof crt, key, sizeof key);
    snprintf(outp, sizeof outp, "%s/%s", g_dir, out);
    char script[600];
    snprintf(script, sizeof script, "%s/observer.py", g_src);
    const char *argv[32] = {"/usr/bin/python3", script, "observe", "--port", port, "--ca", ca,
                            "--cert", crt, "--key", key, "--id", id, "--out", outp};
    size_t n = 15;
    if (persistent) {
        argv[n++] = "--persistent";
    }
    for (size_t i = 0; filters[i] != NULL && n < 30; i++) {
        argv[n++] = filters[i];
    }
    argv[n] = NULL;
    char log[64];
    snprintf(log, sizeof log, "%s.log", out);
    const pid_t pid = spawn(argv, log);
    if (!wait_file_has(out, "READY", 10000)) {
        dump_file(log, 20);
        CHECK(!"the observer never subscribed");
    }
    return pid;
}

/* observer.py try: 0 accepted, 3 refused; the reason in why. */
static int try_client(const char *cert, char *why, size_t cap)
{
    char auth[600] = "";
    if (cert != NULL) {
        char crt[256], key[256];
        identity_files(cert, crt, sizeof crt, key, sizeof key);
        snprintf(auth, sizeof auth, "--cert %s --key %s", crt, key);
    }
    return sh(why, cap, "/usr/bin/python3 %s/observer.py try --port %u --ca %s/ca/ca.pem %s --id try-%s 2>&1",
              g_src, g_port, g_factory, auth, cert != NULL ? cert : "nocert");
}

/* ---- scenarios ------------------------------------------------------------------------------------ */

static void scenario_listeners(void)
{
    /* The configuration: one listener, TLS with client certificates only. */
    FILE *f = fopen(g_conf, "r");
    CHECK(f != NULL);
    char line[512];
    unsigned listeners = 0, tls = 0, port_lines = 0;
    bool anon_off = false, req = false, ident = false, crl = false;
    while (fgets(line, sizeof line, f) != NULL) {
        listeners += strncmp(line, "listener ", 9) == 0;
        port_lines += strncmp(line, "port ", 5) == 0;
        tls += strncmp(line, "certfile ", 9) == 0;
        anon_off |= strcmp(line, "allow_anonymous false\n") == 0;
        req |= strcmp(line, "require_certificate true\n") == 0;
        ident |= strcmp(line, "use_identity_as_username true\n") == 0;
        crl |= strncmp(line, "crlfile ", 8) == 0;
    }
    fclose(f);
    CHECK(listeners == 1 && tls == 1 && port_lines == 0 && anon_off && req && ident && crl);
    /* What the broker really listens on: its sockets in /proc. */
    char path[64], target[64];
    unsigned long inodes[64];
    size_t ni = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)g_broker);
    DIR *d = opendir(path);
    CHECK(d != NULL);
    const struct dirent *e;
    while ((e = readdir(d)) != NULL && ni < 64) {
        char fd_path[400];
        snprintf(fd_path, sizeof fd_path, "%s/%s", path, e->d_name);
        const ssize_t n = readlink(fd_path, target, sizeof target - 1u);
        if (n > 0) {
            target[n] = '\0';
            if (sscanf(target, "socket:[%lu]", &inodes[ni]) == 1) {
                ni++;
            }
        }
    }
    closedir(d);
    unsigned listening = 0, on_ours = 0;
    const char *tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (size_t t = 0; t < 2; t++) {
        FILE *tf = fopen(tables[t], "r");
        while (tf != NULL && fgets(line, sizeof line, tf) != NULL) {
            char local[64];
            unsigned st = 0;
            unsigned long inode = 0;
            if (sscanf(line, " %*u: %63s %*s %x %*s %*s %*s %*s %*s %lu", local, &st, &inode) != 3 ||
                st != 0x0Au) {
                continue;
            }
            for (size_t i = 0; i < ni; i++) {
                if (inodes[i] == inode) {
                    const char *colon = strrchr(local, ':');
                    const unsigned port = colon != NULL ? (unsigned)strtoul(colon + 1, NULL, 16) : 0u;
                    printf("listeners: the broker listens on port %u%s\n", port,
                           port == g_port ? " (TLS, client certificates)" : "");
                    listening++;
                    on_ours += port == g_port;
                }
            }
        }
        if (tf != NULL) {
            fclose(tf);
        }
    }
    /* `listener PORT` without an address: IPv4 and IPv6, that port only. */
    CHECK(listening >= 1 && on_ours == listening);
    /* Nothing on the port standing for 1883, nor on 1883 itself from it. */
    CHECK(!tcp_open(g_plain));
    printf("listeners: the factory's configuration: one listener (TLS 1.3, require_certificate,"
           " use_identity_as_username, crlfile);"
           " connect to the plain port %u refused%s: ok\n",
           g_plain, tcp_open(1883) ? " (something else on this machine listens on 1883)"
                                   : ", and to 1883");
}

static bool is_offline(device_t *d, const ward_cloud_status_t *st, unsigned arg)
{
    (void)d;
    (void)arg;
    return st->state == WARD_CLOUD_OFFLINE;
}

static void scenario_isolation(void)
{
    static device_t d1, d2;
    char out[512];
    /* The fleet service's identity may read devices' events, nothing else. */
    const char *ff[] = {"#", "devices/+/events/#", "devices/+/telemetry", NULL};
    g_obs[3] = observe("fleet", "observer-fleet", false, "fleet-obs.txt", ff);
    /* Two units publish over mutual TLS, their keys in their HSMs: telemetry
     * (retained: the broker hands it to later subscribers) and an event. */
    dev_open(&d1, "plug-1", g_port);
    dev_open(&d2, "plug-2", g_port);
    const char *m1 = "{\"temp\":21.5,\"from\":\"plug-1\"}";
    const char *m2 = "{\"temp\":19.0,\"from\":\"plug-2\"}";
    CHECK_OK(ward_cloud_publish(&d1.c, "telemetry", (const uint8_t *)m1, strlen(m1), 1 | WARD_CLOUD_RETAIN,
                                NULL));
    CHECK_OK(ward_cloud_publish(&d2.c, "telemetry", (const uint8_t *)m2, strlen(m2), 1 | WARD_CLOUD_RETAIN,
                                NULL));
    CHECK_OK(ward_cloud_event(&d1.c, WARD_CLOUD_EV_BOOT_REVERTED, WARD_OK, "from plug-1"));
    CHECK_OK(ward_cloud_event(&d2.c, WARD_CLOUD_EV_BOOT_REVERTED, WARD_OK, "from plug-2"));
    CHECK_OK(dev_run(&d1, 10000, is_idle, 0, NULL));
    CHECK_OK(dev_run(&d2, 10000, is_idle, 0, NULL));
    CHECK(wait_file_has("fleet-obs.txt", "MSG devices/plug-1/events {\"v\":1,", 5000));
    CHECK(wait_file_has("fleet-obs.txt", "MSG devices/plug-2/events {\"v\":1,", 5000));
    /* plug-2's client id is its CN: its paho client would replace the unit. */
    dev_close(&d2);
    /* plug-2 (paho, its own certificate) publishes into plug-1's topics. */
    int rc = sh(out, sizeof out,
                "/usr/bin/python3 %s/observer.py publish --port %u --ca %s/ca/ca.pem "
                "--cert %s/clients/plug-2.pem --key %s/clients/plug-2.key --id intruder "
                "devices/plug-1/telemetry 'intruder from plug-2' 2>&1",
                g_src, g_port, g_factory, g_dir, g_dir);
    CHECK(rc == 0); /* MQTT 3.1.1 has no negative PUBACK: Mosquitto acknowledges and drops */
    CHECK(strstr(out, "PUBACK") != NULL);
    /* An independent client with plug-1's identity (the unit steps aside:
     * one client id per CN): plug-1's telemetry, nothing of plug-2's, not
     * the intruder's; meanwhile plug-2 publishes live. */
    CHECK_OK(ward_cloud_disconnect(&d1.c));
    const char *f1[] = {"#", "devices/plug-1/#", "devices/plug-2/#", NULL};
    g_obs[0] = observe("plug-1", "observer-1", false, "obs1.txt", f1);
    dev_open(&d2, "plug-2", g_port);
    const char *live = "{\"temp\":19.5,\"live\":true}";
    CHECK_OK(ward_cloud_publish(&d2.c, "telemetry", (const uint8_t *)live, strlen(live), 1, NULL));
    CHECK_OK(dev_run(&d2, 10000, is_idle, 0, NULL));
    dev_close(&d2);
    const char *f2[] = {"#", "devices/plug-1/#", NULL};
    g_obs[1] = observe("plug-2", "observer-2", false, "obs2.txt", f2);
    CHECK(wait_file_has("obs1.txt", "MSG devices/plug-1/telemetry {\"temp\":21.5", 5000));
    CHECK(wait_file_has("obs2.txt", "MSG devices/plug-2/telemetry {\"temp\":19.5,\"live\"", 5000) ||
          wait_file_has("obs2.txt", "MSG devices/plug-2/telemetry {\"temp\":19.0", 100));
    sleep_ms(500); /* anything late would be here by now */
    CHECK(!file_has("obs1.txt", "MSG devices/plug-2/"));
    CHECK(!file_has("obs1.txt", "intruder"));
    CHECK(!file_has("obs2.txt", "MSG devices/plug-1/"));
    CHECK(!file_has("fleet-obs.txt", "/telemetry"));
    stop(&g_obs[0], SIGTERM);
    stop(&g_obs[1], SIGTERM);
    stop(&g_obs[3], SIGTERM);
    dev_close(&d1);
    printf("isolation: plug-1 and plug-2 published over mutual TLS (keys in their HSMs); the fleet's"
           " identity got their events and none of their telemetry; a client with plug-1's identity got"
           " plug-1's telemetry and nothing of plug-2 (retained or live); plug-2's subscription to"
           " devices/plug-1/# (SUBACK granted) delivered nothing, its publish into devices/plug-1/"
           " (acknowledged: MQTT 3.1.1 has no refusal) never arrived: ok\n");
    (void)is_offline;
}

/* The broker's reason for the last refused connection (its log). */
/* Lines of a file in the test's folder that hold `what`. */
static unsigned log_count(const char *name, const char *what)
{
    char path[256], line[512];
    unsigned n = 0;
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        n += strstr(line, what) != NULL ? 1u : 0u;
    }
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

static void broker_reason(char *out, size_t cap)
{
    char path[256], line[512];
    snprintf(path, sizeof path, "%s/broker.log", g_dir);
    FILE *f = fopen(path, "r");
    snprintf(out, cap, "?");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        const char *p = strstr(line, "OpenSSL Error[0]: ");
        if (p != NULL) {
            snprintf(out, cap, "%s", p + 18);
            out[strcspn(out, "\n")] = '\0';
        }
    }
    if (f != NULL) {
        fclose(f);
    }
}

static void scenario_refused(void)
{
    char reason[256];
    char why[1024];
    CHECK(try_client("plug-1", why, sizeof why) == 0);
    printf("refused: control, a valid certificate: %s", why);
    static const struct {
        const char *cert, *what;
    } k_bad[] = {{NULL, "no certificate"},
                 {"expired", "an expired certificate (2024-01-01..06-01)"},
                 {"evil", "a certificate from another factory's CA (same CA name, CN plug-1)"}};
    for (size_t i = 0; i < sizeof k_bad / sizeof k_bad[0]; i++) {
        const int rc = try_client(k_bad[i].cert, why, sizeof why);
        sleep_ms(100);
        broker_reason(reason, sizeof reason);
        printf("refused: %s: broker: \"%s\"; client: %s", k_bad[i].what, reason, why);
        CHECK(rc == 3);
    }
    /* Revoked: accepted until the fleet revokes it. */
    CHECK(try_client("plug-9", why, sizeof why) == 0);
    printf("refused: plug-9 before revocation: %s", why);
    const int rc = sh(why, sizeof why, "%s fleet revoke %s plug-9 2>&1", g_ward, g_factory);
    printf("%s", why);
    CHECK(rc == 0 && strstr(why, "broker reloaded") != NULL);
    CHECK(wait_file_has("broker.log", "Reloading config", 5000));
    sleep_ms(300);
    CHECK(try_client("plug-9", why, sizeof why) == 3);
    sleep_ms(100);
    broker_reason(reason, sizeof reason);
    printf("refused: plug-9 after `ward fleet revoke` (CRL + SIGHUP): broker: \"%s\"; client: %s",
           reason, why);
    CHECK(sh(NULL, 0, "openssl crl -in %s/ca/crl.pem -CAfile %s/ca/ca.pem -noout 2>&1 | grep -q 'verify OK'",
             g_factory, g_factory) == 0);
    printf("refused: no certificate, expired, another CA, revoked: ok\n");
}

/* ---- kill -------------------------------------------------------------------------------------- */

/* Distinct sequence numbers < n in the observer's file. */
static unsigned seq_count(const char *out, unsigned n, unsigned *lines)
{
    char path[256], line[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, out);
    unsigned char *seen = calloc(n + 1u, 1);
    CHECK(seen != NULL);
    unsigned distinct = 0;
    *lines = 0;
    FILE *f = fopen(path, "r");
    const char *prefix = "MSG devices/plug-1/events/seq ";
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, prefix, strlen(prefix)) != 0) {
            continue;
        }
        (*lines)++;
        const unsigned v = (unsigned)strtoul(line + strlen(prefix), NULL, 10);
        if (v < n && !seen[v]) {
            seen[v] = 1;
            distinct++;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    free(seen);
    return distinct;
}

static void scenario_kill(void)
{
    static device_t d;
    /* The counting subscriber: persistent, with the fleet service's
     * identity (it may read devices/+/events/#; plug-1's own identity is
     * the unit's client id); the stream goes to devices/plug-1/events/seq. */
    const char *flt[] = {"devices/plug-1/events/seq", NULL};
    g_obs[2] = observe("fleet", "observer-seq", true, "seq.txt", flt);
    /* The subscriber's session on disk before the kill (SIGUSR1 saves the
     * database), so the restarted broker queues for it while it is away. */
    CHECK(kill(g_broker, SIGUSR1) == 0);
    sleep_ms(300);
    dev_open(&d, "plug-1", g_port);
    CHECK_OK(dev_run(&d, 10000, is_idle, 0, NULL));
    unsigned resent = 0, errors = 0;
    uint32_t down_ms = 0;
    const unsigned cut_at = g_n / 2u;
    for (unsigned seq = 0; seq < g_n;) {
        char payload[16];
        snprintf(payload, sizeof payload, "%u", seq);
        const ward_err_t err = ward_cloud_publish(&d.c, "events/seq", (const uint8_t *)payload,
                                                  strlen(payload), 1, NULL);
        if (err == WARD_ERR_NO_SPACE) {
            (void)dev_run(&d, 50, inflight_below, WARD_CONFIG_MQTT_INFLIGHT_MAX, &errors);
            continue;
        }
        CHECK_OK(err);
        seq++;
        if (seq != cut_at) {
            (void)ward_cloud_poll(&d.c, 0);
            continue;
        }
        /* Mosquitto 2.0.11 sends PUBACK before it has delivered or saved a
         * message, so a SIGKILL loses what it acknowledged but had not yet
         * written to the subscriber: no device can recover that, the
         * device's promise ends at the PUBACK. So: every message so far
         * acknowledged and at the subscriber; then the broker freezes
         * (SIGSTOP), the device writes a window of QoS 1 publishes that
         * nobody reads or acknowledges, and the frozen broker is killed
         * (its unread socket data dies with it). Those must be sent again. */
        CHECK_OK(dev_run(&d, 10000, is_idle, 0, &errors));
        unsigned lines = 0;
        for (int i = 0; i < 200 && seq_count("seq.txt", seq, &lines) < seq; i++) {
            sleep_ms(50);
        }
        CHECK(seq_count("seq.txt", seq, &lines) == seq);
        const unsigned before = seq;
        CHECK(kill(g_broker, SIGSTOP) == 0);
        for (int i = 0; i < 50 && seq < g_n; i++) {
            snprintf(payload, sizeof payload, "%u", seq);
            if (ward_cloud_publish(&d.c, "events/seq", (const uint8_t *)payload, strlen(payload), 1, NULL) ==
                WARD_OK) {
                seq++;
            }
            (void)ward_cloud_poll(&d.c, 0);
        }
        ward_cloud_status_t st;
        ward_cloud_status(&d.c, &st);
        CHECK(st.state == WARD_CLOUD_ONLINE && st.inflight == seq - before && st.inflight > 0u);
        resent = (unsigned)st.inflight;
        stop(&g_broker, SIGKILL);
        g_restart_at = mono_ms() + 700u;
        g_restart_pending = true;
        down_ms = 700;
        printf("kill: broker frozen after message %u (all acknowledged and delivered), then %u QoS 1"
               " publishes written and not acknowledged, then SIGKILL\n",
               before - 1u, resent);
    }
    CHECK_OK(dev_run(&d, 30000, is_idle, 0, &errors));
    CHECK(!g_restart_pending);
    ward_cloud_status_t st;
    ward_cloud_status(&d.c, &st);
    unsigned lines = 0, got = 0;
    for (int i = 0; i < 200 && (got = seq_count("seq.txt", g_n, &lines)) < g_n; i++) {
        sleep_ms(50);
    }
    printf("kill: subscriber got %u of %u messages (%u deliveries, %u duplicates); the device"
           " failed %u connection attempt%s (back-off up to 1.6 s) while the broker was down"
           " %u ms, %u connections in all\n",
           got, g_n, lines, lines - got, st.failures, st.failures == 1u ? "" : "s", down_ms,
           st.connects);
    CHECK(got == g_n);
    CHECK(st.failures >= 2u && st.connects >= 2u && resent > 0u);
    dev_close(&d);
    stop(&g_obs[2], SIGTERM);
    printf("kill: every message arrived at least once: ok\n");
}

/* ---- TLS failures as events; the TLS read after a timeout ----------------------------------------- */

static void rogue_start(void)
{
    char conf[256];
    snprintf(conf, sizeof conf, "%s/rogue.conf", g_dir);
    FILE *f = fopen(conf, "w");
    CHECK(f != NULL);
    if (geteuid() == 0) {
        fprintf(f, "user root\n");
    }
    fprintf(f,
            "allow_anonymous true\n"
            "listener %u 127.0.0.1\n"
            "cafile %s/other/ca/ca.pem\ncertfile %s/other/broker/server.pem\n"
            "keyfile %s/other/broker/server-key.pem\n",
            g_rogue, g_dir, g_dir, g_dir);
    fclose(f);
    const char *const argv[] = {"mosquitto", "-c", conf, NULL};
    g_rogue_pid = spawn(argv, "rogue.log");
    for (int i = 0; i < 100 && !tcp_open(g_rogue); i++) {
        sleep_ms(50);
    }
    CHECK(tcp_open(g_rogue));
}

static void scenario_tls_events(void)
{
    static device_t d;
    rogue_start();
    /* The fleet service's identity reads the devices' events. */
    const char *ff[] = {"devices/+/events/#", NULL};
    g_obs[4] = observe("fleet", "observer-events", false, "events.txt", ff);
    /* The device is sent to a broker whose certificate is from another CA
     * (a DNS spoof, a proxy): it refuses it, twice. */
    dev_open(&d, "plug-1", g_rogue);
    ward_cloud_status_t st;
    for (unsigned k = 0; k < 2;) {
        const ward_err_t err = ward_cloud_poll(&d.c, 20);
        if (err != WARD_OK) {
            CHECK(err == WARD_ERR_TLS_CERT);
            k++;
        }
        ward_cloud_status(&d.c, &st);
        sleep_ms(st.next_attempt_ms < 2000u ? st.next_attempt_ms : 2000u);
    }
    ward_cloud_status(&d.c, &st);
    CHECK(st.tls_failures == 2u && st.events_queued == 1u && st.events_sent == 0u);
    /* Back to the real broker: the event goes out after the CONNACK. */
    d.cfg.port = g_port;
    CHECK_OK(dev_run(&d, 15000, is_idle, 0, NULL));
    ward_cloud_status(&d.c, &st);
    CHECK(st.events_sent == 1u);
    CHECK(wait_file_has("events.txt", "MSG devices/plug-1/events {\"v\":1,", 5000));
    char path[256], line[2048], event[2048] = "";
    snprintf(path, sizeof path, "%s/events.txt", g_dir);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "MSG devices/plug-1/events ", 26) == 0 && strstr(line, "tls_failure") != NULL) {
            snprintf(event, sizeof event, "%s", line + 26);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    event[strcspn(event, "\n")] = '\0';
    stop(&g_obs[4], SIGTERM);
    printf("tlsevents: the fleet's client got on devices/plug-1/events: %s\n", event);
    CHECK(strstr(event, "\"type\":\"tls_failure\",\"code\":-103,\"err\":\"WARD_ERR_TLS_CERT\",\"count\":2") != NULL);
    CHECK(strstr(event, "\"detail\":\"handshake\"") != NULL && strstr(event, "\"time\":") != NULL);
    /* Valid JSON for a JSON parser that is not ours. */
    char cmd_out[256];
    CHECK(sh(cmd_out, sizeof cmd_out,
             "/usr/bin/python3 -c 'import json,sys; e=json.loads(sys.argv[1]); print(e[\"type\"], e[\"count\"])' '%s'",
             event) == 0);
    CHECK(strcmp(cmd_out, "tls_failure 2\n") == 0);
    dev_close(&d);

    /* A TLS read that timed out, then the peer gone: the read must say the
     * connection is gone (WARD_ERR_NET), not time out again. */
    uint8_t ca[4096];
    size_t ca_len = 0;
    snprintf(path, sizeof path, "%s/other/ca/ca.pem", g_dir);
    f = fopen(path, "rb");
    CHECK(f != NULL);
    ca_len = fread(ca, 1, sizeof ca - 1u, f);
    fclose(f);
    ca[ca_len++] = 0;
    ward_sim_net_t net;
    ward_sim_net_init(&net);
    static ward_tls_t t;
    const ward_tls_config_t cfg = {.ca = ca, .ca_len = ca_len, .timeout_ms = 300};
    CHECK_OK(ward_tls_connect(&t, &cfg, &net.port, "localhost", g_rogue));
    uint8_t buf[64];
    size_t got = 0;
    const ward_err_t first = ward_tls_read(&t, buf, sizeof buf, &got);
    stop(&g_rogue_pid, SIGKILL);
    sleep_ms(100);
    const ward_err_t second = ward_tls_read(&t, buf, sizeof buf, &got);
    printf("tlsevents: TLS read with nothing to read: %s; after the server died: %s\n",
           ward_err_name(first), ward_err_name(second));
    CHECK(first == WARD_ERR_NET_TIMEOUT);
    CHECK(second == WARD_ERR_NET);
    ward_tls_close(&t);
    ward_sim_net_close_all(&net);
    printf("tlsevents: 2 TLS failures reported as one security event (count 2) after reconnecting: ok\n");
}

/* ---- rotation ------------------------------------------------------------------------------------- */

static void json_field(const char *json, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    CHECK(p != NULL);
    p += strlen(pat);
    const size_t n = strcspn(p, "\"");
    CHECK(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
}

static unsigned count_lines(const char *name, const char *needle)
{
    char path[256], line[2048];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "r");
    unsigned n = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        n += strstr(line, needle) != NULL;
    }
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

/* `ward fleet serve`, and wait until it is connected: a request published
 * while it is away is queued for its persistent session, except after a
 * broker reload (a revocation) in the meantime: Mosquitto 2.0.11 then no
 * longer queues for an offline client whose rights are "user"/"topic" ACL
 * lines (docs/fleet.md); the device asks again later. */
static void fleet_start(const char *extra)
{
    char port[32];
    snprintf(port, sizeof port, "localhost:%u", g_port);
    const unsigned before = count_lines("fleet.log", "connected to the broker");
    const char *const argv[] = {g_ward, "fleet", "serve", g_factory, "--broker", port, extra, NULL};
    g_fleet = spawn(argv, "fleet.log");
    for (int i = 0; i < 200 && count_lines("fleet.log", "connected to the broker") == before; i++) {
        sleep_ms(50);
    }
    CHECK(count_lines("fleet.log", "connected to the broker") > before);
}

static void scenario_rotation(void)
{
    char out[4096], old_serial[64], new_serial[64];
    /* The old identity, kept aside: an attacker's copy of the old key
     * (the HSM file) and certificate, to show what revocation is for. */
    CHECK(sh(NULL, 0, "cp -a %s/devices/plug-1 %s/devices/plug-1-old", g_dir, g_dir) == 0);
    fleet_start(NULL);
    int rc = sh(out, sizeof out, "%s cloud rotate --device %s/devices/plug-1 --broker localhost:%u --json --seconds 20 2>&1",
                g_ward, g_dir, g_port);
    printf("rotation: ward cloud rotate: %s", out);
    CHECK(rc == 0);
    json_field(out, "old_serial", old_serial, sizeof old_serial);
    json_field(out, "serial", new_serial, sizeof new_serial);
    CHECK(strcmp(old_serial, new_serial) != 0);
    CHECK(wait_file_has("fleet.log", "issued plug-1 serial", 5000));
    char needle[128];
    snprintf(needle, sizeof needle, "issued plug-1 serial %s", new_serial);
    CHECK(file_has("fleet.log", needle));
    /* The new certificate, the unit's cert.pem now: OpenSSL verifies it
     * against the factory CA; CN plug-1, a year, clientAuth; the factory
     * CA recorded it (ca/issued/). */
    rc = sh(out, sizeof out,
            "c=%s/devices/plug-1/cert.pem; s=$(openssl x509 -in $c -noout -serial | cut -d= -f2 | tr A-F a-f); "
            "[ \"$s\" = \"%s\" ] && openssl verify -CAfile %s/ca/ca.pem $c && "
            "openssl x509 -in $c -noout -subject -startdate -enddate -ext extendedKeyUsage && "
            "ls %s/ca/issued | grep -ic \"%s\"",
            g_dir, new_serial, g_factory, g_factory, new_serial);
    printf("rotation: the new certificate:\n%s", out);
    CHECK(strstr(out, ": OK") != NULL && strstr(out, "subject=CN = plug-1") != NULL &&
          strstr(out, "TLS Web Client Authentication") != NULL);
    /* The device: new key current, no next key, the old key gone. */
    {
        ward_sim_device_t nd, od;
        char dir[256];
        uint8_t pn[65], po[65];
        uint32_t k = 0;
        snprintf(dir, sizeof dir, "%s/devices/plug-1", g_dir);
        CHECK_OK(ward_sim_device_open(&nd, dir));
        snprintf(dir, sizeof dir, "%s/devices/plug-1-old", g_dir);
        CHECK_OK(ward_sim_device_open(&od, dir));
        CHECK_OK(nd.hsm.port.id_public(nd.hsm.port.ctx, pn));
        CHECK_OK(od.hsm.port.id_public(od.hsm.port.ctx, po));
        CHECK(memcmp(pn, po, 65) != 0);
        CHECK(nd.hsm.port.id_next_key(nd.hsm.port.ctx, &k) == WARD_ERR_NOT_FOUND);
        CHECK(!ward_ct_equal(nd.hsm.id_priv, od.hsm.id_priv, 32));
        ward_sim_device_close(&nd);
        ward_sim_device_close(&od);
    }
    /* Before revocation both identities connect (the old certificate is
     * still valid: that is what revocation is for). */
    CHECK(sh(out, sizeof out, "%s cloud connect --device %s/devices/plug-1 --broker localhost:%u 2>&1", g_ward, g_dir, g_port) == 0);
    printf("rotation: new identity: %s", out);
    CHECK(sh(out, sizeof out, "%s cloud connect --device %s/devices/plug-1-old --broker localhost:%u --seconds 5 2>&1",
             g_ward, g_dir, g_port) == 0);
    printf("rotation: old identity (a copy of the old key) before revocation: %s", out);
    const unsigned verify_failures = log_count("broker.log", "certificate verify failed");
    rc = sh(out, sizeof out, "%s fleet revoke %s --serial %s 2>&1", g_ward, g_factory, old_serial);
    printf("rotation: %s", out);
    CHECK(rc == 0 && strstr(out, "revoked 1 certificate") != NULL);
    sleep_ms(300);
    rc = sh(out, sizeof out, "%s cloud connect --device %s/devices/plug-1-old --broker localhost:%u --seconds 3 2>&1",
            g_ward, g_dir, g_port);
    printf("rotation: old identity after revocation: exit %d:\n%s", rc, out);
    /* Refused by the broker's certificate check: the client sees its TLS
     * alert (42, WARD_ERR_TLS) or, when the socket closes before the alert
     * is read, a lost connection (40); the broker logs a failed verification
     * for it either way (the same identity connected just before). */
    CHECK(rc == 42 || rc == 40);
    sleep_ms(100);
    CHECK(log_count("broker.log", "certificate verify failed") > verify_failures);
    CHECK(sh(out, sizeof out, "%s cloud connect --device %s/devices/plug-1 --broker localhost:%u 2>&1", g_ward, g_dir, g_port) == 0);
    printf("rotation: new identity after revocation: %s", out);
    stop(&g_fleet, SIGTERM);

    /* The service's own check: a device whose certificates were all revoked
     * but whose connection is still up (Mosquitto keeps it across the
     * reload) asks for a new one: refused. */
    static device_t d;
    dev_open(&d, "plug-2", g_port);
    CHECK_OK(dev_run(&d, 10000, is_idle, 0, NULL));
    rc = sh(out, sizeof out, "%s fleet revoke %s plug-2 2>&1", g_ward, g_factory);
    CHECK(rc == 0);
    sleep_ms(300);
    fleet_start("--seconds=20");
    CHECK_OK(ward_cloud_rotate(&d.c));
    ward_cloud_status_t st;
    for (int i = 0; i < 300; i++) {
        (void)ward_cloud_poll(&d.c, 20);
        ward_cloud_status(&d.c, &st);
        if (st.rotation == WARD_CLOUD_ROT_IDLE && st.events_queued > 0u) {
            break;
        }
    }
    CHECK(wait_file_has("fleet.log", "refused plug-2: no valid certificate of ours", 5000));
    ward_cloud_status(&d.c, &st);
    CHECK(st.rotations == 0u && st.rotation == WARD_CLOUD_ROT_IDLE);
    printf("rotation: plug-2, revoked while connected, asked for a certificate: the service refused"
           " (\"no valid certificate of ours\"), the device keeps waiting for nothing and reports it\n");
    dev_close(&d);
    stop(&g_fleet, SIGTERM);
    printf("rotation: new key in the HSM, CSR, certificate from ward fleet serve, switched; old"
           " certificate revoked and refused by the broker: ok\n");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cloud_broker_test SRC_DIR WARD [N]\n");
        return 2;
    }
    snprintf(g_src, sizeof g_src, "%s", argv[1]);
    snprintf(g_ward, sizeof g_ward, "%s", argv[2]);
    g_n = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 200u;
    setvbuf(stdout, NULL, _IOLBF, 0);
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGALRM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    alarm(280);
    CHECK_OK(ward_crypto_init());
    snprintf(g_dir, sizeof g_dir, "/tmp/ward-cloud-XXXXXX");
    CHECK(mkdtemp(g_dir) != NULL);
    snprintf(g_factory, sizeof g_factory, "%s/factory", g_dir);
    g_port = free_port();
    do {
        g_plain = free_port();
        g_rogue = free_port();
    } while (g_plain == g_port || g_rogue == g_port || g_rogue == g_plain);
    char out[1024];
    const int rc = sh(out, sizeof out, "bash %s/fleet-setup.sh %s %s %u 2>&1", g_src, g_ward, g_dir, g_port);
    printf("%s", out);
    CHECK(rc == 0);
    snprintf(g_conf, sizeof g_conf, "%s/broker/mosquitto.conf", g_factory);
    conf_debug();
    broker_start();
    printf("mosquitto with the configuration ward factory init wrote, port %u (TLS only), in %s\n", g_port,
           g_dir);
    const char *only = getenv("WARD_CLOUD_ONLY");
#define RUN(name, fn)                                    \
    if (only == NULL || strcmp(only, name) == 0) {       \
        fn();                                            \
    }
    RUN("listeners", scenario_listeners);
    RUN("isolation", scenario_isolation);
    RUN("refused", scenario_refused);
    RUN("kill", scenario_kill);
    RUN("tlsevents", scenario_tls_events);
    RUN("rotation", scenario_rotation);
    printf("all scenarios passed\n");
    return 0;
}
