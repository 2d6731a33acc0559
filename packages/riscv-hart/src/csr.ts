// CSR numbers, trap causes and status bits of the RISC-V privileged
// specification (H extension included), as the Linux headers name them.

/** fflags: accrued floating-point exception flags. */
export const CSR_FFLAGS = 0x001;
/** frm: dynamic floating-point rounding mode. */
export const CSR_FRM = 0x002;
/** fcsr: frm and fflags together. */
export const CSR_FCSR = 0x003;

/** cycle: cycle counter. */
export const CSR_CYCLE = 0xc00;
/** time: real-time counter. */
export const CSR_TIME = 0xc01;
/** instret: instructions-retired counter. */
export const CSR_INSTRET = 0xc02;
/** hpmcounter3: first hardware performance counter. */
export const CSR_HPMCOUNTER3 = 0xc03;
/** hpmcounter31: last hardware performance counter. */
export const CSR_HPMCOUNTER31 = 0xc1f;

/** sstatus: supervisor status. */
export const CSR_SSTATUS = 0x100;
/** sie: supervisor interrupt enable. */
export const CSR_SIE = 0x104;
/** stvec: supervisor trap vector. */
export const CSR_STVEC = 0x105;
/** scounteren: counter access enable for U-mode. */
export const CSR_SCOUNTEREN = 0x106;
/** senvcfg: supervisor environment configuration. */
export const CSR_SENVCFG = 0x10a;
/** sscratch: supervisor scratch register. */
export const CSR_SSCRATCH = 0x140;
/** sepc: supervisor exception PC. */
export const CSR_SEPC = 0x141;
/** scause: supervisor trap cause. */
export const CSR_SCAUSE = 0x142;
/** stval: supervisor trap value. */
export const CSR_STVAL = 0x143;
/** sip: supervisor interrupt pending. */
export const CSR_SIP = 0x144;
/** stimecmp: supervisor timer compare (Sstc). */
export const CSR_STIMECMP = 0x14d;
/** satp: supervisor address translation and protection. */
export const CSR_SATP = 0x180;

/** vsstatus: virtual supervisor status. */
export const CSR_VSSTATUS = 0x200;
/** vsie: virtual supervisor interrupt enable. */
export const CSR_VSIE = 0x204;
/** vstvec: virtual supervisor trap vector. */
export const CSR_VSTVEC = 0x205;
/** vsscratch: virtual supervisor scratch register. */
export const CSR_VSSCRATCH = 0x240;
/** vsepc: virtual supervisor exception PC. */
export const CSR_VSEPC = 0x241;
/** vscause: virtual supervisor trap cause. */
export const CSR_VSCAUSE = 0x242;
/** vstval: virtual supervisor trap value. */
export const CSR_VSTVAL = 0x243;
/** vsip: virtual supervisor interrupt pending. */
export const CSR_VSIP = 0x244;
/** vstimecmp: virtual supervisor timer compare (Sstc). */
export const CSR_VSTIMECMP = 0x24d;
/** vsatp: virtual supervisor address translation. */
export const CSR_VSATP = 0x280;

/** hstatus: hypervisor status. */
export const CSR_HSTATUS = 0x600;
/** hedeleg: exceptions delegated to VS-mode. */
export const CSR_HEDELEG = 0x602;
/** hideleg: interrupts delegated to VS-mode. */
export const CSR_HIDELEG = 0x603;
/** hie: hypervisor interrupt enable. */
export const CSR_HIE = 0x604;
/** htimedelta: offset of the guest's time from the host's. */
export const CSR_HTIMEDELTA = 0x605;
/** hcounteren: counter access enable for VS/VU-mode. */
export const CSR_HCOUNTEREN = 0x606;
/** hgeie: guest external interrupt enable. */
export const CSR_HGEIE = 0x607;
/** henvcfg: hypervisor environment configuration. */
export const CSR_HENVCFG = 0x60a;
/** htval: hypervisor trap value (guest physical address >> 2). */
export const CSR_HTVAL = 0x643;
/** hip: hypervisor interrupt pending. */
export const CSR_HIP = 0x644;
/** hvip: virtual interrupts the hypervisor injects. */
export const CSR_HVIP = 0x645;
/** htinst: hypervisor trap instruction (transformed). */
export const CSR_HTINST = 0x64a;
/** hgatp: G-stage address translation and protection. */
export const CSR_HGATP = 0x680;
/** hgeip: guest external interrupt pending. */
export const CSR_HGEIP = 0xe12;

/** mstatus: the M-level view; only FS, SUM and MXR matter to a VS guest. */
export const CSR_MSTATUS = 0x300;

// Exception codes (scause with the interrupt bit clear).
/** Instruction address misaligned. */
export const EXC_INST_MISALIGNED = 0;
/** Instruction access fault. */
export const EXC_INST_ACCESS = 1;
/** Illegal instruction. */
export const EXC_ILLEGAL_INST = 2;
/** Breakpoint. */
export const EXC_BREAKPOINT = 3;
/** Load address misaligned. */
export const EXC_LOAD_MISALIGNED = 4;
/** Load access fault. */
export const EXC_LOAD_ACCESS = 5;
/** Store/AMO address misaligned. */
export const EXC_STORE_MISALIGNED = 6;
/** Store/AMO access fault. */
export const EXC_STORE_ACCESS = 7;
/** Environment call from U-mode or VU-mode. */
export const EXC_ECALL_U = 8; // also from VU
/** Environment call from HS-mode. */
export const EXC_ECALL_HS = 9;
/** Environment call from VS-mode. */
export const EXC_ECALL_VS = 10;
/** Environment call from M-mode. */
export const EXC_ECALL_M = 11;
/** Instruction page fault. */
export const EXC_INST_PAGE_FAULT = 12;
/** Load page fault. */
export const EXC_LOAD_PAGE_FAULT = 13;
/** Store/AMO page fault. */
export const EXC_STORE_PAGE_FAULT = 15;
/** Instruction guest-page fault (G-stage). */
export const EXC_INST_GUEST_PAGE_FAULT = 20;
/** Load guest-page fault (G-stage). */
export const EXC_LOAD_GUEST_PAGE_FAULT = 21;
/** Virtual instruction. */
export const EXC_VIRTUAL_INST = 22;
/** Store/AMO guest-page fault (G-stage). */
export const EXC_STORE_GUEST_PAGE_FAULT = 23;

