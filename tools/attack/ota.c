/*
 * ward_attack: the update path. The unit's own update agent (src/ota, as
 * the application runs it) on a private copy, fed by the attacker: a TLS
 * server with another CA's certificate for the update host (a man in the
 * middle, in a child process of ours), or manifests served from memory (a
 * compromised server or CDN: TLS does not help there, the signature must).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "attack_priv.h"
#include "ward/crypto.h"
#include "ward/util.h"
#include "ward_repo.h"
#include "ward_sign.h"

#define BLOCK 1024u

/* ---- the unit's agent -------------------------------------------------------------------------- */

typedef struct agent {
    ward_sim_device_t dev;
    bool dev_open;
    ward_boot_ctx_t boot;
    ward_vault_t vault;
    bool mounted;
    ward_ota_t ota;
    /* over HTTPS */
    attack_divert_t net;
    ward_tls_config_t tls;
    ward_https_fetch_t https;
    uint8_t *ca;
    size_t ca_len;
} agent_t;

static uint64_t wall(void *ctx)
{
    (void)ctx;
    const time_t t = time(NULL);
    return t > 0 ? (uint64_t)t : 0u;
}

static int64_t tls_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static void agent_close(agent_t *g)
{
    attack_divert_close(&g->net);
    if (g->mounted) {
        ward_vault_unmount(&g->vault);
        g->mounted = false;
    }
    if (g->dev_open) {
        ward_sim_device_close(&g->dev);
        g->dev_open = false;
    }
    free(g->ca);
    g->ca = NULL;
}

/* The agent on the unit in dir, fetching with fetch; or, fetch NULL, over
 * HTTPS from base_url through a net port that diverts to 127.0.0.1:port. */
static ward_err_t agent_open(agent_t *g, const char *dir, const ward_fetch_t *fetch,
                             const char *base_url, uint16_t port, char *why, size_t why_len)
{
    memset(g, 0, sizeof *g);
    attack_divert_init(&g->net, port);
    ward_err_t err = ward_sim_device_open(&g->dev, dir);
    g->dev_open = err == WARD_OK;
    if (err == WARD_OK && (!g->dev.has_ota_spki || g->dev.device_class[0] == '\0')) {
        snprintf(why, why_len, "the unit has no OTA key or device class: it takes no updates");
        err = WARD_ERR_OTA_KEY;
    }
    ward_boot_config_t bcfg;
    if (err == WARD_OK) {
        ward_sim_device_boot_config(&g->dev, &bcfg);
        err = ward_boot_init(&g->boot, &bcfg);
    }
    if (err == WARD_OK) {
        ward_vault_config_t vc;
        memset(&vc, 0, sizeof vc);
        vc.area = g->dev.vault;
        vc.hsm = &g->dev.hsm.port;
        vc.counter = ATTACK_VAULT_COUNTER;
        vc.aead = WARD_VAULT_AEAD_AES256_GCM;
        err = ward_vault_mount(&g->vault, &vc);
        if (err == WARD_ERR_VAULT_UNFORMATTED) {
            err = ward_vault_format(&g->vault, &vc); /* as the app does at its first start */
        }
        g->mounted = err == WARD_OK;
        if (err != WARD_OK) {
            snprintf(why, why_len, "the unit's vault (its update state) does not mount: %s",
                     ward_err_name(err));
        }
    }
    if (err == WARD_OK && fetch == NULL) {
        char path[PATH_MAX];
        (void)attack_path(path, sizeof path, "%s/ca.pem", dir);
        err = attack_read_file(path, &g->ca, &g->ca_len);
        if (err != WARD_OK) {
            snprintf(why, why_len, "the unit pins no CA (ca.pem): %s", ward_err_name(err));
        } else {
            g->ca_len++; /* PEM with its NUL (read_file put one after it) */
            g->tls.ca = g->ca;
            g->tls.ca_len = g->ca_len;
            g->tls.now = tls_now;
            err = ward_https_fetch_init(&g->https, base_url, &g->tls, &g->net.port);
            if (err != WARD_OK) {
                snprintf(why, why_len, "%s: the agent refuses the URL (%s)", base_url,
                         ward_err_name(err));
            }
        }
    }
    if (err == WARD_OK) {
        const ward_ota_config_t cfg = {
            .boot = &g->boot,
            .otp = &g->dev.otp.port,
            .ota_spki = g->dev.ota_spki,
            .ota_spki_len = sizeof g->dev.ota_spki,
            .device_class = g->dev.device_class,
            .vault = &g->vault,
            .fetch = fetch != NULL ? fetch : &g->https.fetch,
            .now = wall,
            .max_retries = 1,
        };
        err = ward_ota_init(&g->ota, &cfg);
    }
    if (err != WARD_OK) {
        if (why[0] == '\0') {
            snprintf(why, why_len, "the update agent does not start: %s", ward_err_name(err));
        }
        agent_close(g);
    }
    return err;
}

/* ---- a server in memory (a compromised repository) ------------------------------------------------ */

typedef struct memfile {
    char path[200];
    const uint8_t *data;
    size_t len;
} memfile_t;

typedef struct memfetch {
    ward_fetch_t fetch;
    memfile_t files[4];
    size_t n;
    unsigned gets;
} memfetch_t;

