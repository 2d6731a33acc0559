import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';

export const WEB_ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

/** `vite build` of the page into a fresh directory: exactly the static site `pnpm --filter @tsvirt/web build` makes. */
export async function buildSite(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'tsvirt-web-'));
  await build({
    root: WEB_ROOT,
    configFile: join(WEB_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}
