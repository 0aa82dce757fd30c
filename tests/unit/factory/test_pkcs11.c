/*
 * Unit tests: keys in a PKCS#11 token (tools/keys) against Debian's
 * SoftHSM2, in a token directory of this run (SOFTHSM2_CONF), tokens made by
 * softhsm2-util. The token's answers are checked through the module's own
 * PKCS#11 functions (dlopen + C_GetFunctionList), not through ward_keys.
 *
 * argv[1]: the SoftHSM2 module (libsofthsm2.so), argv[2]: softhsm2-util.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <p11-kit/pkcs11.h>

#include "ward/crypto.h"
#include "ward/image.h"
#include "ward/ota.h"
#include "ward/util.h"
#include "ward_factory.h"
#include "ward_keys.h"
#include "ward_repo.h"

static const char *g_module;
static const char *g_util;
static char g_dir[64];
static char g_uri[512];

#define PIN "4711"

static void uri(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void uri(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g_uri, sizeof g_uri, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof g_uri);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int setup_group(void **state)
{
    (void)state;
    char conf[128], tokens[128];
    if (ward_crypto_init() != WARD_OK) {
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/ward-test-p11-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        return -1;
    }
    snprintf(tokens, sizeof tokens, "%s/tokens", g_dir);
    snprintf(conf, sizeof conf, "%s/softhsm2.conf", g_dir);
    if (mkdir(tokens, 0700) != 0) {
        return -1;
    }
    FILE *f = fopen(conf, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens);
    fclose(f);
    setenv("SOFTHSM2_CONF", conf, 1);
    setenv(WARD_KEYS_ENV_PIN, PIN, 1);
    unsetenv(WARD_KEYS_ENV_MODULE);
    static const char *const labels[] = {"ward-a", "ward-b", "ward-c"};
    for (size_t i = 0; i < 3; i++) {
        if (run("%s --init-token --free --label %s --pin " PIN " --so-pin 12345678 >/dev/null",
                g_util, labels[i]) != 0) {
            printf("softhsm2-util failed\n");
            return -1;
        }
    }
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    return run("rm -rf %s", g_dir);
}

/* ---- the token, seen through the module's own PKCS#11 functions ------------------------- */

typedef struct raw {
    void *so;
    CK_FUNCTION_LIST *f;
    CK_SESSION_HANDLE s;
    bool finalize;
} raw_t;

