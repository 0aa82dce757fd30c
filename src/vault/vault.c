/*
 * ward vault: format, put, get, delete, iterate, stats, wipe, and the
 * space management behind them (sector rotation, garbage collection).
 *
 * Write order, on which power safety rests (docs/vault.md):
 *   session commit x2 (version C+2) -> raise the counter twice, to C+2;
 *           before the first change after a mount; its value names the
 *           nonces of the session
 *   put     record (seq C+1) -> commit x2 (C+1) -> raise to C+1
 *   delete  commit x2 (C+1) -> raise
 *   gc      copies into a headerless free sector -> checkpoint x2 (C) ->
 *           sector header -> erase the reclaimed sector
 * A sector counts only once its header is written, and the header is
 * written after its contents, so an interrupted GC leaves nothing visible.
 *
 * Rollback (docs/vault.md, "Rollback"): a change written but not yet
 * confirmed by the counter has version C+1 at most (C+2 for a session
 * commit). The session commit skips C+1, so no chain the vault extends
 * after a mount can pass through anything written before it, and every
 * put/delete version -- and so every record sequence number, which is its
 * put's version -- is written once in the vault's life.
 */
#include <string.h>

#include "vault_priv.h"

/* ---- helpers ------------------------------------------------------------------ */

/* After a failed write the RAM index may not match the flash: drop the keys
 * and require a new mount. */
static ward_err_t fail(ward_vault_t *v, ward_err_t err)
{
    vlt_keys_destroy(v);
    v->mounted = false;
    return err;
}

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-' || c == ':' || c == '/' || c == '@';
}

ward_err_t ward_vault_name_check(const char *name)
{
    if (name == NULL) {
        return WARD_ERR_VAULT_NAME;
    }
    size_t n = 0;
    while (n <= WARD_VAULT_NAME_MAX && name[n] != '\0') {
        if (!name_char_ok(name[n])) {
            return WARD_ERR_VAULT_NAME;
        }
        n++;
    }
    return n == 0u || n > WARD_VAULT_NAME_MAX ? WARD_ERR_VAULT_NAME : WARD_OK;
}

static ward_err_t raise_counter(ward_vault_t *v)
{
    const ward_hsm_t *hsm = v->cfg.hsm;
    uint32_t val = 0;
    ward_err_t err = hsm->counter_increment(hsm->ctx, v->cfg.counter, &val);
    if (err != WARD_OK) {
        return err > 0 ? WARD_ERR_IO : err;
    }
    if (val != v->version + 1u) {
        return WARD_ERR_STATE; /* the counter is not ours alone */
    }
    v->version = val;
    return WARD_OK;
}

static uint32_t rec_bytes(const ward_vault_t *v, const ward_vault_rec_t *r)
{
    return vlt_rec_size(v, r->nlen, r->vlen);
}

static uint32_t count_free(const ward_vault_t *v)
{
    uint32_t n = 0;
    for (uint32_t s = 0; s < v->nsect; s++) {
        n += v->sect[s].state == VLT_FREE ? 1u : 0u;
    }
    return n;
}

static uint32_t oldest_used(const ward_vault_t *v)
{
    uint32_t best = VLT_NONE;
    for (uint32_t s = 0; s < v->nsect; s++) {
        if (v->sect[s].state == VLT_USED &&
            (best == VLT_NONE || v->sect[s].epoch < v->sect[best].epoch)) {
            best = s;
        }
    }
    return best;
}

/* Free sectors are used in ring order after the head: every sector takes
 * its turn, which is what levels the wear. */
static uint32_t next_free(const ward_vault_t *v, uint32_t after)
{
    for (uint32_t k = 1; k <= v->nsect; k++) {
        uint32_t s = (after + k) % v->nsect;
        if (v->sect[s].state == VLT_FREE) {
            return s;
        }
    }
    return VLT_NONE;
}

static uint32_t live_bytes_in(const ward_vault_t *v, uint32_t o);

/* Can sector s take `raw` bytes, `rec` of them records? Within its own
 * size and record limit; and, in a sector larger than the smallest, with
 * its live records within the smallest sector's limit, so that whichever
 * sector is the GC reserve when s is collected can take them (on uniform
 * flash the live records are within the placed ones: nothing to check). */
static bool fits(const ward_vault_t *v, uint32_t s, uint32_t rec, uint32_t raw)
{
    const ward_vault_sector_t *sc = &v->sect[s];
    const uint32_t ss = vlt_ssize(v, s);
    const uint32_t own = vlt_sect_limit(v, s);
    return sc->state == VLT_USED && sc->wp <= ss && raw <= ss - sc->wp &&
           sc->placed + rec <= own &&
           (own == vlt_rec_limit(v) || live_bytes_in(v, s) + rec <= vlt_rec_limit(v));
}

/* *ours = sector s starts with an authentic header of this vault. */
static ward_err_t header_ours(const ward_vault_t *v, uint32_t s, bool *ours)
{
    uint8_t buf[VLT_SHDR], kcv[VLT_KCV], mac[VLT_MAC];
    vlt_shdr_t h;
    *ours = false;
    ward_err_t err = vlt_read(v, vlt_sbase(v, s), buf, sizeof buf);
    if (err != WARD_OK || !vlt_shdr_decode(buf, &h) || h.format != VLT_FORMAT ||
        h.alg != v->alg || memcmp(h.id, v->vault_id, WARD_VAULT_ID_LEN) != 0) {
        return err;
    }
    err = vlt_kcv(v, v->alg, kcv);
    if (err == WARD_OK) {
        err = vlt_shdr_mac(v, buf, mac);
    }
    *ours = err == WARD_OK && ward_ct_equal(kcv, h.kcv, VLT_KCV) &&
            ward_ct_equal(mac, h.mac, VLT_MAC);
    return err;
}

/*
 * Make free sector s blank. A free sector that is not blank holds nothing of
 * the state (a torn erase or GC, another vault's leftovers) -- unless the
 * flash told the mount something else than it holds: a sector whose header
 * is this vault's after all is not erased (WARD_ERR_CORRUPT; mount again).
 */
static ward_err_t ensure_blank(ward_vault_t *v, uint32_t s)
{
    if (v->sect[s].blank != 0u) {
        return WARD_OK;
    }
    bool blank = false, ours = false;
    const uint32_t base = vlt_sbase(v, s);
    ward_err_t err = vlt_is_blank(v, base, base + vlt_ssize(v, s), &blank);
    if (err != WARD_OK) {
        return err;
    }
    if (blank) {
        v->sect[s].blank = 1;
        return WARD_OK;
    }
    err = header_ours(v, s, &ours);
    if (err != WARD_OK) {
        return err;
    }
    return ours ? WARD_ERR_CORRUPT : vlt_erase(v, s);
}

/*
 * Program the header of sector s. With check (a sector that is not known to
 * have been erased by this mount: its blankness rests on a read), it must
 * read back as written, else WARD_ERR_CORRUPT: on NOR a program over
 * leftovers that a read did not show ANDs into them.
 */
