/*
 * ward ota: the device side of a signed update (docs/ota.md, docs/manifest.md).
 *
 *   manifest  a COSE_Sign1 (ES256) over a small CBOR map, signed offline
 *             with the OTA key (never the boot key). Parsed with libcbor's
 *             streaming decoder (no allocation), verified with PSA.
 *   policy    device class, newer version, security counter >= the boot's
 *             effective floor, not expired, sequence above the last accepted.
 *   chain     the update is served as blocks, each followed by the SHA-256
 *             of the next one; the manifest holds the first block's hash.
 *             So every block is authenticated before it reaches flash, with
 *             one block of RAM.
 *   agent     check: fetch the manifest, verify it, apply the policy.
 *             apply: stream the blocks into the staging slot (erasing each
 *             sector just before its first block), resume with Range after
 *             a lost connection, verify the staged image as the bootloader
 *             would, then request a trial install. After the reboot the app
 *             confirms (ward_boot_confirm); an update that was reverted is
 *             reported once by ward_ota_report.
 *
 * Nothing is written to flash before the manifest passed every check, and
 * no byte is written before its block passed the chain.
 */
#ifndef WARD_OTA_H
#define WARD_OTA_H

#include "ward/boot.h"
#include "ward/image.h"
#include "ward/net.h"
#include "ward/port.h"
#include "ward/vault.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_OTA_MANIFEST_FORMAT 1u

#ifndef WARD_CONFIG_OTA_CLASS_MAX
#define WARD_CONFIG_OTA_CLASS_MAX 32
#endif
#ifndef WARD_CONFIG_OTA_URI_MAX
#define WARD_CONFIG_OTA_URI_MAX 128
#endif
/* Largest COSE_Sign1 manifest accepted, in bytes. */
#ifndef WARD_CONFIG_OTA_MANIFEST_MAX
#define WARD_CONFIG_OTA_MANIFEST_MAX 1024
#endif
/* Largest data block (manifest field block-size) this device can check:
 * the agent holds one block plus its 32-byte next-hash in RAM. */
#ifndef WARD_CONFIG_OTA_BLOCK_MAX
#define WARD_CONFIG_OTA_BLOCK_MAX 4096
#endif

#if WARD_CONFIG_OTA_CLASS_MAX < 1 || WARD_CONFIG_OTA_CLASS_MAX > 64
#error "WARD_CONFIG_OTA_CLASS_MAX must be in [1, 64]"
#endif
#if WARD_CONFIG_OTA_URI_MAX < 1 || WARD_CONFIG_OTA_URI_MAX > 200
#error "WARD_CONFIG_OTA_URI_MAX must be in [1, 200]"
#endif
#if WARD_CONFIG_OTA_MANIFEST_MAX < 256 || WARD_CONFIG_OTA_MANIFEST_MAX > 65535
#error "WARD_CONFIG_OTA_MANIFEST_MAX must be in [256, 65535]"
#endif
#if WARD_CONFIG_OTA_BLOCK_MAX < 256 || WARD_CONFIG_OTA_BLOCK_MAX > 65536 || \
    (WARD_CONFIG_OTA_BLOCK_MAX & (WARD_CONFIG_OTA_BLOCK_MAX - 1)) != 0
#error "WARD_CONFIG_OTA_BLOCK_MAX must be a power of two in [256, 65536]"
#endif

/* A verified manifest's contents (docs/manifest.md, payload keys 1..12). */
typedef struct ward_ota_manifest {
    uint32_t format;                                /* 1 */
    char device_class[WARD_CONFIG_OTA_CLASS_MAX + 1];
    ward_image_version_t version;
    uint32_t sec_cnt;
    uint32_t image_size;                            /* bytes of the MCUboot image */
    uint8_t image_digest[32];                       /* SHA-256 of those bytes */
    char uri[WARD_CONFIG_OTA_URI_MAX + 1];          /* the chained update, relative */
    uint64_t issued_at;                             /* seconds since 1970 */
    uint64_t expires;
    uint64_t sequence;
    uint32_t block_size;                            /* data bytes per block */
    uint8_t chain_head[32];                         /* SHA-256 of block 0 as served */
    uint8_t kid[32];                                /* SHA-256 of the signer's SPKI */
} ward_ota_manifest_t;

/*
 * Parse a COSE_Sign1 manifest and verify its ES256 signature with ota_spki
 * (DER SubjectPublicKeyInfo, P-256), whose SHA-256 must equal
 * ota_key_hash (the OTP field). m is filled only on success (zeroed
 * otherwise). Returns WARD_OK, WARD_ERR_OTA_MANIFEST, WARD_ERR_OTA_KEY (kid
 * or key hash is not the OTA key's: another key, the boot key, none
 * provisioned), WARD_ERR_OTA_SIG, WARD_ERR_CRYPTO.
 */
