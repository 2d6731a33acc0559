import { Device, KernelError, type KernelFile } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import {
  ioctl,
  VFIO_DEVICE_FEATURE,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_MIGRATION,
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
  VfioCore,
  type VfioDevice,
  type VfioMigrationOps,
  vfio_mig_get_next_state,
} from '../src/index.ts';
import { attach, openDevice, setup } from './helpers.ts';

const { STOP, RUN, SC, RES, P2P, PC, PCP, ERR } = {
  STOP: VFIO_DEVICE_STATE_STOP,
  RUN: VFIO_DEVICE_STATE_RUNNING,
  SC: VFIO_DEVICE_STATE_STOP_COPY,
  RES: VFIO_DEVICE_STATE_RESUMING,
  P2P: VFIO_DEVICE_STATE_RUNNING_P2P,
  PC: VFIO_DEVICE_STATE_PRE_COPY,
  PCP: VFIO_DEVICE_STATE_PRE_COPY_P2P,
  ERR: VFIO_DEVICE_STATE_ERROR,
};
const NAMES = [
  'ERROR',
  'STOP',
  'RUNNING',
  'STOP_COPY',
  'RESUMING',
  'RUNNING_P2P',
  'PRE_COPY',
  'PRE_COPY_P2P',
];
const ALL = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
const code = (c: string) => expect.objectContaining({ code: c });

/** The FSM arcs a driver implements, as include/uapi/linux/vfio.h lists them. */
const ARCS = new Set([
  'STOP>RUNNING', // only without P2P
  'RUNNING>STOP', // only without P2P
  'PRE_COPY>STOP_COPY', // only without P2P
  'RUNNING>RUNNING_P2P',
  'RUNNING_P2P>RUNNING',
  'RUNNING_P2P>STOP',
  'STOP>RUNNING_P2P',
  'STOP>STOP_COPY',
  'STOP_COPY>STOP',
  'STOP>RESUMING',
  'RESUMING>STOP',
  'RUNNING>PRE_COPY',
  'PRE_COPY>RUNNING',
  'RUNNING_P2P>PRE_COPY_P2P',
  'PRE_COPY_P2P>RUNNING_P2P',
  'PRE_COPY>PRE_COPY_P2P',
  'PRE_COPY_P2P>PRE_COPY',
  'PRE_COPY_P2P>STOP_COPY',
]);

function walk(flags: number, from: number, to: number): string[] {
  const arcs: string[] = [];
  let cur = from;
  while (cur !== to) {
    const next = vfio_mig_get_next_state(flags, cur, to);
    arcs.push(`${NAMES[cur]}>${NAMES[next]}`);
    cur = next;
    if (arcs.length > 8) throw new Error('no progress');
  }
  return arcs;
}

describe('vfio_mig_get_next_state', () => {
  it('combination transitions step through the documented arcs', () => {
    expect(walk(ALL, RUN, SC)).toEqual(['RUNNING>RUNNING_P2P', 'RUNNING_P2P>STOP', 'STOP>STOP_COPY']);
    expect(walk(VFIO_MIGRATION_STOP_COPY, RUN, SC)).toEqual(['RUNNING>STOP', 'STOP>STOP_COPY']);
    expect(walk(ALL, RES, PC)).toEqual([
      'RESUMING>STOP',
      'STOP>RUNNING_P2P',
      'RUNNING_P2P>RUNNING',
      'RUNNING>PRE_COPY',
    ]);
    expect(walk(ALL, PC, SC)).toEqual(['PRE_COPY>PRE_COPY_P2P', 'PRE_COPY_P2P>STOP_COPY']);
  });

  it('every supported pair is reachable through implemented arcs only, for each flag set', () => {
    const flagSets = [
      VFIO_MIGRATION_STOP_COPY,
      VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P,
      VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY,
      ALL,
    ];
    for (const flags of flagSets) {
      const states = [STOP, RUN, SC, RES, P2P, PC, PCP].filter((s) => {
        try {
          vfio_mig_get_next_state(flags, s, s);
          return true;
        } catch {
          return false;
        }
      });
      for (const a of states)
        for (const b of states) {
          if (a === SC && (b === PC || b === PCP)) continue;
          for (const arc of walk(flags, a, b)) {
            expect(ARCS.has(arc), `${arc} (flags ${flags})`).toBe(true);
            if (flags & VFIO_MIGRATION_P2P)
              expect(['STOP>RUNNING', 'RUNNING>STOP', 'PRE_COPY>STOP_COPY']).not.toContain(arc);
          }
        }
    }
  });

  it('STOP_COPY -> PRE_COPY*, ERROR as a target, and unsupported states are EINVAL', () => {
    expect(() => vfio_mig_get_next_state(ALL, SC, PC)).toThrow(code('EINVAL'));
    expect(() => vfio_mig_get_next_state(ALL, SC, PCP)).toThrow(code('EINVAL'));
    expect(() => vfio_mig_get_next_state(ALL, RUN, ERR)).toThrow(code('EINVAL'));
    expect(() => vfio_mig_get_next_state(ALL, ERR, STOP)).toThrow(code('EINVAL'));
    expect(() => vfio_mig_get_next_state(VFIO_MIGRATION_STOP_COPY, RUN, P2P)).toThrow(code('EINVAL'));
    expect(() => vfio_mig_get_next_state(VFIO_MIGRATION_STOP_COPY, P2P, RUN)).toThrow(code('EINVAL'));
    expect(() => vfio_mig_get_next_state(ALL, RUN, 8)).toThrow(code('EINVAL'));
  });
});

