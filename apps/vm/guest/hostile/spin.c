/*
 * Hostile guest 7a (issue 13): interrupts off, then a tight loop forever.
 * Nothing in the guest ever yields; only the VMM's scheduling keeps the
 * console (Ctrl-A x) answering.
 */
#include "lib.h"

void guest_main(void) {
	asm volatile("csrw sie, zero\n\tcsrc sstatus, %0" ::"r"(SSTATUS_SIE));
	puts_raw("hostile spin: spinning with interrupts off\n");
	asm volatile("1: j 1b");
}
