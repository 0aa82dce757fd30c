/*
 * ward vault: mount. Finds this vault's sectors, the latest authentic
 * checkpoint and the contiguous chain of authentic commits after it (each
 * one version above the last, a session commit two), checks the resulting
 * state version against the HSM counter (healing raises lost to a power
 * cut) and locates the live records.
 *
 * Framing (CRC) only tells where entries are; every decision about state
 * rests on MACs and, for values, on the AEAD tag checked by get. What is
 * authenticated is what is used: each sector header, commit and checkpoint
 * is read into RAM once, its MAC checked there, and only those bytes are
 * parsed -- a flash that answers a second read differently (an SPI
 * interposer on external flash) gains nothing from the difference.
 */
#include <string.h>

#include "vault_priv.h"

typedef ward_err_t (*visit_fn)(ward_vault_t *v, uint32_t rank, const vlt_entry_t *e, void *arg);

/* Entry types a walk reads whole into v->entry for its visitor. */
#define LOAD_NONE 0u
#define LOAD_COMMIT 1u
#define LOAD_CKPT 2u

uint32_t vlt_log_order(const ward_vault_t *v, uint8_t order[WARD_CONFIG_VAULT_MAX_SECTORS])
{
    uint32_t n = 0;
    for (uint32_t s = 0; s < v->nsect; s++) {
        if (v->sect[s].state != VLT_USED) {
            continue;
        }
        uint32_t i = n;
        while (i > 0u && v->sect[order[i - 1u]].epoch > v->sect[s].epoch) {
            order[i] = order[i - 1u];
            i--;
        }
        order[i] = (uint8_t)s;
        n++;
    }
    return n;
}

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0xFFu) {
            return false;
        }
    }
    return true;
}

/*
 * Visit every well-formed entry of used sector s. Entries follow each other;
 * the first erased header position ends the log if the rest of the sector
 * is erased too. Anything else that does not parse (a header torn by a power
 * cut, a damaged one) closes the sector to appends, and the walk resyncs at
 * each later write-size position so entries after damage stay visible.
 * With track, sets the sector's write pointer and placed record bytes.
 * Commits and checkpoints of the types in load are read whole, once, into
 * v->entry (e->full) before fn sees them.
 */
static ward_err_t walk(ward_vault_t *v, uint32_t s, uint32_t rank, bool track, uint32_t load,
                       visit_fn fn, void *arg)
{
    const uint32_t base = vlt_sbase(v, s);
    const uint32_t end = vlt_ssize(v, s);
    uint32_t pos = VLT_SHDR, placed = 0, wp = end;
    bool garbage = false;
    uint8_t h[VLT_PEEK];

    /* Each pass advances pos by at least the write size. */
    while (pos < end) {
        const uint32_t room = end - pos;
        const size_t n = room < VLT_PEEK ? room : VLT_PEEK;
        ward_err_t err = vlt_read(v, base + pos, h, n);
        if (err != WARD_OK) {
            return err;
        }
        const bool blank = all_ff(h, n < VLT_REC_HDR ? n : VLT_REC_HDR);
        if (blank && !garbage) {
            bool tail = false;
            err = vlt_is_blank(v, base + pos, base + end, &tail);
            if (err != WARD_OK) {
                return err;
            }
            if (tail) {
                wp = pos;
                break;
            }
            garbage = true;
        }
        vlt_entry_t e;
        if (!blank && vlt_parse(v, h, n, room, &e)) {
            e.off = base + pos;
            e.full = NULL;
            if (e.type == VLT_T_RECORD) {
                placed += vlt_pad(v, e.len);
            }
            const bool whole = (e.type == VLT_T_COMMIT && (load & LOAD_COMMIT) != 0u) ||
                               (e.type == VLT_T_CKPT && (load & LOAD_CKPT) != 0u);
            if (whole && fn != NULL) {
                /* The peeked bytes are part of the one read of the entry;
                 * vlt_parse bounded len by the entry buffer and the sector. */
                memcpy(v->entry, h, n);
                err = vlt_read(v, base + pos + (uint32_t)n, v->entry + n, e.len - (uint32_t)n);
                if (err != WARD_OK) {
                    return err;
                }
                e.full = v->entry;
            }
            if (fn != NULL) {
                err = fn(v, rank, &e, arg);
                if (err != WARD_OK) {
                    return err;
                }
            }
            pos += vlt_pad(v, e.len);
            continue;
        }
        garbage = true;
        pos += v->wsize;
    }
    if (track) {
        v->sect[s].wp = garbage ? end : wp;
        v->sect[s].placed = placed;
    }
    return WARD_OK;
}

