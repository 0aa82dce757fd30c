/*
 * On-target self-test of the port's drivers on the board it was built for:
 * the NOR rules of the flash driver (geometry and protection from the board
 * file) and the one-way rules of the OTP driver, as the core relies on
 * them. Prints one line per failed check; exits with the failure count.
 */
#include <string.h>

#include "ward/util.h"
#include "ward_cm.h"

static int g_failed;
static volatile int g_fill = 0x1A5; /* test_libc: a memset value above 0xFF */
static int g_checks;

static void check(bool ok, const char *what)
{
    g_checks++;
    if (!ok) {
        g_failed++;
        ward_cm_puts("selftest: FAIL ");
        ward_cm_puts(what);
        ward_cm_puts("\n");
    }
}

static void test_flash(void)
{
    const ward_flash_t *f = ward_cm_flash();
    const uint32_t s = WARD_CM_SCRATCH_OFF; /* a sector nothing else uses here */
    uint8_t buf[16];
    uint8_t ff[16];
    memset(ff, 0xFF, sizeof ff);

    check(f->sector_size == WARD_CM_SECTOR_SIZE && f->write_size == WARD_CM_WRITE_SIZE &&
              f->size == WARD_CM_FLASH_SIZE && ward_flash_check(f) == WARD_OK,
          "geometry");
    check(f->erase(f->ctx, s) == WARD_OK, "erase vault sector");
    check(f->read(f->ctx, s, buf, sizeof buf) == WARD_OK && memcmp(buf, ff, sizeof buf) == 0,
          "erased reads 0xFF");

    const uint8_t a[8] = {0xF0, 0x0F, 0xAA, 0x55, 0x12, 0x34, 0x56, 0x78};
    check(f->prog(f->ctx, s, a, sizeof a) == WARD_OK, "program erased unit");
    check(f->read(f->ctx, s, buf, 8) == WARD_OK && memcmp(buf, a, 8) == 0, "read back");

    const uint8_t clear[8] = {0x00, 0x0F, 0xAA, 0x55, 0x12, 0x34, 0x56, 0x78};
    check(f->prog(f->ctx, s, clear, sizeof clear) == WARD_ERR_IO,
          "a programmed unit is not programmed again, even to clear bits");
    const uint8_t set[8] = {0xFF, 0x0F, 0xAA, 0x55, 0x12, 0x34, 0x56, 0x78};
    check(f->prog(f->ctx, s, set, sizeof set) == WARD_ERR_IO, "program refuses 0->1");
    check(f->read(f->ctx, s, buf, 8) == WARD_OK && memcmp(buf, a, 8) == 0,
          "refused programs changed nothing");
    uint8_t two[16];
    memset(two, 0x11, sizeof two);
    check(f->prog(f->ctx, s + 8u, two, sizeof two) == WARD_OK, "program two erased units");
    check(f->prog(f->ctx, s + 16u, two, 8) == WARD_ERR_IO, "second unit is spent too");

#if WARD_CM_WRITE_SIZE > 1
    /* Half a write unit off, and half a unit long. */
    check(f->prog(f->ctx, s + WARD_CM_WRITE_SIZE / 2u, a, 8) == WARD_ERR_INVALID_ARG,
          "misaligned offset");
    check(f->prog(f->ctx, s + 8u, a, WARD_CM_WRITE_SIZE / 2u) == WARD_ERR_INVALID_ARG,
          "partial unit");
#endif
    check(f->erase(f->ctx, s + 8u) == WARD_ERR_INVALID_ARG, "misaligned erase");
    check(f->erase(f->ctx, WARD_CM_FLASH_SIZE) == WARD_ERR_INVALID_ARG, "erase past the end");
    check(f->read(f->ctx, WARD_CM_FLASH_SIZE - 4u, buf, 8) == WARD_ERR_IO, "read past the end");

#if WARD_CM_PROTECT_END > 0
    /* What lies below PROTECT_END (the bootloader, key block and OTP on
     * mps2-an386) is write-protected, first sector to last unit. */
    check(f->erase(f->ctx, 0) == WARD_ERR_IO, "first protected sector erase-protected");
    uint32_t last = 0;
    check(ward_flash_sector_at(f, WARD_CM_PROTECT_END - 1u, &last, NULL) == WARD_OK &&
              f->erase(f->ctx, last) == WARD_ERR_IO,
          "last protected sector erase-protected");
    check(f->prog(f->ctx, WARD_CM_PROTECT_END - WARD_CM_WRITE_SIZE, ff, WARD_CM_WRITE_SIZE) ==
              WARD_ERR_IO,
          "last protected unit program-protected");
    check(f->read(f->ctx, 0, buf, 8) == WARD_OK, "protected area readable");
#endif

#if WARD_BOARD_DEV_NREGIONS > 1
    /* Mixed sectors: erase only where the map starts a sector. */
    uint32_t ss = 0;
    check(ward_flash_sector_at(f, s, NULL, &ss) == WARD_OK && ss > WARD_CM_SECTOR_SIZE &&
              f->erase(f->ctx, s + WARD_CM_SECTOR_SIZE) == WARD_ERR_INVALID_ARG,
          "no erase inside a larger sector of the map");
#endif
#if WARD_BOARD_HAS_EMU
    /* The emulation keeps the first and last bytes of a large sector: the
     * bytes between read erased and take nothing but 0xFF; its last bytes
     * work; a sector outside the layout takes no erase. */
    const uint32_t hole = s + WARD_BOARD_EMU_WINDOW;
    check(f->read(f->ctx, hole, buf, sizeof buf) == WARD_OK && memcmp(buf, ff, sizeof buf) == 0,
          "an unkept byte reads erased");
    check(f->prog(f->ctx, hole, a, 8) == WARD_ERR_IO, "an unkept byte takes no program");
    check(f->prog(f->ctx, hole, ff, 8) == WARD_OK, "an unkept byte takes 0xFF");
    check(f->prog(f->ctx, s + ss - 8u, a, 8) == WARD_OK &&
              f->read(f->ctx, s + ss - 8u, buf, 8) == WARD_OK && memcmp(buf, a, 8) == 0,
          "the sector's last bytes are kept");
    check(ward_cm_dev_ptr(s + ss - 8u) != NULL && memcmp(ward_cm_dev_ptr(s + ss - 8u), a, 8) == 0 &&
              ward_cm_dev_ptr(hole) == NULL,
          "where the emulation keeps each byte");
    uint32_t last_start = 0;
    check(ward_flash_sector_at(f, WARD_CM_FLASH_SIZE - 1u, &last_start, NULL) == WARD_OK &&
              f->erase(f->ctx, last_start) == WARD_ERR_IO,
          "a sector outside the layout is not emulated");
#endif
    check(f->erase(f->ctx, s) == WARD_OK &&
              f->read(f->ctx, s, buf, sizeof buf) == WARD_OK && memcmp(buf, ff, sizeof buf) == 0,
          "erase restores 0xFF");
}

