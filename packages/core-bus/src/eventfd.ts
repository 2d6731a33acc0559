import { fail } from './kernel-error.ts';

/** Largest value an eventfd counter holds (fs/eventfd.c: ULLONG_MAX - 1). */
export const EVENTFD_MAX = 0xffff_ffff_ffff_fffen;

/** eventfd flag: each read returns 1 and decrements the counter. */
export const EFD_SEMAPHORE = 1;
/** eventfd flag: reads and writes never block (O_NONBLOCK). */
export const EFD_NONBLOCK = 0o4000;

/** Called after a write (the eventfd's wait-queue wakeup) and once on close, with `fd.closed` set. */
export type EventFdListener = (fd: EventFd) => void;

let nextId = 1;

/**
 * An eventfd (fs/eventfd.c): a 64-bit counter. `write(n)` adds n and wakes the
 * listeners (irqfd, ioeventfd consumers, the IRQ bypass manager); `read()`
 * returns the whole counter and zeroes it, or 1 at a time in EFD_SEMAPHORE
 * mode. Only non-blocking semantics are modelled: a read of a zero counter
 * and a write that would overflow are EAGAIN.
 */
export class EventFd {
  /** A stable identity, as the kernel matches producers and consumers by eventfd context. */
  readonly id = nextId++;
  private count = 0n;
  private readonly listeners = new Set<EventFdListener>();
  private closedFlag = false;

  constructor(
    initval = 0n,
    /** EFD_* flags the eventfd was created with. */
    readonly flags = 0,
  ) {
    if (initval < 0n || initval > EVENTFD_MAX) fail('EINVAL', 'initial value out of range', 'eventfd2');
    if (flags & ~(EFD_SEMAPHORE | EFD_NONBLOCK))
      fail('EINVAL', `unknown flags 0x${flags.toString(16)}`, 'eventfd2');
    this.count = initval;
  }

  /** The current counter value. */
  get value(): bigint {
    return this.count;
  }

  /** Whether the eventfd has been closed. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** eventfd_write(): add `n` (1 by default). 0xffffffffffffffff is EINVAL; overflow is EAGAIN. */
  write(n: bigint | number = 1n): void {
    const v = BigInt(n);
    if (this.closedFlag) fail('EBADF', 'eventfd is closed', 'write');
    if (v < 0n || v > EVENTFD_MAX) fail('EINVAL', 'value out of range', 'write');
    if (EVENTFD_MAX - this.count < v) fail('EAGAIN', 'counter would overflow', 'write');
    this.count += v;
    if (this.count > 0n) for (const l of this.listeners) l(this);
  }

  /** Kernel-side eventfd_signal(): add 1 and wake, never failing (saturates as upstream). */
  signal(): void {
    if (this.closedFlag) return;
    if (this.count < EVENTFD_MAX) this.count += 1n;
    for (const l of this.listeners) l(this);
  }

  /** eventfd_read(): drain the counter (or take 1 in semaphore mode); EAGAIN when zero. */
  read(): bigint {
    if (this.closedFlag) fail('EBADF', 'eventfd is closed', 'read');
    if (this.count === 0n) fail('EAGAIN', 'counter is zero', 'read');
    if (this.flags & EFD_SEMAPHORE) {
      this.count -= 1n;
      return 1n;
    }
    const v = this.count;
    this.count = 0n;
    return v;
  }

  /** Add a wakeup listener; returns the function that removes it. */
  listen(l: EventFdListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Number of attached listeners. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /**
   * Close: every listener is woken once more with `closed` set (EPOLLHUP, on
   * which irqfd tears itself down), then dropped.
   */
  close(): void {
    this.release();
  }

  /** KernelFile release: the last descriptor to this eventfd closed. */
  release(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const l of [...this.listeners]) l(this);
    this.listeners.clear();
  }
}
