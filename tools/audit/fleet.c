/*
 * ward_audit: the fleet's checks (--fleet FACTORY): the factory's keys, the
 * broker's configuration and ACL, the CRL, the update server, the published
 * manifests, the CA's issued certificates and the register of units.
 */
#define _POSIX_C_SOURCE 200809L
#include <cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit_priv.h"
#include "ward/crypto.h"
#include "ward/ota.h"
#include "ward/util.h"
#include "ward_keys.h"

#define F(x) WARD_AUDIT_C_F_##x

static const ward_audit_check_t k_fleet_checks[] = {
    F(KEYS_DISTINCT), F(KEYS_OFFLINE), F(BROKER_LISTENERS), F(BROKER_AUTH),
    F(BROKER_ACL),    F(CRL),          F(REPO),             F(MANIFESTS),
    F(CERT_VALIDITY), F(IDENTITY_UNIQUE), F(PAIRING_UNIQUE), F(MONITORING),
};

/* ---- helpers ------------------------------------------------------------------------------ */

/* Seconds since 1970 of an X.509 time (UTC). */
static int64_t x509_time(const mbedtls_x509_time *t)
{
    /* days from civil (Howard Hinnant) */
    int64_t y = t->year, m = t->mon, d = t->day;
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
}

static void cert_cn(const mbedtls_x509_crt *c, char *out, size_t cap)
{
    out[0] = '\0';
    for (const mbedtls_x509_name *n = &c->subject; n != NULL; n = n->next) {
        if (n->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
            size_t l = n->val.len < cap - 1u ? n->val.len : cap - 1u;
            memcpy(out, n->val.p, l);
            out[l] = '\0';
        }
    }
}

/* Copy s into dst (cap bytes), cut to fit. */
static void set_str(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    n = n < cap ? n : cap - 1u;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0u && isspace((unsigned char)s[n - 1u])) {
        s[--n] = '\0';
    }
    size_t i = 0;
    while (isspace((unsigned char)s[i])) {
        i++;
    }
    memmove(s, s + i, n - i + 1u);
}

/* A path from a configuration line: absolute as is, else under FACTORY/. */
static void conf_path(const audit_ctx_t *a, const char *v, char *out, size_t cap)
{
    if (v[0] == '/') {
        snprintf(out, cap, "%s", v);
    } else {
        snprintf(out, cap, "%s/%s", a->o->factory, v);
    }
}

static bool read_cert(const char *path, mbedtls_x509_crt *c)
{
    uint8_t *der = NULL;
    size_t len = 0;
    if (ward_factory_cert_read(path, &der, &len) != WARD_OK) {
        return false;
    }
    const bool ok = mbedtls_x509_crt_parse_der(c, der, len) == 0;
    free(der);
    return ok;
}

/* ---- keys ----------------------------------------------------------------------------------- */

static void check_keys(audit_ctx_t *a)
{
    if (!a->have_f_keys) {
        audit_set(a, F(KEYS_DISTINCT), WARD_AUDIT_FAIL,
                  "keys/boot-key.pub or keys/ota-key.pub is not a P-256 public key");
    } else if (memcmp(a->f_boot_spki, a->f_ota_spki, sizeof a->f_boot_spki) == 0) {
        audit_set(a, F(KEYS_DISTINCT), WARD_AUDIT_FAIL,
                  "keys/ota-key.pub is the boot key: one leaked key signs both boot images and "
                  "updates");
    } else {
        uint8_t hb[32], ho[32];
        char sb[17], so[17];
        (void)ward_sha256(hb, a->f_boot_spki, sizeof a->f_boot_spki);
        (void)ward_sha256(ho, a->f_ota_spki, sizeof a->f_ota_spki);
        audit_hex(sb, hb, 8);
        audit_hex(so, ho, 8);
        audit_set(a, F(KEYS_DISTINCT), WARD_AUDIT_PASS,
                  "boot key %s... != OTA key %s... (factory keys/*.pub)", sb, so);
    }
    static const char *const k_names[] = {"boot key", "OTA key", "CA key"};
    const char *specs[3] = {a->fconf.boot_key, a->fconf.ota_key, a->fconf.ca_key};
    char ev[WARD_AUDIT_DETAIL_MAX] = "";
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(ev);
        if (ward_key_is_pkcs11(specs[i])) {
            snprintf(ev + n, sizeof ev - n, "%s%s in a PKCS#11 token (not extractable)",
                     i ? "; " : "", k_names[i]);
            continue;
        }
        char path[PATH_MAX];
        struct stat st;
        conf_path(a, specs[i], path, sizeof path);
        if (stat(path, &st) != 0) {
            snprintf(ev + n, sizeof ev - n, "%s%s: %s (not on this machine)", i ? "; " : "",
                     k_names[i], specs[i]);
            continue;
        }
        if ((st.st_mode & 077u) != 0u) {
            audit_set(a, F(KEYS_OFFLINE), WARD_AUDIT_FAIL,
                      "the %s %s has mode %04o: readable by other users", k_names[i], specs[i],
                      (unsigned)(st.st_mode & 0777u));
            return;
        }
        snprintf(ev + n, sizeof ev - n, "%s%s: file %s, mode 0%o", i ? "; " : "", k_names[i],
                 specs[i], (unsigned)(st.st_mode & 0777u));
    }
    audit_set(a, F(KEYS_OFFLINE), WARD_AUDIT_PASS,
              "%s; stations need only the public keys (keep FACTORY/keys offline)", ev);
}