// Interrupt numbers (bit positions in hip/hie/hvip).
/** Supervisor software interrupt. */
export const IRQ_S_SOFT = 1;
/** Virtual supervisor software interrupt. */
export const IRQ_VS_SOFT = 2;
/** Supervisor timer interrupt. */
export const IRQ_S_TIMER = 5;
/** Virtual supervisor timer interrupt. */
export const IRQ_VS_TIMER = 6;
/** Supervisor external interrupt. */
export const IRQ_S_EXT = 9;
/** Virtual supervisor external interrupt. */
export const IRQ_VS_EXT = 10;
/** Supervisor guest external interrupt. */
export const IRQ_S_GEXT = 12;

/** VSSIP: VS-level software interrupt pending. */
export const MIP_VSSIP = 1 << IRQ_VS_SOFT;
/** VSTIP: VS-level timer interrupt pending. */
export const MIP_VSTIP = 1 << IRQ_VS_TIMER;
/** VSEIP: VS-level external interrupt pending. */
export const MIP_VSEIP = 1 << IRQ_VS_EXT;
/** SGEIP: supervisor guest external interrupt pending. */
export const MIP_SGEIP = 1 << IRQ_S_GEXT;
/** All VS-level interrupt bits. */
export const VS_INTERRUPTS = MIP_VSSIP | MIP_VSTIP | MIP_VSEIP;

// sstatus / vsstatus bits (low 32 bits; UXL and SD are composed on read).
/** SIE: supervisor interrupts enabled. */
export const SR_SIE = 1 << 1;
/** SPIE: SIE before the last trap. */
export const SR_SPIE = 1 << 5;
/** SPP: privilege before the last trap (1 = S). */
export const SR_SPP = 1 << 8;
/** FS: floating-point unit state field. */
export const SR_FS = 3 << 13;
/** FS value: off (FP instructions trap). */
export const SR_FS_OFF = 0;
/** FS value: initial. */
export const SR_FS_INITIAL = 1 << 13;
/** FS value: clean. */
export const SR_FS_CLEAN = 2 << 13;
/** FS value: dirty. */
export const SR_FS_DIRTY = 3 << 13;
/** SUM: S-mode may access user pages. */
export const SR_SUM = 1 << 18;
/** MXR: loads from execute-only pages succeed. */
export const SR_MXR = 1 << 19;
/** Bits a write to sstatus or vsstatus may change. */
export const SSTATUS_WRITABLE = SR_SIE | SR_SPIE | SR_SPP | SR_FS | SR_SUM | SR_MXR;

// hstatus bits.
/** GVA: the trap value is a guest virtual address. */
export const HSTATUS_GVA = 1 << 6;
/** SPV: V before the last trap into HS-mode. */
export const HSTATUS_SPV = 1 << 7;
/** SPVP: the guest's privilege before the last trap (1 = VS). */
export const HSTATUS_SPVP = 1 << 8;
/** HU: U-mode may run hypervisor load/store instructions. */
export const HSTATUS_HU = 1 << 9;
/** VTVM: trap VS-mode SFENCE.VMA and satp accesses. */
export const HSTATUS_VTVM = 1 << 20;
/** VTW: trap VS-mode WFI after a bounded time. */
export const HSTATUS_VTW = 1 << 21;
/** VTSR: trap VS-mode SRET. */
export const HSTATUS_VTSR = 1 << 22;
/** hstatus bits this model lets software change. */
export const HSTATUS_WRITABLE =
  HSTATUS_GVA | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_HU | HSTATUS_VTVM | HSTATUS_VTW | HSTATUS_VTSR;

/** hedeleg bits that may be set: 9-11 and 20-23 are read-only zero (H spec, hedeleg). */
export const HEDELEG_WRITABLE = 0xb1ff;
/** hideleg: only the VS-level interrupts are delegable. */
export const HIDELEG_WRITABLE = VS_INTERRUPTS;

/** henvcfg.STCE (bit 63) enables Sstc's vstimecmp for the guest. */
export const ENVCFG_STCE = 1n << 63n;

// satp / vsatp / hgatp MODE values.
/** Translation off. */
export const SATP_MODE_BARE = 0;
/** Sv39 paging. */
export const SATP_MODE_SV39 = 8;
/** Sv48 paging. */
export const SATP_MODE_SV48 = 9;
/** Sv39x4 G-stage paging. */
export const HGATP_MODE_SV39X4 = 8;
/** Sv48x4 G-stage paging. */
export const HGATP_MODE_SV48X4 = 9;
/** Width of the hgatp VMID field this model implements. */
export const HGATP_VMID_BITS = 14;

/** Privilege levels (the `priv` field; V is separate). */
export const PRV_U = 0;
/** Supervisor privilege. */
export const PRV_S = 1;
/** Machine privilege. */
export const PRV_M = 3;
