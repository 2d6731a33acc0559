import { fail } from '@tsvirt/core-bus';
import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  KVM_CREATE_DEVICE,
  KVM_CREATE_DEVICE_TEST,
  KVM_DEV_TYPE_MAX,
  KVM_DEV_TYPE_RISCV_AIA,
  KVM_DEV_TYPE_VFIO,
  KVM_GET_DEVICE_ATTR,
  KVM_HAS_DEVICE_ATTR,
  KVM_SET_DEVICE_ATTR,
  type KvmCreateDevice,
  type KvmDevice,
  type KvmDeviceAttr,
  type KvmDeviceOps,
} from '../src/index.ts';
import { setup } from './helpers.ts';

/** A one-per-VM device with one 4-byte attribute (group 1, attr 0). */
function scratchOps(events: string[], withRelease = false): KvmDeviceOps {
  const ops: KvmDeviceOps = {
    name: 'scratch',
    create(dev) {
      if (dev.vm.devices.some((d) => d.ops === ops)) fail('EBUSY', 'one per VM');
      dev.private_ = new Uint8Array(4);
      events.push('create');
    },
    init() {
      events.push('init');
    },
    destroy() {
      events.push('destroy');
    },
    setAttr(dev, a) {
      if (a.group !== 1 || a.attr !== 0n) fail('ENXIO', 'no such attribute');
      (dev.private_ as Uint8Array).set(a.data!.subarray(0, 4));
    },
    getAttr(dev, a) {
      a.data!.set(dev.private_ as Uint8Array);
    },
  };
  if (withRelease) ops.release = () => events.push('release');
  return ops;
}

describe('kvm_register_device_ops', () => {
  it('ENOSPC past KVM_DEV_TYPE_MAX, EEXIST for a taken type', () => {
    const { kvm } = setup();
    const ops = scratchOps([]);
    expect(errnoOf(() => kvm.registerDeviceOps(KVM_DEV_TYPE_MAX, ops))).toBe('ENOSPC');
    kvm.registerDeviceOps(KVM_DEV_TYPE_VFIO, ops);
    expect(errnoOf(() => kvm.registerDeviceOps(KVM_DEV_TYPE_VFIO, ops))).toBe('EEXIST');
    kvm.unregisterDeviceOps(KVM_DEV_TYPE_VFIO);
    kvm.registerDeviceOps(KVM_DEV_TYPE_VFIO, ops);
  });
});

