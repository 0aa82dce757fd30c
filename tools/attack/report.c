/*
 * ward_attack: the report as JSON (libcjson; docs/attack.md: the schema),
 * text, and one stand-alone HTML page written with the audit's page
 * (tools/audit: the same stylesheet, banner and cards), and the catalogue
 * as Markdown.
 */
#define _POSIX_C_SOURCE 200809L
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward_attack.h"
#include "ward_audit.h"
#include "ward_factory.h"

static const char *const k_pillars[] = {"secure_boot", "ota", "ble", "credentials", "cloud"};
#define N_PILLARS (sizeof k_pillars / sizeof k_pillars[0])

/* The audit item's title, for the checklist an attack answers. */
static const char *item_title(const char *id)
{
    for (size_t i = 0; i < ward_audit_item_count(); i++) {
        const ward_audit_item_t *it = ward_audit_item(i);
        if (strcmp(it->id, id) == 0) {
            return it->title;
        }
    }
    return NULL;
}

/* ---- JSON --------------------------------------------------------------------------------------- */

ward_err_t ward_attack_json(const ward_attack_report_t *r, FILE *f)
{
    cJSON *root = ward_audit_json_head(WARD_ATTACK_FORMAT, r->device, r->device_id, r->factory,
                                       r->time, r->passed);
    if (root == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    cJSON_AddBoolToObject(root, "passed", r->passed);
    cJSON *sum = cJSON_AddObjectToObject(root, "summary");
    cJSON_AddNumberToObject(sum, "attacks", (double)r->n);
    cJSON_AddNumberToObject(sum, "refused", (double)r->n_refused);
    cJSON_AddNumberToObject(sum, "succeeded", (double)r->n_succeeded);
    cJSON_AddNumberToObject(sum, "skipped", (double)r->n_skipped);
    cJSON_AddNumberToObject(sum, "error", (double)r->n_error);
    cJSON_AddNumberToObject(sum, "not_run", (double)r->n_not_run);
    cJSON *succ = cJSON_AddArrayToObject(root, "succeeded");
    cJSON *list = cJSON_AddArrayToObject(root, "attacks");
    for (size_t i = 0; i < r->n; i++) {
        const ward_attack_def_t *d = ward_attack_def(i);
        const ward_attack_result_t *x = &r->results[i];
        if (x->verdict == WARD_ATTACK_SUCCEEDED) {
            cJSON_AddItemToArray(succ, cJSON_CreateString(d->id));
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", d->id);
        cJSON_AddStringToObject(o, "pillar", d->pillar);
        cJSON_AddStringToObject(o, "title", d->title);
        cJSON_AddStringToObject(o, "verdict", ward_attack_verdict_name(x->verdict));
        cJSON_AddStringToObject(o, "attack", d->tried);
        cJSON_AddStringToObject(o, "refused_when", d->refused_when);
        cJSON_AddStringToObject(o, "tried", x->tried);
        cJSON_AddStringToObject(o, "observed", x->observed);
        cJSON_AddStringToObject(o, "evidence", x->evidence);
        cJSON_AddNumberToObject(o, "ms", (double)x->ms);
        cJSON *items = cJSON_AddArrayToObject(o, "items");
        for (size_t k = 0; k < d->n_items; k++) {
            cJSON_AddItemToArray(items, cJSON_CreateString(d->items[k]));
        }
        cJSON *ts = cJSON_AddArrayToObject(o, "tests");
        for (size_t t = 0; t < d->n_tests; t++) {
            char cmd[160];
            snprintf(cmd, sizeof cmd, "ctest --preset host -R '^%s$'", d->tests[t]);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", d->tests[t]);
            cJSON_AddStringToObject(e, "command", cmd);
            cJSON_AddItemToArray(ts, e);
        }
        cJSON_AddItemToArray(list, o);
    }
    return ward_audit_json_write(root, f);
}

/* ---- text ---------------------------------------------------------------------------------------- */

static const char *word(ward_attack_verdict_t v)
{
    switch (v) {
    case WARD_ATTACK_REFUSED:
        return "refused";
    case WARD_ATTACK_SUCCEEDED:
        return "SUCCEEDED";
    case WARD_ATTACK_SKIPPED:
        return "SKIPPED";
    case WARD_ATTACK_ERROR:
        return "ERROR";
    default:
        return "-";
    }
}

ward_err_t ward_attack_text(const ward_attack_report_t *r, FILE *f)
{
    fprintf(f, "ward attack on %s (%s)%s%s\n", r->device, r->device_id[0] ? r->device_id : "?",
            r->factory[0] ? " with the fleet of " : "", r->factory);
    if (r->n_succeeded > 0u) {
        fprintf(f, "\nsucceeded:\n");
        for (size_t i = 0; i < r->n; i++) {
            if (r->results[i].verdict == WARD_ATTACK_SUCCEEDED) {
                fprintf(f, "  %-24s %s\n    %s\n", ward_attack_def(i)->id, ward_attack_def(i)->title,
                        r->results[i].observed);
            }
        }
    }
    for (size_t p = 0; p < N_PILLARS; p++) {
        bool any = false;
        for (size_t i = 0; i < r->n; i++) {
            any = any || (strcmp(ward_attack_def(i)->pillar, k_pillars[p]) == 0 &&
                          r->results[i].verdict != WARD_ATTACK_NOT_RUN);
        }
        if (any) {
            fprintf(f, "\n%s\n", ward_attack_pillar_title(k_pillars[p]));
        }
        for (size_t i = 0; i < r->n; i++) {
            const ward_attack_def_t *d = ward_attack_def(i);
            const ward_attack_result_t *x = &r->results[i];
            if (strcmp(d->pillar, k_pillars[p]) != 0 || x->verdict == WARD_ATTACK_NOT_RUN) {
                continue;
            }
            fprintf(f, "  %-9s %-24s %s\n            %s\n", word(x->verdict), d->id, d->title,
                    x->observed);
        }
    }
    fprintf(f, "\n%zu of %zu attacks run: %zu refused, %zu succeeded, %zu skipped, %zu error\n%s%s\n",
            r->n - r->n_not_run, r->n, r->n_refused, r->n_succeeded, r->n_skipped, r->n_error,
            r->passed                                          ? "PASS"
            : r->n_succeeded == 0u && r->n_error == 0u ? "NO VERDICT: no attack could run here"
                                                               : "FAIL",
            r->passed && r->n_skipped > 0u ? " (the skipped attacks are no verdict: run them where "
                                             "they can run)"
                                           : "");
    return ferror(f) ? WARD_ERR_IO : WARD_OK;
}

/* ---- HTML ---------------------------------------------------------------------------------------- */

/* The audit page's card classes: refused reads as a pass, a success as a
 * failure of the device. */
static const char *css_class(ward_attack_verdict_t v)
{
    switch (v) {
    case WARD_ATTACK_REFUSED:
        return "pass";
    case WARD_ATTACK_SUCCEEDED:
        return "fail";
    case WARD_ATTACK_NOT_RUN:
        return "not_applicable";
    default:
        return "not_checked";
    }
}

static void card(FILE *f, const ward_attack_report_t *r, size_t i, const char *prefix, bool brief)
{
    const ward_attack_def_t *d = ward_attack_def(i);
    const ward_attack_result_t *x = &r->results[i];
    const char *c = css_class(x->verdict);
    fprintf(f, "<article class=\"item %s\" id=\"%s", c, prefix);
    ward_audit_html_escape(f, d->id);
    fprintf(f, "\" data-verdict=\"%s\">\n<h3><span class=\"badge %s\">%s</span><code>",
            ward_attack_verdict_name(x->verdict), c,
            x->verdict == WARD_ATTACK_REFUSED     ? "REFUSED"
            : x->verdict == WARD_ATTACK_SUCCEEDED ? "SUCCEEDED"
            : x->verdict == WARD_ATTACK_SKIPPED   ? "SKIPPED"
            : x->verdict == WARD_ATTACK_ERROR     ? "ERROR"
                                                  : "NOT RUN");
    ward_audit_html_escape(f, d->id);
    fputs("</code> ", f);
    ward_audit_html_escape(f, d->title);
    fputs("</h3>\n<ul class=\"ev\">\n<li><b>Tried:</b> ", f);
    ward_audit_html_escape(f, x->tried[0] != '\0' ? x->tried : d->tried);
    fprintf(f, "</li>\n<li class=\"%s\"><b>The device:</b> ", c);
    ward_audit_html_escape(f, x->observed);
    fputs("</li>\n", f);
    if (x->evidence[0] != '\0') {
        fputs("<li><b>Evidence:</b> <code>", f);
        ward_audit_html_escape(f, x->evidence);
        fputs("</code></li>\n", f);
    }
    fputs("</ul>\n", f);
    if (!brief) {
        fputs("<p class=\"ad\"><b>Refused when:</b> ", f);
        ward_audit_html_escape(f, d->refused_when);
        fputs("<br><b>Checklist:</b> ", f);
        for (size_t k = 0; k < d->n_items; k++) {
            const char *t = item_title(d->items[k]);
            fputs(k > 0u ? "; <code>" : "<code>", f);
            ward_audit_html_escape(f, d->items[k]);
            fputs("</code>", f);
            if (t != NULL) {
                fputs(" ", f);
                ward_audit_html_escape(f, t);
            }
        }
        fputs("</p>\n", f);
    }
    fputs("<p class=\"tests\">Tests: ", f);
    for (size_t t = 0; t < d->n_tests; t++) {
        fputs(t > 0u ? "; <code>" : "<code>", f);
        ward_audit_html_escape(f, d->tests[t]);
        fputs("</code>", f);
    }
    fprintf(f, " (<code>ctest --preset host -R NAME</code>); %u ms</p>\n</article>\n",
            (unsigned)x->ms);
}

ward_err_t ward_attack_html(const ward_attack_report_t *r, FILE *f)
{
    char when[21];
    ward_factory_iso8601(r->time, when);
    const char *id = r->device_id[0] != '\0' ? r->device_id : "device";
    ward_audit_html_head(f, "attack", id, r->passed);
    if (r->passed) {
        fprintf(f, "PASS: every attack that ran was refused");
    } else if (r->n_succeeded > 0u) {
        fprintf(f, "FAIL: %zu of %zu attacks succeeded", r->n_succeeded, r->n);
    } else if (r->n_error > 0u) {
        fprintf(f, "FAIL: %zu attacks could not be judged (errors)", r->n_error);
    } else {
        fprintf(f, "NO VERDICT: no attack could run here (each says why below)");
    }
    fputs("</p>\n<dl class=\"meta\">\n<dt>Device</dt><dd><code>", f);
    ward_audit_html_escape(f, r->device);
    fputs("</code></dd>\n<dt>Fleet</dt><dd>", f);
    if (r->factory[0] != '\0') {
        fputs("<code>", f);
        ward_audit_html_escape(f, r->factory);
        fputs("</code>", f);
    } else {
        fputs("not given (manifests signed with an attacker's key; no broker)", f);
    }
    fprintf(f, "</dd>\n<dt>Time</dt><dd>%s</dd>\n<dt>Attacks</dt><dd class=\"counts\">"
               "<span>%zu refused</span><span>%zu succeeded</span><span>%zu skipped</span>"
               "<span>%zu error</span></dd>\n</dl>\n</header>\n",
            when, r->n_refused, r->n_succeeded, r->n_skipped, r->n_error);
    fputs("<main>\n<section id=\"failed\">\n<h2>What succeeded</h2>\n", f);
    if (r->n_succeeded == 0u) {
        fputs("<p>Nothing: every attack that ran was refused (skipped ones say why below).</p>\n",
              f);
    }
    for (size_t i = 0; i < r->n; i++) {
        if (r->results[i].verdict == WARD_ATTACK_SUCCEEDED) {
            card(f, r, i, "fail-", true);
        }
    }
    fputs("</section>\n", f);
    for (size_t p = 0; p < N_PILLARS; p++) {
        fprintf(f, "<section class=\"pillar\" id=\"pillar-%s\">\n<h2>", k_pillars[p]);
        ward_audit_html_escape(f, ward_attack_pillar_title(k_pillars[p]));
        fputs("</h2>\n", f);
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < r->n; i++) {
                const ward_attack_def_t *d = ward_attack_def(i);
                if (strcmp(d->pillar, k_pillars[p]) == 0 &&
                    (r->results[i].verdict == WARD_ATTACK_SUCCEEDED) == (pass == 0)) {
                    card(f, r, i, "attack-", false);
                }
            }
        }
        fputs("</section>\n", f);
    }
    return ward_audit_html_foot(f, "attack", "what each attack does: docs/attack.md");
}

/* ---- the catalogue ------------------------------------------------------------------------------ */

ward_err_t ward_attack_catalogue_markdown(FILE *f)
{
    fputs("| attack | what the attacker does | refused when | checklist items | tests |\n"
          "|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < ward_attack_count(); i++) {
        const ward_attack_def_t *d = ward_attack_def(i);
        fprintf(f, "| `%s` %s | %s | %s | ", d->id, d->title, d->tried, d->refused_when);
        for (size_t k = 0; k < d->n_items; k++) {
            fprintf(f, "%s`%s`", k > 0u ? ", " : "", d->items[k]);
        }
        fputs(" | ", f);
        for (size_t t = 0; t < d->n_tests; t++) {
            fprintf(f, "%s`%s`", t > 0u ? ", " : "", d->tests[t]);
        }
        fputs(" |\n", f);
    }
    return ferror(f) ? WARD_ERR_IO : WARD_OK;
}
