/* The board description: the boot layout (from the board file) and the boot key block. */
#include "ward/util.h"
#include "ward_cm.h"
#include "ward_cm_priv.h"

static const ward_boot_layout_t k_layout = {
    .primary = {&ward_cm_flash_dev, WARD_CM_PRIMARY_OFF, WARD_CM_SLOT_SIZE},
    .secondary = {&ward_cm_flash_dev, WARD_CM_SECONDARY_OFF, WARD_CM_SLOT_SIZE},
    .scratch = {&ward_cm_flash_dev, WARD_CM_SCRATCH_OFF, WARD_CM_SCRATCH_SIZE},
    .state = {&ward_cm_flash_dev, WARD_CM_STATE_OFF, WARD_CM_STATE_SIZE},
};

const ward_boot_layout_t *ward_cm_layout(void)
{
    return &k_layout;
}

void ward_cm_boot_config(ward_boot_config_t *cfg)
{
    const uint8_t *blk = ward_cm_addr(WARD_CM_KEY_ADDR);
    uint32_t len = ward_load_le32(blk + 4);
    cfg->layout = ward_cm_layout();
    cfg->otp = ward_cm_otp_boot();
    cfg->spki = NULL;
    cfg->spki_len = 0;
    /* The key's hash is checked against OTP by the boot core, so a forged
     * key block is refused there; this only checks the block's shape. */
    if (ward_load_le32(blk) == WARD_CM_KEY_MAGIC && len > 0u && len <= WARD_CM_KEY_MAX) {
        cfg->spki = blk + 8;
        cfg->spki_len = len;
    }
}
