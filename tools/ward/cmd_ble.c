/*
 * ward CLI: BLE, the plug's side and the phone's side (docs/ble.md "CLI").
 *   ward ble device --device DIR --hci PATH [--press]   the plug, until killed
 *   ward ble phone --hci PATH [--oob LABEL.txt] pair|read|write|scan|bonds|forget
 *   ward ble btvirt DIR                                 BlueZ's emulator, under the shim
 *   ward ble bonds|forget --device DIR                  the plug's bonds
 * Thin over src/ble (ward/ble_plug.h, ward/ble_phone.h) and the simulator:
 * the plug's bonds and Wi-Fi credentials live in DIR's vault, the phone's
 * bonds and identity in its own simulated device (--state).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "btvirt.h"
#include "cli.h"
#include "commands.h"
#include "ward/ble_phone.h"
#include "ward/ble_plug.h"
#include "ward/ble_posix.h"
#include "ward/sim.h"
#include "ward/util.h"
#include "ward_label.h"

#define VAULT_COUNTER 0u /* as `ward vault` */
#define PHONE_ID_REC "ble.identity"

/* ---- shared helpers --------------------------------------------------------------- */

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ward ble %s: %s (ward ble %s --help)\n", cmd, msg, cmd);
    return WARD_EXIT_USAGE;
}

static int ble_fail(const char *cmd, const char *what, ward_err_t err)
{
    char name[32];
    snprintf(name, sizeof name, "ble %s", cmd);
    return ward_cli_fail(name, what, err);
}

#define ADDR_STR 40

static void addr_str(char out[ADDR_STR], const ward_ble_addr_t *a)
{
    snprintf(out, ADDR_STR, "%02X:%02X:%02X:%02X:%02X:%02X (%s)", a->a[5], a->a[4], a->a[3], a->a[2],
             a->a[1], a->a[0],
             a->type == WARD_BLE_ADDR_PUBLIC ? "public"
             : ward_ble_addr_is_identity(a)  ? "random static"
                                             : "random");
}

/* "AA:BB:CC:DD:EE:FF" [random|public]; random when the top bits say static. */
static bool parse_addr(const char *s, ward_ble_addr_t *a)
{
    unsigned b[6];
    char type[16] = "";
    const int n = sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x %15s", &b[5], &b[4], &b[3], &b[2], &b[1],
                         &b[0], type);
    if (n < 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        a->a[i] = (uint8_t)b[i];
    }
    if (n == 7) {
        if (strcmp(type, "public") != 0 && strcmp(type, "random") != 0) {
            return false;
        }
        a->type = strcmp(type, "public") == 0 ? WARD_BLE_ADDR_PUBLIC : WARD_BLE_ADDR_RANDOM;
    } else {
        a->type = (a->a[5] & 0xC0u) == 0xC0u ? WARD_BLE_ADDR_RANDOM : WARD_BLE_ADDR_PUBLIC;
    }
    return true;
}

static const char *const k_io[5] = {"display", "yesno", "keyboard", "none", "kbddisplay"};

static bool parse_io(const char *s, uint8_t *io)
{
    for (uint8_t i = 0; i < 5; i++) {
        if (strcmp(s, k_io[i]) == 0) {
            *io = i;
            return true;
        }
    }
    return false;
}

static const char *method_name(uint8_t m)
{
    static const char *const k[5] = {"none", "Just Works", "Numeric Comparison", "Passkey Entry",
                                     "OOB (label)"};
    return m < 5 ? k[m] : "?";
}

static const char *smp_reason(uint8_t r)
{
    static const char *const k[15] = {"timeout",
                                      "Passkey Entry Failed",
                                      "OOB Not Available",
                                      "Authentication Requirements",
                                      "Confirm Value Failed",
                                      "Pairing Not Supported",
                                      "Encryption Key Size",
                                      "Command Not Supported",
                                      "Unspecified Reason",
                                      "Repeated Attempts",
                                      "Invalid Parameters",
                                      "DHKey Check Failed",
                                      "Numeric Comparison Failed",
                                      "BR/EDR Pairing in Progress",
                                      "Cross-transport Key Derivation Not Allowed"};
    return r < 15 ? k[r] : "?";
}

static const char *att_reason(uint8_t c)
{
    switch (c) {
    case WARD_ATT_ERR_READ_NOT_PERMITTED:
        return "Read Not Permitted";
    case WARD_ATT_ERR_WRITE_NOT_PERMITTED:
        return "Write Not Permitted";
    case WARD_ATT_ERR_AUTHENTICATION:
        return "Insufficient Authentication: pair (with the label for control)";
    case WARD_ATT_ERR_AUTHORIZATION:
        return "Insufficient Authorization";
    case WARD_ATT_ERR_KEY_SIZE:
        return "Insufficient Encryption Key Size";
    case WARD_ATT_ERR_INVALID_LENGTH:
        return "Invalid Attribute Value Length";
    case WARD_ATT_ERR_ENCRYPTION:
        return "Insufficient Encryption: encrypt with the bond first";
    case WARD_ATT_ERR_RESOURCES:
        return "Insufficient Resources (the vault is full)";
    case WARD_ATT_ERR_VALUE_NOT_ALLOWED:
        return "Value Not Allowed";
    default:
        return "error";
    }
}

static bool is_char_device(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISCHR(st.st_mode);
}

/* A Unix socket (btvirt, a BlueZ peer) or a tty/pty (a UART controller). */
static ward_err_t open_hci(ward_posix_hci_t *t, const char *path)
{
    return is_char_device(path) ? ward_posix_hci_open_tty(t, path, 0)
                                : ward_posix_hci_open_unix(t, path);
}

typedef struct {
    ward_btsnoop_t snoop;
    bool on;
} capture_t;

static void capture_write(capture_t *c, bool to_controller, const uint8_t *h4, size_t len)
{
    if (c->on) {
        ward_btsnoop_trace(&c->snoop, to_controller, h4, len);
    }
}

static volatile sig_atomic_t g_press, g_stop;

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        g_press = 1;
    } else {
        g_stop = 1;
    }
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGUSR1, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
}

/* A simulated device's vault (the plug's, or the phone's own). */
typedef struct {
    ward_sim_device_t dev;
    bool open;
    ward_vault_config_t cfg;
    ward_vault_t v;
    bool mounted;
} store_t;

static void store_close(store_t *s)
{
    if (s->mounted) {
        ward_vault_unmount(&s->v);
        s->mounted = false;
    }
    if (s->open) {
        ward_sim_device_close(&s->dev);
        s->open = false;
    }
}

