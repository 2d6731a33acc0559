import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'vfio-core', include: ['test/**/*.test.ts'] },
});
