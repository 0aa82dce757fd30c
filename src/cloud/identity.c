/*
 * ward cloud: the device identity (certificate + HSM key) and its rotation.
 *
 * A rotation changes two things that live in two places: the HSM's key and
 * the stored certificate. Neither store can change both at once, so the
 * order is chosen such that every state a power cut can leave is one that
 * ward_cloud_identity_open() recognises and completes:
 *
 *   step                       after a cut here, open() finds      and does
 *   1 HSM: next key generated  cert(current) fits current key      nothing (a new CSR next time)
 *   2 store NEXT = new cert    NEXT fits the HSM's next key        3, 4, 5
 *   3 HSM: commit next key     NEXT fits the current key           4, 5
 *   4 store CURRENT = new      CURRENT fits the current key        5
 *   5 erase NEXT               done
 *
 * The HSM's commit is the one atomic switch; a certificate is only ever
 * stored after it was checked, so what open() completes is always a
 * certificate the device had accepted.
 */
#include <string.h>

#include "cloud_priv.h"
#include "ward/crypto.h"
#include "ward/util.h"

static ward_err_t key_pub(uint32_t key_id, uint8_t pub[WARD_P256_PUB_LEN])
{
    size_t n = 0;
    if (psa_export_public_key((psa_key_id_t)key_id, pub, WARD_P256_PUB_LEN, &n) != PSA_SUCCESS ||
        n != WARD_P256_PUB_LEN) {
        return WARD_ERR_CRYPTO;
    }
    return WARD_OK;
}

/* Does the stored certificate in buf fit pub? (parsed into info) */
static bool fits(ward_cloud_cert_info_t *info, const uint8_t *der, size_t len,
                 const uint8_t pub[WARD_P256_PUB_LEN])
{
    return ward_cloud_cert_parse(info, der, len) == WARD_OK &&
           ward_ct_equal(info->pub, pub, WARD_P256_PUB_LEN);
}

static ward_err_t adopt(ward_cloud_identity_t *ident, const ward_cloud_cert_info_t *info,
                        const uint8_t *der, size_t len, uint32_t key_id)
{
    if (der == NULL || info->cn == NULL || info->serial == NULL || info->serial_len > sizeof ident->serial ||
        ward_mqtt_device_id_check((const char *)info->cn, info->cn_len) != WARD_OK ||
        len > sizeof ident->cert) {
        return WARD_ERR_CLOUD_IDENTITY;
    }
    /* info points into der, which may be ident->cert itself. */
    char id[sizeof ident->id];
    uint8_t serial[sizeof ident->serial];
    memcpy(id, info->cn, info->cn_len);
    id[info->cn_len] = '\0';
    memcpy(serial, info->serial, info->serial_len);
    ident->id_len = info->cn_len;
    ident->serial_len = (uint8_t)info->serial_len;
    ident->not_before = info->not_before;
    ident->not_after = info->not_after;
    memmove(ident->cert, der, len);
    ident->cert_len = len;
    memcpy(ident->id, id, sizeof id);
    memcpy(ident->serial, serial, sizeof serial);
    ident->key_id = key_id;
    ident->open = true;
    return WARD_OK;
}