static ward_err_t walk_all(ward_vault_t *v, const uint8_t *order, uint32_t n, bool track,
                           uint32_t load, visit_fn fn, void *arg)
{
    for (uint32_t r = 0; r < n; r++) {
        ward_err_t err = walk(v, order[r], r, track, load, fn, arg);
        if (err != WARD_OK) {
            return err;
        }
    }
    return WARD_OK;
}

/* ---- pass 1: the latest authentic checkpoint ---------------------------------- */

typedef struct {
    bool found;
    bool disorder;  /* an authentic checkpoint older than an earlier one */
    bool table_bad; /* the latest one's table is inconsistent */
    uint32_t version;
    uint32_t rank;
    uint32_t off;
} scan_t;

static bool load_table(ward_vault_t *v, const uint8_t *ck);

static ward_err_t scan_visit(ward_vault_t *v, uint32_t rank, const vlt_entry_t *e, void *arg)
{
    scan_t *sc = arg;
    if (e->type != VLT_T_CKPT) {
        return WARD_OK;
    }
    bool ok = false;
    ward_err_t err = vlt_entry_mac_ok(v, e, &ok);
    if (err != WARD_OK || !ok) {
        return err; /* a torn or damaged copy: the other one may do */
    }
    const uint32_t ver = ward_load_le32(e->full + 4);
    if (sc->found && ver < sc->version) {
        sc->disorder = true;
        return WARD_OK;
    }
    sc->found = true;
    sc->version = ver;
    sc->rank = rank;
    sc->off = e->off;
    /* The table comes from the bytes just authenticated, now: the later
     * authentic checkpoint, if any, replaces it. */
    sc->table_bad = !load_table(v, e->full);
    return WARD_OK;
}

/* ---- the index ----------------------------------------------------------------- */

static int find_seq(const ward_vault_t *v, uint32_t seq)
{
    for (uint32_t i = 0; i < v->count; i++) {
        if (v->rec[i].seq == seq) {
            return (int)i;
        }
    }
    return -1;
}

static bool add_rec(ward_vault_t *v, uint32_t hash, uint32_t seq)
{
    if (seq == 0u || v->count >= WARD_VAULT_MAX_RECORDS || find_seq(v, seq) >= 0) {
        return false;
    }
    ward_vault_rec_t *r = &v->rec[v->count++];
    memset(r, 0, sizeof *r);
    r->hash = hash;
    r->seq = seq;
    r->off = VLT_NONE;
    return true;
}

static void del_rec(ward_vault_t *v, uint32_t i)
{
    v->rec[i] = v->rec[v->count - 1u];
    v->count--;
}

/* The index from an authenticated checkpoint in RAM; false if the table is
 * inconsistent (authentic, but not something the vault writes). */
static bool load_table(ward_vault_t *v, const uint8_t *ck)
{
    const uint32_t count = ck[1];
    v->count = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *t = ck + VLT_CKPT_HDR + VLT_CKPT_ENTRY * i;
        if (!add_rec(v, ward_load_le32(t), ward_load_le32(t + 4))) {
            return false;
        }
    }
    return true;
}

