/*
 * ward CLI internals shared by the subcommand files (cmd_*.c).
 * Host-only code: it may use the C library freely.
 */
#ifndef WARD_TOOLS_CLI_H
#define WARD_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ward/ward.h"

/* Exit codes: one per kind of failure (docs/cli.md). */
enum {
    WARD_EXIT_OK = 0,
    WARD_EXIT_FAIL = 1,        /* any other failure */
    WARD_EXIT_USAGE = 2,       /* bad command line */
    WARD_EXIT_IO = 3,          /* file or flash I/O */
    WARD_EXIT_MALFORMED = 4,   /* not a well-formed image / file */
    WARD_EXIT_BAD_SIG = 5,     /* signature does not verify */
    WARD_EXIT_BAD_HASH = 6,    /* contents do not match the hash */
    WARD_EXIT_WRONG_KEY = 7,   /* signed with another key */
    WARD_EXIT_TOO_LARGE = 8,   /* does not fit the slot */
    WARD_EXIT_UNSIGNED = 9,    /* no signature */
    WARD_EXIT_ROLLBACK = 10,   /* older than allowed */
    WARD_EXIT_UNSUPPORTED = 11,
    WARD_EXIT_EXISTS = 12,     /* refusing to overwrite */
    WARD_EXIT_INTEGRITY = 13,  /* stored data failed authentication */
    WARD_EXIT_NOT_FOUND = 14,
    WARD_EXIT_STATE = 15,      /* not allowed in this state / locked */
    WARD_EXIT_NO_SPACE = 16,
    WARD_EXIT_REFUSED = 17     /* device refuses to boot */
};

/* Map a status to its exit code. */
int ward_cli_exit_code(ward_err_t err);

/* Print "ward <cmd>: <what>: <reason text> (<NAME>)" to stderr and return
 * the exit code for err. */
int ward_cli_fail(const char *cmd, const char *what, ward_err_t err);

/* Read a whole file into a malloc'd buffer. WARD_ERR_IO on failure. */
ward_err_t ward_cli_read_file(const char *path, uint8_t **data, size_t *len);

/* Write a file atomically (temp file + rename) with the given mode.
 * If exclusive, fail with WARD_ERR_EXISTS when path exists. */
ward_err_t ward_cli_write_file(const char *path, const void *data, size_t len, unsigned mode,
                               bool exclusive);

/* Parse an unsigned integer with C prefixes (0x.., 0o.., 0b.., decimal).
 * Returns false on junk or overflow. */
bool ward_cli_parse_u32(const char *s, uint32_t *out);

/* Value of a hex digit (either case), or -1. */
int ward_cli_hex_digit(char c);

/* Print bytes as lowercase hex (no separators). */
void ward_cli_print_hex(FILE *f, const uint8_t *p, size_t n);

/* Does the file end with an MCUboot trailer's boot magic (imgtool --pad,
 * --confirm, --test), for any max_align 8, 16 or 32? */
bool ward_cli_ends_with_boot_magic(const uint8_t *d, size_t len);

/* JSON string escaping for --json output. */
void ward_cli_json_str(FILE *f, const char *s);

/* Open a signing key: a key file or a PKCS#11 URI (tools/keys). On failure
 * prints "ward <cmd>: <why>: <reason> (<NAME>)" and returns the exit code;
 * WARD_EXIT_OK with *key set otherwise (ward_key_close it). */
struct ward_key;
int ward_cli_key_open(const char *cmd, const char *spec, struct ward_key **key);

/* Subcommands: each returns an exit code. argv[0] is the subcommand name. */
typedef int (*ward_cmd_fn)(int argc, char **argv);

#endif /* WARD_TOOLS_CLI_H */
