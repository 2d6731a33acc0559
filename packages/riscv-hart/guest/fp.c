/* F and D: arithmetic, fused multiply-add, square root and conversions in
 * every static rounding mode and in dynamic mode (frm = each mode), with
 * fflags; then sign injection, min/max, compares, fclass and NaN boxing.
 * Each (op, rm) line prints a digest over all inputs of (result, fflags)
 * and the OR of the flags; raw lines follow for the classic edge cases. */
#include "rt.h"

const char prog_name[] = "fp";

static const u64 sv[] = {
	0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3eaaaaab, 0x7f7fffff,
	0x00000001, 0x007fffff, 0x00800000, 0x7f800000, 0xff800000, 0x7fc00000,
	0x7f800001, 0x4f000000, 0xcf000000, 0x3f000001, 0x5f000000, 0xc0490fdb,
};
static const u64 dv[] = {
	0x0000000000000000UL, 0x8000000000000000UL, 0x3ff0000000000000UL, 0xbff0000000000000UL,
	0x3fd5555555555555UL, 0x7fefffffffffffffUL, 0x0000000000000001UL, 0x000fffffffffffffUL,
	0x0010000000000000UL, 0x7ff0000000000000UL, 0xfff0000000000000UL, 0x7ff8000000000000UL,
	0x7ff0000000000001UL, 0x41e0000000000000UL, 0xc1e0000000000000UL, 0x3fe0000000000001UL,
	0x43e0000000000000UL, 0xc00921fb54442d18UL, 0x3ff0000000000001UL, 0x47efffffe0000000UL,
};
static const u64 iv[] = {
	0, 1, -1UL, 0x7fffffff, 0xffffffff80000000UL, 0x7fffffffffffffffUL, 0x8000000000000000UL,
	0xffffffff, 0x1000001, 0x20000000000001UL, 0xfffffffffffffff9UL, 0x123456789abcdef0UL,
};
#define N(a) (sizeof(a) / sizeof(a[0]))

/* Sources: ft0, ft1, ft2 from a, b, c; result in ft3 or %0. */
#define S_IN "fmv.w.x ft0, %2\n\tfmv.w.x ft1, %3\n\tfmv.w.x ft2, %4\n\t"
#define D_IN "fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\tfmv.d.x ft2, %4\n\t"
#define S_OUT "\n\tfmv.x.w %0, ft3\n\t"
#define D_OUT "\n\tfmv.x.d %0, ft3\n\t"
#define I_OUT "\n\t"

#define BODY(in, insn, rms, out)                                                      \
	__asm__ volatile("csrw fflags, zero\n\t" in insn rms out "csrr %1, fflags"   \
			 : "=&r"(r), "=&r"(fl)                                         \
			 : "r"(a), "r"(b), "r"(c)                                      \
			 : "ft0", "ft1", "ft2", "ft3", "memory")

typedef u64 (*fop)(u64, u64, u64, int, u64 *);

#define FRM(name, in, insn, out)                                   \
	static u64 name(u64 a, u64 b, u64 c, int rm, u64 *flags)  \
	{                                                          \
		u64 r, fl;                                         \
		switch (rm) {                                      \
		case 0: BODY(in, insn, ", rne", out); break;       \
		case 1: BODY(in, insn, ", rtz", out); break;       \
		case 2: BODY(in, insn, ", rdn", out); break;       \
		case 3: BODY(in, insn, ", rup", out); break;       \
		case 4: BODY(in, insn, ", rmm", out); break;       \
		default: BODY(in, insn, ", dyn", out); break;      \
		}                                                  \
		*flags = fl;                                       \
		return r;                                          \
	}
#define FNO(name, in, insn, out)                                   \
	static u64 name(u64 a, u64 b, u64 c, int rm, u64 *flags)  \
	{                                                          \
		u64 r, fl;                                         \
		(void)rm;                                          \
		BODY(in, insn, "", out);                           \
		*flags = fl;                                       \
		return r;                                          \
	}

