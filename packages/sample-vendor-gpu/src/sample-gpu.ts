import { fail, type WorkQueue } from '@tsvirt/core-bus';
import { PAGE_SIZE } from '@tsvirt/host-mm';
import type { MdevDevice } from '@tsvirt/mdev-core';
import {
  DRM_PLANE_TYPE_PRIMARY,
  VFIO_PCI_BAR0_REGION_INDEX,
  VFIO_PCI_BAR2_REGION_INDEX,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_INDEX_TO_OFFSET,
  VFIO_PCI_MSI_IRQ_INDEX,
  type VfioDeviceGfxPlaneInfo,
} from '@tsvirt/vfio-core';
import { type MpciMapAnswer, type MpciMapRequest, mpciIrqs } from '@tsvirt/vfio-mpci';
import { GpuConfigSpace, PCI_MSI_MASK_64 } from './config-space.ts';
import { DmaEngine, type GpuEngineBudget } from './dma-engine.ts';
import { decodeState, encodeState, type GpuRegs, type Scanout } from './gpu-state.ts';
import {
  DRM_FORMAT_XRGB8888,
  ENGINE_BUSY,
  ERR_BAD_MODE,
  ERR_NONE,
  INT_ALL,
  INT_ERROR,
  MODE_MAX_DIM,
  REG_ENGINE_STATUS,
  REG_ERROR_CODE,
  REG_ERROR_INDEX,
  REG_FENCE_VALUE,
  REG_ID,
  REG_INT_ENABLE,
  REG_INT_STATUS,
  REG_MODE_ENABLE,
  REG_MODE_FORMAT,
  REG_MODE_HEIGHT,
  REG_MODE_OFFSET,
  REG_MODE_STRIDE,
  REG_MODE_WIDTH,
  REG_RESET,
  REG_RING_BASE_HI,
  REG_RING_BASE_LO,
  REG_RING_HEAD,
  REG_RING_SIZE,
  REG_RING_TAIL,
  REG_VRAM_SIZE,
  RING_MAX_ENTRIES,
  SGPU_BAR0_SIZE,
  SGPU_ID,
  SGPU_MSI_CAP,
  type SgpuTypeSpec,
} from './spec.ts';
import type { Vram } from './vram.ts';

const REGION_SHIFT = 40n;
const OFFSET_MASK = (1n << REGION_SHIFT) - 1n;
const BAR2_OFFSET = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR2_REGION_INDEX);

/** An RGBA image of the scan-out (rows top to bottom, 4 bytes a pixel). */
export interface DisplaySnapshot {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Pixels, 4 bytes each (R, G, B, A). */
  rgba: Uint8Array;
}

export function powerOnRegs(): GpuRegs {
  return {
    modeWidth: 0,
    modeHeight: 0,
    modeStride: 0,
    modeFormat: 0,
    modeOffset: 0,
    modeEnable: 0,
    intStatus: 0,
    intEnable: 0,
    ringBaseLo: 0,
    ringBaseHi: 0,
    ringSize: 0,
    ringHead: 0,
    ringTail: 0,
    fenceValue: 0,
    errorCode: ERR_NONE,
    errorIndex: 0,
  };
}

/**
 * Is a mode one the display can scan out (SPEC.md, MODE_ENABLE)? Returns
 * the latched scan-out, or undefined.
 */
export function validateMode(r: GpuRegs, vramSize: number): Scanout | undefined {
  const { modeWidth: w, modeHeight: h, modeStride: s, modeFormat: f, modeOffset: o } = r;
  if (w < 1 || w > MODE_MAX_DIM || h < 1 || h > MODE_MAX_DIM) return undefined;
  if (s % 4 !== 0 || s < w * 4) return undefined;
  if (f !== DRM_FORMAT_XRGB8888 || o % 4 !== 0) return undefined;
  if (o + s * (h - 1) + w * 4 > vramSize) return undefined;
  return { width: w, height: h, stride: s, format: f, offset: o };
}

/**
 * The device model of one sample GPU instance (kept in `mdev.drvdata`): PCI
 * config space, the trapped register BAR0, the VRAM BAR2, the DMA engine,
 * interrupts, reset, display plane and save/restore. Every guest-facing
 * path is total: bad guest input becomes a device error, never a throw.
 */
export class SampleGpu {
  /** The config space. */
  readonly config: GpuConfigSpace;
  /** The BAR0 registers. */
  regs: GpuRegs = powerOnRegs();
  /** The mode latched by the last successful MODE_ENABLE write. */
  scanout: Scanout | undefined = undefined;
  /** The DMA engine. */
  readonly dma: DmaEngine;
  /** The mdev was removed and its VRAM frames went back to the host. */
  gone = false;

