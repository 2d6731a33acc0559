import { fail, type KernelFile } from '@tsvirt/core-bus';
import { createKvmRun, type KvmRun } from './run.ts';
import type { KvmInterrupt, KvmMpState, KvmOneReg, KvmRegList } from './structs.ts';
import {
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_INTR,
  KVM_EXIT_IO,
  KVM_EXIT_MMIO,
  KVM_EXIT_RISCV_CSR,
  KVM_EXIT_RISCV_SBI,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_EXIT_UNKNOWN,
  KVM_GET_MP_STATE,
  KVM_GET_ONE_REG,
  KVM_GET_REG_LIST,
  KVM_INTERRUPT,
  KVM_RUN,
  KVM_SET_MP_STATE,
  KVM_SET_ONE_REG,
  kvmRegSize,
} from './uapi.ts';
import type { KvmVm } from './vm.ts';

/**
 * struct kvm_vcpu and its fd: KVM_RUN with a kvm_run page, ONE_REG, and
 * interrupt injection. The arch fills exits through the helpers here
 * (exitMmio, exitSystemEvent, ...), and consults the VM's I/O buses through
 * mmioWrite/mmioRead before deciding to exit.
 */
export class KvmVcpu implements KernelFile {
  /** The shared struct kvm_run. */
  readonly run: KvmRun = createKvmRun();
  /** The arch's per-vCPU state (struct kvm_vcpu_arch). */
  arch: unknown;
  /** The descriptor KVM_CREATE_VCPU returned. */
  fd = -1;
  /** Set by the first KVM_RUN (kvm_arch_vcpu_run_pid_change): some registers freeze after it. */
  hasRun = false;
  /** The vCPU has been destroyed. */
  destroyed = false;
  /** Pending requests (vcpu->requests), one bit per KVM_REQ_*. */
  requests = 0;
  private released = false;

  constructor(
    /** The VM the vCPU belongs to. */
    readonly vm: KvmVm,
    /** The id user space chose (vcpu_id). */
    readonly vcpuId: number,
    /** Creation order (vcpu_idx). */
    readonly vcpuIdx: number,
  ) {}

  /** kvm_vcpu_ioctl(). */
  ioctl(cmd: number, arg?: unknown): unknown {
    if (this.vm.dead) fail('EIO', 'the VM is dead');
    switch (cmd) {
      case KVM_RUN:
        if (arg !== undefined && arg !== 0) fail('EINVAL', 'KVM_RUN takes no argument', 'KVM_RUN');
        this.kvmRun();
        return 0;
      case KVM_GET_ONE_REG:
        this.getOneReg(arg as KvmOneReg);
        return 0;
      case KVM_SET_ONE_REG:
        this.setOneReg(arg as KvmOneReg);
        return 0;
      case KVM_GET_REG_LIST:
        this.getRegList(arg as KvmRegList);
        return 0;
      case KVM_INTERRUPT:
        this.interrupt(arg as KvmInterrupt);
        return 0;
      case KVM_GET_MP_STATE:
        this.getMpState(arg as KvmMpState);
        return 0;
      case KVM_SET_MP_STATE:
        this.setMpState(arg as KvmMpState);
        return 0;
      default: {
        const a = this.vm.archOps;
        if (a.vcpuIoctl === undefined) fail('ENOTTY', `unknown vcpu ioctl 0x${cmd.toString(16)}`);
        return a.vcpuIoctl(this, cmd, arg);
      }
    }
  }

  /**
   * KVM_RUN: finish the exit user space handled, honour immediate_exit
   * (EINTR, exit_reason KVM_EXIT_INTR), then run the guest to its next exit.
   */
  kvmRun(): KvmRun {
    if (this.vm.dead) fail('EIO', 'the VM is dead', 'KVM_RUN');
    const run = this.run;
    const a = this.vm.archOps;
    const r = run.exit_reason;
    if (r === KVM_EXIT_MMIO || r === KVM_EXIT_IO || r === KVM_EXIT_RISCV_SBI || r === KVM_EXIT_RISCV_CSR) {
      a.vcpuCompleteExit?.(this, run);
    }
    if (run.immediate_exit) {
      run.exit_reason = KVM_EXIT_INTR;
      fail('EINTR', 'immediate_exit is set', 'KVM_RUN');
    }
    this.hasRun = true;
    run.exit_reason = KVM_EXIT_UNKNOWN;
    a.vcpuRun(this, run);
    return run;
  }

