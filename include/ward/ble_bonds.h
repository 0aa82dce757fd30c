/*
 * ward BLE: bonds, kept in the encrypted vault (ward/vault.h).
 *
 * One vault record per bonded peer, named "ble.bond." followed by the
 * identity address type and the address in hex, most significant octet
 * first as people print addresses:
 *
 *   ble.bond.00c1cf2d7013a7    public  C1:CF:2D:70:13:A7
 *   ble.bond.01f1cf2d7013a7    random static F1:CF:2D:70:13:A7
 *
 * The value (43 bytes, docs/ble.md "Bonds") holds the LTK, the peer's
 * identity address and IRK and the flags the access policy needs. Zephyr
 * and NimBLE keep these keys in plain flash; here they are AEAD-encrypted
 * under a key the HSM derives, like every vault record.
 *
 * Rules: a bond is never replaced by a weaker one (an unauthenticated
 * pairing cannot overwrite an authenticated bond; nor a non-SC one an SC
 * one, nor a shorter key a longer one); an all-zero LTK is never stored or
 * handed out; the LTK is given to the controller only for EDIV 0 and
 * Rand 0 (LE Secure Connections keys have no EDIV/Rand).
 */
#ifndef WARD_BLE_BONDS_H
#define WARD_BLE_BONDS_H

#include "ward/ble_addr.h"
#include "ward/smp.h"
#include "ward/vault.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_BLE_BOND_PREFIX "ble.bond."
#define WARD_BLE_BOND_NAME_LEN 23u /* "ble.bond." + 2 + 12 hex digits */
#define WARD_BLE_BOND_RECORD_LEN 43u
#define WARD_BLE_BOND_VERSION 1u

typedef struct ward_ble_bond {
    ward_ble_addr_t id; /* identity address (or the connection's if none was given) */
    uint8_t ltk[16];    /* LSB first */
    uint8_t irk[16];    /* LSB first; meaningful if has_irk */
    bool has_irk;
    bool authenticated; /* MITM-protected pairing (NC, Passkey, OOB) */
    bool sc;            /* LE Secure Connections */
    uint8_t key_size;   /* 7..16; ward's SMP only makes 16 */
    uint8_t method;     /* ward_smp_method_t that made it */
} ward_ble_bond_t;

/* The bond a completed pairing gives (WARD_SMP_EV_PAIRED's keys). */
void ward_ble_bond_from_keys(ward_ble_bond_t *b, const ward_smp_keys_t *k);

/* The record name of an identity address ("ble.bond.00c1cf2d7013a7"). */
void ward_ble_bond_name(char name[WARD_BLE_BOND_NAME_LEN + 1], const ward_ble_addr_t *id);

/*
 * Store a bond. WARD_OK; WARD_ERR_BLE_WEAKER_BOND (a stronger bond of this
 * identity is kept); WARD_ERR_INVALID_ARG (all-zero LTK, key size outside
 * 7..16, address type not 0/1); vault errors (WARD_ERR_NO_SPACE, ...).
 */
ward_err_t ward_ble_bond_store(ward_vault_t *v, const ward_ble_bond_t *b);

/* The bond of identity address id. WARD_OK, WARD_ERR_NOT_FOUND,
 * WARD_ERR_CORRUPT (record of an unknown version or size), vault errors.
 * b is wiped on failure. */
ward_err_t ward_ble_bond_load(ward_vault_t *v, const ward_ble_addr_t *id, ward_ble_bond_t *b);

/*
 * The bond of the device at addr: its identity address, or a resolvable
 * private address that one of the stored IRKs resolves (ah, 2.2.2). Same
 * returns as load.
 */
ward_err_t ward_ble_bond_find(ward_vault_t *v, const ward_ble_addr_t *addr, ward_ble_bond_t *b);

/*
 * The controller's LE Long Term Key Request for a reconnecting peer at
 * addr: WARD_OK with the bond's LTK (and *info, if not NULL) only if a bond
 * exists, EDIV is 0 and Rand is all zero (an SC key); otherwise
 * WARD_ERR_NOT_FOUND, and the link layer sends the negative reply.
 */
ward_err_t ward_ble_bond_ltk_request(ward_vault_t *v, const ward_ble_addr_t *addr, uint16_t ediv,
                                     const uint8_t rand[8], uint8_t ltk[16],
                                     ward_ble_bond_t *info);

/* Remove one bond. WARD_OK, WARD_ERR_NOT_FOUND, vault errors. */
ward_err_t ward_ble_bond_remove(ward_vault_t *v, const ward_ble_addr_t *id);

/* Remove every bond (factory wipe of the BLE side; ward_vault_wipe erases
 * everything). *removed (may be NULL) = how many. */
ward_err_t ward_ble_bond_remove_all(ward_vault_t *v, uint32_t *removed);

/* How many bonds are stored. */
ward_err_t ward_ble_bond_count(ward_vault_t *v, uint32_t *count);

/* true iff `next` would replace `old` with something weaker. */
bool ward_ble_bond_weaker(const ward_ble_bond_t *next, const ward_ble_bond_t *old);

/* Encode / decode the 43-byte record (docs/ble.md). decode: WARD_OK or
 * WARD_ERR_CORRUPT. */
void ward_ble_bond_encode(uint8_t out[WARD_BLE_BOND_RECORD_LEN], const ward_ble_bond_t *b);
ward_err_t ward_ble_bond_decode(ward_ble_bond_t *b, const uint8_t *rec, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WARD_BLE_BONDS_H */
