/*
 * ward_audit: the device profile's checks (docs/audit.md). The profile
 * states what the image enables; these checks hold it to the seeds'
 * checklists, and to what the unit's OTP says.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "audit_priv.h"

#define P(x) WARD_AUDIT_C_P_##x

static const ward_audit_check_t k_profile_checks[] = {
    P(DEBUG),      P(ACCOUNTS),    P(SERVICES), P(FLOWS),  P(UPDATE_URL), P(BROKER),
    P(BLE_PAIRING), P(BLE_WINDOW), P(GATT_AUTH), P(GATT_ENC), P(GATT_BOUNDS), P(CREDENTIALS),
    P(EVENTS),     P(RESET),       P(SENSORS),  P(SUPPORT),
};

/* Append to a bounded evidence list. */
static void add(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1u >= cap) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

static bool insecure_port(uint16_t port)
{
    /* plain-text ports of seed 004's table (and ftp, telnet, http-alt) */
    static const uint16_t k[] = {21, 23, 80, 1883, 5683, 8080};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (port == k[i]) {
            return true;
        }
    }
    return false;
}

static bool tls_scheme(const char *scheme)
{
    return strcmp(scheme, "https") == 0 || strcmp(scheme, "mqtts") == 0 ||
           strcmp(scheme, "coaps") == 0 || strcmp(scheme, "wss") == 0;
}

static void check_debug(audit_ctx_t *a, const ward_profile_t *p)
{
    if (p->debug_console) {
        audit_set(a, P(DEBUG), WARD_AUDIT_FAIL,
                  "debug.console: true: the image has a debug console");
    } else if (strcmp(p->log_level, "debug") == 0 || strcmp(p->log_level, "verbose") == 0) {
        audit_set(a, P(DEBUG), WARD_AUDIT_FAIL,
                  "debug.log_level: \"%s\": a development log level in a production image",
                  p->log_level);
    } else if (strcmp(p->debug_port, "open") == 0) {
        audit_set(a, P(DEBUG), WARD_AUDIT_FAIL, "%s",
                  a->otp_debug_lock ? "debug.port: \"open\", but the OTP DEBUG_LOCK bit is set: "
                                      "the profile and the unit disagree"
                                    : "debug.port: \"open\": SWD/JTAG left enabled (OTP "
                                      "DEBUG_LOCK not set)");
    } else if (!a->otp_debug_lock) {
        audit_set(a, P(DEBUG), WARD_AUDIT_FAIL,
                  "debug.port: \"locked\" but the OTP DEBUG_LOCK bit is not set: the profile and "
                  "the unit disagree, the port is open");
    } else {
        audit_set(a, P(DEBUG), WARD_AUDIT_PASS,
                  "debug.console: false, debug.log_level: \"%s\", debug.port: \"locked\" = OTP "
                  "DEBUG_LOCK set",
                  p->log_level);
    }
}

static void check_accounts(audit_ctx_t *a, const ward_profile_t *p)
{
    char ev[WARD_AUDIT_DETAIL_MAX] = "";
    for (size_t i = 0; i < p->n_accounts; i++) {
        const ward_profile_account_t *x = &p->accounts[i];
        if (strcmp(x->password, "default") == 0) {
            audit_set(a, P(ACCOUNTS), WARD_AUDIT_FAIL,
                      "accounts: \"%s\" (%s) has a default password, the same on every unit",
                      x->name, x->service);
            return;
        }
        add(ev, sizeof ev, "%s%s (%s): %s", i == 0u ? "" : "; ", x->name, x->service, x->password);
    }
    if (p->n_accounts == 0u) {
        audit_set(a, P(ACCOUNTS), WARD_AUDIT_PASS,
                  "accounts: none: the image has no login and no password of any kind");
    } else {
        audit_set(a, P(ACCOUNTS), WARD_AUDIT_PASS, "accounts: %s", ev);
    }
}

