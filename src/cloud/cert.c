/*
 * ward cloud: X.509 v3 certificates as the device reads them (RFC 5280),
 * a strict DER subset: what a device certificate and the factory CA are
 * (P-256 keys, ecdsa-with-SHA256). No allocation; every length is checked
 * against its enclosing element. Signatures are checked by the caller
 * (identity.c) over the TBSCertificate this finds.
 */
#include <string.h>

#include "cloud_priv.h"
#include "ward/crypto.h"

const uint8_t ward_der_ecdsa_sha256[12] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86,
                                           0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};

/* ---- DER ---------------------------------------------------------------------- */

bool ward_der_get(ward_der_t *cur, uint8_t tag, ward_der_t *val, const uint8_t **whole,
                  size_t *whole_len)
{
    if (cur->len < 2u || cur->p[0] != tag) {
        return false;
    }
    size_t hdr = 2, len = cur->p[1];
    if (len >= 0x80u) {
        const size_t n = len & 0x7Fu;
        if (n == 0u || n > 3u || cur->len < 2u + n) {
            return false; /* indefinite, or absurdly long */
        }
        len = 0;
        for (size_t i = 0; i < n; i++) {
            len = (len << 8) | cur->p[2u + i];
        }
        /* Shortest form: no leading zero byte, no long form under 128. */
        if (cur->p[2] == 0u || len < 0x80u) {
            return false;
        }
        hdr += n;
    }
    if (len > cur->len - hdr) {
        return false;
    }
    if (val != NULL) {
        val->p = cur->p + hdr;
        val->len = len;
    }
    if (whole != NULL) {
        *whole = cur->p;
    }
    if (whole_len != NULL) {
        *whole_len = hdr + len;
    }
    cur->p += hdr + len;
    cur->len -= hdr + len;
    return true;
}

size_t ward_der_header(uint8_t *out, uint8_t tag, size_t len)
{
    uint8_t h[4];
    size_t n;
    h[0] = tag;
    if (len < 0x80u) {
        h[1] = (uint8_t)len;
        n = 2;
    } else if (len <= 0xFFu) {
        h[1] = 0x81;
        h[2] = (uint8_t)len;
        n = 3;
    } else if (len <= 0xFFFFu) {
        h[1] = 0x82;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        n = 4;
    } else {
        return 0;
    }
    if (out != NULL) {
        memcpy(out, h, n);
    }
    return n;
}

static bool der_eq(const ward_der_t *v, const uint8_t *bytes, size_t n)
{
    return v->len == n && memcmp(v->p, bytes, n) == 0;
}

/* ---- time ------------------------------------------------------------------------ */

