/*
 * ward_keys: keys in a PKCS#11 token, through p11-kit (URI parsing, module
 * loading, the PIN file). ward_keys.h says how a URI selects module, token,
 * PIN and key.
 */
#define _POSIX_C_SOURCE 200809L
#include <mbedtls/asn1.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pin.h>
#include <p11-kit/uri.h>
#include <stdlib.h>
#include <string.h>

#include "keys_priv.h"
#include "ward/util.h"

/* DER OBJECT IDENTIFIER prime256v1 (1.2.840.10045.3.1.7): CKA_EC_PARAMS. */
static const uint8_t k_p256_params[10] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                          0xce, 0x3d, 0x03, 0x01, 0x07};

#define ID_LEN 16u
#define LABEL_MAX 128u
#define ATTR_MAX 256u

typedef struct {
    CK_FUNCTION_LIST *module;
    CK_SLOT_ID slot;
    CK_TOKEN_INFO info;
} token_t;

static ward_err_t rv_fail(char *why, size_t why_len, const char *fn, CK_RV rv)
{
    ward_keys_why(why, why_len, "%s: %s (CKR 0x%lx)", fn, p11_kit_strerror(rv),
                  (unsigned long)rv);
    switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_NOT_LOGGED_IN:
        return WARD_ERR_PKCS11_PIN;
    default:
        return WARD_ERR_PKCS11;
    }
}

/* A module whose slots the URI may select: module-name= and library-*. */
static bool module_matches(CK_FUNCTION_LIST *m, P11KitUri *uri, bool by_path)
{
    const char *want = p11_kit_uri_get_module_name(uri);
    if (want != NULL && !by_path) {
        char *name = p11_kit_module_get_name(m);
        const bool eq = name != NULL && strcmp(name, want) == 0;
        free(name);
        if (!eq) {
            return false;
        }
    }
    CK_INFO info;
    return m->C_GetInfo(&info) == CKR_OK && p11_kit_uri_match_module_info(uri, &info) == 1;
}

/* Look through one module's slots for tokens the URI selects. */
static void scan_module(CK_FUNCTION_LIST *m, P11KitUri *uri, token_t *first, size_t *found)
{
    CK_ULONG n = 0;
    if (m->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n == 0u || n > 4096u) {
        return;
    }
    CK_SLOT_ID *slots = calloc(n, sizeof *slots);
    if (slots == NULL) {
        return;
    }
    if (m->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK) {
        const CK_SLOT_ID want = p11_kit_uri_get_slot_id(uri);
        for (CK_ULONG i = 0; i < n; i++) {
            CK_SLOT_INFO si;
            CK_TOKEN_INFO ti;
            if ((want != (CK_SLOT_ID)-1 && want != slots[i]) ||
                m->C_GetSlotInfo(slots[i], &si) != CKR_OK ||
                p11_kit_uri_match_slot_info(uri, &si) != 1 ||
                m->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
                p11_kit_uri_match_token_info(uri, &ti) != 1 ||
                (ti.flags & CKF_TOKEN_INITIALIZED) == 0u) {
                continue;
            }
            if (++*found == 1u) {
                first->module = m;
                first->slot = slots[i];
                first->info = ti;
            }
        }
    }
    free(slots);
}

