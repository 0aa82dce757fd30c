/*
 * The vault under a hostile flash (issue 7, docs/vault.md §2): an SPI
 * interposer or flash emulator that answers one chosen read -- or every
 * read from that one on -- with other bytes, while the chip holds the
 * honest vault. Every check-then-use pair of mount, get, list and a put is
 * attacked: the honest run's reads are counted (R), then for every N in
 * 1..R, once and from then on, read N returns the bytes of a substitute
 * image at the same offsets:
 *
 *   old      an older dump of the same vault (the old Wi-Fi password, a
 *            bond that was deleted since, before a garbage collection)
 *   ckpt     the honest image with the latest checkpoint's table edited:
 *            the Wi-Fi entry points at the old password's record, the
 *            token's name hash is changed, a filler entry names the bond
 *   commit   the honest image with the bond's delete commit and the Wi-Fi
 *            put commit forged into puts of another name (CRCs fixed)
 *   name     the honest image with the Wi-Fi record renamed "wid9XC.2",
 *            a name with the same CRC-32 (record CRC fixed)
 *   header   the honest image with the head sector's header changed:
 *            epoch 0xFFFFFFFF, the other AEAD (CRC fixed)
 *   other    another device's vault with the same names
 *
 * The oracle: every value returned or acted on is the honest one or a
 * clean error. Mount: OK with the honest version, counter and contents
 * (checked through honest reads afterwards), or AUTH / CORRUPT / ROLLBACK /
 * IO / FOREIGN / UNSUPPORTED / ERASED; never UNFORMATTED (an invitation to
 * format). get: the honest value, NOT_FOUND only for a name that is not
 * there, or AUTH / CORRUPT / IO. list: the honest names and sizes in
 * order, AUTH / CORRUPT / IO for an entry, never a name that is not the
 * honest one, never fewer entries. put (a short value, and one long enough
 * to collect garbage): OK or a clean error, and an honest remount afterwards
 * gives every record its honest value (the put's name the new one if it
 * returned OK, the old or the new one otherwise) -- no record may read AUTH:
 * a put that acted on a lie must not destroy anything. mount*: a lie at
 * mount, then an honest put, judged the same way. A record that reads AUTH
 * after a lied-to mount, until the next mount, is a clean error, counted as
 * "lost".
 *
 * Two targeted cases follow the sweep: a lie about where the log ends
 * (the first put must not program over entries), and a record hidden from
 * the mount whose sector the next put collects (it must be copied).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../unit/vault/vault_assert.h"

#define NSECT 4u
#define SSIZE 2048u
#define WS 8u
#define AREA (NSECT * SSIZE)
#define MAXN 40

static const char k_collide[] = "wid9XC.2"; /* CRC-32 of "wifi.psk" */

/* ---- the honest model -------------------------------------------------------------------- */

typedef struct {
    char name[WARD_VAULT_NAME_MAX + 1];
    uint8_t val[1000];
    size_t len;
    bool live;
    uint32_t seq;
} entry_t;

typedef struct {
    entry_t e[MAXN];
    int n;
    uint32_t version; /* the honest state version == HSM counter */
    uint32_t seq_wifi_old, seq_wifi_new, seq_bond;
} model_t;

