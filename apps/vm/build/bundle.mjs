// The VMM as prebuilt JavaScript: esbuild bundles src/main.ts (tsvirt-vm),
// src/mdev-cli/main.ts (tsvirt-mdev) and, as entries of their own, the
// @tsvirt packages apps/vm depends on, into dist/ with code splitting, so
// each module exists once: the VMM and a --plugin importing
// `@tsvirt/core-bus` share one copy (src/plugins.ts maps the plugin's import
// to dist/pkg-core-bus.js). Starting from the bundle skips transpiling
// TypeScript on every start, which tsx did.
//
// The bins call vmmBundle(), which rebuilds only when an input esbuild read
// (recorded in dist/bundle-meta.json) is newer than the build, or missing;
// `node build/bundle.mjs` (the package's `build` script) rebuilds
// unconditionally. Tests keep running the sources (vitest's @tsvirt/source
// condition); only the bins and scripts/vm.sh run dist/.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const app = fileURLToPath(new URL('..', import.meta.url));
const dist = join(app, 'dist');
const META = join(dist, 'bundle-meta.json');
const SELF = fileURLToPath(import.meta.url);

/** The @tsvirt packages apps/vm depends on: each gets an entry a plugin's import is mapped to. */
function packageEntries() {
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  const out = {};
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    if (!name.startsWith('@tsvirt/')) continue;
    const dir = join(app, 'node_modules', name);
    const src = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).exports?.['.']?.[
      '@tsvirt/source'
    ];
    if (src) out[name] = { entry: `pkg-${name.slice('@tsvirt/'.length)}`, file: join(dir, src), dir };
  }
  return out;
}

/** Is dist/ at least as new as every input of the last build (and this file)? */
function fresh() {
  let meta;
  try {
    meta = JSON.parse(readFileSync(META, 'utf8'));
  } catch {
    return false;
  }
  try {
    for (const f of [...meta.inputs, SELF, join(app, 'package.json')])
      if (statSync(resolve(app, f)).mtimeMs > meta.builtAt) return false;
    for (const out of meta.outputs) statSync(join(dist, out));
  } catch {
    return false;
  }
  return true;
}

/** Build dist/ now: into a private directory first, then renamed in, so a concurrent start never sees half a build. */
export async function buildBundle() {
  let build;
  try {
    ({ build } = await import('esbuild'));
  } catch (e) {
    throw new Error(
      `apps/vm/dist needs a build and esbuild is not installed (${e.code ?? e.message}): run bash scripts/setup.sh`,
    );
  }
  const builtAt = Date.now();
  const pkgs = packageEntries();
  const tmp = join(dist, `.tmp-${process.pid}-${builtAt}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const entryPoints = [
      { in: join(app, 'src', 'main.ts'), out: 'main' },
      { in: join(app, 'src', 'mdev-cli', 'main.ts'), out: 'mdev-cli' },
      ...Object.values(pkgs).map((p) => ({ in: p.file, out: p.entry })),
    ];
    // Where each package's sources live relative to dist/, so the running bundle can tell a plugin's
    // import of the very package it was built from (a link to it) from a copy of its own.
    const bundle = {
      packages: Object.fromEntries(
        Object.entries(pkgs).map(([name, p]) => [
          name,
          { entry: `./${p.entry}.js`, dir: relative(dist, p.dir) },
        ]),
      ),
    };
    const r = await build({
      entryPoints,
      absWorkingDir: app,
      outdir: tmp,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      conditions: ['@tsvirt/source'],
      chunkNames: 'chunk-[hash]',
      // Class names show in messages and DI errors: keep them as written.
      keepNames: true,
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'error',
      // tsx is loaded only when a .ts plugin is given (src/plugins.ts), from the workspace.
      external: ['tsx', 'tsx/*'],
      // A string constant where it is used (an object would be a module of its own, initialised everywhere).
      define: { TSVIRT_BUNDLE: JSON.stringify(JSON.stringify(bundle)) },
      // CommonJS dependencies (tsyringe) call require() for Node's modules.
      banner: {
        js: "import { createRequire as __tsvirtRequire } from 'node:module'; const require = __tsvirtRequire(import.meta.url);",
      },
    });
    const outputs = Object.keys(r.metafile.outputs).map((o) => relative(tmp, join(app, o)));
    // Chunks (content-hashed names) first, entries after them, the record last.
    const order = [...outputs].sort(
      (a, b) => Number(b.startsWith('chunk-')) - Number(a.startsWith('chunk-')),
    );
    for (const o of order) renameSync(join(tmp, o), join(dist, o));
    // Dependencies under node_modules change only with an install, whose record pnpm rewrites:
    // one stat of that file instead of one per dependency file (an upgrade moves them anyway).
    const inputs = [
      ...Object.keys(r.metafile.inputs).filter((i) => !i.startsWith('<') && !i.includes('node_modules/')),
      relative(app, join(app, '..', '..', 'node_modules', '.modules.yaml')),
    ];
    writeFileSync(`${META}.${process.pid}`, JSON.stringify({ builtAt, inputs, outputs }));
    renameSync(`${META}.${process.pid}`, META);
    // Chunks of older builds, if no start could still be loading them.
    const keep = new Set(outputs);
    for (const f of readdirSync(dist))
      if (f.startsWith('chunk-') && !keep.has(f) && statSync(join(dist, f)).mtimeMs < builtAt - 60_000)
        rmSync(join(dist, f), { force: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The file: URL of one of dist/'s entries (`main`, `mdev-cli`), rebuilt
 * first if a source changed since the last build.
 */
export async function vmmBundle(entry) {
  if (!fresh()) {
    if (process.stderr.isTTY) process.stderr.write('(building apps/vm/dist: sources changed)\n');
    await buildBundle();
  }
  return pathToFileURL(join(dist, `${entry}.js`)).href;
}

if (process.argv[1] === SELF) {
  await buildBundle();
  console.log(
    `apps/vm: built ${relative(process.cwd(), dist) || '.'}/ (${readdirSync(dist).filter((f) => f.endsWith('.js')).length} files)`,
  );
}
