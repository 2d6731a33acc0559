import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'bench-harness', include: ['test/**/*.test.ts'] },
});
