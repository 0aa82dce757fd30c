/*
 * ward CLI: the credential vault of a simulated device (docs/vault.md).
 *   ward vault list|get|put|rm|stats|wipe|format --device DIR ...
 * Everything goes through src/vault on the device's vault area and HSM;
 * nothing here reads the vault's bytes itself. Values are printed only
 * with --reveal, and every buffer that held one is wiped.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "ward/sim.h"
#include "ward/util.h"
#include "ward/vault.h"

/* The HSM counter the CLI's vault owns (the simulator's counter 0). */
#define VAULT_COUNTER 0u

typedef struct {
    const char *dir;
    bool json, reveal, hex, yes, chacha, from_stdin;
    const char *value, *file, *out;
    const char *name; /* the one positional argument, if any */
} opts_t;

typedef struct {
    ward_sim_device_t dev;
    bool dev_open;
    ward_vault_t v;
    bool mounted;
    ward_vault_config_t cfg;
} session_t;

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ward vault %s: %s (ward vault %s --help)\n", cmd, msg, cmd);
    return WARD_EXIT_USAGE;
}

static int vfail(const char *cmd, const char *what, ward_err_t err)
{
    char full[32];
    snprintf(full, sizeof full, "vault %s", cmd);
    /* A bad name is a bad command line: ward_cli_exit_code says 2 for it. */
    return ward_cli_fail(full, what, err);
}

static void close_session(session_t *s)
{
    if (s->mounted) {
        ward_vault_unmount(&s->v);
        s->mounted = false;
    }
    if (s->dev_open) {
        ward_sim_device_close(&s->dev);
        s->dev_open = false;
    }
}

/* Open the device and check it can hold a vault. */
static int open_device(const char *cmd, const opts_t *o, session_t *s)
{
    memset(s, 0, sizeof *s);
    ward_err_t err = ward_sim_device_open(&s->dev, o->dir);
    if (err != WARD_OK) {
        char what[600];
        snprintf(what, sizeof what, "%s%s", o->dir,
                 err == WARD_ERR_NOT_FOUND
                     ? " is not a simulated device (create one with `ward device create DIR`)"
                     : "");
        return vfail(cmd, what, err);
    }
    s->dev_open = true;
    if (!s->dev.hsm.has_huk) {
        fprintf(stderr,
                "ward vault %s: %s has no device-unique key (HUK) in its HSM yet, so there is no\n"
                "key to encrypt the vault with. Provision the device first:\n"
                "  ward device provision %s -k BOOT_KEY.pem\n",
                cmd, o->dir, o->dir);
        close_session(s);
        return WARD_EXIT_STATE;
    }
    if (s->dev.geo.vault_sectors < 2u) {
        fprintf(stderr, "ward vault %s: %s has %u vault sectors; a vault needs at least 2\n", cmd,
                o->dir, s->dev.geo.vault_sectors);
        close_session(s);
        return WARD_EXIT_STATE;
    }
    s->cfg.area = s->dev.vault;
    s->cfg.hsm = &s->dev.hsm.port;
    s->cfg.counter = VAULT_COUNTER;
    s->cfg.aead = o->chacha ? WARD_VAULT_AEAD_CHACHA20_POLY1305 : WARD_VAULT_AEAD_AES256_GCM;
    return WARD_EXIT_OK;
}

