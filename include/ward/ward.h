/*
 * ward: secure-firmware foundation for smart-home devices.
 *
 * ward.h: version, the one status type (ward_err_t) and the hardened result
 * type used for security decisions (ward_fih_t). Every public function of
 * every module returns ward_err_t or ward_fih_t.
 */
#ifndef WARD_WARD_H
#define WARD_WARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_VERSION_MAJOR 0
#define WARD_VERSION_MINOR 1
#define WARD_VERSION_PATCH 0
#define WARD_VERSION_STRING "0.1.0"

/*
 * Status: 0 is success, negative values are errors. Positive values are
 * never errors; functions that return a count document it.
 *
 * Codes are grouped by what the caller can do about them. They are stable:
 * they appear in boot reports, CLI exit codes and docs/errors.md.
 */
typedef int32_t ward_err_t;

enum {
    WARD_OK = 0,

    /* Generic (-1 .. -19) */
    WARD_ERR_INVALID_ARG = -1,   /* a parameter is out of range (caller bug) */
    WARD_ERR_IO = -2,            /* flash, file or port I/O failed */
    WARD_ERR_NO_SPACE = -3,      /* storage is full */
    WARD_ERR_NOT_FOUND = -4,     /* no such item */
    WARD_ERR_BUF_TOO_SMALL = -5, /* output buffer too small; nothing written */
    WARD_ERR_CORRUPT = -6,       /* stored data fails its structural checks */
    WARD_ERR_AUTH = -7,          /* authentication failed (MAC, AEAD tag) */
    WARD_ERR_ROLLBACK = -8,      /* state is older than the monotonic counter */
    WARD_ERR_CRYPTO = -9,        /* the crypto backend failed */
    WARD_ERR_STATE = -10,        /* not allowed in the current state */
    WARD_ERR_UNSUPPORTED = -11,  /* valid but not supported by this build */
    WARD_ERR_POWER_LOSS = -12,   /* simulator: power was cut during the op */
    WARD_ERR_LOCKED = -13,       /* OTP field or resource is write-locked */
    WARD_ERR_EXISTS = -14,       /* already present; refusing to overwrite */
    WARD_ERR_LIMIT = -15,        /* a hardware limit would be exceeded */

    /* Signed images (-20 .. -39) */
    WARD_ERR_IMG_MAGIC = -20,       /* no image: header magic missing */
    WARD_ERR_IMG_HEADER = -21,      /* header fields inconsistent */
    WARD_ERR_IMG_TOO_LARGE = -22,   /* image does not fit its slot */
    WARD_ERR_IMG_TLV = -23,         /* TLV area malformed */
    WARD_ERR_IMG_HASH = -24,        /* SHA-256 does not match the contents */
    WARD_ERR_IMG_KEY = -25,         /* signed for another key */
    WARD_ERR_IMG_SIG = -26,         /* signature does not verify */
    WARD_ERR_IMG_UNSIGNED = -27,    /* no signature (or no hash) TLV */
    WARD_ERR_IMG_SEC_CNT = -28,     /* security counter below the rollback floor */
    WARD_ERR_IMG_DOWNGRADE = -29,   /* version older than the installed image */
    WARD_ERR_IMG_UNSUPPORTED = -30, /* encrypted/compressed/RAM-load image */
    WARD_ERR_IMG_SEC_CNT_RANGE = -31, /* counter beyond what OTP can hold */

    /* Boot (-40 .. -59) */
    WARD_ERR_BOOT_NO_IMAGE = -40,   /* nothing verified to boot: refuse */
    WARD_ERR_BOOT_NO_KEY = -41,     /* secure boot on but no key in OTP */
    WARD_ERR_BOOT_STATE = -42,      /* boot state area unreadable */
    WARD_ERR_BOOT_LAYOUT = -43,     /* slot layout invalid for this flash */

    /* Vault (-60 .. -79) */
    WARD_ERR_VAULT_UNFORMATTED = -60, /* no vault on this flash */
    WARD_ERR_VAULT_FOREIGN = -61,     /* vault belongs to another device */
    WARD_ERR_VAULT_NAME = -62,        /* invalid record name */
    WARD_ERR_VAULT_ERASED = -63,      /* no vault, but the counter shows one existed */

    /* OTA updates (-80 .. -99): why an update was refused */
    WARD_ERR_OTA_MANIFEST = -80, /* manifest malformed (COSE, CBOR or a field) */
    WARD_ERR_OTA_KEY = -81,      /* manifest not signed by this device's OTA key */
    WARD_ERR_OTA_SIG = -82,      /* manifest signature does not verify */
    WARD_ERR_OTA_CLASS = -83,    /* update is for another device class */
    WARD_ERR_OTA_VERSION = -84,  /* update not newer than the running image */
    WARD_ERR_OTA_SEC_CNT = -85,  /* security counter below the device's floor */
    WARD_ERR_OTA_EXPIRED = -86,  /* manifest expired (device time) */
    WARD_ERR_OTA_REPLAY = -87,   /* sequence number not above the last accepted */
    WARD_ERR_OTA_CHAIN = -88,    /* a block fails the hash chain */
    WARD_ERR_OTA_SIZE = -89,     /* more or fewer bytes than the manifest says */
    WARD_ERR_OTA_IMAGE = -90,    /* staged image fails boot checks or the manifest */
    WARD_ERR_OTA_URL = -91,      /* not an https:// URL, or malformed */

