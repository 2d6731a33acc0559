import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example runs and does what it says', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({
    framesBeforeTouch: 0,
    framesAfterTouch: 1,
    pinned: 1,
    byteInFrame: 'h'.charCodeAt(0),
    framesWhilePinned: 2,
    framesAtEnd: 0,
  });
});
