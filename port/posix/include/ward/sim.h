/*
 * ward simulator (port/posix): a device made of files, for tests, the demo
 * and development without a board.
 *
 *   flash  NOR rules enforced: erase sets 0xFF, program only clears bits,
 *          alignment to the write granularity, optional "program once per
 *          write unit" (ECC flash such as STM32L4); per-sector erase counts;
 *          operation counters; rule violations counted, never silently done.
 *   otp    one-way bits, per-field write lock.
 *   hsm    device-unique key (HUK) and identity key kept in their own file,
 *          never returned through the port; monotonic counters.
 *   power  one power domain shared by flash, OTP and HSM: power can be cut
 *          at the N-th power-relevant operation (flash program/erase, OTP
 *          burn, counter increment), optionally leaving that operation half
 *          done (a torn write or erase). After the cut every operation fails
 *          with WARD_ERR_POWER_LOSS until ward_sim_power_on().
 *   net    ward_net_t over POSIX sockets: a fixed pool of TCP connections,
 *          with hooks that split, cut or refuse them.
 *
 * Host code: uses the C library and POSIX freely.
 */
#ifndef WARD_SIM_H
#define WARD_SIM_H

#include "ward/boot.h"
#include "ward/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- power domain -------------------------------------------------------- */

typedef struct ward_sim_power {
    uint64_t ops;    /* power-relevant operations so far */
    uint64_t cut_at; /* 0: never; else power dies at operation number cut_at */
    bool torn;       /* the cut operation is left half done */
    bool dead;       /* power is off */
    uint64_t cuts;   /* how many times power was cut */
} ward_sim_power_t;

/* Arm a power cut at the n-th power-relevant operation from now (n >= 1).
 * torn: that operation is half done; else it does not happen at all. */
void ward_sim_power_cut_after(ward_sim_power_t *p, uint64_t n, bool torn);
/* Power back on, cut disarmed. Counters are kept. */
void ward_sim_power_on(ward_sim_power_t *p);

/* Outcome of asking the power domain to start an operation. */
typedef enum ward_sim_gate {
    WARD_SIM_GO = 0,  /* do the whole operation */
    WARD_SIM_TORN = 1, /* do half of it, then power is off */
    WARD_SIM_CUT = 2, /* do nothing, power is off now */
    WARD_SIM_DEAD = 3 /* power was already off */
} ward_sim_gate_t;
ward_sim_gate_t ward_sim_power_gate(ward_sim_power_t *p);

/* ---- flash --------------------------------------------------------------- */

typedef struct ward_sim_flash_stats {
    uint64_t reads, progs, erases;
    uint64_t bytes_read, bytes_programmed;
    uint64_t violations; /* attempted rule breaks (0->1, misalignment, reprogram) */
} ward_sim_flash_stats_t;

/*
 * What a torn operation leaves (the operation the power cut hit). Real parts
 * differ, so the power-fail tests run more than one model.
 *   HALF        program: the first half of the bytes lands and the next
 *               byte gets half of its cleared bits; the units touched are
 *               spent (program once). Erase: the first half of the sector
 *               is erased. The default.
 *   UNIT_BLANK  program on program-once flash: the units before the first
 *               unit land, and that unit is spent but still reads erased
 *               (a cut just after the controller started it: its ECC or
 *               program count is used, its cells are not). Nothing of the
 *               write is visible, yet the spot cannot be programmed again.
 *   UNIT_NOISE  program: the units before the middle one land; the middle
 *               one gets pseudo-random cleared bits and is spent. Erase:
 *               pseudo-random bits across the whole sector go to 1,
 *               nothing is reliably erased.
 */
typedef enum ward_sim_torn_model {
    WARD_SIM_TORN_HALF = 0,
    WARD_SIM_TORN_UNIT_BLANK = 1,
    WARD_SIM_TORN_UNIT_NOISE = 2
} ward_sim_torn_model_t;

/* Most runs of a simulated flash's sector map (ward_flash_region_t). */
#define WARD_SIM_REGIONS_MAX 8u

