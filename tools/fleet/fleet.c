/*
 * ward_fleet: the factory directory as the fleet uses it. The CA, its key
 * (file or PKCS#11 token) and its records are tools/factory's
 * (ward_factory_ca_open, _issue_cert, _issued_for, _revoke); this file adds
 * the fleet's rules on top: who may get a certificate, revocation by device
 * or serial, and the broker's reload.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <psa/crypto.h>

#include "ward/mqtt.h"
#include "ward/util.h"
#include "ward_fleet.h"

void ward_fleet_paths_default(ward_fleet_paths_t *p, const char *dir)
{
    memset(p, 0, sizeof *p);
    snprintf(p->factory, sizeof p->factory, "%s", dir);
    snprintf(p->client_cert, sizeof p->client_cert, "%s/fleet/fleet.pem", p->factory);
    snprintf(p->client_key, sizeof p->client_key, "%s/fleet/fleet-key.pem", p->factory);
    snprintf(p->server_ca, sizeof p->server_ca, "%s/ca/ca.pem", p->factory);
    snprintf(p->pid, sizeof p->pid, "%s/broker/mosquitto.pid", p->factory);
}

ward_err_t ward_fleet_open(ward_fleet_t *f, const ward_fleet_paths_t *paths, char *why,
                           size_t why_len)
{
    f->paths = *paths;
    f->ca = NULL;
    return ward_factory_ca_open(f->paths.factory, &f->ca, why, why_len);
}

void ward_fleet_close(ward_fleet_t *f)
{
    if (f->ca != NULL) {
        ward_factory_ca_close(f->ca);
        f->ca = NULL;
    }
}

ward_err_t ward_fleet_csr_check(const uint8_t *csr, size_t len, const char *id, const char **why)
{
    char cn[WARD_FACTORY_ID_MAX + 1];
    const char *reason = NULL;
    if (csr == NULL || id == NULL) {
        reason = "no request";
    } else if (ward_factory_device_id_check(id) != WARD_OK) {
        reason = "not a device id";
    } else if (ward_factory_csr_check(csr, len, cn, NULL) != WARD_OK) {
        reason = "malformed, not P-256, or its signature does not verify";
    } else if (strcmp(cn, id) != 0) {
        reason = "subject is not CN=<device id>";
    }
    if (why != NULL) {
        *why = reason != NULL ? reason : "ok";
    }
    return reason == NULL ? WARD_OK : WARD_ERR_CLOUD_CSR;
}

ward_err_t ward_fleet_issue(ward_fleet_t *f, const uint8_t *csr, size_t csr_len, const char *id,
                            uint32_t days, uint8_t *der, size_t cap, size_t *len,
                            uint8_t serial[WARD_FACTORY_SERIAL_LEN], const char **why)
{
    if (f == NULL || f->ca == NULL || days == 0u || days > WARD_FLEET_DAYS_MAX) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_fleet_csr_check(csr, csr_len, id, why);
    if (err != WARD_OK) {
        return err;
    }
    /* From a minute ago: a device whose clock is a little behind still
     * takes it as valid now. */
    const ward_factory_cert_opts_t o = {.profile = WARD_FACTORY_PROFILE_DEVICE, .cn = id,
                                        .not_before = (int64_t)time(NULL) - 60,
                                        .validity = days * 86400u};
    err = ward_factory_issue_cert(f->ca, csr, csr_len, &o, der, cap, len, serial);
    if (err != WARD_OK && why != NULL) {
        *why = "the factory CA refused to issue";
    }
    return err;
}

bool ward_fleet_csr_topic(const char *topic, size_t topic_len, char id[WARD_FACTORY_ID_MAX + 1])
{
    const size_t tl = topic_len;
    id[0] = '\0';
    /* devices/<id>/csr, exactly; no NUL in <id>, which would cut it short
     * (devices/x\0y/csr read as x's request) */
    if (topic == NULL || tl < 13u || memcmp(topic, "devices/", 8) != 0 ||
        memcmp(topic + tl - 4u, "/csr", 4) != 0 || tl - 12u > WARD_FACTORY_ID_MAX ||
        memchr(topic + 8, '\0', tl - 12u) != NULL) {
        return false;
    }
    memcpy(id, topic + 8, tl - 12u);
    id[tl - 12u] = '\0';
    return true;
}

