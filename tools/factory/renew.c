/*
 * ward_factory: renewing the factory's own TLS identities (docs/fleet.md,
 * "Renewing a server certificate"). init makes them valid for a year; the
 * broker, the update server and the fleet service stop working the day they
 * expire. Same key, same names, same profile, a new serial, the file
 * replaced in one rename.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "factory_priv.h"
#include "ward/crypto.h"
#include "ward/util.h"

ward_factory_identity_t ward_factory_identity_parse(const char *name)
{
    if (name == NULL) {
        return (ward_factory_identity_t)0;
    }
    if (strcmp(name, "broker") == 0) {
        return WARD_FACTORY_ID_BROKER;
    }
    if (strcmp(name, "web") == 0) {
        return WARD_FACTORY_ID_WEB;
    }
    if (strcmp(name, "fleet") == 0) {
        return WARD_FACTORY_ID_FLEET;
    }
    return (ward_factory_identity_t)0;
}

static ward_err_t key_sign(void *ctx, const uint8_t hash[32], uint8_t sig[64])
{
    return ward_key_sign_hash(ctx, hash, sig);
}

/* One name of the SAN (its raw GeneralName value) among those co gives. */
static bool san_given(const mbedtls_x509_buf *b, const ward_factory_cert_opts_t *co)
{
    const unsigned tag = (unsigned)b->tag & MBEDTLS_ASN1_TAG_VALUE_MASK;
    for (size_t i = 0; tag == MBEDTLS_X509_SAN_DNS_NAME && i < co->dns_count; i++) {
        if (strlen(co->dns[i]) == b->len && memcmp(co->dns[i], b->p, b->len) == 0) {
            return true;
        }
    }
    for (size_t i = 0; tag == MBEDTLS_X509_SAN_IP_ADDRESS && i < co->ip_count; i++) {
        uint8_t a[16];
        const bool v6 = strchr(co->ips[i], ':') != NULL;
        if (inet_pton(v6 ? AF_INET6 : AF_INET, co->ips[i], a) == 1 && b->len == (v6 ? 16u : 4u) &&
            memcmp(a, b->p, b->len) == 0) {
            return true;
        }
    }
    return false;
}

/* The certificate names exactly what co would: its CN, and as SAN the same
 * DNS names and IP addresses, no other. */
static bool same_names(const mbedtls_x509_crt *crt, const ward_factory_cert_opts_t *co)
{
    char cn[WARD_FACTORY_ID_MAX + 1];
    if (!ward_factory_cert_cn(crt, cn) || co->cn == NULL || strcmp(cn, co->cn) != 0) {
        return false;
    }
    size_t n = 0;
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL && s->buf.p != NULL;
         s = s->next) {
        if (!san_given(&s->buf, co)) {
            return false;
        }
        n++;
    }
    return n == co->dns_count + co->ip_count;
}

/* The current certificate: this CA's, for this key, and (names != NULL)
 * naming what the renewal will. Its serial and end. */
static ward_err_t check_old(ward_factory_ca_t *ca, const char *path, const uint8_t pub[65],
                            const ward_factory_cert_opts_t *names, ward_factory_renew_result_t *r,
                            char *why, size_t why_len)
{
    uint8_t *der = NULL;
    size_t len = 0;
    ward_err_t err = ward_factory_cert_read(path, &der, &len);
    if (err != WARD_OK) {
        ward_factory_why(why, why_len, "%s: %s", path,
                         err == WARD_ERR_NOT_FOUND ? "no certificate" : "not a certificate");
        return err;
    }
    mbedtls_x509_crt crt, root;
    mbedtls_x509_crt_init(&crt);
    mbedtls_x509_crt_init(&root);
    size_t rl = 0;
    const uint8_t *rd = ward_factory_ca_cert(ca, &rl);
    uint8_t cpub[65];
    if (mbedtls_x509_crt_parse_der(&crt, der, len) != 0 || mbedtls_x509_crt_parse_der(&root, rd, rl) != 0) {
        ward_factory_why(why, why_len, "%s: not a certificate", path);
        err = WARD_ERR_CERT;
    } else if (!ward_factory_cert_signed_by(&crt, &root)) {
        ward_factory_why(why, why_len, "%s was not issued by this factory's CA", path);
        err = WARD_ERR_CERT;
    } else if (ward_factory_cert_pub(&crt, cpub) != WARD_OK || !ward_ct_equal(cpub, pub, sizeof cpub)) {
        ward_factory_why(why, why_len, "%s does not hold the public key of the key next to it", path);
        err = WARD_ERR_CERT;
    } else if (names != NULL && !same_names(&crt, names)) {
        ward_factory_why(why, why_len,
                         "%s has other names than factory.conf gives (CN %s): a renewal keeps the "
                         "names the devices check; not renewed",
                         path, names->cn);
        err = WARD_ERR_CERT;
    } else {
        ward_factory_hex(r->old_serial, crt.serial.p,
                         crt.serial.len <= WARD_FACTORY_SERIAL_LEN ? crt.serial.len : WARD_FACTORY_SERIAL_LEN);
        r->old_not_after = ward_factory_x509_time(&crt.valid_to);
    }
    mbedtls_x509_crt_free(&crt);
    mbedtls_x509_crt_free(&root);
    free(der);
    return err;
}

