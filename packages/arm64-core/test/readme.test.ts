import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example runs', async () => {
  const results = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(results.length).toBeGreaterThan(0);
});