  constructor(
    /** The mdev this model backs. */
    readonly mdev: MdevDevice,
    /** The mdev type. */
    readonly spec: SgpuTypeSpec,
    /** The instance's VRAM. */
    readonly vram: Vram,
    /** The host workqueue the DMA engine's work runs on. */
    readonly wq: WorkQueue,
    engine: GpuEngineBudget = {},
  ) {
    this.config = new GpuConfigSpace(spec.subsystemId, spec.vramSize);
    this.dma = new DmaEngine(this, wq, engine);
  }

  /** VRAM size in bytes. */
  get vramSize(): number {
    return this.spec.vramSize;
  }

  // --- interrupts -----------------------------------------------------------------

  /** The line level: (INT_STATUS & INT_ENABLE) != 0. */
  get irqPending(): boolean {
    return (this.regs.intStatus & this.regs.intEnable) !== 0;
  }

  /**
   * Status bits were set: raise MSI if the user enabled it (as mtty picks
   * its irq_index), else drive INTx from the line level.
   */
  raise(bits: number): void {
    this.regs.intStatus |= bits & INT_ALL;
    this.raiseMsiFor(bits & this.regs.intEnable);
    this.updateIntx();
  }

  /** Drive INTx: level & !INTx-disable, and not while MSI is in use. */
  updateIntx(): void {
    const level = this.irqPending;
    this.config.setInterruptStatus(level);
    const irqs = mpciIrqs(this.mdev);
    if (irqs === undefined) return;
    irqs.setIntx(irqs.type === 'intx' && level && !this.config.intxDisabled);
  }

  /** A device error: code and index latched, ERROR raised; the engine stops (SPEC.md). */
  error(code: number, index: number): void {
    this.dma.stop();
    this.regs.errorCode = code;
    this.regs.errorIndex = index;
    this.raise(INT_ERROR);
  }

  // --- region access (vfio-mpci's read/write) -----------------------------------------

  /** A trapped access at `index << 40 | offset`, 1/2/4 bytes, naturally aligned. */
  access(buf: Uint8Array, pos: bigint, write: boolean): number {
    if (this.gone) fail('ENODEV', 'device was removed', write ? 'vfio_mpci_write' : 'vfio_mpci_read');
    const index = Number(pos >> REGION_SHIFT);
    const off = Number(pos & OFFSET_MASK);
    switch (index) {
      case VFIO_PCI_CONFIG_REGION_INDEX:
        if (write) this.configWrite(off, buf);
        else this.config.read(off, buf);
        return buf.length;
      case VFIO_PCI_BAR0_REGION_INDEX:
      case VFIO_PCI_BAR2_REGION_INDEX:
        // vfio-pci refuses BAR access while memory decode is off (EIO).
        if (!this.config.memoryEnabled)
          fail('EIO', 'memory decode is off', write ? 'vfio_mpci_write' : 'vfio_mpci_read');
        if (index === VFIO_PCI_BAR2_REGION_INDEX) {
          if (write) this.vram.write(off, buf);
          else this.vram.read(off, buf);
        } else if (write) this.regWrite(off, buf);
        else this.regRead(off, buf);
        return buf.length;
      default:
        return fail('EINVAL', `no region ${index}`, write ? 'vfio_mpci_write' : 'vfio_mpci_read');
    }
  }

  private configWrite(off: number, buf: Uint8Array): void {
    const wasMem = this.config.memoryEnabled;
    const wasMasked = this.config.msiMasked;
    this.config.write(off, buf);
    // Memory decode off: revoke direct VRAM access, as vfio-pci zaps BAR mmaps.
    if (wasMem && !this.config.memoryEnabled) this.mdev.invalidateMapping(BAR2_OFFSET, BigInt(this.vramSize));
    // An unmasked MSI vector with its pending bit set fires now.
    const maskAt = SGPU_MSI_CAP + PCI_MSI_MASK_64;
    if (off <= maskAt && off + buf.length > maskAt && wasMasked && !this.config.msiMasked) {
      if (this.config.msiPending) {
        this.config.setMsiPending(false);
        const irqs = mpciIrqs(this.mdev);
        if (irqs?.type === 'msi') irqs.trigger(VFIO_PCI_MSI_IRQ_INDEX, 0);
      }
    }
    this.updateIntx();
  }

  private regRead(off: number, buf: Uint8Array): void {
    // Only aligned dwords are decoded; other accesses read 0 (SPEC.md).
    if (buf.length !== 4 || off >= SGPU_BAR0_SIZE) {
      buf.fill(0);
      return;
    }
    const v = this.reg(off);
    buf[0] = v & 0xff;
    buf[1] = (v >>> 8) & 0xff;
    buf[2] = (v >>> 16) & 0xff;
    buf[3] = (v >>> 24) & 0xff;
  }

