/*
 * ward port interfaces: everything the portable core needs from a board.
 *
 * Each port is a struct of callbacks plus an opaque context that the board
 * owns. The core never includes an OS or board header and never touches
 * hardware except through these structs. port/posix implements all of them
 * as a simulator; port/cortex-m implements flash and OTP for its boards.
 *
 * Every callback returns WARD_OK or a negative ward_err_t. A port MUST NOT
 * return other positive values.
 */
#ifndef WARD_PORT_H
#define WARD_PORT_H

#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Flash: NOR rules. Erase sets a whole sector to 0xFF; program can only
 * clear bits (programming a 1 over a 0 is an error for the port to report,
 * WARD_ERR_IO).
 *
 * Geometry: uniform sectors of sector_size bytes (regions NULL), or a
 * sector map (regions): runs of equal sectors from offset 0, as MCUboot's
 * flash_area_get_sectors gives them and as STM32F4/F7 parts have (4 x 16 KiB,
 * 1 x 64 KiB, 7 x 128 KiB). The core never divides by sector_size: it asks
 * ward_flash_sector_at and the ward_area_sector* helpers below where a
 * sector starts and how large it is (docs/porting.md, "The flash port"). */

/* A run of `count` sectors of `size` bytes each (a power of two). */
typedef struct ward_flash_region {
    uint32_t count;
    uint32_t size;
} ward_flash_region_t;

typedef struct ward_flash {
    void *ctx;
    /* Read len bytes at off. MUST return WARD_OK or WARD_ERR_IO. */
    ward_err_t (*read)(void *ctx, uint32_t off, void *buf, size_t len);
    /* Program len bytes at off. off and len MUST be multiples of
     * write_size. Returns WARD_ERR_IO if a bit would go from 0 to 1. */
    ward_err_t (*prog)(void *ctx, uint32_t off, const void *buf, size_t len);
    /* Erase the sector starting at off (a sector start of the geometry). */
    ward_err_t (*erase)(void *ctx, uint32_t off);
    uint32_t size;        /* total bytes */
    uint32_t sector_size; /* uniform: the erase unit, a power of two. With a
                             sector map: its smallest sector */
    uint32_t write_size;  /* program unit: 1, 2, 4, 8, 16 or 32 bytes (at most
                           WARD_CONFIG_MAX_WRITE_SIZE) */
    /* Sector map: nregions runs, from offset 0, adding up to size. NULL:
     * uniform sectors of sector_size. The map must outlive the port. */
    const ward_flash_region_t *regions;
    uint32_t nregions;
} ward_flash_t;

/* A region of a flash device (a slot, the vault, the boot state). */
typedef struct ward_area {
    const ward_flash_t *flash;
    uint32_t off;  /* a sector start */
    uint32_t size; /* whole sectors: off + size is a sector start or the end */
} ward_area_t;

/* WARD_OK if the flash's geometry is well formed (write size; uniform: a
 * power-of-two sector_size >= write_size; map: 1..255 runs, each of at
 * least one sector of a power-of-two size >= write_size, adding up to
 * size, sector_size its smallest), else WARD_ERR_INVALID_ARG. */
ward_err_t ward_flash_check(const ward_flash_t *flash);

/* The sector that holds byte off of the flash: where it starts and its
 * size. WARD_ERR_INVALID_ARG at or beyond the end (or a map that does not
 * add up). Either output may be NULL. */
ward_err_t ward_flash_sector_at(const ward_flash_t *flash, uint32_t off, uint32_t *start,
                                uint32_t *size);

/* Bounds-checked access relative to the area start.
 * Return WARD_ERR_INVALID_ARG when [off, off+len) leaves the area or breaks
 * the alignment rules, else what the port returns. */
ward_err_t ward_area_read(const ward_area_t *area, uint32_t off, void *buf, size_t len);
ward_err_t ward_area_prog(const ward_area_t *area, uint32_t off, const void *buf, size_t len);
/* Erase every sector in [off, off+len); both ends on sector boundaries
 * (checked before anything is erased). */
