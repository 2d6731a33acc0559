import { join } from 'node:path';
import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  coreBusModule,
  type DependencyContainer,
  DRIVER_CORE,
  DriverCore,
  defineModule,
  inject,
  injectable,
  KernelError,
  ModuleError,
  ModuleLoader,
  orderModules,
  type VmmModule,
} from '../src/index.ts';
import { loadPluginModule } from '../src/node.ts';

const mod = (name: string, dependsOn: string[] = [], log?: string[]): VmmModule =>
  defineModule({ name, dependsOn, register: () => log?.push(name) });

const CLOCK = Symbol('clock');
const VM_NAME = Symbol('vm-name');

@injectable()
class Greeter {
  constructor(
    @inject(CLOCK) readonly clock: { now: number },
    @inject(VM_NAME) readonly vm: string,
  ) {}
}

describe('module ordering', () => {
  it('puts dependencies first, depth-first in declared order', () => {
    const order = orderModules([
      mod('vm', ['kvm', 'vfio']),
      mod('vfio', ['mm']),
      mod('kvm', ['mm']),
      mod('mm'),
    ]);
    expect(order.map((m) => m.name)).toEqual(['mm', 'kvm', 'vfio', 'vm']);
  });

  it('refuses a cycle, naming it', () => {
    const e = (() => {
      try {
        orderModules([mod('a', ['b']), mod('b', ['c']), mod('c', ['a'])]);
      } catch (err) {
        return err as KernelError;
      }
    })();
    expect(e?.code).toBe('ELOOP');
    expect(e?.message).toMatch(/a -> b -> c -> a/);
  });

  it('refuses a missing dependency, naming both', () => {
    expect(() => orderModules([mod('vfio-mpci', ['vfio-core'])])).toThrow(
      /ENOENT.*vfio-mpci depends on vfio-core/,
    );
  });

  it('refuses two modules with one name', () => {
    expect(errnoOf(() => orderModules([mod('a'), mod('a')]))).toBe('EEXIST');
  });
});

describe('ModuleLoader', () => {
  it('registers host modules in order and gives each VM its own child container', () => {
    const log: string[] = [];
    const loader = new ModuleLoader();
    loader.loadHost([
      defineModule({
        name: 'clock',
        dependsOn: ['core-bus'],
        register: (c) => c.registerInstance(CLOCK, { now: 5 }),
      }),
      coreBusModule,
    ]);
    expect(loader.host.resolve(DRIVER_CORE)).toBeInstanceOf(DriverCore);
    const vmModule = (name: string) =>
      defineModule({
        name: 'board',
        scope: 'vm',
        dependsOn: ['clock'],
        register: (c: DependencyContainer) => {
          log.push(name);
          c.registerInstance(VM_NAME, name);
          c.register(Greeter, { useClass: Greeter });
        },
      });
    const vm1 = loader.createVm([vmModule('vm1')]);
    const vm2 = loader.createVm([vmModule('vm2')]);
    const g1 = vm1.resolve(Greeter);
    const g2 = vm2.resolve(Greeter);
    expect(g1.vm).toBe('vm1');
    expect(g2.vm).toBe('vm2');
    expect(g1.clock).toBe(g2.clock); // shared host service
    expect(loader.host.isRegistered(VM_NAME)).toBe(false);
    expect(log).toEqual(['vm1', 'vm2']);
  });

  it('registers nothing when the order cannot be made', () => {
    const log: string[] = [];
    const loader = new ModuleLoader();
    expect(() => loader.loadHost([mod('a', [], log), mod('b', ['zz'], log)])).toThrow(KernelError);
    expect(log).toEqual([]);
    expect(loader.loadedModules.size).toBe(0);
  });

  it('names the module at fault in every refusal (ModuleError.module)', () => {
    const at = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(ModuleError);
        const m = e as ModuleError;
        return [m.module, m.code, m.detail];
      }
      throw new Error('no error');
    };
    expect(at(() => orderModules([mod('a'), mod('b', ['zz'])]))).toEqual([
      'b',
      'ENOENT',
      'module b depends on zz, which is not loaded',
    ]);
    expect(at(() => orderModules([mod('a'), mod('a')]))).toEqual(['a', 'EEXIST', 'module a is given twice']);
    expect(at(() => orderModules([mod('p', ['q']), mod('q', ['p'])]))[0]).toBe('p');
  });

  it('a register() that throws is an error naming the module, which is not loaded', () => {
    const log: string[] = [];
    const loader = new ModuleLoader();
    const bad = (thrown: unknown): VmmModule => ({
      name: 'bad',
      dependsOn: ['a'],
      register: () => {
        throw thrown;
      },
    });
    let e: unknown;
    try {
      loader.loadHost([mod('a', [], log), bad(new Error('no device'))]);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ModuleError);
    expect(e).toMatchObject({
      module: 'bad',
      code: 'EINVAL',
      detail: 'module bad: register() failed: no device',
    });
    // Loaded up to the failure, as modules are; the failed one is not loaded.
    expect([...loader.loadedModules]).toEqual(['a']);
    // A KernelError thrown by register() keeps its errno.
    expect(() =>
      loader.loadHost([
        bad(new KernelError('EEXIST', 'parent x is already registered', 'mdev_register_device')),
      ]),
    ).toThrow(/^EEXIST \(File exists\): module bad: register\(\) failed: mdev_register_device: parent x is/);
    expect(() => loader.createVm([bad('a string')])).toThrow(/module bad: register\(\) failed: a string/);
  });

  it('refuses a VM module in the host and a host module name twice', () => {
    const loader = new ModuleLoader();
    expect(errnoOf(() => loader.loadHost([{ ...mod('x'), scope: 'vm' }]))).toBe('EINVAL');
    loader.loadHost([mod('x')]);
    expect(errnoOf(() => loader.loadHost([mod('x')]))).toBe('EEXIST');
  });
});

describe('plugins', () => {
  const fixtures = join(import.meta.dirname, 'fixtures');

  it('loads a module from a file path', async () => {
    const plugin = await loadPluginModule(join(fixtures, 'plugin-ok.ts'));
    expect(plugin.name).toBe('demo-plugin');
    const loader = new ModuleLoader();
    loader.loadHost([coreBusModule, plugin]);
    expect(loader.host.resolve(Symbol.for('test.plugin.greeting'))).toBe('hello from a plugin');
  });

  it('takes a relative path from the given directory, and says where it looked when it is not there', async () => {
    expect((await loadPluginModule('plugin-ok.ts', { cwd: fixtures })).name).toBe('demo-plugin');
    await expect(loadPluginModule('plugin-ok.ts', { cwd: import.meta.dirname })).rejects.toMatchObject({
      code: 'ENOENT',
      detail: `plugin plugin-ok.ts not found (looked for ${join(import.meta.dirname, 'plugin-ok.ts')})`,
    });
  });

  it('refuses a file that exports no module, and a missing file', async () => {
    await expect(loadPluginModule(join(fixtures, 'plugin-bad.ts'))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(loadPluginModule(join(fixtures, 'nope.ts'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a file that does not evaluate is ENOEXEC with the first line of why', async () => {
    await expect(loadPluginModule(join(fixtures, 'plugin-throws-at-load.ts'))).rejects.toMatchObject({
      code: 'ENOEXEC',
      detail: expect.stringMatching(/plugin-throws-at-load.ts failed to load: plugin top level failed$/),
    });
    // A missing import inside the plugin is not "plugin not found".
    await expect(loadPluginModule(join(fixtures, 'plugin-missing-import.ts'))).rejects.toMatchObject({
      code: 'ENOEXEC',
    });
  });
});
