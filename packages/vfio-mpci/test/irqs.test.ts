import { EventFd } from '@tsvirt/core-bus';
import { errnoOf } from '@tsvirt/test-utils';
import {
  VFIO_DEVICE_SET_IRQS,
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_ERR_IRQ_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX,
  VFIO_PCI_REQ_IRQ_INDEX,
  type VfioIrqSet,
} from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import { mpciIrqs } from '../src/index.ts';
import { BAR0, CFG, openMdev, REG_ACK, REG_RAISE, stack } from './fake-vendor.ts';

const NONE = VFIO_IRQ_SET_DATA_NONE;
const BOOL = VFIO_IRQ_SET_DATA_BOOL;
const EVENTFD = VFIO_IRQ_SET_DATA_EVENTFD;
const TRIGGER = VFIO_IRQ_SET_ACTION_TRIGGER;
const MASK = VFIO_IRQ_SET_ACTION_MASK;
const UNMASK = VFIO_IRQ_SET_ACTION_UNMASK;

function setIrqs(
  index: number,
  flags: number,
  start: number,
  count: number,
  data?: readonly number[],
  argsz?: number,
): VfioIrqSet {
  const size = flags & BOOL ? 1 : flags & EVENTFD ? 4 : 0;
  return {
    argsz: argsz ?? 20 + count * size,
    flags,
    index,
    start,
    count,
    data: data ? [...data] : undefined,
  };
}

function setup(type = 'fakegpu-pci') {
  const s = stack();
  const d = openMdev(s, type);
  const irqs = mpciIrqs(d.mdev)!;
  const ev = () => {
    const e = new EventFd();
    return { e, fd: s.fds.install(e) };
  };
  const set = (h: VfioIrqSet) => d.file.ioctl(VFIO_DEVICE_SET_IRQS, h);
  const reg = (off: number, v: number) => d.file.write(Uint8Array.of(v, 0, 0, 0), BAR0 + BigInt(off));
  return { s, ...d, irqs, ev, set, reg };
}

describe('vfio_set_irqs_validate_and_prepare', () => {
  it('each malformed header is EINVAL and leaves the interrupts as they were', () => {
    const t = setup();
    const { fd } = t.ev();
    const bad: [string, VfioIrqSet][] = [
      ['argsz < 20', setIrqs(0, EVENTFD | TRIGGER, 0, 1, [fd], 19)],
      ['index >= VFIO_PCI_NUM_IRQS', setIrqs(5, NONE | TRIGGER, 0, 1)],
      ['start + count wraps u32', setIrqs(1, NONE | TRIGGER, 1, 0xfffffffe)],
      ['unknown flag', setIrqs(0, EVENTFD | TRIGGER | (1 << 6), 0, 1, [fd])],
      ['start past the count', setIrqs(1, EVENTFD | TRIGGER, 4, 1, [fd])],
      ['start + count past the count', setIrqs(1, EVENTFD | TRIGGER, 2, 3, [fd, fd, fd])],
      ['two data types', setIrqs(0, NONE | BOOL | TRIGGER, 0, 1, [1])],
      ['no data type', setIrqs(0, TRIGGER, 0, 1)],
      ['argsz short of the data', setIrqs(0, EVENTFD | TRIGGER, 0, 1, [fd], 23)],
      ['bools short of the data', setIrqs(1, BOOL | TRIGGER, 0, 2, [1, 1], 21)],
      ['an index with no interrupts (MSI-X)', setIrqs(2, NONE | TRIGGER, 0, 0)],
      ['ERR on conventional PCI', setIrqs(VFIO_PCI_ERR_IRQ_INDEX, EVENTFD | TRIGGER, 0, 1, [fd])],
    ];
    for (const [why, h] of bad) {
      expect(
        errnoOf(() => t.set(h)),
        why,
      ).toBe('EINVAL');
      expect(t.irqs.type, why).toBe('none');
    }
    expect(errnoOf(() => t.set(setIrqs(0, EVENTFD | TRIGGER, 0, 1, [], 24)))).toBe('EFAULT');
    expect(errnoOf(() => t.set(null as never))).toBe('EFAULT');
    expect(t.irqs.type).toBe('none');
  });
});