static void check_services(audit_ctx_t *a, const ward_profile_t *p)
{
    char ev[WARD_AUDIT_DETAIL_MAX] = "";
    for (size_t i = 0; i < p->n_listen; i++) {
        const ward_profile_service_t *s = &p->listen[i];
        if (s->tls[0] == '\0' || insecure_port(s->port)) {
            audit_set(a, P(SERVICES), WARD_AUDIT_FAIL,
                      "network.listen: %s on %s/%u without TLS", s->service, s->scheme,
                      (unsigned)s->port);
            return;
        }
        add(ev, sizeof ev, "listens %s on %s/%u (TLS %s); ", s->service, s->scheme,
            (unsigned)s->port, s->tls);
    }
    if (p->n_listen == 0u) {
        add(ev, sizeof ev, "listens on nothing; ");
    }
    for (size_t i = 0; i < p->n_connect; i++) {
        const ward_profile_service_t *s = &p->connect[i];
        if (!tls_scheme(s->scheme) || s->tls[0] == '\0' || insecure_port(s->port)) {
            audit_set(a, P(SERVICES), WARD_AUDIT_FAIL,
                      "network.connect: %s over %s (port %u, no TLS): plain text on the network",
                      s->service, s->url, (unsigned)s->port);
            return;
        }
        add(ev, sizeof ev, "%s%s (TLS %s, %s)", i == 0u ? "connects to " : ", ", s->url, s->tls,
            s->auth);
    }
    audit_set(a, P(SERVICES), WARD_AUDIT_PASS, "%s", ev);
}

static void check_flows(audit_ctx_t *a, const ward_profile_t *p)
{
    if (p->n_listen > 0u) {
        audit_set(a, P(FLOWS), WARD_AUDIT_FAIL,
                  "network.listen: %s on %u: an IoT segment lets nothing in (ward-iot.nft drops "
                  "it)",
                  p->listen[0].service, (unsigned)p->listen[0].port);
        return;
    }
    char ev[WARD_AUDIT_DETAIL_MAX] = "";
    for (size_t i = 0; i < p->n_connect; i++) {
        const ward_profile_service_t *s = &p->connect[i];
        if (s->port != 443u && s->port != 8883u) {
            audit_set(a, P(FLOWS), WARD_AUDIT_FAIL,
                      "network.connect: %s to port %u: the IoT segment allows 443 and 8883 out "
                      "only",
                      s->service, (unsigned)s->port);
            return;
        }
        add(ev, sizeof ev, "%s%s tcp/%u", i == 0u ? "" : ", ", s->service, (unsigned)s->port);
    }
    audit_set(a, P(FLOWS), WARD_AUDIT_PASS,
              "inbound: none; outbound: %s: all inside what deploy/nftables/ward-iot.nft allows",
              p->n_connect > 0u ? ev : "none");
}

static void check_update_url(audit_ctx_t *a, const ward_profile_t *p)
{
    const ward_profile_service_t *u = ward_profile_connect(p, "update");
    if (u == NULL) {
        audit_set(a, P(UPDATE_URL), WARD_AUDIT_FAIL,
                  "network.connect has no \"update\" service: no update repository");
    } else if (strcmp(u->scheme, "https") != 0) {
        audit_set(a, P(UPDATE_URL), WARD_AUDIT_FAIL,
                  "the update repository is %s: not https (a man in the middle serves the "
                  "manifest and the image)",
                  u->url);
    } else {
        audit_set(a, P(UPDATE_URL), WARD_AUDIT_PASS,
                  "update repository %s (TLS %s, the factory CA pinned, host name checked)",
                  u->url, u->tls[0] != '\0' ? u->tls : "?");
    }
}

static void check_broker(audit_ctx_t *a, const ward_profile_t *p)
{
    const ward_profile_service_t *b = ward_profile_connect(p, "mqtt");
    if (b == NULL) {
        audit_set(a, P(BROKER), WARD_AUDIT_FAIL, "network.connect has no \"mqtt\" service");
        return;
    }
    if (strcmp(b->scheme, "mqtts") != 0 || b->tls[0] == '\0') {
        audit_set(a, P(BROKER), WARD_AUDIT_FAIL, "the broker is %s: MQTT without TLS", b->url);
        return;
    }
    if (strcmp(b->auth, "client-certificate") != 0) {
        audit_set(a, P(BROKER), WARD_AUDIT_FAIL,
                  "the broker authenticates the device by \"%s\", not its certificate", b->auth);
        return;
    }
    if (a->have_factory) {
        const ward_factory_conf_t *c = &a->fconf;
        const char *host = c->broker_host[0] != '\0' ? c->broker_host : "localhost";
        const unsigned port = c->broker_port != 0u ? c->broker_port : 8883u;
        if (strcmp(b->host, host) != 0 || b->port != port) {
            audit_set(a, P(BROKER), WARD_AUDIT_FAIL,
                      "the profile's broker %s is not the factory's (%s:%u)", b->url, host, port);
            return;
        }
    }
    audit_set(a, P(BROKER), WARD_AUDIT_PASS, "broker %s: TLS %s, client certificate%s", b->url,
              b->tls, a->have_factory ? ", = the factory's broker" : "");
}

