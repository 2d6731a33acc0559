import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { FDT_MAGIC, FdtNode, fromDtb, toDtb, u64Cells } from '../src/index.ts';

function sample(): FdtNode {
  const root = new FdtNode('');
  root
    .prop('#address-cells', 2)
    .prop('#size-cells', 2)
    .prop('compatible', 'riscv-virtio')
    .prop('model', 'test');
  root.child('chosen').prop('stdout-path', '/soc/serial@10000000');
  root
    .child('memory@80000000')
    .prop('device_type', 'memory')
    .prop('reg', [...u64Cells(0x8000_0000), ...u64Cells(2 ** 32)]);
  const cpus = root
    .child('cpus')
    .prop('#address-cells', 1)
    .prop('#size-cells', 0)
    .prop('timebase-frequency', 10_000_000);
  const cpu = cpus.child('cpu@0').prop('device_type', 'cpu').prop('reg', 0).prop('riscv,isa', 'rv64imafdc_h');
  cpu.child('interrupt-controller').prop('interrupt-controller', null).prop('phandle', 1);
  root
    .child('soc')
    .prop('ranges', null)
    .prop('compatible', ['simple-bus'])
    .prop('dma-coherent', Uint8Array.of());
  return root;
}

describe('fdt', () => {
  it('writes a v17 header and round-trips through the reader', () => {
    const blob = toDtb(sample(), { bootCpuidPhys: 0, reserve: [[0x8000_0000n, 0x20_0000n]] });
    const dv = new DataView(blob.buffer);
    expect(dv.getUint32(0)).toBe(FDT_MAGIC);
    expect(dv.getUint32(4)).toBe(blob.length);
    expect(dv.getUint32(20)).toBe(17);
    const back = fromDtb(blob);
    expect(back.find('/memory@80000000')?.cells('reg')).toEqual([0, 0x8000_0000, 1, 0]);
    expect(back.find('/cpus/cpu@0')?.strings('riscv,isa')).toEqual(['rv64imafdc_h']);
    expect(back.find('/soc')?.props.get('ranges')?.length).toBe(0);
    expect(back.strings('compatible')).toEqual(['riscv-virtio']);
  });

  it('refuses values that are not u32 cells, duplicate nodes, and a bad blob', () => {
    expect(() => new FdtNode('x').prop('bad', 2 ** 32)).toThrow(RangeError);
    const n = new FdtNode('');
    n.child('a');
    expect(() => n.child('a')).toThrow(/duplicate/);
    const blob = toDtb(n);
    blob[0] = 0;
    expect(() => fromDtb(blob)).toThrow(/magic/);
  });

  it('decompiles with dtc without errors or warnings', () => {
    const dtc = requireDebianTool('dtc', 'device-tree-compiler');
    if (!dtc) return;
    const dir = mkdtempSync(join(tmpdir(), 'fdt-'));
    const file = join(dir, 'x.dtb');
    writeFileSync(file, toDtb(sample()));
    const dts = execFileSync(dtc, ['-I', 'dtb', '-O', 'dts', file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(dts).toContain('riscv,isa = "rv64imafdc_h";');
    expect(dts).toContain('reg = <0x00 0x80000000 0x01 0x00>;');
    expect(dts).toContain('interrupt-controller;');
  });
});
