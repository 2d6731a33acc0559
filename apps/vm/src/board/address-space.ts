import type { AddressBus, BusDevice, BusRange } from '@tsvirt/core-bus';
import { diffFlatViews, type FlatRange, type MemoryRegion, renderFlatView } from './memory-region.ts';

const PAGE_SIZE = 4096;

/** The KVM side: KVM_SET_USER_MEMORY_REGION (memory_size 0 deletes). */
export interface MemslotSink {
  setUserMemoryRegion(mem: {
    slot: number;
    flags: number;
    guest_phys_addr: bigint;
    memory_size: bigint;
    userspace_addr: bigint;
  }): void;
}

/** The VMM's view of host memory behind a ram region, for the pieces KVM cannot map. */
export interface HostMemoryAccess {
  copyFromUser(hva: number, dst: Uint8Array): void;
  copyToUser(hva: number, src: Uint8Array): void;
}

/** What one flat range was turned into: ranges on the MMIO bus and KVM memslots. */
interface Applied {
  bus: BusRange[];
  slots: { id: number; gpa: number }[];
}

/**
 * The guest's physical address space as QEMU's address_space_memory with
 * its two listeners, MMIO dispatch and KVM (kvm_region_add/del): `commit()`
 * renders the region tree and applies only the difference from the last
 * rendering. An io piece goes on the MMIO bus; a ram piece becomes a KVM
 * memslot for its page-aligned part (kvm_align_section), and whatever KVM
 * cannot map (sub-page head or tail, a refused slot) is trapped on the MMIO
 * bus and served from the same host memory, as QEMU's dispatch would.
 * Nothing here throws on a guest-made change: a piece the bus or KVM refuses
 * is left out, and nothing another piece or device owns is touched.
 */
export class GuestAddressSpace {
  private view: FlatRange[] = [];
  private readonly applied = new Map<FlatRange, Applied>();
  private readonly usedSlots = new Set<number>();

  constructor(
    readonly root: MemoryRegion,
    private readonly mmio: AddressBus,
    private readonly kvm: MemslotSink,
    private readonly host: HostMemoryAccess,
  ) {}

  /** The ranges the guest reaches now (`info mtree -f`). */
  get flatView(): readonly FlatRange[] {
    return this.view;
  }

  /** memory_region_transaction_commit(): re-render and apply the difference, removals first. */
  commit(): void {
    const next = renderFlatView(this.root);
    const { removed, added, kept } = diffFlatViews(this.view, next);
    for (const r of removed) {
      this.unmap(this.applied.get(r));
      this.applied.delete(r);
    }
    for (const [before, now] of kept) {
      this.applied.set(now, this.applied.get(before)!);
      this.applied.delete(before);
    }
    for (const r of added) this.applied.set(r, this.map(r));
    this.view = next;
  }

  private map(r: FlatRange): Applied {
    const out: Applied = { bus: [], slots: [] };
    const kind = r.region.kind;
    if (kind.type === 'io') {
      this.trap(out, r.addr, r.len, offsetDevice(kind.device, r.offset));
    } else if (kind.type === 'ram') {
      const end = r.addr + r.len;
      const hvaAt = (gpa: number) => kind.hva + r.offset + (gpa - r.addr);
      const ramTrap = (from: number, to: number) => {
        if (to > from) this.trap(out, from, to - from, hostMemoryDevice(this.host, hvaAt(from)));
      };
      // kvm_align_section(): the whole pages of the piece, when guest and host agree within the page.
      let slotStart = r.addr;
      let slotEnd = r.addr;
      if (r.addr % PAGE_SIZE === hvaAt(r.addr) % PAGE_SIZE) {
        slotStart = Math.ceil(r.addr / PAGE_SIZE) * PAGE_SIZE;
        slotEnd = Math.floor(end / PAGE_SIZE) * PAGE_SIZE;
      }
      if (slotEnd > slotStart && this.memslot(out, slotStart, slotEnd - slotStart, hvaAt(slotStart))) {
        ramTrap(r.addr, slotStart);
        ramTrap(slotEnd, end);
      } else {
        ramTrap(r.addr, end);
      }
    }
    return out;
  }

  private trap(out: Applied, addr: number, len: number, device: BusDevice): void {
    try {
      out.bus.push(this.mmio.insert(device, addr, len));
    } catch {
      // Someone put a device on the bus outside the region tree; it keeps its range.
    }
  }

  private memslot(out: Applied, gpa: number, len: number, hva: number): boolean {
    let id = 0;
    while (this.usedSlots.has(id)) id++;
    try {
      this.kvm.setUserMemoryRegion({
        slot: id,
        flags: 0,
        guest_phys_addr: BigInt(gpa),
        memory_size: BigInt(len),
        userspace_addr: BigInt(hva),
      });
    } catch {
      return false; // no slot (ENOSPC/EEXIST/EINVAL): the caller traps the piece instead
    }
    this.usedSlots.add(id);
    out.slots.push({ id, gpa });
    return true;
  }

  private unmap(a: Applied | undefined): void {
    if (a === undefined) return;
    for (const range of a.bus) {
      // Remove only our own range: another device may sit at the same base.
      if (this.mmio.lookup(range.base) === range) this.mmio.remove(range.base);
    }
    for (const s of a.slots) {
      try {
        this.kvm.setUserMemoryRegion({
          slot: s.id,
          flags: 0,
          guest_phys_addr: BigInt(s.gpa),
          memory_size: 0n,
          userspace_addr: 0n,
        });
        this.usedSlots.delete(s.id);
      } catch {
        // The slot stays allocated (never reused) rather than fail the guest's access.
      }
    }
  }
}

/** A piece that shows its region from `offset`: the device still sees offsets from the region's start. */
function offsetDevice(device: BusDevice, offset: number): BusDevice {
  if (offset === 0) return device;
  return {
    read: (o, data) => device.read(o + offset, data),
    write: (o, data) => device.write(o + offset, data),
  };
}

/** A ram piece served by the VMM (QEMU's dispatch to RAM): a copy from or to host memory; a fault reads all-ones. */
function hostMemoryDevice(host: HostMemoryAccess, hva: number): BusDevice {
  return {
    read(o, data) {
      try {
        host.copyFromUser(hva + o, data);
      } catch {
        data.fill(0xff);
      }
    },
    write(o, data) {
      try {
        host.copyToUser(hva + o, data);
      } catch {
        // dropped, as a write nothing backs
      }
    },
  };
}
