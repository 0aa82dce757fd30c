/* ward CLI internals: the OTA agent on a simulated device over HTTPS
 * (ota_session.h). Wiring only: every decision is src/ota's or src/net's. */
#define _POSIX_C_SOURCE 200809L
#include "ota_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static uint64_t device_time(void *ctx)
{
    const ota_session_t *s = ctx;
    if (s->have_time) {
        return s->time;
    }
    const time_t t = time(NULL);
    return t > 0 ? (uint64_t)t : 0u;
}

/* Certificates are checked against the same device clock as manifests. */
static int64_t tls_time(void *ctx)
{
    const uint64_t t = device_time(ctx);
    return t > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)t;
}

static ward_err_t offline_get(void *ctx, const char *path, uint64_t from, uint64_t max,
                              uint64_t *total, ward_fetch_sink_fn sink, void *sink_ctx)
{
    (void)ctx;
    (void)path;
    (void)from;
    (void)max;
    (void)sink;
    (void)sink_ctx;
    if (total != NULL) {
        *total = UINT64_MAX;
    }
    return WARD_ERR_STATE; /* a session without a server fetches nothing */
}

static ward_err_t load_ca(ota_session_t *s, const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    ward_err_t err = ward_cli_read_file(path, &data, &len);
    if (err != WARD_OK) {
        snprintf(s->why, sizeof s->why, "%s: cannot read the CA certificate", path);
        return err;
    }
    /* PEM goes to Mbed TLS with its NUL (the length counts it). */
    if (len >= 10u && memcmp(data, "-----BEGIN", 10) == 0) {
        uint8_t *pem = realloc(data, len + 1u);
        if (pem == NULL) {
            free(data);
            return WARD_ERR_NO_SPACE;
        }
        pem[len] = 0;
        data = pem;
        len++;
    }
    s->ca = data;
    s->ca_len = len;
    return WARD_OK;
}

static ward_err_t open_vault(ota_session_t *s)
{
    ward_vault_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.area = s->dev.vault;
    cfg.hsm = &s->dev.hsm.port;
    cfg.counter = OTA_SESSION_VAULT_COUNTER;
    cfg.aead = WARD_VAULT_AEAD_AES256_GCM;
    if (!s->dev.hsm.has_huk) {
        snprintf(s->why, sizeof s->why,
                 "%s has no device-unique key yet, so no vault for the update state: "
                 "provision it (ward device provision)", s->dev.dir);
        return WARD_ERR_STATE;
    }
    ward_err_t err = ward_vault_mount(&s->vault, &cfg);
    if (err == WARD_ERR_VAULT_UNFORMATTED) {
        err = ward_vault_format(&s->vault, &cfg);
        s->vault_created = err == WARD_OK;
    }
    if (err != WARD_OK) {
        ward_vault_unmount(&s->vault);
        snprintf(s->why, sizeof s->why, "%s: cannot mount the vault that keeps the update state",
                 s->dev.dir);
        return err;
    }
    s->mounted = true;
    return WARD_OK;
}

ward_err_t ota_session_open(ota_session_t *s, const ota_session_opts_t *o)
{
    memset(s, 0, sizeof *s);
    s->have_time = o->have_time;
    s->time = o->time;
    ward_sim_net_init(&s->net);
    ward_err_t err = ward_sim_device_open(&s->dev, o->dir);
    if (err != WARD_OK) {
        snprintf(s->why, sizeof s->why, "%s: %s", o->dir,
                 err == WARD_ERR_NOT_FOUND ? "no device here (ward device create DIR)"
                                           : "cannot open the device");
        return err;
    }
    s->dev_open = true;
    if (!s->dev.has_ota_spki || s->dev.device_class[0] == '\0') {
        snprintf(s->why, sizeof s->why,
                 "%s has no OTA key: provision one (ward device provision DIR --ota-key "
                 "OTA.pem --device-class CLASS)", o->dir);
        ota_session_close(s);
        return WARD_ERR_OTA_KEY;
    }
    ward_boot_config_t bcfg;
    ward_sim_device_boot_config(&s->dev, &bcfg);
    err = ward_boot_init(&s->boot, &bcfg);
    if (err == WARD_OK) {
        err = ward_boot_status(&s->boot, &s->rep);
    }
    if (err != WARD_OK) {
        snprintf(s->why, sizeof s->why, "%s: reading the boot state", o->dir);
        ota_session_close(s);
        return err;
    }
    if (o->server != NULL) {
        /* The URL first: an http:// server is refused before anything else. */
        s->tls.allow_tls12 = o->allow_tls12;
        s->tls.now = tls_time;
        s->tls.now_ctx = s;
        err = ward_https_fetch_init(&s->https, o->server, &s->tls, &s->net.port);
        if (err != WARD_OK) {
            snprintf(s->why, sizeof s->why, "%s: not an https:// URL ward accepts "
                     "(no connection was made)", o->server);
            ota_session_close(s);
            return err;
        }
        err = load_ca(s, o->ca_path);
        if (err != WARD_OK) {
            ota_session_close(s);
            return err;
        }
        s->tls.ca = s->ca;
        s->tls.ca_len = s->ca_len;
    } else {
        s->offline.get = offline_get;
    }
    err = open_vault(s);
    if (err != WARD_OK) {
        ota_session_close(s);
        return err;
    }
    const ward_ota_config_t cfg = {
        .boot = &s->boot,
        .otp = &s->dev.otp.port,
        .ota_spki = s->dev.ota_spki,
        .ota_spki_len = sizeof s->dev.ota_spki,
        .device_class = s->dev.device_class,
        .vault = &s->vault,
        .fetch = o->server != NULL ? &s->https.fetch : &s->offline,
        .now = device_time,
        .now_ctx = s,
        .progress = o->progress,
        .progress_ctx = o->progress_ctx,
        .max_retries = 0, /* the agent's default */
    };
    err = ward_ota_init(&s->ota, &cfg);
    if (err != WARD_OK) {
        snprintf(s->why, sizeof s->why, "%s: the OTA agent refuses its configuration (class '%s')",
                 o->dir, s->dev.device_class);
        ota_session_close(s);
    }
    return err;
}

void ota_session_close(ota_session_t *s)
{
    ward_sim_net_close_all(&s->net);
    if (s->mounted) {
        ward_vault_unmount(&s->vault);
        s->mounted = false;
    }
    if (s->dev_open) {
        ward_sim_device_close(&s->dev);
        s->dev_open = false;
    }
    free(s->ca);
    s->ca = NULL;
}

ward_err_t ota_session_report(ota_session_t *s, bool *pending, bool *failed,
                              ward_image_version_t *failed_version)
{
    bool req = false, permanent = false;
    *pending = false;
    *failed = false;
    memset(failed_version, 0, sizeof *failed_version);
    ward_err_t err = ward_boot_request_pending(&s->boot, &req, &permanent);
    if (err == WARD_ERR_CORRUPT) {
        req = true; /* a torn request: the next boot clears it, then we report */
        err = WARD_OK;
    }
    if (err != WARD_OK) {
        return err;
    }
    if (req || s->rep.resumed) {
        *pending = true; /* the bootloader has not run since: nothing to say yet */
        return WARD_OK;
    }
    return ward_ota_report(&s->ota, &s->rep, failed, failed_version);
}

uint32_t ota_session_nblocks(const ota_session_t *s)
{
    const ward_ota_manifest_t *m = &s->ota.manifest;
    if (m->block_size == 0u) {
        return 0;
    }
    return (m->image_size + m->block_size - 1u) / m->block_size;
}
