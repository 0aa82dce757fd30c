/*
 * ward vault: an encrypted, power-safe, wear-levelled key/value store for
 * credentials (Wi-Fi password, cloud token, BLE bond keys, freshness state).
 *
 * - Log-structured over >= 2 flash sectors of a ward_area_t; any write
 *   granularity from 1 to 32 bytes, "program once" ECC flash included.
 * - Every value is AEAD-encrypted (AES-256-GCM or ChaCha20-Poly1305) under a
 *   key the HSM derives from its device-unique key; the key never leaves
 *   the HSM/PSA. The associated data binds the record's name, its sequence
 *   number and the vault identity.
 * - The set of live records is authenticated (HMAC) together with a version
 *   that an HSM monotonic counter confirms: an older flash image is refused
 *   with WARD_ERR_ROLLBACK, and so is one holding a change the counter never
 *   confirmed once a later change has been acknowledged.
 * - Nonces come from an HSM counter value taken before any encryption, so
 *   no power cut and no flash rewrite can make one repeat.
 * - Every byte acted on is read once and authenticated in RAM before use
 *   (sector headers, commits, checkpoints, records and names): a flash that
 *   answers differently when read again changes nothing (docs/vault.md §2).
 *
 * docs/vault.md explains the design, docs/vault-format.md every byte.
 *
 * No allocation: the caller owns the ward_vault_t (WARD_VAULT_CTX_SIZE
 * bytes). One context per vault; not thread-safe.
 */
#ifndef WARD_VAULT_H
#define WARD_VAULT_H

#include "ward/port.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration (override in WARD_CONFIG_USER_FILE) -------------------- */

/* Most records (names) a vault holds. <= 255. RAM: 24 B each (16 in the
 * index, 8 in the entry buffer, WARD_VAULT_ENTRY_MAX). */
#ifndef WARD_CONFIG_VAULT_MAX_RECORDS
#define WARD_CONFIG_VAULT_MAX_RECORDS 32
#endif

/* Most sectors a vault spans. <= 255. RAM: 20 B each. */
#ifndef WARD_CONFIG_VAULT_MAX_SECTORS
#define WARD_CONFIG_VAULT_MAX_SECTORS 16
#endif

/* Longest record name in bytes (names are 1..N of [A-Za-z0-9._:/@-]). */
#ifndef WARD_CONFIG_VAULT_NAME_MAX
#define WARD_CONFIG_VAULT_NAME_MAX 32
#endif

/* Largest value in bytes. Small sectors may allow less (see stats). */
#ifndef WARD_CONFIG_VAULT_VALUE_MAX
#define WARD_CONFIG_VAULT_VALUE_MAX 2048
#endif

#if WARD_CONFIG_VAULT_MAX_RECORDS < 1 || WARD_CONFIG_VAULT_MAX_RECORDS > 255
#error "WARD_CONFIG_VAULT_MAX_RECORDS must be in [1, 255]"
#endif
#if WARD_CONFIG_VAULT_MAX_SECTORS < 2 || WARD_CONFIG_VAULT_MAX_SECTORS > 255
#error "WARD_CONFIG_VAULT_MAX_SECTORS must be in [2, 255]"
#endif
#if WARD_CONFIG_VAULT_NAME_MAX < 1 || WARD_CONFIG_VAULT_NAME_MAX > 64
#error "WARD_CONFIG_VAULT_NAME_MAX must be in [1, 64]"
#endif
#if WARD_CONFIG_VAULT_VALUE_MAX < 16 || WARD_CONFIG_VAULT_VALUE_MAX > 16384
#error "WARD_CONFIG_VAULT_VALUE_MAX must be in [16, 16384]"
#endif

#define WARD_VAULT_NAME_MAX ((size_t)WARD_CONFIG_VAULT_NAME_MAX)
#define WARD_VAULT_VALUE_MAX ((size_t)WARD_CONFIG_VAULT_VALUE_MAX)
#define WARD_VAULT_MAX_RECORDS ((uint32_t)WARD_CONFIG_VAULT_MAX_RECORDS)
#define WARD_VAULT_MAX_SECTORS ((uint32_t)WARD_CONFIG_VAULT_MAX_SECTORS)
#define WARD_VAULT_ID_LEN 16u
/* The largest commit or checkpoint entry (a checkpoint of every record):
 * mount reads each one into this much RAM, authenticates it there and
 * uses only those bytes. */
