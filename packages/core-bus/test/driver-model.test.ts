import { describe, expect, it } from 'vitest';
import { Device, type Driver, DriverCore, fail, KernelError } from '../src/index.ts';

class PciLikeDevice extends Device {
  constructor(
    name: string,
    readonly vendor: number,
  ) {
    super(name, 'demo');
  }
}

function driver(
  name: string,
  vendor: number,
  log: string[],
  probeFails?: 'EIO' | 'ENODEV',
): Driver<PciLikeDevice> {
  return {
    name,
    bus: 'demo',
    probe(dev) {
      log.push(`probe ${name} ${dev.name}`);
      if (probeFails) fail(probeFails, `${name} refuses`);
      void vendor;
    },
    remove(dev) {
      log.push(`remove ${name} ${dev.name}`);
    },
  };
}

function newCore(): DriverCore {
  const core = new DriverCore();
  core.registerBus({
    name: 'demo',
    match: (dev: PciLikeDevice, drv: Driver<PciLikeDevice> & { vendor?: number }) =>
      drv.name.startsWith(`v${dev.vendor.toString(16)}`),
  });
  return core;
}

describe('DriverCore', () => {
  it('binds a device registered before its driver', () => {
    const core = newCore();
    const log: string[] = [];
    const dev = new PciLikeDevice('d0', 0xa);
    core.addDevice(dev);
    expect(dev.bound).toBe(false);
    const drv = driver('va-drv', 0xa, log);
    core.registerDriver(drv);
    expect(dev.driver).toBe(drv);
    expect(log).toEqual(['probe va-drv d0']);
  });

  it('binds a device registered after its driver, and only on match', () => {
    const core = newCore();
    const log: string[] = [];
    core.registerDriver(driver('va-drv', 0xa, log));
    const other = new PciLikeDevice('d1', 0xb);
    core.addDevice(other);
    core.addDevice(new PciLikeDevice('d0', 0xa));
    expect(other.bound).toBe(false);
    expect(log).toEqual(['probe va-drv d0']);
  });

  it('calls remove on device and driver unregister', () => {
    const core = newCore();
    const log: string[] = [];
    const drv = driver('va-drv', 0xa, log);
    core.registerDriver(drv);
    const d0 = new PciLikeDevice('d0', 0xa);
    const d1 = new PciLikeDevice('d1', 0xa);
    core.addDevice(d0);
    core.addDevice(d1);
    core.removeDevice(d0);
    expect(d0.bound).toBe(false);
    core.unregisterDriver(drv);
    expect(d1.bound).toBe(false);
    expect(log).toEqual(['probe va-drv d0', 'probe va-drv d1', 'remove va-drv d0', 'remove va-drv d1']);
    expect(core.devices('demo').map((d) => d.name)).toEqual(['d1']);
  });

  it('leaves a device unbound with the reason when probe fails, and tries the next driver', () => {
    const core = newCore();
    const log: string[] = [];
    core.registerDriver(driver('va-bad', 0xa, log, 'EIO'));
    const dev = new PciLikeDevice('d0', 0xa);
    const events: string[] = [];
    core.on((e) => events.push(`${e.kind}:${e.driver.name}`));
    core.addDevice(dev);
    expect(dev.bound).toBe(false);
    expect(dev.probeErrors.get('va-bad')?.code).toBe('EIO');
    core.registerDriver(driver('va-good', 0xa, log));
    expect(dev.driver?.name).toBe('va-good');
    expect(events).toEqual(['probe-failed:va-bad', 'bind:va-good']);
    // A later failing driver is also passed over when a device arrives.
    const dev2 = new PciLikeDevice('d2', 0xa);
    core.addDevice(dev2);
    expect(dev2.driver?.name).toBe('va-good');
  });

  it('keeps the driver data on the device while bound, and clears it on unbind and on a failed probe', () => {
    const core = newCore();
    const probe = (fails: boolean): Driver<PciLikeDevice> => ({
      name: fails ? 'va-bad' : 'va-good',
      bus: 'demo',
      probe(dev) {
        dev.driverData = { state: 1 }; // dev_set_drvdata() before the probe gives up
        if (fails) fail('EIO', 'refuses');
      },
      remove() {},
    });
    const dev = new PciLikeDevice('d0', 0xa);
    const bad = probe(true);
    const good = probe(false);
    core.registerDriver(bad);
    core.addDevice(dev);
    expect(dev.driverData).toBeUndefined();
    core.unregisterDriver(bad);
    core.registerDriver(good);
    expect(dev.driverData).toEqual({ state: 1 });
    core.unregisterDriver(good);
    expect(dev.driverData).toBeUndefined();
  });

  it('a probe that throws a non-kernel error is still contained', () => {
    const core = newCore();
    core.registerDriver({
      name: 'va-throws',
      bus: 'demo',
      probe() {
        throw new TypeError('boom');
      },
      remove() {},
    });
    const dev = new PciLikeDevice('d0', 0xa);
    core.addDevice(dev);
    expect(dev.bound).toBe(false);
    expect(dev.probeErrors.get('va-throws')?.message).toMatch(/boom/);
  });

  it('manual bind and unbind with the sysfs errors', () => {
    const core = newCore();
    const log: string[] = [];
    const dev = new PciLikeDevice('d0', 0xa);
    core.addDevice(dev);
    core.registerDriver(driver('va-one', 0xa, log));
    core.registerDriver(driver('va-two', 0xa, log));
    core.registerDriver(driver('vb-drv', 0xb, log));
    core.registerDriver(driver('va-bad', 0xa, log, 'EIO'));
    expect(dev.driver?.name).toBe('va-one');
    const err = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        return (e as KernelError).code;
      }
    };
    expect(err(() => core.bind(dev, 'va-two'))).toBe('EBUSY');
    core.unbind(dev);
    expect(err(() => core.unbind(dev))).toBe('ENODEV');
    expect(err(() => core.bind(dev, 'vb-drv'))).toBe('ENODEV');
    expect(err(() => core.bind(dev, 'nope'))).toBe('ENODEV');
    expect(err(() => core.bind(dev, 'va-bad'))).toBe('EIO');
    expect(dev.bound).toBe(false);
    core.bind(dev, 'va-two');
    expect(dev.driver?.name).toBe('va-two');
  });

  it('refuses duplicates and unknown buses', () => {
    const core = newCore();
    expect(() => core.registerBus({ name: 'demo', match: () => true })).toThrow(KernelError);
    core.addDevice(new PciLikeDevice('d0', 1));
    expect(() => core.addDevice(new PciLikeDevice('d0', 1))).toThrow(/EEXIST/);
    expect(() => core.addDevice(new Device('x', 'nobus'))).toThrow(/ENODEV/);
  });

  it('unregistering a bus removes its devices first', () => {
    const core = newCore();
    const log: string[] = [];
    core.registerDriver(driver('va-drv', 0xa, log));
    core.addDevice(new PciLikeDevice('d0', 0xa));
    core.unregisterBus('demo');
    expect(log).toEqual(['probe va-drv d0', 'remove va-drv d0']);
    expect(core.hasBus('demo')).toBe(false);
  });
});
