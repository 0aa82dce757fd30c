/*
 * ward vault bench, on the simulator (host CPU, software AES and SHA-256):
 *   - put and get operations per second (64-byte values, 20 other records,
 *     garbage collection included), mount time;
 *   - flash bytes programmed per put of a 64-byte value (write
 *     amplification), with and without garbage collection;
 *   - HSM counter increments per put, delete, garbage collection, the
 *     session commit of the first change after a mount, format and wipe;
 *   - RAM of a mounted vault (the context) and the peak stack of a call.
 *
 *   vault_bench [RESULTS_FILE [PUTS]]   (default bench/results/vault.txt, 20000)
 * Prints the results and writes them to RESULTS_FILE.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdarg.h>
#include <time.h>

#include "vault_test.h"

static FILE *g_out;

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (g_out != NULL) {
        va_start(ap, fmt);
        vfprintf(g_out, fmt, ap);
        va_end(ap);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, ward_err_t err)
{
    fprintf(stderr, "vault_bench: %s: %s\n", what, ward_err_name(err));
    exit(1);
}

/* ---- stack high-water mark: run the call on a thread whose stack is a
 * buffer filled with a pattern, then find the deepest byte it changed. --- */

#define STACK_BYTES (256u * 1024u)
#define PAINT 0xA5u

typedef enum { OP_NONE, OP_PUT, OP_GET, OP_MOUNT, OP_DELETE } op_t;

static __attribute__((noinline)) void run_op(op_t op, ward_vault_t *v, const tv_dev_t *d,
                                            const uint8_t *val)
{
    uint8_t buf[64];
    size_t n = 0;
    ward_err_t err = WARD_OK;
    switch (op) {
    case OP_NONE:
        break;
    case OP_PUT:
        err = ward_vault_put(v, "stack", val, 64);
        break;
    case OP_GET:
        err = ward_vault_get(v, buf, sizeof buf, &n, "stack");
        break;
    case OP_MOUNT:
        ward_vault_unmount(v);
        err = ward_vault_mount(v, &d->cfg);
        break;
    case OP_DELETE:
        err = ward_vault_delete(v, "stack");
        break;
    }
    if (err != WARD_OK) {
        die("stack probe", err);
    }
}

typedef struct {
    op_t op;
    ward_vault_t *v;
    const tv_dev_t *d;
    const uint8_t *val;
} job_t;

static void *job_main(void *arg)
{
    const job_t *j = arg;
    run_op(j->op, j->v, j->d, j->val);
    return NULL;
}