static ward_err_t mem_get(void *ctx, const char *path, uint64_t from, uint64_t max,
                          uint64_t *total, ward_fetch_sink_fn sink, void *sink_ctx)
{
    memfetch_t *m = ctx;
    m->gets++;
    for (size_t i = 0; i < m->n; i++) {
        const memfile_t *f = &m->files[i];
        if (strcmp(f->path, path) != 0) {
            continue;
        }
        if (total != NULL) {
            *total = f->len;
        }
        if (from > f->len) {
            return WARD_ERR_HTTP_STATUS;
        }
        if (f->len - from > max) {
            return WARD_ERR_OTA_SIZE;
        }
        for (size_t off = (size_t)from; off < f->len;) {
            const size_t n = f->len - off < 1024u ? f->len - off : 1024u;
            const ward_err_t err = sink(sink_ctx, f->data + off, n);
            if (err != WARD_OK) {
                return err;
            }
            off += n;
        }
        return WARD_OK;
    }
    return WARD_ERR_HTTP_STATUS; /* 404 */
}

static void memfetch_init(memfetch_t *m)
{
    memset(m, 0, sizeof *m);
    m->fetch.ctx = m;
    m->fetch.get = mem_get;
}

static void memfetch_add(memfetch_t *m, const char *cls, const char *name, const uint8_t *data,
                         size_t len)
{
    if (m->n < sizeof m->files / sizeof m->files[0]) {
        memfile_t *f = &m->files[m->n++];
        snprintf(f->path, sizeof f->path, "%s/%s", cls, name);
        f->data = data;
        f->len = len;
    }
}

/* ---- signers and manifests ---------------------------------------------------------------------- */

static ward_err_t key_sign(void *ctx, const uint8_t hash[32], uint8_t sig[64])
{
    return ward_key_sign_hash(ctx, hash, sig);
}

static void signer_of_key(ward_repo_signer_t *s, ward_key_t *k)
{
    memset(s, 0, sizeof *s);
    s->sign_hash = key_sign;
    s->ctx = k;
    memcpy(s->spki, ward_key_spki(k), sizeof s->spki);
}

typedef struct built {
    ward_ota_manifest_t m;
    uint8_t cose[WARD_CONFIG_OTA_MANIFEST_MAX];
    size_t cose_len;
    uint8_t *wire; /* the chained update (NULL when not built) */
    size_t wire_len;
    char uri[64];
} built_t;

/* A manifest for `img` (its chained update built too), or, img NULL, for
 * an image of img_len bytes that is never served (a withdrawn release). */
static ward_err_t build(const ward_repo_signer_t *s, const char *cls, ward_image_version_t v,
                        uint32_t sec_cnt, const uint8_t *img, size_t img_len, uint64_t sequence,
                        const char *uri, built_t *b)
{
    memset(b, 0, sizeof *b);
    ward_ota_manifest_t *m = &b->m;
    const uint64_t now = wall(NULL);
    m->format = WARD_OTA_MANIFEST_FORMAT;
    snprintf(m->device_class, sizeof m->device_class, "%s", cls);
    m->version = v;
    m->sec_cnt = sec_cnt;
    m->image_size = (uint32_t)img_len;
    snprintf(m->uri, sizeof m->uri, "%s", uri);
    snprintf(b->uri, sizeof b->uri, "%s", uri);
    m->issued_at = now - 60u;
    m->expires = now + 30u * 86400u;
    m->sequence = sequence;
    m->block_size = BLOCK;
    ward_err_t err = WARD_OK;
    if (img != NULL) {
        err = ward_sha256(m->image_digest, img, img_len);
        if (err == WARD_OK) {
            err = ward_repo_chain_build(img, img_len, BLOCK, &b->wire, &b->wire_len, m->chain_head);
        }
    } else {
        /* Digests of nothing served: the manifest is refused before they matter. */
        (void)ward_sha256(m->image_digest, (const uint8_t *)uri, strlen(uri));
        (void)ward_sha256(m->chain_head, m->image_digest, 32);
    }
    if (err == WARD_OK) {
        err = ward_repo_manifest_build(s, m, b->cose, sizeof b->cose, &b->cose_len);
    }
    return err;
}

static void built_free(built_t *b)
{
    free(b->wire);
    b->wire = NULL;
}

/* The unit's device class and running image (base copy). */
static bool unit_class(attack_ctx_t *a, char *cls, size_t cap)
{
    ward_sim_device_t dev;
    if (ward_sim_device_open(&dev, a->base) != WARD_OK) {
        return false;
    }
    snprintf(cls, cap, "%s", dev.device_class);
    ward_sim_device_close(&dev);
    return cls[0] != '\0';
}

/* Does the unit's OTP hold the same hash for the OTA key as for the boot key? */
static bool keys_equal(const attack_ctx_t *a)
{
    ward_sim_device_t dev;
    bool same = false;
    if (ward_sim_device_open(&dev, a->base) == WARD_OK) {
        uint8_t boot[32], ota[32];
        same = dev.otp.port.read(dev.otp.port.ctx, WARD_OTP_BOOT_KEY_HASH, boot, 32) == WARD_OK &&
               dev.otp.port.read(dev.otp.port.ctx, WARD_OTP_OTA_KEY_HASH, ota, 32) == WARD_OK &&
               !ward_ct_all(boot, 0u, 32) && ward_ct_equal(boot, ota, 32);
        ward_sim_device_close(&dev);
    }
    return same;
}

