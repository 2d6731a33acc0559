import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'kvm-arm-psci', include: ['test/**/*.test.ts'] },
});
