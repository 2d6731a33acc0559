export { type DtbOptions, FDT_MAGIC, FdtNode, type FdtValue, fromDtb, toDtb, u64Cells } from './fdt.ts';
