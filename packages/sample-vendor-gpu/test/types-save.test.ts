import { MdevSysfs } from '@tsvirt/mdev-core';
import { describe, expect, it } from 'vitest';
import { REG_FENCE_VALUE, REG_MODE_WIDTH, SGPU_STATE_MAGIC, sampleGpuOf } from '../src/index.ts';
import { code, gpu, host, openDevice, UUIDS } from './stack.ts';

const TYPES = '/sys/class/mdev_bus/sample-gpu/mdev_supported_types';
/** Bytes of a major-2 blob's state section: config 256, 16 registers, scan-out 24, engine 44. */
const STATE_V2 = 256 + 64 + 24 + 44;

describe('types from the shared VRAM pool', () => {
  it('available_instances is derived from the pool and exact as instances come and go', () => {
    const h = host();
    const sysfs = new MdevSysfs(h.mdevs);
    const avail = () =>
      ['small', 'medium', 'large'].map((t) =>
        Number(sysfs.read(`${TYPES}/sample_gpu-${t}/available_instances`)),
      );
    expect(avail()).toEqual([32, 8, 2]);
    expect(sysfs.read(`${TYPES}/sample_gpu-medium/description`)).toMatch(/16 MiB VRAM/);
    expect(sysfs.read(`${TYPES}/sample_gpu-large/device_api`)).toMatch(/vfio-pci/);
    const framesBefore = h.mm.phys.allocatedFrames;
    h.mdevs.createDevice('sample-gpu', 'sample_gpu-large', UUIDS[0]!);
    expect(avail()).toEqual([16, 4, 1]);
    expect(h.mm.phys.allocatedFrames - framesBefore).toBe((64 << 20) / 4096);
    h.mdevs.createDevice('sample-gpu', 'sample_gpu-medium', UUIDS[1]!);
    expect(avail()).toEqual([12, 3, 0]);
    // The pool, not a per-type limit, refuses: ENOSPC as mbochs_probe(), nothing allocated.
    const frames = h.mm.phys.allocatedFrames;
    expect(code(() => h.mdevs.createDevice('sample-gpu', 'sample_gpu-large', UUIDS[2]!))).toBe('ENOSPC');
    expect(h.mm.phys.allocatedFrames).toBe(frames);
    expect(avail()).toEqual([12, 3, 0]);
    h.mdevs.removeDevice(UUIDS[0]!);
    expect(avail()).toEqual([28, 7, 1]);
    expect(h.mm.phys.allocatedFrames - framesBefore).toBe((16 << 20) / 4096);
  });

  it('host memory running out is ENOMEM from the create, and the pool is unchanged', () => {
    const h = host({ totalFrames: (12 << 20) / 4096, vramPool: 1 << 30 });
    const sysfs = new MdevSysfs(h.mdevs);
    h.mdevs.createDevice('sample-gpu', 'sample_gpu-small', UUIDS[0]!);
    const before = sysfs.read(`${TYPES}/sample_gpu-small/available_instances`);
    const frames = h.mm.phys.allocatedFrames;
    expect(code(() => h.mdevs.createDevice('sample-gpu', 'sample_gpu-medium', UUIDS[1]!))).toBe('ENOMEM');
    expect(sysfs.read(`${TYPES}/sample_gpu-small/available_instances`)).toBe(before);
    expect(h.mm.phys.allocatedFrames).toBe(frames);
    expect(h.mdevs.device(UUIDS[1]!)).toBeUndefined();
    h.mdevs.createDevice('sample-gpu', 'sample_gpu-small', UUIDS[1]!);
  });

  it('an instance force-removed while open returns to the pool only on its last close', () => {
    const h = host({ vramPool: 8 << 20 });
    const mdev = h.mdevs.createDevice('sample-gpu', 'sample_gpu-small', UUIDS[0]!);
    const d = openDevice(h, mdev);
    expect(code(() => h.mdevs.removeDevice(mdev.uuid))).toBe('EBUSY');
    expect(h.driver!.vramFree).toBe(4 << 20);
    const framesOpen = h.mm.phys.allocatedFrames;
    h.mdevs.unregisterParent('sample-gpu');
    expect(h.driver!.vramFree).toBe(4 << 20);
    // The frames went back to the host at once; the device model no longer touches them.
    expect(framesOpen - h.mm.phys.allocatedFrames).toBe((4 << 20) / 4096);
    expect(sampleGpuOf(mdev).displaySnapshot()).toBeUndefined();
    expect(code(() => sampleGpuOf(mdev).save())).toBe('ENODEV');
    d.fds.close(d.dfd);
    expect(h.driver!.vramFree).toBe(8 << 20);
  });
});