static ward_err_t write_header(ward_vault_t *v, uint32_t s, uint32_t epoch, bool check)
{
    uint8_t buf[VLT_SHDR];
    vlt_shdr_t h;
    memset(&h, 0, sizeof h);
    h.format = VLT_FORMAT;
    h.alg = v->alg;
    h.wsize = (uint8_t)v->wsize;
    h.nsect = (uint8_t)v->nsect;
    h.ssize = vlt_ssize(v, s); /* its own size: the mount checks it against the map */
    h.epoch = epoch;
    h.erases = v->sect[s].erases;
    memcpy(h.id, v->vault_id, WARD_VAULT_ID_LEN);
    ward_err_t err = vlt_kcv(v, v->alg, h.kcv);
    if (err == WARD_OK) {
        /* The MAC covers bytes 0..43: the epoch (log order) and the erase
         * count can no more be edited than the AEAD byte. */
        vlt_shdr_encode(buf, &h);
        err = vlt_shdr_mac(v, buf, h.mac);
    }
    if (err != WARD_OK) {
        return err;
    }
    vlt_shdr_encode(buf, &h);
    v->sect[s].blank = 0;
    err = vlt_prog(v, vlt_sbase(v, s), buf, sizeof buf);
    if (err == WARD_OK && check) {
        uint8_t back[VLT_SHDR];
        err = vlt_read(v, vlt_sbase(v, s), back, sizeof back);
        if (err == WARD_OK && memcmp(back, buf, sizeof back) != 0) {
            err = WARD_ERR_CORRUPT;
        }
    }
    return err;
}

static void mark_used(ward_vault_t *v, uint32_t s, uint32_t epoch, uint32_t wp, uint32_t placed)
{
    ward_vault_sector_t *sc = &v->sect[s];
    sc->state = VLT_USED;
    sc->blank = 0;
    sc->epoch = epoch;
    sc->wp = wp;
    sc->placed = placed;
    v->max_epoch = epoch;
    v->head = s;
}

/* A commit entry of version ver, written twice so one damaged copy is
 * tolerated. */
static ward_err_t write_commit(ward_vault_t *v, uint8_t op, uint32_t ver, uint32_t hash,
                               uint32_t nseq, uint32_t oseq)
{
    uint8_t c[VLT_COMMIT_LEN];
    psa_mac_operation_t mac;
    vlt_writer_t w;
    const uint32_t d = vlt_commit_size(v);
    ward_vault_sector_t *sc = &v->sect[v->head];

    c[0] = VLT_T_COMMIT;
    c[1] = op;
    c[2] = 0;
    c[3] = 0;
    ward_store_le32(c + 4, ver);
    ward_store_le32(c + 8, hash);
    ward_store_le32(c + 12, nseq);
    ward_store_le32(c + 16, oseq);
    ward_store_le32(c + 20, ward_crc32(0, c, 20));
    ward_err_t err = vlt_mac_start(v, &mac);
    if (err != WARD_OK) {
        return err;
    }
    if (psa_mac_update(&mac, c, VLT_COMMIT_BODY) != PSA_SUCCESS) {
        (void)psa_mac_abort(&mac);
        return WARD_ERR_CRYPTO;
    }
    err = vlt_mac_finish(&mac, c + VLT_COMMIT_BODY);
    for (uint32_t copy = 0; copy < 2u && err == WARD_OK; copy++) {
        vlt_w_init(&w, v, vlt_sbase(v, v->head) + sc->wp, NULL);
        err = vlt_w_put(&w, c, sizeof c);
        if (err == WARD_OK) {
            err = vlt_w_end(&w);
        }
        sc->wp += d;
    }
    return err;
}

/* A checkpoint (the whole table, sorted by sequence number) at area offset
 * off, twice. Returns the bytes used in *used. */
static ward_err_t write_ckpt(ward_vault_t *v, uint32_t off, uint32_t version, bool empty,
                             uint32_t *used)
{
    const uint32_t count = empty ? 0u : v->count;
    const uint32_t size = vlt_ckpt_size(v, count);
    psa_mac_operation_t mac;
    vlt_writer_t w;
    uint8_t hdr[VLT_CKPT_HDR], ent[VLT_CKPT_ENTRY], tag[VLT_MAC];

    hdr[0] = VLT_T_CKPT;
    hdr[1] = (uint8_t)count;
    hdr[2] = 0;
    hdr[3] = 0;
    ward_store_le32(hdr + 4, version);
    ward_store_le32(hdr + 8, 0); /* reserved */
    ward_store_le32(hdr + 12, ward_crc32(0, hdr, 12));
    *used = 0;
    for (uint32_t copy = 0; copy < 2u; copy++) {
        ward_err_t err = vlt_mac_start(v, &mac);
        if (err != WARD_OK) {
            return err;
        }
        vlt_w_init(&w, v, off + copy * size, &mac);
        err = vlt_w_put(&w, hdr, sizeof hdr);
        uint32_t prev = 0;
        for (uint32_t k = 0; k < count && err == WARD_OK; k++) {
            uint32_t pick = VLT_NONE;
            for (uint32_t i = 0; i < v->count; i++) {
                if (v->rec[i].seq > prev &&
                    (pick == VLT_NONE || v->rec[i].seq < v->rec[pick].seq)) {
                    pick = i;
                }
            }
            if (pick == VLT_NONE) {
                err = WARD_ERR_STATE;
                break;
            }
            prev = v->rec[pick].seq;
            ward_store_le32(ent, v->rec[pick].hash);
            ward_store_le32(ent + 4, prev);
            err = vlt_w_put(&w, ent, sizeof ent);
        }
        w.mac = NULL;
        if (err != WARD_OK) {
            (void)psa_mac_abort(&mac);
            return err;
        }
        err = vlt_mac_finish(&mac, tag);
        if (err == WARD_OK) {
            err = vlt_w_put(&w, tag, sizeof tag);
        }
        if (err == WARD_OK) {
            err = vlt_w_end(&w);
        }
        if (err != WARD_OK) {
            return err;
        }
        *used += size;
    }
    return WARD_OK;
}

/* ---- rotation and garbage collection ----------------------------------------------- */

/* The header of a new head f, and, if f was not erased by this mount (its
 * blankness rests on a read), the check that it reads back and that the
 * rest of f is erased: WARD_ERR_CORRUPT if not, so that no entry lands on
 * leftovers (on NOR: ANDed into them). */
static ward_err_t head_fill(ward_vault_t *v, uint32_t f, bool unsure)
{
    bool blank = false;
    ward_err_t err = write_header(v, f, v->max_epoch + 1u, unsure);
    if (err == WARD_OK && unsure) {
        const uint32_t base = vlt_sbase(v, f);
        err = vlt_is_blank(v, base + VLT_SHDR, base + vlt_ssize(v, f), &blank);
        if (err == WARD_OK && !blank) {
            err = WARD_ERR_CORRUPT;
        }
    }
    return err;
}

