/*
 * Unit tests of the OTA manifest, policy and chain: a manifest built by
 * tools/repo from a real image verifies on the device side with every
 * field intact (and the same bytes come out each time); the chain's sizes
 * and walk; each policy rule with its own code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit/ota/ota_fixture.h"

static of_keys_t g_keys;

static void test_round_trip(void **state)
{
    (void)state;
    bf_img_t img;
    of_update_t u;
    ward_ota_manifest_t m;
    assert_int_equal(bf_image_ex(&img, 3, 4, 513, 7, 5000, 9, g_keys.boot.id, WARD_SIGN_KEY_HASH),
                     0);
    of_update_ex(&u, &img, &g_keys.ota_signer, "lamp_2.x", 77, 1700000000u, 86400u, 1024);
    assert_int_equal(ward_ota_manifest_verify(&m, u.cose, u.cose_len, g_keys.ota.spki,
                                              sizeof g_keys.ota.spki, g_keys.ota.hash),
                     WARD_OK);
    assert_int_equal(m.format, 1);
    assert_string_equal(m.device_class, "lamp_2.x");
    assert_int_equal(m.version.major, 3);
    assert_int_equal(m.version.minor, 4);
    assert_int_equal(m.version.revision, 513);
    assert_int_equal(m.sec_cnt, 7);
    assert_int_equal(m.image_size, img.len);
    uint8_t d[32];
    assert_int_equal(ward_sha256(d, img.data, img.len), WARD_OK);
    assert_memory_equal(m.image_digest, d, 32);
    assert_string_equal(m.uri, "v3-seq77.chain");
    assert_int_equal(m.issued_at, 1700000000u);
    assert_int_equal(m.expires, 1700000000u + 86400u);
    assert_int_equal(m.sequence, 77);
    assert_int_equal(m.block_size, 1024);
    assert_memory_equal(m.chain_head, u.m.chain_head, 32);
    assert_memory_equal(m.kid, g_keys.ota.hash, 32);
    /* The unverified decode agrees. */
    ward_ota_manifest_t m2;
    assert_int_equal(ward_ota_manifest_decode(&m2, u.cose, u.cose_len), WARD_OK);
    assert_true(of_manifest_equal(&m, &m2));
    /* Deterministic: the same inputs give the same bytes. */
    of_update_t u2;
    of_update_ex(&u2, &img, &g_keys.ota_signer, "lamp_2.x", 77, 1700000000u, 86400u, 1024);
    assert_int_equal(u2.cose_len, u.cose_len);
    assert_memory_equal(u2.cose, u.cose, u.cose_len);
    /* And the chained file checks. */
    assert_int_equal(ward_repo_update_check(&m, u.wire, u.wire_len, NULL), WARD_OK);
    of_update_free(&u);
    of_update_free(&u2);
    bf_image_free(&img);
}

/* Large values take the longer CBOR heads; all still decode. */
static void test_round_trip_wide_values(void **state)
{
    (void)state;
    bf_img_t img;
    of_update_t u;
    ward_ota_manifest_t m;
    assert_int_equal(bf_image_ex(&img, 255, 255, 65535, 512, 300, 1, g_keys.boot.id,
                                 WARD_SIGN_KEY_HASH),
                     0);
    of_update_ex(&u, &img, &g_keys.ota_signer, "a", UINT64_MAX, UINT64_MAX - 1u, 1u, 65536);
    assert_int_equal(ward_ota_manifest_verify(&m, u.cose, u.cose_len, g_keys.ota.spki,
                                              sizeof g_keys.ota.spki, g_keys.ota.hash),
                     WARD_OK);
    assert_int_equal(m.sequence, UINT64_MAX);
    assert_int_equal(m.expires, UINT64_MAX);
    assert_int_equal(m.sec_cnt, 512);
    assert_int_equal(m.block_size, 65536);
    assert_int_equal(m.version.revision, 65535);
    of_update_free(&u);
    bf_image_free(&img);
}

