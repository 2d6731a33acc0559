import { FdTable, KernelError } from '@tsvirt/core-bus';
import {
  HostPhysMemory,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  MmStruct,
  PROT_READ,
  PROT_WRITE,
  VM_IO,
  VM_PFNMAP,
  VM_WRITE,
  type VmArea,
} from '@tsvirt/host-mm';
import {
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  Kvm,
  type KvmArchOps,
  type KvmVm,
} from '@tsvirt/kvm-core';
import {
  GSTAGE_LEVEL_SIZE,
  GStage,
  HGATP_MODE_SV39X4,
  HGATP_MODE_SV48X4,
  KvmMmuMemoryCache,
  KvmRiscvMmu,
  PTE_RWX,
  PTE_V,
  PTE_W,
  VmidAllocator,
} from '@tsvirt/kvm-riscv-mmu';
import type { FuzzOp, FuzzTarget, FuzzTargetFactory } from '../harness.ts';
import { fuzzU64, type Rng } from '../rng.ts';

const PAGE = 4096;
const HPAGE = 2 << 20;
const AREA = 8 << 20;
/** Guest RAM starts here; slots land on 2 MiB boundaries mostly, so huge leaves are possible. */
const GPA_BASE = 0x8000_0000;
const GPA_SPAN = 64 << 20;
/** Frames of the fake device behind the VM_PFNMAP mapping. */
const DEV_FRAMES = 16;

/** A G-stage leaf found by walking the table's frames directly. */
interface Leaf {
  gpa: number;
  size: number;
  hpfn: number;
  flags: number;
}

/**
 * Walk every valid entry of a G-stage table through its frames (Sv39x4 or
 * Sv48x4, 16 KiB root), independently of GStage's own walker: the leaves,
 * and how many table pages sit below the root.
 */
function walk(phys: HostPhysMemory, g: GStage): { leaves: Leaf[]; tables: number; bad: string[] } {
  const leaves: Leaf[] = [];
  const bad: string[] = [];
  let tables = 0;
  const visit = (pfn: number, entries: number, level: number, base: number) => {
    let words: Uint32Array | undefined;
    for (let i = 0; i < entries; i++) {
      if ((i & 511) === 0) {
        const f = phys.frame(pfn + (i >>> 9));
        words = new Uint32Array(f.buffer, f.byteOffset, 1024);
      }
      const lo = words![(i & 511) * 2]!;
      if ((lo & PTE_V) === 0) continue;
      const hi = words![(i & 511) * 2 + 1]!;
      const ppn = (lo >>> 10) + (hi & 0x3fffff) * 2 ** 22;
      const gpa = base + i * GSTAGE_LEVEL_SIZE[level]!;
      if ((lo & PTE_RWX) !== 0) {
        const size = GSTAGE_LEVEL_SIZE[level]!;
        if (ppn % (size / PAGE) !== 0) bad.push(`leaf at 0x${gpa.toString(16)} maps misaligned pfn ${ppn}`);
        leaves.push({ gpa, size, hpfn: ppn, flags: lo & 0x3ff });
      } else if (level === 0) bad.push(`non-leaf PTE at level 0, gpa 0x${gpa.toString(16)}`);
      else {
        tables++;
        visit(ppn, 512, level - 1, gpa);
      }
    }
  };
  visit(g.pgdPfn, 2048, g.levels - 1, 0);
  return { leaves, tables, bad };
}

function leafLine(l: Leaf): string {
  return `${l.gpa.toString(16)}+${l.size.toString(16)}>${l.hpfn}:${l.flags}`;
}