static ward_image_version_t bump(ward_image_version_t v, unsigned by)
{
    v.minor = (uint8_t)(v.minor + by <= 255u ? v.minor + by : 255u);
    return v;
}

/* Offer one manifest to the unit in a->dir; the agent's verdict. *gets
 * (may be NULL): how many times the agent fetched (0: it stopped before it
 * read the manifest, so no check of it ran). */
static ward_err_t offer_n(attack_ctx_t *a, const built_t *b, const char *cls, char *why,
                          size_t cap, unsigned *gets)
{
    memfetch_t mf;
    why[0] = '\0';
    agent_t *g = calloc(1, sizeof *g);
    if (g == NULL) {
        snprintf(why, cap, "out of memory");
        return WARD_ERR_NO_SPACE;
    }
    memfetch_init(&mf);
    memfetch_add(&mf, cls, WARD_REPO_MANIFEST_FILE, b->cose, b->cose_len);
    ward_err_t err = agent_open(g, a->dir, &mf.fetch, NULL, 0, why, cap);
    if (err == WARD_OK) {
        err = ward_ota_check(&g->ota);
        agent_close(g);
    } else {
        err = WARD_ERR_STATE; /* the harness, not the verdict: the caller checks why */
    }
    free(g);
    if (gets != NULL) {
        *gets = mf.gets;
    }
    return err;
}

static ward_err_t offer(attack_ctx_t *a, const built_t *b, const char *cls, char *why, size_t cap)
{
    return offer_n(a, b, cls, why, cap, NULL);
}

/* The attacker's own key as a manifest signer. */
static ward_err_t attacker_signer(ward_repo_signer_t *s, psa_key_id_t *key)
{
    ward_err_t err = ward_sign_keygen(key);
    return err == WARD_OK ? ward_repo_signer_psa(s, *key) : err;
}

/* The no-fleet variant of the manifest attacks: the attacker's own key. */
static void unknown_key(attack_ctx_t *a, ward_attack_result_t *r, const char *cls,
                        const char *what)
{
    ward_repo_signer_t s;
    psa_key_id_t key = 0;
    built_t b;
    char why[300];
    ward_err_t err = attacker_signer(&s, &key);
    if (err == WARD_OK) {
        err = build(&s, cls, bump(a->version, 1), a->sec_cnt, NULL, 4096, (uint64_t)a->now * 10u,
                    "update-attacker.bin", &b);
    }
    (void)psa_destroy_key(key);
    if (err == WARD_OK) {
        err = attack_fresh_copy(a, "manifest-attacker-key");
    }
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "building the manifest: %s", ward_err_name(err));
        return;
    }
    attack_tried(r, "without --fleet the fleet's OTA key is not at hand: %s, for %s, signed "
                    "with the attacker's own key (kid %02x%02x%02x%02x...)",
                 what, attack_version(&b.m.version), b.m.kid[0], b.m.kid[1], b.m.kid[2],
                 b.m.kid[3]);
    unsigned gets = 0;
    err = offer_n(a, &b, cls, why, sizeof why, &gets);
    if (why[0] != '\0') {
        attack_verdict(r, WARD_ATTACK_ERROR, "%s", why);
        return;
    }
    if (err != WARD_OK && gets == 0u) {
        /* No control is possible without the fleet's key; this much is:
         * the agent must at least read the manifest to refuse its key. */
        attack_verdict(r, WARD_ATTACK_SKIPPED,
                       "the agent stopped before it fetched the manifest (ward_ota_check: %s): "
                       "the unit takes no update here, its signature check was not exercised",
                       ward_err_name(err));
        return;
    }
    attack_verdict(r, err == WARD_OK ? WARD_ATTACK_SUCCEEDED : WARD_ATTACK_REFUSED,
                   "%s (unknown key); nothing written",
                   err == WARD_OK ? "the agent ACCEPTED it" : "the agent refused the manifest");
    attack_evidence(r, "ward_ota_check: %s", ward_err_name(err));
}

