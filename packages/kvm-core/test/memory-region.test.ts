import { isKernelError } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import {
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_MAX_NR_PAGES,
  KVM_MEM_READONLY,
  KVM_MR_CREATE,
  KVM_MR_DELETE,
  KVM_MR_FLAGS_ONLY,
  KVM_MR_MOVE,
  KVM_SET_USER_MEMORY_REGION,
  KVM_USER_MEM_SLOTS,
  type KvmUserspaceMemoryRegion,
  type KvmVm,
  TASK_SIZE,
} from '../src/index.ts';
import { MiB, region, setup, slotState } from './helpers.ts';

function expectErr(vm: KvmVm, mem: KvmUserspaceMemoryRegion, code: string) {
  const before = slotState(vm);
  let err: unknown;
  try {
    vm.ioctl(KVM_SET_USER_MEMORY_REGION, mem);
  } catch (e) {
    err = e;
  }
  expect(isKernelError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  expect(slotState(vm)).toEqual(before);
}

describe('KVM_SET_USER_MEMORY_REGION create', () => {
  it('creates a slot and translates gfn -> hva', () => {
    const { vm, arch } = setup();
    vm.setUserMemoryRegion(region(0, 0x8000_0000n, 2n * MiB, 0x4000_0000n));
    const s = vm.gfnToMemslot(0x80001)!;
    expect([s.id, s.baseGfn, s.npages]).toEqual([0, 0x80000, 512]);
    expect(vm.gfnToHva(0x80001)).toBe(0x4000_1000);
    expect(vm.gfnToHva(0x80000 + 512)).toBeUndefined();
    expect(vm.gfnToHva(0x7ffff)).toBeUndefined();
    expect(vm.nrMemslotPages).toBe(512);
    expect(arch.log.filter((l) => l.startsWith('prepare') || l.startsWith('commit'))).toEqual([
      `prepare:${KVM_MR_CREATE}:-:0`,
      `commit:${KVM_MR_CREATE}:-:0`,
    ]);
  });

  it('finds the right slot among many (binary search)', () => {
    const { vm } = setup();
    for (let i = 0; i < 100; i++) vm.setUserMemoryRegion(region(i, BigInt(i) * 4n * MiB, MiB));
    for (let i = 0; i < 100; i++) {
      expect(vm.gfnToMemslot(i * 1024 + 255)?.id).toBe(i);
      expect(vm.gfnToMemslot(i * 1024 + 256)).toBeUndefined();
    }
  });

  it('rejects unknown flags, READONLY when the arch lacks it', () => {
    const { vm, arch } = setup();
    expectErr(vm, region(0, 0n, MiB, undefined, 1 << 2), 'EINVAL');
    (arch as { readonlyMem?: boolean }).readonlyMem = false;
    expectErr(vm, region(0, 0n, MiB, undefined, KVM_MEM_READONLY), 'EINVAL');
  });

  it('rejects slot ids at KVM_USER_MEM_SLOTS and address spaces past the first', () => {
    const { vm } = setup();
    expectErr(vm, region(KVM_USER_MEM_SLOTS, 0n, MiB), 'EINVAL');
    expectErr(vm, region((1 << 16) | 0, 0n, MiB), 'EINVAL');
    vm.setUserMemoryRegion(region(KVM_USER_MEM_SLOTS - 1, 0n, MiB));
  });

  it('rejects misaligned size, gpa and hva', () => {
    const { vm } = setup();
    expectErr(vm, region(0, 0n, MiB + 1n), 'EINVAL');
    expectErr(vm, region(0, 0x800n, MiB), 'EINVAL');
    expectErr(vm, region(0, 0n, MiB, 0x1000_0010n), 'EINVAL');
  });

  it('rejects gpa overflow, hva outside user memory, and too many pages', () => {
    const { vm } = setup();
    expectErr(vm, region(0, (1n << 64n) - 0x1000n, 0x2000n, 0x1000n), 'EINVAL');
    expectErr(vm, region(0, 0n, 0x2000n, BigInt(TASK_SIZE) - 0x1000n), 'EINVAL');
    expectErr(vm, region(0, 0n, BigInt(KVM_MEM_MAX_NR_PAGES + 1) << 12n, 0n), 'EINVAL');
    expectErr(vm, region(0, -0x1000n, 0x1000n), 'EINVAL');
  });

  it('rejects overlap with another slot (EEXIST), but allows adjacency', () => {
    const { vm } = setup();
    vm.setUserMemoryRegion(region(0, 0x10_0000n, MiB));
    expectErr(vm, region(1, 0x1f_f000n, MiB), 'EEXIST');
    expectErr(vm, region(1, 0x0_8000n, MiB), 'EEXIST');
    expectErr(vm, region(1, 0n, 4n * MiB), 'EEXIST');
    vm.setUserMemoryRegion(region(1, 0x20_0000n, MiB));
    vm.setUserMemoryRegion(region(2, 0x0n, MiB));
    expect(vm.memslots.size).toBe(3);
  });

  it('a failing arch prepare leaves the slot set unchanged and frees the new bitmap', () => {
    const { vm, arch } = setup();
    arch.failPrepare = 'no';
    expectErr(vm, region(0, 0n, MiB, undefined, KVM_MEM_LOG_DIRTY_PAGES), 'ENOMEM');
    expect(arch.log.some((l) => l.startsWith('commit'))).toBe(false);
  });
});

describe('KVM_SET_USER_MEMORY_REGION on an existing slot', () => {
  it('deletes (size 0): flush, prepare, commit with DELETE', () => {
    const { vm, arch } = setup();
    vm.setUserMemoryRegion(region(3, 0n, MiB));
    arch.log.length = 0;
    vm.setUserMemoryRegion(region(3, 0n, 0n));
    expect(vm.memslots.size).toBe(0);
    expect(vm.gfnToHva(0)).toBeUndefined();
    expect(vm.nrMemslotPages).toBe(0);
    expect(arch.log).toEqual(['flush:3', `prepare:${KVM_MR_DELETE}:3:-`, `commit:${KVM_MR_DELETE}:3:-`]);
  });

  it('deleting a slot that does not exist is EINVAL', () => {
    const { vm } = setup();
    expectErr(vm, region(5, 0n, 0n), 'EINVAL');
  });

  it('a refused delete restores the slot (not invalid any more)', () => {
    const { vm, arch } = setup();
    vm.setUserMemoryRegion(region(0, 0n, MiB));
    arch.failPrepare = 'no';
    expectErr(vm, region(0, 0n, 0n), 'ENOMEM');
    expect(vm.gfnToHva(1)).toBe(0x1000_1000);
  });

  it('moves (gpa change): MOVE, flushed, overlap-checked, bitmap carried', () => {
    const { vm, arch } = setup();
    vm.setUserMemoryRegion(region(0, 0n, MiB, 0x1000_0000n, KVM_MEM_LOG_DIRTY_PAGES));
    vm.setUserMemoryRegion(region(1, 4n * MiB, MiB));
    vm.markPageDirty(3);
    arch.log.length = 0;
    expectErr(vm, region(0, 4n * MiB + 0x1000n, MiB, 0x1000_0000n, KVM_MEM_LOG_DIRTY_PAGES), 'EEXIST');
    vm.setUserMemoryRegion(region(0, 8n * MiB, MiB, 0x1000_0000n, KVM_MEM_LOG_DIRTY_PAGES));
    expect(arch.log).toEqual(['flush:0', `prepare:${KVM_MR_MOVE}:0:0`, `commit:${KVM_MR_MOVE}:0:0`]);
    expect(vm.gfnToHva(0x800)).toBe(0x1000_0000);
    expect(vm.gfnToHva(0)).toBeUndefined();
    expect(vm.memslots.get(0)!.isDirty(0x800 + 3)).toBe(true);
  });

  it('refuses changing size, hva or READONLY of an existing slot', () => {
    const { vm } = setup();
    vm.setUserMemoryRegion(region(0, 0n, MiB, 0x1000_0000n));
    expectErr(vm, region(0, 0n, 2n * MiB, 0x1000_0000n), 'EINVAL');
    expectErr(vm, region(0, 0n, MiB, 0x2000_0000n), 'EINVAL');
    expectErr(vm, region(0, 0n, MiB, 0x1000_0000n, KVM_MEM_READONLY), 'EINVAL');
  });

  it('flags-only: LOG_DIRTY_PAGES on allocates a bitmap and write-protects the slot; off frees it', () => {
    const { vm, arch } = setup();
    vm.setUserMemoryRegion(region(0, 0n, 0x82000n, 0x1000_0000n)); // 130 pages
    arch.log.length = 0;
    vm.setUserMemoryRegion(region(0, 0n, 0x82000n, 0x1000_0000n, KVM_MEM_LOG_DIRTY_PAGES));
    expect(arch.log).toEqual([`prepare:${KVM_MR_FLAGS_ONLY}:0:0`, `commit:${KVM_MR_FLAGS_ONLY}:0:0`]);
    expect(vm.memslots.get(0)!.dirtyBitmap).toBeDefined();
    expect(arch.wp).toEqual([
      { slot: 0, offset: 0, mask: (1n << 64n) - 1n },
      { slot: 0, offset: 64, mask: (1n << 64n) - 1n },
      { slot: 0, offset: 128, mask: 3n },
    ]);
    vm.setUserMemoryRegion(region(0, 0n, 0x82000n, 0x1000_0000n));
    expect(vm.memslots.get(0)!.dirtyBitmap).toBeUndefined();
    expect(arch.wp.length).toBe(3);
  });

  it('the same region again is a no-op (no hooks)', () => {
    const { vm, arch } = setup();
    vm.setUserMemoryRegion(region(0, 0n, MiB));
    arch.log.length = 0;
    const gen = vm.memslots.generation;
    vm.setUserMemoryRegion(region(0, 0n, MiB));
    expect(arch.log).toEqual([]);
    expect(vm.memslots.generation).toBe(gen);
  });

  it('a READONLY slot keeps READONLY and can be created', () => {
    const { vm } = setup();
    vm.setUserMemoryRegion(region(0, 0n, MiB, undefined, KVM_MEM_READONLY));
    expect(vm.memslots.get(0)!.flags).toBe(KVM_MEM_READONLY);
  });
});
