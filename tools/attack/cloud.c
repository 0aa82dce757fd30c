/*
 * ward_attack: the cloud identity. Another unit presents this unit's
 * certificate. With --fleet the factory's Mosquitto is started (its own
 * configuration, on a free port, in the work folder: persistence off, no
 * pid file of the factory's touched) and both the genuine unit (the
 * control) and the clone do a mutual-TLS handshake and an MQTT CONNECT;
 * without it, the signature the handshake needs is checked here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>
#include <dirent.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "attack_priv.h"
#include "ward/crypto.h"
#include "ward/net.h"
#include "ward/util.h"

/* cert.pem of dir as DER (malloc'd). */
static ward_err_t cert_der(const char *dir, uint8_t **der, size_t *len)
{
    char path[PATH_MAX];
    if (!attack_path(path, sizeof path, "%s/cert.pem", dir)) {
        return WARD_ERR_IO;
    }
    return ward_factory_cert_read(path, der, len);
}

/* Sign a fresh challenge with the HSM of the unit open in dev and verify
 * it with the certificate: what the broker does with CertificateVerify. */
static ward_err_t sign_check(ward_sim_device_t *dev, const uint8_t *der, size_t len, bool *ok)
{
    mbedtls_x509_crt c;
    uint8_t challenge[32], hash[32], sig[64], sder[80];
    size_t sl = 0;
    *ok = false;
    mbedtls_x509_crt_init(&c);
    ward_err_t err = mbedtls_x509_crt_parse_der(&c, der, len) == 0 ? WARD_OK : WARD_ERR_CORRUPT;
    const ward_hsm_t *h = &dev->hsm.port;
    if (err == WARD_OK) {
        err = psa_generate_random(challenge, sizeof challenge) == PSA_SUCCESS ? WARD_OK
                                                                               : WARD_ERR_CRYPTO;
    }
    if (err == WARD_OK) {
        err = ward_sha256(hash, challenge, sizeof challenge);
    }
    if (err == WARD_OK) {
        err = h->id_sign_hash(h->ctx, hash, sig);
    }
    if (err == WARD_OK) {
        err = ward_ecdsa_raw_to_der(sder, sizeof sder, &sl, sig);
    }
    if (err == WARD_OK) {
        *ok = mbedtls_pk_verify(&c.pk, MBEDTLS_MD_SHA256, hash, sizeof hash, sder, sl) == 0;
    }
    mbedtls_x509_crt_free(&c);
    return err;
}

ward_err_t attack_cert_key_check(const char *dir, bool *matches, char *detail, size_t cap)
{
    uint8_t *der = NULL;
    size_t len = 0;
    ward_sim_device_t dev;
    *matches = false;
    detail[0] = '\0';
    ward_err_t err = cert_der(dir, &der, &len);
    if (err != WARD_OK) {
        return err;
    }
    err = ward_sim_device_open(&dev, dir);
    if (err == WARD_OK) {
        uint8_t pub[65];
        err = dev.hsm.port.id_public(dev.hsm.port.ctx, pub);
        if (err == WARD_OK) {
            err = sign_check(&dev, der, len, matches);
        }
        if (err == WARD_OK) {
            snprintf(detail, cap,
                     "the HSM identity key 04%02x%02x%02x%02x...: a challenge it signs "
                     "%s with cert.pem's key",
                     pub[1], pub[2], pub[3], pub[4], *matches ? "VERIFIES" : "does not verify");
        }
        ward_sim_device_close(&dev);
    }
    free(der);
    return err;
}

/* ---- the factory's broker ------------------------------------------------------------------------ */

typedef struct broker {
    pid_t pid;
    uint16_t port;
    char dir[PATH_MAX];
    char log[PATH_MAX];
} broker_t;