typedef struct ward_sim_flash {
    ward_flash_t port; /* hand &port to the core; port.ctx points back here */
    ward_flash_region_t regions[WARD_SIM_REGIONS_MAX]; /* port.regions, with a map */
    uint32_t nsectors;                /* sectors in the flash */
    ward_sim_torn_model_t torn_model; /* set after open; default HALF */
    uint32_t noise;                   /* state of the UNIT_NOISE bits (xorshift) */
    ward_sim_power_t *power;
    uint8_t *mem;
    uint32_t *erase_counts; /* one per sector, in address order */
    uint32_t *prog_counts;  /* programs that touched each sector */
    uint32_t *prog_bytes;   /* bytes programmed into each sector */
    uint8_t *programmed;    /* one bit per write unit, for program_once */
    bool program_once;      /* a write unit may be programmed once per erase */
    int fd;                 /* -1 for a memory-only flash */
    char *path;             /* the flash file, NULL for memory only */
    size_t map_len;
    ward_sim_flash_stats_t stats;
} ward_sim_flash_t;

/*
 * Open a flash of `size` bytes. path NULL: memory only. Otherwise the file
 * holds the raw flash contents (created erased if missing, when create is
 * true) and "<path>.wear" the per-sector counters, kept across opens:
 * erase counts, then program counts, then bytes programmed, each one
 * uint32 per sector in the host's byte order (a file with only the erase
 * counts, as older simulators wrote it, reads as no programs). They count
 * what stats counts: operations that reached the cells, torn ones
 * included; refused ones and those the power cut before they started are
 * not counted. Geometry: sector_size a power
 * of two, write_size 1..32 a power of two (32: STM32H7 flash words).
 * Returns WARD_OK, WARD_ERR_INVALID_ARG, WARD_ERR_IO, WARD_ERR_NOT_FOUND.
 */
ward_err_t ward_sim_flash_open(ward_sim_flash_t *f, ward_sim_power_t *power, const char *path,
                               bool create, uint32_t size, uint32_t sector_size,
                               uint32_t write_size, bool program_once);
/* The same with mixed sectors: the flash is the sector map `regions`
 * (nregions runs, at most WARD_SIM_REGIONS_MAX, each of power-of-two
 * sectors of 256 bytes or more), copied into f; port.regions points at the
 * copy and port.sector_size is the smallest sector. Erase works only at a
 * sector start of the map and erases that sector, whatever its size; a torn
 * erase leaves that sector as for uniform flash (HALF: its first half
 * erased; UNIT_NOISE: bits set across all of it). The counters are per
 * sector in address order. */
ward_err_t ward_sim_flash_open_map(ward_sim_flash_t *f, ward_sim_power_t *power, const char *path,
                                   bool create, const ward_flash_region_t *regions,
                                   uint32_t nregions, uint32_t write_size, bool program_once);
/* Index (in address order) of the sector that holds off, for the per-sector
 * counters; UINT32_MAX beyond the end. */
uint32_t ward_sim_flash_sector_index(const ward_sim_flash_t *f, uint32_t off);
/* Flush and release. */
void ward_sim_flash_close(ward_sim_flash_t *f);
/* Direct access for tests and tools (bypasses the rules and the power). */
uint8_t *ward_sim_flash_mem(ward_sim_flash_t *f);
/* Overwrite raw contents (tests/attacks: "write back an old dump"). */
ward_err_t ward_sim_flash_load(ward_sim_flash_t *f, const uint8_t *data, size_t len);

/* ---- hostile flash -------------------------------------------------------- */

/*
 * A flash that lies on reads (an SPI interposer, a flash emulator): wraps
 * another flash port; reads that overlap [lo, hi) are counted, and the
 * attack_read-th of them (and, with from_then_on, every later one) returns
 * the substitute's bytes for the part inside [lo, hi). subst is an image of
 * the whole flash (offsets are flash offsets): an older image, a forged
 * header with a fixed CRC, another device's flash. Programs and erases pass
 * through. docs/threat-model.md describes the model.
 */
typedef struct ward_sim_hostile {
    ward_flash_t port; /* hand &port to the core */
    const ward_flash_t *inner;
    uint32_t lo, hi;      /* attacked window (flash offsets) */
    uint64_t reads;       /* reads of the window since the last arm */
    uint64_t attack_read; /* 0: honest; else the read (1-based) that lies */
    bool from_then_on;    /* lie on every read from attack_read on */
    const uint8_t *subst; /* what the lying reads return */
    uint32_t subst_len;
    uint64_t hits; /* reads that were altered */
} ward_sim_hostile_t;

/* Wrap inner; hi <= lo means up to the end of the flash. Honest until armed. */
void ward_sim_hostile_init(ward_sim_hostile_t *h, const ward_flash_t *inner, uint32_t lo,
                           uint32_t hi);
/* Reset the read count and lie on read n (0: honest, just count). */
void ward_sim_hostile_arm(ward_sim_hostile_t *h, uint64_t n, bool from_then_on,
                          const uint8_t *subst, uint32_t subst_len);

