/*
 * Hostile guest 7c: a trap handler that traps again. stvec points at an
 * illegal instruction, then the guest runs one: every trap lands on the
 * next, forever, retiring nothing. KVM redirects each illegal instruction
 * back into the guest, so the vCPU never leaves KVM_RUN on an exit of its
 * own; only the traps counting against its quantum keep the console
 * (Ctrl-A x) answering.
 */
#include "lib.h"

void guest_main(void) {
	puts_raw("hostile trapstorm: trapping forever\n");
	asm volatile("la t0, 1f\n\tcsrw stvec, t0\n\t.balign 4\n1:\t.4byte 0" ::: "t0", "memory");
}
