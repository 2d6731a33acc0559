import { fail } from '@tsvirt/core-bus';
import { KVM_EXIT_INTR, KVM_REQ_TLB_FLUSH, type KvmRun, type KvmVcpu, type KvmVm } from '@tsvirt/kvm-core';
import {
  CSR_VSTIMECMP,
  EXC_ILLEGAL_INST,
  EXC_INST_GUEST_PAGE_FAULT,
  EXC_STORE_GUEST_PAGE_FAULT,
  expandCompressed,
  type HartExit,
  MIP_VSTIP,
} from '@tsvirt/riscv-hart';
import { aiaEmulateCsr } from './aia-csr.ts';
import { decodeMmio, mmioComplete, mmioStoreData } from './mmio.ts';
import { sbiEcall } from './sbi.ts';
import { type RiscvVcpuState, type RiscvVmState, riscvVcpu, riscvVm } from './state.ts';
import { readGuestVirt, vcpuHasInterrupts } from './vcpu-ops.ts';

const U64_MAX = (1n << 64n) - 1n;

/** kvm_arch_vcpu_runnable(): on, and not halted (or halted with an enabled interrupt pending). */
export function vcpuRunnable(vcpu: KvmVcpu): boolean {
  const s = riscvVcpu(vcpu);
  return !s.powerOff && (!s.blocked || vcpuHasInterrupts(vcpu));
}

/** Another vCPU of the VM is runnable: this one's spinning could be its time. */
function otherRunnable(vcpu: KvmVcpu): boolean {
  for (const o of vcpu.vm.vcpus) if (o !== vcpu && vcpuRunnable(o)) return true;
  return false;
}

/**
 * Every vCPU of the VM is stopped or halted: move the virtual clock to the
 * earliest deadline that can wake one (a vstimecmp with VSTIP enabled), as
 * the host would sleep until its hrtimer fires. false when nothing can wake
 * the VM but user space.
 */
export function idleSkip(vm: KvmVm): boolean {
  const st = riscvVm(vm);
  let best: bigint | undefined;
  for (const v of vm.vcpus) {
    const s = riscvVcpu(v);
    if (s.powerOff) continue;
    if (!s.blocked || vcpuHasInterrupts(v)) return true;
    const h = s.hart;
    if ((h.hie & MIP_VSTIP) === 0) continue;
    const cmp = h.getCsr(CSR_VSTIMECMP);
    if (cmp === U64_MAX) continue;
    const host = BigInt.asUintN(64, cmp - h.htimedelta);
    if (best === undefined || host < best) best = host;
  }
  if (best === undefined || best >= 1n << 53n) return false;
  st.skipTo(Number(best));
  return true;
}

const mmioBuf = new Uint8Array(8);

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

/** What a load/store KVM cannot emulate on MMIO is, by major opcode, for the error. */
function unemulated(insn: number): string {
  const x = (insn & 3) === 3 ? insn : expandCompressed(insn & 0xffff);
  const op = x & 0x7f;
  const kind = op === 0x07 ? 'FP load' : op === 0x27 ? 'FP store' : op === 0x2f ? 'atomic' : 'instruction';
  return `${kind} ${hex(insn >>> 0)}`;
}

/**
 * A guest-page fault (gstage_page_fault()): RAM is mapped and the guest
 * resumes; otherwise the load/store is decoded and emulated in the kernel
 * (ioeventfds, in-kernel devices) or prepared as KVM_EXIT_MMIO. Returns true
 * on an exit to user space. KVM_RUN fails as upstream does: EOPNOTSUPP for
 * a fetch outside memslots (gstage_page_fault()'s default case) or an access
 * kvm_riscv_vcpu_mmio_load()/_store() cannot decode (FP, atomics), EIO for
 * a misaligned MMIO access.
 */
