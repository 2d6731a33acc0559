import { fail } from '@tsvirt/core-bus';
import type { MdevCore } from './mdev-core.ts';
import type { MdevDevice } from './mdev-device.ts';
import type { MdevType } from './mdev-type.ts';

/** sysfs directory holding one entry per mdev parent device. */
export const MDEV_BUS_CLASS_PATH = '/sys/class/mdev_bus';
/** sysfs directory holding one entry per mdev, named by UUID. */
export const MDEV_BUS_DEVICES_PATH = '/sys/bus/mdev/devices';

/** A plain-data picture of one type directory. */
export interface MdevSysfsType {
  /** Directory name: `<driver>-<type id>`. */
  sysfsName: string;
  /** The `name` attribute. */
  name: string;
  /** The `device_api` attribute. */
  device_api: string;
  /** The `available_instances` attribute. */
  available_instances: number;
  /** The `description` attribute, if the type has one. */
  description?: string;
  /** UUIDs of the type's mdevs (its `devices/` directory). */
  devices: string[];
}

/** A plain-data picture of the whole mdev sysfs, for a CLI (`mdevctl list`-like) to print. */
export interface MdevSysfsSnapshot {
  /** Each parent device: its name, driver and types. */
  parents: {
    /** Parent device name. */
    name: string;
    /** Parent driver name. */
    driver: string;
    /** The parent's types. */
    types: MdevSysfsType[];
  }[];
  /** Each mdev. */
  devices: {
    /** The mdev's UUID. */
    uuid: string;
    /** Name of its parent device. */
    parent: string;
    /** Its type's sysfs name. */
    type: string;
    /** Its IOMMU group number, if it has one. */
    iommu_group: number | undefined;
    /** The bound driver, if any. */
    driver: string | undefined;
    /** Whether a user has the VFIO device open. */
    open: boolean;
  }[];
}

/** kstrtoul(s, 0): base from the prefix (0x hex, 0 octal, else decimal), one trailing newline allowed. */
export function kstrtoul(text: string): bigint | undefined {
  const t = text.endsWith('\n') ? text.slice(0, -1) : text;
  let digits = t;
  let radix = 10;
  if (/^0[xX]/.test(t)) {
    digits = t.slice(2);
    radix = 16;
  } else if (t.length > 1 && t.startsWith('0')) {
    digits = t.slice(1);
    radix = 8;
  }
  const ok = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!ok.test(digits)) return undefined;
  const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : '';
  const v = BigInt(prefix + digits);
  return v > 0xffff_ffff_ffff_ffffn ? undefined : v;
}

type Node =
  | { kind: 'dir'; list: () => string[] }
  | { kind: 'attr'; show?: () => string; store?: (text: string) => void };

/**
 * The mdev part of sysfs as paths a CLI can list, read and write, with the
 * errors a real sysfs gives: ENOENT for a missing path, ENOTDIR/EISDIR for the
 * wrong kind, EACCES for reading a write-only attribute (`create`, `remove`)
 * or writing a read-only one. Reads end in a newline as the kernel's show()
 * functions do; links (`mdev_type`, `iommu_group`, `driver`) read as their
 * target path.
 *
 *   /sys/class/mdev_bus/<parent>/mdev_supported_types/<type>/
 *       name device_api available_instances [description] create devices/<uuid>
 *   /sys/bus/mdev/devices/<uuid>/  mdev_type iommu_group [driver] remove
 */
export class MdevSysfs {
  constructor(
    /** The mdev core whose state the tree shows. */
    readonly core: MdevCore,
  ) {}

  private typeDir(t: MdevType): string {
    return `${MDEV_BUS_CLASS_PATH}/${t.parent.name}/mdev_supported_types/${t.sysfsName}`;
  }

  private devicesOf(t: MdevType): MdevDevice[] {
    return this.core.devices.filter((d) => d.type === t);
  }

