/*
 * ward demo: the over-the-air chapter. v2 is published into a static
 * repository (tools/repo) with the factory's OTA key, served by Debian's nginx over HTTPS (TLS 1.3
 * only) with a throw-away test CA made here, fetched by the device's agent
 * (src/ota over src/net, as `ward ota apply` does) with a progress bar
 * fed by the agent's progress reports (a bar on a terminal, a line at each
 * quarter elsewhere),
 * trial-booted and confirmed; then a tampered update and a man-in-the-
 * middle server (a certificate from another CA) are refused. nginx runs in
 * DIR/nginx on free ports of 127.0.0.1 and is stopped at the end (it also
 * dies with the demo).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/x509_crt.h>

#include "cli.h"
#include "demo_priv.h"
#include "ota_session.h"
#include "ward/crypto.h"
#include "ward/util.h"
#include "ward_repo.h"

#define DEMO_BLOCK 1024u

/* ---- a throw-away PKI (Mbed TLS's certificate writer) ------------------------- */

typedef struct {
    psa_key_id_t key;
    mbedtls_pk_context pk; /* the same key, for the certificate writer */
    char name[64];         /* subject */
} pki_key_t;

static ward_err_t pki_key(pki_key_t *k, const char *cn, char *pem, size_t pem_size,
                          size_t *pem_len)
{
    snprintf(k->name, sizeof k->name, "CN=%s", cn);
    ward_err_t err = ward_sign_keygen(&k->key);
    if (err == WARD_OK) {
        err = ward_sign_key_write_pkcs8_pem(k->key, pem, pem_size, pem_len);
    }
    if (err == WARD_OK &&
        mbedtls_pk_parse_key(&k->pk, (const unsigned char *)pem, *pem_len + 1u, NULL, 0,
                             mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE) != 0) {
        err = WARD_ERR_CRYPTO;
    }
    return err;
}

static void pki_key_free(pki_key_t *k)
{
    mbedtls_pk_free(&k->pk);
    (void)psa_destroy_key(k->key);
}

