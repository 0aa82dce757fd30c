/*
 * Unit tests: the device profile (tools/audit/profile.c, docs/device-profile.md).
 * The sample plug's profile states the access policy the ATT server enforces
 * on the table the plug compiles; malformed profiles are refused, each with
 * its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "ward/att.h"
#include "ward/cloud.h"
#include "ward/crypto.h"
#include "ward/gatt_plug.h"
#include "ward/util.h"
#include "ward_profile.h"

static ward_profile_t g_p;

static char *build(const ward_profile_build_opts_t *o)
{
    char *json = NULL;
    assert_int_equal(ward_profile_build(o, &json), WARD_OK);
    assert_non_null(json);
    return json;
}

/* What the profile's access object says a link may do. */
static bool profile_allows(const ward_profile_access_t *a, const ward_ble_sec_t *s)
{
    if (!a->allowed) {
        return false;
    }
    const bool needs = a->encrypted || a->authenticated || a->sc || a->bonded ||
                       a->min_key_size != 0u || a->authorization;
    if (!needs) {
        return true;
    }
    const unsigned min = a->min_key_size > 7u ? a->min_key_size : 7u;
    return s->encrypted && (!a->authenticated || (s->key_flags & WARD_BLE_KEY_AUTHENTICATED)) &&
           (!a->sc || (s->key_flags & WARD_BLE_KEY_SC)) &&
           (!a->bonded || (s->key_flags & WARD_BLE_KEY_BONDED)) && s->key_size >= min &&
           !a->authorization; /* no authorization hook: always refused */
}

