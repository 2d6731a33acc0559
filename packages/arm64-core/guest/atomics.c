/*
 * Exclusives (LDXR/STXR, acquire/release forms, pairs, CLREX, monitor
 * rules), LDAR/STLR, and the Armv8.1 LSE atomics: CAS, CASP, LD<op>, SWP
 * in every size. QEMU runs it on -cpu cortex-a76 (which has LSE).
 */
#include "rt.h"

static u64 buf[8] __attribute__((aligned(64)));

static u64 h;
static void mix(u64 v)
{
	h ^= v;
	h *= 0x100000001b3ull;
	h ^= h >> 31;
}

static void exclusives(void)
{
	u64 st, v;
	buf[0] = 5;
	for (int i = 0; i < 10; i++) {
		asm volatile("1:\tldxr %0, [%2]\n\tadd %0, %0, #3\n\tstxr %w1, %0, [%2]\n\tcbnz %w1, 1b"
			     : "=&r"(v), "=&r"(st) : "r"(buf) : "memory");
	}
	put_hex("ldxr_loop", buf[0]);
	asm volatile("1:\tldaxrb %w0, [%2]\n\tadd %w0, %w0, #200\n\tstlxrb %w1, %w0, [%2]\n\tcbnz %w1, 1b"
		     : "=&r"(v), "=&r"(st) : "r"(buf) : "memory");
	asm volatile("1:\tldxrh %w0, [%2]\n\tsub %w0, %w0, #1\n\tstxrh %w1, %w0, [%2]\n\tcbnz %w1, 1b"
		     : "=&r"(v), "=&r"(st) : "r"((u8 *)buf + 2) : "memory");
	asm volatile("1:\tldaxr %w0, [%2]\n\teor %w0, %w0, #0xf0f0f0f0\n\tstlxr %w1, %w0, [%2]\n\tcbnz %w1, 1b"
		     : "=&r"(v), "=&r"(st) : "r"((u8 *)buf + 4) : "memory");
	put_hex("sizes", buf[0]);

	/* STXR with no LDXR before it fails. */
	asm volatile("clrex\n\tstxr %w0, %2, [%1]" : "=&r"(st) : "r"(buf + 1), "r"(0x77ull) : "memory");
	put_hex("stxr_no_monitor", st);
	put_hex("stxr_no_monitor_mem", buf[1]);
	/* CLREX between them: fails. */
	asm volatile("ldxr %0, [%2]\n\tclrex\n\tstxr %w1, %3, [%2]"
		     : "=&r"(v), "=&r"(st) : "r"(buf + 1), "r"(0x88ull) : "memory");
	put_hex("stxr_after_clrex", st);
	/* A different address: fails. */
	asm volatile("ldxr %0, [%2]\n\tstxr %w1, %3, [%4]"
		     : "=&r"(v), "=&r"(st) : "r"(buf + 1), "r"(0x99ull), "r"(buf + 2) : "memory");
	put_hex("stxr_other_addr", st);
	put_hex("stxr_other_addr_mem", buf[2]);
	/* Another store changed the value in between: fails. */
	asm volatile("ldxr %0, [%2]\n\tadd %0, %0, #1\n\tstr %0, [%2]\n\tstxr %w1, %3, [%2]"
		     : "=&r"(v), "=&r"(st) : "r"(buf + 1), "r"(0xaaull) : "memory");
	put_hex("stxr_after_store", st);
	put_hex("stxr_after_store_mem", buf[1]);
	/* Success, then a second STXR without a new LDXR fails. */
	u64 st2;
	asm volatile("ldxr %0, [%3]\n\tstxr %w1, %4, [%3]\n\tstxr %w2, %4, [%3]"
		     : "=&r"(v), "=&r"(st), "=&r"(st2) : "r"(buf + 1), "r"(0xbbull) : "memory");
	put_hex("stxr_ok", st);
	put_hex("stxr_again", st2);
	/* Pairs. */
	buf[2] = 0x1111111122222222ull;
	buf[3] = 0x3333333344444444ull;
	u64 a, b;
	asm volatile("1:\tldaxp %0, %1, [%3]\n\tadd %0, %0, #1\n\tsub %1, %1, #1\n\tstlxp %w2, %1, %0, [%3]\n\tcbnz %w2, 1b"
		     : "=&r"(a), "=&r"(b), "=&r"(st) : "r"(buf + 2) : "memory");
	put_hex("ldxp_a", buf[2]);
	put_hex("ldxp_b", buf[3]);
	asm volatile("1:\tldxp %w0, %w1, [%3]\n\tstxp %w2, %w1, %w0, [%3]\n\tcbnz %w2, 1b"
		     : "=&r"(a), "=&r"(b), "=&r"(st) : "r"(buf + 2) : "memory");
	put_hex("ldxp_w", buf[2]);
	/* LDAR/STLR. */
	asm volatile("stlr %1, [%0]\n\tstlrb %w1, [%2]" :: "r"(buf + 4), "r"(0xdeadbeefcafebabeull), "r"(buf + 5) : "memory");
	asm volatile("ldar %w0, [%1]" : "=r"(v) : "r"(buf + 4));
	put_hex("ldar_w", v);
	asm volatile("ldarh %w0, [%1]" : "=r"(v) : "r"(buf + 5));
	put_hex("ldarh", v);
	/* Unaligned exclusives take an alignment fault (DFSC 0x21). */
	skip_on_trap = 1;
	traps = 0;
	asm volatile("ldxr %0, [%1]" : "=r"(v) : "r"((u8 *)buf + 4) : "memory");
	put_hex("unaligned_ldxr_esr", last_esr);
	put_hex("unaligned_ldxr_far_off", last_far - (u64)buf);
	skip_on_trap = 0;
}