static void raw_open(raw_t *r, const char *token)
{
    memset(r, 0, sizeof *r);
    r->so = dlopen(g_module, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(r->so);
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(r->so, "C_GetFunctionList");
    assert_non_null(gfl);
    assert_int_equal(gfl(&r->f), CKR_OK);
    CK_RV rv = r->f->C_Initialize(NULL);
    assert_true(rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED);
    r->finalize = rv == CKR_OK;
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    assert_int_equal(r->f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    bool found = false;
    for (CK_ULONG i = 0; i < n && !found; i++) {
        CK_TOKEN_INFO ti;
        assert_int_equal(r->f->C_GetTokenInfo(slots[i], &ti), CKR_OK);
        size_t l = strlen(token);
        if (memcmp(ti.label, token, l) == 0 && (l == 32 || ti.label[l] == ' ')) {
            assert_int_equal(r->f->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                                 NULL, NULL, &r->s),
                             CKR_OK);
            found = true;
        }
    }
    assert_true(found);
    rv = r->f->C_Login(r->s, CKU_USER, (CK_UTF8CHAR_PTR)(uintptr_t)PIN, strlen(PIN));
    assert_true(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
}

static void raw_close(raw_t *r)
{
    (void)r->f->C_CloseSession(r->s);
    if (r->finalize) {
        (void)r->f->C_Finalize(NULL);
    }
    dlclose(r->so);
}

static CK_OBJECT_HANDLE raw_find(raw_t *r, CK_OBJECT_CLASS cls, const char *label)
{
    CK_ATTRIBUTE t[2] = {{CKA_CLASS, &cls, sizeof cls},
                         {CKA_LABEL, (void *)(uintptr_t)label, strlen(label)}};
    CK_OBJECT_HANDLE o[2];
    CK_ULONG n = 0;
    assert_int_equal(r->f->C_FindObjectsInit(r->s, t, 2), CKR_OK);
    assert_int_equal(r->f->C_FindObjects(r->s, o, 2, &n), CKR_OK);
    assert_int_equal(r->f->C_FindObjectsFinal(r->s), CKR_OK);
    assert_int_equal(n, 1);
    return o[0];
}

static bool raw_bool(raw_t *r, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
    CK_BBOOL b = CK_FALSE;
    CK_ATTRIBUTE a = {type, &b, sizeof b};
    assert_int_equal(r->f->C_GetAttributeValue(r->s, o, &a, 1), CKR_OK);
    return b == CK_TRUE;
}

/* A private key the token made the way the factory promises. */
static void assert_non_extractable(const char *token, const char *label)
{
    raw_t r;
    raw_open(&r, token);
    CK_OBJECT_HANDLE k = raw_find(&r, CKO_PRIVATE_KEY, label);
    assert_true(raw_bool(&r, k, CKA_SENSITIVE));
    assert_false(raw_bool(&r, k, CKA_EXTRACTABLE));
    assert_true(raw_bool(&r, k, CKA_NEVER_EXTRACTABLE));
    assert_true(raw_bool(&r, k, CKA_ALWAYS_SENSITIVE));
    assert_true(raw_bool(&r, k, CKA_TOKEN));
    assert_true(raw_bool(&r, k, CKA_PRIVATE));
    assert_true(raw_bool(&r, k, CKA_SIGN));
    assert_false(raw_bool(&r, k, CKA_DERIVE));
    /* The private value cannot be read... */
    uint8_t value[64];
    CK_ATTRIBUTE a = {CKA_VALUE, value, sizeof value};
    assert_int_equal(r.f->C_GetAttributeValue(r.s, k, &a, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(a.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    /* ...and the key cannot be made extractable afterwards. */
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE set = {CKA_EXTRACTABLE, &yes, sizeof yes};
    assert_int_not_equal(r.f->C_SetAttributeValue(r.s, k, &set, 1), CKR_OK);
    assert_false(raw_bool(&r, k, CKA_EXTRACTABLE));
    raw_close(&r);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_keygen_in_token(void **state)
{
    (void)state;
    ward_key_t *k = NULL;
    char why[WARD_KEYS_WHY_MAX];
    uri("pkcs11:token=ward-a;object=boot-key");
    assert_true(ward_key_is_pkcs11(g_uri));
    assert_int_equal(ward_key_generate(g_uri, &k, why, sizeof why), WARD_OK);
    assert_int_equal(ward_key_kind(k), WARD_KEY_PKCS11);
    bool sensitive = false, extractable = true, token = false;
    assert_int_equal(ward_key_pkcs11_flags(k, &sensitive, &extractable, &token), WARD_OK);
    assert_true(sensitive && !extractable && token);
    uint8_t spki[WARD_P256_SPKI_LEN], pub[65];
    memcpy(spki, ward_key_spki(k), sizeof spki);
    assert_int_equal(ward_p256_spki_parse(pub, spki, sizeof spki), WARD_OK);
    ward_key_close(k);
    assert_non_extractable("ward-a", "boot-key");
    /* The same label again is refused; nothing is replaced. */
    assert_int_equal(ward_key_generate(g_uri, &k, why, sizeof why), WARD_ERR_EXISTS);
    assert_null(k);
    /* Opening it again gives the same public key (from the token). */
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_OK);
    assert_memory_equal(ward_key_spki(k), spki, sizeof spki);
    ward_key_close(k);
}

static void test_sign_image_in_token(void **state)
{
    (void)state;
    ward_key_t *k = NULL, *pem = NULL;
    char why[WARD_KEYS_WHY_MAX], pem_path[128];
    uri("pkcs11:token=ward-a;object=image-key");
    assert_int_equal(ward_key_generate(g_uri, &k, why, sizeof why), WARD_OK);
    uint8_t bin[2048], *img = NULL, *img2 = NULL;
    size_t img_len = 0, img2_len = 0;
    for (size_t i = 0; i < sizeof bin; i++) {
        bin[i] = (uint8_t)(i ^ 0x5au);
    }
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    o.header_size = 0x200;
    o.pad_header = true;
    o.version.major = 2;
    assert_int_equal(ward_sign_image_signer(&o, bin, sizeof bin, ward_key_signer(k), &img, &img_len),
                     WARD_OK);
    /* The same image from a PEM key: the same layout, TLV for TLV. */
    snprintf(pem_path, sizeof pem_path, "%s/image-key.pem", g_dir);
    assert_int_equal(ward_key_generate(pem_path, &pem, why, sizeof why), WARD_OK);
    assert_int_equal(
        ward_sign_image_signer(&o, bin, sizeof bin, ward_key_signer(pem), &img2, &img2_len), WARD_OK);
    ward_image_info_t info, info2;
    ward_image_mem_t m = {img, img_len}, m2 = {img2, img2_len};
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)img_len), WARD_OK);
    assert_int_equal(ward_image_parse(&info2, ward_image_read_mem, &m2, (uint32_t)img2_len),
                     WARD_OK);
    assert_int_equal(info.tlv_off, info2.tlv_off);
    assert_memory_equal(img, img2, info.tlv_off); /* header, payload */
    ward_image_tlv_iter_t it, it2;
    ward_image_tlv_t t, t2;
    assert_int_equal(ward_image_tlv_begin(&it, &info), WARD_OK);
    assert_int_equal(ward_image_tlv_begin(&it2, &info2), WARD_OK);
    int sigs = 0;
    for (;;) {
        ward_err_t e1 = ward_image_tlv_next(&it, ward_image_read_mem, &m, &t);
        ward_err_t e2 = ward_image_tlv_next(&it2, ward_image_read_mem, &m2, &t2);
        assert_int_equal(e1, e2);
        if (e1 != WARD_OK) {
            assert_int_equal(e1, WARD_ERR_NOT_FOUND);
            break;
        }
        assert_int_equal(t.type, t2.type);
        if (t.type == WARD_TLV_ECDSA_SIG) {
            /* a DER ECDSA-Sig-Value, as the PEM path writes it */
            uint8_t raw[64];
            assert_int_equal(ward_ecdsa_der_to_raw(raw, img + t.off, t.len), WARD_OK);
            sigs++;
        } else if (t.type == WARD_TLV_SHA256) {
            assert_memory_equal(img + t.off, img2 + t2.off, 32);
        }
    }
    assert_int_equal(sigs, 1);
    /* It verifies with the token key's public key... */
    uint8_t hash[32];
    assert_int_equal(ward_sha256(hash, ward_key_spki(k), WARD_P256_SPKI_LEN), WARD_OK);
    ward_image_trust_t trust = {hash, ward_key_spki(k), WARD_P256_SPKI_LEN, 0};
    ward_err_t reason = WARD_ERR_CRYPTO;
    assert_true(WARD_FIH_EQ(ward_image_validate(&info, ward_image_read_mem, &m, &trust, &reason)));
    assert_int_equal(reason, WARD_OK);
    /* ...written to a PEM file and read back as ward verify reads it... */
    char pub_pem[256], pub_path[128];
    size_t n = 0;
    uint8_t spki[WARD_P256_SPKI_LEN];
    assert_int_equal(ward_sign_spki_to_pem(ward_key_spki(k), pub_pem, sizeof pub_pem, &n), WARD_OK);
    snprintf(pub_path, sizeof pub_path, "%s/image-key.pub", g_dir);
    FILE *f = fopen(pub_path, "w");
    assert_non_null(f);
    fwrite(pub_pem, 1, n, f);
    fclose(f);
    assert_int_equal(ward_sign_key_load(pub_path, NULL, spki, NULL), WARD_OK);
    ward_image_trust_t trust2 = {hash, spki, sizeof spki, 0};
    assert_true(WARD_FIH_EQ(ward_image_validate(&info, ward_image_read_mem, &m, &trust2, &reason)));
    /* ...and not with the PEM key. */
    uint8_t hash2[32];
    assert_int_equal(ward_sha256(hash2, ward_key_spki(pem), WARD_P256_SPKI_LEN), WARD_OK);
    ward_image_trust_t wrong = {hash2, ward_key_spki(pem), WARD_P256_SPKI_LEN, 0};
    assert_false(WARD_FIH_EQ(ward_image_validate(&info, ward_image_read_mem, &m, &wrong, &reason)));
    assert_int_equal(reason, WARD_ERR_IMG_KEY);
    /* Signatures over many digests, checked outside the token. */
    uint8_t pub[65], sig[64];
    assert_int_equal(ward_p256_spki_parse(pub, ward_key_spki(k), WARD_P256_SPKI_LEN), WARD_OK);
    for (int i = 0; i < 16; i++) {
        memset(hash, i, sizeof hash);
        assert_int_equal(ward_key_sign_hash(k, hash, sig), WARD_OK);
        assert_int_equal(ward_p256_verify(pub, hash, sig), WARD_OK);
        hash[0] ^= 1u;
        assert_int_equal(ward_p256_verify(pub, hash, sig), WARD_ERR_AUTH);
    }
    free(img);
    free(img2);
    ward_key_close(pem);
    ward_key_close(k);
    assert_non_extractable("ward-a", "image-key");
}

static void test_token_errors(void **state)
{
    (void)state;
    ward_key_t *k = NULL;
    char why[WARD_KEYS_WHY_MAX];
    uri("pkcs11:token=ward-a;object=boot-key");
    setenv(WARD_KEYS_ENV_PIN, "0000", 1);
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_PKCS11_PIN);
    assert_non_null(strstr(why, "C_Login"));
    unsetenv(WARD_KEYS_ENV_PIN);
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_PKCS11_PIN);
    setenv(WARD_KEYS_ENV_PIN, PIN, 1);
    uri("pkcs11:token=ward-a;object=no-such-key");
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_NOT_FOUND);
    uri("pkcs11:token=no-such-token;object=boot-key");
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_NOT_FOUND);
    /* Several tokens match: no PIN is tried on any. */
    uri("pkcs11:object=boot-key");
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_PKCS11_AMBIGUOUS);
    uri("pkcs11:token=ward-a");
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_INVALID_ARG);
    uri("pkcs11:token=ward-a;object=boot-key;frobnicate=1");
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_INVALID_ARG);
    uri("pkcs11:token=ward-a;object=boot%%zzkey");
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_INVALID_ARG);
    uri("pkcs11:token=ward-a;object=boot-key;type=cert");
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_INVALID_ARG);
    uri("pkcs11:token=ward-a;object=boot-key?module-path=/nonexistent/module.so");
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_PKCS11);
    assert_null(k);
}

