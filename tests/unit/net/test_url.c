/* Unit tests: src/net/url.c (ward_url_parse) and the request line builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ward/net.h"

typedef struct {
    const char *text;
    const char *host;
    uint16_t port;
    const char *path;
} url_ok_t;

static void test_url_accepts(void **state)
{
    (void)state;
    static const url_ok_t ok[] = {
        {"https://updates.example.com", "updates.example.com", 443, "/"},
        {"https://updates.example.com/", "updates.example.com", 443, "/"},
        {"HTTPS://Example.COM:8443/a/b/", "Example.COM", 8443, "/a/b"},
        {"https://localhost:1/repo", "localhost", 1, "/repo"},
        {"https://127.0.0.1:65535/r///", "127.0.0.1", 65535, "/r"},
        {"https://[::1]:4443/x", "::1", 4443, "/x"},
        {"https://[2001:db8::7]/", "2001:db8::7", 443, "/"},
        {"https://a-b.c9/%41%7e/~x_y.z", "a-b.c9", 443, "/%41%7e/~x_y.z"},
        {"https://h/a:b@c!$&'()*+,;=", "h", 443, "/a:b@c!$&'()*+,;="},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ward_url_t u;
        memset(&u, 0xA5, sizeof u);
        assert_int_equal(ward_url_parse(&u, ok[i].text), WARD_OK);
        assert_string_equal(u.host, ok[i].host);
        assert_int_equal(u.port, ok[i].port);
        assert_string_equal(u.path, ok[i].path);
    }
}

static void test_url_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "http://updates.example.com/",       /* plain http */
        "HTTP://updates.example.com/",
        "ftp://h/", "https:/h/", "https//h", "https:h", "", "https://",
        "https:///path",                     /* no host */
        "https://user@h/",                   /* user info */
        "https://user:pw@h/",
        "https://h/a?b=c",                   /* query */
        "https://h?x",
        "https://h/a#frag",                  /* fragment */
        "https://h#x",
        "https://h:0/", "https://h:65536/", "https://h:99999/", "https://h:/",
        "https://h:443x/", "https://h:+443/", "https://h:123456/", "https://h: 443/",
        "https://h/a b",                     /* control chars and spaces */
        "https://h/a\r\nX-Evil: 1", "https://h/\t", "https://h\x01/", "https://h/\x7f",
        "https://h/\x80",
        "https://h/%4", "https://h/%zz", "https://h/a%",  /* bad pct-encoding */
        "https://h/../etc", "https://h/a/./b", "https://h/a/..", /* dot segments */
        "https://h_x/", "https://-h/", "https://h-/", "https://a..b/", "https://.h/",
        "https://h./",
        "https://[::1/", "https://[::1]x/", "https://[zz::1]/", "https://[]/", "https://[1]/",
        "https://h\\x/", "https://h/a\\b", "https://h/a\"b", "https://h/<x>", "https://h/{x}",
        "https://h/a|b", "https://h/a^b", "https://h/`x`",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ward_url_t u;
        if (ward_url_parse(&u, bad[i]) != WARD_ERR_OTA_URL) {
            fail_msg("accepted: \"%s\"", bad[i]);
        }
    }
    assert_int_equal(ward_url_parse(NULL, "https://h/"), WARD_ERR_INVALID_ARG);
    ward_url_t u;
    assert_int_equal(ward_url_parse(&u, NULL), WARD_ERR_OTA_URL);
}