/* ---- OTP ----------------------------------------------------------------- */

typedef struct ward_sim_otp {
    ward_otp_t port;
    ward_sim_power_t *power;
    uint8_t data[256];
    bool locked[WARD_OTP_FIELD_COUNT];
    char *path; /* NULL: memory only */
    uint64_t burns;
} ward_sim_otp_t;

/* Open the OTP file (created blank if missing and create). */
ward_err_t ward_sim_otp_open(ward_sim_otp_t *o, ward_sim_power_t *power, const char *path,
                             bool create);
void ward_sim_otp_close(ward_sim_otp_t *o);

/* ---- HSM ----------------------------------------------------------------- */

typedef struct ward_sim_hsm {
    ward_hsm_t port;
    ward_sim_power_t *power;
    char *path; /* NULL: memory only */
    /* The simulated secure element's storage. Nothing here is ever
     * returned through the ward_hsm_t port. */
    bool has_huk;
    uint8_t huk[32];
    bool has_id;
    uint8_t id_priv[32];
    uint32_t counters[WARD_HSM_COUNTERS];
    uint64_t increments; /* counter increments done (for endurance budgets) */
    uint64_t derives;
    /* BLE OOB pairing key (ward_hsm_t pair_*), kept in "<path>.pair":
     * "WARDPAR1" | private scalar[32] (big-endian) | r[16]. */
    bool pair_loaded;
    bool has_pair;
    uint8_t pair_priv[32];
    uint8_t pair_r[16];
    /* Identity key rotation (id_next_*): the next key, kept in the same
     * file as the current one so that the switch is one atomic write. */
    bool has_next;
    uint8_t next_priv[32];
    /* PSA ids handed out by id_key / id_next_key (0: none loaded yet). */
    uint32_t id_psa;
    uint32_t next_psa;
} ward_sim_hsm_t;

ward_err_t ward_sim_hsm_open(ward_sim_hsm_t *h, ward_sim_power_t *power, const char *path,
                             bool create);
void ward_sim_hsm_close(ward_sim_hsm_t *h);

/* ---- RNG and clock ------------------------------------------------------- */

typedef struct ward_sim_rng {
    ward_rng_t port;
    bool deterministic;
    uint8_t seed[32];
    uint64_t counter;
} ward_sim_rng_t;

/* seed NULL: the OS's random source; else a reproducible stream. */
void ward_sim_rng_init(ward_sim_rng_t *r, const uint8_t *seed, size_t seed_len);

typedef struct ward_sim_clock {
    ward_clock_t port;
    bool virtual_time;
    uint64_t now; /* virtual milliseconds */
} ward_sim_clock_t;

/* virtual_time: now_ms returns `now`, advanced by ward_sim_clock_advance.
 * Else the host's monotonic clock. */
void ward_sim_clock_init(ward_sim_clock_t *c, bool virtual_time);
void ward_sim_clock_advance(ward_sim_clock_t *c, uint64_t ms);

/* ---- network: ward_net_t over POSIX sockets -------------------------------- */

/* Connections one ward_sim_net_t can hold at once (a device's socket pool). */
#define WARD_SIM_NET_CONNS 4

typedef struct ward_sim_net_stats {
    uint64_t connects;      /* connect() calls */
    uint64_t connected;     /* of which succeeded */
    uint64_t closes;
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t timeouts;      /* recv/connect that ran out of time */
} ward_sim_net_stats_t;

typedef struct ward_sim_net {
    ward_net_t port; /* hand &port to the core; port.ctx points back here */
    struct ward_sim_net_conn {
        int fd;       /* -1: free */
        uint64_t received;
    } conns[WARD_SIM_NET_CONNS];
    ward_sim_net_stats_t stats;
    /* Test hooks (0: off). */
    size_t recv_max;          /* hand out at most this many bytes per recv */
    size_t send_max;          /* take at most this many bytes per send */
    uint32_t fail_connects;   /* the next n connects fail with WARD_ERR_NET */
    uint64_t cut_after;       /* a connection breaks (WARD_ERR_NET) once it
                                 has received this many bytes */
    uint32_t send_timeout_ms; /* per send; 0: 10,000 */
} ward_sim_net_t;

/* An empty pool of TCP connections (getaddrinfo, connect with a timeout,
 * poll-bounded receives, MSG_NOSIGNAL sends, TCP_NODELAY). */
