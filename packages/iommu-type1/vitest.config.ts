import { defineProject } from 'vitest/config';
import { fromSource } from '../../vitest.source.ts';

export default defineProject({
  ...fromSource,
  test: { ...fromSource.test, name: 'iommu-type1', include: ['test/**/*.test.ts'] },
});