describe('INTx (maskable, automasked)', () => {
  it('fires once, masks itself, and fires again after unmask only if still asserted', () => {
    const t = setup();
    const { e, fd } = t.ev();
    t.set(setIrqs(0, EVENTFD | TRIGGER, 0, 1, [fd]));
    expect(t.irqs.type).toBe('intx');
    t.reg(REG_RAISE, 1);
    expect(e.value).toBe(1n);
    expect(t.irqs.intxMasked).toBe(true);
    // Still asserted: unmask re-fires (pci_check_and_unmask_intx finds it pending).
    t.set(setIrqs(0, NONE | UNMASK, 0, 1));
    expect(e.value).toBe(2n);
    // The guest acks: the line drops; unmask leaves it quiet.
    t.reg(REG_ACK, 1);
    t.set(setIrqs(0, NONE | UNMASK, 0, 1));
    expect(t.irqs.intxMasked).toBe(false);
    expect(e.value).toBe(2n);
    t.reg(REG_RAISE, 1);
    expect(e.value).toBe(3n);
  });

  it('a MASK holds the interrupt back until UNMASK; an unmask eventfd unmasks when written', () => {
    const t = setup();
    const trig = t.ev();
    const unmask = t.ev();
    t.set(setIrqs(0, EVENTFD | TRIGGER, 0, 1, [trig.fd]));
    t.set(setIrqs(0, BOOL | MASK, 0, 1, [1]));
    t.reg(REG_RAISE, 1);
    expect(trig.e.value).toBe(0n);
    t.set(setIrqs(0, EVENTFD | UNMASK, 0, 1, [unmask.fd]));
    unmask.e.write(1n);
    expect(unmask.e.value).toBe(0n); // virqfd drains it
    expect(trig.e.value).toBe(1n);
    // fd -1 removes the unmask eventfd.
    t.set(setIrqs(0, EVENTFD | UNMASK, 0, 1, [-1]));
    unmask.e.write(1n);
    expect(unmask.e.value).toBe(1n);
    expect(t.irqs.intxMasked).toBe(true);
  });

  it('mask by eventfd is ENOTTY; mask/unmask with INTx off or not [0,1) is EINVAL', () => {
    const t = setup();
    const { fd } = t.ev();
    expect(errnoOf(() => t.set(setIrqs(0, NONE | MASK, 0, 1)))).toBe('EINVAL');
    expect(errnoOf(() => t.set(setIrqs(0, NONE | UNMASK, 0, 1)))).toBe('EINVAL');
    t.set(setIrqs(0, EVENTFD | TRIGGER, 0, 1, [fd]));
    expect(errnoOf(() => t.set(setIrqs(0, EVENTFD | MASK, 0, 1, [fd])))).toBe('ENOTTY');
    expect(errnoOf(() => t.set(setIrqs(0, NONE | MASK, 0, 0)))).toBe('EINVAL');
    expect(errnoOf(() => t.set(setIrqs(0, NONE | MASK | UNMASK, 0, 1)))).toBe('ENOTTY');
  });

  it('loopback DATA_NONE/BOOL triggers; fd -1 de-assigns; count 0 with DATA_NONE disables', () => {
    const t = setup();
    const { e, fd } = t.ev();
    expect(errnoOf(() => t.set(setIrqs(0, NONE | TRIGGER, 0, 1)))).toBe('EINVAL'); // not enabled
    t.set(setIrqs(0, EVENTFD | TRIGGER, 0, 1, [fd]));
    t.set(setIrqs(0, NONE | TRIGGER, 0, 1));
    t.set(setIrqs(0, BOOL | TRIGGER, 0, 1, [0]));
    t.set(setIrqs(0, BOOL | TRIGGER, 0, 1, [1]));
    expect(e.value).toBe(2n);
    t.set(setIrqs(0, EVENTFD | TRIGGER, 0, 1, [-1]));
    expect(t.irqs.type).toBe('intx');
    expect(t.irqs.eventfd(0)).toBeUndefined();
    t.set(setIrqs(0, NONE | TRIGGER, 0, 0));
    expect(t.irqs.type).toBe('none');
    expect(errnoOf(() => t.set(setIrqs(0, NONE | TRIGGER, 0, 0)))).toBe('EINVAL');
  });

  it('a closed fd is EBADF, a non-eventfd fd EINVAL, and the old eventfd stays', () => {
    const t = setup();
    const { e, fd } = t.ev();
    t.set(setIrqs(0, EVENTFD | TRIGGER, 0, 1, [fd]));
    expect(errnoOf(() => t.set(setIrqs(0, EVENTFD | TRIGGER, 0, 1, [99])))).toBe('EBADF');
    expect(errnoOf(() => t.set(setIrqs(0, EVENTFD | TRIGGER, 0, 1, [t.cfd])))).toBe('EINVAL');
    expect(t.irqs.eventfd(0)).toBe(e);
  });
});

