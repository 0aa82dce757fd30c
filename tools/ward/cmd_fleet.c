/*
 * ward CLI: the fleet side of device identities (docs/fleet.md).
 *   ward fleet serve|revoke|list|crl|issue FACTORY ...
 * The logic is tools/fleet's; this file parses options and prints.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/x509_csr.h>

#include "cli.h"
#include "commands.h"
#include "ward_fleet.h"

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ward fleet %s: %s (ward fleet %s --help)\n", cmd, msg, cmd);
    return WARD_EXIT_USAGE;
}

static int ffail(const char *cmd, const char *what, ward_err_t err)
{
    char full[32];
    snprintf(full, sizeof full, "fleet %s", cmd);
    return ward_cli_fail(full, what, err);
}

static void help(FILE *f)
{
    fprintf(f,
            "usage: ward fleet <command> FACTORY [options]\n"
            "\n"
            "The fleet side of device identities (docs/fleet.md). FACTORY is the factory\n"
            "directory `ward factory init` made: its CA (key in a file or a PKCS#11 token)\n"
            "and records (ca/issued/, ca/revoked.txt, ca/crl.pem), fleet/fleet.pem and\n"
            "fleet/fleet-key.pem (this service's own client certificate, CN fleet@ward),\n"
            "broker/mosquitto.pid (the broker's pid_file, for the reload after a revocation).\n"
            "\n"
            "commands:\n"
            "  serve   [--broker HOST:PORT] [--days N] [--count N] [--seconds N]\n"
            "          answer certificate requests: subscribed to devices/+/csr with the\n"
            "          service's certificate; a known, unrevoked device whose CSR names it\n"
            "          gets a new certificate (<= 365 days) on devices/<id>/cert\n"
            "  revoke  ID | --serial HEX [--no-reload]\n"
            "          revoke every certificate of device ID (or one serial), write the CRL,\n"
            "          and make the broker read it again (SIGHUP to the pid in the pid file)\n"
            "  list    ID [--json]               the certificates issued for device ID, newest first\n"
            "  crl     [--no-reload]             write the CRL again (it is valid 30 days)\n"
            "  issue   --csr CSR --id ID [--days N] [--out CERT.pem]\n"
            "          issue a device certificate from a CSR offline (recorded by the CA)\n"
            "  renew   broker|web|fleet [--days N] [--new-key] [--no-reload]\n"
            "          a new certificate (default 365 days) for the factory's broker, update\n"
            "          server or fleet service: same names and profile, a new serial, the\n"
            "          same key (or a new one), files replaced atomically; the broker is\n"
            "          reloaded (SIGHUP), nginx and the fleet service are told to\n"
            "\n"
            "The service's paths can be moved with --cert, --key, --server-ca, --pid.\n");
}

typedef struct {
    const char *dir, *broker, *serial, *csr, *id, *out;
    uint32_t days, count, seconds;
    bool json, no_reload, new_key;
    ward_fleet_paths_t paths;
} opts_t;

static int open_fleet(const char *cmd, const opts_t *o, ward_fleet_t *f)
{
    char why[256] = "";
    const ward_err_t err = ward_fleet_open(f, &o->paths, why, sizeof why);
    if (err != WARD_OK) {
        ward_fleet_close(f);
        char what[1400];
        snprintf(what, sizeof what, "cannot open the factory CA of %s%s%s", o->dir,
                 why[0] != '\0' ? ": " : "", why);
        return ffail(cmd, what, err);
    }
    return WARD_EXIT_OK;
}

static void print_time(FILE *out, int64_t t)
{
    char buf[32];
    const time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(buf, out);
}

/* SIGHUP to the broker: Mosquitto reads its CRL and its certificate again. */
static int reload(const ward_fleet_t *f, const opts_t *o, const char *cmd, const char *what)
{
    if (o->no_reload) {
        return WARD_EXIT_OK;
    }
    const ward_err_t err = ward_fleet_reload_broker(f);
    if (err == WARD_ERR_NOT_FOUND) {
        printf("no running Mosquitto named by the pid file (%s): reload the broker yourself\n",
               f->paths.pid);
        return WARD_EXIT_OK;
    }
    if (err != WARD_OK) {
        return ffail(cmd, "cannot signal the broker", err);
    }
    printf("broker reloaded (SIGHUP): it reads %s again\n", what);
    return WARD_EXIT_OK;
}