static bool digits(const uint8_t *p, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10u + (uint32_t)(p[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, uint32_t m, uint32_t d)
{
    y -= m <= 2u ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t mp = m > 2u ? (int64_t)m - 3 : (int64_t)m + 9;
    const int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* UTCTime YYMMDDHHMMSSZ (YY < 50: 20YY) or GeneralizedTime YYYYMMDDHHMMSSZ,
 * as RFC 5280 section 4.1.2.5 requires them (seconds, Z, nothing else). */
static bool der_time(ward_der_t *cur, int64_t *out)
{
    ward_der_t v;
    uint32_t y, mo, d, h, mi, s;
    const uint8_t *p;
    if (ward_der_get(cur, 0x17, &v, NULL, NULL)) {
        if (v.len != 13u || !digits(v.p, 2, &y)) {
            return false;
        }
        y += y < 50u ? 2000u : 1900u;
        p = v.p + 2;
    } else if (ward_der_get(cur, 0x18, &v, NULL, NULL)) {
        if (v.len != 15u || !digits(v.p, 4, &y)) {
            return false;
        }
        p = v.p + 4;
    } else {
        return false;
    }
    static const uint8_t k_mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!digits(p, 2, &mo) || !digits(p + 2, 2, &d) || !digits(p + 4, 2, &h) ||
        !digits(p + 6, 2, &mi) || !digits(p + 8, 2, &s) || p[10] != 'Z' || mo < 1u ||
        mo > 12u || d < 1u || d > k_mdays[mo - 1u] || h > 23u || mi > 59u || s > 59u) {
        return false;
    }
    const bool leap = (y % 4u == 0u && y % 100u != 0u) || y % 400u == 0u;
    if (mo == 2u && d == 29u && !leap) {
        return false;
    }
    *out = days_from_civil((int64_t)y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 +
           (int64_t)s;
    return true;
}

/* ---- names and extensions ---------------------------------------------------------- */

static const uint8_t k_oid_cn[] = {0x55, 0x04, 0x03};
static const uint8_t k_oid_basic[] = {0x55, 0x1D, 0x13};
static const uint8_t k_oid_ku[] = {0x55, 0x1D, 0x0F};
static const uint8_t k_oid_eku[] = {0x55, 0x1D, 0x25};
static const uint8_t k_oid_ski[] = {0x55, 0x1D, 0x0E};
static const uint8_t k_oid_aki[] = {0x55, 0x1D, 0x23};
static const uint8_t k_oid_san[] = {0x55, 0x1D, 0x11};
static const uint8_t k_oid_client_auth[] = {0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02};
static const uint8_t k_oid_any_eku[] = {0x55, 0x1D, 0x25, 0x00};

/* Name ::= SEQUENCE OF SET OF AttributeTypeAndValue: the one commonName. */
static ward_err_t name_cn(ward_der_t name, const uint8_t **cn, size_t *cn_len)
{
    *cn = NULL;
    *cn_len = 0;
    while (name.len > 0u) {
        ward_der_t set, atv, oid, val;
        if (!ward_der_get(&name, 0x31, &set, NULL, NULL) || set.len == 0u) {
            return WARD_ERR_CORRUPT;
        }
        while (set.len > 0u) {
            if (!ward_der_get(&set, 0x30, &atv, NULL, NULL) ||
                !ward_der_get(&atv, 0x06, &oid, NULL, NULL) || atv.len < 2u) {
                return WARD_ERR_CORRUPT;
            }
            if (!der_eq(&oid, k_oid_cn, sizeof k_oid_cn)) {
                continue;
            }
            /* UTF8String or PrintableString, nothing after it. */
            if ((!ward_der_get(&atv, 0x0C, &val, NULL, NULL) &&
                 !ward_der_get(&atv, 0x13, &val, NULL, NULL)) ||
                atv.len != 0u || *cn != NULL) {
                return WARD_ERR_CORRUPT; /* also: two commonNames */
            }
            *cn = val.p;
            *cn_len = val.len;
        }
    }
    return WARD_OK;
}

static ward_err_t extension(ward_cloud_cert_info_t *info, ward_der_t ext)
{
    ward_der_t oid, crit, octets, v;
    bool critical = false;
    if (!ward_der_get(&ext, 0x06, &oid, NULL, NULL)) {
        return WARD_ERR_CORRUPT;
    }
    if (ward_der_get(&ext, 0x01, &crit, NULL, NULL)) {
        /* DER: DEFAULT FALSE is never encoded, so only TRUE (0xFF). */
        if (crit.len != 1u || crit.p[0] != 0xFFu) {
            return WARD_ERR_CORRUPT;
        }
        critical = true;
    }
    if (!ward_der_get(&ext, 0x04, &octets, NULL, NULL) || ext.len != 0u) {
        return WARD_ERR_CORRUPT;
    }
    if (der_eq(&oid, k_oid_basic, sizeof k_oid_basic)) {
        ward_der_t seq, ca;
        if (!ward_der_get(&octets, 0x30, &seq, NULL, NULL) || octets.len != 0u) {
            return WARD_ERR_CORRUPT;
        }
        if (ward_der_get(&seq, 0x01, &ca, NULL, NULL)) {
            if (ca.len != 1u || ca.p[0] != 0xFFu) {
                return WARD_ERR_CORRUPT;
            }
            info->is_ca = true;
        }
        return WARD_OK; /* a path length may follow: not ours to judge */
    }
    if (der_eq(&oid, k_oid_ku, sizeof k_oid_ku)) {
        /* BIT STRING: unused-bits count, then the bits; digitalSignature is
         * bit 0, the top bit of the first byte. */
        if (!ward_der_get(&octets, 0x03, &v, NULL, NULL) || octets.len != 0u || v.len < 2u ||
            v.p[0] > 7u) {
            return WARD_ERR_CORRUPT;
        }
        info->digital_signature = (v.p[1] & 0x80u) != 0u;
        return WARD_OK;
    }
    if (der_eq(&oid, k_oid_eku, sizeof k_oid_eku)) {
        ward_der_t seq, purpose;
        if (!ward_der_get(&octets, 0x30, &seq, NULL, NULL) || octets.len != 0u || seq.len == 0u) {
            return WARD_ERR_CORRUPT;
        }
        info->client_auth = false;
        while (seq.len > 0u) {
            if (!ward_der_get(&seq, 0x06, &purpose, NULL, NULL)) {
                return WARD_ERR_CORRUPT;
            }
            if (der_eq(&purpose, k_oid_client_auth, sizeof k_oid_client_auth) ||
                der_eq(&purpose, k_oid_any_eku, sizeof k_oid_any_eku)) {
                info->client_auth = true;
            }
        }
        return WARD_OK;
    }
    if (der_eq(&oid, k_oid_ski, sizeof k_oid_ski) || der_eq(&oid, k_oid_aki, sizeof k_oid_aki) ||
        der_eq(&oid, k_oid_san, sizeof k_oid_san) || !critical) {
        return WARD_OK; /* known and harmless, or not critical: ignored */
    }
    return WARD_ERR_UNSUPPORTED; /* an unknown critical extension (RFC 5280 4.2) */
}

/* ---- the certificate --------------------------------------------------------------- */

static ward_err_t parse_tbs(ward_cloud_cert_info_t *info, ward_der_t tbs)
{
    ward_der_t v, ver, validity, spki_v, exts;
    const uint8_t *spki = NULL;
    size_t spki_len = 0;
    /* version [0] EXPLICIT INTEGER: v3 (2) only. */
    if (!ward_der_get(&tbs, 0xA0, &ver, NULL, NULL)) {
        return WARD_ERR_UNSUPPORTED; /* v1 */
    }
    if (!ward_der_get(&ver, 0x02, &v, NULL, NULL) || ver.len != 0u || v.len != 1u) {
        return WARD_ERR_CORRUPT;
    }
    if (v.p[0] != 2u) {
        return WARD_ERR_UNSUPPORTED;
    }
    /* serialNumber: 1..20 bytes (RFC 5280 4.1.2.2), minimal encoding. */
    if (!ward_der_get(&tbs, 0x02, &v, NULL, NULL) || v.len == 0u || v.len > 20u ||
        (v.len > 1u && ((v.p[0] == 0u && v.p[1] < 0x80u) || (v.p[0] == 0xFFu && v.p[1] >= 0x80u)))) {
        return WARD_ERR_CORRUPT;
    }
    info->serial = v.p;
    info->serial_len = v.len;
    /* signature: must be the outer algorithm (checked by the caller). */
    if (!ward_der_get(&tbs, 0x30, &v, NULL, NULL)) {
        return WARD_ERR_CORRUPT;
    }
    if (v.len + 2u != sizeof ward_der_ecdsa_sha256 ||
        memcmp(v.p - 2, ward_der_ecdsa_sha256, sizeof ward_der_ecdsa_sha256) != 0) {
        return WARD_ERR_UNSUPPORTED;
    }
    if (!ward_der_get(&tbs, 0x30, &v, &info->issuer, &info->issuer_len) ||
        !ward_der_get(&tbs, 0x30, &validity, NULL, NULL) ||
        !der_time(&validity, &info->not_before) || !der_time(&validity, &info->not_after) ||
        validity.len != 0u || !ward_der_get(&tbs, 0x30, &v, &info->subject, &info->subject_len)) {
        return WARD_ERR_CORRUPT;
    }
    ward_err_t err = name_cn(v, &info->cn, &info->cn_len);
    if (err != WARD_OK) {
        return err;
    }
    if (!ward_der_get(&tbs, 0x30, &spki_v, &spki, &spki_len)) {
        return WARD_ERR_CORRUPT;
    }
    if (ward_p256_spki_parse(info->pub, spki, spki_len) != WARD_OK) {
        return WARD_ERR_UNSUPPORTED; /* another key type or curve */
    }
    /* issuerUniqueID [1], subjectUniqueID [2]: allowed, not used. */
    (void)(ward_der_get(&tbs, 0x81, NULL, NULL, NULL) || ward_der_get(&tbs, 0xA1, NULL, NULL, NULL));
    (void)(ward_der_get(&tbs, 0x82, NULL, NULL, NULL) || ward_der_get(&tbs, 0xA2, NULL, NULL, NULL));
    info->client_auth = true;
    info->digital_signature = true;
    if (ward_der_get(&tbs, 0xA3, &exts, NULL, NULL)) {
        ward_der_t list, ext;
        if (!ward_der_get(&exts, 0x30, &list, NULL, NULL) || exts.len != 0u || list.len == 0u) {
            return WARD_ERR_CORRUPT;
        }
        while (list.len > 0u) {
            if (!ward_der_get(&list, 0x30, &ext, NULL, NULL)) {
                return WARD_ERR_CORRUPT;
            }
            err = extension(info, ext);
            if (err != WARD_OK) {
                return err;
            }
        }
    }
    return tbs.len == 0u ? WARD_OK : WARD_ERR_CORRUPT;
}

ward_err_t ward_cloud_cert_parse(ward_cloud_cert_info_t *info, const uint8_t *der, size_t len)
{
    if (info == NULL || (der == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(info, 0, sizeof *info);
    ward_der_t all = {der, len}, cert, tbs, alg, bits, sig;
    if (!ward_der_get(&all, 0x30, &cert, NULL, NULL) || all.len != 0u ||
        !ward_der_get(&cert, 0x30, &tbs, &info->tbs, &info->tbs_len) ||
        !ward_der_get(&cert, 0x30, &alg, NULL, NULL) ||
        !ward_der_get(&cert, 0x03, &bits, NULL, NULL) || cert.len != 0u) {
        memset(info, 0, sizeof *info);
        return WARD_ERR_CORRUPT;
    }
    ward_err_t err = parse_tbs(info, tbs);
    if (err == WARD_OK && (alg.len + 2u != sizeof ward_der_ecdsa_sha256 ||
                           memcmp(alg.p - 2, ward_der_ecdsa_sha256, sizeof ward_der_ecdsa_sha256) != 0)) {
        err = WARD_ERR_UNSUPPORTED;
    }
    /* signatureValue: BIT STRING, no unused bits, exactly one Ecdsa-Sig-Value. */
    if (err == WARD_OK) {
        ward_der_t inner = {bits.p + 1, bits.len > 0u ? bits.len - 1u : 0u};
        const uint8_t *s = NULL;
        size_t s_len = 0;
        if (bits.len < 1u || bits.p[0] != 0u || !ward_der_get(&inner, 0x30, &sig, &s, &s_len) ||
            inner.len != 0u || ward_ecdsa_der_to_raw(info->sig, s, s_len) != WARD_OK) {
            err = WARD_ERR_CORRUPT;
        }
    }
    if (err != WARD_OK) {
        memset(info, 0, sizeof *info);
    }
    return err;
}

const char *ward_cloud_cert_reason_name(ward_cloud_cert_reason_t reason)
{
    static const char *const k_names[] = {"ok",   "malformed", "issuer", "signature", "name",
                                          "key",  "validity",  "serial", "usage"};
    const size_t i = (size_t)reason;
    return i < sizeof k_names / sizeof k_names[0] ? k_names[i] : "unknown";
}
