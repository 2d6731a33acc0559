/*
 * Hostile guest 1 (issue 13): moves the sample GPU's BARs, with memory
 * decode on, over every board device (UART, PLIC, ECAM, both flash banks,
 * RAM where this code runs, the DTB) and back, checking after each move
 * that every device still answers as itself. BARs decode only inside the
 * host bridge's windows (apps/vm README, "How BARs are decoded"), so none
 * of them may shadow a device. Then it proves the devices work: prints on
 * the UART, takes a PLIC interrupt from the GPU (a DMA FENCE), reads ECAM,
 * and shuts down with status 0.
 */
#include "lib.h"

#define REGS_HOME MMIO32_BASE
#define VRAM_HOME MMIO64_BASE
#define DTB_MAGIC_LE 0xedfe0dd0u /* 0xd00dfeed, big-endian */

static u32 gpu;
static u64 regs = REGS_HOME;
static u64 vram = VRAM_HOME;
static u64 dtb;
static volatile u32 ram_canary = 0x5a5aa5a5;

/* Every board device answers as itself; fails naming the one that does not. */
static void devices_ok(const char *when) {
	wr8(UART0 + 7, 0xa5); /* scratch register */
	if (rd8(UART0 + 7) != 0xa5) goto bad_uart;
	wr32(PLIC + 4, 5); /* source 1 priority */
	if (rd32(PLIC + 4) != 5) goto bad_plic;
	wr32(PLIC + 4, 0);
	if (rd32(cfg(gpu, 0, 0)) != ((u32)GPU_DEVICE << 16 | GPU_VENDOR)) goto bad_ecam;
	for (u64 bank = FLASH0; bank <= FLASH1; bank += FLASH1 - FLASH0) {
		wr32(bank, 0x98); /* CFI query: "Q" at word 0x10 */
		u32 q = rd32(bank + 0x40) & 0xff;
		wr32(bank, 0xff); /* read array: erased */
		if (q != 0x51 || rd32(bank) != 0xffffffffu) goto bad_flash;
	}
	if (ram_canary != 0x5a5aa5a5) goto bad_ram;
	if (rd32(dtb) != DTB_MAGIC_LE) goto bad_dtb;
	return;
bad_uart: puts_raw("uart broken "); goto out;
bad_plic: puts_raw("plic broken "); goto out;
bad_ecam: puts_raw("ecam broken "); goto out;
bad_flash: puts_raw("flash broken "); goto out;
bad_ram: puts_raw("ram broken "); goto out;
bad_dtb: puts_raw("dtb broken ");
out:
	fail(when);
}

/* The GPU answers at its BARs: ID, a register it was given, VRAM contents. */
static void gpu_ok(const char *when) {
	if (rd32(regs + GPU_ID) != GPU_ID_VALUE || rd32(regs + GPU_MODE_WIDTH) != 320 ||
	    rd32(vram + 0x10) != 0xc0ffee00u || rd32(vram + 0x3ff000) != 0x600df00du)
		fail(when);
}

struct target { const char *name; u64 addr; };

/* Interrupt from the GPU's FENCE, through the PLIC (context 0 = hart 0 S-mode). */
static volatile u32 gpu_irqs;
static u32 gpu_irq;

void trap_handler(u64 cause, u64 tval) {
	if (cause == SCAUSE_SEI) {
		u32 src = rd32(PLIC_CTX(0) + 4);
		if (src == gpu_irq) {
			u32 st = rd32(regs + GPU_INT_STATUS);
			if (st & INT_FENCE) gpu_irqs++;
			wr32(regs + GPU_INT_STATUS, st);
		}
		if (src) wr32(PLIC_CTX(0) + 4, src);
		return;
	}
	puts_raw("unexpected trap ");
	putkv("scause", cause);
	putkv("stval", tval);
	shutdown(1);
}

struct gpu_cmd { u32 opcode, flags; u64 addr; u32 vram_offset, length, value, reserved; };
static struct gpu_cmd ring[4] __attribute__((aligned(64)));

