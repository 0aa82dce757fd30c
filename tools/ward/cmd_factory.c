/*
 * ward CLI: the production line (tools/factory does the work):
 *   ward factory init FACTORY/ [--pkcs11 URI] ...
 *   ward factory provision FACTORY/ --device-id ID --image APP.img --out DEVICE/
 *   ward factory eol DEVICE/ [--factory FACTORY/] [--json]
 * docs/factory.md describes the line; docs/cli.md the options.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ward_factory.h"

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ward factory %s: %s (ward factory %s --help)\n", cmd, msg, cmd);
    return WARD_EXIT_USAGE;
}

static int fail(const char *cmd, const char *why, const char *what, ward_err_t err)
{
    char name[64];
    snprintf(name, sizeof name, "factory %s", cmd);
    return ward_cli_fail(name, why != NULL && why[0] != '\0' ? why : what, err);
}

static bool port_arg(const char *s, uint16_t *out)
{
    uint32_t v = 0;
    if (!ward_cli_parse_u32(s, &v) || v == 0u || v > 65535u) {
        return false;
    }
    *out = (uint16_t)v;
    return true;
}

static void print_hex(const uint8_t *p, size_t n)
{
    ward_cli_print_hex(stdout, p, n);
}

/* ---- init ---------------------------------------------------------------------------- */

static void init_help(FILE *f)
{
    fprintf(f,
            "usage: ward factory init FACTORY/ [--pkcs11 URI] [--name NAME]\n"
            "                         [--device-class CLASS] [--broker-host HOST]\n"
            "                         [--broker-port N] [--repo-host HOST] [--repo-port N]\n"
            "                         [--broker-user USER] [--boot-key KEY] [--ota-key KEY]\n"
            "\n"
            "Make a factory: the boot key, the OTA key (refused if it is the boot key,\n"
            "exit 21), the factory CA (self-signed P-256, 20 years, pathlen 0) and an\n"
            "empty CRL; the fleet's configuration: Mosquitto (broker/mosquitto.conf:\n"
            "TLS only on one listener, client certificates required, the CN as user\n"
            "name and client id, the CRL, broker/acl: each device under devices/<id>/)\n"
            "with its server certificate, the fleet service's identity (fleet/), nginx\n"
            "for the update repository (web/nginx.conf, TLS 1.3 only) with its server\n"
            "certificate, and repo/. Private keys in files have mode 0600. FACTORY/\n"
            "must be missing or empty: a factory is never overwritten (exit 12).\n"
            "\n"
            "  --pkcs11 URI         make the boot, OTA and CA keys inside this token\n"
            "                       (a pkcs11: URI naming it, e.g. pkcs11:token=factory,\n"
            "                       with module-path= / pin-source= if needed); the\n"
            "                       objects are ward-boot-key, ward-ota-key,\n"
            "                       ward-factory-ca (docs/factory.md)\n"
            "  --name NAME          the CA's common name (default \"ward factory CA\")\n"
            "  --device-class C     the units' default class (default \"device\")\n"
            "  --broker-host HOST   the broker's DNS name or IP (default localhost: its\n"
            "                       certificate then also names 127.0.0.1 and ::1)\n"
            "  --broker-port N      the TLS listener (default 8883)\n"
            "  --repo-host HOST     the update server's name (default: the broker's)\n"
            "  --repo-port N        its HTTPS port (default 443)\n"
            "  --broker-user USER   Mosquitto's `user` (a root Mosquitto otherwise runs as\n"
            "                       \"mosquitto\", which must then read FACTORY/)\n"
            "  --boot-key KEY       use this existing boot key (a file or a pkcs11: URI)\n"
            "  --ota-key KEY        use this existing OTA key\n"
            "  -h, --help           this help\n");
}

