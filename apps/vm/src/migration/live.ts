import { connect, type Socket } from 'node:net';
import { PAGE_SIZE } from '@tsvirt/host-mm';
import type { Machine } from '../machine.ts';
import type { QmpAddress } from '../qmp/address.ts';
import { strerror } from '../qmp/strerror.ts';
import type { MigrationHold } from '../vm-runner.ts';
import { DirtyTracker, dirtyPages } from './dirty-tracker.ts';
import { MIGRATION_ACK } from './incoming-socket.ts';
import { RamPageWriter } from './ram-pages.ts';
import { configurationSection } from './sections/configuration.ts';
import { MigrationStreamWriter } from './stream.ts';

/** QEMU's MigrationStatus values this VMM goes through. */
export type MigrationStatus = 'setup' | 'active' | 'cancelling' | 'cancelled' | 'completed' | 'failed';

/** migrate-set-parameters: QEMU's defaults are 300 ms (DEFAULT_MIGRATE_SET_DOWNTIME) and 128 MiB/s (MAX_THROTTLE). */
export interface MigrationParameters {
  /** downtime-limit: the longest the VM may be stopped at the end, in ms. */
  downtimeLimit: number;
  /** max-bandwidth: bytes per second while the guest runs; 0 is no limit (RATE_LIMIT_DISABLED). */
  maxBandwidth: number;
}

export const DEFAULT_MIGRATION_PARAMETERS: MigrationParameters = {
  downtimeLimit: 300,
  maxBandwidth: 128 << 20,
};

/** Passes over dirty memory before the VM is stopped however much is left (QEMU has no cap; it throttles). */
export const MAX_PASSES = 30;
/** Pages per 'ram' section on a socket: 1 MiB records, each one socket write of its own buffer. */
const LIVE_PAGES_PER_SECTION = 256;
/**
 * How long one turn of sending runs at most before the event loop gets the
 * thread back (ms). QEMU's migration thread has a core of its own beside
 * the vCPUs; here both share one thread: while a migration is active the
 * vCPU loop runs short turns (`shareThread`, vm-runner's
 * MIGRATION_GUEST_SLICE_MS) between the sender's, so the guest keeps about
 * a fifth of the thread, much as QEMU's auto-converge throttles a guest.
 */
const SEND_SLICE_MS = 8;
/**
 * Socket back-pressure (QEMU's QEMUFile blocks on a full socket). Node
 * hands queued chunks to the kernel only when the event loop polls, so a
 * turn ends once more than SOCKET_QUEUE_HIGH is queued in the socket (the
 * poll after it refills the kernel's buffer), and the next one starts once
 * no more than SOCKET_QUEUE_LOW is left: the kernel always has data while
 * the next pieces are made, and nothing piles up that only a long wait
 * would flush.
 */
const SOCKET_QUEUE_HIGH = 8 << 20;
const SOCKET_QUEUE_LOW = 4 << 20;

/** What a live migration needs of the VMM. */
export interface LiveMigrationHost {
  readonly machine: Machine;
  readonly state: string;
  stop(): void;
  cont(): void;
  migrated(): void;
  /**
   * The sender shares the thread with the vCPU loop (its hold: see
   * MigrationHold and SEND_SLICE_MS) or is done with it (undefined).
   */
  shareThread?(hold: MigrationHold | undefined): void;
  /** Every section but 'configuration' and 'ram' of the stopped VM (globalstate, vCPUs, devices, memslots). */
  saveDevices(w: MigrationStreamWriter, runState: 'running' | 'paused'): void;
  /** A status change (the MIGRATION event) and a dirty-bitmap sync (MIGRATION_PASS). */
  statusChanged(status: MigrationStatus): void;
  passDone(pass: number): void;
  /** Progress after each piece sent (--progress). */
  progress?(job: LiveMigration): void;
}

class Cancelled extends Error {}

/**
 * An outgoing pre-copy migration over a socket (QEMU's migration_thread()
 * with precopy): the configuration, then every resident page while the
 * guest runs, then passes over the pages the dirty logs report, until what
 * is left would be sent within the downtime limit at the bandwidth the last
 * pass measured (or MAX_PASSES were made); then the VM stops, the last
 * dirty pages and every device section go, and the source waits for the
 * destination's acknowledgement that it loaded the VM before it completes
 * (a destination that refuses or dies leaves the source running, `failed`).
 * It runs on the event loop between the vCPU loop's slices: `migrate`
 * returns at once.
 */
