import { isKernelError, ModuleError, type ModuleLoader, type VmmModule } from '@tsvirt/core-bus';
import { VmConfigError } from './config-error.ts';

/** A --plugin file and the module it exports. */
export interface LoadedPlugin {
  path: string;
  module: VmmModule;
}

/** Why a plugin failed, on one line: what the loader said and its errno. */
export function pluginFailure(e: unknown): string {
  if (isKernelError(e)) return `${e.detail ?? 'failed'} (${e.code})`;
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
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
    throw new VmConfigError(`--plugin ${at.path}: ${pluginFailure(e)}`);
  }
}
