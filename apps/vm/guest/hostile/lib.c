/* Helpers shared by the hostile guests; see lib.h. */
#include "lib.h"

u64 rd(u64 a, int width) {
	switch (width) {
	case 1: return rd8(a);
	case 2: return rd16(a);
	case 4: return rd32(a);
	default: return rd64(a);
	}
}

void wr(u64 a, int width, u64 v) {
	switch (width) {
	case 1: wr8(a, (u8)v); break;
	case 2: wr16(a, (u16)v); break;
	case 4: wr32(a, (u32)v); break;
	default: wr64(a, v); break;
	}
}

static void putc_raw(char c) {
	while (!(rd8(UART0 + 5) & 0x20)) {}
	wr8(UART0, (u8)c);
}

void puts_raw(const char *s) {
	for (; *s; s++) putc_raw(*s);
}

void puthex(u64 v, int digits) {
	char buf[17];
	for (int i = digits - 1; i >= 0; i--, v >>= 4) buf[i] = "0123456789abcdef"[v & 15];
	buf[digits] = 0;
	puts_raw(buf);
}

void putdec(u64 v) {
	char buf[21];
	int i = 20;
	buf[i] = 0;
	do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
	puts_raw(&buf[i]);
}

void putkv(const char *label, u64 v) {
	int digits = 1;
	while (digits < 16 && (v >> (4 * digits))) digits++;
	puts_raw(label);
	puts_raw(" 0x");
	puthex(v, digits);
	puts_raw("\n");
}

struct sbiret sbi_call6(u64 ext, u64 fid, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5) {
	register u64 r0 asm("a0") = a0;
	register u64 r1 asm("a1") = a1;
	register u64 r2 asm("a2") = a2;
	register u64 r3 asm("a3") = a3;
	register u64 r4 asm("a4") = a4;
	register u64 r5 asm("a5") = a5;
	register u64 r6 asm("a6") = fid;
	register u64 r7 asm("a7") = ext;
	asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7) : "memory");
	return (struct sbiret){ (long)r0, (long)r1 };
}

void shutdown(int failure) {
	sbi_call(SBI_EXT_SRST, 0, 0, failure ? 1 : 0, 0);
	for (;;) asm volatile("wfi");
}

void fail(const char *what) {
	puts_raw("FAIL: ");
	puts_raw(what);
	puts_raw("\n");
	shutdown(1);
}

void check(int ok, const char *what) {
	if (!ok) fail(what);
}

u32 find_gpu(void) {
	for (u32 d = 0; d < 32; d++) {
		u32 id = rd32(cfg(d, 0, 0));
		if ((id & 0xffff) == GPU_VENDOR && (id >> 16) == GPU_DEVICE) return d;
	}
	fail("no sample GPU on the PCI bus");
}

void bar_set(u32 dev, u32 bar, u64 addr) {
	u64 off = cfg(dev, 0, 0x10 + bar * 4);
	u32 lo = rd32(off);
	wr32(off, (u32)addr);
	if (lo & 4) wr32(off + 4, (u32)(addr >> 32));
}

void gpu_enable(u32 dev, u64 regs, u64 vram) {
	bar_set(dev, 0, regs);
	bar_set(dev, 2, vram);
	wr16(cfg(dev, 0, 4), 0x6);
}

static u64 rand_state = 1;

void rand_seed(u64 seed) { rand_state = seed ? seed : 1; }

u64 rand64(void) {
	rand_state ^= rand_state >> 12;
	rand_state ^= rand_state << 25;
	rand_state ^= rand_state >> 27;
	return rand_state * 0x2545f4914f6cdd1dull;
}

void *memset(void *d, int c, unsigned long n) {
	volatile u8 *p = d;
	while (n--) *p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, unsigned long n) {
	volatile u8 *p = d;
	const u8 *q = s;
	while (n--) *p++ = *q++;
	return d;
}

/* Weak defaults; a guest that takes interrupts or starts harts defines its own. */
__attribute__((weak)) void trap_handler(u64 cause, u64 tval) {
	puts_raw("unexpected trap scause=");
	puthex(cause, 16);
	puts_raw(" stval=");
	puthex(tval, 16);
	puts_raw("\n");
	shutdown(1);
}

__attribute__((weak)) void secondary_main(void) {
	sbi_call(SBI_EXT_HSM, 1, 0, 0, 0);
}
