import { DriverCore, fail } from '@tsvirt/core-bus';
import {
  LocalMdevIommuGroups,
  MDEV_BUS_CLASS_PATH,
  MDEV_BUS_DEVICES_PATH,
  MDEV_BUS_NAME,
  MdevCore,
  type MdevDevice,
  type MdevDriver,
  type MdevIommuGroups,
  type MdevParent,
  type MdevParentInfo,
  type MdevParentOps,
  MdevSysfs,
  type MdevTypeInfo,
} from '@tsvirt/mdev-core';
import type { IommuGroupRef } from '@tsvirt/vfio-core';
import type { FuzzOp, FuzzTarget, FuzzTargetFactory } from '../harness.ts';
import type { Rng } from '../rng.ts';

const PARENT_NAMES = ['mtty', 'mdpy', 'mbochs'];
const UUIDS = Array.from({ length: 6 }, (_, i) => `83b8f4f2-509f-382f-3c1e-e6bfe0fa100${i}`);

/** What the vendor of one parent keeps: the devices it created, and whether it refuses now. */
interface VendorState {
  created: Set<string>;
  refuseCreate: boolean;
  refuseRemove: boolean;
  /** Vendor-counted instances (getAvailable), when it counts for itself. */
  vendorMax: number | undefined;
}

/** An IOMMU group allocator that remembers what it handed out, so a leaked group shows. */
class TrackedGroups implements MdevIommuGroups {
  private readonly inner = new LocalMdevIommuGroups(1000);
  readonly live = new Map<number, string>();

  alloc(mdev: { readonly uuid: string }): IommuGroupRef {
    const g = this.inner.alloc();
    if (this.live.has(g.id)) throw new Error(`group ${g.id} handed out twice`);
    this.live.set(g.id, mdev.uuid);
    return g;
  }

  free(group: IommuGroupRef): void {
    if (!this.live.delete(group.id)) throw new Error(`group ${group.id} freed twice`);
    this.inner.free(group);
  }
}

/** A text a careless `echo` might write into a `create` file: valid, re-cased, newline, or broken. */
function uuidText(r: Rng): string {
  const u = r.pick(UUIDS);
  switch (r.below(12)) {
    case 0:
      return u.toUpperCase();
    case 1:
    case 2:
      return `${u}\n`;
    case 3:
      return `${u.slice(0, 35)}g`;
    case 4:
      return u.replace('-', 'x');
    case 5:
      return `${u}\n\n`;
    case 6:
      return u.slice(1);
    case 7:
      return r.pick(['', '\n', ' '.repeat(36), `${u} `]);
    default:
      return u;
  }
}

/**
 * The mdev core with a bus driver and vendors that come and go: parents
 * registered (well or badly) and unregistered, mdevs created by UUID
 * (through sysfs or the API), opened and closed by the bus driver, removed
 * plainly or by force, and sysfs read. Instances are counted by the core or
 * by a vendor; probes sometimes fail.
 */
class MdevCoreTarget implements FuzzTarget {
  readonly driverCore = new DriverCore();
  readonly groups = new TrackedGroups();
  readonly core = new MdevCore(this.driverCore, { groups: this.groups });
  readonly sysfs = new MdevSysfs(this.core);
  /** Every parent object ever registered (kept after unregistration: its devices may still be open). */
  readonly parents: MdevParent[] = [];
  readonly vendors = new Map<string, VendorState>();
  /** Every mdev ever created, released or not. */
  readonly mdevs: MdevDevice[] = [];
  /** The bus driver's view: devices probed and not yet removed. */
  readonly bound = new Set<MdevDevice>();
  /** Opens the simulated VFIO files hold, one entry per open. */
  readonly opens: MdevDevice[] = [];
  driverRegistered = false;
  refuseProbe = false;
  readonly driver: MdevDriver;
  readonly ops: FuzzOp[];

