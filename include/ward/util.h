/*
 * ward utilities shared by every module: wiping, constant-time comparison,
 * byte-order helpers, CRC-32, hardened checks and OTP field helpers.
 */
#ifndef WARD_UTIL_H
#define WARD_UTIL_H

#include <string.h>

#include "ward/port.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Overwrite n bytes with zeros in a way the compiler cannot drop. */
void ward_wipe(void *p, size_t n);

/* true iff the n bytes at a and b are equal. Time depends on n only. */
bool ward_ct_equal(const void *a, const void *b, size_t n);

/* true iff all n bytes at p equal v. Time depends on n only. */
bool ward_ct_all(const void *p, uint8_t v, size_t n);

/* On a little-endian target a fixed-size memcpy is one (unaligned-safe)
 * load that every compiler inlines; the byte-wise form is the portable
 * definition, and what other targets use. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline uint16_t ward_load_le16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline uint32_t ward_load_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
#else
static inline uint16_t ward_load_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t ward_load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
#endif
static inline uint64_t ward_load_le64(const uint8_t *p)
{
    return (uint64_t)ward_load_le32(p) | ((uint64_t)ward_load_le32(p + 4) << 32);
}
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline void ward_store_le16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}
static inline void ward_store_le32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}
#else
static inline void ward_store_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void ward_store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
#endif
static inline void ward_store_le64(uint8_t *p, uint64_t v)
{
    ward_store_le32(p, (uint32_t)v);
    ward_store_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t ward_load_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t ward_load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
           (uint32_t)p[3];
}
static inline void ward_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void ward_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Round v up to a multiple of a (a power of two). */
static inline uint32_t ward_align_up(uint32_t v, uint32_t a)
{
    return (v + a - 1u) & ~(a - 1u);
}

/* CRC-32 (IEEE 802.3, reflected, as zlib). Start with crc = 0. Used only to
 * detect torn or stale records, never for authenticity. */
uint32_t ward_crc32(uint32_t crc, const void *buf, size_t len);

/*
 * Hardened checks. A security decision is taken only if its ward_fih_t
 * equals WARD_FIH_SUCCESS when read twice through a volatile; a fault that
 * skips one comparison still hits the second.
 *   if (WARD_FIH_EQ(res)) { ...allowed... }
 */
static inline bool ward_fih_eq(ward_fih_t v)
{
    volatile ward_fih_t a = v;
    volatile ward_fih_t b = v;
    if (a != WARD_FIH_SUCCESS) {
        return false;
    }
    /* Second, independent read; also catches b being glitched. */
    return (b ^ WARD_FIH_SUCCESS) == 0u;
}
#define WARD_FIH_EQ(v) ward_fih_eq(v)

/* ---- OTP helpers built on the ward_otp_t port ---------------------------- */

/* Current anti-rollback counter: the number of set bits of WARD_OTP_ROLLBACK. */
ward_err_t ward_otp_rollback_get(const ward_otp_t *otp, uint32_t *value);

/* Raise the counter to at least `value` by burning bits (one way).
 * WARD_OK if already >= value; WARD_ERR_LIMIT if value exceeds the field
 * (WARD_CONFIG_OTP_ROLLBACK_BITS); WARD_ERR_LOCKED if locked. */
ward_err_t ward_otp_rollback_raise(const ward_otp_t *otp, uint32_t value);

/* *enabled = any bit of a flag field (SECURE_BOOT, DEBUG_LOCK) is set. */
ward_err_t ward_otp_flag_get(const ward_otp_t *otp, ward_otp_field_t field, bool *enabled);

/* Burn a flag field (all bits). */
ward_err_t ward_otp_flag_set(const ward_otp_t *otp, ward_otp_field_t field);

#ifdef __cplusplus
}
#endif

#endif /* WARD_UTIL_H */
