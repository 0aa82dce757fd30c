/*
 * ward CLI: simulated devices (port/posix device directories) and the boot
 * story: create, provision, flash, stage, boot/reset, confirm, status.
 * Every decision comes from src/boot and src/image; nothing here re-parses
 * a format. docs/boot.md shows a session.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ward/boot.h"
#include "ward/crypto.h"
#include "ward/image.h"
#include "ward/ota.h"
#include "ward/sim.h"
#include "ward/util.h"
#include "ward_board.h"
#include "ward_sign.h"

/* ---- helpers ------------------------------------------------------------- */

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ward device %s: %s (ward device %s --help)\n", cmd, msg, cmd);
    return WARD_EXIT_USAGE;
}

/* "ward device <cmd>: <what>: <reason> (<NAME>)" and the exit code. */
static int dev_fail(const char *cmd, const char *what, ward_err_t err)
{
    char name[64];
    snprintf(name, sizeof name, "device %s", cmd);
    return ward_cli_fail(name, what, err);
}

static int open_device(const char *cmd, const char *dir, ward_sim_device_t *d)
{
    ward_err_t err = ward_sim_device_open(d, dir);
    if (err == WARD_OK) {
        return WARD_EXIT_OK;
    }
    char what[512];
    snprintf(what, sizeof what, "%s: %s", dir,
             err == WARD_ERR_NOT_FOUND ? "no device here (ward device create DIR)"
                                       : "cannot open the device");
    return dev_fail(cmd, what, err);
}

static ward_err_t boot_ctx(ward_sim_device_t *d, ward_boot_ctx_t *ctx)
{
    ward_boot_config_t cfg;
    ward_sim_device_boot_config(d, &cfg);
    return ward_boot_init(ctx, &cfg);
}

static void print_version(FILE *f, const ward_image_version_t *v)
{
    fprintf(f, "%u.%u.%u+%lu", v->major, v->minor, v->revision, (unsigned long)v->build);
}

static void json_version(FILE *f, const char *key, const ward_image_version_t *v)
{
    fprintf(f, "\"%s\":\"", key);
    print_version(f, v);
    fprintf(f, "\"");
}

static const char *event_name(ward_boot_event_t ev)
{
    switch (ev) {
    case WARD_BOOT_EV_INSTALLED:
        return "installed";
    case WARD_BOOT_EV_REVERTED:
        return "reverted";
    case WARD_BOOT_EV_REFUSED:
        return "refused";
    case WARD_BOOT_EV_NONE:
    default:
        return "none";
    }
}

static const char *op_name(uint8_t op)
{
    switch (op) {
    case WARD_BOOT_OP_TEST:
        return "test";
    case WARD_BOOT_OP_PERM:
        return "perm";
    case WARD_BOOT_OP_REVERT:
        return "revert";
    default:
        return "none";
    }
}

/* Read an unsigned option value or fail the command line. */
static bool opt_u32(const char *cmd, const char *name, const char *s, uint32_t *out)
{
    if (ward_cli_parse_u32(s, out)) {
        return true;
    }
    fprintf(stderr, "ward device %s: %s: not a number: '%s'\n", cmd, name, s);
    return false;
}

/* ---- create -------------------------------------------------------------- */

static void create_help(FILE *f)
{
    fprintf(f,
            "usage: ward device create DIR [--sector-size N] [--write-size N]\n"
            "                             [--slot-sectors N] [--vault-sectors N]\n"
            "                             [--program-once | --no-program-once]\n"
            "       ward device create DIR --board NAME|FILE [--program-once | ...]\n"
            "\n"
            "Create a simulated device in DIR: NOR flash (primary and secondary slots,\n"
            "a scratch sector, two boot-state sectors, the vault), blank OTP and an HSM\n"
            "without keys. The last sector of each slot is reserved for the install\n"
            "request, so an image may use slot-sectors - 1 sectors.\n"
            "\n"
            "  --sector-size N      erase unit, a power of two >= 256 (default 4096)\n"
            "  --write-size N       program unit: 1, 2, 4, 8, 16 or 32 (default 8)\n"
            "  --slot-sectors N     sectors per slot, >= 2 (default 32)\n"
            "  --vault-sectors N    sectors for the vault (default 4)\n"
            "  --board NAME|FILE    the flash device of a board of the Cortex-M port\n"
            "                       (ward board list, or a board file): its sector map,\n"
            "                       mixed sizes too (an STM32F405's 4x16K,1x64K,7x128K),\n"
            "                       its write size and where its areas lie\n"
            "  --program-once       ECC flash: each write unit programmed once per erase\n"
            "                       (default when the write size is 8 or more)\n"
            "  --no-program-once    plain NOR: bits may be cleared again\n"
            "  -h, --help           this help\n");
}

/* What a rule of ward_boot_layout_check says (docs/boot.md, "Layout"). */
static const char *rule_text(ward_boot_layout_rule_t r)
{
    switch (r) {
    case WARD_BOOT_RULE_AREA:
        return "an area is not whole sectors of the flash";
    case WARD_BOOT_RULE_OVERLAP:
        return "two areas overlap";
    case WARD_BOOT_RULE_SLOTS:
        return "the slots differ in size or have fewer than two swap units (places where both "
               "have a sector boundary)";
    case WARD_BOOT_RULE_SCRATCH:
        return "a swap unit is larger than the scratch";
    case WARD_BOOT_RULE_TRAILER:
        return "the install request does not fit the secondary's last sector";
    case WARD_BOOT_RULE_STATE:
        return "the boot state needs two sectors of 16 to 65535 journal records each";
    default:
        return "none";
    }
}

/* The geometry of a board's flash device (the board file's DEV_*). */
static int board_geo(const char *name, ward_sim_geometry_t *g)
{
    ward_board_t b;
    char why[320];
    const ward_err_t err = ward_board_load(&b, name, why, sizeof why);
    if (err != WARD_OK) {
        fprintf(stderr, "ward device create: --board %s: %s (ward board list)\n", name, why);
        return WARD_EXIT_USAGE;
    }
    if (b.dev_sectors.runs > WARD_SIM_REGIONS_MAX) {
        fprintf(stderr, "ward device create: board %s's sector map has %u runs; the simulator "
                        "takes %u\n",
                name, (unsigned)b.dev_sectors.runs, (unsigned)WARD_SIM_REGIONS_MAX);
        return WARD_EXIT_USAGE;
    }
    g->nregions = b.dev_sectors.runs;
    for (uint32_t i = 0; i < b.dev_sectors.runs; i++) {
        g->regions[i] = (ward_flash_region_t){b.dev_sectors.run[i].count, b.dev_sectors.run[i].size};
    }
    g->write_size = b.dev_write_size;
    g->primary = (ward_sim_span_t){b.primary_off, b.slot_size};
    g->secondary = (ward_sim_span_t){b.secondary_off, b.slot_size};
    g->scratch = (ward_sim_span_t){b.scratch_off, b.scratch_size};
    g->state = (ward_sim_span_t){b.state_off, b.state_size};
    g->vault = b.has_vault ? (ward_sim_span_t){b.vault_off, b.vault_size} : (ward_sim_span_t){0, 0};
    return WARD_EXIT_OK;
}

