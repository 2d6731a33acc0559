# The MMIO exit benchmark (apps/vm/bench/mmio-exits.ts): read the UART's
# line status register READS times between two console lines, then power
# off through SBI SRST. Each read is a G-stage fault that exits to KVM and
# on to the VMM's UART model, so the time between the lines is READS exit
# round trips. Entered in S-mode at 0x80200000 (KVM's SBI, or OpenSBI's
# fw_jump under QEMU); one hart.
	.equ UART, 0x10000000
	.equ LSR, 5
	.equ LSR_THRE, 0x20
	.equ READS, 100000
	.equ SBI_EXT_SRST, 0x53525354

	.section .text
	.globl _start
_start:
	li	s0, UART
	la	a0, start_msg
	call	puts
	li	t1, READS
1:	lbu	t2, LSR(s0)
	addi	t1, t1, -1
	bnez	t1, 1b
	la	a0, done_msg
	call	puts
	li	a7, SBI_EXT_SRST
	li	a6, 0		# sbi_system_reset
	li	a0, 0		# shutdown
	li	a1, 0		# no reason
	ecall
2:	wfi
	j	2b

# puts(a0): each byte once the transmitter holds nothing.
puts:
	lbu	t0, 0(a0)
	beqz	t0, 4f
3:	lbu	t3, LSR(s0)
	andi	t3, t3, LSR_THRE
	beqz	t3, 3b
	sb	t0, 0(s0)
	addi	a0, a0, 1
	j	puts
4:	ret

start_msg:
	.asciz	"mmiopoll: start\n"
done_msg:
	.asciz	"mmiopoll: done n=100000\n"