  private resolve(path: string): Node | undefined {
    const parts = path.split('/').filter((p) => p !== '');
    const core = this.core;
    const key = parts.slice(0, 3).join('/');
    if (key === 'sys/class/mdev_bus') {
      const rest = parts.slice(3);
      if (rest.length === 0) return { kind: 'dir', list: () => core.parents.map((p) => p.name) };
      const parent = core.parent(rest[0]!);
      if (parent === undefined) return undefined;
      if (rest.length === 1) return { kind: 'dir', list: () => ['mdev_supported_types'] };
      if (rest[1] !== 'mdev_supported_types') return undefined;
      if (rest.length === 2) return { kind: 'dir', list: () => parent.types.map((t) => t.sysfsName) };
      const type = parent.types.find((t) => t.sysfsName === rest[2]);
      if (type === undefined) return undefined;
      if (rest.length === 3) {
        return {
          kind: 'dir',
          list: () => {
            const names = ['available_instances', 'create', 'device_api', 'devices', 'name'];
            if (type.description !== undefined) names.push('description');
            return names.sort();
          },
        };
      }
      if (rest[3] === 'devices') {
        if (rest.length === 4) return { kind: 'dir', list: () => this.devicesOf(type).map((d) => d.uuid) };
        const d = this.devicesOf(type).find((x) => x.uuid === rest[4]);
        if (d === undefined || rest.length > 5) return undefined;
        return { kind: 'attr', show: () => `${MDEV_BUS_DEVICES_PATH}/${d.uuid}\n` };
      }
      if (rest.length !== 4) return undefined;
      switch (rest[3]) {
        case 'name':
          return { kind: 'attr', show: () => `${type.name}\n` };
        case 'device_api':
          return { kind: 'attr', show: () => `${type.deviceApi}\n` };
        case 'available_instances':
          return { kind: 'attr', show: () => `${type.availableInstances}\n` };
        case 'description': {
          if (type.description === undefined) return undefined;
          return { kind: 'attr', show: () => `${type.description}\n` };
        }
        case 'create':
          return { kind: 'attr', store: (text) => void core.createDevice(parent.name, type.sysfsName, text) };
        default:
          return undefined;
      }
    }
    if (parts.slice(0, 4).join('/') === 'sys/bus/mdev/devices') {
      const rest = parts.slice(4);
      if (rest.length === 0) return { kind: 'dir', list: () => core.devices.map((d) => d.uuid) };
      const d = core.device(rest[0]!);
      if (d === undefined || !d.active || d.uuid !== rest[0]) return undefined;
      if (rest.length === 1) {
        return {
          kind: 'dir',
          list: () =>
            d.driver
              ? ['driver', 'iommu_group', 'mdev_type', 'remove']
              : ['iommu_group', 'mdev_type', 'remove'],
        };
      }
      if (rest.length !== 2) return undefined;
      switch (rest[1]) {
        case 'mdev_type':
          return { kind: 'attr', show: () => `${this.typeDir(d.type)}\n` };
        case 'iommu_group':
          return { kind: 'attr', show: () => `/sys/kernel/iommu_groups/${d.iommuGroup?.id}\n` };
        case 'driver':
          if (!d.driver) return undefined;
          return { kind: 'attr', show: () => `/sys/bus/mdev/drivers/${d.driver!.name}\n` };
        case 'remove':
          // remove_store(): kstrtoul() must parse, and only a non-zero value removes.
          return {
            kind: 'attr',
            store: (text) => {
              const v = kstrtoul(text);
              if (v === undefined) fail('EINVAL', `${JSON.stringify(text)} is not a number`, 'remove');
              if (v !== 0n) core.removeDevice(d.uuid);
            },
          };
        default:
          return undefined;
      }
    }
    return undefined;
  }

  private node(path: string): Node {
    const n = this.resolve(path);
    if (n === undefined) fail('ENOENT', `${path}: no such file or directory`, 'open');
    return n;
  }

  /** readdir(): entry names, sorted as `ls` shows them. */
  list(path: string): string[] {
    const n = this.node(path);
    if (n.kind !== 'dir') fail('ENOTDIR', `${path} is not a directory`, 'opendir');
    return n.list().sort();
  }

  /** read() of an attribute (or readlink of a link), with its trailing newline. */
  read(path: string): string {
    const n = this.node(path);
    if (n.kind === 'dir') fail('EISDIR', `${path} is a directory`, 'read');
    if (n.show === undefined) fail('EACCES', `${path} is write-only`, 'open');
    return n.show();
  }

  /** write() to an attribute: `create` takes a UUID, `remove` takes 1. */
  write(path: string, text: string): void {
    const n = this.node(path);
    if (n.kind === 'dir') fail('EISDIR', `${path} is a directory`, 'write');
    if (n.store === undefined) fail('EACCES', `${path} is read-only`, 'open');
    n.store(text);
  }

  /** Whether a sysfs path exists in the model. */
  exists(path: string): boolean {
    return this.resolve(path) !== undefined;
  }

  /** Everything at once, as plain JSON-able data. */
  snapshot(): MdevSysfsSnapshot {
    return {
      parents: this.core.parents.map((p) => ({
        name: p.name,
        driver: p.driverName,
        types: p.types.map((t) => {
          const out: MdevSysfsType = {
            sysfsName: t.sysfsName,
            name: t.name,
            device_api: t.deviceApi,
            available_instances: t.availableInstances,
            devices: this.devicesOf(t).map((d) => d.uuid),
          };
          if (t.description !== undefined) out.description = t.description;
          return out;
        }),
      })),
      devices: this.core.devices.map((d) => ({
        uuid: d.uuid,
        parent: d.parent.name,
        type: d.type.sysfsName,
        iommu_group: d.iommuGroup?.id,
        driver: d.driver?.name,
        open: d.openCount > 0,
      })),
    };
  }
}
