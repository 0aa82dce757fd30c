/* ward BLE: LE Secure Connections toolbox and P-256 ECDH over PSA (ward/ble_crypto.h). */
#include "ward/ble_crypto.h"

#include <psa/crypto.h>
#include <string.h>

#include "ward/ble_addr.h"
#include "ward/util.h"

/* Vol 3 Part H 2.3.5.6.1, X then Y, least significant octet first. */
const uint8_t ward_ble_debug_pub[WARD_BLE_PUB_LEN] = {
    0xe6, 0x9d, 0x35, 0x0e, 0x48, 0x01, 0x03, 0xcc, 0xdb, 0xfd, 0xf4, 0xac, 0x11,
    0x91, 0xf4, 0xef, 0xb9, 0xa5, 0xf9, 0xe9, 0xa7, 0x83, 0x2c, 0x5e, 0x2c, 0xbe,
    0x97, 0xf2, 0xd2, 0x03, 0xb0, 0x20, 0x8b, 0xd2, 0x89, 0x15, 0xd0, 0x8e, 0x1c,
    0x74, 0x24, 0x30, 0xed, 0x8f, 0xc2, 0x45, 0x63, 0x76, 0x5c, 0x15, 0x52, 0x5a,
    0xbf, 0x9a, 0x32, 0x63, 0x6d, 0xeb, 0x2a, 0x65, 0x49, 0x9c, 0x80, 0xdc};

void ward_ble_swap(uint8_t *dst, const uint8_t *src, size_t n)
{
    /* Both ends of a pair are read before either is written, so dst may
     * equal src. */
    for (size_t i = 0; i < n / 2u; i++) {
        const uint8_t lo = src[i];
        const uint8_t hi = src[n - 1u - i];
        dst[i] = hi;
        dst[n - 1u - i] = lo;
    }
    if ((n & 1u) != 0u) {
        dst[n / 2u] = src[n / 2u];
    }
}

bool ward_ble_addr_is_identity(const ward_ble_addr_t *addr)
{
    if (addr == NULL) {
        return false;
    }
    if (addr->type == WARD_BLE_ADDR_PUBLIC) {
        return true;
    }
    if (addr->type != WARD_BLE_ADDR_RANDOM || (addr->a[5] >> 6) != 3u) {
        return false;
    }
    /* The 46 random bits of a static address are neither all 0 nor all 1. */
    uint8_t t[6];
    memcpy(t, addr->a, 6);
    t[5] &= 0x3fu;
    bool zero = ward_ct_all(t, 0x00u, 6);
    t[5] |= 0xc0u;
    bool ones = ward_ct_all(t, 0xffu, 6);
    return !zero && !ones;
}

void ward_ble_addr_smp(uint8_t out[7], const ward_ble_addr_t *addr)
{
    memcpy(out, addr->a, 6);
    out[6] = addr->type;
}

ward_err_t ward_ble_aes_cmac(uint8_t mac[16], const uint8_t key[16], const uint8_t *msg,
                             size_t len)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t id = PSA_KEY_ID_NULL;
    size_t n = 0;
    ward_err_t err = WARD_ERR_CRYPTO;

    if (mac == NULL || key == NULL || (msg == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    psa_set_key_type(&a, PSA_KEY_TYPE_AES);
    psa_set_key_bits(&a, 128);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_MESSAGE);
    psa_set_key_algorithm(&a, PSA_ALG_CMAC);
    if (psa_import_key(&a, key, 16, &id) == PSA_SUCCESS &&
        psa_mac_compute(id, PSA_ALG_CMAC, msg, len, mac, 16, &n) == PSA_SUCCESS && n == 16u) {
        err = WARD_OK;
    }
    if (id != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(id);
    }
    if (err != WARD_OK) {
        ward_wipe(mac, 16);
    }
    return err;
}

