import { EventFd, FdTable, fail } from '@tsvirt/core-bus';
import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  KVM_CAP_ONE_REG,
  KVM_GET_VCPU_MMAP_SIZE,
  KVM_INTERRUPT,
  KVM_IRQ_LINE,
  Kvm,
  type KvmArchOps,
  KvmIoBus,
  NR_IOBUS_DEVS,
} from '../src/index.ts';
import { FakeArch } from './fake-arch.ts';
import { MiB, region, setup, slotState } from './helpers.ts';

/** A FakeArch without some optional hooks. */
function archWithout(...hooks: (keyof KvmArchOps)[]) {
  const a = new FakeArch();
  for (const h of hooks) (a as unknown as Record<string, undefined>)[h] = undefined;
  const kvm = new Kvm({ arch: a, files: new FdTable() });
  return { arch: a, kvm, vm: kvm.createVm() };
}

describe('hooks an arch may lack', () => {
  it('no setIrq: KVM_IRQ_LINE is ENXIO, KVM_IRQFD EINVAL', () => {
    const { vm, kvm } = archWithout('setIrq');
    expect(errnoOf(() => vm.ioctl(KVM_IRQ_LINE, { irq: 1, level: 1 }))).toBe('ENXIO');
    expect(errnoOf(() => vm.irqfd({ fd: kvm.files.install(new EventFd()), gsi: 1, flags: 0 }))).toBe(
      'EINVAL',
    );
    expect(vm.irqfds).toHaveLength(0);
  });

  it('an irqLine hook (kvm_vm_ioctl_irq_line) takes KVM_IRQ_LINE instead of setIrq, and its errno is returned', () => {
    const arch = new FakeArch();
    const lines: number[][] = [];
    Object.assign(arch, {
      irqLine(_vm: unknown, irq: number, level: number) {
        if (irq === 0) fail('ENODEV', 'no source 0');
        lines.push([irq, level]);
      },
    });
    const vm = new Kvm({ arch, files: new FdTable() }).createVm();
    vm.ioctl(KVM_IRQ_LINE, { irq: 7, level: 1 });
    expect(lines).toEqual([[7, 1]]);
    expect(arch.irqs).toEqual([]);
    expect(errnoOf(() => vm.ioctl(KVM_IRQ_LINE, { irq: 0, level: 1 }))).toBe('ENODEV');
  });

  it('no ONE_REG: get/set/list EINVAL and KVM_CAP_ONE_REG reads 0; no KVM_INTERRUPT: ENOTTY', () => {
    const { vm, kvm } = archWithout('getOneReg', 'setOneReg', 'getRegList', 'vcpuInterrupt');
    const v = vm.createVcpu(0);
    expect(errnoOf(() => v.getOneReg({ id: 1n, addr: 0n }))).toBe('EINVAL');
    expect(errnoOf(() => v.setOneReg({ id: 1n, addr: 0n, value: 0n }))).toBe('EINVAL');
    expect(errnoOf(() => v.getRegList({ n: 0, reg: [] }))).toBe('EINVAL');
    expect(errnoOf(() => v.ioctl(KVM_INTERRUPT, { irq: 1 }))).toBe('ENOTTY');
    expect(kvm.checkExtension(KVM_CAP_ONE_REG)).toBe(0);
  });
});

describe('arch-specific ioctls, caps and refusals', () => {
  it('unknown VM and vCPU ioctls go to the arch when it has a handler', () => {
    const arch = new FakeArch();
    const seen: string[] = [];
    Object.assign(arch, {
      vmIoctl: (_vm: unknown, cmd: number) => {
        seen.push(`vm:${cmd}`);
        return 7;
      },
      vcpuIoctl: (_v: unknown, cmd: number) => {
        if (cmd === 2) fail('EINVAL', 'no');
        seen.push(`vcpu:${cmd}`);
        return 8;
      },
      enableCap: (_vm: unknown, cap: { cap: number }) => seen.push(`cap:${cap.cap}`),
    });
    const kvm = new Kvm({ arch, files: new FdTable() });
    const vm = kvm.createVm();
    const v = vm.createVcpu(0);
    expect(vm.ioctl(0x1234)).toBe(7);
    expect(v.ioctl(1)).toBe(8);
    expect(errnoOf(() => v.ioctl(2))).toBe('EINVAL');
    vm.enableCap({ cap: 500, flags: 0, args: [] });
    expect(seen).toEqual(['vm:4660', 'vcpu:1', 'cap:500']);
  });

  it('vcpuPrecreate refusal creates nothing and uses no vCPU slot', () => {
    const arch = new FakeArch();
    let refuse = true;
    Object.assign(arch, {
      vcpuPrecreate: () => {
        if (refuse) fail('EBUSY', 'not now');
      },
    });
    const vm = new Kvm({ arch, files: new FdTable() }).createVm();
    expect(errnoOf(() => vm.createVcpu(0))).toBe('EBUSY');
    refuse = false;
    for (let i = 0; i < 4; i++) vm.createVcpu(i);
    expect(vm.vcpus).toHaveLength(4);
  });
});

