import { errnoOf } from '@tsvirt/test-utils';
import {
  ioctl,
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_QUERY_GFX_PLANE,
  VFIO_DEVICE_RESET,
  VFIO_GFX_PLANE_TYPE_DMABUF,
  VFIO_GFX_PLANE_TYPE_PROBE,
  VFIO_GFX_PLANE_TYPE_REGION,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_NORESIZE,
  VFIO_PCI_INDEX_TO_OFFSET,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_INFO_FLAG_CAPS,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  VFIO_REGION_SUBTYPE_GFX_EDID,
  VFIO_REGION_TYPE_GFX,
  type VfioDeviceGfxPlaneInfo,
} from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import { mpciDevice, PCI_CAP_ID_MSI, pciFindCapability, type VfioRegionInfoWithCaps } from '../src/index.ts';
import {
  BAR0,
  BAR0_SIZE,
  BAR2_SIZE,
  CFG,
  EDID_INDEX,
  ID_VALUE,
  openMdev,
  REG_ID,
  stack,
  UUID,
} from './fake-vendor.ts';

const RW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
const regionInfo = (index: number, argsz = 32): VfioRegionInfoWithCaps => ({
  argsz,
  flags: 0xdead,
  index,
  cap_offset: 0xbeef,
  size: 7n,
  offset: 7n,
});

describe('binding (the mdev bus driver)', () => {
  it('binds vfio-pci mdevs and registers them with VFIO in the mdev IOMMU group', () => {
    const s = stack();
    const mdev = s.mdevs.createDevice('fakegpu', 'fakegpu-pci', UUID);
    expect(mdev.driver?.name).toBe('vfio_mpci');
    expect(s.vfio.groupIds()).toEqual([mdev.iommuGroup!.id]);
    expect(s.driver.vfioDevice(mdev)?.group.iommuGroup).toBe(mdev.iommuGroup);
    expect(mpciDevice(mdev)).toBeDefined();
  });

  it('a parent without the PCI ops fails the probe (ENODEV) and stays unbound', () => {
    const s = stack();
    s.mdevs.registerParent({
      name: 'plain',
      ops: { create() {}, remove() {} },
      types: [{ id: 'x', deviceApi: 'vfio-pci' }],
    });
    const mdev = s.mdevs.createDevice('plain', 'plain-x', UUID);
    expect(mdev.driver).toBeUndefined();
    expect(mdev.probeErrors.get('vfio_mpci')?.code).toBe('ENODEV');
    expect(s.vfio.groupIds()).toEqual([]);
  });
});

describe('open/release', () => {
  it('region info is asked of the vendor on first open only, and again after the last close', () => {
    const s = stack();
    let asked = 0;
    const orig = s.vendor.ops.getRegionInfo;
    s.vendor.ops.getRegionInfo = (m, i) => {
      asked++;
      return orig(m, i);
    };
    const { file, state, dfd, gfd } = openMdev(s);
    expect(asked).toBe(10);
    expect(state.opens).toBe(1);
    // A second device fd is not a first open.
    const dfd2 = ioctl(s.fds, gfd, VFIO_GROUP_GET_DEVICE_FD, UUID);
    file.ioctl(VFIO_DEVICE_GET_REGION_INFO, regionInfo(0));
    expect(asked).toBe(10);
    expect(state.opens).toBe(1);
    s.fds.close(dfd);
    expect(state.opens).toBe(1);
    s.fds.close(dfd2);
    expect(state.opens).toBe(0);
    expect(mpciDevice(s.mdevs.device(UUID)!)?.isOpen).toBe(false);
    ioctl(s.fds, gfd, VFIO_GROUP_GET_DEVICE_FD, UUID);
    expect(asked).toBe(20);
    expect(state.opens).toBe(1);
  });
});

describe('VFIO_DEVICE_GET_INFO', () => {
  it('reports a PCI device with reset, 9 + 1 regions and 5 irq indexes', () => {
    const s = stack();
    const { file } = openMdev(s);
    const info = { argsz: 16, flags: 0, num_regions: 0, num_irqs: 0, cap_offset: 0, pad: 0 };
    expect(file.ioctl(VFIO_DEVICE_GET_INFO, info)).toBe(0);
    expect(info).toMatchObject({ argsz: 16, flags: VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET });
    expect(info.num_regions).toBe(10);
    expect(info.num_irqs).toBe(5);
  });

  it('argsz below 16 is EINVAL and nothing is written', () => {
    const s = stack();
    const { file } = openMdev(s);
    const info = { argsz: 15, flags: 3, num_regions: 3, num_irqs: 3, cap_offset: 0, pad: 0 };
    expect(errnoOf(() => file.ioctl(VFIO_DEVICE_GET_INFO, info))).toBe('EINVAL');
    expect(info).toMatchObject({ flags: 3, num_regions: 3, num_irqs: 3 });
    expect(errnoOf(() => file.ioctl(VFIO_DEVICE_GET_INFO, null))).toBe('EFAULT');
  });

  it('without a vendor reset there is no RESET flag and VFIO_DEVICE_RESET is EINVAL', () => {
    const s = stack({ noReset: true });
    const { file } = openMdev(s);
    const info = { argsz: 16, flags: 0, num_regions: 0, num_irqs: 0, cap_offset: 0, pad: 0 };
    file.ioctl(VFIO_DEVICE_GET_INFO, info);
    expect(info.flags).toBe(VFIO_DEVICE_FLAGS_PCI);
    expect(errnoOf(() => file.ioctl(VFIO_DEVICE_RESET))).toBe('EINVAL');
  });
});