ward_err_t ward_ble_aes_e(uint8_t out[16], const uint8_t key[16], const uint8_t in[16])
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t id = PSA_KEY_ID_NULL;
    size_t n = 0;
    ward_err_t err = WARD_ERR_CRYPTO;

    if (out == NULL || key == NULL || in == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    psa_set_key_type(&a, PSA_KEY_TYPE_AES);
    psa_set_key_bits(&a, 128);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT);
    psa_set_key_algorithm(&a, PSA_ALG_ECB_NO_PADDING);
    if (psa_import_key(&a, key, 16, &id) == PSA_SUCCESS &&
        psa_cipher_encrypt(id, PSA_ALG_ECB_NO_PADDING, in, 16, out, 16, &n) == PSA_SUCCESS &&
        n == 16u) {
        err = WARD_OK;
    }
    if (id != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(id);
    }
    if (err != WARD_OK) {
        ward_wipe(out, 16);
    }
    return err;
}

/* AES-CMAC with key and message given LSB first (the toolbox's convention:
 * the spec's big numbers reversed), result LSB first. */
static ward_err_t cmac_lsb(uint8_t out[16], const uint8_t key_lsb[16], const uint8_t *msg_msb,
                           size_t len)
{
    uint8_t k[16];
    ward_ble_swap(k, key_lsb, 16);
    ward_err_t err = ward_ble_aes_cmac(out, k, msg_msb, len);
    ward_wipe(k, sizeof k);
    if (err == WARD_OK) {
        ward_ble_swap(out, out, 16);
    }
    return err;
}

