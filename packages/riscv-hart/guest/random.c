/* Random operands (a fixed xorshift seed, so every run is the same): F/D
 * operations in every rounding mode over values biased towards the
 * interesting exponents (subnormal, near 1, near overflow, inf/NaN), and
 * the M extension over random and edge-mixed integers. One digest of
 * (result, fflags) per (op, rounding mode). */
#include "fp-ops.h"

const char prog_name[] = "random";

#define COUNT 300

static u64 state = 0x9e3779b97f4a7c15UL;
static u64 rnd(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static u64 mix(u64 h, u64 v)
{
	h ^= v;
	h = (h << 13) | (h >> 51);
	h += v ^ 0x9e3779b97f4a7c15UL;
	h ^= h >> 7;
	return h;
}

/* A biased random float of `ebits` exponent bits and `mbits` fraction bits. */
static u64 rfloat(int ebits, int mbits)
{
	u64 r = rnd();
	u64 emax = (1UL << ebits) - 1, bias = emax >> 1;
	u64 e;
	switch (r & 7) {
	case 0: e = 0; break;                                   /* zero / subnormal */
	case 1: e = 1 + (r >> 3) % 3; break;                    /* tiny normal */
	case 2: e = emax - 1 - (r >> 3) % 3; break;             /* near overflow */
	case 3: e = (r >> 3) % 8 ? bias - 2 + (r >> 6) % 5 : emax; break; /* near 1, or inf/NaN */
	default: e = (r >> 3) % emax; break;
	}
	u64 m = rnd();
	switch ((r >> 20) & 7) {
	case 0: m = 0; break;
	case 1: m = ~0UL; break;
	case 2: m &= 0xffUL; break;                        /* few low bits: exact cases */
	case 3: m = (m & 0xffUL) << (mbits - 8); break;    /* few high bits */
	default: break;
	}
	m &= (1UL << mbits) - 1;
	u64 s = (r >> 40) & 1;
	return s << (ebits + mbits) | e << mbits | m;
}

static u64 rint_(void)
{
	static const u64 edge[] = { 0, 1, -1UL, 0x8000000000000000UL, 0x7fffffffffffffffUL,
				    0x80000000UL, 0x7fffffffUL, 0xffffffffUL };
	u64 r = rnd();
	switch (r & 3) {
	case 0: return edge[(r >> 2) & 7];
	case 1: return (u64)(i64)(i32)rnd();         /* sign-extended word */
	case 2: return rnd() >> ((r >> 8) & 63);     /* any magnitude */
	default: return rnd();
	}
}

#define RR(name, insn)                                                                   \
	static u64 name(u64 a, u64 b)                                                    \
	{                                                                                \
		u64 r;                                                                   \
		__asm__ volatile(insn " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));       \
		return r;                                                                \
	}
RR(i_mul, "mul") RR(i_mulh, "mulh") RR(i_mulhsu, "mulhsu") RR(i_mulhu, "mulhu")
RR(i_div, "div") RR(i_divu, "divu") RR(i_rem, "rem") RR(i_remu, "remu")
RR(i_mulw, "mulw") RR(i_divw, "divw") RR(i_divuw, "divuw") RR(i_remw, "remw") RR(i_remuw, "remuw")

static const struct {
	const char *name;
	u64 (*fn)(u64, u64);
} iops[] = {
	{ "mul", i_mul }, { "mulh", i_mulh }, { "mulhsu", i_mulhsu }, { "mulhu", i_mulhu },
	{ "div", i_div }, { "divu", i_divu }, { "rem", i_rem }, { "remu", i_remu },
	{ "mulw", i_mulw }, { "divw", i_divw }, { "divuw", i_divuw }, { "remw", i_remw },
	{ "remuw", i_remuw },
};

static u64 operand(enum kind k)
{
	switch (k) {
	case S1: case S2: case S3: return rfloat(8, 23);
	case D1: case D2: case D3: return rfloat(11, 52);
	default: return rint_();
	}
}

int main(void)
{
	for (unsigned o = 0; o < N(ops); o++) {
		int modes = ops[o].rounding ? 5 : 1;
		for (int rm = 0; rm < modes; rm++) {
			state = 0x9e3779b97f4a7c15UL + o; /* same inputs for every mode */
			u64 h = 0, all = 0, fl;
			for (int i = 0; i < COUNT; i++) {
				u64 a = operand(ops[o].k), b = operand(ops[o].k), c = operand(ops[o].k);
				u64 r = ops[o].fn(a, b, c, rm, &fl);
				h = mix(mix(h, r), fl);
				all |= fl;
			}
			puts(ops[o].name);
			putc(' ');
			puts(ops[o].rounding ? rm_names[rm] : "-");
			puts(" h=");
			put_u64(h);
			puts(" flags=");
			put_hex(all, 2);
			nl();
		}
	}
	for (unsigned o = 0; o < N(iops); o++) {
		state = 0x5bd1e995UL + o;
		u64 h = 0;
		for (int i = 0; i < COUNT * 4; i++) {
			u64 a = rint_(), b = rint_();
			h = mix(h, iops[o].fn(a, b));
		}
		puts(iops[o].name);
		puts(" h=");
		put_u64(h);
		nl();
	}
	return 0;
}