describe('VFIO_DEVICE_GET_REGION_INFO', () => {
  it('config space and a trapped BAR: offset index << 40, size, read/write only', () => {
    const s = stack();
    const { file } = openMdev(s);
    const cfg = regionInfo(7);
    file.ioctl(VFIO_DEVICE_GET_REGION_INFO, cfg);
    expect(cfg).toMatchObject({ argsz: 32, flags: RW, size: 256n, offset: 7n << 40n, cap_offset: 0xbeef });
    const bar0 = regionInfo(0);
    file.ioctl(VFIO_DEVICE_GET_REGION_INFO, bar0);
    expect(bar0).toMatchObject({ flags: RW, size: BAR0_SIZE, offset: 0n });
    const bar1 = regionInfo(1);
    file.ioctl(VFIO_DEVICE_GET_REGION_INFO, bar1);
    expect(bar1).toMatchObject({ flags: 0, size: 0n, offset: 1n << 40n });
  });

  it('an mmap-able BAR with a sparse-mmap capability: too small argsz gets the size needed', () => {
    const s = stack();
    const { file } = openMdev(s);
    const small = regionInfo(2);
    file.ioctl(VFIO_DEVICE_GET_REGION_INFO, small);
    expect(small).toMatchObject({
      argsz: 32 + 32,
      cap_offset: 0,
      flags: RW | VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS,
      size: BAR2_SIZE,
    });
    expect(small.caps).toBeUndefined();
    const full = regionInfo(2, small.argsz);
    file.ioctl(VFIO_DEVICE_GET_REGION_INFO, full);
    expect(full.cap_offset).toBe(32);
    expect(full.argsz).toBe(64);
    expect(full.caps).toEqual([
      {
        header: { id: VFIO_REGION_INFO_CAP_SPARSE_MMAP, version: 1, next: 0 },
        nr_areas: 1,
        reserved: 0,
        areas: [{ offset: 0n, size: BAR2_SIZE }],
      },
    ]);
  });

  it('a device-specific region carries its type capability', () => {
    const s = stack();
    const { file } = openMdev(s);
    const r = regionInfo(EDID_INDEX, 100);
    file.ioctl(VFIO_DEVICE_GET_REGION_INFO, r);
    expect(r).toMatchObject({
      argsz: 100,
      offset: VFIO_PCI_INDEX_TO_OFFSET(9),
      size: 0x100n,
      cap_offset: 32,
    });
    expect(r.flags).toBe(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_CAPS);
    // Read-only: reads reach the vendor, writes are EINVAL.
    expect(file.read(new Uint8Array(4), VFIO_PCI_INDEX_TO_OFFSET(EDID_INDEX))).toBe(4);
    expect(errnoOf(() => file.write(new Uint8Array(4), VFIO_PCI_INDEX_TO_OFFSET(EDID_INDEX)))).toBe('EINVAL');
    expect(r.caps).toEqual([
      {
        header: { id: VFIO_REGION_INFO_CAP_TYPE, version: 1, next: 0 },
        type: VFIO_REGION_TYPE_GFX,
        subtype: VFIO_REGION_SUBTYPE_GFX_EDID,
      },
    ]);
  });

  it('ROM, VGA, an index past the last region and argsz below 32 are EINVAL, with nothing written', () => {
    const s = stack();
    const { file } = openMdev(s);
    for (const [index, argsz] of [
      [6, 32],
      [8, 32],
      [10, 32],
      [-1, 32],
      [0, 31],
    ] as const) {
      const r = regionInfo(index, argsz);
      expect(
        errnoOf(() => file.ioctl(VFIO_DEVICE_GET_REGION_INFO, r)),
        `index ${index}`,
      ).toBe('EINVAL');
      expect(r).toEqual(regionInfo(index, argsz));
    }
  });
});

