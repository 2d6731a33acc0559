import { isKernelError, WORK_QUEUE, type WorkQueue } from '@tsvirt/core-bus';
import {
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_INTR,
  KVM_EXIT_MMIO,
  KVM_EXIT_RISCV_SBI,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  type KvmOneReg,
  type KvmVcpu,
} from '@tsvirt/kvm-core';
import {
  idleSkip,
  riscvCoreReg,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_0_1_CONSOLE_GETCHAR,
  SBI_EXT_0_1_CONSOLE_PUTCHAR,
  vcpuInstructions,
  vcpuRunnable,
} from '@tsvirt/kvm-riscv';
import { completePendingExit } from './complete-exit.ts';
import {
  EXIT_GUEST_FAILURE,
  EXIT_GUEST_RESET,
  EXIT_SHUTDOWN,
  EXIT_USER_QUIT,
  EXIT_VM_ERROR,
} from './config-error.ts';
import { ConsoleHandover } from './console-handover.ts';
import type { Machine } from './machine.ts';

/** SBI SRST reset reasons (SBI v2.0 chapter 10). */
const SBI_SRST_RESET_REASON_NONE = 0n;

export interface RunStats {
  instructions: number;
  exits: Map<string, number>;
  wallMs: number;
  /** Guest MMIO accesses no device claimed (read as all-ones, writes dropped). */
  unclaimedMmio: number;
  /** Device interrupts the VMM relayed (INTx -> its PLIC). */
  irqRelayed?: number;
  /** Device interrupts KVM posted straight into a guest IMSIC file (--irqchip aia: the kvm-vfio bypass). */
  irqBypassed?: number;
  /** When the first KVM_RUN began, in ms since the process started (performance.timeOrigin); undefined before. */
  firstRunMs?: number;
  /** The process's own peak resident set (VmHost.peakRssBytes), in bytes, at the end of the run; undefined where the host cannot tell (a browser). */
  maxRssBytes?: number | undefined;
  /** Guest memory the guest has touched: host frames allocated by faults in the VMM's mm (host-mm), in bytes. */
  guestTouchedBytes: number;
}

export interface RunResult {
  status: number;
  reason: string;
  stats: RunStats;
}

const EXIT_NAMES: Record<number, string> = {
  [KVM_EXIT_MMIO]: 'mmio',
  [KVM_EXIT_SYSTEM_EVENT]: 'system-event',
  [KVM_EXIT_RISCV_SBI]: 'sbi',
  [KVM_EXIT_INTERNAL_ERROR]: 'internal-error',
};

/**
 * How long the loop runs guest code and device work before letting Node's
 * event loop (console input, Ctrl-A x, timers) in. The deadline is checked
 * after every KVM_RUN and every workqueue turn, each bounded (the vCPU
 * quantum, the devices' slice budgets), so the console waits about this
 * long at most.
 */
const SLICE_MS = 20;

/**
 * The guest's turn while a live migration sends (ms). The sender and the
 * vCPUs share this thread (QEMU gives its migration thread a core of its
 * own): between the sender's turns the guest runs this long, and the
 * socket's queue is written to the kernel after each turn, so a short one
 * keeps the loopback connection busy instead of idle for a whole slice.
 */
export const MIGRATION_GUEST_SLICE_MS = 2;

/**
 * What a live migration asks of the vCPU loop while it sends: before each
 * turn the loop calls it, and a promise returned means "wait for it" (the
 * sender is blocked on a full socket and wants the thread as soon as the
 * kernel takes more; it resolves within a bounded time).
 */
export type MigrationHold = () => Promise<void> | undefined;

/**
 * The VMM's vCPU loop: deterministic round-robin over the vCPUs (each KVM_RUN
 * ends at the arch's quantum with KVM_EXIT_INTR), handling each exit as
 * kvmtool does: MMIO on the board's bus, SBI calls KVM forwards (the legacy
 * console), and SYSTEM_EVENT, which ends the run with the guest's status.
 */
export class VmRunner {
  private readonly input: number[] = [];
  private wake: (() => void) | undefined;
  private quit = false;
  private next = 0;
  /** When the host gets its turn (onSlice): see ConsoleHandover. */
  private readonly console: ConsoleHandover;
  /** This loop's turn before the event loop gets the thread back: SLICE_MS, shorter while a migration sends. */
  private sliceMs = SLICE_MS;
  private migrationHold: MigrationHold | undefined;
  /** The host workqueue: device work (a GPU's DMA ring) runs here between vCPU quanta. */
  private readonly wq: WorkQueue;
  readonly stats: RunStats = {
    instructions: 0,
    exits: new Map(),
    wallMs: 0,
    unclaimedMmio: 0,
    maxRssBytes: 0,
    guestTouchedBytes: 0,
  };

  constructor(
    private readonly m: Machine,
    /**
     * The host's turn: at the end of each slice, within CONSOLE_HANDOVER_MS of
     * guest console output, and before the loop waits (paused, or every vCPU
     * halted); it takes the console output the host's consoleOut buffered.
     */
    onSlice: () => void = () => {},
  ) {
    this.console = new ConsoleHandover(() => m.consoleBytes, onSlice);
    this.wq = m.loader.host.resolve<WorkQueue>(WORK_QUEUE);
  }

