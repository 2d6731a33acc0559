import {
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  type MmapFile,
  PROT_READ,
  PROT_WRITE,
  VM_IO,
  VM_PFNMAP,
} from '@tsvirt/host-mm';
import { KVM_EXIT_MMIO, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY } from '@tsvirt/kvm-core';
import { PTE_W } from '@tsvirt/kvm-riscv-mmu';
import { jal, ld, li, lui, sd } from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { riscvVm } from '../src/index.ts';
import { MMIO, makeVm, mmuOf, RAM_GPA, runToExit, type TestVm, x } from './support.ts';

const T1 = 6;
const T2 = 7;
const A0 = 10;
const A1 = 11;
const L = (rd: number, v: number) => li(rd, BigInt(v));
const store = (gpa: number) => [...L(T1, gpa), sd(A0, T1, 0)];
const load = (rd: number, gpa: number) => [...L(T1, gpa), ld(rd, T1, 0)];
const marker = () => [lui(T2, MMIO >>> 12), sd(0, T2, 0)];

function addSlot(
  t: TestVm,
  slot: number,
  gpa: number,
  size: number,
  flags = 0,
  mmapFlags = MAP_PRIVATE | MAP_ANONYMOUS,
) {
  const hva = t.mm.mmap({ length: size, prot: PROT_READ | PROT_WRITE, flags: mmapFlags });
  t.vm.setUserMemoryRegion({
    slot,
    flags,
    guest_phys_addr: BigInt(gpa),
    memory_size: BigInt(size),
    userspace_addr: BigInt(hva),
  });
  return hva;
}

const DATA = 0x9000_0000;

