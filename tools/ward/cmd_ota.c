/*
 * ward CLI: the OTA agent of a simulated device against a real update
 * server (docs/ota.md):
 *   ward ota check|apply --device DIR --server URL --ca CA.pem [--json]
 *                        [--allow-tls12] [--time UNIX]
 *   ward ota status --device DIR [--json]
 * The agent (src/ota) decides, the fetcher (src/net) talks HTTPS; this
 * file parses options, draws the progress bar and prints.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "ota_session.h"
#include "ward/util.h"

typedef struct {
    const char *dir, *server, *ca;
    bool json, allow_tls12, have_time;
    uint64_t time;
} ota_opts_t;

/* ---- output helpers ----------------------------------------------------------- */

static void print_version(FILE *f, const ward_image_version_t *v)
{
    fprintf(f, "%u.%u.%u+%lu", v->major, v->minor, v->revision, (unsigned long)v->build);
}

static void json_version(const ward_image_version_t *v)
{
    printf("\"");
    print_version(stdout, v);
    printf("\"");
}

static void utc(char *out, size_t n, uint64_t t)
{
    const time_t tt = (time_t)t;
    struct tm tm;
    if (t > (uint64_t)253402300799u || gmtime_r(&tt, &tm) == NULL ||
        strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, n, "%llu", (unsigned long long)t);
    }
}

/* The progress bar: stderr, only on a terminal. */
typedef struct {
    bool on;
    int last; /* last permille drawn, -1: none */
    ward_ota_phase_t phase;
} bar_t;

static void bar_draw(void *ctx, ward_ota_phase_t phase, uint64_t done, uint64_t total)
{
    bar_t *b = ctx;
    if (!b->on) {
        return;
    }
    if (phase == WARD_OTA_PHASE_DOWNLOAD && total > 0u) {
        const int pm = (int)(done * 1000u / total);
        if (pm == b->last) {
            return;
        }
        b->last = pm;
        char bar[41];
        const int fill = pm * 40 / 1000;
        for (int i = 0; i < 40; i++) {
            bar[i] = i < fill ? '#' : '.';
        }
        bar[40] = '\0';
        fprintf(stderr, "\r  downloading [%s] %3d%%  %llu/%llu KiB", bar, pm / 10,
                (unsigned long long)(done / 1024u), (unsigned long long)(total / 1024u));
    } else if (phase == WARD_OTA_PHASE_VERIFY) {
        fprintf(stderr, "%s  verifying the staged image as the bootloader will\n",
                b->last >= 0 ? "\n" : "");
        b->last = -1;
    }
    b->phase = phase;
    fflush(stderr);
}

/* Close a bar left in the middle of a line (a refusal mid-download). */
static void bar_end(bar_t *b)
{
    if (b->on && b->last >= 0) {
        fprintf(stderr, "\n");
        b->last = -1;
    }
}

static void json_manifest(const ota_session_t *s)
{
    const ward_ota_manifest_t *m = &s->ota.manifest;
    if (m->format == 0u) {
        printf("null");
        return;
    }
    printf("{\"version\":");
    json_version(&m->version);
    printf(",\"device_class\":");
    ward_cli_json_str(stdout, m->device_class);
    printf(",\"sec_cnt\":%lu,\"image_size\":%lu,\"block_size\":%lu,\"nblocks\":%lu,"
           "\"wire_size\":%llu,\"sequence\":%llu,\"issued_at\":%llu,\"expires\":%llu,\"uri\":",
           (unsigned long)m->sec_cnt, (unsigned long)m->image_size, (unsigned long)m->block_size,
           (unsigned long)ota_session_nblocks(s),
           (unsigned long long)ward_ota_chain_wire_size(m->image_size, m->block_size),
           (unsigned long long)m->sequence, (unsigned long long)m->issued_at,
           (unsigned long long)m->expires);
    ward_cli_json_str(stdout, m->uri);
    printf(",\"image_sha256\":\"");
    ward_cli_print_hex(stdout, m->image_digest, sizeof m->image_digest);
    printf("\"}");
}

static void text_manifest(const ota_session_t *s, const char *what)
{
    const ward_ota_manifest_t *m = &s->ota.manifest;
    char issued[32], expires[32];
    utc(issued, sizeof issued, m->issued_at);
    utc(expires, sizeof expires, m->expires);
    printf("%s ", what);
    print_version(stdout, &m->version);
    printf(" for %s: security counter %lu, %lu bytes in %lu blocks of %lu (%llu on the wire), "
           "sequence %llu, issued %s, expires %s\n",
           m->device_class, (unsigned long)m->sec_cnt, (unsigned long)m->image_size,
           (unsigned long)ota_session_nblocks(s), (unsigned long)m->block_size,
           (unsigned long long)ward_ota_chain_wire_size(m->image_size, m->block_size),
           (unsigned long long)m->sequence, issued, expires);
}

