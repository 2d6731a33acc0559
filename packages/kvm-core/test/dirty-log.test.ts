import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_CLEAR_DIRTY_LOG,
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  KVM_ENABLE_CAP,
  KVM_GET_DIRTY_LOG,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_USER_MEM_SLOTS,
  type KvmVm,
} from '../src/index.ts';
import { MiB, region, setup } from './helpers.ts';

/** A 200-page logging slot 0 at gpa 1 MiB. */
function logging(manual = 0) {
  const t = setup();
  if (manual) t.vm.enableCap({ cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, flags: 0, args: [BigInt(manual)] });
  t.vm.setUserMemoryRegion(region(0, MiB, 200n * 4096n, 0x2000_0000n, KVM_MEM_LOG_DIRTY_PAGES));
  return t;
}

function bits(bm: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < bm.length * 8; i++) if (bm[i >> 3]! & (1 << (i & 7))) out.push(i);
  return out;
}

function get(vm: KvmVm, slot = 0): Uint8Array {
  const log: { slot: number; dirty_bitmap?: Uint8Array } = { slot };
  vm.ioctl(KVM_GET_DIRTY_LOG, log);
  return log.dirty_bitmap!;
}

describe('KVM_GET_DIRTY_LOG', () => {
  it('reports exactly the pages marked dirty, in u64-rounded bytes, then clears and re-protects', () => {
    const { vm, arch } = logging();
    const base = 0x100; // gfn of 1 MiB
    for (const p of [0, 1, 63, 64, 130, 199]) vm.markPageDirty(base + p);
    vm.markPageDirty(0x50); // outside every slot: ignored
    const bm = get(vm);
    expect(bm.length).toBe(32); // ceil(200/64) * 8
    expect(bits(bm)).toEqual([0, 1, 63, 64, 130, 199]);
    expect(arch.wp).toEqual([
      { slot: 0, offset: 0, mask: (1n << 0n) | (1n << 1n) | (1n << 63n) },
      { slot: 0, offset: 64, mask: 1n },
      { slot: 0, offset: 128, mask: 1n << 2n },
      { slot: 0, offset: 192, mask: 1n << 7n },
    ]);
    expect(bits(get(vm))).toEqual([]);
    expect(arch.wp.length).toBe(4);
  });

  it('logs the guest writes of a run: only first writes to protected pages are dirty', () => {
    const { vm } = logging();
    const vcpu = vm.createVcpu(0);
    const st = vcpu.arch as { program: unknown[] };
    st.program.push(
      { op: 'write-page', gfn: 0x105 },
      { op: 'write-page', gfn: 0x105 },
      { op: 'write-page', gfn: 0x1c7 },
    );
    vcpu.kvmRun();
    expect(bits(get(vm))).toEqual([5, 0xc7]);
  });

  it('ENOENT for a slot that does not exist or does not log; EINVAL past KVM_USER_MEM_SLOTS', () => {
    const { vm } = logging();
    vm.setUserMemoryRegion(region(1, 8n * MiB, MiB));
    expect(errnoOf(() => get(vm, 7))).toBe('ENOENT');
    expect(errnoOf(() => get(vm, 1))).toBe('ENOENT');
    expect(errnoOf(() => get(vm, KVM_USER_MEM_SLOTS))).toBe('EINVAL');
    expect(errnoOf(() => get(vm, 1 << 16))).toBe('EINVAL');
  });

  it('EFAULT for a user buffer that is too small, and nothing is cleared', () => {
    const { vm, arch } = logging();
    vm.markPageDirty(0x100);
    expect(errnoOf(() => vm.getDirtyLog({ slot: 0, dirty_bitmap: new Uint8Array(8) }))).toBe('EFAULT');
    expect(arch.wp).toEqual([]);
    expect(bits(get(vm))).toEqual([0]);
  });

  it('with manual protect, GET leaves bits set and protects nothing', () => {
    const { vm, arch } = logging(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
    vm.markPageDirty(0x101);
    expect(bits(get(vm))).toEqual([1]);
    expect(bits(get(vm))).toEqual([1]);
    expect(arch.wp).toEqual([]);
  });

  it('INITIALLY_SET starts every page dirty and skips the write-protect on enabling', () => {
    const { vm, arch } = setup();
    vm.enableCap({
      cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
      flags: 0,
      args: [BigInt(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET)],
    });
    vm.setUserMemoryRegion(region(0, 0n, 70n * 4096n, 0x2000_0000n));
    vm.setUserMemoryRegion(region(0, 0n, 70n * 4096n, 0x2000_0000n, KVM_MEM_LOG_DIRTY_PAGES));
    expect(arch.wp).toEqual([]);
    const b = get(vm);
    expect(bits(b)).toEqual(Array.from({ length: 70 }, (_, i) => i));
  });
});

describe('KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)', () => {
  it('rejects INITIALLY_SET without ENABLE, unknown bits and flags', () => {
    const { vm } = setup();
    const en =
      (args0: number, flags = 0) =>
      () =>
        vm.ioctl(KVM_ENABLE_CAP, { cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, flags, args: [BigInt(args0)] });
    expect(errnoOf(en(KVM_DIRTY_LOG_INITIALLY_SET))).toBe('EINVAL');
    expect(errnoOf(en(4 | 1))).toBe('EINVAL');
    expect(errnoOf(en(1, 1))).toBe('EINVAL');
    expect(vm.manualDirtyLogProtect).toBe(0);
    expect(errnoOf(en(3))).toBeUndefined();
    expect(vm.manualDirtyLogProtect).toBe(3);
    expect(errnoOf(en(0))).toBeUndefined();
    expect(vm.manualDirtyLogProtect).toBe(0);
  });

  it('other caps go to the arch, which has none here (EINVAL)', () => {
    const { vm } = setup();
    expect(errnoOf(() => vm.enableCap({ cap: 9999, flags: 0, args: [] }))).toBe('EINVAL');
  });
});

describe('KVM_CLEAR_DIRTY_LOG', () => {
  function clr(vm: KvmVm, first: bigint, num: number, set: number[], slot = 0, len?: number) {
    const b = new Uint8Array(len ?? Math.ceil(num / 64) * 8);
    for (const i of set) b[i >> 3]! |= 1 << (i & 7);
    vm.ioctl(KVM_CLEAR_DIRTY_LOG, { slot, first_page: first, num_pages: num, dirty_bitmap: b });
  }

  it('clears exactly the given bits that were set, and write-protects just those', () => {
    const { vm, arch } = logging(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
    for (const p of [2, 3, 70, 150]) vm.markPageDirty(0x100 + p);
    clr(vm, 64n, 136, [6, 7, 86 /* page 150 */, 100 /* page 164: was clean */]);
    expect(arch.wp).toEqual([
      { slot: 0, offset: 64, mask: 1n << 6n },
      { slot: 0, offset: 128, mask: 1n << 22n },
    ]);
    expect(bits(get(vm))).toEqual([2, 3]);
    clr(vm, 0n, 64, [2, 3]);
    expect(bits(get(vm))).toEqual([]);
    expect(arch.wp.at(-1)).toEqual({ slot: 0, offset: 0, mask: 12n });
  });

  it('first_page must be 64-aligned; num_pages 64-aligned unless it reaches the end', () => {
    const { vm } = logging(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
    vm.markPageDirty(0x100);
    expect(errnoOf(() => clr(vm, 1n, 64, [0]))).toBe('EINVAL');
    expect(errnoOf(() => clr(vm, 0n, 65, [0]))).toBe('EINVAL');
    expect(errnoOf(() => clr(vm, 128n, 73, [0]))).toBe('EINVAL'); // past the end (200)
    expect(errnoOf(() => clr(vm, 256n, 0, []))).toBe('EINVAL'); // first_page past npages
    expect(errnoOf(() => clr(vm, 128n, 72, []))).toBeUndefined(); // reaches the end exactly
    expect(errnoOf(() => clr(vm, 192n, 8, []))).toBeUndefined();
    expect(bits(get(vm))).toEqual([0]);
  });

  it('ENOENT for an unknown or non-logging slot; EINVAL for a bad slot id; EFAULT for a short buffer', () => {
    const { vm } = logging(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
    vm.setUserMemoryRegion(region(1, 8n * MiB, MiB));
    expect(errnoOf(() => clr(vm, 0n, 64, [], 9))).toBe('ENOENT');
    expect(errnoOf(() => clr(vm, 0n, 64, [], 1))).toBe('ENOENT');
    expect(errnoOf(() => clr(vm, 0n, 64, [], KVM_USER_MEM_SLOTS))).toBe('EINVAL');
    vm.markPageDirty(0x100);
    expect(errnoOf(() => clr(vm, 0n, 128, [0], 0, 8))).toBe('EFAULT');
    expect(bits(get(vm))).toEqual([0]);
  });
});
