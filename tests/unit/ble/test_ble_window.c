/* The pairing window: closed by default, opened by the button for a bounded
 * time, closed by the first bond, by time and by the failure limit, with the
 * documented back-off in between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ward/ble_window.h"
#include "ward/util.h"

static void test_defaults_and_bounds(void **state)
{
    (void)state;
    ward_ble_window_t w;
    ward_ble_window_state_t st;
    assert_int_equal(ward_ble_window_init(&w, NULL), WARD_OK);
    assert_int_equal(w.cfg.open_ms, 180000u);
    assert_int_equal(w.cfg.max_failures, 5u);
    /* Closed by default: no advertising for pairing, no pairing. */
    assert_false(WARD_FIH_EQ(ward_ble_window_is_open(&w, 0)));
    assert_int_equal(ward_ble_window_may_pair(&w, 0), WARD_ERR_BLE_WINDOW_CLOSED);
    ward_ble_window_state(&w, 0, &st);
    assert_false(st.open);
    assert_int_equal(st.why, WARD_BLE_WINDOW_NEVER_OPENED);

    ward_ble_window_config_t c = {59999, 0};
    assert_int_equal(ward_ble_window_init(&w, &c), WARD_ERR_INVALID_ARG);
    c.open_ms = 900001;
    assert_int_equal(ward_ble_window_init(&w, &c), WARD_ERR_INVALID_ARG);
    c.open_ms = 60000;
    assert_int_equal(ward_ble_window_init(&w, &c), WARD_OK);
    c.open_ms = 900000;
    c.max_failures = 21;
    assert_int_equal(ward_ble_window_init(&w, &c), WARD_ERR_INVALID_ARG);
    c.max_failures = 20;
    assert_int_equal(ward_ble_window_init(&w, &c), WARD_OK);
    assert_int_equal(ward_ble_window_init(NULL, NULL), WARD_ERR_INVALID_ARG);
}

static void test_open_and_timeout(void **state)
{
    (void)state;
    ward_ble_window_t w;
    ward_ble_window_state_t st;
    assert_int_equal(ward_ble_window_init(&w, NULL), WARD_OK);
    assert_int_equal(ward_ble_window_open(&w, 10000), WARD_OK);
    assert_true(WARD_FIH_EQ(ward_ble_window_is_open(&w, 10000)));
    assert_int_equal(ward_ble_window_may_pair(&w, 10000), WARD_OK);
    ward_ble_window_state(&w, 70000, &st);
    assert_true(st.open);
    assert_int_equal(st.remaining_ms, 120000u);
    /* The last millisecond, then closed. */
    assert_int_equal(ward_ble_window_may_pair(&w, 10000 + 180000 - 1), WARD_OK);
    assert_int_equal(ward_ble_window_may_pair(&w, 10000 + 180000), WARD_ERR_BLE_WINDOW_CLOSED);
    ward_ble_window_state(&w, 10000 + 180000, &st);
    assert_false(st.open);
    assert_int_equal(st.why, WARD_BLE_WINDOW_TIMED_OUT);
    /* Pressing again while open restarts the time. */
    assert_int_equal(ward_ble_window_open(&w, 300000), WARD_OK);
    assert_int_equal(ward_ble_window_open(&w, 400000), WARD_OK);
    assert_int_equal(ward_ble_window_may_pair(&w, 400000 + 179999), WARD_OK);
    /* The application can close it. */
    ward_ble_window_close(&w);
    assert_int_equal(ward_ble_window_may_pair(&w, 400001), WARD_ERR_BLE_WINDOW_CLOSED);
    ward_ble_window_state(&w, 400001, &st);
    assert_int_equal(st.why, WARD_BLE_WINDOW_CLOSED_BY_APP);
}

static void test_backoff_and_limit(void **state)
{
    (void)state;
    ward_ble_window_config_t c = {900000, 10};
    ward_ble_window_t w;
    ward_ble_window_state_t st;
    assert_int_equal(ward_ble_window_init(&w, &c), WARD_OK);
    assert_int_equal(ward_ble_window_open(&w, 0), WARD_OK);
    /* 2, 4, 8, 16, 32, 60, 60, 60, 60 s, then closed at the 10th. */
    static const uint32_t want[] = {2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000};
    uint64_t t = 0;
    for (uint32_t i = 0; i < 9; i++) {
        ward_ble_window_pairing_failed(&w, t);
        assert_int_equal(ward_ble_window_may_pair(&w, t), WARD_ERR_BLE_BACKOFF);
        ward_ble_window_state(&w, t, &st);
        assert_int_equal(st.failures, i + 1);
        assert_int_equal(st.backoff_ms, want[i]);
        assert_int_equal(ward_ble_window_may_pair(&w, t + want[i] - 1), WARD_ERR_BLE_BACKOFF);
        t += want[i];
        assert_int_equal(ward_ble_window_may_pair(&w, t), WARD_OK);
    }
    ward_ble_window_pairing_failed(&w, t);
    assert_int_equal(ward_ble_window_may_pair(&w, t + 120000), WARD_ERR_BLE_WINDOW_CLOSED);
    ward_ble_window_state(&w, t, &st);
    assert_int_equal(st.why, WARD_BLE_WINDOW_FAILURES);
    /* The button resets the count. */
    assert_int_equal(ward_ble_window_open(&w, t), WARD_OK);
    assert_int_equal(ward_ble_window_may_pair(&w, t), WARD_OK);
    ward_ble_window_state(&w, t, &st);
    assert_int_equal(st.failures, 0);
}

static void test_bond_closes(void **state)
{
    (void)state;
    ward_ble_window_t w;
    ward_ble_window_state_t st;
    assert_int_equal(ward_ble_window_init(&w, NULL), WARD_OK);
    assert_int_equal(ward_ble_window_open(&w, 0), WARD_OK);
    ward_ble_window_pairing_failed(&w, 0);
    /* A pairing without bonding ends the back-off but keeps it open. */
    ward_ble_window_paired(&w, 100, false);
    assert_int_equal(ward_ble_window_may_pair(&w, 100), WARD_OK);
    ward_ble_window_paired(&w, 200, true);
    assert_int_equal(ward_ble_window_may_pair(&w, 200), WARD_ERR_BLE_WINDOW_CLOSED);
    assert_false(WARD_FIH_EQ(ward_ble_window_is_open(&w, 200)));
    ward_ble_window_state(&w, 200, &st);
    assert_int_equal(st.why, WARD_BLE_WINDOW_BONDED);
    /* Failures reported after closing change nothing. */
    ward_ble_window_pairing_failed(&w, 300);
    ward_ble_window_state(&w, 300, &st);
    assert_int_equal(st.failures, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_bounds),
        cmocka_unit_test(test_open_and_timeout),
        cmocka_unit_test(test_backoff_and_limit),
        cmocka_unit_test(test_bond_closes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