static int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pkcs11", required_argument, NULL, 'p'},
        {"name", required_argument, NULL, 'n'},
        {"device-class", required_argument, NULL, 'c'},
        {"broker-host", required_argument, NULL, 'b'},
        {"broker-port", required_argument, NULL, 'P'},
        {"repo-host", required_argument, NULL, 'r'},
        {"repo-port", required_argument, NULL, 'R'},
        {"broker-user", required_argument, NULL, 'u'},
        {"boot-key", required_argument, NULL, 'k'},
        {"ota-key", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ward_factory_init_opts_t o;
    memset(&o, 0, sizeof o);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o.pkcs11 = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 'c':
            o.device_class = optarg;
            break;
        case 'b':
            o.broker_host = optarg;
            break;
        case 'P':
            if (!port_arg(optarg, &o.broker_port)) {
                return usage_error("init", "--broker-port takes 1..65535");
            }
            break;
        case 'r':
            o.repo_host = optarg;
            break;
        case 'R':
            if (!port_arg(optarg, &o.repo_port)) {
                return usage_error("init", "--repo-port takes 1..65535");
            }
            break;
        case 'u':
            o.broker_user = optarg;
            break;
        case 'k':
            o.boot_key = optarg;
            break;
        case 'o':
            o.ota_key = optarg;
            break;
        case 'h':
            init_help(stdout);
            return WARD_EXIT_OK;
        default:
            init_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        return usage_error("init", optind == argc ? "FACTORY/ is required" : "unexpected argument");
    }
    o.dir = argv[optind];
    ward_factory_init_result_t r;
    char why[512];
    ward_err_t err = ward_factory_init(&o, &r, why, sizeof why);
    if (err != WARD_OK) {
        return fail("init", why, o.dir, err);
    }
    printf("factory %s made\n", o.dir);
    printf("  boot key   %s\n    hash     ", r.boot_key);
    print_hex(r.boot_key_hash, sizeof r.boot_key_hash);
    printf("\n  OTA key    %s\n    hash     ", r.ota_key);
    print_hex(r.ota_key_hash, sizeof r.ota_key_hash);
    printf("\n  CA key     %s\n  CA         ca/ca.pem (serial ", r.ca_key);
    print_hex(r.ca_serial, sizeof r.ca_serial);
    printf("), CRL ca/crl.pem (empty)\n"
           "  broker     broker/mosquitto.conf, broker/acl, broker/server.pem\n"
           "  fleet      fleet/fleet.pem (CN %s)\n"
           "  web        web/nginx.conf, web/server.pem; serves repo/\n",
           WARD_FACTORY_FLEET_CN);
    if (o.pkcs11 == NULL) {
        printf("keep keys/*.pem and ca/ca-key.pem offline (mode 0600); --pkcs11 keeps them in "
               "a token\n");
    }
    return WARD_EXIT_OK;
}

/* ---- provision ------------------------------------------------------------------------- */

static void provision_help(FILE *f)
{
    fprintf(f,
            "usage: ward factory provision FACTORY/ --device-id ID --image APP.img\n"
            "                              --out DEVICE/ [--device-class C]\n"
            "                              [--validity-days N] [--profile FILE]\n"
            "\n"
            "Make one simulated unit as a production station would: create DEVICE/;\n"
            "the HSM generates the HUK and the identity key (P-256) inside; a CSR\n"
            "signed by the HSM; the factory CA certifies it (CN = ID, 16-byte random\n"
            "serial, clientAuth); the boot key hash, the OTA key hash and the device\n"
            "id's hash burnt into OTP and locked; the boot and OTA public keys and the\n"
            "class stored; the image (checked against the boot key first) flashed;\n"
            "secure boot enabled and debug locked; the BLE pairing label made from the\n"
            "HSM's pairing key (label.txt, label.svg). Writes DEVICE/cert.pem, ca.pem,\n"
            "device-id, device-profile.json and factory-record.json (and its copy in\n"
            "FACTORY/units/). Then run `ward factory eol DEVICE/ --factory FACTORY/`\n"
            "(without --factory the unit is checked against itself) and `ward audit DEVICE/`.\n"
            "Only the factory's public keys and its CA key are used.\n"
            "\n"
            "  --device-id ID       1-64 of A-Z a-z 0-9 . _ - (not starting with . or -;\n"
            "                       never / + # or a control character): exit 105;\n"
            "                       an id with a valid, unrevoked certificate: exit 12\n"
            "  --image FILE         the signed MCUboot image to flash\n"
            "  --out DIR            the new unit (must not exist: exit 12)\n"
            "  --device-class C     default: the factory's\n"
            "  --validity-days N    certificate validity, 1..365 (default 365): exit 104\n"
            "                       above\n"
            "  --profile FILE       the firmware build's device profile (ward profile;\n"
            "                       docs/device-profile.md), copied to the unit; default:\n"
            "                       the sample plug's, with the factory's broker and\n"
            "                       update server. Not a valid profile: exit 111\n"
            "  -h, --help           this help\n");
}

