/*
 * ward CLI: keys and signed images (keygen, getpub, sign, verify, inspect).
 * Option names follow MCUboot's imgtool; docs/cli-image.md documents them.
 * Formats come from src/image and tools/sign; nothing here re-parses bytes.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "commands.h"
#include "ward/crypto.h"
#include "ward/image.h"
#include "ward/util.h"
#include "ward_board.h"
#include "ward_keys.h"
#include "ward_sign.h"

#define BOOT_MAGIC_SIZE 16u

/* ---- shared helpers ----------------------------------------------------- */

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ward %s: %s (ward %s --help)\n", cmd, msg, cmd);
    return WARD_EXIT_USAGE;
}

static bool has_hex_ext(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".hex") == 0;
}

/* Files that are firmware but not a binary: ward works on raw bytes. */
typedef enum { FMT_BINARY = 0, FMT_IHEX, FMT_ELF } file_format_t;

/* An Intel HEX file starts with a record ":LLAAAATT<data>CC" whose
 * checksum holds (an image starts with 3d b8 f3 96, never ':'). */
static bool is_ihex(const uint8_t *d, size_t len)
{
    uint8_t rec[5 + 255];
    size_t n = 0;
    if (len < 11u || d[0] != ':') {
        return false;
    }
    for (size_t i = 1; i + 1u < len && n < sizeof rec; i += 2u) {
        const int hi = ward_cli_hex_digit((char)d[i]), lo = ward_cli_hex_digit((char)d[i + 1u]);
        if (hi < 0 || lo < 0) {
            break;
        }
        rec[n++] = (uint8_t)(hi << 4 | lo);
    }
    if (n < 5u || n != 5u + rec[0]) {
        return false;
    }
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum = (uint8_t)(sum + rec[i]);
    }
    return sum == 0u && rec[3] <= 5u; /* record types 00..05 */
}

static file_format_t file_format(const uint8_t *d, size_t len)
{
    static const uint8_t elf[4] = {0x7f, 'E', 'L', 'F'};
    if (len >= sizeof elf && memcmp(d, elf, sizeof elf) == 0) {
        return FMT_ELF;
    }
    return is_ihex(d, len) ? FMT_IHEX : FMT_BINARY;
}

static const char *format_name(file_format_t f)
{
    return f == FMT_IHEX ? "ihex" : f == FMT_ELF ? "elf" : "binary";
}

/* Refuse a HEX or ELF file by name, with the conversion that fixes it. */
static int not_binary(const char *cmd, const char *path, file_format_t f)
{
    char what[512];
    snprintf(what, sizeof what, "%s is %s, not a binary image", path,
             f == FMT_IHEX ? "an Intel HEX file (text records)" : "an ELF file");
    const int rc = ward_cli_fail(cmd, what, WARD_ERR_UNSUPPORTED);
    if (f == FMT_IHEX) {
        fprintf(stderr,
                "  fix: ward works on raw binaries: objcopy -I ihex -O binary %s IMAGE.bin "
                "(imgtool reads .hex itself and writes .hex when OUTFILE ends in .hex; "
                "convert its output the same way)\n",
                path);
    } else {
        fprintf(stderr, "  fix: take the flash contents out of it: objcopy -O binary %s APP.bin\n",
                path);
    }
    return rc;
}

static void print_version(FILE *f, const ward_image_version_t *v)
{
    fprintf(f, "%u.%u.%u+%lu", v->major, v->minor, v->revision, (unsigned long)v->build);
}

/* ---- what the board's bootloader checks (--board, --sector-size) ------- */

/* The board named by --board (a name ward knows, or a board file). */
static int load_board(const char *cmd, const char *name, ward_board_t *b)
{
    char why[320];
    const ward_err_t err = ward_board_load(b, name, why, sizeof why);
    if (err != WARD_OK) {
        fprintf(stderr, "ward %s: --board %s: %s (ward board list) (%s)\n", cmd, name, why,
                ward_err_name(err));
        return WARD_EXIT_USAGE;
    }
    return WARD_EXIT_OK;
}

/* -S, --align and --sector-size against the board's: a padded image's
 * trailer must sit where the device reads it, at the end of its slot. */
static int board_geometry(const char *cmd, const ward_board_t *b, uint32_t *slot, bool have_slot,
                          uint32_t *sector, bool have_sector)
{
    const uint32_t bs = ward_board_sector_at(b, b->primary_off + b->slot_size - 1u);
    if (have_slot && *slot != b->slot_size) {
        fprintf(stderr,
                "ward %s: -S 0x%lx is not the slot size of board %s (0x%lx): a padded image's "
                "trailer (its install request) would sit where the device never reads it, and "
                "the update would be ignored\n"
                "  fix: drop -S (--board gives it) or give -S 0x%lx\n",
                cmd, (unsigned long)*slot, b->name, (unsigned long)b->slot_size,
                (unsigned long)b->slot_size);
        return WARD_EXIT_USAGE;
    }
    if (have_sector && *sector != bs) {
        fprintf(stderr,
                "ward %s: --sector-size %lu is not the sector size at the end of board %s's "
                "slots (%lu)\n  fix: drop --sector-size (--board gives it)\n",
                cmd, (unsigned long)*sector, b->name, (unsigned long)bs);
        return WARD_EXIT_USAGE;
    }
    *slot = b->slot_size;
    /* From here on "sector" is what the bootloader keeps from an image at
     * the end of the slot: its last swap unit (its last sector when both
     * slots have the same sectors), and with an emulation in RAM whatever
     * does not run in place (ward_board_image_max). */
    *sector = b->slot_size - ward_board_image_max(b);
    return WARD_EXIT_OK;
}

static int sector_fits(const char *cmd, uint32_t slot, uint32_t sector)
{
    if (sector != 0u && (sector > slot / 2u || slot % sector != 0u)) {
        fprintf(stderr,
                "ward %s: a slot of 0x%lx bytes is not a whole number of %lu-byte sectors, at "
                "least two (--sector-size is the flash's erase unit at the end of the slot)\n",
                cmd, (unsigned long)slot, (unsigned long)sector);
        return WARD_EXIT_USAGE;
    }
    return WARD_EXIT_OK;
}

/* The bootloader accepts an image of at most N-1 of the N sectors of its
 * slot: the last sector holds the trailer (ward_boot_image_max). On a
 * board (b), the slot up to its last swap unit, and with an emulation no
 * more than runs in place from RAM. */
static int too_large_for_slot(const char *cmd, const char *path, uint32_t image, uint32_t slot,
                              uint32_t sector, const ward_board_t *b)
{
    const uint32_t max = slot - sector;
    char what[600];
    uint32_t largest = 0, last = 0;
    if (b != NULL && (ward_board_uniform_sector(b) == 0u || b->has_emu) &&
        ward_board_units(b, &largest, &last) >= 2u) {
        const uint32_t tail = ward_board_sector_at(b, b->primary_off + b->slot_size - 1u);
        snprintf(what, sizeof what,
                 "%s: the image is 0x%lx bytes; board %s's bootloader lets an image use 0x%lx "
                 "of its 0x%lx-byte slot: all but the last %s (0x%lx bytes: the trailer's)%s",
                 path, (unsigned long)image, b->name, (unsigned long)last, (unsigned long)slot,
                 slot - last == tail ? "sector" : "swap unit", (unsigned long)(slot - last),
                 max < last ? ", and QEMU's emulation of the board keeps less of the primary's "
                              "first sector in RAM to run in place"
                            : "");
        if (max < last) {
            const size_t n = strlen(what);
            snprintf(what + n, sizeof what - n, ": 0x%lx", (unsigned long)max);
        }
    } else {
        snprintf(what, sizeof what,
                 "%s: the image is 0x%lx bytes; a slot of 0x%lx bytes in %lu-byte sectors takes "
                 "0x%lx: the bootloader lets an image use %lu of its %lu sectors (N-1: the last "
                 "holds the trailer)",
                 path, (unsigned long)image, (unsigned long)slot, (unsigned long)sector,
                 (unsigned long)max, (unsigned long)(slot / sector - 1u),
                 (unsigned long)(slot / sector));
    }
    const int rc = ward_cli_fail(cmd, what, WARD_ERR_IMG_TOO_LARGE);
    fprintf(stderr,
            "  fix: make the app 0x%lx bytes smaller, or give the board larger slots (the "
            "board file's SLOT_SIZE, and the same -S)\n",
            (unsigned long)(image - max));
    return rc;
}

/* Why the first two words of a payload, the initial SP and the reset
 * vector, are not a vector table the board's bootloader would jump to at
 * address vt (without a board, only the shape is known); NULL if they are. */
static const char *vt_problem(uint32_t sp, uint32_t pc, const ward_board_t *b, uint32_t vt,
                              char *buf, size_t n)
{
    if (b == NULL) {
        if (sp == 0u || sp == 0xFFFFFFFFu || (sp & 3u) != 0u) {
            return "the initial SP is not a stack address";
        }
        if ((pc & 1u) == 0u || pc == 0xFFFFFFFFu) {
            return "the reset vector is not an address of Thumb code (bit 0 clear)";
        }
        return NULL;
    }
    /* As entry_sane: within what runs in place (PRIMARY_SPAN). */
    const uint32_t lo = ward_board_primary_addr(b);
    const uint64_t hi = (uint64_t)lo + ward_board_primary_span(b);
    if ((pc & 1u) == 0u || pc <= vt || pc >= hi) {
        snprintf(buf, n,
                 "the reset vector 0x%08lx is not Thumb code in the slot after the table "
                 "(0x%08lx..0x%08llx%s): the app is linked for another address than 0x%08lx, "
                 "board %s's primary slot + header",
                 (unsigned long)pc, (unsigned long)vt, (unsigned long long)hi,
                 b->has_emu ? ", what the emulation runs in place" : "", (unsigned long)vt,
                 b->name);
        return buf;
    }
    if ((sp & 7u) != 0u || sp - b->ram_addr > b->ram_size) {
        snprintf(buf, n,
                 "the initial SP 0x%08lx is not an 8-byte aligned address in board %s's RAM "
                 "(0x%08lx..0x%08llx)",
                 (unsigned long)sp, b->name, (unsigned long)b->ram_addr,
                 (unsigned long long)b->ram_addr + b->ram_size);
        return buf;
    }
    return NULL;
}

/* The offset of something that looks like a vector table in bin (at a
 * multiple of 128, VTOR's least alignment), other than skip. */
