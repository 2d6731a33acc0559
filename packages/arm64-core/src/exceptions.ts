/**
 * Control-flow signals out of one instruction. The run loop catches them:
 * a synchronous exception is taken to EL1 through VBAR_EL1, an EL2 exit ends
 * run() with the ESR_EL2 syndrome.
 */

/** A synchronous exception for EL1 (ESR_EL1 = ec:IL:iss, ELR_EL1 = the instruction or `returnPc`). */
export class SyncException {
  constructor(
    public readonly ec: number,
    public readonly iss: number,
    /** Preferred return address when it is not the instruction itself (SVC). */
    public readonly returnPc?: bigint,
    /** FAR_EL1 for aborts and alignment faults. */
    public readonly far?: bigint,
  ) {}
}

/** Something EL2 handles: ends run() with kind 'trap'. */
export class El2Exit {
  constructor(
    public readonly ec: number,
    public readonly iss: number,
    /** ELR_EL2: the preferred return (next instruction for HVC, the instruction otherwise). */
    public readonly returnPc: bigint,
    /** The instruction completed (HVC) and counts as retired. */
    public readonly retired: boolean,
  ) {}
}

/** ESR_ELx exception classes used towards EL1 (Arm ARM D17.2.37). */
export const EC_UNKNOWN = 0x00;
export const EC_FP_ACCESS = 0x07;
export const EC_ILLEGAL_STATE = 0x0e;
export const EC_SVC64 = 0x15;
export const EC_SYS64 = 0x18;
export const EC_IABT_LOW = 0x20;
export const EC_IABT_CUR = 0x21;
export const EC_PC_ALIGN = 0x22;
export const EC_DABT_LOW = 0x24;
export const EC_DABT_CUR = 0x25;
export const EC_SP_ALIGN = 0x26;
export const EC_BRK64 = 0x3c;

/** The UNDEFINED instruction exception. */
export function undefinedInstruction(): SyncException {
  return new SyncException(EC_UNKNOWN, 0);
}
