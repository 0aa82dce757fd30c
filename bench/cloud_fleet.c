/*
 * Fleet bench (bench/cloud-fleet.sh runs it): N simulated devices in this
 * process, each with its own identity key (a simulated HSM each) and its
 * own certificate from the factory CA, connect to one Mosquitto on
 * loopback over mutual TLS 1.3 (src/cloud's client, the real thing) and
 * each publishes M QoS 1 messages; an independent mosquitto_sub with a
 * monitor certificate counts them.
 *
 *   cloud_fleet_bench FACTORY PORT OUT_DIR [N [M]]
 *
 * Prints (and OUT_DIR/figures.txt gets) connect time per device (the TLS
 * handshake with the device key in PSA, CONNECT, CONNACK; p50/p99, devices
 * connected one after the other), publish throughput, delivery count, and
 * memory: the client context, its buffers and the heap Mbed TLS holds per
 * open connection (mallinfo2 before and after).
 *
 * The devices run in worker processes of PER_WORKER each: the host's Mbed
 * TLS is configured with PSA's static key store (32 slots), and every
 * device holds five for as long as it is connected (its identity key, as
 * its HSM hands it out, and four that Mbed TLS 3.6 keeps for TLS 1.3 record
 * protection, counted with mbedtls_psa_get_stats), plus a few transient
 * ones during a handshake. The
 * workers connect one after the other (so a connect time is one device's,
 * not a queue's) and publish all at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/pk.h>
#include <psa/crypto.h>

#include "ward/cloud.h"
#include "ward/crypto.h"
#include "ward/sim.h"
#include "ward_factory.h"

#define TX_SIZE 1024u
#define RX_SIZE 1024u
#define STORE_SIZE 2048u
#define PER_WORKER 5u
#define WORKERS_MAX 64u

typedef struct {
    uint8_t der[1024];
    size_t len;
    bool has;
} slot_t;

typedef struct {
    ward_sim_hsm_t hsm;
    slot_t slot[2];
    ward_cloud_certs_t certs;
    ward_sim_net_t net;
    ward_cloud_config_t cfg;
    ward_cloud_t c;
    uint8_t tx[TX_SIZE], rx[RX_SIZE], store[STORE_SIZE];
    char id[32];
    unsigned published;
} bdev_t;

static pid_t g_sub = -1;

static void cleanup(void)
{
    if (g_sub > 0) {
        kill(g_sub, SIGTERM);
        waitpid(g_sub, NULL, 0);
        g_sub = -1;
    }
}

static void die(const char *what, ward_err_t err)
{
    fprintf(stderr, "cloud_fleet_bench: %s: %s\n", what, ward_err_name(err));
    exit(1);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int64_t wall_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static ward_err_t m_load(void *ctx, uint32_t s, uint8_t *buf, size_t cap, size_t *len)
{
    const slot_t *sl = &((bdev_t *)ctx)->slot[s & 1u];
    if (!sl->has) {
        return WARD_ERR_NOT_FOUND;
    }
    if (sl->len > cap) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    memcpy(buf, sl->der, sl->len);
    *len = sl->len;
    return WARD_OK;
}

static ward_err_t m_store(void *ctx, uint32_t s, const uint8_t *der, size_t len)
{
    slot_t *sl = &((bdev_t *)ctx)->slot[s & 1u];
    if (len > sizeof sl->der) {
        return WARD_ERR_NO_SPACE;
    }
    memcpy(sl->der, der, len);
    sl->len = len;
    sl->has = true;
    return WARD_OK;
}

static ward_err_t m_erase(void *ctx, uint32_t s)
{
    ((bdev_t *)ctx)->slot[s & 1u].has = false;
    return WARD_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lines "devices/<id>/telemetry <seq>" of the monitor's output: distinct
 * (device, seq) pairs and all lines. */
