/*
 * The MQTT engine (src/cloud) against a real broker: Debian's Mosquitto 2,
 * started here on free loopback ports with a test configuration in a
 * temporary directory, and killed (with everything else started here) on
 * every exit: normal, failed check, signal, or this process being killed
 * (PR_SET_PDEATHSIG). Plain TCP: mutual TLS comes with the TLS transport.
 *
 *   mqtt_broker_test [N]   N: messages per stream (default 200)
 *
 * Scenarios:
 *   basic       CONNECT, SUBSCRIBE (codes per filter), PUBLISH QoS 0 and 1
 *               to itself and back, UNSUBSCRIBE, DISCONNECT
 *   qos-limit   a listener with max_qos 0 grants QoS 0 for a QoS 1 request
 *   keepalive   keep-alive 1 s, idle: PINGREQ / PINGRESP, still connected
 *   drop        persistent session; the socket dropped with QoS 1
 *               publishes unacknowledged; reconnect, DUP resend; an
 *               independent mosquitto_sub counts every message
 *   kill        the broker killed with SIGKILL mid-stream (persistence on)
 *               and restarted; reconnect with back-off; every message
 *               arrives at least once at mosquitto_sub
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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

#include "ward/mqtt.h"

/* ---- processes and cleanup --------------------------------------------------- */

static char g_dir[64];
static char g_conf[128];
static uint16_t g_port, g_port_q0;
static pid_t g_broker = -1;
static pid_t g_subs[4] = {-1, -1, -1, -1};

static void stop(pid_t *pid, int sig)
{
    if (*pid > 0) {
        kill(*pid, sig);
        waitpid(*pid, NULL, 0);
        *pid = -1;
    }
}

static void dump_file(const char *name)
{
    char path[192], line[512];
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
        if (i >= n - 30) {
            fputs(line, stderr);
        }
    }
    fclose(f);
}

