import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { Machine } from '../src/machine.ts';
import { DEFAULT_GUEST } from '../src/main.ts';
import { loadFromSocket, MIGRATION_ACK, receiveIncoming } from '../src/migration/incoming-socket.ts';
import { IncomingMigrationState } from '../src/migration/incoming-state.ts';
import { LiveMigration, type LiveMigrationHost } from '../src/migration/live.ts';
import { saveDeviceState } from '../src/migration/snapshot.ts';
import { MigrationStreamReader } from '../src/migration/stream.ts';
import type { MigrationHold } from '../src/vm-runner.ts';

async function machine(): Promise<Machine> {
  const opts = parseArgs(['--cpus', '1', '--mem', '64M']);
  return Machine.create(opts, DEFAULT_GUEST, readFileSync(DEFAULT_GUEST), () => {});
}

/** A source host over a machine that is not run: records the thread-sharing calls and the statuses. */
function host(m: Machine) {
  const sharing: boolean[] = [];
  const statuses: string[] = [];
  let state = 'running';
  const h: LiveMigrationHost = {
    machine: m,
    get state() {
      return state;
    },
    stop: () => {
      state = 'paused';
    },
    cont: () => {
      state = 'running';
    },
    migrated: () => {
      state = 'postmigrate';
    },
    shareThread: (hold) => sharing.push(hold !== undefined),
    saveDevices: (w, runState) => saveDeviceState(m, w, { runState }),
    statusChanged: (s) => statuses.push(s),
    passDone: () => {},
  };
  return { h, sharing, statuses };
}

