/*
 * ward_factory: `ward factory init` (docs/factory.md): keys, CA, CRL, the
 * broker's and the update server's configuration and certificates, the
 * fleet service's identity.
 */
#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "factory_priv.h"
#include "ward/crypto.h"
#include "ward/util.h"

#define LABEL_BOOT "ward-boot-key"
#define LABEL_OTA "ward-ota-key"
#define LABEL_CA "ward-factory-ca"

typedef struct init_ctx {
    const ward_factory_init_opts_t *o;
    char dir[PATH_MAX]; /* absolute */
    char *why;
    size_t why_len;
} init_ctx_t;

static bool join(char *out, size_t cap, const init_ctx_t *c, const char *rel)
{
    return ward_factory_path(out, cap, "%s/%s", c->dir, rel);
}

/* A directory that is missing or empty; else it may hold a factory. */
static ward_err_t check_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO;
    }
    const struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = false;
        }
    }
    closedir(d);
    return empty ? WARD_OK : WARD_ERR_EXISTS;
}

static ward_err_t write_text(const init_ctx_t *c, const char *rel, const char *text, unsigned mode)
{
    char path[PATH_MAX];
    if (!join(path, sizeof path, c, rel)) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_factory_write_file(path, text, strlen(text), mode, true);
    if (err != WARD_OK) {
        ward_factory_why(c->why, c->why_len, "writing %s", path);
    }
    return err;
}

static ward_err_t write_pub(const init_ctx_t *c, const char *rel, const uint8_t *spki)
{
    char pem[256];
    size_t n = 0;
    ward_err_t err = ward_sign_spki_to_pem(spki, pem, sizeof pem, &n);
    return err == WARD_OK ? write_text(c, rel, pem, 0644) : err;
}

/*
 * A signing key: given (opened), or made in a file (rel, 0600) or in the
 * token (label). spec_out gets what factory.conf records.
 */
static ward_err_t make_key(const init_ctx_t *c, const char *given, const char *rel,
                           const char *label, ward_key_t **key, char *spec_out, size_t spec_cap)
{
    char spec[PATH_MAX], kwhy[WARD_KEYS_WHY_MAX];
    ward_err_t err;
    if (given != NULL) {
        if (!ward_key_is_pkcs11(given) && given[0] != '/') {
            char abs[PATH_MAX];
            if (realpath(given, abs) == NULL) {
                ward_factory_why(c->why, c->why_len, "%s: no such key file", given);
                return WARD_ERR_NOT_FOUND;
            }
            (void)ward_factory_path(spec, sizeof spec, "%s", abs);
        } else {
            (void)ward_factory_path(spec, sizeof spec, "%s", given);
        }
        err = ward_key_open(spec, key, kwhy, sizeof kwhy);
    } else if (c->o->pkcs11 != NULL) {
        err = ward_key_pkcs11_object_uri(c->o->pkcs11, label, spec, sizeof spec);
        if (err != WARD_OK) {
            ward_factory_why(c->why, c->why_len, "--pkcs11 %s: not a PKCS#11 URI", c->o->pkcs11);
            return err;
        }
        err = ward_key_generate(spec, key, kwhy, sizeof kwhy);
    } else {
        char path[PATH_MAX];
        if (!join(path, sizeof path, c, rel)) {
            return WARD_ERR_INVALID_ARG;
        }
        (void)ward_factory_path(spec, sizeof spec, "%s", rel); /* relative: the factory moves */
        err = ward_key_generate(path, key, kwhy, sizeof kwhy);
    }
    if (err != WARD_OK) {
        ward_factory_why(c->why, c->why_len, "%s: %s", label, kwhy);
        return err;
    }
    if (ward_key_is_pkcs11(spec)) {
        /* What factory.conf records (and init prints): never the PIN. */
        err = ward_key_pkcs11_uri_without_pin(spec, spec_out, spec_cap);
        if (err != WARD_OK) {
            ward_key_close(*key);
            *key = NULL;
        }
        return err;
    }
    if (!ward_factory_path(spec_out, spec_cap, "%s", spec)) {
        return WARD_ERR_INVALID_ARG;
    }
    return WARD_OK;
}

