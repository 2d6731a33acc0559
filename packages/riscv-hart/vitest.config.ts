import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'riscv-hart', include: ['test/**/*.test.ts'] },
});