/* ---- the broker ----------------------------------------------------------------------------- */

#define MAX_LISTENERS 8

typedef struct broker_conf {
    bool found;
    size_t n;
    struct {
        unsigned port;
        bool cert, key;
    } l[MAX_LISTENERS + 1]; /* l[0]: the default listener (a `port` line) */
    bool port_line;
    char tls_version[32], allow_anonymous[16], require_certificate[16], use_identity[16];
    bool password_file;
    char cafile[PATH_MAX], crlfile[PATH_MAX], acl_file[PATH_MAX];
} broker_conf_t;

static void read_broker(audit_ctx_t *a, broker_conf_t *b)
{
    char path[PATH_MAX], line[1024];
    memset(b, 0, sizeof *b);
    snprintf(path, sizeof path, "%s/broker/mosquitto.conf", a->o->factory);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    b->found = true;
    size_t cur = 0; /* settings before any listener go to the default listener */
    while (fgets(line, sizeof line, f) != NULL) {
        trim(line);
        char key[64] = "", val[960] = "";
        if (line[0] == '#' || sscanf(line, "%63s %959[^\n]", key, val) < 1) {
            continue;
        }
        trim(val);
        if (strcmp(key, "listener") == 0 && b->n < MAX_LISTENERS) {
            b->n++;
            cur = b->n;
            b->l[cur].port = (unsigned)strtoul(val, NULL, 10);
        } else if (strcmp(key, "port") == 0) {
            b->port_line = true;
            b->l[0].port = (unsigned)strtoul(val, NULL, 10);
        } else if (strcmp(key, "certfile") == 0) {
            b->l[cur].cert = true;
        } else if (strcmp(key, "keyfile") == 0) {
            b->l[cur].key = true;
        } else if (strcmp(key, "tls_version") == 0) {
            set_str(b->tls_version, sizeof b->tls_version, val);
        } else if (strcmp(key, "allow_anonymous") == 0) {
            set_str(b->allow_anonymous, sizeof b->allow_anonymous, val);
        } else if (strcmp(key, "require_certificate") == 0) {
            set_str(b->require_certificate, sizeof b->require_certificate, val);
        } else if (strcmp(key, "use_identity_as_username") == 0) {
            set_str(b->use_identity, sizeof b->use_identity, val);
        } else if (strcmp(key, "password_file") == 0) {
            b->password_file = true;
        } else if (strcmp(key, "cafile") == 0) {
            conf_path(a, val, b->cafile, sizeof b->cafile);
        } else if (strcmp(key, "crlfile") == 0) {
            conf_path(a, val, b->crlfile, sizeof b->crlfile);
        } else if (strcmp(key, "acl_file") == 0) {
            conf_path(a, val, b->acl_file, sizeof b->acl_file);
        }
    }
    fclose(f);
}