#define WARD_VAULT_ENTRY_MAX (32u + 8u * (uint32_t)WARD_CONFIG_VAULT_MAX_RECORDS)

/* ---- types ---------------------------------------------------------------- */

/* AEAD used for records; chosen at format, recorded on flash. */
typedef enum ward_vault_aead {
    WARD_VAULT_AEAD_AES256_GCM = 1,
    WARD_VAULT_AEAD_CHACHA20_POLY1305 = 2
} ward_vault_aead_t;

typedef struct ward_vault_config {
    ward_area_t area;      /* >= 2 whole sectors, only for the vault */
    const ward_hsm_t *hsm; /* HUK derivation and the monotonic counter */
    /* HSM counter index (< WARD_HSM_COUNTERS) owned by this vault alone:
     * anyone else raising it makes the vault report a rollback. */
    uint32_t counter;
    /* AEAD for a new vault (ward_vault_format); 0 means AES-256-GCM.
     * Mount uses whatever the flash says. */
    ward_vault_aead_t aead;
} ward_vault_config_t;

/* Private bookkeeping; only the functions below touch it. */
typedef struct ward_vault_sector_ {
    uint32_t epoch;     /* log order of used sectors */
    uint32_t erases;    /* erase count as recorded by the vault */
    uint32_t wp;        /* next free byte (the sector's size: closed) */
    uint32_t placed;    /* padded record bytes placed in the sector */
    uint8_t state;      /* free / used */
    uint8_t blank;      /* free and known to be all 0xFF */
    uint8_t erases_known;
    uint8_t unsure;     /* may hold units spent by a torn program of an earlier
                         * power cycle that still read erased (not erased
                         * since the mount, nothing appended yet) */
} ward_vault_sector_t;

typedef struct ward_vault_rec_ {
    uint32_t hash; /* CRC-32 of the name */
    uint32_t seq;  /* record sequence number (AAD) */
    uint32_t off;  /* area offset of the record, UINT32_MAX if missing */
    uint16_t vlen; /* value length */
    uint8_t nlen;  /* name length */
    uint8_t good;  /* the located copy passed its CRC */
} ward_vault_rec_t;

typedef struct ward_vault {
    ward_vault_config_t cfg;
    uint32_t aead_key; /* PSA key ids from the HSM, destroyed by unmount */
    uint32_t mac_key;
    uint8_t vault_id[WARD_VAULT_ID_LEN];
    uint8_t alg;
    bool mounted;
    bool session_open;
    uint32_t nsect, ssize, wsize;
    uint32_t version;  /* committed state version == HSM counter value */
    uint32_t session;  /* counter value that names this session's nonces */
    uint64_t nonce_ix; /* records encrypted in this session */
    uint32_t head;      /* sector index being appended to */
    uint32_t max_epoch;
    uint32_t ckpt_sector; /* sector holding the latest checkpoint */
    uint32_t count;       /* live records */
    uint32_t full_at;     /* record size that found no space, 0: none */
    ward_vault_sector_t sect[WARD_CONFIG_VAULT_MAX_SECTORS];
    ward_vault_rec_t rec[WARD_CONFIG_VAULT_MAX_RECORDS];
    uint8_t entry[WARD_VAULT_ENTRY_MAX]; /* one commit or checkpoint, read once */
} ward_vault_t;

/* RAM a mounted vault needs: 16 B per record, 20 B per sector, the entry
 * buffer (32 B + 8 B per record) and 112 B fixed: 1232 B by default on
 * x86-64 (944 B before format 3; 936 -> 1224 B on Cortex-M).
 * Each call also uses about 1.5-3 KiB of stack, most of it Mbed TLS
 * (bench/results/vault.txt). */
