/*
 * Hostile guest 5 (issue 13): SBI calls with garbage arguments to every
 * extension KVM implements (BASE, TIME, IPI, RFENCE, HSM, SRST, the
 * legacy v0.1 calls), to those it does not or that user space has not
 * enabled (DBCN, PMU, STA, SUSP), unknown function ids, unknown and
 * 64-bit extension ids, and the experimental and vendor ranges KVM
 * forwards to the VMM. Each call must come back with the error the SBI
 * spec and KVM give (a legacy call handed an unreadable hart-mask pointer
 * gets a load fault, as kvm_riscv_vcpu_unpriv_read() redirects it); a
 * second hart makes some of them too. Then it shuts down with status 0.
 */
#include "lib.h"

#define ANY 0x7fffffffffffffffL /* any error code, SBI_SUCCESS included: the call only must return */
#define OK 0L
#define NS SBI_ERR_NOT_SUPPORTED
#define IP SBI_ERR_INVALID_PARAM
#define G 0xdeadbeefcafef00dull /* garbage */
#define ALL ~0ull

struct sbicase { const char *name; u64 eid, fid, a0, a1, a2, a3, a4, a5; long err; };

static const struct sbicase cases[] = {
	/* BASE: unknown functions; probe of garbage ids answers 0 ("not available"), never an error. */
	{ "base fid 7", SBI_EXT_BASE, 7, G, G, G, G, G, G, NS },
	{ "base fid 0xffffffff", SBI_EXT_BASE, 0xffffffff, G, G, G, G, G, G, NS },
	{ "base fid 2^64-1", SBI_EXT_BASE, ALL, G, G, G, G, G, G, NS },
	{ "base fid 2^32", SBI_EXT_BASE, 1ull << 32, G, G, G, G, G, G, NS },
	{ "base probe garbage", SBI_EXT_BASE, 3, G, G, G, G, G, G, OK },
	{ "base spec version with garbage", SBI_EXT_BASE, 0, G, G, G, G, G, G, OK },
	/* TIME */
	{ "time fid 1", SBI_EXT_TIME, 1, G, G, G, G, G, G, NS },
	{ "time fid 2^64-1", SBI_EXT_TIME, ALL, G, G, G, G, G, G, NS },
	{ "time set_timer 2^64-1", SBI_EXT_TIME, 0, ALL, G, G, G, G, G, OK },
	/* IPI: mask bits naming no hart are INVALID_PARAM (the named ones still get theirs). */
	{ "ipi fid 1", SBI_EXT_IPI, 1, G, G, G, G, G, G, NS },
	{ "ipi mask of 64 harts", SBI_EXT_IPI, 0, ALL, 0, G, G, G, G, IP },
	{ "ipi base past every hart", SBI_EXT_IPI, 0, 1, 1000, G, G, G, G, IP },
	{ "ipi base 2^64-2", SBI_EXT_IPI, 0, 1, ALL - 1, G, G, G, G, IP },
	{ "ipi garbage mask and base", SBI_EXT_IPI, 0, G, G, G, G, G, G, IP },
	{ "ipi empty mask", SBI_EXT_IPI, 0, 0, 0, G, G, G, G, OK },
	/* RFENCE: HFENCE is for nested guests; KVM does not check the hart mask here. */
	{ "rfence fence.i garbage mask", SBI_EXT_RFENCE, 0, G, G, G, G, G, G, ANY },
	{ "rfence sfence.vma garbage range", SBI_EXT_RFENCE, 1, ALL, ALL, G, ALL, G, G, ANY },
	{ "rfence sfence.vma.asid garbage", SBI_EXT_RFENCE, 2, G, 0, G, G, G, G, ANY },
	{ "rfence hfence.gvma.vmid", SBI_EXT_RFENCE, 3, G, G, G, G, G, G, NS },
	{ "rfence hfence.gvma", SBI_EXT_RFENCE, 4, G, G, G, G, G, G, NS },
	{ "rfence hfence.vvma.asid", SBI_EXT_RFENCE, 5, G, G, G, G, G, G, NS },
	{ "rfence hfence.vvma", SBI_EXT_RFENCE, 6, G, G, G, G, G, G, NS },
	{ "rfence fid 7", SBI_EXT_RFENCE, 7, G, G, G, G, G, G, NS },
	/* HSM */
	{ "hsm start hart 1000", SBI_EXT_HSM, 0, 1000, G, G, G, G, G, IP },
	{ "hsm start hart 2^64-1", SBI_EXT_HSM, 0, ALL, G, G, G, G, G, IP },
	{ "hsm start itself", SBI_EXT_HSM, 0, 0, G, G, G, G, G, SBI_ERR_ALREADY_AVAILABLE },
	{ "hsm status hart 1000", SBI_EXT_HSM, 2, 1000, G, G, G, G, G, IP },
	{ "hsm status hart 2^64-1", SBI_EXT_HSM, 2, ALL, G, G, G, G, G, IP },
	{ "hsm suspend type 1", SBI_EXT_HSM, 3, 1, G, G, G, G, G, IP },
	{ "hsm suspend type 0x7fffffff", SBI_EXT_HSM, 3, 0x7fffffff, G, G, G, G, G, IP },
	{ "hsm suspend type 0xffffffff", SBI_EXT_HSM, 3, 0xffffffff, G, G, G, G, G, IP },
	{ "hsm suspend non-retentive, garbage resume address", SBI_EXT_HSM, 3, 0x80000000, G, G, G, G, G, NS },
	{ "hsm fid 4", SBI_EXT_HSM, 4, G, G, G, G, G, G, NS },
	{ "hsm fid 2^64-1", SBI_EXT_HSM, ALL, G, G, G, G, G, G, NS },
	/* SRST: reserved and vendor reset types (the low 32 bits count: never 0, 1 or 2 here). */
	{ "srst type 3", SBI_EXT_SRST, 0, 3, G, G, G, G, G, IP },
	{ "srst type 0xefffffff", SBI_EXT_SRST, 0, 0xefffffff, 0, G, G, G, G, IP },
	{ "srst vendor type 0xf0000000", SBI_EXT_SRST, 0, 0xf0000000, G, G, G, G, G, IP },
	{ "srst type 2^64-1", SBI_EXT_SRST, 0, ALL, ALL, G, G, G, G, IP },
	{ "srst fid 1", SBI_EXT_SRST, 1, 0, 0, G, G, G, G, NS },
	/* DBCN: the VMM does not enable it, so bad addresses and lengths meet NOT_SUPPORTED. */
	{ "dbcn write 2^64-1 bytes at garbage", SBI_EXT_DBCN, 0, ALL, G, G, G, G, G, NS },
	{ "dbcn write from mmio", SBI_EXT_DBCN, 0, 16, UART0, 0, G, G, G, NS },
	{ "dbcn read into garbage", SBI_EXT_DBCN, 1, 4096, G, G, G, G, G, NS },
	{ "dbcn write_byte garbage", SBI_EXT_DBCN, 2, G, G, G, G, G, G, NS },
	{ "dbcn fid 3", SBI_EXT_DBCN, 3, G, G, G, G, G, G, NS },
	/* Not implemented, unknown, and out-of-range extension ids. */
	{ "pmu", SBI_EXT_PMU, 0, G, G, G, G, G, G, NS },
	{ "sta", SBI_EXT_STA, 0, G, G, G, G, G, G, NS },
	{ "susp", SBI_EXT_SUSP, 0, 0, G, G, G, G, G, NS },
	{ "eid 9 (between legacy and base)", 9, 0, G, G, G, G, G, G, NS },
	{ "eid 0xf", 0xf, 0, G, G, G, G, G, G, NS },
	{ "eid 0x11", 0x11, 0, G, G, G, G, G, G, NS },
	{ "eid 0xdeadbeef", 0xdeadbeef, G, G, G, G, G, G, G, NS },
	{ "eid 0xffffffff", 0xffffffff, 0, G, G, G, G, G, G, NS },
	{ "eid 2^32 + base", (1ull << 32) | SBI_EXT_BASE, 0, G, G, G, G, G, G, NS },
	{ "eid 2^64-1", ALL, ALL, G, G, G, G, G, G, NS },
	/* Forwarded to the VMM, which implements none of them. */
	{ "experimental 0x08000000", 0x08000000, 0, G, G, G, G, G, G, NS },
	{ "experimental 0x08ffffff", 0x08ffffff, G, G, G, G, G, G, G, NS },
	{ "vendor 0x09000000", 0x09000000, 0, G, G, G, G, G, G, NS },
	{ "vendor 0x09ffffff", 0x09ffffff, ALL, G, G, G, G, G, G, NS },
	/* Legacy v0.1 (result in a0 only). */
	{ "legacy set_timer 2^64-1", 0, G, ALL, G, G, G, G, G, OK },
	{ "legacy clear_ipi", 3, G, G, G, G, G, G, G, OK },
	{ "legacy getchar, no input", 2, G, G, G, G, G, G, G, -1 },
	{ "legacy send_ipi, mask 0 (all)", 4, G, 0, G, G, G, G, G, OK },
	{ "legacy remote_fence_i, all", 5, G, 0, G, G, G, G, G, OK },
	{ "legacy remote_sfence_vma, garbage range", 6, G, 0, G, G, G, G, G, OK },
	{ "legacy remote_sfence_vma_asid, garbage", 7, G, 0, G, G, G, G, G, OK },
};