static void method_list(unsigned m, char *out, size_t cap)
{
    out[0] = '\0';
    static const struct {
        unsigned bit;
        const char *name;
    } k[] = {{WARD_PROFILE_PAIR_OOB, "OOB"},
             {WARD_PROFILE_PAIR_NUMERIC, "Numeric Comparison"},
             {WARD_PROFILE_PAIR_PASSKEY, "Passkey"},
             {WARD_PROFILE_PAIR_JUST_WORKS, "Just Works"},
             {WARD_PROFILE_PAIR_LEGACY, "legacy"}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if ((m & k[i].bit) != 0u) {
            add(out, cap, "%s%s", out[0] != '\0' ? ", " : "", k[i].name);
        }
    }
}

static void check_ble_pairing(audit_ctx_t *a, const ward_profile_t *p)
{
    char m[96];
    method_list(p->methods, m, sizeof m);
    if (!p->ble_enabled) {
        audit_set(a, P(BLE_PAIRING), WARD_AUDIT_PASS, "ble.enabled: false: no BLE in the image");
    } else if (p->legacy || (p->methods & WARD_PROFILE_PAIR_LEGACY) != 0u || !p->sc_only) {
        audit_set(a, P(BLE_PAIRING), WARD_AUDIT_FAIL,
                  "ble.pairing allows legacy pairing (legacy: %s, sc_only: %s, methods: %s): its "
                  "key is cracked from a sniffed pairing",
                  p->legacy ? "true" : "false", p->sc_only ? "true" : "false", m);
    } else if (p->min_key_size < 16u) {
        audit_set(a, P(BLE_PAIRING), WARD_AUDIT_FAIL,
                  "ble.pairing.min_key_size %u: shorter keys can be forced (KNOB)",
                  (unsigned)p->min_key_size);
    } else if (!p->bonding) {
        audit_set(a, P(BLE_PAIRING), WARD_AUDIT_FAIL,
                  "ble.pairing.bonding: false: every connection pairs again");
    } else {
        audit_set(a, P(BLE_PAIRING), WARD_AUDIT_PASS,
                  "LE Secure Connections only (legacy: false), methods %s, io %s, 16-byte keys, "
                  "bonding%s",
                  m, p->io_capability, p->require_mitm ? ", Just Works refused" : "");
    }
}

static void check_ble_window(audit_ctx_t *a, const ward_profile_t *p)
{
    if (!p->ble_enabled) {
        audit_set(a, P(BLE_WINDOW), WARD_AUDIT_PASS, "ble.enabled: false");
    } else if (strcmp(p->window_trigger, "button") != 0) {
        audit_set(a, P(BLE_WINDOW), WARD_AUDIT_FAIL,
                  "ble.window.trigger: \"%s\": pairing is not opened by a physical action",
                  p->window_trigger);
    } else if (p->window_seconds == 0u || p->window_seconds > 900u) {
        audit_set(a, P(BLE_WINDOW), WARD_AUDIT_FAIL,
                  "ble.window.open_seconds: %u: not limited to 15 min",
                  (unsigned)p->window_seconds);
    } else if (p->window_max_failures == 0u || p->window_max_failures > 20u) {
        audit_set(a, P(BLE_WINDOW), WARD_AUDIT_FAIL,
                  "ble.window.max_failures: %u: online guessing is not limited",
                  (unsigned)p->window_max_failures);
    } else {
        audit_set(a, P(BLE_WINDOW), WARD_AUDIT_PASS,
                  "pairing window opened by the button for %u s, closed by the first bond or "
                  "after %u failures (back-off between)",
                  (unsigned)p->window_seconds, (unsigned)p->window_max_failures);
    }
}