void attack_ota_tampered_manifest(attack_ctx_t *a, ward_attack_result_t *r)
{
    char cls[WARD_SIM_CLASS_MAX + 1], why[600];
    if (!unit_class(a, cls, sizeof cls)) {
        attack_verdict(r, WARD_ATTACK_SKIPPED, "the unit has no device class: it takes no updates");
        return;
    }
    ward_key_t *k = attack_fleet_key(a, true, why, sizeof why);
    if (k == NULL) {
        unknown_key(a, r, cls, "a manifest");
        attack_evidence(r, "%s", why);
        return;
    }
    ward_repo_signer_t s;
    built_t b;
    signer_of_key(&s, k);
    uint8_t *img = NULL;
    size_t len = 0;
    ward_image_info_t info;
    ward_err_t err = attack_read_primary(a->base, &img, &len, &info);
    if (err == WARD_OK) {
        err = build(&s, cls, bump(a->version, 1), a->sec_cnt, img, len, (uint64_t)a->now * 10u,
                    "update-tampered.bin", &b);
    }
    ward_key_close(k);
    free(img);
    if (err == WARD_OK) {
        err = attack_fresh_copy(a, "manifest-tampered");
    }
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "building the manifest: %s", ward_err_name(err));
        return;
    }
    /* Control: the genuine manifest is one the unit accepts. */
    const ward_err_t control = offer(a, &b, cls, why, sizeof why);
    if (why[0] != '\0' || control != WARD_OK) {
        built_free(&b);
        attack_verdict(r, WARD_ATTACK_SKIPPED,
                       "no control: a genuine manifest signed with the fleet's OTA key is not "
                       "accepted either (%s%s%s): %s",
                       ward_err_name(control), why[0] ? "; " : "", why,
                       keys_equal(a) ? "the unit takes no update at all, its OTA key is its boot "
                                       "key (the agent refuses to run so)"
                                     : "this unit is not the fleet's");
        return;
    }
    /* The image digest in the payload: one byte changed (another image). */
    uint8_t *at = memmem(b.cose, b.cose_len, b.m.image_digest, 32);
    if (at == NULL) {
        built_free(&b);
        attack_verdict(r, WARD_ATTACK_ERROR, "the digest is not in the manifest's bytes");
        return;
    }
    const size_t off = (size_t)(at - b.cose) + 31u;
    b.cose[off] ^= 0x5Au;
    attack_tried(r, "a manifest for %s signed with the fleet's OTA key (accepted as it is: the "
                    "control), then byte %zu of %zu (the last byte of the image digest) changed, "
                    "to make the unit take another image",
                 attack_version(&b.m.version), off, b.cose_len);
    err = offer(a, &b, cls, why, sizeof why);
    built_free(&b);
    attack_verdict(r, err == WARD_OK ? WARD_ATTACK_SUCCEEDED : WARD_ATTACK_REFUSED,
                   "%s; nothing written to the staging slot",
                   err == WARD_OK ? "the agent ACCEPTED the altered manifest"
                                  : "the agent refused the altered manifest");
    attack_evidence(r, "control: WARD_OK; altered: ward_ota_check %s", ward_err_name(err));
}

