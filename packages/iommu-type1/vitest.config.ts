import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'iommu-type1', include: ['test/**/*.test.ts'] },
});
