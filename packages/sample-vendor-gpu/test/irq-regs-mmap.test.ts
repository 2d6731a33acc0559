import { EventFd, KernelError } from '@tsvirt/core-bus';
import { PROT_READ, PROT_WRITE } from '@tsvirt/host-mm';
import {
  VFIO_DEVICE_QUERY_GFX_PLANE,
  VFIO_DEVICE_SET_IRQS,
  VFIO_GFX_PLANE_TYPE_REGION,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  vfio_device_mmap,
} from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import {
  DRM_FORMAT_XRGB8888,
  INT_ERROR,
  INT_FENCE,
  OP_FENCE,
  REG_FENCE_VALUE,
  REG_ID,
  REG_INT_ENABLE,
  REG_INT_STATUS,
  REG_MODE_ENABLE,
  REG_MODE_FORMAT,
  REG_MODE_HEIGHT,
  REG_MODE_STRIDE,
  REG_MODE_WIDTH,
  REG_RESET,
  REG_RING_BASE_LO,
  REG_RING_HEAD,
  REG_RING_SIZE,
  REG_RING_TAIL,
  sampleGpuOf,
} from '../src/index.ts';
import { BAR0, BAR2, CFG, cmd, gpu, RAM_IOVA } from './stack.ts';

const R = (off: number) => BAR0 + BigInt(off);

/** A GPU with a ring and a helper that submits one FENCE. */
function fencing() {
  const g = gpu('small');
  g.wr32(R(REG_RING_BASE_LO), Number(RAM_IOVA & 0xffffffffn));
  g.wr32(R(0x44), Number(RAM_IOVA >> 32n));
  g.wr32(R(REG_RING_SIZE), 4);
  let tail = 0;
  const fence = (v: number) => {
    g.guestWrite(RAM_IOVA + BigInt(tail * 32), cmd(OP_FENCE, { value: v }));
    tail = (tail + 1) % 4;
    g.wr32(R(REG_RING_TAIL), tail);
    g.drain();
  };
  return { ...g, fence };
}

describe('interrupts', () => {
  it('INT_ENABLE gates the line; enabling a pending status raises INTx', () => {
    const g = fencing();
    g.fence(1);
    expect(g.rd32(R(REG_INT_STATUS))).toBe(INT_FENCE);
    expect(g.intx.value).toBe(0n);
    expect(g.rd16(CFG + 6n) & 0x8).toBe(0);
    g.wr32(R(REG_INT_ENABLE), INT_FENCE);
    expect(g.intx.read()).toBe(1n);
    expect(g.rd16(CFG + 6n) & 0x8).toBe(0x8); // Status.Interrupt follows the line
    g.wr32(R(REG_INT_STATUS), INT_FENCE);
    expect(g.rd16(CFG + 6n) & 0x8).toBe(0);
  });

  it('INTx disable in the command register masks the line; clearing it lets a high line through', () => {
    const g = fencing();
    g.wr32(R(REG_INT_ENABLE), INT_FENCE);
    g.wr16(CFG + 4n, 0x406);
    g.fence(1);
    expect(g.intx.value).toBe(0n);
    expect(g.rd16(CFG + 6n) & 0x8).toBe(0x8);
    g.wr16(CFG + 4n, 0x6);
    expect(g.intx.read()).toBe(1n);
  });

  it('with MSI enabled through SET_IRQS a FENCE signals the MSI eventfd, not INTx; masking sets Pending', () => {
    const g = fencing();
    g.wr32(R(REG_INT_ENABLE), INT_FENCE | INT_ERROR);
    // INTx off, MSI on (exclusive, as vfio-pci).
    g.device.ioctl(VFIO_DEVICE_SET_IRQS, {
      argsz: 20,
      flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
      index: VFIO_PCI_INTX_IRQ_INDEX,
      start: 0,
      count: 0,
    });
    const msi = new EventFd();
    g.device.ioctl(VFIO_DEVICE_SET_IRQS, {
      argsz: 24,
      flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
      index: VFIO_PCI_MSI_IRQ_INDEX,
      start: 0,
      count: 1,
      data: [g.fds.install(msi)],
    });
    g.fence(1);
    expect(msi.read()).toBe(1n);
    // Each event is a message, even with the status bit still set.
    g.fence(2);
    expect(msi.read()).toBe(1n);
    expect(g.intx.value).toBe(0n);
    // Per-vector mask: the message waits as Pending and goes out on unmask.
    g.wr32(CFG + 0x60n, 1);
    g.fence(3);
    expect(msi.value).toBe(0n);
    expect(g.rd32(CFG + 0x64n)).toBe(1);
    g.wr32(CFG + 0x60n, 0);
    expect(msi.read()).toBe(1n);
    expect(g.rd32(CFG + 0x64n)).toBe(0);
  });
});