describe('MSI', () => {
  it('excludes INTx; vectors are enabled start+count at a time; the device signals the vector it raises', () => {
    const t = setup();
    const a = t.ev();
    const b = t.ev();
    t.set(setIrqs(0, EVENTFD | TRIGGER, 0, 1, [a.fd]));
    expect(errnoOf(() => t.set(setIrqs(1, EVENTFD | TRIGGER, 0, 2, [a.fd, b.fd])))).toBe('EINVAL');
    t.set(setIrqs(0, NONE | TRIGGER, 0, 0));
    t.set(setIrqs(1, EVENTFD | TRIGGER, 0, 2, [a.fd, b.fd]));
    expect(t.irqs.type).toBe('msi');
    expect(t.irqs.vectorCount).toBe(2);
    // The guest enables MSI in config space; the device raises vector 1.
    t.file.write(Uint8Array.of(1), CFG + 0x52n);
    t.reg(REG_RAISE, 2);
    expect([a.e.value, b.e.value]).toEqual([0n, 1n]);
    // A vector beyond those enabled is EINVAL, INTx is EINVAL while MSI is on.
    expect(errnoOf(() => t.set(setIrqs(1, EVENTFD | TRIGGER, 2, 1, [a.fd])))).toBe('EINVAL');
    expect(errnoOf(() => t.set(setIrqs(0, EVENTFD | TRIGGER, 0, 1, [a.fd])))).toBe('EINVAL');
    // Loopback with bools, then fd -1 de-assigns vector 0.
    t.set(setIrqs(1, BOOL | TRIGGER, 0, 2, [1, 0]));
    expect([a.e.value, b.e.value]).toEqual([1n, 1n]);
    t.set(setIrqs(1, EVENTFD | TRIGGER, 0, 1, [-1]));
    expect(t.irqs.eventfd(VFIO_PCI_MSI_IRQ_INDEX, 0)).toBeUndefined();
    expect(t.irqs.eventfd(VFIO_PCI_MSI_IRQ_INDEX, 1)).toBe(b.e);
  });

  it('a bad fd in a block changes no vector; on first enable it leaves MSI off', () => {
    const t = setup();
    const a = t.ev();
    const b = t.ev();
    expect(errnoOf(() => t.set(setIrqs(1, EVENTFD | TRIGGER, 0, 2, [a.fd, 77])))).toBe('EBADF');
    expect(t.irqs.type).toBe('none');
    t.set(setIrqs(1, EVENTFD | TRIGGER, 0, 2, [a.fd, b.fd]));
    expect(errnoOf(() => t.set(setIrqs(1, EVENTFD | TRIGGER, 0, 2, [b.fd, t.gfd])))).toBe('EINVAL');
    expect(t.irqs.eventfd(1, 0)).toBe(a.e);
    expect(t.irqs.eventfd(1, 1)).toBe(b.e);
  });

  it('enabling zero vectors (start 0, count 0, DATA_EVENTFD) is ERANGE, as vfio_msi_enable(vdev, 0) gets it, and leaves MSI off', () => {
    const t = setup();
    expect(errnoOf(() => t.set(setIrqs(1, EVENTFD | TRIGGER, 0, 0, [])))).toBe('ERANGE');
    expect(t.irqs.type).toBe('none');
    expect(t.irqs.vectorCount).toBe(0);
    // INTx is still free to be enabled.
    const a = t.ev();
    t.set(setIrqs(VFIO_PCI_INTX_IRQ_INDEX, EVENTFD | TRIGGER, 0, 1, [a.fd]));
    expect(t.irqs.type).toBe('intx');
  });

  it('MSI MASK/UNMASK is ENOTTY; count 0 with DATA_NONE disables; again is EINVAL', () => {
    const t = setup();
    const a = t.ev();
    t.set(setIrqs(1, EVENTFD | TRIGGER, 0, 1, [a.fd]));
    expect(errnoOf(() => t.set(setIrqs(1, NONE | MASK, 0, 1)))).toBe('ENOTTY');
    expect(errnoOf(() => t.set(setIrqs(1, NONE | UNMASK, 0, 1)))).toBe('ENOTTY');
    t.set(setIrqs(1, NONE | TRIGGER, 0, 0));
    expect(t.irqs.type).toBe('none');
    expect(errnoOf(() => t.set(setIrqs(1, NONE | TRIGGER, 0, 0)))).toBe('EINVAL');
  });
});