ward_err_t ward_fleet_answer(ward_fleet_t *f, const char *topic, size_t topic_len,
                             const uint8_t *csr, size_t csr_len, uint32_t days, int64_t now,
                             char id[WARD_FACTORY_ID_MAX + 1], uint8_t *der, size_t cap,
                             size_t *len, uint8_t serial[WARD_FACTORY_SERIAL_LEN],
                             const char **why)
{
    *len = 0;
    if (!ward_fleet_csr_topic(topic, topic_len, id)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (ward_mqtt_device_id_check(id, strlen(id)) != WARD_OK) {
        *why = "not a device id";
        return WARD_ERR_CLOUD_CSR;
    }
    /* Known and issued as one step under the records' lock: a revocation
     * (ward_fleet_revoke holds the lock from its list to its last revoke)
     * comes wholly before, and the device is refused, or wholly after,
     * and revokes what this issues. */
    if (f == NULL || f->ca == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_factory_ca_lock(f->ca);
    if (err != WARD_OK) {
        return err;
    }
    if (!ward_fleet_known(f, id, now)) {
        *why = "no valid certificate of ours (unknown, expired or revoked device)";
        err = WARD_ERR_CLOUD_CSR;
    } else {
        /* The factory CA issues and records it (FACTORY/ca/issued/). */
        err = ward_fleet_issue(f, csr, csr_len, id, days, der, cap, len, serial, why);
    }
    ward_factory_ca_unlock(f->ca);
    return err;
}

/* ---- the CA's records, per device ----------------------------------------------- */

typedef struct {
    ward_fleet_entry_t *all;
    size_t n, cap;
} list_t;

static void hex(char *out, const uint8_t *p, size_t n)
{
    static const char k_hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2u * i] = k_hex[p[i] >> 4];
        out[2u * i + 1u] = k_hex[p[i] & 15u];
    }
    out[2u * n] = '\0';
}

static ward_err_t collect(void *ctx, const uint8_t *der, size_t len, const uint8_t *serial,
                          size_t serial_len, int64_t not_before, int64_t not_after, bool revoked)
{
    list_t *l = ctx;
    (void)der;
    (void)len;
    if (serial_len > 20u) {
        return WARD_ERR_CORRUPT;
    }
    if (l->n == l->cap) {
        l->cap = l->cap == 0u ? 8u : l->cap * 2u;
        ward_fleet_entry_t *more = realloc(l->all, l->cap * sizeof *l->all);
        if (more == NULL) {
            return WARD_ERR_NO_SPACE;
        }
        l->all = more;
    }
    ward_fleet_entry_t *e = &l->all[l->n++];
    hex(e->serial, serial, serial_len);
    e->not_before = not_before;
    e->not_after = not_after;
    e->revoked = revoked;
    return WARD_OK;
}