FRM(fadd_s, S_IN, "fadd.s ft3, ft0, ft1", S_OUT)
FRM(fsub_s, S_IN, "fsub.s ft3, ft0, ft1", S_OUT)
FRM(fmul_s, S_IN, "fmul.s ft3, ft0, ft1", S_OUT)
FRM(fdiv_s, S_IN, "fdiv.s ft3, ft0, ft1", S_OUT)
FRM(fsqrt_s, S_IN, "fsqrt.s ft3, ft0", S_OUT)
FRM(fmadd_s, S_IN, "fmadd.s ft3, ft0, ft1, ft2", S_OUT)
FRM(fmsub_s, S_IN, "fmsub.s ft3, ft0, ft1, ft2", S_OUT)
FRM(fnmadd_s, S_IN, "fnmadd.s ft3, ft0, ft1, ft2", S_OUT)
FRM(fnmsub_s, S_IN, "fnmsub.s ft3, ft0, ft1, ft2", S_OUT)
FRM(fcvt_w_s, S_IN, "fcvt.w.s %0, ft0", I_OUT)
FRM(fcvt_wu_s, S_IN, "fcvt.wu.s %0, ft0", I_OUT)
FRM(fcvt_l_s, S_IN, "fcvt.l.s %0, ft0", I_OUT)
FRM(fcvt_lu_s, S_IN, "fcvt.lu.s %0, ft0", I_OUT)
FRM(fcvt_s_w, "", "fcvt.s.w ft3, %2", S_OUT)
FRM(fcvt_s_wu, "", "fcvt.s.wu ft3, %2", S_OUT)
FRM(fcvt_s_l, "", "fcvt.s.l ft3, %2", S_OUT)
FRM(fcvt_s_lu, "", "fcvt.s.lu ft3, %2", S_OUT)
FRM(fadd_d, D_IN, "fadd.d ft3, ft0, ft1", D_OUT)
FRM(fsub_d, D_IN, "fsub.d ft3, ft0, ft1", D_OUT)
FRM(fmul_d, D_IN, "fmul.d ft3, ft0, ft1", D_OUT)
FRM(fdiv_d, D_IN, "fdiv.d ft3, ft0, ft1", D_OUT)
FRM(fsqrt_d, D_IN, "fsqrt.d ft3, ft0", D_OUT)
FRM(fmadd_d, D_IN, "fmadd.d ft3, ft0, ft1, ft2", D_OUT)
FRM(fmsub_d, D_IN, "fmsub.d ft3, ft0, ft1, ft2", D_OUT)
FRM(fnmadd_d, D_IN, "fnmadd.d ft3, ft0, ft1, ft2", D_OUT)
FRM(fnmsub_d, D_IN, "fnmsub.d ft3, ft0, ft1, ft2", D_OUT)
FRM(fcvt_w_d, D_IN, "fcvt.w.d %0, ft0", I_OUT)
FRM(fcvt_wu_d, D_IN, "fcvt.wu.d %0, ft0", I_OUT)
FRM(fcvt_l_d, D_IN, "fcvt.l.d %0, ft0", I_OUT)
FRM(fcvt_lu_d, D_IN, "fcvt.lu.d %0, ft0", I_OUT)
FRM(fcvt_d_l, "", "fcvt.d.l ft3, %2", D_OUT)
FRM(fcvt_d_lu, "", "fcvt.d.lu ft3, %2", D_OUT)
FRM(fcvt_s_d, D_IN, "fcvt.s.d ft3, ft0", S_OUT)

FNO(fcvt_d_s, S_IN, "fcvt.d.s ft3, ft0", D_OUT)
FNO(fcvt_d_w, "", "fcvt.d.w ft3, %2", D_OUT)
FNO(fcvt_d_wu, "", "fcvt.d.wu ft3, %2", D_OUT)
FNO(fsgnj_s, S_IN, "fsgnj.s ft3, ft0, ft1", S_OUT)
FNO(fsgnjn_s, S_IN, "fsgnjn.s ft3, ft0, ft1", S_OUT)
FNO(fsgnjx_s, S_IN, "fsgnjx.s ft3, ft0, ft1", S_OUT)
FNO(fmin_s, S_IN, "fmin.s ft3, ft0, ft1", S_OUT)
FNO(fmax_s, S_IN, "fmax.s ft3, ft0, ft1", S_OUT)
FNO(feq_s, S_IN, "feq.s %0, ft0, ft1", I_OUT)
FNO(flt_s, S_IN, "flt.s %0, ft0, ft1", I_OUT)
FNO(fle_s, S_IN, "fle.s %0, ft0, ft1", I_OUT)
FNO(fclass_s, S_IN, "fclass.s %0, ft0", I_OUT)
FNO(fsgnj_d, D_IN, "fsgnj.d ft3, ft0, ft1", D_OUT)
FNO(fsgnjn_d, D_IN, "fsgnjn.d ft3, ft0, ft1", D_OUT)
FNO(fsgnjx_d, D_IN, "fsgnjx.d ft3, ft0, ft1", D_OUT)
FNO(fmin_d, D_IN, "fmin.d ft3, ft0, ft1", D_OUT)
FNO(fmax_d, D_IN, "fmax.d ft3, ft0, ft1", D_OUT)
FNO(feq_d, D_IN, "feq.d %0, ft0, ft1", I_OUT)
FNO(flt_d, D_IN, "flt.d %0, ft0, ft1", I_OUT)
FNO(fle_d, D_IN, "fle.d %0, ft0, ft1", I_OUT)
FNO(fclass_d, D_IN, "fclass.d %0, ft0", I_OUT)
/* NaN boxing: a single read from a register whose upper half is not all
 * ones is the canonical NaN. fmv.d.x writes the raw 64 bits. */
