import { fail, type WorkQueue } from '@tsvirt/core-bus';
import type { HostPhysMemory } from '@tsvirt/host-mm';
import type { MdevCore, MdevDevice, MdevParent, MdevType } from '@tsvirt/mdev-core';
import {
  VFIO_PCI_BAR0_REGION_INDEX,
  VFIO_PCI_BAR2_REGION_INDEX,
  VFIO_PCI_CONFIG_REGION_INDEX,
  type VfioDeviceGfxPlaneInfo,
} from '@tsvirt/vfio-core';
import {
  type MpciMapAnswer,
  type MpciMapRequest,
  type MpciParentOps,
  type MpciRegionInfo,
  PCI_CFG_SPACE_SIZE,
} from '@tsvirt/vfio-mpci';
import { engineBudget, type GpuEngineBudget } from './dma-engine.ts';
import { SampleGpu } from './sample-gpu.ts';
import { SGPU_BAR0_SIZE, SGPU_TYPES, type SgpuTypeSpec } from './spec.ts';
import { Vram } from './vram.ts';

/** The sample GPU parent: its name, the VRAM pool its instances share, and the DMA engine's budget. */
export interface SampleGpuOptions {
  /** The parent device's name (`/sys/class/mdev_bus/<name>`); default `sample-gpu`. */
  name?: string;
  /** Bytes of VRAM shared by all instances; default 128 MiB. */
  vramPool?: number;
  /** How much one slice of each instance's DMA engine may do (SampleGpu's work on the host workqueue). */
  engine?: GpuEngineBudget;
}

/** Default VRAM pool: 128 MiB. */
export const SAMPLE_GPU_DEFAULT_POOL = 128 << 20;

/** The device model of an mdev of this parent. */
export function sampleGpuOf(mdev: MdevDevice): SampleGpu {
  const g = mdev.drvdata;
  if (!(g instanceof SampleGpu)) fail('ENODEV', `mdev ${mdev.uuid} is not a sample GPU`);
  return g;
}

/**
 * The sample GPU's vendor driver (a vfio-mpci parent): three types carved
 * from one VRAM pool, counted by the vendor as mbochs counts its
 * `avail_mbytes`. An instance's VRAM goes back to the pool when the mdev is
 * released (its last reference dropped), not when it is removed while
 * still open, so `available_instances` is exact at every moment.
 */
export class SampleGpuDriver implements MpciParentOps {
  /** Parent device name. */
  readonly name: string;
  /** Bytes of VRAM shared by all instances. */
  readonly vramPool: number;
  /** DMA engine budget per slice. */
  readonly engine: Required<GpuEngineBudget>;
  /** Every instance not yet released, with its VRAM size. */
  private readonly live = new Map<MdevDevice, number>();
  /** The registered mdev parent, once registered. */
  parent: MdevParent | undefined;

  constructor(
    private readonly phys: HostPhysMemory,
    /** The host workqueue every instance's DMA engine runs on. */
    private readonly wq: WorkQueue,
    opts: SampleGpuOptions = {},
  ) {
    this.name = opts.name ?? 'sample-gpu';
    this.vramPool = opts.vramPool ?? SAMPLE_GPU_DEFAULT_POOL;
    if (!Number.isSafeInteger(this.vramPool) || this.vramPool < 0)
      fail('EINVAL', `VRAM pool ${this.vramPool} is not a byte count`);
    this.engine = engineBudget(opts.engine);
  }

  /** mdev_register_device() with the three types. */
  register(mdevs: MdevCore): MdevParent {
    this.parent = mdevs.registerParent({
      name: this.name,
      driverName: 'sample_gpu',
      ops: this,
      types: SGPU_TYPES.map((t) => ({
        id: t.id,
        name: `sample GPU ${t.id}`,
        deviceApi: 'vfio-pci',
        description: `${t.vramSize >> 20} MiB VRAM, XRGB8888 up to 4096x4096`,
        data: t,
      })),
    });
    return this.parent;
  }

