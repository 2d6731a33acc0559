import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { kstrtoul, MdevSysfs } from '../src/index.ts';
import { busDriver, setup, U1, U2 } from './helpers.ts';

const T1 = '/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1';
const T2 = '/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2';

describe('mdev sysfs', () => {
  it('lists parents, types and attributes; reads end in a newline', () => {
    const { core } = setup();
    const fs = new MdevSysfs(core);
    expect(fs.list('/sys/class/mdev_bus')).toEqual(['mtty']);
    expect(fs.list('/sys/class/mdev_bus/mtty/mdev_supported_types')).toEqual(['mtty-1', 'mtty-2']);
    expect(fs.list(T1)).toEqual([
      'available_instances',
      'create',
      'description',
      'device_api',
      'devices',
      'name',
    ]);
    expect(fs.list(T2)).not.toContain('description');
    expect(fs.read(`${T1}/name`)).toBe('Single port serial\n');
    expect(fs.read(`${T1}/device_api`)).toBe('vfio-pci\n');
    expect(fs.read(`${T1}/available_instances`)).toBe('4\n');
    expect(fs.read(`${T1}/description`)).toBe('one port\n');
  });

  it('create and remove through the files, as `echo $uuid > create` and `echo 1 > remove`', () => {
    const { core } = setup();
    core.registerDriver(busDriver([]));
    const fs = new MdevSysfs(core);
    fs.write(`${T2}/create`, `${U1}\n`);
    expect(fs.read(`${T2}/available_instances`)).toBe('0\n');
    expect(fs.list(`${T2}/devices`)).toEqual([U1]);
    expect(fs.read(`${T2}/devices/${U1}`)).toBe(`/sys/bus/mdev/devices/${U1}\n`);
    expect(fs.list('/sys/bus/mdev/devices')).toEqual([U1]);
    expect(fs.list(`/sys/bus/mdev/devices/${U1}`)).toEqual(['driver', 'iommu_group', 'mdev_type', 'remove']);
    expect(fs.read(`/sys/bus/mdev/devices/${U1}/mdev_type`)).toBe(`${T2}\n`);
    expect(fs.read(`/sys/bus/mdev/devices/${U1}/iommu_group`)).toBe(
      `/sys/kernel/iommu_groups/${core.device(U1)!.iommuGroup!.id}\n`,
    );
    expect(fs.read(`/sys/bus/mdev/devices/${U1}/driver`)).toBe('/sys/bus/mdev/drivers/test-mpci\n');
    // A zero does nothing; garbage is EINVAL; 1 removes.
    fs.write(`/sys/bus/mdev/devices/${U1}/remove`, '0\n');
    expect(core.device(U1)?.active).toBe(true);
    expect(errnoOf(() => fs.write(`/sys/bus/mdev/devices/${U1}/remove`, 'yes'))).toBe('EINVAL');
    expect(core.device(U1)?.active).toBe(true);
    fs.write(`/sys/bus/mdev/devices/${U1}/remove`, '1\n');
    expect(core.device(U1)).toBeUndefined();
    expect(fs.exists(`/sys/bus/mdev/devices/${U1}`)).toBe(false);
    expect(fs.read(`${T2}/available_instances`)).toBe('1\n');
  });

  it('create errors come through the file: EINVAL, EEXIST, EUSERS', () => {
    const { core } = setup();
    const fs = new MdevSysfs(core);
    expect(errnoOf(() => fs.write(`${T2}/create`, 'abc'))).toBe('EINVAL');
    fs.write(`${T2}/create`, U1);
    expect(errnoOf(() => fs.write(`${T1}/create`, U1))).toBe('EEXIST');
    expect(errnoOf(() => fs.write(`${T2}/create`, U2))).toBe('EUSERS');
  });

  it('wrong kinds of access fail as sysfs does', () => {
    const { core } = setup();
    const fs = new MdevSysfs(core);
    expect(errnoOf(() => fs.read(`${T1}/create`))).toBe('EACCES');
    expect(errnoOf(() => fs.write(`${T1}/name`, 'x'))).toBe('EACCES');
    expect(errnoOf(() => fs.read(T1))).toBe('EISDIR');
    expect(errnoOf(() => fs.list(`${T1}/name`))).toBe('ENOTDIR');
    expect(errnoOf(() => fs.read(`${T1}/nope`))).toBe('ENOENT');
    expect(errnoOf(() => fs.list('/sys/class/mdev_bus/other'))).toBe('ENOENT');
    expect(errnoOf(() => fs.read(`/sys/bus/mdev/devices/${U1}/remove`))).toBe('ENOENT');
  });

  it('snapshot() is plain data a CLI can print', () => {
    const { core } = setup();
    core.createDevice('mtty', 'mtty-1', U1);
    const snap = new MdevSysfs(core).snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(snap.parents[0]!.types[0]).toEqual({
      sysfsName: 'mtty-1',
      name: 'Single port serial',
      device_api: 'vfio-pci',
      available_instances: 3,
      description: 'one port',
      devices: [U1],
    });
    expect(snap.devices).toEqual([
      {
        uuid: U1,
        parent: 'mtty',
        type: 'mtty-1',
        iommu_group: core.device(U1)!.iommuGroup!.id,
        driver: undefined,
        open: false,
      },
    ]);
  });

  it('kstrtoul parses as the kernel does with base 0', () => {
    expect(kstrtoul('1\n')).toBe(1n);
    expect(kstrtoul('0x10')).toBe(16n);
    expect(kstrtoul('010')).toBe(8n);
    expect(kstrtoul('0')).toBe(0n);
    expect(kstrtoul('08')).toBeUndefined();
    expect(kstrtoul('-1')).toBeUndefined();
    expect(kstrtoul('1 ')).toBeUndefined();
    expect(kstrtoul('')).toBeUndefined();
  });
});
