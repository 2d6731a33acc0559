/* The F/D operations shared by fp.c and random.c: each op moves its inputs
 * from integer registers, runs one instruction with the chosen rounding
 * mode (0-4 static, 5 = dyn) and returns the result bits and fflags. */
#ifndef FP_OPS_H
#define FP_OPS_H
#include "rt.h"

#define N(a) (sizeof(a) / sizeof(a[0]))
static const char *const rm_names[] = { "rne", "rtz", "rdn", "rup", "rmm" };

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
	__attribute__((unused)) static u64 name(u64 a, u64 b, u64 c, int rm, u64 *flags) \
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
	__attribute__((unused)) static u64 name(u64 a, u64 b, u64 c, int rm, u64 *flags) \
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

#endif
