/*
 * Hostile guest 7c (issue 13): code that rewrites itself. patch_and_run
 * stores a new instruction a few bytes ahead of itself, in the same basic
 * block, executes fence.i and runs it, thousands of times with a different
 * immediate each time (with --jit-threshold 1 the block is compiled at
 * every call). A second routine is called until it is hot (compiled at the
 * default threshold), then patched from outside and fence.i'd, in rounds.
 * Each result is checked; then it shuts down with status 0.
 */
#include "lib.h"

#define SAME_BLOCK_CALLS 5000
#define ROUNDS 4
#define HOT_CALLS 20000 /* more than the block compiler's default threshold (16384) */

/* addi a0, zero, imm */
static u32 li_a0(u32 imm) { return (imm & 0xfff) << 20 | 10 << 7 | 0x13; }

/* a0 = the instruction to put at 1f; returns what that instruction leaves in a0. */
u64 patch_and_run(u32 insn);
u64 patched_elsewhere(void);
asm(".text\n"
    ".option push\n"
    ".option norvc\n" /* the patched instructions are 4 bytes */
    ".globl patch_and_run\n"
    ".align 2\n"
    "patch_and_run:\n"
    "  lla t0, 1f\n"
    "  sw a0, 0(t0)\n"
    "  fence.i\n"
    "1: addi a0, zero, 0\n"
    "  ret\n"
    ".globl patched_elsewhere\n"
    ".align 2\n"
    "patched_elsewhere:\n"
    "  addi a0, zero, 0\n"
    "  ret\n"
    ".option pop\n");

void guest_main(void) {
	puts_raw("hostile selfmod: start\n");
	for (u32 i = 0; i < SAME_BLOCK_CALLS; i++) {
		u32 imm = (i * 7) & 0x7ff;
		u64 got = patch_and_run(li_a0(imm));
		if (got != imm) {
			putkv("call", i);
			putkv("returned", got);
			fail("patched in the same block: stale code ran");
		}
	}
	puts_raw("selfmod: same-block patches ran\n");
	u64 at = (u64)patched_elsewhere;
	asm("" : "+r"(at)); /* hide the symbol, so the store stays one aligned word */
	volatile u32 *site = (volatile u32 *)at;
	for (u32 round = 0; round < ROUNDS; round++) {
		u32 imm = 100 + round;
		*site = li_a0(imm);
		asm volatile("fence.i" ::: "memory");
		for (u32 i = 0; i < HOT_CALLS; i++) {
			u64 got = patched_elsewhere();
			if (got != imm) {
				putkv("round", round);
				putkv("call", i);
				putkv("returned", got);
				fail("patched from outside: stale code ran");
			}
		}
	}
	puts_raw("selfmod: outside patches ran\n");
	puts_raw("hostile selfmod: ok\n");
	shutdown(0);
}