export class LiveMigration {
  status: MigrationStatus = 'setup';
  errorDesc: string | undefined;
  private socket: Socket | undefined;
  private failure: string | undefined;
  private cancelRequested = false;
  private needDrain = false;
  private acked = false;
  private peerClosed = false;
  private waiters: (() => void)[] = [];
  private readonly t0 = performance.now();
  private setupTime = 0;
  private endTime: number | undefined;
  downtime: number | undefined;
  /** Bytes written to the socket (QEMU's `transferred`); those after the stop are `downtime-bytes`. */
  transferred = 0;
  private downtimeBytes = 0;
  /** Dirty bytes still to send (QEMU's `remaining`). */
  remaining = 0;
  /** Bitmap syncs (QEMU's `dirty-sync-count`): one per pass, the final one included. */
  passes = 0;
  private dirtyRate = 0;
  /** Bytes per ms the last pass sent at. */
  private bandwidth = 0;
  private expectedDowntime: number | undefined;
  private ram: RamPageWriter | undefined;
  private stoppedVm = false;
  private activeStart = 0;
  private completing = false;

  constructor(
    private readonly host: LiveMigrationHost,
    private readonly address: QmpAddress,
    private readonly params: MigrationParameters,
  ) {}

  get active(): boolean {
    return this.status === 'setup' || this.status === 'active' || this.status === 'cancelling';
  }

  /** Start in the background; `done` settles when it ends, whatever the outcome. */
  start(): Promise<void> {
    this.host.statusChanged('setup');
    return this.run();
  }

  /** migrate_cancel: stop sending, close the stream; the source runs on. Once the VM is stopped for the end, too late. */
  cancel(): void {
    if (!this.active || this.completing || this.cancelRequested) return;
    this.cancelRequested = true;
    this.setStatus('cancelling');
    this.socket?.destroy();
    this.wakeAll();
  }

  private setStatus(s: MigrationStatus): void {
    this.status = s;
    this.host.statusChanged(s);
  }