describe('guest RAM through the G-stage', () => {
  it('dirty logging reports exactly the pages written, write-protects them, and logs the next writes', () => {
    const t = makeVm();
    addSlot(t, 1, DATA, 1 << 20, KVM_MEM_LOG_DIRTY_PAGES);
    t.load(RAM_GPA, [
      ...store(DATA + 0x1000),
      ...store(DATA + 0x5000),
      ...store(DATA + 0x5008),
      ...store(DATA + 0x40000),
      ...marker(),
      ...store(DATA + 0x5000),
      ...load(A1, DATA + 0x3000),
      ...store(DATA + 0x2000),
      ...marker(),
      jal(0, 0),
    ]);
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    const log = { slot: 1, dirty_bitmap: undefined as Uint8Array | undefined };
    t.vm.getDirtyLog(log);
    const expected1 = new Uint8Array(32);
    expected1[0] = 0b0010_0010;
    expected1[8] = 1;
    expect(log.dirty_bitmap).toEqual(expected1);
    const g = mmuOf(t.vm).gstage;
    expect(g.getLeaf(DATA + 0x1000)!.flags & PTE_W).toBe(0);

    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    t.vm.getDirtyLog(log);
    const expected2 = new Uint8Array(32);
    expected2[0] = 0b0010_0100;
    expect(log.dirty_bitmap).toEqual(expected2);
    // A read fault in a logging slot maps read-only, so the first write is seen.
    expect(g.getLeaf(DATA + 0x3000)!.flags & PTE_W).toBe(0);
    expect(mmuOf(t.vm).stats.mapped2m).toBe(0);
  });

  it('a read-only slot reads from memory and turns writes into MMIO exits', () => {
    const t = makeVm();
    const hva = addSlot(t, 1, DATA, 0x10000, KVM_MEM_READONLY);
    t.mm.copyToUser(hva + 0x100, Uint8Array.of(0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88));
    t.load(RAM_GPA, [...load(A1, DATA + 0x100), ...store(DATA + 0x200), jal(0, 0)]);
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(x(v, A1)).toBe(BigInt.asIntN(64, 0x8877_6655_4433_2211n));
    expect(v.run.mmio).toMatchObject({ phys_addr: BigInt(DATA + 0x200), is_write: 1, len: 8 });
    expect(mmuOf(t.vm).gstage.getLeaf(DATA)!.flags & PTE_W).toBe(0);
  });

  it('a VM_PFNMAP slot is mapped from the driver fault handler, not from vm_pgoff', () => {
    const t = makeVm();
    const bar = t.phys.allocContiguous(4, 4);
    t.phys.frame(bar + 1).set([0xef, 0xbe, 0xad, 0xde], 0);
    const pgoff = 0x100; // the region's offset in the device fd: not a pfn
    const file: MmapFile = {
      mmap(vma) {
        vma.flags |= VM_PFNMAP | VM_IO;
        vma.ops = { fault: (_vma, off) => bar + (off - pgoff) };
      },
    };
    const hva = t.mm.mmap({
      length: 0x4000,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_SHARED,
      file,
      offset: pgoff * 4096,
    });
    const region = {
      slot: 1,
      flags: 0,
      guest_phys_addr: BigInt(DATA),
      memory_size: 0x4000n,
      userspace_addr: BigInt(hva),
    };
    // Dirty logging is refused on PFNMAP memory, and no slot appears.
    expect(() => t.vm.setUserMemoryRegion({ ...region, flags: KVM_MEM_LOG_DIRTY_PAGES })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(t.vm.memslots.get(1)).toBeUndefined();
    t.vm.setUserMemoryRegion(region);
    t.load(RAM_GPA, [...load(A1, DATA + 0x1000), ...marker(), jal(0, 0)]);
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(x(v, A1) & 0xffff_ffffn).toBe(0xdead_beefn);
    expect(mmuOf(t.vm).gstage.getLeaf(DATA + 0x1000)!.hpfn).toBe(bar + 1);
  });

  it('munmap of the backing zaps the G-stage range; the next access fails KVM_RUN with EFAULT', () => {
    const t = makeVm();
    const hva = addSlot(t, 1, DATA, 0x10000);
    t.load(RAM_GPA, [...store(DATA + 0x2000), ...marker(), ...store(DATA + 0x2000), jal(0, 0)]);
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    const g = mmuOf(t.vm).gstage;
    expect(g.getLeaf(DATA + 0x2000)).toBeDefined();
    const flushes = t.vm.remoteTlbFlushes;
    t.mm.munmap(hva, 0x10000);
    expect(g.getLeaf(DATA + 0x2000)).toBeUndefined();
    expect(t.vm.remoteTlbFlushes).toBeGreaterThan(flushes);
    expect(() => runToExit(v)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
  });

  it('hugetlb backing with a congruent slot maps 2 MiB blocks; an incongruent slot maps 4 KiB pages', () => {
    const t = makeVm();
    const huge = t.mm.mmap({
      length: 4 << 20,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
    });
    t.vm.setUserMemoryRegion({
      slot: 1,
      flags: 0,
      guest_phys_addr: 0xa000_0000n,
      memory_size: 2n << 20n,
      userspace_addr: BigInt(huge),
    });
    t.vm.setUserMemoryRegion({
      slot: 2,
      flags: 0,
      guest_phys_addr: 0xb000_1000n,
      memory_size: 1n << 20n,
      userspace_addr: BigInt(huge + (2 << 20)),
    });
    t.load(RAM_GPA, [...store(0xa010_0000), ...store(0xb000_1000), ...marker(), jal(0, 0)]);
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    const g = mmuOf(t.vm).gstage;
    expect(g.getLeaf(0xa000_0000)!.level).toBe(1);
    expect(g.getLeaf(0xb000_1000)!.level).toBe(0);
    expect(mmuOf(t.vm).stats.mapped2m).toBe(1);
  });

  it('a slot past the G-stage guest space is EFAULT and leaves no slot', () => {
    const t = makeVm(4 << 20);
    const hva = t.mm.mmap({
      length: 0x1000,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS,
    });
    expect(() =>
      t.vm.setUserMemoryRegion({
        slot: 5,
        flags: 0,
        guest_phys_addr: 2n ** 50n - 0x1000n,
        memory_size: 0x1000n,
        userspace_addr: BigInt(hva),
      }),
    ).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(t.vm.memslots.get(5)).toBeUndefined();
  });

  it('destroying the VM frees the whole G-stage table', () => {
    const t = makeVm();
    t.load(RAM_GPA, [...store(RAM_GPA + 0x20_0000), ...marker()]);
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    const mmu = riscvVm(t.vm).mmu;
    expect(mmu.gstage.tablePages).toBeGreaterThan(0);
    const root = mmu.gstage.pgdPfn;
    t.files.closeAll();
    expect(mmu.gstage.tablePages).toBe(0);
    expect(t.phys.refCount(root)).toBe(0);
    expect(mmu.cache.count).toBe(0);
  });
});
