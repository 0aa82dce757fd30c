/*
 * What the C snippets of the docs pages may use without declaring it: the
 * board's side of the story (a layout, an OTP port, a key, the console and
 * the jump), as a port provides it. check_snippets.py compiles the snippets
 * that drive the boot core against ward's headers with this in front, and
 * runs clang's static analyzer over them.
 */
#include <stddef.h>
#include <stdint.h>

#include "ward/boot.h"
#include "ward/crypto.h"
#include "ward/image.h"
#include "ward/util.h"

/* The address at which offset 0 of the flash device is mapped: a report's
 * entry_off is an offset in that device. */
#define FLASH_BASE 0x08000000u

extern const ward_boot_layout_t layout;
extern const ward_otp_t otp;
extern const uint8_t key[91];
extern const size_t key_len;
extern ward_boot_config_t cfg;
extern uint32_t manifest_sec_cnt;

void jump(uintptr_t vector_table_address);
/* Stop for good, after printing the reasons (any number of them: the
 * analyser sees every argument a snippet hands over). */
__attribute__((noreturn)) void board_stop(int n, ...);
#define refuse(...) board_stop(0, ##__VA_ARGS__)
#define halt(...) board_stop(0, ##__VA_ARGS__)