static void test_otp(void)
{
    const ward_otp_t *o = ward_cm_otp();
    uint8_t id[16];
    uint8_t bits[16];
    bool locked = true;
    uint32_t v = 99;

    memset(id, 0, sizeof id);
    check(o->read(o->ctx, WARD_OTP_DEVICE_ID, id, sizeof id) == WARD_OK &&
              ward_ct_all(id, 0, sizeof id),
          "unburnt OTP reads 0");
    check(o->read(o->ctx, WARD_OTP_DEVICE_ID, id, 8) == WARD_ERR_INVALID_ARG, "wrong length");

    memset(bits, 0, sizeof bits);
    bits[0] = 0x81;
    check(o->burn(o->ctx, WARD_OTP_DEVICE_ID, bits, sizeof bits) == WARD_OK, "burn");
    bits[0] = 0x02;
    check(o->burn(o->ctx, WARD_OTP_DEVICE_ID, bits, sizeof bits) == WARD_OK, "burn more");
    memset(bits, 0, sizeof bits);
    check(o->burn(o->ctx, WARD_OTP_DEVICE_ID, bits, sizeof bits) == WARD_OK, "burn zeros");
    check(o->read(o->ctx, WARD_OTP_DEVICE_ID, id, sizeof id) == WARD_OK && id[0] == 0x83,
          "bits only accumulate");

    check(ward_otp_rollback_get(o, &v) == WARD_OK && v == 0u, "counter starts at 0");
    check(ward_otp_rollback_raise(o, 5) == WARD_OK, "raise counter");
    check(ward_otp_rollback_raise(o, 3) == WARD_OK, "lower raise is a no-op");
    check(ward_otp_rollback_get(o, &v) == WARD_OK && v == 5u, "counter is 5");
    check(ward_otp_rollback_raise(o, WARD_CONFIG_OTP_ROLLBACK_BITS + 1u) == WARD_ERR_LIMIT,
          "counter limit");

    check(o->is_locked(o->ctx, WARD_OTP_DEVICE_ID, &locked) == WARD_OK && !locked, "unlocked");
    check(o->lock(o->ctx, WARD_OTP_DEVICE_ID) == WARD_OK, "lock");
    check(o->lock(o->ctx, WARD_OTP_DEVICE_ID) == WARD_OK, "lock twice");
    check(o->is_locked(o->ctx, WARD_OTP_DEVICE_ID, &locked) == WARD_OK && locked, "locked");
    bits[1] = 0x01;
    check(o->burn(o->ctx, WARD_OTP_DEVICE_ID, bits, sizeof bits) == WARD_ERR_LOCKED,
          "locked field refuses burns");
    check(o->is_locked(o->ctx, WARD_OTP_ROLLBACK, &locked) == WARD_OK && !locked,
          "lock is per field");
    check(o->lock(o->ctx, WARD_OTP_FIELD_COUNT) == WARD_ERR_INVALID_ARG, "unknown field");
}

