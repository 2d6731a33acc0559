import type { MdevStore } from './mdev-cli/store.ts';
import type { LoadedPlugin } from './plugins.ts';

/**
 * What the machine needs from the program hosting it that a browser and
 * Node provide differently: files named on the command line, plugin
 * modules, the tsvirt-mdev store, and a way to let the host's event loop
 * run between slices of guest time. apps/vm supplies it with Node
 * (node-host.ts); apps/web with browser APIs in its Web Worker.
 */
export interface VmHost {
  /** The bytes of a file the configuration names (the --initrd image); a VmConfigError when it cannot be read. */
  readFile(flag: string, path: string): Uint8Array;
  /** Import each --plugin file; a VmConfigError naming the one that does not load. */
  loadPlugins(paths: readonly string[]): Promise<LoadedPlugin[]>;
  /** The tsvirt-mdev store a bare --mdev UUID is looked up in. */
  mdevStore(): MdevStore;
  /** Resolve after the host's pending events (console input, timers, messages) have had their turn. */
  yieldToHost(): Promise<void>;
  /** The VMM process's own peak resident set in bytes (under Node: /proc/self/status VmHWM), where the host can tell. */
  peakRssBytes?(): number;
}