  /** VRAM of instances not yet released. */
  get vramInUse(): number {
    let n = 0;
    for (const [mdev, size] of this.live) {
      if (mdev.released) this.live.delete(mdev);
      else n += size;
    }
    return n;
  }

  /** VRAM bytes not given to any instance. */
  get vramFree(): number {
    return this.vramPool - this.vramInUse;
  }

  getAvailable(type: MdevType): number {
    return Math.floor(this.vramFree / (type.info.data as SgpuTypeSpec).vramSize);
  }

  /** mbochs_probe(): no room in the pool is ENOSPC; the VRAM comes from host frames. */
  create(mdev: MdevDevice): void {
    const spec = mdev.type.info.data as SgpuTypeSpec;
    if (this.vramFree < spec.vramSize)
      fail(
        'ENOSPC',
        `${spec.vramSize >> 20} MiB of VRAM wanted, ${this.vramFree >> 20} MiB free`,
        'mdev_create',
      );
    const vram = new Vram(this.phys, spec.vramSize);
    mdev.drvdata = new SampleGpu(mdev, spec, vram, this.wq, this.engine);
    this.live.set(mdev, spec.vramSize);
  }

  /**
   * The device goes: its frames return to the host (the file, if still
   * open, is revoked and its mappings zapped by then); the pool share
   * returns on release.
   */
  remove(mdev: MdevDevice): void {
    const gpu = sampleGpuOf(mdev);
    gpu.dma.stop();
    gpu.gone = true;
    gpu.vram.free();
  }

  /** Describe a region: config space, BAR0, BAR2 (VRAM), or none. */
  getRegionInfo(mdev: MdevDevice, index: number): MpciRegionInfo | undefined {
    const gpu = sampleGpuOf(mdev);
    switch (index) {
      case VFIO_PCI_CONFIG_REGION_INDEX:
        return { size: BigInt(PCI_CFG_SPACE_SIZE) };
      case VFIO_PCI_BAR0_REGION_INDEX:
        return { size: BigInt(SGPU_BAR0_SIZE) };
      case VFIO_PCI_BAR2_REGION_INDEX:
        return {
          size: BigInt(gpu.vramSize),
          mmap: true,
          sparse: [{ offset: 0n, size: BigInt(gpu.vramSize) }],
        };
      default:
        return undefined;
    }
  }

  /** Region read, forwarded to the device model. */
  read(mdev: MdevDevice, buf: Uint8Array, pos: bigint): number {
    return sampleGpuOf(mdev).access(buf, pos, false);
  }

  /** Region write, forwarded to the device model. */
  write(mdev: MdevDevice, buf: Uint8Array, pos: bigint): number {
    return sampleGpuOf(mdev).access(buf, pos, true);
  }

  /** Map a fault in BAR2 to the instance's VRAM frames. */
  validateMapRequest(mdev: MdevDevice, req: MpciMapRequest): MpciMapAnswer {
    return sampleGpuOf(mdev).validateMapRequest(req);
  }

  /** Reset the device model. */
  reset(mdev: MdevDevice): void {
    sampleGpuOf(mdev).reset();
  }

  /** Describe the scan-out plane. */
  queryGfxPlane(mdev: MdevDevice, plane: VfioDeviceGfxPlaneInfo): void {
    sampleGpuOf(mdev).queryGfxPlane(plane);
  }

  /**
   * Migration v2 (stop-copy) through vfio-mpci: the device blob (config
   * space, registers, scan-out, the DMA engine mid-ring, VRAM). The engine
   * only runs on the host workqueue, which the VMM stops running with its
   * vCPUs, so STOP needs no quiescing of its own.
   */
  readonly migration = {
    /** The device state blob. */
    save: (mdev: MdevDevice) => sampleGpuOf(mdev).save(),
    /** Load a state blob; EINVAL for a bad one. */
    load: (mdev: MdevDevice, blob: Uint8Array) => sampleGpuOf(mdev).restore(blob),
  };
}
