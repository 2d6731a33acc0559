/*
 * A hostile guest for the VMM's scheduling tests: it finds the sample GPU,
 * queues a ring of 1023 copies of the whole VRAM (4 GiB of DMA for the
 * small type) with one doorbell, says so on the UART, then polls the
 * engine's BUSY bit (an MMIO exit per poll) until the ring is done and
 * shuts down. The VMM must keep answering its console (Ctrl-A x) while
 * the GPU works. Built like the default guest (same start.S and link.ld).
 */
#include <stdint.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint8_t u8;

#define UART0 0x10000000UL
#define ECAM 0x30000000UL
#define MMIO32_BASE 0x40000000UL
#define GPU_VENDOR 0x7e57
#define GPU_DEVICE 0x0001
#define GPU_VRAM_SIZE 0x004
#define GPU_RING_BASE_LO 0x040
#define GPU_RING_BASE_HI 0x044
#define GPU_RING_SIZE 0x048
#define GPU_RING_TAIL 0x050
#define GPU_FENCE_VALUE 0x054
#define GPU_ERROR_CODE 0x058
#define GPU_ENGINE_STATUS 0x064
#define ENGINE_BUSY 1u
#define OP_COPY_TO_VRAM 2
#define OP_FENCE 4
#define RAM_BASE 0x80000000UL
#define SBI_EXT_SRST 0x53525354UL
#define RING_ENTRIES 1024

static inline u32 rd32(u64 a) { return *(volatile u32 *)a; }
static inline void wr32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u8 rd8(u64 a) { return *(volatile u8 *)a; }
static inline void wr8(u64 a, u8 v) { *(volatile u8 *)a = v; }

static void shutdown(int failure) {
	register u64 a0 asm("a0") = 0;
	register u64 a1 asm("a1") = failure ? 1 : 0;
	register u64 a6 asm("a6") = 0;
	register u64 a7 asm("a7") = SBI_EXT_SRST;
	asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
	for (;;) asm volatile("wfi");
}

static void puts_raw(const char *s) {
	for (; *s; s++) {
		while (!(rd8(UART0 + 5) & 0x20)) {}
		wr8(UART0, (u8)*s);
	}
}

static void fail(const char *what) {
	puts_raw("FAIL: ");
	puts_raw(what);
	puts_raw("\n");
	shutdown(1);
}

struct gpu_cmd { u32 opcode, flags; u64 addr; u32 vram_offset, length, value, reserved; };
static struct gpu_cmd ring[RING_ENTRIES] __attribute__((aligned(64)));

void trap_handler(u64 cause, u64 tval) {
	(void)cause;
	(void)tval;
	fail("unexpected trap");
}

void secondary_main(void) {}

void guest_main(void) {
	int dev = -1;
	for (u32 d = 0; d < 32 && dev < 0; d++) {
		u32 id = rd32(ECAM + ((u64)d << 15));
		if ((id & 0xffff) == GPU_VENDOR && (id >> 16) == GPU_DEVICE) dev = (int)d;
	}
	if (dev < 0) fail("no sample GPU");
	u64 cfg = ECAM + ((u64)dev << 15);
	u64 regs = MMIO32_BASE;
	wr32(cfg + 0x10, (u32)regs); /* BAR0 */
	wr32(cfg + 4, 0x6);          /* memory decode + bus master */
	u32 vram = rd32(regs + GPU_VRAM_SIZE);
	for (u32 i = 0; i < RING_ENTRIES - 1; i++) {
		ring[i] = (struct gpu_cmd){ OP_COPY_TO_VRAM, 0, RAM_BASE, 0, vram, 0, 0 };
	}
	ring[RING_ENTRIES - 2] = (struct gpu_cmd){ OP_FENCE, 0, 0, 0, 0, 7, 0 };
	wr32(regs + GPU_RING_BASE_LO, (u32)(u64)ring);
	wr32(regs + GPU_RING_BASE_HI, (u32)((u64)ring >> 32));
	wr32(regs + GPU_RING_SIZE, RING_ENTRIES);
	asm volatile("fence w, o" ::: "memory");
	wr32(regs + GPU_RING_TAIL, RING_ENTRIES - 1);
	puts_raw("gpu hog: ring submitted\n");
	while (rd32(regs + GPU_ENGINE_STATUS) & ENGINE_BUSY) {}
	if (rd32(regs + GPU_ERROR_CODE) != 0) fail("gpu error");
	if (rd32(regs + GPU_FENCE_VALUE) != 7) fail("fence value");
	puts_raw("gpu hog: ring done\n");
	shutdown(0);
}
