import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { readmeExamples, runReadmeExamples } from '../src/index.ts';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

it('finds the ts blocks of a README and runs them', async () => {
  expect(readmeExamples(join(pkg, 'README.md'))).toHaveLength(1);
  const [mod] = await runReadmeExamples(pkg);
  expect((mod as { blocks: string[] }).blocks).toHaveLength(1);
});
