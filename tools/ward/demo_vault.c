/*
 * ward demo: the credential vault chapter. The plug stores its Wi-Fi
 * password, cloud token and a BLE bond key; a flash dump shows none of
 * them; a cloned flash chip and an old flash image are refused; a factory
 * wipe deletes everything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_priv.h"
#include "ward/util.h"
#include "ward/vault.h"

/* The HSM counter the vault owns on simulated devices (as `ward vault`). */
#define DEMO_VAULT_COUNTER 0u

typedef struct secret {
    const char *name;
    const uint8_t *value;
    size_t len;
} secret_t;

static void vault_cfg(ward_sim_device_t *dev, ward_vault_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->area = dev->vault;
    cfg->hsm = &dev->hsm.port;
    cfg->counter = DEMO_VAULT_COUNTER;
    cfg->aead = WARD_VAULT_AEAD_AES256_GCM;
}

/* Does any 8-byte run of s appear anywhere in the dump? */
static bool leaks(const uint8_t *dump, size_t n, const uint8_t *s, size_t len)
{
    for (size_t i = 0; i + 8u <= len; i++) {
        for (size_t j = 0; j + 8u <= n; j++) {
            if (memcmp(dump + j, s + i, 8) == 0) {
                return true;
            }
        }
    }
    return false;
}

static ward_err_t mount_dev(const demo_t *d, ward_sim_device_t *dev, ward_vault_t *v)
{
    ward_vault_config_t cfg;
    ward_err_t err = demo_dev_open(d, dev);
    if (err != WARD_OK) {
        return err;
    }
    vault_cfg(dev, &cfg);
    err = ward_vault_mount(v, &cfg);
    if (err != WARD_OK) {
        ward_vault_unmount(v);
        ward_sim_device_close(dev);
    }
    return err;
}

static void close_dev(ward_sim_device_t *dev, ward_vault_t *v)
{
    ward_vault_unmount(v);
    ward_sim_device_close(dev);
}

static bool clone_refused(demo_t *d)
{
    /* A second plug of the same model, with its own HUK, gets a copy of
     * the first plug's flash chip. */
    char p[4096];
    ward_sim_geometry_t g;
    ward_sim_device_t a, b;
    ward_vault_t *v = calloc(1, sizeof *v);
    ward_vault_config_t cfg;
    ward_err_t err = WARD_ERR_IO;
    if (v == NULL) {
        return false;
    }
    demo_path(d, p, sizeof p, "device-clone");
    ward_sim_geometry_default(&g);
    if (ward_sim_device_create(p, &g) == WARD_OK && ward_sim_device_open(&b, p) == WARD_OK) {
        if (b.hsm.port.huk_generate(b.hsm.port.ctx) == WARD_OK && demo_dev_open(d, &a) == WARD_OK) {
            err = ward_sim_flash_load(&b.flash, ward_sim_flash_mem(&a.flash), a.flash.port.size);
            ward_sim_device_close(&a);
            if (err == WARD_OK) {
                vault_cfg(&b, &cfg);
                err = ward_vault_mount(v, &cfg);
                ward_vault_unmount(v);
            }
        }
        ward_sim_device_close(&b);
    }
    free(v);
    return demo_check(d, err == WARD_ERR_VAULT_FOREIGN,
                      "flash chip cloned into another plug: its vault does not open there",
                      "mount on the clone: %s", ward_err_name(err));
}

