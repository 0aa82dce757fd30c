/*
 * ward simulator: where a simulated device keeps its cloud certificates.
 *
 * `ward factory provision` writes the unit's certificate as DEVICE/cert.pem
 * (and the CA it pins as DEVICE/ca.pem). ward_sim_certs() is a
 * ward_cloud_certs_t over those files: slot current = cert.pem, slot next =
 * cert-next.pem, PEM, each replaced atomically (temporary file, fsync,
 * rename, fsync of the directory), so a host crash leaves the old file or
 * the new one. (A device keeps them in its vault: ward_cloud_certs_vault.)
 */
#ifndef WARD_SIM_CLOUD_H
#define WARD_SIM_CLOUD_H

#include "ward/cloud.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ward_sim_certs {
    char dir[4096];
    uint32_t stores, erases; /* for tests */
} ward_sim_certs_t;

/* s must outlive certs. WARD_OK, WARD_ERR_INVALID_ARG (a path too long). */
ward_err_t ward_sim_certs(ward_cloud_certs_t *certs, ward_sim_certs_t *s, const char *dir);

#ifdef __cplusplus
}
#endif

#endif /* WARD_SIM_CLOUD_H */
