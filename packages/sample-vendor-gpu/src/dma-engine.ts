import { fail, isKernelError, type WorkQueue, type WorkStruct } from '@tsvirt/core-bus';
import { type VfioDevice, vfio_dma_rw } from '@tsvirt/vfio-core';
import { mpciVfioDevice } from '@tsvirt/vfio-mpci';
import type { SampleGpu } from './sample-gpu.ts';
import {
  CMD_SIZE,
  ENGINE_CHUNK_BYTES,
  ERR_BAD_LENGTH,
  ERR_BAD_OPCODE,
  ERR_DMA_DISABLED,
  ERR_DMA_FAULT,
  ERR_NONE,
  ERR_RING_FAULT,
  ERR_VRAM_RANGE,
  INT_ERROR,
  INT_FENCE,
  OP_COPY_FROM_VRAM,
  OP_COPY_TO_VRAM,
  OP_FENCE,
  OP_FILL,
} from './spec.ts';

/** One 32-byte command as read from the ring. */
export interface GpuCommand {
  /** Opcode (OP_*). */
  opcode: number;
  /** Flags (ignored). */
  flags: number;
  /** Guest IOVA for COPY_*. */
  addr: bigint;
  /** VRAM byte offset. */
  vramOffset: number;
  /** Length in bytes. */
  length: number;
  /** FILL pattern or FENCE value. */
  value: number;
}

/** Decodes one 32-byte ring command (little endian) into its fields. */
export function decodeCommand(b: Uint8Array): GpuCommand {
  const dv = new DataView(b.buffer, b.byteOffset, CMD_SIZE);
  return {
    opcode: dv.getUint32(0, true),
    flags: dv.getUint32(4, true),
    addr: dv.getBigUint64(8, true),
    vramOffset: dv.getUint32(16, true),
    length: dv.getUint32(20, true),
    value: dv.getUint32(24, true),
  };
}

/** How much work one slice of the engine may do before it yields (SampleGpuOptions.engine). */
export interface GpuEngineBudget {
  /** Bytes moved per slice (at least one chunk always runs); default 256 KiB. */
  sliceBytes?: number;
  /** Commands fetched per slice; default 16. */
  sliceCommands?: number;
}

/** Default bytes per engine slice: 256 KiB. */
export const DEFAULT_SLICE_BYTES = 256 << 10;
/** Default commands per engine slice. */
export const DEFAULT_SLICE_COMMANDS = 16;

/** Check a budget (host-facing: EINVAL for anything but positive safe integers). */
export function engineBudget(b: GpuEngineBudget = {}): Required<GpuEngineBudget> {
  const out = {
    sliceBytes: b.sliceBytes ?? DEFAULT_SLICE_BYTES,
    sliceCommands: b.sliceCommands ?? DEFAULT_SLICE_COMMANDS,
  };
  for (const [k, v] of Object.entries(out))
    if (!Number.isSafeInteger(v) || v < 1) fail('EINVAL', `engine ${k} ${v} is not a positive integer`);
  return out;
}

/** The engine's state between slices, saved in the device blob (major 2). */
export interface EngineState {
  /** ENGINE_STATUS.BUSY: started by a doorbell and HEAD has not reached TAIL. */
  busy: boolean;
  /** The command at HEAD as fetched (it is not fetched again), or undefined before the fetch. */
  inflight: Uint8Array | undefined;
  /** Bytes of the in-flight command already moved (a multiple of the chunk size). */
  progress: number;
}

/**
 * The DMA engine. A doorbell (a RING_TAIL write) only checks the ring
 * registers, marks the engine busy and queues its work on the host
 * workqueue, as a driver's interrupt path does queue_work(); the work
 * function (`run`) executes one bounded slice of the ring and queues
 * itself again while commands remain, so the engine runs beside the vCPUs
 * and its completion arrives later by interrupt. Data moves in chunks of
 * ENGINE_CHUNK_BYTES. Guest memory is reached only through vfio-core's
 * vfio_dma_rw() on the mdev's VFIO device, so every byte it writes is
 * dirty-tracked by the IOMMU backend, and a faulting chunk writes no byte
 * of guest memory. A bad command stops the engine at it with an error
 * status.
 */
