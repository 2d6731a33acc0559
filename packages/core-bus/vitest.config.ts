import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'core-bus', include: ['test/**/*.test.ts'] },
});