static void stamp(char out[16], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* A certificate for subject, signed by issuer (itself for a CA), valid
 * from an hour ago for a week; a server certificate names localhost. */
static ward_err_t pki_cert(pki_key_t *subject, pki_key_t *issuer, bool ca, uint8_t serial,
                           const char *path)
{
    mbedtls_x509write_cert c;
    char from[16], to[16];
    unsigned char pem[4096];
    const time_t now = time(NULL);
    stamp(from, now - 3600);
    stamp(to, now + 7 * 86400);
    mbedtls_x509write_crt_init(&c);
    mbedtls_x509write_crt_set_version(&c, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&c, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&c, &subject->pk);
    mbedtls_x509write_crt_set_issuer_key(&c, &issuer->pk);
    unsigned char sn[2] = {0x01, serial};
    int ret = mbedtls_x509write_crt_set_subject_name(&c, subject->name);
    ret = ret != 0 ? ret : mbedtls_x509write_crt_set_issuer_name(&c, issuer->name);
    ret = ret != 0 ? ret : mbedtls_x509write_crt_set_serial_raw(&c, sn, sizeof sn);
    ret = ret != 0 ? ret : mbedtls_x509write_crt_set_validity(&c, from, to);
    ret = ret != 0 ? ret : mbedtls_x509write_crt_set_basic_constraints(&c, ca ? 1 : 0, -1);
    ret = ret != 0 ? ret
                   : mbedtls_x509write_crt_set_key_usage(
                         &c, ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                                : MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    if (ret == 0 && !ca) {
        unsigned char host[] = "localhost";
        mbedtls_x509_san_list san;
        memset(&san, 0, sizeof san);
        san.node.type = MBEDTLS_X509_SAN_DNS_NAME;
        san.node.san.unstructured_name.p = host;
        san.node.san.unstructured_name.len = sizeof host - 1u;
        ret = mbedtls_x509write_crt_set_subject_alternative_name(&c, &san);
    }
    ret = ret != 0 ? ret
                   : mbedtls_x509write_crt_pem(&c, pem, sizeof pem, mbedtls_psa_get_random,
                                               MBEDTLS_PSA_RANDOM_STATE);
    mbedtls_x509write_crt_free(&c);
    if (ret != 0) {
        return WARD_ERR_CRYPTO;
    }
    return ward_cli_write_file(path, pem, strlen((const char *)pem), 0644, false);
}

/* DIR/nginx: ca.pem + server.{pem,key} for localhost; rogue-ca.pem +
 * rogue.{pem,key}, a man in the middle's certificate for the same name. */
static ward_err_t make_pki(const char *dir)
{
    char pem[WARD_SIGN_PKCS8_PEM_MAX], p[4200];
    size_t pem_len = 0;
    pki_key_t ca, srv, rca, rogue;
    pki_key_t *const all[4] = {&ca, &srv, &rca, &rogue};
    for (int i = 0; i < 4; i++) {
        memset(all[i], 0, sizeof *all[i]);
        mbedtls_pk_init(&all[i]->pk);
    }
    ward_err_t err = pki_key(&ca, "ward demo CA (throw-away)", pem, sizeof pem, &pem_len);
    if (err == WARD_OK) {
        err = pki_key(&srv, "localhost", pem, sizeof pem, &pem_len);
    }
    if (err == WARD_OK) {
        snprintf(p, sizeof p, "%s/server.key", dir);
        err = ward_cli_write_file(p, pem, pem_len, 0600, false);
    }
    if (err == WARD_OK) {
        err = pki_key(&rca, "an attacker's CA", pem, sizeof pem, &pem_len);
    }
    if (err == WARD_OK) {
        err = pki_key(&rogue, "localhost", pem, sizeof pem, &pem_len);
    }
    if (err == WARD_OK) {
        snprintf(p, sizeof p, "%s/rogue.key", dir);
        err = ward_cli_write_file(p, pem, pem_len, 0600, false);
    }
    ward_wipe(pem, sizeof pem);
    static const char *const k_files[4] = {"ca.pem", "server.pem", "rogue-ca.pem", "rogue.pem"};
    pki_key_t *const subj[4] = {&ca, &srv, &rca, &rogue};
    pki_key_t *const iss[4] = {&ca, &ca, &rca, &rca};
    for (int i = 0; i < 4 && err == WARD_OK; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, k_files[i]);
        err = pki_cert(subj[i], iss[i], i % 2 == 0, (uint8_t)(i + 1), p);
    }
    for (int i = 0; i < 4; i++) {
        pki_key_free(all[i]);
    }
    return err;
}

/* ---- nginx ---------------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    unsigned port, rogue_port;
    char dir[4096];
    char why[9000];
} nginx_t;

static ward_err_t write_conf(const nginx_t *n, const char *www)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/nginx.conf", n->dir);
    FILE *f = fopen(p, "w");
    if (f == NULL) {
        return WARD_ERR_IO;
    }
    const char *d = n->dir;
    fprintf(f,
            "# ward demo: the update repository over HTTPS (TLS 1.3 only), and a man in the\n"
            "# middle with a certificate from another CA. Started and stopped by ward demo.\n"
            "daemon off;\nmaster_process off;\npid %s/nginx.pid;\nerror_log %s/error.log notice;\n"
            "events { worker_connections 64; }\nhttp {\n"
            " default_type application/octet-stream;\n"
            " access_log %s/access.log;\n"
            " client_body_temp_path %s/tmp-body;\n proxy_temp_path %s/tmp-proxy;\n"
            " fastcgi_temp_path %s/tmp-fastcgi;\n uwsgi_temp_path %s/tmp-uwsgi;\n"
            " scgi_temp_path %s/tmp-scgi;\n",
            d, d, d, d, d, d, d, d);
    const struct {
        unsigned port;
        const char *cert;
    } k_srv[2] = {{n->port, "server"}, {n->rogue_port, "rogue"}};
    for (int i = 0; i < 2; i++) {
        fprintf(f,
                " server {\n  listen 127.0.0.1:%u ssl;\n  server_name localhost;\n"
                "  ssl_certificate %s/%s.pem;\n  ssl_certificate_key %s/%s.key;\n"
                "  ssl_protocols TLSv1.3;\n  root %s;\n }\n",
                k_srv[i].port, d, k_srv[i].cert, d, k_srv[i].cert, www);
    }
    fprintf(f, "}\n");
    return fclose(f) == 0 ? WARD_OK : WARD_ERR_IO;
}

static void nginx_stop(nginx_t *n)
{
    demo_stop(&n->pid);
}

/* Start nginx serving www; n->why says what went wrong. */
static ward_err_t nginx_start(nginx_t *n, const char *www)
{
    char found[4096];
    const char *bin = demo_find_tool("nginx", "WARD_NGINX", found, sizeof found);
    if (bin == NULL) {
        snprintf(n->why, sizeof n->why,
                 "nginx not found (looked for $WARD_NGINX, else in /usr/sbin, /usr/local/sbin "
                 "and $PATH): install Debian's nginx-light (scripts/bootstrap.sh does)");
        return WARD_ERR_NOT_FOUND;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        /* A port found free may be taken before nginx binds it: try others. */
        n->port = demo_free_port();
        n->rogue_port = demo_free_port();
        if (n->port == 0 || n->rogue_port == 0 || n->port == n->rogue_port ||
            write_conf(n, www) != WARD_OK) {
            continue;
        }
        char conf[4200], elog[4200], out[4200];
        snprintf(conf, sizeof conf, "%s/nginx.conf", n->dir);
        snprintf(elog, sizeof elog, "%s/error.log", n->dir);
        snprintf(out, sizeof out, "%s/nginx.out", n->dir);
        fflush(stdout);
        fflush(stderr);
        const pid_t pid = fork();
        if (pid < 0) {
            snprintf(n->why, sizeof n->why, "fork: %s", strerror(errno));
            return WARD_ERR_IO;
        }
        if (pid == 0) {
            (void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the demo */
            const int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                (void)dup2(fd, STDOUT_FILENO);
                (void)dup2(fd, STDERR_FILENO);
                close(fd);
            }
            execl(bin, bin, "-p", n->dir, "-c", conf, "-e", elog, (char *)NULL);
            _exit(127);
        }
        n->pid = pid;
        for (int i = 0; i < 250; i++) {
            int st = 0;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                n->pid = 0;
                snprintf(n->why, sizeof n->why, "%s exited (status %d) before listening; see %s",
                         bin, WIFEXITED(st) ? WEXITSTATUS(st) : -1, elog);
                break;
            }
            if (demo_listening_pid(pid, n->port) && demo_listening_pid(pid, n->rogue_port)) {
                return WARD_OK;
            }
            usleep(20000);
        }
        if (n->pid > 0) {
            nginx_stop(n);
            snprintf(n->why, sizeof n->why, "%s did not listen on 127.0.0.1:%u within 5 s; see %s",
                     bin, n->port, elog);
        }
    }
    return WARD_ERR_IO;
}

