/*
 * ward_attack: the run (the private copies, the unit's facts, one attack
 * after the other) and the helpers the attacks share.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "ward_hostio.h"
#include "attack_priv.h"
#include "ward/util.h"

/* ---- results ------------------------------------------------------------------------------ */

void attack_verdict(ward_attack_result_t *r, ward_attack_verdict_t v, const char *fmt, ...)
{
    va_list ap;
    r->verdict = v;
    va_start(ap, fmt);
    (void)vsnprintf(r->observed, sizeof r->observed, fmt, ap);
    va_end(ap);
}

void attack_tried(ward_attack_result_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(r->tried, sizeof r->tried, fmt, ap);
    va_end(ap);
}

void attack_evidence(ward_attack_result_t *r, const char *fmt, ...)
{
    const size_t l = strlen(r->evidence);
    if (l + 3u >= sizeof r->evidence) {
        return;
    }
    char *p = r->evidence + l;
    size_t cap = sizeof r->evidence - l;
    if (l > 0u) {
        memcpy(p, "; ", 3);
        p += 2;
        cap -= 2u;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(p, cap, fmt, ap);
    va_end(ap);
}

bool attack_path(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

const char *attack_version(const ward_image_version_t *v)
{
    static char buf[4][40];
    static unsigned next;
    char *b = buf[next++ % 4u];
    snprintf(b, sizeof buf[0], "%u.%u.%u+%u", v->major, v->minor, v->revision, (unsigned)v->build);
    return b;
}

void attack_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- files ----------------------------------------------------------------------------------- */

ward_err_t attack_read_file(const char *path, uint8_t **data, size_t *len)
{
    return ward_host_read_file(path, 64u << 20, data, len); /* a unit's files are bounded */
}

ward_err_t attack_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return WARD_ERR_IO;
    }
    const bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? WARD_OK : WARD_ERR_IO;
}

/* The attacks' copies: writable, since they replace files of the unit. */
ward_err_t attack_copy_dir(const char *from, const char *to)
{
    return ward_host_copy_tree(from, to, 4u, true);
}

void attack_remove_dir(const char *path)
{
    ward_host_remove_tree(path);
}

ward_err_t attack_fresh_copy(attack_ctx_t *a, const char *name)
{
    if (!attack_path(a->dir, sizeof a->dir, "%s/%s", a->work, name)) {
        return WARD_ERR_IO;
    }
    attack_remove_dir(a->dir);
    return attack_copy_dir(a->base, a->dir);
}

/* ---- the simulated unit ----------------------------------------------------------------------- */

ward_fih_t attack_boot(const char *dir, ward_boot_report_t *rep, ward_err_t *err)
{
    ward_sim_device_t dev;
    ward_boot_config_t cfg;
    ward_boot_ctx_t ctx;
    ward_fih_t go = WARD_FIH_FAILURE;
    memset(rep, 0, sizeof *rep);
    *err = ward_sim_device_open(&dev, dir);
    if (*err != WARD_OK) {
        return go;
    }
    ward_sim_device_boot_config(&dev, &cfg);
    *err = ward_boot_init(&ctx, &cfg);
    if (*err == WARD_OK) {
        go = ward_boot_go(&ctx, rep);
        *err = rep->reason;
    }
    ward_sim_device_close(&dev);
    return go;
}

ward_err_t attack_stage(const char *dir, const uint8_t *img, size_t len)
{
    ward_sim_device_t dev;
    ward_boot_config_t cfg;
    ward_boot_ctx_t ctx;
    ward_err_t err = ward_sim_device_open(&dev, dir);
    if (err != WARD_OK) {
        return err;
    }
    ward_sim_device_boot_config(&dev, &cfg);
    err = ward_boot_init(&ctx, &cfg);
    if (err == WARD_OK) {
        err = ward_sim_area_write(&dev.layout.secondary, img, len);
    }
    if (err == WARD_OK) {
        err = ward_boot_request_install(&ctx, false);
    }
    ward_sim_device_close(&dev);
    return err;
}

