/*
 * Hostile guest 3 (issue 13): DMA rings the sample GPU must refuse. Each
 * case programs a ring, rings the doorbell, polls ENGINE_STATUS.BUSY and
 * checks ERROR_CODE / ERROR_INDEX against the SPEC
 * (packages/sample-vendor-gpu/SPEC.md): IOVAs that are unmapped, outside
 * RAM, straddle its end, wrap at 2^64 or point into MMIO (the UART, the
 * PLIC, ECAM, flash, the GPU's own BARs); huge and odd lengths and VRAM
 * offsets that wrap at 2^32; a copy that rewrites the ring ahead of the
 * engine and one whose source and destination overlap; ring bases in
 * MMIO, past RAM or misaligned; a bad TAIL; bus mastering off. After the
 * lot a good ring still runs, and it shuts down with status 0.
 */
#include "lib.h"

struct gpu_cmd { u32 opcode, flags; u64 addr; u32 vram_offset, length, value, reserved; };
#define RING_ENTRIES 8
static struct gpu_cmd ring[RING_ENTRIES] __attribute__((aligned(64)));
static u32 buf[4096] __attribute__((aligned(4096)));

static u64 regs = MMIO32_BASE;
static u64 vram = MMIO64_BASE;
static u32 cases;

static void put_ring(u64 base, u32 size) {
	wr32(regs + GPU_RING_BASE_LO, (u32)base);
	wr32(regs + GPU_RING_BASE_HI, (u32)(base >> 32));
	wr32(regs + GPU_RING_SIZE, size); /* resets HEAD and TAIL */
}

static struct gpu_cmd cmd(u32 op, u64 addr, u32 vram_offset, u32 length, u32 value) {
	return (struct gpu_cmd){ op, 0, addr, vram_offset, length, value, 0 };
}

/* Doorbell at `tail`, wait for the engine to stop, check the error, clear it. */
static void expect_error(const char *what, u32 tail, u32 code, u32 index) {
	asm volatile("fence w, o" ::: "memory");
	wr32(regs + GPU_RING_TAIL, tail);
	u32 spins = 0;
	while (rd32(regs + GPU_ENGINE_STATUS) & 1)
		if (++spins > 10000000) fail("engine never stopped");
	u32 got = rd32(regs + GPU_ERROR_CODE);
	u32 at = rd32(regs + GPU_ERROR_INDEX);
	u32 st = rd32(regs + GPU_INT_STATUS);
	puts_raw("dma ");
	puts_raw(what);
	puts_raw(": error ");
	putdec(got);
	puts_raw(" at ");
	putdec(at);
	puts_raw("\n");
	if (got != code || (code && at != index) || (code && !(st & INT_ERROR))) {
		puts_raw("expected error ");
		putdec(code);
		puts_raw(" at ");
		putdec(index);
		puts_raw("\n");
		fail(what);
	}
	if (code) {
		wr32(regs + GPU_INT_STATUS, INT_ERROR);
		check(rd32(regs + GPU_ERROR_CODE) == 0, "ERROR_CODE cleared with INT_STATUS.ERROR");
	}
	wr32(regs + GPU_INT_STATUS, INT_FENCE);
	cases++;
}

/* One command at ring[0] that must fail with `code`. */
static void one(const char *what, struct gpu_cmd c, u32 code) {
	put_ring((u64)ring, RING_ENTRIES);
	ring[0] = c;
	expect_error(what, 1, code, 0);
}

