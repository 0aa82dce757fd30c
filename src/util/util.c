/* ward utilities: wiping, constant-time comparison, CRC-32. */
#include "ward/util.h"

void ward_wipe(void *p, size_t n)
{
    /* Volatile stores cannot be removed as dead by the optimiser. */
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n > 0u) {
        *v++ = 0u;
        n--;
    }
}

bool ward_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = (const volatile uint8_t *)a;
    const volatile uint8_t *y = (const volatile uint8_t *)b;
    uint8_t diff = 0u;
    for (size_t i = 0; i < n; i++) {
        diff |= (uint8_t)(x[i] ^ y[i]);
    }
    return diff == 0u;
}

bool ward_ct_all(const void *p, uint8_t v, size_t n)
{
    const volatile uint8_t *x = (const volatile uint8_t *)p;
    uint8_t diff = 0u;
    for (size_t i = 0; i < n; i++) {
        diff |= (uint8_t)(x[i] ^ v);
    }
    return diff == 0u;
}

uint32_t ward_crc32(uint32_t crc, const void *buf, size_t len)
{
    /* Bitwise, no table: a few hundred bytes of flash matter more than
     * speed for the small records it protects. */
    const uint8_t *p = (const uint8_t *)buf;
    crc = ~crc;
    while (len-- > 0u) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}