/* Apply one authentic commit to the index; false if it does not fit it. */
static bool apply(ward_vault_t *v, const uint8_t *h)
{
    const uint32_t ver = ward_load_le32(h + 4);
    const uint32_t hash = ward_load_le32(h + 8);
    const uint32_t nseq = ward_load_le32(h + 12);
    const uint32_t oseq = ward_load_le32(h + 16);
    int i;
    switch (h[1]) {
    case VLT_OP_SESSION:
        return hash == 0u && nseq == 0u && oseq == 0u;
    case VLT_OP_PUT:
        /* A record's sequence number is the version of the put that made it. */
        if (nseq != ver || find_seq(v, nseq) >= 0) {
            return false;
        }
        if (oseq != 0u) {
            i = find_seq(v, oseq);
            if (i < 0 || v->rec[i].hash != hash) {
                return false;
            }
            del_rec(v, (uint32_t)i);
        }
        return add_rec(v, hash, nseq);
    case VLT_OP_DEL:
        i = find_seq(v, oseq);
        if (nseq != 0u || i < 0 || v->rec[i].hash != hash) {
            return false;
        }
        del_rec(v, (uint32_t)i);
        return true;
    default:
        return false;
    }
}

/* ---- pass 2: the commits after the checkpoint ------------------------------------ */

typedef struct {
    uint32_t ck_rank, ck_off;
    uint32_t last; /* version of the state built so far */
    bool applied;  /* last came from a commit (not the checkpoint) */
    uint8_t last_body[20];
    bool bad;
} chain_t;

static ward_err_t chain_visit(ward_vault_t *v, uint32_t rank, const vlt_entry_t *e, void *arg)
{
    chain_t *c = arg;
    if (e->type != VLT_T_COMMIT || c->bad || rank < c->ck_rank ||
        (rank == c->ck_rank && e->off <= c->ck_off)) {
        return WARD_OK;
    }
    bool ok = false;
    ward_err_t err = vlt_entry_mac_ok(v, e, &ok);
    if (err != WARD_OK || !ok) {
        return err; /* torn or damaged copy */
    }
    const uint8_t *body = e->full; /* the bytes the MAC covered */
    const uint32_t ver = ward_load_le32(body + 4);
    if (ver < c->last || (ver == c->last && !c->applied)) {
        return WARD_OK; /* an older commit copied here: cannot change the state */
    }
    if (ver == c->last) {
        /* The second copy of the commit just applied must be identical. */
        c->bad = memcmp(body, c->last_body, sizeof c->last_body) != 0;
        return WARD_OK;
    }
    const uint32_t step = body[1] == VLT_OP_SESSION ? VLT_SESSION_STEP : 1u;
    if (c->last > UINT32_MAX - step || ver != c->last + step || !apply(v, body)) {
        c->bad = true; /* a commit is missing, or does not fit the state */
        return WARD_OK;
    }
    c->last = ver;
    c->applied = true;
    memcpy(c->last_body, body, sizeof c->last_body);
    return WARD_OK;
}

/* ---- pass 3: where the live records are ---------------------------------------- */

typedef struct {
    bool missing_only; /* before a reclaim: fill in only records not located
                        * yet, or whose copy elsewhere no longer checks */
    uint32_t seen;     /* copies of live records visited */
} locate_t;

/* *ok = the copy of r where the mount located it still reads as it did --
 * r's header and name hash -- and is intact: its CRC and its tag (a copy
 * with a fixed CRC may be a forgery a lying read had garbage collection
 * program, which then refused it, CORRUPT). */
static ward_err_t still_there(const ward_vault_t *v, const ward_vault_rec_t *r, bool *ok)
{
    vlt_rec_head_t rh;
    bool hok = false;
    *ok = false;
    ward_err_t err = vlt_rec_head(v, r->off, &rh, &hok);
    if (err != WARD_OK || !hok || r->good == 0u || ward_load_le32(rh.h + 4) != r->seq ||
        rh.h[1] != r->nlen || ward_load_le16(rh.h + 2) != r->vlen ||
        ward_crc32(0, rh.name, rh.h[1]) != r->hash) {
        return err;
    }
    err = vlt_rec_open(v, &rh, NULL);
    *ok = err == WARD_OK;
    return err == WARD_ERR_AUTH ? WARD_OK : err;
}