/**
 * The RISC-V G-stage MMU in a VM, wired as kvm-riscv wires it, over host
 * memory of every kind (plain, read-only, hugetlb, THP, a device's
 * VM_PFNMAP mapping): memslots created, moved, re-flagged (READONLY,
 * LOG_DIRTY_PAGES) and deleted; guest faults at random gpas; dirty logs got
 * and cleared (write protection); the backing memory unmapped, re-protected
 * or replaced under the slots (MMU notifier). Beside it, a bare GStage gets
 * map/unmap/wp/zap at random levels. After every call every G-stage leaf
 * must lie in a memslot and map what its hva translates to now, with no
 * write access the slot, VMA or dirty log forbids, and every table page
 * must be accounted.
 */
class KvmRiscvMmuTarget implements FuzzTarget {
  /** Host memory of the VMM process (guest RAM, the device). */
  readonly phys = new HostPhysMemory({ totalFrames: 1 << 15 });
  /** Host frames the G-stage tables come from, apart, so every one is accounted. */
  readonly tablePhys = new HostPhysMemory({ totalFrames: 1 << 12 });
  readonly barePhys = new HostPhysMemory({ totalFrames: 1 << 12 });
  readonly mm = new MmStruct(this.phys);
  readonly files = new FdTable();
  readonly vmids = new VmidAllocator();
  readonly vm: KvmVm;
  readonly mmu: KvmRiscvMmu;
  readonly areas: { addr: number; len: number; kind: string }[] = [];
  readonly devFrames: number;
  readonly bare: GStage;
  readonly bareCache: KvmMmuMemoryCache;
  flushes = 0;
  vmClosed = false;
  /** The VM's G-stage leaves at the last snapshot (taken before every call). */
  private leavesBefore: Leaf[] = [];
  readonly ops: FuzzOp[];

  constructor(rng: Rng) {
    const tablePhys = this.tablePhys;
    const mode = rng.chance(0.7) ? HGATP_MODE_SV48X4 : HGATP_MODE_SV39X4;
    const mmuOf = (vm: KvmVm) => vm.arch as KvmRiscvMmu;
    const arch: KvmArchOps = {
      name: 'riscv-mmu-fuzz',
      vmInit: (vm) => {
        vm.arch = new KvmRiscvMmu(vm, { phys: tablePhys, mode, vmid: this.vmids.alloc() });
      },
      vmDestroy: (vm) => mmuOf(vm).destroy(),
      prepareMemoryRegion: (vm, _o, n, c) => mmuOf(vm).prepareMemoryRegion(n, c),
      commitMemoryRegion: () => {},
      flushShadowMemslot: (vm, s) => mmuOf(vm).flushShadowMemslot(s),
      unmapGfnRange: (vm, _s, a, b) => mmuOf(vm).unmapGfnRange(a, b),
      flushShadowAll: (vm) => mmuOf(vm).flushShadowAll(),
      enableLogDirtyPtMasked: (vm, s, o, m) => mmuOf(vm).enableLogDirtyPtMasked(s, o, m),
      writeProtectMemslot: (vm, s) => mmuOf(vm).writeProtectMemslot(s),
      flushRemoteTlbs: () => {
        this.flushes++;
      },
      vcpuCreate: () => {},
      vcpuDestroy: () => {},
      vcpuRun: () => {},
    };
    const kvm = new Kvm({ arch, mm: this.mm, files: this.files });
    this.vm = kvm.createVm();
    this.mmu = this.vm.arch as KvmRiscvMmu;
    const rw = PROT_READ | PROT_WRITE;
    const anon = MAP_PRIVATE | MAP_ANONYMOUS;
    this.areas.push({ addr: this.mm.mmap({ length: AREA, prot: rw, flags: anon }), len: AREA, kind: 'anon' });
    this.areas.push({
      addr: this.mm.mmap({ length: AREA, prot: PROT_READ, flags: anon }),
      len: AREA,
      kind: 'ro',
    });
    this.areas.push({
      addr: this.mm.mmap({ length: AREA, prot: rw, flags: anon | MAP_HUGETLB }),
      len: AREA,
      kind: 'hugetlb',
    });
    const thp = this.mm.mmap({ length: AREA + HPAGE, prot: rw, flags: anon });
    const thpAt = Math.ceil(thp / HPAGE) * HPAGE;
    this.mm.madvise(thpAt, AREA, MADV_HUGEPAGE);
    this.areas.push({ addr: thpAt, len: AREA, kind: 'thp' });
    // A device's BAR mapped VM_PFNMAP: faults go through its handler (never vm_pgoff as a pfn).
    this.devFrames = this.phys.allocContiguous(DEV_FRAMES, 1);
    const devFrames = this.devFrames;
    const file = {
      mmap(vma: VmArea) {
        vma.flags |= VM_PFNMAP | VM_IO;
        vma.ops = { fault: (_v: VmArea, pgoff: number) => devFrames + (pgoff % DEV_FRAMES) };
      },
    };
    this.areas.push({
      addr: this.mm.mmap({ length: 64 * PAGE, prot: rw, flags: MAP_SHARED, file, offset: 2 ** 40 }),
      len: 64 * PAGE,
      kind: 'pfnmap',
    });
    this.bare = new GStage(this.barePhys, rng.chance(0.5) ? HGATP_MODE_SV39X4 : HGATP_MODE_SV48X4, 7);
    this.bareCache = new KvmMmuMemoryCache(this.barePhys);
    // The G-stage is a cache of the memslots: a call that fails may drop leaves
    // (a failed MOVE has already flushed the old slot, as kvm_set_memslot()
    // invalidates before it prepares), never add or change one.
    this.ops = this.makeOps().map((op) => ({
      ...op,
      run: (r: Rng) => {
        // The harness takes a snapshot right before every call; it recorded the leaves.
        const before = this.leavesBefore;
        try {
          op.run(r);
        } catch (e) {
          if (e instanceof KernelError && !this.vm.dead) {
            const had = new Set(before.map(leafLine));
            const added = walk(this.tablePhys, this.mmu.gstage)
              .leaves.map(leafLine)
              .filter((l) => !had.has(l));
            if (added.length > 0)
              throw new Error(`${e.code}, yet G-stage leaves appeared or changed: ${added.join(',')}`);
          }
          throw e;
        }
      },
    }));
  }

