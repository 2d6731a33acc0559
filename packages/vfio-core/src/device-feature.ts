import { type FdTable, fail, type KernelFile } from '@tsvirt/core-bus';
import {
  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_HDR_SIZE,
  VFIO_DEVICE_FEATURE_MASK,
  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE_SIZE,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_MIG_STATE_SIZE,
  VFIO_DEVICE_FEATURE_MIGRATION,
  VFIO_DEVICE_FEATURE_MIGRATION_SIZE,
  VFIO_DEVICE_FEATURE_PROBE,
  VFIO_DEVICE_FEATURE_SET,
  VFIO_DEVICE_STATE_ERROR,
  VFIO_DEVICE_STATE_PRE_COPY,
  VFIO_DEVICE_STATE_PRE_COPY_P2P,
  VFIO_DEVICE_STATE_RESUMING,
  VFIO_DEVICE_STATE_RUNNING,
  VFIO_DEVICE_STATE_RUNNING_P2P,
  VFIO_DEVICE_STATE_STOP,
  VFIO_DEVICE_STATE_STOP_COPY,
  VFIO_MIGRATION_P2P,
  VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY,
  type VfioDeviceFeature,
  type VfioDeviceFeatureMigDataSize,
  type VfioDeviceFeatureMigration,
  type VfioDeviceFeatureMigState,
} from './uapi.ts';
import type { VfioDevice } from './vfio-device.ts';

const IOCTL = 'VFIO_DEVICE_FEATURE';

/**
 * struct vfio_migration_ops plus the device's migration_flags: a driver
 * that can migrate its device state (migration v2). `setState` gets the
 * state user space asked for and walks there arc by arc itself, asking
 * vfio_mig_get_next_state() for each step as upstream drivers do; it
 * returns the data file when an arc opens a data transfer session
 * (-> STOP_COPY, PRE_COPY*, RESUMING), and throws (EINVAL for a refused
 * path) to fail the request.
 */
export interface VfioMigrationOps {
  /** VFIO_MIGRATION_* bits; STOP_COPY is mandatory. */
  readonly flags: number;
  /** Move to a new migration state; returns the data file for states that transfer data. */
  setState(vdev: VfioDevice, state: number): KernelFile | undefined;
  /** The current migration state. */
  getState(vdev: VfioDevice): number;
  /** Estimated bytes of STOP_COPY data (VFIO_DEVICE_FEATURE_MIG_DATA_SIZE). */
  getDataSize?(vdev: VfioDevice): bigint;
}

const S = {
  ERR: VFIO_DEVICE_STATE_ERROR,
  STOP: VFIO_DEVICE_STATE_STOP,
  RUN: VFIO_DEVICE_STATE_RUNNING,
  SC: VFIO_DEVICE_STATE_STOP_COPY,
  RES: VFIO_DEVICE_STATE_RESUMING,
  P2P: VFIO_DEVICE_STATE_RUNNING_P2P,
  PC: VFIO_DEVICE_STATE_PRE_COPY,
  PCP: VFIO_DEVICE_STATE_PRE_COPY_P2P,
};

/**
 * The next arc from `cur` toward `target`, when every optional state is
 * supported: rows are the current state, columns the target, both indexed
 * by enum vfio_device_mig_state (ERROR, STOP, RUNNING, STOP_COPY, RESUMING,
 * RUNNING_P2P, PRE_COPY, PRE_COPY_P2P). Shortest paths, never passing
 * through a saving-group state in the middle; STOP_COPY -> PRE_COPY* is
 * refused (ERROR).
 */