  /** The value of register `off` (0 for holes and write-only registers). */
  reg(off: number): number {
    const r = this.regs;
    switch (off) {
      case REG_ID:
        return SGPU_ID;
      case REG_VRAM_SIZE:
        return this.vramSize;
      case REG_MODE_WIDTH:
        return r.modeWidth;
      case REG_MODE_HEIGHT:
        return r.modeHeight;
      case REG_MODE_STRIDE:
        return r.modeStride;
      case REG_MODE_FORMAT:
        return r.modeFormat;
      case REG_MODE_OFFSET:
        return r.modeOffset;
      case REG_MODE_ENABLE:
        return r.modeEnable;
      case REG_INT_STATUS:
        return r.intStatus;
      case REG_INT_ENABLE:
        return r.intEnable;
      case REG_RING_BASE_LO:
        return r.ringBaseLo;
      case REG_RING_BASE_HI:
        return r.ringBaseHi;
      case REG_RING_SIZE:
        return r.ringSize;
      case REG_RING_HEAD:
        return r.ringHead;
      case REG_RING_TAIL:
        return r.ringTail;
      case REG_FENCE_VALUE:
        return r.fenceValue;
      case REG_ERROR_CODE:
        return r.errorCode;
      case REG_ERROR_INDEX:
        return r.errorIndex;
      case REG_ENGINE_STATUS:
        return this.dma.busy ? ENGINE_BUSY : 0;
      default:
        return 0;
    }
  }

  private regWrite(off: number, buf: Uint8Array): void {
    if (buf.length !== 4 || off >= SGPU_BAR0_SIZE) return;
    const v = (buf[0]! | (buf[1]! << 8) | (buf[2]! << 16) | (buf[3]! << 24)) >>> 0;
    this.writeReg(off, v);
  }

  /** A 32-bit register write, as the guest's store would do it. */
  writeReg(off: number, v: number): void {
    const r = this.regs;
    switch (off) {
      case REG_MODE_WIDTH:
        r.modeWidth = v;
        return;
      case REG_MODE_HEIGHT:
        r.modeHeight = v;
        return;
      case REG_MODE_STRIDE:
        r.modeStride = v;
        return;
      case REG_MODE_FORMAT:
        r.modeFormat = v;
        return;
      case REG_MODE_OFFSET:
        r.modeOffset = v;
        return;
      case REG_MODE_ENABLE:
        if (v === 0) {
          r.modeEnable = 0;
          this.scanout = undefined;
        } else if (v === 1) {
          const s = validateMode(r, this.vramSize);
          if (s === undefined) {
            r.modeEnable = 0;
            this.scanout = undefined;
            this.error(ERR_BAD_MODE, r.errorIndex);
          } else {
            r.modeEnable = 1;
            this.scanout = s;
          }
        }
        return;
      case REG_INT_STATUS:
        // RW1C; clearing ERROR clears the error registers too.
        r.intStatus &= ~(v & INT_ALL);
        if ((r.intStatus & INT_ERROR) === 0) {
          r.errorCode = ERR_NONE;
          r.errorIndex = 0;
        }
        this.updateIntx();
        return;
      case REG_INT_ENABLE: {
        const newly = v & INT_ALL & ~r.intEnable;
        r.intEnable = v & INT_ALL;
        // Enabling a bit whose status is already set is an interrupt edge for MSI.
        if ((newly & r.intStatus) !== 0) this.raiseMsiFor(newly & r.intStatus);
        this.updateIntx();
        return;
      }
      case REG_RING_BASE_LO:
        r.ringBaseLo = v;
        return;
      case REG_RING_BASE_HI:
        r.ringBaseHi = v;
        return;
      case REG_RING_SIZE:
        // A power of two 1..4096 (else ignored); HEAD and TAIL restart at 0.
        if (v >= 1 && v <= RING_MAX_ENTRIES && (v & (v - 1)) === 0) {
          // A new ring stops the engine (its in-flight command is dropped).
          this.dma.stop();
          r.ringSize = v;
          r.ringHead = 0;
          r.ringTail = 0;
        }
        return;
      case REG_RING_TAIL:
        this.dma.doorbell(v);
        return;
      case REG_RESET:
        if (v & 1) this.resetRegisters();
        return;
      default:
        return;
    }
  }

  /** One MSI message for newly signalled enabled bits; held as Pending while the vector is masked. */
  private raiseMsiFor(bits: number): void {
    const irqs = mpciIrqs(this.mdev);
    if (irqs?.type !== 'msi' || bits === 0) return;
    if (this.config.msiMasked) this.config.setMsiPending(true);
    else irqs.trigger(VFIO_PCI_MSI_IRQ_INDEX, 0);
  }

  // --- mmap of VRAM ---------------------------------------------------------------

