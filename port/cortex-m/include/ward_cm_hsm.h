/*
 * The HSM port of the Cortex-M boards with a vault (HSM_ADDR in the board
 * file; mps2-an386): a software stand-in for a secure element.
 *
 * The board has no secure element, no eFuses and no TRNG. The HSM's state
 * lives at WARD_CM_HSM_ADDR (mps2-an386: the FPGA block RAM), apart from the
 * flash and from every program's RAM, as a secure element keeps its own
 * memory; the factory loads it (mkblobs.py hsm). Key
 * derivation runs in this driver (ward/soft_hsm.h) and derived keys leave
 * it only as PSA key ids. docs/cortex-m.md says what a real part does.
 *
 * Block at WARD_CM_HSM_ADDR:
 *   0  4  magic "WHSM" (LE 0x4D534857); anything else: no HSM provisioned
 *   4  4  flags (LE): bit 0 = HUK present
 *   8 32  HUK
 *  40  4  counter 0 (LE)
 *  44  4  counter 1 (LE)
 * The counters are kept here and only ever raised (WARD_HSM_COUNTER_MAX).
 *
 * Not available without a TRNG: huk_generate (WARD_ERR_UNSUPPORTED unless a
 * HUK is present, then WARD_ERR_EXISTS) and the identity key (id_*, also
 * id_key and the rotation calls id_next_*: WARD_ERR_UNSUPPORTED).
 *
 * Built against the cm-app Mbed TLS (config/mbedtls_cm_app.h).
 */
#ifndef WARD_CM_HSM_H
#define WARD_CM_HSM_H

#include "ward/port.h"
#include "ward_board.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_CM_HSM_ADDR WARD_BOARD_HSM_ADDR
#define WARD_CM_HSM_MAGIC 0x4D534857u
#define WARD_CM_HSM_BLOCK_LEN 48u

/* Initialise PSA and lend Mbed TLS the derivation pool; then the port.
 * NULL if psa_crypto_init fails. */
const ward_hsm_t *ward_cm_hsm(void);

/* Allocation figures, to show that only a derivation allocates:
 * stray = calls to Mbed TLS's calloc outside a derivation (all refused),
 * peak  = most pool bytes one derivation used. */
typedef struct ward_cm_hsm_stats {
    uint32_t stray_allocs;
    uint32_t pool_peak;
    uint32_t pool_size;
    uint32_t derives;
} ward_cm_hsm_stats_t;
void ward_cm_hsm_stats(ward_cm_hsm_stats_t *st);

#ifdef __cplusplus
}
#endif

#endif /* WARD_CM_HSM_H */