#define WARD_VAULT_CTX_SIZE (sizeof(ward_vault_t))

/* Iteration cursor: zero it (WARD_VAULT_ITER_INIT) before the first call. */
typedef struct ward_vault_iter {
    uint32_t last_seq;
} ward_vault_iter_t;
#define WARD_VAULT_ITER_INIT {0u}

typedef struct ward_vault_stats {
    uint32_t sectors, sector_size, write_size; /* sector_size: the smallest */
    uint32_t sector_sizes[WARD_CONFIG_VAULT_MAX_SECTORS]; /* each sector's own */
    uint32_t records;        /* live records */
    uint32_t live_bytes;     /* flash bytes of live records (padded) */
    uint32_t dead_bytes;     /* used bytes not live (old copies, commits) */
    uint32_t free_bytes;     /* erased bytes usable for new entries */
    uint32_t max_value_len;  /* largest value a put accepts on this geometry */
    uint32_t erase_counts[WARD_CONFIG_VAULT_MAX_SECTORS]; /* as recorded */
    uint32_t erase_min, erase_max;
    uint32_t version;           /* state version == HSM counter */
    uint32_t counter_remaining; /* increments left before the counter tops out */
    uint32_t head;              /* sector being appended to */
    uint8_t vault_id[WARD_VAULT_ID_LEN];
    ward_vault_aead_t aead;
} ward_vault_stats_t;

/* ---- API ------------------------------------------------------------------ */

/*
 * Create a new, empty vault on cfg->area and leave it mounted in v. Erases
 * every sector of the area (the old contents are lost) and raises the HSM
 * counter three times, so any older image of the area is refused afterwards.
 * Returns WARD_OK; WARD_ERR_INVALID_ARG (bad config or geometry);
 * WARD_ERR_STATE (the HSM has no device-unique key yet: provision first);
 * WARD_ERR_LIMIT (the counter is exhausted); WARD_ERR_IO and other port
 * errors (after which the area may be partly erased: format again).
 */
ward_err_t ward_vault_format(ward_vault_t *v, const ward_vault_config_t *cfg);

/*
 * Mount the vault on cfg->area: authenticate the current state against the
 * HSM counter and index the live records in v. If the state was written but
 * the counter raises were lost to a power cut, the counter is raised now.
 * Returns WARD_OK;
 *   WARD_ERR_VAULT_UNFORMATTED  no vault on this area and the HSM counter
 *                               at 0: no vault was ever made, format it;
 *   WARD_ERR_VAULT_ERASED       no vault on this area, but the counter
 *                               shows one existed: it was erased (or a
 *                               format never completed). A rollback to
 *                               nothing: revocations and freshness records
 *                               are gone. Format only as a deliberate
 *                               decision (docs/vault.md §1);
 *   WARD_ERR_VAULT_FOREIGN      a vault made with another device's key;
 *   WARD_ERR_ROLLBACK           the flash holds an older state than the
 *                               counter (an old image was written back);
 *   WARD_ERR_AUTH               the authenticated state is damaged, or
 *                               holds two live records of one name, or a
 *                               sector header's AEAD byte was changed;
 *   WARD_ERR_UNSUPPORTED        a format or AEAD this build does not know;
 *   WARD_ERR_CORRUPT            the vault was made for another geometry;
 *   WARD_ERR_STATE              the HSM has no device-unique key;
 *   WARD_ERR_INVALID_ARG, WARD_ERR_IO, other port errors.
 */
ward_err_t ward_vault_mount(ward_vault_t *v, const ward_vault_config_t *cfg);

/* Release the keys and forget the index. Safe on an unmounted context. */
void ward_vault_unmount(ward_vault_t *v);

