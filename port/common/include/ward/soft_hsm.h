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
/* Longest label derive accepts. */
#define WARD_SOFT_HSM_LABEL_MAX 127u

/* HKDF-SHA-256 with salt "ward-huk-kdf-v2", the HUK as the secret and
 * info = the type's byte (ward_hsm_key_type_t) followed by the label
 * (docs/vault-format.md, "Keys"), into a volatile, non-exportable 256-bit
 * PSA key usable only for `type`: one label gives every type other bytes.
 * The HUK enters PSA as a derivation secret for this one call and is
 * destroyed before it returns. WARD_ERR_INVALID_ARG for an unknown type or
 * a label longer than WARD_SOFT_HSM_LABEL_MAX, WARD_ERR_CRYPTO if PSA fails. */
ward_err_t ward_soft_hsm_derive(const uint8_t huk[WARD_SOFT_HSM_HUK_LEN],
                                ward_hsm_key_type_t type, const uint8_t *label,
                                size_t label_len, uint32_t *key_id);

/*
 * The BLE OOB pairing key (ward_hsm_t pair_*), for software HSMs that keep
 * its private scalar (32 bytes, big-endian) in their own storage.
 * generate: a fresh key pair (never the SMP debug key) and a random r.
 * public: 0x04||X||Y. ecdh: peer_pub validated in full (PSA import:
 * coordinates below p, on the curve) and refused if its X is our own
 * (WARD_ERR_BLE_PEER_KEY); dhkey = X of d*peer, big-endian, zeroed on
 * failure. WARD_ERR_CRYPTO if PSA fails.
 */
ward_err_t ward_soft_hsm_pair_generate(uint8_t priv[32], uint8_t r[16]);
ward_err_t ward_soft_hsm_pair_public(const uint8_t priv[32], uint8_t pub[65]);
ward_err_t ward_soft_hsm_pair_ecdh(const uint8_t priv[32], const uint8_t peer_pub[65],
                                   uint8_t dhkey[32]);
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
