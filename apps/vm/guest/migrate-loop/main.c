/*
 * A guest for issue 16's live-migration proof: it sets up the sample GPU as
 * the default guest does (BARs, a 320x200 mode, a gradient drawn into VRAM,
 * the FENCE interrupt through the PLIC), then loops until it reads 'q' on
 * the UART (or MAX_ROUNDS pass). Each round:
 *   - checks that what the previous round left behind is still there: its
 *     RAM buffers (CPU-written and DMA-written) and its VRAM block, read
 *     through the BAR2 mapping, against the checksum it kept;
 *   - writes a fresh pattern into a RAM buffer with the CPU;
 *   - has the GPU COPY it into VRAM, FILL another VRAM block, COPY both
 *     back into two other RAM buffers, FILL a band of the visible frame
 *     and FENCE, and waits for the FENCE interrupt;
 *   - verifies every buffer word by word against values it computes itself;
 *   - prints one progress line.
 * A migration between two rounds, or in the middle of one (the CPU writing,
 * a DMA in flight, the interrupt pending), must be invisible to these
 * checks. It ends with "migrate-loop: ok" and SBI SRST status 0, or a
 * "migrate-loop: FAIL" line and a system-failure shutdown.
 * Built on the default guest's start.S and link.ld and the hostile guests'
 * lib.c (build.sh).
 */
#include "../hostile/lib.h"

#define WIDTH 320
#define HEIGHT 200
#define STRIDE (WIDTH * 4)
#define GPU_MODE_HEIGHT 0x014
#define GPU_MODE_STRIDE 0x018
#define GPU_MODE_FORMAT 0x01c
#define GPU_MODE_OFFSET 0x020
#define GPU_MODE_ENABLE 0x024
#define FOURCC_XRGB8888 0x34325258u

#define WORDS (64 * 1024 / 4) /* 64 KiB buffers: 16 pages each */
#define VRAM_COPY 0x100000u   /* off-screen VRAM blocks */
#define VRAM_FILL 0x180000u
#define BAND_Y 150
#define BAND_ROWS 20
#define MAX_ROUNDS 100000u

static u32 src_buf[WORDS] __attribute__((aligned(4096)));
static u32 back_buf[WORDS] __attribute__((aligned(4096)));
static u32 fill_buf[WORDS] __attribute__((aligned(4096)));

static u64 regs = MMIO32_BASE;
static u64 vram = MMIO64_BASE;
static u32 gpu_irq;
static volatile u32 fence_irqs, error_irqs;
static u32 round_no;

static void round_fail(const char *what) {
	puts_raw("migrate-loop: FAIL round ");
	putdec(round_no);
	puts_raw(": ");
	puts_raw(what);
	puts_raw("\n");
	shutdown(1);
}

void trap_handler(u64 cause, u64 tval) {
	if (cause == SCAUSE_SEI) {
		u32 src = rd32(PLIC_CTX(0) + 4);
		if (src == gpu_irq) {
			u32 st = rd32(regs + GPU_INT_STATUS);
			if (st & INT_FENCE) fence_irqs++;
			if (st & INT_ERROR) error_irqs++;
			wr32(regs + GPU_INT_STATUS, st);
		}
		if (src) wr32(PLIC_CTX(0) + 4, src);
		return;
	}
	puts_raw("migrate-loop: FAIL unexpected trap scause 0x");
	puthex(cause, 16);
	puts_raw(" stval 0x");
	puthex(tval, 16);
	puts_raw("\n");
	shutdown(1);
}

void secondary_main(void) {}

struct gpu_cmd { u32 opcode, flags; u64 addr; u32 vram_offset, length, value, reserved; };
#define RING_ENTRIES 64
static struct gpu_cmd ring[RING_ENTRIES] __attribute__((aligned(64)));
static u32 tail;

static void submit(u32 op, u64 addr, u32 vram_off, u32 len, u32 value) {
	ring[tail % RING_ENTRIES] = (struct gpu_cmd){ op, 0, addr, vram_off, len, value, 0 };
	tail++;
}

/* FENCE, ring the doorbell, sleep until the FENCE interrupt (as the default guest). */
static void kick_and_wait(u32 fence) {
	submit(OP_FENCE, 0, 0, 0, fence);
	asm volatile("fence w, o" ::: "memory");
	wr32(regs + GPU_RING_TAIL, tail % RING_ENTRIES);
	for (;;) {
		asm volatile("csrc sstatus, %0" ::"r"(SSTATUS_SIE));
		if (fence_irqs || error_irqs) break;
		asm volatile("wfi");
		asm volatile("csrs sstatus, %0" ::"r"(SSTATUS_SIE));
	}
	asm volatile("csrs sstatus, %0" ::"r"(SSTATUS_SIE));
	if (error_irqs) round_fail("GPU error interrupt");
	if (rd32(regs + GPU_FENCE_VALUE) != fence) round_fail("fence value");
	fence_irqs = 0;
}

/* The round's pattern and fill value: derived from the round number only. */
static u32 pattern(u32 round, u32 i) {
	u32 x = round * 0x9e3779b9u ^ i * 0x85ebca6bu;
	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	return x ^ (x >> 12);
}
static u32 fill_value(u32 round) { return 0xa5000000u | (round & 0xffffffu); }
/* The visible band's colour cycles with the round. */
static u32 band_colour(u32 round) { return ((round * 37) & 0xff) << 16 | ((round * 11) & 0xff) << 8 | 0x80; }

static u64 sum(const volatile u32 *p, u32 n) {
	u64 s = 0;
	for (u32 i = 0; i < n; i++) s = s * 31 + p[i];
	return s;
}

