import { fail, KernelError } from './kernel-error.ts';

/** A bus type (struct bus_type): decides which driver may drive which device. */
export interface BusType<Dev extends Device = Device, Drv extends Driver<Dev> = Driver<Dev>> {
  /** Bus name, as in /sys/bus/<name>. */
  readonly name: string;
  /** Whether `drv` may drive `dev` (bus_type.match). */
  match(dev: Dev, drv: Drv): boolean;
}

/**
 * A driver (struct device_driver). `probe` claims the device or throws a
 * KernelError saying why not; `remove` releases it and cannot fail.
 */
export interface Driver<Dev extends Device = Device> {
  /** Driver name. */
  readonly name: string;
  /** Name of the bus the driver registers on. */
  readonly bus: string;
  /** Bind to the device, or throw a KernelError saying why not. */
  probe(dev: Dev): void;
  /** Unbind from the device; cannot fail. */
  remove(dev: Dev): void;
}

/** A device (struct device) on a named bus. */
export class Device {
  /** The bound driver, or undefined. */
  driver: Driver | undefined = undefined;
  /**
   * The bound driver's per-device state (dev_set_drvdata()/dev_get_drvdata()).
   * It lives on the device, not in a driver module's map, so a second copy
   * of the driver's package (a plugin's own) finds it too.
   */
  driverData: unknown = undefined;
  /** Why the last probe of this device failed, for each driver that refused it. */
  readonly probeErrors = new Map<string, KernelError>();

  constructor(
    /** Device name, unique on its bus. */
    readonly name: string,
    /** Name of the bus the device sits on. */
    readonly bus: string,
  ) {}

  /** Whether a driver is bound. */
  get bound(): boolean {
    return this.driver !== undefined;
  }
}

/** What the driver core reports to `on()` listeners: a bind, an unbind, or a probe that failed. */
export type DriverCoreEvent =
  | {
      /** A driver was bound to the device. */
      kind: 'bind';
      /** The device. */
      device: Device;
      /** The driver. */
      driver: Driver;
    }
  | {
      /** A driver was unbound from the device. */
      kind: 'unbind';
      /** The device. */
      device: Device;
      /** The driver. */
      driver: Driver;
    }
  | {
      /** A driver's probe refused the device. */
      kind: 'probe-failed';
      /** The device. */
      device: Device;
      /** The driver. */
      driver: Driver;
      /** Why the driver refused the device. */
      error: KernelError;
    };

interface BusState {
  type: BusType<any, any>;
  devices: Map<string, Device>;
  drivers: Map<string, Driver<any>>;
}

/**
 * The driver core (drivers/base/): buses, devices and drivers registered in
 * any order, probe on match, remove on unregister, manual bind/unbind as
 * through sysfs. As in really_probe(), a driver whose probe fails leaves the
 * device unbound and the next matching driver gets its chance.
 */
export class DriverCore {
  private readonly buses = new Map<string, BusState>();
  private readonly listeners = new Set<(e: DriverCoreEvent) => void>();

  /** Register a bus type; EEXIST if its name is taken. */
  registerBus(type: BusType<any, any>): void {
    if (this.buses.has(type.name)) fail('EEXIST', `bus ${type.name} already registered`);
    this.buses.set(type.name, { type, devices: new Map(), drivers: new Map() });
  }

  /** Unregister a bus: every device is removed first (and so unbound). */
  unregisterBus(name: string): void {
    const bus = this.bus(name);
    for (const dev of [...bus.devices.values()]) this.removeDevice(dev);
    for (const drv of [...bus.drivers.values()]) this.unregisterDriver(drv);
    this.buses.delete(name);
  }

  /** Whether a bus with this name is registered. */
  hasBus(name: string): boolean {
    return this.buses.has(name);
  }

