import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example runs and does what it says', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({ kind: 'ecall', cause: 10, product: 42n, retired: 3 });
});
