import { realpathSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadPluginModule } from '@tsvirt/core-bus/node';
import { VmConfigError } from './config-error.ts';
import { type LoadedPlugin, pluginFailure } from './plugins.ts';

// Plugin files are imported through Node's module loader: Node-only, kept
// apart from plugins.ts so a browser bundle of the machine does not pull it in.

/**
 * The VMM's own packages, offered to plugins: a plugin file copied anywhere
 * imports `@tsvirt/...` and, having no node_modules of its own, gets the
 * VMM's copies (resolved from this file, as apps/vm depends on them all).
 */
const HOST_IMPORTS = { from: import.meta.url, scope: '@tsvirt/' };

/**
 * Set by build/bundle.mjs (esbuild's define) when this file runs from the
 * prebuilt dist/: JSON of each bundled @tsvirt package's entry, and its
 * directory in the workspace, both relative to dist/. Undefined when the
 * sources run.
 */
declare const TSVIRT_BUNDLE: string | undefined;

interface BundleInfo {
  packages: Record<string, { entry: string; dir: string }>;
}

// Run in Node's loader thread once the bundled VMM loads a plugin: plugins
// resolve with the @tsvirt/source condition, as vm.sh's tsx run gave them
// (a copy of a package that ships only src/ still loads), and an import of
// a bundled @tsvirt package that lands in the very package dist/ was built
// from (a plugin beside a link to it, or resolved from the VMM's own
// directory by core-bus's host-imports fallback) gets dist/'s entry, so the
// plugin and the VMM share one copy of each module. A copy of its own stays.
const BUNDLE_HOOK = `
let packages;
export function initialize(data) { packages = data.packages; }
export async function resolve(specifier, context, next) {
  const conditions = context.conditions.includes('@tsvirt/source') ? context.conditions : [...context.conditions, '@tsvirt/source'];
  const r = await next(specifier, { ...context, conditions });
  const p = packages[specifier];
  if (p && r.url.startsWith(p.dir)) return { url: p.entry, shortCircuit: true };
  // A plugin is an ES module (core-bus's loadPluginModule): its .ts or .js files outside any
  // "type": "module" package are too, where tsx, once loaded, would take them for CommonJS.
  if (r.format === 'commonjs' && r.url.startsWith('file:') && /.[jt]s$/.test(r.url) && !r.url.includes('/node_modules/'))
    return { ...r, format: 'module' };
  return r;
}`;

let bundleHooked = false;
let tsxRegistered = false;

/** In the bundled VMM, what the sources' run got from tsx and --conditions: .ts plugins load, and share dist/'s modules. */
async function prepareBundledPluginLoad(paths: readonly string[]): Promise<void> {
  if (typeof TSVIRT_BUNDLE === 'undefined') return;
  // tsx's loader only for a TypeScript plugin: registering it costs a start some 100 ms.
  if (!tsxRegistered && paths.some((p) => /\.[cm]?ts$/.test(p))) {
    tsxRegistered = true;
    // tsx's loader as `node --import tsx` registers it (ESM and CommonJS hooks: a .ts file outside any
    // package is CommonJS to Node); resolved at run time from the workspace, never bundled.
    const tsx = 'tsx';
    await import(tsx);
  }
  if (bundleHooked) return;
  bundleHooked = true;
  const packages: Record<string, { entry: string; dir: string }> = {};
  const bundle = JSON.parse(TSVIRT_BUNDLE) as BundleInfo;
  for (const [name, p] of Object.entries(bundle.packages)) {
    let dir: string;
    try {
      dir = realpathSync(fileURLToPath(new URL(p.dir, import.meta.url)));
    } catch {
      continue; // the workspace moved away from under dist/: nothing to share by path
    }
    packages[name] = { entry: new URL(p.entry, import.meta.url).href, dir: `${pathToFileURL(dir).href}/` };
  }
  register(`data:text/javascript,${encodeURIComponent(BUNDLE_HOOK)}`, { data: { packages } });
}

/**
 * Import each --plugin file, a relative path taken from the directory the
 * VMM was started in; one that does not load is bad configuration naming it.
 */
export async function loadPlugins(paths: readonly string[]): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  if (paths.length > 0) await prepareBundledPluginLoad(paths);
  for (const path of paths) {
    try {
      out.push({ path, module: await loadPluginModule(path, { hostImports: HOST_IMPORTS }) });
    } catch (e) {
      throw new VmConfigError(`--plugin ${path}: ${pluginFailure(e)}`);
    }
  }
  return out;
}
