import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example runs and does what it says', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({
    lockedPages: 1,
    dirtyByte0: 0b100100,
    unmappedBytes: 1n << 20n,
    lockedAfterUnmap: 0,
  });
});
