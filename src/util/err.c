/* ward status codes: names and descriptions (docs/errors.md lists the same). */
#include "ward/ward.h"

typedef struct {
    ward_err_t code;
    const char *name;
    const char *text;
} err_entry_t;

static const err_entry_t k_errors[] = {
    {WARD_OK, "WARD_OK", "success"},
    {WARD_ERR_INVALID_ARG, "WARD_ERR_INVALID_ARG", "invalid argument"},
    {WARD_ERR_IO, "WARD_ERR_IO", "I/O error"},
    {WARD_ERR_NO_SPACE, "WARD_ERR_NO_SPACE", "no space left"},
    {WARD_ERR_NOT_FOUND, "WARD_ERR_NOT_FOUND", "not found"},
    {WARD_ERR_BUF_TOO_SMALL, "WARD_ERR_BUF_TOO_SMALL", "buffer too small"},
    {WARD_ERR_CORRUPT, "WARD_ERR_CORRUPT", "stored data is corrupt"},
    {WARD_ERR_AUTH, "WARD_ERR_AUTH", "authentication failed (integrity)"},
    {WARD_ERR_ROLLBACK, "WARD_ERR_ROLLBACK", "rollback detected: state older than the monotonic counter"},
    {WARD_ERR_CRYPTO, "WARD_ERR_CRYPTO", "crypto backend failure"},
    {WARD_ERR_STATE, "WARD_ERR_STATE", "not allowed in the current state"},
    {WARD_ERR_UNSUPPORTED, "WARD_ERR_UNSUPPORTED", "not supported"},
    {WARD_ERR_POWER_LOSS, "WARD_ERR_POWER_LOSS", "power lost during the operation"},
    {WARD_ERR_LOCKED, "WARD_ERR_LOCKED", "write-locked"},
    {WARD_ERR_EXISTS, "WARD_ERR_EXISTS", "already exists"},
    {WARD_ERR_LIMIT, "WARD_ERR_LIMIT", "hardware limit reached"},
    {WARD_ERR_IMG_MAGIC, "WARD_ERR_IMG_MAGIC", "no image (bad header magic)"},
    {WARD_ERR_IMG_HEADER, "WARD_ERR_IMG_HEADER", "image header malformed"},
    {WARD_ERR_IMG_TOO_LARGE, "WARD_ERR_IMG_TOO_LARGE", "image too large for the slot"},
    {WARD_ERR_IMG_TLV, "WARD_ERR_IMG_TLV", "image TLV area malformed"},
    {WARD_ERR_IMG_HASH, "WARD_ERR_IMG_HASH", "image hash mismatch"},
    {WARD_ERR_IMG_KEY, "WARD_ERR_IMG_KEY", "image signed with another key"},
    {WARD_ERR_IMG_SIG, "WARD_ERR_IMG_SIG", "bad image signature"},
    {WARD_ERR_IMG_UNSIGNED, "WARD_ERR_IMG_UNSIGNED", "image is not signed"},
    {WARD_ERR_IMG_SEC_CNT, "WARD_ERR_IMG_SEC_CNT", "security counter below the OTP rollback counter"},
    {WARD_ERR_IMG_DOWNGRADE, "WARD_ERR_IMG_DOWNGRADE", "image version older than the installed one"},
    {WARD_ERR_IMG_UNSUPPORTED, "WARD_ERR_IMG_UNSUPPORTED", "image feature not supported"},
    {WARD_ERR_IMG_SEC_CNT_RANGE, "WARD_ERR_IMG_SEC_CNT_RANGE", "security counter exceeds the OTP counter capacity"},
    {WARD_ERR_BOOT_NO_IMAGE, "WARD_ERR_BOOT_NO_IMAGE", "no verified image to boot"},
    {WARD_ERR_BOOT_NO_KEY, "WARD_ERR_BOOT_NO_KEY", "secure boot enabled but no boot key in OTP"},
    {WARD_ERR_BOOT_STATE, "WARD_ERR_BOOT_STATE", "boot state unreadable"},
    {WARD_ERR_BOOT_LAYOUT, "WARD_ERR_BOOT_LAYOUT", "invalid slot layout"},
    {WARD_ERR_VAULT_UNFORMATTED, "WARD_ERR_VAULT_UNFORMATTED", "no vault on this flash"},
    {WARD_ERR_VAULT_FOREIGN, "WARD_ERR_VAULT_FOREIGN", "vault belongs to another device"},
    {WARD_ERR_VAULT_NAME, "WARD_ERR_VAULT_NAME", "invalid record name"},
    {WARD_ERR_VAULT_ERASED, "WARD_ERR_VAULT_ERASED",
     "vault erased: the counter shows a vault existed (a rollback to nothing)"},
};

static const err_entry_t *find(ward_err_t err)
{
    for (size_t i = 0; i < sizeof k_errors / sizeof k_errors[0]; i++) {
        if (k_errors[i].code == err) {
            return &k_errors[i];
        }
    }
    return NULL;
}

const char *ward_err_name(ward_err_t err)
{
    const err_entry_t *e = find(err);
    return e != NULL ? e->name : "WARD_ERR_UNKNOWN";
}

const char *ward_err_str(ward_err_t err)
{
    const err_entry_t *e = find(err);
    return e != NULL ? e->text : "unknown error";
}
