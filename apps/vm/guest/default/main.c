/*
 * The default guest of tsvirt's VMM: a bare-metal S-mode program (a VS-mode
 * guest under KVM) that exercises the board end to end. It prints on the
 * 16550 UART, finds the sample GPU by walking PCI config space, assigns its
 * BARs, sets a display mode, draws into VRAM directly, submits DMA FILL /
 * COPY / FENCE commands and waits for the completion interrupt, starts the other harts with SBI HSM and has each report in, then
 * shuts the VM down with SBI SRST. The completion interrupt comes through
 * whichever interrupt controller the device tree describes: the PLIC (the
 * GPU's INTx) or, with "riscv,imsics", the hart's IMSIC file (the GPU's MSI,
 * written to the IMSIC page; claimed through the stopei CSR). Any failure shuts down with reason
 * "system failure", so the VMM exits non-zero.
 */
#include <stdint.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;

/* Board (apps/vm/src/board/layout.ts) */
#define UART0 0x10000000UL
#define PLIC 0x0c000000UL
#define ECAM 0x30000000UL
#define MMIO32_BASE 0x40000000UL
#define MMIO64_BASE 0x400000000UL
#define PCIE_IRQ_BASE 0x20
#define IMSIC_S 0x28000000UL /* S-level IMSIC pages, 4 KiB per hart */
#define GPU_MSI_ID 3 /* the IMSIC identity the GPU's MSI carries (1 is Linux's IPI) */

/* Sample GPU (packages/sample-vendor-gpu/SPEC.md) */
#define GPU_VENDOR 0x7e57
#define GPU_DEVICE 0x0001
#define GPU_ID 0x000
#define GPU_VRAM_SIZE 0x004
#define GPU_MODE_WIDTH 0x010
#define GPU_MODE_HEIGHT 0x014
#define GPU_MODE_STRIDE 0x018
#define GPU_MODE_FORMAT 0x01c
#define GPU_MODE_OFFSET 0x020
#define GPU_MODE_ENABLE 0x024
#define GPU_INT_STATUS 0x030
#define GPU_INT_ENABLE 0x034
#define GPU_RING_BASE_LO 0x040
#define GPU_RING_BASE_HI 0x044
#define GPU_RING_SIZE 0x048
#define GPU_RING_HEAD 0x04c
#define GPU_RING_TAIL 0x050
#define GPU_FENCE_VALUE 0x054
#define GPU_ERROR_CODE 0x058
#define INT_FENCE 1u
#define INT_ERROR 2u
#define OP_FILL 1
#define OP_COPY_TO_VRAM 2
#define OP_COPY_FROM_VRAM 3
#define OP_FENCE 4
#define FOURCC_XRGB8888 0x34325258u

#define WIDTH 320
#define HEIGHT 200
#define STRIDE (WIDTH * 4)

/* SBI */
#define SBI_EXT_HSM 0x48534dUL
#define SBI_EXT_SRST 0x53525354UL
#define SBI_EXT_BASE 0x10UL

static inline u32 rd32(u64 a) { return *(volatile u32 *)a; }
static inline void wr32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u8 rd8(u64 a) { return *(volatile u8 *)a; }
static inline void wr8(u64 a, u8 v) { *(volatile u8 *)a = v; }

struct sbiret { long error; long value; };

static struct sbiret sbi_call(u64 ext, u64 fid, u64 a0, u64 a1, u64 a2) {
	register u64 r0 asm("a0") = a0;
	register u64 r1 asm("a1") = a1;
	register u64 r2 asm("a2") = a2;
	register u64 r6 asm("a6") = fid;
	register u64 r7 asm("a7") = ext;
	asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
	return (struct sbiret){ (long)r0, (long)r1 };
}

/* ---- console ---- */
static volatile u32 console_lock;

