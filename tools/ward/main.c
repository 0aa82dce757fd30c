/* ward: one program, many subcommands (docs/cli.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ward/crypto.h"

typedef struct {
    const char *name;
    ward_cmd_fn fn;
    const char *help;
} command_t;

static const command_t k_commands[] = {
    {"keygen", ward_cmd_keygen, "create a P-256 signing key (PKCS#8 PEM, mode 0600)"},
    {"getpub", ward_cmd_getpub, "print a key's public part (pem, c or hash)"},
    {"sign", ward_cmd_sign, "sign a firmware binary into an MCUboot v1 image"},
    {"verify", ward_cmd_verify, "check an image's hash and signature against a key"},
    {"inspect", ward_cmd_inspect, "show an image's header, TLVs and trailer"},
    {"board", ward_cmd_board, "list and show the Cortex-M boards (the files sign --board reads)"},
    {"explain", ward_cmd_explain, "what a status code means and what to do (ward explain -24)"},
    {"device", ward_cmd_device, "create and drive a simulated device"},
    {"vault", ward_cmd_vault, "read and write a simulated device's credential vault"},
    {"repo", ward_cmd_repo, "publish and inspect signed updates (a static repository)"},
    {"ota", ward_cmd_ota, "check and apply updates from a server over HTTPS (a device's agent)"},
    {"ble", ward_cmd_ble, "BLE: the plug's side, the companion app's side, BlueZ's emulator"},
    {"factory", ward_cmd_factory, "production line: factory keys and CA, provision units, end-of-line test"},
    {"cloud", ward_cmd_cloud, "a simulated device's cloud client (MQTT, mutual TLS)"},
    {"fleet", ward_cmd_fleet, "the fleet side: certificate rotation, revocation, CRL"},
    {"audit", ward_cmd_audit, "check a unit against the security checklists (report: text, JSON, HTML)"},
    {"attack", ward_cmd_attack, "run the seeds' attacks against a unit: each refused or not (text, JSON, HTML)"},
    {"profile", ward_cmd_profile, "the device profile a firmware build states (ward audit reads it)"},
    {"demo", ward_cmd_demo, "run the whole story on a simulated device"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ward <command> [options]   (ward <command> --help)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++) {
        fprintf(f, "  %-8s %s\n", k_commands[i].name, k_commands[i].help);
    }
    fprintf(f, "  %-8s %s\n", "version", "print the version");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? WARD_EXIT_USAGE : WARD_EXIT_OK;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("ward %s\n", WARD_VERSION_STRING);
        return WARD_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++) {
        if (strcmp(argv[1], k_commands[i].name) == 0) {
            if (ward_crypto_init() != WARD_OK) {
                fprintf(stderr, "ward: cannot initialise PSA Crypto\n");
                return WARD_EXIT_FAIL;
            }
            return k_commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "ward: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return WARD_EXIT_USAGE;
}