  constructor(rng: Rng) {
    const self = this;
    this.driver = {
      name: 'fuzz-mpci',
      bus: MDEV_BUS_NAME,
      deviceApis: ['vfio-pci'],
      probe(mdev: MdevDevice) {
        if (self.refuseProbe) fail('ENODEV', 'probe refused');
        self.bound.add(mdev);
      },
      remove(mdev: MdevDevice) {
        // A device going away under an open file: the bus driver revokes it (the files stay open).
        self.bound.delete(mdev);
      },
    };
    if (rng.chance(0.8)) this.registerDriver();
    this.ops = [
      { name: 'register parent', weight: 2, run: (r) => this.registerParent(r) },
      {
        name: 'unregister parent',
        weight: 1,
        run: (r) => {
          const name = r.chance(0.9) ? r.pick(PARENT_NAMES) : 'nope';
          const was = this.core.parent(name) !== undefined;
          if (this.core.unregisterParent(name) !== was) throw new Error('unregisterParent answer');
        },
      },
      {
        name: 'create',
        weight: 6,
        run: (r) => {
          const p = r.chance(0.95) ? r.pick(PARENT_NAMES) : 'ghost';
          const parent = this.core.parent(p);
          const type = parent && r.chance(0.9) ? r.pick(parent.types).sysfsName : r.pick(['1', 'x-9', '']);
          const text = uuidText(r);
          if (r.chance(0.5)) {
            this.sysfs.write(`${MDEV_BUS_CLASS_PATH}/${p}/mdev_supported_types/${type}/create`, text);
            const m = this.core.device(text.slice(0, 36));
            if (m === undefined || this.mdevs.includes(m))
              throw new Error('sysfs create returned no new mdev');
            this.mdevs.push(m);
          } else {
            this.mdevs.push(this.core.createDevice(p, type, text));
          }
        },
      },
      {
        name: 'remove',
        weight: 3,
        run: (r) => {
          const live = this.core.devices;
          const uuid = live.length > 0 && r.chance(0.85) ? r.pick(live).uuid : uuidText(r);
          const how = r.below(4);
          if (how === 0) {
            const text = r.pick(['1', '1\n', '0', '0x1', '01', 'x', '', '-1', '18446744073709551616']);
            this.sysfs.write(`${MDEV_BUS_DEVICES_PATH}/${uuid}/remove`, text);
          } else {
            this.core.removeDevice(uuid, { force: how === 1 && r.chance(0.5) });
          }
        },
      },
      {
        name: 'open (markOpen)',
        weight: 3,
        run: (r) => {
          const m = this.unreleased();
          if (m.length === 0) return;
          const d = r.pick(m);
          d.markOpen();
          this.opens.push(d);
        },
      },
      {
        name: 'close (markClosed)',
        weight: 3,
        run: (r) => {
          if (this.opens.length === 0) return;
          const i = r.below(this.opens.length);
          const d = this.opens[i]!;
          this.opens.splice(i, 1);
          d.markClosed();
        },
      },
      { name: 'sysfs read', weight: 3, run: (r) => this.sysfsRead(r) },
      {
        name: 'vendor mood',
        run: (r) => {
          const v = this.vendors.get(r.pick(PARENT_NAMES));
          if (v !== undefined) {
            v.refuseCreate = r.chance(0.2);
            v.refuseRemove = r.chance(0.2);
          }
          this.refuseProbe = r.chance(0.15);
        },
      },
      {
        name: 'register/unregister bus driver',
        weight: 0.5,
        run: () => {
          if (this.driverRegistered) {
            this.core.unregisterDriver(this.driver);
            this.driverRegistered = false;
          } else this.registerDriver();
        },
      },
    ];
  }

  private registerDriver(): void {
    this.core.registerDriver(this.driver);
    this.driverRegistered = true;
  }

  private unreleased(): MdevDevice[] {
    return this.mdevs.filter((m) => !m.released);
  }

  private vendorOps(name: string, v: VendorState): MdevParentOps {
    const ops: MdevParentOps = {
      create(mdev) {
        if (v.refuseCreate) fail('ENOSPC', `${name} is out of resources`);
        if (v.vendorMax !== undefined && v.created.size >= v.vendorMax) fail('EUSERS', `${name} is full`);
        v.created.add(mdev.uuid);
        mdev.drvdata = { name };
      },
      remove(mdev) {
        if (v.refuseRemove) fail('EBUSY', `${name} says busy`);
        v.created.delete(mdev.uuid);
      },
      showDescription: (t) => `${t.sysfsName} of ${name}`,
    };
    if (v.vendorMax !== undefined) ops.getAvailable = () => Math.max(0, v.vendorMax! - v.created.size);
    return ops;
  }

  /** mdev_register_device() with a mostly sound, sometimes broken parent. */
  private registerParent(r: Rng): void {
    const name = r.chance(0.97) ? r.pick(PARENT_NAMES) : '';
    const v: VendorState = {
      created: new Set(),
      refuseCreate: false,
      refuseRemove: false,
      vendorMax: r.chance(0.25) ? r.int(0, 3) : undefined,
    };
    let ops: MdevParentOps | undefined = this.vendorOps(name, v);
    const types: MdevTypeInfo[] = [];
    const ntypes = r.pick([0, 1, 2, 2, 3]);
    for (let i = 0; i < ntypes; i++) {
      types.push({
        id: r.chance(0.97) ? String(i + 1) : r.pick(['', 'a/b', String(i)]),
        name: `type ${i}`,
        deviceApi: r.chance(0.97) ? r.pick(['vfio-pci', 'vfio-pci', 'vfio-ccw']) : '',
        description: r.chance(0.5) ? 'static' : undefined,
        maxInstances: r.chance(0.5) ? (r.chance(0.95) ? r.int(0, 3) : r.pick([-1, 1.5])) : undefined,
      });
    }
    if (r.chance(0.03)) ops = { ...ops, create: undefined } as unknown as MdevParentOps;
    if (r.chance(0.03)) ops = undefined;
    const info: MdevParentInfo = {
      name,
      driverName: r.chance(0.2) ? 'vgpu' : undefined,
      ops: ops as MdevParentOps,
      types,
      maxInstances: r.chance(0.6) ? (r.chance(0.95) ? r.int(0, 4) : r.pick([-2, 0.5])) : undefined,
    };
    const p = this.core.registerParent(info);
    this.parents.push(p);
    this.vendors.set(name, v);
  }