static bool find_vt(const uint8_t *bin, size_t len, size_t skip, const ward_board_t *b,
                    size_t *at)
{
    char buf[8];
    for (size_t x = 0; x + 8u <= len && x <= 0x10000u; x += 128u) {
        const uint32_t sp = ward_load_le32(bin + x), pc = ward_load_le32(bin + x + 4u);
        if (x == skip || vt_problem(sp, pc, NULL, 0, buf, sizeof buf) != NULL) {
            continue;
        }
        if (b != NULL) {
            const uint32_t lo = ward_board_primary_addr(b);
            if (pc < lo || pc - lo >= ward_board_primary_span(b) ||
                sp - b->ram_addr > b->ram_size) {
                continue;
            }
        }
        *at = x;
        return true;
    }
    return false;
}

/* The payload (what follows the header) must start with the app's vector
 * table: the bootloader jumps to primary + header size. With a board it is
 * checked as the bootloader checks it; without one only its shape, and a
 * failure is a warning. Returns WARD_EXIT_OK to go on. */
static int check_vector_table(const char *cmd, const char *path, const uint8_t *bin, size_t len,
                              const ward_sign_opts_t *o, const ward_board_t *b)
{
    const size_t pos = o->pad_header ? 0u : o->header_size;
    const uint32_t vt = b != NULL ? ward_board_primary_addr(b) + o->header_size : 0u;
    char buf[400];
    if (len < pos + 8u) {
        return WARD_EXIT_OK; /* nothing to check: ward_sign says what is missing */
    }
    const uint32_t sp = ward_load_le32(bin + pos), pc = ward_load_le32(bin + pos + 4u);
    const char *why = vt_problem(sp, pc, b, vt, buf, sizeof buf);
    if (why == NULL) {
        return WARD_EXIT_OK;
    }
    fprintf(stderr,
            "ward %s: %s%s: the payload at image offset 0x%lx (-H) does not start with a "
            "vector table the bootloader would jump to: initial SP 0x%08lx, reset vector 0x%08lx: "
            "%s\n",
            cmd, b != NULL ? "" : "warning: ", path, (unsigned long)o->header_size,
            (unsigned long)sp, (unsigned long)pc, why);
    if (b != NULL) {
        fprintf(stderr,
                "  board %s's bootloader jumps to 0x%08lx (primary slot + header) and would "
                "refuse: \"bad vector table\"\n",
                b->name, (unsigned long)vt);
    }
    size_t x = 0;
    if (find_vt(bin, len, pos, b, &x)) {
        bool zeros = true;
        for (size_t i = 0; i < x && zeros; i++) {
            zeros = bin[i] == 0u;
        }
        if (zeros && x >= WARD_IMAGE_HEADER_SIZE) {
            fprintf(stderr,
                    "  fix: %s reserves 0x%lx zero bytes for the header and has its vector "
                    "table after them (initial SP 0x%08lx, reset vector 0x%08lx): sign with "
                    "-H 0x%lx without --pad-header\n",
                    path, (unsigned long)x, (unsigned long)ward_load_le32(bin + x),
                    (unsigned long)ward_load_le32(bin + x + 4u), (unsigned long)x);
        } else {
            fprintf(stderr,
                    "  fix: %s has what looks like its vector table at offset 0x%lx: the "
                    "table must start the payload (the linker script puts .vectors first, at "
                    "primary + header size)\n",
                    path, (unsigned long)x);
        }
    } else {
        fprintf(stderr,
                "  fix: link the app at primary slot + header size%s, its vector table first; "
                "-H is that header size, and --pad-header only for a binary that does not "
                "reserve it\n",
                b != NULL ? " (ward board show NAME says where)" : "");
    }
    if (b == NULL) {
        fprintf(stderr, "  (signed anyway: without --board ward cannot know what the bootloader "
                        "checks; --non-bootable for an image that is not code)\n");
        return WARD_EXIT_OK;
    }
    return ward_cli_exit_code(WARD_ERR_IMG_HEADER);
}

/* Load a key file and report why it cannot be used. */
static int load_key(const char *cmd, const char *path, psa_key_id_t *key,
                    uint8_t spki[WARD_SIGN_SPKI_LEN], bool *is_private)
{
    if (key == NULL && ward_key_is_pkcs11(path)) {
        /* A key in a token: its public part (the token is logged in to
         * find the private key the URI names and its public key). */
        ward_key_t *tk = NULL;
        int rc = ward_cli_key_open(cmd, path, &tk);
        if (rc == WARD_EXIT_OK) {
            if (spki != NULL) {
                memcpy(spki, ward_key_spki(tk), WARD_SIGN_SPKI_LEN);
            }
            if (is_private != NULL) {
                *is_private = true;
            }
            ward_key_close(tk);
        }
        return rc;
    }
    ward_err_t err = ward_sign_key_load(path, key, spki, is_private);
    if (err == WARD_OK) {
        return WARD_EXIT_OK;
    }
    char what[512];
    const char *why = err == WARD_ERR_IO          ? "cannot read the key file"
                      : err == WARD_ERR_UNSUPPORTED ? "not an unencrypted ECDSA P-256 key"
                      : err == WARD_ERR_CORRUPT     ? "not a PEM or DER key"
                                                    : "cannot load the key";
    snprintf(what, sizeof what, "%s: %s", path, why);
    return ward_cli_fail(cmd, what, err);
}

/* ---- keygen ------------------------------------------------------------- */

static void keygen_help(FILE *f)
{
    fprintf(f,
            "usage: ward keygen -k KEY.pem|pkcs11:URI [-t ecdsa-p256]\n"
            "\n"
            "Create a P-256 signing key, written as an unencrypted PKCS#8 PEM\n"
            "(\"-----BEGIN PRIVATE KEY-----\", as imgtool keygen writes it) with mode\n"
            "0600. An existing file is never overwritten (exit 12).\n"
            "With a PKCS#11 URI (RFC 7512, e.g. pkcs11:token=factory;object=boot-key)\n"
            "the key pair is generated inside the token: sensitive, not extractable,\n"
            "a token object labelled object=; an object with that label or id is\n"
            "never replaced (exit 12). The module: module-path= in the URI, else\n"
            "$WARD_PKCS11_MODULE, else p11-kit's configured modules; the PIN:\n"
            "pin-source=FILE in the URI, else $WARD_PKCS11_PIN (docs/factory.md).\n"
            "\n"
            "  -k, --key FILE|URI where to write (or make) the private key\n"
            "  -t, --type TYPE    ecdsa-p256 (the only type ward signs with)\n"
            "  -h, --help         this help\n");
}

int ward_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"type", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            path = optarg;
            break;
        case 't':
            if (strcmp(optarg, "ecdsa-p256") != 0) {
                fprintf(stderr, "ward keygen: key type '%s' is not supported (only ecdsa-p256)\n",
                        optarg);
                return WARD_EXIT_UNSUPPORTED;
            }
            break;
        case 'h':
            keygen_help(stdout);
            return WARD_EXIT_OK;
        default:
            keygen_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (path == NULL || optind != argc) {
        return usage_error("keygen", path == NULL ? "-k KEY is required" : "unexpected argument");
    }

    uint8_t spki[WARD_SIGN_SPKI_LEN], hash[32];
    if (ward_key_is_pkcs11(path)) {
        ward_key_t *tk = NULL;
        char why[WARD_KEYS_WHY_MAX];
        bool sensitive = false, extractable = true;
        ward_err_t terr = ward_key_generate(path, &tk, why, sizeof why);
        if (terr != WARD_OK) {
            return ward_cli_fail("keygen", why[0] != '\0' ? why : path, terr);
        }
        terr = ward_key_pkcs11_flags(tk, &sensitive, &extractable, NULL);
        (void)ward_sha256(hash, ward_key_spki(tk), WARD_SIGN_SPKI_LEN);
        ward_key_close(tk);
        if (terr != WARD_OK) {
            return ward_cli_fail("keygen", "reading the new key's attributes", terr);
        }
        printf("generated in the token: %s (ECDSA P-256, %s, %s)\nkey hash: ", path,
               sensitive ? "sensitive" : "NOT sensitive",
               extractable ? "EXTRACTABLE" : "not extractable");
        ward_cli_print_hex(stdout, hash, sizeof hash);
        printf("\n");
        return WARD_EXIT_OK;
    }

    psa_key_id_t key = 0;
    char pem[WARD_SIGN_PKCS8_PEM_MAX];
    size_t pem_len = 0;
    ward_err_t err = ward_sign_keygen(&key);
    if (err == WARD_OK) {
        err = ward_sign_key_write_pkcs8_pem(key, pem, sizeof pem, &pem_len);
    }
    if (err == WARD_OK) {
        err = ward_sign_key_spki(key, spki);
    }
    (void)psa_destroy_key(key);
    if (err != WARD_OK) {
        ward_wipe(pem, sizeof pem);
        return ward_cli_fail("keygen", "generating the key", err);
    }
    err = ward_cli_write_file(path, pem, pem_len, 0600, true);
    ward_wipe(pem, sizeof pem);
    if (err != WARD_OK) {
        char what[512];
        snprintf(what, sizeof what, "%s%s", path,
                 err == WARD_ERR_EXISTS ? ": refusing to overwrite an existing file" : "");
        return ward_cli_fail("keygen", what, err);
    }
    (void)ward_sha256(hash, spki, sizeof spki);
    printf("wrote %s (ECDSA P-256, PKCS#8 PEM, mode 0600)\nkey hash: ", path);
    ward_cli_print_hex(stdout, hash, sizeof hash);
    printf("\n");
    return WARD_EXIT_OK;
}

/* ---- getpub ------------------------------------------------------------- */

static void getpub_help(FILE *f)
{
    fprintf(f,
            "usage: ward getpub -k KEY [--format pem|c|hash] [-o FILE]\n"
            "\n"
            "Print the public part of a key (private or public, PEM or DER).\n"
            "\n"
            "  -k, --key FILE       the key\n"
            "  -f, --format FMT     pem (default): PEM SubjectPublicKeyInfo\n"
            "                       c:    the DER SPKI as a C array (as imgtool getpub)\n"
            "                       hash: hex SHA-256 of the DER SPKI, the value burnt\n"
            "                             into OTP and carried in the KEYHASH TLV\n"
            "  -o, --output FILE    write there instead of stdout\n"
            "  -h, --help           this help\n");
}

