import { fail } from '@tsvirt/core-bus';
import { KVM_MEM_READONLY, PAGE_SHIFT, PAGE_SIZE } from './uapi.ts';
import type { KvmVm } from './vm.ts';

/**
 * kvm_read_guest(): copy guest physical memory at `gpa` into `dst`, page by
 * page through memslot -> hva -> the owner's mm. EFAULT when a page is in no
 * slot (or one being changed), or the host mapping is missing; nothing is
 * copied then.
 */
export function kvmReadGuest(vm: KvmVm, gpa: number, dst: Uint8Array): void {
  const hvas = translate(vm, gpa, dst.length, false, 'kvm_read_guest');
  const mm = vm.mm!;
  const tmp = new Uint8Array(dst.length);
  let done = 0;
  for (const [hva, n] of hvas) {
    mm.copyFromUser(hva, tmp.subarray(done, done + n));
    done += n;
  }
  dst.set(tmp);
}

/**
 * kvm_write_guest(): the reverse; a read-only slot is EFAULT too (before
 * anything is written), and each page written is marked dirty
 * (mark_page_dirty_in_slot).
 */
export function kvmWriteGuest(vm: KvmVm, gpa: number, src: Uint8Array): void {
  const hvas = translate(vm, gpa, src.length, true, 'kvm_write_guest');
  const mm = vm.mm!;
  // Every page's slot is checked first; as in the kernel, a host fault part way leaves the earlier pages written.
  let done = 0;
  for (const [hva, n] of hvas) {
    mm.copyToUser(hva, src.subarray(done, done + n));
    done += n;
    vm.markPageDirty(Math.floor((gpa + done - n) / PAGE_SIZE));
  }
}

function translate(vm: KvmVm, gpa: number, len: number, write: boolean, what: string): [number, number][] {
  if (vm.mm === undefined) fail('EFAULT', 'the VM has no mm', what);
  if (!Number.isSafeInteger(gpa) || gpa < 0 || !Number.isSafeInteger(gpa + len))
    fail('EFAULT', 'bad gpa', what);
  const out: [number, number][] = [];
  let done = 0;
  while (done < len) {
    const a = gpa + done;
    const gfn = Math.floor(a / PAGE_SIZE);
    const off = a % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, len - done);
    const slot = vm.gfnToMemslot(gfn);
    if (slot === undefined || slot.invalid) fail('EFAULT', `gpa 0x${a.toString(16)} is in no memslot`, what);
    if (write && slot.flags & KVM_MEM_READONLY) fail('EFAULT', `gpa 0x${a.toString(16)} is read-only`, what);
    out.push([slot.userspaceAddr + (gfn - slot.baseGfn) * (1 << PAGE_SHIFT) + off, n]);
    done += n;
  }
  return out;
}