describe('VFIO_DEVICE_GET_IRQ_INFO (counts from the capability list)', () => {
  const irq = (index: number, argsz = 16) => ({ argsz, flags: 0, index, count: 0 });

  it('INTx pin A: one, maskable and automasked; MSI: 4 from Multiple Message Capable; REQ one', () => {
    const s = stack();
    const { file } = openMdev(s);
    const expected: [number, number, number][] = [
      [0, 1, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED],
      [1, 4, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE],
      [2, 0, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE],
      [4, 1, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE],
    ];
    for (const [index, count, flags] of expected) {
      const i = irq(index);
      file.ioctl(VFIO_DEVICE_GET_IRQ_INFO, i);
      expect(i, `index ${index}`).toEqual({ argsz: 16, flags, index, count });
    }
  });

  it('ERR exists only on PCI Express: EINVAL on conventional PCI, one on PCIe', () => {
    const s = stack();
    const { file } = openMdev(s);
    expect(errnoOf(() => file.ioctl(VFIO_DEVICE_GET_IRQ_INFO, irq(3)))).toBe('EINVAL');
    const e = openMdev(s, 'fakegpu-pcie', '00000000-0000-4000-8000-0000000000e1');
    const i = irq(3);
    e.file.ioctl(VFIO_DEVICE_GET_IRQ_INFO, i);
    expect(i.count).toBe(1);
    // Its MSI-X capability, found past the PCIe one, has a table of 8.
    const x = irq(2);
    e.file.ioctl(VFIO_DEVICE_GET_IRQ_INFO, x);
    expect(x.count).toBe(8);
  });

  it('an index past the last and argsz below 16 are EINVAL, with nothing written', () => {
    const s = stack();
    const { file } = openMdev(s);
    for (const i of [irq(5), irq(0, 15)]) {
      expect(errnoOf(() => file.ioctl(VFIO_DEVICE_GET_IRQ_INFO, i))).toBe('EINVAL');
      expect(i.flags).toBe(0);
    }
  });

  it('no INTx pin and no capability list: zero INTx and MSI', () => {
    const s = stack();
    const { file, state } = openMdev(s);
    state.config[0x3d] = 0;
    state.config[0x06] = 0;
    for (const index of [0, 1]) {
      const i = irq(index);
      file.ioctl(VFIO_DEVICE_GET_IRQ_INFO, i);
      expect(i.count).toBe(0);
    }
  });

  it('pci_find_capability stops on a looped list and on pointers below 0x40', () => {
    const cfg = new Uint8Array(256);
    cfg[6] = 0x10;
    cfg[0x34] = 0x40;
    cfg[0x40] = 0x01;
    cfg[0x41] = 0x40; // points at itself
    expect(pciFindCapability((o) => cfg[o]!, PCI_CAP_ID_MSI)).toBe(0);
    cfg[0x41] = 0x23; // below 0x40: end of list
    expect(pciFindCapability((o) => cfg[o]!, PCI_CAP_ID_MSI)).toBe(0);
    cfg[0x41] = 0x53; // low bits are masked off
    cfg[0x50] = PCI_CAP_ID_MSI;
    expect(pciFindCapability((o) => cfg[o]!, PCI_CAP_ID_MSI)).toBe(0x50);
  });
});

describe('read/write (index << 40, split into aligned 4/2/1-byte accesses)', () => {
  it('splits an unaligned access into naturally aligned pieces', () => {
    const s = stack();
    const { file } = openMdev(s);
    s.vendor.log.length = 0;
    const buf = new Uint8Array(7);
    expect(file.read(buf, CFG + 1n)).toBe(7);
    expect(s.vendor.log).toEqual(['r1 0x70000000001', 'r2 0x70000000002', 'r4 0x70000000004']);
    expect(buf.subarray(1, 3)).toEqual(Uint8Array.of(0xe1, 0x11));
    s.vendor.log.length = 0;
    file.write(Uint8Array.of(1, 2, 3, 4, 5, 6), BAR0 + 4n);
    expect(s.vendor.log).toEqual(['w4 0x4', 'w2 0x8']);
  });

  it('reads a register through the whole path', () => {
    const s = stack();
    const { file } = openMdev(s);
    const buf = new Uint8Array(4);
    file.read(buf, BAR0 + BigInt(REG_ID));
    expect(new DataView(buf.buffer).getUint32(0, true)).toBe(ID_VALUE);
  });

  it('an access running over the end of a region is cut short; one past it is EINVAL', () => {
    const s = stack();
    const { file } = openMdev(s);
    expect(file.read(new Uint8Array(8), BAR0 + BAR0_SIZE - 2n)).toBe(2);
    expect(errnoOf(() => file.read(new Uint8Array(1), BAR0 + BAR0_SIZE))).toBe('EINVAL');
  });

  it('regions that do not exist or are refused are EINVAL: empty BAR, ROM, VGA, past the last', () => {
    const s = stack();
    const { file } = openMdev(s);
    for (const index of [1, 6, 8, 10]) {
      expect(
        errnoOf(() => file.read(new Uint8Array(4), VFIO_PCI_INDEX_TO_OFFSET(index))),
        `index ${index}`,
      ).toBe('EINVAL');
      expect(errnoOf(() => file.write(new Uint8Array(4), VFIO_PCI_INDEX_TO_OFFSET(index)))).toBe('EINVAL');
    }
    expect(errnoOf(() => file.read(new Uint8Array(4), 1n << 60n))).toBe('EINVAL');
    expect(errnoOf(() => file.read(new Uint8Array(4), -4n))).toBe('EINVAL');
  });

  it('a vendor that transfers nothing makes the access EFAULT', () => {
    const s = stack();
    const { file } = openMdev(s);
    s.vendor.ctl.failRead = true;
    expect(errnoOf(() => file.read(new Uint8Array(4), BAR0))).toBe('EFAULT');
  });
});