ward_err_t attack_write_primary(const char *dir, const uint8_t *img, size_t len)
{
    ward_sim_device_t dev;
    ward_err_t err = ward_sim_device_open(&dev, dir);
    if (err == WARD_OK) {
        err = ward_sim_area_write(&dev.layout.primary, img, len);
        ward_sim_device_close(&dev);
    }
    return err;
}

ward_err_t attack_read_primary(const char *dir, uint8_t **img, size_t *len, ward_image_info_t *info)
{
    ward_sim_device_t dev;
    *img = NULL;
    *len = 0;
    ward_err_t err = ward_sim_device_open(&dev, dir);
    if (err != WARD_OK) {
        return err;
    }
    ward_area_t p = dev.layout.primary;
    err = ward_image_parse(info, ward_image_read_area, &p, ward_boot_image_max(&dev.layout));
    if (err == WARD_OK) {
        *img = malloc(info->total_size);
        err = *img == NULL ? WARD_ERR_NO_SPACE : ward_area_read(&p, 0, *img, info->total_size);
        if (err == WARD_OK) {
            *len = info->total_size;
        } else {
            free(*img);
            *img = NULL;
        }
    }
    ward_sim_device_close(&dev);
    return err;
}

bool attack_primary_is(const char *dir, const uint8_t *img, size_t len)
{
    ward_sim_device_t dev;
    bool same = false;
    if (ward_sim_device_open(&dev, dir) == WARD_OK) {
        same = len <= dev.layout.primary.size &&
               memcmp(ward_sim_flash_mem(&dev.flash) + dev.layout.primary.off, img, len) == 0;
        ward_sim_device_close(&dev);
    }
    return same;
}

/* ---- the fleet's keys ------------------------------------------------------------------------- */

ward_key_t *attack_fleet_key(attack_ctx_t *a, bool ota, char *why, size_t why_len)
{
    ward_key_t *k = NULL;
    if (!a->have_factory) {
        snprintf(why, why_len, "no --fleet FACTORY: the fleet's %s key is not at hand",
                 ota ? "OTA" : "boot");
        return NULL;
    }
    char kwhy[WARD_KEYS_WHY_MAX] = "";
    const ward_err_t err = ward_key_open(ota ? a->ota_spec : a->boot_spec, &k, kwhy, sizeof kwhy);
    if (err != WARD_OK) {
        snprintf(why, why_len, "the fleet's %s key (%s) does not open: %s (%s)",
                 ota ? "OTA" : "boot", ota ? a->ota_spec : a->boot_spec, kwhy, ward_err_name(err));
        return NULL;
    }
    return k;
}

/* ---- a diverting net port ----------------------------------------------------------------------- */

static ward_err_t divert_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms,
                                 void **conn)
{
    attack_divert_t *d = ctx;
    d->connects++;
    snprintf(d->asked, sizeof d->asked, "%s:%u", host, (unsigned)port);
    return d->inner.port.connect(d->inner.port.ctx, "127.0.0.1", d->to_port, timeout_ms, conn);
}

static ward_err_t divert_send(void *ctx, void *conn, const uint8_t *buf, size_t len, size_t *sent)
{
    attack_divert_t *d = ctx;
    return d->inner.port.send(d->inner.port.ctx, conn, buf, len, sent);
}

static ward_err_t divert_recv(void *ctx, void *conn, uint8_t *buf, size_t cap, size_t *got,
                              uint32_t timeout_ms)
{
    attack_divert_t *d = ctx;
    return d->inner.port.recv(d->inner.port.ctx, conn, buf, cap, got, timeout_ms);
}

static void divert_close(void *ctx, void *conn)
{
    attack_divert_t *d = ctx;
    d->inner.port.close(d->inner.port.ctx, conn);
}

