// CSR numbers, trap causes and status bits of the RISC-V privileged
// specification (H extension included), as the Linux headers name them.

export const CSR_FFLAGS = 0x001;
export const CSR_FRM = 0x002;
export const CSR_FCSR = 0x003;

export const CSR_CYCLE = 0xc00;
export const CSR_TIME = 0xc01;
export const CSR_INSTRET = 0xc02;
export const CSR_HPMCOUNTER3 = 0xc03;
export const CSR_HPMCOUNTER31 = 0xc1f;

export const CSR_SSTATUS = 0x100;
export const CSR_SIE = 0x104;
export const CSR_STVEC = 0x105;
export const CSR_SCOUNTEREN = 0x106;
export const CSR_SENVCFG = 0x10a;
export const CSR_SSCRATCH = 0x140;
export const CSR_SEPC = 0x141;
export const CSR_SCAUSE = 0x142;
export const CSR_STVAL = 0x143;
export const CSR_SIP = 0x144;
export const CSR_STIMECMP = 0x14d;
export const CSR_SATP = 0x180;

export const CSR_VSSTATUS = 0x200;
export const CSR_VSIE = 0x204;
export const CSR_VSTVEC = 0x205;
export const CSR_VSSCRATCH = 0x240;
export const CSR_VSEPC = 0x241;
export const CSR_VSCAUSE = 0x242;
export const CSR_VSTVAL = 0x243;
export const CSR_VSIP = 0x244;
export const CSR_VSTIMECMP = 0x24d;
export const CSR_VSATP = 0x280;

export const CSR_HSTATUS = 0x600;
export const CSR_HEDELEG = 0x602;
export const CSR_HIDELEG = 0x603;
export const CSR_HIE = 0x604;
export const CSR_HTIMEDELTA = 0x605;
export const CSR_HCOUNTEREN = 0x606;
export const CSR_HGEIE = 0x607;
export const CSR_HENVCFG = 0x60a;
export const CSR_HTVAL = 0x643;
export const CSR_HIP = 0x644;
export const CSR_HVIP = 0x645;
export const CSR_HTINST = 0x64a;
export const CSR_HGATP = 0x680;
export const CSR_HGEIP = 0xe12;

/** mstatus: the M-level view; only FS, SUM and MXR matter to a VS guest. */
export const CSR_MSTATUS = 0x300;

// Exception codes (scause with the interrupt bit clear).
export const EXC_INST_MISALIGNED = 0;
export const EXC_INST_ACCESS = 1;
export const EXC_ILLEGAL_INST = 2;
export const EXC_BREAKPOINT = 3;
export const EXC_LOAD_MISALIGNED = 4;
export const EXC_LOAD_ACCESS = 5;
export const EXC_STORE_MISALIGNED = 6;
export const EXC_STORE_ACCESS = 7;
export const EXC_ECALL_U = 8; // also from VU
export const EXC_ECALL_HS = 9;
export const EXC_ECALL_VS = 10;
export const EXC_ECALL_M = 11;
export const EXC_INST_PAGE_FAULT = 12;
export const EXC_LOAD_PAGE_FAULT = 13;
export const EXC_STORE_PAGE_FAULT = 15;
export const EXC_INST_GUEST_PAGE_FAULT = 20;
export const EXC_LOAD_GUEST_PAGE_FAULT = 21;
export const EXC_VIRTUAL_INST = 22;
export const EXC_STORE_GUEST_PAGE_FAULT = 23;

// Interrupt numbers (bit positions in hip/hie/hvip).
export const IRQ_S_SOFT = 1;
export const IRQ_VS_SOFT = 2;
export const IRQ_S_TIMER = 5;
export const IRQ_VS_TIMER = 6;
export const IRQ_S_EXT = 9;
export const IRQ_VS_EXT = 10;
export const IRQ_S_GEXT = 12;

export const MIP_VSSIP = 1 << IRQ_VS_SOFT;
export const MIP_VSTIP = 1 << IRQ_VS_TIMER;
export const MIP_VSEIP = 1 << IRQ_VS_EXT;
export const MIP_SGEIP = 1 << IRQ_S_GEXT;
export const VS_INTERRUPTS = MIP_VSSIP | MIP_VSTIP | MIP_VSEIP;

// sstatus / vsstatus bits (low 32 bits; UXL and SD are composed on read).
export const SR_SIE = 1 << 1;
export const SR_SPIE = 1 << 5;
export const SR_SPP = 1 << 8;
export const SR_FS = 3 << 13;
export const SR_FS_OFF = 0;
export const SR_FS_INITIAL = 1 << 13;
export const SR_FS_CLEAN = 2 << 13;
export const SR_FS_DIRTY = 3 << 13;
export const SR_SUM = 1 << 18;
export const SR_MXR = 1 << 19;
/** Bits a write to sstatus or vsstatus may change. */
export const SSTATUS_WRITABLE = SR_SIE | SR_SPIE | SR_SPP | SR_FS | SR_SUM | SR_MXR;

// hstatus bits.
export const HSTATUS_GVA = 1 << 6;
export const HSTATUS_SPV = 1 << 7;
export const HSTATUS_SPVP = 1 << 8;
export const HSTATUS_HU = 1 << 9;
export const HSTATUS_VTVM = 1 << 20;
export const HSTATUS_VTW = 1 << 21;
export const HSTATUS_VTSR = 1 << 22;
export const HSTATUS_WRITABLE =
  HSTATUS_GVA | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_HU | HSTATUS_VTVM | HSTATUS_VTW | HSTATUS_VTSR;

/** hedeleg bits that may be set: 9-11 and 20-23 are read-only zero (H spec, hedeleg). */
export const HEDELEG_WRITABLE = 0xb1ff;
/** hideleg: only the VS-level interrupts are delegable. */
export const HIDELEG_WRITABLE = VS_INTERRUPTS;

/** henvcfg.STCE (bit 63) enables Sstc's vstimecmp for the guest. */
export const ENVCFG_STCE = 1n << 63n;

// satp / vsatp / hgatp MODE values.
export const SATP_MODE_BARE = 0;
export const SATP_MODE_SV39 = 8;
export const SATP_MODE_SV48 = 9;
export const HGATP_MODE_SV39X4 = 8;
export const HGATP_MODE_SV48X4 = 9;
export const HGATP_VMID_BITS = 14;

/** Privilege levels (the `priv` field; V is separate). */
export const PRV_U = 0;
export const PRV_S = 1;
export const PRV_M = 3;