static void json_common(const ota_session_t *s, const ota_opts_t *o, bool pending, bool failed,
                        const ward_image_version_t *fv)
{
    printf("\"device\":");
    ward_cli_json_str(stdout, o->dir);
    printf(",\"device_class\":");
    ward_cli_json_str(stdout, s->dev.device_class);
    printf(",\"running\":");
    json_version(&s->rep.version);
    printf(",\"trial\":%s,\"otp_counter\":%lu,\"install_pending\":%s,\"reverted\":",
           s->rep.trial ? "true" : "false", (unsigned long)s->rep.otp_counter,
           pending ? "true" : "false");
    if (failed) {
        json_version(fv);
    } else {
        printf("null");
    }
}

static void json_net(const ota_session_t *s)
{
    printf(",\"net\":{\"connects\":%llu,\"bytes_received\":%llu}",
           (unsigned long long)s->net.stats.connects,
           (unsigned long long)s->net.stats.bytes_received);
}

/* What the app says at start-up about the last update. */
static void text_report(const ota_session_t *s, const char *dir, bool pending, bool failed,
                        const ward_image_version_t *fv)
{
    printf("%s: running ", dir);
    print_version(stdout, &s->rep.version);
    printf("%s, OTP counter %lu\n", s->rep.trial ? " on TRIAL (confirm it or the next reset "
                                                   "reverts)"
                                                 : "",
           (unsigned long)s->rep.otp_counter);
    if (pending) {
        printf("install requested: reset the device to run it (ward device reset %s)\n", dir);
    }
    if (failed) {
        printf("the last update, ");
        print_version(stdout, fv);
        printf(", FAILED: the bootloader reverted it (its trial was never confirmed) or "
               "refused it; said once\n");
    }
}

/* ---- options ------------------------------------------------------------------------ */

static void ota_help(FILE *f, const char *cmd)
{
    if (strcmp(cmd, "status") == 0) {
        fprintf(f,
                "usage: ward ota status --device DIR [--json]\n"
                "\n"
                "What the device's update agent says at start-up: the running image, the\n"
                "class and OTA key it was provisioned with, an install request waiting for\n"
                "a reset, and whether the last update was reverted or refused by the\n"
                "bootloader (said once: `ward ota status`, `check` or `apply`, whichever\n"
                "runs first after the reset that reverted it, reports it).\n"
                "\n"
                "  -d, --device DIR  the simulated device\n"
                "  --json            machine-readable output\n"
                "  -h, --help        this help\n");
        return;
    }
    fprintf(f,
            "usage: ward ota %s --device DIR --server URL --ca CA.pem [--json]\n"
            "                     [--allow-tls12] [--time UNIX]\n"
            "\n",
            cmd);
    if (strcmp(cmd, "check") == 0) {
        fprintf(f,
                "Fetch URL/CLASS/manifest.cose over HTTPS and check it as the device does\n"
                "(signature with the OTA key, class, version, security counter, expiry,\n"
                "sequence). Writes nothing to flash. Exit 0 when an update is offered or\n"
                "the device is up to date; a refusal exits with its own code (20-31 for\n"
                "the update, 40-48 for the network, TLS or HTTP; docs/errors.md).\n");
    } else {
        fprintf(f,
                "Check the manifest, then download the update block by block into the\n"
                "staging slot (every block authenticated by the hash chain before it is\n"
                "written; a lost connection resumes with a Range request), verify the\n"
                "staged image as the bootloader will and request a trial install. Then\n"
                "`ward device reset DIR` boots the trial and `ward device confirm DIR` keeps\n"
                "it. A progress bar on a terminal (stderr). Exit 0 when the install is\n"
                "requested; a refusal exits with its own code (up to date: 24).\n");
    }
    fprintf(f,
            "\n"
            "  -d, --device DIR  the simulated device (provisioned with --ota-key)\n"
            "  -s, --server URL  the repository's base, as served: https://host[:port]/path\n"
            "  --ca FILE         the CA the server's certificate must chain to (PEM/DER)\n"
            "  --allow-tls12     accept TLS 1.2 (default: TLS 1.3 only)\n"
            "  --time UNIX       the device clock, seconds since 1970 (default: the host's);\n"
            "                    manifest expiry and certificate validity use it\n"
            "  --json            machine-readable output\n"
            "  -h, --help        this help\n");
}

enum { OPT_CA = 1000, OPT_TLS12, OPT_TIME, OPT_JSON };