static void check_gatt(audit_ctx_t *a, const ward_profile_t *p)
{
    if (!p->ble_enabled) {
        audit_set(a, P(GATT_AUTH), WARD_AUDIT_PASS, "ble.enabled: false");
        audit_set(a, P(GATT_ENC), WARD_AUDIT_PASS, "ble.enabled: false");
        audit_set(a, P(GATT_BOUNDS), WARD_AUDIT_PASS, "ble.enabled: false");
        return;
    }
    char ctl[WARD_AUDIT_DETAIL_MAX] = "", enc[WARD_AUDIT_DETAIL_MAX] = "";
    bool auth_ok = true, enc_ok = true, bounds_ok = true;
    size_t controls = 0, writable = 0;
    for (size_t i = 0; i < p->n_gatt; i++) {
        const ward_profile_gatt_t *g = &p->gatt[i];
        if (!g->write.allowed) {
            continue;
        }
        char acc[96];
        ward_profile_access_str(&g->write, acc, sizeof acc);
        writable++;
        if (!g->write.encrypted && enc_ok) {
            enc_ok = false;
            snprintf(enc, sizeof enc,
                     "%s (handle %u) is writable on an unencrypted link (write: %s)%s", g->name,
                     (unsigned)g->handle, acc,
                     g->prop_write_no_rsp ? ", also by write command" : "");
        }
        if (g->max_len == 0u && bounds_ok) {
            bounds_ok = false;
            audit_set(a, P(GATT_BOUNDS), WARD_AUDIT_FAIL,
                      "%s (handle %u) is writable with no length bound", g->name,
                      (unsigned)g->handle);
        }
        if (g->descriptor) {
            continue; /* a CCC: notifications on or off, not control */
        }
        controls++;
        if ((!g->write.authenticated || !g->write.encrypted || g->write.min_key_size < 16u) &&
            auth_ok) {
            auth_ok = false;
            snprintf(ctl, sizeof ctl,
                     "%.40s (handle %u, %.24s) write needs only \"%.60s\": a peer without an "
                     "authenticated pairing (Just Works, or none) controls it",
                     g->name, (unsigned)g->handle, g->function, acc);
        }
    }
    if (auth_ok) {
        char names[200] = "";
        for (size_t i = 0; i < p->n_gatt; i++) {
            const ward_profile_gatt_t *g = &p->gatt[i];
            if (g->write.allowed && !g->descriptor) {
                add(names, sizeof names, "%s%s", names[0] != '\0' ? ", " : "", g->name);
            }
        }
        char acc[96] = "-";
        for (size_t i = 0; i < p->n_gatt; i++) {
            if (p->gatt[i].write.allowed && !p->gatt[i].descriptor) {
                ward_profile_access_str(&p->gatt[i].write, acc, sizeof acc);
                break;
            }
        }
        audit_set(a, P(GATT_AUTH), WARD_AUDIT_PASS,
                  "%zu control characteristic%s (%s): writes need %s (GATT table of %s)", controls,
                  controls == 1u ? "" : "s", names, acc, p->generator);
    } else {
        audit_set(a, P(GATT_AUTH), WARD_AUDIT_FAIL, "%s", ctl);
    }
    if (enc_ok) {
        audit_set(a, P(GATT_ENC), WARD_AUDIT_PASS,
                  "%zu writable attributes, each refused on an unencrypted link (0x05/0x0F; write "
                  "commands dropped)",
                  writable);
    } else {
        audit_set(a, P(GATT_ENC), WARD_AUDIT_FAIL, "%s", enc);
    }
    if (bounds_ok) {
        audit_set(a, P(GATT_BOUNDS), WARD_AUDIT_PASS,
                  "every writable attribute has a maximum length (longer writes: 0x0D); values "
                  "are checked before the handler (0x13)");
    }
}

static void check_credentials(audit_ctx_t *a, const ward_profile_t *p)
{
    if (strcmp(p->cred_wifi, "plain") == 0) {
        audit_set(a, P(CREDENTIALS), WARD_AUDIT_FAIL,
                  "credentials.wifi: \"plain\": Wi-Fi credentials stored in the clear");
    } else if (strcmp(p->cred_cloud, "token-plain") == 0 ||
               strcmp(p->cred_cloud, "password") == 0) {
        audit_set(a, P(CREDENTIALS), WARD_AUDIT_FAIL,
                  "credentials.cloud: \"%s\": the cloud secret is stored in the clear",
                  p->cred_cloud);
    } else if (strcmp(p->cred_keys, "hsm") != 0) {
        audit_set(a, P(CREDENTIALS), WARD_AUDIT_FAIL,
                  "credentials.keys: \"%s\": private keys readable by the application",
                  p->cred_keys);
    } else {
        audit_set(a, P(CREDENTIALS), WARD_AUDIT_PASS,
                  "credentials: Wi-Fi \"%s\", cloud \"%s\", keys \"%s\"", p->cred_wifi,
                  p->cred_cloud, p->cred_keys);
    }
}

