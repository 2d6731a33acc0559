import { fail } from '@tsvirt/core-bus';
import {
  KVM_EXIT_MMIO,
  KVM_EXIT_RISCV_SBI,
  KVM_REG_RISCV,
  KVM_REG_SIZE_U64,
  KVM_REG_SIZE_U128,
  type KvmArchOps,
  type KvmMemorySlot,
  type KvmMrChange,
  type KvmRun,
  type KvmVcpu,
  type KvmVm,
} from '../src/index.ts';

/** One step of the fake guest's program. */
export type GuestOp =
  | { op: 'load'; gpa: number; len: number; reg: string }
  | { op: 'store'; gpa: number; data: number[] }
  | { op: 'sbi'; ext: bigint; fn: bigint; args: bigint[] }
  | { op: 'system-event'; type: number; data: bigint[] }
  | { op: 'internal'; suberror: number; data: bigint[] }
  | { op: 'write-page'; gfn: number };

export interface FakeVcpuState {
  program: GuestOp[];
  pc: number;
  regs: Map<string, bigint>;
  one: Map<bigint, bigint | Uint8Array>;
  pendingLoad: { reg: string; len: number } | undefined;
  sbiRet: bigint[] | undefined;
  interrupts: number[];
}

export const REG_A = KVM_REG_RISCV | KVM_REG_SIZE_U64 | 0x1n;
export const REG_B = KVM_REG_RISCV | KVM_REG_SIZE_U64 | 0x2n;
export const REG_WIDE = KVM_REG_RISCV | KVM_REG_SIZE_U128 | 0x3n;

/** A fake architecture that records every hook call and can be told to refuse. */
export class FakeArch implements KvmArchOps {
  readonly name = 'fake';
  maxVcpus = 4;
  maxVcpuIds = 8;
  readonly log: string[] = [];
  readonly wp: { slot: number; offset: number; mask: bigint }[] = [];
  readonly irqs: { gsi: number; level: number }[] = [];
  readonly bypass: string[] = [];
  failPrepare: string | undefined;
  failVcpuCreate = false;
  intcReady = true;
  /** Pages the fake stage-2 has mapped writable, by gfn (cleared by wp and flushes). */
  readonly writable = new Set<number>();