  private makeOps(): FuzzOp[] {
    const vm = this.vm;
    const mmu = this.mmu;
    const slotGpa = (r: Rng) =>
      GPA_BASE + (r.chance(0.7) ? r.below(GPA_SPAN / HPAGE) * HPAGE : r.below(GPA_SPAN / PAGE) * PAGE);
    const hvaIn = (r: Rng, pages: number) => {
      const a = r.pick(this.areas);
      const room = Math.max(1, a.len / PAGE - pages);
      const off = r.chance(0.6) ? Math.floor(r.below(room) / 512) * 512 : r.below(room);
      return a.addr + off * PAGE;
    };
    const guestGpa = (r: Rng) => {
      const slots = vm.memslots.list();
      if (slots.length > 0 && r.chance(0.9)) {
        const s = r.pick(slots);
        return (s.baseGfn + r.below(s.npages)) * PAGE + r.below(PAGE);
      }
      const any = fuzzU64(r, () => 0n);
      return r.chance(0.5) || typeof any !== 'bigint' ? slotGpa(r) : Number(any & ((1n << 52n) - 1n));
    };
    return [
      {
        name: 'KVM_SET_USER_MEMORY_REGION',
        weight: 3,
        run: (r) => {
          const slots = vm.memslots.list();
          if (slots.length > 0 && r.chance(0.5)) {
            const s = r.pick(slots);
            const k = r.below(4);
            vm.setUserMemoryRegion({
              slot: s.id,
              flags:
                k === 1 ? s.flags ^ KVM_MEM_LOG_DIRTY_PAGES : k === 3 ? s.flags ^ KVM_MEM_READONLY : s.flags,
              guest_phys_addr: BigInt(k === 0 ? slotGpa(r) : s.baseGfn * PAGE),
              memory_size: k === 2 ? 0n : BigInt(s.npages * PAGE),
              userspace_addr: BigInt(s.userspaceAddr),
            });
            return;
          }
          const pages = r.pick([1, 16, 512, 1024, 600]);
          const flags = r.pick([
            0,
            0,
            KVM_MEM_READONLY,
            KVM_MEM_LOG_DIRTY_PAGES,
            KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY,
          ]);
          vm.setUserMemoryRegion({
            slot: r.below(5),
            flags,
            guest_phys_addr: BigInt(r.chance(0.98) ? slotGpa(r) : 2 ** 41 - 2 * HPAGE),
            memory_size: BigInt(pages * PAGE),
            userspace_addr: BigInt(hvaIn(r, pages)),
          });
        },
      },
      {
        name: 'guest page fault',
        weight: 10,
        run: (r) => {
          mmu.handleFault(guestGpa(r), r.chance(0.5));
        },
      },
      {
        name: 'KVM_GET_DIRTY_LOG / CLEAR_DIRTY_LOG / ENABLE_CAP',
        weight: 3,
        run: (r) => {
          const logs = vm.memslots.list().filter((s) => s.dirtyBitmap !== undefined);
          const k = r.below(8);
          if (k === 0) {
            vm.enableCap({
              cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
              flags: 0,
              args: [BigInt(r.pick([0, 1, 3]))],
            });
            return;
          }
          if (logs.length === 0) return;
          const s = r.pick(logs);
          if (k < 5) vm.getDirtyLog({ slot: s.id });
          else {
            const first = 64 * r.below(Math.ceil(s.npages / 64));
            const num = r.chance(0.7) ? s.npages - first : Math.min(64, s.npages - first);
            const bm = new Uint8Array(Math.ceil(num / 64) * 8);
            for (let i = 0; i < bm.length; i++) bm[i] = r.chance(0.5) ? 0xff : r.below(256);
            vm.clearDirtyLog({ slot: s.id, first_page: BigInt(first), num_pages: num, dirty_bitmap: bm });
          }
        },
      },
      {
        name: 'munmap / mprotect / MAP_FIXED under a slot (MMU notifier)',
        weight: 2,
        run: (r) => {
          const a = r.pick(this.areas.filter((x) => x.kind !== 'pfnmap'));
          const huge = a.kind === 'hugetlb';
          const unit = huge ? HPAGE : PAGE;
          const at = a.addr + r.below(a.len / unit) * unit;
          const len = r.pick([1, 2, 16]) * unit;
          const k = r.below(4);
          const rw = PROT_READ | PROT_WRITE;
          if (k === 0) this.mm.munmap(at, len);
          else if (k === 1) this.mm.mprotect(at, len, r.pick([PROT_READ, rw]));
          else if (k === 2)
            this.mm.mmap({
              addr: at,
              length: len,
              prot: rw,
              flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | (huge ? MAP_HUGETLB : 0),
            });
          else this.mm.madvise(at, len, MADV_HUGEPAGE);
        },
      },
      { name: 'bare GStage map/unmap/wp/zap', weight: 4, run: (r) => this.bareOp(r) },
    ];
  }