  /** Terminal input: the UART gets it when it has room, the legacy SBI getchar otherwise. */
  feed(bytes: number[]): void {
    // One at a time: a spread of a large paste would overflow the call stack.
    for (const b of bytes) this.input.push(b);
    this.pumpInput();
    this.wake?.();
  }

  /**
   * A live migration is sending (its hold) or has ended (undefined): the
   * guest runs MIGRATION_GUEST_SLICE_MS turns between the sender's, as
   * QEMU's vCPU threads run beside its migration thread, instead of
   * SLICE_MS ones, and waits out the hold before each.
   */
  shareWithMigration(hold: MigrationHold | undefined): void {
    this.migrationHold = hold;
    this.sliceMs = hold !== undefined ? MIGRATION_GUEST_SLICE_MS : SLICE_MS;
  }

  requestQuit(): void {
    this.quit = true;
    this.wake?.();
  }

  private pumpInput(): void {
    const uart = this.m.uart;
    const n = Math.min(uart.rxSpace, this.input.length);
    if (n > 0) uart.receive(this.input.splice(0, n));
  }

  async run(): Promise<RunResult> {
    const t0 = performance.now();
    try {
      return await this.loop();
    } finally {
      this.stats.wallMs = performance.now() - t0;
      this.stats.instructions = this.m.vcpus.reduce((s, v) => s + vcpuInstructions(v), 0);
      this.stats.irqRelayed = this.m.relayedIrqs;
      this.stats.irqBypassed = this.m.aia?.bypassed ?? 0;
      this.stats.maxRssBytes = this.m.host.peakRssBytes?.();
      this.stats.guestTouchedBytes = this.m.guestTouchedBytes();
    }
  }

  private count(name: string): void {
    this.stats.exits.set(name, (this.stats.exits.get(name) ?? 0) + 1);
  }