/* What round `r` must have left: its pattern in src/back and in VRAM, its fill value in fill_buf and VRAM. */
static u64 expected_sum(u32 r) {
	u64 s = 0;
	for (u32 i = 0; i < WORDS; i++) s = s * 31 + pattern(r, i);
	return s;
}

static void check_round(u32 r, u64 want) {
	if (sum(src_buf, WORDS) != want) round_fail("RAM buffer (CPU-written) checksum");
	if (sum(back_buf, WORDS) != want) round_fail("RAM buffer (DMA from VRAM) checksum");
	if (sum((volatile u32 *)(vram + VRAM_COPY), WORDS) != want) round_fail("VRAM block (DMA to VRAM) checksum");
	u32 f = fill_value(r);
	for (u32 i = 0; i < WORDS; i++) {
		if (fill_buf[i] != f) round_fail("RAM buffer (DMA fill, copied back)");
		if (rd32(vram + VRAM_FILL + i * 4) != f) round_fail("VRAM block (DMA fill)");
	}
	u32 c = band_colour(r);
	for (u32 i = 0; i < BAND_ROWS * WIDTH; i++)
		if (rd32(vram + BAND_Y * STRIDE + i * 4) != c) round_fail("visible band (DMA fill)");
}

static void one_round(u32 r) {
	u64 s = 0;
	for (u32 i = 0; i < WORDS; i++) {
		u32 v = pattern(r, i);
		src_buf[i] = v;
		s = s * 31 + v;
	}
	submit(OP_COPY_TO_VRAM, (u64)src_buf, VRAM_COPY, WORDS * 4, 0);
	submit(OP_FILL, 0, VRAM_FILL, WORDS * 4, fill_value(r));
	submit(OP_COPY_FROM_VRAM, (u64)back_buf, VRAM_COPY, WORDS * 4, 0);
	submit(OP_COPY_FROM_VRAM, (u64)fill_buf, VRAM_FILL, WORDS * 4, 0);
	submit(OP_FILL, 0, BAND_Y * STRIDE, BAND_ROWS * STRIDE, band_colour(r));
	kick_and_wait(r);
	for (u32 i = 0; i < WORDS; i++)
		if (back_buf[i] != src_buf[i]) round_fail("copy through VRAM differs");
	if (s != expected_sum(r)) round_fail("CPU pattern checksum");
	check_round(r, s);
	/* A progress mark on screen too: one pixel per round along the top rows. */
	wr32(vram + (r % (WIDTH * 8)) * 4, 0x00ffffff);
	puts_raw("migrate-loop: round ");
	putdec(r);
	puts_raw(" sum 0x");
	puthex(s, 16);
	puts_raw("\n");
}

void guest_main(void) {
	puts_raw("migrate-loop: start\n");
	u32 dev = find_gpu();
	gpu_enable(dev, regs, vram);
	if (rd32(regs + GPU_ID) != GPU_ID_VALUE) fail("GPU ID register");
	if (rd32(regs + GPU_VRAM_SIZE) < VRAM_FILL + WORDS * 4) fail("VRAM too small");
	wr32(regs + GPU_MODE_WIDTH, WIDTH);
	wr32(regs + GPU_MODE_HEIGHT, HEIGHT);
	wr32(regs + GPU_MODE_STRIDE, STRIDE);
	wr32(regs + GPU_MODE_FORMAT, FOURCC_XRGB8888);
	wr32(regs + GPU_MODE_OFFSET, 0);
	wr32(regs + GPU_MODE_ENABLE, 1);
	if (rd32(regs + GPU_MODE_ENABLE) != 1) fail("mode not accepted");
	volatile u32 *fb = (volatile u32 *)vram;
	for (u32 y = 0; y < HEIGHT; y++)
		for (u32 x = 0; x < WIDTH; x++) fb[y * WIDTH + x] = ((x * 255 / WIDTH) << 16) | ((y * 255 / HEIGHT) << 8) | 0x40;

	/* GPU INTA of slot `dev` -> PLIC source (swizzled), context 0 (hart 0 S-mode). */
	gpu_irq = PCIE_IRQ_BASE + (dev % 4);
	wr32(PLIC + gpu_irq * 4, 1);
	wr32(PLIC_ENABLE(0) + (gpu_irq / 32) * 4, 1u << (gpu_irq % 32));
	wr32(PLIC_CTX(0), 0);
	wr32(regs + GPU_INT_ENABLE, INT_FENCE | INT_ERROR);
	asm volatile("csrs sie, %0" ::"r"(SIE_SEIE));
	asm volatile("csrs sstatus, %0" ::"r"(SSTATUS_SIE));
	wr32(regs + GPU_RING_BASE_LO, (u32)(u64)ring);
	wr32(regs + GPU_RING_BASE_HI, (u32)((u64)ring >> 32));
	wr32(regs + GPU_RING_SIZE, RING_ENTRIES);
	puts_raw("migrate-loop: gpu ready, looping until 'q'\n");

	u64 last = 0;
	for (round_no = 1; round_no <= MAX_ROUNDS; round_no++) {
		/* What the last round left (possibly on the other side of a migration) must be intact. */
		if (round_no > 1) check_round(round_no - 1, last);
		one_round(round_no);
		last = expected_sum(round_no);
		if ((rd8(UART0 + 5) & 1) && rd8(UART0) == 'q') break;
	}
	if (round_no > MAX_ROUNDS) round_no = MAX_ROUNDS;
	check_round(round_no, last);
	puts_raw("migrate-loop: ");
	putdec(round_no);
	puts_raw(" rounds verified\n");
	puts_raw("migrate-loop: ok\n");
	shutdown(0);
}
