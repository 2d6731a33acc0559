#include "rt.h"

#define UART_DR ((volatile u32 *)0x09000000)

volatile u64 last_esr, last_far, last_elr, last_kind;
volatile int traps;
volatile int skip_on_trap;
int (*trap_hook)(u64 kind, struct frame *f);
static int failed;

extern char el0_resume[];

void putch(char c) { *UART_DR = (u8)c; }

void puts_(const char *s)
{
	while (*s)
		putch(*s++);
}

void put_hex(const char *name, u64 v)
{
	puts_(name);
	putch('=');
	for (int i = 60; i >= 0; i -= 4)
		putch("0123456789abcdef"[(v >> i) & 15]);
	putch('\n');
}

void check(const char *what, int ok)
{
	if (!ok) {
		failed = 1;
		puts_("FAIL ");
		puts_(what);
		putch('\n');
	}
}

void start(const char *name)
{
	puts_("--- start ---\n");
	puts_(name);
	putch('\n');
}

void finish(void)
{
	puts_(failed ? "FAIL\n" : "DONE\n");
	poweroff();
}

void trap(u64 kind, struct frame *f)
{
	u64 ec = f->esr >> 26;
	traps++;
	last_kind = kind;
	last_esr = f->esr;
	last_far = f->far;
	last_elr = f->elr;
	if (trap_hook && trap_hook(kind, f))
		return;
	if (kind == 8 && ec == 0x15 && (f->esr & 0xffff) == 0xff) {
		/* SVC #0xff from EL0: back to run_el0's caller at EL1. */
		f->elr = (u64)el0_resume;
		f->spsr = 0x3c5;
		return;
	}
	if (skip_on_trap) {
		if (ec != 0x15 && ec != 0x16 && ec != 0x17)
			f->elr += 4;
		return;
	}
	put_hex("unexpected trap kind", kind);
	put_hex("esr", f->esr);
	put_hex("elr", f->elr);
	put_hex("far", f->far);
	puts_("FAIL\n");
	poweroff();
}