static void lock(volatile u32 *l) {
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {}
}
static void unlock(volatile u32 *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

static void putc_raw(char c) {
	while (!(rd8(UART0 + 5) & 0x20)) {}
	wr8(UART0, (u8)c);
}
static void puts_raw(const char *s) {
	for (; *s; s++) {
		if (*s == '\n') putc_raw('\r');
		putc_raw(*s);
	}
}
static void puthex(u64 v, int digits) {
	char buf[17];
	for (int i = digits - 1; i >= 0; i--, v >>= 4) buf[i] = "0123456789abcdef"[v & 15];
	buf[digits] = 0;
	puts_raw(buf);
}
static void putdec(u64 v) {
	char buf[21];
	int i = 20;
	buf[i] = 0;
	do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
	puts_raw(&buf[i]);
}

static void shutdown(int failure) {
	/* SRST: type 0 shutdown; reason 0 none, 1 system failure. */
	sbi_call(SBI_EXT_SRST, 0, 0, failure ? 1 : 0, 0);
	for (;;) asm volatile("wfi");
}

static void fail(const char *what) {
	puts_raw("FAIL: ");
	puts_raw(what);
	puts_raw("\n");
	shutdown(1);
}

/* ---- PCI ---- */
static u64 cfg(u32 dev, u32 off) { return ECAM + ((u64)dev << 15) + off; }

/* pci_find_capability() */
static u32 find_cap(u32 dev, u32 id) {
	if (!(rd32(cfg(dev, 4)) & (1u << 20))) return 0; /* Status.Capabilities List */
	u32 pos = rd32(cfg(dev, 0x34)) & 0xfc;
	for (int ttl = 48; ttl > 0 && pos >= 0x40; ttl--) {
		u32 h = rd32(cfg(dev, pos));
		if ((h & 0xff) == id) return pos;
		pos = (h >> 8) & 0xfc;
	}
	return 0;
}

static int find_gpu(void) {
	int gpu = -1;
	for (u32 dev = 0; dev < 32; dev++) {
		u32 id = rd32(cfg(dev, 0));
		if ((id & 0xffff) == 0xffff) continue;
		puts_raw("pci 00:");
		puthex(dev, 2);
		puts_raw(".0 ");
		puthex(id & 0xffff, 4);
		puts_raw(":");
		puthex(id >> 16, 4);
		puts_raw(" class ");
		puthex(rd32(cfg(dev, 8)) >> 8, 6);
		puts_raw("\n");
		if (gpu < 0 && (id & 0xffff) == GPU_VENDOR && (id >> 16) == GPU_DEVICE) gpu = (int)dev;
	}
	return gpu;
}

/* Size a memory BAR (64-bit when flagged); returns its size. */
static u64 bar_size(u32 dev, u32 bar) {
	u64 off = cfg(dev, 0x10 + bar * 4);
	u32 orig = rd32(off);
	wr32(off, 0xffffffff);
	u32 lo = rd32(off);
	wr32(off, orig);
	u64 mask = lo & ~0xfull;
	if (lo & 4) {
		u32 orig_hi = rd32(off + 4);
		wr32(off + 4, 0xffffffff);
		mask |= (u64)rd32(off + 4) << 32;
		wr32(off + 4, orig_hi);
	} else {
		mask |= 0xffffffff00000000ull;
	}
	return ~mask + 1;
}

static void bar_set(u32 dev, u32 bar, u64 addr) {
	u64 off = cfg(dev, 0x10 + bar * 4);
	u32 lo = rd32(off);
	wr32(off, (u32)addr);
	if (lo & 4) wr32(off + 4, (u32)(addr >> 32));
}

/* ---- interrupts ---- */
static volatile u32 fence_irqs;
static volatile u32 error_irqs;
static volatile u32 msi_irqs;
static u64 gpu_regs;
static u32 gpu_irq;
static int use_imsic;

/* Does the flattened device tree contain this NUL-terminated string (a compatible value)? */
static int dtb_has(u64 dtb, const char *s) {
	const u8 *p = (const u8 *)dtb;
	if (!dtb || p[0] != 0xd0 || p[1] != 0x0d || p[2] != 0xfe || p[3] != 0xed) return 0;
	u32 total = ((u32)p[4] << 24) | ((u32)p[5] << 16) | ((u32)p[6] << 8) | p[7];
	u32 n = 0;
	while (s[n]) n++;
	for (u32 i = 0; i + n < total; i++) {
		u32 j = 0;
		while (j <= n && p[i + j] == (u8)s[j]) j++;
		if (j > n) return 1;
	}
	return 0;
}

/* The IMSIC file's registers through siselect (0x150) / sireg (0x151); stopei is 0x15c. */
static void imsic_write(u64 isel, u64 v) { asm volatile("csrw 0x150, %0\n\tcsrw 0x151, %1" ::"r"(isel), "r"(v)); }
static u64 imsic_claim(void) {
	u64 v;
	asm volatile("csrrw %0, 0x15c, zero" : "=r"(v));
	return v >> 16;
}

static void gpu_status(void) {
	u32 st = rd32(gpu_regs + GPU_INT_STATUS);
	if (st & INT_FENCE) fence_irqs++;
	if (st & INT_ERROR) error_irqs++;
	wr32(gpu_regs + GPU_INT_STATUS, st);
}

void trap_handler(u64 cause, u64 tval) {
	if (cause == ((1ull << 63) | 9) && use_imsic) {
		/* Supervisor external from the IMSIC: claim every pending identity. */
		/* An MSI is an edge that needs no acknowledging at the device: count it and let
		 * the waiter check the fence's write-back in RAM, as a driver checks its seqno. */
		for (u64 id; (id = imsic_claim()) != 0;)
			if (id == GPU_MSI_ID) msi_irqs++;
		return;
	}
	if (cause == ((1ull << 63) | 9)) {
		/* Supervisor external: claim from the PLIC context of hart 0. */
		u32 src = rd32(PLIC + 0x200004);
		if (src == gpu_irq) gpu_status();
		if (src) wr32(PLIC + 0x200004, src);
		return;
	}
	puts_raw("unexpected trap scause=");
	puthex(cause, 16);
	puts_raw(" stval=");
	puthex(tval, 16);
	puts_raw("\n");
	shutdown(1);
}

/* ---- GPU DMA ring ---- */
struct gpu_cmd { u32 opcode, flags; u64 addr; u32 vram_offset, length, value, reserved; };
#define RING_ENTRIES 128
static struct gpu_cmd ring[RING_ENTRIES] __attribute__((aligned(64)));
static u32 tail;
static u32 image[64 * 64] __attribute__((aligned(4096)));
static u32 readback[64 * 64] __attribute__((aligned(4096)));

static void submit(u32 op, u64 addr, u32 vram_off, u32 len, u32 value) {
	struct gpu_cmd *c = &ring[tail % RING_ENTRIES];
	c->opcode = op;
	c->flags = 0;
	c->addr = addr;
	c->vram_offset = vram_off;
	c->length = len;
	c->value = value;
	c->reserved = 0;
	tail++;
}

/* The FENCE's write-back (SPEC.md): with MSI the waiter reads this, not FENCE_VALUE. */
static volatile u32 fence_wb;

static void kick_and_wait(u32 fence) {
	submit(OP_FENCE, use_imsic ? (u64)&fence_wb : 0, 0, 0, fence);
	asm volatile("fence w, o" ::: "memory");
	wr32(gpu_regs + GPU_RING_TAIL, tail % RING_ENTRIES);
	/* Sleep with interrupts masked so a completion between the check and wfi still wakes us. */
	for (;;) {
		asm volatile("csrc sstatus, %0" ::"r"(1ul << 1));
		if (fence_irqs || error_irqs) break;
		if (msi_irqs) {
			msi_irqs = 0;
			asm volatile("csrs sstatus, %0" ::"r"(1ul << 1));
			if (fence_wb == fence) return;
			/* Signalled, but not this fence: INT_STATUS says why (an error stops the engine). */
			gpu_status();
			continue;
		}
		asm volatile("wfi");
		asm volatile("csrs sstatus, %0" ::"r"(1ul << 1));
	}
	asm volatile("csrs sstatus, %0" ::"r"(1ul << 1));
	if (error_irqs) {
		puts_raw("gpu error code ");
		puthex(rd32(gpu_regs + GPU_ERROR_CODE), 2);
		puts_raw("\n");
		fail("dma");
	}
	if (rd32(gpu_regs + GPU_FENCE_VALUE) != fence) fail("fence value");
	fence_irqs = 0;
}

/* ---- harts ---- */
static volatile u32 harts_reported;

void secondary_main(u64 hartid) {
	lock(&console_lock);
	puts_raw("hart ");
	putdec(hartid);
	puts_raw(" reporting\n");
	unlock(&console_lock);
	__atomic_fetch_add(&harts_reported, 1, __ATOMIC_SEQ_CST);
	sbi_call(SBI_EXT_HSM, 1, 0, 0, 0); /* hart_stop */
}

extern char secondary_entry[];

void guest_main(u64 hartid, u64 dtb) {
	puts_raw("tsvirt default guest: hello from hart ");
	putdec(hartid);
	puts_raw("\n");

	struct sbiret v = sbi_call(SBI_EXT_BASE, 0, 0, 0, 0);
	puts_raw("sbi spec version ");
	putdec((u64)v.value >> 24);
	puts_raw(".");
	putdec((u64)v.value & 0xffffff);
	puts_raw("\n");

	int dev = find_gpu();
	if (dev < 0) fail("no sample GPU on the PCI bus");

	u64 regs_size = bar_size((u32)dev, 0);
	u64 vram_size = bar_size((u32)dev, 2);
	gpu_regs = MMIO32_BASE;
	u64 vram = MMIO64_BASE;
	bar_set((u32)dev, 0, gpu_regs);
	bar_set((u32)dev, 2, vram);
	wr32(cfg((u32)dev, 4), 0x6); /* memory decode + bus master */
	puts_raw("gpu BAR0 ");
	puthex(regs_size, 8);
	puts_raw(" bytes at ");
	puthex(gpu_regs, 8);
	puts_raw(", BAR2 ");
	puthex(vram_size, 8);
	puts_raw(" bytes at ");
	puthex(vram, 10);
	puts_raw("\n");

	if (rd32(gpu_regs + GPU_ID) != 0x7e570001) fail("GPU ID register");
	if (rd32(gpu_regs + GPU_VRAM_SIZE) != vram_size) fail("VRAM size register");

	/* Display mode. */
	wr32(gpu_regs + GPU_MODE_WIDTH, WIDTH);
	wr32(gpu_regs + GPU_MODE_HEIGHT, HEIGHT);
	wr32(gpu_regs + GPU_MODE_STRIDE, STRIDE);
	wr32(gpu_regs + GPU_MODE_FORMAT, FOURCC_XRGB8888);
	wr32(gpu_regs + GPU_MODE_OFFSET, 0);
	wr32(gpu_regs + GPU_MODE_ENABLE, 1);
	if (rd32(gpu_regs + GPU_MODE_ENABLE) != 1) fail("mode not accepted");
	puts_raw("display 320x200 XRGB8888 on\n");

	/* Draw a gradient straight into VRAM (no exits: BAR2 is a memslot). */
	volatile u32 *fb = (volatile u32 *)vram;
	for (u32 y = 0; y < HEIGHT; y++)
		for (u32 x = 0; x < WIDTH; x++) fb[y * WIDTH + x] = ((x * 255 / WIDTH) << 16) | ((y * 255 / HEIGHT) << 8) | 0x40;
	puts_raw("drew gradient into VRAM\n");

	use_imsic = dtb_has(dtb, "riscv,imsics");
	if (use_imsic) {
		/* The GPU's MSI to this hart's IMSIC page, identity GPU_MSI_ID; the file delivers it. */
		u32 msi = find_cap((u32)dev, 0x05);
		if (!msi) fail("no MSI capability");
		imsic_write(0x70, 1); /* eidelivery */
		imsic_write(0x72, 0); /* eithreshold: every identity */
		imsic_write(0xc0, 1ull << GPU_MSI_ID); /* eie0 */
		wr32(cfg((u32)dev, msi + 4), (u32)(IMSIC_S + hartid * 0x1000));
		wr32(cfg((u32)dev, msi + 8), (u32)((IMSIC_S + hartid * 0x1000) >> 32));
		wr32(cfg((u32)dev, msi + 12), GPU_MSI_ID);
		wr32(cfg((u32)dev, msi), rd32(cfg((u32)dev, msi)) | (1u << 16)); /* MSI enable */
		if (!(rd32(cfg((u32)dev, msi)) & (1u << 16))) fail("MSI enable did not stick");
		puts_raw("interrupts: IMSIC, gpu MSI -> identity ");
		putdec(GPU_MSI_ID);
		puts_raw("\n");
	} else {
		/* Interrupt routing: GPU INTA of slot `dev` -> PLIC source, context 0 (hart 0 S-mode). */
		gpu_irq = PCIE_IRQ_BASE + ((0 + (u32)dev) % 4);
		wr32(PLIC + gpu_irq * 4, 1);
		wr32(PLIC + 0x2000 + (gpu_irq / 32) * 4, 1u << (gpu_irq % 32));
		wr32(PLIC + 0x200000, 0);
		puts_raw("interrupts: PLIC, gpu INTx\n");
	}
	wr32(gpu_regs + GPU_INT_ENABLE, INT_FENCE | INT_ERROR);
	asm volatile("csrs sie, %0" ::"r"(1ul << 9));
	asm volatile("csrs sstatus, %0" ::"r"(1ul << 1));

	/* DMA: a ring in guest RAM; FILL a band, COPY a 64x64 checker in, COPY it back out. */
	wr32(gpu_regs + GPU_RING_BASE_LO, (u32)(u64)ring);
	wr32(gpu_regs + GPU_RING_BASE_HI, (u32)((u64)ring >> 32));
	wr32(gpu_regs + GPU_RING_SIZE, RING_ENTRIES);
	for (u32 y = 0; y < 64; y++)
		for (u32 x = 0; x < 64; x++) image[y * 64 + x] = ((x / 8 + y / 8) & 1) ? 0x00ffffff : 0x00c03030;
	u32 band = 150 * STRIDE;
	submit(OP_FILL, 0, band, 20 * STRIDE, 0x002050c0);
	for (u32 row = 0; row < 64; row++)
		submit(OP_COPY_TO_VRAM, (u64)&image[row * 64], (20 + row) * STRIDE + 128 * 4, 64 * 4, 0);
	puts_raw("dma fill + copy submitted\n");
	kick_and_wait(1);
	submit(OP_COPY_FROM_VRAM, (u64)readback, 20 * STRIDE + 128 * 4, 64 * 4, 0);
	kick_and_wait(2);
	for (u32 x = 0; x < 64; x++)
		if (readback[x] != image[x]) fail("copy-back mismatch");
	puts_raw("dma complete: fence irq received, copy verified\n");
#ifdef IRQBENCH
	/* apps/vm/bench: IRQBENCH fences back to back, each waited for by its completion interrupt. */
	puts_raw("irqbench: start\n");
	u64 ticks = 0;
	for (u32 i = 0; i < IRQBENCH; i++) {
		u64 t0, t1;
		asm volatile("rdtime %0" : "=r"(t0));
		kick_and_wait(3 + i);
		asm volatile("rdtime %0" : "=r"(t1));
		ticks += t1 - t0;
	}
	puts_raw("irqbench: done n=");
	putdec(IRQBENCH);
	puts_raw(" guest_ticks=");
	putdec(ticks);
	puts_raw("\n");
	shutdown(0);
#endif

	/* Start the other harts; each reports in, then stops. */
	u32 started = 0;
	for (u64 h = 0; h < 8; h++) {
		if (h == hartid) continue;
		struct sbiret st = sbi_call(SBI_EXT_HSM, 2, h, 0, 0); /* hart_get_status */
		if (st.error) continue;
		if (sbi_call(SBI_EXT_HSM, 0, h, (u64)secondary_entry, 0).error) fail("hart_start");
		started++;
	}
	/* Poll, not wfi: the other harts send no interrupt when they report. */
	while (__atomic_load_n(&harts_reported, __ATOMIC_ACQUIRE) != started) asm volatile("nop");
	lock(&console_lock);
	puts_raw("all ");
	putdec(started + 1);
	puts_raw(" harts reported\n");
	puts_raw("shutting down\n");
	unlock(&console_lock);
	shutdown(0);
}