static void test_module_and_pin_sources(void **state)
{
    (void)state;
    ward_key_t *k = NULL;
    char why[WARD_KEYS_WHY_MAX], pinf[128];
    uint8_t spki[WARD_P256_SPKI_LEN];
    uri("pkcs11:token=ward-a;object=boot-key");
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_OK);
    memcpy(spki, ward_key_spki(k), sizeof spki);
    ward_key_close(k);
    /* module-path= in the URI */
    uri("pkcs11:token=ward-a;object=boot-key?module-path=%s", g_module);
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_OK);
    assert_memory_equal(ward_key_spki(k), spki, sizeof spki);
    ward_key_close(k);
    /* WARD_PKCS11_MODULE */
    setenv(WARD_KEYS_ENV_MODULE, g_module, 1);
    uri("pkcs11:token=ward-a;object=boot-key");
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_OK);
    ward_key_close(k);
    setenv(WARD_KEYS_ENV_MODULE, "/nonexistent/module.so", 1);
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_PKCS11);
    unsetenv(WARD_KEYS_ENV_MODULE);
    /* pin-source: a file (one trailing newline dropped), a path or a file: URI */
    unsetenv(WARD_KEYS_ENV_PIN);
    snprintf(pinf, sizeof pinf, "%s/pin", g_dir);
    FILE *f = fopen(pinf, "w");
    assert_non_null(f);
    fprintf(f, PIN "\n");
    fclose(f);
    uri("pkcs11:token=ward-a;object=boot-key?pin-source=%s", pinf);
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_OK);
    ward_key_close(k);
    uri("pkcs11:token=ward-a;object=boot-key?pin-source=file:%s", pinf);
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_OK);
    ward_key_close(k);
    uri("pkcs11:token=ward-a;object=boot-key?pin-source=file:%s.missing", pinf);
    assert_int_equal(ward_key_open(g_uri, &k, why, sizeof why), WARD_ERR_PKCS11_PIN);
    setenv(WARD_KEYS_ENV_PIN, PIN, 1);
    /* The object URI init writes: pin-value dropped, the rest kept. */
    char out[512];
    assert_int_equal(ward_key_pkcs11_object_uri("pkcs11:token=ward-a?pin-value=1234&pin-source=/p",
                                                "ward-ota-key", out, sizeof out),
                     WARD_OK);
    assert_non_null(strstr(out, "object=ward-ota-key"));
    assert_non_null(strstr(out, "token=ward-a"));
    assert_non_null(strstr(out, "pin-source="));
    assert_null(strstr(out, "pin-value"));
    assert_null(strstr(out, "1234"));
}

