/* Sv39 and Sv48: the program builds its own tables (an identity gigapage
 * over RAM and a 4 KiB alias window), takes and prints page faults
 * (scause/stval), checks R/W/X/U/SUM/MXR rules, A/D bits, sfence.vma after
 * a remap, a misaligned superpage, and code on an alias page rewritten
 * after fence.i. On our hart this is VS-stage over the VMM's G-stage. */
#include "rt.h"

const char prog_name[] = "paging";

#define PTE_V 0x1UL
#define PTE_R 0x2UL
#define PTE_W 0x4UL
#define PTE_X 0x8UL
#define PTE_U 0x10UL
#define PTE_A 0x40UL
#define PTE_D 0x80UL
#define SSTATUS_SUM (1UL << 18)
#define SSTATUS_MXR (1UL << 19)

static u64 root39[512] __attribute__((aligned(4096)));
static u64 root48[512] __attribute__((aligned(4096)));
static u64 l2x[512] __attribute__((aligned(4096)));
static u64 l1[512] __attribute__((aligned(4096)));
static u64 l0[512] __attribute__((aligned(4096)));
static u8 pages[11][4096] __attribute__((aligned(4096)));
static u64 trap_stack[512] __attribute__((aligned(16)));
static u64 root_b[512] __attribute__((aligned(4096)));
static u64 l1_b[512] __attribute__((aligned(4096)));
static u64 l0_b[512] __attribute__((aligned(4096)));

#define WIN 0x40000000UL /* the alias window: l0 covers WIN .. WIN + 2 MiB */
#define VA(i) (WIN + (u64)(i) * 4096)

static u64 leaf(const void *pa, u64 flags) { return ((u64)pa >> 12) << 10 | flags | PTE_V; }
static u64 table(const void *pa) { return ((u64)pa >> 12) << 10 | PTE_V; }

static void sfence_all(void) { __asm__ volatile("sfence.vma zero, zero" ::: "memory"); }
static void sfence_va(u64 va) { __asm__ volatile("sfence.vma %0, zero" ::"r"(va) : "memory"); }

static u32 insn_at(u64 pc)
{
	const volatile u16 *p = (const volatile u16 *)pc;
	u32 lo = p[0];
	if ((lo & 3) != 3)
		return lo;
	return lo | ((u32)p[1] << 16);
}

static int ad_faults; /* counted, not printed: Svade vs hardware A/D */
/* A misaligned access that crosses into a faulting page may report the
 * access's own address or the first byte on the faulting page (both are
 * allowed); when set, print stval relative to this access instead. */
static u64 span_lo, span_hi;

void trap_handler(struct trap_frame *f)
{
	u64 cause = f->scause;
	if (cause == 8 && f->x[17] == USER_EXIT)
		user_resume(f->x[10]);
	/* The faulting code may sit on a U page: read it with SUM (sret
	 * restores the interrupted sstatus from the frame). */
	csr_set(sstatus, SSTATUS_SUM);
	if (cause == 12) {
		/* Fetch fault: we got here by a call, so return to the caller. */
		puts("fault scause=");
		put_u64(cause);
		puts(" stval=");
		put_u64(f->stval);
		nl();
		f->sepc = f->x[1];
		f->x[10] = 0xfa;
		return;
	}
	if (cause == 13 || cause == 15) {
		/* A hart without hardware A/D updating faults instead: set the
		 * bits as an OS would and retry, without printing. */
		u64 va = f->stval;
		if (va >= VA(3) && va < VA(4)) {
			u64 *pte = &l0[3];
			if ((*pte & PTE_V) && (!(*pte & PTE_A) || (cause == 15 && !(*pte & PTE_D)))) {
				*pte |= PTE_A | (cause == 15 ? PTE_D : 0);
				sfence_va(va);
				ad_faults++;
				return;
			}
		}
		puts("fault scause=");
		put_u64(cause);
		if (span_hi) {
			puts(f->stval >= span_lo && f->stval < span_hi ? " stval=in access" : " stval=OUTSIDE");
		} else {
			puts(" stval=");
			put_u64(f->stval);
		}
		puts((f->sstatus >> 8) & 1 ? "" : " from U");
		nl();
		u32 insn = insn_at(f->sepc);
		f->sepc += (insn & 3) == 3 ? 4 : 2;
		/* A faulting load leaves rd unchanged; mark it for the print. */
		if (cause == 13) {
			u32 rd = (insn & 3) == 3 ? (insn >> 7) & 31 : 0;
			if ((insn & 3) != 3)
				rd = 8 + ((insn >> 2) & 7); /* c.ld / c.lw rd' */
			if (rd)
				f->x[rd] = 0xbad;
		}
		return;
	}
	unexpected_trap(f);
}

static u64 load(u64 va)
{
	u64 v;
	__asm__ volatile(".option push\n\t.option norvc\n\tld %0, 0(%1)\n\t.option pop"
			 : "=r"(v)
			 : "r"(va)
			 : "memory");
	return v;
}
static void store(u64 va, u64 v)
{
	__asm__ volatile(".option push\n\t.option norvc\n\tsd %0, 0(%1)\n\t.option pop" ::"r"(v), "r"(va)
			 : "memory");
}
static u64 call(u64 va)
{
	register u64 a0 __asm__("a0") = 0;
	__asm__ volatile("jalr ra, 0(%1)" : "+r"(a0) : "r"(va) : "ra", "memory");
	return a0;
}