  /** Direct G-stage table operations with random levels, each checked against its own postcondition. */
  private bareOp(r: Rng): void {
    const g = this.bare;
    const level = r.chance(0.95) ? r.pick([0, 0, 0, 1, 1, 2]) : r.pick([3, 4]);
    const size = GSTAGE_LEVEL_SIZE[level] ?? 3 * PAGE;
    // 64 MiB at 0 or at 1 GiB: few enough table pages that walking them after every call stays cheap.
    const span = 64 << 20;
    let gpa = (r.chance(0.8) ? 0 : 1 << 30) + r.below(span / PAGE) * PAGE;
    if (r.chance(0.7)) gpa = Math.floor(gpa / size) * size;
    if (r.chance(0.02)) gpa = r.pick([g.gpaSize, g.gpaSize - PAGE, -PAGE, 0.5]);
    const k = r.below(10);
    if (k < 5) {
      this.bareCache.topup(g.levels - 1);
      const pfn = r.below(1 << 20) * (size / PAGE);
      const ro = r.chance(0.3);
      g.map(this.bareCache, gpa, pfn, size, ro);
      const l = g.getLeaf(gpa);
      if (
        l === undefined ||
        l.hpfn !== pfn ||
        GSTAGE_LEVEL_SIZE[l.level] !== size ||
        ((l.flags & PTE_W) === 0) !== ro
      )
        throw new Error(`map at 0x${gpa.toString(16)} did not leave the leaf it asked for`);
      return;
    }
    const len = r.pick([PAGE, size, 2 * size, HPAGE + PAGE]);
    const end = gpa + len;
    const before = walk(this.barePhys, g).leaves;
    if (k < 7) g.unmapRange(gpa, len);
    else if (k < 9) g.wpRange(gpa, len);
    else g.zapRange(gpa, len);
    const inside = (l: Leaf) => l.gpa >= gpa && l.gpa + l.size <= end;
    const overlaps = (l: Leaf) => l.gpa < end && l.gpa + l.size > gpa;
    const after = walk(this.barePhys, g).leaves;
    for (const l of after) {
      if (k < 7 && inside(l)) throw new Error(`unmapRange left ${leafLine(l)}`);
      if (k >= 7 && k < 9 && inside(l) && l.flags & PTE_W)
        throw new Error(`wpRange left ${leafLine(l)} writable`);
      if (k === 9 && overlaps(l)) throw new Error(`zapRange left ${leafLine(l)}`);
    }
    // Leaves outside the range are untouched (an order-free fingerprint of them).
    const outside = (ls: Leaf[]) => {
      let n = 0;
      let h = 0;
      for (const l of ls) {
        if (overlaps(l)) continue;
        n++;
        h = (h + Math.imul((l.gpa / PAGE) ^ Math.imul(l.hpfn, 0x9e3779b1) ^ (l.flags << 20), 0x85ebca6b)) | 0;
      }
      return `${n}:${h}`;
    };
    if (outside(before) !== outside(after))
      throw new Error('a range operation touched leaves outside its range');
  }