/* Open DIR and mount its vault (a new unit's empty vault is made). */
static ward_err_t store_open(store_t *s, const char *dir, const char **why)
{
    memset(s, 0, sizeof *s);
    *why = "cannot open the simulated device";
    ward_err_t err = ward_sim_device_open(&s->dev, dir);
    if (err != WARD_OK) {
        if (err == WARD_ERR_NOT_FOUND) {
            *why = "not a simulated device (ward factory provision ... --out DIR makes a unit)";
        }
        return err;
    }
    s->open = true;
    if (!s->dev.hsm.has_huk) {
        *why = "no device-unique key in its HSM: provision it first";
        store_close(s);
        return WARD_ERR_STATE;
    }
    s->cfg.area = s->dev.vault;
    s->cfg.hsm = &s->dev.hsm.port;
    s->cfg.counter = VAULT_COUNTER;
    *why = "cannot mount its vault (ward vault stats --device DIR says why)";
    err = ward_vault_mount(&s->v, &s->cfg);
    if (err == WARD_ERR_VAULT_UNFORMATTED) {
        err = ward_vault_format(&s->v, &s->cfg);
    }
    if (err != WARD_OK) {
        ward_vault_unmount(&s->v);
        store_close(s);
        return err;
    }
    s->mounted = true;
    return WARD_OK;
}

/* ---- ward ble device ---------------------------------------------------------------- */

typedef struct {
    ward_ble_plug_t plug;
    capture_t cap;
    int confirm;        /* -1 ask nobody (answer no), 0 no, 1 yes */
    int32_t passkey;    /* -1: none */
    unsigned pairings;  /* bonds made in this run */
} devrun_t;

static void dev_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    capture_write(&((devrun_t *)ctx)->cap, to_controller, h4, len);
}

static void dev_event(void *ctx, const ward_ble_plug_event_t *ev)
{
    devrun_t *r = ctx;
    char a[ADDR_STR];
    addr_str(a, &ev->addr);
    switch (ev->type) {
    case WARD_BLE_PLUG_EV_READY:
        printf("ready: identity %s\n", a);
        break;
    case WARD_BLE_PLUG_EV_WINDOW:
        if (ev->open) {
            printf("window: open for %u s (button)\n", (unsigned)(ev->value / 1000u));
        } else {
            static const char *const why[6] = {"never opened", "open",           "timed out",
                                               "first bond",   "failure limit", "closed"};
            printf("window: closed (%s)\n", ev->why < 6 ? why[ev->why] : "?");
        }
        break;
    case WARD_BLE_PLUG_EV_ADVERTISING:
        if (ev->adv == WARD_BLE_PLUG_ADV_PAIRING) {
            printf("advertising: connectable, discoverable (pairing window open)\n");
        } else if (ev->adv == WARD_BLE_PLUG_ADV_DIRECTED) {
            printf("advertising: directed to bonded %s\n", a);
        } else {
            printf("advertising: off\n");
        }
        break;
    case WARD_BLE_PLUG_EV_CONNECTED:
        printf("connected: %s, handle 0x%04x, %s\n", a, ev->conn,
               ev->bonded ? "bonded" : "no bond");
        break;
    case WARD_BLE_PLUG_EV_DISCONNECTED:
        printf("disconnected: handle 0x%04x, reason 0x%02x\n", ev->conn, ev->reason);
        break;
    case WARD_BLE_PLUG_EV_ENCRYPTION:
        if (ev->status == 0) {
            printf("encrypted: key size %u,%s%s%s\n", ev->key_size,
                   (ev->key_flags & WARD_BLE_KEY_AUTHENTICATED) ? " authenticated" : " unauthenticated",
                   (ev->key_flags & WARD_BLE_KEY_SC) ? ", LE Secure Connections" : "",
                   (ev->key_flags & WARD_BLE_KEY_BONDED) ? ", bond's key" : "");
        } else {
            printf("encryption failed: status 0x%02x (not encrypted: nothing protected is "
                   "reachable)\n",
                   ev->status);
        }
        break;
    case WARD_BLE_PLUG_EV_PAIRING:
        printf("pairing: %s, method %s\n", a, method_name(ev->method));
        break;
    case WARD_BLE_PLUG_EV_PASSKEY_DISPLAY:
        printf("display: passkey %06u\n", (unsigned)ev->value);
        break;
    case WARD_BLE_PLUG_EV_NUMERIC_COMPARE:
        printf("display: %06u -- %s\n", (unsigned)ev->value,
               r->confirm == 1 ? "confirmed (--confirm yes)" : "refused (--confirm no)");
        (void)ward_ble_plug_numeric_reply(&r->plug, ev->conn, r->confirm == 1);
        break;
    case WARD_BLE_PLUG_EV_PASSKEY_REQUEST:
        printf("keypad: passkey %s\n", r->passkey >= 0 ? "entered (--passkey)" : "not given");
        (void)ward_ble_plug_passkey_reply(&r->plug, ev->conn, r->passkey >= 0,
                                          r->passkey >= 0 ? (uint32_t)r->passkey : 0u);
        break;
    case WARD_BLE_PLUG_EV_PAIRING_FAILED:
        printf("pairing failed: reason 0x%02x (%s)%s\n", ev->reason,
               ev->timeout ? "SMP timeout" : smp_reason(ev->reason),
               ev->remote ? ", said by the phone" : "");
        break;
    case WARD_BLE_PLUG_EV_PAIRED:
        if (ev->err == WARD_OK) {
            char name[WARD_BLE_BOND_NAME_LEN + 1];
            ward_ble_bond_name(name, &ev->addr);
            printf("paired: %s, %s, %s; bond stored in the vault (%s)\n", a,
                   method_name(ev->method), ev->authenticated ? "authenticated" : "unauthenticated",
                   name);
            r->pairings++;
        } else {
            printf("paired: %s, %s; bond NOT stored: %s (%s)\n", a, method_name(ev->method),
                   ward_err_str(ev->err), ward_err_name(ev->err));
        }
        break;
    case WARD_BLE_PLUG_EV_RELAY:
        printf("relay: %s\n", ev->on ? "on" : "off");
        break;
    case WARD_BLE_PLUG_EV_WIFI:
        if (ev->err == WARD_OK) {
            printf("wifi: credentials for \"%s\" stored in the vault (%s, %s)\n", ev->ssid,
                   WARD_BLE_PLUG_REC_SSID, WARD_BLE_PLUG_REC_PSK);
        } else {
            printf("wifi: not stored: %s (%s)\n", ward_err_str(ev->err), ward_err_name(ev->err));
        }
        break;
    case WARD_BLE_PLUG_EV_FACTORY_RESET:
        printf("factory reset: %s\n", ev->err == WARD_OK ? "vault wiped (every bond, Wi-Fi)"
                                                          : ward_err_name(ev->err));
        break;
    }
    fflush(stdout);
}

