/*
 * ward_board: the board files of the Cortex-M port
 * (port/cortex-m/boards/<name>.board; docs/porting.md, "The board file")
 * for the host tools, so that `ward sign --board NAME` signs for the slot
 * geometry, header size and memory map the board's bootloader checks.
 *
 * The same files drive the Cortex-M build through cmake/board.cmake; the
 * board_files test checks that both readers agree on every board.
 * Host-only (it allocates nothing, but uses stdio to read a file).
 */
#ifndef WARD_TOOLS_BOARD_H
#define WARD_TOOLS_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_BOARD_WORD_MAX 32u /* longest word value (CPU, QEMU_MACHINE, ...) */
#define WARD_BOARD_MAX_RUNS 16u /* COUNTxSIZE runs in a sector map */
#define WARD_BOARD_MAX_SECTORS 8192u /* sectors in a map, all runs together */
#define WARD_BOARD_FILE_MAX 16384u

/* A run of `count` sectors of `size` bytes. */
typedef struct ward_board_run {
    uint32_t count;
    uint32_t size;
} ward_board_run_t;

typedef struct ward_board_map {
    ward_board_run_t run[WARD_BOARD_MAX_RUNS];
    uint32_t runs;
    char text[96]; /* as the file gives it */
} ward_board_map_t;

typedef struct ward_board {
    char name[WARD_BOARD_WORD_MAX + 1];
    char cpu[WARD_BOARD_WORD_MAX + 1];
    char fpu[WARD_BOARD_WORD_MAX + 1];
    char float_abi[WARD_BOARD_WORD_MAX + 1];
    char console[WARD_BOARD_WORD_MAX + 1];
    char timer[WARD_BOARD_WORD_MAX + 1];
    char qemu_machine[WARD_BOARD_WORD_MAX + 1];
    uint32_t irqs, vtor_align;
    uint32_t flash_addr, flash_write_size;
    ward_board_map_t flash_sectors;
    /* The flash device ward's core writes (defaults: the flash's). */
    uint32_t dev_addr, dev_write_size;
    ward_board_map_t dev_sectors;
    uint32_t protect_end;
    uint32_t boot_addr, boot_size, boot_ram_addr, boot_ram_size;
    uint32_t key_addr, key_size, otp_addr, otp_size;
    uint32_t primary_off, secondary_off, slot_size;
    uint32_t scratch_off, scratch_size, state_off, state_size;
    bool has_vault;
    uint32_t vault_off, vault_size, hsm_addr;
    /* QEMU's flash as ROM: the layout's sectors emulated in RAM from
     * emu_addr, each whole or by its first emu_window - emu_tail and last
     * emu_tail bytes (docs/porting.md, "The board file"). */
    bool has_emu;
    uint32_t emu_addr, emu_window, emu_tail;
    uint32_t hdr_size;
    uint32_t ram_addr, ram_size, app_ram_addr, app_ram_size;
    uint32_t set; /* internal: which optional keys the file gave */
} ward_board_t;

/* Parse and check a board file's text (name: the board's name, the file's
 * base name). On WARD_ERR_CORRUPT (not the format, a key missing or twice)
 * or WARD_ERR_INVALID_ARG (a rule broken: areas not on sector boundaries,
 * overlapping, VTOR_ALIGN too small, ...), why says which, in a sentence. */
ward_err_t ward_board_parse(ward_board_t *b, const char *name, const char *text, size_t len,
                            char *why, size_t why_size);

/* A board built into ward (the files in port/cortex-m/boards when it was
 * built) by name, or a board file by path (anything with a '/' or ending in
 * ".board"). WARD_ERR_NOT_FOUND for an unknown name (why lists the known
 * ones), WARD_ERR_IO for an unreadable file, else as ward_board_parse. */
ward_err_t ward_board_load(ward_board_t *b, const char *name_or_path, char *why, size_t why_size);

/* The boards built into ward, in name order. */
size_t ward_board_builtin_count(void);
const char *ward_board_builtin_name(size_t i);

/* Size of the flash device (the sum of its sector map). */
uint32_t ward_board_dev_size(const ward_board_t *b);

/* Size of the device sector that holds device offset off; 0 outside. */
uint32_t ward_board_sector_at(const ward_board_t *b, uint32_t off);

/* The device's sector size if uniform, else 0. */
uint32_t ward_board_uniform_sector(const ward_board_t *b);

/* What an image may use of a slot: up to the slot's last swap unit, which
 * holds the trailer (ward_boot_image_max on the device: the slot minus its
 * last sector when both slots have the same sectors); with an emulation
 * (EMU_*) no more than the primary, the secondary and the scratch each
 * keep in RAM in one run from their start (what runs in place, is staged,
 * is carried through a swap). */
uint32_t ward_board_image_max(const ward_board_t *b);

/* Swap units of the slots (where both have a sector boundary), the
 * largest, and where the last one starts; 0 units if the slots have none
 * in common to their end. */
uint32_t ward_board_units(const ward_board_t *b, uint32_t *largest, uint32_t *last);

/* Bytes of the primary slot that run in place from its address: the slot,
 * or with an emulation what RAM keeps of it in one run (the bootloader's
 * WARD_BOARD_PRIMARY_SPAN: a reset vector past it is refused). */
uint32_t ward_board_primary_span(const ward_board_t *b);

/* Absolute address of the primary slot (with an emulation: in RAM). */
uint32_t ward_board_primary_addr(const ward_board_t *b);

/* Absolute address of the area at device offset off (the start of a
 * sector): dev_addr + off, or with an emulation where RAM keeps it (0 if
 * it does not). */
uint32_t ward_board_area_addr(const ward_board_t *b, uint32_t off);

/* Print the board as cmake/board.cmake writes board.env: KEY=VALUE lines,
 * addresses and sizes in hex, derived values included. */
void ward_board_print_env(FILE *f, const ward_board_t *b);

#ifdef __cplusplus
}
#endif

#endif /* WARD_TOOLS_BOARD_H */
