/* U-mode code for the traps program: runs with sstatus.SPP = U. */
	.text
	.globl user_body
	.balign 4
user_body:
	csrr	t0, sstatus	/* S CSR from U: illegal instruction */
	sret			/* S instruction from U: illegal instruction */
	sfence.vma		/* likewise */
	ebreak
	li	a0, 0x1111
	li	a1, 0x2222
	li	a7, 0x4242
	ecall			/* U ecall: cause 8, handled by S */
	/* The handler put a0 + a1 into a0; hand it back to S. */
	li	a7, 0x5553
	ecall
1:	j	1b

	.globl illegal_ops
	.balign 4
illegal_ops:
	.option push
	.option norvc
	csrr	t0, mstatus	/* M CSR from S */
	csrw	cycle, t0	/* write to a read-only CSR */
	.word	0x0000000b	/* custom-0 opcode, not implemented */
	ebreak			/* the 4-byte encoding */
	.option pop
	.2byte	0x0000		/* the all-zero 16-bit encoding */
	c.ebreak
	ret
