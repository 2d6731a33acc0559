/* Every RV64C instruction, spelled explicitly. c_ops(out) stores a result
 * after each step into out[0..31]; c_fp(out) does the FP loads/stores. */
	.option rvc
	.text
	.globl c_ops
	.balign 2
c_ops:
	c.mv	a5, a0
	c.li	a1, -32
	c.sd	a1, 0(a5)
	c.lui	a2, 0xfffff
	c.sd	a2, 8(a5)
	c.lui	a3, 0x1f
	c.sd	a3, 16(a5)
	c.addi	a1, 31
	c.sd	a1, 24(a5)
	c.li	a1, 1
	c.slli	a1, 63
	c.sd	a1, 32(a5)
	c.mv	a2, a1
	c.srai	a2, 3
	c.sd	a2, 40(a5)
	c.srli	a1, 60
	c.sd	a1, 48(a5)
	c.li	a3, -1
	c.andi	a3, 0x15
	c.sd	a3, 56(a5)
	c.lui	a4, 0xfffe0
	c.addiw	a4, -1
	c.sd	a4, 64(a5)
	c.addiw	a4, 0		/* sext.w */
	c.sd	a4, 72(a5)
	c.li	a1, 12
	c.li	a2, 10
	c.mv	a3, a1
	c.sub	a3, a2
	c.sd	a3, 80(a5)
	c.mv	a3, a1
	c.xor	a3, a2
	c.sd	a3, 88(a5)
	c.mv	a3, a1
	c.or	a3, a2
	c.sd	a3, 96(a5)
	c.mv	a3, a1
	c.and	a3, a2
	c.sd	a3, 104(a5)
	c.lui	a1, 0x10
	c.slli	a1, 15		/* 0x80000000 */
	c.mv	a3, a1
	c.addw	a3, a1		/* 0x100000000 truncated: 0 */
	c.sd	a3, 112(a5)
	c.li	a3, 0
	c.subw	a3, a1		/* -0x80000000 as word: 0xffffffff80000000 */
	c.sd	a3, 120(a5)
	c.mv	a3, a1
	c.add	a3, a1
	c.sd	a3, 128(a5)
	/* Loads and stores, register based. */
	addi	a4, a5, 136
	c.sw	a3, 0(a4)	/* low word of 0x100000000 = 0 */
	c.li	a2, -2
	c.sw	a2, 4(a4)
	c.lw	a1, 4(a4)
	c.sd	a1, 144(a5)
	c.ld	a2, 0(a4)
	c.sd	a2, 152(a5)
	/* Stack pointer forms. */
	c.mv	a4, sp
	c.addi16sp sp, -64
	c.addi4spn a0, sp, 16
	c.mv	a1, a4
	c.sub	a1, a0
	c.sd	a1, 160(a5)	/* 48 */
	c.li	a1, -3
	c.sdsp	a1, 0(sp)
	c.swsp	a1, 8(sp)
	c.ldsp	a2, 0(sp)
	c.lwsp	a3, 8(sp)
	c.sd	a2, 168(a5)
	c.sd	a3, 176(a5)
	c.addi16sp sp, 64
	c.mv	a1, sp
	c.sub	a1, a4
	c.sd	a1, 184(a5)	/* 0 */
	/* Control flow. */
	c.li	a1, 0
	c.li	a2, 0
	c.beqz	a2, 1f
	c.addi	a1, 1
1:	c.bnez	a2, 2f
	c.addi	a1, 2
2:	c.li	a2, 5
	c.bnez	a2, 3f
	c.addi	a1, 4
3:	c.beqz	a2, 4f
	c.addi	a1, 8
4:	c.j	5f
	c.addi	a1, 16
5:	c.sd	a1, 192(a5)	/* 2 + 8 = 10 */
	c.mv	t1, ra
	la	t0, 6f
	c.jalr	t0		/* ra = address of next insn (pc + 2) */
6:	c.mv	a1, ra
	c.mv	ra, t1
	la	a2, 6b
	c.sub	a1, a2		/* ra pointed at the next insn: 6b */
	c.sd	a1, 200(a5)
	la	t0, 7f
	c.jr	t0
	c.li	a1, 7
7:	c.nop
	c.sd	a1, 208(a5)	/* still 0 */
	c.jr	ra

	.globl c_fp
	.balign 2
c_fp:
	c.fld	fa0, 0(a0)
	c.fld	fa1, 8(a0)
	fadd.d	fa2, fa0, fa1
	c.fsd	fa2, 16(a0)
	c.addi16sp sp, -16
	c.fsdsp	fa2, 8(sp)
	c.fldsp	fa3, 8(sp)
	c.addi16sp sp, 16
	fmul.d	fa3, fa3, fa0
	c.fsd	fa3, 24(a0)
	c.jr	ra
