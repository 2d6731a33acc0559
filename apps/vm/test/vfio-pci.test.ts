import { DriverCore, EventFd, FdTable } from '@tsvirt/core-bus';
import { HostPhysMemory, MmStruct } from '@tsvirt/host-mm';
import { MdevCore } from '@tsvirt/mdev-core';
import {
  ioctl,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VfioCore,
  type VfioDeviceFile,
  type VfioIommu,
} from '@tsvirt/vfio-core';
import { type MpciParentOps, mpciIrqs, VfioMpciDriver } from '@tsvirt/vfio-mpci';
import { describe, expect, it } from 'vitest';
import { EcamHost } from '../src/pci/ecam-host.ts';
import type { BarChange } from '../src/pci/pci-function.ts';
import { VfioPciFunction } from '../src/pci/vfio-pci.ts';

const MSI_CAP = 0x50;

/** A vendor device: BAR0 4 KiB registers (trapped), BAR2 64 KiB 64-bit prefetchable memory (mmap-able), MSI cap, INTA. */
function vendor(phys: HostPhysMemory) {
  const vramPfn = phys.allocContiguous(16);
  const configWrites: string[] = [];
  const ops: MpciParentOps = {
    create(mdev) {
      const c = new Uint8Array(256);
      const dv = new DataView(c.buffer);
      dv.setUint16(0, 0x7e57, true);
      dv.setUint16(2, 0x0042, true);
      dv.setUint16(6, 0x10, true); // capability list
      dv.setUint32(0x10, 0, true); // BAR0: 32-bit memory
      dv.setUint32(0x18, 0xc, true); // BAR2: 64-bit prefetchable
      c[0x34] = MSI_CAP;
      c[MSI_CAP] = 0x05;
      c[MSI_CAP + 1] = 0;
      c[0x3d] = 1;
      mdev.drvdata = { c, regs: new Uint32Array(1024) };
    },
    remove() {},
    getRegionInfo: (_m, index) =>
      index === 7
        ? { size: 256n }
        : index === 0
          ? { size: 4096n }
          : index === 2
            ? { size: 65536n, mmap: true }
            : undefined,
    read(mdev, buf, pos) {
      const s = mdev.drvdata as { c: Uint8Array; regs: Uint32Array };
      const off = Number(pos & 0xff_ffff_ffffn);
      if (pos >> 40n === 7n) buf.set(s.c.subarray(off, off + buf.length));
      else new DataView(buf.buffer, buf.byteOffset).setUint32(0, s.regs[off >> 2]!, true);
      return buf.length;
    },
    write(mdev, buf, pos) {
      const s = mdev.drvdata as { c: Uint8Array; regs: Uint32Array };
      const off = Number(pos & 0xff_ffff_ffffn);
      if (pos >> 40n === 7n) {
        configWrites.push(`${off}/${buf.length}=${[...buf].join(',')}`);
        if (off >= 4 && off < 8) s.c.set(buf, off); // command/status only
        if (off >= MSI_CAP && off < MSI_CAP + 4) s.c.set(buf, off);
      } else {
        s.regs[off >> 2] = new DataView(buf.buffer, buf.byteOffset).getUint32(0, true);
        if (off === 0) mpciIrqs(mdev)!.setIntx(true);
      }
      return buf.length;
    },
    validateMapRequest: (_m, req) => ({ pfn: vramPfn + Number(req.offset / 4096n), size: 4096 }),
  };
  return { ops, vramPfn, configWrites };
}