static int cmd_create(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sector-size", required_argument, NULL, 's'},
        {"write-size", required_argument, NULL, 'w'},
        {"slot-sectors", required_argument, NULL, 'n'},
        {"vault-sectors", required_argument, NULL, 'v'},
        {"program-once", no_argument, NULL, 'o'},
        {"no-program-once", no_argument, NULL, 'O'},
        {"board", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ward_sim_geometry_t g;
    ward_sim_geometry_default(&g);
    int once = -1;
    const char *board = NULL;
    bool geometry = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (!opt_u32("create", "--sector-size", optarg, &g.sector_size)) {
                return WARD_EXIT_USAGE;
            }
            geometry = true;
            break;
        case 'w':
            if (!opt_u32("create", "--write-size", optarg, &g.write_size)) {
                return WARD_EXIT_USAGE;
            }
            geometry = true;
            break;
        case 'n':
            if (!opt_u32("create", "--slot-sectors", optarg, &g.slot_sectors)) {
                return WARD_EXIT_USAGE;
            }
            geometry = true;
            break;
        case 'v':
            if (!opt_u32("create", "--vault-sectors", optarg, &g.vault_sectors)) {
                return WARD_EXIT_USAGE;
            }
            geometry = true;
            break;
        case 'o':
            once = 1;
            break;
        case 'O':
            once = 0;
            break;
        case 'b':
            board = optarg;
            break;
        case 'h':
            create_help(stdout);
            return WARD_EXIT_OK;
        default:
            create_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        return usage_error("create", optind == argc ? "DIR is required" : "unexpected argument");
    }
    if (board != NULL && geometry) {
        return usage_error("create", "--board gives the geometry: no --sector-size, "
                                     "--write-size, --slot-sectors or --vault-sectors with it");
    }
    if (board != NULL) {
        const int brc = board_geo(board, &g);
        if (brc != WARD_EXIT_OK) {
            return brc;
        }
    }
    const char *dir = argv[optind];
    g.program_once = once >= 0 ? once == 1 : g.write_size >= 8u;
    if (board != NULL) {
        /* The boot core's rules, before anything is written. */
        ward_sim_device_t t;
        ward_boot_layout_rule_t rule = WARD_BOOT_RULE_OK;
        ward_err_t e = ward_sim_device_open_mem(&t, &g);
        if (e != WARD_OK) {
            /* The board passed its rules: what fails is the simulator's. */
            fprintf(stderr,
                    "ward device create: board %s: the simulator cannot model this flash "
                    "(%s): it takes sector maps of at most %u runs of sectors of 256 bytes or "
                    "more, under 2 GiB in all, and areas apart on whole sectors\n",
                    board, ward_err_name(e), (unsigned)WARD_SIM_REGIONS_MAX);
            return WARD_EXIT_USAGE;
        }
        e = ward_boot_layout_check(&t.layout, &rule);
        ward_sim_device_close(&t);
        if (e != WARD_OK) {
            fprintf(stderr, "ward device create: board %s: the bootloader cannot swap this "
                            "layout: %s (docs/boot.md, \"Layout\")\n",
                    board, rule_text(rule));
            return WARD_EXIT_USAGE;
        }
    }
    ward_err_t err = ward_sim_device_create(dir, &g);
    if (err == WARD_ERR_INVALID_ARG) {
        fprintf(stderr,
                "ward device create: impossible geometry (sector size a power of two >= 256, "
                "write size 1..32 a power of two, slot sectors 2..4096, vault sectors <= 1024)\n");
        return WARD_EXIT_USAGE;
    }
    if (err != WARD_OK) {
        char what[512];
        snprintf(what, sizeof what, "%s%s", dir,
                 err == WARD_ERR_EXISTS ? ": a device already lives here" : "");
        return dev_fail("create", what, err);
    }
    if (board == NULL) {
        printf("created device %s: %u-byte sectors, %u-byte writes%s, slots of %u sectors "
               "(images up to %u bytes), %u vault sectors\n",
               dir, g.sector_size, g.write_size, g.program_once ? " (program once)" : "",
               g.slot_sectors, (g.slot_sectors - 1u) * g.sector_size, g.vault_sectors);
        return WARD_EXIT_OK;
    }
    ward_sim_device_t d;
    err = ward_sim_device_open(&d, dir);
    if (err != WARD_OK) {
        return dev_fail("create", dir, err);
    }
    printf("created device %s: board %s's flash, sectors ", dir, board);
    for (uint32_t i = 0; i < g.nregions; i++) {
        printf("%s%ux%u", i > 0u ? "," : "", g.regions[i].count, g.regions[i].size);
    }
    printf(", %u-byte writes%s, slots of 0x%x bytes in %u swap units (images up to 0x%x bytes), "
           "%s\n",
           g.write_size, g.program_once ? " (program once)" : "", g.primary.size,
           ward_boot_units(&d.layout), ward_boot_image_max(&d.layout),
           g.vault.size != 0u ? "a vault" : "no vault");
    ward_sim_device_close(&d);
    return WARD_EXIT_OK;
}

/* ---- provision ----------------------------------------------------------- */

static void provision_help(FILE *f)
{
    fprintf(f,
            "usage: ward device provision DIR -k BOOT_KEY [--secure-boot] [--lock-debug]\n"
            "                                [--no-builtin-key]\n"
            "                                [--ota-key OTA_KEY --device-class CLASS]\n"
            "       ward device provision DIR --ota-key OTA_KEY --device-class CLASS\n"
            "\n"
            "Factory provisioning of a simulated device: burn the SHA-256 of the boot\n"
            "key's DER SubjectPublicKeyInfo into OTP and write-lock that field; have the\n"
            "HSM generate its device-unique key (if it has none). OTP bits cannot be\n"
            "cleared: a device that already has a boot key is refused (exit 15).\n"
            "With --ota-key, also burn the OTA key's hash into OTP (locked), store the\n"
            "OTA public key in the device's read-only flash (otakey.der) and the class\n"
            "of updates it accepts (device.conf). The second form adds the OTA key to a\n"
            "device that has a boot key but no OTA key yet. The OTA key must not be\n"
            "the boot key (exit 21): one key, one job. Nothing is burnt when any check\n"
            "fails.\n"
            "\n"
            "  -k, --key FILE       boot signing key, private or public (PEM or DER)\n"
            "  --secure-boot        burn the secure-boot bit: nothing unverified runs\n"
            "  --lock-debug         burn the debug-lock bit\n"
            "  --no-builtin-key     do not give the bootloader the public key: images\n"
            "                       must then carry it in a PUBKEY TLV (sign with\n"
            "                       --public-key-format full). By default the key is\n"
            "                       built into the bootloader, as MCUboot does, and\n"
            "                       images name it by hash (KEYHASH)\n"
            "  --ota-key FILE       the key update manifests are signed with (ward repo\n"
            "                       publish --ota-key), private or public; only the\n"
            "                       public part is used\n"
            "  --device-class NAME  the class of updates the device accepts (1..%d\n"
            "                       bytes of A-Z a-z 0-9 . _ -, not starting with '.')\n"
            "  -h, --help           this help\n",
            WARD_CONFIG_OTA_CLASS_MAX);
}