/* A --new-key renewal cut between its two renames left the new key with the
 * old certificate and the new certificate in CERT.new: finish it. */
static ward_err_t finish_pending(ward_factory_ca_t *ca, const char *cert_path, const uint8_t pub[65],
                                 char *why, size_t why_len)
{
    char pending[1200];
    struct stat st;
    if (!ward_factory_path(pending, sizeof pending, "%s.new", cert_path)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (lstat(pending, &st) != 0) {
        return WARD_OK;
    }
    ward_factory_renew_result_t scratch;
    memset(&scratch, 0, sizeof scratch);
    char ignored[8];
    if (check_old(ca, pending, pub, NULL, &scratch, ignored, sizeof ignored) != WARD_OK) {
        /* Not the key's: a leftover of a renewal that did not reach its
         * first rename; the key still goes with the current certificate. */
        (void)unlink(pending);
        return WARD_OK;
    }
    if (rename(pending, cert_path) != 0) {
        ward_factory_why(why, why_len, "%s: cannot finish the last renewal", cert_path);
        return WARD_ERR_IO;
    }
    return WARD_OK;
}

ward_err_t ward_factory_renew(const char *factory_dir, ward_factory_identity_t id, uint32_t days,
                              bool new_key, ward_factory_renew_result_t *r, char *why, size_t why_len)
{
    static const char *const k_key[] = {"", "broker/server-key.pem", "web/server-key.pem",
                                        "fleet/fleet-key.pem"};
    static const char *const k_cert[] = {"", "broker/server.pem", "web/server.pem", "fleet/fleet.pem"};
    memset(r, 0, sizeof *r);
    if (factory_dir == NULL || (unsigned)id < 1u || (unsigned)id > 3u || days == 0u ||
        days > WARD_FACTORY_CERT_MAX_VALIDITY / 86400u) {
        ward_factory_why(why, why_len, "an identity (broker, web, fleet) and 1 to 365 days");
        return WARD_ERR_INVALID_ARG;
    }
    ward_factory_conf_t conf;
    ward_err_t err = ward_factory_conf_read(factory_dir, &conf);
    if (err != WARD_OK) {
        ward_factory_why(why, why_len, "%s: %s", factory_dir,
                         err == WARD_ERR_NOT_FOUND ? "no factory here (ward factory init)"
                                                   : "factory.conf unreadable");
        return err;
    }
    char kpath[1100];
    if (!ward_factory_path(kpath, sizeof kpath, "%s/%s", factory_dir, k_key[id]) ||
        !ward_factory_path(r->cert_path, sizeof r->cert_path, "%s/%s", factory_dir, k_cert[id])) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_key_t *key = NULL;
    char kwhy[WARD_KEYS_WHY_MAX];
    err = ward_key_open(kpath, &key, kwhy, sizeof kwhy);
    if (err != WARD_OK) {
        ward_factory_why(why, why_len, "%s: %s", kpath, kwhy);
        return err;
    }
    /* The names init gave (an IP literal or a DNS name; localhost with the
     * loopback addresses): the devices check them, so they must not move. */
    const char *dns[2], *ips[3];
    size_t ndns = 0, nips = 0;
    ward_factory_cert_opts_t co;
    memset(&co, 0, sizeof co);
    if (id == WARD_FACTORY_ID_FLEET) {
        co.profile = WARD_FACTORY_PROFILE_SERVICE;
        co.cn = WARD_FACTORY_FLEET_CN;
    } else {
        const char *host = id == WARD_FACTORY_ID_BROKER || conf.repo_host[0] == '\0' ? conf.broker_host
                                                                                     : conf.repo_host;
        ward_factory_server_names(host, dns, &ndns, ips, &nips);
        co.profile = WARD_FACTORY_PROFILE_SERVER;
        co.dns = dns;
        co.dns_count = ndns;
        co.ips = ips;
        co.ip_count = nips;
        co.cn = ndns > 0u ? dns[0] : ips[0];
    }
    co.validity = days * 86400u;
    ward_factory_ca_t *ca = NULL;
    uint8_t pub[65];
    err = ward_p256_spki_parse(pub, ward_key_spki(key), WARD_P256_SPKI_LEN);
    if (err == WARD_OK) {
        err = ward_factory_ca_open(factory_dir, &ca, why, why_len);
    }
    if (err == WARD_OK) {
        err = finish_pending(ca, r->cert_path, pub, why, why_len);
    }
    if (err == WARD_OK) {
        err = check_old(ca, r->cert_path, pub, &co, r, why, why_len);
    }
    /* A new key: made next to the old one (KEY.new, 0600), certified, then
     * the key renamed over the old one and the certificate after it. A cut
     * between the two renames is finished by the next renew (above). */
    char knew[1200] = "", cnew[1200] = "";
    if (err == WARD_OK && new_key) {
        ward_key_close(key);
        key = NULL;
        if (!ward_factory_path(knew, sizeof knew, "%s.new", kpath) ||
            !ward_factory_path(cnew, sizeof cnew, "%s.new", r->cert_path)) {
            err = WARD_ERR_INVALID_ARG;
        } else {
            (void)unlink(knew);
            err = ward_key_generate(knew, &key, kwhy, sizeof kwhy);
            if (err != WARD_OK) {
                ward_factory_why(why, why_len, "%s: %s", knew, kwhy);
            } else {
                err = ward_p256_spki_parse(pub, ward_key_spki(key), WARD_P256_SPKI_LEN);
            }
        }
    }


    uint8_t csr[WARD_FACTORY_CSR_DER_MAX], der[WARD_FACTORY_CERT_DER_MAX], serial[WARD_FACTORY_SERIAL_LEN];
    size_t csr_len = 0, der_len = 0, pem_len = 0;
    char pem[WARD_FACTORY_PEM_MAX];
    if (err == WARD_OK) {
        err = ward_factory_csr_build(co.cn, pub, key_sign, key, csr, sizeof csr, &csr_len);
    }
    if (err == WARD_OK) {
        err = ward_factory_issue_cert(ca, csr, csr_len, &co, der, sizeof der, &der_len, serial);
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "the CA: %s", ward_err_str(err));
        }
    }
    if (err == WARD_OK) {
        err = ward_factory_pem("CERTIFICATE", der, der_len, pem, sizeof pem, &pem_len);
    }
    if (err == WARD_OK) {
        /* Readable by the servers (Mosquitto drops to its own user). */
        err = ward_factory_write_file(new_key ? cnew : r->cert_path, pem, pem_len, 0644, false);
        if (err != WARD_OK) {
            ward_factory_why(why, why_len, "%s: cannot write", r->cert_path);
        }
    }
    if (err == WARD_OK && new_key &&
        (rename(knew, kpath) != 0 || rename(cnew, r->cert_path) != 0)) {
        ward_factory_why(why, why_len, "%s: cannot put the new key in place", kpath);
        err = WARD_ERR_IO;
    }
    if (err != WARD_OK && new_key && knew[0] != '\0') {
        (void)unlink(knew);
    }
    if (err == WARD_OK) {
        mbedtls_x509_crt crt;
        mbedtls_x509_crt_init(&crt);
        if (mbedtls_x509_crt_parse_der(&crt, der, der_len) == 0) {
            r->not_before = ward_factory_x509_time(&crt.valid_from);
            r->not_after = ward_factory_x509_time(&crt.valid_to);
        }
        mbedtls_x509_crt_free(&crt);
        ward_factory_hex(r->new_serial, serial, sizeof serial);
    }
    ward_factory_ca_close(ca);
    ward_key_close(key);
    return err;
}
