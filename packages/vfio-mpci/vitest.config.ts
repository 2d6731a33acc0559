import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'vfio-mpci', include: ['test/**/*.test.ts'] },
});