/* Append printf output to a growing buffer (small outputs only). */
typedef struct {
    char buf[2048];
    size_t len;
} text_t;

static void text_add(text_t *t, const char *s)
{
    size_t n = strlen(s);
    if (n > sizeof t->buf - 1 - t->len) {
        n = sizeof t->buf - 1 - t->len;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

int ward_cmd_getpub(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *fmt = "pem", *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            path = optarg;
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            getpub_help(stdout);
            return WARD_EXIT_OK;
        default:
            getpub_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (path == NULL || optind != argc) {
        return usage_error("getpub", path == NULL ? "-k KEY is required" : "unexpected argument");
    }
    if (strcmp(fmt, "pem") != 0 && strcmp(fmt, "c") != 0 && strcmp(fmt, "hash") != 0) {
        return usage_error("getpub", "--format must be pem, c or hash");
    }
    uint8_t spki[WARD_SIGN_SPKI_LEN];
    int rc = load_key("getpub", path, NULL, spki, NULL);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }

    text_t t = {.len = 0};
    char line[160];
    if (strcmp(fmt, "pem") == 0) {
        size_t n = 0;
        ward_err_t err = ward_sign_spki_to_pem(spki, t.buf, sizeof t.buf, &n);
        if (err != WARD_OK) {
            return ward_cli_fail("getpub", "encoding PEM", err);
        }
        t.len = n;
    } else if (strcmp(fmt, "c") == 0) {
        /* imgtool's emit_c_public layout: 8 bytes a line, trailing commas */
        text_add(&t, "/* Autogenerated by ward getpub, do not edit. */\n");
        text_add(&t, "const unsigned char ecdsa_pub_key[] = {");
        for (size_t i = 0; i < sizeof spki; i++) {
            snprintf(line, sizeof line, "%s0x%02x,", i % 8 == 0 ? "\n    " : " ", spki[i]);
            text_add(&t, line);
        }
        snprintf(line, sizeof line, "\n};\nconst unsigned int ecdsa_pub_key_len = %u;\n",
                 (unsigned)sizeof spki);
        text_add(&t, line);
    } else {
        uint8_t h[32];
        (void)ward_sha256(h, spki, sizeof spki);
        for (size_t i = 0; i < sizeof h; i++) {
            snprintf(line, sizeof line, "%02x", h[i]);
            text_add(&t, line);
        }
        text_add(&t, "\n");
    }
    if (out == NULL) {
        fwrite(t.buf, 1, t.len, stdout);
        return WARD_EXIT_OK;
    }
    ward_err_t err = ward_cli_write_file(out, t.buf, t.len, 0644, false);
    return err == WARD_OK ? WARD_EXIT_OK : ward_cli_fail("getpub", out, err);
}

/* ---- sign --------------------------------------------------------------- */

static void sign_help(FILE *f)
{
    fprintf(f,
            "usage: ward sign -k KEY -v VERSION -S SLOT_SIZE [options] INFILE OUTFILE\n"
            "\n"
            "Make an MCUboot image (format v1) from a raw binary, as imgtool sign does\n"
            "with the same options; the ECDSA-P256 signature is deterministic (RFC 6979),\n"
            "so the same inputs always give the same image. Without -k the image carries\n"
            "a SHA256 TLV only. Intel HEX (.hex) files are not supported.\n"
            "\n"
            "  -k, --key FILE|URI           P-256 private key (PEM/DER, PKCS#8 or SEC1), or\n"
            "                               a pkcs11: URI: signed inside the token\n"
            "  -v, --version V              maj[.min[.rev[+build]]]  (required)\n"
            "  -H, --header-size N          header space at the start, >= 32 (default 32)\n"
            "      --pad-header             prepend N erased bytes for the header (else the\n"
            "                               first N bytes of INFILE must be zero)\n"
            "  -S, --slot-size N            slot size; image + trailer must fit (required\n"
            "                               unless --board)\n"
            "      --board NAME|FILE        sign for a board of the Cortex-M port (ward board\n"
            "                               list, or a board file): -S, -H and --align from\n"
            "                               it, the image held to N-1 sectors of the slot, and\n"
            "                               the payload's vector table checked as the\n"
            "                               bootloader does (a mismatch is refused)\n"
            "      --sector-size N          the flash's sector size at the end of the slot:\n"
            "                               the image may use all sectors but that one\n"
            "  -s, --security-counter N|auto  SEC_CNT TLV (protected); auto =\n"
            "                               (major << 24) + (minor << 16) + revision\n"
            "      --max-sec-cnt N          refuse a counter above N (default %u, what the\n"
            "                               device's OTP counter holds; auto exceeds it\n"
            "                               from version 0.1.0 on: use -s N)\n"
            "      --pad                    pad to the slot size and write the trailer magic\n"
            "      --confirm                --pad and image_ok = 0x01 (permanent install)\n"
            "      --test                   --pad, image_ok erased (trial install)\n"
            "      --align N                flash write size: 1, 2, 4, 8, 16, 32 (default 1)\n"
            "      --max-align N            8, 16 or 32 (default max(8, align))\n"
            "      --public-key-format F    hash (KEYHASH TLV, default) or full (PUBKEY TLV)\n"
            "  -R, --erased-val V           0 or 0xff (default 0xff)\n"
            "  -M, --max-sectors N          status-area sectors in the trailer (default 128)\n"
            "  -L, --load-addr N            load address; sets RAM_LOAD (ward cannot boot it)\n"
            "      --non-bootable           set the NON_BOOTABLE flag\n"
            "      --custom-tlv TAG VALUE   protected TLV, TAG in [0xa0, 0xfffe]; VALUE\n"
            "                               0x<hex> or a string (repeatable)\n"
            "  -h, --help                   this help\n"
            "Numbers take 0x, 0o and 0b prefixes.\n",
            (unsigned)WARD_CONFIG_OTP_ROLLBACK_BITS);
}

enum {
    OPT_PAD_HEADER = 1000,
    OPT_BOARD,
    OPT_SECTOR_SIZE,
    OPT_PAD,
    OPT_CONFIRM,
    OPT_TEST,
    OPT_ALIGN,
    OPT_MAX_ALIGN,
    OPT_PUBKEY_FORMAT,
    OPT_NON_BOOTABLE,
    OPT_CUSTOM_TLV,
    OPT_MAX_SEC_CNT,
    OPT_UNSUPPORTED
};

/* Parse "0x<hex>" or a string into a TLV value (malloc'd), as imgtool. */
static bool custom_tlv_value(const char *s, uint8_t **val, uint16_t *len)
{
    const bool hex = strncmp(s, "0x", 2) == 0;
    const char *p = hex ? s + 2 : s;
    size_t n = strlen(p);
    if (hex && n % 2 != 0) {
        return false;
    }
    const size_t out_len = hex ? n / 2 : n;
    if (out_len > 0xffffu) {
        return false;
    }
    uint8_t *v = malloc(out_len + 1);
    if (v == NULL) {
        return false;
    }
    for (size_t i = 0; i < out_len; i++) {
        if (!hex) {
            v[i] = (uint8_t)p[i];
            continue;
        }
        int hi = ward_cli_hex_digit(p[2 * i]), lo = ward_cli_hex_digit(p[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(v);
            return false;
        }
        v[i] = (uint8_t)(hi << 4 | lo);
    }
    *val = v;
    *len = (uint16_t)out_len;
    return true;
}

/* imgtool's long name of a short option ward refuses. */
static const char *imgtool_short_name(int c)
{
    switch (c) {
    case 'd': return "dependencies";
    case 'F': return "rom-fixed";
    case 'e': return "endian";
    case 'E': return "encrypt";
    case 'c': return "clear";
    default: return "hex-addr"; /* 'x' */
    }
}

/* The counter would never boot on the device: say why, and what to do. */
static int sec_cnt_refused(const ward_sign_opts_t *o)
{
    char what[256];
    uint32_t v = 0;
    (void)ward_sign_sec_cnt_value(o, &v);
    if (o->sec_cnt_mode == WARD_SIGN_SEC_CNT_AUTO) {
        snprintf(what, sizeof what,
                 "-s auto: version %u.%u.%u gives security counter %lu ((%u << 24) + (%u << 16) + "
                 "%u), above %lu",
                 o->version.major, o->version.minor, o->version.revision, (unsigned long)v,
                 o->version.major, o->version.minor, o->version.revision,
                 (unsigned long)o->max_sec_cnt);
    } else {
        snprintf(what, sizeof what, "-s %lu: security counter above %lu", (unsigned long)v,
                 (unsigned long)o->max_sec_cnt);
    }
    const int rc = ward_cli_fail("sign", what, WARD_ERR_IMG_SEC_CNT_RANGE);
    fprintf(stderr,
            "ward sign: the device's OTP counter counts to %lu, so its bootloader would refuse "
            "this image; nothing written.\n"
            "  fix: give the counter yourself, -s N with N <= %lu, raised by one for each "
            "release that must lock out the ones before it (--max-sec-cnt N if the device's "
            "OTP counter holds more)\n",
            (unsigned long)o->max_sec_cnt, (unsigned long)o->max_sec_cnt);
    return rc;
}

int ward_cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"version", required_argument, NULL, 'v'},
        {"header-size", required_argument, NULL, 'H'},
        {"pad-header", no_argument, NULL, OPT_PAD_HEADER},
        {"slot-size", required_argument, NULL, 'S'},
        {"security-counter", required_argument, NULL, 's'},
        {"pad", no_argument, NULL, OPT_PAD},
        {"confirm", no_argument, NULL, OPT_CONFIRM},
        {"test", no_argument, NULL, OPT_TEST},
        {"align", required_argument, NULL, OPT_ALIGN},
        {"max-align", required_argument, NULL, OPT_MAX_ALIGN},
        {"public-key-format", required_argument, NULL, OPT_PUBKEY_FORMAT},
        {"erased-val", required_argument, NULL, 'R'},
        {"max-sectors", required_argument, NULL, 'M'},
        {"load-addr", required_argument, NULL, 'L'},
        {"non-bootable", no_argument, NULL, OPT_NON_BOOTABLE},
        {"custom-tlv", required_argument, NULL, OPT_CUSTOM_TLV},
        {"max-sec-cnt", required_argument, NULL, OPT_MAX_SEC_CNT},
        {"board", required_argument, NULL, OPT_BOARD},
        {"sector-size", required_argument, NULL, OPT_SECTOR_SIZE},
        {"help", no_argument, NULL, 'h'},
        /* imgtool options ward does not implement: refused by name */
        {"encrypt", required_argument, NULL, OPT_UNSUPPORTED},
        {"encrypt-keylen", required_argument, NULL, OPT_UNSUPPORTED},
        {"save-enctlv", no_argument, NULL, OPT_UNSUPPORTED},
        {"clear", no_argument, NULL, OPT_UNSUPPORTED},
        {"compression", required_argument, NULL, OPT_UNSUPPORTED},
        {"overwrite-only", no_argument, NULL, OPT_UNSUPPORTED},
        {"boot-record", required_argument, NULL, OPT_UNSUPPORTED},
        {"dependencies", required_argument, NULL, OPT_UNSUPPORTED},
        {"endian", required_argument, NULL, OPT_UNSUPPORTED},
        {"rom-fixed", required_argument, NULL, OPT_UNSUPPORTED},
        {"hex-addr", required_argument, NULL, OPT_UNSUPPORTED},
        {"pad-sig", no_argument, NULL, OPT_UNSUPPORTED},
        {"fix-sig", required_argument, NULL, OPT_UNSUPPORTED},
        {"fix-sig-pubkey", required_argument, NULL, OPT_UNSUPPORTED},
        {"pure", no_argument, NULL, OPT_UNSUPPORTED},
        {"sig-out", required_argument, NULL, OPT_UNSUPPORTED},
        {"sha", required_argument, NULL, OPT_UNSUPPORTED},
        {"hmac-sha", required_argument, NULL, OPT_UNSUPPORTED},
        {"vector-to-sign", required_argument, NULL, OPT_UNSUPPORTED},
        {"vid", required_argument, NULL, OPT_UNSUPPORTED},
        {"cid", required_argument, NULL, OPT_UNSUPPORTED},
        {"custom-tlv-file", required_argument, NULL, OPT_UNSUPPORTED},
        {NULL, 0, NULL, 0},
    };
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    o.max_sec_cnt = WARD_CONFIG_OTP_ROLLBACK_BITS; /* what a ward device can boot */
    ward_sign_tlv_t custom[WARD_SIGN_MAX_CUSTOM_TLVS];
    uint8_t *custom_vals[WARD_SIGN_MAX_CUSTOM_TLVS];
    size_t ncustom = 0;
    const char *key_path = NULL, *board_name = NULL;
    bool have_version = false, have_slot = false, have_header = false, have_align = false;
    bool have_sector = false;
    uint32_t sector = 0;
    ward_board_t board;
    int rc = WARD_EXIT_USAGE;
    int c, idx = 0;
    uint32_t v;
    uint8_t *bin = NULL, *img = NULL;
    size_t bin_len = 0, img_len = 0;
    ward_key_t *key = NULL;

    optind = 1;
    /* imgtool's short forms of options ward refuses: -d -F -e -E -c -x. */
    while ((c = getopt_long(argc, argv, "k:v:H:S:s:R:M:L:hd:F:e:E:cx:", opts, &idx)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case 'v':
            if (!ward_sign_parse_version(optarg, &o.version)) {
                rc = usage_error("sign", "-v: version must be maj[.min[.rev[+build]]] within "
                                         "u8.u8.u16+u32");
                goto out;
            }
            have_version = true;
            break;
        case 'H':
            if (!ward_cli_parse_u32(optarg, &v) || v < WARD_IMAGE_HEADER_SIZE || v > 0xffffu) {
                rc = usage_error("sign", "-H: header size must be in [32, 65535]");
                goto out;
            }
            o.header_size = v;
            have_header = true;
            break;
        case OPT_PAD_HEADER:
            o.pad_header = true;
            break;
        case 'S':
            if (!ward_cli_parse_u32(optarg, &v) || v == 0u) {
                rc = usage_error("sign", "-S: slot size must be a positive 32-bit number");
                goto out;
            }
            o.slot_size = v;
            have_slot = true;
            break;
        case 's':
            if (strcasecmp(optarg, "auto") == 0) {
                o.sec_cnt_mode = WARD_SIGN_SEC_CNT_AUTO;
            } else if (ward_cli_parse_u32(optarg, &o.sec_cnt)) {
                o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
            } else {
                rc = usage_error("sign", "-s: security counter must be a 32-bit number or auto");
                goto out;
            }
            break;
        case OPT_MAX_SEC_CNT:
            if (!ward_cli_parse_u32(optarg, &o.max_sec_cnt)) {
                rc = usage_error("sign", "--max-sec-cnt must be a 32-bit number");
                goto out;
            }
            break;
        case OPT_PAD:
            o.pad = true;
            break;
        case OPT_BOARD:
            board_name = optarg;
            break;
        case OPT_SECTOR_SIZE:
            if (!ward_cli_parse_u32(optarg, &sector) || sector == 0u ||
                (sector & (sector - 1u)) != 0u) {
                rc = usage_error("sign", "--sector-size must be a power of two");
                goto out;
            }
            have_sector = true;
            break;
        case OPT_CONFIRM:
            o.confirm = true;
            break;
        case OPT_TEST:
            o.test = true;
            break;
        case OPT_ALIGN:
            if (!ward_cli_parse_u32(optarg, &v) || v == 0u || v > 32u || (v & (v - 1u)) != 0u) {
                rc = usage_error("sign", "--align must be 1, 2, 4, 8, 16 or 32");
                goto out;
            }
            o.align = v;
            have_align = true;
            break;
        case OPT_MAX_ALIGN:
            if (!ward_cli_parse_u32(optarg, &v) || (v != 8u && v != 16u && v != 32u)) {
                rc = usage_error("sign", "--max-align must be 8, 16 or 32");
                goto out;
            }
            o.max_align = v;
            break;
        case OPT_PUBKEY_FORMAT:
            if (strcmp(optarg, "hash") == 0) {
                o.key_format = WARD_SIGN_KEY_HASH;
            } else if (strcmp(optarg, "full") == 0) {
                o.key_format = WARD_SIGN_KEY_FULL;
            } else {
                rc = usage_error("sign", "--public-key-format must be hash or full");
                goto out;
            }
            break;
        case 'R':
            if (!ward_cli_parse_u32(optarg, &v) || (v != 0u && v != 0xffu)) {
                rc = usage_error("sign", "-R: erased value must be 0 or 0xff");
                goto out;
            }
            o.erased_val = (uint8_t)v;
            break;
        case 'M':
            if (!ward_cli_parse_u32(optarg, &v) || v > 0x10000u) {
                rc = usage_error("sign", "-M: max sectors must be a number up to 65536");
                goto out;
            }
            o.max_sectors = v;
            break;
        case 'L':
            if (!ward_cli_parse_u32(optarg, &o.load_addr)) {
                rc = usage_error("sign", "-L: load address must be a 32-bit number");
                goto out;
            }
            break;
        case OPT_NON_BOOTABLE:
            o.non_bootable = true;
            break;
        case OPT_CUSTOM_TLV: {
            /* two arguments, as imgtool's --custom-tlv TAG VALUE */
            if (optind >= argc) {
                rc = usage_error("sign", "--custom-tlv needs TAG and VALUE");
                goto out;
            }
            const char *value = argv[optind++];
            if (ncustom == WARD_SIGN_MAX_CUSTOM_TLVS || !ward_cli_parse_u32(optarg, &v) ||
                v < 0xa0u || v > 0xfffeu) {
                rc = usage_error("sign", "--custom-tlv: TAG must be in [0xa0, 0xfffe] (at most 16)");
                goto out;
            }
            uint8_t *val = NULL;
            uint16_t len = 0;
            if (!custom_tlv_value(value, &val, &len)) {
                rc = usage_error("sign", "--custom-tlv: VALUE must be 0x<even number of hex "
                                         "digits> or a string");
                goto out;
            }
            custom_vals[ncustom] = val;
            custom[ncustom].type = (uint16_t)v;
            custom[ncustom].value = val;
            custom[ncustom].len = len;
            ncustom++;
            break;
        }
        case OPT_UNSUPPORTED:
            fprintf(stderr, "ward sign: imgtool option --%s is not supported by ward\n",
                    opts[idx].name);
            rc = WARD_EXIT_UNSUPPORTED;
            goto out;
        case 'd':
        case 'F':
        case 'e':
        case 'E':
        case 'c':
        case 'x':
            fprintf(stderr, "ward sign: imgtool option -%c (--%s) is not supported by ward\n", c,
                    imgtool_short_name(c));
            rc = WARD_EXIT_UNSUPPORTED;
            goto out;
        case 'h':
            sign_help(stdout);
            rc = WARD_EXIT_OK;
            goto out;
        default:
            sign_help(stderr);
            goto out;
        }
    }
    if (argc - optind != 2) {
        rc = usage_error("sign", "INFILE and OUTFILE are required");
        goto out;
    }
    if (board_name != NULL) {
        rc = load_board("sign", board_name, &board);
        if (rc == WARD_EXIT_OK) {
            rc = board_geometry("sign", &board, &o.slot_size, have_slot, &sector, have_sector);
        }
        if (rc != WARD_EXIT_OK) {
            goto out;
        }
        have_slot = true;
        if (have_align && o.align != board.dev_write_size) {
            fprintf(stderr,
                    "ward sign: --align %lu is not board %s's flash write size %lu\n"
                    "  fix: drop --align (--board gives it)\n",
                    (unsigned long)o.align, board.name, (unsigned long)board.dev_write_size);
            rc = WARD_EXIT_USAGE;
            goto out;
        }
        o.align = board.dev_write_size;
        if (!have_header) {
            o.header_size = board.hdr_size;
        } else if (o.header_size % board.vtor_align != 0u) {
            fprintf(stderr,
                    "ward sign: -H 0x%lx puts the app's vector table at primary + 0x%lx, which "
                    "VTOR cannot point at on board %s (its table needs %lu-byte alignment)\n"
                    "  fix: -H 0x%lx (the board's), or a multiple of 0x%lx\n",
                    (unsigned long)o.header_size, (unsigned long)o.header_size, board.name,
                    (unsigned long)board.vtor_align, (unsigned long)board.hdr_size,
                    (unsigned long)board.vtor_align);
            rc = WARD_EXIT_USAGE;
            goto out;
        }
    }
    if (!have_version || !have_slot) {
        rc = usage_error("sign", "-v VERSION and -S SLOT_SIZE (or --board) are required");
        goto out;
    }
    rc = board_name != NULL ? WARD_EXIT_OK : sector_fits("sign", o.slot_size, sector);
    if (rc != WARD_EXIT_OK) {
        goto out;
    }
    const char *in_path = argv[optind];
    const char *out_path = argv[optind + 1];
    if (has_hex_ext(in_path) || has_hex_ext(out_path)) {
        fprintf(stderr, "ward sign: Intel HEX files are not supported; use raw binaries "
                        "(objcopy -I ihex -O binary IN.hex IN.bin)\n");
        rc = WARD_EXIT_UNSUPPORTED;
        goto out;
    }
    o.custom_tlvs = custom;
    o.custom_tlv_count = ncustom;

    ward_err_t err = ward_cli_read_file(in_path, &bin, &bin_len);
    if (err != WARD_OK) {
        rc = ward_cli_fail("sign", in_path, err);
        goto out;
    }
    const file_format_t fmt = file_format(bin, bin_len);
    if (fmt != FMT_BINARY) {
        rc = not_binary("sign", in_path, fmt);
        goto out;
    }
    bool hdr_zero = o.pad_header;
    if (!o.pad_header) {
        hdr_zero = bin_len >= o.header_size;
        for (size_t i = 0; i < o.header_size && hdr_zero; i++) {
            hdr_zero = bin[i] == 0u;
        }
    }
    if (hdr_zero && !o.non_bootable) {
        rc = check_vector_table("sign", in_path, bin, bin_len, &o,
                                board_name != NULL ? &board : NULL);
        if (rc != WARD_EXIT_OK) {
            goto out;
        }
    }
    if (key_path != NULL) {
        rc = ward_cli_key_open("sign", key_path, &key);
        if (rc != WARD_EXIT_OK) {
            goto out;
        }
    }
    err = ward_sign_image_signer(&o, bin, bin_len, key != NULL ? ward_key_signer(key) : NULL,
                                 &img, &img_len);
    if (err == WARD_ERR_IMG_SEC_CNT_RANGE) {
        rc = sec_cnt_refused(&o);
        goto out;
    }
    if (err == WARD_ERR_IMG_HEADER) {
        char what[256];
        snprintf(what, sizeof what,
                 "%s: the first %lu bytes must be zero to hold the header (or use --pad-header)",
                 in_path, (unsigned long)o.header_size);
        rc = ward_cli_fail("sign", what, err);
        char buf[8];
        if (bin_len >= 8u &&
            vt_problem(ward_load_le32(bin), ward_load_le32(bin + 4), NULL, 0, buf, sizeof buf) ==
                NULL) {
            fprintf(stderr,
                    "  %s starts with a vector table (initial SP 0x%08lx, reset vector 0x%08lx), "
                    "not with room for the header\n"
                    "  fix: add --pad-header if the app is linked at primary slot + 0x%lx; else "
                    "link it there, leaving the first 0x%lx bytes zero\n",
                    in_path, (unsigned long)ward_load_le32(bin),
                    (unsigned long)ward_load_le32(bin + 4), (unsigned long)o.header_size,
                    (unsigned long)o.header_size);
        }
        goto out;
    }
    if (err == WARD_ERR_IMG_TOO_LARGE && sector != 0u) {
        /* Say it as the bootloader would: the image's size against N-1
         * sectors (the trailer always fits the last sector). */
        ward_sign_opts_t o2 = o;
        uint8_t *img2 = NULL;
        size_t len2 = 0;
        o2.slot_size = 0;
        o2.pad = o2.confirm = o2.test = false;
        if (ward_sign_image_signer(&o2, bin, bin_len, key != NULL ? ward_key_signer(key) : NULL,
                                   &img2, &len2) == WARD_OK &&
            len2 > o.slot_size - sector) {
            free(img2);
            rc = too_large_for_slot("sign", in_path, (uint32_t)len2, o.slot_size, sector,
                                    board_name != NULL ? &board : NULL);
            goto out;
        }
        free(img2);
    }
    if (err == WARD_ERR_IMG_TOO_LARGE) {
        char what[256];
        snprintf(what, sizeof what,
                 "image (%lu-byte binary, with header and TLVs) + trailer (%lu bytes) exceed "
                 "the slot size %lu",
                 (unsigned long)bin_len, (unsigned long)ward_sign_trailer_size(&o),
                 (unsigned long)o.slot_size);
        rc = ward_cli_fail("sign", what, err);
        goto out;
    }
    if (err != WARD_OK) {
        rc = ward_cli_fail("sign", "building the image", err);
        goto out;
    }
    /* The device's own parser: TLVs beyond what it reads (custom TLVs too
     * large) are not written; imgtool signs them, a ward bootloader never
     * boots them. Features it refuses on purpose (-L) are still signed. */
    ward_image_mem_t m = {img, img_len};
    ward_image_info_t info;
    const ward_err_t perr = ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)img_len);
    if (perr == WARD_ERR_IMG_TOO_LARGE) {
        char what[200];
        snprintf(what, sizeof what,
                 "the TLVs (protected + unprotected) exceed %u bytes, what a ward bootloader "
                 "parses (WARD_CONFIG_IMAGE_MAX_TLV); nothing written",
                 (unsigned)WARD_CONFIG_IMAGE_MAX_TLV);
        rc = ward_cli_fail("sign", what, perr);
        goto out;
    }
    if (perr == WARD_OK && sector != 0u && info.total_size > o.slot_size - sector) {
        rc = too_large_for_slot("sign", in_path, info.total_size, o.slot_size, sector,
                                board_name != NULL ? &board : NULL);
        goto out;
    }
    err = ward_cli_write_file(out_path, img, img_len, 0644, false);
    if (err != WARD_OK) {
        rc = ward_cli_fail("sign", out_path, err);
        goto out;
    }
    if (perr == WARD_OK) {
        printf("wrote %s: %lu bytes (image %lu), version ", out_path, (unsigned long)img_len,
               (unsigned long)info.total_size);
        print_version(stdout, &info.version);
        if (info.has_sec_cnt) {
            printf(", security counter %lu", (unsigned long)info.sec_cnt);
        }
        printf(", %s\n", key == NULL                            ? "unsigned (hash only)"
                          : ward_key_kind(key) == WARD_KEY_PKCS11 ? "signed in the token"
                                                                  : "signed");
    } else {
        printf("wrote %s: %lu bytes\n", out_path, (unsigned long)img_len);
    }
    rc = WARD_EXIT_OK;