/* Returns -1 after --help, else an exit code. */
static int parse(const char *cmd, int argc, char **argv, ota_opts_t *o, bool need_server)
{
    static const struct option opts[] = {
        {"device", required_argument, NULL, 'd'},
        {"server", required_argument, NULL, 's'},
        {"ca", required_argument, NULL, OPT_CA},
        {"allow-tls12", no_argument, NULL, OPT_TLS12},
        {"time", required_argument, NULL, OPT_TIME},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dir = optarg;
            break;
        case 's':
            o->server = optarg;
            break;
        case OPT_CA:
            o->ca = optarg;
            break;
        case OPT_TLS12:
            o->allow_tls12 = true;
            break;
        case OPT_TIME: {
            char *end = NULL;
            const unsigned long long t = strtoull(optarg, &end, 10);
            if (optarg[0] < '0' || optarg[0] > '9' || end == NULL || *end != '\0') {
                fprintf(stderr, "ward ota %s: --time takes seconds since 1970: '%s'\n", cmd,
                        optarg);
                return WARD_EXIT_USAGE;
            }
            o->have_time = true;
            o->time = t;
            break;
        }
        case OPT_JSON:
            o->json = true;
            break;
        case 'h':
            ota_help(stdout, cmd);
            return -1;
        default:
            ota_help(stderr, cmd);
            return WARD_EXIT_USAGE;
        }
    }
    const char *missing = o->dir == NULL                    ? "--device DIR is required"
                          : need_server && o->server == NULL ? "--server URL is required"
                          : need_server && o->ca == NULL     ? "--ca CA.pem is required"
                          : optind != argc                   ? "unexpected argument"
                                                             : NULL;
    if (missing != NULL) {
        fprintf(stderr, "ward ota %s: %s (ward ota %s --help)\n", cmd, missing, cmd);
        return WARD_EXIT_USAGE;
    }
    return WARD_EXIT_OK;
}

static int open_fail(const char *cmd, const ota_opts_t *o, ward_err_t err, const char *why)
{
    char name[32];
    snprintf(name, sizeof name, "ota %s", cmd);
    if (o->json) {
        printf("{\"result\":\"error\",\"reason\":\"%s\",\"exit\":%d,\"what\":",
               ward_err_name(err), ward_cli_exit_code(err));
        ward_cli_json_str(stdout, why);
        printf("}\n");
    }
    return ward_cli_fail(name, why, err);
}

/* ---- check / apply ------------------------------------------------------------------ */

static int run(const char *cmd, int argc, char **argv, bool apply)
{
    ota_opts_t o;
    int rc = parse(cmd, argc, argv, &o, true);
    if (rc != WARD_EXIT_OK) {
        return rc < 0 ? WARD_EXIT_OK : rc;
    }
    bar_t bar = {.on = apply && isatty(STDERR_FILENO) == 1, .last = -1};
    const ota_session_opts_t so = {
        .dir = o.dir,
        .server = o.server,
        .ca_path = o.ca,
        .allow_tls12 = o.allow_tls12,
        .have_time = o.have_time,
        .time = o.time,
        .progress = bar_draw,
        .progress_ctx = &bar,
    };
    ota_session_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return WARD_EXIT_FAIL;
    }
    ward_err_t err = ota_session_open(s, &so);
    if (err != WARD_OK) {
        rc = open_fail(cmd, &o, err, s->why);
        free(s);
        return rc;
    }
    bool pending = false, failed = false;
    ward_image_version_t fv;
    err = ota_session_report(s, &pending, &failed, &fv);
    if (err == WARD_OK) {
        err = ward_ota_check(&s->ota);
        if (!o.json) {
            text_report(s, o.dir, pending, failed, &fv);
            if (s->ota.manifest.format != 0u) {
                text_manifest(s, err == WARD_OK ? "offered" : "the server offers");
            }
            fflush(stdout);
        }
        if (err == WARD_OK && apply) {
            err = ward_ota_apply(&s->ota);
            bar_end(&bar);
        }
    }
    const ward_ota_stats_t *st = &s->ota.stats;
    const bool up_to_date = err == WARD_ERR_OTA_VERSION;
    rc = err == WARD_OK || (up_to_date && !apply) ? WARD_EXIT_OK : ward_cli_exit_code(err);
    if (o.json) {
        printf("{\"result\":\"%s\",\"reason\":\"%s\",\"exit\":%d,",
               err == WARD_OK ? (apply ? "install-requested" : "offered")
               : up_to_date   ? "up-to-date"
                              : "refused",
               ward_err_name(err), rc);
        json_common(s, &o, pending, failed, &fv);
        printf(",\"offered\":");
        json_manifest(s);
        if (apply) {
            printf(",\"stats\":{\"connections\":%lu,\"blocks\":%lu,\"nblocks\":%lu,"
                   "\"wire_bytes\":%llu,\"flash_bytes\":%llu,\"erases\":%lu}",
                   (unsigned long)st->connections, (unsigned long)st->blocks,
                   (unsigned long)ota_session_nblocks(s), (unsigned long long)st->wire_bytes,
                   (unsigned long long)st->flash_bytes, (unsigned long)st->erases);
        }
        json_net(s);
        printf("}\n");
    } else if (err == WARD_OK && !apply) {
        printf("apply it with: ward ota apply --device %s --server %s --ca %s\n", o.dir, o.server,
               o.ca);
    } else if (err == WARD_OK) {
        printf("downloaded %lu blocks over %lu connection%s: %llu bytes received, %llu bytes "
               "programmed, %lu sectors erased\n",
               (unsigned long)st->blocks, (unsigned long)st->connections,
               st->connections == 1u ? "" : "s", (unsigned long long)st->wire_bytes,
               (unsigned long long)st->flash_bytes, (unsigned long)st->erases);
        printf("verified: the staged image passes the boot checks and is the manifest's\n"
               "install requested (trial): reset the device (ward device reset %s); its\n"
               "self-test confirms it (ward device confirm %s), else the next reset reverts\n",
               o.dir, o.dir);
    } else if (up_to_date) {
        printf("up to date%s\n", apply ? ": nothing to apply" : "");
    }
    fflush(stdout);
    if (err != WARD_OK && !up_to_date) {
        char name[32], what[256];
        snprintf(name, sizeof name, "ota %s", cmd);
        if (apply && (st->blocks > 0u || st->erases > 0u)) {
            snprintf(what, sizeof what,
                     "refused after %lu of %lu blocks; what was written of the staging slot was "
                     "erased again, the running image is untouched",
                     (unsigned long)st->blocks, (unsigned long)ota_session_nblocks(s));
        } else {
            snprintf(what, sizeof what, "refused; nothing was written to the staging slot");
        }
        (void)ward_cli_fail(name, what, err);
    } else if (up_to_date && apply) {
        fprintf(stderr, "ward ota apply: %s (%s)\n", ward_err_str(err), ward_err_name(err));
    }
    ota_session_close(s);
    free(s);
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    return run("check", argc, argv, false);
}

