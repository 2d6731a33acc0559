// fcsr fields and the OP-FP encodings, as the RISC-V unprivileged spec defines them.

/** fflags bits. */
export const FFLAG_NV = 0x10;
export const FFLAG_DZ = 0x08;
export const FFLAG_OF = 0x04;
export const FFLAG_UF = 0x02;
export const FFLAG_NX = 0x01;

/** Rounding modes (frm and the rm field); 5 and 6 are reserved, 7 means "use frm". */
export const RM_RNE = 0;
export const RM_RTZ = 1;
export const RM_RDN = 2;
export const RM_RUP = 3;
export const RM_RMM = 4;
export const RM_DYN = 7;

/** Major opcodes this unit executes. */
export const OPC_MADD = 0x43;
export const OPC_MSUB = 0x47;
export const OPC_NMSUB = 0x4b;
export const OPC_NMADD = 0x4f;
export const OPC_OP_FP = 0x53;

/** The canonical NaNs (positive, quiet, zero payload). */
export const CANONICAL_NAN_S = 0x7fc00000;
export const CANONICAL_NAN_D_HI = 0x7ff80000;

/** FCLASS result bits. */
export const FCLASS_NEG_INF = 1 << 0;
export const FCLASS_NEG_NORMAL = 1 << 1;
export const FCLASS_NEG_SUBNORMAL = 1 << 2;
export const FCLASS_NEG_ZERO = 1 << 3;
export const FCLASS_POS_ZERO = 1 << 4;
export const FCLASS_POS_SUBNORMAL = 1 << 5;
export const FCLASS_POS_NORMAL = 1 << 6;
export const FCLASS_POS_INF = 1 << 7;
export const FCLASS_SNAN = 1 << 8;
export const FCLASS_QNAN = 1 << 9;
