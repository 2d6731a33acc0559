// Shared by the snapshot and live-migration process tests: a VMM process
// running U-Boot, driven over its console and a QMP socket.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { decodeStream } from '../src/migration/stream.ts';
import { QmpTestClient } from './qmp-client.ts';
import type { VmmProcess } from './qmp-vmm.ts';

export const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
/** U-Boot's prompt at a line start (crc32's "==> " is not one). */
export const PROMPT = '\n=> ';

/** Connect to the VMM's QMP socket once it listens, and negotiate capabilities. */
export async function connectWhenUp(sock: string, vm: VmmProcess): Promise<QmpTestClient> {
  for (let i = 0; ; i++) {
    try {
      const c = await QmpTestClient.open(sock);
      await c.greeting();
      expect(await c.execute('qmp_capabilities')).toMatchObject({ return: {} });
      return c;
    } catch (e) {
      if (
        i > 600 ||
        (await Promise.race([vm.exited, new Promise((r) => setTimeout(() => r('wait'), 100))])) !== 'wait'
      )
        throw new Error(`QMP never came up: ${(e as Error).message}; ${vm.stderr}`);
    }
  }
}

/** Run one U-Boot command line and return what it printed (up to the next prompt). */
export async function uboot(
  vm: VmmProcess,
  line: string,
  from: number,
): Promise<{ out: string; at: number }> {
  vm.type(`${line}\r`);
  const start = await vm.output(line, from);
  const at = await vm.output(PROMPT, start);
  return { out: vm.stdout.slice(start, at - PROMPT.length), at };
}

/** The CRC U-Boot's `crc32` printed. */
export const crcOf = (out: string) => /==> ([0-9a-f]{8})/.exec(out)?.[1];

/** The RAM sections' payloads of a stream file, hashed together: the guest's memory as saved. */
export function ramHash(file: string): string {
  const h = createHash('sha256');
  for (const s of decodeStream(readFileSync(file))) if (s.id === 'ram') h.update(s.payload);
  return h.digest('hex');
}

/** Poll `f` every 50 ms until it gives a value; fail after `ms`. */
export async function until<T>(f: () => Promise<T | undefined>, what: string, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
