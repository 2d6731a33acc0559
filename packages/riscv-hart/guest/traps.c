/* Traps taken at stvec: illegal instructions (S and U), ebreak/c.ebreak,
 * ecall from U-mode, misaligned loads/stores (emulated here if the hart
 * traps them, so the printed values do not depend on whether it does),
 * misaligned AMO/LR, and the sepc/stvec/sscratch CSR rules. */
#include "rt.h"

const char prog_name[] = "traps";

void user_body(void);
void illegal_ops(void);

static u64 u_stack[256] __attribute__((aligned(16)));
static u8 buf[64] __attribute__((aligned(64)));

static u32 insn_at(u64 pc)
{
	const volatile u16 *p = (const volatile u16 *)pc;
	u32 lo = p[0];
	if ((lo & 3) != 3)
		return lo;
	return lo | ((u32)p[1] << 16);
}

static int insn_len(u32 insn) { return (insn & 3) == 3 ? 4 : 2; }

/* Emulate a misaligned 32-bit load/store with byte accesses, as SBI
 * firmware does. Returns 0 when the instruction is not one. */
static int emulate_misaligned(struct trap_frame *f, u32 insn)
{
	u32 opc = insn & 0x7f, f3 = (insn >> 12) & 7;
	volatile u8 *a = (volatile u8 *)f->stval;
	if (opc == 0x03) {
		static const int sizes[8] = { 1, 2, 4, 8, 1, 2, 4, 0 };
		int n = sizes[f3];
		if (!n)
			return 0;
		u64 v = 0;
		for (int i = 0; i < n; i++)
			v |= (u64)a[i] << (8 * i);
		if (f3 < 4 && n < 8) {
			int sh = 64 - 8 * n;
			v = (u64)((i64)(v << sh) >> sh);
		}
		u32 rd = (insn >> 7) & 31;
		if (rd)
			f->x[rd] = v;
		return 1;
	}
	if (opc == 0x23 && f3 < 4) {
		int n = 1 << f3;
		u64 v = f->x[(insn >> 20) & 31];
		for (int i = 0; i < n; i++)
			a[i] = (u8)(v >> (8 * i));
		return 1;
	}
	return 0;
}

static int quiet; /* misaligned traps are not printed: hart dependent */

void trap_handler(struct trap_frame *f)
{
	u64 cause = f->scause;
	u32 insn = insn_at(f->sepc);
	if (cause == 8 && f->x[17] == USER_EXIT)
		user_resume(f->x[10]);
	if ((cause == 4 || cause == 6) && quiet && emulate_misaligned(f, insn)) {
		f->sepc += insn_len(insn);
		return;
	}
	/* A misaligned AMO may raise load- or store/AMO-misaligned (QEMU 7.2
	 * raises load-misaligned, the spec says store/AMO) or, where the hart
	 * cannot do it, the matching access fault: print the class only. */
	if ((insn & 0x7f) == 0x2f && cause >= 4 && cause <= 7) {
		puts("trap amo/lr ");
		puts(cause == 4 || cause == 6 ? "misaligned" : "access-fault");
	} else {
		puts("trap scause=");
		put_u64(cause);
	}
	puts(" spp=");
	put_dec((f->sstatus >> 8) & 1);
	switch (cause) {
	case 2:
		/* stval is 0 or the instruction bits (the spec allows either). */
		puts(f->stval == 0 || f->stval == insn ? " stval=ok" : " stval=BAD");
		puts(" insn=");
		put_u32(insn);
		break;
	case 3:
		/* ebreak: stval is 0 or the pc. */
		puts(f->stval == 0 || f->stval == f->sepc ? " stval=ok" : " stval=BAD");
		puts(" len=");
		put_dec(insn_len(insn));
		break;
	case 8:
		puts(" a0=");
		put_u64(f->x[10]);
		puts(" a1=");
		put_u64(f->x[11]);
		puts(" a7=");
		put_u64(f->x[17]);
		f->x[10] += f->x[11];
		break;
	case 4:
	case 5:
	case 6:
	case 7:
		puts(" stval-buf=");
		put_u64(f->stval - (u64)buf);
		break;
	default:
		puts(" stval=");
		put_u64(f->stval);
	}
	nl();
	f->sepc += insn_len(insn);
}

static u64 ld_at(u64 off)
{
	u64 v;
	__asm__ volatile(".option push\n\t.option norvc\n\tld %0, 0(%1)\n\t.option pop"
			 : "=r"(v)
			 : "r"(buf + off)
			 : "memory");
	return v;
}
static u64 lw_at(u64 off)
{
	u64 v;
	__asm__ volatile(".option push\n\t.option norvc\n\tlw %0, 0(%1)\n\t.option pop"
			 : "=r"(v)
			 : "r"(buf + off)
			 : "memory");
	return v;
}
static u64 lhu_at(u64 off)
{
	u64 v;
	__asm__ volatile(".option push\n\t.option norvc\n\tlhu %0, 0(%1)\n\t.option pop"
			 : "=r"(v)
			 : "r"(buf + off)
			 : "memory");
	return v;
}
static void sd_at(u64 off, u64 v)
{
	__asm__ volatile(".option push\n\t.option norvc\n\tsd %0, 0(%1)\n\t.option pop"
			 :
			 : "r"(v), "r"(buf + off)
			 : "memory");
}
static void sw_at(u64 off, u64 v)
{
	__asm__ volatile(".option push\n\t.option norvc\n\tsw %0, 0(%1)\n\t.option pop"
			 :
			 : "r"(v), "r"(buf + off)
			 : "memory");
}