// biome-ignore format: a table reads best as a table
const NEXT: readonly (readonly number[])[] = [
  /* ERROR        */ [S.ERR, S.ERR, S.ERR, S.ERR, S.ERR, S.ERR, S.ERR, S.ERR],
  /* STOP         */ [S.ERR, S.STOP, S.P2P, S.SC, S.RES, S.P2P, S.P2P, S.P2P],
  /* RUNNING      */ [S.ERR, S.P2P, S.RUN, S.P2P, S.P2P, S.P2P, S.PC, S.P2P],
  /* STOP_COPY    */ [S.ERR, S.STOP, S.STOP, S.SC, S.STOP, S.STOP, S.ERR, S.ERR],
  /* RESUMING     */ [S.ERR, S.STOP, S.STOP, S.STOP, S.RES, S.STOP, S.STOP, S.STOP],
  /* RUNNING_P2P  */ [S.ERR, S.STOP, S.RUN, S.STOP, S.STOP, S.P2P, S.RUN, S.PCP],
  /* PRE_COPY     */ [S.ERR, S.RUN, S.RUN, S.PCP, S.RUN, S.RUN, S.PC, S.PCP],
  /* PRE_COPY_P2P */ [S.ERR, S.P2P, S.P2P, S.SC, S.P2P, S.P2P, S.PC, S.PCP],
];

/** The migration_flags a state needs; ERROR needs everything, so it can never be asked for. */
const STATE_FLAGS: readonly number[] = [
  0xffffffff,
  VFIO_MIGRATION_STOP_COPY,
  VFIO_MIGRATION_STOP_COPY,
  VFIO_MIGRATION_STOP_COPY,
  VFIO_MIGRATION_STOP_COPY,
  VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P,
  VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
];

const supported = (state: number, flags: number): boolean =>
  (STATE_FLAGS[state]! & flags) >>> 0 === STATE_FLAGS[state]! >>> 0;

/**
 * vfio_mig_get_next_state(): the next state a driver with `migrationFlags`
 * must step to on the way from `cur` to `target`. Arcs into states the
 * driver lacks are skipped over. A state out of range or unsupported
 * (ERROR included) is EINVAL, as is a blocked path.
 */
export function vfio_mig_get_next_state(migrationFlags: number, cur: number, target: number): number {
  const inRange = (s: number) => Number.isInteger(s) && s >= 0 && s < NEXT.length;
  if (!inRange(cur) || !supported(cur, migrationFlags))
    fail('EINVAL', `current state ${cur} is not supported`);
  if (!inRange(target) || !supported(target, migrationFlags))
    fail('EINVAL', `state ${target} is not supported`);
  let next = NEXT[cur]![target]!;
  // Stop at ERROR: it is never "supported", and looping on it (ERROR's row
  // is all ERROR) was an upstream hang on STOP_COPY -> PRE_COPY, since fixed.
  while (next !== VFIO_DEVICE_STATE_ERROR && !supported(next, migrationFlags)) next = NEXT[next]![target]!;
  if (next === VFIO_DEVICE_STATE_ERROR) fail('EINVAL', `no path from state ${cur} to ${target}`);
  return next;
}

/**
 * vfio_check_feature(): GET/SET must be ones the feature supports (EINVAL);
 * PROBE alone answers 0 ("supported"); otherwise one of GET or SET is
 * needed and the payload must fit (EINVAL). 1 means "go ahead".
 */
export function vfio_check_feature(flags: number, argsz: number, supportedOps: number, minsz: number): 0 | 1 {
  if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET) & ~supportedOps) !== 0)
    fail('EINVAL', 'GET/SET not supported by this feature', IOCTL);
  if (flags & VFIO_DEVICE_FEATURE_PROBE) return 0;
  if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) === 0)
    fail('EINVAL', 'neither GET nor SET nor PROBE', IOCTL);
  if (argsz < minsz) fail('EINVAL', `payload ${argsz} bytes < ${minsz}`, IOCTL);
  return 1;
}

function payload<T extends object>(f: VfioDeviceFeature, create: () => T): T {
  if (f.data === undefined) f.data = create();
  if (typeof f.data !== 'object' || f.data === null)
    fail('EFAULT', 'feature payload is not an object', IOCTL);
  return f.data as T;
}

