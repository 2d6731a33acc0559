import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'fuzz', include: ['test/**/*.test.ts'] },
});