/* Run one instruction word from a RAM trampoline (followed by ret). */
static u32 tramp[4] __attribute__((aligned(16)));
static void exec_word(u32 w, int len)
{
	u16 *h = (u16 *)tramp;
	h[0] = (u16)w;
	int i = 1;
	if (len == 4)
		h[i++] = (u16)(w >> 16);
	h[i++] = 0x8082; /* c.jr ra */
	__asm__ volatile("fence.i" ::: "memory");
	((void (*)(void))tramp)();
}

/* Reserved and illegal encodings the decoder must refuse. */
static const struct {
	u32 w;
	int len;
} bad[] = {
	{ 0x0004, 2 },     /* c.addi4spn with nzuimm = 0 */
	{ 0x6081, 2 },     /* c.lui x1, 0 */
	{ 0x6101, 2 },     /* c.addi16sp 0 */
	{ 0x8002, 2 },     /* c.jr x0 */
	{ 0x4002, 2 },     /* c.lwsp x0 */
	{ 0x6002, 2 },     /* c.ldsp x0 */
	{ 0x0020d053, 4 }, /* fadd.s with reserved rm 5 */
	{ 0x0020e053, 4 }, /* fadd.s with reserved rm 6 */
	{ 0x04109093, 4 }, /* slli with imm[11:6] != 0 */
	{ 0x4210d09b, 4 }, /* sraiw with shamt[5] set */
	{ 0x0210909b, 4 }, /* slliw with shamt[5] set */
	{ 0x04208033, 4 }, /* OP with funct7 = 0x02 */
	{ 0x7ff02573, 4 }, /* csrr a0, 0x7ff (no such CSR) */
	{ 0x0000200f, 4 }, /* MISC-MEM funct3 = 2 (not a fence) */
	{ 0x0000707b, 4 }, /* custom-3 opcode */
};

int main(void)
{
	kv("stvec", csr_read(stvec) & 3);
	puts("-- illegal and ebreak in S\n");
	illegal_ops();
	puts("-- stvec vectored: exceptions still go to BASE\n");
	u64 base = csr_read(stvec);
	csr_write(stvec, base | 1);
	kv("stvec mode", csr_read(stvec) & 3);
	__asm__ volatile("ebreak");
	csr_write(stvec, base);
	puts("-- U mode\n");
	u64 r = run_user(user_body, (u64)&u_stack[256]);
	kv("user returned", r);
	kv("spp after U trap", (csr_read(sstatus) >> 8) & 1);
	puts("-- misaligned loads and stores\n");
	for (int i = 0; i < 64; i++)
		buf[i] = (u8)(0x80 + i * 3);
	quiet = 1;
	for (u64 off = 1; off < 8; off++) {
		kv("ld", ld_at(off));
		kv("lw", lw_at(off + 8));
		kv("lhu", lhu_at(off + 16));
	}
	sd_at(33, 0x1122334455667788UL);
	sw_at(45, 0xa1b2c3d4);
	quiet = 0;
	kv("after sd", ld_at(32));
	kv("after sd", ld_at(40));
	kv("after sw", ld_at(48) & 0xffffffffff);
	puts("-- misaligned atomics trap\n");
	u64 old = 0x55;
	__asm__ volatile("amoadd.w %0, %1, (%2)" : "+r"(old) : "r"(1UL), "r"(buf + 2) : "memory");
	kv("amo rd unchanged", old);
	__asm__ volatile("amoswap.d %0, %1, (%2)" : "+r"(old) : "r"(1UL), "r"(buf + 4) : "memory");
	__asm__ volatile("lr.d %0, (%1)" : "+r"(old) : "r"(buf + 12) : "memory");
	puts("-- reserved encodings\n");
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		exec_word(bad[i].w, bad[i].len);
	puts("-- FP with dynamic rm = 5 and with FS off\n");
	csr_write(frm, 5);
	exec_word(0x00207053, 4); /* fadd.s f0, f0, f2, dyn */
	csr_write(frm, 0);
	csr_clear(sstatus, 0x6000UL);
	kv("sstatus.fs", (csr_read(sstatus) >> 13) & 3);
	exec_word(0x00207053, 4);
	exec_word(0xe0000553, 4); /* fmv.x.w a0, f0 */
	exec_word(0x00202573, 4); /* frrm a0 (fcsr access with FS off) */
	csr_set(sstatus, 0x2000UL);
	exec_word(0x00207053, 4);
	kv("sstatus.fs after FP op", (csr_read(sstatus) >> 13) & 3);
	kv("sstatus.sd", csr_read(sstatus) >> 63);
	puts("-- CSR rules\n");
	csr_write(sepc, 0x80200002UL); /* bit 1 is writable with C */
	kv("sepc", csr_read(sepc));
	csr_write(sscratch, 0xdeadbeefcafef00dUL);
	kv("sscratch", csr_read(sscratch));
	u64 old_scratch;
	__asm__ volatile("csrrw %0, sscratch, %1" : "=r"(old_scratch) : "r"(7UL));
	kv("csrrw old", old_scratch);
	kv("sscratch", csr_read(sscratch));
	__asm__ volatile("csrrsi %0, sscratch, 0x18" : "=r"(old_scratch));
	kv("csrrsi", csr_read(sscratch));
	__asm__ volatile("csrrci %0, sscratch, 0x3" : "=r"(old_scratch));
	kv("csrrci", csr_read(sscratch));
	kv("sstatus.uxl", (csr_read(sstatus) >> 32) & 3);
	kv("sstatus.sum", (csr_read(sstatus) >> 18) & 1);
	return 0;
}