FNO(unboxed_add_s, D_IN, "fadd.s ft3, ft0, ft1", D_OUT)
FNO(fmv_w_x_box, "", "fmv.w.x ft3, %2", D_OUT)
FNO(fsgnj_s_unboxed, D_IN, "fsgnj.s ft3, ft0, ft1", D_OUT)
FNO(fmv_x_w_unboxed, D_IN, "fmv.x.w %0, ft0", I_OUT)

enum kind { S1, S2, S3, D1, D2, D3, I1 };

struct op {
	const char *name;
	fop fn;
	enum kind k;
	int rounding;
};
#define R(n, k) { #n, n, k, 1 }
#define X(n, k) { #n, n, k, 0 }
static const struct op ops[] = {
	R(fadd_s, S2), R(fsub_s, S2), R(fmul_s, S2), R(fdiv_s, S2), R(fsqrt_s, S1),
	R(fmadd_s, S3), R(fmsub_s, S3), R(fnmadd_s, S3), R(fnmsub_s, S3),
	R(fcvt_w_s, S1), R(fcvt_wu_s, S1), R(fcvt_l_s, S1), R(fcvt_lu_s, S1),
	R(fcvt_s_w, I1), R(fcvt_s_wu, I1), R(fcvt_s_l, I1), R(fcvt_s_lu, I1),
	R(fadd_d, D2), R(fsub_d, D2), R(fmul_d, D2), R(fdiv_d, D2), R(fsqrt_d, D1),
	R(fmadd_d, D3), R(fmsub_d, D3), R(fnmadd_d, D3), R(fnmsub_d, D3),
	R(fcvt_w_d, D1), R(fcvt_wu_d, D1), R(fcvt_l_d, D1), R(fcvt_lu_d, D1),
	R(fcvt_d_l, I1), R(fcvt_d_lu, I1), R(fcvt_s_d, D1),
	X(fcvt_d_s, S1), X(fcvt_d_w, I1), X(fcvt_d_wu, I1),
	X(fsgnj_s, S2), X(fsgnjn_s, S2), X(fsgnjx_s, S2), X(fmin_s, S2), X(fmax_s, S2),
	X(feq_s, S2), X(flt_s, S2), X(fle_s, S2), X(fclass_s, S1),
	X(fsgnj_d, D2), X(fsgnjn_d, D2), X(fsgnjx_d, D2), X(fmin_d, D2), X(fmax_d, D2),
	X(feq_d, D2), X(flt_d, D2), X(fle_d, D2), X(fclass_d, D1),
};

static const char *const rm_names[] = { "rne", "rtz", "rdn", "rup", "rmm" };

static u64 mix(u64 h, u64 v)
{
	h ^= v;
	h = (h << 13) | (h >> 51);
	h += v ^ 0x9e3779b97f4a7c15UL;
	h ^= h >> 7;
	return h;
}

static void run(const struct op *o, int rm, const char *label)
{
	const u64 *v = iv;
	unsigned n = N(iv), arity = 1;
	switch (o->k) {
	case S1: case S2: case S3: v = sv; n = N(sv); break;
	case D1: case D2: case D3: v = dv; n = N(dv); break;
	case I1: break;
	}
	if (o->k == S2 || o->k == D2)
		arity = 2;
	if (o->k == S3 || o->k == D3)
		arity = 3;
	u64 h = 0, all = 0, fl;
	/* Triples use every 2nd value to keep the run short. */
	unsigned step = arity == 3 ? 2 : 1;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < (arity > 1 ? n : 1); j += step)
			for (unsigned k = 0; k < (arity > 2 ? n : 1); k += step) {
				u64 r = o->fn(v[i], v[j], v[k], rm, &fl);
				h = mix(mix(h, r), fl);
				all |= fl;
			}
	puts(o->name);
	putc(' ');
	puts(label);
	puts(" h=");
	put_u64(h);
	puts(" flags=");
	put_hex(all, 2);
	nl();
}

static void one(const char *what, fop fn, u64 a, u64 b, u64 c, int rm)
{
	u64 fl, r = fn(a, b, c, rm, &fl);
	puts(what);
	if (rm < 5) {
		putc(' ');
		puts(rm_names[rm]);
	}
	puts(" = ");
	put_u64(r);
	puts(" fflags=");
	put_hex(fl, 2);
	nl();
}

