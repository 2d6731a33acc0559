import { EventFd, KernelError } from '@tsvirt/core-bus';
import { errnoOf } from '@tsvirt/test-utils';
import {
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_SET_IRQS,
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_ERR_IRQ_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX,
  type VfioIrqSet,
} from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import { mpciIrqs, VM_READ, VM_WRITE } from '../src/index.ts';
import { BAR2, openMdev, PAGE, stack, VRAM_PFN } from './fake-vendor.ts';

const EVENTFD = VFIO_IRQ_SET_DATA_EVENTFD;
const TRIGGER = VFIO_IRQ_SET_ACTION_TRIGGER;

const irqSet = (index: number, flags: number, start: number, count: number, data?: number[]): VfioIrqSet => ({
  argsz: 20 + count * (flags & VFIO_IRQ_SET_DATA_BOOL ? 1 : flags & EVENTFD ? 4 : 0),
  flags,
  index,
  start,
  count,
  ...(data === undefined ? {} : { data }),
});

describe("SET_IRQS through the vendor's set_irqs (the seed)", () => {
  it('a vendor with set_irqs gets the checked request and resolves its eventfds; vfio-mpci keeps none', () => {
    const s = stack({ vendorSetIrqs: true });
    const { file, mdev } = openMdev(s);
    const e1 = new EventFd();
    const e2 = new EventFd();
    const fds = [s.fds.install(e1), s.fds.install(e2)];
    file.ioctl(VFIO_DEVICE_SET_IRQS, irqSet(VFIO_PCI_MSI_IRQ_INDEX, EVENTFD | TRIGGER, 1, 2, fds));
    expect(s.vendor.ctl.irqSets).toEqual([
      { flags: EVENTFD | TRIGGER, index: VFIO_PCI_MSI_IRQ_INDEX, start: 1, count: 2, data: fds },
    ]);
    expect(s.vendor.ctl.irqFds).toEqual([e1, e2]);
    // The vendor owns the interrupts now: vfio-mpci's own lines were never configured.
    expect(mpciIrqs(mdev)!.type).toBe('none');
    file.ioctl(
      VFIO_DEVICE_SET_IRQS,
      irqSet(VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, 0, 1),
    );
    expect(s.vendor.ctl.irqSets[1]).toEqual({
      flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
      index: VFIO_PCI_INTX_IRQ_INDEX,
      start: 0,
      count: 1,
      data: [],
    });
  });

  it('a malformed header is refused before the vendor sees it; the vendor resolving a bad fd gets EBADF', () => {
    const s = stack({ vendorSetIrqs: true });
    const { file } = openMdev(s);
    const fd = s.fds.install(new EventFd());
    const bad: [string, VfioIrqSet][] = [
      ['index past the last', irqSet(5, VFIO_IRQ_SET_DATA_NONE | TRIGGER, 0, 1)],
      ['beyond the 4 MSI vectors', irqSet(VFIO_PCI_MSI_IRQ_INDEX, EVENTFD | TRIGGER, 3, 2, [fd, fd])],
      ['no MSI-X capability', irqSet(VFIO_PCI_MSIX_IRQ_INDEX, EVENTFD | TRIGGER, 0, 1, [fd])],
      [
        'argsz short of the data',
        { ...irqSet(VFIO_PCI_INTX_IRQ_INDEX, EVENTFD | TRIGGER, 0, 1, [fd]), argsz: 23 },
      ],
      ['unknown flag', irqSet(VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE | TRIGGER | (1 << 6), 0, 1)],
    ];
    for (const [why, h] of bad)
      expect(
        errnoOf(() => file.ioctl(VFIO_DEVICE_SET_IRQS, h)),
        why,
      ).toBe('EINVAL');
    expect(s.vendor.ctl.irqSets).toEqual([]);
    s.fds.close(fd);
    expect(
      errnoOf(() =>
        file.ioctl(VFIO_DEVICE_SET_IRQS, irqSet(VFIO_PCI_INTX_IRQ_INDEX, EVENTFD | TRIGGER, 0, 1, [fd])),
      ),
    ).toBe('EBADF');
  });

  it('what the vendor throws is the ioctl error', () => {
    const s = stack({ vendorSetIrqs: true });
    const { file } = openMdev(s);
    s.vendor.ops.setIrqs = () => {
      throw new KernelError('ENOTTY', 'no such action');
    };
    expect(
      errnoOf(() =>
        file.ioctl(
          VFIO_DEVICE_SET_IRQS,
          irqSet(VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE | TRIGGER, 0, 1),
        ),
      ),
    ).toBe('ENOTTY');
  });

  it("without set_irqs vfio-pci's actions apply: masking INTx that is off is EINVAL (the seed returned 0)", () => {
    const s = stack();
    const { file, mdev } = openMdev(s);
    expect(
      errnoOf(() =>
        file.ioctl(
          VFIO_DEVICE_SET_IRQS,
          irqSet(VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, 0, 1),
        ),
      ),
    ).toBe('EINVAL');
    expect(mpciIrqs(mdev)!.type).toBe('none');
  });

  it('GET_IRQ_INFO follows vfio-pci, not v6: MSI-X is reported (v6: EINVAL), ERR exists on PCIe (v6: EINVAL)', () => {
    const s = stack({ vendorSetIrqs: true });
    const pci = openMdev(s);
    const msix = { argsz: 16, flags: 0, index: VFIO_PCI_MSIX_IRQ_INDEX, count: -1 };
    pci.file.ioctl(VFIO_DEVICE_GET_IRQ_INFO, msix);
    expect(msix.count).toBe(0); // no MSI-X capability: zero vectors, not a refusal
    const err = { argsz: 16, flags: 0, index: VFIO_PCI_ERR_IRQ_INDEX, count: -1 };
    expect(errnoOf(() => pci.file.ioctl(VFIO_DEVICE_GET_IRQ_INFO, err))).toBe('EINVAL');
    const pcie = openMdev(s, 'fakegpu-pcie', '00000000-0000-4000-8000-0000000000e2');
    pcie.file.ioctl(VFIO_DEVICE_GET_IRQ_INFO, msix);
    pcie.file.ioctl(VFIO_DEVICE_GET_IRQ_INFO, err);
    expect([msix.count, err.count]).toEqual([8, 1]);
  });
});