static entry_t *model_find(model_t *m, const char *name)
{
    for (int i = 0; i < m->n; i++) {
        if (strcmp(m->e[i].name, name) == 0) {
            return &m->e[i];
        }
    }
    assert_true(m->n < MAXN);
    entry_t *e = &m->e[m->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    return e;
}

static uint32_t put_m(ward_vault_t *v, model_t *m, const char *name, const void *val, size_t len)
{
    ward_vault_stats_t st;
    assert_int_equal(ward_vault_put(v, name, val, len), WARD_OK);
    assert_int_equal(ward_vault_stats(v, &st), WARD_OK);
    entry_t *e = model_find(m, name);
    memcpy(e->val, val, len);
    e->len = len;
    e->live = true;
    e->seq = st.version;
    return st.version;
}

static void put_filler(ward_vault_t *v, model_t *m, const char *name, uint32_t gen)
{
    uint8_t val[150];
    tv_value(val, sizeof val, name, gen);
    put_m(v, m, name, val, sizeof val);
}

/*
 * Three fillers written twice fill sector 0; the Wi-Fi password, a bond and a token go to
 * sector 1 (the "old" dump is taken there); then the password changes,
 * the bond is deleted (another device: the token), and fillers go on until
 * garbage collection has moved sector 0 into sector 3 with a checkpoint
 * of the new state. The old password's and the bond's records stay on
 * flash in sector 1.
 */
static void scenario(tv_dev_t *d, model_t *m, bool other, uint8_t *old_img)
{
    ward_vault_t v;
    ward_vault_stats_t st;
    char name[8];
    memset(m, 0, sizeof *m);
    assert_int_equal(ward_vault_format(&v, &d->cfg), WARD_OK);
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "f%d", i % 3);
        put_filler(&v, m, name, other ? 9u : (uint32_t)i);
    }
    const char *wifi_old = other ? "other-device-psk!" : "old-wifi-password";
    m->seq_wifi_old = put_m(&v, m, "wifi.psk", wifi_old, strlen(wifi_old));
    const uint8_t bond[16] = {0xb0, 0x0d, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, other};
    m->seq_bond = put_m(&v, m, "ble/ltk:0", bond, sizeof bond);
    put_m(&v, m, "cloud/token", other ? "tok-other" : "token-0001", other ? 9u : 10u);
    ward_vault_unmount(&v);
    if (old_img != NULL) {
        memcpy(old_img, d->flash.mem, AREA);
    }
    assert_int_equal(ward_vault_mount(&v, &d->cfg), WARD_OK);
    const char *wifi_new = other ? "other-device-psk2" : "new-wifi-password-2";
    m->seq_wifi_new = put_m(&v, m, "wifi.psk", wifi_new, strlen(wifi_new));
    const char *gone = other ? "cloud/token" : "ble/ltk:0";
    assert_int_equal(ward_vault_delete(&v, gone), WARD_OK);
    model_find(m, gone)->live = false;
    const uint64_t e0 = tv_erases(d);
    for (int i = 0; i < 30 && tv_erases(d) == e0; i++) {
        snprintf(name, sizeof name, "g%d", i % 4);
        put_filler(&v, m, name, other ? 9u : 2u + (uint32_t)i);
    }
    assert_true(tv_erases(d) > e0); /* sector 0 was collected */
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    m->version = st.version;
    ward_vault_unmount(&v);
    model_find(m, k_collide); /* never stored: must stay NOT_FOUND */
}

/* ---- raw layout (docs/vault-format.md), to forge substitutes ------------------------------- */

/* Where the entries of a sector start, 0 if it has no valid header. */
static uint32_t shdr_len(const uint8_t *sec)
{
    return tv_shdr_ok(sec) ? TV_SHDR : 0u;
}

static uint32_t pad(uint32_t n)
{
    return (n + WS - 1u) / WS * WS;
}

/* Length of the well-formed entry at e, 0 at the end of the log. */
static uint32_t entry_len(const uint8_t *e)
{
    switch (e[0]) {
    case 'R':
        return 44u + e[1] + ward_load_le16(e + 2);
    case 'C':
        return 40u;
    case 'P':
        return 32u + 8u * e[1];
    default:
        return 0u;
    }
}

typedef void (*edit_fn)(uint8_t *img, uint32_t off, const model_t *m);

/* Call fn on every entry of every used sector, in sector order. */
static void each_entry(uint8_t *img, const model_t *m, edit_fn fn)
{
    for (uint32_t s = 0; s < NSECT; s++) {
        uint8_t *sec = img + s * SSIZE;
        uint32_t p = shdr_len(sec);
        if (p == 0u) {
            continue;
        }
        while (p + 12u <= SSIZE) {
            const uint32_t len = entry_len(sec + p);
            if (len == 0u) {
                break;
            }
            fn(img, s * SSIZE + p, m);
            p += pad(len);
        }
    }
}

static uint32_t head_sector(const uint8_t *img)
{
    uint32_t best = 0, epoch = 0;
    for (uint32_t s = 0; s < NSECT; s++) {
        const uint8_t *sec = img + s * SSIZE;
        if (shdr_len(sec) != 0u && ward_load_le32(sec + 12) >= epoch) {
            epoch = ward_load_le32(sec + 12);
            best = s;
        }
    }
    return best;
}

static uint32_t crc_name(const char *n)
{
    return ward_crc32(0, n, strlen(n));
}

/* The checkpoints in the head sector: the Wi-Fi entry -> the old record,
 * the token's hash changed, the first filler -> the deleted bond. */
static void edit_ckpt(uint8_t *img, uint32_t off, const model_t *m)
{
    uint8_t *e = img + off;
    if (e[0] != 'P' || off / SSIZE != head_sector(img)) {
        return;
    }
    for (uint32_t i = 0; i < e[1]; i++) {
        uint8_t *t = e + 16 + 8 * i;
        const uint32_t hash = ward_load_le32(t), seq = ward_load_le32(t + 4);
        if (hash == crc_name("wifi.psk")) {
            ward_store_le32(t + 4, m->seq_wifi_old);
        } else if (hash == crc_name("cloud/token")) {
            ward_store_le32(t, hash ^ 0x01000000u);
        } else if (hash == crc_name("f0") && seq != 0u) {
            ward_store_le32(t, crc_name("ble/ltk:0"));
            ward_store_le32(t + 4, m->seq_bond);
        }
    }
}

