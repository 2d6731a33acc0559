#include "rt.h"

u64 boot_hartid;
static int use_dbcn;
static char line[128];
static unsigned line_len;

struct sbiret sbi_call(u64 eid, u64 fid, u64 a0, u64 a1, u64 a2)
{
	register u64 r_a0 __asm__("a0") = a0;
	register u64 r_a1 __asm__("a1") = a1;
	register u64 r_a2 __asm__("a2") = a2;
	register u64 r_a6 __asm__("a6") = fid;
	register u64 r_a7 __asm__("a7") = eid;
	__asm__ volatile("ecall"
			 : "+r"(r_a0), "+r"(r_a1)
			 : "r"(r_a2), "r"(r_a6), "r"(r_a7)
			 : "memory");
	struct sbiret r = { (long)r_a0, (long)r_a1 };
	return r;
}

static void flush(void)
{
	if (!line_len)
		return;
	if (use_dbcn) {
		/* DBCN write: a0 = byte count, a1/a2 = physical address lo/hi. */
		unsigned off = 0;
		while (off < line_len) {
			struct sbiret r = sbi_call(SBI_EXT_DBCN, 0, line_len - off, (u64)&line[off], 0);
			if (r.error)
				break;
			off += (unsigned)r.value;
		}
	} else {
		for (unsigned i = 0; i < line_len; i++) {
			register u64 a0 __asm__("a0") = (u8)line[i];
			register u64 a7 __asm__("a7") = 1; /* legacy console putchar */
			__asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "a1", "memory");
		}
	}
	line_len = 0;
}

void putc(char c)
{
	line[line_len++] = c;
	if (c == '\n' || line_len == sizeof(line))
		flush();
}

void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

void put_hex(u64 v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		putc("0123456789abcdef"[(v >> (i * 4)) & 15]);
}

void put_u64(u64 v) { put_hex(v, 16); }
void put_u32(u64 v) { put_hex(v, 8); }
void nl(void) { putc('\n'); }

void put_dec(u64 v)
{
	char buf[24];
	int n = 0;
	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc(buf[--n]);
}

void kv(const char *key, u64 v)
{
	puts(key);
	putc('=');
	put_u64(v);
	nl();
}

void shutdown(int failed)
{
	flush();
	/* SRST system_reset(type 0 = shutdown, reason 0 none / 1 failure). */
	sbi_call(SBI_EXT_SRST, 0, 0, failed ? 1 : 0, 0);
	for (;;)
		__asm__ volatile("wfi");
}

void *memset(void *d, int c, unsigned long n)
{
	u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
	u8 *p = d;
	const u8 *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

void unexpected_trap(struct trap_frame *f)
{
	puts("UNEXPECTED TRAP scause=");
	put_u64(f->scause);
	puts(" sepc=");
	put_u64(f->sepc);
	puts(" stval=");
	put_u64(f->stval);
	nl();
	shutdown(1);
}

__attribute__((weak)) void trap_handler(struct trap_frame *f) { unexpected_trap(f); }

void rt_main(void)
{
	/* BASE probe_extension(DBCN): nonzero value means available. */
	struct sbiret r = sbi_call(SBI_EXT_BASE, 3, SBI_EXT_DBCN, 0, 0);
	use_dbcn = r.error == 0 && r.value != 0;
	puts("--- tsvirt guest start ---\n");
	puts(prog_name);
	nl();
	int rc = main();
	puts(rc ? "FAIL\n" : "DONE\n");
	shutdown(rc != 0);
}
