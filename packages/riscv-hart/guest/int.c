/* RV64IM: every register-register and immediate ALU op, MUL/MULH*, DIV/REM
 * (by zero, signed overflow), shifts and the W forms, over edge operands.
 * Each op prints a digest over all operand pairs plus raw edge results. */
#include "rt.h"

const char prog_name[] = "int";

static const u64 vals[] = {
	0,
	1,
	2,
	3,
	0xffffffffffffffffUL, /* -1 */
	0xfffffffffffffff9UL, /* -7 */
	0x8000000000000000UL, /* INT64_MIN */
	0x7fffffffffffffffUL, /* INT64_MAX */
	0x0000000080000000UL,
	0x000000007fffffffUL,
	0x00000000ffffffffUL,
	0xffffffff80000000UL,
	0x123456789abcdef0UL,
	0xfedcba9876543210UL,
	0x000000000000003fUL,
	0x0000000000000021UL,
};
#define NV (sizeof(vals) / sizeof(vals[0]))

#define RR(op)                                                                      \
	static u64 f_##op(u64 a, u64 b)                                             \
	{                                                                           \
		u64 r;                                                              \
		__asm__ volatile(#op " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); \
		return r;                                                           \
	}
RR(add) RR(sub) RR(sll) RR(slt) RR(sltu) RR(xor) RR(srl) RR(sra) RR(or) RR(and)
RR(addw) RR(subw) RR(sllw) RR(srlw) RR(sraw)
RR(mul) RR(mulh) RR(mulhsu) RR(mulhu) RR(div) RR(divu) RR(rem) RR(remu)
RR(mulw) RR(divw) RR(divuw) RR(remw) RR(remuw)

/* Immediate forms: the immediate is fixed per function, b is ignored. */
#define RI(name, op, imm)                                                            \
	static u64 f_##name(u64 a, u64 b)                                            \
	{                                                                            \
		u64 r;                                                               \
		(void)b;                                                             \
		__asm__ volatile(#op " %0, %1, " #imm : "=r"(r) : "r"(a));          \
		return r;                                                            \
	}
RI(addi_m1, addi, -1) RI(addi_2047, addi, 2047) RI(addi_m2048, addi, -2048)
RI(slti_m1, slti, -1) RI(sltiu_m1, sltiu, -1) RI(sltiu_1, sltiu, 1)
RI(xori_m1, xori, -1) RI(ori_0x555, ori, 0x555) RI(andi_m16, andi, -16)
RI(slli_0, slli, 0) RI(slli_31, slli, 31) RI(slli_63, slli, 63)
RI(srli_1, srli, 1) RI(srli_32, srli, 32) RI(srli_63, srli, 63)
RI(srai_1, srai, 1) RI(srai_32, srai, 32) RI(srai_63, srai, 63)
RI(addiw_m1, addiw, -1) RI(addiw_2047, addiw, 2047)
RI(slliw_0, slliw, 0) RI(slliw_31, slliw, 31) RI(srliw_0, srliw, 0) RI(srliw_31, srliw, 31)
RI(sraiw_0, sraiw, 0) RI(sraiw_31, sraiw, 31)

struct op {
	const char *name;
	u64 (*fn)(u64, u64);
};

#define OP(n) { #n, f_##n }
static const struct op ops[] = {
	OP(add), OP(sub), OP(sll), OP(slt), OP(sltu), OP(xor), OP(srl), OP(sra), OP(or), OP(and),
	OP(addw), OP(subw), OP(sllw), OP(srlw), OP(sraw),
	OP(mul), OP(mulh), OP(mulhsu), OP(mulhu), OP(div), OP(divu), OP(rem), OP(remu),
	OP(mulw), OP(divw), OP(divuw), OP(remw), OP(remuw),
	OP(addi_m1), OP(addi_2047), OP(addi_m2048), OP(slti_m1), OP(sltiu_m1), OP(sltiu_1),
	OP(xori_m1), OP(ori_0x555), OP(andi_m16), OP(slli_0), OP(slli_31), OP(slli_63),
	OP(srli_1), OP(srli_32), OP(srli_63), OP(srai_1), OP(srai_32), OP(srai_63),
	OP(addiw_m1), OP(addiw_2047), OP(slliw_0), OP(slliw_31), OP(srliw_0), OP(srliw_31),
	OP(sraiw_0), OP(sraiw_31),
};

/* Digest with only xor/shift/add so a broken MUL cannot hide in the hash. */
static u64 mix(u64 h, u64 v)
{
	h ^= v;
	h = (h << 13) | (h >> 51);
	h += v ^ 0x9e3779b97f4a7c15UL;
	h ^= h >> 7;
	return h;
}

static void raw(const char *name, u64 (*fn)(u64, u64), u64 a, u64 b)
{
	puts(name);
	putc(' ');
	put_u64(a);
	putc(' ');
	put_u64(b);
	puts(" = ");
	put_u64(fn(a, b));
	nl();
}

static u64 lui_auipc(void)
{
	u64 a, b, c;
	__asm__ volatile("lui %0, 0x80000\n\t"
			 "lui %1, 0x7ffff\n\t"
			 "1: auipc %2, 0\n\t"
			 "la t0, 1b\n\t"
			 "sub %2, %2, t0"
			 : "=r"(a), "=r"(b), "=r"(c)
			 :
			 : "t0");
	return a ^ (b << 1) ^ c;
}

static void loads_stores(void)
{
	static u64 buf[4];
	buf[0] = 0x8182838485868788UL;
	buf[1] = 0;
	u64 r[8];
	__asm__ volatile("lb %0, 0(%8)\n\t"
			 "lbu %1, 0(%8)\n\t"
			 "lh %2, 2(%8)\n\t"
			 "lhu %3, 2(%8)\n\t"
			 "lw %4, 4(%8)\n\t"
			 "lwu %5, 4(%8)\n\t"
			 "ld %6, 0(%8)\n\t"
			 "sb %6, 8(%8)\n\t"
			 "sh %6, 10(%8)\n\t"
			 "sw %6, 12(%8)\n\t"
			 "ld %7, 8(%8)"
			 : "=&r"(r[0]), "=&r"(r[1]), "=&r"(r[2]), "=&r"(r[3]), "=&r"(r[4]), "=&r"(r[5]),
			   "=&r"(r[6]), "=&r"(r[7])
			 : "r"(buf)
			 : "memory");
	for (int i = 0; i < 8; i++)
		kv("ldst", r[i]);
}

static void branches(void)
{
	/* Each branch kind over signed/unsigned-sensitive pairs; bit i set if
	 * the branch was taken. */
	static const u64 pa[] = { 0, 1, 0xffffffffffffffffUL, 0x8000000000000000UL };
	u64 bits = 0;
	int k = 0;
	for (unsigned i = 0; i < 4; i++)
		for (unsigned j = 0; j < 4; j++) {
			u64 a = pa[i], b = pa[j], t;
#define BR(ins)                                                                 \
	__asm__ volatile("li %0, 1\n\t" #ins " %1, %2, 1f\n\tli %0, 0\n1:" \
			 : "=&r"(t)                                              \
			 : "r"(a), "r"(b));                                      \
	bits |= t << (k++ & 63);
			BR(beq) BR(bne) BR(blt) BR(bge) BR(bltu) BR(bgeu)
			if (k >= 60) {
				kv("branches", bits);
				bits = 0;
				k = 0;
			}
		}
	kv("branches", bits);
	u64 link, target;
	__asm__ volatile("jal %0, 1f\n1: la %1, 1b" : "=r"(link), "=r"(target));
	kv("jal_link_ok", link == target);
	__asm__ volatile("la t0, 2f\n\taddi t0, t0, 1\n\tjalr %0, 0(t0)\n2: la %1, 2b"
			 : "=r"(link), "=r"(target)
			 :
			 : "t0");
	kv("jalr_link_ok", link == target);
}

int main(void)
{
	for (unsigned o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		u64 h = 0;
		for (unsigned i = 0; i < NV; i++)
			for (unsigned j = 0; j < NV; j++)
				h = mix(h, ops[o].fn(vals[i], vals[j]));
		puts(ops[o].name);
		puts(": ");
		put_u64(h);
		nl();
	}
	/* The edge cases the spec defines explicitly. */
	raw("div", f_div, 7, 0);
	raw("divu", f_divu, 7, 0);
	raw("rem", f_rem, 7, 0);
	raw("remu", f_remu, 7, 0);
	raw("div", f_div, 0x8000000000000000UL, -1UL);
	raw("rem", f_rem, 0x8000000000000000UL, -1UL);
	raw("divw", f_divw, 0xffffffff80000000UL, -1UL);
	raw("remw", f_remw, 0xffffffff80000000UL, -1UL);
	raw("divw", f_divw, 5, 0);
	raw("divuw", f_divuw, 5, 0);
	raw("remw", f_remw, 0x1fffffff5UL, 0);
	raw("remuw", f_remuw, 0x1fffffff5UL, 0);
	raw("div", f_div, -7UL, 2);
	raw("rem", f_rem, -7UL, 2);
	raw("mulh", f_mulh, 0x8000000000000000UL, 0x8000000000000000UL);
	raw("mulh", f_mulh, -1UL, -1UL);
	raw("mulhsu", f_mulhsu, -1UL, -1UL);
	raw("mulhsu", f_mulhsu, 0x8000000000000000UL, 0xffffffffffffffffUL);
	raw("mulhu", f_mulhu, -1UL, -1UL);
	raw("mulhu", f_mulhu, 0x123456789abcdef0UL, 0xfedcba9876543210UL);
	raw("mulh", f_mulh, 0x123456789abcdef0UL, 0xfedcba9876543210UL);
	raw("mulhsu", f_mulhsu, 0xfedcba9876543210UL, 0x123456789abcdef0UL);
	raw("mulw", f_mulw, 0x7fffffff, 0x7fffffff);
	raw("sll", f_sll, 1, 64 + 3);
	raw("sllw", f_sllw, 1, 32 + 31);
	raw("srlw", f_srlw, 0xffffffff80000000UL, 1);
	raw("sraw", f_sraw, 0x80000000UL, 31);
	raw("addw", f_addw, 0x7fffffff, 1);
	raw("subw", f_subw, 0, 0x80000000UL);
	kv("lui_auipc", lui_auipc());
	loads_stores();
	branches();
	return 0;
}
