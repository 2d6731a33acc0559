/*
 * Stage-1 translation with a 4 KiB granule: its own tables (39-bit VA
 * from level 1, TTBR0 and TTBR1), 2 MiB blocks and 4 KiB pages, aliases,
 * read-only / access-flag / invalid / EL0 / execute-never pages, faults
 * at each level, TLBI after a remap, AT into PAR_EL1, LDTR, DC ZVA.
 */
#include "rt.h"

#define PG 4096ull
static u64 l1_lo[512] __attribute__((aligned(4096)));
static u64 l1_hi[512] __attribute__((aligned(4096)));
static u64 l2_dev[512] __attribute__((aligned(4096)));
static u64 l2_ram[512] __attribute__((aligned(4096)));
static u64 l3_test[512] __attribute__((aligned(4096)));
/* The 2 MiB test region the level-3 table maps (pages 0..7 used). */
#define TEST_VA 0x40e00000ull
static u8 test_pages[8 * 4096] __attribute__((aligned(4096)));
static u8 user_stack[4096] __attribute__((aligned(16)));

#define VALID 1ull
#define TABLE 3ull
#define PAGE 3ull
#define AF (1ull << 10)
#define SH_INNER (3ull << 8)
#define AP_EL0 (1ull << 6)
#define AP_RO (2ull << 6)
#define ATTR_DEV (0ull << 2)
#define ATTR_MEM (1ull << 2)
#define PXN (1ull << 53)
#define UXN (1ull << 54)

static inline void tlbi_all(void) { asm volatile("dsb ishst\n\ttlbi vmalle1\n\tdsb ish\n\tisb" ::: "memory"); }

static u64 page_pa(int i) { return (u64)test_pages + i * PG; }
static u64 page_va(int i) { return TEST_VA + i * PG; }

static void report(const char *what)
{
	puts_(what);
	putch(' ');
	put_hex("esr", last_esr);
}

static int xn_hook(u64 kind, struct frame *f)
{
	if ((f->esr >> 26) == 0x21 || (f->esr >> 26) == 0x20) {
		f->elr = f->x[30];
		return 1;
	}
	return 0;
}

static u64 el0_esr;
static int el0_hook(u64 kind, struct frame *f)
{
	if (kind == 8 && f->esr != 0x560000ff)
		el0_esr = f->esr;
	return 0;
}

static u64 el0_read(u64 va)
{
	return *(volatile u64 *)va;
}

static u64 el0_write(u64 va)
{
	*(volatile u64 *)va = 0x5555;
	return *(volatile u64 *)va;
}

static u64 ldtr(u64 va)
{
	u64 v = 0;
	asm volatile("ldtr %0, [%1]" : "+r"(v) : "r"(va) : "memory");
	return v;
}

static u64 at(u64 va, int op)
{
	switch (op) {
	case 0: asm volatile("at s1e1r, %0" :: "r"(va)); break;
	case 1: asm volatile("at s1e1w, %0" :: "r"(va)); break;
	default: asm volatile("at s1e0r, %0" :: "r"(va)); break;
	}
	isb();
	u64 par = sysreg_read(par_el1);
	/* Compare the PA and F (success) or FST (fault); attributes are implementation-defined here. */
	return par & 1 ? par & 0x7f : par & 0x0000fffffffff001ull;
}