static int cmd_apply(int argc, char **argv)
{
    return run("apply", argc, argv, true);
}

/* ---- status --------------------------------------------------------------------------- */

static int cmd_status(int argc, char **argv)
{
    ota_opts_t o;
    int rc = parse("status", argc, argv, &o, false);
    if (rc != WARD_EXIT_OK) {
        return rc < 0 ? WARD_EXIT_OK : rc;
    }
    const ota_session_opts_t so = {.dir = o.dir};
    ota_session_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return WARD_EXIT_FAIL;
    }
    ward_err_t err = ota_session_open(s, &so);
    if (err != WARD_OK) {
        rc = open_fail("status", &o, err, s->why);
        free(s);
        return rc;
    }
    bool pending = false, failed = false;
    ward_image_version_t fv;
    err = ota_session_report(s, &pending, &failed, &fv);
    if (err != WARD_OK) {
        rc = ward_cli_fail("ota status", o.dir, err);
    } else if (o.json) {
        printf("{\"result\":\"ok\",");
        json_common(s, &o, pending, failed, &fv);
        printf(",\"verified\":%s}\n", s->rep.verified ? "true" : "false");
    } else {
        text_report(s, o.dir, pending, failed, &fv);
        printf("device class %s; OTA key in read-only flash (otakey.der)\n",
               s->dev.device_class);
        if (!failed && !pending) {
            printf("no failed update to report\n");
        }
    }
    ota_session_close(s);
    free(s);
    return rc;
}

/* ---- dispatch --------------------------------------------------------------------------- */

static void group_help(FILE *f)
{
    fprintf(f,
            "usage: ward ota <command> --device DIR [options]   (ward ota <command> --help)\n"
            "\n"
            "The update agent of a simulated device against an update server: a\n"
            "static repository made by `ward repo publish`, served over HTTPS.\n"
            "\n"
            "commands:\n"
            "  check    fetch and check the manifest; say what is offered\n"
            "  apply    check, download, verify, request a trial install\n"
            "  status   what the agent says at start-up (a reverted update, once)\n");
}

int ward_cmd_ota(int argc, char **argv)
{
    static const struct {
        const char *name;
        ward_cmd_fn fn;
    } k_sub[] = {
        {"check", cmd_check},
        {"apply", cmd_apply},
        {"status", cmd_status},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        group_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? WARD_EXIT_USAGE : WARD_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof k_sub / sizeof k_sub[0]; i++) {
        if (strcmp(argv[1], k_sub[i].name) == 0) {
            return k_sub[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "ward ota: unknown command '%s'\n", argv[1]);
    group_help(stderr);
    return WARD_EXIT_USAGE;
}