export class DmaEngine implements WorkStruct {
  /** Commands completed since creation (for tests and statistics). */
  executed = 0;
  /** Slices run and bytes moved since creation. */
  slices = 0;
  /** Bytes moved since creation. */
  bytes = 0;
  /** Engine state between slices. */
  state: EngineState = { busy: false, inflight: undefined, progress: 0 };
  /** Work allowed per slice. */
  readonly budget: Required<GpuEngineBudget>;

  private stagingBuf: Uint8Array | undefined;
  private decoded: GpuCommand | undefined;

  constructor(
    private readonly gpu: SampleGpu,
    private readonly wq: WorkQueue,
    budget: GpuEngineBudget = {},
  ) {
    this.budget = engineBudget(budget);
  }

  /** The engine has commands to run. */
  get busy(): boolean {
    return this.state.busy;
  }

  /** A reusable gather buffer of `n` bytes (at most one chunk). */
  private staging(n: number): Uint8Array {
    if (this.stagingBuf === undefined || this.stagingBuf.length < n) this.stagingBuf = new Uint8Array(n);
    return this.stagingBuf.subarray(0, n);
  }

  private vdev(): VfioDevice | undefined {
    return mpciVfioDevice(this.gpu.mdev);
  }

  /** vfio_dma_rw(), with every host-side refusal turned into false. */
  private dmaRw(iova: bigint, data: Uint8Array, write: boolean): boolean {
    const vdev = this.vdev();
    if (vdev === undefined) return false;
    try {
      vfio_dma_rw(vdev, iova, data, write);
      return true;
    } catch (e) {
      if (isKernelError(e)) return false;
      throw e;
    }
  }

  /** A write of RING_TAIL: the ring registers are checked now, the commands run later. */
  doorbell(tail: number): void {
    const gpu = this.gpu;
    const r = gpu.regs;
    // A tail outside the ring (or no ring) is a ring fault; TAIL keeps its old value.
    if (r.ringSize === 0 || tail >= r.ringSize) {
      gpu.error(ERR_RING_FAULT, r.ringHead);
      return;
    }
    r.ringTail = tail;
    // Stopped on an error until the guest clears INT_STATUS.ERROR.
    if ((r.intStatus & INT_ERROR) !== 0) return;
    // Already running: the new TAIL is picked up before the next fetch.
    if (this.state.busy) return;
    if (r.ringHead === r.ringTail) return;
    if (!gpu.config.busMaster) {
      gpu.error(ERR_DMA_DISABLED, r.ringHead);
      return;
    }
    if (this.ringBase() % BigInt(CMD_SIZE) !== 0n) {
      gpu.error(ERR_RING_FAULT, r.ringHead);
      return;
    }
    this.state.busy = true;
    this.wq.queueWork(this);
  }

  private ringBase(): bigint {
    const r = this.gpu.regs;
    return (BigInt(r.ringBaseHi) << 32n) | BigInt(r.ringBaseLo);
  }

  /**
   * Stop: drop the in-flight command (it restarts from its beginning when
   * the engine is started again) and take the work off the queue
   * (cancel_work()). For reset, a ring reprogram, an error, device removal.
   */
  stop(): void {
    this.state = { busy: false, inflight: undefined, progress: 0 };
    this.decoded = undefined;
    this.wq.cancelWork(this);
  }

  /** Load saved engine state (the caller has checked it); re-queues the work if busy. */
  load(st: EngineState): void {
    this.stop();
    this.state = { busy: st.busy, inflight: st.inflight?.slice(), progress: st.progress };
    if (st.busy) this.wq.queueWork(this);
  }

  /** Stop with a device error at `index`. */
  private fault(code: number, index: number): void {
    this.stop();
    this.gpu.error(code, index);
  }

