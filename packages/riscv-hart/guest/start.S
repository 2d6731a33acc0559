/* Entry, trap entry and U-mode helpers shared by every guest program.
 * Entered in S-mode (or VS-mode on our hart) with a0 = hart id, a1 = DTB. */
	.section .text.start, "ax"
	.globl _start
_start:
	la	sp, __stack_top
	csrw	sie, zero
	csrci	sstatus, 2		/* SIE off: nothing asynchronous */
	li	t0, 0x2000		/* sstatus.FS = Initial so F/D work */
	csrs	sstatus, t0
	csrw	fcsr, zero
	la	t0, trap_entry
	csrw	stvec, t0
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	la	t0, boot_hartid
	sd	a0, 0(t0)
	call	rt_main
	/* rt_main shuts down; spin if the SBI did not. */
3:	wfi
	j	3b

/* Trap frame: x0..x31 at 8*i, then sepc, sstatus, scause, stval. */
	.text
	.balign 4
	.globl trap_entry
trap_entry:
	addi	sp, sp, -288
	sd	x1, 8(sp)
	sd	x3, 24(sp)
	sd	x4, 32(sp)
	sd	x5, 40(sp)
	sd	x6, 48(sp)
	sd	x7, 56(sp)
	sd	x8, 64(sp)
	sd	x9, 72(sp)
	sd	x10, 80(sp)
	sd	x11, 88(sp)
	sd	x12, 96(sp)
	sd	x13, 104(sp)
	sd	x14, 112(sp)
	sd	x15, 120(sp)
	sd	x16, 128(sp)
	sd	x17, 136(sp)
	sd	x18, 144(sp)
	sd	x19, 152(sp)
	sd	x20, 160(sp)
	sd	x21, 168(sp)
	sd	x22, 176(sp)
	sd	x23, 184(sp)
	sd	x24, 192(sp)
	sd	x25, 200(sp)
	sd	x26, 208(sp)
	sd	x27, 216(sp)
	sd	x28, 224(sp)
	sd	x29, 232(sp)
	sd	x30, 240(sp)
	sd	x31, 248(sp)
	addi	t0, sp, 288
	sd	t0, 16(sp)		/* the interrupted sp */
	csrr	t0, sepc
	sd	t0, 256(sp)
	csrr	t0, sstatus
	sd	t0, 264(sp)
	csrr	t0, scause
	sd	t0, 272(sp)
	csrr	t0, stval
	sd	t0, 280(sp)
	mv	a0, sp
	call	trap_handler
	ld	t0, 256(sp)
	csrw	sepc, t0
	ld	t0, 264(sp)
	csrw	sstatus, t0
	ld	x1, 8(sp)
	ld	x3, 24(sp)
	ld	x4, 32(sp)
	ld	x5, 40(sp)
	ld	x6, 48(sp)
	ld	x7, 56(sp)
	ld	x8, 64(sp)
	ld	x9, 72(sp)
	ld	x10, 80(sp)
	ld	x11, 88(sp)
	ld	x12, 96(sp)
	ld	x13, 104(sp)
	ld	x14, 112(sp)
	ld	x15, 120(sp)
	ld	x16, 128(sp)
	ld	x17, 136(sp)
	ld	x18, 144(sp)
	ld	x19, 152(sp)
	ld	x20, 160(sp)
	ld	x21, 168(sp)
	ld	x22, 176(sp)
	ld	x23, 184(sp)
	ld	x24, 192(sp)
	ld	x25, 200(sp)
	ld	x26, 208(sp)
	ld	x27, 216(sp)
	ld	x28, 224(sp)
	ld	x29, 232(sp)
	ld	x30, 240(sp)
	ld	x31, 248(sp)
	ld	x2, 16(sp)
	sret

/* u64 run_user(void (*fn)(void), u64 user_sp): runs fn in U-mode on
 * user_sp. Returns when the U code does ecall with a7 = USER_EXIT: the trap
 * handler calls user_return(frame), which resumes here with a0 from U. */
	.globl run_user
run_user:
	la	t0, kctx
	sd	ra, 0(t0)
	sd	sp, 8(t0)
	sd	s0, 16(t0)
	sd	s1, 24(t0)
	sd	s2, 32(t0)
	sd	s3, 40(t0)
	sd	s4, 48(t0)
	sd	s5, 56(t0)
	sd	s6, 64(t0)
	sd	s7, 72(t0)
	sd	s8, 80(t0)
	sd	s9, 88(t0)
	sd	s10, 96(t0)
	sd	s11, 104(t0)
	sd	gp, 112(t0)
	sd	tp, 120(t0)
	csrw	sepc, a0
	li	t0, 0x100		/* sstatus.SPP = U */
	csrc	sstatus, t0
	li	t0, 0x20		/* SPIE = 0: interrupts stay off */
	csrc	sstatus, t0
	mv	sp, a1
	sret

/* void user_resume(u64 value): back to run_user's caller in S-mode. */
	.globl user_resume
user_resume:
	la	t0, kctx
	ld	ra, 0(t0)
	ld	sp, 8(t0)
	ld	s0, 16(t0)
	ld	s1, 24(t0)
	ld	s2, 32(t0)
	ld	s3, 40(t0)
	ld	s4, 48(t0)
	ld	s5, 56(t0)
	ld	s6, 64(t0)
	ld	s7, 72(t0)
	ld	s8, 80(t0)
	ld	s9, 88(t0)
	ld	s10, 96(t0)
	ld	s11, 104(t0)
	ld	gp, 112(t0)
	ld	tp, 120(t0)
	ret

	.bss
	.balign 8
kctx:	.space 128