void attack_divert_init(attack_divert_t *d, uint16_t to_port)
{
    memset(d, 0, sizeof *d);
    ward_sim_net_init(&d->inner);
    d->to_port = to_port;
    d->port = d->inner.port;
    d->port.ctx = d;
    d->port.connect = divert_connect;
    d->port.send = divert_send;
    d->port.recv = divert_recv;
    d->port.close = divert_close;
}

void attack_divert_close(attack_divert_t *d)
{
    ward_sim_net_close_all(&d->inner);
}

uint16_t attack_free_port(void)
{
    return ward_host_free_port();
}

bool attack_listening(uint16_t port)
{
    return ward_host_listening(port);
}

/* ---- the run ------------------------------------------------------------------------------------- */

/* The unit's facts, from the base copy: its id, its running image (after a
 * reset, as at power-on), its profile. */
static void read_unit(attack_ctx_t *a)
{
    char path[PATH_MAX];
    uint8_t *der = NULL;
    size_t len = 0;
    if (attack_path(path, sizeof path, "%s/cert.pem", a->base) &&
        ward_factory_cert_read(path, &der, &len) == WARD_OK) {
        mbedtls_x509_crt c;
        mbedtls_x509_crt_init(&c);
        if (mbedtls_x509_crt_parse_der(&c, der, len) == 0) {
            const mbedtls_x509_name *n = &c.subject;
            for (; n != NULL; n = n->next) {
                if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 &&
                    n->val.len < sizeof a->device_id) {
                    memcpy(a->device_id, n->val.p, n->val.len);
                    a->device_id[n->val.len] = '\0';
                }
            }
        }
        mbedtls_x509_crt_free(&c);
        free(der);
    }
    ward_boot_report_t rep;
    ward_err_t err;
    const ward_fih_t go = attack_boot(a->base, &rep, &err);
    a->boots = WARD_FIH_EQ(go);
    a->boot_why = err;
    a->version = rep.version;
    a->sec_cnt = rep.sec_cnt;
    a->otp_counter = rep.otp_counter;
    a->prof = calloc(1, sizeof *a->prof);
    snprintf(a->prof_why, sizeof a->prof_why, "out of memory");
    if (a->prof != NULL &&
        (!attack_path(path, sizeof path, "%s/%s", a->base, WARD_PROFILE_FILE) ||
         ward_profile_load(path, a->prof, a->prof_why, sizeof a->prof_why) != WARD_OK)) {
        free(a->prof);
        a->prof = NULL;
    }
}

static void key_spec(const attack_ctx_t *a, const char *spec, char *out, size_t cap)
{
    if (ward_key_is_pkcs11(spec) || spec[0] == '/') {
        snprintf(out, cap, "%s", spec);
    } else {
        snprintf(out, cap, "%s/%s", a->o->factory, spec);
    }
}

