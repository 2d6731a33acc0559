import { DriverCore, KernelError } from '@tsvirt/core-bus';
import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { MdevCore, type MdevParentOps, parseMdevUuid } from '../src/index.ts';
import { busDriver, parentInfo, setup, U1, U2, U3, vendor } from './helpers.ts';

describe('parent registration (mdev_register_device)', () => {
  it('registers types named <driver>-<id> with their attributes', () => {
    const { core } = setup();
    const p = core.parent('mtty')!;
    expect(p.types.map((t) => t.sysfsName)).toEqual(['mtty-1', 'mtty-2']);
    expect(p.types[0]!.name).toBe('Single port serial');
    expect(p.types[0]!.deviceApi).toBe('vfio-pci');
    expect(p.types[0]!.availableInstances).toBe(4);
    expect(p.types[1]!.availableInstances).toBe(1);
  });

  it('a parent registered twice is EEXIST and the first stays as it was', () => {
    const { core, ops } = setup();
    const before = core.parent('mtty');
    expect(errnoOf(() => core.registerParent(parentInfo(ops)))).toBe('EEXIST');
    expect(core.parent('mtty')).toBe(before);
    expect(core.parents).toHaveLength(1);
  });

  it('a parent without create or remove, or without types, is EINVAL and not registered', () => {
    const core = new MdevCore(new DriverCore());
    const { ops } = vendor();
    const noCreate = { remove: ops.remove } as unknown as MdevParentOps;
    const noRemove = { create: ops.create } as unknown as MdevParentOps;
    expect(errnoOf(() => core.registerParent(parentInfo(noCreate)))).toBe('EINVAL');
    expect(errnoOf(() => core.registerParent(parentInfo(noRemove)))).toBe('EINVAL');
    expect(errnoOf(() => core.registerParent(parentInfo(ops, { types: [] })))).toBe('EINVAL');
    expect(errnoOf(() => core.registerParent(parentInfo(ops, { maxInstances: -1 })))).toBe('EINVAL');
    expect(
      errnoOf(() =>
        core.registerParent(
          parentInfo(ops, {
            types: [
              { id: 'a', deviceApi: 'vfio-pci' },
              { id: 'a', deviceApi: 'vfio-pci' },
            ],
          }),
        ),
      ),
    ).toBe('EEXIST');
    expect(core.parents).toHaveLength(0);
  });

  it('a second mdev core on one driver core is EEXIST (the bus is registered once)', () => {
    const dc = new DriverCore();
    new MdevCore(dc);
    expect(errnoOf(() => new MdevCore(dc))).toBe('EEXIST');
  });
});

