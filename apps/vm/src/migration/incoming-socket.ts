import { unlinkSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import type { VmOptions } from '../cli.ts';
import { VmConfigError } from '../config-error.ts';
import type { Machine } from '../machine.ts';
import { formatQmpAddress } from '../qmp/address.ts';
import { prepareUnixPath } from '../qmp/server.ts';
import { strerror } from '../qmp/strerror.ts';
import type { IncomingMigrationState } from './incoming-state.ts';
import type { MigrationContext } from './section.ts';
import { checkConfigSection, checkInstances, checkSection, loadSection } from './snapshot.ts';
import { MigrationError, MigrationStreamReader, type Section } from './stream.ts';

/** The byte the destination sends back once the VM is loaded (QEMU's return path would say MIG_RP_MSG_SHUT). */
export const MIGRATION_ACK = 0x06;

/** A VM loaded from a received and checked stream, and the connection the source waits on for the outcome. */
export interface IncomingVm {
  machine: Machine;
  /** The run state the source had (QEMU's globalstate). */
  runState: MigrationContext['runState'];
  /** The VM is loaded: tell the source, which may then stop for good. */
  acknowledge(): void;
}

/**
 * `--incoming tcp:127.0.0.1:PORT` / `unix:PATH` (QEMU's -incoming): `build`
 * the VM (not run), listen, take one connection and load the stream as it
 * arrives, as QEMU's destination does during pre-copy
 * (qemu_loadvm_state_main()): each section is framed and CRC-checked on
 * arrival, the configuration section is checked against the flags before
 * anything is loaded into the VM, and
 * every 'ram' section goes into guest memory as it comes, so at switchover
 * only the last dirty pages and the device state remain. The device
 * sections wait for the end marker (count and whole-stream CRC32) and are
 * loaded only then. Any refusal, a stream cut short included, is a
 * configuration error: exit 2, one line, no vCPU ever run. Pages sent
 * again in later passes are simply later 'ram' sections.
 */
export async function receiveIncoming(
  opts: VmOptions,
  notice: (line: string) => void,
  build: () => Promise<Machine>,
  /** The destination's QMP view of it (query-migrate, MIGRATION events), and its `quit`. */
  qmp?: { state: IncomingMigrationState; signal: AbortSignal },
): Promise<IncomingVm> {
  const address = opts.incoming!;
  const name = `--incoming ${formatQmpAddress(address)}`;
  const state = qmp?.state;
  // The VM is made before listening, as QEMU makes its machine before -incoming listens: the
  // stream is not held up while it is built (tens of ms), and a source can connect only to a
  // destination ready to load. It is used only once the configuration section is checked, and a
  // refused stream leaves it never run.
  const built = await build();
  // Paused on accept: the connection is read only once moved to its reused buffer.
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  try {
    if (address.kind === 'unix') await prepareUnixPath(address.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(strerror(e))));
      if (address.kind === 'unix') server.listen(address.path, resolve);
      else server.listen(address.port, address.host, resolve);
    });
  } catch (e) {
    state?.set('failed');
    throw new VmConfigError(`${name}: ${(e as Error).message}`);
  }
  state?.set('setup');
  notice(`vm: ${name}: waiting for the migration stream`);
  const stopListening = () => {
    server.close();
    if (address.kind === 'unix') {
      try {
        unlinkSync(address.path);
      } catch {
        // already gone
      }
    }
  };
  let onAbort: (() => void) | undefined;
  const accepted = await new Promise<Socket | undefined>((resolve) => {
    server.once('connection', resolve);
    onAbort = () => resolve(undefined);
    if (qmp?.signal.aborted) onAbort();
    qmp?.signal.addEventListener('abort', onAbort, { once: true });
  });
  // One stream per destination, as QEMU's: no second source is listened for.
  stopListening();
  if (accepted === undefined) throw new IncomingAborted();
  const loader = new IncomingLoader(opts, built);
  const { socket, done } = loadFromAcceptedSocket(accepted, loader);
  qmp?.signal.removeEventListener('abort', onAbort!);
  // QMP quit while the stream comes in: drop it (the source sees the connection close).
  const abortStream = () => socket.destroy();
  qmp?.signal.addEventListener('abort', abortStream, { once: true });
  state?.set('active');
  try {
    const refusal = await done;
    if (qmp?.signal.aborted) throw new IncomingAborted();
    if (refusal !== undefined) throw refusal;
    const { machine, runState } = loader.finish();
    qmp?.signal.removeEventListener('abort', abortStream);
    state?.set('completed');
    return {
      machine,
      runState,
      acknowledge() {
        if (!socket.destroyed) socket.end(Uint8Array.of(MIGRATION_ACK));
      },
    };
  } catch (e) {
    socket.destroy();
    if (!(e instanceof IncomingAborted)) state?.set('failed');
    if (e instanceof MigrationError) throw new VmConfigError(`${name}: ${e.message}`);
    throw e;
  }
}

/**
 * Settle with undefined once the connection's input ends: the source's end,
 * a reset (the source killed: what arrived is then checked and found
 * short), or the socket destroyed by `quit`. The 'error' listener stays
 * after that: a failure writing the acknowledgement must not be uncaught.
 */
function onInputEnd(socket: Socket, settle: (refusal: unknown) => void): void {
  const end = () => settle(undefined);
  socket.on('end', end);
  socket.on('close', end);
  socket.on('error', end);
}

