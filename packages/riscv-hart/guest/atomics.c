/* RV64A: LR/SC success and failure rules, every AMO in W and D width (with
 * the W forms' sign extension) and the aq/rl spellings. */
#include "rt.h"

const char prog_name[] = "atomics";

static volatile u64 mem[4] __attribute__((aligned(16)));

#define AMO(name, insn)                                                                  \
	static u64 name(volatile void *p, u64 v)                                         \
	{                                                                                \
		u64 r;                                                                   \
		__asm__ volatile(insn " %0, %2, (%1)" : "=r"(r) : "r"(p), "r"(v) : "memory"); \
		return r;                                                                \
	}
AMO(swap_w, "amoswap.w") AMO(add_w, "amoadd.w") AMO(xor_w, "amoxor.w")
AMO(and_w, "amoand.w") AMO(or_w, "amoor.w") AMO(min_w, "amomin.w")
AMO(max_w, "amomax.w") AMO(minu_w, "amominu.w") AMO(maxu_w, "amomaxu.w")
AMO(swap_d, "amoswap.d") AMO(add_d, "amoadd.d") AMO(xor_d, "amoxor.d")
AMO(and_d, "amoand.d") AMO(or_d, "amoor.d") AMO(min_d, "amomin.d")
AMO(max_d, "amomax.d") AMO(minu_d, "amominu.d") AMO(maxu_d, "amomaxu.d")
AMO(add_w_aq, "amoadd.w.aq") AMO(add_d_rl, "amoadd.d.rl") AMO(swap_d_aqrl, "amoswap.d.aqrl")

struct amo {
	const char *name;
	u64 (*fn)(volatile void *, u64);
	int word;
};
#define W(n, f) { n, f, 1 }
#define D(n, f) { n, f, 0 }
static const struct amo amos[] = {
	W("amoswap.w", swap_w), W("amoadd.w", add_w), W("amoxor.w", xor_w),
	W("amoand.w", and_w), W("amoor.w", or_w), W("amomin.w", min_w),
	W("amomax.w", max_w), W("amominu.w", minu_w), W("amomaxu.w", maxu_w),
	D("amoswap.d", swap_d), D("amoadd.d", add_d), D("amoxor.d", xor_d),
	D("amoand.d", and_d), D("amoor.d", or_d), D("amomin.d", min_d),
	D("amomax.d", max_d), D("amominu.d", minu_d), D("amomaxu.d", maxu_d),
	W("amoadd.w.aq", add_w_aq), D("amoadd.d.rl", add_d_rl), D("amoswap.d.aqrl", swap_d_aqrl),
};

static const u64 init[] = { 0x7fffffff80000001UL, 0x00000000ffffffffUL, 0x8000000000000005UL };
static const u64 opnd[] = { 0xffffffff80000000UL, 0x000000007fffffffUL, 0x0000000000000003UL,
			    0x8000000000000000UL };

static u64 lr_w(volatile void *p)
{
	u64 r;
	__asm__ volatile("lr.w %0, (%1)" : "=r"(r) : "r"(p) : "memory");
	return r;
}
static u64 lr_d(volatile void *p)
{
	u64 r;
	__asm__ volatile("lr.d.aq %0, (%1)" : "=r"(r) : "r"(p) : "memory");
	return r;
}
static u64 sc_w(volatile void *p, u64 v)
{
	u64 r;
	__asm__ volatile("sc.w %0, %2, (%1)" : "=&r"(r) : "r"(p), "r"(v) : "memory");
	return r;
}
static u64 sc_d(volatile void *p, u64 v)
{
	u64 r;
	__asm__ volatile("sc.d.rl %0, %2, (%1)" : "=&r"(r) : "r"(p), "r"(v) : "memory");
	return r;
}

static void show(const char *what, u64 v)
{
	puts(what);
	putc(' ');
	put_u64(v);
	nl();
}

int main(void)
{
	for (unsigned k = 0; k < sizeof(amos) / sizeof(amos[0]); k++) {
		for (unsigned i = 0; i < 3; i++)
			for (unsigned j = 0; j < 4; j++) {
				mem[0] = init[i];
				mem[1] = 0x1111111111111111UL;
				/* W forms act on the low word (little endian). */
				u64 old = amos[k].fn(&mem[0], opnd[j]);
				puts(amos[k].name);
				putc(' ');
				put_u64(old);
				putc(' ');
				put_u64(mem[0]);
				nl();
			}
		/* W form on the upper word of a doubleword. */
		if (amos[k].word) {
			mem[0] = init[0];
			u64 old = amos[k].fn((volatile u8 *)&mem[0] + 4, opnd[0]);
			puts(amos[k].name);
			puts(" hi ");
			put_u64(old);
			putc(' ');
			put_u64(mem[0]);
			nl();
		}
	}
	/* LR/SC. SC writes 0 on success and nonzero on failure; print only
	 * success/failure since the failure code is implementation defined. */
	/* Nothing between LR and SC may trap (printing is an SBI call, and a
	 * trap may drop the reservation), so collect first and print after. */
	u64 r[12];
	mem[0] = 0x00000000fffffff0UL;
	r[0] = lr_w(&mem[0]);
	r[1] = sc_w(&mem[0], 0x12345678) == 0;
	r[2] = mem[0];
	r[3] = sc_w(&mem[0], 0x9abc) != 0;
	r[4] = mem[0];
	mem[1] = 0x8000000000000000UL;
	r[5] = lr_d(&mem[1]);
	r[6] = sc_d(&mem[2], 5) != 0;
	r[7] = mem[2];
	r[8] = lr_d(&mem[1]);
	r[9] = sc_d(&mem[1], 0xfeedface) == 0;
	r[10] = mem[1];
	r[11] = lr_w(&mem[2]);
	u64 ok = sc_w(&mem[2], 0x80000000UL) == 0;
	show("lr.w", r[0]);
	show("sc.w ok", r[1]);
	show("mem", r[2]);
	show("sc.w again (no reservation) fails", r[3]);
	show("mem", r[4]);
	show("lr.d", r[5]);
	show("sc.d other address fails", r[6]);
	show("mem2", r[7]);
	show("lr.d", r[8]);
	show("sc.d ok", r[9]);
	show("mem1", r[10]);
	show("lr.w", r[11]);
	show("sc.w ok", ok);
	show("mem2", mem[2]);
	/* A CAS loop the way compiled C does it. */
	mem[3] = 10;
	for (int i = 0; i < 100; i++)
		__atomic_fetch_add(&mem[3], (u64)i, __ATOMIC_SEQ_CST);
	u64 expected = mem[3];
	int swapped = __atomic_compare_exchange_n(&mem[3], &expected, 7, 0, __ATOMIC_SEQ_CST,
						  __ATOMIC_SEQ_CST);
	show("cas ok", (u64)swapped);
	show("mem3", mem[3]);
	u32 w = 5;
	u32 e = 6;
	swapped = __atomic_compare_exchange_n(&w, &e, 9, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	show("cas.w mismatch", (u64)swapped);
	show("cas.w seen", e);
	return 0;
}