/* Install a genuine update (check, apply, reset, trial, confirm, reset). */
static ward_err_t install(attack_ctx_t *a, const built_t *b, const char *cls, char *why,
                          size_t cap)
{
    memfetch_t mf;
    agent_t *g = calloc(1, sizeof *g);
    if (g == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    memfetch_init(&mf);
    memfetch_add(&mf, cls, WARD_REPO_MANIFEST_FILE, b->cose, b->cose_len);
    memfetch_add(&mf, cls, b->uri, b->wire, b->wire_len);
    why[0] = '\0';
    ward_err_t err = agent_open(g, a->dir, &mf.fetch, NULL, 0, why, cap);
    if (err == WARD_OK) {
        err = ward_ota_check(&g->ota);
        if (err == WARD_OK) {
            err = ward_ota_apply(&g->ota);
        }
        agent_close(g);
        if (err != WARD_OK) {
            snprintf(why, cap, "the genuine update was not applied: %s", ward_err_name(err));
        }
    }
    free(g);
    ward_boot_report_t rep;
    ward_err_t e2 = WARD_OK;
    if (err == WARD_OK) {
        (void)attack_boot(a->dir, &rep, &e2);
        if (!rep.trial) {
            snprintf(why, cap, "the genuine update did not trial-boot (%s)",
                     ward_err_name(rep.update_reason));
            err = WARD_ERR_STATE;
        }
    }
    if (err == WARD_OK) {
        ward_sim_device_t dev;
        ward_boot_config_t cfg;
        ward_boot_ctx_t ctx;
        err = ward_sim_device_open(&dev, a->dir);
        if (err == WARD_OK) {
            ward_sim_device_boot_config(&dev, &cfg);
            err = ward_boot_init(&ctx, &cfg);
            if (err == WARD_OK) {
                err = ward_boot_confirm(&ctx);
            }
            ward_sim_device_close(&dev);
        }
        if (err == WARD_OK) {
            (void)attack_boot(a->dir, &rep, &e2);
        }
    }
    return err;
}

void attack_ota_replayed_manifest(attack_ctx_t *a, ward_attack_result_t *r)
{
    char cls[WARD_SIM_CLASS_MAX + 1], why[600], why2[600];
    if (!unit_class(a, cls, sizeof cls)) {
        attack_verdict(r, WARD_ATTACK_SKIPPED, "the unit has no device class: it takes no updates");
        return;
    }
    ward_key_t *ota = attack_fleet_key(a, true, why, sizeof why);
    if (ota == NULL) {
        unknown_key(a, r, cls, "an old manifest replayed");
        attack_evidence(r, "%s", why);
        return;
    }
    ward_key_t *boot = attack_fleet_key(a, false, why2, sizeof why2);
    if (boot == NULL) {
        ward_key_close(ota);
        attack_verdict(r, WARD_ATTACK_SKIPPED,
                       "the unit must first install a genuine update, signed with the boot key: "
                       "%s", why2);
        return;
    }
    /* The genuine update: the unit's firmware as the next version. */
    uint8_t *img = NULL, *up = NULL;
    size_t len = 0, up_len = 0;
    ward_image_info_t info;
    ward_err_t err = attack_read_primary(a->base, &img, &len, &info);
    const ward_image_version_t v1 = bump(a->version, 1), v2 = bump(a->version, 2);
    if (err == WARD_OK) {
        ward_sign_opts_t so;
        ward_sign_opts_init(&so);
        so.version = v1;
        so.header_size = info.hdr_size;
        so.pad_header = true;
        so.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
        so.sec_cnt = info.sec_cnt;
        err = ward_sign_image_signer(&so, img + info.hdr_size, info.img_size, ward_key_signer(boot),
                                     &up, &up_len);
    }
    ward_key_close(boot);
    free(img);
    ward_repo_signer_t s;
    signer_of_key(&s, ota);
    built_t withdrawn, current;
    memset(&current, 0, sizeof current);
    const uint64_t seq = (uint64_t)a->now * 10u;
    if (err == WARD_OK) {
        err = build(&s, cls, v2, info.sec_cnt, NULL, up_len, seq, "update-withdrawn.bin",
                    &withdrawn);
    }
    if (err == WARD_OK) {
        err = build(&s, cls, v1, info.sec_cnt, up, up_len, seq + 1u, "update-current.bin",
                    &current);
    }
    ward_key_close(ota);
    free(up);
    if (err == WARD_OK) {
        err = attack_fresh_copy(a, "manifest-replayed");
    }
    if (err != WARD_OK) {
        built_free(&current);
        attack_verdict(r, WARD_ATTACK_ERROR, "building the updates: %s", ward_err_name(err));
        return;
    }
    err = install(a, &current, cls, why, sizeof why);
    built_free(&current);
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_SKIPPED, "no control: %s (%s): %s", why,
                       ward_err_name(err),
                       keys_equal(a) ? "the unit takes no update at all, its OTA key is its boot "
                                       "key (the agent refuses to run so)"
                                     : "this unit is not the fleet's");
        return;
    }
    const uint64_t seq2 = seq + 1u;
    attack_tried(r, "two manifests signed with the fleet's OTA key: sequence %" PRIu64 " for %s "
                    "(a withdrawn release) and sequence %" PRIu64 " for %s; the unit installed "
                    "the second (check, apply, trial, confirm); then the first was served again",
                 seq, attack_version(&v2), seq2, attack_version(&v1));
    err = offer(a, &withdrawn, cls, why, sizeof why);
    const ward_err_t again = offer(a, &current, cls, why2, sizeof why2);
    attack_verdict(r, err == WARD_OK ? WARD_ATTACK_SUCCEEDED : WARD_ATTACK_REFUSED,
                   "%s; the installed manifest served again: %s",
                   err == WARD_OK ? "the replayed manifest was ACCEPTED"
                                  : "the replayed manifest was refused",
                   again == WARD_OK ? "ACCEPTED" : ward_err_name(again));
    attack_evidence(r, "control: sequence %" PRIu64 " installed, %s running; replay: "
                       "ward_ota_check %s", seq2, attack_version(&v1), ward_err_name(err));
}

void attack_ota_boot_key_manifest(attack_ctx_t *a, ward_attack_result_t *r)
{
    char cls[WARD_SIM_CLASS_MAX + 1], why[600];
    if (!unit_class(a, cls, sizeof cls)) {
        attack_verdict(r, WARD_ATTACK_SKIPPED, "the unit has no device class: it takes no updates");
        return;
    }
    ward_key_t *k = attack_fleet_key(a, false, why, sizeof why);
    if (k == NULL) {
        attack_verdict(r, WARD_ATTACK_SKIPPED, "%s", why);
        return;
    }
    const bool same = keys_equal(a);
    ward_repo_signer_t s;
    built_t b;
    ward_err_t err = WARD_OK;
    if (!same) {
        /* Control: the same manifest signed with the fleet's OTA key is one
         * the unit accepts (else a refusal says nothing about the key). */
        ward_key_t *ok = attack_fleet_key(a, true, why, sizeof why);
        if (ok == NULL) {
            ward_key_close(k);
            attack_verdict(r, WARD_ATTACK_SKIPPED, "no control: %s", why);
            return;
        }
        signer_of_key(&s, ok);
        err = build(&s, cls, bump(a->version, 1), a->sec_cnt, NULL, 4096, (uint64_t)a->now * 10u,
                    "update-boot-key.bin", &b);
        ward_key_close(ok);
        if (err == WARD_OK) {
            err = attack_fresh_copy(a, "manifest-boot-key-control");
        }
        const ward_err_t control = err == WARD_OK ? offer(a, &b, cls, why, sizeof why) : err;
        if (err == WARD_OK && (why[0] != '\0' || control != WARD_OK)) {
            ward_key_close(k);
            attack_verdict(r, WARD_ATTACK_SKIPPED,
                           "no control: a genuine manifest signed with the fleet's OTA key is not "
                           "accepted either (%s%s%s): this unit is not the fleet's, or takes no "
                           "update",
                           ward_err_name(control), why[0] ? "; " : "", why);
            return;
        }
    }
    if (err == WARD_OK) {
        signer_of_key(&s, k);
        err = build(&s, cls, bump(a->version, 1), a->sec_cnt, NULL, 4096, (uint64_t)a->now * 10u,
                    "update-boot-key.bin", &b);
    }
    ward_key_close(k);
    if (err == WARD_OK) {
        err = attack_fresh_copy(a, "manifest-boot-key");
    }
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "building the manifest: %s", ward_err_name(err));
        return;
    }
    attack_tried(r, "a manifest for %s signed with the fleet's boot key (kid %02x%02x%02x%02x...)",
                 attack_version(&b.m.version), b.m.kid[0], b.m.kid[1], b.m.kid[2], b.m.kid[3]);
    err = offer(a, &b, cls, why, sizeof why);
    if (why[0] != '\0') {
        attack_verdict(r, WARD_ATTACK_ERROR, "%s", why);
        return;
    }
    attack_verdict(r, err == WARD_OK ? WARD_ATTACK_SUCCEEDED : WARD_ATTACK_REFUSED, "%s",
                   err == WARD_OK ? "the agent ACCEPTED it: the unit's OTA key is its boot key"
                   : same ? "the agent refused it, and every other manifest: the unit's OTP "
                            "holds the boot key's hash as its OTA key, which the agent refuses "
                            "to run with (one key, one job); the unit can take no update"
                          : "the agent refused it: the boot key is not the OTA key");
    attack_evidence(r, "%sward_ota_check: %s", same ? "" : "control (the fleet's OTA key): WARD_OK; ",
                    ward_err_name(err));
}

