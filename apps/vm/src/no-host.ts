import type { VmHost } from './vm-host.ts';

/**
 * `#default-host` outside Node (a browser bundle): there is no default, the
 * embedding program passes its own VmHost to Machine.create. Anything used
 * without one says so instead of failing somewhere inside.
 */
const missing = (): never => {
  throw new Error('no VmHost: outside Node, pass one to Machine.create');
};

export const defaultVmHost: VmHost = {
  readFile: missing,
  loadPlugins: missing,
  mdevStore: missing,
  yieldToHost: missing,
};
