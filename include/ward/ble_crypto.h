/*
 * ward BLE: the LE Secure Connections crypto toolbox (Core Spec Vol 3
 * Part H, 2.2) and P-256 key agreement, over PSA Crypto.
 *
 * Byte order. The spec prints every value most significant octet first and
 * defines the functions on those big numbers; SMP carries them least
 * significant octet first. Every function here takes and returns the wire
 * form (LSB first), so the SMP engine passes PDU bytes straight in; the
 * conversion happens inside, once. The exceptions say so: AES-CMAC and e()
 * are the plain AES functions (RFC 4493, FIPS 197) and use AES's own order.
 *
 *   u, v     32-byte P-256 X coordinates, LSB first (as in a Public Key PDU)
 *   w        DHKey (32 B) for f5, MacKey (16 B) for f6, LSB first
 *   x, y, n  128-bit keys and nonces, LSB first
 *   a1, a2   7 bytes: address LSB first, then its type (ward_ble_addr_smp)
 *   iocap    3 bytes: IOCap, OOB flag, AuthReq (Pairing Request bytes 1..3)
 *
 * Tests: tests/unit/ble/test_ble_crypto.c checks each function against the
 * spec's sample data (Appendix D) in both byte orders, and AES-CMAC
 * against RFC 4493.
 */
#ifndef WARD_BLE_CRYPTO_H
#define WARD_BLE_CRYPTO_H

#include "ward/port.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_BLE_PUB_LEN 64u /* X || Y, each 32 bytes LSB first (SMP Public Key) */
#define WARD_BLE_DHKEY_LEN 32u

/* The spec's P-256 debug public key (Vol 3 Part H 2.3.5.6.1), wire form.
 * ward never generates it and refuses it from a peer. */
extern const uint8_t ward_ble_debug_pub[WARD_BLE_PUB_LEN];

/* Reverse n bytes (src may equal dst). Converts between the spec's printed
 * order and the wire order. */
void ward_ble_swap(uint8_t *dst, const uint8_t *src, size_t n);

/* AES-CMAC (RFC 4493) with a 128-bit key, AES byte order.
 * WARD_OK, WARD_ERR_INVALID_ARG, WARD_ERR_CRYPTO. */
ward_err_t ward_ble_aes_cmac(uint8_t mac[16], const uint8_t key[16], const uint8_t *msg,
                             size_t len);

/* e(key, plain): AES-128 of one block, AES byte order. */
ward_err_t ward_ble_aes_e(uint8_t out[16], const uint8_t key[16], const uint8_t in[16]);

/* f4(U, V, X, Z) = AES-CMAC_X(U || V || Z): confirm values. */
ward_err_t ward_ble_f4(uint8_t out[16], const uint8_t u[32], const uint8_t v[32],
                       const uint8_t x[16], uint8_t z);

/* f5(W, N1, N2, A1, A2): MacKey and LTK from the DHKey. */
ward_err_t ward_ble_f5(uint8_t mackey[16], uint8_t ltk[16], const uint8_t w[32],
                       const uint8_t n1[16], const uint8_t n2[16], const uint8_t a1[7],
                       const uint8_t a2[7]);

/* f6(W, N1, N2, R, IOcap, A1, A2): DHKey check values. */
ward_err_t ward_ble_f6(uint8_t out[16], const uint8_t w[16], const uint8_t n1[16],
                       const uint8_t n2[16], const uint8_t r[16], const uint8_t iocap[3],
                       const uint8_t a1[7], const uint8_t a2[7]);

/* g2(U, V, X, Y) = AES-CMAC_X(U || V || Y) mod 2^32. The number both users
 * compare in Numeric Comparison is *value % 1000000. */
ward_err_t ward_ble_g2(uint32_t *value, const uint8_t u[32], const uint8_t v[32],
                       const uint8_t x[16], const uint8_t y[16]);

/* h6(W, keyID) and h7(SALT, W): cross-transport key derivation. ward's SMP
 * never uses them (no CTKD on a BLE-only device: BLURtooth); they are here
 * for tools and tests. key_id is the 4-byte ID LSB first ("lebr" = 72 62 65 6c). */
ward_err_t ward_ble_h6(uint8_t out[16], const uint8_t w[16], const uint8_t key_id[4]);
ward_err_t ward_ble_h7(uint8_t out[16], const uint8_t salt[16], const uint8_t w[16]);

/* ah(IRK, r) = e(IRK, 0^104 || r) mod 2^24: the hash of a resolvable
 * private address. irk, r and out LSB first (r = address bytes 3..5,
 * out = address bytes 0..2). */
ward_err_t ward_ble_ah(uint8_t out[3], const uint8_t irk[16], const uint8_t r[3]);

/* true iff rpa (a resolvable private address) was made with irk.
 * Compares in constant time. */
bool ward_ble_rpa_matches(const uint8_t irk[16], const uint8_t rpa[6]);

/*
 * An ephemeral P-256 key pair for one pairing. The private key lives in
 * PSA as a volatile key usable only for ECDH; the caller holds its id.
 */
typedef struct ward_ble_p256 {
    uint32_t key_id;               /* PSA key id, 0 when empty */
    uint8_t pub[WARD_BLE_PUB_LEN]; /* wire form */
} ward_ble_p256_t;

/* Generate a key pair from rng (the scalar comes from rng, so a fixed rng
 * gives a fixed key: test transcripts are reproducible). Draws again if
 * the scalar is out of range or the public key is the debug key.
 * WARD_OK, WARD_ERR_INVALID_ARG, WARD_ERR_CRYPTO (PSA failed, or rng gave
 * 8 unusable scalars in a row), or the rng's error. */
ward_err_t ward_ble_p256_generate(ward_ble_p256_t *k, const ward_rng_t *rng);

/* Destroy the private key and forget the pair. Safe on an empty one. */
void ward_ble_p256_free(ward_ble_p256_t *k);

/* Convert between the wire form (X||Y LSB first) and the SEC1 form
 * 0x04||X||Y big-endian that PSA and the HSM port use. */
void ward_ble_pub_to_sec1(uint8_t sec1[65], const uint8_t wire[WARD_BLE_PUB_LEN]);
void ward_ble_pub_from_sec1(uint8_t wire[WARD_BLE_PUB_LEN], const uint8_t sec1[65]);

/* true iff the wire-form key is the spec's debug public key or its
 * negation (same X: its private key n - d is as public as d). */
bool ward_ble_pub_is_debug(const uint8_t pub[WARD_BLE_PUB_LEN]);

/*
 * Validate peer (wire form) as a P-256 public key: both coordinates below
 * p and the point on the curve (PSA's import runs Mbed TLS's
 * ecp_check_pubkey). WARD_OK or WARD_ERR_BLE_PEER_KEY; WARD_ERR_CRYPTO.
 */
ward_err_t ward_ble_p256_check(const uint8_t peer[WARD_BLE_PUB_LEN]);

/*
 * DHKey = X coordinate of d*peer, wire form. The peer key is validated
 * (ward_ble_p256_check) before it is used, and refused if its X equals
 * ours (a reflected key, CVE-2020-26558). dhkey is zeroed on failure.
 * WARD_OK, WARD_ERR_BLE_PEER_KEY, WARD_ERR_STATE (k empty), WARD_ERR_CRYPTO.
 */
ward_err_t ward_ble_p256_dhkey(uint8_t dhkey[WARD_BLE_DHKEY_LEN], const ward_ble_p256_t *k,
                               const uint8_t peer[WARD_BLE_PUB_LEN]);

#ifdef __cplusplus
}
#endif

#endif /* WARD_BLE_CRYPTO_H */
