/*
 * ward simulator: the HSM. It keeps the device-unique key (HUK), the
 * identity private key and the monotonic counters in its own file, apart
 * from the flash file, as an eFuse block or a secure element would. Through
 * the ward_hsm_t port it only answers operations: derived keys come out as
 * volatile, non-exportable PSA key ids; signatures are computed inside.
 *
 * File: "WARDHSM1" | flags u8 (1: HUK, 2: identity key, 4: next identity
 *       key) | HUK[32] | identity private key[32] | counters u32 LE x
 *       WARD_HSM_COUNTERS | next identity private key[32].
 * The last field came with identity rotation; a file without it (written
 * before) is read as having no next key. The file is replaced atomically,
 * so the switch to the next key (id_next_commit) is one atomic write.
 */
#include <psa/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "sim_priv.h"
#include "ward/soft_hsm.h"
#include "ward/util.h"

#define HSM_FILE_LEN_V1 (8u + 1u + 32u + 32u + 4u * WARD_HSM_COUNTERS)
#define HSM_FILE_LEN (HSM_FILE_LEN_V1 + 32u)

static const uint8_t k_magic[8] = {'W', 'A', 'R', 'D', 'H', 'S', 'M', '1'};
_Static_assert(sizeof(((ward_sim_hsm_t *)0)->huk) == WARD_SOFT_HSM_HUK_LEN, "HUK size");

static ward_err_t save(ward_sim_hsm_t *h)
{
    uint8_t buf[HSM_FILE_LEN];
    if (h->path == NULL) {
        return WARD_OK;
    }
    memcpy(buf, k_magic, 8);
    buf[8] = (uint8_t)((h->has_huk ? 1u : 0u) | (h->has_id ? 2u : 0u) | (h->has_next ? 4u : 0u));
    memcpy(buf + 9, h->huk, 32);
    memcpy(buf + 41, h->id_priv, 32);
    for (uint32_t i = 0; i < WARD_HSM_COUNTERS; i++) {
        ward_store_le32(buf + 73 + 4u * i, h->counters[i]);
    }
    memcpy(buf + HSM_FILE_LEN_V1, h->next_priv, 32);
    ward_err_t err = ward_sim_file_write(h->path, buf, sizeof buf);
    ward_wipe(buf, sizeof buf);
    return err;
}

static bool dead(const ward_sim_hsm_t *h)
{
    return h->power != NULL && h->power->dead;
}

static ward_err_t hsm_huk_generate(void *ctx)
{
    ward_sim_hsm_t *h = ctx;
    if (dead(h)) {
        return WARD_ERR_POWER_LOSS;
    }
    if (h->has_huk) {
        return WARD_ERR_EXISTS;
    }
    if (psa_generate_random(h->huk, sizeof h->huk) != PSA_SUCCESS) {
        return WARD_ERR_CRYPTO;
    }
    h->has_huk = true;
    return save(h);
}