/* ---- the device's agent ------------------------------------------------------------ */

/* The agent's download progress: a bar on a terminal; elsewhere (a log,
 * --quiet) a line at each quarter. Counts what the agent reported. */
typedef struct {
    bool bar, lines;
    int last;
    unsigned calls;
    uint64_t done, total;
} demo_bar_t;

static void demo_bar(void *ctx, ward_ota_phase_t phase, uint64_t done, uint64_t total)
{
    demo_bar_t *b = ctx;
    if (phase != WARD_OTA_PHASE_DOWNLOAD || total == 0u) {
        return;
    }
    b->calls++;
    b->done = done;
    b->total = total;
    const int pct = (int)(done * 100u / total);
    if (pct == b->last) {
        return;
    }
    if (b->bar) {
        char bar[31];
        for (int i = 0; i < 30; i++) {
            bar[i] = i < pct * 30 / 100 ? '#' : '.';
        }
        bar[30] = '\0';
        printf("\r  downloading v2 over HTTPS [%s] %3d%%  %llu/%llu bytes", bar, pct,
               (unsigned long long)done, (unsigned long long)total);
        if (done == total) {
            printf("\n");
        }
        fflush(stdout);
    } else if (b->lines && (b->last < 0 || pct / 25 != b->last / 25)) {
        printf("  downloading v2 over HTTPS: %3d%%  %llu/%llu bytes\n", pct,
               (unsigned long long)done, (unsigned long long)total);
        fflush(stdout);
    }
    b->last = pct;
}

typedef struct {
    ward_err_t err;
    ward_ota_stats_t stats;
    ward_ota_manifest_t m;
    uint32_t nblocks;
    uint64_t connects;
    demo_bar_t bar; /* what the agent reported of its progress */
} agent_run_t;

