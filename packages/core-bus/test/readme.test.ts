import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example runs and does what it says', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({ readBack: 0x42, irqs: 2n, uartOffset: 5 });
});