static void device_help(FILE *f)
{
    fprintf(f,
            "usage: ward ble device --device DIR --hci PATH [options]\n"
            "\n"
            "The plug's BLE side on a simulated unit: advertises, pairs (LE Secure Connections\n"
            "only), keeps bonds and Wi-Fi credentials in DIR's vault, acts on the relay, prints\n"
            "what happens. Runs until SIGINT/SIGTERM. Its button: SIGUSR1 (kill -USR1 PID),\n"
            "--press, or --press-at. Pairing needs the button (a window of --window seconds);\n"
            "bonded phones reconnect at any time (directed advertising).\n"
            "\n"
            "  -d, --device DIR       the unit (ward factory provision makes one: its label,\n"
            "                         DIR/ble-address, the pairing key in its HSM)\n"
            "      --hci PATH         the controller: a Unix socket (btvirt's\n"
            "                         DIR/bt-server-bredrle) or a tty/pty\n"
            "      --press            press the button at start\n"
            "      --press-at SEC     press it SEC seconds after start (repeatable)\n"
            "      --window SEC       how long a press opens pairing (60..900, default 180)\n"
            "      --max-failures N   failed pairings that close the window (1..20, default 5)\n"
            "      --io CAP           none (default: a button and an LED), display, yesno,\n"
            "                         keyboard, kbddisplay\n"
            "      --confirm yes|no   the answer to Numeric Comparison (--io yesno)\n"
            "      --passkey N        the passkey typed on the device (--io keyboard)\n"
            "      --addr ADDR        identity address instead of DIR/ble-address\n"
            "      --name NAME        advertised name (default \"ward plug\")\n"
            "      --capture FILE     write a btsnoop capture (Wireshark, tshark)\n"
            "      --exit-after SEC   stop after SEC seconds\n"
            "  -h, --help             this help\n");
}

/* DIR/ble-address: "D6:55:44:33:22:11 random" (ward factory provision). */
static bool read_identity(const char *dir, ward_ble_addr_t *a)
{
    char path[4096], line[64];
    snprintf(path, sizeof path, "%s/ble-address", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    const bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    return ok && parse_addr(line, a);
}

static int cmd_device(int argc, char **argv)
{
    enum { O_HCI = 1000, O_PRESS, O_PRESS_AT, O_WINDOW, O_FAIL, O_IO, O_CONFIRM, O_PASSKEY,
           O_ADDR, O_NAME, O_CAPTURE, O_EXIT };
    static const struct option opts[] = {
        {"device", required_argument, NULL, 'd'}, {"hci", required_argument, NULL, O_HCI},
        {"press", no_argument, NULL, O_PRESS},    {"press-at", required_argument, NULL, O_PRESS_AT},
        {"window", required_argument, NULL, O_WINDOW},
        {"max-failures", required_argument, NULL, O_FAIL},
        {"io", required_argument, NULL, O_IO},    {"confirm", required_argument, NULL, O_CONFIRM},
        {"passkey", required_argument, NULL, O_PASSKEY},
        {"addr", required_argument, NULL, O_ADDR}, {"name", required_argument, NULL, O_NAME},
        {"capture", required_argument, NULL, O_CAPTURE},
        {"exit-after", required_argument, NULL, O_EXIT},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *hci = NULL, *capture = NULL, *name = "ward plug";
    uint32_t window_s = 0, fails = 0, exit_after = 0, v = 0;
    uint32_t press_at[8];
    size_t npress = 0;
    bool press = false, have_addr = false;
    uint8_t io = WARD_SMP_IO_NONE;
    ward_ble_addr_t id;
    memset(&id, 0, sizeof id);
    static devrun_t r;
    memset(&r, 0, sizeof r);
    r.confirm = -1;
    r.passkey = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case O_HCI: hci = optarg; break;
        case O_PRESS: press = true; break;
        case O_PRESS_AT:
            if (!ward_cli_parse_u32(optarg, &v) || npress == 8) {
                return usage_error("device", "--press-at takes seconds (at most 8 times)");
            }
            press_at[npress++] = v;
            break;
        case O_WINDOW:
            if (!ward_cli_parse_u32(optarg, &window_s) || window_s < 60 || window_s > 900) {
                return usage_error("device", "--window takes 60..900 seconds");
            }
            break;
        case O_FAIL:
            if (!ward_cli_parse_u32(optarg, &fails) || fails < 1 || fails > 20) {
                return usage_error("device", "--max-failures takes 1..20");
            }
            break;
        case O_IO:
            if (!parse_io(optarg, &io)) {
                return usage_error("device", "--io: none, display, yesno, keyboard, kbddisplay");
            }
            break;
        case O_CONFIRM:
            if (strcmp(optarg, "yes") != 0 && strcmp(optarg, "no") != 0) {
                return usage_error("device", "--confirm yes or no");
            }
            r.confirm = strcmp(optarg, "yes") == 0;
            break;
        case O_PASSKEY:
            if (!ward_cli_parse_u32(optarg, &v) || v > WARD_SMP_PASSKEY_MAX) {
                return usage_error("device", "--passkey takes 0..999999");
            }
            r.passkey = (int32_t)v;
            break;
        case O_ADDR:
            if (!parse_addr(optarg, &id)) {
                return usage_error("device", "--addr AA:BB:CC:DD:EE:FF [random|public]");
            }
            have_addr = true;
            break;
        case O_NAME: name = optarg; break;
        case O_CAPTURE: capture = optarg; break;
        case O_EXIT:
            if (!ward_cli_parse_u32(optarg, &exit_after)) {
                return usage_error("device", "--exit-after takes seconds");
            }
            break;
        case 'h': device_help(stdout); return WARD_EXIT_OK;
        default: device_help(stderr); return WARD_EXIT_USAGE;
        }
    }
    if (dir == NULL || hci == NULL || optind != argc) {
        return usage_error("device", "--device DIR and --hci PATH are needed");
    }
    if (strlen(name) >= 32) {
        return usage_error("device", "--name: at most 31 bytes");
    }
    if (!have_addr && !read_identity(dir, &id)) {
        fprintf(stderr,
                "ward ble device: %s/ble-address is missing: a unit gets its identity address\n"
                "  (and its label and pairing key) from `ward factory provision`; or give --addr\n",
                dir);
        return WARD_EXIT_NOT_FOUND;
    }
    store_t st;
    const char *why = NULL;
    ward_err_t err = store_open(&st, dir, &why);
    if (err != WARD_OK) {
        return ble_fail("device", why, err);
    }
    ward_posix_hci_t tr;
    err = open_hci(&tr, hci);
    if (err != WARD_OK) {
        store_close(&st);
        return ble_fail("device", "cannot reach the controller (--hci)", err);
    }
    if (capture != NULL) {
        err = ward_btsnoop_open(&r.cap.snoop, capture);
        if (err != WARD_OK) {
            ward_posix_hci_close(&tr);
            store_close(&st);
            return ble_fail("device", "cannot write the capture", err);
        }
        r.cap.on = true;
    }
    ward_sim_rng_t rng;
    ward_sim_clock_t clk;
    ward_sim_rng_init(&rng, NULL, 0);
    ward_sim_clock_init(&clk, false);
    const bool oob = st.dev.hsm.port.pair_public != NULL &&
                     st.dev.hsm.port.pair_public(st.dev.hsm.port.ctx, (uint8_t[65]){0}) == WARD_OK;
    const ward_ble_plug_config_t cfg = {.transport = &tr.port,
                                        .vault = &st.v,
                                        .hsm = oob ? &st.dev.hsm.port : NULL,
                                        .rng = &rng.port,
                                        .clock = &clk.port,
                                        .identity = id,
                                        .io_cap = io,
                                        .window = {.open_ms = window_s * 1000u,
                                                   .max_failures = fails},
                                        .name = name,
                                        .ctx = &r,
                                        .event = dev_event,
                                        .trace = dev_trace};
    install_signals();
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint32_t nb = 0;
    (void)ward_ble_bond_count(&st.v, &nb);
    printf("ward ble device: pid %d (kill -USR1 %d presses the button); %s; %u bond%s; "
           "OOB pairing key %s\n",
           (int)getpid(), (int)getpid(), dir, (unsigned)nb, nb == 1 ? "" : "s",
           oob ? "in the HSM (label)" : "absent (Just Works only)");
    err = ward_ble_plug_init(&r.plug, &cfg);
    const uint64_t t0 = clk.port.now_ms(clk.port.ctx);
    int rc = WARD_EXIT_OK;
    if (err != WARD_OK) {
        rc = ble_fail("device", "cannot start the plug", err);
    }
    if (press && rc == WARD_EXIT_OK) {
        g_press = 1;
    }
    while (rc == WARD_EXIT_OK && !g_stop) {
        err = ward_ble_plug_poll(&r.plug, 20);
        if (err != WARD_OK) {
            rc = ble_fail("device", "the controller", err);
            break;
        }
        const uint64_t t = clk.port.now_ms(clk.port.ctx) - t0;
        for (size_t i = 0; i < npress; i++) {
            if (press_at[i] != UINT32_MAX && t >= (uint64_t)press_at[i] * 1000u) {
                press_at[i] = UINT32_MAX;
                g_press = 1;
            }
        }
        if (g_press && r.plug.addr_set) {
            g_press = 0;
            printf("button: pressed\n");
            (void)ward_ble_plug_button(&r.plug);
        }
        if (exit_after != 0u && t >= (uint64_t)exit_after * 1000u) {
            break;
        }
    }
    printf("ward ble device: stopping (%u bond%s made)\n", r.pairings, r.pairings == 1 ? "" : "s");
    ward_ble_plug_release(&r.plug);
    ward_posix_hci_close(&tr);
    if (r.cap.on) {
        (void)ward_btsnoop_close(&r.cap.snoop);
    }
    store_close(&st);
    return rc;
}

