/* HUK-based key derivation for software HSMs (ward/soft_hsm.h). */
#include <string.h>

#include <psa/crypto.h>

#include "ward/soft_hsm.h"

/* HKDF salt: fixes the derivation to this scheme and version. v2: the key
 * type is part of the info (v1 used the label alone, so one label gave the
 * same bytes to an HMAC key and to an AEAD key). */
static const uint8_t k_salt[] = "ward-huk-kdf-v2";

ward_err_t ward_soft_hsm_derive(const uint8_t huk[WARD_SOFT_HSM_HUK_LEN],
                                ward_hsm_key_type_t type, const uint8_t *label,
                                size_t label_len, uint32_t *key_id)
{
    psa_key_attributes_t in = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_attributes_t out = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
    psa_key_id_t secret = PSA_KEY_ID_NULL;
    psa_key_id_t derived = PSA_KEY_ID_NULL;
    uint8_t info[1u + WARD_SOFT_HSM_LABEL_MAX];
    ward_err_t err = WARD_ERR_CRYPTO;

    if (huk == NULL || key_id == NULL || (label == NULL && label_len > 0u) ||
        label_len > WARD_SOFT_HSM_LABEL_MAX) {
        return WARD_ERR_INVALID_ARG;
    }
    *key_id = 0;
    switch (type) {
    case WARD_HSM_KEY_AES256_GCM:
        psa_set_key_type(&out, PSA_KEY_TYPE_AES);
        psa_set_key_algorithm(&out, PSA_ALG_GCM);
        psa_set_key_usage_flags(&out, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
        break;
    case WARD_HSM_KEY_CHACHA20_POLY1305:
        psa_set_key_type(&out, PSA_KEY_TYPE_CHACHA20);
        psa_set_key_algorithm(&out, PSA_ALG_CHACHA20_POLY1305);
        psa_set_key_usage_flags(&out, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
        break;
    case WARD_HSM_KEY_HMAC_SHA256:
        psa_set_key_type(&out, PSA_KEY_TYPE_HMAC);
        psa_set_key_algorithm(&out, PSA_ALG_HMAC(PSA_ALG_SHA_256));
        psa_set_key_usage_flags(&out, PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE);
        break;
    default:
        return WARD_ERR_INVALID_ARG;
    }
    psa_set_key_bits(&out, 256);
    /* info = type || label: keys of different types never share bytes. */
    info[0] = (uint8_t)type;
    if (label_len > 0u) {
        memcpy(info + 1, label, label_len);
    }

    psa_set_key_type(&in, PSA_KEY_TYPE_DERIVE);
    psa_set_key_usage_flags(&in, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&in, PSA_ALG_HKDF(PSA_ALG_SHA_256));
    if (psa_import_key(&in, huk, WARD_SOFT_HSM_HUK_LEN, &secret) == PSA_SUCCESS &&
        psa_key_derivation_setup(&op, PSA_ALG_HKDF(PSA_ALG_SHA_256)) == PSA_SUCCESS &&
        psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT, k_salt,
                                       sizeof k_salt - 1u) == PSA_SUCCESS &&
        psa_key_derivation_input_key(&op, PSA_KEY_DERIVATION_INPUT_SECRET, secret) ==
            PSA_SUCCESS &&
        psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO, info,
                                       1u + label_len) == PSA_SUCCESS &&
        psa_key_derivation_output_key(&out, &op, &derived) == PSA_SUCCESS) {
        *key_id = derived;
        err = WARD_OK;
    }
    (void)psa_key_derivation_abort(&op);
    if (secret != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(secret);
    }
    psa_reset_key_attributes(&in);
    psa_reset_key_attributes(&out);
    return err;
}

/* ---- BLE OOB pairing key --------------------------------------------------- */
/* (Its includes are here, not at the top, so this section stays an append.) */
#include <string.h>

#include "ward/util.h"

/* The SMP debug private key (Core Spec Vol 3 Part H 2.3.5.6.1): public
 * knowledge, so never a pairing key. */
static const uint8_t k_debug_priv[32] = {
    0x3f, 0x49, 0xf6, 0xd4, 0xa3, 0xc5, 0x5f, 0x38, 0x74, 0xc9, 0xb3, 0xe3, 0xd2, 0x10, 0x3f, 0x50,
    0x4a, 0xff, 0x60, 0x7b, 0xeb, 0x40, 0xb7, 0x99, 0x58, 0x99, 0xb8, 0xa6, 0xcd, 0x3c, 0x1a, 0xbd};

