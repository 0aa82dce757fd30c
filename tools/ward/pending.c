/*
 * Placeholders for command groups still being written: each is replaced
 * by its cmd_<group>.c, which defines the strong symbol. Removed once every
 * group has landed.
 */
#include <stdio.h>

#include "cli.h"
#include "commands.h"

#define PENDING(fn, name)                                                              \
    __attribute__((weak)) int fn(int argc, char **argv)                                \
    {                                                                                  \
        (void)argc;                                                                    \
        (void)argv;                                                                    \
        fprintf(stderr, "ward %s: not available in this build yet\n", name);         \
        return WARD_EXIT_UNSUPPORTED;                                                  \
    }

PENDING(ward_cmd_keygen, "keygen")
PENDING(ward_cmd_getpub, "getpub")
PENDING(ward_cmd_sign, "sign")
PENDING(ward_cmd_verify, "verify")
PENDING(ward_cmd_inspect, "inspect")
PENDING(ward_cmd_device, "device")
PENDING(ward_cmd_vault, "vault")
PENDING(ward_cmd_demo, "demo")