static void test_repo_publish_with_token(void **state)
{
    (void)state;
    char why[WARD_KEYS_WHY_MAX], repo[128], boot_path[128], mpath[256];
    ward_key_t *ota = NULL, *boot = NULL;
    uri("pkcs11:token=ward-b;object=ota-key");
    assert_int_equal(ward_key_generate(g_uri, &ota, why, sizeof why), WARD_OK);
    snprintf(boot_path, sizeof boot_path, "%s/boot.pem", g_dir);
    assert_int_equal(ward_key_generate(boot_path, &boot, why, sizeof why), WARD_OK);
    uint8_t bin[1024], *img = NULL;
    size_t img_len = 0;
    memset(bin, 0x11, sizeof bin);
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    o.header_size = 0x200;
    o.pad_header = true;
    o.version.major = 1;
    assert_int_equal(ward_sign_image_signer(&o, bin, sizeof bin, ward_key_signer(boot), &img,
                                            &img_len),
                     WARD_OK);
    ward_repo_signer_t s;
    memset(&s, 0, sizeof s);
    s.sign_hash = ward_key_signer(ota)->sign_hash;
    s.ctx = ward_key_signer(ota)->ctx;
    memcpy(s.spki, ward_key_spki(ota), sizeof s.spki);
    snprintf(repo, sizeof repo, "%s/repo", g_dir);
    ward_repo_publish_opts_t po;
    memset(&po, 0, sizeof po);
    po.repo = repo;
    po.device_class = "plug";
    po.signer = &s;
    po.boot_spki = ward_key_spki(boot);
    po.image = img;
    po.image_len = img_len;
    ward_repo_publish_result_t *res = calloc(1, sizeof *res);
    assert_non_null(res);
    assert_int_equal(ward_repo_publish(&po, res), WARD_OK);
    /* The manifest verifies with the token key's public key, as a device checks it. */
    snprintf(mpath, sizeof mpath, "%s/plug/manifest.cose", repo);
    uint8_t *cose = NULL;
    size_t cose_len = 0;
    assert_int_equal(ward_repo_read_file(mpath, &cose, &cose_len), WARD_OK);
    uint8_t kid[32];
    assert_int_equal(ward_sha256(kid, ward_key_spki(ota), WARD_P256_SPKI_LEN), WARD_OK);
    ward_ota_manifest_t m;
    assert_int_equal(ward_ota_manifest_verify(&m, cose, cose_len, ward_key_spki(ota),
                                              WARD_P256_SPKI_LEN, kid),
                     WARD_OK);
    /* and not with the boot key */
    uint8_t kid2[32];
    assert_int_equal(ward_sha256(kid2, ward_key_spki(boot), WARD_P256_SPKI_LEN), WARD_OK);
    assert_int_not_equal(ward_ota_manifest_verify(&m, cose, cose_len, ward_key_spki(boot),
                                                  WARD_P256_SPKI_LEN, kid2),
                         WARD_OK);
    free(cose);
    free(res);
    free(img);
    ward_key_close(boot);
    ward_key_close(ota);
    assert_non_extractable("ward-b", "ota-key");
}

