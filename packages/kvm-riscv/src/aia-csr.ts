import type { KvmVcpu } from '@tsvirt/kvm-core';
import { CSR_SIREG, CSR_STOPEI, CSR_VSISELECT } from '@tsvirt/riscv-hart';
import { riscvVcpu } from './state.ts';

/** siselect values of the major-interrupt priority registers (iprio0..iprio15). */
const ISELECT_IPRIO0 = 0x30;
const ISELECT_IPRIO15 = 0x3f;

/**
 * The AIA rows of KVM's CSR emulation table (vcpu_insn.c csr_funcs:
 * kvm_riscv_vcpu_aia_rmw_topei() and kvm_riscv_vcpu_aia_rmw_ireg()): a
 * guest `sireg`/`stopei` access that trapped as a virtual instruction
 * because its vCPU has a software IMSIC file (EMUL mode, hstatus.VGEIN = 0),
 * or a `sireg` access to the major-interrupt priorities, which no guest
 * file holds. The file answers as the hardware one would; the priorities
 * read as zero and ignore writes (the default priority order, which the
 * spec allows hardwiring). Returns false when this is not such an access
 * or the register does not exist: the guest then gets an illegal
 * instruction, as KVM_INSN_ILLEGAL_TRAP.
 */
export function aiaEmulateCsr(vcpu: KvmVcpu, insn: number): boolean {
  if ((insn & 0x7f) !== 0x73) return false;
  const f3 = (insn >>> 12) & 7;
  if (f3 === 0 || f3 === 4) return false;
  const csr = insn >>> 20;
  if (csr !== CSR_SIREG && csr !== CSR_STOPEI) return false;
  const s = riscvVcpu(vcpu);
  const h = s.hart;
  const rd = (insn >>> 7) & 31;
  const rs1 = (insn >>> 15) & 31;
  const src = f3 >= 5 ? BigInt(rs1) : h.getX(rs1);
  const write = (f3 & 3) === 1 || rs1 !== 0;
  const merge = (old: bigint) =>
    BigInt.asUintN(64, (f3 & 3) === 1 ? src : (f3 & 3) === 2 ? old | src : old & ~src);
  const isel = Number(h.getCsr(CSR_VSISELECT));
  let old: bigint;
  if (csr === CSR_SIREG && isel >= ISELECT_IPRIO0 && isel <= ISELECT_IPRIO15) {
    if (isel & 1) return false; // odd iprio registers do not exist on RV64
    old = 0n;
  } else {
    const f = s.aia.file;
    if (f === undefined || s.aia.hardware) return false;
    if (csr === CSR_STOPEI) {
      old = BigInt(f.topei());
      if (write) f.claim();
    } else {
      if (!f.hasRegister(isel)) return false;
      old = f.read(isel);
      if (write) f.write(isel, merge(old));
    }
  }
  if (rd !== 0) h.setX(rd, old);
  h.pc += 4n;
  s.completedInsns++;
  return true;
}
