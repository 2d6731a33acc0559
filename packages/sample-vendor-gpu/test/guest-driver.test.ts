import {
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
} from '@tsvirt/iommu-type1';
import { MdevSysfs } from '@tsvirt/mdev-core';
import {
  ioctl,
  VFIO_DEVICE_QUERY_GFX_PLANE,
  VFIO_DEVICE_RESET,
  VFIO_GFX_PLANE_TYPE_REGION,
  VFIO_PCI_BAR2_REGION_INDEX,
} from '@tsvirt/vfio-core';
import { expect, it } from 'vitest';
import {
  DRM_FORMAT_XRGB8888,
  INT_ERROR,
  INT_FENCE,
  OP_COPY_FROM_VRAM,
  OP_COPY_TO_VRAM,
  OP_FENCE,
  OP_FILL,
  REG_ERROR_CODE,
  REG_FENCE_VALUE,
  REG_ID,
  REG_INT_ENABLE,
  REG_INT_STATUS,
  REG_MODE_ENABLE,
  REG_MODE_FORMAT,
  REG_MODE_HEIGHT,
  REG_MODE_OFFSET,
  REG_MODE_STRIDE,
  REG_MODE_WIDTH,
  REG_RING_BASE_HI,
  REG_RING_BASE_LO,
  REG_RING_HEAD,
  REG_RING_SIZE,
  REG_RING_TAIL,
  REG_VRAM_SIZE,
  sampleGpuOf,
} from '../src/index.ts';
import { BAR0, BAR2, CFG, cmd, host, openDevice, RAM_IOVA, RAM_SIZE, UUIDS } from './stack.ts';

const PAGE = 4096n;