/* ---- the man in the middle ------------------------------------------------------------------------ */

typedef struct pki_key {
    psa_key_id_t key;
    mbedtls_pk_context pk;
    char name[300];
} pki_key_t;

static ward_err_t pki_key(pki_key_t *k, const char *cn, char *pem, size_t cap)
{
    size_t len = 0;
    snprintf(k->name, sizeof k->name, "CN=%s", cn);
    ward_err_t err = ward_sign_keygen(&k->key);
    if (err == WARD_OK) {
        err = ward_sign_key_write_pkcs8_pem(k->key, pem, cap, &len);
    }
    if (err == WARD_OK && mbedtls_pk_parse_key(&k->pk, (const unsigned char *)pem, len + 1u, NULL, 0,
                                               mbedtls_psa_get_random,
                                               MBEDTLS_PSA_RANDOM_STATE) != 0) {
        err = WARD_ERR_CRYPTO;
    }
    return err;
}

static void stamp(char out[16], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* A certificate (PEM into out), CA or a server certificate for host. */
static ward_err_t pki_cert(pki_key_t *subj, pki_key_t *iss, bool ca, const char *host,
                           unsigned char *out, size_t cap)
{
    mbedtls_x509write_cert c;
    char from[16], to[16];
    const time_t now = time(NULL);
    stamp(from, now - 3600);
    stamp(to, now + 7 * 86400);
    mbedtls_x509write_crt_init(&c);
    mbedtls_x509write_crt_set_version(&c, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&c, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&c, &subj->pk);
    mbedtls_x509write_crt_set_issuer_key(&c, &iss->pk);
    unsigned char sn[2] = {0x01, ca ? 0x01 : 0x02};
    int ret = mbedtls_x509write_crt_set_subject_name(&c, subj->name);
    ret = ret != 0 ? ret : mbedtls_x509write_crt_set_issuer_name(&c, iss->name);
    ret = ret != 0 ? ret : mbedtls_x509write_crt_set_serial_raw(&c, sn, sizeof sn);
    ret = ret != 0 ? ret : mbedtls_x509write_crt_set_validity(&c, from, to);
    ret = ret != 0 ? ret : mbedtls_x509write_crt_set_basic_constraints(&c, ca ? 1 : 0, -1);
    ret = ret != 0 ? ret
                   : mbedtls_x509write_crt_set_key_usage(
                         &c, ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN : MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    if (ret == 0 && !ca) {
        mbedtls_x509_san_list san[2];
        char name[256];
        snprintf(name, sizeof name, "%s", host);
        const size_t hl = strlen(name);
        memset(san, 0, sizeof san);
        san[0].node.type = MBEDTLS_X509_SAN_DNS_NAME;
        san[0].node.san.unstructured_name.p = (unsigned char *)name;
        san[0].node.san.unstructured_name.len = hl;
        ret = mbedtls_x509write_crt_set_subject_alternative_name(&c, san);
    }
    ret = ret != 0 ? ret
                   : mbedtls_x509write_crt_pem(&c, out, cap, mbedtls_psa_get_random,
                                               MBEDTLS_PSA_RANDOM_STATE);
    mbedtls_x509write_crt_free(&c);
    return ret == 0 ? WARD_OK : WARD_ERR_CRYPTO;
}

typedef struct mitm {
    pid_t pid;
    int log_fd; /* read end: the child's lines */
    uint16_t port;
} mitm_t;

static int srv_send(void *ctx, const unsigned char *buf, size_t len)
{
    const int fd = *(const int *)ctx;
    const ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    return n < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)n;
}

static int srv_recv(void *ctx, unsigned char *buf, size_t len)
{
    const int fd = *(const int *)ctx;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) {
        return MBEDTLS_ERR_SSL_TIMEOUT;
    }
    const ssize_t n = recv(fd, buf, len, 0);
    return n < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)n;
}

