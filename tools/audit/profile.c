/*
 * ward_profile: build the sample plug's device profile from what this build
 * compiles, and parse any profile into ward_profile_t
 * (docs/device-profile.md). JSON through Debian's libcjson.
 */
#define _POSIX_C_SOURCE 200809L
#include <cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/att.h"
#include "ward/ble_window.h"
#include "ward/cloud.h"
#include "ward/gatt_plug.h"
#include "ward/smp.h"
#include "ward_profile.h"

/* ---- small helpers ------------------------------------------------------------------ */

static void why_set(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t why_len, const char *fmt, ...)
{
    if (why == NULL || why_len == 0u) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

static bool copy_str(char *out, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap) {
        return false;
    }
    memcpy(out, s, n + 1u);
    return true;
}

static bool in_set(const char *s, const char *const *set)
{
    for (size_t i = 0; set[i] != NULL; i++) {
        if (strcmp(s, set[i]) == 0) {
            return true;
        }
    }
    return false;
}

static const char *const k_log_levels[] = {"none", "error", "warning", "info",
                                           "debug", "verbose", NULL};

bool ward_profile_url_split(const char *url, char *scheme, size_t scheme_cap, char *host,
                            size_t host_cap, uint16_t *port)
{
    static const struct {
        const char *scheme;
        uint16_t port;
    } k_defaults[] = {{"mqtt", 1883}, {"mqtts", 8883}, {"http", 80},
                      {"https", 443}, {"coap", 5683}, {"coaps", 5684}};
    const char *sep = strstr(url, "://");
    if (sep == NULL || sep == url || (size_t)(sep - url) >= scheme_cap) {
        return false;
    }
    for (const char *c = url; c < sep; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '+' || *c == '-')) {
            return false;
        }
    }
    memcpy(scheme, url, (size_t)(sep - url));
    scheme[sep - url] = '\0';
    const char *h = sep + 3;
    size_t hl = strcspn(h, ":/?#");
    if (hl == 0u || hl >= host_cap || memchr(h, '@', hl) != NULL) {
        return false;
    }
    for (size_t i = 0; i < hl; i++) {
        const char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_')) {
            return false;
        }
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = 0;
    for (size_t i = 0; i < sizeof k_defaults / sizeof k_defaults[0]; i++) {
        if (strcmp(scheme, k_defaults[i].scheme) == 0) {
            *port = k_defaults[i].port;
        }
    }
    const char *p = h + hl;
    if (*p == ':') {
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(p + 1, &end, 10);
        if (errno != 0 || end == p + 1 || v == 0u || v > 65535u || (*end != '\0' && *end != '/')) {
            return false;
        }
        *port = (uint16_t)v;
        p = end;
    }
    return (*p == '\0' || *p == '/') && *port != 0u;
}

void ward_profile_access_str(const ward_profile_access_t *a, char *out, size_t cap)
{
    if (!a->allowed) {
        snprintf(out, cap, "not permitted");
        return;
    }
    if (!a->encrypted && !a->authenticated && !a->sc && !a->bonded && a->min_key_size == 0u &&
        !a->authorization) {
        snprintf(out, cap, "open");
        return;
    }
    char key[24] = "";
    if (a->min_key_size != 0u) {
        snprintf(key, sizeof key, ", %u-byte key", (unsigned)a->min_key_size);
    }
    snprintf(out, cap, "%s%s%s%s%s%s", a->authenticated ? "authenticated" : "encrypted",
             a->sc ? ", SC" : "", a->bonded ? ", bonded" : "", key,
             a->authorization ? ", authorization" : "", a->encrypted ? "" : " (no encryption!)");
}

/* ---- build -------------------------------------------------------------------------- */

static void uuid_str(const ward_uuid_t *u, char out[37])
{
    if (u->len == 2u) {
        snprintf(out, 37, "%02x%02x", u->u[1], u->u[0]);
        return;
    }
    /* 128-bit UUIDs are little-endian on the wire: print most significant first. */
    size_t o = 0;
    for (int i = 15; i >= 0; i--) {
        o += (size_t)snprintf(out + o, 37 - o, "%02x", u->u[i]);
        if (i == 12 || i == 10 || i == 8 || i == 6) {
            out[o++] = '-';
            out[o] = '\0';
        }
    }
}

/* What the sample plug's characteristics are (by UUID): a name for people
 * and a function the audit reads (docs/device-profile.md). */
