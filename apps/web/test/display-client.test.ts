import { readFileSync } from 'node:fs';
import { parseArgs } from '@tsvirt/vm/src/cli.ts';
import { Machine } from '@tsvirt/vm/src/machine.ts';
import { DEFAULT_GUEST } from '@tsvirt/vm/src/main.ts';
import { boot } from '@tsvirt/vm/src/scripted-boot.ts';
import { describe, expect, it } from 'vitest';
import { DisplayClient } from '../src/display-client.ts';

const TINY = new URL('../../../packages/sample-vendor-gpu/examples/tiny-mdev.ts', import.meta.url).pathname;

describe('DisplayClient (QUERY_GFX_PLANE and the plane region, as a display client)', () => {
  it('reads the plane the guest set up: the same picture as the VMM screenshot', async () => {
    const { machine, result } = await boot(['--cpus', '1']);
    expect(result.status).toBe(0);
    const client = DisplayClient.probe(machine.passthrough[0]!.fn.device)!;
    expect(client).toBeDefined();
    const frame = client.frame()!;
    const shot = machine.display()!;
    expect([frame.width, frame.height]).toEqual([shot.width, shot.height]);
    expect(frame.rgba).toEqual(shot.rgba);
  }, 60_000);

  it('has no frame before the guest sets a mode, and no client for a device without a display', async () => {
    const opts = parseArgs(['--plugin', TINY, '--mdev', 'sample_gpu-small', '--mdev', 'tiny-mailbox']);
    const m = await Machine.create(opts, DEFAULT_GUEST, readFileSync(DEFAULT_GUEST), () => {});
    const [gpu, mailbox] = m.passthrough;
    expect(DisplayClient.probe(gpu!.fn.device)!.frame()).toBeUndefined();
    expect(DisplayClient.probe(mailbox!.fn.device)).toBeUndefined();
  }, 60_000);
});
