/*
 * ward boot: pick and verify the image to run; install a staged image with
 * a power-safe swap, trial-boot it, confirm or revert automatically; keep
 * the anti-rollback counter in OTP; refuse to start anything unverified.
 *
 * Flash layout (whole sectors; uniform or mixed sector sizes):
 *   primary    N swap units: the image runs from here (XIP)
 *   secondary  N swap units: staging; its last sector holds the MCUboot
 *              trailer that requests an install (imgtool --pad / --confirm)
 *   scratch    at least the largest swap unit, used while swapping
 *   state      2 sectors: the boot journal (docs/boot-state.md)
 * A swap unit ends where both slots have a sector boundary (on uniform
 * flash, and whenever both slots have the same sector sizes: one sector).
 * An image may use the first N - 1 units: the last unit of each slot holds
 * the trailer (docs/boot.md, "Layout").
 *
 * Typical bootloader:
 *   ward_boot_ctx_t ctx; ward_boot_report_t rep;
 *   ward_boot_init(&ctx, &cfg);
 *   ward_fih_t go = ward_boot_go(&ctx, &rep);
 *   if (WARD_FIH_EQ(go) && WARD_FIH_EQ(go)) jump(rep.entry_off); else halt(rep.reason);
 */
#ifndef WARD_BOOT_H
#define WARD_BOOT_H

#include "ward/image.h"
#include "ward/port.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ward_boot_layout {
    ward_area_t primary;
    ward_area_t secondary;
    ward_area_t scratch;
    ward_area_t state;
} ward_boot_layout_t;

/* The layout rule ward_boot_layout_check found broken (docs/boot.md,
 * "Layout"). */
typedef enum ward_boot_layout_rule {
    WARD_BOOT_RULE_OK = 0,
    WARD_BOOT_RULE_AREA = 1,    /* an area is not whole sectors of its flash */
    WARD_BOOT_RULE_OVERLAP = 2, /* two areas overlap */
    WARD_BOOT_RULE_SLOTS = 3,   /* the slots differ in size, or have fewer than
                                   two swap units (more than 2^28) */
    WARD_BOOT_RULE_SCRATCH = 4, /* a swap unit is larger than the scratch */
    WARD_BOOT_RULE_TRAILER = 5, /* the trailer does not fit the secondary's last sector */
    WARD_BOOT_RULE_STATE = 6    /* the journal: fewer than two sectors, or one that
                                   holds fewer than 16 or more than 65535 records */
} ward_boot_layout_rule_t;

typedef struct ward_boot_config {
    const ward_boot_layout_t *layout;
    const ward_otp_t *otp;
    /* Boot public key compiled into the bootloader (DER SPKI), or NULL when
     * images carry their key in a PUBKEY TLV. Either way its SHA-256 must
     * equal the hash burnt into OTP. */
    const uint8_t *spki;
    size_t spki_len;
} ward_boot_config_t;

typedef enum ward_boot_op {
    WARD_BOOT_OP_NONE = 0,
    WARD_BOOT_OP_TEST = 1,   /* swap in the staged image for one trial boot */
    WARD_BOOT_OP_PERM = 2,   /* swap in the staged image for good */
    WARD_BOOT_OP_REVERT = 3  /* swap back after an unconfirmed trial */
} ward_boot_op_t;

typedef enum ward_boot_event {
    WARD_BOOT_EV_NONE = 0,      /* booted the primary as it was */
    WARD_BOOT_EV_INSTALLED = 1, /* installed the staged image (see trial) */
    WARD_BOOT_EV_REVERTED = 2,  /* trial not confirmed: previous image restored */
    WARD_BOOT_EV_REFUSED = 3    /* a staged image was refused: update_reason */
} ward_boot_event_t;