  snapshot(): string {
    this.leavesBefore = this.vm.dead ? [] : walk(this.tablePhys, this.mmu.gstage).leaves;
    const b = walk(this.barePhys, this.bare);
    const lines = [
      `vm dead ${this.vm.dead} manual ${this.vm.manualDirtyLogProtect}`,
      `bare tables ${this.bare.tablePages} leaves ${b.leaves.map(leafLine).join(',')}`,
      `mm ${this.mm.vmaList.map((v) => `${v.start.toString(16)}-${v.end.toString(16)}:${v.flags}`).join(' ')}`,
      // Not the mm's resident pages: a fault that fails in the G-stage has still faulted the host page in (GUP), as in Linux.
    ];
    for (const s of this.vm.allMemslots()) {
      let h = 0x811c9dc5;
      for (const x of s.dirtyBitmap ?? []) h = Math.imul(h ^ x, 0x01000193);
      lines.push(
        `slot ${s.id} ${s.baseGfn}+${s.npages} hva ${s.userspaceAddr} flags ${s.flags} bitmap ${h >>> 0}`,
      );
    }
    return lines.join('\n');
  }

  invariants(): string[] {
    const out: string[] = [];
    if (this.vm.dead) return out;
    const g = this.mmu.gstage;
    const w = walk(this.tablePhys, g);
    out.push(...w.bad);
    // Table pages accounted: the walk's count, GStage's count, and the frames taken from the table memory.
    if (w.tables !== g.tablePages)
      out.push(`walk finds ${w.tables} table pages, GStage counts ${g.tablePages}`);
    const frames = 4 + g.tablePages + this.mmu.cache.count;
    if (this.tablePhys.allocatedFrames !== frames)
      out.push(`${this.tablePhys.allocatedFrames} table frames allocated, ${frames} accounted`);
    for (const l of w.leaves) {
      const where = `leaf ${leafLine(l)}`;
      const first = l.gpa / PAGE;
      const last = first + l.size / PAGE - 1;
      const slot = this.vm.gfnToMemslot(first);
      if (slot === undefined || this.vm.gfnToMemslot(last) !== slot) {
        out.push(`${where} is not inside one memslot`);
        continue;
      }
      const writable = (l.flags & PTE_W) !== 0;
      if (writable && slot.flags & KVM_MEM_READONLY)
        out.push(`${where} writable in read-only slot ${slot.id}`);
      // Every page of it (a sample of a huge one) maps what the slot's hva translates to now.
      const n = l.size / PAGE;
      const sample = n <= 16 ? Array.from({ length: n }, (_, i) => i) : [0, 1, n >> 2, n >> 1, n - 2, n - 1];
      for (const i of sample) {
        const hva = slot.gfnToHva(first + i);
        const pte = this.mm.pteOf(hva);
        if (pte !== l.hpfn + i) {
          out.push(`${where}: page ${i} maps ${l.hpfn + i}, hva 0x${hva.toString(16)} translates to ${pte}`);
          break;
        }
        const vma = this.mm.findVma(hva);
        if (writable && (vma === undefined || (vma.flags & VM_WRITE) === 0)) {
          out.push(`${where}: writable over a VMA without VM_WRITE`);
          break;
        }
        if (writable && slot.dirtyBitmap !== undefined && !slot.isDirty(first + i)) {
          out.push(`${where}: writable but gfn 0x${(first + i).toString(16)} is not marked dirty`);
          break;
        }
      }
    }
    const b = walk(this.barePhys, this.bare);
    out.push(...b.bad.map((x) => `bare: ${x}`));
    if (b.tables !== this.bare.tablePages)
      out.push(`bare: walk finds ${b.tables} table pages, GStage counts ${this.bare.tablePages}`);
    const bf = 4 + this.bare.tablePages + this.bareCache.count;
    if (this.barePhys.allocatedFrames !== bf)
      out.push(`bare: ${this.barePhys.allocatedFrames} frames allocated, ${bf} accounted`);
    return out;
  }