/* Explain a mount failure in terms of what to do about it. */
static int mount_fail(const char *cmd, const opts_t *o, ward_err_t err)
{
    const char *why;
    switch (err) {
    case WARD_ERR_VAULT_UNFORMATTED:
        why = "there is no vault on this device yet: `ward vault format --device DIR` creates\n  "
              "one (`ward vault put` does too)";
        break;
    case WARD_ERR_VAULT_ERASED:
        why = "the vault area is ERASED, but the device's monotonic counter shows a vault\n  "
              "existed: someone erased it (or a format never finished). That is a rollback\n  "
              "to nothing -- revoked bonds and update-freshness records would be forgotten --\n  "
              "so nothing formats it on its own. `ward vault format --device DIR --yes`\n  "
              "starts over with an empty vault, if that is what you decide";
        break;
    case WARD_ERR_ROLLBACK:
        why = "the flash holds an OLDER vault state than the device's monotonic counter: an\n  "
              "old flash image was written back (or the counter store was). Refusing to use\n  "
              "it. `ward vault wipe --device DIR --yes` starts over; every record is lost";
        break;
    case WARD_ERR_VAULT_FOREIGN:
        why = "this vault was made with another device's key (a copied flash image); it\n  "
              "cannot be read here. `ward vault wipe --device DIR --yes` starts over";
        break;
    case WARD_ERR_AUTH:
        why = "the vault's authenticated state is damaged or was tampered with; nothing in\n  "
              "it can be trusted. `ward vault wipe --device DIR --yes` starts over";
        break;
    case WARD_ERR_CORRUPT:
    case WARD_ERR_UNSUPPORTED:
        why = "the vault was written for another flash geometry or by another format\n  "
              "version (vaults of format 1 are not read any more). `ward vault wipe\n  "
              "--device DIR --yes` starts over; every record is lost";
        break;
    default:
        why = NULL;
        break;
    }
    int rc = vfail(cmd, "cannot mount the vault", err);
    if (why != NULL) {
        fprintf(stderr, "  %s\n  (DIR = %s)\n", why, o->dir);
    }
    return rc;
}

static int mount(const char *cmd, const opts_t *o, session_t *s, bool format_if_blank)
{
    int rc = open_device(cmd, o, s);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    ward_err_t err = ward_vault_mount(&s->v, &s->cfg);
    if (err == WARD_ERR_VAULT_UNFORMATTED && format_if_blank) {
        err = ward_vault_format(&s->v, &s->cfg);
        if (err == WARD_OK) {
            fprintf(stderr, "ward vault %s: created a new, empty vault on %s\n", cmd, o->dir);
        }
    }
    if (err != WARD_OK) {
        ward_vault_unmount(&s->v);
        rc = mount_fail(cmd, o, err);
        close_session(s);
        return rc;
    }
    s->mounted = true;
    return WARD_EXIT_OK;
}

/* ---- option parsing -------------------------------------------------------------------- */

enum { OPT_JSON = 1000, OPT_REVEAL, OPT_HEX, OPT_YES, OPT_CHACHA, OPT_STDIN, OPT_VALUE, OPT_FILE };

/* Parse argv (argv[0] = subcommand) into o. positional: how many names the
 * subcommand takes (0 or 1). Returns -1 after --help, else an exit code. */
static int parse(const char *cmd, int argc, char **argv, opts_t *o, int positional,
                 void (*help)(FILE *))
{
    static const struct option opts[] = {
        {"device", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, OPT_JSON},
        {"reveal", no_argument, NULL, OPT_REVEAL},
        {"hex", no_argument, NULL, OPT_HEX},
        {"yes", no_argument, NULL, OPT_YES},
        {"chacha20-poly1305", no_argument, NULL, OPT_CHACHA},
        {"stdin", no_argument, NULL, OPT_STDIN},
        {"value", required_argument, NULL, OPT_VALUE},
        {"file", required_argument, NULL, OPT_FILE},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof *o);
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dir = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_REVEAL:
            o->reveal = true;
            break;
        case OPT_HEX:
            o->hex = true;
            break;
        case OPT_YES:
            o->yes = true;
            break;
        case OPT_CHACHA:
            o->chacha = true;
            break;
        case OPT_STDIN:
            o->from_stdin = true;
            break;
        case OPT_VALUE:
            o->value = optarg;
            break;
        case OPT_FILE:
            o->file = optarg;
            break;
        case 'h':
            help(stdout);
            return -1;
        default:
            help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (o->dir == NULL) {
        return usage_error(cmd, "--device DIR is required");
    }
    if (argc - optind != positional) {
        return usage_error(cmd, positional == 1 ? "exactly one NAME is required"
                                                : "unexpected argument");
    }
    if (positional == 1) {
        o->name = argv[optind];
        if (ward_vault_name_check(o->name) != WARD_OK) {
            fprintf(stderr,
                    "ward vault %s: invalid record name '%s': 1 to %u characters of "
                    "A-Z a-z 0-9 . _ - : / @\n",
                    cmd, o->name, (unsigned)WARD_VAULT_NAME_MAX);
            return WARD_EXIT_USAGE;
        }
    }
    return WARD_EXIT_OK;
}