static void plug_function(const char *uuid, const char **name, const char **function)
{
    static const struct {
        const char *uuid, *name, *function;
    } k_known[] = {
        {"2a00", "Device Name", "device-name"},
        {"2902", "Client Characteristic Configuration", "notify-config"},
        {"6a0e0002-9b5c-4d1f-8f3a-77617264706c", "Status", "status"},
        {"6a0e0003-9b5c-4d1f-8f3a-77617264706c", "Relay", "relay"},
        {"6a0e0004-9b5c-4d1f-8f3a-77617264706c", "Wi-Fi provisioning", "wifi-provisioning"},
        {"6a0e0005-9b5c-4d1f-8f3a-77617264706c", "Factory reset", "factory-reset"},
    };
    *name = uuid;
    *function = "unknown";
    for (size_t i = 0; i < sizeof k_known / sizeof k_known[0]; i++) {
        if (strcmp(uuid, k_known[i].uuid) == 0) {
            *name = k_known[i].name;
            *function = k_known[i].function;
        }
    }
}

static cJSON *access_json(ward_gatt_access_t a)
{
    const uint8_t f = WARD_GATT_ACCESS_FLAGS(a);
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    const bool allowed = (f & WARD_GATT_ALLOW) != 0u;
    cJSON_AddBoolToObject(o, "allowed", allowed);
    if (allowed) {
        const uint8_t ks = WARD_GATT_ACCESS_KEY_SIZE(a);
        /* AUTHEN, SC, BOND and a minimum key size imply encryption (ward/att.h). */
        const bool enc = (f & (WARD_GATT_ENC | WARD_GATT_AUTHEN | WARD_GATT_SC | WARD_GATT_BOND)) !=
                             0u ||
                         ks != 0u;
        cJSON_AddBoolToObject(o, "encrypted", enc);
        cJSON_AddBoolToObject(o, "authenticated", (f & WARD_GATT_AUTHEN) != 0u);
        cJSON_AddBoolToObject(o, "secure_connections", (f & WARD_GATT_SC) != 0u);
        cJSON_AddBoolToObject(o, "bonded", (f & WARD_GATT_BOND) != 0u);
        cJSON_AddBoolToObject(o, "authorization", (f & WARD_GATT_AUTHOR) != 0u);
        cJSON_AddNumberToObject(o, "min_key_size", ks);
    }
    return o;
}

static cJSON *gatt_entry(const ward_gatt_attr_t *a, uint16_t handle, uint8_t props, bool descriptor)
{
    char uuid[37];
    const char *name = NULL, *function = NULL;
    uuid_str(&a->type, uuid);
    plug_function(uuid, &name, &function);
    cJSON *e = cJSON_CreateObject();
    cJSON *pr = cJSON_CreateArray();
    if (e == NULL || pr == NULL) {
        cJSON_Delete(e);
        cJSON_Delete(pr);
        return NULL;
    }
    cJSON_AddNumberToObject(e, "handle", handle);
    cJSON_AddStringToObject(e, "uuid", uuid);
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddStringToObject(e, "function", function);
    cJSON_AddStringToObject(e, "kind", descriptor ? "descriptor" : "characteristic");
    static const struct {
        uint8_t bit;
        const char *name;
    } k_props[] = {{WARD_GATT_PROP_READ, "read"},
                   {WARD_GATT_PROP_WRITE_NO_RSP, "write-without-response"},
                   {WARD_GATT_PROP_WRITE, "write"},
                   {WARD_GATT_PROP_NOTIFY, "notify"}};
    for (size_t i = 0; i < sizeof k_props / sizeof k_props[0]; i++) {
        if ((props & k_props[i].bit) != 0u) {
            cJSON_AddItemToArray(pr, cJSON_CreateString(k_props[i].name));
        }
    }
    cJSON_AddItemToObject(e, "properties", pr);
    cJSON_AddItemToObject(e, "read", access_json(a->read));
    cJSON_AddItemToObject(e, "write", access_json(a->write));
    cJSON_AddNumberToObject(e, "max_len", a->max_len);
    return e;
}

/* The GATT section: every characteristic value and descriptor of the table
 * the plug compiles (src/ble/gatt_plug.c), with its access policy. */
