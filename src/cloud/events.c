/*
 * ward cloud: security events as JSON (RFC 8259), one object per message on
 * devices/<id>/events (docs/cloud.md has the fields). Written by hand with
 * bounds: no printf, no allocation.
 */
#include <string.h>

#include "cloud_priv.h"

const char *ward_cloud_event_name(uint32_t type)
{
    static const char *const k_names[] = {
        NULL,           "boot_refused", "boot_reverted",       "update_refused",
        "vault_integrity", "vault_rollback", "tls_failure",    "ble_pairing_failed",
        "ble_lockout",  "identity_rotated", "rotation_refused",
    };
    return type < sizeof k_names / sizeof k_names[0] ? k_names[type] : NULL;
}

typedef struct {
    char *p;
    size_t cap, len;
    bool over;
} jw_t;

static void put(jw_t *w, const char *s, size_t n)
{
    if (w->over || n > w->cap - w->len) {
        w->over = true;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void puts_(jw_t *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_u64(jw_t *w, uint64_t v)
{
    char d[20];
    size_t n = 0;
    do {
        d[sizeof d - 1u - n] = (char)('0' + (int)(v % 10u));
        v /= 10u;
        n++;
    } while (v != 0u);
    put(w, d + sizeof d - n, n);
}

static void put_i64(jw_t *w, int64_t v)
{
    if (v < 0) {
        put(w, "-", 1);
        put_u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(w, (uint64_t)v);
    }
}

/* A JSON string: quotes, backslash and control characters escaped; bytes
 * that are not well-formed UTF-8 become U+FFFD, so the document is always
 * valid JSON whatever the detail held. */
static void put_str(jw_t *w, const char *s, size_t n)
{
    static const char k_hex[] = "0123456789abcdef";
    put(w, "\"", 1);
    for (size_t i = 0; i < n;) {
        const uint8_t c = (uint8_t)s[i];
        if (c == '"' || c == '\\') {
            const char e[2] = {'\\', (char)c};
            put(w, e, 2);
            i++;
        } else if (c < 0x20u || c == 0x7Fu) {
            const char e[6] = {'\\', 'u', '0', '0', k_hex[c >> 4], k_hex[c & 15u]};
            put(w, e, 6);
            i++;
        } else if (c < 0x80u) {
            put(w, s + i, 1);
            i++;
        } else {
            /* The length of a well-formed sequence starting here, 0 if none. */
            size_t k = 0;
            for (size_t m = 2; m <= 4 && i + m <= n && k == 0; m++) {
                if (ward_mqtt_topic_check(s + i, m, false) == WARD_OK) {
                    k = m;
                }
            }
            if (k == 0u) {
                puts_(w, "\xEF\xBF\xBD");
                i++;
            } else {
                put(w, s + i, k);
                i += k;
            }
        }
    }
    put(w, "\"", 1);
}

ward_err_t ward_cloud_event_json(char *out, size_t cap, size_t *len, const ward_cloud_event_t *ev,
                                 uint32_t boot, uint32_t seq, uint32_t dropped)
{
    static const char k_hex[] = "0123456789abcdef";
    if (len != NULL) {
        *len = 0;
    }
    if (out == NULL || len == NULL || ev == NULL || cap == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    const char *name = ward_cloud_event_name(ev->type);
    if (name == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    jw_t w = {out, cap - 1u, 0, false}; /* room for the NUL */
    char b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = k_hex[(boot >> (28 - 4 * i)) & 15u];
    }
    puts_(&w, "{\"v\":1,\"boot\":\"");
    put(&w, b, sizeof b);
    puts_(&w, "\",\"seq\":");
    put_u64(&w, seq);
    puts_(&w, ",\"type\":\"");
    puts_(&w, name);
    puts_(&w, "\",\"code\":");
    put_i64(&w, ev->code);
    puts_(&w, ",\"err\":\"");
    puts_(&w, ward_err_name(ev->code));
    puts_(&w, "\",\"count\":");
    put_u64(&w, ev->count);
    puts_(&w, ",\"uptime_ms\":");
    put_u64(&w, ev->uptime_ms);
    if (ev->time >= 0) {
        puts_(&w, ",\"time\":");
        put_i64(&w, ev->time);
    }
    const size_t dl = ward_cloud_strnlen(ev->detail, sizeof ev->detail);
    if (dl > 0u) {
        puts_(&w, ",\"detail\":");
        put_str(&w, ev->detail, dl);
    }
    if (dropped > 0u) {
        puts_(&w, ",\"dropped\":");
        put_u64(&w, dropped);
    }
    puts_(&w, "}");
    if (w.over) {
        out[0] = '\0';
        return WARD_ERR_BUF_TOO_SMALL;
    }
    out[w.len] = '\0';
    *len = w.len;
    return WARD_OK;
}