ward_err_t ward_cloud_identity_open(ward_cloud_identity_t *ident, const ward_hsm_t *hsm,
                                    const ward_cloud_certs_t *certs)
{
    if (ident == NULL || hsm == NULL || certs == NULL || hsm->id_key == NULL ||
        hsm->id_next_key == NULL || hsm->id_next_commit == NULL || certs->load == NULL ||
        certs->store == NULL || certs->erase == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(ident, 0, sizeof *ident);
    ident->hsm = hsm;
    ident->certs = certs;
    uint32_t cur = 0;
    uint8_t pub[WARD_P256_PUB_LEN];
    ward_cloud_cert_info_t info;
    ward_err_t err = hsm->id_key(hsm->ctx, &cur);
    if (err == WARD_ERR_STATE) {
        return WARD_ERR_CLOUD_IDENTITY; /* never provisioned */
    }
    if (err != WARD_OK || (err = key_pub(cur, pub)) != WARD_OK) {
        return err;
    }
    /* A certificate waiting in the NEXT slot: a rotation was cut short. */
    size_t len = 0;
    err = certs->load(certs->ctx, WARD_CLOUD_SLOT_NEXT, ident->cert, sizeof ident->cert, &len);
    if (err == WARD_OK) {
        bool done = false;
        if (fits(&info, ident->cert, len, pub)) {
            done = true; /* cut after the commit (step 3) */
        } else {
            uint32_t next = 0;
            uint8_t next_pub[WARD_P256_PUB_LEN];
            err = hsm->id_next_key(hsm->ctx, &next);
            if (err == WARD_OK && (err = key_pub(next, next_pub)) == WARD_OK &&
                fits(&info, ident->cert, len, next_pub)) {
                /* cut between storing it and the commit (step 2) */
                err = hsm->id_next_commit(hsm->ctx);
                if (err != WARD_OK) {
                    return err;
                }
                err = hsm->id_key(hsm->ctx, &cur);
                if (err != WARD_OK) {
                    return err;
                }
                memcpy(pub, next_pub, sizeof pub);
                done = true;
            } else if (err != WARD_OK && err != WARD_ERR_NOT_FOUND) {
                return err;
            }
        }
        if (done) {
            err = certs->store(certs->ctx, WARD_CLOUD_SLOT_CURRENT, ident->cert, len);
            if (err != WARD_OK) {
                return err;
            }
        }
        err = certs->erase(certs->ctx, WARD_CLOUD_SLOT_NEXT);
        if (err != WARD_OK) {
            return err;
        }
    } else if (err != WARD_ERR_NOT_FOUND) {
        return err;
    }
    err = certs->load(certs->ctx, WARD_CLOUD_SLOT_CURRENT, ident->cert, sizeof ident->cert, &len);
    if (err == WARD_ERR_NOT_FOUND) {
        return WARD_ERR_CLOUD_IDENTITY;
    }
    if (err != WARD_OK) {
        return err;
    }
    if (!fits(&info, ident->cert, len, pub)) {
        ident->cert_len = 0;
        return WARD_ERR_CLOUD_IDENTITY; /* a certificate for another key */
    }
    return adopt(ident, &info, ident->cert, len, cur);
}

/* The checks of a certificate offered for `pub` (docs/cloud.md), as a
 * hardened verdict: WARD_FIH_SUCCESS only when every check passed. */
static ward_fih_t check(const ward_cloud_cert_info_t *c, const uint8_t *ca_der, size_t ca_len,
                        const char *id, size_t id_len, const uint8_t pub[WARD_P256_PUB_LEN],
                        const uint8_t *old_serial, size_t old_serial_len, int64_t now,
                        ward_cloud_cert_reason_t *reason)
{
    ward_cloud_cert_info_t ca;
    *reason = WARD_CLOUD_CERT_ISSUER;
    if (ca_der != NULL) {
        if (ward_cloud_cert_parse(&ca, ca_der, ca_len) != WARD_OK || c->issuer_len != ca.subject_len ||
            memcmp(c->issuer, ca.subject, ca.subject_len) != 0) {
            return WARD_FIH_FAILURE;
        }
        *reason = WARD_CLOUD_CERT_SIGNATURE;
        if (ward_cloud_verify(ca.pub, c->tbs, c->tbs_len, c->sig) != WARD_OK) {
            return WARD_FIH_FAILURE;
        }
    }
    *reason = WARD_CLOUD_CERT_NAME;
    if (c->cn == NULL || c->cn_len != id_len || memcmp(c->cn, id, id_len) != 0) {
        return WARD_FIH_FAILURE;
    }
    *reason = WARD_CLOUD_CERT_KEY;
    if (!ward_ct_equal(c->pub, pub, WARD_P256_PUB_LEN)) {
        return WARD_FIH_FAILURE;
    }
    *reason = WARD_CLOUD_CERT_VALIDITY;
    if (c->not_after < c->not_before ||
        c->not_after - c->not_before > (int64_t)WARD_CLOUD_CERT_DAYS_MAX * 86400 ||
        (now >= 0 && (now < c->not_before || now > c->not_after))) {
        return WARD_FIH_FAILURE;
    }
    *reason = WARD_CLOUD_CERT_SERIAL;
    if (old_serial != NULL && c->serial_len == old_serial_len &&
        memcmp(c->serial, old_serial, old_serial_len) == 0) {
        return WARD_FIH_FAILURE;
    }
    *reason = WARD_CLOUD_CERT_USAGE;
    if (c->is_ca || !c->client_auth || !c->digital_signature) {
        return WARD_FIH_FAILURE;
    }
    *reason = WARD_CLOUD_CERT_OK;
    return WARD_FIH_SUCCESS;
}

ward_err_t ward_cloud_identity_install(ward_cloud_identity_t *ident, const ward_hsm_t *hsm,
                                       const ward_cloud_certs_t *certs, const uint8_t *cert,
                                       size_t cert_len, const uint8_t *issuer_ca,
                                       size_t issuer_ca_len)
{
    uint32_t cur = 0;
    uint8_t pub[WARD_P256_PUB_LEN];
    ward_cloud_cert_info_t info;
    ward_cloud_cert_reason_t reason;
    if (ident == NULL || hsm == NULL || certs == NULL || cert == NULL || hsm->id_key == NULL ||
        certs->store == NULL || cert_len > WARD_CONFIG_CLOUD_CERT_MAX) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = hsm->id_key(hsm->ctx, &cur);
    if (err == WARD_ERR_STATE) {
        return WARD_ERR_CLOUD_IDENTITY;
    }
    if (err != WARD_OK || (err = key_pub(cur, pub)) != WARD_OK) {
        return err;
    }
    if (ward_cloud_cert_parse(&info, cert, cert_len) != WARD_OK || info.cn == NULL ||
        ward_mqtt_device_id_check((const char *)info.cn, info.cn_len) != WARD_OK) {
        return WARD_ERR_CLOUD_CERT;
    }
    /* Validity is the factory's business here (the device may not know the
     * time yet); the rest as for a rotation. */
    if (!WARD_FIH_EQ(check(&info, issuer_ca, issuer_ca_len, (const char *)info.cn, info.cn_len, pub,
                           NULL, 0, -1, &reason))) {
        return WARD_ERR_CLOUD_CERT;
    }
    err = certs->store(certs->ctx, WARD_CLOUD_SLOT_CURRENT, cert, cert_len);
    if (err != WARD_OK) {
        return err;
    }
    return ward_cloud_identity_open(ident, hsm, certs);
}

ward_err_t ward_cloud_identity_csr(ward_cloud_identity_t *ident, uint8_t *out, size_t cap,
                                   size_t *len)
{
    return ward_cloud_identity_csr_(ident, true, out, cap, len);
}

ward_err_t ward_cloud_identity_csr_(ward_cloud_identity_t *ident, bool generate, uint8_t *out,
                                    size_t cap, size_t *len)
{
    uint32_t next = 0;
    if (len != NULL) {
        *len = 0;
    }
    if (ident == NULL || out == NULL || len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (!ident->open) {
        return WARD_ERR_STATE;
    }
    const ward_hsm_t *hsm = ident->hsm;
    ward_err_t err = generate ? hsm->id_next_generate(hsm->ctx) : WARD_OK;
    if (err == WARD_OK) {
        err = hsm->id_next_key(hsm->ctx, &next);
    }
    if (err == WARD_OK) {
        err = ward_cloud_csr(out, cap, len, ident->id, ident->id_len, next);
    }
    return err;
}

ward_err_t ward_cloud_identity_accept(ward_cloud_identity_t *ident, const uint8_t *issuer_ca,
                                      size_t issuer_ca_len, int64_t now, const uint8_t *cert,
                                      size_t cert_len, ward_cloud_cert_reason_t *reason)
{
    ward_cloud_cert_reason_t why = WARD_CLOUD_CERT_MALFORMED;
    ward_cloud_cert_info_t info;
    uint8_t next_pub[WARD_P256_PUB_LEN];
    uint32_t next = 0, cur = 0;
    if (reason != NULL) {
        *reason = WARD_CLOUD_CERT_MALFORMED;
    }
    if (ident == NULL || cert == NULL || issuer_ca == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (!ident->open) {
        return WARD_ERR_STATE;
    }
    const ward_hsm_t *hsm = ident->hsm;
    const ward_cloud_certs_t *certs = ident->certs;
    ward_err_t err = hsm->id_next_key(hsm->ctx, &next);
    if (err != WARD_OK) {
        return err;
    }
    if ((err = key_pub(next, next_pub)) != WARD_OK) {
        return err;
    }
    if (cert_len > WARD_CONFIG_CLOUD_CERT_MAX || ward_cloud_cert_parse(&info, cert, cert_len) != WARD_OK) {
        return WARD_ERR_CLOUD_CERT;
    }
    const ward_fih_t verdict = check(&info, issuer_ca, issuer_ca_len, ident->id, ident->id_len,
                                     next_pub, ident->serial, ident->serial_len, now, &why);
    if (reason != NULL) {
        *reason = why;
    }
    if (!WARD_FIH_EQ(verdict)) {
        return WARD_ERR_CLOUD_CERT;
    }
    /* Steps 2-5 of the table at the top. */
    err = certs->store(certs->ctx, WARD_CLOUD_SLOT_NEXT, cert, cert_len);
    if (err != WARD_OK) {
        return err;
    }
    if (!WARD_FIH_EQ(verdict)) { /* second look before the point of no return */
        (void)certs->erase(certs->ctx, WARD_CLOUD_SLOT_NEXT);
        return WARD_ERR_CLOUD_CERT;
    }
    ident->open = false; /* until the switch is complete */
    err = hsm->id_next_commit(hsm->ctx);
    if (err != WARD_OK) {
        return err;
    }
    err = certs->store(certs->ctx, WARD_CLOUD_SLOT_CURRENT, cert, cert_len);
    if (err == WARD_OK) {
        err = certs->erase(certs->ctx, WARD_CLOUD_SLOT_NEXT);
    }
    if (err == WARD_OK) {
        err = hsm->id_key(hsm->ctx, &cur);
    }
    if (err != WARD_OK) {
        return err;
    }
    return adopt(ident, &info, cert, cert_len, cur);
}
