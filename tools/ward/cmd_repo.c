/*
 * ward CLI: the static update repository (docs/ota.md, docs/manifest.md).
 *   ward repo publish --ota-key OTA.pem --device-class CLASS IMAGE REPO/
 *   ward repo show REPO/CLASS/manifest.cose [--json] [--ota-key KEY]
 * The logic is tools/repo's; this file parses options and prints.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "ward/crypto.h"
#include "ward/util.h"
#include "ward_keys.h"
#include "ward_repo.h"

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ward repo %s: %s (ward repo %s --help)\n", cmd, msg, cmd);
    return WARD_EXIT_USAGE;
}

static void print_version(FILE *f, const ward_image_version_t *v)
{
    fprintf(f, "%u.%u.%u+%u", v->major, v->minor, v->revision, (unsigned)v->build);
}

static void print_time(FILE *f, uint64_t t)
{
    char buf[64];
    time_t tt = (time_t)t;
    struct tm tm;
    if ((uint64_t)tt == t && gmtime_r(&tt, &tm) != NULL &&
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0u) {
        fprintf(f, "%s", buf);
    } else {
        fprintf(f, "%llu", (unsigned long long)t);
    }
}

/* ---- publish ---------------------------------------------------------------------------- */

static void publish_help(FILE *f)
{
    fprintf(f,
            "usage: ward repo publish --ota-key OTA.pem --device-class CLASS\n"
            "                         [--boot-key BOOT.pem | --boot-pub BOOT.pub]\n"
            "                         [--expires 30d] [--sequence N] [--block-size 4096]\n"
            "                         [--issued-at SECONDS] [--json] IMAGE REPO/\n"
            "\n"
            "Publish a signed MCUboot image as an update for a device class: writes\n"
            "REPO/CLASS/<uri> (the image as a chain of blocks, each carrying the hash of\n"
            "the next) and then REPO/CLASS/manifest.cose (COSE_Sign1, ES256, signed with\n"
            "the OTA key), each atomically. Serve REPO/ as static files over HTTPS.\n"
            "\n"
            "The repository knows the boot public key: the first publish needs\n"
            "--boot-key or --boot-pub and records it in REPO/.ward/boot-key.pub; later\n"
            "publishes use it and refuse another one. Refused (nothing written): an\n"
            "image that does not parse or does not verify with the boot key, a\n"
            "security counter beyond the OTP counter, an OTA key equal to the boot key\n"
            "or other than the one the current manifest names, a sequence not above\n"
            "the current manifest's, an older version or a lower counter than it.\n"
            "\n"
            "  -k, --ota-key FILE|URI  the OTA signing key (private, PEM or DER), or a\n"
            "                          pkcs11: URI (signed inside the token)\n"
            "  -c, --device-class C    the class devices are provisioned with\n"
            "                          ([A-Za-z0-9._-], 1-32 characters)\n"
            "      --boot-key FILE     the boot key (private or public): its public part\n"
            "      --boot-pub FILE     the boot public key\n"
            "      --expires D         validity after issue: N[s|m|h|d|w] (default 30d)\n"
            "      --sequence N        the manifest's sequence (default: current + 1)\n"
            "      --block-size B      data bytes per block, a power of two 256-65536\n"
            "                          (default 4096; devices hold one block in RAM)\n"
            "      --issued-at T       issue time, seconds since 1970 (default: now)\n"
            "      --json              machine-readable output\n"
            "  -h, --help              this help\n");
}

enum {
    OPT_BOOT_KEY = 1000,
    OPT_BOOT_PUB,
    OPT_EXPIRES,
    OPT_SEQUENCE,
    OPT_BLOCK,
    OPT_ISSUED,
    OPT_JSON,
    OPT_OTA_PUB
};

static bool parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    uint64_t v = 0;
    for (; *s != '\0'; s++) {
        const uint64_t dg = (uint64_t)(*s - '0');
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - dg) / 10u) {
            return false;
        }
        v = v * 10u + dg;
    }
    *out = v;
    return true;
}