/* Load the module(s) and find the one token the URI selects. */
static ward_err_t find_token(ward_key_t *k, P11KitUri *uri, token_t *tok, char *why,
                             size_t why_len)
{
    CK_FUNCTION_LIST *one[2] = {NULL, NULL};
    CK_FUNCTION_LIST **mods = one;
    const char *path = p11_kit_uri_get_module_path(uri);
    if (path == NULL || path[0] == '\0') {
        path = getenv(WARD_KEYS_ENV_MODULE);
    }
    if (path != NULL && path[0] != '\0') {
        CK_FUNCTION_LIST *m = p11_kit_module_load(path, 0);
        if (m == NULL) {
            const char *msg = p11_kit_message();
            ward_keys_why(why, why_len, "cannot load the PKCS#11 module %s: %s", path,
                          msg != NULL ? msg : "p11_kit_module_load failed");
            return WARD_ERR_PKCS11;
        }
        CK_RV rv = p11_kit_module_initialize(m);
        if (rv != CKR_OK) {
            p11_kit_module_release(m);
            return rv_fail(why, why_len, "C_Initialize", rv);
        }
        k->module = m;
        k->module_by_path = true;
        one[0] = m;
    } else {
        k->modules = p11_kit_modules_load_and_initialize(0);
        if (k->modules == NULL || k->modules[0] == NULL) {
            ward_keys_why(why, why_len,
                          "no PKCS#11 module: give module-path= in the URI, set " WARD_KEYS_ENV_MODULE
                          ", or configure one for p11-kit (pkcs11.conf(5))");
            return WARD_ERR_PKCS11;
        }
        mods = k->modules;
    }
    size_t found = 0;
    for (size_t i = 0; mods[i] != NULL; i++) {
        if (module_matches(mods[i], uri, k->module_by_path)) {
            scan_module(mods[i], uri, tok, &found);
        }
    }
    if (found == 0u) {
        ward_keys_why(why, why_len, "no initialised token matches the URI");
        return WARD_ERR_NOT_FOUND;
    }
    if (found > 1u) {
        ward_keys_why(why, why_len,
                      "%zu tokens match the URI; name one (token=, serial= or slot-id=)", found);
        return WARD_ERR_PKCS11_AMBIGUOUS;
    }
    k->module = tok->module;
    return WARD_OK;
}

/* The PIN: pin-value=, else the pin-source= file, else $WARD_PKCS11_PIN. */
static ward_err_t get_pin(ward_key_t *k, P11KitUri *uri, char *why, size_t why_len)
{
    const char *v = p11_kit_uri_get_pin_value(uri);
    const char *src = p11_kit_uri_get_pin_source(uri);
    size_t len = 0;
    if (v == NULL && src != NULL) {
        const char *file = src;
        if (strncmp(file, "file://", 7) == 0) {
            file += 7;
        } else if (strncmp(file, "file:", 5) == 0) {
            file += 5;
        }
        P11KitPin *pin = p11_kit_pin_file_callback(file, uri, "ward", P11_KIT_PIN_FLAGS_USER_LOGIN,
                                                   NULL);
        if (pin == NULL) {
            ward_keys_why(why, why_len, "cannot read the PIN from pin-source %s", src);
            return WARD_ERR_PKCS11_PIN;
        }
        const unsigned char *val = p11_kit_pin_get_value(pin, &len);
        while (len > 0u && (val[len - 1u] == '\n' || val[len - 1u] == '\r')) {
            len--;
        }
        if (len >= sizeof k->pin) {
            p11_kit_pin_unref(pin);
            ward_keys_why(why, why_len, "the PIN in %s is too long", src);
            return WARD_ERR_PKCS11_PIN;
        }
        memcpy(k->pin, val, len);
        p11_kit_pin_unref(pin);
        k->pin_len = len;
        k->has_pin = true;
        return WARD_OK;
    }
    if (v == NULL) {
        v = getenv(WARD_KEYS_ENV_PIN);
    }
    if (v == NULL) {
        return WARD_OK; /* none: fine for a token without login or with a PIN pad */
    }
    len = strlen(v);
    if (len >= sizeof k->pin) {
        ward_keys_why(why, why_len, "the PIN is too long");
        return WARD_ERR_PKCS11_PIN;
    }
    memcpy(k->pin, v, len);
    k->pin_len = len;
    k->has_pin = true;
    return WARD_OK;
}