int main(void)
{
	start("mmu");
	/* TTBR0: 0-1 GiB -> device blocks (the PL011), 1-2 GiB -> RAM blocks. */
	l1_lo[0] = (u64)l2_dev | TABLE;
	l1_lo[1] = (u64)l2_ram | TABLE;
	l2_dev[0x09000000 >> 21] = 0x09000000 | AF | ATTR_DEV | PXN | UXN | VALID;
	for (int i = 0; i < 8; i++)
		l2_ram[i] = (0x40000000ull + ((u64)i << 21)) | AF | SH_INNER | ATTR_MEM | VALID;
	l2_ram[(TEST_VA >> 21) & 511] = (u64)l3_test | TABLE;
	u64 normal = AF | SH_INNER | ATTR_MEM | PAGE;
	l3_test[0] = page_pa(0) | normal;
	l3_test[1] = page_pa(1) | normal | AP_RO;
	l3_test[2] = page_pa(2) | (normal & ~AF);
	/* page 3: invalid */
	l3_test[4] = page_pa(4) | normal | AP_EL0;
	l3_test[5] = page_pa(0) | normal;
	l3_test[6] = page_pa(6) | normal | PXN;
	l3_test[7] = page_pa(7) | normal | AP_EL0 | AP_RO;
	/* TTBR1: the top 1 GiB-aligned slot of the 39-bit upper range -> RAM as one 1 GiB block. */
	l1_hi[0] = 0x40000000ull | AF | SH_INNER | ATTR_MEM | PXN | VALID;

	sysreg_write(mair_el1, 0xff00ull);
	/* T0SZ = T1SZ = 25, TG0 4K, TG1 4K, WBWA inner shareable walks, IPS 40 bits. */
	u64 tcr = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (25ull << 16) | (1ull << 24) | (1ull << 26) | (3ull << 28) |
		  (2ull << 30) | (2ull << 32);
	sysreg_write(tcr_el1, tcr);
	sysreg_write(ttbr0_el1, l1_lo);
	sysreg_write(ttbr1_el1, (u64)l1_hi | (1ull << 48));
	isb();
	tlbi_all();
	u64 sctlr = sysreg_read(sctlr_el1);
	sysreg_write(sctlr_el1, sctlr | 1 | (1 << 2) | (1 << 12));
	isb();
	puts_("mmu on\n");

	volatile u64 *p0 = (u64 *)page_va(0);
	volatile u64 *alias = (u64 *)page_va(5);
	p0[3] = 0x1122334455667788ull;
	put_hex("alias", alias[3]);
	put_hex("identity", *(volatile u64 *)(page_pa(0) + 24));
	put_hex("ttbr1", *(volatile u64 *)(0xffffff8000000000ull + (page_pa(0) - 0x40000000ull) + 24));
	/* An unaligned load across two pages of Normal memory. */
	((volatile u8 *)p0)[PG - 1] = 0xab;
	put_hex("cross_page", *(volatile u64 *)(page_va(0) + PG - 3) & 0xffffff);

	skip_on_trap = 1;
	traps = 0;
	*(volatile u64 *)page_va(1) = 1;
	report("write_ro");
	put_hex("far_ok", last_far == page_va(1));
	put_hex("read_ro", *(volatile u64 *)page_va(1));
	(void)*(volatile u64 *)(page_va(2) + 8);
	report("access_flag");
	(void)*(volatile u64 *)(page_va(3) + 16);
	report("invalid_l3");
	(void)*(volatile u64 *)0x80001000ull;
	report("invalid_l1");
	(void)*(volatile u64 *)0x0000008000000000ull;
	report("beyond_t0sz");
	(void)*(volatile u64 *)0xffff000000000000ull;
	report("beyond_t1sz");
	(void)*(volatile u64 *)0x40000000ull;
	put_hex("traps", traps);

	/* Execute-never at EL1. */
	*(volatile u32 *)page_va(6) = 0xd65f03c0; /* ret */
	asm volatile("dsb ish\n\tic iallu\n\tdsb ish\n\tisb" ::: "memory");
	trap_hook = xn_hook;
	((void (*)(void))page_va(6))();
	trap_hook = 0;
	report("pxn");
	put_hex("pxn_far_ok", last_far == page_va(6));

	/* LDTR from EL1 checks EL0 permissions. */
	put_hex("ldtr_el0_page", ldtr(page_va(4)));
	traps = 0;
	ldtr(page_va(0));
	report("ldtr_el1_page");
	put_hex("traps", traps);

	/* EL0 accesses. */
	traps = 0;
	put_hex("el0_write_own", run_el0(el0_write, page_va(4), (u64)user_stack + sizeof(user_stack)));
	put_hex("traps", traps);
	trap_hook = el0_hook;
	run_el0(el0_read, page_va(0), page_va(4) + PG);
	put_hex("el0_read_el1_page", el0_esr);
	run_el0(el0_write, page_va(7), page_va(4) + PG);
	put_hex("el0_write_ro_page", el0_esr);
	trap_hook = 0;

	/* Remap the alias to page 1 and invalidate. */
	p0[0] = 0xa0;
	*(volatile u64 *)page_pa(1) = 0xa1;
	put_hex("before_remap", alias[0]);
	l3_test[5] = page_pa(1) | normal;
	asm volatile("dsb ishst\n\ttlbi vae1, %0\n\tdsb ish\n\tisb" :: "r"(page_va(5) >> 12) : "memory");
	put_hex("after_remap", alias[0]);

	/* AT. */
	put_hex("at_s1e1r", at(page_va(0), 0) == page_pa(0));
	put_hex("at_s1e1w_ro", at(page_va(1), 1));
	put_hex("at_s1e1r_af", at(page_va(2), 0));
	put_hex("at_s1e0r", at(page_va(0), 2));
	put_hex("at_s1e1r_invalid", at(page_va(3), 0));

	/* DC ZVA zeroes one 64-byte block. */
	for (int i = 0; i < 32; i++)
		p0[i] = ~0ull;
	asm volatile("dc zva, %0" :: "r"(page_va(0) + 72) : "memory");
	u64 sum = 0;
	for (int i = 0; i < 32; i++)
		sum = sum * 3 + (p0[i] & 0xff);
	put_hex("dc_zva", sum);
	put_hex("dczid", sysreg_read(dczid_el0));

	skip_on_trap = 0;
	sysreg_write(sctlr_el1, sctlr);
	isb();
	puts_("mmu off\n");
	finish();
	return 0;
}
