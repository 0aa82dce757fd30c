/*
 * Red-team tests of the fleet side (tools/fleet over tools/factory's CA
 * records): what a long-running rotation service, concurrent operators and
 * devices asking at the same time do to the records and the CRL. One factory
 * (keys in files) is made per run.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>
#include <psa/crypto.h>

#include "ward/crypto.h"
#include "ward_fleet.h"

static char g_dir[64];
static char g_factory[128];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(ward_crypto_init(), WARD_OK);
    snprintf(g_dir, sizeof g_dir, "/tmp/ward-test-fleet-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    snprintf(g_factory, sizeof g_factory, "%s/factory", g_dir);
    ward_factory_init_opts_t o;
    ward_factory_init_result_t r;
    char why[512] = "";
    memset(&o, 0, sizeof o);
    o.dir = g_factory;
    if (ward_factory_init(&o, &r, why, sizeof why) != WARD_OK) {
        fail_msg("factory init: %s", why);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd);
}

static void open_fleet(ward_fleet_t *f)
{
    ward_fleet_paths_t p;
    char why[256] = "";
    ward_fleet_paths_default(&p, g_factory);
    if (ward_fleet_open(f, &p, why, sizeof why) != WARD_OK) {
        fail_msg("fleet open: %s", why);
    }
}

static unsigned long crl_number(void)
{
    char p[300], buf[64] = "";
    snprintf(p, sizeof p, "%s/ca/crlnumber", g_factory);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    return strtoul(buf, NULL, 10);
}

/* A TCP port on 127.0.0.1 where nothing listens (bound, then closed). */
static uint16_t dead_port(void)
{
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ---- certificates to revoke ------------------------------------------------------------ */

static ward_err_t psa_sign(void *ctx, const uint8_t hash[32], uint8_t sig[64])
{
    size_t n = 0;
    const psa_key_id_t *k = ctx;
    return psa_sign_hash(*k, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, 32, sig, 64, &n) == PSA_SUCCESS &&
                   n == 64
               ? WARD_OK
               : WARD_ERR_CRYPTO;
}

/* A CSR for a new P-256 key, CN id (DER). */
static size_t make_csr(const char *id, uint8_t *csr, size_t cap)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t k = PSA_KEY_ID_NULL;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
    assert_int_equal(psa_generate_key(&a, &k), PSA_SUCCESS);
    uint8_t pub[65];
    size_t n = 0, len = 0;
    assert_int_equal(psa_export_public_key(k, pub, sizeof pub, &n), PSA_SUCCESS);
    assert_int_equal(ward_factory_csr_build(id, pub, psa_sign, &k, csr, cap, &len), WARD_OK);
    (void)psa_destroy_key(k);
    return len;
}

/* Issue a device certificate for id; its serial. */
static void issue(ward_fleet_t *f, const char *id, uint8_t serial[WARD_FACTORY_SERIAL_LEN])
{
    uint8_t csr[WARD_FACTORY_CSR_DER_MAX], der[WARD_FACTORY_CERT_DER_MAX];
    size_t dl = 0;
    const size_t cl = make_csr(id, csr, sizeof csr);
    assert_int_equal(ward_fleet_issue(f, csr, cl, id, 30, der, sizeof der, &dl, serial, NULL),
                     WARD_OK);
}

/* Whether the factory's crl.pem lists serial. */
static bool crl_lists(const uint8_t serial[WARD_FACTORY_SERIAL_LEN])
{
    char p[300];
    snprintf(p, sizeof p, "%s/ca/crl.pem", g_factory);
    mbedtls_x509_crl crl;
    mbedtls_x509_crl_init(&crl);
    assert_int_equal(mbedtls_x509_crl_parse_file(&crl, p), 0);
    bool found = false;
    for (const mbedtls_x509_crl_entry *e = &crl.entry; e != NULL && e->raw.len > 0u; e = e->next) {
        found = found || (e->serial.len == WARD_FACTORY_SERIAL_LEN &&
                          memcmp(e->serial.p, serial, WARD_FACTORY_SERIAL_LEN) == 0);
    }
    mbedtls_x509_crl_free(&crl);
    return found;
}

/* Children that wait at a barrier (a pipe the parent closes), then run. */
typedef struct {
    int fd[2];
} barrier_t;

static void barrier_init(barrier_t *b)
{
    assert_int_equal(pipe(b->fd), 0);
}