static const u64 probe_yes[] = { SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI, SBI_EXT_RFENCE, SBI_EXT_HSM, SBI_EXT_SRST, 0, 4, 8 };
static const u64 probe_no[] = { SBI_EXT_DBCN, SBI_EXT_PMU, SBI_EXT_STA, SBI_EXT_SUSP, 9, 0xdeadbeef, 1ull << 32, ALL };

/* A legacy call handed a hart-mask pointer KVM cannot read traps back into the guest at the ecall. */
static volatile int expect_trap;
static volatile u64 trap_cause, trap_tval;

void trap_handler(u64 cause, u64 tval) {
	if (expect_trap && !(cause >> 63)) {
		trap_cause = cause;
		trap_tval = tval;
		expect_trap = 0;
		u64 sepc;
		asm volatile("csrr %0, sepc" : "=r"(sepc));
		asm volatile("csrw sepc, %0" ::"r"(sepc + 4));
		return;
	}
	puts_raw("unexpected trap ");
	putkv("scause", cause);
	putkv("stval", tval);
	shutdown(1);
}

static u32 checked;

static void run(const struct sbicase *c, const char *who) {
	struct sbiret r = sbi_call6(c->eid, c->fid, c->a0, c->a1, c->a2, c->a3, c->a4, c->a5);
	checked++;
	if (c->err != ANY && r.error != c->err) {
		puts_raw(who);
		puts_raw(c->name);
		putkv(": error", (u64)r.error);
		fail(c->name);
	}
}

