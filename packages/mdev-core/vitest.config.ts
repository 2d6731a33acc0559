import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'mdev-core', include: ['test/**/*.test.ts'] },
});
