/*
 * The A64 integer instructions: every data-processing form over edge and
 * pseudo-random operands, one hash per instruction (with NZCV where it
 * sets flags), then loads/stores in every addressing mode.
 */
#include "rt.h"

static u64 seed = 0x9e3779b97f4a7c15ull;
static u64 rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static const u64 edges[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
	0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
	0xfffffffffffffffeull, 0x123456789abcdef0ull, 31, 32, 63, 64, 65,
};
#define NEDGE (sizeof(edges) / sizeof(edges[0]))

static u64 operand(int i)
{
	if (i < (int)NEDGE)
		return edges[i];
	u64 r = rnd();
	/* Small values often, to hit shifts and divisions by small numbers. */
	switch (r & 3) {
	case 0:
		return r >> (r & 63);
	case 1:
		return (u64)(s64)(s32)r;
	default:
		return r;
	}
}

typedef u64 (*op2_t)(u64, u64);

static u64 h;
static void mix(u64 v)
{
	h ^= v;
	h *= 0x100000001b3ull;
	h ^= h >> 31;
}

/* Binary op; with _F the NZCV after it too. */
#define OP(name, asmstr)                                                         \
	static u64 name(u64 a, u64 b)                                             \
	{                                                                         \
		u64 r, unused;                                                    \
		asm volatile(asmstr : "=&r"(r), "=&r"(unused) : "r"(a), "r"(b) : "cc"); \
		return r;                                                         \
	}
#define OPF(name, asmstr)                                                        \
	static u64 name(u64 a, u64 b)                                             \
	{                                                                         \
		u64 r, f;                                                         \
		asm volatile(asmstr "\n\tmrs %1, nzcv" : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "cc"); \
		return r ^ (f << 3);                                              \
	}
/* Carry-in variants: C set from bit 0 of b first. */
#define OPC(name, asmstr)                                                        \
	static u64 name(u64 a, u64 b)                                             \
	{                                                                         \
		u64 r, f;                                                         \
		asm volatile("msr nzcv, %4\n\t" asmstr "\n\tmrs %1, nzcv"        \
			     : "=&r"(r), "=&r"(f) : "r"(a), "r"(b), "r"((b & 1) << 29) : "cc"); \
		return r ^ (f << 3);                                              \
	}