  /**
   * The work function: one slice of at most `sliceCommands` fetches and
   * (about) `sliceBytes` of data, at least one chunk or command; queues
   * itself again while the engine stays busy.
   */
  run(): void {
    const gpu = this.gpu;
    const r = gpu.regs;
    if (!this.state.busy || gpu.gone) return;
    this.slices++;
    let bytes = 0;
    let fetched = 0;
    for (;;) {
      // An error from elsewhere (BAD_MODE) stops the engine, as in the doorbell.
      if ((r.intStatus & INT_ERROR) !== 0) {
        this.stop();
        return;
      }
      if (!gpu.config.busMaster) {
        this.fault(ERR_DMA_DISABLED, r.ringHead);
        return;
      }
      const st = this.state;
      if (st.inflight === undefined) {
        if (r.ringHead === r.ringTail) {
          this.stop();
          return;
        }
        if (fetched >= this.budget.sliceCommands) break;
        fetched++;
        const buf = new Uint8Array(CMD_SIZE);
        if (!this.dmaRw(this.ringBase() + BigInt(r.ringHead * CMD_SIZE), buf, false)) {
          this.fault(ERR_RING_FAULT, r.ringHead);
          return;
        }
        st.inflight = buf;
        st.progress = 0;
      }
      if (this.decoded === undefined) this.decoded = decodeCommand(st.inflight);
      const c = this.decoded;
      // Checks in SPEC order, before the command moves any byte.
      const err = st.progress === 0 ? this.check(c) : ERR_NONE;
      if (err !== ERR_NONE) {
        this.fault(err, r.ringHead);
        return;
      }
      const moved = this.step(c, st.progress);
      if (moved < 0) {
        this.fault(ERR_DMA_FAULT, r.ringHead);
        return;
      }
      st.progress += moved;
      bytes += moved;
      this.bytes += moved;
      if (c.opcode === OP_FENCE || st.progress >= c.length) {
        // The command is done: HEAD moves past it, then a FENCE signals.
        st.inflight = undefined;
        st.progress = 0;
        this.decoded = undefined;
        this.executed++;
        r.ringHead = (r.ringHead + 1) & (r.ringSize - 1);
        if (c.opcode === OP_FENCE) {
          r.fenceValue = c.value;
          gpu.raise(INT_FENCE);
          // The interrupt's consumer may have reset or reprogrammed the device.
          if (this.state !== st) return;
        }
        if (r.ringHead === r.ringTail) {
          // Caught up: idle (BUSY clear) until the next doorbell.
          this.stop();
          return;
        }
      }
      if (bytes >= this.budget.sliceBytes) break;
    }
    this.wq.queueWork(this);
  }

  /** A command's checks, in SPEC order: opcode, length, VRAM range. */
  private check(c: GpuCommand): number {
    switch (c.opcode) {
      case OP_FILL:
      case OP_COPY_TO_VRAM:
      case OP_COPY_FROM_VRAM:
        if (c.length % 4 !== 0) return ERR_BAD_LENGTH;
        if (c.vramOffset + c.length > this.gpu.vramSize) return ERR_VRAM_RANGE;
        return ERR_NONE;
      case OP_FENCE:
        return ERR_NONE;
      default:
        return ERR_BAD_OPCODE;
    }
  }

  /** Move the chunk of a checked command at `at`; returns its bytes, or -1 on a DMA fault. */
  private step(c: GpuCommand, at: number): number {
    if (c.opcode === OP_FENCE) {
      // A FENCE with an address writes its value there first (a breadcrumb, as GPUs write
      // their seqno), so the write is visible before FENCE_VALUE and the interrupt.
      if (c.addr === 0n) return 0;
      const v = new Uint8Array(4);
      new DataView(v.buffer).setUint32(0, c.value >>> 0, true);
      return this.dmaRw(c.addr, v, true) ? 0 : -1;
    }
    const n = Math.min(ENGINE_CHUNK_BYTES, c.length - at);
    if (n <= 0) return 0;
    const vram = this.gpu.vram;
    const off = c.vramOffset + at;
    const iova = c.addr + BigInt(at);
    if (c.opcode === OP_FILL) {
      // The pattern keeps its phase: chunks are whole words from the command's start.
      vram.fill32(off, n, c.value);
      return n;
    }
    const pieces = vram.pieces(off, n);
    if (c.opcode === OP_COPY_TO_VRAM) {
      // Segment by segment straight into VRAM; a fault part-way leaves the
      // earlier part of the VRAM range written (inside the device only).
      let cur = iova;
      for (const p of pieces) {
        if (!this.dmaRw(cur, p, false)) return -1;
        cur += BigInt(p.length);
      }
      return n;
    }
    if (pieces.length === 1) return this.dmaRw(iova, pieces[0]!, true) ? n : -1;
    // Out of VRAM across segments: gather first, so one vfio_dma_rw either
    // writes the whole chunk to guest memory or (on a fault) none of it.
    const tmp = this.staging(n);
    vram.read(off, tmp);
    return this.dmaRw(iova, tmp, true) ? n : -1;
  }
}