static ward_err_t login(ward_key_t *k, const token_t *tok, char *why, size_t why_len)
{
    if ((tok->info.flags & CKF_LOGIN_REQUIRED) == 0u) {
        return WARD_OK;
    }
    CK_RV rv;
    if (k->has_pin) {
        rv = k->module->C_Login(k->session, CKU_USER, (CK_UTF8CHAR_PTR)k->pin, k->pin_len);
    } else if ((tok->info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0u) {
        rv = k->module->C_Login(k->session, CKU_USER, NULL, 0); /* the token's PIN pad */
    } else {
        ward_keys_why(why, why_len,
                      "the token needs a PIN: pin-source=FILE in the URI, or " WARD_KEYS_ENV_PIN);
        return WARD_ERR_PKCS11_PIN;
    }
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        return WARD_OK;
    }
    return rv_fail(why, why_len, "C_Login", rv);
}

/* Up to two objects matching tmpl (two tell "more than one"). */
static CK_RV find_objects(ward_key_t *k, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE obj[2],
                          CK_ULONG *count)
{
    CK_FUNCTION_LIST *m = k->module;
    *count = 0;
    CK_RV rv = m->C_FindObjectsInit(k->session, tmpl, n);
    if (rv != CKR_OK) {
        return rv;
    }
    rv = m->C_FindObjects(k->session, obj, 2, count);
    CK_RV rv2 = m->C_FindObjectsFinal(k->session);
    return rv != CKR_OK ? rv : rv2;
}

/* A variable-length attribute into buf (cap bytes); *len its length. */
static CK_RV get_attr(ward_key_t *k, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, void *buf,
                      CK_ULONG cap, CK_ULONG *len)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    CK_RV rv = k->module->C_GetAttributeValue(k->session, obj, &a, 1);
    if (rv != CKR_OK) {
        return rv;
    }
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > cap) {
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    a.pValue = buf;
    rv = k->module->C_GetAttributeValue(k->session, obj, &a, 1);
    *len = a.ulValueLen;
    return rv;
}

static bool get_bool(ward_key_t *k, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, bool *value)
{
    CK_BBOOL b = CK_FALSE;
    CK_ULONG n = 0;
    if (get_attr(k, obj, type, &b, sizeof b, &n) != CKR_OK || n != sizeof b) {
        return false;
    }
    *value = b == CK_TRUE;
    return true;
}

/* The public point from CKA_EC_PARAMS + CKA_EC_POINT of a public key. */
static ward_err_t point_from_public(ward_key_t *k, CK_OBJECT_HANDLE pub, char *why,
                                    size_t why_len)
{
    uint8_t params[64], point[80];
    CK_ULONG plen = 0, qlen = 0;
    CK_RV rv = get_attr(k, pub, CKA_EC_PARAMS, params, sizeof params, &plen);
    if (rv == CKR_OK) {
        rv = get_attr(k, pub, CKA_EC_POINT, point, sizeof point, &qlen);
    }
    if (rv != CKR_OK) {
        return rv_fail(why, why_len, "C_GetAttributeValue(CKA_EC_POINT)", rv);
    }
    if (plen != sizeof k_p256_params || memcmp(params, k_p256_params, plen) != 0) {
        ward_keys_why(why, why_len, "the key is not on P-256 (named curve prime256v1)");
        return WARD_ERR_UNSUPPORTED;
    }
    /* PKCS#11 2.40: the DER OCTET STRING of the point; some modules give
     * the bare point. Mbed TLS's ASN.1 reader takes the wrapper off. */
    unsigned char *p = point;
    const unsigned char *end = point + qlen;
    size_t len = 0;
    if (qlen == WARD_P256_PUB_LEN && point[0] == 0x04u) {
        memcpy(k->pub, point, WARD_P256_PUB_LEN);
        return WARD_OK;
    }
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0 ||
        len != WARD_P256_PUB_LEN || p + len != end || p[0] != 0x04u) {
        ward_keys_why(why, why_len, "CKA_EC_POINT is not an uncompressed P-256 point");
        return WARD_ERR_UNSUPPORTED;
    }
    memcpy(k->pub, p, WARD_P256_PUB_LEN);
    return WARD_OK;
}

