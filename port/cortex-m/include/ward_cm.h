/*
 * ward port for Cortex-M boards under QEMU: memory layout, flash and OTP
 * drivers, semihosting console, CPU control (jump, soft reset) and the
 * CMSDK timer used by the benchmarks.
 *
 * Every address and size comes from the board file
 * (port/cortex-m/boards/<name>.board), through the header the build
 * generates from it, ward_board.h (cmake/board.cmake). The boards have no
 * flash controller QEMU can program and no OTP: the flash device the core
 * writes is RAM with the NOR rules enforced by the driver, and the OTP is a
 * block of RAM with the one-way rules enforced by its driver.
 * docs/cortex-m.md explains the layouts and what a real board does instead.
 */
#ifndef WARD_CM_H
#define WARD_CM_H

#include "ward/boot.h"
#include "ward/port.h"
#include "ward/ward.h"
#include "ward_board.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- layout ------------------------------------------------------------------
 * The flash device (what ward_cm_flash() serves): offsets from its base. */
#define WARD_CM_FLASH_BASE WARD_BOARD_DEV_ADDR
#define WARD_CM_FLASH_SIZE WARD_BOARD_DEV_SIZE
#define WARD_CM_SECTOR_SIZE WARD_BOARD_DEV_SECTOR_MIN /* the smallest (a map may mix sizes) */
#define WARD_CM_WRITE_SIZE WARD_BOARD_DEV_WRITE_SIZE
#define WARD_CM_PROTECT_END WARD_BOARD_PROTECT_END /* program/erase refused below */
#define WARD_CM_PRIMARY_OFF WARD_BOARD_PRIMARY_OFF
#define WARD_CM_SLOT_SIZE WARD_BOARD_SLOT_SIZE
#define WARD_CM_SECONDARY_OFF WARD_BOARD_SECONDARY_OFF
#define WARD_CM_SCRATCH_OFF WARD_BOARD_SCRATCH_OFF
#define WARD_CM_SCRATCH_SIZE WARD_BOARD_SCRATCH_SIZE
#define WARD_CM_STATE_OFF WARD_BOARD_STATE_OFF
#define WARD_CM_STATE_SIZE WARD_BOARD_STATE_SIZE
#if WARD_BOARD_HAS_VAULT
#define WARD_CM_VAULT_OFF WARD_BOARD_VAULT_OFF
#define WARD_CM_VAULT_SIZE WARD_BOARD_VAULT_SIZE
#endif

/* Absolute addresses: the bootloader's vector table, the key block and the
 * OTP block (inside the flash device on some boards, apart on others). */
#define WARD_CM_BOOT_ADDR WARD_BOARD_BOOT_ADDR
#define WARD_CM_KEY_ADDR WARD_BOARD_KEY_ADDR
#define WARD_CM_OTP_ADDR WARD_BOARD_OTP_ADDR

/* Image header size the sample app is signed with: keeps the app's vector
 * table (at primary + header) aligned as VTOR requires. */
#define WARD_CM_IMAGE_HDR_SIZE WARD_BOARD_HDR_SIZE

/* ---- boot key block at WARD_CM_KEY_ADDR ------------------------------------
 *   0  4  magic "WKEY"
 *   4  4  length of the DER SubjectPublicKeyInfo (LE), at most 256
 *   8  n  DER SubjectPublicKeyInfo of the boot key
 * Erased (0xFF) or any other magic: no key block. */
#define WARD_CM_KEY_MAGIC 0x59454B57u /* "WKEY" little endian */
#define WARD_CM_KEY_MAX 256u

/* ---- emulated OTP block at WARD_CM_OTP_ADDR ---------------------------------
 * Unburnt OTP reads 0 (QEMU starts with zeroed RAM; the factory blob is 0). Fields at fixed
 * offsets, then one lock word: bit i set = field i write-locked.
 *   0x000 BOOT_KEY_HASH 32 | 0x020 OTA_KEY_HASH 32 | 0x040 SECURE_BOOT 4
 *   0x044 DEBUG_LOCK 4     | 0x048 ROLLBACK 64     | 0x088 DEVICE_ID 16
 *   0x098 lock word 4 (LE) */
#define WARD_CM_OTP_LOCK_OFF 0x098u

/* ---- drivers --------------------------------------------------------------- */

/* The flash device: NOR rules over [0, WARD_CM_FLASH_SIZE) from
 * WARD_CM_FLASH_BASE, with the board's sector map (WARD_BOARD_DEV_REGIONS;
 * none when uniform). prog/erase below WARD_CM_PROTECT_END fail with
 * WARD_ERR_IO, as a write-protected flash controller would. On a board that
 * emulates its flash in RAM (EMU_*), only the sectors of the layout are
 * kept, each whole or by its first and last bytes. */
const ward_flash_t *ward_cm_flash(void);

/* Where device offset off is in the CPU's address space (the image runs in
 * place from there): the device base plus off, or with an emulation the
 * RAM that keeps it; NULL for a byte the emulation does not keep. */
const uint8_t *ward_cm_dev_ptr(uint32_t off);

/* The OTP port over the block at WARD_CM_OTP_ADDR. */
const ward_otp_t *ward_cm_otp(void);

/* The same OTP without locking (lock and is_locked return
 * WARD_ERR_UNSUPPORTED): what ward_cm_boot_config hands to the boot core,
 * which only reads and burns. */
const ward_otp_t *ward_cm_otp_boot(void);

/* The boot layout (primary, secondary, scratch, state) on ward_cm_flash(). */
const ward_boot_layout_t *ward_cm_layout(void);

/* Boot configuration: layout, OTP (ward_cm_otp_boot) and the key block's
 * SPKI (NULL and 0 when the key block is absent; images then carry their
 * key in a PUBKEY TLV). */
void ward_cm_boot_config(ward_boot_config_t *cfg);

/* ---- semihosting console (QEMU -semihosting; a debugger on real boards) -- */
void ward_cm_puts(const char *s);
void ward_cm_put_dec(int32_t v);
void ward_cm_put_hex(uint32_t v); /* 0x%08x */
/* label then 0x%08x, e.g. ward_cm_put_hex_label(" pc ", pc). */
void ward_cm_put_hex_label(const char *label, uint32_t v);
/* End the QEMU run with this exit code (SYS_EXIT_EXTENDED). */
__attribute__((noreturn)) void ward_cm_exit(int code);

/* ---- CPU ------------------------------------------------------------------- */

/* Start the image whose vector table is at vt_addr: interrupts off, VTOR,
 * MSP from word 0, branch to word 1. Call from thread mode. */
__attribute__((noreturn)) void ward_cm_jump(uint32_t vt_addr);

/* The reset this board supports without losing flash: re-enter the
 * bootloader's reset vector with interrupts masked and SysTick/NVIC
 * cleared. A real SYSRESETREQ would make QEMU reload every -device loader
 * blob and undo all flash writes (docs/cortex-m.md). */
__attribute__((noreturn)) void ward_cm_reset(void);

#if WARD_BOARD_TIMER_CMSDK
/* CMSDK APB timer 0 (25 MHz, counts down): start free-running, then read. */
void ward_cm_timer_start(void);
uint32_t ward_cm_timer_read(void);
#endif

#ifdef __cplusplus
}
#endif

#endif /* WARD_CM_H */
