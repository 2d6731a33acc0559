import { parseQmpAddress, type QmpAddress } from '../qmp/address.ts';

/**
 * A live migration's socket: `tcp:HOST:PORT` on a loopback address or
 * `unix:PATH`, as QEMU's `-incoming` and `migrate` spell them. The stream
 * carries the whole VM, so, as for QMP, only loopback is accepted.
 * Throws an Error whose message says what is wrong.
 */
export function parseMigrationAddress(uri: string): QmpAddress {
  if (!uri.startsWith('tcp:') && !uri.startsWith('unix:'))
    throw new Error('expected file:PATH, tcp:127.0.0.1:PORT or unix:PATH');
  if (uri.includes(',')) throw new Error(`options are not supported in a migration address: ${uri}`);
  return parseQmpAddress(uri);
}