/* The child: accept TLS connections for 20 s and say what each did. */
static void mitm_serve(int lfd, int out, const unsigned char *crt_pem, const unsigned char *key_pem)
{
    /* A fresh random state of its own (not the parent's copy). */
    mbedtls_psa_crypto_free();
    if (psa_crypto_init() != PSA_SUCCESS) {
        _exit(2);
    }
    mbedtls_x509_crt crt;
    mbedtls_pk_context pk;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&pk);
    mbedtls_ssl_config_init(&conf);
    if (mbedtls_x509_crt_parse(&crt, crt_pem, strlen((const char *)crt_pem) + 1u) != 0 ||
        mbedtls_pk_parse_key(&pk, key_pem, strlen((const char *)key_pem) + 1u, NULL, 0,
                             mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE) != 0 ||
        mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0 ||
        mbedtls_ssl_conf_own_cert(&conf, &crt, &pk) != 0) {
        dprintf(out, "S setup failed\n");
        _exit(3);
    }
    mbedtls_ssl_conf_rng(&conf, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
    dprintf(out, "S ready\n");
    const time_t end = time(NULL) + 20;
    while (time(NULL) < end) {
        struct pollfd p = {lfd, POLLIN, 0};
        if (poll(&p, 1, 500) <= 0) {
            continue;
        }
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        mbedtls_ssl_context ssl;
        mbedtls_ssl_init(&ssl);
        int ret = mbedtls_ssl_setup(&ssl, &conf);
        if (ret == 0) {
            mbedtls_ssl_set_bio(&ssl, &fd, srv_send, srv_recv, NULL);
            do {
                ret = mbedtls_ssl_handshake(&ssl);
            } while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
        }
        if (ret != 0) {
            dprintf(out, "H failed -0x%04x\n", (unsigned)-ret);
        } else {
            dprintf(out, "H ok %s\n", mbedtls_ssl_get_version(&ssl));
            unsigned char req[512];
            do {
                ret = mbedtls_ssl_read(&ssl, req, sizeof req - 1u);
            } while (ret == MBEDTLS_ERR_SSL_WANT_READ ||
                     ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET);
            if (ret > 0) {
                req[ret] = '\0';
                req[strcspn((char *)req, "\r\n")] = '\0';
                dprintf(out, "R %s\n", (char *)req);
                static const char k_resp[] =
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                (void)mbedtls_ssl_write(&ssl, (const unsigned char *)k_resp, sizeof k_resp - 1u);
            }
            (void)mbedtls_ssl_close_notify(&ssl);
        }
        mbedtls_ssl_free(&ssl);
        close(fd);
    }
    _exit(0);
}

static ward_err_t mitm_start(mitm_t *m, const char *host, char *why, size_t cap)
{
    memset(m, 0, sizeof *m);
    m->pid = -1;
    m->log_fd = -1;
    char pem[WARD_SIGN_PKCS8_PEM_MAX];
    static unsigned char crt_pem[4096], key_pem[WARD_SIGN_PKCS8_PEM_MAX];
    pki_key_t ca, srv;
    memset(&ca, 0, sizeof ca);
    memset(&srv, 0, sizeof srv);
    mbedtls_pk_init(&ca.pk);
    mbedtls_pk_init(&srv.pk);
    ward_err_t err = pki_key(&ca, "an attacker's CA", pem, sizeof pem);
    if (err == WARD_OK) {
        err = pki_key(&srv, host, (char *)key_pem, sizeof key_pem);
    }
    /* The attacker's CA certificate itself is never sent: the leaf names
     * it as issuer, and the unit pins another CA. */
    if (err == WARD_OK) {
        err = pki_cert(&srv, &ca, false, host, crt_pem, sizeof crt_pem);
    }
    ward_wipe(pem, sizeof pem);
    mbedtls_pk_free(&ca.pk);
    mbedtls_pk_free(&srv.pk);
    (void)psa_destroy_key(ca.key);
    (void)psa_destroy_key(srv.key);
    if (err != WARD_OK) {
        snprintf(why, cap, "the attacker's certificates: %s", ward_err_name(err));
        return err;
    }
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    const int lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int pipefd[2] = {-1, -1};
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 8) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0 || pipe(pipefd) != 0) {
        snprintf(why, cap, "a listening socket: %s", strerror(errno));
        if (lfd >= 0) {
            close(lfd);
        }
        return WARD_ERR_IO;
    }
    m->port = ntohs(sa.sin_port);
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(pipefd[0]);
        mitm_serve(lfd, pipefd[1], crt_pem, key_pem);
    }
    close(lfd);
    close(pipefd[1]);
    ward_wipe(key_pem, sizeof key_pem);
    if (pid < 0) {
        close(pipefd[0]);
        snprintf(why, cap, "fork: %s", strerror(errno));
        return WARD_ERR_IO;
    }
    m->pid = pid;
    m->log_fd = pipefd[0];
    return WARD_OK;
}

