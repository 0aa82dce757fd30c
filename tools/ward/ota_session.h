/*
 * ward CLI internals: the OTA agent (src/ota) on a simulated device, over
 * HTTPS (src/net on the POSIX net port), as the device's application runs
 * it. Shared by `ward ota` (cmd_ota.c) and `ward demo` (demo_ota.c); all
 * decisions are the agent's and the fetcher's.
 *
 * A session is what the app has after a reset: the boot context, the
 * vault (created if the device has none yet, as the app does at its first
 * start), the OTA key and class from the device's read-only flash, an
 * HTTPS fetcher for the server's base URL with the pinned CA, and the
 * agent. Nothing is written to the staging slot by opening it.
 */
#ifndef WARD_TOOLS_OTA_SESSION_H
#define WARD_TOOLS_OTA_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "ward/boot.h"
#include "ward/net.h"
#include "ward/ota.h"
#include "ward/sim.h"
#include "ward/vault.h"

/* The HSM counter the vault owns on simulated devices (as `ward vault`). */
#define OTA_SESSION_VAULT_COUNTER 0u

typedef struct ota_session_opts {
    const char *dir;     /* the simulated device */
    const char *server;  /* the repository's base URL; NULL: no server (status) */
    const char *ca_path; /* the pinned CA, PEM or DER; needed with server */
    bool allow_tls12;
    bool have_time; /* the device clock reads `time`; else the host clock */
    uint64_t time;
    ward_ota_progress_fn progress; /* may be NULL */
    void *progress_ctx;
} ota_session_opts_t;

typedef struct ota_session {
    ward_sim_device_t dev;
    bool dev_open;
    ward_boot_ctx_t boot;
    ward_boot_report_t rep; /* the boot state at open (ward_boot_status) */
    ward_vault_t vault;
    bool mounted;
    bool vault_created; /* the device had no vault: one was made */
    ward_sim_net_t net;
    ward_tls_config_t tls;
    uint8_t *ca;
    size_t ca_len;
    ward_https_fetch_t https;
    ward_fetch_t offline; /* for sessions without a server */
    ward_ota_t ota;
    bool have_time;
    uint64_t time;
    char why[512]; /* what an open failure was about */
} ota_session_t;

/* Open (s is large: allocate it). On failure s->why says what failed and
 * everything is closed again. WARD_OK, WARD_ERR_NOT_FOUND (no device),
 * WARD_ERR_OTA_KEY (no OTA key or class provisioned), WARD_ERR_OTA_URL
 * (refused before any connection), WARD_ERR_IO (the CA file), a boot or
 * vault error (WARD_ERR_STATE: no device-unique key yet). */
ward_err_t ota_session_open(ota_session_t *s, const ota_session_opts_t *o);
void ota_session_close(ota_session_t *s);

/* What the app does at start-up: ward_ota_report, unless the bootloader
 * has not run since the last apply (an install request still pending, or
 * a swap to finish): then *pending = true and nothing is asked. The report
 * is given once: *failed with the version the bootloader reverted or
 * refused. */
ward_err_t ota_session_report(ota_session_t *s, bool *pending, bool *failed,
                              ward_image_version_t *failed_version);

/* Blocks of the offered update (after a check that got a manifest). */
uint32_t ota_session_nblocks(const ota_session_t *s);

#endif /* WARD_TOOLS_OTA_SESSION_H */
