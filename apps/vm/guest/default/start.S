/* Entry for every hart. a0 = hart id, a1 = DTB (boot hart) or opaque (secondaries). */
	.section .text.start
	.globl _start
_start:
	/* Per-hart stack: stack_top - hartid * STACK_SIZE. */
	la	sp, stack_top
	slli	t0, a0, 12
	sub	sp, sp, t0
	la	t0, trap_entry
	csrw	stvec, t0
	call	guest_main
1:	wfi
	j	1b

	.globl secondary_entry
secondary_entry:
	la	sp, stack_top
	slli	t0, a0, 12
	sub	sp, sp, t0
	la	t0, trap_entry
	csrw	stvec, t0
	call	secondary_main
1:	wfi
	j	1b

/* Save the caller-saved registers, call trap_handler(scause, stval), restore, sret. */
	.align 4
trap_entry:
	addi	sp, sp, -128
	sd	ra, 0(sp)
	sd	t0, 8(sp)
	sd	t1, 16(sp)
	sd	t2, 24(sp)
	sd	a0, 32(sp)
	sd	a1, 40(sp)
	sd	a2, 48(sp)
	sd	a3, 56(sp)
	sd	a4, 64(sp)
	sd	a5, 72(sp)
	sd	a6, 80(sp)
	sd	a7, 88(sp)
	sd	t3, 96(sp)
	sd	t4, 104(sp)
	sd	t5, 112(sp)
	sd	t6, 120(sp)
	csrr	a0, scause
	csrr	a1, stval
	call	trap_handler
	ld	ra, 0(sp)
	ld	t0, 8(sp)
	ld	t1, 16(sp)
	ld	t2, 24(sp)
	ld	a0, 32(sp)
	ld	a1, 40(sp)
	ld	a2, 48(sp)
	ld	a3, 56(sp)
	ld	a4, 64(sp)
	ld	a5, 72(sp)
	ld	a6, 80(sp)
	ld	a7, 88(sp)
	ld	t3, 96(sp)
	ld	t4, 104(sp)
	ld	t5, 112(sp)
	ld	t6, 120(sp)
	addi	sp, sp, 128
	sret

	.section .bss.stack
	.align 12
	.space 4096 * 8
	.globl stack_top
stack_top:
