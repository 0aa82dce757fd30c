/*
 * ward BLE: device addresses, as SMP, HCI and the bonds use them.
 *
 * Bytes are kept as they travel on the air and over HCI: least significant
 * octet first. The address printed as C1:CF:2D:70:13:A7 is stored
 * {0xA7, 0x13, 0x70, 0x2D, 0xCF, 0xC1}.
 */
#ifndef WARD_BLE_ADDR_H
#define WARD_BLE_ADDR_H

#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_BLE_ADDR_PUBLIC 0u /* public device address (IEEE) */
#define WARD_BLE_ADDR_RANDOM 1u /* random: static, resolvable or non-resolvable */

typedef struct ward_ble_addr {
    uint8_t type;  /* WARD_BLE_ADDR_PUBLIC or WARD_BLE_ADDR_RANDOM */
    uint8_t a[6];  /* LSB first; a[5] holds the two sub-type bits of a random address */
} ward_ble_addr_t;

/* A random address whose top two bits are 01: a resolvable private address. */
static inline bool ward_ble_addr_is_rpa(const ward_ble_addr_t *addr)
{
    return addr->type == WARD_BLE_ADDR_RANDOM && (addr->a[5] >> 6) == 1u;
}

/* An address that can name a device for ever: public, or random static
 * (top two bits 11, the other 46 bits neither all 0 nor all 1). This is
 * what an Identity Address Information PDU must carry. */
bool ward_ble_addr_is_identity(const ward_ble_addr_t *addr);

/* The 7-byte form the SMP toolbox (f5, f6) takes: a[0..5] then the type,
 * i.e. the spec's "type || address" read least significant octet first. */
void ward_ble_addr_smp(uint8_t out[7], const ward_ble_addr_t *addr);

#ifdef __cplusplus
}
#endif

#endif /* WARD_BLE_ADDR_H */