/** A driver that walks the FSM as upstream drivers do, logging arcs; entering STOP_COPY/RESUMING opens a data file. */
function migratingDriver(flags = ALL) {
  const state = { cur: RUN, arcs: [] as string[], failAt: -1 };
  const dataFile: KernelFile = {};
  const mig: VfioMigrationOps = {
    flags,
    getState: () => state.cur,
    getDataSize: () => 0x1234n,
    setState(_vdev: VfioDevice, target: number) {
      let file: KernelFile | undefined;
      while (state.cur !== target) {
        const next = vfio_mig_get_next_state(flags, state.cur, target);
        if (next === state.failAt) {
          state.cur = ERR;
          throw new KernelError('EIO', 'arc failed');
        }
        state.arcs.push(`${NAMES[state.cur]}>${NAMES[next]}`);
        if (next === SC || next === RES) file = dataFile;
        state.cur = next;
      }
      return file;
    },
  };
  return { state, dataFile, mig };
}

function featureSetup(opts: { flags?: number; deviceFeature?: boolean } = {}) {
  const m = migratingDriver(opts.flags);
  const seen: unknown[] = [];
  const s = setup({
    ops: {
      migration: m.mig,
      ...(opts.deviceFeature
        ? {
            deviceFeature: (_d: VfioDevice, flags: number, data: unknown, argsz: number) => {
              seen.push([flags, data, argsz]);
              return 0;
            },
          }
        : {}),
    },
  });
  const { gfd } = attach(s);
  const dfd = openDevice(s, gfd);
  const feature = (argsz: number, flags: number, data?: object) => {
    const f = { argsz, flags, ...(data ? { data } : {}) };
    const r = ioctl(s.fds, dfd, VFIO_DEVICE_FEATURE, f);
    return { r, f };
  };
  return { s, m, dfd, feature, seen };
}

