import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KVM_RISCV_SBI_EXT_HSM, riscvVcpu } from '@tsvirt/kvm-riscv';

/** KVM_RISCV_SBI_EXT_STATUS_UNAVAILABLE: what an older KVM without the extension has (no UAPI sets it). */
const SBI_EXT_STATUS_UNAVAILABLE = 1;

import { sampleGpuOf } from '@tsvirt/sample-vendor-gpu';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { Machine } from '../src/machine.ts';
import { DEFAULT_GUEST } from '../src/main.ts';
import { ByteReader, ByteWriter } from '../src/migration/byte-io.ts';
import { checkStream, loadVmState, snapshotVm } from '../src/migration/snapshot.ts';
import { decodeStream, encodeStream, type Section } from '../src/migration/stream.ts';
import { VmRunner } from '../src/vm-runner.ts';

const HOG = fileURLToPath(new URL('../guest/gpu-hog/gpu-hog.bin', import.meta.url));

function reencode(sections: readonly Section[]): Uint8Array {
  return encodeStream((w) => {
    for (const s of sections) w.section(s.id, s.instance, s.version, s.payload);
  });
}

async function machine(args: string[], restore?: boolean, out: (b: number) => void = () => {}) {
  const opts = parseArgs(args);
  const kernel = opts.kernel ?? DEFAULT_GUEST;
  return Machine.create(
    restore ? { ...opts, restore: 'test' } : opts,
    kernel,
    restore ? new Uint8Array(0) : readFileSync(kernel),
    out,
  );
}

const edit = (stream: Uint8Array, f: (s: Section) => Section | Section[]) =>
  reencode(decodeStream(stream).flatMap(f));

