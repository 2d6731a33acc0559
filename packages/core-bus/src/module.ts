import type { DependencyContainer } from 'tsyringe';
import { container as rootContainer } from 'tsyringe';
import type { ErrnoCode } from './errno.ts';
import { KernelError } from './kernel-error.ts';

/**
 * A module: one package's contribution to a VMM. It names the modules it
 * needs and registers its services (under exported symbol tokens) and its
 * drivers into a container. `scope: 'host'` modules register once into the
 * host container (host memory, VFIO, mdev parents); `scope: 'vm'` modules
 * register into each VM's child container (a KVM VM, a board, its devices),
 * where they can resolve everything the host registered.
 */
export interface VmmModule {
  /** Unique module name, used by dependsOn. */
  readonly name: string;
  /** 'host' registers once into the host container, 'vm' into each VM's container. */
  readonly scope?: 'host' | 'vm';
  /** Names of the modules that must be loaded first. */
  readonly dependsOn?: readonly string[];
  /** Register the module's services and drivers into the container. */
  register(container: DependencyContainer): void;
}

/** Types a `VmmModule` literal (its name, scope, dependencies and registrations); returns it unchanged. */
export function defineModule(m: VmmModule): VmmModule {
  return m;
}

/**
 * A module that cannot be loaded, with `module` naming the one at fault: the
 * dependent of a missing dependency, the second of two with one name, the
 * module a cycle was found from, the one whose register() failed.
 */
export class ModuleError extends KernelError {
  constructor(
    /** Name of the module the error is about. */
    readonly module: string,
    code: ErrnoCode,
    message: string,
  ) {
    super(code, message);
  }
}

/** A VmmModule by shape, not by class: a plugin's own copy of this package makes them too. */
export function isModule(m: unknown): m is VmmModule {
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof (m as VmmModule).name === 'string' &&
    typeof (m as VmmModule).register === 'function' &&
    ((m as VmmModule).dependsOn === undefined || Array.isArray((m as VmmModule).dependsOn))
  );
}

/**
 * Order modules so every dependency comes before its dependents (a
 * depth-first topological sort, stable in input order). `available` names
 * modules already loaded elsewhere (the host's, when ordering a VM's).
 * Missing dependency: ENOENT; cycle: ELOOP with the cycle spelled out;
 * two modules with one name: EEXIST. Each is a ModuleError naming the module.
 */
export function orderModules(
  modules: readonly VmmModule[],
  available: ReadonlySet<string> = new Set(),
): VmmModule[] {
  const byName = new Map<string, VmmModule>();
  for (const m of modules) {
    if (byName.has(m.name) || available.has(m.name))
      throw new ModuleError(m.name, 'EEXIST', `module ${m.name} is given twice`);
    byName.set(m.name, m);
  }
  const done = new Set<string>();
  const visiting: string[] = [];
  const out: VmmModule[] = [];
  const visit = (m: VmmModule): void => {
    if (done.has(m.name)) return;
    const at = visiting.indexOf(m.name);
    if (at >= 0)
      throw new ModuleError(
        m.name,
        'ELOOP',
        `module dependency cycle: ${[...visiting.slice(at), m.name].join(' -> ')}`,
      );
    visiting.push(m.name);
    for (const dep of m.dependsOn ?? []) {
      if (available.has(dep)) continue;
      const d = byName.get(dep);
      if (d === undefined)
        throw new ModuleError(m.name, 'ENOENT', `module ${m.name} depends on ${dep}, which is not loaded`);
      visit(d);
    }
    visiting.pop();
    done.add(m.name);
    out.push(m);
  };
  for (const m of modules) visit(m);
  return out;
}

/**
 * Loads modules into the host container and makes one child container per
 * VM (as kvmtool's init levels, but ordered by declared dependencies).
 */
export class ModuleLoader {
  private readonly loaded = new Set<string>();

  constructor(
    /** The host container; VM containers are its children. */ readonly host: DependencyContainer = rootContainer.createChildContainer(),
  ) {}

  /** Names of the modules loaded so far. */
  get loadedModules(): ReadonlySet<string> {
    return this.loaded;
  }

  /**
   * Register host-scope modules, in dependency order. Nothing registers if
   * ordering fails; a register() that throws stops the load there (the
   * modules before it stay loaded, as modules loaded before a failing one).
   */
  loadHost(modules: readonly VmmModule[]): void {
    for (const m of modules) {
      if (m.scope === 'vm')
        throw new ModuleError(m.name, 'EINVAL', `module ${m.name} is VM-scoped; pass it to createVm()`);
    }
    for (const m of orderModules(modules, this.loaded)) {
      registerModule(m, this.host);
      this.loaded.add(m.name);
    }
  }

  /** A child container for one VM with its VM-scope modules registered in order. */
  createVm(modules: readonly VmmModule[]): DependencyContainer {
    const vm = this.host.createChildContainer();
    for (const m of orderModules(modules, this.loaded)) registerModule(m, vm);
    return vm;
  }
}

/**
 * A module's register() failing is do_init_module() with an init that
 * fails: the module is not loaded, and the error names it. Its errno is
 * kept; anything else thrown is EINVAL, as a driver probe that throws.
 */
function registerModule(m: VmmModule, c: DependencyContainer): void {
  try {
    m.register(c);
  } catch (e) {
    const code = e instanceof KernelError ? e.code : 'EINVAL';
    // A KernelError's errno is the ModuleError's own: keep only where and why.
    const why =
      e instanceof KernelError
        ? `${e.syscall ? `${e.syscall}: ` : ''}${e.detail ?? e.code}`
        : e instanceof Error
          ? e.message
          : String(e);
    throw new ModuleError(m.name, code, `module ${m.name}: register() failed: ${why}`);
  }
}