  private sysfsRead(r: Rng): void {
    const parent = r.chance(0.9) ? r.pick(PARENT_NAMES) : 'ghost';
    const p = this.core.parent(parent);
    const type = p && r.chance(0.9) ? r.pick(p.types).sysfsName : 'nope-1';
    const devs = this.core.devices;
    const uuid = devs.length > 0 && r.chance(0.8) ? r.pick(devs).uuid : r.pick(UUIDS);
    const base = `${MDEV_BUS_CLASS_PATH}/${parent}/mdev_supported_types/${type}`;
    const path = r.pick([
      MDEV_BUS_CLASS_PATH,
      `${MDEV_BUS_CLASS_PATH}/${parent}`,
      `${MDEV_BUS_CLASS_PATH}/${parent}/mdev_supported_types`,
      base,
      `${base}/name`,
      `${base}/device_api`,
      `${base}/available_instances`,
      `${base}/description`,
      `${base}/create`,
      `${base}/devices`,
      `${base}/devices/${uuid}`,
      MDEV_BUS_DEVICES_PATH,
      `${MDEV_BUS_DEVICES_PATH}/${uuid}`,
      `${MDEV_BUS_DEVICES_PATH}/${uuid}/mdev_type`,
      `${MDEV_BUS_DEVICES_PATH}/${uuid}/iommu_group`,
      `${MDEV_BUS_DEVICES_PATH}/${uuid}/driver`,
      `${MDEV_BUS_DEVICES_PATH}/${uuid}/remove`,
      `${MDEV_BUS_DEVICES_PATH}/${uuid.toUpperCase()}`,
    ]);
    switch (r.below(4)) {
      case 0:
        this.sysfs.list(path);
        break;
      case 1:
        this.sysfs.snapshot();
        break;
      case 2:
        this.sysfs.exists(path);
        break;
      default:
        this.sysfs.read(path);
    }
    // A write of a read-only attribute must be refused and change nothing.
    if (r.chance(0.1)) this.sysfs.write(path.replace(/\/(remove|create)$/, '/name'), '1');
  }

  snapshot(): string {
    const lines: string[] = [
      `driver ${this.driverRegistered} bus ${this.driverCore
        .devices(MDEV_BUS_NAME)
        .map((d) => d.name)
        .join(',')}`,
      `groups ${[...this.groups.live].map(([id, u]) => `${id}:${u}`).join(',')}`,
      `bound ${[...this.bound].map((d) => d.uuid).join(',')}`,
      `opens ${this.opens.map((d) => d.uuid).join(',')}`,
      `registered ${this.core.parents.map((p) => p.name).join(',')}`,
    ];
    for (const p of this.parents) {
      const types = p.types
        .map((t) => `${t.sysfsName}:${t.availableInType}:${t.availableInstances}`)
        .join(' ');
      lines.push(
        `parent ${p.name} avail ${p.availableInstances} devices ${[...p.devices].map((d) => d.uuid).join(',')} ${types}`,
      );
    }
    for (const [n, v] of this.vendors) lines.push(`vendor ${n} ${[...v.created].join(',')}`);
    for (const m of this.mdevs) {
      lines.push(
        `mdev ${m.uuid} active ${m.active} open ${m.openCount} refs ${m.refcount} group ${m.iommuGroup?.id} driver ${m.driver?.name} lookup ${this.core.device(m.uuid) === m}`,
      );
    }
    return lines.join('\n');
  }

