/*
 * Entry for QEMU's virt board (-kernel, direct boot at EL1) and for
 * arm64-core's test VMM: a Linux arm64 Image header so QEMU loads the flat
 * binary at 0x40080000, a known EL1 state, exception vectors that hand a
 * trap frame to C (trap() in rt.c), EL0 entry/return, and PSCI SYSTEM_OFF.
 */
#define FRAME 288   /* x0-x30, elr, spsr, esr, far, pad */

	.section .text.head, "ax"
	.globl _head
_head:
	b	_start
	.long	0
	.quad	0x80000          /* text_offset */
	.quad	_end - _head     /* image_size */
	.quad	0x2              /* flags: little-endian, 4K pages */
	.quad	0, 0, 0
	.ascii	"ARM\x64"
	.long	0

_start:
	msr	daifset, #0xf
	ldr	x0, =0x30d00800      /* SCTLR_EL1: RES1 bits, SPAN; MMU, caches, alignment checks off */
	msr	sctlr_el1, x0
	mov	x0, #(3 << 20)        /* CPACR_EL1.FPEN: no FP/SIMD traps */
	msr	cpacr_el1, x0
	msr	cntkctl_el1, xzr
	adr	x0, vectors
	msr	vbar_el1, x0
	isb
	ldr	x0, =stack_top
	mov	sp, x0
	ldr	x0, =__bss_start
	ldr	x1, =__bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b
2:	bl	main
	.globl	poweroff
poweroff:
	ldr	x0, =0x84000008      /* PSCI SYSTEM_OFF over HVC */
	hvc	#0
	b	.

	.macro	entry, kind
	.balign	0x80
	sub	sp, sp, #FRAME
	stp	x0, x1, [sp]
	mov	x0, #\kind
	b	common
	.endm

	.balign	0x800
	.globl	vectors
vectors:
	entry	0	/* EL1t sync */
	entry	1
	entry	2
	entry	3
	entry	4	/* EL1h sync */
	entry	5	/* EL1h IRQ */
	entry	6
	entry	7
	entry	8	/* EL0 sync */
	entry	9	/* EL0 IRQ */
	entry	10
	entry	11
	entry	12
	entry	13
	entry	14
	entry	15

common:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	mrs	x1, elr_el1
	stp	x30, x1, [sp, #240]
	mrs	x1, spsr_el1
	mrs	x2, esr_el1
	stp	x1, x2, [sp, #256]
	mrs	x1, far_el1
	str	x1, [sp, #272]
	mov	x1, sp
	bl	trap
	ldp	x30, x1, [sp, #240]
	msr	elr_el1, x1
	ldr	x1, [sp, #256]
	msr	spsr_el1, x1
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldp	x0, x1, [sp]
	add	sp, sp, #FRAME
	eret

/*
 * run_el0(fn, arg, user_sp): run fn(arg) at EL0 (EL0t, interrupts
 * masked) until it makes SVC #0xff (el0_exit); returns its x0.
 */
	.globl	run_el0
run_el0:
	adr	x9, el0_saved
	stp	x19, x20, [x9, #0]
	stp	x21, x22, [x9, #16]
	stp	x23, x24, [x9, #32]
	stp	x25, x26, [x9, #48]
	stp	x27, x28, [x9, #64]
	stp	x29, x30, [x9, #80]
	mov	x10, sp
	str	x10, [x9, #96]
	msr	sp_el0, x2
	msr	elr_el1, x0
	mov	x0, x1
	mov	x10, #0x3c0          /* EL0t, DAIF masked */
	msr	spsr_el1, x10
	adr	x30, el0_exit
	eret

	.globl	el0_exit
el0_exit:
	svc	#0xff
	b	.

/* The trap handler points ELR here (with SPSR = EL1h) on SVC #0xff from EL0. */
	.globl	el0_resume
el0_resume:
	adr	x9, el0_saved
	ldr	x10, [x9, #96]
	mov	sp, x10
	ldp	x19, x20, [x9, #0]
	ldp	x21, x22, [x9, #16]
	ldp	x23, x24, [x9, #32]
	ldp	x25, x26, [x9, #48]
	ldp	x27, x28, [x9, #64]
	ldp	x29, x30, [x9, #80]
	ret

	.data
	.balign	16
el0_saved:
	.space	112
	.bss
	.balign	16
	.space	65536
	.globl	stack_top
stack_top:
