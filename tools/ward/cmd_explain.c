/*
 * ward explain CODE: what a status code means and what to do about it. The
 * bootloader prints numbers ("refused -40, image -24: ward explain -24")
 * because a table of names would not fit its 12 KiB; this is where the
 * number becomes a sentence. docs/errors.md lists the same codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "commands.h"
#include "ward/ward.h"

/* What a person does about a code a device or the CLI reported. */
static const struct {
    ward_err_t code;
    const char *fix;
} k_fixes[] = {
    {WARD_ERR_IO, "a flash or OTP operation failed: on a device, the driver reported an error "
                  "(program, erase or read-back); check the flash driver's error mapping and "
                  "the write protection, then reset"},
    {WARD_ERR_CORRUPT, "stored data failed its structural checks: for an install request, "
                       "re-stage the update (the request sector is erased on refusal)"},
    {WARD_ERR_POWER_LOSS, "the power was cut during the operation (simulator): boot again, the "
                          "journal finishes the work"},
    {WARD_ERR_LOCKED, "the OTP field is write-locked: it was provisioned already; nothing to "
                      "burn again"},
    {WARD_ERR_LIMIT, "the OTP counter cannot go higher: sign with a lower security counter "
                     "(ward sign -s N)"},
    {WARD_ERR_IMG_MAGIC, "no image header at the start of the slot: flash a signed image (ward "
                         "sign), not the raw binary; check the slot address"},
    {WARD_ERR_IMG_HEADER, "the image header's fields are inconsistent: re-sign the binary; "
                          "ward inspect IMAGE shows the fields"},
    {WARD_ERR_IMG_TOO_LARGE,
     "the image does not fit: an image may use N-1 sectors of an N-sector slot (the last holds "
     "the trailer); ward sign --board NAME (or --sector-size N) checks this before the device "
     "does"},
    {WARD_ERR_IMG_TLV, "the TLV area is malformed: re-sign the image"},
    {WARD_ERR_IMG_HASH, "the image changed after signing (or was copied short): flash the signed "
                        "file as it is, whole; ward verify -k KEY IMAGE checks it"},
    {WARD_ERR_IMG_KEY, "signed with another key than the one whose hash is burnt into OTP: sign "
                       "with the device's boot key (ward verify -k KEY IMAGE shows both hashes)"},
    {WARD_ERR_IMG_SIG, "the signature does not verify: re-sign the image"},
    {WARD_ERR_IMG_UNSIGNED, "the image has no signature: sign it with -k KEY"},
    {WARD_ERR_IMG_SEC_CNT, "the security counter is below the device's anti-rollback counter: "
                           "sign with -s N, N at least the device's counter (ward device "
                           "status shows it)"},
    {WARD_ERR_IMG_DOWNGRADE, "older than the installed image: sign a higher version (-v)"},
    {WARD_ERR_IMG_UNSUPPORTED, "encrypted, compressed or RAM-load image: ward boots plain "
                               "execute-in-place images; sign without -E, --compression, -L"},
    {WARD_ERR_IMG_SEC_CNT_RANGE, "the security counter is beyond what the OTP counter holds: "
                                 "sign with -s N, N <= WARD_CONFIG_OTP_ROLLBACK_BITS (512)"},
    {WARD_ERR_BOOT_NO_IMAGE, "nothing verified to boot: the line's second code (image -N) "
                             "says why the primary image was refused; ward explain that one"},
    {WARD_ERR_BOOT_NO_KEY, "secure boot is on but OTP holds no boot key hash: provision the "
                           "device (burn the key hash) before turning secure boot on"},
    {WARD_ERR_BOOT_STATE, "the boot state (journal) area cannot be read or written: check the "
                          "flash driver on the state area"},
    {WARD_ERR_BOOT_LAYOUT, "the slot layout does not suit the flash: areas of whole sectors, "
                           "slots of equal size with at least 2 swap units (where both have a "
                           "sector boundary), scratch >= the largest unit, state >= 2 sectors "
                           "(docs/boot.md, \"Layout\"; ward_boot_layout_check names the rule; "
                           "the board file)"},
};

