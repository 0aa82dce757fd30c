/*
 * ward port for QEMU mps2-an386 (Cortex-M4): memory layout, flash and OTP
 * drivers, semihosting console, CPU control (jump, soft reset) and the
 * CMSDK timer used by the benchmarks.
 *
 * The board has no flash controller and no OTP: "flash" is the first MiB of
 * SSRAM1 at 0x00000000, with the NOR rules enforced by the driver, and the
 * OTP is a block of that RAM with the one-way rules enforced by its driver.
 * docs/cortex-m.md explains the layout and what a real board does instead.
 */
#ifndef WARD_CM_H
#define WARD_CM_H

#include "ward/boot.h"
#include "ward/port.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- layout (offsets from the flash base; ld/boot.ld and ld/app.ld agree) ----- */
#define WARD_CM_FLASH_BASE 0x00000000u /* SSRAM1 */
#define WARD_CM_FLASH_SIZE 0x00100000u /* 1 MiB of the 4 MiB SSRAM1 */
#define WARD_CM_SECTOR_SIZE 0x1000u    /* 4 KiB erase unit */
#define WARD_CM_WRITE_SIZE 8u          /* double-word program unit (STM32L4-like) */

#define WARD_CM_BOOT_OFF 0x00000000u   /* bootloader, <= 64 KiB */
#define WARD_CM_BOOT_SIZE 0x00010000u
#define WARD_CM_KEY_OFF 0x00010000u    /* boot key block (factory, read-only) */
#define WARD_CM_KEY_SIZE 0x00001000u
#define WARD_CM_OTP_OFF 0x00011000u    /* emulated OTP block */
#define WARD_CM_OTP_SIZE 0x00001000u
#define WARD_CM_PROTECT_END 0x00020000u /* write-protected below this */
#define WARD_CM_PRIMARY_OFF 0x00020000u
#define WARD_CM_SLOT_SIZE 0x00060000u
#define WARD_CM_SECONDARY_OFF 0x00080000u
#define WARD_CM_SCRATCH_OFF 0x000E0000u
#define WARD_CM_SCRATCH_SIZE 0x00001000u
#define WARD_CM_STATE_OFF 0x000E1000u
#define WARD_CM_STATE_SIZE 0x00002000u
#define WARD_CM_VAULT_OFF 0x000F0000u
#define WARD_CM_VAULT_SIZE 0x00004000u

/* Image header size the sample app is signed with: keeps the app's vector
 * table (at primary + header) aligned as VTOR requires. */
#define WARD_CM_IMAGE_HDR_SIZE 0x200u

/* ---- boot key block at WARD_CM_KEY_OFF ------------------------------------
 *   0  4  magic "WKEY"
 *   4  4  length of the DER SubjectPublicKeyInfo (LE), at most 256
 *   8  n  DER SubjectPublicKeyInfo of the boot key
 * Erased (0xFF) or any other magic: no key block. */
#define WARD_CM_KEY_MAGIC 0x59454B57u /* "WKEY" little endian */
#define WARD_CM_KEY_MAX 256u

/* ---- emulated OTP block at WARD_CM_OTP_OFF ---------------------------------
 * Unburnt OTP reads 0 (QEMU starts with zeroed RAM). Fields at fixed
 * offsets, then one lock word: bit i set = field i write-locked.
 *   0x000 BOOT_KEY_HASH 32 | 0x020 OTA_KEY_HASH 32 | 0x040 SECURE_BOOT 4
 *   0x044 DEBUG_LOCK 4     | 0x048 ROLLBACK 64     | 0x088 DEVICE_ID 16
 *   0x098 lock word 4 (LE) */
#define WARD_CM_OTP_LOCK_OFF 0x098u

/* ---- drivers --------------------------------------------------------------- */

/* The flash device: NOR rules over SSRAM1 [0, WARD_CM_FLASH_SIZE).
 * prog/erase below WARD_CM_PROTECT_END fail with WARD_ERR_IO, as a
 * write-protected flash controller would. */
const ward_flash_t *ward_cm_flash(void);

/* The OTP port over the block at WARD_CM_OTP_OFF. */
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

/* CMSDK APB timer 0 (25 MHz, counts down): start free-running, then read. */
void ward_cm_timer_start(void);
uint32_t ward_cm_timer_read(void);

#ifdef __cplusplus
}
#endif

#endif /* WARD_CM_H */