void ward_sim_net_init(ward_sim_net_t *n);
/* Close every connection still open (a test's clean-up). */
void ward_sim_net_close_all(ward_sim_net_t *n);
/* Connections currently open. */
uint32_t ward_sim_net_open_count(const ward_sim_net_t *n);

/* ---- a whole simulated device in a directory ------------------------------ */

/* Where an area lies on a simulated device: offset and size in bytes. */
typedef struct ward_sim_span {
    uint32_t off, size;
} ward_sim_span_t;

typedef struct ward_sim_geometry {
    uint32_t sector_size;   /* default 4096 */
    uint32_t write_size;    /* default 8 */
    uint32_t slot_sectors;  /* primary = secondary; default 32 */
    uint32_t vault_sectors; /* default 4 */
    bool program_once;      /* default true when write_size >= 8 */
    /* Mixed sectors (nregions > 0; default 0, uniform): the flash is this
     * sector map, and the areas lie where the spans say, on its sector
     * boundaries (vault.size 0: no vault). sector_size, slot_sectors and
     * vault_sectors are then not used: the map and the spans say it all
     * (ward device create --board takes them from a board file). */
    uint32_t nregions;
    ward_flash_region_t regions[WARD_SIM_REGIONS_MAX];
    ward_sim_span_t primary, secondary, scratch, state, vault;
} ward_sim_geometry_t;

/* Defaults listed above. */
void ward_sim_geometry_default(ward_sim_geometry_t *g);

/* Longest device class the simulator keeps (the OTA agent takes up to
 * WARD_CONFIG_OTA_CLASS_MAX). */
#define WARD_SIM_CLASS_MAX 64

typedef struct ward_sim_device {
    char *dir;
    ward_sim_geometry_t geo;
    ward_sim_power_t power;
    ward_sim_flash_t flash;
    ward_sim_otp_t otp;
    ward_sim_hsm_t hsm;
    ward_sim_rng_t rng;
    ward_sim_clock_t clock;
    ward_boot_layout_t layout; /* primary, secondary, scratch, state */
    ward_area_t vault;
    /* Boot public key "compiled into the bootloader" (bootkey.der), if set. */
    uint8_t boot_spki[91];
    bool has_boot_spki;
    /* The OTA public key in read-only flash (otakey.der), if provisioned,
     * and the device class it accepts updates for (device.conf). */
    uint8_t ota_spki[91];
    bool has_ota_spki;
    char device_class[WARD_SIM_CLASS_MAX + 1]; /* "" when not set */
} ward_sim_device_t;

/*
 * Create a new device directory (must not exist, or be empty): device.conf
 * (geometry and layout, text), flash.bin (all erased), otp.bin (blank),
 * hsm.bin (empty: no HUK yet). WARD_ERR_EXISTS if dir already holds a device.
 */
ward_err_t ward_sim_device_create(const char *dir, const ward_sim_geometry_t *geo);
/* Open an existing device. dir NULL with geo: a memory-only device. */
ward_err_t ward_sim_device_open(ward_sim_device_t *d, const char *dir);
ward_err_t ward_sim_device_open_mem(ward_sim_device_t *d, const ward_sim_geometry_t *geo);
void ward_sim_device_close(ward_sim_device_t *d);
/* Set the bootloader's built-in key (91-byte DER SPKI); persisted as bootkey.der. */
ward_err_t ward_sim_device_set_boot_key(ward_sim_device_t *d, const uint8_t spki[91]);
/* Set the OTA public key (91-byte DER SPKI, persisted as otakey.der, mode
 * 0444: the device's read-only flash) and the device class (a line of
 * device.conf; 1..WARD_SIM_CLASS_MAX bytes of [A-Za-z0-9._-]). Burning
 * the key's hash into OTP is the caller's job. WARD_OK, WARD_ERR_INVALID_ARG,
 * WARD_ERR_IO. */
ward_err_t ward_sim_device_set_ota(ward_sim_device_t *d, const uint8_t spki[91],
                                   const char *device_class);
/* Factory-style programming of an area: erase the sectors covering
 * [0, len) and program data, padded with 0xFF to the write size. Goes
 * through the flash port, so the NOR rules and the power domain apply.
 * WARD_ERR_IMG_TOO_LARGE if len exceeds the area. */
ward_err_t ward_sim_area_write(const ward_area_t *area, const uint8_t *data, size_t len);

/* A boot config for this device (points into d). */
void ward_sim_device_boot_config(ward_sim_device_t *d, ward_boot_config_t *cfg);

#ifdef __cplusplus
}
#endif

#endif /* WARD_SIM_H */
