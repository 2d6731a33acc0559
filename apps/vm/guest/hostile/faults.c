/*
 * Hostile guests 6 (issue 13): faults the guest cannot recover from, one
 * binary each (build.sh builds this file once per FAULT):
 *   illegal     an illegal instruction with no trap vector (stvec 0): the
 *               trap goes to guest address 0, where there is no memory
 *   jump        a jump to a guest address with no memory
 *   fp-mmio     a floating-point load from the UART
 *   amo-mmio    an atomic add on the PLIC
 *   misaligned  a misaligned 4-byte load from the PLIC
 * KVM cannot run on (KVM_RUN fails); the VMM must end with status 3 and
 * a one-line reason, never an internal error.
 */
#include "lib.h"

#define FAULT_ILLEGAL 1
#define FAULT_JUMP 2
#define FAULT_FP_MMIO 3
#define FAULT_AMO_MMIO 4
#define FAULT_MISALIGNED 5

#ifndef FAULT
#error "build with -DFAULT=<n>"
#endif

static const char *const names[] = { "", "illegal", "jump", "fp-mmio", "amo-mmio", "misaligned" };

void guest_main(void) {
	puts_raw("hostile fault ");
	puts_raw(names[FAULT]);
	puts_raw(": here it comes\n");
#if FAULT == FAULT_ILLEGAL
	asm volatile("csrw stvec, zero\n\t.4byte 0" ::: "memory");
#elif FAULT == FAULT_JUMP
	((void (*)(void))0x1000)();
#elif FAULT == FAULT_FP_MMIO
	asm volatile("csrs sstatus, %0" ::"r"(1ul << 13)); /* FS = initial */
	double d;
	asm volatile("fld %0, 0(%1)" : "=f"(d) : "r"(UART0) : "memory");
	(void)d;
#elif FAULT == FAULT_AMO_MMIO
	u32 old;
	asm volatile("amoadd.w %0, %1, (%2)" : "=r"(old) : "r"(1), "r"(PLIC + 4) : "memory");
	(void)old;
#elif FAULT == FAULT_MISALIGNED
	u32 v; /* lw itself: with a constant address the compiler would split it into halfwords */
	asm volatile("lw %0, 0(%1)" : "=r"(v) : "r"(PLIC + 6) : "memory");
	(void)v;
#endif
	fail("the fault did not stop the guest");
}