static void check_listeners(audit_ctx_t *a, const broker_conf_t *b)
{
    if (!b->found) {
        audit_set(a, F(BROKER_LISTENERS), WARD_AUDIT_FAIL, "no broker/mosquitto.conf");
        return;
    }
    if (b->port_line) {
        audit_set(a, F(BROKER_LISTENERS), WARD_AUDIT_FAIL,
                  "mosquitto.conf: \"port %u\": a default listener%s", b->l[0].port,
                  b->l[0].cert ? "" : " in plain text");
        return;
    }
    if (b->n == 0u) {
        audit_set(a, F(BROKER_LISTENERS), WARD_AUDIT_FAIL,
                  "mosquitto.conf has no listener line: Mosquitto listens on 1883 in plain text");
        return;
    }
    char ports[64] = "";
    for (size_t i = 1; i <= b->n; i++) {
        if (b->l[i].port == 1883u || !b->l[i].cert || !b->l[i].key) {
            audit_set(a, F(BROKER_LISTENERS), WARD_AUDIT_FAIL,
                      "mosquitto.conf: \"listener %u\" without TLS%s: MQTT in plain text",
                      b->l[i].port, b->l[i].port == 1883u ? " (the plain MQTT port)" : "");
            return;
        }
        size_t n = strlen(ports);
        snprintf(ports + n, sizeof ports - n, "%s%u", i > 1u ? ", " : "", b->l[i].port);
    }
    if (strcmp(b->tls_version, "tlsv1.3") != 0 && strcmp(b->tls_version, "tlsv1.2") != 0) {
        audit_set(a, F(BROKER_LISTENERS), WARD_AUDIT_FAIL,
                  "mosquitto.conf: tls_version \"%s\": older TLS versions accepted",
                  b->tls_version);
        return;
    }
    audit_set(a, F(BROKER_LISTENERS), WARD_AUDIT_PASS,
              "mosquitto.conf: listener %s with certfile and keyfile, tls_version %s; no port "
              "line, no 1883",
              ports, b->tls_version);
}

static void check_broker_auth(audit_ctx_t *a, const broker_conf_t *b, const mbedtls_x509_crt *ca)
{
    if (!b->found) {
        audit_set(a, F(BROKER_AUTH), WARD_AUDIT_FAIL, "no broker/mosquitto.conf");
        return;
    }
    if (strcmp(b->allow_anonymous, "false") != 0) {
        audit_set(a, F(BROKER_AUTH), WARD_AUDIT_FAIL,
                  "mosquitto.conf: allow_anonymous is not false");
    } else if (strcmp(b->require_certificate, "true") != 0) {
        audit_set(a, F(BROKER_AUTH), WARD_AUDIT_FAIL,
                  "mosquitto.conf: require_certificate is not true: clients without a "
                  "certificate connect");
    } else if (strcmp(b->use_identity, "true") != 0) {
        audit_set(a, F(BROKER_AUTH), WARD_AUDIT_FAIL,
                  "mosquitto.conf: use_identity_as_username is not true: the ACL's %%u is not "
                  "the certificate's CN");
    } else if (b->password_file) {
        audit_set(a, F(BROKER_AUTH), WARD_AUDIT_FAIL,
                  "mosquitto.conf: a password_file: passwords beside certificates");
    } else {
        mbedtls_x509_crt c;
        mbedtls_x509_crt_init(&c);
        const bool same = b->cafile[0] != '\0' && read_cert(b->cafile, &c) && ca != NULL &&
                          c.raw.len == ca->raw.len &&
                          memcmp(c.raw.p, ca->raw.p, c.raw.len) == 0;
        mbedtls_x509_crt_free(&c);
        if (!same) {
            audit_set(a, F(BROKER_AUTH), WARD_AUDIT_FAIL,
                      "mosquitto.conf: cafile is not the factory CA");
        } else {
            audit_set(a, F(BROKER_AUTH), WARD_AUDIT_PASS,
                      "mosquitto.conf: require_certificate true, use_identity_as_username true, "
                      "allow_anonymous false, cafile = the factory CA, no password_file");
        }
    }
}

