/*
 * ward net: the update server's URL. Only "https://host[:port][/path]" is
 * accepted; everything else (http://, other schemes, user info, a query, a
 * fragment, bytes outside RFC 3986's sets, names or paths over their
 * bounds, ports outside 1..65535) is WARD_ERR_OTA_URL, decided before any
 * connection is made.
 */
#include <string.h>

#include "net_priv.h"
#include "ward/net.h"
#include "ward/util.h"

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* ASCII lower case, as a byte (no signed char arithmetic). */
static uint8_t lower(char c)
{
    const uint8_t u = (uint8_t)c;
    return (u >= (uint8_t)'A' && u <= (uint8_t)'Z') ? (uint8_t)(u + 32u) : u;
}

/* RFC 3986 pchar without pct-encoding: unreserved / sub-delims / ":" / "@". */
static bool is_pchar(char c)
{
    return is_alpha(c) || is_digit(c) || strchr("-._~!$&'()*+,;=:@", c) != NULL;
}

bool ward_net_path_ok(const char *p, size_t n, bool allow_leading_slash)
{
    size_t seg_start = 0;
    if (n == 0u) {
        return false;
    }
    if (p[0] == '/' && !allow_leading_slash) {
        return false;
    }
    for (size_t i = 0; i <= n; i++) {
        if (i == n || p[i] == '/') {
            /* Dot segments would let a path step outside the base. */
            size_t sl = i - seg_start;
            if ((sl == 1u && p[seg_start] == '.') ||
                (sl == 2u && p[seg_start] == '.' && p[seg_start + 1u] == '.')) {
                return false;
            }
            seg_start = i + 1u;
            continue;
        }
        if (p[i] == '%') {
            if (i + 2u >= n || !is_hex(p[i + 1u]) || !is_hex(p[i + 2u])) {
                return false;
            }
            i += 2u;
            continue;
        }
        if (!is_pchar(p[i])) {
            return false;
        }
    }
    return true;
}

/* A DNS name (LDH labels of 1..63, no empty label, no trailing dot) or a
 * dotted IPv4 address, which has the same shape. */
static bool host_name_ok(const char *h, size_t n)
{
    size_t label = 0;
    if (n == 0u || n > WARD_CONFIG_URL_HOST_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0u || h[i - 1u] == '-') {
                return false;
            }
            label = 0;
            continue;
        }
        if (!(is_alpha(c) || is_digit(c) || c == '-')) {
            return false;
        }
        if (label == 0u && c == '-') {
            return false;
        }
        if (++label > 63u) {
            return false;
        }
    }
    return label > 0u && h[n - 1u] != '-';
}

/* The inside of "[...]": hex digits, ':' and (for an embedded IPv4) '.'.
 * Only the character set is checked here; the port's resolver parses it. */
static bool host_ipv6_ok(const char *h, size_t n)
{
    size_t colons = 0;
    if (n < 2u || n > 45u) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (h[i] == ':') {
            colons++;
        } else if (!is_hex(h[i]) && h[i] != '.') {
            return false;
        }
    }
    return colons >= 2u;
}

bool ward_net_host_ok(const char *h, size_t n, bool v6)
{
    return v6 ? host_ipv6_ok(h, n) : host_name_ok(h, n);
}

ward_err_t ward_url_parse(ward_url_t *url, const char *text)
{
    static const char scheme[] = "https://";
    if (url == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(url, 0, sizeof *url);
    if (text == NULL) {
        return WARD_ERR_OTA_URL;
    }
    /* The scheme is case-insensitive (RFC 3986 3.1); nothing but https. */
    for (size_t i = 0; i < sizeof scheme - 1u; i++) {
        if (lower(text[i]) != (uint8_t)scheme[i]) {
            return WARD_ERR_OTA_URL;
        }
    }
    const char *p = text + sizeof scheme - 1u;

    /* Authority: up to the first '/' (or the end). '?' and '#' anywhere
     * are refused below as bytes outside the sets. */
    size_t alen = 0;
    while (p[alen] != '\0' && p[alen] != '/') {
        alen++;
    }
    if (memchr(p, '@', alen) != NULL) {
        return WARD_ERR_OTA_URL; /* user info */
    }
    const char *host = p;
    size_t hlen;
    const char *port_s = NULL;
    size_t plen = 0;
    bool v6 = false;
    if (alen > 0u && p[0] == '[') {
        const char *close = memchr(p, ']', alen);
        if (close == NULL) {
            return WARD_ERR_OTA_URL;
        }
        host = p + 1;
        hlen = (size_t)(close - host);
        v6 = true;
        size_t rest = alen - (hlen + 2u);
        if (rest > 0u) {
            if (close[1] != ':') {
                return WARD_ERR_OTA_URL;
            }
            port_s = close + 2;
            plen = rest - 1u;
        }
    } else {
        const char *colon = memchr(p, ':', alen);
        hlen = colon != NULL ? (size_t)(colon - p) : alen;
        if (colon != NULL) {
            port_s = colon + 1;
            plen = alen - hlen - 1u;
        }
    }
    if (!ward_net_host_ok(host, hlen, v6)) {
        return WARD_ERR_OTA_URL;
    }
    url->port = 443;
    if (port_s != NULL) {
        uint32_t port = 0;
        if (plen == 0u || plen > 5u) {
            return WARD_ERR_OTA_URL;
        }
        for (size_t i = 0; i < plen; i++) {
            if (!is_digit(port_s[i])) {
                return WARD_ERR_OTA_URL;
            }
            port = port * 10u + (uint32_t)(port_s[i] - '0');
        }
        if (port == 0u || port > 65535u) {
            return WARD_ERR_OTA_URL;
        }
        url->port = (uint16_t)port;
    }
    memcpy(url->host, host, hlen);
    url->host[hlen] = '\0';

    /* Path: "/" when absent; trailing slashes dropped (it is a base that
     * relative paths are joined to with one '/'). */
    const char *path = p + alen;
    size_t n = strlen(path);
    while (n > 1u && path[n - 1u] == '/') {
        n--;
    }
    if (n <= 1u) {
        url->path[0] = '/';
        url->path[1] = '\0';
        return WARD_OK;
    }
    if (n > WARD_CONFIG_URL_PATH_MAX || !ward_net_path_ok(path, n, true)) {
        memset(url, 0, sizeof *url);
        return WARD_ERR_OTA_URL;
    }
    memcpy(url->path, path, n);
    url->path[n] = '\0';
    return WARD_OK;
}