#define PARSE(cmd, npos, help)                                      \
    do {                                                            \
        int prc_ = parse(cmd, argc, argv, &o, npos, help);          \
        if (prc_ != WARD_EXIT_OK) {                                 \
            return prc_ < 0 ? WARD_EXIT_OK : prc_;                  \
        }                                                           \
    } while (0)

/* ---- list ------------------------------------------------------------------------------ */

static void list_help(FILE *f)
{
    fprintf(f, "usage: ward vault list --device DIR [--json]\n"
               "\n"
               "List the records: names and sizes only, never values. Each record is\n"
               "authenticated before it is listed; damaged ones are reported (exit 13).\n"
               "\n"
               "  -d, --device DIR   the simulated device\n"
               "      --json         machine-readable output\n"
               "  -h, --help         this help\n");
}

static int cmd_list(int argc, char **argv)
{
    opts_t o;
    session_t s;
    PARSE("list", 0, list_help);
    int rc = mount("list", &o, &s, false);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char name[WARD_VAULT_NAME_MAX + 1];
    size_t len = 0;
    unsigned count = 0, damaged = 0;
    ward_err_t err;
    if (o.json) {
        printf("{\"records\":[");
    }
    while ((err = ward_vault_next(&s.v, &it, name, &len)) != WARD_ERR_NOT_FOUND) {
        if (err == WARD_ERR_AUTH) {
            damaged++;
            continue;
        }
        if (err != WARD_OK) {
            if (o.json) {
                printf("]}\n");
            }
            close_session(&s);
            return vfail("list", "reading the vault", err);
        }
        if (o.json) {
            printf("%s{\"name\":", count > 0 ? "," : "");
            ward_cli_json_str(stdout, name);
            printf(",\"size\":%zu}", len);
        } else {
            printf("%-34s %6zu bytes\n", name, len);
        }
        count++;
    }
    if (o.json) {
        printf("],\"count\":%u,\"damaged\":%u}\n", count, damaged);
    } else {
        printf("%u record%s", count, count == 1 ? "" : "s");
        if (damaged > 0) {
            printf(", %u DAMAGED (failed authentication; unreadable)", damaged);
        }
        printf("\n");
    }
    close_session(&s);
    if (damaged > 0) {
        fprintf(stderr, "ward vault list: %u record%s failed authentication\n", damaged,
                damaged == 1 ? "" : "s");
        return WARD_EXIT_INTEGRITY;
    }
    return WARD_EXIT_OK;
}

/* ---- get ------------------------------------------------------------------------------- */

static void get_help(FILE *f)
{
    fprintf(f, "usage: ward vault get NAME --device DIR [--reveal [--hex]] [-o FILE]\n"
               "\n"
               "Read a record. Without --reveal or -o only its size is shown: the value is\n"
               "never printed by accident. The value is released only after its tag\n"
               "verified (exit 13 if the record is damaged or was tampered with).\n"
               "\n"
               "  -d, --device DIR   the simulated device\n"
               "      --reveal       print the value (as text if it is printable ASCII,\n"
               "                     else as hex)\n"
               "      --hex          with --reveal: always print hex\n"
               "  -o, --output FILE  write the exact value bytes to FILE (mode 0600)\n"
               "  -h, --help         this help\n");
}

static bool printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20u || p[i] > 0x7eu) {
            return false;
        }
    }
    return true;
}

