import { FdTable, fail } from '@tsvirt/core-bus';
import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  KVM_GET_MP_STATE,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_REQ_TLB_FLUSH,
  KVM_REQUEST_ARCH_BASE,
  KVM_SET_MP_STATE,
  Kvm,
  type KvmMpState,
} from '../src/index.ts';
import { FakeArch } from './fake-arch.ts';
import { MiB, region, setup } from './helpers.ts';

describe('vCPU requests and remote TLB flushes', () => {
  it('a request is seen once by checkRequest', () => {
    const { vm } = setup();
    const v = vm.createVcpu(0);
    v.makeRequest(KVM_REQUEST_ARCH_BASE + 1);
    expect(v.requestPending(KVM_REQUEST_ARCH_BASE + 1)).toBe(true);
    expect(v.checkRequest(KVM_REQUEST_ARCH_BASE + 1)).toBe(true);
    expect(v.checkRequest(KVM_REQUEST_ARCH_BASE + 1)).toBe(false);
  });

  it('GET_DIRTY_LOG that re-protected pages flushes every vCPU TLB (by request); a clean one does not', () => {
    const { vm } = setup();
    const [a, b] = [vm.createVcpu(0), vm.createVcpu(1)];
    vm.setUserMemoryRegion(region(0, 0n, MiB, 0x1000_0000n, KVM_MEM_LOG_DIRTY_PAGES));
    vm.getDirtyLog({ slot: 0 });
    expect(a.requestPending(KVM_REQ_TLB_FLUSH)).toBe(false);
    vm.markPageDirty(3);
    vm.getDirtyLog({ slot: 0 });
    expect([a.checkRequest(KVM_REQ_TLB_FLUSH), b.checkRequest(KVM_REQ_TLB_FLUSH)]).toEqual([true, true]);
    expect(vm.remoteTlbFlushes).toBe(1);
  });

  it('enabling logging on a mapped slot write-protects and flushes; an arch flush hook replaces the request', () => {
    const arch = new FakeArch();
    let direct = 0;
    Object.assign(arch, { flushRemoteTlbs: () => direct++ });
    const vm = new Kvm({ arch, files: new FdTable() }).createVm();
    const v = vm.createVcpu(0);
    vm.setUserMemoryRegion(region(0, 0n, MiB, 0x1000_0000n));
    vm.setUserMemoryRegion(region(0, 0n, MiB, 0x1000_0000n, KVM_MEM_LOG_DIRTY_PAGES));
    expect(direct).toBe(1);
    expect(v.requestPending(KVM_REQ_TLB_FLUSH)).toBe(false);
  });
});

describe('KVM_GET/SET_MP_STATE', () => {
  it('dispatches to the arch; EINVAL where it has none or refuses', () => {
    const arch = new FakeArch();
    const states = new Map<number, number>();
    Object.assign(arch, {
      getMpState: (v: { vcpuId: number }) => states.get(v.vcpuId) ?? KVM_MP_STATE_RUNNABLE,
      setMpState: (v: { vcpuId: number }, s: number) => {
        if (s !== KVM_MP_STATE_RUNNABLE && s !== KVM_MP_STATE_STOPPED) fail('EINVAL', 'unsupported');
        states.set(v.vcpuId, s);
      },
    });
    const vm = new Kvm({ arch, files: new FdTable() }).createVm();
    const v = vm.createVcpu(0);
    v.ioctl(KVM_SET_MP_STATE, { mp_state: KVM_MP_STATE_STOPPED });
    const mp: KvmMpState = { mp_state: -1 };
    v.ioctl(KVM_GET_MP_STATE, mp);
    expect(mp.mp_state).toBe(KVM_MP_STATE_STOPPED);
    expect(errnoOf(() => v.ioctl(KVM_SET_MP_STATE, { mp_state: 3 }))).toBe('EINVAL');
    v.getMpState(mp);
    expect(mp.mp_state).toBe(KVM_MP_STATE_STOPPED);

    const plain = setup().vm.createVcpu(0);
    expect(errnoOf(() => plain.getMpState({ mp_state: 0 }))).toBe('EINVAL');
    expect(errnoOf(() => plain.setMpState({ mp_state: 0 }))).toBe('EINVAL');
  });
});

describe('non-coherent DMA accounting', () => {
  it('the arch hears only when the aggregate state flips', () => {
    const arch = new FakeArch();
    const flips: boolean[] = [];
    Object.assign(arch, { noncoherentDmaChanged: (_vm: unknown, nc: boolean) => flips.push(nc) });
    const vm = new Kvm({ arch, files: new FdTable() }).createVm();
    vm.registerNoncoherentDma();
    vm.registerNoncoherentDma();
    vm.unregisterNoncoherentDma();
    expect(flips).toEqual([true]);
    expect(vm.noncoherentDma).toBe(true);
    vm.unregisterNoncoherentDma();
    vm.unregisterNoncoherentDma(); // unbalanced: ignored
    expect(flips).toEqual([true, false]);
    expect(vm.noncoherentDmaCount).toBe(0);
  });
});
