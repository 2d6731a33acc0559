import { isKernelError } from '@tsvirt/core-bus';
import { type VfioDevice, vfio_dma_rw } from '@tsvirt/vfio-core';
import { mpciVfioDevice } from '@tsvirt/vfio-mpci';
import type { SampleGpu } from './sample-gpu.ts';
import {
  CMD_SIZE,
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
  opcode: number;
  flags: number;
  addr: bigint;
  vramOffset: number;
  length: number;
  value: number;
}

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

/**
 * The DMA engine: on a doorbell it executes ring entries HEAD..TAIL-1.
 * Guest memory is reached only through vfio-core's vfio_dma_rw() on the
 * mdev's VFIO device, so every byte it writes is dirty-tracked by the
 * IOMMU backend, and a fault (unmapped or not permitted IOVA) writes no
 * byte of guest memory. A bad command stops the engine at it with an
 * error status.
 */
export class DmaEngine {
  private readonly cmdBuf = new Uint8Array(CMD_SIZE);
  /** Commands executed since creation (for tests and statistics). */
  executed = 0;

  private stagingBuf: Uint8Array | undefined;

  constructor(private readonly gpu: SampleGpu) {}

  /** A reusable gather buffer of `n` bytes (at most VRAM size). */
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

  /** A write of RING_TAIL. */
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
    if (r.ringHead === r.ringTail) return;
    if (!gpu.config.busMaster) {
      gpu.error(ERR_DMA_DISABLED, r.ringHead);
      return;
    }
    const base = (BigInt(r.ringBaseHi) << 32n) | BigInt(r.ringBaseLo);
    if (base % BigInt(CMD_SIZE) !== 0n) {
      gpu.error(ERR_RING_FAULT, r.ringHead);
      return;
    }
    while (r.ringHead !== r.ringTail) {
      const index = r.ringHead;
      if (!this.dmaRw(base + BigInt(index * CMD_SIZE), this.cmdBuf, false)) {
        gpu.error(ERR_RING_FAULT, index);
        return;
      }
      const err = this.execute(decodeCommand(this.cmdBuf));
      if (err !== ERR_NONE) {
        gpu.error(err, index);
        return;
      }
      this.executed++;
      r.ringHead = (index + 1) & (r.ringSize - 1);
    }
  }

  /** Run one command; returns an error code (ERR_NONE on success). */
  execute(c: GpuCommand): number {
    const gpu = this.gpu;
    switch (c.opcode) {
      case OP_FILL:
      case OP_COPY_TO_VRAM:
      case OP_COPY_FROM_VRAM: {
        if (c.length % 4 !== 0) return ERR_BAD_LENGTH;
        if (c.vramOffset + c.length > gpu.vramSize) return ERR_VRAM_RANGE;
        if (c.length === 0) return ERR_NONE;
        if (c.opcode === OP_FILL) {
          gpu.vram.fill32(c.vramOffset, c.length, c.value);
          return ERR_NONE;
        }
        const toVram = c.opcode === OP_COPY_TO_VRAM;
        const pieces = gpu.vram.pieces(c.vramOffset, c.length);
        if (pieces.length === 1) {
          // One contiguous VRAM view: DMA straight into (or out of) it.
          return this.dmaRw(c.addr, pieces[0]!, !toVram) ? ERR_NONE : ERR_DMA_FAULT;
        }
        if (toVram) {
          // Segment by segment straight into VRAM; a fault part-way leaves the
          // earlier part of the VRAM range written (inside the device only).
          let iova = c.addr;
          for (const p of pieces) {
            if (!this.dmaRw(iova, p, false)) return ERR_DMA_FAULT;
            iova += BigInt(p.length);
          }
          return ERR_NONE;
        }
        // Out of VRAM across segments: gather first, so one vfio_dma_rw either
        // writes all of guest memory or (on a fault) none of it.
        const tmp = this.staging(c.length);
        gpu.vram.read(c.vramOffset, tmp);
        return this.dmaRw(c.addr, tmp, true) ? ERR_NONE : ERR_DMA_FAULT;
      }
      case OP_FENCE:
        gpu.regs.fenceValue = c.value;
        gpu.raise(INT_FENCE);
        return ERR_NONE;
      default:
        return ERR_BAD_OPCODE;
    }
  }
}
