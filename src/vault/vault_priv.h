/*
 * ward vault internals shared by vault.c, vault_mount.c and vault_io.c.
 * docs/vault-format.md specifies every byte named here.
 */
#ifndef WARD_VAULT_PRIV_H
#define WARD_VAULT_PRIV_H

#include <psa/crypto.h>

#include "ward/crypto.h"
#include "ward/util.h"
#include "ward/vault.h"

/* ---- on-flash layout ------------------------------------------------------ */

/* 3: sector header authenticated (MAC) and 64 bytes, KCV over format, AEAD
 * and geometry, keys derived per type (docs/vault-format.md). */
#define VLT_FORMAT 3u
/* A session commit is this many versions above the state it follows
 * (the counter is raised that many times after it); a put, delete or
 * wipe one above. */
#define VLT_SESSION_STEP 2u
/* Counter raises a format makes before writing the new vault: the old one
 * may hold a session commit that far above the counter. */
#define VLT_FORMAT_BURN VLT_SESSION_STEP
#define VLT_SHDR 64u         /* sector header; entries start after it */
#define VLT_SHDR_KCV 36u     /* key check value */
#define VLT_SHDR_MAC 44u     /* MAC of bytes 0..43 */
#define VLT_SHDR_CRC 60u
#define VLT_SHDR_V2 48u      /* formats 1 and 2: 48 bytes, CRC at 44 */
#define VLT_REC_HDR 12u      /* type, name_len, value_len, seq, hcrc */
#define VLT_REC_NAME 24u     /* the name follows header and nonce */
#define VLT_REC_OVERHEAD 44u /* header 12 + nonce 12 + tag 16 + CRC 4 */
#define VLT_COMMIT_LEN 40u   /* 24 fixed + MAC 16 */
#define VLT_COMMIT_BODY 24u
#define VLT_CKPT_HDR 16u
#define VLT_CKPT_FIXED 32u /* header 16 + MAC 16 */
#define VLT_CKPT_ENTRY 8u
#define VLT_NONCE 12u
#define VLT_TAG 16u
#define VLT_MAC 16u
#define VLT_KCV 8u
#define VLT_PEEK 24u /* bytes read to parse any entry header */

#define VLT_T_RECORD 0x52u /* 'R' */
#define VLT_T_COMMIT 0x43u /* 'C' */
#define VLT_T_CKPT 0x50u   /* 'P' */
#define VLT_T_KCV 0x4Bu    /* 'K': MAC domain of the key check value */
#define VLT_T_HDR 0x48u    /* 'H': MAC domain of a sector header */

#define VLT_OP_PUT 1u
#define VLT_OP_DEL 2u
#define VLT_OP_SESSION 3u

/* sector states */
#define VLT_FREE 0u
#define VLT_USED 1u

#define VLT_NONE UINT32_MAX
/* Bytes staged per flash program: a multiple of every write size. */
#define VLT_CHUNK 64u

/* Every write size the build allows divides the staging chunk and the
 * sector header, so entries start on write units (config_check.h). */
#if VLT_CHUNK % WARD_CONFIG_MAX_WRITE_SIZE != 0 || VLT_SHDR % WARD_CONFIG_MAX_WRITE_SIZE != 0
#error "the vault supports write sizes up to 32 bytes"
#endif

/* A well-formed entry header found on flash. */
typedef struct {
    uint8_t type;
    uint32_t off; /* area offset */
    uint32_t len; /* without padding */
    uint8_t h[VLT_PEEK];
    /* Commits and checkpoints the walk was asked to load: all len bytes,
     * read once (v->entry). Authenticate and parse only these. */
    const uint8_t *full;
} vlt_entry_t;

/* A record's header, nonce and name, read once. */
typedef struct {
    uint32_t off; /* area offset */
    uint8_t h[VLT_REC_NAME];
    uint8_t name[WARD_CONFIG_VAULT_NAME_MAX];
} vlt_rec_head_t;