static ward_err_t hsm_derive_key(void *ctx, ward_hsm_key_type_t type, const uint8_t *label,
                                 size_t label_len, uint32_t *key_id)
{
    ward_sim_hsm_t *h = ctx;
    if (key_id == NULL || (label == NULL && label_len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    *key_id = 0;
    if (dead(h)) {
        return WARD_ERR_POWER_LOSS;
    }
    if (!h->has_huk) {
        return WARD_ERR_STATE;
    }
    ward_err_t err = ward_soft_hsm_derive(h->huk, type, label, label_len, key_id);
    if (err == WARD_OK) {
        h->derives++;
    }
    return err;
}

static ward_err_t hsm_counter_read(void *ctx, uint32_t idx, uint32_t *value)
{
    ward_sim_hsm_t *h = ctx;
    if (idx >= WARD_HSM_COUNTERS || value == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (dead(h)) {
        return WARD_ERR_POWER_LOSS;
    }
    *value = h->counters[idx];
    return WARD_OK;
}

static ward_err_t hsm_counter_increment(void *ctx, uint32_t idx, uint32_t *value)
{
    ward_sim_hsm_t *h = ctx;
    if (idx >= WARD_HSM_COUNTERS) {
        return WARD_ERR_INVALID_ARG;
    }
    if (dead(h)) {
        return WARD_ERR_POWER_LOSS;
    }
    if (h->counters[idx] >= WARD_HSM_COUNTER_MAX) {
        return WARD_ERR_LIMIT;
    }
    ward_sim_gate_t g = ward_sim_power_gate(h->power);
    if (g == WARD_SIM_DEAD || g == WARD_SIM_CUT) {
        return WARD_ERR_POWER_LOSS;
    }
    /* A torn increment still counts (like an ATECC608A counter, which may
     * skip ahead on power loss but never goes back); the caller just does
     * not learn it. */
    h->counters[idx]++;
    h->increments++;
    ward_err_t err = save(h);
    if (g == WARD_SIM_TORN) {
        return WARD_ERR_POWER_LOSS;
    }
    if (value != NULL) {
        *value = h->counters[idx];
    }
    return err;
}

/* Load the identity key into PSA for one operation (destroyed after). */
static ward_err_t import_id(const ward_sim_hsm_t *h, psa_key_id_t *key)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    if (dead(h)) {
        return WARD_ERR_POWER_LOSS;
    }
    if (!h->has_id) {
        return WARD_ERR_STATE;
    }
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
    psa_status_t st = psa_import_key(&a, h->id_priv, sizeof h->id_priv, key);
    psa_reset_key_attributes(&a);
    return st == PSA_SUCCESS ? WARD_OK : WARD_ERR_CRYPTO;
}

static ward_err_t hsm_id_generate(void *ctx)
{
    ward_sim_hsm_t *h = ctx;
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t key = PSA_KEY_ID_NULL;
    size_t n = 0;
    if (dead(h)) {
        return WARD_ERR_POWER_LOSS;
    }
    if (h->has_id) {
        return WARD_ERR_EXISTS;
    }
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    /* Exportable only so the simulated secure element can keep it in its
     * own file; nothing outside this file ever sees the bytes. */
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_EXPORT);
    ward_err_t err = WARD_ERR_CRYPTO;
    if (psa_generate_key(&a, &key) == PSA_SUCCESS &&
        psa_export_key(key, h->id_priv, sizeof h->id_priv, &n) == PSA_SUCCESS && n == 32u) {
        h->has_id = true;
        err = save(h);
    }
    if (key != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(key);
    }
    psa_reset_key_attributes(&a);
    return err;
}

static ward_err_t hsm_id_public(void *ctx, uint8_t pub[65])
{
    ward_sim_hsm_t *h = ctx;
    psa_key_id_t key = PSA_KEY_ID_NULL;
    size_t n = 0;
    if (pub == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = import_id(h, &key);
    if (err == WARD_OK &&
        (psa_export_public_key(key, pub, 65, &n) != PSA_SUCCESS || n != 65u)) {
        err = WARD_ERR_CRYPTO;
    }
    if (key != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(key);
    }
    return err;
}

static ward_err_t hsm_id_sign_hash(void *ctx, const uint8_t hash[32], uint8_t sig[64])
{
    ward_sim_hsm_t *h = ctx;
    psa_key_id_t key = PSA_KEY_ID_NULL;
    size_t n = 0;
    if (hash == NULL || sig == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = import_id(h, &key);
    if (err == WARD_OK && (psa_sign_hash(key, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, 32, sig, 64,
                                         &n) != PSA_SUCCESS ||
                           n != 64u)) {
        err = WARD_ERR_CRYPTO;
    }
    if (key != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(key);
    }
    return err;
}

static void pair_init(ward_sim_hsm_t *h);
static void pair_close(ward_sim_hsm_t *h);
static ward_err_t hsm_id_key(void *ctx, uint32_t *key_id);
static ward_err_t hsm_id_next_generate(void *ctx);
static ward_err_t hsm_id_next_key(void *ctx, uint32_t *key_id);
static ward_err_t hsm_id_next_commit(void *ctx);
static void drop_psa(ward_sim_hsm_t *h);

ward_err_t ward_sim_hsm_open(ward_sim_hsm_t *h, ward_sim_power_t *power, const char *path,
                             bool create)
{
    uint8_t buf[HSM_FILE_LEN];
    memset(h, 0, sizeof *h);
    h->port = (ward_hsm_t){
        .ctx = h,
        .huk_generate = hsm_huk_generate,
        .derive_key = hsm_derive_key,
        .counter_read = hsm_counter_read,
        .counter_increment = hsm_counter_increment,
        .id_generate = hsm_id_generate,
        .id_public = hsm_id_public,
        .id_sign_hash = hsm_id_sign_hash,
        .id_key = hsm_id_key,
        .id_next_generate = hsm_id_next_generate,
        .id_next_key = hsm_id_next_key,
        .id_next_commit = hsm_id_next_commit,
    };
    h->power = power;
    pair_init(h);
    if (psa_crypto_init() != PSA_SUCCESS) {
        return WARD_ERR_CRYPTO;
    }
    if (path == NULL) {
        return WARD_OK;
    }
    h->path = strdup(path);
    if (h->path == NULL) {
        return WARD_ERR_IO;
    }
    ward_err_t err = ward_sim_file_read(path, buf, sizeof buf);
    if (err == WARD_ERR_CORRUPT) {
        /* A file from before rotation: no next key. */
        memset(buf, 0, sizeof buf);
        err = ward_sim_file_read(path, buf, HSM_FILE_LEN_V1);
        buf[8] &= (uint8_t)~4u;
    }
    if (err == WARD_ERR_NOT_FOUND && create) {
        return save(h);
    }
    if (err == WARD_OK && memcmp(buf, k_magic, 8) != 0) {
        err = WARD_ERR_CORRUPT;
    }
    if (err != WARD_OK) {
        ward_sim_hsm_close(h);
        return err;
    }
    h->has_huk = (buf[8] & 1u) != 0u;
    h->has_id = (buf[8] & 2u) != 0u;
    memcpy(h->huk, buf + 9, 32);
    memcpy(h->id_priv, buf + 41, 32);
    h->has_next = (buf[8] & 4u) != 0u;
    memcpy(h->next_priv, buf + HSM_FILE_LEN_V1, 32);
    for (uint32_t i = 0; i < WARD_HSM_COUNTERS; i++) {
        h->counters[i] = ward_load_le32(buf + 73 + 4u * i);
    }
    ward_wipe(buf, sizeof buf);
    return WARD_OK;
}

void ward_sim_hsm_close(ward_sim_hsm_t *h)
{
    if (h != NULL) {
        drop_psa(h);
        ward_wipe(h->huk, sizeof h->huk);
        ward_wipe(h->id_priv, sizeof h->id_priv);
        pair_close(h);
        ward_wipe(h->next_priv, sizeof h->next_priv);
        free(h->path);
        h->path = NULL;
    }
}

/* ---- BLE OOB pairing key (ward_hsm_t pair_*) ------------------------------ */
/* (Its include is here, not at the top, so this section stays an append.) */
#include <stdio.h>
/* Kept in its own file beside the HSM file, "<path>.pair", so the main
 * file's format is unchanged: "WARDPAR1" | private scalar[32] | r[16]. */

#define PAIR_FILE_LEN (8u + 32u + 16u)
static const uint8_t k_pair_magic[8] = {'W', 'A', 'R', 'D', 'P', 'A', 'R', '1'};

static ward_err_t pair_path(const ward_sim_hsm_t *h, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s.pair", h->path);
    return n > 0 && (size_t)n < cap ? WARD_OK : WARD_ERR_IO;
}

/* Read the pair file once (on first use). */
static ward_err_t pair_load(ward_sim_hsm_t *h)
{
    uint8_t buf[PAIR_FILE_LEN];
    char path[4096];
    if (dead(h)) {
        return WARD_ERR_POWER_LOSS;
    }
    if (h->pair_loaded || h->path == NULL) {
        h->pair_loaded = true;
        return WARD_OK;
    }
    ward_err_t err = pair_path(h, path, sizeof path);
    if (err == WARD_OK) {
        err = ward_sim_file_read(path, buf, sizeof buf);
    }
    if (err == WARD_ERR_NOT_FOUND) {
        h->pair_loaded = true;
        return WARD_OK;
    }
    if (err == WARD_OK && memcmp(buf, k_pair_magic, 8) != 0) {
        err = WARD_ERR_CORRUPT;
    }
    if (err == WARD_OK) {
        memcpy(h->pair_priv, buf + 8, 32);
        memcpy(h->pair_r, buf + 40, 16);
        h->has_pair = true;
        h->pair_loaded = true;
    }
    ward_wipe(buf, sizeof buf);
    return err;
}

static ward_err_t hsm_pair_generate(void *ctx)
{
    ward_sim_hsm_t *h = ctx;
    uint8_t buf[PAIR_FILE_LEN];
    char path[4096];
    ward_err_t err = pair_load(h);
    if (err != WARD_OK) {
        return err;
    }
    if (h->has_pair) {
        return WARD_ERR_EXISTS;
    }
    err = ward_soft_hsm_pair_generate(h->pair_priv, h->pair_r);
    if (err != WARD_OK) {
        return err;
    }
    h->has_pair = true;
    if (h->path == NULL) {
        return WARD_OK;
    }
    memcpy(buf, k_pair_magic, 8);
    memcpy(buf + 8, h->pair_priv, 32);
    memcpy(buf + 40, h->pair_r, 16);
    err = pair_path(h, path, sizeof path);
    if (err == WARD_OK) {
        err = ward_sim_file_write(path, buf, sizeof buf);
    }
    ward_wipe(buf, sizeof buf);
    if (err != WARD_OK) {
        h->has_pair = false;
        ward_wipe(h->pair_priv, sizeof h->pair_priv);
        ward_wipe(h->pair_r, sizeof h->pair_r);
    }
    return err;
}

static ward_err_t hsm_pair_public(void *ctx, uint8_t pub[65])
{
    ward_sim_hsm_t *h = ctx;
    if (pub == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = pair_load(h);
    if (err != WARD_OK) {
        return err;
    }
    if (!h->has_pair) {
        return WARD_ERR_STATE;
    }
    return ward_soft_hsm_pair_public(h->pair_priv, pub);
}

static ward_err_t hsm_pair_random(void *ctx, uint8_t r[16])
{
    ward_sim_hsm_t *h = ctx;
    if (r == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    ward_err_t err = pair_load(h);
    if (err != WARD_OK) {
        return err;
    }
    if (!h->has_pair) {
        return WARD_ERR_STATE;
    }
    memcpy(r, h->pair_r, 16);
    return WARD_OK;
}

static ward_err_t hsm_pair_ecdh(void *ctx, const uint8_t peer_pub[65], uint8_t dhkey[32])
{
    ward_sim_hsm_t *h = ctx;
    if (peer_pub == NULL || dhkey == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(dhkey, 0, 32);
    ward_err_t err = pair_load(h);
    if (err != WARD_OK) {
        return err;
    }
    if (!h->has_pair) {
        return WARD_ERR_STATE;
    }
    return ward_soft_hsm_pair_ecdh(h->pair_priv, peer_pub, dhkey);
}

static void pair_init(ward_sim_hsm_t *h)
{
    h->port.pair_generate = hsm_pair_generate;
    h->port.pair_public = hsm_pair_public;
    h->port.pair_random = hsm_pair_random;
    h->port.pair_ecdh = hsm_pair_ecdh;
}

static void pair_close(ward_sim_hsm_t *h)
{
    ward_wipe(h->pair_priv, sizeof h->pair_priv);
    ward_wipe(h->pair_r, sizeof h->pair_r);
    h->has_pair = false;
    h->pair_loaded = false;
}

/* ---- identity key ids and rotation ---------------------------------------------- */

static void destroy_psa(uint32_t *id)
{
    if (*id != 0u) {
        (void)psa_destroy_key((psa_key_id_t)*id);
        *id = 0;
    }
}

static void drop_psa(ward_sim_hsm_t *h)
{
    destroy_psa(&h->id_psa);
    destroy_psa(&h->next_psa);
}

static ward_err_t hsm_id_key(void *ctx, uint32_t *key_id)
{
    ward_sim_hsm_t *h = ctx;
    if (key_id == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *key_id = 0;
    if (dead(h)) {
        return WARD_ERR_POWER_LOSS;
    }
    if (!h->has_id) {
        return WARD_ERR_STATE;
    }
    if (h->id_psa == 0u) {
        ward_err_t err = ward_soft_hsm_id_key(h->id_priv, &h->id_psa);
        if (err != WARD_OK) {
            return err;
        }
    }
    *key_id = h->id_psa;
    return WARD_OK;
}

static ward_err_t hsm_id_next_generate(void *ctx)
{
    ward_sim_hsm_t *h = ctx;
    uint8_t priv[32];
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t key = PSA_KEY_ID_NULL;
    size_t n = 0;
    if (dead(h)) {
        return WARD_ERR_POWER_LOSS;
    }
    if (!h->has_id) {
        return WARD_ERR_STATE;
    }
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_EXPORT); /* into this file only, as id_generate */
    ward_err_t err = WARD_ERR_CRYPTO;
    if (psa_generate_key(&a, &key) == PSA_SUCCESS &&
        psa_export_key(key, priv, sizeof priv, &n) == PSA_SUCCESS && n == 32u) {
        err = WARD_OK;
    }
    if (key != PSA_KEY_ID_NULL) {
        (void)psa_destroy_key(key);
    }
    psa_reset_key_attributes(&a);
    if (err != WARD_OK) {
        ward_wipe(priv, sizeof priv);
        return err;
    }
    /* A power-relevant write of the HSM's store: a cut before it leaves the
     * old state; a torn one is an atomic write that happened (the caller
     * does not learn it). */
    const ward_sim_gate_t g = ward_sim_power_gate(h->power);
    if (g == WARD_SIM_DEAD || g == WARD_SIM_CUT) {
        ward_wipe(priv, sizeof priv);
        return WARD_ERR_POWER_LOSS;
    }
    destroy_psa(&h->next_psa);
    memcpy(h->next_priv, priv, sizeof priv);
    ward_wipe(priv, sizeof priv);
    h->has_next = true;
    err = save(h);
    return g == WARD_SIM_TORN ? WARD_ERR_POWER_LOSS : err;
}

static ward_err_t hsm_id_next_key(void *ctx, uint32_t *key_id)
{
    ward_sim_hsm_t *h = ctx;
    if (key_id == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    *key_id = 0;
    if (dead(h)) {
        return WARD_ERR_POWER_LOSS;
    }
    if (!h->has_next) {
        return WARD_ERR_NOT_FOUND;
    }
    if (h->next_psa == 0u) {
        ward_err_t err = ward_soft_hsm_id_key(h->next_priv, &h->next_psa);
        if (err != WARD_OK) {
            return err;
        }
    }
    *key_id = h->next_psa;
    return WARD_OK;
}

static ward_err_t hsm_id_next_commit(void *ctx)
{
    ward_sim_hsm_t *h = ctx;
    if (dead(h)) {
        return WARD_ERR_POWER_LOSS;
    }
    if (!h->has_next) {
        return WARD_ERR_NOT_FOUND;
    }
    const ward_sim_gate_t g = ward_sim_power_gate(h->power);
    if (g == WARD_SIM_DEAD || g == WARD_SIM_CUT) {
        return WARD_ERR_POWER_LOSS;
    }
    /* The old key goes; its PSA id with it. The next key's id (if loaded)
     * now names the current key. */
    destroy_psa(&h->id_psa);
    memcpy(h->id_priv, h->next_priv, sizeof h->id_priv);
    ward_wipe(h->next_priv, sizeof h->next_priv);
    h->has_next = false;
    h->has_id = true;
    h->id_psa = h->next_psa;
    h->next_psa = 0;
    const ward_err_t err = save(h);
    return g == WARD_SIM_TORN ? WARD_ERR_POWER_LOSS : err;
}