/* ---- ward ble phone ----------------------------------------------------------------- */

typedef struct {
    ward_ble_phone_t ph;
    capture_t cap;
    int confirm;     /* -1: ask on the terminal */
    int32_t passkey; /* -1: ask */
} phonerun_t;

static void phone_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    capture_write(&((phonerun_t *)ctx)->cap, to_controller, h4, len);
}

static bool ask_line(const char *prompt, char *buf, size_t cap)
{
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    if (fgets(buf, (int)cap, stdin) == NULL) {
        return false;
    }
    buf[strcspn(buf, "\n")] = '\0';
    return true;
}

static bool phone_passkey(void *ctx, uint32_t *pk)
{
    const phonerun_t *r = ctx;
    if (r->passkey >= 0) {
        *pk = (uint32_t)r->passkey;
        return true;
    }
    char line[32];
    uint32_t v = 0;
    if (!ask_line("type the passkey the device shows: ", line, sizeof line) ||
        !ward_cli_parse_u32(line, &v) || v > WARD_SMP_PASSKEY_MAX) {
        return false;
    }
    *pk = v;
    return true;
}

static void phone_display(void *ctx, uint32_t pk)
{
    (void)ctx;
    printf("type this passkey on the device: %06u\n", (unsigned)pk);
    fflush(stdout);
}

static bool phone_numeric(void *ctx, uint32_t value)
{
    const phonerun_t *r = ctx;
    printf("numeric comparison: %06u\n", (unsigned)value);
    fflush(stdout);
    if (r->confirm >= 0) {
        return r->confirm == 1;
    }
    char line[16];
    return ask_line("does the device show the same number? [y/N] ", line, sizeof line) &&
           (line[0] == 'y' || line[0] == 'Y');
}

/* The phone's own simulated device: its bonds and identity, in its vault. */
static ward_err_t phone_state(store_t *s, const char *dir, ward_ble_addr_t *id, uint8_t irk[16],
                              const ward_rng_t *rng, const char **why)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        ward_sim_geometry_t g;
        ward_sim_geometry_default(&g);
        *why = "cannot make the phone's state";
        ward_err_t err = ward_sim_device_create(dir, &g);
        if (err == WARD_OK) {
            err = ward_sim_device_open(&s->dev, dir);
        }
        if (err == WARD_OK) {
            err = s->dev.hsm.port.huk_generate(s->dev.hsm.port.ctx);
            ward_sim_device_close(&s->dev);
        }
        if (err != WARD_OK) {
            return err;
        }
    }
    ward_err_t err = store_open(s, dir, why);
    if (err != WARD_OK) {
        return err;
    }
    uint8_t rec[23];
    size_t n = 0;
    err = ward_vault_get(&s->v, rec, sizeof rec, &n, PHONE_ID_REC);
    if (err == WARD_ERR_NOT_FOUND) {
        /* A new phone: a random static identity and an IRK, kept encrypted. */
        do {
            err = rng->fill(rng->ctx, rec, sizeof rec);
            rec[0] = WARD_BLE_ADDR_RANDOM;
            rec[6] |= 0xC0u;
            id->type = rec[0];
            memcpy(id->a, rec + 1, 6);
        } while (err == WARD_OK && !ward_ble_addr_is_identity(id));
        n = sizeof rec;
        if (err == WARD_OK) {
            err = ward_vault_put(&s->v, PHONE_ID_REC, rec, sizeof rec);
        }
    }
    if (err == WARD_OK && n != sizeof rec) {
        err = WARD_ERR_CORRUPT;
    }
    if (err != WARD_OK) {
        *why = "cannot read the phone's identity";
        ward_wipe(rec, sizeof rec);
        store_close(s);
        return err;
    }
    id->type = rec[0];
    memcpy(id->a, rec + 1, 6);
    memcpy(irk, rec + 7, 16);
    ward_wipe(rec, sizeof rec);
    return WARD_OK;
}