static int cmd_get(int argc, char **argv)
{
    opts_t o;
    session_t s;
    static uint8_t buf[WARD_VAULT_VALUE_MAX];
    size_t len = 0;
    PARSE("get", 1, get_help);
    if (o.hex && !o.reveal) {
        return usage_error("get", "--hex only goes with --reveal");
    }
    int rc = mount("get", &o, &s, false);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    ward_err_t err = ward_vault_get(&s.v, buf, sizeof buf, &len, o.name);
    close_session(&s);
    if (err != WARD_OK) {
        char what[128];
        snprintf(what, sizeof what, "%s%s", o.name,
                 err == WARD_ERR_AUTH ? ": the record failed authentication (damaged or tampered)"
                                      : "");
        return vfail("get", what, err);
    }
    rc = WARD_EXIT_OK;
    if (o.out != NULL) {
        err = ward_cli_write_file(o.out, buf, len, 0600, false);
        if (err != WARD_OK) {
            rc = vfail("get", o.out, err);
        } else {
            fprintf(stderr, "wrote %s (%zu bytes, mode 0600)\n", o.out, len);
        }
    }
    if (rc == WARD_EXIT_OK && o.reveal) {
        if (!o.hex && printable(buf, len)) {
            fwrite(buf, 1, len, stdout);
        } else {
            ward_cli_print_hex(stdout, buf, len);
        }
        printf("\n");
    } else if (rc == WARD_EXIT_OK && o.out == NULL) {
        printf("%s: %zu bytes (value not shown: --reveal prints it, -o FILE writes it)\n", o.name,
               len);
    }
    fflush(stdout);
    ward_wipe(buf, sizeof buf);
    return rc;
}

/* ---- put ------------------------------------------------------------------------------- */

static void put_help(FILE *f)
{
    fprintf(f, "usage: ward vault put NAME --device DIR (--value V | --file F | --stdin) [--hex]\n"
               "\n"
               "Store a record, replacing any older value; atomic across power cuts. A\n"
               "blank vault area is formatted first. Prefer --stdin or --file: a --value\n"
               "stays in the shell history and the process list.\n"
               "\n"
               "  -d, --device DIR        the simulated device\n"
               "      --value V           the value, as text (or hex with --hex)\n"
               "      --file F            the value is the exact contents of F\n"
               "      --stdin             the value is everything read from stdin\n"
               "      --hex               --value is hex (e.g. a 16-byte BLE LTK)\n"
               "      --chacha20-poly1305 when a new vault is created: use ChaCha20-Poly1305\n"
               "                          (default AES-256-GCM)\n"
               "  -h, --help              this help\n");
}

