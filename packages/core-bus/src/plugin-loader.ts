import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fail } from './kernel-error.ts';
import { isModule, type VmmModule } from './module.ts';

/** Options of loadPlugin(). */
export interface LoadPluginOptions {
  /** The directory a relative path is taken from; default the process's working directory. */
  cwd?: string;
  /**
   * A file (path or file: URL) of the host program from which packages
   * under `scope` resolve. An import under `scope` that the plugin cannot
   * resolve from its own directory (a plugin file copied anywhere, with no
   * node_modules of its own) gets the host's copy, as a kernel module links
   * against the running kernel's symbols. A plugin that has its own copy
   * keeps it.
   */
  hostImports?: {
    /** The host program's file (path or file: URL) the packages resolve from. */
    from: string;
    /** The package scope (e.g. '@tsvirt') the host supplies. */
    scope: string;
  };
}

// The resolve hook, run in Node's loader thread (module.register()): try the
// normal chain first; only an unresolvable bare import under the scope is
// retried from the host's file.
const HOOK = `
let from, scope;
export function initialize(data) { from = data.from; scope = data.scope; }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !specifier.startsWith(scope) || context.parentURL === from) throw e;
    return next(specifier, { ...context, parentURL: from });
  }
}`;

/** The host files already offered, so the hook is registered once per (file, scope). */
const offered = new Set<string>();

function offerHostImports({ from, scope }: { from: string; scope: string }): void {
  const url = from.startsWith('file:') ? from : pathToFileURL(from).href;
  const key = `${url}\0${scope}`;
  if (offered.has(key)) return;
  offered.add(key);
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { from: url, scope } });
}

/**
 * Load a plugin: an ES module file (`.ts`, `.mts`, `.mjs` or `.js`) whose
 * default export (or `module` export) is a VmmModule, found by shape so a
 * plugin built against its own copy of this package loads too. A file that
 * does not export one is EINVAL; a missing file is ENOENT; one that fails to
 * import or evaluate (an import it cannot resolve, a syntax error, a throw
 * at load) is finit_module()'s ENOEXEC, with the first line of the real
 * cause (which module could not be found, from where).
 */
export async function loadPluginModule(path: string, opts: LoadPluginOptions = {}): Promise<VmmModule> {
  const abs = isAbsolute(path) ? path : resolve(opts.cwd ?? process.cwd(), path);
  if (!existsSync(abs)) fail('ENOENT', `plugin ${path} not found (looked for ${abs})`);
  if (opts.hostImports) offerHostImports(opts.hostImports);
  let ns: Record<string, unknown>;
  try {
    ns = await import(pathToFileURL(abs).href);
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    fail('ENOEXEC', `plugin ${path} failed to load: ${first}`);
  }
  const m = ns.default ?? ns.module;
  if (!isModule(m))
    fail('EINVAL', `plugin ${path} does not export a module (default export with name and register())`);
  return m;
}