static ward_err_t key_sign(void *ctx, const uint8_t hash[32], uint8_t sig[64])
{
    return ward_key_sign_hash(ctx, hash, sig);
}

/* A TLS key in a file (0600) and its certificate from the CA. */
static ward_err_t make_tls_identity(const init_ctx_t *c, ward_factory_ca_t *ca, const char *key_rel,
                                    const char *cert_rel, const ward_factory_cert_opts_t *o)
{
    char path[PATH_MAX], kwhy[WARD_KEYS_WHY_MAX], pem[WARD_FACTORY_PEM_MAX];
    uint8_t pub[65], csr[WARD_FACTORY_CSR_DER_MAX], der[WARD_FACTORY_CERT_DER_MAX];
    size_t csr_len = 0, der_len = 0, pem_len = 0;
    ward_key_t *key = NULL;
    if (!join(path, sizeof path, c, key_rel)) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_key_generate(path, &key, kwhy, sizeof kwhy);
    if (err != WARD_OK) {
        ward_factory_why(c->why, c->why_len, "%s", kwhy);
        return err;
    }
    const char *cn = o->cn != NULL ? o->cn : o->dns_count > 0u ? o->dns[0] : o->ips[0];
    err = ward_p256_spki_parse(pub, ward_key_spki(key), WARD_P256_SPKI_LEN);
    if (err == WARD_OK) {
        err = ward_factory_csr_build(cn, pub, key_sign, key, csr,
                                     sizeof csr, &csr_len);
    }
    ward_key_close(key);
    if (err == WARD_OK) {
        ward_factory_cert_opts_t oo = *o;
        oo.cn = cn;
        err = ward_factory_issue_cert(ca, csr, csr_len, &oo, der, sizeof der, &der_len, NULL);
    }
    if (err == WARD_OK) {
        err = ward_factory_pem("CERTIFICATE", der, der_len, pem, sizeof pem, &pem_len);
    }
    if (err == WARD_OK) {
        err = write_text(c, cert_rel, pem, 0644);
    } else {
        ward_factory_why(c->why, c->why_len, "the certificate for %s: %s", cn, ward_err_str(err));
    }
    return err;
}

static bool is_ip(const char *s)
{
    uint8_t b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* A server certificate's names: an IP literal alone, or the DNS name (and
 * the loopback addresses for localhost: the simulator connects to them).
 * Shared with renew.c: a renewed certificate names what init's did. */
void ward_factory_server_names(const char *host, const char **dns, size_t *ndns, const char **ips,
                               size_t *nips)
{
    *ndns = *nips = 0;
    if (is_ip(host)) {
        ips[(*nips)++] = host;
        return;
    }
    dns[(*ndns)++] = host;
    if (strcmp(host, "localhost") == 0) {
        ips[(*nips)++] = "127.0.0.1";
        ips[(*nips)++] = "::1";
    }
}