out:
    for (size_t i = 0; i < ncustom; i++) {
        free(custom_vals[i]);
    }
    ward_key_close(key);
    free(bin);
    free(img);
    return rc;
}

/* The imgtool trailer at the end of a padded file. */
typedef struct {
    bool found;
    uint32_t max_align;
    uint32_t image_ok_off;
    uint8_t image_ok, copy_done, swap_info;
} trailer_t;

static trailer_t find_trailer(const uint8_t *d, size_t len, uint32_t image_end)
{
    static const uint8_t magic8[BOOT_MAGIC_SIZE] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2,
                                                    0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f,
                                                    0x2c, 0xb6, 0x79, 0x80};
    static const uint8_t tail[14] = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                     0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};
    trailer_t t = {false, 0, 0, 0, 0, 0};
    if (len < (size_t)image_end + BOOT_MAGIC_SIZE) {
        return t;
    }
    const uint8_t *m = d + len - BOOT_MAGIC_SIZE;
    if (memcmp(m, magic8, BOOT_MAGIC_SIZE) == 0) {
        t.max_align = 8;
    } else if (memcmp(m + 2, tail, sizeof tail) == 0) {
        t.max_align = ward_load_le16(m);
    } else {
        return t;
    }
    const uint32_t ma = t.max_align;
    if (ma == 0u || ma > 1024u || (ma & (ma - 1u)) != 0u) {
        return t;
    }
    const uint64_t back = (uint64_t)ward_align_up(BOOT_MAGIC_SIZE, ma) + 3u * ma;
    if ((uint64_t)len < back || (uint64_t)len - back < image_end) {
        return t;
    }
    t.found = true;
    t.image_ok_off = (uint32_t)(len - ward_align_up(BOOT_MAGIC_SIZE, ma) - ma);
    t.image_ok = d[t.image_ok_off];
    t.copy_done = d[t.image_ok_off - ma];
    t.swap_info = d[t.image_ok_off - 2u * ma];
    return t;
}