ward_err_t ward_area_erase(const ward_area_t *area, uint32_t off, uint32_t len);
/* WARD_OK if the area is well formed for its flash, else WARD_ERR_INVALID_ARG. */
ward_err_t ward_area_check(const ward_area_t *area);
/* The sector of the area that holds area offset off: *start relative to
 * the area, *size its size. WARD_ERR_INVALID_ARG outside the area. Either
 * output may be NULL. */
ward_err_t ward_area_sector_at(const ward_area_t *area, uint32_t off, uint32_t *start,
                               uint32_t *size);
/* Number of sectors of an area that ward_area_check accepts (0 if not). */
uint32_t ward_area_sectors(const ward_area_t *area);
/* Sector idx (from 0) of the area: its offset in the area and its size.
 * WARD_ERR_INVALID_ARG past the last one. Either output may be NULL. */
ward_err_t ward_area_sector(const ward_area_t *area, uint32_t idx, uint32_t *off,
                            uint32_t *size);

/* ------------------------------------------------------------------------- */
/* OTP: one-time-programmable fields. Bits go from 0 to 1 only (burning);
 * a field can be write-locked, after which burning it fails with
 * WARD_ERR_LOCKED. Field sizes are fixed by the core (ward_otp_field_size). */

typedef enum ward_otp_field {
    WARD_OTP_BOOT_KEY_HASH = 0, /* 32 B: SHA-256 of the boot key (DER SPKI) */
    WARD_OTP_OTA_KEY_HASH = 1,  /* 32 B: SHA-256 of the OTA key (DER SPKI) */
    WARD_OTP_SECURE_BOOT = 2,   /* 4 B: any bit set = secure boot enforced */
    WARD_OTP_DEBUG_LOCK = 3,    /* 4 B: any bit set = debug port disabled */
    WARD_OTP_ROLLBACK = 4,      /* WARD_CONFIG_OTP_ROLLBACK_BITS/8 B: counter
                                   = number of bits set (thermometer code) */
    WARD_OTP_DEVICE_ID = 5,     /* 16 B: factory-assigned device identity */
    WARD_OTP_FIELD_COUNT = 6
} ward_otp_field_t;

typedef struct ward_otp {
    void *ctx;
    /* Read the whole field; len MUST equal ward_otp_field_size(field). */
    ward_err_t (*read)(void *ctx, ward_otp_field_t field, void *buf, size_t len);
    /* OR the given bits into the field (len = field size). Bits already set
     * stay set. WARD_ERR_LOCKED if the field is write-locked. */
    ward_err_t (*burn)(void *ctx, ward_otp_field_t field, const void *bits, size_t len);
    /* Write-lock the field for ever. Locking twice is WARD_OK. */
    ward_err_t (*lock)(void *ctx, ward_otp_field_t field);
    /* *locked = whether the field is write-locked. */
    ward_err_t (*is_locked)(void *ctx, ward_otp_field_t field, bool *locked);
} ward_otp_t;

/* Size in bytes of an OTP field, 0 for an unknown field. */
size_t ward_otp_field_size(ward_otp_field_t field);

/* ------------------------------------------------------------------------- */
/* HSM: holds the device-unique key (HUK) and the device identity key.
 * Private material never leaves it: derived keys are handed out as PSA key
 * ids of volatile, non-exportable keys; signatures are computed inside. */

typedef enum ward_hsm_key_type {
    WARD_HSM_KEY_AES256_GCM = 1,        /* PSA AES-256, alg GCM, encrypt+decrypt */
    WARD_HSM_KEY_CHACHA20_POLY1305 = 2, /* PSA ChaCha20, alg ChaCha20-Poly1305 */
    WARD_HSM_KEY_HMAC_SHA256 = 3        /* PSA HMAC, alg HMAC(SHA-256), sign+verify */
} ward_hsm_key_type_t;

/* An ATECC608A-class counter tops out here. */
#define WARD_HSM_COUNTER_MAX 2097151u
#define WARD_HSM_COUNTERS 2u