static int cmd_serve(const opts_t *o)
{
    ward_fleet_t f;
    int rc = open_fleet("serve", o, &f);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    char host[256] = "localhost";
    uint32_t port = 8883;
    if (o->broker != NULL) {
        const char *colon = strrchr(o->broker, ':');
        if (colon == NULL || colon == o->broker || (size_t)(colon - o->broker) >= sizeof host ||
            !ward_cli_parse_u32(colon + 1, &port) || port == 0u || port > 65535u) {
            ward_fleet_close(&f);
            return usage_error("serve", "--broker HOST:PORT");
        }
        memcpy(host, o->broker, (size_t)(colon - o->broker));
        host[colon - o->broker] = '\0';
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const ward_fleet_serve_opts_t so = {.host = host, .port = (uint16_t)port, .days = o->days,
                                        .max_requests = o->count, .seconds = o->seconds,
                                        .stop = &g_stop, .log = stdout};
    ward_fleet_serve_stats_t st;
    printf("serving certificate requests from %s:%u\n", host, (unsigned)port);
    const ward_err_t err = ward_fleet_serve(&f, &so, &st);
    ward_fleet_close(&f);
    if (err != WARD_OK) {
        return ffail("serve", "cannot start", err);
    }
    printf("stopped: %u request%s, %u issued, %u refused, %u connection%s\n", st.requests,
           st.requests == 1u ? "" : "s", st.issued, st.refused, st.connects,
           st.connects == 1u ? "" : "s");
    return WARD_EXIT_OK;
}

static int cmd_revoke(const opts_t *o)
{
    if ((o->id == NULL) == (o->serial == NULL)) {
        return usage_error("revoke", "give a device ID or --serial HEX");
    }
    ward_fleet_t f;
    int rc = open_fleet("revoke", o, &f);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    size_t n = 0;
    const ward_err_t err = ward_fleet_revoke(&f, o->id, o->serial, (int64_t)time(NULL), &n);
    if (err != WARD_OK) {
        ward_fleet_close(&f);
        return ffail("revoke", err == WARD_ERR_NOT_FOUND ? "no certificate issued matches" : "revoke", err);
    }
    printf("revoked %zu certificate%s of %s %s; CRL written to %s/ca/crl.pem\n", n, n == 1u ? "" : "s",
           o->id != NULL ? "device" : "serial", o->id != NULL ? o->id : o->serial, f.paths.factory);
    char crl[1100];
    snprintf(crl, sizeof crl, "%s/ca/crl.pem", f.paths.factory);
    rc = reload(&f, o, "revoke", crl);
    ward_fleet_close(&f);
    return rc;
}

static int cmd_list(const opts_t *o)
{
    if (o->id == NULL) {
        return usage_error("list", "a device ID is required");
    }
    ward_fleet_t f;
    int rc = open_fleet("list", o, &f);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    ward_fleet_entry_t *all = NULL;
    size_t n = 0;
    const ward_err_t err = ward_fleet_list(&f, o->id, &all, &n);
    ward_fleet_close(&f);
    if (err != WARD_OK) {
        return ffail("list", "the CA's records", err);
    }
    const int64_t now = (int64_t)time(NULL);
    if (o->json) {
        printf("[");
    }
    for (size_t i = 0; i < n; i++) {
        const char *state = all[i].revoked ? "revoked" : now > all[i].not_after ? "expired" : "valid";
        if (o->json) {
            printf("%s{\"id\":", i > 0u ? "," : "");
            ward_cli_json_str(stdout, o->id);
            printf(",\"serial\":\"%s\",\"not_before\":%lld,\"not_after\":%lld,\"state\":\"%s\"}",
                   all[i].serial, (long long)all[i].not_before, (long long)all[i].not_after, state);
        } else {
            printf("%-24s %s  ", o->id, all[i].serial);
            print_time(stdout, all[i].not_after);
            printf("  %s\n", state);
        }
    }
    if (o->json) {
        printf("]\n");
    }
    free(all);
    return WARD_EXIT_OK;
}

static int cmd_crl(const opts_t *o)
{
    ward_fleet_t f;
    int rc = open_fleet("crl", o, &f);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    const ward_err_t err = ward_factory_crl_refresh(f.ca, 0);
    if (err != WARD_OK) {
        ward_fleet_close(&f);
        return ffail("crl", "the CRL", err);
    }
    printf("CRL written to %s/ca/crl.pem (valid 30 days)\n", f.paths.factory);
    char crl[1100];
    snprintf(crl, sizeof crl, "%s/ca/crl.pem", f.paths.factory);
    rc = reload(&f, o, "crl", crl);
    ward_fleet_close(&f);
    return rc;
}

static int cmd_issue(const opts_t *o)
{
    if (o->csr == NULL || o->id == NULL) {
        return usage_error("issue", "--csr CSR and --id ID are required");
    }
    uint8_t *csr = NULL;
    size_t cl = 0;
    ward_err_t err = ward_cli_read_file(o->csr, &csr, &cl);
    if (err != WARD_OK) {
        return ffail("issue", o->csr, err);
    }
    uint8_t *z = realloc(csr, cl + 1u);
    if (z == NULL) {
        free(csr);
        return ffail("issue", o->csr, WARD_ERR_NO_SPACE);
    }
    z[cl] = 0;
    /* PEM or DER; the CA takes DER. */
    mbedtls_x509_csr req;
    mbedtls_x509_csr_init(&req);
    const int pr = mbedtls_x509_csr_parse(&req, z, strstr((const char *)z, "-----BEGIN") != NULL ? cl + 1u : cl);
    if (pr == 0 && req.raw.len <= cl) {
        memmove(z, req.raw.p, req.raw.len);
        cl = req.raw.len;
    }
    mbedtls_x509_csr_free(&req);
    if (pr != 0) {
        free(z);
        fprintf(stderr, "ward fleet issue: refused: %s is no certificate request\n", o->csr);
        return ffail("issue", o->csr, WARD_ERR_CLOUD_CSR);
    }
    ward_fleet_t f;
    int rc = open_fleet("issue", o, &f);
    if (rc != WARD_EXIT_OK) {
        free(z);
        return rc;
    }
    uint8_t der[WARD_FACTORY_CERT_DER_MAX];
    size_t dl = 0;
    const char *why = NULL;
    err = ward_fleet_issue(&f, z, cl, o->id, o->days != 0u ? o->days : WARD_FLEET_DAYS_MAX, der, sizeof der,
                           &dl, NULL, &why);
    free(z);
    ward_fleet_close(&f);
    if (err != WARD_OK) {
        if (why != NULL && err == WARD_ERR_CLOUD_CSR) {
            fprintf(stderr, "ward fleet issue: refused: %s\n", why);
        }
        return ffail("issue", o->csr, err);
    }
    char pem[WARD_FACTORY_PEM_MAX];
    size_t pl = 0;
    err = ward_factory_pem("CERTIFICATE", der, dl, pem, sizeof pem, &pl);
    if (err == WARD_OK && o->out != NULL) {
        err = ward_cli_write_file(o->out, pem, pl, 0644, false);
    } else if (err == WARD_OK) {
        fputs(pem, stdout);
    }
    return err == WARD_OK ? WARD_EXIT_OK : ffail("issue", o->out != NULL ? o->out : "output", err);
}

static int cmd_renew(const opts_t *o)
{
    const ward_factory_identity_t id = ward_factory_identity_parse(o->id);
    if (id == 0) {
        return usage_error("renew", "which certificate: broker, web or fleet");
    }
    ward_factory_renew_result_t r;
    char why[1400] = "";
    const ward_err_t err = ward_factory_renew(o->dir, id, o->days != 0u ? o->days : WARD_FLEET_DAYS_MAX,
                                              o->new_key, &r, why, sizeof why);
    if (err != WARD_OK) {
        if (why[0] != '\0') {
            fprintf(stderr, "ward fleet renew: refused: %s\n", why);
        }
        return ffail("renew", o->id, err);
    }
    printf("%s renewed: serial %s (was %s, valid until ", r.cert_path, r.new_serial, r.old_serial);
    print_time(stdout, r.old_not_after);
    printf("), valid ");
    print_time(stdout, r.not_before);
    printf(" to ");
    print_time(stdout, r.not_after);
    printf("\n");
    if (id == WARD_FACTORY_ID_WEB) {
        printf("make nginx read it: nginx -s reload (or restart it)\n");
        return WARD_EXIT_OK;
    }
    if (id == WARD_FACTORY_ID_FLEET) {
        printf("restart `ward fleet serve`: it reads its certificate when it starts\n");
        return WARD_EXIT_OK;
    }
    ward_fleet_t f;
    int rc = open_fleet("renew", o, &f);
    if (rc == WARD_EXIT_OK) {
        rc = reload(&f, o, "renew", r.cert_path);
        ward_fleet_close(&f);
    }
    return rc;
}

enum {
    OPT_SERVER_CA = 1000,
    OPT_DAYS,
    OPT_COUNT,
    OPT_SECONDS,
    OPT_SERIAL,
    OPT_JSON,
    OPT_NO_RELOAD,
    OPT_CSR,
    OPT_ID,
    OPT_CERT,
    OPT_KEY,
    OPT_PID,
    OPT_NEW_KEY
};

int ward_cmd_fleet(int argc, char **argv)
{
    static const struct option opts[] = {
        {"broker", required_argument, NULL, 'b'},
        {"server-ca", required_argument, NULL, OPT_SERVER_CA},
        {"days", required_argument, NULL, OPT_DAYS},
        {"count", required_argument, NULL, OPT_COUNT},
        {"seconds", required_argument, NULL, OPT_SECONDS},
        {"serial", required_argument, NULL, OPT_SERIAL},
        {"json", no_argument, NULL, OPT_JSON},
        {"no-reload", no_argument, NULL, OPT_NO_RELOAD},
        {"csr", required_argument, NULL, OPT_CSR},
        {"id", required_argument, NULL, OPT_ID},
        {"out", required_argument, NULL, 'o'},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"pid", required_argument, NULL, OPT_PID},
        {"new-key", no_argument, NULL, OPT_NEW_KEY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? WARD_EXIT_USAGE : WARD_EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(const opts_t *o);
    } k_sub[] = {{"serve", cmd_serve}, {"revoke", cmd_revoke}, {"list", cmd_list},
                 {"crl", cmd_crl},     {"issue", cmd_issue}, {"renew", cmd_renew}};
    const char *cmd = argv[1];
    int (*fn)(const opts_t *o) = NULL;
    for (size_t i = 0; i < sizeof k_sub / sizeof k_sub[0]; i++) {
        if (strcmp(cmd, k_sub[i].name) == 0) {
            fn = k_sub[i].fn;
        }
    }
    if (fn == NULL) {
        fprintf(stderr, "ward fleet: unknown command '%s'\n", cmd);
        help(stderr);
        return WARD_EXIT_USAGE;
    }
    static opts_t o;
    memset(&o, 0, sizeof o);
    const char *over[4] = {NULL, NULL, NULL, NULL};
    argc--;
    argv++;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "b:o:h", opts, NULL)) != -1) {
        uint32_t v = 0;
        switch (c) {
        case 'b': o.broker = optarg; break;
        case 'o': o.out = optarg; break;
        case OPT_SERVER_CA: over[2] = optarg; break;
        case OPT_SERIAL: o.serial = optarg; break;
        case OPT_CSR: o.csr = optarg; break;
        case OPT_ID: o.id = optarg; break;
        case OPT_JSON: o.json = true; break;
        case OPT_NO_RELOAD: o.no_reload = true; break;
        case OPT_NEW_KEY: o.new_key = true; break;
        case OPT_CERT: over[0] = optarg; break;
        case OPT_KEY: over[1] = optarg; break;
        case OPT_PID: over[3] = optarg; break;
        case OPT_DAYS:
        case OPT_COUNT:
        case OPT_SECONDS:
            if (!ward_cli_parse_u32(optarg, &v)) {
                return usage_error(cmd, "a number is expected");
            }
            if (c == OPT_DAYS) {
                if (v == 0u || v > WARD_FLEET_DAYS_MAX) {
                    return usage_error(cmd, "--days: 1 to 365");
                }
                o.days = v;
            } else if (c == OPT_COUNT) {
                o.count = v;
            } else {
                o.seconds = v;
            }
            break;
        case 'h': help(stdout); return WARD_EXIT_OK;
        default: return usage_error(cmd, "unknown option");
        }
    }
    if (optind >= argc) {
        return usage_error(cmd, "FACTORY is required");
    }
    o.dir = argv[optind++];
    if ((strcmp(cmd, "revoke") == 0 || strcmp(cmd, "list") == 0 || strcmp(cmd, "renew") == 0) &&
        optind < argc && o.id == NULL) {
        o.id = argv[optind++];
    }
    if (optind < argc) {
        return usage_error(cmd, "too many arguments");
    }
    ward_fleet_paths_default(&o.paths, o.dir);
    char *dst[4] = {o.paths.client_cert, o.paths.client_key, o.paths.server_ca, o.paths.pid};
    for (size_t i = 0; i < 4; i++) {
        if (over[i] != NULL) {
            snprintf(dst[i], sizeof o.paths.client_cert, "%s", over[i]);
        }
    }
    return fn(&o);
}
