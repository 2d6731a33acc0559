/* Tiny runtime for the bare-metal guest programs: SBI console, hex
 * printing, the trap frame layout and U-mode entry. */
#ifndef RT_H
#define RT_H

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned short u16;
typedef unsigned char u8;

struct sbiret {
	long error;
	long value;
};

struct trap_frame {
	u64 x[32]; /* x[2] is the interrupted sp */
	u64 sepc, sstatus, scause, stval;
};

#define SBI_EXT_BASE 0x10
#define SBI_EXT_DBCN 0x4442434EUL
#define SBI_EXT_SRST 0x53525354UL
#define USER_EXIT 0x5553 /* a7 value of the U-mode "return to S" ecall */

struct sbiret sbi_call(u64 eid, u64 fid, u64 a0, u64 a1, u64 a2);
void putc(char c);
void puts(const char *s);        /* no newline added */
void put_hex(u64 v, int digits); /* fixed width, lower case, no 0x */
void put_u64(u64 v);             /* 16 hex digits */
void put_u32(u64 v);             /* 8 hex digits */
void put_dec(u64 v);
void nl(void);
void kv(const char *key, u64 v); /* "key=<16 hex>\n" */
void shutdown(int failed) __attribute__((noreturn));
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

/* a0 at entry: the hart OpenSBI (or the VMM) booted us on. */
extern u64 boot_hartid;

/* Each program defines these. */
extern const char prog_name[];
int main(void);
/* Default handler prints the unexpected trap and fails; programs that take
 * traps define their own. */
void trap_handler(struct trap_frame *f);
void unexpected_trap(struct trap_frame *f) __attribute__((noreturn));

u64 run_user(void (*fn)(void), u64 user_sp);
void user_resume(u64 value) __attribute__((noreturn));

#define csr_read(csr)                                              \
	({                                                             \
		u64 __v;                                               \
		__asm__ volatile("csrr %0, " #csr : "=r"(__v)::"memory"); \
		__v;                                                   \
	})
#define csr_write(csr, val) __asm__ volatile("csrw " #csr ", %0" ::"r"((u64)(val)) : "memory")
#define csr_set(csr, val) __asm__ volatile("csrs " #csr ", %0" ::"r"((u64)(val)) : "memory")
#define csr_clear(csr, val) __asm__ volatile("csrc " #csr ", %0" ::"r"((u64)(val)) : "memory")

#endif
