/* Entry of a secondary hart started through SBI HSM hart_start:
 * a0 = hart id, a1 = opaque (here: the top of its stack). */
	.text
	.globl secondary_entry
	.balign 4
secondary_entry:
	mv	sp, a1
	csrw	sie, zero
	li	t0, 0x2000		/* sstatus.FS = Initial */
	csrs	sstatus, t0
	la	t0, trap_entry
	csrw	stvec, t0
	call	secondary_main
1:	wfi
	j	1b

/* One LR/SC increment, retried until the SC succeeds. */
	.globl lrsc_inc
	.balign 4
lrsc_inc:
1:	lr.d	t0, (a0)
	addi	t0, t0, 1
	sc.d	t1, t0, (a0)
	bnez	t1, 1b
	ret