static void take_gpu_interrupt(void) {
	gpu_irq = PCIE_IRQ_BASE + (gpu % 4);
	wr32(PLIC + gpu_irq * 4, 1);
	wr32(PLIC_ENABLE(0) + (gpu_irq / 32) * 4, 1u << (gpu_irq % 32));
	wr32(PLIC_CTX(0), 0);
	wr32(regs + GPU_INT_ENABLE, INT_FENCE);
	asm volatile("csrs sie, %0" ::"r"(SIE_SEIE));
	ring[0] = (struct gpu_cmd){ OP_FENCE, 0, 0, 0, 0, 0x1234, 0 };
	wr32(regs + GPU_RING_BASE_LO, (u32)(u64)ring);
	wr32(regs + GPU_RING_BASE_HI, (u32)((u64)ring >> 32));
	wr32(regs + GPU_RING_SIZE, 4);
	asm volatile("fence w, o" ::: "memory");
	wr32(regs + GPU_RING_TAIL, 1);
	for (;;) {
		asm volatile("csrc sstatus, %0" ::"r"(SSTATUS_SIE));
		if (gpu_irqs) break;
		asm volatile("wfi");
		asm volatile("csrs sstatus, %0" ::"r"(SSTATUS_SIE));
	}
	asm volatile("csrs sstatus, %0" ::"r"(SSTATUS_SIE));
	check(rd32(regs + GPU_FENCE_VALUE) == 0x1234, "fence value");
}

extern char _start[];

void guest_main(u64 hartid, u64 dtb_addr) {
	(void)hartid;
	dtb = dtb_addr;
	puts_raw("hostile bars: start\n");
	gpu = find_gpu();
	gpu_enable(gpu, regs, vram);
	wr32(regs + GPU_MODE_WIDTH, 320);
	wr32(vram + 0x10, 0xc0ffee00u);
	wr32(vram + 0x3ff000, 0x600df00du);
	devices_ok("before any move");
	gpu_ok("gpu before any move");

	const struct target targets[] = {
		{ "uart", UART0 },
		{ "plic", PLIC },
		{ "plic contexts", PLIC_CTX(0) },
		{ "ecam", ECAM },
		{ "the gpu's own config space", cfg(gpu, 0, 0) },
		{ "flash0", FLASH0 },
		{ "flash1", FLASH1 },
		{ "ram", RAM_BASE },
		{ "this code", (u64)_start },
		{ "the dtb", dtb & ~0xfffUL },
	};
	u32 n = sizeof targets / sizeof targets[0];
	for (u32 i = 0; i < n; i++) {
		/* BAR0 (trapped registers), then BAR2 (mmapped VRAM, a memslot in a window), over the device. */
		bar_set(gpu, 0, targets[i].addr);
		devices_ok(targets[i].name);
		bar_set(gpu, 2, targets[i].addr & ~0x3fffffUL);
		devices_ok(targets[i].name);
		/* Back into the windows, somewhere new each time. */
		regs = REGS_HOME + 0x1000 * (i + 1);
		vram = VRAM_HOME + 0x400000UL * (i + 1);
		bar_set(gpu, 0, regs);
		bar_set(gpu, 2, vram);
		devices_ok(targets[i].name);
		gpu_ok(targets[i].name);
		puts_raw("bars over ");
		puts_raw(targets[i].name);
		puts_raw(" and back: devices ok\n");
	}

	/* BAR over BAR: the one moved last wins; moving it away shows the other whole again. */
	vram = MMIO32_BASE + 0x800000; /* the 64-bit BAR may sit in the 32-bit window */
	bar_set(gpu, 2, vram);
	wr32(vram + 0x1000, 0xaaaa5555u);
	bar_set(gpu, 0, vram + 0x1000);
	check(rd32(vram + 0x1000) == GPU_ID_VALUE, "BAR0 moved over BAR2 does not win");
	check(rd32(vram + 0x10) == 0xc0ffee00u && rd32(vram + 0x3ff000) == 0x600df00du, "BAR2 around BAR0");
	regs = REGS_HOME;
	bar_set(gpu, 0, regs);
	check(rd32(vram + 0x1000) == 0xaaaa5555u, "BAR2 whole again");
	vram = VRAM_HOME;
	bar_set(gpu, 2, vram);
	gpu_ok("after BAR over BAR");
	puts_raw("bar over bar: last moved wins, ok\n");

	/* Decode off and on again. */
	wr16(cfg(gpu, 0, 4), 0);
	check(rd32(regs) == 0xffffffffu, "BAR0 decodes with memory decode off");
	wr16(cfg(gpu, 0, 4), 6);
	gpu_ok("after decode off/on");

	take_gpu_interrupt();
	puts_raw("plic: gpu fence interrupt taken\n");
	check(find_gpu() == gpu, "ecam walk");
	check(rd32(cfg(gpu, 0, 8)) >> 8 == 0x038000, "ecam class code");
	puts_raw("ecam: gpu found again\n");
	devices_ok("at the end");
	puts_raw("hostile bars: all devices ok\n");
	shutdown(0);
}
