// Issue 17's last part: the in-kernel AIA's state in the migration stream. A VM with
// --irqchip aia running the interrupt benchmark guest (the default guest, then 2000 GPU
// fences each waited for by its MSI, posted by KVM through the kvm-vfio bypass) is
// saved mid-loop and resumed in a new VM, whose own bypass then carries the rest.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { riscvVcpu, riscvVm } from '@tsvirt/kvm-riscv';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { Machine } from '../src/machine.ts';
import { DEFAULT_GUEST } from '../src/main.ts';
import { ByteWriter } from '../src/migration/byte-io.ts';
import { checkInstances, checkStream, loadVmState, snapshotVm } from '../src/migration/snapshot.ts';
import { decodeStream, encodeStream, type Section } from '../src/migration/stream.ts';
import { VmRunner } from '../src/vm-runner.ts';

const IRQBENCH = fileURLToPath(new URL('../guest/default/irqbench.bin', import.meta.url));
const ARGS = ['--kernel', IRQBENCH, '--irqchip', 'aia', '--cpus', '1'];

async function machine(args: string[], restore: boolean, out: (b: number) => void = () => {}) {
  const opts = parseArgs(args);
  const kernel = opts.kernel ?? DEFAULT_GUEST;
  return Machine.create(
    restore ? { ...opts, restore: 'test' } : opts,
    kernel,
    restore ? new Uint8Array(0) : readFileSync(kernel),
    out,
  );
}

const reencode = (sections: readonly Section[]) =>
  encodeStream((w) => {
    for (const s of sections) w.section(s.id, s.instance, s.version, s.payload);
  });
const edit = (stream: Uint8Array, f: (s: Section) => Section | Section[]) =>
  reencode(decodeStream(stream).flatMap(f));

/** The source, run until its benchmark loop has taken `n` bypassed interrupts, then saved. */
async function savedMidLoop(n = 20) {
  let out = '';
  const src = await machine(ARGS, false, (b) => {
    out += String.fromCharCode(b);
  });
  const runner = new VmRunner(src);
  let stream: Uint8Array | undefined;
  let bypassedAtSave = 0;
  const tick = () => {
    // Between slices the vCPU loop is parked at an await: the VM state is consistent here.
    if (out.includes('irqbench: start') && src.aia!.bypassed >= n) {
      runner.pause();
      bypassedAtSave = src.aia!.bypassed;
      stream = snapshotVm(src);
      runner.requestQuit();
      return;
    }
    if (!out.includes('irqbench: done')) setImmediate(tick);
  };
  setImmediate(tick);
  await runner.run();
  return { src, out, stream, bypassedAtSave };
}