ward_err_t ward_ble_f4(uint8_t out[16], const uint8_t u[32], const uint8_t v[32],
                       const uint8_t x[16], uint8_t z)
{
    uint8_t m[65];
    if (out == NULL || u == NULL || v == NULL || x == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ble_swap(m, u, 32);
    ward_ble_swap(m + 32, v, 32);
    m[64] = z;
    return cmac_lsb(out, x, m, sizeof m);
}

ward_err_t ward_ble_f5(uint8_t mackey[16], uint8_t ltk[16], const uint8_t w[32],
                       const uint8_t n1[16], const uint8_t n2[16], const uint8_t a1[7],
                       const uint8_t a2[7])
{
    /* SALT = 6C888391 AAF5A538 60370BDB 5A6083BE, as AES sees it. */
    static const uint8_t k_salt[16] = {0x6c, 0x88, 0x83, 0x91, 0xaa, 0xf5, 0xa5, 0x38,
                                       0x60, 0x37, 0x0b, 0xdb, 0x5a, 0x60, 0x83, 0xbe};
    uint8_t t[16];
    uint8_t m[53];
    ward_err_t err;

    if (mackey == NULL || ltk == NULL || w == NULL || n1 == NULL || n2 == NULL || a1 == NULL ||
        a2 == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ble_swap(m, w, 32); /* scratch: W big-endian */
    err = ward_ble_aes_cmac(t, k_salt, m, 32);
    /* Counter || keyID "btle" || N1 || N2 || A1 || A2 || Length 256 */
    m[0] = 0;
    m[1] = 0x62;
    m[2] = 0x74;
    m[3] = 0x6c;
    m[4] = 0x65;
    ward_ble_swap(m + 5, n1, 16);
    ward_ble_swap(m + 21, n2, 16);
    ward_ble_swap(m + 37, a1, 7);
    ward_ble_swap(m + 44, a2, 7);
    m[51] = 0x01;
    m[52] = 0x00;
    if (err == WARD_OK) {
        err = ward_ble_aes_cmac(mackey, t, m, sizeof m);
    }
    m[0] = 1;
    if (err == WARD_OK) {
        err = ward_ble_aes_cmac(ltk, t, m, sizeof m);
    }
    if (err == WARD_OK) {
        ward_ble_swap(mackey, mackey, 16);
        ward_ble_swap(ltk, ltk, 16);
    } else {
        ward_wipe(mackey, 16);
        ward_wipe(ltk, 16);
    }
    ward_wipe(t, sizeof t);
    ward_wipe(m, sizeof m);
    return err;
}

ward_err_t ward_ble_f6(uint8_t out[16], const uint8_t w[16], const uint8_t n1[16],
                       const uint8_t n2[16], const uint8_t r[16], const uint8_t iocap[3],
                       const uint8_t a1[7], const uint8_t a2[7])
{
    uint8_t m[65];
    if (out == NULL || w == NULL || n1 == NULL || n2 == NULL || r == NULL || iocap == NULL ||
        a1 == NULL || a2 == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ble_swap(m, n1, 16);
    ward_ble_swap(m + 16, n2, 16);
    ward_ble_swap(m + 32, r, 16);
    ward_ble_swap(m + 48, iocap, 3);
    ward_ble_swap(m + 51, a1, 7);
    ward_ble_swap(m + 58, a2, 7);
    ward_err_t err = cmac_lsb(out, w, m, sizeof m);
    ward_wipe(m, sizeof m); /* holds r: the passkey in Passkey Entry */
    return err;
}

ward_err_t ward_ble_g2(uint32_t *value, const uint8_t u[32], const uint8_t v[32],
                       const uint8_t x[16], const uint8_t y[16])
{
    uint8_t m[80];
    uint8_t k[16];
    uint8_t mac[16];
    if (value == NULL || u == NULL || v == NULL || x == NULL || y == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *value = 0;
    ward_ble_swap(m, u, 32);
    ward_ble_swap(m + 32, v, 32);
    ward_ble_swap(m + 64, y, 16);
    ward_ble_swap(k, x, 16);
    ward_err_t err = ward_ble_aes_cmac(mac, k, m, sizeof m);
    if (err == WARD_OK) {
        *value = ward_load_be32(mac + 12);
    }
    ward_wipe(k, sizeof k);
    ward_wipe(mac, sizeof mac);
    return err;
}

ward_err_t ward_ble_h6(uint8_t out[16], const uint8_t w[16], const uint8_t key_id[4])
{
    uint8_t m[4];
    if (out == NULL || w == NULL || key_id == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ble_swap(m, key_id, 4);
    return cmac_lsb(out, w, m, sizeof m);
}

ward_err_t ward_ble_h7(uint8_t out[16], const uint8_t salt[16], const uint8_t w[16])
{
    uint8_t m[16];
    if (out == NULL || salt == NULL || w == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ble_swap(m, w, 16);
    ward_err_t err = cmac_lsb(out, salt, m, sizeof m);
    ward_wipe(m, sizeof m);
    return err;
}

ward_err_t ward_ble_ah(uint8_t out[3], const uint8_t irk[16], const uint8_t r[3])
{
    uint8_t k[16];
    uint8_t p[16] = {0};
    uint8_t c[16];
    if (out == NULL || irk == NULL || r == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ble_swap(k, irk, 16);
    p[13] = r[2];
    p[14] = r[1];
    p[15] = r[0];
    ward_err_t err = ward_ble_aes_e(c, k, p);
    if (err == WARD_OK) {
        out[0] = c[15];
        out[1] = c[14];
        out[2] = c[13];
    }
    ward_wipe(k, sizeof k);
    ward_wipe(c, sizeof c);
    return err;
}

bool ward_ble_rpa_matches(const uint8_t irk[16], const uint8_t rpa[6])
{
    uint8_t h[3];
    if (irk == NULL || rpa == NULL || (rpa[5] >> 6) != 1u) {
        return false;
    }
    if (ward_ble_ah(h, irk, rpa + 3) != WARD_OK) {
        return false;
    }
    return ward_ct_equal(h, rpa, 3);
}

void ward_ble_pub_to_sec1(uint8_t sec1[65], const uint8_t wire[WARD_BLE_PUB_LEN])
{
    sec1[0] = 0x04;
    ward_ble_swap(sec1 + 1, wire, 32);
    ward_ble_swap(sec1 + 33, wire + 32, 32);
}

void ward_ble_pub_from_sec1(uint8_t wire[WARD_BLE_PUB_LEN], const uint8_t sec1[65])
{
    ward_ble_swap(wire, sec1 + 1, 32);
    ward_ble_swap(wire + 32, sec1 + 33, 32);
}

bool ward_ble_pub_is_debug(const uint8_t pub[WARD_BLE_PUB_LEN])
{
    /* X alone: (X, p - Y) is the debug key negated, whose private key
     * n - d is just as public. */
    return pub != NULL && ward_ct_equal(pub, ward_ble_debug_pub, 32);
}

ward_err_t ward_ble_p256_generate(ward_ble_p256_t *k, const ward_rng_t *rng)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    uint8_t d[32];
    uint8_t sec1[65];
    ward_err_t err = WARD_ERR_CRYPTO;

    if (k == NULL || rng == NULL || rng->fill == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(k, 0, sizeof *k);
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&a, PSA_ALG_ECDH);
    for (int tries = 0; tries < 8; tries++) {
        psa_key_id_t id = PSA_KEY_ID_NULL;
        size_t n = 0;
        ward_err_t r = rng->fill(rng->ctx, d, sizeof d);
        if (r != WARD_OK) {
            err = r;
            break;
        }
        psa_status_t st = psa_import_key(&a, d, sizeof d, &id);
        if (st == PSA_ERROR_INVALID_ARGUMENT) {
            continue; /* 0 or >= n: draw again */
        }
        if (st != PSA_SUCCESS) {
            break;
        }
        if (psa_export_public_key(id, sec1, sizeof sec1, &n) != PSA_SUCCESS || n != 65u) {
            (void)psa_destroy_key(id);
            break;
        }
        ward_ble_pub_from_sec1(k->pub, sec1);
        if (ward_ble_pub_is_debug(k->pub)) {
            /* The debug private key is public: never pair with it. */
            (void)psa_destroy_key(id);
            continue;
        }
        k->key_id = id;
        err = WARD_OK;
        break;
    }
    ward_wipe(d, sizeof d);
    if (err != WARD_OK) {
        memset(k, 0, sizeof *k);
    }
    return err;
}

void ward_ble_p256_free(ward_ble_p256_t *k)
{
    if (k == NULL) {
        return;
    }
    if (k->key_id != 0u) {
        (void)psa_destroy_key((psa_key_id_t)k->key_id);
    }
    memset(k, 0, sizeof *k);
}

ward_err_t ward_ble_p256_check(const uint8_t peer[WARD_BLE_PUB_LEN])
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t id = PSA_KEY_ID_NULL;
    uint8_t sec1[65];

    if (peer == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_ble_pub_to_sec1(sec1, peer);
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&a, PSA_ALG_ECDH);
    /* Mbed TLS reads the point and runs ecp_check_pubkey on it: X and Y
     * below p and y^2 = x^3 - 3x + b. Anything else is INVALID_ARGUMENT. */
    psa_status_t st = psa_import_key(&a, sec1, sizeof sec1, &id);
    if (id != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(id);
    }
    if (st == PSA_SUCCESS) {
        return WARD_OK;
    }
    return st == PSA_ERROR_INVALID_ARGUMENT ? WARD_ERR_BLE_PEER_KEY : WARD_ERR_CRYPTO;
}

ward_err_t ward_ble_p256_dhkey(uint8_t dhkey[WARD_BLE_DHKEY_LEN], const ward_ble_p256_t *k,
                               const uint8_t peer[WARD_BLE_PUB_LEN])
{
    uint8_t sec1[65];
    uint8_t x[32];
    size_t n = 0;

    if (dhkey == NULL || k == NULL || peer == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(dhkey, 0, WARD_BLE_DHKEY_LEN);
    if (k->key_id == 0u) {
        return WARD_ERR_STATE;
    }
    if (ward_ct_equal(peer, k->pub, 32)) {
        return WARD_ERR_BLE_PEER_KEY; /* our own X reflected (either Y) */
    }
    ward_err_t err = ward_ble_p256_check(peer);
    if (err != WARD_OK) {
        return err;
    }
    ward_ble_pub_to_sec1(sec1, peer);
    /* PSA validates the peer point again inside the key agreement. */
    psa_status_t st =
        psa_raw_key_agreement(PSA_ALG_ECDH, (psa_key_id_t)k->key_id, sec1, sizeof sec1, x,
                              sizeof x, &n);
    if (st == PSA_SUCCESS && n == 32u) {
        ward_ble_swap(dhkey, x, 32);
        err = WARD_OK;
    } else {
        err = st == PSA_ERROR_INVALID_ARGUMENT ? WARD_ERR_BLE_PEER_KEY : WARD_ERR_CRYPTO;
    }
    ward_wipe(x, sizeof x);
    return err;
}