static void barrier_wait(barrier_t *b) /* in a child */
{
    char c;
    close(b->fd[1]);
    while (read(b->fd[0], &c, 1) > 0) {
    }
}

static void barrier_release(barrier_t *b) /* in the parent */
{
    close(b->fd[0]);
    close(b->fd[1]);
}

static void wait_children(const pid_t *pids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

/*
 * Operators revoking while the service (or `ward fleet crl`) writes the CRL
 * again: a revocation appends its serial to revoked.txt and writes the CRL
 * from what it read, as does a refresh. Every revoked serial must end up in
 * the CRL the broker reads, and no two CRLs may share a cRLNumber (RFC 5280:
 * it grows with each CRL).
 */
#define REVOKERS 4
#define REFRESHERS 6
#define REFRESHES 1
static void test_concurrent_revocations(void **state)
{
    (void)state;
    ward_fleet_t f;
    int lost = 0, reused = 0;
    open_fleet(&f);
    for (int round = 0; round < 20; round++) {
        uint8_t serial[REVOKERS][WARD_FACTORY_SERIAL_LEN];
        for (int i = 0; i < REVOKERS; i++) {
            char id[32];
            snprintf(id, sizeof id, "race-%d-%d", round, i);
            issue(&f, id, serial[i]);
        }
        const unsigned long n0 = crl_number();
        barrier_t b;
        barrier_init(&b);
        pid_t pids[REVOKERS + REFRESHERS];
        for (int i = 0; i < REVOKERS + REFRESHERS; i++) {
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] == 0) {
                barrier_wait(&b);
                ward_err_t err = WARD_OK;
                if (i < REVOKERS) {
                    err = ward_factory_revoke(f.ca, serial[i], WARD_FACTORY_SERIAL_LEN, 0);
                } else {
                    for (int k = 0; k < REFRESHES && err == WARD_OK; k++) {
                        err = ward_factory_crl_refresh(f.ca, 0);
                    }
                }
                _exit(err == WARD_OK ? 0 : 1);
            }
        }
        barrier_release(&b);
        wait_children(pids, REVOKERS + REFRESHERS);
        int missing = 0;
        for (int i = 0; i < REVOKERS; i++) {
            missing += crl_lists(serial[i]) ? 0 : 1;
        }
        const unsigned long want = n0 + REVOKERS + REFRESHERS * REFRESHES;
        printf("round %d: %d of %d revoked serials missing from crl.pem; cRLNumber %lu -> %lu "
               "(%lu CRLs written)\n",
               round, missing, REVOKERS, n0, crl_number(), want - n0);
        lost += missing;
        reused += crl_number() != want ? 1 : 0;
    }
    ward_fleet_close(&f);
    assert_int_equal(lost, 0);
    assert_int_equal(reused, 0);
}

/*
 * `ward fleet revoke ID` (a stolen device) while that device keeps asking
 * the rotation service for certificates over its still-open connection: a
 * certificate the service issues while the revocation runs must not
 * survive it. Afterwards the device holds no valid, unrevoked certificate
 * (so the service refuses it from then on) and every certificate on record
 * for it is revoked.
 */