/* What `ward ota apply` does: start-up report, check, apply. */
static void agent_apply(const demo_t *d, const char *server, const char *ca, bool show,
                        agent_run_t *r)
{
    char dev[4096];
    demo_bar_t bar = {.bar = show && !d->quiet && isatty(STDOUT_FILENO) == 1,
                      .lines = show && (d->quiet || isatty(STDOUT_FILENO) != 1),
                      .last = -1};
    demo_path(d, dev, sizeof dev, "device");
    const ota_session_opts_t o = {.dir = dev, .server = server, .ca_path = ca,
                                  .progress = demo_bar, .progress_ctx = &bar};
    memset(r, 0, sizeof *r);
    ota_session_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        r->err = WARD_ERR_NO_SPACE;
        return;
    }
    r->err = ota_session_open(s, &o);
    if (r->err == WARD_OK) {
        bool pending = false, failed = false;
        ward_image_version_t fv;
        r->err = ota_session_report(s, &pending, &failed, &fv);
        if (r->err == WARD_OK) {
            r->err = ward_ota_check(&s->ota);
        }
        if (r->err == WARD_OK) {
            r->err = ward_ota_apply(&s->ota);
        }
        if (bar.bar && bar.last >= 0 && bar.last < 100) {
            printf("\n");
        }
        r->stats = s->ota.stats;
        r->m = s->ota.manifest;
        r->nblocks = ota_session_nblocks(s);
        r->connects = s->net.stats.connects;
        r->bar = bar;
        ota_session_close(s);
    }
    free(s);
}

/* The staging slot's first `bytes` (what a refused apply wrote) erased
 * again? The primary still the image `img`? */
static void slots(const demo_t *d, uint32_t bytes, const uint8_t *img, size_t len,
                  bool *staging_erased, bool *primary_same)
{
    ward_sim_device_t dev;
    *staging_erased = false;
    *primary_same = false;
    if (demo_dev_open(d, &dev) == WARD_OK) {
        const uint8_t *mem = ward_sim_flash_mem(&dev.flash);
        /* The sectors that `bytes` touch, whatever their sizes. */
        uint32_t start = 0, ss = 0;
        const bool ok = bytes > 0u &&
                        ward_area_sector_at(&dev.layout.secondary, bytes - 1u, &start, &ss) == WARD_OK;
        *staging_erased = ok && ward_ct_all(mem + dev.layout.secondary.off, 0xFFu, start + ss);
        *primary_same = memcmp(mem + dev.layout.primary.off, img, len) == 0;
        ward_sim_device_close(&dev);
    }
}

/* ---- the chapter ---------------------------------------------------------------------- */

/* The OTA key is the factory's (made by `ward factory init`, never the boot
 * key); provisioning burnt its hash into the unit's OTP and stored its
 * public key with the device class: check the unit agrees. */
static bool factory_ota_key(demo_t *d, const demo_ota_in_t *in, ward_repo_signer_t *signer)
{
    uint8_t hash[32] = {0}, otp_hash[32] = {0};
    ward_err_t err = ward_repo_signer_psa(signer, in->ota_key);
    if (err == WARD_OK) {
        err = ward_sha256(hash, signer->spki, sizeof signer->spki);
    }
    ward_sim_device_t dev;
    if (err == WARD_OK) {
        err = demo_dev_open(d, &dev);
    }
    if (err == WARD_OK) {
        err = dev.otp.port.read(dev.otp.port.ctx, WARD_OTP_OTA_KEY_HASH, otp_hash, sizeof otp_hash);
        ward_sim_device_close(&dev);
    }
    char hex[17];
    for (int i = 0; i < 8; i++) {
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    }
    return demo_check(d, err == WARD_OK && ward_ct_equal(hash, otp_hash, 32),
                      "the factory's OTA key signs the release; the plug's OTP holds its hash",
                      "factory/keys/ota-key.pem, SHA-256 of its public key %s... = OTP: %s", hex,
                      err == WARD_OK ? "yes" : ward_err_name(err));
}

static bool publish(demo_t *d, const demo_ota_in_t *in, const ward_repo_signer_t *signer,
                    const uint8_t *img, size_t len, ward_repo_publish_result_t *res)
{
    char repo[4096];
    demo_path(d, repo, sizeof repo, "repo");
    const ward_repo_publish_opts_t po = {
        .repo = repo,
        .device_class = DEMO_CLASS,
        .signer = signer,
        .boot_spki = in->boot_spki,
        .image = img,
        .image_len = len,
        .block_size = DEMO_BLOCK,
    };
    const ward_err_t err = ward_repo_publish(&po, res);
    return err == WARD_OK;
}