static void test_chain(void **state)
{
    (void)state;
    assert_int_equal(ward_ota_chain_wire_size(1, 256), 1);
    assert_int_equal(ward_ota_chain_wire_size(256, 256), 256);
    assert_int_equal(ward_ota_chain_wire_size(257, 256), 257 + 32);
    assert_int_equal(ward_ota_chain_wire_size(1u << 20, 4096), (1u << 20) + 255u * 32u);
    assert_int_equal(ward_ota_chain_wire_size(UINT32_MAX, 256),
                     (uint64_t)UINT32_MAX + 32ull * (16777216ull - 1u));

    uint8_t img[1000];
    for (size_t i = 0; i < sizeof img; i++) {
        img[i] = (uint8_t)(i * 7u);
    }
    ward_ota_manifest_t m;
    memset(&m, 0, sizeof m);
    m.image_size = sizeof img;
    m.block_size = 256;
    uint8_t *wire = NULL;
    size_t wl = 0;
    assert_int_equal(ward_repo_chain_build(img, sizeof img, 256, &wire, &wl, m.chain_head),
                     WARD_OK);
    assert_int_equal(wl, 1000 + 3 * 32);
    ward_ota_chain_t c;
    ward_ota_chain_init(&c, &m);
    assert_int_equal(c.nblocks, 4);
    assert_int_equal(ward_ota_chain_wire_len(&c, 0), 288);
    assert_int_equal(ward_ota_chain_wire_len(&c, 3), 1000 - 768);
    assert_int_equal(ward_ota_chain_wire_len(&c, 4), 0);
    assert_int_equal(ward_ota_chain_wire_off(&c, 3), 3 * 288);
    size_t dl = 0;
    /* Wrong length: nothing moves. */
    assert_int_equal(ward_ota_chain_next(&c, wire, 287, &dl), WARD_ERR_OTA_SIZE);
    /* Block 1 first: not the expected hash. */
    assert_int_equal(ward_ota_chain_next(&c, wire + 288, 288, &dl), WARD_ERR_OTA_CHAIN);
    assert_int_equal(c.next, 0);
    for (uint32_t i = 0; i < 4; i++) {
        const uint32_t len = ward_ota_chain_wire_len(&c, i);
        assert_int_equal(ward_ota_chain_next(&c, wire + i * 288u, len, &dl), WARD_OK);
        assert_int_equal(dl, i < 3 ? 256 : 232);
        assert_memory_equal(wire + i * 288u, img + i * 256u, dl);
    }
    /* Complete: anything more is too much. */
    assert_int_equal(ward_ota_chain_next(&c, wire, 1, &dl), WARD_ERR_OTA_SIZE);
    /* A byte changed anywhere in block 2 (data or next-hash) stops there. */
    for (size_t at = 2 * 288; at < 3 * 288; at += 37) {
        ward_ota_chain_init(&c, &m);
        wire[at] ^= 0x40u;
        for (uint32_t i = 0; i < 2; i++) {
            assert_int_equal(ward_ota_chain_next(&c, wire + i * 288u, 288, &dl), WARD_OK);
        }
        assert_int_equal(ward_ota_chain_next(&c, wire + 2 * 288u, 288, &dl), WARD_ERR_OTA_CHAIN);
        wire[at] ^= 0x40u;
    }
    free(wire);
}

static void policy_base(ward_ota_manifest_t *m, ward_ota_policy_t *p)
{
    memset(m, 0, sizeof *m);
    memset(p, 0, sizeof *p);
    m->format = 1;
    snprintf(m->device_class, sizeof m->device_class, "plug");
    m->version = (ward_image_version_t){2, 0, 0, 0};
    m->sec_cnt = 5;
    m->image_size = 10000;
    m->issued_at = 1000;
    m->expires = 2000;
    m->sequence = 10;
    m->block_size = 4096;
    p->device_class = "plug";
    p->running = (ward_image_version_t){1, 9, 9, 9};
    p->floor = 5;
    p->now = 1500;
    p->last_sequence = 9;
    p->last_issued_at = 900;
    p->image_max = 10000;
}

