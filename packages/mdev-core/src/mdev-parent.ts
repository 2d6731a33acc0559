import type { MdevDevice } from './mdev-device.ts';
import { MdevType, type MdevTypeInfo } from './mdev-type.ts';
import type { MdevParentOps } from './parent-ops.ts';

/**
 * A host resource of the parent device (a PCI BAR of a physical GPU): the
 * host-physical range a region maps to when the vendor gives no
 * `validate_map_request`, as the seed's fault handler used
 * pci_resource_start() of the parent.
 */
export interface MdevParentResource {
  /** Host physical address of the resource. */
  readonly start: bigint;
  /** Size of the resource in bytes. */
  readonly size: bigint;
}

/** What a vendor passes to `MdevCore.registerParent` (mdev_register_device()). */
export interface MdevParentInfo {
  /** The parent device's name (`0000:00:02.0`, `mtty`): its `/sys/class/mdev_bus/<name>` entry. */
  readonly name: string;
  /** The parent's driver name, prefix of every type directory; defaults to `name`. */
  readonly driverName?: string;
  /** The vendor's callbacks (create, remove, ...). */
  readonly ops: MdevParentOps;
  /** The types the parent supports. */
  readonly types: readonly MdevTypeInfo[];
  /** Instances shared by all types, counted by the core (upstream's mdev_driver.max_instances). */
  readonly maxInstances?: number;
  /** The parent's own resources by region index, for the mmap fallback. */
  readonly resources?: readonly (MdevParentResource | undefined)[];
}

/** A registered parent (struct mdev_parent). */
export class MdevParent {
  /** The parent's types. */
  readonly types: MdevType[];
  /** Instances left in the parent-wide pool, when the core counts one. */
  availableInstances: number | undefined;
  /** The mdevs created on this parent. */
  readonly devices = new Set<MdevDevice>();

  constructor(
    /** What the vendor registered. */
    readonly info: MdevParentInfo,
  ) {
    this.types = info.types.map((t) => new MdevType(this, t));
    this.availableInstances = info.maxInstances;
  }

  /** Parent device name. */
  get name(): string {
    return this.info.name;
  }

  /** Driver name, prefix of every type directory. */
  get driverName(): string {
    return this.info.driverName ?? this.info.name;
  }

  /** The vendor's callbacks. */
  get ops(): MdevParentOps {
    return this.info.ops;
  }

  /** Does the core count instances for this parent (no vendor `getAvailable`)? */
  get coreCounts(): boolean {
    return this.info.ops.getAvailable === undefined;
  }

  /** The type whose sysfs name or id is `name`. */
  findType(name: string): MdevType | undefined {
    return this.types.find((t) => t.sysfsName === name || t.id === name);
  }

  /** The parent resource at a region index, if any. */
  resource(index: number): MdevParentResource | undefined {
    return this.info.resources?.[index];
  }
}