it('drives the GPU as a guest driver would, through the VFIO device API only', () => {
  // Create the mdev as userspace does: a UUID written to the type's `create`.
  const h = host();
  new MdevSysfs(h.mdevs).write(
    '/sys/class/mdev_bus/sample-gpu/mdev_supported_types/sample_gpu-small/create',
    `${UUIDS[0]}\n`,
  );
  const mdev = h.mdevs.device(UUIDS[0]!)!;
  const g = { h, mdev, ...openDevice(h, mdev) };
  g.wr16(CFG + 4n, 0x6); // memory decode + bus master, as the guest's PCI setup
  const { wr32, rd32 } = g;
  expect(rd32(BAR0 + BigInt(REG_ID))).toBe(0x7e570001);
  expect(rd32(BAR0 + BigInt(REG_VRAM_SIZE))).toBe(4 << 20);

  // Program a 64x32 mode at VRAM offset 0.
  wr32(BAR0 + BigInt(REG_MODE_WIDTH), 64);
  wr32(BAR0 + BigInt(REG_MODE_HEIGHT), 32);
  wr32(BAR0 + BigInt(REG_MODE_STRIDE), 256);
  wr32(BAR0 + BigInt(REG_MODE_FORMAT), DRM_FORMAT_XRGB8888);
  wr32(BAR0 + BigInt(REG_MODE_OFFSET), 0);
  wr32(BAR0 + BigInt(REG_MODE_ENABLE), 1);
  expect(rd32(BAR0 + BigInt(REG_MODE_ENABLE))).toBe(1);
  const plane = {
    argsz: 64,
    flags: VFIO_GFX_PLANE_TYPE_REGION,
    drm_plane_type: 0,
    drm_format: 0,
    drm_format_mod: 1n,
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
  };
  g.device.ioctl(VFIO_DEVICE_QUERY_GFX_PLANE, plane);
  expect(plane).toMatchObject({
    drm_format: DRM_FORMAT_XRGB8888,
    drm_format_mod: 0n,
    width: 64,
    height: 32,
    stride: 256,
    size: 256 * 32,
    region_index: VFIO_PCI_BAR2_REGION_INDEX,
  });

  // Start dirty tracking, as a migration would.
  ioctl(g.fds, g.cfd, VFIO_IOMMU_DIRTY_PAGES, { argsz: 8, flags: VFIO_IOMMU_DIRTY_PAGES_FLAG_START });

  // Ring of 16 entries at RAM page 0; a source image at page 4; the copy-back target at page 8.
  const ring = RAM_IOVA;
  const src = RAM_IOVA + 4n * PAGE;
  const dst = RAM_IOVA + 8n * PAGE;
  const image = new Uint8Array(256);
  for (let i = 0; i < 256; i++) image[i] = (i * 7 + 3) & 0xff;
  g.guestWrite(src, image);
  wr32(BAR0 + BigInt(REG_RING_BASE_LO), Number(ring & 0xffffffffn));
  wr32(BAR0 + BigInt(REG_RING_BASE_HI), Number(ring >> 32n));
  wr32(BAR0 + BigInt(REG_RING_SIZE), 16);
  wr32(BAR0 + BigInt(REG_INT_ENABLE), INT_FENCE | INT_ERROR);
  const cmds = [
    cmd(OP_FILL, { vram: 0, length: 256 * 32, value: 0x00336699 }),
    cmd(OP_COPY_TO_VRAM, { addr: src, vram: 256 * 5, length: 256 }),
    cmd(OP_COPY_FROM_VRAM, { addr: dst, vram: 256 * 5, length: 256 }),
    cmd(OP_FENCE, { value: 0xf00d }),
  ];
  for (const [i, c] of cmds.entries()) g.guestWrite(ring + BigInt(i * 32), c);
  expect(g.intx.value).toBe(0n);
  wr32(BAR0 + BigInt(REG_RING_TAIL), cmds.length);
  // The doorbell only queued the work; the engine runs on the host workqueue.
  g.drain();

  // The fence interrupt arrived on the INTx eventfd; HEAD caught up.
  expect(g.intx.read()).toBe(1n);
  expect(rd32(BAR0 + BigInt(REG_RING_HEAD))).toBe(4);
  expect(rd32(BAR0 + BigInt(REG_FENCE_VALUE))).toBe(0xf00d);
  expect(rd32(BAR0 + BigInt(REG_INT_STATUS))).toBe(INT_FENCE);
  expect(rd32(BAR0 + BigInt(REG_ERROR_CODE))).toBe(0);

  // VRAM as seen through the device fd (BAR2): the fill and the copied row.
  const row = new Uint8Array(256);
  g.device.read(row, BAR2 + 256n * 5n);
  expect(row).toEqual(image);
  const px = new Uint8Array(4);
  g.device.read(px, BAR2 + 256n * 31n + 252n);
  expect([...px]).toEqual([0x99, 0x66, 0x33, 0x00]);
  expect(g.guestRead(dst, 256)).toEqual(image);

  // The dirty bitmap has exactly the page the device wrote (page 8), not the ones it only read.
  const bitmap = { pgsize: PAGE, size: 128n, data: new Uint8Array(128) };
  ioctl(g.fds, g.cfd, VFIO_IOMMU_DIRTY_PAGES, {
    argsz: 48,
    flags: VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
    data: { iova: RAM_IOVA, size: BigInt(RAM_SIZE), bitmap },
  });
  const want = new Uint8Array(128);
  want[1] = 1;
  expect(bitmap.data).toEqual(want);

  // The display as RGBA for a screenshot: XRGB 0x336699 -> R 0x33 G 0x66 B 0x99.
  const snap = sampleGpuOf(g.mdev).displaySnapshot()!;
  expect(snap.width).toBe(64);
  expect(snap.height).toBe(32);
  expect([...snap.rgba.subarray(0, 4)]).toEqual([0x33, 0x66, 0x99, 255]);

  // Save, reset (everything off), restore: the state and VRAM come back.
  const blob = sampleGpuOf(g.mdev).save();
  g.device.ioctl(VFIO_DEVICE_RESET, undefined);
  g.wr16(CFG + 4n, 0x6); // memory decode back on, to look
  expect(rd32(BAR0 + BigInt(REG_MODE_ENABLE))).toBe(0);
  expect(rd32(BAR0 + BigInt(REG_RING_SIZE))).toBe(0);
  expect(sampleGpuOf(g.mdev).displaySnapshot()).toBeUndefined();
  g.device.write(new Uint8Array(256), BAR2 + 256n * 5n);
  sampleGpuOf(g.mdev).restore(blob);
  expect(rd32(BAR0 + BigInt(REG_MODE_ENABLE))).toBe(1);
  expect(rd32(BAR0 + BigInt(REG_FENCE_VALUE))).toBe(0xf00d);
  expect(rd32(BAR0 + BigInt(REG_RING_HEAD))).toBe(4);
  g.device.read(row, BAR2 + 256n * 5n);
  expect(row).toEqual(image);
});