/** Listen on a free loopback port; `onConnection` gets the source's socket. */
async function listen(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

/** Settle within `ms`, or say it did not. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timed out'> {
  return Promise.race([p, new Promise<'timed out'>((r) => setTimeout(() => r('timed out'), ms))]);
}

describe('live migration: the sender shares the thread with the vCPU loop, and finishes on the acknowledgement', () => {
  it('completes once the destination acknowledges, though it keeps the connection open; the vCPU loop gets its long turns back', async () => {
    const m = await machine();
    const kept: Socket[] = [];
    const { server, port } = await listen((s) => {
      kept.push(s);
      const reader = new MigrationStreamReader();
      s.on('data', (d: Buffer) => {
        reader.push(d);
        // Loaded (here: checked to its end marker): acknowledge, and do not close.
        if (reader.ended) s.write(Uint8Array.of(MIGRATION_ACK));
      });
    });
    try {
      const { h, sharing, statuses } = host(m);
      const job = new LiveMigration(
        h,
        { kind: 'tcp', host: '127.0.0.1', port },
        {
          downtimeLimit: 300,
          maxBandwidth: 0,
        },
      );
      expect(await within(job.start(), 10_000)).toBeUndefined();
      expect(job.status).toBe('completed');
      expect(statuses).toEqual(['setup', 'active', 'completed']);
      // Short guest turns only while the guest runs beside the sender; then the vCPU loop's own again.
      expect(sharing).toEqual([true, false]);
      expect(h.state).toBe('postmigrate');
    } finally {
      for (const s of kept) s.destroy();
      server.close();
    }
  });

  it('while the socket is full the vCPU loop is held (until the kernel takes more), and never once the migration ends', async () => {
    const m = await machine();
    // 32 MiB of data: far more than the socket may queue before the sender stops (8 MiB).
    const data = new Uint8Array(1 << 20).fill(0x5a);
    for (let mib = 0; mib < 32; mib++) m.mm.copyToUser(m.ramHva + (16 + mib) * (1 << 20), data);
    let dst: Socket | undefined;
    const { server, port } = await listen((s) => {
      dst = s;
      s.pause(); // reads nothing until the test says so
      const reader = new MigrationStreamReader();
      s.on('data', (d: Buffer) => {
        reader.push(d);
        if (reader.ended) s.end(Uint8Array.of(MIGRATION_ACK));
      });
    });
    try {
      let hold: MigrationHold | undefined;
      const { h } = host(m);
      h.shareThread = (x) => {
        hold = x;
      };
      const job = new LiveMigration(
        h,
        { kind: 'tcp', host: '127.0.0.1', port },
        {
          downtimeLimit: 300,
          maxBandwidth: 0,
        },
      );
      const done = job.start();
      // The destination reads nothing: the sender fills the socket, and the guest is held.
      let held: Promise<void> | undefined;
      for (let i = 0; i < 500 && held === undefined; i++) {
        await new Promise((r) => setTimeout(r, 10));
        held = hold?.();
      }
      expect(held).toBeInstanceOf(Promise);
      expect(job.status).toBe('active');
      // Bounded: with the destination still stalled the guest gets its turn all the same.
      expect(await within(held!, 1000)).toBeUndefined();
      const again = hold?.();
      expect(again).toBeInstanceOf(Promise);
      // It reads again: the hold ends, and the migration completes.
      dst!.resume();
      expect(await within(again!, 5000)).toBeUndefined();
      expect(await within(done, 10_000)).toBeUndefined();
      expect(job.status).toBe('completed');
      expect(hold).toBeUndefined();
    } finally {
      dst?.destroy();
      server.close();
    }
  });

  it('a destination that refuses (closes at once): failed, the source runs on with its long turns back', async () => {
    const m = await machine();
    const { server, port } = await listen((s) => s.destroy());
    try {
      const { h, sharing } = host(m);
      const job = new LiveMigration(
        h,
        { kind: 'tcp', host: '127.0.0.1', port },
        {
          downtimeLimit: 300,
          maxBandwidth: 0,
        },
      );
      await job.start();
      expect(job.status).toBe('failed');
      expect(job.errorDesc).toBe('the destination closed the connection');
      expect(sharing.at(-1)).toBe(false);
      expect(h.state).toBe('running');
    } finally {
      server.close();
    }
  });
});

describe('--incoming: the destination VM exists before the stream is listened for', () => {
  it('builds the VM first (as QEMU before -incoming listens), then listens; quit while waiting runs nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'incoming-'));
    const opts = parseArgs(['--cpus', '1', '--mem', '64M', '--incoming', `unix:${join(dir, 'mig.sock')}`]);
    const order: string[] = [];
    const state = new IncomingMigrationState(opts.incoming!);
    const abort = new AbortController();
    const done = receiveIncoming(
      opts,
      () => {
        order.push('listening');
        abort.abort();
      },
      async () => {
        order.push('build');
        return machine();
      },
      { state, signal: abort.signal },
    );
    await expect(within(done, 10_000)).rejects.toThrow(/quit through QMP/);
    expect(order).toEqual(['build', 'listening']);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("--incoming: the connection's chunks reach the loader in order", () => {
  /** A connected loopback pair: the source's end and the destination's. */
  async function pair(): Promise<{ src: Socket; dst: Socket; close(): void }> {
    let accept!: (s: Socket) => void;
    const accepted = new Promise<Socket>((r) => {
      accept = r;
    });
    const server = createServer({ allowHalfOpen: true }, (c) => accept(c));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const src = connect((server.address() as { port: number }).port, '127.0.0.1');
    const dst = await accepted;
    const close = () => {
      src.destroy();
      dst.destroy();
      server.close();
    };
    return { src, dst, close };
  }

  it('every chunk is loaded, in order, until the end settles it', async () => {
    const { src, dst, close } = await pair();
    try {
      const seen: number[] = [];
      const done = loadFromSocket(dst, {
        push(chunk) {
          seen.push(...chunk);
        },
      });
      for (let i = 0; i < 200; i++) {
        src.write(Uint8Array.of(i));
        await new Promise((r) => setImmediate(r));
      }
      src.end();
      expect(await within(done, 5000)).toBeUndefined();
      expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i));
    } finally {
      close();
    }
  });

  it('a refused chunk is the result, and what follows is not loaded', async () => {
    const { src, dst, close } = await pair();
    try {
      let pushes = 0;
      const done = loadFromSocket(dst, {
        push() {
          pushes++;
          throw new Error('refused');
        },
      });
      src.write(Uint8Array.of(1));
      const refusal = await within(done, 5000);
      src.write(Uint8Array.of(2));
      await new Promise((r) => setTimeout(r, 50));
      expect((refusal as Error).message).toBe('refused');
      expect(pushes).toBe(1);
    } finally {
      close();
    }
  });
});
