/* ward BLE: bonds in the vault (ward/ble_bonds.h). */
#include "ward/ble_bonds.h"

#include <string.h>

#include "ward/util.h"

enum { BF_AUTH = 0x01, BF_SC = 0x02, BF_IRK = 0x04 };

_Static_assert(WARD_CONFIG_VAULT_NAME_MAX >= WARD_BLE_BOND_NAME_LEN,
               "vault names too short for bond records");

void ward_ble_bond_from_keys(ward_ble_bond_t *b, const ward_smp_keys_t *k)
{
    memset(b, 0, sizeof *b);
    b->id = k->peer_id;
    memcpy(b->ltk, k->ltk, 16);
    if (k->has_peer_irk) {
        memcpy(b->irk, k->peer_irk, 16);
        b->has_irk = true;
    }
    b->authenticated = k->authenticated;
    b->sc = k->sc;
    b->key_size = k->key_size;
    b->method = k->method;
}

void ward_ble_bond_name(char name[WARD_BLE_BOND_NAME_LEN + 1], const ward_ble_addr_t *id)
{
    static const char hex[] = "0123456789abcdef";
    const size_t p = sizeof WARD_BLE_BOND_PREFIX - 1u;
    memcpy(name, WARD_BLE_BOND_PREFIX, p);
    name[p] = hex[(id->type >> 4) & 15u];
    name[p + 1u] = hex[id->type & 15u];
    for (size_t i = 0; i < 6; i++) {
        const uint8_t o = id->a[5 - i];
        name[p + 2u + 2u * i] = hex[o >> 4];
        name[p + 3u + 2u * i] = hex[o & 15u];
    }
    name[WARD_BLE_BOND_NAME_LEN] = '\0';
}

static bool is_bond_name(const char *name)
{
    return strncmp(name, WARD_BLE_BOND_PREFIX, sizeof WARD_BLE_BOND_PREFIX - 1u) == 0;
}

void ward_ble_bond_encode(uint8_t out[WARD_BLE_BOND_RECORD_LEN], const ward_ble_bond_t *b)
{
    out[0] = WARD_BLE_BOND_VERSION;
    out[1] = (uint8_t)((b->authenticated ? BF_AUTH : 0u) | (b->sc ? BF_SC : 0u) |
                       (b->has_irk ? BF_IRK : 0u));
    out[2] = b->key_size;
    out[3] = b->method;
    out[4] = b->id.type;
    memcpy(out + 5, b->id.a, 6);
    memcpy(out + 11, b->ltk, 16);
    if (b->has_irk) {
        memcpy(out + 27, b->irk, 16);
    } else {
        memset(out + 27, 0, 16);
    }
}

