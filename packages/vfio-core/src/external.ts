import { fail } from '@tsvirt/core-bus';
import type { IommuNotifier, VfioIommu } from './iommu-driver.ts';
import { VFIO_PIN_PAGES_MAX_ENTRIES } from './uapi.ts';
import type { VfioDevice } from './vfio-device.ts';
import { VFIO_GROUP_NOTIFY_SET_KVM, type VfioGroupNotifier } from './vfio-group.ts';

/** enum vfio_notify_type. */
export const VFIO_IOMMU_NOTIFY = 0 as const;
/** Notifier type: group events. */
export const VFIO_GROUP_NOTIFY = 1 as const;

/**
 * Run `fn` against the backend of the device's container. A driver may call
 * the vendor API only between its device's open and close
 * (vfio_assert_device_open(): EINVAL otherwise); an open device keeps its
 * group's container and backend in place, so nothing else can change
 * under the call. (Before Linux 5.19 each call took a container user
 * instead; the errors are the same EINVAL.)
 */
function withIommu<T>(vdev: VfioDevice, op: string, fn: (iommu: VfioIommu) => T): T {
  if (vdev.openCount === 0) fail('EINVAL', `${vdev.name} is not open`, op);
  const iommu = vdev.group.container?.iommu;
  if (iommu === undefined) fail('EINVAL', `${vdev.name} has no container with an IOMMU backend`, op);
  return fn(iommu);
}

function checkPfns(pfns: readonly number[], op: string): void {
  if (!Array.isArray(pfns) || pfns.length === 0) fail('EINVAL', 'no pages given', op);
  if (pfns.length > VFIO_PIN_PAGES_MAX_ENTRIES)
    fail('E2BIG', `${pfns.length} pages > VFIO_PIN_PAGES_MAX_ENTRIES (${VFIO_PIN_PAGES_MAX_ENTRIES})`, op);
}

/**
 * vfio_pin_pages(): pin the user pages behind IOVA pfns for a mediated
 * device's DMA; returns the host pfns. No pages EINVAL; more than
 * VFIO_PIN_PAGES_MAX_ENTRIES E2BIG; only a singleton group may pin (its
 * pins then define the group's dirty scope): EINVAL otherwise; a device
 * that is not open EINVAL. The backend checks prot and the mappings.
 */
export function vfio_pin_pages(vdev: VfioDevice, iovaPfns: readonly number[], prot: number): number[] {
  const OP = 'vfio_pin_pages';
  checkPfns(iovaPfns, OP);
  if (vdev.group.devices.length > 1) fail('EINVAL', `group ${vdev.group.id} has more than one device`, OP);
  return withIommu(vdev, OP, (iommu) => iommu.pinPages(vdev.group.iommuGroup, iovaPfns, prot));
}

/** vfio_unpin_pages(): returns how many pages were unpinned. Argument checks as vfio_pin_pages(). */
export function vfio_unpin_pages(vdev: VfioDevice, iovaPfns: readonly number[]): number {
  const OP = 'vfio_unpin_pages';
  checkPfns(iovaPfns, OP);
  return withIommu(vdev, OP, (iommu) => iommu.unpinPages(iovaPfns));
}

/**
 * vfio_dma_rw(): copy between `data` and the user memory mapped at `iova`
 * in the device's container; a write dirties the pages. Empty data EINVAL.
 */
export function vfio_dma_rw(vdev: VfioDevice, iova: bigint, data: Uint8Array, write: boolean): void {
  const OP = 'vfio_dma_rw';
  if (!(data instanceof Uint8Array) || data.length === 0) fail('EINVAL', 'no data', OP);
  if (typeof iova !== 'bigint' || iova < 0n) fail('EINVAL', `bad iova ${iova}`, OP);
  withIommu(vdev, OP, (iommu) => iommu.dmaRw(iova, data, write));
}

/**
 * vfio_register_notifier(): VFIO_IOMMU_NOTIFY goes to the backend (which
 * refuses events it does not know, e.g. type1 accepts only DMA_UNMAP);
 * VFIO_GROUP_NOTIFY takes VFIO_GROUP_NOTIFY_SET_KVM only, and replays the
 * current KVM at once if the group already has one. No events or an
 * unknown type EINVAL; no container/backend EINVAL.
 */
export function vfio_register_notifier(
  vdev: VfioDevice,
  type: typeof VFIO_IOMMU_NOTIFY,
  events: number,
  nb: IommuNotifier,
): void;
export function vfio_register_notifier(
  vdev: VfioDevice,
  type: typeof VFIO_GROUP_NOTIFY,
  events: number,
  nb: VfioGroupNotifier,
): void;
export function vfio_register_notifier(
  vdev: VfioDevice,
  type: number,
  events: number,
  nb: IommuNotifier | VfioGroupNotifier,
): void;
export function vfio_register_notifier(
  vdev: VfioDevice,
  type: number,
  events: number,
  nb: IommuNotifier | VfioGroupNotifier,
): void {
  const OP = 'vfio_register_notifier';
  if (typeof nb !== 'function' || !Number.isInteger(events) || events === 0)
    fail('EINVAL', 'no events or notifier', OP);
  withIommu(vdev, OP, (iommu) => {
    if (type === VFIO_IOMMU_NOTIFY) {
      iommu.registerNotifier(events, nb as IommuNotifier);
    } else if (type === VFIO_GROUP_NOTIFY) {
      if ((events & ~VFIO_GROUP_NOTIFY_SET_KVM) !== 0)
        fail('EINVAL', `unknown group events 0x${events.toString(16)}`, OP);
      const group = vdev.group;
      group.notifiers.add(nb as VfioGroupNotifier);
      if (group.kvm !== undefined) (nb as VfioGroupNotifier)(VFIO_GROUP_NOTIFY_SET_KVM, group.kvm);
    } else {
      fail('EINVAL', `unknown notify type ${type}`, OP);
    }
  });
}

/** vfio_unregister_notifier(). */
export function vfio_unregister_notifier(
  vdev: VfioDevice,
  type: number,
  nb: IommuNotifier | VfioGroupNotifier,
): void {
  const OP = 'vfio_unregister_notifier';
  if (typeof nb !== 'function') fail('EINVAL', 'no notifier', OP);
  withIommu(vdev, OP, (iommu) => {
    if (type === VFIO_IOMMU_NOTIFY) iommu.unregisterNotifier(nb as IommuNotifier);
    else if (type === VFIO_GROUP_NOTIFY) vdev.group.notifiers.delete(nb as VfioGroupNotifier);
    else fail('EINVAL', `unknown notify type ${type}`, OP);
  });
}
