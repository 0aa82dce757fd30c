/*
 * The OTA agent's footprint on the Cortex-M4 (bench/cortex-m-ota.sh): an
 * application wired as docs/ota.md shows (boot context, the vault on the
 * board's software HSM, the HTTPS fetcher over a net port, the agent with
 * a progress callback), linked with --gc-sections, so what stays is what
 * such an application carries. The contexts are static, as an application
 * keeps them; their sizes are read from the ELF's symbols.
 *
 * Linked for its size, not run: this board has no network, so its net
 * port refuses to connect (an app would hand lwIP's or a modem's sockets
 * here, docs/net.md). The cm-app Mbed TLS has no TLS client, so src/net's
 * tls.c builds to its stubs and no TLS code is linked.
 */
#include "ward/boot.h"
#include "ward/crypto.h"
#include "ward/net.h"
#include "ward/ota.h"
#include "ward/vault.h"
#include "ward_cm.h"
#include "ward_cm_hsm.h"

static ward_boot_ctx_t s_boot;
static ward_vault_t s_vault;
static ward_https_fetch_t s_https;
static ward_ota_t s_ota;

/* What the factory wrote to read-only flash; zeros stand in here. */
static const uint8_t k_ca_der[512];
static const uint8_t k_ota_spki[91];

static ward_err_t no_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms,
                             void **conn)
{
    (void)ctx;
    (void)host;
    (void)port;
    (void)timeout_ms;
    *conn = NULL;
    return WARD_ERR_NET;
}

static ward_err_t no_send(void *ctx, void *conn, const uint8_t *buf, size_t len, size_t *sent)
{
    (void)ctx;
    (void)conn;
    (void)buf;
    (void)len;
    *sent = 0;
    return WARD_ERR_NET;
}

static ward_err_t no_recv(void *ctx, void *conn, uint8_t *buf, size_t cap, size_t *got,
                          uint32_t timeout_ms)
{
    (void)ctx;
    (void)conn;
    (void)buf;
    (void)cap;
    (void)timeout_ms;
    *got = 0;
    return WARD_ERR_NET;
}

static void no_close(void *ctx, void *conn)
{
    (void)ctx;
    (void)conn;
}

static const ward_net_t k_net = {NULL, no_connect, no_send, no_recv, no_close};

/* http-parser keeps its assert()s (they guard its state machine); newlib's
 * __assert_func would pull fprintf, malloc and the stdio system calls. A
 * firmware gives its own, as here: say where, stop. */
void __assert_func(const char *file, int line, const char *func, const char *expr);
void __assert_func(const char *file, int line, const char *func, const char *expr)
{
    (void)func;
    (void)expr;
    ward_cm_puts("assert: ");
    ward_cm_puts(file);
    ward_cm_puts(":");
    ward_cm_put_dec(line);
    ward_cm_puts("\n");
    ward_cm_exit(134);
}

static uint64_t clock_now(void *ctx)
{
    (void)ctx;
    return 0; /* no RTC on this board: expiry is checked against issued-at */
}

static void progress(void *ctx, ward_ota_phase_t phase, uint64_t done, uint64_t total)
{
    (void)ctx;
    if (phase == WARD_OTA_PHASE_DOWNLOAD && total != 0u) {
        ward_cm_put_dec((int32_t)(done * 100u / total));
        ward_cm_puts("%\n");
    }
}

static void report(const char *what, ward_err_t err)
{
    ward_cm_puts(what);
    ward_cm_puts(": ");
    ward_cm_puts(ward_err_name(err));
    ward_cm_puts("\n");
}

int main(void)
{
    ward_boot_config_t bcfg;
    ward_boot_report_t rep;
    bool failed = false;
    ward_image_version_t v;

    const ward_hsm_t *hsm = ward_cm_hsm(); /* also starts PSA */
    ward_cm_boot_config(&bcfg);
    ward_err_t err = ward_crypto_init();
    if (err == WARD_OK) {
        err = ward_boot_init(&s_boot, &bcfg);
    }
    if (err == WARD_OK) {
        err = ward_boot_status(&s_boot, &rep);
    }
    const ward_vault_config_t vcfg = {
        .area = {ward_cm_flash(), WARD_CM_VAULT_OFF, WARD_CM_VAULT_SIZE},
        .hsm = hsm,
        .counter = 0,
        .aead = WARD_VAULT_AEAD_AES256_GCM,
    };
    if (err == WARD_OK) {
        err = ward_vault_mount(&s_vault, &vcfg);
        if (err == WARD_ERR_VAULT_UNFORMATTED) {
            err = ward_vault_format(&s_vault, &vcfg);
        }
    }
    const ward_tls_config_t tls = {.ca = k_ca_der, .ca_len = sizeof k_ca_der};
    if (err == WARD_OK) {
        err = ward_https_fetch_init(&s_https, "https://updates.example.com/fleet", &tls, &k_net);
    }
    const ward_ota_config_t cfg = {
        .boot = &s_boot,
        .otp = ward_cm_otp(),
        .ota_spki = k_ota_spki,
        .ota_spki_len = sizeof k_ota_spki,
        .device_class = "plug-v1",
        .vault = &s_vault,
        .fetch = &s_https.fetch,
        .now = clock_now,
        .progress = progress,
    };
    if (err == WARD_OK) {
        err = ward_ota_init(&s_ota, &cfg);
    }
    if (err == WARD_OK) {
        err = ward_ota_report(&s_ota, &rep, &failed, &v);
    }
    if (err == WARD_OK && failed) {
        ward_cm_puts("the last update was reverted\n");
    }
    if (err == WARD_OK) {
        err = ward_ota_check(&s_ota);
    }
    if (err == WARD_OK) {
        err = ward_ota_apply(&s_ota);
    }
    report("ota", err);
    if (err == WARD_OK) {
        ward_cm_reset(); /* into the trial */
    }
    ward_cm_exit(1);
}