/* Stop the child and collect what it saw (up to cap bytes of lines). */
static void mitm_stop(mitm_t *m, char *log, size_t cap)
{
    size_t n = 0;
    if (m->pid > 0) {
        /* Let it write what it saw, then stop it. */
        attack_sleep_ms(200);
        (void)kill(m->pid, SIGTERM);
        (void)waitpid(m->pid, NULL, 0);
        m->pid = -1;
    }
    while (m->log_fd >= 0 && n + 1u < cap) {
        const ssize_t got = read(m->log_fd, log + n, cap - 1u - n);
        if (got <= 0) {
            break;
        }
        n += (size_t)got;
    }
    log[n] = '\0';
    if (m->log_fd >= 0) {
        close(m->log_fd);
        m->log_fd = -1;
    }
}

void attack_ota_mitm(attack_ctx_t *a, ward_attack_result_t *r)
{
    char host[256] = "localhost", url[600], why[600] = "";
    uint16_t port = 443;
    const ward_profile_service_t *u = a->prof != NULL ? ward_profile_connect(a->prof, "update")
                                                      : NULL;
    if (u != NULL && u->host[0] != '\0') {
        snprintf(host, sizeof host, "%s", u->host);
        port = u->port;
    } else if (a->have_factory && a->fconf.repo_host[0] != '\0') {
        snprintf(host, sizeof host, "%s", a->fconf.repo_host);
        port = a->fconf.repo_port;
    }
    if (u != NULL && strcmp(u->scheme, "https") != 0) {
        /* ward's agent fetches over HTTPS only: the unit's build, which
         * fetches in the clear, cannot be run; a refusal by ward's agent
         * would be about another device. */
        attack_verdict(r, WARD_ATTACK_SKIPPED,
                       "the profile states the update repository %.200s, not https: the unit's "
                       "build fetches its updates without TLS (anyone on the path reads and "
                       "answers them; ward audit fails it on profile_update_url), and ward's "
                       "agent, which speaks HTTPS only, cannot be run as that build",
                       u->url);
        return;
    }
    snprintf(url, sizeof url, "https://%s:%u/", host, (unsigned)port);
    ward_err_t err = attack_fresh_copy(a, "mitm");
    mitm_t m;
    if (err == WARD_OK) {
        err = mitm_start(&m, host, why, sizeof why);
    }
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "the man in the middle does not start: %s%s",
                       ward_err_name(err), why);
        return;
    }
    attack_tried(r, "the unit's connection to %s diverted to a TLS server on 127.0.0.1:%u with "
                    "a certificate for %s from another CA (made now, P-256); the unit's update "
                    "agent checks for an update", url, (unsigned)m.port, host);
    agent_t *g = calloc(1, sizeof *g);
    ward_err_t check = WARD_ERR_NO_SPACE;
    uint32_t connects = 0;
    if (g != NULL) {
        err = agent_open(g, a->dir, NULL, url, m.port, why, sizeof why);
        if (err == WARD_OK) {
            check = ward_ota_check(&g->ota);
            connects = g->net.connects;
            agent_close(g);
        }
    }
    free(g);
    char log[2048];
    mitm_stop(&m, log, sizeof log);
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "%s", why);
        return;
    }
    const bool handshake = strstr(log, "H ok") != NULL;
    const bool request = strstr(log, "\nR ") != NULL || strncmp(log, "R ", 2) == 0;
    char first_req[200] = "";
    const char *rq = strstr(log, "R GET");
    if (rq != NULL) {
        snprintf(first_req, sizeof first_req, "%.*s", (int)strcspn(rq + 2, "\n"), rq + 2);
    }
    const char *hf = strstr(log, "H failed");
    char hline[64] = "";
    if (hf != NULL) {
        snprintf(hline, sizeof hline, "%.*s", (int)strcspn(hf, "\n"), hf);
    }
    if (request || handshake || check == WARD_OK) {
        attack_verdict(r, WARD_ATTACK_SUCCEEDED,
                       "the unit completed the handshake with the man in the middle%s%s",
                       request ? " and sent it: " : "", first_req);
    } else if (connects == 0u) {
        /* The agent stopped before it connected: its TLS check never ran. */
        attack_verdict(r, WARD_ATTACK_SKIPPED,
                       "the update agent did not connect (ward_ota_check: %s before any "
                       "connection): the unit takes no update here, its server check was not "
                       "exercised",
                       ward_err_name(check));
    } else if (check != WARD_ERR_TLS && check != WARD_ERR_TLS_CERT && check != WARD_ERR_TLS_HOST) {
        attack_verdict(r, WARD_ATTACK_ERROR,
                       "the update agent connected but failed otherwise (%s): no verdict on its "
                       "server check",
                       ward_err_name(check));
    } else {
        attack_verdict(r, WARD_ATTACK_REFUSED,
                       "the unit refused the server's certificate: the handshake failed, no "
                       "request was sent, nothing fetched or written");
    }
    attack_evidence(r, "ward_ota_check: %s", ward_err_name(check));
    attack_evidence(r, "%u connection%s to %s", (unsigned)connects, connects == 1u ? "" : "s",
                    host);
    attack_evidence(r, "the attacker's server: %s", hline[0] ? hline : handshake ? "H ok" : "no log");
}