  /** KVM_GET_ONE_REG: the value is written to reg.value. */
  getOneReg(reg: KvmOneReg): void {
    const a = this.vm.archOps;
    if (a.getOneReg === undefined) fail('EINVAL', 'arch has no ONE_REG', 'KVM_GET_ONE_REG');
    const v = a.getOneReg(this, reg.id);
    reg.value = v instanceof Uint8Array ? v.slice() : v;
  }

  /**
   * KVM_SET_ONE_REG. A value user space cannot have written (a missing one,
   * bytes of the wrong size, a bigint that does not fit) is EFAULT, as a bad
   * user buffer is; bytes are converted to a bigint for registers of up to 8 bytes.
   */
  setOneReg(reg: KvmOneReg): void {
    const a = this.vm.archOps;
    if (a.setOneReg === undefined) fail('EINVAL', 'arch has no ONE_REG', 'KVM_SET_ONE_REG');
    const size = kvmRegSize(reg.id);
    let v = reg.value;
    if (v instanceof Uint8Array) {
      if (v.length !== size)
        fail('EFAULT', `value is ${v.length} bytes, register is ${size}`, 'KVM_SET_ONE_REG');
      if (size <= 8) {
        let x = 0n;
        for (let i = size - 1; i >= 0; i--) x = (x << 8n) | BigInt(v[i]!);
        v = x;
      } else {
        v = v.slice();
      }
    } else if (typeof v === 'bigint') {
      if (size > 8) fail('EFAULT', `register is ${size} bytes; pass bytes`, 'KVM_SET_ONE_REG');
      if (v < 0n || v >= 1n << BigInt(size * 8))
        fail('EFAULT', `value does not fit ${size} bytes`, 'KVM_SET_ONE_REG');
    } else {
      fail('EFAULT', 'no value', 'KVM_SET_ONE_REG');
    }
    a.setOneReg(this, reg.id, v);
  }

  /** KVM_GET_REG_LIST: E2BIG with the needed count in n when reg_list.n is too small. */
  getRegList(list: KvmRegList): void {
    const a = this.vm.archOps;
    if (a.getRegList === undefined) fail('EINVAL', 'arch has no ONE_REG', 'KVM_GET_REG_LIST');
    const regs = a.getRegList(this);
    const room = list.n;
    list.n = regs.length;
    if (room < regs.length) fail('E2BIG', `${regs.length} registers, room for ${room}`, 'KVM_GET_REG_LIST');
    list.reg = regs.slice();
  }

  /** KVM_INTERRUPT: handed to the arch (ENOTTY where it has none). */
  interrupt(irq: KvmInterrupt): void {
    const a = this.vm.archOps;
    if (a.vcpuInterrupt === undefined) fail('ENOTTY', 'arch has no KVM_INTERRUPT', 'KVM_INTERRUPT');
    a.vcpuInterrupt(this, irq.irq);
  }

  /** KVM_GET_MP_STATE: written to mp.mp_state. */
  getMpState(mp: KvmMpState): void {
    const a = this.vm.archOps;
    if (a.getMpState === undefined) fail('EINVAL', 'arch has no MP state', 'KVM_GET_MP_STATE');
    mp.mp_state = a.getMpState(this);
  }

  /** KVM_SET_MP_STATE. */
  setMpState(mp: KvmMpState): void {
    const a = this.vm.archOps;
    if (a.setMpState === undefined) fail('EINVAL', 'arch has no MP state', 'KVM_SET_MP_STATE');
    a.setMpState(this, mp.mp_state);
  }

  // ---- requests (kvm_make_request / kvm_check_request) ----

  /** Set a request bit (kvm_make_request). */
  makeRequest(req: number): void {
    this.requests |= 1 << req;
  }

  /** Test and clear: true once per posted request. */
  checkRequest(req: number): boolean {
    const bit = 1 << req;
    if ((this.requests & bit) === 0) return false;
    this.requests &= ~bit;
    return true;
  }

