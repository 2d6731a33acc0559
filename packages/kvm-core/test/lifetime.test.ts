import { coreBusModule, EventFd, FdTable, ModuleLoader } from '@tsvirt/core-bus';
import { HOST_MM, hostMmModule } from '@tsvirt/host-mm';
import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  createKvmCoreModule,
  KVM,
  KVM_API_VERSION,
  KVM_CAP_IRQFD,
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_CAP_MAX_VCPU_ID,
  KVM_CAP_MAX_VCPUS,
  KVM_CAP_NR_MEMSLOTS,
  KVM_CAP_ONE_REG,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_VM,
  KVM_DEV_TYPE_VFIO,
  KVM_DIRTY_LOG_MANUAL_CAPS,
  KVM_GET_API_VERSION,
  KVM_GET_VCPU_MMAP_SIZE,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_RUN,
  KVM_USER_MEM_SLOTS,
  Kvm,
  type KvmVm,
  kvmCoreModule,
} from '../src/index.ts';
import { FakeArch } from './fake-arch.ts';
import { MiB, region, setup } from './helpers.ts';

describe('/dev/kvm', () => {
  it('createKvmCoreModule shares a given descriptor table', () => {
    const files = new FdTable();
    const loader = new ModuleLoader();
    loader.loadHost([coreBusModule, hostMmModule, createKvmCoreModule({ files })]);
    expect(loader.host.resolve<Kvm>(KVM).files).toBe(files);
  });

  it('API version, VM creation through ioctl, capability answers', () => {
    const arch = new FakeArch();
    const files = new FdTable();
    const kvm = new Kvm({ arch, files });
    expect(kvm.ioctl(KVM_GET_API_VERSION)).toBe(KVM_API_VERSION);
    expect(errnoOf(() => kvm.ioctl(KVM_GET_API_VERSION, 1))).toBe('EINVAL');
    expect(kvm.ioctl(KVM_GET_VCPU_MMAP_SIZE)).toBe(4096);
    const fd = kvm.ioctl(KVM_CREATE_VM, 0);
    const vm = files.get(fd) as KvmVm;
    expect(kvm.vms).toEqual([vm]);
    expect(vm.arch).toEqual({ inited: true });
    expect(kvm.ioctl(KVM_CHECK_EXTENSION, KVM_CAP_IRQFD)).toBe(1);
    expect(kvm.checkExtension(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)).toBe(KVM_DIRTY_LOG_MANUAL_CAPS);
    expect(kvm.checkExtension(KVM_CAP_NR_MEMSLOTS)).toBe(KVM_USER_MEM_SLOTS);
    expect(kvm.checkExtension(KVM_CAP_MAX_VCPUS)).toBe(4);
    expect(kvm.checkExtension(KVM_CAP_MAX_VCPU_ID)).toBe(8);
    expect(kvm.checkExtension(KVM_CAP_ONE_REG)).toBe(1);
    expect(vm.ioctl(KVM_CHECK_EXTENSION, 9999)).toBe(0);
    expect(errnoOf(() => kvm.ioctl(0x1234))).toBe('ENOTTY');
    expect(errnoOf(() => vm.ioctl(0x1234))).toBe('ENOTTY');
  });

  it('no arch: ENODEV; a second arch: EEXIST; the arch refusing a VM type: nothing created', () => {
    const kvm = new Kvm();
    expect(errnoOf(() => kvm.createVm())).toBe('ENODEV');
    kvm.registerArch(new FakeArch());
    expect(errnoOf(() => kvm.registerArch(new FakeArch()))).toBe('EEXIST');
    const open = kvm.files.openCount;
    expect(errnoOf(() => kvm.createVm(3))).toBe('EINVAL');
    expect(kvm.vms).toHaveLength(0);
    expect(kvm.files.openCount).toBe(open);
  });

  it('kvmCoreModule registers one Kvm for the host (on the host mm), which an arch module registers into', () => {
    const loader = new ModuleLoader();
    loader.loadHost([
      coreBusModule,
      hostMmModule,
      kvmCoreModule,
      {
        name: 'kvm-fake-arch',
        scope: 'host',
        dependsOn: ['kvm-core'],
        register: (c) => c.resolve<Kvm>(KVM).registerArch(new FakeArch()),
      },
    ]);
    const kvm = loader.host.resolve<Kvm>(KVM);
    expect(kvm).toBeInstanceOf(Kvm);
    expect(kvm.arch?.name).toBe('fake');
    expect(kvm.mm).toBe(loader.host.resolve(HOST_MM));
    expect(kvm.createVm().mm).toBe(kvm.mm);
  });
});