describe('VFIO_DEVICE_FEATURE (vfio_ioctl_device_feature)', () => {
  it('header checks: argsz below 8, unknown flags, GET|SET without PROBE, none of GET/SET/PROBE', () => {
    const { feature, m } = featureSetup();
    const M = VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
    expect(() => feature(4, VFIO_DEVICE_FEATURE_GET | M)).toThrow(code('EINVAL'));
    expect(() => feature(16, (1 << 19) | VFIO_DEVICE_FEATURE_GET | M)).toThrow(code('EINVAL'));
    expect(() => feature(16, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | M)).toThrow(code('EINVAL'));
    expect(() => feature(16, M)).toThrow(code('EINVAL'));
    expect(m.state.arcs).toEqual([]);
  });

  it('PROBE answers 0 for a supported feature and op, EINVAL for an unsupported op', () => {
    const { feature } = featureSetup();
    const P = VFIO_DEVICE_FEATURE_PROBE;
    expect(feature(8, P | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION).r).toBe(0);
    expect(
      feature(8, P | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE)
        .r,
    ).toBe(0);
    expect(() => feature(8, P | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIGRATION)).toThrow(
      code('EINVAL'),
    );
  });

  it('MIGRATION GET reports the flags; a short payload is EINVAL', () => {
    const { feature } = featureSetup({ flags: VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P });
    const data = { flags: 0n };
    feature(16, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, data);
    expect(data.flags).toBe(3n);
    const short = { flags: 9n };
    expect(() => feature(12, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, short)).toThrow(
      code('EINVAL'),
    );
    expect(short.flags).toBe(9n);
  });

  it('MIG_DEVICE_STATE: GET reads the state; SET walks the FSM and returns a data fd when a session opens', () => {
    const { s, feature, m } = featureSetup();
    const M = VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
    const st = { device_state: 0, data_fd: 77 };
    feature(16, VFIO_DEVICE_FEATURE_GET | M, st);
    expect(st).toEqual({ device_state: RUN, data_fd: -1 });
    const set = { device_state: SC, data_fd: 0 };
    feature(16, VFIO_DEVICE_FEATURE_SET | M, set);
    expect(m.state.arcs).toEqual(['RUNNING>RUNNING_P2P', 'RUNNING_P2P>STOP', 'STOP>STOP_COPY']);
    expect(set.data_fd).toBeGreaterThan(0);
    expect(s.fds.get(set.data_fd)).toBe(m.dataFile);
    const stop = { device_state: STOP, data_fd: 5 };
    feature(16, VFIO_DEVICE_FEATURE_SET | M, stop);
    expect(stop.data_fd).toBe(-1);
  });

  it('MIG_DEVICE_STATE SET refused by the FSM or the driver: the error comes back, data_fd is -1', () => {
    const { s, feature, m } = featureSetup();
    const M = VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
    const open = s.fds.openCount;
    const bad = { device_state: ERR, data_fd: 3 };
    expect(() => feature(16, VFIO_DEVICE_FEATURE_SET | M, bad)).toThrow(code('EINVAL'));
    expect(bad.data_fd).toBe(-1);
    m.state.failAt = STOP;
    const req = { device_state: SC, data_fd: 3 };
    expect(() => feature(16, VFIO_DEVICE_FEATURE_SET | M, req)).toThrow(code('EIO'));
    expect(req.data_fd).toBe(-1);
    expect(s.fds.openCount).toBe(open);
  });

  it('MIG_DATA_SIZE GET asks the driver', () => {
    const { feature } = featureSetup();
    const d = { stop_copy_length: 0n };
    feature(16, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, d);
    expect(d.stop_copy_length).toBe(0x1234n);
  });

  it('a device without migration ops: migration features ENOTTY; others EINVAL without device_feature', () => {
    const s = setup();
    const { gfd } = attach(s);
    const dfd = openDevice(s, gfd);
    const f = (flags: number) => () => ioctl(s.fds, dfd, VFIO_DEVICE_FEATURE, { argsz: 16, flags, data: {} });
    expect(f(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION)).toThrow(code('ENOTTY'));
    expect(f(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE)).toThrow(code('ENOTTY'));
    expect(f(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE)).toThrow(code('ENOTTY'));
    expect(f(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START)).toThrow(code('ENOTTY'));
    expect(f(VFIO_DEVICE_FEATURE_GET | 0x100)).toThrow(code('EINVAL'));
    // The driver's ioctl never saw VFIO_DEVICE_FEATURE: the core answers it.
    expect(s.log).toEqual(['open 0000:00:05.0']);
  });

  it('other features go to the driver with the payload size after the header', () => {
    const { feature, seen } = featureSetup({ deviceFeature: true });
    const data = { x: 1 };
    expect(feature(24, VFIO_DEVICE_FEATURE_SET | 0x100, data).r).toBe(0);
    expect(seen).toEqual([[VFIO_DEVICE_FEATURE_SET | 0x100, data, 16]]);
  });

  it('registering migration ops without VFIO_MIGRATION_STOP_COPY is EINVAL', () => {
    const core = new VfioCore();
    const d = new Device('m', 'mdev');
    const mig = { ...migratingDriver().mig, flags: VFIO_MIGRATION_P2P };
    expect(() => core.registerEmulatedIommuDev(d, { migration: mig })).toThrow(code('EINVAL'));
    expect(core.deviceOf(d)).toBeUndefined();
    expect(core.iommuGroups.all()).toEqual([]);
  });
});