/* The bond's delete commit and the new password's put commit, both copies:
 * puts of another name, so the bond and the old password stay live. */
static void edit_commit(uint8_t *img, uint32_t off, const model_t *m)
{
    uint8_t *c = img + off;
    if (c[0] != 'C') {
        return;
    }
    const uint32_t ver = ward_load_le32(c + 4);
    if ((c[1] == 2 && ward_load_le32(c + 16) == m->seq_bond) ||
        (c[1] == 1 && ward_load_le32(c + 12) == m->seq_wifi_new)) {
        c[1] = 1;
        ward_store_le32(c + 8, crc_name("zz"));
        ward_store_le32(c + 12, ver);
        ward_store_le32(c + 16, 0);
        ward_store_le32(c + 20, ward_crc32(0, c, 20));
    }
}

/* The current password's record renamed to a name with the same CRC-32. */
static void edit_name(uint8_t *img, uint32_t off, const model_t *m)
{
    uint8_t *r = img + off;
    if (r[0] != 'R' || ward_load_le32(r + 4) != m->seq_wifi_new) {
        return;
    }
    const uint32_t len = entry_len(r);
    memcpy(r + 24, k_collide, 8);
    ward_store_le32(r + len - 4, ward_crc32(0, r, len - 4));
}

static void edit_header(uint8_t *img, const model_t *m)
{
    (void)m;
    uint8_t *sec = img + head_sector(img) * SSIZE;
    ward_store_le32(sec + 12, 0xFFFFFFFFu);
    sec[5] = sec[5] == 1 ? 2 : 1;
    tv_shdr_fix_crc(sec);
}

/* ---- the sweep --------------------------------------------------------------------------- */

typedef struct {
    tv_dev_t d;
    ward_sim_hostile_t h;
    ward_vault_config_t cfg; /* on the hostile port */
    tv_snap_t honest;
    model_t m;
    const char *subst_name;
    const uint8_t *subst;
    uint32_t put_len; /* the put's value: short, or long enough to collect garbage */
    uint64_t runs, attacked, accepted, lost;
    char first_bad[4][200], first_lost[200];
    int nbad;
} sweep_t;

/* Something a lie made the vault return or act on: the first few kinds
 * (by their text up to the read number) are kept to be printed. */
static void bad(sweep_t *s, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->accepted++;
    const char *tail = strstr(msg, ": ");
    for (int i = 0; i < s->nbad; i++) {
        const char *t2 = strstr(s->first_bad[i], ": ");
        if (tail != NULL && t2 != NULL && strcmp(tail, t2) == 0) {
            return;
        }
    }
    if (s->nbad < 4) {
        snprintf(s->first_bad[s->nbad++], sizeof s->first_bad[0], "%s", msg);
    }
}

static bool clean(ward_err_t err)
{
    return err == WARD_ERR_AUTH || err == WARD_ERR_CORRUPT || err == WARD_ERR_ROLLBACK ||
           err == WARD_ERR_IO;
}

static uint32_t counter(const sweep_t *s)
{
    return s->d.hsm.counters[0];
}

/* Through honest reads: does v hold the honest state? 0: exactly; 1: yes,
 * but some live records read AUTH (lost to a lie); 2: no. */
static int honest_contents(sweep_t *s, ward_vault_t *v, char *why, size_t why_len)
{
    static uint8_t buf[WARD_VAULT_VALUE_MAX];
    size_t n = 0;
    int rc = 0;
    ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
    for (int i = 0; i < s->m.n; i++) {
        const entry_t *e = &s->m.e[i];
        ward_err_t err = ward_vault_get(v, buf, sizeof buf, &n, e->name);
        if (e->live && err == WARD_ERR_AUTH) {
            if (rc == 0) {
                snprintf(why, why_len, "%s: %s", e->name, ward_err_name(err));
            }
            rc = 1;
        } else if (e->live ? (err != WARD_OK || n != e->len || memcmp(buf, e->val, n) != 0)
                           : (err != WARD_ERR_NOT_FOUND && err != WARD_ERR_AUTH)) {
            snprintf(why, why_len, "%s: %s%s%.*s", e->name, ward_err_name(err),
                     err == WARD_OK ? " " : "", err == WARD_OK ? (int)n : 0, buf);
            return 2;
        }
    }
    return rc;
}

/* A lie made the vault lose a record (it reads AUTH afterwards): a clean
 * error, counted apart. */