static bool has_event(const ward_profile_t *p, const char *name)
{
    for (size_t i = 0; i < p->n_events; i++) {
        if (strcmp(p->events[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static void check_events(audit_ctx_t *a, const ward_profile_t *p)
{
    static const char *const k_need[] = {"boot_refused", "update_refused", "vault_integrity"};
    if (p->events_topic[0] == '\0') {
        audit_set(a, P(EVENTS), WARD_AUDIT_FAIL,
                  "security_events.topic: null: the device reports no security event");
        return;
    }
    for (size_t i = 0; i < sizeof k_need / sizeof k_need[0]; i++) {
        if (!has_event(p, k_need[i])) {
            audit_set(a, P(EVENTS), WARD_AUDIT_FAIL,
                      "security_events.types lacks %s: that tampering goes unreported",
                      k_need[i]);
            return;
        }
    }
    audit_set(a, P(EVENTS), WARD_AUDIT_PASS, "%zu security event types on %s (boot_refused, "
              "update_refused, vault_integrity, ...)",
              p->n_events, p->events_topic);
}

static void check_reset(audit_ctx_t *a, const ward_profile_t *p)
{
    for (size_t i = 0; p->ble_enabled && i < p->n_gatt; i++) {
        const ward_profile_gatt_t *g = &p->gatt[i];
        if (strcmp(g->function, "factory-reset") == 0 && g->write.allowed) {
            char acc[96];
            ward_profile_access_str(&g->write, acc, sizeof acc);
            audit_set(a, P(RESET), WARD_AUDIT_PASS,
                      "%s (handle %u): writing \"WIPE\" erases the vault with every credential "
                      "and bond (write: %s)",
                      g->name, (unsigned)g->handle, acc);
            return;
        }
    }
    audit_set(a, P(RESET), WARD_AUDIT_FAIL,
              "no factory-reset function in the profile: the user cannot erase their data on "
              "the device");
}

static void check_sensors(audit_ctx_t *a, const ward_profile_t *p)
{
    if (!p->sensors_listed) {
        audit_set(a, P(SENSORS), WARD_AUDIT_FAIL, "the profile does not list the sensors");
        return;
    }
    char ev[WARD_AUDIT_DETAIL_MAX] = "";
    for (size_t i = 0; i < p->n_sensors; i++) {
        add(ev, sizeof ev, "%s%s", i == 0u ? "" : ", ", p->sensors[i]);
    }
    audit_set(a, P(SENSORS), WARD_AUDIT_PASS, "sensors: %s", p->n_sensors == 0u ? "none" : ev);
}

static void check_support(audit_ctx_t *a, const ward_profile_t *p)
{
    if (strncmp(p->disclosure_url, "https://", 8) == 0) {
        audit_set(a, P(SUPPORT), WARD_AUDIT_PASS, "vulnerability disclosure policy: %s%s%s",
                  p->disclosure_url, p->support_until[0] != '\0' ? "; supported until " : "",
                  p->support_until);
    } else {
        audit_set(a, P(SUPPORT), WARD_AUDIT_UNCHECKED,
                  "support.disclosure_url: %s (the maker's policy is not named in the profile)",
                  p->disclosure_url[0] != '\0' ? p->disclosure_url : "null");
    }
}

void audit_profile(audit_ctx_t *a)
{
    const ward_profile_t *p = a->prof;
    if (!a->have_profile) {
        const char *why = a->profile_why[0] != '\0' ? a->profile_why : "missing";
        audit_set(a, WARD_AUDIT_C_PROFILE, WARD_AUDIT_FAIL,
                  "%s: %s: what the image enables is not stated", WARD_PROFILE_FILE, why);
        for (size_t i = 0; i < sizeof k_profile_checks / sizeof k_profile_checks[0]; i++) {
            audit_set(a, k_profile_checks[i], WARD_AUDIT_FAIL, "no valid device profile");
        }
        return;
    }
    if (a->dev.device_class[0] != '\0' && strcmp(p->device_class, a->dev.device_class) != 0) {
        audit_set(a, WARD_AUDIT_C_PROFILE, WARD_AUDIT_FAIL,
                  "the profile is for class \"%s\", the unit is class \"%s\" (device.conf)",
                  p->device_class, a->dev.device_class);
    } else {
        audit_set(a, WARD_AUDIT_C_PROFILE, WARD_AUDIT_PASS,
                  "%s: %s %s, class %s (%s)", WARD_PROFILE_FILE, p->fw_name, p->fw_version,
                  p->device_class, p->generator);
    }
    check_debug(a, p);
    check_accounts(a, p);
    check_services(a, p);
    check_flows(a, p);
    check_update_url(a, p);
    check_broker(a, p);
    check_ble_pairing(a, p);
    check_ble_window(a, p);
    check_gatt(a, p);
    check_credentials(a, p);
    check_events(a, p);
    check_reset(a, p);
    check_sensors(a, p);
    check_support(a, p);
}
