/*
 * Hostile guest 2 (issue 13): seeded random writes of every width (1, 2,
 * 4 and 8 bytes, aligned) and value to the config space of every PCI
 * function on bus 0, and some to absent functions and other buses.
 * Values are random or chosen to hurt: all-ones, zero, the addresses of
 * board devices (for the BARs), D3hot, MSI enable. Every so often it
 * checks that the UART, the PLIC and ECAM still answer and that absent
 * functions still read all-ones. Then it puts the GPU back (D0, BARs,
 * decode) and checks it answers, and shuts down with status 0.
 */
#include "lib.h"

#define SEED 0x13c0ffee5eedull
#define WRITES 16000

static u32 present[32 * 8];
static u32 npresent;

static const u64 nasty[] = {
	0xffffffffffffffffull, 0, UART0, PLIC, ECAM, FLASH0, FLASH1, RAM_BASE, 0x80200000, MMIO32_BASE,
	MMIO64_BASE, 0xfffff000, 0x3, 0x8000, 0x10000,
};

static void devices_ok(u32 gpu, u32 n) {
	wr8(UART0 + 7, (u8)n);
	if (rd8(UART0 + 7) != (u8)n) fail("uart scratch");
	wr32(PLIC + 4, n & 7);
	if (rd32(PLIC + 4) != (n & 7)) fail("plic priority");
	if ((rd32(cfg(gpu, 0, 0)) & 0xffff) != GPU_VENDOR) fail("ecam: gpu vendor id");
	if (rd32(cfg(31, 7, 0)) != 0xffffffffu) fail("ecam: absent function");
	if (rd32(ECAM + (1UL << 20)) != 0xffffffffu) fail("ecam: bus 1");
}

void guest_main(void) {
	puts_raw("hostile cfgspace: start\n");
	for (u32 d = 0; d < 32; d++)
		for (u32 f = 0; f < 8; f++)
			if ((rd32(cfg(d, f, 0)) & 0xffff) != 0xffff) present[npresent++] = d << 3 | f;
	puts_raw("functions found: ");
	putdec(npresent);
	puts_raw("\n");
	check(npresent > 0, "no PCI function");
	u32 gpu = find_gpu();
	putkv("seed", SEED);
	rand_seed(SEED);
	for (u32 n = 0; n < WRITES; n++) {
		u64 r = rand64();
		u32 devfn;
		u64 base;
		if ((r & 15) == 0) {
			/* An absent function or another bus: the write must go nowhere. */
			base = ECAM + (((r >> 4) & 0xff) << 20) + (((r >> 12) & 0xff) << 12);
		} else {
			devfn = present[(r >> 4) % npresent];
			base = cfg(devfn >> 3, devfn & 7, 0);
		}
		int width = 1 << ((r >> 20) & 3);
		/* Half the writes in the header (BARs, command, ...), the rest anywhere in 4 KiB. */
		u32 off = (r >> 24) & 1 ? (u32)((r >> 25) & 0x3f) : (u32)((r >> 25) & 0xfff);
		off &= ~(u32)(width - 1);
		u64 v = (r >> 40) & 1 ? nasty[((r >> 41) & 0xff) % (sizeof nasty / sizeof nasty[0])] : rand64();
		if (((r >> 50) & 7) == 0) {
			/* Power state D3hot, or MSI enable, of the GPU. */
			base = cfg(gpu, 0, 0);
			off = (r >> 53) & 1 ? 0x44 : 0x52;
			width = 2;
			v = (r >> 53) & 1 ? 3 : 1;
		}
		wr(base + off, width, v);
		if ((n & 31) == 31) devices_ok(gpu, n);
		if ((n & 1023) == 1023) {
			puts_raw("config writes: ");
			putdec(n + 1);
			puts_raw("\n");
		}
	}
	devices_ok(gpu, 0);
	/* Put the GPU back: D0, MSI off, BARs in the windows, decode and bus mastering on. */
	wr16(cfg(gpu, 0, 0x44), 0);
	wr16(cfg(gpu, 0, 0x52), 0);
	gpu_enable(gpu, MMIO32_BASE, MMIO64_BASE);
	check(rd32(MMIO32_BASE + GPU_ID) == GPU_ID_VALUE, "gpu registers after the writes");
	check(rd32(MMIO32_BASE + GPU_VRAM_SIZE) == 4u << 20, "gpu VRAM_SIZE after the writes");
	wr32(MMIO64_BASE + 0x100, 0x12345678);
	check(rd32(MMIO64_BASE + 0x100) == 0x12345678, "gpu VRAM after the writes");
	puts_raw("hostile cfgspace: gpu answers, devices ok\n");
	shutdown(0);
}
