import {
  isKernelError,
  loadPluginModule,
  ModuleError,
  type ModuleLoader,
  type VmmModule,
} from '@tsvirt/core-bus';
import { VmConfigError } from './config-error.ts';

/** A --plugin file and the module it exports. */
export interface LoadedPlugin {
  path: string;
  module: VmmModule;
}

/** Why a plugin failed, on one line: what the loader said and its errno. */
function reason(e: unknown): string {
  if (isKernelError(e)) return `${e.detail ?? 'failed'} (${e.code})`;
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/**
 * The VMM's own packages, offered to plugins: a plugin file copied anywhere
 * imports `@tsvirt/...` and, having no node_modules of its own, gets the
 * VMM's copies (resolved from this file, as apps/vm depends on them all).
 */
const HOST_IMPORTS = { from: import.meta.url, scope: '@tsvirt/' };

/**
 * Import each --plugin file, a relative path taken from the directory the
 * VMM was started in; one that does not load is bad configuration naming it.
 */
export async function loadPlugins(paths: readonly string[]): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  for (const path of paths) {
    try {
      out.push({ path, module: await loadPluginModule(path, { hostImports: HOST_IMPORTS }) });
    } catch (e) {
      throw new VmConfigError(`--plugin ${path}: ${reason(e)}`);
    }
  }
  return out;
}

/**
 * Load the built-in host modules and the plugins after them. A plugin the
 * loader refuses (a missing dependency, a name given twice, a dependency
 * cycle, a register() that throws, e.g. an mdev parent registered twice) is
 * bad configuration naming the plugin's file; the loader's ModuleError says
 * which module, and plugins come last, so it is the last of that name.
 */
export function loadHostModules(
  loader: ModuleLoader,
  builtIn: readonly VmmModule[],
  plugins: readonly LoadedPlugin[],
): void {
  try {
    loader.loadHost([...builtIn, ...plugins.map((p) => p.module)]);
  } catch (e) {
    const at = e instanceof ModuleError ? plugins.findLast((p) => p.module.name === e.module) : undefined;
    if (at === undefined) throw e;
    throw new VmConfigError(`--plugin ${at.path}: ${reason(e)}`);
  }
}
