import { defaultClientConditions, defaultServerConditions } from 'vite';

// The workspace runs the TypeScript sources with no build step: each package's
// `exports` has a "@tsvirt/source" condition pointing at src/index.ts, ahead of
// the built dist/ files a published package resolves to. Vite resolves it for
// the tests, and NODE_OPTIONS passes it to the processes a test spawns (the
// VMM under tsx), as tsconfig's customConditions does for tsc.
const condition = '@tsvirt/source';

/** Spread into each project's vitest config (and its `test`). */
export const fromSource = {
  resolve: { conditions: [condition, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [condition, ...defaultServerConditions] } },
  test: {
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --conditions=${condition}`.trim() },
  },
};
