/*
 * Helpers shared by the hostile guests (apps/vm/guest/hostile): the board
 * and sample GPU constants (apps/vm/src/board/layout.ts,
 * packages/sample-vendor-gpu/SPEC.md), MMIO accessors of every width, the
 * UART console, SBI calls and a seeded PRNG. Each guest is start.S and
 * link.ld of the default guest, lib.c and its own file.
 */
#ifndef HOSTILE_LIB_H
#define HOSTILE_LIB_H
#include <stdint.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;

#define UART0 0x10000000UL
#define UART_IRQ 10
#define PLIC 0x0c000000UL
#define PLIC_CTX(c) (PLIC + 0x200000UL + (u64)(c) * 0x1000)
#define PLIC_ENABLE(c) (PLIC + 0x2000UL + (u64)(c) * 0x80)
#define ECAM 0x30000000UL
#define FLASH0 0x20000000UL
#define FLASH1 0x22000000UL
#define MMIO32_BASE 0x40000000UL
#define MMIO64_BASE 0x400000000UL
#define RAM_BASE 0x80000000UL
/* The tests run these guests with the VMM's default --mem 256M. */
#define RAM_SIZE 0x10000000UL
#define RAM_END (RAM_BASE + RAM_SIZE)
#define PCIE_IRQ_BASE 0x20

#define GPU_VENDOR 0x7e57
#define GPU_DEVICE 0x0001
#define GPU_ID_VALUE 0x7e570001u
#define GPU_ID 0x000
#define GPU_VRAM_SIZE 0x004
#define GPU_MODE_WIDTH 0x010
#define GPU_INT_STATUS 0x030
#define GPU_INT_ENABLE 0x034
#define GPU_RING_BASE_LO 0x040
#define GPU_RING_BASE_HI 0x044
#define GPU_RING_SIZE 0x048
#define GPU_RING_HEAD 0x04c
#define GPU_RING_TAIL 0x050
#define GPU_FENCE_VALUE 0x054
#define GPU_ERROR_CODE 0x058
#define GPU_ERROR_INDEX 0x05c
#define GPU_RESET 0x060
#define GPU_ENGINE_STATUS 0x064
#define INT_FENCE 1u
#define INT_ERROR 2u
#define OP_FILL 1
#define OP_COPY_TO_VRAM 2
#define OP_COPY_FROM_VRAM 3
#define OP_FENCE 4
#define ERR_BAD_OPCODE 1
#define ERR_DMA_FAULT 2
#define ERR_VRAM_RANGE 3
#define ERR_RING_FAULT 5
#define ERR_DMA_DISABLED 6
#define ERR_BAD_LENGTH 7

#define SBI_EXT_BASE 0x10UL
#define SBI_EXT_TIME 0x54494d45UL
#define SBI_EXT_IPI 0x735049UL
#define SBI_EXT_RFENCE 0x52464e43UL
#define SBI_EXT_HSM 0x48534dUL
#define SBI_EXT_SRST 0x53525354UL
#define SBI_EXT_DBCN 0x4442434eUL
#define SBI_EXT_PMU 0x504d55UL
#define SBI_EXT_STA 0x535441UL
#define SBI_EXT_SUSP 0x53555350UL
#define SBI_ERR_FAILURE (-1L)
#define SBI_ERR_NOT_SUPPORTED (-2L)
#define SBI_ERR_INVALID_PARAM (-3L)
#define SBI_ERR_ALREADY_AVAILABLE (-6L)

#define SCAUSE_SEI ((1ull << 63) | 9)
#define SIE_SEIE (1ul << 9)
#define SSTATUS_SIE (1ul << 1)

static inline u8 rd8(u64 a) { return *(volatile u8 *)a; }
static inline u16 rd16(u64 a) { return *(volatile u16 *)a; }
static inline u32 rd32(u64 a) { return *(volatile u32 *)a; }
static inline u64 rd64(u64 a) { return *(volatile u64 *)a; }
static inline void wr8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static inline void wr16(u64 a, u16 v) { *(volatile u16 *)a = v; }
static inline void wr32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline void wr64(u64 a, u64 v) { *(volatile u64 *)a = v; }
/* An aligned access of 1, 2, 4 or 8 bytes. */
u64 rd(u64 a, int width);
void wr(u64 a, int width, u64 v);

void puts_raw(const char *s);
void puthex(u64 v, int digits);
void putdec(u64 v);
/* "label 0x<hex>\n" */
void putkv(const char *label, u64 v);
/* SBI SRST shutdown; reason 1 (system failure) when `failure`. */
void shutdown(int failure) __attribute__((noreturn));
void fail(const char *what) __attribute__((noreturn));
void check(int ok, const char *what);

struct sbiret { long error; long value; };
struct sbiret sbi_call6(u64 ext, u64 fid, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5);
static inline struct sbiret sbi_call(u64 ext, u64 fid, u64 a0, u64 a1, u64 a2) {
	return sbi_call6(ext, fid, a0, a1, a2, 0, 0, 0);
}

/* PCI config space of bus 0 device `dev` function `fn`. */
static inline u64 cfg(u32 dev, u32 fn, u32 off) { return ECAM + ((u64)dev << 15) + ((u64)fn << 12) + off; }
/* The first sample GPU's slot (fails when there is none). */
u32 find_gpu(void);
/* BAR0 (registers) and BAR2 (VRAM, 64-bit) at these addresses, memory decode and bus mastering on. */
void gpu_enable(u32 dev, u64 regs, u64 vram);
void bar_set(u32 dev, u32 bar, u64 addr);

/* xorshift64*: a seeded, reproducible stream. */
void rand_seed(u64 seed);
u64 rand64(void);

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
#endif