static void cleanup(void)
{
    for (size_t i = 0; i < sizeof g_subs / sizeof g_subs[0]; i++) {
        stop(&g_subs[i], SIGKILL);
    }
    stop(&g_broker, SIGKILL);
    if (g_dir[0] != '\0' && getenv("WARD_MQTT_KEEP") == NULL) {
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

#define CHECK(c)                                                                      \
    do {                                                                              \
        if (!(c)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);     \
            dump_file("broker.log");                                                  \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

#define CHECK_OK(e)                                                                   \
    do {                                                                              \
        const ward_err_t e_ = (e);                                                    \
        if (e_ != WARD_OK) {                                                          \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #e, ward_err_name(e_)); \
            dump_file("broker.log");                                                  \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

static uint32_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void die(const char *what)
{
    fprintf(stderr, "failed: %s\n", what);
    dump_file("broker.log");
    exit(1);
}

/* Run argv (NULL-terminated, at most 15) with stdout and stderr appended to
 * g_dir/out; it dies with us. */
static pid_t spawn(const char *const *argv, const char *out)
{
    char path[192];
    snprintf(path, sizeof path, "%s/%s", g_dir, out);
    const pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        const int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
            _exit(127);
        }
        char *v[16];
        size_t i = 0;
        for (; i < 15 && argv[i] != NULL; i++) {
            v[i] = strdup(argv[i]); /* exec's prototype is not const */
        }
        v[i] = NULL;
        execvp(v[0], v);
        _exit(127);
    }
    return pid;
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

static int tcp_connect(uint16_t port)
{
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0) {
        return -1;
    }
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    const int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
    return s;
}

static void broker_start(void)
{
    const char *const argv[] = {"mosquitto", "-c", g_conf, NULL};
    g_broker = spawn(argv, "broker.log");
    for (int i = 0; i < 100; i++) {
        const int s = tcp_connect(g_port);
        if (s >= 0) {
            close(s);
            return;
        }
        sleep_ms(50);
    }
    die("mosquitto did not start listening");
}

static void write_conf(void)
{
    char path[192];
    snprintf(path, sizeof path, "%s/acl", g_dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    /* A pattern, not a "topic" line: Mosquitto 2.0.11 checks a session
     * restored from its database against "topic" lines without the
     * client's context and denies, so nothing would be queued for an
     * offline subscriber after the restart (eclipse-mosquitto/mosquitto#384:
     * restored clients have no user name; the same would hit %u). */
    fprintf(f, "pattern readwrite devices/#\n");
    fclose(f);
    f = fopen(g_conf, "w");
    CHECK(f != NULL);
    /* Mosquitto drops root for the "mosquitto" user unless told to stay:
     * the temporary directory is ours. */
    if (geteuid() == 0) {
        fprintf(f, "user root\n");
    }
    fprintf(f,
            "per_listener_settings false\n"
            "allow_anonymous true\n"
            "acl_file %s/acl\n"
            "persistence true\n"
            "persistence_location %s/\n"
            "autosave_interval 1\n"
            "max_inflight_messages 100\n"
            "max_queued_messages 100000\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            "log_type subscribe\n"
            "listener %u 127.0.0.1\n"
            "listener %u 127.0.0.1\n"
            "max_qos 0\n",
            g_dir, g_dir, g_port, g_port_q0);
    fclose(f);
}

/* ---- a client: the engine over a socket ------------------------------------------ */

typedef struct {
    ward_mqtt_t m;
    int fd;
    uint8_t tx[4096], rx[2048], store[8192];
    /* what the events said */
    bool connack, session_present;
    unsigned msgs, pubacks, pingresps, subacks, unsubacks;
    uint8_t codes[8];
    size_t n_codes;
    char last_topic[128], last_payload[64];
    uint8_t last_qos;
} client_t;

static void cl_init(client_t *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    CHECK_OK(ward_mqtt_init(&c->m, c->tx, sizeof c->tx, c->rx, sizeof c->rx, c->store,
                            sizeof c->store));
}

static void cl_drop(client_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    ward_mqtt_close(&c->m);
    c->connack = false;
}

static void on_event(client_t *c, const ward_mqtt_event_t *ev)
{
    switch (ev->type) {
    case WARD_MQTT_EV_CONNACK:
        c->connack = true;
        c->session_present = ev->session_present;
        break;
    case WARD_MQTT_EV_MESSAGE:
        c->msgs++;
        snprintf(c->last_topic, sizeof c->last_topic, "%.*s", (int)ev->msg.topic_len,
                 ev->msg.topic);
        snprintf(c->last_payload, sizeof c->last_payload, "%.*s", (int)ev->msg.payload_len,
                 (const char *)ev->msg.payload);
        c->last_qos = ev->msg.qos;
        break;
    case WARD_MQTT_EV_PUBACK:
        c->pubacks++;
        break;
    case WARD_MQTT_EV_SUBACK:
        c->subacks++;
        c->n_codes = ev->n_codes < sizeof c->codes ? ev->n_codes : sizeof c->codes;
        memcpy(c->codes, ev->codes, c->n_codes);
        break;
    case WARD_MQTT_EV_UNSUBACK:
        c->unsubacks++;
        break;
    case WARD_MQTT_EV_PINGRESP:
        c->pingresps++;
        break;
    default:
        break;
    }
}

/* Write what tx holds, as far as the socket takes it. */
static ward_err_t cl_flush(client_t *c)
{
    size_t len;
    const uint8_t *p = ward_mqtt_out(&c->m, &len);
    while (len > 0) {
        const ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK ? WARD_OK : WARD_ERR_NET;
        }
        CHECK_OK(ward_mqtt_sent(&c->m, (size_t)n, now_ms()));
        p = ward_mqtt_out(&c->m, &len);
    }
    return WARD_OK;
}

typedef bool (*cond_fn)(const client_t *c, unsigned arg);

/* The caller's loop: write, tick, wait for bytes or the engine's next
 * deadline, feed. Until cond holds (WARD_OK), the budget runs out
 * (WARD_ERR_NET_TIMEOUT), or the connection fails (its error). */
static ward_err_t cl_run(client_t *c, uint32_t budget_ms, cond_fn cond, unsigned arg)
{
    const uint32_t t0 = now_ms();
    for (;;) {
        if (cond != NULL && cond(c, arg)) {
            return WARD_OK;
        }
        if (now_ms() - t0 >= budget_ms) {
            return cond == NULL ? WARD_OK : WARD_ERR_NET_TIMEOUT;
        }
        ward_err_t err = cl_flush(c);
        uint32_t wait = 0;
        if (err == WARD_OK) {
            err = ward_mqtt_tick(&c->m, &wait, now_ms());
        }
        if (err != WARD_OK) {
            return err;
        }
        size_t pending;
        (void)ward_mqtt_out(&c->m, &pending);
        struct pollfd pfd = {c->fd, (short)(POLLIN | (pending > 0 ? POLLOUT : 0)), 0};
        const int n = poll(&pfd, 1, (int)(wait < 20u ? wait : 20u));
        if (n <= 0 || (pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
            continue;
        }
        uint8_t buf[1500];
        const ssize_t got = recv(c->fd, buf, sizeof buf, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            return WARD_ERR_NET; /* closed or reset by the broker */
        }
        for (size_t off = 0; got > 0 && off < (size_t)got;) {
            ward_mqtt_event_t ev;
            size_t used = 0;
            err = ward_mqtt_recv(&c->m, &ev, &used, buf + off, (size_t)got - off, now_ms());
            off += used;
            if (err == WARD_ERR_BUF_TOO_SMALL) {
                if (cl_flush(c) != WARD_OK) {
                    return WARD_ERR_NET;
                }
                if (used == 0) {
                    sleep_ms(1); /* the socket is full: let the broker read */
                }
                continue;
            }
            if (err != WARD_OK) {
                return err;
            }
            on_event(c, &ev);
        }
    }
}

static bool is_connected(const client_t *c, unsigned arg)
{
    (void)arg;
    return c->connack;
}
static bool inflight_at_most(const client_t *c, unsigned arg)
{
    return ward_mqtt_inflight(&c->m) <= arg;
}
static bool msgs_at_least(const client_t *c, unsigned arg)
{
    return c->msgs >= arg;
}
static bool subacks_at_least(const client_t *c, unsigned arg)
{
    return c->subacks >= arg;
}
static bool unsubacks_at_least(const client_t *c, unsigned arg)
{
    return c->unsubacks >= arg;
}

/* Open a TCP connection and run CONNECT / CONNACK. */
static ward_err_t cl_connect(client_t *c, uint16_t port, const char *id, bool clean, uint16_t ka)
{
    cl_drop(c);
    c->fd = tcp_connect(port);
    if (c->fd < 0) {
        return WARD_ERR_NET;
    }
    const ward_mqtt_connect_opts_t o = {.client_id = id, .client_id_len = strlen(id),
                                        .keep_alive_s = ka, .clean_session = clean,
                                        .timeout_ms = 3000};
    CHECK_OK(ward_mqtt_connect(&c->m, &o, now_ms()));
    const ward_err_t err = cl_run(c, 5000, is_connected, 0);
    if (err != WARD_OK) {
        cl_drop(c);
    }
    return err;
}

/* A broker restart scheduled by a scenario, done between reconnects. */
static bool g_restart_pending;
static uint32_t g_restart_at;

/* Reconnect with capped exponential back-off and full jitter; returns the
 * number of failed attempts before the one that worked. */
static unsigned cl_reconnect(client_t *c, const char *id, uint32_t *slept)
{
    unsigned seed = (unsigned)now_ms();
    for (unsigned attempt = 0;; attempt++) {
        CHECK(attempt < 40);
        if (g_restart_pending && (int32_t)(now_ms() - g_restart_at) >= 0) {
            broker_start();
            g_restart_pending = false;
        }
        if (cl_connect(c, g_port, id, false, 30) == WARD_OK) {
            return attempt;
        }
        const uint32_t rnd = ((uint32_t)rand_r(&seed) << 16) ^ (uint32_t)rand_r(&seed);
        const uint32_t d = ward_mqtt_backoff_ms(attempt, 50, 800, rnd);
        CHECK(d <= 800);
        *slept += d;
        sleep_ms(d);
    }
}

static void cl_publish(client_t *c, const char *topic, const char *payload, uint8_t qos)
{
    const ward_mqtt_msg_t msg = {.topic = topic, .topic_len = strlen(topic),
                                 .payload = (const uint8_t *)payload,
                                 .payload_len = strlen(payload), .qos = qos};
    CHECK_OK(ward_mqtt_publish(&c->m, NULL, &msg));
}

/* ---- the independent subscriber: mosquitto_sub ------------------------------------- */

static pid_t sub_start(const char *id, const char *filter, const char *out)
{
    char port[8];
    snprintf(port, sizeof port, "%u", g_port);
    const char *const argv[] = {"mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", "mqttv311",
                                "-i", id, "-c", "-q", "1", "-t", filter, "-v", NULL};
    return spawn(argv, out);
}

/* Lines "<topic> <payload>" of out: count those with topic `seq_topic`, and
 * mark their payload numbers seen. Returns the number of distinct ones. */
static unsigned sub_count(const char *out, const char *seq_topic, unsigned n, unsigned *lines,
                          unsigned char *seen)
{
    char path[192], line[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, out);
    memset(seen, 0, n);
    *lines = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    const size_t tl = strlen(seq_topic);
    unsigned distinct = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, seq_topic, tl) != 0 || line[tl] != ' ') {
            continue;
        }
        (*lines)++;
        const unsigned v = (unsigned)strtoul(line + tl + 1, NULL, 10);
        if (v < n && !seen[v]) {
            seen[v] = 1;
            distinct++;
        }
    }
    fclose(f);
    return distinct;
}

/* Wait until the subscriber is subscribed: a marker it must print. */
static void sub_wait_ready(client_t *pub, const char *topic, const char *out)
{
    char path[192], line[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, out);
    for (int i = 0; i < 100; i++) {
        cl_publish(pub, topic, "ready", 0);
        CHECK_OK(cl_run(pub, 100, NULL, 0));
        FILE *f = fopen(path, "r");
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            if (strstr(line, " ready") != NULL) {
                fclose(f);
                return;
            }
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    die("mosquitto_sub never subscribed");
}

static void sub_wait_all(const char *out, const char *seq_topic, unsigned n, const char *what)
{
    unsigned char *seen = calloc(n, 1);
    unsigned lines = 0, distinct = 0;
    CHECK(seen != NULL);
    for (int i = 0; i < 200 && distinct < n; i++) {
        distinct = sub_count(out, seq_topic, n, &lines, seen);
        if (distinct < n) {
            sleep_ms(50);
        }
    }
    printf("%s: subscriber got %u of %u messages (%u deliveries, %u duplicates)\n", what,
           distinct, n, lines, lines - distinct);
    for (unsigned i = 0; i < n && distinct < n; i++) {
        if (!seen[i]) {
            fprintf(stderr, "%s: message %u never arrived\n", what, i);
        }
    }
    free(seen);
    CHECK(distinct == n);
}

/* ---- scenarios ---------------------------------------------------------------------- */

static void scenario_basic(void)
{
    static client_t c;
    cl_init(&c);
    CHECK_OK(cl_connect(&c, g_port, "ward-basic", true, 30));
    CHECK(!c.session_present);
    const ward_mqtt_filter_t f[] = {{"devices/basic/#", 15, 1}, {"devices/basic0/+", 16, 0}};
    CHECK_OK(ward_mqtt_subscribe(&c.m, NULL, f, 2));
    CHECK_OK(cl_run(&c, 3000, subacks_at_least, 1));
    CHECK(c.n_codes == 2 && c.codes[0] == 1 && c.codes[1] == 0);
    /* To itself, QoS 0 then QoS 1; back at min(publish, granted) QoS. */
    cl_publish(&c, "devices/basic/q0", "zero", 0);
    CHECK_OK(cl_run(&c, 3000, msgs_at_least, 1));
    CHECK(strcmp(c.last_topic, "devices/basic/q0") == 0 && strcmp(c.last_payload, "zero") == 0);
    CHECK(c.last_qos == 0);
    cl_publish(&c, "devices/basic/q1", "one", 1);
    CHECK_OK(cl_run(&c, 3000, msgs_at_least, 2));
    CHECK_OK(cl_run(&c, 3000, inflight_at_most, 0));
    CHECK(c.pubacks == 1);
    CHECK(strcmp(c.last_topic, "devices/basic/q1") == 0 && strcmp(c.last_payload, "one") == 0);
    CHECK(c.last_qos == 1);
    cl_publish(&c, "devices/basic0/x", "granted-0", 1);
    CHECK_OK(cl_run(&c, 3000, msgs_at_least, 3));
    CHECK(c.last_qos == 0); /* the filter was granted QoS 0 */
    /* Unsubscribed: a later QoS 1 publish is acknowledged, not delivered. */
    CHECK_OK(ward_mqtt_unsubscribe(&c.m, NULL, f, 1));
    CHECK_OK(cl_run(&c, 3000, unsubacks_at_least, 1));
    cl_publish(&c, "devices/basic/after", "gone", 1);
    CHECK_OK(cl_run(&c, 3000, inflight_at_most, 0));
    CHECK_OK(cl_run(&c, 500, NULL, 0));
    CHECK(c.msgs == 3);
    CHECK_OK(ward_mqtt_disconnect(&c.m));
    CHECK_OK(cl_flush(&c));
    cl_drop(&c);
    printf("basic: SUBACK {1, 0}, QoS 0 and 1 round trips, UNSUBACK, DISCONNECT: ok\n");
}

static void scenario_qos_limit(void)
{
    static client_t c;
    cl_init(&c);
    CHECK_OK(cl_connect(&c, g_port_q0, "ward-q0", true, 30));
    const ward_mqtt_filter_t f[] = {{"devices/q0/#", 12, 1}};
    CHECK_OK(ward_mqtt_subscribe(&c.m, NULL, f, 1));
    CHECK_OK(cl_run(&c, 3000, subacks_at_least, 1));
    CHECK(c.n_codes == 1 && c.codes[0] == 0);
    cl_drop(&c);
    printf("qos-limit: QoS 1 asked, QoS 0 granted by a max_qos 0 listener: ok\n");
}

static bool pings_at_least(const client_t *c, unsigned arg)
{
    return c->pingresps >= arg;
}

static void scenario_keepalive(void)
{
    static client_t c;
    cl_init(&c);
    CHECK_OK(cl_connect(&c, g_port, "ward-ka", true, 1));
    const uint32_t t0 = now_ms();
    CHECK_OK(cl_run(&c, 6000, pings_at_least, 3));
    const uint32_t el = now_ms() - t0;
    CHECK(el >= 2500 && el < 4500); /* one PINGREQ per idle second */
    cl_publish(&c, "devices/ka/x", "alive", 1);
    CHECK_OK(cl_run(&c, 3000, inflight_at_most, 0));
    cl_drop(&c);
    printf("keepalive: 3 PINGREQ/PINGRESP in %u ms of idling, still connected: ok\n", el);
}

/* Publish n QoS 1 messages "0".."n-1" on topic; call `cut` once after
 * message `at` has been written to the socket with its PUBACK unread. */
static void stream(client_t *c, const char *id, const char *topic, unsigned n, unsigned at,
                   void (*cut)(client_t *c), unsigned *resent, unsigned *attempts,
                   uint32_t *slept)
{
    for (unsigned seq = 0; seq < n;) {
        char payload[16];
        snprintf(payload, sizeof payload, "%u", seq);
        const ward_mqtt_msg_t msg = {.topic = topic, .topic_len = strlen(topic),
                                     .payload = (const uint8_t *)payload,
                                     .payload_len = strlen(payload), .qos = 1};
        ward_err_t err = ward_mqtt_publish(&c->m, NULL, &msg);
        if (err == WARD_ERR_NO_SPACE) {
            err = cl_run(c, 50, inflight_at_most, WARD_CONFIG_MQTT_INFLIGHT_MAX - 1);
            if (err == WARD_ERR_NET_TIMEOUT) {
                err = WARD_OK;
            }
        } else {
            CHECK_OK(err);
            if (seq == at) {
                CHECK_OK(cl_flush(c));
                CHECK(ward_mqtt_inflight(&c->m) > 0);
                cut(c);
            }
            seq++;
            err = cl_flush(c);
        }
        if (err != WARD_OK) {
            /* The connection is gone: everything unacknowledged goes
             * again after the next CONNACK. */
            cl_drop(c);
            *resent += (unsigned)ward_mqtt_inflight(&c->m);
            *attempts += cl_reconnect(c, id, slept);
        }
    }
    for (;;) {
        const ward_err_t err = cl_run(c, 10000, inflight_at_most, 0);
        if (err == WARD_OK) {
            break;
        }
        CHECK(err != WARD_ERR_NET_TIMEOUT);
        cl_drop(c);
        *resent += (unsigned)ward_mqtt_inflight(&c->m);
        *attempts += cl_reconnect(c, id, slept);
    }
}

static void cut_socket(client_t *c)
{
    /* Close without reading a single PUBACK: the broker may have some of
     * these messages, the engine does not know which. */
    close(c->fd);
    c->fd = -1;
}

static void scenario_drop(unsigned n)
{
    static client_t c;
    cl_init(&c);
    g_subs[0] = sub_start("ward-sub-drop", "devices/drop/#", "sub-drop.txt");
    CHECK_OK(cl_connect(&c, g_port, "ward-drop", true, 30)); /* start from no session */
    cl_drop(&c);
    CHECK_OK(cl_connect(&c, g_port, "ward-drop", false, 30));
    sub_wait_ready(&c, "devices/drop/ready", "sub-drop.txt");
    unsigned resent = 0, attempts = 0;
    uint32_t slept = 0;
    stream(&c, "ward-drop", "devices/drop/seq", n, n / 2, cut_socket, &resent, &attempts, &slept);
    CHECK(resent > 0);
    CHECK(c.session_present); /* the broker kept the session */
    sub_wait_all("sub-drop.txt", "devices/drop/seq", n, "drop");
    printf("drop: socket closed with %u QoS 1 unacknowledged, resent with DUP after CONNACK"
           " (session present): ok\n",
           resent);
    cl_drop(&c);
    stop(&g_subs[0], SIGTERM);
}

/* The stream being cut: what the subscriber must have before the kill. */
static unsigned g_cut_at;

static void cut_broker(client_t *c)
{
    /* Mosquitto sends PUBACK before it has delivered or saved a message, so
     * a SIGKILL loses what it acknowledged but had not yet written to the
     * subscriber: no client can recover that. So first let the subscriber
     * get every message the broker acknowledged (all but the ones still in
     * the engine's store, which are the last ones, in order), without
     * reading the device's socket; then kill with those in flight. */
    const unsigned acked = g_cut_at + 1u - (unsigned)ward_mqtt_inflight(&c->m);
    unsigned char *seen = calloc(acked + 1u, 1);
    unsigned lines = 0;
    CHECK(seen != NULL);
    for (int i = 0; i < 200 && sub_count("sub-kill.txt", "devices/kill/seq", acked, &lines, seen) < acked;
         i++) {
        sleep_ms(50);
    }
    CHECK(sub_count("sub-kill.txt", "devices/kill/seq", acked, &lines, seen) == acked);
    free(seen);
    stop(&g_broker, SIGKILL);
    /* Down for 700 ms: the device's first reconnects are refused. */
    g_restart_at = now_ms() + 700u;
    g_restart_pending = true;
}

static void scenario_kill(unsigned n)
{
    static client_t c;
    cl_init(&c);
    g_subs[1] = sub_start("ward-sub-kill", "devices/kill/#", "sub-kill.txt");
    CHECK_OK(cl_connect(&c, g_port, "ward-kill", false, 30));
    sub_wait_ready(&c, "devices/kill/ready", "sub-kill.txt");
    /* The subscriber's session is on disk before the kill (SIGUSR1 saves
     * the persistence database), so the restarted broker queues for it. */
    CHECK(kill(g_broker, SIGUSR1) == 0);
    sleep_ms(300);
    unsigned resent = 0, attempts = 0;
    uint32_t slept = 0;
    g_cut_at = n / 2;
    stream(&c, "ward-kill", "devices/kill/seq", n, n / 2, cut_broker, &resent, &attempts, &slept);
    CHECK(resent > 0);
    CHECK(attempts > 0 && !g_restart_pending);
    sub_wait_all("sub-kill.txt", "devices/kill/seq", n, "kill");
    printf("kill: broker SIGKILLed mid-stream with %u QoS 1 unacknowledged; %u failed reconnect"
           " attempts, %u ms of back-off; all resent: ok\n",
           resent, attempts, slept);
    cl_drop(&c);
    stop(&g_subs[1], SIGTERM);
}

int main(int argc, char **argv)
{
    const unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200u;
    setvbuf(stdout, NULL, _IOLBF, 0);
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGALRM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    alarm(240);
    snprintf(g_dir, sizeof g_dir, "/tmp/ward-mqtt-XXXXXX");
    CHECK(mkdtemp(g_dir) != NULL);
    snprintf(g_conf, sizeof g_conf, "%s/mosquitto.conf", g_dir);
    g_port = free_port();
    do {
        g_port_q0 = free_port();
    } while (g_port_q0 == g_port);
    write_conf();
    broker_start();
    printf("mosquitto on 127.0.0.1:%u (and :%u with max_qos 0), in %s\n", g_port, g_port_q0,
           g_dir);
    const char *only = getenv("WARD_MQTT_ONLY");
    if (only == NULL || strcmp(only, "basic") == 0) {
        scenario_basic();
        scenario_qos_limit();
        scenario_keepalive();
    }
    if (only == NULL || strcmp(only, "drop") == 0) {
        scenario_drop(n);
    }
    if (only == NULL || strcmp(only, "kill") == 0) {
        scenario_kill(n);
    }
    printf("all scenarios passed\n");
    return 0;
}
