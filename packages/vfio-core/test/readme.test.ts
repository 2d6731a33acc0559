import { join } from 'node:path';
import { runReadmeExamples } from '@tsvirt/test-utils';
import { expect, it } from 'vitest';
import { VFIO_GROUP_FLAGS_VIABLE, VFIO_PCI_CONFIG_REGION_INDEX } from '../src/index.ts';

it('the README example runs and does what it says', async () => {
  const [ex] = await runReadmeExamples(join(import.meta.dirname, '..'));
  expect(ex).toMatchObject({ groupFlags: VFIO_GROUP_FLAGS_VIABLE, configByte: VFIO_PCI_CONFIG_REGION_INDEX });
});
