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

/* Called for each file ward_host_scan_files reads: rel is its path below
 * the folder ("flash.bin", "backup/keys.bin"); false stops the scan. */
typedef bool (*ward_host_file_fn)(void *ctx, const char *rel, const uint8_t *data, size_t len);

/*
 * Every regular file below dir, down to `depth` levels of subfolders
 * (symbolic links neither followed nor read), each read whole (at most max
 * bytes) and handed to fn, then wiped. skip (may be NULL) leaves out the
 * top-level names it returns true for (a secure element's own storage).
 * *scanned: how many files fn saw; a file or folder that cannot be read
 * (or is larger than max) is named in unreadable (the first one, "" if none)
 * and does not stop the scan. WARD_OK, or WARD_ERR_IO when dir cannot be
 * listed.
 */
ward_err_t ward_host_scan_files(const char *dir, unsigned depth, size_t max,
                                bool (*skip)(void *ctx, const char *name), ward_host_file_fn fn,
                                void *ctx, unsigned *scanned, char *unreadable, size_t cap);

/*
 * Copy the regular files and folders below `from` into `to` (made 0700 if
 * missing), down to `depth` levels of subfolders; links and special files
 * are left out. Each file keeps its permission bits (with `writable`, its
 * owner may write it too: a copy to be attacked); its contents are wiped
 * from memory after the copy (a unit's files hold keys). WARD_OK,
 * WARD_ERR_NOT_FOUND (no `from`), WARD_ERR_IO, WARD_ERR_NO_SPACE.
 */
ward_err_t ward_host_copy_tree(const char *from, const char *to, unsigned depth, bool writable);

/* Remove path and everything below it (links removed, not followed). */
void ward_host_remove_tree(const char *path);

/* A TCP port free on 127.0.0.1 now (the kernel's pick), 0 if none. */
uint16_t ward_host_free_port(void);

/* Does something accept TCP connections on 127.0.0.1:port? */
bool ward_host_listening(uint16_t port);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_HOSTIO_H */