/* ---- verify ------------------------------------------------------------- */

static void verify_help(FILE *f)
{
    fprintf(f,
            "usage: ward verify [-k KEY] [--min-sec-cnt N] [--max-sec-cnt N] [-S SLOT_SIZE]\n"
            "                   [--sector-size N | --board NAME|FILE] [--json] IMAGE\n"
            "\n"
            "Check a signed image. With -k (private or public key, PEM or DER): the full\n"
            "check the bootloader makes (structure, SHA-256, key, ECDSA signature,\n"
            "security counter). Without -k: structure and SHA-256 only, and the\n"
            "signature is NOT checked.\n"
            "\n"
            "  -k, --key FILE        the signer's key (its SHA-256 is the trusted key hash)\n"
            "      --min-sec-cnt N   refuse a security counter below N (default 0)\n"
            "      --max-sec-cnt N   refuse one above N (default %u: what the device's\n"
            "                        OTP counter holds; its bootloader refuses more)\n"
            "  -S, --slot-size N     the image must fit in N bytes (default: the file); a\n"
            "                        padded image must be padded to N\n"
            "      --sector-size N   with -S: the image may use all sectors of the slot but\n"
            "                        the last (N-1 of N), as the bootloader requires\n"
            "      --board NAME|FILE the board's slot size and sector size, and the payload's\n"
            "                        vector table checked as its bootloader does\n"
            "      --json            machine-readable result on stdout\n"
            "  -h, --help            this help\n"
            "Exit codes: 0 ok, 3 I/O, 4 malformed, 5 bad signature, 6 bad hash,\n"
            "7 wrong key, 8 too large, 9 unsigned, 10 security counter, 11 unsupported.\n",
            (unsigned)WARD_CONFIG_OTP_ROLLBACK_BITS);
}

enum { OPT_MIN_SEC_CNT = 2000, OPT_JSON, OPT_VERIFY_MAX_SEC_CNT, OPT_VERIFY_BOARD, OPT_VERIFY_SECTOR };

/* The two key hashes of a WARD_ERR_IMG_KEY: the image's and the key's. */
typedef struct {
    bool set;
    uint8_t image[32];
    uint8_t given[32];
} key_pair_t;