/* Is OTP field `field` already burnt (any bit) or locked? */
static ward_err_t otp_field_used(const ward_otp_t *otp, ward_otp_field_t field, uint8_t value[32],
                                 bool *used)
{
    bool locked = false;
    ward_err_t err = otp->read(otp->ctx, field, value, 32);
    if (err == WARD_OK) {
        err = otp->is_locked(otp->ctx, field, &locked);
    }
    *used = err == WARD_OK && (locked || !ward_ct_all(value, 0u, 32));
    return err;
}

static int cmd_provision(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"secure-boot", no_argument, NULL, 's'},
        {"lock-debug", no_argument, NULL, 'd'},
        {"builtin-key", no_argument, NULL, 'b'},
        {"no-builtin-key", no_argument, NULL, 'n'},
        {"ota-key", required_argument, NULL, 'o'},
        {"device-class", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *key_path = NULL, *ota_path = NULL, *cls = NULL;
    bool secure = false, lock_debug = false, builtin = true, builtin_given = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case 's':
            secure = true;
            break;
        case 'd':
            lock_debug = true;
            break;
        case 'b': /* the default; kept for scripts written before it was */
            builtin = true;
            builtin_given = true;
            break;
        case 'n':
            builtin = false;
            builtin_given = true;
            break;
        case 'o':
            ota_path = optarg;
            break;
        case 'c':
            cls = optarg;
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
        return usage_error("provision", "DIR is required (once)");
    }
    if (key_path == NULL && ota_path == NULL) {
        return usage_error("provision", "-k BOOT_KEY is required");
    }
    if ((ota_path == NULL) != (cls == NULL)) {
        return usage_error("provision", "--ota-key and --device-class go together");
    }
    if (key_path == NULL && (secure || lock_debug || builtin_given)) {
        return usage_error("provision", "--secure-boot, --lock-debug and --no-builtin-key "
                                        "come with -k BOOT_KEY");
    }
    if (cls != NULL && !ward_ota_class_ok(cls)) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "--device-class: 1..%d bytes of A-Z a-z 0-9 . _ -, not starting with '.'",
                 WARD_CONFIG_OTA_CLASS_MAX);
        return usage_error("provision", msg);
    }
    const char *dir = argv[optind];
    uint8_t spki[WARD_SIGN_SPKI_LEN], hash[32], old[32];
    uint8_t ota_spki[WARD_SIGN_SPKI_LEN], ota_hash[32], old_ota[32];
    ward_err_t err;
    if (key_path != NULL) {
        err = ward_sign_key_load(key_path, NULL, spki, NULL);
        if (err != WARD_OK) {
            char what[512];
            snprintf(what, sizeof what, "%s: not a usable P-256 key", key_path);
            return dev_fail("provision", what, err);
        }
        (void)ward_sha256(hash, spki, sizeof spki);
    }
    if (ota_path != NULL) {
        err = ward_sign_key_load(ota_path, NULL, ota_spki, NULL);
        if (err != WARD_OK) {
            char what[512];
            snprintf(what, sizeof what, "%s: not a usable P-256 key", ota_path);
            return dev_fail("provision", what, err);
        }
        (void)ward_sha256(ota_hash, ota_spki, sizeof ota_spki);
    }

    ward_sim_device_t d;
    int rc = open_device("provision", dir, &d);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    const ward_otp_t *otp = &d.otp.port;
    bool boot_used = false, ota_used = false;
    err = otp_field_used(otp, WARD_OTP_BOOT_KEY_HASH, old, &boot_used);
    if (err == WARD_OK) {
        err = otp_field_used(otp, WARD_OTP_OTA_KEY_HASH, old_ota, &ota_used);
    }
    /* Every refusal comes before the first burn. */
    if (err == WARD_OK && key_path != NULL && boot_used) {
        fprintf(stderr, "ward device provision: %s is already provisioned (boot key hash ", dir);
        ward_cli_print_hex(stderr, old, sizeof old);
        fprintf(stderr, "); OTP bits cannot be cleared, so nothing was changed\n");
        ward_sim_device_close(&d);
        return ward_cli_exit_code(WARD_ERR_LOCKED);
    }
    if (err == WARD_OK && key_path == NULL && !boot_used) {
        fprintf(stderr, "ward device provision: %s has no boot key yet; provision it with "
                        "-k BOOT_KEY (and --ota-key) first\n", dir);
        ward_sim_device_close(&d);
        return ward_cli_exit_code(WARD_ERR_STATE);
    }
    if (err == WARD_OK && ota_path != NULL) {
        const uint8_t *boot_hash = key_path != NULL ? hash : old;
        if (ward_ct_equal(ota_hash, boot_hash, sizeof ota_hash)) {
            fprintf(stderr,
                    "ward device provision: %s: the OTA key is the boot key; refused, nothing "
                    "was burnt. One key, one job: the key that signs every image must not also "
                    "be able to push updates (a leaked build key would then reach every device "
                    "over the air). Make an OTA key with `ward keygen -k ota.pem` (%s)\n",
                    ota_path, ward_err_name(WARD_ERR_OTA_KEY));
            ward_sim_device_close(&d);
            return ward_cli_exit_code(WARD_ERR_OTA_KEY);
        }
        if (ota_used) {
            fprintf(stderr, "ward device provision: %s already has an OTA key (hash ", dir);
            ward_cli_print_hex(stderr, old_ota, sizeof old_ota);
            fprintf(stderr, "); OTP bits cannot be cleared, so nothing was changed\n");
            ward_sim_device_close(&d);
            return ward_cli_exit_code(WARD_ERR_LOCKED);
        }
    }
    bool new_huk = false;
    if (err == WARD_OK && key_path != NULL) {
        err = otp->burn(otp->ctx, WARD_OTP_BOOT_KEY_HASH, hash, sizeof hash);
        if (err == WARD_OK) {
            err = otp->lock(otp->ctx, WARD_OTP_BOOT_KEY_HASH);
        }
        if (err == WARD_OK && secure) {
            err = ward_otp_flag_set(otp, WARD_OTP_SECURE_BOOT);
        }
        if (err == WARD_OK && lock_debug) {
            err = ward_otp_flag_set(otp, WARD_OTP_DEBUG_LOCK);
        }
        if (err == WARD_OK) {
            err = d.hsm.port.huk_generate(d.hsm.port.ctx);
            new_huk = err == WARD_OK;
            err = err == WARD_ERR_EXISTS ? WARD_OK : err;
        }
        if (err == WARD_OK && builtin) {
            err = ward_sim_device_set_boot_key(&d, spki);
        }
    }
    if (err == WARD_OK && ota_path != NULL) {
        err = otp->burn(otp->ctx, WARD_OTP_OTA_KEY_HASH, ota_hash, sizeof ota_hash);
        if (err == WARD_OK) {
            err = otp->lock(otp->ctx, WARD_OTP_OTA_KEY_HASH);
        }
        if (err == WARD_OK) {
            err = ward_sim_device_set_ota(&d, ota_spki, cls);
        }
    }
    ward_sim_device_close(&d);
    if (err != WARD_OK) {
        return dev_fail("provision", dir, err);
    }
    printf("provisioned %s\n", dir);
    if (key_path != NULL) {
        printf("  boot key hash  ");
        ward_cli_print_hex(stdout, hash, sizeof hash);
        printf(" (burnt, locked)\n  secure boot    %s\n  debug          %s\n  HSM            %s\n"
               "  built-in key   %s\n",
               secure ? "ON" : "off (unverified images still run)", lock_debug ? "locked" : "open",
               new_huk ? "device-unique key generated inside"
                       : "device-unique key already present",
               builtin ? "stored (bootkey.der)" : "none (images must carry a PUBKEY TLV)");
    }
    if (ota_path != NULL) {
        printf("  OTA key hash   ");
        ward_cli_print_hex(stdout, ota_hash, sizeof ota_hash);
        printf(" (burnt, locked)\n  OTA key        stored (otakey.der, read-only)\n"
               "  device class   %s\n", cls);
    }
    return WARD_EXIT_OK;
}