function guestPageFault(vcpu: KvmVcpu, s: RiscvVcpuState, vs: RiscvVmState, e: HartExit): boolean {
  // fault_addr = (htval << 2) | (stval & 3), in unsigned long arithmetic.
  const gpaU64 = BigInt.asUintN(64, (e.htval << 2n) | (e.tval & 3n));
  const gpa = Number(gpaU64);
  const write = e.cause === EXC_STORE_GUEST_PAGE_FAULT;
  if (vs.mmu.handleFault(gpa, write) === 'mapped') return false;
  if (e.cause === EXC_INST_GUEST_PAGE_FAULT)
    fail('EOPNOTSUPP', `instruction fetch at gpa ${hex(gpaU64)}`, 'KVM_RUN');
  const h = s.hart;
  let insn = Number(e.htinst & 0xffff_ffffn);
  const fromHtinst = insn !== 0;
  if (!fromHtinst) {
    // No transformed instruction: read it at sepc, as KVM does with HLVX.
    const b = readGuestVirt(vcpu, e.pc, 4);
    if (b === undefined) return false;
    insn = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
  const d = decodeMmio(insn, fromHtinst);
  if (d === undefined) fail('EOPNOTSUPP', `${unemulated(insn)} on MMIO at gpa ${hex(gpaU64)}`, 'KVM_RUN');
  if (gpa % d.len !== 0)
    fail(
      'EIO',
      `misaligned ${d.len}-byte MMIO ${d.isWrite ? 'store' : 'load'} at gpa ${hex(gpaU64)}`,
      'KVM_RUN',
    );
  const data = d.isWrite ? mmioStoreData(h, d, mmioBuf) : mmioBuf.subarray(0, d.len).fill(0);
  if (vcpu.emulateMmio(gpa, data, d.isWrite)) {
    mmioComplete(h, d, data);
    s.completedInsns++;
    return false;
  }
  // A GPA past 2^53 is not exact as a number: user space gets the real one.
  vcpu.run.mmio.phys_addr = gpaU64;
  s.mmio = d;
  return true;
}

/**
 * Guest instructions this vCPU has completed: those its hart retired plus
 * those KVM or user space completed for it (MMIO loads/stores, SBI calls,
 * wfi). Those trapped, so they are not in the hart's instret, which the
 * guest reads and which, as on hardware, leaves them out.
 */
export function vcpuInstructions(vcpu: KvmVcpu): number {
  const s = riscvVcpu(vcpu);
  return s.hart.instret + s.completedInsns;
}

/**
 * The instructions a vCPU gets for its next turn: the quantum shared among
 * the runnable vCPUs, as CFS divides sched_latency by nr_running, but never
 * under an eighth of it (CFS's min_granularity). A vCPU running alone keeps
 * the whole quantum (fewer returns to user space); on SMP a preempted lock
 * holder or IPI target gets its turn sooner, so spinners waste less.
 */
function nextSlice(vcpu: KvmVcpu, s: RiscvVcpuState): number {
  let runnable = 1;
  for (const o of vcpu.vm.vcpus) if (o !== vcpu && vcpuRunnable(o)) runnable++;
  return Math.max(Math.floor(s.quantum / runnable), Math.ceil(s.quantum / 8));
}

/**
 * kvm_arch_vcpu_ioctl_run(): run the hart until an exit user space must see.
 * A scheduling quantum that ends, or a vCPU that halts or stops, returns
 * KVM_EXIT_INTR (as a signal interrupting KVM_RUN would): call again.
 */
export function runVcpu(vcpu: KvmVcpu, run: KvmRun): void {
  const s = riscvVcpu(vcpu);
  const vs = riscvVm(vcpu.vm);
  const h = s.hart;
  s.ranAtLeastOnce = true;
  for (;;) {
    if (vcpu.checkRequest(KVM_REQ_TLB_FLUSH)) h.flushGStage(vs.vmid);
    if (s.powerOff) {
      run.exit_reason = KVM_EXIT_INTR;
      return;
    }
    if (s.blocked) {
      if (!vcpuHasInterrupts(vcpu)) {
        // Halted: sleep through the clock if the whole VM is idle, else yield.
        if (otherRunnable(vcpu) || !idleSkip(vcpu.vm) || !vcpuHasInterrupts(vcpu)) {
          run.exit_reason = KVM_EXIT_INTR;
          return;
        }
      }
      s.blocked = false;
      s.suspended = false;
    }
    if (s.budget <= 0) {
      s.budget = nextSlice(vcpu, s);
      run.exit_reason = KVM_EXIT_INTR;
      return;
    }
    s.entryInstret = h.instret;
    // Pause-loop exiting only pays when another vCPU could take the CPU.
    h.pauseExits = otherRunnable(vcpu);
    const e = h.run(s.budget);
    s.entryInstret = h.instret;
    // The quantum counts compile work too (riscv-hart's JIT_COMPILE_CHARGE), so one KVM_RUN stays short in wall time.
    s.budget -= e.charged;
    vs.advance(e.retired);
    switch (e.kind) {
      case 'budget':
      case 'interrupt':
        break;
      case 'ecall':
        if (sbiEcall(vcpu, s)) return;
        if (s.yieldToTargets) {
          // Directed yield after an IPI: the rest of the quantum goes to the targets (state.ts).
          s.yieldToTargets = false;
          s.budget = 0;
        }
        break;
      case 'pause':
        // A spinning vCPU (Zihintpause `pause` in cpu_relax()): give up the rest
        // of the slice so the lock holder runs, as kvm_vcpu_on_spin() does on a
        // pause-loop exit.
        s.budget = 0;
        break;
      case 'wfi':
        // kvm_riscv_vcpu_wfi(): step past it, halt unless an interrupt is pending.
        h.pc += 4n;
        s.completedInsns++;
        if (!vcpuHasInterrupts(vcpu)) s.blocked = true;
        break;
      case 'idle':
        s.blocked = true;
        break;
      case 'guest-page-fault':
        if (guestPageFault(vcpu, s, vs, e)) return;
        break;
      case 'virtual-instruction':
        // The AIA CSRs KVM emulates (aia-csr.ts); otherwise truly_illegal_insn(): an illegal instruction.
        if (aiaEmulateCsr(vcpu, Number(e.tval & 0xffff_ffffn))) break;
        h.redirectTrap(EXC_ILLEGAL_INST, e.tval);
        break;
      case 'illegal-instruction':
      case 'exception':
        // vcpu_redirect(): exceptions from VS/VU go back to the guest.
        h.redirectTrap(e.cause, e.tval);
        break;
    }
  }
}