static void test_revoke_while_rotating(void **state)
{
    (void)state;
    ward_fleet_t f;
    int survived = 0, never_refused = 0;
    open_fleet(&f);
    for (int round = 0; round < 3; round++) {
        char id[32], topic[64];
        uint8_t serial[WARD_FACTORY_SERIAL_LEN];
        snprintf(id, sizeof id, "stolen-%d", round);
        snprintf(topic, sizeof topic, "devices/%s/csr", id);
        issue(&f, id, serial);
        barrier_t b;
        barrier_init(&b);
        pid_t pids[2];
        for (int i = 0; i < 2; i++) {
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] != 0) {
                continue;
            }
            barrier_wait(&b);
            if (i == 0) { /* the service, answering the device until it is refused */
                for (int k = 0; k < 200; k++) {
                    uint8_t csr[WARD_FACTORY_CSR_DER_MAX], der[WARD_FACTORY_CERT_DER_MAX], sn[16];
                    char got[WARD_FACTORY_ID_MAX + 1];
                    size_t dl = 0;
                    const char *why = NULL;
                    const size_t cl = make_csr(id, csr, sizeof csr);
                    const ward_err_t err =
                        ward_fleet_answer(&f, topic, strlen(topic), csr, cl, 30, (int64_t)time(NULL),
                                          got, der, sizeof der, &dl, sn, &why);
                    if (err != WARD_OK) {
                        _exit(err == WARD_ERR_CLOUD_CSR ? 0 : 1);
                    }
                }
                _exit(2); /* never refused */
            }
            sleep_ms(20); /* the operator, once the device is at it */
            size_t count = 0;
            _exit(ward_fleet_revoke(&f, id, NULL, (int64_t)time(NULL), &count) == WARD_OK ? 0 : 1);
        }
        barrier_release(&b);
        int st_service = 0, st_operator = 0;
        assert_int_equal(waitpid(pids[0], &st_service, 0), pids[0]);
        assert_int_equal(waitpid(pids[1], &st_operator, 0), pids[1]);
        assert_true(WIFEXITED(st_operator) && WEXITSTATUS(st_operator) == 0);
        assert_true(WIFEXITED(st_service));
        const bool refused = WEXITSTATUS(st_service) == 0;
        never_refused += refused ? 0 : 1;
        ward_fleet_entry_t *all = NULL;
        size_t n = 0, live = 0;
        assert_int_equal(ward_fleet_list(&f, id, &all, &n), WARD_OK);
        for (size_t i = 0; i < n; i++) {
            live += all[i].revoked ? 0u : 1u;
        }
        free(all);
        printf("round %d: %zu certificates of %s on record, %zu not revoked after ward fleet "
               "revoke; the service %s\n",
               round, n, id, live,
               refused ? "refused it afterwards" : "answered it 200 times, never refused");
        survived += (int)live;
    }
    ward_fleet_close(&f);
    assert_int_equal(survived, 0);
    assert_int_equal(never_refused, 0);
}

/* A device id may be one character (ward_factory_device_id_check: 1..64):
 * its requests, devices/x/csr, are answered like any other; topics that are
 * not devices/<id>/csr are no requests. */
static void test_one_character_id(void **state)
{
    (void)state;
    ward_fleet_t f;
    open_fleet(&f);
    uint8_t serial[WARD_FACTORY_SERIAL_LEN], csr[WARD_FACTORY_CSR_DER_MAX];
    uint8_t der[WARD_FACTORY_CERT_DER_MAX];
    char id[WARD_FACTORY_ID_MAX + 1];
    size_t dl = 0;
    const char *why = NULL;
    assert_int_equal(ward_factory_device_id_check("x"), WARD_OK);
    issue(&f, "x", serial);
    const size_t cl = make_csr("x", csr, sizeof csr);
    static const char k_topic[] = "devices/x/csr";
    assert_true(ward_fleet_csr_topic(k_topic, strlen(k_topic), id));
    assert_string_equal(id, "x");
    assert_int_equal(ward_fleet_answer(&f, k_topic, strlen(k_topic), csr, cl, 30,
                                       (int64_t)time(NULL), id, der, sizeof der, &dl, serial, &why),
                     WARD_OK);
    assert_true(dl > 0u);
    static const char *const k_not[] = {"devices//csr", "devices/csr", "devices/x/cs",
                                        "device/x/csr", "devices/x/csrr"};
    for (size_t i = 0; i < sizeof k_not / sizeof k_not[0]; i++) {
        assert_false(ward_fleet_csr_topic(k_not[i], strlen(k_not[i]), id));
    }
    /* An id with a NUL in it (found by fuzz_csr): devices/x\0y/csr was taken
     * as x's request. MQTT forbids U+0000 in a topic and Mosquitto drops
     * such a client, but the service must not rely on the broker for it. */
    static const char k_nul[] = "devices/x\0y/csr";
    assert_false(ward_fleet_csr_topic(k_nul, sizeof k_nul - 1u, id));
    ward_fleet_close(&f);
}

/*
 * `ward fleet revoke` signals the broker through its pid file. A stale pid
 * file (a broker that was killed, its pid since reused) or one written by
 * someone else must not make the operator's revoke send SIGHUP, whose
 * default action ends a process, to whatever now has that pid.
 */
