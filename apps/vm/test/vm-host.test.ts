import { describe, expect, it } from 'vitest';
import { defaultVmHost } from '#default-host';
import { defaultVmHost as noHost } from '../src/no-host.ts';
import { nodeVmHost } from '../src/node-host.ts';

describe('the VmHost a machine gets by default', () => {
  it('is the Node host under Node', () => {
    expect(defaultVmHost).toBe(nodeVmHost);
  });

  it('outside Node (a browser bundle) is none: using it says to pass one', () => {
    expect(() => noHost.readFile('--initrd', 'x')).toThrow(
      'no VmHost: outside Node, pass one to Machine.create',
    );
    expect(() => noHost.yieldToHost()).toThrow(/no VmHost/);
  });
});
