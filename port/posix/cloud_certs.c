/* ward simulator: the cloud certificates as files of the device directory
 * (ward/sim_cloud.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/pem.h>

#include "sim_priv.h"
#include "ward/sim_cloud.h"

static const char *slot_file(uint32_t slot)
{
    return slot == WARD_CLOUD_SLOT_CURRENT ? "cert.pem"
           : slot == WARD_CLOUD_SLOT_NEXT  ? "cert-next.pem"
                                           : NULL;
}

static bool path_of(const ward_sim_certs_t *s, uint32_t slot, char *out, size_t cap)
{
    const char *f = slot_file(slot);
    return f != NULL && (size_t)snprintf(out, cap, "%s/%s", s->dir, f) < cap;
}

static ward_err_t certs_load(void *ctx, uint32_t slot, uint8_t *buf, size_t cap, size_t *len)
{
    const ward_sim_certs_t *s = ctx;
    char path[4200];
    *len = 0;
    if (!path_of(s, slot, path, sizeof path)) {
        return WARD_ERR_INVALID_ARG;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO;
    }
    static const size_t k_max = 16384;
    char *text = malloc(k_max + 1u);
    const size_t n = text != NULL ? fread(text, 1, k_max, f) : 0u;
    const bool bad = text == NULL || ferror(f) != 0 || n == k_max;
    fclose(f);
    if (bad) {
        free(text);
        return WARD_ERR_IO;
    }
    text[n] = '\0';
    ward_err_t err = WARD_OK;
    if (strstr(text, "-----BEGIN CERTIFICATE-----") != NULL) {
        mbedtls_pem_context pem;
        size_t used = 0;
        mbedtls_pem_init(&pem);
        if (mbedtls_pem_read_buffer(&pem, "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----",
                                    (const unsigned char *)text, NULL, 0, &used) != 0) {
            err = WARD_ERR_CORRUPT;
        } else {
            size_t dl = 0;
            const unsigned char *der = mbedtls_pem_get_buffer(&pem, &dl);
            *len = dl;
            if (dl > cap) {
                err = WARD_ERR_BUF_TOO_SMALL;
            } else {
                memcpy(buf, der, dl);
            }
        }
        mbedtls_pem_free(&pem);
    } else {
        *len = n;
        if (n > cap) {
            err = WARD_ERR_BUF_TOO_SMALL;
        } else {
            memcpy(buf, text, n);
        }
    }
    free(text);
    return err;
}

static ward_err_t certs_store(void *ctx, uint32_t slot, const uint8_t *der, size_t len)
{
    ward_sim_certs_t *s = ctx;
    char path[4200];
    unsigned char pem[8192];
    size_t pl = 0;
    if (!path_of(s, slot, path, sizeof path)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", der,
                                 len, pem, sizeof pem, &pl) != 0 ||
        pl == 0u) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    /* ward_sim_file_write: temporary file, fsync, rename. */
    ward_err_t err = ward_sim_file_write(path, pem, pl - 1u);
    if (err == WARD_OK) {
        const int d = open(s->dir, O_RDONLY | O_DIRECTORY);
        if (d >= 0) {
            (void)fsync(d); /* the rename itself */
            close(d);
        }
        s->stores++;
    }
    return err;
}

static ward_err_t certs_erase(void *ctx, uint32_t slot)
{
    ward_sim_certs_t *s = ctx;
    char path[4200];
    if (!path_of(s, slot, path, sizeof path)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        return WARD_ERR_IO;
    }
    s->erases++;
    return WARD_OK;
}

ward_err_t ward_sim_certs(ward_cloud_certs_t *certs, ward_sim_certs_t *s, const char *dir)
{
    if (certs == NULL || s == NULL || dir == NULL || strlen(dir) >= sizeof s->dir) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(s, 0, sizeof *s);
    memcpy(s->dir, dir, strlen(dir) + 1u);
    *certs = (ward_cloud_certs_t){.ctx = s, .load = certs_load, .store = certs_store,
                                  .erase = certs_erase};
    return WARD_OK;
}
