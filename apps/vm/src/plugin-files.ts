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
 * Import each --plugin file, a relative path taken from the directory the
 * VMM was started in; one that does not load is bad configuration naming it.
 */
export async function loadPlugins(paths: readonly string[]): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  for (const path of paths) {
    try {
      out.push({ path, module: await loadPluginModule(path, { hostImports: HOST_IMPORTS }) });
    } catch (e) {
      throw new VmConfigError(`--plugin ${path}: ${pluginFailure(e)}`);
    }
  }
  return out;
}