describe('MSI-X', () => {
  it('enables vectors from the MSI-X table size, excludes MSI, and signals the vector raised', () => {
    const t = setup('fakegpu-pcie');
    const a = t.ev();
    const b = t.ev();
    t.set(setIrqs(VFIO_PCI_MSIX_IRQ_INDEX, EVENTFD | TRIGGER, 6, 2, [a.fd, b.fd]));
    expect(t.irqs.type).toBe('msix');
    expect(t.irqs.vectorCount).toBe(8);
    expect(errnoOf(() => t.set(setIrqs(VFIO_PCI_MSI_IRQ_INDEX, EVENTFD | TRIGGER, 0, 1, [a.fd])))).toBe(
      'EINVAL',
    );
    expect(
      errnoOf(() => t.set(setIrqs(VFIO_PCI_MSIX_IRQ_INDEX, EVENTFD | TRIGGER, 7, 2, [a.fd, b.fd]))),
    ).toBe('EINVAL');
    expect(t.irqs.trigger(VFIO_PCI_MSIX_IRQ_INDEX, 7)).toBe(true);
    expect(t.irqs.trigger(VFIO_PCI_MSIX_IRQ_INDEX, 0)).toBe(false);
    expect(t.irqs.trigger(VFIO_PCI_MSI_IRQ_INDEX, 0)).toBe(false);
    expect([a.e.value, b.e.value]).toEqual([0n, 1n]);
    t.set(setIrqs(VFIO_PCI_MSIX_IRQ_INDEX, NONE | TRIGGER, 0, 0));
    expect(t.irqs.type).toBe('none');
  });
});

describe('ERR and REQ (vfio_pci_set_ctx_trigger_single)', () => {
  it('ERR on PCIe: set, loopback, de-assign; DATA_NONE without an eventfd and count 0 with data are EINVAL', () => {
    const t = setup('fakegpu-pcie');
    const { e, fd } = t.ev();
    const ERR = VFIO_PCI_ERR_IRQ_INDEX;
    expect(errnoOf(() => t.set(setIrqs(ERR, NONE | TRIGGER, 0, 1)))).toBe('EINVAL');
    t.set(setIrqs(ERR, EVENTFD | TRIGGER, 0, 1, [fd]));
    t.set(setIrqs(ERR, NONE | TRIGGER, 0, 1));
    t.set(setIrqs(ERR, BOOL | TRIGGER, 0, 1, [1]));
    expect(e.value).toBe(2n);
    expect(errnoOf(() => t.set(setIrqs(ERR, BOOL | TRIGGER, 0, 0)))).toBe('EINVAL');
    expect(errnoOf(() => t.set(setIrqs(ERR, EVENTFD | TRIGGER, 0, 0)))).toBe('EINVAL');
    expect(errnoOf(() => t.set(setIrqs(ERR, EVENTFD | MASK, 0, 1, [fd])))).toBe('ENOTTY');
    // fd < -1 is ignored, -1 de-assigns.
    t.set(setIrqs(ERR, EVENTFD | TRIGGER, 0, 1, [-5]));
    expect(t.irqs.eventfd(ERR)).toBe(e);
    t.set(setIrqs(ERR, EVENTFD | TRIGGER, 0, 1, [-1]));
    expect(t.irqs.eventfd(ERR)).toBeUndefined();
    // DATA_NONE with count 0 also drops it.
    t.set(setIrqs(ERR, EVENTFD | TRIGGER, 0, 1, [fd]));
    t.set(setIrqs(ERR, NONE | TRIGGER, 0, 0));
    expect(t.irqs.eventfd(ERR)).toBeUndefined();
    expect(t.irqs.trigger(ERR)).toBe(false);
  });

  it('REQ is signalled when the device is being removed under an open file', () => {
    const t = setup();
    const { e, fd } = t.ev();
    t.set(setIrqs(VFIO_PCI_REQ_IRQ_INDEX, EVENTFD | TRIGGER, 0, 1, [fd]));
    t.s.mdevs.unregisterParent('fakegpu');
    expect(e.value).toBe(1n);
  });

  it('closing the device turns every interrupt off', () => {
    const t = setup();
    const a = t.ev();
    t.set(setIrqs(VFIO_PCI_INTX_IRQ_INDEX, EVENTFD | TRIGGER, 0, 1, [a.fd]));
    t.s.fds.close(t.dfd);
    expect(t.irqs.type).toBe('none');
    expect(t.irqs.trigger(VFIO_PCI_INTX_IRQ_INDEX)).toBe(false);
  });
});