static void lost(sweep_t *s, const char *fmt, ...)
{
    s->lost++;
    if (s->first_lost[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->first_lost, sizeof s->first_lost, fmt, ap);
        va_end(ap);
    }
}

static void check_get(sweep_t *s, const entry_t *e, ward_err_t err, const uint8_t *buf, size_t n,
                      uint64_t rd, bool mode)
{
    if (err == WARD_OK) {
        if (!e->live) {
            bad(s, "%s get %s read %llu%s: a value for a record that is not there (%.*s)",
                s->subst_name, e->name, (unsigned long long)rd, mode ? "+" : "", (int)n, buf);
        } else if (n != e->len || memcmp(buf, e->val, n) != 0) {
            bad(s, "%s get %s read %llu%s: another value (%.*s)", s->subst_name, e->name,
                (unsigned long long)rd, mode ? "+" : "", (int)n, buf);
        }
    } else if (err == WARD_ERR_NOT_FOUND) {
        if (e->live) {
            bad(s, "%s get %s read %llu%s: NOT_FOUND for a record that exists", s->subst_name,
                e->name, (unsigned long long)rd, mode ? "+" : "");
        }
    } else if (!clean(err) || err == WARD_ERR_ROLLBACK) {
        bad(s, "%s get %s read %llu%s: %s", s->subst_name, e->name, (unsigned long long)rd,
            mode ? "+" : "", ward_err_name(err));
    }
}

static void sweep_mount(sweep_t *s)
{
    ward_vault_t v;
    tv_restore(&s->d, &s->honest);
    ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
    assert_int_equal(ward_vault_mount(&v, &s->cfg), WARD_OK);
    ward_vault_unmount(&v);
    const uint64_t r = s->h.reads;
    for (int mode = 0; mode < 2; mode++) {
        for (uint64_t k = 1; k <= r; k++) {
            tv_restore(&s->d, &s->honest);
            ward_sim_hostile_arm(&s->h, k, mode != 0, s->subst, AREA);
            ward_err_t err = ward_vault_mount(&v, &s->cfg);
            s->runs++;
            s->attacked += s->h.hits != 0u;
            char why[160] = "";
            if (counter(s) != s->m.version) {
                bad(s, "%s mount read %llu%s: counter moved to %u", s->subst_name,
                    (unsigned long long)k, mode ? "+" : "", counter(s));
            } else if (err == WARD_OK) {
                ward_vault_stats_t st;
                assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
                if (st.version != s->m.version) {
                    bad(s, "%s mount read %llu%s: OK at version %u, not %u", s->subst_name,
                        (unsigned long long)k, mode ? "+" : "", st.version, s->m.version);
                } else {
                    const int hc = honest_contents(s, &v, why, sizeof why);
                    if (hc == 2) {
                        bad(s, "%s mount read %llu%s: OK, then %s", s->subst_name,
                            (unsigned long long)k, mode ? "+" : "", why);
                    } else if (hc == 1) {
                        lost(s, "%s mount read %llu%s: OK, then %s", s->subst_name,
                             (unsigned long long)k, mode ? "+" : "", why);
                    }
                }
            } else if (!clean(err) && err != WARD_ERR_VAULT_FOREIGN &&
                       err != WARD_ERR_UNSUPPORTED && err != WARD_ERR_VAULT_ERASED) {
                bad(s, "%s mount read %llu%s: %s", s->subst_name, (unsigned long long)k,
                    mode ? "+" : "", ward_err_name(err));
            }
            ward_vault_unmount(&v);
        }
    }
}

static void sweep_get(sweep_t *s)
{
    static uint8_t buf[WARD_VAULT_VALUE_MAX];
    ward_vault_t v;
    size_t n = 0;
    tv_restore(&s->d, &s->honest);
    ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
    assert_int_equal(ward_vault_mount(&v, &s->cfg), WARD_OK);
    for (int i = 0; i < s->m.n; i++) {
        const entry_t *e = &s->m.e[i];
        ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
        (void)ward_vault_get(&v, buf, sizeof buf, &n, e->name);
        const uint64_t r = s->h.reads;
        for (int mode = 0; mode < 2; mode++) {
            for (uint64_t k = 1; k <= r; k++) {
                ward_sim_hostile_arm(&s->h, k, mode != 0, s->subst, AREA);
                memset(buf, 0, sizeof buf);
                n = 0;
                ward_err_t err = ward_vault_get(&v, buf, sizeof buf, &n, e->name);
                s->runs++;
                s->attacked += s->h.hits != 0u;
                check_get(s, e, err, buf, n, k, mode != 0);
            }
        }
    }
    ward_vault_unmount(&v);
}

