/*
 * memcpy and memset for the mps2-an386 programs: two words per step when
 * the pointers are word aligned, then bytes. newlib-nano's are unrolled
 * further and take 470 bytes; these take about 100, at about 0.5 (memcpy)
 * and 0.4 (memset) instructions per byte on aligned data: the flash chunks
 * the boot path copies, and the 288 bytes Mbed TLS wipes after every
 * SHA-256 block (docs/cortex-m.md, "Figures"). In assembly so that the
 * compiler cannot turn the loops back into calls to themselves. Built
 * without LTO (CMakeLists.txt) so the linker always sees the symbols.
 */
__asm__(".text\n"
        ".syntax unified\n"
        ".thumb\n"

        /* void *memcpy(void *dst (r0), const void *src (r1), size_t n (r2)) */
        ".balign 2\n"
        ".global memcpy\n"
        ".type memcpy, %function\n"
        ".thumb_func\n"
        "memcpy:\n"
        "   mov r12, r0\n"
        "   orr r3, r0, r1\n"
        "   lsls r3, r3, #30\n" /* both word aligned? */
        "   bne 2f\n"
        "   push {r4, lr}\n"
        "1: subs r2, r2, #8\n"
        "   itt hs\n"
        "   ldmiahs r1!, {r3, r4}\n"
        "   stmiahs r12!, {r3, r4}\n"
        "   bhs 1b\n"
        "   adds r2, r2, #8\n"
        "   pop {r4, lr}\n"
        "2: subs r2, r2, #1\n"
        "   itt hs\n"
        "   ldrbhs r3, [r1], #1\n"
        "   strbhs r3, [r12], #1\n"
        "   bhs 2b\n"
        "   bx lr\n"
        ".size memcpy, . - memcpy\n"

        /* void *memset(void *dst (r0), int c (r1), size_t n (r2)) */
        ".balign 2\n"
        ".global memset\n"
        ".type memset, %function\n"
        ".thumb_func\n"
        "memset:\n"
        "   mov r12, r0\n"
        "   lsls r3, r0, #30\n" /* word aligned? (flags kept to the bne) */
        "   uxtb r1, r1\n"
        "   orr r1, r1, r1, lsl #8\n"
        "   orr r1, r1, r1, lsl #16\n"
        "   mov r3, r1\n"
        "   bne 2f\n"
        "1: subs r2, r2, #8\n"
        "   it hs\n"
        "   stmiahs r12!, {r1, r3}\n"
        "   bhs 1b\n"
        "   adds r2, r2, #8\n"
        "2: subs r2, r2, #1\n"
        "   it hs\n"
        "   strbhs r1, [r12], #1\n"
        "   bhs 2b\n"
        "   bx lr\n"
        ".size memset, . - memset\n");
