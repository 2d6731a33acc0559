import { defaultClientConditions, defineConfig } from 'vite';

// A static site: relative asset paths (base './') so dist/ works from any
// directory a static server puts it in. The workspace's packages resolve to
// their TypeScript sources through the "@tsvirt/source" condition, as in the
// tests; no Node polyfill is configured: the bundle must not need one.
export default defineConfig({
  base: './',
  resolve: { conditions: ['@tsvirt/source', ...defaultClientConditions] },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 2048 },
  preview: { port: 4173, strictPort: false },
});