  private async loop(): Promise<RunResult> {
    const vcpus = this.m.vcpus;
    for (;;) {
      const held = this.migrationHold?.();
      if (held !== undefined) await held;
      const sliceEnd = performance.now() + this.sliceMs;
      while (performance.now() < sliceEnd) {
        if (this.pauseRequested) await this.whilePaused();
        if (this.quit) return this.result(EXIT_USER_QUIT, 'quit from the console');
        let ran = false;
        for (let k = 0; k < vcpus.length && performance.now() < sliceEnd; k++) {
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
        // Device work queued by the guest's MMIO (doorbells) runs here, not inside the access.
        const worked = this.runDeviceWork();
        if (!ran && !worked && !idleSkip(this.m.vm)) {
          // Every vCPU is stopped or waiting for an interrupt only user space can raise: hand over
          // what the guest printed (its prompt), then wait for input.
          this.console.ifPending();
          if (vcpus.every((v) => !vcpuRunnable(v)) && !(await this.waitForInput())) {
            return this.result(EXIT_VM_ERROR, 'every vCPU is halted and nothing can wake them');
          }
        }
      }
      this.console.handOver();
      await this.m.host.yieldToHost();
    }
  }

  /**
   * One turn of the host workqueue: each pending work item runs one
   * bounded slice (as a kworker gets the CPU between vCPU threads), and
   * an interrupt it raises reaches the vCPUs before their next KVM_RUN.
   * True if anything ran: the VM is not idle while a device is busy.
   */
  private runDeviceWork(): boolean {
    return this.wq.runPending() > 0;
  }

  // --- Pause and resume (QMP stop/cont) --------------------------------------------------
  // The loop parks between vCPU rounds, so no guest instruction and no device work the vCPUs
  // drive runs while paused. Console input still reaches the UART (feed); Ctrl-A x still quits.
  private pauseRequested = false;

  get paused(): boolean {
    return this.pauseRequested;
  }

  /**
   * Park the loop before its next vCPU round (QEMU's pause_all_vcpus()). Each
   * vCPU's last exit is completed at once (completePendingExit), so what a
   * stop, a snapshot or a migration reads of its state is consistent; the
   * loop is never inside KVM_RUN when this is called.
   */
  pause(): void {
    this.pauseRequested = true;
    for (const v of this.m.vcpus) completePendingExit(v);
    this.wake?.();
  }

  resume(): void {
    this.pauseRequested = false;
    this.wake?.();
  }

  private async whilePaused(): Promise<void> {
    // Hand over what the guest printed before the stop: a paused VM's console must not hold it back.
    this.console.handOver();
    while (this.pauseRequested && !this.quit) {
      await new Promise<void>((resolve) => {
        this.wake = () => {
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  /** Wait for console input; false when input has ended (a pipe at EOF) so nothing will ever come. */
  private inputEnded = false;
  markInputEnded(): void {
    this.inputEnded = true;
    this.wake?.();
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

  /**
   * KVM_RUN; its failure (an errno, as for a guest that jumps where there is
   * no memory or uses FP or atomics on MMIO) ends the run as a VM error with
   * the errno, what KVM said, and the vCPU's pc read back through ONE_REG,
   * where QEMU would print "kvm run failed" and dump the registers.
   */
  private kvmRun(v: KvmVcpu): RunResult | undefined {
    this.stats.firstRunMs ??= performance.now();
    try {
      v.kvmRun();
      return undefined;
    } catch (e) {
      if (!isKernelError(e)) throw e;
      const pc: KvmOneReg = { id: riscvCoreReg(0), addr: 0n };
      v.getOneReg(pc);
      const why = e.detail === undefined ? '' : ` (${e.detail})`;
      return this.result(
        EXIT_VM_ERROR,
        `vCPU ${v.vcpuId}: KVM_RUN failed: ${e.code}${why}, pc 0x${BigInt.asUintN(64, pc.value as bigint).toString(16)}`,
      );
    }
  }

  private handleExit(v: KvmVcpu): RunResult | undefined {
    const run = v.run;
    if (run.exit_reason === KVM_EXIT_INTR) return undefined;
    this.count(EXIT_NAMES[run.exit_reason] ?? `exit-${run.exit_reason}`);
    switch (run.exit_reason) {
      case KVM_EXIT_MMIO: {
        const addr = Number(run.mmio.phys_addr);
        const data = run.mmio.data.subarray(0, run.mmio.len);
        const ok = run.mmio.is_write ? this.m.mmio.write(addr, data) : this.m.mmio.read(addr, data);
        if (!ok) {
          this.stats.unclaimedMmio++;
          if (!run.mmio.is_write) data.fill(0xff);
        }
        return undefined;
      }
      case KVM_EXIT_RISCV_SBI: {
        const sbi = run.riscv_sbi;
        if (sbi.extension_id === BigInt(SBI_EXT_0_1_CONSOLE_PUTCHAR)) {
          this.m.uartOut(Number(sbi.args[0]! & 0xffn));
          sbi.ret[0] = 0n;
        } else if (sbi.extension_id === BigInt(SBI_EXT_0_1_CONSOLE_GETCHAR)) {
          const b = this.input.shift();
          sbi.ret[0] = b === undefined ? -1n : BigInt(b);
        } else {
          sbi.ret[0] = BigInt(SBI_ERR_NOT_SUPPORTED);
        }
        return undefined;
      }
      case KVM_EXIT_SYSTEM_EVENT: {
        const ev = run.system_event;
        const reason = ev.ndata > 0 ? ev.data[0]! : SBI_SRST_RESET_REASON_NONE;
        if (ev.type === KVM_SYSTEM_EVENT_SHUTDOWN) {
          return reason === SBI_SRST_RESET_REASON_NONE
            ? this.result(EXIT_SHUTDOWN, 'guest shut down')
            : this.result(
                EXIT_GUEST_FAILURE,
                `guest shut down reporting failure (SBI reset reason ${reason})`,
              );
        }
        if (ev.type === KVM_SYSTEM_EVENT_RESET)
          return this.result(EXIT_GUEST_RESET, 'guest asked for a reboot');
        return this.result(EXIT_VM_ERROR, `unhandled system event type ${ev.type}`);
      }
      case KVM_EXIT_INTERNAL_ERROR:
        return this.result(
          EXIT_VM_ERROR,
          `KVM internal error on vCPU ${v.vcpuId} (suberror ${run.internal.suberror}, data ${run.internal.data
            .slice(0, run.internal.ndata)
            .map((d) => `0x${d.toString(16)}`)
            .join(' ')})`,
        );
      default:
        return this.result(EXIT_VM_ERROR, `unhandled KVM exit reason ${run.exit_reason} on vCPU ${v.vcpuId}`);
    }
  }

  private result(status: number, reason: string): RunResult {
    return { status, reason, stats: this.stats };
  }
}

export function formatSummary(r: RunResult): string {
  const s = r.stats;
  const mips = s.wallMs > 0 ? s.instructions / (s.wallMs * 1000) : 0;
  const exits = [...s.exits.entries()].map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  return [
    `vm: ${r.reason} (status ${r.status})`,
    `vm: ${s.instructions.toLocaleString('en')} instructions retired in ${(s.wallMs / 1000).toFixed(2)} s wall: ${mips.toFixed(1)} MIPS`,
    `vm: exits: ${exits}${s.unclaimedMmio ? `; ${s.unclaimedMmio} unclaimed MMIO accesses` : ''}`,
    `vm: device interrupts: ${s.irqRelayed ?? 0} relayed by the VMM, ${s.irqBypassed ?? 0} bypassed (posted by KVM)`,
    `vm: memory: peak RSS ${s.maxRssBytes === undefined ? 'unknown' : `${(s.maxRssBytes / 2 ** 20).toFixed(0)} MiB`}, guest touched ${(s.guestTouchedBytes / 2 ** 20).toFixed(1)} MiB`,
  ].join('\n');
}