static void json_result_keys(const char *file, ward_err_t err, bool sig_checked,
                             const ward_image_info_t *info, const key_pair_t *kp);

static void json_result(const char *file, ward_err_t err, bool sig_checked,
                        const ward_image_info_t *info)
{
    json_result_keys(file, err, sig_checked, info, NULL);
}

static void json_result_keys(const char *file, ward_err_t err, bool sig_checked,
                             const ward_image_info_t *info, const key_pair_t *kp)
{
    printf("{\"file\":");
    ward_cli_json_str(stdout, file);
    printf(",\"ok\":%s,\"status\":\"%s\",\"signature_checked\":%s", err == WARD_OK ? "true" : "false",
           ward_err_name(err), sig_checked ? "true" : "false");
    if (info != NULL && info->total_size != 0u) {
        printf(",\"version\":\"");
        print_version(stdout, &info->version);
        printf("\",\"security_counter\":");
        if (info->has_sec_cnt) {
            printf("%lu", (unsigned long)info->sec_cnt);
        } else {
            printf("null");
        }
        printf(",\"image_size\":%lu", (unsigned long)info->total_size);
    }
    if (kp != NULL && kp->set) {
        printf(",\"key_hash_image\":\"");
        ward_cli_print_hex(stdout, kp->image, sizeof kp->image);
        printf("\",\"key_hash_given\":\"");
        ward_cli_print_hex(stdout, kp->given, sizeof kp->given);
        printf("\"");
    }
    printf("}\n");
}

int ward_cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"min-sec-cnt", required_argument, NULL, OPT_MIN_SEC_CNT},
        {"max-sec-cnt", required_argument, NULL, OPT_VERIFY_MAX_SEC_CNT},
        {"slot-size", required_argument, NULL, 'S'},
        {"board", required_argument, NULL, OPT_VERIFY_BOARD},
        {"sector-size", required_argument, NULL, OPT_VERIFY_SECTOR},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *key_path = NULL, *board_name = NULL;
    uint32_t min_sec_cnt = 0, slot = 0, max_sec_cnt = WARD_CONFIG_OTP_ROLLBACK_BITS, sector = 0;
    bool json = false;
    ward_board_t board;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:S:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case OPT_MIN_SEC_CNT:
            if (!ward_cli_parse_u32(optarg, &min_sec_cnt)) {
                return usage_error("verify", "--min-sec-cnt must be a 32-bit number");
            }
            break;
        case OPT_VERIFY_MAX_SEC_CNT:
            if (!ward_cli_parse_u32(optarg, &max_sec_cnt)) {
                return usage_error("verify", "--max-sec-cnt must be a 32-bit number");
            }
            break;
        case 'S':
            if (!ward_cli_parse_u32(optarg, &slot) || slot == 0u) {
                return usage_error("verify", "-S must be a positive 32-bit number");
            }
            break;
        case OPT_VERIFY_BOARD:
            board_name = optarg;
            break;
        case OPT_VERIFY_SECTOR:
            if (!ward_cli_parse_u32(optarg, &sector) || sector == 0u ||
                (sector & (sector - 1u)) != 0u) {
                return usage_error("verify", "--sector-size must be a power of two");
            }
            break;
        case OPT_JSON:
            json = true;
            break;
        case 'h':
            verify_help(stdout);
            return WARD_EXIT_OK;
        default:
            verify_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        return usage_error("verify", "one IMAGE is required");
    }
    if (board_name != NULL) {
        int brc = load_board("verify", board_name, &board);
        if (brc == WARD_EXIT_OK) {
            brc = board_geometry("verify", &board, &slot, slot != 0u, &sector, sector != 0u);
        }
        if (brc != WARD_EXIT_OK) {
            return brc;
        }
    }
    if (sector != 0u && slot == 0u) {
        return usage_error("verify", "--sector-size needs -S (the slot it divides)");
    }
    if (slot != 0u && board_name == NULL && sector_fits("verify", slot, sector) != WARD_EXIT_OK) {
        return WARD_EXIT_USAGE;
    }
    const char *path = argv[optind];
    if (has_hex_ext(path)) {
        fprintf(stderr, "ward verify: Intel HEX files are not supported; use the raw binary "
                        "(objcopy -I ihex -O binary %s IMAGE.bin)\n",
                path);
        return WARD_EXIT_UNSUPPORTED;
    }
    uint8_t spki[WARD_SIGN_SPKI_LEN], key_hash[32];
    if (key_path != NULL) {
        int rc = load_key("verify", key_path, NULL, spki, NULL);
        if (rc != WARD_EXIT_OK) {
            return rc;
        }
        (void)ward_sha256(key_hash, spki, sizeof spki);
    }
    uint8_t *data = NULL;
    size_t len = 0;
    ward_err_t err = ward_cli_read_file(path, &data, &len);
    if (err != WARD_OK) {
        return ward_cli_fail("verify", path, err);
    }
    int rc;
    const file_format_t fmt = file_format(data, len);
    if (fmt != FMT_BINARY) {
        if (json) {
            json_result(path, WARD_ERR_UNSUPPORTED, false, NULL);
        }
        rc = not_binary("verify", path, fmt);
        goto out;
    }
    ward_image_mem_t m = {data, len};
    ward_image_info_t info;
    const uint32_t file_max = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    const uint32_t max = slot != 0u && slot < file_max ? slot : file_max;
    err = ward_image_parse(&info, ward_image_read_mem, &m, max);
    if (err == WARD_ERR_IMG_TOO_LARGE && (slot == 0u || slot > file_max) &&
        ward_image_parse(&info, ward_image_read_mem, &m, UINT32_MAX) != WARD_ERR_IMG_TOO_LARGE) {
        /* Not too large in itself: the file ends before the image does. */
        if (json) {
            json_result(path, WARD_ERR_CORRUPT, false, NULL);
        }
        rc = ward_cli_fail("verify", "the image extends past the end of the file (truncated)",
                           WARD_ERR_CORRUPT);
        goto out;
    }
    if (err != WARD_OK) {
        if (json) {
            json_result(path, err, false, NULL);
        }
        rc = ward_cli_fail("verify", path, err);
        goto out;
    }

    bool sig_checked = key_path != NULL;
    key_pair_t kp = {false, {0}, {0}};
    if (sig_checked) {
        ward_image_trust_t trust = {key_hash, spki, sizeof spki, min_sec_cnt};
        ward_err_t reason = WARD_ERR_CRYPTO;
        ward_fih_t res = ward_image_validate(&info, ward_image_read_mem, &m, &trust, &reason);
        err = WARD_FIH_EQ(res) ? WARD_OK : (reason == WARD_OK ? WARD_ERR_IMG_SIG : reason);
    } else {
        if (!info.has_hash) {
            err = WARD_ERR_IMG_UNSIGNED;
        } else {
            uint8_t h[32];
            err = ward_image_hash(&info, ward_image_read_mem, &m, h);
            if (err == WARD_OK && !ward_ct_equal(h, data + info.hash_off, sizeof h)) {
                err = WARD_ERR_IMG_HASH;
            }
        }
        /* As ward_image_validate: no SEC_CNT counts as 0. */
        if (err == WARD_OK && (info.has_sec_cnt ? info.sec_cnt : 0u) < min_sec_cnt) {
            err = WARD_ERR_IMG_SEC_CNT;
        }
    }
    /* As the bootloader: a counter OTP cannot hold is refused. */
    const bool beyond = info.has_sec_cnt && info.sec_cnt > max_sec_cnt;
    if (err == WARD_OK && beyond) {
        err = WARD_ERR_IMG_SEC_CNT_RANGE;
    }
    if (err == WARD_ERR_IMG_KEY && (info.has_keyhash || info.pubkey_len > 0u)) {
        kp.set = true;
        memcpy(kp.given, key_hash, sizeof kp.given);
        if (info.has_keyhash) {
            memcpy(kp.image, data + info.keyhash_off, sizeof kp.image);
        } else {
            (void)ward_sha256(kp.image, data + info.pubkey_off, info.pubkey_len);
        }
    }
    /* What the board's bootloader refuses of a good image: more than N-1
     * sectors, padding for another slot, a payload that is no vector table. */
    const char *board_problem = NULL;
    char problem[600];
    if (err == WARD_OK && sector != 0u && info.total_size > slot - sector) {
        if (json) {
            json_result(path, WARD_ERR_IMG_TOO_LARGE, sig_checked, &info);
        }
        rc = too_large_for_slot("verify", path, info.total_size, slot, sector,
                                board_name != NULL ? &board : NULL);
        goto out;
    }
    const trailer_t tr = find_trailer(data, len, info.total_size);
    if (err == WARD_OK && slot != 0u && tr.found && len != slot) {
        snprintf(problem, sizeof problem,
                 "%s is padded for a 0x%lx-byte slot (its trailer, the install request, ends the "
                 "file), the slot is 0x%lx bytes: a device would not find the request where it "
                 "reads it and would ignore the update. fix: sign it again with -S 0x%lx%s",
                 path, (unsigned long)len, (unsigned long)slot, (unsigned long)slot,
                 board_name != NULL ? " (or --board)" : "");
        board_problem = problem;
    }
    if (err == WARD_OK && board_problem == NULL && board_name != NULL &&
        (info.flags & WARD_IMAGE_F_NON_BOOTABLE) == 0u && len >= (size_t)info.hdr_size + 8u) {
        const uint32_t vt = ward_board_primary_addr(&board) + info.hdr_size;
        const uint32_t sp = ward_load_le32(data + info.hdr_size);
        const uint32_t pc = ward_load_le32(data + info.hdr_size + 4u);
        char buf[400];
        const char *why = vt_problem(sp, pc, &board, vt, buf, sizeof buf);
        if (why != NULL) {
            snprintf(problem, sizeof problem,
                     "%s: board %s's bootloader would refuse to jump to it (\"bad vector "
                     "table\"): the vector table at 0x%08lx (primary + header 0x%x) holds "
                     "initial SP 0x%08lx, reset vector 0x%08lx: %s. fix: ward sign --board %s "
                     "says how to sign the app",
                     path, board.name, (unsigned long)vt, info.hdr_size, (unsigned long)sp,
                     (unsigned long)pc, why, board.name);
            board_problem = problem;
        }
    }
    if (board_problem != NULL) {
        if (json) {
            json_result(path, WARD_ERR_CORRUPT, sig_checked, &info);
        }
        fprintf(stderr, "ward verify: %s (%s)\n", board_problem,
                ward_err_name(WARD_ERR_CORRUPT));
        rc = ward_cli_exit_code(WARD_ERR_CORRUPT);
        goto out;
    }
    if (json) {
        json_result_keys(path, err, sig_checked, &info, &kp);
    }
    if (err != WARD_OK) {
        rc = ward_cli_fail("verify", path, err);
        if (kp.set) {
            fprintf(stderr, "  key hash in the image:  ");
            ward_cli_print_hex(stderr, kp.image, sizeof kp.image);
            fprintf(stderr, " (%s)\n  key hash of -k %s: ", info.has_keyhash ? "KEYHASH TLV" : "of its PUBKEY TLV",
                    key_path);
            ward_cli_print_hex(stderr, kp.given, sizeof kp.given);
            fprintf(stderr, "\n  fix: verify with the key that signed it, or sign again with "
                            "the device's boot key (the hash burnt into its OTP: ward device "
                            "status)\n");
        }
        if (err == WARD_ERR_IMG_SEC_CNT_RANGE) {
            fprintf(stderr,
                    "ward verify: security counter %lu is above %lu, what the device's OTP "
                    "counter holds: its bootloader refuses this image. Re-sign it with -s N, "
                    "N <= %lu (--max-sec-cnt N for a device whose counter holds more)\n",
                    (unsigned long)info.sec_cnt, (unsigned long)max_sec_cnt,
                    (unsigned long)max_sec_cnt);
        }
        goto out;
    }
    if (!json) {
        printf("%s: ", path);
        if (sig_checked) {
            printf("image OK (hash, key and signature verified)");
        } else {
            printf("hash OK; signature NOT checked (no key given)");
        }
        printf(", version ");
        print_version(stdout, &info.version);
        if (info.has_sec_cnt) {
            printf(", security counter %lu", (unsigned long)info.sec_cnt);
        }
        printf("\n");
    }
    rc = WARD_EXIT_OK;
