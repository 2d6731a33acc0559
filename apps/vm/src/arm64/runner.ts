import { isKernelError, WORK_QUEUE, type WorkQueue } from '@tsvirt/core-bus';
import {
  armVcpu,
  idleSkip,
  KVM_ARM_DEV_EL1_VTIMER,
  KVM_REG_ARM_CORE_PC,
  vcpuRunnable,
} from '@tsvirt/kvm-arm';
import {
  KVM_EXIT_INTR,
  KVM_EXIT_MMIO,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  type KvmOneReg,
  type KvmVcpu,
} from '@tsvirt/kvm-core';
import { completePendingExit } from '../complete-exit.ts';
import { EXIT_GUEST_RESET, EXIT_SHUTDOWN, EXIT_USER_QUIT, EXIT_VM_ERROR } from '../config-error.ts';
import { ConsoleHandover } from '../console-handover.ts';
import { ARCH_TIMER_VIRT_PPI } from './layout.ts';
import type { Arm64Machine } from './machine.ts';

/** How the arm64 VM ended: the exit status and why. */
export interface Arm64RunResult {
  /** Process exit status (as the riscv board's: 0 poweroff, 4 reset, ...). */
  status: number;
  /** One line saying why. */
  reason: string;
  /** Guest MMIO accesses no device claimed (reads 0, writes dropped). */
  unclaimedMmio: number;
}

const SLICE_MS = 20;

/**
 * The arm64 VMM loop: round-robin KVM_RUN over the vCPUs, MMIO on the
 * board's bus (the GIC's CPU interface banked by the vCPU that accesses
 * it), the virtual timer's output onto its PPI whenever KVM reports a
 * change (KVM_CAP_ARM_USER_IRQ), SYSTEM_EVENT ending the run: SHUTDOWN
 * exits 0, RESET 4, as the riscv board's SBI SRST does.
 */
export class Arm64Runner {
  private readonly input: number[] = [];
  private wake: (() => void) | undefined;
  private quit = false;
  private inputEnded = false;
  private next = 0;
  private unclaimed = 0;
  private readonly wq: WorkQueue;
  /** When the host gets its turn (onSlice): see ConsoleHandover. */
  private readonly console: ConsoleHandover;

  constructor(
    private readonly m: Arm64Machine,
    /**
     * The host's turn: at the end of each slice, within CONSOLE_HANDOVER_MS of
     * guest console output, and before the loop waits for input; it takes the
     * console output the host's consoleOut buffered.
     */
    onSlice: () => void = () => {},
  ) {
    this.wq = m.loader.host.resolve<WorkQueue>(WORK_QUEUE);
    this.console = new ConsoleHandover(() => m.consoleBytes, onSlice);
  }

  /** Console input for the PL011's receive FIFO. */
  feed(bytes: number[]): void {
    for (const b of bytes) this.input.push(b);
    this.pumpInput();
    this.wake?.();
  }

  /** Ctrl-A x. */
  requestQuit(): void {
    this.quit = true;
    this.wake?.();
  }

  /** stdin ended: a VM waiting only for input cannot be woken. */
  markInputEnded(): void {
    this.inputEnded = true;
    this.wake?.();
  }

  private pumpInput(): void {
    while (this.input.length > 0 && this.m.uart.canReceive) this.m.uart.receive(this.input.shift()!);
  }

  private result(status: number, reason: string): Arm64RunResult {
    return { status, reason, unclaimedMmio: this.unclaimed };
  }

  /**
   * Run until the guest ends the VM; with `stopWhen`, also until it holds
   * (checked between KVM_RUNs: the VM is then paused, as for a migration),
   * which returns status -1.
   */
  async run(stopWhen?: () => boolean): Promise<Arm64RunResult> {
    const vcpus = this.m.vcpus;
    for (;;) {
      const sliceEnd = performance.now() + SLICE_MS;
      while (performance.now() < sliceEnd) {
        if (this.quit) return this.result(EXIT_USER_QUIT, 'quit from the console');
        if (stopWhen?.()) {
          // The state the caller now saves is past each vCPU's last exit (an MMIO access).
          for (const v of vcpus) completePendingExit(v);
          return this.result(-1, 'stopped');
        }
        let ran = false;
        for (let k = 0; k < vcpus.length; k++) {
          const v = vcpus[this.next]!;
          this.next = (this.next + 1) % vcpus.length;
          if (!vcpuRunnable(v)) continue;
          ran = true;
          const done = this.kvmRun(v) ?? this.handleExit(v);
          if (done) return done;
          this.pumpInput();
          this.console.afterRun();
        }
        this.console.ifDue();
        const worked = this.wq.runPending() > 0;
        if (!ran && !worked && !idleSkip(this.m.vm)) {
          // Hand over what the guest printed (its prompt) before waiting for input.
          this.console.ifPending();
          if (vcpus.every((v) => !vcpuRunnable(v)) && !(await this.waitForInput()))
            return this.result(EXIT_VM_ERROR, 'every vCPU is halted and nothing can wake them');
        }
      }
      this.console.handOver();
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  private waitForInput(): Promise<boolean> {
    if (this.inputEnded) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve(!this.inputEnded || this.quit);
      };
    });
  }

  private kvmRun(v: KvmVcpu): Arm64RunResult | undefined {
    try {
      v.kvmRun();
      return undefined;
    } catch (e) {
      if (!isKernelError(e)) throw e;
      const pc: KvmOneReg = { id: KVM_REG_ARM_CORE_PC, addr: 0n };
      v.getOneReg(pc);
      const why = e.detail === undefined ? '' : ` (${e.detail})`;
      return this.result(
        EXIT_VM_ERROR,
        `vCPU ${v.vcpuId}: KVM_RUN failed: ${e.code}${why}, pc 0x${(pc.value as bigint).toString(16)}`,
      );
    }
  }

  private handleExit(v: KvmVcpu): Arm64RunResult | undefined {
    const run = v.run;
    const gic = this.m.gic;
    const cpu = this.m.vcpus.indexOf(v);
    switch (run.exit_reason) {
      case KVM_EXIT_INTR:
        // The timer output may have changed: follow it onto the PPI.
        gic.setPpi(cpu, ARCH_TIMER_VIRT_PPI, (armVcpu(v).deviceIrqLevel & KVM_ARM_DEV_EL1_VTIMER) !== 0);
        return undefined;
      case KVM_EXIT_MMIO: {
        const addr = Number(run.mmio.phys_addr);
        const data = run.mmio.data.subarray(0, run.mmio.len);
        gic.currentCpu = cpu;
        const ok = run.mmio.is_write ? this.m.mmio.write(addr, data) : this.m.mmio.read(addr, data);
        if (!ok) {
          this.unclaimed++;
          if (!run.mmio.is_write) data.fill(0);
        }
        return undefined;
      }
      case KVM_EXIT_SYSTEM_EVENT:
        if (run.system_event.type === KVM_SYSTEM_EVENT_SHUTDOWN)
          return this.result(EXIT_SHUTDOWN, 'the guest powered off (PSCI SYSTEM_OFF)');
        if (run.system_event.type === KVM_SYSTEM_EVENT_RESET)
          return this.result(EXIT_GUEST_RESET, 'the guest asked for a reset (PSCI SYSTEM_RESET)');
        return this.result(EXIT_VM_ERROR, `system event ${run.system_event.type}`);
      default:
        return this.result(EXIT_VM_ERROR, `vCPU ${v.vcpuId}: unexpected exit ${run.exit_reason}`);
    }
  }
}