static ward_err_t pair_import(const uint8_t priv[32], psa_key_usage_t usage, psa_key_id_t *id)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, usage);
    psa_set_key_algorithm(&a, PSA_ALG_ECDH);
    psa_status_t st = psa_import_key(&a, priv, 32, id);
    psa_reset_key_attributes(&a);
    return st == PSA_SUCCESS ? WARD_OK : WARD_ERR_CRYPTO;
}

ward_err_t ward_soft_hsm_pair_generate(uint8_t priv[32], uint8_t r[16])
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    ward_err_t err = WARD_ERR_CRYPTO;
    if (priv == NULL || r == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    /* Exportable only so the software HSM can keep it in its own storage. */
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_EXPORT);
    for (int tries = 0; tries < 4 && err != WARD_OK; tries++) {
        psa_key_id_t key = PSA_KEY_ID_NULL;
        size_t n = 0;
        if (psa_generate_key(&a, &key) == PSA_SUCCESS &&
            psa_export_key(key, priv, 32, &n) == PSA_SUCCESS && n == 32u &&
            !ward_ct_equal(priv, k_debug_priv, 32) &&
            psa_generate_random(r, 16) == PSA_SUCCESS) {
            err = WARD_OK;
        }
        if (key != PSA_KEY_ID_NULL) {
            (void)psa_destroy_key(key);
        }
    }
    psa_reset_key_attributes(&a);
    if (err != WARD_OK) {
        ward_wipe(priv, 32);
        ward_wipe(r, 16);
    }
    return err;
}

ward_err_t ward_soft_hsm_pair_public(const uint8_t priv[32], uint8_t pub[65])
{
    psa_key_id_t key = PSA_KEY_ID_NULL;
    size_t n = 0;
    if (priv == NULL || pub == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = pair_import(priv, 0, &key);
    if (err == WARD_OK &&
        (psa_export_public_key(key, pub, 65, &n) != PSA_SUCCESS || n != 65u)) {
        err = WARD_ERR_CRYPTO;
    }
    if (key != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(key);
    }
    return err;
}

ward_err_t ward_soft_hsm_pair_ecdh(const uint8_t priv[32], const uint8_t peer_pub[65],
                                   uint8_t dhkey[32])
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t peer = PSA_KEY_ID_NULL;
    psa_key_id_t key = PSA_KEY_ID_NULL;
    uint8_t own[65];
    size_t n = 0;
    if (priv == NULL || peer_pub == NULL || dhkey == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(dhkey, 0, 32);
    /* Validate the peer's point on its own first: PSA's import checks
     * that both coordinates are below p and the point is on the curve. */
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&a, PSA_ALG_ECDH);
    psa_status_t st = psa_import_key(&a, peer_pub, 65, &peer);
    psa_reset_key_attributes(&a);
    if (peer != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(peer);
    }
    if (st != PSA_SUCCESS) {
        return st == PSA_ERROR_INVALID_ARGUMENT ? WARD_ERR_BLE_PEER_KEY : WARD_ERR_CRYPTO;
    }
    ward_err_t err = ward_soft_hsm_pair_public(priv, own);
    if (err == WARD_OK && ward_ct_equal(own + 1, peer_pub + 1, 32)) {
        err = WARD_ERR_BLE_PEER_KEY; /* our own key reflected */
    }
    if (err == WARD_OK) {
        err = pair_import(priv, PSA_KEY_USAGE_DERIVE, &key);
    }
    if (err == WARD_OK) {
        st = psa_raw_key_agreement(PSA_ALG_ECDH, key, peer_pub, 65, dhkey, 32, &n);
        if (st != PSA_SUCCESS || n != 32u) {
            err = st == PSA_ERROR_INVALID_ARGUMENT ? WARD_ERR_BLE_PEER_KEY : WARD_ERR_CRYPTO;
            memset(dhkey, 0, 32);
        }
    }
    if (key != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(key);
    }
    return err;
}

/* ---- the identity key as a PSA key id (ward_hsm_t id_key) ------------------- */

ward_err_t ward_soft_hsm_id_key(const uint8_t priv[32], uint32_t *key_id)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t key = PSA_KEY_ID_NULL;
    if (priv == NULL || key_id == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *key_id = 0;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    /* Signing only: no export, no key agreement, no message signing. */
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_ANY_HASH));
    const psa_status_t st = psa_import_key(&a, priv, 32, &key);
    psa_reset_key_attributes(&a);
    if (st != PSA_SUCCESS) {
        return WARD_ERR_CRYPTO;
    }
    *key_id = key;
    return WARD_OK;
}
