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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