static void test_factory_in_token(void **state)
{
    (void)state;
    char factory[128], why[512], p[256], unit[128], prefix[256];
    snprintf(factory, sizeof factory, "%s/factory", g_dir);
    snprintf(prefix, sizeof prefix, "pkcs11:token=ward-c?module-path=%s", g_module);
    ward_factory_init_opts_t io;
    ward_factory_init_result_t ir;
    memset(&io, 0, sizeof io);
    io.dir = factory;
    io.pkcs11 = prefix;
    assert_int_equal(ward_factory_init(&io, &ir, why, sizeof why), WARD_OK);
    assert_true(ward_key_is_pkcs11(ir.boot_key) && ward_key_is_pkcs11(ir.ota_key) &&
                ward_key_is_pkcs11(ir.ca_key));
    /* no private key of these in any file */
    static const char *const absent[] = {"keys/boot-key.pem", "keys/ota-key.pem", "ca/ca-key.pem"};
    for (size_t i = 0; i < 3; i++) {
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", factory, absent[i]);
        assert_int_not_equal(stat(p, &st), 0);
    }
    assert_non_extractable("ward-c", "ward-boot-key");
    assert_non_extractable("ward-c", "ward-ota-key");
    assert_non_extractable("ward-c", "ward-factory-ca");
    /* A unit provisioned by this factory (the CA signs in the token) passes. */
    ward_key_t *boot = NULL;
    char kwhy[WARD_KEYS_WHY_MAX];
    assert_int_equal(ward_key_open(ir.boot_key, &boot, kwhy, sizeof kwhy), WARD_OK);
    uint8_t bin[1500], *img = NULL;
    size_t img_len = 0;
    memset(bin, 0x77, sizeof bin);
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    o.header_size = 0x200;
    o.pad_header = true;
    assert_int_equal(ward_sign_image_signer(&o, bin, sizeof bin, ward_key_signer(boot), &img,
                                            &img_len),
                     WARD_OK);
    ward_key_close(boot);
    snprintf(p, sizeof p, "%s/app.img", g_dir);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(img, 1, img_len, f);
    fclose(f);
    free(img);
    snprintf(unit, sizeof unit, "%s/unit", g_dir);
    ward_factory_provision_opts_t po;
    ward_factory_provision_result_t pr;
    memset(&po, 0, sizeof po);
    po.factory = factory;
    po.device_id = "token-unit";
    po.image = p;
    po.out = unit;
    assert_int_equal(ward_factory_provision(&po, &pr, why, sizeof why), WARD_OK);
    ward_factory_eol_report_t rep;
    assert_int_equal(ward_factory_eol(unit, factory, 0, &rep), WARD_OK);
    for (int i = 0; i < WARD_FACTORY_CHECK_COUNT; i++) {
        if (!rep.pass[i]) {
            printf("%s: %s\n", ward_factory_check_name((ward_factory_check_t)i), rep.detail[i]);
        }
    }
    assert_true(rep.passed);
    /* A second factory in the same token is refused: the labels are taken. */
    snprintf(factory, sizeof factory, "%s/factory-2", g_dir);
    io.dir = factory;
    assert_int_equal(ward_factory_init(&io, &ir, why, sizeof why), WARD_ERR_EXISTS);
}