static void test_policy(void **state)
{
    (void)state;
    ward_ota_manifest_t m;
    ward_ota_policy_t p;
    policy_base(&m, &p);
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_OK);

    policy_base(&m, &p);
    p.device_class = "plug2";
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_CLASS);
    p.device_class = "plu";
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_CLASS);

    policy_base(&m, &p);
    m.image_size = 10001; /* does not fit the staging slot */
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_SIZE);
    policy_base(&m, &p);
    m.block_size = WARD_CONFIG_OTA_BLOCK_MAX * 2; /* more than the device holds */
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_SIZE);

    policy_base(&m, &p);
    m.version = p.running; /* not newer */
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_VERSION);
    m.version = (ward_image_version_t){1, 9, 9, 8}; /* older */
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_VERSION);
    m.version = (ward_image_version_t){1, 9, 9, 10}; /* newer by the build number */
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_OK);

    policy_base(&m, &p);
    m.sec_cnt = 4;
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_SEC_CNT);

    policy_base(&m, &p);
    p.now = 2000; /* expires is the first second it is no longer valid */
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_EXPIRED);
    /* A device clock set back: the last accepted issue time still counts. */
    policy_base(&m, &p);
    p.now = 5;
    p.last_issued_at = 2500;
    p.last_sequence = 1;
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_EXPIRED);
    /* No clock at all and no earlier manifest: not judged by time. */
    policy_base(&m, &p);
    p.now = 0;
    p.last_issued_at = 0;
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_OK);

    policy_base(&m, &p);
    p.last_sequence = 10; /* the same manifest again */
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_REPLAY);
    p.last_sequence = 11;
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_REPLAY);

    /* Order: class before everything. */
    policy_base(&m, &p);
    p.device_class = "x";
    m.sec_cnt = 0;
    p.last_sequence = 99;
    assert_int_equal(ward_ota_policy_check(&m, &p), WARD_ERR_OTA_CLASS);
    assert_int_equal(ward_ota_policy_check(NULL, &p), WARD_ERR_INVALID_ARG);
}

/* The class rule provisioning tools check with (the agent's own). */
static void test_class_ok(void **state)
{
    (void)state;
    char longest[WARD_CONFIG_OTA_CLASS_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[WARD_CONFIG_OTA_CLASS_MAX] = '\0';
    assert_true(ward_ota_class_ok("plug-v1"));
    assert_true(ward_ota_class_ok("A.b_c-9"));
    assert_true(ward_ota_class_ok(longest));
    longest[WARD_CONFIG_OTA_CLASS_MAX] = 'a';
    longest[WARD_CONFIG_OTA_CLASS_MAX + 1] = '\0';
    assert_false(ward_ota_class_ok(longest));
    assert_false(ward_ota_class_ok(""));
    assert_false(ward_ota_class_ok(NULL));
    assert_false(ward_ota_class_ok(".hidden"));
    assert_false(ward_ota_class_ok("plug/v1"));
    assert_false(ward_ota_class_ok("plug v1"));
}

static void test_publish_helpers(void **state)
{
    (void)state;
    uint64_t s = 0;
    assert_true(ward_repo_parse_duration("30d", &s));
    assert_int_equal(s, 30u * 86400u);
    assert_true(ward_repo_parse_duration("90", &s));
    assert_int_equal(s, 90);
    assert_true(ward_repo_parse_duration("2w", &s));
    assert_int_equal(s, 14u * 86400u);
    assert_false(ward_repo_parse_duration("0d", &s));
    assert_false(ward_repo_parse_duration("3x", &s));
    assert_false(ward_repo_parse_duration("3dd", &s));
    assert_false(ward_repo_parse_duration("-3", &s));
    assert_false(ward_repo_parse_duration("99999999999999999999", &s));
    /* The largest value parses; one more does not. */
    assert_true(ward_repo_parse_duration("18446744073709551615", &s));
    assert_int_equal(s, UINT64_MAX);
    assert_false(ward_repo_parse_duration("18446744073709551616", &s));
    assert_false(ward_repo_parse_duration("999999999999999999w", &s));
}

int main(void)
{
    of_keys(&g_keys);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_wide_values),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_publish_helpers),
        cmocka_unit_test(test_class_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
