/*
 * Hostile guest 7b (issue 13): every interrupt masked (sie = 0), then wfi
 * in a loop: nothing the guest enabled can ever wake it. The VMM reports
 * that (status 3, "every vCPU is halted and nothing can wake them") once
 * console input has ended, and otherwise waits on the console.
 */
#include "lib.h"

void guest_main(void) {
	asm volatile("csrw sie, zero\n\tcsrc sstatus, %0" ::"r"(SSTATUS_SIE));
	puts_raw("hostile wfi: waiting for nothing\n");
	for (;;) asm volatile("wfi");
}
