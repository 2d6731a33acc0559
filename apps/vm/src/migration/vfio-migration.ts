import { type FdTable, fail, isKernelError } from '@tsvirt/core-bus';
import {
  VFIO_DEVICE_FEATURE,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_MIGRATION,
  VFIO_DEVICE_FEATURE_SET,
  VFIO_DEVICE_STATE_RESUMING,
  VFIO_DEVICE_STATE_RUNNING,
  VFIO_DEVICE_STATE_STOP,
  VFIO_DEVICE_STATE_STOP_COPY,
  VFIO_MIGRATION_STOP_COPY,
  type VfioDeviceFeature,
  type VfioDeviceFeatureMigState,
  type VfioDeviceFile,
} from '@tsvirt/vfio-core';

// The VMM side of VFIO migration v2, as QEMU's hw/vfio/migration.c drives it.

/** Bytes per read(2) of the data fd (QEMU reads in chunks of its data buffer). */
const DATA_CHUNK = 1 << 20;

/** VFIO_DEVICE_FEATURE_MIGRATION: the device's migration_flags, 0 when it cannot migrate (ENOTTY). */
export function vfioMigrationFlags(device: VfioDeviceFile): number {
  const f: VfioDeviceFeature<{ flags: bigint }> = {
    argsz: 16,
    flags: VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION,
  };
  try {
    device.ioctl(VFIO_DEVICE_FEATURE, f);
  } catch (e) {
    if (isKernelError(e) && e.code === 'ENOTTY') return 0;
    throw e;
  }
  return Number(f.data?.flags ?? 0n);
}

/** Can the device do stop-copy migration (the mandatory flag; QEMU adds a migration blocker otherwise)? */
export function vfioCanMigrate(device: VfioDeviceFile): boolean {
  return (vfioMigrationFlags(device) & VFIO_MIGRATION_STOP_COPY) !== 0;
}

/** VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE GET. */
export function vfioGetState(device: VfioDeviceFile): number {
  const f: VfioDeviceFeature<VfioDeviceFeatureMigState> = {
    argsz: 16,
    flags: VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  };
  device.ioctl(VFIO_DEVICE_FEATURE, f);
  return f.data!.device_state;
}

/** VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE SET (QEMU's vfio_migration_set_state()): the data fd, or -1. */
export function vfioSetState(device: VfioDeviceFile, state: number): number {
  const f: VfioDeviceFeature<VfioDeviceFeatureMigState> = {
    argsz: 16,
    flags: VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
    data: { device_state: state, data_fd: -1 },
  };
  device.ioctl(VFIO_DEVICE_FEATURE, f);
  return f.data!.data_fd;
}

interface DataFile {
  read?(buf: Uint8Array): number;
  write?(buf: Uint8Array): number;
}

function dataFile(files: FdTable, fd: number, op: 'read' | 'write'): DataFile {
  const f = files.get(fd) as DataFile;
  if (typeof f[op] !== 'function') fail('EINVAL', `fd ${fd} cannot ${op}`, op);
  return f;
}

/**
 * Save a device (QEMU's vfio_save_complete_precopy()): the vCPUs are
 * stopped; RUNNING -> STOP -> STOP_COPY, read the data fd to its end, close
 * it, and leave the device in STOP (resumed only when the VM is: `cont`).
 * The device state as the data fd gave it, one piece per read(2): the
 * caller lays them out once, in its section buffer.
 */
export function vfioSaveDeviceChunks(device: VfioDeviceFile, files: FdTable): Uint8Array[] {
  if (vfioGetState(device) === VFIO_DEVICE_STATE_RUNNING) vfioSetState(device, VFIO_DEVICE_STATE_STOP);
  const fd = vfioSetState(device, VFIO_DEVICE_STATE_STOP_COPY);
  const chunks: Uint8Array[] = [];
  try {
    const f = dataFile(files, fd, 'read');
    // Each read fills a buffer of its own, kept as it is (no copy of what it read).
    for (;;) {
      const buf = new Uint8Array(DATA_CHUNK);
      const n = f.read!(buf);
      if (n <= 0) break;
      chunks.push(n === DATA_CHUNK ? buf : buf.subarray(0, n));
    }
  } finally {
    files.close(fd);
  }
  vfioSetState(device, VFIO_DEVICE_STATE_STOP);
  return chunks;
}

/**
 * Load a device (QEMU's vfio_load_state() then the run-state change):
 * -> RESUMING, write the data fd, close it, -> STOP (the driver loads the
 * blob here and refuses a bad one), -> RUNNING. A refused blob leaves the
 * device in RESUMING and throws; the VMM then exits without running.
 */
export function vfioLoadDevice(device: VfioDeviceFile, files: FdTable, data: Uint8Array): void {
  const fd = vfioSetState(device, VFIO_DEVICE_STATE_RESUMING);
  try {
    const f = dataFile(files, fd, 'write');
    for (let o = 0; o < data.length; ) o += f.write!(data.subarray(o, o + DATA_CHUNK));
  } finally {
    files.close(fd);
  }
  vfioSetState(device, VFIO_DEVICE_STATE_STOP);
  vfioSetState(device, VFIO_DEVICE_STATE_RUNNING);
}

/** The VM runs again (QEMU's vfio_vmstate_change(running)): every stopped device back to RUNNING. */
export function vfioResumeDevice(device: VfioDeviceFile): void {
  if (vfioGetState(device) !== VFIO_DEVICE_STATE_RUNNING) vfioSetState(device, VFIO_DEVICE_STATE_RUNNING);
}
