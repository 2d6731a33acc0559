import { VmConfigError } from '@tsvirt/vm/src/config-error.ts';
import { describe, expect, it } from 'vitest';
import { browserVmHost } from '../src/browser-host.ts';

describe('browserVmHost', () => {
  const bytes = new Uint8Array([1, 2, 3]);
  const host = browserVmHost(new Map([['initramfs.cpio', bytes]]));

  it('gives the files the user picked and refuses any other as missing', () => {
    expect(host.readFile('--initrd', 'initramfs.cpio')).toBe(bytes);
    expect(() => host.readFile('--initrd', 'other.cpio')).toThrow(
      new VmConfigError('--initrd other.cpio: no such file'),
    );
  });

  it('refuses plugins and the mdev store, which a browser does not have', async () => {
    await expect(host.loadPlugins([])).resolves.toEqual([]);
    await expect(host.loadPlugins(['gpu.ts'])).rejects.toThrow(
      '--plugin gpu.ts: plugins cannot be loaded in a browser',
    );
    expect(() => host.mdevStore()).toThrow(/the tsvirt-mdev store does not exist in a browser/);
  });

  it('yields in order, each turn after the messages already queued', async () => {
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((i) => host.yieldToHost().then(() => order.push(i))));
    expect(order).toEqual([1, 2, 3]);
  });
});
