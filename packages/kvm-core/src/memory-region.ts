import { fail } from '@tsvirt/core-bus';
import { KvmMemorySlot, type KvmMemslots } from './memslot.ts';
import type { KvmUserspaceMemoryRegion } from './structs.ts';
import {
  KVM_ADDRESS_SPACE_NUM,
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_MAX_NR_PAGES,
  KVM_MEM_READONLY,
  KVM_MR_CREATE,
  KVM_MR_DELETE,
  KVM_MR_FLAGS_ONLY,
  KVM_MR_MOVE,
  KVM_USER_MEM_SLOTS,
  type KvmMrChange,
  PAGE_SIZE,
} from './uapi.ts';
import type { KvmVm } from './vm.ts';

/** The top of the user address space access_ok() allows when the VM has no mm (Sv48's 128 TiB). */
export const TASK_SIZE = 2 ** 47;

const U64_LIMIT = 1n << 64n;
const PAGE_MASK = BigInt(PAGE_SIZE - 1);
const SYSCALL = 'KVM_SET_USER_MEMORY_REGION';

/** Split a u32 slot number into (as_id, id); EINVAL when it is not one. */
export function splitSlot(
  slot: number,
  syscall: string,
): {
  /** Address space id (slot >> 16). */
  asId: number;
  /** Slot id within the address space (slot & 0xffff). */
  id: number;
} {
  if (!Number.isInteger(slot) || slot < 0 || slot > 0xffff_ffff) fail('EINVAL', `bad slot ${slot}`, syscall);
  const asId = slot >>> 16;
  const id = slot & 0xffff;
  if (asId >= KVM_ADDRESS_SPACE_NUM || id >= KVM_USER_MEM_SLOTS)
    fail('EINVAL', `slot ${asId}:${id} out of range`, syscall);
  return { asId, id };
}

function u64(v: bigint, what: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v >= U64_LIMIT) fail('EINVAL', `${what} is not a u64`, SYSCALL);
  return v;
}

/**
 * KVM_SET_USER_MEMORY_REGION, as kvm_vm_ioctl_set_memory_region() and
 * __kvm_set_memory_region(): validate, classify the change
 * (create/delete/move/flags-only), then apply it through kvmSetMemslot().
 * Every refusal leaves the slot set as it was.
 */
export function kvmSetMemoryRegion(vm: KvmVm, mem: KvmUserspaceMemoryRegion): void {
  // check_memory_region_flags()
  let valid = KVM_MEM_LOG_DIRTY_PAGES;
  if (vm.archOps.readonlyMem !== false) valid |= KVM_MEM_READONLY;
  if (!Number.isInteger(mem.flags) || mem.flags < 0 || mem.flags & ~valid)
    fail('EINVAL', `unknown flags 0x${mem.flags.toString(16)}`, SYSCALL);
  const { asId, id } = splitSlot(mem.slot, SYSCALL);
  const size = u64(mem.memory_size, 'memory_size');
  const gpa = u64(mem.guest_phys_addr, 'guest_phys_addr');
  const hva = u64(mem.userspace_addr, 'userspace_addr');
  if (size & PAGE_MASK) fail('EINVAL', 'memory_size is not page aligned', SYSCALL);
  if (gpa & PAGE_MASK) fail('EINVAL', 'guest_phys_addr is not page aligned', SYSCALL);
  if (hva & PAGE_MASK) fail('EINVAL', 'userspace_addr is not page aligned', SYSCALL);
  // access_ok(userspace_addr, memory_size)
  if (hva + size > BigInt(vm.mm?.taskSize ?? TASK_SIZE))
    fail('EINVAL', 'userspace range is not user memory', SYSCALL);
  if (gpa + size >= U64_LIMIT) fail('EINVAL', 'guest physical range wraps', SYSCALL);
  if (size / BigInt(PAGE_SIZE) > BigInt(KVM_MEM_MAX_NR_PAGES))
    fail('EINVAL', 'more pages than KVM_MEM_MAX_NR_PAGES', SYSCALL);

  const slots = vm.memslotsFor(asId);
  const old = slots.get(id);

  if (size === 0n) {
    // Deleting a slot that does not exist is EINVAL (kvm_delete_memslot's check).
    if (old === undefined) fail('EINVAL', `slot ${id} does not exist`, SYSCALL);
    kvmSetMemslot(vm, slots, old, undefined, KVM_MR_DELETE);
    return;
  }

  const baseGfn = Number(gpa / BigInt(PAGE_SIZE));
  const npages = Number(size / BigInt(PAGE_SIZE));
  const userspaceAddr = Number(hva);
  let change: KvmMrChange;
  if (old === undefined) {
    change = KVM_MR_CREATE;
  } else {
    // An existing slot may only move or change flags; its size, backing and READONLY are fixed.
    if (
      userspaceAddr !== old.userspaceAddr ||
      npages !== old.npages ||
      (mem.flags ^ old.flags) & KVM_MEM_READONLY
    )
      fail('EINVAL', `slot ${id}: only guest_phys_addr or LOG_DIRTY_PAGES may change`, SYSCALL);
    if (baseGfn !== old.baseGfn) change = KVM_MR_MOVE;
    else if (mem.flags !== old.flags) change = KVM_MR_FLAGS_ONLY;
    else return; // nothing to change
  }
  if (change === KVM_MR_CREATE || change === KVM_MR_MOVE) {
    const other = slots.overlap(id, baseGfn, baseGfn + npages);
    if (other !== undefined) fail('EEXIST', `overlaps slot ${other.id}`, SYSCALL);
  }
  const next = new KvmMemorySlot(asId, id, baseGfn, npages, userspaceAddr, mem.flags);
  if (old !== undefined) next.arch = old.arch;
  kvmSetMemslot(vm, slots, old, next, change);
}