describe('VFIO_DEVICE_RESET, QUERY_GFX_PLANE and unknown ioctls', () => {
  it('reset reaches the vendor', () => {
    const s = stack();
    const { file, state } = openMdev(s);
    file.write(Uint8Array.of(9, 9, 9, 9), BAR0 + 4n);
    expect(file.ioctl(VFIO_DEVICE_RESET)).toBe(0);
    expect(state.resets).toBe(1);
    const b = new Uint8Array(4);
    file.read(b, BAR0 + 4n);
    expect(b).toEqual(new Uint8Array(4));
  });

  const plane = (flags: number, argsz = 64): VfioDeviceGfxPlaneInfo => ({
    argsz,
    flags,
    drm_plane_type: 1,
    drm_format: 0,
    drm_format_mod: 0n,
    width: 0,
    height: 0,
    stride: 0,
    size: 0,
    x_pos: 0,
    y_pos: 0,
    x_hot: 0,
    y_hot: 0,
    region_index: 0,
    reserved: 0,
  });

  it('a display device answers PROBE for region planes and describes its plane', () => {
    const s = stack();
    const { file } = openMdev(s);
    expect(
      file.ioctl(VFIO_DEVICE_QUERY_GFX_PLANE, plane(VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_REGION)),
    ).toBe(0);
    expect(
      errnoOf(() =>
        file.ioctl(
          VFIO_DEVICE_QUERY_GFX_PLANE,
          plane(VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_DMABUF),
        ),
      ),
    ).toBe('EINVAL');
    expect(errnoOf(() => file.ioctl(VFIO_DEVICE_QUERY_GFX_PLANE, plane(VFIO_GFX_PLANE_TYPE_DMABUF)))).toBe(
      'EINVAL',
    );
    const small = plane(VFIO_GFX_PLANE_TYPE_REGION, 59);
    expect(errnoOf(() => file.ioctl(VFIO_DEVICE_QUERY_GFX_PLANE, small))).toBe('EINVAL');
    expect(small.width).toBe(0);
    const p = plane(VFIO_GFX_PLANE_TYPE_REGION, 60);
    file.ioctl(VFIO_DEVICE_QUERY_GFX_PLANE, p);
    expect(p).toMatchObject({ width: 64, height: 32, stride: 256, size: 8192, region_index: 2 });
  });

  it('a device that is not a display answers QUERY_GFX_PLANE with ENOTTY, as any unknown ioctl', () => {
    const s = stack({ noDisplay: true });
    const { file } = openMdev(s);
    expect(errnoOf(() => file.ioctl(VFIO_DEVICE_QUERY_GFX_PLANE, plane(VFIO_GFX_PLANE_TYPE_REGION)))).toBe(
      'ENOTTY',
    );
    expect(errnoOf(() => file.ioctl(0x3b99, {}))).toBe('ENOTTY');
  });
});

describe('a vendor that describes a region wrongly', () => {
  it('fails the first open with EINVAL and leaves the device closed', () => {
    const s = stack();
    const orig = s.vendor.ops.getRegionInfo;
    s.vendor.ops.getRegionInfo = (m, i) =>
      i === 2 ? { size: 0x1000n, mmap: true, sparse: [{ offset: 0n, size: 0x2000n }] } : orig(m, i);
    expect(errnoOf(() => openMdev(s))).toBe('EINVAL');
    const mdev = s.mdevs.device(UUID)!;
    expect(mdev.openCount).toBe(0);
    expect(s.vendor.st(mdev).opens).toBe(0);
    expect(mpciDevice(mdev)?.isOpen).toBe(false);
  });
});
