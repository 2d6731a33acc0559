import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';

it('the README example runs a real Arm64Cpu guest: PSCI_VERSION as pinned, an MMIO store, SYSTEM_OFF', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({ seen: ['mmio 9000000 2', 'exit 24 event 1'] });
});
