/*
 * ward_audit: the report as JSON (libcjson), text, one stand-alone HTML
 * page (inline CSS, no script, no external asset; failures first, items by
 * pillar, phone and print layouts), and the catalogue as Markdown.
 */
#define _POSIX_C_SOURCE 200809L
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward_audit.h"
#include "ward_factory.h"

static const char *const k_pillars[] = {"secure_boot", "ble", "ota", "credentials", "hardening",
                                        "etsi"};

static const ward_audit_check_result_t *chk(const ward_audit_report_t *r, ward_audit_check_t c)
{
    return &r->checks[c];
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static cJSON *evidence_json(const ward_audit_report_t *r, ward_audit_check_t c)
{
    cJSON *e = cJSON_CreateObject();
    if (e != NULL) {
        cJSON_AddStringToObject(e, "check", ward_audit_check_name(c));
        cJSON_AddStringToObject(e, "source", ward_audit_check_source(c));
        cJSON_AddStringToObject(e, "status", ward_audit_status_name(chk(r, c)->status));
        cJSON_AddStringToObject(e, "detail", chk(r, c)->detail);
    }
    return e;
}

ward_err_t ward_audit_json_write(cJSON *root, FILE *f)
{
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    const bool ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    cJSON_free(text);
    return ok ? WARD_OK : WARD_ERR_IO;
}

cJSON *ward_audit_json_head(unsigned format, const char *device, const char *device_id,
                           const char *factory, int64_t time, bool passed)
{
    char when[21];
    cJSON *root = cJSON_CreateObject();
    if (root == NULL) {
        return NULL;
    }
    ward_factory_iso8601(time, when);
    cJSON_AddNumberToObject(root, "format", format);
    cJSON_AddStringToObject(root, "generator", "ward " WARD_VERSION_STRING);
    cJSON_AddStringToObject(root, "device", device);
    cJSON_AddStringToObject(root, "device_id", device_id);
    if (factory[0] != '\0') {
        cJSON_AddStringToObject(root, "fleet", factory);
    } else {
        cJSON_AddNullToObject(root, "fleet");
    }
    cJSON_AddStringToObject(root, "time", when);
    cJSON_AddStringToObject(root, "result", passed ? "pass" : "fail");
    return root;
}

ward_err_t ward_audit_json(const ward_audit_report_t *r, FILE *f)
{
    cJSON *root = ward_audit_json_head(WARD_AUDIT_FORMAT, r->device, r->device_id, r->factory,
                                       r->time, r->passed);
    if (root == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    cJSON *sum = cJSON_AddObjectToObject(root, "summary");
    cJSON_AddNumberToObject(sum, "items", (double)r->n_items);
    cJSON_AddNumberToObject(sum, "pass", (double)r->n_pass);
    cJSON_AddNumberToObject(sum, "fail", (double)r->n_fail);
    cJSON_AddNumberToObject(sum, "not_applicable", (double)r->n_na);
    cJSON_AddNumberToObject(sum, "not_checked", (double)r->n_unchecked);
    cJSON *failed = cJSON_AddArrayToObject(root, "failed");
    cJSON *items = cJSON_AddArrayToObject(root, "items");
    for (size_t i = 0; i < r->n_items; i++) {
        const ward_audit_item_t *it = ward_audit_item(i);
        if (r->items[i] == WARD_AUDIT_FAIL) {
            cJSON_AddItemToArray(failed, cJSON_CreateString(it->id));
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", it->id);
        cJSON_AddStringToObject(o, "pillar", it->pillar);
        cJSON_AddStringToObject(o, "source", it->source);
        cJSON_AddStringToObject(o, "title", it->title);
        cJSON_AddStringToObject(o, "status", ward_audit_status_name(r->items[i]));
        if (it->na_reason != NULL) {
            cJSON_AddStringToObject(o, "na_reason", it->na_reason);
        } else {
            cJSON_AddNullToObject(o, "na_reason");
        }
        cJSON_AddStringToObject(o, "attack", it->attack);
        cJSON_AddStringToObject(o, "defence", it->defence);
        cJSON *ev = cJSON_AddArrayToObject(o, "evidence");
        for (size_t c = 0; c < it->n_checks; c++) {
            cJSON_AddItemToArray(ev, evidence_json(r, it->checks[c]));
        }
        cJSON *ts = cJSON_AddArrayToObject(o, "tests");
        for (size_t t = 0; t < it->n_tests; t++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", it->tests[t].name);
            cJSON_AddStringToObject(x, "command", it->tests[t].command);
            cJSON_AddItemToArray(ts, x);
        }
        cJSON_AddItemToArray(items, o);
    }
    cJSON *checks = cJSON_AddArrayToObject(root, "checks");
    for (int c = 0; c < WARD_AUDIT_C_COUNT; c++) {
        cJSON_AddItemToArray(checks, evidence_json(r, (ward_audit_check_t)c));
    }
    return ward_audit_json_write(root, f);
}

/* ---- text ------------------------------------------------------------------------------------ */

static const char *upper(ward_audit_status_t s)
{
    switch (s) {
    case WARD_AUDIT_PASS:
        return "pass";
    case WARD_AUDIT_FAIL:
        return "FAIL";
    case WARD_AUDIT_NA:
        return "n/a";
    default:
        return "----";
    }
}

ward_err_t ward_audit_text(const ward_audit_report_t *r, FILE *f)
{
    fprintf(f, "ward audit of %s (%s)%s%s\n", r->device, r->device_id[0] ? r->device_id : "?",
            r->factory[0] ? " with the fleet of " : "", r->factory);
    if (r->n_fail > 0u) {
        fprintf(f, "\nfailed:\n");
        for (size_t i = 0; i < r->n_items; i++) {
            const ward_audit_item_t *it = ward_audit_item(i);
            if (r->items[i] != WARD_AUDIT_FAIL) {
                continue;
            }
            fprintf(f, "  %-24s %s\n", it->id, it->title);
            for (size_t c = 0; c < it->n_checks; c++) {
                const ward_audit_check_result_t *x = chk(r, it->checks[c]);
                if (x->status == WARD_AUDIT_FAIL) {
                    fprintf(f, "    %s: %s\n", ward_audit_check_name(it->checks[c]), x->detail);
                }
            }
        }
    }
    for (size_t p = 0; p < sizeof k_pillars / sizeof k_pillars[0]; p++) {
        fprintf(f, "\n%s\n", ward_audit_pillar_title(k_pillars[p]));
        for (size_t i = 0; i < r->n_items; i++) {
            const ward_audit_item_t *it = ward_audit_item(i);
            if (strcmp(it->pillar, k_pillars[p]) == 0) {
                fprintf(f, "  %-4s %-24s %s\n", upper(r->items[i]), it->id, it->title);
            }
        }
    }
    fprintf(f, "\n%zu items: %zu pass, %zu fail, %zu not applicable, %zu not checked\n%s\n",
            r->n_items, r->n_pass, r->n_fail, r->n_na, r->n_unchecked,
            r->passed ? "PASS" : "FAIL");
    return ferror(f) ? WARD_ERR_IO : WARD_OK;
}

/* ---- HTML ------------------------------------------------------------------------------------ */

void ward_audit_html_escape(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static void esc(FILE *f, const char *s)
{
    ward_audit_html_escape(f, s);
}

static const char k_css[] =
    ":root{--pass:#1a7f37;--fail:#c62828;--na:#6e7781;--nc:#9a6700;--line:#d0d7de;"
    "--bg:#f6f8fa}"
    "*{box-sizing:border-box}"
    "body{font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;"
    "margin:0 auto;max-width:62rem;padding:1rem}"
    "h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.6rem 0 .6rem;"
    "border-bottom:2px solid var(--line);padding-bottom:.2rem}"
    "h3{font-size:1rem;margin:0 0 .3rem}"
    "code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.86em;"
    "overflow-wrap:anywhere}"
    ".verdict{font-size:1.25rem;font-weight:700;padding:.6rem .9rem;border-radius:6px;"
    "color:#fff;margin:.6rem 0}"
    ".verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}"
    "dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.4rem 0}"
    "dl.meta dt{font-weight:600}dl.meta dd{margin:0;overflow-wrap:anywhere}"
    ".counts span{display:inline-block;margin-right:.8rem}"
    ".item{border:1px solid var(--line);border-left:6px solid var(--na);border-radius:6px;"
    "padding:.6rem .8rem;margin:.6rem 0;background:#fff}"
    ".item.pass{border-left-color:var(--pass)}.item.fail{border-left-color:var(--fail);"
    "background:#fff5f5}.item.not_checked{border-left-color:var(--nc)}"
    ".badge{display:inline-block;min-width:4.2rem;text-align:center;font-size:.75rem;"
    "font-weight:700;border-radius:4px;padding:.05rem .35rem;color:#fff;margin-right:.4rem;"
    "vertical-align:middle}"
    ".badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}"
    ".badge.not_applicable{background:var(--na)}.badge.not_checked{background:var(--nc)}"
    ".src{color:#57606a;font-size:.85rem;margin:0 0 .3rem}"
    "ul.ev{margin:.3rem 0;padding-left:1.1rem}ul.ev li{margin:.15rem 0;overflow-wrap:anywhere}"
    "ul.ev li.fail{color:var(--fail);font-weight:600}"
    ".ad{font-size:.9rem;margin:.3rem 0}.ad b{font-weight:600}"
    ".tests{font-size:.85rem;color:#57606a;margin:.3rem 0 0}"
    ".na{font-size:.9rem;color:#57606a}"
    "footer{margin-top:2rem;font-size:.8rem;color:#57606a}"
    "@media (max-width:40rem){body{font-size:15px;padding:.6rem}"
    "dl.meta{grid-template-columns:1fr}dl.meta dt{margin-top:.3rem}"
    ".badge{min-width:3.4rem}.item{padding:.5rem .6rem}}"
    "@media print{body{max-width:none;font-size:10pt;padding:0;color:#000}"
    ".verdict{color:#000;background:none!important;border:2px solid #000}"
    ".badge{color:#000;background:none!important;border:1px solid #000}"
    ".item{break-inside:avoid;background:none!important}"
    "h2{break-after:avoid}a{color:#000;text-decoration:none}}";

static void html_item(FILE *f, const ward_audit_report_t *r, size_t i, const char *id_prefix,
                      bool failing_only)
{
    const ward_audit_item_t *it = ward_audit_item(i);
    const char *st = ward_audit_status_name(r->items[i]);
    fprintf(f, "<article class=\"item %s\" id=\"%s", st, id_prefix);
    esc(f, it->id);
    fprintf(f, "\" data-status=\"%s\">\n<h3><span class=\"badge %s\">%s</span><code>", st, st,
            r->items[i] == WARD_AUDIT_PASS   ? "PASS"
            : r->items[i] == WARD_AUDIT_FAIL ? "FAIL"
            : r->items[i] == WARD_AUDIT_NA   ? "N/A"
                                             : "NOT CHECKED");
    esc(f, it->id);
    fputs("</code> ", f);
    esc(f, it->title);
    fputs("</h3>\n<p class=\"src\">", f);
    esc(f, it->source);
    fputs("</p>\n", f);
    if (it->na_reason != NULL) {
        fputs("<p class=\"na\">Not applicable to a device: ", f);
        esc(f, it->na_reason);
        fputs(".</p>\n", f);
    }
    fputs("<ul class=\"ev\">\n", f);
    for (size_t c = 0; c < it->n_checks; c++) {
        const ward_audit_check_result_t *x = chk(r, it->checks[c]);
        if (failing_only && x->status != WARD_AUDIT_FAIL) {
            continue;
        }
        fprintf(f, "<li class=\"%s\"><code>%s</code> (%s, %s): ", ward_audit_status_name(x->status),
                ward_audit_check_name(it->checks[c]), ward_audit_check_source(it->checks[c]),
                ward_audit_status_name(x->status));
        esc(f, x->detail);
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
    if (!failing_only) {
        fputs("<p class=\"ad\"><b>Attack:</b> ", f);
        esc(f, it->attack);
        fputs("<br><b>Defence:</b> ", f);
        esc(f, it->defence);
        fputs("</p>\n", f);
    }
    fputs("<p class=\"tests\">Tests: ", f);
    for (size_t t = 0; t < it->n_tests; t++) {
        fputs(t > 0u ? "; <code>" : "<code>", f);
        esc(f, it->tests[t].name);
        fputs("</code> (<code>", f);
        esc(f, it->tests[t].command);
        fputs("</code>)", f);
    }
    fputs("</p>\n</article>\n", f);
}

ward_err_t ward_audit_html(const ward_audit_report_t *r, FILE *f)
{
    char when[21];
    ward_factory_iso8601(r->time, when);
    const char *id = r->device_id[0] != '\0' ? r->device_id : "device";
    ward_audit_html_head(f, "audit", id, r->passed);
    fprintf(f, "%s: ", r->passed ? "PASS" : "FAIL");
    if (r->passed) {
        fprintf(f, "no item failed");
    } else {
        fprintf(f, "%zu of %zu items failed", r->n_fail, r->n_items);
    }
    fputs("</p>\n<dl class=\"meta\">\n<dt>Device</dt><dd><code>", f);
    esc(f, r->device);
    fputs("</code></dd>\n<dt>Fleet</dt><dd>", f);
    if (r->factory[0] != '\0') {
        fputs("<code>", f);
        esc(f, r->factory);
        fputs("</code>", f);
    } else {
        fputs("not given (fleet checks not checked)", f);
    }
    fprintf(f, "</dd>\n<dt>Time</dt><dd>%s</dd>\n<dt>Items</dt><dd class=\"counts\">"
               "<span>%zu pass</span><span>%zu fail</span><span>%zu not applicable</span>"
               "<span>%zu not checked</span></dd>\n</dl>\n</header>\n",
            when, r->n_pass, r->n_fail, r->n_na, r->n_unchecked);
    fputs("<main>\n<section id=\"failed\">\n<h2>What failed</h2>\n", f);
    if (r->n_fail == 0u) {
        fputs("<p>Nothing: every item passed, or does not apply, or could not be checked (see "
              "below).</p>\n",
              f);
    }
    for (size_t i = 0; i < r->n_items; i++) {
        if (r->items[i] == WARD_AUDIT_FAIL) {
            html_item(f, r, i, "fail-", true);
        }
    }
    fputs("</section>\n", f);
    for (size_t p = 0; p < sizeof k_pillars / sizeof k_pillars[0]; p++) {
        fprintf(f, "<section class=\"pillar\" id=\"pillar-%s\">\n<h2>", k_pillars[p]);
        esc(f, ward_audit_pillar_title(k_pillars[p]));
        fputs("</h2>\n", f);
        /* within a pillar, failures first too */
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < r->n_items; i++) {
                const ward_audit_item_t *it = ward_audit_item(i);
                if (strcmp(it->pillar, k_pillars[p]) == 0 &&
                    (r->items[i] == WARD_AUDIT_FAIL) == (pass == 0)) {
                    html_item(f, r, i, "item-", false);
                }
            }
        }
        fputs("</section>\n", f);
    }
    return ward_audit_html_foot(f, "audit", "what each item checks: docs/audit.md");
}

/* ---- the page, for sibling reports ------------------------------------------------------------ */

void ward_audit_html_head(FILE *f, const char *tool, const char *subject, bool passed)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>ward ",
          f);
    esc(f, tool);
    fputs(": ", f);
    esc(f, subject);
    fprintf(f, " (%s)</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n<h1>ward ",
            passed ? "pass" : "FAIL", k_css);
    esc(f, tool);
    fputs(": ", f);
    esc(f, subject);
    fprintf(f, "</h1>\n<p class=\"verdict %s\" id=\"verdict\">", passed ? "pass" : "fail");
}

ward_err_t ward_audit_html_foot(FILE *f, const char *tool, const char *note)
{
    fprintf(f, "</main>\n<footer>ward %s &mdash; <code>ward ", WARD_VERSION_STRING);
    esc(f, tool);
    fputs("</code>; ", f);
    esc(f, note);
    fputs("</footer>\n</body>\n</html>\n", f);
    return ferror(f) ? WARD_ERR_IO : WARD_OK;
}

/* ---- the catalogue as Markdown ------------------------------------------------------------------ */

ward_err_t ward_audit_catalogue_markdown(FILE *f, bool threat_model)
{
    if (threat_model) {
        fputs("| item | attack | defence | test |\n|---|---|---|---|\n", f);
    } else {
        fputs("| id | item | source | checks (evidence) | tests |\n|---|---|---|---|---|\n", f);
    }
    for (size_t i = 0; i < ward_audit_item_count(); i++) {
        const ward_audit_item_t *it = ward_audit_item(i);
        if (threat_model && strcmp(it->pillar, "etsi") == 0) {
            continue; /* §4 maps the seeds' checklists; EN 303 645 is in audit.md */
        }
        if (threat_model) {
            fprintf(f, "| `%s` %s | %s | %s | ", it->id, it->title, it->attack, it->defence);
        } else {
            fprintf(f, "| `%s` | %s | %s | ", it->id, it->title, it->source);
            if (it->na_reason != NULL) {
                fprintf(f, "not applicable: %s; shown: ", it->na_reason);
            }
            for (size_t c = 0; c < it->n_checks; c++) {
                fprintf(f, "%s`%s`", c > 0u ? ", " : "", ward_audit_check_name(it->checks[c]));
            }
            fputs(" | ", f);
        }
        for (size_t t = 0; t < it->n_tests; t++) {
            fprintf(f, "%s`%s`", t > 0u ? ", " : "", it->tests[t].name);
        }
        fputs(" |\n", f);
    }
    return ferror(f) ? WARD_ERR_IO : WARD_OK;
}
