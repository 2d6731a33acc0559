import { describe, expect, it } from 'vitest';
import { boot } from '../src/scripted-boot.ts';

describe('the default guest', () => {
  it('boots, drives the GPU through VFIO, starts every hart and shuts down cleanly', async () => {
    const { result, output, machine } = await boot(['--cpus', '3']);
    expect(result.status).toBe(0);
    expect(result.reason).toBe('guest shut down');
    expect(output).toContain('pci 00:01.0 7e57:0001 class 038000');
    expect(output).toContain('display 320x200 XRGB8888 on');
    expect(output).toContain('dma complete: fence irq received, copy verified');
    expect(output).toContain('hart 1 reporting');
    expect(output).toContain('hart 2 reporting');
    expect(output).toContain('all 3 harts reported');
    expect(output).not.toContain('FAIL');
    expect(result.stats.instructions).toBeGreaterThan(1_000_000);
    expect(result.stats.exits.get('mmio')).toBeGreaterThan(100);
    expect(result.stats.unclaimedMmio).toBe(0);

    // The screen: gradient drawn by the CPU, a FILL band and a DMA-copied checkerboard.
    const shot = machine.display()!;
    expect([shot.width, shot.height]).toEqual([320, 200]);
    const px = (x: number, y: number) => [...shot.rgba.subarray((y * 320 + x) * 4, (y * 320 + x) * 4 + 4)];
    expect(px(10, 160)).toEqual([0x20, 0x50, 0xc0, 0xff]); // FILL 0x002050c0
    expect(px(128, 20)).toEqual([0xc0, 0x30, 0x30, 0xff]); // checker cell (0,0)
    expect(px(136, 20)).toEqual([0xff, 0xff, 0xff, 0xff]); // checker cell (1,0)
    expect(px(0, 0)).toEqual([0, 0, 0x40, 0xff]); // gradient origin
    expect(px(319, 0)[0]).toBeGreaterThan(0xf0); // red grows to the right
  }, 120_000);

  it('passes through a second vendor driver loaded as a plugin by file path', async () => {
    const tiny = new URL('../../../packages/sample-vendor-gpu/examples/tiny-mdev.ts', import.meta.url)
      .pathname;
    const { result, output } = await boot([
      '--plugin',
      tiny,
      '--mdev',
      'sample_gpu-small',
      '--mdev',
      'tiny-mailbox',
    ]);
    expect(result.status).toBe(0);
    expect(output).toContain('pci 00:01.0 7e57:0001 class 038000');
    expect(output).toContain('pci 00:02.0 7e57:00ff class ff8000');
  }, 120_000);

  it('with one hart, reports just itself', async () => {
    const { result, output } = await boot(['--cpus', '1']);
    expect(result.status).toBe(0);
    expect(output).toContain('all 1 harts reported');
  }, 120_000);
});