static void test_reload_only_the_broker(void **state)
{
    (void)state;
    ward_fleet_t f;
    open_fleet(&f);
    const pid_t victim = fork();
    assert_true(victim >= 0);
    if (victim == 0) {
        execlp("sleep", "sleep", "30", (char *)NULL);
        _exit(127);
    }
    sleep_ms(200);
    FILE *pf = fopen(f.paths.pid, "w");
    assert_non_null(pf);
    fprintf(pf, "%ld\n", (long)victim);
    fclose(pf);
    const ward_err_t err = ward_fleet_reload_broker(&f);
    sleep_ms(200);
    int status = 0;
    const pid_t done = waitpid(victim, &status, WNOHANG);
    printf("reload: %s; the process named by the pid file (sleep) %s\n", ward_err_name(err),
           done == victim ? "was killed" : "still runs");
    if (done != victim) {
        kill(victim, SIGKILL);
        waitpid(victim, &status, 0);
    }
    unlink(f.paths.pid);
    ward_fleet_close(&f);
    assert_int_equal(done, 0);
    assert_int_not_equal(err, WARD_OK);
}

/* A CSR written by Mbed TLS with any subject and extensions, for a new key
 * (DER, moved to the front of csr). */
static size_t odd_csr(const char *subject, bool extensions, uint8_t *csr, size_t cap)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t k = PSA_KEY_ID_NULL;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
    assert_int_equal(psa_generate_key(&a, &k), PSA_SUCCESS);
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    assert_int_equal(mbedtls_pk_setup_opaque(&pk, k), 0);
    mbedtls_x509write_csr w;
    mbedtls_x509write_csr_init(&w);
    mbedtls_x509write_csr_set_key(&w, &pk);
    mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
    assert_int_equal(mbedtls_x509write_csr_set_subject_name(&w, subject), 0);
    if (extensions) {
        static unsigned char host[] = "localhost";
        mbedtls_x509_san_list san = {.node = {.type = MBEDTLS_X509_SAN_DNS_NAME}, .next = NULL};
        san.node.san.unstructured_name.p = host;
        san.node.san.unstructured_name.len = sizeof host - 1u;
        assert_int_equal(mbedtls_x509write_csr_set_subject_alternative_name(&w, &san), 0);
        assert_int_equal(mbedtls_x509write_csr_set_key_usage(&w, MBEDTLS_X509_KU_KEY_CERT_SIGN), 0);
        static const unsigned char k_bc[] = {0x30, 0x03, 0x01, 0x01, 0xFF}; /* CA:TRUE */
        assert_int_equal(mbedtls_x509write_csr_set_extension(&w, MBEDTLS_OID_BASIC_CONSTRAINTS,
                                                             MBEDTLS_OID_SIZE(MBEDTLS_OID_BASIC_CONSTRAINTS),
                                                             0, k_bc, sizeof k_bc),
                         0);
        static const unsigned char k_eku[] = {0x30, 0x0A, 0x06, 0x08, 0x2B, 0x06, 0x01,
                                              0x05, 0x05, 0x07, 0x03, 0x01}; /* serverAuth */
        assert_int_equal(mbedtls_x509write_csr_set_extension(&w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                                             MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE),
                                                             0, k_eku, sizeof k_eku),
                         0);
    }
    const int n = mbedtls_x509write_csr_der(&w, csr, cap, mbedtls_psa_get_random,
                                            MBEDTLS_PSA_RANDOM_STATE);
    assert_true(n > 0);
    memmove(csr, csr + cap - (size_t)n, (size_t)n);
    mbedtls_x509write_csr_free(&w);
    mbedtls_pk_free(&pk);
    (void)psa_destroy_key(k);
    return (size_t)n;
}

/*
 * What a device with a valid certificate for plug-odd can put into its CSR
 * to get something else: another case, a look-alike, '/' or '+' in the
 * name, a PrintableString with a space after, no CN, a space after the CN:
 * refused (an embedded NUL or two CNs: Mbed TLS will not write them;
 * name_cn refuses both). A CSR for its own id that asks for a SAN, CA:TRUE,
 * keyCertSign and serverAuth, with more in the subject: the certificate has
 * none of it (CN=plug-odd alone, the device profile).
 */
