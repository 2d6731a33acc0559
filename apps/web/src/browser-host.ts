import { VmConfigError } from '@tsvirt/vm/src/config-error.ts';
import type { VmHost } from '@tsvirt/vm/src/vm-host.ts';

/**
 * apps/vm's VmHost with browser APIs, for the VM's Web Worker: files are the
 * ones the user picked (no file system), plugins and the tsvirt-mdev store
 * do not exist here, and the loop yields through a MessageChannel (a
 * setTimeout(0) chain is clamped to 4 ms after a few turns; a message task
 * is not, and still lets the page's input messages in between).
 */
export function browserVmHost(files: ReadonlyMap<string, Uint8Array>): VmHost {
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return {
    readFile(flag, path) {
      const bytes = files.get(path);
      if (bytes === undefined) throw new VmConfigError(`${flag} ${path}: no such file`);
      return bytes;
    },
    async loadPlugins(paths) {
      if (paths.length > 0)
        throw new VmConfigError(`--plugin ${paths[0]}: plugins cannot be loaded in a browser`);
      return [];
    },
    mdevStore() {
      throw new VmConfigError('the tsvirt-mdev store does not exist in a browser: give an mdev type');
    },
    yieldToHost() {
      return new Promise<void>((resolve) => {
        waiting.push(resolve);
        channel.port2.postMessage(0);
      });
    },
  };
}
