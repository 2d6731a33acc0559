import { FdTable, isKernelError } from '@tsvirt/core-bus';
import { HostPhysMemory, MAP_ANONYMOUS, MAP_PRIVATE, MmStruct, PROT_READ, PROT_WRITE } from '@tsvirt/host-mm';
import { describe, expect, it } from 'vitest';
import { Kvm } from '../src/index.ts';
import { FakeArch } from './fake-arch.ts';
import { MiB, region } from './helpers.ts';

function withMm() {
  const mm = new MmStruct(new HostPhysMemory({ totalFrames: 4096 }), { taskSize: 2 ** 39 });
  const arch = new FakeArch();
  const kvm = new Kvm({ arch, files: new FdTable(), mm });
  const vm = kvm.createVm();
  const hva = mm.mmap({
    length: 4 * 1024 * 1024,
    prot: PROT_READ | PROT_WRITE,
    flags: MAP_PRIVATE | MAP_ANONYMOUS,
  });
  return { mm, arch, kvm, vm, hva };
}

describe('the MMU notifier on the owner mm', () => {
  it('munmap of part of a slot unmaps exactly the matching gfns and bumps mmu_invalidate_seq', () => {
    const { mm, arch, vm, hva } = withMm();
    vm.setUserMemoryRegion(region(0, 0x8000_0000n, 2n * MiB, BigInt(hva)));
    vm.setUserMemoryRegion(region(1, 0x9000_0000n, 2n * MiB, BigInt(hva) + 2n * MiB));
    arch.log.length = 0;
    const seq = vm.mmuInvalidateSeq;
    mm.munmap(hva + 0x1f_f000, 0x2000); // last page of slot 0, first of slot 1
    expect(arch.log).toEqual(['unmap:0:801ff-80200', 'unmap:1:90000-90001']);
    expect(vm.mmuInvalidateSeq).toBeGreaterThan(seq);
  });

  it('exit_mmap releases: the whole stage-2 is flushed; VM destroy unregisters the notifier', () => {
    const { mm, arch, kvm, vm, hva } = withMm();
    vm.setUserMemoryRegion(region(0, 0n, MiB, BigInt(hva)));
    kvm.files.closeAll();
    expect(vm.dead).toBe(true);
    arch.log.length = 0;
    mm.exitMmap();
    expect(arch.log).toEqual([]);
  });

  it("memslot hvas are checked against the mm's TASK_SIZE", () => {
    const { vm } = withMm();
    let code: string | undefined;
    try {
      vm.setUserMemoryRegion(region(0, 0n, 0x2000n, BigInt(2 ** 39) - 0x1000n));
    } catch (e) {
      if (isKernelError(e)) code = e.code;
    }
    expect(code).toBe('EINVAL');
    expect(vm.memslots.size).toBe(0);
  });

  it('exit_mmap while the VM lives flushes everything', () => {
    const { mm, arch, vm, hva } = withMm();
    vm.setUserMemoryRegion(region(0, 0n, MiB, BigInt(hva)));
    arch.log.length = 0;
    mm.exitMmap();
    expect(arch.log).toContain('flushAll');
  });
});

describe('kvm_read_guest / kvm_write_guest', () => {
  it('cross pages and slots through the mm, and mark written pages dirty', () => {
    const { vm, hva } = withMm();
    vm.setUserMemoryRegion(region(0, 0x8000_0000n, 0x2000n, BigInt(hva), 1 /* LOG_DIRTY_PAGES */));
    vm.setUserMemoryRegion(region(1, 0x8000_2000n, 0x2000n, BigInt(hva) + 0x10_0000n));
    const src = Uint8Array.from({ length: 0x1800 }, (_, i) => i & 0xff);
    vm.writeGuest(0x8000_1000, src);
    const back = new Uint8Array(0x1800);
    vm.readGuest(0x8000_1000, back);
    expect(back).toEqual(src);
    const s0 = vm.memslots.get(0)!;
    expect([s0.isDirty(0x80000), s0.isDirty(0x80001)]).toEqual([false, true]);
  });

  it('EFAULT outside slots and for writes to read-only slots; nothing is written', () => {
    const { vm, hva } = withMm();
    vm.setUserMemoryRegion(region(0, 0n, 0x1000n, BigInt(hva)));
    vm.setUserMemoryRegion(region(1, 0x1000n, 0x1000n, BigInt(hva) + 0x1000n, 2 /* READONLY */));
    const errs: (string | undefined)[] = [];
    for (const f of [
      () => vm.readGuest(0x1800, new Uint8Array(0x1000)),
      () => vm.writeGuest(0x800, new Uint8Array(0x1000).fill(9)),
    ]) {
      try {
        f();
        errs.push(undefined);
      } catch (e) {
        errs.push(isKernelError(e) ? e.code : 'other');
      }
    }
    expect(errs).toEqual(['EFAULT', 'EFAULT']);
    const b = new Uint8Array(0x1000);
    vm.readGuest(0, b);
    expect(b.every((x) => x === 0)).toBe(true);
  });
});
