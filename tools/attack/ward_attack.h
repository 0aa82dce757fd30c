/*
 * ward_attack: `ward attack` (docs/attack.md). The attacks of the seeds'
 * threat model, run for real against a simulated unit: images at boot
 * (tampered, unsigned, another key, a downgrade), the update path (a man in
 * the middle, a tampered manifest, a replayed one, one signed with the boot
 * key), BLE (an unpaired or Just Works write to a control characteristic,
 * pairing outside the window, an invalid-curve key) over an HCI controller,
 * the credentials (a flash dump searched for every stored secret, a cloned
 * flash chip, an older flash image written back) and the cloud identity (a
 * cloned certificate used from another device, against the factory's
 * broker).
 *
 * Every attack runs on a private copy of DEVICE/ (one per attack, so they
 * do not interact), removed afterwards: the unit is only read. Each result
 * says what was tried, what the device did, and the evidence (the error
 * code, the ATT or SMP code, the broker's log line). An attack that cannot
 * run here (no controller, no broker, no key to sign with) is SKIPPED with
 * its reason, never counted as refused.
 *
 * Host code: allocates, uses files, starts processes (Mosquitto) and a TLS
 * server of its own. Call ward_crypto_init() first.
 */
#ifndef WARD_TOOLS_ATTACK_H
#define WARD_TOOLS_ATTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_ATTACK_FORMAT 1u

typedef enum ward_attack_verdict {
    WARD_ATTACK_NOT_RUN = 0,   /* not asked for (--only) */
    WARD_ATTACK_REFUSED = 1,   /* the device refused: the defence held */
    WARD_ATTACK_SUCCEEDED = 2, /* the attack worked: the device is vulnerable */
    WARD_ATTACK_SKIPPED = 3,   /* could not run here; `observed` says why */
    WARD_ATTACK_ERROR = 4      /* the harness failed: no verdict on the device */
} ward_attack_verdict_t;

/* "not_run", "refused", "succeeded", "skipped", "error". */
const char *ward_attack_verdict_name(ward_attack_verdict_t v);

#define WARD_ATTACK_ITEMS 4u
#define WARD_ATTACK_TESTS 3u

/* One attack of the catalogue (attack.c), in report order. */
typedef struct ward_attack_def {
    const char *id;     /* "boot.tampered_image" */
    const char *pillar; /* "secure_boot", "ota", "ble", "credentials", "cloud" */
    const char *title;  /* "A tampered image at boot" */
    const char *tried;  /* what the attacker does */
    const char *refused_when; /* what the device must do for "refused" */
    const char *items[WARD_ATTACK_ITEMS]; /* the checklist items it answers (ward audit ids) */
    size_t n_items;
    const char *tests[WARD_ATTACK_TESTS]; /* ctest names of the tests behind the defence */
    size_t n_tests;
    const char *needs;  /* "" or what it needs to run ("--fleet", "btvirt", ...) */
} ward_attack_def_t;

/* The catalogue. */
size_t ward_attack_count(void);
const ward_attack_def_t *ward_attack_def(size_t i);
/* A pillar's title ("Secure boot"). */
const char *ward_attack_pillar_title(const char *pillar);

#define WARD_ATTACK_TEXT_MAX 480u

typedef struct ward_attack_result {
    ward_attack_verdict_t verdict;
    char tried[WARD_ATTACK_TEXT_MAX];    /* this run's specifics */
    char observed[WARD_ATTACK_TEXT_MAX]; /* what the device did (or why skipped) */
    char evidence[WARD_ATTACK_TEXT_MAX]; /* error codes, ATT/SMP codes, log lines */
    uint32_t ms;                         /* how long it took */
} ward_attack_result_t;

typedef struct ward_attack_opts {
    const char *device;  /* DEVICE/ */
    const char *factory; /* FACTORY/, or NULL: no fleet keys, no broker */
    /* An H4 controller server where every connection gets a controller of
     * one shared radio (BlueZ's btvirt -s: its bt-server-bredrle socket);
     * NULL: the BLE attacks are skipped with hci_why. */
    const char *hci_socket;
    const char *hci_why;
    const char *mosquitto; /* NULL: $WARD_MOSQUITTO, /usr/sbin/mosquitto, $PATH */
    const char *only;      /* run only the attacks whose id starts with this; NULL: all */
    const char *keep;      /* work here and keep it (an empty or missing folder); NULL:
                              a private temporary folder, removed */
    /* Called after each attack (may be NULL): progress on a terminal. */
    void (*progress)(void *ctx, const ward_attack_def_t *def, const ward_attack_result_t *r);
    void *progress_ctx;
} ward_attack_opts_t;

typedef struct ward_attack_report {
    char device[1024];
    char factory[1024]; /* "" without --fleet */
    char device_id[65]; /* the certificate's CN, "" if none */
    int64_t time;
    size_t n; /* = ward_attack_count() */
    ward_attack_result_t *results; /* n of them, in catalogue order (malloc'd) */
    size_t n_refused, n_succeeded, n_skipped, n_error, n_not_run;
    bool passed; /* no attack succeeded and none failed to run for an error */
} ward_attack_report_t;

/*
 * Run the attacks. WARD_OK when the report could be made (rep->passed is
 * the verdict); WARD_ERR_NOT_FOUND (no device at o->device, or no factory
 * at o->factory), WARD_ERR_IO (no private copy could be made),
 * WARD_ERR_NO_SPACE. Free the report with ward_attack_report_free.
 */
ward_err_t ward_attack_run(const ward_attack_opts_t *o, ward_attack_report_t *rep);
void ward_attack_report_free(ward_attack_report_t *rep);

/* The report as JSON (docs/attack.md: the schema), as text, as one
 * stand-alone HTML page in the audit report's style (tools/audit's page).
 * WARD_OK or WARD_ERR_IO / WARD_ERR_NO_SPACE. */
ward_err_t ward_attack_json(const ward_attack_report_t *rep, FILE *f);
ward_err_t ward_attack_text(const ward_attack_report_t *rep, FILE *f);
ward_err_t ward_attack_html(const ward_attack_report_t *rep, FILE *f);

/* The catalogue as Markdown (docs/attack.md's table, threat-model.md §6). */
ward_err_t ward_attack_catalogue_markdown(FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_ATTACK_H */
