/* ward_label: the OOB pairing label, as text and QR code (ward_label.h). */
#include "ward_label.h"

#include <ctype.h>
#include <qrencode.h>
#include <string.h>

#include "ward/ble_crypto.h"
#include "ward/util.h"

static const char k_b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

ward_err_t ward_label_from_hsm(ward_label_t *l, const ward_hsm_t *hsm, const ward_ble_addr_t *addr)
{
    uint8_t sec1[65];
    if (l == NULL || hsm == NULL || addr == NULL || !ward_ble_addr_is_identity(addr)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (hsm->pair_public == NULL || hsm->pair_random == NULL) {
        return WARD_ERR_UNSUPPORTED;
    }
    memset(l, 0, sizeof *l);
    ward_err_t err = hsm->pair_public(hsm->ctx, sec1);
    if (err == WARD_OK) {
        err = hsm->pair_random(hsm->ctx, l->oob.r);
    }
    if (err == WARD_OK) {
        uint8_t pub[64];
        ward_ble_pub_from_sec1(pub, sec1);
        err = ward_ble_f4(l->oob.c, pub, pub, l->oob.r, 0);
    }
    if (err != WARD_OK) {
        ward_wipe(l, sizeof *l);
        return err;
    }
    l->addr = *addr;
    return WARD_OK;
}

void ward_label_pack(uint8_t out[WARD_LABEL_BIN_LEN], const ward_label_t *l)
{
    out[0] = WARD_LABEL_VERSION;
    out[1] = l->addr.type;
    memcpy(out + 2, l->addr.a, 6);
    memcpy(out + 8, l->oob.r, 16);
    memcpy(out + 24, l->oob.c, 16);
    ward_store_le32(out + 40, ward_crc32(0, out, 40));
}

void ward_label_encode(char text[WARD_LABEL_TEXT_LEN + 1], const ward_label_t *l)
{
    uint8_t bin[WARD_LABEL_BIN_LEN];
    const size_t p = sizeof WARD_LABEL_PREFIX - 1u;
    ward_label_pack(bin, l);
    memcpy(text, WARD_LABEL_PREFIX, p);
    uint32_t acc = 0;
    int bits = 0;
    size_t n = p;
    for (size_t i = 0; i < sizeof bin; i++) {
        acc = (acc << 8) | bin[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            text[n++] = k_b32[(acc >> bits) & 31u];
        }
    }
    if (bits > 0) {
        text[n++] = k_b32[(acc << (5 - bits)) & 31u];
    }
    text[n] = '\0';
    ward_wipe(bin, sizeof bin);
}

static int b32_value(int c)
{
    c = toupper(c);
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= '2' && c <= '7') {
        return c - '2' + 26;
    }
    return -1;
}

ward_err_t ward_label_parse(ward_label_t *l, const char *text)
{
    uint8_t bin[WARD_LABEL_BIN_LEN];
    const size_t p = sizeof WARD_LABEL_PREFIX - 1u;
    if (l == NULL || text == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < p; i++) {
        if (toupper((unsigned char)text[i]) != WARD_LABEL_PREFIX[i]) {
            return WARD_ERR_BLE_LABEL;
        }
    }
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0, chars = 0;
    for (const char *s = text + p; *s != '\0'; s++) {
        if (*s == ' ' || *s == '-') {
            continue;
        }
        int v = b32_value((unsigned char)*s);
        if (v < 0 || chars == 71u) {
            return WARD_ERR_BLE_LABEL;
        }
        chars++;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            bin[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* 71 characters: 44 bytes and 3 spare bits, which must be zero. */
    if (chars != 71u || n != sizeof bin || bits != 3 || (acc & 7u) != 0u) {
        return WARD_ERR_BLE_LABEL;
    }
    ward_err_t err = WARD_ERR_BLE_LABEL;
    if (ward_load_le32(bin + 40) == ward_crc32(0, bin, 40) && bin[0] == WARD_LABEL_VERSION) {
        l->addr.type = bin[1];
        memcpy(l->addr.a, bin + 2, 6);
        memcpy(l->oob.r, bin + 8, 16);
        memcpy(l->oob.c, bin + 24, 16);
        err = ward_ble_addr_is_identity(&l->addr) ? WARD_OK : WARD_ERR_BLE_LABEL;
    }
    if (err != WARD_OK) {
        ward_wipe(l, sizeof *l);
    }
    ward_wipe(bin, sizeof bin);
    return err;
}

static QRcode *encode_qr(const char *text)
{
    /* Base32 upper case and ':' are all in QR's alphanumeric set, so
     * libqrencode's parser picks the compact alphanumeric mode. */
    return QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
}

int ward_label_qr_modules(const char *text, unsigned char *out, size_t cap)
{
    if (text == NULL || out == NULL) {
        return 0;
    }
    QRcode *q = encode_qr(text);
    if (q == NULL) {
        return 0;
    }
    int w = q->width;
    if ((size_t)w * (size_t)w > cap) {
        QRcode_free(q);
        return 0;
    }
    for (int i = 0; i < w * w; i++) {
        out[i] = (unsigned char)(q->data[i] & 1u);
    }
    QRcode_free(q);
    return w;
}

ward_err_t ward_label_qr_svg(FILE *f, const char *text, bool caption)
{
    if (f == NULL || text == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    QRcode *q = encode_qr(text);
    if (q == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    const int quiet = 4; /* the quiet zone the standard asks for */
    const int w = q->width + 2 * quiet;
    const int h = w + (caption ? 4 : 0);
    int ok = fprintf(f,
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                     "width=\"%dmm\" height=\"%dmm\" shape-rendering=\"crispEdges\">\n"
                     "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"",
                     w, h, w, h, w, h) > 0;
    for (int y = 0; ok && y < q->width; y++) {
        for (int x = 0; ok && x < q->width; x++) {
            if ((q->data[y * q->width + x] & 1u) != 0u) {
                ok = fprintf(f, "M%d %dh1v1h-1z", x + quiet, y + quiet) > 0;
            }
        }
    }
    if (ok) {
        ok = fprintf(f, "\"/>\n") > 0;
    }
    if (ok && caption) {
        ok = fprintf(f,
                     "<text x=\"%d\" y=\"%d\" font-family=\"monospace\" font-size=\"1.1\" "
                     "text-anchor=\"middle\" textLength=\"%d\">",
                     w / 2, w + 2, w - 2) > 0;
        for (const char *c = text; ok && *c != '\0'; c++) {
            ok = (*c == '<'   ? fputs("&lt;", f)
                  : *c == '>' ? fputs("&gt;", f)
                  : *c == '&' ? fputs("&amp;", f)
                              : fputc(*c, f)) >= 0;
        }
        if (ok) {
            ok = fputs("</text>\n", f) >= 0;
        }
    }
    if (ok) {
        ok = fprintf(f, "</svg>\n") > 0;
    }
    QRcode_free(q);
    return ok ? WARD_OK : WARD_ERR_IO;
}