ward_err_t ward_ble_bond_decode(ward_ble_bond_t *b, const uint8_t *rec, size_t len)
{
    if (b == NULL || rec == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(b, 0, sizeof *b);
    if (len != WARD_BLE_BOND_RECORD_LEN || rec[0] != WARD_BLE_BOND_VERSION ||
        (rec[1] & (uint8_t)~(BF_AUTH | BF_SC | BF_IRK)) != 0u || rec[2] < 7u || rec[2] > 16u ||
        rec[4] > WARD_BLE_ADDR_RANDOM || ward_ct_all(rec + 11, 0, 16)) {
        return WARD_ERR_CORRUPT;
    }
    b->authenticated = (rec[1] & BF_AUTH) != 0u;
    b->sc = (rec[1] & BF_SC) != 0u;
    b->has_irk = (rec[1] & BF_IRK) != 0u;
    b->key_size = rec[2];
    b->method = rec[3];
    b->id.type = rec[4];
    memcpy(b->id.a, rec + 5, 6);
    memcpy(b->ltk, rec + 11, 16);
    if (b->has_irk) {
        memcpy(b->irk, rec + 27, 16);
    }
    return WARD_OK;
}

bool ward_ble_bond_weaker(const ward_ble_bond_t *next, const ward_ble_bond_t *old)
{
    return (old->authenticated && !next->authenticated) || (old->sc && !next->sc) ||
           next->key_size < old->key_size;
}

static ward_err_t load_named(ward_vault_t *v, const char *name, ward_ble_bond_t *b)
{
    uint8_t rec[WARD_BLE_BOND_RECORD_LEN + 1];
    size_t n = 0;
    ward_err_t err = ward_vault_get(v, rec, sizeof rec, &n, name);
    if (err == WARD_ERR_BUF_TOO_SMALL) {
        err = WARD_ERR_CORRUPT;
    }
    if (err == WARD_OK) {
        err = ward_ble_bond_decode(b, rec, n);
    }
    ward_wipe(rec, sizeof rec);
    if (err != WARD_OK) {
        ward_wipe(b, sizeof *b);
    }
    return err;
}

ward_err_t ward_ble_bond_store(ward_vault_t *v, const ward_ble_bond_t *b)
{
    char name[WARD_BLE_BOND_NAME_LEN + 1];
    uint8_t rec[WARD_BLE_BOND_RECORD_LEN];
    ward_ble_bond_t old;

    if (v == NULL || b == NULL || b->key_size < 7u || b->key_size > 16u ||
        b->id.type > WARD_BLE_ADDR_RANDOM || ward_ct_all(b->ltk, 0, 16)) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ble_bond_name(name, &b->id);
    ward_err_t err = load_named(v, name, &old);
    if (err == WARD_OK) {
        /* Checked twice: a glitch that skips one test must not let a weak
         * pairing overwrite a strong bond. */
        volatile bool weaker = ward_ble_bond_weaker(b, &old);
        if (weaker || ward_ble_bond_weaker(b, &old)) {
            ward_wipe(&old, sizeof old);
            return WARD_ERR_BLE_WEAKER_BOND;
        }
    } else if (err != WARD_ERR_NOT_FOUND) {
        /* An old bond that does not read back (damaged, tampered, a newer
         * format) is not silently overwritten: remove it first. */
        return err;
    }
    ward_wipe(&old, sizeof old);
    ward_ble_bond_encode(rec, b);
    err = ward_vault_put(v, name, rec, sizeof rec);
    ward_wipe(rec, sizeof rec);
    return err;
}

ward_err_t ward_ble_bond_load(ward_vault_t *v, const ward_ble_addr_t *id, ward_ble_bond_t *b)
{
    char name[WARD_BLE_BOND_NAME_LEN + 1];
    if (v == NULL || id == NULL || b == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ble_bond_name(name, id);
    return load_named(v, name, b);
}

ward_err_t ward_ble_bond_find(ward_vault_t *v, const ward_ble_addr_t *addr, ward_ble_bond_t *b)
{
    if (v == NULL || addr == NULL || b == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = ward_ble_bond_load(v, addr, b);
    if (err != WARD_ERR_NOT_FOUND || !ward_ble_addr_is_rpa(addr)) {
        return err;
    }
    /* A resolvable private address: try every stored IRK. */
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char name[WARD_CONFIG_VAULT_NAME_MAX + 1];
    size_t vlen = 0;
    for (;;) {
        err = ward_vault_next(v, &it, name, &vlen);
        if (err == WARD_ERR_NOT_FOUND) {
            break;
        }
        if (err != WARD_OK || !is_bond_name(name)) {
            continue; /* a damaged record (AUTH) or another module's */
        }
        if (load_named(v, name, b) == WARD_OK && b->has_irk &&
            ward_ble_rpa_matches(b->irk, addr->a)) {
            return WARD_OK;
        }
    }
    ward_wipe(b, sizeof *b);
    return WARD_ERR_NOT_FOUND;
}

ward_err_t ward_ble_bond_ltk_request(ward_vault_t *v, const ward_ble_addr_t *addr, uint16_t ediv,
                                     const uint8_t rand[8], uint8_t ltk[16],
                                     ward_ble_bond_t *info)
{
    ward_ble_bond_t b;
    if (v == NULL || addr == NULL || rand == NULL || ltk == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(ltk, 0, 16);
    /* SC keys have EDIV 0 and Rand 0; anything else asks for a legacy key
     * ward never makes. */
    if (ediv != 0u || !ward_ct_all(rand, 0, 8)) {
        return WARD_ERR_NOT_FOUND;
    }
    ward_err_t err = ward_ble_bond_find(v, addr, &b);
    if (err != WARD_OK) {
        return err == WARD_ERR_INVALID_ARG ? err : WARD_ERR_NOT_FOUND;
    }
    if (ward_ct_all(b.ltk, 0, 16)) {
        ward_wipe(&b, sizeof b);
        return WARD_ERR_NOT_FOUND;
    }
    memcpy(ltk, b.ltk, 16);
    if (info != NULL) {
        *info = b;
    }
    ward_wipe(&b, sizeof b);
    return WARD_OK;
}

ward_err_t ward_ble_bond_remove(ward_vault_t *v, const ward_ble_addr_t *id)
{
    char name[WARD_BLE_BOND_NAME_LEN + 1];
    if (v == NULL || id == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ble_bond_name(name, id);
    return ward_vault_delete(v, name);
}

/* Walk the bond records; delete them if del. */
static ward_err_t walk(ward_vault_t *v, bool del, uint32_t *count)
{
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char name[WARD_CONFIG_VAULT_NAME_MAX + 1];
    size_t vlen = 0;
    uint32_t n = 0;
    if (v == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    for (;;) {
        ward_err_t err = ward_vault_next(v, &it, name, &vlen);
        if (err == WARD_ERR_NOT_FOUND) {
            break;
        }
        if (err == WARD_ERR_AUTH) {
            continue;
        }
        if (err != WARD_OK) {
            return err;
        }
        if (!is_bond_name(name)) {
            continue;
        }
        if (del) {
            err = ward_vault_delete(v, name);
            if (err != WARD_OK) {
                return err;
            }
        }
        n++;
    }
    if (count != NULL) {
        *count = n;
    }
    return WARD_OK;
}

ward_err_t ward_ble_bond_remove_all(ward_vault_t *v, uint32_t *removed)
{
    return walk(v, true, removed);
}

ward_err_t ward_ble_bond_count(ward_vault_t *v, uint32_t *count)
{
    return walk(v, false, count);
}
