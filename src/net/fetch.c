/*
 * ward net: ward_fetch_t over HTTPS. Each get() is one TLS connection: the
 * request, the response fed to the HTTP engine as it arrives, close. No
 * connection is reused, so a get() never sees bytes meant for another.
 */
#include <string.h>

#include "net_priv.h"
#include "ward/net.h"
#include "ward/util.h"

typedef struct fetch_call {
    const ward_http_resp_t *resp;
    uint64_t *total;
    bool total_set;
    ward_fetch_sink_fn sink;
    void *sink_ctx;
} fetch_call_t;

/* The whole resource's size, as far as the response said it. */
static uint64_t total_of(const ward_http_resp_info_t *i)
{
    return i->status == 206u ? i->range_total : i->content_length;
}

static ward_err_t call_sink(void *ctx, const uint8_t *data, size_t len)
{
    fetch_call_t *c = ctx;
    if (!c->total_set) {
        *c->total = total_of(&c->resp->info);
        c->total_set = true;
    }
    return c->sink(c->sink_ctx, data, len);
}

/* base path + '/' + rel into out; WARD_ERR_OTA_URL if rel is not a clean
 * relative path or the whole does not fit. */
static ward_err_t join_path(char *out, size_t cap, const char *base, const char *rel)
{
    const size_t bl = strlen(base);
    const size_t rl = strlen(rel);
    const size_t keep = (bl == 1u) ? 0u : bl; /* base "/" adds nothing */
    if (rl == 0u || rl > WARD_CONFIG_URL_PATH_MAX || !ward_net_path_ok(rel, rl, false) ||
        keep + 1u + rl + 1u > cap) {
        return WARD_ERR_OTA_URL;
    }
    memcpy(out, base, keep);
    out[keep] = '/';
    memcpy(out + keep + 1u, rel, rl);
    out[keep + 1u + rl] = '\0';
    return WARD_OK;
}

static ward_err_t https_get(void *ctx, const char *path, uint64_t from, uint64_t max,
                            uint64_t *total, ward_fetch_sink_fn sink, void *sink_ctx)
{
    ward_https_fetch_t *f = ctx;
    uint64_t dummy_total;
    if (total == NULL) {
        total = &dummy_total;
    }
    *total = UINT64_MAX;
    if (f == NULL || path == NULL || sink == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    /* The full path goes into buf, then the request is built after it. */
    char full[WARD_CONFIG_URL_PATH_MAX * 2u + 2u];
    ward_err_t err = join_path(full, sizeof full, f->base.path, path);
    size_t req_len = 0;
    if (err == WARD_OK) {
        err = ward_http_get_request((char *)f->buf, sizeof f->buf, &req_len, f->base.host,
                                    f->base.port, full, from, false);
        if (err == WARD_ERR_BUF_TOO_SMALL || err == WARD_ERR_INVALID_ARG) {
            err = WARD_ERR_OTA_URL;
        }
    }
    if (err != WARD_OK) {
        return err;
    }
    err = ward_tls_connect(&f->tls, f->tls_cfg, f->net, f->base.host, f->base.port);
    if (err != WARD_OK) {
        ward_wipe(f->buf, sizeof f->buf);
        return err;
    }
    err = ward_tls_write(&f->tls, f->buf, req_len);

    fetch_call_t call = {
        .resp = &f->resp, .total = total, .total_set = false, .sink = sink, .sink_ctx = sink_ctx};
    ward_http_resp_init(&f->resp, from, max, call_sink, &call);
    while (err == WARD_OK && !f->resp.info.complete) {
        size_t got = 0;
        err = ward_tls_read(&f->tls, f->buf, sizeof f->buf, &got);
        if (err == WARD_OK) {
            err = got == 0u ? ward_http_resp_eof(&f->resp) : ward_http_resp_feed(&f->resp, f->buf, got);
        }
    }
    if (err == WARD_OK && !call.total_set) {
        *total = total_of(&f->resp.info); /* an empty body */
    }
    ward_tls_close(&f->tls);
    ward_wipe(f->buf, sizeof f->buf);
    return err;
}

ward_err_t ward_https_fetch_init(ward_https_fetch_t *f, const char *base_url,
                                 const ward_tls_config_t *tls_cfg, const ward_net_t *net)
{
    if (f == NULL || tls_cfg == NULL || net == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(f, 0, sizeof *f);
    ward_err_t err = ward_url_parse(&f->base, base_url);
    if (err != WARD_OK) {
        return err;
    }
    f->tls_cfg = tls_cfg;
    f->net = net;
    f->fetch.ctx = f;
    f->fetch.get = https_get;
    return WARD_OK;
}