static void test_profile_states_the_enforced_policy(void **state)
{
    (void)state;
    ward_profile_build_opts_t o;
    memset(&o, 0, sizeof o);
    char *json = build(&o);
    char why[200];
    assert_int_equal(ward_profile_parse(json, strlen(json), &g_p, why, sizeof why), WARD_OK);
    free(json);

    static ward_gatt_plug_t plug;
    const ward_gatt_plug_hooks_t hooks = {NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(ward_gatt_plug_init(&plug, "ward-plug", &hooks, false), WARD_OK);
    static ward_att_server_t srv;
    assert_int_equal(ward_att_server_init(&srv, ward_gatt_plug_db(&plug), NULL, NULL), WARD_OK);

    static const ward_ble_sec_t links[] = {
        {false, 0, 0, false},                                                    /* plain */
        {true, 16, WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED, true},                 /* Just Works */
        {true, 7, WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_BONDED, true},       /* legacy, 7 */
        {true, 16, WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED, true},
    };
    /* every characteristic value and the CCC of the table, and nothing else */
    static const uint16_t handles[] = {WARD_GATT_PLUG_H_NAME,  WARD_GATT_PLUG_H_STATUS,
                                       WARD_GATT_PLUG_H_STATUS_CCC, WARD_GATT_PLUG_H_RELAY,
                                       WARD_GATT_PLUG_H_WIFI, WARD_GATT_PLUG_H_RESET};
    assert_int_equal(g_p.n_gatt, sizeof handles / sizeof handles[0]);
    unsigned decisions = 0, allowed = 0;
    for (size_t i = 0; i < g_p.n_gatt; i++) {
        const ward_profile_gatt_t *g = &g_p.gatt[i];
        assert_int_equal(g->handle, handles[i]);
        const ward_gatt_attr_t *attr = &ward_gatt_plug_db(&plug)->attrs[g->handle - 1u];
        assert_int_equal(g->max_len, attr->max_len);
        for (size_t l = 0; l < sizeof links / sizeof links[0]; l++) {
            for (int write = 0; write < 2; write++) {
                ward_fih_t fih = WARD_FIH_FAILURE;
                const uint8_t code = ward_gatt_check_access(
                    &srv, 1, g->handle, write ? attr->write : attr->read, &links[l], write != 0,
                    &fih);
                const bool code_ok = code == 0u;
                const bool want = profile_allows(write ? &g->write : &g->read, &links[l]);
                if (code_ok != want) {
                    fail_msg("handle %u %s on link %zu: the server says %s, the profile %s",
                             g->handle, write ? "write" : "read", l, code_ok ? "yes" : "no",
                             want ? "yes" : "no");
                }
                assert_int_equal(WARD_FIH_EQ(fih), code_ok);
                decisions++;
                allowed += code_ok;
            }
        }
    }
    printf("%u decisions of the ATT server agree with the profile (%u allowed)\n", decisions,
           allowed);
    /* the control characteristics: only the authenticated SC bond writes them */
    for (size_t i = 0; i < g_p.n_gatt; i++) {
        const ward_profile_gatt_t *g = &g_p.gatt[i];
        if (g->write.allowed && !g->descriptor) {
            assert_true(g->write.encrypted && g->write.authenticated && g->write.sc &&
                        g->write.bonded && g->write.min_key_size == 16u);
        }
    }
    /* the pairing and the events, as the code has them */
    assert_true(g_p.ble_enabled && g_p.sc_only && !g_p.legacy && g_p.min_key_size == 16u);
    assert_int_equal(g_p.methods, WARD_PROFILE_PAIR_OOB | WARD_PROFILE_PAIR_JUST_WORKS);
    assert_int_equal(g_p.n_events, WARD_CLOUD_EV_TYPE_MAX);
    for (uint32_t t = 1; t <= WARD_CLOUD_EV_TYPE_MAX; t++) {
        assert_string_equal(g_p.events[t - 1u], ward_cloud_event_name(t));
    }
}

static void test_options(void **state)
{
    (void)state;
    ward_profile_build_opts_t o;
    memset(&o, 0, sizeof o);
    o.broker_url = "mqtts://broker.example:9883";
    o.update_url = "https://updates.example/fw/";
    o.require_mitm = true;
    o.debug_console = true;
    o.log_level = "debug";
    o.window_seconds = 600;
    o.device_class = "plug-v2";
    char *json = build(&o);
    char why[200];
    assert_int_equal(ward_profile_parse(json, strlen(json), &g_p, why, sizeof why), WARD_OK);
    free(json);
    const ward_profile_service_t *b = ward_profile_connect(&g_p, "mqtt");
    assert_non_null(b);
    assert_string_equal(b->host, "broker.example");
    assert_int_equal(b->port, 9883);
    assert_string_equal(b->scheme, "mqtts");
    const ward_profile_service_t *u = ward_profile_connect(&g_p, "update");
    assert_non_null(u);
    assert_int_equal(u->port, 443);
    assert_int_equal(g_p.methods, WARD_PROFILE_PAIR_OOB);
    assert_true(g_p.debug_console);
    assert_string_equal(g_p.log_level, "debug");
    assert_int_equal(g_p.window_seconds, 600);
    assert_string_equal(g_p.device_class, "plug-v2");
    /* options out of range are refused, nothing made */
    static const char *const bad_urls[] = {"localhost:8883", "mqtts://user@host", "https://",
                                           "https://host:0/", "https://host:70000/",
                                           "https://ho st/"};
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        memset(&o, 0, sizeof o);
        o.update_url = bad_urls[i];
        char *j = NULL;
        assert_int_equal(ward_profile_build(&o, &j), WARD_ERR_INVALID_ARG);
        assert_null(j);
    }
    memset(&o, 0, sizeof o);
    o.log_level = "chatty";
    char *j = NULL;
    assert_int_equal(ward_profile_build(&o, &j), WARD_ERR_INVALID_ARG);
    o.log_level = NULL;
    o.window_seconds = 3600;
    assert_int_equal(ward_profile_build(&o, &j), WARD_ERR_INVALID_ARG);
}

/* Mutate the sample profile at path (a.b[2].c) and expect a refusal whose
 * reason contains want. */
typedef void (*mutate_fn)(cJSON *root);

