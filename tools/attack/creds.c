/*
 * ward_attack: the credentials. The attacker has the flash chip: a dump is
 * searched for every secret the unit holds (the simulator lets us know
 * them all: the HSM's, and the vault's through its own key), the chip goes
 * into another unit of the same model, an old dump is written back.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack_priv.h"
#include "ward/util.h"
#include "ward/vault.h"
#include "ward/cloud.h"
#include "ward_audit.h"

static void hex(char *out, const uint8_t *p, size_t n, bool upper)
{
    const char *k = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2u * i] = k[p[i] >> 4];
        out[2u * i + 1u] = k[p[i] & 15u];
    }
    out[2u * n] = '\0';
}

long attack_find_secret(const uint8_t *buf, size_t len, const uint8_t *s, size_t n)
{
    uint8_t rev[64];
    char lo[129], up[129];
    if (n == 0u || n > 64u || len < n) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        rev[i] = s[n - 1u - i];
    }
    hex(lo, s, n, false);
    hex(up, s, n, true);
    for (size_t i = 0; i + n <= len; i++) {
        if ((buf[i] == s[0] && memcmp(buf + i, s, n) == 0) ||
            (n >= 16u && buf[i] == rev[0] && memcmp(buf + i, rev, n) == 0)) {
            return (long)i;
        }
    }
    for (size_t i = 0; i + 2u * n <= len; i++) {
        if ((buf[i] == (uint8_t)lo[0] && memcmp(buf + i, lo, 2u * n) == 0) ||
            (buf[i] == (uint8_t)up[0] && memcmp(buf + i, up, 2u * n) == 0)) {
            return (long)i;
        }
    }
    return -1;
}

static void add(attack_secret_t *s, size_t cap, size_t *n, const char *what, const uint8_t *v,
                size_t len)
{
    if (*n < cap && len > 0u) {
        snprintf(s[*n].what, sizeof s[*n].what, "%s", what);
        s[*n].n = len < sizeof s[*n].v ? len : sizeof s[*n].v;
        memcpy(s[*n].v, v, s[*n].n);
        (*n)++;
    }
}

ward_err_t attack_unit_secrets(const char *dir, attack_secret_t *s, size_t cap, size_t *n,
                               char *why, size_t why_len)
{
    ward_sim_device_t dev;
    *n = 0;
    why[0] = '\0';
    ward_err_t err = ward_sim_device_open(&dev, dir);
    if (err != WARD_OK) {
        snprintf(why, why_len, "the unit does not open: %s", ward_err_name(err));
        return err;
    }
    const ward_sim_hsm_t *h = &dev.hsm;
    const ward_hsm_t *hp = &dev.hsm.port;
    if (hp->pair_public != NULL) {
        uint8_t pub[65];
        (void)hp->pair_public(hp->ctx, pub); /* loads the pairing key file */
    }
    if (h->has_huk) {
        add(s, cap, n, "the HSM's HUK", h->huk, 32);
    }
    if (h->has_id) {
        add(s, cap, n, "the identity private key", h->id_priv, 32);
    }
    if (h->has_next) {
        add(s, cap, n, "the next identity private key", h->next_priv, 32);
    }
    if (h->has_pair) {
        add(s, cap, n, "the BLE pairing private key", h->pair_priv, 32);
        add(s, cap, n, "the label's pairing value r", h->pair_r, 16);
    }
    ward_vault_t *v = calloc(1, sizeof *v);
    uint8_t *val = malloc(WARD_CONFIG_VAULT_VALUE_MAX);
    if (v != NULL && val != NULL && h->has_huk) {
        ward_vault_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.area = dev.vault;
        cfg.hsm = hp;
        cfg.counter = ATTACK_VAULT_COUNTER;
        err = ward_vault_mount(v, &cfg);
        if (err == WARD_OK) {
            ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
            char name[WARD_CONFIG_VAULT_NAME_MAX + 1], what[96];
            size_t vlen = 0, got = 0;
            while (ward_vault_next(v, &it, name, &vlen) == WARD_OK) {
                /* Certificates are public. */
                if (strncmp(name, "cloud/cert", 10) == 0 ||
                    ward_vault_get(v, val, WARD_CONFIG_VAULT_VALUE_MAX, &got, name) != WARD_OK) {
                    continue;
                }
                snprintf(what, sizeof what, "vault record %s", name);
                if (got >= 8u) {
                    add(s, cap, n, what, val, got < 64u ? got : 64u);
                }
                if (strncmp(name, "ble.bond.", 9) == 0 && got == 43u) {
                    snprintf(what, sizeof what, "the LTK of vault record %s", name);
                    add(s, cap, n, what, val + 11, 16);
                    if (!ward_ct_all(val + 27, 0, 16)) {
                        snprintf(what, sizeof what, "the IRK of vault record %s", name);
                        add(s, cap, n, what, val + 27, 16);
                    }
                }
                ward_wipe(val, got);
            }
            ward_vault_unmount(v);
        } else if (err != WARD_ERR_VAULT_UNFORMATTED) {
            snprintf(why, why_len, "the vault does not mount with the unit's own key (%s): its "
                                   "records are not known", ward_err_name(err));
        }
    }
    free(v);
    free(val);
    ward_sim_device_close(&dev);
    return WARD_OK;
}

