/* ward demo internals: the step report, the simulated-device helpers and
 * the process helpers (demo_proc.c) shared by the demo's chapters
 * (cmd_demo.c, demo_ble.c, demo_cloud.c, demo_ota.c, demo_vault.c). */
#ifndef WARD_TOOLS_DEMO_PRIV_H
#define WARD_TOOLS_DEMO_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ward/boot.h"
#include "ward/sim.h"

#define DEMO_MAX_STEPS 128
/* The plug: its device class (updates are published for it) and the id
 * the factory gives it (its certificate's CN, its MQTT user and topics). */
#define DEMO_CLASS "smart-plug"
#define DEMO_DEVICE_ID "plug-0001"

typedef struct demo_step {
    char what[160];
    char observed[256];
    char fixed[96]; /* what of it must not vary from run to run ("" none): in the transcript */
    bool ok;
    bool skipped; /* not run (a tool is missing): said so, not a failure */
} demo_step_t;

typedef struct demo {
    const char *dir;
    bool quiet;
    size_t nsteps;
    unsigned failed;
    unsigned skipped;
    /* The demos' lock on the broker's port 8883 (demo_port_lock), held from
     * factory init until this demo's Mosquitto has stopped: another demo
     * waits for it. -1: not held. */
    int broker_hold;
    const char *chapter[DEMO_MAX_STEPS]; /* title starting at step i, or NULL */
    demo_step_t steps[DEMO_MAX_STEPS];
} demo_t;

void demo_init(demo_t *d, const char *dir, bool quiet);
/* Start a chapter of the story (a section of the report). */
void demo_chapter(demo_t *d, const char *title);
/* Record a step: what must happen, and what was observed. Returns ok. */
bool demo_check(demo_t *d, bool ok, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A step that could not run (a tool is missing): printed and reported as
 * SKIPPED with why, not counted as a failure. */
void demo_skip(demo_t *d, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The part of the last step's observation that must be the same on every run
 * (counts a passing check does not pin down): kept in the transcript, so that
 * a change of it fails demo_transcript. */
void demo_fix(demo_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line of narration (not a checked step). */
void demo_note(demo_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void demo_path(const demo_t *d, char *out, size_t n, const char *name);
ward_err_t demo_save(const demo_t *d, const char *name, const void *data, size_t len);
ward_err_t demo_dev_open(const demo_t *d, ward_sim_device_t *dev);
/* One reset of the simulated device (optionally with a power cut). */
ward_fih_t demo_boot(const demo_t *d, ward_boot_report_t *rep, uint64_t cut_after, bool torn,
                     ward_err_t *err);
ward_err_t demo_confirm(const demo_t *d);
ward_err_t demo_stage(const demo_t *d, const uint8_t *img, size_t len);
/* "1.2.3+4" in a small rotating static buffer. */
const char *demo_version(const ward_image_version_t *v);

/* Processes (demo_proc.c). */
unsigned demo_free_port(void);           /* a free TCP port on 127.0.0.1, 0 if none */
bool demo_listening(unsigned port);      /* something accepts on 127.0.0.1:port */
/* No program listens on port (on 127.0.0.1 or any address): a server can bind it. */
bool demo_port_free(unsigned port);
/* The demos' lock on port (flock on /tmp/ward-demo-port-PORT.lock), waiting
 * up to wait_s seconds while another demo holds it (*waited then true): the
 * fd to close to release it, -1 when it stayed held. */
int demo_port_lock(unsigned port, unsigned wait_s, bool *waited);
/* pid itself holds a socket listening on port (IPv4 or IPv6, any address):
 * not merely something on the port, which may be another program's. */
bool demo_listening_pid(pid_t pid, unsigned port);
/* A tool: $env if set (then that one or none), else /usr/sbin, /usr/local/sbin,
 * /usr/bin, $PATH. out (n bytes) gets the path; NULL when not found. */
const char *demo_find_tool(const char *name, const char *env, char *out, size_t n);
/* Start a server: stdout and stderr to log; it dies with the demo. -1 on failure. */
pid_t demo_spawn(const char *bin, char *const argv[], const char *log);
bool demo_alive(pid_t pid);
/* SIGTERM, SIGKILL after 2 s; reaped; *pid = 0. Safe to call twice. */
void demo_stop(pid_t *pid);
/* Run this ward binary with argv (argv[0] "ward"), stdout to out, stderr to
 * err; killed after timeout_s. Its exit code, or -1 (killed, not run). */
int demo_run_ward(char *const argv[], const char *out, const char *err, unsigned timeout_s);
/* The same for another program. */
int demo_run(const char *bin, char *const argv[], const char *out, const char *err,
             unsigned timeout_s);

/* Chapters in their own files. */
bool demo_vault_story(demo_t *d);
/* The plug connects to the factory's Mosquitto with its certificate and
 * reports (demo_cloud.c); Mosquitto is started and stopped here. */
bool demo_cloud_story(demo_t *d);
/* BLE over BlueZ's emulator (demo_ble.c); skipped, visibly, without it. */
bool demo_ble_story(demo_t *d);

/* What the over-the-air chapter gets from the build pipeline. */
typedef struct demo_ota_in {
    uint32_t boot_key;         /* PSA key id of the boot signing key */
    const uint8_t *boot_spki;  /* its public key, 91-byte DER */
    uint32_t ota_key;          /* PSA key id of the factory's OTA key */
    const uint8_t *v2, *v3;    /* signed images */
    size_t v2_len, v3_len;
} demo_ota_in_t;

/* v2 over HTTPS from nginx (demo_ota.c); *served says whether nginx ran
 * (when it did not, the caller installs v2 another way so the story goes on). */
bool demo_ota_story(demo_t *d, const demo_ota_in_t *in, bool *served);

#endif
