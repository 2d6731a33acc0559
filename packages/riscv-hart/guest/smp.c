/* Two harts: the boot hart (OpenSBI picks either) starts the other through
 * SBI HSM, both add to shared counters with AMOADD and with LR/SC loops
 * (reservations must be broken by the other hart's stores), the other hart
 * stops itself, the boot hart prints the totals. Only the boot hart prints,
 * and only totals and relations, so the output is deterministic. */
#include "rt.h"

const char prog_name[] = "smp";

#define SBI_EXT_HSM 0x48534DUL
#define ROUNDS 3000

void secondary_entry(void);
void lrsc_inc(volatile u64 *p);

static volatile u64 amo_count, lrsc_count, plain_flag;
static volatile u64 seen_id, seen_opaque, done;
static u64 stack1[1024] __attribute__((aligned(16)));

static void work(void)
{
	for (int i = 0; i < ROUNDS; i++) {
		__atomic_fetch_add(&amo_count, 1, __ATOMIC_RELAXED);
		lrsc_inc(&lrsc_count);
	}
}

void secondary_main(u64 hartid, u64 opaque)
{
	seen_id = hartid;
	seen_opaque = opaque;
	work();
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	sbi_call(SBI_EXT_HSM, 1, 0, 0, 0); /* hart_stop: does not return */
}

static long status(u64 hart) { return sbi_call(SBI_EXT_HSM, 2, hart, 0, 0).value; }

int main(void)
{
	kv("probe hsm", sbi_call(SBI_EXT_BASE, 3, SBI_EXT_HSM, 0, 0).value != 0);
	u64 other = boot_hartid ^ 1;
	kv("boot hart status", status(boot_hartid));
	kv("other hart status", status(other));
	kv("status of hart 7 error", (u64)sbi_call(SBI_EXT_HSM, 2, 7, 0, 0).error);
	kv("start hart 7 error", (u64)sbi_call(SBI_EXT_HSM, 0, 7, (u64)secondary_entry, 0).error);
	u64 top = (u64)&stack1[1024];
	struct sbiret r = sbi_call(SBI_EXT_HSM, 0, other, (u64)secondary_entry, top);
	kv("start other hart error", (u64)r.error);
	work();
	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		;
	kv("other hart saw its id", seen_id == other);
	kv("other hart saw opaque (its stack)", seen_opaque == top);
	kv("amoadd total", amo_count);
	kv("lr/sc total", lrsc_count);
	while (status(other) != 1)
		;
	kv("other hart stopped", 1);
	return 0;
}