static size_t stack_of(op_t op, ward_vault_t *v, const tv_dev_t *d, const uint8_t *val)
{
    uint8_t *stack = aligned_alloc(4096, STACK_BYTES);
    pthread_attr_t attr;
    pthread_t th;
    job_t job = {op, v, d, val};
    if (stack == NULL) {
        die("stack", WARD_ERR_IO);
    }
    memset(stack, PAINT, STACK_BYTES);
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstack(&attr, stack, STACK_BYTES) != 0 ||
        pthread_create(&th, &attr, job_main, &job) != 0 || pthread_join(th, NULL) != 0) {
        die("thread", WARD_ERR_IO);
    }
    pthread_attr_destroy(&attr);
    /* The stack grows down: untouched bytes remain at the low end. */
    size_t i = 0;
    while (i < STACK_BYTES && stack[i] == PAINT) {
        i++;
    }
    free(stack);
    return STACK_BYTES - i;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "bench/results/vault.txt";
    const uint32_t puts = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 20000u;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t val[64], buf[64];
    char name[32];
    size_t n = 0;
    ward_err_t err;

    g_out = fopen(path, "w");
    if (g_out == NULL) {
        perror(path);
        return 1;
    }
    if (tv_open(&d, 4, 4096, 8, true, NULL) != 0) {
        die("device", WARD_ERR_IO);
    }
    say("ward vault bench (simulator: 4 sectors x 4 KiB, write size 8, program-once;\n"
        "AES-256-GCM and HMAC-SHA256 in software Mbed TLS; %u puts)\n\n",
        (unsigned)puts);

    if ((err = ward_vault_format(&v, &d.cfg)) != WARD_OK) {
        die("format", err);
    }
    for (uint32_t i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "static/%02u", (unsigned)i);
        tv_value(val, 48, name, 1);
        if ((err = ward_vault_put(&v, name, val, 48)) != WARD_OK) {
            die("static put", err);
        }
    }

    /* First puts on a fresh head sector: what one put costs, no GC. */
    ward_vault_unmount(&v);
    uint64_t i0 = d.hsm.increments;
    if ((err = ward_vault_format(&v, &d.cfg)) != WARD_OK) {
        die("format", err);
    }
    const uint64_t fmt_incs = d.hsm.increments - i0;
    if ((err = ward_vault_put(&v, "warmup", val, 8)) != WARD_OK) {
        die("put", err);
    }
    uint64_t b0 = d.flash.stats.bytes_programmed, p0 = d.flash.stats.progs;
    i0 = d.hsm.increments;
    tv_value(val, 64, "hot", 0);
    if ((err = ward_vault_put(&v, "hot", val, 64)) != WARD_OK) {
        die("put", err);
    }
    const uint64_t one_bytes = d.flash.stats.bytes_programmed - b0;
    const uint64_t one_progs = d.flash.stats.progs - p0;
    const uint64_t one_incs = d.hsm.increments - i0;
    i0 = d.hsm.increments;
    b0 = d.flash.stats.bytes_programmed;
    if ((err = ward_vault_delete(&v, "hot")) != WARD_OK) {
        die("delete", err);
    }
    const uint64_t del_incs = d.hsm.increments - i0;
    const uint64_t del_bytes = d.flash.stats.bytes_programmed - b0;

    /* Steady state: 20 static records, one hot 64-byte credential. */
    for (uint32_t i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "static/%02u", (unsigned)i);
        tv_value(val, 48, name, 1);
        if ((err = ward_vault_put(&v, name, val, 48)) != WARD_OK) {
            die("static put", err);
        }
    }
    b0 = d.flash.stats.bytes_programmed;
    i0 = d.hsm.increments;
    const uint64_t e0 = d.flash.stats.erases;
    double t0 = now_s();
    for (uint32_t i = 0; i < puts; i++) {
        val[0] = (uint8_t)i;
        val[1] = (uint8_t)(i >> 8);
        if ((err = ward_vault_put(&v, "hot", val, 64)) != WARD_OK) {
            die("put", err);
        }
    }
    double t_put = now_s() - t0;
    const uint64_t bytes = d.flash.stats.bytes_programmed - b0;
    const uint64_t incs = d.hsm.increments - i0;
    const uint64_t gcs = d.flash.stats.erases - e0;

    t0 = now_s();
    for (uint32_t i = 0; i < puts; i++) {
        if ((err = ward_vault_get(&v, buf, sizeof buf, &n, "hot")) != WARD_OK) {
            die("get", err);
        }
    }
    double t_get = now_s() - t0;

    const uint32_t mounts = 200;
    t0 = now_s();
    for (uint32_t i = 0; i < mounts; i++) {
        ward_vault_unmount(&v);
        if ((err = ward_vault_mount(&v, &d.cfg)) != WARD_OK) {
            die("mount", err);
        }
    }
    double t_mount = (now_s() - t0) / mounts;


    const size_t st_base = stack_of(OP_NONE, &v, &d, val);
    const size_t st_put = stack_of(OP_PUT, &v, &d, val);
    const size_t st_get = stack_of(OP_GET, &v, &d, val);
    const size_t st_del = stack_of(OP_DELETE, &v, &d, val);
    const size_t st_mount = stack_of(OP_MOUNT, &v, &d, val);

    /* The first change after that mount: the session commit first. Then a
     * factory wipe. */
    i0 = d.hsm.increments;
    b0 = d.flash.stats.bytes_programmed;
    if ((err = ward_vault_delete(&v, "static/00")) != WARD_OK) {
        die("delete", err);
    }
    const uint64_t ses_incs = d.hsm.increments - i0 - del_incs;
    const uint64_t ses_bytes = d.flash.stats.bytes_programmed - b0 - del_bytes;
    i0 = d.hsm.increments;
    if ((err = ward_vault_wipe(&v)) != WARD_OK) {
        die("wipe", err);
    }
    const uint64_t wipe_incs = d.hsm.increments - i0;

    say("operations per second\n");
    say("  put  (64 B, 21 records, GC included)  %10.0f /s\n", puts / t_put);
    say("  get  (64 B, tag verified)             %10.0f /s\n", puts / t_get);
    say("  mount (21 records, log of 4 sectors)  %10.1f us\n\n", t_mount * 1e6);
    say("flash bytes programmed per put of a 64-byte value\n");
    say("  one put, no GC: %llu bytes in %llu programs (record %u + commit 2 x %u);"
        " write amplification %.2f\n",
        (unsigned long long)one_bytes, (unsigned long long)one_progs,
        (unsigned)(one_bytes - 2u * 40u), 40u, (double)one_bytes / 64.0);
    say("  steady state with GC (20 static records): %.1f bytes per put;"
        " write amplification %.2f\n",
        (double)bytes / puts, (double)bytes / puts / 64.0);
    say("  sector erases: one per %.1f puts\n\n", gcs > 0 ? (double)puts / (double)gcs : 0.0);
    say("HSM counter increments (ATECC608A-class counter: %u)\n", WARD_HSM_COUNTER_MAX);
    say("  put %llu, delete %llu (%llu flash bytes), GC 0, format %llu, wipe %llu\n",
        (unsigned long long)one_incs, (unsigned long long)del_incs,
        (unsigned long long)del_bytes, (unsigned long long)fmt_incs,
        (unsigned long long)wipe_incs);
    say("  the first change after a mount first writes the session commit: +%llu"
        " (%llu flash bytes)\n",
        (unsigned long long)ses_incs, (unsigned long long)ses_bytes);
    say("  steady state: %.4f per put; the counter lasts %.2f million puts\n\n",
        (double)incs / puts, (double)WARD_HSM_COUNTER_MAX / ((double)incs / puts) / 1e6);
    say("RAM\n");
    say("  mounted vault context (ward_vault_t): %zu bytes"
        " (%u records x %zu + %u sectors x %zu + entry buffer %u + %zu)\n",
        sizeof(ward_vault_t), (unsigned)WARD_VAULT_MAX_RECORDS, sizeof(ward_vault_rec_t),
        (unsigned)WARD_VAULT_MAX_SECTORS, sizeof(ward_vault_sector_t),
        (unsigned)WARD_VAULT_ENTRY_MAX,
        sizeof(ward_vault_t) - WARD_VAULT_MAX_RECORDS * sizeof(ward_vault_rec_t) -
            WARD_VAULT_MAX_SECTORS * sizeof(ward_vault_sector_t) - WARD_VAULT_ENTRY_MAX);
    say("  peak stack per call on this host (x86-64; thread start-up of %zu bytes\n"
        "  subtracted; Mbed TLS's AES-GCM and HMAC included, and in mount the\n"
        "  simulated HSM's HKDF, which a real HSM runs on its own stack):\n"
        "    put %zu, get %zu, delete %zu, mount %zu bytes\n",
        st_base, st_put - st_base, st_get - st_base, st_del - st_base, st_mount - st_base);
    say("  no heap: the vault never allocates\n");

    ward_vault_unmount(&v);
    tv_close(&d);
    fclose(g_out);
    printf("\nwritten to %s\n", path);
    return 0;
}