static int cmd_publish(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ota-key", required_argument, NULL, 'k'},
        {"device-class", required_argument, NULL, 'c'},
        {"boot-key", required_argument, NULL, OPT_BOOT_KEY},
        {"boot-pub", required_argument, NULL, OPT_BOOT_PUB},
        {"expires", required_argument, NULL, OPT_EXPIRES},
        {"sequence", required_argument, NULL, OPT_SEQUENCE},
        {"block-size", required_argument, NULL, OPT_BLOCK},
        {"issued-at", required_argument, NULL, OPT_ISSUED},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *ota_path = NULL, *boot_path = NULL, *cls = NULL;
    bool json = false;
    ward_repo_publish_opts_t po;
    memset(&po, 0, sizeof po);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            ota_path = optarg;
            break;
        case 'c':
            cls = optarg;
            break;
        case OPT_BOOT_KEY:
        case OPT_BOOT_PUB:
            if (boot_path != NULL) {
                return usage_error("publish", "give the boot key once (--boot-key or --boot-pub)");
            }
            boot_path = optarg;
            break;
        case OPT_EXPIRES:
            if (!ward_repo_parse_duration(optarg, &po.expires_in)) {
                return usage_error("publish", "--expires wants N[s|m|h|d|w], e.g. 30d");
            }
            break;
        case OPT_SEQUENCE:
            if (!parse_u64(optarg, &po.sequence) || po.sequence == 0u) {
                return usage_error("publish", "--sequence wants a number >= 1");
            }
            break;
        case OPT_BLOCK: {
            uint32_t b = 0;
            if (!ward_cli_parse_u32(optarg, &b) || b < 256u || b > 65536u || (b & (b - 1u)) != 0u) {
                return usage_error("publish", "--block-size wants a power of two, 256-65536");
            }
            po.block_size = b;
            break;
        }
        case OPT_ISSUED:
            if (!parse_u64(optarg, &po.issued_at) || po.issued_at == 0u) {
                return usage_error("publish", "--issued-at wants seconds since 1970");
            }
            break;
        case OPT_JSON:
            json = true;
            break;
        case 'h':
            publish_help(stdout);
            return WARD_EXIT_OK;
        default:
            publish_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (ota_path == NULL || cls == NULL) {
        return usage_error("publish", "--ota-key and --device-class are required");
    }
    if (argc - optind != 2) {
        return usage_error("publish", "IMAGE and REPO/ are required");
    }
    const char *img_path = argv[optind], *repo = argv[optind + 1];

    uint8_t boot_spki[WARD_SIGN_SPKI_LEN];
    ward_key_t *key = NULL;
    ward_repo_signer_t signer;
    uint8_t *image = NULL;
    size_t image_len = 0;
    ward_repo_publish_result_t *res = calloc(1, sizeof *res);
    int rc = WARD_EXIT_OK;
    if (res == NULL) {
        return ward_cli_fail("repo publish", "memory", WARD_ERR_NO_SPACE);
    }
    ward_err_t err;
    rc = ward_cli_key_open("repo publish", ota_path, &key);
    if (rc != WARD_EXIT_OK) {
        goto out;
    }
    /* A file key or a key in a PKCS#11 token: the repository only sees
     * its public key and its signatures. */
    memset(&signer, 0, sizeof signer);
    signer.sign_hash = ward_key_signer(key)->sign_hash;
    signer.ctx = ward_key_signer(key)->ctx;
    memcpy(signer.spki, ward_key_spki(key), sizeof signer.spki);
    if (boot_path != NULL) {
        err = ward_sign_key_load(boot_path, NULL, boot_spki, NULL);
        if (err != WARD_OK) {
            rc = ward_cli_fail("repo publish", boot_path, err);
            goto out;
        }
        po.boot_spki = boot_spki;
    }
    err = ward_cli_read_file(img_path, &image, &image_len);
    if (err != WARD_OK) {
        rc = ward_cli_fail("repo publish", img_path, err);
        goto out;
    }
    po.repo = repo;
    po.device_class = cls;
    po.signer = &signer;
    po.image = image;
    po.image_len = image_len;
    err = ward_repo_publish(&po, res);
    if (err != WARD_OK) {
        const char *why = img_path;
        switch (err) {
        case WARD_ERR_NOT_FOUND:
            why = "the repository does not know the boot public key yet: give it once with\n"
                  "  --boot-key BOOT.pem or --boot-pub BOOT.pub (recorded in REPO/.ward/boot-key.pub)";
            break;
        case WARD_ERR_EXISTS:
            why = "--boot-key/--boot-pub differs from the boot key the repository recorded\n"
                  "  (REPO/.ward/boot-key.pub)";
            break;
        case WARD_ERR_OTA_KEY:
            why = "the OTA key is the boot key, or not the key the current manifest is signed\n"
                  "  with (devices hold one OTA key)";
            break;
        case WARD_ERR_OTA_REPLAY:
            why = "--sequence must be above the current manifest's";
            break;
        case WARD_ERR_OTA_VERSION:
            why = "the image is older than the one the current manifest offers";
            break;
        case WARD_ERR_OTA_SEC_CNT:
            why = "the image's security counter is below the current manifest's";
            break;
        case WARD_ERR_OTA_MANIFEST:
        case WARD_ERR_OTA_SIG:
            why = "the current REPO/CLASS/manifest.cose is not a valid manifest of this class";
            break;
        case WARD_ERR_INVALID_ARG:
            why = "bad device class (1-32 of A-Z a-z 0-9 . _ -, not starting with '.') or path";
            break;
        default:
            break;
        }
        rc = ward_cli_fail("repo publish", why, err);
        goto out;
    }
    const ward_ota_manifest_t *m = &res->manifest;
    if (json) {
        printf("{\"manifest\":");
        ward_cli_json_str(stdout, res->manifest_path);
        printf(",\"update\":");
        ward_cli_json_str(stdout, res->update_path);
        printf(",\"sequence\":%llu,\"previous_sequence\":%llu,\"version\":\"",
               (unsigned long long)m->sequence, (unsigned long long)res->previous_sequence);
        print_version(stdout, &m->version);
        printf("\",\"sec_cnt\":%u,\"image_size\":%u,\"wire_size\":%llu,\"block_size\":%u,"
               "\"manifest_size\":%zu,\"issued_at\":%llu,\"expires\":%llu,"
               "\"boot_key_recorded\":%s}\n",
               m->sec_cnt, m->image_size, (unsigned long long)res->wire_size, m->block_size,
               res->manifest_len, (unsigned long long)m->issued_at,
               (unsigned long long)m->expires, res->boot_key_recorded ? "true" : "false");
    } else {
        printf("published %s ", m->device_class);
        print_version(stdout, &m->version);
        printf(" (SEC_CNT %u), sequence %llu\n", m->sec_cnt, (unsigned long long)m->sequence);
        printf("  update    %s (%llu bytes: %u image + %llu chain)\n", res->update_path,
               (unsigned long long)res->wire_size, m->image_size,
               (unsigned long long)(res->wire_size - m->image_size));
        printf("  manifest  %s (%zu bytes), expires ", res->manifest_path, res->manifest_len);
        print_time(stdout, m->expires);
        printf("\n");
        if (res->boot_key_recorded) {
            printf("  recorded the boot public key in %s/%s\n", repo, WARD_REPO_BOOT_KEY_FILE);
        }
        if (image_len > m->image_size) {
            printf("  (%zu bytes after the image, padding or trailer, not published)\n",
                   image_len - m->image_size);
        }
    }
out:
    ward_key_close(key);
    free(image);
    free(res);
    return rc;
}