describe('KVM_CREATE_DEVICE', () => {
  it('creates, inits, installs an fd, writes cd.fd; attributes go to the ops', () => {
    const events: string[] = [];
    const { kvm, vm, files } = setup();
    kvm.registerDeviceOps(KVM_DEV_TYPE_RISCV_AIA, scratchOps(events));
    const cd: KvmCreateDevice = { type: KVM_DEV_TYPE_RISCV_AIA, fd: -1, flags: 0 };
    vm.ioctl(KVM_CREATE_DEVICE, cd);
    expect(events).toEqual(['create', 'init']);
    const dev = files.get(cd.fd) as KvmDevice;
    expect(dev.vm).toBe(vm);
    const set: KvmDeviceAttr = {
      flags: 0,
      group: 1,
      attr: 0n,
      addr: 0x1000n,
      data: Uint8Array.of(1, 2, 3, 4),
    };
    dev.ioctl(KVM_SET_DEVICE_ATTR, set);
    const got: KvmDeviceAttr = { flags: 0, group: 1, attr: 0n, addr: 0x1000n, data: new Uint8Array(4) };
    dev.ioctl(KVM_GET_DEVICE_ATTR, got);
    expect([...got.data!]).toEqual([1, 2, 3, 4]);
    expect(errnoOf(() => dev.setAttr({ ...set, group: 2 }))).toBe('ENXIO');
  });

  it('ENODEV for an unregistered or out-of-range type; TEST only checks the type exists', () => {
    const events: string[] = [];
    const { kvm, vm, files } = setup();
    expect(errnoOf(() => vm.createDevice({ type: KVM_DEV_TYPE_VFIO, fd: -1, flags: 0 }))).toBe('ENODEV');
    expect(errnoOf(() => vm.createDevice({ type: 1000, fd: -1, flags: 0 }))).toBe('ENODEV');
    expect(
      errnoOf(() => vm.createDevice({ type: KVM_DEV_TYPE_VFIO, fd: -1, flags: KVM_CREATE_DEVICE_TEST })),
    ).toBe('ENODEV');
    kvm.registerDeviceOps(KVM_DEV_TYPE_VFIO, scratchOps(events));
    const open = files.openCount;
    const cd = { type: KVM_DEV_TYPE_VFIO, fd: -1, flags: KVM_CREATE_DEVICE_TEST };
    vm.createDevice(cd);
    expect(cd.fd).toBe(-1);
    expect(events).toEqual([]);
    expect(files.openCount).toBe(open);
    expect(vm.devices).toHaveLength(0);
  });

  it("the type's create error (EBUSY for a second instance) leaves nothing behind", () => {
    const { kvm, vm, files } = setup();
    kvm.registerDeviceOps(KVM_DEV_TYPE_VFIO, scratchOps([]));
    vm.createDevice({ type: KVM_DEV_TYPE_VFIO, fd: -1, flags: 0 });
    const open = files.openCount;
    const refs = vm.refcount;
    expect(errnoOf(() => vm.createDevice({ type: KVM_DEV_TYPE_VFIO, fd: -1, flags: 0 }))).toBe('EBUSY');
    expect(vm.devices).toHaveLength(1);
    expect(files.openCount).toBe(open);
    expect(vm.refcount).toBe(refs);
  });

  it('EPERM for a missing accessor; ENOTTY for an unknown device ioctl; errors from the ops pass through', () => {
    const { kvm, vm } = setup();
    kvm.registerDeviceOps(KVM_DEV_TYPE_VFIO, {
      name: 'bare',
      create() {},
      destroy() {},
      hasAttr(_d, a) {
        if (a.group !== 1) fail('ENXIO', 'no such group');
      },
    });
    const dev = vm.createDevice({ type: KVM_DEV_TYPE_VFIO, fd: -1, flags: 0 })!;
    const a: KvmDeviceAttr = { flags: 0, group: 1, attr: 0n, addr: 0n };
    expect(errnoOf(() => dev.ioctl(KVM_SET_DEVICE_ATTR, a))).toBe('EPERM');
    expect(errnoOf(() => dev.ioctl(KVM_GET_DEVICE_ATTR, a))).toBe('EPERM');
    expect(errnoOf(() => dev.ioctl(KVM_HAS_DEVICE_ATTR, a))).toBeUndefined();
    expect(errnoOf(() => dev.ioctl(KVM_HAS_DEVICE_ATTR, { ...a, group: 2 }))).toBe('ENXIO');
    expect(errnoOf(() => dev.ioctl(0xbeef, 0))).toBe('ENOTTY');
  });

  it('a device fd holds the VM: closing the VM fd first, destroy runs at the device close', () => {
    const events: string[] = [];
    const { kvm, vm, files, arch } = setup();
    kvm.registerDeviceOps(KVM_DEV_TYPE_VFIO, scratchOps(events));
    const cd = { type: KVM_DEV_TYPE_VFIO, fd: -1, flags: 0 };
    vm.createDevice(cd);
    files.close(vm.fd);
    expect(vm.dead).toBe(false);
    expect(arch.log).not.toContain('vmDestroy');
    files.close(cd.fd);
    expect(vm.dead).toBe(true);
    expect(events).toEqual(['create', 'init', 'destroy']);
    expect(kvm.vms).toHaveLength(0);
  });

  it('a device with release is freed at its fd close, not again at VM destroy', () => {
    const events: string[] = [];
    const { kvm, vm, files } = setup();
    kvm.registerDeviceOps(KVM_DEV_TYPE_VFIO, scratchOps(events, true));
    const cd = { type: KVM_DEV_TYPE_VFIO, fd: -1, flags: 0 };
    vm.createDevice(cd);
    files.close(cd.fd);
    expect(events).toEqual(['create', 'init', 'release']);
    expect(vm.devices).toHaveLength(0);
    files.close(vm.fd);
    expect(vm.dead).toBe(true);
    expect(events).toEqual(['create', 'init', 'release']);
  });
});
