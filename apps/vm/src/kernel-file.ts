import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { VmConfigError } from './config-error.ts';
import { formatMemSize } from './size.ts';

/** A file system error as one short phrase. */
function fileError(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return (e as Error).message;
}

/**
 * Read the --kernel file: a regular file no larger than guest RAM, else a
 * one-line VmConfigError before a byte is read (a device such as /dev/zero
 * or a FIFO would read forever or block). Reads at most the size fstat()
 * gave, so a file that grows meanwhile cannot make it read more.
 */
export function readKernelFile(path: string, ramBytes: number): Uint8Array {
  const what = `--kernel ${path}`;
  let fd: number;
  try {
    // stat first: opening a FIFO for reading would block until a writer comes.
    if (!statSync(path).isFile()) throw new VmConfigError(`${what}: not a regular file`);
    fd = openSync(path, 'r');
  } catch (e) {
    if (e instanceof VmConfigError) throw e;
    throw new VmConfigError(`${what}: ${fileError(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new VmConfigError(`${what}: not a regular file`);
    if (st.size > ramBytes)
      throw new VmConfigError(
        `${what}: ${st.size} bytes is larger than guest RAM (--mem ${formatMemSize(ramBytes)})`,
      );
    const buf = new Uint8Array(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } catch (e) {
    if (e instanceof VmConfigError) throw e;
    throw new VmConfigError(`${what}: ${fileError(e)}`);
  } finally {
    closeSync(fd);
  }
}
