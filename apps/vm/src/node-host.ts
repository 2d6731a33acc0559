import { readFileSync } from 'node:fs';
import { VmConfigError } from './config-error.ts';
import { MdevStore } from './mdev-cli/store.ts';
import { loadPlugins } from './plugin-files.ts';
import type { VmHost } from './vm-host.ts';

/** The VMM's host under Node: files from disk, plugins through Node's loader, setImmediate between slices. */
export const nodeVmHost: VmHost = {
  readFile(flag, path) {
    try {
      return readFileSync(path);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new VmConfigError(
        code === 'ENOENT' ? `${flag} ${path}: no such file` : `${flag} ${path}: ${(e as Error).message}`,
      );
    }
  },
  loadPlugins,
  mdevStore: () => new MdevStore(),
  yieldToHost: () => new Promise<void>((resolve) => setImmediate(resolve)),
  peakRssBytes: () => process.resourceUsage().maxRSS * 1024,
};

export { nodeVmHost as defaultVmHost };
