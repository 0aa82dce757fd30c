/*
 * ward CLI: the security audit and the device profile (tools/audit does the
 * work; docs/audit.md, docs/device-profile.md):
 *   ward audit DEVICE/ [--fleet FACTORY/] [--html FILE] [--json]
 *   ward audit --catalogue [--threat-model]
 *   ward profile [--out FILE] [options]      the sample plug's, as built
 *   ward profile --check FILE
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ward_audit.h"
#include "ward_profile.h"

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ward %s: %s (ward %s --help)\n", cmd, msg, cmd);
    return WARD_EXIT_USAGE;
}

/* ---- ward audit ------------------------------------------------------------------------------ */

static void audit_help(FILE *f)
{
    fprintf(f,
            "usage: ward audit DEVICE/ [--fleet FACTORY/] [--html FILE] [--json]\n"
            "       ward audit --catalogue [--threat-model]\n"
            "\n"
            "Check a unit against every item of the seeds' checklists (secure boot, BLE,\n"
            "OTA, credential storage; the hardening list: default passwords, TLS, secure\n"
            "boot, flash encryption, unused services, debug, certificates, OTA,\n"
            "segmentation, monitoring) and the provisions of ETSI EN 303 645 that apply\n"
            "to a device. Evidence: the unit's OTP, HSM, flash and vault, its\n"
            "certificate and factory record, its device profile (device-profile.json);\n"
            "with --fleet, the factory's keys, broker configuration, ACL, CRL, update\n"
            "server, manifests, issued certificates and units. Each item: pass, fail,\n"
            "not applicable (why), or not checked (no evidence, e.g. without --fleet),\n"
            "with its evidence and the tests that show the defence works. The unit is\n"
            "read only (the audit runs on a private copy).\n"
            "\n"
            "Exit 0 when no item fails, 110 when any fails (WARD_ERR_AUDIT), 14 when\n"
            "there is no device (or no factory), 3 when a report cannot be written.\n"
            "\n"
            "  --fleet DIR       the factory the unit came from (ward factory init)\n"
            "  --html FILE       also write the report as one HTML page (no external\n"
            "                    asset; failures first; phone and print layouts)\n"
            "  --json            the report as JSON on stdout (docs/audit.md: schema)\n"
            "  --catalogue       print the items as Markdown (docs/audit.md's table);\n"
            "                    with --threat-model, docs/threat-model.md section 4\n"
            "  -h, --help        this help\n");
}

