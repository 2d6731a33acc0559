// A bare-metal arm64 guest that asks the hypervisor's PSCI what it offers:
// PSCI_VERSION, PSCI_FEATURES(CPU_ON), CPU_ON of the vCPU with MPIDR 1
// (which prints its context id and MPIDR, then CPU_OFFs), AFFINITY_INFO
// until that vCPU is off, then SYSTEM_OFF. Every answer is printed on the
// PL011 at 0x09000000 as the raw x0 in hex. Entered at 0 (the board's
// flash, as QEMU -bios) with the MMU off; stacks and the flag are in RAM.
// With "wait" set to a character, it waits for one on the UART after the
// version and asks again (for migration: the same guest, before and after).

        .equ UART,            0x09000000
        .equ UARTFR,          0x18
        .equ PSCI_VERSION,    0x84000000
        .equ PSCI_FEATURES,   0x8400000a
        .equ CPU_OFF,         0x84000002
        .equ CPU_ON64,        0xc4000003
        .equ AFFINITY_INFO64, 0xc4000004
        .equ SYSTEM_OFF,      0x84000008
        .equ FLAG,            0x40200000      // +0: the secondary's context id; +8: GO
        .equ STACK0,          0x40100000
        .equ STACK1,          0x40110000

        .text
        .global _start
_start:
        ldr     x1, =STACK0
        mov     sp, x1
        adr     x0, s_hello
        bl      puts

        ldr     x0, =PSCI_VERSION
        hvc     #0
        mov     x19, x0
        adr     x0, s_version
        bl      puts
        mov     x0, x19
        bl      puthex

        // If a byte is waiting on the UART, this is a migration run: wait for
        // the second one (sent after the VM moved), then ask again.
        ldr     x2, =UART
        ldr     w1, [x2, #UARTFR]
        tbnz    w1, #4, 1f
        ldrb    w1, [x2]
        adr     x0, s_wait
        bl      puts
2:      ldr     w1, [x2, #UARTFR]
        tbnz    w1, #4, 2b
        ldrb    w1, [x2]
        ldr     x0, =PSCI_VERSION
        hvc     #0
        mov     x19, x0
        adr     x0, s_version
        bl      puts
        mov     x0, x19
        bl      puthex
1:
        ldr     x0, =PSCI_FEATURES
        ldr     x1, =CPU_ON64
        hvc     #0
        mov     x19, x0
        adr     x0, s_features
        bl      puts
        mov     x0, x19
        bl      puthex

        ldr     x20, =FLAG
        str     xzr, [x20]
        str     xzr, [x20, #8]
        ldr     x0, =CPU_ON64
        mov     x1, #1
        adr     x2, secondary
        ldr     x3, =0xc0ffee
        hvc     #0
        mov     x19, x0
        adr     x0, s_cpuon
        bl      puts
        mov     x0, x19
        bl      puthex
        cbnz    x19, off
        // The secondary prints once this line is out (GO), so the lines do not interleave.
        mov     x1, #1
        str     x1, [x20, #8]

        // Wait (bounded) for the secondary's flag.
        ldr     x21, =0x400000
3:      ldr     x1, [x20]
        cbnz    x1, 4f
        subs    x21, x21, #1
        b.ne    3b
        adr     x0, s_timeout
        bl      puts
        b       off
4:
        // AFFINITY_INFO(MPIDR 1, level 0) until it reads OFF (1), bounded.
        ldr     x21, =0x100000
5:      ldr     x0, =AFFINITY_INFO64
        mov     x1, #1
        mov     x2, #0
        hvc     #0
        cmp     x0, #1
        b.eq    6f
        subs    x21, x21, #1
        b.ne    5b
6:      mov     x19, x0
        adr     x0, s_aff
        bl      puts
        mov     x0, x19
        bl      puthex

off:
        adr     x0, s_off
        bl      puts
        ldr     x0, =SYSTEM_OFF
        hvc     #0
        mov     x19, x0
        adr     x0, s_offfail
        bl      puts
        mov     x0, x19
        bl      puthex
7:      wfi
        b       7b

// CPU_ON's entry point: x0 is the context id.
secondary:
        ldr     x1, =STACK1
        mov     sp, x1
        mov     x19, x0
        mrs     x20, mpidr_el1
        ldr     x1, =FLAG
12:     ldr     x2, [x1, #8]
        cbz     x2, 12b
        adr     x0, s_sec
        bl      puts
        mov     x0, x19
        bl      puthex
        adr     x0, s_mpidr
        bl      puts
        mov     x0, x20
        bl      puthex
        ldr     x1, =FLAG
        str     x19, [x1]
        ldr     x0, =CPU_OFF
        hvc     #0
        adr     x0, s_secfail
        bl      puts
8:      wfi
        b       8b

// puts(x0): a NUL-terminated string to the UART. Clobbers x0-x2.
puts:
        ldr     x2, =UART
9:      ldrb    w1, [x0], #1
        cbz     w1, 10f
        strb    w1, [x2]
        b       9b
10:     ret

// puthex(x0): "0x" and 16 hex digits, then a newline. Clobbers x0-x4.
puthex:
        ldr     x2, =UART
        mov     w1, #'0'
        strb    w1, [x2]
        mov     w1, #'x'
        strb    w1, [x2]
        mov     x3, #60
11:     lsr     x4, x0, x3
        and     x4, x4, #0xf
        cmp     x4, #10
        add     x1, x4, #'0'
        add     x4, x4, #('a' - 10)
        csel    x1, x1, x4, lo
        strb    w1, [x2]
        subs    x3, x3, #4
        b.pl    11b
        mov     w1, #'\n'
        strb    w1, [x2]
        ret

        .ltorg
s_hello:    .asciz "arm64-psci guest\n"
s_version:  .asciz "PSCI_VERSION: "
s_wait:     .asciz "waiting\n"
s_features: .asciz "PSCI_FEATURES(CPU_ON): "
s_cpuon:    .asciz "CPU_ON(1): "
s_timeout:  .asciz "cpu1 never came up\n"
s_aff:      .asciz "AFFINITY_INFO(1): "
s_off:      .asciz "SYSTEM_OFF\n"
s_offfail:  .asciz "SYSTEM_OFF returned: "
s_sec:      .asciz "cpu1 up, x0="
s_mpidr:    .asciz "cpu1 MPIDR: "
s_secfail:  .asciz "CPU_OFF returned\n"
