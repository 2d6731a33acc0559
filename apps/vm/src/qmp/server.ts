import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { QmpAddress } from './address.ts';
import type { QmpCommandContext, QmpCommandTable } from './command-table.ts';
import { QmpSession } from './session.ts';
import { strerror } from './strerror.ts';

interface Client {
  socket: Socket;
  /** Set once the client is being served. */
  session?: QmpSession;
}

/** How long close() lets clients drain their replies before the sockets are destroyed. */
const CLOSE_GRACE_MS = 2000;

/** Is a unix socket accepting connections? (false: a stale socket file left by a process that died) */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * QEMU refuses nothing here and unlinks whatever is at the path; this server
 * only replaces a stale socket, and refuses a live one or any other file.
 */
export async function prepareUnixPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw new Error(strerror(e));
    // libuv reports bind() in a missing directory as EACCES; say what is wrong.
    if (!existsSync(dirname(path))) throw new Error(`directory ${dirname(path)} does not exist`);
    return;
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket`);
  if (await socketInUse(path)) throw new Error(`${path} is in use by another server`);
  unlinkSync(path);
}

/**
 * The QMP control socket: a unix or loopback TCP listener serving one
 * client at a time, as QEMU's -qmp chardev does by default. A second client
 * is accepted by the kernel but not served (no greeting, its input left
 * unread) until the one before it disconnects; clients are then served in
 * the order they connected.
 */
export class QmpServer {
  private readonly clients: Client[] = [];
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    readonly address: QmpAddress,
    private readonly commands: QmpCommandTable,
    private readonly ctx: QmpCommandContext,
  ) {
    server.on('connection', (socket) => this.connected(socket));
  }

  /** Listen on `address`; rejects with a one-line reason (the path is not a socket, the port is taken, ...). */
  static async listen(
    address: QmpAddress,
    commands: QmpCommandTable,
    ctx: QmpCommandContext,
  ): Promise<QmpServer> {
    if (address.kind === 'unix') await prepareUnixPath(address.path);
    const server = createServer({ allowHalfOpen: true });
    const qmp = new QmpServer(server, address, commands, ctx);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(strerror(e))));
      const done = () => resolve();
      if (address.kind === 'unix') server.listen(address.path, done);
      else server.listen(address.port, address.host, done);
    });
    server.on('error', () => {});
    return qmp;
  }

  /** The TCP port listened on (tests), or undefined for a unix socket. */
  get port(): number | undefined {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : undefined;
  }

  /** An asynchronous event for the client being served (if it finished negotiation). */
  broadcast(event: string, data?: Record<string, unknown>): void {
    for (const c of this.clients) c.session?.event(event, data);
  }

  private connected(socket: Socket): void {
    socket.on('error', () => {});
    socket.setNoDelay?.(true);
    const client: Client = { socket };
    this.clients.push(client);
    socket.on('close', () => this.drop(client));
    if (this.clients.length === 1 && !this.closing) this.serve(client);
  }

  private serve(c: Client): void {
    const session = new QmpSession(this.commands, this.ctx, (line) => {
      if (!c.socket.destroyed) c.socket.write(line);
    });
    c.session = session;
    c.socket.setEncoding('utf8');
    c.socket.on('data', (text: string) => session.receive(text));
    // The client closed its side: answer what it sent, then close ours.
    c.socket.on('end', () => void session.idle().then(() => c.socket.end()));
    session.greet();
  }

  private drop(c: Client): void {
    c.session?.close();
    const i = this.clients.indexOf(c);
    if (i < 0) return;
    this.clients.splice(i, 1);
    const next = this.clients[0];
    if (i === 0 && next && !this.closing) this.serve(next);
  }

  /** Stop listening, let the served client receive what is queued for it, close every connection. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const stopped = new Promise<void>((r) => this.server.close(() => r()));
    const clients = [...this.clients];
    const drained = Promise.all(
      clients.map(async (c) => {
        await c.session?.idle();
        if (c.socket.destroyed) return;
        await new Promise<void>((r) => {
          c.socket.once('close', () => r());
          if (c.session) c.socket.end();
          else c.socket.destroy();
        });
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => {
      timer = setTimeout(r, CLOSE_GRACE_MS);
    });
    await Promise.race([drained, grace]);
    clearTimeout(timer);
    for (const c of clients) c.socket.destroy();
    await stopped;
    if (this.address.kind === 'unix') {
      try {
        if (lstatSync(this.address.path).isSocket()) unlinkSync(this.address.path);
      } catch {
        // already gone
      }
    }
  }
}