static cJSON *gatt_json(void)
{
    ward_gatt_plug_t *plug = malloc(sizeof *plug);
    const ward_gatt_plug_hooks_t hooks = {NULL, NULL, NULL, NULL, NULL};
    cJSON *arr = cJSON_CreateArray();
    /* reset_needs_authorization false: as src/ble's plug builds it. */
    if (plug == NULL || arr == NULL ||
        ward_gatt_plug_init(plug, "ward-plug", &hooks, false) != WARD_OK) {
        free(plug);
        cJSON_Delete(arr);
        return NULL;
    }
    const ward_gatt_db_t *db = ward_gatt_plug_db(plug);
    const ward_uuid_t decl = WARD_UUID16(WARD_GATT_UUID_CHARACTERISTIC);
    const ward_uuid_t ccc = WARD_UUID16(WARD_GATT_UUID_CCC);
    uint8_t props = 0;
    for (uint16_t i = 0; i < db->count; i++) {
        const ward_gatt_attr_t *a = &db->attrs[i];
        cJSON *e = NULL;
        if (ward_uuid_equal(&a->type, &decl)) {
            props = a->props;
            continue;
        }
        if (i > 0u && ward_uuid_equal(&db->attrs[i - 1u].type, &decl)) {
            e = gatt_entry(a, (uint16_t)(i + 1u), props, false);
        } else if (ward_uuid_equal(&a->type, &ccc)) {
            e = gatt_entry(a, (uint16_t)(i + 1u), 0u, true);
        } else {
            continue; /* a service declaration */
        }
        if (e == NULL) {
            cJSON_Delete(arr);
            free(plug);
            return NULL;
        }
        cJSON_AddItemToArray(arr, e);
    }
    free(plug);
    return arr;
}

static cJSON *connect_json(const char *service, const char *url, const char *auth)
{
    cJSON *c = cJSON_CreateObject();
    if (c == NULL) {
        return NULL;
    }
    cJSON_AddStringToObject(c, "service", service);
    cJSON_AddStringToObject(c, "url", url);
    cJSON_AddStringToObject(c, "tls", "1.3");
    cJSON_AddStringToObject(c, "auth", auth);
    return c;
}

static bool url_ok(const char *url)
{
    char scheme[16], host[WARD_PROFILE_URL];
    uint16_t port = 0;
    return strlen(url) < WARD_PROFILE_URL &&
           ward_profile_url_split(url, scheme, sizeof scheme, host, sizeof host, &port);
}