static void show(const char *k, u64 v) { kv(k, v); }

/* U-mode code for the user page (VA(11)): reads its data page, touches an S
 * page and a read-only U page (both fault), returns a0 + a2 via ecall. */
static const u32 user_code[] = {
	0x400092b7, /* lui t0, 0x40009      VA(9): user data */
	0x0002b503, /* ld a0, 0(t0) */
	0x40000337, /* lui t1, 0x40000      VA(0): a supervisor page */
	0x00033603, /* ld a2, 0(t1)         load page fault from U */
	0x00a2b423, /* sd a0, 8(t0) */
	0x4000a3b7, /* lui t2, 0x4000a      VA(10): user read-only */
	0x00a3b023, /* sd a0, 0(t2)         store page fault from U */
	0x00c50533, /* add a0, a0, a2 */
	0x000058b7, /* lui a7, 0x5 */
	0x55388893, /* addi a7, a7, 0x553   USER_EXIT */
	0x00000073, /* ecall */
};

static void build(void)
{
	/* Identity gigapage over RAM (0x80000000..0xbfffffff). */
	root39[2] = ((0x80000000UL >> 12) << 10) | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D | PTE_V;
	root39[1] = table(l1);
	l1[0] = table(l0);
	/* A 2 MiB leaf whose PPN is not 2 MiB aligned: must fault. */
	l1[1] = ((0x80201000UL >> 12) << 10) | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
	l0[0] = leaf(pages[0], PTE_R | PTE_W | PTE_A | PTE_D);
	l0[1] = leaf(pages[1], PTE_R | PTE_A);
	l0[2] = 0; /* invalid */
	l0[3] = leaf(pages[3], PTE_R | PTE_W);         /* A and D clear */
	l0[4] = leaf(pages[4], PTE_X | PTE_A);         /* execute only */
	l0[5] = leaf(pages[5], PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
	l0[6] = leaf(pages[6], PTE_R | PTE_W | PTE_A | PTE_D); /* not executable */
	l0[7] = leaf(pages[7], PTE_R | PTE_X | PTE_A);
	l0[8] = leaf(pages[2], PTE_W | PTE_A | PTE_D); /* W without R: reserved */
	l0[9] = leaf(pages[8], PTE_R | PTE_W | PTE_U | PTE_A | PTE_D); /* user data */
	l0[10] = leaf(pages[9], PTE_R | PTE_U | PTE_A);                /* user read-only */
	l0[11] = leaf(pages[10], PTE_R | PTE_X | PTE_U | PTE_A);       /* user code */
	/* Sv48: the Sv39 root serves as the level-2 table for VA < 512 GiB;
	 * a second level-2 table reaches the same window at 1 << 39. */
	root48[0] = table(root39);
	root48[1] = table(l2x);
	l2x[1] = table(l1);
}

static void tests(const char *mode)
{
	puts("== ");
	puts(mode);
	nl();
	u64 *p0 = (u64 *)pages[0];
	p0[0] = 0x1111222233334444UL;
	show("alias read", load(VA(0)));
	store(VA(0) + 8, 0xaaaabbbbccccddddUL);
	show("identity sees alias write", p0[1]);
	/* Remap the alias to another page: after sfence.vma it reads there. */
	((u64 *)pages[1])[0] = 0x5555666677778888UL;
	l0[0] = leaf(pages[1], PTE_R | PTE_W | PTE_A | PTE_D);
	sfence_va(VA(0));
	show("after remap", load(VA(0)));
	l0[0] = leaf(pages[0], PTE_R | PTE_W | PTE_A | PTE_D);
	sfence_all();
	show("read-only page", load(VA(1)));
	store(VA(1), 1); /* store page fault */
	show("invalid", load(VA(2) + 0x10));
	/* A and D. */
	l0[3] = leaf(pages[3], PTE_R | PTE_W);
	sfence_all();
	((u64 *)pages[3])[0] = 0x3333;
	show("ad read", load(VA(3)));
	show("ad bits after read", l0[3] & (PTE_A | PTE_D));
	store(VA(3), 0x4444);
	show("ad bits after write", l0[3] & (PTE_A | PTE_D));
	show("ad page", ((u64 *)pages[3])[0]);
	/* Execute-only: loads fault unless sstatus.MXR. */
	show("x-only load", load(VA(4)));
	csr_set(sstatus, SSTATUS_MXR);
	((u64 *)pages[4])[0] = 0x4444444444444444UL;
	show("x-only load with MXR", load(VA(4)));
	csr_clear(sstatus, SSTATUS_MXR);
	/* U page from S: faults unless sstatus.SUM. */
	((u64 *)pages[5])[0] = 0x5555;
	show("user page", load(VA(5)));
	csr_set(sstatus, SSTATUS_SUM);
	show("user page with SUM", load(VA(5)));
	csr_clear(sstatus, SSTATUS_SUM);
	/* Fetch from a non-executable page. */
	u32 *code6 = (u32 *)pages[6];
	code6[0] = 0x02a00513; /* li a0, 42 */
	code6[1] = 0x00008067; /* ret */
	__asm__ volatile("fence.i" ::: "memory");
	show("call nx page", call(VA(6)));
	/* Code on an executable alias, then rewritten through the identity
	 * map: fence.i makes the new code visible. */
	u32 *code7 = (u32 *)pages[7];
	code7[0] = 0x02a00513; /* li a0, 42 */
	code7[1] = 0x00008067;
	__asm__ volatile("fence.i" ::: "memory");
	show("call x page", call(VA(7)));
	code7[0] = 0x02b00513; /* li a0, 43 */
	__asm__ volatile("fence.i" ::: "memory");
	show("call x page rewritten", call(VA(7)));
	store(VA(7), 0); /* read+exec page: store fault */
	show("W without R", load(VA(8)));
	show("misaligned superpage", load(WIN + 0x200000));
	show("unmapped", load(0x20000000UL));
	/* A 2 MiB leaf over RAM at 0x80400000 (on our hart the G-stage maps
	 * it with 4 KiB pages, not contiguous in host memory). */
	l1[2] = ((0x80400000UL >> 12) << 10) | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
	sfence_all();
	for (u64 off = 0; off < 0x200000; off += 0x40000)
		*(volatile u64 *)(0x80400000UL + off + 0x1238) = 0x5a5a000000000000UL | off;
	u64 sum = 0;
	for (u64 off = 0; off < 0x200000; off += 0x40000)
		sum = sum * 31 + load(WIN + 0x400000 + off + 0x1238);
	show("megapage reads", sum);
	store(WIN + 0x400000 + 0x1fff00, 0x77);
	show("megapage write lands", *(volatile u64 *)(0x80400000UL + 0x1fff00));
	/* Misaligned accesses across pages: two translations, and a fault
	 * on the second page. */
	for (int i = 0; i < 8; i++) {
		pages[0][4088 + i] = (u8)(0xa0 + i);
		pages[1][i] = (u8)(0xb0 + i);
	}
	show("ld across alias pages", load(VA(0) + 4092));
	span_lo = VA(1) + 4092;
	span_hi = span_lo + 8;
	show("ld into invalid page", load(span_lo));
	span_lo = VA(0) + 4093;
	span_hi = span_lo + 8;
	store(span_lo, 0); /* the second page is read-only */
	span_hi = 0;
	/* U-mode over the same tables. */
	((u64 *)pages[8])[0] = 0x1000;
	memcpy(pages[10], user_code, sizeof(user_code));
	__asm__ volatile("fence.i" ::: "memory");
	/* The U code never touches sp; the trap entry runs on it, so it must be
	 * a supervisor-writable stack. */
	show("user returned", run_user((void (*)(void))VA(11), (u64)&trap_stack[512]));
	show("user store landed", ((u64 *)pages[8])[1]);
}

int main(void)
{
	build();
	u64 satp39 = (8UL << 60) | ((u64)root39 >> 12);
	csr_write(satp, satp39);
	sfence_all();
	show("satp mode", csr_read(satp) >> 60);
	tests("sv39");
	/* ASIDs: a second root (ASID 2) maps the window's page 0 elsewhere.
	 * ASID 2 was never used, so no sfence is needed to see its mapping,
	 * and ASID 1's translation must not leak into it (or back). */
	for (int i = 0; i < 512; i++)
		root_b[i] = root39[i];
	root_b[1] = table(l1_b);
	l1_b[0] = table(l0_b);
	l0_b[0] = leaf(pages[1], PTE_R | PTE_W | PTE_A | PTE_D);
	((u64 *)pages[0])[0] = 0xa5a1;
	((u64 *)pages[1])[0] = 0xa5a2;
	csr_write(satp, satp39 | (1UL << 44));
	sfence_all();
	show("asid 1 sees", load(VA(0)));
	csr_write(satp, (8UL << 60) | (2UL << 44) | ((u64)root_b >> 12));
	show("asid 2 sees", load(VA(0)));
	csr_write(satp, satp39 | (1UL << 44));
	show("asid 1 again", load(VA(0)));
	csr_write(satp, satp39);
	sfence_all();
	/* Above the Sv39 range the address is not canonical: a page fault. */
	show("sv39 non-canonical", load(0x8040000000UL));
	csr_write(satp, 0);
	sfence_all();
	u64 satp48 = (9UL << 60) | ((u64)root48 >> 12);
	csr_write(satp, satp48);
	sfence_all();
	u64 mode = csr_read(satp) >> 60;
	show("satp mode", mode);
	if (mode == 9) {
		tests("sv48");
		show("sv48 high window", load(0x8040000000UL));
		show("sv48 non-canonical", load(0x0001000000000000UL));
	}
	csr_write(satp, 0);
	sfence_all();
	show("bare again", load((u64)pages[0]));
	(void)ad_faults;
	return 0;
}
