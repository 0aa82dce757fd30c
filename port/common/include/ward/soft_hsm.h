/*
 * What a software HSM does the same way on every board: the HUK-based key
 * derivation of the ward_hsm_t port (derive_key), through PSA.
 *
 * Used by the simulator (port/posix) and by the mps2-an386 port, which both
 * keep the HUK in memory that stands in for a secure element. A board with
 * a real secure element or a CryptoCell derives inside it instead and does
 * not link this.
 */
#ifndef WARD_SOFT_HSM_H
#define WARD_SOFT_HSM_H

#include "ward/port.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_SOFT_HSM_HUK_LEN 32u

/* HKDF-SHA-256 with salt "ward-huk-kdf-v1", the HUK as the secret and the
 * label as info (docs/vault-format.md), into a volatile, non-exportable
 * 256-bit PSA key usable only for `type`. The HUK enters PSA as a
 * derivation secret for this one call and is destroyed before it returns.
 * WARD_ERR_INVALID_ARG for an unknown type, WARD_ERR_CRYPTO if PSA fails. */
ward_err_t ward_soft_hsm_derive(const uint8_t huk[WARD_SOFT_HSM_HUK_LEN],
                                ward_hsm_key_type_t type, const uint8_t *label,
                                size_t label_len, uint32_t *key_id);

/* Load a P-256 private key held by a software HSM into PSA as a volatile
 * key usable only for ECDSA signing of hashes (PSA_KEY_USAGE_SIGN_HASH,
 * PSA_ALG_ECDSA(PSA_ALG_ANY_HASH)) and not exportable: what the ward_hsm_t
 * id_key / id_next_key calls hand out. The caller (the HSM) keeps the id and
 * destroys it when the key is replaced. WARD_ERR_INVALID_ARG,
 * WARD_ERR_CRYPTO (PSA refused the key). */
ward_err_t ward_soft_hsm_id_key(const uint8_t priv[32], uint32_t *key_id);

#ifdef __cplusplus
}
#endif

#endif /* WARD_SOFT_HSM_H */
