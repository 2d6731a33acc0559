import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'fdt', include: ['test/**/*.test.ts'] },
});
