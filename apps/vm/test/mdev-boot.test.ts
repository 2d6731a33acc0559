import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VmConfigError } from '../src/config-error.ts';
import { resolveMdev } from '../src/mdev-boot.ts';
import { hostMdevCore } from '../src/mdev-cli/host-types.ts';
import { MdevStore } from '../src/mdev-cli/store.ts';

const U = '783e6dbb-ea0e-411f-94e2-717eaad438bf';

describe('resolving --mdev against the parents and the tsvirt-mdev store', async () => {
  const mdevs = await hostMdevCore([]);
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'mdev-boot-'));
    return { dir, store: () => new MdevStore(dir) };
  };
  const refusal = (text: string, store: () => MdevStore): string => {
    try {
      resolveMdev(text, mdevs, store);
    } catch (e) {
      expect(e).toBeInstanceOf(VmConfigError);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it('a type gets a random UUID, or the one given; the store is not read', () => {
    const never = () => {
      throw new Error('store read');
    };
    expect(resolveMdev('sample_gpu-small', mdevs, never)).toMatchObject({
      parent: 'sample-gpu',
      type: 'sample_gpu-small',
    });
    expect(resolveMdev(`sample_gpu-large,uuid=${U}`, mdevs, never)).toEqual({
      parent: 'sample-gpu',
      type: 'sample_gpu-large',
      uuid: U,
    });
    expect(refusal('nvidia-36', never)).toBe(
      'unknown mdev type nvidia-36 (available: sample_gpu-small, sample_gpu-medium, sample_gpu-large)',
    );
  });

  it('a started device wins over its definitions; an auto one defined on two parents is ambiguous', () => {
    const { dir, store } = fresh();
    for (const p of ['sample-gpu', 'other']) {
      mkdirSync(join(dir, p));
      writeFileSync(
        join(dir, p, U),
        JSON.stringify({ mdev_type: 'sample_gpu-small', start: 'auto', attrs: [] }),
      );
    }
    expect(refusal(U, store)).toBe(`--mdev ${U}: defined with start auto on 2 parents`);
    store().writeActive({
      parent: 'sample-gpu',
      uuid: U,
      config: { mdev_type: 'sample_gpu-medium', start: 'manual', attrs: [] },
    });
    expect(resolveMdev(U.toUpperCase(), mdevs, store)).toEqual({
      parent: 'sample-gpu',
      type: 'sample_gpu-medium',
      uuid: U,
    });
  });

  it('a started record without a parent is one line naming its file', () => {
    const { dir, store } = fresh();
    mkdirSync(join(dir, '.active'));
    writeFileSync(join(dir, '.active', U), JSON.stringify({ mdev_type: 'sample_gpu-small' }));
    expect(refusal(U, store)).toBe(
      `--mdev ${U}: ${join(dir, '.active', U)}: "parent" must be a non-empty string`,
    );
  });
});