/* Start free sector f as the new head (no garbage to collect). */
static ward_err_t start_sector(ward_vault_t *v, uint32_t f)
{
    if (v->max_epoch == UINT32_MAX) {
        return WARD_ERR_LIMIT;
    }
    ward_err_t err = ensure_blank(v, f);
    if (err != WARD_OK) {
        return err;
    }
    const bool unsure = v->sect[f].unsure != 0u;
    err = head_fill(v, f, unsure);
    if ((err == WARD_ERR_IO && unsure) || err == WARD_ERR_CORRUPT) {
        /* A spent unit that reads erased, or leftovers a read did not show:
         * f holds nothing that counts yet. Erase it, start again. */
        err = vlt_erase(v, f);
        if (err == WARD_OK) {
            err = head_fill(v, f, false);
        }
    }
    if (err == WARD_OK) {
        mark_used(v, f, v->max_epoch + 1u, VLT_SHDR, 0);
    }
    return err;
}

/* Bytes of the live records whose copy is in sector o. */
static uint32_t live_bytes_in(const ward_vault_t *v, uint32_t o)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->count; i++) {
        const ward_vault_rec_t *r = &v->rec[i];
        if (r->off != VLT_NONE && vlt_sector_of(v, r->off) == o) {
            n += rec_bytes(v, r);
        }
    }
    return n;
}

/* Copy those records, in table order, to dst onward (flash only). */
static ward_err_t copy_live(ward_vault_t *v, uint32_t o, uint32_t dst)
{
    ward_err_t err = WARD_OK;
    for (uint32_t i = 0; i < v->count && err == WARD_OK; i++) {
        const ward_vault_rec_t *r = &v->rec[i];
        if (r->off != VLT_NONE && vlt_sector_of(v, r->off) == o) {
            err = vlt_copy_rec(v, dst, r);
            dst += rec_bytes(v, r);
        }
    }
    return err;
}

/* Point them at the copies copy_live made (RAM only, once it succeeded). */
static void move_live(ward_vault_t *v, uint32_t o, uint32_t dst)
{
    for (uint32_t i = 0; i < v->count; i++) {
        ward_vault_rec_t *r = &v->rec[i];
        if (r->off != VLT_NONE && vlt_sector_of(v, r->off) == o) {
            r->off = dst;
            dst += rec_bytes(v, r);
        }
    }
}

/*
 * Before f, filled with the live records of o and a checkpoint pair, is
 * sealed (and o erased): it must read back as written -- each copy's header
 * and, if the record is intact, its CRC; each checkpoint copy's MAC,
 * version and count -- with nothing but erased flash after it. A read that
 * said "blank" of leftovers in f (the programs then AND into them on NOR)
 * must not get the copies' sources erased. WARD_ERR_CORRUPT if not.
 */
static ward_err_t gc_check(ward_vault_t *v, uint32_t f, uint32_t o)
{
    const uint32_t base = vlt_sbase(v, f);
    uint32_t at = base + VLT_SHDR;
    vlt_rec_head_t rh;
    vlt_entry_t e;
    bool ok = false;
    ward_err_t err = WARD_OK;
    for (uint32_t i = 0; i < v->count && err == WARD_OK; i++) {
        const ward_vault_rec_t *r = &v->rec[i];
        if (r->off == VLT_NONE || vlt_sector_of(v, r->off) != o) {
            continue;
        }
        err = vlt_rec_head(v, at, &rh, &ok);
        if (err == WARD_OK && (!ok || ward_load_le32(rh.h + 4) != r->seq || rh.h[1] != r->nlen ||
                               ward_load_le16(rh.h + 2) != r->vlen)) {
            err = WARD_ERR_CORRUPT;
        }
        if (err == WARD_OK && r->good != 0u) {
            err = vlt_rec_crc_ok(v, &rh, &ok);
            err = err == WARD_OK && !ok ? WARD_ERR_CORRUPT : err;
        }
        at += rec_bytes(v, r);
    }
    memset(&e, 0, sizeof e);
    e.type = VLT_T_CKPT;
    e.len = VLT_CKPT_FIXED + VLT_CKPT_ENTRY * v->count;
    e.full = v->entry;
    for (uint32_t copy = 0; copy < 2u && err == WARD_OK; copy++) {
        err = vlt_read(v, at, v->entry, e.len);
        if (err == WARD_OK) {
            err = vlt_entry_mac_ok(v, &e, &ok);
        }
        if (err == WARD_OK && (!ok || v->entry[0] != VLT_T_CKPT || v->entry[1] != v->count ||
                               ward_load_le32(v->entry + 4) != v->version)) {
            err = WARD_ERR_CORRUPT;
        }
        at += vlt_ckpt_size(v, v->count);
    }
    if (err == WARD_OK) {
        err = vlt_is_blank(v, at, base + vlt_ssize(v, f), &ok);
        err = err == WARD_OK && !ok ? WARD_ERR_CORRUPT : err;
    }
    return err;
}

/* Fill free sector f with the live records of sector o (placed bytes), a
 * checkpoint and the header; *end = the bytes used. Changes nothing in RAM.
 * With check (f's blankness rests on a read), f must read back as written
 * before it is sealed, and its header after (WARD_ERR_CORRUPT). */
static ward_err_t gc_fill(ward_vault_t *v, uint32_t f, uint32_t o, uint32_t placed, bool check,
                          uint32_t *end)
{
    const uint32_t base = vlt_sbase(v, f);
    uint32_t used = 0;
    ward_err_t err = copy_live(v, o, base + VLT_SHDR);
    if (err == WARD_OK) {
        err = write_ckpt(v, base + VLT_SHDR + placed, v->version, false, &used);
    }
    if (err == WARD_OK && check) {
        err = gc_check(v, f, o);
    }
    if (err == WARD_OK) {
        err = write_header(v, f, v->max_epoch + 1u, check);
    }
    *end = VLT_SHDR + placed + used;
    return err;
}

/* Copy the live records of sector o into free sector f, seal f with a
 * checkpoint and its header, then erase o. */
static ward_err_t gc_into(ward_vault_t *v, uint32_t f, uint32_t o)
{
    uint32_t end = 0;
    if (v->max_epoch == UINT32_MAX) {
        return WARD_ERR_LIMIT;
    }
    ward_err_t err = vlt_locate_missing(v, o);
    if (err != WARD_OK) {
        return err;
    }
    /* Check the copies and the checkpoint fit before writing anything (a
     * vault written by a build with other limits may not). */
    const uint32_t placed = live_bytes_in(v, o);
    if (placed > vlt_sect_limit(v, f)) {
        return WARD_ERR_NO_SPACE;
    }
    err = ensure_blank(v, f);
    if (err != WARD_OK) {
        return err;
    }
    const bool unsure = v->sect[f].unsure != 0u;
    err = gc_fill(v, f, o, placed, unsure, &end);
    if ((err == WARD_ERR_IO && unsure) || err == WARD_ERR_CORRUPT) {
        /* A unit of f reads erased but was spent by a program a power cut
         * tore, leftovers in f that a read did not show, or a copy's source
         * that read otherwise than at mount: nothing in f counts yet (a
         * header that did not read back does not count either), and o is
         * untouched. Erase f, start again, once. */
        err = vlt_erase(v, f);
        if (err == WARD_OK) {
            err = gc_fill(v, f, o, placed, true, &end);
        }
    }
    if (err != WARD_OK) {
        return err;
    }
    move_live(v, o, vlt_sbase(v, f) + VLT_SHDR);
    mark_used(v, f, v->max_epoch + 1u, end, placed);
    v->ckpt_sector = f;
    return vlt_erase(v, o);
}