/* The public key of k->priv: the public key object with its CKA_ID (or
 * label), else the private key's CKA_PUBLIC_KEY_INFO. */
static ward_err_t find_public(ward_key_t *k, char *why, size_t why_len)
{
    uint8_t id[ATTR_MAX], label[ATTR_MAX], spki[ATTR_MAX];
    CK_ULONG id_len = 0, label_len = 0, n = 0;
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = CKK_EC;
    CK_ATTRIBUTE t[3] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt},
                         {CKA_ID, id, 0}};
    if (get_attr(k, k->priv, CKA_ID, id, sizeof id, &id_len) != CKR_OK) {
        id_len = 0;
    }
    if (id_len > 0u) {
        t[2].ulValueLen = id_len;
    } else if (get_attr(k, k->priv, CKA_LABEL, label, sizeof label, &label_len) == CKR_OK &&
               label_len > 0u) {
        t[2] = (CK_ATTRIBUTE){CKA_LABEL, label, label_len};
    } else {
        t[2].type = CKA_ID; /* no id, no label: nothing ties a public key to it */
    }
    CK_OBJECT_HANDLE obj[2];
    CK_ULONG count = 0;
    if ((id_len > 0u || label_len > 0u) && find_objects(k, t, 3, obj, &count) == CKR_OK &&
        count == 1u) {
        return point_from_public(k, obj[0], why, why_len);
    }
    if (count > 1u) {
        ward_keys_why(why, why_len, "more than one public key has this key's id or label");
        return WARD_ERR_PKCS11_AMBIGUOUS;
    }
    if (get_attr(k, k->priv, CKA_PUBLIC_KEY_INFO, spki, sizeof spki, &n) == CKR_OK &&
        ward_p256_spki_parse(k->pub, spki, n) == WARD_OK) {
        return WARD_OK;
    }
    ward_keys_why(why, why_len, "no public key found for the private key (a public key object "
                                "with the same CKA_ID, or CKA_PUBLIC_KEY_INFO)");
    return WARD_ERR_NOT_FOUND;
}

/* URI attributes naming the key: object= and id=. */
static ward_err_t uri_names(P11KitUri *uri, CK_ATTRIBUTE **label, CK_ATTRIBUTE **id, char *why,
                            size_t why_len)
{
    *label = p11_kit_uri_get_attribute(uri, CKA_LABEL);
    *id = p11_kit_uri_get_attribute(uri, CKA_ID);
    CK_ATTRIBUTE *cls = p11_kit_uri_get_attribute(uri, CKA_CLASS);
    if (cls != NULL && (cls->ulValueLen != sizeof(CK_OBJECT_CLASS) ||
                        *(CK_OBJECT_CLASS *)cls->pValue != CKO_PRIVATE_KEY)) {
        ward_keys_why(why, why_len, "type= must be private (or left out)");
        return WARD_ERR_INVALID_ARG;
    }
    if (*label == NULL && *id == NULL) {
        ward_keys_why(why, why_len, "the URI names no key: give object= (the label) or id=");
        return WARD_ERR_INVALID_ARG;
    }
    if ((*label != NULL && (*label)->ulValueLen > LABEL_MAX) ||
        (*id != NULL && (*id)->ulValueLen > LABEL_MAX)) {
        ward_keys_why(why, why_len, "object= or id= is longer than %u bytes", LABEL_MAX);
        return WARD_ERR_INVALID_ARG;
    }
    return WARD_OK;
}