  teardown(rng: Rng): void {
    const steps = [
      () => {
        this.files.close(this.vm.fd);
        this.vmClosed = true;
      },
      () => this.mm.exitMmap(),
      () => {
        this.bare.free();
        this.bareCache.free();
      },
    ];
    for (const s of rng.shuffle(steps)) s();
    this.phys.freeFrames(this.devFrames, DEV_FRAMES);
  }

  leaks(): string[] {
    const out: string[] = [];
    if (!this.vm.dead) out.push('VM not destroyed after its fd closed');
    if (this.mmu.gstage.tablePages !== 0)
      out.push(`${this.mmu.gstage.tablePages} table pages counted after destroy`);
    if (this.tablePhys.allocatedFrames !== 0)
      out.push(`${this.tablePhys.allocatedFrames} G-stage frames not freed`);
    if (this.barePhys.allocatedFrames !== 0)
      out.push(`bare: ${this.barePhys.allocatedFrames} frames not freed`);
    if (this.phys.allocatedFrames !== 0) out.push(`${this.phys.allocatedFrames} host frames still allocated`);
    if (this.vm.allMemslots().length !== 0) out.push('memslots left');
    return out;
  }
}

export const kvmRiscvMmuFuzz: FuzzTargetFactory = {
  name: 'kvm-riscv-mmu',
  create: (rng) => new KvmRiscvMmuTarget(rng),
};