static void m_format(cJSON *r)
{
    cJSON_ReplaceItemInObject(r, "format", cJSON_CreateNumber(2));
}
static void m_no_debug(cJSON *r)
{
    cJSON_DeleteItemFromObject(r, "debug");
}
static void m_console_string(cJSON *r)
{
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "debug"), "console", cJSON_CreateString("no"));
}
static void m_log_level(cJSON *r)
{
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "debug"), "log_level",
                              cJSON_CreateString("trace"));
}
static void m_key_size(cJSON *r)
{
    cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "ble"), "gatt"), 3);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(g, "write"), "min_key_size",
                              cJSON_CreateNumber(17));
}
static void m_key_size_frac(cJSON *r)
{
    cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "ble"), "gatt"), 3);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(g, "write"), "min_key_size",
                              cJSON_CreateNumber(15.5));
}
static void m_method(cJSON *r)
{
    cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "ble"), "pairing");
    cJSON_AddItemToArray(cJSON_GetObjectItem(p, "methods"), cJSON_CreateString("magic"));
}
static void m_url(cJSON *r)
{
    cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "network"), "connect"), 0);
    cJSON_ReplaceItemInObject(c, "url", cJSON_CreateString("mqtts://admin:pw@host"));
}
static void m_too_many(cJSON *r)
{
    cJSON *a = cJSON_GetObjectItem(r, "accounts");
    for (int i = 0; i < 9; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", "a");
        cJSON_AddStringToObject(x, "service", "s");
        cJSON_AddStringToObject(x, "password", "user-set");
        cJSON_AddItemToArray(a, x);
    }
}
static void m_password(cJSON *r)
{
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "name", "admin");
    cJSON_AddStringToObject(x, "service", "http");
    cJSON_AddStringToObject(x, "password", "admin");
    cJSON_AddItemToArray(cJSON_GetObjectItem(r, "accounts"), x);
}
static void m_gatt_not_object(cJSON *r)
{
    cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "ble"), "gatt"),
                         cJSON_CreateNumber(1));
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        mutate_fn fn;
        const char *want;
    } k[] = {
        {m_format, "format 2"},
        {m_no_debug, "debug is missing"},
        {m_console_string, "debug.console must be true or false"},
        {m_log_level, "debug.log_level: \"trace\" is not one of the allowed values"},
        {m_key_size, "ble.gatt[3].write.min_key_size must be an integer in 0..16"},
        {m_key_size_frac, "ble.gatt[3].write.min_key_size must be an integer"},
        {m_method, "ble.pairing.methods: an unknown method"},
        {m_url, "network.connect[0].url"},
        {m_too_many, "accounts has more than 8 entries"},
        {m_password, "accounts[0].password: \"admin\" is not one of the allowed values"},
        {m_gatt_not_object, "ble.gatt[6] must be an object"},
    };
    ward_profile_build_opts_t o;
    memset(&o, 0, sizeof o);
    char *json = build(&o);
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        cJSON *root = cJSON_Parse(json);
        assert_non_null(root);
        k[i].fn(root);
        char *text = cJSON_Print(root);
        cJSON_Delete(root);
        char why[200] = "";
        ward_err_t err = ward_profile_parse(text, strlen(text), &g_p, why, sizeof why);
        cJSON_free(text);
        if (err != WARD_ERR_PROFILE || strstr(why, k[i].want) == NULL) {
            fail_msg("case %zu: %s, \"%s\" (want \"%s\")", i, ward_err_name(err), why, k[i].want);
        }
    }
    char why[200] = "";
    assert_int_equal(ward_profile_parse("{\"format\": 1", 12, &g_p, why, sizeof why),
                     WARD_ERR_PROFILE);
    assert_string_equal(why, "not JSON");
    assert_int_equal(ward_profile_parse("[1]", 3, &g_p, why, sizeof why), WARD_ERR_PROFILE);
    assert_string_equal(why, "not a JSON object");
    /* the unmodified profile parses: the refusals are the mutations' */
    assert_int_equal(ward_profile_parse(json, strlen(json), &g_p, why, sizeof why), WARD_OK);
    free(json);
}

int main(void)
{
    if (ward_crypto_init() != WARD_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_states_the_enforced_policy),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