OPF(adds_x, "adds %0, %2, %3")
OPF(adds_w, "adds %w0, %w2, %w3")
OPF(subs_x, "subs %0, %2, %3")
OPF(subs_w, "subs %w0, %w2, %w3")
OPF(adds_lsl, "adds %0, %2, %3, lsl #7")
OPF(subs_asr_w, "subs %w0, %w2, %w3, asr #31")
OPF(adds_uxtb, "adds %0, %2, %w3, uxtb #1")
OPF(subs_sxth, "subs %0, %2, %w3, sxth #2")
OPF(adds_sxtw, "adds %0, %2, %w3, sxtw #3")
OPF(subs_uxtx, "subs %0, %2, %3, uxtx #4")
OPF(adds_w_uxth, "adds %w0, %w2, %w3, uxth")
OPF(cmn_imm, "adds %0, %2, #0xabc, lsl #12")
OPF(cmp_imm_w, "subs %w0, %w2, #0x7ff")
OPC(adcs_x, "adcs %0, %2, %3")
OPC(adcs_w, "adcs %w0, %w2, %w3")
OPC(sbcs_x, "sbcs %0, %2, %3")
OPC(sbcs_w, "sbcs %w0, %w2, %w3")
OPC(adc_x, "adc %0, %2, %3")
OPC(ngcs, "ngcs %0, %3")
OPF(ands_x, "ands %0, %2, %3")
OPF(ands_w, "ands %w0, %w2, %w3")
OPF(bics_ror, "bics %0, %2, %3, ror #13")
OP(orn_lsr, "orn %0, %2, %3, lsr #3")
OP(eon_w, "eon %w0, %w2, %w3, lsl #5")
OP(eor_asr, "eor %0, %2, %3, asr #60")
OPF(ands_imm, "ands %0, %2, #0xff00ff00ff00ff00")
OP(orr_imm_w, "orr %w0, %w2, #0x3c3c3c3c")
OP(eor_imm, "eor %0, %2, #0x5555555555555555")
OP(and_imm, "and %0, %2, #0x7ffffffffff")
OP(orr_imm_rot, "orr %0, %2, #0xe00000000000000f")
OP(lslv, "lsl %0, %2, %3")
OP(lsrv, "lsr %0, %2, %3")
OP(asrv, "asr %0, %2, %3")
OP(rorv, "ror %0, %2, %3")
OP(lslv_w, "lsl %w0, %w2, %w3")
OP(asrv_w, "asr %w0, %w2, %w3")
OP(rorv_w, "ror %w0, %w2, %w3")
OP(mul_x, "mul %0, %2, %3")
OP(mul_w, "mul %w0, %w2, %w3")
OP(madd_x, "madd %0, %2, %3, %2")
OP(msub_w, "msub %w0, %w2, %w3, %w3")
OP(smull, "smull %0, %w2, %w3")
OP(umull, "umull %0, %w2, %w3")
OP(smsubl, "smsubl %0, %w2, %w3, %2")
OP(umaddl, "umaddl %0, %w2, %w3, %3")
OP(smulh, "smulh %0, %2, %3")
OP(umulh, "umulh %0, %2, %3")
OP(udiv_x, "udiv %0, %2, %3")
OP(sdiv_x, "sdiv %0, %2, %3")
OP(udiv_w, "udiv %w0, %w2, %w3")
OP(sdiv_w, "sdiv %w0, %w2, %w3")
OP(clz_x, "clz %0, %2")
OP(clz_w, "clz %w0, %w2")
OP(cls_x, "cls %0, %2")
OP(cls_w, "cls %w0, %w2")
OP(rbit_x, "rbit %0, %2")
OP(rbit_w, "rbit %w0, %w2")
OP(rev_x, "rev %0, %2")
OP(rev_w, "rev %w0, %w2")
OP(rev16_x, "rev16 %0, %2")
OP(rev32_x, "rev32 %0, %2")
OP(rev16_w, "rev16 %w0, %w2")
OP(csel_lt, "cmp %2, %3\n\tcsel %0, %2, %3, lt")
OP(csinc_hi, "cmp %2, %3\n\tcsinc %0, %2, %3, hi")
OP(csinv_w_eq, "cmp %w2, %w3\n\tcsinv %w0, %w2, %w3, eq")
OP(csneg_ge, "cmp %2, %3\n\tcsneg %0, %2, %3, ge")
OP(cset_vs, "adds %0, %2, %3\n\tcset %0, vs")
OP(csetm_mi, "subs %w0, %w2, %w3\n\tcsetm %w0, mi")
OPF(ccmp_ne, "cmp %2, #5\n\tccmp %2, %3, #0xa, ne\n\tmov %0, #0")
OPF(ccmn_w_gt, "cmp %w2, %w3\n\tccmn %w2, #17, #3, gt\n\tmov %0, #0")
OPF(ccmp_imm_cc, "cmp %3, %2\n\tccmp %2, #31, #0, cc\n\tmov %0, #0")
OP(extr_x, "extr %0, %2, %3, #23")
OP(extr_w, "extr %w0, %w2, %w3, #7")
OP(ubfx, "ubfx %0, %2, #17, #29")
OP(sbfx, "sbfx %0, %2, #40, #20")
OP(sbfiz_w, "sbfiz %w0, %w2, #9, #11")
OP(ubfiz, "ubfiz %0, %2, #50, #14")
OP(sxtb, "sxtb %0, %w2")
OP(sxth_w, "sxth %w0, %w2")
OP(sxtw, "sxtw %0, %w2")
OP(uxth, "uxth %w0, %w2")
OP(asr_imm_w, "asr %w0, %w2, #13")
OP(lsl_imm, "lsl %0, %2, #61")
OP(ror_imm, "ror %0, %2, #1")
OP(bfi, "mov %0, %3\n\tbfi %0, %2, #12, #20")
OP(bfxil_w, "mov %0, %3\n\tbfxil %w0, %w2, #3, #27")
OP(bfi_wrap, "mov %0, %3\n\tbfi %0, %2, #60, #4")
OP(movk, "mov %0, %2\n\tmovk %0, #0xbeef, lsl #32")
OP(movk_w, "mov %0, %2\n\tmovk %w0, #0x1234, lsl #16")
OP(movn_w, "movn %w0, #0x8000, lsl #16\n\tadd %0, %0, %2")
OP(movn_x, "movn %0, #0x1, lsl #48\n\teor %0, %0, %2")
OP(crc32b, "crc32b %w0, %w2, %w3")
OP(crc32h, "crc32h %w0, %w2, %w3")
OP(crc32w, "crc32w %w0, %w2, %w3")
OP(crc32x, "crc32x %w0, %w2, %3")
OP(crc32cb, "crc32cb %w0, %w2, %w3")
OP(crc32cx, "crc32cx %w0, %w2, %3")
OP(neg_w, "neg %w0, %w2")
OPF(negs_x, "negs %0, %2")
OP(adr_delta, "adr %0, 1f\n1:\tadr %1, 1b\n\tsub %0, %0, %1\n\tadd %0, %0, %2")

