/*
 * ward BLE: the pairing window.
 *
 * A device is pairable only for a while after a person pressed its button
 * (the SIG's advice after BLURtooth; Matter's commissioning window). The
 * window is closed by default; ward_ble_window_open() (the button) opens it
 * for cfg.open_ms; it closes on the first bond, when the time is up, or
 * after cfg.max_failures failed pairings. While it is open, each failed
 * pairing makes the next one wait (SMP's Repeated Attempts, 0x09):
 *
 *   after failure n (1, 2, 3, ...) pairing is refused for
 *   min(WARD_BLE_WINDOW_BACKOFF_BASE_MS << (n - 1), WARD_BLE_WINDOW_BACKOFF_MAX_MS)
 *   = 2 s, 4 s, 8 s, 16 s, 32 s, 60 s, 60 s ...
 *
 * The window is device-wide (one per device, not per link): an attacker
 * who changes address or reconnects still meets the same counter.
 *
 * Bonded peers are not the window's business: they reconnect and encrypt
 * with their stored LTK while it is closed (ward/ble_bonds.h
 * ward_ble_bond_ltk_request); the link layer may advertise for them
 * (e.g. directed or with a filter accept list) at any time, and advertises
 * connectable-for-pairing (general discoverable) only while
 * ward_ble_window_is_open() says so.
 *
 * Time is the caller's monotonic milliseconds (ward_clock_t.now_ms). No
 * I/O, no allocation; the caller owns the struct.
 */
#ifndef WARD_BLE_WINDOW_H
#define WARD_BLE_WINDOW_H

#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_BLE_WINDOW_DEFAULT_MS (3u * 60u * 1000u)  /* 3 min */
#define WARD_BLE_WINDOW_MIN_MS (1u * 60u * 1000u)      /* 1 min */
#define WARD_BLE_WINDOW_MAX_MS (15u * 60u * 1000u)     /* 15 min */
#define WARD_BLE_WINDOW_DEFAULT_FAILURES 5u
#define WARD_BLE_WINDOW_MAX_FAILURES 20u /* Matter's limit */
#define WARD_BLE_WINDOW_BACKOFF_BASE_MS 2000u
#define WARD_BLE_WINDOW_BACKOFF_MAX_MS 60000u

typedef struct ward_ble_window_config {
    uint32_t open_ms;      /* how long a press opens it; 0: default (3 min); 1..15 min */
    uint32_t max_failures; /* failed pairings that close it; 0: default (5); 1..20 */
} ward_ble_window_config_t;

/* Why the window is closed (ward_ble_window_state). */
typedef enum ward_ble_window_closed {
    WARD_BLE_WINDOW_NEVER_OPENED = 0,
    WARD_BLE_WINDOW_IS_OPEN = 1,
    WARD_BLE_WINDOW_TIMED_OUT = 2,
    WARD_BLE_WINDOW_BONDED = 3,   /* closed by the first bond */
    WARD_BLE_WINDOW_FAILURES = 4, /* closed after max_failures failed pairings */
    WARD_BLE_WINDOW_CLOSED_BY_APP = 5
} ward_ble_window_closed_t;

typedef struct ward_ble_window {
    ward_ble_window_config_t cfg;
    bool open;
    uint8_t why; /* ward_ble_window_closed_t */
    uint32_t failures;
    uint64_t deadline_ms; /* open until (exclusive) */
    uint64_t backoff_until_ms;
} ward_ble_window_t;

typedef struct ward_ble_window_state {
    bool open;
    ward_ble_window_closed_t why;
    uint32_t failures;     /* since it was opened */
    uint32_t remaining_ms; /* open: time left */
    uint32_t backoff_ms;   /* open: wait before the next pairing may start */
} ward_ble_window_state_t;

/* Closed window. cfg NULL: defaults. WARD_ERR_INVALID_ARG if out of bounds. */
ward_err_t ward_ble_window_init(ward_ble_window_t *w, const ward_ble_window_config_t *cfg);

/* The button: open for cfg.open_ms from now (again from now if already
 * open), with the failure count and back-off reset. */
ward_err_t ward_ble_window_open(ward_ble_window_t *w, uint64_t now_ms);

/* Close it now (the application: e.g. a long press, a factory reset). */
void ward_ble_window_close(ward_ble_window_t *w);

/* "May I advertise connectable-for-pairing now?" Closes the window when its
 * time is up. A hardened result: WARD_FIH_SUCCESS only while open. */
ward_fih_t ward_ble_window_is_open(ward_ble_window_t *w, uint64_t now_ms);

/* "May this pairing start?" (the SMP responder asks on a Pairing Request).
 * WARD_OK; WARD_ERR_BLE_WINDOW_CLOSED (SMP answers 0x05 Pairing Not
 * Supported); WARD_ERR_BLE_BACKOFF (SMP answers 0x09 Repeated Attempts). */
ward_err_t ward_ble_window_may_pair(ward_ble_window_t *w, uint64_t now_ms);

/* A pairing that was allowed to start failed (any reason, timeout
 * included): count it, start the back-off, close at the limit. */
void ward_ble_window_pairing_failed(ward_ble_window_t *w, uint64_t now_ms);

/* A pairing succeeded. bonded: the keys will be stored, so the window
 * closes (WARD_BLE_WINDOW_BONDED). Either way the back-off ends. */
void ward_ble_window_paired(ward_ble_window_t *w, uint64_t now_ms, bool bonded);

/* Snapshot for an LED, a log or the CLI (also closes on timeout). */
void ward_ble_window_state(ward_ble_window_t *w, uint64_t now_ms, ward_ble_window_state_t *st);

#ifdef __cplusplus
}
#endif

#endif /* WARD_BLE_WINDOW_H */