static ward_err_t locate_visit(ward_vault_t *v, uint32_t rank, const vlt_entry_t *e, void *arg)
{
    locate_t *lc = arg;
    (void)rank;
    if (e->type != VLT_T_RECORD) {
        return WARD_OK;
    }
    int i = find_seq(v, ward_load_le32(e->h + 4));
    if (i < 0) {
        return WARD_OK;
    }
    ward_vault_rec_t *r = &v->rec[i];
    vlt_rec_head_t rh;
    bool ok = false;
    ward_err_t err;
    if (lc->missing_only && r->off != VLT_NONE) {
        /* Located in this sector: garbage collection copies it from there
         * and checks what it programs. Located elsewhere: the sector about
         * to be erased may hold its only real copy, if the mount was shown
         * one that is not there (a read that lied), or a damaged one. */
        if (vlt_sector_of(v, r->off) == vlt_sector_of(v, e->off)) {
            return WARD_OK;
        }
        err = still_there(v, r, &ok);
        if (err != WARD_OK || ok) {
            return err;
        }
        r->off = VLT_NONE;
    }
    lc->seen++;
    /* Where a record is, and whether it looks intact, are hints for get
     * and list, which read it again and authenticate what they read. The
     * header is the walk's read; the name and the rest are read once. */
    rh.off = e->off;
    memcpy(rh.h, e->h, sizeof rh.h);
    err = vlt_read(v, e->off + VLT_REC_NAME, rh.name, e->h[1]);
    if (err == WARD_OK) {
        err = vlt_rec_crc_ok(v, &rh, &ok);
    }
    if (err != WARD_OK) {
        return err;
    }
    ok = ok && ward_crc32(0, rh.name, rh.h[1]) == r->hash;
    /* Walked in log order: a later intact copy (made by garbage
     * collection) wins; a damaged copy never replaces an intact one. */
    if (r->off == VLT_NONE || ok || r->good == 0u) {
        r->off = e->off;
        r->nlen = e->h[1];
        r->vlen = ward_load_le16(e->h + 2);
        r->good = ok ? 1u : 0u;
    }
    return WARD_OK;
}

ward_err_t vlt_locate(ward_vault_t *v)
{
    uint8_t order[WARD_CONFIG_VAULT_MAX_SECTORS];
    for (uint32_t i = 0; i < v->count; i++) {
        v->rec[i].off = VLT_NONE;
        v->rec[i].good = 0;
    }
    const uint32_t n = vlt_log_order(v, order);
    locate_t lc = {false, 0};
    return walk_all(v, order, n, false, LOAD_NONE, locate_visit, &lc);
}

ward_err_t vlt_locate_missing(ward_vault_t *v, uint32_t s)
{
    locate_t lc = {true, 0};
    return v->count == 0u ? WARD_OK : walk(v, s, 0, false, LOAD_NONE, locate_visit, &lc);
}

/* Two live records with one name: written by a build whose put did not
 * refuse a name whose record could not be read. Which value is current
 * cannot be told from the state, so neither is served. */
static ward_err_t names_unique(const ward_vault_t *v)
{
    uint8_t a[WARD_CONFIG_VAULT_NAME_MAX], b[WARD_CONFIG_VAULT_NAME_MAX];
    for (uint32_t i = 0; i < v->count; i++) {
        const ward_vault_rec_t *r = &v->rec[i];
        for (uint32_t j = i + 1u; j < v->count && r->good != 0u; j++) {
            const ward_vault_rec_t *q = &v->rec[j];
            if (q->hash != r->hash || q->good == 0u || q->nlen != r->nlen) {
                continue;
            }
            ward_err_t err = vlt_read(v, r->off + VLT_REC_NAME, a, r->nlen);
            if (err == WARD_OK) {
                err = vlt_read(v, q->off + VLT_REC_NAME, b, q->nlen);
            }
            if (err != WARD_OK) {
                return err;
            }
            if (memcmp(a, b, r->nlen) == 0) {
                return WARD_ERR_AUTH;
            }
        }
    }
    return WARD_OK;
}

/* ---- mount ----------------------------------------------------------------------- */

/* The header of sector s was written for this area: its write size, its
 * sector count and that sector's own size (which differs between sectors
 * on a sector map). */