/* The one bond the phone has, if it has exactly one. */
static bool only_bond(ward_vault_t *v, ward_ble_addr_t *a)
{
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char name[WARD_CONFIG_VAULT_NAME_MAX + 1];
    size_t vlen = 0;
    unsigned n = 0;
    while (ward_vault_next(v, &it, name, &vlen) != WARD_ERR_NOT_FOUND) {
        ward_ble_bond_t b;
        if (strncmp(name, WARD_BLE_BOND_PREFIX, sizeof WARD_BLE_BOND_PREFIX - 1) == 0 &&
            vlen == WARD_BLE_BOND_RECORD_LEN) {
            uint8_t rec[WARD_BLE_BOND_RECORD_LEN];
            size_t got = 0;
            if (ward_vault_get(v, rec, sizeof rec, &got, name) == WARD_OK &&
                ward_ble_bond_decode(&b, rec, got) == WARD_OK) {
                *a = b.id;
                n++;
            }
            ward_wipe(rec, sizeof rec);
            ward_wipe(&b, sizeof b);
        }
    }
    return n == 1;
}

static void phone_help(FILE *f)
{
    fprintf(f,
            "usage: ward ble phone --hci PATH [options] COMMAND [ARGS]\n"
            "\n"
            "The companion app's side: finds the plug, pairs, then reads and writes its\n"
            "service over an encrypted link. The phone's bonds and identity live in --state.\n"
            "\n"
            "commands:\n"
            "  pair                      pair (with --oob: by the unit's label, authenticated)\n"
            "  read [status|name]        read a value\n"
            "  write relay on|off        switch the relay\n"
            "  write wifi SSID [PSK]     Wi-Fi credentials (PSK from stdin if not given)\n"
            "  write reset               factory reset (the unit wipes its vault)\n"
            "  scan [SEC]                list advertisers (default 2 s)\n"
            "  bonds                     the phone's bonds\n"
            "  forget ADDR               remove the phone's bond of ADDR\n"
            "\n"
            "options:\n"
            "      --hci PATH            the phone's controller (a Unix socket or a tty)\n"
            "      --state DIR           the phone's own state (default ./ward-phone, made on\n"
            "                            first use: a simulated device with a vault)\n"
            "      --oob LABEL.txt       the unit's label (ward factory provision wrote it)\n"
            "      --oob-text TEXT       the label's text, as typed or scanned\n"
            "      --addr ADDR           the device (default: the label's, or the only bond)\n"
            "      --io CAP              the phone's IO capability (default kbddisplay)\n"
            "      --just-works          pair without asking for MITM protection\n"
            "      --passkey N           the passkey the device shows (else asked)\n"
            "      --confirm yes|no      Numeric Comparison's answer (else asked)\n"
            "      --no-encrypt          do not encrypt with the bond (to see the refusal)\n"
            "      --capture FILE        write a btsnoop capture\n"
            "      --timeout SEC         how long to look for the device (default 10)\n"
            "  -h, --help                this help\n"
            "exit codes: 0; 80-86 pairing refused (docs/errors.md); 95 the device refused an ATT\n"
            "request (its code is printed); 94 the device was not found or did not answer.\n");
}

static void print_bonds(ward_vault_t *v, FILE *out)
{
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char name[WARD_CONFIG_VAULT_NAME_MAX + 1];
    size_t vlen = 0;
    unsigned n = 0;
    while (ward_vault_next(v, &it, name, &vlen) != WARD_ERR_NOT_FOUND) {
        if (strncmp(name, WARD_BLE_BOND_PREFIX, sizeof WARD_BLE_BOND_PREFIX - 1) != 0) {
            continue;
        }
        uint8_t rec[WARD_BLE_BOND_RECORD_LEN];
        size_t got = 0;
        ward_ble_bond_t b;
        if (ward_vault_get(v, rec, sizeof rec, &got, name) == WARD_OK &&
            ward_ble_bond_decode(&b, rec, got) == WARD_OK) {
            char a[ADDR_STR];
            addr_str(a, &b.id);
            fprintf(out, "%s  %s, %s, key size %u%s\n", a, method_name(b.method),
                    b.authenticated ? "authenticated" : "unauthenticated", b.key_size,
                    b.has_irk ? ", IRK" : "");
            n++;
        }
        ward_wipe(rec, sizeof rec);
        ward_wipe(&b, sizeof b);
    }
    fprintf(out, "%u bond%s\n", n, n == 1 ? "" : "s");
}

static void scan_report(void *ctx, const ward_hci_event_t *ev)
{
    (void)ctx;
    char a[ADDR_STR], name[32] = "";
    addr_str(a, &ev->addr);
    for (size_t i = 0; i + 1 < ev->data_len;) {
        const size_t l = ev->data[i];
        if (l == 0 || i + 1 + l > ev->data_len) {
            break;
        }
        if ((ev->data[i + 1] == 0x09 || ev->data[i + 1] == 0x08) && l - 1 < sizeof name) {
            memcpy(name, ev->data + i + 2, l - 1);
            name[l - 1] = '\0';
        }
        i += 1 + l;
    }
    static const char *const k_type[5] = {"connectable", "directed (to us)", "scannable",
                                          "non-connectable", "scan response"};
    printf("  %s  %s%s%s rssi %d\n", a, ev->adv_type < 5 ? k_type[ev->adv_type] : "?",
           name[0] ? ", name " : "", name, ev->rssi);
}

static int att_done(const char *what, ward_err_t err, uint8_t code)
{
    if (err == WARD_ERR_BLE_ATT) {
        printf("%s: refused by the device: ATT error 0x%02x (%s)\n", what, code, att_reason(code));
        return ward_cli_exit_code(err);
    }
    if (err != WARD_OK) {
        return ble_fail("phone", what, err);
    }
    return WARD_EXIT_OK;
}