/**
 * Feed the connection's chunks to the loader, in order, until the input
 * ends or the loader refuses a chunk: the refusal, or undefined. The socket
 * is not destroyed here: the acknowledgement goes back on it. 'data'
 * events, not the stream's async iterator (a promise and a Readable read()
 * per 64 KiB chunk).
 */
export function loadFromSocket(socket: Socket, loader: Pick<IncomingLoader, 'push'>): Promise<unknown> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (refusal: unknown) => {
      if (settled) return;
      settled = true;
      socket.off('data', onData);
      resolve(refusal);
    };
    const onData = (chunk: Buffer) => {
      try {
        loader.push(chunk);
      } catch (e) {
        settle(e);
      }
    };
    socket.on('data', onData);
    onInputEnd(socket, settle);
  });
}

/** The destination reads the stream into one buffer of this size, reused for every read. */
export const INCOMING_READ_BUFFER = 1 << 20;

/**
 * The accepted connection, read into one reused INCOMING_READ_BUFFER
 * (net.Socket's `onread`), its chunks fed to the loader in order until the
 * input ends or the loader refuses one: the refusal, or undefined; and the
 * socket to acknowledge on. Read as 'data' events instead, each read is a
 * new 64 KiB buffer, and that churn (135 MiB of them for 128 MiB of guest
 * RAM) drove V8's external-memory GCs, each pause of which left the source
 * stalled on a full receive buffer. Node gives an accepted socket no
 * `onread`, so its handle moves to a new Socket that has one (Node's own
 * `_handle`; without one, `loadFromSocket` reads it as it is). Each chunk
 * is loaded within its read (the VM exists before the connection is
 * accepted), so the buffer is free again when the read returns.
 */
export function loadFromAcceptedSocket(
  accepted: Socket,
  loader: Pick<IncomingLoader, 'push'>,
): { socket: Socket; done: Promise<unknown> } {
  const handle = (accepted as unknown as { _handle?: unknown })._handle;
  if (handle === undefined || handle === null)
    return { socket: accepted, done: loadFromSocket(accepted, loader) };
  (accepted as unknown as { _handle: unknown })._handle = null;
  let settled = false;
  let resolveDone: (refusal: unknown) => void = () => {};
  const done = new Promise<unknown>((r) => {
    resolveDone = r;
  });
  const settle = (refusal: unknown) => {
    if (settled) return;
    settled = true;
    resolveDone(refusal);
  };
  const onread = (n: number, buf: Uint8Array): boolean => {
    if (settled) return false;
    try {
      loader.push(buf.subarray(0, n), true);
      return true;
    } catch (e) {
      settle(e);
      return false;
    }
  };
  const socket = new Socket({
    handle,
    allowHalfOpen: true,
    onread: { buffer: Buffer.allocUnsafe(INCOMING_READ_BUFFER), callback: onread },
  } as ConstructorParameters<typeof Socket>[0]);
  onInputEnd(socket, settle);
  socket.resume();
  return { socket, done };
}

/** QMP `quit` while the destination waited for or loaded the stream: no VM, the VMM exits 0 as QEMU's. */
export class IncomingAborted extends Error {
  override readonly name = 'IncomingAborted';
  constructor() {
    super('quit through QMP while the incoming migration was in progress');
  }
}

/**
 * The destination's side of the stream, chunk by chunk, into `machine` (built,
 * never run): what arrives is checked, RAM applied, device state kept for
 * the end. Nothing is loaded into the VM before the configuration section
 * has been checked against the destination's flags.
 */
export class IncomingLoader {
  private readonly reader = new MigrationStreamReader();
  private readonly seen = new Set<string>();
  private readonly received: Pick<Section, 'id' | 'instance'>[] = [];
  private readonly deferred: Section[] = [];
  private readonly ctx: MigrationContext = { runState: 'running' };
  /** The configuration section arrived and matches this destination. */
  private configured = false;
  /** 'ram' sections already in guest memory (for tests and progress). */
  ramLoaded = 0;

  constructor(
    private readonly opts: VmOptions,
    private readonly machine: Machine,
  ) {}

  /**
   * Take a chunk of the stream; throws a MigrationError to refuse it.
   * `reused`: the caller overwrites the chunk once this returns (a socket
   * read into one buffer), so nothing kept refers to it: the device
   * sections are copied, and the reader copies out the part of a section
   * still incomplete (`compact`).
   */
  push(chunk: Uint8Array, reused = false): void {
    // A 'ram' section is loaded before the next is parsed, so its payload may reuse one buffer.
    for (const s of this.reader.sections(chunk, 'ram')) {
      checkSection(s, this.seen);
      this.received.push({ id: s.id, instance: s.instance });
      if (!this.configured) {
        if (s.id !== 'configuration')
          throw new MigrationError("stream does not start with a 'configuration' section");
        checkConfigSection(s, this.opts);
        this.configured = true;
      }
      if (s.id === 'ram') {
        // QEMU's ram_load(): the page goes into guest memory now; a later pass may send it again.
        loadSection(this.machine, s, this.ctx);
        this.ramLoaded++;
      } else this.deferred.push(reused ? { ...s, payload: new Uint8Array(s.payload) } : s);
    }
    if (reused) this.reader.compact();
  }

  /** The input ended: the end marker must have been verified; then the device state is loaded. */
  finish(): { machine: Machine; runState: MigrationContext['runState'] } {
    this.reader.finish();
    if (!this.configured) throw new MigrationError("stream does not start with a 'configuration' section");
    const m = this.machine;
    checkInstances(m, this.received);
    for (const s of this.deferred) loadSection(m, s, this.ctx);
    return { machine: m, runState: this.ctx.runState };
  }
}