/* Writes an entry (or entries) at the head's write position, moving it on. */
typedef ward_err_t (*entry_fn)(ward_vault_t *v, const void *arg);

static ward_err_t make_room(ward_vault_t *v, uint32_t rec, uint32_t raw);

/*
 * Make room at the head for `raw` bytes (`rec` of them record bytes; with
 * rotate, by rotating sectors, else NO_SPACE) and write them with fn; *at =
 * where they start.
 *
 * Program-once (ECC) flash spends the unit a torn program started on even
 * if none of its bits changed: it reads erased and refuses a program
 * (WARD_ERR_IO). Such a unit can only be where an earlier power cycle
 * started its last program: at the write position of a sector this mount
 * has not erased or appended to yet ("unsure"). If the first program there
 * fails so, nothing of the entry landed: it is written again one write unit
 * further on, or in the next sector once the head has no room for it.
 * Every unit is tried once; the mount skips the erased-looking units
 * (docs/vault-format.md, "Spent units").
 */
static ward_err_t append(ward_vault_t *v, uint32_t rec, uint32_t raw, entry_fn fn,
                         const void *arg, uint32_t *at, bool rotate)
{
    uint32_t largest = 0;
    for (uint32_t s = 0; s < v->nsect; s++) {
        largest = vlt_ssize(v, s) > largest ? vlt_ssize(v, s) : largest;
    }
    const uint32_t tries = largest / v->wsize + 4u * v->nsect;
    for (uint32_t t = 0;; t++) {
        ward_err_t err = WARD_OK;
        if (rotate) {
            err = make_room(v, rec, raw);
        } else if (!fits(v, v->head, rec, raw)) {
            err = WARD_ERR_NO_SPACE;
        }
        if (err != WARD_OK) {
            return err;
        }
        ward_vault_sector_t *sc = &v->sect[v->head];
        const uint32_t wp = sc->wp, placed = sc->placed;
        const bool unsure = sc->unsure != 0u;
        if (at != NULL) {
            *at = vlt_sbase(v, v->head) + wp;
        }
        if (unsure) {
            /* Nothing written here since the mount: the mount saw the log
             * end at wp. It must still read erased, so that a read that
             * lied about where the log ends cannot make the vault program
             * over entries (NOR would AND them into garbage). */
            bool blank = false;
            const uint32_t base = vlt_sbase(v, v->head);
            err = vlt_is_blank(v, base + wp, base + wp + raw, &blank);
            if (err == WARD_OK && !blank) {
                err = WARD_ERR_CORRUPT;
            }
            if (err != WARD_OK) {
                return err;
            }
        }
        err = fn(v, arg);
        if (err != WARD_ERR_IO || !unsure || sc->unsure == 0u || t >= tries) {
            return err;
        }
        sc->wp = wp + v->wsize;
        sc->placed = placed;
    }
}

typedef struct {
    uint32_t o;  /* the sector whose records move */
    uint32_t ck; /* bytes of the checkpoint that goes with them, or 0 */
} forward_t;

/* The records of sector a->o (and the checkpoint) appended to the head. */
static ward_err_t copy_forward(ward_vault_t *v, const void *arg)
{
    const forward_t *a = arg;
    ward_vault_sector_t *sc = &v->sect[v->head];
    const uint32_t dst = vlt_sbase(v, v->head) + sc->wp;
    const uint32_t placed = live_bytes_in(v, a->o);
    uint32_t used = 0;
    ward_err_t err = copy_live(v, a->o, dst);
    if (err == WARD_OK && a->ck != 0u) {
        err = write_ckpt(v, dst + placed, v->version, false, &used);
    }
    if (err != WARD_OK) {
        return err;
    }
    move_live(v, a->o, dst);
    sc->placed += placed;
    sc->wp += placed + used;
    if (a->ck != 0u) {
        v->ckpt_sector = v->head;
    }
    return WARD_OK;
}

/*
 * Every sector is in use only after a power cut between sealing a GC target
 * and erasing its source, the oldest sector. Its live records have copies in
 * the target; a record whose copy there was damaged since is still found in
 * the oldest sector, and is copied forward into the head before the erase
 * (records are found by sequence number: the later intact copy wins). If
 * that does not fit, the sector is erased anyway: those records keep their
 * damaged copies and read as WARD_ERR_AUTH, as after a GC the power let
 * finish -- better than a vault that can never rotate again.
 */
static ward_err_t reclaim_oldest(ward_vault_t *v)
{
    const uint32_t o = oldest_used(v);
    forward_t a = {o, 0};
    if (o == VLT_NONE || o == v->head) {
        return WARD_ERR_CORRUPT;
    }
    ward_err_t err = vlt_locate_missing(v, o);
    if (err != WARD_OK) {
        return err;
    }
    const uint32_t placed = live_bytes_in(v, o);
    if (o == v->ckpt_sector) {
        a.ck = 2u * vlt_ckpt_size(v, v->count); /* the state's base goes with it */
    }
    if (placed == 0u && a.ck == 0u) {
        return vlt_erase(v, o);
    }
    err = append(v, placed, placed + a.ck, copy_forward, &a, NULL, false);
    if (err == WARD_ERR_NO_SPACE) {
        if (a.ck != 0u) {
            return WARD_ERR_CORRUPT; /* erasing it would lose the state */
        }
        err = vlt_erase(v, o);
        return err == WARD_OK ? vlt_locate(v) : err;
    }
    return err == WARD_OK ? vlt_erase(v, o) : err;
}

/*
 * An empty state needs nothing on flash but its checkpoint and what follows
 * it. A wipe cut during its erases leaves the old vault empty with its
 * records still on flash; deleting every record does too. Seal the empty
 * state in a free sector (a GC of the head), then erase every other sector.
 */
static ward_err_t compact_empty(ward_vault_t *v)
{
    ward_err_t err = WARD_OK;
    if (v->count != 0u || (count_free(v) + 1u == v->nsect && v->sect[v->head].placed == 0u)) {
        return WARD_OK;
    }
    if (v->ckpt_sector != v->head || v->sect[v->head].placed != 0u) {
        const uint32_t f = next_free(v, v->head);
        if (f == VLT_NONE) {
            return WARD_ERR_CORRUPT;
        }
        err = gc_into(v, f, v->head);
    }
    for (uint32_t s = 0; s < v->nsect && err == WARD_OK; s++) {
        if (s != v->head && v->sect[s].state == VLT_USED) {
            err = vlt_erase(v, s);
        }
    }
    return err;
}

