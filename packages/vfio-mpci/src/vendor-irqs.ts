import { EventFd, type FdTable, fail } from '@tsvirt/core-bus';
import type { MdevDevice } from '@tsvirt/mdev-core';
import { VFIO_PCI_NUM_IRQS, type VfioIrqSet } from '@tsvirt/vfio-core';
import { vfioSetIrqsData, vfioSetIrqsValidateAndPrepare } from './irqs.ts';
import type { MpciParentOps } from './vendor-ops.ts';

const IOCTL = 'VFIO_DEVICE_SET_IRQS';

/**
 * VFIO_DEVICE_SET_IRQS for a vendor with set_irqs (the seed's
 * vfio_mpci_unlocked_ioctl()): the header is checked as every VFIO bus
 * driver checks it (vfio_set_irqs_validate_and_prepare(), which covers the
 * seed's argsz / index / flags / start+count / data-size checks and adds
 * upstream's u32 wrap, bounds for DATA_NONE and "exactly one DATA_ type"),
 * the data is copied, and the vendor gets the request. A refusal is thrown
 * before the vendor sees anything; what the vendor throws is the ioctl's
 * error.
 */
export function vendorSetIrqs(
  mdev: MdevDevice,
  setIrqs: NonNullable<MpciParentOps['setIrqs']>,
  hdr: VfioIrqSet,
  countOf: (index: number) => number,
  fds: FdTable | undefined,
): number {
  if (hdr === null || typeof hdr !== 'object') fail('EFAULT', 'no argument', IOCTL);
  const num = Number.isInteger(hdr.index) ? countOf(hdr.index) : 0;
  vfioSetIrqsValidateAndPrepare(hdr, num, VFIO_PCI_NUM_IRQS);
  const data = vfioSetIrqsData(hdr);
  setIrqs(mdev, {
    flags: hdr.flags,
    index: hdr.index,
    start: hdr.start,
    count: hdr.count,
    data,
    eventfd(fd: number): EventFd {
      // eventfd_ctx_fdget(): EBADF for a closed fd, EINVAL for one that is not an eventfd.
      if (fds === undefined) fail('EBADF', `fd ${fd} is not open`, IOCTL);
      return fds.getAs(fd, EventFd);
    },
  });
  return 0;
}
