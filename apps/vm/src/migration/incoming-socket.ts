import { unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import type { VmOptions } from '../cli.ts';
import { VmConfigError } from '../config-error.ts';
import { formatQmpAddress } from '../qmp/address.ts';
import { prepareUnixPath } from '../qmp/server.ts';
import { strerror } from '../qmp/strerror.ts';
import { concatBytes } from './byte-io.ts';
import { checkStream } from './snapshot.ts';
import { MigrationError, type Section } from './stream.ts';

/** The byte the destination sends back once the VM is loaded (QEMU's return path would say MIG_RP_MSG_SHUT). */
export const MIGRATION_ACK = 0x06;

/** A received and checked stream, and the connection the source waits on for the outcome. */
export interface IncomingStream {
  sections: Section[];
  /** The VM is loaded: tell the source, which may then stop for good. */
  acknowledge(): void;
  /** The VM could not be loaded: close without the acknowledgement, so the source runs on. */
  refuse(): void;
}

/**
 * `--incoming tcp:127.0.0.1:PORT` / `unix:PATH` (QEMU's -incoming), before
 * the VM is built: listen, take one connection, read the stream until the
 * source half-closes it, then check it whole as a snapshot file is
 * checked. Nothing is built until the stream is complete, so a stream cut
 * short (the source killed, or its migration cancelled) is a configuration
 * error: exit 2, one line, no VM. Pages sent again in later passes are
 * simply later 'ram' sections.
 */
export async function receiveIncoming(
  opts: VmOptions,
  notice: (line: string) => void,
): Promise<IncomingStream> {
  const address = opts.incoming!;
  const name = `--incoming ${formatQmpAddress(address)}`;
  const server = createServer({ allowHalfOpen: true });
  try {
    if (address.kind === 'unix') await prepareUnixPath(address.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(strerror(e))));
      if (address.kind === 'unix') server.listen(address.path, resolve);
      else server.listen(address.port, address.host, resolve);
    });
  } catch (e) {
    throw new VmConfigError(`${name}: ${(e as Error).message}`);
  }
  notice(`vm: ${name}: waiting for the migration stream`);
  const socket = await new Promise<Socket>((resolve) => server.once('connection', resolve));
  // One stream per destination, as QEMU's: no second source is listened for.
  server.close();
  if (address.kind === 'unix') {
    try {
      unlinkSync(address.path);
    } catch {
      // already gone
    }
  }
  const chunks: Uint8Array[] = [];
  await new Promise<void>((resolve) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', resolve);
    // A reset (the source killed) ends the stream too; what arrived is checked and found short.
    socket.once('error', () => resolve());
    socket.once('close', () => resolve());
  });
  let sections: Section[];
  try {
    sections = checkStream(concatBytes(chunks), opts);
  } catch (e) {
    socket.destroy();
    if (e instanceof MigrationError) throw new VmConfigError(`${name}: ${e.message}`);
    throw e;
  }
  return {
    sections,
    acknowledge() {
      if (!socket.destroyed) socket.end(Uint8Array.of(MIGRATION_ACK));
    },
    refuse() {
      socket.destroy();
    },
  };
}
