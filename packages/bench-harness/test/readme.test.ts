import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example measures a copy and reports it in MiB/s', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  const [r] = (ex as { results: { name: string; rate: number; unit: string }[] }).results;
  expect(r!.name).toBe('typed-array copy 1 MiB');
  expect(r!.unit).toBe('B');
  expect(r!.rate).toBeGreaterThan(2 ** 20); // faster than 1 MiB/s on any machine
});