static void check_acl(audit_ctx_t *a, const broker_conf_t *b)
{
    char line[1024], user[128] = "";
    bool per_device = false, monitoring = false;
    FILE *f = b->acl_file[0] != '\0' ? fopen(b->acl_file, "r") : NULL;
    if (f == NULL) {
        audit_set(a, F(BROKER_ACL), WARD_AUDIT_FAIL,
                  "no acl_file: every client may read and write every topic");
        audit_set(a, F(MONITORING), WARD_AUDIT_FAIL, "no acl_file");
        return;
    }
    char bad[200] = "";
    while (fgets(line, sizeof line, f) != NULL) {
        trim(line);
        char key[32] = "", w1[128] = "", w2[512] = "";
        int n = sscanf(line, "%31s %127s %511s", key, w1, w2);
        if (line[0] == '#' || n < 2) {
            continue;
        }
        if (strcmp(key, "user") == 0) {
            snprintf(user, sizeof user, "%s", w1);
            continue;
        }
        const char *topic = n == 3 ? w2 : w1; /* "topic T" means readwrite T */
        const char *access = n == 3 ? w1 : "readwrite";
        if (strcmp(key, "pattern") == 0) {
            if (strncmp(topic, "devices/%u/", 11) == 0) {
                per_device = true;
            } else if (bad[0] == '\0') {
                snprintf(bad, sizeof bad, "\"pattern %.12s %.80s\" reaches beyond devices/%%u/", access,
                         topic);
            }
        } else if (strcmp(key, "topic") == 0) {
            if (user[0] == '\0' && bad[0] == '\0') {
                snprintf(bad, sizeof bad, "\"topic %.12s %.80s\" applies to every client", access,
                         topic);
            } else if (strcmp(user, WARD_FACTORY_FLEET_CN) == 0) {
                if (strcmp(topic, "devices/+/events/#") == 0 && strstr(access, "read") != NULL) {
                    monitoring = true;
                }
            } else if (bad[0] == '\0') {
                char own[200];
                snprintf(own, sizeof own, "devices/%s/", user);
                if (strncmp(topic, own, strlen(own)) != 0) {
                    snprintf(bad, sizeof bad, "user %.40s: \"topic %.12s %.80s\" outside its own subtree",
                             user, access, topic);
                }
            }
        }
    }
    fclose(f);
    if (bad[0] != '\0') {
        audit_set(a, F(BROKER_ACL), WARD_AUDIT_FAIL, "broker acl: %s", bad);
    } else if (!per_device) {
        audit_set(a, F(BROKER_ACL), WARD_AUDIT_FAIL,
                  "broker acl: no \"pattern readwrite devices/%%u/#\": devices get no subtree of "
                  "their own");
    } else {
        audit_set(a, F(BROKER_ACL), WARD_AUDIT_PASS,
                  "broker acl: pattern devices/%%u/# (each device in its own subtree, %%u = its "
                  "certificate CN); cross-device topics only for %s",
                  WARD_FACTORY_FLEET_CN);
    }
    if (monitoring) {
        audit_set(a, F(MONITORING), WARD_AUDIT_PASS,
                  "broker acl: user %s: topic read devices/+/events/# (ward fleet serve sees "
                  "every device's security events)",
                  WARD_FACTORY_FLEET_CN);
    } else {
        audit_set(a, F(MONITORING), WARD_AUDIT_FAIL,
                  "broker acl: no service reads devices/+/events/#: security events go unread");
    }
}

static void check_crl(audit_ctx_t *a, const broker_conf_t *b, mbedtls_x509_crt *ca)
{
    if (b->crlfile[0] == '\0') {
        audit_set(a, F(CRL), WARD_AUDIT_FAIL,
                  "mosquitto.conf has no crlfile: a revoked device still connects");
        return;
    }
    mbedtls_x509_crl crl;
    mbedtls_x509_crl_init(&crl);
    uint8_t *data = NULL;
    size_t len = 0;
    if (audit_read_file(b->crlfile, &data, &len) != WARD_OK ||
        mbedtls_x509_crl_parse(&crl, data, len + 1u) != 0) {
        audit_set(a, F(CRL), WARD_AUDIT_FAIL, "%s does not parse as a CRL", b->crlfile);
        free(data);
        mbedtls_x509_crl_free(&crl);
        return;
    }
    free(data);
    uint8_t hash[32];
    const bool signed_ok =
        ca != NULL && ward_sha256(hash, crl.tbs.p, crl.tbs.len) == WARD_OK &&
        mbedtls_pk_verify(&ca->pk, MBEDTLS_MD_SHA256, hash, sizeof hash, crl.MBEDTLS_PRIVATE(sig).p, crl.MBEDTLS_PRIVATE(sig).len) ==
            0;
    const int64_t next = x509_time(&crl.next_update);
    unsigned count = 0;
    bool revoked = false;
    for (const mbedtls_x509_crl_entry *e = &crl.entry; e != NULL && e->raw.p != NULL;
         e = e->next) {
        count++;
        if (a->have_cert && e->serial.len == a->cert.serial.len &&
            memcmp(e->serial.p, a->cert.serial.p, e->serial.len) == 0) {
            revoked = true;
        }
    }
    char when[21];
    ward_factory_iso8601(next, when);
    if (!signed_ok) {
        audit_set(a, F(CRL), WARD_AUDIT_FAIL, "the CRL is not signed by the factory CA");
    } else if (next < a->now) {
        audit_set(a, F(CRL), WARD_AUDIT_FAIL,
                  "the CRL expired at %s: OpenSSL (Mosquitto) refuses every client", when);
    } else if (revoked) {
        audit_set(a, F(CRL), WARD_AUDIT_FAIL, "the unit's certificate is revoked (ca/crl.pem)");
    } else {
        audit_set(a, F(CRL), WARD_AUDIT_PASS,
                  "crlfile %s: signed by the factory CA, %u revoked, next update %s; the unit's "
                  "certificate is not revoked",
                  strrchr(b->crlfile, '/') != NULL ? strrchr(b->crlfile, '/') + 1 : b->crlfile,
                  count, when);
    }
    mbedtls_x509_crl_free(&crl);
}

