import type { MdevParent } from './mdev-parent.ts';

/** What a vendor declares for one supported type (a `mdev_supported_types/<type>` directory). */
export interface MdevTypeInfo {
  /** The sysfs name part; the directory is `<parent driver>-<id>` (e.g. `mtty-2`). */
  readonly id: string;
  /** The human name shown in `name` (upstream's pretty_name); defaults to the id. */
  readonly name?: string;
  /** The `device_api` attribute, e.g. `vfio-pci`: decides which mdev bus driver binds. */
  readonly deviceApi: string;
  /** Static `description`; `MdevParentOps.showDescription` overrides it. */
  readonly description?: string;
  /**
   * Per-type instance limit counted by the core (an addition to upstream's
   * per-parent `max_instances`, for vendors whose types do not share a pool).
   */
  readonly maxInstances?: number;
  /** Anything the vendor wants to keep with the type (sizes, limits). */
  readonly data?: unknown;
}

/** A registered type (struct mdev_type): the vendor's info plus the core's counters. */
export class MdevType {
  /** Instances the core still hands out for this type (when it counts per type). */
  availableInType: number | undefined;

  constructor(
    /** The parent the type belongs to. */
    readonly parent: MdevParent,
    /** What the vendor declared for the type. */
    readonly info: MdevTypeInfo,
  ) {
    this.availableInType = info.maxInstances;
  }

  /** Type id, unique within the parent. */
  get id(): string {
    return this.info.id;
  }

  /** The sysfs directory name: `<parent driver name>-<type id>`, as mdev_type_add(). */
  get sysfsName(): string {
    return `${this.parent.driverName}-${this.info.id}`;
  }

  /** `device_api`: the VFIO device API, e.g. 'vfio-pci'. */
  get deviceApi(): string {
    return this.info.deviceApi;
  }

  /** `name`: pretty name if the vendor gave one, else the sysfs name part. */
  get name(): string {
    return this.info.name ?? this.info.id;
  }

  /** `description`: the vendor's text, if any. */
  get description(): string | undefined {
    return this.parent.ops.showDescription?.(this) ?? this.info.description;
  }

  /** `available_instances`: the vendor's count, or the core's (the smaller of parent and type pools). */
  get availableInstances(): number {
    if (this.parent.ops.getAvailable) return this.parent.ops.getAvailable(this);
    const pools = [this.parent.availableInstances, this.availableInType].filter(
      (n): n is number => n !== undefined,
    );
    return pools.length === 0 ? Number.MAX_SAFE_INTEGER : Math.min(...pools);
  }
}