static ward_err_t find_private(ward_key_t *k, P11KitUri *uri, char *why, size_t why_len)
{
    CK_ATTRIBUTE *label = NULL, *id = NULL;
    ward_err_t err = uri_names(uri, &label, &id, why, why_len);
    if (err != WARD_OK) {
        return err;
    }
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[4] = {{CKA_CLASS, &cls, sizeof cls}};
    CK_ULONG n = 1;
    if (label != NULL) {
        t[n++] = *label;
    }
    if (id != NULL) {
        t[n++] = *id;
    }
    CK_OBJECT_HANDLE obj[2];
    CK_ULONG count = 0;
    CK_RV rv = find_objects(k, t, n, obj, &count);
    if (rv != CKR_OK) {
        return rv_fail(why, why_len, "C_FindObjects", rv);
    }
    if (count == 0u) {
        ward_keys_why(why, why_len, "no private key in the token matches the URI");
        return WARD_ERR_NOT_FOUND;
    }
    if (count > 1u) {
        ward_keys_why(why, why_len, "more than one private key matches the URI (add id=)");
        return WARD_ERR_PKCS11_AMBIGUOUS;
    }
    CK_KEY_TYPE kt = 0;
    CK_ULONG len = 0;
    rv = get_attr(k, obj[0], CKA_KEY_TYPE, &kt, sizeof kt, &len);
    if (rv != CKR_OK || len != sizeof kt || kt != CKK_EC) {
        ward_keys_why(why, why_len, "the key is not an EC key");
        return WARD_ERR_UNSUPPORTED;
    }
    k->priv = obj[0];
    bool always = false;
    k->always_auth = get_bool(k, k->priv, CKA_ALWAYS_AUTHENTICATE, &always) && always;
    return WARD_OK;
}

static ward_err_t generate_pair(ward_key_t *k, P11KitUri *uri, char *why, size_t why_len)
{
    CK_ATTRIBUTE *label = NULL, *id = NULL;
    ward_err_t err = uri_names(uri, &label, &id, why, why_len);
    if (err != WARD_OK) {
        return err;
    }
    if (label == NULL) {
        ward_keys_why(why, why_len, "object= names the new key");
        return WARD_ERR_INVALID_ARG;
    }
    /* Never beside an object of the same label or id: which one a URI
     * then named would be a guess. */
    CK_OBJECT_HANDLE obj[2];
    CK_ULONG count = 0;
    for (int i = 0; i < 2; i++) {
        CK_ATTRIBUTE *a = i == 0 ? label : id;
        if (a == NULL) {
            continue;
        }
        CK_RV rv = find_objects(k, a, 1, obj, &count);
        if (rv != CKR_OK) {
            return rv_fail(why, why_len, "C_FindObjects", rv);
        }
        if (count != 0u) {
            ward_keys_why(why, why_len, "the token already holds an object with this %s",
                          i == 0 ? "label" : "id");
            return WARD_ERR_EXISTS;
        }
    }
    uint8_t rid[ID_LEN];
    CK_ATTRIBUTE ida = {CKA_ID, rid, sizeof rid};
    if (id != NULL) {
        ida = *id;
    } else if (psa_generate_random(rid, sizeof rid) != PSA_SUCCESS) {
        return WARD_ERR_CRYPTO;
    }
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    uint8_t params[sizeof k_p256_params];
    memcpy(params, k_p256_params, sizeof params);
    CK_OBJECT_CLASS pubc = CKO_PUBLIC_KEY, privc = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = CKK_EC;
    CK_ATTRIBUTE pub_t[] = {
        {CKA_CLASS, &pubc, sizeof pubc},
        {CKA_KEY_TYPE, &kt, sizeof kt},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &no, sizeof no},
        {CKA_VERIFY, &yes, sizeof yes},
        {CKA_EC_PARAMS, params, sizeof params},
        *label,
        ida,
    };
    CK_ATTRIBUTE priv_t[] = {
        {CKA_CLASS, &privc, sizeof privc},
        {CKA_KEY_TYPE, &kt, sizeof kt},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_DERIVE, &no, sizeof no},
        *label,
        ida,
    };
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
    CK_RV rv = k->module->C_GenerateKeyPair(k->session, &mech, pub_t,
                                            sizeof pub_t / sizeof pub_t[0], priv_t,
                                            sizeof priv_t / sizeof priv_t[0], &hpub, &hpriv);
    if (rv != CKR_OK) {
        return rv_fail(why, why_len, "C_GenerateKeyPair", rv);
    }
    /* The token must have kept what was asked: else the key is not what
     * the factory promises, and it goes. */
    bool sensitive = false, extractable = true, on_token = false;
    k->priv = hpriv;
    if (!get_bool(k, hpriv, CKA_SENSITIVE, &sensitive) ||
        !get_bool(k, hpriv, CKA_EXTRACTABLE, &extractable) ||
        !get_bool(k, hpriv, CKA_TOKEN, &on_token) || !sensitive || extractable || !on_token) {
        (void)k->module->C_DestroyObject(k->session, hpriv);
        (void)k->module->C_DestroyObject(k->session, hpub);
        k->priv = CK_INVALID_HANDLE;
        ward_keys_why(why, why_len, "the token did not make the key sensitive, non-extractable "
                                    "and persistent; it was destroyed");
        return WARD_ERR_PKCS11;
    }
    return point_from_public(k, hpub, why, why_len);
}

