import { defineProject } from 'vitest/config';
import { fromSource } from '../../vitest.source.ts';

export default defineProject({
  ...fromSource,
  test: { ...fromSource.test, name: 'kvm-arm', include: ['test/**/*.test.ts'] },
});