/* Which region of the flash an offset is in. */
static const char *region(const ward_sim_device_t *d, long off)
{
    const uint32_t o = (uint32_t)off;
    const ward_area_t *a[5] = {&d->layout.primary, &d->layout.secondary, &d->layout.scratch,
                               &d->layout.state, &d->vault};
    static const char *const k[5] = {"primary slot", "staging slot", "scratch", "boot journal",
                                     "vault"};
    for (int i = 0; i < 5; i++) {
        if (o >= a[i]->off && o < a[i]->off + a[i]->size) {
            return k[i];
        }
    }
    return "flash";
}

void attack_cred_flash_dump(attack_ctx_t *a, ward_attack_result_t *r)
{
    attack_secret_t *s = calloc(ATTACK_MAX_SECRETS, sizeof *s);
    size_t n = 0;
    char why[300] = "";
    if (s == NULL) {
        attack_verdict(r, WARD_ATTACK_ERROR, "out of memory");
        return;
    }
    ward_err_t err = attack_fresh_copy(a, "flash-dump");
    if (err == WARD_OK) {
        err = attack_unit_secrets(a->dir, s, ATTACK_MAX_SECRETS, &n, why, sizeof why);
    }
    ward_sim_device_t dev;
    if (err == WARD_OK) {
        err = ward_sim_device_open(&dev, a->dir);
    }
    if (err != WARD_OK) {
        free(s);
        attack_verdict(r, WARD_ATTACK_ERROR, "%s", why[0] ? why : "the private copy");
        return;
    }
    const uint8_t *mem = ward_sim_flash_mem(&dev.flash);
    const size_t size = dev.flash.port.size;
    size_t found = 0, vault_n = 0;
    char first[300] = "";
    for (size_t i = 0; i < n; i++) {
        vault_n += strncmp(s[i].what, "vault", 5) == 0 || strstr(s[i].what, "vault") != NULL;
        long off = attack_find_secret(mem, size, s[i].v, s[i].n);
        const char *where = off >= 0 ? region(&dev, off) : NULL;
        if (off < 0) {
            off = attack_find_secret(dev.otp.data, sizeof dev.otp.data, s[i].v, s[i].n);
            where = off >= 0 ? "OTP" : NULL;
        }
        if (off >= 0) {
            if (found == 0u) {
                snprintf(first, sizeof first, "%s at %s offset 0x%lx (%s)", s[i].what,
                         strcmp(where, "OTP") == 0 ? "otp.bin" : "flash.bin", off, where);
            }
            attack_evidence(r, "FOUND %s: %s offset 0x%lx (%s)", s[i].what,
                            strcmp(where, "OTP") == 0 ? "otp.bin" : "flash.bin", off, where);
            found++;
        }
    }
    /* What an attacker greps a dump for first: credential-shaped plain text
     * (a secret the unit keeps outside its vault is none of the above). */
    const char *kw = NULL;
    bool in_vault = false;
    const long plain = ward_audit_find_plaintext(mem, size, 0, dev.vault.off, dev.vault.size,
                                                 &kw, &in_vault);
    char plain_at[300] = "";
    if (plain >= 0) {
        snprintf(plain_at, sizeof plain_at, "%s%s at flash.bin offset 0x%lx (%s)",
                 strcmp(kw, "PEM private key") == 0 ? "a " : kw,
                 strcmp(kw, "PEM private key") == 0 ? "PEM private key" : "=... in plain text",
                 plain, in_vault ? "vault area, in no record" : region(&dev, plain));
        attack_evidence(r, "FOUND %s", plain_at);
    }
    ward_sim_device_close(&dev);
    for (size_t i = 0; i < n; i++) {
        ward_wipe(s[i].v, sizeof s[i].v);
    }
    free(s);
    attack_tried(r, "a dump of the flash (%zu bytes) and the OTP searched for the unit's %zu "
                    "secrets: %zu from the HSM, %zu from the vault's records (each raw, in both "
                    "byte orders, and as hex), and for credential-shaped text (password=, psk=, "
                    "token=, ... a PEM private key)%s%s",
                 size, n, n - vault_n, vault_n, why[0] ? "; " : "", why);
    if (found > 0u || plain >= 0) {
        if (found > 0u) {
            attack_verdict(r, WARD_ATTACK_SUCCEEDED, "%zu of %zu secrets in the clear; first: %s%s%s",
                           found, n, first, plain >= 0 ? "; and " : "", plain_at);
        } else {
            attack_verdict(r, WARD_ATTACK_SUCCEEDED, "a credential in the clear: %s", plain_at);
        }
    } else if (why[0] != '\0') {
        /* The vault's records are not known: whether their values are in
         * the dump was not looked at. Not a refusal. */
        attack_verdict(r, WARD_ATTACK_SKIPPED,
                       "%s; none of the %zu secrets known (the HSM's) and no credential-shaped "
                       "text is in the dump, but the vault's values were not looked for",
                       why, n);
    } else {
        attack_verdict(r, WARD_ATTACK_REFUSED,
                       "none of the %zu secrets is in the dump, nor any credential-shaped text: "
                       "the vault holds only ciphertext under a key the HSM derives, the HSM's "
                       "keys never left it", n);
        attack_evidence(r, "0 of %zu found in %zu bytes of flash and %zu of OTP; no plain-text "
                           "credential in the flash", n, size, sizeof dev.otp.data);
    }
}

