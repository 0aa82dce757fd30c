/*
 * ward_hostio: small host-side helpers the CLI and the host libraries share
 * (files, loopback ports). Host code only: allocates, uses the C library
 * and sockets.
 */
#ifndef WARD_TOOLS_HOSTIO_H
#define WARD_TOOLS_HOSTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A whole file into *data (malloc'd, *len bytes, followed by a NUL that
 * *len does not count: PEM and text parsers want one). A file longer than
 * max bytes is refused (WARD_ERR_NO_SPACE) without reading it all, so that
 * what an attacker controls cannot make the tool take all memory.
 * WARD_OK, WARD_ERR_NOT_FOUND (no such file), WARD_ERR_IO, WARD_ERR_NO_SPACE.
 */
ward_err_t ward_host_read_file(const char *path, size_t max, uint8_t **data, size_t *len);

/* A TCP port free on 127.0.0.1 now (the kernel's pick), 0 if none. */
uint16_t ward_host_free_port(void);

/* Does something accept TCP connections on 127.0.0.1:port? */
bool ward_host_listening(uint16_t port);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_HOSTIO_H */