/* Appends an entry to flash through a staging buffer, VLT_CHUNK bytes per
 * program, padding the end with 0xFF to the write size. Optionally feeds a
 * CRC and a MAC with every byte appended. */
typedef struct {
    ward_vault_t *v;
    uint32_t off; /* area offset of the next program */
    uint32_t n;   /* bytes staged */
    uint32_t total;
    uint32_t crc;
    psa_mac_operation_t *mac; /* NULL: no MAC */
    uint8_t buf[VLT_CHUNK];
} vlt_writer_t;

/* ---- geometry (vault_io.c) ------------------------------------------------- */
uint32_t vlt_pad(const ward_vault_t *v, uint32_t n);
uint32_t vlt_commit_size(const ward_vault_t *v);
uint32_t vlt_ckpt_size(const ward_vault_t *v, uint32_t count);
uint32_t vlt_rec_size(const ward_vault_t *v, uint32_t nlen, uint32_t vlen);
/* Padded record bytes the area's smallest sector may hold: room for two
 * full checkpoints and four commits always remains, so a compacted sector
 * can take a commit. It bounds a record, the live records of any sector
 * (so that whichever sector is the GC reserve can take them) and the live
 * records of the vault (nsect - 1 times it). On uniform flash every
 * sector's limit. */
uint32_t vlt_rec_limit(const ward_vault_t *v);
/* The same for sector s, by its own size: the padded record bytes, live
 * or dead, it may hold. */
uint32_t vlt_sect_limit(const ward_vault_t *v, uint32_t s);
/* Sector s of the area (s < nsect): where it starts (area offset), its size. */
uint32_t vlt_sbase(const ward_vault_t *v, uint32_t s);
uint32_t vlt_ssize(const ward_vault_t *v, uint32_t s);
/* The sector that holds area offset off. */
uint32_t vlt_sector_of(const ward_vault_t *v, uint32_t off);

/* Validate cfg, clear v and fill the geometry. Touches no flash. */
ward_err_t vlt_setup(ward_vault_t *v, const ward_vault_config_t *cfg);

/* ---- flash ------------------------------------------------------------------ */
ward_err_t vlt_read(const ward_vault_t *v, uint32_t off, void *buf, size_t len);
ward_err_t vlt_prog(const ward_vault_t *v, uint32_t off, const void *buf, size_t len);
ward_err_t vlt_erase(ward_vault_t *v, uint32_t s);
/* *blank = [off, end) reads all 0xFF. */
ward_err_t vlt_is_blank(const ward_vault_t *v, uint32_t off, uint32_t end, bool *blank);
/* Copy live record r (padded) to dst for garbage collection. The bytes
 * programmed are the bytes checked: their header must be r's (sequence
 * number, lengths) before anything is programmed, and, if r was intact at
 * mount, their CRC and their tag must still hold; else WARD_ERR_CORRUPT
 * (the flash answered differently than at mount: mount again). */
ward_err_t vlt_copy_rec(ward_vault_t *v, uint32_t dst, const ward_vault_rec_t *r);

/* Parse the entry header in h (avail bytes read at a position with room
 * bytes left in the sector). true if well formed; fills e (not e->off). */
bool vlt_parse(const ward_vault_t *v, const uint8_t *h, size_t avail, uint32_t room,
               vlt_entry_t *e);
/* Read the header, nonce and name of the record at area offset off once;
 * *ok = they are well formed (header CRC, lengths within the sector). */
ward_err_t vlt_rec_head(const ward_vault_t *v, uint32_t off, vlt_rec_head_t *rh, bool *ok);
/* Read the rest of the record once and check its CRC over rh and those
 * bytes; *ok. */
ward_err_t vlt_rec_crc_ok(const ward_vault_t *v, const vlt_rec_head_t *rh, bool *ok);