static bool geometry_ok(const ward_vault_t *v, uint32_t s, const vlt_shdr_t *h)
{
    return h->wsize == v->wsize && h->ssize == vlt_ssize(v, s) && h->nsect == v->nsect;
}

static bool format_ok(const vlt_shdr_t *h)
{
    return h->format == VLT_FORMAT &&
           (h->alg == WARD_VAULT_AEAD_AES256_GCM || h->alg == WARD_VAULT_AEAD_CHACHA20_POLY1305);
}

/* Pick the newest header of a known format and geometry; classify the rest.
 * Nothing here is trusted yet: the pick only names the vault identity that
 * the key check and each header's MAC then confirm. */
static ward_err_t pick_vault(ward_vault_t *v, vlt_shdr_t *best)
{
    uint8_t buf[VLT_SHDR];
    bool found = false, unsupported = false, geometry = false;
    for (uint32_t s = 0; s < v->nsect; s++) {
        vlt_shdr_t h;
        ward_err_t err = vlt_read(v, vlt_sbase(v, s), buf, sizeof buf);
        if (err != WARD_OK) {
            return err;
        }
        v->sect[s].state = VLT_FREE;
        v->sect[s].unsure = 1; /* written before this mount */
        if (!vlt_shdr_decode(buf, &h)) {
            continue;
        }
        /* Any ward header carries this sector's real erase count. */
        v->sect[s].erases = h.erases;
        v->sect[s].erases_known = 1;
        if (!format_ok(&h)) {
            unsupported = true;
        } else if (!geometry_ok(v, s, &h)) {
            geometry = true;
        } else if (!found || h.epoch > best->epoch) {
            *best = h;
            found = true;
        }
    }
    if (unsupported || geometry) {
        return found ? WARD_OK : unsupported ? WARD_ERR_UNSUPPORTED : WARD_ERR_CORRUPT;
    }
    if (!found) {
        /* No vault. If the counter ever moved, one existed: its erasure is a
         * rollback to nothing (every revocation and freshness record gone),
         * not a first boot, and formatting is the application's call. */
        const ward_hsm_t *hsm = v->cfg.hsm;
        uint32_t c = 0;
        ward_err_t err = hsm->counter_read(hsm->ctx, v->cfg.counter, &c);
        if (err != WARD_OK) {
            return err > 0 ? WARD_ERR_IO : err;
        }
        return c != 0u ? WARD_ERR_VAULT_ERASED : WARD_ERR_VAULT_UNFORMATTED;
    }
    return WARD_OK;
}