/* The honest list: live names in sequence order. */
static int honest_list(const model_t *m, const entry_t **out)
{
    int n = 0;
    uint32_t last = 0;
    for (;;) {
        const entry_t *pick = NULL;
        for (int i = 0; i < m->n; i++) {
            if (m->e[i].live && m->e[i].seq > last && (pick == NULL || m->e[i].seq < pick->seq)) {
                pick = &m->e[i];
            }
        }
        if (pick == NULL) {
            return n;
        }
        out[n++] = pick;
        last = pick->seq;
    }
}

static void list_once(sweep_t *s, ward_vault_t *v, const entry_t **want, int nwant, uint64_t k,
                      bool mode)
{
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char name[WARD_VAULT_NAME_MAX + 1];
    size_t len = 0;
    int i = 0;
    for (int guard = 0; guard <= (int)WARD_VAULT_MAX_RECORDS + 1; guard++) {
        ward_err_t err = ward_vault_next(v, &it, name, &len);
        if (err == WARD_ERR_NOT_FOUND) {
            break;
        }
        if (i >= nwant) {
            bad(s, "%s list read %llu%s: more entries than there are", s->subst_name,
                (unsigned long long)k, mode ? "+" : "");
            return;
        }
        if (err == WARD_OK) {
            if (strcmp(name, want[i]->name) != 0 || len != want[i]->len) {
                bad(s, "%s list read %llu%s: entry %d is '%s' (%zu bytes), not '%s'",
                    s->subst_name, (unsigned long long)k, mode ? "+" : "", i, name, len,
                    want[i]->name);
            }
        } else if (!clean(err) || err == WARD_ERR_ROLLBACK) {
            bad(s, "%s list read %llu%s: %s", s->subst_name, (unsigned long long)k,
                mode ? "+" : "", ward_err_name(err));
        }
        i++;
    }
    if (i != nwant) {
        bad(s, "%s list read %llu%s: %d entries, not %d", s->subst_name, (unsigned long long)k,
            mode ? "+" : "", i, nwant);
    }
}

static void sweep_list(sweep_t *s)
{
    const entry_t *want[MAXN];
    const int nwant = honest_list(&s->m, want);
    ward_vault_t v;
    tv_restore(&s->d, &s->honest);
    ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
    assert_int_equal(ward_vault_mount(&v, &s->cfg), WARD_OK);
    ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
    const uint64_t before = s->accepted;
    list_once(s, &v, want, nwant, 0, false);
    assert_int_equal(s->accepted, before); /* the honest run is honest */
    const uint64_t r = s->h.reads;
    for (int mode = 0; mode < 2; mode++) {
        for (uint64_t k = 1; k <= r; k++) {
            ward_sim_hostile_arm(&s->h, k, mode != 0, s->subst, AREA);
            list_once(s, &v, want, nwant, k, mode != 0);
            s->runs++;
            s->attacked += s->h.hits != 0u;
        }
    }
    ward_vault_unmount(&v);
}

static uint8_t g_newest[1000];

/* A put of a new password after an honest mount. */
static void sweep_put(sweep_t *s)
{
    const uint8_t *k_newest = g_newest;
    ward_vault_t v;
    tv_restore(&s->d, &s->honest);
    ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
    assert_int_equal(ward_vault_mount(&v, &s->cfg), WARD_OK);
    ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
    const uint64_t e0 = tv_erases(&s->d);
    assert_int_equal(ward_vault_put(&v, "wifi.psk", k_newest, s->put_len), WARD_OK);
    ward_vault_unmount(&v);
    const uint64_t r = s->h.reads;
    if (s->put_len > 100u) {
        assert_true(tv_erases(&s->d) > e0); /* the long put collects garbage */
    }
    entry_t *wifi = model_find(&s->m, "wifi.psk");
    const entry_t saved = *wifi;
    for (int mode = 0; mode < 2; mode++) {
        for (uint64_t k = 1; k <= r; k++) {
            tv_restore(&s->d, &s->honest);
            ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
            assert_int_equal(ward_vault_mount(&v, &s->cfg), WARD_OK);
            ward_sim_hostile_arm(&s->h, k, mode != 0, s->subst, AREA);
            const uint64_t viol = tv_violations(&s->d);
            ward_err_t err = ward_vault_put(&v, "wifi.psk", k_newest, s->put_len);
            s->runs++;
            s->attacked += s->h.hits != 0u;
            ward_vault_unmount(&v);
            if (tv_violations(&s->d) != viol) {
                bad(s, "%s put read %llu%s (%s): programmed over written units", s->subst_name,
                    (unsigned long long)k, mode ? "+" : "", ward_err_name(err));
            }
            if (err != WARD_OK && !clean(err) && err != WARD_ERR_NO_SPACE) {
                bad(s, "%s put read %llu%s: %s", s->subst_name, (unsigned long long)k,
                    mode ? "+" : "", ward_err_name(err));
                continue;
            }
            /* What the put left, read honestly. */
            ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
            ward_err_t merr = ward_vault_mount(&v, &s->cfg);
            char why[160] = "";
            int hc = 2;
            if (merr == WARD_OK) {
                memcpy(wifi->val, k_newest, s->put_len);
                wifi->len = s->put_len;
                hc = honest_contents(s, &v, why, sizeof why);
                if (hc != 0 && err != WARD_OK) {
                    *wifi = saved; /* a failed put may not have taken effect */
                    const int hc2 = honest_contents(s, &v, why, sizeof why);
                    hc = hc2 < hc ? hc2 : hc;
                }
                *wifi = saved;
            } else {
                snprintf(why, sizeof why, "remount %s", ward_err_name(merr));
            }
            /* A record reading AUTH here was destroyed by the put acting on
             * a lie (a garbage-collection copy, an erase): not accepted. */
            if (hc != 0) {
                bad(s, "%s put read %llu%s (%s): then %s", s->subst_name, (unsigned long long)k,
                    mode ? "+" : "", ward_err_name(err), why);
            }
            ward_vault_unmount(&v);
        }
    }
}

