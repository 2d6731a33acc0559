import { expect, it } from 'vitest';
import { guestBin, runImage } from './support/mini-vmm.ts';

it('hello', () => {
  const r = runImage(guestBin('hello'));
    r.stop,
    r.esr?.toString(16),
    r.cpu.pc.toString(16),
    r.retired,
    r.cpu.esr.toString(16),
    r.cpu.elr.toString(16),
  );
  expect(r.console).toContain('DONE');
});
