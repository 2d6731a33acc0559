import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README examples run and do what they say', async () => {
  const [ex, remap] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({
    framesBeforeTouch: 0,
    framesAfterTouch: 1,
    pinned: 1,
    byteInFrame: 'h'.charCodeAt(0),
    framesWhilePinned: 2,
    framesAtEnd: 0,
  });
  expect(remap).toMatchObject({
    faultCalls: 1,
    secondPage: { access: 1, cache: 'wc' },
    writeToReadOnly: 'EFAULT',
  });
});