ward_err_t ward_keys_p11_open(ward_key_t *k, const char *spec, bool generate, char *why,
                              size_t why_len)
{
    P11KitUri *uri = p11_kit_uri_new();
    if (uri == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    ward_err_t err = WARD_OK;
    int r = p11_kit_uri_parse(spec, P11_KIT_URI_FOR_ANY, uri);
    if (r != P11_KIT_URI_OK) {
        ward_keys_why(why, why_len, "not a PKCS#11 URI (RFC 7512): %s", p11_kit_uri_message(r));
        err = WARD_ERR_INVALID_ARG;
    } else if (p11_kit_uri_any_unrecognized(uri)) {
        /* An attribute p11-kit does not know would be ignored, and the URI
         * would select more than its author meant. */
        ward_keys_why(why, why_len, "the URI has an attribute p11-kit does not know");
        err = WARD_ERR_INVALID_ARG;
    }
    CK_ATTRIBUTE *label = NULL, *id = NULL;
    if (err == WARD_OK) {
        err = uri_names(uri, &label, &id, why, why_len);
    }
    token_t tok;
    memset(&tok, 0, sizeof tok);
    if (err == WARD_OK) {
        err = find_token(k, uri, &tok, why, why_len);
    }
    if (err == WARD_OK) {
        CK_FLAGS flags = CKF_SERIAL_SESSION | (generate ? CKF_RW_SESSION : 0u);
        CK_RV rv = k->module->C_OpenSession(tok.slot, flags, NULL, NULL, &k->session);
        if (rv != CKR_OK) {
            err = rv_fail(why, why_len, "C_OpenSession", rv);
        } else {
            k->session_open = true;
        }
    }
    if (err == WARD_OK) {
        err = get_pin(k, uri, why, why_len);
    }
    if (err == WARD_OK) {
        err = login(k, &tok, why, why_len);
    }
    if (err == WARD_OK) {
        err = generate ? generate_pair(k, uri, why, why_len) : find_private(k, uri, why, why_len);
    }
    if (err == WARD_OK && !generate) {
        err = find_public(k, why, why_len);
    }
    p11_kit_uri_free(uri);
    return err;
}

ward_err_t ward_keys_p11_sign(ward_key_t *k, const uint8_t hash[32], uint8_t sig[64])
{
    CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
    CK_RV rv = k->module->C_SignInit(k->session, &mech, k->priv);
    if (rv == CKR_OK && k->always_auth) {
        rv = k->module->C_Login(k->session, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)k->pin,
                                k->pin_len);
    }
    CK_ULONG n = WARD_P256_SIG_LEN;
    CK_BYTE digest[WARD_SHA256_LEN];
    memcpy(digest, hash, sizeof digest);
    if (rv == CKR_OK) {
        rv = k->module->C_Sign(k->session, digest, sizeof digest, sig, &n);
    }
    if (rv != CKR_OK) {
        return rv_fail(NULL, 0, "C_Sign", rv);
    }
    return n == WARD_P256_SIG_LEN ? WARD_OK : WARD_ERR_PKCS11;
}

