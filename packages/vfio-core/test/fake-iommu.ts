import { fail, type KernelError } from '@tsvirt/core-bus';
import {
  type DmaUnmapEvent,
  type IommuGroupRef,
  type IommuNotifier,
  VFIO_CHECK_EXTENSION,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_NOTIFY_DMA_UNMAP,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  type VfioIommu,
  type VfioIommuDriver,
} from '../src/index.ts';

/** A stand-in IOMMU backend that records what vfio-core asks of it. */
export class FakeIommu implements VfioIommu {
  readonly groups: number[] = [];
  readonly log: string[] = [];
  released = false;
  readonly pins = new Map<number, number>();
  readonly memory = new Uint8Array(0x10000);
  readonly notifiers = new Set<IommuNotifier>();

  constructor(
    readonly driver: FakeIommuDriver,
    readonly type: number,
  ) {}

  release(): void {
    this.released = true;
    this.log.push('release');
  }

  ioctl(cmd: number, arg: unknown): number {
    if (cmd === VFIO_CHECK_EXTENSION) return this.driver.checkExtension(arg as number);
    if (cmd === VFIO_IOMMU_GET_INFO) {
      (arg as { flags: number }).flags = 1;
      return 0;
    }
    return fail('ENOTTY', 'fake backend: unknown ioctl');
  }

  attachGroup(group: IommuGroupRef): void {
    if (this.driver.failAttach.has(group.id)) throw this.driver.failAttach.get(group.id)!;
    this.groups.push(group.id);
    this.log.push(`attach ${group.id}`);
  }

  detachGroup(group: IommuGroupRef): void {
    const at = this.groups.indexOf(group.id);
    if (at >= 0) this.groups.splice(at, 1);
    this.log.push(`detach ${group.id}`);
  }

  pinPages(_group: IommuGroupRef, pfns: readonly number[], prot: number): number[] {
    if (prot === 0) fail('EPERM', 'fake: no prot');
    for (const p of pfns) this.pins.set(p, (this.pins.get(p) ?? 0) + 1);
    return pfns.map((p) => p + 0x80000);
  }

  unpinPages(pfns: readonly number[]): number {
    let n = 0;
    for (const p of pfns) {
      const c = this.pins.get(p);
      if (c === undefined) continue;
      if (c === 1) this.pins.delete(p);
      else this.pins.set(p, c - 1);
      n++;
    }
    return n;
  }

  dmaRw(iova: bigint, data: Uint8Array, write: boolean): void {
    const at = Number(iova);
    if (at + data.length > this.memory.length) fail('EFAULT', 'fake: outside memory');
    if (write) this.memory.set(data, at);
    else data.set(this.memory.subarray(at, at + data.length));
  }

  registerNotifier(events: number, nb: IommuNotifier): void {
    if ((events & ~VFIO_IOMMU_NOTIFY_DMA_UNMAP) !== 0) fail('EINVAL', 'fake: unknown events');
    this.notifiers.add(nb);
  }

  unregisterNotifier(nb: IommuNotifier): void {
    this.notifiers.delete(nb);
  }

  /** What an UNMAP_DMA would tell vendor drivers. */
  notifyUnmap(ev: DmaUnmapEvent): void {
    for (const nb of this.notifiers) nb(VFIO_IOMMU_NOTIFY_DMA_UNMAP, ev);
  }
}

export class FakeIommuDriver implements VfioIommuDriver {
  readonly instances: FakeIommu[] = [];
  readonly failAttach = new Map<number, KernelError>();
  failOpen: KernelError | undefined = undefined;

  constructor(
    readonly name = 'fake-type1',
    readonly types: readonly number[] = [VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU],
    readonly extra: readonly number[] = [],
  ) {}

  checkExtension(ext: number): number {
    return this.types.includes(ext) || this.extra.includes(ext) ? 1 : 0;
  }

  open(arg: number): VfioIommu {
    if (this.failOpen) throw this.failOpen;
    if (!this.types.includes(arg)) fail('EINVAL', 'fake: type not served');
    const i = new FakeIommu(this, arg);
    this.instances.push(i);
    return i;
  }

  get live(): FakeIommu[] {
    return this.instances.filter((i) => !i.released);
  }
}