/* ---- the update server ------------------------------------------------------------------------ */

static void check_repo(audit_ctx_t *a)
{
    char path[PATH_MAX], line[1024];
    snprintf(path, sizeof path, "%s/web/nginx.conf", a->o->factory);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        audit_set(a, F(REPO), WARD_AUDIT_FAIL, "no web/nginx.conf");
        return;
    }
    unsigned ports[8];
    size_t n = 0;
    char bad[200] = "", protocols[128] = "";
    while (fgets(line, sizeof line, f) != NULL) {
        trim(line);
        if (strncmp(line, "listen ", 7) == 0) {
            char *v = line + 7;
            const char *colon = strrchr(v, ':');
            unsigned port = (unsigned)strtoul(colon != NULL && colon < strchr(v, ' ') ? colon + 1 : v,
                                              NULL, 10);
            if (strstr(v, " ssl") == NULL && bad[0] == '\0') {
                snprintf(bad, sizeof bad, "\"%.120s\": HTTP without TLS", line);
            }
            if (n < 8u) {
                ports[n++] = port;
            }
        } else if (strncmp(line, "ssl_protocols ", 14) == 0) {
            snprintf(protocols, sizeof protocols, "%.100s", line + 14);
            protocols[strcspn(protocols, ";")] = '\0';
        }
    }
    fclose(f);
    const ward_profile_service_t *u = a->have_profile ? ward_profile_connect(a->prof, "update") : NULL;
    const char *host = a->fconf.repo_host[0] != '\0' ? a->fconf.repo_host : a->fconf.broker_host;
    bool port_served = false;
    for (size_t i = 0; u != NULL && i < n; i++) {
        port_served = port_served || ports[i] == u->port;
    }
    if (bad[0] != '\0') {
        audit_set(a, F(REPO), WARD_AUDIT_FAIL, "web/nginx.conf: %s", bad);
    } else if (strstr(protocols, "TLSv1 ") != NULL || strstr(protocols, "TLSv1;") != NULL ||
               strstr(protocols, "TLSv1.1") != NULL || protocols[0] == '\0') {
        audit_set(a, F(REPO), WARD_AUDIT_FAIL, "web/nginx.conf: ssl_protocols \"%s\"", protocols);
    } else if (u == NULL) {
        audit_set(a, F(REPO), WARD_AUDIT_FAIL, "the profile names no update repository");
    } else if (!port_served || (host[0] != '\0' && strcmp(u->host, host) != 0)) {
        audit_set(a, F(REPO), WARD_AUDIT_FAIL,
                  "the profile's update URL %s is not the factory's HTTPS server (%s, port%s "
                  "%u)",
                  u->url, host, n > 1u ? "s from" : "", n > 0u ? ports[0] : 0u);
    } else {
        audit_set(a, F(REPO), WARD_AUDIT_PASS,
                  "web/nginx.conf: listen %u ssl, ssl_protocols %s; = the profile's update URL %s",
                  ports[0], protocols, u->url);
    }
}

