/*
 * Start and stop BlueZ's controller emulator (btvirt, Debian's
 * bluez-test-tools) under ward's AF_ALG shim (tools/btshim), in a folder of
 * its own: `ward ble btvirt` and the demo's BLE chapter. Host code.
 *
 * btvirt -s -S: Unix sockets (DIR/bt-server-le, -bredrle, ...; every client
 * gets its own emulated controller, all of them in one radio) and a pty.
 * Use DIR/bt-server-bredrle: its controllers answer Read Encryption Key
 * Size, the LE-only ones do not (ward then refuses to trust the link).
 */
#ifndef WARD_TOOLS_BTVIRT_H
#define WARD_TOOLS_BTVIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct ward_btvirt {
    pid_t pid;
    char dir[512];
    char socket[600]; /* DIR/bt-server-bredrle */
    char pty[128];    /* btvirt's pty, "" if none */
    char why[1024];   /* what went wrong, for the user */
} ward_btvirt_t;

/* The shim to preload: $WARD_AFALG_SHIM, else the one built with ward (the
 * build's path, then next to the ward executable). NULL if none is found. */
const char *ward_btvirt_shim(void);

/* btvirt: $WARD_BTVIRT, else in /usr/bin, /usr/sbin or $PATH. NULL if not found. */
const char *ward_btvirt_path(void);

/* Start btvirt in dir (created if missing; its log is dir/btvirt.log) and
 * wait for its sockets. 0, or -1 with b->why set. */
int ward_btvirt_start(ward_btvirt_t *b, const char *dir);

/* Stop it (SIGTERM, then SIGKILL) and reap it. Safe to call twice. */
void ward_btvirt_stop(ward_btvirt_t *b);

/* Is it still running? */
bool ward_btvirt_alive(ward_btvirt_t *b);

#endif