out:
    free(data);
    return rc;
}

/* ---- inspect ------------------------------------------------------------ */

static void inspect_help(FILE *f)
{
    fprintf(f,
            "usage: ward inspect [--json] IMAGE\n"
            "\n"
            "Show an image: header fields, every TLV (protected or not), the stored and\n"
            "computed SHA-256, the signer's key hash, the signature count and, when the\n"
            "file is padded to a slot, the trailer (boot magic, image_ok). No key is\n"
            "needed and nothing is verified (use ward verify).\n"
            "\n"
            "      --json    machine-readable output\n"
            "  -h, --help    this help\n");
}

static const char *tlv_name(uint16_t t)
{
    switch (t) {
    case WARD_TLV_KEYHASH: return "KEYHASH";
    case WARD_TLV_PUBKEY: return "PUBKEY";
    case WARD_TLV_SHA256: return "SHA256";
    case WARD_TLV_SHA384: return "SHA384";
    case WARD_TLV_SHA512: return "SHA512";
    case WARD_TLV_RSA2048_PSS: return "RSA2048_PSS";
    case WARD_TLV_ECDSA_SIG: return "ECDSA_SIG";
    case WARD_TLV_RSA3072_PSS: return "RSA3072_PSS";
    case WARD_TLV_ED25519: return "ED25519";
    case WARD_TLV_SIG_PURE: return "SIG_PURE";
    case WARD_TLV_ENC_RSA2048: return "ENC_RSA2048";
    case WARD_TLV_ENC_KW: return "ENC_KW";
    case WARD_TLV_ENC_EC256: return "ENC_EC256";
    case WARD_TLV_ENC_X25519: return "ENC_X25519";
    case WARD_TLV_ENC_X25519_SHA512: return "ENC_X25519_SHA512";
    case WARD_TLV_DEPENDENCY: return "DEPENDENCY";
    case WARD_TLV_SEC_CNT: return "SEC_CNT";
    case WARD_TLV_BOOT_RECORD: return "BOOT_RECORD";
    case 0x70: return "DECOMP_SIZE";
    case 0x71: return "DECOMP_SHA";
    case 0x72: return "DECOMP_SIGNATURE";
    case 0x73: return "COMP_DEC_SIZE";
    case 0x74: return "UUID_VID";
    case 0x75: return "UUID_CID";
    default: return t >= 0xa0u ? "custom" : "unknown";
    }
}

static const struct {
    uint32_t bit;
    const char *name;
} k_flags[] = {
    {WARD_IMAGE_F_PIC, "PIC"},
    {WARD_IMAGE_F_ENCRYPTED_AES128, "ENCRYPTED_AES128"},
    {WARD_IMAGE_F_ENCRYPTED_AES256, "ENCRYPTED_AES256"},
    {WARD_IMAGE_F_NON_BOOTABLE, "NON_BOOTABLE"},
    {WARD_IMAGE_F_RAM_LOAD, "RAM_LOAD"},
    {WARD_IMAGE_F_ROM_FIXED, "ROM_FIXED"},
    {WARD_IMAGE_F_COMPRESSED_LZMA1, "COMPRESSED_LZMA1"},
    {WARD_IMAGE_F_COMPRESSED_LZMA2, "COMPRESSED_LZMA2"},
    {WARD_IMAGE_F_COMPRESSED_ARM_THUMB, "COMPRESSED_ARM_THUMB"},
};

static const char *flag_state(uint8_t v)
{
    return v == 0x01u ? "set" : (v == 0xffu || v == 0x00u) ? "unset" : "invalid";
}

/* What a ward device does with this trailer once the file is staged (as
 * ward_boot_trailer_read reads it): image_ok 0x01 permanent, erased trial,
 * anything else refused. */
static const char *trailer_request(const trailer_t *t)
{
    return t->image_ok == 0x01u ? "permanent" : t->image_ok == 0xffu ? "trial" : "malformed";
}

/* Said in text and in JSON: a trailer with no image_ok is what imgtool
 * writes for --overwrite-only --confirm, which a ward device swaps in for a
 * trial and reverts. */
static const char k_warn_trial[] =
    "imgtool --overwrite-only --confirm writes this same trailer (overwrite-only images carry "
    "no image_ok). ward swaps, it does not overwrite: such an image is installed for a trial "
    "and reverted at the reset after unless the app confirms it. For a permanent install sign "
    "with --confirm and without --overwrite-only, or stage it with ward device stage "
    "--permanent";

/* inspect on a file that does not start with an image header: say so, and
 * what it looks like (a raw app binary to sign, erased flash). */
static int not_an_image(const char *path, const uint8_t *d, size_t len, bool json)
{
    bool erased = len > 0u;
    for (size_t i = 0; i < len && erased; i++) {
        erased = d[i] == 0xFFu;
    }
    char buf[8];
    size_t x = 0;
    const bool vt0 = len >= 8u && vt_problem(ward_load_le32(d), ward_load_le32(d + 4), NULL, 0,
                                             buf, sizeof buf) == NULL;
    bool reserved = false;
    if (!vt0 && find_vt(d, len, (size_t)-1, NULL, &x) && x >= WARD_IMAGE_HEADER_SIZE) {
        reserved = true;
        for (size_t i = 0; i < x && reserved; i++) {
            reserved = d[i] == 0u;
        }
    }
    char hint[300];
    if (erased) {
        snprintf(hint, sizeof hint, "erased flash (every byte 0xff)");
    } else if (vt0) {
        snprintf(hint, sizeof hint,
                 "a raw Cortex-M binary: it starts with a vector table (initial SP 0x%08lx, reset "
                 "vector 0x%08lx); sign it: ward sign --board NAME --pad-header -k KEY -v VERSION "
                 "%s OUT.img",
                 (unsigned long)ward_load_le32(d), (unsigned long)ward_load_le32(d + 4), path);
    } else if (reserved) {
        snprintf(hint, sizeof hint,
                 "a raw app binary that reserves 0x%lx zero bytes for the header; sign it: ward "
                 "sign --board NAME -H 0x%lx -k KEY -v VERSION %s OUT.img",
                 (unsigned long)x, (unsigned long)x, path);
    } else {
        snprintf(hint, sizeof hint,
                 "not a signed image; ward sign makes one from an app binary");
    }
    if (json) {
        printf("{\"file\":");
        ward_cli_json_str(stdout, path);
        printf(",\"file_size\":%lu,\"status\":\"%s\",\"image\":false,\"looks_like\":",
               (unsigned long)len, ward_err_name(WARD_ERR_IMG_MAGIC));
        ward_cli_json_str(stdout, hint);
        printf("}\n");
    } else {
        printf("file:            %s (%lu bytes)\nnot an image\n", path, (unsigned long)len);
    }
    char what[256];
    if (len < WARD_IMAGE_HEADER_SIZE) {
        snprintf(what, sizeof what, "%s: not an image: %lu bytes, shorter than an image header",
                 path, (unsigned long)len);
    } else {
        snprintf(what, sizeof what,
                 "%s: not an image: it starts with 0x%08lx, not the MCUboot image magic 0x%08lx",
                 path, (unsigned long)ward_load_le32(d), (unsigned long)WARD_IMAGE_MAGIC);
    }
    const int rc = ward_cli_fail("inspect", what, WARD_ERR_IMG_MAGIC);
    fprintf(stderr, "  it looks like %s\n", hint);
    return rc;
}

