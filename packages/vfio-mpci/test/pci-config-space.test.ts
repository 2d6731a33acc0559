import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  addExpressCapability,
  addMsiCapability,
  addMsixCapability,
  addPmCapability,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_MSIX,
  PCI_CAP_ID_PM,
  PciConfigSpace,
  pciFindCapability,
} from '../src/index.ts';

const le = (v: number, n = 4) => Uint8Array.from({ length: n }, (_, i) => (v >>> (8 * i)) & 0xff);
function rd(cfg: PciConfigSpace, off: number, n = 4): number {
  const b = new Uint8Array(n);
  cfg.read(off, b);
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = (v << 8) | b[i]!;
  return v >>> 0;
}
const wr = (cfg: PciConfigSpace, off: number, v: number, n = 4) => cfg.write(off, le(v, n));

function gpu(): PciConfigSpace {
  return new PciConfigSpace({ vendor: 0x7e57, device: 0x00ff, classCode: 0x038000, revision: 2 })
    .setBar(0, { size: 4096 })
    .setBar(2, { size: 0x1_0000_0000n, is64: true, prefetchable: true })
    .setBar(4, { size: 32, io: true });
}

describe('PciConfigSpace (vfu_pci_init / vfu_pci_set_id for device authors)', () => {
  it('lays out the IDs, class, revision and INTA', () => {
    const cfg = gpu();
    expect(rd(cfg, 0)).toBe(0x00ff7e57);
    expect(rd(cfg, 8)).toBe(0x03800002);
    expect(rd(cfg, 0x3d, 1)).toBe(1);
    expect(cfg.size).toBe(256);
    expect(new PciConfigSpace({ vendor: 1, device: 2, classCode: 0, express: true }).size).toBe(4096);
  });

  it('lets software set the command register so BARs decode, and keeps reserved command bits zero', () => {
    const cfg = gpu();
    expect(cfg.barEnabled(0)).toBe(false);
    expect(wr(cfg, 4, 0xffff, 2)).toBe(true);
    expect(rd(cfg, 4, 2)).toBe(0x0547);
    expect(cfg.barEnabled(0)).toBe(true);
    expect(cfg.barEnabled(4)).toBe(true);
    expect(cfg.busMaster).toBe(true);
  });

  it('answers BAR sizing with the size mask and type bits, and keeps the address written', () => {
    const cfg = gpu();
    wr(cfg, 0x10, 0xffffffff);
    expect(rd(cfg, 0x10)).toBe(0xfffff000);
    wr(cfg, 0x18, 0xffffffff);
    wr(cfg, 0x1c, 0xffffffff);
    expect(rd(cfg, 0x18)).toBe(0x0000000c); // 64-bit, prefetchable; 4 GiB clears the low dword
    expect(rd(cfg, 0x1c)).toBe(0xffffffff);
    wr(cfg, 0x20, 0xffffffff);
    expect(rd(cfg, 0x20)).toBe(0xffffffe1);
    wr(cfg, 0x10, 0x40001234);
    wr(cfg, 0x18, 0);
    wr(cfg, 0x1c, 0x1);
    expect(cfg.barAddress(0)).toBe(0x40001000n);
    expect(cfg.barAddress(2)).toBe(0x1_0000_0000n);
    // unimplemented BARs and the ROM BAR read 0 whatever is written
    for (const off of [0x14, 0x24, 0x30]) {
      wr(cfg, off, 0xffffffff);
      expect(rd(cfg, off)).toBe(0);
    }
  });

  it('keeps IDs read-only and clears status error bits written as 1', () => {
    const cfg = gpu();
    wr(cfg, 0, 0x12345678);
    expect(rd(cfg, 0)).toBe(0x00ff7e57);
    cfg.set16(6, 0xf900); // the device latched every error bit
    wr(cfg, 6, 0x2000, 2); // clear received master abort only
    expect(rd(cfg, 6, 2)).toBe(0xd900);
    wr(cfg, 6, 0xffff, 2);
    expect(rd(cfg, 6, 2)).toBe(0);
    cfg.setInterruptStatus(true);
    expect(rd(cfg, 6, 2)).toBe(0x0008);
    wr(cfg, 0x3c, 0x2a, 1);
    expect(rd(cfg, 0x3c, 2)).toBe(0x012a);
  });

  it('reads all-ones past the end and drops writes there, never throwing', () => {
    const cfg = gpu();
    expect(rd(cfg, 0xfe)).toBe(0xffff0000);
    expect(wr(cfg, 0x100, 0)).toBe(false);
    expect(rd(cfg, -2, 4)).toBe(0x7e57ffff);
  });

  it('links PM, MSI, MSI-X and PCIe capabilities that pci_find_capability() finds', () => {
    const cfg = new PciConfigSpace({ vendor: 1, device: 2, classCode: 0x020000, express: true }).setBar(0, {
      size: 0x4000,
    });
    const pm = addPmCapability(cfg);
    const msi = addMsiCapability(cfg, { vectors: 4 });
    const msix = addMsixCapability(cfg, {
      vectors: 16,
      tableBar: 0,
      tableOffset: 0x2000,
      pbaBar: 0,
      pbaOffset: 0x3000,
    });
    const exp = addExpressCapability(cfg);
    const byte = (o: number) => cfg.get8(o);
    expect(pciFindCapability(byte, PCI_CAP_ID_PM)).toBe(pm);
    expect(pciFindCapability(byte, PCI_CAP_ID_MSI)).toBe(msi);
    expect(pciFindCapability(byte, PCI_CAP_ID_MSIX)).toBe(msix);
    expect(pciFindCapability(byte, PCI_CAP_ID_EXP)).toBe(exp);
    expect([pm, msi, msix, exp]).toEqual([0x40, 0x48, 0x58, 0x64]);
    // MSI: MMC=4 read-only, enable + MME writable, 64-bit address
    wr(cfg, msi + 2, 0xffff, 2);
    expect(rd(cfg, msi + 2, 2)).toBe(0x00f5);
    wr(cfg, msi + 4, 0xffffffff);
    expect(rd(cfg, msi + 4)).toBe(0xfffffffc);
    // MSI-X: table size N-1 read-only, enable and mask-all writable, BIR/offset read-only
    wr(cfg, msix + 2, 0xffff, 2);
    expect(rd(cfg, msix + 2, 2)).toBe(0xc00f);
    wr(cfg, msix + 4, 0);
    expect(rd(cfg, msix + 4)).toBe(0x2000);
    // PM: version 3, PowerState writable, PME status W1C
    expect(rd(cfg, pm + 2, 2)).toBe(3);
    wr(cfg, pm + 4, 0x0003, 2);
    expect(rd(cfg, pm + 4, 2)).toBe(0x000b);
    // PCIe v2 endpoint, DEVSTA W1C
    expect(rd(cfg, exp + 2, 2)).toBe(0x0002);
    cfg.set16(exp + 0xa, 0x0009);
    wr(cfg, exp + 0xa, 0x0001, 2);
    expect(rd(cfg, exp + 0xa, 2)).toBe(0x0008);
    expect(rd(cfg, exp + 0x12, 2)).toBe(0x0011);
  });

  it('MSI with per-vector masking: mask bits writable for the vectors there are, pending read-only', () => {
    const cfg = new PciConfigSpace({ vendor: 1, device: 2, classCode: 0 });
    const msi = addMsiCapability(cfg, { vectors: 2, is64: false, maskable: true });
    expect(rd(cfg, msi + 2, 2)).toBe(0x0102);
    wr(cfg, msi + 12, 0xffffffff);
    expect(rd(cfg, msi + 12)).toBe(0x3);
    wr(cfg, msi + 16, 0xffffffff);
    expect(rd(cfg, msi + 16)).toBe(0);
    expect(addPmCapability(cfg)).toBe(msi + 20);
    const all = addMsiCapability(cfg, { vectors: 32, maskable: true });
    wr(cfg, all + 16, 0xffffffff);
    expect(rd(cfg, all + 16)).toBe(0xffffffff);
  });

  it('refuses bad BARs and capabilities with EINVAL/EEXIST/ENOSPC and changes nothing', () => {
    const cfg = gpu();
    const before = [cfg.config.slice(), cfg.wmask.slice()];
    expect(errnoOf(() => cfg.setBar(6, { size: 16 }))).toBe('EINVAL');
    expect(errnoOf(() => cfg.setBar(1, { size: 3000 }))).toBe('EINVAL');
    expect(errnoOf(() => cfg.setBar(1, { size: 8 }))).toBe('EINVAL');
    expect(errnoOf(() => cfg.setBar(1, { size: 512, io: true }))).toBe('EINVAL');
    expect(errnoOf(() => cfg.setBar(1, { size: 16, io: true, prefetchable: true }))).toBe('EINVAL');
    expect(errnoOf(() => cfg.setBar(1, { size: 0x1_0000_0000n }))).toBe('EINVAL');
    expect(errnoOf(() => cfg.setBar(5, { size: 16, is64: true }))).toBe('EINVAL');
    expect(errnoOf(() => cfg.setBar(0, { size: 16 }))).toBe('EEXIST');
    expect(errnoOf(() => cfg.setBar(3, { size: 16 }))).toBe('EEXIST'); // the upper half of BAR 2
    expect(errnoOf(() => cfg.setBar(1, { size: 16, is64: true }))).toBe('EEXIST');
    expect(errnoOf(() => addMsiCapability(cfg, { vectors: 3 }))).toBe('EINVAL');
    expect(
      errnoOf(() =>
        addMsixCapability(cfg, { vectors: 4, tableBar: 4, tableOffset: 0, pbaBar: 0, pbaOffset: 8 }),
      ),
    ).toBe('EINVAL');
    expect(
      errnoOf(() =>
        addMsixCapability(cfg, { vectors: 4, tableBar: 0, tableOffset: 4, pbaBar: 0, pbaOffset: 8 }),
      ),
    ).toBe('EINVAL');
    expect(
      errnoOf(() =>
        addMsixCapability(cfg, { vectors: 0, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 8 }),
      ),
    ).toBe('EINVAL');
    expect([cfg.config, cfg.wmask]).toEqual(before);
    expect(errnoOf(() => new PciConfigSpace({ vendor: 0x10000, device: 0, classCode: 0 }))).toBe('EINVAL');
    expect(errnoOf(() => cfg.addCapability(0x09, 1))).toBe('EINVAL');
    cfg.addCapability(0x09, 0xb0);
    expect(errnoOf(() => addExpressCapability(cfg))).toBe('ENOSPC');
  });
});