describe('create (mdev_device_create)', () => {
  it('accepts exactly a UUID, with an optional trailing newline, and lower-cases it', () => {
    expect(parseMdevUuid(`${U1}\n`)).toBe(U1);
    expect(parseMdevUuid(U1.toUpperCase())).toBe(U1);
    for (const bad of [
      '',
      U1.slice(1),
      `${U1}00`,
      U1.replace('-', 'x'),
      U1.replace('8', 'g'),
      `x${U1.slice(1)}`,
    ]) {
      expect(
        errnoOf(() => parseMdevUuid(bad)),
        bad,
      ).toBe('EINVAL');
    }
  });

  it('a bad UUID is EINVAL and takes no instance', () => {
    const { core, log } = setup();
    expect(errnoOf(() => core.createDevice('mtty', 'mtty-1', 'not-a-uuid'))).toBe('EINVAL');
    expect(core.parent('mtty')!.types[0]!.availableInstances).toBe(4);
    expect(log).toEqual([]);
  });

  it('creates, calls the vendor, takes an instance and gives the device its own IOMMU group', () => {
    const { core, log, driverCore } = setup();
    const a = core.createDevice('mtty', 'mtty-1', U1);
    const b = core.createDevice('mtty', 'mtty-1', U2);
    expect(log).toEqual([`create ${U1}`, `create ${U2}`]);
    expect(a.drvdata).toBeDefined();
    expect(core.parent('mtty')!.types[0]!.availableInstances).toBe(2);
    expect(a.iommuGroup?.mdev).toBe(true);
    expect(a.iommuGroup?.id).not.toBe(b.iommuGroup?.id);
    expect(driverCore.findDevice('mdev', U1)).toBe(a);
  });

  it('a duplicate UUID (in any case) is EEXIST and changes nothing', () => {
    const { core, log } = setup();
    core.createDevice('mtty', 'mtty-1', U1);
    expect(errnoOf(() => core.createDevice('mtty', 'mtty-2', U1.toUpperCase()))).toBe('EEXIST');
    expect(core.devices).toHaveLength(1);
    expect(core.parent('mtty')!.types[1]!.availableInstances).toBe(1);
    expect(log).toEqual([`create ${U1}`]);
  });

  it('no instance left is EUSERS: per type and for the parent-wide pool', () => {
    const { core } = setup();
    core.createDevice('mtty', 'mtty-2', U1);
    expect(errnoOf(() => core.createDevice('mtty', 'mtty-2', U2))).toBe('EUSERS');
    core.createDevice('mtty', 'mtty-1', U2);
    core.createDevice('mtty', 'mtty-1', U3);
    core.createDevice('mtty', 'mtty-1', '00000000-0000-0000-0000-000000000004');
    expect(core.parent('mtty')!.types[0]!.availableInstances).toBe(0);
    expect(errnoOf(() => core.createDevice('mtty', 'mtty-1', '00000000-0000-0000-0000-000000000005'))).toBe(
      'EUSERS',
    );
    expect(core.devices).toHaveLength(4);
  });

  it('unknown parent ENODEV, unknown type ENOENT', () => {
    const { core } = setup();
    expect(errnoOf(() => core.createDevice('nope', 'mtty-1', U1))).toBe('ENODEV');
    expect(errnoOf(() => core.createDevice('mtty', 'mtty-9', U1))).toBe('ENOENT');
  });

  it('a vendor create that fails gives its error and returns the instance (through release)', () => {
    const { core, ctl } = setup();
    ctl.refuseCreate = true;
    expect(errnoOf(() => core.createDevice('mtty', 'mtty-2', U1))).toBe('ENOSPC');
    expect(core.device(U1)).toBeUndefined();
    expect(core.parent('mtty')!.types[1]!.availableInstances).toBe(1);
    ctl.refuseCreate = false;
    expect(core.createDevice('mtty', 'mtty-2', U1).uuid).toBe(U1);
  });

  it('a failure after the vendor create (no IOMMU group) undoes the create and returns the instance', () => {
    const { ops, log } = vendor();
    const core = new MdevCore(new DriverCore(), {
      groups: {
        alloc: () => {
          throw new KernelError('ENOSPC', 'no group ids left');
        },
        free: () => {},
      },
    });
    core.registerParent(parentInfo(ops));
    expect(errnoOf(() => core.createDevice('mtty', 'mtty-2', U1))).toBe('ENOSPC');
    expect(log).toEqual([`create ${U1}`, `remove ${U1}`]);
    expect(core.device(U1)).toBeUndefined();
    expect(core.driverCore.findDevice('mdev', U1)).toBeUndefined();
    expect(core.parent('mtty')!.types[1]!.availableInstances).toBe(1);
  });

  it('a vendor that counts for itself (getAvailable) is asked, and the core does not count', () => {
    const { ops } = vendor();
    let left = 1;
    const core = new MdevCore(new DriverCore());
    core.registerParent(
      parentInfo(
        {
          ...ops,
          getAvailable: () => left,
          create(m) {
            ops.create(m);
            left--;
          },
        },
        { maxInstances: 0 },
      ),
    );
    const t = core.parent('mtty')!.types[0]!;
    expect(t.availableInstances).toBe(1);
    core.createDevice('mtty', 'mtty-1', U1);
    expect(t.availableInstances).toBe(0);
    expect(core.parent('mtty')!.availableInstances).toBe(0);
  });
});