/*
 * Before the first change after a mount, finish what a power cut left half
 * done; nothing here changes the state. A GC cut before erasing its source
 * (every sector in use); free sectors that are not erased (another vault's
 * sectors a wipe had not erased yet, a half-erased sector, a half-written GC
 * target) -- old records' ciphertext must not stay there; an empty state
 * with records still on flash.
 */
static ward_err_t tidy(ward_vault_t *v)
{
    ward_err_t err = count_free(v) == 0u ? reclaim_oldest(v) : WARD_OK;
    for (uint32_t s = 0; s < v->nsect && err == WARD_OK; s++) {
        if (v->sect[s].state == VLT_FREE) {
            err = ensure_blank(v, s);
        }
    }
    return err == WARD_OK ? compact_empty(v) : err;
}

static ward_err_t rotate(ward_vault_t *v)
{
    uint32_t nf = count_free(v);
    if (nf == 0u) {
        ward_err_t err = reclaim_oldest(v);
        if (err != WARD_OK) {
            return err;
        }
        nf = 1;
    }
    const uint32_t f = next_free(v, v->head);
    if (nf >= 2u) {
        return start_sector(v, f);
    }
    /* The last free sector is the reserve: fill it from the oldest. */
    return gc_into(v, f, oldest_used(v));
}

/* Make the head able to take `rec` record bytes within `raw` bytes. */
static ward_err_t make_room(ward_vault_t *v, uint32_t rec, uint32_t raw)
{
    /* Each rotation compacts one sector; after all of them had their turn
     * more rotations cannot help. */
    for (uint32_t i = 0; i <= v->nsect + 1u; i++) {
        if (fits(v, v->head, rec, raw)) {
            return WARD_OK;
        }
        ward_err_t err = rotate(v);
        if (err != WARD_OK) {
            return err;
        }
    }
    return WARD_ERR_NO_SPACE;
}

/* ---- format, mount ------------------------------------------------------------------ */

/*
 * Create a new vault identity in sector `first`: erase every sector but
 * `keep` (VLT_NONE: all), raise the counter `burn` times (to B), write the
 * empty checkpoint (version B+1) and the header, erase `keep`, raise the
 * counter to B+1. The identity is derived from B+1.
 */
static ward_err_t new_vault(ward_vault_t *v, uint32_t keep, uint32_t first, uint32_t epoch,
                            uint32_t burn)
{
    uint32_t used = 0;
    /* The keys first: without a device-unique key nothing is erased. The
     * burns below leave the counter at exactly version + burn. */
    ward_err_t err = vlt_new_id(v, v->version + burn + 1u, v->vault_id);
    if (err == WARD_OK) {
        err = vlt_keys(v);
    }
    /* The burns before the erases: if the power fails before every sector
     * is erased, what is left of the older vault is older than the counter
     * (ROLLBACK), not served again. (Unless it ends with a session commit
     * it never confirmed, two above the counter: then it is its last state,
     * and the format did not start yet as far as the flash tells.) */
    for (uint32_t i = 0; i < burn && err == WARD_OK; i++) {
        err = raise_counter(v);
    }
    for (uint32_t s = 0; s < v->nsect && err == WARD_OK; s++) {
        if (s != keep) {
            err = vlt_erase(v, s);
        }
    }
    if (err != WARD_OK) {
        return err;
    }
    v->count = 0;
    v->session_open = false;
    v->full_at = 0;
    err = write_ckpt(v, vlt_sbase(v, first) + VLT_SHDR, v->version + 1u, true, &used);
    if (err == WARD_OK) {
        err = write_header(v, first, epoch, false);
    }
    if (err != WARD_OK) {
        return err;
    }
    mark_used(v, first, epoch, VLT_SHDR + used, 0);
    v->ckpt_sector = first;
    if (keep != VLT_NONE) {
        err = vlt_erase(v, keep);
        if (err != WARD_OK) {
            return err;
        }
    }
    return raise_counter(v);
}

ward_err_t ward_vault_format(ward_vault_t *v, const ward_vault_config_t *cfg)
{
    uint8_t buf[VLT_SHDR];
    ward_err_t err = vlt_setup(v, cfg);
    if (err == WARD_OK) {
        err = ward_crypto_init();
    }
    if (err != WARD_OK) {
        return err;
    }
    v->alg = cfg->aead == 0 ? (uint8_t)WARD_VAULT_AEAD_AES256_GCM : (uint8_t)cfg->aead;
    const ward_hsm_t *hsm = cfg->hsm;
    err = hsm->counter_read(hsm->ctx, cfg->counter, &v->version);
    if (err != WARD_OK) {
        return err > 0 ? WARD_ERR_IO : err;
    }
    if (v->version > WARD_HSM_COUNTER_MAX - 1u - VLT_FORMAT_BURN) {
        return WARD_ERR_LIMIT;
    }
    /* Keep the erase counts any old header knows; start after the newest
     * old sector so wear keeps rotating. */
    uint32_t first = 0, newest = 0, max_known = 0;
    bool any = false;
    for (uint32_t s = 0; s < v->nsect; s++) {
        vlt_shdr_t h;
        err = vlt_read(v, vlt_sbase(v, s), buf, sizeof buf);
        if (err != WARD_OK) {
            return err;
        }
        if (vlt_shdr_decode(buf, &h)) {
            v->sect[s].erases = h.erases;
            v->sect[s].erases_known = 1;
            max_known = h.erases > max_known ? h.erases : max_known;
            if (!any || h.epoch > newest) {
                newest = h.epoch;
                first = (s + 1u) % v->nsect;
                any = true;
            }
        }
    }
    for (uint32_t s = 0; s < v->nsect; s++) {
        if (v->sect[s].erases_known == 0u) {
            v->sect[s].erases = max_known;
        }
    }
    /* Everything is erased: epochs start again. The old vault may have
     * written a session commit up to two above the counter and lost its
     * raises; the new one starts above that (docs/vault.md, "Rollback"). */
    err = new_vault(v, VLT_NONE, first, 1u, VLT_FORMAT_BURN);
    if (err != WARD_OK) {
        return fail(v, err);
    }
    v->mounted = true;
    return WARD_OK;
}

ward_err_t ward_vault_mount(ward_vault_t *v, const ward_vault_config_t *cfg)
{
    ward_err_t err = vlt_setup(v, cfg);
    if (err == WARD_OK) {
        err = ward_crypto_init();
    }
    if (err == WARD_OK) {
        err = vlt_mount(v);
    }
    if (err != WARD_OK && v != NULL) {
        return fail(v, err);
    }
    return err;
}

void ward_vault_unmount(ward_vault_t *v)
{
    if (v == NULL) {
        return;
    }
    vlt_keys_destroy(v);
    ward_wipe(v, sizeof *v);
}

