/* startup.c — the smallest bare-metal start for a Cortex-M under QEMU: the vector table,
 * a reset handler that copies .data, clears .bss and turns the FPU on (when the code was
 * built for one), and ARM semihosting calls (SYS_WRITE0, SYS_EXIT) for output and the exit
 * status, so no board UART driver and no C library I/O is needed. */
#include <stdint.h>
#include <string.h>

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
int main(void);
void reset_handler(void);
void fault_handler(void);

/* Semihosting: operation in r0, argument in r1, then BKPT 0xAB (M profile). */
static uintptr_t semihost(uintptr_t op, const void *arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void fw_puts(const char *s)
{
    semihost(0x04, s); /* SYS_WRITE0 */
}

void fw_exit(int status)
{
    /* ADP_Stopped_ApplicationExit ends QEMU with status 0; a run-time error with 1 */
    semihost(0x18, (const void *)(uintptr_t)(status == 0 ? 0x20026 : 0x20023));
    for (;;) {
    }
}

void fault_handler(void)
{
    fw_puts("fault\n");
    fw_exit(1);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_estack, reset_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, fault_handler, 0, 0, 0, 0, fault_handler, fault_handler, 0,
    fault_handler, fault_handler,
};

void reset_handler(void)
{
    memcpy(&_sdata, &_sidata, (size_t)((char *)&_edata - (char *)&_sdata));
    memset(&_sbss, 0, (size_t)((char *)&_ebss - (char *)&_sbss));
#if defined(__ARM_FP)
    /* CPACR: full access to coprocessors 10 and 11 (the FPU) before any float code */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    fw_exit(main());
}