typedef struct ward_hsm {
    void *ctx;
    /* Generate the HUK inside the HSM (provisioning). WARD_ERR_EXISTS if
     * one is already present: a HUK is never replaced. */
    ward_err_t (*huk_generate)(void *ctx);
    /* Derive a 256-bit key from the HUK inside the HSM; return it as a
     * volatile PSA key usable only for `type`, not exportable. The key
     * MUST depend on the type as well as on the label: two types never get
     * the same bytes for one label (the vault's labels are per purpose, but
     * a port that handed out derive_key(HMAC, aead-label) with the AEAD
     * key's bytes would let an HMAC oracle stand in for the record key).
     * Ports on PSA use ward_soft_hsm_derive: HKDF-SHA256, salt
     * "ward-huk-kdf-v2", info = type byte || label (docs/vault-format.md).
     * Labels are at most 127 bytes. The caller destroys the key
     * (psa_destroy_key). WARD_ERR_STATE if no HUK was generated. */
    ward_err_t (*derive_key)(void *ctx, ward_hsm_key_type_t type, const uint8_t *label,
                             size_t label_len, uint32_t *key_id);
    /* Monotonic counter idx (< WARD_HSM_COUNTERS): read, or add one and
     * return the new value. WARD_ERR_LIMIT at WARD_HSM_COUNTER_MAX. */
    ward_err_t (*counter_read)(void *ctx, uint32_t idx, uint32_t *value);
    ward_err_t (*counter_increment)(void *ctx, uint32_t idx, uint32_t *value);
    /* Device identity key (P-256), generated inside; WARD_ERR_EXISTS if present. */
    ward_err_t (*id_generate)(void *ctx);
    /* Uncompressed public point 0x04||X||Y. WARD_ERR_STATE if none. */
    ward_err_t (*id_public)(void *ctx, uint8_t pub[65]);
    /* ECDSA-P256 over a SHA-256 digest; raw r||s. */
    ward_err_t (*id_sign_hash)(void *ctx, const uint8_t hash[32], uint8_t sig[64]);

    /* BLE OOB pairing key (docs/ble.md, docs/ble-label.md). A button-only
     * device pairs with LE Secure Connections OOB: the factory has the HSM
     * make a P-256 key pair and a 128-bit random r; the label carries r and
     * the commitment C = f4(PKx, PKx, r, 0). The private key never leaves.
     * A board without it leaves these NULL (the device then has no OOB). */
    /* Generate the pair and r inside (never the SMP debug key).
     * WARD_ERR_EXISTS if present: a label is printed once. */
    ward_err_t (*pair_generate)(void *ctx);
    /* The public point 0x04||X||Y (big-endian). WARD_ERR_STATE if none. */
    ward_err_t (*pair_public)(void *ctx, uint8_t pub[65]);
    /* r, least significant octet first as SMP uses it. WARD_ERR_STATE if none. */
    ward_err_t (*pair_random)(void *ctx, uint8_t r[16]);
    /* ECDH with the pairing key: dhkey = X of d*peer_pub, big-endian.
     * peer_pub (0x04||X||Y) is validated in full before use (coordinates
     * below p, on the curve) and refused if its X equals our own:
     * WARD_ERR_BLE_PEER_KEY. WARD_ERR_STATE if no pair; dhkey zeroed on
     * any failure. */
    ward_err_t (*pair_ecdh)(void *ctx, const uint8_t peer_pub[65], uint8_t dhkey[32]);
    /* ---- the identity key for TLS, and its rotation (docs/cloud.md) ----
     * Keys come out as PSA key ids, never as bytes: a secure element's PSA
     * driver (or the software stand-in) does the signing. A key id is
     * usable only for PSA_KEY_USAGE_SIGN_HASH with ECDSA (any hash), is not
     * exportable (psa_export_public_key works, psa_export_key does not) and
     * belongs to the HSM: the caller never destroys it. It stays valid until
     * the key it names is replaced (id_next_commit) or the HSM is closed. */

    /* The current identity key. WARD_ERR_STATE if there is none. */
    ward_err_t (*id_key)(void *ctx, uint32_t *key_id);
    /* Generate a new "next" identity key inside, replacing an earlier next
     * key if any. The current key stays as it is and keeps working.
     * WARD_ERR_STATE if there is no current key. */
    ward_err_t (*id_next_generate)(void *ctx);
    /* The next key, as id_key. WARD_ERR_NOT_FOUND if none was generated. */
    ward_err_t (*id_next_key)(void *ctx, uint32_t *key_id);
    /* Atomically make the next key the current one and destroy the old
     * current key. A power cut leaves either the old state (old key current,
     * next key kept) or the new one, never neither. Key ids of the old key
     * are invalid afterwards. WARD_ERR_NOT_FOUND if there is no next key. */
    ward_err_t (*id_next_commit)(void *ctx);
} ward_hsm_t;