describe('save / restore', () => {
  function saved() {
    const g = gpu('small');
    g.wr32(BigInt(REG_MODE_WIDTH), 123);
    g.device.write(Uint8Array.of(1, 2, 3, 4), (2n << 40n) + 100n);
    return { g, blob: sampleGpuOf(g.mdev).save() };
  }

  it('a blob restores into another instance of the type', () => {
    const { blob } = saved();
    const other = gpu('small');
    sampleGpuOf(other.mdev).restore(blob);
    expect(other.rd32(BigInt(REG_MODE_WIDTH))).toBe(123);
    const b = new Uint8Array(4);
    other.device.read(b, (2n << 40n) + 100n);
    expect([...b]).toEqual([1, 2, 3, 4]);
  });

  it('a newer minor version (with extra state appended) is accepted', () => {
    const { g, blob } = saved();
    const grown = new Uint8Array(blob.length + 8);
    const dv = new DataView(grown.buffer);
    grown.set(blob.subarray(0, 16 + STATE_V2));
    grown.set(blob.subarray(16 + STATE_V2), 16 + STATE_V2 + 8);
    dv.setUint16(6, 7, true);
    dv.setUint32(12, STATE_V2 + 8, true);
    sampleGpuOf(g.mdev).resetRegisters();
    sampleGpuOf(g.mdev).restore(grown);
    expect(g.rd32(BigInt(REG_MODE_WIDTH))).toBe(123);
  });

  it('a newer major version, bad magic, another VRAM size, a short or inconsistent blob are EINVAL and change nothing', () => {
    const { g, blob } = saved();
    const gpuModel = sampleGpuOf(g.mdev);
    g.wr32(BigInt(REG_MODE_WIDTH), 77);
    const before = gpuModel.save();
    const mutate = (f: (dv: DataView, b: Uint8Array) => void, b = blob.slice()) => {
      f(new DataView(b.buffer), b);
      return b;
    };
    const bad = {
      newerMajor: mutate((dv) => dv.setUint16(4, 3, true)),
      magic: mutate((dv) => dv.setUint32(0, SGPU_STATE_MAGIC ^ 1, true)),
      vramSize: mutate((dv) => dv.setUint32(8, 16 << 20, true)),
      truncated: blob.subarray(0, blob.length - 1),
      tiny: blob.subarray(0, 10),
      ringHead: mutate((dv) => dv.setUint32(16 + 256 + 11 * 4, 5, true)),
      vendorId: mutate((dv) => dv.setUint16(16, 0x1234, true)),
      scanoutWithoutEnable: mutate((dv) => dv.setUint32(16 + 256 + 64, 1, true)),
    };
    for (const [name, b] of Object.entries(bad)) {
      let err: unknown;
      try {
        gpuModel.restore(b);
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code, name).toBe('EINVAL');
      expect(Buffer.from(gpuModel.save()).equals(Buffer.from(before)), name).toBe(true);
    }
    expect(() => gpuModel.restore(bad.newerMajor)).toThrow(/version 3\.0 is newer/);
    expect(g.rd32(BigInt(REG_FENCE_VALUE))).toBe(0);
  });
});
