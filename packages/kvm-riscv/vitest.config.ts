import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'kvm-riscv', include: ['test/**/*.test.ts'] },
});