static const struct {
	const char *name;
	op2_t fn;
} ops[] = {
#define E(n) {#n, n},
	E(adds_x) E(adds_w) E(subs_x) E(subs_w) E(adds_lsl) E(subs_asr_w) E(adds_uxtb) E(subs_sxth)
	E(adds_sxtw) E(subs_uxtx) E(adds_w_uxth) E(cmn_imm) E(cmp_imm_w) E(adcs_x) E(adcs_w) E(sbcs_x)
	E(sbcs_w) E(adc_x) E(ngcs) E(ands_x) E(ands_w) E(bics_ror) E(orn_lsr) E(eon_w) E(eor_asr)
	E(ands_imm) E(orr_imm_w) E(eor_imm) E(and_imm) E(orr_imm_rot) E(lslv) E(lsrv) E(asrv) E(rorv)
	E(lslv_w) E(asrv_w) E(rorv_w) E(mul_x) E(mul_w) E(madd_x) E(msub_w) E(smull) E(umull) E(smsubl)
	E(umaddl) E(smulh) E(umulh) E(udiv_x) E(sdiv_x) E(udiv_w) E(sdiv_w) E(clz_x) E(clz_w) E(cls_x)
	E(cls_w) E(rbit_x) E(rbit_w) E(rev_x) E(rev_w) E(rev16_x) E(rev32_x) E(rev16_w) E(csel_lt)
	E(csinc_hi) E(csinv_w_eq) E(csneg_ge) E(cset_vs) E(csetm_mi) E(ccmp_ne) E(ccmn_w_gt)
	E(ccmp_imm_cc) E(extr_x) E(extr_w) E(ubfx) E(sbfx) E(sbfiz_w) E(ubfiz) E(sxtb) E(sxth_w)
	E(sxtw) E(uxth) E(asr_imm_w) E(lsl_imm) E(ror_imm) E(bfi) E(bfxil_w) E(bfi_wrap) E(movk)
	E(movk_w) E(movn_w) E(movn_x) E(crc32b) E(crc32h) E(crc32w) E(crc32x) E(crc32cb) E(crc32cx)
	E(neg_w) E(negs_x) E(adr_delta)
};

static u64 mem[64] __attribute__((aligned(16)));

