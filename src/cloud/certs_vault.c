/* ward cloud: the device certificates in the credential vault (ward/vault.h),
 * whose puts are atomic across power cuts, as ward_cloud_certs_t asks. */
#include "cloud_priv.h"

static const char *slot_name(uint32_t slot)
{
    return slot == WARD_CLOUD_SLOT_CURRENT ? WARD_CLOUD_VAULT_CERT
           : slot == WARD_CLOUD_SLOT_NEXT  ? WARD_CLOUD_VAULT_CERT_NEXT
                                           : NULL;
}

static ward_err_t vault_load(void *ctx, uint32_t slot, uint8_t *buf, size_t cap, size_t *len)
{
    const char *name = slot_name(slot);
    if (name == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    return ward_vault_get(ctx, buf, cap, len, name);
}

static ward_err_t vault_store(void *ctx, uint32_t slot, const uint8_t *der, size_t len)
{
    const char *name = slot_name(slot);
    if (name == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    return ward_vault_put(ctx, name, der, len);
}

static ward_err_t vault_erase(void *ctx, uint32_t slot)
{
    const char *name = slot_name(slot);
    if (name == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    const ward_err_t err = ward_vault_delete(ctx, name);
    return err == WARD_ERR_NOT_FOUND ? WARD_OK : err;
}

void ward_cloud_certs_vault(ward_cloud_certs_t *s, ward_vault_t *v)
{
    s->ctx = v;
    s->load = vault_load;
    s->store = vault_store;
    s->erase = vault_erase;
}
