/* HUK-based key derivation for software HSMs (ward/soft_hsm.h). */
#include <psa/crypto.h>

#include "ward/soft_hsm.h"

/* HKDF salt: fixes the derivation to this scheme and version. */
static const uint8_t k_salt[] = "ward-huk-kdf-v1";

ward_err_t ward_soft_hsm_derive(const uint8_t huk[WARD_SOFT_HSM_HUK_LEN],
                                ward_hsm_key_type_t type, const uint8_t *label,
                                size_t label_len, uint32_t *key_id)
{
    psa_key_attributes_t in = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_attributes_t out = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
    psa_key_id_t secret = PSA_KEY_ID_NULL;
    psa_key_id_t derived = PSA_KEY_ID_NULL;
    ward_err_t err = WARD_ERR_CRYPTO;

    if (huk == NULL || key_id == NULL || (label == NULL && label_len > 0u)) {
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

    psa_set_key_type(&in, PSA_KEY_TYPE_DERIVE);
    psa_set_key_usage_flags(&in, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&in, PSA_ALG_HKDF(PSA_ALG_SHA_256));
    if (psa_import_key(&in, huk, WARD_SOFT_HSM_HUK_LEN, &secret) == PSA_SUCCESS &&
        psa_key_derivation_setup(&op, PSA_ALG_HKDF(PSA_ALG_SHA_256)) == PSA_SUCCESS &&
        psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT, k_salt,
                                       sizeof k_salt - 1u) == PSA_SUCCESS &&
        psa_key_derivation_input_key(&op, PSA_KEY_DERIVATION_INPUT_SECRET, secret) ==
            PSA_SUCCESS &&
        psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO, label, label_len) ==
            PSA_SUCCESS &&
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
