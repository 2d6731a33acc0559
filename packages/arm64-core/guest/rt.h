/* Runtime for the bare-metal guest programs: PL011 output, hex printing, traps. */
#ifndef RT_H
#define RT_H
#include <stdint.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;
typedef int64_t s64;
typedef int32_t s32;

struct frame {
	u64 x[31];
	u64 elr, spsr, esr, far, pad;
};

void putch(char c);
void puts_(const char *s);
/* "name=0123456789abcdef\n" */
void put_hex(const char *name, u64 v);
void check(const char *what, int ok);
/* Start marker, then the program name line. */
void start(const char *name);
void finish(void);

/* The last exception taken (the trap handler records it). */
extern volatile u64 last_esr, last_far, last_elr, last_kind;
extern volatile int traps;
/* When nonzero, the trap handler skips the faulting instruction (ELR += 4). */
extern volatile int skip_on_trap;
/* Optional handler for a program; return nonzero when it handled the trap. */
extern int (*trap_hook)(u64 kind, struct frame *f);

u64 run_el0(u64 (*fn)(u64), u64 arg, u64 user_sp);
void poweroff(void) __attribute__((noreturn));

#define sysreg_read(r) ({ u64 __v; asm volatile("mrs %0, " #r : "=r"(__v)); __v; })
#define sysreg_write(r, v) asm volatile("msr " #r ", %0" :: "r"((u64)(v)))
#define isb() asm volatile("isb" ::: "memory")

#endif
