import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'kvm-core', include: ['test/**/*.test.ts'] },
});