/* ---- lookups ------------------------------------------------------------------------- */

/*
 * Find the live record called name. *idx = its index or -1; *damaged when a
 * record with the same name hash could not be read, matched or
 * authenticated, so "not found" cannot be claimed. rh receives the found
 * record's head, read once: what get authenticates and decrypts. With
 * auth, a record whose name matches is authenticated before it counts as
 * found (put and delete act on it; get authenticates it anyway): its name
 * is only CRC-framed until its tag verifies, and another record renamed
 * to a name with the same CRC-32 would otherwise be replaced or deleted.
 */
static ward_err_t find_name(const ward_vault_t *v, const char *name, uint32_t nlen, bool auth,
                            int *idx, bool *damaged, vlt_rec_head_t *rh)
{
    const uint32_t hash = ward_crc32(0, name, nlen);
    *idx = -1;
    *damaged = false;
    for (uint32_t i = 0; i < v->count; i++) {
        const ward_vault_rec_t *r = &v->rec[i];
        bool ok = false;
        if (r->hash != hash) {
            continue;
        }
        if (r->off == VLT_NONE) {
            *damaged = true;
            continue;
        }
        ward_err_t err = vlt_rec_head(v, r->off, rh, &ok);
        if (err != WARD_OK) {
            return err;
        }
        if (!ok || ward_load_le32(rh->h + 4) != r->seq ||
            ward_crc32(0, rh->name, rh->h[1]) != hash) {
            *damaged = true; /* not the record committed */
            continue;
        }
        const bool match = rh->h[1] == nlen && memcmp(rh->name, name, nlen) == 0;
        /* Another name with the same CRC-32 -- or one written over the real
         * one. Only the tag tells: "not found" needs an authentic record,
         * and so does a change made to the record found. */
        err = match && !auth ? WARD_OK : vlt_rec_open(v, rh, NULL);
        if (match && err == WARD_OK) {
            *idx = (int)i;
            return WARD_OK;
        }
        if (err == WARD_ERR_AUTH) {
            *damaged = true;
        } else if (err != WARD_OK) {
            return err;
        }
    }
    return WARD_OK;
}

static ward_err_t check_ready(const ward_vault_t *v)
{
    return v != NULL && v->mounted ? WARD_OK : WARD_ERR_STATE;
}

/* Entry checks of the calls that take a record name. */
static ward_err_t check_named(const ward_vault_t *v, const char *name)
{
    ward_err_t err = check_ready(v);
    return err != WARD_OK ? err : ward_vault_name_check(name);
}

/* ---- put --------------------------------------------------------------------------------- */

typedef struct {
    uint8_t op;
    uint32_t ver, hash, nseq, oseq;
} commit_t;

static ward_err_t commit_fn(ward_vault_t *v, const void *arg)
{
    const commit_t *c = arg;
    return write_commit(v, c->op, c->ver, c->hash, c->nseq, c->oseq);
}

/*
 * Before the first change after a mount: the session commit at version
 * C+2, then the counter raised twice. Anything written before this mount
 * and never confirmed has version C+1 at most (or is this same session
 * commit), so it can never be part of a chain this session extends.
 */
static ward_err_t open_session(ward_vault_t *v)
{
    const commit_t c = {VLT_OP_SESSION, v->version + VLT_SESSION_STEP, 0, 0, 0};
    ward_err_t err = append(v, 0, 2u * vlt_commit_size(v), commit_fn, &c, NULL, true);
    for (uint32_t i = 0; i < VLT_SESSION_STEP && err == WARD_OK; i++) {
        err = raise_counter(v);
    }
    if (err == WARD_OK) {
        /* A counter value reached before any encryption of this session:
         * no later session, power cut or not, can get it again. */
        v->session = v->version;
        v->nonce_ix = 0;
        v->session_open = true;
    }
    return err;
}

/* Open the session if this is the first change since the mount. A full
 * vault (NO_SPACE: garbage collection only moved records) leaves the
 * context usable; any other failure requires a new mount. */
static ward_err_t begin_change(ward_vault_t *v)
{
    if (v->session_open) {
        return WARD_OK;
    }
    ward_err_t err = tidy(v);
    if (err == WARD_OK) {
        err = open_session(v);
    }
    if (err == WARD_OK || err == WARD_ERR_NO_SPACE) {
        return err;
    }
    return fail(v, err);
}

/* Counter increments a change needs (its own, plus the session's). */
static bool budget_ok(const ward_vault_t *v, uint32_t own)
{
    const uint32_t need = own + (v->session_open ? 0u : VLT_SESSION_STEP);
    return v->version <= WARD_HSM_COUNTER_MAX - need;
}

static ward_err_t write_record(ward_vault_t *v, const char *name, uint32_t nlen,
                               const uint8_t *value, uint32_t vlen, uint32_t seq)
{
    psa_aead_operation_t op = psa_aead_operation_init();
    vlt_writer_t w;
    uint8_t hdr[VLT_REC_NAME], ct[VLT_CHUNK + VLT_TAG], tag[VLT_TAG], crc[4];
    size_t olen = 0, tlen = 0;
    uint32_t pos = 0;
    ward_vault_sector_t *sc = &v->sect[v->head];

    hdr[0] = VLT_T_RECORD;
    hdr[1] = (uint8_t)nlen;
    ward_store_le16(hdr + 2, (uint16_t)vlen);
    ward_store_le32(hdr + 4, seq);
    ward_store_le32(hdr + 8, ward_crc32(0, hdr, 8));
    /* Nonce = session || index; the index moves on before use. */
    ward_store_le32(hdr + VLT_REC_HDR, v->session);
    ward_store_le64(hdr + VLT_REC_HDR + 4, v->nonce_ix);
    v->nonce_ix++;

    vlt_w_init(&w, v, vlt_sbase(v, v->head) + sc->wp, NULL);
    ward_err_t err = vlt_w_put(&w, hdr, sizeof hdr);
    if (err == WARD_OK) {
        err = vlt_w_put(&w, name, nlen);
    }
    if (err != WARD_OK) {
        return err;
    }
    err = WARD_ERR_CRYPTO;
    if (psa_aead_encrypt_setup(&op, v->aead_key, vlt_aead_alg(v)) != PSA_SUCCESS ||
        psa_aead_set_lengths(&op, WARD_VAULT_ID_LEN + 8u + nlen, vlen) != PSA_SUCCESS ||
        psa_aead_set_nonce(&op, hdr + VLT_REC_HDR, VLT_NONCE) != PSA_SUCCESS ||
        psa_aead_update_ad(&op, v->vault_id, WARD_VAULT_ID_LEN) != PSA_SUCCESS ||
        psa_aead_update_ad(&op, hdr, 8) != PSA_SUCCESS ||
        psa_aead_update_ad(&op, (const uint8_t *)name, nlen) != PSA_SUCCESS) {
        goto exit;
    }
    while (pos < vlen) {
        uint32_t n = vlen - pos < VLT_CHUNK ? vlen - pos : VLT_CHUNK;
        if (psa_aead_update(&op, value + pos, n, ct, sizeof ct, &olen) != PSA_SUCCESS) {
            err = WARD_ERR_CRYPTO;
            goto exit;
        }
        err = vlt_w_put(&w, ct, olen);
        if (err != WARD_OK) {
            goto exit;
        }
        pos += n;
    }
    if (psa_aead_finish(&op, ct, sizeof ct, &olen, tag, sizeof tag, &tlen) != PSA_SUCCESS ||
        tlen != VLT_TAG) {
        err = WARD_ERR_CRYPTO;
        goto exit;
    }
    err = vlt_w_put(&w, ct, olen);
    if (err == WARD_OK) {
        err = vlt_w_put(&w, tag, sizeof tag);
    }
    if (err == WARD_OK) {
        ward_store_le32(crc, w.crc);
        err = vlt_w_put(&w, crc, sizeof crc);
    }
    if (err == WARD_OK) {
        err = vlt_w_end(&w);
    }
exit:
    (void)psa_aead_abort(&op);
    sc->wp += vlt_rec_size(v, nlen, vlen);
    sc->placed += vlt_rec_size(v, nlen, vlen);
    return err;
}

