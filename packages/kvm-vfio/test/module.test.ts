import { defineModule, ModuleLoader } from '@tsvirt/core-bus';
import { KVM, KVM_DEV_TYPE_VFIO, Kvm } from '@tsvirt/kvm-core';
import { VFIO_CORE, type VfioCore, vfioCoreModule } from '@tsvirt/vfio-core';
import { expect, it } from 'vitest';
import {
  createKvmVfioModule,
  IRQ_BYPASS,
  IrqBypass,
  irqBypass,
  KvmVfioOps,
  kvmVfioModule,
} from '../src/index.ts';
import { toyArch } from './helpers.ts';

// A stand-in for kvm-core's module (which also needs host-mm): /dev/kvm under KVM.
const kvmCore = (kvm: Kvm) =>
  defineModule({ name: 'kvm-core', scope: 'host', register: (c) => c.registerInstance(KVM, kvm) });
const newKvm = () =>
  new Kvm({ arch: toyArch({ calls: [], routes: new Map(), raised: [], noncoherent: [] }) });

it('the module registers the VFIO device type and hands /dev/kvm and VFIO the package-level bypass manager', () => {
  const kvm = newKvm();
  const loader = new ModuleLoader();
  loader.loadHost([kvmVfioModule, vfioCoreModule, kvmCore(kvm)]);
  expect(kvm.deviceOps(KVM_DEV_TYPE_VFIO)).toBeInstanceOf(KvmVfioOps);
  expect(kvm.irqBypass).toBe(irqBypass);
  expect(loader.host.resolve<VfioCore>(VFIO_CORE).irqBypass).toBe(irqBypass);
  expect(loader.host.resolve(IRQ_BYPASS)).toBe(irqBypass);
});

it('a given manager is used; a /dev/kvm that already has one keeps it; kvm-core must be loaded', () => {
  const own = new IrqBypass();
  const kvm = newKvm();
  const l1 = new ModuleLoader();
  l1.loadHost([kvmCore(kvm), vfioCoreModule, createKvmVfioModule({ bypass: own })]);
  expect(kvm.irqBypass).toBe(own);
  expect(l1.host.resolve<VfioCore>(VFIO_CORE).irqBypass).toBe(own);
  const kvm2 = newKvm();
  const first = new IrqBypass();
  kvm2.irqBypass = first;
  new ModuleLoader().loadHost([kvmCore(kvm2), vfioCoreModule, createKvmVfioModule({ bypass: own })]);
  expect(kvm2.irqBypass).toBe(first);
  expect(() => new ModuleLoader().loadHost([vfioCoreModule, kvmVfioModule])).toThrow(
    expect.objectContaining({ code: 'ENOENT' }),
  );
});