  /** Whether a request bit is set, without clearing it. */
  requestPending(req: number): boolean {
    return (this.requests & (1 << req)) !== 0;
  }

  // ---- helpers for the arch's run loop ----

  /** kvm_io_bus_write(KVM_MMIO_BUS): true when an in-kernel device or ioeventfd took it. */
  mmioWrite(gpa: number, data: Uint8Array): boolean {
    return this.vm.mmioBus.write(gpa, data);
  }

  /** kvm_io_bus_read(KVM_MMIO_BUS). */
  mmioRead(gpa: number, data: Uint8Array): boolean {
    return this.vm.mmioBus.read(gpa, data);
  }

  /** Fill a KVM_EXIT_MMIO exit; for a write, `data` holds the bytes stored. */
  exitMmio(gpa: number, len: number, isWrite: boolean, data?: Uint8Array): void {
    const run = this.run;
    run.exit_reason = KVM_EXIT_MMIO;
    run.mmio.phys_addr = BigInt(gpa);
    run.mmio.len = len;
    run.mmio.is_write = isWrite ? 1 : 0;
    run.mmio.data.fill(0);
    if (isWrite && data !== undefined) run.mmio.data.set(data.subarray(0, Math.min(len, 8)));
  }

  /**
   * Emulate a guest MMIO access: in the kernel when a device or ioeventfd
   * takes it (true, and a read's data is filled), else prepare the
   * KVM_EXIT_MMIO exit (false).
   */
  emulateMmio(gpa: number, data: Uint8Array, isWrite: boolean): boolean {
    if (isWrite ? this.mmioWrite(gpa, data) : this.mmioRead(gpa, data)) return true;
    this.exitMmio(gpa, data.length, isWrite, data);
    return false;
  }

  /** Fill a KVM_EXIT_SYSTEM_EVENT exit (KVM_SYSTEM_EVENT_*, up to 16 data words). */
  exitSystemEvent(type: number, data: readonly bigint[] = []): void {
    const run = this.run;
    run.exit_reason = KVM_EXIT_SYSTEM_EVENT;
    run.system_event.type = type;
    run.system_event.ndata = Math.min(data.length, 16);
    run.system_event.data.fill(0n);
    for (let i = 0; i < run.system_event.ndata; i++) run.system_event.data[i] = data[i]!;
  }

  /** Fill a KVM_EXIT_RISCV_SBI exit: a call forwarded to user space, which writes ret[0..1]. */
  exitRiscvSbi(extensionId: bigint, functionId: bigint, args: readonly bigint[]): void {
    const run = this.run;
    run.exit_reason = KVM_EXIT_RISCV_SBI;
    const sbi = run.riscv_sbi;
    sbi.extension_id = extensionId;
    sbi.function_id = functionId;
    for (let i = 0; i < 6; i++) sbi.args[i] = args[i] ?? 0n;
    sbi.ret[0] = 0n;
    sbi.ret[1] = 0n;
  }

  /** Fill a KVM_EXIT_RISCV_CSR exit: user space emulates the CSR and writes ret_value. */
  exitRiscvCsr(csrNum: bigint, newValue: bigint, writeMask: bigint): void {
    const run = this.run;
    run.exit_reason = KVM_EXIT_RISCV_CSR;
    run.riscv_csr.csr_num = csrNum;
    run.riscv_csr.new_value = newValue;
    run.riscv_csr.write_mask = writeMask;
    run.riscv_csr.ret_value = 0n;
  }

  /** Fill a KVM_EXIT_INTERNAL_ERROR exit (KVM_INTERNAL_ERROR_*, up to 16 data words). */
  exitInternalError(suberror: number, data: readonly bigint[] = []): void {
    const run = this.run;
    run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
    run.internal.suberror = suberror;
    run.internal.ndata = Math.min(data.length, 16);
    run.internal.data.fill(0n);
    for (let i = 0; i < run.internal.ndata; i++) run.internal.data[i] = data[i]!;
  }

  /** Mark a guest page dirty on behalf of this vCPU (kvm_vcpu_mark_page_dirty). */
  markPageDirty(gfn: number): void {
    this.vm.markPageDirty(gfn);
  }

  /** kvm_vcpu_release(): the fd closed; the vCPU itself lives until the VM is destroyed. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.vm.put();
  }
}
