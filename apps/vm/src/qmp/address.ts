/** Where the QMP server listens: a unix socket path, or a TCP port on a loopback address. */
export type QmpAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** sun_path is 108 bytes on Linux, one of them the terminating NUL. */
export const UNIX_PATH_MAX = 107;

const LOOPBACK: Record<string, string> = { '127.0.0.1': '127.0.0.1', localhost: '127.0.0.1', '[::1]': '::1' };

/** The QEMU chardev options that say what this server does anyway: listen, and do not wait for a client. */
const ACCEPTED_OPTIONS = new Set(['server', 'server=on', 'nowait', 'wait=off']);

/** Split at single commas; a doubled comma is a literal comma, as in QEMU's option syntax. */
function splitOptions(s: string): string[] {
  const parts = [''];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ',' && s[i + 1] === ',') {
      parts[parts.length - 1] += ',';
      i++;
    } else if (s[i] === ',') parts.push('');
    else parts[parts.length - 1] += s[i];
  }
  return parts;
}

/**
 * Parse `--qmp`: `unix:PATH` or `tcp:HOST:PORT` as QEMU's -qmp spells
 * them, optionally followed by QEMU's `,server` / `,server=on` /
 * `,nowait` / `,wait=off`. The socket gives full control of the VM, so TCP
 * is accepted only on a loopback address (127.0.0.1, localhost, [::1]).
 * Throws an Error whose message says what is wrong.
 */
export function parseQmpAddress(spec: string): QmpAddress {
  const [main = '', ...options] = splitOptions(spec);
  for (const o of options) {
    if (!ACCEPTED_OPTIONS.has(o))
      throw new Error(`unsupported option '${o}' (the server always listens and never waits for a client)`);
  }
  if (main.startsWith('unix:')) {
    const path = main.slice(5);
    if (!path) throw new Error('unix: needs a socket path');
    if (Buffer.byteLength(path) > UNIX_PATH_MAX)
      throw new Error(
        `socket path is ${Buffer.byteLength(path)} bytes; a unix socket path holds at most ${UNIX_PATH_MAX}`,
      );
    return { kind: 'unix', path };
  }
  if (main.startsWith('tcp:')) {
    const rest = main.slice(4);
    const colon = rest.lastIndexOf(':');
    if (colon < 0) throw new Error('expected tcp:HOST:PORT');
    const host = rest.slice(0, colon);
    const portText = rest.slice(colon + 1);
    const bind = LOOPBACK[host];
    if (bind === undefined)
      throw new Error(
        host === ''
          ? 'no host: that listens on every interface; use 127.0.0.1 (only loopback is accepted)'
          : `host ${host} is not a loopback address (only 127.0.0.1, localhost or [::1] are accepted)`,
      );
    const port = /^[0-9]+$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) throw new Error(`port '${portText}' is not a number from 1 to 65535`);
    return { kind: 'tcp', host: bind, port };
  }
  throw new Error('expected unix:PATH or tcp:127.0.0.1:PORT');
}

export function formatQmpAddress(a: QmpAddress): string {
  return a.kind === 'unix'
    ? `unix:${a.path}`
    : `tcp:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
