import { isKernelError } from '@tsvirt/core-bus';
import type { KvmVcpu } from '@tsvirt/kvm-core';
import {
  CSR_VSATP,
  CSR_VSTIMECMP,
  EXC_LOAD_PAGE_FAULT,
  MIP_VSSIP,
  MIP_VSTIP,
  PRV_S,
  SR_FS_INITIAL,
} from '@tsvirt/riscv-hart';
import { riscvVcpu } from './state.ts';

const U64_MAX = (1n << 64n) - 1n;
const PPN_MASK = (1n << 44n) - 1n;

/**
 * kvm_riscv_vcpu_power_on() after an HSM start: the vCPU resets
 * (kvm_riscv_reset_vcpu(): VS-mode, the guest's satp and timer off, soft and
 * timer interrupts dropped) and enters at `start` with a0 = its hart id and
 * a1 = `opaque`.
 */
export function vcpuPowerOn(vcpu: KvmVcpu, start: bigint, opaque: bigint): void {
  const s = riscvVcpu(vcpu);
  const h = s.hart;
  h.setMode(PRV_S, 1);
  h.pc = start;
  h.setX(10, BigInt(vcpu.vcpuId));
  h.setX(11, opaque);
  h.vsstatus = SR_FS_INITIAL;
  h.setCsr(CSR_VSATP, 0n);
  h.setCsr(CSR_VSTIMECMP, U64_MAX);
  h.hvip &= ~(MIP_VSSIP | MIP_VSTIP);
  h.flushAllTlb();
  h.flushCodeCache(); // a hart coming online runs whatever code is there now
  s.timerOn = false;
  s.blocked = false;
  s.suspended = false;
  s.powerOff = false;
}

/** kvm_riscv_vcpu_power_off(): mp_state STOPPED, nothing runs it until an HSM start or SET_MP_STATE. */
export function vcpuPowerOff(vcpu: KvmVcpu): void {
  const s = riscvVcpu(vcpu);
  s.powerOff = true;
  s.blocked = false;
  s.suspended = false;
}

/** kvm_arch_vcpu_runnable(): an enabled VS interrupt is pending and the vCPU is on. */
export function vcpuHasInterrupts(vcpu: KvmVcpu): boolean {
  const h = riscvVcpu(vcpu).hart;
  return (h.hip() & h.hie) !== 0;
}

/**
 * The hart-mask walk of kvm_sbi_ext_ipi_handler(): every vCPU whose id is in
 * hmask relative to hbase (all of them when hbase is -1UL). Returns the
 * targets and whether every requested bit named a vCPU.
 */
export function hartMaskTargets(
  vcpu: KvmVcpu,
  hmask: bigint,
  hbase: bigint,
): { targets: KvmVcpu[]; complete: boolean } {
  const targets: KvmVcpu[] = [];
  let sent = 0n;
  for (const t of vcpu.vm.vcpus) {
    if (hbase !== U64_MAX) {
      const id = BigInt(t.vcpuId);
      if (id < hbase) continue;
      const bit = id - hbase;
      if (bit >= 64n) break;
      if (((hmask >> bit) & 1n) === 0n) continue;
      sent |= 1n << bit;
    }
    targets.push(t);
  }
  return { targets, complete: hbase === U64_MAX || (hmask ^ sent) === 0n };
}

/**
 * kvm_riscv_vcpu_unpriv_read(): `len` bytes at a guest virtual address,
 * through the guest's own satp (Sv39/Sv48) and the memslots, as the HLV
 * KVM uses would. undefined when it cannot be read, after a load page fault
 * has been redirected into the guest.
 */
export function readGuestVirt(vcpu: KvmVcpu, gva: bigint, len: number): Uint8Array | undefined {
  const h = riscvVcpu(vcpu).hart;
  const vm = vcpu.vm;
  const pte = new Uint8Array(8);
  const dv = new DataView(pte.buffer);
  try {
    const satp = h.getCsr(CSR_VSATP);
    const mode = Number(satp >> 60n);
    let gpa = gva;
    if (mode === 8 || mode === 9) {
      let table = (satp & PPN_MASK) << 12n;
      let found = false;
      for (let l = (mode === 8 ? 3 : 4) - 1; l >= 0; l--) {
        const shift = BigInt(12 + 9 * l);
        vm.readGuest(Number(table + ((gva >> shift) & 511n) * 8n), pte);
        const e = dv.getBigUint64(0, true);
        if ((e & 1n) === 0n) break;
        const ppn = (e >> 10n) & PPN_MASK;
        if ((e & 0xan) !== 0n) {
          const mask = (1n << shift) - 1n;
          gpa = ((ppn << 12n) & ~mask) | (gva & mask);
          found = true;
          break;
        }
        table = ppn << 12n;
      }
      if (!found) throw new Error('unmapped guest virtual address');
    }
    const out = new Uint8Array(len);
    vm.readGuest(Number(gpa), out);
    return out;
  } catch (e) {
    if (!isKernelError(e) && !(e instanceof Error)) throw e;
    h.redirectTrap(EXC_LOAD_PAGE_FAULT, gva);
    return undefined;
  }
}

/** An unsigned long at a guest virtual address (the v0.1 calls pass hart masks by pointer). */
export function readGuestUlong(vcpu: KvmVcpu, gva: bigint): bigint | undefined {
  const b = readGuestVirt(vcpu, gva, 8);
  return b === undefined ? undefined : new DataView(b.buffer).getBigUint64(0, true);
}