  private wakeAll(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private wait(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  private check(): void {
    if (this.cancelRequested) throw new Cancelled();
    if (this.failure !== undefined) throw new Error(this.failure);
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const a = this.address;
      const s = a.kind === 'unix' ? connect(a.path) : connect(a.port, a.host);
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => reject(new Error(`Failed to connect to '${uriOf(a)}': ${strerror(e)}`)));
    });
  }

  private attach(s: Socket): void {
    this.socket = s;
    s.on('drain', () => {
      this.needDrain = false;
      this.wakeAll();
    });
    s.on('data', (d: Buffer) => {
      // The waiter wakes now, not when the connection closes after it.
      if (d.includes(MIGRATION_ACK)) {
        this.acked = true;
        this.wakeAll();
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      // The destination refuses a stream as soon as it can (its configuration section, a bad CRC)
      // and closes mid-stream: the write then fails with EPIPE/ECONNRESET, which is that close.
      const closed = e.code === 'EPIPE' || e.code === 'ECONNRESET';
      this.failure ??= closed
        ? 'the destination closed the connection'
        : `Unable to write to socket: ${strerror(e)}`;
      this.wakeAll();
    });
    s.on('close', () => {
      this.peerClosed = true;
      this.failure ??= this.acked ? undefined : 'the destination closed the connection';
      this.wakeAll();
    });
  }

  private write(chunk: Uint8Array): void {
    this.transferred += chunk.length;
    if (this.stoppedVm) this.downtimeBytes += chunk.length;
    const s = this.socket!;
    if (s.destroyed) return;
    s.write(chunk, () => {
      // Once written, a RAM section's buffer serves the next one.
      this.ram?.recycle(chunk);
      if (this.needDrain && s.writableLength <= SOCKET_QUEUE_LOW) {
        this.needDrain = false;
        this.wakeAll();
      }
    });
    // write() says false past the socket's 16 KiB highWaterMark; the turn ends only once far more is queued.
    if (s.writableLength > SOCKET_QUEUE_HIGH) this.needDrain = true;
  }

  /**
   * The vCPU loop's hold: while the sender waits for the socket to take
   * more, the guest waits too (at most SEND_SLICE_MS), so the thread is
   * free the moment the kernel has room and the sender's next turn is not
   * queued behind a guest turn; otherwise the guest runs between turns.
   */
  private readonly hold: MigrationHold = () => {
    if (!this.needDrain || this.stoppedVm) return undefined;
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(t);
        resolve();
      };
      // Bounded: a stalled destination does not stop the guest, nor pile up waiters.
      const t = setTimeout(() => {
        const k = this.waiters.indexOf(wake);
        if (k >= 0) this.waiters.splice(k, 1);
        resolve();
      }, SEND_SLICE_MS);
      this.waiters.push(wake);
    });
  };

  /** Wait while the socket holds more than SOCKET_QUEUE_LOW (the guest waits meanwhile: `hold`). */
  private async drain(): Promise<void> {
    while (this.needDrain && this.failure === undefined && !this.cancelRequested) await this.wait();
    this.check();
  }

  /** Wait until the socket has handed everything queued to the kernel. */
  private async drainAll(): Promise<void> {
    const s = this.socket!;
    if (s.writableLength > 0 && !s.destroyed) {
      // Writes complete in order: an empty one's callback runs once all before it are out.
      let done = false;
      s.write(new Uint8Array(0), () => {
        done = true;
        this.wakeAll();
      });
      while (!done && this.failure === undefined && !this.cancelRequested) await this.wait();
    }
    this.check();
  }

  /** At the end of a turn: keep under max-bandwidth, and let the guest run. */
  private async pace(): Promise<void> {
    this.check();
    this.host.progress?.(this);
    await this.drain();
    const limit = this.params.maxBandwidth;
    if (limit > 0) {
      const ahead = (this.transferred * 1000) / limit - (performance.now() - this.activeStart);
      if (ahead > 0) await new Promise((r) => setTimeout(r, Math.min(ahead, 1000)));
    }
    await new Promise<void>((r) => setImmediate(r));
    this.check();
  }

  /**
   * Send `pages` in turns of SEND_SLICE_MS. `before(i)` runs before page
   * `pages[i]` goes (the dirty log's chunked clear).
   */
  private async sendPages(
    pages: readonly number[],
    skipZero: boolean,
    before?: (page: number) => void,
  ): Promise<void> {
    const ram = this.ram!;
    let i = 0;
    while (i < pages.length) {
      const sliceEnd = performance.now() + SEND_SLICE_MS;
      while (i < pages.length) {
        before?.(pages[i]!);
        ram.add(pages[i++]!, skipZero);
        // The turn ends when the socket has enough queued or its time is up.
        if ((i & 63) === 0 && (this.needDrain || performance.now() >= sliceEnd)) break;
      }
      ram.flush();
      this.remaining = (pages.length - i) * PAGE_SIZE;
      await this.pace();
    }
  }

  private async run(): Promise<void> {
    const m = this.host.machine;
    const tracker = new DirtyTracker(m);
    let tracking = false;
    let wasRunning = false;
    try {
      // From the start: the connection's callbacks are not kept waiting behind a long guest turn.
      this.host.shareThread?.(this.hold);
      const s = await this.connect();
      this.attach(s);
      this.check();
      tracker.start();
      tracking = true;
      const w = new MigrationStreamWriter((c) => this.write(c));
      this.ram = new RamPageWriter(m, w, LIVE_PAGES_PER_SECTION);
      this.setupTime = performance.now() - this.t0;
      this.activeStart = performance.now();
      this.setStatus('active');
      configurationSection.save(m, w, { runState: 'running' });
      // The first pass: every page (QEMU's first ram_find_and_save_block() round, its bitmap all
      // set as KVM's is with INITIALLY_SET); the zero ones, never touched included, are left out.
      let list = Array.from({ length: tracker.pages }, (_, i) => i);
      this.remaining = list.length * PAGE_SIZE;
      let first = true;
      const beforeSend = (page: number) => tracker.beforeSend(page);
      for (;;) {
        const passStart = performance.now();
        const sentBefore = this.transferred;
        await this.sendPages(list, first, beforeSend);
        first = false;
        list = dirtyPages(tracker.sync(), tracker.pages);
        this.passes++;
        this.host.passDone(this.passes);
        const dt = Math.max(performance.now() - passStart, 1);
        this.bandwidth = (this.transferred - sentBefore) / dt;
        this.dirtyRate = Math.round((list.length * 1000) / dt);
        this.remaining = list.length * PAGE_SIZE;
        // QEMU's migration_iteration_run(): switch over once the rest fits the downtime limit.
        this.expectedDowntime =
          this.bandwidth > 0 ? this.remaining / this.bandwidth : Number.POSITIVE_INFINITY;
        if (this.expectedDowntime <= this.params.downtimeLimit || this.passes >= MAX_PASSES) break;
      }
      // What is queued in the socket goes first, with the guest still running: the downtime is
      // then the last pages and the devices, not the back-log of the passes.
      await this.drainAll();
      // migration_completion(): stop the VM, send what is still dirty and the devices.
      this.completing = true;
      wasRunning = this.host.state === 'running';
      const stopAt = performance.now();
      this.host.stop();
      this.host.shareThread?.(undefined);
      this.stoppedVm = true;
      // What the last pass left dirty, and what the guest dirtied since: both go now.
      const last = tracker.sync();
      for (const i of list) last[i >>> 3]! |= 1 << (i & 7);
      list = dirtyPages(last, tracker.pages);
      this.passes++;
      this.host.passDone(this.passes);
      for (const i of list) this.ram.add(i, false);
      this.ram.flush();
      this.remaining = 0;
      tracking = false;
      tracker.stop();
      this.host.saveDevices(w, wasRunning ? 'running' : 'paused');
      w.end();
      s.end();
      // The destination acknowledges once it has loaded the VM; only then is the source done.
      while (!this.acked && !this.peerClosed && this.failure === undefined) await this.wait();
      if (!this.acked) throw new Error(this.failure ?? 'the destination closed the connection');
      this.endTime = performance.now();
      this.downtime = this.endTime - stopAt;
      s.destroy();
      this.host.migrated();
      this.setStatus('completed');
    } catch (e) {
      // migrate_fd_cleanup(): logging off, the stream closed, the VM running again if it was.
      this.host.shareThread?.(undefined);
      if (tracking) {
        try {
          tracker.stop();
        } catch {
          // the memslot went away with the VM
        }
      }
      this.socket?.destroy();
      this.endTime = performance.now();
      if (this.stoppedVm && wasRunning) {
        try {
          this.host.cont();
        } catch {
          // the VM ended meanwhile
        }
      }
      if (e instanceof Cancelled) this.setStatus('cancelled');
      else {
        this.errorDesc = (e as Error).message;
        this.setStatus('failed');
      }
    }
    this.host.progress?.(this);
  }

  /** QEMU's MigrationInfo for query-migrate. */
  info(): Record<string, unknown> {
    const now = this.endTime ?? performance.now();
    const info: Record<string, unknown> = { status: this.status };
    if (this.status === 'setup' || this.status === 'cancelling' || this.status === 'cancelled') return info;
    info['total-time'] = Math.round(now - this.t0);
    info['setup-time'] = Math.round(this.setupTime);
    if (
      this.status === 'active' &&
      this.expectedDowntime !== undefined &&
      Number.isFinite(this.expectedDowntime)
    )
      info['expected-downtime'] = Math.round(this.expectedDowntime);
    if (this.downtime !== undefined) info.downtime = Math.round(this.downtime);
    const ram = this.ram;
    const normal = ram?.normal ?? 0;
    const seconds = Math.max((now - this.t0) / 1000, 0.001);
    info.ram = {
      transferred: this.transferred,
      remaining: this.remaining,
      total: this.host.machine.opts.mem,
      duplicate: ram?.duplicate ?? 0,
      normal,
      'normal-bytes': normal * PAGE_SIZE,
      'dirty-pages-rate': this.dirtyRate,
      mbps: Math.round(this.bandwidth * 8 * 1000) / 1e6,
      'dirty-sync-count': this.passes,
      'page-size': PAGE_SIZE,
      'pages-per-second': Math.round(normal / seconds),
      'precopy-bytes': this.transferred - this.downtimeBytes,
      'downtime-bytes': this.downtimeBytes,
      'postcopy-bytes': 0,
      'multifd-bytes': 0,
    };
    if (this.status === 'failed') info['error-desc'] = this.errorDesc;
    return info;
  }
}

function uriOf(a: QmpAddress): string {
  return a.kind === 'unix' ? `unix:${a.path}` : `tcp:${a.host}:${a.port}`;
}