ward_err_t ward_fleet_list(ward_fleet_t *f, const char *id, ward_fleet_entry_t **out, size_t *n)
{
    list_t l = {NULL, 0, 0};
    *out = NULL;
    *n = 0;
    if (f == NULL || f->ca == NULL || id == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    const ward_err_t err = ward_factory_issued_for(f->ca, id, collect, &l);
    if (err != WARD_OK) {
        free(l.all);
        return err;
    }
    *out = l.all;
    *n = l.n;
    return WARD_OK;
}

bool ward_fleet_known(ward_fleet_t *f, const char *id, int64_t now)
{
    ward_fleet_entry_t *all = NULL;
    size_t n = 0;
    bool known = false;
    if (ward_fleet_list(f, id, &all, &n) != WARD_OK) {
        return false;
    }
    for (size_t i = 0; i < n && !known; i++) {
        known = !all[i].revoked && now >= all[i].not_before && now <= all[i].not_after;
    }
    free(all);
    return known;
}

static bool hex_to_bytes(const char *s, uint8_t *out, size_t *len)
{
    size_t n = strlen(s);
    if (n == 0u || n > 40u) {
        return false;
    }
    size_t k = 0;
    /* An odd count: a leading 0 nibble (openssl prints 0x0A... as A...). */
    for (size_t i = 0; i < n;) {
        unsigned v = 0;
        const size_t take = (k == 0u && n % 2u == 1u) ? 1u : 2u;
        for (size_t j = 0; j < take; j++) {
            const char c = s[i + j];
            const int d = c >= '0' && c <= '9' ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
            if (d < 0) {
                return false;
            }
            v = v * 16u + (unsigned)d;
        }
        out[k++] = (uint8_t)v;
        i += take;
    }
    *len = k;
    return true;
}

ward_err_t ward_fleet_revoke(ward_fleet_t *f, const char *id, const char *serial_hex, int64_t now,
                             size_t *count)
{
    *count = 0;
    if (f == NULL || f->ca == NULL || (id == NULL) == (serial_hex == NULL)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (serial_hex != NULL) {
        uint8_t serial[20];
        size_t sl = 0;
        if (!hex_to_bytes(serial_hex, serial, &sl)) {
            return WARD_ERR_INVALID_ARG;
        }
        /* The factory's records hold serials as they are in the
         * certificates: try with and without a leading zero byte. */
        ward_err_t err = ward_factory_revoke(f->ca, serial, sl, now);
        if (err == WARD_ERR_NOT_FOUND && sl > 1u && serial[0] == 0u) {
            err = ward_factory_revoke(f->ca, serial + 1, sl - 1u, now);
        }
        if (err == WARD_OK) {
            *count = 1;
        }
        return err;
    }
    /* Under the records' lock from the list to the last revocation: a
     * certificate issued in between (the rotation service answering the
     * device) would otherwise be left out and keep the device in. */
    ward_err_t err = ward_factory_ca_lock(f->ca);
    if (err != WARD_OK) {
        return err;
    }
    ward_fleet_entry_t *all = NULL;
    size_t n = 0;
    err = ward_fleet_list(f, id, &all, &n);
    if (err == WARD_OK && n == 0u) {
        err = WARD_ERR_NOT_FOUND;
    }
    for (size_t i = 0; err == WARD_OK && i < n; i++) {
        uint8_t serial[20];
        size_t sl = 0;
        if (all[i].revoked) {
            continue;
        }
        if (!hex_to_bytes(all[i].serial, serial, &sl)) {
            err = WARD_ERR_CORRUPT;
            break;
        }
        err = ward_factory_revoke(f->ca, serial, sl, now);
        if (err == WARD_OK) {
            (*count)++;
        }
    }
    free(all);
    ward_factory_ca_unlock(f->ca);
    return err;
}

ward_err_t ward_fleet_reload_broker(const ward_fleet_t *f)
{
    FILE *in = fopen(f->paths.pid, "r");
    if (in == NULL) {
        return WARD_ERR_NOT_FOUND;
    }
    long pid = 0;
    const int got = fscanf(in, "%ld", &pid);
    fclose(in);
    if (got != 1 || pid <= 1) {
        return WARD_ERR_CORRUPT;
    }
    /* Only a running Mosquitto: a stale pid file (a broker that was killed,
     * its pid since reused) or a forged one must not have SIGHUP, which ends
     * most processes, sent to whatever holds that pid now. */
    char path[64], comm[32] = "";
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    FILE *c = fopen(path, "r");
    if (c == NULL) {
        return WARD_ERR_NOT_FOUND;
    }
    const bool named = fgets(comm, sizeof comm, c) != NULL;
    fclose(c);
    comm[strcspn(comm, "\n")] = '\0';
    if (!named || strcmp(comm, "mosquitto") != 0) {
        return WARD_ERR_NOT_FOUND;
    }
    return kill((pid_t)pid, SIGHUP) == 0 ? WARD_OK : WARD_ERR_IO;
}

ward_err_t ward_fleet_load_key_psa(const char *path, uint32_t *key_id)
{
    mbedtls_pk_context pk;
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    mbedtls_svc_key_id_t key = MBEDTLS_SVC_KEY_ID_INIT;
    mbedtls_pk_init(&pk);
    ward_err_t err = WARD_ERR_CORRUPT;
    if (mbedtls_pk_parse_keyfile(&pk, path, NULL, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE) == 0 &&
        mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY && mbedtls_pk_get_bitlen(&pk) == 256 &&
        mbedtls_pk_get_psa_attributes(&pk, PSA_KEY_USAGE_SIGN_HASH, &a) == 0) {
        psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_ANY_HASH));
        err = mbedtls_pk_import_into_psa(&pk, &a, &key) == 0 ? WARD_OK : WARD_ERR_CRYPTO;
    }
    psa_reset_key_attributes(&a);
    mbedtls_pk_free(&pk);
    *key_id = err == WARD_OK ? (uint32_t)key : 0u;
    return err;
}
