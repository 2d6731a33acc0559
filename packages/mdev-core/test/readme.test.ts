import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example runs and does what it says', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({ left: '0\n', secondCreate: 'EUSERS', ports: 2, afterRemove: '1\n' });
});