/* ------------------------------------------------------------------------- */
/* Random numbers, time. */

typedef struct ward_rng {
    void *ctx;
    /* Fill buf with len cryptographically strong random bytes. */
    ward_err_t (*fill)(void *ctx, void *buf, size_t len);
} ward_rng_t;

typedef struct ward_clock {
    void *ctx;
    /* Milliseconds since an arbitrary origin; never goes backwards. */
    uint64_t (*now_ms)(void *ctx);
} ward_clock_t;

/* ------------------------------------------------------------------------- */
/* Network: TCP connections (lwIP, a modem's socket API, POSIX sockets).
 * Blocking calls with a timeout; one ward_net_t may hold several
 * connections, each an opaque handle the port allocates from its own pool. */

typedef struct ward_net {
    void *ctx;
    /* Open a TCP connection to host (a name or a literal address) and port.
     * WARD_OK and *conn set, WARD_ERR_NET (no route, refused, name not
     * found), WARD_ERR_NET_TIMEOUT, WARD_ERR_NO_SPACE (no free connection). */
    ward_err_t (*connect)(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms,
                          void **conn);
    /* Send up to len bytes; *sent = bytes taken (at least 1 on WARD_OK).
     * WARD_ERR_NET when the connection is gone. */
    ward_err_t (*send)(void *ctx, void *conn, const uint8_t *buf, size_t len, size_t *sent);
    /* Receive up to cap bytes, waiting at most timeout_ms; *got = bytes
     * received, 0 when the peer closed the connection. WARD_ERR_NET_TIMEOUT
     * when nothing arrived in time, WARD_ERR_NET when the connection broke. */
    ward_err_t (*recv)(void *ctx, void *conn, uint8_t *buf, size_t cap, size_t *got,
                       uint32_t timeout_ms);
    /* Close and release the handle (always succeeds). */
    void (*close)(void *ctx, void *conn);
} ward_net_t;

/* ------------------------------------------------------------------------- */
/* HCI transport: the H4 byte stream to and from a BLE controller (a UART,
 * a pty, a Unix socket, Linux's HCI user channel). H4 frames each packet
 * with one type byte (01 command, 02 ACL, 03 SCO, 04 event, 05 ISO); the
 * port moves bytes only and never looks inside. */

typedef struct ward_hci_transport {
    void *ctx;
    /* Send all len bytes, in order, or fail. WARD_OK, or WARD_ERR_IO when
     * the controller is gone (the link is then unusable). */
    ward_err_t (*send)(void *ctx, const uint8_t *buf, size_t len);
    /* Receive up to cap bytes, waiting at most timeout_ms (0: do not wait).
     * WARD_OK with *got = bytes received, 0 when nothing arrived in time;
     * WARD_ERR_IO when the controller closed or the line broke. Packet
     * boundaries are not kept: a packet may arrive in several pieces. */
    ward_err_t (*recv)(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t timeout_ms);
} ward_hci_transport_t;

#ifdef __cplusplus
}
#endif

#endif /* WARD_PORT_H */
