/* Interrupts: a self IPI through SBI sPI (supervisor software interrupt),
 * taken when sstatus.SIE is set, pending across wfi with SIE clear, and
 * cleared through sip; then an SBI TIME timer interrupt waited for with
 * wfi. Prints causes and sip/sie bits only, never times. */
#include "rt.h"

const char prog_name[] = "irq";

#define SBI_EXT_TIME 0x54494D45UL
#define SBI_EXT_IPI 0x735049UL
#define SIP_SSIP (1UL << 1)
#define SIP_STIP (1UL << 5)
#define SIE_SEIE (1UL << 9)
#define SSTATUS_SIE (1UL << 1)
#define SCAUSE_INT (1UL << 63)

static volatile int soft_irqs, timer_irqs;
static volatile u64 last_cause;
static volatile u64 order; /* causes taken, 4 bits each */

void trap_handler(struct trap_frame *f)
{
	if (!(f->scause & SCAUSE_INT))
		unexpected_trap(f);
	last_cause = f->scause;
	order = order << 4 | (f->scause & 0xf);
	switch (f->scause & ~SCAUSE_INT) {
	case 1:
		soft_irqs++;
		csr_clear(sip, SIP_SSIP);
		break;
	case 5:
		timer_irqs++;
		/* set_timer far in the future clears the pending timer. */
		sbi_call(SBI_EXT_TIME, 0, -1UL, 0, 0);
		break;
	default:
		unexpected_trap(f);
	}
}

static u64 rdtime(void)
{
	u64 t;
	__asm__ volatile("rdtime %0" : "=r"(t));
	return t;
}

int main(void)
{
	kv("probe ipi", sbi_call(SBI_EXT_BASE, 3, SBI_EXT_IPI, 0, 0).value != 0);
	kv("probe time", sbi_call(SBI_EXT_BASE, 3, SBI_EXT_TIME, 0, 0).value != 0);
	csr_write(sie, SIP_SSIP | SIP_STIP | SIE_SEIE);
	kv("sie", csr_read(sie));
	csr_write(sie, SIP_SSIP);

	/* 1. Self IPI with SIE clear: pending, not taken. */
	struct sbiret r = sbi_call(SBI_EXT_IPI, 0, 1UL << boot_hartid, 0, 0);
	kv("send_ipi error", (u64)r.error);
	kv("sip.ssip pending", (csr_read(sip) & SIP_SSIP) != 0);
	kv("soft irqs before SIE", soft_irqs);
	/* 2. Setting SIE takes it at once; the handler clears sip.SSIP. */
	csr_set(sstatus, SSTATUS_SIE);
	__asm__ volatile("nop");
	csr_clear(sstatus, SSTATUS_SIE);
	kv("soft irqs after SIE", soft_irqs);
	kv("cause", last_cause);
	kv("sip.ssip after handler", (csr_read(sip) & SIP_SSIP) != 0);

	/* 3. wfi with SIE clear still wakes on a pending enabled interrupt. */
	sbi_call(SBI_EXT_IPI, 0, 1UL << boot_hartid, 0, 0);
	__asm__ volatile("wfi");
	kv("woke with ssip", (csr_read(sip) & SIP_SSIP) != 0);
	csr_clear(sip, SIP_SSIP);
	kv("ssip cleared by sip write", (csr_read(sip) & SIP_SSIP) != 0);
	kv("soft irqs", soft_irqs);

	/* 4. A hart mask that does not include us sends nothing to us. */
	r = sbi_call(SBI_EXT_IPI, 0, 1, 1, 0); /* base 1: hart 1 only */
	kv("ipi other hart pending here", (csr_read(sip) & SIP_SSIP) != 0);

	/* 5. Timer: wait in wfi with interrupts on until it fires. */
	csr_write(sie, SIP_STIP);
	u64 deadline = rdtime() + 20000;
	sbi_call(SBI_EXT_TIME, 0, deadline, 0, 0);
	kv("stip before deadline", (csr_read(sip) & SIP_STIP) != 0 && rdtime() < deadline);
	csr_set(sstatus, SSTATUS_SIE);
	while (!timer_irqs)
		__asm__ volatile("wfi");
	csr_clear(sstatus, SSTATUS_SIE);
	kv("timer irqs", timer_irqs);
	kv("cause", last_cause);
	kv("time reached deadline", rdtime() >= deadline);
	kv("stip after set_timer(-1)", (csr_read(sip) & SIP_STIP) != 0);

	/* 6. Software and timer interrupts pending together: the software one
	 * is taken first (priority SEI > SSI > STI), then the timer. */
	csr_write(sie, SIP_SSIP | SIP_STIP);
	sbi_call(SBI_EXT_TIME, 0, 0, 0, 0); /* a deadline in the past */
	sbi_call(SBI_EXT_IPI, 0, 1UL << boot_hartid, 0, 0);
	while ((csr_read(sip) & (SIP_SSIP | SIP_STIP)) != (SIP_SSIP | SIP_STIP))
		;
	order = 0;
	csr_set(sstatus, SSTATUS_SIE);
	__asm__ volatile("nop");
	csr_clear(sstatus, SSTATUS_SIE);
	kv("order taken", order);
	csr_write(sie, 0);
	return 0;
}