static int phone_do(phonerun_t *r, store_t *st, const ward_ble_addr_t *dev, bool encrypt,
                    const ward_smp_oob_t *oob, uint8_t io, bool mitm, int argc, char **argv)
{
    ward_ble_phone_t *ph = &r->ph;
    const char *cmd = argv[0];
    char a[ADDR_STR];
    addr_str(a, dev);
    ward_ble_bond_t bond;
    memset(&bond, 0, sizeof bond);
    const bool bonded = ward_ble_bond_load(&st->v, dev, &bond) == WARD_OK;
    ward_err_t err = ward_ble_phone_mtu(ph, 3000);
    if (err != WARD_OK) {
        ward_wipe(&bond, sizeof bond);
        return ble_fail("phone", "ATT MTU exchange", err);
    }
    if (strcmp(cmd, "pair") == 0) {
        ward_wipe(&bond, sizeof bond);
        const ward_ble_phone_pairing_t o = {
            .io_cap = io, .bonding = true, .mitm = mitm, .oob = oob, .timeout_ms = 40000};
        ward_ble_phone_result_t res;
        err = ward_ble_phone_pair(ph, &o, &res);
        if (err == WARD_ERR_SMP_FAILED || err == WARD_ERR_SMP_TIMEOUT) {
            printf("pairing refused: reason 0x%02x (%s)%s\n", res.reason,
                   res.timeout ? "SMP timeout" : smp_reason(res.reason),
                   res.remote ? ", said by the device" : ", said by this phone");
            return ward_cli_exit_code(err);
        }
        if (err != WARD_OK) {
            return ble_fail("phone", "pairing", err);
        }
        ward_ble_bond_t b;
        ward_ble_bond_from_keys(&b, &res.keys);
        ward_wipe(&res, sizeof res);
        addr_str(a, &b.id);
        err = ward_ble_bond_store(&st->v, &b);
        const bool auth = b.authenticated;
        const uint8_t method = b.method;
        ward_wipe(&b, sizeof b);
        printf("paired with %s: %s, %s, LE Secure Connections, key size 16; link encrypted\n", a,
               method_name(method), auth ? "authenticated" : "unauthenticated (no control)");
        if (err != WARD_OK) {
            return ble_fail("phone", "storing the bond", err);
        }
        printf("bond stored in the phone's vault\n");
        return WARD_EXIT_OK;
    }
    if (encrypt && bonded) {
        uint8_t status = 0;
        const uint8_t flags = (uint8_t)(WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED |
                                        (bond.authenticated ? WARD_BLE_KEY_AUTHENTICATED : 0u));
        err = ward_ble_phone_encrypt(ph, bond.ltk, flags, 5000, &status);
        ward_wipe(&bond, sizeof bond);
        if (err == WARD_OK) {
            printf("encrypted with the bond (no pairing)\n");
        } else if (err == WARD_ERR_BLE_ENCRYPTION) {
            printf("encryption with the bond failed: status 0x%02x (%s); the link stays "
                   "unencrypted\n",
                   status,
                   status == WARD_HCI_ERR_PIN_OR_KEY_MISSING ? "the device has no bond of us: pair again"
                                                             : "the keys differ");
        } else {
            return ble_fail("phone", "encryption", err);
        }
    } else {
        ward_wipe(&bond, sizeof bond);
        printf("not encrypted (%s)\n", bonded ? "--no-encrypt" : "no bond with this device");
    }
    uint8_t code = 0;
    if (strcmp(cmd, "read") == 0) {
        const char *what = argc > 1 ? argv[1] : "status";
        uint8_t val[64];
        size_t n = 0;
        const uint16_t h = strcmp(what, "name") == 0 ? WARD_GATT_PLUG_H_NAME : WARD_GATT_PLUG_H_STATUS;
        if (strcmp(what, "name") != 0 && strcmp(what, "status") != 0) {
            return usage_error("phone", "read status or read name");
        }
        err = ward_ble_phone_read(ph, h, val, sizeof val, &n, &code, 5000);
        if (err == WARD_OK && h == WARD_GATT_PLUG_H_STATUS && n == 2) {
            printf("status: relay %s, Wi-Fi %s, pairing window %s\n", val[0] ? "on" : "off",
                   (val[1] & WARD_BLE_PLUG_STATUS_WIFI) ? "provisioned" : "not provisioned",
                   (val[1] & WARD_BLE_PLUG_STATUS_WINDOW) ? "open" : "closed");
        } else if (err == WARD_OK) {
            printf("%s: %.*s\n", what, (int)n, (const char *)val);
        }
        return att_done("read", err, code);
    }
    if (strcmp(cmd, "write") == 0 && argc >= 2) {
        if (strcmp(argv[1], "relay") == 0 && argc == 3 &&
            (strcmp(argv[2], "on") == 0 || strcmp(argv[2], "off") == 0)) {
            const uint8_t on = strcmp(argv[2], "on") == 0;
            err = ward_ble_phone_write(ph, WARD_GATT_PLUG_H_RELAY, &on, 1, &code, 5000);
            if (err == WARD_OK) {
                printf("relay: %s\n", on ? "on" : "off");
            }
            return att_done("write relay", err, code);
        }
        if (strcmp(argv[1], "reset") == 0 && argc == 2) {
            err = ward_ble_phone_write(ph, WARD_GATT_PLUG_H_RESET, (const uint8_t *)"WIPE", 4,
                                       &code, 5000);
            if (err == WARD_OK) {
                printf("factory reset: done (the device wiped its vault)\n");
            }
            return att_done("write reset", err, code);
        }
        if (strcmp(argv[1], "wifi") == 0 && (argc == 3 || argc == 4)) {
            /* The password leaves only over a link encrypted with an
             * authenticated key: not in the clear after a refused bond key
             * (a sniffer, or an impostor at the device's address, reads
             * it), nor over a Just Works key (a man in the middle of that
             * pairing reads it). The device would refuse it there anyway. */
            ward_ble_sec_t sec;
            if (ward_ble_phone_security(ph, &sec) != WARD_OK || !sec.encrypted ||
                sec.key_size != 16u || (sec.key_flags & WARD_BLE_KEY_AUTHENTICATED) == 0u) {
                printf("write wifi: not sent: the link is not encrypted with an authenticated bond "
                       "(pair with --oob LABEL first)\n");
                return ward_cli_exit_code(WARD_ERR_BLE_ENCRYPTION);
            }
            char psk[80];
            if (argc == 4) {
                snprintf(psk, sizeof psk, "%s", argv[3]);
            } else if (!ask_line("Wi-Fi password: ", psk, sizeof psk)) {
                return usage_error("phone", "no Wi-Fi password on stdin");
            }
            const size_t sl = strlen(argv[2]), pl = strlen(psk);
            if (sl < 1 || sl > 32 || pl < 8 || pl > 63) {
                ward_wipe(psk, sizeof psk);
                return usage_error("phone", "SSID 1..32 bytes, PSK 8..63 bytes");
            }
            uint8_t val[WARD_GATT_PLUG_WIFI_MAX];
            val[0] = (uint8_t)sl;
            memcpy(val + 1, argv[2], sl);
            val[1 + sl] = (uint8_t)pl;
            /* A length-prefixed value, not a C string. */
            memcpy(val + 2 + sl, psk, pl); // NOLINT(bugprone-not-null-terminated-result)
            ward_wipe(psk, sizeof psk);
            err = ward_ble_phone_write(ph, WARD_GATT_PLUG_H_WIFI, val, 2 + sl + pl, &code, 5000);
            ward_wipe(val, sizeof val);
            if (err == WARD_OK) {
                printf("wifi: credentials for \"%s\" sent; the device keeps them in its vault\n",
                       argv[2]);
            }
            return att_done("write wifi", err, code);
        }
    }
    return usage_error("phone", "unknown command (ward ble phone --help)");
}

