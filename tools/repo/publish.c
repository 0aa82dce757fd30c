/*
 * ward_repo: `ward repo publish` (docs/ota.md "The repository"): checks
 * everything first, then writes the chained update and the manifest, each
 * atomically (temporary file, fsync, rename, fsync of the folder), the
 * update before the manifest that names it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ward/crypto.h"
#include "ward/util.h"
#include "ward_repo.h"

bool ward_repo_parse_duration(const char *s, uint64_t *seconds)
{
    if (s == NULL || *s < '0' || *s > '9' || seconds == NULL) {
        return false;
    }
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        const uint64_t dg = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - dg) / 10u) {
            return false;
        }
        v = v * 10u + dg;
    }
    uint64_t unit = 1;
    if (*s != '\0') {
        switch (*s) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        case 'w':
            unit = 7u * 86400u;
            break;
        default:
            return false;
        }
        if (s[1] != '\0') {
            return false;
        }
    }
    if (v == 0u || v > UINT64_MAX / unit) {
        return false;
    }
    *seconds = v * unit;
    return true;
}

ward_err_t ward_repo_read_file(const char *path, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0u) {
            break;
        }
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2u);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2u;
        }
    }
    const bool bad = buf == NULL || ferror(f) != 0;
    fclose(f);
    if (bad) {
        free(buf);
        return WARD_ERR_IO;
    }
    *data = buf;
    *len = n;
    return WARD_OK;
}

static ward_err_t sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else {
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    }
    int fd = open(dir, O_RDONLY);
    if (fd < 0) {
        return WARD_ERR_IO;
    }
    ward_err_t err = fsync(fd) == 0 ? WARD_OK : WARD_ERR_IO;
    close(fd);
    return err;
}

ward_err_t ward_repo_write_file(const char *path, const uint8_t *data, size_t len)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >= (int)sizeof tmp) {
        return WARD_ERR_INVALID_ARG;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        return WARD_ERR_IO;
    }
    ward_err_t err = fchmod(fd, 0644) == 0 ? WARD_OK : WARD_ERR_IO;
    for (size_t done = 0; err == WARD_OK && done < len;) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            err = errno == ENOSPC ? WARD_ERR_NO_SPACE : WARD_ERR_IO;
            break;
        }
        done += (size_t)w;
    }
    if (err == WARD_OK && fsync(fd) != 0) {
        err = WARD_ERR_IO;
    }
    if (close(fd) != 0 && err == WARD_OK) {
        err = WARD_ERR_IO;
    }
    if (err == WARD_OK && rename(tmp, path) != 0) {
        err = WARD_ERR_IO;
    }
    if (err != WARD_OK) {
        unlink(tmp);
        return err;
    }
    return sync_dir(path);
}

static ward_err_t make_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? WARD_OK : WARD_ERR_IO;
    }
    return WARD_ERR_IO;
}

static bool path_join(char *out, size_t cap, const char *a, const char *b, const char *c)
{
    int n = c == NULL ? snprintf(out, cap, "%s/%s", a, b) : snprintf(out, cap, "%s/%s/%s", a, b, c);
    return n > 0 && (size_t)n < cap;
}

/* The boot key the repository recorded (NOT_FOUND if none yet). */
static ward_err_t load_boot_key(const char *path, uint8_t spki[WARD_SIGN_SPKI_LEN])
{
    uint8_t *data = NULL;
    size_t len = 0;
    ward_err_t err = ward_repo_read_file(path, &data, &len);
    if (err != WARD_OK) {
        return err;
    }
    bool priv = true;
    err = ward_sign_key_parse(data, len, NULL, spki, &priv);
    free(data);
    if (err == WARD_OK && priv) {
        err = WARD_ERR_CORRUPT; /* a private key has no business here */
    }
    return err;
}

/* The manifest now in the repository for this class: its sequence,
 * version and counter, after checking it is one of ours. */
static ward_err_t load_previous(const char *path, const ward_repo_publish_opts_t *o,
                                ward_ota_manifest_t *prev, bool *exists)
{
    uint8_t *data = NULL;
    size_t len = 0;
    uint8_t kid[32];
    *exists = false;
    memset(prev, 0, sizeof *prev);
    ward_err_t err = ward_repo_read_file(path, &data, &len);
    if (err == WARD_ERR_NOT_FOUND) {
        return WARD_OK;
    }
    if (err != WARD_OK) {
        return err;
    }
    *exists = true;
    err = ward_ota_manifest_decode(prev, data, len);
    if (err == WARD_OK && strcmp(prev->device_class, o->device_class) != 0) {
        err = WARD_ERR_OTA_MANIFEST;
    }
    if (err == WARD_OK) {
        err = ward_sha256(kid, o->signer->spki, sizeof o->signer->spki);
    }
    /* Devices hold one OTA key (its hash is in OTP): a manifest from
     * another key would be refused by every device that took the last one. */
    if (err == WARD_OK && memcmp(kid, prev->kid, sizeof kid) != 0) {
        err = WARD_ERR_OTA_KEY;
    }
    if (err == WARD_OK) {
        err = ward_ota_manifest_verify(prev, data, len, o->signer->spki, sizeof o->signer->spki,
                                       kid);
    }
    free(data);
    return err;
}

