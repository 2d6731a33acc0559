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

#include "fp-ops.h"


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