static void check_manifests(audit_ctx_t *a)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/repo", a->o->factory);
    DIR *dp = opendir(path);
    if (dp == NULL) {
        audit_set(a, F(MANIFESTS), WARD_AUDIT_PASS, "no repository published yet (no repo/)");
        return;
    }
    uint8_t ota_hash[32];
    (void)ward_sha256(ota_hash, a->f_ota_spki, sizeof a->f_ota_spki);
    unsigned good = 0;
    char bad[200] = "", seen[200] = "";
    const struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        char mp[PATH_MAX];
        uint8_t *cose = NULL;
        size_t len = 0;
        if (e->d_name[0] == '.' ||
            !audit_path(mp, sizeof mp, "%s/%s/manifest.cose", path, e->d_name) ||
            audit_read_file(mp, &cose, &len) != WARD_OK) {
            continue;
        }
        ward_ota_manifest_t m;
        ward_err_t err = a->have_f_keys ? ward_ota_manifest_verify(&m, cose, len, a->f_ota_spki,
                                                                   sizeof a->f_ota_spki, ota_hash)
                                        : WARD_ERR_OTA_KEY;
        free(cose);
        if (err != WARD_OK && bad[0] == '\0') {
            snprintf(bad, sizeof bad, "repo/%.60s/manifest.cose does not verify with the OTA key (%s)",
                     e->d_name, ward_err_name(err));
        } else if (err == WARD_OK) {
            good++;
            size_t n = strlen(seen);
            snprintf(seen + n, sizeof seen - n, "%s%.40s %u.%u.%u seq %llu", n ? ", " : "", e->d_name,
                     m.version.major, m.version.minor, m.version.revision,
                     (unsigned long long)m.sequence);
        }
    }
    closedir(dp);
    if (bad[0] != '\0') {
        audit_set(a, F(MANIFESTS), WARD_AUDIT_FAIL, "%s", bad);
    } else if (good == 0u) {
        audit_set(a, F(MANIFESTS), WARD_AUDIT_PASS, "no update published yet (repo/ empty)");
    } else {
        audit_set(a, F(MANIFESTS), WARD_AUDIT_PASS,
                  "%u manifest%s verify with keys/ota-key.pub (COSE_Sign1 ES256): %s", good,
                  good == 1u ? "" : "s", seen);
    }
}

/* ---- certificates and units ------------------------------------------------------------------- */

typedef struct issued {
    char cn[65];
    uint8_t spki_hash[32];
    uint8_t serial[20];
    size_t serial_len;
    int64_t span;
    bool ca;
} issued_t;

static size_t load_issued(audit_ctx_t *a, issued_t **out)
{
    char path[PATH_MAX];
    size_t n = 0, cap = 0;
    issued_t *v = NULL;
    snprintf(path, sizeof path, "%s/ca/issued", a->o->factory);
    DIR *dp = opendir(path);
    if (dp == NULL) {
        *out = NULL;
        return 0;
    }
    const struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        char p[PATH_MAX];
        if (e->d_name[0] == '.' || !audit_path(p, sizeof p, "%s/%s", path, e->d_name)) {
            continue;
        }
        mbedtls_x509_crt c;
        mbedtls_x509_crt_init(&c);
        if (read_cert(p, &c)) {
            if (n == cap) {
                cap = cap != 0u ? 2u * cap : 64u;
                issued_t *nv = realloc(v, cap * sizeof *v);
                if (nv == NULL) {
                    mbedtls_x509_crt_free(&c);
                    break;
                }
                v = nv;
            }
            issued_t *x = &v[n++];
            memset(x, 0, sizeof *x);
            cert_cn(&c, x->cn, sizeof x->cn);
            (void)ward_sha256(x->spki_hash, c.pk_raw.p, c.pk_raw.len);
            x->serial_len = c.serial.len <= 20u ? c.serial.len : 20u;
            memcpy(x->serial, c.serial.p, x->serial_len);
            x->span = x509_time(&c.valid_to) - x509_time(&c.valid_from);
            x->ca = mbedtls_x509_crt_get_ca_istrue(&c) == 1;
        }
        mbedtls_x509_crt_free(&c);
    }
    closedir(dp);
    *out = v;
    return n;
}

static void check_validity(audit_ctx_t *a, const issued_t *v, size_t n)
{
    int64_t longest = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].ca) {
            continue;
        }
        if (v[i].span > (int64_t)WARD_FACTORY_CERT_MAX_VALIDITY) {
            char s[41];
            audit_hex(s, v[i].serial, v[i].serial_len);
            audit_set(a, F(CERT_VALIDITY), WARD_AUDIT_FAIL,
                      "ca/issued: serial %s (CN %s) is valid for %lld days, over 365", s, v[i].cn,
                      (long long)(v[i].span / 86400));
            return;
        }
        longest = v[i].span > longest ? v[i].span : longest;
    }
    if (a->have_cert) {
        const int64_t span = x509_time(&a->cert.valid_to) - x509_time(&a->cert.valid_from);
        if (span > (int64_t)WARD_FACTORY_CERT_MAX_VALIDITY) {
            audit_set(a, F(CERT_VALIDITY), WARD_AUDIT_FAIL,
                      "the unit's cert.pem is valid for %lld days, over 365",
                      (long long)(span / 86400));
            return;
        }
    }
    audit_set(a, F(CERT_VALIDITY), WARD_AUDIT_PASS,
              "%zu certificates in ca/issued, each valid at most 365 days (longest %lld days)", n,
              (long long)(longest / 86400));
}

