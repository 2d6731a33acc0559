/*
 * Hostile guest 4 (issue 13): writes (and reads) everywhere in the PLIC's
 * 64 MiB window at every width, 8-byte included: the priority of every
 * source id 0..1023, the read-only pending bits, the enables of every
 * context QEMU's virt could have (sampled up to 15871), thresholds and
 * claim/complete of contexts that do not exist, completions of sources
 * never claimed or out of range, the holes between the register blocks,
 * and seeded random offsets. Interrupts are masked meanwhile. Then it
 * sets up the UART's interrupt (source 10, context 0 = hart 0 S-mode),
 * enables the 16550's THR-empty interrupt, and checks it arrives, twice,
 * and shuts down with status 0.
 */
#include "lib.h"

#define PLIC_WINDOW 0x4000000UL /* QEMU virt's PLIC region can reach this far; the UART follows */
#define SEED 0x9111c0de

static u32 accesses;

/* Every width at `off`: loads and stores of 1, 2, 4 and 8 bytes (aligned), the store value `v`. */
static void all_widths(u64 off, u64 v) {
	for (int w = 1; w <= 8; w <<= 1) {
		u64 a = PLIC + (off & ~(u64)(w - 1));
		(void)rd(a, w);
		wr(a, w, v);
		accesses += 2;
	}
}

static volatile u32 uart_irqs;
static volatile u32 other_irqs;

void trap_handler(u64 cause, u64 tval) {
	if (cause == SCAUSE_SEI) {
		u32 src = rd32(PLIC_CTX(0) + 4);
		if (src == UART_IRQ) {
			(void)rd8(UART0 + 2); /* IIR read clears the THR-empty interrupt */
			wr8(UART0 + 1, 0);    /* and IER off: it fires once per test */
			uart_irqs++;
		} else if (src) {
			other_irqs++;
		}
		if (src) wr32(PLIC_CTX(0) + 4, src);
		return;
	}
	puts_raw("unexpected trap ");
	putkv("scause", cause);
	putkv("stval", tval);
	shutdown(1);
}

static void wait_uart_irq(u32 n) {
	wr8(UART0 + 1, 0x02); /* IER: THR empty */
	for (u32 spins = 0; uart_irqs < n; spins++) {
		if (spins > 1000000) fail("no UART interrupt");
		asm volatile("nop");
	}
}

void guest_main(void) {
	puts_raw("hostile plic: start\n");
	/* Priorities of source ids 0..1023 (1..96 exist), each at every width. */
	for (u64 src = 0; src < 1024; src++) all_widths(src * 4, 0xffffffffffffffffull);
	for (u64 src = 1; src <= 96; src++)
		if (rd32(PLIC + src * 4) != 7) fail("priority is not 3 bits wide");
	check(rd32(PLIC) == 0, "source 0 has a priority");
	/* Pending bits (read-only) and the hole after them. */
	for (u64 off = 0x1000; off < 0x2000; off += 4) all_widths(off, 0xffffffffffffffffull);
	puts_raw("plic: priorities and pending done\n");
	/* Enables: every word of contexts 0..63, then a sample up to 15871; and the hole before the contexts. */
	for (u64 ctx = 0; ctx < 15872; ctx = ctx < 64 ? ctx + 1 : ctx + 257)
		for (u64 w = 0; w < 32; w++) all_widths(0x2000 + ctx * 0x80 + w * 4, 0xffffffffffffffffull);
	for (u64 off = 0x1f0000; off < 0x200000; off += 0x404) all_widths(off, 0xffffffffffffffffull);
	puts_raw("plic: enables done\n");
	/* Thresholds, claims and bogus completions of contexts 0..63 and a sample up to 15871. */
	static const u64 bogus[] = { 0, 10, 11, 96, 97, 1023, 1024, 0xffffffff, 0xffffffffffffffffull, 0x20 };
	for (u64 ctx = 0; ctx < 15872; ctx = ctx < 64 ? ctx + 1 : ctx + 131) {
		u64 base = 0x200000 + ctx * 0x1000;
		all_widths(base, 0xffffffffffffffffull);
		all_widths(base, 0x3);
		for (u32 i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
			(void)rd32(PLIC + base + 4); /* claim */
			wr32(PLIC + base + 4, (u32)bogus[i]);
			wr64(PLIC + base, bogus[i]);
			accesses += 3;
		}
		for (u64 reg = 8; reg < 0x1000; reg += 0x1f8) all_widths(base + reg, 0x5a5a5a5a5a5a5a5aull);
	}
	puts_raw("plic: contexts done\n");
	/* Past the last context, to the end of the window. */
	for (u64 off = 0x200000 + 15872 * 0x1000; off < PLIC_WINDOW; off += 0x10008) all_widths(off, 0xffffffffffffffffull);
	/* Seeded random offsets, widths and values anywhere in the window. */
	rand_seed(SEED);
	for (u32 n = 0; n < 4000; n++) {
		u64 r = rand64();
		int w = 1 << (r & 3);
		u64 off = ((r >> 2) % PLIC_WINDOW) & ~(u64)(w - 1);
		if ((r >> 40) & 1) (void)rd(PLIC + off, w);
		else wr(PLIC + off, w, rand64());
		accesses++;
	}
	puts_raw("plic: ");
	putdec(accesses);
	puts_raw(" accesses done\n");

	/* The UART interrupt still works: source 10 alone, priority 1, context 0 threshold 0. */
	for (u64 w = 0; w < 4; w++) wr32(PLIC_ENABLE(0) + w * 4, 0);
	for (u64 src = 1; src <= 96; src++) wr32(PLIC + src * 4, 0);
	wr32(PLIC + UART_IRQ * 4, 1);
	wr32(PLIC_ENABLE(0), 1u << UART_IRQ);
	wr32(PLIC_CTX(0), 0);
	/* Drain anything left claimable, and reopen source 10's gateway if a claim above closed it. */
	for (u32 src; (src = rd32(PLIC_CTX(0) + 4)) != 0;) wr32(PLIC_CTX(0) + 4, src);
	wr32(PLIC_CTX(0) + 4, UART_IRQ);
	asm volatile("csrs sie, %0" ::"r"(SIE_SEIE));
	asm volatile("csrs sstatus, %0" ::"r"(SSTATUS_SIE));
	wait_uart_irq(1);
	wait_uart_irq(2);
	check(other_irqs == 0, "interrupts from other sources");
	puts_raw("plic: uart interrupt taken twice, source 10\n");
	puts_raw("hostile plic: ok\n");
	shutdown(0);
}