  invariants(): string[] {
    const out: string[] = [];
    const groupIds = new Set<number>();
    for (const m of this.mdevs) {
      const opens = this.opens.filter((d) => d === m).length;
      if (m.openCount !== opens) out.push(`${m.uuid}: openCount ${m.openCount}, ${opens} opens held`);
      const want = m.released ? 0 : (m.active ? 1 : 0) + m.openCount;
      if (m.refcount !== want) out.push(`${m.uuid}: refcount ${m.refcount}, expected ${want}`);
      if (!m.released && !m.active && m.openCount === 0)
        out.push(`${m.uuid}: removed, unopened, not released`);
      const onBus = this.driverCore.findDevice(MDEV_BUS_NAME, m.uuid) === m;
      if (onBus !== m.active) out.push(`${m.uuid}: on the bus ${onBus}, active ${m.active}`);
      if (m.active) {
        // One IOMMU group per mdev, its own.
        const g = m.iommuGroup;
        if (g === undefined || !g.mdev) out.push(`${m.uuid}: active without an mdev IOMMU group`);
        else if (groupIds.has(g.id)) out.push(`${m.uuid}: group ${g.id} shared`);
        else if (this.groups.live.get(g.id) !== m.uuid)
          out.push(`${m.uuid}: group ${g.id} not allocated to it`);
        else groupIds.add(g.id);
        if (!m.parent.devices.has(m)) out.push(`${m.uuid}: active but not in its parent's devices`);
      } else if (m.iommuGroup !== undefined)
        out.push(`${m.uuid}: removed but still has group ${m.iommuGroup.id}`);
      if (m.released && this.core.device(m.uuid) === m) out.push(`${m.uuid}: released but still found`);
      if (!m.released && this.core.device(m.uuid) !== m) out.push(`${m.uuid}: not released but not found`);
      if (m.driver !== undefined && !this.bound.has(m)) out.push(`${m.uuid}: bound without a probe`);
    }
    if (groupIds.size !== this.groups.live.size)
      out.push(`${this.groups.live.size} groups live for ${groupIds.size} mdevs`);
    for (const d of this.bound) if (d.driver !== this.driver) out.push(`${d.uuid}: probed but not bound`);
    for (const p of this.parents) {
      if (!p.coreCounts) continue;
      // available_instances = limit - instances not yet released (the pool is refilled on release).
      const held = this.mdevs.filter((m) => !m.released && m.parent === p);
      if (p.info.maxInstances !== undefined && p.availableInstances !== p.info.maxInstances - held.length)
        out.push(
          `${p.name}: parent pool ${p.availableInstances}, limit ${p.info.maxInstances}, ${held.length} held`,
        );
      for (const t of p.types) {
        const inType = held.filter((m) => m.type === t).length;
        if (t.info.maxInstances !== undefined && t.availableInType !== t.info.maxInstances - inType)
          out.push(
            `${t.sysfsName}: type pool ${t.availableInType}, limit ${t.info.maxInstances}, ${inType} held`,
          );
        if (t.availableInstances < 0) out.push(`${t.sysfsName}: available_instances ${t.availableInstances}`);
      }
    }
    for (const p of this.core.parents) {
      for (const t of p.types) {
        const path = `${MDEV_BUS_CLASS_PATH}/${p.name}/mdev_supported_types/${t.sysfsName}/available_instances`;
        const shown = this.sysfs.read(path);
        if (shown !== `${t.availableInstances}\n`) out.push(`${path} shows ${JSON.stringify(shown)}`);
      }
    }
    return out;
  }

  teardown(rng: Rng): void {
    const steps: (() => void)[] = [
      () => {
        for (const d of rng.shuffle(this.opens)) d.markClosed();
        this.opens.length = 0;
      },
      () => {
        for (const n of rng.shuffle(PARENT_NAMES)) this.core.unregisterParent(n);
      },
      () => {
        if (this.driverRegistered) this.core.unregisterDriver(this.driver);
        this.driverRegistered = false;
      },
    ];
    for (const step of rng.shuffle(steps)) step();
  }

  leaks(): string[] {
    const out: string[] = [];
    for (const m of this.mdevs) {
      if (!m.released) out.push(`mdev ${m.uuid} not released (refs ${m.refcount}, open ${m.openCount})`);
    }
    if (this.core.devices.length !== 0) out.push(`${this.core.devices.length} mdevs still listed`);
    if (this.core.parents.length !== 0) out.push(`${this.core.parents.length} parents still registered`);
    if (this.groups.live.size !== 0) out.push(`${this.groups.live.size} IOMMU groups not freed`);
    if (this.driverCore.devices(MDEV_BUS_NAME).length !== 0) out.push('devices left on the mdev bus');
    if (this.bound.size !== 0) out.push(`${this.bound.size} devices never removed from the bus driver`);
    for (const p of this.parents) {
      if (p.devices.size !== 0) out.push(`${p.name}: ${p.devices.size} devices left in the parent`);
      if (p.coreCounts && p.availableInstances !== p.info.maxInstances)
        out.push(`${p.name}: pool ${p.availableInstances} of ${p.info.maxInstances} after teardown`);
      for (const t of p.types) {
        if (p.coreCounts && t.availableInType !== t.info.maxInstances)
          out.push(`${t.sysfsName}: type pool ${t.availableInType} of ${t.info.maxInstances} after teardown`);
      }
    }
    return out;
  }
}

export const mdevCoreFuzz: FuzzTargetFactory = {
  name: 'mdev-core',
  create: (rng) => new MdevCoreTarget(rng),
};