function setup() {
  const phys = new HostPhysMemory();
  const mm = new MmStruct(phys);
  const vfio = new VfioCore();
  const noIommu = {
    release() {},
    ioctl: () => 0,
    attachGroup() {},
    detachGroup() {},
    pinPages: () => [],
    unpinPages: () => 0,
    dmaRw() {},
    registerNotifier() {},
    unregisterNotifier() {},
  } satisfies VfioIommu;
  vfio.registerIommuDriver({ name: 'none', checkExtension: () => 1, open: () => noIommu });
  const mdevs = new MdevCore(new DriverCore(), { groups: vfio.mdevIommuGroups });
  mdevs.registerDriver(new VfioMpciDriver(vfio));
  const v = vendor(phys);
  mdevs.registerParent({
    name: 'v',
    ops: v.ops,
    types: [{ id: 'a', deviceApi: 'vfio-pci' }],
    maxInstances: 1,
  });
  const mdev = mdevs.createDevice('v', 'v-a', '5a3e1b8c-0f4d-4e7a-9b61-2c8d7e6f5a41');
  const fds = new FdTable();
  const cfd = vfio.open(fds, '/dev/vfio/vfio');
  const gfd = vfio.open(fds, `/dev/vfio/${mdev.iommuGroup!.id}`);
  ioctl(fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
  ioctl(fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  const device = fds.get(ioctl(fds, gfd, VFIO_GROUP_GET_DEVICE_FD, mdev.uuid)) as VfioDeviceFile;
  const changes: BarChange[] = [];
  const fn = new VfioPciFunction(device, mm);
  const host = new EcamHost((_, c) => changes.push(c));
  host.attach(1, 0, fn);
  const cfgRead = (off: number, size = 4) => {
    const d = new Uint8Array(size);
    host.read((1 << 15) | off, d);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | d[i]!;
    return v >>> 0;
  };
  const cfgWrite = (off: number, v: number, size = 4) => {
    const d = new Uint8Array(size);
    for (let i = 0; i < size; i++) d[i] = (v >>> (8 * i)) & 0xff;
    host.write((1 << 15) | off, d);
  };
  return { phys, mm, fds, fn, changes, cfgRead, cfgWrite, vendor: v };
}

describe('VfioPciFunction (QEMU vfio-pci style passthrough)', () => {
  it('passes identity through the VFIO config region and emulates BAR sizing', () => {
    const { cfgRead, cfgWrite } = setup();
    expect(cfgRead(0)).toBe(0x0042_7e57);
    cfgWrite(0x10, 0xffff_ffff);
    expect(cfgRead(0x10)).toBe(0xffff_f000);
    cfgWrite(0x18, 0xffff_ffff);
    cfgWrite(0x1c, 0xffff_ffff);
    expect(cfgRead(0x18)).toBe(0xffff_000c);
    expect(cfgRead(0x1c)).toBe(0xffff_ffff);
    expect(cfgRead(0x14)).toBe(0); // BAR1 absent
    expect(cfgRead(0x30)).toBe(0); // no ROM
  });

  it('reports BAR placement once memory decode is on, and the backing of each BAR', () => {
    const { fn, changes, cfgWrite, vendor: v } = setup();
    cfgWrite(0x10, 0x4000_0000);
    cfgWrite(0x18, 0);
    cfgWrite(0x1c, 0x4);
    expect(changes).toEqual([]);
    cfgWrite(0x04, 0x6, 2);
    expect(changes).toEqual([
      { bar: 0, from: undefined, to: 0x4000_0000, size: 4096, io: false },
      { bar: 2, from: undefined, to: 0x4_0000_0000, size: 65536, io: false },
    ]);
    expect(v.configWrites).toContain('4/2=6,0'); // the command register reached the device
    const bar0 = fn.backing(0);
    expect(bar0.kind).toBe('trap');
    const bar2 = fn.backing(2);
    expect(bar2.kind).toBe('mmap');
  });

  it('trapped BAR accesses reach the vendor; mmapped BAR pages are the vendor pages', () => {
    const { fn, mm, phys, vendor: v } = setup();
    const regs = fn.backing(0);
    if (regs.kind !== 'trap') throw new Error('BAR0 should trap');
    regs.device.write(8, Uint8Array.of(0x78, 0x56, 0x34, 0x12));
    const d = new Uint8Array(4);
    regs.device.read(8, d);
    expect(new DataView(d.buffer).getUint32(0, true)).toBe(0x1234_5678);
    const vram = fn.backing(2);
    if (vram.kind !== 'mmap') throw new Error('BAR2 should be mmapped');
    expect(mm.hvaToPfn(vram.hva + 3 * 4096, true)).toBe(v.vramPfn + 3);
    mm.copyToUser(vram.hva + 4096, Uint8Array.of(9, 8, 7));
    expect([...phys.frame(v.vramPfn + 1).subarray(0, 3)]).toEqual([9, 8, 7]);
    expect(fn.backing(2)).toEqual(vram); // mmapped once
  });

  it('keeps MSI disabled: the enable bit never reaches the device', () => {
    const { cfgRead, cfgWrite } = setup();
    cfgWrite(MSI_CAP, 0x0001_0005); // control = enable
    expect((cfgRead(MSI_CAP) >>> 16) & 1).toBe(0);
    cfgWrite(MSI_CAP + 2, 0x1, 2);
    expect((cfgRead(MSI_CAP) >>> 16) & 1).toBe(0);
  });

  it('routes INTx to an eventfd and re-arms it on unmask (automasked)', () => {
    const { fn, fds } = setup();
    const irq = new EventFd();
    fn.enableIntx(fds.install(irq));
    const regs = fn.backing(0);
    if (regs.kind !== 'trap') throw new Error('BAR0 should trap');
    regs.device.write(0, Uint8Array.of(1, 0, 0, 0));
    expect(irq.read()).toBe(1n);
    regs.device.write(0, Uint8Array.of(1, 0, 0, 0)); // masked until EOI
    expect(irq.value).toBe(0n);
    fn.unmaskIntx(); // the line is still high: it fires again
    expect(irq.read()).toBe(1n);
  });
});
