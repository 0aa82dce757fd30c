/* ward mqtt: UTF-8 and topic checks, device topics, reconnect back-off. */
#include <string.h>

#include "mqtt_priv.h"

/* The code point at s[*i], advancing *i past it; -1 when the bytes there
 * are not well-formed UTF-8. */
static int32_t utf8_next(const uint8_t *s, size_t n, size_t *i)
{
    uint32_t c = s[*i];
    uint32_t min;
    size_t k;
    if (c < 0x80u) {
        (*i)++;
        return (int32_t)c;
    }
    if ((c & 0xE0u) == 0xC0u) {
        k = 1;
        c &= 0x1Fu;
        min = 0x80u;
    } else if ((c & 0xF0u) == 0xE0u) {
        k = 2;
        c &= 0x0Fu;
        min = 0x800u;
    } else if ((c & 0xF8u) == 0xF0u) {
        k = 3;
        c &= 0x07u;
        min = 0x10000u;
    } else {
        return -1; /* a continuation byte first, or 0xF8..0xFF */
    }
    if (n - *i <= k) {
        return -1; /* cut short */
    }
    for (size_t j = 1; j <= k; j++) {
        const uint8_t b = s[*i + j];
        if ((b & 0xC0u) != 0x80u) {
            return -1;
        }
        c = (c << 6) | (b & 0x3Fu);
    }
    if (c < min || c > 0x10FFFFu || (c >= 0xD800u && c <= 0xDFFFu)) {
        return -1; /* overlong, beyond Unicode, or a UTF-16 surrogate */
    }
    *i += k + 1;
    return (int32_t)c;
}

bool ward_mqtt_utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (utf8_next(s, n, &i) <= 0) {
            return false; /* malformed, or U+0000 [MQTT-1.5.3-2] */
        }
    }
    return true;
}

ward_err_t ward_mqtt_topic_check(const char *topic, size_t len, bool filter)
{
    const uint8_t *t = (const uint8_t *)topic;
    if (t == NULL || len == 0 || len > WARD_CONFIG_MQTT_TOPIC_MAX || !ward_mqtt_utf8_ok(t, len)) {
        return WARD_ERR_MQTT_TOPIC;
    }
    /* '+', '#' and '/' are ASCII: never inside a multi-byte sequence. */
    for (size_t i = 0; i < len; i++) {
        if (t[i] != '+' && t[i] != '#') {
            continue;
        }
        const bool whole = (i == 0 || t[i - 1] == '/') && (i + 1 == len || t[i + 1] == '/');
        if (!filter || !whole || (t[i] == '#' && i + 1 != len)) {
            return WARD_ERR_MQTT_TOPIC; /* [MQTT-4.7.1-1..3], [MQTT-3.3.2-2] */
        }
    }
    return WARD_OK;
}

ward_err_t ward_mqtt_device_id_check(const char *id, size_t len)
{
    const uint8_t *s = (const uint8_t *)id;
    if (s == NULL || len == 0 || len > WARD_CONFIG_MQTT_DEVICE_ID_MAX) {
        return WARD_ERR_MQTT_TOPIC;
    }
    size_t i = 0;
    while (i < len) {
        const int32_t c = utf8_next(s, len, &i);
        if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == '/' || c == '+' || c == '#') {
            return WARD_ERR_MQTT_TOPIC;
        }
    }
    return WARD_OK;
}

ward_err_t ward_mqtt_device_topic(char *out, size_t cap, size_t *len, const char *id,
                                  size_t id_len, const char *sub, size_t sub_len)
{
    static const char k_prefix[] = "devices/";
    const size_t plen = sizeof k_prefix - 1u;
    if (len != NULL) {
        *len = 0;
    }
    ward_err_t err = ward_mqtt_device_id_check(id, id_len);
    if (err != WARD_OK) {
        return err;
    }
    /* The prefix is valid and wildcards are checked level by level, so the
     * whole is a valid filter iff the suffix is and the length fits. */
    const size_t n = plen + id_len + 1u + sub_len;
    if (sub_len > WARD_CONFIG_MQTT_TOPIC_MAX || n > WARD_CONFIG_MQTT_TOPIC_MAX) {
        return WARD_ERR_MQTT_TOPIC;
    }
    err = ward_mqtt_topic_check(sub, sub_len, true);
    if (err != WARD_OK) {
        return err;
    }
    if (out == NULL || len == NULL || n >= cap) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    memcpy(out, k_prefix, plen);
    memcpy(out + plen, id, id_len);
    out[plen + id_len] = '/';
    memcpy(out + plen + id_len + 1u, sub, sub_len);
    out[n] = '\0';
    *len = n;
    return WARD_OK;
}

uint32_t ward_mqtt_backoff_ms(uint32_t attempt, uint32_t base_ms, uint32_t cap_ms, uint32_t rnd)
{
    /* Full jitter (M. Brooker, "Exponential Backoff And Jitter", AWS
     * Architecture Blog, 2015): uniform in [0, min(cap, base * 2^attempt)],
     * so clients that failed together spread over the whole window. */
    uint32_t ceil = cap_ms;
    if (attempt < 32u && base_ms <= (cap_ms >> attempt)) {
        ceil = base_ms << attempt;
    }
    return (uint32_t)(((uint64_t)rnd * ((uint64_t)ceil + 1u)) >> 32);
}