bool demo_ota_story(demo_t *d, const demo_ota_in_t *in, bool *served)
{
    char www[4096], ca[4200], server[256], rogue_server[256];
    ward_repo_signer_t signer, boot_signer;
    ward_repo_publish_result_t *res = calloc(1, sizeof *res);
    nginx_t n;
    memset(&n, 0, sizeof n);
    *served = false;
    if (res == NULL) {
        return false;
    }
    demo_chapter(d, "Over the air: v2 published, applied over HTTPS with a progress bar, trial boot, confirm");
    bool ok = factory_ota_key(d, in, &signer);

    /* The repository refuses to sign with the boot key: one key, one job. */
    demo_path(d, www, sizeof www, "repo");
    if (ok && ward_repo_signer_psa(&boot_signer, in->boot_key) == WARD_OK) {
        const ward_repo_publish_opts_t bad = {.repo = www, .device_class = DEMO_CLASS,
                                              .signer = &boot_signer, .boot_spki = in->boot_spki,
                                              .image = in->v2, .image_len = in->v2_len,
                                              .block_size = DEMO_BLOCK};
        const ward_err_t e = ward_repo_publish(&bad, res);
        demo_check(d, e == WARD_ERR_OTA_KEY, "the repository refuses the boot key as OTA key",
                   "ward repo publish with boot-key.pem: %s", ward_err_name(e));
    }
    if (ok) {
        const bool published = publish(d, in, &signer, in->v2, in->v2_len, res);
        ok = demo_check(d, published,
                        "v2 published: a signed manifest and the image chained in blocks",
                        "repo/%s/manifest.cose %zu B (COSE_Sign1, ES256, sequence %llu); "
                        "update %llu B: %u blocks of %u",
                        DEMO_CLASS, res->manifest_len,
                        (unsigned long long)res->manifest.sequence,
                        (unsigned long long)res->wire_size,
                        (unsigned)((res->manifest.image_size + DEMO_BLOCK - 1u) / DEMO_BLOCK),
                        DEMO_BLOCK);
    }
    demo_path(d, n.dir, sizeof n.dir, "nginx");
    if (ok) {
        ward_err_t err = mkdir(n.dir, 0700) == 0 || errno == EEXIST ? WARD_OK : WARD_ERR_IO;
        /* nginx takes paths relative to its prefix: give it absolute ones. */
        char abs_dir[PATH_MAX], abs_www[PATH_MAX];
        if (err == WARD_OK && (realpath(n.dir, abs_dir) == NULL || realpath(www, abs_www) == NULL ||
                               strlen(abs_dir) >= sizeof n.dir || strlen(abs_www) >= sizeof www)) {
            err = WARD_ERR_IO;
        }
        if (err == WARD_OK) {
            snprintf(n.dir, sizeof n.dir, "%s", abs_dir);
            snprintf(www, sizeof www, "%s", abs_www);
            err = make_pki(n.dir);
        }
        ok = demo_check(d, err == WARD_OK, "a throw-away test CA and a certificate for localhost",
                        "nginx/ca.pem, nginx/server.pem (P-256, made with Mbed TLS): %s",
                        ward_err_name(err));
    }
    if (ok) {
        static const char *const k_what =
            "Debian's nginx serves the repository over HTTPS (TLS 1.3 only)";
        if (nginx_start(&n, www) == WARD_OK) {
            demo_check(d, true, k_what, "https://localhost:%u/ (pid %d), stopped at the end",
                       n.port, (int)n.pid);
        } else {
            ok = demo_check(d, false, k_what, "%s", n.why);
        }
    }
    *served = ok;
    snprintf(ca, sizeof ca, "%s/ca.pem", n.dir);
    snprintf(server, sizeof server, "https://localhost:%u", n.port);
    snprintf(rogue_server, sizeof rogue_server, "https://localhost:%u", n.rogue_port);
    agent_run_t r;
    ward_boot_report_t rep;
    ward_err_t err;
    if (ok) {
        agent_apply(d, server, ca, true, &r);
        demo_check(d, r.bar.calls >= r.nblocks && r.bar.total > 0u && r.bar.done == r.bar.total,
                   "the progress bar follows the agent's download to 100 %",
                   "%u progress reports, %llu of %llu bytes", r.bar.calls,
                   (unsigned long long)r.bar.done, (unsigned long long)r.bar.total);
        ok = demo_check(d, r.err == WARD_OK && r.stats.blocks == r.nblocks &&
                               r.m.version.major == 2,
                        "the plug's agent: manifest checked, every block checked against the "
                        "chain before it is written, staged image verified, trial requested",
                        "%s: v%s, %u blocks, %llu TLS 1.3 connections (manifest, update), "
                        "%llu bytes programmed", ward_err_name(r.err), demo_version(&r.m.version),
                        r.stats.blocks, (unsigned long long)r.connects,
                        (unsigned long long)r.stats.flash_bytes);
    }
    if (ok) {
        ward_fih_t go = demo_boot(d, &rep, 0, false, &err);
        demo_check(d, WARD_FIH_EQ(go) && rep.event == WARD_BOOT_EV_INSTALLED && rep.trial &&
                          rep.version.major == 2 && rep.verified,
                   "reset: v2 verified again by the bootloader, swapped in, trial boot",
                   "running %s, %s, OTP counter %u", demo_version(&rep.version),
                   rep.trial ? "trial" : "not a trial", rep.otp_counter);
        demo_check(d, rep.otp_counter == 1, "the OTP counter is not raised during a trial",
                   "OTP counter %u", rep.otp_counter);
        err = demo_confirm(d);
        demo_check(d, err == WARD_OK, "the app's self-test passes: v2 confirms itself", "%s",
                   ward_err_name(err));
        go = demo_boot(d, &rep, 0, false, &err);
        ok = demo_check(d, WARD_FIH_EQ(go) && !rep.trial && rep.version.major == 2 &&
                               rep.otp_counter == 2,
                        "reset: v2 stays; its security counter is burnt into OTP",
                        "running %s, OTP counter %u", demo_version(&rep.version),
                        rep.otp_counter);
    }

    if (ok) {
        demo_chapter(d, "Over the air: a tampered update and a man in the middle refused");
        /* v3 published, then one byte of its second block changed on the server. */
        bool pub = publish(d, in, &signer, in->v3, in->v3_len, res);
        FILE *f = pub ? fopen(res->update_path, "r+b") : NULL;
        bool altered = false;
        if (f != NULL) {
            const long at = (long)(DEMO_BLOCK + 32u + 100u);
            int c = fseek(f, at, SEEK_SET) == 0 ? fgetc(f) : EOF;
            altered = c != EOF && fseek(f, at, SEEK_SET) == 0 && fputc(c ^ 0x20, f) != EOF;
            altered = (fclose(f) == 0) && altered;
        }
        agent_apply(d, server, ca, false, &r);
        bool erased = false, same = false;
        slots(d, DEMO_BLOCK, in->v2, in->v2_len, &erased, &same);
        demo_check(d, altered && r.err == WARD_ERR_OTA_CHAIN && r.stats.blocks == 1u && erased &&
                          same,
                   "v3 with one byte changed in block 1 on the server: the write stops there",
                   "%s after %u of %u blocks; what was written erased again: %s; v2 "
                   "untouched: %s",
                   ward_err_name(r.err), r.stats.blocks, r.nblocks, erased ? "yes" : "NO",
                   same ? "yes" : "NO");
        agent_apply(d, rogue_server, ca, false, &r);
        slots(d, 0, in->v2, in->v2_len, &erased, &same);
        demo_check(d, r.err == WARD_ERR_TLS_CERT && r.stats.blocks == 0u &&
                          r.stats.erases == 0u && same,
                   "a man in the middle with a certificate for localhost from another CA",
                   "%s: not one byte fetched or written; v2 untouched: %s",
                   ward_err_name(r.err), same ? "yes" : "NO");
        ward_fih_t go = demo_boot(d, &rep, 0, false, &err);
        demo_check(d, WARD_FIH_EQ(go) && rep.version.major == 2 && rep.verified &&
                          rep.event == WARD_BOOT_EV_NONE,
                   "reset: nothing was requested, v2 runs as before", "running %s",
                   demo_version(&rep.version));
    }
    if (n.pid > 0) {
        nginx_stop(&n);
        const bool gone = !demo_listening(n.port) && !demo_listening(n.rogue_port);
        demo_check(d, n.pid == 0 && gone, "nginx stopped",
                   "nothing listens on its ports any more%s; its files stay in nginx/ (config, logs)",
                   gone ? "" : ": STILL LISTENING");
    }
    free(res);
    return ok;
}
