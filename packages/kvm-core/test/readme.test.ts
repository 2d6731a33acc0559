import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example runs and does what it says', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({
    hva: 0x7f00_0000_2000,
    exit: 'mmio',
    stored: 0x42,
    dirtyByte0: 0b10,
    irqs: [10],
    vmsLeft: 0,
  });
});
