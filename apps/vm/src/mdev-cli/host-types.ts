import { FdTable, ModuleLoader } from '@tsvirt/core-bus';
import { MDEV_CORE, type MdevCore } from '@tsvirt/mdev-core';
import sampleGpuModule from '@tsvirt/sample-vendor-gpu';
import { hostModules } from '../machine.ts';
import { loadPlugins } from '../plugin-files.ts';
import { loadHostModules } from '../plugins.ts';

/**
 * The mdev parents a VMM started with these --plugin files would have: the
 * same host modules loaded the same way, in this process, with no VM. Each
 * VMM has its own host kernel, so instance counts are a fresh parent's.
 */
export async function hostMdevCore(plugins: readonly string[]): Promise<MdevCore> {
  const loader = new ModuleLoader();
  const mods = hostModules(new FdTable(), {
    mem: 256 * 2 ** 20,
    quantum: 50_000,
    jit: false,
    jitThreshold: undefined,
  });
  loadHostModules(loader, [...mods, sampleGpuModule], await loadPlugins(plugins));
  return loader.host.resolve<MdevCore>(MDEV_CORE);
}
