/**
 * A memory access that did not complete, as the translation regime reports
 * it (Arm ARM D8.15 "MMU faults"). Thrown out of an instruction and turned
 * into an exception to EL1 (stage 1, alignment, external abort) or an exit
 * to EL2 (stage 2) by the run loop.
 */
export class Abort {
  constructor(
    /** Taken to EL2 (a stage-2 fault, including one on a stage-1 table walk). */
    public readonly stage2: boolean,
    /** The fault status code for DFSC/IFSC (ESR ISS[5:0]). */
    public readonly fsc: number,
    /** The faulting virtual address (FAR). */
    public readonly va: bigint,
    /** The faulting IPA for a stage-2 fault (HPFAR). */
    public readonly ipa: number,
    /** The stage-2 fault was on a stage-1 translation table walk (ISS.S1PTW). */
    public readonly s1ptw: boolean,
  ) {}
}

/** Fault status codes (Arm ARM D17.2.40, DFSC). */
export const FSC_ADDR_SIZE = 0x00;
export const FSC_TRANSLATION = 0x04;
export const FSC_ACCESS_FLAG = 0x08;
export const FSC_PERMISSION = 0x0c;
export const FSC_EXTERNAL = 0x10;
export const FSC_ALIGNMENT = 0x21;
