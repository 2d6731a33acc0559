import {
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET,
  VFIO_PCI_BAR0_REGION_INDEX,
  VFIO_PCI_BAR2_REGION_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_FLAG_MMAP,
} from '@tsvirt/vfio-core';
import { PCI_CAP_ID_MSI, PCI_CAP_ID_PM, pciFindCapability } from '@tsvirt/vfio-mpci';
import { describe, expect, it } from 'vitest';
import { CFG, code, gpu, host, openDevice, UUIDS } from './stack.ts';

function open(type: string) {
  const h = host();
  const mdev = h.mdevs.createDevice('sample-gpu', `sample_gpu-${type}`, UUIDS[0]!);
  return { h, mdev, ...openDevice(h, mdev) };
}

describe('PCI config space', () => {
  it('has the SPEC identity, class, INTx pin and a PM -> MSI capability list', () => {
    const g = open('medium');
    expect(g.rd16(CFG)).toBe(0x7e57);
    expect(g.rd16(CFG + 2n)).toBe(0x0001);
    expect(g.rd32(CFG + 8n)).toBe(0x03800001);
    expect(g.rd16(CFG + 0x2cn)).toBe(0x7e57);
    expect(g.rd16(CFG + 0x2en)).toBe(0x0020);
    const byte = (o: number) => {
      const b = new Uint8Array(1);
      g.device.read(b, CFG + BigInt(o));
      return b[0]!;
    };
    expect(byte(0x3d)).toBe(1);
    expect(pciFindCapability(byte, PCI_CAP_ID_PM)).toBe(0x40);
    expect(pciFindCapability(byte, PCI_CAP_ID_MSI)).toBe(0x50);
    expect(byte(0x42) & 7).toBe(3); // PM version 3
    // MSI: 64-bit, maskable, one vector.
    expect(g.rd16(CFG + 0x52n)).toBe(0x0180);
    expect(byte(0x51)).toBe(0);
  });

  it('sizes BAR0 (4 KiB, 32-bit) and BAR2 (64-bit prefetchable, VRAM) per type', () => {
    for (const [type, size] of [
      ['small', 4 << 20],
      ['medium', 16 << 20],
      ['large', 64 << 20],
    ] as const) {
      const g = open(type);
      g.wr32(CFG + 0x10n, 0xffffffff);
      expect(g.rd32(CFG + 0x10n)).toBe(0xfffff000);
      g.wr32(CFG + 0x18n, 0xffffffff);
      g.wr32(CFG + 0x1cn, 0xffffffff);
      expect(g.rd32(CFG + 0x18n)).toBe(((~(size - 1) & 0xfffffff0) | 0xc) >>> 0);
      expect(g.rd32(CFG + 0x1cn)).toBe(0xffffffff);
      // Unimplemented BARs and the ROM BAR stay 0.
      for (const off of [0x14n, 0x20n, 0x24n, 0x30n]) {
        g.wr32(CFG + off, 0xffffffff);
        expect(g.rd32(CFG + off)).toBe(0);
      }
      g.wr32(CFG + 0x18n, 0x1234_5678);
      expect(g.rd32(CFG + 0x18n)).toBe(((0x1234_5678 & ~(size - 1)) | 0xc) >>> 0);
    }
  });

  it('a config write cannot change read-only bits', () => {
    const g = open('small');
    const before = new Uint8Array(256);
    g.device.read(before, CFG);
    // IDs, class, header type, subsystem, cap pointer, interrupt pin, capability headers, PMC, MSI flags.
    for (const off of [
      0x00, 0x02, 0x08, 0x0a, 0x0e, 0x2c, 0x2e, 0x34, 0x3c, 0x40, 0x42, 0x50, 0x64, 0x80, 0xfc,
    ]) {
      g.wr16(CFG + BigInt(off), 0xffff);
    }
    const after = new Uint8Array(256);
    g.device.read(after, CFG);
    const changed = [...after.keys()].filter((i) => after[i] !== before[i]);
    // Only the interrupt line (0x3c) is writable among them.
    expect(changed).toEqual([0x3c]);
    expect(after[0x3c]).toBe(0xff);
    // MSI flags: enable moves, Multiple Message Enable is clamped to what is capable (1 vector).
    g.wr16(CFG + 0x52n, 0xffff);
    expect(g.rd16(CFG + 0x52n)).toBe(0x0181);
    // Command: only memory, bus master and INTx disable are writable.
    g.wr16(CFG + 4n, 0xffff);
    expect(g.rd16(CFG + 4n)).toBe(0x0406);
    // Status: the capability-list bit stays, error bits are write-1-to-clear.
    g.wr16(CFG + 6n, 0xffff);
    expect(g.rd16(CFG + 6n)).toBe(0x0010);
    // PMCSR: only the power state moves.
    g.wr16(CFG + 0x44n, 0xffff);
    expect(g.rd16(CFG + 0x44n)).toBe(0x000b);
  });

  it('VFIO describes it: PCI with reset, BAR0 trapped, BAR2 mmap-able with a sparse-mmap capability, INTx and one MSI', () => {
    const g = open('small');
    const info = { argsz: 16, flags: 0, num_regions: 0, num_irqs: 0 };
    g.device.ioctl(VFIO_DEVICE_GET_INFO, info);
    expect(info.flags & (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET)).toBe(
      VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET,
    );
    const r0 = {
      argsz: 32,
      flags: 0,
      index: VFIO_PCI_BAR0_REGION_INDEX,
      cap_offset: 0,
      size: 0n,
      offset: 0n,
    };
    g.device.ioctl(VFIO_DEVICE_GET_REGION_INFO, r0);
    expect(r0.size).toBe(4096n);
    expect(r0.flags & VFIO_REGION_INFO_FLAG_MMAP).toBe(0);
    const r2: Record<string, unknown> & { flags: number; size: bigint } = {
      argsz: 128,
      flags: 0,
      index: VFIO_PCI_BAR2_REGION_INDEX,
      cap_offset: 0,
      size: 0n,
      offset: 0n,
    };
    g.device.ioctl(VFIO_DEVICE_GET_REGION_INFO, r2);
    expect(r2.size).toBe(4n << 20n);
    expect(r2.flags & VFIO_REGION_INFO_FLAG_MMAP).toBe(VFIO_REGION_INFO_FLAG_MMAP);
    expect(r2.caps).toMatchObject([
      {
        header: { id: VFIO_REGION_INFO_CAP_SPARSE_MMAP },
        nr_areas: 1,
        areas: [{ offset: 0n, size: 4n << 20n }],
      },
    ]);
    const irq = (index: number) => {
      const i = { argsz: 16, flags: 0, index, count: 0 };
      g.device.ioctl(VFIO_DEVICE_GET_IRQ_INFO, i);
      return i.count;
    };
    expect([irq(VFIO_PCI_INTX_IRQ_INDEX), irq(VFIO_PCI_MSI_IRQ_INDEX), irq(VFIO_PCI_MSIX_IRQ_INDEX)]).toEqual(
      [1, 1, 0],
    );
  });

  it('BAR access through the device fd is EIO while memory decode is off (as vfio-pci)', () => {
    const g = open('small');
    expect(code(() => g.rd32((0n << 40n) + 0n))).toBe('EIO');
    expect(code(() => g.rd32(2n << 40n))).toBe('EIO');
    g.wr16(CFG + 4n, 0x2);
    expect(g.rd32(0n)).toBe(0x7e570001);
  });

  it('D3hot turns BAR decode off like the memory bit; D1/D2 (unsupported) writes are ignored', () => {
    const g = open('small');
    g.wr16(CFG + 4n, 0x2);
    expect(g.rd32(0n)).toBe(0x7e570001);
    g.wr16(CFG + 0x44n, 0x1);
    expect(g.rd16(CFG + 0x44n) & 3).toBe(0);
    g.wr16(CFG + 0x44n, 0x2);
    expect(g.rd16(CFG + 0x44n) & 3).toBe(0);
    g.wr16(CFG + 0x44n, 0x3);
    expect(g.rd16(CFG + 0x44n) & 3).toBe(3);
    expect(code(() => g.rd32(0n))).toBe('EIO');
    g.wr16(CFG + 0x44n, 0x0);
    expect(g.rd32(0n)).toBe(0x7e570001);
  });

  it('VFIO_DEVICE_RESET returns config space to power-on', () => {
    const g = gpu('small');
    g.wr32(CFG + 0x10n, 0x4000_0000);
    g.device.ioctl(VFIO_DEVICE_RESET, undefined);
    expect(g.rd16(CFG + 4n)).toBe(0);
    expect(g.rd32(CFG + 0x10n)).toBe(0);
  });
});
