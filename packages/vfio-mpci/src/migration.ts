import { fail, type KernelFile } from '@tsvirt/core-bus';
import type { MdevDevice } from '@tsvirt/mdev-core';
import {
  VFIO_DEVICE_STATE_RESUMING,
  VFIO_DEVICE_STATE_RUNNING,
  VFIO_DEVICE_STATE_STOP,
  VFIO_DEVICE_STATE_STOP_COPY,
  VFIO_MIGRATION_STOP_COPY,
  type VfioDevice,
  type VfioMigrationOps,
  vfio_mig_get_next_state,
} from '@tsvirt/vfio-core';

/**
 * What a vendor gives to make its device migratable (what mtty's
 * mtty_save_state()/mtty_load_state() do for its device): its whole state
 * as one blob while stopped, and that blob loaded back. `stop`/`start`
 * quiesce and restart the device (no DMA, no interrupts while stopped);
 * optional for a device whose work only runs when the VMM lets it.
 */
export interface MpciMigrationOps {
  /** The device's whole state as one blob, taken while stopped. */
  save(mdev: MdevDevice): Uint8Array;
  /** Load a blob from save(); a bad one is EINVAL and changes nothing. */
  load(mdev: MdevDevice, blob: Uint8Array): void;
  /** Quiesce the device: no DMA or interrupts until start(). */
  stop?(mdev: MdevDevice): void;
  /** Restart a stopped device. */
  start?(mdev: MdevDevice): void;
}

const S = 'VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE';

/**
 * The migration data fd of one STOP_COPY or RESUMING session (mtty's
 * mtty_migration_file): read(2) streams the saved blob and then returns 0;
 * write(2) appends to the blob being resumed. Once the session ends (the
 * device leaves the state) the file is disabled: ENODEV, as mtty.
 */
export class MpciMigrationFile implements KernelFile {
  private disabled = false;
  private pos = 0;
  private chunks: Uint8Array[] = [];
  private length = 0;

  constructor(
    /** True for a STOP_COPY (read) file, false for a RESUMING (write) file. */
    readonly saving: boolean,
    private data: Uint8Array = new Uint8Array(0),
  ) {}

  /** read(2) at the file position; 0 at the end of the data. */
  read(buf: Uint8Array): number {
    if (this.disabled) fail('ENODEV', 'migration session ended', 'read');
    if (!this.saving) fail('EINVAL', 'a resuming file is write-only', 'read');
    const n = Math.min(buf.length, this.data.length - this.pos);
    buf.set(this.data.subarray(this.pos, this.pos + n));
    this.pos += n;
    return n;
  }

  /** write(2): append to the state being resumed. */
  write(buf: Uint8Array): number {
    if (this.disabled) fail('ENODEV', 'migration session ended', 'write');
    if (this.saving) fail('EINVAL', 'a saving file is read-only', 'write');
    this.chunks.push(buf.slice());
    this.length += buf.length;
    return buf.length;
  }

  /** Everything written so far, as one blob. */
  written(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  /** Bytes of state held in the file. */
  get size(): number {
    return this.data.length;
  }

  /** End the session: drop the data; later reads and writes fail with ENODEV. */
  disable(): void {
    this.disabled = true;
    this.data = new Uint8Array(0);
    this.chunks = [];
  }

  /**
   * The last fd closed: what was written stays with the driver's session
   * (the device loads it on RESUMING -> STOP, as upstream drivers keep the
   * migration file's data), only a saving file's data is dropped.
   */
  release(): void {
    if (this.saving) this.disable();
  }
}

/**
 * Migration v2 for a mediated PCI device with stop-copy only (mtty's
 * mig_ops: VFIO_MIGRATION_STOP_COPY). setState() walks arc by arc with
 * vfio_mig_get_next_state() as upstream drivers do:
 * RUNNING -> STOP quiesces, STOP -> STOP_COPY saves and opens the data fd,
 * STOP_COPY -> STOP closes it, STOP -> RESUMING opens an empty data fd,
 * RESUMING -> STOP loads what was written (EINVAL, staying in RESUMING,
 * for a blob the vendor refuses), STOP -> RUNNING restarts.
 */
export class MpciMigration implements VfioMigrationOps {
  readonly flags = VFIO_MIGRATION_STOP_COPY;
  private state = VFIO_DEVICE_STATE_RUNNING;
  private file: MpciMigrationFile | undefined;

  constructor(
    private readonly mdev: MdevDevice,
    private readonly ops: MpciMigrationOps,
  ) {}

  /** The current migration state (VFIO_DEVICE_STATE_*). */
  getState(_vdev: VfioDevice): number {
    return this.state;
  }

  /** VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: the stop-copy blob's size (saved now if not in STOP_COPY). */
  getDataSize(_vdev: VfioDevice): bigint {
    if (this.file?.saving) return BigInt(this.file.size);
    return BigInt(this.ops.save(this.mdev).length);
  }

  /** Step through the migration state machine to `target`; returns the data file a step opened. */
  setState(_vdev: VfioDevice, target: number): KernelFile | undefined {
    let out: KernelFile | undefined;
    while (this.state !== target) {
      const next = vfio_mig_get_next_state(this.flags, this.state, target);
      const file = this.step(this.state, next);
      if (file !== undefined) out = file;
      this.state = next;
    }
    return out;
  }

  private endSession(): MpciMigrationFile | undefined {
    const f = this.file;
    this.file = undefined;
    f?.disable();
    return f;
  }

  private step(cur: number, next: number): KernelFile | undefined {
    if (cur === VFIO_DEVICE_STATE_RUNNING && next === VFIO_DEVICE_STATE_STOP) {
      this.ops.stop?.(this.mdev);
      return undefined;
    }
    if (cur === VFIO_DEVICE_STATE_STOP && next === VFIO_DEVICE_STATE_RUNNING) {
      this.ops.start?.(this.mdev);
      return undefined;
    }
    if (cur === VFIO_DEVICE_STATE_STOP && next === VFIO_DEVICE_STATE_STOP_COPY) {
      this.file = new MpciMigrationFile(true, this.ops.save(this.mdev));
      return this.file;
    }
    if (cur === VFIO_DEVICE_STATE_STOP && next === VFIO_DEVICE_STATE_RESUMING) {
      this.file = new MpciMigrationFile(false);
      return this.file;
    }
    if (cur === VFIO_DEVICE_STATE_STOP_COPY && next === VFIO_DEVICE_STATE_STOP) {
      this.endSession();
      return undefined;
    }
    if (cur === VFIO_DEVICE_STATE_RESUMING && next === VFIO_DEVICE_STATE_STOP) {
      // Load before ending the session: a refused blob leaves the device RESUMING with its data fd.
      this.ops.load(this.mdev, this.file?.written() ?? new Uint8Array(0));
      this.endSession();
      return undefined;
    }
    return fail('EINVAL', `no arc from state ${cur} to ${next}`, S);
  }

  /** The device was reset or closed: back to RUNNING, any session ended (mtty's reset path). */
  reset(): void {
    this.endSession();
    this.state = VFIO_DEVICE_STATE_RUNNING;
  }
}