static const char *fix_for(ward_err_t code)
{
    for (size_t i = 0; i < sizeof k_fixes / sizeof k_fixes[0]; i++) {
        if (k_fixes[i].code == code) {
            return k_fixes[i].fix;
        }
    }
    return NULL;
}

static bool known(ward_err_t code)
{
    return strcmp(ward_err_name(code), "WARD_ERR_UNKNOWN") != 0;
}

/* -24, 24 (a bootloader's exit status is the code negated), WARD_ERR_IMG_HASH,
 * IMG_HASH. */
static bool parse_code(const char *s, ward_err_t *code)
{
    char *end = NULL;
    const long v = strtol(s, &end, 0);
    if (end != s && *end == '\0') {
        if (v < -255 || v > 255) {
            return false;
        }
        *code = (ward_err_t)(v > 0 ? -v : v);
        return known(*code);
    }
    for (int32_t c = 0; c >= -255; c--) {
        const char *name = ward_err_name(c);
        if (!known(c)) {
            continue;
        }
        if (strcasecmp(name, s) == 0 ||
            (strncmp(name, "WARD_ERR_", 9) == 0 && strcasecmp(name + 9, s) == 0)) {
            *code = c;
            return true;
        }
    }
    return false;
}

static void explain_help(FILE *f)
{
    fprintf(f, "usage: ward explain [--json] CODE...\n"
               "\n"
               "What a status code means, the CLI exit code it gives, and what to do. CODE\n"
               "is a number as a device prints it (-24; 24, the bootloader's exit status,\n"
               "is the same code) or a name (WARD_ERR_IMG_HASH, IMG_HASH). Every code:\n"
               "docs/errors.md.\n"
               "\n"
               "      --json    one JSON object per code\n"
               "  -h, --help    this help\n"
               "Exit 0, or 14 for a code ward does not have.\n");
}

int ward_cmd_explain(int argc, char **argv)
{
    /* By hand, not getopt: -24 is a code, not options -2 and -4. */
    bool json = false;
    int first = argc;
    for (int i = 1; i < argc && first == argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            explain_help(stdout);
            return WARD_EXIT_OK;
        } else if (strcmp(argv[i], "--") == 0) {
            first = i + 1;
        } else if (strncmp(argv[i], "--", 2) == 0) {
            explain_help(stderr);
            return WARD_EXIT_USAGE;
        } else {
            first = i;
        }
    }
    if (first >= argc) {
        fprintf(stderr, "ward explain: a CODE is required (ward explain --help)\n");
        return WARD_EXIT_USAGE;
    }
    int rc = WARD_EXIT_OK;
    for (int i = first; i < argc; i++) {
        ward_err_t code = WARD_OK;
        if (!parse_code(argv[i], &code)) {
            fprintf(stderr, "ward explain: %s is not a ward status code (docs/errors.md)\n",
                    argv[i]);
            rc = WARD_EXIT_NOT_FOUND;
            continue;
        }
        const char *fix = fix_for(code);
        if (json) {
            printf("{\"code\":%ld,\"name\":\"%s\",\"meaning\":", (long)code, ward_err_name(code));
            ward_cli_json_str(stdout, ward_err_str(code));
            printf(",\"exit\":%d,\"fix\":", ward_cli_exit_code(code));
            if (fix != NULL) {
                ward_cli_json_str(stdout, fix);
            } else {
                printf("null");
            }
            printf("}\n");
        } else {
            printf("%ld %s: %s\n", (long)code, ward_err_name(code), ward_err_str(code));
            printf("  ward exits with %d for it\n", ward_cli_exit_code(code));
            if (fix != NULL) {
                printf("  what to do: %s\n", fix);
            }
        }
    }
    return rc;
}
