import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'sample-vendor-gpu', include: ['test/**/*.test.ts'] },
});
