import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example runs and does what it says', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({
    guestVersion: 0x10000n,
    exitReason: 24,
    eventType: 1,
    cpu1Entry: { pc: 0x80000n, r0: 42n, be: false },
    compatToOld: { restored: false, error: 'ENOENT', works: 'NO*', versionBefore: 2, versionAfter: 2 },
    featureNewToOld: { restored: true, works: 'YES*', versionBefore: 0x10000, versionAfter: 2 },
  });
});