#define CAS(insn, sz, mask)                                                              \
	do {                                                                             \
		u64 old = buf[0] & mask;                                                 \
		u64 cmp = old, nv = 0x0123456789abcdefull & mask;                        \
		asm volatile(insn " %" sz "0, %" sz "2, [%1]" : "+r"(cmp) : "r"(buf), "r"(nv) : "memory"); \
		mix(cmp); mix(buf[0]);                                                   \
		cmp = 5;                                                                 \
		asm volatile(insn " %" sz "0, %" sz "2, [%1]" : "+r"(cmp) : "r"(buf), "r"(old) : "memory"); \
		mix(cmp); mix(buf[0]);                                                   \
	} while (0)

#define LDOP(insn, sz, operand)                                                          \
	do {                                                                             \
		u64 o;                                                                   \
		asm volatile(insn " %" sz "1, %" sz "0, [%2]" : "=&r"(o) : "r"((u64)(operand)), "r"(buf) : "memory"); \
		mix(o); mix(buf[0]);                                                     \
	} while (0)

static void lse(void)
{
	h = 0;
	buf[0] = 0x8877665544332211ull;
	CAS("casb", "w", 0xff);
	CAS("cash", "w", 0xffff);
	CAS("casal", "w", 0xffffffff);
	CAS("casa", "", ~0ull);
	CAS("casl", "", ~0ull);
	CAS("caslb", "w", 0xff);
	CAS("casah", "w", 0xffff);
	put_hex("cas", h);
	h = 0;
	{
		register u64 x0 asm("x0") = buf[0];
		register u64 x1 asm("x1") = buf[1];
		register u64 x2 asm("x2") = 0xaaaa;
		register u64 x3 asm("x3") = 0xbbbb;
		asm volatile("casp x0, x1, x2, x3, [%4]" : "+r"(x0), "+r"(x1) : "r"(x2), "r"(x3), "r"(buf) : "memory");
		mix(x0); mix(x1); mix(buf[0]); mix(buf[1]);
		asm volatile("caspal w0, w1, w2, w3, [%4]" : "+r"(x0), "+r"(x1) : "r"(x2), "r"(x3), "r"(buf) : "memory");
		mix(x0); mix(x1); mix(buf[0]); mix(buf[1]);
	}
	put_hex("casp", h);
	u64 vals[] = {0x7f, 0x80, 0xffffffffffffff00ull, 0x8000000000000001ull, 0x12345678, 0xfffe};
	for (int i = 0; i < 6; i++) {
		h = 0;
		u64 s = vals[i];
		buf[0] = 0x80ff7f0180007fffull;
		LDOP("ldaddb", "w", s); LDOP("ldaddh", "w", s); LDOP("ldadd", "w", s); LDOP("ldaddal", "", s);
		LDOP("ldclrb", "w", s); LDOP("ldclrh", "w", s); LDOP("ldclra", "w", s); LDOP("ldclrl", "", s);
		LDOP("ldeorb", "w", s); LDOP("ldeorlh", "w", s); LDOP("ldeor", "w", s); LDOP("ldeor", "", s);
		LDOP("ldsetb", "w", s); LDOP("ldseth", "w", s); LDOP("ldset", "w", s); LDOP("ldsetal", "", s);
		LDOP("ldsmaxb", "w", s); LDOP("ldsmaxh", "w", s); LDOP("ldsmax", "w", s); LDOP("ldsmax", "", s);
		LDOP("ldsminb", "w", s); LDOP("ldsminh", "w", s); LDOP("ldsmin", "w", s); LDOP("ldsmin", "", s);
		LDOP("ldumaxb", "w", s); LDOP("ldumaxh", "w", s); LDOP("ldumax", "w", s); LDOP("ldumax", "", s);
		LDOP("lduminb", "w", s); LDOP("lduminh", "w", s); LDOP("ldumin", "w", s); LDOP("ldumin", "", s);
		LDOP("swpb", "w", s); LDOP("swph", "w", s); LDOP("swpal", "w", s); LDOP("swp", "", s);
		asm volatile("stadd %0, [%1]\n\tstclrb %w0, [%1]\n\tstsmaxh %w0, [%1]" :: "r"(s), "r"(buf) : "memory");
		mix(buf[0]);
		put_hex("ldop", h);
	}
}

int main(void)
{
	start("atomics");
	exclusives();
	lse();
	finish();
	return 0;
}
