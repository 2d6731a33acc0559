import { fail, type KernelFile } from '@tsvirt/core-bus';
import { VFIO_DMA_CC_IOMMU } from './uapi.ts';
import type { VfioGroup } from './vfio-group.ts';
import { VfioGroupFile } from './vfio-group.ts';

// The hooks KVM (kvm-vfio) uses on VFIO files. KVM only ever sees files
// and these functions, never VFIO internals, as the layering requires.

/** vfio_file_is_group(): is this file an open /dev/vfio/<id>? */
export function vfio_file_is_group(file: KernelFile | undefined): file is VfioGroupFile {
  return file instanceof VfioGroupFile && !file.isReleased;
}

/** vfio_file_is_valid(): a file KVM may track (only group files in this model). */
export function vfio_file_is_valid(file: KernelFile | undefined): file is VfioGroupFile {
  return vfio_file_is_group(file);
}

function groupOf(file: KernelFile, op: string): VfioGroup {
  if (!vfio_file_is_group(file)) fail('EINVAL', 'not a VFIO group file', op);
  return file.group;
}

/** get_file(): keep a group file open past its descriptor's close; drop it with vfio_file_put(). */
export function vfio_file_get(file: KernelFile): VfioGroupFile {
  if (!vfio_file_is_group(file)) fail('EINVAL', 'not a VFIO group file', 'get_file');
  return file.get();
}

/** fput() of a reference taken with vfio_file_get(). */
export function vfio_file_put(file: VfioGroupFile): void {
  file.put();
}

/**
 * vfio_file_set_kvm(): associate (or, with undefined, dissociate) the group
 * with a KVM; vendor drivers registered for VFIO_GROUP_NOTIFY_SET_KVM hear
 * it, and devices opened later see it as their `kvm`.
 */
export function vfio_file_set_kvm(file: KernelFile, kvm: unknown): void {
  groupOf(file, 'vfio_file_set_kvm').setKvm(kvm);
}

/** vfio_file_iommu_group(): the IOMMU group id behind a group file. */
export function vfio_file_iommu_group(file: KernelFile): number {
  return groupOf(file, 'vfio_file_iommu_group').id;
}

/**
 * vfio_file_enforced_coherent(): whether DMA of this group is kept cache
 * coherent by the IOMMU, so KVM need not emulate WBINVD-style flushes. With
 * a container, CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) on it decides; without
 * one, true: the group cannot do DMA until it joins a container, and the
 * user must attach it first to prove it has permission.
 */
export function vfio_file_enforced_coherent(file: KernelFile): boolean {
  const g = groupOf(file, 'vfio_file_enforced_coherent');
  if (g.container === undefined) return true;
  return g.container.checkExtension(VFIO_DMA_CC_IOMMU) > 0;
}

/**
 * vfio_group_get_external_user(): the older kvm-vfio path. EINVAL for a
 * file that is not a group, or a group without a container and backend,
 * or not viable. Holds the group (and its container) until
 * vfio_group_put_external_user().
 */
export function vfio_group_get_external_user(file: KernelFile): VfioGroup {
  const g = groupOf(file, 'vfio_group_get_external_user');
  g.addContainerUser('vfio_group_get_external_user');
  g.externalRefs++;
  return g;
}

/** vfio_group_put_external_user(). */
export function vfio_group_put_external_user(group: VfioGroup): void {
  if (group.externalRefs <= 0)
    fail('EINVAL', `group ${group.id} has no external user`, 'vfio_group_put_external_user');
  group.externalRefs--;
  group.tryDissolveContainer();
  group.core.maybeFreeGroup(group);
}

/** vfio_external_check_extension(): CHECK_EXTENSION on the group's container. */
export function vfio_external_check_extension(group: VfioGroup, ext: number): number {
  const c = group.container;
  if (c === undefined) return 0;
  return c.checkExtension(ext);
}