int ward_cmd_audit(int argc, char **argv)
{
    enum { O_FLEET = 1, O_HTML, O_JSON, O_CAT, O_TM };
    static const struct option opts[] = {
        {"fleet", required_argument, NULL, O_FLEET},
        {"html", required_argument, NULL, O_HTML},
        {"json", no_argument, NULL, O_JSON},
        {"catalogue", no_argument, NULL, O_CAT},
        {"threat-model", no_argument, NULL, O_TM},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *fleet = NULL, *html = NULL;
    bool json = false, catalogue = false, threat_model = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_FLEET:
            fleet = optarg;
            break;
        case O_HTML:
            html = optarg;
            break;
        case O_JSON:
            json = true;
            break;
        case O_CAT:
            catalogue = true;
            break;
        case O_TM:
            threat_model = true;
            break;
        case 'h':
            audit_help(stdout);
            return WARD_EXIT_OK;
        default:
            audit_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (catalogue) {
        if (optind != argc) {
            return usage_error("audit", "--catalogue takes no DEVICE/");
        }
        return ward_audit_catalogue_markdown(stdout, threat_model) == WARD_OK ? WARD_EXIT_OK
                                                                              : WARD_EXIT_IO;
    }
    if (optind + 1 != argc) {
        return usage_error("audit", "DEVICE/ is required (once)");
    }
    ward_audit_opts_t o = {argv[optind], fleet, 0};
    ward_audit_report_t *rep = malloc(sizeof *rep);
    if (rep == NULL) {
        return ward_cli_fail("audit", "report", WARD_ERR_NO_SPACE);
    }
    ward_err_t err = ward_audit_run(&o, rep);
    if (err != WARD_OK) {
        char what[1200];
        snprintf(what, sizeof what, "%s%s%s", o.device,
                 err == WARD_ERR_NOT_FOUND ? ": no device here" : "",
                 err == WARD_ERR_NOT_FOUND && fleet != NULL ? " (or no factory at --fleet)" : "");
        free(rep);
        return ward_cli_fail("audit", what, err);
    }
    int rc = WARD_EXIT_OK;
    if (html != NULL) {
        FILE *f = fopen(html, "w");
        ward_err_t herr = f == NULL ? WARD_ERR_IO : ward_audit_html(rep, f);
        if (f != NULL && fclose(f) != 0) {
            herr = WARD_ERR_IO;
        }
        if (herr != WARD_OK) {
            rc = ward_cli_fail("audit", html, herr);
        }
    }
    if (json) {
        err = ward_audit_json(rep, stdout);
    } else {
        err = ward_audit_text(rep, stdout);
    }
    if (err != WARD_OK && rc == WARD_EXIT_OK) {
        rc = ward_cli_fail("audit", "stdout", err);
    }
    if (rc == WARD_EXIT_OK && !rep->passed) {
        if (!json) {
            fprintf(stderr, "ward audit: %s failed:", o.device);
            for (size_t i = 0; i < rep->n_items; i++) {
                if (rep->items[i] == WARD_AUDIT_FAIL) {
                    fprintf(stderr, " %s", ward_audit_item(i)->id);
                }
            }
            fprintf(stderr, " (%s)\n", ward_err_name(WARD_ERR_AUDIT));
        }
        rc = ward_cli_exit_code(WARD_ERR_AUDIT);
    }
    free(rep);
    return rc;
}

/* ---- ward profile ---------------------------------------------------------------------------- */

static void profile_help(FILE *f)
{
    fprintf(f,
            "usage: ward profile [--out FILE] [--broker URL] [--update URL]\n"
            "                    [--device-class C] [--name N] [--version V]\n"
            "                    [--log-level L] [--debug-console] [--no-ble]\n"
            "                    [--require-mitm] [--window SEC] [--max-failures N]\n"
            "                    [--disclosure-url URL] [--support-until DATE]\n"
            "       ward profile --check FILE\n"
            "\n"
            "The device profile of the sample smart plug as this build compiles it\n"
            "(docs/device-profile.md): the GATT table with each characteristic's access\n"
            "policy (from src/ble/gatt_plug.c), LE Secure Connections pairing (src/ble),\n"
            "the security events (src/cloud); the options state the rest. JSON on\n"
            "stdout or into FILE. --check reads a profile and says whether it is valid\n"
            "(exit 111 with the reason if not).\n"
            "\n"
            "  --broker URL        default mqtts://localhost:8883\n"
            "  --update URL        the update repository; default https://localhost/\n"
            "  --log-level L       none, error, warning (default), info, debug, verbose\n"
            "  --debug-console     the build keeps a debug console\n"
            "  --no-ble            BLE compiled out\n"
            "  --require-mitm      refuse Just Works pairings\n"
            "  --window SEC        pairing window after a press, 60..900 (default 180)\n"
            "  --max-failures N    failed pairings that close it, 1..20 (default 5)\n"
            "  --disclosure-url U  the maker's vulnerability disclosure policy (https)\n"
            "  --support-until D   the end of the support period (YYYY-MM-DD)\n"
            "  -h, --help          this help\n");
}

int ward_cmd_profile(int argc, char **argv)
{
    enum {
        O_OUT = 1, O_BROKER, O_UPDATE, O_CLASS, O_NAME, O_VERSION, O_LOG, O_CONSOLE, O_NOBLE,
        O_MITM, O_WINDOW, O_FAIL, O_DISC, O_SUPPORT, O_CHECK
    };
    static const struct option opts[] = {
        {"out", required_argument, NULL, O_OUT},
        {"broker", required_argument, NULL, O_BROKER},
        {"update", required_argument, NULL, O_UPDATE},
        {"device-class", required_argument, NULL, O_CLASS},
        {"name", required_argument, NULL, O_NAME},
        {"version", required_argument, NULL, O_VERSION},
        {"log-level", required_argument, NULL, O_LOG},
        {"debug-console", no_argument, NULL, O_CONSOLE},
        {"no-ble", no_argument, NULL, O_NOBLE},
        {"require-mitm", no_argument, NULL, O_MITM},
        {"window", required_argument, NULL, O_WINDOW},
        {"max-failures", required_argument, NULL, O_FAIL},
        {"disclosure-url", required_argument, NULL, O_DISC},
        {"support-until", required_argument, NULL, O_SUPPORT},
        {"check", required_argument, NULL, O_CHECK},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ward_profile_build_opts_t o;
    memset(&o, 0, sizeof o);
    const char *out = NULL, *check = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_OUT:
            out = optarg;
            break;
        case O_BROKER:
            o.broker_url = optarg;
            break;
        case O_UPDATE:
            o.update_url = optarg;
            break;
        case O_CLASS:
            o.device_class = optarg;
            break;
        case O_NAME:
            o.name = optarg;
            break;
        case O_VERSION:
            o.version = optarg;
            break;
        case O_LOG:
            o.log_level = optarg;
            break;
        case O_CONSOLE:
            o.debug_console = true;
            break;
        case O_NOBLE:
            o.no_ble = true;
            break;
        case O_MITM:
            o.require_mitm = true;
            break;
        case O_WINDOW:
            if (!ward_cli_parse_u32(optarg, &o.window_seconds) || o.window_seconds < 60u ||
                o.window_seconds > 900u) {
                return usage_error("profile", "--window takes 60..900 seconds");
            }
            break;
        case O_FAIL:
            if (!ward_cli_parse_u32(optarg, &o.window_max_failures) ||
                o.window_max_failures < 1u || o.window_max_failures > 20u) {
                return usage_error("profile", "--max-failures takes 1..20");
            }
            break;
        case O_DISC:
            o.disclosure_url = optarg;
            break;
        case O_SUPPORT:
            o.support_until = optarg;
            break;
        case O_CHECK:
            check = optarg;
            break;
        case 'h':
            profile_help(stdout);
            return WARD_EXIT_OK;
        default:
            profile_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        return usage_error("profile", "unexpected argument");
    }
    if (check != NULL) {
        ward_profile_t *p = malloc(sizeof *p);
        char why[256];
        ward_err_t err = p == NULL ? WARD_ERR_NO_SPACE : ward_profile_load(check, p, why, sizeof why);
        if (err == WARD_OK) {
            printf("%s: a valid device profile (format %u): %s %s, class %s, BLE %s, %zu GATT "
                   "attributes, %zu connections, %zu listening\n",
                   check, p->format, p->fw_name, p->fw_version, p->device_class,
                   p->ble_enabled ? "on" : "off", p->n_gatt, p->n_connect, p->n_listen);
        }
        free(p);
        if (err != WARD_OK) {
            char what[600];
            snprintf(what, sizeof what, "%s: %s", check, why);
            return ward_cli_fail("profile", what, err);
        }
        return WARD_EXIT_OK;
    }
    char *json = NULL;
    ward_err_t err = ward_profile_build(&o, &json);
    if (err != WARD_OK) {
        return ward_cli_fail("profile", "an option is out of range (a URL scheme://host[:port], "
                                        "a log level, a class)",
                             err);
    }
    if (out != NULL) {
        err = ward_cli_write_file(out, json, strlen(json), 0644, false);
        free(json);
        return err == WARD_OK ? WARD_EXIT_OK : ward_cli_fail("profile", out, err);
    }
    fputs(json, stdout);
    free(json);
    return WARD_EXIT_OK;
}