describe('VM destruction releases everything', () => {
  function busyVm() {
    const t = setup();
    const { vm, files, kvm } = t;
    const irqEv = new EventFd();
    const ioEv = new EventFd();
    vm.setUserMemoryRegion(region(0, 0n, MiB, 0x1000_0000n, KVM_MEM_LOG_DIRTY_PAGES));
    vm.setUserMemoryRegion(region(1, 4n * MiB, MiB));
    const v0 = vm.createVcpu(0);
    const v1 = vm.createVcpu(1);
    vm.irqfd({ fd: files.install(irqEv), gsi: 1, flags: 0 });
    vm.ioeventfd({ fd: files.install(ioEv), addr: 0x9000n, len: 4, flags: 0, datamatch: 0n });
    const destroyed: string[] = [];
    kvm.registerDeviceOps(KVM_DEV_TYPE_VFIO, {
      name: 'd',
      create() {},
      destroy: () => destroyed.push('device'),
    });
    const cd = { type: KVM_DEV_TYPE_VFIO, fd: -1, flags: 0 };
    vm.createDevice(cd);
    return { ...t, irqEv, ioEv, v0, v1, cd, destroyed };
  }

  it('closing the VM fd drops irqfds at once; the VM lives until vCPU and device fds close', () => {
    const t = busyVm();
    const { vm, files, arch, irqEv } = t;
    expect(vm.refcount).toBe(4);
    files.close(vm.fd);
    expect(vm.irqfds).toHaveLength(0);
    expect(irqEv.listenerCount).toBe(0);
    expect(vm.dead).toBe(false);
    expect(errnoOf(() => vm.setUserMemoryRegion(region(2, 8n * MiB, MiB)))).toBe('EBADF');
    files.close(t.v0.fd);
    files.close(t.cd.fd);
    expect(vm.dead).toBe(false);
    files.close(t.v1.fd);
    expect(vm.dead).toBe(true);
    expect(arch.log.slice(-4)).toEqual(['flushAll', 'vcpuDestroy:0', 'vcpuDestroy:1', 'vmDestroy']);
    expect(t.destroyed).toEqual(['device']);
  });

  it('process exit (closeAll) tears down in kernel order and leaves nothing', () => {
    const t = busyVm();
    const { vm, files, arch, irqEv, ioEv, kvm, destroyed } = t;
    arch.log.length = 0;
    files.closeAll();
    expect(vm.dead).toBe(true);
    expect(arch.log).toEqual(['flushAll', 'vcpuDestroy:0', 'vcpuDestroy:1', 'vmDestroy']);
    expect(destroyed).toEqual(['device']);
    expect(vm.vcpus).toHaveLength(0);
    expect(vm.devices).toHaveLength(0);
    expect(vm.memslots.size).toBe(0);
    expect(vm.nrMemslotPages).toBe(0);
    expect(vm.mmioBus.ioeventfdCount).toBe(0);
    expect(irqEv.listenerCount).toBe(0);
    expect(ioEv.closed).toBe(true);
    expect(kvm.vms).toHaveLength(0);
    expect(files.openCount).toBe(0);
    expect(vm.gfnToHva(0)).toBeUndefined();
  });

  it('a vCPU of a destroyed VM answers EIO', () => {
    const t = busyVm();
    const { vm, v0 } = t;
    vm.release();
    t.v1.release();
    (t.files.get(t.cd.fd) as { release(): void }).release();
    v0.release();
    expect(vm.dead).toBe(true);
    expect(errnoOf(() => v0.ioctl(KVM_RUN))).toBe('EIO');
  });
});