ward_err_t ward_profile_build(const ward_profile_build_opts_t *o, char **json)
{
    if (o == NULL || json == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *json = NULL;
    const char *broker = o->broker_url != NULL ? o->broker_url : "mqtts://localhost:8883";
    const char *update = o->update_url != NULL ? o->update_url : "https://localhost/";
    const char *level = o->log_level != NULL ? o->log_level : "warning";
    const char *cls = o->device_class != NULL ? o->device_class : "plug";
    if (!url_ok(broker) || !url_ok(update) || !in_set(level, k_log_levels) || cls[0] == '\0' ||
        strlen(cls) >= WARD_PROFILE_STR ||
        (o->window_seconds != 0u && (o->window_seconds * 1000u < WARD_BLE_WINDOW_MIN_MS ||
                                     o->window_seconds * 1000u > WARD_BLE_WINDOW_MAX_MS)) ||
        o->window_max_failures > WARD_BLE_WINDOW_MAX_FAILURES ||
        (o->disclosure_url != NULL && !url_ok(o->disclosure_url))) {
        return WARD_ERR_INVALID_ARG;
    }
    cJSON *root = cJSON_CreateObject();
    if (root == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    cJSON_AddNumberToObject(root, "format", WARD_PROFILE_FORMAT);
    cJSON_AddStringToObject(root, "generator", "ward profile " WARD_VERSION_STRING);
    cJSON *fw = cJSON_AddObjectToObject(root, "firmware");
    cJSON_AddStringToObject(fw, "name", o->name != NULL ? o->name : "ward-plug");
    cJSON_AddStringToObject(fw, "version", o->version != NULL ? o->version : WARD_VERSION_STRING);
    cJSON_AddStringToObject(fw, "device_class", cls);

    cJSON *dbg = cJSON_AddObjectToObject(root, "debug");
    cJSON_AddBoolToObject(dbg, "console", o->debug_console);
    /* The factory burns the debug lock (docs/factory.md): the port is
     * locked on every unit of this firmware. */
    cJSON_AddStringToObject(dbg, "port", "locked");
    cJSON_AddStringToObject(dbg, "log_level", level);

    (void)cJSON_AddArrayToObject(root, "accounts"); /* the plug has no login of any kind */

    cJSON *net = cJSON_AddObjectToObject(root, "network");
    (void)cJSON_AddArrayToObject(net, "listen"); /* it listens on nothing */
    cJSON *conn = cJSON_AddArrayToObject(net, "connect");
    cJSON_AddItemToArray(conn, connect_json("mqtt", broker, "client-certificate"));
    cJSON_AddItemToArray(conn, connect_json("update", update, "server-certificate"));

    cJSON *ble = cJSON_AddObjectToObject(root, "ble");
    cJSON_AddBoolToObject(ble, "enabled", !o->no_ble);
    if (!o->no_ble) {
        /* What src/ble/smp.c enforces: LE Secure Connections only, key size
         * 16, bonding; a button-only plug (NoInputNoOutput) pairs by OOB
         * with its label, or Just Works unless require_mitm. */
        cJSON *pair = cJSON_AddObjectToObject(ble, "pairing");
        cJSON_AddBoolToObject(pair, "sc_only", true);
        cJSON_AddBoolToObject(pair, "legacy", false);
        cJSON *m = cJSON_AddArrayToObject(pair, "methods");
        cJSON_AddItemToArray(m, cJSON_CreateString("oob"));
        if (!o->require_mitm) {
            cJSON_AddItemToArray(m, cJSON_CreateString("just_works"));
        }
        cJSON_AddStringToObject(pair, "io_capability", "NoInputNoOutput");
        cJSON_AddNumberToObject(pair, "min_key_size", 16);
        cJSON_AddBoolToObject(pair, "bonding", true);
        cJSON_AddBoolToObject(pair, "require_mitm", o->require_mitm);
        cJSON *win = cJSON_AddObjectToObject(ble, "window");
        cJSON_AddStringToObject(win, "trigger", "button");
        cJSON_AddNumberToObject(win, "open_seconds",
                                o->window_seconds != 0u ? o->window_seconds
                                                        : WARD_BLE_WINDOW_DEFAULT_MS / 1000u);
        cJSON_AddNumberToObject(win, "max_failures", o->window_max_failures != 0u
                                                         ? o->window_max_failures
                                                         : WARD_BLE_WINDOW_DEFAULT_FAILURES);
        cJSON *g = gatt_json();
        if (g == NULL) {
            cJSON_Delete(root);
            return WARD_ERR_NO_SPACE;
        }
        cJSON_AddItemToObject(ble, "gatt", g);
    }

    cJSON *cred = cJSON_AddObjectToObject(root, "credentials");
    cJSON_AddStringToObject(cred, "wifi", "vault");
    cJSON_AddStringToObject(cred, "cloud", "certificate");
    cJSON_AddStringToObject(cred, "keys", "hsm");

    cJSON *ev = cJSON_AddObjectToObject(root, "security_events");
    cJSON_AddStringToObject(ev, "topic", "devices/{id}/events");
    cJSON *types = cJSON_AddArrayToObject(ev, "types");
    for (uint32_t t = 1; t <= WARD_CLOUD_EV_TYPE_MAX; t++) {
        const char *n = ward_cloud_event_name(t);
        if (n != NULL) {
            cJSON_AddItemToArray(types, cJSON_CreateString(n));
        }
    }

    (void)cJSON_AddArrayToObject(root, "sensors"); /* a relay; it measures nothing */

    cJSON *sup = cJSON_AddObjectToObject(root, "support");
    if (o->disclosure_url != NULL) {
        cJSON_AddStringToObject(sup, "disclosure_url", o->disclosure_url);
    } else {
        cJSON_AddNullToObject(sup, "disclosure_url");
    }
    if (o->support_until != NULL) {
        cJSON_AddStringToObject(sup, "support_until", o->support_until);
    } else {
        cJSON_AddNullToObject(sup, "support_until");
    }

    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    size_t n = strlen(text);
    char *out = malloc(n + 2u);
    if (out == NULL) {
        cJSON_free(text);
        return WARD_ERR_NO_SPACE;
    }
    memcpy(out, text, n);
    out[n] = '\n';
    out[n + 1u] = '\0';
    cJSON_free(text);
    /* What is written must read back: the build never emits a profile its
     * own parser refuses. */
    ward_profile_t *chk = malloc(sizeof *chk);
    char why[160];
    ward_err_t err = chk == NULL ? WARD_ERR_NO_SPACE
                                 : ward_profile_parse(out, n + 1u, chk, why, sizeof why);
    free(chk);
    if (err != WARD_OK) {
        free(out);
        return err;
    }
    *json = out;
    return WARD_OK;
}

/* ---- parse --------------------------------------------------------------------------- */

typedef struct parser {
    char *why;
    size_t why_len;
    bool failed;
} parser_t;

static void perr(parser_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void perr(parser_t *ps, const char *fmt, ...)
{
    if (ps->failed) {
        return; /* the first reason is the one reported */
    }
    ps->failed = true;
    if (ps->why != NULL && ps->why_len > 0u) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(ps->why, ps->why_len, fmt, ap);
        va_end(ap);
    }
}

static const cJSON *get(parser_t *ps, const cJSON *obj, const char *path, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v == NULL) {
        perr(ps, "%s%s is missing", path, key);
    }
    return v;
}

static const cJSON *get_obj(parser_t *ps, const cJSON *obj, const char *path, const char *key)
{
    const cJSON *v = get(ps, obj, path, key);
    if (v != NULL && !cJSON_IsObject(v)) {
        perr(ps, "%s%s must be an object", path, key);
        return NULL;
    }
    return v;
}

static const cJSON *get_arr(parser_t *ps, const cJSON *obj, const char *path, const char *key,
                            size_t max)
{
    const cJSON *v = get(ps, obj, path, key);
    if (v != NULL && !cJSON_IsArray(v)) {
        perr(ps, "%s%s must be an array", path, key);
        return NULL;
    }
    if (v != NULL && (size_t)cJSON_GetArraySize(v) > max) {
        perr(ps, "%s%s has more than %zu entries", path, key, max);
        return NULL;
    }
    return v;
}

static bool get_bool(parser_t *ps, const cJSON *obj, const char *path, const char *key)
{
    const cJSON *v = get(ps, obj, path, key);
    if (v != NULL && !cJSON_IsBool(v)) {
        perr(ps, "%s%s must be true or false", path, key);
    }
    return v != NULL && cJSON_IsTrue(v);
}

static double get_num(parser_t *ps, const cJSON *obj, const char *path, const char *key,
                      double lo, double hi)
{
    const cJSON *v = get(ps, obj, path, key);
    if (v == NULL) {
        return lo;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
        v->valuedouble != (double)(long long)v->valuedouble) {
        perr(ps, "%s%s must be an integer in %.0f..%.0f", path, key, lo, hi);
        return lo;
    }
    return v->valuedouble;
}

/* A string (set: its allowed values, or NULL); nullable: null reads as "". */
static void get_str(parser_t *ps, const cJSON *obj, const char *path, const char *key, char *out,
                    size_t cap, const char *const *set, bool nullable)
{
    out[0] = '\0';
    const cJSON *v = get(ps, obj, path, key);
    if (v == NULL) {
        return;
    }
    if (nullable && cJSON_IsNull(v)) {
        return;
    }
    if (!cJSON_IsString(v) || v->valuestring == NULL) {
        perr(ps, "%s%s must be a string%s", path, key, nullable ? " or null" : "");
        return;
    }
    if (!copy_str(out, cap, v->valuestring)) {
        perr(ps, "%s%s is longer than %zu bytes", path, key, cap - 1u);
        return;
    }
    if (set != NULL && !in_set(out, set)) {
        perr(ps, "%s%s: \"%s\" is not one of the allowed values", path, key, out);
    }
}

static void parse_access(parser_t *ps, const cJSON *e, const char *path, const char *key,
                         ward_profile_access_t *a)
{
    char p[96];
    memset(a, 0, sizeof *a);
    const cJSON *o = get_obj(ps, e, path, key);
    if (o == NULL) {
        return;
    }
    snprintf(p, sizeof p, "%s%s.", path, key);
    a->allowed = get_bool(ps, o, p, "allowed");
    if (!a->allowed) {
        return;
    }
    a->encrypted = get_bool(ps, o, p, "encrypted");
    a->authenticated = get_bool(ps, o, p, "authenticated");
    a->sc = get_bool(ps, o, p, "secure_connections");
    a->bonded = get_bool(ps, o, p, "bonded");
    a->authorization = get_bool(ps, o, p, "authorization");
    a->min_key_size = (uint8_t)get_num(ps, o, p, "min_key_size", 0, 16);
    if (a->min_key_size != 0u && a->min_key_size < 7u) {
        perr(ps, "%smin_key_size must be 0 or 7..16", p);
    }
}

static void parse_service(parser_t *ps, const cJSON *e, const char *path, bool listen,
                          ward_profile_service_t *s)
{
    static const char *const k_tls[] = {"1.3", "1.2", NULL};
    memset(s, 0, sizeof *s);
    if (!cJSON_IsObject(e)) {
        perr(ps, "%s must be an object", path);
        return;
    }
    get_str(ps, e, path, "service", s->service, sizeof s->service, NULL, false);
    get_str(ps, e, path, "auth", s->auth, sizeof s->auth, NULL, false);
    get_str(ps, e, path, "tls", s->tls, sizeof s->tls, k_tls, true);
    if (listen) {
        static const char *const k_proto[] = {"tcp", "udp", NULL};
        get_str(ps, e, path, "proto", s->scheme, sizeof s->scheme, k_proto, false);
        s->port = (uint16_t)get_num(ps, e, path, "port", 1, 65535);
        return;
    }
    get_str(ps, e, path, "url", s->url, sizeof s->url, NULL, false);
    if (!ps->failed && !ward_profile_url_split(s->url, s->scheme, sizeof s->scheme, s->host,
                                               sizeof s->host, &s->port)) {
        perr(ps, "%surl: \"%s\" is not scheme://host[:port][/path]", path, s->url);
    }
}

static void parse_ble(parser_t *ps, const cJSON *ble, ward_profile_t *p)
{
    p->ble_enabled = get_bool(ps, ble, "ble.", "enabled");
    if (!p->ble_enabled || ps->failed) {
        return;
    }
    static const char *const k_trigger[] = {"button", "app", "always", "none", NULL};
    const cJSON *pair = get_obj(ps, ble, "ble.", "pairing");
    if (pair != NULL) {
        p->sc_only = get_bool(ps, pair, "ble.pairing.", "sc_only");
        p->legacy = get_bool(ps, pair, "ble.pairing.", "legacy");
        p->bonding = get_bool(ps, pair, "ble.pairing.", "bonding");
        p->require_mitm = get_bool(ps, pair, "ble.pairing.", "require_mitm");
        p->min_key_size = (uint8_t)get_num(ps, pair, "ble.pairing.", "min_key_size", 7, 16);
        get_str(ps, pair, "ble.pairing.", "io_capability", p->io_capability,
                sizeof p->io_capability, NULL, false);
        const cJSON *m = get_arr(ps, pair, "ble.pairing.", "methods", 8);
        const cJSON *it = NULL;
        cJSON_ArrayForEach(it, m)
        {
            static const struct {
                const char *name;
                unsigned bit;
            } k_m[] = {{"just_works", WARD_PROFILE_PAIR_JUST_WORKS},
                       {"numeric_comparison", WARD_PROFILE_PAIR_NUMERIC},
                       {"passkey", WARD_PROFILE_PAIR_PASSKEY},
                       {"oob", WARD_PROFILE_PAIR_OOB},
                       {"legacy_just_works", WARD_PROFILE_PAIR_LEGACY},
                       {"legacy_passkey", WARD_PROFILE_PAIR_LEGACY},
                       {"legacy_oob", WARD_PROFILE_PAIR_LEGACY}};
            unsigned bit = 0;
            for (size_t i = 0; cJSON_IsString(it) && i < sizeof k_m / sizeof k_m[0]; i++) {
                if (strcmp(it->valuestring, k_m[i].name) == 0) {
                    bit = k_m[i].bit;
                }
            }
            if (bit == 0u) {
                perr(ps, "ble.pairing.methods: an unknown method");
            }
            p->methods |= bit;
        }
    }
    const cJSON *win = get_obj(ps, ble, "ble.", "window");
    if (win != NULL) {
        get_str(ps, win, "ble.window.", "trigger", p->window_trigger, sizeof p->window_trigger,
                k_trigger, false);
        p->window_seconds = (uint32_t)get_num(ps, win, "ble.window.", "open_seconds", 0, 86400);
        p->window_max_failures = (uint32_t)get_num(ps, win, "ble.window.", "max_failures", 0, 1000);
    }
    const cJSON *gatt = get_arr(ps, ble, "ble.", "gatt", WARD_PROFILE_MAX_GATT);
    const cJSON *e = NULL;
    cJSON_ArrayForEach(e, gatt)
    {
        char path[48];
        ward_profile_gatt_t *g = &p->gatt[p->n_gatt];
        snprintf(path, sizeof path, "ble.gatt[%zu].", p->n_gatt);
        memset(g, 0, sizeof *g);
        if (!cJSON_IsObject(e)) {
            perr(ps, "ble.gatt[%zu] must be an object", p->n_gatt);
            return;
        }
        static const char *const k_kind[] = {"characteristic", "descriptor", NULL};
        char kind[16];
        g->handle = (uint16_t)get_num(ps, e, path, "handle", 1, 65535);
        get_str(ps, e, path, "uuid", g->uuid, sizeof g->uuid, NULL, false);
        get_str(ps, e, path, "name", g->name, sizeof g->name, NULL, false);
        get_str(ps, e, path, "function", g->function, sizeof g->function, NULL, false);
        get_str(ps, e, path, "kind", kind, sizeof kind, k_kind, false);
        g->descriptor = strcmp(kind, "descriptor") == 0;
        const cJSON *props = get_arr(ps, e, path, "properties", 8);
        const cJSON *pr = NULL;
        cJSON_ArrayForEach(pr, props)
        {
            const char *s = cJSON_IsString(pr) ? pr->valuestring : "";
            if (strcmp(s, "read") == 0) {
                g->prop_read = true;
            } else if (strcmp(s, "write") == 0) {
                g->prop_write = true;
            } else if (strcmp(s, "write-without-response") == 0) {
                g->prop_write_no_rsp = true;
            } else if (strcmp(s, "notify") == 0 || strcmp(s, "indicate") == 0) {
                g->prop_notify = true;
            } else {
                perr(ps, "%sproperties: an unknown property", path);
            }
        }
        parse_access(ps, e, path, "read", &g->read);
        parse_access(ps, e, path, "write", &g->write);
        g->max_len = (uint16_t)get_num(ps, e, path, "max_len", 0, 512);
        p->n_gatt++;
    }
}

static void parse_root(parser_t *ps, const cJSON *root, ward_profile_t *p)
{
    if (!cJSON_IsObject(root)) {
        perr(ps, "not a JSON object");
        return;
    }
    p->format = (unsigned)get_num(ps, root, "", "format", 0, 1000);
    if (!ps->failed && p->format != WARD_PROFILE_FORMAT) {
        perr(ps, "format %u: this ward reads format %u", p->format, WARD_PROFILE_FORMAT);
        return;
    }
    get_str(ps, root, "", "generator", p->generator, sizeof p->generator, NULL, false);
    const cJSON *fw = get_obj(ps, root, "", "firmware");
    if (fw != NULL) {
        get_str(ps, fw, "firmware.", "name", p->fw_name, sizeof p->fw_name, NULL, false);
        get_str(ps, fw, "firmware.", "version", p->fw_version, sizeof p->fw_version, NULL, false);
        get_str(ps, fw, "firmware.", "device_class", p->device_class, sizeof p->device_class,
                NULL, false);
    }
    const cJSON *dbg = get_obj(ps, root, "", "debug");
    if (dbg != NULL) {
        static const char *const k_port[] = {"locked", "open", NULL};
        p->debug_console = get_bool(ps, dbg, "debug.", "console");
        get_str(ps, dbg, "debug.", "port", p->debug_port, sizeof p->debug_port, k_port, false);
        get_str(ps, dbg, "debug.", "log_level", p->log_level, sizeof p->log_level, k_log_levels,
                false);
    }
    const cJSON *acc = get_arr(ps, root, "", "accounts", WARD_PROFILE_MAX_ACCOUNTS);
    const cJSON *e = NULL;
    cJSON_ArrayForEach(e, acc)
    {
        static const char *const k_pw[] = {"default", "per-device", "user-set", NULL};
        char path[32];
        ward_profile_account_t *a = &p->accounts[p->n_accounts];
        snprintf(path, sizeof path, "accounts[%zu].", p->n_accounts);
        if (!cJSON_IsObject(e)) {
            perr(ps, "accounts[%zu] must be an object", p->n_accounts);
            return;
        }
        get_str(ps, e, path, "name", a->name, sizeof a->name, NULL, false);
        get_str(ps, e, path, "service", a->service, sizeof a->service, NULL, false);
        get_str(ps, e, path, "password", a->password, sizeof a->password, k_pw, false);
        p->n_accounts++;
    }
    const cJSON *net = get_obj(ps, root, "", "network");
    if (net != NULL) {
        const cJSON *l = get_arr(ps, net, "network.", "listen", WARD_PROFILE_MAX_SERVICES);
        cJSON_ArrayForEach(e, l)
        {
            char path[40];
            snprintf(path, sizeof path, "network.listen[%zu].", p->n_listen);
            parse_service(ps, e, path, true, &p->listen[p->n_listen]);
            p->n_listen++;
        }
        const cJSON *c = get_arr(ps, net, "network.", "connect", WARD_PROFILE_MAX_SERVICES);
        cJSON_ArrayForEach(e, c)
        {
            char path[40];
            snprintf(path, sizeof path, "network.connect[%zu].", p->n_connect);
            parse_service(ps, e, path, false, &p->connect[p->n_connect]);
            p->n_connect++;
        }
    }
    const cJSON *ble = get_obj(ps, root, "", "ble");
    if (ble != NULL) {
        parse_ble(ps, ble, p);
    }
    const cJSON *cred = get_obj(ps, root, "", "credentials");
    if (cred != NULL) {
        static const char *const k_wifi[] = {"vault", "plain", "none", NULL};
        static const char *const k_cloud[] = {"certificate", "token-vault", "token-plain",
                                              "password", "none", NULL};
        static const char *const k_keys[] = {"hsm", "flash", NULL};
        get_str(ps, cred, "credentials.", "wifi", p->cred_wifi, sizeof p->cred_wifi, k_wifi, false);
        get_str(ps, cred, "credentials.", "cloud", p->cred_cloud, sizeof p->cred_cloud, k_cloud,
                false);
        get_str(ps, cred, "credentials.", "keys", p->cred_keys, sizeof p->cred_keys, k_keys, false);
    }
    const cJSON *ev = get_obj(ps, root, "", "security_events");
    if (ev != NULL) {
        get_str(ps, ev, "security_events.", "topic", p->events_topic, sizeof p->events_topic, NULL,
                true);
        const cJSON *t = get_arr(ps, ev, "security_events.", "types", WARD_PROFILE_MAX_EVENTS);
        cJSON_ArrayForEach(e, t)
        {
            if (!cJSON_IsString(e) ||
                !copy_str(p->events[p->n_events], WARD_PROFILE_STR, e->valuestring)) {
                perr(ps, "security_events.types: strings of at most %u bytes",
                     WARD_PROFILE_STR - 1u);
                return;
            }
            p->n_events++;
        }
    }
    const cJSON *sens = cJSON_GetObjectItemCaseSensitive(root, "sensors");
    if (sens != NULL) {
        sens = get_arr(ps, root, "", "sensors", WARD_PROFILE_MAX_SENSORS);
        p->sensors_listed = sens != NULL;
        cJSON_ArrayForEach(e, sens)
        {
            if (!cJSON_IsString(e) ||
                !copy_str(p->sensors[p->n_sensors], WARD_PROFILE_STR, e->valuestring)) {
                perr(ps, "sensors: strings of at most %u bytes", WARD_PROFILE_STR - 1u);
                return;
            }
            p->n_sensors++;
        }
    }
    const cJSON *sup = get_obj(ps, root, "", "support");
    if (sup != NULL) {
        get_str(ps, sup, "support.", "disclosure_url", p->disclosure_url,
                sizeof p->disclosure_url, NULL, true);
        get_str(ps, sup, "support.", "support_until", p->support_until, sizeof p->support_until,
                NULL, true);
    }
}

ward_err_t ward_profile_parse(const char *json, size_t len, ward_profile_t *p, char *why,
                              size_t why_len)
{
    if (json == NULL || p == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(p, 0, sizeof *p);
    why_set(why, why_len, "%s", "");
    if (len > WARD_PROFILE_MAX_BYTES) {
        why_set(why, why_len, "larger than %u bytes", WARD_PROFILE_MAX_BYTES);
        return WARD_ERR_PROFILE;
    }
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (root == NULL) {
        why_set(why, why_len, "not JSON");
        return WARD_ERR_PROFILE;
    }
    parser_t ps = {why, why_len, false};
    parse_root(&ps, root, p);
    cJSON_Delete(root);
    return ps.failed ? WARD_ERR_PROFILE : WARD_OK;
}

ward_err_t ward_profile_load(const char *path, ward_profile_t *p, char *why, size_t why_len)
{
    why_set(why, why_len, "%s", "");
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        why_set(why, why_len, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO;
    }
    char *buf = malloc(WARD_PROFILE_MAX_BYTES + 1u);
    if (buf == NULL) {
        fclose(f);
        return WARD_ERR_NO_SPACE;
    }
    size_t n = fread(buf, 1, WARD_PROFILE_MAX_BYTES + 1u, f);
    const bool bad = ferror(f) != 0;
    fclose(f);
    ward_err_t err = bad ? WARD_ERR_IO : ward_profile_parse(buf, n, p, why, why_len);
    free(buf);
    return err;
}

const ward_profile_service_t *ward_profile_connect(const ward_profile_t *p, const char *service)
{
    for (size_t i = 0; i < p->n_connect; i++) {
        if (strcmp(p->connect[i].service, service) == 0) {
            return &p->connect[i];
        }
    }
    return NULL;
}