static void legacy_bad_pointer(u64 eid, u64 ptr) {
	expect_trap = 1;
	trap_cause = 0;
	sbi_call(eid, 0, ptr, G, G);
	checked++;
	/* A load fault (access, page or guest-page fault) at the pointer. */
	if (expect_trap || (trap_cause != 5 && trap_cause != 13 && trap_cause != 21) || trap_tval != ptr) {
		putkv("legacy call with a bad pointer, eid", eid);
		putkv("scause", trap_cause);
		fail("legacy hart-mask pointer");
	}
}

static volatile u32 hart1_done;

void secondary_main(u64 hartid) {
	/* Hart 1: some of the same garbage, from another vCPU, then HSM stop. */
	for (u32 i = 0; i < sizeof cases / sizeof cases[0]; i += 3) run(&cases[i], "hart 1: ");
	if (sbi_call(SBI_EXT_HSM, 0, hartid, G, G).error != SBI_ERR_ALREADY_AVAILABLE) fail("hart 1 starts itself");
	__atomic_store_n(&hart1_done, 1, __ATOMIC_RELEASE);
	sbi_call(SBI_EXT_HSM, 1, G, G, G);
	fail("hart_stop returned");
}

extern char secondary_entry[];

void guest_main(void) {
	puts_raw("hostile sbi: start\n");
	for (u32 i = 0; i < sizeof cases / sizeof cases[0]; i++) run(&cases[i], "");
	puts_raw("sbi: garbage calls done\n");
	for (u32 i = 0; i < sizeof probe_yes / sizeof probe_yes[0]; i++)
		if (sbi_call(SBI_EXT_BASE, 3, probe_yes[i], 0, 0).value != 1) fail("probe of an implemented extension");
	for (u32 i = 0; i < sizeof probe_no / sizeof probe_no[0]; i++)
		if (sbi_call(SBI_EXT_BASE, 3, probe_no[i], 0, 0).value != 0) fail("probe of an absent extension");
	struct sbiret st = sbi_call(SBI_EXT_HSM, 2, 1, G, G);
	check(st.error == 0 && st.value == 1, "hart 1 status: stopped");
	puts_raw("sbi: probes done\n");

	/* Legacy calls with hart-mask pointers that are not RAM. */
	legacy_bad_pointer(4, 0x1000);
	legacy_bad_pointer(5, UART0);
	legacy_bad_pointer(6, RAM_END);
	legacy_bad_pointer(7, 0xfffffffffffffff8ull);
	puts_raw("sbi: legacy calls with bad pointers trapped\n");
	puts_raw("sbi: legacy putchar of garbage: ");
	sbi_call(1, G, 0xdeadbeef00000000ull | '!', G, G);
	puts_raw("\n");

	/* The IPIs sent above left hart 0's soft interrupt pending (masked): clear it, and the timer. */
	asm volatile("csrc sip, %0" ::"r"(2ul));
	sbi_call(SBI_EXT_TIME, 0, ALL, 0, 0);

	/* Hart 1 does it too. */
	if (sbi_call(SBI_EXT_HSM, 0, 1, (u64)secondary_entry, G).error) fail("hart_start 1");
	for (u32 spins = 0; !__atomic_load_n(&hart1_done, __ATOMIC_ACQUIRE); spins++)
		if (spins > 100000000) fail("hart 1 never finished");
	for (u32 spins = 0; sbi_call(SBI_EXT_HSM, 2, 1, 0, 0).value != 1; spins++)
		if (spins > 1000000) fail("hart 1 never stopped");
	puts_raw("sbi: hart 1 done\n");
	puts_raw("hostile sbi: ");
	putdec(checked);
	puts_raw(" calls answered as the spec says\n");
	shutdown(0);
}