void vlt_w_init(vlt_writer_t *w, ward_vault_t *v, uint32_t off, psa_mac_operation_t *mac);
ward_err_t vlt_w_put(vlt_writer_t *w, const void *p, size_t n);
ward_err_t vlt_w_end(vlt_writer_t *w);

/* ---- crypto ------------------------------------------------------------------ */
/* Derive the record and commit keys of vault_id into v (destroying old ones). */
ward_err_t vlt_keys(ward_vault_t *v);
void vlt_keys_destroy(ward_vault_t *v);
/* The vault identity a format at counter value `version` creates. */
ward_err_t vlt_new_id(const ward_vault_t *v, uint32_t version, uint8_t id[WARD_VAULT_ID_LEN]);
/* Key check value kept in every sector header, for this vault's format,
 * geometry and the AEAD alg. */
ward_err_t vlt_kcv(const ward_vault_t *v, uint8_t alg, uint8_t kcv[VLT_KCV]);
/* MAC of a sector header's bytes 0..43. */
ward_err_t vlt_shdr_mac(const ward_vault_t *v, const uint8_t buf[VLT_SHDR], uint8_t mac[VLT_MAC]);
/* HMAC over vault_id || data: start, and finish truncated to VLT_MAC. */
ward_err_t vlt_mac_start(const ward_vault_t *v, psa_mac_operation_t *op);
ward_err_t vlt_mac_finish(psa_mac_operation_t *op, uint8_t mac[VLT_MAC]);
/* Verify the MAC of a commit or checkpoint entry loaded into RAM (e->full). */
ward_err_t vlt_entry_mac_ok(const ward_vault_t *v, const vlt_entry_t *e, bool *ok);
psa_algorithm_t vlt_aead_alg(const ward_vault_t *v);
/* Authenticate the record whose head rh holds, reading the rest of it
 * once: its CRC and its tag over the RAM copy (the ciphertext in out, or
 * streamed when out is NULL). With out, decrypt there only after the tag
 * verified. Returns WARD_OK, WARD_ERR_AUTH (the value's length of out
 * zeroed), or I/O and crypto errors. */
ward_err_t vlt_rec_open(const ward_vault_t *v, const vlt_rec_head_t *rh, uint8_t *out);

/* ---- sector header --------------------------------------------------------- */
typedef struct {
    uint8_t alg;
    uint8_t nsect;
    uint8_t wsize;
    uint8_t format;
    uint32_t ssize;
    uint32_t epoch;
    uint32_t erases;
    uint8_t id[WARD_VAULT_ID_LEN];
    uint8_t kcv[VLT_KCV];
    uint8_t mac[VLT_MAC];
} vlt_shdr_t;

/* true if buf holds a sector header with a good CRC: format 3, or an older
 * one (48 bytes; only format and erases are filled in then). */
bool vlt_shdr_decode(const uint8_t buf[VLT_SHDR], vlt_shdr_t *h);
void vlt_shdr_encode(uint8_t buf[VLT_SHDR], const vlt_shdr_t *h);

/* ---- mount (vault_mount.c) --------------------------------------------------- */
ward_err_t vlt_mount(ward_vault_t *v);
/* Find the latest intact copy of every live record (rec[].off, .good). */
ward_err_t vlt_locate(ward_vault_t *v);
/* Before sector s is reclaimed: look there again for live records the
 * mount did not locate (damaged, or hidden by a read that lied) or located
 * elsewhere in a copy that no longer reads as it did (shown by a read that
 * lied, or damaged), so that an intact copy there is not erased uncopied. */
ward_err_t vlt_locate_missing(ward_vault_t *v, uint32_t s);
/* Used sectors in log (epoch) order; returns how many. */
uint32_t vlt_log_order(const ward_vault_t *v, uint8_t order[WARD_CONFIG_VAULT_MAX_SECTORS]);

#endif /* WARD_VAULT_PRIV_H */
