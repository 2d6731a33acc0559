// A bare-metal arm64 guest for the board's interrupt path: it enables the
// GICv2 (distributor, CPU interface, PPI 27), arms the EL1 virtual timer
// 1000 ticks ahead and waits in WFI with IRQs unmasked. Each timer
// interrupt is acknowledged at GICC_IAR, printed, re-armed and ended at
// GICC_EOIR; after three it masks the timer and calls PSCI SYSTEM_OFF.
// Entered at 0 (flash, as QEMU -bios), MMU off.

        .equ UART,       0x09000000
        .equ GICD,       0x08000000
        .equ GICC,       0x08010000
        .equ SYSTEM_OFF, 0x84000008
        .equ STACK,      0x40100000
        .equ TICKS,      1000

        .text
        .global _start
_start:
        ldr     x1, =STACK
        mov     sp, x1
        adr     x0, vectors
        msr     vbar_el1, x0
        isb
        ldr     x19, =GICD
        ldr     x20, =GICC
        mov     x21, #0                 // interrupts seen
        mov     w1, #1
        str     w1, [x19]               // GICD_CTLR: enable
        mov     w1, #(1 << 27)
        str     w1, [x19, #0x100]       // GICD_ISENABLER0: PPI 27 (the virtual timer)
        mov     w1, #1
        str     w1, [x20]               // GICC_CTLR: enable
        mov     w1, #0xff
        str     w1, [x20, #4]           // GICC_PMR: let everything through
        adr     x0, s_hello
        bl      puts
        bl      arm
        msr     daifclr, #2             // unmask IRQs
1:      wfi
        cmp     x21, #3
        b.lo    1b
        msr     daifset, #2
        mov     x1, #2                  // IMASK, still enabled: the output stays low
        msr     cntv_ctl_el0, x1
        adr     x0, s_done
        bl      puts
        ldr     x0, =SYSTEM_OFF
        hvc     #0
2:      wfi
        b       2b

// Arm the virtual timer TICKS ahead.
arm:
        mrs     x1, cntvct_el0
        add     x1, x1, #TICKS
        msr     cntv_cval_el0, x1
        mov     x1, #1
        msr     cntv_ctl_el0, x1
        isb
        ret

puts:
        ldr     x2, =UART
4:      ldrb    w1, [x0], #1
        cbz     w1, 5f
        strb    w1, [x2]
        b       4b
5:      ret

        .balign 2048
vectors:
        .balign 0x80                    // current EL with SP_EL0: unused
        b       .
        .balign 0x80
        b       .
        .balign 0x80
        b       .
        .balign 0x80
        b       .
        .balign 0x80                    // current EL with SP_ELx: sync
        b       .
        .balign 0x80                    // IRQ
        b       irq_entry
        .balign 0x80
        b       .
        .balign 0x80
        b       .

irq_entry:
        // The handler calls puts/arm: keep x30 and the scratch registers on the stack.
        stp     x29, x30, [sp, #-16]!
        stp     x0, x1, [sp, #-16]!
        stp     x2, x3, [sp, #-16]!
        stp     x4, x5, [sp, #-16]!
        bl      irq_body
        ldp     x4, x5, [sp], #16
        ldp     x2, x3, [sp], #16
        ldp     x0, x1, [sp], #16
        ldp     x29, x30, [sp], #16
        eret

irq_body:
        str     x30, [sp, #-16]!
        ldr     w22, [x20, #0x0c]
        and     w23, w22, #0x3ff
        cmp     w23, #1023
        b.eq    6f
        add     x21, x21, #1
        adr     x0, s_irq
        bl      puts
        mov     w1, w23
        mov     w2, #10
        udiv    w3, w1, w2
        msub    w4, w3, w2, w1
        ldr     x5, =UART
        add     w3, w3, #'0'
        strb    w3, [x5]
        add     w4, w4, #'0'
        strb    w4, [x5]
        mov     w3, #'\n'
        strb    w3, [x5]
        bl      arm
        str     w22, [x20, #0x10]
6:      ldr     x30, [sp], #16
        ret

        .ltorg
s_hello: .asciz "arm64-timer guest\n"
s_irq:   .asciz "irq "
s_done:  .asciz "three timer interrupts\n"