static const char *find_mosquitto(const char *given)
{
    static char found[PATH_MAX];
    if (given != NULL) {
        return access(given, X_OK) == 0 ? given : NULL;
    }
    const char *env = getenv("WARD_MOSQUITTO");
    if (env != NULL) {
        return access(env, X_OK) == 0 ? env : NULL;
    }
    if (access("/usr/sbin/mosquitto", X_OK) == 0) {
        return "/usr/sbin/mosquitto";
    }
    const char *path = getenv("PATH");
    while (path != NULL && *path != '\0') {
        const size_t n = strcspn(path, ":");
        snprintf(found, sizeof found, "%.*s/mosquitto", (int)n, path);
        if (n > 0 && access(found, X_OK) == 0) {
            return found;
        }
        path += n + (path[n] == ':' ? 1u : 0u);
    }
    return NULL;
}

static bool starts(const char *line, const char *word)
{
    const size_t n = strlen(word);
    return strncmp(line, word, n) == 0 && (line[n] == ' ' || line[n] == '\t' || line[n] == '\n');
}

/* The factory's configuration, with its listener on a free port, no
 * persistence and no pid file (the factory's broker keeps both). */
static ward_err_t broker_conf(attack_ctx_t *a, broker_t *b, const char *conf, char *why,
                              size_t cap)
{
    char in[PATH_MAX];
    if (!attack_path(in, sizeof in, "%s/broker/mosquitto.conf", a->o->factory)) {
        return WARD_ERR_IO;
    }
    FILE *f = fopen(in, "r");
    FILE *o = fopen(conf, "w");
    if (f == NULL || o == NULL) {
        snprintf(why, cap, "%.300s: %s", f == NULL ? in : conf, strerror(errno));
        if (f != NULL) {
            fclose(f);
        }
        if (o != NULL) {
            fclose(o);
        }
        return f == NULL ? WARD_ERR_NOT_FOUND : WARD_ERR_IO;
    }
    fprintf(o, "# ward attack: %s, on a free port, no persistence, no pid file\n", in);
    char line[1024];
    bool user = false;
    while (fgets(line, sizeof line, f) != NULL) {
        if (starts(line, "pid_file") || starts(line, "persistence") ||
            starts(line, "persistence_location") || starts(line, "log_dest") ||
            starts(line, "log_type")) {
            continue;
        }
        if (starts(line, "listener")) {
            const uint16_t p = attack_free_port();
            if (b->port == 0u) {
                b->port = p;
            }
            fprintf(o, "listener %u\n", (unsigned)p);
            continue;
        }
        user = user || starts(line, "user");
        fputs(line, o);
    }
    fprintf(o, "\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n"
               "log_type notice\nlog_type information\n");
    if (!user && geteuid() == 0) {
        fprintf(o, "user root\n"); /* else it drops to "mosquitto", who cannot read the keys */
    }
    fclose(f);
    return fclose(o) == 0 && b->port != 0u ? WARD_OK : WARD_ERR_IO;
}

static void broker_stop(broker_t *b)
{
    if (b->pid <= 0) {
        return;
    }
    (void)kill(b->pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
            b->pid = 0;
            return;
        }
        attack_sleep_ms(20);
    }
    (void)kill(b->pid, SIGKILL);
    (void)waitpid(b->pid, NULL, 0);
    b->pid = 0;
}

static ward_err_t broker_start(attack_ctx_t *a, broker_t *b, char *why, size_t cap)
{
    memset(b, 0, sizeof *b);
    const char *bin = find_mosquitto(a->o->mosquitto);
    if (bin == NULL) {
        snprintf(why, cap, "mosquitto not found ($WARD_MOSQUITTO, /usr/sbin, $PATH): install "
                           "Debian's mosquitto (scripts/bootstrap.sh does)");
        return WARD_ERR_NOT_FOUND;
    }
    char conf[PATH_MAX];
    if (!attack_path(b->dir, sizeof b->dir, "%s/broker", a->work) ||
        !attack_path(conf, sizeof conf, "%s/mosquitto.conf", b->dir) ||
        !attack_path(b->log, sizeof b->log, "%s/mosquitto.log", b->dir) ||
        (mkdir(b->dir, 0700) != 0 && errno != EEXIST)) {
        snprintf(why, cap, "the broker's folder");
        return WARD_ERR_IO;
    }
    ward_err_t err = broker_conf(a, b, conf, why, cap);
    if (err != WARD_OK) {
        return err;
    }
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, cap, "fork: %s", strerror(errno));
        return WARD_ERR_IO;
    }
    if (pid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        const int fd = open(b->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            (void)dup2(fd, STDOUT_FILENO);
            (void)dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execl(bin, "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    b->pid = pid;
    for (int i = 0; i < 250; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            b->pid = 0;
            snprintf(why, cap, "%.200s exited at once; see %.300s", bin, b->log);
            return WARD_ERR_IO;
        }
        if (attack_listening(b->port)) {
            return WARD_OK;
        }
        attack_sleep_ms(20);
    }
    broker_stop(b);
    snprintf(why, cap, "%.200s did not listen on port %u within 5 s; see %.300s", bin, (unsigned)b->port,
             b->log);
    return WARD_ERR_IO;
}

/* The broker's log lines from offset `from` on that say why a client was
 * turned away (the first one, into out). */
static void log_reason(const broker_t *b, long from, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(b->log, "r");
    if (f == NULL) {
        return;
    }
    if (fseek(f, from, SEEK_SET) == 0) {
        char line[600];
        while (fgets(line, sizeof line, f) != NULL) {
            if (strstr(line, "OpenSSL Error") != NULL || strstr(line, "rror") != NULL ||
                strstr(line, "isconnect") != NULL) {
                line[strcspn(line, "\n")] = '\0';
                /* drop the timestamp */
                const char *p = strchr(line, ':');
                snprintf(out, cap, "%.380s", p != NULL && p - line < 14 ? p + 2 : line);
                break;
            }
        }
    }
    fclose(f);
}

static long log_size(const broker_t *b)
{
    struct stat st;
    return stat(b->log, &st) == 0 ? (long)st.st_size : 0;
}

/* A mutual-TLS handshake and an MQTT CONNECT as `dev` presenting `der`:
 * *connack the CONNACK return code (-1: none). */
static ward_err_t try_connect(attack_ctx_t *a, const broker_t *b, ward_sim_device_t *dev,
                              const uint8_t *der, size_t len, const uint8_t *ca, size_t ca_len,
                              int *connack)
{
    attack_divert_t *net = calloc(1, sizeof *net);
    ward_tls_t *t = calloc(1, sizeof *t);
    ward_tls_config_t cfg;
    *connack = -1;
    if (net == NULL || t == NULL) {
        free(net);
        free(t);
        return WARD_ERR_NO_SPACE;
    }
    attack_divert_init(net, b->port);
    memset(&cfg, 0, sizeof cfg);
    cfg.ca = ca;
    cfg.ca_len = ca_len;
    cfg.client_cert_der = der;
    cfg.client_cert_len = len;
    cfg.timeout_ms = 5000;
    uint32_t key = 0;
    ward_err_t err = dev->hsm.port.id_key(dev->hsm.port.ctx, &key);
    cfg.client_key_id = key;
    const char *host = a->fconf.broker_host[0] != '\0' ? a->fconf.broker_host : "localhost";
    if (err == WARD_OK) {
        err = ward_tls_connect(t, &cfg, &net->port, host, a->fconf.broker_port);
    }
    if (err == WARD_OK) {
        /* CONNECT, MQTT 3.1.1, clean session, keep-alive 30 s, client id = the CN */
        uint8_t pkt[128];
        const size_t idl = strlen(a->device_id);
        size_t n = 0;
        pkt[n++] = 0x10;
        pkt[n++] = (uint8_t)(10u + 2u + idl);
        static const uint8_t vh[10] = {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 30};
        memcpy(pkt + n, vh, sizeof vh);
        n += sizeof vh;
        pkt[n++] = 0;
        pkt[n++] = (uint8_t)idl;
        memcpy(pkt + n, a->device_id, idl);
        n += idl;
        err = ward_tls_write(t, pkt, n);
        uint8_t resp[8];
        size_t got = 0, have = 0;
        while (err == WARD_OK && have < 4u) {
            err = ward_tls_read(t, resp + have, sizeof resp - have, &got);
            if (err == WARD_OK && got == 0u) {
                err = WARD_ERR_NET; /* closed */
            }
            have += got;
        }
        if (err == WARD_OK && resp[0] == 0x20 && resp[1] == 2u) {
            *connack = resp[3];
        }
        ward_tls_close(t);
    }
    attack_divert_close(net);
    free(net);
    free(t);
    return err;
}

/* Another unit of the fleet with this unit's identity: a record in
 * FACTORY/units/ of another serial whose certificate (SHA-256 of its DER)
 * or identity public key is this unit's. Its device id into who. The
 * attacker who owns that unit holds this unit's identity key. */
static bool shared_in_fleet(attack_ctx_t *a, const uint8_t *der, size_t len, char *who,
                            size_t cap)
{
    char path[PATH_MAX], own_serial[80] = "", cert_hex[65], pub_hex[131] = "";
    uint8_t h[32];
    bool found = false;
    who[0] = '\0';
    if (!a->have_factory || ward_sha256(h, der, len) != WARD_OK) {
        return false;
    }
    for (size_t i = 0; i < 32u; i++) {
        snprintf(cert_hex + 2u * i, 3, "%02x", h[i]);
    }
    ward_sim_device_t dev;
    if (ward_sim_device_open(&dev, a->base) == WARD_OK) {
        uint8_t pub[65];
        if (dev.hsm.port.id_public(dev.hsm.port.ctx, pub) == WARD_OK) {
            for (size_t i = 0; i < 65u; i++) {
                snprintf(pub_hex + 2u * i, 3, "%02x", pub[i]);
            }
        }
        ward_sim_device_close(&dev);
    }
    uint8_t *txt = NULL;
    size_t tl = 0;
    if (attack_path(path, sizeof path, "%s/factory-record.json", a->base) &&
        attack_read_file(path, &txt, &tl) == WARD_OK) {
        cJSON *j = cJSON_Parse((const char *)txt);
        const cJSON *sn = cJSON_GetObjectItemCaseSensitive(j, "serial");
        if (cJSON_IsString(sn)) {
            snprintf(own_serial, sizeof own_serial, "%s", sn->valuestring);
        }
        cJSON_Delete(j);
        free(txt);
    }
    DIR *d = attack_path(path, sizeof path, "%s/units", a->o->factory) ? opendir(path) : NULL;
    const struct dirent *e;
    while (d != NULL && !found && (e = readdir(d)) != NULL) {
        char rec[PATH_MAX];
        const size_t nl = strlen(e->d_name);
        if (nl < 6u || strcmp(e->d_name + nl - 5u, ".json") != 0 ||
            !attack_path(rec, sizeof rec, "%s/%s", path, e->d_name) ||
            attack_read_file(rec, &txt, &tl) != WARD_OK) {
            continue;
        }
        cJSON *j = cJSON_Parse((const char *)txt);
        const cJSON *sn = cJSON_GetObjectItemCaseSensitive(j, "serial");
        const cJSON *cs = cJSON_GetObjectItemCaseSensitive(j, "certificate_sha256");
        const cJSON *ip = cJSON_GetObjectItemCaseSensitive(j, "identity_public_key");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "device_id");
        if (cJSON_IsString(sn) && strcmp(sn->valuestring, own_serial) != 0 &&
            ((cJSON_IsString(cs) && strcmp(cs->valuestring, cert_hex) == 0) ||
             (cJSON_IsString(ip) && pub_hex[0] != '\0' && strcmp(ip->valuestring, pub_hex) == 0))) {
            found = true;
            snprintf(who, cap, "%.60s (serial %.40s)",
                     cJSON_IsString(id) ? id->valuestring : "?", sn->valuestring);
        }
        cJSON_Delete(j);
        free(txt);
    }
    if (d != NULL) {
        closedir(d);
    }
    return found;
}

