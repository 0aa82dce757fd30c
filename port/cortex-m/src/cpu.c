/* Cortex-M control: jump to an image, soft reset, and the CMSDK timer. */
#include "ward_cm.h"
#include "ward_cm_priv.h"

#define REG32(a) (*ward_cm_reg32(a))

#define SCB_ICSR 0xE000ED04u
#define SCB_VTOR 0xE000ED08u
#define ICSR_PENDSVCLR (1u << 27)
#define ICSR_PENDSTCLR (1u << 25)
#define SYST_CSR 0xE000E010u
#define NVIC_ICER0 0xE000E180u
#define NVIC_ICPR0 0xE000E280u
/* Enable and pending words that cover the board's interrupts. */
#define NVIC_WORDS ((WARD_BOARD_IRQS + 31u) / 32u)

#if WARD_BOARD_TIMER_CMSDK
#define TIMER0_CTRL 0x40000000u
#define TIMER0_VALUE 0x40000004u
#define TIMER0_RELOAD 0x40000008u
#endif

/* Leave nothing behind that could fire in the next image before it has
 * set up its own handlers. */
static void quiesce(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
    REG32(SYST_CSR) = 0u;
    for (uint32_t i = 0; i < NVIC_WORDS; i++) {
        REG32(NVIC_ICER0 + 4u * i) = 0xFFFFFFFFu;
        REG32(NVIC_ICPR0 + 4u * i) = 0xFFFFFFFFu;
    }
    REG32(SCB_ICSR) = ICSR_PENDSVCLR | ICSR_PENDSTCLR;
}

__attribute__((noreturn)) static void start(uint32_t vt_addr)
{
    const uint8_t *vt = ward_cm_addr(vt_addr);
    uint32_t sp = *(const volatile uint32_t *)(const void *)vt;
    uint32_t pc = *(const volatile uint32_t *)(const void *)(vt + 4);
    REG32(SCB_VTOR) = vt_addr;
    /* Privileged thread mode on MSP, then the new stack and the entry; the
     * old stack is never touched again. */
    __asm__ volatile("dsb\n"
                     "isb\n"
                     "msr control, %2\n"
                     "isb\n"
                     "msr msp, %0\n"
                     "bx %1\n"
                     :
                     : "r"(sp), "r"(pc), "r"(0u)
                     : "memory");
    __builtin_unreachable();
}

void ward_cm_jump(uint32_t vt_addr)
{
    quiesce();
    start(vt_addr);
}

void ward_cm_reset(void)
{
    quiesce();
    start(WARD_CM_BOOT_ADDR);
}

#if WARD_BOARD_TIMER_CMSDK
void ward_cm_timer_start(void)
{
    REG32(TIMER0_CTRL) = 0u;
    REG32(TIMER0_RELOAD) = 0xFFFFFFFFu;
    REG32(TIMER0_VALUE) = 0xFFFFFFFFu;
    REG32(TIMER0_CTRL) = 1u; /* enable, no interrupt */
}

uint32_t ward_cm_timer_read(void)
{
    return REG32(TIMER0_VALUE);
}
#endif