/* The port's memcpy and memset (src/libc.c): every length 0..40 at every
 * alignment of source and destination, and nothing written outside. */
static void test_libc(void)
{
    static uint8_t src[48];
    static uint8_t dst[64];
    bool cpy = true;
    bool set = true;
    for (unsigned i = 0; i < sizeof src; i++) {
        src[i] = (uint8_t)(i * 7u + 1u);
    }
    for (unsigned so = 0; so < 4u; so++) {
        for (unsigned d = 0; d < 4u; d++) {
            for (unsigned n = 0; n <= 40u; n++) {
                for (unsigned i = 0; i < sizeof dst; i++) {
                    dst[i] = 0xEEu;
                }
                cpy = cpy && memcpy(dst + 8 + d, src + so, n) == dst + 8 + d;
                for (unsigned i = 0; i < sizeof dst; i++) {
                    const bool in = i >= 8u + d && i < 8u + d + n;
                    cpy = cpy && dst[i] == (in ? src[so + i - 8u - d] : 0xEEu);
                }
                /* C says memset stores (unsigned char)c: 0x1A5 must write
                 * 0xA5 (a volatile, so the analysers see no constant). */
                set = set && memset(dst + 8 + d, g_fill, n) == dst + 8 + d;
                for (unsigned i = 0; i < sizeof dst; i++) {
                    const bool in = i >= 8u + d && i < 8u + d + n;
                    set = set && (!in || dst[i] == 0xA5u);
                    set = set && (in || i < 8u + d || dst[i] == 0xEEu);
                }
            }
        }
    }
    check(cpy, "memcpy: every length and alignment, nothing outside");
    check(set, "memset: every length and alignment, nothing outside");
}

#if WARD_BOARD_TIMER_CMSDK
static void test_timer(void)
{
    ward_cm_timer_start();
    uint32_t a = ward_cm_timer_read();
    for (volatile int i = 0; i < 1000; i++) {
    }
    uint32_t b = ward_cm_timer_read();
    check(a > b, "timer counts down");
}
#endif

int main(void)
{
    ward_cm_puts("selftest: " WARD_BOARD_NAME " drivers\n");
    test_flash();
    test_otp();
    test_libc();
#if WARD_BOARD_TIMER_CMSDK
    test_timer();
#endif
    ward_cm_puts("selftest: ");
    ward_cm_put_dec(g_checks - g_failed);
    ward_cm_puts("/");
    ward_cm_put_dec(g_checks);
    ward_cm_puts(" checks passed\n");
    return g_failed;
}