/*
 * A lie at mount, then the first change with honest reads: whatever the
 * mount believed, the put must not destroy anything. An honest remount
 * then gives every record its honest value -- here a record reading AUTH
 * counts as accepted: the vault acted on the lie and lost it.
 */
static void sweep_mount_put(sweep_t *s)
{
    const uint8_t *k_newest = g_newest;
    ward_vault_t v;
    tv_restore(&s->d, &s->honest);
    ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
    assert_int_equal(ward_vault_mount(&v, &s->cfg), WARD_OK);
    ward_vault_unmount(&v);
    const uint64_t r = s->h.reads;
    entry_t *wifi = model_find(&s->m, "wifi.psk");
    const entry_t saved = *wifi;
    for (int mode = 0; mode < 2; mode++) {
        for (uint64_t k = 1; k <= r; k++) {
            tv_restore(&s->d, &s->honest);
            ward_sim_hostile_arm(&s->h, k, mode != 0, s->subst, AREA);
            ward_err_t merr = ward_vault_mount(&v, &s->cfg);
            s->runs++;
            s->attacked += s->h.hits != 0u;
            ward_sim_hostile_arm(&s->h, 0, false, NULL, 0);
            const uint64_t viol = tv_violations(&s->d);
            ward_err_t err = merr == WARD_OK
                                 ? ward_vault_put(&v, "wifi.psk", k_newest, s->put_len)
                                 : merr;
            ward_vault_unmount(&v);
            if (merr != WARD_OK) {
                continue; /* sweep_mount judges the mount */
            }
            if (tv_violations(&s->d) != viol) {
                /* On real NOR it would have ANDed bytes into entries. */
                bad(s, "%s mount read %llu%s, put (%s): programmed over written units",
                    s->subst_name, (unsigned long long)k, mode ? "+" : "", ward_err_name(err));
            }
            merr = ward_vault_mount(&v, &s->cfg);
            char why[160] = "";
            int hc = 2;
            if (merr == WARD_OK) {
                memcpy(wifi->val, k_newest, s->put_len);
                wifi->len = s->put_len;
                hc = honest_contents(s, &v, why, sizeof why);
                if (hc != 0 && err != WARD_OK) {
                    *wifi = saved;
                    const int hc2 = honest_contents(s, &v, why, sizeof why);
                    hc = hc2 < hc ? hc2 : hc;
                }
                *wifi = saved;
            } else {
                snprintf(why, sizeof why, "remount %s", ward_err_name(merr));
            }
            if (hc != 0) {
                bad(s, "%s mount read %llu%s, put (%s): then %s", s->subst_name,
                    (unsigned long long)k, mode ? "+" : "", ward_err_name(err), why);
            }
            ward_vault_unmount(&v);
        }
    }
}

static void run(sweep_t *s, const char *what, void (*fn)(sweep_t *))
{
    const uint64_t runs = s->runs, att = s->attacked, acc = s->accepted, lo = s->lost;
    s->nbad = 0;
    s->first_lost[0] = '\0';
    fn(s);
    printf("  %-7s %-6s %6llu runs, %6llu reads attacked, %llu accepted, %llu lost\n",
           s->subst_name, what, (unsigned long long)(s->runs - runs),
           (unsigned long long)(s->attacked - att), (unsigned long long)(s->accepted - acc),
           (unsigned long long)(s->lost - lo));
    for (int i = 0; i < s->nbad; i++) {
        printf("      accepted: %s\n", s->first_bad[i]);
    }
    if (s->first_lost[0] != '\0') {
        printf("      lost (clean): %s\n", s->first_lost);
    }
}