int ward_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON:
            json = true;
            break;
        case 'h':
            inspect_help(stdout);
            return WARD_EXIT_OK;
        default:
            inspect_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        return usage_error("inspect", "one IMAGE is required");
    }
    const char *path = argv[optind];
    uint8_t *data = NULL;
    size_t len = 0;
    ward_err_t err = ward_cli_read_file(path, &data, &len);
    if (err != WARD_OK) {
        return ward_cli_fail("inspect", path, err);
    }
    const file_format_t fmt = file_format(data, len);
    if (fmt != FMT_BINARY) {
        /* Its first bytes are text or an ELF header: no image fields to show. */
        if (json) {
            printf("{\"file\":");
            ward_cli_json_str(stdout, path);
            printf(",\"file_size\":%lu,\"status\":\"%s\",\"format\":\"%s\"}\n",
                   (unsigned long)len, ward_err_name(WARD_ERR_UNSUPPORTED), format_name(fmt));
        }
        free(data);
        return not_binary("inspect", path, fmt);
    }
    if (len < WARD_IMAGE_HEADER_SIZE || ward_load_le32(data) != WARD_IMAGE_MAGIC) {
        /* No header to show: any field read from these bytes would be noise. */
        const int rc = not_an_image(path, data, len, json);
        free(data);
        return rc;
    }
    ward_image_mem_t m = {data, len};
    ward_image_info_t info, hdr;
    const uint32_t max = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    ward_err_t perr = ward_image_parse(&info, ward_image_read_mem, &m, max);
    /* A header is there (the magic was checked above): its fields are
     * shown even when the image fails to parse. */
    (void)ward_image_header_decode(&hdr, data);
    const uint32_t magic = ward_load_le32(data);

    uint8_t computed[32] = {0}, keyhash[32] = {0};
    bool have_keyhash = false, hash_ok = false;
    trailer_t tr = {false, 0, 0, 0, 0, 0};
    if (perr == WARD_OK) {
        if (ward_image_hash(&info, ward_image_read_mem, &m, computed) == WARD_OK && info.has_hash) {
            hash_ok = ward_ct_equal(computed, data + info.hash_off, 32);
        }
        if (info.has_keyhash) {
            memcpy(keyhash, data + info.keyhash_off, 32);
            have_keyhash = true;
        } else if (info.pubkey_len > 0u) {
            (void)ward_sha256(keyhash, data + info.pubkey_off, info.pubkey_len);
            have_keyhash = true;
        }
        tr = find_trailer(data, len, info.total_size);
    }
    const bool beyond =
        perr == WARD_OK && info.has_sec_cnt && info.sec_cnt > WARD_CONFIG_OTP_ROLLBACK_BITS;

    if (json) {
        printf("{\"file\":");
        ward_cli_json_str(stdout, path);
        printf(",\"file_size\":%lu,\"status\":\"%s\"", (unsigned long)len, ward_err_name(perr));
        printf(",\"header\":{\"magic\":\"0x%08lx\",\"load_addr\":\"0x%08lx\",\"hdr_size\":%u,"
               "\"prot_tlv_size\":%u,\"img_size\":%lu,\"flags\":\"0x%08lx\",\"flag_names\":[",
               (unsigned long)magic, (unsigned long)hdr.load_addr, hdr.hdr_size,
               hdr.prot_tlv_size, (unsigned long)hdr.img_size, (unsigned long)hdr.flags);
        bool first = true;
        for (size_t i = 0; i < sizeof k_flags / sizeof k_flags[0]; i++) {
            if ((hdr.flags & k_flags[i].bit) != 0u) {
                printf("%s\"%s\"", first ? "" : ",", k_flags[i].name);
                first = false;
            }
        }
        printf("],\"version\":\"");
        print_version(stdout, &hdr.version);
        printf("\"}");
    } else {
        printf("file:            %s (%lu bytes)\n", path, (unsigned long)len);
        printf("magic:           0x%08lx (MCUboot v1)\n", (unsigned long)magic);
        printf("load address:    0x%08lx\n", (unsigned long)hdr.load_addr);
        printf("header size:     %u\n", hdr.hdr_size);
        printf("protected TLVs:  %u bytes\n", hdr.prot_tlv_size);
        printf("payload size:    %lu\n", (unsigned long)hdr.img_size);
        printf("flags:           0x%08lx", (unsigned long)hdr.flags);
        for (size_t i = 0; i < sizeof k_flags / sizeof k_flags[0]; i++) {
            if ((hdr.flags & k_flags[i].bit) != 0u) {
                printf(" %s", k_flags[i].name);
            }
        }
        printf("\nversion:         ");
        print_version(stdout, &hdr.version);
        printf("\n");
    }

    if (perr == WARD_OK) {
        ward_image_tlv_iter_t it;
        ward_image_tlv_t t;
        ward_err_t terr = ward_image_tlv_begin(&it, &info);
        if (json) {
            printf(",\"image_size\":%lu,\"tlvs\":[", (unsigned long)info.total_size);
        } else {
            printf("image size:      %lu (TLVs at %lu, %lu bytes)\nTLVs:\n",
                   (unsigned long)info.total_size, (unsigned long)info.prot_tlv_off,
                   (unsigned long)(info.total_size - info.prot_tlv_off));
        }
        bool first = true;
        while (terr == WARD_OK && (terr = ward_image_tlv_next(&it, ward_image_read_mem, &m, &t)) ==
                                      WARD_OK) {
            if (json) {
                printf("%s{\"area\":\"%s\",\"type\":%u,\"name\":\"%s\",\"len\":%u,\"offset\":%lu,"
                       "\"value\":\"",
                       first ? "" : ",", t.prot ? "protected" : "unprotected", t.type,
                       tlv_name(t.type), t.len, (unsigned long)t.off);
                ward_cli_print_hex(stdout, data + t.off, t.len);
                printf("\"}");
            } else {
                printf("  %-11s 0x%04x %-10s len %3u @ %-6lu ", t.prot ? "protected" : "unprotected",
                       t.type, tlv_name(t.type), t.len, (unsigned long)t.off);
                if (t.type == WARD_TLV_SEC_CNT && t.len == 4u) {
                    printf("%lu", (unsigned long)ward_load_le32(data + t.off));
                } else {
                    ward_cli_print_hex(stdout, data + t.off, t.len > 32u ? 32u : t.len);
                    if (t.len > 32u) {
                        printf("...");
                    }
                }
                printf("\n");
            }
            first = false;
        }
        if (json) {
            printf("],\"security_counter\":");
            if (info.has_sec_cnt) {
                printf("%lu", (unsigned long)info.sec_cnt);
            } else {
                printf("null");
            }
            printf(",\"hash\":{\"stored\":");
            if (info.has_hash) {
                printf("\"");
                ward_cli_print_hex(stdout, data + info.hash_off, 32);
                printf("\"");
            } else {
                printf("null");
            }
            printf(",\"computed\":\"");
            ward_cli_print_hex(stdout, computed, 32);
            printf("\",\"match\":%s},\"key_hash\":", hash_ok ? "true" : "false");
            if (have_keyhash) {
                printf("\"");
                ward_cli_print_hex(stdout, keyhash, 32);
                printf("\"");
            } else {
                printf("null");
            }
            printf(",\"key_in_image\":\"%s\",\"signatures\":%u,\"trailer\":",
                   info.pubkey_len > 0u ? "full" : info.has_keyhash ? "hash" : "none",
                   info.sig_count);
            if (tr.found) {
                printf("{\"magic\":true,\"max_align\":%lu,\"image_ok\":\"%s\",\"image_ok_raw\":%u,"
                       "\"copy_done\":\"%s\",\"swap_info\":%u,\"request\":\"%s\"}",
                       (unsigned long)tr.max_align, flag_state(tr.image_ok), tr.image_ok,
                       flag_state(tr.copy_done), tr.swap_info, trailer_request(&tr));
            } else {
                printf("{\"magic\":false}");
            }
            printf(",\"warnings\":[");
            bool wfirst = true;
            if (beyond) {
                printf("\"security counter %lu is above %lu, what the OTP counter holds: a ward "
                       "bootloader refuses this image (WARD_ERR_IMG_SEC_CNT_RANGE)\"",
                       (unsigned long)info.sec_cnt, (unsigned long)WARD_CONFIG_OTP_ROLLBACK_BITS);
                wfirst = false;
            }
            if (tr.found && tr.image_ok == 0xffu) {
                printf("%s", wfirst ? "" : ",");
                ward_cli_json_str(stdout, k_warn_trial);
            }
            printf("]");
        } else {
            printf("security counter: ");
            if (info.has_sec_cnt) {
                printf("%lu", (unsigned long)info.sec_cnt);
                if (beyond) {
                    printf(" (beyond %lu, what the OTP counter holds: a ward bootloader refuses "
                           "this image, WARD_ERR_IMG_SEC_CNT_RANGE; re-sign with -s N, N <= %lu)",
                           (unsigned long)WARD_CONFIG_OTP_ROLLBACK_BITS,
                           (unsigned long)WARD_CONFIG_OTP_ROLLBACK_BITS);
                }
                printf("\n");
            } else {
                printf("none\n");
            }
            printf("hash (stored):   ");
            if (info.has_hash) {
                ward_cli_print_hex(stdout, data + info.hash_off, 32);
            } else {
                printf("none");
            }
            printf("\nhash (computed): ");
            ward_cli_print_hex(stdout, computed, 32);
            printf(" %s\n", !info.has_hash ? "" : hash_ok ? "(matches)" : "(MISMATCH)");
            printf("key hash:        ");
            if (have_keyhash) {
                ward_cli_print_hex(stdout, keyhash, 32);
                printf(" (%s)\n", info.pubkey_len > 0u ? "of the PUBKEY TLV" : "KEYHASH TLV");
            } else {
                printf("none\n");
            }
            printf("signatures:      %u (not verified; use ward verify -k KEY)\n", info.sig_count);
            if (tr.found) {
                printf("trailer:         boot magic found (max_align %lu), image_ok %s (0x%02x), "
                       "copy_done %s, swap_info 0x%02x\n",
                       (unsigned long)tr.max_align, flag_state(tr.image_ok), tr.image_ok,
                       flag_state(tr.copy_done), tr.swap_info);
                if (tr.image_ok == 0x01u) {
                    printf("install request: permanent (image_ok set, as imgtool --confirm): "
                           "a ward device installs it for good once staged\n");
                } else if (tr.image_ok == 0xffu) {
                    printf("install request: trial (image_ok erased, as imgtool --pad or --test): "
                           "a ward device installs it for a trial, and the reset after reverts "
                           "it unless the app confirms it\n");
                    printf("warning:         %s\n", k_warn_trial);
                } else {
                    printf("install request: malformed (image_ok 0x%02x is neither 0x01 nor "
                           "0xff): a ward device refuses it (WARD_ERR_CORRUPT)\n",
                           tr.image_ok);
                }
            } else if (len > info.total_size) {
                printf("trailer:         no boot magic at the end of the file (%lu bytes after "
                       "the image)\n",
                       (unsigned long)(len - info.total_size));
            } else {
                printf("trailer:         none (file ends with the image)\n");
            }
        }
        if (terr != WARD_ERR_NOT_FOUND && !json) {
            printf("TLV walk stopped: %s\n", ward_err_name(terr));
        }
    }
    if (json) {
        printf("}\n");
    }
    free(data);
    if (perr != WARD_OK) {
        return ward_cli_fail("inspect", path, perr);
    }
    return WARD_EXIT_OK;
}
