/*
 * ward ota: what a verified manifest must also satisfy on this device
 * (docs/ota.md "The checks"). Pure: no I/O.
 */
#include <string.h>

#include "ota_priv.h"

ward_err_t ward_ota_policy_check(const ward_ota_manifest_t *m, const ward_ota_policy_t *p)
{
    if (m == NULL || p == NULL || p->device_class == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    /* Wrong device (TUF "wrong software", SUIT class id). */
    const size_t cl = strlen(m->device_class);
    if (cl == 0u || strlen(p->device_class) != cl ||
        memcmp(m->device_class, p->device_class, cl) != 0) {
        return WARD_ERR_OTA_CLASS;
    }
    /* Endless data / a slot it cannot fit; a block this device cannot hold. */
    const uint32_t b = m->block_size;
    if (b < 256u || b > (uint32_t)WARD_CONFIG_OTA_BLOCK_MAX || (b & (b - 1u)) != 0u ||
        m->image_size == 0u || m->image_size > p->image_max) {
        return WARD_ERR_OTA_SIZE;
    }
    /* Rollback by version, then by security counter. */
    if (ward_image_version_cmp(&m->version, &p->running) <= 0) {
        return WARD_ERR_OTA_VERSION;
    }
    if (m->sec_cnt < p->floor) {
        return WARD_ERR_OTA_SEC_CNT;
    }
    /* Freeze: the device's idea of now never goes below the newest
     * manifest it accepted. With no clock and no earlier manifest there is
     * no time to judge by (the sequence still applies). */
    const uint64_t now = p->now > p->last_issued_at ? p->now : p->last_issued_at;
    if (now != 0u && m->expires <= now) {
        return WARD_ERR_OTA_EXPIRED;
    }
    /* Replay of an older (or the same) manifest. */
    if (m->sequence <= p->last_sequence) {
        return WARD_ERR_OTA_REPLAY;
    }
    return WARD_OK;
}
