import { KernelError } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import { type MdevMappingTarget, MdevPhysMappings } from '../src/index.ts';
import { setup, U1 } from './helpers.ts';

function target(log: string[], name: string): MdevMappingTarget {
  return { zap: (off, len) => log.push(`${name} 0x${off.toString(16)}+0x${len.toString(16)}`) };
}

describe('physical mapping tracking (mdev_device_invalidate_mapping)', () => {
  it('zaps only the overlapping part of each overlapping mapping', () => {
    const log: string[] = [];
    const pm = new MdevPhysMappings();
    pm.add(target(log, 'a'), 0x1000n, 0x4000n);
    pm.add(target(log, 'b'), 0x10000n, 0x1000n);
    expect(pm.invalidate(0x3000n, 0x10000n)).toBe(2);
    expect(log).toEqual(['a 0x3000+0x2000', 'b 0x10000+0x1000']);
    log.length = 0;
    expect(pm.invalidate(0x6000n, 0x1000n)).toBe(0);
    expect(log).toEqual([]);
  });

  it('a target that reports its current window is matched against that, not the window it was added with', () => {
    const log: string[] = [];
    const pm = new MdevPhysMappings();
    let size = 0x4000n;
    pm.add({ ...target(log, 'a'), window: () => ({ start: 0n, size }) }, 0n, 0x4000n);
    size = 0x1000n; // the mapping shrank (a split)
    expect(pm.invalidate(0x2000n, 0x1000n)).toBe(0);
    expect(pm.invalidateAll()).toBe(1);
    expect(log).toEqual(['a 0x0+0x1000']);
  });

  it('rejects empty ranges and double tracking; a removed mapping is no longer zapped', () => {
    const log: string[] = [];
    const pm = new MdevPhysMappings();
    const t = target(log, 'a');
    expect(() => pm.add(t, 0n, 0n)).toThrow(KernelError);
    pm.add(t, 0n, 0x1000n);
    expect(
      (() => {
        try {
          pm.add(t, 0n, 0x1000n);
        } catch (e) {
          return (e as KernelError).code;
        }
      })(),
    ).toBe('EEXIST');
    expect(pm.mappings).toHaveLength(1);
    expect(() => pm.invalidate(0n, 0n)).toThrow(KernelError);
    pm.remove(t);
    expect(pm.invalidate(0n, 0x1000n)).toBe(0);
    expect(log).toEqual([]);
  });

  it('removing the mdev zaps every mapping it still has', () => {
    const log: string[] = [];
    const { core } = setup();
    const m = core.createDevice('mtty', 'mtty-1', U1);
    m.physMappings.add(target(log, 'bar2'), 2n << 40n, 0x2000n);
    expect(m.invalidateMapping((2n << 40n) + 0x1000n, 0x1000n)).toBe(1);
    core.removeDevice(U1);
    expect(log).toEqual(['bar2 0x20000001000+0x1000', 'bar2 0x20000000000+0x2000']);
  });
});