static void test_url_bounds(void **state)
{
    (void)state;
    char text[WARD_CONFIG_URL_HOST_MAX + WARD_CONFIG_URL_PATH_MAX + 64];
    ward_url_t u;
    /* A host of exactly the maximum (labels of 63), then one more byte. */
    char host[WARD_CONFIG_URL_HOST_MAX + 2];
    size_t n = 0;
    while (n < WARD_CONFIG_URL_HOST_MAX) {
        host[n] = (n % 64u == 63u) ? '.' : 'a';
        n++;
    }
    host[n] = '\0';
    snprintf(text, sizeof text, "https://%s/", host);
    assert_int_equal(ward_url_parse(&u, text), WARD_OK);
    assert_int_equal(strlen(u.host), WARD_CONFIG_URL_HOST_MAX);
    snprintf(text, sizeof text, "https://%sa/", host);
    assert_int_equal(ward_url_parse(&u, text), WARD_ERR_OTA_URL);
    /* A label of 64 bytes. */
    memset(host, 'b', 64);
    host[64] = '\0';
    snprintf(text, sizeof text, "https://%s/", host);
    assert_int_equal(ward_url_parse(&u, text), WARD_ERR_OTA_URL);
    host[63] = '\0';
    snprintf(text, sizeof text, "https://%s/", host);
    assert_int_equal(ward_url_parse(&u, text), WARD_OK);
    /* A path of exactly the maximum, then one more byte. */
    char path[WARD_CONFIG_URL_PATH_MAX + 2];
    path[0] = '/';
    memset(path + 1, 'p', WARD_CONFIG_URL_PATH_MAX - 1u);
    path[WARD_CONFIG_URL_PATH_MAX] = '\0';
    snprintf(text, sizeof text, "https://h%s", path);
    assert_int_equal(ward_url_parse(&u, text), WARD_OK);
    assert_int_equal(strlen(u.path), WARD_CONFIG_URL_PATH_MAX);
    snprintf(text, sizeof text, "https://h%sp", path);
    assert_int_equal(ward_url_parse(&u, text), WARD_ERR_OTA_URL);
}

static void test_request_bytes(void **state)
{
    (void)state;
    char out[512];
    size_t len = 99;
    assert_int_equal(ward_http_get_request(out, sizeof out, &len, "localhost", 443, "/a/b.bin", 0,
                                           false),
                     WARD_OK);
    static const char want0[] = "GET /a/b.bin HTTP/1.1\r\nHost: localhost\r\n"
                                "User-Agent: ward/" WARD_VERSION_STRING "\r\n"
                                "Accept-Encoding: identity\r\nConnection: close\r\n\r\n";
    assert_int_equal(len, sizeof want0 - 1u);
    assert_memory_equal(out, want0, len);

    assert_int_equal(ward_http_get_request(out, sizeof out, &len, "::1", 8443, "/x", 18446744073709551615u,
                                           true),
                     WARD_OK);
    static const char want1[] = "GET /x HTTP/1.1\r\nHost: [::1]:8443\r\n"
                                "User-Agent: ward/" WARD_VERSION_STRING "\r\n"
                                "Accept-Encoding: identity\r\n"
                                "Range: bytes=18446744073709551615-\r\n"
                                "Connection: keep-alive\r\n\r\n";
    assert_int_equal(len, sizeof want1 - 1u);
    assert_memory_equal(out, want1, len);

    /* Every capacity below the length: BUF_TOO_SMALL, *len = 0. */
    for (size_t cap = 0; cap < sizeof want1 - 1u; cap++) {
        len = 7;
        assert_int_equal(ward_http_get_request(out, cap, &len, "::1", 8443, "/x",
                                               18446744073709551615u, true),
                         WARD_ERR_BUF_TOO_SMALL);
        assert_int_equal(len, 0);
    }
    assert_int_equal(ward_http_get_request(out, sizeof want1 - 1u, &len, "::1", 8443, "/x",
                                           18446744073709551615u, true),
                     WARD_OK);

    /* Bytes that do not belong in a request line or a Host header. */
    static const char *const bad_paths[] = {"x", "", "/a b", "/a\r\nX: y", "/a?q", "/a#f",
                                            "/../x", "/a\x01", "/%g0"};
    for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
        assert_int_equal(ward_http_get_request(out, sizeof out, &len, "h", 443, bad_paths[i], 0,
                                               false),
                         WARD_ERR_INVALID_ARG);
    }
    static const char *const bad_hosts[] = {"", "h\r\nX: y", "a b", "h/x", "h:1", "[::1]"};
    for (size_t i = 0; i < sizeof bad_hosts / sizeof bad_hosts[0]; i++) {
        assert_int_equal(ward_http_get_request(out, sizeof out, &len, bad_hosts[i], 443, "/", 0,
                                               false),
                         WARD_ERR_INVALID_ARG);
    }
    assert_int_equal(ward_http_get_request(out, sizeof out, &len, "h", 0, "/", 0, false),
                     WARD_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_accepts),
        cmocka_unit_test(test_url_refuses),
        cmocka_unit_test(test_url_bounds),
        cmocka_unit_test(test_request_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