  /**
   * validate_map_request() for a fault in the mmapped VRAM: the host pfn
   * of the page and how much contiguous VRAM follows it in the mapping.
   * Refused (the access faults, as vfio_pci_mmap_fault()'s SIGBUS) while
   * memory decode is off or for any other region.
   */
  validateMapRequest(req: MpciMapRequest): MpciMapAnswer {
    if (this.gone) fail('ENODEV', 'device was removed');
    if (req.index !== VFIO_PCI_BAR2_REGION_INDEX) fail('EINVAL', `region ${req.index} is not mmap-able`);
    if (!this.config.memoryEnabled) fail('EFAULT', 'memory decode is off');
    const off = Number(req.offset);
    if (off < 0 || off >= this.vramSize) fail('EINVAL', 'fault past VRAM');
    const size = Math.min(this.vramSize - off, req.remaining - (req.remaining % PAGE_SIZE));
    return { pfn: this.vram.basePfn + off / PAGE_SIZE, size };
  }

  // --- reset -------------------------------------------------------------------------

  /** The RESET register: mode off, ring cleared, status 0 (config space untouched). */
  resetRegisters(): void {
    this.dma.stop();
    this.regs = powerOnRegs();
    this.scanout = undefined;
    this.updateIntx();
  }

  /**
   * VFIO_DEVICE_RESET (a function-level reset): config space back to
   * power-on too (decode and bus mastering off, BARs unassigned). VRAM
   * contents survive, as on real boards.
   */
  reset(): void {
    this.config.powerOn();
    this.resetRegisters();
  }

  // --- display -----------------------------------------------------------------------

  /**
   * VFIO_DEVICE_QUERY_GFX_PLANE for a REGION plane: the scan-out in BAR2.
   * With the display off the format is 0 (mbochs/mdpy answer so). The UAPI
   * has no offset field: the framebuffer begins at MODE_OFFSET in BAR2.
   */
  queryGfxPlane(plane: VfioDeviceGfxPlaneInfo): void {
    const s = this.scanout;
    plane.drm_plane_type = DRM_PLANE_TYPE_PRIMARY;
    plane.drm_format_mod = 0n;
    plane.x_pos = 0;
    plane.y_pos = 0;
    plane.x_hot = 0;
    plane.y_hot = 0;
    plane.region_index = VFIO_PCI_BAR2_REGION_INDEX;
    plane.drm_format = s?.format ?? 0;
    plane.width = s?.width ?? 0;
    plane.height = s?.height ?? 0;
    plane.stride = s?.stride ?? 0;
    plane.size = s === undefined ? 0 : s.stride * s.height;
  }

  /** The current display as RGBA (XRGB8888 -> R, G, B, 255), or undefined while off. */
  displaySnapshot(): DisplaySnapshot | undefined {
    const s = this.scanout;
    if (s === undefined || this.gone) return undefined;
    const rgba = new Uint8Array(s.width * s.height * 4);
    const row = new Uint8Array(s.width * 4);
    for (let y = 0; y < s.height; y++) {
      this.vram.read(s.offset + y * s.stride, row);
      const o = y * s.width * 4;
      for (let i = 0; i < row.length; i += 4) {
        rgba[o + i] = row[i + 2]!;
        rgba[o + i + 1] = row[i + 1]!;
        rgba[o + i + 2] = row[i]!;
        rgba[o + i + 3] = 255;
      }
    }
    return { width: s.width, height: s.height, rgba };
  }

  // --- save / restore ---------------------------------------------------------------------

  /** The device state as a versioned blob: config space, registers, scan-out, the engine mid-ring, VRAM. */
  save(): Uint8Array {
    if (this.gone) fail('ENODEV', 'device was removed', 'sample_gpu_save');
    const vram = new Uint8Array(this.vramSize);
    this.vram.read(0, vram);
    return encodeState({
      vramSize: this.vramSize,
      config: this.config.bytes,
      regs: this.regs,
      scanout: this.scanout,
      engine: this.dma.state,
      vram,
    });
  }

  /**
   * Load a blob from save(). Bad magic, a newer major version, another
   * VRAM size or inconsistent fields are EINVAL and change nothing.
   */
  restore(blob: Uint8Array): void {
    if (this.gone) fail('ENODEV', 'device was removed', 'sample_gpu_restore');
    const st = decodeState(blob, this.vramSize);
    const wasMem = this.config.memoryEnabled;
    this.config.bytes.set(st.config);
    this.regs = st.regs;
    this.scanout = st.scanout;
    this.vram.write(0, st.vram);
    // A busy engine goes back on the workqueue and resumes where it stopped.
    this.dma.load(st.engine);
    if (wasMem && !this.config.memoryEnabled) this.mdev.invalidateMapping(BAR2_OFFSET, BigInt(this.vramSize));
    this.updateIntx();
  }
}
