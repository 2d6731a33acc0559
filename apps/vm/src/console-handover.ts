/**
 * How soon after the guest writes to its console the host gets it (the
 * runner's onSlice), however much of the slice is left. QEMU's chardev
 * writes each byte as the guest stores it; handing over after a millisecond
 * keeps that latency without a host write per byte from a guest printing a
 * line character by character.
 */
export const CONSOLE_HANDOVER_MS = 1;

/**
 * When a vCPU loop gives the host its turn (onSlice: stdout, the web
 * worker's post, a scripted boot's expect): at the end of each slice, within
 * CONSOLE_HANDOVER_MS of new guest console output, and before the loop waits
 * (paused, or every vCPU halted), so a prompt without a newline is never
 * held back. Shared by the riscv and arm64 runners.
 */
export class ConsoleHandover {
  /** The guest's console byte count the host was last told about. */
  private seen: number;
  /** When new console output is due at the host (performance.now()); 0 when none is waiting. */
  private due = 0;

  constructor(
    /** Bytes the guest has written to its console so far. */
    private readonly bytes: () => number,
    private readonly onSlice: () => void,
  ) {
    this.seen = bytes();
  }

  /** After each KVM_RUN: new output makes a hand-over due within CONSOLE_HANDOVER_MS. */
  afterRun(): void {
    const n = this.bytes();
    if (n === this.seen) return;
    this.seen = n;
    if (this.due === 0) this.due = performance.now() + CONSOLE_HANDOVER_MS;
  }

  /** Between rounds of the vCPUs: the host's turn if output has waited long enough. */
  ifDue(): void {
    if (this.due !== 0 && performance.now() >= this.due) this.handOver();
  }

  /** Before the loop waits: the host's turn if any output is waiting. */
  ifPending(): void {
    if (this.due !== 0) this.handOver();
  }

  /** The host's turn; nothing is due after it. */
  handOver(): void {
    this.due = 0;
    this.onSlice();
  }
}