static ward_err_t write_broker(const init_ctx_t *c, const char *host, unsigned port)
{
    char conf[4096], acl[2048];
    const char *d = c->dir;
    char user[300] = "";
    if (c->o->broker_user != NULL) {
        (void)ward_factory_path(user, sizeof user,
                                "# run as this user (a root Mosquitto otherwise drops to "
                                "\"mosquitto\")\nuser %s\n",
                                c->o->broker_user);
    }
    int n = snprintf(
        conf, sizeof conf,
        "# ward: the fleet's MQTT broker, Mosquitto 2 (written by `ward factory init`;\n"
        "# docs/factory.md). Run: mosquitto -c %s/broker/mosquitto.conf\n"
        "#\n"
        "# One listener, TLS only: no plain-text listener exists (nothing on 1883).\n"
        "# Devices authenticate with their certificate (key in their HSM), no passwords:\n"
        "# the certificate's CN (the device id) is the user name and the client id, and\n"
        "# the ACL keeps each device under devices/<its id>/. Revoked certificates are in\n"
        "# crlfile; SIGHUP makes Mosquitto read it (and the certificates) again.\n"
        "# Devices connect to mqtts://%s:%u and check its certificate against ca/ca.pem.\n"
        "%s"
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        "acl_file %s/broker/acl\n"
        "# The largest payload forwarded: every subscriber's receive buffer is\n"
        "# bounded (the fleet service's, the devices'), and any device may publish\n"
        "# into the fleet service's subscription; a larger message is dropped here.\n"
        "message_size_limit %u\n"
        "persistence true\n"
        "persistence_location %s/broker/data/\n"
        "# `ward fleet revoke` sends SIGHUP to this pid (read the CRL again).\n"
        "pid_file %s/broker/mosquitto.pid\n"
        "\n"
        "listener %u\n"
        "protocol mqtt\n"
        "tls_version tlsv1.3\n"
        "certfile %s/broker/server.pem\n"
        "keyfile %s/broker/server-key.pem\n"
        "cafile %s/ca/ca.pem\n"
        "crlfile %s/ca/crl.pem\n"
        "require_certificate true\n"
        "use_identity_as_username true\n"
        "use_username_as_clientid true\n",
        d, host, port, user, d, WARD_FACTORY_MESSAGE_MAX, d, d, port, d, d, d, d);
    if (n < 0 || (size_t)n >= sizeof conf) {
        return WARD_ERR_INVALID_ARG;
    }
    snprintf(acl, sizeof acl,
             "# ward: who may use which topics (Mosquitto acl_file; docs/factory.md).\n"
             "# A device's user name is its certificate's CN, its device id, which never\n"
             "# holds '/', '+' or '#' (the factory refuses them): each device reads and\n"
             "# writes only under devices/<its id>/.\n"
             "pattern readwrite devices/%%u/#\n"
             "\n"
             "# The fleet service (`ward fleet serve`, certificate fleet/fleet.pem, CN %s):\n"
             "# rotation reads the devices' CSRs and answers with certificates; it reads the\n"
             "# security events. Its CN holds '@', which no device id can.\n"
             "user %s\n"
             "topic read devices/+/csr\n"
             "topic write devices/+/cert\n"
             "topic read devices/+/events/#\n",
             WARD_FACTORY_FLEET_CN, WARD_FACTORY_FLEET_CN);
    ward_err_t err = write_text(c, "broker/mosquitto.conf", conf, 0644);
    return err == WARD_OK ? write_text(c, "broker/acl", acl, 0644) : err;
}

static ward_err_t write_nginx(const init_ctx_t *c, const char *host, unsigned port)
{
    char conf[4096];
    const char *d = c->dir;
    int n = snprintf(
        conf, sizeof conf,
        "# ward: the update repository over HTTPS (written by `ward factory init`;\n"
        "# docs/factory.md). Static files only: `ward repo publish ... %s/repo/`.\n"
        "# TLS 1.3 only. Run: nginx -p %s/web -c %s/web/nginx.conf\n"
        "worker_processes 1;\n"
        "pid %s/web/nginx.pid;\n"
        "error_log %s/web/error.log;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "  default_type application/octet-stream;\n"
        "  access_log %s/web/access.log;\n"
        "  client_body_temp_path %s/web/tmp/body;\n"
        "  proxy_temp_path %s/web/tmp/proxy;\n"
        "  fastcgi_temp_path %s/web/tmp/fastcgi;\n"
        "  uwsgi_temp_path %s/web/tmp/uwsgi;\n"
        "  scgi_temp_path %s/web/tmp/scgi;\n"
        "  server_tokens off;\n"
        "  server {\n"
        "    listen %u ssl;\n"
        "    server_name %s;\n"
        "    ssl_certificate %s/web/server.pem;\n"
        "    ssl_certificate_key %s/web/server-key.pem;\n"
        "    ssl_protocols TLSv1.3;\n"
        "    root %s/repo;\n"
        "    autoindex off;\n"
        "    location ~ /\\. { return 404; }\n"
        "    location / { limit_except GET HEAD { deny all; } }\n"
        "  }\n"
        "}\n",
        d, d, d, d, d, d, d, d, d, d, d, port, host, d, d, d);
    if (n < 0 || (size_t)n >= sizeof conf) {
        return WARD_ERR_INVALID_ARG;
    }
    return write_text(c, "web/nginx.conf", conf, 0644);
}

static bool host_ok(const char *h)
{
    uint8_t b[16];
    if (inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1) {
        return true;
    }
    size_t n = strlen(h);
    if (n == 0u || n > 64u) { /* it is also the certificate's CN */
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '-')) {
            return false;
        }
    }
    return h[0] != '.' && h[0] != '-';
}

