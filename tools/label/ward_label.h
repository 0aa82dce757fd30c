/*
 * ward_label: the pairing label of a button-only device (host library).
 *
 * A plug with a button and an LED has no display and no keyboard, so SMP
 * alone can only give it Just Works keys (not MITM-protected). It pairs by
 * LE Secure Connections OOB instead: at the factory its HSM makes a
 * pairing key pair and a random r (ward_hsm_t pair_generate); the label
 * printed beside the unit carries r and the commitment
 * C = f4(PKx, PKx, r, 0), with the device's identity address, as text and
 * as a QR code. The phone reads the label and hands r and C to its SMP
 * (ward_smp_config_t.peer_oob): a device whose public key does not match
 * C (a MITM) is refused with Confirm Value Failed.
 *
 * Text: "WARD1:" then 71 base32 characters (RFC 4648 alphabet, no padding)
 * of 44 bytes: version, address type, address, r, C, CRC-32. Every byte is
 * in docs/ble-label.md, with a worked example that the tests check.
 *
 * Host code: stdio and libqrencode (Debian's libqrencode-dev).
 */
#ifndef WARD_LABEL_H
#define WARD_LABEL_H

#include <stdio.h>

#include "ward/ble_addr.h"
#include "ward/port.h"
#include "ward/smp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_LABEL_PREFIX "WARD1:"
#define WARD_LABEL_VERSION 1u
#define WARD_LABEL_BIN_LEN 44u
#define WARD_LABEL_TEXT_LEN 77u /* 6 + 71 */

typedef struct ward_label {
    ward_ble_addr_t addr; /* the device's identity address */
    ward_smp_oob_t oob;   /* r and C, LSB first */
} ward_label_t;

/* The factory: the label of the device whose HSM holds the pairing key
 * (pair_public, pair_random) and whose identity address is addr.
 * WARD_ERR_INVALID_ARG (addr is not an identity address), WARD_ERR_STATE
 * (no pairing key: pair_generate first), WARD_ERR_UNSUPPORTED (an HSM
 * without pair_*), HSM and crypto errors. */
ward_err_t ward_label_from_hsm(ward_label_t *l, const ward_hsm_t *hsm, const ward_ble_addr_t *addr);

/* The 44 bytes, and the text (NUL-terminated, WARD_LABEL_TEXT_LEN chars). */
void ward_label_pack(uint8_t out[WARD_LABEL_BIN_LEN], const ward_label_t *l);
void ward_label_encode(char text[WARD_LABEL_TEXT_LEN + 1], const ward_label_t *l);

/* Parse a label as typed or scanned: the prefix in any case, base32 in
 * any case; spaces and '-' between characters are ignored. WARD_OK or
 * WARD_ERR_BLE_LABEL (malformed, a wrong checksum, another version, an
 * address that is not an identity address). */
ward_err_t ward_label_parse(ward_label_t *l, const char *text);

/* The label as a QR code (ECC level M, alphanumeric mode) in SVG, with
 * the text under it when caption is true. WARD_OK, WARD_ERR_IO (write
 * failed), WARD_ERR_CRYPTO never; WARD_ERR_NO_SPACE if libqrencode failed. */
ward_err_t ward_label_qr_svg(FILE *f, const char *text, bool caption);

/* The QR code's modules (1 = dark), row by row, width*width bytes; for
 * tests and other renderers. Returns the width, 0 on failure. */
int ward_label_qr_modules(const char *text, unsigned char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* WARD_LABEL_H */
