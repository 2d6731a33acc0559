import { defineConfig } from 'vitest/config';

// One vitest run covers every package: each package is a project with its own
// test/ folder, so `pnpm test` at the root runs the whole suite in one process pool.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'packages/riscv-hart/vitest.wasm.config.ts'],
    reporters: ['default', './scripts/vitest-summary.ts'],
  },
});
