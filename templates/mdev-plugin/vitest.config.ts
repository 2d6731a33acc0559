import { defineConfig } from 'vitest/config';

// While the @tsvirt packages are linked from a tsvirt checkout (before they
// are installed from a registry), resolve them to their TypeScript sources
// through the "@tsvirt/source" export condition, as the tsvirt workspace
// does. Published packages have no such condition, so it changes nothing
// for them.
// Vite's default server conditions after ours.
const conditions = ['@tsvirt/source', 'module', 'node', 'development|production'];

export default defineConfig({
  ssr: { resolve: { conditions } },
  resolve: { conditions },
  test: { include: ['test/**/*.test.ts'] },
});