typedef struct unit {
    char id[65];
    char cert_sha[65], id_pub[131], pair_pub[131];
} unit_t;

static size_t load_units(audit_ctx_t *a, unit_t **out)
{
    char path[PATH_MAX];
    size_t n = 0, cap = 0;
    unit_t *v = NULL;
    snprintf(path, sizeof path, "%s/units", a->o->factory);
    DIR *dp = opendir(path);
    *out = NULL;
    if (dp == NULL) {
        return 0;
    }
    const struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        char p[PATH_MAX];
        uint8_t *data = NULL;
        size_t len = 0;
        if (e->d_name[0] == '.' || !audit_path(p, sizeof p, "%s/%s", path, e->d_name) ||
            audit_read_file(p, &data, &len) != WARD_OK) {
            continue;
        }
        cJSON *r = cJSON_ParseWithLength((const char *)data, len);
        free(data);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "device_id");
        if (cJSON_IsString(id)) {
            if (n == cap) {
                cap = cap != 0u ? 2u * cap : 64u;
                unit_t *nv = realloc(v, cap * sizeof *v);
                if (nv == NULL) {
                    cJSON_Delete(r);
                    break;
                }
                v = nv;
            }
            unit_t *u = &v[n++];
            memset(u, 0, sizeof *u);
            snprintf(u->id, sizeof u->id, "%s", id->valuestring);
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(r, "certificate_sha256");
            snprintf(u->cert_sha, sizeof u->cert_sha, "%s", cJSON_IsString(x) ? x->valuestring : "");
            x = cJSON_GetObjectItemCaseSensitive(r, "identity_public_key");
            snprintf(u->id_pub, sizeof u->id_pub, "%s", cJSON_IsString(x) ? x->valuestring : "");
            x = cJSON_GetObjectItemCaseSensitive(r, "pairing_public_key");
            snprintf(u->pair_pub, sizeof u->pair_pub, "%s", cJSON_IsString(x) ? x->valuestring : "");
        }
        cJSON_Delete(r);
    }
    closedir(dp);
    *out = v;
    return n;
}

/* The unit's own id: DEVICE/device-id (what the station wrote), else the CN. */
static void unit_id(const audit_ctx_t *a, char out[65])
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(out, 65, "%s", a->eol.device_id);
    if (audit_path(path, sizeof path, "%s/device-id", a->copy) &&
        audit_read_file(path, &data, &len) == WARD_OK) {
        data[strcspn((char *)data, "\r\n")] = '\0';
        snprintf(out, 65, "%s", (char *)data);
        free(data);
    }
}