/* What a boot decided and why; filled by ward_boot_go and ward_boot_status. */
typedef struct ward_boot_report {
    ward_err_t reason;        /* WARD_OK, or why nothing can run */
    ward_err_t image_reason;  /* WARD_OK, or why the primary image failed
                                 its checks (with secure boot off it may
                                 still run: then verified is false) */
    ward_boot_event_t event;  /* what this boot did to the slots */
    ward_err_t update_reason; /* why a staged image was refused */
    bool secure_boot;         /* OTP enforces signature checks */
    bool debug_locked;        /* OTP debug-lock bit */
    bool verified;            /* the primary image passed every check */
    bool trial;               /* running a test image that must confirm */
    bool resumed;             /* an interrupted swap was completed */
    uint32_t entry_off;       /* flash offset of the payload (vector table) */
    uint32_t image_size;      /* header + payload + TLVs */
    ward_image_version_t version;
    uint32_t sec_cnt;         /* the running image's security counter */
    uint32_t otp_counter;     /* OTP anti-rollback counter after this boot */
} ward_boot_report_t;

/* Journal cursor and the state it records; private to src/boot (read it,
 * never write it). docs/boot-state.md explains each field. */
typedef struct ward_boot_state {
    uint32_t epoch;      /* epoch of the current journal sector; 0: none yet */
    uint32_t next;       /* slot after the last record (not erased) in that sector */
    uint32_t skipped;    /* torn or foreign records skipped while reading */
    uint32_t nsectors;   /* swap units the last operation swaps (sectors on
                            uniform flash) */
    uint32_t steps_done; /* completed swap phases (3 per unit) */
    uint32_t backup_fp;  /* fingerprint of the image kept in the secondary */
    ward_err_t refused;  /* reason of the last refused update, or WARD_OK */
    uint8_t sector;      /* index (0/1) of the current journal sector */
    uint8_t op;          /* ward_boot_op_t of the last operation begun */
    uint8_t op_done;     /* that operation finished */
    uint8_t confirmed;   /* the image in the primary is confirmed */
    uint8_t ready;       /* ward_boot_init succeeded */
    uint8_t owned;       /* this context wrote the current sector since erasing it, so
                            slots from next on are known unwritten; else the next
                            append compacts (docs/boot-state.md 2.3) */
} ward_boot_state_t;

/* What ward_boot_init learns of the layout; private to src/boot. */
typedef struct ward_boot_geo {
    uint32_t units;         /* swap units of a slot (ward_boot_units) */
    uint32_t image_max;     /* ward_boot_image_max: where the last unit starts */
    uint32_t scratch_erase; /* scratch bytes erased for each unit: its sectors
                               that the largest unit covers */
    uint32_t req_off;       /* the secondary's last sector (the request) */
    uint32_t req_size;
} ward_boot_geo_t;

typedef struct ward_boot_ctx {
    ward_boot_config_t cfg;
    ward_boot_state_t st;
    ward_boot_geo_t geo;
    uint8_t buf[WARD_CONFIG_BOOT_COPY_CHUNK];
} ward_boot_ctx_t;

/* Check the layout against the flash geometry (ward_boot_layout_check)
 * and read the journal (no write). cfg is copied; the layout, OTP and key it points to must outlive
 * ctx. Returns WARD_OK, WARD_ERR_INVALID_ARG, WARD_ERR_BOOT_LAYOUT or an
 * I/O error. */
ward_err_t ward_boot_init(ward_boot_ctx_t *ctx, const ward_boot_config_t *cfg);

/*
 * The boot decision (docs/boot.md). Completes an interrupted swap, reverts
 * an unconfirmed trial, installs a staged and verified image (or records
 * why not), verifies the primary image (a failing trial image is reverted
 * at once), raises the OTP counter for a confirmed, verified image: before
 * checking a staged image (so it is checked against ward_boot_floor) and
 * for the image that is to run. Every value it acts on (rep->entry_off,
 * version, sec_cnt, the image it installs or reverts to, the counter it
 * burns) comes from bytes that went through the verified hash, also if
 * the flash answers two reads differently (docs/boot.md section 13).
 * Returns WARD_FIH_SUCCESS when the primary may run (rep->entry_off says
 * where); otherwise the device must not start anything, and rep->reason
 * says why (WARD_ERR_BOOT_NO_KEY, WARD_ERR_BOOT_NO_IMAGE with
 * rep->image_reason, or a flash / OTP error). With secure boot off in OTP
 * it returns success for any bootable image and reports verified = false
 * unless a key hash in OTP verified it.
 */