describe("validate_map_request decides the range mapped and its protection (the seed's fault handler)", () => {
  const RW = VM_READ | VM_WRITE;

  it('a multi-page answer is mapped whole on the first fault, with the mapping protection, non-cached', () => {
    const s = stack({ remap: true });
    const { file } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, 8 * PAGE);
    s.vendor.ctl.mapAnswer = (mdev, req) => ({
      pfn: s.vendor.st(mdev).vramPfn + Number(req.offset) / PAGE,
      size: 4 * PAGE,
    });
    s.mm.load(vma, vma.start + PAGE + 3);
    expect(s.vendor.ctl.mapCalls).toBe(1);
    for (let i = 1; i < 5; i++) {
      expect(s.mm.ptes.get(vma.start / PAGE + i), `page ${i}`).toBe(VRAM_PFN + i);
      expect(s.mm.prots.get(vma.start / PAGE + i)).toEqual({ access: RW, cache: 'uc' });
    }
    expect(s.mm.present(vma.start)).toBe(false);
    expect(s.mm.present(vma.start + 5 * PAGE)).toBe(false);
    s.mm.load(vma, vma.start + 4 * PAGE);
    expect(s.vendor.ctl.mapCalls).toBe(1);
  });

  it('an answer may start before the faulting page (its virtaddr) and narrow the protection, write-combined', () => {
    const s = stack({ remap: true });
    const { file } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, 4 * PAGE);
    let seen: unknown;
    s.vendor.ctl.mapAnswer = (_mdev, req) => {
      seen = req.prot;
      return { virtaddr: vma.start, pfn: 0x500, size: 4 * PAGE, prot: { access: VM_READ, cache: 'wc' } };
    };
    s.mm.load(vma, vma.start + 2 * PAGE);
    expect(seen).toEqual({ access: RW, cache: 'uc' });
    for (let i = 0; i < 4; i++) {
      expect(s.mm.ptes.get(vma.start / PAGE + i)).toBe(0x500 + i);
      expect(s.mm.prots.get(vma.start / PAGE + i)).toEqual({ access: VM_READ, cache: 'wc' });
    }
  });

  it('an answer that widens the protection, misses the faulting page or is misaligned fails the access', () => {
    const s = stack({ remap: true });
    const { file } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, 4 * PAGE);
    vma.flags &= ~VM_WRITE; // a read-only mapping
    const bad = [
      { pfn: 0x500, size: PAGE, prot: { access: RW, cache: 'uc' as const } },
      { pfn: 0x500, size: PAGE, prot: { access: VM_READ, cache: 'xx' as never } },
      { virtaddr: vma.start + 2 * PAGE, pfn: 0x500, size: PAGE },
      { virtaddr: vma.start - PAGE, pfn: 0x500, size: 2 * PAGE },
      { virtaddr: vma.start + 100, pfn: 0x500, size: PAGE },
    ];
    for (const ans of bad) {
      s.vendor.ctl.mapAnswer = () => ans;
      expect(() => s.mm.load(vma, vma.start + PAGE), JSON.stringify(ans)).toThrow(KernelError);
      expect(s.mm.ptes.size).toBe(0);
    }
  });

  it('a vendor exception that is not a KernelError is EFAULT, not a host exception', () => {
    const s = stack({ remap: true });
    const { file } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, PAGE);
    s.vendor.ctl.mapAnswer = () => {
      throw new RangeError('Offset is outside the bounds of the DataView');
    };
    expect(errnoOf(() => s.mm.load(vma, vma.start))).toBe('EFAULT');
  });

  it('an mm that cannot remap a range: the answer serves the later faults inside it until a zap', () => {
    const s = stack();
    const { file, mdev } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, 4 * PAGE);
    s.mm.load(vma, vma.start);
    expect(s.vendor.ctl.mapCalls).toBe(1);
    for (let i = 1; i < 4; i++) s.mm.load(vma, vma.start + i * PAGE);
    expect(s.vendor.ctl.mapCalls).toBe(1); // the fake vendor answered the whole 4 pages
    expect(s.mm.ptes.get(vma.start / PAGE + 3)).toBe(VRAM_PFN + 3);
    // The vendor revokes page 2: that answer is forgotten, the next fault asks again.
    mdev.invalidateMapping(BAR2 + BigInt(2 * PAGE), BigInt(PAGE));
    s.mm.load(vma, vma.start + 2 * PAGE);
    expect(s.vendor.ctl.mapCalls).toBe(2);
  });
});
