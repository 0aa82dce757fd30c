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
    {WARD_ERR_IMG_SEC_CNT, "WARD_ERR_IMG_SEC_CNT", "security counter below the rollback floor"},
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
    {WARD_ERR_OTA_MANIFEST, "WARD_ERR_OTA_MANIFEST", "update manifest malformed"},
    {WARD_ERR_OTA_KEY, "WARD_ERR_OTA_KEY", "manifest not signed by the device's OTA key"},
    {WARD_ERR_OTA_SIG, "WARD_ERR_OTA_SIG", "bad manifest signature"},
    {WARD_ERR_OTA_CLASS, "WARD_ERR_OTA_CLASS", "update is for another device class"},
    {WARD_ERR_OTA_VERSION, "WARD_ERR_OTA_VERSION", "update not newer than the running image"},
    {WARD_ERR_OTA_SEC_CNT, "WARD_ERR_OTA_SEC_CNT", "update security counter below the device's floor"},
    {WARD_ERR_OTA_EXPIRED, "WARD_ERR_OTA_EXPIRED", "update manifest expired"},
    {WARD_ERR_OTA_REPLAY, "WARD_ERR_OTA_REPLAY", "update manifest replayed (sequence number not above the last)"},
    {WARD_ERR_OTA_CHAIN, "WARD_ERR_OTA_CHAIN", "update block fails the hash chain"},
    {WARD_ERR_OTA_SIZE, "WARD_ERR_OTA_SIZE", "update size differs from the manifest"},
    {WARD_ERR_OTA_IMAGE, "WARD_ERR_OTA_IMAGE", "staged update fails the image checks"},
    {WARD_ERR_OTA_URL, "WARD_ERR_OTA_URL", "not an https URL"},
    {WARD_ERR_NET, "WARD_ERR_NET", "network connection failed or lost"},
    {WARD_ERR_NET_TIMEOUT, "WARD_ERR_NET_TIMEOUT", "network timeout"},
    {WARD_ERR_TLS, "WARD_ERR_TLS", "TLS failure"},
    {WARD_ERR_TLS_CERT, "WARD_ERR_TLS_CERT", "server certificate not trusted"},
    {WARD_ERR_TLS_HOST, "WARD_ERR_TLS_HOST", "server certificate is for another host"},
    {WARD_ERR_HTTP, "WARD_ERR_HTTP", "malformed HTTP response"},
    {WARD_ERR_HTTP_STATUS, "WARD_ERR_HTTP_STATUS", "unexpected HTTP status"},
    {WARD_ERR_HTTP_REDIRECT, "WARD_ERR_HTTP_REDIRECT", "HTTP redirect refused"},
    {WARD_ERR_HTTP_LIMIT, "WARD_ERR_HTTP_LIMIT", "HTTP response over its bound"},
    {WARD_ERR_MQTT_PROTOCOL, "WARD_ERR_MQTT_PROTOCOL", "malformed or unexpected MQTT packet from the broker"},
    {WARD_ERR_MQTT_REFUSED, "WARD_ERR_MQTT_REFUSED", "the MQTT broker refused the connection"},
    {WARD_ERR_MQTT_TIMEOUT, "WARD_ERR_MQTT_TIMEOUT", "the MQTT broker did not answer in time"},
    {WARD_ERR_MQTT_TOO_LARGE, "WARD_ERR_MQTT_TOO_LARGE", "MQTT packet or topic from the broker over its bound"},
    {WARD_ERR_MQTT_TOPIC, "WARD_ERR_MQTT_TOPIC", "invalid MQTT topic, topic filter or device id"},
    {WARD_ERR_CLOUD_CERT, "WARD_ERR_CLOUD_CERT", "certificate for the device identity refused"},
    {WARD_ERR_CLOUD_IDENTITY, "WARD_ERR_CLOUD_IDENTITY", "no certificate matches the identity key in the HSM"},
    {WARD_ERR_CLOUD_CSR, "WARD_ERR_CLOUD_CSR", "certificate request refused"},
    {WARD_ERR_SMP_FAILED, "WARD_ERR_SMP_FAILED", "BLE pairing refused or failed"},
    {WARD_ERR_SMP_TIMEOUT, "WARD_ERR_SMP_TIMEOUT", "BLE pairing timed out (SMP 30 s timeout)"},
    {WARD_ERR_BLE_WINDOW_CLOSED, "WARD_ERR_BLE_WINDOW_CLOSED", "BLE pairing window closed"},
    {WARD_ERR_BLE_BACKOFF, "WARD_ERR_BLE_BACKOFF", "too many failed BLE pairings: wait (Repeated Attempts)"},
    {WARD_ERR_BLE_WEAKER_BOND, "WARD_ERR_BLE_WEAKER_BOND", "refusing to replace a BLE bond with a weaker one"},
    {WARD_ERR_BLE_PEER_KEY, "WARD_ERR_BLE_PEER_KEY", "peer public key refused (invalid, reflected or debug key)"},
    {WARD_ERR_BLE_LABEL, "WARD_ERR_BLE_LABEL", "OOB pairing label malformed or checksum wrong"},
    {WARD_ERR_BLE_H4, "WARD_ERR_BLE_H4", "H4 stream from the BLE controller out of sync"},
    {WARD_ERR_BLE_HCI, "WARD_ERR_BLE_HCI", "the BLE controller refused a command"},
    {WARD_ERR_BLE_NO_CONN, "WARD_ERR_BLE_NO_CONN", "no such BLE connection"},
    {WARD_ERR_BLE_BUSY, "WARD_ERR_BLE_BUSY", "BLE command or data queue full"},
    {WARD_ERR_BLE_TIMEOUT, "WARD_ERR_BLE_TIMEOUT", "the BLE controller or peer did not answer in time"},
    {WARD_ERR_BLE_ATT, "WARD_ERR_BLE_ATT", "the ATT peer answered with an error"},
    {WARD_ERR_BLE_PDU, "WARD_ERR_BLE_PDU", "malformed or unexpected BLE PDU"},
    {WARD_ERR_BLE_ENCRYPTION, "WARD_ERR_BLE_ENCRYPTION", "BLE link encryption failed"},
    {WARD_ERR_BLE_GATT_DB, "WARD_ERR_BLE_GATT_DB", "GATT database table malformed"},
    {WARD_ERR_PKCS11, "WARD_ERR_PKCS11", "the PKCS#11 module or token failed"},
    {WARD_ERR_PKCS11_PIN, "WARD_ERR_PKCS11_PIN", "no PIN for the token, or the token refused it"},
    {WARD_ERR_PKCS11_AMBIGUOUS, "WARD_ERR_PKCS11_AMBIGUOUS", "the PKCS#11 URI matches several tokens or keys"},
    {WARD_ERR_CERT, "WARD_ERR_CERT", "certificate, CSR or CRL malformed or not verifying"},
    {WARD_ERR_CERT_VALIDITY, "WARD_ERR_CERT_VALIDITY", "certificate validity refused (too long, expired or not yet valid)"},
    {WARD_ERR_DEVICE_ID, "WARD_ERR_DEVICE_ID", "device id refused"},
    {WARD_ERR_EOL, "WARD_ERR_EOL", "the unit failed its end-of-line test"},
    {WARD_ERR_AUDIT, "WARD_ERR_AUDIT", "the device failed its security audit"},
    {WARD_ERR_PROFILE, "WARD_ERR_PROFILE", "the device profile is malformed"},
    {WARD_ERR_ATTACK, "WARD_ERR_ATTACK", "an attack against the device succeeded"},
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