/* ---- flash / stage --------------------------------------------------------- */

/* Erase a whole slot and program data at its start. */
static ward_err_t write_slot(const ward_area_t *a, const uint8_t *data, size_t len)
{
    if (len > a->size) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    const uint32_t ws = a->flash->write_size;
    const size_t n = (len + ws - 1u) / ws * ws;
    uint8_t *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    memset(buf, 0xFF, n);
    if (len > 0) {
        memcpy(buf, data, len);
    }
    ward_err_t err = ward_area_erase(a, 0, a->size);
    if (err == WARD_OK) {
        err = ward_area_prog(a, 0, buf, n);
    }
    free(buf);
    return err;
}

static void flash_help(FILE *f)
{
    fprintf(f,
            "usage: ward device flash DIR IMAGE [--slot primary|secondary]\n"
            "\n"
            "Factory programming: erase a slot and program the file's bytes at its\n"
            "start, as a flash programmer would. Nothing is checked: the bootloader\n"
            "decides at the next reset.\n"
            "\n"
            "  --slot S     primary (default) or secondary\n"
            "  -h, --help   this help\n");
}

static int cmd_flash(int argc, char **argv)
{
    static const struct option opts[] = {
        {"slot", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool secondary = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (strcmp(optarg, "secondary") == 0) {
                secondary = true;
            } else if (strcmp(optarg, "primary") != 0) {
                return usage_error("flash", "--slot is primary or secondary");
            }
            break;
        case 'h':
            flash_help(stdout);
            return WARD_EXIT_OK;
        default:
            flash_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (optind + 2 != argc) {
        return usage_error("flash", "DIR and IMAGE are required");
    }
    uint8_t *data = NULL;
    size_t len = 0;
    ward_err_t err = ward_cli_read_file(argv[optind + 1], &data, &len);
    if (err != WARD_OK) {
        return dev_fail("flash", argv[optind + 1], err);
    }
    ward_sim_device_t d;
    int rc = open_device("flash", argv[optind], &d);
    if (rc != WARD_EXIT_OK) {
        free(data);
        return rc;
    }
    const ward_area_t *a = secondary ? &d.layout.secondary : &d.layout.primary;
    err = write_slot(a, data, len);
    ward_sim_device_close(&d);
    free(data);
    if (err != WARD_OK) {
        return dev_fail("flash", err == WARD_ERR_IMG_TOO_LARGE ? "larger than the slot"
                                                                    : argv[optind + 1],
                             err);
    }
    printf("flashed %s (%zu bytes) into the %s slot of %s\n", argv[optind + 1], len,
           secondary ? "secondary" : "primary", argv[optind]);
    return WARD_EXIT_OK;
}

static void stage_help(FILE *f)
{
    fprintf(f,
            "usage: ward device stage DIR IMAGE [--permanent]\n"
            "\n"
            "What an OTA agent does: write the image into the secondary slot and\n"
            "request its install at the next reset (the MCUboot trailer). A file padded\n"
            "to the slot by `ward sign --pad/--confirm/--test` is written as is, with\n"
            "its own request: image_ok set (--confirm) is permanent, erased is a trial,\n"
            "with a warning (imgtool --overwrite-only --confirm also leaves it erased,\n"
            "and ward swaps: such an image is reverted unless confirmed; --permanent\n"
            "makes it permanent). Refused during an unconfirmed trial (exit 15): the\n"
            "secondary then holds the only copy of the previous image.\n"
            "\n"
            "  --permanent  install for good (no trial; as imgtool --confirm)\n"
            "  -h, --help   this help\n");
}

static int cmd_stage(int argc, char **argv)
{
    static const struct option opts[] = {
        {"permanent", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool permanent = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            permanent = true;
            break;
        case 'h':
            stage_help(stdout);
            return WARD_EXIT_OK;
        default:
            stage_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (optind + 2 != argc) {
        return usage_error("stage", "DIR and IMAGE are required");
    }
    const char *dir = argv[optind], *path = argv[optind + 1];
    uint8_t *data = NULL;
    size_t len = 0;
    ward_err_t err = ward_cli_read_file(path, &data, &len);
    if (err != WARD_OK) {
        return dev_fail("stage", path, err);
    }
    ward_sim_device_t d;
    ward_boot_ctx_t ctx;
    int rc = open_device("stage", dir, &d);
    if (rc != WARD_EXIT_OK) {
        free(data);
        return rc;
    }
    err = boot_ctx(&d, &ctx);
    const bool trial = ctx.st.op == WARD_BOOT_OP_TEST && ctx.st.op_done && !ctx.st.confirmed;
    if (err == WARD_OK && (trial || !ctx.st.op_done)) {
        fprintf(stderr, "ward device stage: %s is %s; confirm it first (ward device confirm)\n",
                dir, trial ? "running a trial image" : "in the middle of a swap (boot it)");
        free(data);
        ward_sim_device_close(&d);
        return ward_cli_exit_code(WARD_ERR_STATE);
    }
    /* What the device cannot take, said with the sizes, before a byte of
     * it is written: more than the slot, or an image over N-1 sectors. */
    const uint32_t slot = d.layout.secondary.size;
    const uint32_t image_max = ward_boot_image_max(&d.layout);
    const uint32_t sector = slot - image_max;
    ward_image_mem_t mem = {data, len};
    ward_image_info_t pre;
    uint32_t image_len = 0;
    if (len > slot) {
        image_len = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
    } else if (ward_image_parse(&pre, ward_image_read_mem, &mem, (uint32_t)len) == WARD_OK &&
               pre.total_size > image_max) {
        image_len = pre.total_size;
    }
    if (err == WARD_OK && image_len != 0u) {
        fprintf(stderr,
                "ward device stage: %s: %s 0x%lx bytes; the slots of %s are 0x%lx bytes of "
                "%lu-byte sectors, and the bootloader lets an image use 0x%lx (%lu of %lu "
                "sectors: the last holds the trailer); nothing written: %s (%s)\n"
                "  fix: make the app 0x%lx bytes smaller, and check it when signing: ward sign "
                "-S 0x%lx --sector-size %lu\n",
                path, len > slot ? "the file is" : "the image is", (unsigned long)image_len, dir,
                (unsigned long)slot, (unsigned long)sector, (unsigned long)image_max,
                (unsigned long)(slot / sector - 1u), (unsigned long)(slot / sector),
                ward_err_str(WARD_ERR_IMG_TOO_LARGE), ward_err_name(WARD_ERR_IMG_TOO_LARGE),
                (unsigned long)(image_len - image_max), (unsigned long)slot, (unsigned long)sector);
        free(data);
        ward_sim_device_close(&d);
        return ward_cli_exit_code(WARD_ERR_IMG_TOO_LARGE);
    }
    if (err == WARD_OK && len != slot && ward_cli_ends_with_boot_magic(data, len)) {
        /* Padded by ward sign --pad -S for another slot size: a device that
         * writes the file as it is would find no install request. */
        fprintf(stderr,
                "ward device stage: warning: %s is padded for a 0x%lx-byte slot (it ends with "
                "an install request), the slots of %s are 0x%lx bytes: a device that writes the "
                "file as it comes would never see that request. Staged here with a request of "
                "its own; sign it with -S 0x%lx (ward sign --board for a board)\n",
                path, (unsigned long)len, dir, (unsigned long)slot, (unsigned long)slot);
    }
    bool pending = false, perm = false;
    if (err == WARD_OK) {
        err = write_slot(&d.layout.secondary, data, len);
    }
    /* A file padded to the slot brings its own request. */
    const bool padded = len == d.layout.secondary.size;
    if (err == WARD_OK && padded) {
        err = ward_boot_request_pending(&ctx, &pending, &perm);
    }
    if (err == WARD_OK && (!pending || (permanent && !perm))) {
        err = ward_boot_request_install(&ctx, permanent);
        perm = permanent;
    }
    ward_image_info_t info;
    ward_area_t sec = d.layout.secondary;
    const ward_err_t perr =
        ward_image_parse(&info, ward_image_read_area, &sec, ward_boot_image_max(&d.layout));
    ward_sim_device_close(&d);
    free(data);
    if (err != WARD_OK) {
        return dev_fail("stage", err == WARD_ERR_IMG_TOO_LARGE ? "larger than a slot allows"
                                                                   : path,
                             err);
    }
    printf("staged %s in the secondary slot of %s", path, dir);
    if (perr == WARD_OK) {
        printf(" (version ");
        print_version(stdout, &info.version);
        printf(", %lu bytes)", (unsigned long)info.total_size);
    } else {
        printf(" (not a valid image here: %s)", ward_err_name(perr));
    }
    printf("\ninstall requested at the next reset: %s\n",
           perm ? "permanent" : "trial (confirm it, or the reset after reverts)");
    if (padded && pending && !perm) {
        /* The file's own trailer asked for a trial: imgtool writes it for
         * --pad and --test, and also for --overwrite-only --confirm. */
        fprintf(stderr,
                "ward device stage: warning: %s brings its own install request without "
                "image_ok: a trial. imgtool writes this trailer for --pad and --test, and also "
                "for --overwrite-only --confirm (overwrite-only images carry no image_ok); ward "
                "swaps, it does not overwrite, so the reset after the trial reverts it unless it "
                "is confirmed. For a permanent install: ward device stage --permanent, or sign "
                "with --confirm and without --overwrite-only\n",
                path);
    }
    return WARD_EXIT_OK;
}

/* ---- boot / reset ---------------------------------------------------------- */

static void boot_help(FILE *f)
{
    fprintf(f,
            "usage: ward device boot DIR [--cut-after N [--torn]] [--json]\n"
            "       ward device reset DIR ...   (the same)\n"
            "\n"
            "Reset the device: run the boot core once, as the bootloader does, and say\n"
            "what happened (installed, reverted, refused), what runs and why.\n"
            "Exit 0 when an image may run, 17 when the device refuses to start, 3\n"
            "when the power was cut.\n"
            "\n"
            "  --cut-after N   cut the power at the N-th flash program/erase or OTP\n"
            "                  burn of this boot (then boot again to see it recover)\n"
            "  --torn          the cut operation is left half done\n"
            "  --json          machine-readable output\n"
            "  -h, --help      this help\n");
}

static void boot_json(const ward_boot_report_t *r, bool ok, bool cut, uint64_t ops)
{
    printf("{\"result\":\"%s\",\"reason\":\"%s\",\"event\":\"%s\",\"update_reason\":\"%s\","
           "\"image_reason\":\"%s\",\"secure_boot\":%s,\"debug_locked\":%s,\"verified\":%s,"
           "\"trial\":%s,\"resumed\":%s,",
           cut ? "power-cut" : ok ? "run" : "refused", ward_err_name(r->reason),
           event_name(r->event), ward_err_name(r->update_reason), ward_err_name(r->image_reason),
           r->secure_boot ? "true" : "false", r->debug_locked ? "true" : "false",
           r->verified ? "true" : "false", r->trial ? "true" : "false",
           r->resumed ? "true" : "false");
    json_version(stdout, "version", &r->version);
    printf(",\"sec_cnt\":%lu,\"otp_counter\":%lu,\"entry_off\":%lu,\"image_size\":%lu,"
           "\"ops\":%llu}\n",
           (unsigned long)r->sec_cnt, (unsigned long)r->otp_counter, (unsigned long)r->entry_off,
           (unsigned long)r->image_size, (unsigned long long)ops);
}

static void boot_text(const char *dir, const ward_boot_report_t *r, bool ok, bool cut,
                      uint64_t ops)
{
    if (cut) {
        static const char *const k_doing[] = {"booting", "installing", "reverting", "refusing"};
        printf("%s: POWER CUT after %llu flash/OTP operations, while %s; boot again to "
               "recover\n",
               dir, (unsigned long long)ops, k_doing[r->event <= WARD_BOOT_EV_REFUSED ? r->event : 0]);
        return;
    }
    switch (r->event) {
    case WARD_BOOT_EV_INSTALLED:
        printf("%s: installed the staged image%s\n", dir,
               r->resumed ? " (an interrupted swap was completed)" : "");
        break;
    case WARD_BOOT_EV_REVERTED:
        printf("%s: reverted the unconfirmed trial image%s\n", dir,
               r->resumed ? " (an interrupted swap was completed)" : "");
        break;
    case WARD_BOOT_EV_REFUSED:
        printf("%s: update refused: %s (%s)\n", dir, ward_err_name(r->update_reason),
               ward_err_str(r->update_reason));
        break;
    case WARD_BOOT_EV_NONE:
    default:
        if (ok) {
            printf("%s: booted the primary image as it was\n", dir);
        } else {
            printf("%s:\n", dir);
        }
        if (r->update_reason != WARD_OK) {
            printf("  trial kept: the previous image cannot be restored: %s (%s)\n",
                   ward_err_name(r->update_reason), ward_err_str(r->update_reason));
        }
        break;
    }
    if (ok) {
        printf("  running  ");
        print_version(stdout, &r->version);
        printf("  %s  sec_cnt %lu  entry 0x%08lx  %lu bytes\n",
               r->verified ? "verified" : "NOT VERIFIED", (unsigned long)r->sec_cnt,
               (unsigned long)r->entry_off, (unsigned long)r->image_size);
        if (!r->verified) {
            printf("  (secure boot is off: %s)\n", ward_err_name(r->image_reason));
        }
        if (r->trial) {
            printf("  trial    confirm it (ward device confirm), or the next reset reverts\n");
        }
    } else {
        printf("  REFUSED to start: %s (%s)", ward_err_name(r->reason), ward_err_str(r->reason));
        if (r->reason == WARD_ERR_BOOT_NO_IMAGE) {
            printf("; primary image: %s (%s)", ward_err_name(r->image_reason),
                   ward_err_str(r->image_reason));
        }
        printf("\n");
    }
    printf("  otp      secure boot %s, debug %s, rollback counter %lu\n",
           r->secure_boot ? "on" : "off", r->debug_locked ? "locked" : "open",
           (unsigned long)r->otp_counter);
}

static int cmd_boot(int argc, char **argv)
{
    static const struct option opts[] = {
        {"cut-after", required_argument, NULL, 'c'},
        {"torn", no_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint32_t cut_after = 0;
    bool torn = false, json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (!opt_u32(argv[0], "--cut-after", optarg, &cut_after) || cut_after == 0u) {
                return usage_error(argv[0], "--cut-after takes N >= 1");
            }
            break;
        case 't':
            torn = true;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            boot_help(stdout);
            return WARD_EXIT_OK;
        default:
            boot_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        return usage_error(argv[0], "DIR is required");
    }
    if (torn && cut_after == 0u) {
        return usage_error(argv[0], "--torn needs --cut-after");
    }
    const char *dir = argv[optind];
    ward_sim_device_t d;
    ward_boot_ctx_t ctx;
    ward_boot_report_t rep;
    int rc = open_device(argv[0], dir, &d);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    if (cut_after != 0u) {
        ward_sim_power_cut_after(&d.power, cut_after, torn);
    }
    const uint64_t ops0 = d.power.ops;
    ward_err_t err = boot_ctx(&d, &ctx);
    if (err != WARD_OK) {
        ward_sim_device_close(&d);
        return dev_fail(argv[0], "reading the boot state", err);
    }
    const ward_fih_t go = ward_boot_go(&ctx, &rep);
    const bool ok = WARD_FIH_EQ(go);
    const bool cut = d.power.dead;
    const uint64_t ops = d.power.ops - ops0;
    ward_sim_device_close(&d);
    if (json) {
        boot_json(&rep, ok, cut, ops);
    } else {
        boot_text(dir, &rep, ok, cut, ops);
    }
    if (cut) {
        return ward_cli_exit_code(WARD_ERR_POWER_LOSS);
    }
    return ok ? WARD_EXIT_OK : WARD_EXIT_REFUSED;
}

/* ---- confirm --------------------------------------------------------------- */

static void confirm_help(FILE *f)
{
    fprintf(f,
            "usage: ward device confirm DIR\n"
            "\n"
            "What the running application does once its self-test passed: keep the\n"
            "trial image. The next reset raises the OTP rollback counter to its\n"
            "security counter. Nothing to confirm is not an error.\n"
            "\n"
            "  -h, --help   this help\n");
}

static int cmd_confirm(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        confirm_help(stdout);
        return WARD_EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        confirm_help(stderr);
        return WARD_EXIT_USAGE;
    }
    ward_sim_device_t d;
    ward_boot_ctx_t ctx;
    int rc = open_device("confirm", argv[1], &d);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    ward_err_t err = boot_ctx(&d, &ctx);
    const bool trial = err == WARD_OK && ctx.st.op == WARD_BOOT_OP_TEST && ctx.st.op_done &&
                       !ctx.st.confirmed;
    if (err == WARD_OK) {
        err = ward_boot_confirm(&ctx);
    }
    ward_sim_device_close(&d);
    if (err != WARD_OK) {
        return dev_fail("confirm", argv[1], err);
    }
    printf("%s: %s\n", argv[1],
           trial ? "trial image confirmed; the next reset raises the rollback counter"
                 : "nothing to confirm (no trial running)");
    return WARD_EXIT_OK;
}

/* ---- status ---------------------------------------------------------------- */

static void status_help(FILE *f)
{
    fprintf(f,
            "usage: ward device status DIR [--json]\n"
            "\n"
            "Show a device without changing it: OTP (secure boot, debug lock, boot and\n"
            "OTA key hashes, rollback counter, locks), the rollback floor (the counter\n"
            "or, if higher, the confirmed image's), the HSM, the OTA key and device\n"
            "class, the boot journal, both slots (image version, size, whether it\n"
            "verifies with the OTP key; the staged image against the floor), any pending\n"
            "install request, and the flash counters of each slot (erases, programs,\n"
            "bytes programmed since the device was created, per sector in --json;\n"
            "whether the slot is all erased).\n"
            "\n"
            "  --json       machine-readable output\n"
            "  -h, --help   this help\n");
}

typedef struct {
    bool present;
    ward_image_info_t info;
    ward_err_t reason; /* parse or validate result */
} slot_view_t;

static void view_slot(const ward_area_t *slot, const ward_sim_device_t *d, const uint8_t *key_hash,
                      bool have_key, uint32_t counter, slot_view_t *v)
{
    ward_area_t a = *slot;
    memset(v, 0, sizeof *v);
    v->reason = ward_image_parse(&v->info, ward_image_read_area, &a, ward_boot_image_max(&d->layout));
    v->present = v->reason != WARD_ERR_IMG_MAGIC;
    if (v->reason != WARD_OK) {
        return;
    }
    if (!have_key) {
        v->reason = WARD_ERR_BOOT_NO_KEY;
        return;
    }
    const ward_image_trust_t trust = {
        .key_hash = key_hash,
        .spki = d->has_boot_spki ? d->boot_spki : NULL,
        .spki_len = d->has_boot_spki ? sizeof d->boot_spki : 0u,
        .min_sec_cnt = counter,
    };
    (void)ward_image_validate(&v->info, ward_image_read_area, &a, &trust, &v->reason);
}

static void slot_text(const char *name, const slot_view_t *v)
{
    printf("  %-10s ", name);
    if (!v->present) {
        printf("empty\n");
        return;
    }
    if (v->info.total_size == 0u) {
        printf("not an image here: %s\n", ward_err_name(v->reason));
        return;
    }
    print_version(stdout, &v->info.version);
    printf("  %lu bytes  sec_cnt %lu  %s\n", (unsigned long)v->info.total_size,
           (unsigned long)v->info.sec_cnt,
           v->reason == WARD_OK ? "verified" : ward_err_name(v->reason));
}

static void slot_json(const char *name, const slot_view_t *v)
{
    printf("\"%s\":{\"present\":%s,\"reason\":\"%s\"", name, v->present ? "true" : "false",
           ward_err_name(v->reason));
    if (v->info.total_size != 0u) {
        printf(",");
        json_version(stdout, "version", &v->info.version);
        printf(",\"size\":%lu,\"sec_cnt\":%lu", (unsigned long)v->info.total_size,
               (unsigned long)v->info.sec_cnt);
    }
    printf("}");
}

/* The simulator's counters over an area (kept in flash.bin.wear). */
typedef struct {
    uint64_t erases, programs, bytes;
    bool blank; /* every byte reads 0xFF */
} area_counts_t;

/* The simulator's sector indexes of an area: [*first, *end). */
static void area_sectors(const ward_sim_device_t *d, const ward_area_t *a, uint32_t *first,
                         uint32_t *end)
{
    *first = ward_sim_flash_sector_index(&d->flash, a->off);
    *end = a->size == 0u ? *first : ward_sim_flash_sector_index(&d->flash, a->off + a->size - 1u) + 1u;
}

static void count_area(const ward_sim_device_t *d, const ward_area_t *a, area_counts_t *c)
{
    const ward_sim_flash_t *f = &d->flash;
    uint32_t first = 0, end = 0;
    area_sectors(d, a, &first, &end);
    memset(c, 0, sizeof *c);
    for (uint32_t s = first; s < end; s++) {
        c->erases += f->erase_counts[s];
        c->programs += f->prog_counts[s];
        c->bytes += f->prog_bytes[s];
    }
    c->blank = ward_ct_all(f->mem + a->off, 0xFFu, a->size);
}

static void json_counts(const char *name, const ward_sim_device_t *d, const ward_area_t *a)
{
    const ward_sim_flash_t *f = &d->flash;
    uint32_t first = 0, end = 0;
    area_sectors(d, a, &first, &end);
    area_counts_t c;
    count_area(d, a, &c);
    printf("\"%s\":{\"off\":%lu,\"size\":%lu,\"erases\":%llu,\"programs\":%llu,"
           "\"bytes_programmed\":%llu,\"blank\":%s",
           name, (unsigned long)a->off, (unsigned long)a->size, (unsigned long long)c.erases,
           (unsigned long long)c.programs, (unsigned long long)c.bytes, c.blank ? "true" : "false");
    static const char *const k_arr[3] = {"sector_erases", "sector_programs", "sector_bytes"};
    const uint32_t *const src[3] = {f->erase_counts, f->prog_counts, f->prog_bytes};
    for (int k = 0; k < 3; k++) {
        printf(",\"%s\":[", k_arr[k]);
        for (uint32_t s = first; s < end; s++) {
            printf("%s%lu", s == first ? "" : ",", (unsigned long)src[k][s]);
        }
        printf("]");
    }
    printf("}");
}

static void text_counts(const char *name, const ward_sim_device_t *d, const ward_area_t *a)
{
    area_counts_t c;
    count_area(d, a, &c);
    printf("  %-10s %llu erases, %llu programs, %llu bytes programmed%s\n", name,
           (unsigned long long)c.erases, (unsigned long long)c.programs,
           (unsigned long long)c.bytes, c.blank ? "; all erased now" : "");
}

static int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'h':
            status_help(stdout);
            return WARD_EXIT_OK;
        default:
            status_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        return usage_error("status", "DIR is required");
    }
    const char *dir = argv[optind];
    ward_sim_device_t d;
    ward_boot_ctx_t ctx;
    ward_boot_report_t rep;
    int rc = open_device("status", dir, &d);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    const ward_otp_t *otp = &d.otp.port;
    uint8_t key_hash[32], ota_hash[32], ota_spki_hash[32];
    bool locks[WARD_OTP_FIELD_COUNT];
    bool pending = false, perm = false;
    ward_err_t err = otp->read(otp->ctx, WARD_OTP_BOOT_KEY_HASH, key_hash, sizeof key_hash);
    if (err == WARD_OK) {
        err = otp->read(otp->ctx, WARD_OTP_OTA_KEY_HASH, ota_hash, sizeof ota_hash);
    }
    if (err == WARD_OK && d.has_ota_spki) {
        err = ward_sha256(ota_spki_hash, d.ota_spki, sizeof d.ota_spki);
    }
    for (int i = 0; i < WARD_OTP_FIELD_COUNT && err == WARD_OK; i++) {
        err = otp->is_locked(otp->ctx, (ward_otp_field_t)i, &locks[i]);
    }
    if (err == WARD_OK) {
        err = boot_ctx(&d, &ctx);
    }
    if (err == WARD_OK) {
        err = ward_boot_status(&ctx, &rep);
    }
    uint32_t floor = 0;
    if (err == WARD_OK) {
        err = ward_boot_floor(&ctx, &floor);
    }
    ward_err_t req_err = WARD_OK;
    if (err == WARD_OK) {
        req_err = ward_boot_request_pending(&ctx, &pending, &perm);
    }
    if (err != WARD_OK) {
        ward_sim_device_close(&d);
        return dev_fail("status", dir, err);
    }
    const bool have_key = !ward_ct_all(key_hash, 0u, sizeof key_hash);
    const bool have_ota = !ward_ct_all(ota_hash, 0u, sizeof ota_hash);
    const bool ota_match = d.has_ota_spki && ward_ct_equal(ota_spki_hash, ota_hash, 32);
    slot_view_t pv, sv;
    view_slot(&d.layout.primary, &d, key_hash, have_key, rep.otp_counter, &pv);
    /* A staged image is checked against the floor, as the next boot will. */
    view_slot(&d.layout.secondary, &d, key_hash, have_key, floor, &sv);
    const ward_boot_state_t *st = &ctx.st;
    static const char *const k_field[WARD_OTP_FIELD_COUNT] = {
        "boot_key_hash", "ota_key_hash", "secure_boot", "debug_lock", "rollback", "device_id"};

    if (json) {
        printf("{\"otp\":{\"secure_boot\":%s,\"debug_locked\":%s,\"boot_key_hash\":",
               rep.secure_boot ? "true" : "false", rep.debug_locked ? "true" : "false");
        if (have_key) {
            printf("\"");
            ward_cli_print_hex(stdout, key_hash, sizeof key_hash);
            printf("\"");
        } else {
            printf("null");
        }
        printf(",\"ota_key_hash\":");
        if (have_ota) {
            printf("\"");
            ward_cli_print_hex(stdout, ota_hash, sizeof ota_hash);
            printf("\"");
        } else {
            printf("null");
        }
        printf(",\"rollback_counter\":%lu,\"rollback_floor\":%lu,\"locked\":[",
               (unsigned long)rep.otp_counter, (unsigned long)floor);
        bool first = true;
        for (int i = 0; i < WARD_OTP_FIELD_COUNT; i++) {
            if (locks[i]) {
                printf("%s\"%s\"", first ? "" : ",", k_field[i]);
                first = false;
            }
        }
        printf("]},\"hsm\":{\"huk\":%s,\"identity_key\":%s},\"builtin_key\":%s,",
               d.hsm.has_huk ? "true" : "false", d.hsm.has_id ? "true" : "false",
               d.has_boot_spki ? "true" : "false");
        printf("\"ota\":{\"key\":%s,\"key_matches_otp\":%s,\"device_class\":",
               d.has_ota_spki ? "true" : "false", ota_match ? "true" : "false");
        if (d.device_class[0] != '\0') {
            ward_cli_json_str(stdout, d.device_class);
        } else {
            printf("null");
        }
        printf("},");
        printf("\"journal\":{\"epoch\":%lu,\"sector\":%u,\"next\":%lu,\"skipped\":%lu,"
               "\"op\":\"%s\",\"op_done\":%s,\"confirmed\":%s,\"nsectors\":%lu,"
               "\"steps_done\":%lu,\"last_refused\":\"%s\"},",
               (unsigned long)st->epoch, st->sector, (unsigned long)st->next,
               (unsigned long)st->skipped, op_name(st->op), st->op_done ? "true" : "false",
               st->confirmed ? "true" : "false", (unsigned long)st->nsectors,
               (unsigned long)st->steps_done, ward_err_name(st->refused));
        printf("\"boot\":{\"reason\":\"%s\",\"trial\":%s,\"interrupted\":%s,\"verified\":%s},",
               ward_err_name(rep.reason), rep.trial ? "true" : "false",
               rep.resumed ? "true" : "false", rep.verified ? "true" : "false");
        slot_json("primary", &pv);
        printf(",");
        slot_json("secondary", &sv);
        printf(",\"request\":\"%s\",\"flash\":{",
               req_err != WARD_OK ? "malformed" : !pending ? "none" : perm ? "permanent" : "trial");
        json_counts("primary", &d, &d.layout.primary);
        printf(",");
        json_counts("secondary", &d, &d.layout.secondary);
        printf(",\"violations\":%llu}}\n", (unsigned long long)d.flash.stats.violations);
    } else {
        if (d.geo.nregions == 0u) {
            printf("device %s: %u-byte sectors, %u-byte writes%s, %u-sector slots\n", dir,
                   d.geo.sector_size, d.geo.write_size,
                   d.geo.program_once ? " (program once)" : "", d.geo.slot_sectors);
        } else {
            printf("device %s: sectors ", dir);
            for (uint32_t i = 0; i < d.geo.nregions; i++) {
                printf("%s%ux%u", i > 0u ? "," : "", d.geo.regions[i].count,
                       d.geo.regions[i].size);
            }
            printf(", %u-byte writes%s, slots of %u sectors in %u swap units\n", d.geo.write_size,
                   d.geo.program_once ? " (program once)" : "", d.geo.slot_sectors,
                   ward_boot_units(&d.layout));
        }
        printf("OTP\n  secure boot   %s\n  debug         %s\n  boot key hash ",
               rep.secure_boot ? "on" : "off", rep.debug_locked ? "locked" : "open");
        if (have_key) {
            ward_cli_print_hex(stdout, key_hash, sizeof key_hash);
        } else {
            printf("none (unprovisioned)");
        }
        printf("\n  OTA key hash  ");
        if (have_ota) {
            ward_cli_print_hex(stdout, ota_hash, sizeof ota_hash);
        } else {
            printf("none (no updates over the air)");
        }
        printf("\n  rollback      %lu\n  floor         %lu%s\n  locked        ",
               (unsigned long)rep.otp_counter, (unsigned long)floor,
               floor > rep.otp_counter ? " (the confirmed image's; burnt at the next reset)" : "");
        bool any = false;
        for (int i = 0; i < WARD_OTP_FIELD_COUNT; i++) {
            if (locks[i]) {
                printf("%s%s", any ? ", " : "", k_field[i]);
                any = true;
            }
        }
        printf("%s\nHSM\n  device key    %s\n  identity key  %s\nbootloader key  %s\n",
               any ? "" : "none", d.hsm.has_huk ? "present" : "none",
               d.hsm.has_id ? "present" : "none", d.has_boot_spki ? "built in" : "none");
        printf("OTA\n  key           %s\n  device class  %s\n",
               !d.has_ota_spki ? "none"
               : ota_match     ? "otakey.der (read-only; matches the OTP hash)"
                               : "otakey.der DOES NOT MATCH the OTP hash: updates are refused",
               d.device_class[0] != '\0' ? d.device_class : "none");
        if (st->epoch == 0u) {
            printf("boot journal\n  blank (written at the first install, refusal or confirm)\n");
        } else {
            printf("boot journal\n  sector %u, epoch %lu, %lu records used, %lu skipped\n",
                   st->sector, (unsigned long)st->epoch, (unsigned long)st->next,
                   (unsigned long)st->skipped);
        }
        printf("  last op       %s%s", op_name(st->op),
               st->op == WARD_BOOT_OP_NONE ? ""
               : st->op_done              ? " (done)"
                                          : " (INTERRUPTED: the next boot completes it)");
        if (st->op != WARD_BOOT_OP_NONE) {
            printf(", %lu sectors, %lu/%lu phases", (unsigned long)st->nsectors,
                   (unsigned long)st->steps_done, 3ul * st->nsectors);
        }
        printf("\n  primary       %s\n",
               rep.trial      ? "trial image: confirm it, or the next reset reverts"
               : st->confirmed ? "confirmed"
                               : "not confirmed");
        if (st->refused != WARD_OK) {
            printf("  last refused  %s (%s)\n", ward_err_name(st->refused),
                   ward_err_str(st->refused));
        }
        printf("slots\n");
        slot_text("primary", &pv);
        slot_text("secondary", &sv);
        printf("  request       %s\n", req_err != WARD_OK ? "malformed (the next boot refuses it)"
                                       : !pending         ? "none"
                                       : perm             ? "install for good at the next reset"
                                                          : "trial install at the next reset");
        printf("flash (since the device was created)\n");
        text_counts("primary", &d, &d.layout.primary);
        text_counts("secondary", &d, &d.layout.secondary);
        printf("next boot       %s\n", rep.reason == WARD_OK ? "runs the primary image"
                                       : rep.reason == WARD_ERR_BOOT_NO_KEY
                                           ? "refuses: secure boot on but no key in OTP"
                                           : "refuses unless an install request fixes it");
    }
    ward_sim_device_close(&d);
    return WARD_EXIT_OK;
}

/* ---- dispatch -------------------------------------------------------------- */

static void device_help(FILE *f)
{
    fprintf(f,
            "usage: ward device <command> DIR [options]   (ward device <command> --help)\n"
            "\n"
            "A simulated device in a directory (flash.bin, otp.bin, hsm.bin), booted by\n"
            "the same boot core as the real bootloader.\n"
            "\n"
            "commands:\n"
            "  create     make a new device (flash geometry)\n"
            "  provision  burn the boot key hash, secure boot, debug lock; HSM key\n"
            "  flash      factory-program a slot with a file\n"
            "  stage      write an update into the secondary and request its install\n"
            "  boot       reset: run the boot core once (also: reset)\n"
            "  confirm    the running trial image is good: keep it\n"
            "  status     OTP, journal, slots (read only)\n");
}

int ward_cmd_device(int argc, char **argv)
{
    static const struct {
        const char *name;
        ward_cmd_fn fn;
    } k_sub[] = {
        {"create", cmd_create}, {"provision", cmd_provision}, {"flash", cmd_flash},
        {"stage", cmd_stage},   {"boot", cmd_boot},           {"reset", cmd_boot},
        {"confirm", cmd_confirm}, {"status", cmd_status},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        device_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? WARD_EXIT_USAGE : WARD_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof k_sub / sizeof k_sub[0]; i++) {
        if (strcmp(argv[1], k_sub[i].name) == 0) {
            return k_sub[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "ward device: unknown command '%s'\n", argv[1]);
    device_help(stderr);
    return WARD_EXIT_USAGE;
}