describe('registers', () => {
  it('only aligned dwords decode: narrower reads are 0, narrower writes are ignored', () => {
    const g = gpu('small');
    const b = new Uint8Array(2);
    g.device.read(b, R(REG_ID));
    expect([...b]).toEqual([0, 0]);
    g.device.write(Uint8Array.of(0x40, 0), R(REG_MODE_WIDTH));
    expect(g.rd32(R(REG_MODE_WIDTH))).toBe(0);
    // Holes and write-only RESET read 0.
    expect(g.rd32(R(0x100))).toBe(0);
    expect(g.rd32(R(REG_RESET))).toBe(0);
  });

  it('RING_SIZE takes powers of two 1..4096 only, and resets HEAD and TAIL', () => {
    const g = fencing();
    g.fence(1);
    g.fence(2);
    expect(g.rd32(R(REG_RING_HEAD))).toBe(2);
    for (const bad of [0, 3, 8192, 0xffffffff]) {
      g.wr32(R(REG_RING_SIZE), bad);
      expect(g.rd32(R(REG_RING_SIZE))).toBe(4);
      expect(g.rd32(R(REG_RING_HEAD))).toBe(2);
    }
    g.wr32(R(REG_RING_SIZE), 4096);
    expect([g.rd32(R(REG_RING_SIZE)), g.rd32(R(REG_RING_HEAD)), g.rd32(R(REG_RING_TAIL))]).toEqual([
      4096, 0, 0,
    ]);
  });

  it('RESET: mode off, ring cleared, status 0; config space untouched', () => {
    const g = fencing();
    g.wr32(R(REG_INT_ENABLE), INT_FENCE);
    g.fence(9);
    g.wr32(R(REG_RESET), 1);
    for (const r of [
      REG_INT_STATUS,
      REG_INT_ENABLE,
      REG_RING_SIZE,
      REG_RING_HEAD,
      REG_FENCE_VALUE,
      REG_MODE_ENABLE,
    ])
      expect(g.rd32(R(r))).toBe(0);
    expect(g.rd16(CFG + 4n)).toBe(0x6);
  });

  it('the mode is latched at MODE_ENABLE; the plane query reports it, and format 0 when off', () => {
    const g = gpu('small');
    const plane = {
      argsz: 64,
      flags: VFIO_GFX_PLANE_TYPE_REGION,
      drm_plane_type: 0,
      drm_format: 1,
      drm_format_mod: 0n,
      width: 1,
      height: 1,
      stride: 1,
      size: 1,
      x_pos: 0,
      y_pos: 0,
      x_hot: 0,
      y_hot: 0,
      region_index: 0,
      reserved: 0,
    };
    g.device.ioctl(VFIO_DEVICE_QUERY_GFX_PLANE, plane);
    expect(plane).toMatchObject({ drm_format: 0, width: 0, height: 0, stride: 0, size: 0 });
    g.wr32(R(REG_MODE_WIDTH), 2);
    g.wr32(R(REG_MODE_HEIGHT), 2);
    g.wr32(R(REG_MODE_STRIDE), 8);
    g.wr32(R(REG_MODE_FORMAT), DRM_FORMAT_XRGB8888);
    g.wr32(R(REG_MODE_ENABLE), 1);
    g.wr32(R(REG_MODE_WIDTH), 1);
    g.device.ioctl(VFIO_DEVICE_QUERY_GFX_PLANE, plane);
    expect(plane).toMatchObject({
      drm_format: DRM_FORMAT_XRGB8888,
      width: 2,
      height: 2,
      stride: 8,
      size: 16,
    });
    g.device.write(Uint8Array.of(0x10, 0x20, 0x30, 0xff, 1, 2, 3, 0), BAR2 + 8n);
    expect([...sampleGpuOf(g.mdev).displaySnapshot()!.rgba]).toEqual([
      0, 0, 0, 255, 0, 0, 0, 255, 0x30, 0x20, 0x10, 255, 3, 2, 1, 255,
    ]);
    g.wr32(R(REG_MODE_ENABLE), 0);
    expect(sampleGpuOf(g.mdev).displaySnapshot()).toBeUndefined();
  });
});

describe('mmap of VRAM', () => {
  it('pages fault onto the VRAM frames; memory decode off zaps the mapping and refuses new faults', () => {
    const g = gpu('small');
    const gpuModel = sampleGpuOf(g.mdev);
    const addr = vfio_device_mmap(g.h.mm, g.device, {
      offset: BAR2,
      length: 16 * 4096,
      prot: PROT_READ | PROT_WRITE,
    });
    expect(g.h.mm.hvaToPfn(addr + 3 * 4096, true)).toBe(gpuModel.vram.basePfn + 3);
    g.h.mm.copyToUser(addr + 3 * 4096 + 8, Uint8Array.of(0xde, 0xad));
    const b = new Uint8Array(2);
    g.device.read(b, BAR2 + 3n * 4096n + 8n);
    expect([...b]).toEqual([0xde, 0xad]);
    // Watch what the driver revokes when decode goes off.
    const zaps: [bigint, bigint][] = [];
    g.mdev.physMappings.add({ zap: (o, l) => zaps.push([o, l]) }, BAR2, 4n << 20n);
    g.wr16(CFG + 4n, 0x4);
    expect(zaps).toEqual([[BAR2, 4n << 20n]]);
    expect(() => g.h.mm.hvaToPfn(addr + 5 * 4096, false)).toThrow(KernelError);
    g.wr16(CFG + 4n, 0x6);
    expect(g.h.mm.hvaToPfn(addr + 5 * 4096, false)).toBe(gpuModel.vram.basePfn + 5);
  });
});