static int cmd_phone(int argc, char **argv)
{
    enum { O_HCI = 1000, O_STATE, O_OOB, O_OOB_TEXT, O_ADDR, O_IO, O_JW, O_PASSKEY, O_CONFIRM,
           O_NOENC, O_CAPTURE, O_TIMEOUT };
    static const struct option opts[] = {
        {"hci", required_argument, NULL, O_HCI},       {"state", required_argument, NULL, O_STATE},
        {"oob", required_argument, NULL, O_OOB},       {"oob-text", required_argument, NULL, O_OOB_TEXT},
        {"addr", required_argument, NULL, O_ADDR},     {"io", required_argument, NULL, O_IO},
        {"just-works", no_argument, NULL, O_JW},       {"passkey", required_argument, NULL, O_PASSKEY},
        {"confirm", required_argument, NULL, O_CONFIRM}, {"no-encrypt", no_argument, NULL, O_NOENC},
        {"capture", required_argument, NULL, O_CAPTURE}, {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0},
    };
    const char *hci = NULL, *state = "ward-phone", *label_path = NULL, *label_text = NULL,
               *capture = NULL;
    ward_ble_addr_t dev;
    memset(&dev, 0, sizeof dev);
    bool have_addr = false, jw = false, encrypt = true;
    uint8_t io = WARD_SMP_IO_KEYBOARD_DISPLAY;
    uint32_t timeout_s = 10, v = 0;
    static phonerun_t r;
    memset(&r, 0, sizeof r);
    r.confirm = -1;
    r.passkey = -1;
    int c;
    optind = 1;
    /* Options first, then the command: '+' stops at the first non-option. */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case O_HCI: hci = optarg; break;
        case O_STATE: state = optarg; break;
        case O_OOB: label_path = optarg; break;
        case O_OOB_TEXT: label_text = optarg; break;
        case O_ADDR:
            if (!parse_addr(optarg, &dev)) {
                return usage_error("phone", "--addr AA:BB:CC:DD:EE:FF [random|public]");
            }
            have_addr = true;
            break;
        case O_IO:
            if (!parse_io(optarg, &io)) {
                return usage_error("phone", "--io: none, display, yesno, keyboard, kbddisplay");
            }
            break;
        case O_JW: jw = true; break;
        case O_PASSKEY:
            if (!ward_cli_parse_u32(optarg, &v) || v > WARD_SMP_PASSKEY_MAX) {
                return usage_error("phone", "--passkey takes 0..999999");
            }
            r.passkey = (int32_t)v;
            break;
        case O_CONFIRM:
            if (strcmp(optarg, "yes") != 0 && strcmp(optarg, "no") != 0) {
                return usage_error("phone", "--confirm yes or no");
            }
            r.confirm = strcmp(optarg, "yes") == 0;
            break;
        case O_NOENC: encrypt = false; break;
        case O_CAPTURE: capture = optarg; break;
        case O_TIMEOUT:
            if (!ward_cli_parse_u32(optarg, &timeout_s) || timeout_s < 1 || timeout_s > 3600) {
                return usage_error("phone", "--timeout takes 1..3600 seconds");
            }
            break;
        case 'h': phone_help(stdout); return WARD_EXIT_OK;
        default: phone_help(stderr); return WARD_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        return usage_error("phone", "a command is needed (pair, read, write, scan, bonds, forget)");
    }
    char **cargv = argv + optind;
    const int cargc = argc - optind;
    const char *cmd = cargv[0];
    if (label_path != NULL && label_text != NULL) {
        return usage_error("phone", "--oob or --oob-text, not both");
    }
    /* The label: r and C of the unit, its address. */
    ward_label_t label;
    bool have_label = false;
    if (label_path != NULL || label_text != NULL) {
        char text[256] = "";
        if (label_path != NULL) {
            FILE *f = fopen(label_path, "r");
            if (f == NULL || fgets(text, sizeof text, f) == NULL) {
                if (f != NULL) {
                    fclose(f);
                }
                return ble_fail("phone", "cannot read the label file", WARD_ERR_IO);
            }
            fclose(f);
            text[strcspn(text, "\r\n")] = '\0';
        } else {
            snprintf(text, sizeof text, "%s", label_text);
        }
        ward_err_t err = ward_label_parse(&label, text);
        ward_wipe(text, sizeof text);
        if (err != WARD_OK) {
            return ble_fail("phone", "the label", err);
        }
        have_label = true;
        if (!have_addr) {
            dev = label.addr;
            have_addr = true;
        }
    }
    ward_sim_rng_t rng;
    ward_sim_clock_t clk;
    ward_sim_rng_init(&rng, NULL, 0);
    ward_sim_clock_init(&clk, false);
    store_t st;
    ward_ble_addr_t id;
    uint8_t irk[16];
    memset(&id, 0, sizeof id);
    const char *why = NULL;
    ward_err_t err = phone_state(&st, state, &id, irk, &rng.port, &why);
    if (err != WARD_OK) {
        return ble_fail("phone", why, err);
    }
    int rc = WARD_EXIT_OK;
    if (strcmp(cmd, "bonds") == 0 || strcmp(cmd, "forget") == 0) {
        if (strcmp(cmd, "bonds") == 0) {
            char a[ADDR_STR];
            addr_str(a, &id);
            printf("phone identity %s\n", a);
            print_bonds(&st.v, stdout);
        } else if (cargc != 2 || !parse_addr(cargv[1], &dev)) {
            rc = usage_error("phone", "forget AA:BB:CC:DD:EE:FF [random|public]");
        } else {
            err = ward_ble_bond_remove(&st.v, &dev);
            rc = err == WARD_OK ? WARD_EXIT_OK : ble_fail("phone", "forget", err);
            if (err == WARD_OK) {
                printf("bond removed from the phone\n");
            }
        }
        ward_wipe(irk, sizeof irk);
        store_close(&st);
        return rc;
    }
    if (hci == NULL) {
        ward_wipe(irk, sizeof irk);
        store_close(&st);
        return usage_error("phone", "--hci PATH is needed");
    }
    if (!have_addr && strcmp(cmd, "scan") != 0 && !only_bond(&st.v, &dev)) {
        ward_wipe(irk, sizeof irk);
        store_close(&st);
        return usage_error("phone", "which device? --oob LABEL.txt or --addr ADDR");
    }
    ward_posix_hci_t tr;
    err = open_hci(&tr, hci);
    if (err != WARD_OK) {
        ward_wipe(irk, sizeof irk);
        store_close(&st);
        return ble_fail("phone", "cannot reach the controller (--hci)", err);
    }
    if (capture != NULL && ward_btsnoop_open(&r.cap.snoop, capture) == WARD_OK) {
        r.cap.on = true;
    }
    const ward_ble_phone_config_t cfg = {.transport = &tr.port,
                                         .rng = &rng.port,
                                         .clock = &clk.port,
                                         .identity = id,
                                         .irk = irk,
                                         .ctx = &r,
                                         .passkey_request = phone_passkey,
                                         .passkey_display = phone_display,
                                         .numeric_compare = phone_numeric,
                                         .trace = phone_trace};
    setvbuf(stdout, NULL, _IOLBF, 0);
    err = ward_ble_phone_init(&r.ph, &cfg, 3000);
    if (err != WARD_OK) {
        rc = ble_fail("phone", "cannot start the controller", err);
    } else if (strcmp(cmd, "scan") == 0) {
        uint32_t secs = 2;
        if (cargc > 1 && !ward_cli_parse_u32(cargv[1], &secs)) {
            secs = 2;
        }
        printf("scanning for %u s:\n", (unsigned)secs);
        err = ward_ble_phone_scan(&r.ph, secs * 1000u, scan_report, NULL);
        rc = err == WARD_OK ? WARD_EXIT_OK : ble_fail("phone", "scan", err);
    } else {
        char a[ADDR_STR];
        addr_str(a, &dev);
        err = ward_ble_phone_connect(&r.ph, &dev, timeout_s * 1000u);
        if (err == WARD_ERR_BLE_TIMEOUT) {
            fprintf(stderr,
                    "ward ble phone: %s is not advertising to us: press its button to open\n"
                    "  its pairing window (a bonded phone is let in at any time)\n",
                    a);
            rc = ward_cli_exit_code(err);
        } else if (err != WARD_OK) {
            rc = ble_fail("phone", "cannot connect", err);
        } else {
            printf("connected to %s\n", a);
            rc = phone_do(&r, &st, &dev, encrypt, have_label ? &label.oob : NULL, io,
                          !jw && io != WARD_SMP_IO_NONE, cargc, cargv);
            (void)ward_ble_phone_disconnect(&r.ph, 2000);
        }
    }
    ward_ble_phone_release(&r.ph);
    ward_posix_hci_close(&tr);
    if (r.cap.on) {
        (void)ward_btsnoop_close(&r.cap.snoop);
    }
    ward_wipe(irk, sizeof irk);
    ward_wipe(&label, sizeof label);
    store_close(&st);
    return rc;
}