describe('remove (mdev_device_remove) and release', () => {
  it('removes, unbinds the bus driver and the vendor, frees the group; the instance returns on release', () => {
    const { core, log, driverCore } = setup();
    core.registerDriver(busDriver(log));
    const m = core.createDevice('mtty', 'mtty-2', U1);
    const group = m.iommuGroup!;
    core.removeDevice(U1);
    expect(log).toEqual([`create ${U1}`, `probe ${U1}`, `remove ${U1}`, `unbind ${U1}`]);
    expect(driverCore.findDevice('mdev', U1)).toBeUndefined();
    expect(m.iommuGroup).toBeUndefined();
    expect(m.released).toBe(true);
    expect(core.parent('mtty')!.types[1]!.availableInstances).toBe(1);
    // The group id is free for the next device.
    expect(core.createDevice('mtty', 'mtty-2', U2).iommuGroup!.id).toBe(group.id);
  });

  it('an unknown UUID is ENODEV', () => {
    const { core } = setup();
    expect(errnoOf(() => core.removeDevice(U1))).toBe('ENODEV');
  });

  it('an open device is EBUSY and stays as it was', () => {
    const { core, log } = setup();
    const m = core.createDevice('mtty', 'mtty-2', U1);
    m.markOpen();
    expect(errnoOf(() => core.removeDevice(U1))).toBe('EBUSY');
    expect(m.active).toBe(true);
    expect(m.iommuGroup).toBeDefined();
    expect(log).toEqual([`create ${U1}`]);
    m.markClosed();
    core.removeDevice(U1);
    expect(m.released).toBe(true);
  });

  it('a vendor that refuses is EBUSY unless forced; the device stays active', () => {
    const { core, ctl } = setup();
    const m = core.createDevice('mtty', 'mtty-2', U1);
    ctl.refuseRemove = true;
    expect(errnoOf(() => core.removeDevice(U1))).toBe('EBUSY');
    expect(m.active).toBe(true);
    expect(core.devices).toEqual([m]);
    core.removeDevice(U1, { force: true });
    expect(core.devices).toEqual([]);
    expect(m.released).toBe(true);
  });

  it('a forced remove of an open device: instance and UUID come back only on the last close', () => {
    const { core } = setup();
    const m = core.createDevice('mtty', 'mtty-2', U1);
    m.markOpen();
    core.removeDevice(U1, { force: true });
    expect(m.active).toBe(false);
    expect(core.devices).toEqual([]);
    // Removed but not released: upstream still has it on mdev_list.
    expect(core.parent('mtty')!.types[1]!.availableInstances).toBe(0);
    expect(errnoOf(() => core.createDevice('mtty', 'mtty-1', U1))).toBe('EEXIST');
    expect(errnoOf(() => core.removeDevice(U1))).toBe('EAGAIN');
    expect(errnoOf(() => m.markOpen())).toBe('ENODEV');
    m.markClosed();
    expect(m.released).toBe(true);
    expect(core.parent('mtty')!.types[1]!.availableInstances).toBe(1);
    expect(core.createDevice('mtty', 'mtty-1', U1).uuid).toBe(U1);
  });

  it('unregistering the parent force-removes its devices, even open or refused ones', () => {
    const { core, ctl, log } = setup();
    core.registerDriver(busDriver(log));
    const a = core.createDevice('mtty', 'mtty-1', U1);
    const b = core.createDevice('mtty', 'mtty-2', U2);
    a.markOpen();
    ctl.refuseRemove = true;
    expect(core.unregisterParent('mtty')).toBe(true);
    expect(core.parent('mtty')).toBeUndefined();
    expect(a.active || b.active).toBe(false);
    expect(b.released).toBe(true);
    expect(a.released).toBe(false);
    expect(log.filter((l) => l.startsWith('unbind')).sort()).toEqual([`unbind ${U1}`, `unbind ${U2}`]);
    expect(core.unregisterParent('mtty')).toBe(false);
  });
});

describe('the mdev bus (driver model)', () => {
  it('a driver binds devices whose type has its device_api, whichever registers first', () => {
    const log: string[] = [];
    const driverCore = new DriverCore();
    const core = new MdevCore(driverCore);
    const { ops } = vendor(log);
    core.registerParent(
      parentInfo(ops, {
        types: [
          { id: 'pci', deviceApi: 'vfio-pci' },
          { id: 'ccw', deviceApi: 'vfio-ccw' },
        ],
      }),
    );
    const a = core.createDevice('mtty', 'mtty-pci', U1);
    const drv = busDriver(log);
    core.registerDriver(drv);
    const b = core.createDevice('mtty', 'mtty-ccw', U2);
    const c = core.createDevice('mtty', 'mtty-pci', U3);
    expect(a.driver).toBe(drv);
    expect(b.driver).toBeUndefined();
    expect(c.driver).toBe(drv);
    core.unregisterDriver(drv);
    expect(a.driver).toBeUndefined();
    expect(log).toContain(`unbind ${U1}`);
  });

  it('a driver for another bus is EINVAL', () => {
    const { core } = setup();
    const drv = { ...busDriver([]), bus: 'pci' } as never;
    expect(errnoOf(() => core.registerDriver(drv))).toBe('EINVAL');
  });

  it('a probe that fails leaves the device created but unbound', () => {
    const { core } = setup();
    const drv = {
      ...busDriver([]),
      probe() {
        throw new KernelError('EIO', 'no');
      },
    };
    core.registerDriver(drv);
    const m = core.createDevice('mtty', 'mtty-1', U1);
    expect(m.driver).toBeUndefined();
    expect(m.probeErrors.get('test-mpci')?.code).toBe('EIO');
    expect(core.devices).toEqual([m]);
  });
});