void guest_main(void) {
	puts_raw("hostile dma: start\n");
	u32 gpu = find_gpu();
	gpu_enable(gpu, regs, vram);
	u32 vsize = rd32(regs + GPU_VRAM_SIZE);
	check(vsize == 4u << 20, "VRAM_SIZE");

	/* Bad IOVAs: nothing but guest RAM is mapped for the device (IOVA = GPA). */
	one("copy from an unmapped iova", cmd(OP_COPY_TO_VRAM, 0x1000, 0, 64, 0), ERR_DMA_FAULT);
	one("copy to an unmapped iova", cmd(OP_COPY_FROM_VRAM, 0x1000, 0, 64, 0), ERR_DMA_FAULT);
	one("copy to just past RAM", cmd(OP_COPY_FROM_VRAM, RAM_END, 0, 64, 0), ERR_DMA_FAULT);
	one("copy straddling the end of RAM", cmd(OP_COPY_TO_VRAM, RAM_END - 0x800, 0, 0x1000, 0), ERR_DMA_FAULT);
	one("copy far past RAM", cmd(OP_COPY_TO_VRAM, 0x7ffffffff000ull, 0, 64, 0), ERR_DMA_FAULT);
	one("copy wrapping at 2^64", cmd(OP_COPY_TO_VRAM, 0xfffffffffffff000ull, 0, 0x2000, 0), ERR_DMA_FAULT);
	one("copy from the last byte of the iova space", cmd(OP_COPY_FROM_VRAM, 0xfffffffffffffffcull, 0, 4, 0), ERR_DMA_FAULT);
	one("copy into the uart", cmd(OP_COPY_FROM_VRAM, UART0, 0, 64, 0), ERR_DMA_FAULT);
	one("copy into the plic", cmd(OP_COPY_FROM_VRAM, PLIC, 0, 64, 0), ERR_DMA_FAULT);
	one("copy into ecam", cmd(OP_COPY_FROM_VRAM, ECAM, 0, 64, 0), ERR_DMA_FAULT);
	one("copy into flash", cmd(OP_COPY_FROM_VRAM, FLASH0, 0, 64, 0), ERR_DMA_FAULT);
	one("copy into its own registers", cmd(OP_COPY_FROM_VRAM, regs, 0, 64, 0), ERR_DMA_FAULT);
	one("copy from its own vram bar", cmd(OP_COPY_TO_VRAM, vram, 0x1000, 64, 0), ERR_DMA_FAULT);
	check(rd32(regs + GPU_ID) == GPU_ID_VALUE, "registers after a DMA aimed at them");

	/* Huge and odd lengths, VRAM ranges that wrap. */
	one("fill of 4 GiB", cmd(OP_FILL, 0, 0, 0xfffffffc, 0), ERR_VRAM_RANGE);
	one("copy of 4 GiB", cmd(OP_COPY_TO_VRAM, RAM_BASE, 0, 0xfffffffc, 0), ERR_VRAM_RANGE);
	one("fill wrapping at 2^32", cmd(OP_FILL, 0, 0xfffffff0, 0x20, 0), ERR_VRAM_RANGE);
	one("copy one dword past vram", cmd(OP_COPY_FROM_VRAM, (u64)buf, vsize - 4, 8, 0), ERR_VRAM_RANGE);
	one("odd length", cmd(OP_FILL, 0, 0, 3, 0), ERR_BAD_LENGTH);
	one("odd length with a bad iova", cmd(OP_COPY_TO_VRAM, 0x1000, 0, 0xffffffff, 0), ERR_BAD_LENGTH);
	one("opcode 0", cmd(0, 0, 0, 0, 0), ERR_BAD_OPCODE);
	one("opcode 0xffffffff", cmd(0xffffffff, 0, 0, 0, 0), ERR_BAD_OPCODE);
	/* A whole-VRAM copy from the top of RAM: runs into the end of RAM part-way. */
	one("whole-vram copy off the end of RAM", cmd(OP_COPY_TO_VRAM, RAM_END - 0x100000, 0, vsize, 0), ERR_DMA_FAULT);

	/* Overlap: a copy from VRAM that rewrites the ring ahead of the engine; it reads ring[1] only when it gets there. */
	struct gpu_cmd fence = cmd(OP_FENCE, 0, 0, 0, 0x600d);
	const u32 *f = (const u32 *)&fence;
	for (u32 i = 0; i < 8; i++) wr32(vram + 0x2000 + i * 4, f[i]);
	put_ring((u64)ring, RING_ENTRIES);
	ring[0] = cmd(OP_COPY_FROM_VRAM, (u64)&ring[1], 0x2000, 32, 0);
	ring[1] = cmd(0xdead, 0, 0, 0, 0);
	expect_error("copy over the ring ahead of the engine", 2, 0, 0);
	check(rd32(regs + GPU_FENCE_VALUE) == 0x600d, "the engine ran the command the copy wrote");
	/* ... and one that rewrites the command it is executing and the one before. */
	put_ring((u64)ring, RING_ENTRIES);
	ring[0] = cmd(OP_FENCE, 0, 0, 0, 0x1111);
	ring[1] = cmd(OP_COPY_FROM_VRAM, (u64)&ring[0], 0x2000 - 32, 64, 0);
	ring[2] = cmd(OP_FENCE, 0, 0, 0, 0x2222);
	expect_error("copy over the command being executed", 3, 0, 0);
	check(rd32(regs + GPU_FENCE_VALUE) == 0x2222, "fence after a self-overwriting copy");
	/* Source and destination overlapping in guest memory: out to VRAM, back in 4 KiB further on. */
	for (u32 i = 0; i < 2048; i++) buf[i] = i * 0x01010101u;
	put_ring((u64)ring, RING_ENTRIES);
	ring[0] = cmd(OP_COPY_TO_VRAM, (u64)buf, 0x10000, 0x2000, 0);
	ring[1] = cmd(OP_COPY_FROM_VRAM, (u64)buf + 0x1000, 0x10000, 0x2000, 0);
	expect_error("overlapping source and destination", 2, 0, 0);
	for (u32 i = 0; i < 2048; i++) check(buf[1024 + i] == i * 0x01010101u, "overlapping copy data");

	/* Ring bases that are not RAM, or only partly. */
	put_ring(UART0, 4);
	expect_error("ring in the uart", 1, ERR_RING_FAULT, 0);
	put_ring(PLIC, 4);
	expect_error("ring in the plic", 1, ERR_RING_FAULT, 0);
	put_ring(vram, 4);
	expect_error("ring in its own vram bar", 1, ERR_RING_FAULT, 0);
	put_ring(regs, 4);
	expect_error("ring in its own registers", 1, ERR_RING_FAULT, 0);
	put_ring(RAM_END, 4);
	expect_error("ring just past RAM", 1, ERR_RING_FAULT, 0);
	put_ring(0xffffffffffffffe0ull, 4);
	expect_error("ring at the top of the iova space", 2, ERR_RING_FAULT, 0);
	struct gpu_cmd *last = (struct gpu_cmd *)(RAM_END - 32);
	*last = cmd(OP_FENCE, 0, 0, 0, 0x77);
	put_ring(RAM_END - 32, 4);
	expect_error("ring running off the end of RAM", 2, ERR_RING_FAULT, 1);
	check(rd32(regs + GPU_FENCE_VALUE) == 0x77, "the ring's one command in RAM ran");
	put_ring((u64)ring + 4, 4);
	expect_error("misaligned ring", 1, ERR_RING_FAULT, 0);
	put_ring((u64)ring, RING_ENTRIES);
	expect_error("tail past the ring", RING_ENTRIES, ERR_RING_FAULT, 0);
	put_ring((u64)ring, 3); /* not a power of two: ignored */
	check(rd32(regs + GPU_RING_SIZE) == RING_ENTRIES, "RING_SIZE 3 accepted");

	/* Bus mastering off. */
	wr16(cfg(gpu, 0, 4), 0x2);
	put_ring((u64)ring, RING_ENTRIES);
	ring[0] = cmd(OP_FENCE, 0, 0, 0, 1);
	expect_error("doorbell with bus mastering off", 1, ERR_DMA_DISABLED, 0);
	wr16(cfg(gpu, 0, 4), 0x6);

	/* After all that, a good ring runs. */
	put_ring((u64)ring, RING_ENTRIES);
	ring[0] = cmd(OP_FILL, 0, 0x20000, 0x1000, 0xabcdef01);
	ring[1] = cmd(OP_COPY_FROM_VRAM, (u64)buf, 0x20000, 0x1000, 0);
	ring[2] = cmd(OP_FENCE, 0, 0, 0, 0x900d);
	expect_error("a good ring", 3, 0, 0);
	check(rd32(regs + GPU_FENCE_VALUE) == 0x900d && buf[1023] == 0xabcdef01, "a good ring's results");
	puts_raw("hostile dma: ");
	putdec(cases);
	puts_raw(" cases, the gpu refused each bad one and still works\n");
	shutdown(0);
}
