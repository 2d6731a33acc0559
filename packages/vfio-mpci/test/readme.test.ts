import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example runs and does what it says', async () => {
  const [cfg, ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(cfg).toMatchObject({ bar0SizeMask: 0xfffff000, bar0Decodes: true });
  expect(ex).toMatchObject({ intxCount: 1, interrupts: 1n });
});
