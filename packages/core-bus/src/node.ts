// The Node-only part of core-bus: loading a plugin file needs Node's module
// loader (module.register) and file system, which a browser has no equivalent
// for, so it lives behind this subpath and the main entry stays browser-safe.

// tsyringe needs the Reflect metadata API before it loads (as in index.ts).
import 'reflect-metadata';

export { type LoadPluginOptions, loadPluginModule } from './plugin-loader.ts';
