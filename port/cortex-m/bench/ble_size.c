/*
 * The BLE layer's footprint on the Cortex-M4 (bench/cortex-m-ble.sh): a
 * plug's BLE side wired as docs/ble.md shows (ward/ble_plug.h: HCI over an
 * H4 UART, L2CAP, the ATT server with the plug's GATT table and its access
 * policy, the SMP responder, the pairing window, bonds in the vault on the
 * board's software HSM), linked with --gc-sections, so what stays is what
 * such a device carries. The contexts are static, as a device keeps them.
 *
 * Linked for its size, not run: this board has no BLE controller on a
 * UART, and no TRNG for the pairing (a product hands both in here).
 */
#include "ward/ble_plug.h"
#include "ward/vault.h"
#include "ward_cm.h"
#include "ward_cm_hsm.h"

static ward_ble_plug_t s_plug;
static ward_vault_t s_vault;

static ward_err_t uart_send(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return WARD_ERR_IO;
}

static ward_err_t uart_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t timeout_ms)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    (void)timeout_ms;
    *got = 0;
    return WARD_OK;
}

static ward_err_t no_rng(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return WARD_ERR_UNSUPPORTED;
}

static uint64_t now_ms(void *ctx)
{
    (void)ctx;
    return (uint64_t)(0xFFFFFFFFu - ward_cm_timer_read()) / 25000u;
}

int main(void)
{
    static const ward_hci_transport_t uart = {NULL, uart_send, uart_recv};
    static const ward_rng_t rng = {NULL, no_rng};
    static const ward_clock_t clk = {NULL, now_ms};
    const ward_hsm_t *hsm = ward_cm_hsm();
    if (hsm == NULL) {
        ward_cm_exit(1);
    }
    ward_cm_timer_start();
    const ward_vault_config_t vc = {
        .area = {ward_cm_flash(), WARD_CM_VAULT_OFF, WARD_CM_VAULT_SIZE}, .hsm = hsm, .counter = 0};
    if (ward_vault_mount(&s_vault, &vc) != WARD_OK) {
        ward_cm_exit(1);
    }
    const ward_ble_plug_config_t cfg = {.transport = &uart,
                                        .vault = &s_vault,
                                        .hsm = hsm,
                                        .rng = &rng,
                                        .clock = &clk,
                                        .identity = {WARD_BLE_ADDR_RANDOM,
                                                     {0x11, 0x22, 0x33, 0x44, 0x55, 0xD6}},
                                        .io_cap = WARD_SMP_IO_NONE,
                                        .name = "ward plug"};
    if (ward_ble_plug_init(&s_plug, &cfg) != WARD_OK) {
        ward_cm_exit(1);
    }
    for (;;) {
        if (ward_ble_plug_poll(&s_plug, 10) != WARD_OK) {
            ward_cm_exit(1);
        }
        if (ward_cm_timer_read() == 0u) { /* the button */
            (void)ward_ble_plug_button(&s_plug);
        }
    }
}