describe('odd inputs', () => {
  it('KVM_GET_VCPU_MMAP_SIZE with an argument is EINVAL', () => {
    const { kvm } = setup();
    expect(errnoOf(() => kvm.ioctl(KVM_GET_VCPU_MMAP_SIZE, 1))).toBe('EINVAL');
  });

  it('a slot number that is not a u32 is EINVAL', () => {
    const { vm } = setup();
    expect(errnoOf(() => vm.setUserMemoryRegion(region(-1, 0n, MiB)))).toBe('EINVAL');
    expect(errnoOf(() => vm.setUserMemoryRegion(region(2 ** 32, 0n, MiB)))).toBe('EINVAL');
    expect(errnoOf(() => vm.setUserMemoryRegion(region(0.5, 0n, MiB)))).toBe('EINVAL');
    expect(vm.memslots.size).toBe(0);
  });

  it('a move refused by the arch leaves the slot where it was, still translating', () => {
    const { vm, arch } = setup();
    vm.setUserMemoryRegion(region(0, 0n, MiB, 0x1000_0000n));
    const before = slotState(vm);
    arch.failPrepare = 'no';
    expect(errnoOf(() => vm.setUserMemoryRegion(region(0, 8n * MiB, MiB, 0x1000_0000n)))).toBe('ENOMEM');
    expect(slotState(vm)).toEqual(before);
    expect(vm.gfnToHva(5)).toBe(0x1000_5000);
    expect(vm.gfnToHva(0x805)).toBeUndefined();
  });

  it('a flags-only change refused by the arch keeps the slot not logging', () => {
    const { vm, arch } = setup();
    vm.setUserMemoryRegion(region(0, 0n, MiB, 0x1000_0000n));
    const before = slotState(vm);
    arch.failPrepare = 'no';
    expect(errnoOf(() => vm.setUserMemoryRegion(region(0, 0n, MiB, 0x1000_0000n, 1)))).toBe('ENOMEM');
    expect(slotState(vm)).toEqual(before);
    expect(arch.wp).toEqual([]);
  });

  it('an I/O bus takes at most NR_IOBUS_DEVS devices (ENOSPC); ioeventfds do not count', () => {
    const bus = new KvmIoBus('t');
    const dev = { read() {}, write() {} };
    for (let i = 0; i < NR_IOBUS_DEVS; i++) bus.registerDevice(dev, i * 0x10, 0x10);
    expect(errnoOf(() => bus.registerDevice(dev, 0x10_0000, 0x10))).toBe('ENOSPC');
    expect(bus.devices.size).toBe(NR_IOBUS_DEVS);
  });

  it('overlapping in-kernel devices are EEXIST', () => {
    const { vm } = setup();
    const dev = { read() {}, write() {} };
    vm.mmioBus.registerDevice(dev, 0x1000, 0x100);
    expect(errnoOf(() => vm.mmioBus.registerDevice(dev, 0x10f0, 0x100))).toBe('EEXIST');
  });

  it('a dead VM answers EIO', () => {
    const { vm, files } = setup();
    const v = vm.createVcpu(0);
    files.closeAll();
    expect(vm.dead).toBe(true);
    expect(errnoOf(() => vm.createVcpu(1))).toBe('EIO');
    expect(errnoOf(() => v.kvmRun())).toBe('EIO');
  });

  it('a bypass manager refusing the consumer (same eventfd in two VMs) does not fail KVM_IRQFD', () => {
    const files = new FdTable();
    const tokens = new Set<unknown>();
    const kvm = new Kvm({
      arch: new FakeArch(),
      files,
      irqBypass: {
        registerConsumer(c) {
          if (tokens.has(c.token)) fail('EBUSY', 'token taken');
          tokens.add(c.token);
        },
        unregisterConsumer(c) {
          tokens.delete(c.token);
        },
      },
    });
    const ev = new EventFd();
    const fd = files.install(ev);
    const a = kvm.createVm();
    const b = kvm.createVm();
    a.irqfd({ fd, gsi: 1, flags: 0 });
    b.irqfd({ fd, gsi: 1, flags: 0 });
    expect([a.irqfds[0]!.bypassRegistered, b.irqfds[0]!.bypassRegistered]).toEqual([true, false]);
    // Tearing down b's irqfd must not unregister a's consumer.
    b.irqfd({ fd, gsi: 1, flags: 1 });
    expect(tokens.has(ev)).toBe(true);
    a.irqfd({ fd, gsi: 1, flags: 1 });
    expect(tokens.size).toBe(0);
  });
});