static void loads_stores(void)
{
	for (int i = 0; i < 64; i++)
		mem[i] = rnd();
	u8 *b = (u8 *)mem;
	h = 0;
	for (int i = 0; i < 200; i++) {
		u64 a, c;
		u64 idx = rnd() & 255;
		s64 neg = -(s64)(rnd() & 63);
		u8 *p = b + 256;
		asm volatile("ldrb %w0, [%1, %2]" : "=r"(a) : "r"(b), "r"(idx)); mix(a);
		asm volatile("ldrsb %0, [%1, %2]" : "=r"(a) : "r"(b), "r"(idx)); mix(a);
		asm volatile("ldrsb %w0, [%1, %2]" : "=r"(a) : "r"(b), "r"(idx)); mix(a);
		asm volatile("ldrh %w0, [%1, %w2, uxtw #1]" : "=r"(a) : "r"(b), "r"(idx >> 1)); mix(a);
		asm volatile("ldrsh %0, [%1, %w2, sxtw #1]" : "=r"(a) : "r"(p), "r"(neg)); mix(a);
		asm volatile("ldrsh %w0, [%1, #-2]" : "=r"(a) : "r"(p)); mix(a);
		asm volatile("ldrsw %0, [%1, %2, lsl #2]" : "=r"(a) : "r"(b), "r"(idx >> 2)); mix(a);
		asm volatile("ldr %w0, [%1, %2, lsl #2]" : "=r"(a) : "r"(b), "r"(idx >> 2)); mix(a);
		asm volatile("ldr %0, [%1, %2, lsl #3]" : "=r"(a) : "r"(b), "r"(idx >> 3)); mix(a);
		asm volatile("ldur %0, [%1, #-8]" : "=r"(a) : "r"(p)); mix(a);
		asm volatile("ldursw %0, [%1, #-12]" : "=r"(a) : "r"(p)); mix(a);
		asm volatile("ldp %w0, %w1, [%2, #-64]" : "=r"(a), "=r"(c) : "r"(p)); mix(a); mix(c);
		asm volatile("ldpsw %0, %1, [%2, #8]" : "=r"(a), "=r"(c) : "r"(p)); mix(a); mix(c);
		asm volatile("ldp %0, %1, [%2, #-512]" : "=r"(a), "=r"(c) : "r"(p)); mix(a); mix(c);
		u64 v = rnd();
		u64 q = (u64)b + (idx & ~7);
		asm volatile("strb %w1, [%0, #3]" :: "r"(q), "r"(v) : "memory");
		asm volatile("strh %w1, [%0, #6]" :: "r"(q), "r"(v >> 8) : "memory");
		asm volatile("stur %w1, [%0, #-4]" :: "r"(q + 8), "r"(v >> 16) : "memory");
		asm volatile("str %1, [%0, %2]" :: "r"(b), "r"(v ^ idx), "r"((idx & 0x1f) << 3) : "memory");
		u64 base = (u64)(b + 128);
		asm volatile("str %1, [%0, #16]!" : "+r"(base) : "r"(v) : "memory"); mix(base - (u64)b);
		asm volatile("ldr %1, [%0], #-24" : "+r"(base), "=r"(a) :: "memory"); mix(a); mix(base - (u64)b);
		asm volatile("stp %w1, %w2, [%0, #-8]!" : "+r"(base) : "r"(v), "r"(~v) : "memory"); mix(base - (u64)b);
		asm volatile("stp %1, %2, [%0], #32" : "+r"(base) : "r"(v * 3), "r"(v * 5) : "memory"); mix(base - (u64)b);
		asm volatile("ldrb %w1, [%0, #1]!" : "+r"(base), "=r"(a) :: "memory"); mix(a); mix(base - (u64)b);
		asm volatile("ldrsh %1, [%0], #3" : "+r"(base), "=r"(a) :: "memory"); mix(a); mix(base - (u64)b);
	}
	for (int i = 0; i < 64; i++)
		mix(mem[i]);
	u64 lit;
	asm volatile("ldr %0, =0xfeedfacecafef00d" : "=r"(lit));
	mix(lit);
	asm volatile("ldr %w0, 1f\n\tb 2f\n1:\t.word 0x80000001\n2:" : "=r"(lit));
	mix(lit);
	asm volatile("ldrsw %0, 1f\n\tb 2f\n1:\t.word 0x80000001\n2:" : "=r"(lit));
	mix(lit);
	put_hex("ldst", h);
}

static u64 fib(u64 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static void branches(void)
{
	h = 0;
	for (u64 i = 0; i < 64; i++) {
		u64 v = rnd(), r = 0;
		asm volatile("tbz %1, #37, 1f\n\torr %0, %0, #1\n1:\ttbnz %w1, #3, 2f\n\torr %0, %0, #2\n2:\t"
			     "cbz %w1, 3f\n\torr %0, %0, #4\n3:\tcbnz %1, 4f\n\torr %0, %0, #8\n4:"
			     : "+r"(r) : "r"(v & (i & 1 ? ~0ull : 0xff00000000ull)));
		mix(r);
	}
	mix(fib(15));
	put_hex("branch", h);
}

int main(void)
{
	start("int");
	for (unsigned k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		h = 0;
		seed = 0x9e3779b97f4a7c15ull + k;
		for (int i = 0; i < 80; i++)
			for (int j = 0; j < 4; j++) {
				u64 a = operand(i), b = operand(j * 7 + (i % 5));
				mix(ops[k].fn(a, b));
			}
		put_hex(ops[k].name, h);
	}
	loads_stores();
	branches();
	finish();
	return 0;
}