    /* Network, TLS, HTTP (-100 .. -119) */
    WARD_ERR_NET = -100,           /* connection failed or lost */
    WARD_ERR_NET_TIMEOUT = -101,   /* the peer did not answer in time */
    WARD_ERR_TLS = -102,           /* TLS handshake or record failure */
    WARD_ERR_TLS_CERT = -103,      /* server certificate not trusted (CA, validity) */
    WARD_ERR_TLS_HOST = -104,      /* server certificate is for another host name */
    WARD_ERR_HTTP = -105,          /* malformed HTTP response */
    WARD_ERR_HTTP_STATUS = -106,   /* unexpected HTTP status */
    WARD_ERR_HTTP_REDIRECT = -107, /* redirect refused */
    WARD_ERR_HTTP_LIMIT = -108,    /* response header or body over its bound */

    /* MQTT (-120 .. -139) */
    WARD_ERR_MQTT_PROTOCOL = -120,  /* malformed or unexpected packet from the broker */
    WARD_ERR_MQTT_REFUSED = -121,   /* CONNACK refused the connection (code in the event) */
    WARD_ERR_MQTT_TIMEOUT = -122,   /* no CONNACK or PINGRESP in time: connection dead */
    WARD_ERR_MQTT_TOO_LARGE = -123, /* a packet or topic from the broker over its bound */
    WARD_ERR_MQTT_TOPIC = -124,     /* invalid topic name, topic filter or device id */

    /* Cloud identity (-125 .. -139) */
    WARD_ERR_CLOUD_CERT = -125,     /* a certificate for the device identity was refused */
    WARD_ERR_CLOUD_IDENTITY = -126, /* no stored certificate matches the HSM's identity key */
    WARD_ERR_CLOUD_CSR = -127,      /* a certificate request was refused by the fleet */
    /* BLE security: pairing, window, bonds (-140 .. -149) */
    WARD_ERR_SMP_FAILED = -140,        /* pairing refused or failed (SMP reason in the event) */
    WARD_ERR_SMP_TIMEOUT = -141,       /* SMP 30 s timeout: no more SMP on this link */
    WARD_ERR_BLE_WINDOW_CLOSED = -142, /* pairing window closed (press the button) */
    WARD_ERR_BLE_BACKOFF = -143,       /* failed attempts: wait before pairing again */
    WARD_ERR_BLE_WEAKER_BOND = -144,   /* a bond is never replaced by a weaker one */
    WARD_ERR_BLE_PEER_KEY = -145,      /* peer public key refused (off the curve, ours, debug key) */
    WARD_ERR_BLE_LABEL = -146,         /* OOB label malformed or its checksum is wrong */
    /* BLE link: HCI, L2CAP, ATT/GATT (-150 .. -159) */
    WARD_ERR_BLE_H4 = -150,         /* H4 stream from the controller out of sync */
    WARD_ERR_BLE_HCI = -151,        /* the controller refused a command or is unusable */
    WARD_ERR_BLE_NO_CONN = -152,    /* no such connection (unknown or gone) */
    WARD_ERR_BLE_BUSY = -153,       /* command or ACL queue full: drain, then retry */
    WARD_ERR_BLE_TIMEOUT = -154,    /* the controller or the peer did not answer in time */
    WARD_ERR_BLE_ATT = -155,        /* the ATT peer answered with an Error Response */
    WARD_ERR_BLE_PDU = -156,        /* malformed or unexpected PDU received */
    WARD_ERR_BLE_ENCRYPTION = -157, /* link encryption failed or its key size is unknown */
    WARD_ERR_BLE_GATT_DB = -158,    /* the GATT database table is malformed */

    /* Factory: keys in PKCS#11 tokens, certificates, provisioning (-160 .. -179) */
    WARD_ERR_PKCS11 = -160,           /* the PKCS#11 module or token failed an operation */
    WARD_ERR_PKCS11_PIN = -161,       /* no PIN for the token, or the token refused it */
    WARD_ERR_PKCS11_AMBIGUOUS = -162, /* the PKCS#11 URI matches several tokens or keys */
    WARD_ERR_CERT = -163,             /* certificate, CSR or CRL malformed or not verifying */
    WARD_ERR_CERT_VALIDITY = -164,    /* certificate validity too long, expired or not yet valid */
    WARD_ERR_DEVICE_ID = -165,        /* device id refused (characters, length) */
    WARD_ERR_EOL = -166,              /* the unit failed its end-of-line test */
    /* Audit: the device profile and `ward audit` (-170 .. -179) */
    WARD_ERR_AUDIT = -170,            /* the device failed its security audit */
    WARD_ERR_PROFILE = -171,          /* device profile missing a field, malformed or unknown */
    WARD_ERR_ATTACK = -172,           /* an attack against the device succeeded */
};

/* Name of a status code ("WARD_ERR_IMG_SIG"); never NULL. */
const char *ward_err_name(ward_err_t err);

/* One-line human description of a status code; never NULL. */
const char *ward_err_str(ward_err_t err);

/*
 * Hardened result for security decisions (boot, OTA). Success is a
 * non-trivial bit pattern, so a glitched register or a skipped instruction
 * is unlikely to turn a failure into it. Callers compare against
 * WARD_FIH_SUCCESS twice (see WARD_FIH_CHECK in ward/util.h).
 */
typedef uint32_t ward_fih_t;
#define WARD_FIH_SUCCESS ((ward_fih_t)0x5AA5C33Cu)
#define WARD_FIH_FAILURE ((ward_fih_t)0xA55A3CC3u)

#ifdef __cplusplus
}
#endif

#endif /* WARD_WARD_H */