/* Read the value into buf (cap bytes); *too_big if there was more. */
static int read_value(const opts_t *o, uint8_t *buf, size_t cap, size_t *len, bool *too_big)
{
    *len = 0;
    *too_big = false;
    if (o->value != NULL && !o->hex) {
        size_t n = strlen(o->value);
        *too_big = n > cap;
        *len = n > cap ? cap : n;
        memcpy(buf, o->value, *len);
        return WARD_EXIT_OK;
    }
    if (o->value != NULL) {
        size_t n = strlen(o->value);
        if (n % 2u != 0u) {
            return usage_error("put", "--hex value has an odd number of digits");
        }
        for (size_t i = 0; i < n / 2u; i++) {
            int hi = ward_cli_hex_digit(o->value[2 * i]), lo = ward_cli_hex_digit(o->value[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                return usage_error("put", "--hex value has a non-hex character");
            }
            if (i >= cap) {
                *too_big = true;
                return WARD_EXIT_OK;
            }
            buf[i] = (uint8_t)(hi * 16 + lo);
            *len = i + 1u;
        }
        return WARD_EXIT_OK;
    }
    FILE *f = o->from_stdin ? stdin : fopen(o->file, "rb");
    if (f == NULL) {
        return vfail("put", o->file, WARD_ERR_IO);
    }
    size_t n = fread(buf, 1, cap, f);
    int extra = fgetc(f);
    bool bad = ferror(f) != 0;
    if (!o->from_stdin) {
        fclose(f);
    }
    if (bad) {
        return vfail("put", o->from_stdin ? "stdin" : o->file, WARD_ERR_IO);
    }
    *len = n;
    *too_big = extra != EOF;
    return WARD_EXIT_OK;
}

static int cmd_put(int argc, char **argv)
{
    opts_t o;
    session_t s;
    static uint8_t buf[WARD_VAULT_VALUE_MAX];
    size_t len = 0;
    bool too_big = false;
    PARSE("put", 1, put_help);
    int sources = (o.value != NULL) + (o.file != NULL) + (o.from_stdin ? 1 : 0);
    if (sources != 1) {
        return usage_error("put", "give the value with exactly one of --value, --file, --stdin");
    }
    if (o.hex && o.value == NULL) {
        return usage_error("put", "--hex only goes with --value");
    }
    int rc = read_value(&o, buf, sizeof buf, &len, &too_big);
    if (rc == WARD_EXIT_OK && too_big) {
        fprintf(stderr, "ward vault put: the value is larger than %zu bytes, the vault's maximum\n",
                WARD_VAULT_VALUE_MAX);
        rc = WARD_EXIT_STATE;
    }
    if (rc == WARD_EXIT_OK) {
        rc = mount("put", &o, &s, true);
    }
    if (rc != WARD_EXIT_OK) {
        ward_wipe(buf, sizeof buf);
        return rc;
    }
    ward_err_t err = ward_vault_put(&s.v, o.name, buf, len);
    ward_wipe(buf, sizeof buf);
    if (err == WARD_ERR_LIMIT || err == WARD_ERR_NO_SPACE) {
        ward_vault_stats_t st;
        if (ward_vault_stats(&s.v, &st) == WARD_OK) {
            fprintf(stderr,
                    "ward vault put: %s: largest value on this geometry %u bytes, %u records "
                    "stored, %u bytes live; counter increments left %u\n",
                    o.name, st.max_value_len, st.records, st.live_bytes, st.counter_remaining);
        }
    }
    close_session(&s);
    if (err != WARD_OK) {
        return vfail("put", o.name, err);
    }
    printf("stored %s (%zu bytes)\n", o.name, len);
    return WARD_EXIT_OK;
}

/* ---- rm -------------------------------------------------------------------------------- */

static void rm_help(FILE *f)
{
    fprintf(f, "usage: ward vault rm NAME --device DIR\n"
               "\n"
               "Delete a record. Its ciphertext stays on flash until its sector is\n"
               "reclaimed; `ward vault wipe` erases everything at once.\n"
               "\n"
               "  -d, --device DIR   the simulated device\n"
               "  -h, --help         this help\n");
}

static int cmd_rm(int argc, char **argv)
{
    opts_t o;
    session_t s;
    PARSE("rm", 1, rm_help);
    int rc = mount("rm", &o, &s, false);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    ward_err_t err = ward_vault_delete(&s.v, o.name);
    close_session(&s);
    if (err != WARD_OK) {
        return vfail("rm", o.name, err);
    }
    printf("deleted %s\n", o.name);
    return WARD_EXIT_OK;
}

/* ---- stats ----------------------------------------------------------------------------- */

static void stats_help(FILE *f)
{
    fprintf(f, "usage: ward vault stats --device DIR [--json]\n"
               "\n"
               "Space, wear and counter figures of the vault.\n"
               "\n"
               "  -d, --device DIR   the simulated device\n"
               "      --json         machine-readable output\n"
               "  -h, --help         this help\n");
}

static int cmd_stats(int argc, char **argv)
{
    opts_t o;
    session_t s;
    ward_vault_stats_t st;
    PARSE("stats", 0, stats_help);
    int rc = mount("stats", &o, &s, false);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    ward_err_t err = ward_vault_stats(&s.v, &st);
    close_session(&s);
    if (err != WARD_OK) {
        return vfail("stats", "reading the statistics", err);
    }
    const char *aead =
        st.aead == WARD_VAULT_AEAD_CHACHA20_POLY1305 ? "ChaCha20-Poly1305" : "AES-256-GCM";
    if (o.json) {
        printf("{\"sectors\":%u,\"sector_size\":%u,\"write_size\":%u,\"aead\":\"%s\","
               "\"vault_id\":\"",
               st.sectors, st.sector_size, st.write_size, aead);
        ward_cli_print_hex(stdout, st.vault_id, sizeof st.vault_id);
        printf("\",\"sector_sizes\":[");
        for (uint32_t i = 0; i < st.sectors; i++) {
            printf("%s%u", i > 0 ? "," : "", st.sector_sizes[i]);
        }
        printf("],\"records\":%u,\"live_bytes\":%u,\"dead_bytes\":%u,\"free_bytes\":%u,"
               "\"max_value_len\":%u,\"erase_counts\":[",
               st.records, st.live_bytes, st.dead_bytes, st.free_bytes, st.max_value_len);
        for (uint32_t i = 0; i < st.sectors; i++) {
            printf("%s%u", i > 0 ? "," : "", st.erase_counts[i]);
        }
        printf("],\"head_sector\":%u,\"version\":%u,\"counter_max\":%u,"
               "\"counter_remaining\":%u}\n",
               st.head, st.version, WARD_HSM_COUNTER_MAX, st.counter_remaining);
        return WARD_EXIT_OK;
    }
    printf("vault on %s\n", o.dir);
    bool uniform = true;
    for (uint32_t i = 1; i < st.sectors; i++) {
        uniform = uniform && st.sector_sizes[i] == st.sector_sizes[0];
    }
    if (uniform) {
        printf("  geometry     %u sectors x %u bytes, write size %u\n", st.sectors,
               st.sector_size, st.write_size);
    } else {
        printf("  geometry     %u sectors of ", st.sectors);
        for (uint32_t i = 0; i < st.sectors; i++) {
            printf("%s%u", i > 0u ? ", " : "", st.sector_sizes[i]);
        }
        printf(" bytes, write size %u\n", st.write_size);
    }
    printf("  cipher       %s, key derived in the HSM\n  vault id     ", aead);
    ward_cli_print_hex(stdout, st.vault_id, sizeof st.vault_id);
    printf("\n  records      %u (largest value allowed: %u bytes)\n", st.records,
           st.max_value_len);
    printf("  bytes        %u live, %u dead, %u free\n", st.live_bytes, st.dead_bytes,
           st.free_bytes);
    printf("  erase counts");
    for (uint32_t i = 0; i < st.sectors; i++) {
        printf(" %u%s", st.erase_counts[i], i == st.head ? "*" : "");
    }
    printf("   (* = sector being written)\n");
    printf("  counter      %u of %u (%u increments left; one per put or delete, two more\n"
           "               for the first change after a mount)\n",
           st.version, WARD_HSM_COUNTER_MAX, st.counter_remaining);
    return WARD_EXIT_OK;
}

/* ---- wipe, format ---------------------------------------------------------------------- */

static void wipe_help(FILE *f)
{
    fprintf(f, "usage: ward vault wipe --device DIR --yes\n"
               "\n"
               "Factory wipe: every record becomes unreadable at once, then every vault\n"
               "sector is erased and a new, empty vault with a new identity is created.\n"
               "Also the way out of a vault that no longer mounts (rolled back, foreign,\n"
               "damaged). Survives a power cut at any point.\n"
               "\n"
               "  -d, --device DIR   the simulated device\n"
               "      --yes          really erase every record\n"
               "  -h, --help         this help\n");
}

static void format_help(FILE *f)
{
    fprintf(f, "usage: ward vault format --device DIR [--yes] [--chacha20-poly1305]\n"
               "\n"
               "Create a new, empty vault on the device's vault area. If a vault is\n"
               "already there (readable or not), or was there and has been erased (the\n"
               "device's counter shows it: WARD_ERR_VAULT_ERASED), --yes is needed.\n"
               "\n"
               "  -d, --device DIR        the simulated device\n"
               "      --yes               erase an existing vault\n"
               "      --chacha20-poly1305 encrypt with ChaCha20-Poly1305 (default AES-256-GCM)\n"
               "  -h, --help              this help\n");
}

static int new_vault(const char *cmd, const opts_t *o, bool wipe)
{
    session_t s;
    int rc = open_device(cmd, o, &s);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    ward_err_t err = ward_vault_mount(&s.v, &s.cfg);
    if (err == WARD_OK && wipe) {
        err = ward_vault_wipe(&s.v);
    } else if (err != WARD_ERR_VAULT_UNFORMATTED) {
        if (!o->yes) {
            ward_vault_unmount(&s.v);
            close_session(&s);
            if (err == WARD_ERR_VAULT_ERASED) {
                fprintf(stderr,
                        "ward vault %s: the vault on %s was erased, but the device's counter "
                        "shows it\n  existed (a rollback to nothing). --yes formats a new, "
                        "empty one\n",
                        cmd, o->dir);
            } else {
                fprintf(stderr, "ward vault %s: %s already has a vault%s; --yes erases it\n", cmd,
                        o->dir, err == WARD_OK ? "" : " (one that does not mount)");
            }
            return WARD_EXIT_EXISTS;
        }
        ward_vault_unmount(&s.v);
        err = ward_vault_format(&s.v, &s.cfg);
    } else {
        ward_vault_unmount(&s.v);
        err = ward_vault_format(&s.v, &s.cfg);
    }
    ward_vault_stats_t st;
    if (err == WARD_OK) {
        err = ward_vault_stats(&s.v, &st);
    }
    ward_vault_unmount(&s.v);
    close_session(&s);
    if (err != WARD_OK) {
        return vfail(cmd, o->dir, err);
    }
    printf("%s: new empty vault on %s, id ", wipe ? "wiped" : "formatted", o->dir);
    ward_cli_print_hex(stdout, st.vault_id, sizeof st.vault_id);
    printf(" (%s)\n",
           st.aead == WARD_VAULT_AEAD_CHACHA20_POLY1305 ? "ChaCha20-Poly1305" : "AES-256-GCM");
    return WARD_EXIT_OK;
}

static int cmd_wipe(int argc, char **argv)
{
    opts_t o;
    PARSE("wipe", 0, wipe_help);
    if (!o.yes) {
        return usage_error("wipe", "this erases every record: add --yes");
    }
    return new_vault("wipe", &o, true);
}

static int cmd_format(int argc, char **argv)
{
    opts_t o;
    PARSE("format", 0, format_help);
    return new_vault("format", &o, false);
}

/* ---- dispatch -------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} sub_t;

static const sub_t k_sub[] = {
    {"list", cmd_list, "names and sizes of the records (never values)"},
    {"get", cmd_get, "read a record (value shown only with --reveal)"},
    {"put", cmd_put, "store a record (--value, --file or --stdin)"},
    {"rm", cmd_rm, "delete a record"},
    {"stats", cmd_stats, "space, wear and counter figures"},
    {"wipe", cmd_wipe, "factory wipe: erase every record (--yes)"},
    {"format", cmd_format, "create a new, empty vault"},
};

static void vault_help(FILE *f)
{
    fprintf(f, "usage: ward vault <command> --device DIR [options]   (ward vault <command> "
               "--help)\n\n"
               "The encrypted credential vault of a simulated device (docs/vault.md). The\n"
               "device needs a device-unique key: `ward device provision DIR -k KEY` first.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof k_sub / sizeof k_sub[0]; i++) {
        fprintf(f, "  %-7s %s\n", k_sub[i].name, k_sub[i].help);
    }
}

int ward_cmd_vault(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        vault_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? WARD_EXIT_USAGE : WARD_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof k_sub / sizeof k_sub[0]; i++) {
        if (strcmp(argv[1], k_sub[i].name) == 0) {
            return k_sub[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "ward vault: unknown command '%s'\n", argv[1]);
    vault_help(stderr);
    return WARD_EXIT_USAGE;
}
