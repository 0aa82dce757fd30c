/*
 * Assertions shared by the vault tests. Include after <cmocka.h>.
 */
#ifndef WARD_TESTS_VAULT_ASSERT_H
#define WARD_TESTS_VAULT_ASSERT_H

#include "vault_test.h"

/* name reads back as exactly want[0..len). */
static inline void tv_expect_value(ward_vault_t *v, const char *name, const void *want, size_t len)
{
    static uint8_t buf[WARD_VAULT_VALUE_MAX];
    size_t n = 12345;
    assert_int_equal(ward_vault_get(v, buf, sizeof buf, &n, name), WARD_OK);
    assert_int_equal(n, len);
    if (len > 0) {
        assert_memory_equal(buf, want, len);
    }
}

#endif /* WARD_TESTS_VAULT_ASSERT_H */
