import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example runs and does what it says', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({
    result: { addError: 'EINVAL', secondDevice: 'EBUSY', eventfdCount: 0n, vmsLeft: 0 },
    pending: [10],
    routes: ['+1024->10', '-1024->10'],
  });
});