/* Red team: a PIN given in a key URI (pin-value=, for --boot-key /
 * --ota-key) unlocks the token holding the factory's signing keys. It must
 * not be written into factory.conf (0644, read by every later command) nor
 * handed back for printing: the recorded spec loses pin-value, and the
 * factory's commands still open the key (the PIN then comes from the
 * environment or pin-source=). */
static void test_init_given_key_pin(void **state)
{
    (void)state;
    char factory[128], why[512], p[256], boot_uri[256], ota_uri[256];
    char kwhy[WARD_KEYS_WHY_MAX];
    ward_key_t *k = NULL;
    uri("pkcs11:token=ward-a;object=given-boot");
    assert_int_equal(ward_key_generate(g_uri, &k, kwhy, sizeof kwhy), WARD_OK);
    ward_key_close(k);
    uri("pkcs11:token=ward-a;object=given-ota");
    assert_int_equal(ward_key_generate(g_uri, &k, kwhy, sizeof kwhy), WARD_OK);
    ward_key_close(k);
    snprintf(boot_uri, sizeof boot_uri, "pkcs11:token=ward-a;object=given-boot?pin-value=" PIN);
    snprintf(ota_uri, sizeof ota_uri, "pkcs11:token=ward-a;object=given-ota?pin-value=" PIN);
    snprintf(factory, sizeof factory, "%s/factory-given", g_dir);
    ward_factory_init_opts_t io;
    ward_factory_init_result_t ir;
    memset(&io, 0, sizeof io);
    io.dir = factory;
    io.boot_key = boot_uri;
    io.ota_key = ota_uri;
    unsetenv(WARD_KEYS_ENV_PIN); /* the URIs carry the PIN */
    const ward_err_t err = ward_factory_init(&io, &ir, why, sizeof why);
    setenv(WARD_KEYS_ENV_PIN, PIN, 1);
    assert_int_equal(err, WARD_OK);
    snprintf(p, sizeof p, "%s/factory.conf", factory);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    char conf[4096];
    const size_t n = fread(conf, 1, sizeof conf - 1u, f);
    fclose(f);
    conf[n] = '\0';
    printf("factory.conf:\n%s", conf);
    assert_null(strstr(conf, "pin-value"));
    assert_null(strstr(ir.boot_key, "pin-value"));
    assert_null(strstr(ir.ota_key, "pin-value"));
    assert_non_null(strstr(conf, "object=given-boot"));
    /* what is recorded still names the keys */
    assert_int_equal(ward_key_open(ir.boot_key, &k, kwhy, sizeof kwhy), WARD_OK);
    ward_key_close(k);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_pkcs11 LIBSOFTHSM2.so SOFTHSM2-UTIL\n");
        return 2;
    }
    g_module = argv[1];
    g_util = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen_in_token),
        cmocka_unit_test(test_sign_image_in_token),
        cmocka_unit_test(test_token_errors),
        cmocka_unit_test(test_module_and_pin_sources),
        cmocka_unit_test(test_repo_publish_with_token),
        cmocka_unit_test(test_factory_in_token),
        cmocka_unit_test(test_init_given_key_pin),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
