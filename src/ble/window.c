/* ward BLE: the pairing window (ward/ble_window.h). */
#include "ward/ble_window.h"

#include <string.h>

#include "ward/util.h"

ward_err_t ward_ble_window_init(ward_ble_window_t *w, const ward_ble_window_config_t *cfg)
{
    if (w == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(w, 0, sizeof *w);
    ward_ble_window_config_t c = {0, 0};
    if (cfg != NULL) {
        c = *cfg;
    }
    if (c.open_ms == 0u) {
        c.open_ms = WARD_BLE_WINDOW_DEFAULT_MS;
    }
    if (c.max_failures == 0u) {
        c.max_failures = WARD_BLE_WINDOW_DEFAULT_FAILURES;
    }
    if (c.open_ms < WARD_BLE_WINDOW_MIN_MS || c.open_ms > WARD_BLE_WINDOW_MAX_MS ||
        c.max_failures > WARD_BLE_WINDOW_MAX_FAILURES) {
        return WARD_ERR_INVALID_ARG;
    }
    w->cfg = c;
    w->why = WARD_BLE_WINDOW_NEVER_OPENED;
    return WARD_OK;
}

static void close_as(ward_ble_window_t *w, ward_ble_window_closed_t why)
{
    w->open = false;
    w->why = (uint8_t)why;
    w->deadline_ms = 0;
    w->backoff_until_ms = 0;
}

/* Close the window if its time is up. */
static void expire(ward_ble_window_t *w, uint64_t now_ms)
{
    if (w->open && now_ms >= w->deadline_ms) {
        close_as(w, WARD_BLE_WINDOW_TIMED_OUT);
    }
}

ward_err_t ward_ble_window_open(ward_ble_window_t *w, uint64_t now_ms)
{
    if (w == NULL || w->cfg.open_ms == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    w->open = true;
    w->why = WARD_BLE_WINDOW_IS_OPEN;
    w->failures = 0;
    w->backoff_until_ms = 0;
    w->deadline_ms = now_ms + w->cfg.open_ms;
    return WARD_OK;
}

void ward_ble_window_close(ward_ble_window_t *w)
{
    if (w != NULL && w->open) {
        close_as(w, WARD_BLE_WINDOW_CLOSED_BY_APP);
    }
}

ward_fih_t ward_ble_window_is_open(ward_ble_window_t *w, uint64_t now_ms)
{
    if (w == NULL) {
        return WARD_FIH_FAILURE;
    }
    expire(w, now_ms);
    volatile bool open = w->open;
    if (!open || now_ms >= w->deadline_ms) {
        return WARD_FIH_FAILURE;
    }
    return open ? WARD_FIH_SUCCESS : WARD_FIH_FAILURE;
}

ward_err_t ward_ble_window_may_pair(ward_ble_window_t *w, uint64_t now_ms)
{
    if (w == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (!WARD_FIH_EQ(ward_ble_window_is_open(w, now_ms))) {
        return WARD_ERR_BLE_WINDOW_CLOSED;
    }
    if (now_ms < w->backoff_until_ms) {
        return WARD_ERR_BLE_BACKOFF;
    }
    /* Checked twice: a skipped branch above must not open the door. */
    if (!w->open || now_ms >= w->deadline_ms) {
        return WARD_ERR_BLE_WINDOW_CLOSED;
    }
    return WARD_OK;
}

void ward_ble_window_pairing_failed(ward_ble_window_t *w, uint64_t now_ms)
{
    if (w == NULL) {
        return;
    }
    expire(w, now_ms);
    if (!w->open) {
        return;
    }
    w->failures++;
    if (w->failures >= w->cfg.max_failures) {
        close_as(w, WARD_BLE_WINDOW_FAILURES);
        return;
    }
    uint64_t wait = WARD_BLE_WINDOW_BACKOFF_MAX_MS;
    if (w->failures <= 6u) {
        wait = (uint64_t)WARD_BLE_WINDOW_BACKOFF_BASE_MS << (w->failures - 1u);
        if (wait > WARD_BLE_WINDOW_BACKOFF_MAX_MS) {
            wait = WARD_BLE_WINDOW_BACKOFF_MAX_MS;
        }
    }
    w->backoff_until_ms = now_ms + wait;
}

void ward_ble_window_paired(ward_ble_window_t *w, uint64_t now_ms, bool bonded)
{
    if (w == NULL) {
        return;
    }
    expire(w, now_ms);
    if (bonded) {
        close_as(w, WARD_BLE_WINDOW_BONDED);
        return;
    }
    w->backoff_until_ms = 0;
}

void ward_ble_window_state(ward_ble_window_t *w, uint64_t now_ms, ward_ble_window_state_t *st)
{
    if (w == NULL || st == NULL) {
        return;
    }
    expire(w, now_ms);
    memset(st, 0, sizeof *st);
    st->open = w->open;
    st->why = (ward_ble_window_closed_t)w->why;
    st->failures = w->failures;
    if (w->open) {
        st->remaining_ms = (uint32_t)(w->deadline_ms - now_ms);
        st->backoff_ms =
            now_ms < w->backoff_until_ms ? (uint32_t)(w->backoff_until_ms - now_ms) : 0u;
    }
}