static void test_csr_tricks(void **state)
{
    (void)state;
    ward_fleet_t f;
    open_fleet(&f);
    uint8_t serial[WARD_FACTORY_SERIAL_LEN], csr[1024], der[WARD_FACTORY_CERT_DER_MAX];
    char id[WARD_FACTORY_ID_MAX + 1];
    const char *why = NULL;
    size_t dl = 0;
    issue(&f, "plug-odd", serial);
    static const char k_topic[] = "devices/plug-odd/csr";
    static const char *const k_refused[] = {
        "CN=PLUG-ODD", "CN=plug\xE2\x80\x90odd", "CN=#1309706C75672D6F646420", /* then a space */
        "CN=plug-odd/x", "CN=plug-odd+x", "O=plug-odd",
        "CN=plug-odd ",
    };
    for (size_t i = 0; i < sizeof k_refused / sizeof k_refused[0]; i++) {
        const size_t n = odd_csr(k_refused[i], false, csr, sizeof csr);
        const ward_err_t err = ward_fleet_answer(&f, k_topic, strlen(k_topic), csr, n, 30,
                                                 (int64_t)time(NULL), id, der, sizeof der, &dl,
                                                 serial, &why);
        printf("CSR subject %-32s -> %s (%s)\n", k_refused[i], ward_err_name(err),
               why != NULL ? why : "");
        assert_int_equal(err, WARD_ERR_CLOUD_CSR);
    }
    const size_t n = odd_csr("CN=plug-odd,O=evil,OU=ca", true, csr, sizeof csr);
    assert_int_equal(ward_fleet_answer(&f, k_topic, strlen(k_topic), csr, n, 30,
                                       (int64_t)time(NULL), id, der, sizeof der, &dl, serial, &why),
                     WARD_OK);
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    assert_int_equal(mbedtls_x509_crt_parse_der(&crt, der, dl), 0);
    char dn[256];
    assert_true(mbedtls_x509_dn_gets(dn, sizeof dn, &crt.subject) > 0);
    assert_string_equal(dn, "CN=plug-odd");
    assert_int_equal(mbedtls_x509_crt_get_ca_istrue(&crt), 0);
    assert_false(mbedtls_x509_crt_has_ext_type(&crt, MBEDTLS_X509_EXT_SUBJECT_ALT_NAME));
    assert_int_equal(mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_KEY_CERT_SIGN),
                     MBEDTLS_ERR_X509_BAD_INPUT_DATA);
    assert_int_not_equal(mbedtls_x509_crt_check_extended_key_usage(
                             &crt, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)),
                         0);
    assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(
                         &crt, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)),
                     0);
    mbedtls_x509_crt_free(&crt);
    ward_fleet_close(&f);
}

/*
 * The CRL has a nextUpdate 30 days out; once it has passed, OpenSSL (and
 * so Mosquitto) refuses every client. `ward fleet serve` is meant to run
 * for good and rewrites the CRL when it is more than a day old: not only
 * when it starts. Here the CRL turns two days old while the service runs
 * (its broker is away, so it is in its reconnect loop): it must be written
 * again before the service stops.
 */
static void test_serve_keeps_the_crl_fresh(void **state)
{
    (void)state;
    ward_fleet_t f;
    open_fleet(&f);
    assert_int_equal(ward_factory_crl_refresh(f.ca, 0), WARD_OK); /* fresh at the start */
    const unsigned long n0 = crl_number();
    char crl[300];
    snprintf(crl, sizeof crl, "%s/ca/crl.pem", g_factory);
    const pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        sleep_ms(1000);
        const time_t old = time(NULL) - 2 * 86400;
        const struct timeval tv[2] = {{old, 0}, {old, 0}};
        _exit(utimes(crl, tv) == 0 ? 0 : 1);
    }
    const ward_fleet_serve_opts_t o = {.host = "127.0.0.1", .port = dead_port(), .seconds = 8,
                                       .log = stdout};
    ward_fleet_serve_stats_t st;
    assert_int_equal(ward_fleet_serve(&f, &o, &st), WARD_OK);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct stat sb;
    assert_int_equal(stat(crl, &sb), 0);
    printf("crlnumber %lu -> %lu; crl.pem is %lld s old\n", n0, crl_number(),
           (long long)(time(NULL) - sb.st_mtime));
    assert_true(crl_number() > n0);
    assert_true(time(NULL) - sb.st_mtime < 3600);
    ward_fleet_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_keeps_the_crl_fresh),
        cmocka_unit_test(test_concurrent_revocations),
        cmocka_unit_test(test_revoke_while_rotating),
        cmocka_unit_test(test_one_character_id),
        cmocka_unit_test(test_reload_only_the_broker),
        cmocka_unit_test(test_csr_tricks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