static unsigned count_delivered(const char *path, unsigned n, unsigned m, unsigned *lines)
{
    unsigned char *seen = calloc((size_t)n * m, 1);
    char line[256];
    unsigned distinct = 0;
    *lines = 0;
    FILE *f = fopen(path, "r");
    while (seen != NULL && f != NULL && fgets(line, sizeof line, f) != NULL) {
        unsigned d = 0, s = 0;
        if (sscanf(line, "devices/bench-%u/telemetry %u", &d, &s) != 2 || d >= n || s >= m) {
            continue;
        }
        (*lines)++;
        if (!seen[(size_t)d * m + s]) {
            seen[(size_t)d * m + s] = 1;
            distinct++;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    free(seen);
    return distinct;
}


typedef struct {
    uint64_t connect_us[PER_WORKER];
    uint64_t heap; /* bytes held by all this worker's connections */
    uint32_t retries;
} conn_report_t;

typedef struct {
    uint32_t published, reconnects, failed;
} pub_report_t;

static bool rd(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n > 0u) {
        const ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        b += r;
        n -= (size_t)r;
    }
    return true;
}

static bool wr(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0u) {
        const ssize_t r = write(fd, b, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        b += r;
        n -= (size_t)r;
    }
    return true;
}

static uint8_t g_ca_der[2048];
static size_t g_ca_len;

/* The factory's CA (ward factory init): its certificate and its key as
 * factory.conf names it; without records (40 processes issue at once). */
static ward_factory_ca_t *open_ca(const char *factory)
{
    ward_factory_conf_t conf;
    char cert[1100], key[1100], why[256] = "";
    ward_factory_ca_t *ca = NULL;
    if (ward_factory_conf_read(factory, &conf) != WARD_OK) {
        die("factory.conf", WARD_ERR_NOT_FOUND);
    }
    snprintf(cert, sizeof cert, "%s/ca/ca.pem", factory);
    if (conf.ca_key[0] == '/' || strncmp(conf.ca_key, "pkcs11:", 7) == 0) {
        snprintf(key, sizeof key, "%s", conf.ca_key);
    } else {
        snprintf(key, sizeof key, "%s/%s", factory, conf.ca_key);
    }
    const ward_err_t err = ward_factory_ca_load(cert, key, &ca, why, sizeof why);
    if (err != WARD_OK) {
        fprintf(stderr, "cloud_fleet_bench: %s\n", why);
        die("factory CA", err);
    }
    const uint8_t *der = ward_factory_ca_cert(ca, &g_ca_len);
    memcpy(g_ca_der, der, g_ca_len);
    return ca;
}

static uint16_t g_port;
static unsigned g_m;

/* One worker: devices [first, first + count). Commands on in: 'C'
 * connect (reply conn_report_t), 'P' publish (reply pub_report_t), 'Q'. */
static void worker(const char *factory, unsigned first, unsigned count, int in, int out)
{
    static bdev_t devs[PER_WORKER];
    if (ward_crypto_init() != WARD_OK) {
        die("PSA", WARD_ERR_CRYPTO);
    }
    ward_factory_ca_t *ca = open_ca(factory);
    ward_err_t err = WARD_OK;
    ward_sim_rng_t rng;
    ward_sim_clock_t clk;
    ward_sim_rng_init(&rng, NULL, 0);
    ward_sim_clock_init(&clk, false);
    for (unsigned i = 0; i < count; i++) {
        bdev_t *d = &devs[i];
        snprintf(d->id, sizeof d->id, "bench-%u", first + i);
        uint8_t csr[WARD_CLOUD_CSR_MAX], der[1024];
        size_t cl = 0, dl = 0;
        uint32_t k = 0;
        const char *why = NULL;
        if ((err = ward_sim_hsm_open(&d->hsm, NULL, NULL, true)) != WARD_OK ||
            (err = d->hsm.port.id_generate(d->hsm.port.ctx)) != WARD_OK ||
            (err = d->hsm.port.id_key(d->hsm.port.ctx, &k)) != WARD_OK ||
            (err = ward_cloud_csr(csr, sizeof csr, &cl, d->id, strlen(d->id), k)) != WARD_OK ||
            (err = ward_factory_issue_cert(ca, csr, cl,
                                           &(ward_factory_cert_opts_t){.profile = WARD_FACTORY_PROFILE_DEVICE,
                                                                       .cn = d->id},
                                           der, sizeof der, &dl, NULL)) != WARD_OK) {
            fprintf(stderr, "device %s: %s\n", d->id, why != NULL ? why : "-");
            die("provisioning", err);
        }
        d->certs = (ward_cloud_certs_t){.ctx = d, .load = m_load, .store = m_store, .erase = m_erase};
        ward_cloud_identity_t ident;
        if ((err = ward_cloud_identity_install(&ident, &d->hsm.port, &d->certs, der, dl, g_ca_der,
                                               g_ca_len)) != WARD_OK) {
            die("install", err);
        }
        ward_sim_net_init(&d->net);
        d->cfg = (ward_cloud_config_t){.net = &d->net.port, .hsm = &d->hsm.port, .rng = &rng.port,
                                       .clock = &clk.port, .certs = &d->certs, .host = "localhost",
                                       .port = g_port, .ca = g_ca_der, .ca_len = g_ca_len,
                                       .now = wall_now, .timeout_ms = 10000, .backoff_base_ms = 100,
                                       .backoff_cap_ms = 2000};
    }
    ward_factory_ca_close(ca);
    const char ready = 'R';
    (void)wr(out, &ready, 1);
    char cmd = 0;
    while (rd(in, &cmd, 1) && cmd != 'Q') {
        if (cmd == 'C') {
            conn_report_t r;
            memset(&r, 0, sizeof r);
            const struct mallinfo2 mi0 = mallinfo2();
            for (unsigned i = 0; i < count; i++) {
                bdev_t *d = &devs[i];
                if ((err = ward_cloud_init(&d->c, &d->cfg, d->tx, sizeof d->tx, d->rx, sizeof d->rx,
                                           d->store, sizeof d->store)) != WARD_OK) {
                    die("init", err);
                }
                const uint64_t t0 = now_us();
                ward_cloud_status_t st;
                do {
                    if (ward_cloud_poll(&d->c, 50) != WARD_OK) {
                        r.retries++;
                    }
                    ward_cloud_status(&d->c, &st);
                    if (st.state == WARD_CLOUD_OFFLINE && st.next_attempt_ms > 0u) {
                        usleep(st.next_attempt_ms * 1000u);
                    }
                } while (st.state != WARD_CLOUD_ONLINE && now_us() - t0 < 30000000u);
                if (st.state != WARD_CLOUD_ONLINE) {
                    fprintf(stderr, "device %s (%u of this worker): connects %u failures %u\n", d->id, i, st.connects, st.failures);
                    die("connect", st.last_err);
                }
                r.connect_us[i] = now_us() - t0;
            }
            const struct mallinfo2 mi1 = mallinfo2();
            r.heap = mi1.uordblks > mi0.uordblks ? mi1.uordblks - mi0.uordblks : 0u;
            (void)wr(out, &r, sizeof r);
        } else if (cmd == 'P') {
            pub_report_t r;
            memset(&r, 0, sizeof r);
            unsigned done = 0;
            while (done < count) {
                done = 0;
                for (unsigned i = 0; i < count; i++) {
                    bdev_t *d = &devs[i];
                    while (d->published < g_m) {
                        char msg[16];
                        snprintf(msg, sizeof msg, "%u", d->published);
                        if (ward_cloud_publish(&d->c, "telemetry", (const uint8_t *)msg, strlen(msg), 1,
                                               NULL) != WARD_OK) {
                            break;
                        }
                        d->published++;
                    }
                    if (ward_cloud_poll(&d->c, 0) != WARD_OK) {
                        r.failed++;
                    }
                    ward_cloud_status_t st;
                    ward_cloud_status(&d->c, &st);
                    done += d->published == g_m && st.inflight == 0u;
                }
            }
            for (unsigned i = 0; i < count; i++) {
                ward_cloud_status_t st;
                ward_cloud_status(&devs[i].c, &st);
                r.published += devs[i].published;
                r.reconnects += st.connects - 1u;
            }
            (void)wr(out, &r, sizeof r);
        }
    }
    for (unsigned i = 0; i < count; i++) {
        (void)ward_cloud_disconnect(&devs[i].c);
        ward_cloud_close(&devs[i].c);
        ward_sim_hsm_close(&devs[i].hsm);
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: cloud_fleet_bench FACTORY PORT OUT_DIR [N [M]]\n");
        return 2;
    }
    const char *factory = argv[1];
    g_port = (uint16_t)strtoul(argv[2], NULL, 10);
    const char *out = argv[3];
    const unsigned n = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 200u;
    g_m = argc > 5 ? (unsigned)strtoul(argv[5], NULL, 10) : 100u;
    const unsigned m = g_m;
    const unsigned workers = (n + PER_WORKER - 1u) / PER_WORKER;
    if (n == 0u || workers > WORKERS_MAX) {
        fprintf(stderr, "cloud_fleet_bench: 1 to %u devices\n", WORKERS_MAX * PER_WORKER);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const uint64_t t_prov = now_us();
    /* The workers first: none may inherit this process's PSA random state. */
    int cmd_fd[WORKERS_MAX], res_fd[WORKERS_MAX];
    pid_t pids[WORKERS_MAX];
    for (unsigned w = 0; w < workers; w++) {
        int a[2], b[2];
        if (pipe(a) != 0 || pipe(b) != 0) {
            die("pipe", WARD_ERR_IO);
        }
        const unsigned first = w * PER_WORKER;
        const unsigned count = n - first < PER_WORKER ? n - first : PER_WORKER;
        pids[w] = fork();
        if (pids[w] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(a[1]);
            close(b[0]);
            worker(factory, first, count, a[0], b[1]);
        }
        close(a[0]);
        close(b[1]);
        cmd_fd[w] = a[1];
        res_fd[w] = b[0];
    }
    atexit(cleanup);
    if (ward_crypto_init() != WARD_OK) {
        die("PSA", WARD_ERR_CRYPTO);
    }
    char path[1024];
    ward_factory_ca_t *ca = open_ca(factory);
    /* The monitor: a certificate of its own from the factory CA (service
     * profile, CN monitor@ward: the script's ACL lets it read
     * devices/+/telemetry) and mosquitto_sub. */
    {
        mbedtls_pk_context pk;
        mbedtls_pk_init(&pk);
        psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
        psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
        psa_set_key_bits(&a, 256);
        psa_set_key_usage_flags(&a, PSA_KEY_USAGE_EXPORT | PSA_KEY_USAGE_SIGN_HASH);
        psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_ANY_HASH));
        psa_key_id_t k = 0;
        uint8_t der[WARD_FACTORY_CERT_DER_MAX], csr[WARD_CLOUD_CSR_MAX];
        char pem[WARD_FACTORY_PEM_MAX];
        size_t dl = 0, cl = 0;
        const ward_factory_cert_opts_t o = {.profile = WARD_FACTORY_PROFILE_SERVICE, .cn = "monitor@ward"};
        ward_err_t merr = WARD_ERR_CRYPTO;
        if (psa_generate_key(&a, &k) == PSA_SUCCESS && mbedtls_pk_copy_from_psa(k, &pk) == 0 &&
            (merr = ward_cloud_csr(csr, sizeof csr, &cl, o.cn, strlen(o.cn), k)) == WARD_OK &&
            (merr = ward_factory_issue_cert(ca, csr, cl, &o, der, sizeof der, &dl, NULL)) == WARD_OK) {
            size_t pl = 0;
            merr = ward_factory_pem("CERTIFICATE", der, dl, pem, sizeof pem, &pl);
        }
        if (merr != WARD_OK) {
            die("monitor certificate", merr);
        }
        snprintf(path, sizeof path, "%s/monitor.pem", out);
        FILE *f = fopen(path, "w");
        fputs(pem, f);
        fclose(f);
        if (mbedtls_pk_write_key_pem(&pk, (unsigned char *)pem, sizeof pem) != 0) {
            die("monitor key", WARD_ERR_CRYPTO);
        }
        snprintf(path, sizeof path, "%s/monitor.key", out);
        f = fopen(path, "w");
        fputs(pem, f);
        fclose(f);
        mbedtls_pk_free(&pk);
        psa_destroy_key(k);
    }
    snprintf(path, sizeof path, "%s/delivered.txt", out);
    char portstr[8], cafile[1024], cert[1024], key[1024];
    snprintf(portstr, sizeof portstr, "%u", g_port);
    snprintf(cafile, sizeof cafile, "%s/ca/ca.pem", factory);
    snprintf(cert, sizeof cert, "%s/monitor.pem", out);
    snprintf(key, sizeof key, "%s/monitor.key", out);
    g_sub = fork();
    if (g_sub == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0) {
            _exit(127);
        }
        execlp("mosquitto_sub", "mosquitto_sub", "-h", "localhost", "-p", portstr, "--cafile", cafile,
               "--cert", cert, "--key", key, "-i", "monitor@ward", "-q", "1", "-V", "mqttv311",
               "-t", "devices/+/telemetry", "-v", (char *)NULL);
        _exit(127);
    }
    sleep(1);

    /* Provisioning in the workers (key in each HSM, CSR, certificate). */
    for (unsigned w = 0; w < workers; w++) {
        char c = 0;
        if (!rd(res_fd[w], &c, 1) || c != 'R') {
            die("a worker failed to provision", WARD_ERR_STATE);
        }
    }
    const double prov_s = (double)(now_us() - t_prov) / 1e6;

    /* Connect: one worker after the other, each one device after the other. */
    uint64_t *connect_us = calloc(n, sizeof *connect_us);
    uint64_t heap = 0;
    unsigned retries = 0;
    const uint64_t t_conn = now_us();
    for (unsigned w = 0; w < workers; w++) {
        conn_report_t r;
        const char c = 'C';
        const unsigned first = w * PER_WORKER;
        const unsigned count = n - first < PER_WORKER ? n - first : PER_WORKER;
        if (connect_us == NULL || !wr(cmd_fd[w], &c, 1) || !rd(res_fd[w], &r, sizeof r)) {
            die("connect phase", WARD_ERR_IO);
        }
        memcpy(connect_us + first, r.connect_us, count * sizeof *connect_us);
        heap += r.heap;
        retries += r.retries;
    }
    const double conn_s = (double)(now_us() - t_conn) / 1e6;

    /* Publish: every worker at once. */
    const uint64_t t_pub = now_us();
    unsigned published = 0, reconnects = 0, failed = 0;
    for (unsigned w = 0; w < workers; w++) {
        const char c = 'P';
        (void)wr(cmd_fd[w], &c, 1);
    }
    for (unsigned w = 0; w < workers; w++) {
        pub_report_t r;
        if (!rd(res_fd[w], &r, sizeof r)) {
            die("publish phase", WARD_ERR_IO);
        }
        published += r.published;
        reconnects += r.reconnects;
        failed += r.failed;
    }
    const double pub_s = (double)(now_us() - t_pub) / 1e6;
    unsigned lines = 0, got = 0;
    snprintf(path, sizeof path, "%s/delivered.txt", out);
    for (int i = 0; i < 300 && (got = count_delivered(path, n, m, &lines)) < n * m; i++) {
        usleep(100000);
    }
    for (unsigned w = 0; w < workers; w++) {
        const char c = 'Q';
        (void)wr(cmd_fd[w], &c, 1);
        waitpid(pids[w], NULL, 0);
    }

    qsort(connect_us, n, sizeof *connect_us, cmp_u64);
    const double p50 = (double)connect_us[n / 2u] / 1000.0;
    const double p99 = (double)connect_us[(n * 99u) / 100u < n ? (n * 99u) / 100u : n - 1u] / 1000.0;
    const double pmax = (double)connect_us[n - 1u] / 1000.0;
    const size_t heap_per = (size_t)(heap / n);
    snprintf(path, sizeof path, "%s/figures.txt", out);
    FILE *f = fopen(path, "w");
    FILE *outs[2] = {stdout, f};
    for (int k = 0; k < 2; k++) {
        if (outs[k] == NULL) {
            continue;
        }
        fprintf(outs[k],
                "devices                  %u, each its own P-256 key (simulated HSM, PSA key id) and certificate,\n"
                "                         in %u worker processes of up to %u (PSA's static key store has 32 slots;\n"
                "                         a connected device holds 5: its identity key, 4 for TLS 1.3 records)\n"
                "provisioning             %.2f s, in parallel (key, CSR, certificate; not part of the figures below)\n"
                "connect, one at a time   %.2f s for all; per device p50 %.1f ms, p99 %.1f ms, max %.1f ms\n"
                "                         (TCP, TLS 1.3 handshake with ECDHE and the client certificate signed\n"
                "                         by the key id, CONNECT/CONNACK, SUBSCRIBE)\n"
                "failed attempts          %u while connecting, %u while publishing; %u reconnects\n"
                "publish                  %u x %u QoS 1 messages in %.2f s (%.0f messages/s, all acknowledged: %u)\n"
                "delivered                %u of %u distinct at the monitor (mosquitto_sub, QoS 1), %u deliveries\n"
                "memory per device        ward_cloud_t %zu B + MQTT buffers %u B (tx %u, rx %u, store %u)\n"
                "                         + Mbed TLS heap per open connection %zu B (mallinfo2 over the connects)\n"
                "                         (the simulator's ward_sim_net_t %zu B and HSM %zu B are not a device's)\n",
                n, workers, PER_WORKER, prov_s, conn_s, p50, p99, pmax, retries, failed, reconnects, n, m,
                pub_s, (double)published / pub_s, published, got, n * m, lines, sizeof(ward_cloud_t),
                TX_SIZE + RX_SIZE + STORE_SIZE, TX_SIZE, RX_SIZE, STORE_SIZE, heap_per,
                sizeof(ward_sim_net_t), sizeof(ward_sim_hsm_t));
    }
    if (f != NULL) {
        fclose(f);
    }
    free(connect_us);
    ward_factory_ca_close(ca);
    return got == n * m ? 0 : 1;
}