/*
 * Store value (len bytes, may be 0) under name, replacing any older value.
 * Atomic across power cuts: afterwards the name reads the old or the new
 * value. Costs one counter increment (three for the first change after a
 * mount: the session commit takes two).
 * Returns WARD_OK; WARD_ERR_VAULT_NAME; WARD_ERR_LIMIT (value longer than
 * stats.max_value_len, or the counter is exhausted); WARD_ERR_NO_SPACE
 * (vault full; delete something); WARD_ERR_AUTH (a live record with this
 * name's hash does not authenticate -- damaged, or renamed on flash -- so
 * whose it is cannot be told: nothing written; wipe);
 * WARD_ERR_STATE (not mounted, or a previous I/O error: mount again);
 * WARD_ERR_CORRUPT (the flash now answers otherwise than at mount -- a
 * garbage-collection copy whose CRC or tag no longer checks, the log end or
 * a free sector not as the mount saw it, a free sector that twice did not
 * read back as written: nothing that counts was erased or overwritten,
 * mount again); I/O and port errors. Input errors and AUTH leave the vault
 * untouched.
 */
ward_err_t ward_vault_put(ward_vault_t *v, const char *name, const uint8_t *value, size_t len);

/*
 * Read the value of name into out. The record is read once; out receives
 * only its ciphertext until the tag has verified, and is decrypted in place
 * after; on failure the value's length of out is zeroed.
 * Returns WARD_OK (*out_len = length); WARD_ERR_NOT_FOUND;
 * WARD_ERR_BUF_TOO_SMALL (nothing written, *out_len = needed length);
 * WARD_ERR_AUTH (this record is damaged or was tampered with);
 * WARD_ERR_VAULT_NAME; WARD_ERR_STATE; I/O errors.
 */
ward_err_t ward_vault_get(ward_vault_t *v, uint8_t *out, size_t out_size, size_t *out_len,
                          const char *name);

/*
 * Delete name. Costs one counter increment (three for the first change
 * after a mount, as put). The ciphertext stays on flash
 * until its sector is reclaimed (ward_vault_wipe erases everything).
 * Returns WARD_OK; WARD_ERR_NOT_FOUND; WARD_ERR_AUTH (the record does not
 * authenticate, so it cannot be matched to its name: wipe);
 * WARD_ERR_VAULT_NAME; WARD_ERR_LIMIT;
 * WARD_ERR_STATE; WARD_ERR_CORRUPT (as put); I/O errors.
 */
ward_err_t ward_vault_delete(ward_vault_t *v, const char *name);

/*
 * Next live record in sequence order: copies its NUL-terminated name into
 * name and its value length into *value_len. The record is authenticated
 * first (nothing is decrypted into caller memory).
 * Returns WARD_OK; WARD_ERR_AUTH for a damaged record (name set to "",
 * the cursor still advances: call again); WARD_ERR_NOT_FOUND at the end.
 * Modifying the vault while iterating is allowed (sequence order).
 */
ward_err_t ward_vault_next(ward_vault_t *v, ward_vault_iter_t *it,
                           char name[WARD_CONFIG_VAULT_NAME_MAX + 1], size_t *value_len);

/* Space, wear and counter figures. Returns WARD_OK or WARD_ERR_STATE. */
ward_err_t ward_vault_stats(ward_vault_t *v, ward_vault_stats_t *st);

/*
 * Factory wipe ("easy to delete user data"): every record is made
 * unreadable at once (one authenticated empty state, one counter
 * increment), then every sector is erased and a new, empty vault with a new
 * identity is created (one more increment; two more before both if it is
 * the first change after a mount). A power cut leaves the old vault as it
 * was (before the empty state is written), the old vault empty, or the new
 * vault empty; the first change after the next mount erases whatever the
 * cut left of the old records. v stays mounted. When the counter (or the
 * epochs) is spent and no new vault can be made, the whole area is erased
 * instead and v is unmounted: the data is gone, the next mount says
 * WARD_ERR_VAULT_ERASED and a format says WARD_ERR_LIMIT.
 * Returns WARD_OK; WARD_ERR_STATE; WARD_ERR_CORRUPT (as put); I/O errors.
 * A vault that does not mount is wiped with ward_vault_format.
 */
ward_err_t ward_vault_wipe(ward_vault_t *v);

/* WARD_OK if name is a valid record name, else WARD_ERR_VAULT_NAME. */
ward_err_t ward_vault_name_check(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* WARD_VAULT_H */