static int cmd_provision(int argc, char **argv)
{
    static const struct option opts[] = {
        {"device-id", required_argument, NULL, 'i'},
        {"image", required_argument, NULL, 'm'},
        {"out", required_argument, NULL, 'o'},
        {"device-class", required_argument, NULL, 'c'},
        {"validity-days", required_argument, NULL, 'v'},
        {"profile", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ward_factory_provision_opts_t o;
    memset(&o, 0, sizeof o);
    uint32_t days = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            o.device_id = optarg;
            break;
        case 'm':
            o.image = optarg;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 'c':
            o.device_class = optarg;
            break;
        case 'p':
            o.profile = optarg;
            break;
        case 'v':
            if (!ward_cli_parse_u32(optarg, &days) || days == 0u || days > 100000u) {
                return usage_error("provision", "--validity-days takes a number of days");
            }
            break;
        case 'h':
            provision_help(stdout);
            return WARD_EXIT_OK;
        default:
            provision_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        return usage_error("provision", "FACTORY/ is required (once)");
    }
    if (o.device_id == NULL || o.image == NULL || o.out == NULL) {
        return usage_error("provision", "--device-id, --image and --out are required");
    }
    o.factory = argv[optind];
    o.validity = days * 86400u;
    ward_factory_provision_result_t r;
    char why[512];
    ward_err_t err = ward_factory_provision(&o, &r, why, sizeof why);
    if (err != WARD_OK) {
        return fail("provision", why, o.out, err);
    }
    char nb[21], na[21];
    ward_factory_iso8601(r.not_before, nb);
    ward_factory_iso8601(r.not_after, na);
    printf("provisioned %s in %s\n", o.device_id, o.out);
    printf("  hsm        HUK and identity key generated inside; public key ");
    print_hex(r.identity_pub, 8);
    printf("...\n  cert       cert.pem serial ");
    print_hex(r.serial, sizeof r.serial);
    printf(", %s .. %s\n", nb, na);
    printf("  otp        boot key hash, OTA key hash, device id: burnt and locked; secure boot "
           "on; debug locked\n");
    printf("  flash      image written to the primary slot\n");
    printf("  label      %s\n", r.label_done ? "label.txt and label.svg (BLE OOB pairing, from "
                                               "the HSM's pairing key)"
                                             : "skipped: this HSM has no pairing key");
    printf("  profile    %s (%s)\n", "device-profile.json",
           o.profile != NULL ? o.profile : "the sample plug's, this build");
    printf("next: ward factory eol %s --factory %s\n", o.out, o.factory);
    return WARD_EXIT_OK;
}

/* ---- eol ----------------------------------------------------------------------------- */

static void eol_help(FILE *f)
{
    fprintf(f,
            "usage: ward factory eol DEVICE/ [--factory FACTORY/] [--json]\n"
            "\n"
            "End-of-line test: boot the unit and check it. Every check runs and is\n"
            "reported pass/fail: boot, image, secure_boot, debug_lock, boot_key_hash,\n"
            "ota_key_hash, device_id, huk, identity_key, keys_not_exported,\n"
            "certificate_chain, certificate_validity, certificate_subject,\n"
            "certificate_key (docs/factory.md says what each checks). Exit 0 when all\n"
            "pass, 106 when any fails (the report names it), another code when the\n"
            "test could not run (no device: 14).\n"
            "\n"
            "  --factory DIR  check the key hashes against the factory's keys and the\n"
            "                 certificate against its CA (without it: against the\n"
            "                 unit's own ca.pem, and key hashes for presence only)\n"
            "  --json         the report as JSON (docs/factory.md: the schema)\n"
            "  -h, --help     this help\n");
}

static void eol_json(const char *dev, const ward_factory_eol_report_t *rep)
{
    printf("{\"format\":1,\"device\":");
    ward_cli_json_str(stdout, dev);
    printf(",\"device_id\":");
    ward_cli_json_str(stdout, rep->device_id);
    printf(",\"result\":\"%s\",\"anchor\":\"%s\",\"failed\":[", rep->passed ? "pass" : "fail",
           rep->anchor_factory ? "factory" : "device");
    bool first = true;
    for (int i = 0; i < WARD_FACTORY_CHECK_COUNT; i++) {
        if (!rep->pass[i]) {
            printf("%s\"%s\"", first ? "" : ",", ward_factory_check_name((ward_factory_check_t)i));
            first = false;
        }
    }
    printf("],\"certificate\":");
    if (rep->serial_len > 0u) {
        char nb[21], na[21];
        ward_factory_iso8601(rep->not_before, nb);
        ward_factory_iso8601(rep->not_after, na);
        printf("{\"serial\":\"");
        print_hex(rep->serial, rep->serial_len);
        printf("\",\"not_before\":\"%s\",\"not_after\":\"%s\"}", nb, na);
    } else {
        printf("null");
    }
    printf(",\"checks\":[");
    for (int i = 0; i < WARD_FACTORY_CHECK_COUNT; i++) {
        printf("%s{\"name\":\"%s\",\"pass\":%s,\"detail\":", i == 0 ? "" : ",",
               ward_factory_check_name((ward_factory_check_t)i), rep->pass[i] ? "true" : "false");
        ward_cli_json_str(stdout, rep->detail[i]);
        printf("}");
    }
    printf("]}\n");
}

static int cmd_eol(int argc, char **argv)
{
    static const struct option opts[] = {
        {"factory", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *factory = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            factory = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            eol_help(stdout);
            return WARD_EXIT_OK;
        default:
            eol_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        return usage_error("eol", "DEVICE/ is required (once)");
    }
    const char *dev = argv[optind];
    ward_factory_eol_report_t rep;
    ward_err_t err = ward_factory_eol(dev, factory, 0, &rep);
    if (err != WARD_OK) {
        char what[512];
        snprintf(what, sizeof what, "%s: %s", err == WARD_ERR_NOT_FOUND || err == WARD_ERR_CORRUPT
                                                   ? (factory != NULL ? "no device or no factory"
                                                                      : "no device here")
                                                   : "cannot test",
                 dev);
        return fail("eol", NULL, what, err);
    }
    if (json) {
        eol_json(dev, &rep);
    } else {
        printf("end-of-line test of %s (%s)\n", dev, rep.device_id[0] ? rep.device_id : "?");
        for (int i = 0; i < WARD_FACTORY_CHECK_COUNT; i++) {
            printf("  %-4s %-21s %s\n", rep.pass[i] ? "pass" : "FAIL",
                   ward_factory_check_name((ward_factory_check_t)i), rep.detail[i]);
        }
        printf("%s\n", rep.passed ? "PASS" : "FAIL");
    }
    if (!rep.passed) {
        if (!json) {
            fprintf(stderr, "ward factory eol: %s failed:", dev);
            for (int i = 0; i < WARD_FACTORY_CHECK_COUNT; i++) {
                if (!rep.pass[i]) {
                    fprintf(stderr, " %s", ward_factory_check_name((ward_factory_check_t)i));
                }
            }
            fprintf(stderr, " (%s)\n", ward_err_name(WARD_ERR_EOL));
        }
        return ward_cli_exit_code(WARD_ERR_EOL);
    }
    return WARD_EXIT_OK;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static void factory_help(FILE *f)
{
    fprintf(f, "usage: ward factory <init|provision|eol> ...   (ward factory <cmd> --help)\n"
               "\n"
               "  init       make a factory: keys (files or a PKCS#11 token), CA, broker\n"
               "             and update server configuration\n"
               "  provision  make one simulated unit: HSM keys, certificate, OTP, image\n"
               "  eol        end-of-line test of a unit: pass/fail per check\n");
}

int ward_cmd_factory(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        factory_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? WARD_EXIT_USAGE : WARD_EXIT_OK;
    }
    if (strcmp(argv[1], "init") == 0) {
        return cmd_init(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "provision") == 0) {
        return cmd_provision(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "eol") == 0) {
        return cmd_eol(argc - 1, argv + 1);
    }
    fprintf(stderr, "ward factory: unknown command '%s'\n", argv[1]);
    factory_help(stderr);
    return WARD_EXIT_USAGE;
}