ward_err_t ward_key_pkcs11_flags(ward_key_t *key, bool *sensitive, bool *extractable,
                                 bool *on_token)
{
    bool s = false, e = true, t = false;
    if (key == NULL || key->kind != WARD_KEY_PKCS11) {
        return WARD_ERR_INVALID_ARG;
    }
    if (!get_bool(key, key->priv, CKA_SENSITIVE, &s) ||
        !get_bool(key, key->priv, CKA_EXTRACTABLE, &e) ||
        !get_bool(key, key->priv, CKA_TOKEN, &t)) {
        return WARD_ERR_PKCS11;
    }
    if (sensitive != NULL) {
        *sensitive = s;
    }
    if (extractable != NULL) {
        *extractable = e;
    }
    if (on_token != NULL) {
        *on_token = t;
    }
    return WARD_OK;
}

void ward_keys_p11_close(ward_key_t *k)
{
    if (k->session_open) {
        (void)k->module->C_CloseSession(k->session);
        k->session_open = false;
    }
    if (k->module_by_path && k->module != NULL) {
        (void)p11_kit_module_finalize(k->module);
        p11_kit_module_release(k->module);
    } else if (k->modules != NULL) {
        p11_kit_modules_finalize_and_release(k->modules);
    }
    k->module = NULL;
    k->modules = NULL;
    ward_wipe(k->pin, sizeof k->pin);
}

ward_err_t ward_key_pkcs11_object_uri(const char *prefix, const char *label, char *out,
                                      size_t cap)
{
    if (prefix == NULL || label == NULL || out == NULL || cap == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    out[0] = '\0';
    char lab[LABEL_MAX + 1];
    const size_t lab_len = strlen(label);
    if (lab_len == 0u || lab_len > LABEL_MAX) {
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(lab, label, lab_len + 1u);
    P11KitUri *uri = p11_kit_uri_new();
    if (uri == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    ward_err_t err = WARD_ERR_INVALID_ARG;
    char *s = NULL;
    CK_ATTRIBUTE a = {CKA_LABEL, lab, lab_len};
    if (p11_kit_uri_parse(prefix, P11_KIT_URI_FOR_ANY, uri) == P11_KIT_URI_OK &&
        !p11_kit_uri_any_unrecognized(uri) && p11_kit_uri_set_attribute(uri, &a) == P11_KIT_URI_OK) {
        p11_kit_uri_set_pin_value(uri, NULL);
        if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_ANY, &s) == P11_KIT_URI_OK && s != NULL) {
            err = strlen(s) < cap ? WARD_OK : WARD_ERR_BUF_TOO_SMALL;
            if (err == WARD_OK) {
                memcpy(out, s, strlen(s) + 1u);
            }
        }
    }
    free(s);
    p11_kit_uri_free(uri);
    return err;
}

ward_err_t ward_key_pkcs11_uri_without_pin(const char *spec, char *out, size_t cap)
{
    if (spec == NULL || out == NULL || cap == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    out[0] = '\0';
    P11KitUri *uri = p11_kit_uri_new();
    if (uri == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    ward_err_t err = WARD_ERR_INVALID_ARG;
    char *s = NULL;
    if (p11_kit_uri_parse(spec, P11_KIT_URI_FOR_ANY, uri) == P11_KIT_URI_OK &&
        !p11_kit_uri_any_unrecognized(uri)) {
        p11_kit_uri_set_pin_value(uri, NULL);
        if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_ANY, &s) == P11_KIT_URI_OK && s != NULL) {
            err = strlen(s) < cap ? WARD_OK : WARD_ERR_BUF_TOO_SMALL;
            if (err == WARD_OK) {
                memcpy(out, s, strlen(s) + 1u);
            }
        }
    }
    free(s);
    p11_kit_uri_free(uri);
    return err;
}
