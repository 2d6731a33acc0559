import { checkArgs, type QmpArgs } from './args.ts';
import type { QmpCommandContext, QmpCommandTable } from './command-table.ts';
import { QmpError } from './errors.ts';
import type { JsonValue } from './json-parser.ts';
import { toJson } from './json-parser.ts';
import { type JsonMessage, JsonStreamer } from './json-streamer.ts';

type Obj = { [key: string]: JsonValue };
const isObject = (v: JsonValue): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Wall-clock time of an event, as QEMU's qemu_clock_get_us(QEMU_CLOCK_REALTIME) split into seconds and microseconds. */
function timestamp(): { seconds: number; microseconds: number } {
  const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return { seconds: Math.floor(us / 1e6), microseconds: us % 1e6 };
}

/**
 * One client's QMP conversation, independent of the transport (QEMU's
 * monitor/qmp.c and qapi/qmp-dispatch.c): the greeting, capabilities
 * negotiation, then commands. Input is a byte stream of JSON values with no
 * delimiter; each reply and event is one line ending in CRLF, as QEMU
 * writes them. Requests run one at a time in arrival order, so replies come
 * back in order; events reach the client only in command mode.
 */
export class QmpSession {
  private readonly streamer = new JsonStreamer((m) => this.enqueue(m));
  private negotiated = false;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly commands: QmpCommandTable,
    private readonly ctx: QmpCommandContext,
    private readonly write: (line: string) => void,
  ) {}

  /** Send the greeting; no capabilities are offered (no out-of-band execution). */
  greet(): void {
    this.send({ QMP: { version: this.ctx.version, capabilities: [] } });
  }

  receive(text: string): void {
    if (!this.closed) this.streamer.feed(text);
  }

  /** The client went away: nothing more is read or written; a command already running completes. */
  close(): void {
    this.closed = true;
  }

  event(name: string, data?: Record<string, unknown>): void {
    if (!this.negotiated) return;
    this.send({ timestamp: timestamp(), event: name, ...(data === undefined ? {} : { data }) });
  }

  /** Resolves when every request received so far has been answered. */
  idle(): Promise<void> {
    return this.queue;
  }

  private send(v: unknown): void {
    if (!this.closed) this.write(`${toJson(v)}\r\n`);
  }

  private enqueue(m: JsonMessage): void {
    this.queue = this.queue.then(() => this.handle(m));
  }

  private async handle(m: JsonMessage): Promise<void> {
    if ('error' in m) return this.send({ error: { class: 'GenericError', desc: m.error } });
    const req = m.value;
    if (!isObject(req))
      return this.send({ error: { class: 'GenericError', desc: 'QMP input must be a JSON object' } });
    const withId = Object.hasOwn(req, 'id') ? { id: req.id } : {};
    try {
      const ret = await this.dispatch(req);
      this.send({ return: ret, ...withId });
    } catch (e) {
      const err =
        e instanceof QmpError ? e : new QmpError('GenericError', e instanceof Error ? e.message : String(e));
      this.send({ error: { class: err.errorClass, desc: err.desc }, ...withId });
    }
  }

  /** qmp_dispatch(): check the request's members, the negotiation state, the command and its arguments. */
  private async dispatch(req: Obj): Promise<unknown> {
    for (const [key, v] of Object.entries(req)) {
      if (key === 'execute') {
        if (typeof v !== 'string')
          throw new QmpError('GenericError', "QMP input member 'execute' must be a string");
      } else if (key === 'arguments') {
        if (!isObject(v))
          throw new QmpError('GenericError', "QMP input member 'arguments' must be an object");
      } else if (key !== 'id') {
        // exec-oob included: it is only accepted once the client enabled the oob capability, never offered here.
        throw new QmpError('GenericError', `QMP input member '${key}' is unexpected`);
      }
    }
    if (!Object.hasOwn(req, 'execute'))
      throw new QmpError('GenericError', "QMP input lacks member 'execute'");
    const name = req.execute as string;
    if (!this.negotiated && name !== 'qmp_capabilities')
      throw new QmpError('CommandNotFound', "Expecting capabilities negotiation with 'qmp_capabilities'");
    if (this.negotiated && name === 'qmp_capabilities')
      throw new QmpError('CommandNotFound', 'Capabilities negotiation is already complete, command ignored');
    const cmd = this.commands.get(name);
    if (!cmd) throw new QmpError('CommandNotFound', `The command ${name} has not been found`);
    const args = checkArgs(cmd.args, (req.arguments as QmpArgs | undefined) ?? {});
    const ret = await cmd.handler(args, this.ctx);
    if (name === 'qmp_capabilities') this.negotiated = true;
    return ret ?? {};
  }
}