/* Another unit of the same model: the same files (OTP burnt alike, the same
 * bootloader key), its own HSM: a new HUK and identity key. */
static ward_err_t other_unit(attack_ctx_t *a, const char *name, char *out, size_t cap)
{
    char fresh[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
    ward_sim_geometry_t g;
    ward_sim_device_t dev;
    if (!attack_path(out, cap, "%s/%s", a->work, name) ||
        !attack_path(fresh, sizeof fresh, "%s/%s-hsm", a->work, name)) {
        return WARD_ERR_IO;
    }
    attack_remove_dir(out);
    attack_remove_dir(fresh);
    ward_err_t err = attack_copy_dir(a->base, out);
    ward_sim_geometry_default(&g);
    if (err == WARD_OK) {
        err = ward_sim_device_create(fresh, &g);
    }
    if (err == WARD_OK) {
        err = ward_sim_device_open(&dev, fresh);
        if (err == WARD_OK) {
            err = dev.hsm.port.huk_generate(dev.hsm.port.ctx);
            if (err == WARD_OK) {
                err = dev.hsm.port.id_generate(dev.hsm.port.ctx);
            }
            ward_sim_device_close(&dev);
        }
    }
    if (err == WARD_OK && attack_path(from, sizeof from, "%s/hsm.bin", fresh) &&
        attack_path(to, sizeof to, "%s/hsm.bin", out)) {
        uint8_t *d = NULL;
        size_t len = 0;
        err = attack_read_file(from, &d, &len);
        if (err == WARD_OK) {
            err = attack_write_file(to, d, len);
            ward_wipe(d, len);
            free(d);
        }
        (void)attack_path(to, sizeof to, "%s/hsm.bin.pair", out);
        (void)remove(to);
    }
    attack_remove_dir(fresh);
    return err;
}


/* A credential the owner stored (what the Wi-Fi provisioning puts in the
 * vault), so the clone has something to open even on a unit fresh from
 * the factory. */
static const char k_canary_name[] = "attack.wifi.psk";
static const uint8_t k_canary[] = "owner-wifi-password-7d1f";

static ward_err_t store_canary(const char *dir)
{
    ward_sim_device_t dev;
    ward_vault_t *v = calloc(1, sizeof *v);
    ward_err_t err = v == NULL ? WARD_ERR_NO_SPACE : ward_sim_device_open(&dev, dir);
    if (err == WARD_OK) {
        ward_vault_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.area = dev.vault;
        cfg.hsm = &dev.hsm.port;
        cfg.counter = ATTACK_VAULT_COUNTER;
        err = ward_vault_mount(v, &cfg);
        if (err == WARD_ERR_VAULT_UNFORMATTED) {
            err = ward_vault_format(v, &cfg);
        }
        if (err == WARD_OK) {
            err = ward_vault_put(v, k_canary_name, k_canary, sizeof k_canary - 1u);
            ward_vault_unmount(v);
        }
        ward_sim_device_close(&dev);
    }
    free(v);
    return err;
}

/* What the attacker holding the chip also gets from the unit in dir: with
 * the debug port open (OTP DEBUG_LOCK not set) the HSM's key store read
 * out over it (*hsm, the whole file); else the HUK if the flash dump holds
 * it (*huk_found). how says which. */
ward_err_t attack_reach(const char *dir, attack_reach_t *x)
{
    ward_sim_device_t dev;
    memset(x, 0, sizeof *x);
    x->huk_off = x->id_off = -1;
    ward_err_t err = ward_sim_device_open(&dev, dir);
    if (err != WARD_OK) {
        return err;
    }
    bool locked = true;
    if (ward_otp_flag_get(&dev.otp.port, WARD_OTP_DEBUG_LOCK, &locked) != WARD_OK) {
        locked = true; /* unreadable: assume the defence, claim nothing */
    }
    x->debug_open = !locked;
    if (dev.hsm.has_huk) {
        const long off = attack_find_secret(ward_sim_flash_mem(&dev.flash), dev.flash.port.size,
                                            dev.hsm.huk, 32);
        if (off >= 0) {
            x->huk_found = true;
            x->huk_off = off;
            memcpy(x->huk, dev.hsm.huk, 32); /* the attacker tries each 32-byte run */
        }
    }
    if (dev.hsm.has_id) {
        const long off = attack_find_secret(ward_sim_flash_mem(&dev.flash), dev.flash.port.size,
                                            dev.hsm.id_priv, 32);
        if (off >= 0 || x->debug_open) {
            x->id_found = true;
            x->id_off = off;
            memcpy(x->id_priv, dev.hsm.id_priv, 32);
        }
    }
    if (x->debug_open) {
        x->huk_found = dev.hsm.has_huk;
        memcpy(x->huk, dev.hsm.huk, 32);
    }
    ward_sim_device_close(&dev);
    if (x->debug_open) {
        snprintf(x->how, sizeof x->how, "the debug port is open (OTP DEBUG_LOCK not set): the "
                                        "HSM's keys read out over it");
    } else if (x->huk_found) {
        snprintf(x->how, sizeof x->how, "the HUK found in the flash dump at 0x%lx", x->huk_off);
    } else {
        snprintf(x->how, sizeof x->how, "the debug port is locked and the dump holds no HSM key");
    }
    return WARD_OK;
}

void attack_cred_cloned_flash(attack_ctx_t *a, ward_attack_result_t *r)
{
    char clone[PATH_MAX], path[PATH_MAX];
    attack_reach_t reach;
    memset(&reach, 0, sizeof reach);
    /* The victim: the unit with a credential its owner stored. */
    ward_err_t err = attack_fresh_copy(a, "cloned-flash-victim");
    if (err == WARD_OK) {
        err = store_canary(a->dir);
    }
    if (err == WARD_OK) {
        err = attack_reach(a->dir, &reach);
    }
    if (err == WARD_OK) {
        err = other_unit(a, "clone", clone, sizeof clone);
    }
    uint8_t *victim = NULL;
    size_t vlen = 0;
    if (err == WARD_OK && attack_path(path, sizeof path, "%s/flash.bin", a->dir)) {
        err = attack_read_file(path, &victim, &vlen);
    }
    ward_sim_device_t dev;
    ward_err_t mount = WARD_ERR_IO, got_err = WARD_ERR_NOT_FOUND;
    bool same = false;
    if (err == WARD_OK) {
        /* "WARDHSM1" | flags | HUK[32] | identity[32] | counters u32 x N
         * (port/posix/hsm.c). The attacker advances the clone's monotonic
         * counters to the unit's (counters only go up: a fresh HSM can be
         * brought to any higher value), and programs the HUK it has, if any,
         * into the clone's key store. */
        uint8_t *h = NULL, *vh = NULL;
        size_t hl = 0, vhl = 0;
        const size_t cnt = 73u, cnt_len = 4u * WARD_HSM_COUNTERS;
        char vpath[PATH_MAX];
        if (attack_path(path, sizeof path, "%s/hsm.bin", clone) &&
            attack_path(vpath, sizeof vpath, "%s/hsm.bin", a->dir) &&
            attack_read_file(path, &h, &hl) == WARD_OK &&
            attack_read_file(vpath, &vh, &vhl) == WARD_OK && hl >= cnt + cnt_len &&
            vhl >= cnt + cnt_len) {
            memcpy(h + cnt, vh + cnt, cnt_len);
            if (reach.huk_found) {
                memcpy(h + 9, reach.huk, 32);
            }
            err = attack_write_file(path, h, hl);
        }
        if (vh != NULL) {
            ward_wipe(vh, vhl);
        }
        free(vh);
        if (h != NULL) {
            ward_wipe(h, hl);
        }
        free(h);
    }
    if (err == WARD_OK) {
        err = ward_sim_device_open(&dev, clone);
        if (err == WARD_OK) {
            err = ward_sim_flash_load(&dev.flash, victim, vlen);
            ward_vault_t *v = calloc(1, sizeof *v);
            if (err == WARD_OK && v != NULL) {
                ward_vault_config_t cfg;
                memset(&cfg, 0, sizeof cfg);
                cfg.area = dev.vault;
                cfg.hsm = &dev.hsm.port;
                cfg.counter = ATTACK_VAULT_COUNTER;
                mount = ward_vault_mount(v, &cfg);
                if (mount == WARD_OK) {
                    uint8_t val[64];
                    size_t got = 0;
                    got_err = ward_vault_get(v, val, sizeof val, &got, k_canary_name);
                    same = got_err == WARD_OK && got == sizeof k_canary - 1u &&
                           memcmp(val, k_canary, got) == 0;
                    ward_wipe(val, sizeof val);
                    ward_vault_unmount(v);
                }
            }
            free(v);
            ward_sim_device_close(&dev);
        }
    }
    if (victim != NULL) {
        ward_wipe(victim, vlen);
    }
    free(victim);
    if (err != WARD_OK) {
        ward_wipe(&reach, sizeof reach);
        attack_verdict(r, WARD_ATTACK_ERROR, "making the clone: %s", ward_err_name(err));
        return;
    }
    bool id_moves = false;
    char id_detail[300] = "";
    if (reach.id_found && attack_path(path, sizeof path, "%s/hsm.bin", clone)) {
        /* identity[32] follows the HUK in the key store */
        uint8_t *h = NULL;
        size_t hl = 0;
        if (attack_read_file(path, &h, &hl) == WARD_OK && hl >= 8u + 1u + 64u) {
            memcpy(h + 41, reach.id_priv, 32);
            (void)attack_write_file(path, h, hl);
        }
        if (h != NULL) {
            ward_wipe(h, hl);
        }
        free(h);
    }
    const ward_err_t idc = attack_cert_key_check(clone, &id_moves, id_detail, sizeof id_detail);
    attack_tried(r, "a credential stored in %s's vault (%s, as the owner's Wi-Fi password), then "
                    "its flash.bin (%zu bytes: both slots, the journal, the vault) put into "
                    "another unit of the same model (same OTP and bootloader key, its own HSM: "
                    "another HUK and identity key), with the unit's cert.pem; the attacker's "
                    "reach: %s",
                 a->device_id[0] ? a->device_id : "the unit", k_canary_name, vlen, reach.how);
    const bool vault_opens = mount == WARD_OK && same;
    attack_verdict(r, vault_opens || id_moves ? WARD_ATTACK_SUCCEEDED : WARD_ATTACK_REFUSED,
                   "the vault on the clone: %s; the identity: %s",
                   vault_opens ? "OPENS: the owner's credential read back on the clone"
                               : "does not open (another HUK: the vault's key is bound to the "
                                 "unit's HSM)",
                   idc != WARD_OK ? "not checked (no certificate)"
                   : id_moves     ? "MOVED: the clone signs for the certificate"
                                  : "stays: the clone's HSM key is not the certificate's");
    attack_evidence(r, "ward_vault_mount on the clone: %s", ward_err_name(mount));
    if (mount == WARD_OK) {
        attack_evidence(r, "ward_vault_get %s: %s%s", k_canary_name, ward_err_name(got_err),
                        same ? " (the same value)" : "");
    }
    if (id_detail[0] != '\0') {
        attack_evidence(r, "%s", id_detail);
    }
    ward_wipe(&reach, sizeof reach);
    if (!a->keep) {
        attack_remove_dir(clone);
    }
}

void attack_cred_vault_rollback(attack_ctx_t *a, ward_attack_result_t *r)
{
    static const uint8_t old_val[] = "old-password-the-user-changed";
    static const uint8_t new_val[] = "new-password-after-the-change";
    ward_err_t err = attack_fresh_copy(a, "vault-rollback");
    ward_sim_device_t dev;
    ward_vault_t *v = calloc(1, sizeof *v);
    uint8_t *dump = NULL;
    size_t size = 0;
    ward_err_t mount = WARD_ERR_IO;
    if (v == NULL) {
        err = WARD_ERR_NO_SPACE;
    }
    ward_vault_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    if (err == WARD_OK) {
        err = ward_sim_device_open(&dev, a->dir);
    }
    if (err == WARD_OK) {
        cfg.area = dev.vault;
        cfg.hsm = &dev.hsm.port;
        cfg.counter = ATTACK_VAULT_COUNTER;
        err = ward_vault_mount(v, &cfg);
        if (err == WARD_ERR_VAULT_UNFORMATTED) {
            err = ward_vault_format(v, &cfg);
        }
        if (err == WARD_OK) {
            err = ward_vault_put(v, "attack.password", old_val, sizeof old_val - 1u);
        }
        ward_vault_unmount(v);
        size = dev.flash.port.size;
        dump = malloc(size);
        if (err == WARD_OK && dump != NULL) {
            memcpy(dump, ward_sim_flash_mem(&dev.flash), size); /* the attacker's dump */
        }
        if (err == WARD_OK) {
            err = ward_vault_mount(v, &cfg);
        }
        if (err == WARD_OK) {
            err = ward_vault_put(v, "attack.password", new_val, sizeof new_val - 1u);
            ward_vault_unmount(v);
        }
        if (err == WARD_OK && dump != NULL) {
            err = ward_sim_flash_load(&dev.flash, dump, size); /* written back */
        }
        if (err == WARD_OK) {
            mount = ward_vault_mount(v, &cfg);
            ward_vault_unmount(v);
        }
        ward_sim_device_close(&dev);
    }
    free(v);
    free(dump);
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "the setup (store, dump, change): %s",
                       ward_err_name(err));
        return;
    }
    attack_tried(r, "a credential stored in the unit's vault, the flash dumped, the credential "
                    "changed, the old dump (%zu bytes) written back to restore it", size);
    attack_verdict(r, mount == WARD_OK ? WARD_ATTACK_SUCCEEDED : WARD_ATTACK_REFUSED, "%s",
                   mount == WARD_OK ? "the vault MOUNTS the old image: the old credential is back"
                                    : "the vault refuses the old image: its version is behind the "
                                      "HSM's monotonic counter");
    attack_evidence(r, "ward_vault_mount after the write-back: %s", ward_err_name(mount));
}
