import { fail } from '@tsvirt/core-bus';
import type { MmStruct } from '@tsvirt/host-mm';
import { MAP_SHARED, VM_DONTDUMP, VM_DONTEXPAND, VM_IO, VM_PFNMAP } from '@tsvirt/host-mm';
import type { VfioDeviceFile, VfioVma } from './vfio-device.ts';

/**
 * mmap(2) of a device fd into a process: `offset` is the device-file
 * offset (region index << 40 | offset in the region). The device's driver
 * decides (its mmap op) and sets the vma up; a refusal leaves the address
 * space unchanged. Returns the user address.
 */
export function vfio_device_mmap(
  mm: MmStruct,
  file: VfioDeviceFile,
  args: { offset: bigint; length: number; prot: number; addr?: number; flags?: number },
): number {
  if (args.offset < 0n || args.offset > BigInt(Number.MAX_SAFE_INTEGER))
    fail('EINVAL', `offset ${args.offset} out of range`, 'mmap');
  return mm.mmap({
    file,
    offset: Number(args.offset),
    length: args.length,
    prot: args.prot,
    flags: args.flags ?? MAP_SHARED,
    ...(args.addr === undefined ? {} : { addr: args.addr }),
  });
}

/**
 * What a VFIO driver's mmap does for MMIO (vfio_pci_core_mmap()): mark the
 * vma VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP and install a fault
 * handler, so pages are inserted by pfn on first touch
 * (vmf_insert_pfn()) instead of at mmap time. `fault` gets the file page
 * offset (vma.pgoff + page index) and answers a host pfn, or throws for
 * SIGBUS.
 */
export function vfio_pfnmap_vma(vma: VfioVma, fault: (pgoff: number) => number): void {
  vma.flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
  vma.ops = { fault: (_vma: VfioVma, pgoff: number) => fault(pgoff) };
}