int main(void)
{
	for (unsigned o = 0; o < N(ops); o++) {
		if (!ops[o].rounding) {
			run(&ops[o], 0, "-");
			continue;
		}
		for (int rm = 0; rm < 5; rm++)
			run(&ops[o], rm, rm_names[rm]);
		/* Dynamic mode: frm selects; only every other mode to keep it short. */
		for (int rm = 0; rm < 5; rm += 2) {
			csr_write(frm, rm);
			char label[8] = "dyn:";
			label[4] = (char)('0' + rm);
			label[5] = 0;
			run(&ops[o], 5, label);
		}
		csr_write(frm, 0);
	}
	/* Raw edge cases. */
	for (int rm = 0; rm < 5; rm++) {
		one("1/3 s", fdiv_s, 0x3f800000, 0x40400000, 0, rm);
		one("1/3 d", fdiv_d, 0x3ff0000000000000UL, 0x4008000000000000UL, 0, rm);
		one("-1/3 d", fdiv_d, 0xbff0000000000000UL, 0x4008000000000000UL, 0, rm);
		one("sqrt2 d", fsqrt_d, 0x4000000000000000UL, 0, 0, rm);
		/* fma(a, a, -(a*a rounded)) is the exact rounding error. */
		one("fma err d", fmadd_d, 0x3ff0000000000001UL, 0x3ff0000000000001UL,
		    0xbff0000000000002UL, rm);
		one("fma err s", fmadd_s, 0x3f800001, 0x3f800001, 0xbf800002, rm);
		one("max+max d", fadd_d, 0x7fefffffffffffffUL, 0x7fefffffffffffffUL, 0, rm);
		one("tiny*tiny s", fmul_s, 0x00800000, 0x3f000001, 0, rm);
		one("2.5->w d", fcvt_w_d, 0x4004000000000000UL, 0, 0, rm);
		one("-2.5->w d", fcvt_w_d, 0xc004000000000000UL, 0, 0, rm);
		one("0.5->l s", fcvt_l_s, 0x3f000000, 0, 0, rm);
		one("2^53+1->d", fcvt_d_l, 0x20000000000001UL, 0, 0, rm);
		one("d->s round", fcvt_s_d, 0x3ff0000010000000UL, 0, 0, rm);
		one("1-1 d", fsub_d, 0x3ff0000000000000UL, 0x3ff0000000000000UL, 0, rm);
	}
	one("nan->w s", fcvt_w_s, 0x7fc00000, 0, 0, 0);
	one("-inf->wu d", fcvt_wu_d, 0xfff0000000000000UL, 0, 0, 0);
	one("-1->lu d", fcvt_lu_d, 0xbff0000000000000UL, 0, 0, 0);
	one("-0.5->wu d", fcvt_wu_d, 0xbfe0000000000000UL, 0, 0, 1);
	one("2^31->w s", fcvt_w_s, 0x4f000000, 0, 0, 0);
	one("fmin -0,+0 s", fmin_s, 0x80000000, 0x00000000, 0, 0);
	one("fmax -0,+0 d", fmax_d, 0x8000000000000000UL, 0, 0, 0);
	one("fmin snan,1 s", fmin_s, 0x7f800001, 0x3f800000, 0, 0);
	one("fmin qnan,qnan d", fmin_d, 0x7ff8000000000000UL, 0x7ff8000000000000UL, 0, 0);
	one("feq snan d", feq_d, 0x7ff0000000000001UL, 0, 0, 0);
	one("flt qnan s", flt_s, 0x7fc00000, 0, 0, 0);
	one("inf-inf d", fsub_d, 0x7ff0000000000000UL, 0x7ff0000000000000UL, 0, 0);
	one("0*inf+qnan d", fmadd_d, 0, 0x7ff0000000000000UL, 0x7ff8000000000000UL, 0);
	one("1/0 s", fdiv_s, 0x3f800000, 0, 0, 0);
	one("sqrt -1 d", fsqrt_d, 0xbff0000000000000UL, 0, 0, 0);
	one("snan->d", fcvt_d_s, 0x7f800001, 0, 0, 0);
	one("snan->s", fcvt_s_d, 0x7ff0000000000001UL, 0, 0, 0);
	one("unboxed add s", unboxed_add_s, 0x000000003f800000UL, 0xffffffff3f800000UL, 0, 0);
	one("fmv.w.x boxes", fmv_w_x_box, 0x3f800000, 0, 0, 0);
	one("fsgnj unboxed", fsgnj_s_unboxed, 0x123456783f800000UL, 0xffffffffbf800000UL, 0, 0);
	one("fmv.x.w", fmv_x_w_unboxed, 0x12345678bf800000UL, 0, 0, 0);
	/* fcsr: frm and fflags views. */
	csr_write(fcsr, 0xff);
	u64 frm = csr_read(frm), ff = csr_read(fflags);
	csr_write(fcsr, 0);
	kv("fcsr frm", frm);
	kv("fcsr fflags", ff);
	return 0;
}
