// tsyringe needs the Reflect metadata API present before it loads.
import 'reflect-metadata';

export { container, type DependencyContainer, inject, injectable, singleton } from 'tsyringe';
export { AddressBus, type BusDevice, type BusHit, type BusRange } from './address-bus.ts';
export { coreBusModule } from './core-bus-module.ts';
export { type BusType, Device, type Driver, DriverCore, type DriverCoreEvent } from './driver-model.ts';
export { ERRNO, ERRNO_ALIASES, type ErrnoCode, errnoName, STRERROR } from './errno.ts';
export { EFD_NONBLOCK, EFD_SEMAPHORE, EVENTFD_MAX, EventFd, type EventFdListener } from './eventfd.ts';
export { FdTable, type KernelFile } from './fd-table.ts';
export { floorIndex } from './floor-index.ts';
export { fail, isKernelError, KernelError } from './kernel-error.ts';
export {
  defineModule,
  ModuleError,
  ModuleLoader,
  orderModules,
  type VmmModule,
} from './module.ts';
export { DRIVER_CORE, MODULE_LOADER } from './tokens.ts';
export { WORK_QUEUE, WorkQueue, type WorkStruct } from './work-queue.ts';
