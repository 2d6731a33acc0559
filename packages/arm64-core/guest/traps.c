/*
 * Synchronous exceptions to EL1: SVC, BRK, UDF, EL2 registers from EL1,
 * FP access with CPACR_EL1.FPEN off, data alignment checks, PC
 * alignment, illegal exception return; and from EL0: SVC, HVC, privileged
 * registers, disabled counter access, DAIF without SCTLR_EL1.UMA.
 */
#include "rt.h"

static void report(const char *what)
{
	puts_(what);
	putch(' ');
	put_hex("esr", last_esr);
}

static u64 here_elr;
#define MARK(label) asm volatile("adr %0, " label : "=r"(here_elr))

static u64 buf[4] __attribute__((aligned(16)));

static int illegal_hook(u64 kind, struct frame *f)
{
	if ((f->esr >> 26) == 0x0e) {
		put_hex("illegal_spsr", f->spsr);
		f->spsr &= ~(1ull << 20);
		return 1;
	}
	return 0;
}

static int pc_align_hook(u64 kind, struct frame *f)
{
	if ((f->esr >> 26) == 0x22) {
		f->elr = f->x[30];
		return 1;
	}
	return 0;
}

static u64 user_svc(u64 arg)
{
	asm volatile("svc #5");
	return arg + 1;
}
static u64 user_hvc(u64 arg)
{
	asm volatile("hvc #1");
	return arg;
}
static u64 user_sctlr(u64 arg)
{
	u64 v;
	asm volatile("mrs %0, sctlr_el1" : "=r"(v));
	return arg;
}
static u64 user_cntvct(u64 arg)
{
	u64 v;
	asm volatile("mrs %0, cntvct_el0" : "=r"(v));
	return arg;
}
static u64 user_daif(u64 arg)
{
	asm volatile("msr daifclr, #2");
	return arg;
}
static u64 user_tpidr(u64 arg)
{
	u64 v;
	asm volatile("msr tpidr_el0, %0\n\tmrs %0, tpidr_el0" : "=r"(v) : "0"(arg * 3));
	return v;
}
static u64 user_ctr(u64 arg)
{
	u64 v;
	asm volatile("mrs %0, ctr_el0" : "=r"(v));
	return arg;
}
static u8 user_stack[4096] __attribute__((aligned(16)));

static u64 el0_esr;
static int el0_hook(u64 kind, struct frame *f)
{
	if (kind == 8 && f->esr != 0x560000ff)
		el0_esr = f->esr;
	return 0;
}

static void el0(const char *name, u64 (*fn)(u64), u64 esr_mask)
{
	traps = 0;
	el0_esr = 0;
	trap_hook = el0_hook;
	u64 r = run_el0(fn, 0x40, (u64)user_stack + sizeof(user_stack));
	trap_hook = 0;
	puts_(name);
	putch(' ');
	put_hex("ret", r);
	put_hex("traps", traps);
	put_hex("esr", el0_esr & esr_mask);
}

int main(void)
{
	start("traps");
	skip_on_trap = 1;

	asm volatile("svc #0x42\n1:" ::: "memory");
	MARK("1b");
	report("svc");
	put_hex("svc_elr_ok", last_elr == here_elr);

	asm volatile("1:\tbrk #7" ::: "memory");
	MARK("1b");
	report("brk");
	put_hex("brk_elr_ok", last_elr == here_elr);

	asm volatile("1:\tudf #0" ::: "memory");
	MARK("1b");
	report("udf");
	put_hex("udf_elr_ok", last_elr == here_elr);

	asm volatile(".inst 0x00001234" ::: "memory");
	report("reserved");
	asm volatile("mrs x0, hcr_el2" ::: "x0", "memory");
	report("mrs_hcr_el2");
	asm volatile("msr vbar_el2, xzr" ::: "memory");
	report("msr_vbar_el2");
	asm volatile("mrs x0, s3_0_c15_c15_7" ::: "x0", "memory");
	report("mrs_impdef");
	traps = 0;
	asm volatile("hint #0x22\n\tyield\n\tsevl\n\tsev\n\tnop" ::: "memory");
	put_hex("hints_traps", traps);

	/* FP/SIMD with CPACR_EL1.FPEN = 0 traps with EC 0x07. */
	sysreg_write(cpacr_el1, 0);
	isb();
	asm volatile("fmov d0, x1" ::: "d0", "memory");
	report("fp_off");
	sysreg_write(cpacr_el1, 3 << 20);
	isb();
	traps = 0;
	asm volatile("fmov d0, x1" ::: "d0", "memory");
	put_hex("fp_on_traps", traps);

	u64 sctlr = sysreg_read(sctlr_el1);

	/* SCTLR_EL1.A: a misaligned load and store. */
	sysreg_write(sctlr_el1, sctlr | 2);
	isb();
	asm volatile("ldr w10, [%0, #2]" :: "r"(buf) : "x10", "memory");
	report("align_ldr");
	put_hex("align_far_off", last_far - (u64)buf);
	asm volatile("strh w10, [%0, #1]" :: "r"(buf) : "x10", "memory");
	report("align_strh");
	sysreg_write(sctlr_el1, sctlr);
	isb();

	/* PC alignment: BR to a misaligned address faults at the target. */
	{
		u64 target;
		trap_hook = pc_align_hook;
		asm volatile("adr %0, 1f\n\tadd %0, %0, #2\n\tadr x30, 2f\n\tbr %0\n1:\tnop\n\tnop\n2:"
			     : "=&r"(target) :: "x30", "memory");
		trap_hook = 0;
		report("pc_align");
		put_hex("pc_align_far_ok", last_far == target && last_elr == target);
	}

	/* Illegal exception return: ERET to EL2h sets PSTATE.IL. */
	trap_hook = illegal_hook;
	asm volatile("adr x9, 1f\n\tmsr elr_el1, x9\n\tmov x9, #0x3c9\n\tmsr spsr_el1, x9\n\teret\n1:"
		     ::: "x9", "memory");
	trap_hook = 0;
	report("illegal_return");
	put_hex("currentel", sysreg_read(currentel));

	el0("el0_svc", user_svc, ~0ull);
	el0("el0_hvc", user_hvc, ~0ull);
	el0("el0_sctlr", user_sctlr, ~0ull);
	el0("el0_cntvct", user_cntvct, ~0ull);
	/* QEMU 7.2 swaps Op1 and Op2 in this ISS: compare EC and IL only. */
	el0("el0_daif", user_daif, 0xfe000000);
	el0("el0_tpidr", user_tpidr, ~0ull);
	el0("el0_ctr_uct0", user_ctr, ~0ull);
	sysreg_write(sctlr_el1, sctlr | (1 << 15));
	isb();
	el0("el0_ctr_uct1", user_ctr, ~0ull);
	sysreg_write(sctlr_el1, sctlr);
	isb();
	finish();
	return 0;
}
