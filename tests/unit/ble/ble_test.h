/* Helpers shared by the BLE security tests. */
#ifndef WARD_TESTS_BLE_TEST_H
#define WARD_TESTS_BLE_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/ble_crypto.h"
#include "ward/crypto.h"
#include "ward/util.h"

/* Parse hex (spaces allowed) into out; returns the byte count, or -1. */
static inline int bt_hex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p != '\0'; p++) {
        int v;
        if (*p >= '0' && *p <= '9') {
            v = *p - '0';
        } else if (*p >= 'a' && *p <= 'f') {
            v = *p - 'a' + 10;
        } else if (*p >= 'A' && *p <= 'F') {
            v = *p - 'A' + 10;
        } else if (*p == ' ' || *p == ':' || *p == '\n') {
            continue;
        } else {
            return -1;
        }
        if (hi < 0) {
            hi = v;
        } else {
            if (n == cap) {
                return -1;
            }
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? (int)n : -1;
}

/* Parse a value printed most significant octet first (as the spec prints
 * it) into the wire form (LSB first). */
static inline int bt_msb(uint8_t *out, size_t n, const char *hex)
{
    uint8_t tmp[128];
    int got = bt_hex(tmp, sizeof tmp, hex);
    if (got != (int)n) {
        return -1;
    }
    ward_ble_swap(out, tmp, n);
    return got;
}

/*
 * A scripted rng: returns the queued byte strings in order (each fill call
 * takes the next one and must ask for exactly its length), then falls back
 * to a deterministic stream (SHA-256 of seed || counter).
 */
typedef struct {
    ward_rng_t port;
    const uint8_t *script[32];
    size_t script_len[32];
    size_t nscript, next;
    uint8_t seed[8];
    uint64_t counter;
    uint64_t fills;
} bt_rng_t;

static inline ward_err_t bt_rng_fill(void *ctx, void *buf, size_t len)
{
    bt_rng_t *r = ctx;
    r->fills++;
    if (r->next < r->nscript) {
        if (r->script_len[r->next] != len) {
            return WARD_ERR_INVALID_ARG;
        }
        memcpy(buf, r->script[r->next], len);
        r->next++;
        return WARD_OK;
    }
    uint8_t *out = buf;
    while (len > 0) {
        uint8_t in[16];
        uint8_t h[32];
        memcpy(in, r->seed, 8);
        ward_store_le64(in + 8, r->counter++);
        if (ward_sha256(h, in, sizeof in) != WARD_OK) {
            return WARD_ERR_CRYPTO;
        }
        size_t n = len < sizeof h ? len : sizeof h;
        memcpy(out, h, n);
        out += n;
        len -= n;
    }
    return WARD_OK;
}

static inline void bt_rng_init(bt_rng_t *r, const char *seed)
{
    memset(r, 0, sizeof *r);
    r->port.ctx = r;
    r->port.fill = bt_rng_fill;
    size_t n = strlen(seed);
    memcpy(r->seed, seed, n < sizeof r->seed ? n : sizeof r->seed);
}

static inline void bt_rng_push(bt_rng_t *r, const uint8_t *bytes, size_t len)
{
    if (r->nscript < 32) {
        r->script[r->nscript] = bytes;
        r->script_len[r->nscript] = len;
        r->nscript++;
    }
}

/* Print bytes as hex into s (2n+1 chars). */
static inline void bt_tohex(char *s, const uint8_t *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = d[b[i] >> 4];
        s[2 * i + 1] = d[b[i] & 15];
    }
    s[2 * n] = '\0';
}

#endif