  vmInit(vm: KvmVm, type: number): void {
    if (type !== 0) fail('EINVAL', 'fake arch takes type 0');
    vm.arch = { inited: true };
    this.log.push('vmInit');
  }
  vmDestroy(_vm: KvmVm): void {
    this.log.push('vmDestroy');
  }
  prepareMemoryRegion(
    _vm: KvmVm,
    old: KvmMemorySlot | undefined,
    next: KvmMemorySlot | undefined,
    c: KvmMrChange,
  ) {
    this.log.push(`prepare:${c}:${old?.id ?? '-'}:${next?.id ?? '-'}`);
    if (this.failPrepare) fail('ENOMEM', this.failPrepare);
  }
  commitMemoryRegion(
    _vm: KvmVm,
    old: KvmMemorySlot | undefined,
    next: KvmMemorySlot | undefined,
    c: KvmMrChange,
  ) {
    this.log.push(`commit:${c}:${old?.id ?? '-'}:${next?.id ?? '-'}`);
  }
  flushShadowMemslot(_vm: KvmVm, slot: KvmMemorySlot): void {
    this.log.push(`flush:${slot.id}`);
    for (let g = slot.baseGfn; g < slot.endGfn; g++) this.writable.delete(g);
  }
  unmapGfnRange(_vm: KvmVm, slot: KvmMemorySlot, start: number, end: number): void {
    this.log.push(`unmap:${slot.id}:${start.toString(16)}-${end.toString(16)}`);
  }
  flushShadowAll(_vm: KvmVm): void {
    this.log.push('flushAll');
    this.writable.clear();
  }
  enableLogDirtyPtMasked(_vm: KvmVm, slot: KvmMemorySlot, offset: number, mask: bigint): void {
    this.wp.push({ slot: slot.id, offset, mask });
    for (let i = 0; i < 64; i++)
      if ((mask >> BigInt(i)) & 1n) this.writable.delete(slot.baseGfn + offset + i);
  }
  vcpuCreate(vcpu: KvmVcpu): void {
    if (this.failVcpuCreate) fail('ENOMEM', 'fake vcpu create refused');
    const st: FakeVcpuState = {
      program: [],
      pc: 0,
      regs: new Map(),
      one: new Map<bigint, bigint | Uint8Array>([
        [REG_A, 0n],
        [REG_B, 0n],
        [REG_WIDE, new Uint8Array(16)],
      ]),
      pendingLoad: undefined,
      sbiRet: undefined,
      interrupts: [],
    };
    vcpu.arch = st;
    this.log.push(`vcpuCreate:${vcpu.vcpuId}`);
  }
  vcpuDestroy(vcpu: KvmVcpu): void {
    this.log.push(`vcpuDestroy:${vcpu.vcpuId}`);
  }
  vcpuCompleteExit(vcpu: KvmVcpu, run: KvmRun): void {
    const st = vcpu.arch as FakeVcpuState;
    if (run.exit_reason === KVM_EXIT_MMIO && st.pendingLoad !== undefined) {
      let v = 0n;
      for (let i = st.pendingLoad.len - 1; i >= 0; i--) v = (v << 8n) | BigInt(run.mmio.data[i]!);
      st.regs.set(st.pendingLoad.reg, v);
      st.pendingLoad = undefined;
    } else if (run.exit_reason === KVM_EXIT_RISCV_SBI) {
      st.sbiRet = [...run.riscv_sbi.ret];
    }
  }
  /** Runs the program until an op exits to user space; the program ending is an internal error. */
  vcpuRun(vcpu: KvmVcpu, _run: KvmRun): void {
    const st = vcpu.arch as FakeVcpuState;
    for (;;) {
      const op = st.program[st.pc++];
      if (op === undefined) {
        vcpu.exitInternalError(4, [BigInt(st.pc)]);
        return;
      }
      switch (op.op) {
        case 'load': {
          const data = new Uint8Array(op.len);
          if (vcpu.emulateMmio(op.gpa, data, false)) {
            let v = 0n;
            for (let i = op.len - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i]!);
            st.regs.set(op.reg, v);
            continue;
          }
          st.pendingLoad = { reg: op.reg, len: op.len };
          return;
        }
        case 'store':
          if (vcpu.emulateMmio(op.gpa, Uint8Array.from(op.data), true)) continue;
          return;
        case 'sbi':
          vcpu.exitRiscvSbi(op.ext, op.fn, op.args);
          return;
        case 'system-event':
          vcpu.exitSystemEvent(op.type, op.data);
          return;
        case 'internal':
          vcpu.exitInternalError(op.suberror, op.data);
          return;
        case 'write-page':
          if (!this.writable.has(op.gfn)) {
            vcpu.markPageDirty(op.gfn);
            this.writable.add(op.gfn);
          }
          continue;
      }
    }
  }
  getOneReg(vcpu: KvmVcpu, id: bigint): bigint | Uint8Array {
    const v = (vcpu.arch as FakeVcpuState).one.get(id);
    if (v === undefined) fail('ENOENT', 'no such register');
    return v;
  }
  setOneReg(vcpu: KvmVcpu, id: bigint, value: bigint | Uint8Array): void {
    const st = vcpu.arch as FakeVcpuState;
    if (!st.one.has(id)) fail('ENOENT', 'no such register');
    if (vcpu.hasRun && id === REG_B) fail('EBUSY', 'REG_B is frozen after the first run');
    st.one.set(id, value);
  }
  getRegList(vcpu: KvmVcpu): bigint[] {
    return [...(vcpu.arch as FakeVcpuState).one.keys()];
  }
  setIrq(_vm: KvmVm, gsi: number, level: number): void {
    this.irqs.push({ gsi, level });
  }
  intcInitialized(): boolean {
    return this.intcReady;
  }
  vcpuInterrupt(vcpu: KvmVcpu, irq: number): void {
    (vcpu.arch as FakeVcpuState).interrupts.push(irq);
  }
  irqBypassAddProducer(_vm: KvmVm, hostIrq: number, gsi: number): void {
    this.bypass.push(`add:${hostIrq}:${gsi}`);
  }
  irqBypassDelProducer(_vm: KvmVm, hostIrq: number, gsi: number): void {
    this.bypass.push(`del:${hostIrq}:${gsi}`);
  }
}

export function fakeState(vcpu: KvmVcpu): FakeVcpuState {
  return vcpu.arch as FakeVcpuState;
}
