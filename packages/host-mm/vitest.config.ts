import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'host-mm', include: ['test/**/*.test.ts'] },
});
