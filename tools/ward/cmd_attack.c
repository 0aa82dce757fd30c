/*
 * ward CLI: the attack catalogue run against a unit (tools/attack does the
 * work; docs/attack.md):
 *   ward attack DEVICE/ [--fleet FACTORY/] [--html FILE] [--json] [--only PREFIX]
 *                       [--hci SOCKET] [--keep DIR]
 *   ward attack --catalogue
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "btvirt.h"
#include "cli.h"
#include "commands.h"
#include "ward_attack.h"

static int usage_error(const char *msg)
{
    fprintf(stderr, "ward attack: %s (ward attack --help)\n", msg);
    return WARD_EXIT_USAGE;
}

static void attack_help(FILE *f)
{
    fprintf(f,
            "usage: ward attack DEVICE/ [--fleet FACTORY/] [--html FILE] [--json]\n"
            "                   [--only PREFIX] [--hci SOCKET] [--keep DIR]\n"
            "       ward attack --catalogue\n"
            "\n"
            "Run the seeds' attacks for real against a unit, each on a private copy of\n"
            "it (the unit itself is only read): tampered, unsigned, foreign-key and\n"
            "older images at boot; a man-in-the-middle update server, a tampered, a\n"
            "replayed and a boot-key-signed manifest against its update agent; an\n"
            "unpaired and a Just Works write, pairing outside the window and an\n"
            "invalid-curve key over BLE; a flash dump searched for every stored secret,\n"
            "a cloned flash chip, an old flash image written back; a cloned certificate\n"
            "against the factory's Mosquitto. Each: what was tried, what the device did,\n"
            "refused or succeeded (or skipped, with why: never counted as refused).\n"
            "A line on stdout as each attack ends (on stderr with --json).\n"
            "\n"
            "Exit 0 when no attack succeeded, 112 when any did (WARD_ERR_ATTACK), 1\n"
            "when the harness failed on an attack (no verdict), 14 when there is no\n"
            "device (or no factory), 3 when a report cannot be written.\n"
            "\n"
            "  --fleet DIR     the factory the unit came from: its boot and OTA keys\n"
            "                  (signed downgrades, manifests) and its broker\n"
            "  --html FILE     also write the report as one HTML page\n"
            "  --json          the report as JSON on stdout (docs/attack.md: schema)\n"
            "  --only PREFIX   run only the attacks whose id starts with PREFIX\n"
            "                  (boot., ota., ble., cred., cloud., or one id)\n"
            "  --hci SOCKET    an H4 controller server for the BLE attacks (btvirt -s:\n"
            "                  its bt-server-bredrle); default: start BlueZ's btvirt\n"
            "  --keep DIR      work in DIR and keep every attack's copy of the unit\n"
            "  --catalogue     print the attacks as Markdown (docs/attack.md's table)\n"
            "  -h, --help      this help\n");
}

typedef struct progress {
    FILE *f;
    size_t done, total;
} progress_t;

static void on_progress(void *ctx, const ward_attack_def_t *d, const ward_attack_result_t *r)
{
    progress_t *p = ctx;
    p->done++;
    fprintf(p->f, "[%2zu/%zu] %-24s %-9s %5u ms  %s\n", p->done, p->total, d->id,
            ward_attack_verdict_name(r->verdict), (unsigned)r->ms, r->observed);
    fflush(p->f);
}

static size_t count_selected(const char *only)
{
    size_t n = 0;
    for (size_t i = 0; i < ward_attack_count(); i++) {
        if (only == NULL || strncmp(ward_attack_def(i)->id, only, strlen(only)) == 0) {
            n++;
        }
    }
    return n;
}

static bool ble_selected(const char *only)
{
    return only == NULL || strncmp("ble.", only, strlen(only) < 4u ? strlen(only) : 4u) == 0;
}

int ward_cmd_attack(int argc, char **argv)
{
    enum { O_FLEET = 1, O_HTML, O_JSON, O_ONLY, O_HCI, O_KEEP, O_CAT };
    static const struct option opts[] = {
        {"fleet", required_argument, NULL, O_FLEET},
        {"html", required_argument, NULL, O_HTML},
        {"json", no_argument, NULL, O_JSON},
        {"only", required_argument, NULL, O_ONLY},
        {"hci", required_argument, NULL, O_HCI},
        {"keep", required_argument, NULL, O_KEEP},
        {"catalogue", no_argument, NULL, O_CAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ward_attack_opts_t o;
    memset(&o, 0, sizeof o);
    const char *html = NULL;
    bool json = false, catalogue = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_FLEET:
            o.factory = optarg;
            break;
        case O_HTML:
            html = optarg;
            break;
        case O_JSON:
            json = true;
            break;
        case O_ONLY:
            o.only = optarg;
            break;
        case O_HCI:
            o.hci_socket = optarg;
            break;
        case O_KEEP:
            o.keep = optarg;
            break;
        case O_CAT:
            catalogue = true;
            break;
        case 'h':
            attack_help(stdout);
            return WARD_EXIT_OK;
        default:
            attack_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (catalogue) {
        if (optind != argc) {
            return usage_error("--catalogue takes no DEVICE/");
        }
        return ward_attack_catalogue_markdown(stdout) == WARD_OK ? WARD_EXIT_OK : WARD_EXIT_IO;
    }
    if (optind + 1 != argc) {
        return usage_error("DEVICE/ is required (once)");
    }
    o.device = argv[optind];
    progress_t prog = {json ? stderr : stdout, 0, count_selected(o.only)};
    if (prog.total == 0u) {
        return usage_error("--only matches no attack (ward attack --catalogue lists them)");
    }
    o.progress = on_progress;
    o.progress_ctx = &prog;

    /* The BLE attacks need a controller: BlueZ's emulator, started here
     * unless one is given. If it cannot start they are skipped, saying why. */
    ward_btvirt_t bt;
    memset(&bt, 0, sizeof bt);
    char btdir[64] = "";
    if (o.hci_socket == NULL && ble_selected(o.only) && access(o.device, F_OK) == 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(btdir, sizeof btdir, "%.40s/ward-attack-bt-XXXXXX",
                 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
        if (mkdtemp(btdir) == NULL) {
            btdir[0] = '\0';
            o.hci_why = "no folder for btvirt";
        } else if (ward_btvirt_start(&bt, btdir) == 0) {
            o.hci_socket = bt.socket;
        } else {
            o.hci_why = bt.why;
        }
    }

    ward_attack_report_t rep;
    ward_err_t err = ward_attack_run(&o, &rep);
    ward_btvirt_stop(&bt);
    if (btdir[0] != '\0') {
        char log[128];
        snprintf(log, sizeof log, "%s/btvirt.log", btdir);
        (void)remove(log);
        (void)rmdir(btdir);
    }
    if (err != WARD_OK) {
        char what[1200];
        snprintf(what, sizeof what, "%s%s%s", o.device,
                 err == WARD_ERR_NOT_FOUND ? ": no device here" : "",
                 err == WARD_ERR_NOT_FOUND && o.factory != NULL ? " (or no factory at --fleet)"
                                                                : "");
        return ward_cli_fail("attack", what, err);
    }
    int rc = WARD_EXIT_OK;
    if (html != NULL) {
        FILE *f = fopen(html, "w");
        ward_err_t herr = f == NULL ? WARD_ERR_IO : ward_attack_html(&rep, f);
        if (f != NULL && fclose(f) != 0) {
            herr = WARD_ERR_IO;
        }
        if (herr != WARD_OK) {
            rc = ward_cli_fail("attack", html, herr);
        }
    }
    err = json ? ward_attack_json(&rep, stdout) : ward_attack_text(&rep, stdout);
    if (err != WARD_OK && rc == WARD_EXIT_OK) {
        rc = ward_cli_fail("attack", "stdout", err);
    }
    if (rc == WARD_EXIT_OK && rep.n_succeeded > 0u) {
        fprintf(stderr, "ward attack: %s: succeeded:", o.device);
        for (size_t i = 0; i < rep.n; i++) {
            if (rep.results[i].verdict == WARD_ATTACK_SUCCEEDED) {
                fprintf(stderr, " %s", ward_attack_def(i)->id);
            }
        }
        fprintf(stderr, " (%s)\n", ward_err_name(WARD_ERR_ATTACK));
        rc = ward_cli_exit_code(WARD_ERR_ATTACK);
    } else if (rc == WARD_EXIT_OK && rep.n_error > 0u) {
        fprintf(stderr, "ward attack: %s: %zu attack(s) could not be run to a verdict (error)\n",
                o.device, rep.n_error);
        rc = WARD_EXIT_FAIL;
    } else if (rc == WARD_EXIT_OK && !rep.passed) {
        fprintf(stderr, "ward attack: %s: no attack could run here (%zu skipped, %zu not asked for): "
                        "no verdict on the device\n",
                o.device, rep.n_skipped, rep.n_not_run);
        rc = WARD_EXIT_FAIL;
    }
    ward_attack_report_free(&rep);
    return rc;
}