bool demo_vault_story(demo_t *d)
{
    static const uint8_t wifi[] = "correct-horse-battery-staple-42";
    static const uint8_t token[] = "eyJhbGciOiJFUzI1NiJ9.plug-7f3a.cloud-session-token-9c1e";
    ward_sim_device_t dev;
    ward_vault_config_t cfg;
    ward_vault_t *v = calloc(1, sizeof *v);
    uint8_t *old = NULL, *now = NULL;
    size_t flash_size = 0;
    if (v == NULL) {
        return false;
    }
    demo_chapter(d, "Extra: the credential vault, encrypted under a key that never leaves the HSM");

    ward_err_t err = demo_dev_open(d, &dev);
    if (err == WARD_OK) {
        uint8_t ltk[16];
        err = dev.rng.port.fill(dev.rng.port.ctx, ltk, sizeof ltk);
        vault_cfg(&dev, &cfg);
        if (err == WARD_OK) {
            err = ward_vault_format(v, &cfg);
        }
        const secret_t s[3] = {{"wifi/password", wifi, sizeof wifi - 1},
                               {"cloud/token", token, sizeof token - 1},
                               {"ble/ltk/0", ltk, sizeof ltk}};
        for (int i = 0; i < 3 && err == WARD_OK; i++) {
            err = ward_vault_put(v, s[i].name, s[i].value, s[i].len);
        }
        ward_vault_unmount(v);
        demo_check(d, err == WARD_OK, "Wi-Fi password, cloud token and a BLE long-term key stored",
                   "3 records, AES-256-GCM, keys derived inside the HSM: %s", ward_err_name(err));
        bool leak = false;
        const uint8_t *mem = ward_sim_flash_mem(&dev.flash);
        flash_size = dev.flash.port.size;
        for (int i = 0; i < 3; i++) {
            leak = leak || leaks(mem, flash_size, s[i].value, s[i].len);
        }
        demo_check(d, err == WARD_OK && !leak, "a full flash dump shows none of them",
                   "no 8-byte run of any secret in %zu bytes of flash", flash_size);
        old = malloc(flash_size);
        if (old != NULL) {
            memcpy(old, mem, flash_size); /* the attacker's dump, for later */
        }
        ward_wipe(ltk, sizeof ltk);
        ward_sim_device_close(&dev);
    }
    if (err != WARD_OK || old == NULL) {
        free(v);
        free(old);
        return false;
    }

    err = mount_dev(d, &dev, v);
    if (err == WARD_OK) {
        uint8_t out[128];
        size_t n = 0;
        err = ward_vault_get(v, out, sizeof out, &n, "wifi/password");
        demo_check(d, err == WARD_OK && n == sizeof wifi - 1 && memcmp(out, wifi, n) == 0,
                   "after a reboot the plug reads its Wi-Fi password back", "%s, %zu bytes",
                   ward_err_name(err), n);
        ward_wipe(out, sizeof out);
        static const uint8_t wifi2[] = "new-router-passphrase-2026";
        err = ward_vault_put(v, "wifi/password", wifi2, sizeof wifi2 - 1);
        demo_check(d, err == WARD_OK, "the user changes the Wi-Fi password", "%s",
                   ward_err_name(err));
        close_dev(&dev, v);
    }

    (void)clone_refused(d);

    /* Rollback: write the dump taken before the change back. */
    ward_err_t loaded = WARD_ERR_IO;
    if (demo_dev_open(d, &dev) == WARD_OK) {
        now = malloc(flash_size);
        if (now != NULL) {
            memcpy(now, ward_sim_flash_mem(&dev.flash), flash_size);
            loaded = ward_sim_flash_load(&dev.flash, old, flash_size);
        }
        ward_sim_device_close(&dev);
    }
    err = loaded != WARD_OK ? loaded : mount_dev(d, &dev, v);
    if (err == WARD_OK) {
        close_dev(&dev, v);
    }
    demo_check(d, err == WARD_ERR_ROLLBACK,
               "an older flash image written back (to restore the old password) is detected",
               "mount: %s", ward_err_name(err));
    if (now != NULL && demo_dev_open(d, &dev) == WARD_OK) {
        (void)ward_sim_flash_load(&dev.flash, now, flash_size);
        ward_sim_device_close(&dev);
    }

    /* Factory reset: "easy to delete user data". */
    err = mount_dev(d, &dev, v);
    if (err == WARD_OK) {
        err = ward_vault_wipe(v);
        ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
        char name[WARD_CONFIG_VAULT_NAME_MAX + 1];
        size_t len = 0;
        ward_err_t next = ward_vault_next(v, &it, name, &len);
        demo_check(d, err == WARD_OK && next == WARD_ERR_NOT_FOUND,
                   "factory reset wipes every credential", "wipe %s, records left: %s",
                   ward_err_name(err), next == WARD_ERR_NOT_FOUND ? "none" : "SOME");
        close_dev(&dev, v);
    }
    free(old);
    free(now);
    free(v);
    return d->failed == 0;
}