/* The other unit: its own HSM (a new identity key); or, when the attacker
 * has the unit's identity key (read over an open debug port, found in the
 * flash dump, or held by another unit of the fleet it owns), that key
 * loaded into it. key_src says which. */
static ward_err_t make_clone(attack_ctx_t *a, const uint8_t *der, size_t der_len, char *clone,
                             size_t cap, bool *leaked, char *key_src, size_t src_cap)
{
    attack_reach_t reach;
    char who[120];
    *leaked = false;
    ward_err_t err = attack_reach(a->base, &reach);
    if (err != WARD_OK) {
        return err;
    }
    const bool shared = shared_in_fleet(a, der, der_len, who, sizeof who);
    ward_sim_device_t dev;
    if (shared && ward_sim_device_open(&dev, a->base) == WARD_OK) {
        /* The simulator stands in for that unit's HSM: it holds this key. */
        memcpy(reach.id_priv, dev.hsm.id_priv, 32);
        ward_sim_device_close(&dev);
    }
    *leaked = reach.id_found || shared;
    if (shared) {
        snprintf(key_src, src_cap, "the identity key of %s, another unit of the fleet whose "
                                   "factory record has this certificate: the attacker owns it",
                 who);
    } else if (reach.debug_open) {
        snprintf(key_src, src_cap, "the unit's identity key, read out over its open debug port "
                                   "(OTP DEBUG_LOCK not set)");
    } else if (reach.id_found) {
        snprintf(key_src, src_cap, "the unit's identity key, FOUND in its flash dump at 0x%lx",
                 reach.id_off);
    } else {
        snprintf(key_src, src_cap, "the clone's own HSM key (the debug port is locked, the flash "
                                   "dump does not hold the unit's key, no other unit of the "
                                   "fleet has it)");
    }
    err = attack_fresh_copy(a, "cert-clone");
    if (err != WARD_OK) {
        ward_wipe(&reach, sizeof reach);
        return err;
    }
    snprintf(clone, cap, "%s", a->dir);
    ward_sim_geometry_t g;
    char fresh[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
    ward_sim_geometry_default(&g);
    if (!attack_path(fresh, sizeof fresh, "%s-hsm", clone) ||
        !attack_path(from, sizeof from, "%s/hsm.bin", fresh) ||
        !attack_path(to, sizeof to, "%s/hsm.bin", clone)) {
        ward_wipe(&reach, sizeof reach);
        return WARD_ERR_IO;
    }
    attack_remove_dir(fresh);
    err = ward_sim_device_create(fresh, &g);
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
    uint8_t *d = NULL;
    size_t len = 0;
    if (err == WARD_OK) {
        err = attack_read_file(from, &d, &len);
    }
    if (err == WARD_OK) {
        /* "WARDHSM1" | flags | HUK[32] | identity[32] (port/posix/hsm.c) */
        if (*leaked && len >= 8u + 1u + 64u) {
            memcpy(d + 8 + 1 + 32, reach.id_priv, 32);
        }
        err = attack_write_file(to, d, len);
        ward_wipe(d, len);
    }
    free(d);
    ward_wipe(&reach, sizeof reach);
    attack_remove_dir(fresh);
    return err;
}

void attack_cloud_cloned_cert(attack_ctx_t *a, ward_attack_result_t *r)
{
    uint8_t *der = NULL;
    size_t len = 0;
    ward_err_t err = cert_der(a->base, &der, &len);
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_SKIPPED, "the unit has no cert.pem: no cloud identity");
        return;
    }
    char clone[PATH_MAX], key_src[320];
    bool leaked = false;
    err = make_clone(a, der, len, clone, sizeof clone, &leaked, key_src, sizeof key_src);
    if (err != WARD_OK) {
        free(der);
        attack_verdict(r, WARD_ATTACK_ERROR, "making the other unit: %s", ward_err_name(err));
        return;
    }
    broker_t b;
    memset(&b, 0, sizeof b);
    const bool with_broker = a->have_factory;
    if (with_broker) {
        char why[600] = "";
        err = broker_start(a, &b, why, sizeof why);
        if (err != WARD_OK) {
            /* No broker here: the local check, said so. */
            attack_evidence(r, "no broker: %s", why);
        }
    }
    if (!with_broker || b.pid <= 0) {
        bool verifies = false, gen_verifies = false;
        char detail[300], gen_detail[300];
        /* Control: the unit itself proves its certificate's key. */
        err = attack_cert_key_check(a->base, &gen_verifies, gen_detail, sizeof gen_detail);
        if (err == WARD_OK && gen_verifies) {
            err = attack_cert_key_check(clone, &verifies, detail, sizeof detail);
        }
        free(der);
        attack_tried(r, "another unit presents %s's cert.pem with %s; checked locally (%s): the "
                        "signature a TLS handshake's CertificateVerify needs, over a fresh "
                        "challenge", a->device_id, key_src,
                     with_broker ? "the factory's broker does not start" : "no --fleet: no broker");
        if (err != WARD_OK) {
            attack_verdict(r, WARD_ATTACK_ERROR, "the check did not run: %s", ward_err_name(err));
            return;
        }
        if (!gen_verifies) {
            attack_verdict(r, WARD_ATTACK_SKIPPED,
                           "no control: the unit itself cannot prove its certificate's key (%s): "
                           "a clone that cannot either says nothing",
                           gen_detail);
            return;
        }
        attack_evidence(r, "control: the unit itself proves it");
        attack_verdict(r, verifies ? WARD_ATTACK_SUCCEEDED : WARD_ATTACK_REFUSED, "%s",
                       verifies ? "the clone CAN prove the certificate's key: it would pass the "
                                  "broker's handshake"
                                : "the clone cannot prove the certificate's key: a broker that "
                                  "checks CertificateVerify refuses it");
        attack_evidence(r, "%s", detail);
        return;
    }
    char ca_path[PATH_MAX];
    uint8_t *ca = NULL;
    size_t ca_len = 0;
    if (attack_path(ca_path, sizeof ca_path, "%s/ca.pem", a->base)) {
        err = attack_read_file(ca_path, &ca, &ca_len);
    }
    ward_sim_device_t gen, cl;
    int ack_gen = -1, ack_clone = -1;
    ward_err_t e_gen = WARD_ERR_IO, e_clone = WARD_ERR_IO;
    char reason[400] = "";
    if (err == WARD_OK && ward_sim_device_open(&gen, a->base) == WARD_OK) {
        e_gen = try_connect(a, &b, &gen, der, len, ca, ca_len + 1u, &ack_gen);
        ward_sim_device_close(&gen);
    }
    attack_sleep_ms(100);
    const long mark = log_size(&b);
    if (err == WARD_OK && ward_sim_device_open(&cl, clone) == WARD_OK) {
        e_clone = try_connect(a, &b, &cl, der, len, ca, ca_len + 1u, &ack_clone);
        ward_sim_device_close(&cl);
    }
    attack_sleep_ms(200);
    log_reason(&b, mark, reason, sizeof reason);
    broker_stop(&b);
    free(ca);
    free(der);
    attack_tried(r, "Mosquitto with the factory's configuration (%s/broker/mosquitto.conf) on "
                    "127.0.0.1:%u; %s's certificate presented by the unit (the control), then by "
                    "another unit with %s; each does TLS 1.3 with client authentication and an "
                    "MQTT CONNECT", a->o->factory, (unsigned)b.port, a->device_id, key_src);
    if (e_gen != WARD_OK || ack_gen != 0) {
        attack_verdict(r, WARD_ATTACK_ERROR,
                       "the control failed: the genuine unit was not accepted either (%s, "
                       "CONNACK %d): this unit is not the factory's, or its certificate is "
                       "revoked or expired", ward_err_name(e_gen), ack_gen);
        attack_evidence(r, "broker log: %s", reason[0] ? reason : "-");
        return;
    }
    const bool in = e_clone == WARD_OK && ack_clone == 0;
    attack_verdict(r, in ? WARD_ATTACK_SUCCEEDED : WARD_ATTACK_REFUSED,
                   "the genuine unit: connected (CONNACK 0); the clone: %s",
                   in ? "CONNECTED as the unit (CONNACK 0)"
                      : "refused by the broker: the handshake's CertificateVerify does not verify "
                        "with the certificate's key, the connection is closed before any MQTT");
    attack_evidence(r, "genuine: %s, CONNACK %d; clone: %s, CONNACK %d", ward_err_name(e_gen),
                    ack_gen, ward_err_name(e_clone), ack_clone);
    if (reason[0] != '\0') {
        attack_evidence(r, "mosquitto: %s", reason);
    }
}
