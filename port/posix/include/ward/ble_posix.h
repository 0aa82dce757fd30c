/*
 * ward ble on POSIX (port/posix): the H4 transport to a controller behind a
 * Unix socket (BlueZ's btvirt -s, our BlueZ peer) or a tty / pty (a UART
 * controller, btvirt -S), and a btsnoop writer for captures that
 * Wireshark, tshark and btmon read.
 *
 * Host code: uses POSIX freely.
 */
#ifndef WARD_BLE_POSIX_H
#define WARD_BLE_POSIX_H

#include <stdio.h>

#include "ward/port.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ward_posix_hci {
    int fd;
    ward_hci_transport_t port; /* give &port to the HCI engine */
} ward_posix_hci_t;

/* Connect to an H4 controller listening on a Unix stream socket.
 * WARD_OK, WARD_ERR_IO (no such socket, refused), WARD_ERR_INVALID_ARG. */
ward_err_t ward_posix_hci_open_unix(ward_posix_hci_t *t, const char *path);

/* Open a tty or pty in raw 8N1 mode, no flow control; baud 0 leaves the
 * speed as it is (a pty has none), else one of the usual rates up to
 * 1000000. WARD_OK, WARD_ERR_IO, WARD_ERR_INVALID_ARG (unknown rate). */
ward_err_t ward_posix_hci_open_tty(ward_posix_hci_t *t, const char *path, unsigned baud);

/* Close (safe to call twice). */
void ward_posix_hci_close(ward_posix_hci_t *t);

/* btsnoop version 1, datalink 1002 (H4: each record starts with the H4
 * type byte). All fields big-endian; see docs/ble.md. */
typedef struct ward_btsnoop {
    FILE *f;
    uint64_t records;
} ward_btsnoop_t;

/* Create (truncate) path and write the file header. WARD_OK or WARD_ERR_IO. */
ward_err_t ward_btsnoop_open(ward_btsnoop_t *s, const char *path);

/* One H4 packet, host to controller or back, stamped now; flushed at once
 * (the capture of a killed process ends on a whole record). */
ward_err_t ward_btsnoop_write(ward_btsnoop_t *s, bool to_controller, const uint8_t *h4,
                              size_t len);

/* The same, shaped as the HCI engine's trace callback (ctx: the writer). */
void ward_btsnoop_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len);

/* Flush and close. WARD_OK or WARD_ERR_IO. */
ward_err_t ward_btsnoop_close(ward_btsnoop_t *s);

#ifdef __cplusplus
}
#endif

#endif /* WARD_BLE_POSIX_H */