ward_err_t ward_ota_manifest_verify(ward_ota_manifest_t *m, const uint8_t *cose, size_t len,
                                    const uint8_t *ota_spki, size_t ota_spki_len,
                                    const uint8_t ota_key_hash[32]);

/* Decode a manifest with the same strict rules but WITHOUT checking its
 * signature or its key (m->kid says which key it claims). For tools that
 * show or sequence manifests (`ward repo show`, `ward repo publish`);
 * never a reason to act on one. WARD_OK or WARD_ERR_OTA_MANIFEST. */
ward_err_t ward_ota_manifest_decode(ward_ota_manifest_t *m, const uint8_t *cose, size_t len);

/* Is device_class a class the agent accepts: 1..WARD_CONFIG_OTA_CLASS_MAX
 * bytes of [A-Za-z0-9._-], not starting with '.' (so it is also a safe
 * path segment)? For provisioning tools; ward_ota_init applies the same
 * rule. */
bool ward_ota_class_ok(const char *device_class);

/* What the device accepts (filled by the agent from the boot state, the
 * vault and the clock). */
typedef struct ward_ota_policy {
    const char *device_class;
    ward_image_version_t running; /* version of the confirmed running image */
    uint32_t floor;               /* ward_boot_floor(): max(OTP, confirmed image) */
    uint64_t now;                 /* device time, seconds since 1970; 0 unknown */
    uint64_t last_sequence;       /* last accepted manifest (0: none) */
    uint64_t last_issued_at;      /* its issued-at: time never goes below it */
    uint32_t image_max;           /* ward_boot_image_max() of the staging slot */
} ward_ota_policy_t;

/* Check a verified manifest against the policy, in this order: class,
 * sizes/block size, version, counter, expiry (against max(now,
 * last_issued_at)), sequence. WARD_OK or the first refusal
 * (WARD_ERR_OTA_CLASS, _SIZE, _VERSION, _SEC_CNT, _EXPIRED, _REPLAY). */
ward_err_t ward_ota_policy_check(const ward_ota_manifest_t *m, const ward_ota_policy_t *p);

/* ---- the block chain (docs/manifest.md §3) ---------------------------------- */

typedef struct ward_ota_chain {
    uint8_t expect[32];  /* hash the next block must have */
    uint32_t block_size; /* data bytes per block */
    uint32_t image_size;
    uint32_t nblocks;
    uint32_t next;       /* index of the next block */
} ward_ota_chain_t;

/* Bytes of block i on the wire (data plus 32 unless it is the last). */
uint32_t ward_ota_chain_wire_len(const ward_ota_chain_t *c, uint32_t i);
/* Offset of block i in the served file. */
uint64_t ward_ota_chain_wire_off(const ward_ota_chain_t *c, uint32_t i);
/* Size of the served file for an image: size + 32 * (blocks - 1). */
uint64_t ward_ota_chain_wire_size(uint32_t image_size, uint32_t block_size);

void ward_ota_chain_init(ward_ota_chain_t *c, const ward_ota_manifest_t *m);
/* Check the next block (exactly ward_ota_chain_wire_len bytes): on WARD_OK
 * *data_len = its data bytes (at the start of wire) and the chain moves on;
 * WARD_ERR_OTA_CHAIN if its hash is not the expected one (nothing moves);
 * WARD_ERR_OTA_SIZE if the length is wrong or the chain is complete. */
ward_err_t ward_ota_chain_next(ward_ota_chain_t *c, const uint8_t *wire, size_t len,
                               size_t *data_len);

/* ---- the agent ------------------------------------------------------------------ */

typedef enum ward_ota_phase {
    WARD_OTA_PHASE_MANIFEST = 0,
    WARD_OTA_PHASE_DOWNLOAD = 1,
    WARD_OTA_PHASE_VERIFY = 2,
    WARD_OTA_PHASE_DONE = 3
} ward_ota_phase_t;

/* Progress: bytes of the image written so far out of total. */
typedef void (*ward_ota_progress_fn)(void *ctx, ward_ota_phase_t phase, uint64_t done,
                                     uint64_t total);

typedef struct ward_ota_config {
    ward_boot_ctx_t *boot;      /* initialised; its secondary is the staging slot */
    const ward_otp_t *otp;      /* OTA key hash */
    const uint8_t *ota_spki;    /* the OTA public key (read-only flash) */
    size_t ota_spki_len;
    const char *device_class;
    ward_vault_t *vault;        /* mounted: freshness state ("ota.*" records) */
    const ward_fetch_t *fetch;  /* the update server */
    uint64_t (*now)(void *now_ctx); /* seconds since 1970; NULL or 0: unknown */
    void *now_ctx;
    ward_ota_progress_fn progress; /* may be NULL */
    void *progress_ctx;
    /* Reconnects after a lost connection (WARD_ERR_NET, _NET_TIMEOUT,
     * WARD_ERR_TLS from fetch) that may follow one another without a new
     * block written in between; a connection that brings a block starts
     * the count again. 0: 5. */
    uint32_t max_retries;
    /* The longest one apply may take, by now() (a server that drips the
     * update stays under every per-receive timeout): past it the download
     * stops with WARD_ERR_NET_TIMEOUT. 0: 3600 s; UINT32_MAX: no limit;
     * without now() there is none. */
    uint32_t max_seconds;
} ward_ota_config_t;