ward_err_t ward_repo_publish(const ward_repo_publish_opts_t *o, ward_repo_publish_result_t *r)
{
    char boot_path[4096], class_dir[4096], ward_dir[4096];
    uint8_t boot_spki[WARD_SIGN_SPKI_LEN];
    uint8_t cose[WARD_CONFIG_OTA_MANIFEST_MAX];
    ward_ota_manifest_t prev;
    bool have_prev = false, record_boot = false;
    uint8_t *wire = NULL;
    size_t wire_len = 0;

    if (o == NULL || r == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(r, 0, sizeof *r);
    ward_ota_manifest_t *m = &r->manifest;
    const uint32_t block = o->block_size != 0u ? o->block_size : WARD_REPO_DEFAULT_BLOCK;
    const uint64_t expires_in = o->expires_in != 0u ? o->expires_in : WARD_REPO_DEFAULT_EXPIRES;
    const uint64_t issued = o->issued_at != 0u ? o->issued_at : (uint64_t)time(NULL);
    if (o->repo == NULL || o->device_class == NULL || o->signer == NULL || o->image == NULL ||
        strlen(o->device_class) > WARD_CONFIG_OTA_CLASS_MAX || block < 256u || block > 65536u ||
        (block & (block - 1u)) != 0u || issued > UINT64_MAX - expires_in ||
        !path_join(boot_path, sizeof boot_path, o->repo, WARD_REPO_BOOT_KEY_FILE, NULL) ||
        !path_join(class_dir, sizeof class_dir, o->repo, o->device_class, NULL) ||
        !path_join(ward_dir, sizeof ward_dir, o->repo, ".ward", NULL) ||
        !path_join(r->manifest_path, sizeof r->manifest_path, o->repo, o->device_class,
                   WARD_REPO_MANIFEST_FILE)) {
        return WARD_ERR_INVALID_ARG;
    }
    snprintf(m->device_class, sizeof m->device_class, "%s", o->device_class);

    /* The boot key: recorded by the first publish, the same ever after. */
    ward_err_t err = load_boot_key(boot_path, boot_spki);
    if (err == WARD_ERR_NOT_FOUND) {
        if (o->boot_spki == NULL) {
            return WARD_ERR_NOT_FOUND;
        }
        memcpy(boot_spki, o->boot_spki, sizeof boot_spki);
        record_boot = true;
    } else if (err != WARD_OK) {
        return err;
    } else if (o->boot_spki != NULL && memcmp(o->boot_spki, boot_spki, sizeof boot_spki) != 0) {
        return WARD_ERR_EXISTS;
    }
    if (memcmp(o->signer->spki, boot_spki, sizeof boot_spki) == 0) {
        return WARD_ERR_OTA_KEY; /* one key, one job */
    }

    /* The image: parses, fits the OTP counter, verifies with the boot key. */
    err = ward_repo_image_describe(m, o->image, o->image_len, boot_spki);
    if (err != WARD_OK) {
        return err;
    }

    /* What it replaces. */
    err = load_previous(r->manifest_path, o, &prev, &have_prev);
    if (err != WARD_OK) {
        return err;
    }
    r->previous_sequence = have_prev ? prev.sequence : 0u;
    if (o->sequence != 0u && o->sequence <= r->previous_sequence) {
        return WARD_ERR_OTA_REPLAY;
    }
    if (o->sequence == 0u && r->previous_sequence == UINT64_MAX) {
        return WARD_ERR_OTA_REPLAY;
    }
    if (have_prev && ward_image_version_cmp(&m->version, &prev.version) < 0) {
        return WARD_ERR_OTA_VERSION;
    }
    if (have_prev && m->sec_cnt < prev.sec_cnt) {
        return WARD_ERR_OTA_SEC_CNT;
    }

    m->format = WARD_OTA_MANIFEST_FORMAT;
    m->issued_at = issued;
    m->expires = issued + expires_in;
    m->sequence = o->sequence != 0u ? o->sequence : r->previous_sequence + 1u;
    m->block_size = block;
    snprintf(m->uri, sizeof m->uri, "v%u.%u.%u-%u-seq%llu.chain", m->version.major,
             m->version.minor, m->version.revision, (unsigned)m->version.build,
             (unsigned long long)m->sequence);
    if (!path_join(r->update_path, sizeof r->update_path, o->repo, o->device_class, m->uri)) {
        return WARD_ERR_INVALID_ARG;
    }
    err = ward_repo_chain_build(o->image, m->image_size, block, &wire, &wire_len, m->chain_head);
    if (err == WARD_OK) {
        err = ward_repo_manifest_build(o->signer, m, cose, sizeof cose, &r->manifest_len);
    }
    if (err == WARD_OK) {
        /* The device decodes it with its own rules: never publish what it
         * would refuse. */
        ward_ota_manifest_t back;
        uint8_t kid[32];
        err = ward_sha256(kid, o->signer->spki, sizeof o->signer->spki);
        if (err == WARD_OK) {
            err = ward_ota_manifest_verify(&back, cose, r->manifest_len, o->signer->spki,
                                           sizeof o->signer->spki, kid);
        }
        if (err == WARD_OK && ward_repo_update_check(&back, wire, wire_len, NULL) != WARD_OK) {
            err = WARD_ERR_OTA_CHAIN;
        }
    }

    /* Write: the folders, the boot key (first time), the update, the manifest. */
    if (err == WARD_OK) {
        err = make_dir(o->repo);
    }
    if (err == WARD_OK) {
        err = make_dir(class_dir);
    }
    if (err == WARD_OK && record_boot) {
        char pem[256];
        size_t pem_len = 0;
        err = make_dir(ward_dir);
        if (err == WARD_OK) {
            err = ward_sign_spki_to_pem(boot_spki, pem, sizeof pem, &pem_len);
        }
        if (err == WARD_OK) {
            err = ward_repo_write_file(boot_path, (const uint8_t *)pem, pem_len);
        }
        r->boot_key_recorded = err == WARD_OK;
    }
    if (err == WARD_OK) {
        err = ward_repo_write_file(r->update_path, wire, wire_len);
    }
    if (err == WARD_OK) {
        err = ward_repo_write_file(r->manifest_path, cose, r->manifest_len);
    }
    r->wire_size = wire_len;
    free(wire);
    return err;
}