describe('the in-kernel AIA in the migration stream (in process)', () => {
  it('a VM saved mid-way through its MSI loop resumes in a new VM and its interrupts keep arriving through the bypass', async () => {
    const { out, stream, bypassedAtSave } = await savedMidLoop();
    expect(stream, out).toBeDefined();
    expect(out).not.toContain('irqbench: done');
    const ids = decodeStream(stream!).map((s) => s.id);
    expect(ids).toContain('aia');
    expect(ids).toContain('vfio-msi');
    expect(ids).not.toContain('plic');

    let dstOut = '';
    const dst = await machine(ARGS, true, (b) => {
      dstOut += String.fromCharCode(b);
    });
    loadVmState(dst, checkStream(stream!, dst.opts));
    // The guest file, the binding (hstatus.VGEIN) and the GPU's MSI route and irqfd are back.
    expect(riscvVcpu(dst.vcpus[0]!).aia.hardware).toBe(true);
    expect(riscvVcpu(dst.vcpus[0]!).hart.aia.files[1]!.eidelivery).toBe(1);
    expect(dst.passthrough[0]!.fn.msiEnabled).toBe(true);
    expect(dst.passthrough[0]!.msi).toBeDefined();
    expect(riscvVm(dst.vm).aia.posted.size).toBe(1);
    const result = await new VmRunner(dst).run();
    expect(result.status, `${result.reason}\n${dstOut}`).toBe(0);
    expect(dstOut).toContain('irqbench: done n=2000');
    expect(dstOut).not.toContain('FAIL');
    // The destination's own bypass carried the rest of the loop; its VMM relayed none.
    expect(result.stats.irqBypassed).toBeGreaterThan(0);
    expect(result.stats.irqBypassed! + bypassedAtSave).toBeGreaterThanOrEqual(2000);
    expect(result.stats.irqRelayed).toBe(0);
  }, 240_000);

  it('the APLIC and IMSIC registers read back on the destination as the source had them', async () => {
    const { src, stream } = await savedMidLoop(5);
    const dst = await machine(ARGS, true);
    loadVmState(dst, checkStream(stream!, dst.opts));
    const a = riscvVm(src.vm).aia.aplic!;
    const b = riscvVm(dst.vm).aia.aplic!;
    expect(b.domaincfg).toBe(a.domaincfg);
    expect([...b.sourcecfg]).toEqual([...a.sourcecfg]);
    expect([...b.target]).toEqual([...a.target]);
    expect([...b.state]).toEqual([...a.state]);
    const fa = riscvVcpu(src.vcpus[0]!).aia.file!;
    const fb = riscvVcpu(dst.vcpus[0]!).aia.file!;
    expect([fb.eidelivery, fb.eithreshold, [...fb.eip], [...fb.eie]]).toEqual([
      fa.eidelivery,
      fa.eithreshold,
      [...fa.eip],
      [...fa.eie],
    ]);
  }, 240_000);

  it('a destination with another --irqchip refuses the stream in one line, either way', async () => {
    const aiaVm = await machine(['--irqchip', 'aia', '--cpus', '1'], false);
    const plicVm = await machine(['--cpus', '1'], false);
    const fromAia = snapshotVm(aiaVm);
    const fromPlic = snapshotVm(plicVm);
    expect(() => checkStream(fromAia, plicVm.opts)).toThrow(
      "the stream is from a VM with --irqchip aia, this VM has --irqchip plic (its 'aia' section has no device here)",
    );
    expect(() => checkStream(fromPlic, aiaVm.opts)).toThrow(
      "the stream is from a VM with --irqchip plic, this VM has --irqchip aia (its 'plic' section has no device here)",
    );
    // The live path checks the built machine (the configuration section alone does not say).
    const dst = await machine(['--cpus', '1'], true);
    expect(() => checkInstances(dst, decodeStream(fromAia))).toThrow(
      '--irqchip aia, this VM has --irqchip plic',
    );
  }, 120_000);

  it("refuses an 'aia' section whose configuration, addresses or MSI enable differ, or that is cut short", async () => {
    const src = await machine(['--irqchip', 'aia', '--cpus', '2'], false);
    const good = snapshotVm(src);
    const patch = (id: string, f: (p: Uint8Array) => Uint8Array) =>
      edit(good, (s) => (s.id === id ? { ...s, payload: f(s.payload.slice()) } : s));
    const load = async (stream: Uint8Array) => {
      const dst = await machine(['--irqchip', 'aia', '--cpus', '2'], true);
      return () => loadVmState(dst, checkStream(stream, dst.opts));
    };
    const u32at = (off: number, v: number) => (p: Uint8Array) => {
      new DataView(p.buffer).setUint32(off, v, true);
      return p;
    };
    // CONFIG: mode, ids, srcs, group_bits, group_shift, hart_bits, guest_bits (u32 each).
    expect(await load(patch('aia', u32at(4, 127)))).toThrow("section 'aia': ids 127 in the stream, 255 here");
    expect(await load(patch('aia', u32at(20, 3)))).toThrow(
      "section 'aia': hart_bits 3 in the stream, 1 here",
    );
    // ADDR: the count, then the APLIC and each vCPU's IMSIC page (u64 each).
    expect(await load(patch('aia', u32at(28, 5)))).toThrow(
      "section 'aia': 5 AIA addresses in the stream, 3 here",
    );
    expect(await load(patch('aia', u32at(32 + 16, 0x1000)))).toThrow(
      /section 'aia': vCPU 1's IMSIC at 0x1000 in the stream, 0x[0-9a-f]+ here/,
    );
    expect(await load(patch('aia', (p) => p.subarray(0, p.length - 8)))).toThrow("section 'aia'");
    expect(await load(patch('vfio-msi', () => new ByteWriter().u8(2).finish()))).toThrow(
      'slot 1: bad MSI enable 2',
    );
  }, 120_000);
});