/**
 * vfio_ioctl_device_feature(): the core validates the header, answers the
 * migration features itself from the driver's migration ops (ENOTTY
 * without them), and hands any other feature to the driver's
 * `deviceFeature` op (EINVAL without one). DMA logging has no driver
 * interface in this model: ENOTTY, as for a device without log_ops.
 */
export function vfio_ioctl_device_feature(vdev: VfioDevice, arg: unknown, fds: FdTable): number {
  if (typeof arg !== 'object' || arg === null) fail('EFAULT', 'no vfio_device_feature', IOCTL);
  const f = arg as VfioDeviceFeature;
  if (!Number.isInteger(f.argsz) || !Number.isInteger(f.flags))
    fail('EFAULT', 'bad vfio_device_feature', IOCTL);
  if (f.argsz < VFIO_DEVICE_FEATURE_HDR_SIZE) fail('EINVAL', `argsz ${f.argsz} < 8`, IOCTL);
  const known =
    VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE;
  if ((f.flags & ~known) !== 0) fail('EINVAL', `unknown flags 0x${(f.flags >>> 0).toString(16)}`, IOCTL);
  if (
    (f.flags & VFIO_DEVICE_FEATURE_PROBE) === 0 &&
    (f.flags & VFIO_DEVICE_FEATURE_SET) !== 0 &&
    (f.flags & VFIO_DEVICE_FEATURE_GET) !== 0
  )
    fail('EINVAL', 'GET and SET together without PROBE', IOCTL);
  const size = f.argsz - VFIO_DEVICE_FEATURE_HDR_SIZE;
  const mig = vdev.ops.migration;
  switch (f.flags & VFIO_DEVICE_FEATURE_MASK) {
    case VFIO_DEVICE_FEATURE_MIGRATION: {
      if (mig === undefined) fail('ENOTTY', `${vdev.name} cannot migrate`, IOCTL);
      if (
        vfio_check_feature(f.flags, size, VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_MIGRATION_SIZE) === 0
      )
        return 0;
      payload<VfioDeviceFeatureMigration>(f, () => ({ flags: 0n })).flags = BigInt(mig.flags);
      return 0;
    }
    case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE: {
      if (mig === undefined) fail('ENOTTY', `${vdev.name} cannot migrate`, IOCTL);
      const ops = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET;
      if (vfio_check_feature(f.flags, size, ops, VFIO_DEVICE_FEATURE_MIG_STATE_SIZE) === 0) return 0;
      const st = payload<VfioDeviceFeatureMigState>(f, () => ({ device_state: 0, data_fd: -1 }));
      if (f.flags & VFIO_DEVICE_FEATURE_GET) {
        st.device_state = mig.getState(vdev);
        st.data_fd = -1;
        return 0;
      }
      // The driver's error leaves data_fd at -1, as the kernel copies it out before failing.
      st.data_fd = -1;
      const file = mig.setState(vdev, st.device_state);
      if (file !== undefined) st.data_fd = fds.install(file);
      return 0;
    }
    case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: {
      if (mig === undefined) fail('ENOTTY', `${vdev.name} cannot migrate`, IOCTL);
      if (mig.getDataSize === undefined) fail('ENOTTY', `${vdev.name} cannot size its migration data`, IOCTL);
      if (
        vfio_check_feature(f.flags, size, VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE_SIZE) ===
        0
      )
        return 0;
      payload<VfioDeviceFeatureMigDataSize>(f, () => ({ stop_copy_length: 0n })).stop_copy_length =
        mig.getDataSize(vdev);
      return 0;
    }
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
      return fail('ENOTTY', `${vdev.name} has no device DMA logging`, IOCTL);
    default:
      if (vdev.ops.deviceFeature === undefined) fail('EINVAL', `${vdev.name} has no device features`, IOCTL);
      return vdev.ops.deviceFeature(vdev, f.flags, f.data, size);
  }
}
