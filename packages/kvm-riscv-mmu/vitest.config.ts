import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'kvm-riscv-mmu', include: ['test/**/*.test.ts'] },
});
