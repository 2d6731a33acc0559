import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'kvm-vfio', include: ['test/**/*.test.ts'] },
});