static void test_hostile_flash(void **state)
{
    (void)state;
    static sweep_t s;
    static uint8_t old_img[AREA], forged[4][AREA];
    tv_dev_t other;
    model_t om;
    uint8_t huk[32];
    for (int i = 0; i < 32; i++) {
        huk[i] = (uint8_t)(0x40 + i);
    }
    memset(&s, 0, sizeof s);
    tv_value(g_newest, sizeof g_newest, "newest", 1);
    assert_int_equal(tv_open(&s.d, NSECT, SSIZE, WS, true, huk), 0);
    scenario(&s.d, &s.m, false, old_img);
    tv_snap(&s.d, &s.honest);

    assert_int_equal(tv_open(&other, NSECT, SSIZE, WS, true, NULL), 0);
    scenario(&other, &om, true, NULL);

    for (int i = 0; i < 4; i++) {
        memcpy(forged[i], s.d.flash.mem, AREA);
    }
    each_entry(forged[0], &s.m, edit_ckpt);
    each_entry(forged[1], &s.m, edit_commit);
    each_entry(forged[2], &s.m, edit_name);
    edit_header(forged[3], &s.m);
    for (int i = 0; i < 3; i++) {
        assert_memory_not_equal(forged[i], s.d.flash.mem, AREA); /* each edit found its target */
    }

    s.cfg = s.d.cfg;
    ward_sim_hostile_init(&s.h, &s.d.flash.port, 0, AREA);
    s.cfg.area.flash = &s.h.port;

    const struct {
        const char *name;
        const uint8_t *img;
    } subs[] = {{"old", old_img},      {"ckpt", forged[0]},   {"commit", forged[1]},
                {"name", forged[2]},   {"header", forged[3]}, {"other", other.flash.mem}};
    int live = 0;
    for (int i = 0; i < s.m.n; i++) {
        live += s.m.e[i].live ? 1 : 0;
    }
    printf("vault on a hostile flash: %u x %u B, write size %u, %d names (%d live), "
           "version %u\n",
           NSECT, SSIZE, WS, s.m.n, live, s.m.version);
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        s.subst_name = subs[i].name;
        s.subst = subs[i].img;
        run(&s, "mount", sweep_mount);
        run(&s, "get", sweep_get);
        run(&s, "list", sweep_list);
        s.put_len = 20;
        run(&s, "put", sweep_put);
        run(&s, "mount*", sweep_mount_put);
        s.put_len = 600;
        run(&s, "put-gc", sweep_put);
        run(&s, "mount*gc", sweep_mount_put);
    }
    printf("vault on a hostile flash: %llu runs, %llu reads attacked (once and from then on, "
           "6 substitutes), %llu accepted, %llu lost\n",
           (unsigned long long)s.runs, (unsigned long long)s.attacked,
           (unsigned long long)s.accepted, (unsigned long long)s.lost);
    assert_true(s.attacked > 0u);
    assert_int_equal(s.accepted, 0);
    tv_snap_free(&s.honest);
    tv_close(&s.d);
    tv_close(&other);
}

/*
 * A lie about where the log ends. The head ends with a second, byte-identical
 * copy of a record (as garbage collection leaves one); the flash shows that
 * region erased to the mount -- harmless to the state, which the first copy
 * serves -- and then tells the truth. The first put must not program over
 * the copy (on NOR that ANDs the bytes into garbage; the simulator refuses
 * and counts it): it checks the place still reads erased and refuses with
 * WARD_ERR_CORRUPT; nothing is lost.
 */