describe('the stream and its sections (in process)', () => {
  it('refuses unknown sections, unsupported section versions, duplicates and missing sections', async () => {
    const src = await machine([]);
    const good = snapshotVm(src);
    const opts = src.opts;
    const bogus = { id: 'virtio-net', instance: 0, version: 1, payload: new Uint8Array(4) };
    expect(() =>
      checkStream(
        edit(good, (s) => (s.id === 'uart' ? [s, bogus] : s)),
        opts,
      ),
    ).toThrow("unknown section 'virtio-net' (instance 0)");
    expect(() =>
      checkStream(
        edit(good, (s) => (s.id === 'uart' ? { ...s, version: 2 } : s)),
        opts,
      ),
    ).toThrow("section 'uart' version 2 is not supported (this VMM reads 1)");
    expect(() =>
      checkStream(
        edit(good, (s) => (s.id === 'plic' ? [s, s] : s)),
        opts,
      ),
    ).toThrow("section 'plic' instance 0 appears twice");
    expect(() =>
      checkStream(
        edit(good, (s) => (s.id === 'configuration' ? [] : s)),
        opts,
      ),
    ).toThrow("stream does not start with a 'configuration' section");
    const noCpu1 = checkStream(
      edit(good, (s) => (s.id === 'cpu' && s.instance === 1 ? [] : s)),
      opts,
    );
    const dst = await machine([], true);
    expect(() => loadVmState(dst, noCpu1)).toThrow("stream has no 'cpu' section for instance 1");
  });

  it('the firmware-interface check: another SBI implementation, or an enabled extension this KVM lacks, is refused before vCPU state is taken', async () => {
    const src = await machine([]);
    const good = snapshotVm(src);
    // A stream from a host whose KVM reports another SBI implementation version.
    const otherImpl = edit(good, (s) => {
      if (s.id !== 'cpu') return s;
      const p = s.payload.slice();
      new DataView(p.buffer).setUint32(8, 0x060100, true);
      return { ...s, payload: p };
    });
    const dst1 = await machine([], true);
    const pc0 = dst1.vcpus[0]!.arch;
    expect(() => loadVmState(dst1, checkStream(otherImpl, src.opts))).toThrow(
      /vCPU 0: SBI implementation 3 version 0x60100 .* does not match this KVM's 3 version 0x60c00/,
    );
    // A destination KVM without HSM, which the source's vCPUs have enabled.
    const dst2 = await machine([], true);
    for (const v of dst2.vcpus) riscvVcpu(v).sbiExtStatus[KVM_RISCV_SBI_EXT_HSM] = SBI_EXT_STATUS_UNAVAILABLE;
    const hartBefore = riscvVcpu(dst2.vcpus[0]!).hart.save();
    expect(() => loadVmState(dst2, checkStream(good, src.opts))).toThrow(
      `vCPU 0: SBI extension ${KVM_RISCV_SBI_EXT_HSM} is enabled in the stream but not offered here`,
    );
    // Refused before restoreRiscvVcpu(): the vCPU is as built.
    expect(riscvVcpu(dst2.vcpus[0]!).hart.save()).toEqual(hartBefore);
    expect(pc0).toBe(dst1.vcpus[0]!.arch);
  });

  it('the memslot layout check and the timebase check', async () => {
    const src = await machine([]);
    const good = snapshotVm(src);
    const moved = edit(good, (s) => {
      if (s.id !== 'memslots') return s;
      const r = new ByteReader(s.payload, 'memslots');
      const n = r.u32();
      const w = new ByteWriter().u32(n);
      for (let i = 0; i < n; i++)
        w.u64(r.u64() + 1n)
          .u64(r.u64())
          .u32(r.u32());
      return { ...s, payload: w.finish() };
    });
    const dst1 = await machine([], true);
    expect(() => loadVmState(dst1, checkStream(moved, src.opts))).toThrow(
      /memslot layout differs: gpa 0x80001000\+0x10000000 in the stream, gpa 0x80000000\+0x10000000 here/,
    );
    const freq = edit(good, (s) => {
      if (s.id !== 'timer') return s;
      const p = s.payload.slice();
      new DataView(p.buffer).setBigUint64(0, 1n, true);
      return { ...s, payload: p };
    });
    const dst2 = await machine([], true);
    expect(() => loadVmState(dst2, checkStream(freq, src.opts))).toThrow(
      /timebase frequency 1 Hz does not match this KVM's \d+ Hz/,
    );
  });

  it("the GPU's in-flight engine state: saved mid-ring, restored busy, and the ring finishes on the destination", async () => {
    let srcOut = '';
    const src = await machine(['--kernel', HOG, '--cpus', '1'], false, (b) => {
      srcOut += String.fromCharCode(b);
    });
    const gpu = sampleGpuOf(src.passthrough[0]!.mdev);
    const runner = new VmRunner(src);
    let stream: Uint8Array | undefined;
    let gpuBlob: Uint8Array | undefined;
    let turns = 0;
    const tick = () => {
      // Between slices the vCPU loop is parked at an await: the VM state is consistent here.
      if (srcOut.includes('gpu hog: ring submitted') && gpu.dma.busy && ++turns > 5) {
        runner.pause();
        gpuBlob = gpu.save();
        stream = snapshotVm(src);
        runner.requestQuit();
        return;
      }
      setImmediate(tick);
    };
    setImmediate(tick);
    await runner.run();
    expect(stream).toBeDefined();
    expect(srcOut).not.toContain('ring done');

    let dstOut = '';
    const dst = await machine(['--kernel', HOG, '--cpus', '1'], true, (b) => {
      dstOut += String.fromCharCode(b);
    });
    loadVmState(dst, checkStream(stream!, dst.opts));
    const dgpu = sampleGpuOf(dst.passthrough[0]!.mdev);
    expect(dgpu.dma.busy).toBe(true);
    expect(dgpu.save()).toEqual(gpuBlob);
    const dr = new VmRunner(dst);
    dr.markInputEnded();
    const result = await dr.run();
    expect(result.status, `${result.reason}\n${dstOut}`).toBe(0);
    expect(dstOut).toContain('gpu hog: ring done');
  }, 180_000);
});
