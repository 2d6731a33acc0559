import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example builds and reads back a memory node', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({ reg: [0, 0x8000_0000, 0, 0x1000_0000] });
  expect((ex as { size: number }).size).toBeGreaterThan(40);
});
