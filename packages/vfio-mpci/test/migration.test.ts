import { errnoOf } from '@tsvirt/test-utils';
import {
  ioctl,
  VFIO_DEVICE_FEATURE,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_MIGRATION,
  VFIO_DEVICE_FEATURE_SET,
  VFIO_DEVICE_RESET,
  VFIO_DEVICE_STATE_PRE_COPY,
  VFIO_DEVICE_STATE_RESUMING,
  VFIO_DEVICE_STATE_RUNNING,
  VFIO_DEVICE_STATE_STOP,
  VFIO_DEVICE_STATE_STOP_COPY,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_MIGRATION_STOP_COPY,
  type VfioDeviceFile,
} from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import type { MpciMigrationFile } from '../src/index.ts';
import { BAR0, openMdev, REG_SCRATCH, stack, UUID } from './fake-vendor.ts';

function feature(file: VfioDeviceFile, flags: number, data?: object) {
  const f = { argsz: 16, flags, ...(data ? { data } : {}) } as { argsz: number; flags: number; data?: never };
  file.ioctl(VFIO_DEVICE_FEATURE, f);
  return f.data as unknown as Record<string, number | bigint>;
}

const setState = (file: VfioDeviceFile, state: number) =>
  feature(file, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, {
    device_state: state,
    data_fd: -1,
  }).data_fd as number;
const getState = (file: VfioDeviceFile) =>
  feature(file, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE).device_state;

function scratch(file: VfioDeviceFile, value?: number): number {
  const b = new Uint8Array(4);
  if (value !== undefined) {
    new DataView(b.buffer).setUint32(0, value, true);
    file.write(b, BAR0 + BigInt(REG_SCRATCH));
  }
  file.read(b, BAR0 + BigInt(REG_SCRATCH));
  return new DataView(b.buffer).getUint32(0, true);
}

describe('migration v2 (stop-copy) for a vendor with migration ops', () => {
  it('advertises STOP_COPY; a vendor without migration ops is ENOTTY, as upstream', () => {
    const s = stack({ migration: true });
    const { file } = openMdev(s);
    expect(feature(file, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION).flags).toBe(
      BigInt(VFIO_MIGRATION_STOP_COPY),
    );
    const plain = openMdev(stack());
    expect(errnoOf(() => feature(plain.file, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION))).toBe(
      'ENOTTY',
    );
  });

  it('RUNNING -> STOP_COPY (via STOP) opens a read-only data fd that streams the blob; the state moves to another device through RESUMING', () => {
    const s = stack({ migration: true });
    const src = openMdev(s);
    scratch(src.file, 0xdeadbeef);
    expect(getState(src.file)).toBe(VFIO_DEVICE_STATE_RUNNING);
    const fd = setState(src.file, VFIO_DEVICE_STATE_STOP_COPY);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(s.vendor.log.filter((l) => l.startsWith('mig'))).toEqual(['mig stop', 'mig save']);
    expect(
      feature(src.file, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE).stop_copy_length,
    ).toBe(8n);
    const data = s.fds.get(fd) as MpciMigrationFile;
    expect(errnoOf(() => data.write(new Uint8Array(1)))).toBe('EINVAL');
    const buf = new Uint8Array(5);
    const first = buf.slice(0, data.read(buf));
    const rest = new Uint8Array(5);
    const n = data.read(rest);
    expect(first.length + n).toBe(8);
    expect(data.read(rest)).toBe(0);
    const blob = new Uint8Array([...first, ...rest.subarray(0, n)]);
    s.fds.close(fd);
    setState(src.file, VFIO_DEVICE_STATE_STOP);
    // The session ended with the state change: the file is gone for good.
    expect(errnoOf(() => data.read(buf))).toBe('ENODEV');

    const dst = openMdev(s, 'fakegpu-pci', 'c0ffee00-0000-4000-8000-000000000002');
    const rfd = setState(dst.file, VFIO_DEVICE_STATE_RESUMING);
    const rfile = s.fds.get(rfd) as MpciMigrationFile;
    expect(errnoOf(() => rfile.read(buf))).toBe('EINVAL');
    rfile.write(blob.subarray(0, 3));
    rfile.write(blob.subarray(3));
    s.fds.close(rfd);
    expect(scratch(dst.file)).toBe(0);
    setState(dst.file, VFIO_DEVICE_STATE_RUNNING);
    expect(getState(dst.file)).toBe(VFIO_DEVICE_STATE_RUNNING);
    expect(scratch(dst.file)).toBe(0xdeadbeef);
    expect(s.vendor.log.filter((l) => l.startsWith('mig')).slice(-3)).toEqual([
      'mig stop',
      'mig load',
      'mig start',
    ]);
  });

  it('a blob the vendor refuses: EINVAL, the device stays in RESUMING and unchanged; PRE_COPY is not supported', () => {
    const s = stack({ migration: true });
    const { file } = openMdev(s);
    scratch(file, 7);
    const fd = setState(file, VFIO_DEVICE_STATE_RESUMING);
    (s.fds.get(fd) as MpciMigrationFile).write(new Uint8Array([1, 2, 3]));
    expect(errnoOf(() => setState(file, VFIO_DEVICE_STATE_RUNNING))).toBe('EINVAL');
    expect(getState(file)).toBe(VFIO_DEVICE_STATE_RESUMING);
    expect(scratch(file)).toBe(7);
    expect(errnoOf(() => setState(file, VFIO_DEVICE_STATE_PRE_COPY))).toBe('EINVAL');
    // A reset ends the session: the device runs again.
    file.ioctl(VFIO_DEVICE_RESET);
    expect(getState(file)).toBe(VFIO_DEVICE_STATE_RUNNING);
    expect(errnoOf(() => (s.fds.get(fd) as MpciMigrationFile).write(new Uint8Array(1)))).toBe('ENODEV');
  });

  it('the last close of the device ends any session and the next open starts RUNNING', () => {
    const s = stack({ migration: true });
    const { file, dfd, gfd } = openMdev(s);
    const fd = setState(file, VFIO_DEVICE_STATE_STOP_COPY);
    expect(getState(file)).toBe(VFIO_DEVICE_STATE_STOP_COPY);
    s.fds.close(dfd);
    expect(errnoOf(() => (s.fds.get(fd) as MpciMigrationFile).read(new Uint8Array(1)))).toBe('ENODEV');
    const again = s.fds.get(ioctl(s.fds, gfd, VFIO_GROUP_GET_DEVICE_FD, UUID)) as VfioDeviceFile;
    expect(getState(again)).toBe(VFIO_DEVICE_STATE_RUNNING);
    setState(again, VFIO_DEVICE_STATE_STOP);
    expect(getState(again)).toBe(VFIO_DEVICE_STATE_STOP);
  });
});