static void test_log_end_lie(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_sim_hostile_t h;
    ward_vault_t v;
    ward_vault_stats_t st;
    static uint8_t lie[AREA];
    uint8_t val[40], buf[64];
    size_t n = 0;
    assert_int_equal(tv_open(&d, NSECT, SSIZE, WS, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    tv_value(val, sizeof val, "k", 1);
    assert_int_equal(ward_vault_put(&v, "k", val, sizeof val), WARD_OK);
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    ward_vault_unmount(&v);
    /* The record of "k" and the log end of the head sector. */
    uint8_t *sec = d.flash.mem + st.head * SSIZE;
    uint32_t p = shdr_len(sec), rec = 0, end = 0;
    while (p + 12u <= SSIZE && entry_len(sec + p) != 0u) {
        if (sec[p] == 'R') {
            rec = p;
        }
        p += pad(entry_len(sec + p));
    }
    end = p;
    const uint32_t len = pad(entry_len(sec + rec));
    assert_true(rec != 0u && end + len <= SSIZE);
    memcpy(sec + end, sec + rec, len); /* a second copy at the log end */
    memcpy(lie, d.flash.mem, AREA);
    memset(lie + st.head * SSIZE + end, 0xFF, len); /* ...that the liar hides */

    ward_vault_config_t cfg = d.cfg;
    ward_sim_hostile_init(&h, &d.flash.port, 0, AREA);
    cfg.area.flash = &h.port;
    ward_sim_hostile_arm(&h, 1, true, lie, AREA);
    assert_int_equal(ward_vault_mount(&v, &cfg), WARD_OK);
    ward_sim_hostile_arm(&h, 0, false, NULL, 0);
    const uint64_t viol = tv_violations(&d);
    tv_value(val, sizeof val, "k", 2);
    const ward_err_t err = ward_vault_put(&v, "k", val, sizeof val);
    printf("log end lie: put %s, %llu programs over written units\n", ward_err_name(err),
           (unsigned long long)(tv_violations(&d) - viol));
    assert_int_equal(tv_violations(&d), viol);
    assert_int_equal(err, WARD_ERR_CORRUPT);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    tv_value(val, sizeof val, "k", 1);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "k"), WARD_OK);
    assert_memory_equal(buf, val, sizeof val);
    ward_vault_unmount(&v);
    tv_close(&d);
}

/*
 * A record hidden from the mount: the flash shows its header erased to the
 * mount (the state still lists it; it reads AUTH), then tells the truth.
 * The next put collects the sector that holds it. Garbage collection must
 * look there again before erasing the sector, or the record is gone for
 * good (the state keeps naming it, its only copy erased).
 */
static void test_hidden_record_gc(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_sim_hostile_t h;
    ward_vault_t v;
    tv_snap_t before;
    static uint8_t lie[3 * SSIZE];
    uint8_t keep[50], val[150], buf[64];
    char name[8];
    size_t n = 0;
    int gc_put = -1;
    tv_value(keep, sizeof keep, "keep", 1);
    assert_int_equal(tv_open(&d, 3, SSIZE, WS, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "keep", keep, sizeof keep), WARD_OK);
    memset(&before, 0, sizeof before);
    for (int i = 0; i < 40 && gc_put < 0; i++) {
        tv_snap_free(&before);
        tv_snap(&d, &before);
        const uint64_t e0 = tv_erases(&d);
        snprintf(name, sizeof name, "f%d", i % 4);
        tv_value(val, sizeof val, name, (uint32_t)i);
        assert_int_equal(ward_vault_put(&v, name, val, sizeof val), WARD_OK);
        gc_put = tv_erases(&d) > e0 ? i : -1;
    }
    ward_vault_unmount(&v);
    assert_true(gc_put >= 0);
    /* Back to just before the put that collected sector 0, "keep"'s. */
    tv_restore(&d, &before);
    uint32_t off = 0;
    for (uint32_t p = TV_SHDR; p + 28u <= SSIZE && off == 0u; p += WS) {
        const uint8_t *r = d.flash.mem + p;
        if (r[0] == 'R' && r[1] == 4 && memcmp(r + 24, "keep", 4) == 0) {
            off = p;
        }
    }
    assert_true(off != 0u);
    memcpy(lie, d.flash.mem, sizeof lie);
    memset(lie + off, 0xFF, 24);

    ward_vault_config_t cfg = d.cfg;
    ward_sim_hostile_init(&h, &d.flash.port, 0, sizeof lie);
    cfg.area.flash = &h.port;
    ward_sim_hostile_arm(&h, 1, true, lie, sizeof lie);
    assert_int_equal(ward_vault_mount(&v, &cfg), WARD_OK);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "keep"), WARD_ERR_AUTH);
    ward_sim_hostile_arm(&h, 0, false, NULL, 0);
    const uint64_t e0 = tv_erases(&d);
    snprintf(name, sizeof name, "f%d", gc_put % 4);
    tv_value(val, sizeof val, name, (uint32_t)gc_put);
    assert_int_equal(ward_vault_put(&v, name, val, sizeof val), WARD_OK);
    assert_true(tv_erases(&d) > e0); /* sector 0 was collected */
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    const ward_err_t err = ward_vault_get(&v, buf, sizeof buf, &n, "keep");
    printf("hidden record, then garbage collection: get %s\n", ward_err_name(err));
    assert_int_equal(err, WARD_OK);
    assert_memory_equal(buf, keep, sizeof keep);
    ward_vault_unmount(&v);
    tv_snap_free(&before);
    tv_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_flash),
        cmocka_unit_test(test_log_end_lie),
        cmocka_unit_test(test_hidden_record_gc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