/* ---- ward ble btvirt / bonds / forget ------------------------------------------------- */

static int cmd_btvirt(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *f = argc == 2 ? stdout : stderr;
        fprintf(f, "usage: ward ble btvirt DIR\n\n"
                   "Runs BlueZ's controller emulator (btvirt -s -S, Debian's bluez-test-tools)\n"
                   "under ward's AF_ALG shim, its sockets in DIR, until SIGINT/SIGTERM. Point\n"
                   "`ward ble device --hci` and `ward ble phone --hci` at DIR/bt-server-bredrle:\n"
                   "each gets its own controller, all in one radio.\n");
        return argc == 2 ? WARD_EXIT_OK : WARD_EXIT_USAGE;
    }
    ward_btvirt_t b;
    if (ward_btvirt_start(&b, argv[1]) != 0) {
        fprintf(stderr, "ward ble btvirt: %s\n", b.why);
        return WARD_EXIT_FAIL;
    }
    install_signals();
    printf("btvirt running (pid %d) under %s\n"
           "controllers: %s   (LE + BR/EDR: use this one)\n"
           "pty:         %s\n"
           "stop with Ctrl-C\n",
           (int)b.pid, ward_btvirt_shim(), b.socket, b.pty[0] ? b.pty : "-");
    fflush(stdout);
    while (!g_stop && ward_btvirt_alive(&b)) {
        const struct timespec ts = {0, 100000000L};
        (void)nanosleep(&ts, NULL);
    }
    const bool died = !ward_btvirt_alive(&b);
    ward_btvirt_stop(&b);
    if (died && !g_stop) {
        fprintf(stderr, "ward ble btvirt: btvirt exited (see %s/btvirt.log)\n", b.dir);
        return WARD_EXIT_FAIL;
    }
    return WARD_EXIT_OK;
}

static int cmd_bonds(int argc, char **argv)
{
    const bool forget = strcmp(argv[0], "forget") == 0;
    const char *dir = NULL;
    ward_ble_addr_t a;
    int i = 1;
    for (; i < argc; i++) {
        if ((strcmp(argv[i], "--device") == 0 || strcmp(argv[i], "-d") == 0) && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: ward ble bonds --device DIR\n"
                   "       ward ble forget --device DIR ADDR\n\n"
                   "The plug's bonds (in DIR's vault; no key is shown), or remove one: that\n"
                   "phone must pair again. Not while `ward ble device` runs on DIR.\n");
            return WARD_EXIT_OK;
        } else {
            break;
        }
    }
    if (dir == NULL || (forget ? (i != argc - 1 || !parse_addr(argv[i], &a)) : i != argc)) {
        return usage_error(argv[0], forget ? "--device DIR ADDR" : "--device DIR");
    }
    store_t st;
    const char *why = NULL;
    ward_err_t err = store_open(&st, dir, &why);
    if (err != WARD_OK) {
        return ble_fail(argv[0], why, err);
    }
    int rc = WARD_EXIT_OK;
    if (forget) {
        err = ward_ble_bond_remove(&st.v, &a);
        if (err == WARD_OK) {
            printf("bond removed: that phone must pair again\n");
        } else {
            rc = ble_fail("forget", "no such bond", err);
        }
    } else {
        print_bonds(&st.v, stdout);
    }
    store_close(&st);
    return rc;
}

/* ---- dispatch --------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} sub_t;

static const sub_t k_sub[] = {
    {"device", cmd_device, "the plug's BLE side on a simulated unit (its button: SIGUSR1)"},
    {"phone", cmd_phone, "the companion app: pair, read, write"},
    {"btvirt", cmd_btvirt, "run BlueZ's controller emulator under ward's AF_ALG shim"},
    {"bonds", cmd_bonds, "list the plug's bonds"},
    {"forget", cmd_bonds, "remove one of the plug's bonds"},
};

static void ble_help(FILE *f)
{
    fprintf(f, "usage: ward ble <command> [options]   (ward ble <command> --help)\n\n"
               "BLE: a smart plug and its companion app over a real HCI controller (BlueZ's\n"
               "emulator: ward ble btvirt). docs/ble.md plays the story from two shells.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof k_sub / sizeof k_sub[0]; i++) {
        fprintf(f, "  %-7s %s\n", k_sub[i].name, k_sub[i].help);
    }
}

int ward_cmd_ble(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        ble_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? WARD_EXIT_USAGE : WARD_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof k_sub / sizeof k_sub[0]; i++) {
        if (strcmp(argv[1], k_sub[i].name) == 0) {
            return k_sub[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "ward ble: unknown command '%s'\n", argv[1]);
    ble_help(stderr);
    return WARD_EXIT_USAGE;
}