/* ---- show ------------------------------------------------------------------------------- */

static void show_help(FILE *f)
{
    fprintf(f,
            "usage: ward repo show MANIFEST [--ota-key KEY] [--json]\n"
            "\n"
            "Decode a manifest (REPO/CLASS/manifest.cose) with the device's rules and show\n"
            "its fields. With --ota-key (private or public) the signature is checked too.\n"
            "When the update it names lies next to it, its chain and digest are checked.\n"
            "Exit codes: the manifest's refusal reason (20-31), 0 when all checked is good.\n"
            "\n"
            "  -k, --ota-key FILE   the OTA key (its public part is used)\n"
            "      --json           machine-readable output\n"
            "  -h, --help           this help\n");
}

static int cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ota-key", required_argument, NULL, 'k'},
        {"ota-pub", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *key_path = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        case 'h':
            show_help(stdout);
            return WARD_EXIT_OK;
        default:
            show_help(stderr);
            return WARD_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        return usage_error("show", "exactly one MANIFEST is required");
    }
    const char *path = argv[optind];
    uint8_t *data = NULL, *wire = NULL;
    size_t len = 0, wire_len = 0;
    ward_ota_manifest_t m;
    ward_err_t err = ward_cli_read_file(path, &data, &len);
    if (err != WARD_OK) {
        return ward_cli_fail("repo show", path, err);
    }
    err = ward_ota_manifest_decode(&m, data, len);
    if (err != WARD_OK) {
        free(data);
        return ward_cli_fail("repo show", path, err);
    }
    /* The signature, if a key is given. */
    const char *sig = "not checked (no --ota-key)";
    ward_err_t sig_err = WARD_OK;
    if (key_path != NULL) {
        uint8_t spki[WARD_SIGN_SPKI_LEN], kh[32];
        err = ward_sign_key_load(key_path, NULL, spki, NULL);
        if (err == WARD_OK) {
            err = ward_sha256(kh, spki, sizeof spki);
        }
        if (err != WARD_OK) {
            free(data);
            return ward_cli_fail("repo show", key_path, err);
        }
        ward_ota_manifest_t v;
        sig_err = ward_ota_manifest_verify(&v, data, len, spki, sizeof spki, kh);
        sig = sig_err == WARD_OK ? "good (ES256, the given OTA key)" : ward_err_str(sig_err);
    }
    free(data);
    /* The update next to it. */
    char upath[4096];
    const char *slash = strrchr(path, '/');
    int dl = slash == NULL ? 0 : (int)(slash - path + 1);
    snprintf(upath, sizeof upath, "%.*s%s", dl, path, m.uri);
    const char *upd = "not found next to the manifest";
    ward_err_t upd_err = ward_repo_read_file(upath, &wire, &wire_len);
    uint32_t bad = UINT32_MAX;
    if (upd_err == WARD_OK) {
        upd_err = ward_repo_update_check(&m, wire, wire_len, &bad);
        upd = upd_err == WARD_OK ? "good (size, every block's hash, image digest)"
                                 : ward_err_str(upd_err);
        free(wire);
    }
    const uint64_t wsize = ward_ota_chain_wire_size(m.image_size, m.block_size);
    if (json) {
        printf("{\"format\":%u,\"device_class\":", m.format);
        ward_cli_json_str(stdout, m.device_class);
        printf(",\"version\":\"");
        print_version(stdout, &m.version);
        printf("\",\"sec_cnt\":%u,\"image_size\":%u,\"image_digest\":\"", m.sec_cnt, m.image_size);
        ward_cli_print_hex(stdout, m.image_digest, 32);
        printf("\",\"uri\":");
        ward_cli_json_str(stdout, m.uri);
        printf(",\"issued_at\":%llu,\"expires\":%llu,\"sequence\":%llu,\"block_size\":%u,"
               "\"chain_head\":\"",
               (unsigned long long)m.issued_at, (unsigned long long)m.expires,
               (unsigned long long)m.sequence, m.block_size);
        ward_cli_print_hex(stdout, m.chain_head, 32);
        printf("\",\"kid\":\"");
        ward_cli_print_hex(stdout, m.kid, 32);
        printf("\",\"wire_size\":%llu,\"signature\":\"%s\",\"update\":\"%s\"}\n",
               (unsigned long long)wsize,
               key_path == NULL ? "unchecked" : ward_err_name(sig_err),
               upd_err == WARD_ERR_NOT_FOUND ? "missing" : ward_err_name(upd_err));
    } else {
        printf("manifest %s (format %u)\n", path, m.format);
        printf("  device class    %s\n  version         ", m.device_class);
        print_version(stdout, &m.version);
        printf("\n  security count  %u\n  image           %u bytes, SHA-256 ", m.sec_cnt,
               m.image_size);
        ward_cli_print_hex(stdout, m.image_digest, 32);
        printf("\n  update          %s (%llu bytes, blocks of %u)\n  issued          ", m.uri,
               (unsigned long long)wsize, m.block_size);
        print_time(stdout, m.issued_at);
        printf("\n  expires         ");
        print_time(stdout, m.expires);
        printf("\n  sequence        %llu\n  chain head      ", (unsigned long long)m.sequence);
        ward_cli_print_hex(stdout, m.chain_head, 32);
        printf("\n  kid             ");
        ward_cli_print_hex(stdout, m.kid, 32);
        printf("\n  signature       %s\n  update file     %s", sig, upd);
        if (bad != UINT32_MAX) {
            printf(" (block %u)", bad);
        }
        printf("\n");
    }
    if (sig_err != WARD_OK) {
        return ward_cli_exit_code(sig_err);
    }
    if (upd_err != WARD_OK && upd_err != WARD_ERR_NOT_FOUND) {
        return ward_cli_exit_code(upd_err);
    }
    return WARD_EXIT_OK;
}

/* ---- dispatch --------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} sub_t;

static const sub_t k_sub[] = {
    {"publish", cmd_publish, "publish a signed image as a device class's update"},
    {"show", cmd_show, "decode and check a manifest (and the update next to it)"},
};

static void repo_help(FILE *f)
{
    fprintf(f, "usage: ward repo <command> [options]   (ward repo <command> --help)\n\n"
               "A static update repository: a folder any HTTPS server serves (docs/ota.md).\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof k_sub / sizeof k_sub[0]; i++) {
        fprintf(f, "  %-8s %s\n", k_sub[i].name, k_sub[i].help);
    }
}

int ward_cmd_repo(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        repo_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? WARD_EXIT_USAGE : WARD_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof k_sub / sizeof k_sub[0]; i++) {
        if (strcmp(argv[1], k_sub[i].name) == 0) {
            return k_sub[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "ward repo: unknown command '%s'\n", argv[1]);
    repo_help(stderr);
    return WARD_EXIT_USAGE;
}