/**
 * kvm_set_memslot(): invalidate and flush a slot being deleted or moved,
 * prepare (dirty bitmap, then the arch hook, both undone on failure), swap
 * the slot set, commit.
 */
function kvmSetMemslot(
  vm: KvmVm,
  slots: KvmMemslots,
  old: KvmMemorySlot | undefined,
  next: KvmMemorySlot | undefined,
  change: KvmMrChange,
): void {
  const arch = vm.archOps;
  if (change === KVM_MR_DELETE || change === KVM_MR_MOVE) {
    old!.invalid = true;
    arch.flushShadowMemslot(vm, old!);
  }
  // kvm_prepare_memory_region(): keep the old bitmap across a move or flags
  // change, else allocate one (all set with KVM_DIRTY_LOG_INITIALLY_SET).
  let allocated = false;
  if (next !== undefined) {
    if (!(next.flags & KVM_MEM_LOG_DIRTY_PAGES)) next.dirtyBitmap = undefined;
    else if (old?.dirtyBitmap !== undefined) next.dirtyBitmap = old.dirtyBitmap;
    else {
      next.dirtyBitmap = KvmMemorySlot.allocDirtyBitmap(next.npages, vm.dirtyLogInitiallySet);
      allocated = true;
    }
  }
  try {
    arch.prepareMemoryRegion(vm, old, next, change);
  } catch (e) {
    if (old !== undefined) old.invalid = false;
    if (allocated) next!.dirtyBitmap = undefined;
    throw e;
  }
  slots.replace(old, next);
  if (old !== undefined && change !== KVM_MR_FLAGS_ONLY) old.invalid = true;
  vm.nrMemslotPages += (next?.npages ?? 0) - (old?.npages ?? 0);
  arch.commitMemoryRegion(vm, old, next, change);
  // kvm_mmu_slot_apply_flags(): logging just switched on for mapped memory:
  // write-protect it so the next write faults and is logged, unless every
  // bit starts set (then user space's first CLEAR_DIRTY_LOG protects).
  // A created or moved slot has nothing mapped yet.
  if (
    change === KVM_MR_FLAGS_ONLY &&
    next!.flags & KVM_MEM_LOG_DIRTY_PAGES &&
    !(old!.flags & KVM_MEM_LOG_DIRTY_PAGES) &&
    !(vm.manualDirtyLogProtect & KVM_DIRTY_LOG_INITIALLY_SET)
  ) {
    writeProtectSlot(vm, next!);
  }
}

function writeProtectSlot(vm: KvmVm, slot: KvmMemorySlot): void {
  const arch = vm.archOps;
  if (arch.writeProtectMemslot !== undefined) {
    arch.writeProtectMemslot(vm, slot);
  } else {
    for (let off = 0; off < slot.npages; off += 64) {
      const n = Math.min(64, slot.npages - off);
      arch.enableLogDirtyPtMasked(vm, slot, off, n === 64 ? (1n << 64n) - 1n : (1n << BigInt(n)) - 1n);
    }
  }
  vm.flushRemoteTlbs();
}