ward_fih_t ward_boot_go(ward_boot_ctx_t *ctx, ward_boot_report_t *rep);

/* Application side: the running trial image is good; keep it (a journal
 * compaction: one sector erase and up to 5 records; the counter is raised
 * at the next boot). Writes nothing when there is nothing to confirm.
 * WARD_OK (also when nothing needs confirming), WARD_ERR_STATE (a swap is
 * unfinished), or an I/O error: the trial is then not confirmed. */
ward_err_t ward_boot_confirm(ward_boot_ctx_t *ctx);

/* Application / OTA side: request that the image now in the secondary slot
 * be installed at the next reset, for a trial (permanent = false) or for
 * good. Erases the secondary's last sector and writes the MCUboot trailer
 * there (image_ok, then the magic) as imgtool --pad [--confirm] does, with
 * max_align = max(8, write size). Returns WARD_OK; WARD_ERR_STATE during an
 * unconfirmed trial (the secondary holds the only copy of the previous
 * image: confirm first); WARD_ERR_IMG_* (WARD_ERR_IMG_TOO_LARGE beyond
 * ward_boot_image_max) if no parseable image is staged; an I/O error. */
ward_err_t ward_boot_request_install(ward_boot_ctx_t *ctx, bool permanent);

/* Read-only: whether the secondary carries an install request, and for
 * good (permanent) or for a trial. WARD_OK, WARD_ERR_CORRUPT (a magic
 * with an image_ok that is neither set nor erased), or an I/O error. */
ward_err_t ward_boot_request_pending(ward_boot_ctx_t *ctx, bool *pending, bool *permanent);

/* Read-only view of the state (for `ward device status` and audits): OTP,
 * the primary image (verified when OTP holds a key), trial; update_reason
 * is the last refusal the journal records; resumed says an interrupted
 * swap waits for the next boot; reason is WARD_OK, WARD_ERR_BOOT_NO_KEY or
 * WARD_ERR_BOOT_NO_IMAGE as the next boot would see the primary now.
 * Returns WARD_OK, WARD_ERR_INVALID_ARG or an I/O error. */
ward_err_t ward_boot_status(ward_boot_ctx_t *ctx, ward_boot_report_t *rep);

/*
 * The anti-rollback floor as of now: max(OTP counter, SEC_CNT of the image
 * in the primary if it is confirmed and verifies). An image below it is
 * refused by the next boot (docs/boot.md section 8), so an OTA agent checks
 * update manifests against it before downloading anything. A trial image
 * does not count until the app confirms it (a revert may still bring the
 * previous one back); a confirmed one counts at once, before the next reset
 * burns its counter into OTP. Read-only: parses and verifies the primary
 * (one signature check) when it counts. Returns WARD_OK, WARD_ERR_INVALID_ARG
 * (NULL, or ward_boot_init did not succeed) or an OTP / flash error; on any
 * error *floor is UINT32_MAX, above every image.
 */
ward_err_t ward_boot_floor(ward_boot_ctx_t *ctx, uint32_t *floor);

/* Bytes of a slot an image may use: the slot minus its last swap unit
 * (its last sector when both slots have the same sector sizes). 0 for a
 * layout ward_boot_layout_check refuses. */
uint32_t ward_boot_image_max(const ward_boot_layout_t *layout);

/* Swap units of a slot: where the primary and the secondary both have a
 * sector boundary, from their starts. 0 for a layout ward_boot_layout_check
 * refuses. */
uint32_t ward_boot_units(const ward_boot_layout_t *layout);

/* The layout rules ward_boot_init applies (docs/boot.md, "Layout"): WARD_OK,
 * or WARD_ERR_BOOT_LAYOUT with the first rule broken in *rule (may be
 * NULL; WARD_BOOT_RULE_OK on success). Reads no flash. */
ward_err_t ward_boot_layout_check(const ward_boot_layout_t *layout, ward_boot_layout_rule_t *rule);

#ifdef __cplusplus
}
#endif

#endif /* WARD_BOOT_H */