  /** Subscribe to driver-core events; returns the unsubscribe function. */
  on(listener: (e: DriverCoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private bus(name: string): BusState {
    const bus = this.buses.get(name);
    if (bus === undefined) fail('ENODEV', `no bus ${name}`);
    return bus;
  }

  private emit(e: DriverCoreEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** device_add(): register and try every matching driver in registration order. */
  addDevice(dev: Device): void {
    const bus = this.bus(dev.bus);
    if (bus.devices.has(dev.name)) fail('EEXIST', `device ${dev.name} already on bus ${dev.bus}`);
    bus.devices.set(dev.name, dev);
    this.attach(bus, dev);
  }

  /** device_del(): unbind (driver remove) then forget the device. */
  removeDevice(dev: Device): void {
    const bus = this.bus(dev.bus);
    if (bus.devices.get(dev.name) !== dev) fail('ENODEV', `device ${dev.name} not on bus ${dev.bus}`);
    if (dev.driver) this.release(dev);
    bus.devices.delete(dev.name);
  }

  /** driver_register(): bind every unbound matching device. */
  registerDriver(drv: Driver<any>): void {
    const bus = this.bus(drv.bus);
    if (bus.drivers.has(drv.name)) fail('EEXIST', `driver ${drv.name} already on bus ${drv.bus}`);
    bus.drivers.set(drv.name, drv);
    for (const dev of bus.devices.values()) {
      if (!dev.driver && bus.type.match(dev, drv)) this.probe(dev, drv);
    }
  }

  /** driver_unregister(): remove() from every device it drives, then forget it. */
  unregisterDriver(drv: Driver<any>): void {
    const bus = this.bus(drv.bus);
    if (bus.drivers.get(drv.name) !== drv) fail('ENODEV', `driver ${drv.name} not on bus ${drv.bus}`);
    for (const dev of bus.devices.values()) if (dev.driver === drv) this.release(dev);
    bus.drivers.delete(drv.name);
  }

  /**
   * Manual bind (sysfs `bind`): EBUSY if the device already has a driver,
   * ENODEV if the driver does not match, else the probe's own error.
   */
  bind(dev: Device, driverName: string): void {
    const bus = this.bus(dev.bus);
    const drv = bus.drivers.get(driverName);
    if (drv === undefined) fail('ENODEV', `no driver ${driverName} on bus ${dev.bus}`);
    if (bus.devices.get(dev.name) !== dev) fail('ENODEV', `device ${dev.name} not on bus ${dev.bus}`);
    if (dev.driver) fail('EBUSY', `${dev.name} is bound to ${dev.driver.name}`);
    if (!bus.type.match(dev, drv)) fail('ENODEV', `${driverName} does not match ${dev.name}`);
    const err = this.probe(dev, drv);
    if (err) throw err;
  }

  /** Manual unbind (sysfs `unbind`): ENODEV if the device is not bound. */
  unbind(dev: Device): void {
    if (!dev.driver) fail('ENODEV', `${dev.name} has no driver`);
    this.release(dev);
  }

  /** The devices on a bus. */
  devices(busName: string): Device[] {
    return [...this.bus(busName).devices.values()];
  }

  /** The drivers registered on a bus. */
  drivers(busName: string): Driver<any>[] {
    return [...this.bus(busName).drivers.values()];
  }

  /** The device with this name on a bus, if any. */
  findDevice(busName: string, name: string): Device | undefined {
    return this.buses.get(busName)?.devices.get(name);
  }

  private attach(bus: BusState, dev: Device): void {
    for (const drv of bus.drivers.values()) {
      if (bus.type.match(dev, drv) && this.probe(dev, drv) === undefined) return;
    }
  }

  /** really_probe(): bind on success; on failure record why and stay unbound. */
  private probe(dev: Device, drv: Driver<any>): KernelError | undefined {
    dev.driver = drv;
    try {
      drv.probe(dev);
    } catch (e) {
      dev.driver = undefined;
      dev.driverData = undefined; // really_probe()'s failure path: dev_set_drvdata(dev, NULL)
      const err =
        e instanceof KernelError
          ? e
          : new KernelError('EINVAL', `probe threw: ${(e as Error)?.message ?? e}`);
      dev.probeErrors.set(drv.name, err);
      this.emit({ kind: 'probe-failed', device: dev, driver: drv, error: err });
      return err;
    }
    dev.probeErrors.delete(drv.name);
    this.emit({ kind: 'bind', device: dev, driver: drv });
    return undefined;
  }

  private release(dev: Device): void {
    const drv = dev.driver!;
    drv.remove(dev);
    dev.driver = undefined;
    dev.driverData = undefined; // device_unbind_cleanup()
    this.emit({ kind: 'unbind', device: dev, driver: drv });
  }
}