static ward_err_t make_work(attack_ctx_t *a)
{
    if (a->o->keep != NULL) {
        if (mkdir(a->o->keep, 0700) != 0 && errno != EEXIST) {
            return WARD_ERR_IO;
        }
        a->keep = true;
        return attack_path(a->work, sizeof a->work, "%s", a->o->keep) ? WARD_OK : WARD_ERR_IO;
    }
    const char *tmp = getenv("TMPDIR");
    if (!attack_path(a->work, sizeof a->work, "%s/ward-attack-XXXXXX",
                     tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp") ||
        mkdtemp(a->work) == NULL) {
        a->work[0] = '\0';
        return WARD_ERR_IO;
    }
    return WARD_OK;
}

attack_fn attack_fn_of(size_t i);

static void count(ward_attack_report_t *rep)
{
    rep->n_refused = rep->n_succeeded = rep->n_skipped = rep->n_error = rep->n_not_run = 0;
    for (size_t i = 0; i < rep->n; i++) {
        switch (rep->results[i].verdict) {
        case WARD_ATTACK_REFUSED:
            rep->n_refused++;
            break;
        case WARD_ATTACK_SUCCEEDED:
            rep->n_succeeded++;
            break;
        case WARD_ATTACK_SKIPPED:
            rep->n_skipped++;
            break;
        case WARD_ATTACK_ERROR:
            rep->n_error++;
            break;
        default:
            rep->n_not_run++;
        }
    }
    /* A run where nothing could be tried (all skipped) says nothing about
     * the device: no verdict, not a pass. */
    rep->passed = rep->n_succeeded == 0u && rep->n_error == 0u && rep->n_refused > 0u;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

ward_err_t ward_attack_run(const ward_attack_opts_t *o, ward_attack_report_t *rep)
{
    if (o == NULL || rep == NULL || o->device == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(rep, 0, sizeof *rep);
    rep->n = ward_attack_count();
    rep->results = calloc(rep->n, sizeof *rep->results);
    attack_ctx_t *a = calloc(1, sizeof *a);
    if (rep->results == NULL || a == NULL) {
        free(a);
        ward_attack_report_free(rep);
        return WARD_ERR_NO_SPACE;
    }
    a->o = o;
    a->now = (int64_t)time(NULL);
    rep->time = a->now;
    snprintf(rep->device, sizeof rep->device, "%s", o->device);
    snprintf(rep->factory, sizeof rep->factory, "%s", o->factory != NULL ? o->factory : "");

    char marker[PATH_MAX];
    struct stat st;
    ward_err_t err = WARD_OK;
    if (!attack_path(marker, sizeof marker, "%s/device.conf", o->device) || stat(marker, &st) != 0) {
        err = WARD_ERR_NOT_FOUND;
    }
    if (err == WARD_OK && o->factory != NULL) {
        err = ward_factory_conf_read(o->factory, &a->fconf);
        if (err == WARD_OK) {
            a->have_factory = true;
            key_spec(a, a->fconf.boot_key, a->boot_spec, sizeof a->boot_spec);
            key_spec(a, a->fconf.ota_key, a->ota_spec, sizeof a->ota_spec);
        } else {
            err = WARD_ERR_NOT_FOUND;
        }
    }
    if (err == WARD_OK) {
        err = make_work(a);
    }
    if (err == WARD_OK && !attack_path(a->base, sizeof a->base, "%s/unit", a->work)) {
        err = WARD_ERR_IO;
    }
    if (err == WARD_OK) {
        attack_remove_dir(a->base);
        err = attack_copy_dir(o->device, a->base);
    }
    if (err == WARD_OK) {
        read_unit(a);
        snprintf(rep->device_id, sizeof rep->device_id, "%s", a->device_id);
        for (size_t i = 0; i < rep->n; i++) {
            const ward_attack_def_t *d = ward_attack_def(i);
            ward_attack_result_t *r = &rep->results[i];
            if (o->only != NULL && strncmp(d->id, o->only, strlen(o->only)) != 0) {
                continue;
            }
            const uint64_t t0 = mono_ms();
            attack_fn_of(i)(a, r);
            if (r->verdict == WARD_ATTACK_NOT_RUN) {
                attack_verdict(r, WARD_ATTACK_ERROR, "the attack gave no verdict");
            }
            r->ms = (uint32_t)(mono_ms() - t0);
            if (!a->keep) {
                attack_remove_dir(a->dir);
            }
            a->dir[0] = '\0';
            if (o->progress != NULL) {
                o->progress(o->progress_ctx, d, r);
            }
        }
        count(rep);
    }
    if (!a->keep && a->work[0] != '\0') {
        attack_remove_dir(a->work);
    }
    free(a->prof);
    ward_wipe(a, sizeof *a);
    free(a);
    if (err != WARD_OK) {
        ward_attack_report_free(rep);
    }
    return err;
}

void ward_attack_report_free(ward_attack_report_t *rep)
{
    if (rep != NULL) {
        free(rep->results);
        rep->results = NULL;
    }
}