typedef struct ward_ota_stats {
    uint32_t connections;  /* GETs issued for the update (1 + resumes) */
    uint32_t blocks;       /* blocks written */
    uint64_t wire_bytes;   /* update bytes received */
    uint64_t flash_bytes;  /* bytes programmed into the staging slot */
    uint32_t erases;       /* sectors erased */
} ward_ota_stats_t;

typedef struct ward_ota {
    ward_ota_config_t cfg;
    ward_ota_manifest_t manifest;
    ward_ota_chain_t chain;
    ward_ota_stats_t stats;  /* of the last apply */
    ward_err_t reason;       /* why the last check/apply failed, or WARD_OK */
    uint64_t total;          /* size the server gave for the current fetch */
    uint64_t deadline;       /* now() past which apply's download stops; 0: none */
    uint64_t wire_size;      /* bytes of the chained update */
    uint32_t fill;           /* bytes of the current block received */
    uint32_t erased_to;      /* staging bytes erased so far (sector aligned) */
    uint32_t cose_len;       /* bytes of the manifest in cose */
    uint8_t ready;           /* ward_ota_init succeeded */
    uint8_t have_manifest;   /* check() accepted the manifest */
    uint8_t block[WARD_CONFIG_OTA_BLOCK_MAX + 32];
    uint8_t cose[WARD_CONFIG_OTA_MANIFEST_MAX];
} ward_ota_t;

/* RAM the agent needs (docs/ota.md gives the figure). */
#define WARD_OTA_CTX_SIZE (sizeof(ward_ota_t))

/* Copy cfg; no I/O. cfg->device_class must be 1..WARD_CONFIG_OTA_CLASS_MAX
 * bytes of [A-Za-z0-9._-], not starting with '.'. WARD_OK or
 * WARD_ERR_INVALID_ARG. */
ward_err_t ward_ota_init(ward_ota_t *o, const ward_ota_config_t *cfg);

/* Fetch "<class>/manifest.cose", verify it and apply the policy. Writes
 * nothing anywhere. WARD_OK: an update is offered (o->manifest says
 * which); WARD_ERR_OTA_VERSION when the device is up to date; another
 * refusal (WARD_ERR_OTA_*; WARD_ERR_BOOT_NO_KEY when OTP holds no boot key
 * to check an update with; WARD_ERR_STATE while a swap waits for a reset;
 * WARD_ERR_CORRUPT for an unreadable "ota.state" record), a vault error,
 * or a network error (after cfg->max_retries reconnects). */
ward_err_t ward_ota_check(ward_ota_t *o);

/* After a successful check: download into the staging slot, verify,
 * record the manifest in the vault ("ota.state"), request a trial install.
 * The device is looked at again first (boot state, vault, policy): nothing
 * is written on WARD_ERR_STATE (no check() before, or a trial that is not
 * confirmed yet: the staging slot holds the previous image) or on any
 * refusal check() can give. Once writing started, a failure (WARD_ERR_OTA_
 * CHAIN, _SIZE, _IMAGE, network, flash, vault) leaves the staging slot
 * erased again and the running image untouched. WARD_OK: the install is
 * requested; reset to run the trial. A vault error after the request
 * leaves the install requested (ward_boot_request_pending says so). */
ward_err_t ward_ota_apply(ward_ota_t *o);

/* At start-up, after the boot (boot: what ward_boot_go reported): if the
 * last update this agent requested was reverted by the bootloader (or the
 * bootloader refused it), say so once (WARD_OK with *failed = true and the
 * version that failed, failed_version may be NULL) and forget it. An
 * update that runs confirmed is forgotten silently; one on trial is kept
 * until the trial ends; one whose install request the bootloader never
 * saw (it still waits for a reset, or a later apply consumed it) is not a
 * failure (docs/ota.md §6). WARD_OK, a vault error, WARD_ERR_CORRUPT,
 * WARD_ERR_INVALID_ARG, a flash error reading the install request. */
ward_err_t ward_ota_report(ward_ota_t *o, const ward_boot_report_t *boot, bool *failed,
                           ward_image_version_t *failed_version);

#ifdef __cplusplus
}
#endif

#endif /* WARD_OTA_H */