ward_err_t vlt_mount(ward_vault_t *v)
{
    uint8_t buf[VLT_SHDR], kcv[VLT_KCV], mac[VLT_MAC];
    uint8_t order[WARD_CONFIG_VAULT_MAX_SECTORS];
    vlt_shdr_t best;
    scan_t sc;
    chain_t ch;

    ward_err_t err = pick_vault(v, &best);
    if (err != WARD_OK) {
        return err;
    }
    v->alg = best.alg;
    memcpy(v->vault_id, best.id, WARD_VAULT_ID_LEN);
    err = vlt_keys(v);
    if (err == WARD_OK) {
        err = vlt_kcv(v, v->alg, kcv);
    }
    if (err != WARD_OK) {
        return err;
    }
    if (!ward_ct_equal(kcv, best.kcv, VLT_KCV)) {
        /* The key check value covers the AEAD byte: if it holds for the
         * other AEAD, the header was edited (every record would fail, and
         * the next put would switch cipher). Else: another device's key. */
        const uint8_t other = v->alg == WARD_VAULT_AEAD_AES256_GCM
                                  ? (uint8_t)WARD_VAULT_AEAD_CHACHA20_POLY1305
                                  : (uint8_t)WARD_VAULT_AEAD_AES256_GCM;
        err = vlt_kcv(v, other, kcv);
        if (err != WARD_OK) {
            return err;
        }
        return ward_ct_equal(kcv, best.kcv, VLT_KCV) ? WARD_ERR_AUTH : WARD_ERR_VAULT_FOREIGN;
    }
    /* This vault's sectors: same identity and key check value, and a header
     * whose MAC verifies over the bytes read here, from which its epoch
     * (the log order) is taken. Others are leftovers (an old vault, foreign
     * data, a header edited or torn) and count as free. */
    uint32_t max_known = 0;
    for (uint32_t s = 0; s < v->nsect; s++) {
        vlt_shdr_t h;
        err = vlt_read(v, vlt_sbase(v, s), buf, sizeof buf);
        if (err != WARD_OK) {
            return err;
        }
        if (vlt_shdr_decode(buf, &h) && format_ok(&h) && geometry_ok(v, s, &h) &&
            h.alg == v->alg && memcmp(h.id, v->vault_id, WARD_VAULT_ID_LEN) == 0 &&
            ward_ct_equal(h.kcv, kcv, VLT_KCV)) {
            err = vlt_shdr_mac(v, buf, mac);
            if (err != WARD_OK) {
                return err;
            }
            if (ward_ct_equal(mac, h.mac, VLT_MAC)) {
                v->sect[s].state = VLT_USED;
                v->sect[s].epoch = h.epoch;
                v->sect[s].erases = h.erases;
                if (h.epoch > v->max_epoch) {
                    v->max_epoch = h.epoch;
                }
            }
        }
        if (v->sect[s].erases_known != 0u && v->sect[s].erases > max_known) {
            max_known = v->sect[s].erases;
        }
    }
    for (uint32_t s = 0; s < v->nsect; s++) {
        if (v->sect[s].erases_known == 0u) {
            v->sect[s].erases = max_known; /* unknown: assume the most worn */
        }
    }
    const uint32_t n = vlt_log_order(v, order);
    if (n == 0u) {
        return WARD_ERR_AUTH; /* not one authentic header of this vault */
    }

    memset(&sc, 0, sizeof sc);
    err = walk_all(v, order, n, true, LOAD_CKPT, scan_visit, &sc);
    if (err != WARD_OK) {
        return err;
    }
    if (!sc.found || sc.disorder || sc.table_bad) {
        /* The vault's authenticated state is gone, or not one it wrote. */
        return WARD_ERR_AUTH;
    }
    memset(&ch, 0, sizeof ch);
    ch.ck_rank = sc.rank;
    ch.ck_off = sc.off;
    ch.last = sc.version;
    err = walk_all(v, order, n, false, LOAD_COMMIT, chain_visit, &ch);
    if (err != WARD_OK) {
        return err;
    }
    if (ch.bad) {
        return WARD_ERR_AUTH;
    }

    /* The rollback check: the state must be the counter's, or ahead of it
     * by the raises lost to a power cut after writing it -- one, or two
     * after a session commit -- which are made now. Anything else is an
     * older state (or a counter store older than the flash). */
    const ward_hsm_t *hsm = v->cfg.hsm;
    uint32_t c = 0;
    err = hsm->counter_read(hsm->ctx, v->cfg.counter, &c);
    if (err != WARD_OK) {
        return err > 0 ? WARD_ERR_IO : err;
    }
    const bool session_last = ch.applied && ch.last_body[1] == VLT_OP_SESSION;
    if (ch.last < c || ch.last - c > (session_last ? VLT_SESSION_STEP : 1u) ||
        ch.last > WARD_HSM_COUNTER_MAX) {
        return WARD_ERR_ROLLBACK;
    }
    while (c < ch.last) {
        uint32_t nv = 0;
        err = hsm->counter_increment(hsm->ctx, v->cfg.counter, &nv);
        if (err != WARD_OK) {
            return err > 0 ? WARD_ERR_IO : err;
        }
        if (nv != c + 1u) {
            return WARD_ERR_STATE; /* someone else raises this counter */
        }
        c = nv;
    }
    v->version = ch.last;

    err = vlt_locate(v);
    if (err == WARD_OK) {
        err = names_unique(v);
    }
    if (err != WARD_OK) {
        return err;
    }
    v->head = order[n - 1u];
    v->ckpt_sector = vlt_sector_of(v, sc.off);
    v->session_open = false;
    v->mounted = true;
    return WARD_OK;
}
