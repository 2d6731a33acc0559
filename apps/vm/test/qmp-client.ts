import { connect, type Socket } from 'node:net';

/**
 * A minimal QMP client written from the protocol specification (QEMU's
 * docs/interop/qmp-spec): it reads the server's output as a sequence of
 * JSON objects, one per line, and classes each as the greeting, a reply
 * (`return` or `error`, with the `id` it sent) or an event (`event`).
 * Shared by the QMP tests; it uses nothing of the server's code.
 */
export type QmpMessage = Record<string, any>;

export class QmpTestClient {
  readonly messages: QmpMessage[] = [];
  readonly events: QmpMessage[] = [];
  private buf = '';
  private waiters: (() => void)[] = [];
  private nextId = 1;
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let nl = this.buf.indexOf('\n');
      while (nl >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (line) {
          const m = JSON.parse(line) as QmpMessage;
          this.messages.push(m);
          if ('event' in m) this.events.push(m);
        }
        nl = this.buf.indexOf('\n');
      }
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => {});
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static open(target: string | { port: number; host?: string }): Promise<QmpTestClient> {
    return new Promise((resolve, reject) => {
      const s =
        typeof target === 'string' ? connect(target) : connect(target.port, target.host ?? '127.0.0.1');
      s.once('connect', () => resolve(new QmpTestClient(s)));
      s.once('error', reject);
    });
  }

  /** Wait until `pred` holds over what was received (or the connection closed); reject after `ms`. */
  async until<T>(pred: () => T | undefined, ms = 30_000, what = 'a QMP message'): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined && v !== false) return v;
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  greeting(): Promise<QmpMessage> {
    return this.until(() => this.messages.find((m) => 'QMP' in m), 30_000, 'the greeting');
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Execute a command with a fresh id and resolve with its reply (`return` or `error`). */
  async execute(name: string, args?: Record<string, unknown>): Promise<QmpMessage> {
    const id = `t${this.nextId++}`;
    this.send(`${JSON.stringify({ execute: name, ...(args ? { arguments: args } : {}), id })}\n`);
    return this.until(() => this.messages.find((m) => m.id === id), 30_000, `the reply to ${name}`);
  }

  event(name: string, ms?: number): Promise<QmpMessage> {
    return this.until(() => this.events.find((e) => e.event === name), ms, `event ${name}`);
  }

  waitClosed(ms = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve();
      const t = setTimeout(() => reject(new Error('connection not closed')), ms);
      this.socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