static void check_identity(audit_ctx_t *a, const issued_t *v, size_t n, const unit_t *u,
                           size_t nu)
{
    char me[65], cert_sha[65], id_pub[131];
    unit_id(a, me);
    audit_hex(cert_sha, a->cert_sha, 32);
    audit_hex(id_pub, a->id_pub, 65);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1u; j < n; j++) {
            if (!v[i].ca && !v[j].ca && strcmp(v[i].cn, v[j].cn) != 0 &&
                memcmp(v[i].spki_hash, v[j].spki_hash, 32) == 0) {
                audit_set(a, F(IDENTITY_UNIQUE), WARD_AUDIT_FAIL,
                          "ca/issued: one key certified for %s and for %s", v[i].cn, v[j].cn);
                return;
            }
        }
    }
    for (size_t i = 0; i < nu; i++) {
        for (size_t j = i + 1u; j < nu; j++) {
            if (strcmp(u[i].id, u[j].id) != 0 &&
                ((u[i].cert_sha[0] && strcmp(u[i].cert_sha, u[j].cert_sha) == 0) ||
                 (u[i].id_pub[0] && strcmp(u[i].id_pub, u[j].id_pub) == 0))) {
                audit_set(a, F(IDENTITY_UNIQUE), WARD_AUDIT_FAIL,
                          "units/: %s and %s were given the same identity", u[i].id, u[j].id);
                return;
            }
        }
        if (strcmp(u[i].id, me) == 0) {
            continue;
        }
        if (a->have_cert && strcmp(u[i].cert_sha, cert_sha) == 0) {
            audit_set(a, F(IDENTITY_UNIQUE), WARD_AUDIT_FAIL,
                      "the unit's cert.pem is %s's certificate (units/): one certificate on two "
                      "devices",
                      u[i].id);
            return;
        }
        if (a->have_id_pub && strcmp(u[i].id_pub, id_pub) == 0) {
            audit_set(a, F(IDENTITY_UNIQUE), WARD_AUDIT_FAIL,
                      "the unit's HSM identity key is %s's (units/): a cloned identity", u[i].id);
            return;
        }
    }
    bool recorded = false;
    for (size_t i = 0; a->have_cert && i < n; i++) {
        recorded = recorded || (v[i].serial_len == a->cert.serial.len &&
                                memcmp(v[i].serial, a->cert.serial.p, v[i].serial_len) == 0);
    }
    if (!a->have_cert) {
        audit_set(a, F(IDENTITY_UNIQUE), WARD_AUDIT_FAIL, "the unit has no cert.pem");
    } else if (!recorded) {
        char s[41];
        audit_hex(s, a->cert.serial.p, a->cert.serial.len <= 20u ? a->cert.serial.len : 20u);
        audit_set(a, F(IDENTITY_UNIQUE), WARD_AUDIT_FAIL,
                  "the unit's certificate (serial %s) is not in the CA's records (ca/issued): "
                  "not issued by this factory's line",
                  s);
    } else {
        audit_set(a, F(IDENTITY_UNIQUE), WARD_AUDIT_PASS,
                  "%zu issued certificates and %zu registered units (units/): no key or "
                  "certificate on two devices; the unit's certificate is in ca/issued",
                  n, nu);
    }
}

static void check_pairing(audit_ctx_t *a, const unit_t *u, size_t nu)
{
    char me[65], pair[131];
    unit_id(a, me);
    audit_hex(pair, a->pair_pub, 65);
    size_t with_key = 0;
    for (size_t i = 0; i < nu; i++) {
        with_key += u[i].pair_pub[0] != '\0';
        for (size_t j = i + 1u; j < nu; j++) {
            if (strcmp(u[i].id, u[j].id) != 0 && u[i].pair_pub[0] != '\0' &&
                strcmp(u[i].pair_pub, u[j].pair_pub) == 0) {
                audit_set(a, F(PAIRING_UNIQUE), WARD_AUDIT_FAIL,
                          "units/: %s and %s have the same BLE pairing key", u[i].id, u[j].id);
                return;
            }
        }
        if (a->have_pair_pub && strcmp(u[i].id, me) != 0 && strcmp(u[i].pair_pub, pair) == 0) {
            audit_set(a, F(PAIRING_UNIQUE), WARD_AUDIT_FAIL,
                      "the unit's BLE pairing key (and so its label) is also %s's: one pairing "
                      "secret opens both",
                      u[i].id);
            return;
        }
    }
    audit_set(a, F(PAIRING_UNIQUE), WARD_AUDIT_PASS,
              "%zu registered units, %zu with a pairing key: none shared; the unit's is its own",
              nu, with_key);
}

void audit_fleet(audit_ctx_t *a)
{
    if (!a->have_factory) {
        for (size_t i = 0; i < sizeof k_fleet_checks / sizeof k_fleet_checks[0]; i++) {
            audit_set(a, k_fleet_checks[i], WARD_AUDIT_UNCHECKED, "needs --fleet FACTORY");
        }
        return;
    }
    mbedtls_x509_crt ca;
    mbedtls_x509_crt_init(&ca);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/ca/ca.pem", a->o->factory);
    const bool have_ca = read_cert(path, &ca);
    check_keys(a);
    broker_conf_t *b = malloc(sizeof *b);
    if (b != NULL) {
        read_broker(a, b);
        check_listeners(a, b);
        check_broker_auth(a, b, have_ca ? &ca : NULL);
        check_acl(a, b);
        check_crl(a, b, have_ca ? &ca : NULL);
        free(b);
    }
    check_repo(a);
    check_manifests(a);
    issued_t *v = NULL;
    unit_t *u = NULL;
    const size_t n = load_issued(a, &v);
    const size_t nu = load_units(a, &u);
    check_validity(a, v, n);
    check_identity(a, v, n, u, nu);
    check_pairing(a, u, nu);
    free(v);
    free(u);
    mbedtls_x509_crt_free(&ca);
}
