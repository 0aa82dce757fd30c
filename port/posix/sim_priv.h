/* ward simulator internals shared by the port/posix files. */
#ifndef WARD_SIM_PRIV_H
#define WARD_SIM_PRIV_H

#include "ward/sim.h"

/* Write a whole file atomically (temp file, fsync, rename). */
ward_err_t ward_sim_file_write(const char *path, const void *data, size_t len);
/* Read exactly len bytes of a file. WARD_ERR_NOT_FOUND, WARD_ERR_CORRUPT
 * (wrong size) or WARD_ERR_IO. */
ward_err_t ward_sim_file_read(const char *path, void *data, size_t len);

#endif