static bool class_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0u || n > 32u || s[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return false;
        }
    }
    return true;
}

ward_err_t ward_factory_init(const ward_factory_init_opts_t *o, ward_factory_init_result_t *r,
                             char *why, size_t why_len)
{
    init_ctx_t c;
    ward_key_t *boot = NULL, *ota = NULL, *cakey = NULL;
    ward_factory_ca_t *ca = NULL;
    uint8_t der[WARD_FACTORY_CERT_DER_MAX];
    char pem[WARD_FACTORY_PEM_MAX];
    size_t der_len = 0, pem_len = 0;
    ward_err_t err;

    if (why != NULL && why_len > 0u) {
        why[0] = '\0';
    }
    if (o == NULL || r == NULL || o->dir == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(r, 0, sizeof *r);
    memset(&c, 0, sizeof c);
    c.o = o;
    c.why = why;
    c.why_len = why_len;
    const char *cls = o->device_class != NULL ? o->device_class : "device";
    const char *bhost = o->broker_host != NULL ? o->broker_host : "localhost";
    const char *rhost = o->repo_host != NULL ? o->repo_host : bhost;
    const unsigned bport = o->broker_port != 0u ? o->broker_port : 8883u;
    const unsigned rport = o->repo_port != 0u ? o->repo_port : 443u;
    if (!class_ok(cls) || !host_ok(bhost) || !host_ok(rhost) ||
        (o->pkcs11 != NULL && !ward_key_is_pkcs11(o->pkcs11)) ||
        (o->broker_user != NULL && (o->broker_user[0] == '\0' || strlen(o->broker_user) > 64u ||
                                    strpbrk(o->broker_user, " \t\r\n") != NULL))) {
        ward_factory_why(why, why_len, "a bad device class, host name, --pkcs11 URI or user");
        return WARD_ERR_INVALID_ARG;
    }

    /* Never over an existing factory (or anything else). */
    err = check_empty(o->dir);
    if (err == WARD_ERR_NOT_FOUND) {
        err = ward_factory_mkdir(o->dir, 0700);
    }
    if (err != WARD_OK) {
        ward_factory_why(why, why_len, "%s: %s", o->dir,
                         err == WARD_ERR_EXISTS ? "not empty: refusing to overwrite (a factory "
                                                  "is made once)"
                                                : "cannot create the directory");
        return err;
    }
    if (realpath(o->dir, c.dir) == NULL) {
        return WARD_ERR_IO;
    }
    static const struct {
        const char *rel;
        unsigned mode;
    } k_dirs[] = {
        {"keys", 0700},   {"ca", 0700},  {"ca/issued", 0700}, {"broker", 0700}, {"broker/data", 0700},
        {"fleet", 0700},  {"web", 0700}, {"web/tmp", 0700},   {"repo", 0755},
    };
    for (size_t i = 0; i < sizeof k_dirs / sizeof k_dirs[0]; i++) {
        char path[PATH_MAX];
        if (!join(path, sizeof path, &c, k_dirs[i].rel)) {
            return WARD_ERR_INVALID_ARG;
        }
        err = ward_factory_mkdir(path, k_dirs[i].mode);
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "mkdir %s", path);
            return err;
        }
    }

    /* Boot and OTA keys: never the same key (one would then sign both
     * images and updates, and a leak of either would be both). */
    err = make_key(&c, o->boot_key, "keys/boot-key.pem", LABEL_BOOT, &boot, r->boot_key,
                   sizeof r->boot_key);
    if (err == WARD_OK) {
        err = make_key(&c, o->ota_key, "keys/ota-key.pem", LABEL_OTA, &ota, r->ota_key,
                       sizeof r->ota_key);
    }
    if (err == WARD_OK && memcmp(ward_key_spki(boot), ward_key_spki(ota), WARD_P256_SPKI_LEN) == 0) {
        ward_factory_why(why, why_len, "the OTA key is the boot key: they must differ");
        err = WARD_ERR_OTA_KEY;
    }
    if (err == WARD_OK) {
        (void)ward_sha256(r->boot_key_hash, ward_key_spki(boot), WARD_P256_SPKI_LEN);
        (void)ward_sha256(r->ota_key_hash, ward_key_spki(ota), WARD_P256_SPKI_LEN);
        err = write_pub(&c, "keys/boot-key.pub", ward_key_spki(boot));
    }
    if (err == WARD_OK) {
        err = write_pub(&c, "keys/ota-key.pub", ward_key_spki(ota));
    }
    ward_key_close(boot);
    ward_key_close(ota);
    boot = ota = NULL;

    /* The CA: its key, the self-signed root. */
    if (err == WARD_OK) {
        err = make_key(&c, NULL, "ca/ca-key.pem", LABEL_CA, &cakey, r->ca_key, sizeof r->ca_key);
    }
    if (err == WARD_OK) {
        err = ward_factory_ca_create(cakey, o->name, 0, 0, der, sizeof der, &der_len);
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "the CA certificate: %s", ward_err_str(err));
        }
    }
    ward_key_close(cakey);
    if (err == WARD_OK) {
        err = ward_factory_pem("CERTIFICATE", der, der_len, pem, sizeof pem, &pem_len);
    }
    if (err == WARD_OK) {
        err = write_text(&c, "ca/ca.pem", pem, 0644);
    }
    if (err == WARD_OK) {
        mbedtls_x509_crt crt;
        mbedtls_x509_crt_init(&crt);
        if (mbedtls_x509_crt_parse_der(&crt, der, der_len) == 0 &&
            crt.serial.len == WARD_FACTORY_SERIAL_LEN) {
            memcpy(r->ca_serial, crt.serial.p, WARD_FACTORY_SERIAL_LEN);
        }
        mbedtls_x509_crt_free(&crt);

        /* factory.conf: what the other commands read. */
        char text[2048];
        int n = snprintf(text, sizeof text,
                         "# ward factory (docs/factory.md); written by `ward factory init`.\n"
                         "# Key specs: a path (relative to this directory) or a pkcs11: URI.\n"
                         "format=1\nboot_key=%s\nota_key=%s\nca_key=%s\ndevice_class=%s\n"
                         "broker_host=%s\nbroker_port=%u\nrepo_host=%s\nrepo_port=%u\n",
                         r->boot_key, r->ota_key, r->ca_key, cls, bhost, bport, rhost, rport);
        err = n > 0 && (size_t)n < sizeof text ? write_text(&c, "factory.conf", text, 0644)
                                              : WARD_ERR_INVALID_ARG;
    }
    if (err == WARD_OK) {
        err = ward_factory_ca_open(c.dir, &ca, why, why_len);
    }
    if (err == WARD_OK) {
        err = ward_factory_crl_refresh(ca, 0); /* the first, empty CRL */
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "the CRL: %s", ward_err_str(err));
        }
    }

    /* Online identities, keys in files (0600): the broker, the update
     * server, the fleet service. */
    const char *dns[2], *ips[3];
    size_t ndns = 0, nips = 0;
    ward_factory_cert_opts_t co;
    memset(&co, 0, sizeof co);
    co.profile = WARD_FACTORY_PROFILE_SERVER;
    if (err == WARD_OK) {
        ward_factory_server_names(bhost, dns, &ndns, ips, &nips);
        co.dns = dns;
        co.dns_count = ndns;
        co.ips = ips;
        co.ip_count = nips;
        err = make_tls_identity(&c, ca, "broker/server-key.pem", "broker/server.pem", &co);
    }
    if (err == WARD_OK) {
        ward_factory_server_names(rhost, dns, &ndns, ips, &nips);
        co.dns_count = ndns;
        co.ip_count = nips;
        err = make_tls_identity(&c, ca, "web/server-key.pem", "web/server.pem", &co);
    }
    if (err == WARD_OK) {
        memset(&co, 0, sizeof co);
        co.profile = WARD_FACTORY_PROFILE_SERVICE;
        co.cn = WARD_FACTORY_FLEET_CN;
        err = make_tls_identity(&c, ca, "fleet/fleet-key.pem", "fleet/fleet.pem", &co);
    }
    if (err == WARD_OK) {
        err = write_broker(&c, bhost, bport);
    }
    if (err == WARD_OK) {
        err = write_nginx(&c, rhost, rport);
    }
    ward_factory_ca_close(ca);
    return err;
}
