/*
 * ward board: the Cortex-M port's boards as ward knows them (the files in
 * port/cortex-m/boards, built in, or any board file by path): list, show.
 * `ward sign --board` and `ward verify --board` take their slot geometry,
 * header size and memory map from the same files.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ward_board.h"

static void board_help(FILE *f)
{
    fprintf(f, "usage: ward board list\n"
               "       ward board show NAME|FILE [--env]\n"
               "\n"
               "The boards of the Cortex-M port (port/cortex-m/boards/<name>.board,\n"
               "docs/porting.md): list the ones built into ward; show one, by name or\n"
               "as a path to a board file, checked as the build checks it. --env prints\n"
               "it as the build's board.env (KEY=VALUE, addresses in hex).\n");
}

static void kib(FILE *f, uint32_t v)
{
    if (v % 1024u == 0u) {
        fprintf(f, "%lu KiB", (unsigned long)(v / 1024u));
    } else {
        fprintf(f, "%lu B", (unsigned long)v);
    }
}

static void show(const ward_board_t *b)
{
    const uint32_t primary = ward_board_primary_addr(b);
    const uint32_t sector = ward_board_sector_at(b, b->primary_off + b->slot_size - 1u);
    printf("board %s\n", b->name);
    printf("  cpu            %s, FPU %s, float ABI %s; %lu interrupts, VTOR alignment %lu\n",
           b->cpu, b->fpu, b->float_abi, (unsigned long)b->irqs, (unsigned long)b->vtor_align);
    printf("  flash          0x%08lx, sectors %s, %lu-byte writes\n", (unsigned long)b->flash_addr,
           b->flash_sectors.text, (unsigned long)b->flash_write_size);
    printf("  flash device   0x%08lx, sectors %s (", (unsigned long)b->dev_addr,
           b->dev_sectors.text);
    kib(stdout, ward_board_dev_size(b));
    printf("), %lu-byte writes, write-protected below 0x%lx\n", (unsigned long)b->dev_write_size,
           (unsigned long)b->protect_end);
    printf("  bootloader     0x%08lx (", (unsigned long)b->boot_addr);
    kib(stdout, b->boot_size);
    printf("), RAM 0x%08lx (", (unsigned long)b->boot_ram_addr);
    kib(stdout, b->boot_ram_size);
    printf(")\n  key block      0x%08lx; OTP block 0x%08lx\n", (unsigned long)b->key_addr,
           (unsigned long)b->otp_addr);
    printf("  primary slot   0x%08lx, 0x%lx bytes; an image may use 0x%lx (all but its last "
           "sector, %lu bytes)\n",
           (unsigned long)primary, (unsigned long)b->slot_size,
           (unsigned long)ward_board_image_max(b), (unsigned long)sector);
    const uint32_t secondary = b->dev_addr + b->secondary_off;
    const uint32_t scratch = b->dev_addr + b->scratch_off;
    const uint32_t state = b->dev_addr + b->state_off;
    printf("  secondary slot 0x%08lx; scratch 0x%08lx; boot state 0x%08lx\n",
           (unsigned long)secondary, (unsigned long)scratch, (unsigned long)state);
    if (b->has_vault) {
        const uint32_t vault = b->dev_addr + b->vault_off;
        printf("  vault          0x%08lx, 0x%lx bytes; HSM block 0x%08lx\n", (unsigned long)vault,
               (unsigned long)b->vault_size, (unsigned long)b->hsm_addr);
    }
    const uint32_t entry = primary + b->hdr_size;
    printf("  image header   0x%lx: an app is linked at 0x%08lx (its vector table)\n",
           (unsigned long)b->hdr_size, (unsigned long)entry);
    printf("  RAM window     0x%08lx..0x%08llx (an app's initial stack pointer)\n",
           (unsigned long)b->ram_addr, (unsigned long long)b->ram_addr + b->ram_size);
    printf("  console        %s; QEMU -M %s\n", b->console, b->qemu_machine);
    printf("  sign for it:   ward sign --board %s -k KEY -v VERSION APP.bin APP.img\n", b->name);
}

int ward_cmd_board(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        board_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? WARD_EXIT_USAGE : WARD_EXIT_OK;
    }
    if (strcmp(argv[1], "list") == 0 && argc == 2) {
        for (size_t i = 0; i < ward_board_builtin_count(); i++) {
            ward_board_t b;
            char why[256];
            const char *name = ward_board_builtin_name(i);
            if (ward_board_load(&b, name, why, sizeof why) != WARD_OK) {
                printf("%-16s (invalid: %s)\n", name, why);
                continue;
            }
            printf("%-16s %s, slots of 0x%lx at 0x%08lx, QEMU -M %s\n", name, b.cpu,
                   (unsigned long)b.slot_size, (unsigned long)ward_board_primary_addr(&b),
                   b.qemu_machine);
        }
        return WARD_EXIT_OK;
    }
    if (strcmp(argv[1], "show") == 0 && (argc == 3 || (argc == 4 && strcmp(argv[3], "--env") == 0))) {
        ward_board_t b;
        char why[256];
        const ward_err_t err = ward_board_load(&b, argv[2], why, sizeof why);
        if (err != WARD_OK) {
            return ward_cli_fail("board show", why, err);
        }
        if (argc == 4) {
            ward_board_print_env(stdout, &b);
        } else {
            show(&b);
        }
        return WARD_EXIT_OK;
    }
    board_help(stderr);
    return WARD_EXIT_USAGE;
}
