/*
 * Short status names for the bootloader's messages. ward_err_name() links
 * a table with every name and description (about 2 KB); the bootloader only
 * needs the names of the generic, image and boot codes, packed here without
 * their "WARD_ERR_" prefix. The driver self-test checks this table against
 * ward_err_name() for every code, so the two cannot drift apart.
 */
#include "ward_cm.h"

/* Names of the codes first, first-1, ... of each group, NUL-separated. */
static const char k_generic[] = "INVALID_ARG\0IO\0NO_SPACE\0NOT_FOUND\0BUF_TOO_SMALL\0"
                                "CORRUPT\0AUTH\0ROLLBACK\0CRYPTO\0STATE\0UNSUPPORTED\0"
                                "POWER_LOSS\0LOCKED\0EXISTS\0LIMIT";
static const char k_image[] = "IMG_MAGIC\0IMG_HEADER\0IMG_TOO_LARGE\0IMG_TLV\0IMG_HASH\0"
                              "IMG_KEY\0IMG_SIG\0IMG_UNSIGNED\0IMG_SEC_CNT\0"
                              "IMG_DOWNGRADE\0IMG_UNSUPPORTED\0IMG_SEC_CNT_RANGE";
static const char k_boot[] = "BOOT_NO_IMAGE\0BOOT_NO_KEY\0BOOT_STATE\0BOOT_LAYOUT";

static const struct {
    int32_t first; /* code of the first name */
    uint8_t count;
    const char *names;
} k_groups[] = {
    {WARD_ERR_INVALID_ARG, 15, k_generic},
    {WARD_ERR_IMG_MAGIC, 12, k_image},
    {WARD_ERR_BOOT_NO_IMAGE, 4, k_boot},
};

const char *ward_cm_err_name(ward_err_t err)
{
    for (size_t g = 0; g < sizeof k_groups / sizeof k_groups[0]; g++) {
        const int32_t idx = k_groups[g].first - err;
        if (idx >= 0 && idx < k_groups[g].count) {
            const char *p = k_groups[g].names;
            for (int32_t i = 0; i < idx; i++) {
                while (*p != '\0') {
                    p++;
                }
                p++;
            }
            return p;
        }
    }
    return NULL;
}