typedef struct {
    const char *name;
    const uint8_t *value;
    uint32_t nlen, vlen, seq;
} record_t;

static ward_err_t record_fn(ward_vault_t *v, const void *arg)
{
    const record_t *a = arg;
    return write_record(v, a->name, a->nlen, a->value, a->vlen, a->seq);
}

ward_err_t ward_vault_put(ward_vault_t *v, const char *name, const uint8_t *value, size_t len)
{
    vlt_rec_head_t rh;
    int idx = -1;
    bool damaged = false;
    ward_err_t err = check_named(v, name);
    if (err != WARD_OK) {
        return err;
    }
    if (value == NULL && len > 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    const uint32_t nlen = (uint32_t)strlen(name);
    if (len > WARD_VAULT_VALUE_MAX) {
        return WARD_ERR_LIMIT;
    }
    const uint32_t vlen = (uint32_t)len;
    const uint32_t r = vlt_rec_size(v, nlen, vlen);
    const uint32_t d = vlt_commit_size(v);
    if (r > vlt_rec_limit(v)) {
        return WARD_ERR_LIMIT;
    }
    if (!budget_ok(v, 1u)) {
        return WARD_ERR_LIMIT;
    }
    err = find_name(v, name, nlen, true, &idx, &damaged, &rh);
    if (err != WARD_OK) {
        return err;
    }
    /* A live record with this name's hash that cannot be read may be this
     * name's: a second record would give the name two live values, the old
     * one back once the damage is undone. Nor can it be replaced: it may be
     * another name with the same CRC-32. (docs/vault.md: wipe.) */
    if (idx < 0 && damaged) {
        return WARD_ERR_AUTH;
    }
    if (idx < 0 && v->count >= WARD_VAULT_MAX_RECORDS) {
        return WARD_ERR_NO_SPACE;
    }
    /* Space: the live records and the new one must fit in nsect-1 sectors
     * (one is the GC reserve); a size that already failed after garbage
     * collection fails at once until something is freed, so a full vault
     * does not wear the flash on every retry (docs/vault.md, "Space"). */
    uint32_t live = 0;
    for (uint32_t i = 0; i < v->count; i++) {
        live += rec_bytes(v, &v->rec[i]);
    }
    if ((uint64_t)live + r > (uint64_t)(v->nsect - 1u) * vlt_rec_limit(v) ||
        (v->full_at != 0u && r >= v->full_at)) {
        return WARD_ERR_NO_SPACE;
    }

    /* From here on the flash changes. */
    err = begin_change(v);
    if (err != WARD_OK) {
        return err;
    }
    /* The record's sequence number is its commit's version: written once
     * in the vault's life, so a record left on flash by a change that was
     * never confirmed can never stand for a later one. */
    const uint32_t seq = v->version + 1u;
    const uint32_t oseq = idx >= 0 ? v->rec[idx].seq : 0u;
    const uint32_t hash = ward_crc32(0, name, nlen);
    const record_t a = {name, value, nlen, vlen, seq};
    uint32_t off = 0;
    err = append(v, r, r + 2u * d, record_fn, &a, &off, true);
    if (err == WARD_ERR_NO_SPACE) {
        v->full_at = r; /* nothing was lost: GC only moved records */
        return err;
    }
    if (err == WARD_OK) {
        err = write_commit(v, VLT_OP_PUT, seq, hash, seq, oseq);
    }
    if (err == WARD_OK) {
        err = raise_counter(v);
    }
    if (err != WARD_OK) {
        return fail(v, err);
    }
    if (idx >= 0) {
        v->rec[idx] = v->rec[v->count - 1u];
        v->count--;
        v->full_at = 0; /* the old value's space is reclaimable */
    }
    ward_vault_rec_t *nr = &v->rec[v->count++];
    nr->hash = hash;
    nr->seq = seq;
    nr->off = off;
    nr->vlen = (uint16_t)vlen;
    nr->nlen = (uint8_t)nlen;
    nr->good = 1;
    return WARD_OK;
}

/* ---- get, delete, iterate --------------------------------------------------------------- */

ward_err_t ward_vault_get(ward_vault_t *v, uint8_t *out, size_t out_size, size_t *out_len,
                          const char *name)
{
    vlt_rec_head_t rh;
    int idx = -1;
    bool damaged = false;
    ward_err_t err = check_named(v, name);
    if (err != WARD_OK) {
        return err;
    }
    if (out_len == NULL || (out == NULL && out_size > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    *out_len = 0;
    err = find_name(v, name, (uint32_t)strlen(name), false, &idx, &damaged, &rh);
    if (err != WARD_OK) {
        return err;
    }
    if (idx < 0) {
        return damaged ? WARD_ERR_AUTH : WARD_ERR_NOT_FOUND;
    }
    if (v->rec[idx].good == 0u) {
        return WARD_ERR_AUTH; /* its bytes are not those written, even if only the CRC */
    }
    const uint32_t vlen = ward_load_le16(rh.h + 2);
    if (vlen > out_size) {
        /* The length told is an authenticated one. */
        err = vlt_rec_open(v, &rh, NULL);
        if (err == WARD_OK) {
            *out_len = vlen;
            err = WARD_ERR_BUF_TOO_SMALL;
        }
        return err;
    }
    err = vlt_rec_open(v, &rh, vlen > 0u ? out : NULL);
    if (err == WARD_OK) {
        *out_len = vlen;
    }
    return err;
}

ward_err_t ward_vault_delete(ward_vault_t *v, const char *name)
{
    vlt_rec_head_t rh;
    int idx = -1;
    bool damaged = false;
    ward_err_t err = check_named(v, name);
    if (err != WARD_OK) {
        return err;
    }
    const uint32_t nlen = (uint32_t)strlen(name);
    err = find_name(v, name, nlen, true, &idx, &damaged, &rh);
    if (err != WARD_OK) {
        return err;
    }
    if (idx < 0) {
        return damaged ? WARD_ERR_AUTH : WARD_ERR_NOT_FOUND;
    }
    if (!budget_ok(v, 1u)) {
        return WARD_ERR_LIMIT;
    }
    err = begin_change(v);
    if (err != WARD_OK) {
        return err;
    }
    const commit_t c = {VLT_OP_DEL, v->version + 1u, v->rec[idx].hash, 0, v->rec[idx].seq};
    err = append(v, 0, 2u * vlt_commit_size(v), commit_fn, &c, NULL, true);
    if (err == WARD_ERR_NO_SPACE) {
        return err;
    }
    if (err == WARD_OK) {
        err = raise_counter(v);
    }
    if (err != WARD_OK) {
        return fail(v, err);
    }
    v->rec[idx] = v->rec[v->count - 1u];
    v->count--;
    v->full_at = 0;
    return WARD_OK;
}

ward_err_t ward_vault_next(ward_vault_t *v, ward_vault_iter_t *it,
                           char name[WARD_CONFIG_VAULT_NAME_MAX + 1], size_t *value_len)
{
    vlt_rec_head_t rh;
    bool ok = false;
    ward_err_t err = check_ready(v);
    if (err != WARD_OK) {
        return err;
    }
    if (it == NULL || name == NULL || value_len == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    name[0] = '\0';
    *value_len = 0;
    uint32_t pick = VLT_NONE;
    for (uint32_t i = 0; i < v->count; i++) {
        if (v->rec[i].seq > it->last_seq &&
            (pick == VLT_NONE || v->rec[i].seq < v->rec[pick].seq)) {
            pick = i;
        }
    }
    if (pick == VLT_NONE) {
        return WARD_ERR_NOT_FOUND;
    }
    const ward_vault_rec_t *r = &v->rec[pick];
    it->last_seq = r->seq;
    if (r->off == VLT_NONE || r->good == 0u) {
        return WARD_ERR_AUTH;
    }
    err = vlt_rec_head(v, r->off, &rh, &ok);
    if (err != WARD_OK) {
        return err;
    }
    if (!ok || ward_load_le32(rh.h + 4) != r->seq ||
        ward_crc32(0, rh.name, rh.h[1]) != r->hash) {
        return WARD_ERR_AUTH;
    }
    /* Authenticate without decrypting into caller memory. The name and
     * size returned are the bytes the tag covered, not a second read. */
    err = vlt_rec_open(v, &rh, NULL);
    if (err != WARD_OK) {
        return err;
    }
    memcpy(name, rh.name, rh.h[1]);
    name[rh.h[1]] = '\0';
    *value_len = ward_load_le16(rh.h + 2);
    return WARD_OK;
}

/* ---- stats, wipe ------------------------------------------------------------------------- */

ward_err_t ward_vault_stats(ward_vault_t *v, ward_vault_stats_t *st)
{
    ward_err_t err = check_ready(v);
    if (err != WARD_OK) {
        return err;
    }
    if (st == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(st, 0, sizeof *st);
    st->sectors = v->nsect;
    st->sector_size = v->ssize;
    st->write_size = v->wsize;
    st->records = v->count;
    for (uint32_t i = 0; i < v->count; i++) {
        st->live_bytes += rec_bytes(v, &v->rec[i]);
    }
    uint32_t used = 0;
    st->erase_min = UINT32_MAX;
    for (uint32_t s = 0; s < v->nsect; s++) {
        const ward_vault_sector_t *sc = &v->sect[s];
        st->sector_sizes[s] = vlt_ssize(v, s);
        if (sc->state == VLT_USED) {
            used += sc->wp - VLT_SHDR;
            st->free_bytes += st->sector_sizes[s] - sc->wp;
        } else {
            st->free_bytes += st->sector_sizes[s] - VLT_SHDR;
        }
        st->erase_counts[s] = sc->erases;
        st->erase_min = sc->erases < st->erase_min ? sc->erases : st->erase_min;
        st->erase_max = sc->erases > st->erase_max ? sc->erases : st->erase_max;
    }
    st->dead_bytes = used > st->live_bytes ? used - st->live_bytes : 0u;
    const uint32_t limit = vlt_rec_limit(v);
    const uint32_t fixed = VLT_REC_OVERHEAD + (uint32_t)WARD_VAULT_NAME_MAX;
    uint32_t maxv = limit > fixed ? limit - fixed : 0u;
    st->max_value_len = maxv < WARD_VAULT_VALUE_MAX ? maxv : (uint32_t)WARD_VAULT_VALUE_MAX;
    st->version = v->version;
    st->counter_remaining =
        v->version < WARD_HSM_COUNTER_MAX ? WARD_HSM_COUNTER_MAX - v->version : 0u;
    st->head = v->head;
    memcpy(st->vault_id, v->vault_id, WARD_VAULT_ID_LEN);
    st->aead = (ward_vault_aead_t)v->alg;
    return WARD_OK;
}

/* An empty checkpoint of version *arg at the head. */
static ward_err_t empty_ckpt_fn(ward_vault_t *v, const void *arg)
{
    uint32_t used = 0;
    ward_vault_sector_t *sc = &v->sect[v->head];
    ward_err_t err =
        write_ckpt(v, vlt_sbase(v, v->head) + sc->wp, *(const uint32_t *)arg, true, &used);
    sc->wp += used;
    return err;
}

ward_err_t ward_vault_wipe(ward_vault_t *v)
{
    ward_err_t err = check_ready(v);
    if (err != WARD_OK) {
        return err;
    }
    if (!budget_ok(v, 2u) || v->max_epoch == UINT32_MAX) {
        /* No new vault can be made any more (the counter or the epochs are
         * spent), but a factory wipe must still destroy the data: erase
         * the whole area. The next mount says WARD_ERR_VAULT_ERASED. */
        err = ward_area_erase(&v->cfg.area, 0, v->cfg.area.size);
        return fail(v, err);
    }
    /* 0. Like every change, after the session commit. */
    err = begin_change(v);
    if (err != WARD_OK) {
        return err;
    }
    /* 1. One authentic empty state: from here no record is readable. */
    const uint32_t ver = v->version + 1u;
    err = append(v, 0, 2u * vlt_ckpt_size(v, 0), empty_ckpt_fn, &ver, NULL, true);
    if (err == WARD_OK) {
        err = raise_counter(v);
    }
    if (err != WARD_OK) {
        return fail(v, err);
    }
    v->count = 0;
    v->ckpt_sector = v->head;
    /* 2. Erase everything into a new identity; the old head goes last so
     *    the empty state stays the newest thing on flash until then. */
    const uint32_t keep = v->head;
    err = new_vault(v, keep, (keep + 1u) % v->nsect, v->max_epoch + 1u, 0);
    if (err != WARD_OK) {
        return fail(v, err);
    }
    return WARD_OK;
}
