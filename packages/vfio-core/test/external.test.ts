import { Device } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import {
  IOMMU_READ,
  IOMMU_WRITE,
  ioctl,
  VFIO_GROUP_NOTIFY,
  VFIO_GROUP_NOTIFY_SET_KVM,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_IOMMU_NOTIFY,
  VFIO_IOMMU_NOTIFY_DMA_UNMAP,
  VFIO_PIN_PAGES_MAX_ENTRIES,
  vfio_dma_rw,
  vfio_file_set_kvm,
  vfio_pin_pages,
  vfio_register_notifier,
  vfio_unpin_pages,
  vfio_unregister_notifier,
} from '../src/index.ts';
import { attach, openDevice, setup } from './helpers.ts';

/** Container with a backend, and the device open (the vendor API is for open devices). */
function ready(s: ReturnType<typeof setup>) {
  const fds = attach(s);
  return { ...fds, dfd: openDevice(s, fds.gfd) };
}

const RW = IOMMU_READ | IOMMU_WRITE;
const code = (c: string) => expect.objectContaining({ code: c });

describe('vfio_pin_pages / vfio_unpin_pages', () => {
  it('pins through the container backend and returns host pfns', () => {
    const s = setup();
    ready(s);
    expect(vfio_pin_pages(s.vdev, [0x10, 0x11], RW)).toEqual([0x80010, 0x80011]);
    expect(s.drv.instances[0]!.pins.get(0x10)).toBe(1);
    expect(vfio_unpin_pages(s.vdev, [0x10, 0x11])).toBe(2);
    expect(s.drv.instances[0]!.pins.size).toBe(0);
  });

  it('no pages is EINVAL, more than VFIO_PIN_PAGES_MAX_ENTRIES E2BIG, exactly the maximum is fine', () => {
    const s = setup();
    ready(s);
    const inst = s.drv.instances[0]!;
    expect(() => vfio_pin_pages(s.vdev, [], RW)).toThrow(code('EINVAL'));
    const tooMany = Array.from({ length: VFIO_PIN_PAGES_MAX_ENTRIES + 1 }, (_, i) => i);
    expect(() => vfio_pin_pages(s.vdev, tooMany, RW)).toThrow(code('E2BIG'));
    expect(() => vfio_unpin_pages(s.vdev, tooMany)).toThrow(code('E2BIG'));
    expect(() => vfio_unpin_pages(s.vdev, [])).toThrow(code('EINVAL'));
    expect(inst.pins.size).toBe(0);
    expect(vfio_pin_pages(s.vdev, tooMany.slice(1), RW)).toHaveLength(512);
  });

  it('a device that is not open (so maybe without container or backend) is EINVAL', () => {
    const s = setup();
    expect(() => vfio_pin_pages(s.vdev, [1], RW)).toThrow(code('EINVAL'));
    const { gfd } = attach(s);
    expect(() => vfio_pin_pages(s.vdev, [1], RW)).toThrow(code('EINVAL'));
    expect(() => vfio_unpin_pages(s.vdev, [1])).toThrow(code('EINVAL'));
    expect(() => vfio_dma_rw(s.vdev, 0n, new Uint8Array(1), false)).toThrow(code('EINVAL'));
    expect(s.drv.instances[0]!.pins.size).toBe(0);
    // Open then closed again: refused again.
    s.fds.close(openDevice(s, gfd));
    expect(() => vfio_pin_pages(s.vdev, [1], RW)).toThrow(code('EINVAL'));
  });

  it('a group with more than one device may not pin (EINVAL)', () => {
    const s = setup();
    const d2 = new Device('0000:00:05.1', 'pci');
    s.core.iommuGroups.addDevice(s.ig, d2);
    s.core.registerGroupDev(d2, {});
    ready(s);
    expect(() => vfio_pin_pages(s.vdev, [1], RW)).toThrow(code('EINVAL'));
    expect(s.drv.instances[0]!.pins.size).toBe(0);
  });

  it("the backend's own refusal comes back; calls leave no container user behind", () => {
    const s = setup();
    const { gfd, dfd } = ready(s);
    expect(() => vfio_pin_pages(s.vdev, [1], 0)).toThrow(code('EPERM'));
    vfio_pin_pages(s.vdev, [1], RW);
    vfio_unpin_pages(s.vdev, [1]);
    expect(s.vdev.group.containerUsers).toBe(2);
    s.fds.close(dfd);
    expect(ioctl(s.fds, gfd, VFIO_GROUP_UNSET_CONTAINER)).toBe(0);
  });
});

