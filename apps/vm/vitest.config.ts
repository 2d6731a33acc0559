import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'vm', include: ['test/**/*.test.ts'] },
});