describe('vfio_dma_rw', () => {
  it('writes then reads back user memory through the backend', () => {
    const s = setup();
    ready(s);
    vfio_dma_rw(s.vdev, 0x100n, Uint8Array.of(1, 2, 3), true);
    const back = new Uint8Array(3);
    vfio_dma_rw(s.vdev, 0x100n, back, false);
    expect([...back]).toEqual([1, 2, 3]);
  });

  it('empty data or a negative iova is EINVAL; backend faults pass through', () => {
    const s = setup();
    ready(s);
    expect(() => vfio_dma_rw(s.vdev, 0n, new Uint8Array(0), true)).toThrow(code('EINVAL'));
    expect(() => vfio_dma_rw(s.vdev, -1n, new Uint8Array(1), true)).toThrow(code('EINVAL'));
    expect(() => vfio_dma_rw(s.vdev, 0x10000n, new Uint8Array(1), true)).toThrow(code('EFAULT'));
  });
});

describe('vfio_register_notifier', () => {
  it('an IOMMU notifier hears DMA unmaps from the backend until unregistered', () => {
    const s = setup();
    ready(s);
    const seen: bigint[] = [];
    const nb = (ev: number, d: unknown) => {
      expect(ev).toBe(VFIO_IOMMU_NOTIFY_DMA_UNMAP);
      seen.push((d as { iova: bigint }).iova);
    };
    vfio_register_notifier(s.vdev, VFIO_IOMMU_NOTIFY, VFIO_IOMMU_NOTIFY_DMA_UNMAP, nb);
    s.drv.instances[0]!.notifyUnmap({ iova: 0x1000n, size: 0x1000n });
    vfio_unregister_notifier(s.vdev, VFIO_IOMMU_NOTIFY, nb);
    s.drv.instances[0]!.notifyUnmap({ iova: 0x2000n, size: 0x1000n });
    expect(seen).toEqual([0x1000n]);
  });

  it('no events, an unknown type, unknown events, or a device not open: EINVAL', () => {
    const s = setup();
    const nb = () => {};
    expect(() => vfio_register_notifier(s.vdev, VFIO_IOMMU_NOTIFY, 1, nb)).toThrow(code('EINVAL'));
    ready(s);
    expect(() => vfio_register_notifier(s.vdev, VFIO_IOMMU_NOTIFY, 0, nb)).toThrow(code('EINVAL'));
    expect(() => vfio_register_notifier(s.vdev, 7, 1, nb)).toThrow(code('EINVAL'));
    expect(() => vfio_register_notifier(s.vdev, VFIO_IOMMU_NOTIFY, 2, nb)).toThrow(code('EINVAL'));
    expect(() => vfio_register_notifier(s.vdev, VFIO_GROUP_NOTIFY, 2, nb)).toThrow(code('EINVAL'));
    expect(s.drv.instances[0]!.notifiers.size).toBe(0);
    expect(s.vdev.group.notifiers.size).toBe(0);
  });

  it('a group notifier hears SET_KVM, replayed at once when KVM is already set', () => {
    const s = setup();
    const { gfd } = ready(s);
    const kvm = { name: 'vm0' };
    const seen: unknown[] = [];
    vfio_file_set_kvm(s.fds.get(gfd), kvm);
    vfio_register_notifier(s.vdev, VFIO_GROUP_NOTIFY, VFIO_GROUP_NOTIFY_SET_KVM, (ev, d) =>
      seen.push([ev, d]),
    );
    expect(seen).toEqual([[VFIO_GROUP_NOTIFY_SET_KVM, kvm]]);
    vfio_file_set_kvm(s.fds.get(gfd), undefined);
    expect(seen).toEqual([
      [VFIO_GROUP_NOTIFY_SET_KVM, kvm],
      [VFIO_GROUP_NOTIFY_SET_KVM, undefined],
    ]);
    // Closing the group fd while the device is open keeps the chain (the
    // driver still holds it); a later open of the group starts a fresh one.
    s.fds.close(gfd);
    expect(s.vdev.group.notifiers.size).toBe(1);
    s.fds.closeAll();
    s.core.open(s.fds, '/dev/vfio/5');
    expect(s.vdev.group.notifiers.size).toBe(0);
  });
});
